import { z } from 'zod';
import { policySchema } from './schema.js';

/** The policy's JSON Schema (draft 2020-12), derived from the zod schema; input shape (defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...s, title: 'Warden policy (version 1)' };
}
