/** Pure tests of the plan builder and the probe interpretation: no kernel involved. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.js';
import { buildPlan, describePlan, isWithin, LL, LL_ALL, LL_READ, type MountOp, type Plan } from '../../src/sandbox/plan.js';
import { cgroupCapability, probeReport, type HelperProbe, type ProbeReport } from '../../src/sandbox/probe.js';
import type { SandboxSpec } from '../../src/sandbox/spec.js';
import { fakeHelperProbe } from './fake-probe.js';

const raw = fakeHelperProbe;

function probe(over: Partial<HelperProbe> = {}, env: NodeJS.ProcessEnv = { HOME: '/home/u' }): ProbeReport {
  return probeReport(raw(over), { helperPath: '/x/warden-helper', env, supervisorPid: 4242 });
}

function spec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    workspace: '/home/u/proj',
    readPaths: ['/usr', '/etc', '/usr/bin'],
    writePaths: ['/home/u/.cache'],
    denyPaths: ['/home/u/proj/.env', '/home/u/.ssh'],
    symlinks: [{ path: '/bin', target: 'usr/bin' }],
    env: { PATH: '/usr/bin:/bin', HOME: '/home/u' },
    limits: {},
    tcpConnectPorts: [],
    allowDegraded: [],
    argv: ['true'],
    ...over,
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isWardenError(e)) return e.code;
    throw e;
  }
  return 'none';
}

const dsts = (p: Plan, op: MountOp['op']): string[] => p.mounts.filter((m) => m.op === op).map((m) => m.dst);

describe('buildPlan: mounts', () => {
  it('starts from synthesized /tmp, /proc, /dev, then grants by depth, then symlinks and masks', () => {
    const p = buildPlan(spec(), probe());
    const order = p.mounts.map((m) => `${m.op}:${m.dst}`);
    assert.equal(order[0], 'tmpfs:/tmp');
    assert.ok(order.indexOf('proc:/proc') < order.indexOf('bind:/proc/sys'));
    assert.ok(order.indexOf('tmpfs:/dev') < order.indexOf('bind:/dev/null') && order.indexOf('bind:/dev/null') < order.indexOf('ro:/dev'));
    assert.deepEqual(dsts(p, 'bind').filter((d) => !d.startsWith('/proc') && !d.startsWith('/dev')), ['/etc', '/usr', '/home/u/.cache', '/home/u/proj']);
    assert.ok(order.indexOf('symlink:/bin') > order.indexOf('bind:/home/u/proj'));
    assert.deepEqual(dsts(p, 'mask'), ['/home/u/proj/.env'], '.ssh is not under any grant: invisible anyway, no mask needed');
    const procSys = p.mounts.find((m) => m.dst === '/proc/sys');
    assert.deepEqual(procSys, { op: 'bind', src: '/proc/sys', dst: '/proc/sys', readOnly: true, srcInNewRoot: true });
  });

  it('drops redundant nested grants of the same mode but keeps read-only islands in writable trees', () => {
    const p = buildPlan(spec({ readPaths: ['/usr', '/usr/bin', '/home/u/proj/vendor'], writePaths: [] }), probe());
    const binds = p.mounts.filter((m): m is Extract<MountOp, { op: 'bind' }> => m.op === 'bind' && !m.dst.startsWith('/proc') && !m.dst.startsWith('/dev'));
    assert.deepEqual(binds.map((b) => [b.dst, b.readOnly]), [['/usr', true], ['/home/u/proj', false], ['/home/u/proj/vendor', true]]);
  });

  it('deny overrides: grants under a denied path are dropped, with a note', () => {
    const p = buildPlan(spec({ readPaths: ['/usr', '/home/u/.ssh/config'] }), probe());
    assert.ok(!dsts(p, 'bind').includes('/home/u/.ssh/config'));
    assert.ok(p.notes.some((n) => n.includes('deny overrides grant of /home/u/.ssh/config')));
  });

  it('symlinks inside a granted directory are left to the bind', () => {
    const p = buildPlan(spec({ symlinks: [{ path: '/usr/lib64', target: 'lib' }, { path: '/lib', target: 'usr/lib' }] }), probe());
    assert.deepEqual(dsts(p, 'symlink').filter((d) => !d.startsWith('/dev')), ['/lib']);
  });

  it('uses the legacy mount path when mount_setattr is missing or when asked', () => {
    assert.equal(buildPlan(spec(), probe()).flags.legacyMount, false);
    assert.equal(buildPlan(spec(), probe({ mountSetattr: false })).flags.legacyMount, true);
    assert.equal(buildPlan(spec({ legacyMount: true }), probe()).flags.legacyMount, true);
  });
});

describe('buildPlan: private directories', () => {
  const privateAt = (p: Plan, dst: string) => p.mounts.find((m) => m.op === 'cow' && m.dst === dst);
  const order = (p: Plan): string[] => p.mounts.map((m) => `${m.op === 'cow' ? 'tmpfs' : m.op}:${m.dst}`);

  it('is copy-on-write over the host\'s directory with every Landlock right, mounted with the binds by depth; a deny inside one is masked after it', () => {
    const p = buildPlan(spec({ writePaths: [], privatePaths: ['/home/u/.npm', '/home/u/.cache'], denyPaths: ['/home/u/proj/.env', '/home/u/.cache/hf/token'] }), probe());
    assert.deepEqual(privateAt(p, '/home/u/.npm'), { op: 'cow', src: '/home/u/.npm', dst: '/home/u/.npm', mode: 0o700, sizeBytes: 512 * 1024 * 1024 });
    assert.ok(privateAt(p, '/home/u/.cache'));
    assert.ok(!dsts(p, 'bind').includes('/home/u/.cache'), "the host's directory is not bound");
    const o = order(p);
    assert.ok(o.indexOf('tmpfs:/home/u/.npm') < o.indexOf('mask:/home/u/proj/.env'));
    assert.ok(o.indexOf('tmpfs:/home/u/.cache') < o.indexOf('mask:/home/u/.cache/hf/token'), 'the host\'s files show through: a deny inside is masked');
    for (const d of ['/home/u/.npm', '/home/u/.cache']) assert.equal(p.landlock.fs.find((r) => r.path === d)?.access, LL_ALL);
    assert.ok(describePlan(p).some((l) => l.startsWith("mount: /home/u/.npm private: copy-on-write over the host's /home/u/.npm")));
  });

  it('a grant inside one is the host\'s again, mounted on top; one inside a write grant is mounted after it', () => {
    const p = buildPlan(spec({ writePaths: ['/home/u/t', '/home/u/t/c/pip'], privatePaths: ['/home/u/t/c'] }), probe());
    const o = order(p);
    assert.ok(o.indexOf('bind:/home/u/t') < o.indexOf('tmpfs:/home/u/t/c'));
    assert.ok(o.indexOf('tmpfs:/home/u/t/c') < o.indexOf('bind:/home/u/t/c/pip'), 'kept although /home/u/t has the same mode: a private directory lies between');
    const flat = buildPlan(spec({ writePaths: ['/home/u/t', '/home/u/t/c/pip'] }), probe());
    assert.ok(!order(flat).includes('bind:/home/u/t/c/pip'), 'control: without it the nested grant of the same mode adds nothing');
  });

  it('no pin at or inside one: a pin binds the host\'s directory, which would show the host\'s there again', () => {
    // The workspace is the home directory and a protected file lies in the private ~/.npm.
    const p = buildPlan(spec({ workspace: '/srv/home', writePaths: [], env: { HOME: '/srv/home' }, readPaths: ['/usr', '/srv/home/.npm/_npx/w/bin'], privatePaths: ['/srv/home/.npm'], pinned: ['/srv/home/.npm/_npx/w/bin'], denyPaths: [] }), probe());
    const binds = dsts(p, 'bind');
    assert.ok(!binds.includes('/srv/home/.npm') && !binds.includes('/srv/home/.npm/_npx') && !binds.includes('/srv/home/.npm/_npx/w'), binds.join(' '));
    assert.ok(binds.includes('/srv/home/.npm/_npx/w/bin'), 'the protected path itself is still the host\'s, read-only');
    const o = order(p);
    assert.ok(o.indexOf('tmpfs:/srv/home/.npm') < o.indexOf('bind:/srv/home/.npm/_npx/w/bin'));
    const control = buildPlan(spec({ workspace: '/srv/home', writePaths: [], env: { HOME: '/srv/home' }, readPaths: ['/usr', '/srv/home/.npm/_npx/w/bin'], pinned: ['/srv/home/.npm/_npx/w/bin'], denyPaths: [] }), probe());
    assert.ok(dsts(control, 'bind').includes('/srv/home/.npm/_npx'), 'control: without the private directory those directories are pinned');
  });

  it('deny overrides it, and so does a grant of the same path (a policy extending a profile shares the cache)', () => {
    const denied = buildPlan(spec({ privatePaths: ['/home/u/.ssh/x'] }), probe());
    assert.equal(privateAt(denied, '/home/u/.ssh/x'), undefined);
    assert.ok(denied.notes.some((n) => n.includes('deny overrides filesystem.private /home/u/.ssh/x')));
    const granted = buildPlan(spec({ privatePaths: ['/home/u/.cache'] }), probe());
    assert.equal(privateAt(granted, '/home/u/.cache'), undefined);
    assert.ok(dsts(granted, 'bind').includes('/home/u/.cache'));
    assert.ok(granted.notes.some((n) => n.includes('filesystem.write overrides filesystem.private /home/u/.cache')));
  });

  it('may hold the cwd; refuses /, /tmp, synthesized paths, bad paths and ask zones inside one', () => {
    assert.equal(buildPlan(spec({ privatePaths: ['/home/u/.npm'], cwd: '/home/u/.npm' }), probe()).cwd, '/home/u/.npm');
    for (const bad of ['/', '/tmp', '/proc/x', '/dev/y', 'relative', '/a/../b', '/a\nb'])
      assert.equal(code(() => buildPlan(spec({ privatePaths: [bad] }), probe())), 'POLICY_INVALID', bad);
    assert.equal(code(() => buildPlan(spec({ privatePaths: ['/home/u/.npm'], askPaths: ['/home/u/.npm/token'] }), probe())), 'POLICY_INVALID');
  });
});

describe('buildPlan: pins', () => {
  it('binds every directory between a pinned path inside a write grant and the grant onto itself, before the mount', () => {
    const pinned = ['/home/u/proj/a/b/.env', '/home/u/proj/vendor/lib', '/srv/data/x/key', '/usr/share/secret'];
    // /home/u/proj/c/d/.env is masked too, but not pinned (a glob match: found again next start).
    const plan = buildPlan(spec({ readPaths: ['/usr', '/home/u/proj/vendor/lib', '/srv/data'], denyPaths: ['/home/u/proj/a/b/.env', '/home/u/proj/c/d/.env', '/srv/data/x/key', '/usr/share/secret'], pinned }), probe());
    const binds = plan.mounts.filter((m) => m.op === 'bind' && m.src === m.dst && m.dst.startsWith('/home/u/proj')).map((m) => `${m.dst}${m.op === 'bind' && m.readOnly ? ' ro' : ''}`);
    assert.deepEqual(binds, ['/home/u/proj', '/home/u/proj/a', '/home/u/proj/vendor', '/home/u/proj/a/b', '/home/u/proj/vendor/lib ro']);
    const at = (dst: string, op: string) => plan.mounts.findIndex((m) => m.dst === dst && m.op === op);
    assert.ok(at('/home/u/proj/a/b', 'bind') < at('/home/u/proj/a/b/.env', 'mask'), 'the pin comes before the mask it protects');
    // Inside read-only grants nothing can be renamed: no pins there.
    assert.ok(!plan.mounts.some((m) => m.op === 'bind' && (m.dst === '/srv/data/x' || m.dst === '/usr/share')));
  });
});

describe('buildPlan: refusals', () => {
  it("refuses grants of Warden's own state, and of parents that do not deny it", () => {
    const env = { HOME: '/home/u' };
    assert.equal(code(() => buildPlan(spec({ readPaths: ['/home/u/.local/state/warden/audit'] }), probe({}, env))), 'POLICY_INVALID');
    assert.equal(code(() => buildPlan(spec({ readPaths: ['/home/u/.config'] }), probe({}, env))), 'POLICY_INVALID', 'keys live in ~/.config/warden/keys');
    assert.equal(code(() => buildPlan(spec({ writePaths: ['/home/u'] }), probe({}, env))), 'POLICY_INVALID');
    // Writable around it: refused even with the state masked (an ancestor could be renamed away).
    assert.equal(code(() => buildPlan(spec({ writePaths: ['/home/u'], denyPaths: ['/home/u/.local/state/warden', '/home/u/.config/warden'] }), probe({}, env))), 'POLICY_INVALID');
    assert.equal(code(() => buildPlan(spec({ workspace: '/srv', denyPaths: ['/srv/w'] }), probe({}, { WARDEN_HOME: '/srv/w' }))), 'WORKSPACE_INVALID');
    // WARDEN_HOME named through a symlink: its resolved directories count too.
    assert.equal(code(() => buildPlan(spec({ workspace: '/srv/real', ownPaths: ['/srv/real/wh/state'] }), probe({}, { WARDEN_HOME: '/srv/link/wh' }))), 'WORKSPACE_INVALID');
    assert.equal(code(() => buildPlan(spec({ readPaths: ['/home/u'], denyPaths: ['/home/u/.local/state/warden', '/home/u/.config/warden'] }), probe({}, env))), 'none');
    assert.equal(code(() => buildPlan(spec({ workspace: '/srv/w/state/x' }), probe({}, { WARDEN_HOME: '/srv/w' }))), 'WORKSPACE_INVALID');
    assert.equal(code(() => buildPlan(spec({ workspace: '/srv', readPaths: [] }), probe({}, { WARDEN_HOME: '/srv/w' }))), 'WORKSPACE_INVALID');
  });

  it('refuses paths with newlines, NUL, non-UTF-8, relative or non-normalised forms', () => {
    for (const bad of ['/a\nb', '/a\0b', 'rel/path', '/a/../b', '/a/', '/a//b', '/bad\uFFFDname', '/lone\uD800x']) {
      assert.equal(code(() => buildPlan(spec({ readPaths: [bad] }), probe())), 'POLICY_INVALID', JSON.stringify(bad));
    }
    assert.equal(code(() => buildPlan(spec({ workspace: '/w\nx' }), probe())), 'WORKSPACE_INVALID');
  });

  it('refuses grants of /, /tmp and the synthesized /proc and /dev', () => {
    for (const p of ['/', '/tmp', '/proc', '/proc/self', '/dev/sda', '/dev']) assert.equal(code(() => buildPlan(spec({ readPaths: [p] }), probe())), 'POLICY_INVALID', p);
    assert.equal(code(() => buildPlan(spec({ readPaths: ['/tmp/x'] }), probe())), 'none');
  });

  it('refuses undegradable layers, an empty argv, a denied workspace, bad limits', () => {
    assert.equal(code(() => buildPlan(spec({ allowDegraded: ['userns' as never] }), probe())), 'USAGE');
    assert.equal(code(() => buildPlan(spec({ argv: [] }), probe())), 'USAGE');
    assert.equal(code(() => buildPlan(spec({ denyPaths: ['/home/u'] }), probe())), 'WORKSPACE_INVALID');
    assert.equal(code(() => buildPlan(spec({ limits: { pids: 1.5 } }), probe())), 'POLICY_INVALID');
    assert.equal(code(() => buildPlan(spec({ env: { 'A=B': 'x' } }), probe())), 'POLICY_INVALID');
    assert.equal(code(() => buildPlan(spec({ cwd: '/var' }), probe())), 'POLICY_INVALID');
  });
});

describe('buildPlan: landlock, limits, seccomp, env', () => {
  it('grants read paths read|exec, write paths everything, devices only what they need', () => {
    const p = buildPlan(spec(), probe());
    const rule = (path: string): number | undefined => p.landlock.fs.find((r) => r.path === path)?.access;
    assert.equal(rule('/usr'), LL_READ);
    assert.equal(rule('/home/u/proj'), LL_ALL);
    assert.equal(rule('/dev/null'), LL.READ_FILE | LL.WRITE_FILE);
    assert.equal(rule('/dev/tty')! & LL.IOCTL_DEV, LL.IOCTL_DEV);
    assert.equal(rule('/dev/null')! & LL.IOCTL_DEV, 0);
    assert.equal(rule('/proc')! & (LL.WRITE_FILE | LL.EXECUTE), 0);
    assert.equal(rule('/home/u/proj/.env'), undefined);
    assert.equal(p.landlock.minAbi, 6);
    assert.deepEqual(p.landlock.net, []);
    assert.equal(p.landlock.scopes, 3);
  });

  it('TCP ports become Landlock net rules and raise the minimum ABI to 4', () => {
    const p = buildPlan(spec({ tcpConnectPorts: [443, 80, 443], tcpBindPorts: [8080, 80], landlockMinAbi: 1 }), probe());
    assert.deepEqual(p.landlock.net, [{ port: 80, access: 3 }, { port: 443, access: 2 }, { port: 8080, access: 1 }]);
    assert.equal(p.landlock.minAbi, 4);
    assert.equal(code(() => buildPlan(spec({ tcpConnectPorts: [70000] }), probe())), 'POLICY_INVALID');
  });

  it('WARDEN_LANDLOCK_ABI_MAX flows from the environment into the plan', () => {
    const pr = probe({}, { HOME: '/home/u', WARDEN_LANDLOCK_ABI_MAX: '3' });
    assert.equal(pr.landlock.abi, 3);
    assert.equal(buildPlan(spec(), pr).landlock.abiMax, 3);
    assert.throws(() => probe({}, { WARDEN_LANDLOCK_ABI_MAX: 'x' }));
  });

  it('limits without delegable cgroups: rlimits + pid_max, with notes', () => {
    const p = buildPlan(spec({ limits: { memoryBytes: 256 << 20, pids: 64, nofile: 512, fsizeBytes: 1 << 30, cpu: 1, cpuSeconds: 60 } }), probe());
    assert.deepEqual(p.cgroups, []);
    const rl = Object.fromEntries(p.rlimits.map((r) => [r.resource, [r.soft, r.hard]]));
    assert.deepEqual(rl, { CORE: [0, 0], NOFILE: [512, 512], NPROC: [64, 64], FSIZE: [1 << 30, 1 << 30], CPU: [60, 61], DATA: [256 << 20, 256 << 20] });
    assert.equal(p.pidMax, 301);
    assert.ok(p.notes.some((n) => /cpu: cgroups not delegable .*NOT limited/.test(n)));
    assert.equal(buildPlan(spec({ limits: { pids: 1000 } }), probe()).pidMax, 1001);
    const noPm = buildPlan(spec({ limits: { pids: 64 } }), probe({ pidMaxPerNs: { ok: false, error: 'kernel < 6.14' } }));
    assert.equal(noPm.pidMax, 0);
    assert.ok(noPm.notes.some((n) => n.includes('RLIMIT_NPROC only')));
  });

  it('cgroup v1 (root on a hybrid host): one session cgroup per controller', () => {
    const pr = probe({
      cgroup: {
        layout: 'hybrid',
        v2: { dir: '/sys/fs/cgroup/unified', controllers: 'hugetlb', subtreeControl: '', writable: true, isRoot: true },
        v1: { memory: { dir: '/sys/fs/cgroup/memory/a', writable: true, memsw: true }, pids: { dir: '/sys/fs/cgroup/pids', writable: true }, cpu: { dir: '/sys/fs/cgroup/cpu', writable: true } },
      },
    });
    assert.equal(pr.cgroup.mode, 'v1');
    const p = buildPlan(spec({ limits: { memoryBytes: 256 << 20, pids: 64, cpu: 0.5 } }), pr);
    assert.deepEqual(p.cgroups.map((c) => [c.controller, c.parent, c.writes.map((w) => `${w.key}=${w.value}`)]), [
      ['memory', '/sys/fs/cgroup/memory/a', [`memory.limit_in_bytes=${256 << 20}`, `memory.memsw.limit_in_bytes=${256 << 20}`]],
      ['pids', '/sys/fs/cgroup/pids', ['pids.max=64']],
      ['cpu', '/sys/fs/cgroup/cpu', ['cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000']],
    ]);
    assert.ok(!p.rlimits.some((r) => r.resource === 'DATA'), 'memory is bounded by the cgroup, not per process');
  });

  it('cgroup v2: used only when the controllers are delegated', () => {
    const v2 = (over: object) => cgroupCapability({ layout: 'v2', v2: { dir: '/sys/fs/cgroup/u', controllers: 'memory pids cpu', subtreeControl: 'memory pids cpu', writable: true, isRoot: false, ...over }, v1: {} });
    assert.equal(v2({}).mode, 'v2');
    assert.equal(v2({ writable: false }).mode, null);
    assert.match(v2({ subtreeControl: '' }).reason, /subtree_control lacks memory,pids,cpu/);
    assert.equal(v2({ subtreeControl: '', isRoot: true }).mode, 'v2');
    const pr = probe({ cgroup: { layout: 'v2', v2: { dir: '/sys/fs/cgroup/u', controllers: 'memory pids', subtreeControl: 'memory pids', writable: true, isRoot: false }, v1: {} } });
    const p = buildPlan(spec({ limits: { memoryBytes: 1 << 30, pids: 100 } }), pr);
    assert.equal(p.cgroups.length, 1);
    assert.deepEqual(p.cgroups[0]!.writes.map((w) => `${w.target}:${w.key}=${w.value}`), ['parent:cgroup.subtree_control=+memory +pids', `session:memory.max=${1 << 30}`, 'session:memory.swap.max=0', 'session:pids.max=100']);
    assert.deepEqual(p.cgroups[0]!.reads, ['memory.peak', 'pids.peak']);
  });

  it('seccomp bytes come from the filter builder for the probed arch', () => {
    const p = buildPlan(spec(), probe());
    assert.ok(p.seccomp && p.seccomp.insns > 10 && p.seccomp.bytes.length === p.seccomp.insns * 8);
    const none = buildPlan(spec(), probe({ machine: 'riscv64' }));
    assert.equal(none.seccomp, null);
    assert.ok(none.notes.some((n) => n.includes('no seccomp filter')));
  });

  it('env is exactly the spec, argv and cwd are kept, supervisor pid from the probe', () => {
    const p = buildPlan(spec({ env: { A: '1', B: 'x=y' }, cwd: '/home/u/proj/sub' }), probe());
    assert.deepEqual(p.env, ['A=1', 'B=x=y']);
    assert.equal(p.cwd, '/home/u/proj/sub');
    assert.equal(p.supervisorPid, 4242);
    assert.equal(p.flags.newSession, true);
    assert.deepEqual(buildPlan(spec({ allowDegraded: ['landlock', 'landlock', 'cgroup'] }), probe()).degradable, ['landlock', 'cgroup']);
  });

  it('describePlan explains every layer', () => {
    const text = describePlan(buildPlan(spec({ limits: { pids: 64 } }), probe())).join('\n');
    for (const s of ['mount: /home/u/proj/.env masked (deny)', 'landlock: /usr read', 'rlimit: NPROC 64/64', 'pid_max: 301', 'seccomp:', 'capabilities: none', 'env: PATH HOME'])
      assert.ok(text.includes(s), s);
  });

  it('isWithin', () => {
    assert.ok(isWithin('/a/b', '/a') && isWithin('/a', '/a') && isWithin('/x', '/'));
    assert.ok(!isWithin('/ab', '/a') && !isWithin('/a', '/a/b'));
  });
});

describe('probe interpretation', () => {
  it('reports why user namespaces are unavailable', () => {
    const pr = probe({ userns: { ok: false, error: 'Operation not permitted', unprivilegedUsernsClone: 0, maxUserNamespaces: 0, apparmorRestrictUnprivilegedUserns: 1 } });
    assert.equal(pr.userns.ok, false);
    assert.match(pr.userns.reason!, /unprivileged_userns_clone=0.*max_user_namespaces=0.*apparmor_restrict_unprivileged_userns=1/);
    assert.equal(pr.layers['userns']!.supported, false);
  });
  it('maps the machine to a seccomp arch', () => {
    assert.equal(probe().arch, 'x86_64');
    assert.equal(probe({ machine: 'aarch64' }).arch, 'aarch64');
    assert.equal(probe({ machine: 'armv7l' }).arch, null);
  });
});
