/**
 * Ed25519-signed checkpoints.
 *
 * A checkpoint states "log L had `count` records before this point, their RFC 6962 Merkle root is
 * `root`, and the MAC of the last of them is `head`". The signed bytes are
 *
 *   "warden.audit.checkpoint.v1" 0x0A canonical({"count","final","head","log","root","time","v":1})
 *
 * with count as a decimal string, root/head as lowercase hex, time as RFC 3339 with milliseconds
 * and final true only for the checkpoint written at clean shutdown. Checkpoints appear as records
 * in the log (type "checkpoint", so they are themselves chained) and the latest one is copied as
 * the "anchor" outside the audit directory (see anchor.ts).
 *
 * Threat: an attacker who can edit the audit directory but not the key directory cannot forge a
 * checkpoint, so truncation below an anchored count, or replacing the log wholesale, is visible to
 * anyone holding the public key — even without the HMAC key.
 *
 * Pure: no I/O; keys are passed in.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

export const CHECKPOINT_DOMAIN = 'warden.audit.checkpoint.v1';

export interface CheckpointStatement {
  log: string;
  /** Records before the checkpoint (= the checkpoint record's own seq), decimal. */
  count: string;
  /** Merkle root (hex) of the leaf hashes of records 0..count-1. */
  root: string;
  /** MAC (hex) of record count-1. */
  head: string;
  time: string;
  final: boolean;
}

export function statementBytes(s: CheckpointStatement): Buffer {
  const obj = { v: 1, log: s.log, count: s.count, root: s.root, head: s.head, time: s.time, final: s.final };
  return Buffer.from(CHECKPOINT_DOMAIN + '\n' + (canonicalize(obj) as string), 'utf8');
}

/** Base64 Ed25519 signature. */
export function signStatement(s: CheckpointStatement, privateKey: KeyObject): string {
  return sign(null, statementBytes(s), privateKey).toString('base64');
}

export function verifyStatement(s: CheckpointStatement, sigBase64: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, statementBytes(s), publicKey, Buffer.from(sigBase64, 'base64'));
  } catch {
    return false;
  }
}
