/**
 * Egress proxy benchmark (budget: CONNECT throughput >= 0.8x a direct connection, loopback).
 *
 *   node --import tsx bench/egress/throughput.ts [--bytes N] [--runs R] [--streams S] [--latency-n N]
 *        [--proxy http://HOST:PORT | socks5://HOST:PORT]... [--target-host NAME] [--no-warden] [--socks]
 *        [--c-reference]
 *
 * The production topology: a bulk/echo server on 127.0.0.2 (the "internet"); the client in a real
 * `warden run` sandbox, reaching it only through the relay on the sandbox's 127.0.0.1:3128 and
 * Warden's proxy in the supervisor, which hands each allowed tunnel back to the relay (route
 * `warden-run`). The same client code runs unsandboxed for every other route, in its own process
 * ("agent", driven over stdin/stdout), so each route's client pays the same costs:
 *  - `direct`: the client connects to the server itself;
 *  - `warden-supervisor-path`: Warden's proxy alone on TCP, moving the bytes in JavaScript (what a
 *    tunnel costs when it is not handed off);
 *  - `--proxy URL` (repeatable): any other proxy (e.g. srt's), asked for `--target-host`;
 *  - `--c-reference`: splice-relay.c, a policy-free zero-copy native relay hop on the host: what
 *    any extra hop costs on this machine (the floor for the relay).
 * Measured: bulk download (the client asks for N bytes and reads them to the end), runs interleaved
 * across routes so drift hits all; connection setup (connect + proxy handshake + a 1-byte round
 * trip, sequential), p50/p99. Prints one JSON object: per route median, min and max MiB/s, the
 * ratio of medians to direct and the range of per-run ratios (run i of a route / run i of direct).
 * Needs a build (`npm run build`): the sandboxed client runs dist/bench/egress/throughput.js.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { percentiles } from '../stats.js';

const role = process.argv[2];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1] !== undefined) out.push(process.argv[i + 1]!);
  });
  return out;
}

// ---- roles ---------------------------------------------------------------------------------------------

/** Bulk source: the client sends "B <bytes>\n" (download) or "P\n" (1-byte ping echo). */
async function serverRole(): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {});
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) return;
      s.removeListener('data', onData);
      const line = head.slice(0, nl);
      if (line === 'P') {
        s.write('p');
        s.on('data', () => {});
        s.on('end', () => s.end());
        return;
      }
      let left = Number(line.slice(2));
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    };
    s.on('data', onData);
  });
  server.listen(0, '127.0.0.2');
  await once(server, 'listening');
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}

async function proxyRole(): Promise<void> {
  const { createEgressProxy } = await import('../../src/egress/proxy.js');
  const { compilePolicy } = await import('../../src/policy/compile.js');
  const { policySchema } = await import('../../src/policy/schema.js');
  const doc = policySchema.parse({ version: 1, network: { allow: ['bench.test'], hosts: { 'bench.test': '127.0.0.2' } } });
  const c = compilePolicy([{ doc, file: 'bench', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/' }], { home: '/tmp', workspace: '/tmp' });
  if (!c.ok) throw new Error(c.errors[0]!.message);
  let records = 0;
  const proxy = createEgressProxy({ policy: c.policy, audit: () => void records++, limits: { maxConnections: 100_000 } });
  const addr = (await proxy.listen({ host: '127.0.0.1', port: 0 })) as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- client (the "agent": one process per side, commands on stdin, one JSON line per answer) ---------

interface Route {
  name: string;
  kind: 'direct' | 'http' | 'socks5';
  host: string;
  port: number;
  target: string;
}

/** Opens a connection to the bench server along `route`; resolves once bytes can flow. */
function open(route: Route, serverPort: number): Promise<{ s: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: route.host, port: route.port, noDelay: true });
    s.once('error', reject);
    if (route.kind === 'direct') return s.once('connect', () => resolve({ s, rest: Buffer.alloc(0) }));
    let buf = Buffer.alloc(0);
    let stage = 0;
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (route.kind === 'http') {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.[01] 200/.test(buf.toString('latin1', 0, end))) return reject(new Error(`proxy refused: ${buf.toString('latin1', 0, end)}`));
        s.removeListener('data', onData);
        return resolve({ s, rest: buf.subarray(end + 4) });
      }
      if (stage === 0 && buf.length >= 2) {
        if (buf[1] !== 0) return reject(new Error('socks: no acceptable method'));
        buf = buf.subarray(2);
        stage = 1;
        const name = Buffer.from(route.target);
        s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([serverPort >> 8, serverPort & 0xff])]));
      }
      if (stage === 1 && buf.length >= 10) {
        if (buf[1] !== 0) return reject(new Error(`socks reply ${buf[1]}`));
        s.removeListener('data', onData);
        resolve({ s, rest: buf.subarray(10) });
      }
    };
    s.on('data', onData);
    s.once('connect', () => {
      if (route.kind === 'http') s.write(`CONNECT ${route.target}:${serverPort} HTTP/1.1\r\nHost: ${route.target}:${serverPort}\r\n\r\n`);
      else s.write(Buffer.from([5, 1, 0]));
    });
  });
}

async function download(route: Route, serverPort: number, bytes: number): Promise<void> {
  const { s, rest } = await open(route, serverPort);
  let got = rest.length;
  s.write(`B ${bytes}\n`);
  s.on('data', (d: Buffer) => (got += d.length));
  await once(s, 'end');
  s.destroy();
  if (got !== bytes) throw new Error(`${route.name}: got ${got} of ${bytes} bytes`);
}

/** MiB/s for `total` bytes over `streams` parallel tunnels, timed from the first connect. */
async function throughput(route: Route, serverPort: number, total: number, streams: number): Promise<number> {
  const per = Math.floor(total / streams);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: streams }, () => download(route, serverPort, per)));
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  return (per * streams) / sec / (1 << 20);
}

async function setupLatency(route: Route, serverPort: number, n: number): Promise<{ p50_ms: number; p99_ms: number }> {
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const { s } = await open(route, serverPort);
    s.write('P\n');
    await once(s, 'data');
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    s.end();
    s.destroy();
  }
  const pc = percentiles(samples, [50, 99]);
  return { p50_ms: pc[50]!, p99_ms: pc[99]! };
}

type Command = { op: 'tp'; route: Route; serverPort: number; bytes: number; streams: number } | { op: 'lat'; route: Route; serverPort: number; n: number };

/** Runs commands from stdin, one at a time; answers `{"ok":value}` or `{"error":text}`. */
async function agentRole(): Promise<void> {
  const { route: fromEnv } = JSON.parse(process.argv[3] ?? '{}') as { route?: 'proxy-env' };
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as Command;
    if (fromEnv === 'proxy-env') {
      // Inside the sandbox: the relay's port, as Warden put it in the proxy variables.
      const u = new URL(process.env['HTTPS_PROXY'] ?? process.env['https_proxy'] ?? '');
      cmd.route = { ...cmd.route, host: u.hostname, port: Number(u.port) };
    }
    try {
      const ok = cmd.op === 'tp' ? await throughput(cmd.route, cmd.serverPort, cmd.bytes, cmd.streams) : await setupLatency(cmd.route, cmd.serverPort, cmd.n);
      process.stdout.write(`${JSON.stringify({ ok })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    }
  }
}

interface Agent {
  ask<T>(cmd: Command): Promise<T>;
  proc: ChildProcess;
}

function agent(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Agent {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], ...opts });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  let chain: Promise<unknown> = Promise.resolve();
  return {
    proc,
    ask<T>(cmd: Command): Promise<T> {
      const p = chain.then(async () => {
        proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
        const { value, done } = await lines.next();
        if (done) throw new Error(`agent ${argv.join(' ')} exited`);
        const r = JSON.parse(value as string) as { ok?: T; error?: string };
        if (r.error !== undefined) throw new Error(r.error);
        return r.ok as T;
      });
      chain = p.catch(() => undefined);
      return p;
    },
  };
}

function child(r: string, ...extra: string[]): { proc: ChildProcess; ready: Promise<{ port: number }> } {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, [...process.execArgv, self, r, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<{ port: number }>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { port: number });
    });
    proc.once('exit', (c) => reject(new Error(`${r} exited with ${c}`)));
  });
  return { proc, ready };
}

function parseProxy(url: string, target: string): Route {
  const u = new URL(url);
  const kind = u.protocol === 'http:' ? 'http' : u.protocol === 'socks5:' || u.protocol === 'socks5h:' ? 'socks5' : undefined;
  if (!kind) throw new Error(`--proxy ${url}: use http:// or socks5://`);
  return { name: url, kind, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (kind === 'http' ? 80 : 1080)), target };
}

/** The package root and the compiled copy of this file (what the sandboxed client runs). */
function builtSelf(): { root: string; js: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes('/dist/') ? join(here, '..', '..', '..') : join(here, '..', '..');
  return { root, js: join(root, 'dist', 'bench', 'egress', 'throughput.js') };
}

/** A `warden run` sandbox whose client reaches bench.test (127.0.0.2) only through Warden. */
function sandboxedAgent(scratch: string): Agent {
  const { root, js } = builtSelf();
  const ws = join(scratch, 'ws');
  mkdirSync(ws, { recursive: true });
  const policy = join(scratch, 'policy.yaml');
  const read = ['/usr', '/bin', '/lib', '/lib64', '/etc', join(root, 'dist'), dirname(process.execPath)];
  writeFileSync(policy, `version: 1\nfilesystem:\n  read: ${JSON.stringify(read)}\nnetwork:\n  allow: [bench.test]\n  hosts: { bench.test: 127.0.0.2 }\n`);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: ws, WARDEN_HOME: join(scratch, 'warden'), LANG: 'C.UTF-8' };
  return agent([process.execPath, join(root, 'bin', 'warden.cjs'), 'run', '--policy', policy, '--', process.execPath, js, 'agent', '{"route":"proxy-env"}'], { cwd: ws, env });
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const bytes = Number(arg('bytes', String(1 << 30)));
  const runs = Number(arg('runs', '5'));
  const streams = Number(arg('streams', '1'));
  const latencyN = Number(arg('latency-n', '2000'));
  const target = arg('target-host', '127.0.0.2');
  const server = child('server');
  const procs: ChildProcess[] = [server.proc];
  let sandboxProc: ChildProcess | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const { port: serverPort } = await server.ready;
  const host = agent([process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), 'agent']);
  procs.push(host.proc);
  const routes: Array<{ route: Route; via: Agent }> = [{ route: { name: 'direct', kind: 'direct', host: '127.0.0.2', port: serverPort, target: '127.0.0.2' }, via: host }];
  if (!process.argv.includes('--no-warden')) {
    const sandbox = sandboxedAgent(scratch);
    sandboxProc = sandbox.proc;
    procs.push(sandbox.proc);
    routes.push({ route: { name: 'warden-run', kind: 'http', host: '', port: 0, target: 'bench.test' }, via: sandbox });
    if (process.argv.includes('--socks')) routes.push({ route: { name: 'warden-run-socks5', kind: 'socks5', host: '', port: 0, target: 'bench.test' }, via: sandbox });
    const proxy = child('proxy');
    procs.push(proxy.proc);
    const { port } = await proxy.ready;
    routes.push({ route: { name: 'warden-supervisor-path', kind: 'http', host: '127.0.0.1', port, target: 'bench.test' }, via: host });
  }
  for (const u of args('proxy')) routes.push({ route: parseProxy(u, target), via: host });
  if (process.argv.includes('--c-reference')) {
    // A zero-copy native relay hop (no policy), to show what any relay costs on this machine.
    const exe = join(scratch, 'splice-relay');
    const src = join(builtSelf().root, 'bench', 'egress', 'splice-relay.c');
    const cc = spawn('cc', ['-O2', '-pthread', '-o', exe, src], { stdio: 'inherit' });
    const [code] = (await once(cc, 'exit')) as [number];
    if (code !== 0) throw new Error('cc failed for splice-relay.c');
    const relay = spawn(exe, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(relay);
    const [line] = (await once(relay.stdout!, 'data')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    routes.push({ route: { name: 'c-splice-relay', kind: 'http', host: '127.0.0.1', port, target: '127.0.0.2' }, via: host });
  }
  try {
    const tp = (r: { route: Route; via: Agent }, n: number): Promise<number> => r.via.ask<number>({ op: 'tp', route: r.route, serverPort, bytes: n, streams });
    // Warm-up (JIT, socket buffers, the sandbox's start).
    for (const r of routes) await tp(r, Math.min(bytes, 64 << 20));
    const runsBy = new Map<string, number[]>(routes.map((r) => [r.route.name, []]));
    for (let i = 0; i < runs; i++) for (const r of routes) runsBy.get(r.route.name)!.push(await tp(r, bytes));
    const lat = new Map<string, { p50_ms: number; p99_ms: number }>();
    for (const r of routes) lat.set(r.route.name, await r.via.ask({ op: 'lat', route: r.route, serverPort, n: latencyN }));
    const direct = runsBy.get('direct')!;
    const results = routes.map(({ route }) => {
      const a = runsBy.get(route.name)!;
      const ratios = a.map((x, i) => x / direct[i]!);
      return {
        route: route.name,
        mib_per_s_median: Math.round(median(a)),
        mib_per_s_min: Math.round(Math.min(...a)),
        mib_per_s_max: Math.round(Math.max(...a)),
        ratio_to_direct: r3(median(a) / median(direct)),
        ratio_per_run_min: r3(Math.min(...ratios)),
        ratio_per_run_max: r3(Math.max(...ratios)),
        setup_p50_ms: lat.get(route.name)!.p50_ms,
        setup_p99_ms: lat.get(route.name)!.p99_ms,
      };
    });
    const warden = results.find((r) => r.route === 'warden-run');
    console.log(
      JSON.stringify({
        bench: 'egress.throughput',
        bytes_per_run: bytes,
        runs,
        streams,
        latency_samples: latencyN,
        results,
        budget_ratio: 0.8,
        ...(warden ? { within_budget: warden.ratio_to_direct >= 0.8 } : {}),
      }),
    );
  } finally {
    // The sandboxed client ends when its stdin closes, and `warden run` with it; then the scratch
    // directory (policy, workspace, WARDEN_HOME) can go.
    for (const p of procs) {
      p.stdin?.end();
      if (p !== sandboxProc) p.kill();
    }
    if (sandboxProc && sandboxProc.exitCode === null && sandboxProc.signalCode === null) {
      const t = setTimeout(() => sandboxProc!.kill(), 5000);
      await once(sandboxProc, 'exit');
      clearTimeout(t);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (role === 'server') await serverRole();
else if (role === 'proxy') await proxyRole();
else if (role === 'agent') await agentRole();
else await main();
