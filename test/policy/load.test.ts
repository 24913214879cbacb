import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyInvalidError } from '../../src/policy/diagnostics.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { loadPolicy } from '../../src/policy/load.js';
import { MAX_POLICY_BYTES } from '../../src/policy/source.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

const dir = tempDir();
const home = join(dir, 'home');
const ws = join(dir, 'ws');
mkdirSync(home);
mkdirSync(ws);

function load(text: string | Uint8Array, name = 'p.yaml') {
  const file = writeFile(dir, name, text);
  return loadPolicy({ file, workspace: ws, home, cwd: dir });
}

function errorsOf(text: string | Uint8Array): string[] {
  try {
    load(text);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
    throw e;
  }
  assert.fail('expected the policy to be rejected');
}

test('a minimal valid policy loads and gets a stable hash', () => {
  const a = load('version: 1\nfilesystem:\n  read: [/usr]\n');
  const b = load('version: 1\nfilesystem:\n  read: [/usr]\n');
  assert.match(a.policy.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(a.policy.hash, b.policy.hash);
  const c = load('version: 1\nfilesystem:\n  read: [/usr, /opt]\n');
  assert.notEqual(a.policy.hash, c.policy.hash);
});

test('unknown keys are errors at their own line and column', () => {
  const errs = errorsOf('version: 1\nfilesystem:\n  read: [/usr]\n  dney: [~/.ssh]\n');
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^4:3: unknown key "filesystem\.dney"/);
});

test('wrong types, unknown decisions and bad versions are located', () => {
  assert.match(errorsOf('version: 1\nfilesystem:\n  read: /usr\n')[0]!, /^3:9: filesystem\.read: /);
  assert.match(errorsOf('version: 1\ncommands:\n  - match: [rm]\n    decision: nuke\n')[0]!, /^4:15: commands\.0\.decision/);
  assert.match(errorsOf('version: 2\n')[0]!, /^1:10: version/);
  assert.match(errorsOf('version: 1\ncommands:\n  - match: [git]\n    decision: steer\n')[0]!, /steer/);
});

test('duplicate keys are errors', () => {
  const errs = errorsOf('version: 1\nnetwork:\n  allow: [a.com]\n  allow: [b.com]\n');
  assert.match(errs[0]!, /^4:3: duplicate key/);
});

test('bad globs, hosts and path variables are errors with a location', () => {
  assert.match(errorsOf('version: 1\nfilesystem:\n  deny: ["/a/[b"]\n')[0]!, /^3:10: filesystem\.deny\.0: bad glob/);
  assert.match(errorsOf('version: 1\nnetwork:\n  allow: ["exa*mple.com"]\n')[0]!, /^3:11: network\.allow\.0: "\*" is only allowed/);
  assert.match(errorsOf('version: 1\nnetwork:\n  allow: ["a.com:99999"]\n')[0]!, /port 99999/);
  assert.match(errorsOf('version: 1\nfilesystem:\n  read: ["${nope}/x"]\n')[0]!, /unknown variable/);
  assert.match(errorsOf('version: 1\nnetwork:\n  hosts: {a.test: not-an-ip}\n')[0]!, /not an IP/);
  assert.match(errorsOf('version: 1\ncommands:\n  - {id: x, match: [a], decision: allow}\n  - {id: x, match: [b], decision: allow}\n')[0]!, /duplicate rule id/);
});

test('every error is reported, not just the first', () => {
  const errs = errorsOf('version: 1\nfilesystem:\n  raed: []\nnetwrok: {}\n');
  assert.equal(errs.length, 2);
});

test('hostile documents are refused with one clear error', () => {
  const bomb = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
  assert.match(errorsOf(bomb.join('\n'))[0]!, /alias/i);
  assert.match(errorsOf('version: 1\nx: ' + '['.repeat(500) + ']'.repeat(500))[0]!, /nesting|deep|depth/i);
  assert.match(errorsOf(new Uint8Array([...Buffer.from('version: 1\n# caf'), 0xc3, 0x28, 0x0a]))[0]!, /^2:6: invalid UTF-8/);
  assert.match(errorsOf('x'.repeat(MAX_POLICY_BYTES + 10))[0]!, /byte limit/);
  assert.match(errorsOf('')[0]!, /empty policy/);
  assert.match(errorsOf('\u0000\u0001garbage: [')[0]!, /NUL|error|unexpected|flow/i);
  assert.match(errorsOf('- just\n- a list\n')[0]!, /expected object/);
  assert.match(errorsOf('version: 1\n  bad indent: x\n')[0]!, /^\d+:\d+: /);
});

test('paths: ~, ${workspace}, relative to the policy file, and .. normalised', () => {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const l = load(
    'version: 1\nfilesystem:\n  read: ["~/docs", "data"]\n  write: ["${workspace}/out"]\n  deny: ["${workspace}/../home/.ssh"]\n',
    'sub/p.yaml',
  );
  assert.deepEqual(l.policy.fs.read, [join(home, 'docs'), join(dir, 'sub', 'data')]);
  assert.deepEqual(l.policy.fs.write, [join(ws, 'out')]);
  assert.deepEqual(l.policy.fs.deny, [join(home, '.ssh')]);
});

test('symlinks in rule paths are resolved for matching', () => {
  const real = join(dir, 'real-secrets');
  mkdirSync(real);
  symlinkSync(real, join(home, 'link-secrets'));
  const l = load('version: 1\nfilesystem:\n  read: ["~"]\n  deny: ["~/link-secrets"]\n');
  const d = evaluate(l.policy, { kind: 'file', path: join(real, 'key'), access: 'read' });
  assert.equal(d.decision, 'deny');
  assert.equal(d.rule, 'filesystem.deny[0]');
});

test('extends: a built-in profile is the base layer', () => {
  const l = load('version: 1\nextends: coding-agent\nnetwork:\n  allow: [registry.npmjs.org]\n');
  assert.equal(evaluate(l.policy, { kind: 'net', host: 'registry.npmjs.org', port: 443 }).decision, 'allow');
  const ssh = evaluate(l.policy, { kind: 'file', path: join(home, '.ssh', 'id_ed25519'), access: 'read' });
  assert.equal(ssh.decision, 'deny');
  assert.equal(ssh.rule, 'coding-agent:filesystem.deny[0]');
  assert.throws(() => load('version: 1\nextends: nope\n'), /unknown profile/);
});

test('lint warns about shadowed, never-matching and missing-path rules', () => {
  const l = load(
    [
      'version: 1',
      'filesystem:',
      `  read: ["${ws}", "${ws}/sub", "/definitely/not/here"]`,
      `  write: ["${ws}"]`,
      '  deny: ["/secret"]',
      'commands:',
      '  - {match: [rm], decision: deny}',
      '  - {match: [rm, -i], decision: allow}',
      '  - {match: [make], decision: allow}',
      '  - {match: [make], decision: warn}',
      '  - {match: ["git push"], decision: deny}',
      '  - {match: ["./x"], decision: deny}',
      'network:',
      '  allow: [a.example.com]',
      '  deny: ["*.example.com"]',
    ].join('\n'),
  );
  const msgs = l.warnings.map((w) => `${w.line}: ${w.message}`);
  const has = (re: RegExp) => assert.ok(msgs.some((m) => re.test(m)), `expected a warning ${re}; got\n${msgs.join('\n')}`);
  has(/^3: filesystem\.read\[0\]: redundant/);
  has(/^3: filesystem\.read\[2\]: path \/definitely\/not\/here does not exist/);
  has(/^8: commands\[1\]: never takes effect: commands\[0\]/);
  has(/^9: commands\[2\]: shadowed by commands\[3\]/);
  has(/^11: commands\[4\]: .*whitespace/);
  has(/^12: commands\[5\]: a relative program path never matches/);
  has(/network\.allow\[0\]: never takes effect: network\.deny\[0\]/);
  assert.ok(!msgs.some((m) => /commands\[3\]/.test(m.split(':')[1] ?? '')), 'the winning twin is not itself reported');
});
