import { WardenError } from '../errors.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { WardenDirs } from '../paths.js';
import type { DegradableLayer, SandboxSpec } from '../sandbox/spec.js';
import type { ResolvedPaths } from '../sandbox/host-paths.js';

/**
 * Pure mapping from a compiled policy to the sandbox's kernel floor. The filesystem zones become
 * mounts and Landlock rules; the environment becomes an exact allowlist; limits get safe defaults
 * (a fork bomb or a memory hog is bounded even when the policy says nothing).
 *
 * Warden's own state (audit log, keys, sockets, caches) is always added to the deny list, so a
 * grant of a parent directory (say, `~/.local`) never exposes it; a grant *inside* it is refused
 * by the planner.
 */

export interface HostFacts {
  /** Symlink-resolving, existence-checking resolution of concrete paths (host-paths.ts). */
  resolve: (paths: readonly string[]) => ResolvedPaths;
  /** The symlinks met resolving a path, each by its real location (host-paths.ts). */
  symlinksOn: (path: string) => string[];
  /** Hard links of a regular file (1 for anything else). */
  fileLinks: (path: string) => number;
  /** The path is a regular file itself (not followed if a symlink). */
  isFile: (path: string) => boolean;
  /** Existing paths matching any of the glob patterns, within the roots the sandbox can reach. */
  expandGlobs: (patterns: readonly string[], roots: readonly string[]) => string[];
  totalMemoryBytes: number;
}

export interface SpecInputs {
  policy: CompiledPolicy;
  argv: string[];
  /** Where the command starts: the caller's cwd when it lies in the workspace, else the workspace. */
  cwd: string;
  hostEnv: NodeJS.ProcessEnv;
  allowDegraded: DegradableLayer[];
  /** stdin is a terminal: keep the session (job control) — seccomp still blocks TIOCSTI. */
  interactive: boolean;
  dirs: WardenDirs;
  /**
   * What the agent must not change, because a later `warden run` trusts it (absolute): the policy
   * file, the MCP lockfile (pinned tool definitions), the parts of Warden's own package that run
   * outside any sandbox. When a write grant holds
   * one, it is bound read-only inside and pinned in place; a workspace at or inside one, or a
   * write grant inside one, is refused.
   */
  protect?: string[];
  /** Extra variables Warden itself sets (proxy settings, later). */
  extraEnv?: Record<string, string>;
  tcpConnectPorts?: number[];
}

const SIZE = /^([0-9]+)([KMGT]?)$/;
const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(s: string): number {
  const m = SIZE.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * UNIT[m[2] ?? '']!;
}

/** Default task limit: generous for builds, fatal for fork bombs. */
export const DEFAULT_PIDS = 4096;

function isGlob(p: string): boolean {
  return /[*?[\]{}]/.test(p);
}

function within(a: string, b: string): boolean {
  return a === b || b === '/' || a.startsWith(b + '/');
}

/** The environment inside: only what the policy passes, plus what it sets, plus Warden's own. */
export function sandboxEnv(policy: CompiledPolicy, hostEnv: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(hostEnv)) {
    if (v === undefined || k.includes('=') || k.includes('\0') || v.includes('\0')) continue;
    if (policy.envPass.some((g) => g.test(k))) env[k] = v;
  }
  Object.assign(env, policy.envSet, extra);
  return env;
}

export function specFromPolicy(inp: SpecInputs, host: HostFacts): SandboxSpec {
  const { policy } = inp;
  const split = (patterns: readonly string[], roots: readonly string[]): string[] => {
    const globs = patterns.filter(isGlob);
    return [...patterns.filter((p) => !isGlob(p)), ...(globs.length ? host.expandGlobs(globs, roots) : [])];
  };
  const literalGrants = [...policy.fs.read, ...policy.fs.write].filter((p) => !isGlob(p));
  const read = host.resolve(split(policy.fs.read, literalGrants));
  const write = host.resolve(split(policy.fs.write, literalGrants));
  // Deny globs are materialised in the workspace, where projects keep their `.env` files, and
  // under their own literal prefix when that prefix is a granted directory (`~/.config/app-*/token`
  // walks ~/.config only if ~/.config is granted). Caches and toolchains are not walked: that
  // would cost seconds at every start for files no one keeps secrets in.
  const deny = host.resolve(split(policy.fs.deny, [policy.workspace]));
  // `filesystem.ask` zones are masked at the floor like deny paths (the planner does that), and
  // with live mediation each open under one is decided, asked and emulated (native/notify.c).
  // Zones that do not exist yet are kept by name: a file created there during the session is
  // still asked about, never read freely.
  const ask = host.resolve(split(policy.fs.ask, [policy.workspace]));
  // Each zone by its real location (masked at the floor, asked live); every other name the policy
  // gives one — through a symlink, or where nothing can be masked now (a file, an unreadable
  // directory on the way) — is asked live but not masked (see SandboxSpec.askAliases).
  const askPaths = [...new Set([...ask.paths, ...ask.missingAt])];
  const askAliases = [...new Set(policy.fs.ask.filter((p) => !isGlob(p) && !askPaths.includes(p)))];
  const own = [inp.dirs.state, inp.dirs.keys, inp.dirs.run, inp.dirs.audit];
  const ownExisting = host.resolve(own).paths;
  // A deny path missing now is planned where it would be: the helper masks whatever is there
  // when it builds the mount tree (a file that appears between this look and the mount is masked
  // too), and skips it if nothing is.
  const denyPaths = [...new Set([...deny.paths, ...deny.missingAt, ...ownExisting])];

  const limits = policy.limits;
  const memoryBytes = limits?.memory ? parseSize(limits.memory) : Math.floor(host.totalMemoryBytes / 2);
  const cwd = within(inp.cwd, policy.workspace) ? inp.cwd : policy.workspace;
  // A read grant nested in a write grant is a read-only bind on top of it (the planner's mount
  // order): it can be neither written nor renamed or removed (a mount point) inside, and it wins
  // over a write grant of the same path.
  const writable = [policy.workspace, ...write.paths];
  // Paths named literally must stay where they are named (glob matches are found again at the
  // next start wherever they are): see SandboxSpec.pinned. Named through a symlink the agent can
  // change, they would not: the next session would mask or trust whatever the agent pointed it at.
  const literal = (kind: string, ps: readonly string[]): string[] => {
    for (const p of ps)
      for (const l of host.symlinksOn(p)) {
        const w = writable.find((g) => within(l, g));
        if (w !== undefined)
          throw new WardenError('POLICY_INVALID', `${kind} ${p} is reached through the symlink ${l}, which the agent can change (it lies in the writable ${w})`, 'name it by its real path');
      }
    return host.resolve(ps).paths;
  };
  const protectedPaths = literal('a protected path', inp.protect ?? []);
  for (const p of protectedPaths)
    for (const w of writable)
      if (within(w, p) && (w !== p || w === policy.workspace)) {
        const [code, what] = w === policy.workspace ? (['WORKSPACE_INVALID', 'the workspace'] as const) : (['POLICY_INVALID', 'filesystem.write'] as const);
        throw new WardenError(code, `${what} ${w} lies in ${p}, which the agent must not change (a later warden run trusts it)`, 'grant a path outside it, or run an installed copy of Warden');
      }
  const guarded = protectedPaths.filter((p) => writable.some((w) => within(p, w)));
  // A read-only bind protects one name; another hard link in a write grant is the same file.
  for (const g of guarded) {
    const n = host.fileLinks(g);
    if (n > 1) throw new WardenError('POLICY_INVALID', `${g} has ${n} names (hard links), and the agent could change it through another one`, 'keep it as a single file (cp it to a new name)');
  }
  const readPaths = [...read.paths.filter((p) => !write.paths.includes(p)), ...guarded];
  // A private directory is a mount point: in a read-only grant it must already be there (nothing
  // can create it), and where it is not, there is nothing of the host's to hide and nothing the
  // agent can create in its place.
  const missing = new Set(host.resolve(policy.fs.private).missing);
  const holder = (p: string): 'read' | 'write' | undefined => {
    const g = [...writable, ...readPaths].filter((h) => within(p, h)).sort((a, b) => a.length - b.length).pop();
    return g === undefined ? undefined : readPaths.includes(g) ? 'read' : 'write';
  };
  const privatePaths = [...new Set(policy.fs.private)].filter((p) => !(missing.has(p) && holder(p) === 'read'));
  // A literal read grant inside a write grant is a read-only island (say, a repository's
  // .git/config): pinned like a deny path, or the agent renames a directory above it away and
  // leaves its own file at that path for the host and the next session. One reached through a
  // symlink the agent can change cannot be pinned in place; it stays a read-only bind of today's
  // target.
  // An island that cannot exist because a file stands where one of its directories would be (a
  // worktree's or submodule's `.git` is a file naming the real git directory) is kept from
  // existing by keeping that file: it is the island then (else the agent points it elsewhere).
  const inWritable = (p: string): boolean => writable.some((w) => p !== w && within(p, w));
  const literalReads = policy.fs.read.filter((p) => !isGlob(p) && inWritable(p) && !write.paths.includes(p));
  const unreachable = new Set(host.resolve(literalReads).missing);
  const blockers = [...unreachable].flatMap((p) => {
    for (let a = p.slice(0, p.lastIndexOf('/')); a.length > 1 && inWritable(a); a = a.slice(0, a.lastIndexOf('/'))) if (host.isFile(a)) return [a];
    return [];
  });
  const islands = [...new Set([...literalReads.filter((p) => !unreachable.has(p)), ...blockers])].filter((p) => host.symlinksOn(p).every((l) => !writable.some((w) => within(l, w))));
  readPaths.push(...host.resolve(blockers).paths.filter((p) => !readPaths.includes(p)));
  const pinned = [
    ...literal('filesystem.deny', policy.fs.deny.filter((p) => !isGlob(p))),
    ...literal('filesystem.ask', policy.fs.ask.filter((p) => !isGlob(p))),
    ...host.resolve(islands).paths,
    ...guarded,
  ];
  return {
    workspace: policy.workspace,
    readPaths,
    writePaths: write.paths.filter((p) => p !== policy.workspace && !guarded.includes(p)),
    ...(pinned.length ? { pinned: [...new Set(pinned)] } : {}),
    ...(ownExisting.length ? { ownPaths: ownExisting } : {}),
    denyPaths,
    ...(askPaths.length ? { askPaths } : {}),
    ...(askAliases.length ? { askAliases } : {}),
    ...(privatePaths.length ? { privatePaths } : {}),
    symlinks: [...read.symlinks, ...write.symlinks],
    env: sandboxEnv(policy, inp.hostEnv, inp.extraEnv),
    limits: {
      memoryBytes,
      pids: limits?.pids ?? DEFAULT_PIDS,
      ...(limits?.cpu !== undefined ? { cpu: limits.cpu } : {}),
      ...(limits?.nofile !== undefined ? { nofile: limits.nofile } : {}),
    },
    tcpConnectPorts: inp.tcpConnectPorts ?? [],
    allowDegraded: inp.allowDegraded,
    argv: inp.argv,
    cwd,
    newSession: !inp.interactive,
  };
}
