/**
 * The I/O half of turning a policy into a SandboxSpec: resolving host paths (symlinks, existence)
 * and checking the workspace. Kept apart from plan.ts so the planner stays pure.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
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
}

/**
 * Resolves each path: a path that is itself a symlink is reported as a symlink (so `/bin` still
 * works inside) and its resolved target is granted; symlinks in parent components are resolved.
 */
export function resolveHostPaths(input: readonly string[]): ResolvedPaths {
  const out: ResolvedPaths = { paths: [], symlinks: [], missing: [] };
  const seen = new Set<string>();
  for (const p of input) {
    checkPath(p, 'path');
    let real: string;
    // Most deny-list entries do not exist on a given machine: check cheaply before realpath,
    // whose ENOENT exception costs far more than the lookup (start-up time is a budget).
    if (!existsSync(p)) {
      out.missing.push(p);
      continue;
    }
    try {
      real = realpathSync(p);
    } catch {
      out.missing.push(p);
      continue;
    }
    try {
      if (lstatSync(p).isSymbolicLink()) {
        const parent = realpathSync(p.slice(0, p.lastIndexOf('/')) || '/');
        const link = `${parent === '/' ? '' : parent}/${p.slice(p.lastIndexOf('/') + 1)}`;
        if (link !== real) out.symlinks.push({ path: link, target: readlinkSync(p) });
      }
    } catch {
      /* raced away: the realpath result stands */
    }
    if (!seen.has(real)) {
      seen.add(real);
      out.paths.push(real);
    }
  }
  return out;
}

/**
 * The symlinks met while resolving `p` (each by its own real location), in order: whoever can
 * change one of them decides where `p` leads. Stops at the first component that does not exist.
 */
export function symlinksOnPath(p: string): string[] {
  checkPath(p, 'path');
  const links: string[] = [];
  let dir = '/';
  for (const name of p.split('/').filter(Boolean)) {
    const next = dir === '/' ? `/${name}` : `${dir}/${name}`;
    try {
      if (lstatSync(next).isSymbolicLink()) {
        links.push(next);
        dir = realpathSync(next);
      } else dir = next;
    } catch {
      break;
    }
  }
  return links;
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
