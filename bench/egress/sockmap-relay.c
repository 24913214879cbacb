/*
 * Feasibility benchmark (not part of Warden): can the kernel forward an allowed CONNECT tunnel by
 * itself, with a BPF sockhash and an SK_SKB verdict program, so that no process touches the bytes
 * after the decision? Measures it next to a direct connection and a splice(2) relay, all C, on
 * loopback. Needs CAP_BPF + CAP_NET_ADMIN (root): kernel.unprivileged_bpf_disabled=2 here.
 *
 *   cc -O2 -Wall -Wextra -pthread -o sockmap-relay sockmap-relay.c
 *   ./sockmap-relay bench [--bytes N] [--runs R] [--attach strp|stream|verdict]... [--netns]
 *   ./sockmap-relay check [--netns] [--slow-mib N]   correctness: checksums, EOF, half-close both
 *                                        ways, RST, byte counts, early bytes; a slow reader (memory)
 *   ./sockmap-relay probe               what bpf(2) allows this user (run as root and as warden-test)
 *
 * Topology: a bulk/echo server on 127.0.0.2 (the "internet"); relays listen on 127.0.0.1 (with
 * --netns: in a fresh network namespace with only lo, where the relayed clients run too; the
 * relays' upstream sockets stay in the host namespace, as in Warden). One client process per run;
 * the server and each relay report their CPU (getrusage, all threads) per connection. Kernel
 * threads (kworker, ksoftirqd) are sampled around each run from /proc: sockmap's egress redirect
 * sends from a workqueue, so that CPU is not the relay process's.
 *
 * The sockmap relay: accept the client (C), connect upstream (U), insert U under key cookie(C) and
 * C under key cookie(U) into one sockhash; the verdict program redirects every skb arriving on a
 * socket to the egress of the socket stored under the arriving socket's own cookie (its peer).
 * Then the relay only polls for FIN/RST: the kernel does not forward FIN or RST, so the relay
 * propagates them itself, after the redirected bytes have left (TCP_INFO + SIOCOUTQ, see drained()).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the full struct tcp_info (glibc's lacks tcpi_bytes_*) */
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "splice-pump.h"

#define CHUNK (1u << 20)
#define RBUF (256u << 10)

static void die(const char *what) { perror(what); exit(1); }
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static uint64_t self_cpu_us(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000u +
         (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

/* ---- position-dependent checksum: h = sum over 8-byte words w_k of w_k * (2k + 1) ------------ */
struct ck { uint64_t h, k, n; unsigned char part[8]; unsigned np; };
static void ck_add(struct ck *c, const unsigned char *p, size_t len) {
  c->n += len;
  while (len && c->np) {
    c->part[c->np++] = *p++, len--;
    if (c->np == 8) { uint64_t w; memcpy(&w, c->part, 8); c->h += w * (2 * c->k++ + 1); c->np = 0; }
  }
  uint64_t h = c->h, k = c->k;
  for (; len >= 8; p += 8, len -= 8) { uint64_t w; memcpy(&w, p, 8); h += w * (2 * k++ + 1); }
  c->h = h, c->k = k;
  while (len) c->part[c->np++] = *p++, len--;
}
static uint64_t ck_final(const struct ck *c) {
  uint64_t w = 0;
  memcpy(&w, c->part, c->np);
  return c->h + w * (2 * c->k + 1) + c->n * 0x9E3779B97F4A7C15ull;
}

/* The download pattern: a random 1 MiB chunk whose first word is the chunk number. */
static unsigned char *pattern;
static uint64_t pat_a, pat_b; /* sum over words i >= 1 of w_i * (2i + 1), and of w_i */
static void pattern_init(void) {
  pattern = malloc(CHUNK);
  uint64_t x = 0x243F6A8885A308D3ull;
  for (size_t i = 0; i < CHUNK; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(pattern + i, &x, 8);
  }
  for (uint64_t i = 1; i < CHUNK / 8; i++) {
    uint64_t w;
    memcpy(&w, pattern + i * 8, 8);
    pat_a += w * (2 * i + 1), pat_b += w;
  }
}
/* Checksum of the first n bytes of the pattern stream without touching them (n % CHUNK == 0). */
static uint64_t pattern_ck(uint64_t n) {
  uint64_t h = 0, m = CHUNK / 8;
  for (uint64_t j = 0; j < n / CHUNK; j++) h += j * (2 * j * m + 1) + pat_a + 2 * j * m * pat_b;
  return h + n * 0x9E3779B97F4A7C15ull;
}

/* ---- reports: every server / relay process writes one record per connection to a pipe -------- */
struct report {
  uint64_t cpu_us;            /* cumulative process CPU after the connection */
  uint64_t a_bytes, a_ck;     /* server: bytes sent (D/H/R) or echoed (E); relay: TCP_INFO up */
  uint64_t b_bytes, b_ck;     /* server: bytes received after half-close (H); relay: TCP_INFO down */
  int64_t status;             /* relay: 0 clean, else -errno of the side that failed */
  uint64_t early;             /* sockmap relay: bytes queued on the client socket at insertion
                                 (low 32 bits) + (benign FIN-skb EPIPEs << 32) */
  uint64_t send_us;           /* server: from the request to the last byte written */
};
static void put_report(int fd, const struct report *r) {
  if (write(fd, r, sizeof *r) != sizeof *r) die("report");
}
static void get_report(int fd, struct report *r) {
  if (read(fd, r, sizeof *r) != sizeof *r) { fprintf(stderr, "lost a report\n"); exit(1); }
}

static int tcp_socket(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (s < 0) die("socket");
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}
static struct sockaddr_in addr(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}
static int listener(const char *ip, int *port) {
  int s = tcp_socket(), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = addr(ip, 0);
  socklen_t l = sizeof a;
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64) || getsockname(s, (struct sockaddr *)&a, &l))
    die("listen");
  *port = ntohs(a.sin_port);
  return s;
}
static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t m = write(fd, c, n);
    if (m < 0 && errno == EINTR) continue;
    if (m <= 0) return -1;
    c += m, n -= (size_t)m;
  }
  return 0;
}
static void rst_close(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

/* ---- the server: request = op (u32) pad (u32) n (u64) ------------------------------------------ */
struct req { uint32_t op, pad; uint64_t n; };
static void server(int ls, int rep) {
  static unsigned char buf[RBUF];
  for (;;) {
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    struct req q;
    struct report r = {0};
    struct ck ck = {0}, ck2 = {0};
    size_t got = 0;
    while (got < sizeof q) {
      ssize_t m = read(c, (char *)&q + got, sizeof q - got);
      if (m <= 0) break;
      got += (size_t)m;
    }
    if (got != sizeof q) { close(c); r.status = -EPROTO; r.cpu_us = self_cpu_us(); put_report(rep, &r); continue; }
    if (q.op == 'D' || q.op == 'H' || q.op == 'R') {
      /* send n bytes of the pattern (D: then close; H: then half-close and count the upload;
       * R: then reset) */
      uint64_t left = q.n;
      double t0 = now();
      for (uint64_t j = 0; left; j++) {
        memcpy(pattern, &j, 8);
        size_t m = left < CHUNK ? (size_t)left : CHUNK;
        if (q.op != 'D' || q.n % CHUNK) ck_add(&ck, pattern, m);
        if (write_all(c, pattern, m)) break;
        left -= m;
      }
      r.a_bytes = q.n - left;
      r.send_us = (uint64_t)((now() - t0) * 1e6);
      r.a_ck = q.op == 'D' && q.n % CHUNK == 0 ? pattern_ck(q.n) : ck_final(&ck);
      if (q.op == 'R') { rst_close(c); c = -1; }
      else if (q.op == 'H') {
        shutdown(c, SHUT_WR);
        ssize_t m;
        while ((m = read(c, buf, sizeof buf)) > 0) ck_add(&ck2, buf, (size_t)m);
        r.b_bytes = ck2.n, r.b_ck = ck_final(&ck2);
      }
    } else if (q.op == 'E') {
      /* echo until the client's EOF, then half-close */
      ssize_t m;
      while ((m = read(c, buf, sizeof buf)) > 0) {
        ck_add(&ck, buf, (size_t)m);
        if (write_all(c, buf, (size_t)m)) break;
      }
      r.a_bytes = ck.n, r.a_ck = ck_final(&ck);
      shutdown(c, SHUT_WR);
      while (read(c, buf, sizeof buf) > 0) {}
    }
    if (c >= 0) close(c);
    r.cpu_us = self_cpu_us();
    put_report(rep, &r);
  }
}

/* ---- BPF: raw bpf(2), hand-assembled programs ---------------------------------------------------- */
static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }
#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int map_create(int type, unsigned key, unsigned val, unsigned max) {
  union bpf_attr a = {0};
  a.map_type = (uint32_t)type, a.key_size = key, a.value_size = val, a.max_entries = max;
  return (int)sys_bpf(BPF_MAP_CREATE, &a);
}
static char vlog[65536];
static int prog_load(const struct bpf_insn *in, unsigned n, int attach, const char *name) {
  union bpf_attr a = {0};
  a.prog_type = BPF_PROG_TYPE_SK_SKB;
  a.expected_attach_type = (uint32_t)attach;
  a.insns = (uint64_t)(uintptr_t)in, a.insn_cnt = n;
  a.license = (uint64_t)(uintptr_t)"GPL";
  a.log_buf = (uint64_t)(uintptr_t)vlog, a.log_size = sizeof vlog, a.log_level = 1;
  vlog[0] = 0;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0) fprintf(stderr, "%s: BPF_PROG_LOAD: %s\nverifier log:\n%s\n", name, strerror(errno), vlog);
  return fd;
}

/*
 * Verdict: redirect this skb to the egress of the socket stored under this socket's own cookie
 * (its peer). If the peer is gone (teardown), pass the skb to this socket's own receive queue,
 * where the relay sees it as readable data: a fault it answers by resetting both sides, so no
 * byte is silently dropped after the TCP ack.
 */
static int load_verdict(int map_fd, int attach) {
  struct bpf_insn p[] = {
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),          /* r6 = skb */
    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),           /* r0 = cookie(skb->sk) */
    INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, -8, 0),          /* *(u64 *)(fp - 8) = r0 */
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),          /* r1 = skb */
    INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, map_fd), /* r2 = &sockhash */
    INSN(0, 0, 0, 0, 0),
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0),         /* r3 = fp */
    INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8),                 /* r3 = fp - 8 (key) */
    INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0),                  /* r4 = 0: peer's egress */
    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),            /* r0 = SK_PASS / SK_DROP */
    INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 1, SK_DROP),              /* redirected: return it */
    INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS),            /* no peer: keep it here */
    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  return prog_load(p, sizeof p / sizeof *p, attach, "verdict");
}
/* Stream parser (strparser mode only): every skb is one whole message. */
static int load_parser(void) {
  struct bpf_insn p[] = {
    INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_1, offsetof(struct __sk_buff, len), 0),
    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  return prog_load(p, 2, BPF_SK_SKB_STREAM_PARSER, "parser");
}
static int prog_attach(int prog, int map, int type) {
  union bpf_attr a = {0};
  a.target_fd = (uint32_t)map, a.attach_bpf_fd = (uint32_t)prog, a.attach_type = (uint32_t)type;
  return (int)sys_bpf(BPF_PROG_ATTACH, &a);
}
static int map_update(int map, uint64_t key, uint64_t val) {
  union bpf_attr a = {0};
  a.map_fd = (uint32_t)map, a.key = (uint64_t)(uintptr_t)&key, a.value = (uint64_t)(uintptr_t)&val;
  a.flags = BPF_NOEXIST;
  return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}
static int map_delete(int map, uint64_t key) {
  union bpf_attr a = {0};
  a.map_fd = (uint32_t)map, a.key = (uint64_t)(uintptr_t)&key;
  return (int)sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

enum attach { A_STRP, A_STREAM, A_VERDICT };
static const char *attach_name[] = {"strp", "stream", "verdict"};
/* The sockhash with the programs attached; the fd is all the kernel needs to keep both alive. */
static int sockmap_setup(enum attach how) {
  int map = map_create(BPF_MAP_TYPE_SOCKHASH, 8, 8, 1024);
  if (map < 0) { fprintf(stderr, "BPF_MAP_CREATE sockhash: %s\n", strerror(errno)); return -1; }
  int type = how == A_VERDICT ? BPF_SK_SKB_VERDICT : BPF_SK_SKB_STREAM_VERDICT;
  int v = load_verdict(map, type);
  if (v < 0) return -1;
  if (prog_attach(v, map, type)) { fprintf(stderr, "attach verdict: %s\n", strerror(errno)); return -1; }
  if (how == A_STRP) {
    int p = load_parser();
    if (p < 0 || prog_attach(p, map, BPF_SK_SKB_STREAM_PARSER)) { fprintf(stderr, "parser: %s\n", strerror(errno)); return -1; }
    close(p);
  }
  close(v); /* the map holds the programs */
  return map;
}

/* ---- relays ------------------------------------------------------------------------------------ */
struct relay_cfg { int kind; /* 0 splice, 1 sockmap */ enum attach how; int delay_ms, go; };
static struct sockaddr_in upstream;
static int server_port;
static pid_t kids[16];
static int nkids;

static uint64_t cookie(int fd) {
  uint64_t c = 0;
  socklen_t l = sizeof c;
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l)) die("SO_COOKIE");
  return c;
}
static struct tcp_info tinfo(int fd) {
  struct tcp_info t;
  socklen_t l = sizeof t;
  memset(&t, 0, sizeof t);
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &t, &l);
  return t;
}
/* Bytes the socket has been given to send (acked + still queued), before its FIN. */
static uint64_t pushed(int fd) {
  int outq = 0;
  ioctl(fd, SIOCOUTQ, &outq);
  return tinfo(fd).tcpi_bytes_acked + (uint64_t)outq;
}
/* Data bytes the socket has received; tcpi_bytes_received counts the FIN's sequence number too
 * once it has arrived (rcv_nxt - irs - 1), see check mode. */
static uint64_t received(int fd, int fin) { return tinfo(fd).tcpi_bytes_received - (uint64_t)(fin ? 1 : 0); }

struct side { int fd; uint64_t rx0, tx0; int fin, shut; };
/* Every byte that arrived on `from` (since insertion) has been pushed into `to`'s send queue by
 * the redirect: only then may the relay send `to`'s FIN (a shutdown before would make the kernel's
 * later sends fail, and the psock queue is purged on close). */
static int drained(const struct side *from, const struct side *to) {
  uint64_t last = 0;
  for (int idle = 0; idle < 25000; idle++) { /* gives up after 5 s without progress */
    uint64_t p = pushed(to->fd) - to->tx0;
    if (received(from->fd, 1) - from->rx0 == p) return 1;
    if (p != last) last = p, idle = 0;
    usleep(200);
  }
  fprintf(stderr, "drain timeout: received %llu - %llu, pushed %llu - %llu\n", (unsigned long long)received(from->fd, 1),
          (unsigned long long)from->rx0, (unsigned long long)pushed(to->fd), (unsigned long long)to->tx0);
  return 0;
}

static void sockmap_tunnel(int map, const struct relay_cfg *cf, int c, int rep) {
  struct report r = {0};
  int u = tcp_socket();
  if (connect(u, (struct sockaddr *)&upstream, sizeof upstream)) { r.status = -errno; rst_close(c); close(u); goto out; }
  if (cf->delay_ms) usleep((useconds_t)cf->delay_ms * 1000);
  uint64_t kc = cookie(c), ku = cookie(u);
  struct side s[2] = {{.fd = c}, {.fd = u}};
  for (int i = 0; i < 2; i++) {
    int inq = 0;
    ioctl(s[i].fd, SIOCINQ, &inq);
    s[i].rx0 = tinfo(s[i].fd).tcpi_bytes_received - (uint64_t)inq; /* bytes queued now are forwarded too */
    if (i == 0) r.early = (uint64_t)inq;
    s[i].tx0 = pushed(s[i].fd); /* tcpi_bytes_acked may count the SYN: a baseline, taken before any redirect */
  }
  if (map_update(map, kc, (uint64_t)u) || map_update(map, ku, (uint64_t)c)) {
    r.status = -errno;
    fprintf(stderr, "sockhash update: %s\n", strerror(errno));
    rst_close(c), rst_close(u);
    goto out;
  }
  if (cf->go && write(c, "G", 1) != 1) r.status = -errno;
  s[0].tx0 += cf->go ? 1 : 0; /* the relay's own byte is not the tunnel's */
  while (!r.status && !(s[0].shut && s[1].shut)) {
    struct pollfd pf[2];
    for (int i = 0; i < 2; i++) pf[i] = (struct pollfd){.fd = s[i].fd, .events = s[i].fin ? 0 : POLLIN | POLLRDHUP};
    if (poll(pf, 2, -1) < 0) { if (errno == EINTR) continue; r.status = -errno; break; }
    for (int i = 0; i < 2 && !r.status; i++) {
      struct side *x = &s[i], *y = &s[1 - i];
      if (x->fin && !(pf[i].revents & POLLERR)) continue;
      if (pf[i].revents & POLLERR) {
        int e = 0;
        socklen_t l = sizeof e;
        getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &e, &l); /* reading it clears it */
        /* Verdict-only modes hand the peer's empty FIN skb to the redirect too; the backlog's
         * zero-byte send of it is reported as EPIPE on this socket (after every data byte, in
         * order). Benign once the peer's FIN is seen; anything else ends the tunnel. */
        struct pollfd py = {y->fd, POLLRDHUP, 0};
        if (e == EPIPE && (y->fin || (poll(&py, 1, 0) == 1 && (py.revents & POLLRDHUP)))) { r.early += 1ull << 32; continue; }
        fprintf(stderr, "relay: POLLERR on %s: %s (revents %#x, fin %d/%d shut %d/%d)\n", i ? "upstream" : "client", strerror(e),
                pf[i].revents, s[0].fin, s[1].fin, s[0].shut, s[1].shut);
        r.status = -(e ? e : EIO);
      } else if (pf[i].revents & (POLLRDHUP | POLLHUP)) {
        x->fin = 1;
        if (!drained(x, y)) { r.status = -ETIMEDOUT; break; }
        shutdown(y->fd, SHUT_WR);
        y->shut = 1;
      } else if (pf[i].revents & POLLIN) {
        char b;
        if (recv(x->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1) r.status = -EBADMSG; /* not redirected */
      }
    }
  }
  r.a_bytes = received(c, s[0].fin) - s[0].rx0; /* up: client -> upstream */
  r.b_bytes = received(u, s[1].fin) - s[1].rx0; /* down */
  map_delete(map, kc), map_delete(map, ku);
  if (r.status) rst_close(c), rst_close(u); /* an error on one side resets the other */
  else close(c), close(u);
out:
  r.cpu_us = self_cpu_us();
  put_report(rep, &r);
}

static void relay(int ls, const struct relay_cfg *cf, int rep) {
  int map = -1;
  if (cf->kind == 1 && (map = sockmap_setup(cf->how)) < 0) exit(3);
  for (;;) {
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC), one = 1;
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cf->kind == 1) { sockmap_tunnel(map, cf, c, rep); continue; }
    struct report r = {0};
    int u = tcp_socket();
    if (connect(u, (struct sockaddr *)&upstream, sizeof upstream) == 0 && (!cf->go || write(c, "G", 1) == 1)) {
      struct pump up = {c, u}, down = {u, c};
      pthread_t t;
      pthread_create(&t, NULL, splice_pump, &up);
      splice_pump(&down);
      pthread_join(t, NULL);
    } else r.status = -errno;
    close(u), close(c);
    r.cpu_us = self_cpu_us();
    put_report(rep, &r);
  }
}

/* ---- kernel-thread CPU (kworker, ksoftirqd) and whole-machine busy time -------------------------- */
static uint64_t kw_cpu[3]; /* kworker time by where it is bound: cpu 0, cpu 1, unbound / other */
static uint64_t kthreads_ns(void) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  uint64_t sum = 0;
  memset(kw_cpu, 0, sizeof kw_cpu);
  char p[300], comm[64];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    int ok = fgets(comm, sizeof comm, f) && (!strncmp(comm, "kworker", 7) || !strncmp(comm, "ksoftirqd", 9));
    fclose(f);
    if (!ok) continue;
    snprintf(p, sizeof p, "/proc/%s/schedstat", e->d_name);
    unsigned long long ns;
    if ((f = fopen(p, "r"))) {
      if (fscanf(f, "%llu", &ns) == 1) {
        sum += ns;
        if (!strncmp(comm, "kworker/", 8)) kw_cpu[!strncmp(comm + 8, "0:", 2) ? 0 : !strncmp(comm + 8, "1:", 2) ? 1 : 2] += ns;
      }
      fclose(f);
    }
  }
  if (d) closedir(d);
  return sum;
}
static double busy_s(void) {
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) die("/proc/stat");
  fclose(f);
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the client, one process per connection ----------------------------------------------------- */
struct result { double secs; uint64_t bytes, ck, bytes2, ck2; int64_t err; uint64_t cpu_us; };
static int net_host = -1, net_sandbox = -1;
static unsigned client_slow_us; /* a slow reader: sleep this long after every read */

/* Kernel memory while a run is going: TCP's accounted pages (sockstat) and MemAvailable. */
static volatile int sampling;
static long mem_tcp_max, mem_avail_min;
static long read_kv(const char *file, const char *key) {
  FILE *f = fopen(file, "r");
  char line[512];
  long v = -1;
  while (f && fgets(line, sizeof line, f)) {
    char *p = strstr(line, key);
    if (p) { v = atol(p + strlen(key)); break; }
  }
  if (f) fclose(f);
  return v;
}
static void *sampler(void *arg) {
  (void)arg;
  while (sampling) {
    long t = read_kv("/proc/net/sockstat", " mem "), a = read_kv("/proc/meminfo", "MemAvailable:");
    if (t > mem_tcp_max) mem_tcp_max = t;
    if (a >= 0 && (mem_avail_min < 0 || a < mem_avail_min)) mem_avail_min = a;
    usleep(10000);
  }
  return NULL;
}

static void client(int port, int relayed, struct req q, uint64_t up_n, int wait_go, int out) {
  static unsigned char buf[RBUF];
  struct result res = {0};
  struct ck ck = {0}, ck2 = {0};
  signal(SIGPIPE, SIG_IGN);
  if (relayed && net_sandbox >= 0 && setns(net_sandbox, CLONE_NEWNET)) die("setns");
  double t0 = now();
  int s = tcp_socket();
  struct timeval tv = {10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = addr(relayed ? "127.0.0.1" : "127.0.0.2", port);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) { res.err = -errno; goto done; }
  if (wait_go && (read(s, buf, 1) != 1 || buf[0] != 'G')) { res.err = -EPROTO; goto done; }
  if (write_all(s, &q, sizeof q)) { res.err = -errno; goto done; }
  if (q.op == 'E') {
    /* upload up_n bytes (pattern), half-close, read the echo to EOF: a thread-free interleave */
    uint64_t sent = 0;
    fcntl(s, F_SETFL, O_NONBLOCK);
    int shut = 0;
    for (;;) {
      struct pollfd p = {s, POLLIN | (shut ? 0 : POLLOUT), 0};
      poll(&p, 1, 5000);
      if (!p.revents) { res.err = -ETIMEDOUT; break; }
      if (!shut && (p.revents & POLLOUT)) {
        size_t m = up_n - sent < 65536 ? (size_t)(up_n - sent) : 65536;
        ssize_t w = write(s, pattern + (sent % CHUNK) / 65536 * 65536, m);
        if (w > 0) { ck_add(&ck2, pattern + (sent % CHUNK) / 65536 * 65536, (size_t)w); sent += (uint64_t)w; }
        if (sent == up_n) { shutdown(s, SHUT_WR); shut = 1; }
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t m = read(s, buf, sizeof buf);
        if (m > 0) ck_add(&ck, buf, (size_t)m);
        else if (m == 0) break;
        else if (errno != EAGAIN) { res.err = -errno; break; }
      }
    }
    res.bytes2 = ck2.n, res.ck2 = ck_final(&ck2);
  } else {
    ssize_t m;
    while ((m = read(s, buf, sizeof buf)) > 0) {
      ck_add(&ck, buf, (size_t)m);
      if (client_slow_us) usleep(client_slow_us);
    }
    if (m < 0) res.err = -errno;
    if (q.op == 'H' && !res.err) {
      /* the download ended with the server's half-close: now upload through the other direction */
      for (uint64_t sent = 0; sent < up_n;) {
        size_t n = up_n - sent < 65536 ? (size_t)(up_n - sent) : 65536;
        if (write_all(s, pattern, n)) { res.err = -errno; break; }
        ck_add(&ck2, pattern, n);
        sent += n;
      }
      shutdown(s, SHUT_WR);
      while (read(s, buf, sizeof buf) > 0) {}
      res.bytes2 = ck2.n, res.ck2 = ck_final(&ck2);
    }
  }
  res.bytes = ck.n, res.ck = ck_final(&ck);
done:
  res.secs = now() - t0;
  close(s);
  res.cpu_us = self_cpu_us();
  if (write(out, &res, sizeof res) != sizeof res) exit(1);
  exit(0);
}
static struct result run_client(int port, int relayed, struct req q, uint64_t up_n, int wait_go) {
  int p[2];
  if (pipe(p)) die("pipe");
  pid_t pid = fork();
  if (pid == 0) { close(p[0]); client(port, relayed, q, up_n, wait_go, p[1]); }
  close(p[1]);
  struct result r = {.err = -ECHILD};
  if (read(p[0], &r, sizeof r) != sizeof r) r.err = -ECHILD;
  close(p[0]);
  waitpid(pid, NULL, 0);
  return r;
}

/* ---- harness ------------------------------------------------------------------------------------ */
struct route { const char *name; int port, rep, relayed; pid_t pid; struct relay_cfg cf; };
static int srv_rep;
static pid_t spawn(void (*fn)(int, const struct relay_cfg *, int), int ls, const struct relay_cfg *cf, int *rep) {
  int p[2];
  if (pipe2(p, O_CLOEXEC)) die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(p[0]);
    fn(ls, cf, p[1]);
    exit(0);
  }
  close(p[1]);
  close(ls);
  *rep = p[0];
  kids[nkids++] = pid;
  return pid;
}
static void server_main(int ls, const struct relay_cfg *cf, int rep) { (void)cf; server(ls, rep); }

static void netns_setup(void) {
  net_host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (unshare(CLONE_NEWNET)) die("unshare(CLONE_NEWNET)");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr)) die("lo up");
  close(s);
  net_sandbox = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
}
/* Relay listeners are created in the sandbox namespace (when --netns), everything else in the host's. */
static int relay_listener(int *port) {
  if (net_sandbox >= 0 && setns(net_sandbox, CLONE_NEWNET)) die("setns");
  int ls = listener("127.0.0.1", port);
  if (net_host >= 0 && setns(net_host, CLONE_NEWNET)) die("setns");
  return ls;
}
static void add_route(struct route *r, const char *name, struct relay_cfg cf) {
  r->name = name, r->cf = cf, r->relayed = 1;
  int ls = relay_listener(&r->port);
  r->pid = spawn(relay, ls, &r->cf, &r->rep);
}

static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

static int bench(int argc, char **argv) {
  uint64_t bytes = 1ull << 30;
  int runs = 5, nattach = 0;
  enum attach att[3];
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--bytes") && i + 1 < argc) bytes = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--attach") && i + 1 < argc && nattach < 3) {
      const char *a = argv[++i];
      att[nattach++] = !strcmp(a, "strp") ? A_STRP : !strcmp(a, "stream") ? A_STREAM : A_VERDICT;
    } else if (strcmp(argv[i], "--netns")) { fprintf(stderr, "bad argument %s\n", argv[i]); return 2; }
  }
  if (!nattach) att[nattach++] = A_VERDICT;
  bytes -= bytes % CHUNK;
  struct route rt[5] = {{.name = "direct", .port = server_port}};
  int n = 1;
  add_route(&rt[n++], "splice", (struct relay_cfg){.kind = 0, .go = 1});
  static char names[3][32];
  for (int i = 0; i < nattach; i++) {
    snprintf(names[i], sizeof names[i], "sockmap-%s", attach_name[att[i]]);
    add_route(&rt[n++], names[i], (struct relay_cfg){.kind = 1, .how = att[i], .go = 1});
  }
  double mibs[5][64], rcpu[5][64], kcpu[5][64], ccpu[5][64], scpu[5][64], bcpu[5][64];
  usleep(200000);
  for (int k = 0; k < runs && k < 64; k++) {
    for (int i = 0; i < n; i++) {
      struct route *r = &rt[i];
      struct report sr, rr = {0};
      uint64_t w0[3], k0 = kthreads_ns();
      memcpy(w0, kw_cpu, sizeof w0);
      double b0 = busy_s();
      static uint64_t last_relay_cpu[5], last_srv_cpu;
      struct result res = run_client(r->relayed ? r->port : rt[0].port, r->relayed, (struct req){.op = 'D', .n = bytes}, 0, r->relayed);
      get_report(srv_rep, &sr);
      if (r->relayed) get_report(r->rep, &rr);
      double b1 = busy_s();
      memset(kw_cpu, 0, sizeof kw_cpu);
      uint64_t k1 = kthreads_ns();
      if (res.err || res.bytes != bytes || res.ck != sr.a_ck || sr.a_ck != pattern_ck(bytes) || rr.status) {
        fprintf(stderr, "%s run %d: FAILED err=%lld got=%llu ck %s relay status=%lld\n", r->name, k, (long long)res.err,
                (unsigned long long)res.bytes, res.ck == sr.a_ck ? "ok" : "MISMATCH", (long long)rr.status);
        return 1;
      }
      double gib = (double)bytes / (double)(1u << 30);
      mibs[i][k] = (double)bytes / (1 << 20) / res.secs;
      rcpu[i][k] = r->relayed ? (double)(rr.cpu_us - last_relay_cpu[i]) / 1e6 / gib : 0;
      if (r->relayed) last_relay_cpu[i] = rr.cpu_us;
      scpu[i][k] = (double)(sr.cpu_us - last_srv_cpu) / 1e6 / gib;
      last_srv_cpu = sr.cpu_us;
      ccpu[i][k] = (double)res.cpu_us / 1e6 / gib;
      kcpu[i][k] = (double)(k1 - k0) / 1e9 / gib;
      bcpu[i][k] = (b1 - b0) / gib;
      fprintf(stderr, "run %d %-16s %7.0f MiB/s  relay %.3f  kthreads %.3f (kworker cpu0 %.3f cpu1 %.3f other %.3f)  client %.3f  server %.3f  machine %.2f s/GiB\n",
              k, r->name, mibs[i][k], rcpu[i][k], kcpu[i][k], (double)(kw_cpu[0] - w0[0]) / 1e9 / gib, (double)(kw_cpu[1] - w0[1]) / 1e9 / gib,
              (double)(kw_cpu[2] - w0[2]) / 1e9 / gib, ccpu[i][k], scpu[i][k], bcpu[i][k]);
    }
  }
  if (runs > 64) runs = 64;
  printf("{\"bytes\":%llu,\"runs\":%d,\"netns\":%s,\"routes\":{", (unsigned long long)bytes, runs, net_sandbox >= 0 ? "true" : "false");
  for (int i = 0; i < n; i++) {
    double s[64], rmin = 1e9, rmax = 0;
    for (int k = 0; k < runs; k++) {
      double q = mibs[i][k] / mibs[0][k];
      if (q < rmin) rmin = q;
      if (q > rmax) rmax = q;
    }
    double *cols[6] = {mibs[i], rcpu[i], kcpu[i], ccpu[i], scpu[i], bcpu[i]};
    const char *cn[6] = {"mibs", "relay_cpu_s_per_gib", "kthread_cpu_s_per_gib", "client_cpu_s_per_gib", "server_cpu_s_per_gib", "machine_busy_s_per_gib"};
    printf("%s\"%s\":{", i ? "," : "", rt[i].name);
    for (int c = 0; c < 6; c++) {
      memcpy(s, cols[c], sizeof(double) * (size_t)runs);
      qsort(s, (size_t)runs, sizeof *s, cmp_d);
      printf("%s\"%s\":[%.3f,%.3f,%.3f]", c ? "," : "", cn[c], s[0], s[runs / 2], s[runs - 1]);
    }
    memcpy(s, mibs[i], sizeof(double) * (size_t)runs);
    qsort(s, (size_t)runs, sizeof *s, cmp_d);
    double med = s[runs / 2];
    memcpy(s, mibs[0], sizeof(double) * (size_t)runs);
    qsort(s, (size_t)runs, sizeof *s, cmp_d);
    printf(",\"ratio_of_medians\":%.3f,\"per_run_ratio\":[%.3f,%.3f]}", med / s[runs / 2], rmin, rmax);
  }
  printf("},\"fields\":\"[min,median,max]\"}\n");
  return 0;
}

static int failures;
static unsigned slow_mib = 128;
static void expect(const char *route, const char *what, int ok, const char *detail) {
  printf("%-16s %-34s %s%s%s\n", route, what, ok ? "ok" : "FAIL", detail ? "  " : "", detail ? detail : "");
  if (!ok) failures++;
}
static int check(void) {
  struct route rt[8];
  int n = 0;
  add_route(&rt[n++], "splice", (struct relay_cfg){.kind = 0, .go = 1});
  add_route(&rt[n++], "sockmap-strp", (struct relay_cfg){.kind = 1, .how = A_STRP, .go = 1});
  add_route(&rt[n++], "sockmap-stream", (struct relay_cfg){.kind = 1, .how = A_STREAM, .go = 1});
  add_route(&rt[n++], "sockmap-verdict", (struct relay_cfg){.kind = 1, .how = A_VERDICT, .go = 1});
  /* bytes already queued on the client socket when it is inserted (no GO, relay waits 100 ms) */
  add_route(&rt[n++], "sockmap-early", (struct relay_cfg){.kind = 1, .how = A_VERDICT, .delay_ms = 100});
  add_route(&rt[n++], "sockmap-early-strp", (struct relay_cfg){.kind = 1, .how = A_STRP, .delay_ms = 100});
  usleep(200000);
  char d[256];
  for (int i = 0; i < n; i++) {
    struct route *r = &rt[i];
    struct report sr, rr;
    const uint64_t N = 10u << 20 | 12345, UP = 3u << 20 | 77;
    struct result x = run_client(r->port, 1, (struct req){.op = 'D', .n = N}, 0, r->cf.go);
    get_report(srv_rep, &sr), get_report(r->rep, &rr);
    snprintf(d, sizeof d, "got %llu of %llu, err %lld; relay status %lld; TCP_INFO up %llu (true %zu) down %llu; queued at insertion %llu, FIN-skb EPIPEs %llu",
             (unsigned long long)x.bytes, (unsigned long long)N, (long long)x.err, (long long)rr.status,
             (unsigned long long)rr.a_bytes, sizeof(struct req), (unsigned long long)rr.b_bytes,
             (unsigned long long)(rr.early & 0xffffffff), (unsigned long long)(rr.early >> 32));
    expect(r->name, "download: bytes, checksum, EOF", !x.err && x.bytes == N && x.ck == sr.a_ck, d);
    if (r->cf.kind == 1) expect(r->name, "download: TCP_INFO byte counts", rr.a_bytes == sizeof(struct req) && rr.b_bytes == N, d);
    if (!r->cf.go) continue; /* the early-bytes probe is only about the first exchange */

    x = run_client(r->port, 1, (struct req){.op = 'E'}, UP, 1);
    get_report(srv_rep, &sr), get_report(r->rep, &rr);
    snprintf(d, sizeof d, "sent %llu, server got %llu, echoed back %llu, err %lld; TCP_INFO up %llu down %llu",
             (unsigned long long)x.bytes2, (unsigned long long)sr.a_bytes, (unsigned long long)x.bytes, (long long)x.err,
             (unsigned long long)rr.a_bytes, (unsigned long long)rr.b_bytes);
    expect(r->name, "echo upload, client SHUT_WR first", !x.err && x.bytes2 == UP && sr.a_bytes == UP && sr.a_ck == x.ck2 && x.bytes == UP && x.ck == x.ck2, d);

    x = run_client(r->port, 1, (struct req){.op = 'H', .n = N}, UP, 1);
    get_report(srv_rep, &sr), get_report(r->rep, &rr);
    snprintf(d, sizeof d, "down %llu, then up %llu, server got %llu, err %lld", (unsigned long long)x.bytes,
             (unsigned long long)x.bytes2, (unsigned long long)sr.b_bytes, (long long)x.err);
    expect(r->name, "server SHUT_WR first, then upload", !x.err && x.bytes == N && x.ck == sr.a_ck && sr.b_bytes == UP && sr.b_ck == x.ck2, d);

    x = run_client(r->port, 1, (struct req){.op = 'R', .n = N}, 0, 1);
    get_report(srv_rep, &sr), get_report(r->rep, &rr);
    snprintf(d, sizeof d, "client got %llu bytes then %s; relay status %lld", (unsigned long long)x.bytes,
             x.err ? strerror((int)-x.err) : "clean EOF", (long long)rr.status);
    expect(r->name, "server RST reaches the client", x.err == -ECONNRESET, d);
  }
  /* Backpressure: a fast upstream and a client reading ~50 MiB/s. A relay that buffers without
   * bound shows up as TCP memory / MemAvailable growing far beyond a few socket buffers. */
  for (int i = 0; i < n; i++) {
    struct route *r = &rt[i];
    if (!r->cf.go) continue;
    struct report sr, rr;
    const uint64_t N = (uint64_t)slow_mib << 20;
    long avail0 = read_kv("/proc/meminfo", "MemAvailable:");
    mem_tcp_max = 0, mem_avail_min = -1, sampling = 1;
    pthread_t t;
    pthread_create(&t, NULL, sampler, NULL);
    client_slow_us = 5000;
    struct result x = run_client(r->port, 1, (struct req){.op = 'D', .n = N}, 0, 1);
    client_slow_us = 0;
    sampling = 0;
    pthread_join(t, NULL);
    get_report(srv_rep, &sr), get_report(r->rep, &rr);
    snprintf(d, sizeof d, "%.1f s; TCP mem max %ld pages; MemAvailable dipped %ld MiB; server done after %.1f s", x.secs,
             mem_tcp_max, (avail0 - mem_avail_min) / 1024, (double)sr.send_us / 1e6);
    expect(r->name, "slow reader: bytes, checksum", !x.err && x.bytes == N && x.ck == sr.a_ck, d);
  }
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}

/* What bpf(2) lets this process do, and what a process without capabilities could do with a map
 * fd it inherited (the relay in Warden drops every capability). */
static int probe(void) {
  int map = map_create(BPF_MAP_TYPE_SOCKHASH, 8, 8, 16);
  printf("uid %d: BPF_MAP_CREATE sockhash: %s\n", getuid(), map < 0 ? strerror(errno) : "ok");
  if (map < 0) return 1;
  int v = load_verdict(map, BPF_SK_SKB_VERDICT);
  printf("uid %d: BPF_PROG_LOAD sk_skb verdict: %s\n", getuid(), v < 0 ? strerror(errno) : "ok");
  if (v < 0) return 1;
  printf("uid %d: BPF_PROG_ATTACH sk_skb verdict to sockhash: %s\n", getuid(), prog_attach(v, map, BPF_SK_SKB_VERDICT) ? strerror(errno) : "ok");
  union bpf_attr a = {0};
  a.prog_id = 0;
  struct bpf_prog_info info = {0};
  a.info.bpf_fd = (uint32_t)v, a.info.info_len = sizeof info, a.info.info = (uint64_t)(uintptr_t)&info;
  sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
  uint32_t prog_id = info.id;
  struct bpf_map_info minfo = {0};
  memset(&a, 0, sizeof a);
  a.info.bpf_fd = (uint32_t)map, a.info.info_len = sizeof minfo, a.info.info = (uint64_t)(uintptr_t)&minfo;
  sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
  uint32_t map_id = minfo.id;
  int port, ls = listener("127.0.0.1", &port); /* the child connects to it: an established socket */
  (void)ls;
  pid_t pid = fork();
  if (pid == 0) {
    /* a process with no capabilities that holds the map fd, as a sandboxed process would if it
     * ever got one, and one that only knows the ids */
    if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) die("drop");
    int s = tcp_socket();
    struct sockaddr_in sa = addr("127.0.0.1", port);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa)) die("connect");
    printf("  no caps, inherited map fd: BPF_MAP_UPDATE_ELEM (insert own socket): %s\n",
           map_update(map, 42, (uint64_t)s) ? strerror(errno) : "ok (!)");
    printf("  no caps, inherited map fd: BPF_MAP_DELETE_ELEM: %s\n", map_delete(map, 42) ? strerror(errno) : "ok (!)");
    memset(&a, 0, sizeof a);
    a.map_id = map_id;
    long r = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
    printf("  no caps: BPF_MAP_GET_FD_BY_ID: %s\n", r < 0 ? strerror(errno) : "ok (!)");
    memset(&a, 0, sizeof a);
    a.prog_id = prog_id;
    r = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
    printf("  no caps: BPF_PROG_GET_FD_BY_ID: %s\n", r < 0 ? strerror(errno) : "ok (!)");
    exit(0);
  }
  waitpid(pid, NULL, 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: sockmap-relay bench|check|probe [options]\n"); return 2; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  pattern_init();
  if (!strcmp(argv[1], "probe")) return probe();
  int netns = 0;
  for (int i = 2; i < argc; i++) {
    netns |= !strcmp(argv[i], "--netns");
    if (!strcmp(argv[i], "--slow-mib") && i + 1 < argc) slow_mib = (unsigned)atoi(argv[i + 1]);
  }
  int sls = listener("127.0.0.2", &server_port);
  upstream = addr("127.0.0.2", server_port);
  if (netns) {
    netns_setup();
    if (setns(net_host, CLONE_NEWNET)) die("setns");
  }
  spawn(server_main, sls, NULL, &srv_rep);
  int rc = !strcmp(argv[1], "bench") ? bench(argc, argv) : !strcmp(argv[1], "check") ? check() : 2;
  for (int i = 0; i < nkids; i++) kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
  return rc;
}
