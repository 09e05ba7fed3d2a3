/* moat — the cgroup wall's resource limits (linux.resources): parsed with
 * their JSON paths, then written into the container's cgroup, v1 files or
 * v2 ones (with v1 values converted as runc converts them). Split from
 * cgroup.c, which keeps the cgroup's life (where, create, enter, freeze,
 * watch, remove). */
#include "config-host.h"
#include "cgroup.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

/* ---- resources ---------------------------------------------------------- */

static int
parse_dev_values (yajl_val obj, const char *key, const char *doc, const char *parent, const char *vkey,
                  struct cg_dev_value **out, size_t *n, moat_error **err)
{
  yajl_val arr = NULL;
  cleanup_free char *p = json_path_key (parent, key);
  if (json_get_array (obj, key, doc, parent, &arr, false, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  size_t len = YAJL_GET_ARRAY (arr)->len;
  *out = xmalloc0 ((len + 1) * sizeof **out);
  for (size_t i = 0; i < len; i++)
    {
      yajl_val e = YAJL_GET_ARRAY (arr)->values[i];
      cleanup_free char *ep = json_path_index (p, i);
      if (json_as_object (e, doc, ep, err) < 0
          || json_get_int64 (e, "major", doc, ep, &(*out)[i].major, true, err) < 0
          || json_get_int64 (e, "minor", doc, ep, &(*out)[i].minor, true, err) < 0
          || json_get_uint64 (e, vkey, doc, ep, &(*out)[i].value, true, err) < 0)
        return -1;
    }
  *n = len;
  return 0;
}

static int
parse_blkio (yajl_val res, const char *doc, struct cg_resources *r, moat_error **err)
{
  yajl_val b = NULL;
  const char *P = "linux.resources.blockIO";
  if (json_get_object (res, "blockIO", doc, "linux.resources", &b, false, err) < 0)
    return -1;
  if (b == NULL)
    return 0;
  if (json_get_uint64 (b, "weight", doc, P, &r->blkio_weight, false, err) < 0)
    return -1;
  r->has_blkio_weight = json_lookup (b, "weight") != NULL;
  if (json_lookup (b, "leafWeight"))
    log_warning ("%s.leafWeight: obsolete (removed from Linux), not applied", P);
  static const char *const keys[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                      "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  if (parse_dev_values (b, "weightDevice", doc, P, "weight", &r->weight_dev, &r->n_weight_dev, err) < 0)
    return -1;
  for (int i = 0; i < 4; i++)
    if (parse_dev_values (b, keys[i], doc, P, "rate", &r->throttle[i], &r->n_throttle[i], err) < 0)
      return -1;
  return 0;
}

static int
parse_huge (yajl_val res, const char *doc, struct cg_resources *r, moat_error **err)
{
  yajl_val arr = NULL;
  if (json_get_array (res, "hugepageLimits", doc, "linux.resources", &arr, false, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  size_t len = YAJL_GET_ARRAY (arr)->len;
  r->huge_sizes = xmalloc0 ((len + 1) * sizeof (char *));
  r->huge_limits = xmalloc0 ((len + 1) * sizeof (uint64_t));
  for (size_t i = 0; i < len; i++)
    {
      yajl_val e = YAJL_GET_ARRAY (arr)->values[i];
      cleanup_free char *ep = json_path_index ("linux.resources.hugepageLimits", i);
      if (json_as_object (e, doc, ep, err) < 0
          || json_get_string (e, "pageSize", doc, ep, &r->huge_sizes[i], true, err) < 0
          || json_get_uint64 (e, "limit", doc, ep, &r->huge_limits[i], true, err) < 0)
        return -1;
      r->n_huge = i + 1;
      if (strchr (r->huge_sizes[i], '/') || strchr (r->huge_sizes[i], '.'))
        {
          cleanup_free char *pp = json_path_key (ep, "pageSize");
          return json_error (err, doc, pp, "not a page size like \"2MB\"");
        }
    }
  return 0;
}

static int
parse_network (yajl_val res, const char *doc, struct cg_resources *r, moat_error **err)
{
  const char *P = "linux.resources.network";
  yajl_val net = NULL, arr = NULL;
  if (json_get_object (res, "network", doc, "linux.resources", &net, false, err) < 0)
    return -1;
  if (net == NULL)
    return 0;
  if (json_get_uint32 (net, "classID", doc, P, &r->class_id, false, err) < 0
      || json_get_array (net, "priorities", doc, P, &arr, false, err) < 0)
    return -1;
  r->has_class_id = json_lookup (net, "classID") != NULL;
  size_t len = arr ? YAJL_GET_ARRAY (arr)->len : 0;
  r->prio_names = xmalloc0 ((len + 1) * sizeof (char *));
  r->prio_values = xmalloc0 ((len + 1) * sizeof (uint32_t));
  for (size_t i = 0; i < len; i++)
    {
      yajl_val e = YAJL_GET_ARRAY (arr)->values[i];
      cleanup_free char *ep = json_path_index ("linux.resources.network.priorities", i);
      if (json_as_object (e, doc, ep, err) < 0
          || json_get_string (e, "name", doc, ep, &r->prio_names[i], true, err) < 0
          || json_get_uint32 (e, "priority", doc, ep, &r->prio_values[i], true, err) < 0)
        return -1;
      r->n_prio = i + 1;
      /* net_prio.ifpriomap takes "NAME PRIO": a name with a blank would
       * write another line. */
      if (!*r->prio_names[i] || strpbrk (r->prio_names[i], " \t\n/"))
        {
          cleanup_free char *np = json_path_key (ep, "name");
          return json_error (err, doc, np, "not an interface name");
        }
    }
  return 0;
}

static int
parse_rdma (yajl_val res, const char *doc, struct cg_resources *r, moat_error **err)
{
  yajl_val rd = NULL;
  if (json_get_object (res, "rdma", doc, "linux.resources", &rd, false, err) < 0)
    return -1;
  if (rd == NULL)
    return 0;
  size_t len = YAJL_GET_OBJECT (rd)->len;
  r->rdma_devices = xmalloc0 ((len + 1) * sizeof (char *));
  r->rdma_handles = xmalloc0 ((len + 1) * sizeof (int64_t));
  r->rdma_objects = xmalloc0 ((len + 1) * sizeof (int64_t));
  for (size_t i = 0; i < len; i++)
    {
      const char *dev = YAJL_GET_OBJECT (rd)->keys[i];
      yajl_val e = YAJL_GET_OBJECT (rd)->values[i];
      cleanup_free char *ep = json_path_key ("linux.resources.rdma", dev);
      uint32_t h = 0, o = 0;
      if (json_as_object (e, doc, ep, err) < 0
          || json_get_uint32 (e, "hcaHandles", doc, ep, &h, false, err) < 0
          || json_get_uint32 (e, "hcaObjects", doc, ep, &o, false, err) < 0)
        return -1;
      bool has_h = json_lookup (e, "hcaHandles") != NULL, has_o = json_lookup (e, "hcaObjects") != NULL;
      if (!has_h && !has_o)
        return json_error (err, doc, ep, "needs hcaHandles or hcaObjects (or both)");
      if (!*dev || strpbrk (dev, " \t\n/="))
        return json_error (err, doc, ep, "not an RDMA device name");
      r->rdma_devices[i] = xstrdup (dev);
      r->rdma_handles[i] = has_h ? (int64_t) h : -1;
      r->rdma_objects[i] = has_o ? (int64_t) o : -1;
      r->n_rdma = i + 1;
    }
  return 0;
}

uint64_t
cgroup_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares <= 2)
    return 1;
  if (shares >= 262144)
    return 10000;
  /* A quadratic in log2(shares) through (1, 0), (10, 2) and (18, 4) in
   * log10(weight) space: the old linear map gave the default 1024 shares a
   * weight of 39, not v2's 100. */
  double l = log2 ((double) shares);
  double e = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return (uint64_t) ceil (pow (10, e));
}

int
cgroup_parse_resources (yajl_val res, const char *doc, struct cg_resources *r, moat_error **err)
{
  memset (r, 0, sizeof *r);
  if (res == NULL)
    return 0;
  const char *P = "linux.resources";
  yajl_val mem = NULL, cpu = NULL, pids = NULL;
  if (json_get_object (res, "memory", doc, P, &mem, false, err) < 0
      || json_get_object (res, "cpu", doc, P, &cpu, false, err) < 0
      || json_get_object (res, "pids", doc, P, &pids, false, err) < 0)
    return -1;
  if (mem)
    {
      const char *MP = "linux.resources.memory";
      if (json_get_int64 (mem, "limit", doc, MP, &r->mem_limit, false, err) < 0
          || json_get_int64 (mem, "reservation", doc, MP, &r->mem_reservation, false, err) < 0
          || json_get_int64 (mem, "swap", doc, MP, &r->mem_swap, false, err) < 0
          || json_get_uint64 (mem, "swappiness", doc, MP, &r->swappiness, false, err) < 0
          || json_get_bool (mem, "disableOOMKiller", doc, MP, &r->disable_oom_killer, false, err) < 0
          || json_get_bool (mem, "checkBeforeUpdate", doc, MP, &r->check_before_update, false, err) < 0)
        return -1;
      r->has_mem_limit = json_lookup (mem, "limit") != NULL;
      r->has_mem_reservation = json_lookup (mem, "reservation") != NULL;
      r->has_mem_swap = json_lookup (mem, "swap") != NULL;
      r->has_swappiness = json_lookup (mem, "swappiness") != NULL;
      if (r->has_swappiness && r->swappiness > 100)
        return json_error (err, doc, "linux.resources.memory.swappiness", "must be 0 to 100");
      /* v1's memory.use_hierarchy is fixed at 1 since Linux 6.1 (and v2 is
       * hierarchical); an explicit false cannot be had. */
      bool hier = true;
      if (json_get_bool (mem, "useHierarchy", doc, MP, &hier, false, err) < 0)
        return -1;
      if (!hier)
        log_warning ("linux.resources.memory.useHierarchy: false is not applied (the kernel accounts hierarchically)");
      if (json_lookup (mem, "kernel") || json_lookup (mem, "kernelTCP"))
        log_warning ("linux.resources.memory.kernel: kernel memory limits are deprecated and not applied");
    }
  if (cpu)
    {
      const char *CP = "linux.resources.cpu";
      if (json_get_uint64 (cpu, "shares", doc, CP, &r->shares, false, err) < 0
          || json_get_int64 (cpu, "quota", doc, CP, &r->quota, false, err) < 0
          || json_get_uint64 (cpu, "period", doc, CP, &r->period, false, err) < 0
          || json_get_string (cpu, "cpus", doc, CP, &r->cpus, false, err) < 0
          || json_get_string (cpu, "mems", doc, CP, &r->mems, false, err) < 0)
        return -1;
      r->has_shares = json_lookup (cpu, "shares") != NULL;
      r->has_quota = json_lookup (cpu, "quota") != NULL;
      r->has_period = json_lookup (cpu, "period") != NULL;
      if (json_get_int64 (cpu, "realtimeRuntime", doc, CP, &r->rt_runtime, false, err) < 0
          || json_get_uint64 (cpu, "realtimePeriod", doc, CP, &r->rt_period, false, err) < 0)
        return -1;
      r->has_rt_runtime = json_lookup (cpu, "realtimeRuntime") != NULL;
      r->has_rt_period = json_lookup (cpu, "realtimePeriod") != NULL;
      if (json_get_uint64 (cpu, "burst", doc, CP, &r->burst, false, err) < 0
          || json_get_int64 (cpu, "idle", doc, CP, &r->idle, false, err) < 0)
        return -1;
      r->has_burst = json_lookup (cpu, "burst") != NULL;
      r->has_idle = json_lookup (cpu, "idle") != NULL;
      /* The spec lets a runtime refuse a burst above a positive quota; the
       * kernel would refuse it later with a bare EINVAL. */
      if (r->has_burst && r->has_quota && r->quota > 0 && r->burst > (uint64_t) r->quota)
        return json_error (err, doc, "linux.resources.cpu.burst", "%llu is more than the quota (%lld)",
                           (unsigned long long) r->burst, (long long) r->quota);
      if (r->has_idle && r->idle != 0 && r->idle != 1)
        return json_error (err, doc, "linux.resources.cpu.idle", "must be 0 or 1");
    }
  if (pids)
    {
      /* Optional since runtime-spec 1.3: absent leaves pids.max alone, -1
       * (any negative) is "max", 0 is a limit of 0 like any other number
       * (runc follows from 1.4; it wrote "max" for 0 before, and so did moat). */
      if (json_get_int64 (pids, "limit", doc, "linux.resources.pids", &r->pids_limit, false, err) < 0)
        return -1;
      r->has_pids = json_lookup (pids, "limit") != NULL;
    }
  if (json_get_string_map (res, "unified", doc, P, &r->unified_keys, &r->unified_values, &r->n_unified, false, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_unified; i++)
    if (strchr (r->unified_keys[i], '/') || r->unified_keys[i][0] == '.')
      {
        cleanup_free char *kp = json_path_key ("linux.resources.unified", r->unified_keys[i]);
        return json_error (err, doc, kp, "not a cgroup file name");
      }
  if (parse_blkio (res, doc, r, err) < 0 || parse_huge (res, doc, r, err) < 0)
    return -1;
  if (parse_network (res, doc, r, err) < 0 || parse_rdma (res, doc, r, err) < 0)
    return -1;
  return 0;
}

void
cgroup_resources_free (struct cg_resources *r)
{
  free (r->cpus);
  free (r->mems);
  strv_free (r->unified_keys);
  strv_free (r->unified_values);
  strv_free (r->prio_names);
  free (r->prio_values);
  strv_free (r->rdma_devices);
  free (r->rdma_handles);
  free (r->rdma_objects);
  free (r->weight_dev);
  for (int i = 0; i < 4; i++)
    free (r->throttle[i]);
  strv_free (r->huge_sizes);
  free (r->huge_limits);
  memset (r, 0, sizeof *r);
}

static int
put (const char *dir, const char *file, const char *what, moat_error **err, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

static int
put (const char *dir, const char *file, const char *what, moat_error **err, const char *fmt, ...)
{
  char val[128];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (val, sizeof val, fmt, ap);
  va_end (ap);
  cleanup_free char *path = xasprintf ("%s/%s", dir, file);
  if (write_file_at (AT_FDCWD, path, val, (size_t) n, err) < 0)
    return moat_error_wrap (err, "linux.resources.%s", what);
  return 0;
}

static bool
exists (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0;
}


/* The hugetlb reservation limit next to the fault one: where the kernel
 * accounts reservations (Linux 5.7), the spec wants hugepageLimits to limit
 * them too, so that a process gets ENOMEM at mmap time rather than SIGBUS
 * at a fault. Kernels without it keep the fault limit alone. */
static int
put_rsvd (const char *dir, const char *size, const char *suffix, uint64_t limit, moat_error **err)
{
  cleanup_free char *f = xasprintf ("hugetlb.%s.%s", size, suffix);
  cleanup_free char *full = xasprintf ("%s/%s", dir, f);
  if (!exists (full))
    return 0;
  return put (dir, f, "hugepageLimits", err, "%llu", (unsigned long long) limit);
}

/* rdma.max takes one line per device: "DEV hca_handle=N hca_object=M". */
static int
put_rdma (const char *dir, const struct cg_resources *r, moat_error **err)
{
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      char h[32], o[32];
      if (r->rdma_handles[i] < 0)
        snprintf (h, sizeof h, "max");
      else
        snprintf (h, sizeof h, "%lld", (long long) r->rdma_handles[i]);
      if (r->rdma_objects[i] < 0)
        snprintf (o, sizeof o, "max");
      else
        snprintf (o, sizeof o, "%lld", (long long) r->rdma_objects[i]);
      if (put (dir, "rdma.max", "rdma", err, "%s hca_handle=%s hca_object=%s", r->rdma_devices[i], h, o) < 0)
        return -1;
    }
  return 0;
}

/* A v1 controller's directory for PATH: /sys/fs/cgroup/CTL (a link to a
 * joint mount such as net_cls,net_prio on most hosts), else the joint
 * mount's own name. NULL: the controller is not mounted. */
static char *
v1_dir (const char *ctl, const char *path)
{
  cleanup_free char *direct = xasprintf (CGROUP_ROOT "/%s", ctl);
  if (exists (direct))
    return xasprintf ("%s%s", direct, path);
  cleanup_dir DIR *d = opendir (CGROUP_ROOT);
  struct dirent *de;
  size_t l = strlen (ctl);
  while (d && (de = readdir (d)) != NULL)
    for (const char *p = de->d_name; (p = strstr (p, ctl)) != NULL; p += l)
      if ((p == de->d_name || p[-1] == ',') && (p[l] == ',' || p[l] == '\0'))
        return xasprintf (CGROUP_ROOT "/%s%s", de->d_name, path);
  return NULL;
}

/* The limits only some kernels (or I/O schedulers) have a file for, and the
 * controllers they need, checked before a single limit is written: a call
 * one of them cannot take changes nothing (an update of --memory and
 * --cpu-idle on a kernel without cpu.idle must not leave the memory limit
 * changed). Errors name update's flag when the limits came from flags. */
struct optional_limit
{
  bool wanted;
  const char *field, *flag;     /* "linux.resources.cpu.idle", "--cpu-idle" */
  const char *ctl;              /* v1 hierarchy ("cpu"); v2 controller */
  const char *v1[2], *v2[2];    /* the files, any one of which will do; v2[0] NULL: none on v2 */
  const char *why;              /* said when no file is there */
};

static int
preflight (const char *path, bool v2, const struct cg_resources *r, moat_error **err)
{
  const struct optional_limit lims[] = {
    { r->has_burst, "cpu.burst", "--cpu-burst", "cpu", { "cpu.cfs_burst_us" }, { "cpu.max.burst" },
      "this kernel has no CFS bandwidth bursts (Linux 5.14)" },
    { r->has_idle, "cpu.idle", "--cpu-idle", "cpu", { "cpu.idle" }, { "cpu.idle" }, "this kernel has no SCHED_IDLE groups (Linux 5.15)" },
    { r->has_rt_runtime, "cpu.realtimeRuntime", "--cpu-rt-runtime", "cpu", { "cpu.rt_runtime_us" }, { NULL },
      "this kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)" },
    { r->has_rt_period, "cpu.realtimePeriod", "--cpu-rt-period", "cpu", { "cpu.rt_period_us" }, { NULL },
      "this kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)" },
    { r->has_blkio_weight || r->n_weight_dev, "blockIO.weight", "--blkio-weight", v2 ? "io" : "blkio",
      { "blkio.weight", "blkio.bfq.weight" }, { "io.bfq.weight", "io.weight" },
      "this host's I/O schedulers take no weights (BFQ, or CFQ before Linux 5.0, would)" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (lims); i++)
    {
      const struct optional_limit *l = &lims[i];
      if (!l->wanted)
        continue;
      cleanup_free char *field = xasprintf ("linux.resources.%s", l->field);
      const char *name = r->named_by_flags ? l->flag : field;
      if (v2 && l->v2[0] == NULL)
        return moat_error_set (err, 0, "%s: cgroup v2 has no real-time group scheduling", name);
      cleanup_free char *dir = v2 ? xasprintf (CGROUP_ROOT "%s", path) : xasprintf (CGROUP_ROOT "/%s%s", l->ctl, path);
      if (!exists (dir))
        return moat_error_set (err, 0, "%s: no %s controller on this host", name, l->ctl);
      const char *const *files = v2 ? l->v2 : l->v1;
      bool found = false;
      for (size_t k = 0; k < 2 && files[k] && !found; k++)
        {
          cleanup_free char *f = xasprintf ("%s/%s", dir, files[k]);
          found = exists (f);
        }
      if (!found)
        return moat_error_set (err, 0, "%s: %s (no %s%s%s in the container's cgroup)", name,
                               l->why, files[0], files[1] ? " or " : "", files[1] ? files[1] : "");
    }
  return 0;
}

static int
apply_v1 (const char *path, const struct cg_resources *r, moat_error **err)
{
  if (preflight (path, false, r, err) < 0)
    return -1;
  cleanup_free char *mem = xasprintf (CGROUP_ROOT "/memory%s", path);
  cleanup_free char *pids = xasprintf (CGROUP_ROOT "/pids%s", path);
  cleanup_free char *cpu = xasprintf (CGROUP_ROOT "/cpu%s", path);
  cleanup_free char *cpuset = xasprintf (CGROUP_ROOT "/cpuset%s", path);
  if ((r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap || r->has_swappiness || r->disable_oom_killer)
      && !exists (mem))
    return moat_error_set (err, 0, "linux.resources.memory: no memory controller on this host");
  if (r->has_mem_limit && r->check_before_update && r->mem_limit >= 0
      && (unsigned long long) r->mem_limit < cgroup_read_ull (mem, "memory.usage_in_bytes"))
    return moat_error_set (err, 0, "linux.resources.memory.limit: %lld is below the current usage (checkBeforeUpdate)",
                           (long long) r->mem_limit);
  if (r->has_mem_limit && put (mem, "memory.limit_in_bytes", "memory.limit", err, "%lld", (long long) r->mem_limit) < 0)
    return -1;
  if (r->has_mem_swap)
    {
      cleanup_free char *f = xasprintf ("%s/memory.memsw.limit_in_bytes", mem);
      if (!exists (f))
        return moat_error_set (err, 0, "linux.resources.memory.swap: this kernel does not account swap (memsw)");
      if (put (mem, "memory.memsw.limit_in_bytes", "memory.swap", err, "%lld", (long long) r->mem_swap) < 0)
        return -1;
    }
  if (r->has_mem_reservation
      && put (mem, "memory.soft_limit_in_bytes", "memory.reservation", err, "%lld", (long long) r->mem_reservation) < 0)
    return -1;
  if (r->has_swappiness && put (mem, "memory.swappiness", "memory.swappiness", err, "%llu",
                                (unsigned long long) r->swappiness) < 0)
    return -1;
  if (r->disable_oom_killer && put (mem, "memory.oom_control", "memory.disableOOMKiller", err, "1") < 0)
    return -1;
  if (r->has_pids)
    {
      if (!exists (pids))
        return moat_error_set (err, 0, "linux.resources.pids: no pids controller on this host");
      if (r->pids_limit >= 0 ? put (pids, "pids.max", "pids.limit", err, "%lld", (long long) r->pids_limit) < 0
                             : put (pids, "pids.max", "pids.limit", err, "max") < 0)
        return -1;
    }
  if ((r->has_shares || r->has_quota || r->has_period || r->has_burst || r->has_idle) && !exists (cpu))
    return moat_error_set (err, 0, "linux.resources.cpu: no cpu controller on this host");
  if (r->has_shares && put (cpu, "cpu.shares", "cpu.shares", err, "%llu", (unsigned long long) r->shares) < 0)
    return -1;
  if (r->has_period && put (cpu, "cpu.cfs_period_us", "cpu.period", err, "%llu", (unsigned long long) r->period) < 0)
    return -1;
  if (r->has_burst && r->has_quota)
    {
      /* The kernel wants burst <= quota at every step: a smaller burst goes
       * first, a larger one after the quota (that try may fail: no matter). */
      moat_error *e = NULL;
      if (put (cpu, "cpu.cfs_burst_us", "cpu.burst", &e, "%llu", (unsigned long long) r->burst) < 0)
        moat_error_free (&e);
    }
  if (r->has_quota && put (cpu, "cpu.cfs_quota_us", "cpu.quota", err, "%lld", (long long) r->quota) < 0)
    return -1;
  if (r->has_burst && put (cpu, "cpu.cfs_burst_us", "cpu.burst", err, "%llu", (unsigned long long) r->burst) < 0)
    return -1;
  if (r->has_idle && put (cpu, "cpu.idle", "cpu.idle", err, "%lld", (long long) r->idle) < 0)
    return -1;
  if (r->has_rt_period || r->has_rt_runtime)
    {
      /* (Real-time group scheduling, CONFIG_RT_GROUP_SCHED: preflight.) A cgroup's RT bandwidth (runtime/period) comes out of its parent's:
       * give the ancestors below the root at least the same share first
       * (new cgroups start with none). */
      if (r->has_rt_runtime && r->rt_runtime > 0)
        {
          unsigned long long period = r->has_rt_period && r->rt_period ? r->rt_period : cgroup_read_ull (cpu, "cpu.rt_period_us");
          cleanup_free char *anc = xstrdup (cpu);
          size_t base = strlen (CGROUP_ROOT "/cpu");
          for (char *s = anc + base + 1; *s && period; s++)
            {
              if (*s != '/')
                continue;
              *s = '\0';
              unsigned long long ap = cgroup_read_ull (anc, "cpu.rt_period_us");
              long long need = (long long) ((unsigned long long) r->rt_runtime * ap / period);
              if ((long long) cgroup_read_ull (anc, "cpu.rt_runtime_us") < need
                  && put (anc, "cpu.rt_runtime_us", "cpu.realtimeRuntime", err, "%lld", need) < 0)
                return -1;
              *s = '/';
            }
        }
      if (r->has_rt_period && put (cpu, "cpu.rt_period_us", "cpu.realtimePeriod", err, "%llu",
                                   (unsigned long long) r->rt_period) < 0)
        return -1;
      if (r->has_rt_runtime && put (cpu, "cpu.rt_runtime_us", "cpu.realtimeRuntime", err, "%lld",
                                    (long long) r->rt_runtime) < 0)
        return -1;
    }
  if (r->cpus && *r->cpus && put (cpuset, "cpuset.cpus", "cpu.cpus", err, "%s", r->cpus) < 0)
    return -1;
  if (r->mems && *r->mems && put (cpuset, "cpuset.mems", "cpu.mems", err, "%s", r->mems) < 0)
    return -1;
  if (r->n_unified)
    return moat_error_set (err, 0, "linux.resources.unified: needs a cgroup v2 host (this one is %s)",
                           cgroup_layout_name (cgroup_detect_layout ()));
  cleanup_free char *blkio = xasprintf (CGROUP_ROOT "/blkio%s", path);
  bool any_blkio = r->has_blkio_weight || r->n_weight_dev;
  for (int i = 0; i < 4; i++)
    any_blkio |= r->n_throttle[i] > 0;
  if (any_blkio && !exists (blkio))
    return moat_error_set (err, 0, "linux.resources.blockIO: no blkio controller on this host");
  if (r->has_blkio_weight || r->n_weight_dev)
    {
      /* Weights need a proportional I/O scheduler (CFQ/BFQ) to have a file. */
      const char *wf = NULL;
      static const char *const cands[] = { "blkio.weight", "blkio.bfq.weight" };
      for (size_t i = 0; i < ARRAY_SIZE (cands) && !wf; i++)
        {
          cleanup_free char *f = xasprintf ("%s/%s", blkio, cands[i]);
          if (exists (f))
            wf = cands[i];
        }
      if (wf == NULL)
        return moat_error_set (err, 0, "linux.resources.blockIO.weight: this host's I/O schedulers take no weights");
      if (r->has_blkio_weight && put (blkio, wf, "blockIO.weight", err, "%llu", (unsigned long long) r->blkio_weight) < 0)
        return -1;
      cleanup_free char *wdev = xasprintf ("%s_device", wf);
      for (size_t i = 0; i < r->n_weight_dev; i++)
        if (put (blkio, wdev, "blockIO.weightDevice", err, "%lld:%lld %llu", (long long) r->weight_dev[i].major,
                 (long long) r->weight_dev[i].minor, (unsigned long long) r->weight_dev[i].value) < 0)
          return -1;
    }
  static const char *const tfiles[] = { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                                        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" };
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < r->n_throttle[t]; i++)
      if (put (blkio, tfiles[t], "blockIO.throttle", err, "%lld:%lld %llu", (long long) r->throttle[t][i].major,
               (long long) r->throttle[t][i].minor, (unsigned long long) r->throttle[t][i].value) < 0)
        return -1;
  if (r->n_huge)
    {
      cleanup_free char *huge = xasprintf (CGROUP_ROOT "/hugetlb%s", path);
      if (!exists (huge))
        return moat_error_set (err, 0, "linux.resources.hugepageLimits: no hugetlb hierarchy moat can use on this host");
      for (size_t i = 0; i < r->n_huge; i++)
        {
          cleanup_free char *f = xasprintf ("hugetlb.%s.limit_in_bytes", r->huge_sizes[i]);
          if (put (huge, f, "hugepageLimits", err, "%llu", (unsigned long long) r->huge_limits[i]) < 0
              || put_rsvd (huge, r->huge_sizes[i], "rsvd.limit_in_bytes", r->huge_limits[i], err) < 0)
            return -1;
        }
    }
  if (r->has_class_id || r->n_prio)
    {
      cleanup_free char *cls = v1_dir ("net_cls", path), *prio = v1_dir ("net_prio", path);
      if (r->has_class_id && cls == NULL)
        return moat_error_set (err, 0, "linux.resources.network.classID: no net_cls hierarchy is mounted on this host");
      if (r->n_prio && prio == NULL)
        return moat_error_set (err, 0, "linux.resources.network.priorities: no net_prio hierarchy is mounted on this host");
      if (r->has_class_id && put (cls, "net_cls.classid", "network.classID", err, "%u", r->class_id) < 0)
        return -1;
      for (size_t i = 0; i < r->n_prio; i++)
        if (put (prio, "net_prio.ifpriomap", "network.priorities", err, "%s %u", r->prio_names[i], r->prio_values[i]) < 0)
          return -1;
    }
  if (r->n_rdma)
    {
      cleanup_free char *rdma = v1_dir ("rdma", path);
      if (rdma == NULL)
        return moat_error_set (err, 0, "linux.resources.rdma: no rdma hierarchy is mounted on this host");
      return put_rdma (rdma, r, err);
    }
  return 0;
}

/* v2: a controller must be enabled in every ancestor's subtree_control.
 * One write per controller (one refusal must not cost the others), and a
 * second try: the kernel refuses "+cpu" for a moment in some states. */
static void
enable_controllers (const char *path)
{
  cleanup_free char *avail = NULL;
  moat_error *e = NULL;
  if (read_file (CGROUP_ROOT "/cgroup.controllers", &avail, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return;
    }
  static const char *const ctl[] = { "cpu", "cpuset", "memory", "pids", "io", "hugetlb" };
  cleanup_free char *dir = xstrdup (CGROUP_ROOT);
  cleanup_free char *rest = xstrdup (path);
  char *save = NULL;
  char *comp = strtok_r (rest, "/", &save);
  while (comp)
    {
      char *next = strtok_r (NULL, "/", &save);
      cleanup_free char *f = xasprintf ("%s/cgroup.subtree_control", dir);
      for (size_t i = 0; i < ARRAY_SIZE (ctl); i++)
        {
          /* A whole word of cgroup.controllers ("cpu" is also in "cpuset"). */
          bool have = false;
          size_t l = strlen (ctl[i]);
          for (const char *p = avail; (p = strstr (p, ctl[i])) != NULL; p += l)
            if ((p == avail || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\n' || p[l] == '\0'))
              have = true;
          if (!have)
            continue;
          char plus[16];
          snprintf (plus, sizeof plus, "+%s", ctl[i]);
          for (int tries = 0; tries < 2; tries++)
            {
              if (write_file_at (AT_FDCWD, f, plus, strlen (plus), &e) == 0)
                break;
              moat_error_free (&e);
              struct timespec ts = { 0, 10 * 1000 * 1000 };
              nanosleep (&ts, NULL);
            }
        }
      if (!next)
        break;
      char *d = xasprintf ("%s/%s", dir, comp);
      free (dir);
      dir = d;
      comp = next;
    }
}

/* The file a v2 limit goes to must exist: else its controller could not be
 * enabled here, and that is said by name. */
static int
need_file (const char *dir, const char *file, const char *what, moat_error **err)
{
  cleanup_free char *f = xasprintf ("%s/%s", dir, file);
  if (exists (f))
    return 0;
  char ctl[32];
  snprintf (ctl, sizeof ctl, "%.*s", (int) strcspn (file, "."), file);
  return moat_error_set (err, 0, "linux.resources.%s: the %s controller is not available to the container's cgroup "
                         "(could not be enabled in its ancestors' cgroup.subtree_control)", what, ctl);
}

static int
apply_v2 (const char *path, const struct cg_resources *r, moat_error **err)
{
  enable_controllers (path);
  if (preflight (path, true, r, err) < 0)
    return -1;
  cleanup_free char *dir = xasprintf (CGROUP_ROOT "%s", path);
  if ((r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap) && need_file (dir, "memory.max", "memory", err) < 0)
    return -1;
  if (r->has_pids && need_file (dir, "pids.max", "pids", err) < 0)
    return -1;
  if ((r->has_shares || r->has_quota || r->has_period || r->has_burst || r->has_idle)
      && need_file (dir, "cpu.max", "cpu", err) < 0)
    return -1;
  if (r->has_class_id || r->n_prio)
    return moat_error_set (err, 0, "linux.resources.network: cgroup v2 has no net_cls or net_prio controller "
                           "(tag the traffic with an eBPF program or nftables' socket cgroupv2 match instead)");
  if (r->n_rdma && need_file (dir, "rdma.max", "rdma", err) < 0)
    return -1;
  if (((r->cpus && *r->cpus) || (r->mems && *r->mems)) && need_file (dir, "cpuset.cpus", "cpu.cpus", err) < 0)
    return -1;
  if (r->has_mem_limit && r->check_before_update && r->mem_limit >= 0
      && (unsigned long long) r->mem_limit < cgroup_read_ull (dir, "memory.current"))
    return moat_error_set (err, 0, "linux.resources.memory.limit: %lld is below the current usage (checkBeforeUpdate)",
                           (long long) r->mem_limit);
  if (r->has_mem_limit)
    {
      if (r->mem_limit < 0 ? put (dir, "memory.max", "memory.limit", err, "max") < 0
                           : put (dir, "memory.max", "memory.limit", err, "%lld", (long long) r->mem_limit) < 0)
        return -1;
    }
  if (r->has_mem_reservation && put (dir, "memory.low", "memory.reservation", err, "%lld", (long long) r->mem_reservation) < 0)
    return -1;
  if (r->has_mem_swap)
    {
      /* v1's swap is memory+swap; v2's memory.swap.max is swap alone. */
      long long sw = r->mem_swap < 0 ? -1 : (r->has_mem_limit && r->mem_limit >= 0 ? r->mem_swap - r->mem_limit : r->mem_swap);
      if (sw < -1)
        return moat_error_set (err, 0, "linux.resources.memory.swap: smaller than the memory limit");
      if (sw < 0 ? put (dir, "memory.swap.max", "memory.swap", err, "max") < 0
                 : put (dir, "memory.swap.max", "memory.swap", err, "%lld", sw) < 0)
        return -1;
    }
  if (r->has_swappiness)
    return moat_error_set (err, 0, "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
  if (r->disable_oom_killer)
    return moat_error_set (err, 0, "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer");
  if (r->has_pids)
    {
      if (r->pids_limit >= 0 ? put (dir, "pids.max", "pids.limit", err, "%lld", (long long) r->pids_limit) < 0
                             : put (dir, "pids.max", "pids.limit", err, "max") < 0)
        return -1;
    }
  if (r->has_shares && r->shares > 0
      && put (dir, "cpu.weight", "cpu.shares", err, "%llu", (unsigned long long) cgroup_shares_to_weight (r->shares)) < 0)
    return -1;
  if (r->has_burst && r->has_quota)
    {
      /* As on v1: a smaller burst before the quota, a larger one after. */
      moat_error *e = NULL;
      if (put (dir, "cpu.max.burst", "cpu.burst", &e, "%llu", (unsigned long long) r->burst) < 0)
        moat_error_free (&e);
    }
  if (r->has_quota || r->has_period)
    {
      unsigned long long period = r->has_period && r->period ? r->period : 100000;
      if ((!r->has_quota || r->quota < 0) ? put (dir, "cpu.max", "cpu.quota", err, "max %llu", period) < 0
                                          : put (dir, "cpu.max", "cpu.quota", err, "%lld %llu", (long long) r->quota, period) < 0)
        return -1;
    }
  if (r->has_burst && put (dir, "cpu.max.burst", "cpu.burst", err, "%llu", (unsigned long long) r->burst) < 0)
    return -1;
  if (r->has_idle && put (dir, "cpu.idle", "cpu.idle", err, "%lld", (long long) r->idle) < 0)
    return -1;
  if (r->cpus && *r->cpus && put (dir, "cpuset.cpus", "cpu.cpus", err, "%s", r->cpus) < 0)
    return -1;
  if (r->mems && *r->mems && put (dir, "cpuset.mems", "cpu.mems", err, "%s", r->mems) < 0)
    return -1;
  cleanup_free char *bfq = xasprintf ("%s/io.bfq.weight", dir);
  if (r->has_blkio_weight && exists (bfq))
    {
      /* BFQ takes blkio's own range (1-1000), as runc writes it. */
      if (put (dir, "io.bfq.weight", "blockIO.weight", err, "%llu", (unsigned long long) r->blkio_weight) < 0)
        return -1;
    }
  else if (r->has_blkio_weight)
    {
      /* runc's conversion of blkio weight [10, 1000] to io.weight [1, 10000]. */
      unsigned long long w = r->blkio_weight < 10 ? 10 : r->blkio_weight > 1000 ? 1000 : r->blkio_weight;
      if (put (dir, "io.weight", "blockIO.weight", err, "default %llu", 1 + (w - 10) * 9999 / 990) < 0)
        return -1;
    }
  for (size_t i = 0; i < r->n_weight_dev; i++)
    {
      unsigned long long w = r->weight_dev[i].value;
      w = w < 10 ? 10 : w > 1000 ? 1000 : w;
      if (put (dir, "io.weight", "blockIO.weightDevice", err, "%lld:%lld %llu", (long long) r->weight_dev[i].major,
               (long long) r->weight_dev[i].minor, 1 + (w - 10) * 9999 / 990) < 0)
        return -1;
    }
  static const char *const io_keys[] = { "rbps", "wbps", "riops", "wiops" };
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < r->n_throttle[t]; i++)
      if (put (dir, "io.max", "blockIO.throttle", err, "%lld:%lld %s=%llu", (long long) r->throttle[t][i].major,
               (long long) r->throttle[t][i].minor, io_keys[t], (unsigned long long) r->throttle[t][i].value) < 0)
        return -1;
  for (size_t i = 0; i < r->n_huge; i++)
    {
      cleanup_free char *f = xasprintf ("hugetlb.%s.max", r->huge_sizes[i]);
      if (put (dir, f, "hugepageLimits", err, "%llu", (unsigned long long) r->huge_limits[i]) < 0
          || put_rsvd (dir, r->huge_sizes[i], "rsvd.max", r->huge_limits[i], err) < 0)
        return -1;
    }
  if (r->n_rdma && put_rdma (dir, r, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_unified; i++)
    {
      cleanup_free char *what = xasprintf ("unified.%s", r->unified_keys[i]);
      if (put (dir, r->unified_keys[i], what, err, "%s", r->unified_values[i]) < 0)
        return -1;
    }
  return 0;
}

int
cgroup_apply_resources (const char *path, const struct cg_resources *r, moat_error **err)
{
  return cgroup_detect_layout () == CGROUP_V2 ? apply_v2 (path, r, err) : apply_v1 (path, r, err);
}
