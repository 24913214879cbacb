/**
 * LogSink: the half of the writer that owns the chain and the files. It runs in the audit worker
 * thread (writer-worker.ts) or, if workers are unavailable, in the caller's thread. It receives
 * records already encoded and numbered by AuditWriter, chains them (HMAC, Merkle), builds
 * checkpoint and segment records, and commits them in groups:
 *
 * - Group commit: the writer (writer.ts) holds records for the group-commit window and hands
 *   them over in batches; each `accept()` starts a commit at once, or, while a sync is running,
 *   right after it. Lines accumulate in a LineBuffer; a batch is written with one writev(2) and
 *   made durable with one fdatasync(2). Only after the sync returns is `durable(seq)` reported —
 *   that is what resolves `append()`.
 * - Bounded syncs: pending lines are sealed into regions of ≤ REGION_BYTES, and one batch takes at
 *   most `maxBatchBytes` of them. fdatasync latency grows with the amount of dirty data, so an
 *   unbounded batch after one slow sync would make the next sync slower still; bounding it keeps
 *   acknowledgement latency flat under sustained load.
 * - Crash consistency: segment files are append-only and every batch ends with "\n"; after a crash
 *   a file is a prefix of what was written, so at most its last line is torn.
 * - Files are created with O_EXCL (we never append to a file we did not create) and their
 *   directory entry is fsynced before the first batch is acknowledged.
 * - Anchors (anchor.ts) are written only after the checkpoint they copy is durable, and
 *   serialised (latest wins), so an anchor is never ahead of the log. Each update costs two
 *   fsyncs and a rename, which compete with the log's own fdatasyncs in the filesystem journal,
 *   so updates are spaced at least ANCHOR_INTERVAL_MS apart; the final anchor at close is
 *   written at once.
 *
 * Protocol: `accept(items)` takes a flat string array, four slots per item:
 *   "r", seq, pre, post     an encoded record body (canonical.ts EncodedBody without sep)
 *   "c", seq, time, final   a checkpoint ("1" = final) — built here: needs root, head, signature
 *   "s", seq, time, n       start segment n — built here: needs the previous MAC
 * Flat strings keep the structured clone between threads cheap.
 */
import type { KeyObject } from 'node:crypto';
import { close, fdatasync, fdatasyncSync, openSync, writeSync, writevSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { type Anchor, writeAnchor } from './anchor.js';
import { ChainMac } from './chain.js';
import { signStatement } from './checkpoint.js';
import { fsyncDir } from './keys.js';
import { segmentFileName } from './layout.js';
import { LineBuffer } from './line-buffer.js';
import { LogChain } from './log-chain.js';
import { checkpointBody, segmentBody } from './record.js';

/** Structured-clone-safe configuration (crosses into the worker). */
export interface SinkConfig {
  macKeyHex: string;
  /** Ed25519 private key (a KeyObject crosses into the worker as a clone, with no re-parse). */
  signingKey: KeyObject;
  pubKeyId: string;
  logId: string;
  /** Directory of this log's segment files (already created). */
  dir: string;
  anchorDir: string;
  /** Real path of the audit directory, recorded in anchors. */
  dirReal: string;
  maxBatchBytes: number;
  /**
   * Write and sync segment files with blocking calls on this thread instead of libuv's thread
   * pool. Only for a thread with no other work (the audit worker): a commit then costs two
   * syscalls rather than two hand-offs to a pool thread and back, and nothing waits on this
   * thread's event loop meanwhile (messages queue until the sync returns, as they would behind
   * an awaited one). Never in the caller's thread (`inline`), where it would stall the supervisor:
   * there a batch is written synchronously (into the page cache: microseconds, less than a hand-off
   * to the pool and back) and only its fdatasync waits in the pool.
   */
  blockingIo: boolean;
}

export interface SinkFailure {
  message: string;
  hint: string;
}

export interface SinkEvents {
  /** Every record up to and including `seq` is durable. */
  durable(seq: string, batches: number): void;
  /** The sink stopped; nothing after the last `durable` is guaranteed. Called at most once. */
  failed(f: SinkFailure): void;
}

interface Chunk {
  segment: number;
  bufs: Buffer[];
  bytes: number;
  lastSeq: string;
  /** Anchor to publish once this chunk (ending with its checkpoint) is durable. */
  anchor: Anchor | null;
}

const REGION_BYTES = 256 * 1024;
const ANCHOR_INTERVAL_MS = 1000;

export class LogSink {
  private readonly chain: LogChain;
  private readonly signingKey: KeyObject;
  private readonly lines = new LineBuffer();
  private readonly datasync: (fd: number) => Promise<void> | void;
  private segment = 1;
  private pending: Chunk[] = [];
  private lastSeq = '';
  private checkpointAnchor: Anchor | null = null;

  private flushing = false;
  private starting: NodeJS.Immediate | null = null;
  /** The current segment file (a plain fd: created synchronously, see handleFor). */
  private fh: number | null = null;
  private fhSegment = 0;
  /** Sync of the current segment file's directory entry, until a batch has waited for it. */
  private entryDurable: Promise<void> | null = null;
  private batches = 0;
  private failedState = false;
  private idleWaiters: Array<() => void> = [];

  private latestAnchor: Anchor | null = null;
  private anchorRunning = false;
  private anchorDone: Promise<void> = Promise.resolve();
  private lastAnchorAt = -Infinity;
  private anchorWake: (() => void) | null = null;
  private closingSink = false;

  constructor(
    private readonly cfg: SinkConfig,
    private readonly events: SinkEvents,
  ) {
    this.chain = new LogChain(new ChainMac(Buffer.from(cfg.macKeyHex, 'hex'), cfg.logId));
    this.signingKey = cfg.signingKey;
    this.datasync = cfg.blockingIo ? fdatasyncSync : datasyncFd;
  }

  get failed(): boolean {
    return this.failedState;
  }

  accept(items: readonly string[]): void {
    if (this.failedState) return;
    try {
      for (let i = 0; i + 3 < items.length; i += 4) {
        const tag = items[i];
        const seq = items[i + 1] as string;
        const a = items[i + 2] as string;
        const b = items[i + 3] as string;
        if (tag === 'r') this.chain.appendEncoded(seq, { pre: a, sep: a.length > 1 ? ',' : '', post: b }, this.lines);
        else if (tag === 'c') this.checkpoint(seq, a, b === '1');
        else if (tag === 's') this.startSegment(seq, a, Number(b));
        else throw new Error(`unknown sink item ${String(tag)}`);
        this.lastSeq = seq;
        if (tag === 'c') this.sealLines(this.checkpointAnchor);
        else if (this.lines.pendingBytes >= REGION_BYTES) this.sealLines();
      }
    } catch (e) {
      // A protocol violation is a bug, but it must stop the log rather than write a broken chain.
      this.fail(e);
      return;
    }
    this.kick();
  }

  /** Flushes everything, waits for the anchor, closes the file. */
  async close(): Promise<void> {
    this.closingSink = true;
    if (this.flushing || this.hasPending()) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.kick();
      });
    }
    this.anchorWake?.();
    await this.anchorDone;
    // After a failure a batch may still be in flight (see fail()); it closes the file itself.
    const fh = this.fh;
    if (fh !== null && !this.flushing) {
      this.fh = null;
      await closeFd(fh).catch(() => undefined);
    }
    if (this.failedState) throw new Error('audit sink failed');
  }

  private checkpoint(seq: string, time: string, final: boolean): void {
    if (seq !== this.chain.count.toString()) throw new RangeError(`checkpoint seq ${seq} out of order`);
    const stmt = this.chain.statement(time, final);
    const sig = signStatement(stmt, this.signingKey);
    this.chain.append(checkpointBody(stmt, sig, this.cfg.pubKeyId), time, this.lines);
    this.checkpointAnchor = { stmt, sig, key: this.cfg.pubKeyId, dir: this.cfg.dirReal };
  }

  private startSegment(seq: string, time: string, n: number): void {
    if (seq !== this.chain.count.toString()) throw new RangeError(`segment seq ${seq} out of order`);
    if (!Number.isSafeInteger(n) || n !== this.segment + 1) throw new RangeError(`segment ${n} out of order`);
    this.sealLines();
    this.segment = n;
    this.chain.append(segmentBody(n, this.chain.head), time, this.lines);
  }

  private sealLines(anchor: Anchor | null = null): void {
    const bytes = this.lines.pendingBytes;
    const bufs = this.lines.take();
    if (bufs.length > 0) this.pending.push({ segment: this.segment, bufs, bytes, lastSeq: this.lastSeq, anchor });
  }

  private hasPending(): boolean {
    return this.pending.length > 0 || this.lines.pendingBytes > 0;
  }

  /**
   * Starts a commit of everything pending at the end of this event-loop turn, unless one is
   * running (its loop picks the lines up). The end of the turn, not now: batches that queued up
   * behind a blocking sync arrive in one turn and must share one commit, not take one each. The
   * first batch (the genesis, alone) starts now: `warden run` releases its command only once it
   * is durable, and other start-up work of the same turn must not delay its write.
   */
  private kick(): void {
    if (this.flushing || this.failedState || this.starting) return;
    if (this.batches === 0 && this.fh === null) {
      void this.runFlush();
      return;
    }
    this.starting = setImmediate(() => {
      this.starting = null;
      if (!this.flushing) void this.runFlush();
    });
  }

  private async runFlush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.hasPending() && !this.failedState) {
        if (this.pending.length === 0) this.sealLines();
        // Take whole chunks from the front, at most maxBatchBytes (but always at least one).
        let take = 0;
        let bytes = 0;
        while (take < this.pending.length && (take === 0 || bytes + (this.pending[take] as Chunk).bytes <= this.cfg.maxBatchBytes)) {
          bytes += (this.pending[take] as Chunk).bytes;
          take++;
        }
        const chunks = this.pending.splice(0, take);
        // Consecutive chunks of one segment go out in a single writev.
        for (let i = 0; i < chunks.length; ) {
          const segment = (chunks[i] as Chunk).segment;
          const bufs: Buffer[] = [];
          for (; i < chunks.length && (chunks[i] as Chunk).segment === segment; i++) bufs.push(...(chunks[i] as Chunk).bufs);
          if (this.fh !== null && this.fhSegment !== segment) await this.closeSegmentDurably();
          // No await before this write when the segment is open or new: the genesis is written
          // in the turn that committed it.
          writeAllSync(this.fh ?? this.openSegment(segment), bufs);
        }
        await this.datasync(this.fh as number);
        if (this.entryDurable) {
          await this.entryDurable;
          this.entryDurable = null;
        }
        this.batches++;
        this.events.durable((chunks[chunks.length - 1] as Chunk).lastSeq, this.batches);
        let anchor: Anchor | null = null;
        for (const c of chunks) anchor = c.anchor ?? anchor;
        if (anchor) this.queueAnchor(anchor);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.flushing = false;
      if (this.failedState) this.closeSegment();
      if (!this.hasPending() || this.failedState) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** The previous segment, synced and closed (with its directory entry) before the next opens. */
  private async closeSegmentDurably(): Promise<void> {
    const old = this.fh as number;
    this.fh = null;
    await datasyncFd(old);
    await closeFd(old);
    if (this.entryDurable) {
      await this.entryDurable;
      this.entryDurable = null;
    }
  }

  /**
   * The segment file, created exclusively. Its directory entry is made durable too, concurrently
   * with the first batch written to it: that batch is acknowledged only once both syncs are done.
   * Synchronous: the genesis batch waits for this open, and a busy thread pool (other start-up
   * I/O of `warden run`) would delay it by milliseconds; creating one file is a short syscall.
   */
  private openSegment(segment: number): number {
    const fd = openSync(join(this.cfg.dir, segmentFileName(segment)), 'wx', 0o600);
    this.fh = fd;
    this.fhSegment = segment;
    this.entryDurable = fsyncDir(this.cfg.dir);
    this.entryDurable.catch(() => undefined); // awaited in runFlush; a failure fails the sink there
    return fd;
  }

  private queueAnchor(a: Anchor): void {
    this.latestAnchor = a;
    if (this.anchorRunning) return;
    this.anchorRunning = true;
    this.anchorDone = this.anchorWorker();
  }

  private async anchorWorker(): Promise<void> {
    try {
      while (this.latestAnchor && !this.failedState) {
        const wait = this.lastAnchorAt + ANCHOR_INTERVAL_MS - performance.now();
        if (wait > 0 && !this.closingSink && !this.latestAnchor.stmt.final) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait);
            t.unref(); // a lagging anchor must not keep the process alive (close() wakes it)
            this.anchorWake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.anchorWake = null;
          continue; // a newer anchor may have arrived meanwhile
        }
        const a = this.latestAnchor;
        this.latestAnchor = null;
        await writeAnchor(this.cfg.anchorDir, a);
        this.lastAnchorAt = performance.now();
      }
    } catch (e) {
      this.fail(e, this.cfg.anchorDir);
    } finally {
      this.anchorRunning = false;
    }
  }

  private closeSegment(): void {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) void closeFd(fh).catch(() => undefined);
  }

  private fail(e: unknown, where: string = this.cfg.dir): void {
    if (this.failedState) return;
    this.failedState = true;
    this.pending = [];
    this.lines.take();
    // A write or sync may still be in flight on the segment fd (an anchor failure can arrive
    // mid-batch): closing it now could let the number be reused and that write land in another
    // file, so the running flush closes it when it stops.
    if (!this.flushing) this.closeSegment();
    const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : e instanceof Error ? e.message : String(e);
    this.events.failed({ message: `cannot write audit log ${where}: ${code}`, hint: 'check free space and permissions of the audit directory' });
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const datasyncFd = promisify(fdatasync);
const closeFd = promisify(close);

/**
 * How a batch reaches the disk: one writev(2) for the whole chunk in the normal case, then
 * fdatasync(2) (blocking in the worker, in the pool on the caller's thread: SinkConfig.blockingIo).
 */
function writeAllSync(fd: number, bufs: Buffer[]): void {
  for (let rest = bufs; rest.length > 0; ) rest = unwritten(rest, rest.length === 1 ? writeSync(fd, rest[0] as Buffer) : writevSync(fd, rest));
}

/** What is left of `bufs` after a (possibly short) write of `written` bytes. */
function unwritten(bufs: Buffer[], written: number): Buffer[] {
  if (written <= 0) throw new Error('short write');
  let n = written;
  const next: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) n -= b.length;
    else {
      next.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return next;
}
