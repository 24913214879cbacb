/**
 * C source of the throwaway probe loader used by kernel.test.ts. It is embedded as a string (not a
 * .c file) so the compiled tests under dist/ carry it too. It is test scaffolding, not the project's
 * native helper: it installs a filter the way the helper will (no_new_privs + seccomp(2)) and
 * reports what the real kernel does with each probe.
 *
 * usage: loader MODE FILTER_FILE PROBES_FILE
 *   MODE = baseline  no filter (no_new_privs only): what each call does without Warden
 *          filter    install FILTER_FILE with seccomp(SECCOMP_SET_MODE_FILTER, 0)
 *          notify    install with SECCOMP_FILTER_FLAG_NEW_LISTENER and answer every notification
 *                    from a responder thread with error -(1000 + nr) (arch checked), so the result
 *                    of the trapped call proves which syscall number the supervisor would see.
 * Each probe runs in its own forked child (after setsid(), so it has no controlling terminal), so a
 * SIGSYS kill or any side effect stays there. Output, one line per probe:
 *   NAME ok VALUE | NAME err ERRNO | NAME sig SIGNO | NAME exit CODE | NAME install ERRNO
 * Probe file lines: "raw NAME NR A0 A1 A2 A3 A4 A5" (hex; A may be Z = pointer to a zeroed page,
 * or S:text = pointer to a NUL-terminated copy of text) or "cur NAME" for the curated probes below.
 */
export const LOADER_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static struct sock_fprog prog;
static int mode_filter, mode_notify;
static unsigned expected_arch;

static void die(const char *what) { perror(what); exit(2); }

static long ret_of(long r) { return r < 0 ? -errno : r; }

static void report(int fd, const char *name, long r) {
  if (r < 0) dprintf(fd, "%s err %ld\n", name, -r);
  else dprintf(fd, "%s ok %ld\n", name, r);
}

static int open_pty_slave(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0) return -errno;
  if (grantpt(m) < 0 || unlockpt(m) < 0) return -errno;
  char *sn = ptsname(m);
  if (!sn) return -errno;
  int s = open(sn, O_RDWR); /* session leader without a ctty: this becomes our controlling tty */
  return s < 0 ? -errno : s;
}

static void *thread_fn(void *arg) { return arg; }

static long curated(const char *name) {
  if (!strcmp(name, "int80_getpid")) {
#if defined(__x86_64__)
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
    return r;
#else
    return -ENOSYS;
#endif
  }
  if (!strcmp(name, "pthread_create")) {
    pthread_t t;
    int e = pthread_create(&t, NULL, thread_fn, NULL);
    if (e) return -e;
    pthread_join(t, NULL);
    return 0;
  }
  if (!strcmp(name, "fork")) {
    pid_t p = fork();
    if (p < 0) return -errno;
    if (p == 0) _exit(7);
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
  }
  if (!strcmp(name, "posix_spawn_true")) {
    pid_t p;
    char *argv[] = {"true", NULL};
    int e = posix_spawn(&p, "/bin/true", NULL, NULL, argv, environ);
    if (e) return -e;
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
  }
  if (!strcmp(name, "execve_true")) {
    char *argv[] = {"true", NULL};
    execve("/bin/true", argv, environ);
    return -errno;
  }
  if (!strcmp(name, "open_devnull")) {
    int fd = open("/dev/null", O_RDONLY);
    return ret_of(fd);
  }
  if (!strcmp(name, "openat_devnull")) {
    return ret_of(syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0));
  }
  if (!strncmp(name, "pty_", 4)) {
    int s = open_pty_slave();
    if (s < 0) return s;
    char c = 'x';
    struct termios tio;
    if (!strcmp(name, "pty_tiocsti")) return ret_of(ioctl(s, TIOCSTI, &c));
    if (!strcmp(name, "pty_tiocsti_hiword")) return ret_of(syscall(SYS_ioctl, s, (1UL << 32) | TIOCSTI, &c));
    if (!strcmp(name, "pty_tioclinux")) { char sub = 0; return ret_of(ioctl(s, TIOCLINUX, &sub)); }
    if (!strcmp(name, "pty_tcgets")) return ret_of(ioctl(s, TCGETS, &tio));
  }
  fprintf(stderr, "unknown curated probe %s\n", name);
  exit(2);
}

/* ---- notify mode: a responder thread stands in for the supervisor ---- */
static int listener = -1;

static void *responder(void *arg) {
  (void)arg;
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) _exit(90);
  struct seccomp_notif *req = calloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
  struct seccomp_notif_resp *resp = calloc(1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp : sizeof(*resp));
  if (!req || !resp) _exit(91);
  for (;;) {
    memset(req, 0, sz.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      _exit(92);
    }
    memset(resp, 0, sz.seccomp_notif_resp);
    resp->id = req->id;
    resp->error = req->data.arch == expected_arch ? -(1000 + req->data.nr) : -EINVAL;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT) _exit(93);
  }
  return NULL;
}

static char zero_page_store[8192];

static unsigned long parse_arg(char *tok) {
  if (!strcmp(tok, "Z")) {
    uintptr_t p = ((uintptr_t)zero_page_store + 4095) & ~(uintptr_t)4095;
    return (unsigned long)p;
  }
  if (!strncmp(tok, "S:", 2)) return (unsigned long)strdup(tok + 2);
  return strtoull(tok, NULL, 16);
}

static void run_child(int wfd, char *line) {
  char *save = NULL;
  char *kind = strtok_r(line, " \n", &save);
  char *name = strtok_r(NULL, " \n", &save);
  if (!kind || !name) _exit(3);
  unsigned long nr = 0, a[6] = {0};
  if (!strcmp(kind, "raw")) {
    nr = strtoull(strtok_r(NULL, " \n", &save), NULL, 16);
    for (int i = 0; i < 6; i++) {
      char *t = strtok_r(NULL, " \n", &save);
      a[i] = t ? parse_arg(t) : 0;
    }
  }
  alarm(10);
  if (setsid() < 0) _exit(4);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(5);
  if (mode_filter || mode_notify) {
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, mode_notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
    if (r < 0) { dprintf(wfd, "%s install %d\n", name, errno); _exit(0); }
    if (mode_notify) {
      listener = (int)r;
      pthread_t t;
      if (pthread_create(&t, NULL, responder, NULL)) { dprintf(wfd, "%s install %d\n", name, EAGAIN); _exit(0); }
    }
  }
  pid_t self = getpid();
  long r;
  if (!strcmp(kind, "raw")) r = ret_of(syscall((long)nr, a[0], a[1], a[2], a[3], a[4], a[5]));
  else r = curated(name);
  if (getpid() != self) _exit(0); /* a fork-like probe: this is the new child */
  report(wfd, name, r);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s baseline|filter|notify FILTER PROBES\n", argv[0]); return 2; }
  mode_filter = !strcmp(argv[1], "filter");
  mode_notify = !strcmp(argv[1], "notify");
  if (!mode_filter && !mode_notify && strcmp(argv[1], "baseline")) { fprintf(stderr, "bad mode\n"); return 2; }
#if defined(__x86_64__)
  expected_arch = 0xc000003e;
#elif defined(__aarch64__)
  expected_arch = 0xc00000b7;
#endif
  FILE *ff = fopen(argv[2], "rb");
  if (!ff) die("filter file");
  static unsigned char buf[4096 * 8];
  size_t n = fread(buf, 1, sizeof buf, ff);
  fclose(ff);
  if (n == 0 || n % 8) { fprintf(stderr, "bad filter size %zu\n", n); return 2; }
  prog.len = (unsigned short)(n / 8);
  prog.filter = (struct sock_filter *)buf;

  FILE *pf = fopen(argv[3], "r");
  if (!pf) die("probe file");
  char line[4096];
  while (fgets(line, sizeof line, pf)) {
    if (line[0] == '\n' || line[0] == '#') continue;
    char copy[4096];
    memcpy(copy, line, sizeof copy);
    char *sp = NULL;
    strtok_r(copy, " \n", &sp);
    char *name = strtok_r(NULL, " \n", &sp);
    if (!name) continue;
    int p[2];
    if (pipe(p) < 0) die("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) { close(p[0]); run_child(p[1], line); }
    close(p[1]);
    char out[512];
    ssize_t got = 0, k;
    while (got < (ssize_t)sizeof out - 1 && (k = read(p[0], out + got, sizeof out - 1 - got)) > 0) got += k;
    out[got] = 0;
    close(p[0]);
    int st;
    for (;;) {
      if (waitpid(pid, &st, 0) < 0) die("waitpid");
      if (WIFSTOPPED(st)) { kill(pid, SIGKILL); continue; } /* PTRACE_TRACEME probes */
      break;
    }
    if (got > 0) fputs(out, stdout);
    else if (WIFSIGNALED(st)) printf("%s sig %d\n", name, WTERMSIG(st));
    else printf("%s exit %d\n", name, WEXITSTATUS(st));
  }
  fclose(pf);
  return 0;
}
`;
