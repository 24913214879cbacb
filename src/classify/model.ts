/**
 * The analyser's data model: values (fields), data streams with provenance (taint), the symbolic
 * shell state and the per-program invocation record that effect handlers receive.
 *
 * Invariants:
 * - Unknown is explicit: a Field with `exact: false` holds the UNKNOWN marker where the value could
 *   not be computed; a Stream with `text: null` has unknown content. Nothing unknown is ever read as
 *   "harmless".
 * - Taint is provenance, not a verdict: it records that data came from a secret, a remote host, a
 *   socket or a decoder, plus the session steps that produced it, so a later sink can report a chain.
 */
import type { Stmt, Word } from './ast.js';
import type { Analyzer } from './analyze.js';
import { decodeAnsiC } from './decode.js';
import { UNKNOWN } from './glob.js';
import type { BinSpec } from './kb/binaries.js';
import type { ShellParser } from './parse.js';
import type { PathKb } from './pathkb.js';
import type { ChainLink } from './types.js';

/** Nesting bound for payload recursion (sh -c in eval in base64 ...). */
export const MAX_DEPTH = 8;
/** Analysis steps per classification: bounds time on adversarial input. */
export const STEP_BUDGET = 4000;

// ---------------------------------------------------------------------------------------------
// Data model

/** Where data came from, so a sink can tell "a secret is leaving" from "some bytes are leaving". */
export interface Taint {
  secret?: string;
  /** Recon-grade data (/etc/passwd, host keys): not a secret, but not for sending out either. */
  sensitive?: string;
  remote?: string;
  decoded?: boolean;
  socket?: string;
  /** The earlier steps that produced this data (for chain reporting). */
  links: ChainLink[];
}

export type StreamSrc = 'none' | 'literal' | 'file' | 'remote' | 'socket' | 'shell' | 'decoded' | 'unknown';

export interface Stream {
  /** Exact content when computable. */
  text: string | null;
  taint: Taint | null;
  src: StreamSrc;
  desc?: string;
  /** Exact content that is not text (decoded binary, compressed data), when known. */
  bytes?: Buffer;
  /** When text is unknown: symbolic items the stream lists (`find` results as a path pattern). */
  items?: Field[];
}

export const NO_STREAM: Stream = { text: null, taint: null, src: 'none' };
export const UNKNOWN_STREAM: Stream = { text: null, taint: null, src: 'unknown' };

export interface Field {
  s: string;
  exact: boolean;
  glob: boolean;
  quoted: boolean;
  taint: Taint | null;
}

export interface VarVal {
  vals: string[];
  exact: boolean;
  taint: Taint | null;
  unset?: boolean;
  isArray?: boolean;
}

export interface FileInfo {
  text: string | null;
  taint: Taint | null;
  downloaded?: ChainLink;
  executable?: ChainLink;
  written?: ChainLink;
  inspected?: boolean;
  /** A symlink or copy of this program (`ln -s /bin/sh x`, `cp /bin/sh x`): running it runs that. */
  linkTo?: string;
}

/** Shell state. Subshells clone it; the file map is shared (it models the filesystem). */
export class Env {
  vars: Map<string, VarVal>;
  funcs: Map<string, Stmt>;
  aliases: Map<string, string>;
  fds: Map<string, Stream>;
  cwd: string | null;
  /** `pushd` stack (`popd` restores). */
  dirStack: (string | null)[];
  files: Map<string, FileInfo>;
  constructor(cwd: string | null, files?: Map<string, FileInfo>) {
    this.vars = new Map();
    this.funcs = new Map();
    this.aliases = new Map();
    this.fds = new Map();
    this.cwd = cwd;
    this.dirStack = [];
    this.files = files ?? new Map();
  }
  /**
   * A copy for *hypothetical* runs (judging a payload that was only written, or content another
   * program may interpret): its effects on files must not leak into the session's real state.
   */
  fork(): Env {
    const e = this.clone();
    e.files = new Map(this.files);
    return e;
  }

  clone(): Env {
    const e = new Env(this.cwd, this.files);
    e.vars = new Map(this.vars);
    e.funcs = new Map(this.funcs);
    e.aliases = new Map(this.aliases);
    e.fds = new Map(this.fds);
    e.dirStack = [...this.dirStack];
    return e;
  }
}

export interface Ctx {
  env: Env;
  depth: number;
  priv: boolean;
  /** How we got here, for reasons ("via sh -c", "in decoded base64"). */
  via: string;
  positional: string[];
  argv0: string;
  /** Text of the top-level statement being analysed (for chain links). */
  stmtSrc: string;
  /** The command substitutions and pipes feeding a shell are "executed", not printed. */
  background: boolean;
}

export interface AnalyzerConfig {
  kb: PathKb;
  parser: ShellParser;
  allowedHosts: readonly string[];
  env: Readonly<Record<string, string>>;
  protectedBranches: readonly string[];
  binPaths: readonly string[];
}

/** Session-wide facts that outlive one command (chains). */
export interface SessionFacts {
  recon: ChainLink[];
  secretReads: ChainLink[];
  step: number;
}

export interface Invocation {
  a: Analyzer;
  ctx: Ctx;
  /** Program basename after wrapper/path resolution. */
  name: string;
  /** argv[0] as written (after expansion). */
  path: Field;
  args: Field[];
  spec: BinSpec | undefined;
  stdin: Stream;
  /** Prefix assignments (`FOO=bar cmd`). */
  assigns: Map<string, Field>;
}

export function mergeTaint(a: Taint | null, b: Taint | null): Taint | null {
  if (!a) return b;
  if (!b) return a;
  const t: Taint = { links: dedupeLinks([...a.links, ...b.links]) };
  const secret = a.secret ?? b.secret;
  const remote = a.remote ?? b.remote;
  const socket = a.socket ?? b.socket;
  if (secret !== undefined) t.secret = secret;
  const sensitive = a.sensitive ?? b.sensitive;
  if (sensitive !== undefined) t.sensitive = sensitive;
  if (remote !== undefined) t.remote = remote;
  if (socket !== undefined) t.socket = socket;
  if (a.decoded || b.decoded) t.decoded = true;
  return t;
}

export function dedupeLinks(links: ChainLink[]): ChainLink[] {
  const seen = new Set<string>();
  const out: ChainLink[] = [];
  for (const l of links) {
    const k = `${l.step}\u0000${l.role}\u0000${l.command}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(l);
    }
  }
  return out.slice(0, 8);
}

export function basename(p: string): string {
  const s = p.endsWith('/') ? p.slice(0, -1) : p;
  return s.slice(s.lastIndexOf('/') + 1);
}

/** Removes quoting backslashes from an unquoted literal. */
/** Removes quoting backslashes from an unquoted literal. */
export function unescapeLit(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\\n/g, '').replace(/\\(.)/gs, '$1');
}

/** Backslashes inside double quotes only escape $ ` " \ and newline. */
export function unescapeDq(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\\n/g, '').replace(/\\([$`"\\])/g, '$1');
}

export function lit(s: string): Field {
  return { s, exact: !s.includes(UNKNOWN), glob: false, quoted: false, taint: null };
}

export function unknownField(taint: Taint | null): Field {
  return { s: UNKNOWN, exact: false, glob: false, quoted: false, taint };
}

export function wordLit(w: Word): string {
  let s = '';
  for (const p of w.parts) {
    if (p.t === 'lit') s += unescapeLit(p.v);
    else if (p.t === 'sq') s += p.dollar ? decodeAnsiC(p.v) : p.v;
    else if (p.t === 'dq') s += wordLit({ parts: p.parts });
    else s += UNKNOWN;
  }
  return s;
}
export function shellQuote(s: string): string {
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function display(s: string): string {
  const t = s.replace(new RegExp(UNKNOWN, 'g'), '…');
  return t.length > 80 ? t.slice(0, 77) + '...' : t;
}

/** Source text of a statement (positions are UTF-8 byte offsets). */
export function sliceSrc(src: string, st: Stmt, bytes: Buffer | null): string {
  // Offsets are bytes; for ASCII sources (bytes === null) they are string indices.
  const end = Math.min(st.end, st.pos + 400);
  if (bytes === null) return src.slice(st.pos, end).trim();
  return bytes.subarray(st.pos, end).toString('utf8').trim();
}