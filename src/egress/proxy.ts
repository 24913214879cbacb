import { listenOn } from './listen.js';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { CompiledPolicy } from '../policy/compile.js';
import type { EgressAuditRecord } from './audit.js';
import { loadFdPass, type FdPass } from './handoff.js';
import { Conn, DEFAULT_LIMITS, type EgressLimits, type EgressStats, type ProxyContext } from './conn.js';
import { EgressGate, type Approver } from './gate.js';
import { handleConnect } from './http-connect.js';
import { handleForward } from './http-forward.js';
import { closeAfter, writeRawAndClose } from './http-util.js';
import { systemResolver, type Resolver } from './resolve.js';
import { handleSocks } from './socks5-conn.js';

/**
 * Warden's egress proxy: one listener speaking HTTP CONNECT, absolute-form HTTP and SOCKS5
 * (sniffed from the first byte: 0x05 is SOCKS5, anything else is parsed as HTTP).
 *
 * In a sandbox the listener is a unix socket fed by the trusted relay in the agent's network
 * namespace (the agent has no other route out); for tests it can also listen on TCP loopback.
 *
 * Invariants (each has a test):
 *  - nothing is connected and no name is resolved before the gate allowed it;
 *  - the upstream is always an address the gate checked (no second resolution by the OS);
 *  - every accepted connection yields exactly one `end` audit record;
 *  - every wait is bounded (head/handshake, ClientHello, approval, resolve, connect, idle), and
 *    buffers are bounded (node's HTTP parser limit, pipe() backpressure, the ClientHello cap).
 */

export interface EgressProxyOptions {
  policy: CompiledPolicy;
  audit: (rec: EgressAuditRecord) => void;
  /** Asked for `approve` rules; absent → every approve is a deny. */
  approve?: Approver;
  /** Default: the policy's approvals.timeout. */
  approvalTimeoutMs?: number;
  /** Default: the host's resolver (getaddrinfo). */
  resolver?: Resolver;
  limits?: Partial<EgressLimits>;
  /** Ports on which tunnels must start with a TLS ClientHello whose SNI is checked. Default [443]. */
  sniPorts?: number[];
  /** Called when the audit callback throws (the connection goes on; the failure is counted). */
  onAuditError?: (e: unknown, rec: EgressAuditRecord) => void;
}

/**
 * `relay: true`: every connection on this unix socket comes from native/relay.c (the socket is
 * 0600, the relay runs as Warden's uid), which accepts tunnel hand-offs (handoff.ts).
 */
export type ListenTarget = { path: string; mode?: number; relay?: boolean } | { host: string; port: number };

export interface EgressProxy {
  /** Starts one more listener; resolves to the TCP address or the socket path. */
  listen(target: ListenTarget): Promise<AddressInfo | string>;
  /** Stops listening and closes every connection (each still gets its end record). */
  close(): Promise<void>;
  stats(): EgressStats;
}

export function createEgressProxy(opts: EgressProxyOptions): EgressProxy {
  const limits: EgressLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const stats: EgressStats = { active: 0, accepted: 0, allowed: 0, denied: 0, errors: 0, auditErrors: 0, bytesUp: 0, bytesDown: 0, handedOff: 0 };
  const gate = new EgressGate({
    policy: opts.policy,
    resolver: opts.resolver ?? systemResolver(),
    approve: opts.approve,
    approvalTimeoutMs: opts.approvalTimeoutMs ?? opts.policy.approvalTimeoutSec * 1000,
    resolveTimeoutMs: limits.resolveTimeoutMs,
  });
  let fdpass: FdPass | null | undefined; // the addon, loaded with the first tunnel that may use it
  const ctx: ProxyContext = {
    fdpass: () => (fdpass === undefined ? (fdpass = loadFdPass()) : fdpass),
    gate,
    limits,
    sniPorts: new Set(opts.sniPorts ?? [443]),
    stats,
    emit(rec) {
      try {
        opts.audit(rec);
      } catch (e) {
        stats.auditErrors++;
        try {
          opts.onAuditError?.(e, rec);
        } catch {
          /* nothing more to do */
        }
      }
    },
  };
  const prefix = randomBytes(4).toString('hex');
  let seq = 0;
  const conns = new Map<Socket, Conn>();
  const headerTimers = new Map<Socket, NodeJS.Timeout>();
  const servers: Server[] = [];
  let closing = false;

  const clearHeaderTimer = (s: Socket): void => {
    const t = headerTimers.get(s);
    if (t) {
      clearTimeout(t);
      headerTimers.delete(s);
    }
  };

  // The HTTP parser (llhttp, strict mode) for connections sniffed as HTTP. It never listens itself.
  // node:http is loaded with the first HTTP connection, not on `warden run`'s start-up path.
  let http: HttpServer | undefined;
  let httpLoading: Promise<HttpServer> | undefined;
  function httpParser(): Promise<HttpServer> {
    httpLoading ??= import('node:http').then(({ createServer: createHttpServer }) => {
      http = createHttpServer({
        maxHeaderSize: limits.maxHeaderBytes,
        insecureHTTPParser: false,
        requireHostHeader: false,
        headersTimeout: 0,
        requestTimeout: 0,
        keepAliveTimeout: 1000,
      });
      wireHttp(http);
      return http;
    });
    return httpLoading;
  }

  function wireHttp(h: HttpServer): void {
    h.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const conn = conns.get(req.socket);
      clearHeaderTimer(req.socket);
      if (!conn) return void res.destroy();
      // One request per connection: anything pipelined after the first is never acted on.
      if (conn.method !== null) return;
      handleForward(ctx, conn, req, res).catch((e: Error) => {
        conn.fail(`internal: ${e.message}`);
        res.destroy();
      });
    });
    h.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const conn = conns.get(socket);
      clearHeaderTimer(socket);
      if (!conn) return void socket.destroy();
      handleConnect(ctx, conn, req, socket, head).catch((e: Error) => {
        conn.fail(`internal: ${e.message}`);
        socket.destroy();
      });
    });
    h.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const conn = conns.get(socket);
      clearHeaderTimer(socket);
      if (conn) {
        conn.protocol = 'http';
        conn.method = req.method ?? null;
        conn.status = 501;
        conn.deny('egress.unsupported', 'protocol upgrade on a forwarded request');
      }
      writeRawAndClose(socket, 501, 'warden: protocol upgrades are not forwarded; tunnel with CONNECT instead\n', { 'X-Warden-Rule': 'egress.unsupported' });
    });
    h.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const conn = conns.get(socket);
      clearHeaderTimer(socket);
      const code = err.code ?? 'ERR';
      if (conn) {
        conn.protocol = 'http';
        conn.fail(code);
      }
      if (code === 'HPE_HEADER_OVERFLOW') {
        if (conn) {
          conn.status = 431;
          conn.deny('egress.headers-too-large', `request head exceeds ${limits.maxHeaderBytes} bytes`);
        }
        return writeRawAndClose(socket, 431, `warden: request head larger than ${limits.maxHeaderBytes} bytes\n`, { 'X-Warden-Rule': 'egress.headers-too-large' });
      }
      if (code.startsWith('HPE_') && socket.writable) {
        if (conn) {
          conn.status = 400;
          conn.deny('egress.malformed', `malformed HTTP request (${code})`);
        }
        return writeRawAndClose(socket, 400, `warden: malformed HTTP request (${code})\n`, { 'X-Warden-Rule': 'egress.malformed' });
      }
      socket.destroy();
    });
  }

  function armHeaderTimer(socket: Socket, conn: Conn, onTimeout: () => void): void {
    const t = setTimeout(() => {
      headerTimers.delete(socket);
      conn.fail('header timeout');
      conn.deny('egress.header-timeout', `no complete request within ${limits.headerTimeoutMs} ms`);
      onTimeout();
    }, limits.headerTimeoutMs);
    headerTimers.set(socket, t);
  }

  function onConnection(socket: Socket, fromRelay: boolean): void {
    if (closing) return void socket.destroy();
    const conn = new Conn(`${prefix}-${++seq}`, socket, ctx, fromRelay);
    conns.set(socket, conn);
    socket.once('close', () => {
      clearHeaderTimer(socket);
      conns.delete(socket);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => conn.fail(`client ${e.code ?? e.message}`));
    if (stats.active > limits.maxConnections) {
      conn.deny('egress.limit', `more than ${limits.maxConnections} concurrent connections`);
      socket.destroy();
      return;
    }
    armHeaderTimer(socket, conn, () => {
      if (conn.protocol === 'http' || conn.protocol === 'unknown') {
        conn.status = 408;
        writeRawAndClose(socket, 408, `warden: no complete request within ${limits.headerTimeoutMs} ms\n`, { 'X-Warden-Rule': 'egress.header-timeout' });
      } else closeAfter(socket, null, 200);
    });
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first[0] === 0x05) {
        handleSocks(ctx, conn, first, () => clearHeaderTimer(socket));
        return;
      }
      if (first[0] === 0x04) {
        // SOCKS4/4a: no names-with-policy semantics worth supporting; reject in its own language.
        clearHeaderTimer(socket);
        conn.protocol = 'socks5';
        conn.deny('egress.unsupported', 'SOCKS4 is not supported (use SOCKS5 or HTTP)');
        closeAfter(socket, Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]), 500);
        return;
      }
      conn.protocol = 'http';
      socket.unshift(first);
      httpParser().then(
        (h) => {
          if (socket.destroyed) return;
          h.emit('connection', socket);
          socket.resume();
        },
        (e: Error) => {
          conn.fail(`internal: ${e.message}`);
          socket.destroy();
        },
      );
    });
  }

  return {
    async listen(target) {
      if (closing) throw new Error('proxy is closed');
      const fromRelay = 'path' in target && target.relay === true;
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => onConnection(s, fromRelay));
      server.on('error', () => {
        /* reported through listen()'s promise; later errors (EMFILE) must not crash the supervisor */
      });
      servers.push(server);
      return listenOn(server, target, 1024);
    },
    async close() {
      closing = true;
      const done = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const [socket, conn] of conns) {
        conn.fail(conn.error ?? 'proxy closing');
        // Resolve only once the end record is out: it is written on the socket's 'close', which
        // also takes it out of `conns`, so every socket still here has yet to emit it. Not
        // `socket.closed`: a destroyed socket is `closed` one loop turn before its 'close'
        // event (the handle's close callback), and a record emitted then came after session.end.
        done.push(new Promise<void>((r) => socket.once('close', () => r())));
        socket.destroy();
      }
      http?.close();
      await Promise.all(done);
    },
    stats() {
      return { ...stats };
    },
  };
}
