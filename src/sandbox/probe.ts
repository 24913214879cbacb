import { execFile } from 'node:child_process';
import { WardenError } from '../errors.js';
import { wardenDirs, type WardenDirs } from '../paths.js';
import { helperPath } from './helper-path.js';

/** Raw JSON of `warden-helper --probe` (see native/probe.c). */
export interface HelperProbe {
  helper: number;
  kernel: string;
  machine: string;
  uid: number;
  gid: number;
  landlock: { abi: number; kernelAbi: number };
  userns: {
    ok: boolean;
    error: string | null;
    unprivilegedUsernsClone: number;
    maxUserNamespaces: number;
    apparmorRestrictUnprivilegedUserns: number;
  };
  seccomp: { filter: boolean; killProcess: boolean; userNotif: boolean };
  pidMaxPerNs: { ok: boolean; error: string | null };
  mountSetattr: boolean;
  /** overlayfs in a user namespace over a tmpfs upper layer (absent from an older helper's probe). */
  overlay?: { ok: boolean; error: string | null };
  cgroup: {
    layout: 'v2' | 'v1' | 'hybrid' | 'none';
    v2: { dir: string; controllers: string; subtreeControl: string; writable: boolean; isRoot: boolean } | null;
    v1: Partial<Record<'memory' | 'pids' | 'cpu', { dir: string; writable: boolean; memsw?: boolean }>>;
  };
}

export type CgroupController = 'memory' | 'pids' | 'cpu';

/** Where the plan may create the session cgroup, per controller. */
export interface CgroupCapability {
  layout: HelperProbe['cgroup']['layout'];
  /** Which hierarchy the plan uses, or null (fallback to rlimits + pid_max). */
  mode: 'v2' | 'v1' | null;
  /** Parent directory per usable controller (v2: the same dir for all). */
  parents: Partial<Record<CgroupController, string>>;
  memsw: boolean;
  /** Why cgroups (or some controllers) are not used. */
  reason: string;
}

export interface LayerSupport {
  supported: boolean;
  detail: string;
}

/** Everything `buildPlan` needs to know about the machine, plus what `warden doctor` prints. */
export interface ProbeReport {
  helperPath: string;
  kernel: string;
  arch: 'x86_64' | 'aarch64' | null;
  machine: string;
  uid: number;
  gid: number;
  /** Effective ABI (after WARDEN_LANDLOCK_ABI_MAX) and what the kernel really has. */
  landlock: { abi: number; kernelAbi: number; abiMax: number | null };
  userns: { ok: boolean; reason: string | null };
  seccomp: { filter: boolean; userNotif: boolean };
  pidMaxPerNs: { ok: boolean; reason: string | null };
  mountSetattr: boolean;
  cgroup: CgroupCapability;
  /** Warden's own state, never reachable from the sandbox. */
  wardenDirs: WardenDirs;
  /** The supervisor process (the helper checks it is its parent). */
  supervisorPid: number;
  layers: Record<string, LayerSupport>;
  raw: HelperProbe;
}

/** WARDEN_LANDLOCK_ABI_MAX=N: behave as if the kernel's Landlock ABI were at most N (tests of degraded kernels). */
export function landlockAbiMax(env: NodeJS.ProcessEnv): number | null {
  const v = env['WARDEN_LANDLOCK_ABI_MAX'];
  if (v === undefined || v === '') return null;
  if (!/^\d+$/.test(v)) throw new WardenError('USAGE', `WARDEN_LANDLOCK_ABI_MAX must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function has(list: string, c: string): boolean {
  return list.split(/\s+/).includes(c);
}

/** Pure: which cgroup hierarchy is delegable to this process, and why not. */
export function cgroupCapability(raw: HelperProbe['cgroup']): CgroupCapability {
  const base = { layout: raw.layout, memsw: false };
  const v2 = raw.v2;
  const wanted: CgroupController[] = ['memory', 'pids', 'cpu'];
  const reasons: string[] = [];
  if (v2) {
    const avail = wanted.filter((c) => has(v2.controllers, c));
    if (!v2.writable) reasons.push(`v2 ${v2.dir} is not writable by this user (needs a delegated subtree)`);
    else if (avail.length === 0) reasons.push(`v2 ${v2.dir} has none of memory/pids/cpu (controllers: ${v2.controllers || 'none'})`);
    else if (!v2.isRoot && !avail.every((c) => has(v2.subtreeControl, c)))
      reasons.push(`v2 ${v2.dir} has processes and its subtree_control lacks ${avail.filter((c) => !has(v2.subtreeControl, c)).join(',')} (run under a delegated scope, e.g. systemd-run --user --scope -p Delegate=yes)`);
    else {
      const parents: CgroupCapability['parents'] = {};
      for (const c of avail) parents[c] = v2.dir;
      return { ...base, mode: 'v2', parents, reason: avail.length < 3 ? `v2 lacks ${wanted.filter((c) => !avail.includes(c)).join(',')}` : '' };
    }
  }
  const parents: CgroupCapability['parents'] = {};
  for (const c of wanted) {
    const h = raw.v1[c];
    if (!h) reasons.push(`no v1 ${c} hierarchy`);
    else if (!h.writable) reasons.push(`v1 ${c} (${h.dir}) not writable by this user (root only)`);
    else parents[c] = h.dir;
  }
  if (Object.keys(parents).length > 0) return { ...base, mode: 'v1', parents, memsw: !!raw.v1.memory?.memsw, reason: reasons.join('; ') };
  return { ...base, mode: null, parents: {}, reason: reasons.join('; ') || 'no cgroup hierarchy mounted' };
}

/** Pure: a ProbeReport from the helper's JSON and the supervisor-side facts. */
export function probeReport(raw: HelperProbe, opts: { helperPath: string; env: NodeJS.ProcessEnv; supervisorPid: number }): ProbeReport {
  const abiMax = landlockAbiMax(opts.env);
  const arch = raw.machine === 'x86_64' ? 'x86_64' : raw.machine === 'aarch64' ? 'aarch64' : null;
  const abi = abiMax === null ? raw.landlock.abi : Math.min(raw.landlock.abi, abiMax);
  const cgroup = cgroupCapability(raw.cgroup);
  const userns = { ok: raw.userns.ok, reason: raw.userns.ok ? null : usernsReason(raw) };
  const layers: Record<string, LayerSupport> = {
    userns: { supported: userns.ok, detail: userns.reason ?? 'unprivileged user namespaces work' },
    mountns: { supported: userns.ok, detail: raw.mountSetattr ? 'pivot_root + mount_setattr (recursive read-only)' : 'pivot_root + legacy remount' },
    pidns: { supported: userns.ok, detail: 'pid namespace with a reaping pid 1' },
    netns: { supported: userns.ok, detail: 'fresh network namespace, loopback only' },
    landlock: {
      supported: abi > 0,
      detail: abi > 0 ? `ABI ${abi}${abi !== raw.landlock.kernelAbi ? ` (kernel has ${raw.landlock.kernelAbi}, capped by WARDEN_LANDLOCK_ABI_MAX)` : ''}` : 'not available (kernel without CONFIG_SECURITY_LANDLOCK or landlock not in lsm=)',
    },
    seccomp: { supported: raw.seccomp.filter && arch !== null, detail: arch ? `filter for ${arch}` : `no filter for ${raw.machine}` },
    'seccomp-notify': { supported: raw.seccomp.userNotif, detail: raw.seccomp.userNotif ? 'SECCOMP_RET_USER_NOTIF available' : 'SECCOMP_RET_USER_NOTIF not available' },
    pidmax: { supported: raw.pidMaxPerNs.ok, detail: raw.pidMaxPerNs.ok ? 'per-pid-namespace pid_max' : `unavailable: ${raw.pidMaxPerNs.error}` },
    cgroup: { supported: cgroup.mode !== null, detail: cgroup.mode ? `${cgroup.mode}: ${Object.keys(cgroup.parents).join(',')}${cgroup.reason ? ` (${cgroup.reason})` : ''}` : cgroup.reason },
    'private-cow': {
      supported: raw.overlay?.ok === true,
      detail: raw.overlay?.ok ? 'filesystem.private directories are copy-on-write over the host\'s (overlayfs in a user namespace)' : `overlayfs unavailable in a user namespace (${raw.overlay?.error ?? 'not probed'}): filesystem.private directories start empty`,
    },
  };
  return {
    helperPath: opts.helperPath,
    kernel: raw.kernel,
    arch,
    machine: raw.machine,
    uid: raw.uid,
    gid: raw.gid,
    landlock: { abi, kernelAbi: raw.landlock.kernelAbi, abiMax },
    userns,
    seccomp: { filter: raw.seccomp.filter, userNotif: raw.seccomp.userNotif },
    pidMaxPerNs: { ok: raw.pidMaxPerNs.ok, reason: raw.pidMaxPerNs.error },
    mountSetattr: raw.mountSetattr,
    cgroup,
    wardenDirs: wardenDirs(opts.env),
    supervisorPid: opts.supervisorPid,
    layers,
    raw,
  };
}

function usernsReason(raw: HelperProbe): string {
  const u = raw.userns;
  const why: string[] = [u.error ?? 'unknown error'];
  if (u.unprivilegedUsernsClone === 0) why.push('kernel.unprivileged_userns_clone=0');
  if (u.maxUserNamespaces === 0) why.push('user.max_user_namespaces=0');
  if (u.apparmorRestrictUnprivilegedUserns === 1) why.push('kernel.apparmor_restrict_unprivileged_userns=1');
  return why.join('; ');
}

/** Runs `warden-helper --probe` (a few ms) and adds the supervisor-side facts. */
export async function probeSandbox(env: NodeJS.ProcessEnv = process.env, opts: { helperPath?: string } = {}): Promise<ProbeReport> {
  const path = opts.helperPath ?? helperPath();
  const abiMax = landlockAbiMax(env);
  const childEnv: NodeJS.ProcessEnv = abiMax === null ? {} : { WARDEN_LANDLOCK_ABI_MAX: String(abiMax) };
  const out = await new Promise<string>((resolve, reject) => {
    execFile(path, ['--probe'], { env: childEnv, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new WardenError('INTERNAL', `warden-helper --probe failed: ${String(stderr || err.message).trim()}`, 'run npm run build:native'));
      else resolve(stdout);
    });
  });
  let raw: HelperProbe;
  try {
    raw = JSON.parse(out) as HelperProbe;
  } catch {
    throw new WardenError('INTERNAL', 'warden-helper --probe printed invalid JSON', 'rebuild with npm run build:native');
  }
  if (raw.helper !== 1) throw new WardenError('INTERNAL', `warden-helper speaks probe version ${String(raw.helper)}, expected 1`, 'rebuild with npm run build:native');
  return probeReport(raw, { helperPath: path, env, supervisorPid: process.pid });
}
