#!/usr/bin/env node
// Prints a hyperfine --export-json file as a Markdown table with the ratio of each row to a baseline.
//   node bench/peers/table.mjs RESULTS.json BASELINE_NAME [--budget X] [--per-exec N]
// BASELINE_NAME is one of the --command-name values. --budget marks warden rows whose median ratio
// is above or within X. --per-exec N: rows named "NAME [startup]" are the start-up cost of row
// NAME; they are left out of the first table and a second one gives (NAME - NAME [startup]) / N
// per exec — the loop itself, which is then what --budget is judged on (a tool's start-up has a
// budget of its own: cold-start.sh).
// A file merged from rounds (merge-rounds.mjs) gets one more column: the ratio in each round (its
// median over the rounds, and the lowest and highest), computed from the rows' round medians.
import { readFileSync } from 'node:fs';
import { median } from './merge-rounds.mjs';

const [file, baseline] = process.argv.slice(2);
const bi = process.argv.indexOf('--budget');
const budget = bi > 0 ? Number(process.argv[bi + 1]) : undefined;
const pi = process.argv.indexOf('--per-exec');
const perExec = pi > 0 ? Number(process.argv[pi + 1]) : undefined;
const STARTUP = ' [startup]';
if (!file || !baseline) {
  console.error('usage: table.mjs RESULTS.json BASELINE_NAME [--budget X]');
  process.exit(2);
}
const { results } = JSON.parse(readFileSync(file, 'utf8'));
const base = results.find((r) => r.command === baseline);
if (!base) {
  console.error(`table.mjs: no result named ${JSON.stringify(baseline)}`);
  process.exit(2);
}
const budgetFlag = (name, ratio) =>
  budget !== undefined && name !== baseline && name.startsWith('warden') ? (ratio > budget ? ' (over budget)' : ' (within budget)') : '';
// "1.05x (1.01–1.09)": the median over the rounds of a per-round ratio, and its range; '-' unless merged.
const rounds = (num, den) => {
  if (!num?.round_medians || !den?.round_medians || num.round_medians.length < 2) return undefined;
  return num.round_medians.map((m, i) => m / den.round_medians[i]);
};
const spread = (rs) =>
  rs ? `${median(rs).toFixed(2)}x (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})` : '-';
const ms = (s) => (s * 1000 >= 100 ? (s * 1000).toFixed(0) : (s * 1000).toFixed(1));
function print(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
}
const rows = [
  ['command', 'runs', 'mean ± sd ms', 'median ms', 'min ms', `median / ${baseline}`, `mean / ${baseline}`, 'per round'],
];
for (const r of results) {
  if (perExec !== undefined && r.command.endsWith(STARTUP)) continue;
  const ratio = r.median / base.median;
  const flag = perExec === undefined ? budgetFlag(r.command, ratio) : '';
  rows.push([
    r.command,
    String(r.times.length),
    `${ms(r.mean)} ± ${ms(r.stddev ?? 0)}`,
    ms(r.median),
    ms(r.min),
    `${ratio.toFixed(2)}x${flag}`,
    `${(r.mean / base.mean).toFixed(2)}x`,
    spread(rounds(r, base)),
  ]);
}
print(rows);

if (perExec !== undefined) {
  const byName = new Map(results.map((r) => [r.command, r]));
  const cost = (r) => {
    const s = byName.get(r.command + STARTUP);
    return s ? { s, per: (r.median - s.median) / perExec } : undefined;
  };
  const b = cost(base);
  const us = (s) => (s * 1e6).toFixed(0);
  // Per round: (loop - startup) of this row over the baseline's, each from that round's medians.
  const perRound = (r, s) => {
    const bs = byName.get(base.command + STARTUP);
    const rr = rounds(r, base), sr = rounds(s, bs);
    if (!rr || !sr) return undefined;
    return r.round_medians.map((m, i) => (m - s.round_medians[i]) / (base.round_medians[i] - bs.round_medians[i]));
  };
  const out = [['command', 'startup median ms', 'loop median ms', `per exec µs ((loop - startup) / ${perExec})`, `per exec / ${baseline}`, 'per round']];
  for (const r of results) {
    if (r.command.endsWith(STARTUP)) continue;
    const c = cost(r);
    if (!c) continue;
    out.push([r.command, ms(c.s.median), ms(r.median), us(c.per), b ? `${(c.per / b.per).toFixed(2)}x${budgetFlag(r.command, c.per / b.per)}` : '-', spread(perRound(r, c.s))]);
  }
  if (out.length > 1) {
    console.log('');
    print(out);
  }
}
