import { BARE_URL_RE, EXFIL, MARKDOWN_IMAGE_RE, MARKDOWN_LINK_RE, type Severity } from './rules.js';

/**
 * Exfiltration through URLs: a result (or a definition) that gets the client to fetch a URL
 * carrying data to a host the policy does not allow. Markdown images are fetched by many clients
 * with no click at all, so they are the sharpest case; links need a click; any URL whose query,
 * fragment or path carries a long encoded run is a data channel. Hosts the network section allows
 * are not flagged.
 */

/** 'allow' when the network section allows connecting to host:port. */
export type HostCheck = (host: string, port: number) => 'allow' | 'deny' | 'approve';

export interface UrlHit {
  rule: 'exfil-image' | 'exfil-link' | 'exfil-url';
  severity: Severity;
  start: number;
  end: number;
  url: string;
  host: string;
}

function parse(raw: string): URL | undefined {
  try {
    return new URL(raw.replace(/[.,;:!?]+$/u, ''));
  } catch {
    return undefined;
  }
}

function hostPort(u: URL): { host: string; port: number } {
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port ? Number(u.port) : u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : 80;
  return { host, port };
}

function carriesData(u: URL): boolean {
  const parts = [u.search, u.hash, ...u.pathname.split('/')];
  return parts.some((p) => EXFIL.encodedRunRe.test(p));
}

export function scanUrls(text: string, hostAllowed: HostCheck): UrlHit[] {
  if (!text.includes('://')) return [];
  const hits: UrlHit[] = [];
  const covered: Array<[number, number]> = [];
  const add = (rule: UrlHit['rule'], severity: Severity, start: number, end: number, raw: string): void => {
    const u = parse(raw);
    if (!u || !u.hostname) return;
    const { host, port } = hostPort(u);
    if (hostAllowed(host, port) === 'allow') return;
    const sev: Severity = rule !== 'exfil-url' && carriesData(u) ? 'high' : severity;
    hits.push({ rule, severity: sev, start, end, url: raw, host });
    covered.push([start, end]);
  };
  for (const m of text.matchAll(MARKDOWN_IMAGE_RE)) add('exfil-image', 'high', m.index, m.index + m[0].length, (m[1] ?? m[2]) as string);
  for (const m of text.matchAll(MARKDOWN_LINK_RE)) add('exfil-link', 'medium', m.index, m.index + m[0].length, m[1] as string);
  for (const m of text.matchAll(BARE_URL_RE)) {
    const start = m.index;
    if (covered.some(([a, b]) => start >= a && start < b)) continue;
    const u = parse(m[0]);
    if (u && carriesData(u)) add('exfil-url', 'high', start, start + m[0].length, m[0]);
  }
  return hits;
}
