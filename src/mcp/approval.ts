/**
 * Asking a human. Fail closed: no approver → deny; timeout → deny; the approver throwing or
 * answering anything but 'allow' → deny; the client cancelling the call → deny (and the call is
 * never forwarded).
 */

export interface ApprovalRequest {
  kind: 'mcp.call';
  server: string;
  tool: string;
  /** Canonical JSON of the arguments, truncated for display. */
  argumentsPreview: string;
  /** sha256 of the full canonical arguments: an answer is bound to exactly these. */
  argumentsSha256?: string;
  rule: string;
  reasons: string[];
}

export type Approver = (req: ApprovalRequest, signal: AbortSignal) => Promise<'allow' | 'deny'>;

export interface ApprovalOutcome {
  decision: 'allow' | 'deny';
  why: 'approved' | 'denied' | 'no-approver' | 'timeout' | 'cancelled' | 'error';
}

export async function askApproval(approve: Approver | undefined, req: ApprovalRequest, timeoutMs: number, cancel?: AbortSignal): Promise<ApprovalOutcome> {
  if (!approve) return { decision: 'deny', why: 'no-approver' };
  if (cancel?.aborted) return { decision: 'deny', why: 'cancelled' };
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onCancel = (): void => ctl.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    const timeout = new Promise<ApprovalOutcome>((resolve) => {
      timer = setTimeout(() => {
        ctl.abort();
        resolve({ decision: 'deny', why: 'timeout' });
      }, timeoutMs);
    });
    const cancelled = new Promise<ApprovalOutcome>((resolve) => ctl.signal.addEventListener('abort', () => resolve({ decision: 'deny', why: cancel?.aborted ? 'cancelled' : 'timeout' }), { once: true }));
    const answer = approve(req, ctl.signal).then(
      (a): ApprovalOutcome => (a === 'allow' ? { decision: 'allow', why: 'approved' } : { decision: 'deny', why: 'denied' }),
      (): ApprovalOutcome => ({ decision: 'deny', why: 'error' }),
    );
    return await Promise.race([answer, timeout, cancelled]);
  } finally {
    if (timer) clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}
