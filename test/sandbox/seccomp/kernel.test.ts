/**
 * Real-kernel tests of the seccomp filter: a tiny C loader (compiled here with `cc`) installs the
 * bytes produced by buildSeccompFilter() and runs probes in forked children. Three things are
 * checked for every probe:
 *   1. the kernel accepts the program (install succeeds, with and without a USER_NOTIF listener);
 *   2. what the kernel does under the filter is exactly what our interpreter predicts;
 *   3. without the filter the same call behaves differently (so each assertion can fail).
 * Probe arguments are chosen so the *baseline* (unfiltered) run is harmless even as root
 * (bad magic for reboot, oversize segment counts for kexec, NULL pointers for mount, ...).
 * If `cc` is missing the test fails with a clear message: it is never skipped silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildSeccompFilter } from '../../../src/sandbox/seccomp/filter.js';
import {
  BPF_ALU,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LSH,
  BPF_MEM,
  BPF_MOD,
  BPF_RET,
  BPF_A,
  BPF_ST,
  BPF_W,
  BPF_ABS,
  BpfError,
  SECCOMP_RET_ALLOW,
  decode,
  decodeAction,
  encode,
  insn,
  runSeccomp,
  validateSeccomp,
  type BpfErrorCode,
  type SockFilter,
} from '../../../src/sandbox/seccomp/bpf.js';
import {
  AUDIT_ARCH_I386,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWUSER,
  ARCHES,
  syscallNr,
  type Arch,
} from '../../../src/sandbox/seccomp/syscalls.js';
import { LOADER_C } from './loader-source.js';

const NATIVE: Arch | undefined = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
const SIGSYS = 31;
const SIGCHLD = 17n;
const AT_FDCWD = -100n;
const HI = 1n << 32n;

type Arg = bigint | 'Z' | `S:${string}`;
interface RawProbe {
  readonly kind: 'raw';
  readonly name: string;
  readonly syscall: string | number;
  readonly args: readonly Arg[];
  /** Must behave differently without the filter, for root and unprivileged callers alike. */
  readonly core?: boolean;
}
interface CuratedProbe {
  readonly kind: 'cur';
  readonly name: string;
  /** Expected outcome under the filter; `baseline` = same class as the unfiltered run. */
  readonly filtered: Outcome | 'baseline';
  /** The filter refuses it (so the unfiltered run should look different). */
  readonly denied: boolean;
  readonly core?: boolean;
  readonly only?: Arch;
}
type Probe = RawProbe | CuratedProbe;

interface Outcome {
  readonly kind: 'ok' | 'err' | 'sig' | 'exit' | 'install';
  readonly value: number;
}

const raw = (name: string, syscall: string | number, args: Arg[], core = false): RawProbe => ({ kind: 'raw', name, syscall, args, core });

/** Denied (or arg-checked) calls. */
const RAW_PROBES: readonly RawProbe[] = [
  raw('unshare_newuser', 'unshare', [BigInt(CLONE_NEWUSER)], true),
  raw('unshare_fs', 'unshare', [0x200n]),
  raw('setns_badfd', 'setns', [-1n, 0n], true),
  raw('clone_newuser', 'clone', [BigInt(CLONE_NEWUSER) | SIGCHLD, 0n, 0n, 0n, 0n], true),
  raw('clone_newuser_hiword', 'clone', [HI | BigInt(CLONE_NEWUSER) | SIGCHLD, 0n, 0n, 0n, 0n], true),
  raw('clone_newnet', 'clone', [BigInt(CLONE_NEWNET) | SIGCHLD, 0n, 0n, 0n, 0n]),
  raw('clone_newns', 'clone', [BigInt(CLONE_NEWNS) | SIGCHLD, 0n, 0n, 0n, 0n]),
  raw('clone_plain_fork', 'clone', [SIGCHLD, 0n, 0n, 0n, 0n]),
  raw('clone_hiword_fork', 'clone', [HI | SIGCHLD, 0n, 0n, 0n, 0n]),
  raw('clone3_null', 'clone3', [0n, 0n], true),
  raw('socket_netlink', 'socket', [16n, 3n, 0n], true),
  raw('socket_netlink_hiword', 'socket', [HI | 16n, 3n, 0n], true),
  raw('socket_packet', 'socket', [17n, 3n, 0x300n], true),
  raw('socket_inet_sock_packet', 'socket', [2n, 10n, 0x300n], true),
  raw('socket_inet_sock_packet_cloexec', 'socket', [2n, 10n | 0x80000n, 0x300n], true),
  raw('socket_vsock', 'socket', [40n, 1n, 0n]),
  raw('socket_alg', 'socket', [38n, 5n, 0n]),
  raw('socket_unix_hiword', 'socket', [HI | 1n, 1n, 0n], true),
  raw('socket_inet_stream', 'socket', [2n, 1n, 0n]),
  raw('socket_inet_dgram_cloexec', 'socket', [2n, 2n | 0x80000n, 0n]),
  raw('socket_inet6_dgram', 'socket', [10n, 2n, 0n]),
  raw('socket_unix_stream', 'socket', [1n, 1n, 0n]),
  raw('socketpair_unix', 'socketpair', [1n, 1n, 0n, 'Z']),
  raw('socketpair_netlink', 'socketpair', [16n, 3n, 0n, 'Z'], true),
  raw('io_uring_setup', 'io_uring_setup', [1n, 'Z']),
  raw('io_uring_enter_badfd', 'io_uring_enter', [-1n, 0n, 0n, 0n, 0n, 0n], true),
  raw('io_uring_register_badfd', 'io_uring_register', [-1n, 0n, 0n, 0n], true),
  raw('ptrace_traceme', 'ptrace', [0n, 0n, 0n, 0n], true),
  raw('process_vm_readv_empty', 'process_vm_readv', [0n, 0n, 0n, 0n, 0n, 0n], true),
  raw('process_vm_writev_empty', 'process_vm_writev', [0n, 0n, 0n, 0n, 0n, 0n], true),
  raw('pidfd_getfd_badfd', 'pidfd_getfd', [-1n, 0n, 0n], true),
  raw('kcmp_self', 'kcmp', [0n, 0n, 0n, 0n, 0n]),
  raw('process_madvise_badfd', 'process_madvise', [-1n, 0n, 0n, 0n, 0n], true),
  raw('bpf_bad_cmd', 'bpf', [0x7fffn, 0n, 0n]),
  raw('perf_event_open_null', 'perf_event_open', [0n, 0n, -1n, -1n, 0n], true),
  raw('add_key_null', 'add_key', ['S:user', 0n, 0n, 0n, 0n], true),
  raw('request_key_missing', 'request_key', ['S:user', 'S:warden-probe-missing', 0n, 0n], true),
  raw('keyctl_session_id', 'keyctl', [0n, -3n, 0n], true),
  raw('userfaultfd_user_mode', 'userfaultfd', [1n], true),
  raw('mount_null', 'mount', [0n, 0n, 0n, 0n, 0n], true),
  raw('umount2_null', 'umount2', [0n, 0n], true),
  raw('pivot_root_null', 'pivot_root', [0n, 0n]),
  raw('chroot_missing', 'chroot', ['S:/nonexistent-warden-probe'], true),
  raw('move_mount_badfd', 'move_mount', [-1n, 'S:', -1n, 'S:', 0n]),
  raw('open_tree_root', 'open_tree', [AT_FDCWD, 'S:/', 0n], true),
  raw('open_tree_attr_root', 'open_tree_attr', [AT_FDCWD, 'S:/', 0n, 0n, 0n]),
  raw('fsopen_tmpfs', 'fsopen', ['S:tmpfs', 0n]),
  raw('fsconfig_badfd', 'fsconfig', [-1n, 0n, 0n, 0n, 0n]),
  raw('fsmount_badfd', 'fsmount', [-1n, 0n, 0n]),
  raw('fspick_root', 'fspick', [AT_FDCWD, 'S:/', 0n]),
  raw('mount_setattr_badsize', 'mount_setattr', [-1n, 'S:', 0n, 0n, 0n], true),
  raw('open_by_handle_at_null', 'open_by_handle_at', [AT_FDCWD, 0n, 0n]),
  raw('name_to_handle_at_root', 'name_to_handle_at', [AT_FDCWD, 'S:/', 'Z', 'Z', 0n], true),
  raw('kexec_load_too_many_segments', 'kexec_load', [0n, 0x1000n, 0n, 0n]),
  raw('kexec_file_load_bad_flags', 'kexec_file_load', [-1n, -1n, 0n, 0n, 0xffffffffn]),
  raw('init_module_null', 'init_module', [0n, 0n, 0n]),
  raw('finit_module_badfd', 'finit_module', [-1n, 'S:', 0n]),
  raw('delete_module_null', 'delete_module', [0n, 0n]),
  raw('create_module', 'create_module', [0n, 0n], true),
  raw('acct_missing', 'acct', ['S:/nonexistent-warden-probe/acct']),
  raw('swapon_null', 'swapon', [0n, 0n]),
  raw('swapoff_null', 'swapoff', [0n]),
  raw('reboot_bad_magic', 'reboot', [0n, 0n, 0n, 0n]),
  raw('sethostname_bad_len', 'sethostname', [0n, -1n]),
  raw('setdomainname_bad_len', 'setdomainname', [0n, -1n]),
  raw('settimeofday_noop', 'settimeofday', [0n, 0n]),
  raw('clock_settime_bad_clock', 'clock_settime', [-1n, 0n], true),
  raw('adjtimex_query', 'adjtimex', ['Z'], true),
  raw('clock_adjtime_query', 'clock_adjtime', [0n, 'Z'], true),
  raw('syslog_size', 'syslog', [10n, 0n, 0n]),
  raw('quotactl_bad', 'quotactl', [0n, 0n, 0n, 0n], true),
  raw('quotactl_fd_badfd', 'quotactl_fd', [-1n, 0n, 0n, 0n], true),
  raw('lookup_dcookie', 'lookup_dcookie', [0n, 0n, 0n], true),
  raw('nfsservctl', 'nfsservctl', [0n, 0n, 0n], true),
  raw('uselib_null', 'uselib', [0n], true),
  raw('vhangup_no_tty', 'vhangup', []),
  raw('iopl_zero', 'iopl', [0n], true),
  raw('ioperm_off', 'ioperm', [0n, 0n, 0n], true),
  raw('modify_ldt_read', 'modify_ldt', [0n, 'Z', 16n], true),
  raw('fanotify_init_fid', 'fanotify_init', [0x200n, 0n], true),
  raw('fanotify_mark_badfd', 'fanotify_mark', [-1n, 0n, 0n, 0n, 0n], true),
  raw('personality_linux32', 'personality', [8n], true),
  raw('personality_addr_no_randomize', 'personality', [0x40000n], true),
  raw('personality_linux32_hiword', 'personality', [HI | 8n], true),
  raw('personality_zero', 'personality', [0n]),
  raw('personality_query', 'personality', [0xffffffffn]),
  raw('ioctl_tiocsti_badfd', 'ioctl', [-1n, 0x5412n, 0n], true),
  raw('ioctl_tiocsti_hiword_badfd', 'ioctl', [-1n, HI | 0x5412n, 0n], true),
  raw('ioctl_tioclinux_badfd', 'ioctl', [-1n, 0x541cn, 0n], true),
  raw('ioctl_tiocsetd_badfd', 'ioctl', [-1n, 0x5423n, 0n], true),
  raw('ioctl_tcgets_badfd', 'ioctl', [-1n, 0x5401n, 0n]),
  raw('seccomp_new_listener', 'seccomp', [1n, 8n, 0n], true),
  raw('seccomp_plain_filter_null', 'seccomp', [1n, 0n, 0n]),
  raw('seccomp_action_avail', 'seccomp', [2n, 0n, 'Z']),
  raw('x32_getpid', 0x40000000 + 39, [], true),
  raw('nr_minus_one', -1, [], true),
  raw('nr_beyond_table', 1000, []),
  raw('getpid', 'getpid', []),
  raw('openat_devnull', 'openat', [AT_FDCWD, 'S:/dev/null', 0n, 0n]),
  raw('open_devnull', 'open', ['S:/dev/null', 0n, 0n]),
  raw('creat_missing_dir', 'creat', ['S:/nonexistent-warden-probe/x', 0o600n]),
  raw('execveat_badfd', 'execveat', [-1n, 'S:', 0n, 0n, 0n]),
];

const CURATED: readonly CuratedProbe[] = [
  // i386 getpid via int 0x80 from a 64-bit process: must die with SIGSYS.
  { kind: 'cur', name: 'int80_getpid', filtered: { kind: 'sig', value: SIGSYS }, denied: true, core: true, only: 'x86_64' },
  // clone3 -> ENOSYS must make glibc fall back to clone(): threads, fork and posix_spawn keep working.
  { kind: 'cur', name: 'pthread_create', filtered: { kind: 'ok', value: 0 }, denied: false },
  { kind: 'cur', name: 'fork', filtered: { kind: 'ok', value: 7 }, denied: false },
  { kind: 'cur', name: 'posix_spawn_true', filtered: { kind: 'ok', value: 0 }, denied: false },
  { kind: 'cur', name: 'execve_true', filtered: { kind: 'exit', value: 0 }, denied: false },
  // Terminal injection on a real pty that is the caller's controlling terminal.
  { kind: 'cur', name: 'pty_tiocsti', filtered: { kind: 'err', value: 1 }, denied: true, core: true },
  { kind: 'cur', name: 'pty_tiocsti_hiword', filtered: { kind: 'err', value: 1 }, denied: true, core: true },
  { kind: 'cur', name: 'pty_tioclinux', filtered: { kind: 'err', value: 1 }, denied: true },
  { kind: 'cur', name: 'pty_tcgets', filtered: 'baseline', denied: false },
];

function u64hex(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16);
}

function probeNr(arch: Arch, p: RawProbe): number | undefined {
  return typeof p.syscall === 'number' ? p.syscall : syscallNr(arch, p.syscall);
}

function probeLines(arch: Arch, probes: readonly Probe[]): string {
  return probes
    .map((p) => {
      if (p.kind === 'cur') return `cur ${p.name}`;
      const nr = probeNr(arch, p)!;
      const args = p.args.map((a) => (typeof a === 'bigint' ? u64hex(a) : a));
      while (args.length < 6) args.push('0');
      return `raw ${p.name} ${u64hex(BigInt(nr))} ${args.join(' ')}`;
    })
    .join('\n') + '\n';
}

function parseOutput(out: string): Map<string, Outcome> {
  const m = new Map<string, Outcome>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const [name, kind, value] = line.trim().split(/\s+/);
    assert.ok(name && kind && value !== undefined, `malformed loader line ${JSON.stringify(line)}`);
    assert.ok(['ok', 'err', 'sig', 'exit', 'install'].includes(kind), `malformed loader line ${JSON.stringify(line)}`);
    m.set(name, { kind: kind as Outcome['kind'], value: Number(value) });
  }
  return m;
}

const show = (o: Outcome | undefined) => (o ? `${o.kind} ${o.value}` : 'missing');

/** Interpreter prediction for a raw probe; pointer args must not influence the decision. */
function predict(filterBytes: Uint8Array, arch: Arch, p: RawProbe, nrOverride?: number): { action: string; data: number } {
  const prog = decode(filterBytes);
  const nr = nrOverride ?? probeNr(arch, p)!;
  const argsWith = (ptr: bigint) => p.args.map((a) => (typeof a === 'bigint' ? a : ptr));
  const r1 = runSeccomp(prog, { nr, arch: ARCHES[arch].auditArch, args: argsWith(0n) });
  const r2 = runSeccomp(prog, { nr, arch: ARCHES[arch].auditArch, args: argsWith(0x7fff_dead_b000n) });
  assert.equal(r1, r2, `${p.name}: filter decision depends on a pointer argument`);
  return decodeAction(r1);
}

function expectedFiltered(pred: { action: string; data: number }, nr: number, mode: 'filter' | 'notify'): Outcome | 'baseline' {
  switch (pred.action) {
    case 'errno': return { kind: 'err', value: pred.data };
    case 'kill_process': return { kind: 'sig', value: SIGSYS };
    case 'allow': return 'baseline';
    case 'user_notif':
      assert.equal(mode, 'notify', 'USER_NOTIF predicted for a filter built without notify');
      return { kind: 'err', value: 1000 + nr };
    default:
      assert.fail(`unexpected action ${pred.action}`);
  }
}

function sameClass(a: Outcome | undefined, b: Outcome | undefined): boolean {
  if (!a || !b) return false;
  if (a.kind !== b.kind) return false;
  return a.kind === 'ok' ? true : a.value === b.value;
}

interface Env {
  readonly dir: string;
  readonly loader: string;
}

function buildLoader(): Env {
  const which = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (which.error) {
    assert.fail(`real-kernel seccomp test needs a C compiler: running "cc" failed (${which.error.message}); install gcc (e.g. apt-get install gcc)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'warden-seccomp-'));
  chmodSync(dir, 0o755); // the unprivileged pass runs the loader as nobody
  const src = join(dir, 'loader.c');
  const loader = join(dir, 'loader');
  writeFileSync(src, LOADER_C);
  const cc = spawnSync('cc', ['-O1', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', loader, src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `compiling the probe loader failed:\n${cc.stderr}`);
  return { dir, loader };
}

function runLoader(env: Env, mode: 'baseline' | 'filter' | 'notify', filter: Uint8Array, probes: string, asUser?: number): Map<string, Outcome> {
  const tag = `${mode}-${asUser ?? 'self'}-${Math.random().toString(36).slice(2)}`;
  const ff = join(env.dir, `filter-${tag}.bin`);
  const pf = join(env.dir, `probes-${tag}.txt`);
  writeFileSync(ff, filter, { mode: 0o644 });
  writeFileSync(pf, probes, { mode: 0o644 });
  const cmd = asUser === undefined ? env.loader : 'setpriv';
  const args = asUser === undefined
    ? [mode, ff, pf]
    : [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--', env.loader, mode, ff, pf];
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `loader ${mode} failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return parseOutput(r.stdout);
}

function checkFilterRun(
  t: { diagnostic: (s: string) => void },
  arch: Arch,
  bytes: Uint8Array,
  probes: readonly Probe[],
  base: Map<string, Outcome>,
  filt: Map<string, Outcome>,
  mode: 'filter' | 'notify',
): void {
  const failures: string[] = [];
  const indistinct: string[] = [];
  const rows: string[] = [];
  for (const p of probes) {
    const b = base.get(p.name);
    const f = filt.get(p.name);
    let exp: Outcome | 'baseline';
    let denied: boolean;
    if (p.kind === 'raw') {
      const nr = probeNr(arch, p)!;
      exp = expectedFiltered(predict(bytes, arch, p), nr, mode);
      denied = exp !== 'baseline';
    } else {
      exp = p.filtered;
      denied = p.denied;
      if (p.name === 'int80_getpid') {
        // Cross-check the interpreter too: i386 getpid(20) arrives with AUDIT_ARCH_I386.
        const r = decodeAction(runSeccomp(decode(bytes), { nr: 20, arch: AUDIT_ARCH_I386 }));
        assert.equal(r.action, 'kill_process');
      }
      if (mode === 'notify' && p.name === 'execve_true') {
        exp = { kind: 'err', value: 1000 + syscallNr(arch, 'execve')! };
        denied = true;
      }
    }
    if (f?.kind === 'install') failures.push(`${p.name}: filter install failed with errno ${f.value}`);
    const ok = exp === 'baseline' ? sameClass(f, b) : f !== undefined && f.kind === exp.kind && (f.kind === 'ok' && exp.kind === 'ok' && p.kind === 'raw' ? true : f.value === exp.value);
    if (!ok) failures.push(`${p.name}: kernel under filter gave ${show(f)}, expected ${exp === 'baseline' ? `baseline (${show(b)})` : show(exp)}`);
    if (denied && sameClass(f, b)) {
      indistinct.push(p.name);
      if (p.core) failures.push(`${p.name}: baseline (${show(b)}) is indistinguishable from the filtered result — the probe proves nothing`);
    }
    rows.push(`${p.name.padEnd(34)} baseline=${show(b).padEnd(12)} filtered=${show(f).padEnd(12)} ${denied ? 'DENIED' : 'allowed'}`);
  }
  t.diagnostic(`[${mode}] probe results (${rows.length}):`);
  for (const r of rows) t.diagnostic(r);
  if (indistinct.length) t.diagnostic(`[${mode}] denied but baseline looked the same here (privilege/kernel config): ${indistinct.join(', ')}`);
  assert.deepEqual(failures, []);
}

test('real kernel enforces the seccomp filter exactly as the interpreter predicts', async (t) => {
  assert.ok(NATIVE, `kernel test supports x86_64 and aarch64 hosts, not ${process.arch}`);
  const arch = NATIVE;
  const env = buildLoader();
  t.after(() => rmSync(env.dir, { recursive: true, force: true }));

  const probes: Probe[] = [
    ...RAW_PROBES.filter((p) => probeNr(arch, p) !== undefined && (arch === 'x86_64' || (p.name !== 'x32_getpid'))),
    ...CURATED.filter((p) => !p.only || p.only === arch),
  ];
  const lines = probeLines(arch, probes);
  const filter = buildSeccompFilter({ arch, notifyExec: false });

  await t.test('as the current user', (tt) => {
    const base = runLoader(env, 'baseline', filter.bytes, lines);
    const filt = runLoader(env, 'filter', filter.bytes, lines);
    checkFilterRun(tt, arch, filter.bytes, probes, base, filt, 'filter');
  });

  await t.test('as an unprivileged user (nobody via setpriv)', (tt) => {
    if (process.getuid?.() !== 0) {
      tt.skip('not root: the run above already was unprivileged');
      return;
    }
    if (!['/usr/bin/setpriv', '/bin/setpriv'].some(existsSync)) {
      tt.skip('setpriv (util-linux) not installed: cannot drop to nobody');
      return;
    }
    const base = runLoader(env, 'baseline', filter.bytes, lines, 65534);
    const filt = runLoader(env, 'filter', filter.bytes, lines, 65534);
    checkFilterRun(tt, arch, filter.bytes, probes, base, filt, 'filter');
  });

  await t.test('USER_NOTIF: exec and open reach a listener with the right nr; other rules still apply', (tt) => {
    const notifyFilter = buildSeccompFilter({ arch, notifyExec: true, notifyOpen: true });
    const names = new Set(['openat_devnull', 'open_devnull', 'creat_missing_dir', 'execveat_badfd', 'getpid', 'socket_netlink', 'seccomp_new_listener', 'clone3_null', 'socket_unix_stream']);
    const np: Probe[] = [
      ...probes.filter((p) => p.kind === 'raw' && names.has(p.name)),
      ...CURATED.filter((p) => ['execve_true', 'pthread_create'].includes(p.name)),
    ];
    assert.ok(np.length >= 7);
    const nl = probeLines(arch, np);
    const base = runLoader(env, 'baseline', notifyFilter.bytes, nl);
    const filt = runLoader(env, 'notify', notifyFilter.bytes, nl);
    checkFilterRun(tt, arch, notifyFilter.bytes, np, base, filt, 'notify');
  });

  await t.test('validator agrees with the kernel on which programs are invalid', () => {
    const A = (code: number, k: number, jt = 0, jf = 0) => insn(code, jt, jf, k);
    const LD_ABS = BPF_LD | BPF_W | BPF_ABS;
    const RET_K = BPF_RET | BPF_K;
    const allow = A(RET_K, SECCOMP_RET_ALLOW);
    const cases: { name: string; prog: SockFilter[]; code?: BpfErrorCode }[] = [
      { name: 'misaligned load', prog: [A(LD_ABS, 2), allow], code: 'BPF_BAD_LOAD' },
      { name: 'load past seccomp_data', prog: [A(LD_ABS, 64), allow], code: 'BPF_BAD_LOAD' },
      { name: 'halfword load', prog: [A(BPF_LD | BPF_H | BPF_ABS, 0), allow], code: 'BPF_BAD_OPCODE' },
      { name: 'mod (not in the seccomp subset)', prog: [A(BPF_ALU | BPF_MOD | BPF_K, 3), allow], code: 'BPF_BAD_OPCODE' },
      { name: 'branch out of program', prog: [A(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), allow], code: 'BPF_BAD_JUMP' },
      { name: 'ja out of program', prog: [A(BPF_JMP | BPF_JA, 1), allow], code: 'BPF_BAD_JUMP' },
      { name: 'no final ret', prog: [allow, A(LD_ABS, 0)], code: 'BPF_NO_RET' },
      { name: 'divide by constant 0', prog: [A(BPF_ALU | BPF_DIV | BPF_K, 0), allow], code: 'BPF_DIV_BY_ZERO' },
      { name: 'shift by 32', prog: [A(BPF_ALU | BPF_LSH | BPF_K, 32), allow], code: 'BPF_BAD_SHIFT' },
      { name: 'scratch slot 16', prog: [A(BPF_ST, 16), allow], code: 'BPF_BAD_MEM' },
      {
        name: 'scratch read before write on one path',
        prog: [A(LD_ABS, 0), A(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1), A(BPF_ST, 3), A(BPF_LD | BPF_MEM, 3), allow],
        code: 'BPF_UNINIT_MEM',
      },
      {
        name: 'valid: scratch written on every path, ja, ret a',
        prog: [A(LD_ABS, 0), A(BPF_ST, 3), A(BPF_JMP | BPF_JEQ | BPF_K, 39, 1, 0), A(BPF_JMP | BPF_JA, 0), A(BPF_LD | BPF_MEM, 3), A(BPF_LD | BPF_IMM, SECCOMP_RET_ALLOW), A(BPF_RET | BPF_A, 0)],
      },
    ];
    const getpid = probeLines(arch, [raw('getpid', 'getpid', [])]);
    for (const c of cases) {
      const out = runLoader(env, 'filter', encode(c.prog), getpid).get('getpid');
      if (c.code) {
        assert.throws(() => validateSeccomp(c.prog), (e: unknown) => e instanceof BpfError && e.code === c.code, c.name);
        assert.deepEqual(out, { kind: 'install', value: 22 }, `${c.name}: kernel should refuse with EINVAL`);
      } else {
        validateSeccomp(c.prog);
        assert.equal(out?.kind, 'ok', `${c.name}: kernel should accept (got ${show(out)})`);
      }
    }
  });
});
