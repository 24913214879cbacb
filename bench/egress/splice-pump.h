/* One direction of a policy-free splice(2) relay, shared by the egress benchmarks' reference
 * relays (splice-relay.c, sockmap-relay.c): from -> a 1 MiB pipe -> to, then a half-close. Run one
 * per direction (a thread and the caller). Not Warden's relay (native/relay.c). */
#ifndef WARDEN_BENCH_SPLICE_PUMP_H
#define WARDEN_BENCH_SPLICE_PUMP_H
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

struct pump { int from, to; };

static void *splice_pump(void *arg) {
  struct pump *p = arg;
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) return NULL;
  (void)fcntl(pp[0], F_SETPIPE_SZ, 1 << 20);
  for (;;) {
    ssize_t n = splice(p->from, NULL, pp[1], NULL, 1 << 20, SPLICE_F_MOVE);
    if (n <= 0) break;
    while (n > 0) {
      ssize_t m = splice(pp[0], NULL, p->to, NULL, (size_t)n, SPLICE_F_MOVE);
      if (m <= 0) goto out;
      n -= m;
    }
  }
out:
  shutdown(p->to, SHUT_WR);
  close(pp[0]);
  close(pp[1]);
  return NULL;
}
#endif
