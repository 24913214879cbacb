/**
 * What both agent adapters share: reading the hook's stdin safely, the agent-neutral description of
 * a tool call, and judging it with the compiled policy and the classifier.
 *
 * The adapters (claude-code.ts, codex.ts) only translate: agent JSON -> `ToolCall`, and
 * `HookAnswer` -> the agent's output schema. Every decision is made here, by the same
 * `decideCommand` the exec mediator uses, so the app layer and the OS layer never disagree.
 *
 * Fail closed: input that cannot be read, parsed or understood is a deny with a reason, never an
 * allow; a tool this module does not know is `ask` (a person decides), never a silent allow.
 */
import { isAbsolute, posix } from 'node:path';
import { decideCommand, type CommandContext, type CommandDecision } from '../mediate/command-decision.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import { resolvedForm } from '../policy/paths.js';
import type { Decision } from '../policy/schema.js';

/** Largest hook input read (the agents send a few KiB; a write of a big file can be larger). */
export const MAX_HOOK_INPUT_BYTES = 1 << 20;
/** The agent writes its JSON and closes stdin at once; waiting longer means something is wrong. */
export const HOOK_INPUT_TIMEOUT_MS = 10_000;
/** Reasons are shown to a model and to people: one line, bounded. */
const MAX_REASON_CHARS = 2000;

export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };

/**
 * Reads all of `stream` as UTF-8, refusing more than `maxBytes`, invalid UTF-8, or a stream that
 * neither ends nor errors within `timeoutMs`. Never throws.
 */
export async function readHookInput(stream: NodeJS.ReadableStream, opts: { maxBytes?: number; timeoutMs?: number } = {}): Promise<ReadResult> {
  const maxBytes = opts.maxBytes ?? MAX_HOOK_INPUT_BYTES;
  const timeoutMs = opts.timeoutMs ?? HOOK_INPUT_TIMEOUT_MS;
  const chunks: Buffer[] = [];
  let total = 0;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadResult>((res) => {
    timer = setTimeout(() => res({ ok: false, reason: `hook input did not end within ${timeoutMs} ms` }), timeoutMs);
  });
  const read = (async (): Promise<ReadResult> => {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        total += b.length;
        // Leaving the loop early destroys the stream: the excess is never buffered.
        if (total > maxBytes) return { ok: false, reason: `hook input is larger than ${maxBytes} bytes` };
        chunks.push(b);
      }
    } catch (e) {
      return { ok: false, reason: `hook input could not be read (${String((e as Error)?.message ?? e).slice(0, 200)})` };
    } finally {
      done = true;
    }
    try {
      return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) };
    } catch {
      return { ok: false, reason: 'hook input is not valid UTF-8' };
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    // Timed out: stop listening, so a stdin that never ends cannot keep the process alive.
    if (!done) (stream as Partial<NodeJS.ReadStream>).destroy?.();
  }
}

/** Parses the hook JSON: it must be one JSON object. */
export function parseHookJson(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `hook input is not valid JSON (${String((e as Error).message).slice(0, 120)})` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, reason: 'hook input is not a JSON object' };
  return { ok: true, value: v as Record<string, unknown> };
}

// ---- the agent-neutral tool call ----------------------------------------------------------------

export type FileAccess = 'read' | 'write';

export type ToolCall =
  | { kind: 'shell'; command: string }
  | { kind: 'argv'; argv: string[] }
  | { kind: 'file'; files: Array<{ path: string; access: FileAccess }> }
  | { kind: 'net'; url: string }
  | { kind: 'mcp'; tool: string; server?: string }
  /** A tool with no effect outside the agent itself (its to-do list, a subagent whose tools are hooked too). */
  | { kind: 'inert'; why: string }
  | { kind: 'unknown' };

export interface HookRequest {
  tool: string;
  call: ToolCall;
  /** The agent's working directory for this call (absolute). */
  cwd: string;
  sessionId?: string;
}

export type ParsedRequest = { ok: true; request: HookRequest } | { ok: false; reason: string };

/** `mcp__server__tool` -> { server, tool } (the naming both agents use for MCP tools). */
export function parseMcpName(name: string): { server?: string; tool: string } | null {
  if (!name.startsWith('mcp__')) return null;
  const rest = name.slice(5);
  const i = rest.indexOf('__');
  if (i <= 0 || i + 2 >= rest.length) return rest ? { tool: rest } : null;
  return { server: rest.slice(0, i), tool: rest.slice(i + 2) };
}

/** Common checks of the fields both agents send. */
export function baseFields(v: Record<string, unknown>, fallbackCwd: string): { ok: true; tool: string; input: unknown; cwd: string; sessionId?: string } | { ok: false; reason: string } {
  const ev = v['hook_event_name'];
  if (ev !== 'PreToolUse') {
    return { ok: false, reason: typeof ev === 'string' ? `hook event "${ev.slice(0, 60)}" is not PreToolUse (configure warden only as a PreToolUse hook)` : 'hook input has no hook_event_name' };
  }
  const tool = v['tool_name'];
  if (typeof tool !== 'string' || tool === '') return { ok: false, reason: 'hook input has no tool_name' };
  if (!('tool_input' in v)) return { ok: false, reason: `hook input for ${tool.slice(0, 80)} has no tool_input` };
  const cwdRaw = v['cwd'];
  if (cwdRaw !== undefined && (typeof cwdRaw !== 'string' || !isAbsolute(cwdRaw) || cwdRaw.includes('\0'))) {
    return { ok: false, reason: 'hook input cwd is not an absolute path' };
  }
  const sid = v['session_id'];
  return {
    ok: true,
    tool,
    input: v['tool_input'],
    cwd: posix.normalize(typeof cwdRaw === 'string' ? cwdRaw : fallbackCwd),
    ...(typeof sid === 'string' && sid !== '' ? { sessionId: sid } : {}),
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function stringField(input: unknown, ...keys: string[]): string | undefined {
  if (!isRecord(input)) return undefined;
  for (const k of keys) {
    const v = input[k];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

// ---- judging -----------------------------------------------------------------------------------

export interface HookAnswer {
  decision: 'allow' | 'ask' | 'deny';
  /** One line for the model (deny), the person (ask) or the log (allow). */
  reason: string;
  /** Set for a policy `warn`: allowed, but the model and the person should be told. */
  warning?: string;
  /** The policy decision behind the answer and the rule that made it. */
  policyDecision?: Decision | 'unknown';
  rule?: string;
}

export interface HookEnv {
  policy: CompiledPolicy;
  commands: CommandContext;
  /** Symlink resolution of an existing path (the hook may do I/O; the evaluator may not). */
  realpath?: (p: string) => string | undefined;
}

function oneLine(s: string): string {
  const t = s.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
  return t.length > MAX_REASON_CHARS ? t.slice(0, MAX_REASON_CHARS - 3) + '...' : t;
}

export function denyAnswer(reason: string): HookAnswer {
  return { decision: 'deny', reason: oneLine(`warden: denied: ${reason}`), policyDecision: 'deny', rule: 'hook.input' };
}

const STRICT: Record<Decision, number> = { deny: 4, steer: 3, approve: 2, warn: 1, allow: 0 };

/** Policy decision -> the answer every agent understands: allow/warn -> allow, approve -> ask, deny/steer -> deny. */
export function answerFor(r: DecisionResult | CommandDecision): HookAnswer {
  const msg = r.message ? `${r.message} — ` : '';
  const sug = r.suggestion ? ` Safer alternative: ${r.suggestion}` : '';
  const base = { policyDecision: r.decision, rule: r.rule } as const;
  switch (r.decision) {
    case 'allow':
      return { decision: 'allow', reason: oneLine(`warden: allowed: ${r.reason}`), ...base };
    case 'warn': {
      const w = oneLine(`warden: warning: ${msg}${r.reason}${sug}`);
      return { decision: 'allow', reason: w, warning: w, ...base };
    }
    case 'approve':
      return { decision: 'ask', reason: oneLine(`warden: needs approval: ${msg}${r.reason}${sug}`), ...base };
    case 'steer':
      return { decision: 'deny', reason: oneLine(`warden: denied (use the safer alternative): ${msg}${r.reason}${sug}`), ...base };
    case 'deny':
      return { decision: 'deny', reason: oneLine(`warden: denied: ${msg}${r.reason}${sug}`), ...base };
  }
}

function strictest(rs: DecisionResult[]): DecisionResult | undefined {
  let top: DecisionResult | undefined;
  for (const r of rs) if (!top || STRICT[r.decision] > STRICT[top.decision]) top = r;
  return top;
}

/** Absolute, normalised; relative paths resolve against the call's cwd. */
export function absolutePath(p: string, cwd: string): string {
  return posix.normalize(isAbsolute(p) ? p : posix.join(cwd, p));
}

/**
 * A file access is judged where it really leads (a link in the workspace that points into a denied
 * zone is denied). The path as written also counts when a rule names it explicitly (a deny on the
 * link itself still holds); its mere lack of a rule does not, or every symlinked project path would
 * be refused.
 */
function judgeFile(policy: CompiledPolicy, abs: string, access: FileAccess, realpath: HookEnv['realpath']): DecisionResult[] {
  const literal = decide(policy, { kind: 'file', path: abs, access });
  const real = resolvedForm(abs, realpath);
  if (real === undefined || real === abs) return [literal];
  const resolved = decide(policy, { kind: 'file', path: real, access });
  return literal.rule === 'default.file' ? [resolved] : [resolved, literal];
}

function hostPort(url: string): { host: string; port: number } | { error: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { error: `"${url.slice(0, 200)}" is not a valid URL` };
  }
  const defaults: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443, 'ftp:': 21 };
  const port = u.port !== '' ? Number(u.port) : defaults[u.protocol];
  if (port === undefined) return { error: `URL scheme ${u.protocol} is not a network fetch warden can judge` };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return { error: `URL "${url.slice(0, 200)}" has no host` };
  return { host, port };
}

/** The answer for one tool call. Never throws: an internal failure is a deny. */
export function judge(env: HookEnv, req: HookRequest): HookAnswer {
  try {
    const call = req.call;
    switch (call.kind) {
      case 'shell':
        return answerFor(decideCommand(env.commands, { kind: 'shell', command: call.command, cwd: req.cwd }));
      case 'argv':
        return answerFor(decideCommand(env.commands, { kind: 'argv', argv: call.argv, cwd: req.cwd }));
      case 'file': {
        if (call.files.length === 0) return denyAnswer(`${req.tool} names no file`);
        const results: DecisionResult[] = [];
        for (const f of call.files) {
          if (f.path === '' || f.path.includes('\0')) return denyAnswer(`${req.tool} names an invalid path`);
          results.push(...judgeFile(env.policy, absolutePath(f.path, req.cwd), f.access, env.realpath));
        }
        return answerFor(strictest(results)!);
      }
      case 'net': {
        const hp = hostPort(call.url);
        if ('error' in hp) return denyAnswer(hp.error);
        return answerFor(decide(env.policy, { kind: 'net', host: hp.host, port: hp.port }));
      }
      case 'mcp':
        return answerFor(decide(env.policy, { kind: 'mcp', tool: call.tool, ...(call.server !== undefined ? { server: call.server } : {}) }));
      case 'inert':
        return { decision: 'allow', reason: oneLine(`warden: allowed: ${req.tool} ${call.why}`), policyDecision: 'allow', rule: 'hook.inert' };
      case 'unknown':
        return {
          decision: 'ask',
          reason: oneLine(`warden: needs approval: warden does not know what the tool "${req.tool}" does, so a person decides (narrow the hook matcher to tools warden knows to skip this)`),
          policyDecision: 'unknown',
          rule: 'hook.unknown-tool',
        };
    }
  } catch (e) {
    return { decision: 'deny', reason: oneLine(`warden: denied: internal error judging ${req.tool} (${String((e as Error)?.message ?? e).slice(0, 200)})`), policyDecision: 'deny', rule: 'internal.error' };
  }
}
