/**
 * The I/O half of turning a policy into a SandboxSpec: resolving host paths (symlinks, existence)
 * and checking the workspace. Kept apart from plan.ts so the planner stays pure.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { WardenError } from '../errors.js';
import { checkPath } from './plan.js';

/** The operating system, readable and executable (the coding-agent profile's system part). */
export const SYSTEM_READ_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

export interface ResolvedPaths {
  /** Canonical (realpath) existing paths, de-duplicated, in input order. */
  paths: string[];
  /** Inputs that are symlinks themselves (e.g. /bin -> usr/bin): recreate them in the sandbox. */
  symlinks: Array<{ path: string; target: string }>;
  /** Inputs that do not exist (nothing to grant). */
  missing: string[];
  /**
   * Where missing inputs would be if they were created now, in real terms (the real path of the
   * part that exists, then the rest as named), de-duplicated; none for one that cannot come to
   * exist as named (a file, or an unreadable directory, on the way; `..` past the missing part).
   */
  missingAt: string[];
}

/** Where one path leads: the result of a single walk (see HostPathView). */
interface Resolution {
  /** The real path, or undefined: a component is missing, not a directory, unreadable, or loops. */
  real: string | undefined;
  /** Every symlink followed on the way (in targets too), each by its real location, in order. */
  links: string[];
  /** The input's own last component, when it is a symlink: where it is and what it says. */
  self?: { path: string; target: string };
  /** Missing only: where it would be (see ResolvedPaths.missingAt). */
  at?: string;
}

/** Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * What one lstat (and readlink) said about a path: absent (ENOENT), not reachable (ENOTDIR,
 * EACCES, ELOOP), a symlink and its target, a directory, or something else.
 */
type Entry = { kind: 'none' } | { kind: 'unreachable' } | { kind: 'link'; target: string } | { kind: 'dir' } | { kind: 'other' };

/**
 * Fails closed on a path that changes under the walk: a symlink that is gone when read must not
 * turn into "missing" (a deny path that is missing gets no mask).
 */
function entryOf(p: string): Entry {
  let st;
  try {
    st = lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return { kind: 'unreachable' }; // nothing the sandbox could reach there either
  }
  if (!st) return { kind: 'none' };
  if (!st.isSymbolicLink()) return { kind: st.isDirectory() ? 'dir' : 'other' };
  try {
    return { kind: 'link', target: readlinkSync(p) };
  } catch (e) {
    throw new WardenError('HOST_PATH_UNSTABLE', `${p} changed while it was being resolved (a symlink, then not: ${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'retry; if it keeps happening, find what is replacing it');
  }
}

/**
 * Resolves `p` one component at a time, as the kernel would, and records every symlink it
 * follows. `entry` answers for each path prefix (once per planning, see HostPathView). The real
 * path is only ever built from components this walk saw: with no symlink met it is `p` itself.
 */
function walk(p: string, entry: (path: string) => Entry): Resolution {
  const links: string[] = [];
  let self: Resolution['self'];
  const names = p.split('/').filter(Boolean);
  // A stack of components still to visit; `input` marks the input's own last component.
  const todo = names.map((name, i) => ({ name, input: i === names.length - 1 })).reverse();
  let dir = '';
  for (let item = todo.pop(); item; item = todo.pop()) {
    if (item.name === '.') continue;
    if (item.name === '..') {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      continue;
    }
    const next = `${dir}/${item.name}`;
    const e = entry(next);
    if (e.kind === 'none') {
      const rest = todo.reverse().map((t) => t.name).filter((n) => n !== '.');
      return { real: undefined, links, ...(rest.includes('..') ? {} : { at: [next, ...rest].join('/') }) };
    }
    if (e.kind === 'unreachable' || (e.kind === 'other' && todo.length > 0)) return { real: undefined, links };
    if (e.kind === 'link') {
      if (links.push(next) > MAX_LINKS) return { real: undefined, links };
      if (item.input) self = { path: next, target: e.target };
      if (e.target.startsWith('/')) dir = '';
      todo.push(...e.target.split('/').filter(Boolean).map((name) => ({ name, input: false })).reverse());
    } else dir = next;
  }
  return { real: dir || '/', links, ...(self ? { self } : {}) };
}

/**
 * The host's paths as one planning sees them. Each path is walked once, each path prefix is
 * looked at once, and every answer about a path (where it leads, which symlinks lead there) comes
 * from that one walk. Threat: two separate lookups (a realpath, then a check for symlinks) can
 * see two different trees when something that shares a writable directory with the sandbox
 * (another session on the same workspace) swaps a directory and a symlink between them: the
 * check would pass on the directory while the mask went where the symlink pointed, leaving the
 * named path bare. With one walk, a path met through a symlink is planned (and refused, when the
 * symlink lies in a write grant) as such, and one met without is planned at its own name, which
 * the helper walks again without following anything (native/sandbox.c walk()).
 */
export class HostPathView {
  private readonly resolutions = new Map<string, Resolution>();
  private readonly entries = new Map<string, Entry>();
  private readonly entry = (p: string): Entry => {
    let e = this.entries.get(p);
    if (e === undefined) this.entries.set(p, (e = entryOf(p)));
    return e;
  };

  private resolution(p: string): Resolution {
    let r = this.resolutions.get(p);
    if (r === undefined) {
      checkPath(p, 'path');
      this.resolutions.set(p, (r = walk(p, this.entry)));
    }
    return r;
  }

  /**
   * Resolves each path: a path that is itself a symlink is reported as a symlink (so `/bin` still
   * works inside) and its resolved target is granted; symlinks in parent components are resolved.
   */
  readonly resolve = (input: readonly string[]): ResolvedPaths => {
    const out: ResolvedPaths = { paths: [], symlinks: [], missing: [], missingAt: [] };
    const seen = new Set<string>();
    for (const p of input) {
      const { real, self, at } = this.resolution(p);
      if (real === undefined) {
        out.missing.push(p);
        if (at !== undefined && !out.missingAt.includes(at)) out.missingAt.push(at);
        continue;
      }
      if (self && self.path !== real) out.symlinks.push(self);
      if (!seen.has(real)) {
        seen.add(real);
        out.paths.push(real);
      }
    }
    return out;
  };

  /**
   * The symlinks met resolving `p` (each by its own real location, in symlink targets too), in
   * order: whoever can change one of them decides where `p` leads. Up to the first component
   * that does not exist.
   */
  readonly symlinksOn = (p: string): string[] => this.resolution(p).links;
}

/** resolve() of a fresh HostPathView: one planning's answers come from one view. */
export function resolveHostPaths(input: readonly string[]): ResolvedPaths {
  return new HostPathView().resolve(input);
}

/** How many names a regular file has (its hard links); 1 for anything else or what cannot be read. */
export function fileLinkCount(p: string): number {
  try {
    const st = statSync(p);
    return st.isFile() ? st.nlink : 1;
  } catch {
    return 1;
  }
}

/** A regular file itself (lstat: a symlink to one is not). */
export function isRegularFile(p: string): boolean {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false;
  }
}

/** The workspace must be an existing directory, named canonically (no symlink in it). */
export function assertWorkspace(dir: string): string {
  try {
    checkPath(dir, 'workspace');
  } catch (e) {
    throw new WardenError('WORKSPACE_INVALID', (e as Error).message, 'pass --workspace with an absolute, normalised path');
  }
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new WardenError('WORKSPACE_INVALID', `workspace ${dir} does not exist`, 'create it or pass --workspace DIR');
  }
  if (!st.isDirectory()) throw new WardenError('WORKSPACE_INVALID', `workspace ${dir} is not a directory`, 'pass --workspace DIR');
  const real = realpathSync(dir);
  if (real !== dir) throw new WardenError('WORKSPACE_INVALID', `workspace ${dir} is a symlink or contains one (resolves to ${real})`, `pass --workspace ${real}`);
  return real;
}
