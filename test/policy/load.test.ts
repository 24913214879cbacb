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
  return loadPolicy({ file, workspace: ws, home, cwd: dir, lint: true });
}

async function errorsOf(text: string | Uint8Array): Promise<string[]> {
  try {
    await load(text);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
    throw e;
  }
  assert.fail('expected the policy to be rejected');
}

test('a minimal valid policy loads and gets a stable hash', async () => {
  const a = await load('version: 1\nfilesystem:\n  read: [/usr]\n');
  const b = await load('version: 1\nfilesystem:\n  read: [/usr]\n');
  assert.match(a.policy.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(a.policy.hash, b.policy.hash);
  const c = await load('version: 1\nfilesystem:\n  read: [/usr, /opt]\n');
  assert.notEqual(a.policy.hash, c.policy.hash);
});

test('unknown keys are errors at their own line and column', async () => {
  const errs = (await errorsOf('version: 1\nfilesystem:\n  read: [/usr]\n  dney: [~/.ssh]\n'));
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^4:3: unknown key "filesystem\.dney"/);
});

test('wrong types, unknown decisions and bad versions are located', async () => {
  assert.match((await errorsOf('version: 1\nfilesystem:\n  read: /usr\n'))[0]!, /^3:9: filesystem\.read: /);
  assert.match((await errorsOf('version: 1\ncommands:\n  - match: [rm]\n    decision: nuke\n'))[0]!, /^4:15: commands\.0\.decision/);
  assert.match((await errorsOf('version: 2\n'))[0]!, /^1:10: version/);
  assert.match((await errorsOf('version: 1\ncommands:\n  - match: [git]\n    decision: steer\n'))[0]!, /steer/);
});

test('duplicate keys are errors', async () => {
  const errs = (await errorsOf('version: 1\nnetwork:\n  allow: [a.com]\n  allow: [b.com]\n'));
  assert.match(errs[0]!, /^4:3: duplicate key/);
});

test('bad globs, hosts and path variables are errors with a location', async () => {
  assert.match((await errorsOf('version: 1\nfilesystem:\n  deny: ["/a/[b"]\n'))[0]!, /^3:10: filesystem\.deny\.0: bad glob/);
  assert.match((await errorsOf('version: 1\nnetwork:\n  allow: ["exa*mple.com"]\n'))[0]!, /^3:11: network\.allow\.0: "\*" is only allowed/);
  assert.match((await errorsOf('version: 1\nnetwork:\n  allow: ["a.com:99999"]\n'))[0]!, /port 99999/);
  assert.match((await errorsOf('version: 1\nfilesystem:\n  read: ["${nope}/x"]\n'))[0]!, /unknown variable/);
  assert.match((await errorsOf('version: 1\nnetwork:\n  hosts: {a.test: not-an-ip}\n'))[0]!, /not an IP/);
  assert.match((await errorsOf('version: 1\ncommands:\n  - {id: x, match: [a], decision: allow}\n  - {id: x, match: [b], decision: allow}\n'))[0]!, /duplicate rule id/);
  assert.match((await errorsOf('version: 1\nfilesystem:\n  private: ["~/.cache/*"]\n'))[0]!, /^3:13: filesystem\.private\.0: .*is a glob; a private directory is a mount point/);
});

test('filesystem.private: a write zone to decisions, expanded like every path, not linted for existence', async () => {
  const l = await load('version: 1\nfilesystem:\n  private: [~/.never-made-cache]\n');
  const p = join(home, '.never-made-cache');
  assert.deepEqual(l.policy.fs.private, [p]);
  assert.equal(evaluate(l.policy, { kind: 'file', path: join(p, 'x'), access: 'write' }).decision, 'allow');
  assert.deepEqual(l.warnings, []);
  const d = await load('version: 1\n');
  assert.equal(evaluate(d.policy, { kind: 'file', path: join(p, 'x'), access: 'write' }).decision, 'deny', 'control: without it the default denies');
});

test('every error is reported, not just the first', async () => {
  const errs = (await errorsOf('version: 1\nfilesystem:\n  raed: []\nnetwrok: {}\n'));
  assert.equal(errs.length, 2);
});

test('hostile documents are refused with one clear error', async () => {
  const bomb = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
  assert.match((await errorsOf(bomb.join('\n')))[0]!, /alias/i);
  assert.match((await errorsOf('version: 1\nx: ' + '['.repeat(500) + ']'.repeat(500)))[0]!, /nesting|deep|depth/i);
  assert.match((await errorsOf(new Uint8Array([...Buffer.from('version: 1\n# caf'), 0xc3, 0x28, 0x0a])))[0]!, /^2:6: invalid UTF-8/);
  assert.match((await errorsOf('x'.repeat(MAX_POLICY_BYTES + 10)))[0]!, /byte limit/);
  assert.match((await errorsOf(''))[0]!, /empty policy/);
  assert.match((await errorsOf('\u0000\u0001garbage: ['))[0]!, /NUL|error|unexpected|flow/i);
  assert.match((await errorsOf('- just\n- a list\n'))[0]!, /expected object/);
  assert.match((await errorsOf('version: 1\n  bad indent: x\n'))[0]!, /^\d+:\d+: /);
});

test('paths: ~, ${workspace}, relative to the policy file, and .. normalised', async () => {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const l = await load(
    'version: 1\nfilesystem:\n  read: ["~/docs", "data"]\n  write: ["${workspace}/out"]\n  deny: ["${workspace}/../home/.ssh"]\n',
    'sub/p.yaml',
  );
  assert.deepEqual(l.policy.fs.read, [join(home, 'docs'), join(dir, 'sub', 'data')]);
  assert.deepEqual(l.policy.fs.write, [join(ws, 'out')]);
  assert.deepEqual(l.policy.fs.deny, [join(home, '.ssh')]);
});

test('symlinks in rule paths are resolved for matching', async () => {
  const real = join(dir, 'real-secrets');
  mkdirSync(real);
  symlinkSync(real, join(home, 'link-secrets'));
  const l = await load('version: 1\nfilesystem:\n  read: ["~"]\n  deny: ["~/link-secrets"]\n');
  const d = evaluate(l.policy, { kind: 'file', path: join(real, 'key'), access: 'read' });
  assert.equal(d.decision, 'deny');
  assert.equal(d.rule, 'filesystem.deny[0]');
});

test('extends: a built-in profile is the base layer', async () => {
  const l = await load('version: 1\nextends: coding-agent\nnetwork:\n  allow: [registry.npmjs.org]\n');
  assert.equal(evaluate(l.policy, { kind: 'net', host: 'registry.npmjs.org', port: 443 }).decision, 'allow');
  const ssh = evaluate(l.policy, { kind: 'file', path: join(home, '.ssh', 'id_ed25519'), access: 'read' });
  assert.equal(ssh.decision, 'deny');
  assert.equal(ssh.rule, 'coding-agent:filesystem.deny[0]');
  await assert.rejects(load('version: 1\nextends: nope\n'), /unknown profile/);
});

test('lint warns about shadowed, never-matching and missing-path rules', async () => {
  const l = await load(
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

test('validated-document cache: same result as a full parse, keyed by the exact bytes, corrupt entries are misses', async () => {
  const { readdirSync, writeFileSync: wf } = await import('node:fs');
  const cacheDir = join(dir, 'cache');
  const text = 'version: 1\nextends: coding-agent\nnetwork:\n  allow: [a.example.com]\n';
  const file = writeFile(dir, 'c.yaml', text);
  const opts = { file, workspace: ws, home, cwd: dir, cacheDir };
  const cold = await loadPolicy(opts);
  const entries = readdirSync(cacheDir);
  assert.equal(entries.length, 2, 'the profile and the file are cached');
  const warm = await loadPolicy(opts);
  assert.equal(warm.policy.hash, cold.policy.hash);
  for (const e of entries) wf(join(cacheDir, e), '{corrupt');
  assert.equal((await loadPolicy(opts)).policy.hash, cold.policy.hash);
  writeFile(dir, 'c.yaml', text.replace('a.example.com', 'b.example.com'));
  const changed = await loadPolicy(opts);
  assert.notEqual(changed.policy.hash, cold.policy.hash, 'changed bytes are a cache miss');
  await assert.rejects(loadPolicy({ ...opts, file: writeFile(dir, 'bad.yaml', 'version: 1\nfoo: 1\n') }), /unknown key "foo"/);
});
