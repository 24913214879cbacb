/**
 * HTTP clients (curl, wget, httpie/xh, aria2c/axel): which URLs are contacted, what is sent
 * (`-d @file`, `-F f=@file`, `-T`, `--post-file`, tainted headers/URLs), where downloads land, and
 * the options that load code (`--engine`) or reach local daemons (`--unix-socket docker.sock`).
 */
import { openForRead, resolveField } from '../files.js';
import { UNKNOWN } from '../glob.js';
import { display, type Field, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { type Endpoint, isDropHost, looksLikeHost, parseUrl } from '../net.js';
import { hasOpt, optValue, optValues, parseArgs } from './args.js';
import { runShellCode, writeFile } from './common.js';
import { fetchEffects, remoteStream, uploadEffects } from './egress.js';



const CURL_VAL = [
  '-d', '--data', '--data-binary', '--data-raw', '--data-ascii', '--data-urlencode', '--json', '-F', '--form', '--form-string', '-T',
  '--upload-file', '-o', '--output', '-H', '--header', '-X', '--request', '-u', '--user', '-A', '--user-agent', '-e', '--referer',
  '-b', '--cookie', '-c', '--cookie-jar', '-K', '--config', '-x', '--proxy', '--url', '--engine', '--unix-socket', '--abstract-unix-socket',
  '-m', '--max-time', '--connect-timeout', '-w', '--write-out', '-r', '--range', '-C', '--continue-at', '--retry', '--cacert', '--cert',
  '--key', '-E', '--resolve', '--connect-to', '--interface', '--limit-rate', '-y', '-Y', '--output-dir', '--create-dirs-mode', '-D',
  '--dump-header', '--trace', '--trace-ascii', '--stderr', '-z', '--time-cond', '--expect100-timeout', '--netrc-file', '--proto',
  '--proto-redir', '--max-redirs', '--oauth2-bearer', '--aws-sigv4', '-Q', '--quote', '--mail-from', '--mail-rcpt', '--variable', '--expand-data',
];

function dataStream(inv: Invocation, v: Field, how: 'data' | 'form' | 'file'): { st: Stream; path?: string } {
  const s = v.s;
  if (how === 'file' || s.startsWith('@') || (how === 'form' && /=[@<]/.test(s))) {
    const path = how === 'file' ? s : how === 'form' ? s.replace(/^[^=]*=[@<]/, '').replace(/;.*$/, '') : s.slice(1);
    if (path === '-' || path === '/dev/stdin') return { st: inv.stdin };
    const f: Field = { ...v, s: path };
    const r = resolveField(inv.a, f, inv.ctx);
    return { st: openForRead(inv.a, f, inv.ctx, 'upload'), path: r?.abs };
  }
  return { st: { text: v.exact ? s : null, taint: v.taint, src: v.exact && !v.taint ? 'literal' : 'unknown' } };
}

export function curl(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, CURL_VAL);
  const urls: Endpoint[] = [];
  for (const f of [...p.pos, ...optValues(p, '--url')]) {
    const bare = f.s.replace(/[/:?#].*$/, '');
    const ep = parseUrl(f.s, a.cfg.allowedHosts) ?? (looksLikeHost(bare) || /^[^\s/]+\.[a-z]{2,}$/i.test(bare) || f.s.startsWith(UNKNOWN) ? parseUrl('http://' + f.s, a.cfg.allowedHosts) : null);
    if (ep) urls.push(ep);
  }
  for (const o of p.opts) {
    if (!o.value) continue;
    if (o.name === '--engine' && o.value.s.includes('/')) a.add('code-injection', 'high', `curl --engine loads a shared library (${display(o.value.s)})`, undefined, ctx);
    if (o.name === '--unix-socket' && /docker\.sock|containerd|podman/.test(o.value.s)) a.add('privilege-escalation', 'high', `talks to the container daemon socket ${o.value.s} (root-equivalent)`, undefined, ctx);
    if (o.name === '-K' || o.name === '--config' || o.name === '--netrc-file') openForRead(a, o.value, ctx, 'curl config');
  }
  const fileUrls = urls.filter((u) => u.scheme === 'file');
  let out: Stream = NO_STREAM;
  for (const u of fileUrls) out = openForRead(a, lit(decodeURIComponent(u.raw.replace(/^file:\/\/(?:localhost)?/i, ''))), ctx, 'curl file://');
  const net = urls.filter((u) => u.scheme !== 'file');
  // Uploads.
  const sends: { st: Stream; path?: string; authUse?: boolean }[] = [];
  for (const o of p.opts) {
    if (!o.value) continue;
    if (/^(?:-d|--data|--data-binary|--data-raw|--data-ascii|--data-urlencode|--json)$/.test(o.name)) sends.push(o.name === '--data-raw' ? { st: { text: o.value.s, taint: o.value.taint, src: 'literal' } } : dataStream(inv, o.value, 'data'));
    else if (o.name === '-F' || o.name === '--form' || o.name === '--form-string') sends.push(dataStream(inv, o.value, 'form'));
    else if (o.name === '-T' || o.name === '--upload-file') sends.push(dataStream(inv, o.value, 'file'));
    else if ((o.name === '-H' || o.name === '--header' || o.name === '-u' || o.name === '--user' || o.name === '-A' || o.name === '-e' || o.name === '-b') && (o.value.taint?.secret || o.value.taint?.sensitive)) {
      // A token from the environment in an auth header is the token being *used*; only its use
      // against plain-HTTP, raw-IP or drop-site endpoints is treated as sending it away.
      const authUse = (o.name === '-u' || o.name === '--user' || /^\s*(?:authorization|proxy-authorization|x-api-key|api-key|private-token|x-auth-token|x-[\w-]*token)\s*:/i.test(o.value.s)) && o.value.taint.links.length === 0;
      sends.push({ st: { text: null, taint: o.value.taint, src: 'unknown' }, authUse });
    }
  }
  for (const u of net.slice(0, 4)) {
    fetchEffects(inv, u);
    if (u.scheme && /^(?:gopher|dict|tftp|telnet|ldap|ldaps|smb|smbs|rtmp|mqtt|pop3|imap|smtp)$/.test(u.scheme) && u.cls !== 'allowed') {
      a.add('network-egress', 'medium', `curl speaks ${u.scheme}:// to ${display(u.host)} (a raw-protocol channel rarely used legitimately)`, undefined, ctx);
    }
    const urlTaint = p.pos.find((f) => f.s.includes(u.host) && (f.taint?.secret || f.taint?.sensitive))?.taint;
    const method = optValue(p, '-X', '--request')?.s.toUpperCase();
    if (method === 'DELETE' && u.cls !== 'loopback' && u.cls !== 'allowed') a.add('destroy', 'medium', `sends an HTTP DELETE to ${display(u.host)}`, undefined, ctx);
    if (urlTaint) uploadEffects(inv, { text: null, taint: urlTaint, src: 'unknown' }, u, 'sends (in the URL)');
    for (const s of sends) {
      if (s.authUse && u.scheme === 'https' && (u.cls === 'name' || u.cls === 'allowed') && !isDropHost(u.host)) continue;
      uploadEffects(inv, s.st, u, 'uploads', s.path);
    }
  }
  if (net.length === 0) return out;
  const host = net[0]!.host;
  const dl = remoteStream(inv, host);
  const o = optValue(p, '-o', '--output');
  const remoteName = hasOpt(p, '-O', '--remote-name', '--remote-name-all');
  if (o && o.s !== '-') {
    writeFile(inv, o, dl, false, 'download');
    return NO_STREAM;
  }
  if (remoteName) {
    const name = (net[0]!.raw.split(/[?#]/)[0] ?? '').split('/').pop() || 'index.html';
    const dir = optValue(p, '--output-dir');
    writeFile(inv, lit(dir ? `${dir.s}/${name}` : name), dl, false, 'download');
    return NO_STREAM;
  }
  return dl;
}

const WGET_VAL = [
  '-O', '--output-document', '-o', '--output-file', '-a', '--append-output', '-P', '--directory-prefix', '-i', '--input-file', '--post-data',
  '--post-file', '--body-data', '--body-file', '--method', '-U', '--user-agent', '--header', '--user', '--password', '-e', '--execute',
  '--use-askpass', '-t', '--tries', '-T', '--timeout', '-w', '--wait', '-Q', '--quota', '--limit-rate', '-l', '--level', '-A', '--accept',
  '-R', '--reject', '-D', '--domains', '--config', '--load-cookies', '--save-cookies', '--ca-certificate', '--certificate', '--private-key',
];

export function wget(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, WGET_VAL);
  const urls = p.pos.map((f) => parseUrl(f.s, a.cfg.allowedHosts) ?? (looksLikeHost(f.s.replace(/[/:].*$/, '')) ? parseUrl('http://' + f.s, a.cfg.allowedHosts) : null)).filter((e): e is Endpoint => e !== null);
  for (const o of p.opts) {
    if (!o.value) continue;
    if (o.name === '--use-askpass') runShellCode(inv, o.value, 'wget --use-askpass');
    if (o.name === '-i' || o.name === '--input-file' || o.name === '--config' || o.name === '--load-cookies') openForRead(a, o.value, ctx, 'wget input');
    if (o.name === '-o' || o.name === '--output-file' || o.name === '-a' || o.name === '--append-output' || o.name === '--save-cookies') writeFile(inv, o.value, UNKNOWN_STREAM, o.name.startsWith('-a'), 'wget log');
    if (o.name === '-e' || o.name === '--execute') {
      const m = /^\s*(?:post_file|body_file)\s*=\s*(.+)$/.exec(o.value.s);
      if (m) {
        const st = openForRead(a, lit(m[1]!.trim()), ctx, 'upload');
        for (const u of urls) uploadEffects(inv, st, u, 'uploads');
      }
    }
  }
  const sends: { st: Stream; path?: string }[] = [];
  for (const f of [...p.pos, ...p.opts.map((o) => o.value).filter((v): v is Field => v !== null)]) {
    if (f.taint?.secret || f.taint?.sensitive) sends.push({ st: { text: null, taint: f.taint, src: 'unknown' } });
  }
  for (const o of p.opts) {
    if (!o.value) continue;
    if (o.name === '--post-file' || o.name === '--body-file') {
      const r = resolveField(a, o.value, ctx);
      sends.push({ st: openForRead(a, o.value, ctx, 'upload'), path: r?.abs });
    } else if (o.name === '--post-data' || o.name === '--body-data') sends.push({ st: { text: o.value.exact ? o.value.s : null, taint: o.value.taint, src: 'literal' } });
  }
  for (const u of urls.slice(0, 4)) {
    fetchEffects(inv, u);
    for (const s of sends) uploadEffects(inv, s.st, u, 'uploads', s.path);
  }
  if (urls.length === 0) return NO_STREAM;
  const dl = remoteStream(inv, urls[0]!.host);
  const o = optValue(p, '-O', '--output-document');
  if (o && o.s === '-') return dl;
  if (hasOpt(p, '-qO-', '-O-')) return dl;
  const dir = optValue(p, '-P', '--directory-prefix')?.s;
  const name = o ? o.s : (urls[0]!.raw.split(/[?#]/)[0] ?? '').split('/').pop() || 'index.html';
  writeFile(inv, lit(dir && !o ? `${dir}/${name}` : name), dl, false, 'download');
  return NO_STREAM;
}

/** httpie / xh: `http [METHOD] URL [field=value | field:=json | field@file | header:value]`. */
export function httpie(inv: Invocation): Stream {
  const { a } = inv;
  const p = parseArgs(inv.args, ['-a', '--auth', '-o', '--output', '--session', '--session-read-only', '--verify', '--cert', '--cert-key', '--proxy', '--timeout', '-A', '--auth-type']);
  let ep: Endpoint | null = null;
  const sends: { st: Stream; path?: string }[] = [];
  for (const f of p.pos) {
    if (!ep && /^(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/.test(f.s)) continue;
    if (!ep) {
      ep = parseUrl(f.s, a.cfg.allowedHosts) ?? parseUrl((f.s.startsWith(':') ? 'http://localhost' : 'http://') + f.s, a.cfg.allowedHosts);
      continue;
    }
    const m = /^[^=:@]+(?:=@|@|:=@)(.+)$/.exec(f.s);
    if (m) sends.push(dataStream(inv, { ...f, s: m[1]! }, 'file'));
    else if (/[=:]/.test(f.s)) sends.push({ st: { text: f.exact ? f.s : null, taint: f.taint, src: f.taint ? 'unknown' : 'literal' } });
  }
  if (inv.stdin.src !== 'none') sends.push({ st: inv.stdin });
  if (!ep) return NO_STREAM;
  fetchEffects(inv, ep);
  for (const s of sends) uploadEffects(inv, s.st, ep, 'uploads', s.path);
  const o = optValue(p, '-o', '--output');
  const dl = remoteStream(inv, ep.host);
  if (o) {
    writeFile(inv, o, dl, false, 'download');
    return NO_STREAM;
  }
  return dl;
}

/** aria2c / axel. */
export function fetcher(inv: Invocation): Stream {
  const { a } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) {
    if (o.value && /^--on-(?:download|bt-download)-(?:complete|error|start|pause|stop)$/.test(o.name)) runShellCode(inv, o.value, `${inv.name} ${o.name}`);
    if (o.value && (o.name === '-i' || o.name === '--input-file')) openForRead(a, o.value, inv.ctx, 'input list');
  }
  const url = p.pos.map((f) => parseUrl(f.s, a.cfg.allowedHosts)).find((e) => e);
  if (!url) return NO_STREAM;
  fetchEffects(inv, url);
  const name = optValue(p, '-o', '--out')?.s ?? ((url.raw.split(/[?#]/)[0] ?? '').split('/').pop() || 'index.html');
  const dir = optValue(p, '-d', '--dir')?.s;
  writeFile(inv, lit(dir ? `${dir}/${name}` : name), remoteStream(inv, url.host), false, 'download');
  return NO_STREAM;
}
