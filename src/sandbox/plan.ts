/**
 * The plan builder: SandboxSpec + ProbeReport -> Plan, pure (no I/O), so every decision about
 * what the sandbox may reach is unit-testable without a kernel. The native helper applies the
 * plan mechanically (native/PLAN.md); whatever is not in the plan does not exist inside.
 *
 * Invariants:
 *  - The sandbox root is an empty tmpfs; only planned mounts appear in it (no host path is visible
 *    by default, including Warden's own state).
 *  - Deny overrides read/write: grants at or under a denied path are dropped; a denied path under
 *    a grant is masked by an empty read-only object mounted over it (Landlock can only add rights
 *    beneath a path, never subtract, so the mask is what enforces deny inside a grant).
 *  - Read-only is enforced twice: Landlock (no write rights) and a read-only bind (which also stops
 *    chmod/chown/utime/xattr, which Landlock does not cover).
 *  - A spec that grants any of Warden's own directories, or a parent of one without denying it,
 *    or a writable parent of one at all, is refused: the audit log and keys must stay unreachable.
 *  - No path the spec pins (what the policy names literally, the policy file, Warden's package)
 *    can be moved out of its place inside a write grant: the directories between it and the grant
 *    are bound onto themselves, so a path masked or read-only now is still there next time.
 */
import { posix } from 'node:path';
import { WardenError } from '../errors.js';
import type { ProbeReport } from './probe.js';
import { seccompFilterFor } from './seccomp/precompiled.js';
import { DEGRADABLE_LAYERS, EGRESS_DNS_PORT, EGRESS_PORT, egressEnv, type DegradableLayer, type SandboxSpec } from './spec.js';

/** Landlock filesystem rights, as the kernel numbers them. */
export const LL = {
  EXECUTE: 1 << 0,
  WRITE_FILE: 1 << 1,
  READ_FILE: 1 << 2,
  READ_DIR: 1 << 3,
  REMOVE_DIR: 1 << 4,
  REMOVE_FILE: 1 << 5,
  MAKE_CHAR: 1 << 6,
  MAKE_DIR: 1 << 7,
  MAKE_REG: 1 << 8,
  MAKE_SOCK: 1 << 9,
  MAKE_FIFO: 1 << 10,
  MAKE_BLOCK: 1 << 11,
  MAKE_SYM: 1 << 12,
  REFER: 1 << 13,
  TRUNCATE: 1 << 14,
  IOCTL_DEV: 1 << 15,
} as const;
/** "read" paths: read_file | read_dir | execute. */
export const LL_READ = LL.EXECUTE | LL.READ_FILE | LL.READ_DIR;
/** "write" paths: every right up to ABI 7 (the helper drops what the running ABI lacks). */
export const LL_ALL = (1 << 16) - 1;
export const LL_NET_BIND_TCP = 1;
export const LL_NET_CONNECT_TCP = 2;
export const LL_SCOPE_ABSTRACT_UNIX_SOCKET = 1;
export const LL_SCOPE_SIGNAL = 2;
export const LL_LOG_NEW_EXEC_ON = 2;

export type MountOp =
  | { op: 'bind'; src: string; dst: string; readOnly: boolean; dev?: boolean; srcInNewRoot?: boolean; noexec?: boolean }
  | { op: 'tmpfs'; dst: string; mode: number; sizeBytes: number; readOnly?: boolean; noexec?: boolean }
  /** Copy-on-write over the host's directory `src`: its files visible, every change in a tmpfs of the sandbox's own (an empty one if `src` is not a directory there). */
  | { op: 'cow'; src: string; dst: string; mode: number; sizeBytes: number }
  | { op: 'proc'; dst: string }
  | { op: 'devpts'; dst: string }
  | { op: 'mask'; dst: string }
  | { op: 'symlink'; target: string; dst: string }
  | { op: 'dir'; dst: string; mode: number }
  | { op: 'ro'; dst: string };

export type RlimitName = 'CPU' | 'FSIZE' | 'DATA' | 'CORE' | 'NPROC' | 'NOFILE' | 'AS';
export interface Rlimit {
  resource: RlimitName;
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

export interface CgroupWrite {
  /** 'parent' writes into the parent (v2 cgroup.subtree_control); 'session' into warden-<pid>. */
  target: 'session' | 'parent';
  key: string;
  value: string;
  /** A failed optional write (e.g. memsw without swap accounting) is not a refusal. */
  optional: boolean;
}
export interface CgroupDir {
  controller: 'memory' | 'pids' | 'cpu' | 'unified';
  /** The helper creates <parent>/warden-<helper pid>, moves the tree in, kills and removes it at exit. */
  parent: string;
  writes: CgroupWrite[];
  /** Files reported on the exit line as cg.<name>=<value> (peaks). */
  reads: string[];
}

export interface Plan {
  formatVersion: 1;
  /** The helper refuses to run unless its parent is this pid (the supervisor may die before the helper's prctl). */
  supervisorPid: number;
  /** fd number of the status channel in the helper (the plan itself is always fd 3). */
  statusFd: number;
  /** goGate: the helper sets everything up, then waits for the supervisor's release (fd 5) before exec. */
  /** mediateExec: execs trap to the helper's notify loop, which relays them on fd 6 (exec mediation). */
  flags: { newSession: boolean; legacyMount: boolean; goGate?: boolean; mediateExec?: boolean };
  hostname: string;
  /** In order; paths are inside the new root, bind sources are host paths. */
  mounts: MountOp[];
  landlock: {
    minAbi: number;
    /** null = no cap; else behave as if the kernel ABI were at most this (WARDEN_LANDLOCK_ABI_MAX). */
    abiMax: number | null;
    fs: Array<{ path: string; access: number }>;
    net: Array<{ port: number; access: number }>;
    scopes: number;
    restrictFlags: number;
  };
  rlimits: Rlimit[];
  /** Per-pid-namespace pid_max, 0 = leave alone. */
  pidMax: number;
  cgroups: CgroupDir[];
  seccomp: { bytes: Uint8Array; insns: number; description: string[] } | null;
  /** KEY=VALUE, exactly the command's environment. */
  env: string[];
  argv: string[];
  cwd: string;
  degradable: DegradableLayer[];
  /** "Ask" file zones the helper's notify loop sends to the supervisor (empty = opens are not trapped). */
  ask: string[];
  /** The egress relay (native/relay.c), null = no network at all (loopback only). */
  relay: { tcpPort: number; dnsPort: number; dnsTcp: boolean; proxySocket: string; dnsSocket: string } | null;
  /** Human-readable notes on choices and fallbacks (for --explain and the audit record). */
  notes: string[];
}

const MiB = 1024 * 1024;
/** Mounts the sandbox synthesizes itself; a spec may not grant or deny anything at or under them. */
const SYNTHESIZED = ['/proc', '/dev'];
const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A string that round-trips through UTF-8 (no lone surrogates). */
export function wellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

function invalid(message: string, hint?: string): never {
  throw new WardenError('POLICY_INVALID', message, hint);
}

/** Absolute, normalised, representable: refuse rather than reinterpret. */
export function checkPath(p: unknown, what: string): string {
  if (typeof p !== 'string' || p.length === 0) invalid(`${what}: path must be a non-empty string`);
  if (p.includes('\0')) invalid(`${what}: path contains a NUL byte: ${JSON.stringify(p)}`);
  if (/[\n\r]/.test(p)) invalid(`${what}: path contains a newline: ${JSON.stringify(p)}`, 'rename the path');
  if (!wellFormed(p) || p.includes('\uFFFD'))
    invalid(`${what}: path is not valid UTF-8 (or contains U+FFFD): ${JSON.stringify(p)}`, 'Warden refuses such paths rather than guess; rename the path');
  if (!p.startsWith('/')) invalid(`${what}: path must be absolute: ${p}`);
  if (posix.normalize(p) !== p || (p !== '/' && p.endsWith('/'))) invalid(`${what}: path must be normalised: ${p}`, `use ${posix.normalize(p).replace(/(.)\/$/, '$1')}`);
  if (Buffer.byteLength(p) > 4000) invalid(`${what}: path too long`);
  return p;
}

/** a is b or lies beneath b. */
export function isWithin(a: string, b: string): boolean {
  return a === b || b === '/' || a.startsWith(b + '/');
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}

function byDepth(a: string, b: string): number {
  return depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function int(v: number | undefined, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < min || v > max) invalid(`limits.${what} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

/**
 * Pure: the plan for `spec` on the machine described by `probe`. Throws WardenError
 * (POLICY_INVALID for bad paths or grants of Warden's state, WORKSPACE_INVALID, USAGE for bad
 * --allow-degraded names).
 */
export function buildPlan(spec: SandboxSpec, probe: ProbeReport): Plan {
  const notes: string[] = [];
  let workspace: string;
  try {
    workspace = checkPath(spec.workspace, 'workspace');
  } catch (e) {
    throw new WardenError('WORKSPACE_INVALID', (e as Error).message, 'pass --workspace with an absolute, normalised path');
  }
  if (workspace === '/') throw new WardenError('WORKSPACE_INVALID', 'the workspace cannot be /', 'pass --workspace DIR');
  const reads = spec.readPaths.map((p) => checkPath(p, 'filesystem.read'));
  const writes = [workspace, ...spec.writePaths.map((p) => checkPath(p, 'filesystem.write'))];
  const asks = (spec.askPaths ?? []).map((p) => checkPath(p, 'filesystem.ask'));
  const askAliases = (spec.askAliases ?? []).map((p) => checkPath(p, 'filesystem.ask'));
  const privates = [...new Set((spec.privatePaths ?? []).map((p) => checkPath(p, 'filesystem.private')))];
  // The tracee names a zone by the host's path, and the human approves the host's file: in the
  // sandbox's private /tmp and /dev/shm that holds only inside a grant (bound from the host).
  for (const a of [...asks, ...askAliases])
    for (const priv of ['/tmp', '/dev/shm', ...privates])
      if (isWithin(a, priv) && ![...reads, ...writes].some((g) => isWithin(a, g)))
        invalid(`filesystem.ask: ${a} lies in ${priv}, which is private to the sandbox (the agent would name its own file, the human approve the host's)`, `grant a directory that contains it, or keep ask zones outside ${priv}`);
  // Ask zones are masked at the floor exactly like deny paths: without a yes they are denied.
  const denies = [...spec.denyPaths.map((p) => checkPath(p, 'filesystem.deny')), ...asks];
  const links = (spec.symlinks ?? []).map((l) => ({ path: checkPath(l.path, 'symlink'), target: l.target }));
  for (const l of links)
    if (typeof l.target !== 'string' || !l.target || /[\0\n]/.test(l.target) || !wellFormed(l.target)) invalid(`symlink ${l.path}: bad target`);

  for (const p of [...reads, ...writes, ...denies, ...links.map((l) => l.path), ...privates]) {
    if (p === '/') invalid('filesystem: granting or denying / as a whole is not supported', 'list the directories the agent needs');
    if (p === '/tmp') invalid('filesystem: /tmp is always a private tmpfs in the sandbox', 'grant a directory under /tmp instead');
    for (const s of SYNTHESIZED) if (isWithin(p, s)) invalid(`filesystem: ${p} is synthesized by the sandbox (${s}) and cannot be granted or denied`);
  }

  // Warden's own state: never reachable. A grant inside it, or a read grant of a parent that does
  // not deny it, is a refusal (not silently fixed: the policy author should see that the grant was
  // too wide). A WRITE grant of a parent is refused even when the state is masked: a mask is a
  // mount on the state's own path, and a writable parent lets the agent rename an ancestor of it
  // (the mount moves along) and create a directory of its choosing in the old place — keys it
  // knows, a policy or code cache the next `warden run` would load, outside any sandbox.
  const own = [...new Set([probe.wardenDirs.state, probe.wardenDirs.audit, probe.wardenDirs.keys, probe.wardenDirs.run, ...(spec.ownPaths ?? [])].map((d) => posix.normalize(d)))];
  for (const g of [...reads, ...writes]) {
    for (const w of own) {
      const code = g === workspace ? 'WORKSPACE_INVALID' : 'POLICY_INVALID';
      if (isWithin(g, w))
        throw new WardenError(code, `the sandbox may not access Warden's own state: ${g} is inside ${w}`, 'remove it from the policy (Warden keeps its audit log and keys there)');
      if (isWithin(w, g) && writes.includes(g))
        throw new WardenError(code, `the sandbox may not write around Warden's own state: ${g} contains ${w}, and a writable parent lets the agent move it away`, `narrow the grant, or set WARDEN_HOME outside ${g}`);
      if (isWithin(w, g) && !denies.some((d) => isWithin(w, d)))
        throw new WardenError(code, `the sandbox may not access Warden's own state: ${g} contains ${w}`, `narrow the grant, or add ${w} to filesystem.deny`);
    }
  }

  // Deny overrides: drop grants at or under a denied path; the rest of the grants are unique by
  // path, write winning over read for the same path.
  const live = (p: string): boolean => !denies.some((d) => isWithin(p, d));
  if (!live(workspace)) throw new WardenError('WORKSPACE_INVALID', `the workspace ${workspace} is itself denied by the policy`, 'remove it from filesystem.deny');
  const grant = new Map<string, 'read' | 'write'>();
  for (const p of reads) if (live(p)) grant.set(p, 'read');
  for (const p of writes) if (live(p)) grant.set(p, 'write');
  for (const p of [...reads, ...writes]) if (!live(p)) notes.push(`deny overrides grant of ${p}`);
  for (const l of links) if (grant.has(l.path)) invalid(`symlink ${l.path} is also granted as a directory`);

  // Private directories: copy-on-write over the host's directory each (native/sandbox.c
  // cow_mount), in depth order with the binds (so a grant inside one is the host's again, on top). Deny overrides (a
  // denied one is not mounted); so does a grant of the same path (a policy that extends a profile
  // can share a cache the profile keeps private). In a read-only grant its mount point must
  // already exist (spec-from-policy leaves out the ones that do not).
  const privateDirs = privates.filter((p) => {
    if (!live(p)) notes.push(`deny overrides filesystem.private ${p}`);
    else if (grant.has(p)) notes.push(`filesystem.${grant.get(p)} overrides filesystem.private ${p}: the host's directory`);
    else return true;
    return false;
  });

  const cwd = checkPath(spec.cwd ?? workspace, 'cwd');
  if (![...grant.keys(), ...privateDirs].some((g) => isWithin(cwd, g)) && !isWithin(cwd, '/tmp')) invalid(`cwd ${cwd} is outside every granted path`);

  // Degradable layers.
  const degradable: DegradableLayer[] = [];
  for (const l of spec.allowDegraded) {
    if (!(DEGRADABLE_LAYERS as readonly string[]).includes(l))
      throw new WardenError('USAGE', `--allow-degraded: layer ${String(l)} cannot be degraded`, `degradable layers: ${DEGRADABLE_LAYERS.join(', ')}`);
    if (!degradable.includes(l)) degradable.push(l);
  }

  const limits = spec.limits ?? {};
  const memory = int(limits.memoryBytes, 'memoryBytes', 16 * MiB, Number.MAX_SAFE_INTEGER);
  const pids = int(limits.pids, 'pids', 8, 4_000_000);
  const nofile = int(limits.nofile, 'nofile', 16, 1 << 20);
  const fsize = int(limits.fsizeBytes, 'fsizeBytes', 1, Number.MAX_SAFE_INTEGER);
  const cpuSeconds = int(limits.cpuSeconds, 'cpuSeconds', 1, 1 << 30);
  const tmpBytes = int(limits.tmpBytes, 'tmpBytes', MiB, Number.MAX_SAFE_INTEGER) ?? 512 * MiB;
  const cpu = limits.cpu;
  if (cpu !== undefined && !(Number.isFinite(cpu) && cpu >= 0.01 && cpu <= 1024)) invalid(`limits.cpu must be a number of cores in [0.01, 1024], got ${String(cpu)}`);

  // ---- mounts ----
  const mounts: MountOp[] = [
    { op: 'tmpfs', dst: '/tmp', mode: 0o1777, sizeBytes: tmpBytes },
    { op: 'proc', dst: '/proc' },
    // The fresh /proc is ours, but most of /proc/sys acts on the host kernel.
    { op: 'bind', src: '/proc/sys', dst: '/proc/sys', readOnly: true, srcInNewRoot: true },
    { op: 'tmpfs', dst: '/dev', mode: 0o755, sizeBytes: 64 * 1024 },
    // Read-only binds: writing to a device node does not need a writable mount, but chmod/utime
    // do — and uid 0 inside (Warden run as root) owns the host's /dev/null.
    ...DEV_NODES.map((n): MountOp => ({ op: 'bind', src: `/dev/${n}`, dst: `/dev/${n}`, readOnly: true, dev: true, noexec: true })),
    { op: 'devpts', dst: '/dev/pts' },
    { op: 'symlink', target: 'pts/ptmx', dst: '/dev/ptmx' },
    { op: 'tmpfs', dst: '/dev/shm', mode: 0o1777, sizeBytes: tmpBytes },
    { op: 'symlink', target: '/proc/self/fd', dst: '/dev/fd' },
    { op: 'symlink', target: '/proc/self/fd/0', dst: '/dev/stdin' },
    { op: 'symlink', target: '/proc/self/fd/1', dst: '/dev/stdout' },
    { op: 'symlink', target: '/proc/self/fd/2', dst: '/dev/stderr' },
    { op: 'ro', dst: '/dev' },
  ];
  // A grant whose nearest granted ancestor has the same mode adds nothing (e.g. /usr/bin under /usr).
  // (Unless a private directory lies between them: then g shows the host's again.)
  const grants = [...grant.keys()].sort(byDepth).filter((g, i, all) => {
    const parent = all.slice(0, i).filter((h) => h !== g && isWithin(g, h)).pop();
    return parent === undefined || grant.get(parent) !== grant.get(g) || privateDirs.some((p) => isWithin(g, p) && isWithin(p, parent));
  });
  // Pins. Threat: a mask or read-only bind inside a write grant is a mount on one path, and
  // renaming a directory above it moves the mount along and frees the path: the next session finds
  // its literal denies, its policy file and Warden itself by path and would meet whatever the agent
  // left there. So each directory strictly between such a path (spec.pinned) and its write grant is
  // bound onto itself with the grant's mode: a mount point, which the agent can neither rename nor
  // remove (EBUSY). Cost: a rename between a pinned directory and the rest of its grant is EXDEV
  // (tools copy instead; a pinned path is one the policy names, not a glob match). Directories
  // inside a read-only grant or a deny need no pin.
  const nearest = (p: string): string | undefined => grants.filter((g) => isWithin(p, g)).sort(byDepth).pop();
  const pins = new Set<string>();
  for (const m of (spec.pinned ?? []).map((p) => checkPath(p, 'pinned')))
    for (let a = posix.dirname(m); a !== '/'; a = posix.dirname(a)) {
      const n = nearest(a);
      if (n === undefined) break;
      // At or inside a private directory the directories are the sandbox's own (and a pin, a bind
      // of the host's directory, would show the host's there again).
      if (n !== a && grant.get(n) === 'write' && !denies.some((d) => isWithin(a, d)) && !privateDirs.some((p) => isWithin(a, p))) pins.add(a);
    }
  const binds = [...grants.map((g) => ({ path: g, readOnly: grant.get(g) === 'read' })), ...[...pins].map((a) => ({ path: a, readOnly: false }))];
  const layered: Array<{ path: string; readOnly?: boolean }> = [...binds, ...privateDirs.map((p) => ({ path: p }))];
  // Stable sort: for one path, the bind (a pin) comes first and the private directory covers it.
  for (const b of layered.sort((x, y) => byDepth(x.path, y.path)))
    mounts.push(b.readOnly === undefined ? { op: 'cow', src: b.path, dst: b.path, mode: 0o700, sizeBytes: tmpBytes } : { op: 'bind', src: b.path, dst: b.path, readOnly: b.readOnly });
  if (pins.size) notes.push(`pinned (cannot be renamed or removed inside): ${[...pins].sort(byDepth).join(', ')}`);
  for (const l of links.sort((a, b) => byDepth(a.path, b.path))) {
    // A link inside a granted directory is shown by the bind itself.
    if (grants.some((g) => isWithin(l.path, g))) continue;
    mounts.push({ op: 'symlink', target: l.target, dst: l.path });
  }
  const masked: string[] = [];
  for (const d of [...new Set(denies)].sort(byDepth)) {
    // (A private directory shows the host's files too: a deny inside one is masked as well.)
    if ([...grants, ...privateDirs].some((g) => g !== d && isWithin(d, g))) {
      mounts.push({ op: 'mask', dst: d });
      masked.push(d);
    }
  }

  // ---- egress ----
  let relay: Plan['relay'] = null;
  const connectPorts = [...(spec.tcpConnectPorts ?? [])];
  if (spec.egress) {
    const e = spec.egress;
    const sock = (p: string, what: string): string => {
      checkPath(p, what);
      if (Buffer.byteLength(p) > 107) invalid(`${what}: socket path longer than 107 bytes: ${p}`, 'use a shorter run directory (XDG_RUNTIME_DIR)');
      return p;
    };
    const port = e.port ?? EGRESS_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535 || port === EGRESS_DNS_PORT) invalid(`egress: bad relay port ${String(port)}`);
    relay = { tcpPort: port, dnsPort: EGRESS_DNS_PORT, dnsTcp: true, proxySocket: sock(e.proxySocket, 'egress.proxySocket'), dnsSocket: sock(e.dnsSocket, 'egress.dnsSocket') };
    connectPorts.push(port, EGRESS_DNS_PORT);
    // After every grant and mask: the generated resolv.conf covers the host's.
    mounts.push({ op: 'bind', src: checkPath(e.resolvConf, 'egress.resolvConf'), dst: checkPath(e.resolvConfAt ?? '/etc/resolv.conf', 'egress.resolvConfAt'), readOnly: true, noexec: true });
    notes.push(`egress: relay 127.0.0.1:${port} -> ${relay.proxySocket}, 127.0.0.1:53 udp+tcp -> ${relay.dnsSocket}`);
  } else notes.push('egress: none (no network beyond the sandbox loopback)');

  // ---- landlock ----
  const tcpConnect = [...new Set(connectPorts)];
  const tcpBind = [...new Set(spec.tcpBindPorts ?? [])];
  for (const port of [...tcpConnect, ...tcpBind])
    if (!Number.isInteger(port) || port < 1 || port > 65535) invalid(`network: bad TCP port ${String(port)}`);
  const fs: Plan['landlock']['fs'] = [
    { path: '/', access: LL.READ_DIR },
    { path: '/tmp', access: LL_ALL },
    { path: '/proc', access: LL.READ_FILE | LL.READ_DIR },
    { path: '/dev', access: LL.READ_DIR },
    ...['null', 'zero', 'full', 'random', 'urandom'].map((n) => ({ path: `/dev/${n}`, access: LL.READ_FILE | LL.WRITE_FILE })),
    { path: '/dev/tty', access: LL.READ_FILE | LL.WRITE_FILE | LL.IOCTL_DEV },
    { path: '/dev/pts', access: LL.READ_FILE | LL.WRITE_FILE | LL.IOCTL_DEV | LL.READ_DIR },
    { path: '/dev/shm', access: LL_ALL },
    ...grants.map((g) => ({ path: g, access: grant.get(g) === 'write' ? LL_ALL : LL_READ })),
    ...privateDirs.map((p) => ({ path: p, access: LL_ALL })),
  ];
  const net: Plan['landlock']['net'] = [];
  const ports = new Map<number, number>();
  for (const p of tcpConnect) ports.set(p, (ports.get(p) ?? 0) | LL_NET_CONNECT_TCP);
  for (const p of tcpBind) ports.set(p, (ports.get(p) ?? 0) | LL_NET_BIND_TCP);
  for (const [port, access] of [...ports].sort((a, b) => a[0] - b[0])) net.push({ port, access });
  let minAbi = spec.landlockMinAbi ?? 6;
  if (!Number.isInteger(minAbi) || minAbi < 0 || minAbi > 7) invalid(`landlockMinAbi must be in [0, 7]`);
  if (net.length && minAbi < 4) minAbi = 4;

  // ---- cgroups, rlimits, pid_max ----
  const cg = probe.cgroup;
  const cgroups: CgroupDir[] = [];
  const wantCg = { memory: memory !== undefined, pids: pids !== undefined, cpu: cpu !== undefined };
  const useCg = (c: 'memory' | 'pids' | 'cpu'): boolean => wantCg[c] && cg.parents[c] !== undefined;
  if (cg.mode === 'v2' && (useCg('memory') || useCg('pids') || useCg('cpu'))) {
    const ctl = (['memory', 'pids', 'cpu'] as const).filter(useCg);
    const d: CgroupDir = { controller: 'unified', parent: cg.parents[ctl[0]!]!, writes: [], reads: [] };
    d.writes.push({ target: 'parent', key: 'cgroup.subtree_control', value: ctl.map((c) => `+${c}`).join(' '), optional: false });
    if (useCg('memory')) {
      d.writes.push({ target: 'session', key: 'memory.max', value: String(memory), optional: false });
      d.writes.push({ target: 'session', key: 'memory.swap.max', value: '0', optional: true });
      d.reads.push('memory.peak');
    }
    if (useCg('pids')) d.writes.push({ target: 'session', key: 'pids.max', value: String(pids), optional: false }), d.reads.push('pids.peak');
    if (useCg('cpu')) d.writes.push({ target: 'session', key: 'cpu.max', value: `${Math.max(1000, Math.round(cpu! * 100000))} 100000`, optional: false });
    cgroups.push(d);
  } else if (cg.mode === 'v1') {
    if (useCg('memory')) {
      const w: CgroupWrite[] = [{ target: 'session', key: 'memory.limit_in_bytes', value: String(memory), optional: false }];
      if (cg.memsw) w.push({ target: 'session', key: 'memory.memsw.limit_in_bytes', value: String(memory), optional: true });
      cgroups.push({ controller: 'memory', parent: cg.parents.memory!, writes: w, reads: ['memory.max_usage_in_bytes'] });
    }
    if (useCg('pids')) cgroups.push({ controller: 'pids', parent: cg.parents.pids!, writes: [{ target: 'session', key: 'pids.max', value: String(pids), optional: false }], reads: [] });
    if (useCg('cpu'))
      cgroups.push({
        controller: 'cpu',
        parent: cg.parents.cpu!,
        writes: [
          { target: 'session', key: 'cpu.cfs_period_us', value: '100000', optional: false },
          { target: 'session', key: 'cpu.cfs_quota_us', value: String(Math.max(1000, Math.round(cpu! * 100000))), optional: false },
        ],
        reads: [],
      });
  }
  for (const c of ['memory', 'pids', 'cpu'] as const)
    if (wantCg[c]) notes.push(useCg(c) ? `${c}: cgroup ${cg.mode} under ${cg.parents[c]}` : `${c}: cgroups not delegable (${cg.reason || 'controller missing'})${c === 'memory' ? ', RLIMIT_DATA per process instead' : c === 'cpu' ? ', CPU bandwidth NOT limited' : ', RLIMIT_NPROC + pid_max instead'}`);

  const rlimits: Rlimit[] = [{ resource: 'CORE', soft: 0, hard: 0 }];
  if (nofile !== undefined) rlimits.push({ resource: 'NOFILE', soft: nofile, hard: nofile });
  if (pids !== undefined) rlimits.push({ resource: 'NPROC', soft: pids, hard: pids });
  if (fsize !== undefined) rlimits.push({ resource: 'FSIZE', soft: fsize, hard: fsize });
  if (cpuSeconds !== undefined) rlimits.push({ resource: 'CPU', soft: cpuSeconds, hard: cpuSeconds + 1 });
  if (memory !== undefined && !useCg('memory')) rlimits.push({ resource: 'DATA', soft: memory, hard: memory });
  let pidMax = 0;
  if (pids !== undefined) {
    if (probe.pidMaxPerNs.ok) pidMax = Math.max(301, pids + 1);
    else notes.push(`pid_max per namespace unavailable (${probe.pidMaxPerNs.reason ?? 'unknown'}): RLIMIT_NPROC only`);
  }

  // ---- seccomp ----
  let seccomp: Plan['seccomp'] = null;
  const mediateExec = spec.mediateExec === true && probe.arch !== null;
  if (spec.mediateExec && !probe.arch) invalid(`exec mediation needs a seccomp filter, and there is none for ${probe.machine}`);
  // Opens are trapped only when there is a zone to ask about (every open then costs a round trip
  // to the helper), and only with mediation (the helper's loop and the supervisor's channel).
  const ask = mediateExec ? [...new Set([...asks, ...askAliases])] : [];
  if (asks.length && !mediateExec) notes.push(`filesystem.ask without live mediation: ${[...new Set(asks)].join(', ')} denied`);
  if (probe.arch) seccomp = seccompFilterFor({ arch: probe.arch, notifyExec: mediateExec, notifyOpen: ask.length > 0 });
  else notes.push(`no seccomp filter for ${probe.machine}`);

  // ---- env, argv ----
  const env: string[] = [];
  const envVars = relay ? { ...spec.env, ...egressEnv(relay.tcpPort) } : spec.env;
  for (const [k, v] of Object.entries(envVars)) {
    if (!k || k.includes('=') || k.includes('\0') || typeof v !== 'string' || v.includes('\0')) invalid(`env: bad variable ${JSON.stringify(k)}`);
    if (!wellFormed(k) || !wellFormed(v)) invalid(`env: ${JSON.stringify(k)} is not valid UTF-8`);
    env.push(`${k}=${v}`);
  }
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv[0]) throw new WardenError('USAGE', 'no command to run', 'warden run -- CMD ARGS...');
  for (const a of spec.argv) if (typeof a !== 'string' || a.includes('\0') || !wellFormed(a)) throw new WardenError('USAGE', `bad argument ${JSON.stringify(a)}`);

  const hostname = spec.hostname ?? 'warden';
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) invalid(`bad hostname ${JSON.stringify(hostname)}`);
  if (masked.length) notes.push(`masked: ${masked.join(', ')}`);

  return {
    formatVersion: 1,
    supervisorPid: probe.supervisorPid,
    statusFd: 4,
    flags: { newSession: spec.newSession ?? true, legacyMount: !!spec.legacyMount || !probe.mountSetattr, ...(mediateExec ? { mediateExec } : {}) },
    hostname,
    mounts,
    landlock: {
      minAbi,
      abiMax: probe.landlock.abiMax,
      fs,
      net,
      scopes: LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL,
      restrictFlags: spec.landlockAuditLog ? LL_LOG_NEW_EXEC_ON : 0,
    },
    rlimits,
    pidMax,
    cgroups,
    seccomp,
    env,
    argv: [...spec.argv],
    cwd,
    degradable,
    relay,
    ask,
    notes,
  };
}

function rights(a: number): string {
  if (a === LL_ALL) return 'all';
  if (a === LL_READ) return 'read';
  return Object.entries(LL)
    .filter(([, bit]) => a & bit)
    .map(([n]) => n.toLowerCase())
    .join('|');
}

/** One line per decision, for `warden run --explain` and debugging. */
export function describePlan(plan: Plan): string[] {
  const out: string[] = [];
  out.push(`namespaces: user (uid/gid mapped to themselves), mount, pid, net (loopback only), ipc, uts (hostname ${plan.hostname})`);
  for (const m of plan.mounts) {
    switch (m.op) {
      case 'bind':
        out.push(`mount: ${m.dst} <- ${m.srcInNewRoot ? '(sandbox) ' : ''}${m.src} ${m.readOnly ? 'read-only' : 'read-write'}${m.dev ? ' device' : ''}`);
        break;
      case 'tmpfs':
        out.push(`mount: ${m.dst} tmpfs mode ${m.mode.toString(8)} size ${m.sizeBytes}${m.readOnly ? ' read-only' : ''}`);
        break;
      case 'cow':
        out.push(`mount: ${m.dst} private: copy-on-write over the host's ${m.src}, changes in a tmpfs of size ${m.sizeBytes}`);
        break;
      case 'symlink':
        out.push(`mount: ${m.dst} -> ${m.target} (symlink)`);
        break;
      case 'mask':
        out.push(`mount: ${m.dst} masked (deny)`);
        break;
      case 'dir':
        out.push(`mount: ${m.dst} directory mode ${m.mode.toString(8)}`);
        break;
      case 'ro':
        out.push(`mount: ${m.dst} made read-only`);
        break;
      default:
        out.push(`mount: ${m.dst} ${m.op}`);
    }
  }
  out.push(`landlock: ABI >= ${plan.landlock.minAbi}${plan.landlock.abiMax !== null ? ` (capped at ${plan.landlock.abiMax})` : ''}, scopes abstract-unix+signal`);
  for (const r of plan.landlock.fs) out.push(`landlock: ${r.path} ${rights(r.access)}`);
  for (const r of plan.landlock.net) out.push(`landlock: tcp port ${r.port} ${r.access & LL_NET_CONNECT_TCP ? 'connect' : ''}${r.access & LL_NET_BIND_TCP ? ' bind' : ''}`);
  if (!plan.landlock.net.length) out.push('landlock: no TCP connect or bind allowed');
  for (const r of plan.rlimits) out.push(`rlimit: ${r.resource} ${r.soft}/${r.hard}`);
  if (plan.pidMax) out.push(`pid_max: ${plan.pidMax} in the pid namespace`);
  for (const c of plan.cgroups) out.push(`cgroup: ${c.parent}/warden-<pid> ${c.writes.map((w) => `${w.key}=${w.value}`).join(' ')}`);
  out.push(plan.seccomp ? `seccomp: ${plan.seccomp.insns} instructions` : 'seccomp: none');
  if (plan.seccomp) for (const d of plan.seccomp.description) out.push(`seccomp: ${d}`);
  out.push('capabilities: none (bounding, ambient, permitted, effective, inheritable cleared; securebits locked); no_new_privs');
  if (plan.relay) out.push(`egress: relay 127.0.0.1:${plan.relay.tcpPort} -> ${plan.relay.proxySocket}; 127.0.0.1:${plan.relay.dnsPort} udp+tcp -> ${plan.relay.dnsSocket}`);
  else out.push('egress: none (loopback only)');
  out.push(`fds: only 0-2; env: ${plan.env.map((e) => e.slice(0, e.indexOf('='))).join(' ') || '(empty)'}`);
  out.push(`exec: ${JSON.stringify(plan.argv)} in ${plan.cwd}${plan.flags.newSession ? ' (new session)' : ''}`);
  if (plan.degradable.length) out.push(`allowed degraded: ${plan.degradable.join(', ')}`);
  for (const n of plan.notes) out.push(`note: ${n}`);
  return out;
}
