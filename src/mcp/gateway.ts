import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import { askApproval, type Approver } from './approval.js';
import { assessTool, type ToolAssessment } from './assess.js';
import type { ConditionEnv } from './conditions.js';
import { resolveSymlinks } from './fs-resolve.js';
import { atLeast, summarize } from './inspect/finding.js';
import { inspectInstructions } from './inspect/definitions.js';
import { scanResult } from './inspect/results.js';
import type { HostCheck } from './inspect/urls.js';
import { classify, errorResponse, ErrorCode, GatewayError, resultResponse, withId, type Classified, type JSONRPCMessage, type RequestId } from './jsonrpc.js';
import { compileLabels, type CompiledLabels, type Labels } from './labels.js';
import type { LockfileData, PinnedTool, ServerPins } from './lockfile.js';
import { decideCall } from './mediate.js';
import { PendingTable } from './pending.js';
import { canonicalSha, pinOf } from './pin.js';
import { defaultExt, type McpExt } from './policy-ext.js';
import { TokenBucket } from './ratelimit.js';
import type { FlowControl, InvalidMessage } from './stream-transport.js';
import type { TaintStore } from './taint.js';

/**
 * One gateway session: a faithful JSON-RPC proxy between one MCP client and one upstream server,
 * with `tools/list` responses and `tools/call` requests mediated.
 *
 * Invariants:
 * - complete mediation of tool calls: a `tools/call` is forwarded only after `decideCall` said
 *   allow (or a human approved); every other path (deny, error, cancellation, upstream gone) answers
 *   the client locally and the upstream never sees the request;
 * - ids are remapped in both directions (PendingTable): the upstream only ever sees gateway ids, a
 *   response is delivered only for a request that was really forwarded and is still pending, and
 *   nothing from the upstream can answer a request the gateway denied;
 * - everything not mediated (resources, prompts, completion, logging, sampling, elicitation, roots,
 *   tasks, progress, cancellation, ping, notifications) is forwarded as received, only ids mapped;
 *   request methods MCP does not define are refused unless `unknownMethods: allow`;
 * - bounded: messages (transport), pending requests per direction, tasks remembered, upstream
 *   notification rate; when the client stops reading, the gateway stops reading too (backpressure)
 *   rather than queueing;
 * - no hang: when the upstream dies every pending request gets an error; malformed or oversized
 *   messages that carry a recoverable id get an error for that id;
 * - fail closed: an exception while mediating a call is a deny, never a forward.
 */

export interface AuditRecord {
  kind: string;
  resource?: string;
  decision?: string;
  rule?: string;
  detail?: Record<string, unknown>;
}
/** Records one event. Throws when it cannot (the gateway then denies the call the record was for). */
export type AuditSink = (rec: AuditRecord) => void;

/** The lockfile operations the gateway needs (LockfileStore implements them). */
export interface PinStore {
  snapshot(): LockfileData;
  server(key: string): ServerPins | undefined;
  updateServer(key: string, identity: ServerPins['identity'], mutate: (tools: Record<string, PinnedTool>) => void): ServerPins;
}

type GatewayTransport = Transport & Partial<FlowControl> & { oninvalid?: ((info: InvalidMessage) => void) | undefined };

export interface GatewayOptions {
  policy: CompiledPolicy;
  ext?: McpExt;
  /** The name policy rules' `server:` globs match: configured by the user, never self-reported. */
  serverName: string;
  /** Lockfile key (serverKeyOf(command | url)). */
  serverKey: string;
  pins: PinStore;
  audit: AuditSink;
  approve?: Approver;
  taint: TaintStore;
  /** Working directory and home used for path conditions (the upstream's cwd). */
  cwd: string;
  home: string;
  resolvePath?: (abs: string) => string;
  /** Tool names of other upstreams served in this process (shadowing checks), beyond the lockfile's. */
  peers?: () => ReadonlyMap<string, readonly string[]>;
  /** Timeout for the gateway's own tools/list when it must learn definitions before a call. */
  listTimeoutMs?: number;
}

export type SessionEnd = { reason: 'client-closed' | 'upstream-closed' | 'closed' };

const CLIENT_METHODS = new Set([
  'initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe',
  'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel', 'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel',
]);
const SERVER_METHODS = new Set(['ping', 'sampling/createMessage', 'elicitation/create', 'roots/list', 'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel']);
/** Notifications never rate-limited: dropping them would desynchronise state. */
const ESSENTIAL_NOTIFICATIONS = new Set(['notifications/cancelled', 'notifications/tools/list_changed', 'notifications/tasks/status']);
const MAX_LIST_PAGES = 64;
const MAX_TASKS = 1024;
const MAX_TOOL_DECISIONS = 4096;

type UpInfo =
  | { kind: 'forward'; method: string; progressKey?: string | undefined; call?: CallInfo | undefined; firstPage?: boolean; taskId?: string | undefined }
  | { kind: 'internal'; resolve: (m: Classified) => void; reject: (e: Error) => void };
type CallInfo = { tool: string; labels: Labels };
type DownInfo = { method: string };

function keyOf(id: RequestId | unknown): string {
  return typeof id === 'number' ? `n${id}` : `s${String(id)}`;
}

export class GatewaySession {
  private readonly ext: McpExt;
  private readonly labels: CompiledLabels;
  private readonly up: PendingTable<UpInfo>;
  private readonly down: PendingTable<DownInfo>;
  /** Client calls being decided (awaiting a tools/list refresh or an approval). */
  private readonly deciding = new Map<string, AbortController>();
  private readonly progress = new Map<string, RequestId>();
  private readonly tasks = new Map<string, CallInfo>();
  private tools = new Map<string, ToolAssessment>();
  private toolsFresh = false;
  private refreshing: Promise<void> | undefined;
  private serverInfo: { name: string; version?: string } | undefined;
  private upstreamClosed = false;
  private ended = false;
  private readonly bucket: TokenBucket;
  private dropped = 0;
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly congested = { client: false, upstream: false };
  private endResolve!: (e: SessionEnd) => void;
  readonly done: Promise<SessionEnd>;
  private readonly env: ConditionEnv;
  private readonly hostAllowed: HostCheck;
  /** Memo of the policy's decision per tool name (the policy and server name never change in a session). */
  private readonly decisions = new Map<string, DecisionResult>();

  constructor(
    private readonly opts: GatewayOptions,
    private readonly client: GatewayTransport,
    private readonly upstream: GatewayTransport,
  ) {
    this.ext = opts.ext ?? defaultExt();
    this.labels = compileLabels(this.ext.labels);
    this.up = new PendingTable(this.ext.limits.maxPending);
    this.down = new PendingTable(this.ext.limits.maxPending);
    this.bucket = new TokenBucket(this.ext.limits.notificationsPerSecond);
    this.done = new Promise((r) => (this.endResolve = r));
    const policy = opts.policy;
    this.hostAllowed = (host, port) => {
      const d = decide(policy, { kind: 'net', host, port }).decision;
      return d === 'allow' ? 'allow' : d === 'approve' ? 'approve' : 'deny';
    };
    this.env = { cwd: opts.cwd, home: opts.home, resolvePath: opts.resolvePath ?? ((p) => resolveSymlinks(p)), hostAllowed: this.hostAllowed };
  }

  async start(): Promise<void> {
    this.client.onmessage = (m) => this.guard('client', () => this.onClient(m));
    this.upstream.onmessage = (m) => this.guard('upstream', () => this.onUpstream(m));
    this.client.oninvalid = (i) => this.guard('client', () => this.onClientInvalid(i));
    this.upstream.oninvalid = (i) => this.guard('upstream', () => this.onUpstreamInvalid(i));
    this.client.onclose = () => void this.finish('client-closed');
    this.upstream.onclose = () => this.onUpstreamClosed();
    this.client.onerror = (e) => this.audit({ kind: 'mcp.transport.error', detail: { side: 'client', error: e.message.slice(0, 300) } });
    this.upstream.onerror = (e) => this.audit({ kind: 'mcp.transport.error', detail: { side: 'upstream', error: e.message.slice(0, 300) } });
    await this.upstream.start();
    await this.client.start();
    this.audit({ kind: 'mcp.session.start', resource: this.opts.serverName, detail: { serverKey: this.opts.serverKey } });
  }

  /** Closes both sides. */
  async close(): Promise<void> {
    await this.finish('closed');
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private audit(rec: AuditRecord): void {
    try {
      this.opts.audit(rec);
    } catch {
      /* the sink's failure is the sink's to report; mediation continues */
    }
  }

  private guard(side: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.audit({ kind: 'mcp.internal.error', detail: { side, error: (e as Error).message?.slice(0, 300) } });
    }
  }

  private sendClient(msg: JSONRPCMessage, related?: RequestId): void {
    if (this.ended) return;
    this.client.send(msg, related !== undefined ? { relatedRequestId: related } : undefined).catch((e: Error) => this.audit({ kind: 'mcp.transport.error', detail: { side: 'client', error: e.message.slice(0, 300) } }));
    this.backpressure('client');
  }

  private sendUpstream(msg: JSONRPCMessage): void {
    if (this.upstreamClosed) return;
    this.upstream.send(msg).catch((e: Error) => {
      this.audit({ kind: 'mcp.transport.error', detail: { side: 'upstream', error: e.message.slice(0, 300) } });
      // A request the transport could not deliver (or whose HTTP response failed) is answered now.
      const m = msg as { id?: RequestId; method?: string };
      const p = m.method !== undefined && m.id !== undefined ? this.up.take(m.id) : undefined;
      if (!p) return;
      if (p.info.kind === 'internal') return p.info.reject(e);
      if (p.info.progressKey) this.progress.delete(p.info.progressKey);
      if (!p.cancelled) this.sendClient(errorResponse(p.originalId, GatewayError.BadUpstreamResponse, `warden: the request could not be completed upstream (${e.message.slice(0, 200)})`));
    });
    this.backpressure('upstream');
  }

  /**
   * When a side stops reading, stop reading from whoever produces messages for it: the upstream
   * (and the client, whose requests can be answered locally) for a congested client; the client
   * for a congested upstream. Nothing queues without bound in the gateway.
   */
  private backpressure(side: 'client' | 'upstream'): void {
    const t = side === 'client' ? this.client : this.upstream;
    if (!t.congested || this.congested[side]) return;
    this.congested[side] = true;
    const producers = side === 'client' ? [this.upstream, this.client] : [this.client];
    for (const p of producers) p.pauseReading?.();
    t.ondrain = () => {
      t.ondrain = undefined;
      this.congested[side] = false;
      for (const p of producers) p.resumeReading?.();
    };
  }

  private async finish(reason: SessionEnd['reason']): Promise<void> {
    if (this.ended) return;
    for (const ctl of this.deciding.values()) ctl.abort();
    this.ended = true;
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.flushDropped();
    this.audit({ kind: 'mcp.session.end', resource: this.opts.serverName, detail: { reason } });
    await Promise.allSettled([this.upstream.close(), this.client.close()]);
    this.endResolve({ reason });
  }

  private onUpstreamClosed(): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    let failed = 0;
    for (const p of this.up.clear()) {
      if (p.info.kind === 'internal') p.info.reject(new Error('upstream server closed'));
      else if (!p.cancelled) {
        failed++;
        this.sendClient(errorResponse(p.originalId, GatewayError.UpstreamClosed, 'warden: the upstream MCP server exited before answering'));
      }
    }
    this.down.clear();
    this.audit({ kind: 'mcp.upstream.closed', resource: this.opts.serverName, detail: { pendingFailed: failed } });
    // Calls still being decided see `upstreamClosed` and answer with an error themselves.
    void this.afterFlush(() => this.finish('upstream-closed'));
  }

  /** Runs `fn` once queued writes to the client are flushed (stdio), or at once. */
  private async afterFlush(fn: () => Promise<void>): Promise<void> {
    const c = this.client as { flushAndEnd?: () => Promise<void> };
    // Let calls in `deciding` answer first (they are waiting on promises that now reject).
    await new Promise((r) => setImmediate(r));
    if (typeof c.flushAndEnd === 'function') await c.flushAndEnd();
    await fn();
  }

  // ---- from the client -------------------------------------------------------------------------

  private onClient(msg: JSONRPCMessage): void {
    const c = classify(msg);
    switch (c.kind) {
      case 'request':
        return this.clientRequest(msg, c);
      case 'notification':
        return this.clientNotification(msg, c);
      default:
        return this.clientResponse(msg, c);
    }
  }

  private clientRequest(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'request' }>): void {
    if (this.upstreamClosed) return this.sendClient(errorResponse(c.id, GatewayError.UpstreamClosed, 'warden: the upstream MCP server is not running'));
    if (this.deciding.has(keyOf(c.id)) || this.up.wireIdOf(c.id) !== undefined) {
      return this.sendClient(errorResponse(c.id, ErrorCode.InvalidRequest, 'warden: duplicate request id while the first is pending'));
    }
    if (c.method === 'tools/call') {
      void this.mediateCall(msg, c);
      return;
    }
    if (!CLIENT_METHODS.has(c.method) && this.ext.unknownMethods !== 'allow') {
      this.audit({ kind: 'mcp.method.denied', resource: c.method.slice(0, 200), decision: 'deny', rule: 'mcp.unknown-method', detail: { side: 'client' } });
      return this.sendClient(errorResponse(c.id, GatewayError.MethodDenied, `warden: method "${c.method.slice(0, 100)}" is not part of MCP and is denied (mcp.unknownMethods: deny)`));
    }
    const info: UpInfo = { kind: 'forward', method: c.method };
    if (c.method === 'tools/list') info.firstPage = typeof c.params?.['cursor'] !== 'string';
    if (c.method === 'tasks/result' && typeof c.params?.['taskId'] === 'string') info.taskId = c.params['taskId'];
    this.forward(msg, c, info);
  }

  private forward(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'request' }>, info: Extract<UpInfo, { kind: 'forward' }>): void {
    const token = (c.params?.['_meta'] as Record<string, unknown> | undefined)?.['progressToken'];
    if (token !== undefined) info.progressKey = keyOf(token);
    const wid = this.up.add(c.id, info);
    if (wid === undefined) return this.sendClient(errorResponse(c.id, GatewayError.Overloaded, `warden: too many requests in flight (limit ${this.up.max})`));
    if (info.progressKey) this.progress.set(info.progressKey, c.id);
    this.sendUpstream(withId(msg, wid));
  }

  private clientNotification(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'notification' }>): void {
    if (c.method === 'notifications/cancelled') {
      const rid = c.params?.['requestId'];
      const ctl = this.deciding.get(keyOf(rid));
      if (ctl) {
        ctl.abort();
        return;
      }
      if (typeof rid !== 'string' && typeof rid !== 'number') return;
      const wid = this.up.wireIdOf(rid);
      const p = wid !== undefined ? this.up.get(wid) : undefined;
      if (wid === undefined || !p) return; // unknown or already answered: nothing to cancel
      p.cancelled = true;
      // A cancelled request may never be answered: forget it after a grace period (bounded table).
      setTimeout(() => this.up.take(wid), 30_000).unref();
      this.sendUpstream({ ...(msg as object), params: { ...c.params, requestId: wid } } as unknown as JSONRPCMessage);
      return;
    }
    if (!this.upstreamClosed) this.sendUpstream(msg);
  }

  private clientResponse(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'result' | 'error' }>): void {
    const p = c.id !== undefined ? this.down.take(c.id) : undefined;
    if (!p) {
      this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.unknown-id', detail: { side: 'client', reason: 'response to no pending server request; dropped', id: c.id ?? null } });
      return;
    }
    this.sendUpstream(withId(msg, p.originalId));
  }

  private onClientInvalid(i: InvalidMessage): void {
    this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.malformed', detail: { side: 'client', reason: i.reason, bytes: i.bytes, id: i.id ?? null } });
    this.sendClient(errorResponse(i.id, i.code, `warden: ${i.reason}`));
  }

  // ---- tools/call mediation -------------------------------------------------------------------

  private async mediateCall(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'request' }>): Promise<void> {
    const problem = callParamsProblem(c.params);
    if (problem !== undefined) {
      this.audit({ kind: 'mcp.call', decision: 'deny', rule: 'mcp.malformed', detail: { reason: 'invalid tools/call params' } });
      return this.sendClient(errorResponse(c.id, ErrorCode.InvalidParams, `warden: invalid tools/call params (${problem})`));
    }
    const tool = c.params!['name'] as string;
    const args = (c.params!['arguments'] ?? {}) as Record<string, unknown>;
    // A call decided without waiting (the common case) cannot be cancelled or duplicated meanwhile:
    // it is registered in `deciding` (for cancellation and duplicate ids) only before an await.
    const k = keyOf(c.id);
    let ctl: AbortController | undefined;
    const pending = (): AbortController => {
      if (!ctl) this.deciding.set(k, (ctl = new AbortController()));
      return ctl;
    };
    const resource = `${this.opts.serverName}/${tool}`;
    let argsSha: string | undefined;
    try {
      argsSha = canonicalSha(args);
    } catch {
      argsSha = undefined;
    }
    const detail: Record<string, unknown> = { argKeys: Object.keys(args).slice(0, 32), argsSha256: argsSha ?? null };
    try {
      if (!this.toolsFresh || !this.tools.has(tool)) {
        try {
          pending();
          await this.refreshTools();
        } catch (e) {
          detail['refreshError'] = (e as Error).message.slice(0, 200);
        }
      }
      const assessment = this.tools.get(tool);
      const verdict = decideCall({
        decided: this.toolDecision(tool),
        policy: this.opts.policy,
        ext: this.ext,
        server: this.opts.serverName,
        tool,
        args,
        assessment,
        // Taint only matters for sinks; the (possibly file-backed) store is read only then.
        taint: assessment?.labels.sink ? this.opts.taint.tainted() : undefined,
        env: this.env,
      });
      let decision: 'allow' | 'deny' = verdict.decision === 'allow' ? 'allow' : 'deny';
      let reason = verdict.reason;
      if (verdict.decision === 'approve') {
        const canon = canonicalize(args) ?? '';
        const preview = canon.slice(0, 2000);
        const argumentsSha256 = createHash('sha256').update(canon).digest('hex');
        const out = await askApproval(this.opts.approve, { kind: 'mcp.call', server: this.opts.serverName, tool, argumentsPreview: preview, argumentsSha256, rule: verdict.rule, reasons: verdict.approvals }, this.opts.policy.approvalTimeoutSec * 1000, pending().signal);
        decision = out.decision;
        detail['approval'] = out.why;
        reason = `${verdict.reason} — approval: ${out.why}`;
      }
      // TOCTOU: a re-listing while we waited (e.g. after list_changed) may have changed the tool.
      const now = this.tools.get(tool);
      if (decision === 'allow' && now !== assessment && (!now || now.withheld || now.fingerprint?.sha256 !== assessment?.fingerprint?.sha256)) {
        decision = 'deny';
        reason = `${reason} — the tool's definition changed while the call was being decided; call again`;
      }
      if (ctl?.signal.aborted && !this.ended) {
        this.audit({ kind: 'mcp.call', resource, decision: 'deny', rule: verdict.rule, detail: { ...detail, reason: `${reason} — cancelled by the client before forwarding` } });
        return;
      }
      if (decision === 'allow' && this.upstreamClosed) {
        this.audit({ kind: 'mcp.call', resource, decision: 'deny', rule: 'mcp.upstream-closed', detail: { ...detail, reason: 'upstream closed' } });
        return this.sendClient(errorResponse(c.id, GatewayError.UpstreamClosed, 'warden: the upstream MCP server is not running'));
      }
      // Recorded (enqueued, in order) before anything is forwarded; a sink that cannot record throws,
      // and the catch below turns the call into a deny: no unaudited call reaches the server.
      this.opts.audit({ kind: 'mcp.call', resource, decision, rule: verdict.rule, detail: { ...detail, reason } });
      if (decision === 'deny') {
        const message = verdict.decision !== 'allow' ? verdict.message : undefined;
        return this.sendClient(resultResponse(c.id, deniedResult(verdict.rule, reason, message)));
      }
      this.forward(msg, c, { kind: 'forward', method: 'tools/call', call: { tool, labels: assessment!.labels } });
    } catch (e) {
      // Fail closed: never forward on an unexpected error.
      this.audit({ kind: 'mcp.call', resource, decision: 'deny', rule: 'internal.error', detail: { ...detail, error: (e as Error).message?.slice(0, 300) } });
      this.sendClient(resultResponse(c.id, deniedResult('internal.error', `mediation failed (${(e as Error).message}); denied`)));
    } finally {
      if (ctl) this.deciding.delete(k);
    }
  }

  /** The policy's tool rules for this server depend on the tool name only: decided once per name. */
  private toolDecision(tool: string): DecisionResult {
    let d = this.decisions.get(tool);
    if (!d) {
      d = decide(this.opts.policy, { kind: 'mcp', tool, server: this.opts.serverName });
      if (this.decisions.size >= MAX_TOOL_DECISIONS) this.decisions.delete(this.decisions.keys().next().value as string);
      this.decisions.set(tool, d);
    }
    return d;
  }

  // ---- tools/list -----------------------------------------------------------------------------

  /** Other servers' tool names: the lockfile's other entries plus in-process peers. */
  private others(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    const add = (tool: string, server: string): void => {
      const a = m.get(tool);
      if (!a) m.set(tool, [server]);
      else if (!a.includes(server)) a.push(server);
    };
    for (const [key, s] of Object.entries(this.opts.pins.snapshot().servers)) {
      if (key === this.opts.serverKey) continue;
      for (const t of Object.keys(s.tools)) add(t, s.identity.name || key);
    }
    for (const [t, servers] of this.opts.peers?.() ?? []) for (const s of servers) add(t, s);
    return m;
  }

  /** Assesses one page of tools (pinning new ones) and returns the list the client may see. */
  private assessPage(tools: unknown[], firstPage: boolean): unknown[] {
    const serverName = this.serverInfo?.name ?? '';
    const pins = this.opts.pins.server(this.opts.serverKey);
    const siblings = new Set(tools.map((t) => (t && typeof t === 'object' ? String((t as Record<string, unknown>)['name']) : '')));
    const definitions = { siblings, others: this.others(), hostAllowed: this.hostAllowed };
    const next = firstPage ? new Map<string, ToolAssessment>() : new Map(this.tools);
    const counts = new Map<string, number>();
    for (const t of tools) if (t && typeof t === 'object') counts.set(String((t as Record<string, unknown>)['name']), (counts.get(String((t as Record<string, unknown>)['name'])) ?? 0) + 1);
    const toPin: ToolAssessment[] = [];
    const visible: unknown[] = [];
    for (const t of tools) {
      const def = (t && typeof t === 'object' ? t : {}) as Record<string, unknown>;
      const a = assessTool(def, { serverName, pinned: pins?.tools[String(def['name'])], newServer: !pins, definitions, ext: this.ext, labels: this.labels, server: this.opts.serverName });
      if ((counts.get(a.name) ?? 0) > 1) a.withheld = { rule: 'mcp.duplicate-tool', reason: 'the server lists this name more than once (ambiguous definition)' };
      if (a.pinNow) toPin.push(a);
      const resource = `${this.opts.serverName}/${a.name}`;
      if (a.pin.status === 'changed') this.audit({ kind: 'mcp.pin', resource, decision: 'deny', rule: 'mcp.pin', detail: { action: 'changed', fields: a.pin.fields, sha256: a.fingerprint?.sha256 } });
      if (a.findings.length) this.audit({ kind: 'mcp.finding', resource, decision: a.withheld?.rule === 'mcp.inspect' ? 'deny' : a.approval ? 'approve' : 'allow', rule: 'mcp.inspect', detail: { target: 'definition', findings: a.findings.slice(0, 20) } });
      if (a.withheld) this.audit({ kind: 'mcp.tool.withheld', resource, decision: 'deny', rule: a.withheld.rule, detail: { reason: a.withheld.reason } });
      if (a.name) next.set(a.name, a);
      const hidden = a.withheld || (this.ext.hideDenied && this.toolDecision(a.name).decision === 'deny');
      if (!hidden) visible.push(t);
    }
    if (toPin.length) {
      const identity = this.serverInfo ? { name: this.serverInfo.name, ...(this.serverInfo.version !== undefined ? { version: this.serverInfo.version } : {}) } : { name: '' };
      this.opts.pins.updateServer(this.opts.serverKey, identity, (pinned) => {
        for (const a of toPin) if (a.fingerprint) pinned[a.name] = pinOf(a.fingerprint, 'first-use', new Date());
      });
      for (const a of toPin) this.audit({ kind: 'mcp.pin', resource: `${this.opts.serverName}/${a.name}`, decision: 'allow', rule: 'mcp.pin', detail: { action: 'pinned', sha256: a.fingerprint?.sha256, via: 'first-use' } });
    }
    this.tools = next;
    return visible;
  }

  private onToolsList(result: Record<string, unknown>, firstPage: boolean): Record<string, unknown> | undefined {
    const tools = result['tools'];
    if (!Array.isArray(tools)) return undefined;
    const visible = this.assessPage(tools, firstPage);
    if (firstPage && typeof result['nextCursor'] !== 'string') this.toolsFresh = true;
    this.audit({ kind: 'mcp.tools.list', resource: this.opts.serverName, detail: { listed: tools.length, visible: visible.length } });
    return { ...result, tools: visible };
  }

  /** The gateway's own full tools/list, to learn definitions before deciding a call. */
  private refreshTools(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        let cursor: string | undefined;
        for (let page = 0; page < MAX_LIST_PAGES; page++) {
          const res = await this.internalRequest('tools/list', cursor !== undefined ? { cursor } : {});
          if (res.kind !== 'result') throw new Error(`tools/list failed: ${res.kind === 'error' ? res.error.message : 'bad response'}`);
          const tools = res.result['tools'];
          if (!Array.isArray(tools)) throw new Error('tools/list result has no tools array');
          this.assessPage(tools, page === 0);
          const nc = res.result['nextCursor'];
          if (typeof nc !== 'string') {
            this.toolsFresh = true;
            return;
          }
          cursor = nc;
        }
        throw new Error(`tools/list has more than ${MAX_LIST_PAGES} pages`);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private internalRequest(method: string, params: Record<string, unknown>): Promise<Classified> {
    return new Promise((resolve, reject) => {
      if (this.upstreamClosed) return reject(new Error('upstream closed'));
      let timer: NodeJS.Timeout | undefined;
      const wid = this.up.add('(gateway)', {
        kind: 'internal',
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      if (wid === undefined) return reject(new Error('too many requests in flight'));
      timer = setTimeout(() => {
        this.up.take(wid);
        reject(new Error(`${method} timed out`));
      }, this.opts.listTimeoutMs ?? 30_000);
      timer.unref();
      this.sendUpstream({ jsonrpc: '2.0', id: wid, method, params } as JSONRPCMessage);
    });
  }

  // ---- from the upstream -----------------------------------------------------------------------

  private onUpstream(msg: JSONRPCMessage): void {
    const c = classify(msg);
    switch (c.kind) {
      case 'request':
        return this.upstreamRequest(msg, c);
      case 'notification':
        return this.upstreamNotification(msg, c);
      default:
        return this.upstreamResponse(msg, c);
    }
  }

  private upstreamRequest(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'request' }>): void {
    if (!SERVER_METHODS.has(c.method) && this.ext.unknownMethods !== 'allow') {
      this.audit({ kind: 'mcp.method.denied', resource: c.method.slice(0, 200), decision: 'deny', rule: 'mcp.unknown-method', detail: { side: 'upstream' } });
      return this.sendUpstream(errorResponse(c.id, GatewayError.MethodDenied, `warden: method "${c.method.slice(0, 100)}" is not part of MCP and is denied`));
    }
    if (c.method === 'sampling/createMessage') {
      const scan = scanResult(c.params?.['messages'], { hostAllowed: this.hostAllowed });
      if (scan.findings.length) this.audit({ kind: 'mcp.finding', resource: `${this.opts.serverName}/sampling`, decision: 'allow', rule: 'mcp.inspect', detail: { target: 'sampling', findings: scan.findings.slice(0, 20) } });
    }
    const wid = this.down.add(c.id, { method: c.method });
    if (wid === undefined) return this.sendUpstream(errorResponse(c.id, GatewayError.Overloaded, 'warden: too many server requests in flight'));
    const token = (c.params?.['_meta'] as Record<string, unknown> | undefined)?.['progressToken'];
    this.sendClient(withId(msg, wid), token !== undefined ? this.progress.get(keyOf(token)) : undefined);
  }

  private upstreamNotification(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'notification' }>): void {
    if (!ESSENTIAL_NOTIFICATIONS.has(c.method) && !this.bucket.take()) {
      this.dropped++;
      this.dropTimer ??= setTimeout(() => {
        this.dropTimer = undefined;
        this.flushDropped();
      }, 1000).unref();
      return;
    }
    switch (c.method) {
      case 'notifications/cancelled': {
        const rid = c.params?.['requestId'];
        if (typeof rid !== 'string' && typeof rid !== 'number') return;
        const wid = this.down.wireIdOf(rid);
        if (wid === undefined) return;
        this.down.take(wid);
        return this.sendClient({ ...(msg as object), params: { ...c.params, requestId: wid } } as unknown as JSONRPCMessage);
      }
      case 'notifications/tools/list_changed':
        this.toolsFresh = false;
        return this.sendClient(msg);
      case 'notifications/progress': {
        const token = c.params?.['progressToken'];
        const related = this.progress.get(keyOf(token));
        // Progress for a request the client never made (or that is finished) is dropped.
        if (related === undefined) return;
        return this.sendClient(msg, related);
      }
      default:
        return this.sendClient(msg);
    }
  }

  private flushDropped(): void {
    if (this.dropped === 0) return;
    this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.rate-limit', detail: { side: 'upstream', reason: 'notifications over the rate limit dropped', count: this.dropped } });
    this.dropped = 0;
  }

  private upstreamResponse(msg: JSONRPCMessage, c: Extract<Classified, { kind: 'result' | 'error' }>): void {
    const p = c.id !== undefined ? this.up.take(c.id) : undefined;
    if (!p) {
      this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.unknown-id', detail: { side: 'upstream', reason: 'response to no pending request; dropped', id: c.id ?? null } });
      return;
    }
    const info = p.info;
    if (info.kind === 'internal') return info.resolve(c);
    if (info.progressKey) this.progress.delete(info.progressKey);
    if (p.cancelled) return; // the client gave up on it; a late answer is not delivered
    let out: JSONRPCMessage = msg;
    const after: AuditRecord[] = [];
    if (c.kind === 'result') {
      const replaced = this.transformResult(info, c.result, after);
      if (replaced === undefined) {
        this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.malformed', detail: { side: 'upstream', reason: `invalid ${info.method} result`, id: p.originalId } });
        return this.sendClient(errorResponse(p.originalId, GatewayError.BadUpstreamResponse, `warden: the upstream server sent an invalid ${info.method} result`));
      }
      if (replaced !== c.result) out = { ...(msg as object), result: replaced } as JSONRPCMessage;
    }
    this.sendClient(withId(out, p.originalId));
    // A result's records (findings, taint, the result) are enqueued right after its delivery, off
    // the response's path: the result was inspected, redacted and the taint marked before it was
    // sent, and no other event can be recorded in between (this handler is synchronous), so the
    // log's order is the same.
    for (const rec of after) this.audit(rec);
  }

  /** Result interception. Returns the result to deliver, or undefined when it must be refused. */
  private transformResult(info: Extract<UpInfo, { kind: 'forward' }>, result: Record<string, unknown>, after: AuditRecord[]): Record<string, unknown> | undefined {
    switch (info.method) {
      case 'initialize':
        return this.onInitialize(result);
      case 'tools/list':
        return this.onToolsList(result, info.firstPage ?? true);
      case 'tools/call': {
        const task = result['task'] as Record<string, unknown> | undefined;
        if (task && typeof task['taskId'] === 'string' && result['content'] === undefined) {
          if (this.tasks.size >= MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value as string);
          this.tasks.set(task['taskId'], info.call!);
          return result;
        }
        return this.onCallResult(info.call!, result, after);
      }
      case 'tasks/result': {
        const call = info.taskId !== undefined ? this.tasks.get(info.taskId) : undefined;
        // A task result of unknown origin is still inspected, and conservatively taints.
        return this.onCallResult(call ?? { tool: '(task)', labels: { sensitive: true, sink: false, why: ['unknown task'] } }, result, after);
      }
      default:
        return result;
    }
  }

  private onInitialize(result: Record<string, unknown>): Record<string, unknown> {
    const si = result['serverInfo'] as Record<string, unknown> | undefined;
    if (si && typeof si['name'] === 'string') this.serverInfo = { name: si['name'], ...(typeof si['version'] === 'string' ? { version: si['version'] } : {}) };
    const pv = result['protocolVersion'];
    if (typeof pv === 'string') this.upstream.setProtocolVersion?.(pv);
    const pinned = this.opts.pins.server(this.opts.serverKey);
    if (pinned && this.serverInfo && pinned.identity.version !== this.serverInfo.version) {
      this.audit({ kind: 'mcp.pin', resource: this.opts.serverName, decision: 'allow', rule: 'mcp.pin', detail: { action: 'server-version-changed', from: pinned.identity.version ?? null, to: this.serverInfo.version ?? null } });
    }
    this.audit({ kind: 'mcp.initialize', resource: this.opts.serverName, detail: { serverInfo: this.serverInfo ?? null, protocolVersion: typeof pv === 'string' ? pv : null } });
    const instr = result['instructions'];
    if (typeof instr === 'string' && instr) {
      const findings = inspectInstructions(instr, { siblings: new Set(), others: this.others(), hostAllowed: this.hostAllowed });
      const actionable = atLeast(findings, this.ext.inspect.minSeverity);
      if (findings.length) this.audit({ kind: 'mcp.finding', resource: `${this.opts.serverName}/instructions`, decision: actionable.length && this.ext.inspect.onFinding !== 'allow' ? 'deny' : 'allow', rule: 'mcp.inspect', detail: { target: 'instructions', findings: findings.slice(0, 20) } });
      if (actionable.length && this.ext.inspect.onFinding !== 'allow') {
        const { instructions: _drop, ...rest } = result;
        this.audit({ kind: 'mcp.instructions.withheld', resource: this.opts.serverName, decision: 'deny', rule: 'mcp.inspect', detail: { reason: summarize(actionable) } });
        return rest;
      }
    }
    return result;
  }

  /** Inspects (and redacts) a call's result and marks the taint; its audit records go to `after`. */
  private onCallResult(call: CallInfo, result: Record<string, unknown>, after: AuditRecord[]): Record<string, unknown> {
    const resource = `${this.opts.serverName}/${call.tool}`;
    const scan = scanResult(result, { hostAllowed: this.hostAllowed, redactAtLeast: this.ext.inspect.redactResults ? this.ext.inspect.minSeverity : undefined });
    const isError = result['isError'] === true;
    if (scan.findings.length) {
      after.push({ kind: 'mcp.finding', resource, decision: scan.redactions ? 'redact' : 'allow', rule: 'mcp.inspect', detail: { target: 'result', findings: scan.findings.slice(0, 20), redactions: scan.redactions } });
    }
    if (call.labels.sensitive && !isError) {
      this.opts.taint.mark({ server: this.opts.serverName, tool: call.tool, at: new Date().toISOString() });
      after.push({ kind: 'mcp.taint', resource, detail: { reason: `sensitive tool returned data (${call.labels.why.join(', ')})` } });
    }
    after.push({ kind: 'mcp.result', resource, detail: { isError, findings: scan.findings.length, redactions: scan.redactions } });
    return scan.value as Record<string, unknown>;
  }

  private onUpstreamInvalid(i: InvalidMessage): void {
    const p = i.id !== undefined ? this.up.get(i.id) : undefined;
    this.audit({ kind: 'mcp.protocol', decision: 'deny', rule: 'mcp.malformed', detail: { side: 'upstream', reason: i.reason, bytes: i.bytes, id: i.id ?? null, answered: !!p } });
    if (!p || i.id === undefined) return;
    this.up.take(i.id);
    if (p.info.kind === 'internal') return p.info.reject(new Error(`upstream sent an invalid message: ${i.reason}`));
    if (p.info.progressKey) this.progress.delete(p.info.progressKey);
    if (p.cancelled) return;
    const code = i.code === GatewayError.MessageTooLarge ? GatewayError.MessageTooLarge : GatewayError.BadUpstreamResponse;
    this.sendClient(errorResponse(p.originalId, code, `warden: the upstream server's response was refused (${i.reason})`));
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `tools/call` params as the SDK's CallToolRequestParamsSchema defines them (name, optional
 * arguments object, optional task {ttl?: number}; `_meta` was checked with the message shape).
 * Undefined when valid, else "path: problem".
 */
export function callParamsProblem(params: Record<string, unknown> | undefined): string | undefined {
  if (!isObj(params)) return 'params: expected object';
  if (typeof params['name'] !== 'string') return 'name: expected string';
  const args = params['arguments'];
  if (args !== undefined && !isObj(args)) return 'arguments: expected object';
  const task = params['task'];
  if (task !== undefined && !(isObj(task) && (task['ttl'] === undefined || (typeof task['ttl'] === 'number' && Number.isFinite(task['ttl']))))) return 'task: expected {ttl?: number}';
  return undefined;
}

/** The MCP result a denied call gets: an error result the model can read, naming the rule. */
export function deniedResult(rule: string, reason: string, message?: string): Record<string, unknown> {
  const text = `warden: tool call denied by ${rule}: ${reason}${message ? `\n${message}` : ''}`;
  return { content: [{ type: 'text', text }], isError: true, _meta: { 'warden/decision': { decision: 'deny', rule, reason } } };
}
