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
 * It brings lo up, binds 127.0.0.1:PORT (TCP -> proxy socket; allowed tunnels are then handed back
 * to it and spliced here, see "Tunnel hand-off"), 127.0.0.1:53 (UDP -> DNS socket as 2-byte
 * big-endian frames, one answer per query, in order; plus TCP 53 piped as is: DNS over TCP is the
 * same framing), then drops every capability, sets no_new_privs and non-dumpable, closes every
 * other fd and reports ready. PDEATHSIG ties it to the outer helper, which SIGKILLs it when the
 * session ends. Everything is bounded: MAXC connections x (2 x BUFSZ + 2 pipes, PIPE_BUDGET in all),
 * MAXQ pending queries; it never blocks (every fd non-blocking, one poll loop).
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXC 256
#define BUFSZ 65536
#define MAXQ 256

/*
 * Tunnel hand-off (the other side is src/egress/handoff.ts). Each TCP connection starts in
 * P_PROXY: bytes flow client <-> unix connection <-> supervisor, which parses the request and
 * decides. For an allowed CONNECT / SOCKS5 tunnel the supervisor connects the upstream socket to
 * the address it checked and sends it here (SCM_RIGHTS) with a HANDOFF record; from then on the
 * relay moves the tunnel's bytes between the client and that socket itself, so the supervisor is
 * out of the data path. Records (fixed size, big-endian; the token is 16 random bytes the sandbox
 * never sees):
 *   supervisor -> relay  HANDOFF "WRH1" token  the last bytes on the unix connection, carrying the fd
 *   relay -> supervisor  SWITCH  "WRS1" token  after the last client byte sent to the supervisor
 *   supervisor -> relay  GO      "WRG1"        the supervisor wrote every client byte it had to the upstream
 *   relay -> supervisor  REPORT  "WRR1" up:u64 down:u64 status:u32   when the tunnel ends
 * Invariants: a fd is accepted only from the unix connection the relay itself opened to the
 * planned proxy socket (0600, the supervisor's), never opened or chosen from sandbox input; client
 * bytes reach the upstream in order (the relay holds the client side from HANDOFF to GO); after
 * SWITCH everything the relay sends on the unix connection is a record, and the token makes SWITCH
 * unforgeable by client data before it. If the client had already half-closed when HANDOFF arrives,
 * the relay cannot send SWITCH: it closes the fd and stays in P_PROXY, and the supervisor, seeing
 * EOF instead of SWITCH, keeps the tunnel itself. The supervisor closing the unix connection ends
 * the tunnel. Status in REPORT: 0 clean; else side << 16 | errno, side 1 client, 2 upstream, 3 relay.
 */
#define HANDOFF_LEN 20
#define SWITCH_LEN 20
#define GO_LEN 4
#define REPORT_LEN 24
#define TOKEN_LEN 16
enum phase { P_PROXY, P_SWITCH, P_TUNNEL };
enum side { S_CLIENT = 1, S_UPSTREAM = 2, S_RELAY = 3 };

/* One direction: a bounded buffer (always), and in a tunnel a pipe to splice(2) through. */
struct half { char *buf; size_t len, off, piped, cap; int eof, shut, pipe[2]; };
/* h[0]: client -> unix (P_PROXY) or upstream; h[1]: unix (P_PROXY) or upstream -> client. */
struct conn {
  int cl, ux, up;
  enum phase ph;
  struct half h[2];
  uint8_t out[SWITCH_LEN], in[GO_LEN]; /* a pending SWITCH; a partial GO */
  size_t out_len, in_len;
  uint64_t up_bytes, down_bytes; /* moved by the relay to / from the upstream */
  uint32_t status;
};

static struct conn *conns[MAXC];
/* UDP DNS: one stream to the stub, a FIFO of who asked, bounded in and out buffers. */
static int dns_fd = -1, udp_fd = -1;
static struct sockaddr_in askers[MAXQ];
static size_t q_head, q_len, r_len, w_len;
static uint8_t r_buf[65538], w_buf[131072], dgram[65536];

/* Tunnels splice through a pipe per direction: 1 MiB while the relay's pipes stay within
 * PIPE_BUDGET in all, the kernel's default (64 KiB) beyond it, so a sandbox holding MAXC stalled
 * tunnels pins at most PIPE_BUDGET + MAXC x 2 x 64 KiB of pipe memory. */
#define PIPESZ (1u << 20)
#define PIPE_BUDGET (32u << 20)
static size_t pipe_bytes;

/* A tunnel direction's pipe; without one (no fds left) the direction copies through its buffer. */
static void tunnel_pipe(struct half *x) {
  if (pipe2(x->pipe, O_NONBLOCK | O_CLOEXEC) < 0) { x->pipe[0] = x->pipe[1] = -1; return; }
  if (pipe_bytes + PIPESZ <= PIPE_BUDGET) (void)fcntl(x->pipe[1], F_SETPIPE_SZ, PIPESZ); /* may fail: user's pipe quota */
  int cap = fcntl(x->pipe[1], F_GETPIPE_SZ);
  x->cap = cap > 0 ? (size_t)cap : 65536;
  pipe_bytes += x->cap;
}

static int wants_in(const struct half *x) { return !x->eof && !x->len && (x->pipe[0] < 0 || x->piped < x->cap); }
static int has_out(const struct half *x) { return x->len || x->piped; }

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

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) p[i] = (uint8_t)v, v >>= 8;
}

/* Ends a connection; a handed-off tunnel first reports its counts (best effort: a supervisor
 * that cannot take 24 bytes now gets none, and records the bytes as unknown). */
static void conn_free(int i) {
  struct conn *c = conns[i];
  if (c->ph != P_PROXY) {
    uint8_t r[REPORT_LEN];
    memcpy(r, "WRR1", 4);
    put_be(r + 4, c->up_bytes, 8), put_be(r + 12, c->down_bytes, 8), put_be(r + 20, c->status, 4);
    if (c->out_len == 0) (void)send(c->ux, r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  /* A broken connection is not a finished one: the other side gets a reset (SO_LINGER 0), as it
   * would from a direct connection, never a FIN that makes a truncated transfer look complete. */
  if (c->status) {
    int side = (int)(c->status >> 16);
    struct linger rst = {1, 0};
    if (side != S_CLIENT) (void)setsockopt(c->cl, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    if (side != S_UPSTREAM && c->up >= 0) (void)setsockopt(c->up, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
  }
  close(c->cl);
  close(c->ux);
  if (c->up >= 0) close(c->up);
  for (int k = 0; k < 2; k++)
    if (c->h[k].pipe[0] >= 0) close(c->h[k].pipe[0]), close(c->h[k].pipe[1]), pipe_bytes -= c->h[k].cap;
  free(c->h[0].buf);
  free(c);
  conns[i] = NULL;
}

static int fail(struct conn *c, enum side s) {
  if (!c->status) c->status = (uint32_t)s << 16 | (uint32_t)(errno & 0xffff);
  return -1;
}

static int pump(struct conn *c, int k);

/* The session's end: the outer helper's SIGTERM, once the tree is gone (it kills the relay soon
 * after). Every tunnel moves what it can without blocking — a client that has exited and a server
 * that has finished end cleanly — and reports its counts, so the end record holds the relay's
 * exact ones instead of the kernel's (where a FIN counts as a byte); one still open reports
 * "relay ECANCELED". */
static volatile sig_atomic_t ending;
static void on_term(int sig) { (void)sig; ending = 1; }
static void finish(void) {
  for (int i = 0; i < MAXC; i++) {
    struct conn *c = conns[i];
    if (!c) continue;
    if (pump(c, 0) >= 0 && pump(c, 1) >= 0 && !(c->h[0].shut && c->h[1].shut)) {
      errno = ECANCELED;
      (void)fail(c, S_RELAY);
    }
    conn_free(i);
  }
  _exit(0);
}

/* In P_PROXY: reads supervisor -> client bytes; a fd arriving with them is a HANDOFF. */
static ssize_t read_proxy(struct conn *c, struct half *x) {
  union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr a; } u;
  struct iovec iov = {.iov_base = x->buf, .iov_len = BUFSZ};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  ssize_t n = recvmsg(c->ux, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return -1;
  int fds[4], nfd = 0;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    for (size_t k = 0; CMSG_LEN((k + 1) * sizeof(int)) <= h->cmsg_len && nfd < 4; k++) memcpy(&fds[nfd++], CMSG_DATA(h) + k * sizeof(int), sizeof(int));
  }
  if (nfd == 0 && !(m.msg_flags & MSG_CTRUNC)) return n;
  /* The record is the last thing the supervisor sent (it waits for SWITCH): read its remainder. */
  size_t have = (size_t)n;
  for (ssize_t r; have < BUFSZ + HANDOFF_LEN && (r = recv(c->ux, x->buf + have, BUFSZ + HANDOFF_LEN - have, MSG_DONTWAIT)) > 0;) have += (size_t)r;
  struct stat st;
  if (nfd != 1 || (m.msg_flags & MSG_CTRUNC) || have < HANDOFF_LEN || memcmp(x->buf + have - HANDOFF_LEN, "WRH1", 4) ||
      fstat(fds[0], &st) < 0 || !S_ISSOCK(st.st_mode)) {
    for (int k = 0; k < nfd; k++) close(fds[k]);
    errno = EPROTO;
    return -1;
  }
  have -= HANDOFF_LEN;
  if (c->h[0].shut) { /* cannot SWITCH: the supervisor keeps the tunnel */
    close(fds[0]);
    if (have == 0) errno = EAGAIN; /* nothing for the client yet (0 would read as EOF) */
    return have ? (ssize_t)have : -1;
  }
  int fl = fcntl(fds[0], F_GETFL);
  if (fl < 0 || fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) < 0) { close(fds[0]); return -1; }
  c->up = fds[0];
  c->ph = P_SWITCH;
  for (int k = 0; k < 2; k++) tunnel_pipe(&c->h[k]);
  memcpy(c->out, "WRS1", 4);
  memcpy(c->out + 4, x->buf + have + 4, TOKEN_LEN);
  ssize_t w = send(c->ux, c->out, SWITCH_LEN, MSG_NOSIGNAL | MSG_DONTWAIT); /* the rest, if any, on POLLOUT */
  c->out_len = SWITCH_LEN - (w > 0 ? (size_t)w : 0);
  return (ssize_t)have;
}

/* Splices src -> pipe -> dst; 1 = progress, 0 = would block, -1 = broken. */
static int splice_step(struct conn *c, struct half *x, int src, int dst, int k) {
  int moved = 0;
  const unsigned fl = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  if (!x->eof && x->piped < x->cap) {
    ssize_t n = splice(src, NULL, x->pipe[1], NULL, x->cap - x->piped, fl);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(c, k == 0 ? S_CLIENT : S_UPSTREAM);
    if (n == 0) x->eof = 1;
    if (n > 0) x->piped += (size_t)n, moved = 1, c->down_bytes += k ? (uint64_t)n : 0;
  }
  if (x->piped) {
    ssize_t n = splice(x->pipe[0], NULL, dst, NULL, x->piped, fl);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(c, k == 0 ? S_UPSTREAM : S_CLIENT);
    if (n > 0) x->piped -= (size_t)n, moved = 1, c->up_bytes += k ? 0 : (uint64_t)n;
  }
  return moved;
}

/* Moves what can be moved without blocking; -1 = the connection is broken. */
static int pump(struct conn *c, int k) {
  struct half *x = &c->h[k];
  while (!x->shut) {
    if (k == 0 && c->ph == P_SWITCH) return 0; /* held until GO */
    /* No upstream byte is read before SWITCH is out: a relay that dies earlier moved none, so the
     * supervisor's own counts (it keeps the tunnel on EOF without SWITCH) stay exact. */
    if (k == 1 && c->ph != P_PROXY && c->out_len && !x->len) return 0;
    int src = k ? (c->ph == P_PROXY ? c->ux : c->up) : c->cl, dst = k ? c->cl : (c->ph == P_PROXY ? c->ux : c->up);
    if (!x->len && x->pipe[0] >= 0 && c->ph != P_PROXY) {
      int r = splice_step(c, x, src, dst, k);
      if (r < 0) return -1;
      if (x->eof && !x->piped) shutdown(dst, SHUT_WR), x->shut = 1;
      if (!r) return 0;
      continue;
    }
    if (!x->len && !x->eof) {
      enum phase was = c->ph;
      ssize_t n = k && was == P_PROXY ? read_proxy(c, x) : read(src, x->buf, BUFSZ);
      if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : fail(c, k == 0 ? S_CLIENT : src == c->up ? S_UPSTREAM : S_RELAY);
      if (n == 0 && was == c->ph) x->eof = 1;
      if (src == c->up) c->down_bytes += (uint64_t)n;
      x->len = (size_t)n, x->off = 0;
    }
    if (x->len) {
      ssize_t n = send(dst, x->buf + x->off, x->len, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : fail(c, k == 0 ? (dst == c->up ? S_UPSTREAM : S_RELAY) : S_CLIENT);
      if (dst == c->up) c->up_bytes += (uint64_t)n;
      x->off += (size_t)n, x->len -= (size_t)n;
    } else if (x->eof) {
      shutdown(dst, SHUT_WR); /* half-close relayed */
      x->shut = 1;
    }
  }
  return 0;
}

/* After HANDOFF: the pending SWITCH out, GO in; anything else from the supervisor (or its EOF)
 * withdraws the tunnel. */
static int control(struct conn *c, short rev) {
  if (c->out_len && (rev & POLLOUT)) {
    ssize_t n = send(c->ux, c->out + SWITCH_LEN - c->out_len, c->out_len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(c, S_RELAY);
    if (n > 0) c->out_len -= (size_t)n;
  }
  if (!(rev & (POLLIN | POLLHUP | POLLERR))) return 0;
  ssize_t n = read(c->ux, c->in + c->in_len, c->ph == P_SWITCH ? GO_LEN - c->in_len : 1);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : fail(c, S_RELAY);
  if (n == 0 || c->ph != P_SWITCH) { errno = n ? EPROTO : ECONNABORTED; return fail(c, S_RELAY); }
  c->in_len += (size_t)n;
  if (c->in_len < GO_LEN) return 0;
  if (memcmp(c->in, "WRG1", GO_LEN) || c->out_len) { errno = EPROTO; return fail(c, S_RELAY); }
  c->ph = P_TUNNEL;
  return 0;
}

static void accept_all(int l, const char *path) {
  for (;;) {
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i = 0, u;
    if (s < 0) return;
    while (i < MAXC && conns[i]) i++;
    struct conn *c = i < MAXC ? calloc(1, sizeof *c) : NULL;
    /* h[1] has room for a HANDOFF record behind a full buffer of data. */
    char *buf = c ? malloc(2 * BUFSZ + HANDOFF_LEN) : NULL;
    /* No room or no supervisor: close at once, so the client fails fast instead of hanging. */
    if (!buf || (u = unix_connect(path)) < 0) { free(c); free(buf); close(s); continue; }
    c->cl = s, c->ux = u, c->up = -1, c->h[0].buf = buf, c->h[1].buf = buf + BUFSZ;
    for (int k = 0; k < 2; k++) c->h[k].pipe[0] = c->h[k].pipe[1] = -1;
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
  /* SIGTERM is blocked except inside ppoll, so the end is never missed between a check and a wait. */
  sigset_t term, waitmask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &waitmask);
  sigdelset(&waitmask, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
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
  static struct pollfd pf[4 + 3 * MAXC];
  for (;;) {
    int n = 0;
    for (int i = 0; i < 3; i++) pf[n++] = (struct pollfd){l[i], POLLIN, 0};
    pf[n++] = (struct pollfd){dns_fd, (short)(POLLIN | (w_len ? POLLOUT : 0)), 0};
    for (int i = 0; i < MAXC; i++) {
      struct conn *c = conns[i];
      if (!c) { pf[n++].fd = -1, pf[n++].fd = -1, pf[n++].fd = -1; continue; }
      struct half *a = &c->h[0], *b = &c->h[1];
      int proxy = c->ph == P_PROXY, held = c->ph == P_SWITCH;
      short want_a = (short)(wants_in(a) && !held ? POLLIN : 0), want_b = (short)(wants_in(b) && (proxy || !c->out_len) ? POLLIN : 0);
      short ev_cl = (short)(want_a | (has_out(b) ? POLLOUT : 0));
      short ev_ux = proxy ? (short)(want_b | (a->len ? POLLOUT : 0)) : (short)(POLLIN | (c->out_len ? POLLOUT : 0));
      short ev_up = proxy ? 0 : (short)(want_b | (has_out(a) && !held ? POLLOUT : 0));
      pf[n++] = (struct pollfd){ev_cl ? c->cl : -1, ev_cl, 0};
      pf[n++] = (struct pollfd){ev_ux ? c->ux : -1, ev_ux, 0};
      pf[n++] = (struct pollfd){ev_up ? c->up : -1, ev_up, 0};
    }
    int woke = ppoll(pf, (nfds_t)n, NULL, &waitmask);
    if (ending) finish();
    if (woke < 0) continue;
    if (pf[0].revents) accept_all(l[0], R->proxy);
    if (pf[1].revents) udp_in(R->dns);
    if (pf[2].revents) accept_all(l[2], R->dns);
    if (pf[3].revents && dns_fd >= 0) dns_io(pf[3].revents);
    for (int i = 0; i < MAXC; i++) {
      struct conn *c = conns[i];
      struct pollfd *q = &pf[4 + 3 * i];
      if (!c || !(q[0].revents | q[1].revents | q[2].revents)) continue;
      int bad = c->ph != P_PROXY && q[1].revents && control(c, q[1].revents) < 0;
      bad = bad || pump(c, 0) < 0 || pump(c, 1) < 0;
      if (bad || (c->h[0].shut && c->h[1].shut)) conn_free(i);
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
