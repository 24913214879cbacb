/**
 * Added latency of the MCP gateway per tools/call: p50/p99 over 1,000 calls to an echo tool
 * through `warden mcp` vs a direct stdio connection to the same server (budget: p99 ≤ 2 ms added),
 * with the chained audit log on (the gateway's default).
 *
 * The upstream is started the same way in both arms, so the difference is the gateway alone:
 *   BENCH_UPSTREAM=plain    (default) direct: node fixture; gateway: warden mcp with an injected
 *                           plain spawn (bench/mcp/gateway-plain-upstream.ts)
 *   BENCH_UPSTREAM=sandbox  direct: warden run -- node fixture; gateway: warden mcp (which starts
 *                           the same warden run). Sandbox start-up happens before timing begins.
 * Both sides use the SDK's Client; blocks of calls alternate between the two so machine noise hits
 * both alike. Besides the latencies it reports, for the timed calls, the gateway process's own CPU
 * time per call (all its threads, from each /proc/PID/task/TID/schedstat: a figure the machine's load
 * hardly moves) and how long its threads waited for a CPU per call (the load's share of the tail),
 * with the 1-minute load average, and the CPU per call of each of its threads.
 * BENCH_GATEWAY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the gateway's node. Run: node dist/bench/mcp/latency.js  (or node --import tsx bench/mcp/latency.ts)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { percentiles } from '../stats.js';

function root(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}
const ROOT = root();
const compiled = fileURLToPath(import.meta.url).includes(`${join(ROOT, 'dist')}/`);

const fx = compiled ? join(ROOT, 'dist', 'test', 'fixtures', 'mcp') : join(ROOT, 'test', 'fixtures', 'mcp');
const nodeArgs = compiled ? [] : ['--import', 'tsx'];
const benchDir = compiled ? join(ROOT, 'dist', 'bench', 'mcp') : join(ROOT, 'bench', 'mcp');
const UPSTREAM = process.env['BENCH_UPSTREAM'] === 'sandbox' ? 'sandbox' : 'plain';
const gatewayNodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const gatewayEntry = UPSTREAM === 'plain' ? join(benchDir, compiled ? 'gateway-plain-upstream.js' : 'gateway-plain-upstream.ts') : join(fx, compiled ? 'warden-mcp.js' : 'warden-mcp.ts');
const gatewayArgv = [...gatewayNodeArgs, ...nodeArgs, gatewayEntry];
const FIXTURE_ARGV = [...nodeArgs, join(fx, compiled ? 'fixture-server.js' : 'fixture-server.ts')];

const N = Number(process.env['BENCH_CALLS'] ?? 1000);
const BLOCK = 100;
// Calls before timing starts, on both connections. V8 is still optimising the gateway's hot path
// for the first ~1,000 calls (its compiler threads' CPU per call), so the default measures the
// steady state of a long-lived gateway; BENCH_WARMUP=200 shows the warm-up tail too.
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 1000);

async function connect(args: string[], env: Record<string, string>): Promise<{ client: Client; pid: number | null }> {
  const client = new Client({ name: 'bench', version: '1' });
  const transport = new StdioClientTransport({ command: process.execPath, args, cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env }, stderr: 'ignore' });
  await client.connect(transport);
  await client.listTools();
  return { client, pid: transport.pid };
}

interface Sched {
  run: number;
  wait: number;
  /**
   * Run time by thread: "main", else "tid<TID>" (Node 20 names every thread "node"; in creation
   * order they are V8's platform workers, libuv's pool once used, then the audit worker).
   */
  byThread: Map<string, number>;
}

/** Nanoseconds a process's threads ran and waited runnable for a CPU (/proc/PID/task/TID/schedstat). */
function schedstat(pid: number | null): Sched {
  const total: Sched = { run: 0, wait: 0, byThread: new Map() };
  if (pid === null) return { run: NaN, wait: NaN, byThread: new Map() };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const name = tid === String(pid) ? 'main' : `tid${tid}`;
      total.run += run ?? NaN;
      total.wait += wait ?? NaN;
      total.byThread.set(name, (total.byThread.get(name) ?? 0) + (run ?? NaN));
    } catch {
      /* a thread that just exited */
    }
  }
  return total;
}

/** CPU µs per call by thread name, over the timed calls. */
function perThread(before: Sched, after: Sched, calls: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, run] of after.byThread) out[name] = Math.round((run - (before.byThread.get(name) ?? 0)) / calls / 100) / 10;
  return out;
}

async function timeCalls(c: Client, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await c.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'warden-mcp-bench-'));
try {
  const policy = join(dir, 'policy.yaml');
  // The sandbox reads the checkout (fixture, node_modules possibly a symlink) and writes nothing.
  const reads = [ROOT, realpathSync(join(ROOT, 'node_modules'))].map((p) => JSON.stringify(p)).join(', ');
  writeFileSync(policy, `version: 1\nextends: coding-agent\nfilesystem:\n  read: [${reads}]\nmcp:\n  default: deny\n  tools:\n    - { tool: echo, decision: allow }\n`);
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  const env = { WARDEN_HOME: join(dir, 'wh') };
  const server = [process.execPath, ...FIXTURE_ARGV];
  const sandboxed = (argv: string[]): string[] => [join(ROOT, 'bin', 'warden.cjs'), 'run', '--policy', policy, '--workspace', ws, '--', ...argv];
  const { client: direct } = await connect(UPSTREAM === 'sandbox' ? sandboxed(server) : FIXTURE_ARGV, env);
  const { client: gated, pid: gatewayPid } = await connect([...gatewayArgv, '--policy', policy, '--workspace', ws, '--lockfile', join(dir, 'lock.json'), '--quiet', '--session', 'bench', '--', ...server], env);
  const scratch: number[] = [];
  await timeCalls(direct, WARMUP, scratch);
  await timeCalls(gated, WARMUP, scratch);
  const d: number[] = [];
  const g: number[] = [];
  const load = loadavg()[0] ?? NaN;
  const before = schedstat(gatewayPid);
  for (let done = 0; done < N; done += BLOCK) {
    await timeCalls(direct, Math.min(BLOCK, N - done), d);
    await timeCalls(gated, Math.min(BLOCK, N - done), g);
  }
  const after = schedstat(gatewayPid);
  await direct.close();
  await gated.close();
  const pd = percentiles(d, [50, 99]);
  const pg = percentiles(g, [50, 99]);
  const addedP50 = Math.round(((pg[50] ?? NaN) - (pd[50] ?? NaN)) * 1000) / 1000;
  const addedP99 = Math.round(((pg[99] ?? NaN) - (pd[99] ?? NaN)) * 1000) / 1000;
  console.log(
    JSON.stringify({
      bench: 'mcp.tools_call_latency',
      upstream: UPSTREAM,
      calls: N,
      direct_ms: { p50: pd[50], p99: pd[99] },
      gateway_ms: { p50: pg[50], p99: pg[99] },
      added_ms: { p50: addedP50, p99: addedP99 },
      gateway_cpu_us_per_call: Math.round((after.run - before.run) / N / 100) / 10,
      gateway_cpu_us_per_call_by_thread: perThread(before, after, N),
      gateway_runq_wait_us_per_call: Math.round((after.wait - before.wait) / N / 100) / 10,
      load1: load,
      budget_added_p99_ms: 2,
      within_budget: addedP99 <= 2,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
