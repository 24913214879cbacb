/**
 * The policy's `classify` section in force: how a classifier verdict becomes a decision for a
 * command no rule decided. Its own module so callers that only need the mapping (e.g. "can this
 * policy ever ask a human?") do not load the classifier.
 */
import type { VerdictKind } from '../classify/index.js';
import type { CompiledPolicy } from '../policy/compile.js';

/** The schema's defaults when the section is absent. */
export const DEFAULT_CLASSIFY: Readonly<Record<VerdictKind, 'allow' | 'warn' | 'approve' | 'deny'>> = Object.freeze({
  allow: 'allow',
  warn: 'warn',
  review: 'approve',
  block: 'deny',
});

export function classifyMapping(policy: CompiledPolicy): Readonly<Record<VerdictKind, 'allow' | 'warn' | 'approve' | 'deny'>> {
  const c = policy.classify;
  if (!c) return DEFAULT_CLASSIFY;
  return { allow: c.allow ?? 'allow', warn: c.warn ?? 'warn', review: c.review ?? 'approve', block: c.block ?? 'deny' };
}


/**
 * For execs the kernel is performing (exec mediation), absent a `classify` section: a `review`
 * verdict is flagged (warn) rather than held for a human — a build runs hundreds of execs the
 * classifier may find unusual (a binary under /tmp, a generated script), and holding each would
 * stall the tree. `block` still denies, rules still decide first, and a policy that wants kernel
 * execs held says so with `classify: {review: approve}`.
 */
export const KERNEL_DEFAULT_CLASSIFY: Readonly<Record<VerdictKind, 'allow' | 'warn' | 'approve' | 'deny'>> = Object.freeze({
  allow: 'allow',
  warn: 'warn',
  review: 'warn',
  block: 'deny',
});

export function kernelClassifyMapping(policy: CompiledPolicy): Readonly<Record<VerdictKind, 'allow' | 'warn' | 'approve' | 'deny'>> {
  return policy.classify ? classifyMapping(policy) : KERNEL_DEFAULT_CLASSIFY;
}
