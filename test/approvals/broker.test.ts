import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApprovalBroker, bindingHash } from '../../src/approvals/broker.js';
import { ask } from '../../src/approvals/client.js';
import { ApprovalsServer } from '../../src/approvals/server.js';
import { WARDEN_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const op = { program: '/usr/bin/git', argv: ['git', 'push', '--force'], cwd: '/w' };
const req = { kind: 'exec', summary: 'exec git push --force', operation: op, rule: 'commands[0]' };

test('no answer before the deadline is a deny, audited as a timeout', async () => {
  const events: string[] = [];
  const b = new ApprovalBroker({ timeoutMs: 30, onEvent: (e) => events.push(e.type) });
  const a = await b.request(req);
  assert.deepEqual([a.decision, a.by], ['deny', 'timeout']);
  assert.deepEqual(events, ['request', 'timeout']);
  assert.equal(b.list().length, 0);
});

test('an explicit allow is bound to the operation; a mismatched binding is refused', async () => {
  const b = new ApprovalBroker({ timeoutMs: 5000 });
  const p = b.request(req);
  const [pending] = b.list();
  assert.ok(pending);
  assert.equal(pending.binding, bindingHash('exec', op));
  assert.equal(b.answer(pending.id, 'allow', 'test', 'once', bindingHash('exec', { ...op, argv: ['git', 'push'] })).ok, false);
  assert.equal(b.list().length, 1, 'still pending after the mismatched answer');
  assert.equal(b.answer(pending.id, 'allow', 'test').ok, true);
  assert.equal((await p).decision, 'allow');
  assert.equal(b.answer(pending.id, 'allow', 'test').ok, false, 'an answered request cannot be answered again');
});

test('scope once grants nothing more; scope session lets the same operation through until expiry', async () => {
  let now = 1000;
  const b = new ApprovalBroker({ timeoutMs: 20, grantTtlMs: 100, now: () => now });
  const p1 = b.request(req);
  b.answer(b.list()[0]!.id, 'allow', 'test', 'once');
  assert.equal((await p1).decision, 'allow');
  assert.equal((await b.request(req)).by, 'timeout', 'once is once');
  const p2 = b.request(req);
  b.answer(b.list()[0]!.id, 'allow', 'test', 'session');
  await p2;
  const hit = await b.request(req);
  assert.equal(hit.decision, 'allow');
  assert.match(hit.by, /^grant:/);
  assert.equal((await b.request({ ...req, operation: { ...op, cwd: '/other' } })).decision, 'deny', 'a different cwd is a different operation');
  now += 101;
  assert.equal((await b.request(req)).decision, 'deny', 'the grant expired');
});

test('closing the broker denies everything pending and everything after', async () => {
  const b = new ApprovalBroker({ timeoutMs: 60_000 });
  const p = b.request(req);
  b.close();
  assert.deepEqual([(await p).decision, (await p).by], ['deny', 'closed']);
  assert.equal((await b.request(req)).decision, 'deny');
});

test('approvals from a second terminal: list, approve and deny through the CLI', async () => {
  const home = tempDir();
  const runDir = join(home, 'run');
  const b = new ApprovalBroker({ timeoutMs: 20_000 });
  const server = new ApprovalsServer({ broker: b, session: 's1', runDir });
  const sock = await server.start();
  assert.equal(statSync(join(runDir, 'approvals')).mode & 0o777, 0o700);
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  const env = { ...process.env, WARDEN_HOME: home };
  const cli = (args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const c = spawn(process.execPath, [WARDEN_BIN, 'approvals', ...args], { env });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      c.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    });
  try {
    const first = b.request(req);
    const second = b.request({ ...req, summary: 'exec rm -rf build', operation: { argv: ['rm', '-rf', 'build'] } });
    const list = await cli(['list', '--json']);
    assert.equal(list.code, 0, list.err);
    const pending = JSON.parse(list.out) as Array<{ id: string; summary: string }>;
    assert.equal(pending.length, 2);
    const ok = await cli(['approve', pending[0]!.id]);
    assert.equal(ok.code, 0, ok.err);
    const a1 = await first;
    assert.equal(a1.decision, 'allow');
    assert.match(a1.by, /^uid:\d+/);
    const no = await cli(['deny', pending[1]!.id]);
    assert.equal(no.code, 0, no.err);
    assert.equal((await second).decision, 'deny');
    const again = await cli(['approve', pending[0]!.id]);
    assert.notEqual(again.code, 0);
    assert.match(again.err, /^warden: no pending approval/);
    // Garbage on the socket changes nothing.
    const bad = await ask(sock, { op: 'answer', id: 'x', decision: 'maybe' } as never);
    assert.equal(bad.ok, false);
  } finally {
    await server.close();
  }
});
