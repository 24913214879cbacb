import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { isWardenError } from '../../src/errors.js';
import { openEgress } from '../../src/session/egress.js';
import { tempDir } from '../helpers/tmp.js';
import { compile } from './helpers.js';

/**
 * `warden run` plans the sandbox with the egress paths before the proxy and DNS stub exist (the
 * helper is spawned meanwhile), and releases the command only once `listen()` has resolved. So:
 * the paths are fixed and private before listening, the sockets accept after it, and a socket
 * that cannot listen is a refusal (LAYER_UNAVAILABLE) that leaves nothing behind.
 */

const root = tempDir('warden-open-egress-');
const policy = compile({ network: { allow: ['example.com'] } });
const open = (session: string) => openEgress({ policy, runDir: join(root, 'run'), session, audit: () => {} });

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('the paths come first, private; the sockets accept only after listen()', async () => {
  const eg = open('s-order');
  const dir = dirname(eg.proxySocket);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.ok(existsSync(eg.spec.resolvConf));
  assert.equal(await accepts(eg.proxySocket), false);
  assert.equal(await accepts(eg.dnsSocket), false);
  await eg.listen();
  assert.equal(await accepts(eg.proxySocket), true);
  assert.equal(await accepts(eg.dnsSocket), true);
  assert.equal(statSync(eg.proxySocket).mode & 0o777, 0o600);
  await eg.close();
  assert.ok(!existsSync(dir));
});

test('a socket that cannot listen is LAYER_UNAVAILABLE and leaves nothing behind', async () => {
  const eg = open('s-fail');
  mkdirSync(eg.proxySocket); // something already there: bind fails
  const err = await eg.listen().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isWardenError(err) && err.code === 'LAYER_UNAVAILABLE', String(err));
  assert.equal(await accepts(eg.dnsSocket), false);
  await eg.close();
  assert.ok(!existsSync(dirname(eg.proxySocket)));
});

test('closed before it listened: the directory goes, and listen() refuses', async () => {
  const eg = open('s-early');
  await eg.close();
  assert.ok(!existsSync(dirname(eg.proxySocket)));
  await assert.rejects(eg.listen(), (e: unknown) => isWardenError(e));
});
