/**
 * Turns arbitrary, possibly hostile input into a plain JSON value that RFC 8785 canonicalisation
 * accepts without throwing.
 *
 * Threat: every string in an audit event may come from the sandboxed agent (argv, paths, tool
 * arguments). It can be huge, contain lone surrogates (argv decoded from invalid UTF-8), or be
 * shaped to crash the writer (cycles, getters that throw, Proxies, bigint, NaN). If the writer
 * crashed, the agent could silence the audit log. Invariant: `sanitizeValue` never throws, never
 * returns a value `canonicalize` rejects, and bounds the output size; whenever it had to drop or
 * shorten anything it sets `budget.truncated`, which the writer records as `"truncated": true`.
 *
 * Pure: no I/O, no module-level mutable state.
 */

/** A JSON value that is safe to canonicalise: finite numbers, well-formed strings, no cycles. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Size limits. Characters are UTF-16 code units. */
export const LIMITS = {
  /** Longest single string value (paths, argv items, detail strings). */
  string: 4096,
  /** Short identifier-like fields: session, kind, decision, rule, policy hash. */
  short: 256,
  /** Object keys. */
  key: 256,
  /** Array items kept (argv entries, detail arrays). */
  items: 256,
  /** Object properties kept per object. */
  props: 128,
  /** Nesting depth of `detail`. */
  depth: 8,
  /** JSON nodes per record (objects, arrays, scalars). */
  nodes: 2048,
  /** Total string characters per record. */
  chars: 65536,
} as const;

/** Appended to a shortened string so a reader sees that the value is incomplete. */
export const TRUNCATION_MARK = '…[truncated]';

/** Per-record allowance; one is created for each record so limits apply to the record as a whole. */
export class Budget {
  nodes: number = LIMITS.nodes;
  chars: number = LIMITS.chars;
  truncated = false;
  /** An object key looked like an array index; JSON.stringify would not keep sorted order (canonical.ts). */
  indexKeys = false;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]{0,9})$/;

/**
 * Builds an object from [key, value] members: sorted by UTF-16 code units (RFC 8785 order) and
 * inserted in that order; a later duplicate key (possible after truncation) wins. "__proto__" is
 * defined as an own property rather than assigned, so hostile keys cannot change the prototype.
 */
function sortedObject(members: Array<[string, JsonValue]>, budget: Budget): JsonObject {
  members.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: JsonObject = {};
  for (const [k, v] of members) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
    if (!budget.indexKeys && INDEX_KEY.test(k) && Number(k) < 4294967295) budget.indexKeys = true;
  }
  return out;
}

const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// ES2024 String.prototype.isWellFormed (native in Node 20); the regex is the fallback.
const nativeIsWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/** Replaces lone surrogates with U+FFFD (what a UTF-8 decoder does with invalid bytes). */
export function wellFormed(s: string): string {
  const ok = nativeIsWellFormed ? nativeIsWellFormed.call(s) : !ANY_SURROGATE.test(s);
  return ok ? s : s.replace(LONE_SURROGATE, '\uFFFD');
}

/** A well-formed string of at most `max` code units (plus the mark), charged to the budget. */
export function sanitizeString(input: string, budget: Budget, max: number = LIMITS.string): string {
  const allowed = Math.max(0, Math.min(max, budget.chars));
  let s = input;
  if (s.length > allowed) {
    let cut = allowed;
    // Never split a surrogate pair: a dangling high surrogate would become U+FFFD noise.
    const last = s.charCodeAt(cut - 1);
    if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1;
    s = s.slice(0, cut) + TRUNCATION_MARK;
    budget.truncated = true;
  }
  budget.chars -= s.length;
  return wellFormed(s);
}

/** Numbers that JSON cannot carry exactly become strings: NaN, ±Infinity, integers beyond 2^53. */
export function sanitizeNumber(n: number): number | string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n).toString();
  return n === 0 ? 0 : n; // -0 → 0
}

/** Any value → JSON value, or `undefined` for "omit" (undefined, functions, symbols). */
export function sanitizeValue(v: unknown, budget: Budget, depth = 0, seen: Set<object> = new Set()): JsonValue | undefined {
  switch (typeof v) {
    case 'string':
      budget.nodes--;
      return sanitizeString(v, budget);
    case 'number':
      budget.nodes--;
      return sanitizeNumber(v);
    case 'bigint':
      budget.nodes--;
      return v.toString();
    case 'boolean':
      budget.nodes--;
      return v;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (v === null) {
    budget.nodes--;
    return null;
  }
  return sanitizeObject(v as object, budget, depth, seen);
}

function sanitizeObject(v: object, budget: Budget, depth: number, seen: Set<object>): JsonValue {
  if (budget.nodes <= 0 || depth >= LIMITS.depth) {
    budget.truncated = true;
    return TRUNCATION_MARK;
  }
  if (seen.has(v)) {
    budget.truncated = true;
    return '[circular]';
  }
  budget.nodes--;
  seen.add(v);
  try {
    if (Array.isArray(v)) return sanitizeArray(v, budget, depth, seen);
    if (v instanceof Date) {
      const t = v.getTime();
      return Number.isFinite(t) ? v.toISOString() : 'Invalid Date';
    }
    if (ArrayBuffer.isView(v)) {
      const bytes = Buffer.from(v.buffer, v.byteOffset, Math.min(v.byteLength, 3 * 1024));
      if (bytes.length < v.byteLength) budget.truncated = true;
      return sanitizeString('base64:' + bytes.toString('base64'), budget);
    }
    if (v instanceof Map) {
      const members: Array<[string, JsonValue]> = [];
      let n = 0;
      for (const [k, val] of v) {
        if (n++ >= LIMITS.props) {
          budget.truncated = true;
          break;
        }
        const s = sanitizeValue(val, budget, depth + 1, seen);
        if (s !== undefined) members.push([sanitizeString(String(k), budget, LIMITS.key), s]);
      }
      return sortedObject(members, budget);
    }
    if (v instanceof Set) return sanitizeArray([...v], budget, depth, seen);
    if (v instanceof Error) {
      return { message: sanitizeString(String(v.message), budget), name: sanitizeString(String(v.name), budget, LIMITS.short) };
    }
    const members: Array<[string, JsonValue]> = [];
    const keys = Object.keys(v);
    if (keys.length > LIMITS.props) budget.truncated = true;
    for (let i = 0; i < keys.length && i < LIMITS.props; i++) {
      const k = keys[i] as string;
      let val: unknown;
      try {
        val = (v as Record<string, unknown>)[k];
      } catch {
        val = '[unreadable]';
        budget.truncated = true;
      }
      const s = sanitizeValue(val, budget, depth + 1, seen);
      if (s !== undefined) members.push([sanitizeString(k, budget, LIMITS.key), s]);
    }
    return sortedObject(members, budget);
  } catch {
    // Proxies can throw from ownKeys/getPrototypeOf; the event still gets recorded.
    budget.truncated = true;
    return '[unreadable]';
  } finally {
    seen.delete(v);
  }
}

function sanitizeArray(v: readonly unknown[], budget: Budget, depth: number, seen: Set<object>): JsonValue[] {
  const n = Math.min(v.length, LIMITS.items);
  if (v.length > n) budget.truncated = true;
  const out: JsonValue[] = new Array<JsonValue>(n);
  for (let i = 0; i < n; i++) {
    let item: unknown;
    try {
      item = v[i];
    } catch {
      item = '[unreadable]';
    }
    const s = sanitizeValue(item, budget, depth + 1, seen);
    out[i] = s === undefined ? null : s;
  }
  return out;
}

/** A required short string field: coerces anything to a bounded, well-formed string. */
export function shortField(v: unknown, budget: Budget, fallback: string, max: number = LIMITS.short): string {
  if (typeof v === 'string') return v.length === 0 ? fallback : sanitizeString(v, budget, max);
  if (v === undefined || v === null) return fallback;
  let s: string;
  try {
    s = String(v);
  } catch {
    s = fallback;
  }
  budget.truncated = true; // not the type the caller promised: mark it
  return sanitizeString(s, budget, max);
}

/** An optional string field; `undefined` when absent. */
export function optionalString(v: unknown, budget: Budget, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  return shortField(v, budget, '', max);
}
