/**
 * SSH-family transfers and remote sessions (ssh, scp, sftp, rsync) and bulk transfer tools
 * (ftp, smbclient, rclone, gsutil, ...): direction of each operand (upload or download), options
 * that run local commands (ProxyCommand, -S, -e), tunnels (-R, -D).
 */
import { openForRead, resolveField } from '../files.js';
import { display, type Field, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { type Endpoint, looksLikeHost, parseUrl, remoteSpec } from '../net.js';
import { hasOpt, optValue, optValues, parseArgs } from './args.js';
import { readFiles, runShellCode, secretsUnder, writeFile } from './common.js';
import { copy } from './fsops.js';
import { hostEndpoint, remoteStream, uploadEffects } from './egress.js';


const SSH_EXEC_OPTS = /^(?:ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand|Match\s+exec)\s*[= ]\s*(.*)$/is;

function sshOptions(inv: Invocation, values: Field[]): void {
  const { a, ctx } = inv;
  for (const v of values) {
    const m = SSH_EXEC_OPTS.exec(v.s);
    if (m && !/^RemoteCommand/i.test(v.s) && m[1]!.trim() && m[1]!.trim().toLowerCase() !== 'none') {
      runShellCode(inv, { ...v, s: m[1]!.replace(/%[hpnrCdu%]/g, 'x') }, `ssh -o ${v.s.split(/[= ]/)[0]}`);
    }
    if (/^StrictHostKeyChecking\s*[= ]\s*no/i.test(v.s)) a.add('security-tampering', 'low', 'disables SSH host-key checking', undefined, ctx);
  }
}

export function ssh(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  sshOptions(inv, [...optValues(p, '-o')]);
  const cfg = optValue(p, '-F');
  if (cfg) openForRead(a, cfg, ctx, 'ssh -F');
  const dest = p.rest[0];
  const cmd = p.rest.slice(1);
  if (!dest) return NO_STREAM;
  const host = dest.s.replace(/^ssh:\/\//, '').replace(/^.*@/, '').replace(/:\d+$/, '');
  const ep = hostEndpoint(host, inv);
  if (hasOpt(p, '-R')) a.add('tunnel', 'medium', `ssh -R exposes a local port on ${display(host)} (reverse tunnel)`, undefined, ctx);
  if (hasOpt(p, '-D')) a.add('tunnel', 'medium', `ssh -D opens a SOCKS proxy through ${display(host)}`, undefined, ctx);
  if (inv.stdin.src !== 'none') uploadEffects(inv, inv.stdin, ep, 'ssh sends');
  if (cmd.length && ep.cls === 'loopback') {
    // A "remote" command on this machine is a local command.
    runShellCode(inv, { s: cmd.map((f) => f.s).join(' '), exact: cmd.every((f) => f.exact), glob: false, quoted: false, taint: null }, 'ssh localhost', NO_STREAM);
  } else if (ep.cls !== 'allowed' && ep.cls !== 'loopback') {
    a.add('network-egress', 'low', cmd.length ? `runs a command on the remote host ${display(host)}` : `opens an SSH session to ${display(host)}`, undefined, ctx);
  }
  return remoteStream(inv, host);
}

/** Local/remote operands of scp/rsync: judge each direction. */
function transferOperands(inv: Invocation, operands: Field[], how: string): void {
  const { a, ctx } = inv;
  if (operands.length < 2) return;
  const dest = operands[operands.length - 1]!;
  const srcs = operands.slice(0, -1);
  const destRemote = remoteSpec(dest.s, a.cfg.allowedHosts) ?? (dest.s.includes('://') ? parseUrl(dest.s, a.cfg.allowedHosts) : null);
  for (const s of srcs.slice(0, 16)) {
    const srcRemote = remoteSpec(s.s, a.cfg.allowedHosts) ?? (s.s.includes('://') ? parseUrl(s.s, a.cfg.allowedHosts) : null);
    if (!srcRemote && destRemote) {
      const r = resolveField(a, s, ctx);
      const inside = r && !r.pattern ? secretsUnder(inv, r.abs) : null;
      let st = openForRead(a, s, ctx, how);
      if (inside && !st.taint?.secret && r && !a.kb.inWorkspace(r.abs)) {
        a.add('read-secret', inside.risk, `${how} copies ${inside.what}`, undefined, ctx);
        if (inside.risk === 'high') st = { ...st, taint: { secret: inside.what, links: [a.link(ctx, 'secret read')] } };
      }
      uploadEffects(inv, st, destRemote, `${how} uploads`, r?.abs);
    } else if (srcRemote && !destRemote) {
      if (srcRemote.cls !== 'allowed' && srcRemote.cls !== 'loopback') a.add('download', 'medium', `${how} copies files from ${display(srcRemote.host)} into ${display(dest.s)}`, undefined, ctx);
      writeFile(inv, dest.s.endsWith('/') || srcs.length > 1 ? { ...dest, s: dest.s.replace(/\/+$/, '') + '/' + (s.s.split('/').pop() || 'x') } : dest, remoteStream(inv, srcRemote.host), false, how);
    } else if (srcRemote && destRemote) {
      a.add('network-egress', 'low', `${how} copies between remote hosts`, undefined, ctx);
    }
  }
}

export function scp(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  sshOptions(inv, optValues(p, '-o'));
  const prog = optValue(p, '-S');
  if (prog) runShellCode(inv, prog, 'scp -S');
  const cfg = optValue(p, '-F');
  if (cfg) openForRead(inv.a, cfg, inv.ctx, 'scp -F');
  transferOperands(inv, p.pos, 'scp');
  return NO_STREAM;
}

export function sftp(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  sshOptions(inv, optValues(p, '-o'));
  const prog = optValue(p, '-S');
  if (prog) runShellCode(inv, prog, 'sftp -S');
  const batch = optValue(p, '-b');
  const script = batch ? (batch.s === '-' ? inv.stdin : readFiles(inv, [batch], 'sftp -b')) : inv.stdin;
  const host = p.pos[0];
  if (!host) return NO_STREAM;
  const ep = remoteSpec(host.s, a.cfg.allowedHosts) ?? hostEndpoint(host.s.replace(/^.*@/, ''), inv);
  if (script.text) {
    for (const m of script.text.matchAll(/^\s*(put|get|!)\s*(\S*)/gm)) {
      if (m[1] === 'put' && m[2]) uploadEffects(inv, openForRead(a, lit(m[2]), ctx, 'sftp put'), ep, 'sftp uploads', m[2]);
      if (m[1] === '!') a.runSource(script.text.slice(m.index! + m[0].indexOf('!') + 1).split('\n')[0]!, { ...ctx, depth: ctx.depth + 1, via: 'sftp !' });
    }
  }
  if (p.pos.length >= 2 || /:.+/.test(host.s)) transferOperands(inv, p.pos.length >= 2 ? p.pos : [host, lit('.')], 'sftp');
  else if (ep.cls !== 'allowed') a.add('network-egress', 'low', `opens an SFTP session to ${display(ep.host)}`, undefined, ctx);
  return NO_STREAM;
}

export function rsync(inv: Invocation): Stream {
  const { a } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const rsh = optValue(p, '-e', '--rsh');
  if (rsh) runShellCode(inv, rsh, 'rsync -e');
  const ops = p.pos;
  const remote = ops.some((f) => remoteSpec(f.s, a.cfg.allowedHosts) || /^rsync:\/\//.test(f.s) || /::/.test(f.s));
  if (remote) {
    transferOperands(inv, ops, 'rsync');
    return NO_STREAM;
  }
  // Local copy: same judgement as cp.
  return copy({ ...inv, name: 'cp', args: ops, spec: undefined });
}

/** Bulk transfer tools (ftp, tftp, smbclient, rclone, gsutil, s3cmd, azcopy, lftp, mc). */
export function transfer(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const words = inv.args;
  let remote: Endpoint | null = null;
  for (const f of words) {
    const e = parseUrl(f.s, a.cfg.allowedHosts) ?? (/^\/\/[^/]+/.test(f.s) ? hostEndpoint(f.s.slice(2).split('/')[0]!, inv) : null) ?? remoteSpec(f.s, a.cfg.allowedHosts) ?? (looksLikeHost(f.s) ? hostEndpoint(f.s.replace(/^.*@/, ''), inv) : null);
    if (e) {
      remote = e;
      break;
    }
  }
  const scripts: string[] = [];
  for (let i = 0; i < words.length; i++) if (/^-(?:c|e|C)$|^--command$/.test(words[i]!.s) && words[i + 1]) scripts.push(words[i + 1]!.s);
  if (inv.stdin.text) scripts.push(inv.stdin.text);
  const puts: string[] = [];
  for (const s of scripts) for (const m of s.matchAll(/(?:^|[;\n]|\s)(?:put|mput|send|append)\s+(\S+)/g)) puts.push(m[1]!);
  const sub = words[0]?.s ?? '';
  const uploadVerb = /^(?:cp|copy|sync|move|mv|put|rsync|upload|copyto|moveto)$/.test(sub);
  const locals = words.slice(1).filter((f) => !f.s.startsWith('-') && !remoteSpec(f.s, a.cfg.allowedHosts) && !f.s.includes('://') && !/^\/\//.test(f.s));
  const sources = [...puts.map((x) => lit(x)), ...(uploadVerb && remote && locals.length ? locals.slice(0, 1) : [])];
  for (const s of sources) {
    const r = resolveField(a, s, ctx);
    uploadEffects(inv, openForRead(a, s, ctx, name), remote, `${name} uploads`, r?.abs);
  }
  if (sources.length === 0 && remote && remote.cls !== 'allowed' && remote.cls !== 'loopback') a.add('network-egress', 'low', `${name} talks to ${display(remote.host)}`, undefined, ctx);
  return UNKNOWN_STREAM;
}
