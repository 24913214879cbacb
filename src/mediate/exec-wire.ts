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
 * Frames pipe (native/notify.c, src/mediate/frames-pipe.ts): hello (helper -> supervisor, first):
 *   u32 len = 20 | u32 kind = 4 | u32 helper pid | i32 fd of the pipe | u64 its inode. Pipe taken
 *   (supervisor -> helper): u32 len = 4 | u32 kind = 4. Switch (helper -> supervisor, the last
 *   frame on the channel): u32 len = 4 | u32 kind = 5; after it every frame comes through the pipe,
 *   and each byte on the channel is a doorbell: read the pipe.
 *
 * Open request (kind 3, "ask" zones; native/notify.c sends only opens whose path lies lexically in
 *   one): u32 len | u32 kind = 3 | u64 id | u32 pid | u32 syscall (2 open, 3 openat, 4 openat2,
 *   5 creat) | i32 dirfd | u32 reserved | u64 flags | u64 mode | u64 resolve | str path.
 * Open verdict: u32 len | u32 kind = 3 | u64 id | u32 pid | u32 action (0 continue, 1 fail, 2 open)
 *   | i32 errno | u32 oflags | u32 mode | u32 snapshot | u32 fdflags | u32 pathlen | path |
 *   u32 msglen | msg. "open": the helper opens `path` on the host (no symlinks, regular files
 *   only) with `oflags`/`mode` and injects the fd (a sealed copy when `snapshot`).
 *
 * Bytes are kept as bytes (argv may be any bytes but NUL); a frame whose lengths disagree with its
 * size is a protocol error, which the caller treats as fatal for the session (fail closed).
 */

/** Header + path (<= 4096) + argv (<= 4 MiB, length fields included): native/notify.c's bounds. */
export const MAX_FRAME = (4 << 20) + 8192;

export const PROBLEM = { PATH: 1, ARGV: 2, TOO_BIG: 4 } as const;

/** Where an exec request's key (ExecRequest.key) starts in its frame without the length field. */
export const KEY_AT = 16;

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
  /** The frame from the syscall field on — what native/notify.c caches a verdict by (its KEY_OFF):
   * two requests with the same key bytes are the same exec of the same bytes. */
  key: Buffer;
}

export type OpenSyscall = 'open' | 'openat' | 'openat2' | 'creat';
const OPEN_SYSCALLS: Record<number, OpenSyscall> = { 2: 'open', 3: 'openat', 4: 'openat2', 5: 'creat' };

export interface OpenRequest {
  kind: 3;
  id: bigint;
  pid: number;
  syscall: OpenSyscall;
  dirfd: number;
  /** open(2) flags as passed (O_ACCMODE, O_CREAT, ...); for creat, O_CREAT|O_WRONLY|O_TRUNC. */
  flags: number;
  mode: number;
  /** openat2's RESOLVE_* bits (0 otherwise). */
  resolve: number;
  path: Buffer;
}

export type MediationRequest = ExecRequest | OpenRequest;

export class WireError extends Error {}

/** Incremental decoder: feed chunks, get whole frames or requests. Throws WireError on a malformed stream. */
export class RequestDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /**
   * Hands each whole frame in the stream so far (without its length field) to `each`, in order,
   * as it is found; throws WireError at the first bad length (the frames before it have been handed
   * over). A frame's length is checked here; its contents are `decodeFrame`'s business. `each`
   * returning 'end' ends the frames: what follows in the stream is dropped (see the switch frame).
   */
  split(chunk: Buffer, each: (frame: Buffer) => void | 'end'): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    try {
      while (this.buf.length - off >= 4) {
        const len = this.buf.readUInt32LE(off);
        if (len < 4 || len > MAX_FRAME) throw new WireError(`bad frame length ${len}`);
        if (this.buf.length - off - 4 < len) break;
        const f = this.buf.subarray(off + 4, off + 4 + len);
        off += 4 + len;
        if (each(f) === 'end') off = this.buf.length;
      }
    } finally {
      this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
    }
  }

  /** Every whole request in the stream so far, decoded (all or none: a malformed one throws). */
  push(chunk: Buffer): MediationRequest[] {
    const out: MediationRequest[] = [];
    this.split(chunk, (f) => {
      out.push(decodeFrame(f));
    });
    return out;
  }

  /** Bytes buffered waiting for the rest of a frame (bounded by MAX_FRAME). */
  get pending(): number {
    return this.buf.length;
  }
}

/** Flags and modes beyond 32 bits cannot be real: the kernel would reject them too. */
function low32(f: Buffer, at: number, what: string): number {
  const v = f.readBigUInt64LE(at);
  if (v > 0xffffffffn) throw new WireError(`${what} out of range`);
  return Number(v);
}

function decodeOpen(f: Buffer): OpenRequest {
  if (f.length < 56) throw new WireError('truncated open frame');
  const syscall = OPEN_SYSCALLS[f.readUInt32LE(16)];
  if (!syscall) throw new WireError(`unknown open syscall ${f.readUInt32LE(16)}`);
  const n = f.readUInt32LE(52);
  if (56 + n !== f.length) throw new WireError('open frame length disagrees with its path');
  return {
    kind: 3,
    id: f.readBigUInt64LE(4),
    pid: f.readUInt32LE(12),
    syscall,
    dirfd: f.readInt32LE(20),
    flags: low32(f, 28, 'open flags'),
    mode: low32(f, 36, 'open mode'),
    resolve: low32(f, 44, 'openat2 resolve'),
    path: f.subarray(56),
  };
}

/** One frame (without its length field), of any kind. */
export function decodeFrame(f: Buffer): MediationRequest {
  return f.readUInt32LE(0) === 3 ? decodeOpen(f) : decodeRequest(f);
}

export function decodeRequest(f: Buffer): ExecRequest {
  if (f.length < 36) throw new WireError('truncated exec frame');
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
    key: f.subarray(KEY_AT),
  };
}

export type Verdict = { action: 'continue'; cacheable: boolean } | { action: 'fail'; errno: number; message?: string };

/** The helper tells at most this many bytes of a denial to the tracee's stderr. */
export const MAX_MESSAGE = 1024;

function clip(message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  return msg.length > MAX_MESSAGE ? Buffer.concat([msg.subarray(0, MAX_MESSAGE - 4), Buffer.from('…\n')]).subarray(0, MAX_MESSAGE) : msg;
}

export function encodeVerdict(id: bigint, pid: number, v: Verdict): Buffer {
  const msg = v.action === 'fail' && v.message ? clip(v.message) : Buffer.alloc(0);
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

/** Frames pipe hello (kind 4). */
export interface PipeHello {
  pid: number;
  fd: number;
  ino: bigint;
}

export const FRAME = { HELLO: 4, SWITCH: 5 } as const;

export function decodeHello(f: Buffer): PipeHello {
  if (f.length !== 20) throw new WireError('bad hello frame');
  return { pid: f.readUInt32LE(4), fd: f.readInt32LE(8), ino: f.readBigUInt64LE(12) };
}

/** The supervisor has opened the frames pipe. */
export function encodePipeTaken(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(4, 4);
  return b;
}

export function encodeFlush(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(2, 4);
  return b;
}

export type OpenVerdict =
  | { action: 'continue' }
  | { action: 'fail'; errno: number; message?: string }
  /** The helper opens `path` (host) itself and injects the fd; `snapshot` = a sealed read-only copy. */
  | { action: 'open'; path: string; oflags: number; mode: number; snapshot: boolean; cloexec: boolean };

export function encodeOpenVerdict(id: bigint, pid: number, v: OpenVerdict): Buffer {
  const path = v.action === 'open' ? Buffer.from(v.path, 'utf8') : Buffer.alloc(0);
  if (v.action === 'open' && (!v.path.startsWith('/') || path.includes(0) || path.length > 4096)) throw new WireError('bad open path');
  const msg = v.action === 'fail' && v.message ? clip(v.message) : Buffer.alloc(0);
  const b = Buffer.alloc(52 + path.length + msg.length);
  b.writeUInt32LE(48 + path.length + msg.length, 0);
  b.writeUInt32LE(3, 4);
  b.writeBigUInt64LE(id, 8);
  b.writeUInt32LE(pid >>> 0, 16);
  if (v.action === 'fail') {
    if (!Number.isInteger(v.errno) || v.errno <= 0 || v.errno > 4095) throw new WireError(`bad errno ${v.errno}`);
    b.writeUInt32LE(1, 20);
    b.writeInt32LE(v.errno, 24);
  } else if (v.action === 'open') {
    b.writeUInt32LE(2, 20);
    b.writeUInt32LE(v.oflags >>> 0, 28);
    b.writeUInt32LE(v.mode >>> 0, 32);
    b.writeUInt32LE(v.snapshot ? 1 : 0, 36);
    b.writeUInt32LE(v.cloexec ? O_CLOEXEC : 0, 40);
  }
  b.writeUInt32LE(path.length, 44);
  path.copy(b, 48);
  b.writeUInt32LE(msg.length, 48 + path.length);
  msg.copy(b, 52 + path.length);
  return b;
}

/** Linux's O_CLOEXEC (x86_64 and aarch64 agree). */
export const O_CLOEXEC = 0o2000000;
