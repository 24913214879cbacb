/**
 * Allocation-light SHA-256 and HMAC-SHA256 for the writer's hot path.
 *
 * `createHash`/`createHmac` build a stream object per call (~1.7–2 µs each); at three hashes per
 * record that alone would eat most of the 10 µs/record budget. `crypto.hash` (Node ≥ 20.12) is a
 * one-shot native call; HMAC is built from it per RFC 2104:
 *   HMAC(K, m) = H((K ⊕ opad) || H((K ⊕ ipad) || m)),  K zero-padded to the 64-byte block.
 * On older Node the functions fall back to createHash with identical results.
 *
 * Digests travel as latin1 strings (one char per byte) to avoid a Buffer per digest.
 * The verifier deliberately does NOT use this module: it checks MACs with `createHmac`, so a bug
 * here shows up as verification failures in tests rather than being silently self-consistent.
 *
 * No module-level mutable state: scratch buffers belong to instances.
 */
import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string | Buffer, outputEncoding: 'latin1' | 'hex') => string;
const oneShot: OneShot | undefined = (crypto as unknown as { hash?: OneShot }).hash;

function sha256(data: string | Buffer, enc: 'latin1' | 'hex'): string {
  if (oneShot) return oneShot('sha256', data, enc);
  const d = crypto.createHash('sha256').update(data).digest();
  return d.toString(enc);
}

/** SHA-256 of a string (UTF-8) or bytes, as a 32-char latin1 string. */
export function sha256Latin1(data: string | Buffer): string {
  return sha256(data, 'latin1');
}

export class FastHmacSha256 {
  private inner: Buffer;
  private readonly outer: Buffer = Buffer.alloc(64 + 32);

  constructor(key: Buffer) {
    if (key.length > 64) throw new RangeError('HMAC key longer than the SHA-256 block');
    this.inner = Buffer.alloc(64 + 4096);
    for (let i = 0; i < 64; i++) {
      const k = i < key.length ? (key[i] as number) : 0;
      this.inner[i] = k ^ 0x36;
      this.outer[i] = k ^ 0x5c;
    }
  }

  /**
   * HMAC-SHA256 of the UTF-8 encoding of `msg`, as lowercase hex. (Callers pass one concatenated
   * string: one Buffer.write of a long string is ~3× cheaper than several short ones.)
   */
  hex(msg: string): string {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (64 + 3 * msg.length > this.inner.length) {
      const bigger = Buffer.alloc(64 + 3 * msg.length + 4096);
      this.inner.copy(bigger, 0, 0, 64);
      this.inner = bigger;
    }
    const n = 64 + this.inner.write(msg, 64, 'utf8');
    const innerDigest = sha256(this.inner.subarray(0, n), 'latin1');
    this.outer.write(innerDigest, 64, 'latin1');
    return sha256(this.outer, 'hex');
  }
}

/** Writes two 32-byte latin1 digests after a prefix byte and hashes them: RFC 6962 node hash. */
export class NodeHasher {
  private readonly buf: Buffer = Buffer.alloc(65);
  constructor(prefix: number) {
    this.buf[0] = prefix;
  }
  hash(left: string, right: string): string {
    this.buf.write(left + right, 1, 'latin1');
    return sha256(this.buf, 'latin1');
  }
}
