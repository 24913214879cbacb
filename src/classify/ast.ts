/**
 * Plain-data shell AST. `parse.ts` converts mvdan/sh's GopherJS object graph into this shape once,
 * so the analyser never touches the parser's live objects (and could swap parsers without change).
 * Only what classification needs is kept; positions are byte offsets into the UTF-8 source.
 */

export interface Stmt {
  cmd: Cmd | null;
  negated: boolean;
  background: boolean;
  redirs: Redir[];
  /** Byte offsets of the statement in the source it was parsed from. */
  pos: number;
  end: number;
}

export type BinaryOp = '&&' | '||' | '|' | '|&';

export type Cmd =
  | { t: 'call'; assigns: Assign[]; args: Word[] }
  | { t: 'binary'; op: BinaryOp; x: Stmt; y: Stmt }
  | { t: 'block'; stmts: Stmt[] }
  | { t: 'subshell'; stmts: Stmt[] }
  | { t: 'if'; cond: Stmt[]; then: Stmt[]; else: Stmt[] }
  | { t: 'while'; cond: Stmt[]; body: Stmt[]; until: boolean }
  | { t: 'for'; name: string | null; items: Word[] | null; body: Stmt[]; arith: Arith[] }
  | { t: 'case'; word: Word; items: { patterns: Word[]; stmts: Stmt[] }[] }
  | { t: 'func'; name: string; body: Stmt }
  | { t: 'decl'; variant: string; args: Assign[] }
  | { t: 'test'; words: Word[] }
  | { t: 'arith'; exprs: Arith[] }
  | { t: 'time'; stmt: Stmt | null }
  | { t: 'coproc'; stmt: Stmt | null };

export interface Assign {
  /** Empty for a naked word argument of `declare`/`export` such as `-x`. */
  name: string;
  value: Word | null;
  array: { index: Arith | null; value: Word }[] | null;
  index: Arith | null;
  append: boolean;
  /** `export x` / `declare -x` style: a bare name or flag, no `=`. */
  naked: boolean;
}

export interface Word {
  parts: Part[];
}

export type ParamOp =
  | '+' | ':+' | '-' | ':-' | '?' | ':?' | '=' | ':='
  | '%' | '%%' | '#' | '##' | '^' | '^^' | ',' | ',,' | '@';

export interface ParamExp {
  t: 'param';
  name: string;
  /** `$x` rather than `${x}`. */
  short: boolean;
  /** `${#x}` */
  length: boolean;
  /** `${!x}` (indirection) or `${!prefix*}` when `names` is set. */
  excl: boolean;
  names: boolean;
  index: Arith | null;
  /** `@` or `*` subscript. */
  indexAll: '@' | '*' | null;
  slice: { offset: Arith | null; length: Arith | null } | null;
  repl: { all: boolean; orig: Word; with: Word | null } | null;
  exp: { op: ParamOp; word: Word | null } | null;
}

export type Part =
  | { t: 'lit'; v: string }
  | { t: 'sq'; v: string; dollar: boolean }
  | { t: 'dq'; parts: Part[]; dollar: boolean }
  | ParamExp
  | { t: 'cmdsubst'; stmts: Stmt[]; src: string }
  | { t: 'procsubst'; op: '<(' | '>('; stmts: Stmt[]; src: string }
  | { t: 'arith'; x: Arith | null }
  | { t: 'extglob'; op: string; pattern: string }
  | { t: 'brace'; seq: boolean; elems: Word[] };

export type Arith =
  | { t: 'abin'; op: string; x: Arith; y: Arith }
  | { t: 'aun'; op: string; post: boolean; x: Arith }
  | { t: 'aword'; w: Word };

export interface Redir {
  op: RedirOp;
  /** Explicit fd number or `{var}` name before the operator, if any. */
  n: string | null;
  word: Word | null;
  /** Here-document body. */
  hdoc: Word | null;
  /** The here-document delimiter was quoted: the body is literal. */
  hdocQuoted: boolean;
}

export type RedirOp = '>' | '>>' | '<' | '<>' | '<&' | '>&' | '>|' | '<<' | '<<-' | '<<<' | '&>' | '&>>';

export interface ParsedScript {
  stmts: Stmt[];
}
