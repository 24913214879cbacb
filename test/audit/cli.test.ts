/**
 * `warden audit verify|show|pubkey` through the Command interface: exit codes, one-line errors,
 * output formats, filters, terminal safety.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openAuditWriter } from '../../src/audit/index.js';
import { auditCommand } from '../../src/cli/audit.js';
import { capture, GENESIS, type Home, isRoot, readLines, segmentFiles, tempHome, writeLines, writeLog } from './helpers.js';

async function run(h: Home, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture(h.env, h.home);
  const code = await auditCommand(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

function assertOneLineError(err: string): void {
  assert.match(err, /^warden: [^\n]+\n$/, `expected one "warden: ..." line, got ${JSON.stringify(err)}`);
  assert.doesNotMatch(err, /\n\s+at /);
}

describe('warden audit verify', () => {
  test('exit 0 intact, 2 tampered (naming log, segment, line, seq, kind), --json report', async () => {
    const h = await tempHome();
    try {
      const { logId, dir } = await writeLog(h, 12);
      let r = await run(h, 'verify');
      assert.equal(r.code, 0);
      assert.match(r.out, /^audit log intact: 1 log\(s\), 16 record\(s\), 3 checkpoint\(s\)/);

      const [file] = await segmentFiles(dir);
      const lines = await readLines(file!);
      lines.splice(6, 1);
      await writeLines(file!, lines);
      r = await run(h, 'verify');
      assert.equal(r.code, 2);
      assert.match(r.out, new RegExp(`^audit log TAMPERED: deleted — log ${logId}, segment 000001\\.jsonl, line 7, seq 7\\n`));

      r = await run(h, 'verify', '--json');
      assert.equal(r.code, 2);
      const report = JSON.parse(r.out) as { status: string; damage: { kind: string; line: number; seq: string; segment: string; log: string } };
      assert.equal(report.status, 'tampered');
      assert.deepEqual({ ...report.damage, message: undefined }, { kind: 'deleted', log: logId, segment: '000001.jsonl', line: 7, seq: '7', message: undefined });
    } finally {
      await h.cleanup();
    }
  });

  test('garbage lines are damage (exit 2)', async () => {
    const h = await tempHome();
    try {
      const { dir } = await writeLog(h, 5);
      const [file] = await segmentFiles(dir);
      const lines = await readLines(file!);
      lines[3] = 'garbage \u001b[2J not json';
      await writeLines(file!, lines);
      const r = await run(h, 'verify');
      assert.equal(r.code, 2);
      assert.match(r.out, /modified — .*line 4/);
    } finally {
      await h.cleanup();
    }
  });

  test('exit 3: missing audit dir, missing keys, HMAC key missing, unreadable files', async () => {
    const h = await tempHome();
    try {
      let r = await run(h, 'verify', '--audit-dir', join(h.home, 'nope'));
      assert.equal(r.code, 3);

      const { dir } = await writeLog(h, 3);
      r = await run(h, 'verify', '--audit-dir', join(h.home, 'nope'));
      assert.equal(r.code, 3);
      assertOneLineError(r.err);
      assert.match(r.err, /does not exist|cannot be read/);

      await rm(join(h.keyDir, 'audit-mac.key'));
      r = await run(h, 'verify');
      assert.equal(r.code, 3);
      assertOneLineError(r.err);
      assert.match(r.err, /HMAC key missing/);

      await rm(h.keyDir, { recursive: true });
      r = await run(h, 'verify');
      assert.equal(r.code, 3);
      assertOneLineError(r.err);

      // A second home for file-level unreadability.
      const h2 = await tempHome();
      try {
        const w = await writeLog(h2, 3, { segmentMaxRecords: 3 });
        const [f1, f2] = await segmentFiles(w.dir);
        await chmod(f2!, 0o000);
        r = await run(h2, 'verify');
        // chmod 000 does not stop root from reading; it must stop everyone else.
        assert.equal(r.code, isRoot ? 0 : 3, r.err + r.out);
        await chmod(f2!, 0o600);
        // Something that is unreadable for root too: a segment name that is a directory.
        const saved = await readFile(f1!);
        await rm(f1!);
        await mkdir(f1!);
        r = await run(h2, 'verify');
        assert.equal(r.code, 3);
        assert.match(r.err, /EISDIR/);
        await rm(f1!, { recursive: true });
        await writeFile(f1!, saved);
        assert.equal((await run(h2, 'verify')).code, 0);
      } finally {
        await h2.cleanup();
      }
      void dir;
    } finally {
      await h.cleanup();
    }
  });

  test('pubkey export, then verify --pubkey (signature mode)', async () => {
    const h = await tempHome();
    try {
      const { dir } = await writeLog(h, 8);
      const pk = await run(h, 'pubkey');
      assert.equal(pk.code, 0);
      assert.match(pk.out, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
      const raw = await run(h, 'pubkey', '--raw');
      assert.match(raw.out, /^[A-Za-z0-9+/]{43}=\n$/);
      const pub = join(h.home, 'audit.pub');
      await writeFile(pub, pk.out);
      await rm(join(h.keyDir, 'audit-mac.key'));

      let r = await run(h, 'verify', '--pubkey', pub, '--json');
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal((JSON.parse(r.out) as { mode: string }).mode, 'signature');

      const [file] = await segmentFiles(dir);
      const lines = await readLines(file!);
      [lines[4], lines[5]] = [lines[5]!, lines[4]!];
      await writeLines(file!, lines);
      r = await run(h, 'verify', '--pubkey', pub);
      assert.equal(r.code, 2);
      assert.match(r.out, /reordered/);

      r = await run(h, 'verify', '--pubkey', join(h.home, 'missing.pub'));
      assert.equal(r.code, 3);
      assertOneLineError(r.err);
    } finally {
      await h.cleanup();
    }
  });
});

describe('warden audit show', () => {
  async function populate(h: Home): Promise<void> {
    let t = Date.parse('2025-01-01T00:00:00.000Z');
    const w = await openAuditWriter({ env: h.env, genesis: GENESIS, now: () => t });
    const events = [
      { session: 'alpha', kind: 'exec', resource: '/bin/ls', decision: 'allow', rule: 'commands[0]' },
      { session: 'alpha', kind: 'connect', resource: 'evil.example:443', decision: 'deny', rule: 'network.deny[0]' },
      { session: 'beta', kind: 'exec', resource: '/bin/rm\u001b[31m\u202e', decision: 'deny', rule: 'commands[1]' },
      { session: 'beta', kind: 'open', resource: '/etc/passwd', decision: 'allow' },
    ];
    for (const e of events) {
      t += 60_000;
      await w.append(e);
    }
    await w.close();
  }

  test('table by default, JSON lines with --json, filters combine', async () => {
    const h = await tempHome();
    try {
      await populate(h);
      let r = await run(h, 'show');
      assert.equal(r.code, 0);
      const rows = r.out.trimEnd().split('\n');
      assert.match(rows[0]!, /^TIME\s+LOG\s+SEQ\s+SESSION\s+KIND\s+DECISION\s+RULE\s+RESOURCE$/);
      assert.ok(rows.some((l) => /\[genesis\]\s+degraded=L2 policy=sha256:/.test(l)));
      assert.ok(rows.some((l) => /alpha\s+connect\s+deny\s+network\.deny\[0\]\s+evil\.example:443/.test(l)));
      // Terminal control and bidi characters from the agent are neutralised.
      assert.doesNotMatch(r.out, /[\u001b\u202e]/);
      assert.match(r.out, /\/bin\/rm\\u\{1b\}\[31m\\u\{202e\}/);

      r = await run(h, 'show', '--json', '--decision', 'deny');
      const recs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(recs.map((x) => x['resource']), ['evil.example:443', '/bin/rm\u001b[31m\u202e']);
      assert.doesNotMatch(r.out, /[\u202e]/, 'bidi override must be escaped even in JSON output');
      assert.ok(recs.every((x) => typeof x['log'] === 'string'));

      r = await run(h, 'show', '--json', '--session', 'beta', '--kind', 'exec');
      assert.equal(r.out.trimEnd().split('\n').length, 1);

      r = await run(h, 'show', '--json', '--since', '2025-01-01T00:02:00Z', '--until', '2025-01-01T00:03:00.000Z', '--kind', 'exec');
      assert.deepEqual(r.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as Record<string, unknown>)['session']), ['beta']);

      r = await run(h, 'show', '--json', '--kind', 'checkpoint');
      assert.equal(r.out.trimEnd().split('\n').length, 2); // initial + final
    } finally {
      await h.cleanup();
    }
  });

  test('usage errors: one line, exit 1', async () => {
    const h = await tempHome();
    try {
      for (const args of [['show', '--since', 'yesterday'], ['show', '--bogus'], ['verify', '--nope'], ['verify', 'extra'], ['frobnicate'], []]) {
        const r = await run(h, ...args);
        assert.equal(r.code, 1, args.join(' '));
        assertOneLineError(r.err);
      }
      const help = await run(h, '--help');
      assert.equal(help.code, 0);
      assert.match(help.out, /usage: warden audit verify/);
      const missing = await run(h, 'show', '--audit-dir', join(h.home, 'none'));
      assert.equal(missing.code, 1);
      assertOneLineError(missing.err);
      const nokey = await run(h, 'pubkey');
      assert.equal(nokey.code, 1);
      assertOneLineError(nokey.err);
    } finally {
      await h.cleanup();
    }
  });
});
