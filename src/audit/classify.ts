/**
 * Naming the damage at the first position where a log stops verifying.
 *
 * The verifier walks a log in file order and expects, at each position, the record with the next
 * seq whose MAC links to the previous record's MAC. At the first position `p` where that fails,
 * this module decides what happened from evidence, not guesses:
 *
 * - A record whose MAC links to some other record proves the pair was written consecutively by the
 *   key holder (nobody else can compute the MAC). Records after a damaged one still link to it,
 *   because each MAC covers the *stored* previous MAC.
 * - Sequence numbers are covered by the MAC, so an authentic record's seq is its true position.
 *
 * Rules, in order (exp = expected seq, prev = MAC of the last good record):
 *   garbage line, next record links to prev             → inserted (junk line)
 *   garbage line otherwise                              → modified
 *   byte-identical copy of an earlier line              → inserted (replay)
 *   genesis fails and no record in the log links under our key → replaced (re-chained with another key)
 *   authentic record whose predecessor appears later    → reordered
 *   the next record links to this one's stored or recomputed MAC and has seq exp+1
 *                                                       → modified (this record sits in slot exp)
 *   seq = exp, MAC fails, a later record with seq exp links to prev → inserted (forged record)
 *   seq = exp, MAC fails                                → modified
 *   the next record has seq exp and links to prev       → inserted (extra record)
 *   seq > exp and a record with a missing seq appears later → reordered
 *   seq > exp                                           → deleted (seqs exp..seq-1 are gone)
 *   seq < exp                                           → inserted (reused seq)
 *
 * Without the HMAC key ("signature mode") links degrade to seq adjacency; modifications that
 * keep seqs intact are then caught by checkpoint Merkle roots instead (verify.ts).
 *
 * Pure: no I/O.
 */
import type { ChainVerifier } from './chain.js';
import type { Entry, ParsedRecord } from './reader.js';

export type DamageKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'replaced';

export interface Break {
  kind: DamageKind;
  message: string;
}

function where(e: Entry): string {
  return `${e.segment}:${e.line}`;
}

function macLinks(mac: ChainVerifier, r: ParsedRecord, prevHex: string): boolean {
  return mac.check(r.seqStr, prevHex, r.body, r.mac);
}

/** Whether any adjacent pair in the log authenticates under `mac`. */
function anyLink(entries: readonly Entry[], mac: ChainVerifier): boolean {
  for (let q = 0; q < entries.length; q++) {
    const b = entries[q]?.rec;
    if (!b) continue;
    if (q === 0) {
      if (b.seq === 0n && macLinks(mac, b, '0'.repeat(64))) return true;
      continue;
    }
    const a = entries[q - 1]?.rec;
    if (a && b.seq === a.seq + 1n && macLinks(mac, b, a.mac)) return true;
  }
  return false;
}

export function classifyBreak(entries: readonly Entry[], p: number, exp: bigint, prevHex: string, mac: ChainVerifier | undefined): Break {
  const e = entries[p] as Entry;
  const nextRec = entries[p + 1]?.rec ?? null;
  // "links": MAC proof with the key; seq adjacency alone without it.
  const links = (r: ParsedRecord, prev: string): boolean => (mac ? macLinks(mac, r, prev) : true);

  if (!e.rec) {
    if (nextRec && nextRec.seq === exp && links(nextRec, prevHex)) {
      return { kind: 'inserted', message: `line ${where(e)} is not a record (${e.error}) and the chain continues after it` };
    }
    return { kind: 'modified', message: `line ${where(e)} is not a valid record (${e.error})` };
  }
  const r = e.rec;

  for (let q = 0; q < p; q++) {
    const o = entries[q] as Entry;
    if (o.raw.equals(e.raw)) return { kind: 'inserted', message: `line ${where(e)} is a copy of line ${where(o)} (seq ${r.seqStr})` };
  }

  if (p === 0 && mac && !anyLink(entries, mac)) {
    return { kind: 'replaced', message: 'no record of this log authenticates under the HMAC key: the whole log was re-chained with another key' };
  }

  const bySeq = new Map<bigint, number[]>();
  for (let q = 0; q < entries.length; q++) {
    const s = entries[q]?.rec?.seq;
    if (s === undefined) continue;
    const list = bySeq.get(s);
    if (list) list.push(q);
    else bySeq.set(s, [q]);
  }

  if (r.seq > 0n) {
    for (const q of bySeq.get(r.seq - 1n) ?? []) {
      const pred = entries[q] as Entry;
      if (q > p && pred.rec && links(r, pred.rec.mac)) {
        return { kind: 'reordered', message: `seq ${r.seqStr} at ${where(e)} comes before its predecessor seq ${pred.rec.seqStr} at ${where(pred)}` };
      }
    }
  }

  if (mac && nextRec && nextRec.seq === exp + 1n) {
    if (macLinks(mac, nextRec, r.mac) || macLinks(mac, nextRec, mac.compute(r.seqStr, prevHex, r.body))) {
      return { kind: 'modified', message: `record at ${where(e)} (slot of seq ${exp}) was altered: its MAC does not match its contents, but the next record links to it` };
    }
  }

  if (r.seq === exp) {
    if (mac) {
      for (const q of bySeq.get(exp) ?? []) {
        const twin = entries[q] as Entry;
        if (q > p && twin.rec && macLinks(mac, twin.rec, prevHex)) {
          return { kind: 'inserted', message: `forged record with seq ${exp} at ${where(e)}; the genuine seq ${exp} follows at ${where(twin)}` };
        }
      }
    }
    return { kind: 'modified', message: `record seq ${r.seqStr} at ${where(e)} does not verify (${mac ? 'MAC mismatch' : 'structure mismatch'})` };
  }

  if (nextRec && nextRec.seq === exp && links(nextRec, prevHex)) {
    return { kind: 'inserted', message: `extra record (claims seq ${r.seqStr}) at ${where(e)}; the chain continues with seq ${exp} after it` };
  }

  if (r.seq > exp) {
    for (let q = p + 1; q < entries.length; q++) {
      const o = entries[q] as Entry;
      if (o.rec && o.rec.seq >= exp && o.rec.seq < r.seq) {
        return { kind: 'reordered', message: `seq ${o.rec.seqStr} appears at ${where(o)}, after seq ${r.seqStr} at ${where(e)}` };
      }
    }
    const prevEntry = entries[p - 1];
    const missingFiles = prevEntry && e.segNo > prevEntry.segNo + 1 ? `; segment file(s) between ${prevEntry.segment} and ${e.segment} are missing` : '';
    const n = r.seq - exp;
    const range = n === 1n ? `seq ${exp}` : `seq ${exp}..${r.seq - 1n} (${n} records)`;
    return { kind: 'deleted', message: `${range} missing before ${where(e)}${missingFiles}` };
  }

  return { kind: 'inserted', message: `record at ${where(e)} reuses seq ${r.seqStr} (expected ${exp})` };
}
