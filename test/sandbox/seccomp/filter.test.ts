/**
 * Interpreter-driven tests of the real Warden filter. The oracle below is written independently
 * from filter.ts (from the spec in README.md), so a compilation bug and a policy-table bug cannot
 * cancel out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import fc from 'fast-check';

import { buildSeccompFilter, compileSeccompProgram, seccompRules, type SeccompFilterOptions } from '../../../src/sandbox/seccomp/filter.js';
import {
  BPF_ABS,
  BPF_LD,
  BPF_W,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_USER_NOTIF,
  decode,
  decodeAction,
  isConstAllow,
  runSeccomp,
  validateSeccomp,
  type SockFilter,
} from '../../../src/sandbox/seccomp/bpf.js';
import { ARCHES, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, syscallNr, type Arch } from '../../../src/sandbox/seccomp/syscalls.js';
import { WardenError } from '../../../src/errors.js';

const ALLOW = SECCOMP_RET_ALLOW;
const KILL = SECCOMP_RET_KILL_PROCESS;
const NOTIF = SECCOMP_RET_USER_NOTIF;
const EPERM = SECCOMP_RET_ERRNO | 1;
const ENOSYS = SECCOMP_RET_ERRNO | 38;
const EAFNOSUPPORT = SECCOMP_RET_ERRNO | 97;

// ---- the independent oracle ----
const EPERM_ALWAYS = new Set([
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'pidfd_getfd', 'kcmp', 'process_madvise',
  'bpf', 'perf_event_open',
  'keyctl', 'add_key', 'request_key',
  'userfaultfd',
  'mount', 'umount2', 'pivot_root', 'chroot', 'move_mount', 'open_tree', 'open_tree_attr', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  'unshare', 'setns',
  'open_by_handle_at', 'name_to_handle_at',
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'create_module', 'get_kernel_syms', 'query_module',
  'fanotify_init', 'fanotify_mark',
  'acct', 'swapon', 'swapoff', 'reboot', 'sethostname', 'setdomainname',
  'settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime',
  'syslog', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'nfsservctl', 'uselib', 'vhangup',
  'iopl', 'ioperm', 'modify_ldt',
]);
const ARG_CHECKED = new Set(['socket', 'socketpair', 'ioctl', 'clone', 'personality', 'seccomp']);
const EXEC = new Set(['execve', 'execveat']);
const OPEN = new Set(['open', 'creat', 'openat', 'openat2']);
const NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

function nameOf(arch: Arch, nr: number): string | undefined {
  for (const [n, v] of Object.entries(ARCHES[arch].table)) if (v === nr) return n;
  return undefined;
}

interface Call {
  nr: number;
  arch: number;
  args?: bigint[];
  instructionPointer?: bigint;
}

function oracle(o: SeccompFilterOptions, c: Call): number {
  const native = o.arch === 'x86_64' ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
  if (c.arch >>> 0 !== native) return KILL;
  const nr = c.nr >>> 0;
  if (o.arch === 'x86_64' && nr >= 0x40000000) return KILL;
  if (nr > 470) return ENOSYS;
  const name = nameOf(o.arch, nr);
  if (name === undefined) return ALLOW;
  const arg = (i: number) => BigInt.asUintN(64, c.args?.[i] ?? 0n);
  const lo = (i: number) => Number(arg(i) & 0xffffffffn);
  const hi = (i: number) => Number(arg(i) >> 32n);
  if (EPERM_ALWAYS.has(name)) return EPERM;
  if (name === 'clone3') return ENOSYS;
  if (EXEC.has(name)) return o.notifyExec ? NOTIF : ALLOW;
  if (OPEN.has(name)) return o.notifyOpen ? NOTIF : ALLOW;
  switch (name) {
    case 'socket':
    case 'socketpair': {
      if (hi(0) !== 0) return EAFNOSUPPORT;
      const fam = lo(0);
      if (fam === 1 || fam === 10) return ALLOW;
      if (fam === 2) return (lo(1) & 0xf) === 10 ? EAFNOSUPPORT : ALLOW;
      return EAFNOSUPPORT;
    }
    case 'ioctl':
      return [0x5412, 0x541c, 0x5423].includes(lo(1)) ? EPERM : ALLOW;
    case 'clone':
      return (lo(0) & NS_FLAGS) !== 0 ? EPERM : ALLOW;
    case 'personality':
      return lo(0) === 0 || lo(0) === 0xffffffff ? ALLOW : EPERM;
    case 'seccomp':
      return lo(0) === 1 && (lo(1) & 8) !== 0 ? EPERM : ALLOW;
  }
  return ALLOW;
}

// ---- helpers ----
const OPTION_SETS: SeccompFilterOptions[] = (['x86_64', 'aarch64'] as const).flatMap((arch) =>
  [false, true].flatMap((notifyExec) => [false, true].map((notifyOpen) => ({ arch, notifyExec, notifyOpen }))),
);

function progOf(o: SeccompFilterOptions): SockFilter[] {
  const f = buildSeccompFilter(o);
  assert.equal(f.bytes.length, f.insns * 8);
  return decode(f.bytes);
}

const NATIVE = (arch: Arch) => ARCHES[arch].auditArch;
const nr = (arch: Arch, name: string) => {
  const n = syscallNr(arch, name);
  assert.ok(n !== undefined, `${name} on ${arch}`);
  return n;
};

// ---- tests ----
test('filter shape: validated, small, stable instruction counts', (t) => {
  for (const o of OPTION_SETS) {
    const f = buildSeccompFilter(o);
    const prog = decode(f.bytes);
    validateSeccomp(prog);
    assert.ok(f.insns > 20 && f.insns < 200, `${JSON.stringify(o)}: ${f.insns} instructions`);
    assert.ok(prog.every((i) => i.jt <= 255 && i.jf <= 255));
    t.diagnostic(`${o.arch} notifyExec=${o.notifyExec} notifyOpen=${o.notifyOpen}: ${f.insns} insns`);
    // Deterministic: same options, same bytes.
    assert.deepEqual(buildSeccompFilter(o).bytes, f.bytes);
  }
});

test('the first two instructions check arch (kill on mismatch); x86_64 then kills x32', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    assert.deepEqual(prog[0], { code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: 4 });
    assert.equal(prog[1]!.k, NATIVE(arch));
    assert.equal(prog[1 + 1 + prog[1]!.jf]!.k, KILL);
    for (const foreign of [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, arch === 'x86_64' ? AUDIT_ARCH_AARCH64 : AUDIT_ARCH_X86_64, 0, 0xffffffff]) {
      for (const n of [0, 1, 20, 59, 101, 221]) assert.equal(runSeccomp(prog, { nr: n, arch: foreign }), KILL);
    }
  }
  const x86 = progOf({ arch: 'x86_64', notifyExec: false });
  for (const n of [0x40000000, 0x40000000 + 39, 0x40000000 + 59, 0x40000000 + 520, 0x7fffffff, -1, 0x80000000]) {
    assert.equal(runSeccomp(x86, { nr: n, arch: AUDIT_ARCH_X86_64 }), KILL, `x32/neg nr ${n}`);
  }
  // aarch64 has no x32: a huge nr is just unknown -> ENOSYS.
  assert.equal(runSeccomp(progOf({ arch: 'aarch64', notifyExec: false }), { nr: 0x40000000, arch: AUDIT_ARCH_AARCH64 }), ENOSYS);
});

test('every unconditionally denied syscall returns its errno, whatever the arguments', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: true, notifyOpen: true });
    let count = 0;
    for (const name of EPERM_ALWAYS) {
      const n = syscallNr(arch, name);
      if (n === undefined) continue;
      count++;
      for (const args of [[], [0n, 0n, 0n, 0n, 0n, 0n], [-1n, -1n, -1n, -1n, -1n, -1n], [1n << 32n]]) {
        assert.equal(runSeccomp(prog, { nr: n, arch: NATIVE(arch), args }), EPERM, `${arch} ${name}`);
      }
    }
    assert.ok(count >= (arch === 'x86_64' ? 61 : 52), `${arch}: ${count}`);
    assert.equal(runSeccomp(prog, { nr: nr(arch, 'clone3'), arch: NATIVE(arch), args: [0n, 88n] }), ENOSYS);
  }
});

test('socket/socketpair: only unix, inet, inet6; AF_INET+SOCK_PACKET and a set high word refused', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    for (const call of ['socket', 'socketpair']) {
      const run = (fam: bigint, type = 1n) => runSeccomp(prog, { nr: nr(arch, call), arch: NATIVE(arch), args: [fam, type, 0n] });
      assert.equal(run(1n), ALLOW);
      assert.equal(run(2n), ALLOW);
      assert.equal(run(2n, 2n | 0x80000n | 0x800n), ALLOW); // SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK
      assert.equal(run(2n, 3n), ALLOW); // raw inet: capability-gated, netns-confined
      assert.equal(run(10n), ALLOW);
      assert.equal(run(10n, 10n), ALLOW); // SOCK_PACKET remap only exists for PF_INET
      for (const fam of [0n, 3n, 4n, 5n, 9n, 16n, 17n, 24n, 29n, 30n, 31n, 38n, 40n, 44n, 45n, 46n, 0xffffn, 0xffffffffn]) {
        assert.equal(run(fam), EAFNOSUPPORT, `${call} family ${fam}`);
      }
      assert.equal(run(2n, 10n), EAFNOSUPPORT);
      assert.equal(run(2n, 10n | 0x80000n), EAFNOSUPPORT);
      // High word: the kernel would use the low word (int), we refuse instead of reasoning about it.
      assert.equal(run((1n << 32n) | 1n), EAFNOSUPPORT);
      assert.equal(run((1n << 32n) | 16n), EAFNOSUPPORT);
      assert.equal(run(0xffffffff00000002n), EAFNOSUPPORT);
    }
  }
});

test('ioctl: TIOCSTI/TIOCLINUX/TIOCSETD refused on the low word only (high word cannot bypass)', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    const run = (req: bigint, fd = 0n) => runSeccomp(prog, { nr: nr(arch, 'ioctl'), arch: NATIVE(arch), args: [fd, req, 0n] });
    for (const req of [0x5412n, 0x541cn, 0x5423n]) {
      for (const high of [0n, 1n, 0xffffffffn, 0xdeadbeefn]) assert.equal(run((high << 32n) | req), EPERM, `ioctl ${req} high ${high}`);
    }
    for (const req of [0x5401n, 0x5402n, 0x5413n, 0x540en, 0x541bn, 0x80045430n, 0xc0186201n, 0x5411n, 0n, 0x1_5401n]) assert.equal(run(req), ALLOW, `ioctl ${req}`);
  }
});

test('clone: any CLONE_NEW* in the low word refused; threads and forks allowed; high word ignored', () => {
  const NEW = [0x00020000n, 0x02000000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n];
  const THREAD = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    const run = (flags: bigint) => runSeccomp(prog, { nr: nr(arch, 'clone'), arch: NATIVE(arch), args: [flags, 0n, 0n, 0n, 0n] });
    assert.equal(run(17n), ALLOW); // fork: SIGCHLD
    assert.equal(run(THREAD), ALLOW);
    assert.equal(run(0x4111n), ALLOW); // vfork-style CLONE_VM|CLONE_VFORK|SIGCHLD
    assert.equal(run(0x80n), ALLOW); // low byte is the exit signal, not CLONE_NEWTIME
    assert.equal(run(0xffffffff_00000011n), ALLOW); // kernel uses lower_32_bits(flags)
    for (const f of NEW) {
      assert.equal(run(f | 17n), EPERM);
      assert.equal(run(f | THREAD), EPERM);
      assert.equal(run((1n << 40n) | f), EPERM);
    }
  }
});

test('personality: only PER_LINUX and the query', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    const run = (p: bigint) => runSeccomp(prog, { nr: nr(arch, 'personality'), arch: NATIVE(arch), args: [p] });
    assert.equal(run(0n), ALLOW);
    assert.equal(run(0xffffffffn), ALLOW);
    assert.equal(run(0xffffffffffffffffn), ALLOW); // kernel truncates to unsigned int: still the query
    assert.equal(run(1n << 32n), ALLOW); // kernel sees 0 = PER_LINUX
    for (const p of [8n, 0x40000n, 0x400000n, 0x100000n, 0x20000n, 0x0200000n, (1n << 32n) | 8n, 0xfffffffen]) assert.equal(run(p), EPERM, `personality ${p}`);
  }
});

test('seccomp(2): a new USER_NOTIF listener is refused, other filters and queries are allowed', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: true });
    const run = (op: bigint, flags: bigint) => runSeccomp(prog, { nr: nr(arch, 'seccomp'), arch: NATIVE(arch), args: [op, flags, 0n] });
    assert.equal(run(1n, 8n), EPERM);
    assert.equal(run(1n, 8n | 1n | 2n), EPERM);
    assert.equal(run((1n << 32n) | 1n, (7n << 32n) | 8n), EPERM);
    assert.equal(run(1n, 0n), ALLOW);
    assert.equal(run(1n, 1n), ALLOW); // TSYNC
    assert.equal(run(0n, 8n), ALLOW); // strict mode ignores flags (kernel rejects them)
    assert.equal(run(2n, 0n), ALLOW);
    assert.equal(run(3n, 0n), ALLOW);
  }
});

test('notify options: exec and open trap only when asked', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    for (const notifyExec of [false, true]) {
      for (const notifyOpen of [false, true, undefined]) {
        const o = { arch, notifyExec, ...(notifyOpen === undefined ? {} : { notifyOpen }) };
        const prog = progOf(o);
        for (const name of EXEC) assert.equal(runSeccomp(prog, { nr: nr(arch, name), arch: NATIVE(arch) }), notifyExec ? NOTIF : ALLOW);
        for (const name of OPEN) {
          const n = syscallNr(arch, name);
          if (n === undefined) continue;
          assert.equal(runSeccomp(prog, { nr: n, arch: NATIVE(arch) }), notifyOpen ? NOTIF : ALLOW, `${arch} ${name}`);
        }
      }
    }
  }
});

test('common syscalls are allowed and take the kernel action-cache fast path', () => {
  const hot = ['read', 'write', 'close', 'fstat', 'newfstatat', 'statx', 'lseek', 'mmap', 'mprotect', 'munmap', 'brk', 'madvise',
    'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'futex', 'getpid', 'gettid', 'getrandom', 'clock_gettime', 'clock_nanosleep',
    'exit_group', 'wait4', 'pipe2', 'dup3', 'fcntl', 'getdents64', 'epoll_pwait', 'epoll_ctl', 'ppoll', 'pread64', 'pwrite64',
    'readv', 'writev', 'connect', 'bind', 'listen', 'accept4', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'setsockopt',
    'getsockopt', 'shutdown', 'set_robust_list', 'rseq', 'prlimit64', 'sched_yield', 'uname', 'getcwd', 'chdir', 'mkdirat',
    'unlinkat', 'renameat2', 'readlinkat', 'faccessat2', 'memfd_create', 'inotify_add_watch', 'kill', 'tgkill', 'prctl',
    'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self', 'pidfd_open', 'pidfd_send_signal', 'close_range',
    'copy_file_range', 'splice', 'eventfd2', 'timerfd_create', 'signalfd4', 'sched_getaffinity', 'getuid', 'setuid', 'capget',
    'mseal', 'futex_waitv', 'listmount', 'statmount', 'membarrier', 'execve', 'openat'];
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    for (const name of hot) {
      const n = syscallNr(arch, name);
      assert.ok(n !== undefined, `${arch} ${name}`);
      assert.equal(runSeccomp(prog, { nr: n, arch: NATIVE(arch), args: [1n, 2n, 3n] }), ALLOW, `${arch} ${name}`);
      assert.ok(isConstAllow(prog, n, NATIVE(arch)), `${arch} ${name} would run the filter on every call`);
    }
    if (arch === 'x86_64') for (const name of ['open', 'stat', 'fork', 'vfork', 'arch_prctl', 'epoll_wait', 'poll', 'select', 'access', 'pipe']) {
      assert.ok(isConstAllow(prog, nr(arch, name), AUDIT_ARCH_X86_64), name);
    }
  }
});

test('kernel action cache: exactly the syscalls without a rule are cacheable (no arg reads on allow paths)', () => {
  for (const o of OPTION_SETS) {
    const prog = progOf(o);
    for (let n = 0; n < 1024; n++) {
      const name = nameOf(o.arch, n);
      const special = n > 470 || (name !== undefined && (EPERM_ALWAYS.has(name) || ARG_CHECKED.has(name) || name === 'clone3' ||
        (EXEC.has(name) && o.notifyExec) || (OPEN.has(name) && !!o.notifyOpen)));
      assert.equal(isConstAllow(prog, n, NATIVE(o.arch)), !special, `${o.arch} nr ${n} (${name})`);
    }
  }
});

test('hot-path length: any syscall is decided within a bounded number of instructions', () => {
  // Walk the executed path for each nr (argument loads read as 0) and count instructions. With the
  // action cache this only matters for the syscalls that have a rule, but keep the tree balanced.
  for (const o of OPTION_SETS) {
    const prog = progOf(o);
    const depth = (n: number) => {
      let pc = 0;
      let steps = 0;
      let a = 0;
      for (;;) {
        const i = prog[pc]!;
        steps++;
        if (i.code === 0x06) return steps;
        if (i.code === 0x20) a = i.k === 0 ? n : i.k === 4 ? NATIVE(o.arch) : 0;
        if (i.code === 0x05) { pc += 1 + i.k; continue; }
        if ((i.code & 7) === 5) {
          const op = i.code & 0xf0;
          const t = op === 0x10 ? a === i.k : op === 0x20 ? a > i.k : op === 0x30 ? a >= i.k : (a & i.k) !== 0;
          pc += 1 + (t ? i.jt : i.jf);
          continue;
        }
        if (i.code === 0x54) a &= i.k;
        pc++;
      }
    };
    let worst = 0;
    for (let n = 0; n < 600; n++) worst = Math.max(worst, depth(n));
    assert.ok(worst <= 20, `${o.arch}: worst-case path ${worst} instructions`);
  }
});

test('mutation check: flipping any conditional branch of the filter is caught by the oracle', () => {
  const probes: bigint[][] = [[], [0n, 0n], [1n], [2n, 1n], [2n, 10n], [10n], [16n], [0x10000000n], [0x20011n], [8n], [0xffffffffn],
    [1n, 8n], [1n, 0n], [0n, 0x5412n], [0n, 0x541cn], [0n, 0x5423n], [0n, 0x5401n], [(1n << 32n) | 1n]];
  for (const o of [OPTION_SETS[3]!, OPTION_SETS[7]!]) {
    const prog = progOf(o);
    let mutants = 0;
    prog.forEach((ins, pc) => {
      if ((ins.code & 7) !== 5 || ins.code === 0x05 || ins.jt === ins.jf) return;
      const mutant = prog.map((i, j) => (j === pc ? { ...i, jt: i.jf, jf: i.jt } : i));
      mutants++;
      let caught = false;
      outer: for (const a of [NATIVE(o.arch), AUDIT_ARCH_I386]) {
        for (let n = 0; n <= 480 && !caught; n++) {
          for (const args of probes) {
            const c = { nr: n, arch: a, args };
            if (runSeccomp(mutant, c) !== oracle(o, c)) { caught = true; break outer; }
          }
        }
        if (!caught && o.arch === 'x86_64' && runSeccomp(mutant, { nr: 0x40000000, arch: a }) !== oracle(o, { nr: 0x40000000, arch: a })) caught = true;
      }
      assert.ok(caught, `${o.arch}: swapping branches of insn ${pc} went unnoticed`);
    });
    assert.ok(mutants > 40);
  }
});

test('unknown and future syscall numbers: ENOSYS above the table, ALLOW for gaps inside it', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const prog = progOf({ arch, notifyExec: false });
    for (const n of [471, 500, 512, 547, 1000, 0x3fffffff]) assert.equal(runSeccomp(prog, { nr: n, arch: NATIVE(arch) }), ENOSYS, `${arch} ${n}`);
    const gap = arch === 'x86_64' ? 400 : 300;
    assert.equal(nameOf(arch, gap), undefined);
    assert.equal(runSeccomp(prog, { nr: gap, arch: NATIVE(arch) }), ALLOW);
  }
});

// ---- property tests ----
const interesting32 = [0, 1, 2, 3, 8, 10, 16, 17, 0x80, 0x5401, 0x5412, 0x541c, 0x5423, 0x20000, 0x40000, 0x10000000, 0x7e020000, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const word32 = fc.oneof(fc.constantFrom(...interesting32), fc.integer({ min: 0, max: 0xffffffff }));
const arg64 = fc.oneof(
  fc.tuple(fc.oneof(fc.constant(0), word32), word32).map(([hi, lo]) => (BigInt(hi) << 32n) | BigInt(lo)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
);

function callArb(arch: Arch) {
  const known = Object.values(ARCHES[arch].table) as number[];
  return fc.record({
    nr: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...known) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 600 }) },
      { weight: 1, arbitrary: fc.constantFrom(...known).map((n) => n | 0x40000000) },
      { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }) },
    ),
    arch: fc.oneof(
      { weight: 8, arbitrary: fc.constant(NATIVE(arch)) },
      { weight: 1, arbitrary: fc.constantFrom(AUDIT_ARCH_I386, AUDIT_ARCH_ARM, AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
    ),
    args: fc.array(arg64, { minLength: 0, maxLength: 6 }),
    instructionPointer: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  });
}

test('property: the interpreter never throws and returns only the actions the policy uses', () => {
  for (const o of OPTION_SETS) {
    const prog = progOf(o);
    const allowed = new Set([ALLOW, KILL, EPERM, ENOSYS, EAFNOSUPPORT, ...(o.notifyExec || o.notifyOpen ? [NOTIF] : [])]);
    fc.assert(fc.property(callArb(o.arch), (c) => {
      const r = runSeccomp(prog, c);
      assert.ok(allowed.has(r), `unexpected return 0x${r.toString(16)}`);
      assert.notEqual(decodeAction(r).action, 'kill_thread');
    }), { numRuns: 1500 });
  }
});

test('property: the deny set is exactly the specified one (filter == independent oracle)', () => {
  for (const o of OPTION_SETS) {
    const prog = progOf(o);
    fc.assert(fc.property(callArb(o.arch), (c) => {
      assert.equal(runSeccomp(prog, c), oracle(o, c), `${JSON.stringify(o)} nr=${c.nr} arch=0x${(c.arch >>> 0).toString(16)} args=${c.args.map(String)}`);
    }), { numRuns: 3000 });
  }
});

test('exhaustive: every nr 0..1100 on the native arch with zero and all-ones args matches the oracle', () => {
  for (const o of OPTION_SETS) {
    const prog = progOf(o);
    for (let n = 0; n <= 1100; n++) {
      for (const args of [[], [-1n, -1n, -1n, -1n, -1n, -1n], [2n, 1n, 0n], [0x10000011n]]) {
        const c = { nr: n, arch: NATIVE(o.arch), args };
        assert.equal(runSeccomp(prog, c), oracle(o, c), `${o.arch} nr ${n}`);
      }
    }
  }
});

test('instruction pointer never influences a decision', () => {
  const prog = progOf({ arch: 'x86_64', notifyExec: true, notifyOpen: true });
  assert.ok(!prog.some((i) => i.code === (BPF_LD | BPF_W | BPF_ABS) && (i.k === 8 || i.k === 12)));
});

test('description: one line per decision, names every syscall with its number', () => {
  for (const o of OPTION_SETS) {
    const { description } = buildSeccompFilter(o);
    assert.match(description[0]!, /KILL_PROCESS/);
    assert.equal(description.at(-1), 'everything else -> ALLOW');
    for (const rule of seccompRules(o)) {
      for (const name of rule.syscalls) {
        const n = syscallNr(o.arch, name);
        if (n !== undefined) assert.ok(description.some((l) => l.includes(`${name}(${n})`)), `${o.arch}: ${name}`);
      }
    }
    if (o.arch === 'x86_64') assert.ok(description.some((l) => l.includes('x32')));
  }
});

test('README rule table covers every rule', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  // Works from both the source tree and dist/ (README is never copied into dist).
  const candidates = [join(here, '../../../src/sandbox/seccomp/README.md'), join(here, '../../../../src/sandbox/seccomp/README.md')];
  const path = candidates.find((p) => { try { readFileSync(p); return true; } catch { return false; } });
  assert.ok(path, 'src/sandbox/seccomp/README.md not found');
  const readme = readFileSync(path, 'utf8');
  for (const rule of seccompRules({ arch: 'x86_64', notifyExec: true, notifyOpen: true })) {
    for (const name of rule.syscalls) assert.ok(readme.includes(`\`${name}\``), `README lacks ${name}`);
  }
});

test('bad options are refused with a typed error', () => {
  const bad = [
    { arch: 'i386', notifyExec: false },
    { arch: 'x86_64' },
    { arch: 'x86_64', notifyExec: 'yes' },
    { arch: 'x86_64', notifyExec: false, notifyOpen: 1 },
    null,
  ];
  for (const o of bad) {
    assert.throws(() => buildSeccompFilter(o as unknown as SeccompFilterOptions), (e: unknown) => e instanceof WardenError && e.code === 'INTERNAL');
  }
  assert.equal(compileSeccompProgram({ arch: 'aarch64', notifyExec: false }).program.length, buildSeccompFilter({ arch: 'aarch64', notifyExec: false }).insns);
});
