/**
 * Pure SOCKS5 (RFC 1928) message parsing and encoding: the no-authentication method and the
 * CONNECT command with domain-name, IPv4 and IPv6 destinations. BIND and UDP ASSOCIATE are
 * refused (UDP leaves the sandbox only through the DNS stub).
 *
 * All parsers take the bytes received so far and answer `need` (read more), `ok` with the number
 * of bytes consumed, or `error` — never throw, never read past the buffer.
 */

export const SOCKS_VERSION = 5;
export const METHOD_NO_AUTH = 0x00;
export const METHOD_NONE_ACCEPTABLE = 0xff;

export const REP = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export type Parse<T> = { kind: 'need' } | { kind: 'error'; reply: number; why: string } | ({ kind: 'ok'; used: number } & T);

export function parseGreeting(b: Buffer): Parse<{ methods: number[] }> {
  if (b.length < 2) return { kind: 'need' };
  if (b[0] !== SOCKS_VERSION) return { kind: 'error', reply: REP.generalFailure, why: 'not SOCKS5' };
  const n = b[1]!;
  if (n === 0) return { kind: 'error', reply: REP.generalFailure, why: 'no authentication methods offered' };
  if (b.length < 2 + n) return { kind: 'need' };
  return { kind: 'ok', used: 2 + n, methods: [...b.subarray(2, 2 + n)] };
}

export interface SocksTarget {
  /** A domain name as sent (not yet validated), or an IP literal. */
  host: string;
  atyp: 'domain' | 'ipv4' | 'ipv6';
  port: number;
}

export function parseRequest(b: Buffer): Parse<SocksTarget> {
  if (b.length < 4) return { kind: 'need' };
  if (b[0] !== SOCKS_VERSION) return { kind: 'error', reply: REP.generalFailure, why: 'bad request version' };
  const cmd = b[1]!;
  if (b[2] !== 0) return { kind: 'error', reply: REP.generalFailure, why: 'reserved byte is not zero' };
  const atyp = b[3]!;
  let host: string;
  let at: SocksTarget['atyp'];
  let p = 4;
  if (atyp === 0x01) {
    if (b.length < p + 4 + 2) return { kind: 'need' };
    host = `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
    at = 'ipv4';
    p += 4;
  } else if (atyp === 0x03) {
    if (b.length < p + 1) return { kind: 'need' };
    const len = b[p]!;
    if (len === 0) return { kind: 'error', reply: REP.generalFailure, why: 'empty domain name' };
    if (b.length < p + 1 + len + 2) return { kind: 'need' };
    host = b.subarray(p + 1, p + 1 + len).toString('latin1');
    at = 'domain';
    p += 1 + len;
  } else if (atyp === 0x04) {
    if (b.length < p + 16 + 2) return { kind: 'need' };
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(p + 2 * i).toString(16));
    host = g.join(':');
    at = 'ipv6';
    p += 16;
  } else {
    return { kind: 'error', reply: REP.addressTypeNotSupported, why: `address type ${atyp} not supported` };
  }
  const port = b.readUInt16BE(p);
  p += 2;
  if (cmd !== 0x01) return { kind: 'error', reply: REP.commandNotSupported, why: cmd === 0x03 ? 'UDP ASSOCIATE is not allowed (UDP leaves only through the DNS stub)' : `command ${cmd} not supported (CONNECT only)` };
  return { kind: 'ok', used: p, host, atyp: at, port };
}

/** A reply; the bound address is always reported as 0.0.0.0:0 (the proxy's own addresses are not the agent's business). */
export function encodeReply(rep: number): Buffer {
  return Buffer.from([SOCKS_VERSION, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}
