import { normalizeHost, parentDomains } from './net.js';
import { normalizeAbsolute, selfAndAncestors } from './paths.js';
import { STRICTNESS, type ExecRule, type FileRule, type McpRule, type NetRule, type Rule } from './rules.js';
import type { CompiledPolicy } from './compile.js';
import type { ExecEvent, FileEvent, McpEvent, NetEvent, PolicyEvent } from './event.js';
import type { Decision } from './schema.js';

/**
 * The decision engine: a pure, total function from (compiled policy, event) to a decision.
 *
 * Combining rule — the same for every event kind:
 *   1. Collect every rule that matches the event.
 *   2. Deny overrides: if any matching rule says `deny`, the most specific such rule decides.
 *   3. Otherwise the most specific matching rule decides.
 *   4. Ties in specificity go to the stricter decision (deny > steer > approve > warn > allow), then
 *      to the rule that comes first in the effective policy (profile rules before the file's own).
 *   5. A file write decided by a write or private rule, inside a more specific read rule, is denied:
 *      a read-only island (what the kernel floor does with a read grant inside a write grant).
 *   6. No matching rule: the kind's default — file: deny, net: deny, mcp: `mcp.default`
 *      (deny unless set), exec: allow (the kernel's execute floor from `filesystem` still bounds
 *      what can run at all).
 *
 * Specificity: paths — literal characters of the pattern; commands — number of fixed argv
 * elements, then literal characters; hosts — exact name over wildcard, more labels, a port;
 * MCP — a server constraint, then literal characters of the tool glob.
 */

export interface DecisionResult {
  decision: Decision;
  /** Id of the rule that decided, or `default.<kind>`. */
  rule: string;
  /** One line a person can read: which rule, and what it matched. */
  reason: string;
  /** The rule's message for the agent. */
  message?: string;
  /** A safer alternative (steer rules). */
  suggestion?: string;
}

export interface Explanation {
  result: DecisionResult;
  /** Every matching rule, best first, with the combining step that ranked it. */
  candidates: Array<{ rule: string; decision: Decision; specificity: number; text: string }>;
  combining: string;
}

export const COMBINING_RULE = 'deny overrides; otherwise the most specific match; ties go to the stricter decision, then the earlier rule; no match: the default for the kind';

function rank(a: Rule, b: Rule): number {
  const ad = a.decision === 'deny' ? 1 : 0;
  const bd = b.decision === 'deny' ? 1 : 0;
  if (ad !== bd) return bd - ad;
  if (a.specificity !== b.specificity) return b.specificity - a.specificity;
  if (a.decision !== b.decision) return STRICTNESS[b.decision] - STRICTNESS[a.decision];
  return a.order - b.order;
}

function best(cands: Rule[]): Rule | undefined {
  let top: Rule | undefined;
  for (const r of cands) if (!top || rank(r, top) < 0) top = r;
  return top;
}

// ---- matching, per kind ----------------------------------------------------------------------

function fileCandidates(p: CompiledPolicy, ev: FileEvent): FileRule[] {
  const path = normalizeAbsolute(ev.path);
  const chain = selfAndAncestors(path);
  const out: FileRule[] = [];
  const relevant = (r: FileRule): boolean => r.zone !== 'read' || ev.access !== 'write';
  for (const a of chain) {
    const hit = p.fileLiteral.get(a);
    if (hit) for (const r of hit) if (relevant(r) && !out.includes(r)) out.push(r);
  }
  for (const r of p.fileGlob) {
    if (!relevant(r)) continue;
    if (r.globs.some((g) => chain.some((a) => g.test(a)))) out.push(r);
  }
  return out;
}

function basename(s: string): string {
  const i = s.lastIndexOf('/');
  return i >= 0 ? s.slice(i + 1) : s;
}

/**
 * Prefix match of argument globs against argv[1..], where `null` (`**`) matches any run of
 * arguments. Classic single-backtrack wildcard matching: O(patterns × args), no recursion, so a
 * 2 MB argument list cannot blow the stack or the clock.
 */
export function matchArgs(pats: ReadonlyArray<{ test(s: string): boolean } | null>, args: ReadonlyArray<string>): boolean {
  let pi = 0;
  let ai = 0;
  let starP = -1;
  let starA = 0;
  while (pi < pats.length) {
    const pat = pats[pi];
    if (pat === null) {
      starP = pi++;
      starA = ai;
      continue;
    }
    if (pat !== undefined && ai < args.length && pat.test(args[ai] as string)) {
      pi++;
      ai++;
      continue;
    }
    if (starP >= 0 && starA < args.length) {
      pi = starP + 1;
      ai = ++starA;
      continue;
    }
    return false;
  }
  return true;
}

function execCandidates(p: CompiledPolicy, ev: ExecEvent): ExecRule[] {
  const full = ev.path ?? ev.argv[0] ?? '';
  const name = basename(full);
  const args = ev.argv.slice(1);
  const out: ExecRule[] = [];
  for (const r of p.execByName.get(name) ?? []) if (matchArgs(r.args, args)) out.push(r);
  for (const r of p.execOther) {
    const progOk = r.programIsPath ? r.program.test(full) : r.program.test(name);
    if (progOk && matchArgs(r.args, args)) out.push(r);
  }
  return out;
}

function netCandidates(p: CompiledPolicy, ev: NetEvent): NetRule[] {
  const host = normalizeHost(ev.host);
  const portOk = (r: NetRule): boolean => r.pattern.port === undefined || r.pattern.port === ev.port;
  const out: NetRule[] = [];
  for (const r of p.netExact.get(host) ?? []) if (portOk(r)) out.push(r);
  // Wildcards apply to names only: `*.0.0.1` must never match the address 127.0.0.1.
  if (!/^[0-9.]+$/.test(host) && !host.includes(':')) {
    for (const d of parentDomains(host)) for (const r of p.netWildcard.get(d) ?? []) if (portOk(r)) out.push(r);
  }
  return out;
}

function mcpCandidates(p: CompiledPolicy, ev: McpEvent): McpRule[] {
  return p.mcpRules.filter((r) => r.tool.test(ev.tool) && (!r.server || (ev.server !== undefined && r.server.test(ev.server))));
}

function candidatesFor(p: CompiledPolicy, ev: PolicyEvent): Rule[] {
  switch (ev.kind) {
    case 'file':
      return fileCandidates(p, ev);
    case 'exec':
      return execCandidates(p, ev);
    case 'net':
      return netCandidates(p, ev);
    case 'mcp':
      return mcpCandidates(p, ev);
  }
}

function describe(ev: PolicyEvent): string {
  switch (ev.kind) {
    case 'file':
      return `${ev.access} ${ev.path}`;
    case 'exec':
      return `exec ${JSON.stringify(ev.argv.slice(0, 8))}${ev.argv.length > 8 ? '…' : ''}`;
    case 'net':
      return `connect ${ev.host}:${ev.port}`;
    case 'mcp':
      return `tool ${ev.server ? `${ev.server}/` : ''}${ev.tool}`;
  }
}

function defaultFor(p: CompiledPolicy, ev: PolicyEvent): DecisionResult {
  const what = describe(ev).slice(0, 300);
  switch (ev.kind) {
    case 'file': {
      const readOnly = ev.access === 'write' && fileCandidates(p, { ...ev, access: 'read' }).some((r) => r.zone === 'read');
      return readOnly
        ? { decision: 'deny', rule: 'default.file', reason: `${what}: the path is read-only (only a read rule covers it)` }
        : { decision: 'deny', rule: 'default.file', reason: `${what}: no filesystem rule grants it (default deny)` };
    }
    case 'exec':
      return { decision: 'allow', rule: 'default.exec', reason: `${what}: no command rule matches (default allow within the execute floor)` };
    case 'net':
      return { decision: 'deny', rule: 'default.net', reason: `${what}: no network rule allows it (default deny)` };
    case 'mcp':
      return { decision: p.mcpDefault, rule: 'mcp.default', reason: `${what}: no tool rule matches (mcp.default: ${p.mcpDefault})` };
  }
}

function resultOf(rule: Rule, ev: PolicyEvent): DecisionResult {
  const r: DecisionResult = { decision: rule.decision, rule: rule.id, reason: `${describe(ev).slice(0, 300)}: matched ${rule.id} (${rule.text})` };
  if (rule.message !== undefined) r.message = rule.message;
  if (rule.steer !== undefined) r.suggestion = rule.steer;
  return r;
}

/**
 * A write that a write or private rule allows, inside a read rule more specific than that rule: a read-only island
 * (the sandbox binds it read-only on top of the write grant, e.g. a repository's .git/config in
 * the workspace), so a write there is denied — as the kernel floor does. A read rule of the same
 * specificity does not make one (the planner lets the write grant of the same path win).
 */
function islandDenial(p: CompiledPolicy, ev: PolicyEvent, winner: Rule): DecisionResult | undefined {
  // Only over a write grant, as the planner binds it (an ask zone is masked at the floor: a read
  // grant inside one is no island, and the write half of an open there is still asked).
  if (ev.kind !== 'file' || ev.access !== 'write' || winner.kind !== 'file' || (winner.zone !== 'write' && winner.zone !== 'private')) return undefined;
  const island = best(fileCandidates(p, { ...ev, access: 'read' }).filter((r) => r.zone === 'read' && r.specificity > winner.specificity));
  if (!island) return undefined;
  return { decision: 'deny', rule: island.id, reason: `${describe(ev).slice(0, 300)}: read-only: ${island.id} (${island.text}) lies inside ${winner.id} (${winner.text})` };
}

function decisionOf(p: CompiledPolicy, ev: PolicyEvent, winner: Rule | undefined): DecisionResult {
  return winner ? (islandDenial(p, ev, winner) ?? resultOf(winner, ev)) : defaultFor(p, ev);
}

/** The decision for one event. Pure and deterministic; never throws for a schema-valid event. */
export function evaluate(p: CompiledPolicy, ev: PolicyEvent): DecisionResult {
  return decisionOf(p, ev, best(candidatesFor(p, ev)));
}

/** The same decision as `evaluate`, with every candidate rule in rank order. */
export function explain(p: CompiledPolicy, ev: PolicyEvent): Explanation {
  const cands = candidatesFor(p, ev).sort(rank);
  const top = cands[0];
  return {
    result: decisionOf(p, ev, top),
    candidates: cands.map((r) => ({ rule: r.id, decision: r.decision, specificity: r.specificity, text: r.text })),
    combining: COMBINING_RULE,
  };
}

/**
 * Fail-closed entry point for enforcement code: any unexpected failure is a deny, never an allow.
 */
export function decide(p: CompiledPolicy, ev: PolicyEvent): DecisionResult {
  try {
    return evaluate(p, ev);
  } catch (e) {
    return { decision: 'deny', rule: 'internal.error', reason: `evaluation failed (${(e as Error).message}); denied` };
  }
}
