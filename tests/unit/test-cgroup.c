/* Unit tests for src/cgroup-res.c: the parse of linux.resources (what the
 * spec 1.3 fields mean, errors naming the field) and the cpu.shares to
 * cpu.weight curve, without a cgroup; and src/cgroup-systemd.c's slice
 * syntax and unit properties, without systemd. */
#include "config-host.h"
#include "tap.h"

#include "cgroup.h"
#include "cgroup-systemd.h"
#include "error.h"
#include "json.h"

static struct cg_resources
parse_ok (const char *text)
{
  yajl_val v = NULL;
  moat_error *e = NULL;
  CHECK (json_parse (text, strlen (text), "config.json", &v, &e) == 0);
  struct cg_resources r;
  if (cgroup_parse_resources (v, "config.json", &r, &e) < 0)
    {
      fprintf (stderr, "#   %s\n", e->msg);
      exit (1);
    }
  return r;
}

static char *
parse_err (const char *text)
{
  yajl_val v = NULL;
  moat_error *e = NULL;
  CHECK (json_parse (text, strlen (text), "config.json", &v, &e) == 0);
  struct cg_resources r;
  CHECK (cgroup_parse_resources (v, "config.json", &r, &e) < 0);
  return e->msg;
}

/* runc 1.3.2 / crun 1.23 (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value):
 * min, default and max land on v2's min, default and max. */
TEST (shares_to_weight_fits_min_default_max)
{
  CHECK (cgroup_shares_to_weight (0) == 0);
  CHECK (cgroup_shares_to_weight (1) == 1);
  CHECK (cgroup_shares_to_weight (2) == 1);
  CHECK (cgroup_shares_to_weight (1024) == 100);
  CHECK (cgroup_shares_to_weight (262144) == 10000);
  CHECK (cgroup_shares_to_weight (1000000) == 10000);
}

TEST (shares_to_weight_between)
{
  /* the old linear map gave 1, 4, 20, 79 and 382 */
  CHECK (cgroup_shares_to_weight (10) == 4);
  CHECK (cgroup_shares_to_weight (100) == 17);
  CHECK (cgroup_shares_to_weight (512) == 59);
  CHECK (cgroup_shares_to_weight (2048) == 174);
  CHECK (cgroup_shares_to_weight (10000) == 627);
  CHECK (cgroup_shares_to_weight (262143) == 10000);
}

TEST (pids_zero_is_a_limit)
{
  struct cg_resources r = parse_ok ("{\"pids\": {\"limit\": 0}}");
  CHECK (r.has_pids && r.pids_limit == 0);
  r = parse_ok ("{\"pids\": {\"limit\": -1}}");
  CHECK (r.has_pids && r.pids_limit == -1);
}

TEST (pids_limit_is_optional)
{
  struct cg_resources r = parse_ok ("{\"pids\": {}}");
  CHECK (!r.has_pids);
}

TEST (cpu_burst_and_idle)
{
  struct cg_resources r = parse_ok ("{\"cpu\": {\"quota\": 50000, \"burst\": 20000, \"idle\": 1}}");
  CHECK (r.has_burst && r.burst == 20000 && r.has_idle && r.idle == 1);
  CHECK_CONTAINS (parse_err ("{\"cpu\": {\"quota\": 50000, \"burst\": 60000}}"),
                  "config.json: linux.resources.cpu.burst: 60000 is more than the quota");
  CHECK_CONTAINS (parse_err ("{\"cpu\": {\"idle\": 2}}"), "config.json: linux.resources.cpu.idle: must be 0 or 1");
}

TEST (network_parsed)
{
  struct cg_resources r = parse_ok ("{\"network\": {\"classID\": 1048577, \"priorities\": "
                                    "[{\"name\": \"eth0\", \"priority\": 5}]}}");
  CHECK (r.has_class_id && r.class_id == 1048577 && r.n_prio == 1);
  CHECK_STR (r.prio_names[0], "eth0");
  CHECK (r.prio_values[0] == 5);
  CHECK_CONTAINS (parse_err ("{\"network\": {\"priorities\": [{\"name\": \"a b\", \"priority\": 5}]}}"),
                  "linux.resources.network.priorities[0].name: not an interface name");
}

TEST (rdma_parsed)
{
  struct cg_resources r = parse_ok ("{\"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}}}");
  CHECK (r.n_rdma == 1 && r.rdma_handles[0] == 3 && r.rdma_objects[0] == -1);
  CHECK_STR (r.rdma_devices[0], "mlx5_1");
  CHECK_CONTAINS (parse_err ("{\"rdma\": {\"mlx5_1\": {}}}"), "linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects");
}

static char *
unit_err (const char *path)
{
  struct sdcg_unit u;
  moat_error *e = NULL;
  CHECK (sdcg_prepare (path, "c1", &u, &e) < 0);
  return e->msg;
}

TEST (slice_syntax)
{
  struct sdcg_unit u;
  moat_error *e = NULL;
  CHECK (sdcg_prepare (NULL, "c1", &u, &e) == 0);
  CHECK_STR (u.unit, "moat-c1.scope");
  CHECK_STR (u.slice, "system.slice");
  CHECK_STR (u.cgroup_path, "/system.slice/moat-c1.scope");
  CHECK (sdcg_prepare ("a-b-c.slice:pfx:box", "c1", &u, &e) == 0);
  CHECK_STR (u.cgroup_path, "/a.slice/a-b.slice/a-b-c.slice/pfx-box.scope");
  CHECK (sdcg_prepare (":pfx:box", "c1", &u, &e) == 0);
  CHECK_STR (u.slice, "system.slice");
  CHECK (sdcg_prepare ("-.slice::box", "c1", &u, &e) == 0);
  CHECK_STR (u.unit, "box.scope");
  CHECK_STR (u.cgroup_path, "/box.scope");
  CHECK_CONTAINS (unit_err ("/plain/path"), "linux.cgroupsPath: `/plain/path` is not slice:prefix:name");
  CHECK_CONTAINS (unit_err ("x.notslice:p:n"), "is not a slice name");
  CHECK_CONTAINS (unit_err ("-a.slice:p:n"), "is not a slice name");
  CHECK_CONTAINS (unit_err ("a-.slice:p:n"), "is not a slice name");
  CHECK_CONTAINS (unit_err ("system.slice:p:"), "the name is empty");
  CHECK_CONTAINS (unit_err ("system.slice:p:n.slice"), "not supported");
  CHECK_CONTAINS (unit_err ("system.slice:p:a+b"), "not a valid systemd unit name");
}

static char **
props (const char *res, const char *akey, const char *aval, moat_error **e)
{
  struct cg_resources r = { 0 };
  if (res)
    r = parse_ok (res);
  char *keys[] = { (char *) akey, NULL }, *vals[] = { (char *) aval, NULL };
  char **out = NULL;
  if (sdcg_properties (&r, false, keys, vals, akey ? 1 : 0, &out, e) < 0)
    return NULL;
  return out;
}

static const char *
has (char **v, const char *want)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], want) == 0)
      return v[i];
  fprintf (stderr, "#   no property `%s`\n", want);
  exit (1);
}

TEST (unit_properties_from_resources)
{
  moat_error *e = NULL;
  char **v = props ("{\"memory\": {\"limit\": 1048576, \"swap\": 2097152}, \"pids\": {\"limit\": -1},"
                    " \"cpu\": {\"shares\": 1024, \"quota\": 12345, \"cpus\": \"0-2,9\"},"
                    " \"blockIO\": {\"weight\": 500}}", NULL, NULL, &e);
  CHECK (v != NULL);
  has (v, "MemoryMax=t:1048576");
  has (v, "MemorySwapMax=t:1048576");
  has (v, "TasksMax=t:18446744073709551615");
  has (v, "CPUWeight=t:100");
  has (v, "CPUQuotaPerSecUSec=t:130000");   /* 123450 rounded up to 1% */
  has (v, "AllowedCPUs=ay:0702");
  has (v, "IOWeight=t:4950");
}

TEST (unit_properties_from_annotations)
{
  moat_error *e = NULL;
  has (props (NULL, "org.systemd.property.CollectMode", "'inactive-or-failed'", &e), "CollectMode=s:inactive-or-failed");
  has (props (NULL, "org.systemd.property.IgnoreOnIsolate", "true", &e), "IgnoreOnIsolate=b:1");
  has (props (NULL, "org.systemd.property.TimeoutStopSec", "uint64 7", &e), "TimeoutStopUSec=t:7000000");
  has (props (NULL, "org.systemd.property.CPUQuotaPeriodUSec", "@t 5000", &e), "CPUQuotaPeriodUSec=t:5000");
  has (props (NULL, "org.systemd.property.Nice", "int32 -5", &e), "Nice=i:-5");
  has (props (NULL, "org.systemd.property.MemoryHigh", "1000", &e), "MemoryHigh=t:1000");
  CHECK (props (NULL, "org.systemd.property.Environment", "['A=1']", &e) == NULL);
  CHECK_CONTAINS (e->msg, "annotations.org.systemd.property.Environment: `['A=1']` is not supported");
  e = NULL;
  CHECK (props (NULL, "org.systemd.property.X", "1.5", &e) == NULL);
  e = NULL;
  CHECK (props (NULL, "org.systemd.property.PIDs", "uint32 1", &e) == NULL);
  CHECK_CONTAINS (e->msg, "moat's to set");
}

int
main (void)
{
  static const struct tap_case cases[] = {
    { "cpu.shares to cpu.weight: 2, 1024, 262144 give 1, 100, 10000", shares_to_weight_fits_min_default_max },
    { "cpu.shares to cpu.weight: the curve between (runc 1.3.2, crun 1.23)", shares_to_weight_between },
    { "pids.limit 0 is a limit, -1 is max (runtime-spec 1.3)", pids_zero_is_a_limit },
    { "pids.limit is optional (absent: pids.max left alone)", pids_limit_is_optional },
    { "cpu.burst and cpu.idle are parsed and checked", cpu_burst_and_idle },
    { "network.classID and priorities are parsed", network_parsed },
    { "rdma limits are parsed", rdma_parsed },
    { "systemd: slice:prefix:name as runc reads it, errors naming linux.cgroupsPath", slice_syntax },
    { "systemd: unit properties from linux.resources (runc's)", unit_properties_from_resources },
    { "systemd: org.systemd.property.* annotations (GVariant text)", unit_properties_from_annotations },
  };
  return tap_run (cases, sizeof cases / sizeof cases[0]);
}
