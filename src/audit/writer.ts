/**
 * The audit writer: one per Warden process, one log per writer.
 *
 * Split in two halves:
 * - AuditWriter (this file, caller's thread): sanitises and canonically encodes each event,
 *   assigns seq and time, decides checkpoints and segment rotation, tracks acknowledgements, and
 *   owns the group-commit window (below). Seq order is call order.
 * - LogSink (sink.ts, audit worker thread by default): HMAC chain, Merkle tree, signatures,
 *   the commit itself (one writev + one fdatasync per batch), anchors.
 *
 * Group commit: encoded records wait here, and each hand-off to the sink is committed at once
 * (or, while the sink is syncing, right after that sync, together with anything else handed off
 * meanwhile). A hand-off happens `groupCommitMs` (≤ 10 ms) after the first waiting record, at once
 * when POST_BYTES are waiting (so that under load the worker hashes while this thread encodes) or
 * on flush()/close(), and at once when the sink acknowledges a batch while records that an
 * append() or flush() waits for are waiting (so an awaited batch starts immediately after the
 * previous sync; FORMAT.md §Durability). The window lives on this side because at a low rate a hand-off per event-loop
 * turn costs more than the records themselves: every message wakes the worker thread, and the MCP
 * gateway writes two records per call in two turns. Records waiting here are in the same position
 * as records waiting in the sink's buffer were: durable only after their group commit, which
 * close() and flush() force.
 *
 * Durability contract: `append()` resolves only after the record is on disk and fdatasync'ed, so a
 * record reported as written survives `kill -9` (and power loss as far as the filesystem honours
 * fdatasync). `enqueue()` is the fire-and-forget variant through the same pipeline; a failure is
 * reported via `onError` and fails the writer (later appends reject), so callers can fail closed.
 *
 * Reopen and concurrency: a writer never reopens an existing log. Each writer creates a fresh log
 * directory (exclusive mkdir of a random id) with its own genesis record, so several Warden
 * processes can share an audit directory without locks, and a crashed log stays exactly as the
 * crash left it (at most a torn last line). `warden audit verify` checks every log in the directory.
 *
 * Rotation: a new segment file starts once the current one holds ~`segmentMaxBytes` or
 * `segmentMaxRecords`; its first record is a "segment" record naming the previous record's MAC.
 * Checkpoints: at open, every `checkpointEveryRecords` records, every `checkpointEveryMs` if
 * anything was written, and a final one at `close()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../errors.js';
import { wardenDirs } from '../paths.js';
import type { SplitBody } from './canonical.js';
import { ANCHOR_SUBDIR, ensurePrivateDir, existingAuditKeys, fsyncDir, loadOrCreateAuditKeys, publicKeyId, rawPublicKey } from './keys.js';
import { logDir, newLogId, rfc3339 } from './layout.js';
import { prepareRecord } from './log-chain.js';
import { type AuditEventInput, eventBody, type GenesisInfo, genesisBody, withPid } from './record.js';
import type { JsonObject } from './sanitize.js';
import { type SinkCallbacks, type SinkHost, startInline, startSink } from './sink-host.js';
import type { SinkFailure } from './sink.js';

export interface AuditWriterOptions {
  genesis: GenesisInfo;
  /** Default `wardenDirs(env).audit`. */
  auditDir?: string;
  /** Default `wardenDirs(env).keys`. */
  keyDir?: string;
  /** Default `<keyDir>/anchors`. */
  anchorDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Longest a record waits (on the caller's thread) before its batch is committed. Default 2, clamped to [0, 10]. */
  groupCommitMs?: number;
  /** One sync covers at most this many bytes (and this many waiting bytes are handed over at once, up to 64 KiB). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Default 64 MiB (approximate: estimated from UTF-16 length). */
  segmentMaxBytes?: number;
  /** Default 1,000,000. */
  segmentMaxRecords?: number;
  /** Default 10,000. */
  checkpointEveryRecords?: number;
  /** Default 1,000. */
  checkpointEveryMs?: number;
  /** Run the chain and I/O in a worker thread (default) or in the caller's thread. */
  thread?: 'worker' | 'inline';
  /** Called once when the writer fails (disk full, I/O error); the writer then refuses appends. */
  onError?: (err: WardenError<'AUDIT_WRITE_FAILED'>) => void;
  /** Clock (ms since epoch); tests inject one. */
  now?: () => number;
}

type WriteError = WardenError<'AUDIT_WRITE_FAILED'>;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failure must not become an unhandled rejection when nobody awaits this batch; callers that
  // awaited still see it through their own derived promise.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function errCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : e instanceof Error ? e.message : String(e);
}

/** Opens a new log under the audit directory; resolves once its genesis record is durable. */
export async function openAuditWriter(opts: AuditWriterOptions): Promise<AuditWriter> {
  const dirs = wardenDirs(opts.env ?? process.env);
  const auditDir = opts.auditDir ?? dirs.audit;
  const keyDir = opts.keyDir ?? dirs.keys;
  const anchorDir = opts.anchorDir ?? join(keyDir, ANCHOR_SUBDIR);
  const now = opts.now ?? Date.now;

  // The small metadata syscalls here are synchronous (start-up of `warden run` is a budget, and a
  // thread-pool round trip costs more than each of them); the fsyncs run concurrently. With its
  // keys in place and an inline sink, nothing here awaits until the genesis is on its way to the
  // disk: work the caller queues meanwhile (`warden run` initialises exec mediation) then runs
  // while the disk syncs, not before the genesis is even written.
  const keys = existingAuditKeys(keyDir) ?? (await loadOrCreateAuditKeys(keyDir));
  try {
    ensurePrivateDir(anchorDir);
  } catch (e) {
    throw new WardenError('AUDIT_WRITE_FAILED', `cannot create anchor directory ${anchorDir}: ${errCode(e)}`);
  }
  prepareAuditDir(auditDir);
  let dirReal: string;
  let logId = '';
  let dir = '';
  try {
    dirReal = realpathSync(auditDir);
    for (let attempt = 0; ; attempt++) {
      logId = newLogId(now(), randomBytes(8));
      dir = logDir(auditDir, logId);
      try {
        mkdirSync(dir, { mode: 0o700 });
        break;
      } catch (e) {
        if (errCode(e) !== 'EEXIST' || attempt >= 3) throw e;
      }
    }
  } catch (e) {
    throw new WardenError('AUDIT_WRITE_FAILED', `cannot create log in ${auditDir}: ${errCode(e)}`, 'check permissions of the audit directory');
  }
  // The log directory's entry must be durable before the genesis is acknowledged; that sync and
  // the genesis batch's own (segment file, its directory entry) proceed at the same time.
  const logDirDurable = fsyncDir(auditDir).catch((e: unknown) => {
    throw new WardenError('AUDIT_WRITE_FAILED', `cannot create log in ${auditDir}: ${errCode(e)}`, 'check permissions of the audit directory');
  });
  logDirDurable.catch(() => undefined); // settled below; never an unhandled rejection if start-up throws first

  const writer = new AuditWriter(opts, logId, dir, now);
  const pubKeyId = publicKeyId(keys.publicKey);
  const sinkConfig = {
    macKeyHex: keys.macKey.toString('hex'),
    signingKey: keys.signingKey,
    pubKeyId,
    logId,
    dir,
    anchorDir,
    dirReal,
    maxBatchBytes: opts.maxBatchBytes ?? 1 << 20,
  };
  const callbacks: SinkCallbacks = { durable: (seq, batches) => writer.onDurable(seq, batches), failed: (f) => writer.onFailed(f) };
  const host = opts.thread === 'inline' ? startInline(sinkConfig, callbacks) : await startSink(sinkConfig, callbacks, opts.thread ?? 'worker');
  writer.attach(
    host,
    genesisBody(opts.genesis, {
      logId,
      macKeyId: keys.macKeyId,
      signingKey: rawPublicKey(keys.publicKey).toString('base64'),
      pid: process.pid,
      nodeVersion: process.version,
    }),
  );
  const [written, entry] = await Promise.allSettled([writer.flush(), logDirDurable]);
  if (entry.status === 'rejected') {
    // Same path as a failed write: the writer fails, stops its sink, and is never handed out.
    const e = entry.reason as WriteError;
    writer.onFailed({ message: e.message, hint: e.hint ?? '' });
    throw e;
  }
  if (written.status === 'rejected') throw written.reason;
  return writer;
}

/** The audit directory must be a directory we own that nobody else can write to. */
function prepareAuditDir(auditDir: string): void {
  try {
    ensurePrivateDir(auditDir);
  } catch (e) {
    throw new WardenError('AUDIT_DIR_INVALID', `cannot create audit directory ${auditDir}: ${errCode(e)}`);
  }
  let st;
  try {
    st = statSync(auditDir);
  } catch (e) {
    throw new WardenError('AUDIT_DIR_INVALID', `cannot access audit directory ${auditDir}: ${errCode(e)}`);
  }
  if (!st.isDirectory()) throw new WardenError('AUDIT_DIR_INVALID', `audit path ${auditDir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new WardenError('AUDIT_DIR_INVALID', `audit directory ${auditDir} is not owned by the current user`, 'chown it or choose another directory');
  }
  if ((st.mode & 0o022) !== 0) {
    throw new WardenError('AUDIT_DIR_INVALID', `audit directory ${auditDir} is writable by group or others`, `chmod 700 ${auditDir}`);
  }
}

/** The group-commit window in ms: default 2, clamped to [0, 10]. */
function groupCommitWindow(opts: AuditWriterOptions): number {
  const ms = opts.groupCommitMs ?? 2;
  return Number.isFinite(ms) ? Math.min(10, Math.max(0, ms)) : 2;
}

/** Waiting bytes that are handed to the sink without waiting for the window (at most maxBatchBytes). */
const POST_BYTES = 64 * 1024;

/** Bytes a record adds besides its body: the mac member, newline. */
const LINE_OVERHEAD = 78;

export class AuditWriter {
  readonly logId: string;
  /** Directory of this log's segment files. */
  readonly dir: string;

  private host: SinkHost | null = null;
  private readonly now: () => number;
  private readonly policyHash: string;
  private readonly postBytes: number;
  private readonly groupCommitMs: number;
  private readonly segmentMaxBytes: number;
  private readonly segmentMaxRecords: number;
  private readonly checkpointEveryRecords: number;
  private readonly checkpointEveryMs: number;
  private readonly cpTimer: NodeJS.Timeout;
  /** enqueueWithPid: each template's sanitised body, derived once. */
  private readonly templates = new WeakMap<AuditEventInput, SplitBody>();

  private state: 'open' | 'closing' | 'closed' | 'failed' = 'open';
  private failure: WriteError | null = null;
  private closing: Promise<void> | null = null;

  private nextSeq = 0n;
  private segment = 1;
  private segBytes = 0;
  private segRecords = 0;
  private sinceCheckpoint = 0;
  private lastCheckpointAt = 0;
  private lastMs = -1;
  private lastIso = '';

  // Items not yet handed to the sink, and the promise their appenders wait on.
  private outgoing: string[] = [];
  private outgoingBytes = 0;
  private outgoingDone: Deferred | null = null;
  /** The group-commit window of the records in `outgoing`. */
  private postTimer: NodeJS.Timeout | null = null;
  // Handed to the sink, waiting for durability (ascending seq).
  private waiting: Array<{ seq: bigint; d: Deferred }> = [];
  private lastPosted = -1n;
  private durableSeq = -1n;
  private batches = 0;

  /** @internal use openAuditWriter */
  constructor(
    private readonly opts: AuditWriterOptions,
    logId: string,
    dir: string,
    now: () => number,
  ) {
    this.logId = logId;
    this.dir = dir;
    this.now = now;
    this.policyHash = typeof opts.genesis?.policyHash === 'string' ? opts.genesis.policyHash.slice(0, 256) : 'unknown';
    this.postBytes = Math.min(POST_BYTES, opts.maxBatchBytes ?? 1 << 20);
    this.groupCommitMs = groupCommitWindow(opts);
    this.segmentMaxBytes = opts.segmentMaxBytes ?? 64 << 20;
    this.segmentMaxRecords = opts.segmentMaxRecords ?? 1_000_000;
    this.checkpointEveryRecords = Math.max(1, opts.checkpointEveryRecords ?? 10_000);
    this.checkpointEveryMs = Math.max(1, opts.checkpointEveryMs ?? 1_000);
    this.cpTimer = setInterval(() => this.onCheckpointTimer(), this.checkpointEveryMs);
    this.cpTimer.unref();
  }

  /** @internal Connects the sink and queues the genesis record and first checkpoint (so an anchor exists at once). */
  attach(host: SinkHost, genesis: JsonObject): void {
    this.host = host;
    this.queueRecord(genesis);
    this.queueCheckpoint(false);
  }

  /** Number of records written so far (= seq of the next record). */
  get count(): bigint {
    return this.nextSeq;
  }

  /** Records numbered so far, group commits completed by the sink, current segment. */
  stats(): { records: bigint; batches: number; segment: number; thread: 'worker' | 'inline' } {
    return { records: this.nextSeq, batches: this.batches, segment: this.segment, thread: this.host?.mode ?? 'inline' };
  }

  /**
   * Appends an event; resolves with its seq once it is durable. Rejects with AUDIT_WRITE_FAILED
   * if the writer failed or was closed. Input is sanitised; it cannot make this throw.
   */
  append(ev: AuditEventInput): Promise<string> {
    if (this.state !== 'open') return Promise.reject(this.refusal());
    const done = (this.outgoingDone ??= deferred());
    const seq = this.enqueue(ev);
    return done.promise.then(() => seq);
  }

  /** Fire-and-forget append: returns the seq at once; durability follows in the next group commit. */
  enqueue(ev: AuditEventInput): string {
    if (this.state !== 'open') throw this.refusal();
    let body: JsonObject | SplitBody;
    try {
      body = eventBody(ev, this.policyHash);
    } catch {
      // eventBody is written not to throw; if it ever does, the event is still recorded.
      body = { type: 'event', session: 'unknown', kind: 'unknown', policy: this.policyHash, truncated: true };
    }
    return this.queueRecord(body);
  }

  /**
   * enqueue() of `template` with its proc.pid replaced by `pid`. The sanitised body of `template`
   * is derived once and kept for as long as `template` lives, so the caller must never change
   * `template` after handing it over (the records of replayed execs: one template per verdict,
   * thousands of records).
   */
  enqueueWithPid(template: AuditEventInput, pid: number): string {
    if (this.state !== 'open') throw this.refusal();
    const plain = (): string => this.enqueue({ ...template, proc: { ...template.proc, pid } });
    let body = this.templates.get(template);
    if (body === undefined) {
      if (typeof template.proc !== 'object' || template.proc === null) return plain();
      try {
        body = eventBody(template, this.policyHash);
      } catch {
        return plain();
      }
      this.templates.set(template, body);
    }
    const replayed = withPid(body, pid);
    return replayed ? this.queueRecord(replayed) : plain();
  }

  /** Resolves when everything appended so far is durable. */
  flush(): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.outgoing.length > 0) {
      const done = (this.outgoingDone ??= deferred());
      this.post();
      return done.promise;
    }
    // Everything posted is already being committed (the sink commits each hand-off at once).
    if (this.durableSeq >= this.lastPosted) return Promise.resolve();
    const last = this.waiting[this.waiting.length - 1];
    if (last && last.seq === this.lastPosted) return last.d.promise;
    const d = deferred();
    this.waiting.push({ seq: this.lastPosted, d });
    return d.promise;
  }

  /** Writes a checkpoint now and resolves when it is durable. */
  checkpointNow(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.refusal());
    this.queueCheckpoint(false);
    return this.flush();
  }

  /** Final checkpoint, flush, anchor, close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.cpTimer);
    if (this.state === 'failed') throw this.failure;
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.queueCheckpoint(true);
    await this.flush();
    await this.host?.close();
    if (this.failure) throw this.failure;
    this.state = 'closed';
  }

  private refusal(): WriteError {
    return this.failure ?? new WardenError('AUDIT_WRITE_FAILED', `audit log ${this.logId} is closed`);
  }

  // ---- numbering and encoding (caller's thread) ----

  private timeNow(): string {
    const ms = this.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = rfc3339(ms);
    }
    return this.lastIso;
  }

  private takeSeq(): string {
    const s = this.nextSeq.toString();
    this.nextSeq++;
    this.segRecords++;
    return s;
  }

  private queueRecord(body: JsonObject | SplitBody): string {
    if (this.segRecords > 0 && (this.segBytes >= this.segmentMaxBytes || this.segRecords >= this.segmentMaxRecords)) this.rotate();
    const time = this.timeNow();
    const seq = this.takeSeq();
    const e = prepareRecord(body, seq, time);
    this.outgoing.push('r', seq, e.pre, e.post);
    const bytes = e.pre.length + e.post.length + LINE_OVERHEAD;
    this.segBytes += bytes;
    this.outgoingBytes += bytes;
    if (++this.sinceCheckpoint >= this.checkpointEveryRecords) this.queueCheckpoint(false);
    this.schedulePost();
    return seq;
  }

  private rotate(): void {
    this.segment++;
    this.segBytes = 0;
    this.segRecords = 0;
    this.outgoing.push('s', this.takeSeq(), this.timeNow(), String(this.segment));
    this.segBytes += 250;
  }

  private queueCheckpoint(final: boolean): void {
    this.outgoing.push('c', this.takeSeq(), this.timeNow(), final ? '1' : '0');
    this.segBytes += 450;
    this.sinceCheckpoint = 0;
    this.lastCheckpointAt = this.now();
    this.schedulePost();
  }

  private onCheckpointTimer(): void {
    if (this.state !== 'open' || this.sinceCheckpoint === 0) return;
    if (this.now() - this.lastCheckpointAt < this.checkpointEveryMs) return;
    this.queueCheckpoint(false);
  }

  // ---- hand-off and acknowledgement ----

  private schedulePost(): void {
    if (this.outgoingBytes >= this.postBytes) this.post();
    else if (!this.postTimer) this.postTimer = setTimeout(() => this.post(), this.groupCommitMs);
  }

  /** Hands everything queued to the sink, which commits it as one batch (one message to the worker). */
  private post(): void {
    if (this.postTimer) {
      clearTimeout(this.postTimer);
      this.postTimer = null;
    }
    if (this.outgoing.length === 0 || !this.host || this.state === 'failed') return;
    const items = this.outgoing;
    const done = this.outgoingDone;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.outgoingDone = null;
    this.lastPosted = this.nextSeq - 1n;
    if (done) this.waiting.push({ seq: this.lastPosted, d: done });
    this.host.keepAlive(true);
    this.host.post(items);
  }

  /** @internal sink callback */
  onDurable(seq: string, batches: number): void {
    const s = BigInt(seq);
    if (s > this.durableSeq) this.durableSeq = s;
    this.batches = batches;
    let i = 0;
    while (i < this.waiting.length && (this.waiting[i] as { seq: bigint }).seq <= this.durableSeq) (this.waiting[i++] as { d: Deferred }).d.resolve();
    if (i > 0) this.waiting.splice(0, i);
    // The sink finished a sync: records that arrived during it start the next batch now if
    // someone waits for them (append/flush); fire-and-forget records keep their window, so a
    // steady trickle does not chain one fdatasync after another (FORMAT.md §Durability).
    if (this.outgoing.length > 0 && this.outgoingDone) this.post();
    else if (this.durableSeq >= this.lastPosted) this.host?.keepAlive(false);
  }

  /** @internal sink callback */
  onFailed(f: SinkFailure): void {
    if (this.state === 'failed') return;
    const err = new WardenError('AUDIT_WRITE_FAILED', f.message, f.hint);
    this.state = 'failed';
    this.failure = err;
    clearInterval(this.cpTimer);
    if (this.postTimer) clearTimeout(this.postTimer);
    this.postTimer = null;
    for (const w of this.waiting) w.d.reject(err);
    this.waiting = [];
    this.outgoingDone?.reject(err);
    this.outgoingDone = null;
    this.outgoing = [];
    this.host?.abort();
    this.host?.keepAlive(false);
    try {
      this.opts.onError?.(err);
    } catch {
      // a throwing callback must not mask the failure
    }
  }
}
