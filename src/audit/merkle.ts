/**
 * RFC 6962 (Certificate Transparency) Merkle tree hashing over record lines.
 *
 *   leaf(line)   = SHA-256(0x00 || line bytes, without the trailing newline)
 *   node(l, r)   = SHA-256(0x01 || l || r)
 *   MTH({})      = SHA-256("")
 *   MTH(D[0..n]) = node(MTH(D[0..k]), MTH(D[k..n])), k = largest power of two < n
 *
 * The distinct leaf/node prefixes stop a leaf being passed off as an interior node (second
 * preimage). Checkpoints sign MTH over all records before them, so anyone holding the public key
 * can check record contents without the HMAC key.
 *
 * `MerkleAccumulator` keeps only the roots of the perfect subtrees of the prefix seen so far
 * (O(log n) memory); folding them right to left yields exactly MTH of the prefix. It carries
 * digests as 32-char latin1 strings (cheap on the writer's hot path); `merkleRoot` is the
 * textbook recursive definition over Buffers, used by tests as the reference.
 *
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { NodeHasher, sha256Latin1 } from './sha256.js';

export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** Reference leaf hash. */
export function leafHash(line: string | Buffer): Buffer {
  const h = createHash('sha256').update(Buffer.from([0]));
  return typeof line === 'string' ? h.update(line, 'utf8').digest() : h.update(line).digest();
}

/** Reference node hash. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/** Reference MTH straight from the RFC definition. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** Fast leaf hash of a line given as a JS string, as latin1. */
export function leafHashLatin1(line: string): string {
  return sha256Latin1('\0' + line);
}

export class MerkleAccumulator {
  /** Perfect-subtree roots, largest (leftmost) first; sizes are strictly decreasing powers of two. */
  private readonly roots: string[] = [];
  private readonly sizes: number[] = [];
  private readonly node = new NodeHasher(1);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a leaf hash (latin1 string or Buffer of 32 bytes). */
  push(leaf: string | Buffer): void {
    let hash = typeof leaf === 'string' ? leaf : leaf.toString('latin1');
    let size = 1;
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === size) {
      this.sizes.pop();
      hash = this.node.hash(this.roots.pop() as string, hash);
      size *= 2;
    }
    this.roots.push(hash);
    this.sizes.push(size);
    this.count++;
  }

  root(): Buffer {
    if (this.roots.length === 0) return EMPTY_ROOT;
    let acc = this.roots[this.roots.length - 1] as string;
    for (let i = this.roots.length - 2; i >= 0; i--) acc = this.node.hash(this.roots[i] as string, acc);
    return Buffer.from(acc, 'latin1');
  }
}
