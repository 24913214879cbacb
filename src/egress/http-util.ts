import type { Socket } from 'node:net';

/** Small HTTP/1.1 helpers shared by CONNECT, forward and error paths. */

export const STATUS_TEXT: Record<number, string> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Header values are attacker-influenced (rule ids are not, reasons may echo a host): no CR/LF/NUL. */
export function headerSafe(s: string, max = 200): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

export function denialText(what: string, rule: string, reason: string, message?: string): string {
  const lines = [`warden: ${what} denied by rule ${rule}: ${reason}`];
  if (message) lines.push(message);
  lines.push('This is a policy decision, not a network error; retrying will not help.');
  return `${lines.join('\n').replace(/\r/g, '')}\n`;
}

/**
 * Writes a complete response on a raw socket and closes it gracefully: half-close, keep reading
 * (and discarding) briefly so the client sees the response instead of a reset, then destroy.
 */
export function writeRawAndClose(socket: Socket, status: number, body: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const b = Buffer.from(body);
  const head = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${b.length}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${headerSafe(v)}`);
  closeAfter(socket, Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), b]));
}

/** Sends `data`, ends, drains the peer's leftovers for up to `lingerMs`, then destroys. */
export function closeAfter(socket: Socket, data: Buffer | null, lingerMs = 2000): void {
  if (socket.destroyed) return;
  socket.setTimeout(0);
  const t = setTimeout(() => socket.destroy(), lingerMs);
  t.unref();
  socket.once('close', () => clearTimeout(t));
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  if (data) socket.end(data);
  else socket.end();
  socket.resume();
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * Drops hop-by-hop headers (RFC 9110 §7.6.1), including every header named in `Connection`,
 * from a raw [name, value, name, value, ...] list. `Host` is dropped too: the forwarder sets it
 * from the absolute URI it decided on, so a second Host cannot steer the upstream's virtual host.
 */
export function endToEndHeaders(raw: string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(k) || named.has(k)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** Parses a CONNECT authority: `host:port` or `[v6]:port`. */
export function parseAuthority(s: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]/@\s]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}
