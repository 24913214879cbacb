/*
 * warden-fdpass.node: the socket and terminal operations Node cannot do itself. Sending a file
 * descriptor over a unix stream socket (SCM_RIGHTS): the egress proxy (src/egress/handoff.ts) uses
 * it to hand a connected, policy-checked upstream socket to the relay in the sandbox's network
 * namespace, which then moves the tunnel's bytes without the supervisor (native/PLAN.md §2b).
 *
 *   sendFd(unixFd, fd, record) -> 1 sent | 0 EAGAIN (nothing sent, retry when writable); throws otherwise
 *   tcpCounts(fd) -> [data bytes acked by the peer, data bytes received] (TCP_INFO): the kernel's own
 *     count of a handed-off upstream connection, for the audit record when the relay could not
 *     report its own. TCP_INFO counts the SYN and each FIN as a byte: the SYN is taken out, and a
 *     FIN where the state shows it; in TCP_CLOSE (both FINs exchanged, or a reset) it cannot, so
 *     each count may be one byte high there.
 *   peerCred(fd) -> [pid, uid, gid] of a unix socket's peer (SO_PEERCRED, fixed by the kernel at
 *     connect): who is answering on the approvals socket (src/approvals/server.ts).
 *   tcgetpgrp(fd) -> the terminal's foreground process group; throws with the errno text.
 *   tcsetpgrp(fd, pgrp) -> makes pgrp the terminal's foreground (src/approvals/tty.ts takes the
 *     terminal back from a paused job-control shell to ask, and gives it back). A caller outside
 *     the foreground would be stopped by SIGTTOU, so the calling thread blocks SIGTTOU and SIGTTIN
 *     around the ioctl and restores its mask after, as job-control shells and sudo do (the kernel
 *     checks only the calling thread's mask). Throws with the errno text (EPERM: pgrp is not in
 *     the caller's session; ESRCH: no such group; ENOTTY: not the caller's controlling terminal).
 *
 * Invariant: one sendmsg carrying exactly `record` and exactly one fd, never split (a record of at
 * most 64 bytes on a unix stream socket is queued whole or not at all). It opens nothing, keeps no
 * state (tcsetpgrp puts the thread's signal mask back before it returns) and never closes a fd: the
 * caller owns them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include "addon.h"
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#define MAX_RECORD 64
/* tcpi_state values (the kernel's net/tcp_states.h; netinet/tcp.h clashes with linux/tcp.h). */
enum { ST_FIN_WAIT2 = 5, ST_TIME_WAIT = 6, ST_CLOSE_WAIT = 8, ST_LAST_ACK = 9, ST_CLOSING = 11 };

napi_value addon_fail(napi_env env, const char *what) {
  napi_throw_error(env, "WARDEN_FDPASS", what);
  return NULL;
}
#define fail addon_fail /* the short name, in this file */

/* The one argument of fd-only functions: a non-negative int32. 0, or -1 with an exception thrown. */
static int fd_arg(napi_env env, napi_callback_info info, const char *usage, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    fail(env, usage);
    return -1;
  }
  return 0;
}

napi_value addon_numbers(napi_env env, const double *v, uint32_t n) {
  napi_value out, e;
  if (napi_create_array_with_length(env, n, &out) != napi_ok) return NULL;
  for (uint32_t i = 0; i < n; i++)
    if (napi_create_double(env, v[i], &e) != napi_ok || napi_set_element(env, out, i, e) != napi_ok) return NULL;
  return out;
}

static napi_value send_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int32_t sock, fd;
  void *data;
  size_t len;
  bool isbuf = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return fail(env, "sendFd(unixFd, fd, record)");
  if (napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &fd) != napi_ok || sock < 0 || fd < 0)
    return fail(env, "sendFd: fds must be non-negative integers");
  if (napi_is_buffer(env, argv[2], &isbuf) != napi_ok || !isbuf || napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok || len == 0 || len > MAX_RECORD)
    return fail(env, "sendFd: record must be a Buffer of 1..64 bytes");
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = 0;
  else if (n < 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "sendFd: sendmsg: %s", strerror(errno));
    return fail(env, msg);
  } else if ((size_t)n != len) return fail(env, "sendFd: short send"); /* cannot happen for <= 64 bytes */
  napi_create_int32(env, n > 0 ? 1 : 0, &out);
  return out;
}

static napi_value tcp_counts(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, "tcpCounts(fd)", &fd) < 0) return NULL;
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
    return fail(env, "tcpCounts: TCP_INFO unavailable");
  int st = ti.tcpi_state;
  uint64_t acked = ti.tcpi_bytes_acked, rcvd = ti.tcpi_bytes_received;
  acked -= acked > 0; /* the SYN */
  if ((st == ST_FIN_WAIT2 || st == ST_TIME_WAIT) && acked > 0) acked--; /* our FIN, acknowledged */
  if ((st == ST_CLOSE_WAIT || st == ST_LAST_ACK || st == ST_CLOSING || st == ST_TIME_WAIT) && rcvd > 0) rcvd--; /* their FIN */
  return addon_numbers(env, (const double[]){(double)acked, (double)rcvd}, 2);
}

static napi_value peer_cred(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, "peerCred(fd)", &fd) < 0) return NULL;
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof cr) return fail(env, "peerCred: SO_PEERCRED unavailable");
  return addon_numbers(env, (const double[]){(double)cr.pid, (double)cr.uid, (double)cr.gid}, 3);
}

napi_value addon_fail_errno(napi_env env, const char *what, int err) {
  char msg[96];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  return fail(env, msg);
}

static napi_value tc_getpgrp(napi_env env, napi_callback_info info) {
  napi_value out;
  int32_t fd;
  if (fd_arg(env, info, "tcgetpgrp(fd)", &fd) < 0) return NULL;
  pid_t pg = tcgetpgrp(fd);
  if (pg < 0) return addon_fail_errno(env, "tcgetpgrp", errno);
  napi_create_int32(env, pg, &out);
  return out;
}

static napi_value tc_setpgrp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, pg;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &pg) != napi_ok || fd < 0 || pg <= 0)
    return fail(env, "tcsetpgrp(fd, pgrp): fd >= 0, pgrp > 0");
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  sigaddset(&block, SIGTTIN);
  int e = pthread_sigmask(SIG_BLOCK, &block, &old);
  if (e != 0) return addon_fail_errno(env, "tcsetpgrp: pthread_sigmask", e);
  int r = tcsetpgrp(fd, pg);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL); /* cannot fail: the same valid set, SIG_SETMASK */
  if (r < 0) return addon_fail_errno(env, "tcsetpgrp", err);
  return NULL; /* undefined */
}

/* exitNow(code): _exit(2) at once, without Node's teardown (joining V8's and libuv's threads,
 * destructors: ~4 ms, a twentieth of `warden run -- true`). Only for a process with nothing left
 * to do: `warden run` calls it from its last 'exit' handler, after the audit log was closed and
 * synced and the sandbox is gone; Node's stdio writes to files, pipes and terminals are
 * synchronous on Linux, so nothing written is lost. */
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok || code < 0 || code > 255)
    return fail(env, "exitNow(code): 0 <= code <= 255");
  _exit(code);
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } exported[] = {
      {"sendFd", send_fd}, {"tcpCounts", tcp_counts}, {"peerCred", peer_cred}, {"tcgetpgrp", tc_getpgrp}, {"tcsetpgrp", tc_setpgrp}, {"exitNow", exit_now},
      {"socketPair", socket_pair}, {"spawnHelper", spawn_helper}, {"pidfdSignal", pidfd_signal}};
  for (size_t i = 0; i < sizeof exported / sizeof *exported; i++) {
    napi_value fn;
    if (napi_create_function(env, exported[i].name, NAPI_AUTO_LENGTH, exported[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, exported[i].name, fn) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
