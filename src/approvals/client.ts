import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { approvalsDir } from './server.js';
import { MAX_LINE, type ApprovalsRequest, type ApprovalsResponse, type PendingView } from './protocol.js';

/** One request to one session's approvals socket. Rejects on connection failure or timeout. */
export function ask(socketPath: string, req: ApprovalsRequest, timeoutMs = 5000): Promise<ApprovalsResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => {
      buf += c;
      if (buf.length > MAX_LINE) sock.destroy(new Error('response too long'));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ApprovalsResponse);
      } catch {
        reject(new Error('malformed response'));
      }
    });
  });
}

/** Every live session socket under the run directory. */
export function sessionSockets(runDir: string): string[] {
  try {
    return readdirSync(approvalsDir(runDir))
      .filter((f) => f.endsWith('.sock'))
      .sort()
      .map((f) => join(approvalsDir(runDir), f));
  } catch {
    return [];
  }
}

/** Pending approvals across all live sessions; dead sockets are skipped. */
export async function listAll(runDir: string): Promise<Array<PendingView & { socket: string }>> {
  const out: Array<PendingView & { socket: string }> = [];
  for (const s of sessionSockets(runDir)) {
    const r = await ask(s, { op: 'list' }).catch(() => undefined);
    if (r?.ok && r.pending) for (const p of r.pending) out.push({ ...p, socket: s });
  }
  return out;
}
