/**
 * Egress through a real `warden run` (the CLI, the helper, the relay, the supervisor's proxy and
 * its audit log): what only the whole path shows. Tunnels handed off to the relay carry bytes in
 * order and are audited with exact counts (or, if the relay dies, with counts marked unknown); SNI
 * mismatches on CONNECT :443 are denied; git over HTTP works when allowed and is blocked when not;
 * IPv6 literals are blocked. Host-side listeners on 127.0.0.x / ::1 prove what arrived.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join, normalize } from 'node:path';
import { after, describe, it } from 'node:test';
import { WARDEN_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { run, selfSignedCert, sleep, witness } from './helpers.js';

const root = tempDir('warden-egress-run-');
const ws = join(root, 'ws');
mkdirSync(ws, { recursive: true });
const isRoot = process.getuid?.() === 0;
const SYSTEM = ['/usr', '/bin', '/lib', '/lib64', '/etc'];

interface ConnectRecord {
  kind: string;
  resource: string;
  decision: string;
  rule: string;
  detail: { bytesUp: number | null; bytesDown: number | null; relayed: boolean; error: string | null; sni?: string | null };
}

let sessions = 0;
/** `warden run --policy` with its own WARDEN_HOME; resolves with the output and the connect records. */
async function wardenRun(network: Record<string, unknown>, script: string, timeoutMs = 30_000) {
  const dir = join(root, `s${++sessions}`);
  mkdirSync(dir);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, JSON.stringify({ version: 1, filesystem: { read: SYSTEM, write: ['${workspace}'] }, network }));
  const home = join(dir, 'warden');
  const r = await run(process.execPath, [WARDEN_BIN, 'run', '--policy', policy, '--', '/bin/sh', '-c', script], {
    cwd: ws,
    timeout: timeoutMs,
    env: { PATH: '/usr/bin:/bin', HOME: ws, WARDEN_HOME: home, LANG: 'C.UTF-8' },
  });
  const auditDir = join(home, 'state', 'audit');
  const lines = existsSync(auditDir)
    ? readdirSync(auditDir).flatMap((d) => readdirSync(join(auditDir, d)).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(auditDir, d, f), 'utf8').trim().split('\n')))
    : [];
  const records = lines.map((l) => JSON.parse(l) as ConnectRecord);
  return { ...r, connects: records.filter((x) => x.kind === 'connect'), kinds: records.map((x) => x.kind) };
}

/** A TCP server on `host` running `onConn` per connection; counts connections. */
async function tcpServer(host: string, onConn: (s: Socket) => void, port = 0): Promise<{ port: number; connections: number; server: Server }> {
  const h = { port: 0, connections: 0, server: createServer({ allowHalfOpen: true }, (s) => {
    h.connections++;
    s.on('error', () => {});
    onConn(s);
  }) };
  h.server.listen(port, host);
  await once(h.server, 'listening');
  h.port = (h.server.address() as AddressInfo).port;
  after(() => h.server.close());
  return h;
}

const BULK = 32 << 20;
const bulk = Buffer.alloc(BULK);
for (let i = 0; i < BULK; i += 4) bulk.writeUInt32LE((i * 2654435761) >>> 0, i);
const bulkSha = createHash('sha256').update(bulk).digest('hex');

/** "GET N\n" → N bytes of `bulk`; "ECHO\n" → echoes until EOF, then "bytes=N" and FIN. */
const bulkServer = await tcpServer('127.0.0.2', (s) => {
  let head = '';
  const onData = (d: Buffer): void => {
    head += d.toString('latin1');
    const nl = head.indexOf('\n');
    if (nl < 0) return;
    s.removeListener('data', onData);
    const [cmd, arg] = head.slice(0, nl).split(' ');
    const rest = Buffer.from(head.slice(nl + 1), 'latin1');
    if (cmd === 'GET') return void s.end(bulk.subarray(0, Number(arg)));
    if (cmd === 'SLOW') {
      const t = setInterval(() => s.write('x'.repeat(1024)), 20);
      s.on('close', () => clearInterval(t));
      return;
    }
    let n = rest.length;
    const echoed: Buffer[] = [rest];
    s.on('data', (x: Buffer) => {
      n += x.length;
      echoed.push(x);
    });
    s.on('end', () => s.end(`${Buffer.concat(echoed).toString('latin1')}|bytes=${n}`));
  };
  s.on('data', onData);
});

// SNI: port 443 needs root to listen on; the unprivileged pass checks the denial and its record only.
// Port 443 is fixed, so the address is this run's own (any 127/8 address is loopback): two runs of
// this file at once (another checkout's suite) must not collide on it.
const front = `127.${100 + (process.pid % 150)}.${1 + Math.floor(Math.random() * 250)}.6`;
const sniNet = { allow: ['front.test:443'], hosts: { 'front.test': front, 'evil.test': front } };
let tls: { connections: number; server: Server } | undefined;
if (isRoot) {
  const cert = await selfSignedCert(root, ['front.test', 'evil.test']);
  const h = { connections: 0, server: createTlsServer({ key: cert.key, cert: cert.cert }, (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nfront-ok\n')) };
  h.server.on('connection', () => h.connections++);
  h.server.listen(443, front);
  await once(h.server, 'listening');
  after(() => h.server.close());
  tls = h;
}

// git over HTTP: a bare repository served by a static file server: git's dumb HTTP protocol.
const repoParent = join(root, 'srv');
mkdirSync(repoParent);
const src = join(root, 'src-repo');
const git = (args: string[], cwd: string) => run('git', args, { cwd, env: { PATH: '/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1' } });
assert.equal((await git(['init', '-q', '-b', 'main', src], root)).code, 0);
writeFileSync(join(src, 'README'), 'served over dumb http\n');
for (const args of [['add', 'README'], ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one'], ['clone', '-q', '--bare', src, join(repoParent, 'repo.git')]])
  assert.equal((await git(args, src)).code, 0);
assert.equal((await git(['update-server-info'], join(repoParent, 'repo.git'))).code, 0);
const requests: string[] = [];
const server = createHttpServer((req, res) => {
  requests.push(req.url ?? '');
  const p = normalize(join(repoParent, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
  if (!p.startsWith(repoParent) || !existsSync(p) || !statSync(p).isFile()) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  createReadStream(p).pipe(res);
});
server.listen(0, '127.0.0.8');
await once(server, 'listening');
after(() => server.close());
const url = `http://git.test:${(server.address() as AddressInfo).port}/repo.git`;

// IPv6: a witness on the host's ::1 (absent on hosts without IPv6).
let v6: Awaited<ReturnType<typeof witness>> | undefined;
try {
  v6 = await witness('::1');
} catch {
  v6 = undefined;
}

/** A CONNECT client (python3, binary-safe): tunnel to bulk.test, send "ARGS\n", copy the reply to stdout. */
const PY_TUNNEL = `python3 -c "
import os, socket, sys
s = socket.create_connection(('127.0.0.1', int(os.environ['HTTP_PROXY'].rsplit(':', 1)[1])), timeout=10)
s.sendall(b'CONNECT bulk.test:${bulkServer.port} HTTP/1.1\\r\\nHost: bulk.test\\r\\n\\r\\n')
head = b''
while b'\\r\\n\\r\\n' not in head: head += s.recv(1)
assert head.startswith(b'HTTP/1.1 200'), head
s.sendall(' '.join(sys.argv[1:]).encode() + b'\\n')
try:
    while True:
        d = s.recv(1 << 20)
        if not d: break
        sys.stdout.buffer.write(d)
except OSError:
    sys.exit(3)
" `;

describe('tunnels handed off to the relay', () => {
  const net = { allow: ['bulk.test'], hosts: { 'bulk.test': '127.0.0.2' } };

  it('a bulk CONNECT download arrives intact and is audited with exact counts, as relayed', async () => {
    const r = await wardenRun(net, `${PY_TUNNEL} GET ${BULK} | sha256sum`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split(' ')[0], bulkSha);
    const rec = r.connects.find((x) => x.resource === `bulk.test:${bulkServer.port}`);
    assert.ok(rec, JSON.stringify(r.connects));
    assert.equal(rec.decision, 'allow');
    assert.equal(rec.detail.relayed, true, 'the tunnel was handed to the relay');
    assert.equal(rec.detail.bytesDown, BULK);
    assert.equal(rec.detail.bytesUp, `GET ${BULK}\n`.length);
    assert.equal(rec.detail.error, null);
  });

  it('bytes a client sends before the 200 reach the server first, in order; half-close is relayed', async () => {
    // One write: CONNECT head + early data; then more data after the 200; then FIN (shutdown).
    const r = await wardenRun(
      net,
      `python3 -c "
import os, socket
p = os.environ['HTTP_PROXY'].rsplit(':', 1)[1]
s = socket.create_connection(('127.0.0.1', int(p)), timeout=10)
s.sendall(b'CONNECT bulk.test:${bulkServer.port} HTTP/1.1\\r\\nHost: bulk.test\\r\\n\\r\\nECHO\\nearly-' + b'e' * 100000)
head = b''
while b'\\r\\n\\r\\n' not in head: head += s.recv(1)
assert head.startswith(b'HTTP/1.1 200'), head
s.sendall(b'-late-' + b'l' * 300000 + b'-end')
s.shutdown(socket.SHUT_WR)
out = b''
while True:
    d = s.recv(65536)
    if not d: break
    out += d
body, n = out.rsplit(b'|bytes=', 1)
ok = body == b'early-' + b'e' * 100000 + b'-late-' + b'l' * 300000 + b'-end'
print('ordered' if ok else 'garbled', int(n))
"`,
    );
    assert.equal(r.code, 0, r.stderr);
    const sent = 'early-'.length + 100000 + '-late-'.length + 300000 + '-end'.length;
    assert.equal(r.stdout.trim(), `ordered ${sent}`);
    const rec = r.connects.find((x) => x.resource === `bulk.test:${bulkServer.port}`);
    assert.ok(rec);
    assert.equal(rec.detail.relayed, true);
    assert.equal(rec.detail.bytesUp, 'ECHO\n'.length + sent);
    assert.equal(rec.detail.bytesDown, sent + `|bytes=${sent}`.length);
  });

  it('a tunnel still open when the command exits gets its end record, before session.end, with the relay\'s own counts', async () => {
    const r = await wardenRun(net, `(${PY_TUNNEL} SLOW > got &); sleep 1; wc -c < got`);
    assert.equal(r.code, 0, r.stderr);
    const got = Number(r.stdout.trim());
    assert.ok(got > 0, 'the tunnel was carrying data when the command exited');
    const rec = r.connects.find((x) => x.resource === `bulk.test:${bulkServer.port}`);
    assert.ok(rec, `no end record for the open tunnel: ${JSON.stringify(r.kinds)}`);
    assert.equal(rec.decision, 'allow');
    assert.ok(r.kinds.indexOf('connect') < r.kinds.indexOf('session.end'), JSON.stringify(r.kinds));
    // The session's end asks the relay for its report (it is not just killed): its counts, and why it
    // stopped. Two honest reasons race: the session's end (relay ECANCELED) and the death of the
    // sandboxed client, whose socket the kernel resets as the pid namespace goes (client ECONNRESET).
    // Either is the relay's own report; the kernel-count fallback would say it did not report.
    assert.match(rec.detail.error ?? '', /^(relay ECANCELED|client (ECONNRESET|EPIPE))$/, String(rec.detail.error));
    assert.equal(rec.detail.bytesUp, 'SLOW\n'.length);
    assert.ok(rec.detail.bytesDown !== null && rec.detail.bytesDown >= got, `${rec.detail.bytesDown} < ${got}`);
  });

  it("a relay killed mid-tunnel still leaves an end record, with the kernel's byte counts (TCP_INFO)", async () => {
    const before = bulkServer.connections;
    const run = wardenRun(net, `${PY_TUNNEL} SLOW | wc -c`);
    let relay: number | undefined;
    for (let i = 0; i < 200 && relay === undefined; i++) {
      await sleep(50);
      if (bulkServer.connections > before) relay = findRelay();
    }
    assert.ok(relay !== undefined, 'found the relay process');
    await sleep(200); // well into the tunnel: bytes are flowing through the relay
    process.kill(relay, 'SIGKILL');
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const got = Number(r.stdout.trim());
    assert.ok(got > 0, r.stdout); // the client got data through the relay, then lost it
    const rec = r.connects.find((x) => x.resource === `bulk.test:${bulkServer.port}`);
    assert.ok(rec, JSON.stringify(r.connects));
    assert.equal(rec.decision, 'allow');
    assert.equal(rec.detail.relayed, true);
    assert.equal(rec.detail.bytesUp, 'SLOW\n'.length); // the server is still sending: no FIN either way
    assert.ok(rec.detail.bytesDown !== null && rec.detail.bytesDown >= got, `${rec.detail.bytesDown} < ${got}`);
    assert.match(rec.detail.error ?? '', /without reporting its byte counts; they are the kernel's/);
  });
});

/**
 * The relay: a warden-helper in our pid namespace (NSpid has one entry; init has two) whose parent
 * is the outer helper of a session started by this test process.
 */
function findRelay(): number | undefined {
  const stat = (pid: string): { comm: string; ppid: number } | undefined => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const end = s.lastIndexOf(')');
      return { comm: s.slice(s.indexOf('(') + 1, end), ppid: Number(s.slice(end + 2).split(' ')[1]) };
    } catch {
      return undefined;
    }
  };
  const descends = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 1 && i < 16; i++) {
      if (p === process.pid) return true;
      p = stat(String(p))?.ppid ?? 0;
    }
    return false;
  };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const st = stat(pid);
    if (st?.comm !== 'warden-helper' || !descends(Number(pid))) continue;
    const parent = stat(String(st.ppid));
    if (parent?.comm !== 'warden-helper') continue;
    let ns: string | undefined;
    try {
      ns = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    } catch {
      continue;
    }
    if (ns !== undefined && ns.trim().split(/\s+/).length === 1) return Number(pid);
  }
  return undefined;
}

describe('SNI on CONNECT :443 inside warden run', () => {
  it('curl --connect-to: CONNECT front.test:443 carrying SNI evil.test is denied with a TLS alert', async () => {
    const r = await wardenRun(sniNet, 'curl -sS -k --max-time 10 --connect-to evil.test:443:front.test:443 https://evil.test/; echo "curl=$?"');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /curl=35\b/); // TLS handshake failed
    assert.match(r.stderr, /alert|access denied/i);
    const rec = r.connects.find((x) => x.resource === 'front.test:443');
    assert.ok(rec, JSON.stringify(r.connects));
    assert.equal(rec.decision, 'deny');
    assert.equal(rec.rule, 'egress.sni-mismatch');
    assert.equal(rec.detail.sni, 'evil.test');
    if (tls) assert.equal(tls.connections, 0, 'the upstream never saw the tunnel');
  });

  it('python ssl with server_hostname different from the CONNECT host is denied', async () => {
    const r = await wardenRun(
      sniNet,
      `python3 -c "
import os, socket, ssl
p = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])
s = socket.create_connection(('127.0.0.1', p), timeout=10)
s.sendall(b'CONNECT front.test:443 HTTP/1.1\\r\\nHost: front.test:443\\r\\n\\r\\n')
head = b''
while b'\\r\\n\\r\\n' not in head: head += s.recv(1)
print(head.split(b'\\r\\n')[0].decode())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
try:
    ctx.wrap_socket(s, server_hostname='evil.test'); print('handshake ok')
except ssl.SSLError as e:
    print('ssl error', e.reason)
"`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200/m);
    assert.match(r.stdout, /^ssl error TLSV1_ALERT_ACCESS_DENIED$/m);
    assert.ok(r.connects.some((x) => x.rule === 'egress.sni-mismatch' && x.detail.sni === 'evil.test'));
    if (tls) assert.equal(tls.connections, 0);
  });

  it('control: the matching SNI gets through (and the tunnel is handed to the relay)', { skip: isRoot ? false : 'listening on port 443 needs root' }, async () => {
    const r = await wardenRun(sniNet, 'curl -sS -k --max-time 10 https://front.test/');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'front-ok\n');
    const rec = r.connects.find((x) => x.resource === 'front.test:443');
    assert.equal(rec?.decision, 'allow');
    assert.equal(rec?.detail.relayed, true);
    assert.ok((rec?.detail.bytesDown ?? 0) > 0);
    assert.equal(tls!.connections, 1);
  });
});

describe('git over HTTP inside warden run', () => {
  it('git ls-remote and git clone work when git.test is allowed', async () => {
    const r = await wardenRun({ allow: ['git.test'], hosts: { 'git.test': '127.0.0.8' } }, `git ls-remote ${url} && git clone -q ${url} cloned && cat cloned/README`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{40}\s+refs\/heads\/main$/m);
    assert.equal(readFileSync(join(ws, 'cloned', 'README'), 'utf8'), 'served over dumb http\n');
    assert.ok(requests.some((u) => u.startsWith('/repo.git/info/refs')));
    assert.ok(r.connects.some((x) => x.resource.startsWith('git.test:') && x.decision === 'allow'));
  });

  it('git ls-remote and git clone fail with a 403 and the server receives nothing when it is not', async () => {
    const before = requests.length;
    const r = await wardenRun({ allow: [], hosts: { 'git.test': '127.0.0.8' } }, `git ls-remote ${url}; echo "ls=$?"; git clone -q ${url} denied; echo "clone=$?"`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ls=128$/m);
    assert.match(r.stdout, /^clone=128$/m);
    assert.match(r.stderr, /403/);
    assert.ok(!existsSync(join(ws, 'denied', 'README')));
    assert.equal(requests.length, before);
    assert.ok(r.connects.length > 0 && r.connects.every((x) => x.decision === 'deny'), JSON.stringify(r.connects));
  });
});

describe('IPv6 literals inside warden run', () => {
  it('[::1] through the proxy (HTTP, CONNECT, SOCKS5) and direct (curl -6, node) is blocked; the ::1 listener receives nothing', { skip: v6 ? false : 'the host has no ::1' }, async () => {
    const p = v6!.port;
    const r = await wardenRun(
      { allow: ['allowed.test'], hosts: { 'allowed.test': '127.0.0.2' } },
      // NO_PROXY lists ::1 (the sandbox's own loopback); --noproxy '' makes curl use the proxy anyway.
      `curl -sS -g --noproxy '' --max-time 10 -o /dev/null -w 'http=%{http_code}\\n' 'http://[::1]:${p}/'; ` +
        `curl -sS -g --noproxy '' -p --max-time 10 'http://[::1]:${p}/' -o /dev/null; echo "connect=$?"; ` +
        `curl -sS -g --noproxy '' --max-time 10 --proxy socks5h://127.0.0.1:3128 'http://[::1]:${p}/' -o /dev/null; echo "socks=$?"; ` +
        `curl -sS -g -6 --noproxy '*' --max-time 10 'http://[::1]:${p}/' -o /dev/null; echo "direct6=$?"; ` +
        `curl -sS -g --noproxy '' --max-time 10 'http://[::ffff:127.0.0.1]:${p}/' -o /dev/null -w 'mapped=%{http_code}\\n'; ` +
        `node -e "require('net').connect(${p}, '::1').on('connect', () => console.log('node=connected')).on('error', (e) => console.log('node=' + e.code))"`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^http=403$/m);
    assert.match(r.stdout, /^connect=56$/m); // CONNECT answered 403
    assert.match(r.stdout, /^socks=97$/m); // SOCKS5 "connection not allowed"
    assert.match(r.stdout, /^direct6=7$/m);
    assert.match(r.stdout, /^mapped=403$/m); // decided as the IPv4 loopback it embeds
    assert.match(r.stdout, /^node=(ECONNREFUSED|EACCES|ENETUNREACH|EPERM|EADDRNOTAVAIL)$/m);
    const denied = r.connects.filter((x) => x.resource.startsWith('::1:') || x.resource.startsWith(`[::1]`));
    assert.ok(denied.length >= 3 && denied.every((x) => x.decision === 'deny'), JSON.stringify(r.connects));
    await sleep(100);
    assert.equal(v6!.connections, 0);
  });
});
