/**
 * Added latency of the MCP gateway per tools/call: p50/p99 over 1,000 calls to an echo tool
 * through `warden mcp` vs a direct stdio connection to the same server (budget: p99 ≤ 2 ms added).
 * Both sides use the SDK's Client; blocks of calls alternate between the two so machine noise hits
 * both alike. Run: node --import tsx bench/mcp/latency.ts  (or the compiled dist/bench/mcp/latency.js)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const gatewayArgv = [...nodeArgs, join(fx, compiled ? 'warden-mcp.js' : 'warden-mcp.ts')];
const FIXTURE_ARGV = [...nodeArgs, join(fx, compiled ? 'fixture-server.js' : 'fixture-server.ts')];

const N = Number(process.env['BENCH_CALLS'] ?? 1000);
const BLOCK = 100;
const WARMUP = 200;

async function connect(args: string[], env: Record<string, string>): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StdioClientTransport({ command: process.execPath, args, cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env }, stderr: 'ignore' }));
  await c.listTools();
  return c;
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
  writeFileSync(policy, 'version: 1\nmcp:\n  default: deny\n  tools:\n    - { tool: echo, decision: allow }\n');
  const direct = await connect(FIXTURE_ARGV, {});
  const gated = await connect([...gatewayArgv, '--policy', policy, '--lockfile', join(dir, 'lock.json'), '--quiet', '--session', 'bench', '--', process.execPath, ...FIXTURE_ARGV], { WARDEN_HOME: join(dir, 'wh') });
  const scratch: number[] = [];
  await timeCalls(direct, WARMUP, scratch);
  await timeCalls(gated, WARMUP, scratch);
  const d: number[] = [];
  const g: number[] = [];
  for (let done = 0; done < N; done += BLOCK) {
    await timeCalls(direct, Math.min(BLOCK, N - done), d);
    await timeCalls(gated, Math.min(BLOCK, N - done), g);
  }
  await direct.close();
  await gated.close();
  const pd = percentiles(d, [50, 99]);
  const pg = percentiles(g, [50, 99]);
  const addedP50 = Math.round(((pg[50] ?? NaN) - (pd[50] ?? NaN)) * 1000) / 1000;
  const addedP99 = Math.round(((pg[99] ?? NaN) - (pd[99] ?? NaN)) * 1000) / 1000;
  console.log(
    JSON.stringify({
      bench: 'mcp.tools_call_latency',
      calls: N,
      direct_ms: { p50: pd[50], p99: pd[99] },
      gateway_ms: { p50: pg[50], p99: pg[99] },
      added_ms: { p50: addedP50, p99: addedP99 },
      budget_added_p99_ms: 2,
      within_budget: addedP99 <= 2,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
