/**
 * The tracee's filesystem view, from the supervisor: /proc/<pid>/root, cwd, fd/N and exe. Every
 * lookup below is of a path already free of symlinks except its last component (exec-target.ts
 * walks one component at a time), so the kernel never follows a tracee-controlled link on the
 * host side. The tracee is held in execve while this runs, so <pid> cannot be reused meanwhile
 * (the verdict for a tracee that died is simply not delivered).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import type { TraceeFs } from './exec-target.js';

function link(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

export function traceeFs(pid: number): TraceeFs {
  const root = `/proc/${pid}/root`;
  return {
    kind(path) {
      try {
        const st = lstatSync(root + path, { throwIfNoEntry: false });
        if (!st) return null;
        return st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
      } catch {
        return null;
      }
    },
    readlink: (path) => link(root + path),
    cwd: () => link(`/proc/${pid}/cwd`),
    fd: (n) => link(`/proc/${pid}/fd/${n}`),
    exe: () => link(`/proc/${pid}/exe`),
    head(path, n) {
      let fd: number | undefined;
      try {
        fd = openSync(root + path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
        if (!fstatSync(fd).isFile()) return null;
        const b = Buffer.alloc(n);
        return b.subarray(0, readSync(fd, b, 0, n, 0));
      } catch {
        return null;
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
  };
}
