/**
 * OpenAI Codex CLI PreToolUse adapter.
 *
 * Schema source: the Codex hooks documentation (https://developers.openai.com/codex/hooks) and the
 * JSON Schemas and parser in the Codex repository (codex-rs/hooks/schema/generated/
 * pre-tool-use.command.{input,output}.schema.json, codex-rs/hooks/src/engine/output_parser.rs,
 * codex-rs/hooks/src/events/pre_tool_use.rs).
 *
 * Input (stdin, one JSON object):
 *   { session_id, turn_id, transcript_path (string|null), cwd, hook_event_name: "PreToolUse",
 *     model, permission_mode, tool_name, tool_input, tool_use_id }
 *   tool_name "Bash" (shell and unified exec) with tool_input {command}; "apply_patch" with
 *   tool_input {command: "*** Begin Patch ... *** End Patch"}; MCP tools `mcp__<server>__<tool>`
 *   with their JSON arguments.
 * Output (stdout, exit 0):
 *   deny: { "hookSpecificOutput": { "hookEventName": "PreToolUse", "permissionDecision": "deny",
 *           "permissionDecisionReason": "..." } }  (the reason is shown to the model)
 *   allow: no output (Codex's normal flow continues).
 *   warning: { "systemMessage": "...", "hookSpecificOutput": { "hookEventName": "PreToolUse",
 *           "additionalContext": "..." } }  (allowed; the person and the model are told)
 *
 * Codex's parser rejects `permissionDecision: "ask"` and a bare `"allow"` as unsupported and then
 * FAILS OPEN (the tool runs). So a Warden `approve` cannot be an ask here: it is a deny whose reason
 * says a person's approval is needed. Exit codes other than 0 and 2 are non-blocking in Codex too,
 * so every answer is JSON with exit 0.
 */
import { baseFields, isRecord, parseMcpName, stringField, type HookAnswer, type ParsedRequest, type ToolCall } from './common.js';

export const CODEX = 'codex';

const SHELL_TOOLS = new Set(['Bash', 'shell', 'local_shell', 'exec_command', 'unified_exec', 'container.exec']);
const MAX_PATCH_FILES = 512;

/**
 * The files an apply_patch envelope touches: `*** Add File:`, `*** Update File:`,
 * `*** Delete File:` and `*** Move to:` (the destination of a rename). Every one is a write.
 */
export function patchFiles(patch: string): string[] | null {
  if (!/^\s*\*\*\* Begin Patch/m.test(patch)) return null;
  const out: string[] = [];
  for (const line of patch.split('\n')) {
    const m = /^\*\*\* (?:Add File|Update File|Delete File|Move to): (.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const p = m[1]!.trim();
    if (p === '') return null;
    if (!out.includes(p)) out.push(p);
    if (out.length > MAX_PATCH_FILES) return null;
  }
  return out;
}

function toolCall(tool: string, input: unknown): ToolCall | { error: string } {
  if (SHELL_TOOLS.has(tool)) {
    if (!isRecord(input)) return { error: `${tool} tool_input is not an object` };
    const c = input['command'] ?? input['cmd'];
    if (typeof c === 'string' && c !== '') return { kind: 'shell', command: c };
    if (Array.isArray(c) && c.length > 0 && c.every((w) => typeof w === 'string')) return { kind: 'argv', argv: c as string[] };
    return { error: `${tool} tool_input has no command` };
  }
  if (tool === 'apply_patch') {
    const text = stringField(input, 'command', 'input', 'patch');
    if (text === undefined) return { error: 'apply_patch tool_input has no patch' };
    const files = patchFiles(text);
    if (files === null) return { error: 'apply_patch input is not a patch warden can read (expected "*** Begin Patch" with file headers)' };
    return { kind: 'file', files: files.map((path) => ({ path, access: 'write' as const })) };
  }
  const mcp = parseMcpName(tool);
  if (mcp) return { kind: 'mcp', ...mcp };
  return { kind: 'unknown' };
}

export function parseCodexInput(v: Record<string, unknown>, fallbackCwd: string): ParsedRequest {
  const b = baseFields(v, fallbackCwd);
  if (!b.ok) return b;
  const call = toolCall(b.tool, b.input);
  if ('error' in call) return { ok: false, reason: call.error };
  return { ok: true, request: { tool: b.tool, call, cwd: b.cwd, ...(b.sessionId !== undefined ? { sessionId: b.sessionId } : {}) } };
}

/**
 * A shell command that pipes a patch into `apply_patch` (Codex models do this) writes the files
 * the patch names: judge those too.
 */
export function embeddedPatchFiles(command: string): string[] {
  if (!/\bappl(?:y_|y)patch\b/.test(command) || !command.includes('*** Begin Patch')) return [];
  return patchFiles(command.slice(command.indexOf('*** Begin Patch'))) ?? [];
}

function denyJson(reason: string): string {
  return JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } }) + '\n';
}

/** The hook's stdout for an answer (exit status 0); empty for a plain allow. */
export function renderCodex(a: HookAnswer): string {
  switch (a.decision) {
    case 'deny':
      return denyJson(a.reason);
    case 'ask':
      // "ask" would fail open in Codex: a person's approval is required, so the agent must stop.
      return denyJson(`${a.reason} (Codex hooks cannot ask a person: ask the user to approve and run it, or change the Warden policy)`);
    case 'allow':
      if (a.warning === undefined) return '';
      return JSON.stringify({ systemMessage: a.warning, hookSpecificOutput: { hookEventName: 'PreToolUse', additionalContext: a.warning } }) + '\n';
  }
}
