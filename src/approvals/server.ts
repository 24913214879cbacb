import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { WardenError } from '../errors.js';
import { fdOf, loadNativeAddon } from '../native-addon.js';
import type { ApprovalBroker } from './broker.js';
import { MAX_LINE, requestSchema, type ApprovalsResponse } from './protocol.js';

/**
 * The approvals socket of one Warden session: `<run>/approvals/<session>.sock`.
 *
 * Who may answer: only the same user. The directory is created 0700 and must be owned by us (a
 * pre-created directory owned by someone else is refused, so no other user can plant or reach
 * the socket), the socket is 0600, and each connection's peer credentials are checked with
 * `peerCred` (SO_PEERCRED via the native addon, `nativePeerCred`) when available. The sandbox never sees this
 * directory: it is Warden state, which the mount namespace does not contain and Landlock does
 * not grant.
 */

export interface PeerCred {
  uid: number;
  pid: number;
}

/**
 * SO_PEERCRED through the native addon, when it was built; without it, who may answer rests on
 * the directory and socket permissions alone (0700 / 0600, owned by us).
 */
export function nativePeerCred(): ((sock: Socket) => Promise<PeerCred | undefined>) | undefined {
  const addon = loadNativeAddon();
  if (!addon) return undefined;
  return async (sock) => {
    const fd = fdOf(sock);
    if (fd === undefined) return undefined;
    const [pid, uid] = addon.peerCred(fd);
    return { pid, uid };
  };
}

export interface ApprovalsServerOptions {
  broker: ApprovalBroker;
  session: string;
  runDir: string;
  /** Reads SO_PEERCRED of an accepted connection; undefined → rely on directory permissions. */
  peerCred?: (sock: Socket) => Promise<PeerCred | undefined>;
  /** Who this process is; answers from other uids (except root) are refused. */
  uid?: number;
}

export function approvalsDir(runDir: string): string {
  return join(runDir, 'approvals');
}

function ensurePrivateDir(dir: string, uid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (st.uid !== uid) throw new WardenError('LAYER_UNAVAILABLE', `approvals directory ${dir} is owned by uid ${st.uid}, not ${uid}`, 'remove it; Warden recreates it');
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export class ApprovalsServer {
  private server: Server | undefined;
  readonly path: string;

  constructor(private readonly opts: ApprovalsServerOptions) {
    this.path = join(approvalsDir(opts.runDir), `${opts.session}.sock`);
  }

  async start(): Promise<string> {
    const uid = this.opts.uid ?? process.getuid?.() ?? 0;
    ensurePrivateDir(this.opts.runDir, uid);
    ensurePrivateDir(approvalsDir(this.opts.runDir), uid);
    rmSync(this.path, { force: true });
    const server = createServer({ allowHalfOpen: false }, (sock) => void this.handle(sock, uid));
    server.maxConnections = 64;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    server.unref();
    this.server = server;
    return this.path;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    rmSync(this.path, { force: true });
  }

  private async handle(sock: Socket, uid: number): Promise<void> {
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    const reply = (r: ApprovalsResponse): void => {
      sock.end(JSON.stringify(r) + '\n');
    };
    let who = `uid:${uid}`;
    if (this.opts.peerCred) {
      const cred = await this.opts.peerCred(sock).catch(() => undefined);
      if (!cred) return reply({ ok: false, error: 'cannot read peer credentials; refused' });
      if (cred.uid !== uid && cred.uid !== 0) return reply({ ok: false, error: `uid ${cred.uid} may not answer approvals of uid ${uid}` });
      who = `uid:${cred.uid} pid:${cred.pid}`;
    }
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) return reply({ ok: false, error: 'request too long' });
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.removeAllListeners('data');
      let raw: unknown;
      try {
        raw = JSON.parse(buf.slice(0, nl));
      } catch {
        return reply({ ok: false, error: 'request is not JSON' });
      }
      const req = requestSchema.safeParse(raw);
      if (!req.success) return reply({ ok: false, error: `bad request: ${req.error.issues[0]?.message ?? 'invalid'}` });
      if (req.data.op === 'list') {
        return reply({
          ok: true,
          pending: this.opts.broker.list().map((p) => ({ id: p.id, session: this.opts.session, kind: p.kind, summary: p.summary, rule: p.rule, binding: p.binding, deadline: new Date(p.deadline).toISOString() })),
        });
      }
      const r = this.opts.broker.answer(req.data.id, req.data.decision, who, req.data.scope, req.data.binding);
      return reply(r.ok ? { ok: true } : { ok: false, error: r.error });
    });
  }
}
