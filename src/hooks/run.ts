/**
 * One hook call, end to end: read the agent's JSON, load the policy, judge the tool call, answer in
 * the agent's schema. Every path out of here produces an answer: a failure at any step (unreadable
 * input, a bad flag, an invalid policy, a workspace that cannot be right) is a deny with its reason.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { isWardenError } from '../errors.js';
import { createCommandContext, type CommandContext } from '../mediate/command-decision.js';
import { loadPolicy } from '../policy/load.js';
import { wardenDirs } from '../paths.js';
import { CLAUDE_CODE, claudeCodeWorkspace, parseClaudeCodeInput, renderClaudeCode } from './claude-code.js';
import { CODEX, embeddedPatchFiles, parseCodexInput, renderCodex } from './codex.js';
import { denyAnswer, judge, parseHookJson, readHookInput, type HookAnswer, type HookEnv, type HookRequest, type ParsedRequest } from './common.js';
import { openSessionLog, type LoggedCommand } from './session-log.js';

export interface HookAdapter {
  name: string;
  parse(v: Record<string, unknown>, fallbackCwd: string): ParsedRequest;
  render(a: HookAnswer): string;
  /** A workspace the agent itself names and the model cannot move (Claude Code's project dir). */
  workspace?(env: NodeJS.ProcessEnv): string | undefined;
}

export const ADAPTERS: Readonly<Record<string, HookAdapter>> = Object.freeze({
  [CLAUDE_CODE]: { name: CLAUDE_CODE, parse: parseClaudeCodeInput, render: renderClaudeCode, workspace: claudeCodeWorkspace },
  [CODEX]: { name: CODEX, parse: parseCodexInput, render: renderCodex },
});

export interface HookOptions {
  policy?: string;
  profile?: string;
  workspace?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  /** Test seams. */
  maxInputBytes?: number;
  inputTimeoutMs?: number;
  /** Keep the session's commands for risk chains across hook calls (default true). */
  sessionState?: boolean;
}

export interface HookOutcome {
  answer: HookAnswer;
  stdout: string;
  /** Exit status: 0 for every answer (both agents read the JSON decision at exit 0). */
  code: number;
}

const RANK: Record<HookAnswer['decision'], number> = { deny: 2, ask: 1, allow: 0 };

function stricterAnswer(a: HookAnswer, b: HookAnswer): HookAnswer {
  if (RANK[b.decision] !== RANK[a.decision]) return RANK[b.decision] > RANK[a.decision] ? b : a;
  return a.warning === undefined && b.warning !== undefined ? b : a;
}

function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/** PATH lookup the way execvp does it, so a rule on `/usr/bin/x` meets a bare `x` too. */
function pathLookup(env: NodeJS.ProcessEnv): CommandContext['resolveProgram'] {
  const dirs = (env['PATH'] ?? '').split(':').filter((d) => d.startsWith('/'));
  const memo = new Map<string, string | undefined>();
  return (name) => {
    if (memo.has(name)) return memo.get(name);
    let found: string | undefined;
    for (const d of dirs) {
      const p = posix.join(d, name);
      try {
        if (statSync(p).isFile()) {
          accessSync(p, constants.X_OK);
          found = p;
          break;
        }
      } catch {
        // not here
      }
    }
    memo.set(name, found);
    return found;
  };
}

/**
 * The workspace decides what `${workspace}` grants. Taken from the agent's cwd it follows the model
 * (`cd /` would make the whole disk "the workspace"), so a derived workspace that is the root, the
 * home directory or one of its ancestors is refused; an explicit --workspace is the user's word.
 */
function chooseWorkspace(opts: HookOptions, adapter: HookAdapter, req: HookRequest, home: string): { ok: true; dir: string } | { ok: false; reason: string } {
  const explicit = opts.workspace !== undefined;
  const raw = opts.workspace ?? adapter.workspace?.(opts.env) ?? req.cwd;
  const abs = isAbsolute(raw) ? raw : resolve(opts.cwd, raw);
  const real = safeRealpath(abs);
  if (real === undefined) return { ok: false, reason: `workspace ${abs} does not exist (pass --workspace DIR)` };
  try {
    if (!statSync(real).isDirectory()) return { ok: false, reason: `workspace ${real} is not a directory (pass --workspace DIR)` };
  } catch {
    return { ok: false, reason: `workspace ${real} cannot be read (pass --workspace DIR)` };
  }
  if (!explicit) {
    const h = safeRealpath(home) ?? home;
    if (real === '/' || h === real || h.startsWith(real.endsWith('/') ? real : real + '/')) {
      return { ok: false, reason: `the workspace would be ${real}, which covers the home directory; pass --workspace with the project directory` };
    }
  }
  return { ok: true, dir: real };
}

function loggable(req: HookRequest): LoggedCommand | undefined {
  if (req.call.kind === 'shell') return { kind: 'shell', command: req.call.command };
  if (req.call.kind === 'argv') return { kind: 'argv', argv: req.call.argv };
  return undefined;
}

async function decideHook(adapter: HookAdapter, opts: HookOptions): Promise<HookAnswer> {
  const input = await readHookInput(opts.stdin, {
    ...(opts.maxInputBytes !== undefined ? { maxBytes: opts.maxInputBytes } : {}),
    ...(opts.inputTimeoutMs !== undefined ? { timeoutMs: opts.inputTimeoutMs } : {}),
  });
  if (!input.ok) return denyAnswer(input.reason);
  const json = parseHookJson(input.text);
  if (!json.ok) return denyAnswer(json.reason);
  const parsed = adapter.parse(json.value, opts.cwd);
  if (!parsed.ok) return denyAnswer(parsed.reason);
  const req = parsed.request;

  const home = opts.env['HOME'] || homedir();
  const ws = chooseWorkspace(opts, adapter, req, home);
  if (!ws.ok) return denyAnswer(ws.reason);
  const dirs = wardenDirs(opts.env);
  let policy;
  try {
    ({ policy } = await loadPolicy({
      ...(opts.policy !== undefined ? { file: opts.policy } : {}),
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      workspace: ws.dir,
      home,
      cwd: opts.cwd,
      cacheDir: join(dirs.state, 'cache', 'policy'),
    }));
  } catch (e) {
    const line = isWardenError(e) ? e.oneLine().replace(/^warden: /, '') : String((e as Error)?.message ?? e);
    return denyAnswer(`the policy could not be loaded: ${line}`);
  }

  const commands = createCommandContext(policy, { env: { HOME: home } }, pathLookup(opts.env));
  const env: HookEnv = { policy, commands, realpath: safeRealpath };
  const logged = loggable(req);
  const log = logged && req.sessionId !== undefined && opts.sessionState !== false ? openSessionLog(join(dirs.state, 'hooks'), adapter.name, req.sessionId) : undefined;
  if (log) {
    // Replay the session so far: the classifier then sees this command as the next step of it.
    for (const c of log.previous()) {
      if (c.kind === 'shell') commands.classifier.classify(c.command);
      else commands.classifier.classifyArgv(c.argv);
    }
  }
  let answer = judge(env, req);
  if (adapter.name === CODEX && req.call.kind === 'shell') {
    const files = embeddedPatchFiles(req.call.command);
    if (files.length) answer = stricterAnswer(answer, judge(env, { ...req, call: { kind: 'file', files: files.map((path) => ({ path, access: 'write' as const })) } }));
  }
  if (log && logged && answer.decision !== 'deny') log.record(logged);
  return answer;
}

/** Runs one hook call for `adapter`. Never throws. */
export async function runHook(adapter: HookAdapter, opts: HookOptions): Promise<HookOutcome> {
  let answer: HookAnswer;
  try {
    answer = await decideHook(adapter, opts);
  } catch (e) {
    answer = denyAnswer(`internal error (${String((e as Error)?.message ?? e).slice(0, 200)})`);
  }
  return { answer, stdout: adapter.render(answer), code: 0 };
}

/** The answer when the hook cannot even start (bad flags): still the agent's deny. */
export function failedHook(adapter: HookAdapter, reason: string): HookOutcome {
  const answer = denyAnswer(reason);
  return { answer, stdout: adapter.render(answer), code: 0 };
}
