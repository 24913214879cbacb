/**
 * Classifier accuracy on the labelled development set (read in place, never copied):
 *   node --import tsx bench/classify/eval.ts [--data FILE] [--out FILE] [--misses FILE]
 *
 * "Flagged" = verdict review or block. Reports recall (risky flagged), false-positive rate (benign
 * flagged), precision and F1, overall, per source and per category. Writes JSON results (metrics
 * and the ids of misclassified cases, no command text) to --out; --misses writes the misclassified
 * commands with their verdicts to a file of your choice (keep it outside the repository).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClassifier, type Verdict } from '../../src/classify/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Case {
  id: string;
  source: string;
  label: 'risky' | 'benign';
  category: string;
  command: string;
}

interface Counts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface Metrics extends Counts {
  n: number;
  recall: number | null;
  fpRate: number | null;
  precision: number | null;
  f1: number | null;
}

function metrics(c: Counts): Metrics {
  const pos = c.tp + c.fn;
  const neg = c.fp + c.tn;
  const recall = pos ? c.tp / pos : null;
  const precision = c.tp + c.fp ? c.tp / (c.tp + c.fp) : null;
  const f1 = recall !== null && precision !== null && recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : null;
  return { ...c, n: pos + neg, recall, fpRate: neg ? c.fp / neg : null, precision, f1 };
}

const flagged = (v: Verdict): boolean => v.verdict === 'review' || v.verdict === 'block';

function pct(x: number | null): string {
  return x === null ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: resolve(repoRoot, '../shared/data/classifier-dev/cases.jsonl') },
      out: { type: 'string', default: resolve(repoRoot, 'bench/classify/results/eval-dev.json') },
      misses: { type: 'string' },
      workspace: { type: 'string', default: '/home/dev/project' },
      home: { type: 'string', default: '/home/dev' },
    },
  });
  const cases: Case[] = readFileSync(values.data!, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Case);
  const clf = createClassifier({ workspace: values.workspace!, home: values.home! });
  const overall: Counts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  const bySource = new Map<string, Counts>();
  const byCategory = new Map<string, Counts>();
  const wrong: { id: string; label: string; verdict: string }[] = [];
  const missText: string[] = [];
  const verdicts: Record<string, number> = {};
  const t0 = performance.now();
  for (const c of cases) {
    const v = clf.classify(c.command);
    verdicts[v.verdict] = (verdicts[v.verdict] ?? 0) + 1;
    const f = flagged(v);
    const key = c.label === 'risky' ? (f ? 'tp' : 'fn') : f ? 'fp' : 'tn';
    for (const [m, k] of [[bySource, c.source], [byCategory, `${c.label}/${c.category}`]] as const) {
      const cur = m.get(k) ?? { tp: 0, fp: 0, tn: 0, fn: 0 };
      cur[key]++;
      m.set(k, cur);
    }
    overall[key]++;
    if (key === 'fn' || key === 'fp') {
      wrong.push({ id: c.id, label: c.label, verdict: v.verdict });
      missText.push(JSON.stringify({ id: c.id, label: c.label, category: c.category, verdict: v.verdict, risk: v.risk, reasons: v.reasons, command: c.command }));
    }
  }
  const ms = performance.now() - t0;
  const result = {
    data: relative(repoRoot, resolve(values.data!)), // no machine paths in the committed results
    cases: cases.length,
    elapsedMs: Math.round(ms),
    verdicts,
    overall: metrics(overall),
    bySource: Object.fromEntries([...bySource].map(([k, v]) => [k, metrics(v)])),
    byCategory: Object.fromEntries([...byCategory].sort().map(([k, v]) => [k, metrics(v)])),
    misclassified: wrong,
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
  if (values.misses) writeFileSync(values.misses, missText.join('\n') + '\n');
  const o = result.overall;
  const lines = [
    `classifier-dev: ${cases.length} cases in ${(ms / 1000).toFixed(1)} s  ->  ${values.out}`,
    `overall   recall ${pct(o.recall)}  FP ${pct(o.fpRate)}  precision ${pct(o.precision)}  F1 ${pct(o.f1)}  (tp ${o.tp} fn ${o.fn} fp ${o.fp} tn ${o.tn})`,
    ...Object.entries(result.bySource).map(([k, m]) => `  ${k.padEnd(20)} recall ${pct(m.recall)}  FP ${pct(m.fpRate)}  n=${m.n}`),
    '  categories (recall for risky, FP rate for benign):',
    ...Object.entries(result.byCategory).map(([k, m]) => `    ${k.padEnd(36)} ${k.startsWith('risky') ? 'recall ' + pct(m.recall) : 'FP     ' + pct(m.fpRate)}  n=${m.n}`),
  ];
  console.log(lines.join('\n'));
}

main();
