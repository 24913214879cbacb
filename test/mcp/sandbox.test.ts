import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { connectGateway, ENTRY, FIXTURE_CMD, FS_SERVER, NODE_ARGS, readAudit, ROOT, textOf, within, writePolicy, writeYaml, wardenHome } from './helpers.js';

/**
 * The upstream server runs inside `warden run` with the policy's filesystem section: what the MCP
 * policy allows is still bounded by the kernel. Each test allows every tool call at the MCP layer
 * (`mcp.default: allow`), so only the sandbox can stop the server, and checks the host side: the
 * file outside the grants was not written, the secret did not come back. Each also has a positive
 * control inside the grants, so a server that cannot do anything at all would fail it.
 */

const T = 30_000;

const SECRET = 'sk-live-0123456789abcdef';

test('containment: a server with no path checks cannot read or write outside the policy grants, though the MCP policy allows the call', async () => {
  const dir = tempDir('warden-mcp-sbx-');
  const outside = tempDir('warden-mcp-outside-');
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'inside.txt'), 'inside data');
  const policy = writePolicy(dir, { version: 1, env: { pass: ['FIXTURE_*'] }, mcp: { default: 'allow' } });
  const g = await connectGateway({ dir, policy, server: FIXTURE_CMD, env: { FIXTURE_MODE: 'fs' } });
  try {
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'read_path', arguments: { path: join(dir, 'inside.txt') } }))), 'inside data');
    const w = await within(T, g.client.callTool({ name: 'write_path', arguments: { path: join(dir, 'written.txt'), content: 'ok' } }));
    assert.notEqual(w.isError, true, textOf(w));
    assert.equal(readFileSync(join(dir, 'written.txt'), 'utf8'), 'ok', 'the grant is writable from the sandbox');

    const r = await within(T, g.client.callTool({ name: 'read_path', arguments: { path: join(outside, 'secret.txt') } }));
    assert.equal(r.isError, true, textOf(r));
    assert.match(textOf(r), /read_path failed: E(NOENT|ACCES|PERM)/, 'the failure is the kernel’s, seen by the server');
    assert.doesNotMatch(JSON.stringify(r), new RegExp(SECRET));
    const x = await within(T, g.client.callTool({ name: 'write_path', arguments: { path: join(outside, 'pwned.txt'), content: 'x' } }));
    assert.equal(x.isError, true, textOf(x));
    assert.ok(!existsSync(join(outside, 'pwned.txt')), 'nothing was written outside the grants');
    const home = await within(T, g.client.callTool({ name: 'write_path', arguments: { path: join(wardenHome(dir), 'planted'), content: 'x' } }));
    assert.equal(home.isError, true, 'Warden’s own state stays unreachable');
    assert.ok(!existsSync(join(wardenHome(dir), 'planted')));

    const calls = readAudit(join(dir, 'audit.jsonl')).filter((a) => a.kind === 'mcp.call');
    assert.ok(calls.length === 5 && calls.every((a) => a.decision === 'allow'), 'the gateway allowed and forwarded every call');
  } finally {
    await g.close();
  }
});

test('containment: server-filesystem serving a read-only grant and a denied file gets kernel errors; its own checks allow both', async () => {
  const dir = tempDir('warden-mcp-sbxfs-');
  const rw = join(dir, 'rw');
  mkdirSync(rw);
  writeFileSync(join(rw, 'credentials.json'), SECRET);
  const ro = tempDir('warden-mcp-ro-');
  writeFileSync(join(ro, 'readme.txt'), 'read me');
  // The server is told both roots are its own; the policy grants `ro` read-only and denies the file.
  const policy = writePolicy(dir, { version: 1, filesystem: { read: [ro], deny: [join(rw, 'credentials.json')] }, mcp: { default: 'allow' } });
  const g = await connectGateway({ dir, policy, server: ['node', FS_SERVER, rw, ro], name: 'fs' });
  try {
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'read_text_file', arguments: { path: join(ro, 'readme.txt') } }))), 'read me');
    const ok = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(rw, 'ok.txt'), content: 'ok' } }));
    assert.notEqual(ok.isError, true, textOf(ok));
    assert.equal(readFileSync(join(rw, 'ok.txt'), 'utf8'), 'ok');

    const w = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(ro, 'pwned.txt'), content: 'x' } }));
    assert.equal(w.isError, true, textOf(w));
    assert.ok(!existsSync(join(ro, 'pwned.txt')), 'the read-only grant was not written');
    const s = await within(T, g.client.callTool({ name: 'read_text_file', arguments: { path: join(rw, 'credentials.json') } }));
    assert.equal(s.isError, true, textOf(s));
    assert.doesNotMatch(JSON.stringify(s), new RegExp(SECRET), 'the denied file’s content never came back');
  } finally {
    await g.close();
  }
});

test('a refused sandbox fails closed: exit 126, one line naming the reason, audited, and no unsandboxed server', async () => {
  const dir = tempDir('warden-mcp-refused-');
  const log = join(dir, 'log.jsonl');
  // `/tmp` itself cannot be granted (the sandbox always gets a private one): warden run refuses.
  const policy = writeYaml(dir, 'refused.yaml', { extends: 'coding-agent', version: 1, filesystem: { read: ['/tmp'] }, env: { pass: ['FIXTURE_*'] }, mcp: { default: 'allow' } });
  const audit = join(dir, 'audit.jsonl');
  const child = spawn(process.execPath, [...NODE_ARGS, ENTRY, '--policy', policy, '--lockfile', join(dir, 'lock.json'), '--audit-log', audit, '--', ...FIXTURE_CMD], {
    cwd: ROOT,
    env: { ...process.env, WARDEN_HOME: wardenHome(dir), FIXTURE_LOG: log },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.on('error', () => {});
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) + '\n');
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  // A regression (a server that runs) must fail the test, not keep it alive: end the gateway.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 126, err);
  const lines = err.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, err);
  assert.match(lines[0]!, /^warden mcp: the sandbox for the upstream server refused to start: filesystem: \/tmp is always a private tmpfs/);
  const reply = JSON.parse(out.split('\n')[0] ?? '{}') as { id?: number; error?: { message: string } };
  assert.equal(reply.id, 1);
  assert.match(reply.error?.message ?? '', /exited before answering/, 'the client gets an error, not a hang');
  assert.ok(!existsSync(log), 'no server ran: there is no fallback to a plain spawn');
  const refused = readAudit(audit).find((a) => a.kind === 'mcp.upstream.refused');
  assert.equal(refused?.decision, 'deny');
  assert.match(String(refused?.detail?.['reason']), /private tmpfs/);
});
