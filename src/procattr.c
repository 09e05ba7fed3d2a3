#include "config-host.h"
#include "procattr.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LONG_BITS (sizeof (unsigned long) * CHAR_BIT)

bool
procattr_parse_list (const char *s, unsigned long *bits, unsigned nbits)
{
  memset (bits, 0, (nbits + LONG_BITS - 1) / LONG_BITS * sizeof (unsigned long));
  if (s == NULL || *s == '\0')
    return false;
  const char *p = s;
  for (;;)
    {
      char *end;
      if (*p < '0' || *p > '9')
        return false;
      unsigned long a = strtoul (p, &end, 10), b = a;
      p = end;
      if (*p == '-')
        {
          p++;
          if (*p < '0' || *p > '9')
            return false;
          b = strtoul (p, &end, 10);
          p = end;
        }
      if (a > b || b >= nbits)
        return false;
      for (unsigned long i = a; i <= b; i++)
        bits[i / LONG_BITS] |= 1UL << (i % LONG_BITS);
      if (*p == '\0')
        return true;
      if (*p++ != ',')
        return false;
    }
}

/* <linux/mempolicy.h>'s numbers (its header clashes with glibc's). */
const char *const procattr_mpol_modes[] = {
  "MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
  "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE", NULL,
};
const char *const procattr_mpol_flags[] = {
  "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES", NULL,
};
static const int mpol_flag_bits[] = { 1 << 13, 1 << 14, 1 << 15 };

int
procattr_mempolicy_mode (const char *mode, char *const *flags, const char **bad)
{
  int m = -1;
  for (int i = 0; procattr_mpol_modes[i]; i++)
    if (strcmp (mode, procattr_mpol_modes[i]) == 0)
      m = i;
  if (m < 0)
    {
      *bad = mode;
      return -1;
    }
  for (size_t i = 0; flags && flags[i]; i++)
    {
      int f = -1;
      for (int k = 0; procattr_mpol_flags[k]; k++)
        if (strcmp (flags[i], procattr_mpol_flags[k]) == 0)
          f = mpol_flag_bits[k];
      if (f < 0)
        {
          *bad = flags[i];
          return -1;
        }
      m |= f;
    }
  return m;
}

int
procattr_apply_mempolicy (const struct moat_config *cfg, moat_error **err)
{
  if (!cfg->has_mempolicy)
    return 0;
  enum { MAXNODE = 1024 };
  unsigned long mask[MAXNODE / LONG_BITS];
  bool have = cfg->mempolicy_nodes && *cfg->mempolicy_nodes;
  if (have && !procattr_parse_list (cfg->mempolicy_nodes, mask, MAXNODE))
    return moat_error_set (err, EINVAL, "linux.memoryPolicy.nodes: `%s` is not a node list", cfg->mempolicy_nodes);
  /* maxnode counts bits and the kernel reads one less (set_mempolicy(2)). */
  if (syscall (SYS_set_mempolicy, cfg->mempolicy_mode, have ? mask : NULL, have ? MAXNODE + 1 : 0) < 0)
    {
      int e = errno;
      return moat_error_set (err, e, "linux.memoryPolicy: set_mempolicy (mode %s, nodes `%s`)%s",
                             procattr_mpol_modes[cfg->mempolicy_mode & 0xff], have ? cfg->mempolicy_nodes : "",
                             e == EINVAL ? ": the kernel refuses it (a node it lacks or that the cpuset excludes, "
                                           "nodes for a mode that takes none, or none for one that needs them)"
                                         : "");
    }
  return 0;
}

int
procattr_set_affinity (const char *list, const char *what, moat_error **err)
{
  cpu_set_t set;
  CPU_ZERO (&set);
  if (!procattr_parse_list (list, (unsigned long *) &set, CPU_SETSIZE))
    return moat_error_set (err, EINVAL, "%s: `%s` is not a CPU list", what, list);
  if (sched_setaffinity (0, sizeof set, &set) < 0)
    return moat_error_set (err, errno, "%s: sched_setaffinity `%s`%s", what, list,
                           errno == EINVAL ? " (no such CPU online, or none the container's cpuset allows)" : "");
  return 0;
}
