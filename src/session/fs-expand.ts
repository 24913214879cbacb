import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileGlob } from '../policy/glob.js';
import { literalDirPrefix } from '../policy/paths.js';

/**
 * Expands a path glob to the existing paths it matches, for the kernel floor (mounts and Landlock
 * take concrete paths). Bounded: at most MAX_ENTRIES directory entries are visited per pattern
 * and no deeper than MAX_DEPTH levels below the start, and dependency/VCS trees (node_modules,
 * .git) are not descended — files there are shipped by packages, not the user's secrets. Limit:
 * a match the bounded walk cannot see at launch (or one a host process creates later) is not
 * masked — the floor then is only the grant around it; anything the agent creates is its own.
 * Globs in `filesystem.ask` are expanded the same way (their opens are trapped by literal path).
 */

const MAX_ENTRIES = 20_000;
const MAX_DEPTH = 8;
const SKIP = new Set(['node_modules', '.git', '.hg', '.svn']);

function within(a: string, b: string): boolean {
  return a === b || b === '/' || a.startsWith(b + '/');
}

/** Existing paths matching any of `patterns`, walking each reachable start directory once. */
export function expandGlobs(patterns: readonly string[], roots: readonly string[]): string[] {
  const globs = patterns.map((p) => ({ glob: compileGlob(p, '/'), prefix: literalDirPrefix(p) }));
  // Start where a pattern's literal part and a reachable root meet.
  const starts = new Map<string, typeof globs>();
  const add = (dir: string, g: (typeof globs)[number]): void => {
    const list = starts.get(dir);
    if (list) list.push(g);
    else starts.set(dir, [g]);
  };
  for (const g of globs) {
    for (const r of roots) {
      if (within(r, g.prefix)) add(r, g);
      else if (within(g.prefix, r)) add(g.prefix, g);
    }
  }
  // A start inside another start is covered by the outer walk.
  const dirs = [...starts.keys()].sort();
  const outer = dirs.filter((d) => !dirs.some((o) => o !== d && within(d, o)));
  const out = new Set<string>();
  for (const start of outer) {
    const active = dirs.filter((d) => within(d, start)).flatMap((d) => starts.get(d)!);
    let budget = MAX_ENTRIES;
    const test = (p: string): void => {
      for (const g of active) if (g.glob.test(p)) out.add(p);
    };
    const walk = (dir: string, depth: number): void => {
      if (depth > MAX_DEPTH || budget <= 0) return;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (--budget <= 0) return;
        const p = join(dir, e.name);
        test(p);
        if (e.isDirectory() && !SKIP.has(e.name)) walk(p, depth + 1);
      }
    };
    test(start);
    walk(start, 0);
  }
  return [...out].sort();
}
