/*
 * Plan decoder. The plan arrives from the supervisor over an inherited fd; it is trusted in intent
 * but parsed as if hostile: every length is bounds-checked before use, every string is checked
 * for NUL bytes and (for paths) canonical absolute form, every enum and flag word against the
 * known set. Anything unexpected rejects the whole plan — a half-understood plan could silently
 * produce a weaker sandbox. Format: native/PLAN.md.
 */
#include "helper.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct cur { const uint8_t *p; size_t n; char *err; size_t errlen; };

static int bad(struct cur *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static int get32(struct cur *c, uint32_t *v) {
  if (c->n < 4) return bad(c, "truncated u32");
  *v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
  c->p += 4; c->n -= 4;
  return 0;
}

static int get64(struct cur *c, uint64_t *v) {
  uint32_t lo = 0, hi = 0;
  if (get32(c, &lo) || get32(c, &hi)) return -1;
  *v = (uint64_t)hi << 32 | lo;
  return 0;
}

/* Copies exactly len bytes into a fresh NUL-terminated string; embedded NULs are rejected. */
static int take_str_max(struct cur *c, size_t len, int allow_empty, size_t max, char **out) {
  if (len > c->n) return bad(c, "string length %zu exceeds record", len);
  if (len > max) return bad(c, "string longer than %zu bytes", max);
  if (!len && !allow_empty) return bad(c, "empty string");
  if (memchr(c->p, 0, len)) return bad(c, "string contains NUL");
  char *s = malloc(len + 1);
  if (!s) return bad(c, "out of memory");
  memcpy(s, c->p, len);
  s[len] = 0;
  c->p += len; c->n -= len;
  *out = s;
  return 0;
}

static int take_str(struct cur *c, size_t len, int allow_empty, char **out) {
  return take_str_max(c, len, allow_empty, PLAN_MAX_STR, out);
}

static int get_str(struct cur *c, int allow_empty, char **out) {
  uint32_t len = 0;
  if (get32(c, &len)) return -1;
  return take_str(c, len, allow_empty, out);
}

/* Canonical absolute path: starts with '/', no empty, "." or ".." components, no trailing '/',
 * no newline. The supervisor resolved symlinks; the helper re-checks them at mount time. */
static int check_path(struct cur *c, const char *what, const char *s) {
  if (s[0] != '/') return bad(c, "%s is not absolute", what);
  if (strchr(s, '\n')) return bad(c, "%s contains a newline", what);
  if (!strcmp(s, "/")) return 0;
  for (const char *q = s; *q; ) {
    const char *e = strchr(q + 1, '/');
    size_t l = e ? (size_t)(e - q - 1) : strlen(q + 1);
    if (l == 0 || (l == 1 && q[1] == '.') || (l == 2 && q[1] == '.' && q[2] == '.'))
      return bad(c, "%s is not canonical", what);
    if (!e) break;
    q = e;
  }
  return 0;
}

static int check_key(struct cur *c, const char *s) {
  for (const char *q = s; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
          *q == '.' || *q == '_'))
      return bad(c, "cgroup file name not a plain name");
  if (s[0] == '.') return bad(c, "cgroup file name starts with '.'");
  return 0;
}

#define GROW(arr, n, cp)                                                         \
  do {                                                                           \
    if ((n) >= PLAN_MAX_ITEMS) return bad(cp, "too many items");                 \
    void *np_ = realloc((arr), ((n) + 2) * sizeof(*(arr)));                      \
    if (!np_) return bad(cp, "out of memory");                                   \
    (arr) = np_;                                                                 \
    memset(&(arr)[(n)], 0, 2 * sizeof(*(arr)));                                  \
  } while (0)

static int parse_record(struct plan *p, uint32_t type, struct cur *r, int *have_config) {
  char *s = NULL, *s2 = NULL;
  uint32_t a, b, d;
  uint64_t x, y;
  if (type != R_CONFIG && !*have_config) return bad(r, "first record must be config");
  switch (type) {
  case R_CONFIG:
    if (*have_config) return bad(r, "duplicate config");
    *have_config = 1;
    if (get32(r, &p->flags) || get32(r, &p->supervisor_pid) || get32(r, &p->status_fd) ||
        get32(r, &p->ll_min_abi) || get32(r, &p->ll_abi_max) || get32(r, &p->pid_max) ||
        get32(r, &p->degradable) || get32(r, &p->ll_scopes) || get32(r, &p->ll_restrict_flags) ||
        get32(r, &a))
      return -1;
    if (p->flags & ~CF_KNOWN) return bad(r, "unknown config flags 0x%x", p->flags);
    if (p->degradable & ~L_KNOWN) return bad(r, "unknown degradable layers 0x%x", p->degradable);
    if (p->status_fd && (p->status_fd < 3 || p->status_fd == PLAN_FD || p->status_fd > 1024))
      return bad(r, "bad status fd %u", p->status_fd);
    if (p->ll_min_abi > 64 || (p->ll_abi_max > 64 && p->ll_abi_max != LL_NO_CAP) || p->ll_scopes > 3 || p->ll_restrict_flags > 7 || a)
      return bad(r, "bad landlock config");
    if (p->pid_max && (p->pid_max < 301 || p->pid_max > 4194304)) return bad(r, "bad pid_max");
    break;
  case R_MOUNT: {
    GROW(p->mounts, p->nmounts, r);
    struct mount_rec *m = &p->mounts[p->nmounts];
    if (get32(r, &m->op) || get32(r, &m->flags) || get32(r, &m->mode) || get32(r, &d) ||
        get64(r, &m->size) || get_str(r, 1, &s) || get_str(r, 0, &s2))
      return -1;
    if (m->op < 1 || m->op > M_MAX_OP) return bad(r, "unknown mount op %u", m->op);
    if (m->flags & ~MF_KNOWN || d) return bad(r, "unknown mount flags");
    if (m->mode > 07777) return bad(r, "bad mode");
    if (check_path(r, "mount destination", s2)) return -1;
    if (!strcmp(s2, "/")) return bad(r, "mount destination is /");
    if (m->op == M_BIND || m->op == M_COW) { if (!*s || check_path(r, "bind source", s)) return bad(r, "bad bind source"); }
    else if (m->op == M_SYMLINK) { if (!*s || strchr(s, '\n')) return bad(r, "bad symlink target"); }
    else if (*s) return bad(r, "mount op %u takes no source", m->op);
    m->src = s; m->dst = s2;
    p->nmounts++;
    break;
  }
  case R_LL_PATH:
    GROW(p->llp, p->nllp, r);
    if (get64(r, &x) || get_str(r, 0, &s) || check_path(r, "landlock path", s)) return -1;
    if (x == 0 || x >= (1ull << 16)) return bad(r, "bad landlock fs access 0x%llx", (unsigned long long)x);
    p->llp[p->nllp++] = (struct ll_path){x, s};
    break;
  case R_LL_NET:
    GROW(p->lln, p->nlln, r);
    if (get64(r, &x) || get64(r, &y)) return -1;
    if (x == 0 || x > 3 || y > 65535) return bad(r, "bad landlock net rule");
    p->lln[p->nlln++] = (struct ll_net){x, y};
    break;
  case R_RLIMIT:
    GROW(p->rl, p->nrl, r);
    if (get32(r, &a) || get32(r, &b) || get64(r, &x) || get64(r, &y)) return -1;
    if (a >= RLIM_NLIMITS || b || x > y) return bad(r, "bad rlimit record");
    p->rl[p->nrl++] = (struct rlim_rec){a, x, y};
    break;
  case R_ENV:
    GROW(p->env, p->nenv, r);
    if (take_str_max(r, r->n, 0, PLAN_MAX_ARG, &s)) return -1;
    if (!strchr(s, '=') || s[0] == '=') return bad(r, "env entry is not KEY=VALUE");
    p->env[p->nenv++] = s;
    break;
  case R_ARGV:
    GROW(p->argv, p->nargv, r);
    if (take_str_max(r, r->n, p->nargv > 0, PLAN_MAX_ARG, &s)) return -1;
    p->argv[p->nargv++] = s;
    break;
  case R_CWD:
    if (p->cwd) return bad(r, "duplicate cwd");
    if (take_str(r, r->n, 0, &s) || check_path(r, "cwd", s)) return -1;
    p->cwd = s;
    break;
  case R_HOSTNAME:
    if (p->hostname) return bad(r, "duplicate hostname");
    if (take_str(r, r->n, 0, &s)) return -1;
    if (strlen(s) > 64 || strchr(s, '/') || strchr(s, '\n')) return bad(r, "bad hostname");
    p->hostname = s;
    break;
  case R_SECCOMP:
    if (p->seccomp) return bad(r, "duplicate seccomp program");
    if (r->n == 0 || r->n % 8 || r->n / 8 > 4096) return bad(r, "bad seccomp program length %zu", r->n);
    p->seccomp = r->p; p->seccomp_len = r->n;
    r->p += r->n; r->n = 0;
    break;
  case R_CG_DIR:
    GROW(p->cg, p->ncg, r);
    if (take_str(r, r->n, 0, &s) || check_path(r, "cgroup dir", s)) return -1;
    if (strncmp(s, "/sys/fs/cgroup/", 15)) return bad(r, "cgroup dir outside /sys/fs/cgroup");
    p->cg[p->ncg++].parent = s;
    break;
  case R_CG_WRITE: {
    if (!p->ncg) return bad(r, "cgroup write before cgroup dir");
    struct cg_dir *g = &p->cg[p->ncg - 1];
    GROW(g->writes, g->nwrites, r);
    if (get32(r, &a) || get32(r, &b) || get_str(r, 0, &s) || get_str(r, 0, &s2) || check_key(r, s))
      return -1;
    if (a > 1 || b > 1 || strchr(s2, '\n')) return bad(r, "bad cgroup write");
    g->writes[g->nwrites++] = (struct cg_write){a, b, s, s2};
    break;
  }
  case R_CG_READ: {
    if (!p->ncg) return bad(r, "cgroup read before cgroup dir");
    struct cg_dir *g = &p->cg[p->ncg - 1];
    GROW(g->reads, g->nreads, r);
    if (take_str(r, r->n, 0, &s) || check_key(r, s)) return -1;
    g->reads[g->nreads++] = s;
    break;
  }
  case R_RELAY:
    if (p->relay.tcp_port) return bad(r, "duplicate relay");
    if (get32(r, &a) || get32(r, &b) || get32(r, &p->relay.flags) || get32(r, &d) || get_str(r, 0, &s) ||
        get_str(r, 0, &s2) || check_path(r, "relay proxy socket", s) || check_path(r, "relay dns socket", s2))
      return -1;
    if (!a || !b || a > 65535 || b > 65535 || a == b || p->relay.flags & ~RELAY_DNS_TCP || d) return bad(r, "bad relay record");
    if (strlen(s) > 107 || strlen(s2) > 107) return bad(r, "relay socket path longer than 107 bytes");
    p->relay = (struct relay_rec){a, b, p->relay.flags, s, s2};
    break;
  case R_ASK:
    GROW(p->ask, p->nask, r);
    if (take_str(r, r->n, 0, &s) || check_path(r, "ask zone", s)) return -1;
    if (!strcmp(s, "/")) return bad(r, "ask zone is /");
    p->ask[p->nask++] = s;
    break;
  default:
    return bad(r, "unknown record type %u", type);
  }
  if (r->n) return bad(r, "record type %u has %zu trailing bytes", type, r->n);
  return 0;
}

int plan_parse(const uint8_t *buf, size_t len, struct plan *p, char *err, size_t errlen) {
  struct cur c = {buf, len, err, errlen};
  uint32_t magic, version, total, count;
  int have_config = 0;
  memset(p, 0, sizeof(*p));
  if (get32(&c, &magic) || get32(&c, &version) || get32(&c, &total) || get32(&c, &count)) return -1;
  if (magic != PLAN_MAGIC) return bad(&c, "bad magic");
  if (version != PLAN_VERSION) return bad(&c, "unsupported plan version %u", version);
  if (total != len) return bad(&c, "length field %u != %zu bytes received", total, len);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t type, rlen;
    if (get32(&c, &type) || get32(&c, &rlen)) return -1;
    if (rlen > c.n) return bad(&c, "record %u length %u exceeds plan", i, rlen);
    struct cur r = {c.p, rlen, err, errlen};
    if (parse_record(p, type, &r, &have_config)) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "record %u (type %u): %s", i, type, err);
      snprintf(err, errlen, "%s", tmp);
      return -1;
    }
    c.p += rlen; c.n -= rlen;
  }
  if (c.n) return bad(&c, "%zu bytes after the last record", c.n);
  if (!have_config) return bad(&c, "no config record");
  if (!p->nargv) return bad(&c, "no argv");
  if (!p->cwd) return bad(&c, "no cwd");
  if (!p->argv[0][0]) return bad(&c, "empty argv[0]");
  if (p->nask && !(p->flags & CF_SECCOMP_NOTIFY)) return bad(&c, "ask zones without mediation");
  return 0;
}

static const char *const op_names[] = {"?", "bind", "tmpfs", "proc", "devpts", "mask", "symlink", "dir", "ro"};

static void put_escaped(const char *prefix, const char *s) {
  fputs(prefix, stdout);
  for (; *s; s++) {
    if (*s == '\\') fputs("\\\\", stdout);
    else if (*s == '\n') fputs("\\n", stdout);
    else putchar(*s);
  }
  putchar('\n');
}

/* --dump-plan: a line-oriented view of exactly what was decoded, for round-trip tests. */
void plan_dump(const struct plan *p) {
  printf("config flags=%u supervisor_pid=%u status_fd=%u ll_min_abi=%u ll_abi_max=%u pid_max=%u "
         "degradable=%u ll_scopes=%u ll_restrict_flags=%u\n",
         p->flags, p->supervisor_pid, p->status_fd, p->ll_min_abi, p->ll_abi_max, p->pid_max,
         p->degradable, p->ll_scopes, p->ll_restrict_flags);
  if (p->hostname) printf("hostname %s\n", p->hostname);
  for (size_t i = 0; i < p->nmounts; i++) {
    const struct mount_rec *m = &p->mounts[i];
    printf("mount %s flags=%u mode=%o size=%llu src=%s dst=%s\n", op_names[m->op], m->flags, m->mode,
           (unsigned long long)m->size, m->src, m->dst);
  }
  for (size_t i = 0; i < p->nllp; i++)
    printf("landlock-path access=%llu path=%s\n", (unsigned long long)p->llp[i].access, p->llp[i].path);
  for (size_t i = 0; i < p->nlln; i++)
    printf("landlock-net access=%llu port=%llu\n", (unsigned long long)p->lln[i].access,
           (unsigned long long)p->lln[i].port);
  for (size_t i = 0; i < p->nrl; i++)
    printf("rlimit resource=%u soft=%llu hard=%llu\n", p->rl[i].resource,
           (unsigned long long)p->rl[i].soft, (unsigned long long)p->rl[i].hard);
  for (size_t i = 0; i < p->ncg; i++) {
    printf("cgroup dir=%s\n", p->cg[i].parent);
    for (size_t j = 0; j < p->cg[i].nwrites; j++)
      printf("cgroup-write target=%u optional=%u key=%s value=%s\n", p->cg[i].writes[j].target,
             p->cg[i].writes[j].optional, p->cg[i].writes[j].key, p->cg[i].writes[j].value);
    for (size_t j = 0; j < p->cg[i].nreads; j++) printf("cgroup-read key=%s\n", p->cg[i].reads[j]);
  }
  if (p->seccomp) printf("seccomp insns=%zu\n", p->seccomp_len / 8);
  for (size_t i = 0; i < p->nenv; i++) put_escaped("env ", p->env[i]);
  for (size_t i = 0; i < p->nargv; i++) put_escaped("argv ", p->argv[i]);
  if (p->relay.tcp_port)
    printf("relay tcp_port=%u dns_port=%u flags=%u proxy=%s dns=%s\n", p->relay.tcp_port, p->relay.dns_port,
           p->relay.flags, p->relay.proxy, p->relay.dns);
  for (size_t i = 0; i < p->nask; i++) put_escaped("ask ", p->ask[i]);
  printf("cwd %s\n", p->cwd);
}
