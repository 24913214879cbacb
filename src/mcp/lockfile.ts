import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';
import { WardenError } from '../errors.js';
import type { PinnedTool } from './pin.js';

/**
 * The pin lockfile: JSON, one entry per upstream (keyed by its command line or URL), each holding
 * the fingerprint of every tool seen. I/O only; decisions live in pin.ts and the gateway.
 *
 * Invariants:
 * - written atomically (temp file in the same directory, fsync, rename, fsync the directory) with
 *   mode 0600, so a crash leaves the old or the new file, never a torn one;
 * - read bounded and validated: a lockfile that is corrupt, too large, not a regular file, or
 *   writable by group/others is refused (fail closed) — whoever can edit it can pre-approve a rug
 *   pull;
 * - updates re-read the file and change only one server's entry, so several gateways sharing a
 *   lockfile (one per upstream) do not erase each other's pins. (Concurrent writers can still race
 *   between read and rename; the loser's change is re-pinned on its next sight.)
 */

const MAX_LOCKFILE_BYTES = 32 * 1024 * 1024;

const pinnedToolSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  fields: z.record(z.string(), z.string()),
  pinnedAt: z.string(),
  via: z.enum(['first-use', 'accept']),
});

const serverPinsSchema = z.object({
  identity: z.object({ name: z.string(), version: z.string().optional() }),
  tools: z.record(z.string(), pinnedToolSchema),
  updatedAt: z.string(),
});

export const lockfileSchema = z.object({
  version: z.literal(1),
  servers: z.record(z.string(), serverPinsSchema),
});

export type LockfileData = z.infer<typeof lockfileSchema>;
export type ServerPins = z.infer<typeof serverPinsSchema>;
export type { PinnedTool };

export function emptyLockfile(): LockfileData {
  return { version: 1, servers: {} };
}

function lockfileError(path: string, what: string, hint: string): WardenError {
  return new WardenError('INTERNAL', `MCP lockfile ${path}: ${what}`, hint);
}

export function readLockfile(path: string): LockfileData {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyLockfile();
    throw lockfileError(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'check its permissions');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw lockfileError(path, 'not a regular file', 'point --lockfile at a file');
    if ((st.mode & 0o022) !== 0) throw lockfileError(path, `writable by group or others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw lockfileError(path, 'owned by another user', 'use a lockfile you own');
    if (st.size > MAX_LOCKFILE_BYTES) throw lockfileError(path, `larger than ${MAX_LOCKFILE_BYTES} bytes`, 'remove stale entries');
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(buf.subarray(0, n).toString('utf8'));
    } catch (e) {
      throw lockfileError(path, `not JSON (${(e as Error).message})`, 'restore it or delete it to re-pin every tool');
    }
    const r = lockfileSchema.safeParse(raw);
    if (!r.success) throw lockfileError(path, `invalid (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`, 'restore it or delete it to re-pin every tool');
    return r.data;
  } finally {
    closeSync(fd);
  }
}

export function writeLockfile(path: string, data: LockfileData): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const text = JSON.stringify(data, null, 2) + '\n';
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* directory fsync is best effort on filesystems that refuse it */
  }
}

/** A lockfile bound to a path, re-read on every update. */
export class LockfileStore {
  private cache: LockfileData;

  constructor(readonly path: string) {
    this.cache = readLockfile(path);
  }

  snapshot(): LockfileData {
    return this.cache;
  }

  server(key: string): ServerPins | undefined {
    return this.cache.servers[key];
  }

  /** Applies `mutate` to one server's entry (created when absent) and writes the file. */
  updateServer(key: string, identity: ServerPins['identity'], mutate: (tools: Record<string, PinnedTool>) => void, now: Date = new Date()): ServerPins {
    const fresh = readLockfile(this.path);
    const cur = fresh.servers[key] ?? { identity, tools: {}, updatedAt: now.toISOString() };
    const tools = { ...cur.tools };
    mutate(tools);
    const next: ServerPins = { identity, tools, updatedAt: now.toISOString() };
    fresh.servers[key] = next;
    writeLockfile(this.path, fresh);
    this.cache = fresh;
    return next;
  }
}
