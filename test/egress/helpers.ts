import { execFile, type ExecFileOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after } from 'node:test';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import { policySchema, type PolicyInput } from '../../src/policy/schema.js';
import type { EgressAuditRecord } from '../../src/egress/audit.js';
import { createEgressProxy, type EgressProxy, type EgressProxyOptions } from '../../src/egress/proxy.js';

export function compile(input: Omit<PolicyInput, 'version'>): CompiledPolicy {
  const doc = policySchema.parse({ version: 1, ...input });
  const r = compilePolicy([{ doc, file: 'test.yaml', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/pol' }], { home: '/home/u', workspace: '/home/u/proj' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.policy;
}

export interface ProxyHandle {
  proxy: EgressProxy;
  port: number;
  url: string;
  records: EgressAuditRecord[];
  ends(): EgressAuditRecord[];
  /** Resolves when at least n end records exist (fails after timeoutMs). */
  waitEnds(n: number, timeoutMs?: number): Promise<EgressAuditRecord[]>;
}

export async function startProxy(opts: Omit<EgressProxyOptions, 'audit'> & { audit?: EgressProxyOptions['audit'] }): Promise<ProxyHandle> {
  const records: EgressAuditRecord[] = [];
  const proxy = createEgressProxy({ ...opts, audit: (r) => { records.push(r); opts.audit?.(r); } });
  const addr = (await proxy.listen({ host: '127.0.0.1', port: 0 })) as AddressInfo;
  after(() => proxy.close());
  const ends = (): EgressAuditRecord[] => records.filter((r) => r.phase === 'end');
  return {
    proxy,
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    records,
    ends,
    async waitEnds(n, timeoutMs = 5000) {
      const t0 = Date.now();
      while (ends().length < n) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`expected ${n} end records, have ${ends().length}: ${JSON.stringify(ends())}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return ends();
    },
  };
}

/** A raw TCP listener that records every connection and every byte: the "nothing arrived" witness. */
export interface Witness {
  host: string;
  port: number;
  connections: number;
  bytes: number;
  server: Server;
}

export async function witness(host: string, onConn?: (s: Socket, w: Witness) => void): Promise<Witness> {
  const w: Witness = { host, port: 0, connections: 0, bytes: 0, server: undefined as unknown as Server };
  const server = createServer((s) => {
    w.connections++;
    s.on('data', (d) => (w.bytes += d.length));
    s.on('error', () => {});
    if (onConn) onConn(s, w);
  });
  w.server = server;
  server.listen(0, host);
  await once(server, 'listening');
  w.port = (server.address() as AddressInfo).port;
  after(() => {
    server.close();
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  return w;
}

/** An HTTP origin server on `host` that answers `hello <host> <method> <path>` and counts requests. */
export async function origin(host: string, handler?: (req: IncomingMessage, res: ServerResponse) => void, maxHeaderSize?: number): Promise<{ port: number; requests: IncomingMessage[]; server: HttpServer }> {
  const requests: IncomingMessage[] = [];
  const server = createHttpServer(maxHeaderSize ? { maxHeaderSize } : {}, (req, res) => {
    requests.push(req);
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      res.setHeader('Content-Type', 'text/plain');
      res.end(`hello ${host} ${req.method} ${req.url}${body ? ` body=${body}` : ''}`);
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, requests, server };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client asynchronously (the proxy lives in this process: never spawnSync). */
export function run(cmd: string, args: string[], opts: ExecFileOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 16 << 20, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | undefined) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends raw bytes to the proxy and collects everything until the proxy closes (or timeoutMs). */
export async function rawExchange(port: number, data: Buffer | string | Array<Buffer | string>, timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean; ms: number }> {
  const { connect } = await import('node:net');
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => finish(), timeoutMs);
    function finish(): void {
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed, ms: Date.now() - t0 });
    }
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('connect', () => {
      for (const d of Array.isArray(data) ? data : [data]) s.write(d);
    });
  });
}

/** A throwaway self-signed certificate for `names` (openssl), in a temp dir removed after the file. */
export async function selfSignedCert(dir: string, names: string[]): Promise<{ key: string; cert: string; certPath: string }> {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), certPath: cert };
}

/** Opens a CONNECT tunnel through the proxy with node's http client; resolves to the raw socket or the refusal. */
export async function connectTunnel(proxyPort: number, authority: string): Promise<{ status: number; socket: Socket; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority, headers: { host: authority } });
    req.on('connect', (res, socket, head) => {
      const status = res.statusCode ?? 0;
      if (status === 200) return resolve({ status, socket, headers: res.headers, body: '' });
      let body = head.toString();
      socket.on('data', (d: Buffer) => (body += d.toString()));
      socket.on('error', () => {});
      socket.on('close', () => resolve({ status, socket, headers: res.headers, body }));
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: res.socket, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
