/**
 * Live file mediation for "ask" zones (DESIGN.md §2 L1), supervisor half. The helper's notify loop
 * sends every open(2)-family call whose path lies lexically in a zone (native/notify.c); this
 * resolves what it names in the tracee's own view, decides it with the policy's file rules, asks a
 * human where they say `ask`, audits, and answers: continue (not in a zone after all: the floor
 * decides), fail (with the rule's message on the tracee's stderr), or open — the helper then opens
 * the host file this code decided on and injects the fd, so nothing the tracee changes after the
 * notification alters what is opened (README "Live mediation": file asks).
 *
 * Threats and invariants:
 *  - The zones are masked at the floor: a "continue" can never reach into one. Anything this code
 *    cannot see or judge (a path that is not UTF-8, an fd base it cannot name, a loop, an openat2
 *    resolve mode it does not emulate, O_PATH/O_DIRECTORY/O_TMPFILE) is either a refusal or a
 *    continue to that floor — never an open.
 *  - Only regular files are handed over (the helper checks): a directory fd would reach every
 *    file under it past the masks. A read gets a sealed copy, never the zone's own inode.
 *  - An approval is bound to the host path and the access (read, write); its scope (once, this
 *    session) and expiry are the broker's. Timeout, no approver, a closed broker: deny.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { AuditEventInput } from '../audit/record.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import { walk, type TraceeFs } from './exec-target.js';
import { encodeOpenVerdict, type OpenRequest, type OpenVerdict } from './exec-wire.js';

export type FileAccess = 'read' | 'write' | 'read+write';

export interface FileApprovalRequest {
  path: string;
  access: FileAccess;
  rule: string;
  reason: string;
}

export interface FileMediatorOptions {
  policy: CompiledPolicy;
  /** The plan's ask zones (canonical host paths, the same in the tracee's view). */
  zones: readonly string[];
  session: string;
  audit: (ev: AuditEventInput) => void;
  /** Ask a human; absent = nobody can approve (ask -> deny). */
  approve?: (req: FileApprovalRequest) => Promise<'allow' | 'deny'>;
  fsFor: (pid: number) => TraceeFs;
  /** The tracee's umask (applied to the mode of a file it creates); null when unknown. */
  umaskOf?: (pid: number) => number | null;
  /** One verdict frame to the helper. */
  send: (frame: Buffer) => void;
}

/** Linux open(2) flags; DIRECTORY, NOFOLLOW (and TMPFILE, which contains DIRECTORY) differ on arm64. */
const ARM = process.arch === 'arm64';
export const O = {
  ACCMODE: 0o3,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  DIRECTORY: ARM ? 0o40000 : 0o200000,
  NOFOLLOW: ARM ? 0o100000 : 0o400000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4010000,
  PATH: 0o10000000,
} as const;
/** What the helper passes on to its own open: exactly native/notify.c's OPEN_OK_FLAGS (anything else there is fatal). */
const PASS = O.ACCMODE | O.APPEND | O.TRUNC | O.CREAT | O.EXCL | O.NONBLOCK | O.SYNC;
const AT_FDCWD = -100;
const EACCES = 13;
const ELOOP = 40;
const EINVAL = 22;

/** The decision for one open, before any human is asked: pure over the tracee view and policy. */
export type OpenPlan =
  | { kind: 'continue'; why: string; path?: string }
  | { kind: 'fail'; errno: number; rule: string; reason: string; path: string | null; tell: boolean }
  | { kind: 'decide'; path: string; access: FileAccess; result: DecisionResult };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function within(p: string, zone: string): boolean {
  return p === zone || p.startsWith(zone + '/');
}

/** Creating or truncating counts as writing. */
export function accessOf(flags: number): FileAccess {
  const acc = flags & O.ACCMODE;
  const writes = acc === 1 || acc === 2 || (flags & (O.CREAT | O.TRUNC)) !== 0;
  const reads = acc === 0 || acc === 2;
  return reads && writes ? 'read+write' : writes ? 'write' : 'read';
}

function strictest(a: DecisionResult, b: DecisionResult): DecisionResult {
  const rank = { deny: 4, steer: 3, approve: 2, warn: 1, allow: 0 } as const;
  return rank[b.decision] > rank[a.decision] ? b : a;
}

export function planOpen(req: OpenRequest, fs: TraceeFs, zones: readonly string[], policy: CompiledPolicy): OpenPlan {
  let path: string;
  try {
    path = utf8.decode(req.path);
  } catch {
    return { kind: 'fail', errno: EACCES, rule: 'warden.open-encoding', reason: 'the path is not valid UTF-8; denied', path: null, tell: true };
  }
  // Special opens reach the floor, which shows the mask: handing over an O_PATH or directory fd
  // of the real zone would open everything beneath it.
  if ((req.flags & O.PATH) === O.PATH || (req.flags & O.DIRECTORY) === O.DIRECTORY) return { kind: 'continue', why: 'O_PATH/O_DIRECTORY/O_TMPFILE: the floor decides' };
  if (req.resolve !== 0) return { kind: 'continue', why: 'openat2 resolve modes are not emulated: the floor decides' };
  let abs = path;
  if (!path.startsWith('/')) {
    const base = req.dirfd === AT_FDCWD ? fs.cwd() : req.dirfd >= 0 ? fs.fd(req.dirfd) : null;
    if (base === null || !base.startsWith('/') || base.endsWith(' (deleted)')) return { kind: 'fail', errno: EACCES, rule: 'warden.open-base', reason: 'the directory the path is relative to has no name Warden can judge; denied', path: null, tell: true };
    abs = `${base}/${path}`;
  }
  const w = walk(fs, abs, new Set());
  if ('anonymous' in w) return { kind: 'fail', errno: ELOOP, rule: 'warden.open-unresolvable', reason: `the path leads to ${w.anonymous}; denied`, path: null, tell: true };
  const real = w.path;
  if (!zones.some((z) => within(real, z))) return { kind: 'continue', why: 'outside every ask zone once resolved', path: real };
  if (req.flags & O.NOFOLLOW && w.aliases.length) return { kind: 'fail', errno: ELOOP, rule: 'warden.open-nofollow', reason: 'O_NOFOLLOW on a symlink', path: real, tell: false };
  if (real.length > 4096 || real.includes('\0')) return { kind: 'fail', errno: EINVAL, rule: 'warden.open-path', reason: 'path too long', path: null, tell: true };
  const access = accessOf(req.flags);
  const r = access === 'read+write'
    ? strictest(decide(policy, { kind: 'file', path: real, access: 'read' }), decide(policy, { kind: 'file', path: real, access: 'write' }))
    : decide(policy, { kind: 'file', path: real, access });
  return { kind: 'decide', path: real, access, result: r };
}

/** The tracee's umask from /proc/<pid>/status (null when unreadable). */
export function procUmask(pid: number): number | null {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? parseInt(m[1]!, 8) : null;
  } catch {
    return null;
  }
}

export class FileMediator {
  private held = 0;
  private closed = false;

  constructor(private readonly o: FileMediatorOptions) {}

  get pendingApprovals(): number {
    return this.held;
  }

  close(): void {
    this.closed = true;
  }

  handle(req: OpenRequest): void {
    let p: OpenPlan;
    try {
      p = planOpen(req, this.o.fsFor(req.pid), this.o.zones, this.o.policy);
    } catch (e) {
      p = { kind: 'fail', errno: EACCES, rule: 'internal.error', reason: `file mediation failed (${String((e as Error)?.message ?? e).slice(0, 200)}); denied`, path: null, tell: true };
    }
    if (p.kind === 'continue') {
      this.reply(req, { action: 'continue' });
      return;
    }
    if (p.kind === 'fail') {
      this.finish(req, p.path ?? lossy(req.path), null, { decision: 'deny', rule: p.rule, reason: p.reason }, p.tell, {});
      return;
    }
    const { path, access, result } = p;
    if (result.decision !== 'approve') {
      this.finish(req, path, access, result, true, {});
      return;
    }
    const approve = this.o.approve;
    if (!approve) {
      this.finish(req, path, access, { ...result, decision: 'deny', reason: `${result.reason}; approval required but nobody can approve in this session` }, true, { approval: 'no-approver' });
      return;
    }
    this.held++;
    approve({ path, access, rule: result.rule, reason: result.reason })
      .catch(() => 'deny' as const)
      .then((answer) => {
        this.held--;
        const out: DecisionResult = answer === 'allow' ? { ...result, decision: 'allow' } : { ...result, decision: 'deny', reason: `${result.reason}; not approved` };
        this.finish(req, path, access, out, true, { approval: answer });
      });
  }

  private finish(req: OpenRequest, path: string, access: FileAccess | null, r: DecisionResult, tell: boolean, extra: Record<string, unknown>): void {
    if (this.closed) return;
    const opens = (r.decision === 'allow' || r.decision === 'warn') && access !== null;
    let v: OpenVerdict;
    if (opens) {
      const umask = req.flags & O.CREAT ? (this.o.umaskOf?.(req.pid) ?? 0o077) : 0;
      const snapshot = access === 'read';
      // A snapshot is read-only: O_APPEND (meaningless for a read) is not passed on.
      v = { action: 'open', path, oflags: req.flags & PASS & (snapshot ? ~O.APPEND : ~0), mode: req.mode & 0o7777 & ~umask, snapshot, cloexec: (req.flags & O.CLOEXEC) !== 0 };
    } else {
      const why = r.message ?? r.reason;
      v = { action: 'fail', errno: EACCES, ...(tell ? { message: `warden: open ${path}: denied by rule ${r.rule}: ${why}\n` } : {}) };
    }
    const detail: Record<string, unknown> = { reason: r.reason, syscall: req.syscall, flags: `0${req.flags.toString(8)}` };
    if (access !== null) detail['access'] = access;
    if (opens) detail['handedOver'] = access === 'read' ? 'sealed copy' : 'file';
    for (const [k, val] of Object.entries(extra)) detail[k] = val;
    // Audit first (enqueued in order), then let the open happen or fail.
    this.o.audit({ session: this.o.session, kind: 'file', decision: r.decision, rule: r.rule, resource: path, proc: { pid: req.pid }, detail });
    this.reply(req, v);
  }

  private reply(req: OpenRequest, v: OpenVerdict): void {
    if (!this.closed) this.o.send(encodeOpenVerdict(req.id, req.pid, v));
  }
}

function lossy(b: Buffer): string {
  return posix.normalize(new TextDecoder('utf-8').decode(b));
}
