/*
 * Exec mediation, native half (DESIGN.md §2 L1, §3): the outer helper owns the seccomp user-notify
 * fd, so a garbage-collection pause of the supervisor can delay a trapped execve but never decide
 * one. For each notification it reads the path and argv from the tracee (process_vm_readv, one
 * page at a time so a string ending at a mapping boundary reads exactly), confirms with
 * NOTIF_ID_VALID that the tracee is still the one that trapped (no pid reuse under the read), and
 * sends one frame to the supervisor on MED_FD; the supervisor answers with a verdict frame. Format
 * (little-endian) in native/PLAN.md "Exec mediation".
 *
 * Threats and invariants:
 *  - Nothing here decides. The one shortcut is the supervisor's own decision replayed: a verdict
 *    marked cacheable (the supervisor only marks an allow for a path whose resolution lies wholly in
 *    read-only mounts) is remembered by the exact request bytes — compared in full, never by hash —
 *    and a later identical request is continued at once; its frame still goes to the supervisor
 *    first (kind 2), so every exec is audited.
 *  - The tracee can rewrite its memory after we read it (CONTINUE is unavoidable for exec): the
 *    Landlock execute floor, installed before the filter, bounds what can run. See PLAN.md.
 *  - Hostile sizes: a path is at most PATH_MAX, an argv at most MED_MAX_ARGV bytes in all (the
 *    kernel's own ceiling is lower); a request beyond that, or whose memory cannot be read, is
 *    still sent (with problem bits), and the supervisor denies it. Memory is bounded: one request
 *    buffer, MED_PENDING remembered keys, MED_CACHE cached verdicts.
 *  - A verdict frame that is malformed, or an EOF from the supervisor, is fatal (the caller kills
 *    the tree): the helper never continues a syscall it has no verdict for.
 */
#define _GNU_SOURCE
#include "helper.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MED_MAX_PATH 4096u
#define MED_MAX_ARGV (4u << 20)
#define MED_MAX_ARGC 262144u
#define MED_PENDING 64
#define MED_CACHE 64
#define MED_KEY_MAX 4096u

enum { P_PATH = 1, P_ARGV = 2, P_TOO_BIG = 4 };

struct key { uint64_t id; uint32_t len; uint8_t b[MED_KEY_MAX]; };

static struct {
  int nfd, med;
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  uint8_t *frame; size_t cap, len;
  struct key pending[MED_PENDING]; size_t next_pending;
  struct key cache[MED_CACHE]; size_t next_cache;
  uint8_t in[4096]; size_t in_len;
  long page;
} M = {.nfd = -1, .med = -1};

static int write_full(int fd, const uint8_t *b, size_t n) {
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) { struct pollfd p = {fd, POLLOUT, 0}; poll(&p, 1, -1); continue; }
    if (w <= 0) return -1;
    b += w; n -= (size_t)w;
  }
  return 0;
}

static int grow(size_t need) {
  if (need <= M.cap) return 0;
  size_t cap = M.cap ? M.cap : 65536;
  while (cap < need) cap *= 2;
  uint8_t *nb = realloc(M.frame, cap);
  if (!nb) return -1;
  M.frame = nb; M.cap = cap;
  return 0;
}

static int put(const void *v, size_t n) {
  if (grow(M.len + n) < 0) return -1;
  memcpy(M.frame + M.len, v, n);
  M.len += n;
  return 0;
}
static int put32(uint32_t v) { return put(&v, 4); } /* x86_64/aarch64: little-endian */

/* Reads exactly n bytes of the tracee's memory at addr, page by page; -1 if any of it is unmapped. */
static int peek(pid_t pid, uint64_t addr, void *dst, size_t n) {
  uint8_t *d = dst;
  while (n) {
    size_t chunk = (size_t)M.page - (size_t)(addr % (uint64_t)M.page);
    if (chunk > n) chunk = n;
    struct iovec l = {d, chunk}, r = {(void *)(uintptr_t)addr, chunk};
    if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)chunk) return -1;
    d += chunk; addr += chunk; n -= chunk;
  }
  return 0;
}

/* Appends `u32 len, bytes` for the NUL-terminated string at addr (at most max bytes).
 * Returns 0, -1 unreadable, -2 longer than max; on error nothing is appended. */
static int put_cstr(pid_t pid, uint64_t addr, size_t max) {
  size_t at = M.len;
  if (put32(0) < 0) return -1;
  for (size_t total = 0;;) {
    size_t chunk = (size_t)M.page - (size_t)(addr % (uint64_t)M.page);
    if (grow(M.len + chunk) < 0) { M.len = at; return -1; }
    struct iovec l = {M.frame + M.len, chunk}, r = {(void *)(uintptr_t)addr, chunk};
    if (!addr || process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)chunk) { M.len = at; return -1; }
    uint8_t *nul = memchr(M.frame + M.len, 0, chunk);
    size_t got = nul ? (size_t)(nul - (M.frame + M.len)) : chunk;
    total += got;
    if (total > max) { M.len = at; return -2; }
    M.len += got;
    if (nul) break;
    addr += chunk;
  }
  uint32_t slen = (uint32_t)(M.len - at - 4);
  memcpy(M.frame + at, &slen, 4);
  return 0;
}

int notify_init(int nfd, int med) {
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) return -1;
  M.req = calloc(1, sz.seccomp_notif > sizeof *M.req ? sz.seccomp_notif : sizeof *M.req);
  M.resp = calloc(1, sz.seccomp_notif_resp > sizeof *M.resp ? sz.seccomp_notif_resp : sizeof *M.resp);
  M.page = sysconf(_SC_PAGESIZE);
  if (!M.req || !M.resp || M.page <= 0) return -1;
  M.nfd = nfd; M.med = med;
  return 0;
}

static int respond(uint64_t id, int cont, int err) {
  memset(M.resp, 0, sizeof *M.resp);
  M.resp->id = id;
  if (cont) M.resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  else M.resp->error = -(err > 0 ? err : EPERM);
  /* ENOENT: the tracee died (or was killed) meanwhile — nothing to answer. */
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_SEND, M.resp) < 0 && errno != ENOENT) return -1;
  return 0;
}

/* Key of a request for the cache: the frame from `syscall` on (everything but kind, id and pid). */
#define KEY_OFF 20u

static struct key *cache_find(const uint8_t *k, uint32_t len) {
  for (size_t i = 0; i < MED_CACHE; i++)
    if (M.cache[i].len == len && !memcmp(M.cache[i].b, k, len)) return &M.cache[i];
  return NULL;
}

/* One readable event on the notify fd. Returns -1 only when mediation cannot go on. */
int notify_on_event(void) {
  memset(M.req, 0, sizeof *M.req);
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_RECV, M.req) < 0) return errno == EINTR || errno == ENOENT ? 0 : -1;
  const struct seccomp_data *d = &M.req->data;
  pid_t pid = (pid_t)M.req->pid;
  int at = d->nr != SYS_execve; /* execveat(dirfd, path, argv, envp, flags) */
  uint64_t path = d->args[at ? 1 : 0], argv = d->args[at ? 2 : 1];
  uint32_t problems = 0, argc = 0;
  M.len = 0;
  put32(0); put32(1); put(&M.req->id, 8); put32((uint32_t)pid);
  put32((uint32_t)at); put32(at ? (uint32_t)d->args[0] : (uint32_t)-100); put32(at ? (uint32_t)d->args[4] : 0);
  size_t prob_at = M.len, argc_at = M.len + 4;
  put32(0); put32(0);
  int r = put_cstr(pid, path, MED_MAX_PATH);
  if (r < 0) { problems |= r == -2 ? P_TOO_BIG : P_PATH; put32(0); }
  /* argv: a NULL-terminated array of pointers; NULL itself means an empty argv. At most
   * MED_MAX_ARGV bytes of it (length fields included) go into the frame. */
  size_t argv_at = M.len;
  for (uint64_t p = argv; p && !(problems & (P_ARGV | P_TOO_BIG)); p += 8) {
    uint64_t s;
    size_t used = M.len - argv_at;
    if (peek(pid, p, &s, 8) < 0) { problems |= P_ARGV; break; }
    if (!s) break;
    if (argc >= MED_MAX_ARGC || used + 4 >= MED_MAX_ARGV) { problems |= P_TOO_BIG; break; }
    r = put_cstr(pid, s, MED_MAX_ARGV - used - 4);
    if (r < 0) { problems |= r == -2 ? P_TOO_BIG : P_ARGV; break; }
    argc++;
  }
  if (M.len > (size_t)UINT32_MAX - 8 || grow(M.len) < 0) return -1;
  memcpy(M.frame + prob_at, &problems, 4);
  memcpy(M.frame + argc_at, &argc, 4);
  uint32_t flen = (uint32_t)(M.len - 4);
  memcpy(M.frame, &flen, 4);
  /* Still the same tracee, blocked in this syscall? Otherwise what we read may be someone else's. */
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &M.req->id) < 0) return 0;
  const uint8_t *k = M.frame + KEY_OFF;
  uint32_t klen = (uint32_t)(M.len - KEY_OFF);
  if (!problems && cache_find(k, klen)) {
    uint32_t kind = 2;
    memcpy(M.frame + 4, &kind, 4);
    if (write_full(M.med, M.frame, M.len) < 0) return -1; /* audited before it runs */
    return respond(M.req->id, 1, 0);
  }
  if (!problems && klen <= MED_KEY_MAX) {
    struct key *slot = &M.pending[M.next_pending++ % MED_PENDING];
    slot->id = M.req->id; slot->len = klen;
    memcpy(slot->b, k, klen);
  }
  return write_full(M.med, M.frame, M.len);
}

/* The rule's message for a denied exec goes to the tracee's own stderr — through a duplicate of its
 * fd 2 (pidfd_getfd), so it reaches exactly what the tracee itself could write to, and nothing the
 * supervisor's credentials could open. Best effort, never blocking: skipped unless writable now. */
static void tell(pid_t pid, const uint8_t *msg, uint32_t n) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) return;
  int fd = (int)syscall(SYS_pidfd_getfd, pfd, 2, 0);
  close(pfd);
  if (fd < 0) return;
  struct pollfd p = {fd, POLLOUT, 0};
  if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) && write(fd, msg, n) < 0) { /* nothing to do */ }
  close(fd);
}

/* Verdict frames: u32 len, u32 kind(1), u64 id, u32 pid, u32 action (0 continue, 1 fail), i32 errno,
 * u32 cache, u32 msglen, msg[msglen <= MED_MSG_MAX] (told to the tracee's stderr on fail).
 * Kind 2 (len 4): forget every cached verdict. */
#define MED_MSG_MAX 1024u
static int apply(const uint8_t *f, uint32_t len) {
  uint32_t kind;
  memcpy(&kind, f, 4);
  if (kind == 2 && len == 4) { for (size_t i = 0; i < MED_CACHE; i++) M.cache[i].len = 0; return 0; }
  if (kind != 1 || len < 32) return -1;
  uint64_t id;
  uint32_t pid, action, cache, msglen;
  int32_t err;
  memcpy(&id, f + 4, 8); memcpy(&pid, f + 12, 4); memcpy(&action, f + 16, 4); memcpy(&err, f + 20, 4);
  memcpy(&cache, f + 24, 4); memcpy(&msglen, f + 28, 4);
  if (msglen > MED_MSG_MAX || len != 32 + msglen || action > 1 || cache > 1 || (action == 1 && (err <= 0 || err > 4095)) ||
      (action == 0 && (err || msglen)))
    return -1;
  if (action == 0 && cache) {
    for (size_t i = 0; i < MED_PENDING; i++) {
      struct key *p = &M.pending[i];
      if (p->id != id || !p->len) continue;
      /* Key: syscall, dirfd, flags, problems, argc, path length, path. Neither cwd nor what a
       * dirfd names is in it, so only an absolute path may be replayed (the supervisor agrees). */
      if (p->len > 24 && p->b[24] == '/' && !cache_find(p->b, p->len)) M.cache[M.next_cache++ % MED_CACHE] = *p;
      p->len = 0;
      break;
    }
  }
  if (action == 1 && msglen) tell((pid_t)pid, f + 32, msglen);
  return respond(id, action == 0, err);
}

/* Readable supervisor channel. Returns -1 on EOF or a malformed frame (fatal). */
int notify_on_verdicts(void) {
  ssize_t n = read(M.med, M.in + M.in_len, sizeof M.in - M.in_len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  M.in_len += (size_t)n;
  size_t off = 0;
  while (M.in_len - off >= 4) {
    uint32_t len;
    memcpy(&len, M.in + off, 4);
    if (len < 4 || len > 32 + MED_MSG_MAX) return -1;
    if (M.in_len - off - 4 < len) break;
    if (apply(M.in + off + 4, len) < 0) return -1;
    off += 4 + len;
  }
  memmove(M.in, M.in + off, M.in_len - off);
  M.in_len -= off;
  return 0;
}
