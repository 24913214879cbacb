import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

/**
 * Symlink resolution for argument conditions (the I/O half of conditions.ts).
 *
 * Unlike realpath(3) this also resolves *dangling* links and paths that do not exist yet: a write
 * to `ws/link` where `link -> /etc/cron.d/x` does not exist must be judged as a write to
 * `/etc/cron.d/x`, which is what the server would create. Components that do not exist are kept
 * as written. Loops and chains longer than 40 links resolve to a path under `/proc/self/…/ELOOP`
 * that no policy root contains, so they are denied.
 */
export function resolveSymlinks(abs: string, fsops: { lstat: typeof lstatSync; readlink: typeof readlinkSync } = { lstat: lstatSync, readlink: readlinkSync }): string {
  let pending = abs.split('/').filter(Boolean);
  let done = '/';
  let hops = 0;
  while (pending.length) {
    const seg = pending.shift()!;
    if (seg === '.') continue;
    if (seg === '..') {
      done = posix.dirname(done);
      continue;
    }
    const next = posix.join(done, seg);
    let st;
    try {
      st = fsops.lstat(next, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st) {
      // Does not exist (or cannot be inspected): the rest is taken as written.
      return posix.normalize(posix.join(next, ...pending));
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return '/proc/self/ELOOP';
      let target: string;
      try {
        target = String(fsops.readlink(next));
      } catch {
        return '/proc/self/ELOOP';
      }
      // `done` has no symlinks left, so `..` in the target can be applied to it lexically.
      pending = [...target.split('/').filter(Boolean), ...pending];
      if (target.startsWith('/')) done = '/';
      continue;
    }
    done = next;
  }
  return done;
}
