#include "config-host.h"
#include "cgroup.h"
#include "jbuf.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

static bool
is_fs (const char *path, long magic)
{
  struct statfs s;
  return statfs (path, &s) == 0 && (long) s.f_type == magic;
}

enum cgroup_layout
cgroup_detect_layout (void)
{
  if (is_fs (CGROUP_ROOT, CGROUP2_SUPER_MAGIC))
    return CGROUP_V2;
  if (is_fs (CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC))
    return CGROUP_HYBRID;
  return CGROUP_V1;
}

const char *
cgroup_v2_root (void)
{
  switch (cgroup_detect_layout ())
    {
    case CGROUP_V2: return CGROUP_ROOT;
    case CGROUP_HYBRID: return CGROUP_ROOT "/unified";
    default: return NULL;
    }
}

const char *
cgroup_layout_name (enum cgroup_layout l)
{
  return l == CGROUP_V2 ? "v2" : l == CGROUP_HYBRID ? "hybrid" : "v1";
}

/* The mount points of every hierarchy: one for v2; one per v1 hierarchy
 * (plus "unified" on a hybrid host). NULL-terminated. */
static char **
hierarchies (void)
{
  if (cgroup_detect_layout () == CGROUP_V2)
    {
      char **v = xmalloc0 (2 * sizeof (char *));
      v[0] = xstrdup (CGROUP_ROOT);
      return v;
    }
  size_t n = 0, cap = 16;
  char **v = xmalloc0 (cap * sizeof (char *));
  cleanup_dir DIR *d = opendir (CGROUP_ROOT);
  if (d == NULL)
    return v;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.' || de->d_type != DT_DIR)
        continue;   /* "cpu" -> "cpu,cpuacct" links are skipped: one visit per hierarchy */
      cleanup_free char *p = xasprintf (CGROUP_ROOT "/%s", de->d_name);
      if (!is_fs (p, CGROUP_SUPER_MAGIC) && !is_fs (p, CGROUP2_SUPER_MAGIC))
        continue;
      if (n + 2 > cap)
        v = xrealloc (v, (cap *= 2) * sizeof (char *));
      v[n++] = steal_pointer (&p);
      v[n] = NULL;
    }
  return v;
}

int
cgroup_path_for (const struct moat_config *cfg, const char *id, char **out, moat_error **err)
{
  const char *p = cfg->cgroups_path;
  if (p == NULL || *p == '\0')
    {
      *out = xasprintf ("/moat/%s", id);
      return 0;
    }
  if (strchr (p, ':'))
    {
      cleanup_free char *shown = str_printable (p);
      return moat_error_set (err, 0, "linux.cgroupsPath: `%s` is systemd slice syntax (needs --systemd-cgroup)", shown);
    }
  cleanup_free char *copy = xstrdup (p);
  bool any = false;
  char *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, "..") == 0 || strcmp (c, ".") == 0)
        {
          cleanup_free char *shown = str_printable (p);
          return moat_error_set (err, 0, "linux.cgroupsPath: `%s` must not contain `.` or `..`", shown);
        }
      any = true;
    }
  /* The root cgroup holds the whole host: delete and kill --all would
   * signal every process in it. */
  if (!any)
    {
      cleanup_free char *shown = str_printable (p);
      return moat_error_set (err, 0, "linux.cgroupsPath: `%s` is the root cgroup", shown);
    }
  *out = p[0] == '/' ? xstrdup (p) : xasprintf ("/%s", p);
  return 0;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks;
 * give each new level its parent's sets. */
static int
cpuset_fill (const char *dir, moat_error **err)
{
  static const char *files[] = { "cpuset.cpus", "cpuset.mems" };
  for (size_t i = 0; i < ARRAY_SIZE (files); i++)
    {
      cleanup_free char *self = xasprintf ("%s/%s", dir, files[i]);
      cleanup_free char *val = NULL;
      if (read_file (self, &val, NULL, err) < 0)
        return -1;
      if (val[0] != '\n' && val[0] != '\0')
        continue;
      cleanup_free char *parentdir = xstrdup (dir);
      *strrchr (parentdir, '/') = '\0';
      cleanup_free char *pfile = xasprintf ("%s/%s", parentdir, files[i]);
      cleanup_free char *pval = NULL;
      if (read_file (pfile, &pval, NULL, err) < 0)
        return -1;
      if (write_file_at (AT_FDCWD, self, pval, strlen (pval), err) < 0)
        return -1;
    }
  return 0;
}

static int
mkdir_cgroup (const char *hier, const char *path, moat_error **err)
{
  bool cpuset = strstr (hier, "cpuset") != NULL && strcmp (hier, CGROUP_ROOT) != 0;
  cleanup_free char *full = xasprintf ("%s%s", hier, path);
  size_t base = strlen (hier);
  for (char *s = full + base + 1; ; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      *s = '\0';
      if (mkdir (full, 0755) < 0 && errno != EEXIST)
        return moat_error_set (err, errno, "create cgroup `%s`", full);
      if (cpuset && cpuset_fill (full, err) < 0)
        return -1;
      *s = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}

/* The way into DIR, one hierarchy's cgroup: the v2 directory (for
 * CLONE_INTO_CGROUP) or a v1 "tasks" file opened for writing. */
static int
entry_add (struct cgroup_entry *e, const char *dir, bool is_v2, moat_error **err)
{
  if (is_v2)
    {
      e->v2_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      return e->v2_fd < 0 ? moat_error_set (err, errno, "open cgroup `%s`", dir) : 0;
    }
  if (e->n_tasks == ARRAY_SIZE (e->tasks))
    return moat_error_set (err, 0, "more than %zu cgroup v1 hierarchies", ARRAY_SIZE (e->tasks));
  cleanup_free char *tasks = xasprintf ("%s/tasks", dir);
  int fd = open (tasks, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "open `%s`", tasks);
  e->tasks[e->n_tasks++] = fd;
  return 0;
}

int
cgroup_entry_open (const char *path, struct cgroup_entry *e, moat_error **err)
{
  cleanup_strv char **h = hierarchies ();
  const char *v2 = cgroup_v2_root ();
  for (size_t i = 0; h[i]; i++)
    {
      if (mkdir_cgroup (h[i], path, err) < 0)
        return -1;
      cleanup_free char *dir = xasprintf ("%s%s", h[i], path);
      if (entry_add (e, dir, v2 && strcmp (h[i], v2) == 0, err) < 0)
        return -1;
    }
  return 0;
}

static bool lists_controller (const char *list, const char *ctl);

/* One --cgroup argument's sub-cgroup: relative, no "..", not empty. */
static int
check_sub (const char *arg, const char *sub, moat_error **err)
{
  cleanup_free char *shown = str_printable (arg);
  if (*sub == '\0')
    return moat_error_set (err, 0, "--cgroup `%s`: empty sub-cgroup", shown);
  if (*sub == '/')
    return moat_error_set (err, 0, "--cgroup `%s`: an absolute path; give the sub-cgroup relative to the "
                           "container's cgroup", shown);
  cleanup_free char *copy = xstrdup (sub);
  char *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    if (strcmp (c, "..") == 0)
      return moat_error_set (err, 0, "--cgroup `%s`: `..` would leave the container's cgroup", shown);
  return 0;
}

/* Does the v1 hierarchy mounted at H (its name "cpu,cpuacct", "systemd")
 * hold controller CTL ("cpu", "name=systemd" or "systemd")? */
static bool
hierarchy_has (const char *h, const char *ctl)
{
  const char *base = strrchr (h, '/') + 1;
  if (strncmp (ctl, "name=", 5) == 0)
    ctl += 5;
  return lists_controller (base, ctl);
}

int
cgroup_entry_open_sub (const char *path, char *const *args, struct cgroup_entry *e, moat_error **err)
{
  /* runc's form: [CONTROLLER[,CONTROLLER]:]SUB, repeated; one without a
   * controller is for every hierarchy the others do not name. */
  size_t n = 0;
  for (; args[n]; n++)
    ;
  cleanup_free const char **ctl = xmalloc0 ((n * 16 + 1) * sizeof *ctl);
  cleanup_free const char **sub = xmalloc0 ((n * 16 + 1) * sizeof *sub);
  cleanup_strv char **owned = xmalloc0 ((n + 1) * sizeof *owned);
  const char *all = NULL;
  size_t m = 0, no = 0;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *shown = str_printable (args[i]);
      char *colon = strchr (args[i], ':');
      if (colon == NULL)
        {
          if (all)
            return moat_error_set (err, 0, "--cgroup `%s`: more than one --cgroup without a controller", shown);
          if (check_sub (args[i], args[i], err) < 0)
            return -1;
          all = args[i];
          continue;
        }
      if (check_sub (args[i], colon + 1, err) < 0)
        return -1;
      char *names = owned[no++] = xasprintf ("%.*s", (int) (colon - args[i]), args[i]);
      for (char *c = names, *next; c; c = next)
        {
          next = strchr (c, ',');
          if (next)
            *next++ = '\0';
          if (*c == '\0')
            return moat_error_set (err, 0, "--cgroup `%s`: empty controller name", shown);
          for (size_t k = 0; k < m; k++)
            if (strcmp (ctl[k], c) == 0)
              {
                cleanup_free char *cs = str_printable (c);
                return moat_error_set (err, 0, "--cgroup: controller `%s` given more than once", cs);
              }
          if (m == n * 16)
            return moat_error_set (err, 0, "--cgroup `%s`: too many controllers", shown);
          ctl[m] = c;
          sub[m++] = colon + 1;
        }
    }
  if (m && cgroup_detect_layout () == CGROUP_V2)
    {
      cleanup_free char *cs = str_printable (ctl[0]);
      return moat_error_set (err, 0, "--cgroup `%s:...`: cgroup v2 has one hierarchy: give the sub-cgroup without "
                             "CONTROLLER:", cs);
    }
  cleanup_strv char **h = hierarchies ();
  const char *v2 = cgroup_v2_root ();
  for (size_t k = 0; k < m; k++)
    {
      bool found = false;
      for (size_t i = 0; h[i] && !found; i++)
        found = !(v2 && strcmp (h[i], v2) == 0) && hierarchy_has (h[i], ctl[k]);
      if (!found)
        {
          cleanup_free char *cs = str_printable (ctl[k]);
          return moat_error_set (err, 0, "--cgroup: no cgroup v1 hierarchy of controller `%s` on this host", cs);
        }
    }
  for (size_t i = 0; h[i]; i++)
    {
      bool is_v2 = v2 && strcmp (h[i], v2) == 0;
      const char *s = all;
      for (size_t k = 0; k < m && !is_v2; k++)
        if (hierarchy_has (h[i], ctl[k]))
          {
            s = sub[k];
            break;
          }
      cleanup_free char *dir = s ? xasprintf ("%s%s/%s", h[i], path, s) : xasprintf ("%s%s", h[i], path);
      /* It must exist: made by the caller, as runc wants it (not made here). */
      struct stat sb;
      errno = 0;
      if (stat (dir, &sb) < 0 || !S_ISDIR (sb.st_mode))
        {
          cleanup_free char *shown = str_printable (dir);
          return moat_error_set (err, errno ? errno : ENOTDIR, "--cgroup: no sub-cgroup `%s`", shown);
        }
      if (entry_add (e, dir, is_v2, err) < 0)
        return -1;
    }
  return 0;
}

int
cgroup_entry_join_self (const struct cgroup_entry *e, moat_error **err)
{
  /* The kernel checks the write against who opened the file (the parent,
   * root): the init's own ids, maybe in a user namespace, do not matter. */
  for (size_t i = 0; i < e->n_tasks; i++)
    if (write (e->tasks[i], "0", 1) != 1)
      return moat_error_set (err, errno, "join the container's cgroup (v1 tasks)");
  return 0;
}

int
cgroup_entry_move_v2 (const struct cgroup_entry *e, pid_t pid, moat_error **err)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);
  return write_file_at (e->v2_fd, "cgroup.procs", buf, (size_t) n, err);
}

void
cgroup_entry_close (struct cgroup_entry *e)
{
  if (e->v2_fd >= 0)
    close (e->v2_fd);
  e->v2_fd = -1;
  for (size_t i = 0; i < e->n_tasks; i++)
    close (e->tasks[i]);
  e->n_tasks = 0;
}

/* Does LIST, controllers as a hierarchy names them ("cpu,cpuacct"), hold CTL? */
static bool
lists_controller (const char *list, const char *ctl)
{
  size_t n = strlen (ctl);
  for (const char *p = list; p; p = strchr (p, ','))
    {
      p += *p == ',';
      if (strncmp (p, ctl, n) == 0 && (p[n] == ',' || p[n] == '\0'))
        return true;
    }
  return false;
}

char *
cgroup_cpu_tasks (const char *path)
{
  if (path == NULL || cgroup_detect_layout () == CGROUP_V2)
    return NULL;
  /* "cpu" may be a link to a hierarchy shared with cpuacct */
  char *tasks = xasprintf (CGROUP_ROOT "/cpu%s/tasks", path);
  if (access (tasks, W_OK) == 0)
    return tasks;
  free (tasks);
  return NULL;
}

char *
cgroup_cpu_max (const char *path)
{
  if (path == NULL || cgroup_detect_layout () != CGROUP_V2)
    return NULL;
  char *max = xasprintf (CGROUP_ROOT "%s/cpu.max", path);
  if (access (max, R_OK) == 0)
    return max;
  free (max);
  return NULL;
}

/* The hierarchy that lists every process: pids (v1), else unified, else any
 * but cpu's, where the supervisor's answering threads are (they answer
 * from the container's cpu cgroup: supcpu.c sup_cpu_join). */
static char *
listing_hierarchy (void)
{
  cleanup_strv char **h = hierarchies ();
  const char *best = NULL;
  for (size_t i = 0; h[i]; i++)
    {
      const char *name = strrchr (h[i], '/') + 1;
      if (strcmp (h[i], CGROUP_ROOT) == 0 || strcmp (name, "pids") == 0)
        return xstrdup (h[i]);
      if (strcmp (name, "unified") == 0 || (best == NULL && !lists_controller (name, "cpu")))
        best = h[i];
    }
  return best ? xstrdup (best) : NULL;
}

int
cgroup_pids (const char *path, pid_t **pids, size_t *n, moat_error **err)
{
  *pids = NULL;
  *n = 0;
  cleanup_free char *h = listing_hierarchy ();
  if (h == NULL)
    return moat_error_set (err, 0, "no cgroup hierarchy mounted at " CGROUP_ROOT);
  cleanup_free char *procs = xasprintf ("%s%s/cgroup.procs", h, path);
  cleanup_free char *text = NULL;
  if (read_file (procs, &text, NULL, err) < 0)
    return -1;
  size_t cap = 16, k = 0;
  pid_t *v = xmalloc0 (cap * sizeof (pid_t));
  for (char *s = text; *s;)
    {
      char *end;
      long p = strtol (s, &end, 10);
      if (end == s)
        break;
      if (k == cap)
        v = xrealloc (v, (cap *= 2) * sizeof (pid_t));
      v[k++] = (pid_t) p;
      s = end;
      while (*s == '\n')
        s++;
    }
  *pids = v;
  *n = k;
  return 0;
}

const char *
cgroup_resources_named (const struct cg_resources *r)
{
  if (r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap || r->has_swappiness || r->disable_oom_killer)
    return "memory";
  if (r->has_shares || r->has_quota || r->has_period || r->has_burst || r->has_idle || r->has_rt_runtime
      || r->has_rt_period || r->cpus || r->mems)
    return "cpu";
  if (r->has_pids)
    return "pids";
  bool throttled = false;
  for (size_t i = 0; i < ARRAY_SIZE (r->n_throttle); i++)
    throttled |= r->n_throttle[i] > 0;
  if (r->has_blkio_weight || r->n_weight_dev || throttled)
    return "blockIO";
  if (r->n_huge)
    return "hugepageLimits";
  if (r->n_unified)
    return "unified";
  if (r->has_class_id || r->n_prio)
    return "network";
  if (r->n_rdma)
    return "rdma";
  return NULL;
}

int
cgroup_kill_all (const char *path, int sig, moat_error **err)
{
  if (path == NULL || strcmp (path, "/") == 0 || *path == '\0')
    return moat_error_set (err, 0, "refusing to signal the root cgroup");
  cleanup_free pid_t *pids = NULL;
  size_t n;
  if (cgroup_pids (path, &pids, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (kill (pids[i], sig) < 0 && errno != ESRCH)
      return moat_error_set (err, errno, "kill %d", (int) pids[i]);
  return 0;
}

int
cgroup_destroy (const char *path, moat_error **err)
{
  if (path == NULL || *path == '\0' || strcmp (path, "/") == 0)
    return 0;
  cleanup_strv char **h = hierarchies ();
  for (size_t i = 0; h[i]; i++)
    {
      cleanup_free char *full = xasprintf ("%s%s", h[i], path);
      /* A task that was just killed leaves its cgroup a little after it is
       * reported dead: retry EBUSY for up to ~2 s. */
      for (int tries = 0;; tries++)
        {
          if (rmdir (full) == 0 || errno == ENOENT)
            break;
          if (errno != EBUSY || tries >= 200)
            return moat_error_set (err, errno, "remove cgroup `%s`", full);
          struct timespec ts = { 0, 10 * 1000 * 1000 };
          nanosleep (&ts, NULL);
        }
    }
  return 0;
}

int
cgroup_parse_devices (yajl_val resources, const char *docname, struct cg_dev_rule **out, size_t *n,
                      moat_error **err)
{
  *out = NULL;
  *n = 0;
  yajl_val arr = NULL;
  if (resources == NULL || json_get_array (resources, "devices", docname, "linux.resources", &arr, false, err) < 0)
    return resources ? -1 : 0;
  if (arr == NULL)
    return 0;
  size_t len = YAJL_GET_ARRAY (arr)->len;
  struct cg_dev_rule *v = xmalloc0 ((len + 1) * sizeof *v);
  for (size_t i = 0; i < len; i++)
    {
      yajl_val r = YAJL_GET_ARRAY (arr)->values[i];
      cleanup_free char *rp = json_path_index ("linux.resources.devices", i);
      cleanup_free char *type = NULL, *access = NULL;
      v[i].major = v[i].minor = -1;
      if (json_as_object (r, docname, rp, err) < 0
          || json_get_bool (r, "allow", docname, rp, &v[i].allow, true, err) < 0
          || json_get_string (r, "type", docname, rp, &type, false, err) < 0
          || json_get_int64 (r, "major", docname, rp, &v[i].major, false, err) < 0
          || json_get_int64 (r, "minor", docname, rp, &v[i].minor, false, err) < 0
          || json_get_string (r, "access", docname, rp, &access, false, err) < 0)
        goto fail;
      v[i].type = type ? type[0] : 'a';
      if (type && (strlen (type) != 1 || !strchr ("acb", type[0])))
        {
          cleanup_free char *tp = json_path_key (rp, "type");
          json_error (err, docname, tp, "must be \"a\", \"c\" or \"b\"");
          goto fail;
        }
      const char *acc = access ? access : "rwm";
      if (strlen (acc) > 3 || acc[strspn (acc, "rwm")] != '\0')
        {
          cleanup_free char *ap = json_path_key (rp, "access");
          json_error (err, docname, ap, "must be made of r, w and m");
          goto fail;
        }
      snprintf (v[i].access, sizeof v[i].access, "%s", *acc ? acc : "rwm");
    }
  *out = v;
  *n = len;
  return 0;
fail:
  free (v);
  return -1;
}

static int
write_rule (const char *dir, const struct cg_dev_rule *r, moat_error **err)
{
  char line[64], maj[24], min[24];
  if (r->major < 0)
    snprintf (maj, sizeof maj, "*");
  else
    snprintf (maj, sizeof maj, "%lld", (long long) r->major);
  if (r->minor < 0)
    snprintf (min, sizeof min, "*");
  else
    snprintf (min, sizeof min, "%lld", (long long) r->minor);
  int n = r->type == 'a' ? snprintf (line, sizeof line, "a")
                         : snprintf (line, sizeof line, "%c %s:%s %s", r->type, maj, min, r->access);
  cleanup_free char *file = xasprintf ("%s/%s", dir, r->allow ? "devices.allow" : "devices.deny");
  return write_file_at (AT_FDCWD, file, line, (size_t) n, err);
}

/* ---- the v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program ---------- */

struct insns
{
  struct bpf_insn *v;
  size_t n, cap;
};

static void
emit (struct insns *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  if (p->n == p->cap)
    p->v = xrealloc (p->v, (p->cap = p->cap ? p->cap * 2 : 64) * sizeof *p->v);
  struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
  p->v[p->n++] = i;
}

/* The program sees (type | access << 16, major, minor) and returns 1 to
 * allow. v1's semantics, where each rule written overrides the earlier
 * ones, become: check the rules from the last to the first, the first that
 * matches decides; nothing matches: deny. */
static void
build_dev_prog (const struct cg_dev_rule *rules, size_t n, struct insns *p)
{
  /* r2 = type, r3 = access, r4 = major, r5 = minor */
  emit (p, BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
  emit (p, BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xFFFF);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0);
  emit (p, BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
  for (size_t k = n; k-- > 0;)
    {
      const struct cg_dev_rule *r = &rules[k];
      int acc = (strchr (r->access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) | (strchr (r->access, 'r') ? BPF_DEVCG_ACC_READ : 0)
                | (strchr (r->access, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
      /* The block: tests that each jump to the next rule's block on a
       * mismatch, then the verdict (2 insns). A jump's offset is what
       * follows it in the block. */
      int n_type = r->type != 'a' ? 1 : 0, n_acc = acc != 7 ? 3 : 0;
      int n_maj = r->major >= 0 ? 1 : 0, n_min = r->minor >= 0 ? 1 : 0;
      if (n_type)
        emit (p, BPF_JMP | BPF_JNE | BPF_K, 2, 0, (int16_t) (n_acc + n_maj + n_min + 2),
              r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
      if (n_acc)
        {
          /* Every access asked for must be among the rule's. */
          emit (p, BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
          emit (p, BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~acc & 7);
          emit (p, BPF_JMP | BPF_JNE | BPF_K, 1, 0, (int16_t) (n_maj + n_min + 2), 0);
        }
      if (n_maj)
        emit (p, BPF_JMP | BPF_JNE | BPF_K, 4, 0, (int16_t) (n_min + 2), (int32_t) r->major);
      if (n_min)
        emit (p, BPF_JMP | BPF_JNE | BPF_K, 5, 0, 2, (int32_t) r->minor);
      emit (p, BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0);
      emit (p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      /* A rule that matches everything decides for everything left: the
       * verifier refuses code that can never run. */
      if (!n_type && !n_acc && !n_maj && !n_min)
        return;
    }
  emit (p, BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 0);
  emit (p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int
attach_dev_prog (const char *path, const struct cg_dev_rule *rules, size_t n, moat_error **err)
{
  struct insns p = { 0 };
  build_dev_prog (rules, n, &p);
  static char log[65536];
  union bpf_attr la;
  memset (&la, 0, sizeof la);
  la.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  la.insns = (uint64_t) (uintptr_t) p.v;
  la.insn_cnt = (uint32_t) p.n;
  la.license = (uint64_t) (uintptr_t) "Apache-2.0";
  /* Without a log first: a verbose verifier log that overflows its buffer
   * fails the load (ENOSPC). Only a refused program is loaded again with
   * the log on, to say why. */
  int prog = (int) syscall (SYS_bpf, BPF_PROG_LOAD, &la, sizeof la);
  if (prog < 0)
    {
      int e = errno;
      log[0] = '\0';
      la.log_buf = (uint64_t) (uintptr_t) log;
      la.log_size = sizeof log;
      la.log_level = 1;
      (void) syscall (SYS_bpf, BPF_PROG_LOAD, &la, sizeof la);
      free (p.v);
      /* The verifier's last line says what it refused. */
      size_t l = strlen (log);
      while (l && log[l - 1] == '\n')
        log[--l] = '\0';
      const char *last = strrchr (log, '\n');
      return moat_error_set (err, e, "device cgroup: the kernel refused the BPF device filter%s%.200s",
                             *log ? ": " : "", last ? last + 1 : log);
    }
  free (p.v);
  cleanup_free char *dir = xasprintf (CGROUP_ROOT "%s", path);
  cleanup_close int cg = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  union bpf_attr aa;
  memset (&aa, 0, sizeof aa);
  aa.target_fd = (uint32_t) cg;
  aa.attach_bpf_fd = (uint32_t) prog;
  aa.attach_type = BPF_CGROUP_DEVICE;
  aa.attach_flags = BPF_F_ALLOW_MULTI;
  int r = cg < 0 ? -1 : (int) syscall (SYS_bpf, BPF_PROG_ATTACH, &aa, sizeof aa);
  int e = errno;
  close (prog);   /* attached, the program lives with the cgroup */
  if (r < 0)
    return moat_error_set (err, e, "device cgroup: attach the BPF device filter to `%s`", dir);
  return 0;
}

int
cgroup_apply_devices (const char *path, const struct cg_dev_rule *rules, size_t n,
                      const struct moat_config *cfg, bool *applied, moat_error **err)
{
  *applied = false;
  cleanup_free char *dir = xasprintf (CGROUP_ROOT "/devices%s", path);
  struct stat st;
  if (cgroup_detect_layout () == CGROUP_V2)
    {
      /* The same rules, in the same order, as one BPF program. */
      size_t total = 1 + n + 12 + cfg->n_devices;
      cleanup_free struct cg_dev_rule *all = xmalloc0 (total * sizeof *all);
      size_t k = 0;
      all[k++] = (struct cg_dev_rule) { false, 'a', -1, -1, "rwm" };
      for (size_t i = 0; i < n; i++)
        all[k++] = rules[i];
      static const struct cg_dev_rule dflt[] = {
        { true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
        { true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 7, "rwm" },
        { true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 9, "rwm" }, { true, 'c', 5, 0, "rwm" },
        { true, 'c', 5, 1, "rwm" }, { true, 'c', 5, 2, "rwm" }, { true, 'c', 136, -1, "rwm" },
        { true, 'c', 10, 200, "rwm" },
      };
      for (size_t i = 0; i < ARRAY_SIZE (dflt); i++)
        all[k++] = dflt[i];
      for (size_t i = 0; i < cfg->n_devices; i++)
        if (cfg->devices[i].type != 'p')
          all[k++] = (struct cg_dev_rule) { true, cfg->devices[i].type == 'u' ? 'c' : cfg->devices[i].type,
                                            cfg->devices[i].major, cfg->devices[i].minor, "rwm" };
      if (attach_dev_prog (path, all, k, err) < 0)
        return -1;
      *applied = true;
      return 0;
    }
  if (stat (dir, &st) < 0)
    return 0;
  /* What every container needs, after the config's own rules (as runc). */
  static const struct cg_dev_rule defaults[] = {
    { true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
    { true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 7, "rwm" },
    { true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 9, "rwm" }, { true, 'c', 5, 0, "rwm" },
    { true, 'c', 5, 1, "rwm" }, { true, 'c', 5, 2, "rwm" }, { true, 'c', 136, -1, "rwm" },
    { true, 'c', 10, 200, "rwm" },
  };
  static const struct cg_dev_rule deny_all = { false, 'a', -1, -1, "rwm" };
  if (write_rule (dir, &deny_all, err) < 0)
    return moat_error_wrap (err, "device cgroup");
  for (size_t i = 0; i < n; i++)
    if (write_rule (dir, &rules[i], err) < 0)
      return moat_error_wrap (err, "linux.resources.devices[%zu]", i);
  for (size_t i = 0; i < ARRAY_SIZE (defaults); i++)
    if (write_rule (dir, &defaults[i], err) < 0)
      return moat_error_wrap (err, "device cgroup");
  for (size_t i = 0; i < cfg->n_devices; i++)
    {
      const struct moat_device *d = &cfg->devices[i];
      if (d->type == 'p')
        continue;
      struct cg_dev_rule r = { true, d->type == 'u' ? 'c' : d->type, d->major, d->minor, "rwm" };
      if (write_rule (dir, &r, err) < 0)
        return moat_error_wrap (err, "linux.devices[%zu]", i);
    }
  *applied = true;
  return 0;
}

/* A number from DIR/FILE (0 when unreadable): stats, and the checks
 * resources make against current usage. */
unsigned long long
cgroup_read_ull (const char *dir, const char *file)
{
  cleanup_free char *f = xasprintf ("%s/%s", dir, file);
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  if (read_file (f, &text, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return 0;
    }
  return strtoull (text, NULL, 10);
}

/* ---- freezer ------------------------------------------------------------- */

bool
cgroup_is_frozen (const char *path)
{
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  bool frozen = false;
  if (cgroup_detect_layout () == CGROUP_V2)
    {
      cleanup_free char *f = xasprintf (CGROUP_ROOT "%s/cgroup.events", path);
      if (read_file (f, &text, NULL, &e) == 0)
        frozen = strstr (text, "frozen 1") != NULL;
    }
  else
    {
      cleanup_free char *f = xasprintf (CGROUP_ROOT "/freezer%s/freezer.state", path);
      if (read_file (f, &text, NULL, &e) == 0)
        frozen = strncmp (text, "FROZEN", 6) == 0;
    }
  moat_error_free (&e);
  return frozen;
}

int
cgroup_freeze (const char *path, bool freeze, moat_error **err)
{
  bool v2 = cgroup_detect_layout () == CGROUP_V2;
  cleanup_free char *f = v2 ? xasprintf (CGROUP_ROOT "%s/cgroup.freeze", path)
                            : xasprintf (CGROUP_ROOT "/freezer%s/freezer.state", path);
  const char *val = v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
  if (write_file_at (AT_FDCWD, f, val, strlen (val), err) < 0)
    return moat_error_wrap (err, "%s the container's cgroup", freeze ? "freeze" : "thaw");
  /* The kernel freezes asynchronously: wait until it says it is done. */
  for (int i = 0; i < 1000; i++)
    {
      if (cgroup_is_frozen (path) == freeze)
        return 0;
      struct timespec ts = { 0, 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return moat_error_set (err, ETIMEDOUT, "%s the container's cgroup", freeze ? "freeze" : "thaw");
}

/* ---- watching the limits -------------------------------------------------- */

struct cg_watch
{
  bool v2;
  char *mem_dir, *pids_dir;
  int oom_efd;              /* v1: eventfd registered on memory.oom_control */
  int pev_fd, mev_fd;       /* pids.events, v2 memory.events: polled for EPOLLPRI */
  unsigned long last_oom, last_max;
  bool gone;                /* the cgroup was removed under the watch */
  char mem_limit[64], pids_limit[64];   /* as last read: what a gone cgroup had */
};

static unsigned long
counter_in (const char *text, const char *key)
{
  size_t kl = strlen (key);
  for (const char *p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, key, kl) == 0 && p[kl] == ' ')
      return strtoul (p + kl + 1, NULL, 10);
  return 0;
}

static unsigned long
counter (const char *file, const char *key)
{
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  if (read_file (file, &text, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return 0;
    }
  return counter_in (text, key);
}

/* An events file read through the fd opened when the watch began (which
 * also re-arms its POLLPRI). Under systemd the scope's cgroup is removed
 * by systemd the moment its last process is gone, racing this read: the
 * kernel then answers ENODEV (the node is gone) and *gone says so, where
 * a read by path would have answered a quiet 0. -1: not read. */
static long long
counter_fd (int fd, const char *key, bool *gone)
{
  char buf[4096];
  ssize_t n = fd >= 0 ? pread (fd, buf, sizeof buf - 1, 0) : -1;
  if (n < 0)
    {
      if (fd >= 0 && (errno == ENODEV || errno == ENOENT))
        *gone = true;
      return -1;
    }
  buf[n] = '\0';
  return (long long) counter_in (buf, key);
}

static void
first_line (const char *file, char *out, size_t n)
{
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  out[0] = '\0';
  if (read_file (file, &text, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return;
    }
  text[strcspn (text, "\n")] = '\0';
  snprintf (out, n, "%s", text);
}

int
cgroup_watch_open (const char *path, struct cg_watch **out, moat_error **err)
{
  struct cg_watch *w = xmalloc0 (sizeof *w);
  w->v2 = cgroup_detect_layout () == CGROUP_V2;
  w->oom_efd = w->pev_fd = w->mev_fd = -1;
  w->mem_dir = w->v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/memory%s", path);
  w->pids_dir = w->v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/pids%s", path);
  /* A cgroup's events file polls with POLLPRI when the kernel changes it
   * (kernfs_notify), until it is read again. Not inotify: closing an
   * inotify instance waits for an SRCU grace period (about 10 ms), and the
   * supervisor's exit is on the path of every `moat delete`. */
  cleanup_free char *pev = xasprintf ("%s/pids.events", w->pids_dir);
  w->pev_fd = open (pev, O_RDONLY | O_CLOEXEC);
  if (w->pev_fd < 0 && errno != ENOENT)
    {
      int e = errno;
      cgroup_watch_close (w);
      return moat_error_set (err, e, "open %s", pev);
    }
  if (w->v2)
    {
      cleanup_free char *mev = xasprintf ("%s/memory.events", w->mem_dir);
      w->mev_fd = open (mev, O_RDONLY | O_CLOEXEC);
    }
  else
    {
      /* v1 tells OOMs through an eventfd registered in cgroup.event_control. */
      cleanup_free char *oc = xasprintf ("%s/memory.oom_control", w->mem_dir);
      cleanup_free char *ec = xasprintf ("%s/cgroup.event_control", w->mem_dir);
      int ofd = open (oc, O_RDONLY | O_CLOEXEC);
      w->oom_efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (ofd >= 0 && w->oom_efd >= 0)
        {
          char line[64];
          int n = snprintf (line, sizeof line, "%d %d", w->oom_efd, ofd);
          moat_error *e = NULL;
          if (write_file_at (AT_FDCWD, ec, line, (size_t) n, &e) < 0)
            moat_error_free (&e);
        }
      if (ofd >= 0)
        close (ofd);
    }
  /* The counts so far (what comes later is news) and the limits, read
   * once, as every later read does. */
  unsigned long ignore_o, ignore_m;
  char ignore_l[96], ignore_p[96];
  cgroup_watch_read (w, &ignore_o, &ignore_m, ignore_l, sizeof ignore_l, ignore_p, sizeof ignore_p);
  *out = w;
  return 0;
}

void
cgroup_watch_close (struct cg_watch *w)
{
  if (w == NULL)
    return;
  if (w->oom_efd >= 0)
    close (w->oom_efd);
  if (w->pev_fd >= 0)
    close (w->pev_fd);
  if (w->mev_fd >= 0)
    close (w->mev_fd);
  free (w->mem_dir);
  free (w->pids_dir);
  free (w);
}

void
cgroup_watch_fds (const struct cg_watch *w, int fds[4])
{
  fds[0] = w->oom_efd;    /* EPOLLIN */
  fds[1] = w->pev_fd;     /* EPOLLPRI */
  fds[2] = w->mev_fd;     /* EPOLLPRI */
  fds[3] = -1;
}

void
cgroup_watch_read (struct cg_watch *w, unsigned long *ooms, unsigned long *refused,
                   char *mem_limit, size_t ml, char *pids_limit, size_t pl)
{
  uint64_t v;
  if (w->oom_efd >= 0)
    while (read (w->oom_efd, &v, sizeof v) > 0)
      ;
  long long o = counter_fd (w->mev_fd, "oom_kill", &w->gone);
  long long m = counter_fd (w->pev_fd, "max", &w->gone);
  if (o < 0 && w->mev_fd < 0)
    {
      /* v1 (memory.oom_control), or v2 without a memory.events when the watch began */
      cleanup_free char *oomf = w->v2 ? xasprintf ("%s/memory.events", w->mem_dir)
                                      : xasprintf ("%s/memory.oom_control", w->mem_dir);
      o = (long long) counter (oomf, "oom_kill");
    }
  if (m < 0 && w->pev_fd < 0)
    {
      cleanup_free char *pev = xasprintf ("%s/pids.events", w->pids_dir);
      m = (long long) counter (pev, "max");
    }
  /* A count that could not be read is not a count of 0: what was seen stays. */
  *ooms = o >= 0 && (unsigned long) o > w->last_oom ? (unsigned long) o - w->last_oom : 0;
  *refused = m >= 0 && (unsigned long) m > w->last_max ? (unsigned long) m - w->last_max : 0;
  if (o >= 0)
    w->last_oom = (unsigned long) o;
  if (m >= 0)
    w->last_max = (unsigned long) m;
  if (!w->gone)
    {
      cleanup_free char *mlf = w->v2 ? xasprintf ("%s/memory.max", w->mem_dir)
                                     : xasprintf ("%s/memory.limit_in_bytes", w->mem_dir);
      cleanup_free char *plf = xasprintf ("%s/pids.max", w->pids_dir);
      char val[64];
      first_line (mlf, val, sizeof val);
      if (*val)
        snprintf (w->mem_limit, sizeof w->mem_limit, "%s", val);
      first_line (plf, val, sizeof val);
      if (*val)
        snprintf (w->pids_limit, sizeof w->pids_limit, "%s", val);
    }
  snprintf (mem_limit, ml, "%s=%s", w->v2 ? "memory.max" : "memory.limit_in_bytes", w->mem_limit);
  snprintf (pids_limit, pl, "pids.max=%s", w->pids_limit);
}

bool
cgroup_watch_gone (const struct cg_watch *w)
{
  return w->gone;
}

/* ---- statistics ------------------------------------------------------------ */

/* A "key value" file (cpu.stat, memory.stat) as a JSON object of numbers. */
static void
kv_object (struct jbuf *j, const char *key, const char *dir, const char *file)
{
  cleanup_free char *f = xasprintf ("%s/%s", dir, file);
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  jb_obj_open (j, key);
  if (read_file (f, &text, NULL, &e) == 0)
    {
      char *save = NULL;
      for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          char *sp = strchr (line, ' ');
          if (sp == NULL)
            continue;
          *sp = '\0';
          jb_int (j, line, (long long) strtoull (sp + 1, NULL, 10));
        }
    }
  moat_error_free (&e);
  jb_obj_close (j);
}

static unsigned long long
kv_get (const char *dir, const char *file, const char *key)
{
  cleanup_free char *f = xasprintf ("%s/%s", dir, file);
  return counter (f, key);
}

/* runc's blkio stats: {"ioServiceBytesRecursive": [{major, minor, op, value}],
 * "ioServicedRecursive": [...]}, from v1's throttle counters or v2's io.stat. */
static void
blkio_entry (struct jbuf *j, bool *first, unsigned maj, unsigned min, const char *op, unsigned long long v)
{
  char b[160];
  snprintf (b, sizeof b, "%s{\"major\":%u,\"minor\":%u,\"op\":\"%s\",\"value\":%llu}", *first ? "" : ",",
            maj, min, op, v);
  jb_append (j, b);
  *first = false;
}

static void
blkio_list (struct jbuf *j, const char *key, const char *path, bool v2, bool bytes)
{
  jb_key (j, key);
  jb_append (j, "[");
  bool first = true;
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  cleanup_free char *f = v2 ? xasprintf (CGROUP_ROOT "%s/io.stat", path)
                            : xasprintf (CGROUP_ROOT "/blkio%s/%s", path, bytes ? "blkio.throttle.io_service_bytes_recursive"
                                                                                 : "blkio.throttle.io_serviced_recursive");
  if (read_file (f, &text, NULL, &e) == 0)
    {
      char *save = NULL;
      for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          unsigned maj, min;
          if (sscanf (line, "%u:%u", &maj, &min) != 2)
            continue;
          if (v2)
            {
              /* "8:0 rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" */
              const char *rk = bytes ? "rbytes=" : "rios=", *wk = bytes ? "wbytes=" : "wios=";
              char *rp = strstr (line, rk), *wp = strstr (line, wk);
              unsigned long long r = rp ? strtoull (rp + strlen (rk), NULL, 10) : 0;
              unsigned long long w = wp ? strtoull (wp + strlen (wk), NULL, 10) : 0;
              blkio_entry (j, &first, maj, min, "Read", r);
              blkio_entry (j, &first, maj, min, "Write", w);
              blkio_entry (j, &first, maj, min, "Total", r + w);
            }
          else
            {
              /* "8:0 Read 1234" */
              char op[16];
              unsigned long long v;
              if (sscanf (line, "%*u:%*u %15s %llu", op, &v) == 2)
                blkio_entry (j, &first, maj, min, op, v);
            }
        }
    }
  moat_error_free (&e);
  jb_append (j, "]");
}

static void
blkio_stats (struct jbuf *j, const char *path, bool v2)
{
  jb_obj_open (j, "blkio");
  blkio_list (j, "ioServiceBytesRecursive", path, v2, true);
  blkio_list (j, "ioServicedRecursive", path, v2, false);
  jb_obj_close (j);
}

void
cgroup_stats (const char *path, struct jbuf *j)
{
  bool v2 = cgroup_detect_layout () == CGROUP_V2;
  cleanup_free char *cpu = v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/cpu%s", path);
  cleanup_free char *acct = v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/cpuacct%s", path);
  cleanup_free char *mem = v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/memory%s", path);
  cleanup_free char *pids = v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/pids%s", path);
  jb_obj_open (j, "data");

  jb_obj_open (j, "cpu");
  jb_obj_open (j, "usage");
  if (v2)
    {
      jb_int (j, "total", (long long) kv_get (cpu, "cpu.stat", "usage_usec") * 1000);
      jb_int (j, "user", (long long) kv_get (cpu, "cpu.stat", "user_usec") * 1000);
      jb_int (j, "kernel", (long long) kv_get (cpu, "cpu.stat", "system_usec") * 1000);
    }
  else
    {
      /* cpuacct.stat counts USER_HZ ticks (100 per second). */
      jb_int (j, "total", (long long) cgroup_read_ull (acct, "cpuacct.usage"));
      jb_int (j, "user", (long long) kv_get (acct, "cpuacct.stat", "user") * 10000000LL);
      jb_int (j, "kernel", (long long) kv_get (acct, "cpuacct.stat", "system") * 10000000LL);
    }
  jb_obj_close (j);
  jb_obj_open (j, "throttling");
  jb_int (j, "periods", (long long) kv_get (cpu, "cpu.stat", "nr_periods"));
  jb_int (j, "throttledPeriods", (long long) kv_get (cpu, "cpu.stat", "nr_throttled"));
  jb_int (j, "throttledTime", v2 ? (long long) kv_get (cpu, "cpu.stat", "throttled_usec") * 1000
                                 : (long long) kv_get (cpu, "cpu.stat", "throttled_time"));
  jb_obj_close (j);
  jb_obj_close (j);

  jb_obj_open (j, "memory");
  jb_obj_open (j, "usage");
  if (v2)
    {
      jb_int (j, "usage", (long long) cgroup_read_ull (mem, "memory.current"));
      jb_int (j, "max", (long long) cgroup_read_ull (mem, "memory.peak"));
      unsigned long long lim = cgroup_read_ull (mem, "memory.max");
      jb_int (j, "limit", (long long) (lim ? lim : ~0ULL >> 1));
      jb_int (j, "failcnt", (long long) kv_get (mem, "memory.events", "max"));
    }
  else
    {
      jb_int (j, "usage", (long long) cgroup_read_ull (mem, "memory.usage_in_bytes"));
      jb_int (j, "max", (long long) cgroup_read_ull (mem, "memory.max_usage_in_bytes"));
      jb_int (j, "limit", (long long) cgroup_read_ull (mem, "memory.limit_in_bytes"));
      jb_int (j, "failcnt", (long long) cgroup_read_ull (mem, "memory.failcnt"));
    }
  jb_obj_close (j);
  kv_object (j, "raw", mem, "memory.stat");
  jb_obj_close (j);

  blkio_stats (j, path, v2);

  jb_obj_open (j, "pids");
  jb_int (j, "current", (long long) cgroup_read_ull (pids, "pids.current"));
  jb_int (j, "limit", (long long) cgroup_read_ull (pids, "pids.max"));   /* 0: unlimited ("max") */
  jb_obj_close (j);

  jb_obj_close (j);
}
