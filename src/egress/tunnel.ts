import type { Socket } from 'node:net';
import { closeAfter } from './http-util.js';
import { peekClientHello, type ClientHelloPeek } from './tls-sni.js';
import type { Conn, ProxyContext } from './conn.js';
import type { Verdict } from './gate.js';
import { handOff } from './handoff.js';
import { dial, DialError } from './upstream.js';

/**
 * The byte tunnel behind HTTP CONNECT and SOCKS5 CONNECT: after the gate's verdict, optionally
 * check the TLS ClientHello, connect to a checked address, then hand the connected socket to the
 * relay (handoff.ts: the sandbox's common case, no supervisor in the data path) or splice both
 * directions here with backpressure (TCP listeners, no addon, a client that already finished).
 */

export type FailKind = 'resolve' | 'refused' | 'timeout' | 'unreachable' | 'error';

export interface TunnelReplies {
  /** The tunnel is granted: HTTP 200 / SOCKS success. */
  granted(): void;
  /** Denied by policy: HTTP 403 / SOCKS 0x02, then close. */
  denied(v: { rule: string; reason: string; message?: string }): void;
  /** Allowed but the upstream could not be reached: HTTP 502/504 / SOCKS 0x04/0x05, then close. */
  failed(kind: FailKind, detail: string): void;
}

/** A fatal TLS alert, access_denied(49): a TLS client reports it instead of an unexplained EOF. */
const TLS_ALERT_ACCESS_DENIED = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 49]);

export function failKind(code: string): FailKind {
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'unreachable';
  return 'error';
}

export async function runTunnel(ctx: ProxyContext, conn: Conn, v: Verdict, initial: Buffer, replies: TunnelReplies): Promise<void> {
  const client = conn.client;
  conn.verdict(v);
  if (v.decision === 'deny') {
    conn.decided();
    replies.denied(v);
    return;
  }
  if (v.resolveError !== undefined) {
    conn.decided();
    conn.fail(v.resolveError);
    replies.failed('resolve', v.reason);
    return;
  }
  let pending = initial;
  const checkSni = ctx.sniPorts.has(v.port);
  if (checkSni) {
    // The client speaks first in TLS, so the tunnel must be granted before the ClientHello
    // arrives; nothing is connected upstream until the name in it has been checked.
    replies.granted();
    const got = await readClientHello(client, initial, ctx.limits.maxClientHelloBytes, ctx.limits.tlsPeekTimeoutMs);
    if (got === null) return; // client went away
    pending = got.buf;
    const bad = sniProblem(ctx, v, got.peek, conn);
    if (bad) {
      conn.deny(bad.rule, bad.reason);
      conn.decided();
      closeAfter(client, TLS_ALERT_ACCESS_DENIED, 500);
      return;
    }
  }
  conn.decided();
  const fdpass = conn.fromRelay ? ctx.fdpass() : null;
  const down = ctx.limits.tunnelReadBufferBytes > 0 ? downstream(client, ctx.limits.tunnelReadBufferBytes) : undefined;
  let up: { socket: Socket; ip: string };
  try {
    // Dialed paused when it may be handed off: the supervisor must not read a byte of the server's.
    up = await dial(v.addresses, v.port, ctx.limits.connectTimeoutMs, conn.signal, { allowHalfOpen: true, paused: fdpass !== null, ...(down ? { onread: down.onread } : {}) });
  } catch (e) {
    const code = e instanceof DialError ? e.code : 'ECONNECT';
    conn.fail(code);
    if (code === 'ECANCELED' || client.destroyed) return;
    if (checkSni) client.destroy();
    else replies.failed(failKind(code), (e as Error).message);
    return;
  }
  conn.ip = up.ip;
  conn.upstream = up.socket;
  if (client.destroyed) {
    up.socket.destroy();
    return;
  }
  if (!checkSni) replies.granted();
  if (pending.length > 0) up.socket.write(pending);
  if (fdpass && (await handOff(fdpass, conn, client, up.socket))) return;
  if (client.destroyed || up.socket.destroyed) return void up.socket.destroy();
  up.socket.resume();
  down?.bind(up.socket);
  splice(ctx, conn, client, up.socket, down !== undefined);
}

/**
 * The server→client direction without a stream in between: the upstream socket reads straight
 * into a per-tunnel buffer (node's `onread`), and each chunk is written to the client at once.
 * While the client's socket still holds a chunk (not yet in the kernel), the next read goes into
 * fresh memory, so nothing queued is ever overwritten; when the client pushes back, reading stops
 * until it drains. Memory per tunnel: one buffer plus what the client socket has queued.
 */
function downstream(client: Socket, size: number): { onread: { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean }; bind(up: Socket): void } {
  let up: Socket | null = null;
  let cur = Buffer.allocUnsafe(size);
  let waiting = false;
  const onDrain = (): void => {
    waiting = false;
    up?.resume();
  };
  return {
    onread: {
      buffer: () => cur,
      callback(n, buf) {
        if (client.destroyed || !client.writable) return false;
        const ok = client.write(buf.subarray(0, n));
        if (client.writableLength > 0) cur = Buffer.allocUnsafe(size);
        if (ok) return true;
        if (!waiting) {
          waiting = true;
          client.once('drain', onDrain);
        }
        return false;
      },
    },
    bind(s) {
      up = s;
    },
  };
}

function sniProblem(ctx: ProxyContext, v: Verdict, peek: ClientHelloPeek, conn: Conn): { rule: string; reason: string } | undefined {
  const dest = `${v.host}:${v.port}`;
  if (peek.status === 'incomplete') return { rule: 'egress.tls-required', reason: `${dest}: no complete TLS ClientHello within the limits` };
  if (peek.status === 'invalid') return { rule: 'egress.tls-required', reason: `${dest}: port ${v.port} carries only TLS, and this is not a valid ClientHello (${peek.why})` };
  const sni = peek.sni === null ? null : peek.sni.toLowerCase();
  conn.sni = sni;
  if (peek.ech) return { rule: 'egress.ech', reason: `${dest}: Encrypted ClientHello hides the real server name from the policy` };
  const t = v.target;
  if (sni === null) {
    // Absent SNI is accepted only for an allowed IP literal (clients never send SNI for an IP);
    // for a name it would let the server pick any certificate behind the checked address.
    if (t?.kind === 'ip') return undefined;
    return { rule: 'egress.sni-missing', reason: `${dest}: the TLS ClientHello names no server; the tunnel was granted for ${v.host}` };
  }
  if (t?.kind === 'name') {
    if (sni === t.name || sni === `${t.name}.`) return undefined;
    return { rule: 'egress.sni-mismatch', reason: `${dest}: the TLS ClientHello names "${sni.slice(0, 100)}", not ${t.name} (domain fronting)` };
  }
  // IP-literal tunnel carrying a name: that name must itself be allowed on this port.
  if (ctx.gate.nameAllowed(sni, v.port)) return undefined;
  return { rule: 'egress.sni-mismatch', reason: `${dest}: the TLS ClientHello names "${sni.slice(0, 100)}", which the policy does not allow` };
}

/** Reads until a complete (or definitely invalid) ClientHello; null if the client went away. */
function readClientHello(client: Socket, initial: Buffer, maxBytes: number, timeoutMs: number): Promise<{ buf: Buffer; peek: ClientHelloPeek } | null> {
  return new Promise((resolve) => {
    let buf = initial;
    const first = buf.length > 0 ? peekClientHello(buf, maxBytes) : ({ status: 'incomplete' } as const);
    if (first.status !== 'incomplete') return resolve({ buf, peek: first });
    const timer = setTimeout(() => done({ buf, peek: { status: 'invalid', why: `no ClientHello within ${timeoutMs} ms` } }), timeoutMs);
    const onData = (d: Buffer): void => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      const p = peekClientHello(buf, maxBytes);
      if (p.status !== 'incomplete') done({ buf, peek: p });
      else if (buf.length > maxBytes) done({ buf, peek: { status: 'invalid', why: 'ClientHello too large' } });
    };
    const onEnd = (): void => done({ buf, peek: { status: 'invalid', why: 'client closed before the ClientHello was complete' } });
    const onClose = (): void => done(null);
    function done(r: { buf: Buffer; peek: ClientHelloPeek } | null): void {
      clearTimeout(timer);
      client.pause();
      client.removeListener('data', onData);
      client.removeListener('end', onEnd);
      client.removeListener('close', onClose);
      resolve(r);
    }
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onClose);
    client.resume();
  });
}

/** Closes `s` after its queued writes are flushed (or at once, if it is not ending). */
function closeWhenFlushed(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableEnded && !s.writableFinished) s.once('finish', () => s.destroy());
  else s.destroy();
}

/**
 * Ends `s` after the other side of its tunnel broke: a TCP peer gets a reset, as it would from a
 * direct connection, not a FIN that makes a truncated transfer look complete. (A relay's unix
 * connection cannot carry one; its client still sees the tunnel end.)
 */
function abort(s: Socket): void {
  if (s.destroyed) return;
  try {
    if (s.remoteAddress !== undefined) return void s.resetAndDestroy();
  } catch {
    // not a TCP handle after all: end it as below
  }
  s.destroy();
}

function splice(ctx: ProxyContext, conn: Conn, client: Socket, upstream: Socket, downstreamBound: boolean): void {
  const idle = ctx.limits.idleTimeoutMs;
  if (typeof client.setNoDelay === 'function' && client.remoteAddress !== undefined) client.setNoDelay(true);
  client.setTimeout(idle);
  upstream.setTimeout(idle);
  const onIdle = (): void => {
    conn.fail(`idle for ${idle} ms`);
    client.destroy();
    upstream.destroy();
  };
  client.on('timeout', onIdle);
  upstream.on('timeout', onIdle);
  client.on('error', (e: NodeJS.ErrnoException) => {
    conn.fail(`client ${e.code ?? e.message}`);
    abort(upstream);
  });
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    conn.fail(`upstream ${e.code ?? e.message}`);
    abort(client);
  });
  upstream.on('close', () => closeWhenFlushed(client));
  client.on('close', () => closeWhenFlushed(upstream));
  client.pipe(upstream);
  if (downstreamBound) upstream.once('end', () => client.end());
  else upstream.pipe(client);
}
