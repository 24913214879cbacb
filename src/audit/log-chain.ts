/**
 * The in-memory state of one log being written: next sequence number, chain head, Merkle
 * accumulator. Turns record bodies into finished lines in a LineBuffer. Pure (no I/O, no clock):
 * the caller supplies the time, so this is deterministic and unit-testable.
 *
 * Invariant: lines are produced strictly in seq order, each one's MAC covers the previous line's
 * MAC, and the accumulator holds exactly the leaves of the lines produced so far — so a
 * checkpoint built from this state describes precisely the records that precede it.
 */
import { type EncodedBody, encodeSplit, type SplitBody, splitBody } from './canonical.js';
import { ChainMac, ZERO_MAC_HEX } from './chain.js';
import type { CheckpointStatement } from './checkpoint.js';
import type { LineBuffer } from './line-buffer.js';
import { MerkleAccumulator } from './merkle.js';
import type { JsonObject } from './sanitize.js';

export interface Chained {
  seq: string;
  mac: string;
}

export class LogChain {
  private nextSeq = 0n;
  private headMac = ZERO_MAC_HEX;
  private readonly merkle = new MerkleAccumulator();

  constructor(private readonly mac: ChainMac) {}

  get logId(): string {
    return this.mac.logId;
  }
  /** Number of lines produced so far (= seq of the next line). */
  get count(): bigint {
    return this.nextSeq;
  }
  get head(): string {
    return this.headMac;
  }

  /** Sets `seq` and `time` on the body, chains it and appends the line to `out`. */
  append(body: JsonObject | SplitBody, time: string, out: LineBuffer): Chained {
    const seq = this.nextSeq.toString();
    return this.appendEncoded(seq, prepareRecord(body, seq, time), out);
  }

  /**
   * Chains a body encoded elsewhere (the writer encodes on the caller's thread). `seq` must be the
   * next seq: the chain never reorders or skips.
   */
  appendEncoded(seq: string, e: EncodedBody, out: LineBuffer): Chained {
    if (seq !== this.nextSeq.toString()) throw new RangeError(`record seq ${seq} out of order (expected ${this.nextSeq})`);
    const mac = this.mac.compute(seq, this.headMac, e.pre + e.sep + e.post);
    const leaf = out.appendLine(e.pre + e.sep + '"mac":"' + mac + '",' + e.post);
    this.merkle.push(leaf);
    this.headMac = mac;
    this.nextSeq++;
    return { seq, mac };
  }

  /** The statement a checkpoint appended next (at seq = count) would sign. */
  statement(time: string, final: boolean): CheckpointStatement {
    return { log: this.logId, count: this.nextSeq.toString(), root: this.merkle.root().toString('hex'), head: this.headMac, time, final };
  }
}

/** Sets seq/time and encodes canonically (pure; runs on the caller's thread in the writer). */
export function prepareRecord(body: JsonObject | SplitBody, seq: string, time: string): EncodedBody {
  const split = isSplit(body) ? body : splitBody(body);
  split.after['seq'] = seq;
  split.after['time'] = time;
  return encodeSplit(split);
}

function isSplit(b: JsonObject | SplitBody): b is SplitBody {
  return typeof (b as SplitBody).plain === 'boolean' && typeof (b as SplitBody).after === 'object' && typeof (b as SplitBody).before === 'object';
}
