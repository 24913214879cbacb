/**
 * Tamper detection: generate real logs, damage them the way an attacker with write access to the
 * audit directory (but not the key directory) could, and check that verify names the right kind
 * of damage at the right place. Every assertion pins kind AND location, so a verifier that just
 * said "tampered" — or one that stopped detecting — fails these tests.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { loadAuditKeys, publicKeyPem } from '../../src/audit/keys.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { type Home, isCheckpoint, isEvent, lineWhere, parse, readLines, rechain, segmentFiles, tempHome, verifyHome, writeLines, writeLog } from './helpers.js';

function damageOf(r: VerifyReport) {
  assert.equal(r.status, 'tampered', `expected tampering, got ${JSON.stringify(r)}`);
  assert.equal(r.exitCode, 2);
  assert.ok(r.damage);
  return r.damage;
}

/** A fresh closed log of 40 events (47 records: genesis, 6 checkpoints) in its own home. */
async function freshLog(opts: Parameters<typeof writeLog>[2] = {}): Promise<{ h: Home; file: string; lines: string[]; logId: string; dir: string }> {
  const h = await tempHome();
  const { logId, dir } = await writeLog(h, 40, opts);
  const [file] = await segmentFiles(dir);
  return { h, file: file as string, lines: await readLines(file as string), logId, dir };
}

describe('audit verify: intact logs', () => {
  test('a closed log verifies, with every record and checkpoint counted', async () => {
    const { h, lines } = await freshLog();
    try {
      const r = await verifyHome(h);
      assert.equal(r.status, 'intact');
      assert.equal(r.exitCode, 0);
      assert.equal(lines.length, 47);
      assert.equal(r.logs.length, 1);
      const log = r.logs[0]!;
      assert.equal(log.records, 47);
      assert.equal(log.checkpoints, 6);
      assert.equal(log.closed, true);
      assert.equal(log.anchor, 'matched');
      assert.deepEqual(log.warnings, []);
    } finally {
      await h.cleanup();
    }
  });
});

describe('audit verify: damage in HMAC mode', () => {
  test('modified: a changed field of an event', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const n = lineWhere(lines, isEvent, 20);
      lines[n - 1] = (lines[n - 1] as string).replace('/usr/bin/tool-', '/usr/bin/TOOL-');
      await writeLines(file, lines);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'modified');
      assert.equal(d.line, n);
      assert.equal(d.seq, String(n - 1));
      assert.equal(d.segment, '000001.jsonl');
    } finally {
      await h.cleanup();
    }
  });

  test('modified: a changed MAC', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const n = lineWhere(lines, isEvent, 5);
      const r = parse(lines[n - 1] as string);
      const mac = String(r['mac']);
      const flipped = (mac[0] === 'a' ? 'b' : 'a') + mac.slice(1);
      lines[n - 1] = (lines[n - 1] as string).replace(mac, flipped);
      await writeLines(file, lines);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'modified');
      assert.equal(d.line, n);
    } finally {
      await h.cleanup();
    }
  });

  test('modified: a line that no longer parses', async () => {
    const { h, file, lines } = await freshLog();
    try {
      lines[9] = (lines[9] as string).slice(0, 30) + '\u0000' + (lines[9] as string).slice(31);
      await writeLines(file, lines);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'modified');
      assert.equal(d.line, 10);
    } finally {
      await h.cleanup();
    }
  });

  test('any single flipped byte is detected at the line that holds it', async () => {
    const { h, file } = await freshLog();
    try {
      const original = await readFile(file);
      const lineOf = (pos: number): number => original.subarray(0, pos).filter((b) => b === 0x0a).length + 1;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (pos, x) => {
          const copy = Buffer.from(original);
          copy[pos] = (copy[pos] as number) ^ x;
          await writeFile(file, copy);
          const d = damageOf(await verifyHome(h));
          if (pos === original.length - 1) assert.equal(d.kind, 'truncated'); // the final "\n": the last record now looks torn
          else assert.equal(d.line, lineOf(pos), `byte ${pos}: ${JSON.stringify(d)}`);
        }),
        { numRuns: 60 },
      );
    } finally {
      await h.cleanup();
    }
  });

  test('deleted: one event line', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const n = lineWhere(lines, isEvent, 15);
      lines.splice(n - 1, 1);
      await writeLines(file, lines);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'deleted');
      assert.equal(d.line, n);
      assert.equal(d.seq, String(n)); // the record after the hole
      assert.match(d.message, new RegExp(`seq ${n - 1} missing`));
    } finally {
      await h.cleanup();
    }
  });

  test('deleted: a run of lines, and the genesis record', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const run = [...lines];
      run.splice(20, 5);
      await writeLines(file, run);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'deleted');
      assert.equal(d.line, 21);
      assert.match(d.message, /seq 20\.\.24 \(5 records\)/);

      await writeLines(file, lines.slice(1));
      const g = damageOf(await verifyHome(h));
      assert.equal(g.kind, 'deleted');
      assert.equal(g.line, 1);
      assert.equal(g.seq, '1');
    } finally {
      await h.cleanup();
    }
  });

  test('inserted: a duplicated line, next to it or elsewhere', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const adjacent = [...lines];
      adjacent.splice(12, 0, lines[11] as string);
      await writeLines(file, adjacent);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'inserted');
      assert.equal(d.line, 13);
      assert.match(d.message, /copy of line 000001\.jsonl:12/);

      const far = [...lines];
      far.splice(30, 0, lines[4] as string);
      await writeLines(file, far);
      const f = damageOf(await verifyHome(h));
      assert.equal(f.kind, 'inserted');
      assert.equal(f.line, 31);
    } finally {
      await h.cleanup();
    }
  });

  test('inserted: a forged record and a junk line', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const n = lineWhere(lines, isEvent, 25);
      const forged = (lines[n - 1] as string).replace('"decision":"deny"', '"decision":"allow"').replace('"decision":"allow"', '"decision":"deny"');
      assert.notEqual(forged, lines[n - 1]);
      const withForgery = [...lines];
      withForgery.splice(n - 1, 0, forged); // claims the same seq as the genuine record after it
      await writeLines(file, withForgery);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'inserted');
      assert.equal(d.line, n);

      const withJunk = [...lines];
      withJunk.splice(7, 0, '{"type":"event","note":"hello"}');
      await writeLines(file, withJunk);
      const j = damageOf(await verifyHome(h));
      assert.equal(j.kind, 'inserted');
      assert.equal(j.line, 8);
    } finally {
      await h.cleanup();
    }
  });

  test('inserted: records after the final checkpoint', async () => {
    const { h, file, lines } = await freshLog();
    try {
      await writeLines(file, [...lines, lines[5] as string]);
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'inserted');
      assert.equal(d.line, 48);
    } finally {
      await h.cleanup();
    }
  });

  test('reordered: adjacent swap, distant swap, a line moved later', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const swap = (a: number, b: number): string[] => {
        const c = [...lines];
        [c[a], c[b]] = [c[b] as string, c[a] as string];
        return c;
      };
      await writeLines(file, swap(14, 15));
      let d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'reordered');
      assert.equal(d.line, 15);

      await writeLines(file, swap(8, 30));
      d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'reordered');
      assert.equal(d.line, 9);

      const moved = [...lines];
      const [x] = moved.splice(10, 1);
      moved.splice(20, 0, x as string);
      await writeLines(file, moved);
      d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'reordered');
      assert.equal(d.line, 11);
    } finally {
      await h.cleanup();
    }
  });

  test('truncated: everything after a checkpoint removed (the anchor outside the log dir proves it)', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const third = lineWhere(lines, isCheckpoint, lineWhere(lines, isCheckpoint, lineWhere(lines, isCheckpoint) ) );
      await writeLines(file, lines.slice(0, third));
      const d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'truncated');
      assert.match(d.message, /after checkpoint #3 \(seq \d+\)/);
      assert.equal(d.line, third);

      // Cut in the middle of a record: still truncation, not a crash.
      await writeFile(file, lines.slice(0, 30).join('\n') + '\n' + (lines[30] as string).slice(0, 40));
      const t = damageOf(await verifyHome(h));
      assert.equal(t.kind, 'truncated');
    } finally {
      await h.cleanup();
    }
  });

  test('without its anchor, truncation of an unclosed tail is indistinguishable from a crash (documented limit)', async () => {
    const { h, file, lines, logId } = await freshLog();
    try {
      await writeLines(file, lines.slice(0, 20));
      await unlink(join(h.anchorDir, `${logId}.json`));
      const r = await verifyHome(h);
      assert.equal(r.status, 'intact');
      const kinds = r.logs[0]!.warnings.map((w) => w.kind).sort();
      assert.deepEqual(kinds, ['no-anchor', 'unclosed']);
    } finally {
      await h.cleanup();
    }
  });

  test('replaced: the whole log re-chained with a fresh HMAC key and re-signed', async () => {
    const { h, file, lines } = await freshLog();
    try {
      for (const announceKey of [false, true]) {
        const forged = rechain(lines, { announceKey });
        assert.equal(forged.length, lines.length);
        await writeLines(file, forged);
        const d = damageOf(await verifyHome(h));
        assert.equal(d.kind, 'replaced');
        assert.equal(d.line, 1);
      }
    } finally {
      await h.cleanup();
    }
  });

  test('deleted: a whole log directory (its anchor remains); inserted: a copied log directory', async () => {
    const h = await tempHome();
    try {
      const a = await writeLog(h, 5);
      const b = await writeLog(h, 5);
      assert.equal((await verifyHome(h)).status, 'intact');
      const copyName = b.logId.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      await cp(b.dir, join(h.auditDir, copyName), { recursive: true });
      let d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'inserted');
      assert.equal(d.log, copyName);
      await rm(join(h.auditDir, copyName), { recursive: true });

      await rm(a.dir, { recursive: true });
      d = damageOf(await verifyHome(h));
      assert.equal(d.kind, 'deleted');
      assert.equal(d.log, a.logId);
      assert.equal(d.segment, null);
    } finally {
      await h.cleanup();
    }
  });
});

describe('audit verify: segments', () => {
  let h: Home;
  let dir: string;
  let files: string[];
  let saved: Buffer[];
  before(async () => {
    h = await tempHome();
    ({ dir } = await writeLog(h, 60, { segmentMaxRecords: 15 }));
    files = await segmentFiles(dir);
    saved = await Promise.all(files.map((f) => readFile(f)));
  });
  after(() => h.cleanup());
  const restore = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await Promise.all(files.map((f, i) => writeFile(f, saved[i] as Buffer)));
  };

  test('the chain continues across segment files; each starts with a segment record naming the previous MAC', async () => {
    assert.ok(files.length >= 4, `expected several segments, got ${files.length}`);
    for (let i = 1; i < files.length; i++) {
      const prev = await readLines(files[i - 1] as string);
      const first = parse((await readLines(files[i] as string))[0] as string);
      assert.equal(first['type'], 'segment');
      assert.equal(first['segment'], String(i + 1));
      assert.equal(first['prev'], parse(prev[prev.length - 1] as string)['mac']);
    }
    const r = await verifyHome(h);
    assert.equal(r.status, 'intact');
    assert.equal(r.logs[0]!.segments, files.length);
  });

  test('deleted: a middle segment file', async () => {
    await restore();
    await unlink(files[1] as string);
    const d = damageOf(await verifyHome(h));
    assert.equal(d.kind, 'deleted');
    assert.equal(d.segment, basename(files[2] as string));
    assert.equal(d.line, 1);
    assert.match(d.message, /segment file\(s\) between 000001\.jsonl and 000003\.jsonl are missing/);
  });

  test('truncated: the last segment file', async () => {
    await restore();
    await unlink(files[files.length - 1] as string);
    const d = damageOf(await verifyHome(h));
    assert.equal(d.kind, 'truncated');
  });

  test('reordered: two segment files swapped by name', async () => {
    await restore();
    const tmp = `${files[1]}.tmp`;
    await rename(files[1] as string, tmp);
    await rename(files[2] as string, files[1] as string);
    await rename(tmp, files[2] as string);
    const d = damageOf(await verifyHome(h));
    assert.equal(d.kind, 'reordered');
    assert.equal(d.segment, basename(files[1] as string));
  });
});

describe('audit verify: signature mode (public key only, no HMAC key)', () => {
  async function withPubkey(h: Home): Promise<string> {
    const keys = await loadAuditKeys(h.keyDir);
    const p = join(h.home, 'audit.pub');
    await writeFile(p, publicKeyPem(keys.publicKey!));
    return p;
  }

  test('intact log verifies from the public key and anchors alone', async () => {
    const { h } = await freshLog();
    try {
      const r = await verifyHome(h, { macless: true, pubkeyPath: await withPubkey(h) });
      assert.equal(r.mode, 'signature');
      assert.equal(r.status, 'intact');
      assert.equal(r.logs[0]!.records, 47);
      assert.deepEqual(r.logs[0]!.warnings, []);
    } finally {
      await h.cleanup();
    }
  });

  test('modified, deleted, inserted, reordered, truncated and replaced are still told apart', async () => {
    const { h, file, lines } = await freshLog();
    try {
      const pubkeyPath = await withPubkey(h);
      const check = async (mutated: string[], kind: string, line?: number): Promise<void> => {
        await writeLines(file, mutated);
        const d = damageOf(await verifyHome(h, { macless: true, pubkeyPath }));
        assert.equal(d.kind, kind, JSON.stringify(d));
        if (line !== undefined) assert.equal(d.line, line);
      };
      const n = lineWhere(lines, isEvent, 15);
      const modified = [...lines];
      modified[n - 1] = (modified[n - 1] as string).replace('/usr/bin/tool-', '/usr/bin/TOOL-');
      const nextCheckpoint = lineWhere(lines, isCheckpoint, n);
      await check(modified, 'modified', nextCheckpoint); // found by the Merkle root of the next checkpoint

      const deleted = [...lines];
      deleted.splice(n - 1, 1);
      await check(deleted, 'deleted', n);

      const dup = [...lines];
      dup.splice(n, 0, lines[n - 1] as string);
      await check(dup, 'inserted', n + 1);

      const swapped = [...lines];
      [swapped[n - 1], swapped[n]] = [swapped[n] as string, swapped[n - 1] as string];
      await check(swapped, 'reordered', n);

      await check(lines.slice(0, lineWhere(lines, isCheckpoint, 3)), 'truncated');
      await check(rechain(lines, { announceKey: true }), 'replaced');
    } finally {
      await h.cleanup();
    }
  });
});
