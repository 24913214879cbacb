import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { peekClientHello } from '../../src/egress/tls-sni.js';

/** Captures the first bytes a real TLS client (node's OpenSSL) sends. */
async function realHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const r = peekClientHello(buf);
        if (r.status !== 'incomplete') {
          resolve(buf);
          s.destroy();
        }
      });
    });
  });
  const c = tlsConnect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
  c.on('error', () => {});
  const b = await got;
  c.destroy();
  server.close();
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function ext(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}
function sniExt(...names: string[]): Buffer {
  const entries = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0]), u16(n.length), Buffer.from(n, 'latin1')])));
  return ext(0, Buffer.concat([u16(entries.length), entries]));
}
/** A synthetic ClientHello; `records` splits the handshake message into that many TLS records. */
function hello(exts: Buffer[], records = 1): Buffer {
  const extBlock = Buffer.concat(exts);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(extBlock.length), extBlock]);
  const len = Buffer.alloc(3);
  len.writeUIntBE(body.length, 0, 3);
  const hs = Buffer.concat([Buffer.from([1]), len, body]);
  const out: Buffer[] = [];
  const step = Math.ceil(hs.length / records);
  for (let i = 0; i < hs.length; i += step) {
    const frag = hs.subarray(i, i + step);
    out.push(Buffer.from([22, 3, 1]), u16(frag.length), frag);
  }
  return Buffer.concat(out);
}

test('sni: a real ClientHello from node/OpenSSL yields its server name', async () => {
  const b = await realHello('allowed.test');
  const r = peekClientHello(b);
  assert.equal(r.status, 'ok');
  assert.equal(r.status === 'ok' && r.sni, 'allowed.test');
  assert.equal(r.status === 'ok' && r.ech, false);
  // Every strict prefix is incomplete, never a wrong answer.
  for (let i = 0; i < b.length; i += 7) assert.equal(peekClientHello(b.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
});

test('sni: absent when the client sends none', async () => {
  const b = await realHello('');
  const r = peekClientHello(b);
  assert.deepEqual(r.status === 'ok' ? r.sni : r, null);
});

test('sni: handshake split across several records is reassembled', () => {
  for (const n of [1, 2, 3, 10]) {
    const r = peekClientHello(hello([ext(10, Buffer.from([0, 2, 0, 29])), sniExt('a.example')], n));
    assert.equal(r.status === 'ok' && r.sni, 'a.example', `${n} records`);
  }
});

test('sni: malformed or evasive hellos are invalid, not misread', () => {
  const inval = (b: Buffer, why: RegExp): void => {
    const r = peekClientHello(b);
    assert.equal(r.status, 'invalid', `expected invalid: ${why}`);
    assert.match(r.status === 'invalid' ? r.why : '', why);
  };
  inval(Buffer.from('GET / HTTP/1.1\r\n\r\n'), /not a TLS handshake/);
  inval(Buffer.from([0x80, 0x2e, 0x01]), /not a TLS handshake/); // SSLv2-style hello
  inval(hello([sniExt('a.example'), sniExt('b.example')]), /duplicate extension/);
  inval(hello([sniExt('a.example', 'b.example')]), /more than one host_name/);
  inval(hello([sniExt('bad\u0000name')]), /control byte/);
  inval(hello([ext(0, Buffer.alloc(0))]), /empty server_name/);
  // Record type switches to application data mid-hello.
  const two = hello([sniExt('a.example')], 2);
  const second = two.indexOf(Buffer.from([22, 3, 1]), 5);
  const evil = Buffer.from(two);
  evil[second] = 23;
  inval(evil, /record type 23/);
  // Extension length that overruns the message.
  const h = hello([sniExt('a.example')]);
  const bad = Buffer.from(h);
  bad.writeUInt16BE(bad.readUInt16BE(bad.length - sniExt('a.example').length - 2) + 5, bad.length - sniExt('a.example').length - 2);
  inval(bad, /extensions length|truncated/);
  // A declared handshake larger than the cap.
  const huge = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x10, 0x00, 0x00]);
  assert.equal(peekClientHello(Buffer.concat([huge, Buffer.alloc(0x4000 - 4)]), 65536).status, 'invalid');
});

test('sni: ECH is flagged', () => {
  const r = peekClientHello(hello([sniExt('public.example'), ext(0xfe0d, Buffer.from([0, 1, 2]))]));
  assert.equal(r.status === 'ok' && r.ech, true);
});

test('sni: random bytes never throw', () => {
  const base = hello([sniExt('a.example'), ext(10, Buffer.from([0, 2, 0, 29]))]);
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(base);
    const flips = 1 + (i % 4);
    for (let k = 0; k < flips; k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    const r = peekClientHello(b.subarray(0, Math.floor(Math.random() * (b.length + 1))));
    assert.ok(['ok', 'invalid', 'incomplete'].includes(r.status));
    if (r.status === 'ok' && r.sni !== null) assert.match(r.sni, /^[\x21-\x7e]+$/);
  }
});
