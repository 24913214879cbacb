/**
 * Accumulates finished record lines as UTF-8 bytes for the next group commit, and computes each
 * line's Merkle leaf hash from those same bytes (so a line is encoded once, and the bytes hashed
 * are exactly the bytes written).
 *
 * Invariant: a region handed out by `take()` is never written again — it may be in flight in a
 * write(2) on libuv's thread pool. The leaf hash needs a 0x00 byte just before the line; that byte
 * is always the gap byte or the previous line's "\n" *inside the unsealed region*, borrowed and
 * restored synchronously. After `take()` one gap byte is skipped so a sealed "\n" is never borrowed.
 *
 * Pure: in-memory only.
 */
import { sha256Latin1 } from './sha256.js';

export class LineBuffer {
  private buf: Buffer;
  private pos = 1; // byte 0 is a gap byte
  private start = 1; // first byte of the unsealed region
  private sealed: Buffer[] = [];
  private sealedBytes = 0;

  constructor(private readonly blockSize: number = 1 << 20) {
    this.buf = Buffer.allocUnsafe(blockSize);
  }

  /** Bytes appended and not yet taken. */
  get pendingBytes(): number {
    return this.sealedBytes + (this.pos - this.start);
  }

  /**
   * Appends `line` (which must not contain "\n") plus "\n". Returns the RFC 6962 leaf hash
   * SHA-256(0x00 || line) as a latin1 string.
   */
  appendLine(line: string): string {
    const worst = 3 * line.length + 2; // UTF-8: at most 3 bytes per UTF-16 code unit
    if (this.pos + worst > this.buf.length) this.newBlock(worst);
    const lineStart = this.pos;
    let pos = lineStart;
    pos += this.buf.write(line, pos, 'utf8');
    const borrowed = this.buf[lineStart - 1] as number;
    this.buf[lineStart - 1] = 0x00;
    const leaf = sha256Latin1(this.buf.subarray(lineStart - 1, pos));
    this.buf[lineStart - 1] = borrowed;
    this.buf[pos++] = 0x0a;
    this.pos = pos;
    return leaf;
  }

  /** Hands out everything appended so far, in order. */
  take(): Buffer[] {
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
    if (this.pos + 1 < this.buf.length) {
      this.pos += 1; // gap byte: see invariant
      this.start = this.pos;
    } else {
      this.newBlock(0);
    }
    return out;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.sealed.push(this.buf.subarray(this.start, this.pos));
      this.sealedBytes += this.pos - this.start;
    }
    this.start = this.pos;
  }

  private newBlock(atLeast: number): void {
    this.seal();
    this.buf = Buffer.allocUnsafe(Math.max(this.blockSize, atLeast + 1));
    this.pos = 1;
    this.start = 1;
  }
}
