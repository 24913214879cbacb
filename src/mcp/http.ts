import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { GatewaySession } from './gateway.js';

/**
 * Streamable HTTP mode: the gateway listens for MCP clients over HTTP and proxies each client
 * session to a remote Streamable HTTP server, one upstream session per client session, both via
 * the SDK's transports.
 *
 * Defences:
 * - binds loopback unless explicitly allowed otherwise, and checks the Host header (DNS rebinding:
 *   a web page must not be able to drive the gateway through the user's browser);
 * - request bodies are read with a hard limit before the SDK sees them; upstream response bodies
 *   pass through a size-limiting stream (per SSE event, or per JSON body);
 * - the number of concurrent sessions is bounded.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(s: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`--listen must be HOST:PORT (e.g. 127.0.0.1:8931), got "${s}"`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new Error(`port ${port} out of range`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/** A fetch whose response bodies are bounded: per SSE event for event streams, total otherwise. */
export function limitedFetch(maxBytes: number, base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const res = await base(url, init);
    if (!res.body) return res;
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    let count = 0;
    let prev = 0;
    const limiter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        if (sse) {
          // Count bytes since the last blank line (event boundary).
          for (let i = 0; i < chunk.length; i++) {
            const b = chunk[i]!;
            if (b === 0x0a && prev === 0x0a) count = 0;
            else if (b !== 0x0d) count++;
            if (b !== 0x0d) prev = b;
          }
        } else count += chunk.length;
        if (count > maxBytes) {
          ctl.error(new Error(`upstream message exceeds ${maxBytes} bytes`));
          return;
        }
        ctl.enqueue(chunk);
      },
    });
    return new Response(res.body.pipeThrough(limiter), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) return { ok: false, status: 413, message: `request body exceeds ${max} bytes` };
    chunks.push(c as Buffer);
  }
  if (n === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'parse error' };
  }
}

function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message } }));
}

export interface HttpGatewayOptions {
  listen: ListenAddress;
  upstreamUrl: URL;
  path?: string;
  maxMessageBytes: number;
  maxSessions?: number;
  /** Extra headers sent to the upstream (e.g. its own credentials — never the client's). */
  upstreamHeaders?: Record<string, string>;
  makeSession: (client: Transport, upstream: Transport) => GatewaySession;
  onError?: (e: Error) => void;
}

export interface HttpGateway {
  server: Server;
  address: ListenAddress;
  close(): Promise<void>;
  done: Promise<void>;
}

export async function serveHttp(o: HttpGatewayOptions): Promise<HttpGateway> {
  const path = o.path ?? '/mcp';
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; session: GatewaySession }>();
  const maxSessions = o.maxSessions ?? 64;
  let allowedHosts: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Checked before anything is allocated (the SDK transport checks again).
    if (!allowedHosts.includes(req.headers.host ?? '')) return jsonError(res, 403, -32000, 'warden: invalid Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts.some((h) => origin === `http://${h}`)) return jsonError(res, 403, -32000, 'warden: cross-origin request refused');
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    if (url.pathname !== path) return jsonError(res, 404, -32601, 'not found');
    const sid = req.headers['mcp-session-id'];
    let body: unknown;
    if (req.method === 'POST') {
      const b = await readBody(req, o.maxMessageBytes);
      if (!b.ok) return jsonError(res, b.status, b.status === 413 ? -32010 : -32700, `warden: ${b.message}`);
      body = b.value;
    }
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return jsonError(res, 404, -32001, 'session not found');
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return jsonError(res, 400, -32000, 'bad request: no valid session id');
    if (sessions.size >= maxSessions) return jsonError(res, 503, -32012, 'warden: too many sessions');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, session });
      },
    });
    const upstream = new StreamableHTTPClientTransport(o.upstreamUrl, {
      fetch: limitedFetch(o.maxMessageBytes),
      ...(o.upstreamHeaders ? { requestInit: { headers: o.upstreamHeaders } } : {}),
    });
    const session = o.makeSession(transport, upstream);
    void session.done.then(() => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    });
    await session.start();
    await transport.handleRequest(req, res, body);
    // An initialize the transport rejected leaves no session: release the pair at once.
    if (!transport.sessionId || !sessions.has(transport.sessionId)) await session.close();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      o.onError?.(e);
      jsonError(res, 500, -32603, 'warden: internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : o.listen.port;
  const hostForHeader = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  allowedHosts = [`${hostForHeader}:${port}`, ...(isLoopback(o.listen.host) ? [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`] : [])];
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  server.once('close', () => resolveDone());
  return {
    server,
    address: { host: o.listen.host, port },
    done,
    async close() {
      await Promise.allSettled([...sessions.values()].map((s) => s.session.close()));
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
    },
  };
}
