/**
 * Programs that run code given on the command line or in files: interpreters (`python -c`, `perl
 * -e`, `node -e`, `php -r`, ...), awk and sed programs, editors and debuggers driven by commands
 * (`vim -c ':!sh'`, `gdb -ex '!sh'`, `emacs --eval`), make recipes, SQL clients, compilers.
 *
 * The code itself goes to the capability scanner (interp.ts), which sends every command string it
 * finds back through the shell analyser; these handlers only find *where* the code is and which
 * files the program reads or writes.
 */
import { openForRead, resolveField } from '../files.js';
import { stringLiterals } from '../interp.js';
import { display, type Field, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { optValue, optValues, parseArgs } from './args.js';
import { judgeArgs, judgeCodeProvenance, nested, readFiles, runShellCode, writeFile } from './common.js';
import { runScript } from './shells.js';

function scan(inv: Invocation, code: Field, lang: string, what: string): void {
  const { a, ctx } = inv;
  if (!code.exact) judgeCodeProvenance(inv, code.taint, code.s.replace(/\uE000/g, '').trim() === '' ? 'unknown' : 'partial', `${what}`, ctx);
  a.scanCode(code.s, lang, nested(inv, ctx.via ? '' : `${inv.name} code`));
}

/** python/perl/ruby/node/php/lua/...: inline code, module runs, script files, code on stdin. */
export function interp(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const spec = inv.spec;
  const lang = spec?.lang ?? 'any';
  const codeOpts = spec?.code ?? [];
  const val = [...(spec?.val ?? []), ...codeOpts];
  // Interpreters stop option parsing at the code option or the script.
  const p = parseArgs(inv.args, val, { stopAtPositional: true });
  const codes = p.opts.filter((o) => codeOpts.includes(o.name) && o.value).map((o) => o.value!);
  for (const o of p.opts) {
    if (!o.value) continue;
    if ((o.name === '-r' || o.name === '--require' || o.name === '--import' || o.name === '-M' || o.name === '--loader') && /^(?:\/|\.\/|data:|https?:)/.test(o.value.s)) {
      a.add('code-injection', 'medium', `${name} ${o.name} preloads ${display(o.value.s)}`, undefined, ctx);
    }
    if (lang === 'php' && o.name === '-S') {
      const open = /^(?:0\.0\.0\.0|\[?::\]?|\*)(?::|$)/.test(o.value.s) || !/^(?:localhost|127\.|\[::1\])/.test(o.value.s);
      a.add('listener', open ? 'medium' : 'low', `php -S serves the current directory${open ? ` on every interface (${display(o.value.s)})` : ''}`, undefined, ctx);
    }
  }
  if (codes.length > 0) {
    const joined = codes.map((c) => c.s).join('\n');
    const codeField: Field = { s: joined, exact: codes.every((c) => c.exact), glob: false, quoted: true, taint: codes.find((c) => c.taint)?.taint ?? null };
    // `-M`/`-r` modules are part of the program (`perl -MIO::Socket -e ...`).
    const mods = p.opts.filter((o) => (o.name === '-M' || o.name === '-m' || o.name === '-r') && o.value).map((o) => `use ${o.value!.s};`).join('\n');
    scan(inv, { ...codeField, s: mods ? `${mods}\n${joined}` : joined }, lang, `${name} code`);
    for (const f of p.rest) judgeArgs(inv, [f]);
    return UNKNOWN_STREAM;
  }
  const mod = optValue(p, '-m');
  if (mod && lang === 'python') return pythonModule(inv, mod.s, p.rest);
  if (p.rest.length > 0) {
    const script = p.rest[0]!;
    if (/^(?:-|\/dev\/stdin)$/.test(script.s)) return codeFromStdin(inv, lang);
    const abs = resolveField(a, script, ctx);
    const fi = abs ? ctx.env.files.get(abs.abs) : undefined;
    if (fi?.text != null) scan(inv, { s: fi.text, exact: true, glob: false, quoted: true, taint: fi.taint }, lang, `${name} script`);
    if (fi?.downloaded) runScript(inv, script, p.rest.slice(1));
    else if (abs && !fi) a.execPathEffects(script, ctx, p.rest.slice(1));
    for (const f of p.rest.slice(1)) judgeArgs(inv, [f]);
    if (spec?.always) for (const e of spec.always) a.add(e.kind, e.risk, e.reason, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (inv.stdin.src !== 'none') return codeFromStdin(inv, lang);
  // A bare interpreter is an interactive REPL.
  if (ctx.depth > 0) a.add('shell-escape', 'medium', `starts an interactive ${name} interpreter from inside another program`, undefined, ctx);
  return UNKNOWN_STREAM;
}

function codeFromStdin(inv: Invocation, lang: string): Stream {
  const st = inv.stdin;
  if (st.src === 'socket' || st.taint?.socket) {
    inv.a.add('reverse-shell', 'critical', `${inv.name} runs code received from a network connection`, undefined, inv.ctx);
    return UNKNOWN_STREAM;
  }
  judgeCodeProvenance(inv, st.taint, st.text !== null ? 'known' : 'unknown', `${inv.name} code from stdin`);
  if (st.text !== null) inv.a.scanCode(st.text, lang, nested(inv, `code piped into ${inv.name}`));
  return UNKNOWN_STREAM;
}

function pythonModule(inv: Invocation, mod: string, rest: Field[]): Stream {
  const { a, ctx } = inv;
  if (/^(?:http\.server|SimpleHTTPServer|pyftpdlib|smtpd|aiosmtpd|xmlrpc\.server|CGIHTTPServer|uploadserver)$/.test(mod)) {
    const dir = rest.findIndex((f) => f.s === '-d' || f.s === '--directory');
    const served = dir >= 0 ? rest[dir + 1] : undefined;
    const r = served ? resolveField(a, served, ctx) : null;
    const outside = r && !a.kb.inWorkspace(r.abs);
    a.add('listener', outside ? 'medium' : 'low', `python -m ${mod} serves ${outside ? r!.abs : 'the current directory'} over the network`, undefined, ctx);
  } else if (mod === 'pty' || mod === 'code') {
    a.add('shell-escape', 'medium', `python -m ${mod} starts an interactive shell/interpreter`, undefined, ctx);
  } else if (mod === 'pip') {
    return a.runArgv([lit('pip'), ...rest], { ...ctx, depth: ctx.depth + 1 }, inv.stdin, new Map());
  } else if (mod === 'base64' && rest.some((f) => f.s === '-d')) {
    return { text: null, taint: { ...(inv.stdin.taint ?? { links: [] }), decoded: true }, src: 'decoded' };
  }
  for (const f of rest) judgeArgs(inv, [f]);
  return UNKNOWN_STREAM;
}

/** awk: the program is the first positional unless -f; the rest are input files. */
export function awk(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const progFile = optValue(p, '-f', '--file');
  let files = p.pos;
  let prog: Field | null = null;
  if (progFile) {
    const st = readFiles(inv, [progFile], 'awk -f');
    if (st.text !== null) prog = lit(st.text);
  } else if (files[0]) {
    prog = files[0];
    files = files.slice(1);
  }
  files = files.filter((f) => !/^[A-Za-z_]\w*=/.test(f.s));
  if (prog) scan(inv, prog, 'awk', 'awk program');
  const input = files.length ? readFiles(inv, files, 'awk') : inv.stdin;
  return { text: null, taint: input.taint, src: input.src === 'none' ? 'unknown' : input.src };
}

/** sed: `e` commands and `s///e` run shell code; `w file` writes; `-i` edits files in place. */
export function sed(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  // `-i[SUFFIX]` takes only an attached suffix, so it is parsed as a flag bundle.
  const inplace = inv.args.some((f) => /^-[a-zA-Z]*i/.test(f.s) && !f.s.startsWith('--') || f.s.startsWith('--in-place'));
  const scripts = optValues(p, '-e', '--expression');
  let pos = [...p.pos];
  const sf = optValue(p, '-f', '--file');
  if (sf) {
    const st = readFiles(inv, [sf], 'sed -f');
    if (st.text !== null) scripts.push(lit(st.text));
  }
  if (scripts.length === 0 && pos[0]) {
    scripts.push(pos[0]);
    pos = pos.slice(1);
  }
  for (const sc of scripts) {
    const s = sc.s;
    // `e command` / `1e command` / `s/x/y/e`.
    for (const m of s.matchAll(/(?:^|[;\n}]|\d|\$|\/)\s*e\s+([^;\n}]+)/g)) runShellCode(inv, { ...sc, s: m[1]! }, 'sed e');
    if (/s(.).*?\1.*?\1[gpIiMm0-9]*e/.test(s)) a.add('dynamic', 'medium', 'sed s///e runs the substituted text as a command', undefined, ctx);
    for (const m of s.matchAll(/(?:^|[;\n]|\d|\$|\/)\s*[wW]\s+(\S+)|\/[gpIiMm0-9]*w\s+(\S+)/g)) writeFile(inv, lit(m[1] ?? m[2]!), UNKNOWN_STREAM, false, 'sed w');
    for (const m of s.matchAll(/(?:^|[;\n]|\d|\$|\/)\s*[rR]\s+(\S+)/g)) openForRead(a, lit(m[1]!), ctx, 'sed r');
  }
  const input = pos.length ? readFiles(inv, pos, 'sed') : inv.stdin;
  if (inplace) for (const f of pos) writeFile(inv, f, { text: null, taint: input.taint, src: 'file' }, false, 'sed -i');
  return { text: null, taint: input.taint, src: input.src === 'none' ? 'unknown' : input.src };
}

/** Vim command-line commands: `:!cmd`, `:sh`, `:py ...`, `:lua ...`, `:w file`, `:r file`. */
function vimCommands(inv: Invocation, cmdText: string): void {
  const { a, ctx } = inv;
  for (const raw0 of cmdText.split(/\n|\|(?!\|)/)) {
    const raw = raw0.trim().replace(/^:+/, '').trim();
    if (!raw) continue;
    let m: RegExpExecArray | null;
    if ((m = /^(?:silent!?\s*)?!(.*)$/s.exec(raw))) runShellCode(inv, lit(m[1]!), 'vim :!');
    else if (/^(?:sh(?:ell)?|terminal|term)\b/.test(raw)) {
      const rest = raw.replace(/^\w+\s*/, '');
      if (rest) runShellCode(inv, lit(rest), 'vim :terminal');
      else a.add('shell-escape', 'high', 'vim :shell starts an interactive shell (shell escape)', undefined, ctx);
    } else if ((m = /^(?:py(?:thon)?3?|pyx|pythonx|py3do|pydo)\s+(.*)$/s.exec(raw))) a.scanCode(m[1]!, 'python', nested(inv, 'vim :python'));
    else if ((m = /^(?:lua|luado)\s+(.*)$/s.exec(raw))) a.scanCode(m[1]!, 'lua', nested(inv, 'vim :lua'));
    else if ((m = /^(?:perl|perldo)\s+(.*)$/s.exec(raw))) a.scanCode(m[1]!, 'perl', nested(inv, 'vim :perl'));
    else if ((m = /^(?:rub(?:y)?|rubydo)\s+(.*)$/s.exec(raw))) a.scanCode(m[1]!, 'ruby', nested(inv, 'vim :ruby'));
    else if ((m = /^(?:call\s+)?system\s*\((.*)\)$/s.exec(raw))) for (const l of stringLiterals(m[1]!)) runShellCode(inv, lit(l.v), 'vim system()');
    else if ((m = /^(?:w(?:rite)?|wq|x|sav(?:eas)?|up(?:date)?)!?\s+(?!\s*!)(\S+)/.exec(raw))) writeFile(inv, lit(m[1]!), UNKNOWN_STREAM, false, 'vim :w');
    else if ((m = /^(?:r(?:ead)?|e(?:dit)?|sp(?:lit)?|tabe(?:dit)?)!?\s+(\S+)/.exec(raw))) openForRead(a, lit(m[1]!), ctx, 'vim :r');
    else if ((m = /^(?:so(?:urce)?)\s+(\S+)/.exec(raw))) {
      const st = readFiles(inv, [lit(m[1]!)], 'vim :source');
      if (st.text) vimCommands(inv, st.text);
    } else if (/^set\s+(?:shell|sh)=/.test(raw)) {
      const v = raw.replace(/^set\s+(?:shell|sh)=/, '');
      if (!/^\/bin\/(?:ba)?sh$/.test(v)) runShellCode(inv, lit(v.replace(/\\ /g, ' ')), 'vim shell');
    }
  }
}

/** Files an editor opens: reading secrets, and (possibly) rewriting protected files. */
function editedFiles(inv: Invocation, files: Field[]): void {
  const { a, ctx } = inv;
  for (const f of files.slice(0, 8)) {
    if (f.s.startsWith('+')) continue;
    const r = resolveField(a, f, ctx);
    if (!r) continue;
    openForRead(a, f, ctx, inv.name);
    const c = r.info.classes;
    if (c.has('persistence') || c.has('privesc') || c.has('preload') || c.has('warden') || c.has('agent-config') || c.has('system-config') && !c.has('secret')) {
      writeFile(inv, f, UNKNOWN_STREAM, false, 'editor');
    }
  }
}

export function vim(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) {
    if (!o.value) continue;
    if (o.name === '-c' || o.name === '--cmd') vimCommands(inv, o.value.s);
    if (o.name === '-S') {
      const st = readFiles(inv, [o.value], 'vim -S');
      if (st.text) vimCommands(inv, st.text);
    }
    if (o.name === '-s' || o.name === '-u') readFiles(inv, [o.value], `vim ${o.name}`);
  }
  for (const f of p.pos) if (f.s.startsWith('+')) vimCommands(inv, f.s.slice(1));
  if (inv.stdin.text && p.pos.some((f) => f.s === '-') === false && (p.opts.some((o) => o.name === '-e' || o.name === '-E' || o.name === '-es') || inv.name === 'ex')) vimCommands(inv, inv.stdin.text);
  editedFiles(inv, p.pos.filter((f) => f.s !== '-'));
  return NO_STREAM;
}

export function editor(inv: Invocation): Stream {
  const spec = inv.spec;
  const p = parseArgs(inv.args, [...(spec?.val ?? []), ...(spec?.code ?? [])], { longSingleDash: inv.name === 'emacs' });
  for (const o of p.opts) {
    if (!o.value) continue;
    if (o.name === '--eval' || o.name === '-eval' || o.name === '--execute') inv.a.scanCode(o.value.s, 'elisp', nested(inv, `${inv.name} ${o.name}`));
    if (o.name === '-l' || o.name === '--load') {
      const st = readFiles(inv, [o.value], 'emacs --load');
      if (st.text) inv.a.scanCode(st.text, 'elisp', nested(inv, 'emacs --load'));
    }
  }
  editedFiles(inv, p.pos);
  return NO_STREAM;
}

function gdbCommand(inv: Invocation, c: string): void {
  const { a, ctx } = inv;
  const t = c.trim();
  let m: RegExpExecArray | null;
  if ((m = /^(?:!|shell\s+)(.*)$/s.exec(t))) runShellCode(inv, lit(m[1]!), 'gdb shell');
  else if ((m = /^(?:python|py|pi|python-interactive)\s*(.*)$/s.exec(t))) {
    if (m[1]) a.scanCode(m[1], 'python', nested(inv, 'gdb python'));
    else a.add('shell-escape', 'medium', 'gdb starts an interactive python interpreter', undefined, ctx);
  } else if ((m = /^(?:call|print|p)\s+(.*)$/s.exec(t)) && /\b(?:system|execve?|popen)\s*\(/.test(m[1]!)) {
    for (const l of stringLiterals(m[1]!)) runShellCode(inv, lit(l.v), 'gdb call system()');
  } else if (/^(?:dump|append)\s/.test(t)) {
    const f = t.split(/\s+/)[3];
    if (f) writeFile(inv, lit(f), UNKNOWN_STREAM, false, 'gdb dump');
  }
}

export function gdb(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { longSingleDash: true });
  for (const o of p.opts) {
    if (!o.value) continue;
    if (/^-{1,2}(?:ex|eval-command|iex|init-eval-command)$/.test(o.name)) gdbCommand(inv, o.value.s);
    if (/^-{1,2}(?:x|command|ix|init-command)$/.test(o.name)) {
      const st = readFiles(inv, [o.value], 'gdb -x');
      if (st.text) for (const line of st.text.split('\n')) gdbCommand(inv, line);
    }
    if (/^-{1,2}(?:p|pid)$/.test(o.name)) a.add('read-secret', 'high', `gdb attaches to process ${display(o.value.s)} (reads and changes its memory)`, undefined, ctx);
  }
  if (inv.stdin.text) for (const line of inv.stdin.text.split('\n')) gdbCommand(inv, line);
  const files = p.pos;
  if (files.length >= 2 && /^\d+$/.test(files[1]!.s)) a.add('read-secret', 'high', `gdb attaches to process ${files[1]!.s} (reads and changes its memory)`, undefined, ctx);
  return UNKNOWN_STREAM;
}

/** `$(shell CMD)`, `$(file >PATH,TEXT)`, `$(file <PATH)` in make syntax. */
function makeFunctions(inv: Invocation, text: string): void {
  for (const m of text.matchAll(/\$[({]shell\s+((?:[^()]|\([^()]*\))*)[)}]/g)) runShellCode(inv, lit(m[1]!), 'make $(shell)');
  for (const m of text.matchAll(/\$[({]file\s*(>>?|<)\s*([^,)}]+)(?:,((?:[^()]|\([^()]*\))*))?[)}]/g)) {
    const path = lit(m[2]!.trim());
    if (m[3]) makeFunctions(inv, m[3]);
    if (m[1] === '<') openForRead(inv.a, path, inv.ctx, 'make $(file <)');
    else if (!/^\/dev\/std(?:out|err)$/.test(path.s)) writeFile(inv, path, { text: m[3] ?? null, taint: null, src: 'literal' }, m[1] === '>>', 'make $(file >)');
  }
}

/** make: `--eval` recipes and `SHELL=` overrides; the Makefile itself is project code. */
export function make(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const evals = optValues(p, '--eval');
  for (const e of evals) makeFunctions(inv, e.s);
  for (const e of evals) {
    for (const line of e.s.split('\n')) {
      const m = /^\t[-@+]*(.*)$/.exec(line) ?? /^[^:=#\t]+:[^=]*?;\s*[-@+]*(.*)$/.exec(line);
      if (m && m[1]!.trim()) runShellCode(inv, lit(m[1]!), 'make recipe');
    }
  }
  for (const f of p.pos) {
    const m = /^SHELL=(.*)$/.exec(f.s);
    if (m && !/^\/bin\/(?:ba)?sh$/.test(m[1]!)) runShellCode(inv, { ...f, s: m[1]! }, 'make SHELL');
  }
  const mf = optValue(p, '-f', '--file', '--makefile');
  if (mf) {
    const st = readFiles(inv, [mf], 'make -f');
    if (st.text) {
      makeFunctions(inv, st.text);
      for (const line of st.text.split('\n')) {
        const m = /^\t[-@+]*(.*)$/.exec(line);
        if (m && m[1]!.trim()) runShellCode(inv, lit(m[1]!), 'make recipe');
      }
    }
  }
  return UNKNOWN_STREAM;
}

const SQL_DESTROY = /\b(?:DROP\s+(?:DATABASE|SCHEMA|TABLE|USER|ROLE)|TRUNCATE\s+(?:TABLE\s+)?\w|DELETE\s+FROM\s+[\w."`]+\s*(?:;|$)|FLUSHALL|FLUSHDB|dropDatabase\s*\(|\.drop\s*\(|DROP\s+COLLECTION)/i;

function sqlEffects(inv: Invocation, sql: string): void {
  const { a, ctx, name } = inv;
  let m: RegExpExecArray | null;
  if (SQL_DESTROY.test(sql)) a.add('destroy', 'high', `${name} runs destructive SQL (${display(SQL_DESTROY.exec(sql)![0])})`, undefined, ctx);
  for (const mm of sql.matchAll(/(?:^|\n)\s*(?:\\!|\.shell|\.system|system)\s+([^\n;]+)/g)) runShellCode(inv, lit(mm[1]!), `${name} shell command`);
  for (const mm of sql.matchAll(/\bPROGRAM\s+'([^']+)'/gi)) runShellCode(inv, lit(mm[1]!), 'COPY ... PROGRAM');
  for (const mm of sql.matchAll(/\b(?:readfile|pg_read_file|pg_read_binary_file|LOAD_FILE)\s*\(\s*'([^']+)'/gi)) openForRead(a, lit(mm[1]!), ctx, 'SQL file read');
  for (const mm of sql.matchAll(/\bLOAD\s+DATA\s+(?:LOCAL\s+)?INFILE\s+'([^']+)'/gi)) openForRead(a, lit(mm[1]!), ctx, 'SQL file read');
  for (const mm of sql.matchAll(/(?:^|\n)\s*\.(?:read|import)\s+(\S+)/g)) openForRead(a, lit(mm[1]!.replace(/^['"]|['"]$/g, '')), ctx, 'sqlite .import');
  for (const mm of sql.matchAll(/(?:^|\n)\s*\.(?:output|once|save|backup(?:\s+\w+)?)\s+(\S+)/g)) writeFile(inv, lit(mm[1]!.replace(/^['"]|['"]$/g, '')), UNKNOWN_STREAM, false, 'sqlite output');
  for (const mm of sql.matchAll(/\b(?:writefile)\s*\(\s*'([^']+)'/gi)) writeFile(inv, lit(mm[1]!), UNKNOWN_STREAM, false, 'SQL file write');
  for (const mm of sql.matchAll(/\bINTO\s+(?:OUT|DUMP)FILE\s+'([^']+)'/gi)) writeFile(inv, lit(mm[1]!), UNKNOWN_STREAM, false, 'SQL file write');
  for (const mm of sql.matchAll(/\bATTACH\s+(?:DATABASE\s+)?'([^']+)'/gi)) writeFile(inv, lit(mm[1]!), UNKNOWN_STREAM, false, 'SQL ATTACH');
  for (const mm of sql.matchAll(/\bCOPY\s+[\w."]+\s+(?:FROM|TO)\s+'([^']+)'/gi)) openForRead(a, lit(mm[1]!), ctx, 'SQL COPY');
  if (/\bload_extension\s*\(|\.load\s+\S/i.test(sql)) a.add('code-injection', 'high', `${name} loads a native extension`, undefined, ctx);
  if ((m = /\bCONFIG\s+SET\s+dir\s+(\S+)/i.exec(sql))) writeFile(inv, lit(m[1]! + '/x'), UNKNOWN_STREAM, false, 'redis CONFIG SET dir');
  if (/\bGRANT\s+ALL\b|\bSUPERUSER\b|\bCREATE\s+USER\b/i.test(sql)) a.add('privilege-escalation', 'medium', `${name} grants database privileges or creates accounts`, undefined, ctx);
}

export function sqlite(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? [], { longSingleDash: true });
  const sqls: string[] = [...optValues(p, '-cmd').map((f) => f.s)];
  const init = optValue(p, '-init');
  if (init) {
    const st = readFiles(inv, [init], 'sqlite -init');
    if (st.text) sqls.push(st.text);
  }
  const [db, ...rest] = p.pos;
  sqls.push(...rest.map((f) => f.s));
  if (inv.stdin.text) sqls.push(inv.stdin.text);
  if (db) {
    const r = resolveField(inv.a, db, inv.ctx);
    if (r && r.info.classes.has('secret')) openForRead(inv.a, db, inv.ctx, 'sqlite');
    else if (r && (r.info.classes.has('persistence') || r.info.classes.has('privesc'))) writeFile(inv, db, UNKNOWN_STREAM, false, 'sqlite database');
  }
  for (const s of sqls) sqlEffects(inv, s);
  return UNKNOWN_STREAM;
}

export function sqlclient(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const sqls = [...optValues(p, '-e', '--execute', '-c', '--command', '-q', '--query', '--eval', '-Q').map((f) => f.s)];
  const f = optValue(p, '-f', '--file');
  if (f) {
    const st = readFiles(inv, [f], inv.name);
    if (st.text) sqls.push(st.text);
  }
  if (inv.stdin.text) sqls.push(inv.stdin.text);
  if (inv.name === 'redis-cli') sqls.push(p.pos.map((x) => x.s).join(' '));
  else if (inv.name === 'mongo' || inv.name === 'mongosh') sqls.push(...p.pos.map((x) => x.s));
  for (const s of sqls) sqlEffects(inv, s);
  if (inv.stdin.src !== 'none' && inv.stdin.text === null) a.add('dynamic', 'low', `${inv.name} runs SQL that cannot be determined`, undefined, ctx);
  return UNKNOWN_STREAM;
}

/** gcc/clang/rustc/tsc...: `-wrapper`, response files, sources read, outputs written (carry source). */
export function compiler(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const spec = inv.spec;
  const p = parseArgs(inv.args, spec?.val ?? [], { longSingleDash: false });
  const wrapper = optValue(p, '-wrapper');
  if (wrapper) runShellCode(inv, { ...wrapper, s: wrapper.s.replace(/,/g, ' ') }, `${inv.name} -wrapper`);
  for (const f of inv.args) if (f.s.startsWith('@') && f.s.length > 1) openForRead(a, { ...f, s: f.s.slice(1) }, ctx, 'response file');
  let source: string | null = null;
  for (const f of p.pos) {
    if (f.s === '-') {
      if (inv.stdin.text) source = inv.stdin.text;
      continue;
    }
    const st = openForRead(a, f, ctx, inv.name);
    if (st.text !== null) source = (source ?? '') + st.text;
  }
  const out = optValue(p, '-o', '--outFile', '--outDir');
  if (out) {
    writeFile(inv, out, { text: null, taint: null, src: 'file' }, false, 'compile');
    const r = resolveField(a, out, ctx);
    // The binary behaves like its source: remember the source for when it is run.
    if (r && source !== null) ctx.env.files.set(r.abs, { text: source, taint: null, written: a.link(ctx, 'compiled') });
  }
  return UNKNOWN_STREAM;
}

/** ansible/salt/puppet ad-hoc commands. */
export function genericExec(inv: Invocation): Stream {
  const p = parseArgs(inv.args, ['-m', '--module-name', '-a', '--args', '-i', '--inventory', '-u', '--user', '-e', '--extra-vars', '-b']);
  const mod = optValue(p, '-m', '--module-name')?.s ?? '';
  const args = optValue(p, '-a', '--args');
  if (args && /^(?:shell|command|raw|ansible\.builtin\.(?:shell|command|raw))$/.test(mod)) runShellCode(inv, args, `${inv.name} -m ${mod}`);
  if (inv.name === 'puppet') {
    const e = optValue(p, '-e', '--execute');
    if (e) for (const l of stringLiterals(e.s)) if (/exec|command/.test(e.s)) runShellCode(inv, lit(l.v), 'puppet exec');
  }
  const dry = inv.args.some((f) => f.s === '--check' || f.s === '-C' || f.s === '--syntax-check' || f.s === '--list-hosts' || f.s === '--list-tasks' || f.s === '--noop');
  inv.a.add('system-modify', dry ? 'low' : 'medium', `${inv.name} ${dry ? 'dry-runs changes to' : 'changes'} the configuration of managed hosts`, undefined, inv.ctx);
  return UNKNOWN_STREAM;
}

/** TeX engines: `\write18{cmd}` runs shell commands (with --shell-escape), `\openout` writes, `\input` reads. */
export function tex(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const escape = inv.args.some((f) => /^-{1,2}(?:shell-escape|enable-write18)$/.test(f.s));
  const sources: string[] = [];
  for (const f of inv.args) {
    if (f.s.startsWith('-')) continue;
    if (f.s.includes('\\')) sources.push(f.s);
    else {
      const st = readFiles(inv, [f], inv.name);
      if (st.text) sources.push(st.text);
    }
  }
  if (inv.stdin.text) sources.push(inv.stdin.text);
  for (const src of sources) {
    for (const m of src.matchAll(/\\write18\s*\{((?:[^{}]|\{[^{}]*\})*)\}/g)) {
      if (escape) runShellCode(inv, lit(m[1]!), `${inv.name} \\write18`);
      else a.add('dynamic', 'medium', `${inv.name} document tries to run a shell command (\\write18)`, undefined, ctx);
    }
    for (const m of src.matchAll(/\\openout\s*\\?\w*\s*=?\s*([^\s\\{}]+)/g)) writeFile(inv, lit(m[1]!), UNKNOWN_STREAM, false, `${inv.name} \\openout`);
    for (const m of src.matchAll(/\\(?:input|include|verbatiminput|lstinputlisting|openin\s*\\?\w*\s*=)\s*\{?([^\s{}\\]+)\}?/g)) openForRead(a, lit(m[1]!), ctx, `${inv.name} \\input`);
  }
  return UNKNOWN_STREAM;
}
