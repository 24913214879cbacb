/**
 * Programs that run other programs: `nice`/`timeout`/`nohup`-style wrappers, `env`, privilege
 * wrappers (`sudo`, `su`, `doas`, `pkexec`), `xargs`, `find -exec`, `parallel`, `watch`,
 * `systemd-run`, `run-parts`.
 *
 * Threat: a wrapper hides the program that really runs (`nice -n 5 /bin/sh`, `find . -exec sh \;`,
 * `echo /etc/shadow | xargs cat`). Every wrapped argv is analysed as if typed directly, one level
 * deeper; privilege wrappers add their own effect and mark the nested context privileged.
 */
import { resolveField } from '../files.js';
import { UNKNOWN } from '../glob.js';
import { SECRET_SEARCH_NAMES } from '../kb/paths.js';
import { compileGlob } from '../glob.js';
import { display, type Field, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM, unknownField } from '../model.js';
import { hasOpt, optValue, parseArgs } from './args.js';
import { checkPrefixEnv } from '../assign.js';
import { judgeArgs, nested, readFiles, runNestedArgv, runShellCode, writeFile } from './common.js';

/** Plain wrappers: options, `lead` fixed positionals (timeout's duration), then the command. */
export function wrapper(inv: Invocation): Stream {
  const spec = inv.spec;
  const p = parseArgs(inv.args, spec?.val ?? [], { stopAtPositional: true });
  for (const o of p.opts) {
    if (!o.value) continue;
    if (spec?.execs?.includes(o.name)) runShellCode(inv, o.value, `${inv.name} ${o.name}`);
    else if (spec?.writes?.includes(o.name)) writeFile(inv, o.value, UNKNOWN_STREAM, false, 'option');
  }
  // Option values before the command (`ltrace -F FILE`, `strace -o FILE`).
  judgeArgs(inv, inv.args.slice(0, inv.args.length - p.rest.length), { positionals: 'skip', val: spec?.val ?? [] });
  const lead = spec?.lead ?? 0;
  const rest = p.rest.slice(lead);
  if (rest.length === 0) {
    if (spec?.shellIfEmpty) inv.a.add('shell-escape', 'high', `${inv.name} with no command starts a shell`, undefined, inv.ctx);
    return NO_STREAM;
  }
  return runNestedArgv(inv, rest, inv.name);
}

/** Wrappers whose command is an option value (`script -c CMD`, `start-stop-daemon --exec PROG`). */
export function optwrapper(inv: Invocation): Stream {
  const spec = inv.spec;
  const p = parseArgs(inv.args, [...(spec?.val ?? []), ...(spec?.execs ?? [])]);
  let out: Stream = NO_STREAM;
  for (const o of p.opts) {
    if (o.value && spec?.execs?.includes(o.name)) {
      out = o.value.s.includes(' ') ? runShellCode(inv, o.value, `${inv.name} ${o.name}`) : runNestedArgv(inv, [o.value, ...p.pos.filter((f) => !f.s.startsWith('-'))], `${inv.name} ${o.name}`);
    }
  }
  if (spec?.pos === 'write') for (const f of p.pos.slice(0, 1)) writeFile(inv, f, UNKNOWN_STREAM, false, 'log');
  if (inv.name === 'script' && !p.opts.some((o) => spec?.execs?.includes(o.name))) {
    inv.a.add('shell-escape', inv.ctx.depth > 0 ? 'high' : 'medium', 'script starts an interactive shell (recorded to a file)', undefined, inv.ctx);
  }
  return out;
}

/** screen: `-dm CMD` runs detached; `-L [-Logfile FILE]` copies the command's output into FILE. */
export function screen(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  let rest = p.rest;
  let log = optValue(p, '-Logfile');
  // Old screen: `screen -L FILE CMD`.
  if (!log && hasOpt(p, '-L') && rest[0] && rest[0].s.includes('/') && rest.length > 1) {
    log = rest[0];
    rest = rest.slice(1);
  }
  const out = rest.length ? runNestedArgv(inv, rest, 'screen') : NO_STREAM;
  if (log) writeFile(inv, log, out, true, 'screen log');
  return NO_STREAM;
}

/** tmux: `new -d 'CMD'`, `new-window CMD`, `run-shell CMD`, `send-keys 'CMD' Enter`. */
export function tmux(inv: Invocation): Stream {
  const args = inv.args;
  const k = args.findIndex((f) => /^(?:new|new-session|new-window|neww|split-window|splitw|run-shell|run|send-keys|send|respawn-pane|respawnp|respawn-window|respawnw|display-popup|popup)$/.test(f.s));
  if (k < 0) return NO_STREAM;
  const sub = args[k]!.s;
  const p = parseArgs(args.slice(k + 1), ['-s', '-n', '-t', '-c', '-e', '-F', '-x', '-y', '-l', '-p', '-w', '-h', '-T']);
  const words = p.pos.filter((f) => !/^(?:Enter|C-m|KPEnter)$/.test(f.s));
  if (words.length === 0) return NO_STREAM;
  const code: Field = { s: words.map((f) => f.s).join(' '), exact: words.every((f) => f.exact), glob: false, quoted: false, taint: words.find((f) => f.taint)?.taint ?? null };
  return runShellCode(inv, code, `tmux ${sub}`);
}

/** `perf stat CMD`, `perf record -- CMD`: a subcommand, its options, then the command. */
export function subwrapper(inv: Invocation): Stream {
  const [sub, ...rest] = inv.args;
  if (!sub) return NO_STREAM;
  const p = parseArgs(rest, inv.spec?.val ?? [], { stopAtPositional: true });
  for (const o of p.opts) if (o.value && inv.spec?.writes?.includes(o.name)) writeFile(inv, o.value, UNKNOWN_STREAM);
  if (/^(?:stat|record|trace|top|mem|sched|kvm|c2c|lock|timechart)$/.test(sub.s) && p.rest.length) return runNestedArgv(inv, p.rest, `${inv.name} ${sub.s}`);
  return NO_STREAM;
}

/** `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE...] [CMD...]`. */
export function env(inv: Invocation): Stream {
  const { a } = inv;
  const args = inv.args;
  const assigns = new Map<string, Field>();
  const ctx = nested(inv, 'env');
  ctx.env = inv.ctx.env.clone();
  let i = 0;
  let split: Field | null = null;
  for (; i < args.length; i++) {
    const s = args[i]!.s;
    if (s === '--') {
      i++;
      break;
    }
    if (s === '-u' || s === '--unset' || s === '-C' || s === '--chdir') {
      i++;
      continue;
    }
    if (s === '-S' || s === '--split-string') {
      split = args[i + 1] ?? null;
      i += 2;
      break;
    }
    if (s.startsWith('-S') && s.length > 2) {
      split = { ...args[i]!, s: s.slice(2) };
      i++;
      break;
    }
    if (s.startsWith('-')) continue;
    const m = /^([A-Za-z_][\w]*)=(.*)$/s.exec(s);
    if (m) {
      const f: Field = { ...args[i]!, s: m[2]! };
      assigns.set(m[1]!, f);
      ctx.env.vars.set(m[1]!, { vals: [f.s], exact: f.exact, taint: f.taint });
      continue;
    }
    break;
  }
  let cmd = args.slice(i);
  if (split) {
    const words = split.s.split(/\s+/).filter(Boolean).map((w) => ({ ...split!, s: w }));
    cmd = [...words, ...cmd];
  }
  if (cmd.length === 0) {
    for (const [k, v] of assigns) checkPrefixEnv(a, k, v, inv.ctx);
    return { text: null, taint: { secret: 'environment variables (may hold tokens)', links: [a.link(inv.ctx, 'environment dump')] }, src: 'unknown' };
  }
  return a.runArgv(cmd, ctx, inv.stdin, assigns);
}

const TRIVIAL_SUDO = /^(?:true|:|-v|-k|-K|-n|id|whoami)$/;

/** `sudo`, `doas`, `pkexec`, `run0`: the command runs as root. */
export function sudo(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  const user = optValue(p, '-u', '--user');
  const who = user && user.s !== 'root' && user.s !== '0' && user.s !== '#0' ? `user ${display(user.s)}` : 'root';
  if (hasOpt(p, '-l', '--list')) {
    a.facts.recon.push(a.link(ctx, 'sudo privilege listing'));
    a.add('recon', 'low', `${name} -l lists what this user may run as root`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (hasOpt(p, '-e', '--edit')) {
    a.add('privilege-escalation', 'high', `${name} -e edits files as ${who}`, undefined, ctx);
    for (const f of p.rest) writeFile(inv, f, UNKNOWN_STREAM, false, 'sudoedit');
    return NO_STREAM;
  }
  if (p.rest.length === 0) {
    if (hasOpt(p, '-i', '--login', '-s', '--shell') || name === 'pkexec' || name === 'run0') {
      a.add('privilege-escalation', 'high', `${name} opens an interactive shell as ${who}`, undefined, ctx);
    } else if (!hasOpt(p, '-v', '--validate', '-k', '-K', '--reset-timestamp', '--remove-timestamp', '-V', '--version', '-h', '--help')) {
      a.add('privilege-escalation', 'low', `${name} without a command`, undefined, ctx);
    }
    return NO_STREAM;
  }
  const prog = p.rest[0]!.s;
  if (TRIVIAL_SUDO.test(prog) && p.rest.length === 1) {
    a.add('recon', 'low', `checks whether ${name} works without a password`, undefined, ctx);
    return NO_STREAM;
  }
  if (hasOpt(p, '-E', '--preserve-env') && inv.assigns.size === 0) {
    // Preserved environment reaching a root process is an injection vector only with loader variables.
  }
  a.add('privilege-escalation', 'medium', `runs ${display(prog)} as ${who} via ${name}`, undefined, ctx);
  if (hasOpt(p, '-S', '--stdin') && inv.stdin.text !== null) {
    a.add('read-secret', 'low', `feeds a password to ${name} on stdin (the password is in the command line)`, undefined, ctx);
  }
  return runNestedArgv(inv, p.rest, name, hasOpt(p, '-S', '--stdin') ? NO_STREAM : inv.stdin, { priv: who === 'root' || inv.ctx.priv });
}

/** `su [-] [user] [-c CMD] [-s SHELL]`. */
export function su(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const user = p.pos.find((f) => f.s !== '-')?.s ?? 'root';
  const cmd = optValue(p, '-c', '--command', '--session-command');
  if (!cmd) {
    a.add('privilege-escalation', 'high', `${name} opens an interactive shell as ${display(user)}`, undefined, ctx);
    return NO_STREAM;
  }
  a.add('privilege-escalation', 'medium', `runs a command as ${display(user)} via ${name}`, undefined, ctx);
  return runShellCode(inv, cmd, `${name} -c`, inv.stdin, { priv: user === 'root' || ctx.priv });
}

export function sg(inv: Invocation): Stream {
  const p = parseArgs(inv.args, ['-c']);
  const cmd = optValue(p, '-c') ?? (p.pos.length > 1 ? { ...p.pos[1]!, s: p.pos.slice(1).map((f) => f.s).join(' ') } : null);
  inv.a.add('privilege-escalation', 'low', `runs with the privileges of group ${display(p.pos[0]?.s ?? '?')}`, undefined, inv.ctx);
  if (!cmd) {
    inv.a.add('shell-escape', 'medium', `${inv.name} starts a new shell`, undefined, inv.ctx);
    return NO_STREAM;
  }
  return runShellCode(inv, cmd, inv.name);
}

export function newgrp(inv: Invocation): Stream {
  inv.a.add('shell-escape', 'medium', `${inv.name} starts a new shell with group ${display(inv.args[0]?.s ?? 'default')}`, undefined, inv.ctx);
  return NO_STREAM;
}

/** Items a stream carries, as argument fields: exact words when known, a pattern or unknown otherwise. */
function streamItems(st: Stream, delim: 'ws' | 'nul' | 'line' | string): Field[] {
  if (st.text !== null) {
    const parts = delim === 'nul' ? st.text.split('\0') : delim === 'line' ? st.text.split('\n') : delim === 'ws' ? st.text.split(/\s+/) : st.text.split(delim);
    return parts.filter((x) => x !== '').slice(0, 16).map((s) => ({ s, exact: true, glob: false, quoted: true, taint: st.taint }));
  }
  if (st.items && st.items.length) return st.items.map((f) => ({ ...f, taint: st.taint ?? f.taint }));
  return [unknownField(st.taint)];
}

/** `xargs [opts] [CMD [ARGS]]`: the command gets stdin's words as extra arguments. */
export function xargs(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  const argFile = optValue(p, '-a', '--arg-file');
  const source = argFile ? readFiles(inv, [argFile], 'xargs -a') : inv.stdin;
  const delim = hasOpt(p, '-0', '--null') ? 'nul' : optValue(p, '-d', '--delimiter')?.s ?? 'ws';
  const items = streamItems(source, delim === '\\n' ? 'line' : delim);
  const cmd = p.rest.length ? p.rest : [lit('echo')];
  const repl = optValue(p, '-I', '--replace', '-i')?.s ?? (hasOpt(p, '-i') ? '{}' : null);
  let out: Stream = NO_STREAM;
  if (repl) {
    for (const it of items.slice(0, 4)) {
      const argv = cmd.map((f) => (f.s.includes(repl) ? { ...f, s: f.s.split(repl).join(it.s), exact: f.exact && it.exact, glob: f.glob || it.glob, taint: it.taint ?? f.taint } : f));
      out = runNestedArgv(inv, argv, 'xargs', NO_STREAM);
    }
    return out;
  }
  return runNestedArgv(inv, [...cmd, ...items.slice(0, 16)], 'xargs', NO_STREAM);
}

/** `parallel [opts] CMD ::: ARGS` or `parallel ::: CMD1 CMD2`. */
export function parallel(inv: Invocation): Stream {
  const args = inv.args;
  const sep = args.findIndex((f) => f.s === ':::' || f.s === '::::');
  const head = sep < 0 ? args : args.slice(0, sep);
  const tail = sep < 0 ? [] : args.slice(sep + 1).filter((f) => f.s !== ':::');
  const p = parseArgs(head, inv.spec?.val ?? [], { stopAtPositional: true });
  if (p.rest.length === 0) {
    const cmds = tail.length ? tail : streamItems(inv.stdin, 'line');
    for (const c of cmds.slice(0, 4)) runShellCode(inv, c, 'parallel');
    return UNKNOWN_STREAM;
  }
  const items = tail.length ? tail : streamItems(inv.stdin, 'line');
  const template = p.rest.map((f) => f.s).join(' ');
  for (const it of items.slice(0, 4)) {
    const code = template.includes('{}') ? template.split('{}').join(it.s) : `${template} ${it.s}`;
    runShellCode(inv, { s: code, exact: p.rest.every((f) => f.exact) && it.exact, glob: false, quoted: false, taint: it.taint }, 'parallel');
  }
  return UNKNOWN_STREAM;
}

/** `watch [opts] CMD...`: the joined words run through `sh -c` (or exec with `-x`). */
export function watch(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  if (p.rest.length === 0) return NO_STREAM;
  if (hasOpt(p, '-x', '--exec')) return runNestedArgv(inv, p.rest, 'watch -x');
  return runShellCode(inv, { s: p.rest.map((f) => f.s).join(' '), exact: p.rest.every((f) => f.exact), glob: false, quoted: false, taint: p.rest.find((f) => f.taint)?.taint ?? null }, 'watch');
}

const TIMER_OPTS = ['--on-calendar', '--on-active', '--on-boot', '--on-startup', '--on-unit-active', '--on-unit-inactive', '--on-clock-change', '--on-timezone-change', '--timer-property'];

export function systemdRun(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { stopAtPositional: true });
  const user = hasOpt(p, '--user');
  if (p.opts.some((o) => TIMER_OPTS.includes(o.name))) {
    a.add('write-persistence', 'high', 'systemd-run schedules a command to run later (transient timer)', undefined, ctx);
  }
  if (hasOpt(p, '-S', '--shell')) {
    a.add('privilege-escalation', user ? 'medium' : 'high', `systemd-run --shell opens a shell${user ? '' : ' as root'}`, undefined, ctx);
    return NO_STREAM;
  }
  if (!user) a.add('privilege-escalation', 'medium', 'systemd-run starts the command as a system service (root)', undefined, ctx);
  return runNestedArgv(inv, p.rest, 'systemd-run', inv.stdin, { priv: !user });
}

/** `run-parts [--regex RE] DIR`: runs every (matching) program in DIR. */
export function runParts(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const dir = p.pos[0];
  if (!dir) return NO_STREAM;
  const re = optValue(p, '--regex');
  let regex: RegExp | null = null;
  try {
    regex = re ? new RegExp(re.s) : null;
  } catch {
    regex = null;
  }
  const d = dir.s.replace(/\/+$/, '');
  const cands = a.cfg.binPaths.filter((b) => b.startsWith(d + '/') && !b.slice(d.length + 1).includes('/') && (regex ? regex.test(b.slice(d.length + 1)) : false));
  if (cands.length > 0 && cands.length <= 4) {
    for (const c of cands) runNestedArgv(inv, [lit(c)], 'run-parts', NO_STREAM);
    return UNKNOWN_STREAM;
  }
  const r = resolveField(a, dir, ctx);
  if (!r || !a.kb.inWorkspace(r.abs)) a.add('exec-untrusted', 'medium', `run-parts runs every program in ${display(dir.s)}`, undefined, ctx);
  return UNKNOWN_STREAM;
}

const FIND_VAL = new Set([
  '-name', '-iname', '-path', '-ipath', '-wholename', '-iwholename', '-regex', '-iregex', '-lname', '-ilname', '-type', '-xtype', '-user',
  '-group', '-uid', '-gid', '-size', '-perm', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-newer', '-anewer', '-cnewer',
  '-newermt', '-newerat', '-newerct', '-maxdepth', '-mindepth', '-links', '-inum', '-samefile', '-used', '-fstype', '-context', '-printf',
  '-regextype', '-D', '-files0-from',
]);

/** `find ROOTS EXPR`: -exec/-execdir/-ok payloads, -delete, -fprint writes, SUID and credential hunts. */
export function find(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const args = inv.args;
  let i = 0;
  while (i < args.length && /^-[HLP]$|^-O\d$/.test(args[i]!.s)) i++;
  if (args[i]?.s === '-D') i += 2;
  const roots: Field[] = [];
  for (; i < args.length; i++) {
    const s = args[i]!.s;
    if (s.startsWith('-') || s === '(' || s === '!' || s === ',') break;
    roots.push(args[i]!);
  }
  if (roots.length === 0) roots.push(lit('.'));
  const names: string[] = [];
  const execs: { argv: Field[]; how: string }[] = [];
  let del = false;
  let permSuid = false;
  const writes: Field[] = [];
  for (; i < args.length; i++) {
    const s = args[i]!.s;
    if (s === '-exec' || s === '-execdir' || s === '-ok' || s === '-okdir') {
      const argv: Field[] = [];
      let j = i + 1;
      for (; j < args.length; j++) {
        const t = args[j]!.s;
        if (t === ';' || t === '+') break;
        argv.push(args[j]!);
      }
      execs.push({ argv, how: `find ${s}` });
      i = j;
      continue;
    }
    if (s === '-delete') del = true;
    if (s === '-fprint' || s === '-fprint0' || s === '-fls' || s === '-fprintf') {
      const f = args[i + 1];
      if (f) writes.push(f);
      i += s === '-fprintf' ? 2 : 1;
      continue;
    }
    if (FIND_VAL.has(s)) {
      const v = args[i + 1];
      if (v && (s === '-name' || s === '-iname' || s === '-path' || s === '-ipath' || s === '-wholename' || s === '-regex')) names.push(v.s);
      if (v && s === '-perm' && /^[-/]?(?:[4-7][0-7]{3}|u=s|g=s|u\+s|g\+s|[-/]?[246]000)$/.test(v.s) || v && s === '-perm' && /s/.test(v.s)) permSuid = true;
      i++;
    }
  }
  // What `{}` stands for: paths under the roots matching the name tests.
  const name = names.find((n) => !n.includes('/')) ?? null;
  const outside = roots.some((r) => {
    const p = resolveField(a, r, ctx);
    return !p || !a.kb.inWorkspace(p.abs);
  });
  const rootOnly = args.some((f, k) => f.s === '-maxdepth' && args[k + 1]?.s === '0');
  const placeholder = (root: Field): Field => {
    if (rootOnly) return root;
    const base = root.s.replace(/\/+$/, '') || '/';
    const s = `${base === '/' ? '' : base}/**/${name ?? UNKNOWN}`;
    return { s, exact: false, glob: true, quoted: false, taint: null };
  };
  if (permSuid && outside) {
    a.facts.recon.push(a.link(ctx, 'setuid binary search'));
    a.add('recon', 'medium', 'searches the system for setuid/setgid programs (privilege-escalation recon)', undefined, ctx);
  }
  if (name && outside && SECRET_SEARCH_NAMES.some((g) => compileGlob(g, false)?.test(name) || g === name)) {
    a.facts.recon.push(a.link(ctx, 'credential search'));
    a.add('read-secret', 'medium', `searches ${roots.map((r) => display(r.s)).join(', ')} for credential files named ${display(name)}`, undefined, ctx);
  }
  for (const r of roots) {
    const p = resolveField(a, r, ctx);
    if (p && (p.info.classes.has('secret-dir') || p.info.classes.has('secret')) && execs.length > 0) {
      a.add('read-secret', 'high', `runs commands over the files in ${p.abs} (${p.info.what})`, undefined, ctx);
    }
  }
  for (const e of execs) {
    for (const r of roots.slice(0, 2)) {
      const ph = placeholder(r);
      const argv = e.argv.map((f) => (f.s.includes('{}') ? { ...f, s: f.s.split('{}').join(ph.s), exact: false, glob: true } : f));
      runNestedArgv(inv, argv, e.how, NO_STREAM);
    }
  }
  if (del) {
    for (const r of roots) runNestedArgv(inv, name ? [lit('rm'), placeholder(r)] : [lit('rm'), lit('-r'), r], 'find -delete', NO_STREAM);
  }
  for (const w of writes) writeFile(inv, w, UNKNOWN_STREAM, false, 'find -fprint');
  return { text: null, taint: null, src: 'unknown', items: roots.map(placeholder) };
}

