/* moat — per-process attributes runtime-spec 1.3 adds: linux.memoryPolicy
 * (set_mempolicy(2) before the workload's execve) and
 * process.execCPUAffinity (sched_setaffinity(2) for a process `moat exec`
 * puts in a container: on the initial CPUs until it is in the container's
 * cgroup, on the final ones after). */
#ifndef MOAT_PROCATTR_H
#define MOAT_PROCATTR_H

#include <sched.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"

/* A list like "0-3,7" (Linux's cpulist/nodelist format) into a bit set of
 * NBITS bits (an array of unsigned long); false if it is not one or names
 * a bit at or above NBITS. */
bool procattr_parse_list (const char *s, unsigned long *bits, unsigned nbits);

/* linux.memoryPolicy's mode and flags (names, as in features) into the
 * mode argument of set_mempolicy; -1 if a name is unknown (*BAD says
 * which). */
int procattr_mempolicy_mode (const char *mode, char *const *flags, const char **bad);
extern const char *const procattr_mpol_modes[];
extern const char *const procattr_mpol_flags[];

/* set_mempolicy with cfg's linux.memoryPolicy (nothing when unset). */
int procattr_apply_mempolicy (const struct moat_config *cfg, moat_error **err);
/* sched_setaffinity on LIST (a CPU list); WHAT names the field. */
int procattr_set_affinity (const char *list, const char *what, moat_error **err);

#endif
