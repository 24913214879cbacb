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
export const MOUNT_OP: Record<MountOp['op'], number> = { bind: 1, tmpfs: 2, proc: 3, devpts: 4, mask: 5, symlink: 6, dir: 7, ro: 8 };
export const RELAY_FLAG = { DNS_TCP: 1 } as const;
export const MOUNT_FLAG = { RO: 1, DEV: 2, SRC_NEWROOT: 4, NOEXEC: 8 } as const;
/** Linux generic resource numbers (x86_64 and aarch64 agree). */
export const RLIMIT_NR: Record<RlimitName, number> = { CPU: 0, FSIZE: 1, DATA: 2, CORE: 4, NPROC: 6, NOFILE: 7, AS: 9 };
const U64_MAX = 0xffffffffffffffffn;

class Writer {
  private chunks: Buffer[] = [];
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new WardenError('INTERNAL', `plan: u32 out of range: ${v}`);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.chunks.push(b);
    return this;
  }
  u64(v: number | bigint): this {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n < 0n || n > U64_MAX) throw new WardenError('INTERNAL', `plan: u64 out of range: ${v}`);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    this.chunks.push(b);
    return this;
  }
  raw(b: Uint8Array): this {
    this.chunks.push(Buffer.from(b));
    return this;
  }
  /** u32 length + UTF-8 bytes. */
  str(s: string): this {
    const b = utf8(s);
    return this.u32(b.length).raw(b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Paths and names: at most 4096 bytes; argv/env strings: MAX_ARG_STRLEN. */
function utf8(s: string, max = 4096): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.includes(0)) throw new WardenError('INTERNAL', 'plan: string contains NUL');
  if (b.length > max) throw new WardenError('USAGE', `plan: string longer than ${max} bytes: ${s.slice(0, 40)}...`);
  return b;
}
const MAX_ARG = 131072;

function lim(v: number | 'unlimited'): bigint {
  return v === 'unlimited' ? U64_MAX : BigInt(v);
}

export function encodePlan(plan: Plan): Uint8Array {
  const records: Array<[number, Buffer]> = [];
  const rec = (type: number, w: Writer | Buffer): void => void records.push([type, w instanceof Writer ? w.bytes() : w]);
  let flags = 0;
  if (plan.flags.newSession) flags |= CONFIG_FLAG.NEW_SESSION;
  if (plan.flags.legacyMount) flags |= CONFIG_FLAG.LEGACY_MOUNT;
  if (plan.flags.goGate) flags |= CONFIG_FLAG.GO_GATE;
  if (plan.flags.mediateExec) flags |= CONFIG_FLAG.SECCOMP_NOTIFY;
  let degradable = 0;
  for (const l of plan.degradable) degradable |= LAYER_BIT[l];
  rec(
    REC.CONFIG,
    new Writer()
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
  rec(REC.HOSTNAME, utf8(plan.hostname));
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
    } else if (m.op === 'dir') mode = m.mode;
    else if (m.op === 'symlink') src = m.target;
    rec(REC.MOUNT, new Writer().u32(MOUNT_OP[m.op]).u32(f).u32(mode).u32(0).u64(size).str(src).str(m.dst));
  }
  for (const r of plan.landlock.fs) rec(REC.LL_PATH, new Writer().u64(r.access).str(r.path));
  for (const r of plan.landlock.net) rec(REC.LL_NET, new Writer().u64(r.access).u64(r.port));
  for (const r of plan.rlimits) rec(REC.RLIMIT, new Writer().u32(RLIMIT_NR[r.resource]).u32(0).u64(lim(r.soft)).u64(lim(r.hard)));
  for (const c of plan.cgroups) {
    rec(REC.CG_DIR, utf8(c.parent));
    for (const w of c.writes) rec(REC.CG_WRITE, new Writer().u32(w.target === 'parent' ? 1 : 0).u32(w.optional ? 1 : 0).str(w.key).str(w.value));
    for (const r of c.reads) rec(REC.CG_READ, utf8(r));
  }
  if (plan.seccomp) rec(REC.SECCOMP, Buffer.from(plan.seccomp.bytes));
  for (const e of plan.env) rec(REC.ENV, utf8(e, MAX_ARG));
  for (const a of plan.argv) rec(REC.ARGV, utf8(a, MAX_ARG));
  rec(REC.CWD, utf8(plan.cwd));
  if (plan.relay) {
    const r = plan.relay;
    rec(REC.RELAY, new Writer().u32(r.tcpPort).u32(r.dnsPort).u32(r.dnsTcp ? RELAY_FLAG.DNS_TCP : 0).u32(0).str(r.proxySocket).str(r.dnsSocket));
  }

  for (const a of plan.ask) rec(REC.ASK, utf8(a));

  const body = Buffer.concat(records.map(([t, b]) => Buffer.concat([new Writer().u32(t).u32(b.length).bytes(), b])));
  const header = new Writer().u32(PLAN_MAGIC).u32(PLAN_VERSION).u32(16 + body.length).u32(records.length).bytes();
  return new Uint8Array(Buffer.concat([header, body]));
}
