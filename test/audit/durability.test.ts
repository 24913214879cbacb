/**
 * Crash behaviour with real processes: a writer killed with SIGKILL loses nothing it
 * acknowledged; a torn last line is reported as such, not as tampering; two processes can share
 * an audit directory, even when both create the keys.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { readLog } from '../../src/audit/reader.js';
import { fixtureCommand, type Home, parse, readLines, segmentFiles, tempHome, verifyHome } from './helpers.js';

interface Child {
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(sig: NodeJS.Signals): void;
  waitFor(pred: (lines: string[]) => boolean): Promise<void>;
}

function runChild(h: Home, args: string[]): Child {
  const cmd = fixtureCommand('child-writer');
  const child = spawn(process.execPath, [...cmd.args, ...args], { cwd: cmd.cwd, env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    lines,
    exit,
    kill: (sig) => void child.kill(sig),
    waitFor: (pred) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child timed out; stderr: ${stderr}`)), 60_000);
        const check = (): void => {
          if (pred(lines)) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        void exit.then(({ code }) => {
          if (!pred(lines)) {
            clearTimeout(timer);
            reject(new Error(`child exited (${code}) early; stderr: ${stderr}`));
          }
        });
        check();
      }),
  };
}

describe('audit durability (real processes)', () => {
  test('kill -9: every acknowledged record is present and the log verifies (at most a torn tail)', async () => {
    const h = await tempHome();
    try {
      const child = runChild(h, ['ack']);
      await child.waitFor((l) => l.filter((x) => x.startsWith('ack ')).length >= 3000);
      child.kill('SIGKILL');
      const { signal } = await child.exit;
      assert.equal(signal, 'SIGKILL');
      const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
      assert.ok(acked.length >= 3000);

      const r = await verifyHome(h);
      assert.equal(r.status, 'intact', JSON.stringify(r));
      const log = r.logs[0]!;
      for (const w of log.warnings) assert.ok(['unclosed', 'truncated-tail'].includes(w.kind), w.kind);
      assert.ok(log.warnings.some((w) => w.kind === 'unclosed'));

      const contents = await readLog(h.auditDir, log.log);
      const present = new Set(contents.entries.filter((e) => e.rec).map((e) => e.rec!.seqStr));
      const missing = acked.filter((s) => !present.has(s));
      assert.deepEqual(missing, [], `acknowledged but lost: ${missing.slice(0, 5).join(',')}`);
      assert.ok(BigInt(log.lastSeq!) >= BigInt(acked[acked.length - 1]!));
    } finally {
      await h.cleanup();
    }
  });

  test('SIGTERM then close(): every record enqueued before the signal is in the log, in order', async () => {
    const h = await tempHome();
    try {
      const child = runChild(h, ['sigterm', '400']);
      await child.waitFor((l) => l.some((x) => x.startsWith('enqueued ')));
      child.kill('SIGTERM');
      assert.deepEqual(await child.exit, { code: 0, signal: null });
      const last = Number(child.lines.find((l) => l.startsWith('last '))!.split(' ')[1]);
      const logId = child.lines[0]!.split(' ')[1]!;
      const records: Array<Record<string, unknown>> = [];
      for (const file of await segmentFiles(`${h.auditDir}/${logId}`)) records.push(...(await readLines(file)).map(parse));
      const seqs = records.map((r) => Number(r['seq']));
      assert.deepEqual(seqs, seqs.map((_, n) => n), 'no gaps, no reordering');
      const events = records.filter((r) => r['type'] === 'event').map((r) => r['resource']);
      assert.ok(events.length >= 400, `only ${events.length} events`);
      assert.deepEqual(events, events.map((_, n) => `/bin/x${n}`), 'events in enqueue order');
      assert.ok(seqs.includes(last), `the last enqueued record (seq ${last}) is in the log`);
      const tail = records[records.length - 1]!;
      assert.equal(tail['type'], 'checkpoint');
      assert.equal(tail['final'], true);
      assert.equal((await verifyHome(h)).status, 'intact');
    } finally {
      await h.cleanup();
    }
  });

  test('a torn last line after a crash is a warning, not tampering of earlier records', async () => {
    const h = await tempHome();
    try {
      const child = runChild(h, ['unclosed', '30']);
      await child.waitFor((l) => l.includes('done'));
      await child.exit;
      const [file] = await segmentFiles(`${h.auditDir}/${child.lines[0]!.split(' ')[1]}`);
      const lines = await readLines(file!);
      const last = lines[lines.length - 1]!;
      assert.equal(parse(last)['type'], 'event'); // written after the last checkpoint
      await writeFile(file!, lines.slice(0, -1).join('\n') + '\n' + last.slice(0, Math.floor(last.length / 2)));

      const r = await verifyHome(h);
      assert.equal(r.status, 'intact', JSON.stringify(r));
      assert.equal(r.exitCode, 0);
      const log = r.logs[0]!;
      assert.equal(log.records, lines.length - 1);
      const torn = log.warnings.find((w) => w.kind === 'truncated-tail');
      assert.ok(torn, JSON.stringify(log.warnings));
      assert.equal(torn.line, lines.length);
      assert.equal(log.anchor, 'matched');
      // The same cut in the middle of the file is damage, not a crash.
      await writeFile(file!, (await readFile(file!, 'utf8')).replace(lines[5]!, lines[5]!.slice(0, 20)) + '\n' + last);
      assert.equal((await verifyHome(h)).exitCode, 2);
    } finally {
      await h.cleanup();
    }
  });

  test('two processes share one audit directory and race to create the keys', async () => {
    const h = await tempHome();
    try {
      const children = [runChild(h, ['close', '300']), runChild(h, ['close', '300'])];
      await Promise.all(children.map((c) => c.waitFor((l) => l.some((x) => x.startsWith('done')))));
      await Promise.all(children.map((c) => c.exit));
      const r = await verifyHome(h);
      assert.equal(r.status, 'intact', JSON.stringify(r));
      assert.equal(r.logs.length, 2);
      for (const l of r.logs) {
        assert.equal(l.closed, true);
        assert.equal(l.anchor, 'matched');
        assert.ok(l.records >= 302);
      }
    } finally {
      await h.cleanup();
    }
  });
});
