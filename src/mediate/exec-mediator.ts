/**
 * Live exec mediation, supervisor half (DESIGN.md §2 L1): every execve/execveat of the sandboxed
 * tree arrives here from the helper's notify loop (exec-wire.ts), is resolved in the tracee's own
 * view (exec-target.ts), decided by the same `decideCommand` the agent hooks use, audited, and
 * answered. Decisions: allow / warn (continue; warn is flagged in the audit record), deny / steer
 * (the exec fails with EACCES and the rule's message — with the safer alternative for steer — is
 * written to the failing program's stderr), approve (the exec is held while a human decides via
 * `warden approvals`; timeout, no approver or a closed broker is a deny).
 *
 * Fail closed: anything this code cannot see or parse — unreadable memory, a path that is not
 * UTF-8, an anonymous (memfd/deleted) program, an unknown loader option, an exception — is a deny;
 * a malformed frame from the helper ends the session (`onFatal`). No exec is ever answered
 * "continue" by default: every request gets exactly one verdict, computed for that request.
 *
 * Memory: requests held for approval are bounded by the broker's `maxPending` (beyond it they are
 * denied at once); everything else is answered synchronously as it arrives.
 *
 * Audit order: every record is handed to the audit log in the order the helper wrote its frames.
 * Records of execs the helper already continued from its verdict cache (kind 2) are handed over in
 * batches — at most REPLAY_BATCH_MS after their frame is read, before any other record of this
 * mediator, and at close — so a loop of cached execs costs one group commit per batch rather than
 * one per few execs. Once the helper's frames pipe is taken (frames-pipe.ts), such a frame itself
 * is read up to RING_MS after it was written (no wake-up per replayed exec). Those delays change
 * nothing about what runs (those execs were continued by the helper, after their frame was
 * written); they mean such a record's log time is up to RING_MS + REPLAY_BATCH_MS late, and can
 * follow a record another layer (egress) wrote in that window. A record that needs an answer is
 * always enqueued before its verdict is written.
 */
import { posix } from 'node:path';
import type { Duplex } from 'node:stream';
import type { AuditEventInput } from '../audit/record.js';
import { decide } from '../policy/evaluate.js';
import type { Decision } from '../policy/schema.js';
import { decideCommand, type CommandContext, type CommandDecision } from './command-decision.js';
import { isLoader, loaderProgram, programNames, resolveExecTarget, type ExecTarget, type TraceeFs } from './exec-target.js';
import { decodeFrame, decodeHello, encodeOpenVerdict, encodePipeTaken, encodeVerdict, FRAME, KEY_AT, PROBLEM, RequestDecoder, WireError, type ExecRequest, type OpenRequest, type Verdict } from './exec-wire.js';
import { FramesPipe, RING_MS } from './frames-pipe.js';

export interface ExecApprovalRequest {
  program: string;
  argv: string[];
  cwd: string | null;
  rule: string;
  reason: string;
}

export interface ExecMediatorOptions {
  channel: Duplex;
  session: string;
  context: CommandContext;
  /** Paths the sandbox cannot change (from the plan's mounts): only those make a verdict cacheable. */
  immutable: (path: string) => boolean;
  audit: (ev: AuditEventInput) => void;
  /**
   * The record of a replayed exec: `template` (the record of the verdict it replays, never changed
   * after it is handed over) with proc.pid = `pid`. Absent = audit() of that record.
   */
  auditReplay?: (template: AuditEventInput, pid: number) => void;
  /** Ask a human; absent = nobody can approve (approve -> deny). */
  approve?: (req: ExecApprovalRequest) => Promise<'allow' | 'deny'>;
  /** The tracee's filesystem view (tests inject one). */
  fsFor: (pid: number) => TraceeFs;
  /** The helper's channel failed or sent garbage: the caller kills the sandbox. */
  onFatal: (e: Error) => void;
  /** Opens in "ask" zones share the channel (file-mediator.ts); absent = each one is refused. */
  onOpen?: (req: OpenRequest) => void;
}

interface Judgement {
  decision: Decision;
  rule: string;
  reason: string;
  message?: string;
  suggestion?: string;
  program: string | null;
  cwd: string | null;
  cacheable: boolean;
  via?: string[];
  /** The program does not exist (now): a refusal then looks like the kernel's own ENOENT. */
  missing?: true;
}

const STRICT: Record<Decision, number> = { deny: 4, steer: 3, approve: 2, warn: 1, allow: 0 };
const EACCES = 13;
const E2BIG = 7;
const EFAULT = 14;
const ENOENT = 2;
const MAX_AUDIT_ARGS = 256;
/**
 * Longest a cached exec's record waits in the mediator, and most records waiting (memory bound:
 * each is a reference to a shared template and a pid). One batch is one group commit; at 10 ms and
 * 32 records the commits of a fast exec loop cost it measurably more (see RING_MS).
 */
export const REPLAY_BATCH_MS = 40;
export const REPLAY_BATCH_MAX = 512;
/** native/notify.c MED_KEY_MAX: the largest request key the helper caches (and so ever replays). */
const MAX_REPLAY_KEY = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

function decodeStrict(b: Buffer): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

export class ExecMediator {
  private readonly decoder = new RequestDecoder();
  /** The helper's frames pipe once it said hello and we opened it; its own stream of frames. */
  private pipe: FramesPipe | undefined;
  private readonly pipeDecoder = new RequestDecoder();
  /** After the switch frame: the channel carries doorbells only. */
  private switched = false;
  /** Reads the pipe again RING_MS after a doorbell, and on while it finds frames (see frames-pipe.ts). */
  private pipeTimer: NodeJS.Timeout | undefined;
  /**
   * What the helper may replay, by request key (its bytes as latin1): the audit record of such a
   * replay, built once when the verdict was given, with everything but the pid. The key holds every
   * byte of the frame from the syscall field on, so a kind-2 frame with the same key decodes to the
   * very request that record describes — it needs no decoding, only its pid.
   */
  private readonly replayable = new Map<string, AuditEventInput>();
  private held = 0;
  private closed = false;
  /** Records of cached (kind 2) execs not yet handed to the audit log, in frame order. */
  private replayed: Array<{ ev: AuditEventInput; pid?: number }> = [];
  private replayTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ExecMediatorOptions) {
    o.channel.on('data', (chunk: Buffer) => this.onData(chunk));
    // The helper closing its end means it exited, and the tree with it (PDEATHSIG chain): nothing
    // is held any more, so this is the end of mediation, not a failure.
    o.channel.on('error', () => this.close());
    o.channel.on('end', () => this.close());
  }

  /** Execs currently held for a human. */
  get pendingApprovals(): number {
    return this.held;
  }

  close(): void {
    if (this.closed) return;
    // What the helper reported before the end is recorded before the session's last record.
    try {
      this.readPipe();
      this.flushReplayed();
    } catch (e) {
      this.fatal(e as Error);
    }
    this.closed = true;
    this.closePipe();
  }

  private closePipe(): void {
    clearTimeout(this.pipeTimer);
    this.pipeTimer = undefined;
    this.pipe?.close();
  }

  private fatal(e: Error): void {
    if (this.closed) return;
    this.closePipe();
    // Execs the helper already let run are recorded even when the session ends in a failure.
    try {
      this.flushReplayed();
    } catch {
      // the audit log itself failed: its own error handler has already ended the session
    }
    this.closed = true;
    this.o.onFatal(e);
  }

  private onData(chunk: Buffer): void {
    try {
      if (!this.switched) this.decoder.split(chunk, (f) => this.onChannelFrame(f));
      // A doorbell (or bytes after the switch frame in the same chunk): read the pipe now, and
      // again RING_MS later (a replay written meanwhile rings no bell).
      if (this.switched) {
        this.readPipe();
        this.pipeTimer ??= setTimeout(() => this.onPipeTimer(), RING_MS);
      }
    } catch (e) {
      this.fatal(e as Error);
    }
  }

  private onPipeTimer(): void {
    this.pipeTimer = undefined;
    try {
      if (this.readPipe()) this.pipeTimer = setTimeout(() => this.onPipeTimer(), RING_MS);
    } catch (e) {
      this.fatal(e as Error);
    }
  }

  /** Every frame in the pipe now, handled in order. Returns whether there was any byte. */
  private readPipe(): boolean {
    if (!this.pipe || this.closed) return false;
    return this.pipe.drain((chunk) => this.pipeDecoder.split(chunk, (f) => this.onFrame(f)));
  }

  /** A frame on the channel itself: a request, or the frames pipe's hello and switch. */
  private onChannelFrame(f: Buffer): void | 'end' {
    const kind = f.readUInt32LE(0);
    if (kind === FRAME.HELLO) {
      if (this.pipe) throw new WireError('a second hello frame');
      const h = decodeHello(f);
      // Not the helper's pipe (any more): the frames stay on the channel, nothing is lost.
      this.pipe = FramesPipe.open(h.pid, h.fd, h.ino) ?? undefined;
      if (this.pipe) this.send(encodePipeTaken());
      return;
    }
    if (kind === FRAME.SWITCH) {
      if (!this.pipe || f.length !== 4) throw new WireError('a switch frame without a pipe taken');
      this.switched = true;
      return 'end';
    }
    this.onFrame(f);
  }

  private onFrame(f: Buffer): void {
    // The common case of an exec loop: an exec the helper replayed from a verdict of ours. Its key
    // bytes equal those of a frame already decoded and judged, so its record is that one's.
    if (f.readUInt32LE(0) === 2) {
      const ev = this.replayable.get(f.toString('latin1', KEY_AT));
      if (ev !== undefined) {
        if (!this.closed) this.queueReplayed(ev, f.readUInt32LE(12));
        return;
      }
    }
    const r = decodeFrame(f);
    if (r.kind !== 3) this.handle(r);
    else if (this.o.onOpen) this.o.onOpen(r);
    else this.send(encodeOpenVerdict(r.id, r.pid, { action: 'fail', errno: EACCES }));
  }

  private handle(req: ExecRequest): void {
    if (this.closed) return;
    if (req.kind === 2) {
      this.replay(req);
      return;
    }
    const argv = req.argv.map((a) => lossy.decode(a));
    const invalidUtf8 = req.argv.some((a) => decodeStrict(a) === null) || undefined;
    let j: Judgement;
    try {
      j = this.judge(req, argv);
    } catch (e) {
      j = { decision: 'deny', rule: 'internal.error', reason: `exec mediation failed (${String((e as Error)?.message ?? e).slice(0, 200)}); denied`, program: null, cwd: null, cacheable: false };
    }
    if (j.decision === 'approve') {
      this.hold(req, argv, j, invalidUtf8);
      return;
    }
    this.answer(req, argv, j, { invalidUtf8 });
  }

  /**
   * An exec the helper already continued from its cache of this mediator's verdicts, whose verdict
   * this mediator no longer remembers (evicted, or never remembered: too long): audit it from its
   * own frame.
   */
  private replay(req: ExecRequest): void {
    const argv = req.argv.map((a) => lossy.decode(a));
    const invalidUtf8 = req.argv.some((a) => decodeStrict(a) === null) || undefined;
    this.queueReplayed(this.event(req, argv, replayed('cache', null), { cached: true, invalidUtf8 }));
  }

  private judge(req: ExecRequest, argv: string[]): Judgement {
    const none = { program: null, cwd: null, cacheable: false };
    if (req.problems & PROBLEM.TOO_BIG) return { decision: 'deny', rule: 'warden.exec-too-large', reason: 'the path or argument list exceeds what Warden reads (4 MiB); denied', ...none };
    if (req.problems) return { decision: 'deny', rule: 'warden.exec-unreadable', reason: 'the path or arguments of the exec could not be read from the process; denied', ...none };
    const path = decodeStrict(req.path);
    if (path === null) return { decision: 'deny', rule: 'warden.exec-encoding', reason: 'the program path is not valid UTF-8; denied', ...none };
    const fs = this.o.fsFor(req.pid);
    const cwd = fs.cwd();
    const target = resolveExecTarget(fs, { path, syscall: req.syscall, dirfd: req.dirfd, flags: req.flags, argv });
    if (target.anonymous !== undefined || target.real === null) {
      return { decision: 'deny', rule: 'warden.exec-anonymous', reason: `the program is ${target.anonymous ?? 'unknown'}: it has no name the policy can judge; denied`, ...none, cwd };
    }
    // Not there (a PATH search trying each directory, a path that vanished): fail as the kernel would,
    // without asking anyone; if it appears after this look, it still does not run.
    if (!target.exists) return { decision: 'deny', rule: 'warden.exec-missing', reason: `${target.real} does not exist`, program: target.real, cwd, cacheable: false, missing: true };
    // Everything the kernel will start for this exec, judged in turn: the program itself, each
    // shebang interpreter, and the program a directly-run dynamic loader maps.
    const subjects: Array<{ path: string; names: Array<string | null>; argv: string[]; target: ExecTarget }> = [
      { path: target.real, names: [target.given, ...target.aliases], argv: argv.length ? argv : [path], target },
    ];
    for (const r of target.runs) subjects.push({ path: r.path, names: [r.given, ...r.aliases], argv: r.argv, target });
    const via: string[] = target.runs.map((r) => r.path);
    for (const s of [...subjects]) {
      if (!isLoader(s.path)) continue;
      const lp = loaderProgram(s.argv);
      if (lp === 'unknown') return { decision: 'deny', rule: 'warden.exec-loader', reason: `the dynamic loader ${s.path} was run with an option Warden does not know; denied`, ...none, cwd };
      if (lp === null) continue;
      const t = resolveExecTarget(fs, { path: lp.program, syscall: 'execve', dirfd: -100, flags: 0, argv: lp.argv });
      if (t.anonymous !== undefined || t.real === null) return { decision: 'deny', rule: 'warden.exec-anonymous', reason: `the loader was asked to run ${t.anonymous ?? 'an unknown program'}; denied`, ...none, cwd };
      subjects.push({ path: t.real, names: [t.given, ...t.aliases], argv: [t.real, ...lp.argv.slice(1)], target: t });
      via.push(s.path);
    }
    let best: (CommandDecision & { program: string }) | undefined;
    for (const s of subjects) {
      const d = this.decideOne(s.path, s.names, s.argv, cwd);
      if (best === undefined || STRICT[d.decision] > STRICT[best.decision]) best = { ...d, program: s.path };
    }
    const d = best!;
    // The helper's cache key is the request bytes, which do not include the cwd or what a dirfd
    // names: only an absolute path means the same file wherever it is executed from.
    const absolute = path.startsWith('/');
    const stable = absolute && subjects.every((s) => s.target.exists && this.o.immutable(s.path) && s.target.consulted.every((c) => this.o.immutable(c)));
    const j: Judgement = {
      decision: d.decision,
      rule: d.rule,
      reason: d.reason,
      program: d.program,
      cwd,
      // Replayable only where the agent cannot change what the same request resolves to, and only
      // for a plain allow (warn must be flagged, approve asked, each time).
      cacheable: d.decision === 'allow' && stable && !isLoader(target.real),
      ...(via.length ? { via } : {}),
      ...(target.exists ? {} : { missing: true as const }),
    };
    if (d.message !== undefined) j.message = d.message;
    if (d.suggestion !== undefined) j.suggestion = d.suggestion;
    return j;
  }

  /**
   * One program: the shared command decision on its resolved path, then the other names it is
   * known by (the name invoked, every link of its symlink chain, versionless and triplet-less
   * forms). A rule met through any of those names counts as a rule on the program — as if it had
   * matched the resolved name: it overrides a classifier-derived decision (an explicit allow on
   * `python3` decides `/usr/bin/python3.11`), and the strictest explicit rule wins.
   */
  private decideOne(path: string, names: Array<string | null>, argv: string[], cwd: string | null): CommandDecision {
    const d = decideCommand(this.o.context, { kind: 'argv', argv, path, kernel: true, ...(cwd !== null ? { cwd } : {}) });
    const primary = posix.basename(path);
    let explicit: CommandDecision | undefined = d.rule.startsWith('classify.') || d.rule === 'default.exec' ? undefined : d;
    for (const name of programNames(path, ...names)) {
      if (name === primary) continue;
      const r = decide(this.o.context.policy, { kind: 'exec', argv: [name, ...argv.slice(1)], path: name, ...(cwd !== null ? { cwd } : {}) });
      if (r.rule === 'default.exec') continue;
      if (explicit === undefined || STRICT[r.decision] > STRICT[explicit.decision]) explicit = { ...r };
    }
    return explicit ?? d;
  }

  private hold(req: ExecRequest, argv: string[], j: Judgement, invalidUtf8: true | undefined): void {
    const approve = this.o.approve;
    if (!approve) {
      this.answer(req, argv, { ...j, decision: 'deny', reason: `${j.reason}; approval required but nobody can approve in this session` }, { invalidUtf8, approval: 'no-approver' });
      return;
    }
    this.held++;
    approve({ program: j.program ?? '', argv, cwd: j.cwd, rule: j.rule, reason: j.reason })
      .catch(() => 'deny' as const)
      .then((answer) => {
        this.held--;
        const out: Judgement = answer === 'allow' ? { ...j, decision: 'allow', cacheable: false } : { ...j, decision: 'deny', reason: `${j.reason}; not approved` };
        this.answer(req, argv, out, { invalidUtf8, approval: answer });
      });
  }

  private answer(req: ExecRequest, argv: string[], j: Judgement, extra: Record<string, unknown>): void {
    const runs = j.decision === 'allow' || j.decision === 'warn';
    let v: Verdict;
    if (runs) {
      v = { action: 'continue', cacheable: j.cacheable };
      if (j.cacheable) this.remember(req, j, argv, extra['invalidUtf8'] === true || undefined);
    } else {
      // A refused exec of a program that is not there fails as the kernel would (a PATH search goes
      // on quietly); one that is there fails with EACCES and the rule's message on its stderr.
      const errno = j.rule === 'warden.exec-too-large' ? E2BIG : j.rule === 'warden.exec-unreadable' ? EFAULT : j.missing ? ENOENT : EACCES;
      v = j.missing ? { action: 'fail', errno } : { action: 'fail', errno, message: denialText(j, argv) };
    }
    // The session is over (the tree is dead): nothing left to answer or record.
    if (this.closed) return;
    // Audit first (enqueued in order), then let the exec go on or fail.
    this.record(req, argv, j, extra);
    this.send(encodeVerdict(req.id, req.pid, v));
  }

  /** One verdict frame to the helper (the file mediator answers through here too). */
  send(frame: Buffer): void {
    if (this.closed) return;
    try {
      this.o.channel.write(frame);
    } catch (e) {
      this.fatal(e as Error);
    }
  }

  private remember(req: ExecRequest, j: Judgement, argv: string[], invalidUtf8: true | undefined): void {
    // The helper replays only requests whose key fits its slot; a longer one is never replayed, and
    // remembering it would let 2 MB argv lists pile up here (memory stays bounded: 256 x ~4 KiB).
    if (req.key.length > MAX_REPLAY_KEY) return;
    if (this.replayable.size >= 256) this.replayable.delete(this.replayable.keys().next().value as string);
    const ev = this.event(req, argv, replayed(j.rule, j.program), { cached: true, invalidUtf8 });
    // Shared by every record of a replay of this exec: never changed after this.
    Object.freeze(ev.detail);
    Object.freeze(ev.proc!.argv);
    this.replayable.set(req.key.toString('latin1'), ev);
  }

  /** The audit record of an exec. */
  private event(req: ExecRequest, argv: string[], j: Judgement, extra: Record<string, unknown>): AuditEventInput {
    const detail: Record<string, unknown> = { reason: j.reason, syscall: req.syscall, argc: argv.length };
    if (j.cwd !== null) detail['cwd'] = j.cwd;
    if (j.suggestion !== undefined) detail['suggestion'] = j.suggestion;
    if (j.via) detail['via'] = j.via;
    for (const [k, val] of Object.entries(extra)) if (val !== undefined) detail[k] = val;
    if (argv.length > MAX_AUDIT_ARGS) detail['argsOmitted'] = argv.length - MAX_AUDIT_ARGS;
    return {
      session: this.o.session,
      kind: 'exec',
      decision: j.decision,
      rule: j.rule,
      resource: j.program ?? lossy.decode(req.path),
      proc: { pid: req.pid, ...(j.program !== null ? { exe: j.program } : {}), argv: argv.slice(0, MAX_AUDIT_ARGS) },
      detail,
    };
  }

  /** The record of an exec that waits for an answer: after every replay reported before it. */
  private record(req: ExecRequest, argv: string[], j: Judgement, extra: Record<string, unknown>): void {
    this.flushReplayed();
    this.o.audit(this.event(req, argv, j, extra));
  }

  /** The record of an exec that already ran (kind 2): it may wait for the next batch. */
  private queueReplayed(ev: AuditEventInput, pid?: number): void {
    this.replayed.push(pid === undefined ? { ev } : { ev, pid });
    if (this.replayed.length >= REPLAY_BATCH_MAX) this.flushReplayed();
    else
      this.replayTimer ??= setTimeout(() => {
        this.replayTimer = undefined;
        try {
          this.flushReplayed();
        } catch (e) {
          this.fatal(e as Error);
        }
      }, REPLAY_BATCH_MS);
  }

  /** Hands the waiting records of cached execs to the audit log, in order. */
  private flushReplayed(): void {
    if (this.replayTimer !== undefined) {
      clearTimeout(this.replayTimer);
      this.replayTimer = undefined;
    }
    if (this.replayed.length === 0) return;
    const batch = this.replayed;
    this.replayed = [];
    const { audit, auditReplay } = this.o;
    for (const { ev, pid } of batch) {
      if (pid === undefined) audit(ev);
      else if (auditReplay) auditReplay(ev, pid);
      else audit({ ...ev, proc: { ...ev.proc!, pid } });
    }
  }
}

/** How a replayed exec is judged in its record: the verdict it replays (rule, program), cached. */
function replayed(rule: string, program: string | null): Judgement {
  return { decision: 'allow', rule, reason: 'same exec as an earlier allowed one (cached verdict)', program, cwd: null, cacheable: true };
}

function denialText(j: Judgement, argv: string[]): string {
  const what = posix.basename(j.program ?? argv[0] ?? 'program');
  const why = j.message ?? j.reason;
  let text = `warden: ${what}: ${j.decision === 'steer' ? 'steered' : 'denied'} by rule ${j.rule}: ${why}\n`;
  if (j.suggestion) text += `warden: instead, run: ${j.suggestion}\n`;
  return text;
}
