import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Conn, ProxyContext } from './conn.js';
import { denialText, endToEndHeaders, headerSafe } from './http-util.js';
import { dial, DialError } from './upstream.js';
import { failKind } from './tunnel.js';

/**
 * Plain-HTTP forwarding of absolute-form requests (`GET http://host:port/path HTTP/1.1`).
 *
 * One request per client connection (the response carries `Connection: close`), so one
 * connection is one decision is one audit record, and a pipelined second request can never ride
 * on the first one's decision. The upstream request is re-serialised by node's HTTP client from
 * the parsed request (method, path, end-to-end headers, Host from the URI), so framing tricks in
 * the client's bytes (smuggling) do not reach the server verbatim.
 */

function reply(conn: Conn, res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  conn.status = status;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const b = Buffer.from(body);
  const h: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(b.length), Connection: 'close' };
  for (const [k, v] of Object.entries(headers)) h[k] = headerSafe(v);
  res.writeHead(status, h);
  res.end(b);
}

export async function handleForward(ctx: ProxyContext, conn: Conn, req: IncomingMessage, res: ServerResponse): Promise<void> {
  conn.protocol = 'http';
  conn.method = req.method ?? null;
  res.shouldKeepAlive = false;
  const url = req.url ?? '';
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) {
    conn.deny('egress.origin-form', `origin-form request "${url.slice(0, 100)}": a proxy only receives absolute-form requests`);
    reply(conn, res, 400, 'warden: this is a proxy; send absolute-form requests (GET http://host/path) or use CONNECT\n', { 'X-Warden-Rule': 'egress.origin-form' });
    return;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    conn.deny('egress.malformed', `unparseable request URL "${url.slice(0, 100)}"`);
    reply(conn, res, 400, 'warden: the request URL does not parse\n', { 'X-Warden-Rule': 'egress.malformed' });
    return;
  }
  if (u.protocol !== 'http:') {
    conn.deny('egress.unsupported', `scheme ${u.protocol} in a forwarded request`);
    reply(conn, res, 400, `warden: only http:// URLs are forwarded; for ${u.protocol.slice(0, 20)}// use CONNECT\n`, { 'X-Warden-Rule': 'egress.unsupported' });
    return;
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? 80 : Number(u.port);
  conn.host = host;
  conn.port = port;
  req.socket.setTimeout(0);
  const v = await ctx.gate.check(host, port, 'http', conn.signal);
  conn.verdict(v);
  conn.decided();
  if (v.decision === 'deny') {
    reply(conn, res, 403, denialText(`${req.method} http://${v.host}:${v.port}/`, v.rule, v.reason, v.message), { 'X-Warden-Rule': v.rule, 'X-Warden-Decision': 'deny' });
    return;
  }
  const upErr = (status: number, detail: string): void =>
    reply(conn, res, status, `warden: ${v.host}:${v.port} was allowed (rule ${v.rule}) but the upstream failed: ${detail}\n`, { 'X-Warden-Rule': v.rule, 'X-Warden-Decision': 'allow' });
  if (v.resolveError !== undefined) {
    conn.fail(v.resolveError);
    upErr(502, v.reason);
    return;
  }
  let up;
  try {
    up = await dial(v.addresses, port, ctx.limits.connectTimeoutMs, conn.signal);
  } catch (e) {
    const code = e instanceof DialError ? e.code : 'ECONNECT';
    conn.fail(code);
    if (code !== 'ECANCELED') upErr(failKind(code) === 'timeout' ? 504 : 502, (e as Error).message);
    return;
  }
  conn.ip = up.ip;
  conn.upstream = up.socket;
  const socket = up.socket;
  const idle = ctx.limits.idleTimeoutMs;
  socket.setTimeout(idle, () => {
    conn.fail(`idle for ${idle} ms`);
    socket.destroy();
  });
  req.socket.setTimeout(idle);

  const headers = endToEndHeaders(req.rawHeaders);
  headers.push('Host', u.host);
  const { request: httpRequest } = await import('node:http'); // loaded already by the proxy's parser
  const upReq = httpRequest({
    createConnection: () => socket,
    method: req.method,
    path: `${u.pathname}${u.search}`,
    headers,
    setHost: false,
  });
  upReq.on('error', (e: NodeJS.ErrnoException) => {
    conn.fail(`upstream ${e.code ?? e.message}`);
    if (!res.headersSent) upErr(502, `upstream ${e.code ?? e.message}`);
    else res.destroy();
  });
  upReq.on('response', (upRes) => {
    conn.status = upRes.statusCode ?? 502;
    const out = endToEndHeaders(upRes.rawHeaders);
    out.push('Connection', 'close');
    try {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
    } catch (e) {
      // Never let an upstream's odd response head throw out of an event handler.
      conn.fail(`bad upstream response head: ${(e as Error).message}`);
      upRes.destroy();
      upErr(502, 'the upstream sent a response head that cannot be relayed');
      return;
    }
    upRes.on('error', () => res.destroy());
    upRes.on('aborted', () => {
      conn.fail('upstream aborted the response');
      res.destroy();
    });
    upRes.pipe(res);
  });
  res.on('close', () => {
    if (!res.writableFinished) {
      conn.fail(conn.error ?? 'client went away');
      upReq.destroy();
    }
  });
  req.pipe(upReq);
}
