import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

const dir = tempDir();

test('policy check: exit 0 for a valid policy, 1 with file:line:col per error', () => {
  const good = writeFile(dir, 'good.yaml', 'version: 1\nextends: coding-agent\nnetwork:\n  allow: [api.example.com]\n');
  const ok = warden(['policy', 'check', good], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid/);
  const bad = writeFile(dir, 'bad.yaml', 'version: 1\nfilesystem:\n  dney: [~/.ssh]\ncommands:\n  - {match: [rm], decision: nuke}\n');
  const r = warden(['policy', 'check', 'bad.yaml'], { cwd: dir });
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0]!, /^bad\.yaml:3:3: error: unknown key "filesystem\.dney" \(fix: /);
  assert.match(lines[1]!, /^bad\.yaml:5:\d+: error: commands\.0\.decision/);
  assert.equal(r.stderr, '');
});

test('policy check: a missing or non-regular file is invalid with one line, no stack trace', () => {
  const r = warden(['policy', 'check', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /cannot read policy .*ENOENT/);
  const d = warden(['policy', 'check', dir]);
  assert.equal(d.code, 1);
  assert.doesNotMatch(d.stdout + d.stderr, /\n\s+at /);
});

test('policy check --json reports diagnostics and the hash', () => {
  const f = writeFile(dir, 'w.yaml', 'version: 1\nfilesystem:\n  read: [/definitely-missing]\n');
  const r = warden(['policy', 'check', '--json', f]);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout) as { valid: boolean; hash: string; diagnostics: Array<{ severity: string; message: string }> };
  assert.equal(j.valid, true);
  assert.match(j.hash, /^sha256:/);
  assert.equal(j.diagnostics[0]!.severity, 'warning');
});

test('policy explain prints the decision and the deciding rule', () => {
  const f = writeFile(dir, 'e.yaml', 'version: 1\nextends: coding-agent\ncommands:\n  - {id: no-curl, match: [curl], decision: deny, message: use the proxy}\n');
  const r = warden(['policy', 'explain', '--policy', f, '--event', '{"kind":"exec","argv":["curl","http://x"]}'], { env: { ...process.env, HOME: dir } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^decision: deny\nrule: no-curl\n/);
  assert.match(r.stdout, /message: use the proxy/);
  const j = warden(['policy', 'explain', '--profile', 'coding-agent', '--json', '--event', JSON.stringify({ kind: 'file', path: join(dir, '.ssh/id_rsa'), access: 'read' })], { env: { ...process.env, HOME: dir } });
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout) as { decision: string; rule: string };
  assert.equal(out.decision, 'deny');
  assert.equal(out.rule, 'coding-agent:filesystem.deny[0]');
});

test('policy explain: malformed events and CLI misuse get one clear line and non-zero exit', () => {
  for (const args of [
    ['policy', 'explain', '--profile', 'coding-agent', '--event', '{not json'],
    ['policy', 'explain', '--profile', 'coding-agent', '--event', '{"kind":"file","path":"relative","access":"read"}'],
    ['policy', 'explain', '--profile', 'coding-agent', '--event', '{"kind":"teleport"}'],
    ['policy', 'explain', '--profile', 'coding-agent'],
    ['policy', 'explain', '--profile', 'nope', '--event', '{"kind":"mcp","tool":"x"}'],
    ['policy', 'explain', '--bogus'],
    ['policy', 'frobnicate'],
    ['policy'],
    ['nonsense'],
  ]) {
    const r = warden(args);
    assert.notEqual(r.code, 0, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, /^warden: /);
    assert.doesNotMatch(r.stdout, /decision: allow/);
  }
});
