import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createTlsServer } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import { staticResolver } from '../../src/egress/resolve.js';
import { createEgressProxy } from '../../src/egress/proxy.js';
import type { EgressAuditRecord } from '../../src/egress/audit.js';
import { tempDir } from '../helpers/tmp.js';
import { compile, connectTunnel, origin, run, selfSignedCert, startProxy, witness, type Witness } from './helpers.js';

/**
 * End-to-end egress through real sockets on loopback. 127.0.0.0/8 stands in for the internet:
 * names map to 127.0.0.x through the policy's `hosts` (or an injected resolver, never the
 * host's DNS), and raw TCP "witness" listeners on the addresses a denial protects prove that
 * nothing arrived there.
 */

const dir = tempDir('warden-egress-');
const tls = await selfSignedCert(dir, ['allowed.test', 'other.test']);

// The "internet".
const web = await origin('127.0.0.2'); // allowed.test
const web4 = await origin('127.0.0.4'); // reachable only as an IP literal the policy names
const deniedW = await witness('127.0.0.3'); // denied.test
const loopW = await witness('127.0.0.1'); // the supervisor's own loopback
let v6W: Witness | undefined;
try {
  v6W = await witness('::1');
} catch {
  v6W = undefined;
}
const tlsConns = { n: 0 };
const httpsServer = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => res.end(`secure hello ${req.url}`));
httpsServer.on('connection', () => tlsConns.n++);
httpsServer.listen(0, '127.0.0.2');
await once(httpsServer, 'listening');
const tlsPort = (httpsServer.address() as AddressInfo).port;
after(() => {
  httpsServer.closeAllConnections();
  httpsServer.close();
});

const resolver = staticResolver({
  'rebind.wild.test': ['127.0.0.1'],
  'mixed.wild.test': ['127.0.0.4', '10.0.0.1'],
  'named.wild.test': ['127.0.0.4'],
  'v6rebind.wild.test': ['::ffff:127.0.0.1'],
  'metadata.google.internal': ['127.0.0.5'],
});

const policy = compile({
  network: {
    allow: ['allowed.test', 'other.test', '*.wild.test', '127.0.0.4', '*.google.internal'],
    deny: ['denied.test'],
    approve: ['approve.test'],
    hosts: { 'allowed.test': '127.0.0.2', 'other.test': '127.0.0.2', 'denied.test': '127.0.0.3', 'approve.test': '127.0.0.2' },
  },
});

const P = await startProxy({ policy, resolver, sniPorts: [443, tlsPort], limits: { headerTimeoutMs: 2000 } });


/** The newest end record matching `pred`, waiting for it (records are emitted when sockets close). */
async function endWhere(pred: (r: EgressAuditRecord) => boolean, from = 0): Promise<EgressAuditRecord> {
  const t0 = Date.now();
  for (;;) {
    const r = P.ends().slice(from).filter(pred).at(-1);
    if (r) return r;
    if (Date.now() - t0 > 5000) throw new Error(`no matching end record; last: ${JSON.stringify(P.ends().at(-1))}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}
const endFor = (host: string): Promise<EgressAuditRecord> => endWhere((x) => x.host === host);

function assertNothingArrived(w: Witness, what: string): void {
  assert.equal(w.connections, 0, `${what}: the protected listener at ${w.host} must see no connection`);
  assert.equal(w.bytes, 0);
}

// ---- allowed paths (a proxy that denies everything must fail these) --------------------------------

test('curl: plain HTTP to an allowed name is forwarded and answered', async () => {
  const r = await run('curl', ['-sS', '-x', P.url, '-d', 'ping', `http://allowed.test:${web.port}/a/b?c=d`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello 127.0.0.2 POST /a/b?c=d body=ping');
  const rec = await endFor('allowed.test');
  assert.equal(rec.decision, 'allow');
  assert.equal(rec.protocol, 'http');
  assert.equal(rec.ip, '127.0.0.2');
  assert.equal(rec.rule, 'network.allow[0]');
  assert.equal(rec.status, 200);
  assert.ok(rec.bytesUp! > 0 && rec.bytesDown! > 0);
});

test('curl: HTTPS through CONNECT to an allowed name, SNI checked and recorded', async () => {
  const r = await run('curl', ['-sS', '-k', '-x', P.url, `https://allowed.test:${tlsPort}/tls`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'secure hello /tls');
  const rec = await endWhere((x) => x.protocol === 'connect' && x.port === tlsPort);
  assert.equal(rec.decision, 'allow');
  assert.equal(rec.sni, 'allowed.test');
  assert.equal(rec.ip, '127.0.0.2');
});

test('curl: SOCKS5 with a remote-resolved name', async () => {
  const r = await run('curl', ['-sS', '--socks5-hostname', `127.0.0.1:${P.port}`, `http://allowed.test:${web.port}/socks`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello 127.0.0.2 GET /socks');
  const rec = await endWhere((x) => x.protocol === 'socks5');
  assert.equal(rec.decision, 'allow');
  assert.equal(rec.host, 'allowed.test');
  assert.ok(rec.bytesDown! > 0);
});

test('curl: HTTPS through SOCKS5 to the SNI-checked port', async () => {
  const r = await run('curl', ['-sS', '-k', '--socks5-hostname', `127.0.0.1:${P.port}`, `https://allowed.test:${tlsPort}/s5tls`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'secure hello /s5tls');
});

test('python3 urllib through the proxy: http and https', async () => {
  const script = [
    'import sys, ssl, urllib.request as u',
    `p = "${P.url}"`,
    'o = u.build_opener(u.ProxyHandler({"http": p, "https": p}), u.HTTPSHandler(context=ssl.create_default_context(cafile=sys.argv[1])))',
    `print(o.open("http://allowed.test:${web.port}/py").read().decode())`,
    `print(o.open("https://allowed.test:${tlsPort}/pys").read().decode())`,
    'try:',
    `    o.open("http://denied.test:${deniedW.port}/")`,
    'except u.HTTPError as e:',
    '    print(e.code, e.headers["X-Warden-Rule"])',
  ].join('\n');
  const r = await run('python3', ['-c', script, tls.certPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `hello 127.0.0.2 GET /py\nsecure hello /pys\n403 network.deny[0]\n`);
  assertNothingArrived(deniedW, 'python denied.test');
});

test('node https client through a CONNECT tunnel (TLS verified against the test CA)', async () => {
  const t = await connectTunnel(P.port, `allowed.test:${tlsPort}`);
  assert.equal(t.status, 200);
  const body = await new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ socket: t.socket, servername: 'allowed.test', ca: tls.cert });
    s.on('error', reject);
    s.on('secureConnect', () => s.write('GET /node HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n'));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
  });
  assert.match(body, /secure hello \/node$/);
});

test('git over dumb HTTP through the proxy: ls-remote and clone', async () => {
  const repo = join(dir, 'repo.git');
  const work = join(dir, 'work');
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  for (const args of [['init', '-q', '-b', 'main', work], ['-C', work, 'commit', '-q', '--allow-empty', '-m', 'hi'], ['clone', '-q', '--bare', work, repo], ['-C', repo, 'update-server-info']]) {
    const r = await run('git', args, { env });
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  }
  const { readFile } = await import('node:fs/promises');
  const files = await origin('127.0.0.2', (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.startsWith('/repo.git/') || path.includes('..')) return void res.writeHead(404).end();
    readFile(join(dir, path)).then(
      (b) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(b),
      () => res.writeHead(404).end(),
    );
  });
  const url = `http://allowed.test:${files.port}/repo.git`;
  const ls = await run('git', ['-c', `http.proxy=${P.url}`, 'ls-remote', url], { env });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^[0-9a-f]{40}\tHEAD$/m);
  const cl = await run('git', ['-c', `http.proxy=${P.url}`, 'clone', '-q', url, join(dir, 'clone')], { env });
  assert.equal(cl.code, 0, cl.stderr);
  const denied = await run('git', ['-c', `http.proxy=${P.url}`, 'ls-remote', `http://denied.test:${deniedW.port}/repo.git`], { env });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /403/);
  assertNothingArrived(deniedW, 'git denied.test');
});

test('an IP literal the policy names is reachable (as an IP), in any spelling', async () => {
  const r = await run('curl', ['-sS', '-x', P.url, `http://127.0.0.4:${web4.port}/ip`]);
  assert.equal(r.stdout, 'hello 127.0.0.4 GET /ip');
  const t = await connectTunnel(P.port, `[::ffff:127.0.0.4]:${web4.port}`);
  assert.equal(t.status, 200, 'IPv4-mapped IPv6 is decided as the IPv4 it is');
  t.socket.destroy();
  const rec = await endFor('127.0.0.4');
  assert.equal(rec.rule, 'network.allow[3]');
});

test('a name resolved by the proxy to an address the policy names is reachable', async () => {
  const r = await run('curl', ['-sS', '-x', P.url, `http://named.wild.test:${web4.port}/n`]);
  assert.equal(r.stdout, 'hello 127.0.0.4 GET /n');
});

// ---- denials ---------------------------------------------------------------------------------------

test('denied name: 403 naming the rule, nothing resolved, nothing arrived', async () => {
  const r = await run('curl', ['-sS', '-i', '-x', P.url, `http://denied.test:${deniedW.port}/x`]);
  assert.match(r.stdout, /^HTTP\/1\.1 403 Forbidden/);
  assert.match(r.stdout, /X-Warden-Rule: network\.deny\[0\]/i);
  assert.match(r.stdout, /denied by rule network\.deny\[0\]/);
  const c = await run('curl', ['-sS', '-k', '-x', P.url, `https://denied.test:${deniedW.port}/`]);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /403/);
  const s = await run('curl', ['-sS', '--socks5-hostname', `127.0.0.1:${P.port}`, `http://denied.test:${deniedW.port}/`]);
  assert.notEqual(s.code, 0);
  assert.match(s.stderr, /not allowed|denied|97/i);
  const nr = await run('curl', ['-sS', '-i', '-x', P.url, `http://nowhere.example:${deniedW.port}/`]);
  assert.match(nr.stdout, /X-Warden-Rule: default\.net/i);
  assert.ok(!resolver.calls.includes('denied.test') && !resolver.calls.includes('nowhere.example'), 'denied names are never resolved');
  assertNothingArrived(deniedW, 'denied.test');
});

test('raw IPs not allowed, in any spelling, including IPv6 and the proxy host itself', async () => {
  for (const host of ['127.0.0.3', '127.0.0.1', '127.1', '2130706433', '0x7f.0.0.1', '0177.0.0.1']) {
    const port = host === '127.0.0.3' ? deniedW.port : loopW.port;
    const r = await run('curl', ['-sS', '-i', '-x', P.url, `http://${host}:${port}/`]);
    assert.match(r.stdout, /^HTTP\/1\.1 403/, host);
    const t = await connectTunnel(P.port, `${host}:${port}`);
    assert.equal(t.status, 403, host);
  }
  const rec = await endWhere((x) => x.protocol === 'connect' && x.port === loopW.port);
  assert.equal(rec.host, '127.0.0.1', 'inet_aton spellings are canonicalised before deciding');
  if (v6W) {
    const t = await connectTunnel(P.port, `[::1]:${v6W.port}`);
    assert.equal(t.status, 403);
    assert.match(t.body, /::1/);
    const r = await run('curl', ['-sS', '-i', '-g', '-x', P.url, `http://[::1]:${v6W.port}/`]);
    assert.match(r.stdout, /^HTTP\/1\.1 403/);
    assertNothingArrived(v6W, '[::1]');
  }
  const pub = await connectTunnel(P.port, '[2001:db8::1]:443');
  assert.equal(pub.status, 403);
  const pr = await endFor('2001:db8::1');
  assert.equal(pr.ip, null, 'denied before any connect');
  assertNothingArrived(loopW, 'loopback');
  assertNothingArrived(deniedW, '127.0.0.3');
});

test('names resolving to loopback/private addresses are denied (DNS rebinding), all answers must pass', async () => {
  for (const [name, why] of [
    ['rebind.wild.test', /127\.0\.0\.1 is a loopback address/],
    ['mixed.wild.test', /10\.0\.0\.1 is a private address/],
    ['v6rebind.wild.test', /127\.0\.0\.1 is a loopback address/],
  ] as const) {
    const t = await connectTunnel(P.port, `${name}:${loopW.port}`);
    assert.equal(t.status, 403, name);
    assert.match(t.body, why);
    assert.match(String(t.headers['x-warden-rule']), /egress\.private-address/);
  }
  assertNothingArrived(loopW, 'rebinding');
  assert.equal(web4.requests.filter((r) => r.url === '/mixed').length, 0);
});

test('cloud metadata: the IP and the name are denied even under a wildcard allow', async () => {
  const r = await run('curl', ['-sS', '-i', '-x', P.url, 'http://169.254.169.254/latest/meta-data/']);
  assert.match(r.stdout, /^HTTP\/1\.1 403/);
  const t = await connectTunnel(P.port, '[fd00:ec2::254]:80');
  assert.equal(t.status, 403);
  const m = await connectTunnel(P.port, 'metadata.google.internal:80');
  assert.equal(m.status, 403);
  assert.equal(m.headers['x-warden-rule'], 'egress.metadata');
  assert.ok(!resolver.calls.includes('metadata.google.internal'), 'the metadata name is never resolved');
});

test('SNI mismatch (domain fronting) is denied before anything reaches the server', async () => {
  const before = tlsConns.n;
  await P.waitEnds(P.proxy.stats().accepted);
  const from = P.ends().length;
  // curl itself: CONNECT allowed.test, but TLS names other.test.
  const r = await run('curl', ['-sS', '-k', '-x', P.url, '--connect-to', `other.test:${tlsPort}:allowed.test:${tlsPort}`, `https://other.test:${tlsPort}/`]);
  assert.notEqual(r.code, 0);
  const rec = await endWhere((x) => x.protocol === 'connect' && x.rule === 'egress.sni-mismatch');
  assert.equal(rec.host, 'allowed.test');
  assert.equal(rec.sni, 'other.test');
  assert.equal(rec.decision, 'deny');
  // node: fronting with an arbitrary name.
  const t = await connectTunnel(P.port, `allowed.test:${tlsPort}`);
  assert.equal(t.status, 200);
  const err = await new Promise<Error>((resolve) => {
    const s = tlsConnect({ socket: t.socket, servername: 'evil.example', rejectUnauthorized: false });
    s.on('error', resolve);
    s.on('secureConnect', () => resolve(new Error('unexpectedly connected')));
  });
  assert.match(err.message, /access denied|socket hang up|ECONNRESET/i);
  // No SNI at all, for a name.
  const t2 = await connectTunnel(P.port, `allowed.test:${tlsPort}`);
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ socket: t2.socket, servername: '', rejectUnauthorized: false });
    s.on('error', () => resolve());
    s.on('secureConnect', () => resolve());
  });
  // Not TLS at all on a TLS port.
  const t3 = await connectTunnel(P.port, `allowed.test:${tlsPort}`);
  t3.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t3.socket.resume();
  await once(t3.socket, 'close');
  await endWhere((x) => x.rule === 'egress.tls-required', from);
  const rules = P.ends().slice(from).map((x) => x.rule);
  assert.deepEqual(rules, ['egress.sni-mismatch', 'egress.sni-mismatch', 'egress.sni-missing', 'egress.tls-required']);
  assert.equal(tlsConns.n, before, 'the TLS server saw no connection for any of these');
});

test('SOCKS5 wire: IPv4/IPv6/domain address types, reply codes, UDP ASSOCIATE refused', async () => {
  const socks = async (req: Buffer): Promise<Buffer> => {
    const s = connect(P.port, '127.0.0.1');
    s.write(Buffer.from([5, 1, 0]));
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    while (buf.length < 2) await once(s, 'data');
    assert.deepEqual([...buf.subarray(0, 2)], [5, 0]);
    s.write(req);
    while (buf.length < 12) await Promise.race([once(s, 'data'), once(s, 'close')]);
    s.destroy();
    return buf.subarray(2);
  };
  const port = (p: number): Buffer => Buffer.from([p >> 8, p & 0xff]);
  // IPv4 127.0.0.4 (named by an allow rule) → success.
  const ok = await socks(Buffer.concat([Buffer.from([5, 1, 0, 1, 127, 0, 0, 4]), port(web4.port)]));
  assert.equal(ok[1], 0x00);
  // IPv4 127.0.0.3 → 0x02 not allowed by ruleset.
  const no = await socks(Buffer.concat([Buffer.from([5, 1, 0, 1, 127, 0, 0, 3]), port(deniedW.port)]));
  assert.equal(no[1], 0x02);
  // IPv6 ::1 → 0x02.
  const v6 = await socks(Buffer.concat([Buffer.from([5, 1, 0, 4]), Buffer.from([...Array(15).fill(0), 1]), port(loopW.port)]));
  assert.equal(v6[1], 0x02);
  // Domain "127.1" is an IP literal, decided as 127.0.0.1 → 0x02.
  const lit = await socks(Buffer.concat([Buffer.from([5, 1, 0, 3, 5]), Buffer.from('127.1'), port(loopW.port)]));
  assert.equal(lit[1], 0x02);
  // Domain denied.test → 0x02.
  const dn = await socks(Buffer.concat([Buffer.from([5, 1, 0, 3, 11]), Buffer.from('denied.test'), port(deniedW.port)]));
  assert.equal(dn[1], 0x02);
  // UDP ASSOCIATE → 0x07 command not supported.
  const udp = await socks(Buffer.concat([Buffer.from([5, 3, 0, 1, 0, 0, 0, 0]), port(0)]));
  assert.equal(udp[1], 0x07);
  assertNothingArrived(deniedW, 'socks denied');
  assertNothingArrived(loopW, 'socks loopback');
});

test('forwarding strips hop-by-hop headers and sets Host from the absolute URI', async () => {
  const seen: Record<string, string | string[] | undefined>[] = [];
  const o = await origin('127.0.0.2', (req, res) => {
    seen.push(req.headers);
    res.setHeader('Connection', 'x-upstream-hop');
    res.setHeader('X-Upstream-Hop', 'leak');
    res.setHeader('Keep-Alive', 'timeout=99');
    res.end('ok');
  });
  const r = await run('curl', ['-sS', '-i', '-x', P.url, '-H', 'Connection: keep-alive, X-Hop', '-H', 'X-Hop: 1', '-H', 'Proxy-Authorization: Basic Zm9vOmJhcg==', '-H', 'TE: trailers', '-H', 'X-End: 2', '-H', 'Host: denied.test', `http://allowed.test:${o.port}/h`]);
  assert.match(r.stdout, /^HTTP\/1\.1 200/);
  assert.doesNotMatch(r.stdout, /x-upstream-hop: leak|keep-alive: timeout=99/i);
  const h = seen[0]!;
  assert.equal(h['x-end'], '2');
  assert.equal(h['x-hop'], undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h['te'], undefined);
  assert.equal(h['host'], `allowed.test:${o.port}`);
});

test('origin-form requests get 400 (a proxy only receives absolute-form)', async () => {
  const r = await run('curl', ['-sS', '-i', `http://127.0.0.1:${P.port}/not-proxied`]);
  assert.match(r.stdout, /^HTTP\/1\.1 400/);
  assert.match(r.stdout, /X-Warden-Rule: egress\.origin-form/i);
});

// ---- approvals -------------------------------------------------------------------------------------

test('approve rule: no approver → deny; approver yes → allow; no answer in time → deny', async () => {
  const none = await startProxy({ policy, resolver });
  const r1 = await run('curl', ['-sS', '-i', '-x', none.url, `http://approve.test:${web.port}/x`]);
  assert.match(r1.stdout, /^HTTP\/1\.1 403/);
  assert.match(r1.stdout, /no approver is reachable/);

  const asked: unknown[] = [];
  const yes = await startProxy({
    policy,
    resolver,
    approve: async (req) => {
      asked.push({ host: req.host, port: req.port, rule: req.rule });
      return 'allow';
    },
  });
  const r2 = await run('curl', ['-sS', '-x', yes.url, `http://approve.test:${web.port}/approved`]);
  assert.equal(r2.stdout, 'hello 127.0.0.2 GET /approved');
  assert.deepEqual(asked, [{ host: 'approve.test', port: web.port, rule: 'network.approve[0]' }]);
  const rec = (await yes.waitEnds(1))[0]!;
  assert.equal(rec.decision, 'allow');
  assert.equal(rec.policyDecision, 'approve');

  // Concurrent identical requests share one question to the human.
  let questions = 0;
  const coalesce = await startProxy({
    policy,
    resolver,
    approve: async () => {
      questions++;
      await new Promise((r) => setTimeout(r, 150));
      return 'allow';
    },
  });
  const both = await Promise.all([1, 2, 3].map((i) => run('curl', ['-sS', '-x', coalesce.url, `http://approve.test:${web.port}/c${i}`])));
  assert.deepEqual(both.map((b) => b.stdout), [1, 2, 3].map((i) => `hello 127.0.0.2 GET /c${i}`));
  assert.equal(questions, 1);

  const no = await startProxy({ policy, resolver, approve: async () => 'deny' });
  const r3 = await run('curl', ['-sS', '-i', '-x', no.url, `http://approve.test:${web.port}/`]);
  assert.match(r3.stdout, /approver denied it/);

  let aborted = false;
  const slow = await startProxy({
    policy,
    resolver,
    approvalTimeoutMs: 200,
    approve: (req) =>
      new Promise((resolve) => {
        req.signal.addEventListener('abort', () => (aborted = true));
        setTimeout(() => resolve('allow'), 5000).unref();
      }),
  });
  const t0 = Date.now();
  const r4 = await run('curl', ['-sS', '-i', '-x', slow.url, `http://approve.test:${web.port}/late`]);
  assert.match(r4.stdout, /^HTTP\/1\.1 403/);
  assert.match(r4.stdout, /no answer within/);
  assert.ok(Date.now() - t0 < 3000);
  assert.ok(aborted, 'the approver is told the question expired');
  assert.equal(web.requests.filter((q) => q.url === '/late').length, 0);
});

// ---- unix socket listener (the relay's side) ----------------------------------------------------------

test('unix socket listener: CONNECT and forward over a unix stream, as the relay delivers them', async () => {
  const records: EgressAuditRecord[] = [];
  const proxy = createEgressProxy({ policy, resolver, audit: (r) => records.push(r) });
  after(() => proxy.close());
  const path = join(dir, 'proxy.sock');
  assert.equal(await proxy.listen({ path }), path);
  const s: Socket = connect(path);
  await once(s, 'connect');
  s.write(`CONNECT allowed.test:${web.port} HTTP/1.1\r\nHost: allowed.test:${web.port}\r\n\r\n`);
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    if (buf.startsWith('HTTP/1.1 200') && !buf.includes('GET')) s.write('GET /unix HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
  });
  await once(s, 'close');
  assert.match(buf, /^HTTP\/1\.1 200 Connection established\r\n\r\nHTTP\/1\.1 200 OK/);
  assert.match(buf, /hello 127\.0\.0\.2 GET \/unix/);
  const r = await new Promise<string>((resolve) => {
    const req = httpRequest({ socketPath: path, path: `http://denied.test:${deniedW.port}/`, headers: { host: 'denied.test' } }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${b}`));
    });
    req.end();
  });
  assert.match(r, /^403 warden: GET http:\/\/denied\.test/);
  assertNothingArrived(deniedW, 'unix denied');
});

// ---- audit completeness across the file --------------------------------------------------------------

test('audit: exactly one end record per accepted connection, decision records precede them', async () => {
  await P.waitEnds(P.proxy.stats().accepted, 5000);
  const st = P.proxy.stats();
  const ends = P.ends();
  assert.equal(st.active, 0);
  assert.equal(ends.length, st.accepted);
  assert.equal(new Set(ends.map((e) => e.id)).size, ends.length, 'ids are unique');
  for (const d of P.records.filter((r) => r.phase === 'decision')) {
    const e = ends.find((x) => x.id === d.id);
    assert.ok(e, `decision ${d.id} has an end`);
    assert.ok(P.records.indexOf(d) < P.records.indexOf(e));
  }
  assert.ok(st.allowed > 5 && st.denied > 10, JSON.stringify(st));
});
