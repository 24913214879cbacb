/**
 * Typed, stable error codes. Every failure Warden shows a person is one line: what went wrong and
 * how to fix it. Callers switch on `code`, never on message text.
 */
export type WardenErrorCode =
  | 'USAGE'
  | 'POLICY_INVALID'
  | 'POLICY_UNREADABLE'
  | 'PROFILE_UNKNOWN'
  | 'EVENT_INVALID'
  | 'AUDIT_KEY_MISSING'
  | 'AUDIT_UNREADABLE'
  | 'AUDIT_WRITE_FAILED'
  | 'AUDIT_DIR_INVALID'
  | 'LAYER_UNAVAILABLE'
  | 'WORKSPACE_INVALID'
  | 'HELPER_MISSING'
  | 'HOST_PATH_UNSTABLE'
  | 'INTERNAL';

export class WardenError<C extends WardenErrorCode = WardenErrorCode> extends Error {
  readonly code: C;
  readonly hint: string | undefined;
  constructor(code: C, message: string, hint?: string) {
    super(message);
    this.name = 'WardenError';
    this.code = code;
    this.hint = hint;
  }
  /** The single line shown on stderr. Newlines in attacker-influenced text are escaped. */
  oneLine(): string {
    const text = this.hint ? `${this.message} (fix: ${this.hint})` : this.message;
    return `warden: ${text}`.replace(/[\r\n]+/g, ' ');
  }
}

export function isWardenError(e: unknown): e is WardenError {
  return e instanceof WardenError;
}
