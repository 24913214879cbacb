import type { ApprovalAnswer, ApprovalBroker, ApprovalRequest, PendingApproval } from '../approvals/broker.js';
import type { TerminalPrompter } from '../approvals/terminal.js';
import type { AuditEventInput } from '../audit/record.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { kernelClassifyMapping } from '../mediate/classify-map.js';

/**
 * Approvals for one session: a broker bound to the policy's timeout, reachable from another
 * terminal through `warden approvals` (the per-session socket in Warden's run directory, which the
 * sandbox cannot reach) and, when Warden runs on an interactive terminal, asked on that terminal
 * too (src/approvals/terminal.ts); the first answer wins. Every request, answer and timeout is
 * audited with who answered.
 *
 * Started lazily: the broker and its socket come up on the first request, so sessions that never
 * ask pay nothing at start-up (and `warden approvals list` has nothing to show before then). A
 * policy that can never ask (no approve rule, no classifier verdict mapped to approve) gets none.
 */
export interface SessionApprovals {
  /** For the egress proxy: host:port held until a human decides; timeout or no answer → deny. */
  approveConnection(req: { host: string; port: number; rule: string; reason: string; signal: AbortSignal }): Promise<'allow' | 'deny'>;
  /** For exec mediation: bound to program, argv and cwd. */
  approveExec(req: { program: string; argv: string[]; cwd: string | null; rule: string; reason: string }): Promise<'allow' | 'deny'>;
  /** For "ask" file zones: bound to the host path and the access asked for. */
  approveOpen(req: { path: string; access: string; rule: string; reason: string }): Promise<'allow' | 'deny'>;
  close(): Promise<void>;
}

export function canAsk(policy: CompiledPolicy): boolean {
  return policy.fs.ask.length > 0 || policy.rules.some((r) => r.decision === 'approve') || Object.values(kernelClassifyMapping(policy)).includes('approve');
}

export async function startApprovals(o: {
  policy: CompiledPolicy;
  session: string;
  runDir: string;
  audit: (ev: AuditEventInput) => void;
  /** One line for the person at Warden's terminal when something waits for them. */
  notify?: (line: string) => void;
  /**
   * Warden runs on an interactive terminal: ask there. `sandboxInit` is the host pid of the
   * sandbox's init once it exists; its tree is paused while the prompt is up.
   */
  terminal?: { sandboxInit: () => Promise<number | null> };
}): Promise<SessionApprovals | undefined> {
  if (!canAsk(o.policy)) return undefined;
  let closed = false;
  let started: Promise<{ broker: ApprovalBroker; close: () => Promise<void> }> | undefined;
  const start = () =>
    (started ??= (async () => {
      // Loaded only when needed: the socket protocol's validator is not start-up weight for the rest.
      const [{ ApprovalBroker }, { ApprovalsServer, nativePeerCred }] = await Promise.all([import('../approvals/broker.js'), import('../approvals/server.js')]);
      const notice = (p: PendingApproval, why = '') =>
        o.notify?.(`warden: approval needed [${p.id}]: ${p.summary} — run \`warden approvals approve ${p.id}\` or \`warden approvals deny ${p.id}\` (timeout ${o.policy.approvalTimeoutSec}s)${why ? ` (${why})` : ''}\n`);
      let prompter: TerminalPrompter | undefined;
      const broker = new ApprovalBroker({
        timeoutMs: o.policy.approvalTimeoutSec * 1000,
        onEvent: (e) => {
          o.audit({
            session: o.session,
            kind: `approval.${e.type}`,
            resource: e.pending.summary,
            rule: e.pending.rule,
            ...(e.answer ? { decision: e.answer.decision } : { decision: 'approve' }),
            detail: { id: e.pending.id, binding: e.pending.binding, ...(e.answer ? { by: e.answer.by, scope: e.answer.scope } : {}) },
          });
          // Settled anywhere (this terminal, another one, the timer, the end of the session).
          if (e.answer && (e.type === 'answer' || e.type === 'timeout')) prompter?.settled(e.pending.id, e.answer);
        },
        onPending: (p) => (prompter ? prompter.offer(p) : notice(p)),
      });
      if (o.terminal) prompter = await terminalPrompter(broker, o.terminal.sandboxInit, notice);
      const peerCred = nativePeerCred();
      const server = new ApprovalsServer({ broker, session: o.session, runDir: o.runDir, ...(peerCred ? { peerCred } : {}) });
      try {
        await server.start();
      } catch (e) {
        broker.close();
        await prompter?.close();
        throw e;
      }
      if (closed) broker.close();
      return {
        broker,
        async close() {
          broker.close(); // denies what is pending; the prompt shows it and restores the terminal
          await prompter?.close();
          await server.close();
        },
      };
    })());
  // No approver reachable (the socket could not be created) is a deny, never an allow.
  const ask = async (req: ApprovalRequest): Promise<'allow' | 'deny'> => {
    if (closed) return 'deny';
    try {
      const { broker } = await start();
      const answer: ApprovalAnswer = await broker.request(req);
      return answer.decision;
    } catch {
      return 'deny';
    }
  };
  return {
    async approveConnection(req) {
      const d = await ask({ kind: 'net', summary: `connect ${req.host}:${req.port} (${req.reason})`, operation: { host: req.host, port: req.port }, rule: req.rule });
      return req.signal.aborted ? 'deny' : d;
    },
    approveExec(req) {
      const shown = req.argv.slice(0, 16).map((a) => (/^[\w./=:,@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
      return ask({
        kind: 'exec',
        summary: `exec ${shown.slice(0, 300)}${req.argv.length > 16 ? ' …' : ''} (cwd ${req.cwd ?? '?'}; ${req.reason.slice(0, 200)})`,
        operation: { program: req.program, argv: req.argv, cwd: req.cwd },
        rule: req.rule,
      });
    },
    approveOpen(req) {
      return ask({
        kind: 'file',
        summary: `open ${JSON.stringify(req.path).slice(1, -1).slice(0, 300)} for ${req.access} (${req.reason.slice(0, 200)})`,
        operation: { path: req.path, access: req.access },
        rule: req.rule,
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (started) await (await started.catch(() => undefined))?.close();
    },
  };
}

/** The prompt on Warden's terminal; undefined when there is no controlling terminal after all. */
async function terminalPrompter(broker: ApprovalBroker, sandboxInit: () => Promise<number | null>, fallback: (p: PendingApproval, why: string) => void): Promise<TerminalPrompter | undefined> {
  const [{ TerminalPrompter }, { openControllingTty }, { sandboxTreePause }] = await Promise.all([
    import('../approvals/terminal.js'),
    import('../approvals/tty.js'),
    import('../approvals/tree-pause.js'),
  ]);
  const tty = openControllingTty();
  if (!tty) return undefined;
  const who = `terminal:${tty.name} uid ${process.getuid?.() ?? '?'}`;
  return new TerminalPrompter({ tty, pause: sandboxTreePause(sandboxInit), broker, who, fallback });
}
