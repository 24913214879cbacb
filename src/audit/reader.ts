/**
 * Reading logs back: directory listing, line splitting, strict parsing.
 *
 * Parsing is deliberately strict and independent of the writer's encoder: a line is a record only
 * if it is valid UTF-8 JSON whose RFC 8785 form (computed with the `canonicalize` package)
 * reproduces the line byte for byte. Anything else — a flipped byte, re-serialised JSON, extra
 * whitespace, duplicate keys, escaped lone surrogates — is "not a record", which verify treats as
 * damage (or, for an unterminated last line, as a torn tail).
 */
import canonicalize from 'canonicalize';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../errors.js';
import { MAC_HEX_RE } from './chain.js';
import { LOG_ID_RE, segmentNumber } from './layout.js';
import { RECORD_TYPES } from './record.js';

export interface ParsedRecord {
  obj: Record<string, unknown>;
  type: string;
  seq: bigint;
  seqStr: string;
  mac: string;
  time: string;
  /** canonical(record without `mac`): what the MAC covers. */
  body: string;
}

export interface Entry {
  /** Segment file name, e.g. "000001.jsonl". */
  segment: string;
  segNo: number;
  /** 1-based line number within the segment file. */
  line: number;
  raw: Buffer;
  /** Whether the line ended with "\n" (false only for a final fragment). */
  terminated: boolean;
  rec: ParsedRecord | null;
  /** Why `rec` is null. */
  error: string | null;
}

const SEQ_RE = /^(0|[1-9][0-9]*)$/;

export function parseLine(raw: Buffer): ParsedRecord | string {
  let obj: unknown;
  try {
    obj = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'not a JSON object';
  let canon: string | undefined;
  try {
    canon = canonicalize(obj);
  } catch {
    return 'not canonical JSON';
  }
  if (canon === undefined || !Buffer.from(canon, 'utf8').equals(raw)) return 'not canonical JSON (bytes differ from RFC 8785 form)';
  const o = obj as Record<string, unknown>;
  const { mac, seq, type, time } = o;
  if (typeof mac !== 'string' || !MAC_HEX_RE.test(mac)) return 'missing or malformed mac';
  if (typeof seq !== 'string' || !SEQ_RE.test(seq)) return 'missing or malformed seq';
  if (typeof type !== 'string' || !RECORD_TYPES.has(type)) return 'unknown record type';
  if (typeof time !== 'string') return 'missing time';
  const rest: Record<string, unknown> = { ...o };
  delete rest['mac'];
  return { obj: o, type, seq: BigInt(seq), seqStr: seq, mac, time, body: canonicalize(rest) as string };
}

/** Splits a segment file into entries; a trailing fragment without "\n" is marked unterminated. */
export function splitSegment(buf: Buffer, segment: string, segNo: number): Entry[] {
  const out: Entry[] = [];
  let start = 0;
  let line = 1;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl;
    const raw = buf.subarray(start, end);
    const parsed = parseLine(raw);
    out.push({
      segment,
      segNo,
      line,
      raw,
      terminated: nl !== -1,
      rec: typeof parsed === 'string' ? null : parsed,
      error: typeof parsed === 'string' ? parsed : null,
    });
    line++;
    start = end + 1;
  }
  return out;
}

function unreadable(path: string, e: unknown): WardenError<'AUDIT_UNREADABLE'> {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : String(e);
  return new WardenError('AUDIT_UNREADABLE', `cannot read ${path}: ${code}`, 'check permissions (verify must run as the user who owns the audit log)');
}

export interface AuditDirListing {
  /** Log directory names, sorted (chronological). */
  logs: string[];
  /** Other entries in the audit directory. */
  unknown: string[];
}

export async function listLogs(auditDir: string): Promise<AuditDirListing> {
  let ents;
  try {
    ents = await readdir(auditDir, { withFileTypes: true });
  } catch (e) {
    throw unreadable(auditDir, e);
  }
  const logs: string[] = [];
  const unknown: string[] = [];
  for (const d of ents) {
    if (d.isDirectory() && LOG_ID_RE.test(d.name)) logs.push(d.name);
    else unknown.push(d.name);
  }
  logs.sort();
  unknown.sort();
  return { logs, unknown };
}

export interface LogContents {
  log: string;
  /** Segment file names in numeric order. */
  segments: string[];
  entries: Entry[];
  unknown: string[];
}

export async function readLog(auditDir: string, log: string): Promise<LogContents> {
  const dir = join(auditDir, log);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw unreadable(dir, e);
  }
  const segs: Array<{ name: string; n: number }> = [];
  const unknown: string[] = [];
  for (const name of names) {
    const n = segmentNumber(name);
    if (n === null) unknown.push(name);
    else segs.push({ name, n });
  }
  segs.sort((a, b) => a.n - b.n);
  const entries: Entry[] = [];
  for (const s of segs) {
    let buf: Buffer;
    try {
      buf = await readFile(join(dir, s.name));
    } catch (e) {
      throw unreadable(join(dir, s.name), e);
    }
    for (const e of splitSegment(buf, s.name, s.n)) entries.push(e);
  }
  return { log, segments: segs.map((s) => s.name), entries, unknown: unknown.sort() };
}
