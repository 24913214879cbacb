/**
 * What "ask" zones cost each open (README "File asks").
 *
 *   node dist/bench/mediate/open-rtt.js [--n 20000] [--runs 3]
 *
 * A small C program times N open+close pairs of one file, inside `warden run`, under three
 * policies, and once outside any sandbox:
 *  - `no-zones`: the default profile plus a read grant — opens are not trapped at all;
 *  - `zones, open elsewhere`: the same plus an ask zone; the file is outside it, so each open traps
 *    to the helper, which sees it is not in a zone and continues it (the fast path every ordinary
 *    open pays once a policy has zones);
 *  - `zones, open inside`: the file lies in the zone under a more specific read grant, so each open
 *    goes to the supervisor, is decided and audited, and the helper opens it and injects a sealed
 *    copy (the full path of an approved ask, minus the human).
 * Prints JSON: p50/p99 µs per open for each, and the added cost against `no-zones`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numArg, percentiles } from '../stats.js';
import { compileTimer, WARDEN } from './c-timer.js';

const N = numArg('n', 20000);
const RUNS = numArg('runs', 3);

const TIMER = String.raw`
int main(int argc, char **argv) {
  int n = atoi(argv[2]);
  if (argc != 3) return 2;
  for (int i = 0; i < n; i++) {
    double t0 = now();
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror(argv[1]); return 1; }
    close(fd);
    printf("%.2f\n", now() - t0);
  }
  return 0;
}
`;

const dir = mkdtempSync(join(tmpdir(), 'warden-open-rtt-'));
chmodSync(dir, 0o755);
try {
  const ws = join(dir, 'ws');
  const zone = join(dir, 'zone');
  mkdirSync(ws);
  mkdirSync(zone);
  writeFileSync(join(dir, 'plain.txt'), 'plain\n');
  writeFileSync(join(zone, 'granted.txt'), 'granted\n');
  compileTimer(ws, 'timer', TIMER);
  const pol = (name: string, fs: string): string => {
    const p = join(dir, `${name}.yaml`);
    writeFileSync(p, `version: 1\nextends: coding-agent\nfilesystem:\n  read: [${dir}, ${join(zone, 'granted.txt')}]\n${fs}`);
    return p;
  };
  const modes: Array<[string, string | null, string]> = [
    ['outside', null, join(dir, 'plain.txt')],
    ['no-zones', pol('none', ''), join(dir, 'plain.txt')],
    ['zones, open elsewhere', pol('zones', `  ask: [${zone}]\n`), join(dir, 'plain.txt')],
    ['zones, open inside', pol('zones', `  ask: [${zone}]\n`), join(zone, 'granted.txt')],
  ];
  const sample = (policy: string | null, file: string): number[] => {
    const cmd = policy ? [process.execPath, WARDEN, 'run', '--policy', policy, '--workspace', ws, '--', './timer', file, String(N)] : ['./timer', file, String(N)];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: ws, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).map(Number).slice(1); // the first call warms up
  };
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < RUNS; i++) {
    const row: Record<string, unknown> = { run: i + 1 };
    let base = 0;
    for (const [mode, policy, file] of modes) {
      const p = percentiles(sample(policy, file), [50, 99]);
      row[mode] = { p50_us: p[50], p99_us: p[99], ...(mode === 'no-zones' || mode === 'outside' ? {} : { added_p50_us: +(p[50]! - base).toFixed(2) }) };
      if (mode === 'no-zones') base = p[50]!;
    }
    rows.push(row);
  }
  console.log(JSON.stringify({ n: N, runs: rows }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
