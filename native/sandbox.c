/*
 * The layers applied inside the new namespaces: the mount tree, Landlock, capabilities, rlimits,
 * no_new_privs, seccomp. Each function applies exactly what the plan says or refuses; none of them
 * widens access on its own initiative (the only adjustments are mechanical and narrowing: rights
 * the running Landlock ABI does not know are dropped from rules *and* from the handled set, rights
 * that make no sense on a non-directory are dropped from that rule, rlimits are never raised).
 */
#define _GNU_SOURCE
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the plan's seccomp bytes are little-endian struct sock_filter"
#endif

/* Landlock UAPI, declared here because build hosts' headers may predate the running kernel. */
struct ll_ruleset_attr { uint64_t fs, net, scoped; };
struct ll_path_attr { uint64_t allowed; int32_t fd; } __attribute__((packed));
struct ll_net_attr { uint64_t allowed, port; };
#define LL_CREATE_VERSION 1u
#define LL_FILE_RIGHTS (1ull << 0 | 1ull << 1 | 1ull << 2 | 1ull << 14 | 1ull << 15) /* exec, write, read, truncate, ioctl_dev */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct w_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

/* The Linux release that introduced each Landlock ABI, for the fix hint. */
static const char *const ll_kernel[] = {"?", "5.13", "5.19", "6.2", "6.7", "6.10", "6.12", "6.15"};

int landlock_abi(void) {
  long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
  return v < 0 ? 0 : (int)v;
}

static uint64_t ll_fs_for_abi(int abi) {
  uint64_t m = abi >= 1 ? (1ull << 13) - 1 : 0; /* ABI 1: execute .. make_sym */
  if (abi >= 2) m |= 1ull << 13;                /* refer */
  if (abi >= 3) m |= 1ull << 14;                /* truncate */
  if (abi >= 5) m |= 1ull << 15;                /* ioctl_dev */
  return m;
}

int kernel_at_least(int major, int minor) {
  struct utsname u;
  int a = 0, b = 0;
  if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2) return 0;
  return a > major || (a == major && b >= minor);
}

/* ---- mounts ------------------------------------------------------------------------------ */

#define STAGE "/tmp"
#define OLD "/oldroot"
#define NEW "/newroot"
#define EMPTY_FILE "/.empty"

static void mount_refuse(const char *what, const char *path, int err) __attribute__((noreturn));
static void mount_refuse(const char *what, const char *path, int err) {
  refuse("mountns", "mount-failed", "check that the path exists on a local filesystem, or run `warden doctor`",
         "%s %s: %s", what, path, strerror(err));
}

/*
 * Resolves the canonical plan path `path` beneath `base` one component at a time with
 * O_NOFOLLOW. Invariant: the object reached is the one the supervisor planned — a symlink
 * planted after planning (say, by an earlier session inside its writable workspace) makes the walk
 * fail instead of redirecting a bind source, a mount point or a mask. With create 'd' missing
 * components become directories; with 'f' the last one becomes an empty file (a mount point for a
 * file bind). Returns an O_PATH fd, or -1 with errno set.
 */
static int walk(const char *base, const char *path, int create, mode_t mode) {
  int dfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *q = path;
  char comp[256];
  while (dfd >= 0) {
    while (*q == '/') q++;
    if (!*q) return dfd;
    const char *e = strchrnul(q, '/');
    size_t len = (size_t)(e - q);
    if (len >= sizeof comp) { close(dfd); errno = ENAMETOOLONG; return -1; }
    memcpy(comp, q, len);
    comp[len] = 0;
    int last = !*e;
    struct stat st;
    if (create && fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      int rc;
      if (errno != ENOENT) rc = -1;
      else if (last && create == 'f') {
        rc = openat(dfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (rc >= 0) close(rc);
      } else rc = mkdirat(dfd, comp, last ? mode : 0755);
      if (rc < 0 && errno != EEXIST) { int err = errno; close(dfd); errno = err; return -1; }
    }
    int nfd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    if (nfd < 0) return -1;
    if (fstat(nfd, &st) < 0 || S_ISLNK(st.st_mode) || (!last && !S_ISDIR(st.st_mode))) {
      close(nfd);
      errno = ELOOP;
      return -1;
    }
    dfd = nfd;
    q = e;
  }
  return -1;
}

/*
 * Mounting by fd (the new mount API: open_tree, fsopen/fsconfig/fsmount, move_mount, Linux 5.2;
 * mount_setattr, 5.12; uapi numbers shared by x86_64 and aarch64, under names of our own so that
 * no libc header's definitions collide).
 *
 * Invariant: what is mounted, and where, are the objects walk() checked, held as O_PATH fds from
 * the check to the mount, never a path resolved again; attributes are set on a detached mount,
 * before anything can reach it. Threat: another sandbox that can write a host directory this one
 * binds (two sessions on one workspace, a shared cache) swapping a component for a symlink
 * between the check and the mount, to move a mask or a read-only bind off the path it protects.
 * Kernels without mount_setattr get CF_LEGACY_MOUNT from the planner and mount by path (the walk
 * still refuses a symlink it meets; only that window stays open there).
 */
#define W_NR_open_tree 428
#define W_NR_move_mount 429
#define W_NR_fsopen 430
#define W_NR_fsconfig 431
#define W_NR_fsmount 432
#define W_OPEN_TREE_CLONE 1u
#define W_AT_EMPTY_PATH 0x1000
#define W_MOVE_MOUNT_F_EMPTY_PATH 0x4u
#define W_MOVE_MOUNT_T_EMPTY_PATH 0x40u
enum { W_SET_FLAG = 0, W_SET_STRING = 1, W_SET_FD = 5, W_CMD_CREATE = 6 };

/* nosuid always; nodev unless the plan asks for devices. */
static unsigned attrs_of(int ro, int dev, int noexec) {
  return (ro ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | (dev ? 0 : MOUNT_ATTR_NODEV) | (noexec ? MOUNT_ATTR_NOEXEC : 0);
}

static int set_attrs_at(int dfd, const char *path, int flags, unsigned attrs) {
  struct w_mount_attr a = {attrs, 0, 0, 0};
  return (int)syscall(__NR_mount_setattr, dfd, path, flags, &a, sizeof a);
}

/* Attaches the detached mount mnt onto the object fd refers to, and closes mnt. */
static int attach(int mnt, int fd) {
  if (mnt < 0) return -1;
  int r = (int)syscall(W_NR_move_mount, mnt, "", fd, "", W_MOVE_MOUNT_F_EMPTY_PATH | W_MOVE_MOUNT_T_EMPTY_PATH);
  int err = errno;
  close(mnt);
  errno = err;
  return r;
}

/* A detached copy of the mount tree at fd (submounts too), attrs added throughout; -1 if not. */
static int clone_tree(int fd, unsigned attrs) {
  int t = (int)syscall(W_NR_open_tree, fd, "", W_OPEN_TREE_CLONE | O_CLOEXEC | W_AT_EMPTY_PATH | AT_RECURSIVE);
  if (t < 0) return -1;
  if (set_attrs_at(t, "", W_AT_EMPTY_PATH | AT_RECURSIVE, attrs) < 0) {
    int err = errno;
    close(t);
    errno = err;
    return -1;
  }
  return t;
}

/* A new detached filesystem: type, string options (key, value, ..., NULL), lower layer fd (an
 * overlay's, or -1), attrs; -1 if the kernel refuses any of it. */
static int new_fs(const char *type, const char *const *opts, int lower, unsigned attrs) {
  int fs = (int)syscall(W_NR_fsopen, type, 1u /* FSOPEN_CLOEXEC */);
  if (fs < 0) return -1;
  int ok = lower < 0 || syscall(W_NR_fsconfig, fs, W_SET_FD, "lowerdir+", NULL, lower) == 0;
  for (; ok && opts && opts[0]; opts += 2)
    ok = opts[1] ? syscall(W_NR_fsconfig, fs, W_SET_STRING, opts[0], opts[1], 0) == 0 : syscall(W_NR_fsconfig, fs, W_SET_FLAG, opts[0], NULL, 0) == 0;
  ok = ok && syscall(W_NR_fsconfig, fs, W_CMD_CREATE, NULL, NULL, 0) == 0;
  int err = errno;
  int mnt = ok ? (int)syscall(W_NR_fsmount, fs, 1u /* FSMOUNT_CLOEXEC */, attrs) : -1;
  if (mnt < 0 && ok) err = errno;
  close(fs);
  errno = err;
  return mnt;
}

/* Legacy read-only remount. In a user namespace the kernel refuses a remount that would clear a
 * flag the mount inherited locked from the host (nosuid, nodev, noexec, atime mode), so the
 * current flags are read back with statvfs and kept. */
static int legacy_remount(const char *path, unsigned long add) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0) return -1;
  unsigned long fl = MS_REMOUNT | MS_BIND | add;
  if (sv.f_flag & ST_NOSUID) fl |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) fl |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) fl |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) fl |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) fl |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) fl |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) fl |= MS_RDONLY;
  return mount(NULL, path, NULL, fl, NULL);
}

/* Adds (never clears) mount attributes on the mount at fd (walked) or, with fd -1, at path (one
 * of our own); recursively over submounts when rec. */
static void set_attrs(const struct plan *p, int fd, const char *path, int ro, int dev, int noexec, int rec) {
  if (!(p->flags & CF_LEGACY_MOUNT)) {
    /* No silent fallback: a recursive bind made read-only only at the top would leave its
     * submounts writable. Kernels without mount_setattr get CF_LEGACY_MOUNT from the planner. */
    int at = fd >= 0 ? W_AT_EMPTY_PATH : 0;
    if (set_attrs_at(fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path, at | (rec ? AT_RECURSIVE : 0), attrs_of(ro, dev, noexec)) == 0) return;
    mount_refuse("cannot set attributes on", path, errno);
  }
  unsigned long add = (ro ? MS_RDONLY : 0) | MS_NOSUID | (dev ? 0 : MS_NODEV) | (noexec ? MS_NOEXEC : 0);
  if (legacy_remount(path, add) < 0) mount_refuse("cannot remount", path, errno);
}

/*
 * A private directory (M_COW): copy-on-write over the host's directory — overlayfs with the host's
 * as the only lower layer and a tmpfs of the sandbox's own (m->size) for the changes, so the
 * sandbox reads the host's cache and every write, rename or removal lands in its tmpfs; the host's
 * directory is never written. The lower layer is named by the fd walk() checked (Linux >= 6.15),
 * else by its path (walk() checked it a moment ago; not with a colon or backslash in it, which
 * overlayfs would parse); the overlay goes onto the walked mount point dfd. Returns -1, having
 * mounted nothing, when there is nothing to show or no overlay: the host's path is not a directory
 * reached without symlinks, or the kernel refuses the mount (overlayfs in a user namespace needs
 * Linux >= 5.11 and user xattrs on tmpfs, 6.6); the caller then mounts an empty tmpfs — stricter,
 * never weaker. Attack surface: the agent can reach overlayfs' copy-up through it (it cannot mount
 * one itself: the mount family is denied); nosuid and nodev as everywhere.
 */
static int cow_mount(const struct mount_rec *m, int dfd) {
  static unsigned n;
  char stage[32], opts[64], lower[PLAN_MAX_STR + 16];
  struct stat st;
  int fd = walk(OLD, m->src, 0, 0);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) { close(fd); return -1; }
  snprintf(stage, sizeof stage, "/cow%u", n++);
  snprintf(opts, sizeof opts, "mode=0700,size=%llu", (unsigned long long)m->size);
  if (mkdir(stage, 0700) < 0 || mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) { close(fd); return -1; }
  char upper[48], work[48];
  snprintf(upper, sizeof upper, "%s/u", stage);
  snprintf(work, sizeof work, "%s/w", stage);
  snprintf(lower, sizeof lower, OLD "%s", m->src);
  /* The merged root takes the upper root's owner and mode: the host directory's. */
  int ok = mkdir(upper, st.st_mode & 07777) == 0 && mkdir(work, 0700) == 0 && chmod(upper, st.st_mode & 07777) == 0;
  const char *const layers[] = {"upperdir", upper, "workdir", work, "userxattr", NULL, NULL};
  const char *const by_path[] = {"lowerdir", lower, "upperdir", upper, "workdir", work, "userxattr", NULL, NULL};
  unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  int mnt = ok ? new_fs("overlay", layers, fd, attrs) : -1;
  if (ok && mnt < 0 && !strpbrk(m->src, ":\\")) mnt = new_fs("overlay", by_path, -1, attrs);
  close(fd);
  if (attach(mnt, dfd) < 0) {
    (void)umount2(stage, MNT_DETACH);
    return -1;
  }
  /* The overlay holds its own clones of both layers: the staging mount can go with the staging
   * root (setup_mounts detaches it). */
  return 0;
}

/* A tmpfs (mode, size; size 0 = the kernel's default) on the walked mount point dfd (plan path dst). */
static void mount_tmpfs(const struct plan *p, int dfd, const char *dst, unsigned mode, unsigned long long size, int ro, int noexec) {
  char mode_s[16], size_s[32], opts[64];
  snprintf(mode_s, sizeof mode_s, "%o", mode);
  snprintf(size_s, sizeof size_s, "%llu", size);
  if (!(p->flags & CF_LEGACY_MOUNT)) {
    const char *const kv[] = {"mode", mode_s, size ? "size" : NULL, size_s, NULL, NULL};
    if (attach(new_fs("tmpfs", kv, -1, attrs_of(ro, 0, noexec)), dfd) < 0) mount_refuse("cannot mount tmpfs on", dst, errno);
    return;
  }
  char path[PLAN_MAX_STR + 16];
  snprintf(path, sizeof path, NEW "%s", dst);
  if (size) snprintf(opts, sizeof opts, "mode=%s,size=%s", mode_s, size_s);
  else snprintf(opts, sizeof opts, "mode=%s", mode_s);
  if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0) | (noexec ? MS_NOEXEC : 0), opts) < 0)
    mount_refuse("cannot mount tmpfs on", dst, errno);
}

/* A recursive bind of the walked source sfd (path src, for legacy kernels) onto the walked dfd. */
static void bind_tree(const struct plan *p, int sfd, const char *src, int dfd, const char *dst, int ro, int dev, int noexec) {
  if (!(p->flags & CF_LEGACY_MOUNT)) {
    if (attach(clone_tree(sfd, attrs_of(ro, dev, noexec)), dfd) < 0) mount_refuse("cannot bind", src, errno);
    return;
  }
  /* Without mount_setattr there is no recursive read-only; then submounts are left out
   * entirely rather than exposed writable. */
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) mount_refuse("cannot bind", src, errno);
  set_attrs(p, -1, dst, ro, dev, noexec, 0);
}

static void do_mount(const struct plan *p, const struct mount_rec *m) {
  char dst[PLAN_MAX_STR + 16], src[PLAN_MAX_STR + 16];
  int fd, sfd, ro = !!(m->flags & MF_RO), noexec = !!(m->flags & MF_NOEXEC);
  struct stat st;
  snprintf(dst, sizeof dst, NEW "%s", m->dst);
  switch (m->op) {
  case M_BIND:
    snprintf(src, sizeof src, "%s%s", (m->flags & MF_SRC_NEWROOT) ? NEW : OLD, m->src);
    sfd = walk((m->flags & MF_SRC_NEWROOT) ? NEW : OLD, m->src, 0, 0);
    if (sfd < 0 || fstat(sfd, &st) < 0) mount_refuse("bind source", m->src, errno == ELOOP ? ELOOP : errno);
    if ((fd = walk(NEW, m->dst, S_ISDIR(st.st_mode) ? 'd' : 'f', 0755)) < 0) mount_refuse("mount point", m->dst, errno);
    bind_tree(p, sfd, src, fd, dst, ro, !!(m->flags & MF_DEV), noexec);
    close(sfd);
    close(fd);
    break;
  case M_COW:
  case M_TMPFS:
  case M_PROC:
  case M_DEVPTS:
    if ((fd = walk(NEW, m->dst, 'd', 0755)) < 0) mount_refuse("mount point", m->dst, errno);
    /* proc and devpts go on directories of the sandbox's own root tmpfs, which nothing outside
     * can reach: by path. */
    if (m->op == M_PROC) {
      if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        mount_refuse("cannot mount proc on", m->dst, errno);
      write_pid_max(p, dst); /* before /proc/sys becomes read-only */
    } else if (m->op == M_DEVPTS) {
      if (mount("devpts", dst, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
        mount_refuse("cannot mount devpts on", m->dst, errno);
    } else if (m->op == M_TMPFS || cow_mount(m, fd) < 0) {
      mount_tmpfs(p, fd, m->dst, m->mode, (unsigned long long)m->size, ro, noexec);
    }
    close(fd);
    break;
  case M_MASK:
    /* Deny overrides: whatever is at dst (inside a read or write bind) is covered by an empty,
     * read-only, unreadable object of the same kind. A deny path that does not exist has
     * nothing to hide and is skipped. */
    if ((fd = walk(NEW, m->dst, 0, 0)) < 0) {
      if (errno == ENOENT) break;
      mount_refuse("mask target", m->dst, errno);
    }
    if (fstat(fd, &st) < 0) mount_refuse("mask target", m->dst, errno);
    if (S_ISDIR(st.st_mode)) {
      mount_tmpfs(p, fd, m->dst, 0, 4096, 1, 1);
    } else {
      if ((sfd = open(EMPTY_FILE, O_PATH | O_CLOEXEC)) < 0) mount_refuse("cannot mask", m->dst, errno);
      bind_tree(p, sfd, EMPTY_FILE, fd, dst, 1, 0, 1);
      close(sfd);
    }
    close(fd);
    break;
  case M_SYMLINK: {
    const char *slash = strrchr(m->dst, '/');
    char parent[PLAN_MAX_STR + 1];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - m->dst), m->dst);
    if ((fd = walk(NEW, parent, 'd', 0755)) < 0) mount_refuse("symlink parent", parent, errno);
    if (symlinkat(m->src, fd, slash + 1) < 0 && errno != EEXIST) mount_refuse("cannot create symlink", m->dst, errno);
    close(fd);
    break;
  }
  case M_DIR:
    if ((fd = walk(NEW, m->dst, 'd', m->mode)) < 0) mount_refuse("cannot create directory", m->dst, errno);
    close(fd);
    break;
  case M_RO:
    if ((fd = walk(NEW, m->dst, 0, 0)) < 0) mount_refuse("read-only target", m->dst, errno);
    set_attrs(p, fd, dst, 1, 1, 0, 0);
    close(fd);
    break;
  }
}

/*
 * Builds the sandbox's root as a fresh tmpfs populated only by the plan's mounts, then makes it
 * the root with pivot_root and detaches the host's root entirely, so nothing outside the plan is
 * reachable by path (not even through /proc/self/root or "..").
 */
void setup_mounts(const struct plan *p) {
  int fd;
  /* Nothing we do below may propagate back into the host's mount namespace. */
  if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) mount_refuse("cannot make / a slave", "/", errno);
  if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k") < 0)
    mount_refuse("cannot mount staging tmpfs on", STAGE, errno);
  if (mkdir(STAGE NEW, 0755) || mkdir(STAGE OLD, 0700)) mount_refuse("cannot create", STAGE NEW, errno);
  if ((fd = open(STAGE EMPTY_FILE, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0)) < 0) mount_refuse("cannot create", EMPTY_FILE, errno);
  close(fd);
  if (mount("tmpfs", STAGE NEW, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
    mount_refuse("cannot mount root tmpfs on", STAGE NEW, errno);
  if (chdir(STAGE) || syscall(SYS_pivot_root, STAGE, STAGE OLD) || chdir("/"))
    mount_refuse("cannot pivot_root into", STAGE, errno);
  for (size_t i = 0; i < p->nmounts; i++) do_mount(p, &p->mounts[i]);
  if (umount2(OLD, MNT_DETACH) < 0) mount_refuse("cannot detach", "the old root", errno);
  /* pivot_root(".", ".") stacks the staging root under the new one; detaching it leaves only the
   * planned tree (the mask file stays alive through its bind mounts). */
  if (chdir(NEW) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/"))
    mount_refuse("cannot pivot_root into", "the new root", errno);
  set_attrs(p, -1, "/", 1, 0, 0, 0);
  layer_active("mountns");
}

/* Per-pid-namespace pid_max (Linux >= 6.14) is the fork-bomb floor that works unprivileged. On
 * older kernels pid_max is global and root could write the host's value, so the kernel version is
 * checked before anything is written. */
void write_pid_max(const struct plan *p, const char *procdir) {
  char path[PLAN_MAX_STR + 64], val[16];
  int fd = -1, n, ok = 0, err = ENOSYS;
  if (!p->pid_max) return;
  if (kernel_at_least(6, 14)) {
    snprintf(path, sizeof path, "%s/sys/kernel/pid_max", procdir);
    n = snprintf(val, sizeof val, "%u", p->pid_max);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    ok = fd >= 0 && write(fd, val, (size_t)n) == n;
    err = errno;
    if (fd >= 0) close(fd);
  }
  if (ok) { layer_active("pidmax"); return; }
  if (!(p->degradable & L_PIDMAX))
    refuse("pidmax", "unavailable", "needs Linux >= 6.14, or --allow-degraded pidmax",
           "cannot set pid_max in the pid namespace: %s", strerror(err));
  layer_degraded("pidmax");
  status_line("degraded layer=pidmax reason=%s", strerror(err));
}

void bring_up_loopback(void) {
  struct ifreq ifr;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) refuse("netns", "loopback", "run `warden doctor`", "cannot query lo: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) refuse("netns", "loopback", "run `warden doctor`", "cannot bring up lo: %s", strerror(errno));
  close(s);
}

/* ---- process-level layers --------------------------------------------------------------- */

/* rlimits only ever go down: a hard limit above the current one is clamped (raising needs
 * CAP_SYS_RESOURCE in the initial namespace, which the sandbox never has). */
void apply_rlimits(const struct plan *p) {
  for (size_t i = 0; i < p->nrl; i++) {
    struct rlimit cur, want;
    if (getrlimit((int)p->rl[i].resource, &cur) < 0) refuse("rlimits", "getrlimit", "run `warden doctor`", "getrlimit %u: %s", p->rl[i].resource, strerror(errno));
    want.rlim_max = p->rl[i].hard == UINT64_MAX ? RLIM_INFINITY : p->rl[i].hard;
    want.rlim_cur = p->rl[i].soft == UINT64_MAX ? RLIM_INFINITY : p->rl[i].soft;
    if (cur.rlim_max != RLIM_INFINITY && (want.rlim_max == RLIM_INFINITY || want.rlim_max > cur.rlim_max)) want.rlim_max = cur.rlim_max;
    if (want.rlim_max != RLIM_INFINITY && (want.rlim_cur == RLIM_INFINITY || want.rlim_cur > want.rlim_max)) want.rlim_cur = want.rlim_max;
    if (setrlimit((int)p->rl[i].resource, &want) < 0)
      refuse("rlimits", "setrlimit", "run `warden doctor`", "setrlimit %u: %s", p->rl[i].resource, strerror(errno));
  }
  if (p->nrl) layer_active("rlimits");
}

/*
 * Leaves the process with no capability anywhere and no way to regain one: uid 0 inside the user
 * namespace (Warden run as root) would otherwise get a full set back on every execve. Securebits
 * first (needs CAP_SETPCAP), then the bounding set, ambient set, and finally all three sets.
 */
void drop_capabilities(void) {
  const char *fix = "run `warden doctor`";
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    refuse("nnp", "prctl", fix, "cannot set no_new_privs: %s", strerror(errno));
  layer_active("nnp");
  if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                   SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0))
    refuse("caps", "securebits", fix, "cannot lock securebits: %s", strerror(errno));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
    refuse("caps", "ambient", fix, "cannot clear ambient capabilities: %s", strerror(errno));
  for (int c = 0; c < 64; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
      refuse("caps", "bounding", fix, "cannot drop capability %d from the bounding set: %s", c, strerror(errno));
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d)) refuse("caps", "capset", fix, "capset: %s", strerror(errno));
  if (syscall(SYS_capget, &h, d) || d[0].effective | d[0].permitted | d[0].inheritable |
                                        d[1].effective | d[1].permitted | d[1].inheritable)
    refuse("caps", "verify", fix, "capabilities still present after capset");
  for (int c = 0; c < 64; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) refuse("caps", "verify", fix, "capability %d still in the bounding set", c);
  layer_active("caps");
}

static void ll_fail(const struct plan *p, const char *what, const char *path) {
  if (!(p->degradable & L_LANDLOCK))
    refuse("landlock", "install", "run `warden doctor`, or --allow-degraded landlock", "%s %s: %s", what, path, strerror(errno));
  layer_degraded("landlock");
  status_line("degraded layer=landlock reason=%s", strerror(errno));
}

/*
 * Landlock: handle every right the running ABI knows (so anything not granted is denied), grant
 * exactly the plan's rules. Requires no_new_privs (set by drop_capabilities).
 */
void apply_landlock(const struct plan *p) {
  int abi = landlock_abi();
  char fix[160];
  if (p->ll_abi_max != LL_NO_CAP && abi > (int)p->ll_abi_max) abi = (int)p->ll_abi_max;
  if (abi > 7) abi = 7; /* rights beyond ABI 7 are unknown to this helper: handle what we know */
  if (abi < (int)p->ll_min_abi) {
    snprintf(fix, sizeof fix, "upgrade to Linux >= %s with CONFIG_SECURITY_LANDLOCK and landlock in lsm=, or --allow-degraded landlock",
             p->ll_min_abi <= 7 ? ll_kernel[p->ll_min_abi] : "?");
    if (!(p->degradable & L_LANDLOCK))
      refuse("landlock", "abi-too-low", fix, "kernel ABI %d < required %u", abi, p->ll_min_abi);
    layer_degraded("landlock");
    status_line("degraded layer=landlock reason=abi-too-low abi=%d required=%u", abi, p->ll_min_abi);
    if (abi == 0) return;
  }
  struct ll_ruleset_attr attr = {ll_fs_for_abi(abi), abi >= 4 ? 3u : 0u, abi >= 6 ? p->ll_scopes : 0u};
  size_t sz = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
  int rfd = (int)syscall(__NR_landlock_create_ruleset, &attr, sz, 0);
  if (rfd < 0) { ll_fail(p, "create_ruleset", "(abi)"); return; }
  for (size_t i = 0; i < p->nllp; i++) {
    struct stat st;
    int fd = open(p->llp[i].path, O_PATH | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) continue; /* nothing there: nothing to grant */
    if (fd < 0 || fstat(fd, &st) < 0) { ll_fail(p, "open", p->llp[i].path); close(rfd); return; }
    struct ll_path_attr pa = {p->llp[i].access & attr.fs, fd};
    if (!S_ISDIR(st.st_mode)) pa.allowed &= LL_FILE_RIGHTS;
    if (pa.allowed && syscall(__NR_landlock_add_rule, rfd, 1, &pa, 0)) { ll_fail(p, "add_rule", p->llp[i].path); close(fd); close(rfd); return; }
    close(fd);
  }
  for (size_t i = 0; i < p->nlln && attr.net; i++) {
    struct ll_net_attr na = {p->lln[i].access & attr.net, p->lln[i].port};
    if (na.allowed && syscall(__NR_landlock_add_rule, rfd, 2, &na, 0)) { ll_fail(p, "add_rule", "(tcp port)"); close(rfd); return; }
  }
  if (syscall(__NR_landlock_restrict_self, rfd, abi >= 7 ? p->ll_restrict_flags : 0)) { ll_fail(p, "restrict_self", ""); close(rfd); return; }
  close(rfd);
  layer_active("landlock:%d", abi);
}

/*
 * seccomp goes last, right before execve, so the filter only has to allow what the command
 * needs (plus write/sendmsg/execve/exit for the helper's last steps). With CF_SECCOMP_NOTIFY the
 * filter is installed with SECCOMP_FILTER_FLAG_NEW_LISTENER and the listener fd is returned for
 * the payload to hand to the outer helper (SCM_RIGHTS) before it execs; WAIT_KILLABLE_RECV (5.19+)
 * keeps a held exec from being restarted by ordinary signals while the supervisor decides.
 * Returns the listener fd, or -1 when there is none (no notify planned, or seccomp degraded).
 */
int apply_seccomp(const struct plan *p) {
  if (!p->seccomp) {
    if (!(p->degradable & L_SECCOMP))
      refuse("seccomp", "no-program", "the supervisor must supply a filter for this architecture, or --allow-degraded seccomp",
             "plan has no seccomp program");
    layer_degraded("seccomp");
    return -1;
  }
  struct sock_fprog prog;
  struct sock_filter *f = malloc(p->seccomp_len);
  if (!f) refuse("seccomp", "oom", "retry", "out of memory");
  memcpy(f, p->seccomp, p->seccomp_len);
  prog.len = (unsigned short)(p->seccomp_len / 8);
  prog.filter = f;
  unsigned long flags = (p->flags & CF_SECCOMP_NOTIFY) ? SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (fd < 0 && errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags & ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
  if (fd < 0) {
    if (!(p->degradable & L_SECCOMP))
      refuse("seccomp", "install", "check CONFIG_SECCOMP_FILTER and seccomp user-notify (`warden doctor`), or --allow-degraded seccomp",
             "cannot install filter: %s", strerror(errno));
    layer_degraded("seccomp");
    return -1;
  }
  layer_active("seccomp");
  if (!(p->flags & CF_SECCOMP_NOTIFY)) return -1;
  layer_active("mediation");
  return (int)fd;
}
