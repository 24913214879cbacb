/**
 * Human-readable output for `warden audit show` and `warden audit verify`.
 *
 * Threat: record fields are attacker-influenced (paths, argv, tool names). Printed raw, control
 * characters or bidi overrides could rewrite the operator's terminal or disguise a record.
 * Invariant: every string that reaches the terminal goes through `safeText`.
 *
 * Pure: returns strings, performs no I/O.
 */
import type { VerifyReport } from './verify.js';

// C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function safeText(s: string): string {
  return s.replace(UNSAFE, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : `\\u{${c.charCodeAt(0).toString(16)}}`));
}

function cell(v: unknown, width: number): string {
  let s = typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
  s = safeText(s);
  if (s.length > width) s = s.slice(0, Math.max(1, width - 1)) + '…';
  return s.padEnd(width);
}

export interface ShowRow {
  log: string;
  record: Record<string, unknown>;
}

/** What the RESOURCE column shows for the writer's own records. */
function resourceOf(r: Record<string, unknown>): unknown {
  switch (r['type']) {
    case 'genesis': {
      const layers = r['layers'] as { degraded?: unknown } | undefined;
      const degraded = Array.isArray(layers?.degraded) && layers.degraded.length > 0 ? `degraded=${layers.degraded.join(',')} ` : '';
      return `${degraded}policy=${String(r['policy'])}`;
    }
    case 'checkpoint':
      return `count=${String(r['count'])}${r['final'] === true ? ' final' : ''}`;
    case 'segment':
      return `segment ${String(r['segment'])}`;
    default:
      return r['resource'];
  }
}

const COLUMNS: Array<{ title: string; width: number; get: (row: ShowRow) => unknown }> = [
  { title: 'TIME', width: 24, get: (x) => x.record['time'] },
  { title: 'LOG', width: 8, get: (x) => x.log.slice(-16, -8) },
  { title: 'SEQ', width: 7, get: (x) => x.record['seq'] },
  { title: 'SESSION', width: 14, get: (x) => x.record['session'] },
  { title: 'KIND', width: 12, get: (x) => (x.record['type'] === 'event' ? x.record['kind'] : `[${String(x.record['type'])}]`) },
  { title: 'DECISION', width: 9, get: (x) => x.record['decision'] },
  { title: 'RULE', width: 20, get: (x) => x.record['rule'] },
  { title: 'RESOURCE', width: 80, get: (x) => resourceOf(x.record) },
];

export function formatTableHeader(): string {
  return COLUMNS.map((c) => c.title.padEnd(c.width)).join(' ').trimEnd() + '\n';
}

export function formatTableRow(row: ShowRow): string {
  return COLUMNS.map((c) => cell(c.get(row), c.width)).join(' ').trimEnd() + '\n';
}

// Characters JSON.stringify leaves raw that a terminal may act on. They only occur inside JSON
// strings, where a \uXXXX escape means the same thing, so escaping keeps the output valid JSON.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One JSON object per line: the record plus the log it belongs to. */
export function formatJsonRow(row: ShowRow): string {
  const text = JSON.stringify({ log: row.log, ...row.record });
  return text.replace(UNSAFE_IN_JSON, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '\n';
}

function where(d: { log: string; segment: string | null; line: number | null; seq: string | null }): string {
  const parts = [`log ${d.log}`];
  if (d.segment) parts.push(`segment ${d.segment}`);
  if (d.line !== null) parts.push(`line ${d.line}`);
  if (d.seq !== null) parts.push(`seq ${d.seq}`);
  return parts.join(', ');
}

export function formatVerifyReport(r: VerifyReport): string {
  const out: string[] = [];
  const records = r.logs.reduce((n, l) => n + l.records, 0);
  const checkpoints = r.logs.reduce((n, l) => n + l.checkpoints, 0);
  const mode = r.mode === 'mac' ? 'HMAC chain + signed checkpoints' : r.mode === 'signature' ? 'signed checkpoints only (no HMAC key)' : 'no keys';
  const summary = `${r.logs.length} log(s), ${records} record(s), ${checkpoints} checkpoint(s); ${mode}`;
  if (r.status === 'tampered' && r.damage) {
    out.push(`audit log TAMPERED: ${r.damage.kind} — ${where(r.damage)}`);
    out.push(`  ${safeText(r.damage.message)}`);
  } else if (r.status === 'unverifiable') {
    out.push(`audit log CANNOT BE VERIFIED: ${r.errors.map(safeText).join('; ')}`);
  } else {
    out.push(`audit log intact: ${summary}`);
  }
  if (r.status !== 'intact') out.push(`  ${summary}`);
  for (const l of r.logs) {
    const state = l.damage ? `TAMPERED (${l.damage.kind})` : l.status === 'unverifiable' ? `UNVERIFIABLE (${safeText(l.error ?? '')})` : 'ok';
    out.push(`  ${l.log}: ${state}, ${l.records} records, ${l.segments} segment(s), ${l.checkpoints} checkpoint(s), ${l.closed ? 'closed' : 'not closed'}, anchor ${l.anchor}`);
    if (l.damage && l.damage !== r.damage) out.push(`    ${l.damage.kind} — ${where(l.damage)}: ${safeText(l.damage.message)}`);
    for (const w of l.warnings) out.push(`    warning (${w.kind}): ${safeText(w.message)}`);
  }
  for (const w of r.warnings) out.push(`  warning (${w.kind}): ${safeText(w.message)}`);
  return out.join('\n') + '\n';
}
