import type { HelperProbe } from '../../src/sandbox/probe.js';

/** A helper probe of a capable 6.18 kernel (Landlock 7, userns, user-notify), for pure plan tests. */
export function fakeHelperProbe(over: Partial<HelperProbe> = {}): HelperProbe {
  return {
    helper: 1,
    kernel: '6.18.0',
    machine: 'x86_64',
    uid: 1000,
    gid: 1000,
    landlock: { abi: 7, kernelAbi: 7 },
    userns: { ok: true, error: null, unprivilegedUsernsClone: -1, maxUserNamespaces: 1000, apparmorRestrictUnprivilegedUserns: -1 },
    seccomp: { filter: true, killProcess: true, userNotif: true },
    pidMaxPerNs: { ok: true, error: null },
    mountSetattr: true,
    cgroup: { layout: 'v2', v2: { dir: '/sys/fs/cgroup/user.slice/u', controllers: 'memory pids cpu', subtreeControl: '', writable: false, isRoot: false }, v1: {} },
    ...over,
  };
}
