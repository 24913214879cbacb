/**
 * Runs a plan: spawns the native helper with the plan on fd 3 and the status channel on fd 4,
 * and turns the helper's status lines into a result the supervisor can audit.
 *
 * Invariants:
 *  - The helper gets an empty environment: nothing of the supervisor's environment (tokens, keys)
 *    exists anywhere in the sandbox's process tree, not even in pid 1's /proc/1/environ.
 *  - The helper dies with this process (PR_SET_PDEATHSIG, set by the helper and checked against
 *    `plan.supervisorPid`). spawn() happens on the main thread, whose death is the process's.
 *  - Layers are reported by the helper, not assumed: `result.layers` is what the helper said it
 *    installed; a run without a `ready` line never executed the command.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { WardenError } from '../errors.js';
import { helperPath } from './helper-path.js';
import { startHelperProcess, type HelperExit, type StdioSpec } from './helper-process.js';
import { encodePlan } from './plan-encode.js';
import type { Plan } from './plan.js';

export interface StatusEvent {
  kind: 'init' | 'degraded' | 'ready' | 'refuse' | 'exec-failed' | 'exit' | 'unknown';
  fields: Record<string, string>;
  /** The human one-liner of a refusal (everything after `msg=`). */
  msg?: string;
  line: string;
}

/** Pure: one status line -> event. Format: `kind key=value ... [msg=free text]`. */
export function parseStatusLine(line: string): StatusEvent {
  const msgAt = line.indexOf(' msg=');
  const head = msgAt >= 0 ? line.slice(0, msgAt) : line;
  const [kind = '', ...rest] = head.split(' ').filter(Boolean);
  const fields: Record<string, string> = {};
  for (const kv of rest) {
    const eq = kv.indexOf('=');
    if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const known = ['init', 'degraded', 'ready', 'refuse', 'exec-failed', 'exit'] as const;
  const ev: StatusEvent = { kind: (known as readonly string[]).includes(kind) ? (kind as StatusEvent['kind']) : 'unknown', fields, line };
  if (msgAt >= 0) ev.msg = line.slice(msgAt + 5);
  return ev;
}

export interface SandboxLayers {
  active: string[];
  degraded: string[];
}

export interface ResourceUsage {
  /** Largest resident set of any process of the tree (getrusage RUSAGE_CHILDREN of the helper). */
  maxRssKb: number;
  userUs: number;
  systemUs: number;
  /** Peak memory of the whole tree from the session cgroup, where one was used. */
  memoryPeakBytes?: number;
  /** Raw cgroup files the plan asked for (cg.<file> on the exit line). */
  cgroup: Record<string, string>;
}

export interface SandboxResult {
  /** The command's exit code; 128+N when killed by signal N; 126 refused; 127 not found. */
  exitCode: number;
  /** Signal that killed the command, if it was killed. */
  signal?: number;
  layers: SandboxLayers;
  refused?: { layer: string; reason: string; message: string };
  execFailed?: { errno: number; notFound: boolean };
  resources?: ResourceUsage;
  /**
   * Execs of paths that name nothing, which the helper answered ENOENT without a round trip or an
   * audit record of their own (a PATH search's misses; native/notify.c): their number.
   */
  execMissing?: number;
  /** Every status line, in order (for the audit record). */
  events: StatusEvent[];
}

export type { StdioSpec };

export interface LaunchOptions {
  stdio?: 'inherit' | 'pipe' | 'ignore' | [StdioSpec, StdioSpec, StdioSpec];
  /** Default: native/build/warden-helper of this package. */
  helperPath?: string;
  onStatus?: (ev: StatusEvent) => void;
}

export interface SandboxHandle {
  /** Host pid of the outer helper process. */
  readonly helperPid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** flags.mediateExec: the exec mediation channel (request frames in, verdict frames out; src/mediate/exec-wire.ts). */
  readonly mediation: Duplex | null;
  /** Host pid of the sandbox's pid 1 (null if the helper stopped before creating it). */
  readonly initPid: Promise<number | null>;
  /** Resolves when every layer is installed and the command is about to exec; null if that never happened. */
  readonly ready: Promise<SandboxLayers | null>;
  readonly result: Promise<SandboxResult>;
  /**
   * For a plan with `flags.goGate`: `release(true)` lets the command exec; `release(false)` (or
   * this process dying) makes the helper refuse and tear the sandbox down. No-op otherwise.
   */
  release(go: boolean): void;
  /**
   * Signals the sandbox. SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2/SIGWINCH are relayed to
   * the command; SIGKILL kills the helper, and with it (PDEATHSIG chain) the whole tree.
   */
  kill(signal?: NodeJS.Signals): void;
}

function splitList(v: string | undefined): string[] {
  return v ? v.split(',').filter(Boolean) : [];
}

export function launchSandbox(plan: Plan, opts: LaunchOptions = {}): SandboxHandle {
  const path = opts.helperPath ?? helperPath();
  const bytes = encodePlan({ ...plan, supervisorPid: process.pid, statusFd: 4 });
  const io = opts.stdio ?? 'inherit';
  const base = typeof io === 'string' ? [io, io, io] : io;
  const gated = plan.flags.goGate === true;
  const mediated = plan.flags.mediateExec === true;
  // fd 3 plan, 4 status, 5 go gate, 6 exec mediation (a socketpair: both directions).
  const stdio: StdioSpec[] = [...base, 'pipe', 'pipe', ...(gated || mediated ? [gated ? ('pipe' as const) : ('ignore' as const)] : []), ...(mediated ? ['pipe' as const] : [])];
  const child = startHelperProcess({ path, stdio, drain: [4] });
  const planSink = child.stdio[3] ?? null;
  const goSink = gated ? (child.stdio[5] ?? null) : null;
  goSink?.on('error', () => {
    /* the helper is gone; its status channel says why */
  });
  const status = child.stdio[4] ?? null;
  if (!planSink || !status) throw new WardenError('INTERNAL', 'cannot open the helper channels');
  planSink.on('error', () => {
    /* helper refused before reading all of it; the status channel says why */
  });
  // The helper reads the plan to EOF before it starts. `end()` alone closes the pipe only once
  // this thread gets back to its event loop, and `warden run` has milliseconds of synchronous
  // start-up work right after the spawn (the audit log, the egress sockets): the helper would
  // wait for all of it. A plan that fits in the pipe has been written by the time write()
  // returns (nothing left buffered), so the pipe is closed right here; a larger one is finished
  // by the event loop as before.
  planSink.write(Buffer.from(bytes));
  if (planSink.writableLength === 0) planSink.destroy();
  else planSink.end();

  const events: StatusEvent[] = [];
  let resolveReady!: (v: SandboxLayers | null) => void;
  let resolveInit!: (v: number | null) => void;
  const ready = new Promise<SandboxLayers | null>((r) => (resolveReady = r));
  const initPid = new Promise<number | null>((r) => (resolveInit = r));
  let resolveExitLine!: () => void;
  const exitLine = new Promise<void>((r) => (resolveExitLine = r));
  let buf = '';
  status.setEncoding('utf8');
  status.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const ev = parseStatusLine(line);
      events.push(ev);
      if (ev.kind === 'init') resolveInit(Number(ev.fields['pid']));
      if (ev.kind === 'ready') resolveReady({ active: splitList(ev.fields['layers']), degraded: splitList(ev.fields['degraded']) });
      if (ev.kind === 'exit') {
        // Nothing after this line matters: the helper's last moments in the kernel must not hold
        // this process (warden run) open either.
        resolveExitLine();
        child.unref();
        status.unref();
      }
      opts.onStatus?.(ev);
    }
  });

  const result = new Promise<SandboxResult>((resolve, reject) => {
    const failed = (e: Error) => {
      resolveInit(null);
      resolveReady(null);
      reject(new WardenError('HELPER_MISSING', `cannot start the sandbox helper: ${e.message}`, 'run npm run build:native'));
    };
    const exited = ({ code, signal: sig }: HelperExit) => {
      resolveInit(null);
      resolveReady(null);
      const res: SandboxResult = { exitCode: code ?? 128, layers: { active: [], degraded: [] }, events };
      const readyEv = events.find((e) => e.kind === 'ready');
      if (readyEv) res.layers = { active: splitList(readyEv.fields['layers']), degraded: splitList(readyEv.fields['degraded']) };
      const refuse = events.find((e) => e.kind === 'refuse');
      if (refuse) res.refused = { layer: refuse.fields['layer'] ?? '?', reason: refuse.fields['reason'] ?? '?', message: refuse.msg ?? refuse.line };
      const ef = events.find((e) => e.kind === 'exec-failed');
      if (ef) res.execFailed = { errno: Number(ef.fields['errno']), notFound: ef.fields['cmd-not-found'] === '1' };
      const exit = events.find((e) => e.kind === 'exit');
      if (exit) {
        res.exitCode = Number(exit.fields['code']);
        if (exit.fields['signal']) res.signal = Number(exit.fields['signal']);
        const cgroup: Record<string, string> = {};
        for (const [k, v] of Object.entries(exit.fields)) if (k.startsWith('cg.')) cgroup[k.slice(3)] = v;
        const peak = cgroup['memory.peak'] ?? cgroup['memory.max_usage_in_bytes'];
        res.resources = {
          maxRssKb: Number(exit.fields['maxrss_kb'] ?? 0),
          userUs: Number(exit.fields['utime_us'] ?? 0),
          systemUs: Number(exit.fields['stime_us'] ?? 0),
          cgroup,
        };
        if (peak !== undefined) res.resources.memoryPeakBytes = Number(peak);
        if (exit.fields['exec_missing'] !== undefined) res.execMissing = Number(exit.fields['exec_missing']);
      } else if (sig !== null) {
        // The helper itself was killed (e.g. kill('SIGKILL')): the tree died with it.
        res.exitCode = 128 + sig;
        res.signal = sig;
      }
      if (!exit && !refuse && !readyEv && code !== 0 && sig === null) res.refused = { layer: 'helper', reason: 'no-status', message: `warden: helper exited with ${code} before reporting` };
      resolve(res);
    };
    // The exit line is the helper's last word and holds all the result needs: by then the tree is
    // dead, its cgroups removed and the relay reaped. Its process may still be in the kernel's
    // exit for another 1-20 ms (releasing the sandbox's mount tree), which nothing here waits for
    // (and which no longer keeps the event loop alive); the helper is still reaped, by its waiter. Without that line (helper killed, refused
    // before it), the result waits for the helper's end.
    // Output piped to the caller is still read to its end first.
    Promise.race([child.closed, exitLine.then(() => child.output).then((): HelperExit => ({ code: null, signal: null }))]).then(exited, failed);
  });

  return {
    helperPid: child.pid,
    stdin: child.stdio[0] ?? null,
    stdout: child.stdio[1] ?? null,
    stderr: child.stdio[2] ?? null,
    mediation: mediated ? (child.stdio[6] ?? null) : null,
    initPid,
    ready,
    result,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
    },
    release(go: boolean) {
      if (!goSink) return;
      if (go) goSink.end('g');
      else goSink.destroy();
    },
  };
}
