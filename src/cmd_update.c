/* `moat update`: change a live container's limits, as runc does: runc's
 * flags, or a linux.resources JSON (--resources FILE, "-" for stdin). */
#include "config-host.h"
#include "cgroup.h"
#include "cmd.h"
#include "container.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "512m", "1g", "1048576", "-1" -> bytes. */
static bool
parse_size (const char *s, int64_t *out)
{
  char *end;
  long long v = strtoll (s, &end, 10);
  if (end == s)
    return false;
  long long mul = 1;
  switch (*end)
    {
    case '\0': break;
    case 'k': case 'K': mul = 1LL << 10; end++; break;
    case 'm': case 'M': mul = 1LL << 20; end++; break;
    case 'g': case 'G': mul = 1LL << 30; end++; break;
    default: return false;
    }
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end)
    return false;
  *out = v < 0 ? -1 : v * mul;
  return true;
}

/* The options whose value is one number in a range: the flag, what it
 * takes. runc 1.2/1.3's names and ranges. */
enum { O_BURST = 512, O_IDLE, O_RT_PERIOD, O_RT_RUNTIME, O_BLKIO_WEIGHT };
static const struct
{
  const char *flag, *wants;
  long long min, max;
} numbers[] = {
  [O_BURST - O_BURST] = { "--cpu-burst", "not a count of microseconds", 0, LLONG_MAX },
  [O_IDLE - O_BURST] = { "--cpu-idle", "not 0 or 1", 0, 1 },
  [O_RT_PERIOD - O_BURST] = { "--cpu-rt-period", "not a count of microseconds", 0, LLONG_MAX },
  [O_RT_RUNTIME - O_BURST] = { "--cpu-rt-runtime", "not a count of microseconds (or -1: no limit)", -1, LLONG_MAX },
  [O_BLKIO_WEIGHT - O_BURST] = { "--blkio-weight", "not a weight from 10 to 1000", 10, 1000 },
};

static const char *
number_flag (int c)
{
  return numbers[c - O_BURST].flag;
}

static const char *
number_wants (int c)
{
  return numbers[c - O_BURST].wants;
}

static int
parse_number (int c, const char *s, struct cg_resources *r)
{
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno || v < numbers[c - O_BURST].min || v > numbers[c - O_BURST].max)
    return -1;
  switch (c)
    {
    case O_BURST: r->burst = (uint64_t) v; r->has_burst = true; break;
    case O_IDLE: r->idle = v; r->has_idle = true; break;
    case O_RT_PERIOD: r->rt_period = (uint64_t) v; r->has_rt_period = true; break;
    case O_RT_RUNTIME: r->rt_runtime = v; r->has_rt_runtime = true; break;
    case O_BLKIO_WEIGHT: r->blkio_weight = (uint64_t) v; r->has_blkio_weight = true; break;
    }
  return 0;
}

int
cmd_update (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] =
    "[--resources FILE|-r FILE] [--memory SIZE] [--memory-reservation SIZE] [--memory-swap SIZE] "
    "[--pids-limit N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus LIST] "
    "[--cpuset-mems LIST] [--cpu-burst N] [--cpu-idle 0|1] [--cpu-rt-period N] [--cpu-rt-runtime N] "
    "[--blkio-weight N] ID";
  enum { O_MEM = 256, O_MRES, O_MSWAP, O_PIDS, O_SHARES, O_QUOTA, O_PERIOD, O_CPUS, O_MEMS };
  static const struct option opts[] = {
    { "resources", required_argument, NULL, 'r' },
    { "memory", required_argument, NULL, O_MEM },
    { "memory-reservation", required_argument, NULL, O_MRES },
    { "memory-swap", required_argument, NULL, O_MSWAP },
    { "pids-limit", required_argument, NULL, O_PIDS },
    { "cpu-shares", required_argument, NULL, O_SHARES },
    { "cpu-quota", required_argument, NULL, O_QUOTA },
    { "cpu-period", required_argument, NULL, O_PERIOD },
    { "cpuset-cpus", required_argument, NULL, O_CPUS },
    { "cpuset-mems", required_argument, NULL, O_MEMS },
    { "cpu-burst", required_argument, NULL, O_BURST },
    { "cpu-idle", required_argument, NULL, O_IDLE },
    { "cpu-rt-period", required_argument, NULL, O_RT_PERIOD },
    { "cpu-rt-runtime", required_argument, NULL, O_RT_RUNTIME },
    { "blkio-weight", required_argument, NULL, O_BLKIO_WEIGHT },
    { NULL, 0, NULL, 0 },
  };
  struct cg_resources r = { .named_by_flags = true };
  const char *file = NULL;
  moat_error *err = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "+r:", opts, NULL)) != -1)
    {
      char *end = NULL;
      switch (c)
        {
        case 'r': file = optarg; break;
        case O_MEM:
          if (!parse_size (optarg, &r.mem_limit))
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--memory: `%s` is not a size", shown);
            }
          r.has_mem_limit = true;
          break;
        case O_MRES:
          if (!parse_size (optarg, &r.mem_reservation))
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--memory-reservation: `%s` is not a size", shown);
            }
          r.has_mem_reservation = true;
          break;
        case O_MSWAP:
          if (!parse_size (optarg, &r.mem_swap))
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--memory-swap: `%s` is not a size", shown);
            }
          r.has_mem_swap = true;
          break;
        case O_PIDS:
          r.pids_limit = strtoll (optarg, &end, 10);
          if (*end)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--pids-limit: `%s` is not a number", shown);
            }
          r.has_pids = true;
          break;
        case O_SHARES:
          r.shares = strtoull (optarg, &end, 10);
          if (*end)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--cpu-shares: `%s` is not a number", shown);
            }
          r.has_shares = true;
          break;
        case O_QUOTA:
          r.quota = strtoll (optarg, &end, 10);
          if (*end)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--cpu-quota: `%s` is not a number", shown);
            }
          r.has_quota = true;
          break;
        case O_PERIOD:
          r.period = strtoull (optarg, &end, 10);
          if (*end)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "--cpu-period: `%s` is not a number", shown);
            }
          r.has_period = true;
          break;
        case O_BURST:
        case O_IDLE:
        case O_RT_PERIOD:
        case O_RT_RUNTIME:
        case O_BLKIO_WEIGHT:
          if (parse_number (c, optarg, &r) < 0)
            {
              cgroup_resources_free (&r);
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("update", usage_text, "%s: `%s` is %s", number_flag (c), shown, number_wants (c));
            }
          break;
        case O_CPUS: r.cpus = xstrdup (optarg); break;
        case O_MEMS: r.mems = xstrdup (optarg); break;
        default: return cmd_usage ("update", usage_text, NULL);
        }
    }
  if (optind + 1 != argc)
    {
      cgroup_resources_free (&r);
      return cmd_usage ("update", usage_text, optind >= argc ? "missing container id" : "too many arguments");
    }
  if (file)
    {
      /* A resources JSON replaces the flags (runc's -r). */
      cgroup_resources_free (&r);
      cleanup_free char *text = NULL;
      size_t len = 0;
      int rr;
      if (strcmp (file, "-") == 0)
        {
          /* fd 0 itself: /dev/stdin is not there on every system. */
          text = xmalloc0 ((1 << 20) + 1);
          ssize_t n = read_all (0, text, 1 << 20);
          rr = n < 0 ? moat_error_set (&err, errno, "--resources -: read standard input") : 0;
          len = n < 0 ? 0 : (size_t) n;
        }
      else
        rr = read_file_at (AT_FDCWD, file, &text, &len, 1 << 20, &err);
      yajl_val tree = NULL;
      if (rr < 0 || json_parse (text, len, file, &tree, &err) < 0)
        return cmd_fail (&err);
      /* The file holds what linux.resources holds. */
      int pr = cgroup_parse_resources (tree, file, &r, &err);
      json_free (tree);
      if (pr < 0)
        return cmd_fail (&err);
    }
  int ret = container_update (g->root, argv[optind], &r, &err);
  cgroup_resources_free (&r);
  if (ret < 0)
    return cmd_fail (&err);
  return 0;
}
