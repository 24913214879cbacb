import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { fdOf, loadNativeAddon, type NativeAddon } from '../native-addon.js';
import type { Conn } from './conn.js';

/**
 * Takes the supervisor out of a tunnel's data path: once a CONNECT / SOCKS5 tunnel is decided and
 * its upstream socket connected to the checked address (and, on SNI ports, the ClientHello
 * checked), the socket is sent to the relay (native/relay.c) over the relay's own unix connection,
 * and the relay moves the bytes between the sandbox's TCP connection and it. Protocol (both sides
 * documented in relay.c): HANDOFF (fd) → SWITCH → GO → … → REPORT with the relay's byte counts.
 *
 * Invariants:
 *  - the upstream is never read by the supervisor (it was dialed paused), so every byte from the
 *    server reaches the client through the relay, in order, after the replies the proxy wrote;
 *  - client bytes the relay had already sent to the supervisor (everything before SWITCH) are
 *    written to the upstream before GO, so the server sees the client's bytes in order;
 *  - SWITCH carries a fresh 16-byte random token the sandbox never sees: client data cannot fake
 *    the end of its own bytes, nor the REPORT that follows;
 *  - the end audit record is never lost, nor are its counts guessed: the supervisor keeps its own
 *    copy of the upstream fd (never reading it) until the tunnel ends; without a REPORT (the relay
 *    killed, e.g. at session end, or a protocol error) the counts are the kernel's for that
 *    connection (TCP_INFO: bytes acknowledged by the server, bytes received), and `error` says so;
 *    if even those cannot be read, they are null (unknown).
 * When the addon is missing, the fd is not a socket, or the client already finished sending, the
 * tunnel simply stays in the supervisor (tunnel.ts splices it as before).
 */

export type FdPass = Pick<NativeAddon, 'sendFd' | 'tcpCounts'>;

/** The addon (native/build/warden-fdpass.node); null when it was not built. */
export const loadFdPass = (): FdPass | null => loadNativeAddon();

const HANDOFF = Buffer.from('WRH1');
const SWITCH = Buffer.from('WRS1');
const GO = Buffer.from('WRG1');
const REPORT = Buffer.from('WRR1');
const TOKEN_LEN = 16;
const REPORT_LEN = 24;
const EMPTY = Buffer.alloc(0);

export interface RelayReport {
  up: number;
  down: number;
  /** Null for a clean end; else what failed, e.g. "upstream ECONNRESET". */
  error: string | null;
}

export { fdOf };

/** Resolves once everything queued on `s` has been handed to the kernel (false: it failed). */
function flushed(s: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || !s.writable) return resolve(false);
    s.write(EMPTY, (e) => resolve(!e));
  });
}

const ERRNO_NAME = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
const SIDE = ['', 'client', 'upstream', 'relay'];

export function parseReport(b: Buffer): RelayReport | undefined {
  if (b.length !== REPORT_LEN || !b.subarray(0, 4).equals(REPORT)) return undefined;
  const status = b.readUInt32BE(20);
  const side = SIDE[status >>> 16] ?? `side ${status >>> 16}`;
  const errno = status & 0xffff;
  return {
    up: Number(b.readBigUInt64BE(4)),
    down: Number(b.readBigUInt64BE(12)),
    error: status === 0 ? null : `${side} ${ERRNO_NAME.get(errno) ?? `errno ${errno}`}`,
  };
}

/**
 * Tries to hand the tunnel to the relay. Resolves to true once the relay owns it (the caller does
 * nothing more: `conn` gets its counts from the REPORT), false if the supervisor keeps it — then
 * every client byte read meanwhile has already been written to `upstream`, in order.
 */
export async function handOff(fdpass: FdPass, conn: Conn, client: Socket, upstream: Socket): Promise<boolean> {
  const cfd = fdOf(client);
  const ufd = fdOf(upstream);
  if (cfd === undefined || ufd === undefined || client.readableEnded) return false;
  // Everything the proxy wrote to the client (the 200 / SOCKS reply) must precede HANDOFF.
  if (!(await flushed(client)) || client.readableEnded || upstream.destroyed) return false;
  const token = randomBytes(TOKEN_LEN);
  let sent: number;
  try {
    sent = fdpass.sendFd(cfd, ufd, Buffer.concat([HANDOFF, token]));
  } catch {
    return false;
  }
  if (sent !== 1) return false;
  const marker = Buffer.concat([SWITCH, token]);
  return new Promise<boolean>((resolve) => {
    let carry = EMPTY;
    let tail: Buffer | null = null; // after SWITCH: relay records
    const onData = (d: Buffer): void => {
      if (tail !== null) return void record(d);
      const buf = carry.length ? Buffer.concat([carry, d]) : d;
      const at = buf.indexOf(marker);
      if (at < 0) {
        // Client bytes the relay sent before it saw HANDOFF; keep a marker's worth back.
        const keep = Math.min(buf.length, marker.length - 1);
        if (buf.length > keep) upstream.write(buf.subarray(0, buf.length - keep));
        carry = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      if (at > 0) upstream.write(buf.subarray(0, at));
      tail = EMPTY;
      void switched(Buffer.from(buf.subarray(at + marker.length)));
    };
    const record = (d: Buffer): void => {
      tail = tail!.length ? Buffer.concat([tail!, d]) : d;
      if (tail.length < REPORT_LEN) return;
      const r = parseReport(Buffer.from(tail.subarray(0, REPORT_LEN)));
      if (!r || tail.length > REPORT_LEN) conn.fail('relay protocol error');
      else conn.relayReport(r);
      tail = EMPTY;
      client.destroy();
    };
    const onEnd = (): void => {
      if (tail !== null) return void client.destroy(); // relay gone without (or after) REPORT
      // EOF instead of SWITCH: the client had finished sending (the relay declined), or the relay
      // died first. Either way it read no upstream byte (it reads none before SWITCH is out), so
      // the tunnel stays here and the supervisor's counts stay exact.
      client.removeListener('data', onData);
      client.removeListener('end', onEnd);
      if (carry.length) upstream.write(carry);
      resolve(false);
    };
    async function switched(rest: Buffer): Promise<void> {
      conn.relayed();
      resolve(true);
      if (rest.length) record(rest);
      const ok = await flushed(upstream);
      conn.handedOff(upstream); // kept (paused, never read) for TCP_INFO; closed with the tunnel
      if (!ok) return void client.destroy(); // withdraws the tunnel: the relay ends it
      client.write(GO);
    }
    client.on('data', onData);
    client.on('end', onEnd);
    client.once('close', () => {
      if (tail !== null) return;
      upstream.destroy(); // gone before SWITCH: nothing left to move
      resolve(true);
    });
    client.resume();
  });
}
