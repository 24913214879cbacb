import { listenOn } from './listen.js';
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import type { CompiledPolicy } from '../policy/compile.js';
import { clip, type DnsAuditRecord } from './audit.js';
import { encodeResponse, EDE, parseQuery, presentName, TYPE, typeName, type Answer, type RcodeName } from './dns-wire.js';
import { checkAddress, dnsNameDecision, NetIndex } from './gate.js';
import { v6Bytes } from './ip.js';
import { resolveChecked, systemResolver, type Resolver } from './resolve.js';

/**
 * Warden's DNS stub: the only DNS the sandbox can reach (its resolv.conf points here, through the
 * relay). It answers; it never forwards a query.
 *
 *  - A/AAAA for a name the policy allows (on any port) or lists in `network.hosts`: the addresses
 *    come from `hosts` or from the supervisor's resolver, filtered with the proxy's own address
 *    checks (a private/loopback/metadata answer not named by the policy is left out).
 *  - Any other type for such a name: NOERROR with no answers (NODATA). Nothing is looked up, so
 *    TXT/MX/SRV/HTTPS queries cannot carry data out either; clients treat NODATA as "no such
 *    record" and move on rather than retry.
 *  - Every other name: REFUSED by default (configurable NXDOMAIN), with an RFC 8914 Extended DNS
 *    Error "Prohibited" naming the rule when the query used EDNS. REFUSED is the honest answer
 *    (the name may well exist; policy refuses to say), and it is not cached as a negative answer.
 *    The denied name goes nowhere: no resolver is called for it (data in query names cannot leave).
 *  - Malformed queries get FORMERR when the header is readable; otherwise they are dropped.
 *
 * Transports: plain UDP, and a stream (TCP or unix socket) carrying 2-byte big-endian
 * length-prefixed messages (RFC 1035 §4.2.2 / RFC 7766). On a stream, responses are written in
 * request order, one frame per request (an empty frame where UDP would have dropped the message),
 * so the relay maps them back to UDP clients FIFO; pipelining is allowed and bounded.
 */

export interface DnsStubOptions {
  policy: CompiledPolicy;
  audit: (rec: DnsAuditRecord) => void;
  resolver?: Resolver;
  /** Rcode for names the policy does not allow. Default REFUSED. */
  deniedRcode?: 'REFUSED' | 'NXDOMAIN';
  ttl?: number;
  resolveTimeoutMs?: number;
  /** Queries in flight per stream before reading pauses. */
  maxPendingPerStream?: number;
  /** Queries in flight over UDP before new ones are dropped. */
  maxPendingUdp?: number;
  /** A stream with no complete message for this long is closed. */
  streamIdleMs?: number;
  onAuditError?: (e: unknown) => void;
}

export interface DnsStats {
  queries: number;
  allowed: number;
  denied: number;
  malformed: number;
  dropped: number;
  auditErrors: number;
}

export interface DnsStub {
  listenUdp(target: { host: string; port: number }): Promise<AddressInfo>;
  listenStream(target: { path: string; mode?: number } | { host: string; port: number }): Promise<AddressInfo | string>;
  /** Answers one wire-format query (null: drop). Exposed for the relay glue and for tests. */
  answer(msg: Buffer, transport: 'udp' | 'stream'): Promise<Buffer | null>;
  close(): Promise<void>;
  stats(): DnsStats;
}

const UDP_MAX = 1232;

function ipBytes(ip: string): Buffer {
  return isIP(ip) === 4 ? Buffer.from(ip.split('.').map(Number)) : Buffer.from(v6Bytes(ip));
}

export function createDnsStub(opts: DnsStubOptions): DnsStub {
  const resolver = opts.resolver ?? systemResolver();
  const ttl = opts.ttl ?? 30;
  const deniedRcode: RcodeName = opts.deniedRcode ?? 'REFUSED';
  const resolveTimeoutMs = opts.resolveTimeoutMs ?? 5000;
  const maxPendingPerStream = opts.maxPendingPerStream ?? 64;
  const maxPendingUdp = opts.maxPendingUdp ?? 1024;
  const streamIdleMs = opts.streamIdleMs ?? 60_000;
  const policy = opts.policy;
  const index = new NetIndex(policy);
  const stats: DnsStats = { queries: 0, allowed: 0, denied: 0, malformed: 0, dropped: 0, auditErrors: 0 };
  const prefix = randomBytes(4).toString('hex');
  let seq = 0;
  const udpSockets: UdpSocket[] = [];
  const servers: Server[] = [];
  const streams = new Set<Socket>();
  let udpPending = 0;
  let closed = false;

  const emit = (rec: DnsAuditRecord): void => {
    try {
      opts.audit(rec);
    } catch (e) {
      stats.auditErrors++;
      try {
        opts.onAuditError?.(e);
      } catch {
        /* ignore */
      }
    }
  };

  async function answer(msg: Buffer, transport: 'udp' | 'stream'): Promise<Buffer | null> {
    const t0 = performance.now();
    const at = new Date().toISOString();
    stats.queries++;
    const id = `${prefix}-${++seq}`;
    const rec = (r: Omit<DnsAuditRecord, 'type' | 'id' | 'transport' | 'at' | 'durationMs'>): void =>
      emit({ type: 'dns', id, transport, at, durationMs: Math.round((performance.now() - t0) * 1000) / 1000, ...r, reason: clip(r.reason) });
    const p = parseQuery(msg);
    if (!p.ok) {
      stats.malformed++;
      const name = p.question ? clip(presentName(p.question.labels), 300) : null;
      const qtype = p.question ? typeName(p.question.qtype) : null;
      if (p.id === undefined || p.why === 'a response, not a query') {
        stats.dropped++;
        rec({ name, qtype, decision: 'deny', rule: 'dns.malformed', reason: `dropped: ${p.why}`, rcode: 'DROPPED', answers: [] });
        return null;
      }
      rec({ name, qtype, decision: 'deny', rule: 'dns.malformed', reason: p.why, rcode: p.rcode, answers: [] });
      return encodeResponse({ id: p.id, opcode: p.opcode ?? 0, rd: p.rd ?? false, rcode: p.rcode, ...(p.question ? { question: p.question } : {}) });
    }
    const q = p.query;
    const name = presentName(q.question.labels);
    const qtype = typeName(q.question.qtype);
    const maxSize = transport === 'udp' ? (q.edns ? Math.min(Math.max(512, q.edns.udpSize), UDP_MAX) : 512) : 65535;
    const respond = (rcode: RcodeName, answers: Answer[] = [], ede?: { code: number; text: string }): Buffer =>
      encodeResponse({ id: q.id, rd: q.rd, cd: q.cd, rcode, question: q.question, answers, edns: q.edns ? { udpSize: UDP_MAX, ...(ede ? { ede } : {}) } : null, maxSize });
    if (q.question.qclass !== 1) {
      stats.denied++;
      rec({ name: clip(name, 300), qtype, decision: 'deny', rule: 'dns.class', reason: `class ${q.question.qclass} not served`, rcode: 'REFUSED', answers: [] });
      return respond('REFUSED', [], { code: EDE.notSupported, text: 'warden: only class IN is served' });
    }
    const d = dnsNameDecision(index, name);
    if (d.decision === 'deny') {
      stats.denied++;
      rec({ name: clip(name, 300), qtype, decision: 'deny', rule: d.rule, reason: d.reason, rcode: deniedRcode, answers: [] });
      return respond(deniedRcode, [], { code: EDE.prohibited, text: `warden: ${name.slice(0, 80)} denied by rule ${d.rule}` });
    }
    stats.allowed++;
    const wantType = q.question.qtype === TYPE.A ? 4 : q.question.qtype === TYPE.AAAA ? 6 : 0;
    if (wantType === 0) {
      rec({ name, qtype, decision: 'allow', rule: d.rule, reason: `${d.reason}; ${qtype} is not served (empty answer)`, rcode: 'NOERROR', answers: [] });
      return respond('NOERROR');
    }
    const host = name;
    let addrs: string[];
    if (d.viaHosts) {
      addrs = [policy.hosts.get(host)!];
    } else {
      try {
        addrs = await resolveChecked(resolver, host, resolveTimeoutMs);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'ERESOLVE';
        const rcode: RcodeName = code === 'ENOTFOUND' ? 'NXDOMAIN' : 'SERVFAIL';
        rec({ name, qtype, decision: 'allow', rule: d.rule, reason: `${d.reason}; ${(e as Error).message}`, rcode, answers: [] });
        return respond(rcode);
      }
    }
    // The same address checks as the proxy: an answer the proxy would refuse to connect to is
    // not handed out either (a rebinding name gets no loopback/private answers).
    const usable = addrs.filter((a) => isIP(a) === wantType && checkAddress(policy, a, 0, d.viaHosts).ok);
    const answers: Answer[] = usable.slice(0, 16).map((a) => ({ type: wantType === 4 ? TYPE.A : TYPE.AAAA, ttl, data: ipBytes(a) }));
    const dropped = addrs.filter((a) => isIP(a) === wantType).length - usable.length;
    rec({ name, qtype, decision: 'allow', rule: d.rule, reason: dropped > 0 ? `${d.reason}; ${dropped} address(es) left out by the address checks` : d.reason, rcode: 'NOERROR', answers: usable.slice(0, 16) });
    return respond('NOERROR', answers);
  }

  function serveStream(sock: Socket): void {
    streams.add(sock);
    sock.once('close', () => streams.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(streamIdleMs, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    // Responses leave in request order: a queue of promises, drained from the head.
    const queue: Array<Promise<Buffer | null>> = [];
    let draining = false;
    const drain = async (): Promise<void> => {
      if (draining) return;
      draining = true;
      while (queue.length > 0) {
        const r = await queue[0]!;
        queue.shift();
        if (!sock.destroyed) {
          // A message that gets no answer (unreadable header, or a response) yields an empty frame,
          // so the relay can match answers to datagrams strictly in order.
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r ? r.length : 0, 0);
          sock.write(r ? Buffer.concat([len, r]) : len);
        }
        if (queue.length < maxPendingPerStream && sock.isPaused() && !sock.destroyed) sock.resume();
      }
      draining = false;
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len === 0) {
          sock.destroy(); // not a DNS message; the framing is lost
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        queue.push(answer(msg, 'stream').catch(() => null));
        if (queue.length >= maxPendingPerStream) sock.pause();
      }
      void drain();
    });
  }

  return {
    answer,
    async listenUdp(target) {
      const { createSocket } = await import('node:dgram'); // only UDP listeners need it (not warden run's)
      const sock = createSocket({ type: isIP(target.host) === 6 ? 'udp6' : 'udp4' });
      sock.on('message', (msg, rinfo) => {
        if (closed) return;
        if (udpPending >= maxPendingUdp) {
          stats.dropped++;
          return;
        }
        udpPending++;
        answer(msg, 'udp')
          .then((r) => {
            if (r && !closed) sock.send(r, rinfo.port, rinfo.address);
          })
          .catch(() => {})
          .finally(() => udpPending--);
      });
      sock.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(target.port, target.host, () => resolve());
      });
      udpSockets.push(sock);
      return sock.address();
    },
    async listenStream(target) {
      const server = createServer(serveStream);
      server.on('error', () => {});
      servers.push(server);
      return listenOn(server, target);
    },
    async close() {
      closed = true;
      for (const s of udpSockets) s.close();
      for (const s of streams) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
    stats() {
      return { ...stats };
    },
  };
}

