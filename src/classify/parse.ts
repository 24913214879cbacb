/**
 * The shell parser: mvdan/sh (the parser behind shfmt) via the `mvdan-sh` package, a GopherJS build
 * with a synchronous API and a fully typed AST. (`sh-syntax`, its WASM successor, serialises the AST
 * to JSON without node types and instantiates a fresh WASM module per call, which rules it out for a
 * sub-millisecond classifier.)
 *
 * Invariants:
 * - No module-level mutable state: the library is loaded lazily through Node's module cache (an
 *   immutable, memoised load) and every `ShellParser` owns its own mvdan parser object.
 * - The parser is never handed input that can exhaust the JS stack: nesting depth is bounded by a
 *   cheap pre-scan, and a RangeError from the parser is caught and turns into a parse failure (the
 *   mvdan parser object is then replaced, since GopherJS state after a stack overflow is suspect).
 * - Positions are UTF-8 byte offsets; `slice` converts them back to text.
 */
import { createRequire } from 'node:module';
import type { GoNode, GoParser, Syntax } from 'mvdan-sh';
import { fastParse } from './fastparse.js';
import type { Arith, Assign, BinaryOp, Cmd, ParamExp, ParamOp, Part, ParsedScript, Redir, RedirOp, Stmt, Word } from './ast.js';

/** Deeper than this (brackets, substitutions, quotes) and we refuse to parse: the verdict says why. */
export const MAX_NESTING = 120;
/** Longer than this and we do not parse at all (bounded time); the verdict is `review`. */
export const MAX_PARSE_BYTES = 1_100_000;

export type ParseOutcome =
  | { ok: true; script: ParsedScript }
  | { ok: false; error: string; kind: 'syntax' | 'too-deep' | 'too-long' | 'internal' };

export interface ShellParser {
  parse(src: string): ParseOutcome;
}

function loadSyntax(): Syntax {
  const require = createRequire(import.meta.url);
  // `warden run` registers a loader that compiles through its verified V8 code cache (bin/warden.cjs);
  // the module is the same file either way.
  const cached = (globalThis as Record<symbol, unknown>)[Symbol.for('warden.requireCached')] as ((file: string) => unknown) | undefined;
  const mod = (cached ? cached(require.resolve('mvdan-sh')) : require('mvdan-sh')) as { syntax: Syntax };
  return mod.syntax;
}

const BINARY_OPS: Record<number, BinaryOp> = { 10: '&&', 11: '||', 12: '|', 13: '|&' };
const REDIR_OPS: Record<number, RedirOp> = {
  54: '>', 55: '>>', 56: '<', 57: '<>', 58: '<&', 59: '>&', 60: '>|', 61: '<<', 62: '<<-', 63: '<<<', 64: '&>', 65: '&>>',
};
const PARAM_OPS: Record<number, ParamOp> = {
  68: '+', 69: ':+', 70: '-', 71: ':-', 72: '?', 73: ':?', 74: '=', 75: ':=',
  76: '%', 77: '%%', 78: '#', 79: '##', 80: '^', 81: '^^', 82: ',', 83: ',,', 84: '@',
};
const ARITH_OPS: Record<number, string> = {
  68: '+', 70: '-', 38: '*', 85: '/', 76: '%', 39: '**', 61: '<<', 55: '>>', 9: '&', 12: '|', 80: '^',
  10: '&&', 11: '||', 40: '==', 41: '!=', 56: '<', 54: '>', 42: '<=', 43: '>=', 74: '=', 44: '+=',
  45: '-=', 46: '*=', 47: '/=', 82: ',', 72: '?', 87: ':', 34: '!', 35: '~', 36: '++', 37: '--',
};

/** Maximum bracket/quote nesting, counted without regard to quoting (over-counting is safe). */
export function nestingDepth(src: string): number {
  let depth = 0;
  let max = 0;
  let backticks = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 40 /* ( */ || c === 123 /* { */) {
      depth++;
      if (depth + backticks > max) max = depth + backticks;
    } else if (c === 41 /* ) */ || c === 125 /* } */) {
      if (depth > 0) depth--;
    } else if (c === 96 /* ` */) {
      backticks ^= 1;
    } else if (c === 92 /* \ */) {
      i++;
    }
  }
  return max;
}

/**
 * Reads mvdan's Go structs directly (`__internal_object__`), not through the JS wrappers: every
 * wrapper property access externalises a Go value (tens of microseconds and a lot of garbage),
 * which made conversion, not parsing, the dominant cost. Raw GopherJS values: pointers are objects
 * whose `constructor.string` is the Go type (`*syntax.CallExpr`) and `constructor.nil` the nil
 * pointer; slices are `{$array, $offset, $length}`; positions are `{offs, lineCol}` structs.
 */
class Converter {
  private bytes: Buffer | null = null;

  constructor(
    private readonly syntax: Syntax,
    private readonly src: string,
  ) {}

  slice(pos: number, end: number): string {
    if (pos < 0 || end < pos) return '';
    // Fast path: ASCII source, byte offsets equal string indices.
    if (this.bytes === null) {
      // eslint-disable-next-line no-control-regex
      if (/^[\x00-\x7f]*$/.test(this.src)) return this.src.slice(pos, end);
      this.bytes = Buffer.from(this.src, 'utf8');
    }
    return this.bytes.subarray(pos, end).toString('utf8');
  }

  /** Go type name without the package (`CallExpr`), or '' for nil pointers and nil interfaces. */
  type(n: GoNode): string {
    if (n == null) return '';
    const c = n.constructor as { string?: unknown; nil?: unknown } | undefined;
    if (!c || typeof c.string !== 'string' || c.nil === n) return '';
    const t = c.string;
    const dot = t.lastIndexOf('.');
    return dot >= 0 ? t.slice(dot + 1) : t;
  }

  isNil(n: GoNode): boolean {
    return this.type(n) === '';
  }

  items(sl: GoNode): GoNode[] {
    if (sl == null || sl.$array == null) return [];
    const out: GoNode[] = [];
    const end = sl.$offset + sl.$length;
    for (let i = sl.$offset; i < end; i++) out.push(sl.$array[i]);
    return out;
  }

  list<T>(sl: GoNode, f: (n: GoNode) => T): T[] {
    const out: T[] = [];
    for (const n of this.items(sl)) if (!this.isNil(n)) out.push(f(n));
    return out;
  }

  str(lit: GoNode): string {
    return this.isNil(lit) ? '' : String(lit.Value);
  }

  stmts(sl: GoNode): Stmt[] {
    return this.list(sl, (n) => this.stmt(n));
  }

  stmt(n: GoNode): Stmt {
    const cmd = this.isNil(n.Cmd) ? null : this.cmd(n.Cmd);
    return {
      cmd,
      negated: !!n.Negated,
      background: !!n.Background || !!n.Coprocess,
      redirs: this.list(n.Redirs, (r) => this.redir(r)),
      pos: n.Position.offs as number,
      end: n.End().offs as number,
    };
  }

  redir(r: GoNode): Redir {
    const hdoc = this.isNil(r.Hdoc) ? null : this.word(r.Hdoc, false);
    let hdocQuoted = false;
    if (!this.isNil(r.Word) && hdoc !== null) {
      for (const p of this.items(r.Word.Parts)) {
        const t = this.type(p);
        if (t === 'SglQuoted' || t === 'DblQuoted') hdocQuoted = true;
        else if (t === 'Lit' && String(p.Value).includes('\\')) hdocQuoted = true;
      }
    }
    return {
      op: REDIR_OPS[r.Op as number] ?? '>',
      n: this.isNil(r.N) ? null : String(r.N.Value),
      word: this.isNil(r.Word) ? null : this.word(r.Word, true),
      hdoc,
      hdocQuoted,
    };
  }

  cmd(c: GoNode): Cmd {
    switch (this.type(c)) {
      case 'CallExpr':
        return { t: 'call', assigns: this.list(c.Assigns, (a) => this.assign(a)), args: this.list(c.Args, (w) => this.word(w, true)) };
      case 'BinaryCmd':
        return { t: 'binary', op: BINARY_OPS[c.Op as number] ?? '&&', x: this.stmt(c.X), y: this.stmt(c.Y) };
      case 'Block':
        return { t: 'block', stmts: this.stmts(c.Stmts) };
      case 'Subshell':
        return { t: 'subshell', stmts: this.stmts(c.Stmts) };
      case 'IfClause':
        return this.ifClause(c);
      case 'WhileClause':
        return { t: 'while', cond: this.stmts(c.Cond), body: this.stmts(c.Do), until: !!c.Until };
      case 'ForClause': {
        const loop = c.Loop;
        if (this.type(loop) === 'WordIter') {
          const items = loop.InPos != null && loop.InPos.lineCol !== 0 ? this.list(loop.Items, (w) => this.word(w, true)) : null;
          return { t: 'for', name: this.str(loop.Name), items, body: this.stmts(c.Do), arith: [] };
        }
        const arith: Arith[] = [];
        if (this.type(loop) === 'CStyleLoop') for (const k of ['Init', 'Cond', 'Post']) if (!this.isNil(loop[k])) arith.push(this.arith(loop[k]));
        return { t: 'for', name: null, items: null, body: this.stmts(c.Do), arith };
      }
      case 'CaseClause':
        return {
          t: 'case',
          word: this.word(c.Word, true),
          items: this.list(c.Items, (it) => ({ patterns: this.list(it.Patterns, (w) => this.word(w, true)), stmts: this.stmts(it.Stmts) })),
        };
      case 'FuncDecl':
        return { t: 'func', name: this.str(c.Name), body: this.stmt(c.Body) };
      case 'DeclClause':
        return { t: 'decl', variant: this.str(c.Variant), args: this.list(c.Args, (a) => this.assign(a)) };
      case 'TestClause': {
        const words: Word[] = [];
        this.collectWords(c.X, words);
        return { t: 'test', words };
      }
      case 'ArithmCmd':
        return { t: 'arith', exprs: this.isNil(c.X) ? [] : [this.arith(c.X)] };
      case 'LetClause':
        return { t: 'arith', exprs: this.list(c.Exprs, (e) => this.arith(e)) };
      case 'TimeClause':
        return { t: 'time', stmt: this.isNil(c.Stmt) ? null : this.stmt(c.Stmt) };
      case 'CoprocClause':
        return { t: 'coproc', stmt: this.isNil(c.Stmt) ? null : this.stmt(c.Stmt) };
      default:
        return { t: 'block', stmts: [] };
    }
  }

  ifClause(c: GoNode): Cmd {
    const cond = this.stmts(c.Cond);
    const then = this.stmts(c.Then);
    let els: Stmt[] = [];
    const e = c.Else;
    if (!this.isNil(e)) {
      if (this.items(e.Cond).length === 0) els = this.stmts(e.Then);
      else {
        const nested = this.ifClause(e);
        els = [{ cmd: nested, negated: false, background: false, redirs: [], pos: e.Position.offs as number, end: e.End().offs as number }];
      }
    }
    return { t: 'if', cond, then, else: els };
  }

  /** Words inside test expressions (`[[ ... ]]`), in order. */
  collectWords(x: GoNode, out: Word[]): void {
    switch (this.type(x)) {
      case 'Word':
        out.push(this.word(x, true));
        return;
      case 'BinaryTest':
        this.collectWords(x.X, out);
        this.collectWords(x.Y, out);
        return;
      case 'UnaryTest':
      case 'ParenTest':
        this.collectWords(x.X, out);
        return;
      default:
        return;
    }
  }

  assign(a: GoNode): Assign {
    let array: Assign['array'] = null;
    if (!this.isNil(a.Array)) {
      array = this.list(a.Array.Elems, (e) => ({ index: this.isNil(e.Index) ? null : this.arith(e.Index), value: this.isNil(e.Value) ? { parts: [] } : this.word(e.Value, true) }));
    }
    return {
      name: this.str(a.Name),
      value: this.isNil(a.Value) ? null : this.word(a.Value, true),
      array,
      index: this.isNil(a.Index) ? null : this.arith(a.Index),
      append: !!a.Append,
      naked: !!a.Naked,
    };
  }

  word(w: GoNode, braces: boolean): Word {
    let node = w;
    if (braces) {
      // Brace expansion is not part of mvdan's default parse; SplitBraces exposes it as nodes.
      const hasBrace = this.items(w.Parts).some((p) => this.type(p) === 'Lit' && String(p.Value).includes('{'));
      if (hasBrace) {
        const split = this.syntax.SplitBraces({ __internal_object__: w } as GoNode) as GoNode;
        node = split?.__internal_object__ ?? split;
      }
    }
    return { parts: this.list(node.Parts, (p) => this.part(p)) };
  }

  part(p: GoNode): Part {
    switch (this.type(p)) {
      case 'Lit':
        return { t: 'lit', v: String(p.Value) };
      case 'SglQuoted':
        return { t: 'sq', v: String(p.Value), dollar: !!p.Dollar };
      case 'DblQuoted':
        return { t: 'dq', parts: this.list(p.Parts, (q) => this.part(q)), dollar: !!p.Dollar };
      case 'ParamExp':
        return this.param(p);
      case 'CmdSubst':
        return { t: 'cmdsubst', stmts: this.stmts(p.Stmts), src: this.slice(p.Left.offs as number, (p.Right.offs as number) + 1) };
      case 'ProcSubst':
        return { t: 'procsubst', op: p.Op === 67 ? '>(' : '<(', stmts: this.stmts(p.Stmts), src: this.slice(p.OpPos.offs as number, (p.Rparen.offs as number) + 1) };
      case 'ArithmExp':
        return { t: 'arith', x: this.isNil(p.X) ? null : this.arith(p.X) };
      case 'ExtGlob':
        return { t: 'extglob', op: String(p.Op), pattern: this.str(p.Pattern) };
      case 'BraceExp':
        return { t: 'brace', seq: !!p.Sequence, elems: this.list(p.Elems, (e) => this.word(e, false)) };
      default:
        return { t: 'lit', v: '' };
    }
  }

  /** The literal value of a word made of one Lit part (`@` in `${a[@]}`), else ''. */
  wordLit(w: GoNode): string {
    if (this.type(w) !== 'Word') return '';
    const parts = this.items(w.Parts);
    return parts.length === 1 && this.type(parts[0]) === 'Lit' ? String(parts[0].Value) : '';
  }

  param(p: GoNode): ParamExp {
    let index: Arith | null = null;
    let indexAll: '@' | '*' | null = null;
    if (!this.isNil(p.Index)) {
      const lit = this.wordLit(p.Index);
      if (lit === '@' || lit === '*') indexAll = lit;
      else index = this.arith(p.Index);
    }
    const e = p.Exp;
    const exp = this.isNil(e) ? null : { op: PARAM_OPS[e.Op as number] ?? ':-', word: this.isNil(e.Word) ? null : this.word(e.Word, false) };
    const r = p.Repl;
    const repl = this.isNil(r) ? null : { all: !!r.All, orig: this.isNil(r.Orig) ? { parts: [] } : this.word(r.Orig, false), with: this.isNil(r.With) ? null : this.word(r.With, false) };
    const sl = p.Slice;
    const slice = this.isNil(sl) ? null : { offset: this.isNil(sl.Offset) ? null : this.arith(sl.Offset), length: this.isNil(sl.Length) ? null : this.arith(sl.Length) };
    return {
      t: 'param',
      name: this.str(p.Param),
      short: !!p.Short,
      length: !!p.Length,
      excl: !!p.Excl,
      names: !!p.Names && p.Names !== 0,
      index,
      indexAll,
      slice,
      repl,
      exp,
    };
  }

  arith(x: GoNode): Arith {
    switch (this.type(x)) {
      case 'BinaryArithm':
        return { t: 'abin', op: ARITH_OPS[x.Op as number] ?? '?', x: this.arith(x.X), y: this.arith(x.Y) };
      case 'UnaryArithm':
        return { t: 'aun', op: ARITH_OPS[x.Op as number] ?? '?', post: !!x.Post, x: this.arith(x.X) };
      case 'ParenArithm':
        return this.arith(x.X);
      case 'Word':
        return { t: 'aword', w: this.word(x, false) };
      default:
        return { t: 'aword', w: { parts: [] } };
    }
  }
}

/** Creates a parser. Cheap after the first call (the library load is cached by Node). */
export function createShellParser(): ShellParser {
  // mvdan-sh (a large GopherJS bundle) is loaded on the first command the fast path cannot take,
  // so `warden check -- git status` never pays for it.
  let syntax: Syntax | null = null;
  const fresh = (): GoParser => {
    syntax ??= loadSyntax();
    return syntax.NewParser(syntax.KeepComments(false), syntax.Variant(syntax.LangBash));
  };
  let goParser: GoParser | null = null;
  return {
    parse(src: string): ParseOutcome {
      if (src.length > MAX_PARSE_BYTES) {
        return { ok: false, kind: 'too-long', error: `command is ${src.length} characters long; the analysis limit is ${MAX_PARSE_BYTES}` };
      }
      const fast = fastParse(src);
      if (fast !== null) return { ok: true, script: fast };
      const depth = nestingDepth(src);
      if (depth > MAX_NESTING) {
        return { ok: false, kind: 'too-deep', error: `command nests ${depth} levels deep; the analysis limit is ${MAX_NESTING}` };
      }
      let file: GoNode;
      try {
        goParser ??= fresh();
        file = goParser.Parse(src, '');
      } catch (e) {
        if (e instanceof RangeError) {
          goParser = fresh();
          return { ok: false, kind: 'too-deep', error: 'command nests too deeply to parse' };
        }
        const msg = e != null && typeof (e as { Error?: unknown }).Error === 'function' ? String((e as { Error(): string }).Error()) : String(e);
        return { ok: false, kind: 'syntax', error: msg.replace(/^Error: /, '').slice(0, 300) };
      }
      try {
        const conv = new Converter(syntax!, src);
        const raw = (file as { __internal_object__?: GoNode }).__internal_object__ ?? file;
        return { ok: true, script: { stmts: conv.stmts(raw.Stmts) } };
      } catch (e) {
        goParser = fresh();
        if (e instanceof RangeError) return { ok: false, kind: 'too-deep', error: 'command nests too deeply to analyse' };
        return { ok: false, kind: 'internal', error: `parser output could not be read: ${String(e).slice(0, 200)}` };
      }
    },
  };
}
