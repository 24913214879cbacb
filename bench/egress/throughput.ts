/**
 * Egress proxy benchmark (budget: CONNECT throughput >= 0.8x a direct connection, loopback).
 *
 *   node --import tsx bench/egress/throughput.ts [--bytes N] [--runs R] [--streams S] [--latency-n N]
 *        [--proxy http://HOST:PORT | socks5://HOST:PORT]... [--target-host NAME] [--no-warden] [--socks] [--ab]
 *        [--c-reference]
 *
 * Three processes, as in production: a bulk/echo server (the "internet", on 127.0.0.2), the proxy
 * (Warden's, in its own process like the supervisor), and the client (this process). Measured:
 *  - bulk download: the client asks for N bytes and reads them to the end, directly and through a
 *    CONNECT (or SOCKS5) tunnel; the best and median of R runs, interleaved so drift hits both;
 *  - connection setup: connect (+ CONNECT/SOCKS handshake) + a 1-byte round trip, sequentially,
 *    p50/p99 in ms.
 * `--proxy URL` (repeatable) adds another proxy measured with the same client, side by side
 * (e.g. srt's); `--target-host` is the name those proxies are asked for (default 127.0.0.2,
 * Warden always uses bench.test mapped to 127.0.0.2 by its policy's hosts).
 * `--c-reference` compiles and adds splice-relay.c, a policy-free zero-copy native relay: the cost
 * of any extra hop on this machine. `--socks` adds Warden over SOCKS5; `--ab` adds Warden with
 * other tunnel read strategies (plain stream pipe; 1 MiB read buffer).
 * Prints one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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
  const buf = process.argv[3];
  const proxy = createEgressProxy({ policy: c.policy, audit: () => void records++, limits: { maxConnections: 100_000, ...(buf !== undefined ? { tunnelReadBufferBytes: Number(buf) } : {}) } });
  const addr = (await proxy.listen({ host: '127.0.0.1', port: 0 })) as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- client --------------------------------------------------------------------------------------------

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

async function download(route: Route, serverPort: number, bytes: number): Promise<number> {
  const { s, rest } = await open(route, serverPort);
  let got = rest.length;
  const t0 = process.hrtime.bigint();
  s.write(`B ${bytes}\n`);
  s.on('data', (d: Buffer) => (got += d.length));
  await once(s, 'end');
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  s.destroy();
  if (got !== bytes) throw new Error(`${route.name}: got ${got} of ${bytes} bytes`);
  return sec;
}

async function throughput(route: Route, serverPort: number, total: number, streams: number): Promise<number> {
  const per = Math.floor(total / streams);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: streams }, () => download(route, serverPort, per)));
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  return (per * streams) / sec / (1 << 20); // MiB/s
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

async function main(): Promise<void> {
  const bytes = Number(arg('bytes', String(1 << 30)));
  const runs = Number(arg('runs', '5'));
  const streams = Number(arg('streams', '1'));
  const latencyN = Number(arg('latency-n', '2000'));
  const target = arg('target-host', '127.0.0.2');
  const server = child('server');
  const procs: ChildProcess[] = [server.proc];
  const { port: serverPort } = await server.ready;
  const routes: Route[] = [{ name: 'direct', kind: 'direct', host: '127.0.0.2', port: serverPort, target: '127.0.0.2' }];
  if (!process.argv.includes('--no-warden')) {
    const proxy = child('proxy');
    procs.push(proxy.proc);
    const { port } = await proxy.ready;
    routes.push({ name: 'warden-connect', kind: 'http', host: '127.0.0.1', port, target: 'bench.test' });
    if (process.argv.includes('--socks')) routes.push({ name: 'warden-socks5', kind: 'socks5', host: '127.0.0.1', port, target: 'bench.test' });
    // --ab: the same proxy with other tunnel read strategies, for optimisation work.
    if (process.argv.includes('--ab')) {
      for (const [name, bytes] of [['warden-connect-pipe', '0'], ['warden-connect-1m', String(1 << 20)]] as const) {
        const p = child('proxy', bytes);
        procs.push(p.proc);
        routes.push({ name, kind: 'http', host: '127.0.0.1', port: (await p.ready).port, target: 'bench.test' });
      }
    }
  }
  for (const u of args('proxy')) routes.push(parseProxy(u, target));
  if (process.argv.includes('--c-reference')) {
    // A zero-copy native relay hop (no policy), to show what any relay costs on this machine.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, dirname } = await import('node:path');
    const exe = join(mkdtempSync(join(tmpdir(), 'warden-bench-')), 'splice-relay');
    const src = join(dirname(fileURLToPath(import.meta.url)), 'splice-relay.c');
    const srcPath = src.includes('/dist/') ? src.replace('/dist/', '/') : src;
    const cc = spawn('cc', ['-O2', '-pthread', '-o', exe, srcPath], { stdio: 'inherit' });
    const [code] = (await once(cc, 'exit')) as [number];
    if (code !== 0) throw new Error('cc failed for splice-relay.c');
    const relay = spawn(exe, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(relay);
    const [line] = (await once(relay.stdout!, 'data')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    routes.push({ name: 'c-splice-relay', kind: 'http', host: '127.0.0.1', port, target: '127.0.0.2' });
  }
  try {
    // Warm-up (JIT, socket buffers).
    for (const r of routes) await throughput(r, serverPort, Math.min(bytes, 64 << 20), streams);
    const tp = new Map<string, number[]>(routes.map((r) => [r.name, []]));
    for (let i = 0; i < runs; i++) for (const r of routes) tp.get(r.name)!.push(await throughput(r, serverPort, bytes, streams));
    const lat = new Map<string, { p50_ms: number; p99_ms: number }>();
    for (const r of routes) lat.set(r.name, await setupLatency(r, serverPort, latencyN));
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    const direct = median(tp.get('direct')!);
    const results = routes.map((r) => {
      const a = tp.get(r.name)!;
      return {
        route: r.name,
        mib_per_s_median: Math.round(median(a)),
        mib_per_s_best: Math.round(Math.max(...a)),
        ratio_to_direct: Math.round((median(a) / direct) * 1000) / 1000,
        setup_p50_ms: lat.get(r.name)!.p50_ms,
        setup_p99_ms: lat.get(r.name)!.p99_ms,
      };
    });
    const warden = results.find((r) => r.route === 'warden-connect');
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
    for (const p of procs) {
      p.stdin?.end();
      p.kill();
    }
  }
}

if (role === 'server') await serverRole();
else if (role === 'proxy') await proxyRole();
else await main();
