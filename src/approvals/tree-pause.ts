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
 * walk repeats until a pass finds no process left running; processes are stopped parents first
 * and continued children first, so a shell never sees its job stopped. Processes that were
 * already stopped (a job the user suspended) are left as they were.
 */
export interface TreePause {
  /** Stops the tree; resolves once every thread of it is off the CPU. The result continues it. */
  pause(): Promise<() => void>;
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function parseStat(pid: number, text: string): ProcStat | undefined {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(f[1]);
  return f[0] && Number.isInteger(ppid) ? { pid, ppid, state: f[0] } : undefined;
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

const STOPPED = new Set(['T', 't', 'Z', 'X', 'x']);

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
      // Walk, stop what runs, wait until it is off the CPU, walk again: done when a walk of the
      // stopped tree finds nothing new (a child forked just before its parent stopped).
      for (;;) {
        if (Date.now() > deadline) {
          resume();
          throw new Error('the sandboxed tree kept forking');
        }
        let fresh = 0;
        for (const p of descendants(init)) {
          if (seen.has(p.pid)) continue;
          seen.add(p.pid);
          if (STOPPED.has(p.state)) continue; // stopped by someone else: not ours to continue
          signal(p.pid, 'SIGSTOP');
          ours.push(p.pid);
          fresh++;
        }
        if (fresh === 0) return resume;
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
