import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { tempDir } from '../helpers/tmp.js';
import { connectGateway, EVERYTHING_SERVER, FS_SERVER, MEMORY_SERVER, readAudit, textOf, within, writePolicy, writeYaml } from './helpers.js';

/**
 * The gateway in front of the reference servers from npm, driven by the SDK's Client: what is
 * allowed works end to end, what is denied provably never reaches the server, and the servers'
 * own capabilities (resources, prompts, progress, sampling, roots, logging) pass through.
 */

const T = 30_000;

test('filesystem server: allowed reads and writes work; denied writes leave no file on disk', async () => {
  const dir = tempDir('warden-mcp-fs-');
  const root = join(dir, 'root');
  const allowed = join(root, 'allowed');
  mkdirSync(allowed, { recursive: true });
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(allowed, 'hello.txt'), 'hello world\n');
  symlinkSync(join(root, 'outside'), join(allowed, 'link-out'));
  const policy = writePolicy(dir, {
    version: 1,
    mcp: {
      default: 'deny',
      tools: [
        { tool: '{read_text_file,list_directory,list_allowed_directories,get_file_info}', decision: 'allow' },
        { id: 'fs-write', tool: 'write_file', decision: 'allow' },
        { id: 'fs-move', tool: 'move_file', decision: 'allow' },
        { id: 'no-edit', tool: 'edit_file', decision: 'deny', message: 'edits go through review' },
      ],
    },
  });
  const ext = writeYaml(dir, 'ext.yaml', { conditions: { 'fs-write': [{ arg: 'path', under: [allowed] }], 'fs-move': [{ arg: 'source', under: [allowed] }, { arg: 'destination', under: [allowed] }] } });
  const g = await connectGateway({ dir, policy, ext, server: ['node', FS_SERVER, root], name: 'fs' });
  try {
    const names = (await within(T, g.client.listTools())).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['get_file_info', 'list_allowed_directories', 'list_directory', 'move_file', 'read_text_file', 'write_file']);
    assert.match(textOf(await within(T, g.client.callTool({ name: 'read_text_file', arguments: { path: join(allowed, 'hello.txt') } }))), /hello world/);
    const ok = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(allowed, 'new.txt'), content: 'ok' } }));
    assert.notEqual(ok.isError, true, textOf(ok));
    assert.equal(readFileSync(join(allowed, 'new.txt'), 'utf8'), 'ok');

    // Inside the server's own root but outside the policy's condition: denied, never written.
    const d1 = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(root, 'secret.txt'), content: 'x' } }));
    assert.equal(d1.isError, true);
    assert.match(textOf(d1), /denied by fs-write/);
    assert.ok(!existsSync(join(root, 'secret.txt')));
    const d2 = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(allowed, '..', 'dotdot.txt'), content: 'x' } }));
    assert.equal(d2.isError, true);
    assert.ok(!existsSync(join(root, 'dotdot.txt')));
    const d3 = await within(T, g.client.callTool({ name: 'write_file', arguments: { path: join(allowed, 'link-out', 'via-link.txt'), content: 'x' } }));
    assert.equal(d3.isError, true, 'a symlink out of the allowed tree is seen through');
    assert.ok(!existsSync(join(root, 'outside', 'via-link.txt')));
    const d4 = await within(T, g.client.callTool({ name: 'move_file', arguments: { source: join(allowed, 'new.txt'), destination: join(root, 'moved.txt') } }));
    assert.equal(d4.isError, true);
    assert.ok(existsSync(join(allowed, 'new.txt')) && !existsSync(join(root, 'moved.txt')));
    const d5 = await within(T, g.client.callTool({ name: 'edit_file', arguments: { path: join(allowed, 'hello.txt'), edits: [{ oldText: 'hello', newText: 'pwned' }] } }));
    assert.match(textOf(d5), /denied by no-edit.*\nedits go through review/s);
    assert.equal(readFileSync(join(allowed, 'hello.txt'), 'utf8'), 'hello world\n');
    const d6 = await within(T, g.client.callTool({ name: 'directory_tree', arguments: { path: root } }));
    assert.match(textOf(d6), /mcp\.default/);

    const audit = readAudit(join(dir, 'audit.jsonl'));
    const denied = audit.filter((r) => r.kind === 'mcp.call' && r.decision === 'deny').map((r) => r.rule);
    assert.deepEqual(denied, ['fs-write', 'fs-write', 'fs-write', 'fs-move', 'no-edit', 'mcp.default']);
    assert.ok(audit.some((r) => r.kind === 'mcp.taint' && r.resource === 'fs/read_text_file'), 'reading a file taints the session');
  } finally {
    await g.close();
  }
});

test('memory server: calls work end to end; a denied delete never happens', async () => {
  const dir = tempDir('warden-mcp-memory-');
  const memFile = join(dir, 'memory.jsonl');
  const policy = writePolicy(dir, { version: 1, env: { set: { MEMORY_FILE_PATH: memFile } }, mcp: { default: 'allow', tools: [{ tool: 'delete_*', decision: 'deny' }] } });
  const g = await connectGateway({ dir, policy, server: ['node', MEMORY_SERVER], name: 'memory' });
  try {
    const names = (await within(T, g.client.listTools())).tools.map((t) => t.name);
    assert.ok(names.includes('create_entities') && !names.includes('delete_entities'));
    await within(T, g.client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Alice', entityType: 'person', observations: ['likes tea'] }] } }));
    const d = await within(T, g.client.callTool({ name: 'delete_entities', arguments: { entityNames: ['Alice'] } }));
    assert.equal(d.isError, true);
    const graph = textOf(await within(T, g.client.callTool({ name: 'read_graph', arguments: {} })));
    assert.match(graph, /Alice/);
    assert.match(readFileSync(memFile, 'utf8'), /Alice/);
    // The server's resources capability passes through.
    const res = await within(T, g.client.listResources());
    assert.ok(Array.isArray(res.resources));
  } finally {
    await g.close();
  }
});

test('everything server: resources, prompts, progress, logging, sampling, elicitation and roots pass through', async () => {
  const dir = tempDir('warden-mcp-everything-');
  const policy = writePolicy(dir, { version: 1, mcp: { default: 'allow', tools: [{ tool: 'get-env', decision: 'deny' }] } });
  const sampled: string[] = [];
  let rootsAsked = 0;
  const logs: string[] = [];
  const g = await connectGateway({
    dir,
    policy,
    server: ['node', EVERYTHING_SERVER, 'stdio'],
    name: 'everything',
    capabilities: { sampling: {}, roots: { listChanged: true }, elicitation: { form: {} } },
    setup: (client) => {
      client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
        const c = req.params.messages[0]?.content as { text?: string };
        sampled.push(c?.text ?? '');
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled answer' } };
      });
      client.setRequestHandler(ListRootsRequestSchema, async () => {
        rootsAsked++;
        return { roots: [{ uri: `file://${dir}`, name: 'test root' }] };
      });
      client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'x' } }));
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.level)));
    },
  });
  try {
    const tools = (await within(T, g.client.listTools())).tools.map((t) => t.name);
    assert.ok(tools.includes('echo') && tools.includes('trigger-sampling-request') && !tools.includes('get-env'), tools.join());
    assert.equal(textOf(await within(T, g.client.callTool({ name: 'echo', arguments: { message: 'hi' } }))), 'Echo: hi');

    const resources = await within(T, g.client.listResources());
    assert.ok(resources.resources.length > 0);
    const first = resources.resources[0]!;
    const read = await within(T, g.client.readResource({ uri: first.uri }));
    assert.equal(read.contents[0]!.uri, first.uri);
    const templates = await within(T, g.client.listResourceTemplates());
    assert.ok(templates.resourceTemplates.length > 0);

    const prompts = await within(T, g.client.listPrompts());
    const simple = prompts.prompts.find((p) => !p.arguments?.some((a) => a.required)) ?? prompts.prompts[0]!;
    const prompt = await within(T, g.client.getPrompt({ name: simple.name, arguments: {} }));
    assert.ok(prompt.messages.length > 0);

    // Progress is checked on the wire: the SDK client runs notification handlers a microtask late
    // and can drop the last progress when the result lands in the same read (its own race).
    const wireProgress: number[] = [];
    const deliver = g.transport.onmessage!;
    g.transport.onmessage = (m) => {
      const msg = m as { method?: string; params?: { progress?: number } };
      if (msg.method === 'notifications/progress') wireProgress.push(msg.params?.progress ?? -1);
      deliver(m);
    };
    const progress: number[] = [];
    const long = await within(T, g.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) }));
    assert.notEqual(long.isError, true);
    assert.deepEqual(wireProgress, [1, 2, 3]);
    assert.deepEqual(progress, [1, 2, 3].slice(0, progress.length), 'what the caller saw is in order');
    g.transport.onmessage = deliver;

    const s = await within(T, g.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 5 } }));
    assert.match(textOf(s), /sampled answer/);
    assert.match(sampled[0] ?? '', /hello/);

    if (tools.includes('get-roots-list')) {
      await within(T, g.client.callTool({ name: 'get-roots-list', arguments: {} }));
      assert.ok(rootsAsked > 0);
    }
    await within(T, g.client.setLoggingLevel('debug'));
    await within(T, g.client.callTool({ name: 'toggle-simulated-logging', arguments: {} }));
    const t0 = Date.now();
    while (logs.length === 0 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(logs.length > 0, 'logging notifications pass through');

    const denied = await within(T, g.client.callTool({ name: 'get-env', arguments: {} }));
    assert.equal(denied.isError, true);
    assert.doesNotMatch(textOf(denied), /PATH=/);
    assert.ok(await within(T, g.client.ping()));
    // The SDK reports its own late-handler progress race as "unknown token"; nothing else may go wrong.
    assert.deepEqual(g.errors.map((e) => e.message).filter((m) => !/progress notification for an unknown token/.test(m)), []);
  } finally {
    await g.close();
  }
});
