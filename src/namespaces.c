#include "config-host.h"
#include "namespaces.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

int
ns_validate (const struct moat_config *cfg, moat_error **err)
{
  for (int t = 0; t < MOAT_NS_COUNT; t++)
    {
      const struct moat_namespace *n = &cfg->ns[t];
      if (!n->present || n->path == NULL)
        continue;
      cleanup_close int fd = open (n->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return moat_error_set (err, errno, "linux.namespaces: %s namespace path `%s`",
                               ns_type_name (t), n->path);
      /* Make sure the file really is a namespace: setns checks it too, but
       * only in the child, too late for a clear error. */
      struct statfs sfs;
      if (fstatfs (fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
        return moat_error_set (err, 0, "linux.namespaces: %s namespace path `%s` is not a namespace file",
                               ns_type_name (t), n->path);
    }
  if (!cfg->ns[MOAT_NS_MNT].present)
    return moat_error_set (err, 0, "linux.namespaces: a mount namespace is required");
  /* A sysctl is written through /proc/sys in the container's namespaces:
   * only the namespaced ones, and only with their namespace, or the write
   * would change the host (kernel.core_pattern is the classic). */
  for (size_t i = 0; i < cfg->n_sysctl; i++)
    {
      const char *k = cfg->sysctl[i].key;
      int need = -1;
      if (strncmp (k, "net.", 4) == 0)
        need = MOAT_NS_NET;
      else if (strncmp (k, "kernel.shm", 10) == 0 || strncmp (k, "kernel.msg", 10) == 0
               || strcmp (k, "kernel.sem") == 0 || strncmp (k, "fs.mqueue.", 10) == 0)
        need = MOAT_NS_IPC;
      else if (strcmp (k, "kernel.hostname") == 0 || strcmp (k, "kernel.domainname") == 0)
        need = MOAT_NS_UTS;
      if (need < 0)
        return moat_error_set (err, 0, "linux.sysctl: `%s` is not namespaced: setting it would change the host", k);
      if (!cfg->ns[need].present)
        return moat_error_set (err, 0, "linux.sysctl: `%s` needs a %s namespace", k, ns_type_name (need));
    }
  if (cfg->n_time_offsets && (!cfg->ns[MOAT_NS_TIME].present || cfg->ns[MOAT_NS_TIME].path))
    return moat_error_set (err, 0, "linux.timeOffsets: needs a new time namespace");
  return 0;
}

static int
setns_path (const char *path, int nstype, const char *what, moat_error **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "open %s namespace `%s`", what, path);
  if (setns (fd, nstype) < 0)
    return moat_error_set (err, errno, "join %s namespace `%s`", what, path);
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

int
ns_write_id_maps (const struct moat_config *cfg, pid_t pid, moat_error **err)
{
  if (!cfg->ns[MOAT_NS_USER].present || cfg->ns[MOAT_NS_USER].path)
    return 0;
  /* An unprivileged writer may only map its own ids, and only after
   * setgroups is denied (CVE-2014-8989). Root keeps setgroups usable. */
  if (geteuid () != 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/setgroups", (int) pid);
      if (write_file_at (AT_FDCWD, path, "deny", 4, err) < 0)
        return -1;
    }
  if (write_map (pid, "uid_map", cfg->uid_mappings, cfg->n_uid_mappings, err) < 0)
    return -1;
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
