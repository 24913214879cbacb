/**
 * The supervisor side of a session's egress (DESIGN.md §2 L2): starts Warden's proxy and DNS stub
 * on unix sockets in a private per-session directory and says how the sandbox reaches them. The
 * sandbox never sees these sockets: the helper's relay (native/relay.c), which lives in the
 * sandbox's network namespace but outside its pid/mount namespaces and Landlock domain, connects
 * to them by host path for each TCP connection to 127.0.0.1:PORT and for DNS on 127.0.0.1:53.
 *
 * Use (run.ts):
 *   const egress = openEgress({ policy, runDir: dirs.run, session, audit: (r) => audit.enqueue(...) });
 *   spec.egress = egress.spec;            // before buildPlan: the paths are fixed before the sockets exist
 *   ... launch the helper, then: await egress.listen();   // before the command is released
 *   ... finally: await egress.close();    // after the sandbox has exited
 * (`startEgress` is the same with the sockets already listening.)
 *
 * Invariants: the session directory is created mode 0700 (its parent too), the sockets 0600,
 * owned by the supervisor's uid — the relay runs as that same uid (identity id maps). Close
 * removes the directory. Nothing in the sandbox can reach the sockets before the command is
 * released (the relay connects per connection the command makes), so they only have to listen
 * before that release; a socket that cannot listen refuses the session. The proxy variables and
 * the resolv.conf bind are planned by buildPlan from `spec` (so they cannot be forgotten or
 * overridden by the policy's env).
 */
import { lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WardenError } from '../errors.js';
import { createDnsStub, createEgressProxy, type Approver, type DnsAuditRecord, type EgressAuditRecord, type EgressProxyOptions, type Resolver } from '../egress/index.js';
import type { AuditEventInput } from '../audit/record.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { EGRESS_PORT, egressEnv, type SandboxEgress } from '../sandbox/spec.js';

export interface StartEgressOptions {
  policy: CompiledPolicy;
  /** Warden's run directory (wardenDirs().run); the session's sockets go in <runDir>/<session>. */
  runDir: string;
  session: string;
  audit: (rec: EgressAuditRecord | DnsAuditRecord) => void;
  approve?: Approver;
  approvalTimeoutMs?: number;
  /** Default: the system resolver (the proxy and stub resolve; the sandbox never does). */
  resolver?: Resolver;
  limits?: EgressProxyOptions['limits'];
  onAuditError?: (e: unknown) => void;
}

export interface Egress {
  proxySocket: string;
  dnsSocket: string;
  relayPort: number;
  /** The proxy variables the sandbox gets (buildPlan sets them itself; for display/audit). */
  env: Record<string, string>;
  /** Put this in SandboxSpec.egress. */
  spec: SandboxEgress;
  /** Starts the proxy and the DNS stub; resolves once both listen (LAYER_UNAVAILABLE, cleaned up, if either cannot). */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where the sandbox's resolv.conf must be bound: /etc/resolv.conf, or — when the host's is a
 * symlink (systemd-resolved's stub-resolv.conf) — the symlink's target, so the link the sandbox
 * sees through its /etc grant resolves to the generated file. The helper refuses symlinks in a
 * mount point, so binding over the link itself is not an option.
 */
export function resolvConfTarget(path = '/etc/resolv.conf'): string {
  try {
    if (!lstatSync(path).isSymbolicLink()) return path;
  } catch {
    return path;
  }
  try {
    return realpathSync(path);
  } catch {
    // Dangling link: bind where it points (the helper creates the mount point in the sandbox root).
    return resolve(dirname(path), readlinkSync(path));
  }
}

/** `openEgress` with its sockets listening. */
export async function startEgress(o: StartEgressOptions): Promise<Egress> {
  const egress = openEgress(o);
  await egress.listen();
  return egress;
}

/**
 * Creates the session directory and resolv.conf and fixes the socket paths the plan needs; the
 * proxy and the DNS stub start on `listen()` (start-up latency: the helper can build the sandbox
 * meanwhile).
 */
export function openEgress(o: StartEgressOptions): Egress {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.session) || o.session.startsWith('.')) throw new WardenError('INTERNAL', `egress: bad session id ${o.session}`);
  mkdirSync(o.runDir, { recursive: true, mode: 0o700 });
  const runDir = realpathSync(o.runDir); // the helper walks bind sources without following symlinks
  const dir = join(runDir, o.session);
  mkdirSync(dir, { mode: 0o700 });
  const proxySocket = join(dir, 'proxy.sock');
  const dnsSocket = join(dir, 'dns.sock');
  if (Buffer.byteLength(proxySocket) > 107)
    throw new WardenError('USAGE', `egress: socket path too long for a unix socket: ${proxySocket}`, 'set XDG_RUNTIME_DIR (or WARDEN_HOME) to a shorter directory');
  const resolvConf = join(dir, 'resolv.conf');
  // Only the stub; no search domains (a search list would leak the host's domain and multiply queries).
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n', { mode: 0o644 });

  let started: { proxy: ReturnType<typeof createEgressProxy>; dns: ReturnType<typeof createDnsStub>; listening: Promise<void> } | undefined;
  let closed: Promise<void> | undefined;
  const start = (): NonNullable<typeof started> => {
    const proxy = createEgressProxy({
      policy: o.policy,
      audit: o.audit,
      ...(o.approve ? { approve: o.approve } : {}),
      ...(o.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: o.approvalTimeoutMs } : {}),
      ...(o.resolver ? { resolver: o.resolver } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.onAuditError ? { onAuditError: o.onAuditError } : {}),
    });
    const dns = createDnsStub({
      policy: o.policy,
      audit: o.audit,
      ...(o.resolver ? { resolver: o.resolver } : {}),
      ...(o.onAuditError ? { onAuditError: o.onAuditError } : {}),
    });
    // Concurrently: both are on `warden run`'s start-up path.
    const listening = Promise.all([proxy.listen({ path: proxySocket, mode: 0o600, relay: true }), dns.listenStream({ path: dnsSocket, mode: 0o600 })]).then(
      () => undefined,
      async (e: Error) => {
        await Promise.allSettled([proxy.close(), dns.close()]);
        rmSync(dir, { recursive: true, force: true });
        throw new WardenError('LAYER_UNAVAILABLE', `layer egress: cannot start the proxy: ${e.message}`, 'check the run directory');
      },
    );
    return { proxy, dns, listening };
  };
  return {
    proxySocket,
    dnsSocket,
    relayPort: EGRESS_PORT,
    env: egressEnv(EGRESS_PORT),
    spec: { proxySocket, dnsSocket, port: EGRESS_PORT, resolvConf, resolvConfAt: resolvConfTarget() },
    listen() {
      if (closed) return Promise.reject(new WardenError('INTERNAL', 'egress: listen after close'));
      // Never a synchronous throw: the caller has a helper waiting at its go gate to withdraw.
      try {
        started ??= start();
      } catch (e) {
        return Promise.reject(e as Error);
      }
      return started.listening;
    },
    close() {
      const s = started;
      closed ??= (s ? s.listening.catch(() => undefined).then(() => Promise.allSettled([s.proxy.close(), s.dns.close()])) : Promise.resolve()).then(() =>
        rmSync(dir, { recursive: true, force: true }),
      );
      return closed;
    },
  };
}

/**
 * An egress or DNS record as an audit event: the proxy's `decision` records are skipped (the `end`
 * record repeats the decision with bytes and duration), every DNS query is kept.
 */
export function egressAuditEvent(session: string, rec: EgressAuditRecord | DnsAuditRecord): AuditEventInput | null {
  if (rec.type === 'dns') {
    const { type: _t, decision, rule, name, ...detail } = rec;
    return { session, kind: 'dns', resource: name ?? '(unparseable)', decision, rule, detail };
  }
  if (rec.phase !== 'end') return null;
  const { type: _t, decision, rule, host, port, ...detail } = rec;
  return { session, kind: 'connect', resource: `${host ?? '?'}:${port ?? '?'}`, decision, rule, detail };
}
