/**
 * The writer's fast crypto paths agree with node's reference implementations, and the Merkle
 * accumulator computes RFC 6962 tree heads.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ChainMac, ChainVerifier, macInput, ZERO_MAC_HEX } from '../../src/audit/chain.js';
import { signStatement, verifyStatement } from '../../src/audit/checkpoint.js';
import { LineBuffer } from '../../src/audit/line-buffer.js';
import { EMPTY_ROOT, leafHash, MerkleAccumulator, merkleRoot } from '../../src/audit/merkle.js';
import { FastHmacSha256, sha256Latin1 } from '../../src/audit/sha256.js';

describe('HMAC chain', () => {
  test('FastHmacSha256 equals createHmac for any key ≤ 64 bytes and any text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }), (key, parts) => {
        const k = Buffer.from(key);
        assert.equal(new FastHmacSha256(k).hex(parts.join('')), createHmac('sha256', k).update(parts.join(''), 'utf8').digest('hex'));
      }),
      { numRuns: 500 },
    );
  });

  test('writer (ChainMac) and verifier (ChainVerifier) compute the documented construction', () => {
    const key = randomBytes(32);
    const w = new ChainMac(key, '20250101T000000Z-0011223344556677');
    const v = new ChainVerifier(key, '20250101T000000Z-0011223344556677');
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 80n }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (seq, pre, post) => {
        const s = seq.toString();
        const expected = createHmac('sha256', key)
          .update(Buffer.concat([Buffer.from('warden.audit.v1\0' + '20250101T000000Z-0011223344556677' + '\0' + s + '\0' + ZERO_MAC_HEX + '\0'), Buffer.from(pre + post, 'utf8')]))
          .digest('hex');
        assert.equal(w.compute(s, ZERO_MAC_HEX, pre + post), expected);
        assert.equal(v.compute(s, ZERO_MAC_HEX, pre + post), expected);
        assert.equal(macInput('L', s, ZERO_MAC_HEX, pre), `warden.audit.v1\0L\0${s}\0${ZERO_MAC_HEX}\0${pre}`);
      }),
      { numRuns: 300 },
    );
  });

  test('keys shorter than 32 bytes are refused', () => {
    assert.throws(() => new ChainMac(Buffer.alloc(16), 'L'));
    assert.throws(() => new ChainVerifier(Buffer.alloc(16), 'L'));
  });
});

describe('Merkle (RFC 6962)', () => {
  test('known vectors: empty tree and empty leaf', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(leafHash(Buffer.alloc(0)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  test('accumulator root equals the recursive definition for every size up to 300', () => {
    const acc = new MerkleAccumulator();
    const leaves: Buffer[] = [];
    assert.deepEqual(acc.root(), EMPTY_ROOT);
    for (let n = 1; n <= 300; n++) {
      const leaf = leafHash(`record ${n}`);
      leaves.push(leaf);
      acc.push(n % 2 ? leaf : leaf.toString('latin1'));
      assert.deepEqual(acc.root(), merkleRoot(leaves), `size ${n}`);
    }
    // RFC 6962 §2.1 by hand for 3 leaves: node(node(l0, l1), l2)
    const node = (a: Buffer, b: Buffer): Buffer => createHash('sha256').update(Buffer.from([1])).update(a).update(b).digest();
    assert.deepEqual(merkleRoot(leaves.slice(0, 3)), node(node(leaves[0]!, leaves[1]!), leaves[2]!));
  });

  test('LineBuffer leaf hashes are over exactly the bytes it hands out', () => {
    const lb = new LineBuffer(64); // tiny blocks: force block boundaries
    const lines = ['a', 'ü'.repeat(40), '{"x":1}', '', 'z'.repeat(200), '😀'];
    const leaves = lines.map((l) => lb.appendLine(l));
    const out = Buffer.concat(lb.take()).toString('utf8');
    assert.equal(out, lines.map((l) => l + '\n').join(''));
    lines.forEach((l, i) => assert.equal(leaves[i], leafHash(l).toString('latin1')));
    assert.equal(sha256Latin1('abc'), createHash('sha256').update('abc').digest().toString('latin1'));
    // A region handed out is never written again.
    lb.appendLine('first');
    const taken = lb.take();
    const snapshot = Buffer.concat(taken).toString();
    lb.appendLine('second');
    assert.equal(Buffer.concat(taken).toString(), snapshot);
  });
});

describe('checkpoint signatures', () => {
  test('sign/verify, and any changed field fails', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519').publicKey;
    const stmt = { log: 'L', count: '10', root: 'aa'.repeat(32), head: 'bb'.repeat(32), time: '2025-01-01T00:00:00.000Z', final: false };
    const sig = signStatement(stmt, privateKey);
    assert.equal(verifyStatement(stmt, sig, publicKey), true);
    assert.equal(verifyStatement(stmt, sig, other), false);
    for (const change of [{ count: '11' }, { root: 'ab'.repeat(32) }, { head: 'cc'.repeat(32) }, { final: true }, { log: 'M' }, { time: 'x' }]) {
      assert.equal(verifyStatement({ ...stmt, ...change }, sig, publicKey), false, JSON.stringify(change));
    }
    assert.equal(verifyStatement(stmt, 'not base64!', publicKey), false);
  });
});
