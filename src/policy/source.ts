import { Document, isMap, isNode, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { policySchema, type PolicyDocument } from './schema.js';
import type { Diagnostic } from './diagnostics.js';

/**
 * Pure parsing of policy text into a validated document, with every error located at
 * `file:line:col`. No file I/O here: the loader reads the bytes.
 *
 * Hostile-input bounds: size is capped before parsing; alias expansion is capped (YAML "billion
 * laughs"); nesting depth is capped; invalid UTF-8 is rejected (the policy would otherwise mean
 * something other than what an editor shows).
 */

export const MAX_POLICY_BYTES = 1 << 20;
const MAX_DEPTH = 64;
const MAX_ALIASES = 50;

export type Locator = (path: ReadonlyArray<PropertyKey>) => { line: number; col: number };
export type ParseResult = { ok: true; policy: PolicyDocument; locate: Locator } | { ok: false; errors: Diagnostic[] };
interface IssueLike {
  code: string;
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      col = 1;
    } else if ((bytes[i]! & 0xc0) !== 0x80) col++;
  }
  return { line, col };
}

/** Offset of the first byte that starts an invalid UTF-8 sequence, or -1 (RFC 3629 rules). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

function depthOf(node: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[node, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (isMap(n)) for (const p of n.items) stack.push([p.value, d + 1]);
    else if (isSeq(n)) for (const it of n.items) stack.push([it, d + 1]);
  }
  return max;
}

function zodPathToNode(doc: Document, path: ReadonlyArray<PropertyKey>): { node: Node | undefined; key: boolean } {
  // Walk as deep as the document allows; report the deepest node that exists.
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isNode(p.key) && String((p.key as { value?: unknown }).value) === String(seg));
      if (!pair) return { node: node as Node, key: false };
      if (i === path.length - 1 && pair.value == null) return { node: pair.key as Node, key: true };
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) return { node: node as Node, key: false };
      node = item;
    } else break;
  }
  return { node: isNode(node) ? (node as Node) : undefined, key: false };
}

function unknownKeyNode(doc: Document, path: ReadonlyArray<PropertyKey>, key: string): Node | undefined {
  const parent = zodPathToNode(doc, path).node;
  if (!isMap(parent)) return parent;
  const pair = parent.items.find((p) => isNode(p.key) && String((p.key as { value?: unknown }).value) === key);
  return (pair?.key as Node | undefined) ?? parent;
}

function hintFor(issue: IssueLike, keys?: string[]): string | undefined {
  const at = issue.path.join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return `remove ${keys?.map((k) => `"${k}"`).join(', ')} or check its spelling against schema/policy.schema.json`;
    case 'invalid_type':
      return `check the type of "${at || 'the document'}"`;
    case 'invalid_value':
    case 'invalid_enum_value':
      return `use one of the listed values for "${at}"`;
    default:
      return undefined;
  }
}

export function parsePolicyText(bytes: Uint8Array, file: string): ParseResult {
  const errAt = (line: number, col: number, message: string, hint?: string): Diagnostic => ({ severity: 'error', file, line, col, message, ...(hint ? { hint } : {}) });
  if (bytes.length > MAX_POLICY_BYTES) {
    return { ok: false, errors: [errAt(1, 1, `policy is ${bytes.length} bytes, more than the ${MAX_POLICY_BYTES}-byte limit`, 'split it or remove generated content')] };
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const { line, col } = lineColOfByte(bytes, bad);
    return { ok: false, errors: [errAt(line, col, 'invalid UTF-8', 're-save the file as UTF-8')] };
  }
  const text = new TextDecoder().decode(bytes);
  if (text.includes('\0')) {
    const { line, col } = lineColOfByte(bytes, bytes.indexOf(0));
    return { ok: false, errors: [errAt(line, col, 'NUL byte in policy', 'remove the NUL byte')] };
  }
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2' });
  } catch (e) {
    return { ok: false, errors: [errAt(1, 1, `YAML parser failed: ${(e as Error).message}`, 'simplify the document')] };
  }
  const pos = (offset: number | undefined): { line: number; col: number } => (offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset));
  const errors: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const { line, col } = pos(e.pos[0]);
    const msg = e.code === 'DUPLICATE_KEY' ? 'duplicate key' : e.message.split('\n')[0]!;
    errors.push(errAt(line, col, msg, e.code === 'DUPLICATE_KEY' ? 'keep one of the duplicated keys' : undefined));
  }
  if (errors.length) return { ok: false, errors };
  if (depthOf(doc.contents, MAX_DEPTH) > MAX_DEPTH) {
    return { ok: false, errors: [errAt(1, 1, `nesting deeper than ${MAX_DEPTH} levels`, 'flatten the document')] };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    return { ok: false, errors: [errAt(1, 1, /alias/i.test(msg) ? `too many alias expansions (${msg})` : msg, 'avoid YAML aliases in policies')] };
  }
  if (value === null || value === undefined) {
    return { ok: false, errors: [errAt(1, 1, 'empty policy', 'start with "version: 1"')] };
  }
  const parsed = policySchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : undefined;
      if (keys) {
        for (const k of keys) {
          const node = unknownKeyNode(doc, issue.path, k);
          const { line, col } = pos(node?.range?.[0]);
          const at = [...issue.path, k].join('.');
          errors.push(errAt(line, col, `unknown key "${at}"`, hintFor(issue, [k])));
        }
        continue;
      }
      const { node } = zodPathToNode(doc, issue.path);
      const { line, col } = pos(node?.range?.[0]);
      const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
      errors.push(errAt(line, col, `${at}${issue.message}`, hintFor(issue)));
    }
    return { ok: false, errors };
  }
  const locate: Locator = (path) => pos(zodPathToNode(doc, path).node?.range?.[0]);
  return { ok: true, policy: parsed.data, locate };
}

