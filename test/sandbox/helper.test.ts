/**
 * The helper's contract on the real kernel: exit codes, the status channel, Landlock ABI
 * negotiation and degradation, the legacy mount path, the network namespace, signal relay,
 * reaping, cgroup cleanup, the probe, workspace checks, and a full run under ASan/UBSan.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.js';
import { assertWorkspace, resolveHostPaths } from '../../src/sandbox/host-paths.js';
import { helperPath, packageRoot } from '../../src/sandbox/helper-path.js';
import { launchSandbox } from '../../src/sandbox/launch.js';
import { encodePlan } from '../../src/sandbox/plan-encode.js';
import { probeSandbox } from '../../src/sandbox/probe.js';
import {
  buildAsanHelper,
  SANITIZER_REPORT,
  cleanup,
  defaultSpec,
  descendants,
  isRoot,
  makeCtx,
  ORIGINAL,
  planFor,
  probe,
  read,
  resetFiles,
  runPlain,
  runSandboxed,
  SECRET,
  sh,
  stillAlive,
  type Ctx,
} from './harness.js';

const REQUIRED = ['userns', 'pidns', 'ipcns', 'utsns', 'netns', 'mountns', 'fds', 'nnp', 'caps', 'seccomp', 'env', 'rlimits'];

describe('helper contract', () => {
  let c: Ctx;
  before(() => (c = makeCtx()));
  after(() => cleanup(c));

  it('exit code is the command’s; 128+N for signal N; 127 not found; 126 not executable', async () => {
    let r = await runSandboxed(defaultSpec(c, sh('exit 42')));
    assert.equal(r.result.exitCode, 42);
    assert.equal(r.result.signal, undefined);
    r = await runSandboxed(defaultSpec(c, sh('kill -USR1 $$')));
    assert.equal(r.result.exitCode, 128 + 10);
    assert.equal(r.result.signal, 10);
    r = await runSandboxed(defaultSpec(c, ['no-such-command-xyz', 'arg']));
    assert.equal(r.result.exitCode, 127);
    assert.deepEqual(r.result.execFailed, { errno: 2, notFound: true });
    assert.equal(r.stderr, 'warden: command not found: no-such-command-xyz\n');
    r = await runSandboxed(defaultSpec(c, ['/etc/passwd']));
    assert.equal(r.result.exitCode, 126);
    assert.equal(r.result.execFailed?.notFound, false);
    assert.equal(r.result.refused, undefined);
  });

  it('reports every layer on the status channel and really installs them', async () => {
    const r = await runSandboxed(
      defaultSpec(c, sh('grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; echo "pidmax=$(cat /proc/sys/kernel/pid_max) host=$(hostname) fds=$(ls /proc/self/fd | tr "\\n" " ") ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " ")"; echo 400 > /proc/sys/kernel/pid_max || echo sysctl-ro')),
    );
    assert.equal(r.result.exitCode, 0, r.stderr);
    const pr = await probe();
    for (const l of [...REQUIRED, `landlock:${pr.landlock.abi}`, 'pidmax']) assert.ok(r.result.layers.active.includes(l), `layer ${l} in ${r.result.layers.active}`);
    if (pr.cgroup.mode) assert.ok(r.result.layers.active.includes('cgroup'));
    assert.deepEqual(r.result.layers.degraded, []);
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(r.stdout, new RegExp(`${cap}:\\s+0000000000000000`));
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    assert.match(r.stdout, /Seccomp:\s+2/);
    // ls lists its own directory fd (3) too; nothing else may be open.
    assert.match(r.stdout, /pidmax=301 host=warden fds=0 1 2 3 +ifs=lo\n/);
    assert.match(r.stdout, /sysctl-ro\n$/, '/proc/sys is read-only');
    assert.ok(r.result.resources && r.result.resources.maxRssKb > 0);
    if (pr.cgroup.parents.memory) assert.ok((r.result.resources!.memoryPeakBytes ?? 0) > 0, 'cgroup memory peak reported');
  });

  it('the network namespace reaches nothing on the host (a loopback listener receives nothing)', async () => {
    let connections = 0;
    const server = createServer((s) => (connections++, s.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const probeScript = `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`;
      runPlain(['bash', '-c', probeScript]);
      await sleep(100);
      assert.equal(connections, 1, 'control: the listener is reachable without Warden');
      const r = await runSandboxed(defaultSpec(c, ['bash', '-c', probeScript]));
      await sleep(100);
      assert.notEqual(r.result.exitCode, 0);
      assert.equal(connections, 1, 'the sandbox reached a host listener');
    } finally {
      server.close();
    }
  });

  it('Landlock below the required ABI: refusal (126, one line) unless degraded is allowed', async () => {
    const env = { ...process.env, WARDEN_LANDLOCK_ABI_MAX: '3' };
    let r = await runSandboxed(defaultSpec(c, sh('true')), { env });
    assert.equal(r.result.exitCode, 126);
    assert.equal(r.result.refused?.layer, 'landlock');
    assert.equal(r.result.refused?.reason, 'abi-too-low');
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1);
    assert.match(r.stderr, /^warden: layer landlock: kernel ABI 3 < required 6 \(fix: upgrade to Linux >= 6\.12 .* or --allow-degraded landlock\)\n$/, r.stderr);

    resetFiles(c);
    r = await runSandboxed(defaultSpec(c, sh(`echo pwned > ${c.protectedFile}; echo ok > out`), { allowDegraded: ['landlock'] }), { env });
    assert.equal(r.result.refused, undefined, r.stderr);
    assert.ok(r.result.layers.active.includes('landlock:3'), String(r.result.layers.active));
    assert.ok(r.result.layers.degraded.includes('landlock'));
    assert.ok(r.result.events.some((e) => e.kind === 'degraded' && e.fields['layer'] === 'landlock'));
    assert.equal(read(c.protectedFile), ORIGINAL, 'read-only mounts still hold with Landlock degraded');
    assert.equal(read(join(c.ws, 'out')), 'ok\n');

    r = await runSandboxed(defaultSpec(c, sh(`echo pwned > ${c.protectedFile}`), { allowDegraded: ['landlock'] }), { env: { ...process.env, WARDEN_LANDLOCK_ABI_MAX: '0' } });
    assert.ok(!r.result.layers.active.some((l) => l.startsWith('landlock')));
    assert.ok(r.result.layers.degraded.includes('landlock'));
    assert.equal(read(c.protectedFile), ORIGINAL);
  });

  it('every Landlock ABI from 1 to the kernel’s works with the rights it knows', async () => {
    const pr = await probe();
    for (let abi = 1; abi <= pr.landlock.kernelAbi; abi++) {
      const r = await runSandboxed(defaultSpec(c, sh('echo x > f && mv f g && cat g'), { landlockMinAbi: abi }), { env: { ...process.env, WARDEN_LANDLOCK_ABI_MAX: String(abi) } });
      assert.equal(r.result.exitCode, 0, `ABI ${abi}: ${r.stderr}`);
      assert.ok(r.result.layers.active.includes(`landlock:${abi}`));
    }
  });

  it('the legacy mount(2) path preserves locked flags and still enforces read-only', async () => {
    resetFiles(c);
    const r = await runSandboxed(defaultSpec(c, sh(`echo pwned > ${c.protectedFile}; echo ok > out; cat /etc/hostname >/dev/null && echo readable`), { legacyMount: true }));
    assert.equal(r.result.refused, undefined, r.stderr);
    assert.equal(r.stdout, 'readable\n');
    assert.equal(read(c.protectedFile), ORIGINAL);
    assert.equal(read(join(c.ws, 'out')), 'ok\n');
  });

  it('device nodes work but are read-only binds (chmod/utime of the host /dev/null fail)', async () => {
    const before = statSync('/dev/null');
    const r = await runSandboxed(defaultSpec(c, sh('echo x > /dev/null && head -c 4 /dev/urandom | wc -c; chmod 0600 /dev/null; touch -d 2001-01-01 /dev/null; true')));
    try {
      assert.equal(r.result.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), '4');
      const now = statSync('/dev/null');
      assert.equal(now.mode, before.mode, 'host /dev/null mode changed');
      assert.notEqual(now.mtime.getUTCFullYear(), 2001, 'host /dev/null mtime changed');
    } finally {
      if (isRoot && (statSync('/dev/null').mode & 0o777) !== 0o666) chmodSync('/dev/null', 0o666);
    }
  });

  it('private directories: copy-on-write over the host\'s (its files readable, every change the sandbox\'s own), an empty one where the host has no directory, a deny inside one masked', async () => {
    resetFiles(c);
    const priv = join(c.outside, 'cache');
    const missing = join(c.outside, 'no-cache');
    const linked = join(c.outside, 'linked-cache');
    mkdirSync(join(priv, 'tool'), { recursive: true });
    writeFileSync(join(priv, 'tool', 'kept'), 'HOST\n');
    writeFileSync(join(priv, 'token'), `${SECRET} token\n`);
    symlinkSync(priv, linked);
    const script = [
      `cat ${priv}/tool/kept`,
      `echo changed > ${priv}/tool/kept && cat ${priv}/tool/kept`,
      `rm ${priv}/tool/kept && mkdir ${priv}/planted && echo planted`,
      `cat ${priv}/token`,
      `echo x > ${missing}/new && echo made`,
      `echo "linked: $(ls -A ${linked} | wc -l)"`,
    ].join('; ');
    const r = await runSandboxed(defaultSpec(c, sh(script), { privatePaths: [priv, missing, linked], denyPaths: [join(c.home, '.ssh'), c.awsCred, c.wsSecret, join(priv, 'token')] }));
    assert.equal(r.result.refused, undefined, r.stderr);
    assert.match(r.stdout, /^HOST\nchanged\nplanted\n/, r.stderr);
    assert.doesNotMatch(r.stdout, new RegExp(SECRET), 'the deny inside it is masked');
    assert.match(r.stdout, /made/);
    assert.match(r.stdout, /linked: 0/, 'named through a symlink: an empty one, not the host\'s');
    // The host's directory is untouched, and nothing was created where the host had none.
    assert.equal(read(join(priv, 'tool', 'kept')), 'HOST\n');
    assert.ok(!existsSync(join(priv, 'planted')));
    assert.ok(!existsSync(missing));
  });

  it('relays SIGTERM to the command', async () => {
    resetFiles(c);
    const plan = await planFor(defaultSpec(c, sh(`trap 'echo term > got; exit 7' TERM; while :; do sleep 0.05; done`)));
    const h = launchSandbox(plan, { stdio: 'ignore' });
    await h.ready;
    await sleep(200);
    h.kill('SIGTERM');
    const r = await h.result;
    assert.equal(r.exitCode, 7);
    assert.equal(read(join(c.ws, 'got')), 'term\n');
  });

  it('the command starts with every signal at its default and none blocked (whatever the supervisor ignores)', async () => {
    // This process ignores SIGPIPE (Node does) and, spawned through posix_spawn, the helper would
    // pass on glibc's internal signals 32 and 33 ignored: the helper resets all of them.
    const r = await runSandboxed(defaultSpec(c, ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status']));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });

  it('kills what the command leaves behind and removes the session cgroup', async () => {
    const plan = await planFor(defaultSpec(c, sh('sleep 1000 & sleep 1000 & sleep 0.5; exit 0')));
    const h = launchSandbox(plan, { stdio: 'ignore' });
    await h.ready;
    await sleep(200);
    const tree = descendants(h.helperPid);
    assert.ok(tree.length >= 4, `tree ${JSON.stringify(tree)}`);
    const r = await h.result;
    assert.equal(r.exitCode, 0);
    assert.deepEqual(stillAlive(tree), []);
    for (const cg of plan.cgroups) assert.ok(!existsSync(join(cg.parent, `warden-${h.helperPid}`)), `session cgroup left in ${cg.parent}`);
  });

  it('probe: --probe is one line of JSON and honours WARDEN_LANDLOCK_ABI_MAX', async () => {
    const out = spawnSync(helperPath(), ['--probe'], { encoding: 'utf8', env: {} });
    assert.equal(out.status, 0);
    assert.equal(out.stdout.split('\n').filter(Boolean).length, 1);
    const j = JSON.parse(out.stdout);
    assert.ok(j.kernel && typeof j.landlock.abi === 'number' && typeof j.userns.ok === 'boolean' && 'userNotif' in j.seccomp && 'pidMaxPerNs' in j && j.cgroup.layout);
    const p = await probeSandbox({ ...process.env, WARDEN_LANDLOCK_ABI_MAX: '2' });
    assert.equal(p.landlock.abi, Math.min(2, p.landlock.kernelAbi));
    assert.equal(p.landlock.abiMax, 2);
    assert.equal(p.uid, process.getuid!());
    if (!isRoot) assert.notEqual(p.cgroup.mode, 'v1', 'v1 hierarchies are root-only here');
  });

  it('helper path is found from the package, not the cwd', () => {
    assert.ok(existsSync(join(packageRoot(), 'native', 'Makefile')));
    assert.ok(helperPath().endsWith('/native/build/warden-helper'));
  });

  it('workspace checks: missing, a file, a symlink', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
        return 'none';
      } catch (e) {
        return isWardenError(e) ? e.code : 'other';
      }
    };
    const d = mkdtempSync(join(tmpdir(), 'warden-ws-'));
    try {
      writeFileSync(join(d, 'file'), '');
      symlinkSync(d, join(d, 'link'));
      assert.equal(code(() => assertWorkspace(join(d, 'missing'))), 'WORKSPACE_INVALID');
      assert.equal(code(() => assertWorkspace(join(d, 'file'))), 'WORKSPACE_INVALID');
      assert.equal(code(() => assertWorkspace(join(d, 'link'))), 'WORKSPACE_INVALID');
      assert.equal(code(() => assertWorkspace('relative')), 'WORKSPACE_INVALID');
      assert.equal(assertWorkspace(d), d);
      const res = resolveHostPaths([join(d, 'link'), join(d, 'missing'), d]);
      assert.deepEqual(res.paths, [d]);
      assert.deepEqual(res.missing, [join(d, 'missing')]);
      assert.deepEqual(res.symlinks, [{ path: join(d, 'link'), target: d }]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('helper under AddressSanitizer + UndefinedBehaviorSanitizer', () => {
  let c: Ctx;
  let asan: string;
  let built: ReturnType<typeof buildAsanHelper>;
  before(() => {
    c = makeCtx();
    built = buildAsanHelper();
    asan = built.path;
  });
  after(() => {
    cleanup(c);
    built.remove();
  });
  const clean = (s: string): void => assert.doesNotMatch(s, SANITIZER_REPORT);

  it('a full sandboxed run, a refusal and the probe are clean', async () => {
    resetFiles(c);
    const r = await runSandboxed(defaultSpec(c, sh(`echo hi > out; cat ${c.awsCred} 2>/dev/null; echo pwned > ${c.protectedFile}; ls /; exit 3`)), { launch: { helperPath: asan } });
    clean(r.stderr);
    assert.equal(r.result.exitCode, 3, r.stderr);
    assert.ok(r.result.layers.active.includes('seccomp') && r.result.layers.active.includes('mountns'));
    assert.equal(read(join(c.ws, 'out')), 'hi\n');
    assert.equal(read(c.protectedFile), ORIGINAL);

    const refused = await runSandboxed(defaultSpec(c, sh('true')), { env: { ...process.env, WARDEN_LANDLOCK_ABI_MAX: '1' }, launch: { helperPath: asan } });
    clean(refused.stderr);
    assert.equal(refused.result.exitCode, 126);

    const p = spawnSync(asan, ['--probe'], { encoding: 'utf8', env: {} });
    clean(p.stderr);
    assert.equal(p.status, 0);
    JSON.parse(p.stdout);

    const plan = await planFor(defaultSpec(c, sh('true')));
    const d = spawnSync(asan, ['--dump-plan'], { input: Buffer.from(encodePlan(plan)), encoding: 'utf8', env: {} });
    clean(d.stderr);
    assert.equal(d.status, 0);
    const bad = Buffer.from(encodePlan(plan));
    bad.writeUInt32LE(0xffffffff, 16 + 4); // first record's length
    const m = spawnSync(asan, ['--dump-plan'], { input: bad, encoding: 'utf8', env: {} });
    clean(m.stderr);
    assert.equal(m.status, 126);
  });
});

