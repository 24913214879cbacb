/**
 * File operations judged by *which* paths they touch: deletion (rm, shred, find -delete), copies and
 * moves, links, raw writes (dd, truncate, tee), permission and ownership changes.
 *
 * Threats: recursive deletion of `/`, the home directory, system directories or the workspace root
 * (however the path is spelled: `/*`, `~`, `$HOME/`, `.` at the workspace root); wiping logs and
 * history; planting files in persistence locations through a copy; setuid bits; raw disk writes.
 * Deleting build output inside the workspace is the everyday case and must stay quiet.
 */
import { openForRead, resolveField } from '../files.js';
import { hasGlobChars, UNKNOWN } from '../glob.js';
import { basename, display, type Field, type Invocation, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { normalize } from '../pathkb.js';
import type { Risk } from '../types.js';
import { flag, hasOpt, optValue, parseArgs } from './args.js';
import { isShellName, writeFile } from './common.js';

const SYSTEM_TREES = /^\/(?:etc|usr|bin|sbin|lib|lib32|lib64|libx32|boot|var\/lib|opt|srv|root|snap|sys|proc|dev)(?:\/|$)/;
const CACHE_DIRS = /\/(?:\.cache|\.npm\/_cacache|\.cargo\/registry|\.gradle\/caches|\.m2\/repository|\.local\/share\/Trash|node_modules|__pycache__)(?:\/|$)/;

/** The literal directory prefix of a pattern (`/home/dev/*.log` -> `/home/dev`). */
function literalBase(abs: string): { base: string; wild: boolean; tail: string } {
  const parts = abs.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    if (seg.includes(UNKNOWN) || hasGlobChars(seg)) {
      const tail = parts.slice(i).join('/');
      return { base: normalize('/' + out.filter(Boolean).join('/')) || '/', wild: true, tail };
    }
    out.push(seg);
  }
  return { base: abs, wild: false, tail: '' };
}

/** Effects of deleting (or moving away, or shredding) one path. */
export function deleteEffects(inv: Invocation, f: Field, recursive: boolean, how: string): void {
  const { a, ctx } = inv;
  if (f.s === '') return;
  const p = resolveField(a, f, ctx);
  if (!p) return;
  const abs = p.abs;
  const c = p.info.classes;
  const kb = a.kb;
  const verb = how;
  if (abs.startsWith(UNKNOWN)) {
    if (recursive) a.add('destroy', 'medium', `${verb} recursively a path that cannot be determined (${display(f.s)})`, { suggestion: 'use a literal path, or check the variable is set: rm -rf -- "${DIR:?}/build"' }, ctx);
    return;
  }
  const { base, wild, tail } = p.pattern ? literalBase(abs) : { base: abs, wild: false, tail: '' };
  const allChildren = wild && /^(?:\*|\.\*|\*\*|\uE000|\*\/?)$/.test(tail);
  // `rm -r /x` and `rm /x/*` take everything; `rm -r /x/*.log` takes only what matches.
  const broad = allChildren || (recursive && !wild);
  const target = wild ? base : abs;
  const forget = (): void => {
    for (const k of [...ctx.env.files.keys()]) if (k === target || k.startsWith(target + '/')) ctx.env.files.delete(k);
  };
  forget();
  // Whole filesystem, system trees, home, workspace root.
  if (target === '/' && (broad || !wild && recursive)) {
    a.add('destroy', 'critical', `${verb} ${wild ? 'everything under /' : '/'}: the entire filesystem`, undefined, ctx);
    return;
  }
  if (kb.isSystemRoot(target) && broad) {
    a.add('destroy', 'critical', `${verb} ${recursive ? 'recursively ' : ''}the system directory ${target}${wild ? '/' + tail : ''}`, undefined, ctx);
    return;
  }
  const home = kb.home;
  if ((target === home || home.startsWith(target + '/')) && (broad || !wild && target === home)) {
    a.add('destroy', 'critical', `${verb} ${target === home ? 'the home directory' : target}${wild ? '/' + tail : ''}`, undefined, ctx);
    return;
  }
  const ws = kb.workspace;
  if ((target === ws || ws.startsWith(target + '/')) && (broad || !wild && target === ws)) {
    a.add('destroy', 'high', `${verb} the workspace root ${target}${wild ? '/' + tail : ''} (the whole project)`, { suggestion: 'delete the specific build outputs instead (rm -rf dist build)' }, ctx);
    return;
  }
  // By what the path is.
  if (c.has('boot')) return void a.add('destroy', 'critical', `${verb} ${abs} (boot files)`, undefined, ctx);
  if (c.has('warden') || c.has('agent-config')) return void a.add('security-tampering', 'high', `${verb} ${abs} (${p.info.what})`, undefined, ctx);
  if (c.has('log') || c.has('history')) return void a.add('security-tampering', 'high', `${verb} ${abs} (${p.info.what}): destroys the audit trail`, undefined, ctx);
  if (c.has('secret') || c.has('secret-dir')) return void a.add('destroy', 'high', `${verb} ${abs} (${p.info.what})`, undefined, ctx);
  if (c.has('privesc') || c.has('preload')) return void a.add('destroy', 'high', `${verb} ${abs} (${p.info.what})`, undefined, ctx);
  if (c.has('tmp') || /^\/(?:tmp|var\/tmp|dev\/shm)(?:\/|$)/.test(target)) return;
  if (/\/\.git$/.test(target) && broad) {
    a.add('destroy', 'medium', `${verb} ${target} (the repository's history)`, undefined, ctx);
    return;
  }
  if (kb.inWorkspace(target)) return;
  if (CACHE_DIRS.test(target)) {
    a.add('destroy', 'low', `${verb} ${target} (a cache, outside the workspace)`, undefined, ctx);
    return;
  }
  if (SYSTEM_TREES.test(target) || c.has('system-bin') || c.has('system-config')) {
    a.add('destroy', broad ? 'critical' : 'high', `${verb} ${abs} (${p.info.what || 'system files'})`, undefined, ctx);
    return;
  }
  if (c.has('persistence')) {
    a.add('system-modify', 'medium', `${verb} ${abs} (${p.info.what})`, undefined, ctx);
    return;
  }
  const risk: Risk = broad ? 'high' : 'medium';
  a.add('destroy', risk, `${verb} ${broad ? 'recursively ' : ''}${abs}, outside the workspace`, undefined, ctx);
}

/** rm, unlink, rmdir, shred, srm, wipe. */
export function rm(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const recursive = flag(inv.args, 'r', '--recursive') || flag(inv.args, 'R');
  const shred = /^(?:shred|srm|wipe)$/.test(inv.name);
  if (hasOpt(p, '--no-preserve-root')) inv.a.add('destroy', 'critical', 'rm --no-preserve-root: disables the guard against deleting /', undefined, inv.ctx);
  const verb = shred ? 'shreds' : inv.name === 'rmdir' ? 'removes directory' : 'deletes';
  for (const f of p.pos.slice(0, 64)) deleteEffects(inv, f, recursive || (shred && flag(inv.args, 'r')), verb);
  return NO_STREAM;
}

const WRITE_CLASSES = new Set(['persistence', 'privesc', 'preload', 'system-bin', 'agent-config', 'warden', 'log', 'boot']);

/** Where a copy/move lands: `dest/` or a known directory means `dest/<basename>`. */
function landing(inv: Invocation, dest: Field, src: Field, intoDir: boolean): Field {
  const base = basename(src.s.replace(/\/+$/, ''));
  if (intoDir || dest.s.endsWith('/')) return { ...dest, s: dest.s.replace(/\/+$/, '') + '/' + base };
  const self = resolveField(inv.a, dest, inv.ctx);
  if (self && !self.pattern && base && !base.includes(UNKNOWN)) {
    // Only a *directory* the knowledge base knows (cron.d, autostart, sudoers.d) changes the verdict.
    const child = inv.a.kb.classify(self.abs + '/' + base);
    const gained = [...child.classes].filter((c) => !self.info.classes.has(c) && WRITE_CLASSES.has(c));
    if (gained.length > 0) return { ...dest, s: self.abs + '/' + base };
  }
  return dest;
}

function setuidMode(mode: string): boolean {
  if (/^0*[0-7]{3,4}$/.test(mode)) {
    const m = mode.replace(/^0+(?=[0-7]{4}$)/, '');
    return m.length === 4 && '234567'.includes(m[0]!);
  }
  return /(?:^|,)[ugoa]*[+=][rwxXt]*s/.test(mode);
}

function worldWritableMode(mode: string): boolean {
  if (/^0*[0-7]{3,4}$/.test(mode)) return '2367'.includes(mode[mode.length - 1]!);
  return /(?:^|,)[ug]*[oa][ugoa]*[+=][rwxXst]*w/.test(mode);
}

function addsExec(mode: string): boolean {
  if (/^0*[0-7]{3,4}$/.test(mode)) return '1357'.includes(mode[mode.length - 3]!);
  return /(?:^|,)[ugoa]*[+=][rwXst]*x/.test(mode);
}

/** cp, mv, install, ln, link. */
export function copy(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const val = [...(inv.spec?.val ?? [])];
  if (name === 'install') val.push('-m', '--mode', '-o', '--owner', '-g', '--group');
  const p = parseArgs(inv.args, val);
  const tdir = optValue(p, '-t', '--target-directory');
  const pos = p.pos;
  if (pos.length === 0 || (!tdir && pos.length < 2)) return NO_STREAM;
  const dest = tdir ?? pos[pos.length - 1]!;
  const srcs = tdir ? pos : pos.slice(0, -1);
  const intoDir = !!tdir || srcs.length > 1;
  let out: Stream = NO_STREAM;
  if (name === 'ln' || name === 'link') {
    for (const s of srcs) {
      const to = landing(inv, dest, s, intoDir);
      const target = resolveField(a, to, ctx);
      const from = resolveField(a, s, ctx);
      if (!target || !from) continue;
      const tc = target.info.classes;
      if ((tc.has('history') || tc.has('log')) && from.info.classes.has('null-device')) {
        a.add('security-tampering', 'high', `links ${target.abs} (${target.info.what}) to ${from.abs}: nothing is recorded any more`, undefined, ctx);
      } else if (from.info.classes.has('secret') && !tc.has('secret')) {
        a.add('read-secret', 'medium', `links ${from.abs} (${from.info.what}) to ${target.abs}, exposing it`, undefined, ctx);
      } else {
        writeFile(inv, to, UNKNOWN_STREAM, false, 'link');
      }
      if (!target.pattern && !from.pattern) {
        const prev = ctx.env.files.get(from.abs);
        ctx.env.files.set(target.abs, { text: prev?.text ?? null, taint: prev?.taint ?? null, linkTo: prev?.linkTo ?? from.abs, written: a.link(ctx, 'link') });
      }
    }
    return NO_STREAM;
  }
  const mode = optValue(p, '-m', '--mode');
  for (const s of srcs.slice(0, 32)) {
    const content = s.s === '-' ? inv.stdin : openForRead(a, s, ctx, name);
    const to = landing(inv, dest, s, intoDir);
    const toAbs = resolveField(a, to, ctx);
    if (toAbs && /^\/dev\/(?:stdout|stderr|fd\/[12])$/.test(toAbs.abs)) {
      out = content;
      continue;
    }
    writeFile(inv, to, content, false, name === 'mv' ? 'move' : 'copy');
    // The copy of a session-written file keeps what is known about it.
    const fromAbs = resolveField(a, s, ctx);
    const known = fromAbs ? ctx.env.files.get(fromAbs.abs) : undefined;
    if (!known && fromAbs && !fromAbs.pattern && toAbs && !toAbs.pattern && a.cfg.binPaths.includes(fromAbs.abs)) {
      const fi = ctx.env.files.get(toAbs.abs);
      if (fi) fi.linkTo = fromAbs.abs;
      if (isShellName(fromAbs.abs) && basename(toAbs.abs) !== basename(fromAbs.abs) && !a.kb.inWorkspace(toAbs.abs)) {
        a.add('privilege-escalation', 'medium', `copies the shell ${fromAbs.abs} to ${toAbs.abs} (a shell under another name)`, undefined, ctx);
      }
    }
    if (known && toAbs && !toAbs.pattern) {
      const fi = ctx.env.files.get(toAbs.abs);
      if (fi) {
        if (known.downloaded) fi.downloaded = known.downloaded;
        if (known.executable || flag(inv.args, 'p', '--preserve', '-a', '--archive')) fi.executable = known.executable;
      }
    }
    if (name === 'mv') deleteEffects(inv, s, false, 'moves away');
  }
  if (mode && setuidMode(mode.s)) a.add('privilege-escalation', 'high', `${name} -m ${mode.s} installs a setuid/setgid program`, undefined, ctx);
  return out;
}

/** `dd if=X of=Y`. */
export function dd(inv: Invocation): Stream {
  const { a, ctx } = inv;
  let input: Stream = inv.stdin;
  let of: Field | null = null;
  for (const f of inv.args) {
    const m = /^(if|of)=(.*)$/s.exec(f.s);
    if (!m) continue;
    const v: Field = { ...f, s: m[2]! };
    if (m[1] === 'if') {
      const r = resolveField(a, v, ctx);
      if (r?.info.classes.has('disk-device')) a.add('read-secret', 'high', `reads the raw disk ${r.abs} (every file on it, bypassing permissions)`, undefined, ctx);
      input = openForRead(a, v, ctx, 'dd');
    } else of = v;
  }
  if (!of) return input;
  writeFile(inv, of, input, false, 'dd');
  return NO_STREAM;
}

export function truncate(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const size = optValue(p, '-s', '--size')?.s ?? '';
  for (const f of p.pos) {
    if (/^[<]?0+[KMGkmg]?$|^-/.test(size)) writeFile(inv, f, { text: '', taint: null, src: 'literal' }, false, 'truncate');
    else writeFile(inv, f, UNKNOWN_STREAM, true, 'truncate');
  }
  return NO_STREAM;
}

export function tee(inv: Invocation): Stream {
  const p = parseArgs(inv.args, []);
  const append = hasOpt(p, '-a', '--append');
  for (const f of p.pos) writeFile(inv, f, inv.stdin, append, 'tee');
  return inv.stdin;
}

/** chmod: setuid bits, world-writable modes, making session downloads executable. */
export function chmod(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  let pos = p.pos;
  // Modes like `-x` / `-w` parse as options; recover them.
  let mode = pos[0]?.s ?? '';
  const dashMode = p.opts.find((o) => /^-[rwxXst]$/.test(o.name));
  if (dashMode && !/^[0-7]+$|[+=-]/.test(mode)) mode = '-' + p.opts.filter((o) => /^-[rwxXst]$/.test(o.name)).map((o) => o.name.slice(1)).join('');
  else pos = pos.slice(1);
  const recursive = flag(inv.args, 'R', '--recursive');
  const suid = setuidMode(mode);
  const worldWritable = worldWritableMode(mode);
  const plusX = addsExec(mode);
  for (const f of pos.slice(0, 32)) {
    const r = resolveField(a, f, ctx);
    if (!r) continue;
    const c = r.info.classes;
    if (suid) {
      const isShell = /(?:^|\/)(?:ba|da|z|k|c|tc|fi|a)?sh$|\/(?:python[\d.]*|perl|ruby|node|php|find|vim?|awk|env|cp|less|more|nmap|tar)$/.test(r.abs);
      a.add('privilege-escalation', isShell ? 'critical' : 'high', `sets the setuid/setgid bit on ${r.abs}${isShell ? ' (a shell or interpreter: instant root shell)' : ''}`, undefined, ctx);
      continue;
    }
    const homeOrAbove = r.abs === a.kb.home || a.kb.home.startsWith(r.abs + '/');
    if (r.abs === '/' || (a.kb.isSystemRoot(r.abs) || homeOrAbove) && recursive) {
      a.add('destroy', 'high', `changes permissions of ${r.abs}${recursive ? ' recursively' : ''}`, undefined, ctx);
      continue;
    }
    if (worldWritable) {
      const sensitive = c.has('privesc') || c.has('persistence') || c.has('system-bin') || c.has('system-config') || c.has('preload') || c.has('secret');
      a.add('permissions', sensitive ? 'high' : 'low', `makes ${r.abs} writable by every user${sensitive ? ` (${r.info.what})` : ''}`, { suggestion: `chmod ${recursive ? '-R ' : ''}755 ${f.s} (or 644 for files that need no execute bit)` }, ctx);
    } else if (c.has('secret') && /^0?[0-7][4-7][4-7]$|(?:^|,)[oa]*[go]\+r/.test(mode)) {
      a.add('permissions', 'low', `makes ${r.abs} (${r.info.what}) readable by others`, undefined, ctx);
    } else if (!a.kb.inWorkspace(r.abs) && !c.has('tmp') && (c.has('system-bin') || c.has('system-config') || c.has('privesc'))) {
      a.add('system-modify', 'medium', `changes permissions of ${r.abs} (${r.info.what})`, undefined, ctx);
    }
    if (plusX && !r.pattern) {
      const fi = ctx.env.files.get(r.abs);
      if (fi) fi.executable = a.link(ctx, 'made executable');
      else ctx.env.files.set(r.abs, { text: null, taint: null, executable: a.link(ctx, 'made executable') });
    }
  }
  return NO_STREAM;
}

/** chown/chgrp/setfacl: handing system files to the user, or files to root before a setuid. */
export function chown(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const acl = name === 'setfacl';
  const spec = acl ? optValue(p, '-m', '--modify', '--set')?.s ?? '' : p.pos[0]?.s ?? '';
  const files = acl ? p.pos : p.pos.slice(1);
  const recursive = flag(inv.args, 'R', '--recursive');
  for (const f of files.slice(0, 32)) {
    const r = resolveField(a, f, ctx);
    if (!r) continue;
    const c = r.info.classes;
    if (c.has('privesc') || c.has('preload') || c.has('secret') && !a.kb.inHome(r.abs) && !a.kb.inWorkspace(r.abs)) {
      a.add('privilege-escalation', 'critical', `${name} ${display(spec)} ${r.abs} (${r.info.what}): hands a security-critical file to another owner`, undefined, ctx);
    } else if (r.abs === '/' || (a.kb.isSystemRoot(r.abs) && recursive)) {
      a.add('destroy', 'high', `changes ownership of ${r.abs}${recursive ? ' recursively' : ''}`, undefined, ctx);
    } else if (c.has('system-bin') || c.has('system-config') || c.has('persistence') && !a.kb.inWorkspace(r.abs)) {
      a.add('system-modify', 'medium', `changes ownership of ${r.abs} (${r.info.what})`, undefined, ctx);
    } else if (/^(?:root|0)(?::|$)/.test(spec) && !a.kb.inWorkspace(r.abs)) {
      a.add('privilege-escalation', 'low', `gives ${r.abs} to root`, undefined, ctx);
    }
  }
  return NO_STREAM;
}

export function chattr(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const attrs = inv.args.find((f) => /^[-+=][aAcCdDeFijmPsStTux]+$/.test(f.s))?.s ?? '';
  const files = inv.args.filter((f) => !/^[-+=]/.test(f.s));
  for (const f of files) {
    const r = resolveField(a, f, ctx);
    if (!r) continue;
    if (/^-.*[ai]/.test(attrs) && (r.info.classes.has('log') || r.info.classes.has('history'))) a.add('security-tampering', 'high', `removes append-only/immutable protection from ${r.abs}`, undefined, ctx);
    else if (/[ai]/.test(attrs) && !a.kb.inWorkspace(r.abs)) a.add('security-tampering', 'medium', `chattr ${attrs} ${r.abs}: changes immutable/append-only flags (locks files against removal)`, undefined, ctx);
  }
  return NO_STREAM;
}

export function setcap(inv: Invocation): Stream {
  const caps = inv.args.map((f) => f.s).join(' ');
  const dangerous = /cap_(?:setuid|setgid|sys_admin|sys_ptrace|dac_override|dac_read_search|sys_module|chown|fowner)/i.test(caps);
  inv.a.add('privilege-escalation', dangerous ? 'critical' : 'high', `setcap grants file capabilities (${display(caps)})`, undefined, inv.ctx);
  return NO_STREAM;
}

export function getcap(inv: Invocation): Stream {
  if (inv.args.some((f) => f.s === '-r')) {
    inv.a.facts.recon.push(inv.a.link(inv.ctx, 'capability search'));
    inv.a.add('recon', 'medium', 'searches the filesystem for programs with capabilities (privilege-escalation recon)', undefined, inv.ctx);
  }
  return UNKNOWN_STREAM;
}

/** mkfs, wipefs, blkdiscard: filesystem creation destroys what is on the target. */
export function mkfs(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const target = [...inv.args].reverse().find((f) => !f.s.startsWith('-'));
  const r = target ? resolveField(a, target, ctx) : null;
  if (r && !r.abs.startsWith('/dev/') && a.kb.inWorkspace(r.abs)) {
    a.add('disk-write', 'low', `${inv.name} formats the image file ${r.abs}`, undefined, ctx);
  } else {
    a.add('destroy', 'critical', `${inv.name} formats ${r ? r.abs : 'a device'}: erases everything on it`, undefined, ctx);
  }
  return NO_STREAM;
}

export function partition(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const words = inv.args.map((f) => f.s);
  if (words.some((w) => w === '-l' || w === '--list' || w === 'print' || w === '-p' && name === 'sgdisk' || w === 'status' || w === 'list' || w === '-I')) {
    return UNKNOWN_STREAM;
  }
  const critical = name === 'cryptsetup' ? words.some((w) => /^(?:luksFormat|erase|luksErase)$/.test(w)) : name === 'hdparm' ? words.some((w) => /security-erase|--trim-sector-ranges|--write-sector/.test(w)) : true;
  a.add('destroy', critical ? 'critical' : 'high', `${name} changes disk partitions or volumes (${display(words.join(' '))})`, undefined, ctx);
  return NO_STREAM;
}

export function mount(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  if (p.pos.length === 0 && p.opts.every((o) => o.name === '-l' || o.name === '-t')) return UNKNOWN_STREAM;
  const bind = hasOpt(p, '--bind', '-B', '--rbind') || /\bbind\b/.test(optValue(p, '-o')?.s ?? '');
  const target = p.pos[p.pos.length - 1];
  const r = target ? resolveField(a, target, ctx) : null;
  if (bind && r && (r.info.classes.has('system-bin') || r.info.classes.has('privesc') || r.info.classes.has('persistence'))) {
    a.add('privilege-escalation', 'high', `bind-mounts over ${r.abs} (${r.info.what}): replaces what runs there`, undefined, ctx);
  } else {
    a.add('system-modify', 'medium', `mounts a filesystem${r ? ` on ${r.abs}` : ''}`, undefined, ctx);
  }
  return NO_STREAM;
}

/** `sshfs host:dir MOUNTPOINT`: remote content appears locally (possibly over persistence paths). */
export function sshfs(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, ['-o', '-p', '-F']);
  for (const v of p.opts.filter((o) => o.name === '-o' && o.value)) {
    const m = /(?:^|,)(?:ssh_command|sshfs_sync|ssh_protocol|directport)=([^,]+)/.exec(v.value!.s);
    if (m && m[0].includes('ssh_command')) a.runSource(m[1]!, { ...ctx, depth: ctx.depth + 1, via: 'sshfs ssh_command' });
  }
  const mp = p.pos[1];
  const r = mp ? resolveField(a, mp, ctx) : null;
  a.add('network-egress', 'medium', `mounts a remote filesystem (${display(p.pos[0]?.s ?? '?')})`, undefined, ctx);
  if (r) {
    const c = r.info.classes;
    if (c.has('persistence') || c.has('privesc') || c.has('system-bin') || c.has('system-config')) {
      a.add('write-persistence', 'critical', `mounts remote content over ${r.abs} (${r.info.what})`, undefined, ctx);
    }
    ctx.env.files.set(r.abs, { text: null, taint: { remote: p.pos[0]?.s ?? 'remote', links: [a.link(ctx, 'remote mount')] }, downloaded: a.link(ctx, 'remote mount') });
  }
  return NO_STREAM;
}

