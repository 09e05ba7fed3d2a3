/* moat — the cgroup wall (core part): where the container's cgroup lives on
 * this host's layout (v1, hybrid or pure v2), creating it, placing the init
 * in it before it runs any workload code, listing and signalling its
 * processes, and removing it. Resource limits come with the cgroup issue. */
#ifndef MOAT_CGROUP_H
#define MOAT_CGROUP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include "config.h"
#include "error.h"

enum cgroup_layout { CGROUP_V1, CGROUP_HYBRID, CGROUP_V2 };
enum cgroup_layout cgroup_detect_layout (void);
const char *cgroup_layout_name (enum cgroup_layout l);

/* The cgroup path of a container, relative to each hierarchy's root:
 * linux.cgroupsPath when set (a relative one is taken from the root, as runc
 * does), else /moat/ID. */
int cgroup_path_for (const struct moat_config *cfg, const char *id, char **out, moat_error **err);

/* mkdir PATH in every hierarchy and move PID into it. */
int cgroup_enter (const char *path, pid_t pid, moat_error **err);
/* Every pid in the container's cgroup (from the pids or unified hierarchy). */
int cgroup_pids (const char *path, pid_t **pids, size_t *n, moat_error **err);
/* Send SIG to every process in the cgroup. */
int cgroup_kill_all (const char *path, int sig, moat_error **err);
/* rmdir PATH in every hierarchy; waits briefly for exiting tasks to leave. */
int cgroup_destroy (const char *path, moat_error **err);

#endif
