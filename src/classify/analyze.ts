/**
 * The analyser: a symbolic, side-effect-free "execution" of a parsed command line. This module
 * runs statements (lists, pipelines, compound commands, functions, redirections) and simple
 * commands (aliases, functions, globbed or unknown program names, programs started by path);
 * word expansion is in expand.ts, assignments in assign.ts, file semantics in files.ts and what each
 * program does with its arguments in effects/. Data is followed through pipes and files, payloads
 * (eval, sh -c, decoded base64, interpreter one-liners) are recursed into, and the *effects* each
 * command would have are recorded.
 *
 * Invariants:
 * - Nothing here performs I/O. The only "filesystem" is what the session itself wrote (tracked
 *   contents) plus the static path knowledge base.
 * - Work is bounded: recursion depth (MAX_DEPTH), a global step budget per classification, capped
 *   brace/loop expansion. Exhausting a bound is itself an effect (the command is not silently allowed).
 * - Unknown values are represented explicitly (UNKNOWN marker, `exact: false`) and never treated as
 *   safe: unknown program names, unknown shell payloads and unknown decoded content are effects.
 */
import { assign, checkAssignment, checkPrefixEnv } from './assign.js';
import type { Assign, Cmd, Redir, Stmt, Word } from './ast.js';
import { runHandler } from './effects/index.js';
import { arith, expandJoined, expandHeredoc, expandWord } from './expand.js';
import { netDevice, openForRead, openForWrite, resolveField } from './files.js';
import { compileGlob, hasGlobChars, UNKNOWN } from './glob.js';
import { scanCode as scanCodeImpl } from './interp.js';
import { BINARIES } from './kb/binaries.js';
import { type AnalyzerConfig, basename, type Ctx, display, type Field, type FileInfo, type Invocation, dedupeLinks, lit, MAX_DEPTH, NO_STREAM, type SessionFacts, shellQuote, sliceSrc, STEP_BUDGET, type Stream, type Taint, unknownField, UNKNOWN_STREAM, wordLit } from './model.js';
import type { PathKb } from './pathkb.js';
import type { ChainLink, Effect, EffectKind, Risk } from './types.js';

const MAX_LOOP_ITEMS = 4;

export class Analyzer {
  readonly effects: Effect[] = [];
  budget = STEP_BUDGET;
  truncated = false;
  /** Streams behind `<(...)` process substitutions, by the /dev/fd path they expand to. */
  readonly procStreams = new Map<string, Stream>();
  private procCounter = 63;

  /** The next `/dev/fd/N` path a process substitution expands to. */
  nextProcFd(): number {
    return this.procCounter++;
  }

  constructor(
    readonly cfg: AnalyzerConfig,
    readonly facts: SessionFacts,
  ) {}

  /** A fresh analyser for judging a payload on its own (shares config, not effects or chain facts). */
  fork(): Analyzer {
    return new Analyzer(this.cfg, { ...this.facts, recon: [], secretReads: [] });
  }

  get kb(): PathKb {
    return this.cfg.kb;
  }

  add(kind: EffectKind, risk: Risk, reason: string, extra?: { suggestion?: string | undefined; chain?: ChainLink[] | undefined }, ctx?: Ctx): void {
    const via = ctx && ctx.via ? ` (${ctx.via})` : '';
    const eff: Effect = { kind, risk, reason: reason + via };
    if (extra?.suggestion) eff.suggestion = extra.suggestion;
    if (extra?.chain && extra.chain.length) eff.chain = dedupeLinks(extra.chain);
    if (this.effects.length < 200) this.effects.push(eff);
  }

  link(ctx: Ctx, role: string): ChainLink {
    const cmd = ctx.stmtSrc.length > 160 ? ctx.stmtSrc.slice(0, 157) + '...' : ctx.stmtSrc;
    return { step: this.facts.step, command: cmd, role };
  }

  spend(ctx: Ctx): boolean {
    if (--this.budget <= 0) {
      if (!this.truncated) {
        this.truncated = true;
        this.add('unparseable', 'medium', 'the command is too large to analyse completely', undefined, ctx);
      }
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Entry points

  /** Parses and analyses shell source as if run by a shell in `ctx`. */
  runSource(src: string, ctx: Ctx, stdin: Stream = NO_STREAM): Stream {
    if (ctx.depth > MAX_DEPTH) {
      this.add('obfuscated-exec', 'high', 'payload nests shells/decoders deeper than the analysis limit', undefined, ctx);
      return UNKNOWN_STREAM;
    }
    const res = this.cfg.parser.parse(src.replace(/\0/g, ''));
    if (!res.ok) {
      this.add('unparseable', 'medium', `shell payload cannot be parsed: ${res.error}`, undefined, ctx);
      this.fallbackScan(src, ctx);
      return UNKNOWN_STREAM;
    }
    return this.runStmts(res.script.stmts, ctx, stdin, src);
  }

  /**
   * Shell code extracted heuristically (from a string literal in some other language, a config
   * line): a parse failure says nothing about the command line itself, so it only gets a token scan.
   */
  runSnippet(src: string, ctx: Ctx, stdin: Stream = NO_STREAM): Stream {
    if (ctx.depth > MAX_DEPTH) return UNKNOWN_STREAM;
    const res = this.cfg.parser.parse(src.replace(/\0/g, ''));
    if (!res.ok) {
      this.fallbackScan(src, ctx);
      return UNKNOWN_STREAM;
    }
    return this.runStmts(res.script.stmts, ctx, stdin, src);
  }

  /** Token-level scan used when the parser refuses the input: catch the obvious, never allow. */
  fallbackScan(src: string, ctx: Ctx): void {
    const sub: Ctx = { ...ctx, depth: ctx.depth + 1, via: ctx.via || 'in unparseable input' };
    const pieces = src.split(/[;&|\n]+/).slice(0, 40);
    for (const piece of pieces) {
      const toks = piece.trim().split(/\s+/).filter(Boolean).map((t) => t.replace(/^['"]|['"]$/g, ''));
      if (toks.length === 0) continue;
      const fields = toks.map((t) => lit(t));
      if (sub.depth <= MAX_DEPTH && this.spend(sub)) this.runArgv(fields, sub, NO_STREAM, new Map());
    }
  }

  runStmts(stmts: Stmt[], ctx: Ctx, stdin: Stream, src?: string): Stream {
    let out: Stream = NO_STREAM;
    const top = src !== undefined && ctx.depth === 0;
    // Byte offsets -> text: decide once whether the source is ASCII (offsets are then indices).
    // eslint-disable-next-line no-control-regex
    const bytes = top && !/^[\x00-\x7f]*$/.test(src) ? Buffer.from(src, 'utf8') : null;
    for (const st of stmts) {
      if (this.budget <= 0) break;
      const c = top ? { ...ctx, stmtSrc: sliceSrc(src, st, bytes) } : ctx;
      out = this.runStmt(st, c, stdin);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  runStmt(st: Stmt, ctx: Ctx, stdin: Stream): Stream {
    if (!this.spend(ctx)) return UNKNOWN_STREAM;
    const c = st.background && !ctx.background ? { ...ctx, background: true } : ctx;
    if (st.cmd === null) {
      // Redirections alone: `> file` truncates, `< file` reads (zsh prints it: READNULLCMD).
      const inS = this.inputRedirs(st.redirs, c, stdin);
      this.applyRedirs(st.redirs, c, NO_STREAM);
      return inS === stdin ? NO_STREAM : inS;
    }
    const cmd = st.cmd;
    switch (cmd.t) {
      case 'call':
        return this.runCall(cmd.assigns, cmd.args, st.redirs, c, stdin);
      case 'binary':
        return this.runBinary(cmd, st.redirs, c, stdin);
      default: {
        const inS = this.inputRedirs(st.redirs, c, stdin);
        const out = this.runCompound(cmd, c, inS);
        return this.applyRedirs(st.redirs, c, out);
      }
    }
  }

  private runBinary(cmd: Extract<Cmd, { t: 'binary' }>, redirs: Redir[], ctx: Ctx, stdin: Stream): Stream {
    if (cmd.op === '|' || cmd.op === '|&') {
      // Flatten the pipeline so each stage sees the previous stage's output.
      const stages: Stmt[] = [];
      const flat = (s: Stmt): void => {
        if (s.cmd && s.cmd.t === 'binary' && (s.cmd.op === '|' || s.cmd.op === '|&') && s.redirs.length === 0) {
          flat(s.cmd.x);
          flat(s.cmd.y);
        } else stages.push(s);
      };
      flat(cmd.x);
      flat(cmd.y);
      let s = stdin;
      for (const stage of stages) s = this.runStmt(stage, ctx, s);
      return this.applyRedirs(redirs, ctx, s);
    }
    this.runStmt(cmd.x, ctx, stdin);
    const out = this.runStmt(cmd.y, ctx, stdin);
    return this.applyRedirs(redirs, ctx, out);
  }

  private runCompound(cmd: Cmd, ctx: Ctx, stdin: Stream): Stream {
    switch (cmd.t) {
      case 'block':
        return this.runStmts(cmd.stmts, ctx, stdin);
      case 'subshell':
        return this.runStmts(cmd.stmts, { ...ctx, env: ctx.env.clone() }, stdin);
      case 'if': {
        this.runStmts(cmd.cond, ctx, stdin);
        const a = this.runStmts(cmd.then, ctx, stdin);
        const b = this.runStmts(cmd.else, ctx, stdin);
        return a.src !== 'none' ? a : b;
      }
      case 'while': {
        this.runStmts(cmd.cond, ctx, stdin);
        return this.runStmts(cmd.body, ctx, stdin);
      }
      case 'for': {
        for (const a of cmd.arith) arith(this, a, ctx);
        if (cmd.name === null) return this.runStmts(cmd.body, ctx, stdin);
        let items: Field[];
        if (cmd.items === null) items = ctx.positional.map((p) => lit(p));
        else items = cmd.items.flatMap((w) => expandWord(this, w, ctx));
        if (items.length === 0) items = [unknownField(null)];
        let out: Stream = NO_STREAM;
        for (const it of items.slice(0, MAX_LOOP_ITEMS)) {
          ctx.env.vars.set(cmd.name, { vals: [it.s], exact: it.exact, taint: it.taint });
          out = this.runStmts(cmd.body, ctx, stdin);
        }
        return out;
      }
      case 'case': {
        expandWord(this, cmd.word, ctx);
        let out: Stream = NO_STREAM;
        for (const it of cmd.items) out = this.runStmts(it.stmts, ctx, stdin);
        return out;
      }
      case 'func': {
        ctx.env.funcs.set(cmd.name, cmd.body);
        if (this.callsItselfConcurrently(cmd.name, cmd.body)) {
          this.add('resource-abuse', 'critical', `function ${cmd.name} spawns copies of itself (fork bomb)`, undefined, ctx);
        }
        return NO_STREAM;
      }
      case 'decl':
        return this.runDecl(cmd, ctx);
      case 'test':
        for (const w of cmd.words) expandWord(this, w, ctx);
        return NO_STREAM;
      case 'arith':
        for (const a of cmd.exprs) arith(this, a, ctx);
        return NO_STREAM;
      case 'time':
      case 'coproc':
        return cmd.stmt ? this.runStmt(cmd.stmt, ctx, stdin) : NO_STREAM;
      default:
        return NO_STREAM;
    }
  }

  /** `f(){ f | f & }`: a function whose body starts itself in a pipe or in the background. */
  private callsItselfConcurrently(name: string, body: Stmt): boolean {
    let found = false;
    const visit = (s: Stmt, concurrent: boolean): void => {
      if (found || !s.cmd) return;
      const c = s.cmd;
      const conc = concurrent || s.background;
      if (c.t === 'call') {
        const first = c.args[0];
        if (first && first.parts.length === 1 && first.parts[0]!.t === 'lit' && first.parts[0]!.v === name && conc) found = true;
      } else if (c.t === 'binary') {
        const pipe = c.op === '|' || c.op === '|&';
        visit(c.x, conc || pipe);
        visit(c.y, conc || pipe);
      } else if (c.t === 'block' || c.t === 'subshell') {
        for (const x of c.stmts) visit(x, conc);
      } else if (c.t === 'while' || c.t === 'for') {
        for (const x of c.body) visit(x, true);
      }
    };
    visit(body, false);
    return found;
  }

  private runDecl(cmd: Extract<Cmd, { t: 'decl' }>, ctx: Ctx): Stream {
    const flags = new Set<string>();
    for (const a of cmd.args) {
      if (a.naked && a.name === '' && a.value) {
        const f = expandWord(this, a.value, ctx)[0];
        if (f && f.s.startsWith('-')) for (const ch of f.s.slice(1)) flags.add(ch);
        continue;
      }
      if (a.naked) {
        if (cmd.variant === 'export' || flags.has('x')) checkAssignment(this, a.name, null, ctx, 'export');
        continue;
      }
      assign(this, a, ctx, 'shell');
    }
    return NO_STREAM;
  }

  // -------------------------------------------------------------------------------------------
  // Redirections

  /** Stdin as changed by `<`, `<<<`, `<<`, `<&N`. */
  inputRedirs(redirs: Redir[], ctx: Ctx, stdin: Stream): Stream {
    let s = stdin;
    for (const r of redirs) {
      if (r.n !== null && r.n !== '0' && (r.op === '<' || r.op === '<&')) continue;
      if (r.op === '<<<' && r.word) {
        const f = expandJoined(this, r.word, ctx);
        s = { text: f.exact ? f.s + '\n' : null, taint: f.taint, src: 'literal', desc: 'here-string' };
      } else if ((r.op === '<<' || r.op === '<<-') && r.hdoc) {
        const body = r.hdocQuoted ? r.hdoc.parts.map((p) => (p.t === 'lit' ? p.v : '')).join('') : null;
        let text: string | null;
        let taint: Taint | null = null;
        if (body !== null) text = body;
        else {
          const f = expandHeredoc(this, r.hdoc, ctx);
          text = f.exact ? f.s : f.s;
          taint = f.taint;
        }
        if (r.op === '<<-' && text !== null) text = text.replace(/^\t+/gm, '');
        s = { text, taint, src: 'literal', desc: 'here-document' };
      } else if (r.op === '<' && r.word) {
        const f = expandJoined(this, r.word, ctx);
        s = openForRead(this, f, ctx, 'redirect');
      } else if (r.op === '<&' && r.word) {
        const f = expandJoined(this, r.word, ctx);
        const fd = ctx.env.fds.get(f.s);
        if (fd) {
          s = fd;
        } else if (f.s === '1' || f.s === '2') {
          // stdin from the terminal the output goes to: interactive.
          s = { text: null, taint: null, src: 'none', desc: '/dev/tty' };
        }
      } else if (r.op === '<>' && r.word) {
        const f = expandJoined(this, r.word, ctx);
        s = openForRead(this, f, ctx, 'redirect');
        openForWrite(this, f, ctx, UNKNOWN_STREAM, false, 'redirect');
      }
    }
    return s;
  }

  /** Applies output redirections; returns what continues down the pipe. */
  applyRedirs(redirs: Redir[], ctx: Ctx, out: Stream): Stream {
    let piped = out;
    for (const r of redirs) {
      if (!r.word) continue;
      // `>&3` / `>&$REPLY` onto a descriptor that is a network socket: the output leaves.
      if (r.op === '>&' || r.op === '&>' || r.op === '>') {
        const target = r.op === '>&' ? expandJoined(this, r.word, ctx).s : '';
        const fd = target ? ctx.env.fds.get(target) : undefined;
        if (fd?.src === 'socket') {
          netDevice(this, fd.taint?.socket ?? 'a socket', ctx, 'write', out);
          piped = NO_STREAM;
          continue;
        }
      }
      if (r.op === '>' || r.op === '>>' || r.op === '>|' || r.op === '&>' || r.op === '&>>' || (r.op === '>&' && !/^\d+$|^-$/.test(wordLit(r.word)))) {
        const f = expandJoined(this, r.word, ctx);
        const isStdout = r.n === null || r.n === '1' || r.op.startsWith('&') || r.op === '>&';
        const content = isStdout ? out : UNKNOWN_STREAM;
        openForWrite(this, f, ctx, content, r.op === '>>' || r.op === '&>>', 'redirect');
        if (isStdout) piped = NO_STREAM;
      } else if (r.op === '<>' || r.op === '<') {
        // handled in inputRedirs (also checks /dev/tcp read)
        if (r.op === '<' && r.n !== null && r.n !== '0') {
          const f = expandJoined(this, r.word, ctx);
          const s = openForRead(this, f, ctx, 'redirect');
          ctx.env.fds.set(r.n, s);
        }
      }
    }
    return piped;
  }

  /** Opening a path for reading: secrets, sockets, tracked files. */
  analyzePayload(text: string, ctx: Ctx): void {
    let body = text.replace(/^#![^\n]*\n?/, '');
    // Crontab lines: drop the schedule (and user) fields.
    body = body.replace(/^\s*(?:@\w+|(?:[\d*/,-]+\s+){5})(?:root\s+|\w+\s+(?=\S+\/))?/gm, '');
    // Desktop entries / systemd units / rc-style `Exec=`, `command=`: keep the command.
    const execLines = [...body.matchAll(/^\s*(?:Exec\w*|command|ExecStart|ExecStartPre|ExecStop|execute)\s*=\s*(.+)$/gim)].map((m) => m[1]!.replace(/,/g, ' '));
    const sudoers = /\bNOPASSWD\s*:\s*ALL\b|\bALL\s*=\s*\(ALL(?::ALL)?\)\s*ALL\b/.test(body);
    if (sudoers) this.add('privilege-escalation', 'critical', 'grants passwordless root through sudo (sudoers rule)', undefined, ctx);
    const res = this.cfg.parser.parse(body);
    if (res.ok) this.runStmts(res.script.stmts, ctx, NO_STREAM);
    for (const l of execLines.slice(0, 8)) this.runSource(l, { ...ctx, depth: ctx.depth + 1 });
    this.scanCode(body, 'any', ctx);
  }

  scanCode(code: string, lang: string, ctx: Ctx): void {
    scanCodeImpl(this, code, lang, ctx);
  }

  /** `/dev/tcp/host/port` redirections. */

  runCall(assigns: Assign[], args: Word[], redirs: Redir[], ctx: Ctx, stdin: Stream): Stream {
    const inS = this.inputRedirs(redirs, ctx, stdin);
    if (args.length === 0) {
      for (const a of assigns) assign(this, a, ctx, 'shell');
      return this.applyRedirs(redirs, ctx, NO_STREAM);
    }
    const prefix = new Map<string, Field>();
    const tmpEnv = assigns.length ? ctx.env.clone() : ctx.env;
    const actx: Ctx = assigns.length ? { ...ctx, env: tmpEnv } : ctx;
    for (const a of assigns) {
      const f = assign(this, a, actx, 'prefix');
      if (f) prefix.set(a.name, f);
    }
    // Fields are expanded in the caller's context so the command sees its prefix env.
    let fields: Field[] = [];
    for (const w of args) {
      fields.push(...expandWord(this, w, actx));
      if (fields.length > 4000) break;
    }
    // `exec 3<>/dev/tcp/...` and `exec >file`: fds for the rest of the shell.
    if (fields.length === 1 && fields[0]!.s === 'exec' && fields[0]!.exact) {
      for (const r of redirs) {
        if (!r.word) continue;
        const f = expandJoined(this, r.word, ctx);
        if (/^\/dev\/(tcp|udp)\//.test(f.s)) {
          netDevice(this, f.s, ctx, 'read');
          const s: Stream = { text: null, taint: { socket: f.s, links: [this.link(ctx, 'network socket')] }, src: 'socket' };
          ctx.env.fds.set(r.n ?? (r.op.startsWith('<') ? '0' : '1'), s);
        } else if (r.op !== '<' && r.op !== '<&' && r.op !== '>&') openForWrite(this, f, ctx, UNKNOWN_STREAM, r.op === '>>', 'redirect');
      }
      return NO_STREAM;
    }
    if (fields.length === 0) return this.applyRedirs(redirs, ctx, NO_STREAM);
    // Alias expansion (only for a literal first word, as bash does).
    const first = args[0]!;
    if (first.parts.length === 1 && first.parts[0]!.t === 'lit' && ctx.env.aliases.has(fields[0]!.s) && ctx.depth < MAX_DEPTH) {
      const def = ctx.env.aliases.get(fields[0]!.s)!;
      const rest = fields.slice(1).map((f) => shellQuote(f.s)).join(' ');
      const out = this.runSource(`${def} ${rest}`, { ...actx, depth: ctx.depth + 1 }, inS);
      return this.applyRedirs(redirs, ctx, out);
    }
    // Shell-level effects of redirections whose stdout is a socket (`sh -i >& /dev/tcp/...`).
    const netOut = this.redirNetTarget(redirs, ctx);
    const out = this.runArgv(fields, actx, inS, prefix, netOut);
    return this.applyRedirs(redirs, ctx, out);
  }

  private redirNetTarget(redirs: Redir[], ctx: Ctx): string | null {
    for (const r of redirs) {
      if (!r.word) continue;
      const l = wordLit(r.word);
      if (/\/dev\/(tcp|udp)\//.test(l)) return l;
      if ((r.op === '>&' || r.op === '<&') && ctx.env.fds.get(l)?.src === 'socket') return ctx.env.fds.get(l)!.taint?.socket ?? 'socket';
    }
    return null;
  }

  /** Runs an expanded argv: wrappers, functions, builtins, programs. */
  runArgv(fields: Field[], ctx: Ctx, stdin: Stream, assigns: Map<string, Field>, netOut: string | null = null): Stream {
    if (!this.spend(ctx) || fields.length === 0) return UNKNOWN_STREAM;
    let head = fields[0]!;
    const args = fields.slice(1);
    // Program name we cannot know.
    if (head.s.includes(UNKNOWN) || head.s === '') {
      return this.dynamicExec(head, args, ctx, stdin);
    }
    // Glob in the program path: resolve against the system binary list (deterministic).
    if (head.glob && hasGlobChars(head.s)) {
      const resolved = this.resolveGlobProgram(head.s);
      if (resolved.length === 0) {
        this.add('obfuscated-exec', 'medium', `runs a program named by a glob pattern (${head.s}) that matches no known binary`, undefined, ctx);
        return UNKNOWN_STREAM;
      }
      const names = new Set(resolved.map(basename));
      if (names.size > 1) {
        // Ambiguous: judge each candidate, the worst wins.
        this.add('obfuscated-exec', 'medium', `runs a program named by a glob pattern (${head.s}), which could be ${[...names].slice(0, 5).join(', ')}`, undefined, ctx);
        let out: Stream = UNKNOWN_STREAM;
        for (const r of resolved.slice(0, 4)) out = this.runArgv([lit(r), ...args], ctx, stdin, assigns, netOut);
        return out;
      }
      head = { ...head, s: resolved[0]!, glob: false };
    }
    if (netOut && /^(?:.*\/)?(?:sh|bash|dash|zsh|ksh|ash|mksh|csh|tcsh)$/.test(head.s)) {
      this.add('reverse-shell', 'critical', `connects an interactive shell to ${netOut} (reverse shell)`, undefined, ctx);
      return NO_STREAM;
    }
    // A session-made link or copy of another program runs that program.
    let name = basename(head.s);
    if (head.s.includes('/') || ctx.env.files.size > 0) {
      const r = head.s.includes('/') ? resolveField(this, head, ctx) : null;
      const target = r && !r.pattern ? ctx.env.files.get(r.abs)?.linkTo : undefined;
      if (target) name = basename(target);
    }
    // Shell functions defined in this session.
    const fn = ctx.env.funcs.get(head.s);
    if (fn && ctx.depth < MAX_DEPTH) {
      return this.runStmt(fn, { ...ctx, depth: ctx.depth + 1, positional: args.map((a) => a.s) }, stdin);
    }
    // A program started by path: where it lives and what we know about it.
    if (head.s.includes('/')) this.execPathEffects(head, ctx, args);
    for (const [k, v] of assigns) checkPrefixEnv(this, k, v, ctx);
    const spec = BINARIES[name] ?? (/^python[\d.]*$/.test(name) ? BINARIES['python'] : /^(?:pip|pip3|pip[\d.]+)$/.test(name) ? BINARIES['pip'] : undefined);
    const inv: Invocation = { a: this, ctx, name, path: head, args, spec, stdin, assigns };
    const out = runHandler(inv);
    if (netOut && spec?.kind === 'interp') this.add('reverse-shell', 'critical', `connects ${name} to ${netOut}`, undefined, ctx);
    return out;
  }

  private dynamicExec(head: Field, args: Field[], ctx: Ctx, stdin: Stream): Stream {
    const t = head.taint;
    if (t?.socket || stdin.src === 'socket') {
      this.add('reverse-shell', 'critical', 'runs commands read from a network connection (reverse shell)', undefined, ctx);
    } else if (t?.remote) {
      this.add('download-exec', 'critical', `runs a command downloaded from ${t.remote}`, { chain: t.links }, ctx);
    } else if (t?.decoded) {
      this.add('obfuscated-exec', 'high', 'runs a command produced by decoding data', undefined, ctx);
    } else {
      this.add('dynamic', 'medium', `runs a program whose name cannot be determined (${display(head.s)})`, undefined, ctx);
    }
    // Still judge the arguments: `$x /etc/shadow` reads a secret whatever $x is.
    const inv: Invocation = { a: this, ctx, name: '', path: head, args, spec: undefined, stdin, assigns: new Map() };
    runHandler(inv);
    return UNKNOWN_STREAM;
  }

  resolveGlobProgram(pattern: string): string[] {
    const re = compileGlob(pattern, true);
    if (!re) return [];
    const out: string[] = [];
    if (!pattern.includes('/')) {
      for (const n of Object.keys(BINARIES)) if (re.test(n)) out.push(n);
      return out.slice(0, 16);
    }
    for (const p of this.cfg.binPaths) if (re.test(p)) out.push(p);
    return out.slice(0, 16);
  }

  /** Effects of *where* a program started by path lives. */
  execPathEffects(head: Field, ctx: Ctx, args: Field[]): void {
    const p = resolveField(this, head, ctx);
    if (!p) return;
    const abs = p.abs;
    const fi = ctx.env.files.get(abs);
    if (fi?.downloaded) {
      const chain = [fi.downloaded, ...(fi.executable ? [fi.executable] : [])];
      if (fi.inspected) this.add('download-exec', 'high', `runs ${abs}, downloaded earlier in this session (inspected before running)`, { chain }, ctx);
      else this.add('download-exec', 'critical', `runs ${abs}, downloaded earlier in this session, without inspecting it`, { chain, suggestion: `inspect it first (less ${abs}), verify its checksum, then run it` }, ctx);
    }
    if (fi && fi.text !== null && ctx.depth < MAX_DEPTH) {
      this.runPayloadFile(abs, fi, ctx, args);
    }
    const hiddenDir = /\/\.[^/]*\//.test(abs.replace(this.kb.home, '')) && !abs.includes('/node_modules/') && !/\/\.(venv|bin|local|cargo|nvm|npm|pyenv|rbenv|asdf|volta|bun|deno|yarn|pnpm|config|cache|git)\//.test(abs);
    if (/^\/(tmp|var\/tmp|dev\/shm)\//.test(abs) || /\/\.{3,}\//.test(abs)) {
      this.add('exec-untrusted', 'medium', `runs ${abs} from a world-writable or hidden location`, undefined, ctx);
    } else if (hiddenDir && !this.kb.inWorkspace(abs)) {
      this.add('exec-untrusted', 'medium', `runs ${abs} from a hidden directory`, undefined, ctx);
    }
    if (/\.so(\.\d+)*$/.test(abs)) this.add('code-injection', 'high', `runs a shared library (${abs}) as a program`, undefined, ctx);
  }

  /** A session-written file is being executed or fed to a program: judge its content fully. */
  runPayloadFile(abs: string, fi: FileInfo, ctx: Ctx, args: Field[]): void {
    if (fi.text === null) return;
    const sctx: Ctx = { ...ctx, depth: ctx.depth + 1, via: `content of ${abs}`, positional: args.map((a) => a.s) };
    this.analyzePayload(fi.text, sctx);
    if (fi.taint?.decoded) this.add('obfuscated-exec', 'high', `runs ${abs}, which holds decoded data`, undefined, ctx);
  }

  // -------------------------------------------------------------------------------------------
  // Assignments and environment checks

  /** Runs a command substitution in a subshell; returns its output when computable. */
  cmdSubst(stmts: Stmt[], ctx: Ctx): Stream {
    if (ctx.depth > MAX_DEPTH) {
      this.add('obfuscated-exec', 'high', 'command substitutions nest deeper than the analysis limit', undefined, ctx);
      return UNKNOWN_STREAM;
    }
    // `$(< file)` reads the file.
    if (stmts.length === 1) {
      const s = stmts[0]!;
      if ((s.cmd === null || s.cmd.t === 'call' && s.cmd.args.length === 0 && s.cmd.assigns.length === 0) && s.redirs.length === 1 && s.redirs[0]!.op === '<' && s.redirs[0]!.word) {
        const f = expandJoined(this, s.redirs[0]!.word, ctx);
        return openForRead(this, f, ctx, 'substitution');
      }
    }
    const sub: Ctx = { ...ctx, env: ctx.env.clone(), depth: ctx.depth + 1 };
    return this.runStmts(stmts, sub, NO_STREAM);
  }
}
