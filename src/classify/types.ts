/** Public types of the pre-execution classifier. */

export type VerdictKind = 'allow' | 'warn' | 'review' | 'block';
export type Risk = 'none' | 'low' | 'medium' | 'high' | 'critical';

/** What a command would do. Classification is by effect, never by program name alone. */
export type EffectKind =
  | 'read-secret'
  | 'write-persistence'
  | 'network-egress'
  | 'network-upload'
  | 'exfiltration'
  | 'download'
  | 'download-exec'
  | 'destroy'
  | 'disk-write'
  | 'history-rewrite'
  | 'privilege-escalation'
  | 'security-tampering'
  | 'reverse-shell'
  | 'bind-shell'
  | 'shell-escape'
  | 'resource-abuse'
  | 'recon'
  | 'code-injection'
  | 'obfuscated-exec'
  | 'exec-untrusted'
  | 'system-modify'
  | 'tunnel'
  | 'listener'
  | 'permissions'
  | 'unparseable'
  | 'dynamic';

export interface Effect {
  kind: EffectKind;
  risk: Risk;
  /** One human-readable sentence: what and why. */
  reason: string;
  suggestion?: string;
  /** Earlier session steps this effect completes a chain with. */
  chain?: ChainLink[];
}

export interface ChainLink {
  /** 1-based index of the command in the session (the line number for `warden check --stdin`). */
  step: number;
  command: string;
  role: string;
}

export interface Verdict {
  verdict: VerdictKind;
  risk: Risk;
  reasons: string[];
  suggestion?: string;
  /** Distinct effect kinds found, most severe first. */
  effects: EffectKind[];
  /** Present when this command completes a multi-step risk chain. */
  chain?: ChainLink[];
}

export interface ClassifierOptions {
  /** The agent's workspace (its project directory). Relative paths resolve against it. */
  workspace?: string;
  /** The agent user's home directory (`~`). */
  home?: string;
  /** Hosts the policy allows for egress: uploads to these are not flagged. `*.example.com` allowed. */
  allowedHosts?: readonly string[];
  /** Known environment values (`PATH`, `USER`, ...). Unlisted variables are treated as unknown. */
  env?: Readonly<Record<string, string>>;
  /** Branches whose history must not be rewritten. Default: main, master, trunk, develop, production, release/*. */
  protectedBranches?: readonly string[];
}

export const RISK_ORDER: Record<Risk, number> = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function maxRisk(a: Risk, b: Risk): Risk {
  return RISK_ORDER[a] >= RISK_ORDER[b] ? a : b;
}

/** The mapping from risk to verdict. `warn` means: run it, but tell the person. */
export function verdictFor(risk: Risk): VerdictKind {
  switch (risk) {
    case 'none':
      return 'allow';
    case 'low':
      return 'warn';
    case 'medium':
    case 'high':
      return 'review';
    case 'critical':
      return 'block';
  }
}
