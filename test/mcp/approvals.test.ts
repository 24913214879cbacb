import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { connectGateway, FIXTURE_CMD, readLog, textOf, within, writePolicy, wardenHome } from './helpers.js';

/**
 * An `approve` MCP rule: the tools/call is held until a human answers from another terminal
 * (`warden approvals list/approve/deny`); a denied or unanswered call never reaches the server.
 */

const T = 30_000;

async function pending(env: NodeJS.ProcessEnv): Promise<{ id: string; summary: string; kind: string }> {
  for (let i = 0; i < 200; i++) {
    const l = warden(['approvals', 'list', '--json'], { env });
    const list = l.code === 0 ? (JSON.parse(l.stdout) as Array<{ id: string; summary: string; kind: string }>) : [];
    if (list[0]) return list[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no pending approval appeared');
}

function calls(log: string, name: string): number {
  return readLog(log).filter((m) => m['method'] === 'tools/call' && (m['params'] as { name?: string })?.name === name).length;
}

test('approve and deny from another terminal answer a held tools/call', { timeout: 90_000 }, async () => {
  const dir = tempDir('warden-mcp-approve-');
  const log = join(dir, 'server.jsonl');
  const policy = writePolicy(dir, { version: 1, env: { pass: ['FIXTURE_*'] }, approvals: { timeout: 30 }, mcp: { default: 'deny', tools: [{ id: 'ask-echo', tool: 'echo', decision: 'approve' }] } });
  const g = await connectGateway({ dir, policy, server: FIXTURE_CMD, audit: false, session: 'approve-test', env: { FIXTURE_LOG: log } });
  const env = { ...process.env, WARDEN_HOME: wardenHome(dir) };
  try {
    const first = g.client.callTool({ name: 'echo', arguments: { message: 'first' } });
    const p1 = await pending(env);
    assert.equal(p1.kind, 'mcp');
    assert.match(p1.summary, /echo/);
    assert.equal(calls(log, 'echo'), 0, 'nothing reaches the server while the call is pending');
    const a = warden(['approvals', 'approve', p1.id], { env });
    assert.equal(a.code, 0, a.stderr);
    assert.match(textOf(await within(T, first)), /first/);
    assert.equal(calls(log, 'echo'), 1);

    const second = g.client.callTool({ name: 'echo', arguments: { message: 'second' } });
    const p2 = await pending(env);
    assert.notEqual(p2.id, p1.id);
    assert.equal(warden(['approvals', 'deny', p2.id], { env }).code, 0);
    const r = await within(T, second);
    assert.equal(r.isError, true);
    assert.match(textOf(r), /ask-echo|approval/);
    assert.equal(calls(log, 'echo'), 1, 'the denied call never reached the server');
  } finally {
    await g.close();
  }
  let show = warden(['audit', 'show', '--json'], { env });
  for (let i = 0; i < 50 && !/approval\.answer[\s\S]*approval\.answer/.test(show.stdout); i++) {
    await new Promise((r) => setTimeout(r, 100));
    show = warden(['audit', 'show', '--json'], { env });
  }
  assert.match(show.stdout, /approval\.request/);
  assert.match(show.stdout, /approval\.answer/);
  assert.match(show.stdout, /ask-echo/);
});
