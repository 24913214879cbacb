import { readFileSync, readdirSync } from 'node:fs';

/**
 * Pauses the sandboxed process tree while Warden asks a question on the terminal they share.
 *
 * Threat: the tree reads the same terminal (an agent TUI in raw mode, a shell, a background
 * `cat`). While Warden asks, a keypress must reach Warden and not the agent, and nothing the
 * agent prints may land inside or after the prompt (a forged outcome line, or an escape sequence
 * that makes the terminal answer with bytes of its choosing). Stopping every process of the tree
 * gives both: a stopped process neither reads nor writes.
 *
 * The tree is every descendant of the sandbox's init (pid 1 of its pid namespace reaps every
 * orphan, so no process of the sandbox is anywhere else); init itself, trusted, keeps running.
 * SIGSTOP cannot be caught, blocked or ignored. Races: a fork in progress when its parent is
 * signalled is abandoned by the kernel (a pending signal makes copy_process restart), and the
 * walk repeats until a pass finds no process left running. A shell must never see its job stop
 * (a job-control shell would mark it Stopped and take the terminal back): a process is stopped
 * only once its parent is off the CPU — one level of the tree per pass — since a parent still
 * running, in waitpid, would see the child's stop before its own SIGSTOP lands; processes are
 * continued children first, so the parent finds them running again. Processes that were
 * already stopped (a job the user suspended) are left as they were.
 *
 * Process groups: the tree starts in Warden's own group; a job-control shell inside makes groups
 * of its own (setpgid can only name groups visible in the sandbox's pid namespace, so such a
 * group holds processes of the tree only). Once the tree is stopped none of them can change
 * group, so the groups seen by the last walk are the tree's for as long as the pause lasts.
 */
export interface TreePause {
  /** Stops the tree; resolves once every thread of it is off the CPU. */
  pause(): Promise<PausedTree>;
}

export interface PausedTree {
  /** Continues what this pause stopped, children first. */
  resume(): void;
  /**
   * Process group `pgrp` (host pid numbers) as seen by the walk that found the tree stopped:
   * undefined when no process of the tree was in it (not the tree's group); `live` while one of
   * them still is and has not exited (read anew each call); `gone` once all have exited or are
   * zombies (killed from outside meanwhile; a zombie is not reaped while its parent is paused).
   * Warden's own group, which the tree inherits, counts as the tree's too.
   */
  group(pgrp: number): 'live' | 'gone' | undefined;
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

function parseStat(pid: number, text: string): ProcStat | undefined {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  return f[0] && Number.isInteger(ppid) && Number.isInteger(pgrp) ? { pid, ppid, pgrp, state: f[0] } : undefined;
}

function readStat(path: string, pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(path, 'utf8'));
  } catch {
    return undefined; // exited
  }
}

/** Descendants of `root`, parents before children. */
function descendants(root: number): ProcStat[] {
  const kids = new Map<number, ProcStat[]>();
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(`/proc/${pid}/stat`, pid);
    if (!st) continue;
    const l = kids.get(st.ppid);
    if (l) l.push(st);
    else kids.set(st.ppid, [st]);
  }
  const out: ProcStat[] = [];
  const queue = [root];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const c of kids.get(p) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

const DEAD = new Set(['Z', 'X', 'x']);
const STOPPED = new Set(['T', 't', ...DEAD]);

/** Every thread stopped, dead, or in an uninterruptible wait (e.g. an exec held for a verdict). */
function settled(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  return tids.every((t) => {
    const st = readStat(`/proc/${pid}/task/${t}/stat`, pid);
    return !st || STOPPED.has(st.state) || st.state === 'D';
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* exited meanwhile */
  }
}

export function sandboxTreePause(initPid: () => Promise<number | null>, o: { settleMs?: number } = {}): TreePause {
  return {
    async pause() {
      const init = await initPid();
      if (init === null || init <= 0) throw new Error('the sandbox has no process tree');
      const ours: number[] = [];
      const seen = new Set<number>();
      const resume = () => {
        for (const pid of [...ours].reverse()) signal(pid, 'SIGCONT');
        ours.length = 0;
      };
      const deadline = Date.now() + (o.settleMs ?? 1000);
      // Walk, stop what runs whose parent is already off the CPU, wait until that is off the CPU
      // too, walk again: done when a walk of the stopped tree finds nothing new (a child forked
      // just before its parent stopped, or one whose parent was stopped in the previous pass).
      for (;;) {
        if (Date.now() > deadline) {
          resume();
          throw new Error('the sandboxed tree kept forking');
        }
        let fresh = 0;
        const thisPass = new Set<number>();
        const tree = descendants(init); // parents before children
        for (const p of tree) {
          if (seen.has(p.pid)) continue;
          if (p.ppid !== init && (!seen.has(p.ppid) || thisPass.has(p.ppid))) continue; // next pass
          seen.add(p.pid);
          if (STOPPED.has(p.state)) continue; // stopped by someone else: not ours to continue
          signal(p.pid, 'SIGSTOP');
          ours.push(p.pid);
          thisPass.add(p.pid);
          fresh++;
        }
        if (fresh === 0) {
          const groups = new Map<number, number[]>();
          for (const p of tree) groups.set(p.pgrp, [...(groups.get(p.pgrp) ?? []), p.pid]);
          return {
            resume,
            group(pgrp) {
              const members = groups.get(pgrp);
              if (!members) return undefined;
              // Re-read: a member killed meanwhile no longer counts (nor a reused pid in another group).
              const live = members.some((pid) => {
                const st = readStat(`/proc/${pid}/stat`, pid);
                return st?.pgrp === pgrp && !DEAD.has(st.state);
              });
              return live ? 'live' : 'gone';
            },
          };
        }
        while (!ours.every(settled)) {
          if (Date.now() > deadline) {
            resume();
            throw new Error('the sandboxed tree did not stop');
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    },
  };
}
