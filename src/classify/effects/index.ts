/**
 * Dispatch from a resolved program to the logic that knows what it does with its arguments.
 *
 * Order: shell-state builtins (cd), the knowledge base's named handler, else the declarative
 * reading of the table entry (readers read, writers write, option roles), else — for programs
 * nobody listed — the argument audit. Static effects of an entry (`always`) apply in every case.
 */
import { decodeEchoEscapes, printfFormat } from '../decode.js';
import { openForRead, resolveField } from '../files.js';
import { RECON_PROGRAMS } from '../kb/binaries.js';
import { display, type Invocation, mergeTaint, NO_STREAM, type Stream, type Taint, UNKNOWN_STREAM } from '../model.js';
import { parseArgs } from './args.js';
import * as code from './code.js';
import { derived, isShellPath, judgeArgs, readFiles, runShellCode, writeFile } from './common.js';
import { looksLikeHost } from '../net.js';
import * as git from './git.js';
import * as infra from './infra.js';
import * as pkg from './pkg.js';
import * as fs from './fsops.js';
import * as http from './http.js';
import * as misc from './netmisc.js';
import * as remote from './remote.js';
import * as sock from './sockets.js';
import * as sh from './shells.js';
import * as sys from './system.js';
import * as tx from './transforms.js';
import * as wr from './wrappers.js';

export type Handler = (inv: Invocation) => Stream;

/** Handler names used by `kb/binaries.ts`. A name missing here falls back to the declarative path. */
export const HANDLERS: Readonly<Record<string, Handler>> = Object.freeze({
  shell: sh.shell, eval: sh.evalBuiltin, source: sh.source, exec: sh.execBuiltin, command: sh.commandBuiltin, busybox: sh.busybox,
  alias: sh.alias, set: sh.setBuiltin, unset: sh.unset, trap: sh.trap, history: sh.history,
  wrapper: wr.wrapper, optwrapper: wr.optwrapper, subwrapper: wr.subwrapper, env: wr.env, sudo: wr.sudo, su: wr.su, sg: wr.sg,
  newgrp: wr.newgrp, xargs: wr.xargs, parallel: wr.parallel, watch: wr.watch, 'systemd-run': wr.systemdRun, 'run-parts': wr.runParts,
  find: wr.find, tmux: wr.tmux, screen: wr.screen,
  interp: code.interp, awk: code.awk, sed: code.sed, vim: code.vim, editor: code.editor, gdb: code.gdb, make: code.make,
  sqlite: code.sqlite, sqlclient: code.sqlclient, compiler: code.compiler, tex: code.tex, 'generic-exec': code.genericExec,
  rm: fs.rm, copy: fs.copy, dd: fs.dd, truncate: fs.truncate, tee: fs.tee, chmod: fs.chmod, chown: fs.chown, chattr: fs.chattr,
  setcap: fs.setcap, getcap: fs.getcap, mkfs: fs.mkfs, partition: fs.partition, mount: fs.mount, sshfs: fs.sshfs,
  base64: tx.base64, xxd: tx.xxd, compress: tx.compress, tar: tx.tar, zip: tx.zip, archive: tx.archive, openssl: tx.openssl,
  gpg: tx.gpg, grep: tx.grep,
  curl: http.curl, wget: http.wget, httpie: http.httpie, fetcher: http.fetcher, nc: sock.nc, socat: sock.socat, telnet: sock.telnet,
  ssh: remote.ssh, scp: remote.scp, sftp: remote.sftp, rsync: remote.rsync, transfer: remote.transfer, dns: misc.dns, tunnel: misc.tunnel, httpd: misc.httpd, ip: misc.ip, finger: sock.finger, ztcp: sock.ztcp,
  mail: misc.mail, ldap: misc.ldap, sniffer: misc.sniffer, gh: misc.gh,
  git: git.git, docker: infra.docker, kubectl: infra.kubectl, helm: infra.helm, cloud: infra.cloud, iac: infra.iac, jspkg: pkg.jspkg,
  npx: pkg.npx, langpkg: pkg.langpkg, syspkg: pkg.syspkg, runner: pkg.runner, vscode: pkg.vscode,
  crontab: sys.crontab, systemctl: sys.systemctl, sysctl: sys.sysctl, journalctl: sys.journalctl, auditctl: sys.auditctl,
  firewall: sys.firewall, kill: sys.kill, kmod: sys.kmod, power: sys.power, usermod: sys.usermod, getent: sys.getent,
});

const TEXT_FILTERS = new Set(['cat', 'tac', 'rev', 'tr']);

export function runHandler(inv: Invocation): Stream {
  const { name, spec } = inv;
  if (name === 'cd' || name === 'pushd' || name === 'popd') return sh.cd(inv);
  let out: Stream;
  const h = spec?.handler ? HANDLERS[spec.handler] : undefined;
  if (TEXT_FILTERS.has(name)) out = tx.textFilter(inv);
  else if (h) out = h(inv);
  else if (spec) out = declarative(inv);
  else out = unknownProgram(inv);
  if (spec?.always) for (const e of spec.always) inv.a.add(e.kind, e.risk, e.reason, e.suggestion ? { suggestion: e.suggestion } : undefined, inv.ctx);
  if (RECON_PROGRAMS.has(name) || spec?.recon) inv.a.facts.recon.push(inv.a.link(inv.ctx, `recon (${name})`));
  return out;
}

/** A program nobody described: judged by what its arguments name. */
function unknownProgram(inv: Invocation): Stream {
  judgeArgs(inv, inv.args);
  // netcat-shaped: a program given a shell to run *and* a host and port is wiring a shell to the network.
  const words = inv.args.map((f) => f.s);
  const shellOpt = words.findIndex((w, i) => /^-{1,2}(?:e|c|exec|execute|sh-exec)$/.test(w) && isShellPath(words[i + 1] ?? '') || /^--?(?:e|exec)=/.test(w) && isShellPath(w.replace(/^[^=]*=/, '')));
  const port = words.findIndex((w) => /^\d{2,5}$/.test(w));
  if (shellOpt >= 0 && port >= 0) {
    const listen = words.some((w) => /^-[a-z]*l[a-z]*$/.test(w) || w === '--listen');
    const host = words.find((w) => looksLikeHost(w)) ?? 'a remote host';
    if (listen) inv.a.add('bind-shell', 'critical', `${inv.name || 'the program'} serves a shell on port ${words[port]} (bind shell)`, undefined, inv.ctx);
    else inv.a.add('reverse-shell', 'critical', `${inv.name || 'the program'} connects a shell to ${host}:${words[port]} (reverse shell)`, undefined, inv.ctx);
  }
  if (inv.stdin.taint?.secret && /^(?:.*\/)?[\w.-]*(?:upload|send|exfil|post|beacon|agent|c2)[\w.-]*$/i.test(inv.path.s)) {
    inv.a.add('exfiltration', 'high', `feeds ${inv.stdin.taint.secret} to ${inv.name}`, undefined, inv.ctx);
  }
  return { ...UNKNOWN_STREAM, desc: inv.name || undefined };
}

function produce(inv: Invocation): Stream {
  const args = inv.args;
  let taint: Taint | null = null;
  let exact = true;
  for (const f of args) {
    taint = mergeTaint(taint, f.taint);
    exact &&= f.exact;
  }
  let text: string;
  if (inv.name === 'printf') {
    let rest = args;
    if (rest[0]?.s === '-v') rest = rest.slice(2);
    if (rest[0]?.s === '--') rest = rest.slice(1);
    text = rest.length ? printfFormat(rest[0]!.s, rest.slice(1).map((f) => f.s)) : '';
  } else {
    let i = 0;
    let esc = false;
    let nl = true;
    for (; i < args.length; i++) {
      const s = args[i]!.s;
      if (!/^-[neE]+$/.test(s)) break;
      if (s.includes('n')) nl = false;
      if (s.includes('e')) esc = true;
      if (s.includes('E')) esc = false;
    }
    text = args.slice(i).map((f) => f.s).join(' ');
    if (esc) {
      const d = decodeEchoEscapes(text);
      text = d.text;
      if (d.stop) nl = false;
    }
    if (nl) text += '\n';
  }
  return { text: exact ? text : null, taint, src: 'literal' };
}

/** Table entries without custom logic: positional roles and option roles. */
function declarative(inv: Invocation): Stream {
  const spec = inv.spec!;
  const p = parseArgs(inv.args, [...(spec.val ?? []), ...(spec.reads ?? []), ...(spec.writes ?? []), ...(spec.execs ?? [])]);
  for (const o of p.opts) {
    if (!o.value) continue;
    if (spec.execs?.includes(o.name)) runShellCode(inv, o.value, `${inv.name} ${o.name}`);
    else if (spec.writes?.includes(o.name)) writeFile(inv, o.value, UNKNOWN_STREAM, false, 'option');
    else if (spec.reads?.includes(o.name)) openForRead(inv.a, o.value, inv.ctx, 'option');
  }
  const val = [...(spec.val ?? []), ...(spec.reads ?? []), ...(spec.writes ?? []), ...(spec.execs ?? [])];
  switch (spec.kind) {
    case 'producer':
      return produce(inv);
    case 'reader':
    case 'pager':
    case 'transform':
    case 'search': {
      judgeArgs(inv, inv.args, { positionals: 'skip', val });
      if (spec.pos !== 'read' && spec.pos !== undefined) return UNKNOWN_STREAM;
      const st = derived(readFiles(inv, p.pos, inv.name), null);
      // `sort -o FILE`, `uniq in out`-style outputs of filters.
      const oi = inv.args.findIndex((f) => f.s === '-o' || f.s === '--output');
      const o = (oi >= 0 ? inv.args[oi + 1] : undefined) ?? inv.args.find((f) => /^--output=/.test(f.s));
      if (o) {
        writeFile(inv, { ...o, s: o.s.replace(/^--output=/, '') }, st, false, inv.name);
        return NO_STREAM;
      }
      return st;
    }
    case 'editor':
      for (const f of p.pos.slice(0, 8)) {
        openForRead(inv.a, f, inv.ctx, inv.name);
        writeFile(inv, f, UNKNOWN_STREAM, false, 'editor');
      }
      return NO_STREAM;
    case 'writer': {
      if (spec.pos === 'write') for (const f of p.pos.slice(0, 32)) writeFile(inv, f, { text: null, taint: null, src: 'literal' }, true, inv.name);
      // `touch -r /bin/ls file`, `touch -t 200101010000 file`: faking timestamps outside the project.
      const ref = inv.name === 'touch' ? p.opts.find((o) => (o.name === '-r' || o.name === '--reference' || o.name === '-t' || o.name === '-d' || o.name === '--date') && o.value) : undefined;
      if (ref && p.pos.some((f) => !inv.a.kb.inWorkspace(resolveField(inv.a, f, inv.ctx)?.abs ?? ''))) {
        inv.a.add('security-tampering', 'medium', `touch ${ref.name} ${display(ref.value!.s)}: forges file timestamps outside the workspace (hides changes)`, undefined, inv.ctx);
      }
      return NO_STREAM;
    }
    case 'meta':
    case 'benign':
      judgeArgs(inv, inv.args, { positionals: 'skip', val });
      return UNKNOWN_STREAM;
    default:
      if (spec.pos === 'read') return derived(readFiles(inv, p.pos, inv.name), null);
      judgeArgs(inv, inv.args, spec.pos === 'none' ? { positionals: 'skip', val } : {});
      return UNKNOWN_STREAM;
  }
}

