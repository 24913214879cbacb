/**
 * Text primitives for inspection: invisible characters, confusable skeletons of names, bounded
 * walks over JSON values, and safe excerpts for audit records. Pure.
 */

/**
 * Characters that render as nothing (or reorder what is shown) and so let a definition or result say
 * one thing to the model and another to the person reviewing it: zero-width and joiner characters,
 * word joiner and invisible operators, the BOM, Unicode tag characters (which spell ASCII invisibly),
 * bidi embedding/override/isolate controls, and a few lookalike fillers.
 */
export const INVISIBLE_RE = /[\u200B-\u200F\u2060-\u2064\uFEFF\u202A-\u202E\u2066-\u2069\u00AD\u180E\u061C\u{E0000}-\u{E007F}]/gu;
const TAG_RE = /[\u{E0000}-\u{E007F}]/gu;
/** Non-global twin for tests: a global regex's `lastIndex` is shared state. */
const INVISIBLE_ONE = new RegExp(INVISIBLE_RE.source, 'u');

export interface InvisibleScan {
  count: number;
  /** Code points found, as U+XXXX, deduplicated, at most 8. */
  kinds: string[];
  /** ASCII hidden in Unicode tag characters, if any ("ASCII smuggling"). */
  smuggled: string;
}

export function scanInvisible(s: string): InvisibleScan | undefined {
  if (!INVISIBLE_ONE.test(s)) return undefined;
  const kinds = new Set<string>();
  let count = 0;
  for (const m of s.matchAll(INVISIBLE_RE)) {
    count++;
    if (kinds.size < 8) kinds.add(`U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
  }
  let smuggled = '';
  for (const m of s.matchAll(TAG_RE)) {
    const cp = (m[0].codePointAt(0) ?? 0) - 0xe0000;
    if (cp >= 0x20 && cp < 0x7f && smuggled.length < 200) smuggled += String.fromCharCode(cp);
  }
  return { count, kinds: [...kinds], smuggled };
}

export function stripInvisible(s: string): string {
  return s.replace(INVISIBLE_RE, '');
}

/** Latin lookalikes of common Cyrillic and Greek letters, for name-collision skeletons. */
const CONFUSABLES: Record<string, string> = {
  а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', һ: 'h', ӏ: 'l',
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', τ: 't', ι: 'i', κ: 'k', χ: 'x', υ: 'u', ε: 'e',
  '0': 'o', '1': 'l', '|': 'l',
};

/**
 * A name's skeleton: NFKC, invisible characters removed, lower case, lookalikes folded, separators
 * dropped. Two different names with the same skeleton are confusable (`read_fiIe` vs `read_file`).
 */
export function skeleton(name: string): string {
  let s = stripInvisible(name.normalize('NFKC')).toLowerCase();
  s = [...s].map((c) => CONFUSABLES[c] ?? c).join('');
  s = s.replace(/i/g, 'l');
  return s.replace(/[\s_\-.:/]+/g, '');
}

/** A short, single-line, visible rendering of attacker text for audit records and messages. */
export function excerpt(s: string, max = 160): string {
  const vis = s.replace(INVISIBLE_RE, (c) => `<U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}>`).replace(/[\r\n\t]+/g, ' ');
  return vis.length > max ? `${vis.slice(0, max)}…` : vis;
}

export interface StringSite {
  /** JSON-path-like location, e.g. `inputSchema.properties.path.description`. */
  where: string;
  text: string;
  /** True when `text` is an object key (a property name), not a value. */
  isKey: boolean;
}

export const MAX_WALK_DEPTH = 64;
export const MAX_WALK_STRINGS = 100_000;

/**
 * Every string in a JSON value (keys included, when asked), depth-first, bounded in depth and count
 * so a hostile, deeply nested value cannot exhaust the stack. `truncated` reports a hit bound: callers
 * treat an unwalkable value as a finding, never as clean.
 */
export function walkStrings(value: unknown, root: string, opts: { keys: boolean; skipKeys?: ReadonlySet<string> }): { sites: StringSite[]; truncated: boolean } {
  const sites: StringSite[] = [];
  let truncated = false;
  const stack: Array<{ v: unknown; where: string; depth: number }> = [{ v: value, where: root, depth: 0 }];
  while (stack.length) {
    const { v, where, depth } = stack.pop()!;
    if (sites.length >= MAX_WALK_STRINGS) {
      truncated = true;
      break;
    }
    if (typeof v === 'string') {
      sites.push({ where, text: v, isKey: false });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_WALK_DEPTH) {
      truncated = true;
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], where: `${where}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i]!;
      if (opts.skipKeys?.has(k)) continue;
      const w = where ? `${where}.${k}` : k;
      if (opts.keys) sites.push({ where: `${w}(key)`, text: k, isKey: true });
      stack.push({ v: child, where: w, depth: depth + 1 });
    }
  }
  return { sites, truncated };
}
