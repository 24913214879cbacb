import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { WARDEN_BIN, warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * An `approve` network rule inside `warden run`: the connection is held until a human answers
 * from another terminal (`warden approvals`), and a deny reaches nothing.
 */

const root = tempDir('warden-approve-');
chmodSync(root, 0o755);
const ws = join(root, 'ws');
const home = join(root, 'home');
mkdirSync(ws, { recursive: true });
mkdirSync(home, { recursive: true });
chmodSync(ws, 0o777);
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };

async function withServer<T>(fn: (port: number, hits: () => number) => Promise<T>): Promise<T> {
  let hits = 0;
  const srv = createServer((_req, res) => {
    hits++;
    res.end('hello from the host\n');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.2', () => r()));
  try {
    return await fn((srv.address() as AddressInfo).port, () => hits);
  } finally {
    srv.close();
  }
}

function runCurl(policy: string, url: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [WARDEN_BIN, 'run', '--policy', policy, '--', 'curl', '-sS', '-m', '25', url], { cwd: ws, env });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function pendingId(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const l = warden(['approvals', 'list', '--json'], { env });
    const pending = l.code === 0 ? (JSON.parse(l.stdout) as Array<{ id: string; summary: string }>) : [];
    if (pending[0]) return pending[0].id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no approval request appeared');
}

const policyFor = (port: number) =>
  writeFile(root, `p-${port}.yaml`, `version: 1\nextends: coding-agent\nnetwork:\n  approve: ["ask.test"]\n  hosts: {ask.test: 127.0.0.2}\napprovals:\n  timeout: 30\n`);

test('approve from another terminal lets the held connection through', { timeout: 60_000 }, async () => {
  await withServer(async (port, hits) => {
    const curl = runCurl(policyFor(port), `http://ask.test:${port}/`);
    const id = await pendingId();
    assert.equal(hits(), 0, 'nothing reaches the host while the request is pending');
    const a = warden(['approvals', 'approve', id], { env });
    assert.equal(a.code, 0, a.stderr);
    const r = await curl;
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /hello from the host/);
    assert.equal(hits(), 1);
  });
});

test('deny from another terminal: the agent gets a 403 naming the rule, the host gets nothing', { timeout: 60_000 }, async () => {
  await withServer(async (port, hits) => {
    const curl = runCurl(policyFor(port), `http://ask.test:${port}/`);
    const id = await pendingId();
    assert.equal(warden(['approvals', 'deny', id], { env }).code, 0);
    const r = await curl;
    assert.match(r.out, /403|network\.approve/);
    assert.equal(hits(), 0);
    const show = warden(['audit', 'show', '--json'], { env });
    assert.match(show.stdout, /approval\.answer/);
  });
});
