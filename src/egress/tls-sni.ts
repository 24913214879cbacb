/**
 * Pure, bounded parser for the start of a TLS connection: enough of the ClientHello to read the
 * server_name (SNI) extension.
 *
 * Threat: domain fronting. An agent CONNECTs to an allowed name (whose IP the proxy checked), then
 * names another server in the TLS handshake, reaching a different tenant behind the same front.
 * The proxy reads the ClientHello before a single byte goes upstream and compares names.
 *
 * Strictness: anything that is not a well-formed ClientHello is `invalid` (the caller denies).
 * The handshake message may span several TLS records (legal, and a classic evasion); records are
 * reassembled up to `maxBytes`. Every length is checked against what is actually present.
 */

export type ClientHelloPeek =
  | { status: 'incomplete' }
  | { status: 'invalid'; why: string }
  | { status: 'ok'; sni: string | null; ech: boolean; bytes: number };

const RECORD_HANDSHAKE = 22;
const HS_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0x0000;
const EXT_ECH = 0xfe0d;
const EXT_ECH_OUTER = 0xfd00;
const MAX_RECORD = 16384 + 2048;

export function peekClientHello(buf: Buffer, maxBytes = 65536): ClientHelloPeek {
  // Reassemble the handshake stream from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1; // total handshake bytes (4-byte header + body), once known
  while (need < 0 || have < need) {
    if (off === 0 && buf.length >= 1 && buf[0] !== RECORD_HANDSHAKE) return { status: 'invalid', why: 'not a TLS handshake record' };
    if (buf.length < off + 5) return off + 5 > maxBytes ? { status: 'invalid', why: 'ClientHello too large' } : { status: 'incomplete' };
    const type = buf[off]!;
    const major = buf[off + 1]!;
    const len = buf.readUInt16BE(off + 3);
    if (type !== RECORD_HANDSHAKE) return { status: 'invalid', why: `record type ${type} inside the ClientHello` };
    if (major !== 3) return { status: 'invalid', why: 'unsupported record version' };
    if (len === 0 || len > MAX_RECORD) return { status: 'invalid', why: 'bad record length' };
    if (off + 5 + len > maxBytes) return { status: 'invalid', why: 'ClientHello too large' };
    if (buf.length < off + 5 + len) return { status: 'incomplete' };
    const frag = buf.subarray(off + 5, off + 5 + len);
    parts.push(frag);
    have += frag.length;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const hs = parts.length === 1 ? frag : Buffer.concat(parts);
      if (hs[0] !== HS_CLIENT_HELLO) return { status: 'invalid', why: 'first handshake message is not a ClientHello' };
      need = 4 + hs.readUIntBE(1, 3);
      if (need > maxBytes) return { status: 'invalid', why: 'ClientHello too large' };
    }
  }
  const hs = Buffer.concat(parts);
  const body = hs.subarray(4, need);
  const r = parseClientHelloBody(body);
  return r.status === 'ok' ? { ...r, bytes: off } : r;
}

function parseClientHelloBody(b: Buffer): ClientHelloPeek {
  let p = 0;
  const fail = (why: string): ClientHelloPeek => ({ status: 'invalid', why });
  const need = (n: number): boolean => p + n <= b.length;
  if (!need(2 + 32 + 1)) return fail('truncated ClientHello');
  p += 2 + 32; // legacy_version, random
  const sidLen = b[p]!;
  p += 1;
  if (sidLen > 32 || !need(sidLen)) return fail('bad session id');
  p += sidLen;
  if (!need(2)) return fail('truncated cipher suites');
  const csLen = b.readUInt16BE(p);
  p += 2;
  if (csLen < 2 || csLen % 2 !== 0 || !need(csLen)) return fail('bad cipher suites');
  p += csLen;
  if (!need(1)) return fail('truncated compression methods');
  const cmLen = b[p]!;
  p += 1;
  if (cmLen < 1 || !need(cmLen)) return fail('bad compression methods');
  p += cmLen;
  if (p === b.length) return { status: 'ok', sni: null, ech: false, bytes: 0 }; // no extensions at all
  if (!need(2)) return fail('truncated extensions');
  const extLen = b.readUInt16BE(p);
  p += 2;
  if (p + extLen !== b.length) return fail('extensions length disagrees with the message length');
  const seen = new Set<number>();
  let sni: string | null = null;
  let ech = false;
  while (p < b.length) {
    if (!need(4)) return fail('truncated extension header');
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (!need(len)) return fail('truncated extension');
    if (seen.has(type)) return fail(`duplicate extension ${type}`);
    seen.add(type);
    const data = b.subarray(p, p + len);
    p += len;
    if (type === EXT_ECH || type === EXT_ECH_OUTER) ech = true;
    if (type !== EXT_SERVER_NAME) continue;
    const r = parseServerName(data);
    if (typeof r !== 'string' && r !== null) return r;
    sni = r;
  }
  return { status: 'ok', sni, ech, bytes: 0 };
}

function parseServerName(d: Buffer): string | null | ClientHelloPeek {
  const fail = (why: string): ClientHelloPeek => ({ status: 'invalid', why });
  // A server may send an empty server_name in its ServerHello; a client must not.
  if (d.length < 2) return fail('empty server_name extension');
  const listLen = d.readUInt16BE(0);
  if (listLen + 2 !== d.length) return fail('server_name list length mismatch');
  let p = 2;
  let host: string | null = null;
  while (p < d.length) {
    if (p + 3 > d.length) return fail('truncated server_name entry');
    const nameType = d[p]!;
    const len = d.readUInt16BE(p + 1);
    p += 3;
    if (p + len > d.length) return fail('truncated server name');
    const raw = d.subarray(p, p + len);
    p += len;
    if (nameType !== 0) return fail(`unknown server_name type ${nameType}`);
    if (host !== null) return fail('more than one host_name');
    if (len === 0 || len > 255) return fail('bad host_name length');
    for (const c of raw) if (c < 0x21 || c > 0x7e) return fail('non-ASCII or control byte in host_name');
    host = raw.toString('latin1');
  }
  if (host === null) return fail('server_name extension without a host_name');
  return host;
}
