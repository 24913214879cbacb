/**
 * Names on disk. One directory per log under the audit directory, one file per segment:
 *
 *   <audit dir>/<log id>/000001.jsonl, 000002.jsonl, …
 *
 * Each writer process creates its own log (mkdir of a fresh random id is exclusive), so two
 * Warden processes writing to the same audit directory never share a file and never need a lock.
 * Log ids start with the UTC creation time so they sort chronologically.
 *
 * Pure: no I/O.
 */
import { join } from 'node:path';

export const LOG_ID_RE = /^\d{8}T\d{6}Z-[0-9a-f]{16}$/;
export const SEGMENT_RE = /^(\d{6,})\.jsonl$/;

export function newLogId(nowMs: number, random: Buffer): string {
  const iso = new Date(nowMs).toISOString(); // 2024-05-01T12:34:56.789Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, '') + 'Z';
  return `${stamp}-${random.subarray(0, 8).toString('hex')}`;
}

export function segmentFileName(n: number): string {
  return `${String(n).padStart(6, '0')}.jsonl`;
}

/** Segment number from a file name, or null if the name is not a segment. */
export function segmentNumber(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

export function logDir(auditDir: string, logId: string): string {
  return join(auditDir, logId);
}

export function anchorFile(anchorDir: string, logId: string): string {
  return join(anchorDir, `${logId}.json`);
}

/** RFC 3339 UTC with milliseconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
