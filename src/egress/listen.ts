import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';

export type ListenTarget = { path: string; mode?: number } | { host: string; port: number };

/**
 * Listens on a unix socket path (a stale socket left by a crashed session is replaced; anything
 * else at the path is an error, never removed) or a TCP address. A socket path is chmod'ed to
 * 0600 by default: only Warden's own user may connect (the relay runs as that user).
 */
export async function listenOn(server: Server, target: ListenTarget, backlog?: number): Promise<AddressInfo | string> {
  if ('path' in target) {
    try {
      if (lstatSync(target.path).isSocket()) unlinkSync(target.path);
    } catch {
      /* absent */
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const opts = 'path' in target ? { path: target.path } : { host: target.host, port: target.port };
    server.listen(backlog !== undefined ? { ...opts, backlog } : opts, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if ('path' in target) {
    chmodSync(target.path, target.mode ?? 0o600);
    return target.path;
  }
  return server.address() as AddressInfo;
}
