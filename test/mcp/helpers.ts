import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { stringify } from 'yaml';
import { ROOT } from '../helpers/cli.js';

export { ROOT };
/** True when running the compiled suite (dist/test): spawn compiled entries with plain node. */
const COMPILED = fileURLToPath(import.meta.url).startsWith(join(ROOT, 'dist') + '/');
const FIXTURES = COMPILED ? join(ROOT, 'dist', 'test', 'fixtures', 'mcp') : join(ROOT, 'test', 'fixtures', 'mcp');
const ext = COMPILED ? '.js' : '.ts';
/** Node arguments that run a fixture script (tsx for sources). */
export const NODE_ARGS: string[] = COMPILED ? [] : ['--import', 'tsx'];
export const ENTRY = join(FIXTURES, `warden-mcp${ext}`);
/** The fixture server as a command line: [node, ...args]. */
export const FIXTURE_CMD: string[] = [process.execPath, ...NODE_ARGS, join(FIXTURES, `fixture-server${ext}`)];
export const FS_SERVER = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
export const MEMORY_SERVER = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js');
export const EVERYTHING_SERVER = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

export function writeYaml(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, stringify(value));
  return p;
}

/**
 * The WARDEN_HOME of a test whose temp dir is `dir`: beside it, not in it — the sandbox policies
 * below make `dir` writable, and Warden refuses a write grant around its own state.
 */
export function wardenHome(dir: string): string {
  const home = `${dir}-home`;
  after(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

/**
 * A test policy for a gateway whose upstream runs in the sandbox (`warden run`, the default): the
 * coding-agent profile (system read-only, PATH/HOME passed) plus what the test servers need — the
 * checkout and its node_modules (possibly a symlink elsewhere) readable, the test's temp dir
 * writable (the test's Warden state lies beside it, see wardenHome).
 */
export function sandboxPolicy(dir: string, doc: Record<string, unknown>): Record<string, unknown> {
  const fs = (doc['filesystem'] ?? {}) as { read?: string[]; write?: string[]; deny?: string[] };
  return {
    extends: 'coding-agent',
    ...doc,
    filesystem: {
      ...fs,
      read: [...new Set([ROOT, realpathSync(join(ROOT, 'node_modules')), ...(fs.read ?? [])])],
      write: [dir, ...(fs.write ?? [])],
      ...(fs.deny ? { deny: fs.deny } : {}),
    },
  };
}

/** Writes `sandboxPolicy(dir, doc)` as dir/name. */
export function writePolicy(dir: string, doc: Record<string, unknown>, name = 'policy.yaml'): string {
  return writeYaml(dir, name, sandboxPolicy(dir, doc));
}

export interface AuditLine {
  ts: string;
  kind: string;
  resource?: string;
  decision?: string;
  rule?: string;
  detail?: Record<string, unknown>;
}

export function readAudit(file: string): AuditLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);
}

/**
 * The first audit record matching `pred`, waiting for it (up to 5 s): a result's records are
 * enqueued just after the result is delivered, so a client can see the result first.
 */
export async function auditRecord(file: string, pred: (r: AuditLine) => boolean): Promise<AuditLine | undefined> {
  for (let i = 0; i < 100; i++) {
    const hit = readAudit(file).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

export function readLog(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface GatewayConn {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close: () => Promise<void>;
  errors: Error[];
}

export interface ConnectOptions {
  dir: string;
  policy: string;
  server: string[];
  lockfile?: string;
  ext?: string;
  /** JSONL audit file (default dir/audit.jsonl); false: no --audit-log, so the chained log under WARDEN_HOME. */
  audit?: string | false;
  session?: string;
  /** The gateway's --workspace (default dir): writable in the sandbox via coding-agent's ${workspace}. */
  workspace?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
  name?: string;
  /** Client capabilities (sampling, roots, elicitation) and handlers registered before connecting. */
  capabilities?: Record<string, unknown>;
  setup?: (client: Client) => void;
}

/** Runs the gateway (as `warden mcp` would run) in front of `server`, with an SDK client on top. */
export async function connectGateway(o: ConnectOptions): Promise<GatewayConn> {
  const args = [...NODE_ARGS, ENTRY, '--policy', o.policy, '--workspace', o.workspace ?? o.dir, '--lockfile', o.lockfile ?? join(o.dir, 'lock.json'), ...(o.audit === false ? [] : ['--audit-log', o.audit ?? join(o.dir, 'audit.jsonl')]), '--session', o.session ?? 'test', '--quiet'];
  if (o.ext) args.push('--mcp-ext', o.ext);
  if (o.name) args.push('--name', o.name);
  args.push(...(o.extraArgs ?? []), '--', ...o.server);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? o.dir, WARDEN_HOME: wardenHome(o.dir), ...(o.env ?? {}) },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'warden-test', version: '1.0.0' }, { capabilities: o.capabilities ?? {} });
  o.setup?.(client);
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => err,
    errors,
    close: async () => {
      await client.close().catch(() => {});
    },
  };
}

/** Rejects after `ms` so a hanging gateway fails the test instead of stalling the suite. */
export function within<T>(ms: number, p: Promise<T>, what = 'operation'): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms).unref())]);
}

export function textOf(result: unknown): string {
  const r = result as { content?: Array<{ type: string; text?: string }> };
  return (r.content ?? []).map((c) => c.text ?? '').join('\n');
}
