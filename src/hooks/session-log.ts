/**
 * Session memory for hooks. Each hook call is a new process, but risk chains span commands
 * (secret read -> encode -> upload; download -> chmod +x -> run). So the shell commands of an agent
 * session that were not denied are kept, per session, in Warden's state directory, and replayed
 * into a fresh classifier session before the next command is judged.
 *
 * Bounded: only the last MAX_REPLAY commands are replayed and the log is compacted past MAX_BYTES.
 * Best effort: a log that cannot be read or written never changes a decision by itself (the
 * command is still judged on its own); it only means an earlier step may be missed.
 * The session id comes from the agent and is hashed before it names a file.
 * Limit: an unsandboxed agent that can write to Warden's state directory could erase its history.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MAX_REPLAY = 64;
const MAX_BYTES = 1 << 20;
const MAX_TAIL_BYTES = 256 * 1024;
const MAX_ENTRY_CHARS = 16 * 1024;

export type LoggedCommand = { kind: 'shell'; command: string } | { kind: 'argv'; argv: string[] };

export interface SessionLog {
  /** The session's earlier commands, oldest first (at most MAX_REPLAY). */
  previous(): LoggedCommand[];
  record(c: LoggedCommand): void;
}

function readTail(file: string): { text: string; size: number } | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, MAX_TAIL_BYTES);
    const buf = Buffer.alloc(len);
    let n = 0;
    while (n < len) {
      const r = readSync(fd, buf, n, len - n, size - len + n);
      if (r === 0) break;
      n += r;
    }
    let text = buf.subarray(0, n).toString('utf8');
    // A partial first line (the tail started mid-line) is dropped.
    if (size > len) text = text.slice(text.indexOf('\n') + 1);
    return { text, size };
  } finally {
    closeSync(fd);
  }
}

function parseLines(text: string): LoggedCommand[] {
  const out: LoggedCommand[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const v = JSON.parse(line) as { c?: unknown; a?: unknown };
      if (typeof v.c === 'string') out.push({ kind: 'shell', command: v.c });
      else if (Array.isArray(v.a) && v.a.every((w) => typeof w === 'string')) out.push({ kind: 'argv', argv: v.a as string[] });
    } catch {
      // A torn or foreign line is skipped.
    }
  }
  return out.slice(-MAX_REPLAY);
}

export function openSessionLog(dir: string, agent: string, sessionId: string): SessionLog {
  const id = createHash('sha256').update(`${agent}\0${sessionId}`).digest('hex').slice(0, 32);
  const file = join(dir, `${agent}-${id}.jsonl`);
  return {
    previous(): LoggedCommand[] {
      try {
        const t = readTail(file);
        return t ? parseLines(t.text) : [];
      } catch {
        return [];
      }
    },
    record(c: LoggedCommand): void {
      try {
        const line = c.kind === 'shell' ? JSON.stringify({ c: c.command }) : JSON.stringify({ a: c.argv });
        if (line.length > MAX_ENTRY_CHARS) return;
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        appendFileSync(file, line + '\n', { mode: 0o600 });
        const t = readTail(file);
        if (t && t.size > MAX_BYTES) {
          const keep = parseLines(t.text).map((e) => (e.kind === 'shell' ? JSON.stringify({ c: e.command }) : JSON.stringify({ a: e.argv })));
          const tmp = `${file}.${process.pid}.tmp`;
          writeFileSync(tmp, keep.join('\n') + '\n', { mode: 0o600 });
          renameSync(tmp, file);
        }
      } catch {
        // Best effort (see above).
      }
    },
  };
}
