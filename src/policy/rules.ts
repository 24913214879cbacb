import type { Glob } from './glob.js';
import type { HostPattern } from './net.js';
import type { Decision } from './schema.js';

/**
 * Compiled rules: the data the evaluator ranks. Every rule carries a stable id (shown in decisions
 * and audit records), its decision, a specificity (higher = more specific) and its order in the
 * effective policy (profile rules first), which together make ranking total and deterministic.
 */

export type EventKind = 'file' | 'exec' | 'net' | 'mcp';

interface RuleBase {
  id: string;
  decision: Decision;
  specificity: number;
  order: number;
  /** What the rule says, for reasons: e.g. `deny ~/.ssh`. */
  text: string;
  message?: string;
  steer?: string;
  /** Where the rule is written: index of its layer and its path in that document (located lazily). */
  src: { layer: number; path: PropertyKey[] };
  /** True for rules that come from a built-in profile rather than the user's file. */
  builtin: boolean;
}

export type FileZone = 'read' | 'write' | 'deny' | 'ask' | 'private';

export interface FileRule extends RuleBase {
  kind: 'file';
  zone: FileZone;
  /** Expanded, normalised patterns (the written one, plus its symlink-resolved form if different). */
  patterns: string[];
  globs: Glob[];
  literal: boolean;
}

export interface ExecRule extends RuleBase {
  kind: 'exec';
  /** Glob on the program's basename (or on its full path when the pattern contains "/"). */
  program: Glob;
  programIsPath: boolean;
  /** Argument globs; `null` stands for `**`, any number of arguments. */
  args: Array<Glob | null>;
}

export interface NetRule extends RuleBase {
  kind: 'net';
  pattern: HostPattern;
}

export interface McpRule extends RuleBase {
  kind: 'mcp';
  tool: Glob;
  server: Glob | undefined;
}

export type Rule = FileRule | ExecRule | NetRule | McpRule;

/** Strictness ranking used to break specificity ties: the stricter decision wins. */
export const STRICTNESS: Record<Decision, number> = { deny: 4, steer: 3, approve: 2, warn: 1, allow: 0 };
