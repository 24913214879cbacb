import type { RequestId } from './jsonrpc.js';

/**
 * Request-id remapping for one direction of the proxy.
 *
 * Every request the gateway forwards gets a fresh id from this table, and the response is routed by
 * that id alone. Invariants (each defends a specific attack by the peer that answers):
 * - a response is delivered at most once, and only for a request that was really forwarded:
 *   unknown, duplicated or late ids are refused (a denied call has no entry, so no "response" to it
 *   can ever be delivered);
 * - ids the gateway itself originates (e.g. its own tools/list) share the id space, so a client id
 *   can never collide with them;
 * - the table is bounded: beyond `max` entries new requests are refused instead of growing memory.
 */

export interface Pending<T> {
  /** The id the original sender used. */
  readonly originalId: RequestId;
  readonly info: T;
  cancelled: boolean;
}

export class PendingTable<T> {
  private next = 1;
  private readonly byId = new Map<number, Pending<T>>();
  private readonly byOriginal = new Map<string, number>();

  constructor(readonly max: number = 4096) {}

  get size(): number {
    return this.byId.size;
  }

  get full(): boolean {
    return this.byId.size >= this.max;
  }

  /** Allocates a new wire id for a request; `undefined` when the table is full. */
  add(originalId: RequestId, info: T): number | undefined {
    if (this.full) return undefined;
    const id = this.next++;
    this.byId.set(id, { originalId, info, cancelled: false });
    this.byOriginal.set(key(originalId), id);
    return id;
  }

  get(wireId: RequestId): Pending<T> | undefined {
    return typeof wireId === 'number' ? this.byId.get(wireId) : undefined;
  }

  /** Removes and returns the entry for a response; undefined for an unknown id. */
  take(wireId: RequestId): Pending<T> | undefined {
    const p = this.get(wireId);
    if (!p) return undefined;
    this.byId.delete(wireId as number);
    const k = key(p.originalId);
    if (this.byOriginal.get(k) === wireId) this.byOriginal.delete(k);
    return p;
  }

  /** The wire id currently used for an original id (for cancellation). */
  wireIdOf(originalId: RequestId): number | undefined {
    return this.byOriginal.get(key(originalId));
  }

  entries(): Array<[number, Pending<T>]> {
    return [...this.byId];
  }

  clear(): Array<Pending<T>> {
    const all = [...this.byId.values()];
    this.byId.clear();
    this.byOriginal.clear();
    return all;
  }
}

function key(id: RequestId): string {
  return typeof id === 'number' ? `n${id}` : `s${id}`;
}
