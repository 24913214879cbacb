import type { Conn, ProxyContext } from './conn.js';
import { closeAfter } from './http-util.js';
import { encodeReply, METHOD_NO_AUTH, METHOD_NONE_ACCEPTABLE, parseGreeting, parseRequest, REP } from './socks5.js';
import { runTunnel, type FailKind } from './tunnel.js';

/**
 * SOCKS5 on a client connection whose first byte was 0x05: greeting → request → gate → tunnel.
 * The handshake is bounded (a request is at most 4 + 1 + 255 + 2 bytes) and must complete within
 * the header timeout, which the caller enforces.
 */

const FAIL_REP: Record<FailKind, number> = {
  resolve: REP.hostUnreachable,
  refused: REP.connectionRefused,
  timeout: REP.hostUnreachable,
  unreachable: REP.hostUnreachable,
  error: REP.generalFailure,
};

const MAX_HANDSHAKE = 2 + 255 + 4 + 1 + 255 + 2;

export function handleSocks(ctx: ProxyContext, conn: Conn, first: Buffer, handshakeDone: () => void): void {
  const client = conn.client;
  conn.protocol = 'socks5';
  let buf = first;
  let stage: 'greeting' | 'request' = 'greeting';
  const fail = (rule: string, reason: string, reply: Buffer): void => {
    client.removeListener('data', onData);
    handshakeDone();
    conn.deny(rule, reason);
    closeAfter(client, reply, 500);
  };
  const step = (): void => {
    if (stage === 'greeting') {
      const g = parseGreeting(buf);
      if (g.kind === 'need') return void (buf.length > MAX_HANDSHAKE && fail('egress.malformed', 'SOCKS5 greeting too long', encodeReply(REP.generalFailure)));
      if (g.kind === 'error') return fail('egress.malformed', `SOCKS5: ${g.why}`, encodeReply(g.reply));
      if (!g.methods.includes(METHOD_NO_AUTH)) return fail('egress.socks-auth', 'SOCKS5 client offered no "no authentication" method', Buffer.from([5, METHOD_NONE_ACCEPTABLE]));
      client.write(Buffer.from([5, METHOD_NO_AUTH]));
      buf = buf.subarray(g.used);
      stage = 'request';
    }
    const r = parseRequest(buf);
    if (r.kind === 'need') return void (buf.length > MAX_HANDSHAKE && fail('egress.malformed', 'SOCKS5 request too long', encodeReply(REP.generalFailure)));
    if (r.kind === 'error') return fail(r.reply === REP.commandNotSupported ? 'egress.unsupported' : 'egress.malformed', `SOCKS5: ${r.why}`, encodeReply(r.reply));
    client.removeListener('data', onData);
    client.pause();
    handshakeDone();
    const rest = Buffer.from(buf.subarray(r.used));
    conn.host = r.host;
    conn.port = r.port;
    void (async () => {
      const v = await ctx.gate.check(r.host, r.port, 'socks5', conn.signal);
      if (client.destroyed || conn.terminal) return conn.verdict(v);
      await runTunnel(ctx, conn, v, rest, {
        granted() {
          client.write(encodeReply(REP.succeeded));
        },
        denied() {
          closeAfter(client, encodeReply(REP.notAllowed), 500);
        },
        failed(kind) {
          closeAfter(client, encodeReply(FAIL_REP[kind]), 500);
        },
      });
    })().catch((e: Error) => {
      conn.fail(`internal: ${e.message}`);
      client.destroy();
    });
  };
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    step();
  };
  client.on('data', onData);
  step();
  if (client.listeners('data').includes(onData)) client.resume();
}
