/* moat — the cgroup wall (core part): where the container's cgroup lives on
 * this host's layout (v1, hybrid or pure v2), creating it, placing the init
 * in it before it runs any workload code, listing and signalling its
 * processes, and removing it. Resource limits come with the cgroup issue. */
#ifndef MOAT_CGROUP_H
#define MOAT_CGROUP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include "config.h"
#include "error.h"

enum cgroup_layout { CGROUP_V1, CGROUP_HYBRID, CGROUP_V2 };
enum cgroup_layout cgroup_detect_layout (void);
const char *cgroup_layout_name (enum cgroup_layout l);
/* Where the cgroup v2 hierarchy is mounted (the whole tree on v2, "unified"
 * on a hybrid host), NULL on a v1-only host. */
const char *cgroup_v2_root (void);

/* The cgroup path of a container, relative to each hierarchy's root:
 * linux.cgroupsPath when set (a relative one is taken from the root, as runc
 * does), else /moat/ID. */
int cgroup_path_for (const struct moat_config *cfg, const char *id, char **out, moat_error **err);

/* A device rule (linux.resources.devices, or one moat adds). */
struct cg_dev_rule
{
  bool allow;
  char type;              /* 'a', 'c' or 'b' */
  int64_t major, minor;   /* -1: any */
  char access[4];         /* some of "rwm" */
};

/* Parse linux.resources.devices (NULL: none) into rules, JSON paths in errors. */
int cgroup_parse_devices (yajl_val resources, const char *docname, struct cg_dev_rule **out, size_t *n,
                          moat_error **err);
/* The device wall: deny everything, then RULES in order, then the devices
 * every container needs (null, zero, full, random, urandom, tty, ptmx, pts,
 * tun: runc's list) and each of linux.devices. *APPLIED is false where this
 * host has no devices hierarchy (pure v2 needs a BPF program: not yet). */
int cgroup_apply_devices (const char *path, const struct cg_dev_rule *rules, size_t n,
                          const struct moat_config *cfg, bool *applied, moat_error **err);

/* linux.resources (memory, cpu, pids, unified), parsed. */
struct cg_resources
{
  bool named_by_flags;                            /* errors name `moat update`'s flags, not JSON paths */
  bool has_mem_limit, has_mem_reservation, has_mem_swap, has_swappiness, disable_oom_killer;
  bool check_before_update;                       /* refuse a limit below current usage */
  bool has_rt_runtime, has_rt_period;
  int64_t rt_runtime;
  uint64_t rt_period;
  int64_t mem_limit, mem_reservation, mem_swap;   /* bytes; -1: unlimited */
  uint64_t swappiness;
  bool has_pids;
  int64_t pids_limit;                             /* < 0: unlimited ("max"); 0 is a limit (spec 1.3) */
  bool has_shares, has_quota, has_period, has_burst, has_idle;
  uint64_t shares, period, burst;                 /* burst: microseconds a period may run over quota */
  int64_t quota;                                  /* -1: unlimited */
  int64_t idle;                                   /* 0 or 1 (SCHED_IDLE for the group) */
  char *cpus, *mems;
  char **unified_keys, **unified_values;          /* raw cgroup v2 files */
  /* blockIO */
  bool has_blkio_weight;
  uint64_t blkio_weight;
  struct cg_dev_value { int64_t major, minor; uint64_t value; } *weight_dev, *throttle[4];
  size_t n_weight_dev, n_throttle[4];   /* read bps, write bps, read iops, write iops */
  /* hugepageLimits */
  char **huge_sizes;                              /* "2MB" */
  uint64_t *huge_limits;
  size_t n_huge;
  size_t n_unified;
  /* network (v1 net_cls, net_prio) */
  bool has_class_id;
  uint32_t class_id;
  char **prio_names;                              /* interface names, in the runtime's netns */
  uint32_t *prio_values;
  size_t n_prio;
  /* rdma: per device, hca_handle and hca_object (-1: max) */
  char **rdma_devices;
  int64_t *rdma_handles, *rdma_objects;
  size_t n_rdma;
};

/* cpu.shares (v1, 2..262144) as a v2 cpu.weight (1..10000): runc 1.3.2's
 * and crun 1.23's curve, which maps 2, 1024 (the default) and 262144 to 1,
 * 100 (v2's default) and 10000. 0 (unset) stays 0. */
uint64_t cgroup_shares_to_weight (uint64_t shares);

int cgroup_parse_resources (yajl_val resources, const char *docname, struct cg_resources *out, moat_error **err);
void cgroup_resources_free (struct cg_resources *r);
/* The first section of R that sets a limit ("memory", "cpu", ...), or NULL. */
const char *cgroup_resources_named (const struct cg_resources *r);
/* Write the limits into PATH's files (v1: memory, pids, cpu, cpuset
 * hierarchies; v2: the unified tree, with the controllers enabled from the
 * root down and v1 values converted as runc does). A value this host cannot
 * take is an error naming it. */
int cgroup_apply_resources (const char *path, const struct cg_resources *r, moat_error **err);

/* A number read from DIR/FILE, 0 when it cannot be read. */
unsigned long long cgroup_read_ull (const char *dir, const char *file);

/* Freeze / thaw every process of the cgroup (v1 freezer, v2 cgroup.freeze),
 * waiting until the kernel says it is done. */
int cgroup_freeze (const char *path, bool freeze, moat_error **err);
bool cgroup_is_frozen (const char *path);

/* Watching the limits: an OOM kill (v1 memory.oom_control through
 * cgroup.event_control, v2 memory.events) or a refused fork (pids.events).
 * FDS (up to 4, -1 for none) are to be polled; cgroup_watch_read says what
 * happened since the last call. */
struct cg_watch;
int cgroup_watch_open (const char *path, struct cg_watch **out, moat_error **err);
void cgroup_watch_close (struct cg_watch *w);
void cgroup_watch_fds (const struct cg_watch *w, int fds[4]);
/* New OOM kills and refused forks since the last call, and the limits. */
void cgroup_watch_read (struct cg_watch *w, unsigned long *ooms, unsigned long *refused,
                        char *mem_limit, size_t ml, char *pids_limit, size_t pl);
/* The cgroup was removed while watched (systemd prunes a scope as soon as
 * it empties): the counts read last are all this watch will know. */
bool cgroup_watch_gone (const struct cg_watch *w);

/* The cgroup's statistics as runc's `events --stats` "data" object (cpu,
 * memory, pids), onto J (a jbuf.h writer, already inside an object: this
 * adds one "data" member). */
struct jbuf;
void cgroup_stats (const char *path, struct jbuf *j);

/* mkdir PATH in every hierarchy and move PID into it. */
/* Joining without the host-wide wait. Every move of a process into a
 * cgroup through cgroup.procs takes the kernel's cgroup_threadgroup_rwsem
 * for writing, and the first writer after a quiet spell waits for an RCU
 * grace period: 8 to 19 ms here, crun and runc pay it too. Two ways in
 * skip it: clone3(CLONE_INTO_CGROUP), born in the v2 cgroup; and a
 * single-threaded process writing "0" (itself) to a v1 hierarchy's
 * "tasks" file. So the parent makes the cgroup in every hierarchy and
 * opens the way in; the init is cloned into the v2 one and moves itself
 * into the v1 ones before anything else. */
struct cgroup_entry
{
  int v2_fd;              /* the v2 cgroup's directory, for CLONE_INTO_CGROUP; -1: none */
  int tasks[16];          /* each v1 hierarchy's "tasks" file, opened for writing */
  size_t n_tasks;
};
#define CGROUP_ENTRY_INIT { .v2_fd = -1 }
/* Make PATH in every hierarchy and open the way into each. */
int cgroup_entry_open (const char *path, struct cgroup_entry *e, moat_error **err);
/* `exec --cgroup`: the way into existing sub-cgroups of PATH instead, as
 * runc's ARGS say ([CONTROLLER[,CONTROLLER]:]SUB, NULL-terminated; v1 alone
 * takes controllers). A sub-cgroup is relative, without "..", and must
 * exist; nothing is made. */
int cgroup_entry_open_sub (const char *path, char *const *args, struct cgroup_entry *e, moat_error **err);
/* In the new process, first thing: into each v1 hierarchy's cgroup. */
int cgroup_entry_join_self (const struct cgroup_entry *e, moat_error **err);
/* The v2 part the old way, for a kernel without clone3. */
int cgroup_entry_move_v2 (const struct cgroup_entry *e, pid_t pid, moat_error **err);
void cgroup_entry_close (struct cgroup_entry *e);

/* The v1 cpu hierarchy's "tasks" file of PATH (a thread writes "0" there
 * to join it alone), or NULL: no such hierarchy (pure v2 moves processes
 * whole), or no such cgroup. */
char *cgroup_cpu_tasks (const char *path);
/* Pure v2: the container's cpu.max (the supervisor keeps within it,
 * supcpu.h), or NULL (not v2, no cpu controller there). */
char *cgroup_cpu_max (const char *path);

/* Every pid in the container's cgroup (from the pids or unified hierarchy). */
int cgroup_pids (const char *path, pid_t **pids, size_t *n, moat_error **err);
/* Send SIG to every process in the cgroup. */
int cgroup_kill_all (const char *path, int sig, moat_error **err);
/* rmdir PATH in every hierarchy; waits briefly for exiting tasks to leave. */
int cgroup_destroy (const char *path, moat_error **err);

#endif
