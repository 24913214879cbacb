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

/**
 * Every invisible character INVISIBLE_RE knows is outside ASCII, and NFKC maps every ASCII string
 * to itself, so for an ASCII-only string the normalised, invisible-free form is the string itself.
 */
const NON_ASCII = /[^\x00-\x7F]/;
/**
 * Patterns whose meaning on ASCII text could depend on the `u` flag: code point escapes, property
 * classes, or a literal outside ASCII (under `iu`, e.g. U+017F matches "s").
 */
const U_FLAG_MATTERS = /\\u\{|\\[pP]\{|[^\x00-\x7F]/;

/**
 * Per result rule, non-global twins of its pattern used as a pre-check: `twin.test(s)` is true
 * exactly when `s.matchAll(rule.re)` yields a match (same source, a non-global test always starts
 * at 0), so a clean string costs one search per rule and no clone of the pattern (`matchAll` makes
 * one per call); matches are still enumerated with the rule's own pattern.
 * `ascii` drops the `u` flag, which makes V8's case-insensitive search 10-20x slower, and is used
 * only on ASCII-only strings: there every code unit is a code point, and simple case folding (u)
 * and upper-casing (non-u) agree on every ASCII character, so both flag sets match the same spans.
 * Any other pattern keeps its flags (U_FLAG_MATTERS; test/mcp/unit.test.ts checks the equivalence).
 */
export const RESULT_RULES = TEXT_RULES.filter((r) => r.targets.includes('result')).map((rule) => {
  const flags = rule.re.flags.replace('g', '');
  return { rule, twin: new RegExp(rule.re.source, flags), ascii: new RegExp(rule.re.source, U_FLAG_MATTERS.test(rule.re.source) ? flags : flags.replace('u', '')) };
});

interface Span {
  start: number;
  end: number;
  rule: string;
}

function scanString(text: string, where: string, opts: ResultScanOptions, findings: Finding[]): string {
  const redactMin = opts.redactAtLeast ? SEVERITY_RANK[opts.redactAtLeast] : Infinity;
  let work = text;
  let stripped = false;
  const ascii = !NON_ASCII.test(text);
  const inv = ascii ? undefined : scanInvisible(text);
  if (inv) {
    const severity: Severity = TAGS.test(text) ? 'high' : BIDI.test(text) ? 'medium' : 'low';
    findings.push({ rule: 'invisible-text', severity, title: `invisible characters (${inv.kinds.join(', ')})${inv.smuggled ? ' spelling hidden ASCII' : ''}`, where, excerpt: inv.smuggled ? `hidden: ${excerpt(inv.smuggled)}` : excerpt(text) });
    if (SEVERITY_RANK[severity] >= redactMin) {
      work = stripInvisible(text);
      stripped = true;
    }
  }
  // Match on the normalised, invisible-free form; redact on `work` only when positions agree.
  const norm = ascii ? text : stripInvisible(work.normalize('NFKC'));
  const spans: Span[] = [];
  for (const { rule: r, twin, ascii: asciiTwin } of RESULT_RULES) {
    if (!(ascii ? asciiTwin : twin).test(norm)) continue;
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
