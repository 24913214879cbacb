/*
 * warden-helper — process structure and the status channel.
 *
 *   supervisor (node) ──spawn──> outer helper ──clone(new user/mnt/pid/net/ipc/uts ns)──> init (pid 1)
 *                                   │  cgroup, uid/gid maps,            │ mounts, hostname, lo,
 *                                   │  signal relay, exit report        │ reaper, signal forwarding
 *                                   │                                   └─fork──> payload: fds, rlimits,
 *                                   │                                      caps, landlock, seccomp, execve
 *
 * Fail-closed chain: the outer helper has PR_SET_PDEATHSIG=SIGKILL towards the supervisor and
 * checks getppid() against the pid the plan names (the supervisor may have died before prctl);
 * init has PDEATHSIG towards the outer helper and a lifeline pipe whose hang-up reveals a death
 * before its prctl; when init dies the kernel kills every process in the pid namespace. So killing
 * the supervisor or the outer helper with SIGKILL leaves nothing of the sandboxed tree running.
 *
 * Note for the init process: it comes from a raw clone(2), so glibc's cached thread id is stale
 * there; it must not call raise()/abort()/pthread_*. fork() (used to create the payload) is fine.
 */
#define _GNU_SOURCE
#include "helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int g_status_fd = -1;
char g_active[1024], g_degraded[512];

#ifdef WARDEN_SANITIZE
/* The helper runs with an empty environment; sanitizer options are compiled in. Leak checking is
 * off: it needs ptrace, which the sandbox forbids, and leaks in a process that execs don't matter. */
const char *__asan_default_options(void) { return "detect_leaks=0:abort_on_error=0:exitcode=99"; }
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1:exitcode=99"; }
#endif

static void write_all(int fd, const char *b, size_t n) {
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    b += w; n -= (size_t)w;
  }
}

/* One machine-readable line per stage. Lines are < PIPE_BUF, so lines written by different
 * processes of the helper never interleave. */
void status_line(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  if (g_status_fd < 0) return;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  for (int i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = ' ';
  buf[n++] = '\n';
  write_all(g_status_fd, buf, (size_t)n);
}

void refuse(const char *layer, const char *reason, const char *fix, const char *fmt, ...) {
  char msg[1200], line[1600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int n = snprintf(line, sizeof line - 1, "warden: layer %s: %s (fix: %s)", layer, msg, fix);
  if (n < 0) n = 0;
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  for (int i = 0; i < n; i++) if (line[i] == '\n') line[i] = ' ';
  status_line("refuse layer=%s reason=%s msg=%s", layer, reason, line);
  line[n++] = '\n';
  write_all(2, line, (size_t)n);
  _exit(126);
}

static void append(char *dst, size_t cap, const char *fmt, va_list ap) {
  size_t len = strlen(dst);
  if (len && len + 1 < cap) dst[len++] = ',', dst[len] = 0;
  if (len < cap) vsnprintf(dst + len, cap - len, fmt, ap);
}
void layer_active(const char *fmt, ...) { va_list ap; va_start(ap, fmt); append(g_active, sizeof g_active, fmt, ap); va_end(ap); }
void layer_degraded(const char *fmt, ...) { va_list ap; va_start(ap, fmt); append(g_degraded, sizeof g_degraded, fmt, ap); va_end(ap); }

static int write_file(const char *path, const char *val) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, val, strlen(val));
  int err = errno;
  close(fd);
  errno = err;
  return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* ---- payload: the last process before the command ---------------------------------------- */

static void __attribute__((noreturn)) exec_command(const struct plan *p) {
  const char *cmd = p->argv[0], *path = NULL;
  char buf[PLAN_MAX_STR * 2 + 2];
  int err = ENOENT, eacces = 0;
  struct { dev_t dev; ino_t ino; } refused[16];
  size_t nrefused = 0;
  if (strchr(cmd, '/')) {
    execve(cmd, p->argv, p->env);
    err = errno;
  } else {
    for (size_t i = 0; i < p->nenv; i++) if (!strncmp(p->env[i], "PATH=", 5)) path = p->env[i] + 5;
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *d = path;; ) {
      const char *e = strchrnul(d, ':');
      int n = snprintf(buf, sizeof buf, "%.*s/%s", (int)(e - d) ? (int)(e - d) : 1, (e - d) ? d : ".", cmd);
      /* A PATH entry without the command is skipped with an (untrapped) access check: each execve is
       * held for the exec mediator, and a miss would cost a round trip and an audit record. Only
       * ENOENT/ENOTDIR are taken from the check, which resolves the path exactly as execve would
       * (same mounts, same credentials); anything else still goes to execve for its own errno. */
      /* The same file reached again through another entry (/bin and /usr/bin on a merged /usr) is
       * not tried again once refused: the answer would be the same, and a denied or unanswered
       * approval would be asked (and audited) a second time. */
      struct stat st;
      int have = 0, again = 0;
      if (n < 0 || (size_t)n >= sizeof buf) errno = ENAMETOOLONG; /* never exec a truncated path */
      else if (faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) < 0 && (errno == ENOENT || errno == ENOTDIR)) {}
      else {
        have = stat(buf, &st) == 0;
        for (size_t k = 0; have && k < nrefused; k++) again |= refused[k].dev == st.st_dev && refused[k].ino == st.st_ino;
        if (again) errno = EACCES;
        else execve(buf, p->argv, p->env);
      }
      if (errno == EACCES && have && !again && nrefused < sizeof refused / sizeof *refused)
        refused[nrefused].dev = st.st_dev, refused[nrefused].ino = st.st_ino, nrefused++;
      if (errno == EACCES) eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR) { err = errno; break; }
      if (!*e) break;
      d = e + 1;
    }
    if (err == ENOENT && eacces) err = EACCES;
  }
  status_line("exec-failed errno=%d cmd-not-found=%d", err, err == ENOENT);
  if (err == ENOENT) dprintf(2, "warden: command not found: %s\n", cmd);
  else dprintf(2, "warden: cannot execute %s: %s\n", cmd, strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

/* Closes every fd >= 3 except a and b (either may be -1). */
static int close_all_but(int a, int b) {
  int lo = a < b ? a : b, hi = a < b ? b : a, next = 3;
  if (lo >= 3) { if (lo > next) syscall(SYS_close_range, (unsigned)next, (unsigned)lo - 1, 0u); next = lo + 1; }
  if (hi >= 3 && hi != lo) { if (hi > next) syscall(SYS_close_range, (unsigned)next, (unsigned)hi - 1, 0u); next = hi + 1; }
  return (int)syscall(SYS_close_range, (unsigned)next, ~0u, 0u);
}

/* One byte on a SEQPACKET socket, with the fd attached when there is one. */
static int send_fd(int sock, int fd) {
  char byte = fd >= 0 ? 'n' : '-';
  struct iovec iov = {&byte, 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&u, 0, sizeof u);
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Receives what send_fd sent: the fd, or -1 (none attached, EOF, error). */
static int recv_fd(int sock) {
  char byte = 0;
  int fd = -1;
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct iovec iov = {&byte, 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* Hands the seccomp listener to the outer helper. */
static void send_listener(int sock, int nfd) {
  if (send_fd(sock, nfd) < 0) refuse("mediation", "handoff", "retry", "cannot hand the notify fd to the helper: %s", strerror(errno));
  if (nfd >= 0) close(nfd);
  close(sock);
}

static void __attribute__((noreturn)) run_payload(const struct plan *p, const sigset_t *orig, int nsock) {
  /* Only 0-2 survive (plus the status fd, close-on-exec, for the last lines, and the listener
   * hand-off socket until just before exec). */
  if (close_all_but(g_status_fd, nsock))
    refuse("fds", "close_range", "needs Linux >= 5.9", "close_range: %s", strerror(errno));
  layer_active("fds");
  if ((p->flags & CF_NEW_SESSION) && setsid() < 0) refuse("session", "setsid", "run `warden doctor`", "setsid: %s", strerror(errno));
  if (chdir(p->cwd) < 0) refuse("mountns", "cwd", "the working directory must be inside a read or write path", "cannot enter %s: %s", p->cwd, strerror(errno));
  apply_rlimits(p);
  drop_capabilities();
  apply_landlock(p);
  sigprocmask(SIG_SETMASK, orig, NULL);
  /* init made itself non-dumpable, and the payload inherited that with init's mm, whose owner is
   * the host's user namespace: an unprivileged outer helper could then not read the first exec's
   * argv. Nothing else runs in the sandbox yet, and execve resets this for the command anyway. */
  if (p->flags & CF_SECCOMP_NOTIFY) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  int nfd = apply_seccomp(p);
  if (nsock >= 0) send_listener(nsock, nfd);
  layer_active("env");
  status_line("ready layers=%s degraded=%s", g_active, g_degraded);
  exec_command(p);
}

/* ---- init: pid 1 of the new pid namespace ------------------------------------------------ */

static void __attribute__((noreturn)) run_init(const struct plan *p, int syncfd, int resultfd, int nsock, const sigset_t *orig, const sigset_t *fwd) {
  char b;
  struct pollfd pf = {syncfd, 0, 0};
  /* With mediation, init also holds the seccomp listener (sent back by the outer helper) and is
   * told of the outer helper's death by SIG_GUARD instead of SIGKILL: it kills the tree first and
   * closes the listener last, so an exec held for a verdict never returns (not even with ENOSYS)
   * into a process that could act on it. Without mediation SIGKILL is enough. */
  prctl(PR_SET_PDEATHSIG, nsock >= 0 ? SIG_GUARD : SIGKILL);
  /* The outer helper sends 'g' once the id maps are written, and keeps the pipe open for as long
   * as it lives: EOF here means it died (possibly before our prctl). */
  if (read(syncfd, &b, 1) != 1 || b != 'g') _exit(126);
  /* Non-dumpable: the command cannot open /proc/1/{mem,environ,fd} nor ptrace us. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  layer_active("userns,pidns,ipcns");
  if (sethostname(p->hostname ? p->hostname : "warden", strlen(p->hostname ? p->hostname : "warden")) < 0)
    refuse("utsns", "sethostname", "run `warden doctor`", "sethostname: %s", strerror(errno));
  layer_active("utsns");
  bring_up_loopback();
  layer_active("netns");
  if (p->relay.tcp_port) layer_active("egress"); /* 'g' is only sent once the relay listens */
  setup_mounts(p);
  /* Second byte: the cgroup move is done (c = active, d = degraded, - = none planned). It runs in
   * parallel with our setup (a first cgroup migration costs an RCU grace period), but nothing
   * untrusted runs before it. A hang-up after it means the outer helper is already gone. */
  if (read(syncfd, &b, 1) != 1 || poll(&pf, 1, 0) != 0) _exit(126);
  if (b == 'c') layer_active("cgroup");
  else if (b == 'd') layer_degraded("cgroup");
  pid_t child = fork();
  if (child < 0) refuse("pidns", "fork", "retry", "fork: %s", strerror(errno));
  if (child == 0) { close(syncfd); close(resultfd); run_payload(p, orig, nsock); }
  close(g_status_fd);
  g_status_fd = -1;
  /* Keep only the result pipe (and the listener hand-back socket): nothing the command could
   * reach through us. */
  close_all_but(resultfd, nsock);
  close(0); close(1); close(2);
  int status = 0, done = 0, listener = -1;
  /* pid 1: forward the relayed signals to the command, reap everything; when the command
   * exits, kill whatever it left behind (daemons die with the session). */
  sigset_t all = *fwd;
  sigaddset(&all, SIGCHLD);
  sigaddset(&all, SIG_GUARD);
  int sfd = signalfd(-1, &all, SFD_CLOEXEC);
  if (sfd < 0) { kill(child, SIGKILL); _exit(126); }
  while (!done) {
    struct pollfd ev[2] = {{sfd, POLLIN, 0}, {nsock, POLLIN, 0}};
    if (poll(ev, 2, -1) < 0) continue;
    if (ev[1].revents) { listener = recv_fd(nsock); close(nsock); nsock = -1; }
    struct signalfd_siginfo fi;
    if (!(ev[0].revents & POLLIN) || read(sfd, &fi, sizeof fi) != (ssize_t)sizeof fi) continue;
    int sig = (int)fi.ssi_signo;
    if (sig == SIG_GUARD) break; /* the outer helper died: end everything, listener last */
    if (sig == SIGCHLD) {
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) if (w == child) status = st, done = 1;
    } else kill(child, sig);
  }
  kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
  if (listener >= 0) close(listener);
  write_all(resultfd, (const char *)&status, sizeof status);
  _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

/* ---- outer: stays in the host namespaces ------------------------------------------------- */

static void cg_fail(struct plan *p, const char *what, const char *path) {
  if (!(p->degradable & L_CGROUP))
    refuse("cgroup", "setup", "run `warden doctor` (cgroups need root or a delegated subtree), or --allow-degraded cgroup",
           "%s %s: %s", what, path, strerror(errno));
  status_line("degraded layer=cgroup reason=%s", strerror(errno));
  layer_degraded("cgroup");
  for (size_t i = 0; i < p->ncg; i++) if (p->cg[i].created) rmdir(p->cg[i].path), p->cg[i].created = 0;
  p->ncg = 0;
}

/* Empty session cgroups left by a helper that was SIGKILLed (it could not clean up): rmdir only
 * succeeds on an empty cgroup, so a live session is never touched. */
static void cg_gc(const char *parent) {
  DIR *d = opendir(parent);
  struct dirent *e;
  char path[PLAN_MAX_STR + 300];
  if (!d) return;
  while ((e = readdir(d))) {
    int pid;
    if (sscanf(e->d_name, "warden-%d", &pid) == 1 && pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
      snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
      rmdir(path);
    }
  }
  closedir(d);
}

static void cgroup_prepare(struct plan *p) {
  char path[PLAN_MAX_STR * 2 + 64];
  for (size_t i = 0; i < p->ncg; i++) {
    struct cg_dir *g = &p->cg[i];
    cg_gc(g->parent);
    snprintf(g->path, sizeof g->path, "%s/warden-%d", g->parent, (int)getpid());
    if (mkdir(g->path, 0755) < 0) { cg_fail(p, "cannot create", g->path); return; }
    g->created = 1;
    for (size_t j = 0; j < g->nwrites; j++) {
      snprintf(path, sizeof path, "%s/%s", g->writes[j].target ? g->parent : g->path, g->writes[j].key);
      if (write_file(path, g->writes[j].value) < 0 && !g->writes[j].optional) { cg_fail(p, "cannot write", path); return; }
    }
  }
}

static void cgroup_attach(struct plan *p, pid_t pid) {
  char path[PLAN_MAX_STR + 64], val[24];
  snprintf(val, sizeof val, "%d", (int)pid);
  for (size_t i = 0; i < p->ncg; i++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", p->cg[i].path);
    if (write_file(path, val) < 0) { cg_fail(p, "cannot move the sandbox into", path); return; }
  }
}

/* Kill whatever is still in the session cgroups, collect the peaks the plan asks for, remove. */
static void cgroup_finish(struct plan *p, char *out, size_t cap) {
  char path[PLAN_MAX_STR + 64], buf[4096];
  for (size_t i = 0; i < p->ncg; i++) {
    struct cg_dir *g = &p->cg[i];
    snprintf(path, sizeof path, "%s/cgroup.kill", g->path);
    if (write_file(path, "1") < 0) {
      for (int round = 0; round < 100; round++) {
        snprintf(path, sizeof path, "%s/cgroup.procs", g->path);
        FILE *f = fopen(path, "re");
        int pid, any = 0;
        if (!f) break;
        while (fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL), any = 1;
        fclose(f);
        if (!any) break;
        usleep(1000);
      }
    }
    for (size_t j = 0; j < g->nreads; j++) {
      snprintf(path, sizeof path, "%s/%s", g->path, g->reads[j]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
      if (fd >= 0) close(fd);
      if (n <= 0) continue;
      buf[n] = 0;
      buf[strcspn(buf, " \n")] = 0;
      size_t len = strlen(out);
      snprintf(out + len, cap - len, " cg.%s=%s", g->reads[j], buf);
    }
    for (int t = 0; t < 200 && rmdir(g->path) < 0 && errno == EBUSY; t++) usleep(1000);
  }
}

static int write_maps(pid_t pid, uid_t uid, gid_t gid) {
  char path[64], val[64];
  snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
  if (write_file(path, "deny") < 0 && errno != ENOENT) return -1;
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(val, sizeof val, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (write_file(path, val) < 0) return -1;
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(val, sizeof val, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  return write_file(path, val);
}

/* Egress ends with the session. The relay is asked to report its open tunnels (SIGTERM, see
 * relay.c finish) and given RELAY_GRACE_MS to exit, then killed either way. The tree is gone by
 * now (init has exited): nothing in the sandbox can use the relay meanwhile. */
#define RELAY_GRACE_MS 200
static void end_relay(pid_t relay) {
  int pfd = (int)syscall(SYS_pidfd_open, relay, 0);
  kill(relay, SIGTERM);
  if (pfd >= 0) {
    struct pollfd q = {pfd, POLLIN, 0};
    while (poll(&q, 1, RELAY_GRACE_MS) < 0 && errno == EINTR) {}
    close(pfd);
  }
  kill(relay, SIGKILL);
  while (waitpid(relay, NULL, 0) < 0 && errno == EINTR) {}
}

static int run_outer(struct plan *p) {
  static const int fwd_sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  sigset_t fwd, all, orig;
  int sync[2], result[2], nsock[2] = {-1, -1};
  sigemptyset(&fwd);
  for (size_t i = 0; i < sizeof fwd_sigs / sizeof *fwd_sigs; i++) sigaddset(&fwd, fwd_sigs[i]);
  all = fwd;
  sigaddset(&all, SIGCHLD);
  sigaddset(&all, SIG_GUARD); /* blocked from init's birth on: it must never take the default action */
  sigprocmask(SIG_BLOCK, &all, &orig);
  sigdelset(&all, SIG_GUARD);
  int sigfd = signalfd(-1, &all, SFD_CLOEXEC);
  if (sigfd < 0 || pipe2(sync, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0) refuse("helper", "setup", "retry", "signalfd/pipe: %s", strerror(errno));
  int mediate = (p->flags & CF_SECCOMP_NOTIFY) != 0;
  if (mediate && (fcntl(MED_FD, F_SETFD, FD_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsock) < 0))
    refuse("mediation", "setup", "the supervisor passes the mediation channel on fd 6", "mediation channel: %s", strerror(errno));
  cgroup_prepare(p);
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                                                CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD), NULL, NULL, NULL, NULL);
  if (pid < 0) {
    int err = errno;
    cg_fail(p, "", "");
    errno = err;
    refuse("userns", err == ENOSPC ? "limit" : "denied",
           "allow unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0, "
           "kernel.apparmor_restrict_unprivileged_userns=0 (see `warden doctor`)",
           "cannot create namespaces: %s", strerror(err));
  }
  if (pid == 0) {
    close(sync[1]);
    close(result[0]);
    close(sigfd);
    if (mediate) close(nsock[0]), close(MED_FD);
    run_init(p, sync[0], result[1], nsock[1], &orig, &fwd);
  }
  close(sync[0]);
  close(result[1]);
  if (mediate) close(nsock[1]);
  if (write_maps((pid_t)pid, getuid(), getgid()) < 0) {
    int err = errno;
    kill((pid_t)pid, SIGKILL);
    errno = err;
    refuse("userns", "maps", "see `warden doctor`", "cannot write uid/gid maps: %s", strerror(err));
  }
  status_line("init pid=%ld", pid);
  pid_t relay = p->relay.tcp_port ? start_relay(p, (pid_t)pid) : -1;
  size_t planned = p->ncg;
  if (write(sync[1], "g", 1) != 1) { kill((pid_t)pid, SIGKILL); refuse("helper", "sync", "retry", "sync: %s", strerror(errno)); }
  cgroup_attach(p, (pid_t)pid);
  /* The go gate: the sandbox is set up while the supervisor makes its audit genesis durable;
   * nothing untrusted runs until it says "g". EOF (supervisor died or withdrew) ends everything. */
  if (p->flags & CF_GO_GATE) {
    char go = 0;
    ssize_t r;
    while ((r = read(GO_FD, &go, 1)) < 0 && errno == EINTR) {}
    if (r != 1 || go != 'g') { kill((pid_t)pid, SIGKILL); refuse("supervisor", "withdrew", "none: the supervisor did not release the sandbox", "the supervisor withdrew before exec"); }
    close(GO_FD);
  }
  if (write(sync[1], p->ncg ? "c" : planned ? "d" : "-", 1) != 1) { kill((pid_t)pid, SIGKILL); refuse("helper", "sync", "retry", "sync: %s", strerror(errno)); }
  /* The loop: signals to relay, the listener hand-off, notifications, verdicts. Mediation that
   * cannot go on (notify fd error, supervisor channel EOF or garbage) ends the sandbox: a held exec
   * never proceeds without a verdict, and no later exec runs unmediated. */
  int status = 0, nfd = -1, dead = 0, hup = 0, recv_failed = -1;
  for (;;) {
    /* With the receiver thread, the fd is watched only for POLLHUP (every tracee gone). */
    struct pollfd pf[5] = {{sigfd, POLLIN, 0}, {nsock[0], POLLIN, 0}, {hup ? -1 : nfd, recv_failed >= 0 ? 0 : POLLIN, 0}, {mediate ? MED_FD : -1, POLLIN, 0}, {recv_failed, POLLIN, 0}};
    if (poll(pf, 5, -1) < 0) { if (errno == EINTR) continue; dead = 1; }
    if (!dead && pf[1].revents) {
      nfd = recv_fd(nsock[0]);
      /* init keeps a copy (see run_init): the listener outlives this process until the tree is dead. */
      if (nfd >= 0 && (send_fd(nsock[0], nfd) < 0 || notify_init(nfd, MED_FD, p->ask, p->nask) < 0)) dead = 1;
      close(nsock[0]);
      nsock[0] = -1; /* one hand-off only; EOF without an fd = the payload refused or seccomp is degraded */
    }
    if (!dead && pf[4].revents) dead = 1; /* the receiver thread stopped: mediation cannot go on */
    if (!dead && pf[2].revents & POLLIN && notify_on_event() < 0) dead = 1;
    if (!dead && nfd >= 0 && recv_failed < 0) recv_failed = notify_start_receiver();
    if (!dead && pf[2].revents & (POLLHUP | POLLERR | POLLNVAL) && !(pf[2].revents & POLLIN)) hup = 1; /* every tracee is gone */
    if (!dead && pf[3].revents && notify_on_verdicts() < 0) dead = 1;
    if (!dead && pf[0].revents) {
      struct signalfd_siginfo si;
      ssize_t n = read(sigfd, &si, sizeof si);
      if (n < 0 && errno == EINTR) continue;
      if (n != sizeof si) dead = 1; /* cannot relay any more: end the sandbox rather than lose track of it */
      else if (si.ssi_signo == SIGCHLD) { if (waitpid((pid_t)pid, &status, WNOHANG) == (pid_t)pid) break; }
      else kill((pid_t)pid, (int)si.ssi_signo);
    }
    if (dead) {
      kill((pid_t)pid, SIGKILL);
      while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
      break;
    }
  }
  /* The command's own wait status, from init; if init itself died (killed from outside, or it
   * refused), its status stands in. */
  int cmd = status, got = 0;
  while ((got = (int)read(result[0], &cmd, sizeof cmd)) < 0 && errno == EINTR) {}
  if (got != (int)sizeof cmd) cmd = status;
  if (relay > 0) end_relay(relay);
  char extra[2048] = "";
  cgroup_finish(p, extra, sizeof extra);
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  int code = WIFEXITED(cmd) ? WEXITSTATUS(cmd) : 128 + WTERMSIG(cmd);
  char sig[24] = "";
  if (WIFSIGNALED(cmd)) snprintf(sig, sizeof sig, " signal=%d", WTERMSIG(cmd));
  status_line("exit code=%d%s maxrss_kb=%ld utime_us=%lld stime_us=%lld exec_missing=%llu%s", code, sig, ru.ru_maxrss,
              (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
              (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, (unsigned long long)notify_missing_count(), extra);
  return code;
}

static uint8_t *read_plan(int fd, size_t *len) {
  size_t cap = 65536, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    if (n == cap) {
      if (cap >= PLAN_MAX_BYTES) { free(buf); errno = EFBIG; return NULL; }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb; cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { free(buf); return NULL; }
    if (r == 0) { *len = n; return buf; }
    n += (size_t)r;
  }
  free(buf);
  errno = ENOMEM;
  return NULL;
}

/*
 * Every signal at its default disposition and none blocked, whatever the supervisor's process
 * left: the sandboxed command inherits both across exec. posix_spawn(3) in glibc leaves its own
 * internal signals (32, 33) ignored in the child, and a supervisor started under nohup or by a
 * shell that ignores SIGINT would pass that on. The raw syscall, because glibc's sigaction()
 * refuses its internal signals.
 */
static void reset_signals(void) {
  struct {
    void (*handler)(int);
    unsigned long flags;
#if defined(__x86_64__) || defined(__i386__)
    void (*restorer)(void);
#endif
    uint64_t mask;
  } dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.handler = SIG_DFL;
  for (int sig = 1; sig <= 64; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv) {
  reset_signals();
  int dump = argc == 2 && !strcmp(argv[1], "--dump-plan");
  if (argc == 2 && !strcmp(argv[1], "--probe")) return run_probe();
  if (argc == 2 && !strcmp(argv[1], "--version")) { puts("warden-helper 1 (plan v1)"); return 0; }
  if (argc > 1 && !dump) {
    dprintf(2, "warden: helper: usage: warden-helper [--probe | --version | --dump-plan] (plan on fd 3)\n");
    return 126;
  }
  /* From here on the supervisor's death kills us; the getppid() check below covers a death
   * that happened before this line. */
  if (!dump) prctl(PR_SET_PDEATHSIG, SIGKILL);
  size_t len = 0;
  uint8_t *buf = read_plan(dump ? 0 : PLAN_FD, &len);
  if (!buf) refuse("plan", "unreadable", "the supervisor passes the plan on fd 3", "cannot read plan: %s", strerror(errno));
  if (!dump) close(PLAN_FD);
  struct plan p;
  char err[512];
  if (plan_parse(buf, len, &p, err, sizeof err) < 0)
    refuse("plan", "malformed", "this is a Warden bug: the supervisor and helper disagree on the plan format (rebuild with npm run build:native)",
           "malformed plan: %s", err);
  if (dump) { plan_dump(&p); return 0; }
  if (p.status_fd) {
    if (fcntl((int)p.status_fd, F_SETFD, FD_CLOEXEC) < 0) refuse("plan", "status-fd", "the supervisor must pass the status fd", "status fd %u: %s", p.status_fd, strerror(errno));
    g_status_fd = (int)p.status_fd;
  }
  if (p.supervisor_pid && getppid() != (pid_t)p.supervisor_pid)
    refuse("supervisor", "gone", "none: the supervisor died before the sandbox started", "parent is not the supervisor (pid %u)", p.supervisor_pid);
  return run_outer(&p);
}
