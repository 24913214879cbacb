import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Conn, ProxyContext } from './conn.js';
import { denialText, parseAuthority, writeRawAndClose } from './http-util.js';
import { runTunnel, type FailKind } from './tunnel.js';

/** HTTP CONNECT: `CONNECT host:port HTTP/1.1` → gate → 200 and a tunnel, or 403/400/502/504. */

const FAIL_STATUS: Record<FailKind, number> = { resolve: 502, refused: 502, timeout: 504, unreachable: 502, error: 502 };

export async function handleConnect(ctx: ProxyContext, conn: Conn, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  conn.protocol = 'connect';
  conn.method = 'CONNECT';
  const target = parseAuthority(req.url ?? '');
  if (!target) {
    conn.deny('egress.malformed', `CONNECT target "${(req.url ?? '').slice(0, 100)}" is not host:port`);
    conn.status = 400;
    writeRawAndClose(socket, 400, 'warden: CONNECT needs an authority-form target, host:port or [ipv6]:port\n', { 'X-Warden-Rule': 'egress.malformed' });
    return;
  }
  conn.host = target.host;
  conn.port = target.port;
  socket.setTimeout(0);
  const v = await ctx.gate.check(target.host, target.port, 'connect', conn.signal);
  if (socket.destroyed || conn.terminal) {
    conn.verdict(v);
    return;
  }
  await runTunnel(ctx, conn, v, head, {
    granted() {
      conn.status = 200;
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    },
    denied(d) {
      conn.status = 403;
      writeRawAndClose(socket, 403, denialText(`CONNECT to ${v.host}:${v.port}`, d.rule, d.reason, d.message), { 'X-Warden-Rule': d.rule, 'X-Warden-Decision': 'deny' });
    },
    failed(kind, detail) {
      const status = FAIL_STATUS[kind];
      conn.status = status;
      writeRawAndClose(socket, status, `warden: CONNECT to ${v.host}:${v.port} was allowed (rule ${v.rule}) but the upstream is unreachable: ${detail}\n`, { 'X-Warden-Rule': v.rule, 'X-Warden-Decision': 'allow' });
    },
  });
}
