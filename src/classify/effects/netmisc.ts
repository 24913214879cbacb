/**
 * Other network tools: DNS/ICMP lookups (data can only leave through names and payloads), tunnels
 * and relays, mail, LDAP, packet sniffers, and the GitHub CLI (tokens, destructive API calls).
 */
import { openForRead, resolveField } from '../files.js';
import { UNKNOWN } from '../glob.js';
import { display, type Invocation, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { classifyHost, dnsCarriesData, looksLikeHost } from '../net.js';
import { hasOpt, optValue, optValues, parseArgs } from './args.js';
import { runNestedArgv, runShellCode, writeFile } from './common.js';
import { hostEndpoint, uploadEffects } from './egress.js';

/** ping, dig, host, nslookup, whois, traceroute: data can only leave through names and payloads. */
export function dns(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const secret = inv.args.find((f) => f.taint?.secret);
  if (secret?.taint?.secret) {
    a.add('exfiltration', 'critical', `${name} carries ${secret.taint.secret} to the network (in a query or packet)`, { chain: secret.taint.links }, ctx);
    return UNKNOWN_STREAM;
  }
  if (inv.stdin.taint?.secret && name === 'whois') {
    a.add('exfiltration', 'critical', `whois sends ${inv.stdin.taint.secret} to a whois server`, { chain: inv.stdin.taint.links }, ctx);
    return UNKNOWN_STREAM;
  }
  const hostArgs = inv.args.filter((f) => !f.s.startsWith('-') && !f.s.startsWith('@') && (looksLikeHost(f.s) || f.s.includes(UNKNOWN)));
  for (const h of hostArgs) {
    if (dnsCarriesData(h.s) && classifyHost(h.s, a.cfg.allowedHosts) !== 'allowed') {
      a.add('exfiltration', 'high', `${name} looks up ${display(h.s)}: data encoded in the name (DNS exfiltration)`, undefined, ctx);
      break;
    }
  }
  const pat = inv.args.findIndex((f) => f.s === '-p');
  if (name.startsWith('ping') && pat >= 0) a.add('exfiltration', 'medium', `${name} -p fills packets with chosen data (ICMP exfiltration channel)`, undefined, ctx);
  if (name === 'whois' && inv.args.some((f) => f.s === '-h') && hostArgs.length > 1) a.add('network-upload', 'medium', 'whois sends an arbitrary query string to a chosen server', undefined, ctx);
  return UNKNOWN_STREAM;
}

/** Small web servers: serving a directory outside the project (or /) exposes it to the network. */
export function httpd(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const root = optValue(p, '-h', '-d', '--root', '-r') ?? p.pos.find((f) => f.s.startsWith('/') || f.s.startsWith('~'));
  const r = root ? resolveField(a, root, ctx) : null;
  const outside = r !== null && !a.kb.inWorkspace(r.abs);
  const secrets = r && !r.pattern ? a.kb.containsSecrets(r.abs) : null;
  a.add('listener', secrets ? 'high' : outside ? 'medium' : 'low', `${name} serves ${r ? r.abs : 'files'} over HTTP${secrets ? ` (exposes ${secrets})` : ''}`, undefined, ctx);
  return NO_STREAM;
}

/** ip: `ip netns exec NS CMD` / `ip vrf exec VRF CMD` run commands; `-batch FILE` reads a file. */
export function ip(inv: Invocation): Stream {
  const w = inv.args.map((f) => f.s);
  const b = w.findIndex((x) => x === '-batch' || x === '-b');
  if (b >= 0 && inv.args[b + 1]) openForRead(inv.a, inv.args[b + 1]!, inv.ctx, 'ip -batch');
  const e = w.findIndex((x, i) => x === 'exec' && i > 0 && /^(?:netns|vrf)$/.test(w[i - 2] ?? w[i - 1] ?? ''));
  // The word after `exec` is the namespace/VRF name; the command follows it.
  if (e >= 0) return runNestedArgv(inv, inv.args.slice(e + 2), 'ip exec');
  if (/^(?:link|addr|address|route|rule|neigh|tunnel|netns|xfrm)$/.test(w.find((x) => !x.startsWith('-')) ?? '') && w.some((x) => /^(?:add|del|delete|set|change|replace|flush)$/.test(x))) {
    inv.a.add('system-modify', 'medium', `ip ${w.filter((x) => !x.startsWith('-')).slice(0, 3).join(' ')}: changes network configuration`, undefined, inv.ctx);
  }
  return UNKNOWN_STREAM;
}

export function tunnel(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  for (const o of parseArgs(inv.args, inv.spec?.val ?? []).opts) if (o.value && inv.spec?.execs?.includes(o.name)) runShellCode(inv, o.value, `${name} ${o.name}`);
  if (inv.args.some((f) => /^(?:-h|--help|-v|--version|version|help)$/.test(f.s))) return NO_STREAM;
  a.add('tunnel', 'high', `${name} tunnels traffic or exposes local services through an outside relay`, undefined, ctx);
  return NO_STREAM;
}

export function mail(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) {
    if (o.value && (o.name === '--exec' || o.name === '-E')) runShellCode(inv, { ...o.value, s: o.value.s.replace(/^!/, '') }, `${name} ${o.name}`);
  }
  const attach = [...optValues(p, '-a'), ...optValues(p, '-A'), ...optValues(p, '--attach')];
  const to = p.pos.find((f) => f.s.includes('@'));
  const ep = to ? hostEndpoint(to.s.split('@').pop()!, inv) : null;
  for (const f of attach) {
    const r = resolveField(a, f, ctx);
    uploadEffects(inv, openForRead(a, f, ctx, 'attachment'), ep, `${name} mails`, r?.abs);
  }
  if (inv.stdin.src !== 'none') uploadEffects(inv, inv.stdin, ep, `${name} mails`);
  else if (attach.length === 0 && p.pos.length > 0) a.add('network-upload', 'low', `${name} sends mail`, undefined, ctx);
  return NO_STREAM;
}

export function ldap(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const f of [...optValues(p, '-f'), ...optValues(p, '-y')]) openForRead(a, f, ctx, name);
  if (name === 'ldapdelete') a.add('destroy', 'medium', 'deletes directory (LDAP) entries', undefined, ctx);
  else if (name === 'ldapadd' || name === 'ldapmodify') a.add('system-modify', 'medium', `${name} changes directory (LDAP) entries (accounts, groups)`, undefined, ctx);
  else a.add('recon', 'low', 'queries the directory (LDAP)', undefined, ctx);
  return UNKNOWN_STREAM;
}

export function sniffer(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) {
    if (o.value && inv.spec?.execs?.includes(o.name)) runShellCode(inv, o.value, `${name} ${o.name}`);
    if (o.value && inv.spec?.writes?.includes(o.name)) writeFile(inv, o.value, { text: null, taint: { secret: 'captured network traffic', links: [a.link(ctx, 'traffic capture')] }, src: 'unknown' }, false, name);
  }
  if (hasOpt(p, '-r') && !hasOpt(p, '-i')) return UNKNOWN_STREAM;
  a.facts.recon.push(a.link(ctx, 'traffic capture'));
  a.add('recon', 'high', `${name} captures network traffic (can capture credentials)`, undefined, ctx);
  return { text: null, taint: { secret: 'captured network traffic', links: [a.link(ctx, 'traffic capture')] }, src: 'unknown' };
}

/** GitHub CLI: tokens, destructive API calls, uploads. */
export function gh(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const w = inv.args.map((f) => f.s);
  const [g, c] = w;
  if (g === 'auth' && (c === 'token' || c === 'status' && w.includes('--show-token') || w.includes('-t'))) {
    a.facts.secretReads.push(a.link(ctx, 'secret read'));
    a.add('read-secret', 'high', 'prints the GitHub access token', undefined, ctx);
    return { text: null, taint: { secret: 'the GitHub access token', links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
  }
  if (g === 'repo' && (c === 'delete' || c === 'archive')) a.add('destroy', 'high', `gh repo ${c}: ${c === 'delete' ? 'deletes' : 'archives'} a repository`, undefined, ctx);
  else if (g === 'secret' || g === 'variable') a.add('security-tampering', c === 'list' ? 'low' : 'medium', `gh ${g} ${c ?? ''}: manages repository secrets`, undefined, ctx);
  else if (g === 'api' && w.some((x, i) => (x === '-X' || x === '--method') && /DELETE/i.test(w[i + 1] ?? ''))) a.add('destroy', 'medium', 'gh api DELETE request', undefined, ctx);
  else if ((g === 'release' && c === 'delete') || (g === 'run' && c === 'delete') || (g === 'cache' && c === 'delete')) a.add('destroy', 'low', `gh ${g} delete`, undefined, ctx);
  else if (g === 'gist' && c === 'create') {
    for (const f of inv.args.slice(2).filter((x) => !x.s.startsWith('-'))) {
      const st = f.s === '-' ? inv.stdin : openForRead(a, f, ctx, 'gist');
      uploadEffects(inv, st, { host: 'gist.github.com', port: null, scheme: 'https', cls: 'name', raw: 'gist.github.com' }, 'gh gist create uploads');
    }
  } else if (g === 'extension' && c === 'install') a.add('download-exec', 'low', 'installs a gh extension (runs third-party code)', undefined, ctx);
  return UNKNOWN_STREAM;
}
