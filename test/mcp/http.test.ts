import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tempDir } from '../helpers/tmp.js';
import { ENTRY, EVERYTHING_SERVER, NODE_ARGS, readAudit, ROOT, textOf, within, writeYaml } from './helpers.js';

/** Streamable HTTP mode: a remote server (everything, in its HTTP mode) behind the gateway. */

const T = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<RegExpMatchArray> {
  return within(T, new Promise((resolve) => {
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) resolve(m);
    });
  }), what);
}

test('HTTP mode: list, allowed and denied calls, and resources through the gateway to a Streamable HTTP server', async () => {
  const dir = tempDir('warden-mcp-http-');
  const port = await freePort();
  const upstream = spawn(process.execPath, [EVERYTHING_SERVER, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let gw: ChildProcess | undefined;
  let client: Client | undefined;
  try {
    await waitForLine(upstream, /listening on port/, 'upstream start');
    const policy = writeYaml(dir, 'policy.yaml', { version: 1, mcp: { default: 'allow', tools: [{ id: 'no-sum', tool: 'get-sum', decision: 'deny' }] } });
    gw = spawn(process.execPath, [...NODE_ARGS, ENTRY, '--policy', policy, '--lockfile', join(dir, 'lock.json'), '--audit-log', join(dir, 'audit.jsonl'), '--quiet', '--listen', '127.0.0.1:0', '--upstream', `http://127.0.0.1:${port}/mcp`], {
      cwd: ROOT,
      env: { ...process.env, WARDEN_HOME: join(dir, 'wh') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const m = await waitForLine(gw, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 'gateway start');
    client = new Client({ name: 'warden-http-test', version: '1' });
    await within(T, client.connect(new StreamableHTTPClientTransport(new URL(m[1]!))));
    const tools = (await within(T, client.listTools())).tools.map((t) => t.name);
    assert.ok(tools.includes('echo') && !tools.includes('get-sum'));
    assert.equal(textOf(await within(T, client.callTool({ name: 'echo', arguments: { message: 'over http' } }))), 'Echo: over http');
    const d = await within(T, client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }));
    assert.equal(d.isError, true);
    assert.match(textOf(d), /denied by no-sum/);
    const progress: number[] = [];
    await within(T, client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined, { onprogress: (p) => void progress.push(p.progress) }));
    assert.deepEqual(progress, [1, 2]);
    assert.ok((await within(T, client.listResources())).resources.length > 0);
    const audit = readAudit(join(dir, 'audit.jsonl'));
    assert.ok(audit.some((r) => r.kind === 'mcp.call' && r.rule === 'no-sum' && r.decision === 'deny'));
    assert.ok(audit.some((r) => r.kind === 'mcp.pin' && r.detail?.['action'] === 'pinned'));
    // DNS rebinding: a foreign Host header is refused.
    const u = new URL(m[1]!);
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
        const r = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.end(body);
      });
    assert.equal(await within(T, status({ host: 'evil.example' })), 403, 'DNS rebinding: a foreign Host header is refused');
    assert.equal(await within(T, status({ origin: 'https://evil.example' })), 403, 'a cross-origin browser request is refused');
  } finally {
    await client?.close().catch(() => {});
    // Wait for both to exit before the temp dir is removed (they may still be writing to it).
    const exited = (c: ChildProcess | undefined) => (c && c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve());
    const both = Promise.all([exited(gw), exited(upstream)]);
    gw?.kill();
    upstream.kill();
    await within(T, both, 'child exit');
  }
});

test('HTTP mode refuses a non-loopback listen address without --allow-remote-listen', () => {
  const dir = tempDir('warden-mcp-http2-');
  const policy = writeYaml(dir, 'policy.yaml', { version: 1 });
  const r = spawnSync(process.execPath, [...NODE_ARGS, ENTRY, '--policy', policy, '--listen', '0.0.0.0:0', '--upstream', 'http://127.0.0.1:1/mcp'], { cwd: ROOT, encoding: 'utf8', timeout: T, env: { ...process.env, WARDEN_HOME: join(dir, 'wh') } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /refusing to listen on non-loopback 0\.0\.0\.0/);
});
