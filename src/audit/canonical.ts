/**
 * RFC 8785 (JCS) encoding of sanitised values, on the writer's hot path.
 *
 * The reference implementation is the `canonicalize` package; the verifier uses it on every line,
 * so a line the writer produced is accepted only if `canonicalize(JSON.parse(line))` reproduces it
 * byte for byte. The writer avoids the package because it re-scans every string for lone
 * surrogates and tracks cycles, which `sanitizeValue` has already ruled out. Two encoders here,
 * both property-tested to equal `canonicalize` (test/audit/canonical.test.ts):
 *
 * - `encodeCanonical`: sorts keys itself; works for any sanitised value.
 * - native `JSON.stringify` on "plain" values: sanitize.ts inserts object members in sorted
 *   order, and JSON.stringify emits members in insertion order — except that ECMAScript always
 *   enumerates array-index keys ("0", "42") first, numerically. Values containing such keys are
 *   flagged by the sanitiser and take `encodeCanonical` instead.
 *
 * Everything else JSON.stringify does is what RFC 8785 specifies for these values: ECMAScript
 * number serialisation, the same string escaping, no whitespace.
 *
 * Pure: no I/O, no module-level mutable state.
 */
import type { JsonObject, JsonValue } from './sanitize.js';

/** Encodes a sanitised value. Precondition: produced by `sanitizeValue` (finite numbers, well-formed strings, acyclic). */
export function encodeCanonical(v: JsonValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += encodeCanonical(v[i] as JsonValue);
    }
    return out + ']';
  }
  const keys = Object.keys(v).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + encodeCanonical(v[k] as JsonValue);
  }
  return out + '}';
}

/**
 * A record body split around where `mac` sorts: every key of `before` is < "mac", every key of
 * `after` is > "mac". `seq` and `time` (both > "mac") live in `after` and are filled by the chain.
 * `plain`: both objects (recursively) have members in sorted insertion order and no array-index
 * keys, so JSON.stringify is canonical.
 */
export interface SplitBody {
  before: JsonObject;
  after: JsonObject;
  plain: boolean;
  /** The canonical encoding of `before`, when bodies share it (record.ts withPid). */
  beforeJson?: string;
}

/** Splits an arbitrary body; members are re-inserted sorted, nested values are not assumed plain. */
export function splitBody(body: JsonObject): SplitBody {
  const before: JsonObject = {};
  const after: JsonObject = {};
  const keys = Object.keys({ ...body, seq: '', time: '' }).sort();
  for (const k of keys) {
    if (k === 'mac') throw new TypeError('record body must not contain "mac"'); // programming error
    const target = k < 'mac' ? before : after;
    target[k] = k === 'seq' || k === 'time' ? (body[k] ?? '') : (body[k] as JsonValue);
  }
  return { before, after, plain: false };
}

/**
 * The canonical body as three pieces: `pre` (members before "mac", opening brace included),
 * `sep` ("," or ""), `post` (members after "mac", closing brace included). Then
 *   canonical(body) = pre + sep + post              (what the MAC covers)
 *   line            = pre + sep + "\"mac\":\"<hex>\"," + post
 */
export interface EncodedBody {
  pre: string;
  sep: string;
  post: string;
}

export function encodeSplit(b: SplitBody): EncodedBody {
  const a = b.beforeJson ?? (b.plain ? JSON.stringify(b.before) : encodeCanonical(b.before));
  const z = b.plain ? JSON.stringify(b.after) : encodeCanonical(b.after);
  // `after` always holds seq and time, so z has members; a may be "{}".
  return { pre: a.slice(0, -1), sep: a.length > 2 ? ',' : '', post: z.slice(1) };
}

export function canonicalBodyOf(e: EncodedBody): string {
  return e.pre + e.sep + e.post;
}

export function lineOf(e: EncodedBody, macHex: string): string {
  return e.pre + e.sep + '"mac":"' + macHex + '",' + e.post;
}
