/**
 * Hostile input never crashes the writer, and the writer's fast encoders produce exactly the
 * RFC 8785 bytes the `canonicalize` package (used by the verifier) produces.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalBodyOf, encodeCanonical, encodeSplit, lineOf, splitBody } from '../../src/audit/canonical.js';
import { prepareRecord } from '../../src/audit/log-chain.js';
import { type AuditEventInput, eventBody, genesisBody } from '../../src/audit/record.js';
import { Budget, type JsonValue, LIMITS, sanitizeValue, TRUNCATION_MARK, wellFormed } from '../../src/audit/sanitize.js';

const MAC = 'f'.repeat(64);

/** Arbitrary JS values including the awkward ones: bigint, NaN, -0, lone surrogates, index-like keys. */
const nasty = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('\ud800', '\udc00', 'a', '\u2028', '"', '\\', '\u0000', '😀') }),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 60, Number.MAX_SAFE_INTEGER + 2, undefined, null, true),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('0', '10', '9', '__proto__', 'toJSON', 'mac', '\ud800')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** What the verifier does with a line: parse, then re-canonicalise with the package. */
function reference(line: string): string {
  return canonicalize(JSON.parse(line)) as string;
}

describe('sanitizeValue + encoders', () => {
  test('never throws; both encoders equal canonicalize()', () => {
    fc.assert(
      fc.property(nasty, (v) => {
        const budget = new Budget();
        const s = sanitizeValue(v, budget) ?? null;
        const ref = canonicalize(s) as string;
        assert.equal(encodeCanonical(s), ref);
        if (!budget.indexKeys) assert.equal(JSON.stringify(s), ref, 'JSON.stringify fast path must be canonical');
        assert.equal(canonicalize(JSON.parse(ref)), ref);
      }),
      { numRuns: 2000 },
    );
  });

  test('lone surrogates, bigint, unsafe integers and NaN become safe representations', () => {
    const b = new Budget();
    const out = sanitizeValue({ s: 'a\ud800b', big: 2n ** 70n, unsafe: 2 ** 60, nan: NaN, inf: -Infinity, negz: -0, u: undefined, f: () => 1 }, b) as Record<string, JsonValue>;
    assert.deepEqual({ ...out }, { big: '1180591620717411303424', inf: '-Infinity', nan: 'NaN', negz: 0, s: 'a\ufffdb', unsafe: '1152921504606846976' });
    assert.equal(wellFormed('\udc00x\ud83d\ude00'), '\ufffdx\ud83d\ude00');
  });

  test('hostile objects: throwing getters, Proxies, cycles, depth, size', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const huge = 'x'.repeat(5_000_000);
    const wide = Array.from({ length: 100_000 }, (_, i) => i);
    const manyKeys = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, 'v'.repeat(100)]));
    for (const v of [cyclic, getter, proxy, deep, huge, wide, manyKeys, [huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge]]) {
      const b = new Budget();
      const s = sanitizeValue(v, b) ?? null;
      const text = canonicalize(s) as string;
      assert.ok(text.length < 400_000, `bounded output, got ${text.length}`);
      assert.equal(b.truncated, true);
    }
    const b = new Budget();
    const long = sanitizeValue('y'.repeat(LIMITS.string + 10), b) as string;
    assert.equal(long, 'y'.repeat(LIMITS.string) + TRUNCATION_MARK);
  });

  test('"__proto__" keys stay data, never a prototype', () => {
    const input = JSON.parse('{"__proto__":{"polluted":1},"a":2}') as unknown;
    const out = sanitizeValue(input, new Budget()) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":1},"a":2}');
  });
});

describe('record bodies', () => {
  const anyEvent = fc.record(
    {
      session: fc.oneof(fc.string({ unit: 'binary' }), nasty),
      kind: fc.oneof(fc.string(), nasty),
      resource: fc.oneof(fc.string({ unit: 'binary' }), nasty),
      decision: fc.oneof(fc.constantFrom('allow', 'deny'), nasty),
      rule: nasty,
      policyHash: nasty,
      proc: fc.oneof(nasty, fc.record({ pid: fc.oneof(fc.integer(), nasty), exe: fc.string({ unit: 'binary' }), argv: fc.array(fc.oneof(fc.string({ unit: 'binary' }), nasty)) }, { requiredKeys: [] })),
      detail: nasty,
    },
    { requiredKeys: [] },
  );

  test('any event input encodes to a line the verifier accepts byte for byte', () => {
    fc.assert(
      fc.property(anyEvent, (input) => {
        const e = prepareRecord(eventBody(input as unknown as AuditEventInput, 'sha256:default'), '12345678901234567890', '2025-01-02T03:04:05.678Z');
        const line = lineOf(e, MAC);
        assert.equal(reference(line), line);
        const obj = JSON.parse(line) as Record<string, unknown>;
        delete obj['mac'];
        assert.equal(canonicalize(obj), canonicalBodyOf(e));
        assert.equal(obj['type'], 'event');
        assert.equal(obj['seq'], '12345678901234567890');
        assert.equal(typeof obj['session'], 'string');
        assert.equal(typeof obj['kind'], 'string');
      }),
      { numRuns: 1500 },
    );
  });

  test('non-object input and argv with invalid UTF-8 are recorded, not rejected', () => {
    for (const input of [null, undefined, 42, 'str', [], { session: 's', kind: 'exec', proc: { pid: 1, argv: ['ls', Buffer.from([0xff, 0xfe]).toString('utf8'), 'a\udfff'] } }]) {
      const line = lineOf(prepareRecord(eventBody(input as unknown as AuditEventInput, 'p'), '1', 't'), MAC);
      assert.equal(reference(line), line);
    }
    const withArgv = JSON.parse(lineOf(prepareRecord(eventBody({ session: 's', kind: 'exec', proc: { pid: 1, argv: ['a\udfff'] } }, 'p'), '1', 't'), MAC)) as { proc: { argv: string[] } };
    assert.deepEqual(withArgv.proc.argv, ['a\ufffd']);
  });

  test('huge events are bounded and marked truncated', () => {
    const big = 'z'.repeat(1 << 20);
    const e = prepareRecord(eventBody({ session: big, kind: big, resource: big, proc: { pid: 1, argv: Array(10_000).fill(big) }, detail: { big, arr: Array(10_000).fill({ big }) } }, 'p'), '1', 't');
    const line = lineOf(e, MAC);
    assert.ok(line.length < 200_000, `got ${line.length}`);
    const obj = JSON.parse(line) as Record<string, unknown>;
    assert.equal(obj['truncated'], true);
    assert.equal(reference(line), line);
  });

  test('system bodies (generic split path) are canonical too', () => {
    const body = genesisBody(
      { policyHash: 'h', wardenVersion: '1', layers: { active: ['L0'], degraded: ['L2'] }, detail: { '10': 1, '9': 2, z: [1, { b: 1, a: 2 }] } },
      { logId: 'L', macKeyId: 'm', signingKey: 'k', pid: 1, nodeVersion: 'v20' },
    );
    const split = splitBody(body);
    split.after['seq'] = '0';
    split.after['time'] = 't';
    const line = lineOf(encodeSplit(split), MAC);
    assert.equal(reference(line), line);
  });
});
