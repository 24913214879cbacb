/**
 * Small C attack programs, compiled with `cc` during the tests. Each one performs one bypass
 * primitive and, only if the primitive itself worked, leaves a host-visible trace (a marker file
 * created *through* that primitive where possible: io_uring's own openat, int 0x80's creat, a
 * process inside the new user namespace).
 */
export const ATTACK_SOURCES: Record<string, { src: string; flags: string[] }> = {
  uring: {
    flags: [],
    src: String.raw`
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Creates argv[1] with IORING_OP_OPENAT: the open never passes through a normal syscall. */
int main(int argc, char **argv) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) { perror("io_uring_setup"); return 1; }
  char *sq = mmap(0, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char *cq = mmap(0, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 1; }
  unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *mask = (unsigned *)(sq + p.sq_off.ring_mask), *array = (unsigned *)(sq + p.sq_off.array);
  memset(&sqes[0], 0, sizeof sqes[0]);
  sqes[0].opcode = IORING_OP_OPENAT;
  sqes[0].fd = AT_FDCWD;
  sqes[0].addr = (unsigned long)argv[1];
  sqes[0].len = 0644;
  sqes[0].open_flags = O_CREAT | O_WRONLY;
  array[*tail & *mask] = 0;
  __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
  int r = syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  struct io_uring_cqe *c = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  printf("enter=%d res=%d\n", r, c[0].res);
  return r < 0 || c[0].res < 0;
}
`,
  },
  int80: {
    // -no-pie: the path buffer must sit below 4 GiB for the 32-bit ABI.
    flags: ['-no-pie', '-fno-pie'],
    src: String.raw`
#include <stdio.h>
#include <string.h>
static char path[4096];
/* creat(argv[1]) through the i386 ABI (int $0x80, syscall 8). */
int main(int argc, char **argv) {
  strncpy(path, argv[1], sizeof path - 1);
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(8L), "b"((long)(unsigned long)path), "c"(0644L) : "memory");
  printf("int80 creat=%ld\n", ret);
  return ret < 0;
}
`,
  },
  x32: {
    flags: [],
    src: String.raw`
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
/* creat(argv[1]) through the x32 ABI (__X32_SYSCALL_BIT | 85). */
int main(int argc, char **argv) {
  long r = syscall(0x40000000L | 85, argv[1], 0644);
  printf("x32 creat=%ld\n", r);
  return r < 0;
}
`,
  },
  nsescape: {
    flags: [],
    src: String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* argv[1] = unshare|clone|clone3; the marker argv[2] is created by a process inside a NEW user namespace. */
int main(int argc, char **argv) {
  const char *mode = argv[1], *marker = argv[2];
  if (!strcmp(mode, "unshare")) {
    if (unshare(CLONE_NEWUSER) < 0) { perror("unshare"); return 1; }
    return creat(marker, 0644) < 0;
  }
  long pid;
  if (!strcmp(mode, "clone")) pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  else {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_NEWUSER;
    a.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &a, sizeof a);
  }
  if (pid < 0) { perror(mode); return 1; }
  if (pid == 0) _exit(creat(marker, 0644) < 0);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
`,
  },
  sys: {
    flags: [],
    src: String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* argv[1] = primitive, argv[2] = marker created only if the primitive succeeded, argv[3] = arg. */
int main(int argc, char **argv) {
  const char *m = argv[1];
  long r = -1;
  if (!strcmp(m, "bpf")) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY; a.key_size = 4; a.value_size = 4; a.max_entries = 1;
    r = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
  } else if (!strcmp(m, "keyctl")) {
    r = syscall(SYS_add_key, "user", "warden-test", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  } else if (!strcmp(m, "perf")) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE; a.size = sizeof a; a.config = PERF_COUNT_SW_TASK_CLOCK; a.exclude_kernel = 1; a.exclude_hv = 1;
    r = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
  } else if (!strcmp(m, "userfaultfd")) {
    r = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
  } else if (!strcmp(m, "packet")) {
    r = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  } else if (!strcmp(m, "raw")) {
    r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  } else if (!strcmp(m, "netlink")) {
    r = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  } else if (!strcmp(m, "ptrace")) {
    pid_t pid = atoi(argv[3]);
    r = ptrace(PTRACE_ATTACH, pid, 0, 0);
    if (r == 0) { waitpid(pid, 0, 0); ptrace(PTRACE_KILL, pid, 0, 0); kill(pid, SIGKILL); }
  } else if (!strcmp(m, "mount")) {
    /* remount a read-only bind read-write, then write through it */
    r = mount(NULL, argv[3], NULL, MS_REMOUNT | MS_BIND, NULL);
    if (r == 0) { char p[4096]; snprintf(p, sizeof p, "%s/protected.txt", argv[3]); FILE *f = fopen(p, "w"); if (f) { fputs("pwned\n", f); fclose(f); } else r = -1; }
  } else { fprintf(stderr, "unknown primitive %s\n", m); return 2; }
  if (r < 0) { perror(m); return 1; }
  int fd = creat(argv[2], 0644);
  return fd < 0;
}
`,
  },
  forkbomb: {
    flags: [],
    src: String.raw`
#include <unistd.h>
/* Every process forks forever; on failure it naps and retries, so the tree stays at its limit. */
int main(void) {
  for (;;) if (fork() < 0) usleep(2000);
}
`,
  },
  xattr: {
    flags: [],
    src: String.raw`
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
/* xattr set PATH | xattr get PATH : user.warden */
int main(int argc, char **argv) {
  char buf[64];
  if (!strcmp(argv[1], "set")) { if (setxattr(argv[2], "user.warden", "pwned", 5, 0)) { perror("setxattr"); return 1; } return 0; }
  ssize_t n = getxattr(argv[2], "user.warden", buf, sizeof buf);
  if (n < 0) return 1;
  printf("%.*s\n", (int)n, buf);
  return 0;
}
`,
  },
  hog: {
    flags: [],
    src: String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* Allocates and touches argv[2] MiB in 8 MiB steps, recording progress in argv[1]. */
int main(int argc, char **argv) {
  long max = atol(argv[2]), done = 0;
  while (done < max) {
    char *p = malloc(8 << 20);
    if (!p) { fprintf(stderr, "malloc failed at %ld MiB\n", done); break; }
    memset(p, 1, 8 << 20);
    done += 8;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { dprintf(fd, "%ld\n", done); close(fd); }
  }
  sleep(1);
  return 0;
}
`,
  },
};
