/*
 * Starting the sandbox helper without fork(2) (src/sandbox/helper-process.ts).
 *
 * libuv starts a child with fork(), which copies the page tables of the whole Node process
 * (~90 MB resident at that point of `warden run`: ~2-4 ms on the development VM, on the thread
 * that then has to open the audit log) before the child can exec. posix_spawn(3) uses
 * clone(CLONE_VM|CLONE_VFORK): nothing is copied and the caller resumes once the helper execs.
 *
 *   socketPair() -> [a, b]: a connected AF_UNIX stream pair, both close-on-exec (one end stays
 *     here, the other becomes one of the helper's channels, as libuv's stdio pipes are).
 *   spawnHelper(path, fds) -> [pid, pidfd, exitFd]: runs `path` with argv [path], an empty
 *     environment, cwd "/", every signal at its default disposition and none blocked, and exactly
 *     the fds in `fds` (fds[i] becomes its fd i; nothing else is inherited). pidfd names the helper
 *     for pidfdSignal (never a recycled pid). A detached thread waits for the helper (waitid on the
 *     pidfd) and writes what it learnt to the pipe read by exitFd as two int32 (native order):
 *     [exit code, 0] when it exited, [-1, signal] when a signal killed it, [-2, errno] if waitid
 *     failed; then closes the pipe. The caller owns pidfd and exitFd and closes them.
 *   pidfdSignal(pidfd, signo) -> true sent | false the helper is gone (ESRCH); throws otherwise.
 *
 * Invariants: the helper is this process's child, spawned from the calling (main) thread, so its
 * PR_SET_PDEATHSIG fires when this process dies, exactly as with libuv. libuv reaps only the
 * children it spawned itself (waitpid per pid), so the waiting thread is the helper's only reaper.
 * No fd is left behind when the spawn fails (see the end of spawn_helper for the one exception after it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "addon.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define MAX_CHILD_FDS 16
#define MAX_PATH_BYTES 4096

napi_value socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return addon_fail_errno(env, "socketPair", errno);
  napi_value out = addon_numbers(env, (const double[]){sv[0], sv[1]}, 2);
  if (out == NULL) {
    close(sv[0]);
    close(sv[1]);
  }
  return out;
}

struct reaper {
  int pidfd;
  int out;
};

static void *reap(void *arg) {
  struct reaper r = *(struct reaper *)arg;
  free(arg);
  siginfo_t si;
  int32_t res[2];
  memset(&si, 0, sizeof si);
  int rc;
  do rc = waitid((idtype_t)P_PIDFD, (id_t)r.pidfd, &si, WEXITED);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    res[0] = -2;
    res[1] = errno;
  } else if (si.si_code == CLD_EXITED) {
    res[0] = si.si_status;
    res[1] = 0;
  } else {
    res[0] = -1;
    res[1] = si.si_status;
  }
  ssize_t w;
  do w = write(r.out, res, sizeof res);
  while (w < 0 && errno == EINTR);
  close(r.out);
  return NULL;
}

/* Waits for a helper this call could not hand over (its reaper failed to start). */
static void kill_and_reap(int pidfd) {
  siginfo_t si;
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
}

/* The reaper thread, started with every signal blocked (Node's handlers run on its main thread). */
static int start_reaper(int pidfd, int out) {
  struct reaper *r = malloc(sizeof *r);
  if (r == NULL) return ENOMEM;
  r->pidfd = pidfd;
  r->out = out;
  sigset_t all, old;
  sigfillset(&all);
  pthread_attr_t attr;
  pthread_t t;
  int e = pthread_attr_init(&attr);
  if (e == 0) e = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (e == 0) e = pthread_attr_setstacksize(&attr, 64 * 1024);
  if (e == 0) {
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&t, &attr, reap, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_attr_destroy(&attr);
  if (e != 0) free(r);
  return e;
}

/* posix_spawn of `path` with fds[i] as fd i. 0 and *pid set, or an errno value. */
static int spawn_with(const char *path, const int *fds, uint32_t n, pid_t *pid) {
  int tmp[MAX_CHILD_FDS];
  uint32_t made = 0;
  int err = 0;
  /* Copies above every target fd, so no dup2 overwrites a source another dup2 still needs. */
  for (; made < n; made++) {
    tmp[made] = fcntl(fds[made], F_DUPFD_CLOEXEC, (int)n);
    if (tmp[made] < 0) {
      err = errno;
      break;
    }
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int fa_ok = 0, attr_ok = 0;
  if (err == 0) err = posix_spawn_file_actions_init(&fa);
  if (err == 0) fa_ok = 1;
  for (uint32_t i = 0; err == 0 && i < n; i++) err = posix_spawn_file_actions_adddup2(&fa, tmp[i], (int)i);
  if (err == 0) err = posix_spawn_file_actions_addclosefrom_np(&fa, (int)n);
  if (err == 0) err = posix_spawn_file_actions_addchdir_np(&fa, "/");
  if (err == 0) err = posix_spawnattr_init(&attr);
  if (err == 0) attr_ok = 1;
  sigset_t none, dfl;
  sigemptyset(&none);
  sigfillset(&dfl);
  sigdelset(&dfl, SIGKILL);
  sigdelset(&dfl, SIGSTOP);
  if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
  if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &dfl);
  if (err == 0) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (err == 0) {
    char *argv[] = {(char *)path, NULL};
    char *envp[] = {NULL};
    err = posix_spawn(pid, path, &fa, &attr, argv, envp);
  }
  if (attr_ok) posix_spawnattr_destroy(&attr);
  if (fa_ok) posix_spawn_file_actions_destroy(&fa);
  for (uint32_t i = 0; i < made; i++) close(tmp[i]);
  return err;
}

napi_value spawn_helper(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[MAX_PATH_BYTES];
  size_t plen = 0;
  bool isarr = false;
  uint32_t n = 0;
  int fds[MAX_CHILD_FDS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen == 0 || plen >= sizeof path - 1 ||
      strlen(path) != plen || napi_is_array(env, argv[1], &isarr) != napi_ok || !isarr || napi_get_array_length(env, argv[1], &n) != napi_ok ||
      n < 3 || n > MAX_CHILD_FDS)
    return addon_fail(env, "spawnHelper(path, fds): an absolute path and 3 to 16 fds");
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    int32_t fd;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || napi_get_value_int32(env, e, &fd) != napi_ok || fd < 0)
      return addon_fail(env, "spawnHelper: fds must be non-negative integers");
    fds[i] = fd;
  }
  if (path[0] != '/') return addon_fail(env, "spawnHelper: the path must be absolute");

  int exitp[2];
  if (pipe2(exitp, O_CLOEXEC) < 0) return addon_fail_errno(env, "spawnHelper: pipe2", errno);
  pid_t pid;
  int err = spawn_with(path, fds, n, &pid);
  if (err != 0) {
    close(exitp[0]);
    close(exitp[1]);
    return addon_fail_errno(env, "spawnHelper: posix_spawn", err);
  }
  /* Nobody else reaps this child, so its pid cannot be recycled before this open. */
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    err = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    close(exitp[0]);
    close(exitp[1]);
    return addon_fail_errno(env, "spawnHelper: pidfd_open", err);
  }
  err = start_reaper(pidfd, exitp[1]);
  if (err != 0) {
    kill_and_reap(pidfd);
    close(pidfd);
    close(exitp[0]);
    close(exitp[1]);
    return addon_fail_errno(env, "spawnHelper: reaper thread", err);
  }
  napi_value out = addon_numbers(env, (const double[]){pid, pidfd, exitp[0]}, 3);
  /* Past this point the reaper owns exitp[1]; an exception here leaves pidfd and exitp[0] open
   * (no JS value names them), which only happens when V8 cannot allocate a 3-element array. */
  return out;
}

napi_value pidfd_signal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  int32_t pidfd, sig;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_int32(env, argv[0], &pidfd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &sig) != napi_ok || pidfd < 0 || sig < 0 || sig >= 65)
    return addon_fail(env, "pidfdSignal(pidfd, signo)");
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
    if (errno != ESRCH) return addon_fail_errno(env, "pidfdSignal", errno);
    napi_get_boolean(env, false, &out);
    return out;
  }
  napi_get_boolean(env, true, &out);
  return out;
}
