/**
 * The HMAC-SHA256 chain.
 *
 *   mac_i = HMAC-SHA256(K, "warden.audit.v1" 0x00 logId 0x00 seq_i 0x00 prev_i 0x00 canonical(body_i))
 *
 * - K: the 32-byte HMAC key from the key directory (never stored in the audit directory).
 * - logId: the log's id as in its genesis record (ASCII, no NUL). Binds every record to one log,
 *   so records cannot be spliced between logs that share the key.
 * - seq_i: the record's sequence number in decimal ASCII (genesis is "0"), also present in body_i.
 * - prev_i: lowercase hex (64 ASCII chars) of mac_{i-1}; for the genesis record 64 × "0".
 * - canonical(body_i): RFC 8785 UTF-8 bytes of the record without its `mac` member.
 * - The result is stored as lowercase hex in the record's `mac` member.
 *
 * The fields before the body contain no NUL and prev_i has a fixed length, so the input is
 * unambiguous. Invariant: without K nobody can produce a record that links to its predecessor,
 * so editing, dropping, inserting or reordering records breaks the chain at the first damaged
 * position, and records after it still link to their (intact) predecessors — which is what lets
 * the verifier tell the kinds of damage apart.
 *
 * Two implementations of the same function: `ChainMac` (writer, fast path in sha256.ts) and
 * `ChainVerifier` (verify, node's createHmac). Tests check they agree.
 *
 * Pure: no I/O. Keys are held by instances, not by the module.
 */
import { createHmac } from 'node:crypto';
import { FastHmacSha256 } from './sha256.js';

export const MAC_DOMAIN = 'warden.audit.v1';
export const ZERO_MAC_HEX = '0'.repeat(64);
export const MAC_HEX_RE = /^[0-9a-f]{64}$/;

/** The exact MAC input, as a string (UTF-8 encoded when hashed). */
export function macInput(logId: string, seq: string, prevHex: string, canonicalBody: string): string {
  return MAC_DOMAIN + '\0' + logId + '\0' + seq + '\0' + prevHex + '\0' + canonicalBody;
}

function checkKey(key: Buffer): void {
  if (key.length < 32) throw new RangeError('HMAC key must be at least 32 bytes');
}

/** Writer side. */
export class ChainMac {
  private readonly hmac: FastHmacSha256;
  private readonly prefix: string;
  constructor(
    key: Buffer,
    readonly logId: string,
  ) {
    checkKey(key);
    this.hmac = new FastHmacSha256(key);
    this.prefix = MAC_DOMAIN + '\0' + logId + '\0';
  }
  compute(seq: string, prevHex: string, canonicalBody: string): string {
    return this.hmac.hex(this.prefix + seq + '\0' + prevHex + '\0' + canonicalBody);
  }
}

/** Verifier side: independent implementation via createHmac. */
export class ChainVerifier {
  constructor(
    private readonly key: Buffer,
    readonly logId: string,
  ) {
    checkKey(key);
  }
  compute(seq: string, prevHex: string, canonicalBody: string): string {
    return createHmac('sha256', this.key).update(macInput(this.logId, seq, prevHex, canonicalBody), 'utf8').digest('hex');
  }
  check(seq: string, prevHex: string, canonicalBody: string, macHex: string): boolean {
    return this.compute(seq, prevHex, canonicalBody) === macHex;
  }
}
