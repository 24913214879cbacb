import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import { isValidHostname } from '../policy/net.js';
import type { NetRule } from '../policy/rules.js';
import type { Decision } from '../policy/schema.js';
import type { EgressProtocol } from './audit.js';
import { classifyIp, destinationIp, embeddedV4, isMetadataName, isSpecial, v6Bytes } from './ip.js';
import { resolveChecked, type Resolver } from './resolve.js';

/**
 * The egress decision for one destination: policy → (approval) → resolution → address checks.
 *
 * Order matters for the threat model:
 *  - The policy decides on the name *before* anything resolves it, so a denied name never reaches
 *    a DNS server (no exfiltration through query names), and an `approve` name is not resolved
 *    until a human said yes.
 *  - An IP-literal destination (in any spelling) is decided as that IP, never as a name.
 *  - Every address a name resolves to is checked; one bad address denies the whole name (mixed
 *    answers are a rebinding trick), and the caller connects only to the checked addresses, so the
 *    OS never resolves anything again.
 *  - Non-public addresses (loopback, private, link-local, CGNAT, metadata, ...) pass only when the
 *    policy names them: a `hosts` entry for the name, or an allow rule naming the IP literal. An
 *    allow rule for the *name* is not enough — whoever controls that name's DNS could point it at
 *    127.0.0.1 and reach the supervisor's own services.
 */

export type Approver = (req: ApprovalRequest) => Promise<'allow' | 'deny'>;

export interface ApprovalRequest {
  host: string;
  port: number;
  rule: string;
  reason: string;
  protocol: EgressProtocol;
  /** Aborted when every connection waiting on this request has gone away. */
  signal: AbortSignal;
}

export interface GateOptions {
  policy: CompiledPolicy;
  resolver: Resolver;
  approve: Approver | undefined;
  approvalTimeoutMs: number;
  resolveTimeoutMs: number;
}

export type Target = { kind: 'ip'; ip: string } | { kind: 'name'; name: string };

export interface Verdict {
  decision: 'allow' | 'deny';
  policyDecision: Decision | null;
  rule: string;
  reason: string;
  message?: string;
  /** Normalised destination (name or canonical IP). */
  host: string;
  port: number;
  target: Target | null;
  /** Checked addresses, in connection order (allow only). */
  addresses: string[];
  /** Allowed by policy but the name could not be resolved (answer 502 / SOCKS host unreachable). */
  resolveError?: string;
}

/** Parses a destination host as the client sent it (no brackets handling beyond `[v6]`). */
export function parseTarget(raw: string): Target | undefined {
  if (raw.length === 0 || raw.length > 255) return undefined;
  const ip = destinationIp(raw);
  if (ip !== undefined) return { kind: 'ip', ip };
  if (raw.startsWith('[') || raw.includes(':')) return undefined;
  let name = raw.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (!isValidHostname(name)) return undefined;
  // A last label that is all digits would be read as an address by some other parser; refuse
  // rather than decide it as a name.
  if (/(^|\.)(\d+|0x[0-9a-f]*)$/.test(name)) return undefined;
  return { kind: 'name', name };
}

/**
 * Lookups over one compiled policy's network rules, built once per gate / DNS stub (not a module
 * cache: the policy object owns nothing mutable of ours).
 */
export class NetIndex {
  private readonly byId = new Map<string, NetRule>();
  /** Port 0 (matches only port-less rules) plus every port some network rule names. */
  readonly ports: readonly number[];
  constructor(readonly policy: CompiledPolicy) {
    const ports = new Set<number>([0]);
    for (const r of policy.rules) {
      if (r.kind !== 'net') continue;
      this.byId.set(r.id, r);
      if (r.pattern.port !== undefined) ports.add(r.pattern.port);
    }
    this.ports = [...ports];
  }
  rule(id: string): NetRule | undefined {
    return this.byId.get(id);
  }
}

/** True if the decision came from a rule that names exactly this destination (no wildcard). */
function namesExactly(ix: NetIndex, r: DecisionResult, host: string): boolean {
  const rule = ix.rule(r.rule);
  return rule !== undefined && !rule.pattern.wildcard && rule.pattern.host === host;
}

const ALLOWING = new Set<Decision>(['allow', 'warn']);

function deny(host: string, port: number, target: Target | null, rule: string, reason: string, pd: Decision | null, message?: string): Verdict {
  return { decision: 'deny', policyDecision: pd, rule, reason, host, port, target, addresses: [], ...(message !== undefined ? { message } : {}) };
}

/** The decision for one address: explicit deny rules about it always apply. */
export function checkAddress(p: CompiledPolicy, ip: string, port: number, named: boolean): { ok: true } | { ok: false; rule: string; reason: string } {
  const forms = [ip];
  if (ip.includes(':')) {
    const v4 = embeddedV4(v6Bytes(ip));
    if (v4 !== undefined) forms.push(v4);
  }
  let primary: DecisionResult | undefined;
  for (const f of forms) {
    const r = decide(p, { kind: 'net', host: f, port });
    primary ??= r;
    if ((r.decision === 'deny' || r.decision === 'steer') && r.rule !== 'default.net') return { ok: false, rule: r.rule, reason: r.reason };
  }
  const cls = classifyIp(ip);
  if (!isSpecial(cls) || named) return { ok: true };
  if (primary && ALLOWING.has(primary.decision)) return { ok: true };
  return {
    ok: false,
    rule: cls === 'metadata' ? 'egress.metadata' : 'egress.private-address',
    reason: `${ip} is a ${cls} address; it is reachable only when the policy names it (a network.hosts entry or an allow rule for the address itself)`,
  };
}

/**
 * The DNS stub's question: may this name be resolved at all? A DNS query has no port, so the name
 * passes if the policy allows it on some port (an allow for `example.com:443` lets the stub
 * answer for example.com). `approve` names are refused: resolving them would disclose the name
 * before a human said yes; clients that use the proxy never need the stub for them anyway.
 * A `hosts` entry answers (it discloses nothing: no resolver is asked) unless a port-less deny
 * rule names the same host.
 */
export function dnsNameDecision(ix: NetIndex, name: string): { decision: 'allow' | 'deny'; rule: string; reason: string; viaHosts: boolean } {
  const p = ix.policy;
  const t = parseTarget(name);
  if (!t || t.kind !== 'name') return { decision: 'deny', rule: 'egress.bad-destination', reason: 'not a valid host name', viaHosts: false };
  // A port-less deny rule denies the name on every port: it wins even over a hosts entry.
  const anyPort = decide(p, { kind: 'net', host: t.name, port: 0 });
  if ((anyPort.decision === 'deny' || anyPort.decision === 'steer') && anyPort.rule !== 'default.net') {
    return { decision: 'deny', rule: anyPort.rule, reason: anyPort.reason.replace(/:0:/, ':'), viaHosts: false };
  }
  if (p.hosts.has(t.name)) return { decision: 'allow', rule: 'network.hosts', reason: `${t.name} is listed in network.hosts`, viaHosts: true };
  let approve: DecisionResult | undefined;
  let denied: DecisionResult | undefined;
  for (const port of ix.ports) {
    const r = decide(p, { kind: 'net', host: t.name, port });
    if (ALLOWING.has(r.decision)) {
      if (isMetadataName(t.name) && !namesExactly(ix, r, t.name)) return { decision: 'deny', rule: 'egress.metadata', reason: `${t.name} is a cloud metadata name; only an exact rule or a network.hosts entry allows it`, viaHosts: false };
      return { decision: 'allow', rule: r.rule, reason: r.reason.replace(/:0:/, ':'), viaHosts: false };
    }
    if (r.decision === 'approve') approve ??= r;
    else if (r.rule !== 'default.net') denied ??= r;
  }
  if (approve) return { decision: 'deny', rule: approve.rule, reason: `${t.name} needs approval, which only a connection through the proxy can ask for; not resolved`, viaHosts: false };
  if (denied) return { decision: 'deny', rule: denied.rule, reason: denied.reason.replace(/:0:/, ':'), viaHosts: false };
  return { decision: 'deny', rule: 'default.net', reason: `${t.name}: no network rule allows it (default deny); not resolved`, viaHosts: false };
}

interface PendingApproval {
  promise: Promise<'allow' | 'deny' | 'timeout' | 'error'>;
  waiters: number;
  ac: AbortController;
}

/** Gate with approval coalescing: concurrent identical requests share one question to the human. */
export class EgressGate {
  private readonly pending = new Map<string, PendingApproval>();
  private readonly ix: NetIndex;
  constructor(private readonly o: GateOptions) {
    this.ix = new NetIndex(o.policy);
  }

  async check(rawHost: string, port: number, protocol: EgressProtocol, signal: AbortSignal): Promise<Verdict> {
    const p = this.o.policy;
    const target = parseTarget(rawHost);
    if (!target) return deny(rawHost.slice(0, 255), port, null, 'egress.bad-destination', `"${rawHost.slice(0, 100)}" is neither a valid host name nor an IP address`, null);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return deny(rawHost, port, target, 'egress.bad-destination', `port ${port} is out of range 1-65535`, null);
    const host = target.kind === 'ip' ? target.ip : target.name;

    let r = decide(p, { kind: 'net', host, port });
    const pd = r.decision;
    if (r.decision === 'deny' || r.decision === 'steer') {
      const msg = r.message ?? (r.suggestion !== undefined ? `try instead: ${r.suggestion}` : undefined);
      return deny(host, port, target, r.rule, r.reason, pd, msg);
    }
    if (target.kind === 'name' && isMetadataName(host) && !p.hosts.has(host) && !namesExactly(this.ix, r, host)) {
      return deny(host, port, target, 'egress.metadata', `${host} is a cloud metadata name; only an exact rule or a network.hosts entry for it can allow it (matched ${r.rule})`, pd);
    }
    if (r.decision === 'approve') {
      const a = await this.approval({ host, port, rule: r.rule, reason: r.reason, protocol }, signal);
      if (a !== 'allow') {
        const why = a === 'none' ? 'no approver is reachable' : a === 'timeout' ? `no answer within ${Math.round(this.o.approvalTimeoutMs / 1000)} s` : a === 'deny' ? 'the approver denied it' : 'the approval failed';
        return deny(host, port, target, r.rule, `${r.reason}; approval required and ${why} (denied)`, pd, r.message);
      }
      r = { ...r, reason: `${r.reason}; approved` };
    }
    if (signal.aborted) return deny(host, port, target, 'egress.client-gone', 'the client went away before the decision', pd);

    // Address checks.
    let addresses: string[];
    let named: boolean;
    if (target.kind === 'ip') {
      addresses = [target.ip];
      // Reaching here, an allow/approve rule named this literal (IP rules have no wildcards).
      named = true;
    } else {
      const fixed = p.hosts.get(host);
      named = fixed !== undefined;
      if (fixed !== undefined) {
        addresses = [destinationIp(fixed) ?? fixed];
      } else {
        try {
          addresses = await resolveChecked(this.o.resolver, host, this.o.resolveTimeoutMs, signal);
        } catch (e) {
          const code = (e as { code?: string }).code ?? 'ERESOLVE';
          return { decision: 'allow', policyDecision: pd, rule: r.rule, reason: `${r.reason}; but ${(e as Error).message}`, host, port, target, addresses: [], resolveError: code };
        }
      }
    }
    for (const ip of addresses) {
      const c = checkAddress(p, ip, port, named);
      if (!c.ok) {
        const via = target.kind === 'name' ? `${host} resolves to ${ip}: ` : '';
        return deny(host, port, target, c.rule, `${via}${c.reason}`, pd);
      }
    }
    return { decision: 'allow', policyDecision: pd, rule: r.rule, reason: r.reason, host, port, target, addresses, ...(r.message !== undefined ? { message: r.message } : {}) };
  }

  /**
   * Policy-only check of a name seen in a TLS ClientHello: is it a destination the policy would
   * let through on this port without asking anyone? Never resolves anything.
   */
  nameAllowed(name: string, port: number): boolean {
    const t = parseTarget(name);
    if (!t || t.kind !== 'name') return false;
    if (isMetadataName(t.name)) return false;
    return ALLOWING.has(decide(this.o.policy, { kind: 'net', host: t.name, port }).decision);
  }

  private async approval(req: Omit<ApprovalRequest, 'signal'>, signal: AbortSignal): Promise<'allow' | 'deny' | 'timeout' | 'error' | 'none'> {
    const approve = this.o.approve;
    if (!approve) return 'none';
    const key = `${req.host}\u0000${req.port}\u0000${req.rule}`;
    let pa = this.pending.get(key);
    if (!pa) {
      const ac = new AbortController();
      const timeoutMs = this.o.approvalTimeoutMs;
      const promise = new Promise<'allow' | 'deny' | 'timeout' | 'error'>((resolve) => {
        const timer = setTimeout(() => {
          ac.abort();
          resolve('timeout');
        }, timeoutMs);
        let answer: Promise<'allow' | 'deny'>;
        try {
          answer = Promise.resolve(approve({ ...req, signal: ac.signal }));
        } catch {
          answer = Promise.reject(new Error('approver threw'));
        }
        answer.then(
          (v) => resolve(v === 'allow' ? 'allow' : 'deny'),
          () => resolve('error'),
        ).finally(() => clearTimeout(timer));
      }).finally(() => this.pending.delete(key));
      pa = { promise, waiters: 0, ac };
      this.pending.set(key, pa);
    }
    const mine = pa;
    mine.waiters++;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      if (--mine.waiters === 0) mine.ac.abort();
    };
    const gone = new Promise<'error'>((resolve) => {
      if (signal.aborted) resolve('error');
      signal.addEventListener('abort', () => resolve('error'), { once: true });
    });
    try {
      return await Promise.race([mine.promise, gone]);
    } finally {
      if (signal.aborted) leave();
      else mine.waiters--;
    }
  }
}
