/**
 * Selecting records for `warden audit show`. Show does not verify (that is `audit verify`'s job);
 * it lists well-formed records and skips lines that are not records.
 */
import { listLogs, readLog } from './reader.js';
import type { ShowRow } from './format.js';

export interface ShowFilter {
  session?: string;
  decision?: string;
  /** Matches an event's `kind`, or the record type of the writer's own records (genesis, checkpoint, segment). */
  kind?: string;
  /** Inclusive lower bound, ms since epoch. */
  sinceMs?: number;
  /** Inclusive upper bound, ms since epoch. */
  untilMs?: number;
}

/** Pure predicate. */
export function matchesFilter(r: Record<string, unknown>, f: ShowFilter): boolean {
  if (f.session !== undefined && r['session'] !== f.session) return false;
  if (f.decision !== undefined && r['decision'] !== f.decision) return false;
  if (f.kind !== undefined && r['kind'] !== f.kind && r['type'] !== f.kind) return false;
  if (f.sinceMs !== undefined || f.untilMs !== undefined) {
    const t = typeof r['time'] === 'string' ? Date.parse(r['time']) : NaN;
    if (Number.isNaN(t)) return false;
    if (f.sinceMs !== undefined && t < f.sinceMs) return false;
    if (f.untilMs !== undefined && t > f.untilMs) return false;
  }
  return true;
}

/** Parses a --since/--until value: RFC 3339 / ISO 8601 date or date-time. NaN if invalid. */
export function parseTimeArg(s: string): number {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return NaN;
  return Date.parse(s.replace(' ', 'T'));
}

/** Matching records of every log in the directory, logs in chronological order, records in seq order. */
export async function* selectRecords(auditDir: string, f: ShowFilter): AsyncGenerator<ShowRow> {
  const { logs } = await listLogs(auditDir);
  for (const log of logs) {
    const { entries } = await readLog(auditDir, log);
    for (const e of entries) {
      if (e.rec && matchesFilter(e.rec.obj, f)) yield { log, record: e.rec.obj };
    }
  }
}
