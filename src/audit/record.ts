/**
 * Record bodies: what each line of a log says, built from caller input.
 *
 * Every body has `type` (who wrote it: the writer's own "genesis" | "segment" | "checkpoint", or
 * "event" for caller events), `seq` (decimal string) and `time` (RFC 3339, ms, UTC). Caller input
 * only ever lands in "event" records and inside their fields, so a hostile event cannot pose as a
 * genesis or checkpoint record. All caller-provided values pass through sanitize.ts.
 *
 * Pure: no I/O.
 */
import { encodeCanonical, type SplitBody } from './canonical.js';
import { Budget, type JsonObject, type JsonValue, LIMITS, optionalString, sanitizeNumber, sanitizeString, sanitizeValue, shortField } from './sanitize.js';

/** What callers (`warden run`, the MCP gateway, …) pass for each decision or observation. */
export interface AuditEventInput {
  /** Session id (one `warden run` invocation or MCP session). */
  session: string;
  /** Event kind, e.g. "exec", "open", "connect", "dns", "mcp.tool", "approval", "layer". */
  kind: string;
  /** What was accessed: path, host:port, tool name, command line. */
  resource?: string;
  /** allow | deny | approve | warn | steer | … */
  decision?: string;
  /** The rule that made the decision. */
  rule?: string;
  /** Hash of the compiled policy; defaults to the log's genesis policy hash. */
  policyHash?: string;
  /** The process the event is about. */
  proc?: { pid: number; exe?: string; argv?: string[] };
  /** Free-form, bounded, sanitised. */
  detail?: Record<string, unknown>;
}

/** What the writer records once per log in its first record. */
export interface GenesisInfo {
  /** Hash of the policy in force when the log was opened. */
  policyHash: string;
  /** Warden's version (package.json). */
  wardenVersion: string;
  /** Enforcement layers that are active, and those that were degraded (`--allow-degraded`). */
  layers: { active: string[]; degraded: string[] };
  /** Optional: the first session that uses this log, the command, workspace, … */
  detail?: Record<string, unknown>;
}

export type SystemRecordType = 'genesis' | 'segment' | 'checkpoint';
export type RecordType = SystemRecordType | 'event';
export const RECORD_TYPES: ReadonlySet<string> = new Set<RecordType>(['genesis', 'segment', 'checkpoint', 'event']);

export const FORMAT_VERSION = 1;

/**
 * Body of an event record, split for the fast canonical encoder (canonical.ts); `seq` and `time`
 * are placeholders the chain fills in. Never throws. Members are inserted in sorted order.
 */
export function eventBody(ev: AuditEventInput, defaultPolicyHash: string): SplitBody {
  const budget = new Budget();
  let input: unknown;
  try {
    input = typeof ev === 'object' && ev !== null ? ev : {};
  } catch {
    input = {};
  }
  // Budget is consumed in order of importance: identity first, free-form detail last.
  const session = shortField(read(input, 'session'), budget, 'unknown');
  const kind = shortField(read(input, 'kind'), budget, 'unknown');
  const resource = optionalString(read(input, 'resource'), budget, LIMITS.string);
  const decision = optionalString(read(input, 'decision'), budget, LIMITS.short);
  const rule = optionalString(read(input, 'rule'), budget, LIMITS.short);
  const policy = optionalString(read(input, 'policyHash'), budget, LIMITS.short) ?? defaultPolicyHash;
  const procIn = read(input, 'proc');
  const proc = procIn !== undefined && procIn !== null ? procField(procIn, budget) : undefined;
  const detailIn = read(input, 'detail');
  const detail = detailIn !== undefined && detailIn !== null ? sanitizeValue(detailIn, budget, 1) : undefined;

  const before: JsonObject = {};
  if (decision !== undefined) before['decision'] = decision;
  if (detail !== undefined) before['detail'] = detail;
  before['kind'] = kind;
  const after: JsonObject = { policy };
  if (proc !== undefined) after['proc'] = proc;
  if (resource !== undefined) after['resource'] = resource;
  if (rule !== undefined) after['rule'] = rule;
  after['seq'] = '';
  after['session'] = session;
  after['time'] = '';
  if (budget.truncated) after['truncated'] = true;
  after['type'] = 'event';
  return { before, after, plain: !budget.indexKeys };
}

/**
 * The body of `template`'s event with proc.pid = `pid`, from `template`'s own body (eventBody of an
 * event whose proc is an object): the same bytes eventBody would give that event, since a numeric
 * pid takes nothing from the sanitiser's budget and sorts in place. For the records of replayed
 * execs, which differ only in their pid. `template`'s members are never changed; the encoding of
 * its `before` is computed once and kept on it (the returned bodies share it).
 */
export function withPid(template: SplitBody, pid: number): SplitBody | undefined {
  const proc = template.after['proc'];
  if (typeof proc !== 'object' || proc === null || Array.isArray(proc) || !('pid' in proc)) return undefined;
  template.beforeJson ??= encodeBefore(template);
  return { before: template.before, after: { ...template.after, proc: { ...proc, pid: sanitizeNumber(pid) } }, plain: template.plain, beforeJson: template.beforeJson };
}

function procField(proc: unknown, budget: Budget): JsonValue {
  if (typeof proc !== 'object' || proc === null) {
    budget.truncated = true;
    return sanitizeValue(proc, budget, 1) ?? null;
  }
  const out: JsonObject = {}; // members in sorted order: argv, exe, pid
  const pidIn = read(proc, 'pid');
  const pid = typeof pidIn === 'number' ? sanitizeNumber(pidIn) : (sanitizeValue(pidIn, budget, 2) ?? null);
  const exe = optionalString(read(proc, 'exe'), budget, LIMITS.string);
  const argv = read(proc, 'argv');
  if (Array.isArray(argv)) {
    const n = Math.min(argv.length, LIMITS.items);
    if (argv.length > n) budget.truncated = true;
    const items: JsonValue[] = [];
    for (let i = 0; i < n; i++) {
      const a: unknown = read(argv, i);
      items.push(typeof a === 'string' ? sanitizeString(a, budget) : shortField(a, budget, '', LIMITS.string));
    }
    out['argv'] = items;
  } else if (argv !== undefined && argv !== null) {
    out['argv'] = sanitizeValue(argv, budget, 2) ?? null;
    budget.truncated = true;
  }
  if (exe !== undefined) out['exe'] = exe;
  out['pid'] = pid;
  return out;
}

function encodeBefore(b: SplitBody): string {
  return b.plain ? JSON.stringify(b.before) : encodeCanonical(b.before);
}

/** Property read that survives hostile getters and Proxies. */
function read(obj: unknown, key: string | number): unknown {
  try {
    return (obj as Record<string | number, unknown>)[key];
  } catch {
    return '[unreadable]';
  }
}

export interface GenesisContext {
  logId: string;
  macKeyId: string;
  /** Base64 raw Ed25519 public key that signs this log's checkpoints. */
  signingKey: string;
  pid: number;
  nodeVersion: string;
}

export function genesisBody(info: GenesisInfo, ctx: GenesisContext): JsonObject {
  const budget = new Budget();
  const list = (v: unknown): JsonValue[] =>
    Array.isArray(v) ? v.slice(0, LIMITS.items).map((x) => shortField(x, budget, '')) : [];
  const layers = read(info, 'layers');
  const body: JsonObject = {
    type: 'genesis',
    log: ctx.logId,
    format: FORMAT_VERSION,
    policy: shortField(read(info, 'policyHash'), budget, 'unknown'),
    versions: { warden: shortField(read(info, 'wardenVersion'), budget, 'unknown'), node: ctx.nodeVersion },
    layers: { active: list(read(layers, 'active')), degraded: list(read(layers, 'degraded')) },
    keys: { mac: ctx.macKeyId, sig: ctx.signingKey },
    pid: ctx.pid,
  };
  const detail = read(info, 'detail');
  if (detail !== undefined && detail !== null) {
    const d = sanitizeValue(detail, budget, 1);
    if (d !== undefined) body['detail'] = d;
  }
  if (budget.truncated) body['truncated'] = true;
  return body;
}

/** First record of every segment after the first: names the segment and the previous record's MAC. */
export function segmentBody(segment: number, prevMacHex: string): JsonObject {
  return { type: 'segment', segment: String(segment), prev: prevMacHex };
}

export function checkpointBody(stmt: { count: string; root: string; head: string; final: boolean }, sig: string, keyId: string): JsonObject {
  return { type: 'checkpoint', count: stmt.count, root: stmt.root, head: stmt.head, final: stmt.final, key: keyId, sig };
}
