/**
 * Word expansion as bash performs it, over what is knowable: tilde, parameter expansion (defaults,
 * pattern removal/replacement, case, slices, indirection, `@E`), arithmetic, command substitution of
 * computable output, brace expansion, quote removal, ANSI-C strings and IFS field splitting.
 *
 * This is where obfuscation is undone: `$'\x72m'`, `r""m`, `${x:-rm}`, `{rm,-rf,/}`, `${IFS}` and
 * `a=r;b=m;$a$b` all reduce to the same fields as `rm -rf /`.
 *
 * Invariants:
 * - Unknown values stay unknown (UNKNOWN marker, `exact: false`); they are never dropped, so a word
 *   made of an unknown part can still never be mistaken for a harmless literal.
 * - Expansion is bounded: brace expansion yields at most MAX_BRACE words, arithmetic recursion is
 *   depth-limited, and command substitution goes through the analyser's depth and step budgets.
 */
import type { Arith, ParamExp, Part, Word } from './ast.js';
import type { Analyzer } from './analyze.js';
import { decodeAnsiC } from './decode.js';
import { hasGlobChars, removePattern, replacePattern, UNKNOWN } from './glob.js';
import { type Ctx, type Field, lit, mergeTaint, NO_STREAM, UNKNOWN_STREAM, type Taint, unescapeDq, unescapeLit, type VarVal, wordLit } from './model.js';

const MAX_BRACE = 64;

const SECRET_VAR = /(?:TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH)(?:_|$)|^AWS_(?:SECRET|SESSION)|^(?:GH|GITHUB|GITLAB|NPM|OPENAI|ANTHROPIC|SLACK|STRIPE)_/i;

/** An environment variable we cannot see whose name says it holds a credential. */
function secretVarTaint(name: string, ctx: Ctx): Taint | null {
  if (!SECRET_VAR.test(name) || ctx.env.vars.has(name)) return null;
  return { secret: `$${name} (a credential from the environment)`, links: [] };
}

interface Seg {
  s: string;
  q: boolean;
  /** Result of an expansion (subject to field splitting when unquoted). */
  exp: boolean;
  unk: boolean;
  taint: Taint | null;
  /** Forced field boundary ("${arr[@]}"). */
  brk?: boolean;
}


export function expandWord(an: Analyzer, w: Word, ctx: Ctx): Field[] {
  const variants = braceExpand(an, w.parts);
  const out: Field[] = [];
  for (const parts of variants) {
    const segs: Seg[] = [];
    segments(an, parts, ctx, false, segs, true);
    out.push(...split(segs, ctx));
  }
  return out;
}

/** Expansion without field splitting (assignments, redirection targets, here-strings). */
export function expandJoined(an: Analyzer, w: Word, ctx: Ctx, assignment = false): Field {
  const segs: Seg[] = [];
  segments(an, w.parts, ctx, false, segs, true, assignment);
  let s = '';
  let exact = true;
  let glob = false;
  let quoted = false;
  let taint: Taint | null = null;
  for (const g of segs) {
    s += g.unk ? UNKNOWN : g.s;
    if (g.unk) exact = false;
    if (!g.q && hasGlobChars(g.s)) glob = true;
    if (g.q) quoted = true;
    taint = mergeTaint(taint, g.taint);
  }
  return { s, exact, glob, quoted, taint };
}

/** Unquoted here-document bodies: expansions happen, quotes are literal. */
export function expandHeredoc(an: Analyzer, w: Word, ctx: Ctx): Field {
  const segs: Seg[] = [];
  for (const p of w.parts) {
    if (p.t === 'lit') segs.push({ s: unescapeDq(p.v), q: true, exp: false, unk: false, taint: null });
    else segments(an, [p], ctx, true, segs, false);
  }
  let s = '';
  let exact = true;
  let taint: Taint | null = null;
  for (const g of segs) {
    s += g.unk ? UNKNOWN : g.s;
    if (g.unk) exact = false;
    taint = mergeTaint(taint, g.taint);
  }
  return { s, exact, glob: false, quoted: true, taint };
}

function braceExpand(an: Analyzer, parts: Part[]): Part[][] {
  const idx = parts.findIndex((p) => p.t === 'brace');
  if (idx < 0) return [parts];
  const b = parts[idx] as Extract<Part, { t: 'brace' }>;
  const before = parts.slice(0, idx);
  const after = parts.slice(idx + 1);
  const alts: Part[][] = [];
  if (b.seq) {
    const lo = b.elems[0] ? wordLit(b.elems[0]) : '';
    const hi = b.elems[1] ? wordLit(b.elems[1]) : '';
    const stepW = b.elems[2] ? Number(wordLit(b.elems[2])) || 1 : 1;
    const seq = sequence(lo, hi, stepW);
    if (seq === null) alts.push([{ t: 'lit', v: `{${lo}..${hi}}` }]);
    else for (const v of seq.slice(0, MAX_BRACE)) alts.push([{ t: 'lit', v }]);
  } else {
    for (const el of b.elems.slice(0, MAX_BRACE)) alts.push(el.parts);
  }
  const out: Part[][] = [];
  for (const alt of alts) {
    for (const rest of braceExpand(an, [...alt, ...after])) {
      out.push([...before, ...rest]);
      if (out.length >= MAX_BRACE) return out;
    }
  }
  return out;
}

function segments(an: Analyzer, parts: Part[], ctx: Ctx, quoted: boolean, out: Seg[], wordStart: boolean, assignment = false): void {
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    switch (p.t) {
      case 'lit': {
        let v = quoted ? unescapeDq(p.v) : unescapeLit(p.v);
        if (!quoted && ((wordStart && i === 0) || assignment) && p.v.startsWith('~')) v = tilde(an, v);
        if (!quoted && assignment) v = v.replace(/:~(?=\/|:|$)/g, ':' + an.kb.home);
        out.push({ s: v, q: quoted, exp: false, unk: false, taint: null });
        break;
      }
      case 'sq':
        out.push({ s: p.dollar ? decodeAnsiC(p.v) : p.v, q: true, exp: false, unk: false, taint: null });
        break;
      case 'dq':
        segments(an, p.parts, ctx, true, out, false);
        if (p.parts.length === 0) out.push({ s: '', q: true, exp: false, unk: false, taint: null });
        break;
      case 'param': {
        const r = param(an, p, ctx);
        if (r.vals === null) out.push({ s: '', q: quoted, exp: true, unk: true, taint: r.taint });
        else if (r.all && quoted) {
          r.vals.forEach((v, j) => out.push({ s: v, q: true, exp: true, unk: false, taint: r.taint, brk: j > 0 }));
          if (r.vals.length === 0) out.push({ s: '', q: true, exp: true, unk: false, taint: null });
        } else out.push({ s: r.vals.join(' '), q: quoted, exp: true, unk: !r.exact && r.vals.join('') === '', taint: r.taint });
        break;
      }
      case 'cmdsubst': {
        const s = an.cmdSubst(p.stmts, ctx);
        const text = s.text === null ? null : s.text.replace(/\n+$/, '');
        out.push({ s: text ?? '', q: quoted, exp: true, unk: text === null, taint: s.taint });
        break;
      }
      case 'procsubst': {
        const sub: Ctx = { ...ctx, env: ctx.env.clone(), depth: ctx.depth + 1 };
        const path = `/dev/fd/${an.nextProcFd()}`;
        if (p.op === '<(') {
          const s = an.runStmts(p.stmts, sub, NO_STREAM);
          an.procStreams.set(path, s);
        } else {
          an.runStmts(p.stmts, sub, UNKNOWN_STREAM);
        }
        out.push({ s: path, q: true, exp: false, unk: false, taint: null });
        break;
      }
      case 'arith': {
        const v = p.x ? arith(an, p.x, ctx) : 0;
        out.push({ s: v === null ? '' : String(v), q: quoted, exp: true, unk: v === null, taint: null });
        break;
      }
      case 'extglob':
        out.push({ s: `${p.op}(${p.pattern})`, q: false, exp: false, unk: false, taint: null });
        break;
      case 'brace':
        // Nested inside quotes or past the top level: literal.
        out.push({ s: '{' + p.elems.map((e) => wordLit(e)).join(p.seq ? '..' : ',') + '}', q: quoted, exp: false, unk: false, taint: null });
        break;
    }
  }
}

function tilde(an: Analyzer, v: string): string {
  if (v === '~' || v.startsWith('~/')) return an.kb.home + v.slice(1);
  const m = /^~([a-z_][\w-]*)(\/.*)?$/.exec(v);
  if (m) return (m[1] === 'root' ? '/root' : `/home/${m[1]}`) + (m[2] ?? '');
  return v;
}

/** Field splitting of unquoted expansion results, then field assembly. */
function split(segs: Seg[], ctx: Ctx): Field[] {
  const ifsVar = ctx.env.vars.get('IFS');
  const ifs = ifsVar && !ifsVar.unset ? ifsVar.vals[0] ?? ' \t\n' : ' \t\n';
  const fields: Field[] = [];
  let cur: Field | null = null;
  let curHasQuoted = false;
  const flush = (): void => {
    if (cur && (cur.s !== '' || curHasQuoted || !cur.exact)) fields.push(cur);
    cur = null;
    curHasQuoted = false;
  };
  const append = (s: string, q: boolean, unk: boolean, taint: Taint | null, globbable: boolean): void => {
    if (!cur) cur = { s: '', exact: true, glob: false, quoted: false, taint: null };
    cur.s += unk ? UNKNOWN : s;
    if (unk) cur.exact = false;
    if (globbable && hasGlobChars(s)) cur.glob = true;
    if (q) {
      cur.quoted = true;
      curHasQuoted = true;
    }
    cur.taint = mergeTaint(cur.taint, taint);
  };
  for (const g of segs) {
    if (g.brk) flush();
    if (g.unk) {
      append('', g.q, true, g.taint, false);
      continue;
    }
    if (g.exp && !g.q && ifs !== '') {
      let piece = '';
      for (const ch of g.s) {
        if (ifs.includes(ch)) {
          if (piece) append(piece, false, false, g.taint, true);
          piece = '';
          if (cur) flush();
        } else piece += ch;
      }
      if (piece) append(piece, false, false, g.taint, true);
      continue;
    }
    append(g.s, g.q, false, g.taint, !g.q);
  }
  flush();
  return fields;
}

/** Parameter expansion over known values; `vals: null` means unknown. */
export function param(an: Analyzer, p: ParamExp, ctx: Ctx): { vals: string[] | null; exact: boolean; taint: Taint | null; all: boolean } {
  const all = p.indexAll !== null || p.name === '@' || p.name === '*';
  const unknown = { vals: null, exact: false, taint: secretVarTaint(p.name, ctx), all };
  if (p.names) return unknown;
  let v = lookup(an, p.name, ctx);
  if (p.excl && !p.names && v && !v.unset && v.exact) v = lookup(an, v.vals[0] ?? '', ctx);
  else if (p.excl) return unknown;
  let vals: string[] | null = v === undefined ? null : v.unset ? [] : v.vals;
  let exact = v === undefined ? false : v.exact;
  const taint = v?.taint ?? (v === undefined ? secretVarTaint(p.name, ctx) : null);
  const isSet = v !== undefined && !v.unset;
  if (vals !== null && p.index) {
    const i = arith(an, p.index, ctx);
    if (i === null) vals = null;
    else vals = vals[i < 0 ? vals.length + i : i] !== undefined ? [vals[i < 0 ? vals.length + i : i]!] : [];
  } else if (vals !== null && !all && !v?.isArray) vals = vals.slice(0, 1);
  else if (vals !== null && !all && v?.isArray) vals = vals.slice(0, 1);
  if (p.length) {
    if (vals === null) return unknown;
    return { vals: [String(all ? vals.length : (vals[0] ?? '').length)], exact, taint, all: false };
  }
  if (p.exp) {
    const op = p.exp.op;
    const wv = (): { s: string; exact: boolean; taint: Taint | null } => {
      if (!p.exp!.word) return { s: '', exact: true, taint: null };
      const f = expandJoined(an, p.exp!.word, ctx);
      return { s: f.s, exact: f.exact, taint: f.taint };
    };
    const nonNull = vals !== null && vals.join('') !== '';
    switch (op) {
      case ':-':
      case '-':
      case ':=':
      case '=': {
        const useDefault = vals === null ? true : op === ':-' || op === ':=' ? !nonNull : !isSet;
        if (useDefault) {
          const d = wv();
          // Unknown variable with a default: assume the default (what an obfuscator relies on).
          if (op === ':=' || op === '=') ctx.env.vars.set(p.name, { vals: [d.s], exact: d.exact, taint: d.taint });
          return { vals: [d.s], exact: vals !== null && d.exact, taint: mergeTaint(taint, d.taint), all: false };
        }
        break;
      }
      case ':+':
      case '+': {
        if (vals === null) return unknown;
        const use = op === ':+' ? nonNull : isSet;
        if (!use) return { vals: [], exact, taint, all: false };
        const d = wv();
        return { vals: [d.s], exact: d.exact, taint: d.taint, all: false };
      }
      case ':?':
      case '?':
        break;
      case '#':
      case '##':
      case '%':
      case '%%': {
        if (vals === null) return unknown;
        const pat = wv();
        vals = vals.map((x) => removePattern(x, pat.s, op));
        exact &&= pat.exact;
        break;
      }
      case '^':
        if (vals) vals = vals.map((x) => x.slice(0, 1).toUpperCase() + x.slice(1));
        break;
      case '^^':
        if (vals) vals = vals.map((x) => x.toUpperCase());
        break;
      case ',':
        if (vals) vals = vals.map((x) => x.slice(0, 1).toLowerCase() + x.slice(1));
        break;
      case ',,':
        if (vals) vals = vals.map((x) => x.toLowerCase());
        break;
      case '@': {
        const w = p.exp.word ? wordLit(p.exp.word) : '';
        if (vals && w === 'E') vals = vals.map((x) => decodeAnsiC(x));
        else if (vals && w === 'U') vals = vals.map((x) => x.toUpperCase());
        else if (vals && w === 'L') vals = vals.map((x) => x.toLowerCase());
        break;
      }
    }
  }
  if (vals === null) return unknown;
  if (p.slice) {
    const off = p.slice.offset ? arith(an, p.slice.offset, ctx) : 0;
    const len = p.slice.length ? arith(an, p.slice.length, ctx) : null;
    if (off === null || (p.slice.length && len === null)) return unknown;
    vals = vals.map((x) => {
      const start = off < 0 ? Math.max(0, x.length + off) : off;
      const end = len === null ? x.length : len < 0 ? x.length + len : start + len;
      return x.slice(start, Math.max(start, end));
    });
  }
  if (p.repl) {
    const orig = expandJoined(an, p.repl.orig, ctx);
    const w = p.repl.with ? expandJoined(an, p.repl.with, ctx) : lit('');
    vals = vals.map((x) => replacePattern(x, orig.s, w.s, p.repl!.all));
    exact = exact && orig.exact && w.exact;
  }
  return { vals, exact, taint, all };
}

export function lookup(an: Analyzer, name: string, ctx: Ctx): VarVal | undefined {
  const v = ctx.env.vars.get(name);
  if (v) return v;
  if (/^\d+$/.test(name)) {
    const i = Number(name);
    if (i === 0) return { vals: [ctx.argv0], exact: true, taint: null };
    const p = ctx.positional[i - 1];
    return p === undefined ? { vals: [], exact: true, taint: null, unset: true } : { vals: [p], exact: true, taint: null };
  }
  switch (name) {
    case '@':
    case '*':
      return { vals: ctx.positional, exact: true, taint: null, isArray: true };
    case '#':
      return { vals: [String(ctx.positional.length)], exact: true, taint: null };
    case '?':
      return { vals: ['0'], exact: true, taint: null };
    case 'HOME':
      return { vals: [an.kb.home], exact: true, taint: null };
    case 'PWD':
      return ctx.env.cwd === null ? undefined : { vals: [ctx.env.cwd], exact: true, taint: null };
    case 'IFS':
      return { vals: [' \t\n'], exact: true, taint: null };
    case 'SHELL':
      return { vals: ['/bin/bash'], exact: true, taint: null };
    case 'TMPDIR':
    case 'TMP':
    case 'TEMP':
      // Unless configured otherwise, the scratch directory is /tmp.
      if (an.cfg.env[name] === undefined) return { vals: ['/tmp'], exact: true, taint: null };
      break;
    case 'USER':
    case 'LOGNAME':
      if (an.cfg.env[name] === undefined && /^\/home\/[^/]+$/.test(an.kb.home)) return { vals: [an.kb.home.slice(6)], exact: true, taint: null };
      break;
  }
  const known = an.cfg.env[name];
  if (known !== undefined) return { vals: [known], exact: true, taint: null };
  return undefined;
}

/** Arithmetic over known values (`$((...))`, indices, slices). Null when unknown. */
export function arith(an: Analyzer, x: Arith, ctx: Ctx, depth = 0): number | null {
  if (depth > 64) return null;
  switch (x.t) {
    case 'aword': {
      const f = expandJoined(an, x.w, ctx);
      if (!f.exact) return null;
      const s = f.s.trim();
      if (/^[A-Za-z_]\w*$/.test(s)) {
        const v = lookup(an, s, ctx);
        if (!v || !v.exact) return v?.unset ? 0 : null;
        const inner = (v.vals[0] ?? '0').trim();
        return parseNum(inner) ?? (inner === '' ? 0 : null);
      }
      return parseNum(s);
    }
    case 'aun': {
      const v = arith(an, x.x, ctx, depth + 1);
      if (v === null) return null;
      switch (x.op) {
        case '-':
          return -v;
        case '+':
          return v;
        case '!':
          return v ? 0 : 1;
        case '~':
          return ~v;
        case '++':
        case '--': {
          const nv = x.op === '++' ? v + 1 : v - 1;
          if (x.x.t === 'aword') ctx.env.vars.set(wordLit(x.x.w), { vals: [String(nv)], exact: true, taint: null });
          return x.post ? v : nv;
        }
        default:
          return null;
      }
    }
    case 'abin': {
      if (x.op === '=' || x.op === '+=' || x.op === '-=' || x.op === '*=' || x.op === '/=') {
        const rhs = arith(an, x.y, ctx, depth + 1);
        const name = x.x.t === 'aword' ? wordLit(x.x.w) : '';
        let val = rhs;
        if (x.op !== '=' && rhs !== null) {
          const cur = arith(an, x.x, ctx, depth + 1);
          val = cur === null ? null : x.op === '+=' ? cur + rhs : x.op === '-=' ? cur - rhs : x.op === '*=' ? cur * rhs : rhs === 0 ? null : Math.trunc(cur / rhs);
        }
        if (name) ctx.env.vars.set(name, val === null ? { vals: [], exact: false, taint: null } : { vals: [String(val)], exact: true, taint: null });
        return val;
      }
      if (x.op === '?') {
        const c = arith(an, x.x, ctx, depth + 1);
        if (x.y.t !== 'abin' || x.y.op !== ':') return null;
        if (c === null) return null;
        return c ? arith(an, x.y.x, ctx, depth + 1) : arith(an, x.y.y, ctx, depth + 1);
      }
      const a = arith(an, x.x, ctx, depth + 1);
      const b = arith(an, x.y, ctx, depth + 1);
      if (a === null || b === null) return null;
      switch (x.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return b === 0 ? null : Math.trunc(a / b);
        case '%': return b === 0 ? null : a % b;
        case '**': return b < 0 || b > 64 ? null : a ** b;
        case '<<': return a << b;
        case '>>': return a >> b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
        case '&&': return a && b ? 1 : 0;
        case '||': return a || b ? 1 : 0;
        case '==': return a === b ? 1 : 0;
        case '!=': return a !== b ? 1 : 0;
        case '<': return a < b ? 1 : 0;
        case '>': return a > b ? 1 : 0;
        case '<=': return a <= b ? 1 : 0;
        case '>=': return a >= b ? 1 : 0;
        case ',': return b;
        default: return null;
      }
    }
  }
}


function parseNum(s: string): number | null {
  if (/^-?\d+$/.test(s)) return s.length > 1 && s.startsWith('0') ? parseInt(s, 8) : parseInt(s, 10);
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s, 16);
  const m = /^(\d+)#([0-9a-zA-Z@_]+)$/.exec(s);
  if (m) {
    const base = Number(m[1]);
    if (base >= 2 && base <= 36) return parseInt(m[2]!, base);
  }
  return null;
}

function sequence(lo: string, hi: string, step: number): string[] | null {
  const st = Math.max(1, Math.abs(step));
  if (/^-?\d+$/.test(lo) && /^-?\d+$/.test(hi)) {
    const a = Number(lo);
    const b = Number(hi);
    const out: string[] = [];
    const width = (lo.startsWith('0') && lo.length > 1) || (hi.startsWith('0') && hi.length > 1) ? Math.max(lo.length, hi.length) : 0;
    if (a <= b) for (let i = a; i <= b && out.length < MAX_BRACE; i += st) out.push(width ? String(i).padStart(width, '0') : String(i));
    else for (let i = a; i >= b && out.length < MAX_BRACE; i -= st) out.push(width ? String(i).padStart(width, '0') : String(i));
    return out;
  }
  if (lo.length === 1 && hi.length === 1) {
    const a = lo.charCodeAt(0);
    const b = hi.charCodeAt(0);
    const out: string[] = [];
    if (a <= b) for (let i = a; i <= b; i += st) out.push(String.fromCharCode(i));
    else for (let i = a; i >= b; i -= st) out.push(String.fromCharCode(i));
    return out;
  }
  return null;
}