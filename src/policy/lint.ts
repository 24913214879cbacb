import { selfAndAncestors } from './paths.js';
import type { CompiledPolicy, PolicyLayer } from './compile.js';
import type { Diagnostic } from './diagnostics.js';
import { STRICTNESS, type ExecRule, type FileRule, type McpRule, type NetRule, type Rule } from './rules.js';

/**
 * Policy lint: warnings for rules that cannot do what their author meant — rules another rule
 * always overrides, rules that can never match, and paths that do not exist. Only the user's own
 * rules are linted (built-in profiles name paths that exist on some systems and not others).
 * `exists` is injected so this stays pure.
 */

type Warn = (r: Rule, message: string, hint?: string) => Diagnostic;

function warner(layers: PolicyLayer[]): Warn {
  return (r, message, hint) => {
    const layer = layers[r.src.layer]!;
    const { line, col } = layer.locate(r.src.path);
    return { severity: 'warning', file: layer.file, line, col, message: `${r.id}: ${message}`, ...(hint ? { hint } : {}) };
  };
}

/** Does deny rule `d` cover every path that file rule `r` can match? */
function fileCovers(d: FileRule, r: FileRule): boolean {
  if (!r.literal) {
    // A glob rule is covered when its literal directory prefix is.
    return r.globs.every((g) => selfAndAncestors(g.prefix.replace(/\/$/, '') || '/').some((a) => d.globs.some((dg) => dg.test(a))));
  }
  return r.patterns.every((p) => selfAndAncestors(p).some((a) => d.globs.some((g) => g.test(a))));
}

/** Does exec rule `d` match every argv that `r` matches? (Conservative: literal prefixes only.) */
function execCovers(d: ExecRule, r: ExecRule): boolean {
  if (d.programIsPath || r.programIsPath) return false;
  if (!(r.program.literal ? d.program.test(r.program.prefix) : d.program.source === r.program.source)) return false;
  if (d.args.length > r.args.length) return false;
  return d.args.every((g, i) => {
    const rg = r.args[i];
    if (g === null) return false;
    if (rg === null || rg === undefined) return false;
    return rg.literal ? g.test(rg.prefix) : g.source === rg.source;
  });
}

function netCovers(d: NetRule, r: NetRule): boolean {
  if (d.pattern.port !== undefined && d.pattern.port !== r.pattern.port) return false;
  if (!d.pattern.wildcard) return !r.pattern.wildcard && d.pattern.host === r.pattern.host;
  return r.pattern.host.endsWith(`.${d.pattern.host}`);
}

function mcpCovers(d: McpRule, r: McpRule): boolean {
  if (d.server && !(r.server && (r.server.literal ? d.server.test(r.server.prefix) : d.server.source === r.server.source))) return false;
  return r.tool.literal ? d.tool.test(r.tool.prefix) : d.tool.source === r.tool.source;
}

function covers(d: Rule, r: Rule): boolean {
  if (d.kind !== r.kind) return false;
  switch (d.kind) {
    case 'file':
      return fileCovers(d, r as FileRule);
    case 'exec':
      return execCovers(d, r as ExecRule);
    case 'net':
      return netCovers(d, r as NetRule);
    case 'mcp':
      return mcpCovers(d, r as McpRule);
  }
}

function sameMatch(a: Rule, b: Rule): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'file':
      return (b as FileRule).patterns[0] === a.patterns[0] && (a.zone === 'read') === ((b as FileRule).zone === 'read');
    case 'exec': {
      const e = b as ExecRule;
      return e.program.source === a.program.source && e.args.length === a.args.length && e.args.every((g, i) => (g?.source ?? '**') === (a.args[i]?.source ?? '**'));
    }
    case 'net':
      return (b as NetRule).pattern.host === a.pattern.host && (b as NetRule).pattern.wildcard === a.pattern.wildcard && (b as NetRule).pattern.port === a.pattern.port;
    case 'mcp':
      return (b as McpRule).tool.source === a.tool.source && (b as McpRule).server?.source === a.server?.source;
  }
}

export function lintPolicy(p: CompiledPolicy, layers: PolicyLayer[], exists: (path: string) => boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = warner(layers);
  const rules = p.rules;
  const denies = rules.filter((r) => r.decision === 'deny');
  for (const r of rules) {
    if (r.builtin) continue;
    // Shadowed: a deny overrides it everywhere it could match.
    if (r.decision !== 'deny') {
      const d = denies.find((x) => x !== r && covers(x, r));
      if (d) {
        out.push(warn(r, `never takes effect: ${d.id} (${d.text}) denies everything it matches`, 'remove the rule or narrow the deny'));
        continue;
      }
    }
    // Shadowed: an identical match ranks above it (stricter, or equally strict and earlier).
    const twin = rules.find((x) => x !== r && sameMatch(x, r) && ranksAbove(x, r));
    if (twin) {
      out.push(warn(r, `shadowed by ${twin.id} (${twin.text}), which matches the same thing and wins`, 'remove one of the two rules'));
      continue;
    }
    // A read rule inside a write rule adds nothing.
    if (r.kind === 'file' && r.zone === 'read' && r.literal) {
      const w = rules.find((x) => x.kind === 'file' && x.zone === 'write' && x !== r && (x as FileRule).literal && selfAndAncestors(r.patterns[0]!).includes((x as FileRule).patterns[0]!));
      if (w) out.push(warn(r, `redundant: ${w.id} already grants read and write here`, 'remove the read rule'));
    }
    // Can never match.
    if (r.kind === 'exec') {
      if (r.programIsPath && !r.program.source.startsWith('/')) out.push(warn(r, 'a relative program path never matches: programs are matched by name or by absolute path', 'write the bare name, e.g. "make"'));
      else if (/\s/.test(r.program.source)) out.push(warn(r, `program name "${r.program.source}" contains whitespace and never matches`, 'split it: ["git", "push"]'));
    }
    // Paths that do not exist.
    if (r.kind === 'file' && r.literal && r.zone !== 'deny' && r.zone !== 'private' && !exists(r.patterns[0]!)) {
      out.push(warn(r, `path ${r.patterns[0]} does not exist`, 'check the spelling, or create it before running'));
    }
  }
  for (const g of p.envPass) {
    const file = layers[layers.length - 1]?.file ?? 'policy';
    if (g.source.includes('=')) out.push({ severity: 'warning', file, line: 1, col: 1, message: `env.pass "${g.source}" contains "=" and never matches a variable name` });
  }
  return out;
}

/** For two rules with the same match (hence the same specificity): does `x` win over `r`? */
function ranksAbove(x: Rule, r: Rule): boolean {
  if (x.decision !== r.decision) return STRICTNESS[x.decision] > STRICTNESS[r.decision];
  return x.order < r.order;
}
