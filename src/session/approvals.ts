import type { ApprovalAnswer } from '../approvals/broker.js';
import type { AuditEventInput } from '../audit/record.js';
import type { CompiledPolicy } from '../policy/compile.js';

/**
 * Approvals for one session: a broker bound to the policy's timeout, reachable from another
 * terminal through `warden approvals` (the per-session socket in Warden's run directory, which the
 * sandbox cannot reach). Started only when the policy can ask for approval at all, so sessions
 * that never ask pay nothing. Every request, answer and timeout is audited with who answered.
 */
export interface SessionApprovals {
  /** For the egress proxy: host:port held until a human decides; timeout or no answer → deny. */
  approveConnection(req: { host: string; port: number; rule: string; reason: string; signal: AbortSignal }): Promise<'allow' | 'deny'>;
  close(): Promise<void>;
}

export async function startApprovals(o: {
  policy: CompiledPolicy;
  session: string;
  runDir: string;
  audit: (ev: AuditEventInput) => void;
}): Promise<SessionApprovals | undefined> {
  if (!o.policy.rules.some((r) => r.decision === 'approve')) return undefined;
  // Loaded only when needed: the socket protocol's validator is not start-up weight for the rest.
  const [{ ApprovalBroker }, { ApprovalsServer }] = await Promise.all([import('../approvals/broker.js'), import('../approvals/server.js')]);
  const broker = new ApprovalBroker({
    timeoutMs: o.policy.approvalTimeoutSec * 1000,
    onEvent: (e) =>
      o.audit({
        session: o.session,
        kind: `approval.${e.type}`,
        resource: e.pending.summary,
        rule: e.pending.rule,
        ...(e.answer ? { decision: e.answer.decision } : { decision: 'approve' }),
        detail: { id: e.pending.id, binding: e.pending.binding, ...(e.answer ? { by: e.answer.by, scope: e.answer.scope } : {}) },
      }),
  });
  const server = new ApprovalsServer({ broker, session: o.session, runDir: o.runDir });
  await server.start();
  return {
    async approveConnection(req) {
      const pending = broker.request({ kind: 'net', summary: `connect ${req.host}:${req.port} (${req.reason})`, operation: { host: req.host, port: req.port }, rule: req.rule });
      const answer: ApprovalAnswer = await pending;
      return req.signal.aborted ? 'deny' : answer.decision;
    },
    async close() {
      broker.close();
      await server.close();
    },
  };
}
