/**
 * Writer behaviour: durable acknowledgement, group commit, rotation, failure handling, both
 * threading modes, concurrent writers.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isWardenError } from '../../src/errors.js';
import { openAuditWriter } from '../../src/audit/index.js';
import { workerEntry } from '../../src/audit/sink-host.js';
import { ev, GENESIS, parse, readLines, segmentFiles, tempHome, verifyHome } from './helpers.js';

describe('audit writer', () => {
  for (const thread of ['worker', 'inline'] as const) {
    test(`append resolves only once the record is in the file (${thread})`, async () => {
      const h = await tempHome();
      try {
        const w = await openAuditWriter({ env: h.env, genesis: GENESIS, thread });
        assert.equal(w.stats().thread, thread);
        for (let i = 0; i < 20; i++) {
          const seq = await w.append(ev(i));
          const text = await readFile(join(w.dir, '000001.jsonl'), 'utf8');
          assert.ok(text.includes(`"seq":"${seq}"`), `seq ${seq} acknowledged but not on disk`);
          assert.ok(text.endsWith('\n'));
        }
        await w.close();
        assert.equal((await verifyHome(h)).status, 'intact');
      } finally {
        await h.cleanup();
      }
    });
  }

  for (const thread of ['worker', 'inline'] as const) {
    test(`batches handed over across ticks, windows and acknowledgements lose and reorder nothing (${thread})`, async () => {
      const h = await tempHome();
      try {
        const w = await openAuditWriter({ env: h.env, genesis: GENESIS, thread, groupCommitMs: 2 });
        const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
        const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
        let i = 0;
        const acked: Array<Promise<string>> = [];
        for (let round = 0; round < 40; round++) {
          // A burst in one turn, one record per turn, records inside and after a window, and
          // records enqueued the moment an acknowledgement arrives (a sync just finished).
          for (let k = 0; k < 5; k++) w.enqueue(ev(i++));
          await turn();
          w.enqueue(ev(i++));
          await turn();
          const p = w.append(ev(i++));
          acked.push(p);
          await p.then(() => {
            w.enqueue(ev(i++));
            w.enqueue(ev(i++));
          });
          await sleep(round % 3 === 0 ? 5 : 1);
          w.enqueue(ev(i++));
        }
        await Promise.all(acked);
        await w.close();
        const lines = (await readLines(join(w.dir, '000001.jsonl'))).map(parse);
        assert.deepEqual(
          lines.map((r) => Number(r['seq'])),
          lines.map((_, n) => n),
          'seqs are contiguous and in file order',
        );
        const events = lines.filter((r) => r['type'] === 'event').map((r) => (r['resource'] as string));
        assert.deepEqual(events, Array.from({ length: i }, (_, n) => ev(n).resource), 'every event, in call order');
        assert.equal((await verifyHome(h)).status, 'intact');
      } finally {
        await h.cleanup();
      }
    });
  }

  test('records carry the documented fields; genesis records versions and layers', async () => {
    const h = await tempHome();
    try {
      let t = Date.parse('2025-03-04T05:06:07.089Z');
      const w = await openAuditWriter({ env: h.env, genesis: GENESIS, now: () => t });
      t += 1;
      await w.append({ session: 's1', kind: 'exec', resource: '/bin/sh', decision: 'deny', rule: 'commands[0]', proc: { pid: 7, exe: '/bin/sh', argv: ['sh', '-c', 'x'] }, detail: { n: 2n ** 64n } });
      await w.close();
      const lines = (await readLines(join(w.dir, '000001.jsonl'))).map(parse);
      const g = lines[0]!;
      assert.equal(g['type'], 'genesis');
      assert.equal(g['seq'], '0');
      assert.equal(g['log'], w.logId);
      assert.equal(g['policy'], GENESIS.policyHash);
      assert.deepEqual(g['layers'], { active: ['L0', 'L1', 'L3', 'L4'], degraded: ['L2'] });
      assert.equal((g['versions'] as Record<string, unknown>)['warden'], '0.1.0-test');
      assert.equal(typeof (g['keys'] as Record<string, unknown>)['sig'], 'string');
      const e = lines.find((r) => r['type'] === 'event')!;
      assert.deepEqual(
        { ...e, mac: undefined },
        {
          type: 'event', seq: '2', time: '2025-03-04T05:06:07.090Z', session: 's1', kind: 'exec', resource: '/bin/sh', decision: 'deny', rule: 'commands[0]',
          policy: GENESIS.policyHash, proc: { argv: ['sh', '-c', 'x'], exe: '/bin/sh', pid: 7 }, detail: { n: '18446744073709551616' }, mac: undefined,
        },
      );
      assert.match(String(e['mac']), /^[0-9a-f]{64}$/);
      const last = lines[lines.length - 1]!;
      assert.equal(last['type'], 'checkpoint');
      assert.equal(last['final'], true);
    } finally {
      await h.cleanup();
    }
  });

  test('group commit: a burst of appends shares a handful of write+fdatasync batches', async () => {
    const h = await tempHome();
    try {
      const w = await openAuditWriter({ env: h.env, genesis: GENESIS });
      const before = w.stats().batches;
      await Promise.all(Array.from({ length: 2000 }, (_, i) => w.append(ev(i))));
      const used = w.stats().batches - before;
      assert.ok(used >= 1 && used <= 10, `2000 appends took ${used} batches`);
      const seqs = Array.from({ length: 5 }, (_, i) => w.enqueue(ev(i)));
      assert.deepEqual(seqs.map(Number), seqs.map((_, i) => Number(seqs[0]) + i));
      await w.flush();
      const text = await readFile(join(w.dir, '000001.jsonl'), 'utf8');
      for (const s of seqs) assert.ok(text.includes(`"seq":"${s}"`));
      await w.close();
      assert.equal((await verifyHome(h)).status, 'intact');
    } finally {
      await h.cleanup();
    }
  });

  test('rotation: segments by record count and by size, chain continues', async () => {
    const h = await tempHome();
    try {
      const a = await openAuditWriter({ env: h.env, genesis: GENESIS, segmentMaxRecords: 25 });
      for (let i = 0; i < 100; i++) a.enqueue(ev(i));
      await a.close();
      assert.ok((await segmentFiles(a.dir)).length >= 4);
      const b = await openAuditWriter({ env: h.env, genesis: GENESIS, segmentMaxBytes: 4096 });
      for (let i = 0; i < 100; i++) b.enqueue(ev(i, { detail: { pad: 'p'.repeat(200) } }));
      await b.close();
      const files = await segmentFiles(b.dir);
      assert.ok(files.length >= 5, `got ${files.length} segments`);
      const r = await verifyHome(h);
      assert.equal(r.status, 'intact');
      assert.equal(r.logs.length, 2);
    } finally {
      await h.cleanup();
    }
  });

  test('a closed writer refuses appends', async () => {
    const h = await tempHome();
    try {
      const w = await openAuditWriter({ env: h.env, genesis: GENESIS });
      await w.close();
      await w.close(); // idempotent
      await assert.rejects(w.append(ev(1)), (e: unknown) => isWardenError(e) && e.code === 'AUDIT_WRITE_FAILED');
      assert.throws(() => w.enqueue(ev(1)), (e: unknown) => isWardenError(e) && e.code === 'AUDIT_WRITE_FAILED');
    } finally {
      await h.cleanup();
    }
  });

  for (const thread of ['worker', 'inline'] as const) {
    test(`an I/O failure fails the writer: appends reject, onError fires once (${thread})`, async () => {
      const h = await tempHome();
      try {
        const errors: unknown[] = [];
        const w = await openAuditWriter({ env: h.env, genesis: GENESIS, segmentMaxRecords: 5, thread, onError: (e) => errors.push(e) });
        await rm(w.dir, { recursive: true }); // the next segment file cannot be created
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => w.append(ev(i))));
        assert.ok(results.some((r) => r.status === 'rejected'));
        for (const r of results) if (r.status === 'rejected') assert.ok(isWardenError(r.reason) && r.reason.code === 'AUDIT_WRITE_FAILED');
        await assert.rejects(w.append(ev(99)), (e: unknown) => isWardenError(e) && e.code === 'AUDIT_WRITE_FAILED');
        assert.equal(errors.length, 1);
        await assert.rejects(w.close());
      } finally {
        await h.cleanup();
      }
    });
  }

  test('two writers on one audit directory write two independent logs', async () => {
    const h = await tempHome();
    try {
      const [a, b] = await Promise.all([openAuditWriter({ env: h.env, genesis: GENESIS }), openAuditWriter({ env: h.env, genesis: GENESIS })]);
      assert.notEqual(a.logId, b.logId);
      await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).append(ev(i))));
      await Promise.all([a.close(), b.close()]);
      assert.equal((await readdir(h.auditDir)).length, 2);
      const r = await verifyHome(h);
      assert.equal(r.status, 'intact');
      assert.deepEqual(r.logs.map((l) => l.closed), [true, true]);
    } finally {
      await h.cleanup();
    }
  });

  test('refuses an audit directory others can write to', async () => {
    const h = await tempHome();
    try {
      await openAuditWriter({ env: h.env, genesis: GENESIS }).then((w) => w.close());
      await chmod(h.auditDir, 0o777);
      await assert.rejects(openAuditWriter({ env: h.env, genesis: GENESIS }), (e: unknown) => isWardenError(e) && e.code === 'AUDIT_DIR_INVALID');
    } finally {
      await h.cleanup();
    }
  });

  test('periodic checkpoints by time', async () => {
    const h = await tempHome();
    try {
      const w = await openAuditWriter({ env: h.env, genesis: GENESIS, checkpointEveryMs: 20 });
      await w.append(ev(1));
      await new Promise((r) => setTimeout(r, 120));
      await w.flush();
      const lines = (await readLines(join(w.dir, '000001.jsonl'))).map(parse);
      assert.ok(lines.filter((r) => r['type'] === 'checkpoint').length >= 2);
      await w.close();
    } finally {
      await h.cleanup();
    }
  });

  test('the worker entry is found next to the module, beside a bundle, or not at all', async () => {
    const h = await tempHome();
    try {
      const tsc = join(h.home, 'dist', 'src', 'audit');
      const bundle = join(h.home, 'dist', 'bundle');
      await mkdir(tsc, { recursive: true });
      await mkdir(bundle, { recursive: true });
      const self = (dir: string): string => pathToFileURL(join(dir, 'sink-host.js')).href;
      assert.equal(workerEntry(self(tsc)), null);
      assert.equal(workerEntry(self(bundle)), null);
      await writeFile(join(tsc, 'writer-worker.js'), '');
      assert.equal(workerEntry(self(tsc))?.pathname, join(tsc, 'writer-worker.js'));
      assert.equal(workerEntry(self(bundle))?.pathname, join(tsc, 'writer-worker.js'));
      await writeFile(join(bundle, 'audit-worker.js'), '');
      assert.equal(workerEntry(self(bundle))?.pathname, join(bundle, 'audit-worker.js'));
    } finally {
      await h.cleanup();
    }
  });
});
