import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { connectGateway, FIXTURE_CMD, textOf, within, writePolicy, wardenHome } from './helpers.js';

/** Without --audit-log the gateway writes Warden's chained audit log: verifiable, and showing every decision. */

const T = 20_000;

test('default audit: the chained log verifies and holds the allowed and the denied call', { timeout: 90_000 }, async () => {
  const dir = tempDir('warden-mcp-chain-');
  const home = wardenHome(dir);
  const policy = writePolicy(dir, { version: 1, mcp: { default: 'deny', tools: [{ tool: 'echo', decision: 'allow' }, { id: 'no-secrets', tool: 'get_secret', decision: 'deny', message: 'ask the admin' }] } });
  const g = await connectGateway({ dir, policy, server: FIXTURE_CMD, audit: false, session: 'chain-test' });
  try {
    assert.match(textOf(await within(T, g.client.callTool({ name: 'echo', arguments: { message: 'hi' } }))), /hi/);
    const denied = await within(T, g.client.callTool({ name: 'get_secret', arguments: {} }));
    assert.equal(denied.isError, true);
  } finally {
    await g.close();
  }
  const env = { ...process.env, WARDEN_HOME: home };
  // The gateway closes its log (final checkpoint) as it exits; give it a moment.
  let v = warden(['audit', 'verify', '--json'], { env });
  for (let i = 0; i < 50 && v.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = warden(['audit', 'verify', '--json'], { env });
  }
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const show = warden(['audit', 'show', '--json'], { env });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /no-secrets/);
  assert.match(show.stdout, /chain-test/);
  assert.match(show.stdout, /echo/);
  // The upstream ran inside `warden run`: its own session is in the log, and the gateway's genesis says so.
  assert.match(show.stdout, /"kind":"session\.start"/);
  assert.match(show.stdout, /"upstream-sandbox"/);
});
