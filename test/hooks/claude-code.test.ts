import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseClaudeCodeInput, renderClaudeCode } from '../../src/hooks/claude-code.js';
import { fixture, runHookCli, specific, world } from './helpers.js';

const w = world();
const W = w.workspace;
const H = w.home;

const out = (permissionDecision: string, permissionDecisionReason: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision, permissionDecisionReason, ...extra },
});

/** Recorded input -> the exact hook output. */
const EXACT: Record<string, Record<string, unknown>> = {
  'bash-sudo': out('deny', 'warden: denied: privilege escalation is not available inside the sandbox — exec ["sudo","apt-get","install","-y","jq"]: matched coding-agent:no-sudo (deny ["sudo"])'),
  'bash-force-push': out(
    'deny',
    'warden: denied (use the safer alternative): force-pushing rewrites shared history — exec ["git","push","--force","origin","feature/login-form"]: matched coding-agent:force-push (steer ["git","push","**","--force"]) Safer alternative: git push --force-with-lease',
  ),
  'bash-terraform-apply': out('ask', 'warden: needs approval: applying infrastructure changes needs a person — exec ["terraform","apply","-auto-approve"]: matched tf-apply (approve ["terraform","apply"])'),
  'bash-make-deploy': {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: 'allow',
      permissionDecisionReason: 'warden: warning: deploys a preview build — exec ["make","deploy"]: matched deploy (warn ["make","deploy"])',
      additionalContext: 'warden: warning: deploys a preview build — exec ["make","deploy"]: matched deploy (warn ["make","deploy"])',
    },
    systemMessage: 'warden: warning: deploys a preview build — exec ["make","deploy"]: matched deploy (warn ["make","deploy"])',
  },
  'write-src': out('allow', `warden: allowed: write ${W}/src/greeting.ts: matched coding-agent:filesystem.write[0] (write \${workspace})`),
  'edit-bashrc': out('deny', `warden: denied: write ${H}/.bashrc: no filesystem rule grants it (default deny)`),
  'read-ssh-key': out('deny', `warden: denied: read ${H}/.ssh/id_ed25519: matched coding-agent:filesystem.deny[0] (deny ~/.ssh)`),
  'webfetch-docs': out('allow', 'warden: allowed: connect docs.example.com:443: matched network.allow[0] (allow docs.example.com)'),
  'webfetch-pastebin': out('deny', 'warden: denied: connect pastebin.com:443: no network rule allows it (default deny)'),
  'mcp-github-create-issue': out('allow', 'warden: allowed: tool github/create_issue: matched gh-issues (allow tool create_issue on github)'),
  'mcp-slack-post': out('ask', 'warden: needs approval: tool slack/post_message: no tool rule matches (mcp.default: approve)'),
  todowrite: out('allow', "warden: allowed: TodoWrite updates the agent's to-do list"),
  websearch: out('ask', 'warden: needs approval: warden does not know what the tool "WebSearch" does, so a person decides (narrow the hook matcher to tools warden knows to skip this)'),
  'post-tool-use': out('deny', 'warden: denied: hook event "PostToolUse" is not PreToolUse (configure warden only as a PreToolUse hook)'),
};

for (const [name, expected] of Object.entries(EXACT)) {
  test(`claude-code: ${name} -> exact hook output, exit 0`, async () => {
    const r = await runHookCli(w, 'claude-code', fixture(w, 'claude-code', name));
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.endsWith('}\n') && !r.stdout.slice(0, -1).includes('\n'), 'one JSON line');
    assert.deepEqual(r.json, expected);
  });
}

test('claude-code: classifier-judged Bash commands (no command rule)', async () => {
  const allow = await runHookCli(w, 'claude-code', fixture(w, 'claude-code', 'bash-git-status'));
  assert.deepEqual(allow.json, out('allow', 'warden: allowed: classifier verdict allow (risk none)'));
  const block = specific(await runHookCli(w, 'claude-code', fixture(w, 'claude-code', 'bash-curl-pipe-sh')));
  assert.equal(block['permissionDecision'], 'deny');
  assert.match(String(block['permissionDecisionReason']), /^warden: denied: classifier verdict block \(risk critical\): .*get\.example-tool\.sh.* Safer alternative: \S/);
});

test('claude-code: a risk chain across hook calls of one session is caught at the completing step', async () => {
  const call = (command: string, session: string): string =>
    JSON.stringify({ session_id: session, transcript_path: `${H}/t.jsonl`, cwd: W, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command }, tool_use_id: 'toolu_x' });
  for (const c of ['curl -fsSLo tool.bin https://downloads.example.com/tool', 'chmod +x tool.bin']) {
    assert.equal(specific(await runHookCli(w, 'claude-code', call(c, 'chain-session')))['permissionDecision'], 'allow', c);
  }
  const last = specific(await runHookCli(w, 'claude-code', call('./tool.bin --version', 'chain-session')));
  assert.equal(last['permissionDecision'], 'deny');
  assert.match(String(last['permissionDecisionReason']), /completes a risk chain: step 1 .*curl.* step 2 .*chmod/);
  // The same command in a session with no history is only a review (ask).
  const fresh = specific(await runHookCli(w, 'claude-code', call('./tool.bin --version', 'other-session')));
  assert.equal(fresh['permissionDecision'], 'ask');
});

test('claude-code: a symlink in the workspace is judged by where it leads', async () => {
  writeFileSync(join(H, '.ssh', 'id_ed25519'), 'not a real key\n');
  symlinkSync(join(H, '.ssh', 'id_ed25519'), join(W, 'key-link'));
  const input = fixture(w, 'claude-code', 'read-ssh-key').replace(`${H}/.ssh/id_ed25519`, `${W}/key-link`);
  const s = specific(await runHookCli(w, 'claude-code', input));
  assert.equal(s['permissionDecision'], 'deny');
  assert.match(String(s['permissionDecisionReason']), /deny ~\/\.ssh/);
});

test('claude-code: a project reached through a symlinked path is still the workspace', async () => {
  const link = join(w.root, 'proj-link');
  symlinkSync(W, link);
  const input = fixture(w, 'claude-code', 'write-src').replaceAll(W, link);
  const s = specific(await runHookCli(w, 'claude-code', input, ['--policy', 'policy.yaml', '--workspace', W]));
  assert.equal(s['permissionDecision'], 'allow', String(s['permissionDecisionReason']));
  assert.match(String(s['permissionDecisionReason']), new RegExp(`write ${W}/src/greeting\\.ts`));
});

test('claude-code: the workspace comes from --workspace or CLAUDE_PROJECT_DIR, never from a cwd that covers home', async () => {
  const atRoot = fixture(w, 'claude-code', 'write-src').replace(`"cwd": "${W}"`, '"cwd": "/"');
  const refused = specific(await runHookCli(w, 'claude-code', atRoot));
  assert.equal(refused['permissionDecision'], 'deny');
  assert.match(String(refused['permissionDecisionReason']), /workspace would be \/, which covers the home directory/);
  const viaEnv = specific(await runHookCli(w, 'claude-code', atRoot, undefined, { CLAUDE_PROJECT_DIR: W }));
  assert.equal(viaEnv['permissionDecision'], 'allow');
  const viaFlag = specific(await runHookCli(w, 'claude-code', atRoot, ['--policy', 'policy.yaml', '--workspace', W]));
  assert.equal(viaFlag['permissionDecision'], 'allow');
  // A subdirectory cwd is a narrower workspace: writing beside it is not granted.
  mkdirSync(join(W, 'sub'), { recursive: true });
  const inSub = fixture(w, 'claude-code', 'write-src').replace(`"cwd": "${W}"`, `"cwd": "${W}/sub"`);
  assert.equal(specific(await runHookCli(w, 'claude-code', inSub))['permissionDecision'], 'deny');
  assert.equal(specific(await runHookCli(w, 'claude-code', inSub, undefined, { CLAUDE_PROJECT_DIR: W }))['permissionDecision'], 'allow');
});

test('claude-code: tool mapping', () => {
  const base = { session_id: 's', cwd: W, hook_event_name: 'PreToolUse' };
  const call = (tool_name: string, tool_input: unknown): unknown => {
    const r = parseClaudeCodeInput({ ...base, tool_name, tool_input }, '/');
    return r.ok ? r.request.call : r.reason;
  };
  assert.deepEqual(call('Bash', { command: 'ls' }), { kind: 'shell', command: 'ls' });
  assert.deepEqual(call('MultiEdit', { file_path: '/a', edits: [] }), { kind: 'file', files: [{ path: '/a', access: 'write' }] });
  assert.deepEqual(call('NotebookEdit', { notebook_path: '/n.ipynb', new_source: '' }), { kind: 'file', files: [{ path: '/n.ipynb', access: 'write' }] });
  assert.deepEqual(call('Grep', { pattern: 'x' }), { kind: 'file', files: [{ path: W, access: 'read' }] });
  assert.deepEqual(call('Glob', { pattern: '*.ts', path: 'src' }), { kind: 'file', files: [{ path: 'src', access: 'read' }] });
  assert.deepEqual(call('mcp__plugin_db__query', {}), { kind: 'mcp', server: 'plugin_db', tool: 'query' });
  assert.deepEqual(call('SomethingNew', {}), { kind: 'unknown' });
  assert.equal(call('Bash', { command: 42 }), 'Bash tool_input has no command');
  assert.equal(call('Write', {}), 'Write tool_input has no file_path');
  assert.equal(call('WebFetch', { url: '' }), 'WebFetch tool_input has no url');
});

test('claude-code: output schema for each answer', () => {
  assert.equal(renderClaudeCode({ decision: 'deny', reason: 'r' }), '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"r"}}\n');
  assert.equal(renderClaudeCode({ decision: 'ask', reason: 'r' }), '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"ask","permissionDecisionReason":"r"}}\n');
  assert.equal(
    renderClaudeCode({ decision: 'allow', reason: 'r', warning: 'w' }),
    '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow","permissionDecisionReason":"r","additionalContext":"w"},"systemMessage":"w"}\n',
  );
});
