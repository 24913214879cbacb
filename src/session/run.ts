import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { WardenError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { wardenDirs } from '../paths.js';
import { loadPolicy } from '../policy/load.js';
import type { AuditEventInput } from '../audit/record.js';
import { openAuditWriter, type AuditWriter } from '../audit/writer.js';
import { buildPlan } from '../sandbox/plan.js';
import { launchSandbox, type SandboxHandle } from '../sandbox/launch.js';
import { assertWorkspace, fileLinkCount, HostPathView, isRegularFile } from '../sandbox/host-paths.js';
import { DEGRADABLE_LAYERS, type DegradableLayer } from '../sandbox/spec.js';
import { startApprovals } from './approvals.js';
import { egressAuditEvent, openEgress } from './egress.js';
import { expandGlobs } from './fs-expand.js';
import { changes, notice, snapshot, type Snapshot } from './persistence-watch.js';
import { cachedProbe } from './probe-cache.js';
import { CgroupWarmup } from '../sandbox/cgroup-warm.js';
import { specFromPolicy } from './spec-from-policy.js';

/**
 * One `warden run` session: load the policy, plan the sandbox, open the audit log, run, record.
 *
 * Fail-closed order: nothing is executed before the policy is valid, the plan is built, and the
 * audit log's genesis record is durable. A refusal at any step is exit 126 with one line; the
 * helper refusing a layer is audited before Warden exits.
 */

export interface RunOptions {
  argv: string[];
  policyFile?: string;
  profile?: string;
  workspace?: string;
  allowDegraded: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stderr: (text: string) => void;
  interactive: boolean;
  wardenVersion: string;
}

export const REFUSED = 126;

function parseDegraded(names: string[]): DegradableLayer[] {
  const out: DegradableLayer[] = [];
  for (const n of names) {
    if (!(DEGRADABLE_LAYERS as readonly string[]).includes(n)) {
      throw new WardenError('USAGE', `--allow-degraded: "${n}" is not a layer that can be degraded`, `degradable layers: ${DEGRADABLE_LAYERS.join(', ')}`);
    }
    out.push(n as DegradableLayer);
  }
  return out;
}

function canonicalWorkspace(cwd: string, ws: string | undefined): string {
  const p = resolve(cwd, ws ?? '.');
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    throw new WardenError('WORKSPACE_INVALID', `workspace ${p} does not exist`, 'create it or pass --workspace DIR');
  }
  return assertWorkspace(real);
}

/**
 * What of Warden's own package a later `warden run` loads and runs outside any sandbox: its bin,
 * bundle, helper, profiles and schema (in an npx cache under a writable ~/.npm, or a checkout used
 * as the workspace, the agent could otherwise change them).
 */
function ownPackage(): string[] {
  const root = packageRoot();
  return ['bin', 'dist', 'native', 'profiles', 'schema', 'node_modules', 'package.json'].map((p) => join(root, p));
}

export async function runSession(o: RunOptions): Promise<number> {
  const warmup = new CgroupWarmup();
  try {
    return await startSession(o, warmup);
  } finally {
    warmup.stop();
  }
}

async function startSession(o: RunOptions, warmup: CgroupWarmup): Promise<number> {
  const t0 = Date.now();
  // WARDEN_TRACE=1 prints start-up phases (ms since process start) to stderr.
  const trace = o.env['WARDEN_TRACE'] ? (what: string) => o.stderr(`warden: trace ${performance.now().toFixed(1)} ms ${what}\n`) : () => {};
  trace('session');
  if (o.argv.length === 0 || o.argv[0] === '') throw new WardenError('USAGE', 'no command to run', 'warden run [options] -- CMD ARGS...');
  const allowDegraded = parseDegraded(o.allowDegraded);
  const workspace = canonicalWorkspace(o.cwd, o.workspace);
  const dirs = wardenDirs(o.env);
  const home = o.env['HOME'] || homedir();
  // Independent start-up work runs concurrently (start-up latency is a budget).
  const [loaded, probe] = await Promise.all([
    loadPolicy({
      ...(o.policyFile !== undefined ? { file: o.policyFile } : {}),
      ...(o.profile !== undefined ? { profile: o.profile } : {}),
      workspace,
      home,
      cwd: o.cwd,
      cacheDir: join(dirs.state, 'cache', 'policy'),
    }),
    cachedProbe(o.env, dirs.state).then((probe) => {
      warmup.start(probe.cgroup);
      return probe;
    }),
  ]);
  const policy = loaded.policy;
  trace('policy+probe');
  // One view of the host's paths for the whole plan (host-paths.ts: HostPathView).
  const hostPaths = new HostPathView();
  const spec = specFromPolicy(
    { policy, argv: o.argv, cwd: o.cwd, hostEnv: o.env, allowDegraded, interactive: o.interactive, dirs, protect: [...(o.policyFile !== undefined ? [resolve(o.cwd, o.policyFile)] : []), ...(policy.mcpLockfile !== undefined ? [policy.mcpLockfile] : []), ...ownPackage()] },
    { resolve: hostPaths.resolve, symlinksOn: hostPaths.symlinksOn, fileLinks: fileLinkCount, isFile: isRegularFile, expandGlobs, totalMemoryBytes: totalmem() },
  );
  const session = `${new Date(t0).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
  // Egress: the sandbox's only way out is Warden's proxy and DNS stub, reached through the relay
  // in its network namespace. Records arrive only after launch, when the audit log is open.
  let audit: AuditWriter | undefined;
  const planned = ['userns', 'mountns', 'pidns', 'netns', 'ipcns', 'utsns', 'landlock', 'seccomp', 'caps', 'nnp', 'rlimits', 'fds', 'env', 'egress', 'mediation'];
  // Fail closed on evidence: if the log cannot be written any more, the sandboxed tree is killed
  // rather than left running unaudited.
  let auditFailure: Error | undefined;
  let killTree: (() => void) | undefined;
  let mediationFailure: Error | undefined;
  const openLog = (): Promise<AuditWriter> => openAuditWriter({
    env: o.env,
    thread: 'inline',
    onError: (e) => {
      auditFailure = e;
      killTree?.();
    },
    genesis: {
      policyHash: policy.hash,
      wardenVersion: o.wardenVersion,
      layers: { active: planned.filter((l) => !(allowDegraded as string[]).includes(l)), degraded: allowDegraded },
      detail: { session, policy: loaded.source, workspace, argv: o.argv },
    },
  });
  let opening: Promise<AuditWriter> | undefined;
  let approvals: Awaited<ReturnType<typeof startApprovals>>;
  let egress: ReturnType<typeof openEgress> | undefined;
  try {
    // Approvals start lazily (their socket opens on the first ask): no I/O here. On an interactive
    // terminal they are also asked there, with the sandbox's tree paused.
    let sandboxInit: Promise<number | null> = Promise.resolve(null);
    approvals = await startApprovals({ policy, session, runDir: dirs.run, audit: (ev) => audit?.enqueue(ev), notify: o.stderr, ...(o.interactive ? { terminal: { sandboxInit: () => sandboxInit } } : {}) });
    const approver = approvals;
    // Only the paths here: the proxy and DNS stub start listening once the helper is spawned.
    egress = openEgress({
      policy,
      runDir: dirs.run,
      session,
      audit: (r) => {
        const ev = egressAuditEvent(session, r);
        if (ev) audit?.enqueue(ev);
      },
      ...(approver ? { approve: (req) => approver.approveConnection(req) } : {}),
    });
    spec.egress = egress.spec;
    spec.mediateExec = true;
    const plan = buildPlan(spec, probe);
    trace('plan');
    // The helper builds the sandbox (another process, so the other core) while this thread opens
    // the audit log and starts the egress sockets; it execs the command only on release, and
    // release waits for a durable genesis and listening sockets, so nothing runs unaudited or
    // without its way out (a failure withdraws the sandbox).
    plan.flags.goGate = true;
    const watched = snapshot(workspace);
    const handle = launchSandbox(plan, { stdio: 'inherit' });
    sandboxInit = handle.initPid;
    killTree = () => handle.kill('SIGKILL');
    // Once the sandbox is ready, init is in its cgroup (the helper moves it before release).
    const stopWarmup = () => warmup.stop();
    void handle.ready.then(stopWarmup, stopWarmup);
    trace('spawned');
    opening = openLog();
    const listening = egress.listen();
    try {
      [audit] = await Promise.all([opening, listening]);
    } catch (e) {
      handle.release(false);
      await handle.result.catch(() => undefined);
      throw e;
    }
    trace('audit open');
    handle.release(true);
    // Exec mediation brings the classifier. Its module initialises (~4 ms, this thread) after the
    // release, while the helper finishes the sandbox and execs the command, whose first exec waits
    // in the kernel for the mediator; before the release it would hold up the genesis's sync
    // callbacks on this thread, and with them the release.
    const mediationModule = import('./exec-mediation.js');
    // The command's first exec is held in the kernel until a verdict arrives, and the channel
    // buffers it until the mediator is attached, so releasing before the mediator is attached
    // costs nothing in safety. A module that fails to load ends the sandbox (no exec would ever be
    // answered).
    const auditNow = audit;
    let mediator: { close(): void } | undefined;
    const mediatorReady = mediationModule.then(
      ({ startExecMediation }) => {
        mediator = startExecMediation({
          policy,
          plan,
          handle,
          session,
          audit: (ev) => auditNow.enqueue(ev),
          auditReplay: (template, pid) => auditNow.enqueueWithPid(template, pid),
          ...(approver ? { approve: (req) => approver.approveExec(req), approveOpen: (req) => approver.approveOpen(req) } : {}),
          onFatal: (e) => {
            mediationFailure = e;
            killTree?.();
          },
        });
        trace('mediation ready');
      },
      (e: Error) => {
        mediationFailure = e;
        killTree?.();
      },
    );
    if (auditFailure) killTree();
    try {
      // Mediation, approvals and egress end with the tree, before the session's last record:
      // what they still say (a held exec denied because the session ended, the end record of a
      // connection still open) lands in the log, not on a closed one.
      const egressNow = egress;
      const endMediation = async () => {
        await mediatorReady;
        mediator?.close();
        await approver?.close();
        await egressNow.close();
      };
      return await execute(o, { plan, handle, audit, session, workspace, watched, source: loaded.source, t0, trace, auditFailed: () => auditFailure, mediationFailed: () => mediationFailure, endMediation });
    } finally {
      mediator?.close();
    }
  } catch (e) {
    // A refusal once the policy is known is itself a decision: record it (opening the log for it
    // if the refusal came before the log was due), then refuse.
    const a = audit ?? (await (opening ?? openLog()).catch(() => undefined));
    if (a) {
      await a.append({ session, kind: 'session.refused', decision: 'deny', rule: 'warden', resource: workspace, detail: { reason: (e as Error).message } }).catch(() => undefined);
      await a.close().catch(() => undefined);
    }
    throw e;
  } finally {
    await egress?.close();
    await approvals?.close();
  }
}

interface Prepared {
  plan: ReturnType<typeof buildPlan>;
  handle: SandboxHandle;
  audit: AuditWriter;
  session: string;
  workspace: string;
  /** The workspace's watched paths at launch (persistence-watch.ts). */
  watched: Snapshot;
  source: string;
  t0: number;
  trace: (what: string) => void;
  auditFailed: () => Error | undefined;
  mediationFailed: () => Error | undefined;
  endMediation: () => Promise<void>;
}

async function execute(o: RunOptions, p: Prepared): Promise<number> {
  const { plan, audit, session, workspace, t0 } = p;
  const proc = { pid: process.pid, exe: o.argv[0]!, argv: o.argv };
  const handle = p.handle;
  const relay = (sig: NodeJS.Signals) => () => handle.kill(sig);
  const relays: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const).map((s) => [s, relay(s)]);
  for (const [s, fn] of relays) process.on(s, fn);
  void handle.ready.then((layers) => {
    if (layers) audit.enqueue({ session, kind: 'session.start', decision: 'allow', rule: 'policy', resource: workspace, proc, detail: { layers, policy: p.source, notes: plan.notes } });
  });
  void handle.ready.then(() => p.trace('sandbox ready'));
  const result = await handle.result.finally(() => {
    for (const [s, fn] of relays) process.off(s, fn);
  });
  p.trace('command exited');
  await p.endMediation();
  const durationMs = Date.now() - t0;
  if (p.auditFailed()) {
    o.stderr(`warden: the audit log failed (${p.auditFailed()!.message}); the sandboxed tree was killed (fix: check the disk and permissions of the audit directory)\n`);
    return REFUSED;
  }
  if (p.mediationFailed()) {
    const reason = p.mediationFailed()!.message;
    await closeWith(audit, { session, kind: 'session.refused', decision: 'deny', rule: 'layer:mediation', resource: workspace, proc, detail: { reason } });
    o.stderr(`warden: layer mediation: the exec mediation channel failed (${reason}); the sandboxed tree was killed (fix: this is a Warden bug; report it)\n`);
    return REFUSED;
  }
  if (result.refused) {
    await closeWith(audit, { session, kind: 'session.refused', decision: 'deny', rule: `layer:${result.refused.layer}`, resource: workspace, proc, detail: { reason: result.refused.reason, message: result.refused.message } });
    // The helper already printed its one-line reason; make sure there is one if it did not.
    if (!result.events.some((e) => e.kind === 'refuse')) o.stderr(`${result.refused.message}\n`);
    return REFUSED;
  }
  // After the tree is gone: what it left that runs outside the sandbox later, before the last record.
  const left = changes(p.watched, snapshot(workspace));
  if (left.length) {
    audit.enqueue({ session, kind: 'session.persistence', decision: 'warn', rule: 'warden.persistence', resource: workspace, detail: { changes: left.map((c) => ({ ...c })) } });
    o.stderr(`${notice(left)}\n`);
  }
  await closeWith(audit, {
    session,
    kind: 'session.end',
    resource: workspace,
    proc,
    detail: { exitCode: result.exitCode, ...(result.signal !== undefined ? { signal: result.signal } : {}), durationMs, layers: result.layers, resources: result.resources ?? null, execFailed: result.execFailed ?? null, execMissing: result.execMissing ?? 0 },
  });
  p.trace('audit closed');
  return result.exitCode;
}

/**
 * The session's last record, then the final checkpoint, made durable together by the close (one
 * group commit, not one for the record and another for the checkpoint); rejects, like append,
 * if the record cannot be made durable.
 */
async function closeWith(audit: AuditWriter, ev: AuditEventInput): Promise<void> {
  audit.enqueue(ev);
  await audit.close();
}
