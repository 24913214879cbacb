import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { hookCommand } from '../../src/cli/hook.js';
import { readHookInput } from '../../src/hooks/common.js';
import { ADAPTERS, runHook } from '../../src/hooks/run.js';
import { isWardenError } from '../../src/errors.js';
import { fixture, runHookCli, specific, world, type HookRun } from './helpers.js';

const w = world();

function assertDeny(r: HookRun, why: RegExp): void {
  assert.equal(r.code, 0, 'exit 0: both agents read the JSON decision at exit 0');
  const s = specific(r);
  assert.equal(s['hookEventName'], 'PreToolUse');
  assert.equal(s['permissionDecision'], 'deny', r.stdout);
  assert.match(String(s['permissionDecisionReason']), why);
}

const ok = JSON.parse(fixture(w, 'claude-code', 'bash-git-status')) as Record<string, unknown>;
const without = (k: string): string => JSON.stringify(Object.fromEntries(Object.entries(ok).filter(([key]) => key !== k)));

const CASES: Array<[string, string | Buffer, RegExp]> = [
  ['malformed JSON', '{"hook_event_name": "PreToolUse", "tool_name": "Bash", ', /not valid JSON/],
  ['empty input', '', /not valid JSON/],
  ['a JSON array', '[1,2]', /not a JSON object/],
  ['a JSON string', '"PreToolUse"', /not a JSON object/],
  ['missing tool_name', without('tool_name'), /no tool_name/],
  ['missing tool_input', without('tool_input'), /has no tool_input/],
  ['missing hook_event_name', without('hook_event_name'), /no hook_event_name/],
  ['wrong event name', JSON.stringify({ ...ok, hook_event_name: 'UserPromptSubmit' }), /"UserPromptSubmit" is not PreToolUse/],
  ['missing command', JSON.stringify({ ...ok, tool_input: { description: 'x' } }), /has no command/],
  ['relative cwd', JSON.stringify({ ...ok, cwd: 'project' }), /cwd is not an absolute path/],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls '), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]), /not valid UTF-8/],
  ['more than 1 MiB', JSON.stringify({ ...ok, tool_input: { command: 'echo ' + 'a'.repeat(1_200_000) } }), /larger than 1048576 bytes/],
];

for (const agent of ['claude-code', 'codex'] as const) {
  for (const [name, input, why] of CASES) {
    test(`${agent}: ${name} -> deny with reason`, async () => {
      assertDeny(await runHookCli(w, agent, input), why);
    });
  }
}

test('a NUL byte in a file path is a deny', async () => {
  const input = JSON.stringify({ ...ok, tool_name: 'Read', tool_input: { file_path: `${w.workspace}/a\u0000b` } });
  assertDeny(await runHookCli(w, 'claude-code', input), /invalid path/);
});

test('huge input is refused without buffering it all, and the stream is released', async () => {
  let pulled = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const endless = new Readable({
    read() {
      pulled++;
      this.push(chunk);
    },
  });
  assertDeny(await runHookCli(w, 'codex', endless), /larger than/);
  assert.ok(pulled < 40, `read ${pulled} chunks`);
  assert.equal(endless.destroyed, true);
});

test('stdin that never ends times out into a deny (and is released)', async () => {
  const silent = new Readable({ read() {} });
  const r = await runHook(ADAPTERS['codex']!, { env: w.env, cwd: w.root, stdin: silent, inputTimeoutMs: 50, policy: w.policy });
  assert.equal(r.code, 0);
  assert.equal(r.answer.decision, 'deny');
  assert.match(r.answer.reason, /did not end within 50 ms/);
  assert.equal(silent.destroyed, true);
  assert.match(r.stdout, /"permissionDecision":"deny"/);
});

test('a stream error is a deny', async () => {
  const broken = new Readable({
    read() {
      this.destroy(new Error('EIO'));
    },
  });
  assertDeny(await runHookCli(w, 'claude-code', broken), /could not be read \(EIO\)/);
});

test('readHookInput reads chunked UTF-8 split inside a character', async () => {
  const bytes = Buffer.from('{"a":"é€"}');
  const r = await readHookInput(Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]));
  assert.deepEqual(r, { ok: true, text: '{"a":"é€"}' });
});

test('configuration errors are the agent\'s deny, not a crash or a non-blocking exit', async () => {
  const input = fixture(w, 'claude-code', 'bash-git-status');
  const flag = await runHookCli(w, 'claude-code', input, ['--bogus']);
  assertDeny(flag, /misconfigured: Unknown option '--bogus'/);
  assert.match(flag.stderr, /Unknown option/);
  assertDeny(await runHookCli(w, 'codex', input, ['--policy', 'p.yaml', '--profile', 'coding-agent']), /mutually exclusive/);
  assertDeny(await runHookCli(w, 'claude-code', input, ['--policy', 'missing.yaml']), /policy could not be loaded: cannot read policy .*missing\.yaml/);
  writeFileSync(join(w.root, 'invalid.yaml'), 'version: 1\ncommands:\n  - {match: [rm], decision: nuke}\n');
  assertDeny(await runHookCli(w, 'codex', input, ['--policy', 'invalid.yaml']), /policy could not be loaded/);
  assertDeny(await runHookCli(w, 'claude-code', input, ['--profile', 'no-such-profile']), /unknown profile/);
  assertDeny(await runHookCli(w, 'claude-code', input, ['--workspace', join(w.root, 'nope')]), /workspace .*nope does not exist/);
});

test('the default profile is used when no policy is named', async () => {
  const r = await runHookCli(w, 'claude-code', fixture(w, 'claude-code', 'bash-sudo'), []);
  assert.equal(specific(r)['permissionDecision'], 'deny');
});

test('an unknown agent is a usage error (exit 2 from main blocks in both agents)', async () => {
  const io = { stdout: () => {}, stderr: () => {}, env: w.env, cwd: w.root, stdin: Readable.from([]) };
  await assert.rejects(hookCommand(['cursor'], io), (e: unknown) => isWardenError(e) && e.code === 'USAGE');
  await assert.rejects(hookCommand([], io), (e: unknown) => isWardenError(e) && e.code === 'USAGE');
});
