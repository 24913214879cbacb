import { closeSync, constants, openSync, write as writeFd } from 'node:fs';
import { join } from 'node:path';
import type { CgroupCapability } from './probe.js';

/**
 * Every cgroup migration takes the kernel's global cgroup_threadgroup_rwsem for writing. Unless
 * the hierarchy is mounted with `favordynmods`, the first writer after a quiet spell waits for an
 * RCU grace period (5–15 ms on the development VM, more under load); a writer that comes while
 * one waits, or within about one more grace period after the last one left, does not wait. The
 * helper moves the sandbox's init into the session cgroup right after cloning it, and init runs
 * nothing before that move is done, so the wait sat on the critical path of start-up.
 *
 * This keeps the lock warm from the moment the probe is known until the helper has moved init:
 * it writes our own pid into the cgroup.procs of the cgroup we are already in (opened once; each
 * write runs on a libuv thread), and again REARM_MS after each write returns, so the helper's
 * move comes within the window (measured: the helper's move 10–16 ms → 0.1 ms). The directory is this process's own cgroup (the probe reports its own cgroup
 * directories, and its cache is keyed on /proc/self/cgroup), so no membership ever changes. It
 * grants nothing; a failing write stops the loop and only costs the time it would have saved.
 */
const REARM_MS = 4;
/** The helper has moved init long before this; the loop never outlives a stuck start-up. */
const MAX_MS = 2_000;

export function keepCgroupMigrationWarm(cgroup: CgroupCapability): () => void {
  const dir = cgroup.mode ? Object.values(cgroup.parents)[0] : undefined;
  if (!dir) return () => {};
  let fd: number;
  try {
    fd = openSync(join(dir, 'cgroup.procs'), constants.O_WRONLY);
  } catch {
    return () => {};
  }
  const until = Date.now() + MAX_MS;
  const pid = Buffer.from(String(process.pid));
  let stopped = false;
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;
  // The fd is closed only when no write is queued on it: a queued write on a closed and reused fd
  // number would land in whatever file got it (an audit segment, say).
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    if (!inFlight) closeSync(fd);
  };
  const write = (): void => {
    inFlight = true;
    writeFd(fd, pid, 0, pid.length, null, (e) => {
      inFlight = false;
      if (stopped) return closeSync(fd);
      if (e || Date.now() > until) return stop();
      timer = setTimeout(write, REARM_MS);
      timer.unref();
    });
  };
  write();
  return stop;
}

/**
 * The warm-up of one `warden run` start-up: started when the probe is known, stopped on every way
 * out (sandbox ready, refusal, error). A start that comes after the stop (the probe resolving
 * after a failed policy load, say) starts nothing: a loop left running would keep the process
 * alive for MAX_MS after it is done.
 */
export class CgroupWarmup {
  private stopLoop: (() => void) | undefined;
  private ended = false;

  start(cgroup: CgroupCapability): void {
    if (!this.ended && !this.stopLoop) this.stopLoop = keepCgroupMigrationWarm(cgroup);
  }

  stop(): void {
    this.ended = true;
    this.stopLoop?.();
  }
}
