/**
 * The plan wire format: encoder -> independent TS decoder round trip; encoder -> the helper's own
 * parser (--dump-plan); and malformed plans -> exit 126 with one line, in both the dump and the
 * real run mode (plan on fd 3).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { helperPath } from '../../src/sandbox/helper-path.js';
import { encodePlan, LAYER_BIT, MOUNT_OP, RLIMIT_NR } from '../../src/sandbox/plan-encode.js';
import { buildPlan, type Plan } from '../../src/sandbox/plan.js';
import { probeReport, type HelperProbe } from '../../src/sandbox/probe.js';
import { decodePlan } from './plan-decode.js';
import { fakeHelperProbe } from './fake-probe.js';

const rawProbe: HelperProbe = fakeHelperProbe({
  cgroup: { layout: 'v1', v2: null, v1: { memory: { dir: '/sys/fs/cgroup/memory', writable: true, memsw: true }, pids: { dir: '/sys/fs/cgroup/pids', writable: true } } },
});

function samplePlan(): Plan {
  const probe = probeReport(rawProbe, { helperPath: '/x', env: { HOME: '/home/u', WARDEN_LANDLOCK_ABI_MAX: '5' }, supervisorPid: 77 });
  return buildPlan(
    {
      workspace: '/home/u/p',
      readPaths: ['/usr', '/etc/ünïcode'],
      writePaths: [],
      denyPaths: ['/home/u/p/.env'],
      symlinks: [{ path: '/bin', target: 'usr/bin' }],
      env: { PATH: '/usr/bin', MULTI: 'line1\nline2', EMPTY: '' },
      limits: { memoryBytes: 1 << 30, pids: 100, nofile: 256 },
      tcpConnectPorts: [8443],
      allowDegraded: ['pidmax', 'cgroup'],
      argv: ['sh', '-c', 'echo "a b"', ''],
    },
    probe,
  );
}

describe('plan encoding', () => {
  it('round-trips through an independent decoder', () => {
    const plan = samplePlan();
    const d = decodePlan(encodePlan(plan));
    assert.deepEqual(d.config, {
      flags: 1,
      supervisorPid: 77,
      statusFd: 4,
      llMinAbi: 6,
      llAbiMax: 5,
      pidMax: 301,
      degradable: LAYER_BIT.pidmax | LAYER_BIT.cgroup,
      llScopes: 3,
      llRestrictFlags: 0,
    });
    assert.equal(d.hostname, 'warden');
    assert.equal(d.mounts.length, plan.mounts.length);
    plan.mounts.forEach((m, i) => {
      assert.equal(d.mounts[i]!.op, MOUNT_OP[m.op]);
      assert.equal(d.mounts[i]!.dst, m.dst);
    });
    assert.deepEqual(d.llPaths.map((r) => [Number(r.access), r.path]), plan.landlock.fs.map((r) => [r.access, r.path]));
    assert.deepEqual(d.llNet, [{ access: 2n, port: 8443n }]);
    assert.deepEqual(d.rlimits.map((r) => [r.resource, r.soft, r.hard]), plan.rlimits.map((r) => [RLIMIT_NR[r.resource], BigInt(r.soft), BigInt(r.hard)]));
    assert.deepEqual(d.env, plan.env);
    assert.deepEqual(d.argv, ['sh', '-c', 'echo "a b"', '']);
    assert.equal(d.cwd, '/home/u/p');
    assert.deepEqual(d.seccomp, plan.seccomp!.bytes);
    assert.deepEqual(d.cgroups.map((c) => c.parent), ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids']);
  });

  it("matches what the helper's own parser decodes (--dump-plan)", () => {
    const plan = samplePlan();
    const r = spawnSync(helperPath(), ['--dump-plan'], { input: Buffer.from(encodePlan(plan)), encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'config flags=1 supervisor_pid=77 status_fd=4 ll_min_abi=6 ll_abi_max=5 pid_max=301 degradable=12 ll_scopes=3 ll_restrict_flags=0');
    assert.ok(lines.includes('mount tmpfs flags=0 mode=1777 size=536870912 src= dst=/tmp'));
    assert.ok(lines.includes('mount bind flags=1 mode=0 size=0 src=/etc/ünïcode dst=/etc/ünïcode'));
    assert.ok(lines.includes('mount mask flags=0 mode=0 size=0 src= dst=/home/u/p/.env'));
    assert.ok(lines.includes('mount symlink flags=0 mode=0 size=0 src=usr/bin dst=/bin'));
    assert.ok(lines.includes('landlock-net access=2 port=8443'));
    assert.ok(lines.includes('rlimit resource=7 soft=256 hard=256'));
    assert.ok(lines.includes('cgroup-write target=0 optional=1 key=memory.memsw.limit_in_bytes value=1073741824'));
    assert.ok(lines.includes(`seccomp insns=${plan.seccomp!.insns}`));
    assert.ok(lines.includes('env MULTI=line1\\nline2'));
    assert.ok(lines.includes('env EMPTY='));
    assert.deepEqual(lines.filter((l) => l.startsWith('argv ')), ['argv sh', 'argv -c', 'argv echo "a b"', 'argv ']);
    assert.equal(lines.at(-1), 'cwd /home/u/p');
    assert.ok(!lines.some((l) => l.startsWith('relay ')));
  });

  it('encodes the egress relay record, its Landlock ports, resolv.conf bind and proxy env', () => {
    const base = samplePlan();
    const probe = probeReport(rawProbe, { helperPath: '/x', env: { HOME: '/home/u', WARDEN_LANDLOCK_ABI_MAX: '5' }, supervisorPid: 77 });
    const plan = buildPlan(
      {
        workspace: '/home/u/p', readPaths: ['/usr', '/etc'], writePaths: [], denyPaths: [], env: { PATH: '/usr/bin', HTTP_PROXY: 'http://evil:1' },
        limits: {}, tcpConnectPorts: [], allowDegraded: [], argv: ['true'],
        egress: { proxySocket: '/run/w/s/proxy.sock', dnsSocket: '/run/w/s/dns.sock', resolvConf: '/run/w/s/resolv.conf' },
      },
      probe,
    );
    assert.ok(base.relay === null);
    assert.deepEqual(plan.relay, { tcpPort: 3128, dnsPort: 53, dnsTcp: true, proxySocket: '/run/w/s/proxy.sock', dnsSocket: '/run/w/s/dns.sock' });
    assert.deepEqual(plan.landlock.net, [{ port: 53, access: 2 }, { port: 3128, access: 2 }]);
    assert.deepEqual(plan.mounts.at(-1), { op: 'bind', src: '/run/w/s/resolv.conf', dst: '/etc/resolv.conf', readOnly: true, noexec: true });
    for (const k of ['HTTP_PROXY', 'https_proxy']) assert.ok(plan.env.includes(`${k}=http://127.0.0.1:3128`), k);
    assert.ok(plan.env.includes('ALL_PROXY=socks5h://127.0.0.1:3128'));
    assert.ok(!plan.env.includes('HTTP_PROXY=http://evil:1'));
    const d = decodePlan(encodePlan(plan));
    assert.deepEqual(d.relay, { tcpPort: 3128, dnsPort: 53, flags: 1, proxy: '/run/w/s/proxy.sock', dns: '/run/w/s/dns.sock' });
    const r = spawnSync(helperPath(), ['--dump-plan'], { input: Buffer.from(encodePlan(plan)), encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('relay tcp_port=3128 dns_port=53 flags=1 proxy=/run/w/s/proxy.sock dns=/run/w/s/dns.sock\n'));
    assert.throws(() => buildPlan({ workspace: '/home/u/p', readPaths: [], writePaths: [], denyPaths: [], env: {}, limits: {}, tcpConnectPorts: [], allowDegraded: [], argv: ['true'], egress: { proxySocket: '/' + 'x'.repeat(120), dnsSocket: '/d', resolvConf: '/r' } }, probe), /longer than 107/);
  });

  it('encodes ask zones: masked like deny paths, opens trapped, one ASK record each — only with mediation', () => {
    const probe = probeReport(rawProbe, { helperPath: '/x', env: { HOME: '/home/u' }, supervisorPid: 77 });
    const spec = {
      workspace: '/home/u/p', readPaths: ['/usr', '/home/u/.gh'], writePaths: [], denyPaths: [], env: { PATH: '/usr/bin' },
      limits: {}, tcpConnectPorts: [], allowDegraded: [], argv: ['true'], askPaths: ['/home/u/.gh/hosts.yml', '/home/u/p/.env', '/home/u/.aws'],
    };
    const plan = buildPlan({ ...spec, mediateExec: true }, probe);
    assert.deepEqual(plan.ask, ['/home/u/.gh/hosts.yml', '/home/u/p/.env', '/home/u/.aws']);
    assert.ok(plan.seccomp!.description.some((l) => /^open\(2\), creat\(85\), openat\(257\), openat2\(437\) -> USER_NOTIF/.test(l)), plan.seccomp!.description.join('\n'));
    const masks = plan.mounts.filter((m) => m.op === 'mask').map((m) => m.dst);
    assert.deepEqual(masks.sort(), ['/home/u/.gh/hosts.yml', '/home/u/p/.env'], 'zones inside grants are masked (~/.aws is not granted: absent)');
    assert.deepEqual(decodePlan(encodePlan(plan)).ask, plan.ask);
    const r = spawnSync(helperPath(), ['--dump-plan'], { input: Buffer.from(encodePlan(plan)), encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('ask ')), ['ask /home/u/.gh/hosts.yml', 'ask /home/u/p/.env', 'ask /home/u/.aws']);
    // Without mediation the zones are denied, and the plan says so.
    const off = buildPlan(spec, probe);
    assert.deepEqual(off.ask, []);
    assert.ok(!off.seccomp!.description.some((l) => /openat2 -> USER_NOTIF/.test(l)));
    assert.deepEqual(off.mounts.filter((m) => m.op === 'mask').map((m) => m.dst).sort(), masks.sort());
    assert.ok(off.notes.some((n) => /filesystem\.ask without live mediation/.test(n)));
    // The private /tmp names the agent's own file, not the host's: refused unless a grant binds it.
    assert.throws(() => buildPlan({ ...spec, askPaths: ['/tmp/secret'], mediateExec: true }, probe), /private to the sandbox/);
    assert.doesNotThrow(() => buildPlan({ ...spec, readPaths: ['/usr', '/tmp/shared'], askPaths: ['/tmp/shared/secret'], mediateExec: true }, probe));
  });
});

/** Helpers to build raw plans byte by byte. */
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const str = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([u32(b.length), b]);
};
const rec = (type: number, body: Buffer): Buffer => Buffer.concat([u32(type), u32(body.length), body]);
const config = (over: Partial<Record<'flags' | 'statusFd' | 'pidMax' | 'minAbi' | 'degradable', number>> = {}): Buffer =>
  rec(1, Buffer.concat([u32(over.flags ?? 0), u32(0), u32(over.statusFd ?? 0), u32(over.minAbi ?? 0), u32(0), u32(over.pidMax ?? 0), u32(over.degradable ?? 0), u32(0), u32(0), u32(0)]));
const argv = rec(7, Buffer.from('/bin/true'));
const cwd = rec(8, Buffer.from('/'));
function plan(records: Buffer[], o: { magic?: number; version?: number; total?: number; count?: number } = {}): Buffer {
  const body = Buffer.concat(records);
  return Buffer.concat([u32(o.magic ?? 0x4e4c5057), u32(o.version ?? 1), u32(o.total ?? 16 + body.length), u32(o.count ?? records.length), body]);
}
const mount = (op: number, flags: number, src: string, dst: string | Buffer): Buffer =>
  rec(2, Buffer.concat([u32(op), u32(flags), u32(0), u32(0), Buffer.alloc(8), str(src), str(dst)]));

const MALFORMED: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['short header', Buffer.from([0x57, 0x50])],
  ['bad magic', plan([config(), argv, cwd], { magic: 0x12345678 })],
  ['future version', plan([config(), argv, cwd], { version: 2 })],
  ['length field too large', plan([config(), argv, cwd], { total: 4096 })],
  ['length field too small', plan([config(), argv, cwd], { total: 20 })],
  ['record count beyond data', plan([config(), argv, cwd], { count: 9 })],
  ['record length beyond the plan', Buffer.concat([plan([config(), argv, cwd]).subarray(0, -4)])],
  ['unknown record type', plan([config(), rec(99, Buffer.alloc(0)), argv, cwd])],
  ['config not first', plan([argv, config(), cwd])],
  ['duplicate config', plan([config(), config(), argv, cwd])],
  ['no argv', plan([config(), cwd])],
  ['no cwd', plan([config(), argv])],
  ['NUL in a string', plan([config(), rec(7, Buffer.from('/bin/tr\0ue')), cwd])],
  ['relative cwd', plan([config(), argv, rec(8, Buffer.from('tmp'))])],
  ['non-canonical mount path', plan([config(), mount(1, 1, '/usr', '/usr/../etc'), argv, cwd])],
  ['newline in a path', plan([config(), mount(1, 1, '/usr', '/us\nr'), argv, cwd])],
  ['unknown mount op', plan([config(), mount(42, 0, '', '/x'), argv, cwd])],
  ['unknown mount flag', plan([config(), mount(1, 0x80, '/usr', '/usr'), argv, cwd])],
  ['mount on /', plan([config(), mount(2, 0, '', '/'), argv, cwd])],
  ['trailing bytes in a record', plan([config(), rec(4, Buffer.alloc(20)), argv, cwd])],
  ['string longer than its record', plan([config(), rec(3, Buffer.concat([Buffer.alloc(8), u32(1000), Buffer.from('/x')])), argv, cwd])],
  ['seccomp length not a multiple of 8', plan([config(), rec(9, Buffer.alloc(12)), argv, cwd])],
  ['unknown config flag', plan([config({ flags: 0x100 }), argv, cwd])],
  ['status fd 3 (the plan fd)', plan([config({ statusFd: 3 }), argv, cwd])],
  ['pid_max below the kernel minimum', plan([config({ pidMax: 5 }), argv, cwd])],
  ['unknown degradable layer', plan([config({ degradable: 0x40 }), argv, cwd])],
  ['cgroup dir outside /sys/fs/cgroup', plan([config(), rec(10, Buffer.from('/etc')), argv, cwd])],
  ['cgroup file name with a slash', plan([config(), rec(10, Buffer.from('/sys/fs/cgroup/pids')), rec(11, Buffer.concat([u32(0), u32(0), str('../x'), str('1')])), argv, cwd])],
  ['relay with equal ports', plan([config(), rec(14, Buffer.concat([u32(53), u32(53), u32(0), u32(0), str('/p'), str('/d')])), argv, cwd])],
  ['relay with unknown flags', plan([config(), rec(14, Buffer.concat([u32(3128), u32(53), u32(2), u32(0), str('/p'), str('/d')])), argv, cwd])],
  ['relay socket path too long', plan([config(), rec(14, Buffer.concat([u32(3128), u32(53), u32(0), u32(0), str('/' + 'p'.repeat(110)), str('/d')])), argv, cwd])],
  ['relay socket path relative', plan([config(), rec(14, Buffer.concat([u32(3128), u32(53), u32(0), u32(0), str('p'), str('/d')])), argv, cwd])],
  ['duplicate relay', plan([config(), rec(14, Buffer.concat([u32(3128), u32(53), u32(0), u32(0), str('/p'), str('/d')])), rec(14, Buffer.concat([u32(3128), u32(53), u32(0), u32(0), str('/p'), str('/d')])), argv, cwd])],
  ['ask zone without mediation', plan([config(), rec(15, Buffer.from('/home/u/.ssh')), argv, cwd])],
  ['ask zone /', plan([config({ flags: 4 }), rec(15, Buffer.from('/')), argv, cwd])],
  ['ask zone not canonical', plan([config({ flags: 4 }), rec(15, Buffer.from('/home/u/../.ssh')), argv, cwd])],
  ['bytes after the last record', Buffer.concat([plan([config(), argv, cwd], { total: 16 + config().length + argv.length + cwd.length + 3 }), Buffer.alloc(3)])],
];

describe('malformed plans are refused with exit 126 and one line', () => {
  for (const [name, bytes] of MALFORMED) {
    it(name, () => {
      const r = spawnSync(helperPath(), ['--dump-plan'], { input: bytes, encoding: 'utf8', env: {} });
      assert.equal(r.status, 126, `stdout: ${r.stdout}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^warden: layer plan: (malformed plan|cannot read plan): .+ \(fix: .+\)$/);
    });
  }

  it('in run mode (plan on fd 3) too, before anything is set up', async () => {
    const bytes = MALFORMED.find(([n]) => n === 'NUL in a string')![1];
    const child = spawn(helperPath(), [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {} });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.resume();
    (child.stdio[3] as NodeJS.WritableStream).end(bytes);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 126);
    assert.match(err, /^warden: layer plan: malformed plan: record 1 \(type 7\): string contains NUL/);
  });

  it('a plan naming another process as its supervisor is refused', async () => {
    const p = samplePlan();
    const bytes = encodePlan({ ...p, supervisorPid: 1, statusFd: 0 });
    const child = spawn(helperPath(), [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {} });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    (child.stdio[3] as NodeJS.WritableStream).end(Buffer.from(bytes));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 126);
    assert.match(err, /layer supervisor: parent is not the supervisor/);
  });
});
