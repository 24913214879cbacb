import { isIP } from 'node:net';
import { canonicalIp } from '../policy/net.js';

/**
 * Pure classification of IP addresses for the egress layer.
 *
 * Threat: an agent reaches the supervisor's own loopback services, the host's LAN, or a cloud
 * metadata endpoint (credentials) through the proxy, either by naming the address directly (in any
 * spelling: `127.1`, `2130706433`, `::ffff:127.0.0.1`, `64:ff9b::7f00:1`) or through a name whose
 * DNS answer points there (DNS rebinding). Every address the proxy would connect to is classified
 * here; anything but `public` must be named by the policy before it is used.
 */

export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'metadata';

/** Cloud metadata endpoints (AWS/GCP/Azure/OCI 169.254.169.254, ECS/EKS, AWS IPv6, Alibaba). */
const METADATA_IPS = new Set(['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', 'fd00:ec2::254', 'fd00:ec2::23']);

/** Names that reach metadata services from inside a cloud VM, whatever a resolver says about them. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal']);

export function isMetadataName(name: string): boolean {
  return METADATA_NAMES.has(name);
}

function v4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** The 16 bytes of an IPv6 literal (handles `::` and a dotted IPv4 tail). */
export function v6Bytes(ip: string): number[] {
  let s = ip;
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (m) {
    const o = m.slice(2).map(Number) as [number, number, number, number];
    s = `${m[1]}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = s.split('::');
  const parse = (p: string): number[] => (p === '' ? [] : p.split(':').map((h) => parseInt(h, 16) & 0xffff));
  const hi = parse(halves[0] ?? '');
  const lo = halves.length > 1 ? parse(halves[1] ?? '') : [];
  const groups = halves.length > 1 ? [...hi, ...Array<number>(Math.max(0, 8 - hi.length - lo.length)).fill(0), ...lo] : hi;
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? 0;
    out.push((g >> 8) & 0xff, g & 0xff);
  }
  return out;
}

function inV4(b: number[], net: [number, number, number, number], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((b[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

function classifyV4(ip: string): AddressClass {
  if (METADATA_IPS.has(ip)) return 'metadata';
  const b = v4Bytes(ip);
  if (inV4(b, [0, 0, 0, 0], 8)) return 'unspecified';
  if (inV4(b, [127, 0, 0, 0], 8)) return 'loopback';
  if (inV4(b, [10, 0, 0, 0], 8) || inV4(b, [172, 16, 0, 0], 12) || inV4(b, [192, 168, 0, 0], 16)) return 'private';
  if (inV4(b, [169, 254, 0, 0], 16)) return 'link-local';
  if (inV4(b, [100, 64, 0, 0], 10)) return 'cgnat';
  if (inV4(b, [224, 0, 0, 0], 4)) return 'multicast';
  if (
    inV4(b, [192, 0, 0, 0], 24) || // IETF protocol assignments
    inV4(b, [192, 0, 2, 0], 24) ||
    inV4(b, [198, 51, 100, 0], 24) ||
    inV4(b, [203, 0, 113, 0], 24) || // documentation
    inV4(b, [192, 88, 99, 0], 24) || // 6to4 relay anycast
    inV4(b, [198, 18, 0, 0], 15) || // benchmarking
    inV4(b, [240, 0, 0, 0], 4) // reserved + broadcast
  )
    return 'reserved';
  return 'public';
}

/** If an IPv6 address carries an IPv4 address that a gateway would deliver to, that address. */
export function embeddedV4(b: number[]): string | undefined {
  const v4 = (o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible).
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 12) && !(zero(12, 15) && (b[15] === 0 || b[15] === 1))) return v4(12);
  // 64:ff9b::/96 well-known NAT64 prefix.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  // 2002::/16 6to4.
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

function classifyV6(ip: string): AddressClass {
  if (METADATA_IPS.has(ip)) return 'metadata';
  const b = v6Bytes(ip);
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 16)) return 'unspecified';
  if (zero(0, 15) && b[15] === 1) return 'loopback';
  const v4 = embeddedV4(b);
  if (v4 !== undefined) {
    const c = classifyV4(v4);
    // An embedded public address still goes through a translator we know nothing about.
    return c === 'public' ? 'reserved' : c;
  }
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'private'; // deprecated site-local
  if ((b[0]! & 0xfe) === 0xfc) return 'private'; // ULA fc00::/7
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0 && b[5] === 1) return 'private'; // 64:ff9b:1::/48 local NAT64
  if (b[0] === 0x01 && b[1] === 0x00 && zero(2, 8)) return 'reserved'; // 100::/64 discard
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'reserved'; // documentation
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return 'reserved'; // Teredo (hides an IPv4)
  if ((b[0]! & 0xe0) !== 0x20) return 'reserved'; // outside global unicast 2000::/3
  return 'public';
}

/** Class of a canonical IP literal (as returned by `canonicalIp`). */
export function classifyIp(ip: string): AddressClass {
  const v = isIP(ip);
  if (v === 4) return classifyV4(ip);
  if (v === 6) return classifyV6(ip);
  return 'reserved';
}

/**
 * Canonical form used for deciding and connecting: `canonicalIp`, and IPv4-mapped IPv6 collapsed
 * to the IPv4 it is (a dual-stack socket connecting to `::ffff:a.b.c.d` reaches `a.b.c.d`), so a
 * rule about the IPv4 address applies whichever spelling the agent picks.
 */
export function destinationIp(s: string): string | undefined {
  const c = canonicalIp(s);
  if (c === undefined) return undefined;
  if (isIP(c) === 6) {
    const b = v6Bytes(c);
    if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  return c;
}

export function isSpecial(c: AddressClass): boolean {
  return c !== 'public';
}
