import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError } from './errors.js';

/**
 * The package root, found from this module's own location (works from src/ under tsx, from
 * dist/src/ after tsc, and from a bundle in dist/), never from the cwd: a workspace the agent
 * controls must not be able to plant a profile, a schema or a helper binary that Warden would
 * then trust.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  // The answer for a module location cannot change while the process runs (each miss costs
  // failed reads, and `warden run` asks several times at start-up, where time is a budget).
  let root = roots.get(from);
  if (root === undefined) roots.set(from, (root = findRoot(from)));
  return root;
}

const roots = new Map<string, string>();

function findRoot(from: string): string {
  let dir = dirname(from);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'warden') return dir;
    } catch {
      /* not here */
    }
    const up = dirname(dir);
    if (up === dir) throw new WardenError('INTERNAL', 'cannot locate the warden package root', 'reinstall warden');
    dir = up;
  }
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
