/**
 * A small, strict DNS message parser and encoder (RFC 1035, EDNS0 RFC 6891, Extended DNS Errors
 * RFC 8914) for Warden's DNS stub. It handles exactly what a stub needs: one question in, A/AAAA
 * answers out.
 *
 * Threat: the sandboxed agent controls every byte of the query. The parser therefore checks every
 * length against the buffer, refuses extended label types, follows compression pointers only
 * backwards and at most MAX_POINTER_HOPS times (no loops, no forward references), bounds names to
 * 255 wire octets, and rejects trailing bytes. It never throws on input: it returns an error with
 * the query id when the header was readable (so the stub can answer FORMERR), or without one (the
 * stub then drops the message).
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, SVCB: 64, HTTPS: 65, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODE;
/** RFC 8914 option code and the info codes the stub uses. */
export const EDE_OPTION = 15;
export const EDE = { otherError: 0, blocked: 15, censored: 16, filtered: 17, prohibited: 18, notSupported: 21 } as const;

const MAX_POINTER_HOPS = 16;
const MAX_NAME_WIRE = 255;

export function typeName(t: number): string {
  for (const [k, v] of Object.entries(TYPE)) if (v === t) return k;
  return `TYPE${t}`;
}

export interface DnsQuestion {
  /** Labels as received (original case preserved, for 0x20-style echoing). */
  labels: Buffer[];
  qtype: number;
  qclass: number;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  question: DnsQuestion;
  /** Present when the query carried an OPT record. */
  edns: { udpSize: number; version: number; do: boolean } | null;
}

export type QueryParse =
  | { ok: true; query: DnsQuery }
  /** `id` undefined: not even a header; drop silently. */
  | { ok: false; id?: number; opcode?: number; rd?: boolean; rcode: RcodeName; why: string; question?: DnsQuestion };

class WireError extends Error {}

/** Reads a possibly-compressed name at `off`; returns its labels and the offset after it. */
export function readName(buf: Buffer, off: number): { labels: Buffer[]; end: number } {
  const labels: Buffer[] = [];
  let pos = off;
  let end = -1;
  let hops = 0;
  let wire = 1; // terminal root label
  // Each pointer must point strictly before the previous pointer's target (the first one before
  // `off`): targets strictly decrease, so there are no loops; the hop limit bounds the work.
  let limit = off;
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the message');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (++hops > MAX_POINTER_HOPS) throw new WireError('too many compression pointers');
      if (target >= limit) throw new WireError('compression pointer does not point backwards');
      if (end < 0) end = pos + 2;
      limit = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError('extended label types are not supported');
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the message');
    wire += 1 + len;
    if (wire > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets');
    labels.push(buf.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { labels, end };
}

/** Presentation form: lower-case, `.`-joined, with `\.`, `\\` and `\DDD` escapes for other bytes. */
export function presentName(labels: Buffer[]): string {
  if (labels.length === 0) return '.';
  return labels
    .map((l) => {
      let s = '';
      for (const c of l) {
        if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f) s += String.fromCharCode(c);
        else if (c >= 0x41 && c <= 0x5a) s += String.fromCharCode(c + 32);
        else if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
        else s += `\\${String(c).padStart(3, '0')}`;
      }
      return s;
    })
    .join('.');
}

export function parseQuery(buf: Buffer): QueryParse {
  if (buf.length < 12) return { ok: false, rcode: 'FORMERR', why: 'shorter than a DNS header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qr = (flags & 0x8000) !== 0;
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  const cd = (flags & 0x0010) !== 0;
  if (qr) return { ok: false, rcode: 'FORMERR', why: 'a response, not a query' }; // never answer responses (reflection loops)
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const base = { ok: false as const, id, opcode, rd };
  if (opcode !== 0) return { ...base, rcode: 'NOTIMP', why: `opcode ${opcode} not supported` };
  if (qd !== 1) return { ...base, rcode: 'FORMERR', why: `${qd} questions (exactly one supported)` };
  if (an !== 0 || ns !== 0) return { ...base, rcode: 'FORMERR', why: 'answer or authority records in a query' };
  if (ar > 1) return { ...base, rcode: 'FORMERR', why: 'more than one additional record' };
  try {
    const { labels, end } = readName(buf, 12);
    if (end + 4 > buf.length) throw new WireError('truncated question');
    const question: DnsQuestion = { labels, qtype: buf.readUInt16BE(end), qclass: buf.readUInt16BE(end + 2) };
    let pos = end + 4;
    let edns: DnsQuery['edns'] = null;
    if (ar === 1) {
      const rr = readName(buf, pos);
      pos = rr.end;
      if (pos + 10 > buf.length) return { ...base, rcode: 'FORMERR', why: 'truncated additional record', question };
      const type = buf.readUInt16BE(pos);
      const klass = buf.readUInt16BE(pos + 2);
      const ttl = buf.readUInt32BE(pos + 4);
      const rdlen = buf.readUInt16BE(pos + 8);
      pos += 10;
      if (type !== TYPE.OPT || rr.labels.length !== 0) return { ...base, rcode: 'FORMERR', why: 'the additional record is not an OPT record', question };
      if (pos + rdlen > buf.length) return { ...base, rcode: 'FORMERR', why: 'truncated OPT record', question };
      // Options are well-formed TLVs that fill rdata exactly.
      let o = pos;
      while (o < pos + rdlen) {
        if (o + 4 > pos + rdlen) return { ...base, rcode: 'FORMERR', why: 'truncated EDNS option', question };
        o += 4 + buf.readUInt16BE(o + 2);
      }
      if (o !== pos + rdlen) return { ...base, rcode: 'FORMERR', why: 'EDNS option overruns the OPT record', question };
      pos += rdlen;
      edns = { udpSize: Math.max(512, klass), version: (ttl >>> 16) & 0xff, do: (ttl & 0x8000) !== 0 };
    }
    if (pos !== buf.length) return { ...base, rcode: 'FORMERR', why: 'trailing bytes after the message', question };
    return { ok: true, query: { id, opcode, rd, cd, question, edns } };
  } catch (e) {
    if (e instanceof WireError) return { ...base, rcode: 'FORMERR', why: e.message };
    throw e;
  }
}

export interface Answer {
  type: typeof TYPE.A | typeof TYPE.AAAA;
  ttl: number;
  /** 4 or 16 bytes. */
  data: Buffer;
}

export interface ResponseSpec {
  id: number;
  opcode?: number;
  rd?: boolean;
  cd?: boolean;
  rcode: RcodeName;
  question?: DnsQuestion;
  answers?: Answer[];
  /** Include an OPT record (only when the query had one); `ede` adds an Extended DNS Error. */
  edns?: { udpSize: number; ede?: { code: number; text: string } } | null;
  /** Size limit (UDP); if the full response does not fit, answers are dropped and TC set. */
  maxSize?: number;
}

function encodeName(labels: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) parts.push(Buffer.from([l.length]), l);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeResponse(r: ResponseSpec): Buffer {
  const build = (answers: Answer[], tc: boolean): Buffer => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(r.id, 0);
    let flags = 0x8000 | ((r.opcode ?? 0) << 11) | 0x0080; // QR, RA
    if (tc) flags |= 0x0200;
    if (r.rd) flags |= 0x0100;
    if (r.cd) flags |= 0x0010;
    flags |= RCODE[r.rcode] & 0xf;
    header.writeUInt16BE(flags, 2);
    header.writeUInt16BE(r.question ? 1 : 0, 4);
    header.writeUInt16BE(r.question ? answers.length : 0, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(r.edns ? 1 : 0, 10);
    const parts: Buffer[] = [header];
    if (r.question) {
      const q = Buffer.alloc(4);
      q.writeUInt16BE(r.question.qtype, 0);
      q.writeUInt16BE(r.question.qclass, 2);
      parts.push(encodeName(r.question.labels), q);
      for (const a of answers) {
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question name at offset 12
        rr.writeUInt16BE(a.type, 2);
        rr.writeUInt16BE(CLASS_IN, 4);
        rr.writeUInt32BE(a.ttl >>> 0, 6);
        rr.writeUInt16BE(a.data.length, 10);
        parts.push(rr, a.data);
      }
    }
    if (r.edns) {
      const opts: Buffer[] = [];
      if (r.edns.ede) {
        const text = Buffer.from(r.edns.ede.text.slice(0, 200), 'utf8');
        const o = Buffer.alloc(6);
        o.writeUInt16BE(EDE_OPTION, 0);
        o.writeUInt16BE(2 + text.length, 2);
        o.writeUInt16BE(r.edns.ede.code, 4);
        opts.push(o, text);
      }
      const rdata = Buffer.concat(opts);
      const opt = Buffer.alloc(11);
      opt.writeUInt8(0, 0); // root name
      opt.writeUInt16BE(TYPE.OPT, 1);
      opt.writeUInt16BE(r.edns.udpSize, 3);
      opt.writeUInt32BE(0, 5); // extended rcode 0, version 0, no DO
      opt.writeUInt16BE(rdata.length, 9);
      parts.push(opt, rdata);
    }
    return Buffer.concat(parts);
  };
  const full = build(r.answers ?? [], false);
  if (r.maxSize !== undefined && full.length > r.maxSize) return build([], true);
  return full;
}

/** Builds a query (for tests and clients). */
export function encodeQuery(q: { id: number; name: string; qtype: number; qclass?: number; rd?: boolean; edns?: boolean }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(q.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(q.edns ? 1 : 0, 10);
  const labels = q.name === '.' || q.name === '' ? [] : q.name.replace(/\.$/, '').split('.').map((l) => Buffer.from(l, 'latin1'));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.qtype, 0);
  tail.writeUInt16BE(q.qclass ?? CLASS_IN, 2);
  const parts = [header, encodeName(labels), tail];
  if (q.edns) parts.push(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

/** Parses a response (for tests and the fake upstream): rcode, flags, answers' addresses, EDE. */
export function parseResponse(buf: Buffer): { id: number; rcode: number; tc: boolean; aa: boolean; ra: boolean; qname: string; qtype: number; answers: Array<{ type: number; ttl: number; data: Buffer }>; ede?: { code: number; text: string } } {
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let pos = 12;
  let qname = '';
  let qtype = 0;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, pos);
    qname = presentName(n.labels);
    qtype = buf.readUInt16BE(n.end);
    pos = n.end + 4;
  }
  const answers: Array<{ type: number; ttl: number; data: Buffer }> = [];
  let ede: { code: number; text: string } | undefined;
  for (let i = 0; i < an + ns + ar; i++) {
    const n = readName(buf, pos);
    pos = n.end;
    const type = buf.readUInt16BE(pos);
    const ttl = buf.readUInt32BE(pos + 4);
    const len = buf.readUInt16BE(pos + 8);
    const data = buf.subarray(pos + 10, pos + 10 + len);
    pos += 10 + len;
    if (i < an) answers.push({ type, ttl, data });
    if (type === TYPE.OPT) {
      let o = 0;
      while (o + 4 <= data.length) {
        const code = data.readUInt16BE(o);
        const l = data.readUInt16BE(o + 2);
        if (code === EDE_OPTION && l >= 2) ede = { code: data.readUInt16BE(o + 4), text: data.subarray(o + 6, o + 4 + l).toString('utf8') };
        o += 4 + l;
      }
    }
  }
  return { id, rcode: flags & 0xf, tc: (flags & 0x0200) !== 0, aa: (flags & 0x0400) !== 0, ra: (flags & 0x0080) !== 0, qname, qtype, answers, ...(ede ? { ede } : {}) };
}
