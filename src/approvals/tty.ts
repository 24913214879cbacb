import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { WardenError } from '../errors.js';
import { loadNativeAddon } from '../native-addon.js';

/**
 * Warden's own terminal: the controlling tty of `warden run` (`/dev/tty`), opened separately from
 * the fds the sandboxed command inherited, so reading it and switching it to raw mode never
 * touch the command's file descriptions (libuv reopens the tty for non-blocking reads).
 *
 * Job control: a process outside the terminal's foreground process group that reads it, or sets
 * its mode, is stopped by SIGTTIN/SIGTTOU — Warden itself would stop and the user's shell would
 * take the terminal back. So Warden reads and sets the mode only while its own group is the
 * foreground (`isForeground`, from the kernel's own /proc view), checked with the sandboxed tree
 * paused, when nothing can move the foreground between the check and the read. When a job-control
 * shell inside has made its own group the foreground, the caller can move it (`setForeground`:
 * tcsetpgrp through the native addon, with SIGTTOU blocked as shells do) and must move it back.
 */
export interface Tty {
  /** The terminal's device path, e.g. `/dev/pts/3`. */
  readonly name: string;
  /** Warden's process group is the terminal's foreground process group. */
  isForeground(): boolean;
  /** The terminal's foreground group (tcgetpgrp) and Warden's own; undefined when unknown (no addon, hung up). */
  groups(): { foreground: number; own: number } | undefined;
  /** tcsetpgrp without being stopped. Throws: no addon (LAYER_UNAVAILABLE), or the errno text (EPERM, ESRCH, EIO). */
  setForeground(pgrp: number): void;
  /** Terminal width in columns (80 when unknown). */
  columns(): number;
  write(text: string): void;
  /**
   * Raw mode on, and every chunk read goes to `onData` until the returned `stop` is called,
   * which stops reading and puts back exactly the mode the terminal had before (whatever the
   * sandboxed program had set).
   */
  read(onData: (chunk: Buffer) => void): () => void;
  close(): void;
}

/** pgrp and tpgid of this process (fields 5 and 8 of /proc/self/stat; comm may hold spaces). */
export function foregroundFields(stat: string): { pgrp: number; tpgid: number } | undefined {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(f[2]);
  const tpgid = Number(f[5]);
  return Number.isInteger(pgrp) && Number.isInteger(tpgid) && pgrp > 0 ? { pgrp, tpgid } : undefined;
}

/**
 * The controlling terminal's device path, from tty_nr (field 7 of /proc/self/stat): a fd opened
 * through /dev/tty names /dev/tty itself in /proc/self/fd, not the terminal it reaches.
 */
export function ttyName(stat: string): string | undefined {
  const nr = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
  if (!Number.isInteger(nr) || nr <= 0) return undefined;
  const major = (nr >> 8) & 0xfff;
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  // Unix98 pseudo-terminals: majors 136-143 (UNIX98_PTY_SLAVE_MAJOR and the ones after it).
  if (major >= 136 && major <= 143) return `/dev/pts/${(major - 136) * 256 + minor}`;
  return `/dev/char/${major}:${minor}`;
}

/** Opens the controlling terminal; undefined when there is none (no tty, CI, setsid). */
export function openControllingTty(): Tty | undefined {
  let rfd = -1;
  let wfd = -1;
  try {
    rfd = openSync('/dev/tty', constants.O_RDWR | constants.O_NOCTTY);
    wfd = openSync('/dev/tty', constants.O_WRONLY | constants.O_NOCTTY);
  } catch {
    if (rfd >= 0) closeSync(rfd);
    return undefined;
  }
  let name: string | undefined;
  try {
    name = ttyName(readFileSync('/proc/self/stat', 'utf8'));
  } catch {
    /* unnamed */
  }
  const input = new ReadStream(rfd);
  input.pause();
  const output = new WriteStream(wfd);
  // A terminal that hangs up (window closed) fails reads, writes and mode changes with EIO: the
  // prompt then just stays unanswered here (timeout, or another terminal), Warden goes on.
  input.on('error', () => undefined);
  output.on('error', () => undefined);
  // Idle, neither keeps the session alive.
  (input as unknown as { _handle?: { unref(): void } })._handle?.unref();
  (output as unknown as { _handle?: { unref(): void } })._handle?.unref();
  let reading = false;
  return {
    name: name ?? '/dev/tty',
    isForeground() {
      try {
        const f = foregroundFields(readFileSync('/proc/self/stat', 'utf8'));
        return !!f && f.tpgid === f.pgrp;
      } catch {
        return false;
      }
    },
    groups() {
      const addon = loadNativeAddon();
      try {
        const f = addon ? foregroundFields(readFileSync('/proc/self/stat', 'utf8')) : undefined;
        return f && addon ? { foreground: addon.tcgetpgrp(rfd), own: f.pgrp } : undefined;
      } catch {
        return undefined;
      }
    },
    setForeground(pgrp) {
      const addon = loadNativeAddon();
      if (!addon) throw new WardenError('LAYER_UNAVAILABLE', 'the native addon (native/build/warden-fdpass.node) is not built: the terminal cannot be taken back', 'run `npm install`');
      addon.tcsetpgrp(rfd, pgrp);
    },
    columns() {
      return output.columns > 0 ? output.columns : 80;
    },
    write(text) {
      output.write(text);
    },
    read(onData) {
      if (reading) throw new Error('terminal already being read');
      reading = true;
      input.setRawMode(true);
      input.on('data', onData);
      input.resume();
      return () => {
        if (!reading) return;
        reading = false;
        input.pause();
        input.off('data', onData);
        input.setRawMode(false);
      };
    },
    close() {
      if (reading) input.setRawMode(false);
      reading = false;
      input.destroy();
      output.destroy();
    },
  };
}
