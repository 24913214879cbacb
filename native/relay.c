/*
 * The egress relay: the only way out of the sandbox's network namespace (DESIGN.md §2 L2).
 *
 * Where it runs: forked by the *outer* helper once init exists and its id maps are written; it
 * joins init's user and network namespaces (setns; the outer helper owns the user namespace, so
 * it may) and nothing else. It stays in the host's pid and mount namespaces and outside the
 * sandbox's Landlock domain and seccomp filter, so the sandboxed tree (a child pid namespace,
 * Landlock-scoped for signals, non-dumpable peers) can neither see, signal nor ptrace it, and the
 * supervisor's sockets are reached by host path (they are not mounted into the sandbox). Its uid
 * is the supervisor's (the maps are identity), so the 0600 sockets accept it.
 *
 * It brings lo up, binds 127.0.0.1:PORT (TCP -> proxy socket), 127.0.0.1:53 (UDP -> DNS socket as
 * 2-byte big-endian frames, one answer per query, in order; plus TCP 53 piped as is: DNS over TCP
 * is the same framing), then drops every capability, sets no_new_privs and non-dumpable, closes
 * every other fd and reports ready. PDEATHSIG ties it to the outer helper, which SIGKILLs it when
 * the session ends. Buffers are bounded: MAXC connections x 2 x BUFSZ, and MAXQ pending queries.
 */
#define _GNU_SOURCE
#include "helper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXC 256
#define BUFSZ 65536
#define MAXQ 256

struct half { char *buf; size_t len, off; int eof, shut; };
/* h[k] moves fd[k] -> fd[1-k]; fd[0] is the sandbox's TCP connection, fd[1] the unix one. */
struct conn { int fd[2]; struct half h[2]; };

static struct conn *conns[MAXC];
/* UDP DNS: one stream to the stub, a FIFO of who asked, bounded in and out buffers. */
static int dns_fd = -1, udp_fd = -1;
static struct sockaddr_in askers[MAXQ];
static size_t q_head, q_len, r_len, w_len;
static uint8_t r_buf[65538], w_buf[131072], dgram[65536];

static int unix_connect(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) < 0) { close(s); return -1; }
  return s;
}

static int listen_on(int type, uint32_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || (type == SOCK_STREAM && listen(s, 128) < 0))
    refuse("egress", "listen", "run `warden doctor`", "relay cannot listen on 127.0.0.1:%u (%s): %s", port,
           type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
  return s;
}

static void conn_free(int i) {
  close(conns[i]->fd[0]);
  close(conns[i]->fd[1]);
  free(conns[i]->h[0].buf);
  free(conns[i]);
  conns[i] = NULL;
}

/* Moves what can be moved without blocking; -1 = the connection is broken. */
static int pump(struct conn *c, int k) {
  struct half *x = &c->h[k];
  while (!x->shut) {
    if (!x->len && !x->eof) {
      ssize_t n = read(c->fd[k], x->buf, BUFSZ);
      if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
      if (n == 0) x->eof = 1;
      x->len = (size_t)n, x->off = 0;
    }
    if (x->len) {
      ssize_t n = send(c->fd[1 - k], x->buf + x->off, x->len, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
      x->off += (size_t)n, x->len -= (size_t)n;
    } else if (x->eof) {
      shutdown(c->fd[1 - k], SHUT_WR); /* half-close relayed */
      x->shut = 1;
    }
  }
  return 0;
}

static void accept_all(int l, const char *path) {
  for (;;) {
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i = 0, u;
    if (s < 0) return;
    while (i < MAXC && conns[i]) i++;
    struct conn *c = i < MAXC ? calloc(1, sizeof *c) : NULL;
    char *buf = c ? malloc(2 * BUFSZ) : NULL;
    /* No room or no supervisor: close at once, so the client fails fast instead of hanging. */
    if (!buf || (u = unix_connect(path)) < 0) { free(c); free(buf); close(s); continue; }
    c->fd[0] = s, c->fd[1] = u, c->h[0].buf = buf, c->h[1].buf = buf + BUFSZ;
    conns[i] = c;
  }
}

static void dns_reset(void) {
  if (dns_fd >= 0) close(dns_fd);
  dns_fd = -1, q_head = q_len = r_len = w_len = 0;
}

static void udp_in(const char *path) {
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(udp_fd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    /* UDP may drop: an empty datagram, a full queue or a stub we cannot reach loses this query. */
    if (n == 0 || q_len == MAXQ || w_len + 2 + (size_t)n > sizeof w_buf) continue;
    if (dns_fd < 0 && (dns_fd = unix_connect(path)) < 0) continue;
    w_buf[w_len] = (uint8_t)(n >> 8), w_buf[w_len + 1] = (uint8_t)n;
    memcpy(w_buf + w_len + 2, dgram, (size_t)n);
    w_len += 2 + (size_t)n;
    askers[(q_head + q_len++) % MAXQ] = from;
  }
}

static void dns_io(short rev) {
  if ((rev & POLLOUT) && w_len) {
    ssize_t n = send(dns_fd, w_buf, w_len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) { dns_reset(); return; }
    if (n > 0) memmove(w_buf, w_buf + n, w_len - (size_t)n), w_len -= (size_t)n;
  }
  if (!(rev & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = read(dns_fd, r_buf + r_len, sizeof r_buf - r_len);
  if (n == 0 || (n < 0 && errno != EAGAIN)) { dns_reset(); return; }
  if (n > 0) r_len += (size_t)n;
  for (;;) { /* one frame per query, in order; an empty frame = no answer */
    size_t l = r_len >= 2 ? (size_t)r_buf[0] << 8 | r_buf[1] : 0;
    if (r_len < 2 || r_len < 2 + l) return;
    if (!q_len) { dns_reset(); return; } /* an answer nobody asked for: protocol error */
    if (l) sendto(udp_fd, r_buf + 2, l, 0, (struct sockaddr *)&askers[q_head], sizeof askers[q_head]);
    q_head = (q_head + 1) % MAXQ, q_len--;
    memmove(r_buf, r_buf + 2 + l, r_len - 2 - l);
    r_len -= 2 + l;
  }
}

static void __attribute__((noreturn)) relay_main(const struct plan *p, pid_t outer, int userns, int netns, int ready) {
  const struct relay_rec *R = &p->relay;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != outer) _exit(126);
  if (setns(userns, CLONE_NEWUSER) < 0 || setns(netns, CLONE_NEWNET) < 0)
    refuse("egress", "setns", "run `warden doctor`", "relay cannot join the sandbox's network namespace: %s", strerror(errno));
  close(userns), close(netns);
  bring_up_loopback();
  int l[3] = {listen_on(SOCK_STREAM, R->tcp_port), listen_on(SOCK_DGRAM, R->dns_port), -1};
  if (R->flags & RELAY_DNS_TCP) l[2] = listen_on(SOCK_STREAM, R->dns_port);
  udp_fd = l[1];
  drop_capabilities();
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  if (write(ready, "r", 1) != 1) _exit(126);
  /* Keep only the listeners: no stdio, no status channel, nothing of the outer helper's. */
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC), keep[4] = {l[0], l[1], l[2], -1}, lo = 3;
  for (int i = 0; i < 3 && nul >= 0; i++) dup2(nul, i);
  for (int i = 0; i < 3; i++) for (int j = i + 1; j < 3; j++) if (keep[j] < keep[i]) { int t = keep[i]; keep[i] = keep[j]; keep[j] = t; }
  for (int i = 0; i < 3; i++) {
    if (keep[i] < 0) continue;
    if (keep[i] > lo) syscall(SYS_close_range, (unsigned)lo, (unsigned)keep[i] - 1, 0u);
    lo = keep[i] + 1;
  }
  syscall(SYS_close_range, (unsigned)lo, ~0u, 0u);
  g_status_fd = -1;
  static struct pollfd pf[4 + 2 * MAXC];
  for (;;) {
    int n = 0;
    for (int i = 0; i < 3; i++) pf[n++] = (struct pollfd){l[i], POLLIN, 0};
    pf[n++] = (struct pollfd){dns_fd, (short)(POLLIN | (w_len ? POLLOUT : 0)), 0};
    for (int i = 0; i < MAXC; i++) {
      struct conn *c = conns[i];
      if (!c) { pf[n++].fd = -1, pf[n++].fd = -1; continue; }
      for (int k = 0; k < 2; k++) {
        short ev = (short)((!c->h[k].eof && !c->h[k].len ? POLLIN : 0) | (c->h[1 - k].len ? POLLOUT : 0));
        pf[n++] = (struct pollfd){ev ? c->fd[k] : -1, ev, 0};
      }
    }
    if (poll(pf, (nfds_t)n, -1) < 0) continue;
    if (pf[0].revents) accept_all(l[0], R->proxy);
    if (pf[1].revents) udp_in(R->dns);
    if (pf[2].revents) accept_all(l[2], R->dns);
    if (pf[3].revents && dns_fd >= 0) dns_io(pf[3].revents);
    for (int i = 0; i < MAXC; i++) {
      struct conn *c = conns[i];
      if (!c || !(pf[4 + 2 * i].revents | pf[5 + 2 * i].revents)) continue;
      if (pump(c, 0) < 0 || pump(c, 1) < 0 || (c->h[0].shut && c->h[1].shut)) conn_free(i);
    }
  }
}

/* In the outer helper, after the id maps are written and before init is released: the payload
 * never runs before the relay listens. Returns the relay's pid; refuses (exit 126) on failure. */
pid_t start_relay(const struct plan *p, pid_t init) {
  char path[64];
  int rp[2], ns[2];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)init, i ? "net" : "user");
    if ((ns[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      refuse("egress", "setns", "run `warden doctor`", "cannot open %s: %s", path, strerror(errno));
  }
  if (pipe2(rp, O_CLOEXEC) < 0) refuse("egress", "setup", "retry", "pipe: %s", strerror(errno));
  pid_t outer = getpid(), r = fork();
  if (r < 0) refuse("egress", "fork", "retry", "cannot start the relay: %s", strerror(errno));
  if (r == 0) { close(rp[0]); relay_main(p, outer, ns[0], ns[1], rp[1]); }
  close(rp[1]), close(ns[0]), close(ns[1]);
  char b = 0;
  ssize_t n;
  while ((n = read(rp[0], &b, 1)) < 0 && errno == EINTR) {}
  close(rp[0]);
  if (n != 1) _exit(126); /* the relay already said why (one line, exit 126); init dies with us */
  return r;
}
