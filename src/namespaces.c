#include "config-host.h"
#include "namespaces.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int
ns_clone_flags (const struct moat_config *cfg)
{
  int flags = 0;
  for (int t = 0; t < MOAT_NS_COUNT; t++)
    {
      if (!cfg->ns[t].present || cfg->ns[t].path)
        continue;
      if (t == MOAT_NS_CGROUP || t == MOAT_NS_TIME)
        continue;
      flags |= ns_clone_flag (t);
    }
  return flags;
}

/* "0 4242 1, 1 200000 65536": a mapping as the helpers take it, for messages. */
static char *
format_map (const struct moat_idmap *m, size_t n)
{
  char *out = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      char *next = xasprintf ("%s%s%u %u %u", out, i ? ", " : "", m[i].container_id, m[i].host_id, m[i].size);
      free (out);
      out = next;
    }
  return out;
}

char *
ns_find_idmap_helper (const char *name)
{
  /* PATH first, as a shell would; then /usr/bin, where Debian's uidmap
   * puts them, for callers started with a bare environment. */
  const char *path = getenv ("PATH");
  cleanup_free char *dirs = xasprintf ("%s:/usr/bin", path ? path : "");
  char *save = NULL;
  for (char *d = strtok_r (dirs, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      if (*d != '/')
        continue;   /* a relative PATH entry would depend on the bundle's cwd */
      char *exe = xasprintf ("%s/%s", d, name);
      if (access (exe, X_OK) == 0)
        return exe;
      free (exe);
    }
  return NULL;
}

/* Does an unprivileged caller need a helper for this mapping? The kernel
 * lets it write only one line mapping its own effective id, size 1. */
static bool
needs_helper (const struct moat_idmap *m, size_t n, unsigned self)
{
  if (geteuid () == 0 || n == 0)
    return false;
  return n > 1 || m[0].size != 1 || m[0].host_id != self;
}

/* *EXE: HELPER, for a mapping the caller cannot write itself; or an error
 * saying what is missing. */
static int
find_needed_helper (const char *helper, const char *what, const struct moat_idmap *m, size_t n,
                    char **exe, moat_error **err)
{
  *exe = ns_find_idmap_helper (helper);
  if (*exe)
    return 0;
  cleanup_free char *mapping = format_map (m, n);
  return moat_error_set (err, 0, "linux.%sMappings: %s (more than your own %s) needs %s "
                         "(package uidmap), not found in PATH or /usr/bin", what, mapping, what, helper);
}

int
ns_validate (const struct moat_config *cfg, moat_error **err)
{
  for (int t = 0; t < MOAT_NS_COUNT; t++)
    {
      const struct moat_namespace *n = &cfg->ns[t];
      if (!n->present || n->path == NULL)
        continue;
      /* O_NONBLOCK: a FIFO given as a namespace path must not block
       * create (the fstatfs below refuses it); nsfs ignores the flag. */
      cleanup_close int fd = open (n->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
      if (fd < 0)
        {
          cleanup_free char *shown = str_printable (n->path);
          return moat_error_set (err, errno, "linux.namespaces: %s namespace path `%s`",
                                 ns_type_name (t), shown);
        }
      /* Make sure the file really is a namespace: setns checks it too, but
       * only in the child, too late for a clear error. */
      struct statfs sfs;
      if (fstatfs (fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
        {
          cleanup_free char *shown = str_printable (n->path);
          return moat_error_set (err, 0, "linux.namespaces: %s namespace path `%s` is not a namespace file",
                                 ns_type_name (t), shown);
        }
    }
  /* Without a mount namespace the container lives in the caller's (a
   * missing namespace type is inherited, runtime-spec config-linux.md):
   * its root is a chroot, and moat makes no mount there, as every one would
   * be the caller's, left behind on the host after the container (runc and
   * crun make them anyway). What needs a mount is refused, by name. */
  if (!cfg->ns[MOAT_NS_MNT].present)
    {
      const char *what = cfg->n_mounts ? "mounts"
                         : cfg->masked_paths && *cfg->masked_paths ? "linux.maskedPaths"
                         : cfg->readonly_paths && *cfg->readonly_paths ? "linux.readonlyPaths"
                         : cfg->root_readonly ? "root.readonly"
                         : cfg->n_devices ? "linux.devices"
                         : cfg->terminal ? "process.terminal"
                         : cfg->rootfs_propagation ? "linux.rootfsPropagation" : NULL;
      if (what)
        return moat_error_set (err, 0, "%s: needs a mount namespace (without one, its mounts would be made in "
                               "the caller's and stay there); add {\"type\": \"mount\"} to linux.namespaces",
                               what);
    }
  /* A missing helper is known now, before a state directory or an init
   * exists; whether it accepts the ranges only when it runs. */
  if (cfg->ns[MOAT_NS_USER].present && cfg->ns[MOAT_NS_USER].path == NULL)
    {
      cleanup_free char *u = NULL, *g = NULL;
      if (needs_helper (cfg->uid_mappings, cfg->n_uid_mappings, geteuid ())
          && find_needed_helper ("newuidmap", "uid", cfg->uid_mappings, cfg->n_uid_mappings, &u, err) < 0)
        return -1;
      if (needs_helper (cfg->gid_mappings, cfg->n_gid_mappings, getegid ())
          && find_needed_helper ("newgidmap", "gid", cfg->gid_mappings, cfg->n_gid_mappings, &g, err) < 0)
        return -1;
    }
  /* A sysctl is written through /proc/sys in the container's namespaces:
   * only the namespaced ones, and only with their namespace, or the write
   * would change the host (kernel.core_pattern is the classic). */
  for (size_t i = 0; i < cfg->n_sysctl; i++)
    {
      const char *k = cfg->sysctl[i].key;
      int need = -1;
      /* Namespaced, but the OCI hostname field owns it (runc refuses it
       * the same way; kernel.domainname has no field of its own). */
      if (strcmp (k, "kernel.hostname") == 0)
        return moat_error_set (err, 0, "linux.sysctl: `kernel.hostname` is not allowed: it conflicts with the "
                               "OCI `hostname` field; set that instead");
      if (strncmp (k, "net.", 4) == 0)
        need = MOAT_NS_NET;
      else if (strncmp (k, "kernel.shm", 10) == 0 || strncmp (k, "kernel.msg", 10) == 0
               || strcmp (k, "kernel.sem") == 0 || strncmp (k, "fs.mqueue.", 10) == 0)
        need = MOAT_NS_IPC;
      else if (strcmp (k, "kernel.domainname") == 0)
        need = MOAT_NS_UTS;
      if (need < 0)
        {
          cleanup_free char *shown = str_printable (k);
          return moat_error_set (err, 0, "linux.sysctl: `%s` is not namespaced: setting it would change the host", shown);
        }
      if (!cfg->ns[need].present)
        {
          cleanup_free char *shown = str_printable (k);
          return moat_error_set (err, 0, "linux.sysctl: `%s` needs a %s namespace", shown, ns_type_name (need));
        }
    }
  if (cfg->n_time_offsets && (!cfg->ns[MOAT_NS_TIME].present || cfg->ns[MOAT_NS_TIME].path))
    return moat_error_set (err, 0, "linux.timeOffsets: needs a new time namespace");
  return 0;
}

static int
setns_path (const char *path, int nstype, const char *what, moat_error **err)
{
  /* Never blocks on a FIFO swapped in since the check (setns refuses it). */
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "open %s namespace `%s`", what, shown);
    }
  if (setns (fd, nstype) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "join %s namespace `%s`", what, shown);
    }
  return 0;
}

int
ns_parent_prepare (const struct moat_config *cfg, struct ns_saved *saved, moat_error **err)
{
  saved->pid_fd = saved->time_fd = -1;
  const struct moat_namespace *pid = &cfg->ns[MOAT_NS_PID], *tns = &cfg->ns[MOAT_NS_TIME];
  if (pid->present && pid->path)
    {
      saved->pid_fd = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
      if (saved->pid_fd < 0)
        return moat_error_set (err, errno, "open /proc/self/ns/pid");
      if (setns_path (pid->path, CLONE_NEWPID, "pid", err) < 0)
        return -1;
    }
  if (tns->present)
    {
      saved->time_fd = open ("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
      if (saved->time_fd < 0)
        return moat_error_set (err, errno, "open /proc/self/ns/time (time namespaces need Linux 5.6)");
      if (tns->path)
        return setns_path (tns->path, CLONE_NEWTIME, "time", err);
      if (unshare (CLONE_NEWTIME) < 0)
        return moat_error_set (err, errno, "unshare time namespace");
      /* Offsets can only be written while no process lives in the new
       * namespace, i.e. now, before the init is cloned into it. */
      for (size_t i = 0; i < cfg->n_time_offsets; i++)
        {
          const struct moat_time_offset *o = &cfg->time_offsets[i];
          char line[96];
          int n = snprintf (line, sizeof line, "%d %lld %u\n", o->clock, (long long) o->secs, o->nanosecs);
          if (write_file_at (AT_FDCWD, "/proc/self/timens_offsets", line, (size_t) n, err) < 0)
            return moat_error_wrap (err, "linux.timeOffsets");
        }
    }
  return 0;
}

int
ns_parent_restore (struct ns_saved *saved, moat_error **err)
{
  int ret = 0;
  if (saved->pid_fd >= 0)
    {
      if (setns (saved->pid_fd, CLONE_NEWPID) < 0)
        ret = moat_error_set (err, errno, "restore pid namespace");
      close (saved->pid_fd);
      saved->pid_fd = -1;
    }
  if (saved->time_fd >= 0)
    {
      if (setns (saved->time_fd, CLONE_NEWTIME) < 0 && ret == 0)
        ret = moat_error_set (err, errno, "restore time namespace");
      close (saved->time_fd);
      saved->time_fd = -1;
    }
  return ret;
}

static int
write_map (pid_t pid, const char *file, const struct moat_idmap *m, size_t n, moat_error **err)
{
  char buf[4096];
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    {
      int w = snprintf (buf + off, sizeof buf - off, "%u %u %u\n",
                        m[i].container_id, m[i].host_id, m[i].size);
      if (w < 0 || (size_t) w >= sizeof buf - off)
        return moat_error_set (err, 0, "linux.%s: too many mappings", file);
      off += (size_t) w;
    }
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  if (write_file_at (AT_FDCWD, path, buf, off, err) < 0)
    return moat_error_wrap (err, "invalid %s mapping", strncmp (file, "uid", 3) == 0 ? "uid" : "gid");
  return 0;
}

/* Run newuidmap or newgidmap on PID with the mapping; its stderr goes into
 * the error, which names the helper and the mapping. */
static int
run_idmap_helper (const char *helper, const char *what, pid_t pid, const struct moat_idmap *m,
                  size_t n, moat_error **err)
{
  cleanup_free char *exe = NULL;
  if (find_needed_helper (helper, what, m, n, &exe, err) < 0)
    return -1;
  cleanup_free char *mapping = format_map (m, n);
  cleanup_strv char **argv = xmalloc0 ((3 * n + 3) * sizeof *argv);
  size_t k = 0;
  argv[k++] = xstrdup (helper);
  argv[k++] = xasprintf ("%d", (int) pid);
  for (size_t i = 0; i < n; i++)
    {
      argv[k++] = xasprintf ("%u", m[i].container_id);
      argv[k++] = xasprintf ("%u", m[i].host_id);
      argv[k++] = xasprintf ("%u", m[i].size);
    }

  int pipefd[2];
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return moat_error_set (err, errno, "%s: pipe", helper);
  pid_t child = fork ();
  if (child < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      return moat_error_set (err, errno, "%s: fork", helper);
    }
  if (child == 0)
    {
      /* `moat run` blocks the signals it forwards; the helper gets a
       * clean slate, no stdin or stdout, and its stderr is ours to quote. */
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      /* Both moved above 2 first: a moat started with 0, 1 or 2 closed
       * may hold them there, and dup2 onto itself would keep CLOEXEC. */
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      int null_hi = null < 0 ? -1 : fcntl (null, F_DUPFD_CLOEXEC, 3);
      int err_hi = fcntl (pipefd[1], F_DUPFD_CLOEXEC, 3);
      if (null_hi < 0 || err_hi < 0 || dup2 (null_hi, 0) < 0 || dup2 (null_hi, 1) < 0
          || dup2 (err_hi, 2) < 0)
        _exit (127);
      execv (exe, argv);
      dprintf (2, "exec %s: %s", exe, strerror (errno));
      _exit (127);
    }
  close (pipefd[1]);
  /* Keep the start of what it says, drain the rest so it never blocks. */
  char msg[512];
  size_t len = 0;
  for (;;)
    {
      char buf[512];
      ssize_t r = read (pipefd[0], buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      size_t take = (size_t) r < sizeof msg - 1 - len ? (size_t) r : sizeof msg - 1 - len;
      memcpy (msg + len, buf, take);
      len += take;
    }
  close (pipefd[0]);
  int status = 0;
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error_set (err, errno, "%s: waitpid", helper);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;

  /* One line: trailing newlines cut, inner ones joined. */
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
    len--;
  msg[len] = '\0';
  for (char *c = msg; *c; c++)
    if (*c == '\n')
      *c = ' ';
  char how[48];
  if (WIFSIGNALED (status))
    snprintf (how, sizeof how, "was killed by signal %d", WTERMSIG (status));
  else
    snprintf (how, sizeof how, "failed with exit status %d", WEXITSTATUS (status));
  return moat_error_set (err, 0, "linux.%sMappings: %s: %s %s%s%s", what, mapping, exe, how,
                         len ? ": " : "", msg);
}

int
ns_write_id_maps (const struct moat_config *cfg, pid_t pid, moat_error **err)
{
  if (!cfg->ns[MOAT_NS_USER].present || cfg->ns[MOAT_NS_USER].path)
    return 0;
  if (needs_helper (cfg->uid_mappings, cfg->n_uid_mappings, geteuid ()))
    {
      if (run_idmap_helper ("newuidmap", "uid", pid, cfg->uid_mappings, cfg->n_uid_mappings, err) < 0)
        return -1;
    }
  else if (write_map (pid, "uid_map", cfg->uid_mappings, cfg->n_uid_mappings, err) < 0)
    return -1;
  /* newgidmap leaves setgroups allowed when the ranges come from
   * /etc/subgid: the administrator granted them, so additionalGids work. */
  if (needs_helper (cfg->gid_mappings, cfg->n_gid_mappings, getegid ()))
    return run_idmap_helper ("newgidmap", "gid", pid, cfg->gid_mappings, cfg->n_gid_mappings, err);
  /* An unprivileged writer may only map its own gid, and only after
   * setgroups is denied (CVE-2014-8989): dropping a group could otherwise
   * grant what the group was denied. Root keeps setgroups usable. */
  if (geteuid () != 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/setgroups", (int) pid);
      if (write_file_at (AT_FDCWD, path, "deny", 4, err) < 0)
        return -1;
    }
  return write_map (pid, "gid_map", cfg->gid_mappings, cfg->n_gid_mappings, err);
}

int
ns_child_join (const struct moat_config *cfg, moat_error **err)
{
  static const int order[] = { MOAT_NS_USER, MOAT_NS_IPC, MOAT_NS_UTS, MOAT_NS_NET,
                               MOAT_NS_CGROUP, MOAT_NS_MNT };
  for (size_t i = 0; i < ARRAY_SIZE (order); i++)
    {
      const struct moat_namespace *n = &cfg->ns[order[i]];
      if (n->present && n->path
          && setns_path (n->path, ns_clone_flag (order[i]), ns_type_name (order[i]), err) < 0)
        return -1;
    }
  return 0;
}

int
ns_child_unshare_late (const struct moat_config *cfg, moat_error **err)
{
  const struct moat_namespace *n = &cfg->ns[MOAT_NS_CGROUP];
  if (n->present && n->path == NULL && unshare (CLONE_NEWCGROUP) < 0)
    return moat_error_set (err, errno, "unshare cgroup namespace");
  return 0;
}

int
ns_child_loopback_up (const struct moat_config *cfg, moat_error **err)
{
  /* A new network namespace starts with lo down: 127.0.0.1 would not
   * answer. runc and crun bring it up (runc's "loopback" network). */
  const struct moat_namespace *n = &cfg->ns[MOAT_NS_NET];
  if (!n->present || n->path)
    return 0;
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return moat_error_set (err, errno, "network namespace: socket to bring lo up");
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return moat_error_set (err, errno, "network namespace: read the flags of lo");
  if (ifr.ifr_flags & IFF_UP)
    return 0;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return moat_error_set (err, errno, "network namespace: bring lo up");
  return 0;
}

/* A decimal number of 32 bits and nothing else (no sign, no spaces). */
static bool
parse_u32 (const char *s, uint32_t *out)
{
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno || *end || v > UINT32_MAX)
    return false;
  *out = (uint32_t) v;
  return true;
}

bool
ns_subid_range (const char *file, const char *user, uid_t uid, uint32_t *start, uint32_t *count)
{
  cleanup_file FILE *f = fopen (file, "re");
  if (f == NULL)
    return false;
  char num[16];
  snprintf (num, sizeof num, "%u", (unsigned) uid);
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    {
      line[strcspn (line, "\n")] = '\0';
      char *first = strchr (line, ':');
      char *second = first ? strchr (first + 1, ':') : NULL;
      if (second == NULL)
        continue;
      *first = *second = '\0';
      /* shadow's helpers accept the owner by name or by number: so do we. */
      if (strcmp (line, num) != 0 && (user == NULL || strcmp (line, user) != 0))
        continue;
      uint32_t s, c;
      if (!parse_u32 (first + 1, &s) || !parse_u32 (second + 1, &c) || c == 0
          || (uint64_t) s + c > UINT32_MAX)
        continue;
      *start = s;
      *count = c;
      return true;
    }
  return false;
}

bool
ns_rootless_idmaps (uid_t uid, gid_t gid, struct moat_idmap uidmap[2], size_t *n_uid,
                    struct moat_idmap gidmap[2], size_t *n_gid)
{
  uidmap[0] = (struct moat_idmap) { .container_id = 0, .host_id = uid, .size = 1 };
  gidmap[0] = (struct moat_idmap) { .container_id = 0, .host_id = gid, .size = 1 };
  *n_uid = *n_gid = 1;

  char nb[256];
  const char *name = user_name (uid, nb, sizeof nb);
  uint32_t us, uc, gs, gc;
  /* Both ranges and both helpers, or neither: a container with 65536 uids
   * and one gid would fail on its first chgrp. */
  if (!ns_subid_range ("/etc/subuid", name, uid, &us, &uc)
      || !ns_subid_range ("/etc/subgid", name, uid, &gs, &gc))
    return false;
  cleanup_free char *nu = ns_find_idmap_helper ("newuidmap");
  cleanup_free char *ng = ns_find_idmap_helper ("newgidmap");
  if (nu == NULL || ng == NULL)
    return false;
  /* Container ids 1..size, and 2^32-1 is no id at all. */
  if (uc > UINT32_MAX - 1)
    uc = UINT32_MAX - 1;
  if (gc > UINT32_MAX - 1)
    gc = UINT32_MAX - 1;
  uidmap[1] = (struct moat_idmap) { .container_id = 1, .host_id = us, .size = uc };
  gidmap[1] = (struct moat_idmap) { .container_id = 1, .host_id = gs, .size = gc };
  *n_uid = *n_gid = 2;
  return true;
}
