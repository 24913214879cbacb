/** Network endpoint knowledge: what a host or URL in an argument is. Pure functions. */
import { UNKNOWN } from './glob.js';

export type HostClass = 'loopback' | 'private' | 'metadata' | 'public-ip' | 'name' | 'unknown' | 'allowed';

export interface Endpoint {
  host: string;
  port: string | null;
  scheme: string | null;
  cls: HostClass;
  raw: string;
}

const METADATA_HOSTS = new Set(['169.254.169.254', 'metadata.google.internal', 'metadata', '100.100.100.200', 'fd00:ec2::254', '169.254.170.2']);

/** Hosts a coding agent routinely talks to; uploads to them are still only `low`. */
export const WELL_KNOWN_HOSTS: readonly string[] = [
  'github.com', 'api.github.com', 'gitlab.com', 'bitbucket.org', 'registry.npmjs.org', 'registry.yarnpkg.com', 'pypi.org',
  'files.pythonhosted.org', 'crates.io', 'static.crates.io', 'index.crates.io', 'proxy.golang.org', 'sum.golang.org', 'rubygems.org',
  'repo.maven.apache.org', 'repo1.maven.org', 'deb.debian.org', 'archive.ubuntu.com', 'security.debian.org', 'dl-cdn.alpinelinux.org',
  'docker.io', 'registry-1.docker.io', 'ghcr.io', 'quay.io', 'nodejs.org', 'go.dev', 'golang.org',
];

export function hostMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase();
  const p = pattern.toLowerCase().replace(/:\d+$/, '');
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) || h === p.slice(2);
  return h === p;
}

export function classifyHost(host: string, allowed: readonly string[]): HostClass {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === '' || h.includes(UNKNOWN)) return 'unknown';
  if (allowed.some((a) => hostMatches(h, a))) return 'allowed';
  if (METADATA_HOSTS.has(h)) return 'metadata';
  if (h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || h === '0.0.0.0') return 'loopback';
  if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(h) || /^f[cd][0-9a-f]{2}:/.test(h)) return 'private';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h) || /^[0-9a-f:]+$/.test(h) && h.includes(':')) return 'public-ip';
  if (/^\d+$/.test(h) || /^0x[0-9a-f]+$/i.test(h)) return 'public-ip'; // decimal/hex-encoded IPv4
  return 'name';
}

/** Parses `scheme://[user@]host[:port]/...`. Returns null when the text is not a URL. */
export function parseUrl(text: string, allowed: readonly string[]): Endpoint | null {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^/@\s]*@)?(\[[^\]]+\]|[^/:?#\s]*)(?::(\d+|[^/?#\s]*))?/.exec(text);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const host = m[2] ?? '';
  if (scheme === 'file') return { host: '', port: null, scheme, cls: 'loopback', raw: text };
  return { host, port: m[3] ?? null, scheme, cls: classifyHost(host, allowed), raw: text };
}

/** Finds URLs embedded anywhere in a string (arguments, code). */
export function findUrls(text: string, allowed: readonly string[]): Endpoint[] {
  const out: Endpoint[] = [];
  const re = /\b(?:https?|ftp|ftps|sftp|tftp|gopher|dict|ldap|ldaps|smb|scp|rsync|ws|wss|telnet|file|rtmp|stratum\+tcp|stratum\+ssl|s3|gs):\/\/[^\s'"`<>)(]*/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const e = parseUrl(m[0], allowed);
    if (e) out.push(e);
    if (out.length > 20) break;
  }
  return out;
}

/** `/dev/tcp/host/port` and `/dev/udp/host/port` (bash pseudo-devices). */
export function devTcp(text: string, allowed: readonly string[]): Endpoint | null {
  const m = /\/dev\/(tcp|udp)\/([^/\s]+)\/([^\s/'"]+)/.exec(text);
  if (!m) return null;
  return { host: m[2]!, port: m[3]!, scheme: m[1]!, cls: classifyHost(m[2]!, allowed), raw: m[0] };
}

/** `[user@]host:path` remote specs used by scp/rsync/sftp. Not URLs, not `C:`-style. */
export function remoteSpec(arg: string, allowed: readonly string[]): Endpoint | null {
  if (arg.startsWith('/') || arg.startsWith('.') || arg.startsWith('-') || arg.includes('://')) return null;
  const m = /^(?:([^@:/\s]+)@)?(\[[^\]]+\]|[a-zA-Z0-9_.\u00e0-\uffff-]+|\uE000[^:]*):(.*)$/.exec(arg);
  if (!m) return null;
  const host = m[2]!;
  if (!m[1] && !host.includes('.') && host.length <= 1) return null;
  return { host, port: null, scheme: 'ssh', cls: classifyHost(host, allowed), raw: arg };
}

/** A `host` positional as used by nc/telnet/ssh. */
export function looksLikeHost(arg: string): boolean {
  if (arg.startsWith('-') || arg.startsWith('/')) return false;
  return /^(?:[^@\s]+@)?(\d{1,3}(\.\d{1,3}){3}|[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+|localhost|\[[0-9a-fA-F:]+\])$/.test(arg) || arg.includes(UNKNOWN);
}

export function describeHost(e: Endpoint): string {
  switch (e.cls) {
    case 'metadata':
      return `the cloud metadata endpoint ${e.host}`;
    case 'public-ip':
      return `raw IP address ${e.host}`;
    case 'unknown':
      return 'a host that cannot be determined';
    default:
      return e.host || e.raw;
  }
}

/** DNS labels that carry data: long base64/hex-looking labels or substituted (unknown) content. */
export function dnsCarriesData(name: string): boolean {
  if (name.includes(UNKNOWN)) return true;
  return name.split('.').some((l) => l.length >= 24 && /^[A-Za-z0-9+/=_-]+$/.test(l) || /=/.test(l) && l.length >= 8);
}

/**
 * Destinations that exist to receive anonymous uploads or callbacks (paste bins, file drops, request
 * catchers, tunnels). Data sent there is leaving to whoever holds the link.
 */
export const DROP_HOSTS: readonly string[] = [
  'file.io', 'transfer.sh', '0x0.st', 'temp.sh', 'bashupload.com', 'oshi.at', 'keep.sh', 'gofile.io', '*.gofile.io', 'catbox.moe',
  'litterbox.catbox.moe', 'filebin.net', 'anonfiles.com', 'ufile.io', 'tmpfiles.org', 'pastebin.com', 'paste.ee', 'hastebin.com',
  'termbin.com', 'ix.io', 'sprunge.us', 'dpaste.com', 'dpaste.org', 'pastes.io', 'rentry.co', 'ghostbin.co', 'webhook.site',
  '*.requestbin.com', 'requestbin.net', '*.pipedream.net', '*.m.pipedream.net', 'hookbin.com', '*.ngrok.io', '*.ngrok-free.app',
  '*.ngrok.app', '*.trycloudflare.com', '*.loca.lt', '*.serveo.net', 'api.telegram.org', 'discord.com', 'discordapp.com',
  '*.oast.fun', '*.oast.pro', '*.oast.live', '*.oast.site', '*.oast.online', '*.oast.me', '*.interact.sh', '*.burpcollaborator.net',
  '*.dnslog.cn', '*.ceye.io', 'canarytokens.com', '*.canarytokens.com', 'wetransfer.com', 'mega.nz', 'anonymousfiles.io',
];

export function isDropHost(host: string): boolean {
  return DROP_HOSTS.some((p) => hostMatches(host, p));
}
