/**
 * Records of replayed execs are derived from one template per verdict (record.ts withPid,
 * writer.enqueueWithPid): they must be byte for byte what the full sanitiser and encoder give the
 * same event with that pid, for ordinary and for hostile templates, and deriving must never change
 * the template or an earlier record.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openAuditWriter } from '../../src/audit/index.js';
import { prepareRecord } from '../../src/audit/log-chain.js';
import { type AuditEventInput, eventBody, withPid } from '../../src/audit/record.js';
import { GENESIS, parse, readLines, tempHome, verifyHome } from './helpers.js';

const POLICY = 'sha256:' + 'cd'.repeat(32);

function exec(over: Partial<AuditEventInput> = {}, proc: Partial<NonNullable<AuditEventInput['proc']>> = {}): AuditEventInput {
  return {
    session: '20261201T201715-1663ead6',
    kind: 'exec',
    decision: 'allow',
    rule: 'classify:allow',
    resource: '/usr/bin/true',
    proc: { pid: 1, exe: '/usr/bin/true', argv: ['/bin/true'], ...proc },
    detail: { reason: 'replayed: allow', syscall: 'execve', argc: 1, cwd: '/work', cached: true },
    ...over,
  };
}

const TEMPLATES: Array<[string, AuditEventInput]> = [
  ['an ordinary exec', exec()],
  ['no exe', exec({}, { exe: undefined as unknown as string })],
  ['non-ASCII and control characters', exec({ resource: '/usr/bin/ünï\u0001' }, { argv: ['grép', '-e', 'a\nb', '\u{1F600}'] })],
  ['more arguments than a record keeps', exec({}, { argv: Array.from({ length: 400 }, (_, i) => `arg${i}`) })],
  ['arguments past the size budget', exec({}, { argv: Array.from({ length: 40 }, () => 'x'.repeat(5000)) })],
  ['detail keys that look like array indexes (not plain)', exec({ detail: { '1': 'one', '0': 'zero', reason: 'r' } })],
  ['a policy hash of its own', exec({ policyHash: 'sha256:' + 'ef'.repeat(32) })],
];

const PIDS = [2, 77, 4194304, 0, 2 ** 31 - 1];

describe('records derived from a template', () => {
  for (const [what, template] of TEMPLATES) {
    test(`equal the full encoding for every pid: ${what}`, () => {
      const body = eventBody(template, POLICY);
      for (const pid of PIDS) {
        const derived = withPid(body, pid);
        assert.ok(derived, 'a template with a proc object');
        const full = eventBody({ ...template, proc: { ...template.proc!, pid } }, POLICY);
        assert.deepEqual(prepareRecord(derived, '42', '2026-12-01T00:00:00.000Z'), prepareRecord(full, '42', '2026-12-01T00:00:00.000Z'));
      }
    });
  }

  test('change neither the template nor an earlier record', () => {
    const body = eventBody(exec(), POLICY);
    const before = JSON.stringify(body);
    const first = withPid(body, 10)!;
    const firstLine = prepareRecord(first, '1', 't1');
    withPid(body, 11);
    assert.deepEqual(prepareRecord(first, '1', 't1'), firstLine);
    assert.equal((first.after['proc'] as { pid: number }).pid, 10);
    assert.equal(JSON.stringify({ ...body, beforeJson: undefined }), before);
  });

  test('are refused for a body without a proc object (the caller encodes those in full)', () => {
    assert.equal(withPid(eventBody(exec({ proc: undefined }), POLICY), 3), undefined);
  });

  for (const thread of ['inline', 'worker'] as const) {
    test(`written by enqueueWithPid, read back as enqueue would have written them (${thread})`, async () => {
      const h = await tempHome();
      try {
        const templates = TEMPLATES.map(([, t]) => t);
        const writers = [await openAuditWriter({ env: h.env, genesis: GENESIS, thread }), await openAuditWriter({ env: h.env, genesis: GENESIS, thread })];
        const [derived, full] = writers as [Awaited<ReturnType<typeof openAuditWriter>>, Awaited<ReturnType<typeof openAuditWriter>>];
        for (let i = 0; i < 60; i++) {
          const t = templates[i % templates.length] as AuditEventInput;
          derived.enqueueWithPid(t, 1000 + i);
          full.enqueue({ ...t, proc: { ...t.proc!, pid: 1000 + i } });
        }
        derived.enqueueWithPid({ session: 's', kind: 'exec' }, 5); // no proc: encoded in full
        full.enqueue({ session: 's', kind: 'exec', proc: { pid: 5 } });
        await Promise.all(writers.map((w) => w.close()));
        const events = async (dir: string) =>
          (await readLines(join(dir, '000001.jsonl')))
            .map(parse)
            .filter((r) => r['type'] === 'event')
            .map(({ mac: _m, seq: _s, time: _t, ...rest }) => rest);
        const a = await events(derived.dir);
        assert.equal(a.length, 61);
        assert.deepEqual(a, await events(full.dir));
        assert.equal((await verifyHome(h)).status, 'intact');
      } finally {
        await h.cleanup();
      }
    });
  }
});
