/**
 * Shared fixtures for the kernel sandbox tests. Everything lives in a fresh directory under
 * os.tmpdir() with mode 0755 (so the suite works the same when run by an unprivileged user), and
 * every check looks at host-visible state after the run, never at the attacker's own report.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan, type Plan } from '../../src/sandbox/plan.js';
import { probeSandbox, type ProbeReport } from '../../src/sandbox/probe.js';
import { launchSandbox, type LaunchOptions, type SandboxResult } from '../../src/sandbox/launch.js';
import { resolveHostPaths, SYSTEM_READ_PATHS } from '../../src/sandbox/host-paths.js';
import type { SandboxSpec } from '../../src/sandbox/spec.js';
import { packageRoot } from '../../src/package-root.js';
import { ATTACK_SOURCES } from './attack-programs.js';

export const SECRET = 'WARDEN-TEST-SECRET-7f3a';
export const ORIGINAL = 'original content\n';

export interface Ctx {
  root: string;
  ws: string;
  home: string;
  bashrc: string;
  /** A denied secret inside the (writable) workspace. */
  wsSecret: string;
  sshKey: string;
  awsCred: string;
  outside: string;
  victim: string;
  protectedDir: string;
  protectedFile: string;
  tools: string;
}

/** A fresh world: workspace (rw), home (read, with denied secrets), protected (read), outside (not granted). */
export function makeCtx(): Ctx {
  const root = mkdtempSync(join(tmpdir(), 'warden-sbx-'));
  chmodSync(root, 0o755);
  const c: Ctx = {
    root,
    ws: join(root, 'ws'),
    home: join(root, 'home'),
    bashrc: join(root, 'home', '.bashrc'),
    wsSecret: join(root, 'ws', '.env'),
    sshKey: join(root, 'home', '.ssh', 'id_rsa'),
    awsCred: join(root, 'home', '.aws', 'credentials'),
    outside: join(root, 'outside'),
    victim: join(root, 'outside', 'victim.txt'),
    protectedDir: join(root, 'protected'),
    protectedFile: join(root, 'protected', 'protected.txt'),
    tools: join(root, 'tools'),
  };
  for (const d of [c.ws, c.home, join(c.home, '.ssh'), join(c.home, '.aws'), c.outside, c.protectedDir, c.tools]) mkdirSync(d, { recursive: true, mode: 0o755 });
  resetFiles(c);
  return c;
}

/** Restores every host file an attack may have touched. */
export function resetFiles(c: Ctx): void {
  writeFileSync(c.bashrc, ORIGINAL, { mode: 0o644 });
  writeFileSync(c.sshKey, `${SECRET} ssh\n`, { mode: 0o600 });
  writeFileSync(c.awsCred, `${SECRET} aws\n`, { mode: 0o600 });
  writeFileSync(c.victim, ORIGINAL, { mode: 0o644 });
  rmSync(c.protectedFile, { force: true });
  writeFileSync(c.protectedFile, ORIGINAL, { mode: 0o644 });
  chmodSync(c.protectedFile, 0o644);
  for (const f of readdirSync(c.ws)) rmSync(join(c.ws, f), { recursive: true, force: true });
  for (const f of readdirSync(c.outside)) if (f !== 'victim.txt') rmSync(join(c.outside, f), { recursive: true, force: true });
  writeFileSync(c.wsSecret, `${SECRET} env\n`, { mode: 0o600 });
}

export function cleanup(c: Ctx): void {
  rmSync(c.root, { recursive: true, force: true });
}

let probeCache: Promise<ProbeReport> | undefined;
export function probe(env: NodeJS.ProcessEnv = process.env): Promise<ProbeReport> {
  if (env !== process.env) return probeSandbox(env);
  return (probeCache ??= probeSandbox(env));
}

const system = resolveHostPaths(SYSTEM_READ_PATHS);

export const BASE_ENV: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };

/** A default-like spec: the OS readable, the workspace writable, home readable with secrets denied. */
export function defaultSpec(c: Ctx, argv: string[], over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    workspace: c.ws,
    readPaths: [...system.paths, c.home, c.protectedDir, c.tools],
    writePaths: [],
    denyPaths: [join(c.home, '.ssh'), c.awsCred, c.wsSecret],
    symlinks: system.symlinks,
    env: { ...BASE_ENV, HOME: c.home },
    limits: { pids: 256, memoryBytes: 1024 * 1024 * 1024, nofile: 1024 },
    tcpConnectPorts: [],
    allowDegraded: [],
    argv,
    ...over,
  };
}

export interface RunOutput {
  result: SandboxResult;
  stdout: string;
  stderr: string;
  plan: Plan;
}

export async function planFor(spec: SandboxSpec, env: NodeJS.ProcessEnv = process.env): Promise<Plan> {
  return buildPlan(spec, await probe(env));
}

/** Runs spec in the sandbox, collecting output; kills it after timeoutMs. */
export async function runSandboxed(spec: SandboxSpec, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; launch?: LaunchOptions; plan?: Plan } = {}): Promise<RunOutput> {
  const plan = opts.plan ?? (await planFor(spec, opts.env));
  const h = launchSandbox(plan, { stdio: ['ignore', 'pipe', 'pipe'], ...opts.launch });
  let stdout = '';
  let stderr = '';
  h.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  h.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => h.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const result = await h.result;
  clearTimeout(timer);
  return { result, stdout, stderr, plan };
}

export function sh(script: string): string[] {
  return ['/bin/sh', '-c', script];
}

/** The same command without any sandbox (the control run). */
export function runPlain(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(argv[0]!, argv.slice(1), { env: opts.env ?? { ...process.env }, cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000 });
}

export function read(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** Compiles the attack programs into c.tools (readable and executable by everyone). */
export function compileAttacks(c: Ctx): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { src, flags }] of Object.entries(ATTACK_SOURCES)) {
    const file = join(c.tools, `${name}.c`);
    writeFileSync(file, src);
    const bin = join(c.tools, name);
    const r = spawnSync('cc', ['-O1', '-w', ...flags, '-o', bin, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc ${name}: ${r.stderr}`);
    chmodSync(bin, 0o755);
    out[name] = bin;
  }
  return out;
}

/** pid -> [ppid, starttime] for every visible process. */
export function processTable(): Map<number, { ppid: number; start: string; state: string }> {
  const m = new Map<number, { ppid: number; start: string; state: string }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = read(`/proc/${d}/stat`);
    if (!s) continue;
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    m.set(Number(d), { ppid: Number(f[1]), start: f[19] ?? '', state: f[0] ?? '' });
  }
  return m;
}

/** Live descendants of pid (with start times, to survive pid reuse). */
export function descendants(pid: number, table = processTable()): Array<{ pid: number; start: string }> {
  const kids = new Map<number, number[]>();
  for (const [p, { ppid }] of table) kids.set(ppid, [...(kids.get(ppid) ?? []), p]);
  const out: Array<{ pid: number; start: string }> = [];
  const stack = [...(kids.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    const e = table.get(p);
    if (e && e.state !== 'Z') out.push({ pid: p, start: e.start });
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

export function stillAlive(procs: Array<{ pid: number; start: string }>): number[] {
  const t = processTable();
  return procs.filter((p) => t.get(p.pid)?.start === p.start && t.get(p.pid)?.state !== 'Z').map((p) => p.pid);
}

/** Latency of spawning /bin/true on the host, ms (host responsiveness). */
export function hostLatencyMs(): number {
  const t0 = performance.now();
  spawnSync('/bin/true');
  return performance.now() - t0;
}

/** Node args that let a child node process load .ts files the same way this one does. */
export function nodeArgs(): string[] {
  const a = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if ((v === '--import' || v === '--loader' || v === '--require' || v === '-r') && a[i + 1]) out.push(v, a[++i]!);
    else if (/^--(import|loader|require)=/.test(v)) out.push(v);
  }
  return out;
}

export { spawn };
export const isRoot = process.getuid?.() === 0;

/** The environment of the unsandboxed control runs (same variables the sandbox gets). */
export function ctxEnv(c: Ctx): NodeJS.ProcessEnv {
  return { ...BASE_ENV, HOME: c.home };
}

/** A SIGKILLed helper cannot remove its session cgroups; do it for it (they are empty by now). */
export async function removeSessionCgroups(helperPid: number): Promise<void> {
  const parents = new Set(Object.values((await probe()).cgroup.parents));
  for (const parent of parents) {
    try {
      rmdirSync(join(parent, `warden-${helperPid}`));
    } catch {
      /* none, or already gone */
    }
  }
}

/** Builds the helper with ASan + UBSan into a temp dir; `remove()` deletes it. */
export function buildAsanHelper(): { path: string; remove: () => void } {
  const out = mkdtempSync(join(tmpdir(), 'warden-asan-'));
  const r = spawnSync('make', ['-s', '-C', join(packageRoot(), 'native'), `O=${out}`, 'asan'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make asan failed: ${r.stderr}`);
  return { path: join(out, 'warden-helper-asan'), remove: () => rmSync(out, { recursive: true, force: true }) };
}

/** Output of a sanitizer finding. */
export const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error|UndefinedBehavior/;
