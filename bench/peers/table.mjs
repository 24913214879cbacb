#!/usr/bin/env node
// Prints a hyperfine --export-json file as a Markdown table with the ratio of each row to a baseline.
//   node bench/peers/table.mjs RESULTS.json BASELINE_NAME [--budget X] [--per-exec N]
// BASELINE_NAME is one of the --command-name values. --budget marks warden rows whose median ratio
// is above or within X. --per-exec N: rows named "NAME [startup]" are the start-up cost of row
// NAME; they are left out of the first table and a second one gives (NAME - NAME [startup]) / N
// per exec — the loop itself, which is then what --budget is judged on (a tool's start-up has a
// budget of its own: cold-start.sh).
import { readFileSync } from 'node:fs';

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
const ms = (s) => (s * 1000 >= 100 ? (s * 1000).toFixed(0) : (s * 1000).toFixed(1));
function print(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
}
const rows = [
  ['command', 'runs', 'mean ± sd ms', 'median ms', 'min ms', `median / ${baseline}`, `mean / ${baseline}`],
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
  const out = [['command', 'startup median ms', 'loop median ms', `per exec µs ((loop - startup) / ${perExec})`, `per exec / ${baseline}`]];
  for (const r of results) {
    if (r.command.endsWith(STARTUP)) continue;
    const c = cost(r);
    if (!c) continue;
    out.push([r.command, ms(c.s.median), ms(r.median), us(c.per), b ? `${(c.per / b.per).toFixed(2)}x${budgetFlag(r.command, c.per / b.per)}` : '-']);
  }
  if (out.length > 1) {
    console.log('');
    print(out);
  }
}
