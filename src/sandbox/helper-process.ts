/**
 * Starts the helper process and gives back its channels, its exit and a way to signal it.
 *
 * Two ways, one contract: posix_spawn through the native addon (native/spawn.c), or Node's
 * child_process when the addon was not built. libuv's fork() copies the page tables of the whole
 * supervisor before the helper can exec (~2-4 ms of `warden run`'s start-up, on its main thread);
 * posix_spawn copies nothing. Both give the helper an empty environment, cwd / and the fds asked
 * for, and spawn from the calling (main) thread, so the helper's PR_SET_PDEATHSIG still fires when
 * this process dies. Only posix_spawn passes nothing else: child_process also passes on whatever
 * this process holds without close-on-exec, which the helper closes itself (its `fds` layer).
 *
 * Through the addon the helper is signalled through a pidfd, so a signal can never reach another
 * process that reused its pid after it was reaped.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { constants } from 'node:os';
import { loadNativeAddon, type NativeAddon } from '../native-addon.js';

export type StdioSpec = 'inherit' | 'pipe' | 'ignore' | number;

/** How the helper ended: its exit code, or the number of the signal that killed it. */
export interface HelperExit {
  code: number | null;
  signal: number | null;
}

export interface HelperProcess {
  readonly pid: number;
  /** This process's end of each 'pipe' channel, by the helper's fd number; null elsewhere. */
  readonly stdio: ReadonlyArray<Socket | null>;
  /**
   * Settles once the helper has exited and the channels named in `drain` (plus stdout and stderr
   * when they are pipes) have been read to their end; rejects if the helper could not be started.
   */
  readonly closed: Promise<HelperExit>;
  /** Settles once stdout and stderr, where they are pipes, have been read to their end. */
  readonly output: Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Waiting for the helper's end no longer keeps this process alive (it is still reaped). */
  unref(): void;
}

export interface HelperStart {
  path: string;
  /** fds 0..n-1 of the helper. 'inherit' is only meaningful for 0-2 (this process's own). */
  stdio: StdioSpec[];
  /** Readable channels (fd numbers >= 3) whose end `closed` waits for. */
  drain: number[];
}

export function startHelperProcess(s: HelperStart): HelperProcess {
  const addon = loadNativeAddon();
  return addon ? posixSpawned(addon, s) : libuvSpawned(s);
}

/** @internal Node's child_process (the fallback without the addon); exported for its tests. */
export function libuvSpawned(s: HelperStart): HelperProcess {
  const child = spawn(s.path, [], { stdio: s.stdio as StdioOptions, env: {}, cwd: '/', detached: false });
  const closed = new Promise<HelperExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal: signal === null ? null : (constants.signals[signal] ?? null) }));
  });
  return {
    pid: child.pid ?? -1,
    stdio: child.stdio as unknown as Array<Socket | null>, // libuv's pipes are net.Sockets
    closed,
    output: ended([child.stdout, child.stderr]),
    kill: (signal) => void child.kill(signal),
    unref: () => child.unref(),
  };
}

function posixSpawned(addon: NativeAddon, s: HelperStart): HelperProcess {
  const ours: Array<Socket | null> = [];
  const theirs: number[] = [];
  const toClose: number[] = [];
  let spawned: [number, number, number];
  try {
    for (let i = 0; i < s.stdio.length; i++) {
      const spec = s.stdio[i] as StdioSpec;
      if (spec === 'pipe') {
        const [mine, child] = addon.socketPair();
        toClose.push(child);
        ours.push(new Socket({ fd: mine, readable: true, writable: true }));
        theirs.push(child);
      } else {
        ours.push(null);
        if (spec === 'inherit') theirs.push(i);
        else if (spec === 'ignore') {
          const devNull = openSync('/dev/null', fsConstants.O_RDWR); // libuv opens every file close-on-exec
          toClose.push(devNull);
          theirs.push(devNull);
        } else theirs.push(spec);
      }
    }
    spawned = addon.spawnHelper(s.path, theirs);
  } catch (e) {
    for (const o of ours) o?.destroy();
    return { pid: -1, stdio: ours.map(() => null), closed: Promise.reject(e as Error), output: Promise.resolve(), kill: () => undefined, unref: () => undefined };
  } finally {
    for (const fd of toClose) closeSync(fd);
  }
  const [pid, pidfd, exitFd] = spawned;
  let reaped = false;
  const exitPipe = new Socket({ fd: exitFd, readable: true, writable: false });
  const exitInfo = readExit(exitPipe).then((exit) => {
    reaped = true;
    closeSync(pidfd);
    return exit;
  });
  const output = ended([ours[1], ours[2]]);
  return {
    pid,
    stdio: ours,
    closed: Promise.all([exitInfo, output, ended(s.drain.map((fd) => ours[fd]))]).then(([exit]) => exit),
    output,
    kill(signal) {
      if (!reaped) addon.pidfdSignal(pidfd, constants.signals[signal]);
    },
    unref: () => void exitPipe.unref(),
  };
}

/** Settles once every one of `streams` that exists has closed (fresh streams: called at spawn). */
function ended(streams: ReadonlyArray<Readable | null | undefined>): Promise<void> {
  return Promise.all(streams.flatMap((ch) => (ch ? [new Promise<void>((resolve) => ch.once('close', () => resolve()))] : []))).then(() => undefined);
}

/** The reaper thread's 8 bytes (native/spawn.c): exit code, or signal, of the reaped helper. */
function readExit(pipe: Socket): Promise<HelperExit> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pipe.on('data', (c: Buffer) => chunks.push(c));
    pipe.on('error', reject);
    pipe.on('close', () => {
      const b = Buffer.concat(chunks);
      if (b.length !== 8) return reject(new Error(`helper exit status unreadable (${b.length} bytes)`));
      const [code, other] = new Int32Array(new Uint8Array(b).buffer); // the reaper's native byte order
      if ((code as number) >= 0) resolve({ code: code as number, signal: null });
      else if (code === -1) resolve({ code: null, signal: other as number });
      else reject(new Error(`waitid on the helper failed (errno ${other})`));
    });
  });
}
