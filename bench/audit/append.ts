/**
 * Audit append benchmark (DESIGN.md §5: ≥ 100k events/s, p99 durable ack ≤ 20 ms).
 *
 *   node --import tsx bench/audit/append.ts [--events N] [--seconds S] [--rate R]
 *
 * Phases, each on a fresh log in a temporary WARDEN_HOME (real filesystem, real fdatasync):
 * - saturate: N durable appends issued as fast as the event loop allows (bursts of 1,000 per
 *   turn); throughput = N / time until the last ack.
 * - paced: R events/s for S seconds (the budget rate), issued every millisecond like a busy
 *   supervisor would; latency = append() call → durable ack.
 * - light: the same at R/10 events/s (a busy but not saturated supervisor).
 * - enqueue: N fire-and-forget appends, then one flush.
 * - disk: raw write(256 KiB) + fdatasync on the same filesystem, the floor under any durable ack;
 *   on shared/virtual disks its tail is what dominates the p99 above.
 * Each phase first runs a warm-up on the same writer (the audit worker thread has its own JIT, so a
 * fresh writer starts cold); only the steady state is reported.
 * Prints one JSON object, then one human line.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type AuditEventInput, type AuditWriter, openAuditWriter } from '../../src/audit/index.js';

export interface AppendBenchResult {
  bench: 'audit-append';
  node: string;
  /** Where the chain and I/O ran. */
  thread: string;
  saturate: { events: number; seconds: number; eventsPerSec: number; p50Ms: number; p99Ms: number; batches: number };
  paced: { rate: number; events: number; p50Ms: number; p99Ms: number; maxMs: number; batches: number };
  light: { rate: number; events: number; p50Ms: number; p99Ms: number; maxMs: number; batches: number };
  enqueue: { events: number; eventsPerSec: number };
  disk: { writeBytes: number; p50Ms: number; p99Ms: number; maxMs: number };
  budget: { eventsPerSec: number; p99Ms: number };
  pass: boolean;
}

function event(i: number): AuditEventInput {
  return {
    session: 'bench-session-1',
    kind: 'exec',
    resource: `/usr/bin/git`,
    decision: i % 10 === 0 ? 'deny' : 'allow',
    rule: 'commands[3]',
    proc: { pid: 4242 + (i % 100), exe: '/usr/bin/git', argv: ['git', 'status', '--short', `--n=${i}`] },
    detail: { cwd: '/home/user/project', layer: 'L1' },
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

async function withWriter<T>(home: string, name: string, f: (w: AuditWriter) => Promise<T>): Promise<T> {
  const w = await openAuditWriter({
    auditDir: join(home, name, 'audit'),
    keyDir: join(home, 'keys'),
    genesis: { policyHash: 'sha256:bench', wardenVersion: '0.0.0-bench', layers: { active: ['L4'], degraded: [] } },
  });
  try {
    return await f(w);
  } finally {
    await w.close();
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** Counts acknowledgements without retaining one promise per event (which would skew GC). */
class AckCounter {
  private outstanding = 0;
  private failed: unknown = null;
  private wake: (() => void) | null = null;
  track(p: Promise<unknown>, onAck: () => void): void {
    this.outstanding++;
    p.then(
      () => {
        onAck();
        if (--this.outstanding === 0) this.wake?.();
      },
      (e: unknown) => {
        this.failed = e;
        if (--this.outstanding === 0) this.wake?.();
      },
    );
  }
  async done(): Promise<void> {
    if (this.outstanding > 0) await new Promise<void>((r) => (this.wake = r));
    if (this.failed) throw this.failed;
  }
}

async function saturate(w: AuditWriter, n: number): Promise<AppendBenchResult['saturate']> {
  const lat = new Float64Array(n);
  const acks = new AckCounter();
  const b0 = w.stats().batches;
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 1000);
    for (; i < end; i++) {
      const s = performance.now();
      const k = i;
      acks.track(w.append(event(k)), () => {
        lat[k] = performance.now() - s;
      });
    }
    await turn();
  }
  await acks.done();
  const seconds = (performance.now() - t0) / 1000;
  lat.sort();
  return { events: n, seconds: round(seconds), eventsPerSec: Math.round(n / seconds), p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), batches: w.stats().batches - b0 };
}

async function paced(w: AuditWriter, rate: number, seconds: number): Promise<AppendBenchResult['paced']> {
  const total = Math.round(rate * seconds);
  const lat = new Float64Array(total);
  const acks = new AckCounter();
  const b0 = w.stats().batches;
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; i < due; i++) {
      const s = performance.now();
      const k = i;
      acks.track(w.append(event(k)), () => {
        lat[k] = performance.now() - s;
      });
    }
    await tick();
  }
  await acks.done();
  lat.sort();
  return { rate, events: total, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat[lat.length - 1] ?? NaN), batches: w.stats().batches - b0 };
}

/** Raw write + fdatasync latency of the filesystem under the audit directory. */
async function disk(dir: string, n = 200, size = 256 * 1024): Promise<AppendBenchResult['disk']> {
  const fh = await open(join(dir, 'disk-probe'), 'wx', 0o600);
  const buf = Buffer.alloc(size, 0x61);
  const lat = new Float64Array(n);
  try {
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await fh.write(buf);
      await fh.datasync();
      lat[i] = performance.now() - s;
    }
  } finally {
    await fh.close();
  }
  lat.sort();
  return { writeBytes: size, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat[n - 1] ?? NaN) };
}

async function enqueue(w: AuditWriter, n: number): Promise<AppendBenchResult['enqueue']> {
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 1000);
    for (; i < end; i++) w.enqueue(event(i));
    await turn();
  }
  await w.flush();
  const seconds = (performance.now() - t0) / 1000;
  return { events: n, eventsPerSec: Math.round(n / seconds) };
}

export async function runAppendBench(opts: { events?: number; seconds?: number; rate?: number } = {}): Promise<AppendBenchResult> {
  const events = opts.events ?? 200_000;
  const seconds = opts.seconds ?? 3;
  const rate = opts.rate ?? 100_000;
  const home = await mkdtemp(join(tmpdir(), 'warden-bench-audit-'));
  try {
    const thread = await withWriter(home, 'warmup', async (w) => {
      await saturate(w, 20_000);
      return w.stats().thread;
    });
    const sat = await withWriter(home, 'saturate', async (w) => {
      await saturate(w, 50_000);
      return saturate(w, events);
    });
    const pace = await withWriter(home, 'paced', async (w) => {
      await paced(w, rate, 1);
      return paced(w, rate, seconds);
    });
    const light = await withWriter(home, 'light', async (w) => {
      await paced(w, rate / 10, 1);
      return paced(w, rate / 10, seconds);
    });
    const diskProbe = await disk(home);
    const enq = await withWriter(home, 'enqueue', async (w) => {
      await enqueue(w, 50_000);
      return enqueue(w, events);
    });
    const budget = { eventsPerSec: 100_000, p99Ms: 20 };
    return {
      bench: 'audit-append',
      node: process.version,
      thread,
      saturate: sat,
      paced: pace,
      light,
      enqueue: enq,
      disk: diskProbe,
      budget,
      pass: sat.eventsPerSec >= budget.eventsPerSec && pace.p99Ms <= budget.p99Ms,
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' } }, strict: true });
  const r = await runAppendBench({
    ...(values.events ? { events: Number(values.events) } : {}),
    ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
  process.stdout.write(
    `audit append: ${r.saturate.eventsPerSec.toLocaleString('en-US')} events/s durable (budget ≥ 100,000); ` +
      `at ${r.paced.rate.toLocaleString('en-US')}/s durable ack p50 ${r.paced.p50Ms} ms, p99 ${r.paced.p99Ms} ms (budget ≤ 20 ms); ` +
      `at ${r.light.rate.toLocaleString('en-US')}/s p50 ${r.light.p50Ms} ms, p99 ${r.light.p99Ms} ms; ` +
      `fire-and-forget ${r.enqueue.eventsPerSec.toLocaleString('en-US')} events/s; ` +
      `raw disk write+fdatasync p99 ${r.disk.p99Ms} ms — ${r.pass ? 'PASS' : 'FAIL'}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench/audit/append: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
