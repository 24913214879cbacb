import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApprovalRequest } from '../../src/mcp/approval.js';
import { GatewaySession, type AuditRecord } from '../../src/mcp/gateway.js';
import { LockfileStore } from '../../src/mcp/lockfile.js';
import { serverKeyOf } from '../../src/mcp/pin.js';
import { compileExt } from '../../src/mcp/policy-ext.js';
import { MemoryTaintStore } from '../../src/mcp/taint.js';
import { tempDir } from '../helpers/tmp.js';
import { textOf, within } from './helpers.js';
import { compile } from './policy-helper.js';

/**
 * The gateway as a library, with paired in-memory transports: the injected approver, audit sink
 * and taint store, and cancellation of a call that is waiting for a human.
 */

async function setup(approve: (req: ApprovalRequest, signal: AbortSignal) => Promise<'allow' | 'deny'>, opts: { auditBroken?: () => boolean } = {}) {
  const dir = tempDir('warden-mcp-inproc-');
  const received: string[] = [];
  const server = new McpServer({ name: 'inproc', version: '1.0.0' });
  server.registerTool('send_report', { description: 'Sends a report by email.', inputSchema: { to: z.string() } }, async ({ to }) => {
    received.push(`send_report:${to}`);
    return { content: [{ type: 'text', text: `sent to ${to}` }] };
  });
  server.registerTool('read_inbox', { description: 'Reads the inbox.', inputSchema: {} }, async () => {
    received.push('read_inbox');
    return { content: [{ type: 'text', text: 'mail from bob' }] };
  });
  server.registerTool('fetch_page', { description: 'Fetches a page.', inputSchema: { url: z.string() } }, async ({ url }) => {
    received.push(`fetch_page:${url}`);
    return { content: [{ type: 'text', text: 'page' }] };
  });
  const [clientSide, gwDown] = InMemoryTransport.createLinkedPair();
  const [gwUp, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const audit: AuditRecord[] = [];
  const policy = compile({ network: { allow: ['docs.example'], approve: ['ask.example'] }, mcp: { default: 'allow', tools: [{ id: 'fetch', tool: 'fetch_page', decision: 'allow' }] } });
  const ext = compileExt({ conditions: { fetch: [{ arg: 'url', hostAllowedBy: 'network' }] } }, (p) => p);
  const taint = new MemoryTaintStore();
  const gw = new GatewaySession(
    { policy, ext, serverName: 'mail', serverKey: serverKeyOf({ command: ['inproc'] }), pins: new LockfileStore(join(dir, 'lock.json')), audit: (r) => {
        if (opts.auditBroken?.()) throw new Error('audit log: disk full');
        audit.push(r);
      },
      approve, taint, cwd: dir, home: dir },
    gwDown,
    gwUp,
  );
  await gw.start();
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  return { client, gw, audit, received, taint };
}

test('in process: the approver is asked for a tainted sink call and for network.approve hosts; its answer decides', async () => {
  const asked: ApprovalRequest[] = [];
  let answer: 'allow' | 'deny' = 'deny';
  const s = await setup(async (req) => {
    asked.push(req);
    return answer;
  });
  try {
    await within(5000, s.client.listTools());
    assert.equal(textOf(await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'a@x' } }))), 'sent to a@x', 'untainted: no approval needed');
    assert.equal(asked.length, 0);
    await within(5000, s.client.callTool({ name: 'read_inbox', arguments: {} }));
    assert.equal(s.taint.tainted()?.tool, 'read_inbox');
    const denied = await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'evil@x' } }));
    assert.match(textOf(denied), /denied by mcp\.taint.*approval: denied/s);
    assert.equal(asked[0]?.rule, 'mcp.taint');
    assert.match(asked[0]!.argumentsPreview, /evil@x/);
    answer = 'allow';
    assert.equal(textOf(await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'ok@x' } }))), 'sent to ok@x');
    assert.deepEqual(s.received, ['send_report:a@x', 'read_inbox', 'send_report:ok@x']);
    assert.match(textOf(await within(5000, s.client.callTool({ name: 'fetch_page', arguments: { url: 'https://evil.example/' } }))), /not allowed by the network section/);
    assert.equal(textOf(await within(5000, s.client.callTool({ name: 'fetch_page', arguments: { url: 'https://ask.example/' } }))), 'page');
    assert.match(asked.at(-1)!.reasons.join(), /network policy asks approval for ask\.example:443/);
    const kinds = new Set(s.audit.map((r) => r.kind));
    for (const k of ['mcp.session.start', 'mcp.initialize', 'mcp.pin', 'mcp.tools.list', 'mcp.call', 'mcp.result', 'mcp.taint']) assert.ok(kinds.has(k), k);
  } finally {
    await s.client.close();
    await s.gw.close();
  }
});

test('in process: a sensitive result taints the session before it is delivered, and its records follow its call, before the next call', async () => {
  const s = await setup(async () => 'deny');
  try {
    await within(5000, s.client.listTools());
    const from = s.audit.length;
    // The in-memory transport hands each message over synchronously: this sees the session as the
    // result is delivered, before anything the gateway does after sending it.
    const t = s.client.transport!;
    const deliver = t.onmessage!;
    const atDelivery: Array<{ tainted: string | undefined; records: number }> = [];
    t.onmessage = (m, extra) => {
      if ('result' in m) atDelivery.push({ tainted: s.taint.tainted()?.tool, records: s.audit.length - from });
      deliver(m, extra);
    };
    await within(5000, s.client.callTool({ name: 'read_inbox', arguments: {} }));
    assert.deepEqual(atDelivery, [{ tainted: 'read_inbox', records: 1 }], 'tainted before delivery; only the call record precedes it');
    await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'evil@x' } }));
    const seq = s.audit.slice(from).map((r) => `${r.kind} ${r.resource ?? ''}`);
    assert.deepEqual(seq, ['mcp.call mail/read_inbox', 'mcp.taint mail/read_inbox', 'mcp.result mail/read_inbox', 'mcp.call mail/send_report']);
    assert.deepEqual(s.received, ['read_inbox'], 'the tainted sink call was denied before the server');
  } finally {
    await s.client.close();
    await s.gw.close();
  }
});

test('in process: a call cancelled while awaiting approval is never forwarded', async () => {
  let started!: () => void;
  const waiting = new Promise<void>((r) => (started = r));
  let aborted = false;
  const s = await setup((_req, signal) => {
    started();
    return new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve('allow'))));
  });
  try {
    await within(5000, s.client.listTools());
    await within(5000, s.client.callTool({ name: 'read_inbox', arguments: {} }));
    const ctl = new AbortController();
    const call = s.client.callTool({ name: 'send_report', arguments: { to: 'x' } }, undefined, { signal: ctl.signal });
    await within(5000, waiting);
    ctl.abort();
    await assert.rejects(call);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(aborted, 'the approver was told to stop waiting');
    assert.deepEqual(s.received, ['read_inbox']);
    assert.ok(s.audit.some((r) => r.kind === 'mcp.call' && r.decision === 'deny' && /cancelled by the client/.test(String(r.detail?.['reason']))));
  } finally {
    await s.client.close();
    await s.gw.close();
  }
});

test('in process: when the client stops reading, the gateway stops reading from the upstream (backpressure)', async () => {
  const dir = tempDir('warden-mcp-bp-');
  type Stub = { onmessage?: (m: unknown) => void; onclose?: () => void; onerror?: (e: Error) => void; ondrain?: (() => void) | undefined; congested: boolean; paused: number; sent: unknown[] };
  const stub = (): Stub & Record<string, unknown> => {
    const s: Stub & Record<string, unknown> = {
      congested: false,
      paused: 0,
      sent: [],
      start: async () => {},
      close: async () => s.onclose?.(),
      send: async (m: unknown) => void s.sent.push(m),
      pauseReading: () => void s.paused++,
      resumeReading: () => void s.paused--,
    };
    return s;
  };
  const client = stub();
  const upstream = stub();
  const gw = new GatewaySession(
    { policy: compile({ mcp: { default: 'allow' } }), serverName: 's', serverKey: 'k', pins: new LockfileStore(join(dir, 'l.json')), audit: () => {}, taint: new MemoryTaintStore(), cwd: dir, home: dir },
    client as never,
    upstream as never,
  );
  await gw.start();
  upstream.onmessage!({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 1 } });
  assert.equal(client.sent.length, 1);
  client.congested = true;
  upstream.onmessage!({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 2 } });
  assert.equal(upstream.paused, 1, 'upstream reading paused');
  assert.equal(client.paused, 1, 'client reading paused too (its requests may be answered locally)');
  client.congested = false;
  client.ondrain!();
  assert.equal(upstream.paused, 0);
  assert.equal(client.paused, 0);
  await gw.close();
});

test('in process: when the audit sink cannot record a call, the call is denied and never reaches the server', async () => {
  let broken = false;
  const s = await setup(async () => 'deny', { auditBroken: () => broken });
  try {
    await within(5000, s.client.listTools());
    assert.equal(textOf(await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'a@x' } }))), 'sent to a@x');
    broken = true;
    const r = await within(5000, s.client.callTool({ name: 'send_report', arguments: { to: 'b@x' } }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /denied by internal\.error.*disk full/s);
    assert.deepEqual(s.received, ['send_report:a@x'], 'the unrecorded call was not forwarded');
  } finally {
    await s.gw.close();
  }
});
