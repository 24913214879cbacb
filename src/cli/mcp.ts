import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { parse as parseYaml } from 'yaml';
import { WardenError, isWardenError } from '../errors.js';
import { compileGlob } from '../policy/glob.js';
import { loadPolicy } from '../policy/load.js';
import { expandPathPattern, PathExpandError } from '../policy/paths.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide } from '../policy/evaluate.js';
import { wardenDirs } from '../paths.js';
import { packageVersion } from '../package-root.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Approver } from '../mcp/approval.js';
import { assessTool } from '../mcp/assess.js';
import { GatewaySession, type AuditRecord, type AuditSink } from '../mcp/gateway.js';
import { isLoopback, limitedFetch, parseListen, serveHttp } from '../mcp/http.js';
import { compileLabels } from '../mcp/labels.js';
import { LockfileStore } from '../mcp/lockfile.js';
import { pinOf, serverKeyOf } from '../mcp/pin.js';
import { compileExt, type McpExt } from '../mcp/policy-ext.js';
import { probeServer } from '../mcp/probe.js';
import { mcpCanApprove, startGatewayApprovals } from '../mcp/session-approvals.js';
import { StreamTransport } from '../mcp/stream-transport.js';
import { FileTaintStore, type TaintStore } from '../mcp/taint.js';
import { sandboxSpawn, SANDBOX_REFUSED } from '../mcp/sandbox-upstream.js';
import { ChildTransport, type SpawnUpstream } from '../mcp/upstream.js';
import { parseCli } from './args.js';
import type { CliIo, Command } from './io.js';

/**
 * `warden mcp`: the MCP gateway (stdio or Streamable HTTP) and `warden mcp pin`.
 *
 * The command is built by `makeMcpCommand(deps)` so the lead can inject the audit log, the
 * approvals broker and the upstream launcher; `mcpCommand`'s defaults: the chained audit log
 * (`warden audit verify/show`), or a JSONL file when --audit-log is given; approvals served to
 * `warden approvals`; and the upstream server inside `warden run` with the same policy
 * (src/mcp/sandbox-upstream.ts). There is no flag to run the server unsandboxed: only an injected
 * launcher does, and the audit genesis then lists `upstream-sandbox` as degraded.
 */

const USAGE = `warden mcp --policy FILE [--workspace DIR] [--allow-degraded L,...] [--lockfile F] [--name NAME] [--mcp-ext FILE] [--session ID] [--audit-log FILE] -- SERVER_CMD ARGS...
  warden mcp --policy FILE --listen 127.0.0.1:PORT --upstream URL [--allow-remote-listen] [...]
  warden mcp pin --accept [--tool NAME]... --policy FILE [--lockfile F] (-- SERVER_CMD ARGS... | --upstream URL)
  warden mcp pin --list [--policy FILE | --lockfile F] [--json]`;

export interface McpDeps {
  /** The audit sink (default: the chained audit log, or JSONL to --audit-log; plus one stderr line per deny/finding). */
  audit?: (io: CliIo) => AuditSink;
  approve?: Approver;
  /**
   * Upstream launcher (default: `warden run` with the same policy and workspace). An injected one
   * is trusted to bound the server itself; the audit genesis records the sandbox as degraded.
   */
  spawnUpstream?: (policy: CompiledPolicy, io: CliIo) => SpawnUpstream;
  /** The client side of stdio mode (default: the process's stdin/stdout). */
  clientStreams?: () => { input: Readable; output: Writable };
}

const COMMON = {
  policy: { type: 'string' },
  profile: { type: 'string' },
  workspace: { type: 'string' },
  'allow-degraded': { type: 'string', multiple: true },
  lockfile: { type: 'string' },
  name: { type: 'string' },
  'mcp-ext': { type: 'string' },
  session: { type: 'string' },
  'audit-log': { type: 'string' },
  quiet: { type: 'boolean' },
  upstream: { type: 'string' },
  'upstream-header': { type: 'string', multiple: true },
} as const;

function homeOf(io: CliIo): string {
  return io.env['HOME'] || homedir();
}

/** Policy `server:` globs match this name; it comes from the command line, never from the server. */
export function defaultServerName(argv: string[]): string {
  const runners = /^(?:node|nodejs|npx|bunx|bun|deno|python3?|uv|uvx|pipx|docker|podman|sh|bash)$/;
  let i = 0;
  const first = basename(argv[0] ?? 'server');
  if (runners.test(first)) {
    i = 1;
    while (i < argv.length && (argv[i]!.startsWith('-') || argv[i] === 'run' || argv[i] === '--import' || argv[i - 1] === '--import')) i++;
  }
  const raw = argv[i] ?? first;
  const name = basename(raw.replace(/@[\d.^~]+.*$/, '')).replace(/\.(?:[cm]?[jt]s|py)$/, '');
  return name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'server';
}

function extErrors(e: unknown, what: string): never {
  if (e instanceof PathExpandError) throw new WardenError('USAGE', `${what}: ${e.message}`, 'fix the path');
  const issues = (e as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
  if (issues?.length) throw new WardenError('USAGE', `${what}: ${issues[0]!.path.join('.')}: ${issues[0]!.message}`, 'see the mcp section of schema/policy.schema.json');
  throw e;
}

/**
 * The gateway's keys of the policy's `mcp` section (conditions, labels, inspect, pinning, …): the
 * compiled policy carries them, so the file is parsed once (by loadPolicy). `--mcp-ext FILE` (the
 * same keys, conditions keyed by rule id) replaces them when given.
 */
function readExt(extFile: string | undefined, policy: CompiledPolicy, io: CliIo, workspace: string): McpExt {
  if (extFile === undefined) return policy.mcpExt;
  const path = resolve(io.cwd, extFile);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new WardenError('USAGE', `cannot read --mcp-ext ${extFile}: ${(e as Error).message.split('\n')[0]}`, 'pass a YAML file with the mcp extension keys');
  }
  try {
    return compileExt((raw ?? {}) as Record<string, unknown>, (p) => expandPathPattern(p, { home: homeOf(io), workspace, policyDir: dirname(path) }));
  } catch (e) {
    extErrors(e, `--mcp-ext ${extFile}`);
  }
}

function stderrLine(io: CliIo, rec: AuditRecord, quiet: boolean): void {
  // A refused sandbox has its own one-line report (reportRefusal).
  if (!quiet && (rec.decision === 'deny' || rec.kind === 'mcp.finding') && rec.kind !== 'mcp.session.end' && rec.kind !== 'mcp.upstream.refused') {
    const reason = String(rec.detail?.['reason'] ?? (rec.detail?.['findings'] ? JSON.stringify((rec.detail['findings'] as Array<{ rule: string }>).map((f) => f.rule)) : ''));
    io.stderr(`warden mcp: ${rec.kind} ${rec.resource ?? ''} ${rec.decision ?? ''} ${rec.rule ?? ''} ${reason}`.replace(/[\r\n]+/g, ' ').slice(0, 500) + '\n');
  }
}

function jsonlAudit(logFile: string, quiet: boolean) {
  return (io: CliIo): AuditSink =>
    (rec: AuditRecord) => {
      appendFileSync(logFile, JSON.stringify({ ts: new Date().toISOString(), ...rec }) + '\n', { mode: 0o600 });
      stderrLine(io, rec, quiet);
    };
}

/** The gateway's records into Warden's chained audit log (one log per gateway process). */
async function chainedAudit(io: CliIo, quiet: boolean, session: string, policy: CompiledPolicy, layers: { active: string[]; degraded: string[] }, detail: Record<string, unknown>): Promise<{ sink: AuditSink; close: () => Promise<void>; failed: Promise<Error> }> {
  const { openAuditWriter } = await import('../audit/writer.js');
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<Error>((r) => (fail = r));
  const writer: AuditWriter = await openAuditWriter({
    env: io.env,
    // The chain, Merkle tree, signatures and I/O run in the audit worker: off the call path's thread
    // (bench/mcp/latency.ts: inline mode's group commits and checkpoints showed in the p99).
    thread: 'worker',
    onError: (e) => fail(e),
    genesis: { policyHash: policy.hash, wardenVersion: packageVersion(), layers, detail: { ...detail, session } },
  });
  const sink: AuditSink = (rec) => {
    try {
      writer.enqueue({ session, kind: rec.kind, ...(rec.resource !== undefined ? { resource: rec.resource } : {}), ...(rec.decision !== undefined ? { decision: rec.decision } : {}), ...(rec.rule !== undefined ? { rule: rec.rule } : {}), ...(rec.detail !== undefined ? { detail: rec.detail } : {}) });
    } catch (e) {
      // Fail closed: the gateway stops, and the call this record was for is denied (it rethrows).
      fail(e as Error);
      throw e;
    }
    stderrLine(io, rec, quiet);
  };
  return { sink, close: () => writer.close(), failed };
}

function sessionId(explicit: string | undefined, io: CliIo): string {
  const given = explicit ?? io.env['WARDEN_MCP_SESSION'];
  if (given) return given.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  // Default: the MCP client that launched us (all its stdio servers share it), with its start time
  // so a recycled pid does not inherit a dead session's taint.
  let start = '0';
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '0';
  } catch {
    /* not Linux /proc: pid alone */
  }
  return `ppid-${process.ppid}-${start}`;
}

interface Setup {
  policy: CompiledPolicy;
  ext: McpExt;
  pins: LockfileStore;
  audit: AuditSink;
  /** Closes the audit log (final checkpoint); a no-op for injected or JSONL sinks. */
  closeAudit: () => Promise<void>;
  /** Rejects… never; resolves when the audit log failed (the gateway then stops: no unaudited calls). */
  auditFailed: Promise<Error>;
  workspace: string;
  session: string;
}

async function setup(values: Record<string, unknown>, io: CliIo, deps: McpDeps, auditDetail: Record<string, unknown> | undefined): Promise<Setup> {
  const workspace = resolve(io.cwd, (values['workspace'] as string | undefined) ?? io.cwd);
  const loaded = await loadPolicy({
    ...(values['policy'] !== undefined ? { file: values['policy'] as string } : {}),
    ...(values['profile'] !== undefined ? { profile: values['profile'] as string } : {}),
    workspace,
    home: homeOf(io),
    cwd: io.cwd,
  });
  const policy = loaded.policy;
  const ext = readExt(values['mcp-ext'] as string | undefined, policy, io, workspace);
  const lockPath = values['lockfile'] !== undefined ? resolve(io.cwd, values['lockfile'] as string) : (policy.mcpLockfile ?? join(wardenDirs(io.env).state, 'mcp', 'lock.json'));
  const pins = new LockfileStore(lockPath);
  const session = sessionId(values['session'] as string | undefined, io);
  const quiet = values['quiet'] === true;
  const logFile = values['audit-log'] as string | undefined;
  let closeAudit = async (): Promise<void> => {};
  let auditFailed = new Promise<Error>(() => {});
  let audit: AuditSink;
  if (deps.audit) audit = deps.audit(io);
  else if (logFile !== undefined) audit = jsonlAudit(resolve(io.cwd, logFile), quiet)(io);
  else if (auditDetail === undefined) audit = (rec) => stderrLine(io, rec, quiet);
  else {
    // A stdio upstream runs in the sandbox unless a launcher was injected: the genesis says which.
    const stdio = auditDetail['mode'] !== 'http' && auditDetail['upstream'] === undefined;
    const layers = { active: ['mcp-gateway', ...(stdio && !deps.spawnUpstream ? ['upstream-sandbox'] : [])], degraded: stdio && deps.spawnUpstream ? ['upstream-sandbox'] : [] };
    const chained = await chainedAudit(io, quiet, session, policy, layers, auditDetail);
    audit = chained.sink;
    closeAudit = chained.close;
    auditFailed = chained.failed;
  }
  return { policy, ext, pins, audit, closeAudit, auditFailed, workspace, session };
}

/** How the stdio upstream is started: inside `warden run` (default) or by an injected launcher. */
interface Launcher {
  spawn: SpawnUpstream;
  /** Sandboxed only: warden run's reason once it exited with SANDBOX_REFUSED. */
  refusal?: () => Promise<string>;
}

function upstreamLauncher(values: { policy?: string | undefined; profile?: string | undefined; 'allow-degraded'?: string[] | undefined }, s: Setup, io: CliIo, deps: McpDeps): Launcher {
  if (deps.spawnUpstream) return { spawn: deps.spawnUpstream(s.policy, io) };
  const sb = sandboxSpawn({
    policyFile: values.policy !== undefined ? resolve(io.cwd, values.policy) : undefined,
    profile: values.profile,
    workspace: s.workspace,
    allowDegraded: (values['allow-degraded'] ?? []).flatMap((v) => v.split(',')).map((l) => l.trim()).filter(Boolean),
    env: io.env,
    cwd: io.cwd,
    stderr: io.stderr,
  });
  return { spawn: sb.spawn, refusal: sb.lastStderrLine };
}

/** Fail closed on a refused sandbox: audited, one line, exit 126 — never a plain spawn instead. */
async function reportRefusal(launcher: Launcher, s: Setup, io: CliIo, serverName: string): Promise<number> {
  const line = (await launcher.refusal!()).replace(/^warden: /, '').replace(/[\r\n]+/g, ' ').slice(0, 500) || 'no reason given';
  s.audit({ kind: 'mcp.upstream.refused', resource: serverName, decision: 'deny', rule: 'upstream-sandbox', detail: { reason: line } });
  io.stderr(`warden mcp: the sandbox for the upstream server refused to start: ${line}\n`);
  return SANDBOX_REFUSED;
}

function headersOf(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const h of list) {
    const i = h.indexOf(':');
    if (i <= 0) throw new WardenError('USAGE', `--upstream-header "${h}" is not NAME: VALUE`, 'e.g. --upstream-header "Authorization: Bearer …"');
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  return out;
}

async function gateway(args: string[], io: CliIo, deps: McpDeps): Promise<number> {
  const { values, rest } = parseCli(args, { ...COMMON, listen: { type: 'string' }, 'allow-remote-listen': { type: 'boolean' }, path: { type: 'string' } }, { usage: USAGE });
  const http = values.listen !== undefined || values.upstream !== undefined;
  if (http && (values.listen === undefined || values.upstream === undefined)) throw new WardenError('USAGE', 'HTTP mode needs both --listen HOST:PORT and --upstream URL', 'run "warden mcp --help"');
  if (http && rest.length) throw new WardenError('USAGE', 'give either -- SERVER_CMD or --listen/--upstream, not both', 'run "warden mcp --help"');
  if (!http && rest.length === 0) throw new WardenError('USAGE', 'warden mcp needs the server command after --', 'run "warden mcp --help"');
  let listen: ReturnType<typeof parseListen> | undefined;
  let upstreamUrl: URL | undefined;
  if (http) {
    try {
      listen = parseListen(values.listen!);
      upstreamUrl = new URL(values.upstream!);
    } catch (e) {
      throw new WardenError('USAGE', (e as Error).message, 'run "warden mcp --help"');
    }
    if (!/^https?:$/.test(upstreamUrl.protocol)) throw new WardenError('USAGE', '--upstream must be an http(s) URL', 'run "warden mcp --help"');
    if (!isLoopback(listen.host) && !values['allow-remote-listen']) {
      throw new WardenError('USAGE', `refusing to listen on non-loopback ${listen.host}`, 'bind 127.0.0.1, or pass --allow-remote-listen if you really mean to expose the gateway');
    }
  }
  let s: Setup;
  try {
    s = await setup(values, io, deps, http ? { mode: 'http', upstream: upstreamUrl!.href, listen: values.listen } : { mode: 'stdio', argv: rest });
  } catch (e) {
    if (isWardenError(e) && e.code !== 'USAGE') {
      io.stderr(e.oneLine() + '\n');
      return 126;
    }
    throw e;
  }
  try {
    return await serve({ values, rest, http, listen, upstreamUrl, s, io, deps });
  } finally {
    await s.closeAudit().catch((e: Error) => io.stderr(`warden mcp: audit log: ${e.message}\n`));
  }
}

/** What one gateway run serves: parsed flags, the server command or URL, setup and injected deps. */
interface ServeRequest {
  values: { name?: string | undefined; path?: string | undefined; 'upstream-header'?: string[] | undefined; policy?: string | undefined; profile?: string | undefined; 'allow-degraded'?: string[] | undefined };
  rest: string[];
  http: boolean;
  listen: ReturnType<typeof parseListen> | undefined;
  upstreamUrl: URL | undefined;
  s: Setup;
  io: CliIo;
  deps: McpDeps;
}

async function serve(req: ServeRequest): Promise<number> {
  const { values, rest, http, upstreamUrl, s, io, deps } = req;
  const serverName = values.name ?? (http ? upstreamUrl!.hostname : defaultServerName(rest));
  const serverKey = serverKeyOf(http ? { url: upstreamUrl!.href } : { command: rest });
  // Approvals from another terminal (`warden approvals`), only when this policy can ask at all.
  let approvals: Awaited<ReturnType<typeof startGatewayApprovals>> | undefined;
  if (!deps.approve && mcpCanApprove(s.policy, s.ext)) {
    try {
      approvals = await startGatewayApprovals({ policy: s.policy, session: s.session, runDir: wardenDirs(io.env).run, audit: s.audit });
    } catch (e) {
      // Fail closed: without the socket every approval is a deny (no-approver), and that is audited.
      s.audit({ kind: 'mcp.internal.error', detail: { error: `approvals socket: ${(e as Error).message}`.slice(0, 300) } });
      io.stderr(`warden mcp: cannot serve approvals (${(e as Error).message}); calls that need approval are denied\n`);
    }
  }
  try {
    return await serveWith(req, serverName, serverKey, deps.approve ?? approvals?.approve);
  } finally {
    await approvals?.close();
  }
}

async function serveWith(req: ServeRequest, serverName: string, serverKey: string, approve: Approver | undefined): Promise<number> {
  const { values, rest, http, listen, upstreamUrl, s, io, deps } = req;
  const taint: TaintStore = new FileTaintStore(join(wardenDirs(io.env).state, 'mcp', 'taint', s.session));
  const base = { policy: s.policy, ext: s.ext, serverName, serverKey, pins: s.pins, audit: s.audit, taint, cwd: io.cwd, home: homeOf(io), ...(approve ? { approve } : {}) };

  if (http) {
    const gw = await serveHttp({
      listen: listen!,
      upstreamUrl: upstreamUrl!,
      ...(values.path ? { path: values.path } : {}),
      maxMessageBytes: s.ext.limits.maxMessageBytes,
      ...(headersOf(values['upstream-header']) ? { upstreamHeaders: headersOf(values['upstream-header'])! } : {}),
      makeSession: (client, upstream) => new GatewaySession(base, client, upstream),
      onError: (e) => s.audit({ kind: 'mcp.internal.error', detail: { error: e.message.slice(0, 300) } }),
    });
    io.stderr(`warden mcp: listening on http://${gw.address.host.includes(':') ? `[${gw.address.host}]` : gw.address.host}:${gw.address.port}${values.path ?? '/mcp'} → ${upstreamUrl!.href}\n`);
    const stop = (): void => void gw.close();
    void s.auditFailed.then((e) => {
      io.stderr(`warden mcp: audit log failed (${e.message}); stopping\n`);
      stop();
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await gw.done;
    return 0;
  }

  const [cmd, ...cmdArgs] = rest as [string, ...string[]];
  const launcher = upstreamLauncher(values, s, io, deps);
  const child = launcher.spawn(cmd, cmdArgs);
  const upstream = new ChildTransport(child, { maxMessageBytes: s.ext.limits.maxMessageBytes });
  const streams = deps.clientStreams?.() ?? { input: process.stdin, output: process.stdout };
  const client = new StreamTransport(streams.input, streams.output, { maxMessageBytes: s.ext.limits.maxMessageBytes });
  const session = new GatewaySession(base, client, upstream);
  const stop = (): void => void session.close();
  void s.auditFailed.then((e) => {
    io.stderr(`warden mcp: audit log failed (${e.message}); stopping\n`);
    stop();
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await session.start();
  const end = await session.done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (end.reason === 'upstream-closed') {
    const exit = await Promise.race([upstream.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref())]);
    if (exit?.code === SANDBOX_REFUSED && launcher.refusal) return reportRefusal(launcher, s, io, serverName);
    const how = exit ? (exit.error ? `could not start (${exit.error})` : exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'closed its output';
    io.stderr(`warden mcp: upstream server ${how}\n`);
    return exit?.code === 0 ? 0 : 1;
  }
  return 0;
}

async function pin(args: string[], io: CliIo, deps: McpDeps): Promise<number> {
  const { values, rest } = parseCli(args, { ...COMMON, accept: { type: 'boolean' }, list: { type: 'boolean' }, tool: { type: 'string', multiple: true }, json: { type: 'boolean' } }, { usage: USAGE });
  if (!!values.accept === !!values.list) throw new WardenError('USAGE', 'warden mcp pin needs exactly one of --accept or --list', 'run "warden mcp --help"');
  if (values.list) {
    let path: string;
    if (values.lockfile !== undefined) path = resolve(io.cwd, values.lockfile);
    else if (values.policy !== undefined || values.profile !== undefined) path = (await setup(values, io, deps, undefined)).pins.path;
    else path = join(wardenDirs(io.env).state, 'mcp', 'lock.json');
    const store = new LockfileStore(path);
    const data = store.snapshot();
    if (values.json) {
      io.stdout(JSON.stringify({ lockfile: path, ...data }) + '\n');
      return 0;
    }
    io.stdout(`lockfile: ${path}\n`);
    for (const [key, s] of Object.entries(data.servers)) {
      io.stdout(`${key}  (${s.identity.name}${s.identity.version ? ` ${s.identity.version}` : ''}, updated ${s.updatedAt})\n`);
      for (const [name, t] of Object.entries(s.tools).sort()) io.stdout(`  ${name}  sha256:${t.sha256.slice(0, 16)}…  ${t.via} ${t.pinnedAt}\n`);
    }
    return 0;
  }
  const http = values.upstream !== undefined;
  if (http === rest.length > 0) throw new WardenError('USAGE', 'pin --accept needs the server: -- SERVER_CMD ARGS... or --upstream URL', 'run "warden mcp --help"');
  const s = await setup(values, io, deps, { mode: 'pin', ...(http ? { upstream: values.upstream } : { argv: rest }) });
  try {
    return await pinAccept(values, rest, http, s, io, deps);
  } finally {
    await s.closeAudit();
  }
}

async function pinAccept(values: { name?: string | undefined; upstream?: string | undefined; tool?: string[] | undefined; 'upstream-header'?: string[] | undefined; policy?: string | undefined; profile?: string | undefined; 'allow-degraded'?: string[] | undefined }, rest: string[], http: boolean, s: Setup, io: CliIo, deps: McpDeps): Promise<number> {
  const serverName = values.name ?? (http ? new URL(values.upstream!).hostname : defaultServerName(rest));
  const serverKey = serverKeyOf(http ? { url: new URL(values.upstream!).href } : { command: rest });
  let transport: Transport;
  let child: ChildTransport | undefined;
  let launcher: Launcher | undefined;
  if (http) {
    const hdrs = headersOf(values['upstream-header']);
    transport = new StreamableHTTPClientTransport(new URL(values.upstream!), { fetch: limitedFetch(s.ext.limits.maxMessageBytes), ...(hdrs ? { requestInit: { headers: hdrs } } : {}) });
  } else {
    const [cmd, ...cmdArgs] = rest as [string, ...string[]];
    launcher = upstreamLauncher(values, s, io, deps);
    child = new ChildTransport(launcher.spawn(cmd, cmdArgs), { maxMessageBytes: s.ext.limits.maxMessageBytes });
    transport = child;
  }
  let probe;
  try {
    probe = await probeServer(transport);
  } catch (e) {
    await transport.close().catch(() => {});
    const exit = child ? await Promise.race([child.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref())]) : undefined;
    if (exit?.code === SANDBOX_REFUSED && launcher?.refusal) return reportRefusal(launcher, s, io, serverName);
    io.stderr(`warden mcp pin: cannot list the server's tools: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await transport.close().catch(() => {});
  }
  const wanted = values.tool?.map((t) => compileGlob(t, null));
  const pinned = s.pins.server(serverKey);
  const labels = compileLabels(s.ext.labels);
  const hostAllowed = (host: string, port: number): 'allow' | 'deny' | 'approve' => {
    const d = decide(s.policy, { kind: 'net', host, port }).decision;
    return d === 'allow' ? 'allow' : d === 'approve' ? 'approve' : 'deny';
  };
  const siblings = new Set(probe.tools.map((t) => String(t['name'])));
  const accepted: string[] = [];
  const lines: string[] = [];
  const updates: Array<{ name: string; fp: NonNullable<ReturnType<typeof assessTool>['fingerprint']> }> = [];
  for (const def of probe.tools) {
    const a = assessTool(def, { serverName: probe.serverInfo.name, pinned: pinned?.tools[String(def['name'])], newServer: !pinned, definitions: { siblings, others: new Map(), hostAllowed }, ext: s.ext, labels, server: serverName });
    if (!a.fingerprint) {
      lines.push(`skip   ${a.name || '(unnamed)'}: ${a.withheld?.reason ?? 'invalid'}`);
      continue;
    }
    if (wanted && !wanted.some((g) => g.test(a.name))) continue;
    const findings = a.actionable.length ? `  [findings: ${a.actionable.map((f) => f.rule).join(', ')}]` : '';
    if (a.pin.status === 'match') {
      lines.push(`ok     ${a.name}${findings}`);
      continue;
    }
    updates.push({ name: a.name, fp: a.fingerprint });
    accepted.push(a.name);
    lines.push(`accept ${a.name} (${a.pin.status === 'changed' ? `changed: ${a.pin.fields.join(', ')}` : 'new'})${findings}`);
  }
  if (updates.length) {
    s.pins.updateServer(serverKey, probe.serverInfo, (tools) => {
      for (const u of updates) tools[u.name] = pinOf(u.fp, 'accept', new Date());
    });
    for (const u of updates) s.audit({ kind: 'mcp.pin', resource: `${serverName}/${u.name}`, decision: 'allow', rule: 'mcp.pin', detail: { action: 'accepted', sha256: u.fp.sha256, via: 'accept' } });
  }
  for (const l of lines) io.stdout(l + '\n');
  io.stdout(`${accepted.length} tool${accepted.length === 1 ? '' : 's'} accepted into ${s.pins.path}\n`);
  if (wanted && accepted.length === 0 && !lines.some((l) => l.startsWith('ok'))) {
    io.stderr(`warden mcp pin: no tool matched ${values.tool!.join(', ')}\n`);
    return 1;
  }
  return 0;
}

export function makeMcpCommand(deps: McpDeps = {}): Command {
  return async (args, io) => {
    if (args[0] === 'pin') return pin(args.slice(1), io, deps);
    if (args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
      io.stdout(`usage: ${USAGE}\n`);
      return 0;
    }
    return gateway(args, io, deps);
  };
}

export const mcpCommand: Command = makeMcpCommand();
