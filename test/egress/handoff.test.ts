/**
 * The supervisor's side of the tunnel hand-off (handoff.ts), driven by a stand-in relay written in
 * python (node cannot receive a fd): the upstream fd really crosses a unix socket, and the checks
 * are on what the upstream server received and on the audit record. The real relay is exercised
 * in sandbox-run.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { EgressAuditRecord } from '../../src/egress/audit.js';
import { createEgressProxy } from '../../src/egress/proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { compile, run } from './helpers.js';

/** Echo-once upstream: reads to EOF, answers "got:<everything>" and closes. Records what it got. */
const received: string[] = [];
const upstream = createServer({ allowHalfOpen: true }, (s: Socket) => {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('end', () => {
    const got = Buffer.concat(chunks).toString('latin1');
    received.push(got);
    s.end(`got:${got}`);
  });
  s.on('error', () => {});
});
upstream.listen(0, '127.0.0.2');
await once(upstream, 'listening');
const upPort = (upstream.address() as AddressInfo).port;
after(() => upstream.close());

const dir = tempDir('warden-handoff-');
const records: EgressAuditRecord[] = [];
const proxy = createEgressProxy({ policy: compile({ network: { allow: ['up.test'], hosts: { 'up.test': '127.0.0.2' } } }), audit: (r) => records.push(r) });
const sock = join(dir, 'proxy.sock');
await proxy.listen({ path: sock, relay: true });
after(() => proxy.close());

// mode: normal | forge (client data carries a SWITCH with the wrong token) | badreport | decline
const RELAY = `
import array, socket, struct, sys
path, mode, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.connect(path)
early = b'early WRS1' + b'\\0' * 16 + b' fake-marker' if mode == 'forge' else b''
u.sendall(b'CONNECT up.test:%d HTTP/1.1\\r\\nHost: up.test\\r\\n\\r\\n' % port + early)
def fds_of(anc):
    out = []
    for lvl, typ, data in anc:
        if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            out += array.array('i', data[: len(data) - len(data) % 4]).tolist()
    return out
if mode == 'decline':
    # As the relay does when the client already half-closed: a HANDOFF (if one comes) is dropped,
    # record and fd, and the supervisor's bytes keep coming on this connection.
    u.shutdown(socket.SHUT_WR)
    buf = b''
    while True:
        msg, anc, _, _ = u.recvmsg(65536, socket.CMSG_SPACE(16))
        got = fds_of(anc)
        for fd in got:
            socket.socket(fileno=fd).close()
        if got:
            while msg[-20:-16] != b'WRH1':  # the record came apart: complete it, and no further
                msg += u.recv(1)
            msg = msg[:-20]
        if not msg and not got: break
        buf += msg
    print(buf.split(b'\\r\\n\\r\\n', 1)[1].decode())
    sys.exit(0)
buf, fds = b'', []
while not fds:
    msg, anc, _, _ = u.recvmsg(4096, socket.CMSG_SPACE(16))
    fds += fds_of(anc)
    buf += msg
    if not msg:
        break
u.setblocking(False)
try:
    buf += u.recv(64)  # the rest of the HANDOFF record, if it came apart
except BlockingIOError:
    pass
u.setblocking(True)
assert buf[-20:-16] == b'WRH1', buf
token = buf[-16:]
assert buf[:-20].startswith(b'HTTP/1.1 200'), buf
u.sendall(b'WRS1' + token)
go = b''
while len(go) < 4: go += u.recv(4 - len(go))
assert go == b'WRG1', go
up = socket.socket(fileno=fds[0])
up.setblocking(True)  # node's socket is non-blocking; the flag travels with the fd
up.sendall(b'late')
up.shutdown(socket.SHUT_WR)
data = b''
while True:
    d = up.recv(65536)
    if not d: break
    data += d
print(data.decode('latin1'))
if mode == 'badreport':
    u.sendall(b'WRRX' + struct.pack('>QQI', 4, len(data), 0))
else:
    u.sendall(b'WRR1' + struct.pack('>QQI', 4, len(data), 0))
u.close()
`;

async function relay(mode: string): Promise<{ out: string; rec: EgressAuditRecord }> {
  const before = records.length;
  const r = await run('python3', ['-c', RELAY, sock, mode, String(upPort)]);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 100 && !records.slice(before).some((x) => x.phase === 'end'); i++) await new Promise((res) => setTimeout(res, 20));
  const rec = records.slice(before).find((x) => x.phase === 'end');
  assert.ok(rec, 'an end record');
  return { out: r.stdout.trim(), rec };
}

describe('tunnel hand-off, supervisor side', () => {
  it('hands the checked upstream over; the relay moves the bytes; the record adds up both parts', async () => {
    const handed = proxy.stats().handedOff;
    const { out, rec } = await relay('normal');
    assert.equal(out, 'got:late');
    assert.equal(received.at(-1), 'late');
    assert.equal(proxy.stats().handedOff, handed + 1);
    assert.equal(rec.relayed, true);
    assert.equal(rec.bytesUp, 4);
    assert.equal(rec.bytesDown, 'got:late'.length);
    assert.equal(rec.error, null);
  });

  it('client bytes that look like SWITCH (wrong token) are data: they reach the upstream first, in order', async () => {
    const { out, rec } = await relay('forge');
    const early = `early WRS1${'\0'.repeat(16)} fake-marker`;
    assert.equal(received.at(-1), `${early}late`);
    assert.equal(out, `got:${early}late`);
    assert.equal(rec.bytesUp, early.length + 4); // the supervisor's part + the relay's
  });

  it("a malformed REPORT: the record is still written, with the kernel's counts of the upstream (TCP_INFO)", async () => {
    const { rec } = await relay('badreport');
    assert.equal(rec.decision, 'allow');
    assert.equal(rec.relayed, true);
    // Acknowledged by / received from the server: what the stand-in sent and got (+1 for a FIN
    // that TCP_INFO counts once both sides closed).
    assert.ok(rec.bytesUp === 4 || rec.bytesUp === 5, String(rec.bytesUp));
    assert.ok(rec.bytesDown === 'got:late'.length || rec.bytesDown === 'got:late'.length + 1, String(rec.bytesDown));
    assert.match(rec.error ?? '', /relay protocol error/);
  });

  it('a client that already half-closed keeps its tunnel in the supervisor', async () => {
    const { out, rec } = await relay('decline');
    assert.equal(out, 'got:');
    assert.equal(received.at(-1), '');
    assert.equal(rec.relayed, false);
    assert.equal(rec.bytesUp, 0);
    assert.equal(rec.bytesDown, 'got:'.length);
  });
});
