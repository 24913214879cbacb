import type { Socket } from 'node:net';
import { fdOf, type FdPass, type RelayReport } from './handoff.js';
import { clip, type EgressAuditRecord, type EgressProtocol } from './audit.js';
import type { EgressGate, Verdict } from './gate.js';
import type { Decision } from '../policy/schema.js';

/**
 * Per-connection accounting. The one place audit records are shaped, so that "exactly one end
 * record per accepted connection" is a property of this class (`finish` is idempotent and is
 * wired to the client socket's `close`), not of every code path remembering to call it.
 */

export interface EgressLimits {
  /** Concurrent client connections; beyond it new ones are closed (and audited). */
  maxConnections: number;
  /** Time for a client to finish its request head (HTTP) or handshake (SOCKS5): slowloris bound. */
  headerTimeoutMs: number;
  /** A tunnel or request with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** Per-address TCP connect deadline. */
  connectTimeoutMs: number;
  /** Deadline for the ClientHello after the tunnel is granted on an SNI-checked port. */
  tlsPeekTimeoutMs: number;
  /** Request head limit (HTTP); beyond it the answer is 431. */
  maxHeaderBytes: number;
  /** Bytes the proxy buffers while looking for a complete ClientHello. */
  maxClientHelloBytes: number;
  resolveTimeoutMs: number;
  /** Per-tunnel read buffer for the server→client direction (0: plain stream pipe). */
  tunnelReadBufferBytes: number;
}

export const DEFAULT_LIMITS: EgressLimits = {
  maxConnections: 4096,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 15 * 60_000,
  connectTimeoutMs: 10_000,
  tlsPeekTimeoutMs: 10_000,
  maxHeaderBytes: 64 * 1024,
  maxClientHelloBytes: 64 * 1024,
  resolveTimeoutMs: 5_000,
  tunnelReadBufferBytes: 64 * 1024,
};

export interface EgressStats {
  /** Tunnels handed to the relay (its bytes moved outside the supervisor). */
  handedOff: number;
  active: number;
  accepted: number;
  allowed: number;
  denied: number;
  /** Connections that ended with an error (upstream reset, timeouts, malformed input). */
  errors: number;
  /** Audit callback failures (each is also reported through `onAuditError`). */
  auditErrors: number;
  bytesUp: number;
  bytesDown: number;
}

export interface ProxyContext {
  /** The fd-passing addon for tunnel hand-offs (null: not built; tunnels stay in the supervisor). */
  fdpass(): FdPass | null;
  gate: EgressGate;
  limits: EgressLimits;
  sniPorts: ReadonlySet<number>;
  stats: EgressStats;
  emit(rec: EgressAuditRecord): void;
}

export class Conn {
  protocol: EgressProtocol = 'unknown';
  host: string | null = null;
  port: number | null = null;
  ip: string | null = null;
  decision: 'allow' | 'deny' = 'deny';
  policyDecision: Decision | null = null;
  rule = 'egress.incomplete';
  reason = 'the connection ended before a complete request';
  sni: string | null = null;
  method: string | null = null;
  status: number | null = null;
  error: string | null = null;
  upstream: Socket | null = null;
  /** Set by a denial from the proxy itself; a later verdict can no longer turn it into an allow. */
  terminal = false;
  /** Aborted when the client connection closes: cancels resolution, approval, dialing. */
  readonly ac = new AbortController();
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private decisionEmitted = false;
  private finished = false;

  /** Tunnel hand-off: set when the client is the relay's unix connection and the addon loaded. */
  private relayMode: 'no' | 'pending' | 'reported' = 'no';
  private report: RelayReport | null = null;
  private proxyUp = 0;
  private proxyDown = 0;
  /** The kernel's counts of a handed-off upstream whose relay did not report (TCP_INFO). */
  private kernel: [number, number] | null = null;

  constructor(
    readonly id: string,
    readonly client: Socket,
    private readonly ctx: ProxyContext,
    /** `client` is a connection from native/relay.c, which accepts tunnel hand-offs. */
    readonly fromRelay = false,
  ) {
    ctx.stats.active++;
    ctx.stats.accepted++;
    client.once('close', () => this.finish());
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Takes the gate's verdict (or a later, stricter one) as the connection's decision. */
  verdict(v: Verdict): void {
    if (this.terminal) return;
    this.host = v.host;
    this.port = v.port;
    this.policyDecision = v.policyDecision;
    this.decision = v.decision;
    this.rule = v.rule;
    this.reason = v.reason;
    if (v.addresses[0] !== undefined) this.ip = v.addresses[0];
  }

  /** A denial by the proxy itself (protocol checks, SNI, limits), overriding any earlier allow. */
  deny(rule: string, reason: string): void {
    this.terminal = true;
    this.decision = 'deny';
    this.rule = rule;
    this.reason = reason;
  }

  /** Emits the decision-time record (once). */
  decided(): void {
    if (this.decisionEmitted || this.finished) return;
    this.decisionEmitted = true;
    this.ctx.emit(this.record('decision'));
  }

  /** The relay owns the tunnel's bytes from now on; counts come from its REPORT. */
  relayed(): void {
    this.relayMode = 'pending';
    this.ctx.stats.handedOff++;
  }

  /** What the supervisor itself wrote to / read from the upstream before handing it off. */
  handedOff(up: Socket): void {
    this.proxyUp = up.bytesWritten;
    this.proxyDown = up.bytesRead;
  }

  relayReport(r: RelayReport): void {
    this.report = r;
    this.relayMode = 'reported';
    if (r.error !== null) this.fail(r.error);
  }

  fail(error: string): void {
    this.error ??= clip(error, 200);
  }

  /** Emits the end record exactly once and releases the upstream. Safe to call repeatedly. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ac.abort();
    const up = this.upstream;
    if (this.relayMode === 'pending') {
      // No REPORT: the relay is gone (killed with the session, or a protocol error). The
      // connection's own counters are final now that nothing moves its bytes any more.
      const fd = up ? fdOf(up) : undefined;
      try {
        this.kernel = fd === undefined ? null : (this.ctx.fdpass()?.tcpCounts(fd) ?? null);
      } catch {
        this.kernel = null;
      }
      this.fail(`the relay ended the tunnel without reporting its byte counts; ${this.kernel ? "they are the kernel's (TCP_INFO; a FIN may count as 1 byte)" : 'they are unknown'}`);
    }
    const s = this.ctx.stats;
    s.active--;
    if (this.decision === 'allow') s.allowed++;
    else s.denied++;
    if (this.error !== null) s.errors++;
    if (up && !up.destroyed) {
      // Let data the client sent before closing reach the server; never wait forever.
      if (up.writableEnded && !up.writableFinished) {
        const t = setTimeout(() => up.destroy(), 5000);
        t.unref();
        up.once('finish', () => up.destroy());
        up.once('close', () => clearTimeout(t));
      } else up.destroy();
    }
    const rec = this.record('end');
    s.bytesUp += rec.bytesUp ?? 0;
    s.bytesDown += rec.bytesDown ?? 0;
    this.ctx.emit(rec);
  }

  private record(phase: 'decision' | 'end'): EgressAuditRecord {
    const up = this.upstream;
    const r = this.report;
    const pending = this.relayMode === 'pending';
    return {
      type: 'egress',
      phase,
      id: this.id,
      protocol: this.protocol,
      host: this.host === null ? null : clip(this.host, 255),
      port: this.port,
      ip: this.ip,
      decision: this.decision,
      policyDecision: this.policyDecision,
      rule: clip(this.rule, 200),
      reason: clip(this.reason),
      sni: this.sni === null ? null : clip(this.sni, 255),
      method: this.method === null ? null : clip(this.method, 32),
      status: this.status,
      bytesUp: r ? this.proxyUp + r.up : pending && phase === 'end' ? (this.kernel?.[0] ?? null) : up ? up.bytesWritten : 0,
      bytesDown: r ? this.proxyDown + r.down : pending && phase === 'end' ? (this.kernel?.[1] ?? null) : up ? up.bytesRead : 0,
      relayed: this.relayMode !== 'no',
      startedAt: this.startedAt.toISOString(),
      durationMs: Math.round((performance.now() - this.t0) * 1000) / 1000,
      error: this.error,
    };
  }
}
