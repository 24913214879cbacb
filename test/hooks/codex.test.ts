import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embeddedPatchFiles, parseCodexInput, patchFiles, renderCodex } from '../../src/hooks/codex.js';
import { fixture, runHookCli, specific, world } from './helpers.js';

const w = world();
const W = w.workspace;
const H = w.home;

const deny = (permissionDecisionReason: string): Record<string, unknown> => ({
  hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason },
});

/** Recorded input -> the exact hook output (`null`: no output, Codex's "no objection"). */
const EXACT: Record<string, Record<string, unknown> | null> = {
  'bash-ls': null,
  'bash-sudo': deny('warden: denied: privilege escalation is not available inside the sandbox — exec ["sudo","systemctl","restart","nginx"]: matched coding-agent:no-sudo (deny ["sudo"])'),
  'bash-make-deploy': {
    systemMessage: 'warden: warning: deploys a preview build — exec ["make","deploy"]: matched deploy (warn ["make","deploy"])',
    hookSpecificOutput: { hookEventName: 'PreToolUse', additionalContext: 'warden: warning: deploys a preview build — exec ["make","deploy"]: matched deploy (warn ["make","deploy"])' },
  },
  // Codex cannot ask (it would fail open): a required approval stops the agent with the reason.
  'bash-terraform-apply': deny(
    'warden: needs approval: applying infrastructure changes needs a person — exec ["terraform","apply","-auto-approve"]: matched tf-apply (approve ["terraform","apply"]) (Codex hooks cannot ask a person: ask the user to approve and run it, or change the Warden policy)',
  ),
  'bash-argv-nested-sudo': deny('warden: denied: privilege escalation is not available inside the sandbox — exec ["sudo","id"]: matched coding-agent:no-sudo (deny ["sudo"])'),
  'apply-patch-workspace': null,
  'apply-patch-bashrc': deny(`warden: denied: write ${H}/.bashrc: no filesystem rule grants it (default deny)`),
  'bash-heredoc-patch-ssh': deny(`warden: denied: write ${H}/.ssh/authorized_keys: matched coding-agent:filesystem.deny[0] (deny ~/.ssh)`),
  'mcp-github-create-issue': null,
  'tool-input-not-object': deny('warden: denied: Bash tool_input is not an object'),
  'stop-event': deny('warden: denied: hook event "Stop" is not PreToolUse (configure warden only as a PreToolUse hook)'),
};

for (const [name, expected] of Object.entries(EXACT)) {
  test(`codex: ${name} -> exact hook output, exit 0`, async () => {
    const r = await runHookCli(w, 'codex', fixture(w, 'codex', name));
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    if (expected === null) assert.equal(r.stdout, '');
    else assert.deepEqual(r.json, expected);
  });
}

test('codex: every Codex deny carries a non-empty reason (an empty one would fail open)', async () => {
  for (const name of ['bash-sudo', 'bash-terraform-apply', 'apply-patch-bashrc', 'stop-event']) {
    const s = specific(await runHookCli(w, 'codex', fixture(w, 'codex', name)));
    assert.equal(s['permissionDecision'], 'deny', name);
    assert.ok(String(s['permissionDecisionReason']).trim().length > 10, name);
  }
});

test('codex: unknown tools and asks never produce "ask" or a bare "allow" (both fail open in Codex)', async () => {
  const input = JSON.parse(fixture(w, 'codex', 'bash-ls')) as Record<string, unknown>;
  const r = await runHookCli(w, 'codex', JSON.stringify({ ...input, tool_name: 'web_search', tool_input: { query: 'x' } }));
  const s = specific(r);
  assert.equal(s['permissionDecision'], 'deny');
  assert.match(String(s['permissionDecisionReason']), /does not know what the tool "web_search" does/);
  for (const a of [{ decision: 'ask', reason: 'r' }, { decision: 'allow', reason: 'r' }, { decision: 'allow', reason: 'r', warning: 'w' }] as const) {
    const text = renderCodex(a);
    assert.doesNotMatch(text, /"permissionDecision":"(ask|allow)"/);
  }
});

test('codex: apply_patch files', () => {
  const p = '*** Begin Patch\n*** Add File: a.txt\n+x\n*** Update File: src/b.ts\n*** Move to: src/c.ts\n@@\n-y\n+z\n*** Delete File: /abs/d\r\n*** End Patch\n';
  assert.deepEqual(patchFiles(p), ['a.txt', 'src/b.ts', 'src/c.ts', '/abs/d']);
  assert.equal(patchFiles('just text'), null);
  assert.equal(patchFiles('*** Begin Patch\n*** Add File: \n*** End Patch'), null);
  assert.deepEqual(embeddedPatchFiles(`apply_patch <<'EOF'\n${p}EOF`), ['a.txt', 'src/b.ts', 'src/c.ts', '/abs/d']);
  assert.deepEqual(embeddedPatchFiles('echo "*** Begin Patch"'), []);
  const bad = parseCodexInput({ hook_event_name: 'PreToolUse', cwd: W, tool_name: 'apply_patch', tool_input: { command: 'rm -rf /' } }, '/');
  assert.equal(bad.ok, false);
});

test('codex: the older array-form shell command is judged as an argv', () => {
  const r = parseCodexInput({ hook_event_name: 'PreToolUse', cwd: W, tool_name: 'shell', tool_input: { command: ['bash', '-lc', 'ls'] } }, '/');
  assert.ok(r.ok);
  assert.deepEqual(r.request.call, { kind: 'argv', argv: ['bash', '-lc', 'ls'] });
});
