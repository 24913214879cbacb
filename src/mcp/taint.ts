import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * Session taint: the fact that private data has entered the agent's context in this session.
 *
 * Once set it is never cleared for the session (the data stays in the model's context). The store
 * is shared by every gateway serving one agent session, so a read on server A taints a send on
 * server B (the cross-server flow). Threat: the agent resetting taint — the file store lives in
 * Warden's state directory, which the sandbox never exposes.
 */

export interface TaintMark {
  server: string;
  tool: string;
  at: string;
}

export interface TaintStore {
  mark(m: TaintMark): void;
  /** The first mark of the session, if any. */
  tainted(): TaintMark | undefined;
}

export class MemoryTaintStore implements TaintStore {
  private first: TaintMark | undefined;
  mark(m: TaintMark): void {
    this.first ??= m;
  }
  tainted(): TaintMark | undefined {
    return this.first;
  }
}

/**
 * One directory per session; one file per (server, tool) that tainted it. Marking is an idempotent
 * file create; checking is a directory listing — no locking needed across processes.
 */
export class FileTaintStore implements TaintStore {
  private cached: TaintMark | undefined;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  mark(m: TaintMark): void {
    this.cached ??= m;
    const name = createHash('sha256').update(`${m.server}\0${m.tool}`).digest('hex').slice(0, 32) + '.json';
    try {
      writeFileSync(join(this.dir, name), JSON.stringify(m) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }

  tainted(): TaintMark | undefined {
    if (this.cached) return this.cached;
    try {
      const files = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
      if (files.length > 0) {
        let m: TaintMark = { server: '(another gateway of this session)', tool: '?', at: '' };
        try {
          const v = JSON.parse(readFileSync(join(this.dir, files.sort()[0]!), 'utf8').slice(0, 4096)) as Partial<TaintMark>;
          if (typeof v.server === 'string' && typeof v.tool === 'string') m = { server: v.server, tool: v.tool, at: String(v.at ?? '') };
        } catch {
          /* a torn or odd file still taints */
        }
        this.cached = m;
      }
    } catch {
      // An unreadable store cannot prove the session clean: treat it as tainted (fail closed).
      this.cached = { server: '(taint store unreadable)', tool: '', at: '' };
    }
    return this.cached;
  }
}
