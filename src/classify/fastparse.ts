/**
 * Fast path for the plain command lines agents type most (`git status`, `npm test -- --watch`,
 * `grep -rn 'TODO' src | head -20 > out.txt`): a strict subset of bash parsed without the GopherJS
 * parser, whose allocation rate (tens of KB per parse) made garbage-collection pauses dominate tail
 * latency.
 *
 * Invariant (the security argument): the subset is chosen so that it has exactly one reading, the
 * one mvdan/sh would produce. Anything outside it — `$`, backticks, backslashes, parentheses,
 * braces, comments, `!`, background `&`, newlines, non-ASCII, reserved words or declaration
 * builtins in command position, indexed assignments — returns null and goes to the real parser.
 * `test/classify/fastparse.test.ts` checks the two parsers agree on every accepted input.
 */
import type { Assign, BinaryOp, Cmd, ParsedScript, Part, Redir, RedirOp, Stmt, Word } from './ast.js';

// Bytes allowed anywhere outside quotes (besides blanks and the operators handled below).
const WORD_CHAR = /[A-Za-z0-9_./:=@%+,~^*?[\]{}-]/;
// Inside double quotes: no expansions or escapes may occur.
const DQ_SAFE = /^[^"$`\\!\n\0]*$/;
const RESERVED = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'function', 'select', 'time', 'coproc',
  'in', '[[', ']]', '{', '}', '!', 'declare', 'typeset', 'export', 'local', 'readonly', 'let', 'nameref',
]);

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
        if (lit) parts.push({ t: 'lit', v: lit });
        lit = '';
        parts.push({ t: 'dq', parts: body === '' ? [] : [{ t: 'lit', v: body }], dollar: false });
        i = close + 1;
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

/** Parses `src` if it lies in the fast-path subset; null means "use the full parser". */
export function fastParse(src: string): ParsedScript | null {
  if (src.length > 4096 || !/^[\x20-\x7e\t]*$/.test(src)) return null;
  const toks = tokenize(src);
  if (toks === null) return null;
  const stmts: Stmt[] = [];
  let i = 0;
  while (i < toks.length) {
    // One `;`-terminated list: pipelines joined by && / ||.
    let j = i;
    while (j < toks.length && !(toks[j]!.k === 'op' && (toks[j] as { v: string }).v === ';')) j++;
    if (j === i) return null; // empty command before `;`
    let list: Stmt | null = null;
    let pendingOp: BinaryOp | null = null;
    let k = i;
    while (k < j) {
      // A pipeline: simple commands joined by |.
      let pipe: Stmt | null = null;
      let m = k;
      for (;;) {
        let e = m;
        while (e < j && !(toks[e]!.k === 'op')) e++;
        if (e === m) return null;
        const sc = simple(toks, m, e);
        if (sc === null) return null;
        // Like mvdan, pipelines nest to the left: (a | b) | c.
        pipe = pipe === null ? sc.stmt : binary('|', pipe, sc.stmt);
        if (e < j && (toks[e] as { v: string }).v === '|') {
          m = e + 1;
          if (m >= j) return null;
          continue;
        }
        k = e;
        break;
      }
      list = list === null ? pipe : binary(pendingOp!, list, pipe);
      if (k < j) {
        const op = (toks[k] as { v: string }).v;
        if (op !== '&&' && op !== '||') return null;
        pendingOp = op;
        k++;
        if (k >= j) return null;
      }
    }
    if (list) stmts.push(list);
    i = j + 1;
    if (j < toks.length && i >= toks.length) break; // trailing `;`
  }
  return { stmts };
}
