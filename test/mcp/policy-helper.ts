import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import { policySchema, type PolicyInput } from '../../src/policy/schema.js';

/** A CompiledPolicy from an inline document (as test/policy/evaluate.test.ts builds them). */
export function compile(input: Omit<PolicyInput, 'version'>): CompiledPolicy {
  const doc = policySchema.parse({ version: 1, ...input });
  const r = compilePolicy([{ doc, file: 'test.yaml', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/pol' }], { home: '/home/u', workspace: '/home/u/proj' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.policy;
}
