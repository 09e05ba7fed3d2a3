/* Unit tests for src/cgroup-res.c: the parse of linux.resources (what the
 * spec 1.3 fields mean, errors naming the field) and the cpu.shares to
 * cpu.weight curve, without a cgroup. */
#include "config-host.h"
#include "tap.h"

#include "cgroup.h"
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
  };
  return tap_run (cases, sizeof cases / sizeof cases[0]);
}
