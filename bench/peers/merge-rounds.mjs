#!/usr/bin/env node
// Merges the hyperfine --export-json files of several rounds of the same commands into one file of
// the same shape, for table.mjs.
//   node bench/peers/merge-rounds.mjs OUT.json ROUND1.json ROUND2.json ...
// Why rounds: hyperfine runs all of one command's runs before the next command's, so on a shared VM
// whose speed drifts (load from other guests, steal) a slow stretch lands on some rows only and
// their ratios move by more than the budgets' margins. Run in rounds (each round every command, a
// few runs each), every row's runs are spread over the whole measurement alike. Each merged row has
// every round's times pooled (mean, stddev, median, min, max recomputed from them) and
// `round_medians`, the row's median in each round, from which table.mjs gives per-round ratios.
import { readFileSync, writeFileSync } from 'node:fs';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** rounds: hyperfine results arrays, one per round, naming the same commands in the same order. */
export function mergeRounds(rounds) {
  if (rounds.length === 0) throw new Error('no rounds to merge');
  const names = rounds[0].map((r) => r.command);
  for (const [i, round] of rounds.entries()) {
    const got = round.map((r) => r.command);
    if (got.length !== names.length || got.some((n, j) => n !== names[j])) {
      throw new Error(`round ${i + 1} names other commands than round 1`);
    }
  }
  return names.map((command, j) => {
    const rows = rounds.map((round) => round[j]);
    const times = rows.flatMap((r) => r.times);
    const mean = times.reduce((a, t) => a + t, 0) / times.length;
    const stddev = times.length > 1 ? Math.sqrt(times.reduce((a, t) => a + (t - mean) ** 2, 0) / (times.length - 1)) : null;
    const weighted = (k) => rows.reduce((a, r) => a + r[k] * r.times.length, 0) / times.length;
    return {
      command,
      mean,
      stddev,
      median: median(times),
      user: weighted('user'),
      system: weighted('system'),
      min: Math.min(...times),
      max: Math.max(...times),
      times,
      exit_codes: rows.flatMap((r) => r.exit_codes ?? []),
      round_medians: rows.map((r) => median(r.times)),
    };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...files] = process.argv.slice(2);
  if (!out || files.length === 0) {
    console.error('usage: merge-rounds.mjs OUT.json ROUND.json...');
    process.exit(2);
  }
  const results = mergeRounds(files.map((f) => JSON.parse(readFileSync(f, 'utf8')).results));
  writeFileSync(out, `${JSON.stringify({ rounds: files.length, results }, null, 2)}\n`);
}
