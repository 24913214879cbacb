import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DnsAuditRecord } from '../../src/egress/audit.js';
import { createDnsStub } from '../../src/egress/dns.js';
import { encodeQuery, encodeResponse, parseQuery, parseResponse, presentName, TYPE } from '../../src/egress/dns-wire.js';
import { dnsResolver } from '../../src/egress/resolve.js';
import { tempDir } from '../helpers/tmp.js';
import { compile } from './helpers.js';

/**
 * The DNS stub, with a fake "upstream" DNS server on 127.0.0.9 standing in for the host's
 * resolver. The upstream logs every query it receives: the witness that denied names (and any
 * data in them) never left the supervisor.
 */

const dir = tempDir('warden-dns-');
const upstreamLog: string[] = [];
const upstream = createSocket('udp4');
const ZONE: Record<string, { a?: number[][]; aaaa?: string[] }> = {
  'up.wild.test': { a: [[93, 184, 216, 34]], aaaa: ['2606:2800:220:1::1'] },
  'rebind.wild.test': { a: [[127, 0, 0, 1]] },
  'port.test': { a: [[198, 51, 100, 7], [93, 184, 216, 35]] },
};
upstream.on('message', (msg, rinfo) => {
  const p = parseQuery(msg);
  if (!p.ok) return;
  const name = presentName(p.query.question.labels);
  upstreamLog.push(`${name}/${p.query.question.qtype}`);
  const z = ZONE[name];
  const answers =
    p.query.question.qtype === TYPE.A
      ? (z?.a ?? []).map((a) => ({ type: TYPE.A, ttl: 60, data: Buffer.from(a) }))
      : p.query.question.qtype === TYPE.AAAA
        ? (z?.aaaa ?? []).map(() => ({ type: TYPE.AAAA, ttl: 60, data: Buffer.from([0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) }))
        : [];
  upstream.send(encodeResponse({ id: p.query.id, rd: p.query.rd, rcode: z ? 'NOERROR' : 'NXDOMAIN', question: p.query.question, answers: answers as never }), rinfo.port, rinfo.address);
});
upstream.bind(0, '127.0.0.9');
await once(upstream, 'listening');
const upstreamPort = upstream.address().port;
after(() => upstream.close());

const policy = compile({
  network: {
    allow: ['allowed.test', '*.wild.test', 'port.test:443', '*.google.internal'],
    deny: ['*.evil.test'],
    approve: ['approve.test'],
    hosts: { 'allowed.test': '127.0.0.2', 'v6only.test': '::1', 'hostsonly.test': '127.0.0.5', 'x.evil.test': '127.0.0.6' },
  },
});

const audit: DnsAuditRecord[] = [];
const stub = createDnsStub({ policy, audit: (r) => audit.push(r), resolver: dnsResolver({ servers: [`127.0.0.9:${upstreamPort}`], timeoutMs: 1000, tries: 1 }) });
after(() => stub.close());
const udp = await stub.listenUdp({ host: '127.0.0.1', port: 0 });
const tcp = (await stub.listenStream({ host: '127.0.0.1', port: 0 })) as AddressInfo;
const sockPath = join(dir, 'dns.sock');
await stub.listenStream({ path: sockPath });

/** A real DNS client (c-ares, as node's dns.Resolver) pointed at the stub over UDP. */
const client = new Resolver({ timeout: 1000, tries: 1 });
client.setServers([`127.0.0.1:${udp.port}`]);

async function udpQuery(msg: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
  const s = createSocket('udp4');
  after(() => s.close());
  s.send(msg, udp.port, '127.0.0.1');
  const t = setTimeout(() => s.emit('message', null), timeoutMs);
  const [m] = (await once(s, 'message')) as [Buffer | null];
  clearTimeout(t);
  return m;
}

test('dns: allowed names are answered (hosts entries and resolved names), by a real client', async () => {
  assert.deepEqual(await client.resolve4('allowed.test'), ['127.0.0.2']);
  assert.deepEqual(await client.resolve4('up.wild.test'), ['93.184.216.34']);
  assert.deepEqual(await client.resolve6('up.wild.test'), ['2606:2800:220:1::1']);
  assert.deepEqual(await client.resolve6('v6only.test'), ['::1']);
  assert.deepEqual(await client.resolve4('hostsonly.test'), ['127.0.0.5'], 'a hosts entry answers without an allow rule');
  // A port-specific allow rule still lets the name resolve; a documentation-range answer is filtered out.
  assert.deepEqual(await client.resolve4('port.test'), ['93.184.216.35']);
  assert.ok(upstreamLog.includes('up.wild.test/1') && upstreamLog.includes('port.test/1'), 'allowed names do reach the resolver');
  assert.ok(!upstreamLog.some((q) => q.startsWith('allowed.test')), 'hosts entries are never looked up');
});

test('dns: denied names are refused and never forwarded (no exfiltration through query names)', async () => {
  const before = upstreamLog.length;
  for (const name of ['evil.test', 'x.evil.test', 'c2VjcmV0LWRhdGE.x.evil.test', 'unlisted.example', 'approve.test', 'metadata.google.internal']) {
    await assert.rejects(client.resolve4(name), (e: NodeJS.ErrnoException) => e.code === 'EREFUSED', name);
  }
  await assert.rejects(client.resolveTxt('secret.evil.test'), (e: NodeJS.ErrnoException) => e.code === 'EREFUSED');
  // With EDNS the refusal names the rule (RFC 8914 Extended DNS Error 18, Prohibited).
  const r = parseResponse((await udpQuery(encodeQuery({ id: 77, name: 'data.evil.test', qtype: TYPE.A, edns: true })))!);
  assert.equal(r.id, 77);
  assert.equal(r.rcode, 5);
  assert.equal(r.ede?.code, 18);
  assert.match(r.ede?.text ?? '', /network\.deny\[0\]/);
  assert.equal(upstreamLog.length, before, `nothing forwarded, upstream saw: ${upstreamLog.slice(before).join(', ')}`);
  const rec = audit.find((a) => a.name === 'c2vjcmv0lwrhdge.x.evil.test');
  assert.ok(rec && rec.decision === 'deny' && rec.rule === 'network.deny[0]' && rec.rcode === 'REFUSED');
});

test('dns: other types for allowed names are empty NOERROR, without asking anyone', async () => {
  const before = upstreamLog.length;
  await assert.rejects(client.resolveTxt('up.wild.test'), (e: NodeJS.ErrnoException) => e.code === 'ENODATA');
  await assert.rejects(client.resolveMx('allowed.test'), (e: NodeJS.ErrnoException) => e.code === 'ENODATA');
  assert.equal(upstreamLog.length, before);
  // A resolved answer pointing at loopback (rebinding) is left out: NODATA.
  await assert.rejects(client.resolve4('rebind.wild.test'), (e: NodeJS.ErrnoException) => e.code === 'ENODATA');
});

test('dns: malformed queries get FORMERR when the header is readable, are dropped otherwise', async () => {
  assert.equal(await udpQuery(Buffer.from([1, 2, 3]), 300), null);
  const two = Buffer.from(encodeQuery({ id: 4242, name: 'allowed.test', qtype: TYPE.A }));
  two.writeUInt16BE(2, 4);
  const r = parseResponse((await udpQuery(two))!);
  assert.equal(r.id, 4242);
  assert.equal(r.rcode, 1);
  const loop = Buffer.concat([two.subarray(0, 4), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])]);
  assert.equal(parseResponse((await udpQuery(loop))!).rcode, 1);
  // A response sent to the stub is never answered (no reflection loops).
  const resp = Buffer.from(encodeQuery({ id: 1, name: 'allowed.test', qtype: 1 }));
  resp[2]! |= 0x80;
  assert.equal(await udpQuery(resp, 300), null);
  // Still serving.
  assert.deepEqual(await client.resolve4('allowed.test'), ['127.0.0.2']);
});

async function streamExchange(target: { port: number } | { path: string }, chunks: Buffer[], want: number): Promise<Array<ReturnType<typeof parseResponse> | null>> {
  const s = 'path' in target ? connect(target.path) : connect(target.port, '127.0.0.1');
  await once(s, 'connect');
  for (const c of chunks) {
    s.write(c);
    await new Promise((r) => setImmediate(r));
  }
  let buf = Buffer.alloc(0);
  const out: Array<ReturnType<typeof parseResponse> | null> = [];
  while (out.length < want) {
    const [d] = (await once(s, 'data')) as [Buffer];
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      out.push(len === 0 ? null : parseResponse(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
  }
  s.destroy();
  return out;
}

const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

test('dns stream transport (TCP and unix socket, as the relay frames UDP): pipelined, in order, split writes', async () => {
  const q1 = frame(encodeQuery({ id: 1, name: 'up.wild.test', qtype: TYPE.A }));
  const q2 = frame(encodeQuery({ id: 2, name: 'allowed.test', qtype: TYPE.A }));
  const q3 = frame(encodeQuery({ id: 3, name: 'x.evil.test', qtype: TYPE.A }));
  // Pipelined in one write; the slow (resolved) one first: responses still come back in order.
  const rs = await streamExchange({ port: tcp.port }, [Buffer.concat([q1, q2, q3])], 3);
  assert.deepEqual(rs.map((r) => [r!.id, r!.rcode]), [[1, 0], [2, 0], [3, 5]]);
  assert.deepEqual([...rs[1]!.answers[0]!.data], [127, 0, 0, 2]);
  // Over the unix socket, one byte at a time.
  const bytes = Buffer.concat([q2, q3]);
  const rs2 = await streamExchange({ path: sockPath }, [...bytes].map((b) => Buffer.from([b])), 2);
  assert.deepEqual(rs2.map((r) => [r!.id, r!.rcode]), [[2, 0], [3, 5]]);
  // One frame per request, in order, even for a message that gets no DNS answer (empty frame).
  const rs3 = await streamExchange({ path: sockPath }, [Buffer.concat([q2, frame(Buffer.from([1, 2, 3])), q3])], 3);
  assert.deepEqual(rs3.map((r) => (r === null ? null : r.id)), [2, null, 3]);
});

test('dns: NXDOMAIN mode for denied names, and every query is audited', async () => {
  const nx = createDnsStub({ policy, audit: () => {}, deniedRcode: 'NXDOMAIN', resolver: dnsResolver({ servers: [`127.0.0.9:${upstreamPort}`] }) });
  const r = parseResponse((await nx.answer(encodeQuery({ id: 9, name: 'evil.test', qtype: TYPE.A }), 'stream'))!);
  assert.equal(r.rcode, 3);
  await nx.close();
  const st = stub.stats();
  assert.equal(audit.length, st.queries, 'one audit record per query');
  assert.ok(st.allowed > 0 && st.denied > 0 && st.malformed > 0);
  assert.ok(audit.every((a) => a.type === 'dns' && (a.decision === 'allow' || a.decision === 'deny')));
});
