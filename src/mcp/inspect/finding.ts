import { SEVERITY_RANK, type Severity } from './rules.js';

/** One inspection result, as audited and as shown in a denial or approval request. */
export interface Finding {
  rule: string;
  severity: Severity;
  title: string;
  /** Where in the definition or result, e.g. `description` or `content[0].text`. */
  where: string;
  /** Visible, bounded excerpt of the offending text. */
  excerpt: string;
}

export function atLeast(findings: readonly Finding[], min: Severity): Finding[] {
  return findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[min]);
}

export function summarize(findings: readonly Finding[], max = 3): string {
  const head = findings.slice(0, max).map((f) => `${f.rule} in ${f.where}`);
  return head.join('; ') + (findings.length > max ? `; +${findings.length - max} more` : '');
}
