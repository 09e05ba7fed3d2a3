#include "config-host.h"
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "json.h"
#include "mountopts.h"
#include "procattr.h"
#include "util.h"

#ifndef CLONE_NEWCGROUP
# define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
# define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_LAZYTIME
# define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
# define MS_NOSYMFOLLOW 256
#endif
#ifndef CLOCK_BOOTTIME
# define CLOCK_BOOTTIME 7
#endif

#define CONFIG_MAX_SIZE (16u * 1024 * 1024)

/* ---- namespaces -------------------------------------------------------- */

static const struct
{
  const char *oci, *proc;
  int flag;
} ns_table[MOAT_NS_COUNT] = {
  [MOAT_NS_PID] = { "pid", "pid", CLONE_NEWPID },
  [MOAT_NS_NET] = { "network", "net", CLONE_NEWNET },
  [MOAT_NS_MNT] = { "mount", "mnt", CLONE_NEWNS },
  [MOAT_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
  [MOAT_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
  [MOAT_NS_USER] = { "user", "user", CLONE_NEWUSER },
  [MOAT_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
  [MOAT_NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

int
ns_type_from_name (const char *name)
{
  if (name == NULL)
    return -1;
  for (int i = 0; i < MOAT_NS_COUNT; i++)
    if (strcmp (ns_table[i].oci, name) == 0)
      return i;
  return -1;
}

const char *
ns_type_name (int type)
{
  return type >= 0 && type < MOAT_NS_COUNT ? ns_table[type].oci : NULL;
}

int
ns_clone_flag (int type)
{
  return type >= 0 && type < MOAT_NS_COUNT ? ns_table[type].flag : 0;
}

const char *
ns_proc_name (int type)
{
  return type >= 0 && type < MOAT_NS_COUNT ? ns_table[type].proc : NULL;
}

/* ---- tables ------------------------------------------------------------ */

static const struct
{
  const char *name;
  int resource;
} rlimit_table[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

/* The mount(2) flags, as runc translates them.  clear: the option removes
 * the flag ("rw" clears MS_RDONLY). */
static const struct
{
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flag_table[] = {
  { "acl", false, MS_POSIXACL },
  { "async", true, MS_SYNCHRONOUS },
  { "atime", true, MS_NOATIME },
  { "bind", false, MS_BIND },
  { "defaults", false, 0 },
  { "dev", true, MS_NODEV },
  { "diratime", true, MS_NODIRATIME },
  { "dirsync", false, MS_DIRSYNC },
  { "exec", true, MS_NOEXEC },
  { "iversion", false, MS_I_VERSION },
  { "lazytime", false, MS_LAZYTIME },
  { "loud", true, MS_SILENT },
  { "mand", false, MS_MANDLOCK },
  { "noacl", true, MS_POSIXACL },
  { "noatime", false, MS_NOATIME },
  { "nodev", false, MS_NODEV },
  { "nodiratime", false, MS_NODIRATIME },
  { "noexec", false, MS_NOEXEC },
  { "noiversion", true, MS_I_VERSION },
  { "nolazytime", true, MS_LAZYTIME },
  { "nomand", true, MS_MANDLOCK },
  { "norelatime", true, MS_RELATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "nosuid", false, MS_NOSUID },
  { "nosymfollow", false, MS_NOSYMFOLLOW },
  { "rbind", false, MS_BIND | MS_REC },
  { "relatime", false, MS_RELATIME },
  { "remount", false, MS_REMOUNT },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "silent", false, MS_SILENT },
  { "strictatime", false, MS_STRICTATIME },
  { "suid", true, MS_NOSUID },
  { "symfollow", true, MS_NOSYMFOLLOW },
  { "sync", false, MS_SYNCHRONOUS },
};

static const struct
{
  const char *name;
  unsigned long flag;
} propagation_table[] = {
  { "private", MS_PRIVATE },
  { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },
  { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },
  { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE },
  { "runbindable", MS_UNBINDABLE | MS_REC },
};

static const char *const hook_stage_names[MOAT_HOOK_STAGES] = {
  [MOAT_HOOK_PRESTART] = "prestart",
  [MOAT_HOOK_CREATE_RUNTIME] = "createRuntime",
  [MOAT_HOOK_CREATE_CONTAINER] = "createContainer",
  [MOAT_HOOK_START_CONTAINER] = "startContainer",
  [MOAT_HOOK_POSTSTART] = "poststart",
  [MOAT_HOOK_POSTSTOP] = "poststop",
};

static const char *const rootfs_propagations[] = {
  "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
};

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
config_mount_option_names (void)
{
  size_t n = 0, ext = 0;
  while (mountopts_names[ext])
    ext++;
  char **v = xmalloc0 ((ARRAY_SIZE (mount_flag_table) + ARRAY_SIZE (propagation_table) + ext + 1) * sizeof (char *));
  for (size_t k = 0; k < ARRAY_SIZE (mount_flag_table); k++)
    v[n++] = xstrdup (mount_flag_table[k].name);
  for (size_t k = 0; k < ARRAY_SIZE (propagation_table); k++)
    v[n++] = xstrdup (propagation_table[k].name);
  for (size_t k = 0; k < ext; k++)
    v[n++] = xstrdup (mountopts_names[k]);
  qsort (v, n, sizeof *v, cmp_str);
  return v;
}

/* ---- freeing ----------------------------------------------------------- */

static void
free_caps (struct moat_caps *c)
{
  strv_free (c->bounding);
  strv_free (c->effective);
  strv_free (c->inheritable);
  strv_free (c->permitted);
  strv_free (c->ambient);
}

void
config_free (struct moat_config *cfg)
{
  if (cfg == NULL)
    return;
  free (cfg->oci_version);
  free (cfg->root_path);
  strv_free (cfg->args);
  strv_free (cfg->env);
  free (cfg->cwd);
  free (cfg->additional_gids);
  free_caps (&cfg->caps);
  for (size_t i = 0; i < cfg->n_rlimits; i++)
    free (cfg->rlimits[i].name);
  free (cfg->rlimits);
  free (cfg->exec_cpu_initial);
  free (cfg->exec_cpu_final);
  free (cfg->mempolicy_nodes);
  free (cfg->apparmor_profile);
  free (cfg->selinux_label);
  free (cfg->hostname);
  free (cfg->domainname);
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      struct moat_mount *m = &cfg->mounts[i];
      free (m->destination);
      free (m->type);
      free (m->source);
      strv_free (m->options);
      free (m->data);
      free (m->uid_mappings);
      free (m->gid_mappings);
    }
  free (cfg->mounts);
  for (int s = 0; s < MOAT_HOOK_STAGES; s++)
    {
      for (size_t i = 0; i < cfg->n_hooks[s]; i++)
        {
          free (cfg->hooks[s][i].path);
          strv_free (cfg->hooks[s][i].args);
          strv_free (cfg->hooks[s][i].env);
        }
      free (cfg->hooks[s]);
    }
  strv_free (cfg->annotation_keys);
  strv_free (cfg->annotation_values);
  for (int i = 0; i < MOAT_NS_COUNT; i++)
    free (cfg->ns[i].path);
  free (cfg->uid_mappings);
  free (cfg->gid_mappings);
  free (cfg->time_offsets);
  for (size_t i = 0; i < cfg->n_devices; i++)
    free (cfg->devices[i].path);
  free (cfg->devices);
  free (cfg->cgroups_path);
  strv_free (cfg->masked_paths);
  strv_free (cfg->readonly_paths);
  for (size_t i = 0; i < cfg->n_sysctl; i++)
    {
      free (cfg->sysctl[i].key);
      free (cfg->sysctl[i].value);
    }
  free (cfg->sysctl);
  free (cfg->rootfs_propagation);
  free (cfg->mount_label);
  json_free (cfg->tree);
  free (cfg);
}

/* ---- parsing ----------------------------------------------------------- */

struct pctx
{
  const char *doc;
  moat_error **err;
  struct moat_config *cfg;
};

#define TRY(expr) do { if ((expr) < 0) return -1; } while (0)

/* Element i of array arr: its path and a check that it is an object. */
static int
element_object (struct pctx *c, yajl_val arr, size_t i, const char *arr_path, char **path)
{
  *path = json_path_index (arr_path, i);
  return json_as_object (arr->u.array.values[i], c->doc, *path, c->err);
}

/* "/dev//null", "/mnt/x/": the same path as "/dev/null" and "/mnt/x" for
 * everything that compares them (a /dev bind, a device overriding a
 * default one, the audit's mount table), as runc cleans them. */
static void
clean_in_place (char **path)
{
  char *c = path_clean (*path);
  free (*path);
  *path = c;
}

static int
require_absolute (struct pctx *c, const char *value, const char *parent, const char *key)
{
  if (value == NULL || value[0] == '/')
    return 0;
  cleanup_free char *p = json_path_key (parent, key);
  return json_error (c->err, c->doc, p, "must be an absolute path");
}

static int
parse_uid_value (struct pctx *c, yajl_val obj, const char *parent, const char *key, uint32_t *out)
{
  uint32_t v = *out;
  int r = json_get_uint32 (obj, key, c->doc, parent, &v, false, c->err);
  if (r <= 0)
    return r;
  /* (uid_t) -1 means "unchanged" to setresuid(2): it would leave the
   * process with the runtime's ids. */
  if (v == UINT32_MAX)
    {
      cleanup_free char *p = json_path_key (parent, key);
      return json_error (c->err, c->doc, p, "4294967295 is not a valid id");
    }
  *out = v;
  return 1;
}

static int
parse_user (struct pctx *c, yajl_val user)
{
  struct moat_config *cfg = c->cfg;
  const char *P = "process.user";
  uint32_t uid = 0, gid = 0, umask_v = 0;
  TRY (parse_uid_value (c, user, P, "uid", &uid));
  TRY (parse_uid_value (c, user, P, "gid", &gid));
  cfg->uid = uid;
  cfg->gid = gid;
  int r = json_get_uint32 (user, "umask", c->doc, P, &umask_v, false, c->err);
  TRY (r);
  if (r > 0)
    {
      if (umask_v > 0777)
        return json_error (c->err, c->doc, "process.user.umask", "must be at most 0777 (511)");
      cfg->has_umask = true;
      cfg->umask = (mode_t) umask_v;
    }
  yajl_val gids;
  r = json_get_array (user, "additionalGids", c->doc, P, &gids, false, c->err);
  TRY (r);
  if (r > 0)
    {
      size_t n = gids->u.array.len;
      cfg->additional_gids = xmalloc0 ((n ? n : 1) * sizeof (gid_t));
      for (size_t i = 0; i < n; i++)
        {
          cleanup_free char *p = json_path_index ("process.user.additionalGids", i);
          uint32_t g;
          TRY (json_as_uint32 (gids->u.array.values[i], c->doc, p, &g, c->err));
          if (g == UINT32_MAX)
            return json_error (c->err, c->doc, p, "4294967295 is not a valid id");
          cfg->additional_gids[i] = g;
          cfg->n_additional_gids = i + 1;
        }
    }
  return 0;
}

static int
parse_rlimits (struct pctx *c, yajl_val arr)
{
  struct moat_config *cfg = c->cfg;
  size_t n = arr->u.array.len;
  cfg->rlimits = xmalloc0 ((n ? n : 1) * sizeof *cfg->rlimits);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *p = NULL;
      yajl_val o = arr->u.array.values[i];
      TRY (element_object (c, arr, i, "process.rlimits", &p));
      cleanup_free char *type = NULL;
      TRY (json_get_string (o, "type", c->doc, p, &type, true, c->err));
      int resource = -1;
      for (size_t k = 0; k < ARRAY_SIZE (rlimit_table); k++)
        if (strcmp (rlimit_table[k].name, type) == 0)
          resource = rlimit_table[k].resource;
      cleanup_free char *tp = json_path_key (p, "type");
      if (resource < 0)
        {
          cleanup_free char *shown = json_printable (type);
          return json_error (c->err, c->doc, tp, "unknown rlimit `%s`", shown);
        }
      for (size_t k = 0; k < cfg->n_rlimits; k++)
        if (cfg->rlimits[k].resource == resource)
          return json_error (c->err, c->doc, tp, "duplicate rlimit `%s`", type);
      uint64_t soft = 0, hard = 0;
      TRY (json_get_uint64 (o, "soft", c->doc, p, &soft, true, c->err));
      TRY (json_get_uint64 (o, "hard", c->doc, p, &hard, true, c->err));
      if (soft > hard)
        return json_error (c->err, c->doc, p, "soft limit %llu exceeds hard limit %llu",
                           (unsigned long long) soft, (unsigned long long) hard);
      struct moat_rlimit *rl = &cfg->rlimits[cfg->n_rlimits++];
      rl->resource = resource;
      rl->name = steal_pointer (&type);
      rl->soft = soft;
      rl->hard = hard;
    }
  return 0;
}

static int
parse_process (struct pctx *c, yajl_val proc)
{
  struct moat_config *cfg = c->cfg;
  const char *P = "process";
  int r;
  cfg->has_process = true;

  TRY (json_get_bool (proc, "terminal", c->doc, P, &cfg->terminal, false, c->err));

  yajl_val cs;
  TRY (r = json_get_object (proc, "consoleSize", c->doc, P, &cs, false, c->err));
  if (r > 0)
    {
      TRY (json_get_uint32 (cs, "height", c->doc, "process.consoleSize", &cfg->console_height, true, c->err));
      TRY (json_get_uint32 (cs, "width", c->doc, "process.consoleSize", &cfg->console_width, true, c->err));
    }

  yajl_val user;
  TRY (r = json_get_object (proc, "user", c->doc, P, &user, false, c->err));
  if (r > 0)
    TRY (parse_user (c, user));

  TRY (json_get_strv (proc, "args", c->doc, P, &cfg->args, true, c->err));
  if (cfg->args[0] == NULL)
    return json_error (c->err, c->doc, "process.args", "must not be empty");
  TRY (json_get_strv (proc, "env", c->doc, P, &cfg->env, false, c->err));
  TRY (json_get_string (proc, "cwd", c->doc, P, &cfg->cwd, true, c->err));
  TRY (require_absolute (c, cfg->cwd, P, "cwd"));

  yajl_val caps;
  TRY (r = json_get_object (proc, "capabilities", c->doc, P, &caps, false, c->err));
  if (r > 0)
    {
      const char *CP = "process.capabilities";
      cfg->has_caps = true;
      TRY (json_get_strv (caps, "bounding", c->doc, CP, &cfg->caps.bounding, false, c->err));
      TRY (json_get_strv (caps, "effective", c->doc, CP, &cfg->caps.effective, false, c->err));
      TRY (json_get_strv (caps, "inheritable", c->doc, CP, &cfg->caps.inheritable, false, c->err));
      TRY (json_get_strv (caps, "permitted", c->doc, CP, &cfg->caps.permitted, false, c->err));
      TRY (json_get_strv (caps, "ambient", c->doc, CP, &cfg->caps.ambient, false, c->err));
    }

  yajl_val rl;
  TRY (r = json_get_array (proc, "rlimits", c->doc, P, &rl, false, c->err));
  if (r > 0)
    TRY (parse_rlimits (c, rl));

  TRY (json_get_bool (proc, "noNewPrivileges", c->doc, P, &cfg->no_new_privileges, false, c->err));

  int32_t oom = 0;
  TRY (r = json_get_int32 (proc, "oomScoreAdj", c->doc, P, &oom, false, c->err));
  if (r > 0)
    {
      if (oom < -1000 || oom > 1000)
        return json_error (c->err, c->doc, "process.oomScoreAdj", "must be between -1000 and 1000");
      cfg->has_oom_score_adj = true;
      cfg->oom_score_adj = oom;
    }
  TRY (json_get_string (proc, "apparmorProfile", c->doc, P, &cfg->apparmor_profile, false, c->err));
  TRY (json_get_string (proc, "selinuxLabel", c->doc, P, &cfg->selinux_label, false, c->err));

  yajl_val io;
  TRY (r = json_get_object (proc, "ioPriority", c->doc, P, &io, false, c->err));
  if (r > 0)
    {
      static const char *const classes[] = { NULL, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
      cleanup_free char *cls = NULL;
      int32_t level = 0;
      TRY (json_get_string (io, "class", c->doc, "process.ioPriority", &cls, true, c->err));
      TRY (json_get_int32 (io, "priority", c->doc, "process.ioPriority", &level, false, c->err));
      for (int k = 1; k < 4; k++)
        if (strcmp (cls, classes[k]) == 0)
          cfg->ioprio_class = k;
      if (cfg->ioprio_class == 0)
        return json_error (c->err, c->doc, "process.ioPriority.class",
                           "unknown class (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)");
      if (level < 0 || level > 7)
        return json_error (c->err, c->doc, "process.ioPriority.priority", "must be between 0 and 7");
      cfg->ioprio_level = level;
      cfg->has_ioprio = true;
    }

  yajl_val aff;
  TRY (r = json_get_object (proc, "execCPUAffinity", c->doc, P, &aff, false, c->err));
  if (r > 0)
    {
      const char *AP = "process.execCPUAffinity";
      TRY (json_get_string (aff, "initial", c->doc, AP, &cfg->exec_cpu_initial, false, c->err));
      TRY (json_get_string (aff, "final", c->doc, AP, &cfg->exec_cpu_final, false, c->err));
      cpu_set_t set;
      const char *keys[] = { "initial", "final" };
      char **vals[] = { &cfg->exec_cpu_initial, &cfg->exec_cpu_final };
      for (int k = 0; k < 2; k++)
        {
          if (*vals[k] && **vals[k] == '\0')
            {
              /* empty: "the container's default CPU affinity" (spec) */
              free (*vals[k]);
              *vals[k] = NULL;
            }
          if (*vals[k] && !procattr_parse_list (*vals[k], (unsigned long *) &set, CPU_SETSIZE))
            {
              cleanup_free char *kp = json_path_key (AP, keys[k]);
              cleanup_free char *shown = json_printable (*vals[k]);
              return json_error (c->err, c->doc, kp, "`%s` is not a CPU list like \"0-3,7\"", shown);
            }
        }
    }

  yajl_val sch;
  TRY (r = json_get_object (proc, "scheduler", c->doc, P, &sch, false, c->err));
  if (r > 0)
    {
      static const struct { const char *n; uint32_t v; } pols[] = {
        { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 }, { "SCHED_BATCH", 3 },
        { "SCHED_ISO", 4 }, { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
      };
      static const struct { const char *n; uint64_t v; } flags[] = {
        { "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 }, { "SCHED_FLAG_DL_OVERRUN", 0x04 },
        { "SCHED_FLAG_KEEP_POLICY", 0x08 }, { "SCHED_FLAG_KEEP_PARAMS", 0x10 }, { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
        { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
      };
      const char *SP = "process.scheduler";
      cleanup_free char *pol = NULL;
      cleanup_strv char **fl = NULL;
      int32_t nice = 0, prio = 0;
      uint64_t rt = 0, dl = 0, per = 0;
      TRY (json_get_string (sch, "policy", c->doc, SP, &pol, true, c->err));
      TRY (json_get_int32 (sch, "nice", c->doc, SP, &nice, false, c->err));
      TRY (json_get_int32 (sch, "priority", c->doc, SP, &prio, false, c->err));
      TRY (json_get_strv (sch, "flags", c->doc, SP, &fl, false, c->err));
      TRY (json_get_uint64 (sch, "runtime", c->doc, SP, &rt, false, c->err));
      TRY (json_get_uint64 (sch, "deadline", c->doc, SP, &dl, false, c->err));
      TRY (json_get_uint64 (sch, "period", c->doc, SP, &per, false, c->err));
      bool known = false;
      for (size_t k = 0; k < sizeof pols / sizeof pols[0]; k++)
        if (strcmp (pol, pols[k].n) == 0)
          {
            cfg->sched_policy = pols[k].v;
            known = true;
          }
      if (!known)
        {
          cleanup_free char *shown = json_printable (pol);
          return json_error (c->err, c->doc, "process.scheduler.policy", "unknown policy `%s`", shown);
        }
      if (nice < -20 || nice > 19)
        return json_error (c->err, c->doc, "process.scheduler.nice", "must be between -20 and 19");
      if (prio < 0 || prio > 99)
        return json_error (c->err, c->doc, "process.scheduler.priority", "must be between 0 and 99");
      for (size_t i = 0; fl && fl[i]; i++)
        {
          bool f = false;
          for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strcmp (fl[i], flags[k].n) == 0)
              {
                cfg->sched_flags |= flags[k].v;
                f = true;
              }
          if (!f)
            {
              cleanup_free char *fp = json_path_index ("process.scheduler.flags", i);
              cleanup_free char *shown = json_printable (fl[i]);
              return json_error (c->err, c->doc, fp, "unknown flag `%s`", shown);
            }
        }
      cfg->sched_nice = nice;
      cfg->sched_priority = (uint32_t) prio;
      cfg->sched_runtime = rt;
      cfg->sched_deadline = dl;
      cfg->sched_period = per;
      cfg->has_sched = true;
    }
  return 0;
}

/* Append opt to the comma-separated *data. */
static void
data_append (char **data, const char *opt)
{
  if (*data == NULL)
    {
      *data = xstrdup (opt);
      return;
    }
  size_t a = strlen (*data), b = strlen (opt);
  *data = xrealloc (*data, a + b + 2);
  (*data)[a] = ',';
  memcpy (*data + a + 1, opt, b + 1);
}

static void
translate_mount_options (struct moat_mount *m)
{
  if (m->type && strcmp (m->type, "bind") == 0)
    m->bind = true;
  for (char **o = m->options; o && *o; o++)
    {
      bool done = false;
      for (size_t k = 0; !done && k < ARRAY_SIZE (mount_flag_table); k++)
        if (strcmp (*o, mount_flag_table[k].name) == 0)
          {
            unsigned long f = mount_flag_table[k].flag;
            if (mount_flag_table[k].clear)
              {
                m->flags &= ~f;
                m->clear_flags |= f;
              }
            else
              {
                m->flags |= f;
                m->clear_flags &= ~f;
              }
            if (f & MS_BIND)
              m->bind = true;
            done = true;
          }
      for (size_t k = 0; !done && k < ARRAY_SIZE (propagation_table); k++)
        if (strcmp (*o, propagation_table[k].name) == 0)
          {
            m->propagation = propagation_table[k].flag;
            done = true;
          }
      if (!done)
        done = mountopts_option (*o, m);
      if (!done)
        data_append (&m->data, *o);
    }
  if (m->bind)
    m->flags |= MS_BIND;
}

static int parse_idmaps (struct pctx *c, yajl_val lx, const char *parent, const char *key, const char *what,
                         struct moat_idmap **out, size_t *n_out);

static int
parse_mounts (struct pctx *c, yajl_val arr)
{
  struct moat_config *cfg = c->cfg;
  size_t n = arr->u.array.len;
  cfg->mounts = xmalloc0 ((n ? n : 1) * sizeof *cfg->mounts);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *p = NULL;
      yajl_val o = arr->u.array.values[i];
      TRY (element_object (c, arr, i, "mounts", &p));
      struct moat_mount *m = &cfg->mounts[cfg->n_mounts++];
      TRY (json_get_string (o, "destination", c->doc, p, &m->destination, true, c->err));
      TRY (require_absolute (c, m->destination, p, "destination"));
      clean_in_place (&m->destination);
      TRY (json_get_string (o, "type", c->doc, p, &m->type, false, c->err));
      TRY (json_get_string (o, "source", c->doc, p, &m->source, false, c->err));
      TRY (json_get_strv (o, "options", c->doc, p, &m->options, false, c->err));
      TRY (parse_idmaps (c, o, p, "uidMappings", "uid", &m->uid_mappings, &m->n_uid_mappings));
      TRY (parse_idmaps (c, o, p, "gidMappings", "gid", &m->gid_mappings, &m->n_gid_mappings));
      translate_mount_options (m);
    }
  return 0;
}

static int
parse_hooks (struct pctx *c, yajl_val hooks)
{
  struct moat_config *cfg = c->cfg;
  for (int s = 0; s < MOAT_HOOK_STAGES; s++)
    {
      yajl_val arr;
      int r;
      TRY (r = json_get_array (hooks, hook_stage_names[s], c->doc, "hooks", &arr, false, c->err));
      if (r == 0)
        continue;
      cleanup_free char *sp = json_path_key ("hooks", hook_stage_names[s]);
      size_t n = arr->u.array.len;
      cfg->hooks[s] = xmalloc0 ((n ? n : 1) * sizeof (struct moat_hook));
      for (size_t i = 0; i < n; i++)
        {
          cleanup_free char *p = NULL;
          yajl_val o = arr->u.array.values[i];
          TRY (element_object (c, arr, i, sp, &p));
          struct moat_hook *h = &cfg->hooks[s][cfg->n_hooks[s]++];
          TRY (json_get_string (o, "path", c->doc, p, &h->path, true, c->err));
          TRY (require_absolute (c, h->path, p, "path"));
          TRY (json_get_strv (o, "args", c->doc, p, &h->args, false, c->err));
          TRY (json_get_strv (o, "env", c->doc, p, &h->env, false, c->err));
          int32_t t = 0;
          TRY (r = json_get_int32 (o, "timeout", c->doc, p, &t, false, c->err));
          if (r > 0 && t <= 0)
            {
              cleanup_free char *tp = json_path_key (p, "timeout");
              return json_error (c->err, c->doc, tp, "must be greater than zero");
            }
          h->timeout = t;
        }
    }
  return 0;
}

static int
parse_namespaces (struct pctx *c, yajl_val arr)
{
  struct moat_config *cfg = c->cfg;
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      cleanup_free char *p = NULL;
      yajl_val o = arr->u.array.values[i];
      TRY (element_object (c, arr, i, "linux.namespaces", &p));
      cleanup_free char *type = NULL;
      TRY (json_get_string (o, "type", c->doc, p, &type, true, c->err));
      int t = ns_type_from_name (type);
      cleanup_free char *tp = json_path_key (p, "type");
      if (t < 0)
        {
          cleanup_free char *shown = json_printable (type);
          return json_error (c->err, c->doc, tp, "unknown namespace type `%s`", shown);
        }
      if (cfg->ns[t].present)
        return json_error (c->err, c->doc, tp, "duplicate namespace type `%s`", type);
      cfg->ns[t].present = true;
      TRY (json_get_string (o, "path", c->doc, p, &cfg->ns[t].path, false, c->err));
      TRY (require_absolute (c, cfg->ns[t].path, p, "path"));
    }
  return 0;
}

static int
parse_idmaps (struct pctx *c, yajl_val lx, const char *parent, const char *key, const char *what,
              struct moat_idmap **out, size_t *n_out)
{
  yajl_val arr;
  int r;
  TRY (r = json_get_array (lx, key, c->doc, parent, &arr, false, c->err));
  if (r == 0)
    return 0;
  cleanup_free char *ap = json_path_key (parent, key);
  size_t n = arr->u.array.len;
  *out = xmalloc0 ((n ? n : 1) * sizeof (struct moat_idmap));
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *p = NULL;
      yajl_val o = arr->u.array.values[i];
      TRY (element_object (c, arr, i, ap, &p));
      struct moat_idmap m = { 0 };
      TRY (json_get_uint32 (o, "containerID", c->doc, p, &m.container_id, true, c->err));
      TRY (json_get_uint32 (o, "hostID", c->doc, p, &m.host_id, true, c->err));
      TRY (json_get_uint32 (o, "size", c->doc, p, &m.size, true, c->err));
      if (m.size == 0)
        {
          cleanup_free char *sp = json_path_key (p, "size");
          return json_error (c->err, c->doc, sp, "invalid %s mapping: size must not be 0", what);
        }
      /* The kernel refuses ranges that wrap around 2^32. */
      if ((uint64_t) m.container_id + m.size > UINT32_MAX
          || (uint64_t) m.host_id + m.size > UINT32_MAX)
        return json_error (c->err, c->doc, p, "invalid %s mapping: range exceeds 32 bits", what);
      (*out)[(*n_out)++] = m;
    }
  return 0;
}

static int
parse_time_offsets (struct pctx *c, yajl_val obj)
{
  struct moat_config *cfg = c->cfg;
  const char *P = "linux.timeOffsets";
  size_t n = obj->u.object.len;
  cfg->time_offsets = xmalloc0 ((n ? n : 1) * sizeof (struct moat_time_offset));
  for (size_t i = 0; i < n; i++)
    {
      const char *name = obj->u.object.keys[i];
      yajl_val v = obj->u.object.values[i];
      cleanup_free char *p = json_path_key (P, name);
      int clock;
      if (strcmp (name, "monotonic") == 0)
        clock = CLOCK_MONOTONIC;
      else if (strcmp (name, "boottime") == 0)
        clock = CLOCK_BOOTTIME;
      else
        return json_error (c->err, c->doc, p, "unknown clock (expected monotonic or boottime)");
      for (size_t k = 0; k < cfg->n_time_offsets; k++)
        if (cfg->time_offsets[k].clock == clock)
          return json_error (c->err, c->doc, p, "duplicate key");
      if (YAJL_IS_NULL (v))
        continue;
      TRY (json_as_object (v, c->doc, p, c->err));
      struct moat_time_offset t = { .clock = clock };
      TRY (json_get_int64 (v, "secs", c->doc, p, &t.secs, false, c->err));
      TRY (json_get_uint32 (v, "nanosecs", c->doc, p, &t.nanosecs, false, c->err));
      if (t.nanosecs >= 1000000000u)
        {
          cleanup_free char *np = json_path_key (p, "nanosecs");
          return json_error (c->err, c->doc, np, "must be less than 1000000000");
        }
      cfg->time_offsets[cfg->n_time_offsets++] = t;
    }
  return 0;
}

static int
parse_devices (struct pctx *c, yajl_val arr)
{
  struct moat_config *cfg = c->cfg;
  size_t n = arr->u.array.len;
  cfg->devices = xmalloc0 ((n ? n : 1) * sizeof (struct moat_device));
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *p = NULL;
      yajl_val o = arr->u.array.values[i];
      TRY (element_object (c, arr, i, "linux.devices", &p));
      struct moat_device *d = &cfg->devices[cfg->n_devices++];
      TRY (json_get_string (o, "path", c->doc, p, &d->path, true, c->err));
      TRY (require_absolute (c, d->path, p, "path"));
      clean_in_place (&d->path);
      if (strcmp (d->path, "/") == 0)
        {
          cleanup_free char *pp = json_path_key (p, "path");
          return json_error (c->err, c->doc, pp, "must name a device node, not the root");
        }
      cleanup_free char *type = NULL;
      TRY (json_get_string (o, "type", c->doc, p, &type, true, c->err));
      if (strlen (type) != 1 || strchr ("cbup", type[0]) == NULL)
        {
          cleanup_free char *tp = json_path_key (p, "type");
          cleanup_free char *shown = json_printable (type);
          return json_error (c->err, c->doc, tp, "unknown device type `%s` (expected c, b, u or p)", shown);
        }
      d->type = type[0];
      bool need_numbers = d->type != 'p';
      TRY (json_get_int64 (o, "major", c->doc, p, &d->major, need_numbers, c->err));
      TRY (json_get_int64 (o, "minor", c->doc, p, &d->minor, need_numbers, c->err));
      uint32_t mode = 0, uid = 0, gid = 0;
      int r;
      TRY (r = json_get_uint32 (o, "fileMode", c->doc, p, &mode, false, c->err));
      if (r > 0)
        {
          mode &= ~(uint32_t) S_IFMT;   /* some engines pass st_mode whole */
          if (mode > 07777)
            {
              cleanup_free char *mp = json_path_key (p, "fileMode");
              return json_error (c->err, c->doc, mp, "not a permission mode (at most 07777)");
            }
          d->file_mode = (mode_t) mode;
          d->has_file_mode = true;
        }
      TRY (r = parse_uid_value (c, o, p, "uid", &uid));
      if (r > 0)
        {
          d->uid = uid;
          d->has_uid = true;
        }
      TRY (r = parse_uid_value (c, o, p, "gid", &gid));
      if (r > 0)
        {
          d->gid = gid;
          d->has_gid = true;
        }
    }
  return 0;
}

static int
parse_linux (struct pctx *c, yajl_val lx)
{
  struct moat_config *cfg = c->cfg;
  const char *P = "linux";
  yajl_val v;
  int r;

  TRY (r = json_get_array (lx, "namespaces", c->doc, P, &v, false, c->err));
  if (r > 0)
    TRY (parse_namespaces (c, v));

  TRY (parse_idmaps (c, lx, "linux", "uidMappings", "uid", &cfg->uid_mappings, &cfg->n_uid_mappings));
  TRY (parse_idmaps (c, lx, "linux", "gidMappings", "gid", &cfg->gid_mappings, &cfg->n_gid_mappings));
  if (!cfg->ns[MOAT_NS_USER].present)
    {
      if (cfg->n_uid_mappings > 0)
        return json_error (c->err, c->doc, "linux.uidMappings",
                           "uid mappings given but linux.namespaces has no user namespace");
      if (cfg->n_gid_mappings > 0)
        return json_error (c->err, c->doc, "linux.gidMappings",
                           "gid mappings given but linux.namespaces has no user namespace");
    }

  TRY (r = json_get_object (lx, "timeOffsets", c->doc, P, &v, false, c->err));
  if (r > 0)
    {
      TRY (parse_time_offsets (c, v));
      if (cfg->n_time_offsets > 0 && !cfg->ns[MOAT_NS_TIME].present)
        return json_error (c->err, c->doc, "linux.timeOffsets",
                           "time offsets given but linux.namespaces has no time namespace");
    }

  TRY (r = json_get_array (lx, "devices", c->doc, P, &v, false, c->err));
  if (r > 0)
    TRY (parse_devices (c, v));

  TRY (json_get_string (lx, "cgroupsPath", c->doc, P, &cfg->cgroups_path, false, c->err));
  TRY (json_get_object (lx, "resources", c->doc, P, &cfg->resources, false, c->err));
  TRY (json_get_object (lx, "seccomp", c->doc, P, &cfg->seccomp, false, c->err));

  cleanup_strv char **keys = NULL;
  cleanup_strv char **values = NULL;
  size_t n = 0;
  TRY (r = json_get_string_map (lx, "sysctl", c->doc, P, &keys, &values, &n, false, c->err));
  if (r > 0)
    {
      cfg->sysctl = xmalloc0 ((n ? n : 1) * sizeof (struct moat_sysctl));
      for (size_t i = 0; i < n; i++)
        {
          cfg->sysctl[i].key = steal_pointer (&keys[i]);
          cfg->sysctl[i].value = steal_pointer (&values[i]);
        }
      cfg->n_sysctl = n;
    }

  TRY (json_get_strv (lx, "maskedPaths", c->doc, P, &cfg->masked_paths, false, c->err));
  TRY (json_get_strv (lx, "readonlyPaths", c->doc, P, &cfg->readonly_paths, false, c->err));

  TRY (r = json_get_string (lx, "rootfsPropagation", c->doc, P, &cfg->rootfs_propagation, false, c->err));
  if (r > 0)
    {
      bool ok = false;
      for (size_t k = 0; k < ARRAY_SIZE (rootfs_propagations); k++)
        if (strcmp (cfg->rootfs_propagation, rootfs_propagations[k]) == 0)
          ok = true;
      if (!ok)
        {
          cleanup_free char *shown = json_printable (cfg->rootfs_propagation);
          return json_error (c->err, c->doc, "linux.rootfsPropagation", "unknown propagation `%s`", shown);
        }
    }
  TRY (json_get_string (lx, "mountLabel", c->doc, P, &cfg->mount_label, false, c->err));
  yajl_val mp;
  TRY (r = json_get_object (lx, "memoryPolicy", c->doc, P, &mp, false, c->err));
  if (r > 0)
    {
      const char *MP = "linux.memoryPolicy";
      cleanup_free char *mode = NULL;
      cleanup_strv char **flags = NULL;
      TRY (json_get_string (mp, "mode", c->doc, MP, &mode, true, c->err));
      TRY (json_get_string (mp, "nodes", c->doc, MP, &cfg->mempolicy_nodes, false, c->err));
      TRY (json_get_strv (mp, "flags", c->doc, MP, &flags, false, c->err));
      const char *bad = NULL;
      cfg->mempolicy_mode = procattr_mempolicy_mode (mode, flags, &bad);
      if (cfg->mempolicy_mode < 0)
        {
          cleanup_free char *shown = json_printable (bad);
          return json_error (c->err, c->doc, bad == mode ? "linux.memoryPolicy.mode" : "linux.memoryPolicy.flags",
                             "unknown %s `%s`", bad == mode ? "mode" : "flag", shown);
        }
      unsigned long nodes[1024 / (sizeof (unsigned long) * 8)];
      if (cfg->mempolicy_nodes && *cfg->mempolicy_nodes
          && !procattr_parse_list (cfg->mempolicy_nodes, nodes, 1024))
        {
          cleanup_free char *shown = json_printable (cfg->mempolicy_nodes);
          return json_error (c->err, c->doc, "linux.memoryPolicy.nodes", "`%s` is not a node list like \"0-3,7\"", shown);
        }
      cfg->has_mempolicy = true;
    }
  yajl_val pers;
  TRY (r = json_get_object (lx, "personality", c->doc, P, &pers, false, c->err));
  if (r > 0)
    {
      cleanup_free char *dom = NULL;
      cleanup_strv char **pfl = NULL;
      TRY (json_get_string (pers, "domain", c->doc, "linux.personality", &dom, true, c->err));
      TRY (json_get_strv (pers, "flags", c->doc, "linux.personality", &pfl, false, c->err));
      if (strcmp (dom, "LINUX") == 0)
        cfg->personality = 0x0000;      /* PER_LINUX */
      else if (strcmp (dom, "LINUX32") == 0)
        cfg->personality = 0x0008;      /* PER_LINUX32 */
      else
        {
          cleanup_free char *shown = json_printable (dom);
          return json_error (c->err, c->doc, "linux.personality.domain", "unknown domain `%s` (LINUX or LINUX32)",
                             shown);
        }
      if (pfl && pfl[0])
        return json_error (c->err, c->doc, "linux.personality.flags", "no flag is supported (as runc)");
      cfg->has_personality = true;
    }
  return 0;
}

static int
parse_document (struct pctx *c, yajl_val tree)
{
  struct moat_config *cfg = c->cfg;
  yajl_val v;
  int r;

  TRY (json_as_object (tree, c->doc, "", c->err));
  TRY (json_get_string (tree, "ociVersion", c->doc, "", &cfg->oci_version, true, c->err));

  TRY (json_get_object (tree, "root", c->doc, "", &v, true, c->err));
  TRY (json_get_string (v, "path", c->doc, "root", &cfg->root_path, true, c->err));
  if (cfg->root_path[0] == '\0')
    return json_error (c->err, c->doc, "root.path", "must not be empty");
  TRY (json_get_bool (v, "readonly", c->doc, "root", &cfg->root_readonly, false, c->err));

  TRY (r = json_get_object (tree, "process", c->doc, "", &v, false, c->err));
  if (r > 0)
    TRY (parse_process (c, v));

  TRY (json_get_string (tree, "hostname", c->doc, "", &cfg->hostname, false, c->err));
  TRY (json_get_string (tree, "domainname", c->doc, "", &cfg->domainname, false, c->err));

  TRY (r = json_get_array (tree, "mounts", c->doc, "", &v, false, c->err));
  if (r > 0)
    TRY (parse_mounts (c, v));

  TRY (r = json_get_object (tree, "hooks", c->doc, "", &v, false, c->err));
  if (r > 0)
    TRY (parse_hooks (c, v));

  TRY (json_get_string_map (tree, "annotations", c->doc, "", &cfg->annotation_keys,
                            &cfg->annotation_values, &cfg->n_annotations, false, c->err));

  TRY (r = json_get_object (tree, "linux", c->doc, "", &v, false, c->err));
  if (r > 0)
    TRY (parse_linux (c, v));
  return mountopts_check (cfg, c->doc, c->err);
}

static int
config_parse_len (const char *text, size_t len, const char *name, struct moat_config **out, moat_error **err)
{
  const char *doc = name ? name : "config.json";
  *out = NULL;
  cleanup_config struct moat_config *cfg = xmalloc0 (sizeof *cfg);
  TRY (json_parse (text, len, doc, &cfg->tree, err));
  struct pctx c = { .doc = doc, .err = err, .cfg = cfg };
  TRY (parse_document (&c, cfg->tree));
  *out = steal_pointer (&cfg);
  return 0;
}

int
config_parse (const char *text, const char *name, struct moat_config **out, moat_error **err)
{
  if (text == NULL)
    text = "";
  return config_parse_len (text, strlen (text), name, out, err);
}

int
config_load (const char *bundle, struct moat_config **out, moat_error **err)
{
  size_t bl = strlen (bundle);
  cleanup_free char *path = xasprintf ("%s%sconfig.json", bundle,
                                       (bl > 0 && bundle[bl - 1] == '/') ? "" : "/");
  return config_load_file (path, out, err);
}

int
config_load_file (const char *path, struct moat_config **out, moat_error **err)
{
  *out = NULL;
  cleanup_free char *text = NULL;
  size_t len = 0;
  cleanup_error moat_error *rerr = NULL;
  if (read_file_at (-100 /* AT_FDCWD */, path, &text, &len, CONFIG_MAX_SIZE, &rerr) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      if (rerr && rerr->errnum == EFBIG)
        return moat_error_set (err, 0, "%s: larger than %u bytes", shown, CONFIG_MAX_SIZE);
      /* Not a regular file (a FIFO, a device): read_file_at's message
       * names the file and says what it is instead. */
      if (rerr && rerr->errnum == 0 && rerr->msg)
        return moat_error_set (err, 0, "%s", rerr->msg);
      return moat_error_set (err, rerr ? rerr->errnum : EIO, "%s", shown);
    }
  return config_parse_len (text, len, path, out, err);
}

/* ---- the default spec -------------------------------------------------- */

static void
gen_str (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *) s, strlen (s));
}

static void
gen_kv (yajl_gen g, const char *k, const char *v)
{
  gen_str (g, k);
  gen_str (g, v);
}

static void
gen_strv (yajl_gen g, const char *key, const char *const *v)
{
  gen_str (g, key);
  yajl_gen_array_open (g);
  for (; *v; v++)
    gen_str (g, *v);
  yajl_gen_array_close (g);
}

static void
gen_idmap (yajl_gen g, const char *key, const struct moat_idmap *m, size_t n)
{
  gen_str (g, key);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      gen_str (g, "containerID");
      yajl_gen_integer (g, m[i].container_id);
      gen_str (g, "hostID");
      yajl_gen_integer (g, m[i].host_id);
      gen_str (g, "size");
      yajl_gen_integer (g, m[i].size);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

/* Is O a "uid=" or "gid=" mount option for an id the mapping leaves out?
 * devpts's gid=5 (tty) stays when a subordinate range maps it. */
static bool
unmapped_id_option (const char *o, const struct moat_idmap *gidmap, size_t n_gidmap)
{
  if (strncmp (o, "uid=", 4) == 0)
    return true;
  if (strncmp (o, "gid=", 4) != 0)
    return false;
  unsigned long id = strtoul (o + 4, NULL, 10);
  for (size_t i = 0; i < n_gidmap; i++)
    if (id >= gidmap[i].container_id && id - gidmap[i].container_id < gidmap[i].size)
      return false;
  return true;
}

char *
config_default_spec (bool rootless, const struct moat_idmap *uidmap, size_t n_uidmap,
                     const struct moat_idmap *gidmap, size_t n_gidmap)
{
  static const char *const env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL,
  };
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
  static const struct
  {
    const char *dest, *type, *source;
    const char *opts[8];
    bool root_only;
  } mounts[] = {
    { "/proc", "proc", "proc", { NULL }, false },
    { "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k", NULL }, false },
    { "/dev/pts", "devpts", "devpts",
      { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL }, false },
    { "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL }, false },
    { "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev", NULL }, false },
    { "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro", NULL }, false },
    { "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro", NULL }, true },
  };
  static const char *const masked[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi", "/sys/devices/virtual/tpm", NULL,
  };
  static const char *const readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
  };
  static const char *const ns_root[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };
  static const char *const ns_rootless[] = { "pid", "ipc", "uts", "mount", "user", NULL };
  static const char *const sys_rootless[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };

  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    abort ();
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_config (g, yajl_gen_indent_string, "  ");

  yajl_gen_map_open (g);
  gen_kv (g, "ociVersion", "1.3.0");

  gen_str (g, "process");
  yajl_gen_map_open (g);
  gen_str (g, "terminal");
  yajl_gen_bool (g, 0);
  gen_str (g, "user");
  yajl_gen_map_open (g);
  gen_str (g, "uid");
  yajl_gen_integer (g, 0);
  gen_str (g, "gid");
  yajl_gen_integer (g, 0);
  yajl_gen_map_close (g);
  gen_strv (g, "args", (const char *const[]) { "sh", NULL });
  gen_strv (g, "env", env);
  gen_kv (g, "cwd", "/");
  gen_str (g, "capabilities");
  yajl_gen_map_open (g);
  gen_strv (g, "bounding", caps);
  gen_strv (g, "effective", caps);
  gen_strv (g, "permitted", caps);
  yajl_gen_map_close (g);
  if (!rootless)
    {
      gen_str (g, "rlimits");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      gen_kv (g, "type", "RLIMIT_NOFILE");
      gen_str (g, "hard");
      yajl_gen_integer (g, 1024);
      gen_str (g, "soft");
      yajl_gen_integer (g, 1024);
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
    }
  gen_str (g, "noNewPrivileges");
  yajl_gen_bool (g, 1);
  yajl_gen_map_close (g);

  gen_str (g, "root");
  yajl_gen_map_open (g);
  gen_kv (g, "path", "rootfs");
  gen_str (g, "readonly");
  yajl_gen_bool (g, 1);
  yajl_gen_map_close (g);

  gen_kv (g, "hostname", "moat");

  gen_str (g, "mounts");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < ARRAY_SIZE (mounts); i++)
    {
      if (rootless && mounts[i].root_only)
        continue;
      yajl_gen_map_open (g);
      if (rootless && strcmp (mounts[i].dest, "/sys") == 0)
        {
          gen_kv (g, "destination", "/sys");
          gen_kv (g, "type", "none");
          gen_kv (g, "source", "/sys");
          gen_strv (g, "options", sys_rootless);
          yajl_gen_map_close (g);
          continue;
        }
      gen_kv (g, "destination", mounts[i].dest);
      gen_kv (g, "type", mounts[i].type);
      gen_kv (g, "source", mounts[i].source);
      if (mounts[i].opts[0])
        {
          gen_str (g, "options");
          yajl_gen_array_open (g);
          for (const char *const *o = mounts[i].opts; *o; o++)
            if (!rootless || !unmapped_id_option (*o, gidmap, n_gidmap))
              gen_str (g, *o);
          yajl_gen_array_close (g);
        }
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);

  gen_str (g, "linux");
  yajl_gen_map_open (g);
  if (rootless)
    {
      gen_idmap (g, "uidMappings", uidmap, n_uidmap);
      gen_idmap (g, "gidMappings", gidmap, n_gidmap);
    }
  else
    {
      gen_str (g, "resources");
      yajl_gen_map_open (g);
      gen_str (g, "devices");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      gen_str (g, "allow");
      yajl_gen_bool (g, 0);
      gen_kv (g, "access", "rwm");
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
    }
  gen_str (g, "namespaces");
  yajl_gen_array_open (g);
  for (const char *const *n = rootless ? ns_rootless : ns_root; *n; n++)
    {
      yajl_gen_map_open (g);
      gen_kv (g, "type", *n);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  gen_strv (g, "maskedPaths", masked);
  gen_strv (g, "readonlyPaths", readonly);
  yajl_gen_map_close (g);

  yajl_gen_map_close (g);

  const unsigned char *buf = NULL;
  size_t len = 0;
  if (yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    abort ();
  char *out = xmalloc0 (len + 1);
  memcpy (out, buf, len);
  yajl_gen_free (g);
  return out;
}
