import type { Decision } from '../policy/schema.js';

/**
 * Audit records the egress layer hands to the supervisor's audit writer (which chains and signs
 * them). Shapes are plain JSON: no Buffers, no undefined, strings bounded.
 *
 * Invariant: every accepted client connection produces exactly one `end` record, whatever happens
 * (denied, malformed, timed out, upstream reset, proxy closing). A connection that reaches a
 * decision also produces one `decision` record at that moment, so a long-lived tunnel is on record
 * before it ends, and a supervisor crash mid-tunnel still leaves the allow in the log.
 */

export type EgressProtocol = 'connect' | 'http' | 'socks5' | 'unknown';

export interface EgressAuditRecord {
  type: 'egress';
  phase: 'decision' | 'end';
  /** Connection id, unique within the proxy instance (prefix random per instance). */
  id: string;
  protocol: EgressProtocol;
  /** Destination as the client named it (normalised name or canonical IP); null if never parsed. */
  host: string | null;
  port: number | null;
  /** The checked address the proxy connected to (or would have); null if none. */
  ip: string | null;
  /** The final decision: an `approve` rule ends as allow or deny; `warn` ends as allow. */
  decision: 'allow' | 'deny';
  /** What the policy said before approval / address checks; null if it was never consulted. */
  policyDecision: Decision | null;
  /** Rule id that decided: a policy rule id, `default.net`, or an `egress.*` check. */
  rule: string;
  reason: string;
  /** SNI from the ClientHello, when one was read. */
  sni: string | null;
  /** HTTP forward only: the method and the status the proxy answered with. */
  method: string | null;
  status: number | null;
  /**
   * Bytes sent to / received from the upstream server (0 if never connected). For a handed-off
   * tunnel whose relay ended without reporting (killed, e.g. with the session; protocol error)
   * they are the kernel's counts of the upstream connection (TCP_INFO: acknowledged by the server /
   * received; a FIN may count as one byte each way), and `error` says so; null = unknown (not even
   * those could be read).
   */
  bytesUp: number | null;
  bytesDown: number | null;
  /** The tunnel's bytes were moved by the relay after a hand-off (counts from its REPORT). */
  relayed: boolean;
  startedAt: string;
  durationMs: number;
  /** Why the connection ended abnormally (error code or short text); null for a clean end. */
  error: string | null;
}

export interface DnsAuditRecord {
  type: 'dns';
  id: string;
  transport: 'udp' | 'stream';
  /** Query name in presentation form (non-printable bytes escaped as \DDD); null if unparseable. */
  name: string | null;
  qtype: string | null;
  decision: 'allow' | 'deny';
  rule: string;
  reason: string;
  rcode: string;
  answers: string[];
  at: string;
  durationMs: number;
}

/** Bounds attacker-controlled text in records (names, reasons) without losing its start. */
export function clip(s: string, max = 512): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
