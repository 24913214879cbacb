import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import type { ToolAssessment } from './assess.js';
import { checkConditions, type ConditionEnv } from './conditions.js';
import type { McpExt } from './policy-ext.js';
import type { TaintMark } from './taint.js';

/**
 * The decision for one `tools/call`, before anything is forwarded. Pure: the caller supplies the
 * tool's assessment (from the latest tools/list), the session's taint and the I/O-backed
 * condition environment.
 *
 * Order, each step able only to make the outcome stricter:
 *   1. unknown tool (not in the server's own listing) → deny: a tool the server hides from
 *      tools/list is never callable;
 *   2. withheld (pin mismatch, unpinned under `block`, inspection finding, invalid) → deny;
 *   3. the policy's tool rules (deny-overrides, src/policy/evaluate.ts) → deny | approve | allow;
 *   4. the deciding rule's argument conditions → deny on the first that fails;
 *   5. approval reasons accumulate: the rule said approve, a URL host is under `network.approve`,
 *      inspection said approve, or the session is tainted and this tool is a sink.
 * Any exception is a deny (fail closed).
 */

export type CallVerdict =
  | { decision: 'allow'; rule: string; reason: string }
  | { decision: 'deny'; rule: string; reason: string; message?: string | undefined }
  | { decision: 'approve'; rule: string; reason: string; approvals: string[]; message?: string | undefined };

export interface CallContext {
  policy: CompiledPolicy;
  ext: McpExt;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  assessment: ToolAssessment | undefined;
  taint: TaintMark | undefined;
  env: ConditionEnv;
  /** The policy's decision for {mcp, tool, server}, when the caller memoised it (it depends on nothing else). */
  decided?: DecisionResult | undefined;
}

export function decideCall(c: CallContext): CallVerdict {
  try {
    const what = `tool ${c.server}/${c.tool}`;
    const a = c.assessment;
    if (!a) return { decision: 'deny', rule: 'mcp.unknown-tool', reason: `${what}: not in the server's tools/list (hidden or unknown tools are never callable)` };
    if (a.withheld) return { decision: 'deny', rule: a.withheld.rule, reason: `${what}: withheld — ${a.withheld.reason}` };
    const d = c.decided ?? decide(c.policy, { kind: 'mcp', tool: c.tool, server: c.server });
    if (d.decision === 'deny' || d.decision === 'steer') return { decision: 'deny', rule: d.rule, reason: d.reason, message: d.message };
    const approvals: string[] = [];
    if (d.decision === 'approve') approvals.push(`policy rule ${d.rule} asks approval`);
    const conds = c.ext.conditions.get(d.rule);
    if (conds && conds.length) {
      const r = checkConditions(conds, c.args, c.env);
      if (!r.ok) return { decision: 'deny', rule: d.rule, reason: `${what}: condition of ${d.rule} failed: ${r.reason}`, message: d.message };
      approvals.push(...r.approvals);
    }
    if (a.approval) approvals.push(a.approval);
    if (a.labels.sink && c.taint) approvals.push(`session taint: ${c.taint.server}/${c.taint.tool} (sensitive) returned data earlier; ${c.tool} is a sink (${a.labels.why.join(', ')})`);
    if (approvals.length) {
      const rule = d.decision === 'approve' ? d.rule : c.taint && a.labels.sink ? 'mcp.taint' : a.approval ? 'mcp.inspect' : d.rule;
      return { decision: 'approve', rule, reason: `${what}: ${approvals.join('; ')}`, approvals, message: d.message };
    }
    return { decision: 'allow', rule: d.rule, reason: d.reason };
  } catch (e) {
    return { decision: 'deny', rule: 'internal.error', reason: `mediation failed (${(e as Error).message}); denied` };
  }
}
