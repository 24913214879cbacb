/**
 * The exec mediation wire between the native helper's notify loop (native/notify.c) and the
 * supervisor: request frames in, verdict frames out. Pure: bytes -> values, values -> bytes.
 *
 * Request (helper -> supervisor), little-endian:
 *   u32 len (bytes after this field) | u32 kind (1 awaiting a verdict, 2 already continued from the
 *   helper's cache of this supervisor's cacheable verdicts: audit it) | u64 id | u32 pid (host) |
 *   u32 syscall (0 execve, 1 execveat) | i32 dirfd (-100 = AT_FDCWD) | u32 flags (execveat) |
 *   u32 problems (1 path unreadable, 2 argv unreadable, 4 too large) | u32 argc |
 *   str path | argc x str       where str = u32 length + bytes (no terminator)
 * Verdict (supervisor -> helper): u32 len | u32 kind = 1 | u64 id | u32 pid | u32 action (0 continue,
 *   1 fail) | i32 errno | u32 cacheable | u32 msglen | msg (<= 1024 bytes, written to the tracee's
 *   stderr on fail).   Flush: u32 len = 4 | u32 kind = 2.
 *
 * Bytes are kept as bytes (argv may be any bytes but NUL); a frame whose lengths disagree with its
 * size is a protocol error, which the caller treats as fatal for the session (fail closed).
 */

/** Header + path (<= 4096) + argv (<= 4 MiB, length fields included): native/notify.c's bounds. */
export const MAX_FRAME = (4 << 20) + 8192;

export const PROBLEM = { PATH: 1, ARGV: 2, TOO_BIG: 4 } as const;

export interface ExecRequest {
  /** 1: the exec is held until a verdict is sent; 2: the helper already let it run (cached allow). */
  kind: 1 | 2;
  id: bigint;
  pid: number;
  syscall: 'execve' | 'execveat';
  dirfd: number;
  flags: number;
  problems: number;
  path: Buffer;
  argv: Buffer[];
}

export class WireError extends Error {}

/** Incremental decoder: feed chunks, get whole requests. Throws WireError on a malformed stream. */
export class RequestDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ExecRequest[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: ExecRequest[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32LE(off);
      if (len < 40 || len > MAX_FRAME) throw new WireError(`bad frame length ${len}`);
      if (this.buf.length - off - 4 < len) break;
      out.push(decodeRequest(this.buf.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
    return out;
  }

  /** Bytes buffered waiting for the rest of a frame (bounded by MAX_FRAME). */
  get pending(): number {
    return this.buf.length;
  }
}

export function decodeRequest(f: Buffer): ExecRequest {
  const kind = f.readUInt32LE(0);
  if (kind !== 1 && kind !== 2) throw new WireError(`unknown frame kind ${kind}`);
  const nr = f.readUInt32LE(16);
  if (nr > 1) throw new WireError(`unknown syscall ${nr}`);
  const argc = f.readUInt32LE(32);
  let off = 36;
  const str = (): Buffer => {
    if (off + 4 > f.length) throw new WireError('truncated string length');
    const n = f.readUInt32LE(off);
    off += 4;
    if (off + n > f.length) throw new WireError('truncated string');
    const s = f.subarray(off, off + n);
    off += n;
    return s;
  };
  const path = str();
  if (argc > (f.length - off) / 4) throw new WireError(`argc ${argc} exceeds the frame`);
  const argv: Buffer[] = [];
  for (let i = 0; i < argc; i++) argv.push(str());
  if (off !== f.length) throw new WireError('trailing bytes in frame');
  return {
    kind,
    id: f.readBigUInt64LE(4),
    pid: f.readUInt32LE(12),
    syscall: nr === 0 ? 'execve' : 'execveat',
    dirfd: f.readInt32LE(20),
    flags: f.readUInt32LE(24),
    problems: f.readUInt32LE(28),
    path,
    argv,
  };
}

export type Verdict = { action: 'continue'; cacheable: boolean } | { action: 'fail'; errno: number; message?: string };

/** The helper tells at most this many bytes of a denial to the tracee's stderr. */
export const MAX_MESSAGE = 1024;

export function encodeVerdict(id: bigint, pid: number, v: Verdict): Buffer {
  let msg = Buffer.alloc(0);
  if (v.action === 'fail' && v.message) {
    msg = Buffer.from(v.message, 'utf8');
    if (msg.length > MAX_MESSAGE) msg = Buffer.concat([msg.subarray(0, MAX_MESSAGE - 4), Buffer.from('…\n')]).subarray(0, MAX_MESSAGE);
  }
  const b = Buffer.alloc(36 + msg.length);
  b.writeUInt32LE(32 + msg.length, 0);
  b.writeUInt32LE(1, 4);
  b.writeBigUInt64LE(id, 8);
  b.writeUInt32LE(pid >>> 0, 16);
  if (v.action === 'continue') {
    b.writeUInt32LE(v.cacheable ? 1 : 0, 28);
  } else {
    if (!Number.isInteger(v.errno) || v.errno <= 0 || v.errno > 4095) throw new WireError(`bad errno ${v.errno}`);
    b.writeUInt32LE(1, 20);
    b.writeInt32LE(v.errno, 24);
  }
  b.writeUInt32LE(msg.length, 32);
  msg.copy(b, 36);
  return b;
}

export function encodeFlush(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(2, 4);
  return b;
}
