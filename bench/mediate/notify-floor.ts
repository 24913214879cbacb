/**
 * What "every exec mediated" costs at the least, next to what Warden's mediation costs:
 *
 *   node dist/bench/mediate/notify-floor.js [--n 3000] [--rounds 7]
 *
 * A small C program forks and execs /bin/true N times and prints the mean µs per exec. Three arms,
 * interleaved round by round so that the machine's drift hits all of them alike:
 *  - `outside`: the loop alone;
 *  - `listener`: the loop under a seccomp filter that traps execve to a listener in another process
 *    (as Warden's helper is) that does the least a mediator can — receive, read the path from the
 *    tracee, check the notification is still valid, write a frame into a pipe that a third process
 *    drains every 40 ms, continue — with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP where the kernel has it.
 *    No decision, no audit: the kernel's own price of trapping each exec on this machine;
 *  - `warden`: the loop inside `warden run` on the default profile (every exec trapped, replayed
 *    from the helper's verdict cache, and audited by the supervisor).
 * Reports, per arm, the median over rounds of the mean per exec, and the ratios the exec-loop
 * budget (DESIGN.md §5) is judged by. Prints JSON.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numArg, percentiles } from '../stats.js';
import { compileTimer, WARDEN } from './c-timer.js';

const N = numArg('n', 3000);
const ROUNDS = numArg('rounds', 7);

const LOOP = String.raw`
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
extern char **environ;

/* The least a mediator does per exec: receive, read the path, check validity, frame, continue. */
static void listen_loop(int nfd, int out) {
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  char frame[256];
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      _exit(0);
    }
    struct iovec l = {frame, 128}, r = {(void *)(unsigned long)req.data.args[0], 128};
    if (process_vm_readv(req.pid, &l, 1, &r, 1, 0) < 0) {}
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0) continue;
    if (write(out, frame, 128) < 0) {}
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) {}
  }
}

static int install_listener(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
  int nfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (nfd < 0) return -1;
  (void)ioctl(nfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL); /* SYNC_WAKE_UP, Linux >= 6.6 */
  int p[2];
  if (pipe(p) < 0) return -1;
  (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  if (fork() == 0) { close(p[0]); prctl(PR_SET_PDEATHSIG, SIGKILL); listen_loop(nfd, p[1]); }
  if (fork() == 0) {
    close(p[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char b[1 << 16];
    for (;;) { poll(NULL, 0, 40); if (read(p[0], b, sizeof b) <= 0) _exit(0); }
  }
  close(p[0]); close(p[1]); close(nfd);
  return 0;
}

int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  if (argc > 2 && install_listener() < 0) { perror("listener"); return 1; }
  char *av[] = {"/bin/true", NULL};
  double t0 = now();
  for (int i = 0; i < n; i++) {
    pid_t k = fork();
    if (k == 0) { execve(av[0], av, environ); _exit(127); }
    int st;
    if (k < 0 || waitpid(k, &st, 0) != k || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "exec %d failed\n", i); return 1; }
  }
  printf("%.2f\n", (now() - t0) / n);
  return 0;
}
`;

const dir = mkdtempSync(join(tmpdir(), 'warden-floor-'));
chmodSync(dir, 0o755);
try {
  compileTimer(dir, 'loop', LOOP);
  const arms = {
    outside: ['./loop', String(N)],
    listener: ['./loop', String(N), 'listener'],
    warden: [process.execPath, WARDEN, 'run', '--workspace', dir, '--', './loop', String(N)],
  } as const;
  const means: Record<keyof typeof arms, number[]> = { outside: [], listener: [], warden: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [arm, cmd] of Object.entries(arms) as Array<[keyof typeof arms, readonly string[]]>) {
      const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
      means[arm].push(Number(r.stdout.trim()));
    }
  }
  const median = (a: number[]): number => percentiles(a, [50])[50]!;
  const m = { outside: median(means.outside), listener: median(means.listener), warden: median(means.warden) };
  const ratio = (a: number, b: number): number => +(a / b).toFixed(3);
  console.log(
    JSON.stringify(
      {
        n: N,
        rounds: ROUNDS,
        mean_us_per_exec: means,
        median_us_per_exec: m,
        listener_vs_outside: ratio(m.listener, m.outside),
        warden_vs_outside: ratio(m.warden, m.outside),
        warden_vs_listener: ratio(m.warden, m.listener),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
