/**
 * Shells and shell builtins: `sh -c`, scripts, code piped into a shell, `eval`, `source`, `exec`,
 * `command`, `busybox`, and the builtins that change security-relevant shell state (`set +o
 * history`, `unset HISTFILE`, `trap ... DEBUG`, `alias sudo=...`, `cd`).
 *
 * Threats: code hidden from the top-level command line (piped, decoded, downloaded, nested in
 * quotes); interactive shells spawned from other programs (GTFOBins shell escapes); shells wired to
 * sockets (reverse shells).
 */
import { resolvePath } from '../files.js';
import { UNKNOWN } from '../glob.js';
import { BINARIES } from '../kb/binaries.js';
import { basename, display, type Field, type Invocation, MAX_DEPTH, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { parseArgs } from './args.js';
import { CURL_SH_SUGGESTION, judgeCodeProvenance, nested, runNestedArgv, runShellCode } from './common.js';

const SHELL_STREAM: Stream = { text: null, taint: null, src: 'shell' };

/** `sh`, `bash -c`, `bash script.sh`, `... | bash`, `bash <(curl ...)`, `bash -i`. */
export function shell(inv: Invocation): Stream {
  const { a, ctx, args, name } = inv;
  // Shell options: `-c` is a flag; the command string is the first positional. `-o opt`, `+o opt`.
  let cmd = false;
  let readStdin = false;
  let privileged = false;
  let i = 0;
  for (; i < args.length; i++) {
    const s = args[i]!.s;
    if (s === '--' || s === '-') {
      i++;
      break;
    }
    if (/^--(?:rcfile|init-file)$/.test(s) || /^[-+][oO]$/.test(s)) {
      i++;
      continue;
    }
    if (/^--[\w-]+$/.test(s)) {
      if (s === '--login' || s === '--noprofile' || s === '--norc' || s === '--posix') continue;
      if (s === '--command') cmd = true;
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(s)) {
      if (s.startsWith('-')) {
        if (s.includes('c')) cmd = true;
        if (s.includes('s')) readStdin = true;
        if (s.includes('p')) privileged = true;
      }
      continue;
    }
    if (name === 'pwsh' || name === 'powershell') {
      if (/^-(?:Command|c|EncodedCommand|e|ec)$/i.test(s)) cmd = true;
      continue;
    }
    break;
  }
  const pos = args.slice(i);
  if (privileged) a.add('privilege-escalation', 'medium', `${name} -p keeps elevated (setuid) privileges instead of dropping them`, undefined, ctx);
  if (cmd) {
    const code = pos[0];
    if (!code) return NO_STREAM;
    const positional = pos.slice(2).map((f) => f.s);
    return runShellCode(inv, code, `${name} -c`, inv.stdin, { positional, argv0: pos[1]?.s ?? name });
  }
  if (pos.length > 0 && !readStdin) {
    return runScript(inv, pos[0]!, pos.slice(1));
  }
  // Code from stdin.
  const st = inv.stdin;
  if (st.src === 'socket' || st.taint?.socket) {
    a.add('reverse-shell', 'critical', `${name} reads commands from a network connection (reverse shell)`, undefined, ctx);
    return SHELL_STREAM;
  }
  if (st.src === 'none' || st.desc !== undefined && /^\/dev\/(?:tty|pts|console)/.test(st.desc)) {
    const spawned = ctx.depth > 0;
    a.add('shell-escape', spawned ? 'high' : 'medium', spawned ? `starts an interactive shell (${name}) from inside another program (shell escape)` : `starts an interactive shell (${name})`, undefined, ctx);
    return SHELL_STREAM;
  }
  if (st.taint?.remote) {
    a.add('download-exec', 'critical', `pipes code downloaded from ${st.taint.remote} straight into ${name}`, { suggestion: CURL_SH_SUGGESTION, chain: st.taint.links.filter((l) => l.step !== a.facts.step) }, ctx);
  } else if (st.taint?.decoded || st.src === 'decoded') {
    a.add('obfuscated-exec', 'high', `pipes decoded data into ${name} (hides what runs)`, undefined, ctx);
  }
  if (st.text !== null) {
    a.runSource(st.text, nested(inv, `code piped into ${name}`), NO_STREAM);
  } else if (!st.taint?.remote && !st.taint?.decoded && st.src !== 'decoded') {
    const from = st.desc ? ` (${display(st.desc)})` : '';
    a.add('dynamic', 'medium', `pipes code that cannot be determined into ${name}${from}`, undefined, ctx);
  }
  return SHELL_STREAM;
}

/** A script file run by a shell (or sourced): session-written content, downloads, process substitution. */
export function runScript(inv: Invocation, script: Field, args: Field[]): Stream {
  const { a, ctx } = inv;
  const proc = a.procStreams.get(script.s);
  if (proc || script.s === '/dev/stdin' || script.s === '-') {
    const st = proc ?? inv.stdin;
    judgeCodeProvenance(inv, st.taint, st.text !== null ? 'known' : 'unknown', 'a script', ctx);
    if (st.text !== null) a.runSource(st.text, nested(inv, 'script from process substitution', { positional: args.map((f) => f.s) }));
    return UNKNOWN_STREAM;
  }
  if (!script.exact) {
    judgeCodeProvenance(inv, script.taint, 'unknown', `a script whose path cannot be determined (${display(script.s)})`, ctx);
    return UNKNOWN_STREAM;
  }
  a.execPathEffects({ ...script, s: script.s.includes('/') ? script.s : './' + script.s }, ctx, args);
  const base = basename(script.s);
  const spec = BINARIES[base];
  if (spec?.always) for (const e of spec.always) a.add(e.kind, e.risk, `${base}: ${e.reason}`, undefined, ctx);
  return UNKNOWN_STREAM;
}

export function evalBuiltin(inv: Invocation): Stream {
  if (inv.args.length === 0) return NO_STREAM;
  const joined: Field = {
    s: inv.args.map((f) => f.s).join(' '),
    exact: inv.args.every((f) => f.exact),
    glob: false,
    quoted: false,
    taint: inv.args.reduce<Field['taint']>((t, f) => (f.taint ? { ...f.taint, links: [...(t?.links ?? []), ...f.taint.links] } : t), null),
  };
  return runShellCode(inv, joined, 'eval', inv.stdin);
}

export function source(inv: Invocation): Stream {
  const f = inv.args[0];
  if (!f) return NO_STREAM;
  // Sourcing runs in the current shell: definitions persist.
  const { a, ctx } = inv;
  const proc = a.procStreams.get(f.s);
  if (proc || f.s === '/dev/stdin') {
    const st = proc ?? inv.stdin;
    judgeCodeProvenance(inv, st.taint, st.text !== null ? 'known' : 'unknown', 'a sourced script', ctx);
    if (st.text !== null && ctx.depth < MAX_DEPTH) a.runSource(st.text, { ...ctx, depth: ctx.depth + 1 });
    return NO_STREAM;
  }
  const abs = resolvePath(a, f.s.includes('/') ? f.s : './' + f.s, ctx);
  const fi = abs ? ctx.env.files.get(abs) : undefined;
  if (fi?.downloaded) {
    a.add('download-exec', fi.inspected ? 'high' : 'critical', `sources ${abs}, downloaded earlier in this session`, { chain: [fi.downloaded] }, ctx);
  }
  if (fi?.text != null && ctx.depth < MAX_DEPTH) {
    a.runSource(fi.text, { ...ctx, depth: ctx.depth + 1, via: `sourced from ${abs}`, positional: inv.args.slice(1).map((x) => x.s) });
  } else if (!f.exact) {
    judgeCodeProvenance(inv, f.taint, 'unknown', 'a sourced file whose path cannot be determined', ctx);
  }
  return NO_STREAM;
}

export function execBuiltin(inv: Invocation): Stream {
  const p = parseArgs(inv.args, ['-a'], { stopAtPositional: true });
  if (p.rest.length === 0) return NO_STREAM;
  return runNestedArgv(inv, p.rest, 'exec');
}

export function commandBuiltin(inv: Invocation): Stream {
  const p = parseArgs(inv.args, [], { stopAtPositional: true });
  if (p.opts.some((o) => o.name === '-v' || o.name === '-V')) return { text: null, taint: null, src: 'unknown' };
  return runNestedArgv(inv, p.rest, inv.name);
}

export function busybox(inv: Invocation): Stream {
  const args = inv.args.filter((f, i) => !(i === 0 && f.s.startsWith('-')));
  if (args.length === 0) return NO_STREAM;
  return runNestedArgv(inv, args, inv.name);
}

export function alias(inv: Invocation): Stream {
  const { a, ctx } = inv;
  for (const f of inv.args) {
    const m = /^([^=\s]+)=(.*)$/s.exec(f.s);
    if (!m) continue;
    const [, name, value] = m as unknown as [string, string, string];
    ctx.env.aliases.set(name, value);
    if (/^(?:sudo|su|ssh|passwd|doas|git|cd|ls)$/.test(name) && /\b(?:curl|wget|nc|tee|logger|base64|>>?|read\s)/.test(value)) {
      a.add('security-tampering', 'high', `aliases ${name} to capture what is typed or run (${display(value)})`, undefined, ctx);
    }
    if (value.includes(UNKNOWN)) a.add('dynamic', 'low', `defines alias ${name} with a value that cannot be determined`, undefined, ctx);
  }
  return NO_STREAM;
}

export function setBuiltin(inv: Invocation): Stream {
  const { a, ctx, args } = inv;
  if (args.length === 0) return { text: null, taint: { secret: 'shell variables (may hold tokens)', links: [a.link(ctx, 'environment dump')] }, src: 'unknown' };
  for (let i = 0; i < args.length; i++) {
    const s = args[i]!.s;
    if (s === '+o' && args[i + 1]?.s === 'history') a.add('security-tampering', 'high', 'set +o history: turns off shell history', undefined, ctx);
    if (/^\+[a-zA-Z]*H/.test(s)) a.add('security-tampering', 'low', 'turns off history expansion', undefined, ctx);
    if (s === '--') {
      ctx.positional.splice(0, ctx.positional.length, ...args.slice(i + 1).map((f) => f.s));
      break;
    }
  }
  return NO_STREAM;
}

export function unset(inv: Invocation): Stream {
  const { a, ctx } = inv;
  let fn = false;
  for (const f of inv.args) {
    if (f.s === '-f') fn = true;
    if (f.s.startsWith('-')) continue;
    if (fn) ctx.env.funcs.delete(f.s);
    else ctx.env.vars.set(f.s, { vals: [], exact: true, taint: null, unset: true });
    if (/^HIST(?:FILE|SIZE|FILESIZE)$/.test(f.s)) a.add('security-tampering', 'high', `unset ${f.s}: stops the shell history from being saved`, undefined, ctx);
  }
  return NO_STREAM;
}

export function trap(inv: Invocation): Stream {
  const { a, ctx, args } = inv;
  const p = args.filter((f) => !f.s.startsWith('-'));
  if (p.length < 2) return NO_STREAM;
  const action = p[0]!;
  const sigs = p.slice(1).map((f) => f.s.toUpperCase());
  if (sigs.includes('DEBUG') && /BASH_COMMAND|history|READLINE_LINE/.test(action.s)) {
    a.add('security-tampering', 'high', 'trap ... DEBUG records every command that runs (keylogging hook)', undefined, ctx);
  }
  if (action.s.trim() !== '' && action.s !== '-') runShellCode(inv, action, `trap on ${sigs.join(',')}`);
  return NO_STREAM;
}

export function history(inv: Invocation): Stream {
  const { a, ctx, args } = inv;
  const p = parseArgs(args, ['-d', '-w', '-r', '-a', '-n', '-s']);
  for (const o of p.opts) {
    if (o.name === '-c') a.add('security-tampering', 'high', 'history -c: clears the shell history', undefined, ctx);
    else if (o.name === '-d') a.add('security-tampering', 'medium', 'history -d: deletes history entries', undefined, ctx);
    else if (o.name === '-w' && o.value && /^\/dev\/null$/.test(o.value.s)) a.add('security-tampering', 'high', 'writes the shell history to /dev/null', undefined, ctx);
  }
  return { text: null, taint: { secret: 'shell history', links: [] }, src: 'unknown' };
}

export function cd(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const env = ctx.env;
  const arg = inv.args.find((f) => !f.s.startsWith('-') || f.s === '-');
  if (inv.name === 'popd') {
    env.cwd = env.dirStack.pop() ?? null;
    return NO_STREAM;
  }
  if (inv.name === 'pushd') env.dirStack.push(env.cwd ?? UNKNOWN);
  if (!arg) {
    env.cwd = a.kb.home;
    return NO_STREAM;
  }
  if (arg.s === '-' || !arg.exact) {
    env.cwd = null;
    return NO_STREAM;
  }
  const p = resolvePath(a, arg.s, ctx);
  env.cwd = p && !p.includes(UNKNOWN) ? p : null;
  return NO_STREAM;
}

