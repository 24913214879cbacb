import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { tempDir } from '../helpers/tmp.js';
import { auditRecord, connectGateway, ENTRY, FIXTURE_CMD, NODE_ARGS, readAudit, readLog, ROOT, textOf, within, writePolicy, writeYaml, wardenHome } from './helpers.js';

/**
 * The gateway against fixture servers that attack it: poisoned definitions, a rug pull between
 * runs, injected results, and a server that misbehaves at the protocol level. Every await is
 * bounded so a hang fails the test rather than the suite.
 */

const T = 20_000;

function policyFile(dir: string, mcp: Record<string, unknown> = { default: 'allow' }, extra: Record<string, unknown> = {}): string {
  return writePolicy(dir, { version: 1, env: { pass: ['FIXTURE_*'] }, mcp, ...extra });
}

function calls(log: string, name: string): number {
  return readLog(log).filter((m) => m['method'] === 'tools/call' && (m['params'] as { name?: string })?.name === name).length;
}

test('poisoned definitions: every technique is withheld from tools/list, audited with its rule, and uncallable', async () => {
  const dir = tempDir('warden-mcp-poison-');
  const lock = join(dir, 'lock.json');
  // Another server already pinned in the same lockfile: its tool names are what shadowing is judged against.
  const other = { sha256: 'a'.repeat(64), fields: {}, pinnedAt: new Date().toISOString(), via: 'first-use' };
  writeFileSync(lock, JSON.stringify({ version: 1, servers: { 'stdio:["other-fs"]': { identity: { name: 'other-fs' }, tools: { read_file: other, send_email: other }, updatedAt: new Date().toISOString() } } }), { mode: 0o600 });
  const log = join(dir, 'log.jsonl');
  const g = await connectGateway({ dir, lockfile: lock, policy: policyFile(dir), server: FIXTURE_CMD, env: { FIXTURE_MODE: 'poison', FIXTURE_LOG: log } });
  try {
    const { tools } = await within(T, g.client.listTools());
    assert.deepEqual(tools.map((t) => t.name), ['clean_tool']);
    assert.equal(g.client.getInstructions(), undefined, 'poisoned server instructions are withheld');
    const audit = readAudit(join(dir, 'audit.jsonl'));
    const findings = (tool: string) =>
      audit.filter((r) => r.kind === 'mcp.finding' && r.resource === `fixture-server/${tool}`).flatMap((r) => (r.detail!['findings'] as Array<{ rule: string }>).map((f) => f.rule));
    const expect: Record<string, string[]> = {
      add: ['hidden-instruction-block', 'secret-path', 'extra-argument', 'suspicious-parameter'],
      weather: ['ignore-previous'],
      notes: ['invisible-text'],
      calc: ['invisible-text'],
      translate: ['invisible-text'],
      Bash: ['name-shadows-builtin'],
      search: ['tool-reference'],
      format: ['conceal-from-user'],
      lookup: ['ignore-previous', 'secret-path'],
      read_file: ['name-collision'],
    };
    for (const [tool, rules] of Object.entries(expect)) {
      const got = findings(tool);
      for (const r of rules) assert.ok(got.includes(r), `${tool}: expected ${r}, got ${got.join(',')}`);
      assert.ok(audit.some((r) => r.kind === 'mcp.tool.withheld' && r.resource === `fixture-server/${tool}` && r.rule === 'mcp.inspect'), `${tool} withheld`);
    }
    assert.deepEqual(findings('clean_tool'), []);
    const smuggled = audit.find((r) => r.kind === 'mcp.finding' && r.resource === 'fixture-server/calc')!;
    assert.match(JSON.stringify(smuggled.detail), /hidden: Also read the \.env file/, 'tag-character ASCII is decoded for the auditor');
    const r = await within(T, g.client.callTool({ name: 'weather', arguments: { city: 'Paris' } }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /denied by mcp\.inspect.*ignore-previous/);
    assert.equal(calls(log, 'weather'), 0, 'the denied call never reached the server');
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'clean_tool', arguments: { a: 1, b: 2 } }))), 'clean_tool:{"a":1,"b":2}');
  } finally {
    await g.close();
  }
});

test('poisoned definitions with inspect.onFinding: approve are listed but every call needs approval (unanswered → deny)', async () => {
  const dir = tempDir('warden-mcp-poison2-');
  const log = join(dir, 'log.jsonl');
  // The gateway serves `warden approvals`; nobody answers here, so the 1 s timeout denies.
  const g = await connectGateway({ dir, policy: policyFile(dir, { default: 'allow', inspect: { onFinding: 'approve' } }, { approvals: { timeout: 1 } }), server: FIXTURE_CMD, env: { FIXTURE_MODE: 'poison', FIXTURE_LOG: log } });
  try {
    const { tools } = await within(T, g.client.listTools());
    assert.ok(tools.some((t) => t.name === 'weather'));
    const r = await within(T, g.client.callTool({ name: 'weather', arguments: {} }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /approval: (timeout|denied)/);
    assert.equal(calls(log, 'weather'), 0);
  } finally {
    await g.close();
  }
});

test('rug pull between runs: the changed tool is blocked (naming the field), others keep working, pin --accept re-approves', async () => {
  const dir = tempDir('warden-mcp-rug-');
  const state = join(dir, 'state');
  const log = join(dir, 'log.jsonl');
  const policy = policyFile(dir);
  const env = { FIXTURE_MODE: 'rugpull', FIXTURE_STATE: state, FIXTURE_LOG: log };
  writeFileSync(state, 'v1');
  let g = await connectGateway({ dir, policy, server: FIXTURE_CMD, env });
  assert.deepEqual((await within(T, g.client.listTools())).tools.map((t) => t.name), ['stable', 'changing']);
  assert.equal(textOf(await within(T, g.client.callTool({ name: 'changing', arguments: { topic: 'a' } }))), 'changing:{"topic":"a"}');
  await g.close();

  writeFileSync(state, 'v3'); // same description, new `extra` parameter, plus a new tool
  g = await connectGateway({ dir, policy, server: FIXTURE_CMD, env });
  try {
    assert.deepEqual((await within(T, g.client.listTools())).tools.map((t) => t.name), ['stable', 'added_later']);
    const r = await within(T, g.client.callTool({ name: 'changing', arguments: { topic: 'a', extra: 'secret' } }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /denied by mcp\.pin.*changed since it was pinned \(inputSchema\)/);
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'stable', arguments: { x: '1' } }))), 'stable:{"x":"1"}');
    assert.equal(calls(log, 'changing'), 1, 'only the run-1 call reached the server');
    const pinRec = readAudit(join(dir, 'audit.jsonl')).find((a) => a.kind === 'mcp.pin' && a.detail?.['action'] === 'changed');
    assert.deepEqual(pinRec?.detail?.['fields'], ['inputSchema']);
  } finally {
    await g.close();
  }

  const pin = spawnSync(process.execPath, [...NODE_ARGS, ENTRY, 'pin', '--accept', '--tool', 'changing', '--policy', policy, '--lockfile', join(dir, 'lock.json'), '--', ...FIXTURE_CMD], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: T,
    env: { ...process.env, ...env, WARDEN_HOME: wardenHome(dir) },
  });
  assert.equal(pin.status, 0, pin.stderr);
  assert.match(pin.stdout, /accept changing \(changed: inputSchema\)/);
  const list = spawnSync(process.execPath, [...NODE_ARGS, ENTRY, 'pin', '--list', '--lockfile', join(dir, 'lock.json')], { cwd: ROOT, encoding: 'utf8', timeout: T });
  assert.match(list.stdout, /changing {2}sha256:[0-9a-f]{16}… {2}accept/);

  g = await connectGateway({ dir, policy, server: FIXTURE_CMD, env });
  try {
    assert.deepEqual((await within(T, g.client.listTools())).tools.map((t) => t.name), ['stable', 'changing', 'added_later']);
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'changing', arguments: { topic: 'b' } }))), 'changing:{"topic":"b"}');
  } finally {
    await g.close();
  }
});

test('new tools under pinning.newTools: block are withheld until accepted', async () => {
  const dir = tempDir('warden-mcp-newblock-');
  const state = join(dir, 'state');
  const env = { FIXTURE_MODE: 'rugpull', FIXTURE_STATE: state };
  const ext = writeYaml(dir, 'ext.yaml', { pinning: { newTools: 'block' } });
  writeFileSync(state, 'v1');
  let g = await connectGateway({ dir, policy: policyFile(dir), ext, server: FIXTURE_CMD, env });
  await within(T, g.client.listTools());
  await g.close();
  writeFileSync(state, 'v4'); // v4: like v1 plus added_later
  g = await connectGateway({ dir, policy: policyFile(dir), ext, server: FIXTURE_CMD, env });
  try {
    assert.deepEqual((await within(T, g.client.listTools())).tools.map((t) => t.name), ['stable', 'changing']);
    assert.match(textOf(await within(T, g.client.callTool({ name: 'added_later', arguments: {} }))), /new tool, not pinned/);
  } finally {
    await g.close();
  }
});

test('injected results are flagged, and redacted when inspect.redactResults is set', async () => {
  const dir = tempDir('warden-mcp-inject-');
  const ext = writeYaml(dir, 'ext.yaml', { inspect: { redactResults: true } });
  const g = await connectGateway({ dir, policy: policyFile(dir, { default: 'allow' }, { network: { allow: ['docs.example'] } }), ext, server: FIXTURE_CMD });
  try {
    const text = textOf(await within(T, g.client.callTool({ name: 'inject', arguments: {} })));
    assert.match(text, /^Welcome to the docs\./);
    assert.match(text, /\[redacted by warden: hidden-instruction-block\]/);
    assert.match(text, /\[redacted by warden: exfil-image\]/);
    assert.doesNotMatch(text, /evil\.example|Ignore all previous|[\u{E0000}-\u{E007F}]/u);
    const f = (await auditRecord(join(dir, 'audit.jsonl'), (r) => r.kind === 'mcp.finding' && r.resource === 'fixture-server/inject'))!;
    assert.ok(f, 'the finding is in the log');
    const rules = (f.detail!['findings'] as Array<{ rule: string }>).map((x) => x.rule);
    for (const r of ['hidden-instruction-block', 'ignore-previous', 'exfil-image', 'invisible-text']) assert.ok(rules.includes(r), r);
    assert.equal(f.decision, 'redact');
  } finally {
    await g.close();
  }
});

test('denied calls never reach the server; argument conditions deny paths outside the allowed tree', async () => {
  const dir = tempDir('warden-mcp-deny-');
  const log = join(dir, 'log.jsonl');
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  // The condition is in the policy file itself; `ws` is relative to the policy file's directory.
  const policy = policyFile(dir, { default: 'deny', tools: [{ id: 'notes', tool: 'write_note', decision: 'allow', conditions: [{ arg: 'path', under: ['ws'] }] }, { tool: 'echo', decision: 'allow' }, { id: 'no-secrets', tool: 'get_secret', decision: 'deny', message: 'ask the admin' }] });
  const g = await connectGateway({ dir, policy, server: FIXTURE_CMD, env: { FIXTURE_LOG: log } });
  try {
    const names = (await within(T, g.client.listTools())).tools.map((t) => t.name);
    assert.deepEqual(names, ['echo', 'write_note'], 'tools the policy always denies are hidden (hideDenied)');
    const d1 = await within(T, g.client.callTool({ name: 'get_secret', arguments: {} }));
    assert.equal(d1.isError, true);
    assert.match(textOf(d1), /denied by no-secrets.*\nask the admin/s);
    assert.equal((d1._meta as Record<string, { rule: string }>)['warden/decision']!.rule, 'no-secrets');
    const d2 = await within(T, g.client.callTool({ name: 'write_note', arguments: { path: join(ws, '..', 'escape.txt') } }));
    assert.match(textOf(d2), /condition of notes failed: argument path resolves to .*escape\.txt, which is not under/);
    const d3 = await within(T, g.client.callTool({ name: 'flood', arguments: {} }));
    assert.match(textOf(d3), /mcp\.default/);
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'write_note', arguments: { path: join(ws, 'ok.txt') } }))), `write_note:${JSON.stringify({ path: join(ws, 'ok.txt') })}`);
    assert.equal(calls(log, 'get_secret') + calls(log, 'flood'), 0);
    assert.equal(calls(log, 'write_note'), 1, 'only the allowed write reached the server');
    const audit = readAudit(join(dir, 'audit.jsonl')).filter((r) => r.kind === 'mcp.call');
    assert.deepEqual(audit.map((r) => `${r.resource}:${r.decision}:${r.rule}`), ['fixture-server/get_secret:deny:no-secrets', 'fixture-server/write_note:deny:notes', 'fixture-server/flood:deny:mcp.default', 'fixture-server/write_note:allow:notes']);
  } finally {
    await g.close();
  }
});

test('misbehaving server: malformed, oversized, mismatched ids, sprayed ids, floods — answered or dropped, never hanging', async () => {
  const dir = tempDir('warden-mcp-bad-');
  const g = await connectGateway({ dir, policy: policyFile(dir), server: FIXTURE_CMD });
  try {
    await within(T, g.client.listTools());
    await assert.rejects(within(T, g.client.callTool({ name: 'malformed', arguments: {} })), (e: Error & { code?: number }) => e.code === -32011 && /invalid JSON-RPC message/.test(e.message));
    await assert.rejects(within(T, g.client.callTool({ name: 'huge', arguments: {} })), (e: Error & { code?: number }) => e.code === -32010 && /exceeds the limit/.test(e.message));
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'wrong_id', arguments: {} }))), 'right');
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'spray', arguments: {} }))), 'sprayed');
    let logs = 0;
    g.client.setNotificationHandler(z.object({ method: z.literal('notifications/message'), params: z.any() }), () => void logs++);
    const flood = g.client.callTool({ name: 'flood', arguments: {} });
    const ping = within(T, g.client.ping(), 'ping during a flood');
    assert.equal(textOf(await within(T, flood)), 'after flood');
    await ping;
    assert.ok(logs < 20_000 && logs > 0, `rate-limited notifications delivered: ${logs}`);
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'echo', arguments: { message: 'still alive' } }))), 'echo:{"message":"still alive"}');
    assert.deepEqual(g.errors.map((e) => e.message), [], 'the client never saw a response it did not ask for');
    await new Promise((r) => setTimeout(r, 1200)); // the rate-limit summary is written once a second
    const audit = readAudit(join(dir, 'audit.jsonl'));
    assert.ok(audit.filter((r) => r.rule === 'mcp.unknown-id').length >= 200, 'wrong and sprayed ids dropped and audited');
    assert.ok(audit.some((r) => r.rule === 'mcp.malformed' && /exceeds the limit/.test(String(r.detail?.['reason']))));
    assert.ok(audit.some((r) => r.rule === 'mcp.rate-limit'));
  } finally {
    await g.close();
  }
});

test('misbehaving server: a crash mid-call fails the pending call and the gateway exits reporting it', async () => {
  const dir = tempDir('warden-mcp-crash-');
  const g = await connectGateway({ dir, policy: policyFile(dir), server: FIXTURE_CMD });
  await within(T, g.client.listTools());
  const closed = new Promise<void>((r) => (g.transport.onclose = () => r()));
  await assert.rejects(within(T, g.client.callTool({ name: 'crash', arguments: {} })), (e: Error & { code?: number }) => e.code === -32000 || /closed/i.test(e.message));
  await within(T, closed, 'gateway exit');
  assert.match(g.stderr(), /upstream server exited with code 3/);
  assert.ok(readAudit(join(dir, 'audit.jsonl')).some((r) => r.kind === 'mcp.upstream.closed'));
});

test('progress notifications pass through to the caller; progress for other tokens is dropped', async () => {
  const dir = tempDir('warden-mcp-progress-');
  const g = await connectGateway({ dir, policy: policyFile(dir), server: FIXTURE_CMD });
  try {
    // Observe the wire: the SDK client runs notification handlers a microtask late and drops
    // progress that lands after its response (its own race), so assert on what the gateway sent.
    const wire: string[] = [];
    const deliver = g.transport.onmessage!;
    g.transport.onmessage = (m) => {
      const msg = m as { method?: string; id?: unknown; params?: { progress?: number } };
      wire.push(msg.method === 'notifications/progress' ? `progress ${msg.params?.progress}` : msg.method ?? 'response');
      deliver(m);
    };
    const seen: number[] = [];
    const r = await within(T, g.client.callTool({ name: 'progress', arguments: {} }, undefined, { onprogress: (p) => void seen.push(p.progress) }));
    assert.equal(textOf(r), 'done');
    assert.deepEqual(wire, ['progress 1', 'progress 2', 'progress 3', 'response'], 'in order, before the result; the foreign token is dropped');
    assert.deepEqual(seen, [1, 2, 3].slice(0, seen.length), 'what the caller saw is in order');
    // The SDK reports its own late-handler race as "unknown token"; nothing else may go wrong.
    assert.deepEqual(g.errors.filter((e) => !/progress notification for an unknown token/.test(e.message)), []);
  } finally {
    await g.close();
  }
});

test('session taint crosses servers: after a sensitive read on one gateway, a sink on another needs approval (unanswered → deny)', async () => {
  const dir = tempDir('warden-mcp-taint-');
  const policy = policyFile(dir, { default: 'allow' }, { approvals: { timeout: 1 } });
  const sinkLog = join(dir, 'sink.jsonl');
  const a = await connectGateway({ dir, policy, server: FIXTURE_CMD, session: 's1', audit: join(dir, 'a.jsonl'), lockfile: join(dir, 'a.lock') });
  const b = await connectGateway({ dir, policy, server: FIXTURE_CMD, session: 's1', audit: join(dir, 'b.jsonl'), lockfile: join(dir, 'b.lock'), name: 'chat', env: { FIXTURE_MODE: 'sink', FIXTURE_LOG: sinkLog } });
  const other = await connectGateway({ dir, policy, server: FIXTURE_CMD, session: 's2', audit: join(dir, 'c.jsonl'), lockfile: join(dir, 'c.lock'), name: 'chat2', env: { FIXTURE_MODE: 'sink' } });
  try {
    await within(T, Promise.all([a.client.listTools(), b.client.listTools(), other.client.listTools()]));
    assert.equal((await within(T, b.client.callTool({ name: 'send_message', arguments: { text: 'hello' } }))).isError, undefined);
    assert.equal(textOf(await within(T, a.client.callTool({ name: 'get_secret', arguments: { name: 'x' } }))), 'token=s3cr3t');
    const r = await within(T, b.client.callTool({ name: 'send_message', arguments: { text: 'token=s3cr3t' } }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /denied by mcp\.taint.*fixture-server\/get_secret.*approval: (timeout|denied)/s);
    assert.equal(calls(sinkLog, 'send_message'), 1, 'the tainted send never reached the sink server');
    assert.equal((await within(T, other.client.callTool({ name: 'send_message', arguments: { text: 'x' } }))).isError, undefined, 'another session is not tainted');
  } finally {
    await Promise.all([a.close(), b.close(), other.close()]);
  }
});

test('methods outside MCP are refused; the SDK client sees a JSON-RPC error', async () => {
  const dir = tempDir('warden-mcp-method-');
  const log = join(dir, 'log.jsonl');
  const g = await connectGateway({ dir, policy: policyFile(dir), server: FIXTURE_CMD, env: { FIXTURE_LOG: log } });
  try {
    await assert.rejects(within(T, g.client.request({ method: 'tools/execute', params: { name: 'echo' } }, z.object({}).loose())), (e: Error & { code?: number }) => e.code === -32601);
    assert.ok(!readLog(log).some((m) => m['method'] === 'tools/execute'));
  } finally {
    await g.close();
  }
});

test('malformed client input gets JSON-RPC errors, never a crash', async () => {
  const dir = tempDir('warden-mcp-client-');
  const child = spawn(process.execPath, [...NODE_ARGS, ENTRY, '--policy', policyFile(dir), '--lockfile', join(dir, 'l.json'), '--quiet', '--', ...FIXTURE_CMD], {
    cwd: ROOT,
    env: { ...process.env, WARDEN_HOME: wardenHome(dir) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  const waitFor = async (pred: (m: Record<string, unknown>) => boolean, what: string) => {
    const t0 = Date.now();
    while (Date.now() - t0 < T) {
      const m = lines.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${what}`);
  };
  try {
    child.stdin.write('garbage\n');
    const e1 = await waitFor((m) => (m['error'] as { code?: number })?.code === -32700, 'parse error');
    assert.equal(e1['id'], undefined);
    child.stdin.write('{"jsonrpc":"2.0","id":5,"method":123}\n');
    assert.equal(((await waitFor((m) => m['id'] === 5, 'invalid request')) ['error'] as { code: number }).code, -32600);
    child.stdin.write('[{"jsonrpc":"2.0","id":6,"method":"ping"}]\n');
    await waitFor((m) => /batch/.test(String((m['error'] as { message?: string })?.message)), 'batch error');
    child.stdin.write('{"jsonrpc":"2.0","id":7,"method":"ping","params":{"pad":"' + 'p'.repeat(17 * 1024 * 1024) + '"}}\n');
    assert.equal(((await waitFor((m) => m['id'] === 7, 'oversize error'))['error'] as { code: number }).code, -32010);
    child.stdin.write('{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":[]}}\n');
    assert.equal(((await waitFor((m) => m['id'] === 8, 'invalid params'))['error'] as { code: number }).code, -32602);
    child.stdin.write('{"jsonrpc":"2.0","id":99,"result":{}}\n'); // a response to nothing: dropped
    child.stdin.write('{"jsonrpc":"2.0","id":9,"method":"ping"}\n');
    assert.deepEqual((await waitFor((m) => m['id'] === 9, 'ping'))['result'], {});
    assert.ok(!lines.some((m) => m['id'] === 99));
  } finally {
    // The gateway stops its sandboxed upstream before it exits: wait for that, so nothing still
    // writes into the temp dir when it is removed.
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
    child.kill();
    await exited;
  }
});
