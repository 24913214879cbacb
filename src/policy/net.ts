import { isIP } from 'node:net';

/**
 * Pure host-pattern parsing and host normalisation for network rules.
 *
 * Names are compared case-insensitively without a trailing dot; `*.example.com` matches strict
 * subdomains only (never `example.com` itself, never `evilexample.com`). IP literals are kept in a
 * canonical form so `127.1`-style or bracketed spellings cannot dodge a rule: a destination given
 * as an IP is decided as that IP, never as a name.
 */

export interface HostPattern {
  /** Lower-case name without trailing dot, or canonical IP literal. */
  host: string;
  wildcard: boolean;
  ip: boolean;
  port: number | undefined;
}

export class HostPatternError extends Error {}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

export function canonicalIp(s: string): string | undefined {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  let v = isIP(bare);
  let addr = bare;
  // inet_aton spellings (`127.1`, `0x7f.1`, `2130706433`) are IPv4 too: WHATWG URL parsing
  // implements the same number rules, so a name whose last label is numeric is read as an address.
  if (v === 0 && /^[0-9a-fx.]+$/i.test(bare) && /(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$/i.test(bare)) {
    try {
      const h = new URL(`http://${bare}/`).hostname;
      if (isIP(h) === 4) {
        addr = h;
        v = 4;
      }
    } catch {
      return undefined;
    }
  }
  if (v === 4) return addr.split('.').map((o) => String(Number(o))).join('.');
  if (v === 6) {
    try {
      // URL parsing canonicalises IPv6 (compression, lower case, embedded IPv4).
      return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => LABEL.test(l));
}

/** Normalises a destination host for matching: IP literals canonicalised, names lower-cased. */
export function normalizeHost(host: string): string {
  const ip = canonicalIp(host);
  if (ip) return ip;
  const h = host.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

export function parseHostPattern(raw: string): HostPattern {
  let s = raw.trim().toLowerCase();
  if (s !== raw.trim().toLowerCase() || s.length === 0) throw new HostPatternError('empty host');
  let port: number | undefined;
  // [v6]:port, v4:port, name:port; a bare IPv6 has several colons and no port.
  const v6port = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6port) {
    s = `[${v6port[1]}]`;
    port = Number(v6port[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.indexOf(':');
    const p = s.slice(i + 1);
    if (!/^\d+$/.test(p)) throw new HostPatternError(`port "${p}" is not a number`);
    port = Number(p);
    s = s.slice(0, i);
  }
  if (port !== undefined && (port < 1 || port > 65535)) throw new HostPatternError(`port ${port} out of range 1-65535`);
  const ip = canonicalIp(s);
  if (ip) return { host: ip, wildcard: false, ip: true, port };
  if (s.startsWith('[')) throw new HostPatternError(`"${s}" is not an IPv6 address`);
  if (s.endsWith('.')) s = s.slice(0, -1);
  let wildcard = false;
  if (s.startsWith('*.')) {
    wildcard = true;
    s = s.slice(2);
  }
  if (s.includes('*')) throw new HostPatternError('"*" is only allowed as the whole first label, as in "*.example.com"');
  if (!isValidHostname(s)) throw new HostPatternError(`"${raw}" is not a valid host name`);
  return { host: s, wildcard, ip: false, port };
}

/** Every wildcard suffix a host could match: `a.b.c` → [`b.c`, `c`]. */
export function parentDomains(host: string): string[] {
  const out: string[] = [];
  let i = host.indexOf('.');
  while (i >= 0) {
    out.push(host.slice(i + 1));
    i = host.indexOf('.', i + 1);
  }
  return out;
}
