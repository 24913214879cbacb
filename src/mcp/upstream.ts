import { spawn, type ChildProcess } from 'node:child_process';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

/**
 * Launching the upstream server over stdio. The launcher is injected: `warden mcp` uses the
 * sandbox launcher (sandbox-upstream.ts: the server inside `warden run` with the policy's
 * filesystem and network sections — the gateway mediates calls; the sandbox bounds what the server
 * process can do with them). `plainSpawn` is for embedders that bound the server themselves, and
 * for the benchmark's plain-upstream arm.
 */

export type UpstreamChild = Pick<ChildProcess, 'stdin' | 'stdout' | 'pid' | 'kill' | 'once' | 'exitCode' | 'signalCode'>;
export type SpawnUpstream = (cmd: string, args: string[]) => UpstreamChild;

export interface SpawnDefaults {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A plain spawn: stdin/stdout piped, stderr inherited (it is the server's log, shown to the user). */
export function plainSpawn(defaults: SpawnDefaults): SpawnUpstream {
  return (cmd, args) => spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env: defaults.env, cwd: defaults.cwd, detached: false });
}

export interface UpstreamExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
}

/** The upstream's stdio transport; closing it ends the child (SIGTERM, then SIGKILL). */
export class ChildTransport extends StreamTransport {
  readonly exited: Promise<UpstreamExit>;

  constructor(
    private readonly child: UpstreamChild,
    opts: StreamTransportOptions & { killGraceMs?: number } = {},
  ) {
    if (!child.stdin || !child.stdout) throw new Error('upstream child needs piped stdin and stdout');
    super(child.stdout, child.stdin, opts);
    this.grace = opts.killGraceMs ?? 2000;
    this.exited = new Promise((resolve) => {
      let error: string | undefined;
      child.once('error', (e: Error) => {
        error = e.message;
        // A child that never started has no 'exit'; its stdout still ends, closing the transport.
        resolve({ code: null, signal: null, error });
      });
      child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal, ...(error ? { error } : {}) }));
    });
    // EPIPE on stdin when the child dies is expected; the transport reports it.
    child.stdin.on('error', () => {});
  }

  private readonly grace: number;

  override async close(): Promise<void> {
    await super.close();
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    try {
      c.stdin?.end();
    } catch {
      /* ignore */
    }
    c.kill('SIGTERM');
    const t = setTimeout(() => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, this.grace);
    t.unref();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, this.grace + 500).unref())]);
  }
}
