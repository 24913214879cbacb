/**
 * Newline-delimited framing for MCP's stdio transport, with a hard bound on memory.
 *
 * Threat: a hostile peer (usually the upstream server, but the client too) sends a message of
 * unbounded size, or no newline at all, to make the gateway buffer without limit and die — taking
 * mediation with it. Invariant: the decoder never holds more than `maxBytes` of one message plus
 * `SNIPPET` bytes of head and tail; a longer message is skipped up to its terminating newline and
 * reported as `oversize` (with its head and tail, so the caller can still recover the request id
 * and answer the pending request with an error instead of leaving it hanging).
 */

export type Frame = { kind: 'line'; text: string } | { kind: 'oversize'; bytes: number; head: string; tail: string };

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const SNIPPET = 4096;
const NL = 0x0a;

export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  /** Set while skipping an oversized message. */
  private skip: { bytes: number; head: Buffer; tail: Buffer } | null = null;

  constructor(private readonly maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES) {
    if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive');
  }

  /** Bytes currently buffered for the message in progress (for tests of the bound). */
  get buffered(): number {
    return this.size + (this.skip ? this.skip.head.length + this.skip.tail.length : 0);
  }

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NL, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (nl !== -1 && this.size === 0 && !this.skip && end - pos <= this.maxBytes) {
        // Fast path: a whole message inside one chunk is decoded without copying.
        this.emit(chunk.toString('utf8', pos, end), out);
        pos = nl + 1;
        continue;
      }
      if (end > pos) this.append(chunk.subarray(pos, end));
      if (nl === -1) break;
      this.finish(out);
      pos = nl + 1;
    }
    return out;
  }

  /** End of stream: a trailing unterminated message is discarded and reported. */
  end(): { discardedBytes: number } {
    const discardedBytes = this.size + (this.skip?.bytes ?? 0);
    this.parts = [];
    this.size = 0;
    this.skip = null;
    return { discardedBytes };
  }

  private append(seg: Buffer): void {
    if (this.skip) {
      this.skipAppend(seg);
      return;
    }
    if (this.size + seg.length > this.maxBytes) {
      // Switch to skipping: keep only a bounded head, then a rolling tail.
      const all = Buffer.concat([...this.parts, seg]);
      this.parts = [];
      this.size = 0;
      this.skip = { bytes: 0, head: Buffer.alloc(0), tail: Buffer.alloc(0) };
      this.skipAppend(all);
      return;
    }
    // Copy: the chunk's memory belongs to the stream and may be pooled.
    this.parts.push(Buffer.from(seg));
    this.size += seg.length;
  }

  private skipAppend(seg: Buffer): void {
    const s = this.skip!;
    s.bytes += seg.length;
    if (s.head.length < SNIPPET) s.head = Buffer.concat([s.head, seg.subarray(0, SNIPPET - s.head.length)]);
    const t = seg.length >= SNIPPET ? seg.subarray(seg.length - SNIPPET) : Buffer.concat([s.tail, seg]);
    s.tail = Buffer.from(t.length > SNIPPET ? t.subarray(t.length - SNIPPET) : t);
  }

  private finish(out: Frame[]): void {
    if (this.skip) {
      const s = this.skip;
      this.skip = null;
      out.push({ kind: 'oversize', bytes: s.bytes, head: s.head.toString('utf8'), tail: s.tail.toString('utf8') });
      return;
    }
    if (this.size === 0) return;
    const buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.emit(buf.toString('utf8'), out);
  }

  private emit(raw: string, out: Frame[]): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    out.push({ kind: 'line', text });
  }
}
