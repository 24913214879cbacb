/**
 * Warden's seccomp deny-list (layer L0 "kernel floor", plus the L1 user-notify hooks).
 *
 * Threat: the agent process tree is hostile and runs arbitrary native code. This filter is one
 * layer of several: it does not decide file or network policy (Landlock, namespaces and the egress
 * proxy do); it removes kernel interfaces that would let the agent *get around* those layers
 * (io_uring, ptrace, new namespaces, mounts, raw/netlink sockets, foreign ABIs, ...) or that are
 * pure kernel attack surface an agent never needs, and it routes execve/execveat (and optionally
 * opens) to the supervisor with SECCOMP_RET_USER_NOTIF.
 *
 * Invariants (each is tested against the interpreter and, where safe, the real kernel):
 *  1. The first decision is the ABI: any `arch` other than the native one is KILL_PROCESS (i386
 *     `int 0x80` / compat syscalls see a different syscall table, so no nr-based rule could hold);
 *     on x86_64 any nr with the x32 bit (nr >= 0x40000000, which includes nr = -1) is KILL_PROCESS.
 *  2. Rules that read arguments only ever decide from the argument words the kernel itself uses:
 *     `int`/`unsigned int` arguments are truncated to their low 32 bits by the kernel, so matching
 *     on the full 64-bit value would be bypassable by setting high bits (CVE-2019-10063, flatpak's
 *     TIOCSTI filter). See `argument checks` below for each case.
 *  3. Every path that ends in ALLOW depends only on (arch, nr). The kernel's seccomp action cache
 *     then marks those syscalls always-allowed and never runs the filter for them again — the hot
 *     path (read/write/mmap/futex/...) costs nothing. Only the syscalls named here run the filter.
 *  4. Syscalls newer than our table (nr > maxKnownNr) get ENOSYS: new kernel surface fails closed,
 *     and libc treats ENOSYS as "not supported here" and falls back.
 *
 * Pure logic, no I/O, no module-level mutable state.
 */

import { WardenError } from '../../errors.js';
import {
  assemble,
  encode,
  andK,
  ja,
  jeq,
  jge,
  jset,
  label,
  ldAbs,
  ret,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_USER_NOTIF,
  type AsmItem,
  type SockFilter,
} from './bpf.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  ARCHES,
  CLONE_FLAGS_ARG,
  CLONE_NEW_MASK,
  EAFNOSUPPORT,
  ENOSYS,
  EPERM,
  PER_LINUX,
  PERSONALITY_QUERY,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_SET_MODE_FILTER,
  SOCK_PACKET,
  SOCK_TYPE_MASK,
  TIOCLINUX,
  TIOCSETD,
  TIOCSTI,
  X32_SYSCALL_BIT,
  argHi,
  argLo,
  syscallNr,
  type Arch,
  type SyscallName,
} from './syscalls.js';

export interface SeccompFilterOptions {
  readonly arch: Arch;
  /** execve/execveat -> SECCOMP_RET_USER_NOTIF (the helper must install with FLAG_NEW_LISTENER). */
  readonly notifyExec: boolean;
  /** open/creat/openat/openat2 -> SECCOMP_RET_USER_NOTIF, for "ask" file zones. Default false. */
  readonly notifyOpen?: boolean;
}

export interface SeccompFilter {
  /** struct sock_filter[] serialised little-endian, ready for struct sock_fprog { len = insns }. */
  readonly bytes: Uint8Array;
  /** Instruction count (bytes.length / 8); always <= 4096 and validated as the kernel would. */
  readonly insns: number;
  /** One human-readable line per decision, in evaluation order (for `warden doctor`, audit, docs). */
  readonly description: string[];
}

/** Argument-dependent rules; each compiles to one block of the program. */
export type ArgCheck = 'socket-family' | 'ioctl-request' | 'clone-flags' | 'personality' | 'seccomp-listener';

export type RuleAction =
  | { readonly kind: 'errno'; readonly errno: number }
  | { readonly kind: 'kill' }
  | { readonly kind: 'notify' }
  | { readonly kind: 'args'; readonly check: ArgCheck };

export interface SeccompRule {
  /** Names from syscalls.ts; a name the arch does not have is skipped for that arch. */
  readonly syscalls: readonly SyscallName[];
  readonly action: RuleAction;
  /** The threat, in one sentence. */
  readonly why: string;
}

const EPERM_ACTION = { kind: 'errno', errno: EPERM } as const;

/**
 * The policy as data, in the order it is documented. `buildSeccompFilter` compiles exactly this;
 * the README table and `description` are derived from the same list.
 */
export function seccompRules(opts: SeccompFilterOptions): readonly SeccompRule[] {
  const rules: SeccompRule[] = [
    {
      syscalls: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
      action: EPERM_ACTION,
      why: 'io_uring performs opens, reads, connects, ... from kernel context that seccomp never sees, so it bypasses this filter and exec/open mediation; also a large exploit surface',
    },
    {
      syscalls: ['ptrace', 'process_vm_readv', 'process_vm_writev'],
      action: EPERM_ACTION,
      why: 'read/write another process\'s memory and registers: steal secrets from siblings, rewrite a syscall or its argument after it was checked',
    },
    {
      syscalls: ['pidfd_getfd', 'kcmp', 'process_madvise'],
      action: EPERM_ACTION,
      why: 'ptrace-class cross-process access (steal file descriptors, compare kernel objects, manipulate another process\'s memory)',
    },
    {
      syscalls: ['bpf', 'perf_event_open'],
      action: EPERM_ACTION,
      why: 'verifier/perf kernel attack surface, kernel pointer and side-channel leaks, observing other processes',
    },
    {
      syscalls: ['add_key', 'request_key', 'keyctl'],
      action: EPERM_ACTION,
      why: 'kernel keyrings are not namespaced: the user/session keyring can hold host credentials; historic LPE bugs',
    },
    {
      syscalls: ['userfaultfd'],
      action: EPERM_ACTION,
      why: 'stalls kernel accesses to chosen pages: the standard primitive for winning kernel races and for freezing the supervisor\'s reads of tracee memory',
    },
    {
      syscalls: [
        'mount', 'umount2', 'pivot_root', 'chroot', 'move_mount', 'open_tree', 'open_tree_attr',
        'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
      ],
      action: EPERM_ACTION,
      why: 'would change the filesystem view that the mount namespace and Landlock were built on; mounting inside a user namespace is a rich exploit surface',
    },
    {
      syscalls: ['unshare', 'setns'],
      action: EPERM_ACTION,
      why: 'a new user namespace hands out a full capability set (netfilter, mounts, ...) — the usual precondition of kernel LPEs; setns could re-enter other namespaces',
    },
    {
      syscalls: ['clone'],
      action: { kind: 'args', check: 'clone-flags' },
      why: 'clone with any CLONE_NEW* flag is unshare by another name -> EPERM; plain fork/thread creation is allowed',
    },
    {
      syscalls: ['clone3'],
      action: { kind: 'errno', errno: ENOSYS },
      why: 'its flags live behind a pointer seccomp cannot read; ENOSYS makes glibc/musl/Go fall back to clone(), whose flags we can check',
    },
    {
      syscalls: ['open_by_handle_at', 'name_to_handle_at'],
      action: EPERM_ACTION,
      why: 'opens inodes by handle, bypassing path-based confinement (Landlock, mount namespace): the "shocker" container escape',
    },
    {
      syscalls: [
        'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
        'create_module', 'get_kernel_syms', 'query_module',
      ],
      action: EPERM_ACTION,
      why: 'replace or extend the running kernel (the last three are long removed: kept for completeness)',
    },
    {
      syscalls: ['socket', 'socketpair'],
      action: { kind: 'args', check: 'socket-family' },
      why: 'only AF_UNIX/AF_INET/AF_INET6 -> anything else (netlink, packet, vsock, bluetooth, ...) EAFNOSUPPORT; reaches kernel subsystems and paths around the egress proxy',
    },
    {
      syscalls: ['ioctl'],
      action: { kind: 'args', check: 'ioctl-request' },
      why: 'TIOCSTI/TIOCLINUX push keystrokes into a terminal the user later reads (command injection outside the sandbox); TIOCSETD loads line disciplines (n_gsm/n_hdlc exploit history)',
    },
    {
      syscalls: ['personality'],
      action: { kind: 'args', check: 'personality' },
      why: 'only PER_LINUX and the 0xffffffff query: flags like READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and MMAP_PAGE_ZERO weaken exploit mitigations',
    },
    {
      syscalls: ['seccomp'],
      action: { kind: 'args', check: 'seccomp-listener' },
      why: 'a newer filter\'s USER_NOTIF listener would take precedence over Warden\'s and could answer CONTINUE for execve; adding ordinary (stricter) filters stays allowed',
    },
    {
      syscalls: ['fanotify_init', 'fanotify_mark'],
      action: EPERM_ACTION,
      why: 'mount-wide file event monitoring (Landlock does not mediate marks): observe other processes\' file activity; permission events can stall other processes',
    },
    {
      syscalls: ['acct', 'swapon', 'swapoff', 'reboot', 'sethostname', 'setdomainname'],
      action: EPERM_ACTION,
      why: 'host administration; no agent needs it (capability-gated, denied here too so a degraded namespace layer cannot expose it)',
    },
    {
      syscalls: ['settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime'],
      action: EPERM_ACTION,
      why: 'the clock is global: changing it would corrupt audit timestamps and TLS/approval expiry (read-only adjtimex queries are refused too)',
    },
    {
      syscalls: ['syslog'],
      action: EPERM_ACTION,
      why: 'kernel log: kernel addresses and other tenants\' messages',
    },
    {
      syscalls: ['quotactl', 'quotactl_fd', 'lookup_dcookie', 'nfsservctl', 'uselib', 'vhangup'],
      action: EPERM_ACTION,
      why: 'obsolete or administrative interfaces with exploit history (uselib loads a library with no exec check; vhangup revokes the shared terminal)',
    },
    {
      syscalls: ['iopl', 'ioperm', 'modify_ldt'],
      action: EPERM_ACTION,
      why: 'x86 hardware-level interfaces: direct I/O port access, per-process LDT (historic kernel bugs)',
    },
  ];
  if (opts.notifyExec) {
    rules.push({
      syscalls: ['execve', 'execveat'],
      action: { kind: 'notify' },
      why: 'every program start is decided by the supervisor (command policy, approvals, audit); Landlock execute rights bound what a racing CONTINUE can run',
    });
  }
  if (opts.notifyOpen) {
    rules.push({
      syscalls: ['open', 'creat', 'openat', 'openat2'],
      action: { kind: 'notify' },
      why: '"ask" file zones: an open in a zone is decided by the supervisor and emulated (the helper opens the file it decided on and injects it with ADDFD); other opens CONTINUE, which cannot reach a zone (masked at the floor)',
    });
  }
  return rules;
}

// ---- compilation ----

const L = {
  allow: 'ret_allow',
  eperm: 'ret_eperm',
  enosys: 'ret_enosys',
  eafnosupport: 'ret_eafnosupport',
  notify: 'ret_notify',
  kill: 'ret_kill',
} as const;

const RETURNS: readonly (readonly [string, number])[] = [
  [L.allow, SECCOMP_RET_ALLOW],
  [L.eperm, SECCOMP_RET_ERRNO | EPERM],
  [L.enosys, SECCOMP_RET_ERRNO | ENOSYS],
  [L.eafnosupport, SECCOMP_RET_ERRNO | EAFNOSUPPORT],
  [L.notify, SECCOMP_RET_USER_NOTIF],
  [L.kill, SECCOMP_RET_KILL_PROCESS],
];

function errnoLabel(errno: number): string {
  if (errno === EPERM) return L.eperm;
  if (errno === ENOSYS) return L.enosys;
  if (errno === EAFNOSUPPORT) return L.eafnosupport;
  throw new WardenError('INTERNAL', `seccomp: no return block for errno ${errno}`);
}

const checkLabel = (c: ArgCheck) => `chk_${c}`;

function targetOf(a: RuleAction): string {
  switch (a.kind) {
    case 'errno': return errnoLabel(a.errno);
    case 'kill': return L.kill;
    case 'notify': return L.notify;
    case 'args': return checkLabel(a.check);
  }
}

/**
 * Argument blocks. On entry A holds nr; each block loads what it needs. The seccomp_data layout is
 * little-endian on both ABIs: argLo(i) is bits 0..31 of args[i], argHi(i) bits 32..63.
 */
function argBlock(check: ArgCheck, arch: Arch): AsmItem[] {
  switch (check) {
    case 'socket-family':
      // socket(int family, int type, int protocol) — the kernel uses the low 32 bits of family.
      // We additionally refuse a non-zero high word (no real caller produces one for a positive int):
      // deny is the safe direction, and it keeps the rule independent of sign-extension reasoning.
      // (PF_INET, SOCK_PACKET) is silently converted to PF_PACKET by __sock_create(): refuse it.
      return [
        ldAbs(argHi(0)),
        jeq(0, null, L.eafnosupport),
        ldAbs(argLo(0)),
        jeq(AF_UNIX, L.allow, null),
        jeq(AF_INET6, L.allow, null),
        jeq(AF_INET, null, L.eafnosupport),
        ldAbs(argLo(1)),
        andK(SOCK_TYPE_MASK),
        jeq(SOCK_PACKET, L.eafnosupport, L.allow),
      ];
    case 'ioctl-request':
      // ioctl(unsigned int fd, unsigned int cmd, unsigned long arg): the kernel truncates cmd to 32
      // bits, so the high word must NOT take part in the match (else 0x1_00005412 would pass).
      return [
        ldAbs(argLo(1)),
        jeq(TIOCSTI, L.eperm, null),
        jeq(TIOCLINUX, L.eperm, null),
        jeq(TIOCSETD, L.eperm, L.allow),
      ];
    case 'clone-flags':
      // Legacy clone() uses lower_32_bits(clone_flags) (kernel/fork.c): the high word is ignored by
      // the kernel, so it is irrelevant here; every CLONE_NEW* bit lives in the low word.
      return [ldAbs(argLo(CLONE_FLAGS_ARG[arch])), jset(CLONE_NEW_MASK, L.eperm, L.allow)];
    case 'personality':
      // personality(unsigned int): the kernel sees only the low 32 bits.
      return [ldAbs(argLo(0)), jeq(PER_LINUX, L.allow, null), jeq(PERSONALITY_QUERY, L.allow, L.eperm)];
    case 'seccomp-listener':
      // seccomp(unsigned int op, unsigned int flags, void *args): low words only.
      return [
        ldAbs(argLo(0)),
        jeq(SECCOMP_SET_MODE_FILTER, null, L.allow),
        ldAbs(argLo(1)),
        jset(SECCOMP_FILTER_FLAG_NEW_LISTENER, L.eperm, L.allow),
      ];
  }
}

interface Segment {
  readonly lo: number;
  readonly hi: number;
  readonly target: string;
}

/** Partition [0, domainHi] into maximal runs of equal target; gaps are ALLOW. */
function segments(byNr: ReadonlyMap<number, string>, ceiling: { from: number; target: string }, domainHi: number): Segment[] {
  const out: Segment[] = [];
  const push = (lo: number, hi: number, target: string) => {
    const last = out[out.length - 1];
    if (last && last.target === target && last.hi + 1 === lo) out[out.length - 1] = { lo: last.lo, hi, target };
    else out.push({ lo, hi, target });
  };
  let cur = 0;
  for (const nr of [...byNr.keys()].sort((a, b) => a - b)) {
    if (nr > cur) push(cur, nr - 1, L.allow);
    push(nr, nr, byNr.get(nr)!);
    cur = nr + 1;
  }
  if (ceiling.from > cur) push(cur, ceiling.from - 1, L.allow);
  if (domainHi >= ceiling.from) push(Math.max(cur, ceiling.from), domainHi, ceiling.target);
  return out;
}

/**
 * Emit a decision tree over `segs` at the current position (the value being tested is in A).
 * Balanced binary search on segment boundaries with `jge`; a subtree where everything but up to
 * three single syscall numbers shares one target becomes a short `jeq` chain instead. Leaves are
 * direct jumps to return/check labels, so no path ever jumps to a jump.
 */
function emitTree(segs: readonly Segment[], out: AsmItem[], fresh: () => string): void {
  if (segs.length === 1) {
    out.push(ja(segs[0]!.target));
    return;
  }
  const chain = jeqChain(segs);
  if (chain) {
    chain.points.forEach((p, i) => out.push(jeq(p.lo, p.target, i === chain.points.length - 1 ? chain.background : null)));
    return;
  }
  const mid = segs.length >> 1;
  const left = segs.slice(0, mid);
  const right = segs.slice(mid);
  const rightTarget = right.length === 1 ? right[0]!.target : fresh();
  out.push(jge(right[0]!.lo, rightTarget, left.length === 1 ? left[0]!.target : null));
  if (left.length > 1) emitTree(left, out, fresh);
  if (right.length > 1) {
    out.push(label(rightTarget));
    emitTree(right, out, fresh);
  }
}

function jeqChain(segs: readonly Segment[]): { background: string; points: Segment[] } | undefined {
  let best: { background: string; points: Segment[] } | undefined;
  for (const background of new Set(segs.map((s) => s.target))) {
    const others = segs.filter((s) => s.target !== background);
    if (others.every((s) => s.lo === s.hi) && (!best || others.length < best.points.length)) best = { background, points: others };
  }
  return best && best.points.length <= 3 ? best : undefined;
}

function fmtAction(a: RuleAction): string {
  switch (a.kind) {
    case 'errno': return `ERRNO(${a.errno === EPERM ? 'EPERM' : a.errno === ENOSYS ? 'ENOSYS' : a.errno === EAFNOSUPPORT ? 'EAFNOSUPPORT' : a.errno})`;
    case 'kill': return 'KILL_PROCESS';
    case 'notify': return 'USER_NOTIF';
    case 'args': return `argument check "${a.check}"`;
  }
}

/** Compile the policy for one ABI into a validated classic-BPF program (exposed for tests/tools). */
export function compileSeccompProgram(opts: SeccompFilterOptions): { program: SockFilter[]; description: string[] } {
  if (opts === null || typeof opts !== 'object') throw new WardenError('INTERNAL', 'seccomp: options object required');
  const info = ARCHES[opts.arch as Arch];
  if (!info) throw new WardenError('INTERNAL', `seccomp: unsupported arch ${JSON.stringify(opts.arch)}`, 'use x86_64 or aarch64');
  if (typeof opts.notifyExec !== 'boolean') throw new WardenError('INTERNAL', 'seccomp: notifyExec must be a boolean');
  if (opts.notifyOpen !== undefined && typeof opts.notifyOpen !== 'boolean')
    throw new WardenError('INTERNAL', 'seccomp: notifyOpen must be a boolean');
  const arch = info.arch;
  const hex = (n: number) => `0x${n.toString(16)}`;

  const description: string[] = [
    `arch != ${arch} (AUDIT_ARCH ${hex(info.auditArch)}) -> KILL_PROCESS: foreign ABIs (${arch === 'x86_64' ? 'i386 int 0x80, ia32 compat' : 'arm32 compat'}) use another syscall table`,
  ];
  if (info.hasX32) description.push(`nr >= ${hex(X32_SYSCALL_BIT)} (x32 ABI bit; includes nr -1) -> KILL_PROCESS`);

  const byNr = new Map<number, string>();
  const checks = new Set<ArgCheck>();
  for (const rule of seccompRules(opts)) {
    const present: string[] = [];
    for (const name of rule.syscalls) {
      const nr = syscallNr(arch, name);
      if (nr === undefined) continue;
      if (byNr.has(nr)) throw new WardenError('INTERNAL', `seccomp: ${name} (${nr}) appears in two rules`);
      byNr.set(nr, targetOf(rule.action));
      present.push(`${name}(${nr})`);
    }
    if (present.length === 0) continue;
    if (rule.action.kind === 'args') checks.add(rule.action.check);
    description.push(`${present.join(', ')} -> ${fmtAction(rule.action)}: ${rule.why}`);
  }
  description.push(`nr > ${info.maxKnownNr} (newer than this table) -> ERRNO(ENOSYS)`);
  if (!opts.notifyExec) description.push('execve, execveat -> ALLOW (exec mediation off)');
  description.push('everything else -> ALLOW');

  const items: AsmItem[] = [
    ldAbs(SECCOMP_DATA_ARCH),
    jeq(info.auditArch, null, L.kill),
    ldAbs(SECCOMP_DATA_NR),
  ];
  const domainHi = info.hasX32 ? X32_SYSCALL_BIT - 1 : 0xffffffff;
  if (info.hasX32) items.push(jge(X32_SYSCALL_BIT, L.kill, null));
  let n = 0;
  emitTree(segments(byNr, { from: info.maxKnownNr + 1, target: L.enosys }, domainHi), items, () => `t${n++}`);
  for (const c of checks) items.push(label(checkLabel(c)), ...argBlock(c, arch));

  // Only the return blocks something jumps to; order is fixed for a stable program.
  const used = new Set<string>();
  for (const it of items) {
    if (it.op === 'ja') used.add(it.target);
    if (it.op === 'jcond') {
      if (it.jt) used.add(it.jt);
      if (it.jf) used.add(it.jf);
    }
  }
  for (const [name, value] of RETURNS) if (used.has(name)) items.push(label(name), ret(value));

  return { program: assemble(items), description };
}

/**
 * Build the seccomp program for `opts.arch`. The caller (plan builder / native helper) installs it
 * with PR_SET_NO_NEW_PRIVS + seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog), where flags must include
 * SECCOMP_FILTER_FLAG_NEW_LISTENER whenever notifyExec or notifyOpen is set (otherwise USER_NOTIF
 * makes those syscalls fail with ENOSYS), and the helper must keep the listener fd open for the
 * sandbox's lifetime.
 */
export function buildSeccompFilter(opts: SeccompFilterOptions): SeccompFilter {
  const { program, description } = compileSeccompProgram(opts);
  return { bytes: encode(program), insns: program.length, description };
}
