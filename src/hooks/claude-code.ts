/**
 * Claude Code PreToolUse adapter.
 *
 * Input (stdin, one JSON object; Claude Code hooks reference, https://code.claude.com/docs/en/hooks):
 *   { session_id, transcript_path, cwd, permission_mode, hook_event_name: "PreToolUse",
 *     tool_name, tool_input, tool_use_id }
 *   tool_input by tool: Bash {command}; Write {file_path, content}; Edit {file_path, old_string,
 *   new_string}; MultiEdit {file_path, edits}; Read {file_path}; NotebookEdit {notebook_path};
 *   Glob/Grep {pattern, path?}; LS {path}; WebFetch {url, prompt}; MCP tools are named
 *   `mcp__<server>__<tool>` and carry their own arguments.
 * Output (stdout, exit 0):
 *   { "hookSpecificOutput": { "hookEventName": "PreToolUse",
 *       "permissionDecision": "allow" | "deny" | "ask", "permissionDecisionReason": "...",
 *       "additionalContext"?: "..." }, "systemMessage"?: "..." }
 *   deny: the reason is shown to Claude; ask: shown to the person in the permission prompt;
 *   allow: skips Claude Code's prompt (its own deny/ask permission rules still apply).
 *   A warning (policy `warn`) is an allow whose text also goes to the model (`additionalContext`)
 *   and to the person (`systemMessage`).
 *
 * Every answer, including the one for unreadable input, is a JSON decision with exit 0: Claude Code
 * treats exit codes other than 0 and 2 as non-blocking errors (the tool would run), so the hook
 * never relies on its exit status to block.
 */
import { baseFields, isRecord, parseMcpName, stringField, type HookAnswer, type ParsedRequest, type ToolCall } from './common.js';

export const CLAUDE_CODE = 'claude-code';

/** Tools whose only effect is on the agent itself; a subagent's own tool calls are hooked too. */
const INERT: Record<string, string> = {
  Task: 'starts a subagent (its tool calls pass this hook too)',
  Agent: 'starts a subagent (its tool calls pass this hook too)',
  TodoWrite: "updates the agent's to-do list",
  TodoRead: "reads the agent's to-do list",
  ExitPlanMode: 'leaves plan mode',
  EnterPlanMode: 'enters plan mode',
  AskUserQuestion: 'asks the person a question',
  BashOutput: 'reads the output of a shell the agent started',
  KillShell: 'stops a shell the agent started',
  KillBash: 'stops a shell the agent started',
};

function toolCall(tool: string, input: unknown, cwd: string): ToolCall | { error: string } {
  const need = (key: string): string | { error: string } => {
    const v = stringField(input, key);
    return v === undefined || v === '' ? { error: `${tool} tool_input has no ${key}` } : v;
  };
  switch (tool) {
    case 'Bash': {
      const c = need('command');
      return typeof c === 'string' ? { kind: 'shell', command: c } : c;
    }
    case 'Write':
    case 'Edit':
    case 'MultiEdit': {
      const p = need('file_path');
      return typeof p === 'string' ? { kind: 'file', files: [{ path: p, access: 'write' }] } : p;
    }
    case 'NotebookEdit': {
      const p = need('notebook_path');
      return typeof p === 'string' ? { kind: 'file', files: [{ path: p, access: 'write' }] } : p;
    }
    case 'Read': {
      const p = need('file_path');
      return typeof p === 'string' ? { kind: 'file', files: [{ path: p, access: 'read' }] } : p;
    }
    case 'NotebookRead': {
      const p = need('notebook_path');
      return typeof p === 'string' ? { kind: 'file', files: [{ path: p, access: 'read' }] } : p;
    }
    case 'Glob':
    case 'Grep': {
      if (!isRecord(input)) return { error: `${tool} tool_input is not an object` };
      const p = stringField(input, 'path');
      return { kind: 'file', files: [{ path: p && p !== '' ? p : cwd, access: 'read' }] };
    }
    case 'LS': {
      const p = need('path');
      return typeof p === 'string' ? { kind: 'file', files: [{ path: p, access: 'read' }] } : p;
    }
    case 'WebFetch': {
      const u = need('url');
      return typeof u === 'string' ? { kind: 'net', url: u } : u;
    }
  }
  const mcp = parseMcpName(tool);
  if (mcp) return { kind: 'mcp', ...mcp };
  const inert = INERT[tool];
  if (inert !== undefined) return { kind: 'inert', why: inert };
  return { kind: 'unknown' };
}

export function parseClaudeCodeInput(v: Record<string, unknown>, fallbackCwd: string): ParsedRequest {
  const b = baseFields(v, fallbackCwd);
  if (!b.ok) return b;
  const call = toolCall(b.tool, b.input, b.cwd);
  if ('error' in call) return { ok: false, reason: call.error };
  return { ok: true, request: { tool: b.tool, call, cwd: b.cwd, ...(b.sessionId !== undefined ? { sessionId: b.sessionId } : {}) } };
}

/** The hook's stdout for an answer (always one JSON line; exit status 0). */
export function renderClaudeCode(a: HookAnswer): string {
  const specific: Record<string, string> = {
    hookEventName: 'PreToolUse',
    permissionDecision: a.decision,
    permissionDecisionReason: a.reason,
  };
  const out: Record<string, unknown> = { hookSpecificOutput: specific };
  if (a.decision === 'allow' && a.warning !== undefined) {
    specific['additionalContext'] = a.warning;
    out['systemMessage'] = a.warning;
  }
  return JSON.stringify(out) + '\n';
}

/** `CLAUDE_PROJECT_DIR` is the project root Claude Code was started in (stable across `cd`). */
export function claudeCodeWorkspace(env: NodeJS.ProcessEnv): string | undefined {
  const d = env['CLAUDE_PROJECT_DIR'];
  return d && d.startsWith('/') ? d : undefined;
}
