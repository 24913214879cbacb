/**
 * Data leaving the machine, judged by what it is and where it goes: uploads carrying secret- or
 * recon-tainted data are exfiltration whatever the transport; data encoded into DNS names or sent
 * to anonymous drop sites is exfiltration even without a known secret; after a secret read earlier
 * in the session, an upload of opaque data completes an exfiltration chain. Downloads produce
 * `remote`-tainted streams so that running them later is caught. Allowed hosts are never flagged.
 */
import { UNKNOWN } from '../glob.js';
import { display, type Invocation, type Stream } from '../model.js';
import { classifyHost, dnsCarriesData, type Endpoint, isDropHost } from '../net.js';
import type { ChainLink } from '../types.js';




export function socketStream(inv: Invocation, where: string): Stream {
  return { text: null, taint: { socket: where, links: [inv.a.link(inv.ctx, 'network socket')] }, src: 'socket' };
}

export function remoteStream(inv: Invocation, host: string): Stream {
  return { text: null, taint: { remote: host, links: [inv.a.link(inv.ctx, `download from ${host}`)] }, src: 'remote', desc: host };
}

export function hostEndpoint(host: string, inv: Invocation): Endpoint {
  return { host, port: null, scheme: null, cls: classifyHost(host, inv.a.cfg.allowedHosts), raw: host };
}

/** Secret reads earlier in the session (not this command): the source of a possible chain. */
function earlierSecretReads(inv: Invocation): ChainLink[] {
  return inv.a.facts.secretReads.filter((l) => l.step < inv.a.facts.step).slice(-4);
}

/**
 * Sending `data` to `ep`. `fromPath` is the local file being sent, when there is one.
 * Returns whether anything was flagged.
 */
export function uploadEffects(inv: Invocation, data: Stream, ep: Endpoint | null, how: string, fromPath?: string): void {
  const { a, ctx } = inv;
  const host = ep ? (ep.cls === 'unknown' ? 'a host that cannot be determined' : ep.host) : 'a remote host';
  if (ep?.cls === 'allowed') return;
  if (data.taint?.secret) {
    a.add('exfiltration', 'critical', `${how} ${data.taint.secret} to ${host}`, { chain: data.taint.links.filter((l) => l.step !== a.facts.step) }, ctx);
    return;
  }
  if (data.taint?.sensitive) {
    a.add('exfiltration', 'high', `${how} ${data.taint.sensitive} to ${host}`, { chain: data.taint.links.filter((l) => l.step !== a.facts.step) }, ctx);
    return;
  }
  if (ep && ep.cls !== 'loopback' && dnsCarriesData(ep.host)) {
    a.add('exfiltration', 'high', `${how} data encoded in the host name ${display(ep.host)} (DNS exfiltration)`, undefined, ctx);
    return;
  }
  if (ep?.cls === 'loopback') return;
  const earlier = earlierSecretReads(inv);
  const opaque = data.text === null && data.src !== 'none' && data.src !== 'literal';
  if (earlier.length && opaque) {
    a.add('exfiltration', 'high', `${how} data of unknown content to ${host} after secrets were read earlier in this session`, { chain: earlier }, ctx);
    return;
  }
  if (ep && isDropHost(ep.host)) {
    a.add('network-upload', 'high', `${how} data to ${ep.host}, an anonymous file-drop / request-capture service`, undefined, ctx);
    return;
  }
  // A file from outside the project, unless this session made it (then its taint says what it holds).
  const outside = fromPath !== undefined && !a.kb.inWorkspace(fromPath) && !fromPath.startsWith(UNKNOWN) && !ctx.env.files.has(fromPath);
  if (outside) {
    a.add('network-upload', 'medium', `${how} ${fromPath}, from outside the workspace, to ${host}`, undefined, ctx);
  } else if (ep && (ep.cls === 'public-ip' || ep.cls === 'unknown')) {
    a.add('network-upload', 'medium', `${how} data to ${ep.cls === 'public-ip' ? 'raw IP address ' + ep.host : host}`, undefined, ctx);
  } else if (ep && ep.scheme === 'http' && ep.cls === 'name') {
    a.add('network-upload', 'medium', `${how} data over unencrypted HTTP to ${host}`, { suggestion: 'use https:// for requests that carry data' }, ctx);
  } else {
    a.add('network-upload', 'low', `${how} data to ${host}`, undefined, ctx);
  }
}

/** Contacting a URL without sending data: only metadata endpoints and DNS tricks matter. */
export function fetchEffects(inv: Invocation, ep: Endpoint): void {
  const { a, ctx } = inv;
  if (ep.cls === 'metadata') a.add('read-secret', 'high', `queries the cloud metadata endpoint ${ep.host} (instance credentials)`, undefined, ctx);
  else if (ep.cls !== 'loopback' && ep.cls !== 'allowed' && dnsCarriesData(ep.host)) a.add('exfiltration', 'high', `contacts ${display(ep.host)}: data encoded in the host name (DNS exfiltration)`, undefined, ctx);
}
