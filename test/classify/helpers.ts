import { createClassifier, type Verdict } from '../../src/classify/index.js';

export const WS = '/home/dev/project';
export const HOME = '/home/dev';

/** One classifier for the test files: sessions share compiled knowledge, not state. */
export const clf = createClassifier({ workspace: WS, home: HOME, allowedHosts: ['api.example.com'] });

export const classify = (cmd: string): Verdict => clf.classify(cmd);

export const flagged = (v: Verdict): boolean => v.verdict === 'review' || v.verdict === 'block';

export function describe(v: Verdict): string {
  return `${v.verdict}/${v.risk}: ${v.reasons.join(' | ')}`;
}
