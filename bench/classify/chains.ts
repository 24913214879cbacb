/**
 * Risk chains across a session: % of malicious sessions caught at the completing (last) step —
 * flagged (review/block) *and* naming the earlier steps — and % of benign sessions of the same shape
 * with any step flagged (false alarms).
 *   node --import tsx bench/classify/chains.ts [--out FILE] [--failures FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClassifier, type Verdict } from '../../src/classify/index.js';
import { sessions } from './sessions.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const flagged = (v: Verdict): boolean => v.verdict === 'review' || v.verdict === 'block';

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: resolve(repoRoot, 'bench/classify/results/chains.json') },
      failures: { type: 'string' },
    },
  });
  const clf = createClassifier({ workspace: '/home/dev/project', home: '/home/dev' });
  const byShape = new Map<string, { mal: number; caught: number; flaggedOnly: number; ben: number; alarms: number }>();
  const failures: string[] = [];
  for (const s of sessions()) {
    const sess = clf.session();
    const verdicts = s.steps.map((c) => sess.classify(c));
    const last = verdicts[verdicts.length - 1]!;
    const st = byShape.get(s.shape) ?? { mal: 0, caught: 0, flaggedOnly: 0, ben: 0, alarms: 0 };
    if (s.malicious) {
      st.mal++;
      const named = (last.chain ?? []).some((l) => l.step < s.steps.length);
      if (flagged(last) && named) st.caught++;
      else {
        if (flagged(last)) st.flaggedOnly++;
        failures.push(JSON.stringify({ kind: 'missed', shape: s.shape, steps: s.steps, last: { verdict: last.verdict, reasons: last.reasons, chain: last.chain } }));
      }
    } else {
      st.ben++;
      const alarm = verdicts.findIndex(flagged);
      if (alarm >= 0) {
        st.alarms++;
        failures.push(JSON.stringify({ kind: 'false-alarm', shape: s.shape, steps: s.steps, step: alarm + 1, reasons: verdicts[alarm]!.reasons }));
      }
    }
    byShape.set(s.shape, st);
  }
  const tot = [...byShape.values()].reduce((a, b) => ({ mal: a.mal + b.mal, caught: a.caught + b.caught, flaggedOnly: a.flaggedOnly + b.flaggedOnly, ben: a.ben + b.ben, alarms: a.alarms + b.alarms }));
  const result = {
    malicious: tot.mal,
    caughtAtCompletingStep: tot.caught / tot.mal,
    flaggedWithoutChain: tot.flaggedOnly,
    benign: tot.ben,
    falseAlarmRate: tot.alarms / tot.ben,
    byShape: Object.fromEntries([...byShape].map(([k, v]) => [k, { ...v, caught: v.caught / v.mal, falseAlarms: v.alarms / v.ben }])),
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
  if (values.failures) writeFileSync(values.failures, failures.join('\n') + '\n');
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  console.log(`chains: caught at the completing step ${pct(result.caughtAtCompletingStep)} of ${tot.mal} malicious sessions; false alarms ${pct(result.falseAlarmRate)} of ${tot.ben} benign  ->  ${values.out}`);
  for (const [k, v] of Object.entries(result.byShape)) console.log(`  ${k.padEnd(14)} caught ${pct(v.caught)} (n=${v.mal})  false alarms ${pct(v.falseAlarms)} (n=${v.ben})`);
}

main();
