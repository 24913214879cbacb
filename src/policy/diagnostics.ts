import { WardenError } from '../errors.js';

/** One finding about a policy file, located at `file:line:col` (1-based). */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  col: number;
  message: string;
  /** One-line fix suggestion. */
  hint?: string;
}

/** `file:line:col: severity: message (fix: hint)`; newlines in user text are escaped. */
export function formatDiagnostic(d: Diagnostic): string {
  const tail = d.hint ? ` (fix: ${d.hint})` : '';
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}${tail}`.replace(/[\r\n]/g, '\\n');
}

/** Thrown when a policy cannot be loaded; carries every error found, not just the first. */
export class PolicyInvalidError extends WardenError<'POLICY_INVALID'> {
  constructor(readonly diagnostics: Diagnostic[]) {
    const first = diagnostics[0];
    super('POLICY_INVALID', first ? formatDiagnostic(first) : 'policy invalid', 'run `warden policy check FILE` to see every error');
  }
}
