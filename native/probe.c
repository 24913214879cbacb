/*
 * --probe: one line of JSON describing what this kernel and this user can do, for `warden doctor`
 * and for the planner. Probes are real attempts in throw-away child processes (a user namespace,
 * a per-namespace pid_max write), never changes to the host: the pid_max write is done as an
 * unprivileged uid, so on a kernel where pid_max is still global it fails instead of lowering
 * the host's value.
 */
#define _GNU_SOURCE
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void jstr(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static long read_long(const char *path) {
  char buf[64];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return strtol(buf, NULL, 10);
}

static void read_line(const char *path, char *out, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, out, cap - 1) : -1;
  if (fd >= 0) close(fd);
  out[n > 0 ? n : 0] = 0;
  out[strcspn(out, "\n")] = 0;
}

/* Runs fn in a forked child; returns its exit code (0 = success, else an errno), -1 if killed. */
static int in_child(int (*fn)(void)) {
  pid_t pid = fork();
  int st;
  if (pid < 0) return errno;
  if (pid == 0) _exit(fn());
  if (waitpid(pid, &st, 0) < 0) return errno;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A user namespace is only useful if we hold capabilities in it (AppArmor's restriction lets
 * the unshare succeed but strips them), so try a mount namespace inside it too. */
static int try_userns(void) {
  if (unshare(CLONE_NEWUSER) < 0) return errno;
  if (unshare(CLONE_NEWNS) < 0) return 200;
  return 0;
}

static int pidmax_grandchild(void) {
  int fd = open("/proc/sys/kernel/pid_max", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int ok = write(fd, "1000", 4) == 4;
  int err = errno;
  close(fd);
  return ok ? 0 : err;
}

static int try_pidmax(void) {
  if (getuid() == 0 && (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))) return errno;
  if (unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0) return errno;
  return in_child(pidmax_grandchild);
}

static int write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? write(fd, s, strlen(s)) : -1;
  if (fd >= 0) close(fd);
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Private directories (filesystem.private) are copy-on-write where overlayfs mounts in a user
 * namespace over a tmpfs upper layer; else they are empty. Everything here is in a throw-away mount
 * namespace, on a tmpfs of its own. */
static int try_overlay(void) {
  char map[64];
  unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return errno;
  snprintf(map, sizeof map, "0 %u 1", uid);
  if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", map)) return errno ? errno : EPERM;
  snprintf(map, sizeof map, "0 %u 1", gid);
  if (write_file("/proc/self/gid_map", map)) return errno ? errno : EPERM;
  if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 || mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k") < 0) return errno;
  if (mkdir("/tmp/l", 0700) || mkdir("/tmp/u", 0700) || mkdir("/tmp/w", 0700) || mkdir("/tmp/m", 0700)) return errno;
  if (mount("overlay", "/tmp/m", "overlay", MS_NOSUID | MS_NODEV, "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w,userxattr") < 0) return errno;
  return 0;
}

static void cgroup_json(void) {
  char line[8192], mnt[4096], path[4096], opts[4096], type[64], root[4096], dir[8192], buf[512];
  const char *ctrls[] = {"memory", "pids", "cpu"};
  char v1dir[3][8192] = {"", "", ""}, v2dir[8192] = "";
  FILE *mi = fopen("/proc/self/mountinfo", "re");
  FILE *cg = fopen("/proc/self/cgroup", "re");
  char v1mnt[3][4096] = {"", "", ""}, v1root[3][4096] = {"", "", ""}, v2mnt[4096] = "", v2root[4096] = "";
  while (mi && fgets(line, sizeof line, mi)) {
    char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
        sscanf(sep + 3, "%63s %*s %4095s", type, opts) != 2)
      continue;
    if (!strcmp(type, "cgroup2") && !v2mnt[0]) strcpy(v2mnt, mnt), strcpy(v2root, root);
    if (!strcmp(type, "cgroup"))
      for (int i = 0; i < 3; i++) {
        char list[4096], *o = list, *tok;
        snprintf(list, sizeof list, "%s", opts);
        while ((tok = strsep(&o, ",")))
          if (!strcmp(tok, ctrls[i]) && !v1mnt[i][0]) strcpy(v1mnt[i], mnt), strcpy(v1root[i], root);
      }
  }
  while (cg && fgets(line, sizeof line, cg)) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b) continue;
    *b = 0;
    snprintf(path, sizeof path, "%s", b + 1);
    path[strcspn(path, "\n")] = 0;
    const char *names = a + 1;
    if (!*names && v2mnt[0]) {
      const char *rel = strncmp(path, v2root, strlen(v2root)) ? path : path + (strcmp(v2root, "/") ? strlen(v2root) : 0);
      snprintf(v2dir, sizeof v2dir, "%s%s", v2mnt, strcmp(rel, "/") ? rel : "");
    }
    for (int i = 0; i < 3; i++) {
      char list[4096], *o = list, *tok;
      snprintf(list, sizeof list, "%s", names);
      while ((tok = strsep(&o, ",")))
        if (!strcmp(tok, ctrls[i]) && v1mnt[i][0]) {
          const char *rel = strncmp(path, v1root[i], strlen(v1root[i])) ? path : path + (strcmp(v1root[i], "/") ? strlen(v1root[i]) : 0);
          snprintf(v1dir[i], sizeof v1dir[i], "%s%s", v1mnt[i], strcmp(rel, "/") ? rel : "");
        }
    }
  }
  if (mi) fclose(mi);
  if (cg) fclose(cg);
  int nv1 = !!v1dir[0][0] + !!v1dir[1][0] + !!v1dir[2][0];
  printf(",\"cgroup\":{\"layout\":");
  jstr(v2dir[0] && nv1 ? "hybrid" : v2dir[0] ? "v2" : nv1 ? "v1" : "none");
  printf(",\"v2\":");
  if (!v2dir[0]) printf("null");
  else {
    printf("{\"dir\":");
    jstr(v2dir);
    snprintf(dir, sizeof dir, "%s/cgroup.controllers", v2dir);
    read_line(dir, buf, sizeof buf);
    printf(",\"controllers\":");
    jstr(buf);
    snprintf(dir, sizeof dir, "%s/cgroup.subtree_control", v2dir);
    read_line(dir, buf, sizeof buf);
    printf(",\"subtreeControl\":");
    jstr(buf);
    snprintf(dir, sizeof dir, "%s/cgroup.procs", v2dir);
    printf(",\"writable\":%s,\"isRoot\":%s}", access(v2dir, W_OK) == 0 && access(dir, W_OK) == 0 ? "true" : "false",
           strcmp(v2dir, v2mnt) ? "false" : "true");
  }
  printf(",\"v1\":{");
  for (int i = 0, first = 1; i < 3; i++) {
    if (!v1dir[i][0]) continue;
    printf("%s\"%s\":{\"dir\":", first ? "" : ",", ctrls[i]);
    first = 0;
    jstr(v1dir[i]);
    snprintf(dir, sizeof dir, "%s/cgroup.procs", v1dir[i]);
    printf(",\"writable\":%s", access(v1dir[i], W_OK) == 0 && access(dir, W_OK) == 0 ? "true" : "false");
    snprintf(dir, sizeof dir, "%s/memory.memsw.limit_in_bytes", v1dir[i]);
    if (i == 0) printf(",\"memsw\":%s", access(dir, F_OK) == 0 ? "true" : "false");
    printf("}");
  }
  printf("}}");
}

int run_probe(void) {
  struct utsname u;
  uname(&u);
  int real = landlock_abi(), abi = real;
  const char *cap = getenv("WARDEN_LANDLOCK_ABI_MAX");
  if (cap && *cap) {
    char *end;
    long v = strtol(cap, &end, 10);
    if (*end || v < 0) { dprintf(2, "warden: WARDEN_LANDLOCK_ABI_MAX must be a non-negative integer\n"); return 126; }
    if (v < abi) abi = (int)v;
  }
  printf("{\"helper\":1,\"kernel\":");
  jstr(u.release);
  printf(",\"machine\":");
  jstr(u.machine);
  printf(",\"uid\":%u,\"gid\":%u", (unsigned)getuid(), (unsigned)getgid());
  printf(",\"landlock\":{\"abi\":%d,\"kernelAbi\":%d}", abi, real);
  int us = in_child(try_userns);
  printf(",\"userns\":{\"ok\":%s,\"error\":", us == 0 ? "true" : "false");
  if (us == 0) printf("null");
  else jstr(us == 200 ? "no capabilities inside a new user namespace (AppArmor restriction?)" : us > 0 ? strerror(us) : "probe crashed");
  printf(",\"unprivilegedUsernsClone\":%ld,\"maxUserNamespaces\":%ld,\"apparmorRestrictUnprivilegedUserns\":%ld}",
         read_long("/proc/sys/kernel/unprivileged_userns_clone"), read_long("/proc/sys/user/max_user_namespaces"),
         read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"));
  unsigned int act = SECCOMP_RET_USER_NOTIF, kp = SECCOMP_RET_KILL_PROCESS;
  int filter = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  printf(",\"seccomp\":{\"filter\":%s,\"killProcess\":%s,\"userNotif\":%s}", filter ? "true" : "false",
         syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kp) == 0 ? "true" : "false",
         syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) == 0 ? "true" : "false");
  int pm = kernel_at_least(6, 14) ? in_child(try_pidmax) : -2;
  printf(",\"pidMaxPerNs\":{\"ok\":%s,\"error\":", pm == 0 ? "true" : "false");
  if (pm == 0) printf("null");
  else jstr(pm == -2 ? "kernel < 6.14 (pid_max is global)" : pm > 0 ? strerror(pm) : "probe crashed");
  printf("}");
  printf(",\"mountSetattr\":%s", kernel_at_least(5, 12) ? "true" : "false");
  int ov = in_child(try_overlay);
  printf(",\"overlay\":{\"ok\":%s,\"error\":", ov == 0 ? "true" : "false");
  if (ov == 0) printf("null}");
  else { jstr(ov > 0 ? strerror(ov) : "probe crashed"); printf("}"); }
  cgroup_json();
  printf("}\n");
  return 0;
}
