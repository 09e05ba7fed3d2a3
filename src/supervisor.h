/* moat — the supervisor: one small process per container that owns its
 * audit log. It is double-forked and in a session of its own, so it is never
 * the parent of the container init (an engine's shim stays the reaper).
 *
 * It receives the seccomp listener fd from the init over a unix socket, then
 * for every notification: takes the call down in its spool (spool.h; a
 * thread of its own formats and writes the records), and only then
 * enforces the rule's real action (errno, kill, trap, log). A caller waits in
 * the kernel until it is answered, so no record is ever dropped; if the
 * supervisor dies, the listener closes and the filtered calls fail (ENOSYS):
 * the wall fails closed and the container is not left hanging. */
#ifndef MOAT_SUPERVISOR_H
#define MOAT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "budget.h"
#include "seccomp-wall.h"
#include "faults.h"

struct supervisor_args
{
  const char *id;
  const char *policy;               /* name shown in records */
  const struct moat_seccomp *sc;
  /* sc compiled with its own actions (audit off): run on every call the
   * kernel hands over, its answer is what the call gets. NULL: the rules
   * as moat reads them decide. */
  const struct sock_fprog *enforce;
  /* The log's budget (budget.h): past it, calls are counted in aggregates. */
  struct audit_budget budget;
  int log_fd;                       /* the audit log, O_APPEND */
  int spool_fd;                     /* its spool (spool.h), locked; -1: none */
  const char *spool_path;           /* removed once emptied */
  int ctl_fd;                       /* listener fds arrive here (SCM_RIGHTS); -1: no seccomp audit */
  pid_t init_pid;                   /* the container init, host pid */
  bool signals;                     /* record fault-signal deaths (faults.c) */
  const char *kmsg;                 /* the kernel log for fault details; "none" to go without */
  bool fault_bpf;                   /* fault details from the BPF probe instead (--fault-detail bpf) */
  bool audit_kernel;                /* and the syscalls the kernel refused (--audit-kernel) */
  const char *notice;               /* written first in the log (what create had to leave out), or NULL */
  const char *agent_path;           /* linux.seccomp.listenerPath, or NULL */
  const char *cgroup_path;          /* record OOM kills and refused forks here; NULL: no */
  const char *cpu_tasks;            /* v1: the threads answering calls join the container's cpu
                                       cgroup through this "tasks" file, and stay (their work is
                                       charged to it); NULL: they stay outside */
  const char *cpu_max;              /* pure v2: the container's cpu.max, which the supervisor keeps
                                       within instead (supcpu.h); NULL: none */
  int accept_fd;                    /* sup.sock, listening: `moat exec` joins here; -1: none */
  const struct fault_walls *walls;  /* what a kernel refusal is laid at (--audit-kernel), or NULL */
  /* Called first in the supervisor (a fork of its caller) to free what the
   * caller holds and the supervisor never reads; NULL: nothing. */
  void (*drop) (void *arg);
  void *drop_arg;
};

/* The decision on one call the kernel handed over, exactly as a listener
 * makes it: the verdict ENFORCE gives (the compiled filter with the
 * policy's own actions; NULL: the rules as moat reads them), the rule
 * moat's reading names for it, the call's ABI (libseccomp's token) and its
 * name in that ABI's table. Exposed for the differential test. */
struct name_cache;
struct seccomp_data;
struct sup_decision
{
  enum sc_action act;
  uint32_t eno;
  int rule;                 /* -1: the default action */
  bool unattributed;        /* the verdict matches neither a rule nor the default: no rule named */
  uint32_t abi;
  const char *name;         /* NULL: a number libseccomp does not know */
  int key;
  const char *spec;
  uint8_t paths;
};
/* NAMES: a cache per ABI, from supervisor_names_new. */
struct name_cache *supervisor_names_new (void);
void supervisor_names_free (struct name_cache *names);
void supervisor_decide (const struct moat_seccomp *sc, const struct sock_fprog *enforce, struct name_cache *names,
                        const struct seccomp_data *d, struct sup_decision *out);

/* Start the supervisor; returns its pid (it is not our child once started)
 * once it is listening: no fork of the container can slip past it. */
int supervisor_spawn (const struct supervisor_args *a, pid_t *pid, moat_error **err);

/* `moat exec`, over a connection to sup.sock: PID joined the container
 * (and, with LISTENER >= 0, loaded the filter with this listener). Waits
 * until the supervisor has taken it. */
int supervisor_join (int sock, pid_t pid, int listener, moat_error **err);

/* Append what a dead supervisor left in ID's audit spool to its log
 * (spool_recover with the supervisor's record formats). */
int supervisor_recover (const char *dir, const char *id, unsigned long long *n, moat_error **err);

/* Over a connection to sup.sock: returns once every record made so far is
 * in the log (5 s at most). */
void supervisor_flush (int sock);

/* Bring ID's audit log up to date for a reader: what a dead supervisor
 * left is appended, a live one (ROOT/ID/sup.sock) empties its spool. */
void supervisor_log_sync (const char *root, const char *dir, const char *id);

/* Send a listener fd to the supervisor. */
int supervisor_send_listener (int ctl_fd, int listener, moat_error **err);
/* Have the supervisor hand an external agent's listener to listenerPath
 * (with the container process state JSON, as runc and crun do), and wait
 * for the outcome: a failure to reach the agent fails the start. */
int supervisor_send_agent (int ctl_fd, int listener, const char *state_json, const char *metadata,
                           moat_error **err);

#endif
