import { posix } from 'node:path';
import { hasGlobMeta } from './glob.js';

/**
 * Pure path-pattern expansion. `~` and `${home}` expand to the home directory, `${workspace}` to
 * the workspace, relative patterns resolve against the policy file's directory, and `.`/`..` are
 * normalised away — so `${workspace}/../.ssh` is seen for what it is (`$HOME/.ssh`), not as a path
 * "inside the workspace".
 */

export interface PathContext {
  home: string;
  workspace: string;
  /** Directory of the policy file; built-in profiles use the workspace. */
  policyDir: string;
}

export class PathExpandError extends Error {}

const VAR = /\$\{([^}]*)\}/g;

export function expandPathPattern(raw: string, ctx: PathContext): string {
  if (raw.includes('\n') || raw.includes('\r')) throw new PathExpandError('newline in path');
  let s = raw;
  if (s === '~') s = ctx.home;
  else if (s.startsWith('~/')) s = ctx.home + s.slice(1);
  else if (s.startsWith('~')) throw new PathExpandError('"~user" is not supported; use an absolute path');
  s = s.replace(VAR, (_m, name: string) => {
    if (name === 'workspace') return ctx.workspace;
    if (name === 'home') return ctx.home;
    throw new PathExpandError(`unknown variable \${${name}} (known: \${workspace}, \${home})`);
  });
  if (s.includes('${')) throw new PathExpandError('unterminated ${...}');
  if (!s.startsWith('/')) s = posix.join(ctx.policyDir, s);
  return normalizeAbsolute(s);
}

/** Normalises an absolute path: collapses `//`, `.`, `..` (never above `/`), drops a trailing `/`. */
export function normalizeAbsolute(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * The literal directory prefix of a pattern: the part before the first segment containing a glob
 * metacharacter. Used to resolve symlinks in what the author wrote (e.g. `/var/run` → `/run`).
 */
export function literalDirPrefix(pattern: string): string {
  const segs = pattern.split('/');
  const out: string[] = [];
  for (const seg of segs) {
    if (hasGlobMeta(seg)) break;
    out.push(seg);
  }
  const joined = out.join('/');
  return joined === '' ? '/' : joined;
}

/** Every ancestor of an absolute path, from the path itself up to `/`. */
export function selfAndAncestors(p: string): string[] {
  const out = [p];
  let cur = p;
  while (cur !== '/') {
    const i = cur.lastIndexOf('/');
    cur = i <= 0 ? '/' : cur.slice(0, i);
    out.push(cur);
  }
  return out;
}

/**
 * The path with symlinks resolved (for a path that does not exist yet: its deepest existing
 * ancestor resolved, the rest appended): where the kernel will actually look. `realpath` is the
 * caller's I/O (undefined for a path that does not exist); undefined when nothing resolves.
 */
export function resolvedForm(abs: string, realpath: ((p: string) => string | undefined) | undefined): string | undefined {
  if (!realpath) return undefined;
  let head = abs;
  const tail: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const r = realpath(head);
    if (r !== undefined) return tail.length ? posix.join(r, ...tail.reverse()) : r;
    if (head === '/') return undefined;
    tail.push(posix.basename(head));
    head = posix.dirname(head);
  }
  return undefined;
}
