/* moat — the container init: cloned into its new namespaces by `moat
 * create`, it builds the container around itself, waits to be started, then
 * drops its privileges and execs the workload.
 *
 * Parent and init talk over a SOCK_SEQPACKET pair, one message each way per
 * step, so a failure inside the init comes back as a moat_error that names
 * what failed ("mounts[2]: mount `proc` on `/proc`: Permission denied"). */
#ifndef MOAT_PROCESS_H
#define MOAT_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/filter.h>
#include <sys/types.h>
#include "config.h"
#include "cgroup.h"
#include "error.h"

enum sync_type
{
  SYNC_GO = 1,        /* parent -> init: namespaces mapped, cgroup joined; data: state JSON */
  SYNC_HOOKS,         /* init -> parent: mounts done, run prestart/createRuntime now */
  SYNC_HOOKS_DONE,    /* parent -> init */
  SYNC_READY,         /* init -> parent: waiting for start */
  SYNC_START,         /* starter -> init: data: state JSON for startContainer hooks */
  SYNC_ERROR,         /* init -> anyone: errnum + message */
  SYNC_CONSOLE,       /* init (or exec'd process) -> parent: the pty master, SCM_RIGHTS */
  SYNC_LISTENER,      /* exec'd process -> `moat exec`: its seccomp listener, SCM_RIGHTS;
                         answered SYNC_GO once the supervisor holds it */
  SYNC_MOUNT_SRC,     /* parent -> init, before SYNC_GO: mounts[errnum]'s bind source, SCM_RIGHTS */
};

struct init_args
{
  const struct moat_config *cfg;
  const char *id;
  const char *rootfs;        /* absolute */
  const char *bundle;        /* absolute */
  const char *cgroup_path;
  const char *exe_path;      /* resolved by the init: for error messages */
  int sync_fd;               /* the init's end of the pair */
  int listen_fd;             /* exec.sock (create), or -1 (run: started over sync_fd) */
  int preserve_fds;
  /* preserve_fds entries, from fd 3: true where the caller's fd was closed
   * and a placeholder holds the slot (proc_preserve_reserve). May be NULL. */
  const bool *preserve_closed;
  /* The seccomp filter, compiled by the parent (NULL: none), and whether it
   * has a listener to hand to the supervisor over sup_fd. */
  const struct sock_fprog *sc_prog;
  unsigned sc_flags;
  bool sc_listener;
  /* The listener belongs to an external agent (listenerPath): it goes there
   * through the supervisor, with this metadata. */
  bool sc_to_agent;
  const char *sc_agent_metadata;
  int sup_fd;
  bool no_pivot;
  bool no_new_keyring;
  /* `moat exec`: a process joining a running container. sup_fd is then a
   * connection to the supervisor's sup.sock; no hooks run. */
  bool joining;
  int console_slave;         /* set by the init: the pty's peer for stdio (-1: none) */
  int *src_fds;              /* set by the init: the bind sources create sent (SYNC_MOUNT_SRC), or NULL */
  char **exec_env;           /* set by the init: process.env with HOME added, or NULL (as it is) */
  /* The way into the container's cgroup (create): cloned into its v2 part,
   * the init moves itself into the v1 ones first thing. NULL: no cgroup. */
  const struct cgroup_entry *cg_entry;
  /* Idmapped trees the parent made, one per mount (-1: none); NULL: none. */
  const int *mount_fds;
  size_t n_mount_fds;
};

/* Clone the init with FLAGS (CLONE_NEW*). Returns its host pid. With
 * a->cg_entry's v2 directory, the init is born in that cgroup
 * (CLONE_INTO_CGROUP) and *IN_V2 says so; a kernel without clone3 gets a
 * plain clone and *IN_V2 false (the caller moves it). */
int process_spawn_init (struct init_args *a, int flags, pid_t *pid, bool *in_v2, moat_error **err);

/* A fork (SIGCHLD to the caller) born in CG's v2 cgroup when it has one
 * (*IN_V2; clone3 CLONE_INTO_CGROUP); a kernel without clone3 gets a plain
 * fork and *IN_V2 false. Returns like fork. */
pid_t process_fork_into_cgroup (const struct cgroup_entry *cg, bool *in_v2);

/* `moat exec`, already in the container's namespaces, root and cgroup, with
 * no fd open but a->sync_fd and the ones to preserve: clone the process as
 * a sibling (a child of `moat exec`), which inherits all that. It waits for
 * SYNC_GO on a->sync_fd, then becomes cfg's process; a listener it must
 * hand over goes back on a->sync_fd (SYNC_LISTENER), never to the
 * supervisor directly. */
int process_spawn_joined (struct init_args *a, pid_t *pid);
/* Wait for the process on FD to exec (0) or report why it could not. A
 * listener it hands over (SYNC_LISTENER) goes to the supervisor on SUP. */
int process_wait_exec (int fd, int sup, moat_error **err);

/* A message carrying an fd (SCM_RIGHTS), and its receiving end: a
 * SYNC_ERROR instead becomes *err, as with sync_expect. */
int sync_send_fd (int fd, enum sync_type type, int passed, moat_error **err);
int sync_expect_fd (int fd, enum sync_type want, int *passed, moat_error **err);

/* Parent, before SYNC_GO: mounts[IDX]'s bind source, opened by the parent. */
int sync_send_mount_src (int fd, size_t idx, int passed, moat_error **err);

/* Send one message. */
int sync_send (int fd, enum sync_type type, int errnum, const char *data, moat_error **err);
/* Receive one message of type WANT. A SYNC_ERROR becomes *err; EOF too
 * ("container init exited during set-up"). *data may be NULL. */
int sync_expect (int fd, enum sync_type want, char **data, moat_error **err);

#endif
