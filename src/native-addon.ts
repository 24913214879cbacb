import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

/**
 * native/build/warden-fdpass.node (native/fdpass.c, native/spawn.c): the few socket, terminal and
 * process operations Node cannot do itself. Loaded once, on first use; null when it was not built
 * (callers then fall back or refuse, each as its own invariant says).
 */
export interface NativeAddon {
  /** 1 = sent; 0 = EAGAIN, nothing sent. Throws on any other error. */
  sendFd(unixFd: number, fd: number, record: Buffer): number;
  /** [bytes the peer acknowledged, bytes received] of a TCP socket (TCP_INFO). Throws if unavailable. */
  tcpCounts(fd: number): [number, number];
  /** [pid, uid, gid] of a unix socket's peer, as the kernel recorded them at connect (SO_PEERCRED). Throws if unavailable. */
  peerCred(fd: number): [number, number, number];
  /** The foreground process group of the terminal open on `fd`. Throws with the errno text. */
  tcgetpgrp(fd: number): number;
  /**
   * Makes `pgrp` the foreground process group of the terminal open on `fd`, with SIGTTOU and
   * SIGTTIN blocked around the ioctl (a caller in the background is not stopped). Throws with the
   * errno text (EPERM: pgrp not in the caller's session; ESRCH: no such process).
   */
  tcsetpgrp(fd: number, pgrp: number): void;
  /** A connected AF_UNIX stream pair, both ends close-on-exec. */
  socketPair(): [number, number];
  /**
   * posix_spawn of `path` (argv [path], empty environment, cwd /, default signal dispositions)
   * with exactly `fds` as its fds 0..n-1: [pid, pidfd, exitFd]. exitFd reads 8 bytes once the
   * child is reaped: int32 [code, 0] exited, [-1, signal] killed, [-2, errno] waitid failed
   * (native/spawn.c). The caller closes pidfd and exitFd.
   */
  spawnHelper(path: string, fds: number[]): [number, number, number];
  /** pidfd_send_signal: true sent, false the process is gone. Throws on any other error. */
  pidfdSignal(pidfd: number, signo: number): boolean;
}

const FUNCTIONS = ['sendFd', 'tcpCounts', 'peerCred', 'tcgetpgrp', 'tcsetpgrp', 'socketPair', 'spawnHelper', 'pidfdSignal'] as const satisfies ReadonlyArray<keyof NativeAddon>;

let loaded: NativeAddon | null | undefined;

export function loadNativeAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  try {
    const m = createRequire(import.meta.url)(join(packageRoot(), 'native', 'build', 'warden-fdpass.node')) as Partial<NativeAddon>;
    // An addon built from an older fdpass.c lacks functions: treated as not built at all.
    loaded = FUNCTIONS.every((f) => typeof m[f] === 'function') ? (m as NativeAddon) : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** The libuv handle's fd (Linux): node exposes no public accessor for it. */
export function fdOf(s: Socket): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
