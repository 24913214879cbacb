/**
 * Fast path for the plain command lines agents type most (`git status`, `npm test -- --watch`,
 * `grep -rn 'TODO' src | head -20 > out.txt`, `cd $HOME && make`, `while [ $i -lt 9 ]; do ...;
 * i=$((i+1)); done`): a strict subset of bash parsed without the GopherJS parser, whose allocation
 * rate (tens of KB per parse) made garbage-collection pauses dominate tail latency, and whose
 * one-time load (~25-50 ms, even through the V8 code cache) was most of a session's first decision.
 *
 * Invariant (the security argument): the subset is chosen so that it has exactly one reading, the
 * one mvdan/sh would produce — the same AST, statement positions included. Within it: words of
 * unquoted, '...' and expansion-free "..." text, `$name` (a plain variable name, not followed by
 * `[`, `{` or `}`), `$((...))` whose body is names and decimal numbers joined by `+` and `-`;
 * pipelines, `&&`, `||`, `;`, simple redirections; `while`/`until LIST; do LIST; done` as a whole
 * statement. Anything outside it — other `$` forms, backticks, backslashes, parentheses, braces
 * next to an expansion, comments, `!`, background `&`, newlines, non-ASCII, other reserved words or
 * declaration builtins in command position, indexed assignments, a loop inside a pipeline or
 * and-or list or with redirections — returns null and goes to the real parser.
 * `test/classify/fastparse.test.ts` checks the two parsers agree on every accepted input.
 */
import type { Arith, Assign, BinaryOp, Cmd, ParsedScript, Part, Redir, RedirOp, Stmt, Word } from './ast.js';

// Bytes allowed anywhere outside quotes (besides blanks and the operators handled below).
const WORD_CHAR = /[A-Za-z0-9_./:=@%+,~^*?[\]{}-]/;
// Inside double quotes: no command substitution or escapes may occur (`$` is checked on its own).
const DQ_SAFE = /^[^"`\\!\n\0]*$/;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
/** A `$((...))` body: operands and `+`/`-` (blanks allowed); anything else goes to mvdan. */
const ARITH_BODY = /^[A-Za-z0-9_+\- \t]*$/;
const ARITH_OPERAND = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$/;
const RESERVED = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'function', 'select', 'time', 'coproc',
  'in', '[[', ']]', '{', '}', '!', 'declare', 'typeset', 'export', 'local', 'readonly', 'let', 'nameref',
]);

function param(name: string): Part {
  return { t: 'param', name, short: true, length: false, excl: false, names: false, index: null, indexAll: null, slice: null, repl: null, exp: null };
}

/** `a + 1 - b` as mvdan reads it: left-associative, operands as one-literal words. Null if outside. */
function arith(body: string): Arith | null {
  if (!ARITH_BODY.test(body)) return null;
  const toks = body.split(/([+-])/).map((t) => t.trim());
  // Alternating operand, operator, operand, ...: an empty operand means a unary or doubled operator.
  let x: Arith | null = null;
  for (let i = 0; i < toks.length; i += 2) {
    const w = toks[i]!;
    if (!ARITH_OPERAND.test(w)) return null;
    const y: Arith = { t: 'aword', w: { parts: [{ t: 'lit', v: w }] } };
    x = x === null ? y : { t: 'abin', op: toks[i - 1]!, x, y };
  }
  return x;
}

/**
 * The expansion at `src[i] === '$'`, if in the subset: `$name` or `$((...))`. Returns the part and
 * the index after it, or null (the caller then refuses the whole input).
 */
function expansion(src: string, i: number): { part: Part; next: number } | null {
  if (NAME_START.test(src[i + 1] ?? '')) {
    let j = i + 2;
    while (j < src.length && NAME_CHAR.test(src[j]!)) j++;
    // `$a[0]`, `$a{...}`: leave index and brace readings to mvdan.
    if (src[j] === '[' || src[j] === '{' || src[j] === '}') return null;
    return { part: param(src.slice(i + 1, j)), next: j };
  }
  if (src.startsWith('$((', i)) {
    const close = src.indexOf('))', i + 3);
    if (close < 0) return null;
    const x = arith(src.slice(i + 3, close));
    if (x === null) return null;
    return { part: { t: 'arith', x }, next: close + 2 };
  }
  return null;
}

/** The parts of a "..." body already checked against DQ_SAFE. */
function dqParts(body: string): Part[] | null {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < body.length) {
    if (body[i] !== '$') {
      lit += body[i++];
      continue;
    }
    const e = expansion(body, i);
    if (e === null) return null;
    if (lit) parts.push({ t: 'lit', v: lit });
    lit = '';
    parts.push(e.part);
    i = e.next;
  }
  if (lit) parts.push({ t: 'lit', v: lit });
  return parts;
}

type Tok =
  | { k: 'word'; parts: Part[]; raw: string; start: number; end: number }
  | { k: 'op'; v: '|' | '||' | '&&' | ';'; start: number }
  | { k: 'redir'; op: RedirOp; n: string | null; start: number };

function tokenize(src: string): Tok[] | null {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const start = i;
    if (c === '|') {
      if (src[i + 1] === '&') return null; // |&
      toks.push({ k: 'op', v: src[i + 1] === '|' ? '||' : '|', start });
      i += src[i + 1] === '|' ? 2 : 1;
      continue;
    }
    if (c === '&') {
      if (src[i + 1] === '&') {
        toks.push({ k: 'op', v: '&&', start });
        i += 2;
        continue;
      }
      if (src[i + 1] === '>') {
        const app = src[i + 2] === '>';
        toks.push({ k: 'redir', op: app ? '&>>' : '&>', n: null, start });
        i += app ? 3 : 2;
        continue;
      }
      return null; // background
    }
    if (c === ';') {
      if (src[i + 1] === ';' || src[i + 1] === '&') return null;
      toks.push({ k: 'op', v: ';', start });
      i++;
      continue;
    }
    // Redirections, optionally preceded by a single-digit fd: `2>`, `2>>`, `2>&1`, `>&2`, `<`.
    let fd: string | null = null;
    let j = i;
    if (/[0-9]/.test(c) && (src[i + 1] === '>' || src[i + 1] === '<')) {
      fd = c;
      j = i + 1;
    }
    const r = src[j];
    if (r === '>' || r === '<') {
      let op: RedirOp;
      if (r === '<') {
        if (src[j + 1] === '<' || src[j + 1] === '>' || src[j + 1] === '&' || src[j + 1] === '(') return null;
        op = '<';
        j += 1;
      } else if (src[j + 1] === '>') {
        op = '>>';
        j += 2;
      } else if (src[j + 1] === '&') {
        op = '>&';
        j += 2;
      } else if (src[j + 1] === '|' || src[j + 1] === '(') return null;
      else {
        op = '>';
        j += 1;
      }
      toks.push({ k: 'redir', op, n: fd, start });
      i = j;
      continue;
    }
    // A word: unquoted runs, '...' and "..." (expansion-free) segments.
    const parts: Part[] = [];
    let lit = '';
    while (i < n) {
      const d = src[i]!;
      if (d === "'") {
        const close = src.indexOf("'", i + 1);
        if (close < 0) return null;
        const body = src.slice(i + 1, close);
        if (body.includes('\n') || body.includes('\0')) return null;
        if (lit) parts.push({ t: 'lit', v: lit });
        lit = '';
        parts.push({ t: 'sq', v: body, dollar: false });
        i = close + 1;
      } else if (d === '"') {
        const close = src.indexOf('"', i + 1);
        if (close < 0) return null;
        const body = src.slice(i + 1, close);
        if (!DQ_SAFE.test(body)) return null;
        const inner = dqParts(body);
        if (inner === null) return null;
        if (lit) parts.push({ t: 'lit', v: lit });
        lit = '';
        parts.push({ t: 'dq', parts: inner, dollar: false });
        i = close + 1;
      } else if (d === '$') {
        const e = expansion(src, i);
        if (e === null) return null;
        if (lit) parts.push({ t: 'lit', v: lit });
        lit = '';
        parts.push(e.part);
        i = e.next;
      } else if (WORD_CHAR.test(d)) {
        // `#` starts a comment only at a word start; it is excluded entirely for simplicity.
        lit += d;
        i++;
      } else break;
    }
    if (i < n && !/[ \t|&;<>]/.test(src[i]!)) return null; // $ ` \ ( ) { } # ! newline, non-ASCII...
    // `12>f` redirects fd 12 in bash; only the single-digit form is tokenised above.
    if (i < n && (src[i] === '>' || src[i] === '<') && /^[0-9]+$/.test(src.slice(start, i))) return null;
    if (lit) parts.push({ t: 'lit', v: lit });
    if (parts.length === 0) return null;
    // Braces only as plain text (`{}` for find -exec): anything that could brace-expand goes to mvdan.
    const raw = src.slice(start, i);
    if (/[{}]/.test(raw) && raw.includes('$')) return null;
    if (/[{}]/.test(raw) && (/[{}][^{}]*[,]|\.\./.test(raw) || /['"]/.test(raw) || raw === '{' || raw === '}')) return null;
    toks.push({ k: 'word', parts, raw, start, end: i });
  }
  return toks;
}

const ASSIGN_RE = /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=/;

/** A simple command from `toks[from..to)`; null when it is outside the subset. */
function simple(toks: Tok[], from: number, to: number): { stmt: Stmt; end: number } | null {
  const assigns: Assign[] = [];
  const args: Word[] = [];
  const redirs: Redir[] = [];
  let end = -1;
  for (let i = from; i < to; i++) {
    const t = toks[i]!;
    if (t.k === 'redir') {
      const w = toks[i + 1];
      if (!w || w.k !== 'word' || i + 1 >= to) return null;
      if (t.op === '>&' && !/^(?:\d|-)$/.test(w.raw) && t.n !== null) return null;
      redirs.push({ op: t.op, n: t.n, word: { parts: w.parts }, hdoc: null, hdocQuoted: false });
      end = w.end;
      i++;
      continue;
    }
    if (t.k !== 'word') return null;
    end = t.end;
    if (args.length === 0) {
      const first = t.parts[0]!;
      const m = first.t === 'lit' ? ASSIGN_RE.exec(first.v) : null;
      if (m) {
        const rest = (first as { v: string }).v.slice(m[0].length);
        const valueParts: Part[] = rest ? [{ t: 'lit', v: rest }, ...t.parts.slice(1)] : t.parts.slice(1);
        // `a=(x y)` and `a[0]=x` never reach here (parentheses and `[` in names are excluded/unmatched).
        assigns.push({ name: m[1]!, value: valueParts.length ? { parts: valueParts } : null, array: null, index: null, append: m[2] === '+', naked: false });
        continue;
      }
      if (/^[A-Za-z_][A-Za-z0-9_]*\[/.test(t.raw)) return null;
      if (RESERVED.has(t.raw) && t.parts.length === 1 && t.parts[0]!.t === 'lit') return null;
    }
    args.push({ parts: t.parts });
  }
  if (args.length === 0 && assigns.length === 0 && redirs.length === 0) return null;
  const start = toks[from]!.start;
  return { stmt: { cmd: { t: 'call', assigns, args }, negated: false, background: false, redirs, pos: start, end }, end };
}

function binary(op: BinaryOp, x: Stmt, y: Stmt): Stmt {
  const cmd: Cmd = { t: 'binary', op, x, y };
  return { cmd, negated: false, background: false, redirs: [], pos: x.pos, end: y.end };
}

const isOp = (t: Tok | undefined, v: string): boolean => t !== undefined && t.k === 'op' && t.v === v;

/** A reserved word as mvdan sees one: an unquoted, expansion-free word in command position. */
function reserved(t: Tok | undefined, word: string): boolean {
  return t !== undefined && t.k === 'word' && t.raw === word && t.parts.length === 1 && t.parts[0]!.t === 'lit';
}

/** Pipelines joined by && / || in `toks[from..to)` (no `;` inside); null when outside the subset. */
function andOr(toks: Tok[], from: number, to: number): Stmt | null {
  let list: Stmt | null = null;
  let pendingOp: BinaryOp | null = null;
  let k = from;
  while (k < to) {
    // A pipeline: simple commands joined by |.
    let pipe: Stmt | null = null;
    let m = k;
    for (;;) {
      let e = m;
      while (e < to && !(toks[e]!.k === 'op')) e++;
      if (e === m) return null;
      const sc = simple(toks, m, e);
      if (sc === null) return null;
      // Like mvdan, pipelines nest to the left: (a | b) | c.
      pipe = pipe === null ? sc.stmt : binary('|', pipe, sc.stmt);
      if (e < to && isOp(toks[e], '|')) {
        m = e + 1;
        if (m >= to) return null;
        continue;
      }
      k = e;
      break;
    }
    list = list === null ? pipe : binary(pendingOp!, list, pipe);
    if (k < to) {
      const op = (toks[k] as { v: string }).v;
      if (op !== '&&' && op !== '||') return null;
      pendingOp = op;
      k++;
      if (k >= to) return null;
    }
  }
  return list;
}

/**
 * Statements from `toks[i]` on, each ended by `;` or the end, up to the end of input (`stop` null)
 * or up to the reserved word `stop` in command position (consumed). Like mvdan, a statement
 * followed by `;` ends after it. Null when outside the subset, or when the list is empty.
 */
function list(toks: Tok[], i: number, stop: 'do' | 'done' | null): { stmts: Stmt[]; next: number } | null {
  const stmts: Stmt[] = [];
  for (;;) {
    if (i >= toks.length) return stop === null && stmts.length > 0 ? { stmts, next: i } : null;
    const t = toks[i]!;
    if (stop !== null && reserved(t, stop)) return stmts.length > 0 ? { stmts, next: i + 1 } : null;
    let st: Stmt;
    if (reserved(t, 'while') || reserved(t, 'until')) {
      const cond = list(toks, i + 1, 'do');
      if (cond === null) return null;
      const body = list(toks, cond.next, 'done');
      if (body === null) return null;
      const done = toks[body.next - 1] as { end: number };
      st = { cmd: { t: 'while', cond: cond.stmts, body: body.stmts, until: reserved(t, 'until') }, negated: false, background: false, redirs: [], pos: t.start, end: done.end };
      i = body.next;
      // Only `;` or the end may follow: no pipes, and-or lists or redirections of a loop here.
      if (i < toks.length && !isOp(toks[i], ';')) return null;
    } else {
      let j = i;
      while (j < toks.length && !isOp(toks[j], ';')) j++;
      const s = andOr(toks, i, j);
      if (s === null) return null;
      st = s;
      i = j;
    }
    if (i < toks.length) {
      st.end = toks[i]!.start + 1; // the `;`
      i++;
    }
    stmts.push(st);
  }
}

/** Parses `src` if it lies in the fast-path subset; null means "use the full parser". */
export function fastParse(src: string): ParsedScript | null {
  if (src.length > 4096 || !/^[\x20-\x7e\t]*$/.test(src)) return null;
  const toks = tokenize(src);
  if (toks === null) return null;
  const r = list(toks, 0, null);
  return r === null ? null : { stmts: r.stmts };
}
