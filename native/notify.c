/*
 * Exec mediation, native half (DESIGN.md §2 L1, §3): the outer helper owns the seccomp user-notify
 * fd, so a garbage-collection pause of the supervisor can delay a trapped execve but never decide
 * one. For each notification it reads the path and argv from the tracee (process_vm_readv, never
 * across a page in one range, so a string ending at a mapping boundary reads exactly), confirms
 * with NOTIF_ID_VALID that the tracee is still the one that trapped (no pid reuse under the read),
 * and sends one frame to the supervisor (on MED_FD, or through the frames pipe once the supervisor
 * has taken it); the supervisor answers with a verdict frame on MED_FD. Format
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
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Linux 6.6 uapi, absent from older headers. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define MED_MAX_PATH 4096u
#define MED_MAX_ARGV (4u << 20)
#define MED_MAX_ARGC 262144u
#define MED_PENDING 64
#define MED_CACHE 64
#define MED_KEY_MAX 4096u
#define MED_MSG_MAX 1024u /* a denial's message told to the tracee's stderr */
#define MED_SNAP_MAX (64u << 20) /* largest file an approved read hands over as a snapshot */

enum { P_PATH = 1, P_ARGV = 2, P_TOO_BIG = 4 };

struct key { uint64_t id; uint32_t len; uint8_t b[MED_KEY_MAX]; };

/* Frames pipe (see "Frames pipe" below): the longest a frame that needs no answer (a replay) waits
 * in it unannounced, and the size asked for it. */
#define RING_NS 40000000L /* src/mediate/frames-pipe.ts RING_MS */
#define OUT_PIPE_SIZE (1 << 20)

static struct {
  int nfd, med;
  int out;          /* the frames pipe's write end once the supervisor has opened the pipe, else -1 */
  int out_w, out_r; /* the pipe offered, until then */
  struct timespec rang; /* when the last doorbell was written */
  struct seccomp_notif *req, *recv; /* the request being handled; the receiver thread's own buffer */
  size_t req_size;
  struct seccomp_notif_resp *resp;
  uint8_t *frame; size_t cap, len;
  struct key pending[MED_PENDING]; size_t next_pending;
  struct key cache[MED_CACHE]; size_t next_cache;
  uint8_t in[8192]; size_t in_len;
  long page;
  const char *const *ask; size_t nask;
  uint64_t missing; /* execs answered ENOENT here (see certainly_missing) */
} M = {.nfd = -1, .med = -1, .out = -1, .out_w = -1, .out_r = -1};

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

/* The common exec in two reads: the path and the argv pointer array in one process_vm_readv, every
 * argv string in a second, instead of one read per pointer and at least one per string. Only for a
 * request of that shape — at most FAST_ARGC arguments, and the path, the pointer array up to its
 * NULL and each string up to its NUL each within FAST_CHUNK bytes that do not cross a page. Every
 * remote range lies within one page, so each is read entirely or not at all, and a short read
 * means one of them is unmapped. Appends `str path, argc x str` exactly as the page-wise reads in
 * on_exec would and returns 1; returns 0 with nothing appended when the request is of another
 * shape or anything fell short (on_exec then reads it page by page and reports what is wrong);
 * -1 when out of memory. */
#define FAST_ARGC 64u
#define FAST_CHUNK 256u
static struct {
  uint8_t path[FAST_CHUNK];
  uint64_t ptr[FAST_ARGC + 1];
  uint8_t str[FAST_ARGC][FAST_CHUNK];
  struct iovec l[FAST_ARGC], r[FAST_ARGC];
} F;

/* Bytes readable at addr without crossing a page, at most cap. */
static size_t in_page(uint64_t addr, size_t cap) {
  size_t n = (size_t)M.page - (size_t)(addr % (uint64_t)M.page);
  return n < cap ? n : cap;
}

static int fast_strings(pid_t pid, uint64_t path, uint64_t argv, uint32_t *argc) {
  size_t plen = in_page(path, FAST_CHUNK), alen = argv ? in_page(argv, sizeof F.ptr) & ~(size_t)7 : 0;
  if (!path || (argv && !alen)) return 0; /* no path, or not even one pointer before the page ends */
  struct iovec l[2] = {{F.path, plen}, {F.ptr, alen}}, r[2] = {{(void *)(uintptr_t)path, plen}, {(void *)(uintptr_t)argv, alen}};
  int nv = alen ? 2 : 1;
  if (process_vm_readv(pid, l, (unsigned long)nv, r, (unsigned long)nv, 0) != (ssize_t)(plen + alen)) return 0;
  const uint8_t *pnul = memchr(F.path, 0, plen);
  if (!pnul) return 0;
  uint32_t n = 0;
  size_t want = 0;
  if (alen) {
    for (;; n++) {
      if (n == alen / 8) return 0; /* no NULL within the chunk: more pointers than read here */
      if (!F.ptr[n]) break;
      if (n == FAST_ARGC) return 0;
      size_t c = in_page(F.ptr[n], FAST_CHUNK);
      F.l[n] = (struct iovec){F.str[n], c};
      F.r[n] = (struct iovec){(void *)(uintptr_t)F.ptr[n], c};
      want += c;
    }
  }
  if (n && process_vm_readv(pid, F.l, n, F.r, n, 0) != (ssize_t)want) return 0;
  const uint8_t *nul[FAST_ARGC];
  for (uint32_t i = 0; i < n; i++)
    if (!(nul[i] = memchr(F.str[i], 0, F.l[i].iov_len))) return 0;
  size_t at = M.len;
  if (put32((uint32_t)(pnul - F.path)) < 0 || put(F.path, (size_t)(pnul - F.path)) < 0) { M.len = at; return -1; }
  for (uint32_t i = 0; i < n; i++)
    if (put32((uint32_t)(nul[i] - F.str[i])) < 0 || put(F.str[i], (size_t)(nul[i] - F.str[i])) < 0) { M.len = at; return -1; }
  *argc = n;
  return 1;
}

/* ---- Frames pipe ----
 * Threat: none new — it carries the same frames, from the same helper, to the same supervisor. Its
 * job is cost: a frame written to MED_FD wakes the supervisor, one wake-up per exec even when the
 * exec needs no answer (a replay from the verdict cache), and on 2 cores that CPU is taken from the
 * sandboxed tree. So every frame goes into a pipe instead, which the supervisor does not poll, and
 * a one-byte doorbell on MED_FD tells it to read the pipe: after every frame that needs an answer,
 * after a replay only if no doorbell rang in the last RING_NS (the supervisor reads the pipe again
 * RING_NS after each doorbell, and as long as it finds frames there), and whenever the pipe is full.
 * Invariants: a replay's frame is still in the kernel's hands before its exec is continued (the
 * write comes first, as on MED_FD); frames keep one order (one pipe, one writer); the pipe never
 * reaches the tree (O_CLOEXEC, created in the outer helper after the clone).
 * Handshake: the hello frame (kind 4 on MED_FD: u32 len 20, u32 kind 4, u32 helper pid, i32 fd of
 * the pipe's read end, u64 its inode) lets the supervisor open the pipe (/proc/<pid>/fd/<fd>, checked
 * by inode); it answers kind 4 (len 4), and the helper then writes the switch frame (kind 5, len 4)
 * as the last frame on MED_FD and every later one into the pipe. Without the answer everything
 * stays on MED_FD. */
static int offer_pipe(void) {
  int p[2];
  struct stat st;
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return 0; /* no pipe: frames stay on MED_FD */
  if (fstat(p[0], &st) < 0) { close(p[0]); close(p[1]); return 0; }
  (void)fcntl(p[1], F_SETPIPE_SZ, OUT_PIPE_SIZE); /* best effort: a full pipe rings the doorbell */
  M.out_r = p[0];
  M.out_w = p[1];
  uint8_t f[24];
  uint32_t v[4] = {20, 4, (uint32_t)getpid(), (uint32_t)p[0]};
  uint64_t ino = (uint64_t)st.st_ino;
  memcpy(f, v, 16);
  memcpy(f + 16, &ino, 8);
  return write_full(M.med, f, sizeof f);
}

/* The supervisor opened the pipe: the switch frame, then the pipe. Returns -1 if not offered. */
static int take_pipe(void) {
  if (M.out_w < 0 || M.out >= 0) return -1;
  uint32_t f[2] = {4, 5};
  if (write_full(M.med, (const uint8_t *)f, sizeof f) < 0) return -1;
  M.out = M.out_w;
  close(M.out_r);
  M.out_r = -1;
  return 0;
}

static int ring(void) {
  uint8_t b = 'd';
  clock_gettime(CLOCK_MONOTONIC, &M.rang);
  return write_full(M.med, &b, 1);
}

/* The frame built in M.frame, to the supervisor. `urgent`: it waits for an answer. */
static int emit(int urgent) {
  if (M.out < 0) return write_full(M.med, M.frame, M.len);
  const uint8_t *b = M.frame;
  for (size_t n = M.len; n;) {
    ssize_t w = write(M.out, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      /* Full: the supervisor is told to read it, and this waits until it has. */
      struct pollfd p = {M.out, POLLOUT, 0};
      if (ring() < 0) return -1;
      if (poll(&p, 1, -1) < 0 && errno != EINTR) return -1;
      continue;
    }
    if (w <= 0) return -1;
    b += w; n -= (size_t)w;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long since = (now.tv_sec - M.rang.tv_sec) * 1000000000L + (now.tv_nsec - M.rang.tv_nsec);
  return urgent || since >= RING_NS ? ring() : 0;
}

int notify_init(int nfd, int med, const char *const *ask, size_t nask) {
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) return -1;
  M.req_size = sz.seccomp_notif > sizeof *M.req ? sz.seccomp_notif : sizeof *M.req;
  M.req = calloc(1, M.req_size);
  M.resp = calloc(1, sz.seccomp_notif_resp > sizeof *M.resp ? sz.seccomp_notif_resp : sizeof *M.resp);
  M.page = sysconf(_SC_PAGESIZE);
  if (!M.req || !M.resp || M.page <= 0) return -1;
  M.nfd = nfd; M.med = med; M.ask = ask; M.nask = nask;
  return offer_pipe();
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

/* Guards M between the poll loop and the receiver thread (see "Receiver thread"). */
static pthread_mutex_t MU = PTHREAD_MUTEX_INITIALIZER;

/* 1 if every directory from the root (rfd) to dir (absolute) is a real directory, no symlink, with
 * o+x. */
static int searchable_by_anyone(int rfd, const char *dir) {
  char prefix[MED_MAX_PATH];
  size_t n = strlen(dir);
  if (n >= sizeof prefix) return 0;
  struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  for (size_t i = 1; i <= n; i++) {
    if (i < n && dir[i] != '/') continue;
    memcpy(prefix, dir, i);
    prefix[i] = 0;
    int fd = (int)syscall(SYS_openat2, rfd, prefix, &how, sizeof how);
    struct stat st;
    int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH);
    if (fd >= 0) close(fd);
    if (!ok) return 0;
  }
  return 1;
}

/* ---- Execs of paths that name nothing ----
 * glibc's execvp, Python's subprocess and libuv look a command up by trying execve on every PATH
 * entry; each miss was a held exec, a round trip to the supervisor and an audit record that reads
 * like a denial ("... does not exist"), dozens per command with a long PATH. Threat: a shortcut
 * that lets something run unmediated. Invariant: this only ever answers ENOENT — it never
 * continues — so whatever the tracee does meanwhile (rewrite its memory, create the file), the
 * worst outcome is an exec that fails which could have succeeded a moment later, as if it had
 * come a moment earlier. It answers only when it is sure the kernel would say ENOENT too: an
 * absolute execve path whose parent directory resolves, in the tracee's own root and mounts
 * (/proc/<pid>/root, RESOLVE_IN_ROOT, no magic links), to a directory that is not procfs (whose
 * /proc/self would resolve for this helper, not for the tracee) and that anyone may search (as
 * root: every directory on the way, none a symlink — root searches where the tracee cannot), and
 * holds no entry of that name (looked up without following it). Anything else — relative paths, execveat, an unreadable or
 * missing parent, any error — goes to the supervisor as before. The count goes into the exit line. */
static int certainly_missing(pid_t pid, const char *path, size_t len) {
  const char *slash = memrchr(path, '/', len);
  if (path[0] != '/' || !slash || len >= MED_MAX_PATH) return 0;
  const char *name = slash + 1;
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) return 0;
  char parent[MED_MAX_PATH], root[32];
  size_t plen = slash == path ? 1 : (size_t)(slash - path);
  memcpy(parent, path, plen);
  parent[plen] = 0;
  snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
  int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return 0;
  /* As root the helper searches any directory; the tracee cannot (its capabilities do not cover
   * inodes of unmapped owners). So then every directory on the way must be searchable by anyone,
   * and none may be a symlink (whose target's own ancestors would go unchecked). */
  if (geteuid() == 0 && !searchable_by_anyone(rfd, parent)) { close(rfd); return 0; }
  struct open_how in_root = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int dfd = (int)syscall(SYS_openat2, rfd, parent, &in_root, sizeof in_root);
  close(rfd);
  if (dfd < 0) return 0;
  struct statfs fs;
  struct stat st;
  int sure = 0;
  /* Searchable by anyone (o+x), so the tracee's own lookup gets ENOENT too, not EACCES: the
   * helper's credentials may see into directories the tracee's cannot, and must not become an
   * oracle for what exists there. */
  if (fstatfs(dfd, &fs) == 0 && fs.f_type != PROC_SUPER_MAGIC && fstat(dfd, &st) == 0 && (st.st_mode & S_IXOTH)) {
    struct open_how entry = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dfd, name, &entry, sizeof entry);
    if (fd >= 0) close(fd);
    else sure = errno == ENOENT;
  }
  close(dfd);
  return sure;
}

/* Read at exit without MU: the receiver thread may hold it, blocked on a full frames pipe. */
uint64_t notify_missing_count(void) {
  return __atomic_load_n(&M.missing, __ATOMIC_RELAXED);
}

static int on_exec(void) {
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
  int r = fast_strings(pid, path, argv, &argc);
  if (r < 0) return -1;
  if (!r) r = put_cstr(pid, path, MED_MAX_PATH);
  else argv = 0; /* all read */
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
    if (emit(0) < 0) return -1; /* audited before it runs */
    return respond(M.req->id, 1, 0);
  }
  /* The path as read: after the fixed header (len, kind, id, pid, at, dirfd, flags, problems,
   * argc: 40 bytes), a u32 length and the bytes; NUL-terminated here for the lookup. */
  if (!problems && !at) {
    uint32_t plen;
    memcpy(&plen, M.frame + 40, 4);
    char named[MED_MAX_PATH];
    if (plen < sizeof named) {
      memcpy(named, M.frame + 44, plen);
      named[plen] = 0;
      if (certainly_missing(pid, named, plen)) {
        __atomic_fetch_add(&M.missing, 1, __ATOMIC_RELAXED);
        return respond(M.req->id, 0, ENOENT);
      }
    }
  }
  if (!problems && klen <= MED_KEY_MAX) {
    struct key *slot = &M.pending[M.next_pending++ % MED_PENDING];
    slot->id = M.req->id; slot->len = klen;
    memcpy(slot->b, k, klen);
  }
  return emit(1);
}

/* ---- "ask" file zones ----
 * Threat: a file in an ask zone is opened without a human's yes, or the yes is spent on another
 * file than the one asked about. Invariants: the zones are masked at the floor (mount masks, no
 * Landlock right), so a CONTINUE can only reach what the floor allows anyway — which makes the fast
 * path below safe even where it is wrong: an open whose path does not lexically lie in a zone is
 * continued at once (through a symlink it then meets the mask), and only opens that do lie in one
 * are sent to the supervisor. The supervisor resolves the path itself and answers continue, fail,
 * or open: then this helper opens the host file the supervisor decided on (openat2, no symlinks,
 * a regular file only) and injects it (ADDFD with FLAG_SEND: the fd is the syscall's return value,
 * atomically). Nothing the tracee wrote after the notification changes what is opened. A read
 * gets a sealed memfd copy, so the tracee never holds the zone's inode (it cannot reopen it for
 * writing through /proc/self/fd); an approved write gets the file itself. */

enum { SC_OPEN = 2, SC_OPENAT = 3, SC_OPENAT2 = 4, SC_CREAT = 5 };

/* Lexically normalised absolute form of rel (against base when relative) into out; -1 if longer
 * than cap. `..` pops a component lexically: symlinks are the supervisor's business. */
static int normalize(const char *base, const char *rel, char *out, size_t cap) {
  size_t n = 0;
  const char *parts[2] = {rel[0] == '/' ? "" : base, rel};
  for (int k = 0; k < 2; k++) {
    for (const char *q = parts[k]; *q;) {
      while (*q == '/') q++;
      const char *e = q;
      while (*e && *e != '/') e++;
      size_t l = (size_t)(e - q);
      if (l == 2 && q[0] == '.' && q[1] == '.') { while (n && out[n - 1] != '/') n--; if (n) n--; }
      else if (l && !(l == 1 && q[0] == '.')) {
        if (n + l + 2 > cap) return -1;
        out[n++] = '/';
        memcpy(out + n, q, l);
        n += l;
      }
      q = e;
    }
  }
  if (!n) out[n++] = '/';
  out[n] = 0;
  return 0;
}

/* A canonical absolute path: no empty, "." or ".." component (so a prefix test means containment). */
static int canonical(const char *p) {
  if (p[0] != '/') return 0;
  for (const char *q = p; *q;) {
    const char *e = strchr(q + 1, '/');
    size_t l = e ? (size_t)(e - q - 1) : strlen(q + 1);
    if (l == 0 || (l == 1 && q[1] == '.') || (l == 2 && q[1] == '.' && q[2] == '.')) return 0;
    if (!e) break;
    q = e;
  }
  return 1;
}

static int in_zone(const char *abs) {
  for (size_t i = 0; i < M.nask; i++) {
    size_t l = strlen(M.ask[i]);
    if (!strncmp(abs, M.ask[i], l) && (abs[l] == 0 || abs[l] == '/')) return 1;
  }
  return 0;
}

/* The directory a relative path starts from, as the tracee sees it (its cwd or dirfd). */
static int base_of(pid_t pid, int32_t dirfd, char *out, size_t cap) {
  char link[64];
  if (dirfd == AT_FDCWD) snprintf(link, sizeof link, "/proc/%d/cwd", (int)pid);
  else if (dirfd >= 0) snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, (int)dirfd);
  else return -1;
  ssize_t n = readlink(link, out, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1 || out[0] != '/') return -1;
  out[n] = 0;
  return 0;
}

/* Frame kind 3: u32 len, u32 kind, u64 id, u32 pid, u32 syscall, i32 dirfd, u32 reserved,
 * u64 flags, u64 mode, u64 resolve, str path (as the tracee passed it). */
static int on_open(void) {
  const struct seccomp_data *d = &M.req->data;
  pid_t pid = (pid_t)M.req->pid;
  uint32_t sc;
  int32_t dirfd = AT_FDCWD;
  uint64_t path, flags, mode, resolve = 0;
  switch (d->nr) {
#ifdef SYS_open
  case SYS_open: sc = SC_OPEN; path = d->args[0]; flags = d->args[1]; mode = d->args[2]; break;
#endif
#ifdef SYS_creat
  case SYS_creat: sc = SC_CREAT; path = d->args[0]; flags = O_CREAT | O_WRONLY | O_TRUNC; mode = d->args[1]; break;
#endif
  case SYS_openat: sc = SC_OPENAT; dirfd = (int32_t)d->args[0]; path = d->args[1]; flags = d->args[2]; mode = d->args[3]; break;
  case SYS_openat2: {
    struct open_how h;
    sc = SC_OPENAT2; dirfd = (int32_t)d->args[0]; path = d->args[1];
    /* Unreadable or odd-sized: the kernel fails it the same way (EFAULT, EINVAL) on continue. */
    if (d->args[3] < sizeof h || d->args[3] > 4096 || peek(pid, d->args[2], &h, sizeof h) < 0) return respond(M.req->id, 1, 0);
    flags = h.flags; mode = h.mode; resolve = h.resolve;
    break;
  }
  default:
    return respond(M.req->id, 0, ENOSYS); /* not a syscall this loop knows: never continue it */
  }
  M.len = 0;
  put32(0); put32(3); put(&M.req->id, 8); put32((uint32_t)pid); put32(sc); put32((uint32_t)dirfd); put32(0);
  put(&flags, 8); put(&mode, 8); put(&resolve, 8);
  size_t path_at = M.len;
  /* An unreadable or over-long path fails in the kernel just the same (EFAULT, ENAMETOOLONG). */
  if (put_cstr(pid, path, MED_MAX_PATH) < 0) return respond(M.req->id, 1, 0);
  char raw[MED_MAX_PATH + 1], base[MED_MAX_PATH + 1] = "", abs[2 * MED_MAX_PATH + 2];
  uint32_t plen;
  memcpy(&plen, M.frame + path_at, 4);
  memcpy(raw, M.frame + path_at + 4, plen);
  raw[plen] = 0;
  if (raw[0] != '/' && base_of(pid, dirfd, base, sizeof base) < 0) return respond(M.req->id, 1, 0);
  if (normalize(base, raw, abs, sizeof abs) < 0 || !in_zone(abs)) return respond(M.req->id, 1, 0);
  if (M.len > (size_t)UINT32_MAX) return -1;
  uint32_t flen = (uint32_t)(M.len - 4);
  memcpy(M.frame, &flen, 4);
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &M.req->id) < 0) return 0;
  return emit(1);
}

/* The request in M.req, to its handler. Returns -1 only when mediation cannot go on. */
static int handle(void) {
  if (M.req->data.nr == SYS_execve || M.req->data.nr == SYS_execveat) return on_exec();
  return on_open();
}

static unsigned polled; /* notifications received in poll mode */

/* One readable event on the notify fd (poll mode). Returns -1 only when mediation cannot go on. */
int notify_on_event(void) {
  memset(M.req, 0, M.req_size);
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_RECV, M.req) < 0) return errno == EINTR || errno == ENOENT ? 0 : -1;
  polled++;
  return handle();
}

/* ---- Receiver thread ----
 * Cost only, no new trust: with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6) a trapped syscall
 * wakes a listener blocked in NOTIF_RECV on the tracee's own CPU, and the answer wakes the tracee on
 * the listener's: a mediated exec becomes two context switches on one CPU instead of two cross-CPU
 * wake-ups (an IPI each, in a VM an exit each), the largest part of its round trip. The flag acts
 * only on a listener blocked in RECV, not in poll, so this thread does nothing but receive and
 * handle; the outer loop keeps verdicts, signals and the tree. Invariants: one mutex (MU) guards all
 * of M, so a request and a verdict are never handled at once; the lock is never held while blocked
 * in RECV; a failure here is fatal exactly as in poll mode — the thread stops receiving and signals
 * the eventfd the outer loop polls, which kills the tree. Without the flag (an older kernel) or a
 * thread, nothing changes: the outer loop polls the fd and calls notify_on_event. The thread starts
 * only after RECEIVER_AFTER notifications (a tree that execs a handful of programs gains nothing
 * from it, and with it `warden run -- true` measured ~3 ms slower), from the outer loop between two
 * events: only one of the two ever receives, the loop before, the thread after. */
#define RECEIVER_AFTER 16u
static int failed_fd = -1;

static void *receiver(void *ready) {
  uint64_t one = 1;
  /* Running: the creator waits for this, so this thread starts on the CPU it leaves free. */
  while (write(*(int *)ready, &one, sizeof one) < 0 && errno == EINTR) {}
  for (;;) {
    memset(M.recv, 0, M.req_size);
    if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_RECV, M.recv) < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOENT) {
        /* The tracee died before we took it — or every tracee is gone, and RECV fails at once from
         * now on: then stop quietly (not a failure: the tree's own exit status is on its way). */
        struct pollfd p = {M.nfd, POLLIN, 0};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) return NULL;
        continue;
      }
      break;
    }
    pthread_mutex_lock(&MU);
    memcpy(M.req, M.recv, M.req_size);
    int r = handle();
    pthread_mutex_unlock(&MU);
    if (r < 0) break;
  }
  while (write(failed_fd, &one, sizeof one) < 0 && errno == EINTR) {}
  return NULL;
}

int notify_start_receiver(void) {
  static int tried;
  if (tried || polled < RECEIVER_AFTER) return -1;
  tried = 1;
  if (ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (unsigned long)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) return -1;
  M.recv = calloc(1, M.req_size);
  failed_fd = eventfd(0, EFD_CLOEXEC);
  int ready = eventfd(0, EFD_CLOEXEC); /* the thread writes it once, before this returns */
  pthread_attr_t a;
  pthread_t t;
  int ok = M.recv && failed_fd >= 0 && ready >= 0 && !pthread_attr_init(&a);
  if (ok) {
    ok = !pthread_attr_setstacksize(&a, 256u << 10) && !pthread_create(&t, &a, receiver, &ready);
    pthread_attr_destroy(&a);
  }
  /* Wait until it runs: a new thread otherwise waits for a CPU (up to a scheduler tick when both
   * are busy), and a trapped exec with it. */
  uint64_t n;
  if (ok) while (read(ready, &n, sizeof n) < 0 && errno == EINTR) {}
  if (ready >= 0) close(ready);
  if (ok) return failed_fd;
  /* No thread: poll mode. The flag stays set; it is harmless to a listener that polls. */
  free(M.recv);
  M.recv = NULL;
  if (failed_fd >= 0) close(failed_fd);
  failed_fd = -1;
  return -1;
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

/* An approved open, done here with the helper's (the user's) credentials on the host path the
 * supervisor decided on, and handed to the tracee. Returns -1 only when mediation cannot go on. */
#define OPEN_OK_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_CREAT | O_EXCL | O_NONBLOCK | O_DSYNC | O_SYNC)
static int emulate_open(uint64_t id, const char *path, uint32_t oflags, uint32_t mode, uint32_t snapshot, uint32_t fdflags) {
  struct open_how h = {.flags = oflags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                       .mode = oflags & O_CREAT ? mode : 0,
                       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &h, sizeof h);
  if (fd < 0) return respond(id, 0, errno);
  struct stat st;
  int err = 0;
  /* Only a regular file: a directory fd would open everything under it past the masks. */
  if (fstat(fd, &st) < 0) err = errno;
  else if (!S_ISREG(st.st_mode)) err = EACCES;
  else if (!(oflags & O_NONBLOCK) && fcntl(fd, F_SETFL, (int)(oflags & (O_APPEND | O_DSYNC))) < 0) err = errno;
  if (!err && snapshot) {
    /* A read: a sealed copy (at most MED_SNAP_MAX bytes), reopened read-only. */
    int mfd = memfd_create("warden-ask", MFD_CLOEXEC | MFD_ALLOW_SEALING), ro = -1;
    off_t at = 0;
    ssize_t n = 1;
    while (mfd >= 0 && n > 0 && at <= (off_t)MED_SNAP_MAX) n = sendfile(mfd, fd, &at, 1 << 20);
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
    if (mfd < 0 || n < 0) err = errno ? errno : EIO;
    else if (at > (off_t)MED_SNAP_MAX) err = EFBIG;
    else if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
             (ro = open(self, O_RDONLY | O_CLOEXEC)) < 0)
      err = errno;
    if (mfd >= 0) close(mfd);
    close(fd);
    fd = ro;
  }
  if (err) {
    if (fd >= 0) close(fd);
    return respond(id, 0, err);
  }
  struct seccomp_notif_addfd a = {.id = id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)fd, .newfd = 0, .newfd_flags = fdflags};
  int r = ioctl(M.nfd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
  err = errno;
  close(fd);
  /* With FLAG_SEND a successful ADDFD is the answer; otherwise answer with its error (EMFILE...). */
  if (r < 0 && err != ENOENT) return respond(id, 0, err);
  return 0;
}

/* Open verdict: u32 kind(3), u64 id, u32 pid, u32 action (0 continue, 1 fail, 2 open), i32 errno,
 * u32 oflags, u32 mode, u32 snapshot, u32 fdflags, u32 pathlen, path, u32 msglen, msg. */
static int apply_open(const uint8_t *f, uint32_t len) {
  if (len < 48) return -1;
  uint64_t id;
  uint32_t pid, action, oflags, mode, snap, fdflags, plen, msglen;
  int32_t err;
  memcpy(&id, f + 4, 8); memcpy(&pid, f + 12, 4); memcpy(&action, f + 16, 4); memcpy(&err, f + 20, 4);
  memcpy(&oflags, f + 24, 4); memcpy(&mode, f + 28, 4); memcpy(&snap, f + 32, 4); memcpy(&fdflags, f + 36, 4);
  memcpy(&plen, f + 40, 4);
  if (plen > MED_MAX_PATH || len < 48 + plen) return -1;
  memcpy(&msglen, f + 44 + plen, 4);
  if (msglen > MED_MSG_MAX || len != 48 + plen + msglen || action > 2) return -1;
  if (action == 0) return err || plen || msglen || oflags || mode || snap || fdflags ? -1 : respond(id, 1, 0);
  if (action == 1) {
    if (err <= 0 || err > 4095 || plen || oflags || mode || snap || fdflags) return -1;
    if (msglen) tell((pid_t)pid, f + 48 + plen, msglen);
    return respond(id, 0, err);
  }
  char path[MED_MAX_PATH + 1];
  memcpy(path, f + 44, plen);
  path[plen] = 0;
  /* Defence in depth: the helper opens only inside a zone, whatever the supervisor says. */
  if (err || msglen || !plen || memchr(path, 0, plen) || !canonical(path) || !in_zone(path) || oflags & ~(uint32_t)OPEN_OK_FLAGS || mode > 07777 ||
      snap > 1 || (fdflags & ~(uint32_t)O_CLOEXEC) || (snap && (oflags & (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND))))
    return -1;
  return emulate_open(id, path, oflags, mode, snap, fdflags);
}

/* Verdict frames: u32 len, u32 kind(1), u64 id, u32 pid, u32 action (0 continue, 1 fail), i32 errno,
 * u32 cache, u32 msglen, msg[msglen <= MED_MSG_MAX] (told to the tracee's stderr on fail).
 * Kind 2 (len 4): forget every cached verdict. Kind 4 (len 4): the supervisor opened the frames pipe. */
static int apply(const uint8_t *f, uint32_t len) {
  uint32_t kind;
  memcpy(&kind, f, 4);
  if (kind == 2 && len == 4) { for (size_t i = 0; i < MED_CACHE; i++) M.cache[i].len = 0; return 0; }
  if (kind == 4 && len == 4) return take_pipe();
  if (kind == 3) return apply_open(f, len);
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

static int on_verdicts(void);

/* Readable supervisor channel. Returns -1 on EOF or a malformed frame (fatal). */
int notify_on_verdicts(void) {
  pthread_mutex_lock(&MU);
  int r = on_verdicts();
  pthread_mutex_unlock(&MU);
  return r;
}

static int on_verdicts(void) {
  ssize_t n = read(M.med, M.in + M.in_len, sizeof M.in - M.in_len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  M.in_len += (size_t)n;
  size_t off = 0;
  while (M.in_len - off >= 4) {
    uint32_t len;
    memcpy(&len, M.in + off, 4);
    if (len < 4 || len > 48 + MED_MAX_PATH + MED_MSG_MAX) return -1;
    if (M.in_len - off - 4 < len) break;
    if (apply(M.in + off + 4, len) < 0) return -1;
    off += 4 + len;
  }
  memmove(M.in, M.in + off, M.in_len - off);
  M.in_len -= off;
  return 0;
}
