import { z } from 'zod';

/**
 * Wire protocol of the approvals socket: one JSON request line, one JSON response line, close.
 * Anything that does not parse is answered with an error and changes nothing.
 */

export const MAX_LINE = 64 * 1024;

export const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('list') }),
  z.strictObject({
    op: z.literal('answer'),
    id: z.string().min(1).max(64),
    decision: z.enum(['allow', 'deny']),
    scope: z.enum(['once', 'session']).default('once'),
    binding: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
]);
export type ApprovalsRequest = z.infer<typeof requestSchema>;

export interface PendingView {
  id: string;
  session: string;
  kind: string;
  summary: string;
  rule: string;
  binding: string;
  deadline: string;
}

export type ApprovalsResponse = { ok: true; pending?: PendingView[] } | { ok: false; error: string };
