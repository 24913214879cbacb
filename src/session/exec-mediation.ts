import type { AuditEventInput } from '../audit/record.js';
import { createCommandContext } from '../mediate/command-decision.js';
import { ExecMediator, type ExecApprovalRequest } from '../mediate/exec-mediator.js';
import { FileMediator, procUmask, type FileApprovalRequest } from '../mediate/file-mediator.js';
import { immutablePaths } from '../mediate/immutable.js';
import { traceeFs } from '../mediate/tracee-fs.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { SandboxHandle } from '../sandbox/launch.js';
import type { Plan } from '../sandbox/plan.js';

/**
 * Wires one session's live mediation: the helper's channel, the policy's command rules and
 * classifier (one session, so risk chains span the whole run), the plan's read-only mounts (what
 * makes a verdict cacheable), the plan's "ask" zones (file opens, sharing the channel), audit and
 * approvals. Loaded on demand (it brings the classifier).
 */
export function startExecMediation(o: {
  policy: CompiledPolicy;
  plan: Plan;
  handle: SandboxHandle;
  session: string;
  audit: (ev: AuditEventInput) => void;
  /** A replayed exec's record (ExecMediatorOptions.auditReplay). */
  auditReplay?: (template: AuditEventInput, pid: number) => void;
  approve?: (req: ExecApprovalRequest) => Promise<'allow' | 'deny'>;
  approveOpen?: (req: FileApprovalRequest) => Promise<'allow' | 'deny'>;
  onFatal: (e: Error) => void;
}): { close(): void } | undefined {
  if (!o.handle.mediation) return undefined;
  let files: FileMediator | undefined;
  const exec = new ExecMediator({
    channel: o.handle.mediation,
    session: o.session,
    context: createCommandContext(o.policy),
    immutable: immutablePaths(o.plan.mounts),
    audit: o.audit,
    ...(o.auditReplay ? { auditReplay: o.auditReplay } : {}),
    ...(o.approve ? { approve: o.approve } : {}),
    fsFor: traceeFs,
    onFatal: o.onFatal,
    ...(o.plan.ask.length ? { onOpen: (r) => files!.handle(r) } : {}),
  });
  if (o.plan.ask.length) {
    files = new FileMediator({
      policy: o.policy,
      zones: o.plan.ask,
      session: o.session,
      audit: o.audit,
      ...(o.approveOpen ? { approve: o.approveOpen } : {}),
      fsFor: traceeFs,
      umaskOf: procUmask,
      send: (frame) => exec.send(frame),
    });
  }
  return {
    close() {
      exec.close();
      files?.close();
    },
  };
}
