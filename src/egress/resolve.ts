import type { Resolver as CaresResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { destinationIp } from './ip.js';

/**
 * Name resolution for the proxy and the DNS stub. The supervisor resolves; the sandbox never
 * does. Only names the policy already allowed are ever handed to a resolver, so a denied name
 * (and any data encoded in it) never leaves the supervisor.
 *
 * node:dns is imported on first use: resolvers are built on `warden run`'s start-up path, which
 * has a latency budget, and most sessions resolve little or nothing.
 */

export interface Resolver {
  /** Every address of `name` (IPv4 and IPv6), in preference order. Rejects when there is none. */
  resolve(name: string, signal?: AbortSignal): Promise<string[]>;
}

export class ResolveError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The host's resolver (getaddrinfo: /etc/hosts, nsswitch, the host's DNS). */
export function systemResolver(): Resolver {
  return {
    async resolve(name) {
      const { lookup } = await import('node:dns/promises');
      const rs = await lookup(name, { all: true, verbatim: true });
      return rs.map((r) => r.address);
    },
  };
}

/**
 * A DNS resolver talking to explicit servers (c-ares, no /etc/hosts). `servers` accepts
 * `ip` or `ip:port` / `[ip6]:port`.
 */
export function dnsResolver(opts: { servers?: string[]; timeoutMs?: number; tries?: number } = {}): Resolver {
  let made: Promise<CaresResolver> | undefined;
  const resolver = (): Promise<CaresResolver> =>
    (made ??= import('node:dns/promises').then(({ Resolver }) => {
      const r = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
      if (opts.servers) r.setServers(opts.servers);
      return r;
    }));
  const ignoreNoData = (e: unknown): string[] => {
    const code = (e as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw e;
  };
  return {
    async resolve(name) {
      const r = await resolver();
      const [a, aaaa] = await Promise.all([r.resolve4(name).catch(ignoreNoData), r.resolve6(name).catch(ignoreNoData)]);
      return [...a, ...aaaa];
    },
  };
}

/** A fixed table, for tests and for `hosts`-only setups. Unknown names reject with ENOTFOUND. */
export function staticResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolve(name) {
      calls.push(name);
      const hit = table[name];
      if (!hit || hit.length === 0) throw new ResolveError('ENOTFOUND', `${name}: no such name`);
      return [...hit];
    },
  };
}

/**
 * Resolves with a deadline and normalises the answer: canonical literals (IPv4-mapped IPv6 as
 * IPv4), duplicates removed, anything that is not an IP literal dropped. An empty result is an
 * error: the caller must never fall back to letting something else resolve the name.
 */
export async function resolveChecked(resolver: Resolver, name: string, timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const raw = await Promise.race([
      resolver.resolve(name, ac.signal),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => {
          ac.abort();
          rej(new ResolveError('ETIMEOUT', `resolving ${name} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    const out: string[] = [];
    for (const a of raw) {
      if (typeof a !== 'string' || isIP(a.replace(/^\[|\]$/g, '')) === 0) continue;
      const c = destinationIp(a);
      if (c !== undefined && !out.includes(c)) out.push(c);
    }
    if (out.length === 0) throw new ResolveError('ENOTFOUND', `${name} has no addresses`);
    return out;
  } catch (e) {
    if (e instanceof ResolveError) throw e;
    const code = (e as { code?: string }).code ?? 'ERESOLVE';
    throw new ResolveError(code, `resolving ${name} failed (${code})`);
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
