import { connect, type Socket } from 'node:net';

/**
 * Connecting to checked addresses only. The address is always an IP literal the gate checked, so
 * `net.connect` performs no lookup (no second resolution an attacker's DNS could answer
 * differently). Addresses are tried in order, each with its own deadline, and the whole attempt is
 * abandoned when the client goes away.
 */

export class DialError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface DialOptions {
  /** Keep the write side open after the server's FIN (tunnels relay half-closes). */
  allowHalfOpen?: boolean;
  /** Do not read from the server until resume() (see handoff.ts). */
  paused?: boolean;
  /** Read into caller-provided memory instead of a stream (see tunnel.ts). */
  onread?: { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean };
}

function dialOne(ip: string, port: number, timeoutMs: number, signal: AbortSignal, o: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port, family: ip.includes(':') ? 6 : 4, noDelay: true, lookup: noLookup, allowHalfOpen: o.allowHalfOpen ?? false, ...(o.onread ? { onread: o.onread } : {}) });
    if (o.paused) s.pause(); // before 'connect': node then starts no read
    const timer = setTimeout(() => fail(new DialError('ETIMEDOUT', `connect to ${ip}:${port} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(new DialError('ECANCELED', 'client went away'));
    signal.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      s.removeListener('error', onError);
      s.removeListener('connect', onConnect);
    }
    function fail(e: DialError): void {
      cleanup();
      s.destroy();
      reject(e);
    }
    function onError(e: NodeJS.ErrnoException): void {
      fail(new DialError(e.code ?? 'ECONNECT', `connect to ${ip}:${port} failed (${e.code ?? e.message})`));
    }
    function onConnect(): void {
      cleanup();
      resolve(s);
    }
    s.once('error', onError);
    s.once('connect', onConnect);
    if (signal.aborted) onAbort();
  });
}

/** Refuses any lookup: reaching here would mean a name slipped past the gate. */
function noLookup(hostname: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(new DialError('ELOOKUP', `refusing to resolve ${hostname} outside the gate`), '', 0);
}

export async function dial(addresses: string[], port: number, timeoutMs: number, signal: AbortSignal, o: DialOptions = {}): Promise<{ socket: Socket; ip: string }> {
  let last: DialError = new DialError('ENOADDR', 'no address to connect to');
  for (const ip of addresses) {
    if (signal.aborted) throw new DialError('ECANCELED', 'client went away');
    try {
      return { socket: await dialOne(ip, port, timeoutMs, signal, o), ip };
    } catch (e) {
      last = e instanceof DialError ? e : new DialError('ECONNECT', String(e));
      if (last.code === 'ECANCELED') throw last;
    }
  }
  throw last;
}
