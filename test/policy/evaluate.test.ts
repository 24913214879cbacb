import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import { evaluate, explain, matchArgs } from '../../src/policy/evaluate.js';
import { policySchema, type PolicyInput } from '../../src/policy/schema.js';
import type { PolicyEvent } from '../../src/policy/event.js';

export function compile(input: Omit<PolicyInput, 'version'>): CompiledPolicy {
  const doc = policySchema.parse({ version: 1, ...input });
  const r = compilePolicy([{ doc, file: 'test.yaml', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/pol' }], { home: '/home/u', workspace: '/home/u/proj' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.policy;
}

const d = (p: CompiledPolicy, ev: PolicyEvent) => evaluate(p, ev);

test('file: deny overrides a more specific grant', () => {
  const p = compile({ filesystem: { write: ['${workspace}', '${workspace}/secrets/ok'], deny: ['${workspace}/secrets'] } });
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/src/a.ts', access: 'write' }).decision, 'allow');
  const r = d(p, { kind: 'file', path: '/home/u/proj/secrets/ok/x', access: 'read' });
  assert.equal(r.decision, 'deny');
  assert.equal(r.rule, 'filesystem.deny[0]');
});

test('file: read zones do not grant write; no rule means deny', () => {
  const p = compile({ filesystem: { read: ['/usr'] } });
  assert.equal(d(p, { kind: 'file', path: '/usr/bin/ls', access: 'exec' }).decision, 'allow');
  const w = d(p, { kind: 'file', path: '/usr/bin/ls', access: 'write' });
  assert.equal(w.decision, 'deny');
  assert.match(w.reason, /read-only/);
  assert.equal(d(p, { kind: 'file', path: '/etc/passwd', access: 'read' }).rule, 'default.file');
});

test('file: a read rule inside a write rule is a read-only island for writes (as the floor binds it); not one of the same path or a wider one', () => {
  const p = compile({ filesystem: { read: ['/home/u', '${workspace}/.git/config', '${workspace}/.git/hooks', '~/shared'], write: ['${workspace}', '~/shared'], private: ['${workspace}/.cache'] } });
  const w = d(p, { kind: 'file', path: '/home/u/proj/.git/config', access: 'write' });
  assert.equal(w.decision, 'deny');
  assert.equal(w.rule, 'filesystem.read[1]');
  assert.match(w.reason, /read-only: filesystem\.read\[1\].*inside filesystem\.write\[0\]/);
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/.git/hooks/post-checkout', access: 'write' }).decision, 'deny');
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/.git/config', access: 'read' }).decision, 'allow', 'still readable');
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/.git/HEAD', access: 'write' }).decision, 'allow', 'the rest of .git is writable');
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/src/a.ts', access: 'write' }).decision, 'allow', 'a wider read rule (/home/u) makes no island');
  assert.equal(d(p, { kind: 'file', path: '/home/u/shared/x', access: 'write' }).decision, 'allow', 'read and write of the same path: the write wins');
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/.cache/x', access: 'write' }).decision, 'allow', 'private is a write zone');
  assert.equal(explain(p, { kind: 'file', path: '/home/u/proj/.git/config', access: 'write' }).result.decision, 'deny', 'explain agrees');
});

test('file: ask zones give approve, and the more specific zone wins', () => {
  const p = compile({ filesystem: { write: ['~'], ask: ['~/docs'] } });
  assert.equal(d(p, { kind: 'file', path: '/home/u/docs/a.pdf', access: 'read' }).decision, 'approve');
  assert.equal(d(p, { kind: 'file', path: '/home/u/other', access: 'read' }).decision, 'allow');
});

test('file: .. in the event path cannot climb out of a zone', () => {
  const p = compile({ filesystem: { write: ['${workspace}'] } });
  assert.equal(d(p, { kind: 'file', path: '/home/u/proj/../.bashrc', access: 'write' }).decision, 'deny');
  assert.equal(d(p, { kind: 'file', path: '/home/u/projX/a', access: 'write' }).decision, 'deny', 'prefix of a name is not containment');
});

test('exec: most specific rule wins, deny overrides, program matched by basename of the real path', () => {
  const p = compile({
    commands: [
      { match: ['git'], decision: 'allow' },
      { match: ['git', 'push', '**', '--force'], decision: 'steer', steer: 'git push --force-with-lease', message: 'no force' },
      { match: ['git', 'push', '**', '--force', 'origin', 'feature/*'], decision: 'allow' },
      { match: ['rm'], decision: 'deny', message: 'no rm' },
      { match: ['rm', '-i'], decision: 'allow' },
      { match: ['/opt/tools/*'], decision: 'approve' },
    ],
  });
  assert.equal(d(p, { kind: 'exec', argv: ['git', 'status'] }).decision, 'allow');
  const s = d(p, { kind: 'exec', argv: ['git', 'push', 'origin', 'main', '--force'] });
  assert.equal(s.decision, 'steer');
  assert.equal(s.suggestion, 'git push --force-with-lease');
  assert.equal(s.message, 'no force');
  assert.equal(d(p, { kind: 'exec', argv: ['git', 'push', '--force', 'origin', 'feature/x'] }).decision, 'allow');
  assert.equal(d(p, { kind: 'exec', argv: ['rm', '-i', 'x'] }).decision, 'deny', 'deny overrides the more specific allow');
  // exec -a renames argv[0]; the real path decides.
  assert.equal(d(p, { kind: 'exec', argv: ['ls', '-la'], path: '/usr/bin/rm' }).decision, 'deny');
  assert.equal(d(p, { kind: 'exec', argv: ['/usr/bin/rm', 'x'] }).decision, 'deny');
  assert.equal(d(p, { kind: 'exec', argv: ['t'], path: '/opt/tools/t' }).decision, 'approve');
  assert.equal(d(p, { kind: 'exec', argv: ['make'] }).rule, 'default.exec');
});

test('matchArgs: ** gaps and prefix semantics', () => {
  const lit = (s: string) => ({ test: (x: string) => x === s });
  assert.ok(matchArgs([lit('push'), null, lit('-f')], ['push', 'o', 'm', '-f', 'z']));
  assert.ok(!matchArgs([lit('push'), null, lit('-f')], ['push', 'o', 'm']));
  assert.ok(matchArgs([], ['anything']));
  assert.ok(matchArgs([null], []));
  assert.ok(!matchArgs([lit('a')], []));
  const big = Array.from({ length: 200_000 }, (_, i) => `a${i}`);
  assert.ok(!matchArgs([null, lit('x'), null, lit('y')], big));
});

test('net: exact over wildcard, wildcard never matches apex or IPs, ports, IP canonical forms', () => {
  const p = compile({ network: { allow: ['*.example.com', 'api.example.com:443', '127.0.0.1'], deny: ['bad.example.com'], approve: ['ask.example.com'] } });
  assert.equal(d(p, { kind: 'net', host: 'www.example.com', port: 80 }).decision, 'allow');
  assert.equal(d(p, { kind: 'net', host: 'example.com', port: 80 }).decision, 'deny');
  assert.equal(d(p, { kind: 'net', host: 'evilexample.com', port: 80 }).decision, 'deny');
  assert.equal(d(p, { kind: 'net', host: 'BAD.example.com.', port: 443 }).decision, 'deny');
  assert.equal(d(p, { kind: 'net', host: 'ask.example.com', port: 443 }).decision, 'approve');
  assert.equal(d(p, { kind: 'net', host: 'api.example.com', port: 443 }).rule, 'network.allow[1]');
  assert.equal(d(p, { kind: 'net', host: '127.1', port: 80 }).decision, 'allow', '127.1 is 127.0.0.1');
  assert.equal(d(p, { kind: 'net', host: '2130706433', port: 80 }).decision, 'allow');
  assert.equal(d(p, { kind: 'net', host: '10.0.0.1', port: 80 }).rule, 'default.net');
});

test('mcp: server-scoped rules beat unscoped ones; default applies', () => {
  const p = compile({ mcp: { default: 'approve', tools: [{ tool: 'read_*', decision: 'allow' }, { tool: 'read_*', server: 'untrusted', decision: 'deny' }] } });
  assert.equal(d(p, { kind: 'mcp', tool: 'read_file', server: 'fs' }).decision, 'allow');
  assert.equal(d(p, { kind: 'mcp', tool: 'read_file', server: 'untrusted' }).decision, 'deny');
  assert.equal(d(p, { kind: 'mcp', tool: 'write_file' }).decision, 'approve');
});

test('explain lists every candidate in rank order and agrees with evaluate', () => {
  const p = compile({ filesystem: { read: ['/'], write: ['${workspace}'], deny: ['/**/.env'] } });
  const ev: PolicyEvent = { kind: 'file', path: '/home/u/proj/.env', access: 'read' };
  const ex = explain(p, ev);
  assert.deepEqual(ex.result, evaluate(p, ev));
  assert.deepEqual(ex.candidates.map((c) => c.rule), ['filesystem.deny[0]', 'filesystem.write[0]', 'filesystem.read[0]']);
});
