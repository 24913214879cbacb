import { createHash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The approvals broker: holds operations that policy says a human must approve, hands them to
 * whoever can answer (the terminal, `warden approvals` from another terminal, a test), and fails
 * closed — no answer before the deadline is a deny, a broker that is closed denies everything
 * pending, and an answer is bound to the exact operation it was asked about (a hash of what will
 * run: program, argv, cwd for execs; host and port for connections; tool and arguments for MCP).
 *
 * Grants scoped to "session" let the same operation (same binding hash) through again until
 * they expire; "once" grants nothing beyond the request that was answered.
 */

export type ApprovalScope = 'once' | 'session';

export interface ApprovalRequest {
  /** What kind of operation: exec, net, file, mcp. */
  kind: string;
  /** One line a person reads to decide, e.g. `exec git push --force (cwd /w)`. */
  summary: string;
  /** The operation itself; its canonical hash binds the answer. */
  operation: Record<string, unknown>;
  /** The rule that asked for approval. */
  rule: string;
}

export interface PendingApproval extends ApprovalRequest {
  id: string;
  binding: string;
  requestedAt: number;
  deadline: number;
}

export interface ApprovalAnswer {
  decision: 'allow' | 'deny';
  /** Who answered: `terminal`, `uid:1000 pid:4242`, `timeout`, `no-approver`, `grant:<id>`, `closed`. */
  by: string;
  scope: ApprovalScope;
  id: string;
}

export interface BrokerOptions {
  timeoutMs: number;
  /** How long a session grant lasts. */
  grantTtlMs?: number;
  now?: () => number;
  /** Called for every request, answer and timeout (the caller audits). */
  onEvent?: (ev: { type: 'request' | 'answer' | 'timeout' | 'grant-hit'; pending: PendingApproval; answer?: ApprovalAnswer }) => void;
  /** Called when a request is queued, so interactive front-ends can prompt. */
  onPending?: (p: PendingApproval) => void;
  /** Cap on simultaneously pending requests; beyond it requests are denied at once. */
  maxPending?: number;
}

export function bindingHash(kind: string, operation: Record<string, unknown>): string {
  const canon = canonicalize({ kind, operation }) ?? '';
  return createHash('sha256').update(canon).digest('hex');
}

interface Waiter {
  pending: PendingApproval;
  resolve: (a: ApprovalAnswer) => void;
  timer: NodeJS.Timeout;
}

export class ApprovalBroker {
  private readonly waiting = new Map<string, Waiter>();
  private readonly grants = new Map<string, { expires: number; id: string }>();
  private readonly prefix = randomBytes(3).toString('hex');
  private counter = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: BrokerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Asks for approval. Always resolves (never rejects): allow only on an explicit human yes. */
  request(req: ApprovalRequest): Promise<ApprovalAnswer> {
    const binding = bindingHash(req.kind, req.operation);
    const t = this.now();
    const id = `${this.prefix}-${++this.counter}`;
    const pending: PendingApproval = { ...req, id, binding, requestedAt: t, deadline: t + this.opts.timeoutMs };
    const grant = this.grants.get(binding);
    if (grant && grant.expires > t) {
      const answer: ApprovalAnswer = { decision: 'allow', by: `grant:${grant.id}`, scope: 'session', id };
      this.opts.onEvent?.({ type: 'grant-hit', pending, answer });
      return Promise.resolve(answer);
    }
    if (grant) this.grants.delete(binding);
    if (this.closed || this.waiting.size >= (this.opts.maxPending ?? 64)) {
      const answer: ApprovalAnswer = { decision: 'deny', by: this.closed ? 'closed' : 'too-many-pending', scope: 'once', id };
      this.opts.onEvent?.({ type: 'answer', pending, answer });
      return Promise.resolve(answer);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id, { decision: 'deny', by: 'timeout', scope: 'once', id }, 'timeout'), this.opts.timeoutMs);
      this.waiting.set(id, { pending, resolve, timer });
      this.opts.onEvent?.({ type: 'request', pending });
      this.opts.onPending?.(pending);
    });
  }

  list(): PendingApproval[] {
    return [...this.waiting.values()].map((w) => w.pending);
  }

  /**
   * A human's answer. `binding`, when given, must match the pending operation's hash, so an
   * answer cannot be replayed onto a different operation that reused an id.
   */
  answer(id: string, decision: 'allow' | 'deny', by: string, scope: ApprovalScope = 'once', binding?: string): { ok: true } | { ok: false; error: string } {
    const w = this.waiting.get(id);
    if (!w) return { ok: false, error: `no pending approval ${id}` };
    if (binding !== undefined && binding !== w.pending.binding) return { ok: false, error: `approval ${id} is for a different operation` };
    if (decision === 'allow' && scope === 'session') {
      this.grants.set(w.pending.binding, { expires: this.now() + (this.opts.grantTtlMs ?? 8 * 3600_000), id });
    }
    this.finish(id, { decision, by, scope, id }, 'answer');
    return { ok: true };
  }

  /** Denies everything pending and everything asked from now on. */
  close(): void {
    this.closed = true;
    for (const id of [...this.waiting.keys()]) this.finish(id, { decision: 'deny', by: 'closed', scope: 'once', id }, 'answer');
  }

  private finish(id: string, answer: ApprovalAnswer, type: 'answer' | 'timeout'): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    this.opts.onEvent?.({ type, pending: w.pending, answer });
    w.resolve(answer);
  }
}
