/**
 * Plan -> bytes for the native helper (format: native/PLAN.md). Pure. The encoder is the only
 * producer of plans; it re-checks the few things the binary format cannot express (string
 * lengths, integer ranges) so that a bug upstream becomes an exception here rather than a plan the
 * helper has to reject.
 */
import { WardenError } from '../errors.js';
import { DEGRADABLE_LAYERS } from './spec.js';
import type { MountOp, Plan, RlimitName } from './plan.js';

export const PLAN_MAGIC = 0x4e4c5057; // "WPLN"
export const PLAN_VERSION = 1;

export const REC = {
  CONFIG: 1,
  MOUNT: 2,
  LL_PATH: 3,
  LL_NET: 4,
  RLIMIT: 5,
  ENV: 6,
  ARGV: 7,
  CWD: 8,
  SECCOMP: 9,
  CG_DIR: 10,
  CG_WRITE: 11,
  CG_READ: 12,
  HOSTNAME: 13,
  RELAY: 14,
  ASK: 15,
} as const;

export const CONFIG_FLAG = { NEW_SESSION: 1, LEGACY_MOUNT: 2, SECCOMP_NOTIFY: 4, GO_GATE: 8 } as const;
export const LAYER_BIT: Record<(typeof DEGRADABLE_LAYERS)[number], number> = { landlock: 1, seccomp: 2, pidmax: 4, cgroup: 8 };
export const MOUNT_OP: Record<MountOp['op'], number> = { bind: 1, tmpfs: 2, proc: 3, devpts: 4, mask: 5, symlink: 6, dir: 7, ro: 8, cow: 9 };
export const RELAY_FLAG = { DNS_TCP: 1 } as const;
export const MOUNT_FLAG = { RO: 1, DEV: 2, SRC_NEWROOT: 4, NOEXEC: 8 } as const;
/** Linux generic resource numbers (x86_64 and aarch64 agree). */
export const RLIMIT_NR: Record<RlimitName, number> = { CPU: 0, FSIZE: 1, DATA: 2, CORE: 4, NPROC: 6, NOFILE: 7, AS: 9 };
const U64_MAX = 0xffffffffffffffffn;

/**
 * Writes the plan straight into one growing buffer: a record's length is patched in once its
 * payload is written. (One small Buffer per field, concatenated per record and again per plan,
 * cost ~2 ms of `warden run`'s start-up, on the thread that spawns the helper.)
 */
class Writer {
  private buf = Buffer.allocUnsafe(16384);
  private at = 0;
  /** Records written so far (the header's count). */
  records = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new WardenError('INTERNAL', `plan: u32 out of range: ${v}`);
    this.room(4);
    this.at = this.buf.writeUInt32LE(v, this.at);
    return this;
  }
  u64(v: number | bigint): this {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n < 0n || n > U64_MAX) throw new WardenError('INTERNAL', `plan: u64 out of range: ${v}`);
    this.room(8);
    this.at = this.buf.writeBigUInt64LE(n, this.at);
    return this;
  }
  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }
  /** UTF-8 bytes of a path or name (at most `max`), without a length prefix. */
  text(s: string, max = 4096): this {
    const n = utf8Length(s, max);
    this.room(n);
    this.at += this.buf.write(s, this.at, n, 'utf8');
    return this;
  }
  /** u32 length + UTF-8 bytes. */
  str(s: string): this {
    return this.u32(utf8Length(s, 4096)).text(s);
  }
  /** One record: type, u32 length, then what `body` writes. */
  record(type: number, body: (w: this) => unknown): void {
    this.u32(type).u32(0);
    const lengthAt = this.at - 4;
    body(this);
    this.buf.writeUInt32LE(this.at - lengthAt - 4, lengthAt);
    this.records++;
  }
  get length(): number {
    return this.at;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.at);
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
}

/** Paths and names: at most 4096 bytes; argv/env strings: MAX_ARG_STRLEN. NUL is never valid. */
function utf8Length(s: string, max: number): number {
  if (s.includes('\0')) throw new WardenError('INTERNAL', 'plan: string contains NUL');
  const n = Buffer.byteLength(s, 'utf8');
  if (n > max) throw new WardenError('USAGE', `plan: string longer than ${max} bytes: ${s.slice(0, 40)}...`);
  return n;
}
const MAX_ARG = 131072;

function lim(v: number | 'unlimited'): bigint {
  return v === 'unlimited' ? U64_MAX : BigInt(v);
}

export function encodePlan(plan: Plan): Uint8Array {
  // Header: magic, version, total length and record count (both patched at the end).
  const w = new Writer().u32(PLAN_MAGIC).u32(PLAN_VERSION).u32(0).u32(0);
  let flags = 0;
  if (plan.flags.newSession) flags |= CONFIG_FLAG.NEW_SESSION;
  if (plan.flags.legacyMount) flags |= CONFIG_FLAG.LEGACY_MOUNT;
  if (plan.flags.goGate) flags |= CONFIG_FLAG.GO_GATE;
  if (plan.flags.mediateExec) flags |= CONFIG_FLAG.SECCOMP_NOTIFY;
  let degradable = 0;
  for (const l of plan.degradable) degradable |= LAYER_BIT[l];
  w.record(REC.CONFIG, (r) =>
    r
      .u32(flags)
      .u32(plan.supervisorPid)
      .u32(plan.statusFd)
      .u32(plan.landlock.minAbi)
      .u32(plan.landlock.abiMax ?? 0xffffffff)
      .u32(plan.pidMax)
      .u32(degradable)
      .u32(plan.landlock.scopes)
      .u32(plan.landlock.restrictFlags)
      .u32(0),
  );
  w.record(REC.HOSTNAME, (r) => r.text(plan.hostname));
  for (const m of plan.mounts) {
    let f = 0;
    let mode = 0;
    let size = 0;
    let src = '';
    if (m.op === 'bind') {
      if (m.readOnly) f |= MOUNT_FLAG.RO;
      if (m.dev) f |= MOUNT_FLAG.DEV;
      if (m.srcInNewRoot) f |= MOUNT_FLAG.SRC_NEWROOT;
      if (m.noexec) f |= MOUNT_FLAG.NOEXEC;
      src = m.src;
    } else if (m.op === 'tmpfs') {
      if (m.readOnly) f |= MOUNT_FLAG.RO;
      if (m.noexec) f |= MOUNT_FLAG.NOEXEC;
      mode = m.mode;
      size = m.sizeBytes;
    } else if (m.op === 'cow') {
      src = m.src;
      mode = m.mode;
      size = m.sizeBytes;
    } else if (m.op === 'dir') mode = m.mode;
    else if (m.op === 'symlink') src = m.target;
    w.record(REC.MOUNT, (r) => r.u32(MOUNT_OP[m.op]).u32(f).u32(mode).u32(0).u64(size).str(src).str(m.dst));
  }
  for (const l of plan.landlock.fs) w.record(REC.LL_PATH, (r) => r.u64(l.access).str(l.path));
  for (const l of plan.landlock.net) w.record(REC.LL_NET, (r) => r.u64(l.access).u64(l.port));
  for (const l of plan.rlimits) w.record(REC.RLIMIT, (r) => r.u32(RLIMIT_NR[l.resource]).u32(0).u64(lim(l.soft)).u64(lim(l.hard)));
  for (const c of plan.cgroups) {
    w.record(REC.CG_DIR, (r) => r.text(c.parent));
    for (const cw of c.writes) w.record(REC.CG_WRITE, (r) => r.u32(cw.target === 'parent' ? 1 : 0).u32(cw.optional ? 1 : 0).str(cw.key).str(cw.value));
    for (const read of c.reads) w.record(REC.CG_READ, (r) => r.text(read));
  }
  const seccomp = plan.seccomp;
  if (seccomp) w.record(REC.SECCOMP, (r) => r.raw(seccomp.bytes));
  for (const e of plan.env) w.record(REC.ENV, (r) => r.text(e, MAX_ARG));
  for (const a of plan.argv) w.record(REC.ARGV, (r) => r.text(a, MAX_ARG));
  w.record(REC.CWD, (r) => r.text(plan.cwd));
  if (plan.relay) {
    const relay = plan.relay;
    w.record(REC.RELAY, (r) => r.u32(relay.tcpPort).u32(relay.dnsPort).u32(relay.dnsTcp ? RELAY_FLAG.DNS_TCP : 0).u32(0).str(relay.proxySocket).str(relay.dnsSocket));
  }

  for (const a of plan.ask) w.record(REC.ASK, (r) => r.text(a));

  w.patchU32(8, w.length);
  w.patchU32(12, w.records);
  return w.bytes();
}
