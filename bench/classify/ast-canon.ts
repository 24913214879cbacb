import type { Part, ParsedScript } from '../../src/classify/ast.js';

/**
 * A parsed script as a string to compare two parsers by: adjacent literal parts merged (the one
 * way the fast parser and mvdan/sh may legitimately differ), everything else — positions too, which
 * the analyser quotes statements by — kept.
 */
export function canonAst(s: ParsedScript): string {
  const merge = (parts: Part[]): Part[] => {
    const out: Part[] = [];
    for (const p of parts) {
      const last = out[out.length - 1];
      if (p.t === 'lit' && last && last.t === 'lit') out[out.length - 1] = { t: 'lit', v: last.v + p.v };
      else out.push(p.t === 'dq' ? { ...p, parts: merge(p.parts) } : p);
    }
    return out;
  };
  return JSON.stringify(s, (k, v: unknown) => (k === 'parts' && Array.isArray(v) ? merge(v as Part[]) : v));
}
