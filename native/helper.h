/*
 * warden-helper: the small, dumb native executor of a sandbox plan computed by the TypeScript
 * supervisor. It decides nothing: every path, right, limit and filter comes from the plan
 * (native/PLAN.md). Invariant: anything it cannot apply exactly as planned is a refusal (exit 126,
 * one line naming the layer), unless the plan marks that layer as allowed-degraded.
 */
#ifndef WARDEN_HELPER_H
#define WARDEN_HELPER_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_MAGIC 0x4e4c5057u /* bytes "WPLN" */
#define PLAN_VERSION 1u
#define PLAN_MAX_BYTES (4u << 20)
#define PLAN_FD 3
#define PLAN_MAX_STR 4096u
#define PLAN_MAX_ITEMS 4096u
#define LL_NO_CAP 0xffffffffu /* config.ll_abi_max: no cap on the Landlock ABI */
#define PLAN_MAX_ARG 131072u /* MAX_ARG_STRLEN: one argv or env string */

enum rec_type {
  R_CONFIG = 1, R_MOUNT = 2, R_LL_PATH = 3, R_LL_NET = 4, R_RLIMIT = 5, R_ENV = 6, R_ARGV = 7,
  R_CWD = 8, R_SECCOMP = 9, R_CG_DIR = 10, R_CG_WRITE = 11, R_CG_READ = 12, R_HOSTNAME = 13,
  R_RELAY = 14, R_ASK = 15, R_MAX_TYPE = 15
};

/* config.flags */
#define CF_NEW_SESSION 1u   /* setsid(): the command cannot TIOCSTI into the caller's terminal */
#define CF_LEGACY_MOUNT 2u  /* force the mount(2) remount path (kernels without mount_setattr) */
#define CF_SECCOMP_NOTIFY 4u /* exec mediation: the filter's listener fd goes to the outer helper's loop */
#define CF_GO_GATE 8u       /* wait for "g" on GO_FD before the payload may exec (audit genesis durable) */
#define CF_KNOWN (CF_NEW_SESSION | CF_LEGACY_MOUNT | CF_SECCOMP_NOTIFY | CF_GO_GATE)
#define GO_FD 5
#define MED_FD 6            /* CF_SECCOMP_NOTIFY: request/verdict frames with the supervisor */
#define SIG_GUARD (SIGRTMIN + 3) /* init's PDEATHSIG under mediation (warden-helper.c run_init) */

/* layer bits, for config.degradable */
enum layer_bit { L_LANDLOCK = 1u << 0, L_SECCOMP = 1u << 1, L_PIDMAX = 1u << 2, L_CGROUP = 1u << 3 };
#define L_KNOWN (L_LANDLOCK | L_SECCOMP | L_PIDMAX | L_CGROUP)

enum mount_op { M_BIND = 1, M_TMPFS = 2, M_PROC = 3, M_DEVPTS = 4, M_MASK = 5, M_SYMLINK = 6,
                M_DIR = 7, M_RO = 8, M_COW = 9, M_MAX_OP = 9 };
#define MF_RO 1u          /* read-only (recursive) */
#define MF_DEV 2u         /* keep device nodes usable (no nodev) — only for /dev/null & co */
#define MF_SRC_NEWROOT 4u /* src is a path inside the new root (e.g. /proc/sys), not the host */
#define MF_NOEXEC 8u
#define MF_KNOWN (MF_RO | MF_DEV | MF_SRC_NEWROOT | MF_NOEXEC)

struct mount_rec { uint32_t op, flags, mode; uint64_t size; const char *src, *dst; };
struct ll_path { uint64_t access; const char *path; };
struct ll_net { uint64_t access; uint64_t port; };
struct rlim_rec { uint32_t resource; uint64_t soft, hard; };
/* The egress relay (relay.c): tcp_port -> proxy socket; dns_port UDP (+TCP with RELAY_DNS_TCP) -> dns socket. */
#define RELAY_DNS_TCP 1u
struct relay_rec { uint32_t tcp_port, dns_port, flags; const char *proxy, *dns; };
struct cg_write { uint32_t target; uint32_t optional; const char *key, *value; };
struct cg_dir {
  const char *parent;
  char path[PLAN_MAX_STR + 32]; /* parent/warden-<pid>, filled in by the helper */
  int created;
  struct cg_write *writes; size_t nwrites;
  const char **reads; size_t nreads;
};

struct plan {
  uint32_t flags, supervisor_pid, status_fd, ll_min_abi, ll_abi_max, pid_max, degradable,
      ll_scopes, ll_restrict_flags;
  struct mount_rec *mounts; size_t nmounts;
  struct ll_path *llp; size_t nllp;
  struct ll_net *lln; size_t nlln;
  struct rlim_rec *rl; size_t nrl;
  char **env; size_t nenv;  /* NULL-terminated */
  char **argv; size_t nargv; /* NULL-terminated */
  const char *cwd, *hostname;
  const uint8_t *seccomp; size_t seccomp_len;
  struct cg_dir *cg; size_t ncg;
  struct relay_rec relay; /* relay.tcp_port == 0: no relay */
  const char **ask; size_t nask; /* "ask" file zones (canonical paths): opens under them go to the supervisor */
};

/* plan.c */
int plan_parse(const uint8_t *buf, size_t len, struct plan *p, char *err, size_t errlen);
void plan_dump(const struct plan *p);

/* status / refusal (warden-helper.c) */
extern int g_status_fd;
void status_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Refuse: one line on stderr + "refuse" on the status channel, exit 126. Never returns. */
void refuse(const char *layer, const char *reason, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* Layer bookkeeping for the "ready" line. */
void layer_active(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void layer_degraded(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern char g_active[1024], g_degraded[512];

/* sandbox.c */
int landlock_abi(void); /* kernel ABI, 0 when unavailable */
void setup_mounts(const struct plan *p);
void write_pid_max(const struct plan *p, const char *procdir);
void bring_up_loopback(void);
void apply_rlimits(const struct plan *p);
void drop_capabilities(void);
void apply_landlock(const struct plan *p);
int apply_seccomp(const struct plan *p); /* listener fd or -1 */
int kernel_at_least(int major, int minor);

/* relay.c */
#include <sys/types.h>
pid_t start_relay(const struct plan *p, pid_t init);

/* notify.c: exec mediation (the outer helper's half of seccomp user-notify) */
int notify_init(int nfd, int med, const char *const *ask, size_t nask);
int notify_on_event(void);
/* Starts the receiver thread once it is due (see notify.c): the eventfd that becomes readable when
 * it fails; -1 while it is not due, or when the kernel or the process cannot have one (the caller
 * then keeps polling the fd and calling notify_on_event). Call it between events only. */
int notify_start_receiver(void);
/* Execs answered ENOENT by the helper itself (a path that names nothing; see notify.c). */
uint64_t notify_missing_count(void);
int notify_on_verdicts(void);

/* probe.c */
int run_probe(void);

#endif
