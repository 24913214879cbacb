import type { Finding } from './finding.js';
import { SEVERITY_RANK, TEXT_RULES, type Severity } from './rules.js';
import { excerpt, INVISIBLE_RE, MAX_WALK_DEPTH, scanInvisible, stripInvisible } from './text.js';
import { scanUrls, type HostCheck } from './urls.js';

/**
 * Inspection of what a tool returns before the model reads it: indirect prompt injection (the
 * result addresses the model) and exfiltration URLs. Optionally redacts what it finds, in place of
 * the matched span, so the rest of the result still reaches the client. Pure.
 *
 * Binary payloads (`data`, `blob`) are not scanned as text. Zero-width joiners are common in emoji
 * sequences, so in results they are low severity; tag characters (ASCII smuggling) and bidi
 * controls are not.
 */

export interface ResultScanOptions {
  hostAllowed: HostCheck;
  /** Redact findings at or above this severity; undefined = report only. */
  redactAtLeast?: Severity | undefined;
}

export interface ResultScan {
  findings: Finding[];
  /** The result with redactions applied; the same object when nothing was redacted. */
  value: unknown;
  redactions: number;
}

const SKIP_KEYS = new Set(['data', 'blob']);
const TAGS = /[\u{E0000}-\u{E007F}]/u;
const BIDI = /[\u202A-\u202E\u2066-\u2069\u061C]/u;

interface Span {
  start: number;
  end: number;
  rule: string;
}

function scanString(text: string, where: string, opts: ResultScanOptions, findings: Finding[]): string {
  const redactMin = opts.redactAtLeast ? SEVERITY_RANK[opts.redactAtLeast] : Infinity;
  let work = text;
  let stripped = false;
  const inv = scanInvisible(text);
  if (inv) {
    const severity: Severity = TAGS.test(text) ? 'high' : BIDI.test(text) ? 'medium' : 'low';
    findings.push({ rule: 'invisible-text', severity, title: `invisible characters (${inv.kinds.join(', ')})${inv.smuggled ? ' spelling hidden ASCII' : ''}`, where, excerpt: inv.smuggled ? `hidden: ${excerpt(inv.smuggled)}` : excerpt(text) });
    if (SEVERITY_RANK[severity] >= redactMin) {
      work = stripInvisible(text);
      stripped = true;
    }
  }
  // Match on the normalised, invisible-free form; redact on `work` only when positions agree.
  const norm = stripInvisible(work.normalize('NFKC'));
  const spans: Span[] = [];
  for (const r of TEXT_RULES) {
    if (!r.targets.includes('result')) continue;
    const severity = r.resultSeverity ?? r.severity;
    for (const m of norm.matchAll(r.re)) {
      findings.push({ rule: r.id, severity, title: r.title, where, excerpt: excerpt(norm.slice(Math.max(0, m.index - 20), m.index + m[0].length + 40)) });
      if (SEVERITY_RANK[severity] >= redactMin) {
        let end = m.index + m[0].length;
        if (r.redactUntil) {
          const rest = norm.slice(end, end + 8192);
          const close = r.redactUntil.exec(rest);
          end = close ? end + close.index + close[0].length : Math.min(norm.length, end + 8192);
        }
        spans.push({ start: m.index, end, rule: r.id });
      }
      if (findings.length > 1000) break;
    }
  }
  for (const h of scanUrls(norm, opts.hostAllowed)) {
    findings.push({ rule: h.rule, severity: h.severity, title: `URL to ${h.host} (not allowed by the network policy)`, where, excerpt: excerpt(h.url) });
    if (SEVERITY_RANK[h.severity] >= redactMin) spans.push({ start: h.start, end: h.end, rule: h.rule });
  }
  if (spans.length === 0) return stripped ? work : text;
  // Spans index `norm`; redaction rewrites `norm` (the visible text, normalised): the model loses
  // nothing it could legitimately read.
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (const s of spans) {
    if (s.end <= pos) continue;
    out += norm.slice(pos, Math.max(pos, s.start)) + `[redacted by warden: ${s.rule}]`;
    pos = Math.max(pos, s.end);
  }
  return out + norm.slice(pos);
}

/** Scans (and optionally redacts) every string in a tool result. Never throws. */
export function scanResult(value: unknown, opts: ResultScanOptions): ResultScan {
  const findings: Finding[] = [];
  let redactions = 0;
  let truncated = false;
  const visit = (v: unknown, where: string, depth: number): unknown => {
    if (typeof v === 'string') {
      if (!v) return v;
      const r = scanString(v, where, opts, findings);
      if (r !== v) redactions++;
      return r;
    }
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_WALK_DEPTH) {
      truncated = true;
      return v;
    }
    if (Array.isArray(v)) {
      let changed = false;
      const arr = v.map((x, i) => {
        const y = visit(x, `${where}[${i}]`, depth + 1);
        if (y !== x) changed = true;
        return y;
      });
      return changed ? arr : v;
    }
    let changed = false;
    const obj: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const y = SKIP_KEYS.has(k) ? x : visit(x, where ? `${where}.${k}` : k, depth + 1);
      if (y !== x) changed = true;
      obj[k] = y;
    }
    return changed ? obj : v;
  };
  const out = visit(value, '', 0);
  if (truncated) findings.push({ rule: 'uninspectable', severity: 'medium', title: 'result nested too deeply to inspect fully', where: '', excerpt: '' });
  return { findings, value: out, redactions };
}

export { INVISIBLE_RE };
