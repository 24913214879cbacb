import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeQuery, encodeResponse, parseQuery, parseResponse, presentName, readName, TYPE } from '../../src/egress/dns-wire.js';

test('dns-wire: a query round-trips; case is preserved for echoing, lowered for policy', () => {
  const q = encodeQuery({ id: 0x1234, name: 'Allowed.TEST', qtype: TYPE.AAAA, edns: true });
  const p = parseQuery(q);
  assert.ok(p.ok);
  assert.equal(p.query.id, 0x1234);
  assert.equal(p.query.rd, true);
  assert.equal(presentName(p.query.question.labels), 'allowed.test');
  assert.equal(p.query.question.labels[0]!.toString(), 'Allowed');
  assert.equal(p.query.question.qtype, TYPE.AAAA);
  assert.ok(p.query.edns && p.query.edns.udpSize === 1232);
  const resp = encodeResponse({ id: 0x1234, rd: true, rcode: 'NOERROR', question: p.query.question, answers: [{ type: TYPE.A, ttl: 30, data: Buffer.from([127, 0, 0, 2]) }], edns: { udpSize: 1232, ede: { code: 18, text: 'x' } } });
  const r = parseResponse(resp);
  assert.equal(r.id, 0x1234);
  assert.equal(r.rcode, 0);
  assert.equal(r.qname, 'allowed.test');
  assert.deepEqual([...r.answers[0]!.data], [127, 0, 0, 2]);
  assert.deepEqual(r.ede, { code: 18, text: 'x' });
});

test('dns-wire: compression pointers are followed only backwards, with a hop limit', () => {
  // Header + name at 12 that is a pointer to itself (loop).
  const self = Buffer.concat([encodeQuery({ id: 1, name: '.', qtype: 1 }).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  const r1 = parseQuery(self);
  assert.equal(r1.ok, false);
  assert.match(!r1.ok ? r1.why : '', /backwards/);
  // Forward pointer.
  const fwd = Buffer.concat([self.subarray(0, 12), Buffer.from([0xc0, 14, 0, 0, 1, 0, 1])]);
  assert.equal(parseQuery(fwd).ok, false);
  // A chain of backward pointers in a crafted buffer: readName on the last one.
  const chain: number[] = [1, 0x61, 0];
  for (let i = 0; i < 40; i++) chain.push(0xc0, i === 0 ? 0 : 3 + (i - 1) * 2);
  assert.throws(() => readName(Buffer.from(chain), chain.length - 2), /too many compression pointers/);
  // A short chain is fine.
  assert.deepEqual(readName(Buffer.from(chain), 3).labels.map(String), ['a']);
  // Pointer into the header region then into... a legal backward pointer that resolves.
  const ok = Buffer.from([3, 0x61, 0x62, 0x63, 0, 0xc0, 0]);
  assert.deepEqual(readName(ok, 5), { labels: [ok.subarray(1, 4)], end: 7 });
});

test('dns-wire: bounds — labels, names, truncation, trailing bytes, extended labels', () => {
  const hdr = encodeQuery({ id: 7, name: '.', qtype: 1 }).subarray(0, 12);
  const cases: Array<[string, Buffer]> = [
    ['short', Buffer.from([0, 1, 2])],
    ['label past end', Buffer.concat([hdr, Buffer.from([10, 0x61])])],
    ['no terminator', Buffer.concat([hdr, Buffer.from([1, 0x61])])],
    ['extended label', Buffer.concat([hdr, Buffer.from([0x41, 0, 0, 1, 0, 1])])],
    ['truncated question', Buffer.concat([hdr, Buffer.from([0, 0, 1])])],
    ['trailing', Buffer.concat([encodeQuery({ id: 7, name: 'a.b', qtype: 1 }), Buffer.from([0])])],
  ];
  for (const [what, b] of cases) assert.equal(parseQuery(b).ok, false, what);
  // 255-octet limit.
  const long = Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.');
  const r = parseQuery(encodeQuery({ id: 1, name: long, qtype: 1 }));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.why : '', /255/);
  // Header readable → id available for FORMERR.
  const two = Buffer.from(encodeQuery({ id: 9, name: 'a', qtype: 1 }));
  two.writeUInt16BE(2, 4);
  const r2 = parseQuery(two);
  assert.ok(!r2.ok && r2.id === 9 && r2.rcode === 'FORMERR');
  // Responses are never treated as queries.
  const resp = Buffer.from(encodeQuery({ id: 9, name: 'a', qtype: 1 }));
  resp[2]! |= 0x80;
  assert.equal(parseQuery(resp).ok, false);
  // Opcodes other than QUERY → NOTIMP.
  const upd = Buffer.from(encodeQuery({ id: 9, name: 'a', qtype: 1 }));
  upd[2]! |= 5 << 3;
  const r3 = parseQuery(upd);
  assert.ok(!r3.ok && r3.rcode === 'NOTIMP');
});

test('dns-wire: odd bytes in names are escaped in presentation form', () => {
  assert.equal(presentName([Buffer.from('a.b'), Buffer.from([0, 0x5c, 0x41])]), 'a\\.b.\\000\\\\a');
  assert.equal(presentName([]), '.');
});

test('dns-wire: UDP size limit truncates with TC instead of overflowing', () => {
  const p = parseQuery(encodeQuery({ id: 1, name: 'x.test', qtype: TYPE.AAAA }));
  assert.ok(p.ok);
  const answers = Array.from({ length: 40 }, () => ({ type: TYPE.AAAA, ttl: 1, data: Buffer.alloc(16) }));
  const r = parseResponse(encodeResponse({ id: 1, rcode: 'NOERROR', question: p.query.question, answers, maxSize: 512 }));
  assert.equal(r.tc, true);
  assert.equal(r.answers.length, 0);
});

test('dns-wire: random mutations never throw', () => {
  const base = encodeQuery({ id: 1, name: 'data.exfil.example', qtype: 1, edns: true });
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.from(base.subarray(0, Math.floor(Math.random() * (base.length + 1))));
    for (let k = 0; k < 3; k++) if (b.length) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    const r = parseQuery(b);
    assert.equal(typeof r.ok, 'boolean');
  }
});
