import type { PendingApproval } from '../approvals/broker.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Approver } from './approval.js';
import type { AuditSink } from './gateway.js';
import type { McpExt } from './policy-ext.js';

/**
 * Approvals for one gateway process, answered from another terminal (`warden approvals
 * list/approve/deny`) through a socket in Warden's run directory, as `warden run` does
 * (src/session/approvals.ts). Every request, answer, timeout and grant hit is audited with who
 * answered. A call the client cancels, or that the gateway stops waiting for, is withdrawn.
 */
export interface GatewayApprovals {
  approve: Approver;
  /** The approvals socket (`warden approvals` finds it by listing the run directory). */
  socket: string;
  close(): Promise<void>;
}

/**
 * True when this policy can ever ask a human about an MCP call: an approve rule or default, flagged
 * definitions sent to approval, or session taint (sinks, by label or by the default heuristics).
 */
export function mcpCanApprove(policy: CompiledPolicy, ext: McpExt): boolean {
  return policy.mcpDefault === 'approve' || policy.mcpRules.some((r) => r.decision === 'approve') || ext.inspect.onFinding === 'approve' || ext.labels.sink.length > 0 || ext.labels.heuristics;
}

/** The socket name: unique per gateway process (several stdio gateways share one client session). */
export function approvalsSessionName(session: string, pid: number = process.pid): string {
  return `mcp-${session.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48)}-${pid}`;
}

export async function startGatewayApprovals(o: { policy: CompiledPolicy; session: string; runDir: string; audit: AuditSink }): Promise<GatewayApprovals> {
  const [{ ApprovalBroker }, { ApprovalsServer }] = await Promise.all([import('../approvals/broker.js'), import('../approvals/server.js')]);
  let queued: PendingApproval | undefined;
  const broker = new ApprovalBroker({
    timeoutMs: o.policy.approvalTimeoutSec * 1000,
    onPending: (p) => (queued = p),
    onEvent: (e) =>
      o.audit({
        kind: `approval.${e.type}`,
        resource: e.pending.summary,
        rule: e.pending.rule,
        decision: e.answer ? e.answer.decision : 'approve',
        detail: { id: e.pending.id, binding: e.pending.binding, session: o.session, ...(e.answer ? { by: e.answer.by, scope: e.answer.scope } : {}) },
      }),
  });
  const server = new ApprovalsServer({ broker, session: approvalsSessionName(o.session), runDir: o.runDir });
  const socket = await server.start();
  const approve: Approver = async (req, signal) => {
    if (signal.aborted) return 'deny';
    queued = undefined;
    const answer = broker.request({
      kind: 'mcp',
      summary: `mcp ${req.server}/${req.tool} ${req.argumentsPreview}`.slice(0, 400) + (req.reasons.length ? ` (${req.reasons.join('; ')})`.slice(0, 200) : ''),
      operation: { server: req.server, tool: req.tool, arguments: req.argumentsSha256 ?? req.argumentsPreview },
      rule: req.rule,
    });
    // request() queues synchronously (onPending fires before it returns), so this is our request.
    const mine = queued as PendingApproval | undefined;
    const withdraw = (): void => {
      if (mine) broker.answer(mine.id, 'deny', 'withdrawn');
    };
    signal.addEventListener('abort', withdraw, { once: true });
    try {
      const a = await answer;
      return signal.aborted ? 'deny' : a.decision;
    } finally {
      signal.removeEventListener('abort', withdraw);
    }
  };
  return {
    approve,
    socket,
    async close() {
      broker.close();
      await server.close();
    },
  };
}
