/**
 * `verifyAudit`: checks every log in an audit directory and reports the first damage per log.
 *
 * Per log (`verifyLog`, pure given the parsed entries):
 * 1. Walk records in file order (segments by number). Each must have the next seq and, with the
 *    HMAC key, a MAC linking it to the previous record. The first failure is classified by
 *    classify.ts. An unterminated final line is a torn tail from a crash: a warning, not damage.
 * 2. Each checkpoint record must cover exactly the records before it (count = its seq, Merkle
 *    root, head MAC) and carry a valid Ed25519 signature.
 * 3. The anchor (latest checkpoint kept outside the audit directory) must be matched by the log:
 *    a log ending before the anchored checkpoint was truncated; a different checkpoint at that seq
 *    means the log was replaced.
 *
 * What is detected: any modification, deletion, insertion, reordering of records; truncation
 * below the anchored checkpoint (for a cleanly closed log: any truncation); a log re-chained or
 * re-signed with other keys; a whole log directory removed (its anchor remains).
 * What is not: truncation of records written after the last anchor update of a log that did not
 * close cleanly (reported only as an `unclosed` warning, indistinguishable from a crash), and,
 * in signature mode (public key only), changes to records after the last checkpoint.
 *
 * Reading order matters with live writers: anchors are read before logs, and writers only anchor
 * durable records, so a log read later is never legitimately shorter than its anchor.
 */
import type { KeyObject } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isWardenError } from '../errors.js';
import { type Anchor, anchorSignatureValid, readAnchors } from './anchor.js';
import { ChainVerifier, ZERO_MAC_HEX } from './chain.js';
import { verifyStatement } from './checkpoint.js';
import { classifyBreak, type DamageKind } from './classify.js';
import { ANCHOR_SUBDIR, loadAuditKeys, rawPublicKey, readPublicKeyFile } from './keys.js';
import { leafHash, MerkleAccumulator } from './merkle.js';
import { type Entry, type LogContents, listLogs, readLog } from './reader.js';

export type { DamageKind } from './classify.js';

export type WarningKind =
  | 'truncated-tail'
  | 'unclosed'
  | 'no-anchor'
  | 'anchor-invalid'
  | 'unauthenticated-tail'
  | 'unknown-file'
  | 'name-mismatch';

export interface Location {
  log: string;
  /** Segment file name, or null when the damage is not in one file (e.g. a whole log missing). */
  segment: string | null;
  /** 1-based line in the segment file. */
  line: number | null;
  seq: string | null;
}

export interface Damage extends Location {
  kind: DamageKind;
  message: string;
}

export interface Warning extends Location {
  kind: WarningKind;
  message: string;
}

export type Status = 'intact' | 'tampered' | 'unverifiable';

export interface LogReport {
  log: string;
  status: Status;
  /** Records that verified. */
  records: number;
  segments: number;
  checkpoints: number;
  /** Ended with a final checkpoint (clean shutdown). */
  closed: boolean;
  lastSeq: string | null;
  anchor: 'matched' | 'missing' | 'invalid' | 'unchecked';
  damage: Damage | null;
  warnings: Warning[];
  error: string | null;
}

export interface VerifyReport {
  status: Status;
  exitCode: 0 | 2 | 3;
  /** "mac": HMAC chain + signatures; "signature": public key only (no HMAC key available). */
  mode: 'mac' | 'signature' | 'none';
  dir: string;
  logs: LogReport[];
  /** The first damage found (logs in chronological order). */
  damage: Damage | null;
  warnings: Warning[];
  /** Why verification was impossible (status "unverifiable"). */
  errors: string[];
}

export interface VerifyOptions {
  /** Audit directory. */
  dir: string;
  /** Key directory holding the HMAC key (and signing key, whose public half is used). */
  keyDir?: string;
  /** Exported public key; without an HMAC key this selects signature mode. */
  pubkeyPath?: string;
  /** Anchor directory; default `<keyDir>/anchors`. */
  anchorDir?: string;
}

export interface LogVerifyInput {
  contents: LogContents;
  macKey: Buffer | undefined;
  publicKey: KeyObject;
  anchor: Anchor | undefined;
  anchorInvalid: string | undefined;
}

function loc(log: string, e: Entry | undefined): Location {
  return { log, segment: e?.segment ?? null, line: e?.line ?? null, seq: e?.rec?.seqStr ?? null };
}

export function verifyLog(input: LogVerifyInput): LogReport {
  const { contents, publicKey } = input;
  const { entries, log } = contents;
  const warnings: Warning[] = [];
  const report: LogReport = {
    log,
    status: 'intact',
    records: 0,
    segments: contents.segments.length,
    checkpoints: 0,
    closed: false,
    lastSeq: null,
    anchor: 'unchecked',
    damage: null,
    warnings,
    error: null,
  };
  for (const name of contents.unknown) warnings.push({ kind: 'unknown-file', message: `unexpected file ${name} in log directory`, log, segment: name, line: null, seq: null });

  const first = entries[0]?.rec;
  const logId = first && first.type === 'genesis' && typeof first.obj['log'] === 'string' ? (first.obj['log'] as string) : log;
  if (logId !== log) warnings.push({ kind: 'name-mismatch', message: `genesis names log ${logId} but the directory is ${log}`, ...loc(log, entries[0]) });
  const mac = input.macKey ? new ChainVerifier(input.macKey, logId) : undefined;
  const ourKey = rawPublicKey(publicKey).toString('base64');
  const genesisKeys = first?.obj['keys'];
  const genesisSigKey = typeof genesisKeys === 'object' && genesisKeys !== null ? (genesisKeys as Record<string, unknown>)['sig'] : undefined;

  const merkle = new MerkleAccumulator();
  let exp = 0n;
  let prev = ZERO_MAC_HEX;
  let lastCheckpoint: Entry | undefined;
  let finalSeen = false;
  let damage: Damage | null = null;
  const fail = (kind: DamageKind, message: string, e: Entry | undefined): void => {
    damage = { kind, message, ...loc(log, e) };
  };

  for (let p = 0; p < entries.length; p++) {
    const e = entries[p] as Entry;
    if (!e.terminated) {
      if (p === entries.length - 1) {
        warnings.push({ kind: 'truncated-tail', message: `last line ${e.segment}:${e.line} is incomplete (${e.raw.length} bytes): the writer stopped mid-write; not counted`, ...loc(log, e) });
        break;
      }
      fail('modified', `segment ${e.segment} ends in a partial line (line ${e.line}) although later segments exist`, e);
      break;
    }
    if (finalSeen) {
      fail('inserted', `record at ${e.segment}:${e.line} follows the final checkpoint`, e);
      break;
    }
    const r = e.rec;
    let ok = r !== null && r.seq === exp;
    if (ok && r) {
      if (mac) ok = mac.check(r.seqStr, prev, r.body, r.mac);
      // Structure (this is what binds records together when only the public key is available).
      if (p === 0) ok &&= r.type === 'genesis';
      else if (r.type === 'genesis') ok = false;
      const firstInFile = p > 0 && (entries[p - 1] as Entry).segment !== e.segment;
      if (firstInFile || r.type === 'segment') ok &&= r.type === 'segment' && r.obj['prev'] === prev;
      if (ok && r.type === 'segment' && r.obj['segment'] !== String(e.segNo)) {
        warnings.push({ kind: 'name-mismatch', message: `segment record names segment ${String(r.obj['segment'])} but the file is ${e.segment}`, ...loc(log, e) });
      }
    }
    if (!ok || !r) {
      const b = classifyBreak(entries, p, exp, prev, mac);
      fail(b.kind, b.message, e);
      break;
    }
    if (r.type === 'checkpoint') {
      const o = r.obj;
      const stmt = { log: logId, count: String(o['count']), root: String(o['root']), head: String(o['head']), time: r.time, final: o['final'] === true };
      const sig = typeof o['sig'] === 'string' ? o['sig'] : '';
      if (stmt.count !== r.seqStr || stmt.head !== prev || stmt.root !== merkle.root().toString('hex')) {
        const from = lastCheckpoint?.rec?.seqStr ?? '0';
        fail('modified', `records seq ${from}..${exp - 1n} do not match the checkpoint at ${e.segment}:${e.line} (Merkle root/head/count differ)`, e);
        break;
      }
      if (!verifyStatement(stmt, sig, publicKey)) {
        if (report.checkpoints === 0 || (genesisSigKey !== undefined && genesisSigKey !== ourKey)) {
          fail('replaced', `checkpoints are not signed by the expected public key: the log was re-signed with another key`, e);
        } else {
          fail('modified', `checkpoint at ${e.segment}:${e.line} has an invalid signature`, e);
        }
        break;
      }
      report.checkpoints++;
      lastCheckpoint = e;
      if (stmt.final) finalSeen = true;
    }
    merkle.push(leafHash(e.raw));
    prev = r.mac;
    exp++;
    report.records = p + 1;
  }
  report.lastSeq = exp > 0n ? (exp - 1n).toString() : null;
  report.closed = finalSeen;

  if (!damage) {
    const last = entries[report.records - 1];
    if (input.anchorInvalid) {
      report.anchor = 'invalid';
      warnings.push({ kind: 'anchor-invalid', message: `anchor for this log is unusable (${input.anchorInvalid})`, log, segment: null, line: null, seq: null });
    } else if (!input.anchor) {
      report.anchor = 'missing';
      warnings.push({ kind: 'no-anchor', message: 'no anchor outside the audit directory: truncation after the last in-log checkpoint cannot be detected', log, segment: null, line: null, seq: null });
    } else if (!anchorSignatureValid(input.anchor, publicKey)) {
      report.anchor = 'invalid';
      warnings.push({ kind: 'anchor-invalid', message: 'anchor signature does not verify with this public key', log, segment: null, line: null, seq: null });
    } else {
      const a = input.anchor.stmt;
      const count = BigInt(a.count);
      if (exp <= count) {
        const after = lastCheckpoint ? `after checkpoint #${report.checkpoints} (seq ${lastCheckpoint.rec?.seqStr})` : 'before its first checkpoint';
        fail(
          'truncated',
          `log truncated ${after}: it ends at seq ${report.lastSeq ?? 'none'}, but the anchor kept outside the audit directory proves a ${a.final ? 'final ' : ''}checkpoint at seq ${a.count}`,
          last,
        );
      } else {
        const at = entries[Number(count)]?.rec;
        const same = at && at.type === 'checkpoint' && at.obj['root'] === a.root && at.obj['head'] === a.head && at.time === a.time && (at.obj['final'] === true) === a.final;
        if (!same) fail('replaced', `the record at seq ${a.count} is not the checkpoint anchored outside the audit directory: the log was replaced`, entries[Number(count)]);
        else report.anchor = 'matched';
      }
    }
  }
  if (!damage) {
    if (!report.closed) {
      warnings.push({ kind: 'unclosed', message: 'no final checkpoint: the writer crashed, is still running, or records after the last anchor were removed', ...loc(log, entries[report.records - 1]) });
    }
    if (!mac) {
      const covered = lastCheckpoint ? Number(lastCheckpoint.rec?.seq ?? 0n) + 1 : 0;
      const tail = report.records - covered;
      if (tail > 0) warnings.push({ kind: 'unauthenticated-tail', message: `${tail} record(s) after the last checkpoint cannot be authenticated without the HMAC key`, ...loc(log, entries[covered]) });
    }
  }
  report.damage = damage;
  report.status = damage ? 'tampered' : 'intact';
  return report;
}

function errMessage(e: unknown): string {
  if (isWardenError(e)) return e.oneLine().replace(/^warden: /, '');
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
  return code ?? String(e);
}

function unverifiable(dir: string, mode: VerifyReport['mode'], errors: string[], logs: LogReport[] = []): VerifyReport {
  return { status: 'unverifiable', exitCode: 3, mode, dir, logs, damage: null, warnings: [], errors };
}

export async function verifyAudit(opts: VerifyOptions): Promise<VerifyReport> {
  const dir = opts.dir;
  let macKey: Buffer | undefined;
  let publicKey: KeyObject | undefined;
  const errors: string[] = [];

  if (opts.keyDir) {
    try {
      const k = await loadAuditKeys(opts.keyDir);
      macKey = k.macKey;
      publicKey = k.publicKey;
    } catch (e) {
      if (!opts.pubkeyPath) return unverifiable(dir, 'none', [errMessage(e)]);
    }
  }
  if (opts.pubkeyPath) {
    try {
      publicKey = await readPublicKeyFile(opts.pubkeyPath);
    } catch (e) {
      return unverifiable(dir, 'none', [errMessage(e)]);
    }
  }
  if (!publicKey) errors.push(`audit signing key missing${opts.keyDir ? ` in ${opts.keyDir}` : ''} (fix: pass --pubkey FILE or the right --key-dir)`);
  if (!macKey && !opts.pubkeyPath) errors.push(`audit HMAC key missing${opts.keyDir ? ` in ${opts.keyDir}` : ''} (fix: pass the right --key-dir, or --pubkey FILE to check signatures only)`);
  if (errors.length > 0 || !publicKey) return unverifiable(dir, 'none', errors);
  const mode = macKey ? 'mac' : 'signature';

  let realDir: string;
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) return unverifiable(dir, mode, [`audit path ${dir} is not a directory`]);
    realDir = await realpath(dir);
  } catch (e) {
    return unverifiable(dir, mode, [`audit directory ${dir} cannot be read: ${errMessage(e)}`]);
  }

  // Anchors first (see header comment).
  const anchorDir = opts.anchorDir ?? (opts.keyDir ? join(opts.keyDir, ANCHOR_SUBDIR) : undefined);
  let anchors = new Map<string, Anchor>();
  let invalidAnchors = new Map<string, string>();
  if (anchorDir) {
    try {
      const set = await readAnchors(anchorDir);
      anchors = set.anchors;
      invalidAnchors = set.invalid;
    } catch (e) {
      return unverifiable(dir, mode, [`anchor directory ${anchorDir} cannot be read: ${errMessage(e)}`]);
    }
  }

  let listing;
  try {
    listing = await listLogs(dir);
  } catch (e) {
    return unverifiable(dir, mode, [errMessage(e)]);
  }
  const warnings: Warning[] = listing.unknown.map((name) => ({ kind: 'unknown-file' as const, message: `unexpected entry ${name} in audit directory`, log: '', segment: name, line: null, seq: null }));

  const logs: LogReport[] = [];
  const genesisOwners = new Map<string, string[]>();
  for (const log of listing.logs) {
    let contents: LogContents;
    try {
      contents = await readLog(dir, log);
    } catch (e) {
      errors.push(errMessage(e));
      logs.push({ log, status: 'unverifiable', records: 0, segments: 0, checkpoints: 0, closed: false, lastSeq: null, anchor: 'unchecked', damage: null, warnings: [], error: errMessage(e) });
      continue;
    }
    const report = verifyLog({ contents, macKey, publicKey, anchor: anchors.get(log), anchorInvalid: invalidAnchors.get(log) });
    logs.push(report);
    const g = contents.entries[0]?.rec;
    if (g?.type === 'genesis' && typeof g.obj['log'] === 'string') {
      const owners = genesisOwners.get(g.obj['log']) ?? [];
      owners.push(log);
      genesisOwners.set(g.obj['log'], owners);
    }
  }

  // A log directory that is a copy of another log (same genesis) is an insertion.
  for (const [id, owners] of genesisOwners) {
    if (owners.length < 2) continue;
    for (const owner of owners) {
      if (owner === id) continue;
      const r = logs.find((l) => l.log === owner);
      if (r && !r.damage) {
        r.damage = { kind: 'inserted', message: `log directory ${owner} is a copy of log ${id}`, log: owner, segment: null, line: null, seq: null };
        r.status = 'tampered';
      }
    }
  }

  // Anchored logs of this directory whose directory is gone entirely.
  const present = new Set(listing.logs);
  for (const [id, a] of anchors) {
    if (present.has(id) || a.dir !== realDir || !anchorSignatureValid(a, publicKey)) continue;
    logs.push({
      log: id,
      status: 'tampered',
      records: 0,
      segments: 0,
      checkpoints: 0,
      closed: false,
      lastSeq: null,
      anchor: 'matched',
      damage: { kind: 'deleted', message: `log ${id} is missing: its anchor proves a checkpoint at seq ${a.stmt.count}`, log: id, segment: null, line: null, seq: null },
      warnings: [],
      error: null,
    });
  }
  logs.sort((x, y) => (x.log < y.log ? -1 : x.log > y.log ? 1 : 0));

  const firstDamaged = logs.find((l) => l.damage);
  const status: Status = firstDamaged ? 'tampered' : logs.some((l) => l.status === 'unverifiable') ? 'unverifiable' : 'intact';
  return {
    status,
    exitCode: status === 'intact' ? 0 : status === 'tampered' ? 2 : 3,
    mode,
    dir,
    logs,
    damage: firstDamaged?.damage ?? null,
    warnings,
    errors,
  };
}

