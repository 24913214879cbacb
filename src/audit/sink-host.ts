/**
 * Runs a LogSink in a worker thread (default) or in the caller's thread, behind one interface.
 *
 * The worker is started from the compiled `writer-worker.js`, looked up relative to this module
 * (never the cwd, which the agent may control): next to it (tsc output), as `audit-worker.js` next
 * to it (a bundle that adds the worker as an entry point), or in `../src/audit/` (a bundle in
 * dist/bundle beside tsc's dist/src). If none exists the sink runs inline. When this module runs
 * from its TypeScript source (tests and benchmarks under tsx), the worker first registers tsx,
 * because Node 20 does not apply `--import` loader hooks to worker threads.
 *
 * Liveness: the worker is unref'd while everything posted is durable, and ref'd while records are
 * in flight, so a script that appends and exits waits for durability but an idle writer does not
 * keep the process alive.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { LogSink, type SinkConfig, type SinkFailure } from './sink.js';

/** `items` is one batch: the sink commits it at once (the group-commit window is the writer's). */
export type HostMessage = { t: 'items'; items: string[] } | { t: 'close' };
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'durable'; seq: string; batches: number }
  | { t: 'failed'; failure: SinkFailure }
  | { t: 'closed' };

export interface SinkCallbacks {
  durable(seq: string, batches: number): void;
  failed(f: SinkFailure): void;
}

export interface SinkHost {
  readonly mode: 'worker' | 'inline';
  /** Hands over one batch, which the sink commits at once. */
  post(items: string[]): void;
  /** Flush, wait for anchors, close files. */
  close(): Promise<void>;
  /** Stop at once after a failure (nothing further is written). */
  abort(): void;
  keepAlive(on: boolean): void;
}

/** The sink's configuration; whether it may block its thread on I/O is the host's choice. */
export type HostedSinkConfig = Omit<SinkConfig, 'blockingIo'>;

export async function startSink(cfg: HostedSinkConfig, cb: SinkCallbacks, mode: 'worker' | 'inline'): Promise<SinkHost> {
  const entry = mode === 'worker' ? workerEntry(import.meta.url) : null;
  if (entry) {
    try {
      return await startWorker(entry, cfg, cb);
    } catch {
      // No worker (restricted runtime, broken build output): same semantics, caller's thread.
    }
  }
  return startInline(cfg, cb);
}

/** The sink on the caller's thread, at once (no await: see openAuditWriter). */
export function startInline(cfg: HostedSinkConfig, cb: SinkCallbacks): SinkHost {
  const sink = new LogSink({ ...cfg, blockingIo: false }, cb);
  return {
    mode: 'inline',
    post: (items) => sink.accept(items),
    close: () => sink.close().catch(() => undefined),
    abort: () => undefined,
    keepAlive: () => undefined, // pending I/O keeps the loop alive by itself
  };
}

/** The worker's entry module, or null if this installation has none. */
export function workerEntry(self: string): URL | null {
  const candidates = self.endsWith('.ts') ? ['./writer-worker.ts'] : ['./writer-worker.js', './audit-worker.js', '../src/audit/writer-worker.js'];
  for (const rel of candidates) {
    const url = new URL(rel, self);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

// node:worker_threads is loaded only when a worker is started: `warden run` writes inline and
// does not pay for the module at start-up.
async function spawnWorker(entry: URL, cfg: SinkConfig): Promise<Worker> {
  const { Worker } = await import('node:worker_threads');
  if (entry.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
    return new Worker(boot, { eval: true, workerData: cfg });
  }
  return new Worker(entry, { workerData: cfg });
}

async function startWorker(entry: URL, cfg: HostedSinkConfig, cb: SinkCallbacks): Promise<SinkHost> {
  const worker = await spawnWorker(entry, { ...cfg, blockingIo: true });
  let closed = false;
  let exited = false;
  let failed = false;
  let onClosed: (() => void) | null = null;
  const fail = (message: string): void => {
    if (failed) return;
    failed = true;
    cb.failed({ message, hint: 'the audit worker stopped; check the audit directory and restart warden' });
  };
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('audit worker exited during startup')));
    worker.once('message', (m: WorkerMessage) => (m.t === 'ready' ? resolve() : reject(new Error('audit worker did not start'))));
  }).catch(async (e: unknown) => {
    await worker.terminate().catch(() => undefined);
    throw e;
  });
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  worker.removeAllListeners('message');
  worker.on('message', (m: WorkerMessage) => {
    if (m.t === 'durable') cb.durable(m.seq, m.batches);
    else if (m.t === 'failed') {
      failed = true;
      cb.failed(m.failure);
    } else if (m.t === 'closed') {
      closed = true;
      onClosed?.();
    }
  });
  worker.on('error', (e) => fail(`audit worker crashed: ${e instanceof Error ? e.message : String(e)}`));
  worker.on('exit', (code) => {
    exited = true;
    if (!closed) fail(`audit worker exited unexpectedly (code ${code})`);
    onClosed?.();
  });
  worker.unref();
  return {
    mode: 'worker',
    post: (items) => worker.postMessage({ t: 'items', items } satisfies HostMessage),
    close: async () => {
      if (closed || exited) return;
      worker.ref();
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        worker.postMessage({ t: 'close' } satisfies HostMessage);
      });
      await worker.terminate().catch(() => undefined);
    },
    abort: () => void worker.terminate().catch(() => undefined),
    keepAlive: (on) => (on ? worker.ref() : worker.unref()),
  };
}
