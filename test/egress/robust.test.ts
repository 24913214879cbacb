import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { staticResolver } from '../../src/egress/resolve.js';
import { compile, connectTunnel, origin, rawExchange, run, sleep, startProxy, witness } from './helpers.js';

/**
 * Robustness: hostile or broken clients and upstreams. Every case is bounded in time by the
 * proxy's own limits (set small here), and after all of them the proxy still serves, with exactly
 * one audit end record per connection.
 */

const web = await origin('127.0.0.2', undefined, 256 * 1024);

// Echo server for tunnels.
const echo = createServer((s) => {
  s.on('error', () => {});
  s.pipe(s);
});
echo.listen(0, '127.0.0.2');
await once(echo, 'listening');
const echoPort = (echo.address() as AddressInfo).port;

// Upstream that accepts and immediately resets.
const resetter = createServer((s) => s.resetAndDestroy());
resetter.listen(0, '127.0.0.7');
await once(resetter, 'listening');
const resetPort = (resetter.address() as AddressInfo).port;

// Upstream that sends a response head and part of the body, then resets.
const halfway = createServer((s) => {
  s.on('error', () => {});
  s.once('data', () => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial');
    setTimeout(() => s.resetAndDestroy(), 50);
  });
});
halfway.listen(0, '127.0.0.7');
await once(halfway, 'listening');
const halfwayPort = (halfway.address() as AddressInfo).port;

// A port with nothing listening.
const closedW = await witness('127.0.0.8');
const closedPort = closedW.port;
closedW.server.close();

after(() => {
  echo.close();
  resetter.close();
  halfway.close();
});

/** A listener whose accept queue is full: SYNs are dropped, so connecting hangs (a real connect timeout). */
async function blackhole(): Promise<{ port: number; stop: () => void }> {
  const py = spawn('python3', ['-c', [
    'import socket, sys',
    's = socket.socket(); s.bind(("127.0.0.6", 0)); s.listen(0)',
    'port = s.getsockname()[1]',
    'fill = []',
    'for i in range(3):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.6", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'print(port, flush=True)',
    'sys.stdin.read()',
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(py.stdout!, 'data')) as [Buffer];
  await sleep(100);
  const stop = (): void => {
    py.stdin!.end();
    py.kill();
  };
  after(stop);
  return { port: Number(line.toString().trim()), stop };
}
const hole = await blackhole();

const policy = compile({
  network: {
    allow: ['allowed.test', 'reset.test', 'closed.test', 'slow.test', 'tls.test'],
    hosts: { 'allowed.test': '127.0.0.2', 'tls.test': '127.0.0.2', 'reset.test': '127.0.0.7', 'closed.test': '127.0.0.8', 'slow.test': '127.0.0.6' },
  },
});
const resolver = staticResolver({});
const limits = { headerTimeoutMs: 300, idleTimeoutMs: 600, connectTimeoutMs: 300, tlsPeekTimeoutMs: 300 };
const P = await startProxy({ policy, resolver, limits, sniPorts: [443] });

test('malformed requests get 400 quickly and the connection closes', async () => {
  const cases = [
    'GARBAGE\r\n\r\n',
    'GET http://allowed.test/ HTTP/1.1\r\nBad Header Line\r\n\r\n',
    `CONNECT allowed.test HTTP/1.1\r\nHost: x\r\n\r\n`,
    `CONNECT allowed.test:0 HTTP/1.1\r\n\r\n`,
    `CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n`,
    `CONNECT [::1:${echoPort} HTTP/1.1\r\n\r\n`,
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 13, 10, 13, 10]),
    'GET http://allowed.test:80/\u0000 HTTP/1.1\r\n\r\n',
  ];
  for (const c of cases) {
    const r = await rawExchange(P.port, c, 3000);
    assert.ok(r.closed, `closed: ${JSON.stringify(c.toString())}`);
    assert.match(r.data.toString(), /^HTTP\/1\.1 400 /, JSON.stringify(c.toString()));
    assert.ok(r.ms < 1500, `answered within bounds (${r.ms} ms)`);
  }
  // A bad destination name in a CONNECT is a 403 from the gate, not a crash.
  const bad = await connectTunnel(P.port, 'bad_name..test:80');
  assert.equal(bad.status, 403);
  assert.match(bad.body, /egress\.bad-destination/);
});

test('oversized request heads (> 64 KiB) get 431; a 40 KiB head is still fine', async () => {
  const big = `GET http://allowed.test:${web.port}/big HTTP/1.1\r\nHost: allowed.test\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`;
  const r = await rawExchange(P.port, big, 3000);
  assert.match(r.data.toString(), /^HTTP\/1\.1 431 /);
  assert.ok(r.closed);
  const many = `GET http://allowed.test:${web.port}/big HTTP/1.1\r\nHost: allowed.test\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}`).join('\r\n')}\r\n\r\n`;
  const r2 = await rawExchange(P.port, many, 3000);
  assert.match(r2.data.toString(), /^HTTP\/1\.1 431 /, 'many small headers count too');
  const ok = `GET http://allowed.test:${web.port}/ok40 HTTP/1.1\r\nHost: allowed.test\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`;
  const r3 = await rawExchange(P.port, ok, 3000);
  assert.match(r3.data.toString(), /^HTTP\/1\.1 200 [\s\S]*hello 127\.0\.0\.2 GET \/ok40$/);
});

test('slowloris: a head dripped byte by byte, a silent client and a stalled SOCKS handshake are all cut at the header timeout', async () => {
  const s = connect(P.port, '127.0.0.1');
  s.on('error', () => {});
  const t0 = Date.now();
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString()));
  const drip = setInterval(() => s.writable && s.write('a'), 30);
  s.write('GET http://allowed.test/ HTTP/1.1\r\nX-Slow: ');
  await once(s, 'close');
  clearInterval(drip);
  const ms = Date.now() - t0;
  assert.match(got, /^HTTP\/1\.1 408 /);
  assert.ok(ms >= 250 && ms < 2000, `cut after ${ms} ms despite steady drip`);

  const silent = await rawExchange(P.port, [], 3000);
  assert.ok(silent.closed && silent.ms < 2000);
  assert.match(silent.data.toString(), /^HTTP\/1\.1 408 /);

  const socks = await rawExchange(P.port, Buffer.from([5, 1]), 3000); // greeting announces 1 method, never sends it
  assert.ok(socks.closed && socks.ms < 2000, `socks stalled closed after ${socks.ms}`);
  const socksReq = await rawExchange(P.port, [Buffer.from([5, 1, 0]), Buffer.from([5, 1, 0, 3, 20, 0x61])], 3000); // request never completes
  assert.ok(socksReq.closed && socksReq.ms < 2000);
  assert.deepEqual([...socksReq.data], [5, 0]);
});

test('1,000 concurrent tunnels: all served, all audited, nothing left open', async () => {
  const N = 1000;
  const h = await startProxy({ policy, resolver, limits: { headerTimeoutMs: 20_000 } });
  const t0 = Date.now();
  const payload = Buffer.alloc(1024, 0x61);
  const one = (i: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = connect(h.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      let established = false;
      s.on('error', () => resolve(false));
      s.on('connect', () => s.write(`CONNECT allowed.test:${echoPort} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`));
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!established) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 200')) return resolve(false);
          established = true;
          buf = buf.subarray(end + 4);
          s.write(Buffer.concat([Buffer.from(String(i).padStart(6, '0')), payload]));
        }
        if (buf.length >= 6 + payload.length) {
          const ok = buf.subarray(0, 6).toString() === String(i).padStart(6, '0');
          s.end();
          resolve(ok);
        }
      });
      s.setTimeout(30_000, () => resolve(false));
    });
  const results = await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
  const ms = Date.now() - t0;
  assert.equal(results.filter(Boolean).length, N, 'every tunnel echoed its own bytes');
  const ends = await h.waitEnds(N, 20_000);
  assert.equal(ends.length, N);
  assert.ok(ends.every((e) => e.decision === 'allow' && e.bytesUp === 6 + 1024 && e.bytesDown === 6 + 1024), 'byte counts per tunnel');
  assert.equal(h.proxy.stats().active, 0);
  assert.ok(ms < 30_000, `${N} tunnels in ${ms} ms`);
});

test('tunnels: bytes intact both ways, half-close relayed, and a client that stops reading pushes back on the server', async () => {
  const { createHash, randomBytes } = await import('node:crypto');
  // Server: hashes what it receives until EOF, then answers with the hash and 8 MiB of data.
  const blob = randomBytes(8 << 20);
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => {
      s.write(h.digest());
      s.end(blob);
    });
    s.on('error', () => {});
  });
  srv.listen(0, '127.0.0.2');
  await once(srv, 'listening');
  after(() => srv.close());
  const port = (srv.address() as AddressInfo).port;
  const up = randomBytes(3 << 20);
  const t = await connectTunnel(P.port, `allowed.test:${port}`);
  assert.equal(t.status, 200);
  const chunks: Buffer[] = [];
  t.socket.on('data', (d: Buffer) => chunks.push(d));
  t.socket.end(up); // half-close: the server only answers after seeing our EOF
  await once(t.socket, 'end');
  const got = Buffer.concat(chunks);
  assert.deepEqual(got.subarray(0, 32), createHash('sha256').update(up).digest(), 'upload intact, EOF relayed');
  assert.ok(got.subarray(32).equals(blob), 'download intact');

  // Backpressure: a client that does not read; the server must not be able to flush 64 MiB into the proxy.
  let flushed = 0;
  const big = createServer((s) => {
    s.on('error', () => {});
    const chunk = Buffer.alloc(256 << 10);
    const pump = (): void => {
      while (flushed < 64 << 20) {
        if (!s.write(chunk, (e) => !e && (flushed += chunk.length))) return void s.once('drain', pump);
      }
    };
    pump();
  });
  big.listen(0, '127.0.0.2');
  await once(big, 'listening');
  after(() => big.close());
  const t2 = await connectTunnel(P.port, `allowed.test:${(big.address() as AddressInfo).port}`);
  t2.socket.pause();
  await sleep(400);
  assert.ok(flushed > 0, 'the server did send');
  assert.ok(flushed < 24 << 20, `server flushed only ${flushed} bytes while the client read nothing`);
  t2.socket.destroy();
});

test('upstream that resets: 502 for HTTP, tunnel closed with the error on record; refused port: 502 / SOCKS 0x05', async () => {
  const r = await run('curl', ['-sS', '-i', '-x', P.url, `http://reset.test:${resetPort}/`]);
  assert.match(r.stdout, /^HTTP\/1\.1 502 /);
  assert.match(r.stdout, /ECONNRESET|socket hang up/);

  const mid = await run('curl', ['-sS', '-x', P.url, `http://reset.test:${halfwayPort}/`]);
  assert.notEqual(mid.code, 0, 'a truncated body must not look complete');

  const t = await connectTunnel(P.port, `reset.test:${resetPort}`);
  if (t.status === 200) {
    t.socket.on('error', () => {});
    t.socket.resume();
    await once(t.socket, 'close');
  } else assert.equal(t.status, 502);

  // Reset mid-stream inside a tunnel: the client's tunnel is reset too, never ended cleanly.
  const h = await connectTunnel(P.port, `reset.test:${halfwayPort}`);
  assert.equal(h.status, 200);
  const ended = new Promise<string>((resolve) => {
    h.socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    h.socket.on('end', () => resolve('end'));
  });
  h.socket.resume();
  h.socket.write('GET / HTTP/1.1\r\nHost: reset.test\r\n\r\n');
  assert.equal(await ended, 'ECONNRESET', 'a clean end would make the truncated stream look complete');

  const c = await connectTunnel(P.port, `closed.test:${closedPort}`);
  assert.equal(c.status, 502);
  assert.match(c.body, /ECONNREFUSED/);
  const port = Buffer.from([closedPort >> 8, closedPort & 0xff]);
  const s = await rawExchange(P.port, [Buffer.from([5, 1, 0]), Buffer.concat([Buffer.from([5, 1, 0, 3, 11]), Buffer.from('closed.test'), port])], 3000);
  assert.deepEqual([...s.data.subarray(0, 4)], [5, 0, 5, 0x05]);
  const recs = await P.waitEnds(P.proxy.stats().accepted);
  assert.ok(recs.some((x) => x.host === 'reset.test' && x.error !== null && /ECONNRESET/.test(x.error)));
});

test('upstream connect timeout: 504 / SOCKS 0x04 within the connect deadline', async () => {
  const t0 = Date.now();
  const c = await connectTunnel(P.port, `slow.test:${hole.port}`);
  assert.equal(c.status, 504);
  assert.ok(Date.now() - t0 < 2000);
  const f = await run('curl', ['-sS', '-i', '-x', P.url, `http://slow.test:${hole.port}/`]);
  assert.match(f.stdout, /^HTTP\/1\.1 504 /);
  const port = Buffer.from([hole.port >> 8, hole.port & 0xff]);
  const s = await rawExchange(P.port, [Buffer.from([5, 1, 0]), Buffer.concat([Buffer.from([5, 1, 0, 3, 9]), Buffer.from('slow.test'), port])], 3000);
  assert.deepEqual([...s.data.subarray(0, 4)], [5, 0, 5, 0x04]);
});

test('idle tunnels and silent TLS clients are closed at their deadlines', async () => {
  const t = await connectTunnel(P.port, `allowed.test:${echoPort}`);
  assert.equal(t.status, 200);
  const t0 = Date.now();
  t.socket.write('x');
  t.socket.resume();
  await once(t.socket, 'close');
  const ms = Date.now() - t0;
  assert.ok(ms >= 500 && ms < 3000, `idle close after ${ms} ms`);

  const tlsP = await startProxy({ policy, resolver, limits, sniPorts: [echoPort] });
  const t2 = await connectTunnel(tlsP.port, `tls.test:${echoPort}`);
  assert.equal(t2.status, 200);
  const t1 = Date.now();
  t2.socket.resume();
  await once(t2.socket, 'close');
  assert.ok(Date.now() - t1 < 2000);
  const [rec] = await tlsP.waitEnds(1);
  assert.equal(rec!.rule, 'egress.tls-required');
  assert.equal(rec!.bytesUp, 0, 'nothing reached the upstream');
});

test('connection limit: extra connections are closed at once and audited', async () => {
  const h = await startProxy({ policy, resolver, limits: { maxConnections: 5, headerTimeoutMs: 5000 } });
  const held: Socket[] = [];
  for (let i = 0; i < 5; i++) {
    const s = connect(h.port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    held.push(s);
  }
  await sleep(50);
  const extra = await rawExchange(h.port, 'GET http://allowed.test/ HTTP/1.1\r\n\r\n', 2000);
  assert.ok(extra.closed && extra.ms < 1000);
  const [rec] = await h.waitEnds(1);
  assert.equal(rec!.rule, 'egress.limit');
  for (const s of held) s.destroy();
  await h.waitEnds(6);
});

test('a throwing audit sink does not take the proxy down; close() ends every open connection on record', async () => {
  let calls = 0;
  const h = await startProxy({
    policy,
    resolver,
    audit: () => {
      calls++;
      throw new Error('disk full');
    },
  });
  const r = await run('curl', ['-sS', '-x', h.url, `http://allowed.test:${web.port}/still`]);
  assert.equal(r.stdout, 'hello 127.0.0.2 GET /still');
  await h.waitEnds(1);
  assert.ok(h.proxy.stats().auditErrors >= 1 && calls >= 1);

  const open = await Promise.all([0, 1, 2].map(() => connectTunnel(h.port, `allowed.test:${echoPort}`)));
  for (const t of open) {
    t.socket.on('error', () => {});
    t.socket.resume();
  }
  const before = h.ends().length;
  await h.proxy.close();
  const closing = h.ends().slice(before);
  assert.equal(closing.length, 3);
  assert.ok(closing.every((e) => e.error === 'proxy closing'));
});

test('after all of that the proxy still serves, and the audit lost nothing', async () => {
  const r = await run('curl', ['-sS', '-x', P.url, `http://allowed.test:${web.port}/alive`]);
  assert.equal(r.stdout, 'hello 127.0.0.2 GET /alive');
  const st = P.proxy.stats();
  const ends = await P.waitEnds(st.accepted);
  assert.equal(ends.length, P.proxy.stats().accepted);
  assert.equal(new Set(ends.map((e) => e.id)).size, ends.length);
  assert.equal(P.proxy.stats().active, 0);
});
