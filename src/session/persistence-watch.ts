/**
 * What a session leaves in the workspace that runs outside the sandbox later without anyone
 * choosing to run it: a repository's hooks and config (run by git on the host), editor tasks and
 * settings, agents' own settings and MCP server lists, direnv files. Threat: persistence — the
 * agent cannot act outside the sandbox now, so it plants something the host runs later. Where a
 * file exists at launch the default profile keeps the git ones read-only; what the floor cannot
 * stop (a repository the agent creates, files that did not exist at launch, paths a policy
 * leaves writable) is reported when the session ends: on stderr and in the audit log.
 *
 * Only these fixed paths at the workspace's top level are looked at (a few lstat calls at start
 * and end): nested repositories and everything else the agent writes are its work product, which
 * the user runs by choice.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Relative to the workspace. `.git/hooks` is watched entry by entry (samples aside). */
export const WATCHED = [
  '.git/config',
  '.git/hooks',
  '.gitmodules',
  '.vscode/tasks.json',
  '.vscode/settings.json',
  '.vscode/launch.json',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.mcp.json',
  '.envrc',
] as const;

export type Snapshot = ReadonlyMap<string, string>;
export interface Change {
  path: string;
  change: 'created' | 'modified' | 'removed';
}

/** A file's identity and content stamp (kind, inode, size, mtime), or absent. */
function signature(p: string): string | undefined {
  try {
    const st = lstatSync(p, { bigint: true });
    const kind = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'o';
    return `${kind}:${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** The watched paths of `workspace` as they are now (I/O: lstat and one readdir). */
export function snapshot(workspace: string): Snapshot {
  const out = new Map<string, string>();
  for (const rel of WATCHED) {
    if (rel === '.git/hooks') {
      let names: string[] = [];
      try {
        names = readdirSync(join(workspace, rel));
      } catch {
        // no hooks directory (or not a directory): nothing in it to watch
      }
      for (const n of names) {
        if (n.endsWith('.sample')) continue;
        const sig = signature(join(workspace, rel, n));
        if (sig !== undefined) out.set(`${rel}/${n}`, sig);
      }
      continue;
    }
    const sig = signature(join(workspace, rel));
    if (sig !== undefined) out.set(rel, sig);
  }
  return out;
}

/** Pure: what changed between two snapshots, in path order. */
export function changes(before: Snapshot, after: Snapshot): Change[] {
  const out: Change[] = [];
  for (const [path, sig] of after) {
    const was = before.get(path);
    if (was === undefined) out.push({ path, change: 'created' });
    else if (was !== sig) out.push({ path, change: 'modified' });
  }
  for (const path of before.keys()) if (!after.has(path)) out.push({ path, change: 'removed' });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One line for stderr, or undefined when nothing changed. */
export function notice(list: readonly Change[]): string | undefined {
  if (list.length === 0) return undefined;
  const shown = list.slice(0, 8).map((c) => `${c.path} (${c.change})`);
  if (list.length > shown.length) shown.push(`${list.length - shown.length} more`);
  return `warden: this session changed files in the workspace that run outside the sandbox: ${shown.join(', ')} (fix: review them before running git, your editor or an agent there)`;
}
