/**
 * Exec mediation round trip: how long an execve waits for its verdict.
 *
 *   node dist/bench/mediate/notify-rtt.js [--n 2000] [--runs 3]
 *
 * A small C program times N execve calls that fail (so nothing is replaced and each call is one
 * sample), once outside any sandbox and once inside `warden run` on the default profile:
 *  - `missing`: a path that does not exist — outside, the kernel's ENOENT; inside, the full round
 *    trip (helper reads the tracee, frame to the supervisor, resolution, decision, audit enqueue,
 *    verdict back, NOTIF_SEND) that every uncached exec pays;
 *  - `cached`: an existing file that is not executable (/etc/hostname) — inside, the first call
 *    goes to the supervisor, which marks the allow cacheable (read-only mount), and every later
 *    identical call is continued by the helper itself (still audited first), then fails in the
 *    kernel with EACCES.
 * Reports p50/p99 in µs per mode and the added latency (inside minus outside). Prints JSON.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numArg, percentiles } from '../stats.js';
import { compileTimer, WARDEN } from './c-timer.js';

const N = numArg('n', 2000);
const RUNS = numArg('runs', 3);

const TIMER = String.raw`
int main(int argc, char **argv) {
  int n = atoi(argv[2]);
  char *av[] = {argv[1], NULL}, *env[] = {NULL};
  for (int i = 0; i < n; i++) {
    double t0 = now();
    execve(argv[1], av, env);
    printf("%.2f\n", now() - t0);
  }
  return 0;
}
`;

const dir = mkdtempSync(join(tmpdir(), 'warden-rtt-'));
chmodSync(dir, 0o755);
try {
  compileTimer(dir, 'timer', TIMER);
  const modes = { missing: '/nonexistent/warden-rtt', cached: '/etc/hostname' } as const;
  const sample = (inside: boolean, path: string): number[] => {
    const cmd = inside ? [process.execPath, WARDEN, 'run', '--workspace', dir, '--', './timer', path, String(N)] : ['./timer', path, String(N)];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).map(Number).slice(1); // the first call warms up
  };
  const out: Record<string, unknown> = { n: N, runs: RUNS };
  for (const [mode, path] of Object.entries(modes)) {
    const rows: Array<Record<string, number>> = [];
    for (let i = 0; i < RUNS; i++) {
      const o = percentiles(sample(false, path), [50, 99]);
      const w = percentiles(sample(true, path), [50, 99]);
      rows.push({ outside_p50_us: o[50]!, outside_p99_us: o[99]!, inside_p50_us: w[50]!, inside_p99_us: w[99]!, added_p50_us: +(w[50]! - o[50]!).toFixed(2), added_p99_us: +(w[99]! - o[99]!).toFixed(2) });
    }
    out[mode] = rows;
  }
  console.log(JSON.stringify(out, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
