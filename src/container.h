/* moat — the container lifecycle: create, start, run, kill, delete, state,
 * list. It orchestrates the walls; the CLI calls one function per command. */
#ifndef MOAT_CONTAINER_H
#define MOAT_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"
#include "state.h"

struct create_opts
{
  const char *root;           /* --root */
  const char *id;
  const char *bundle;         /* may be relative; default "." */
  const char *pid_file;
  const char *console_socket;
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;
  bool systemd_cgroup;
  bool cgroup_disabled;       /* --cgroup-manager disabled: no cgroup at all */
  int rootless;               /* --rootless: -1 auto (a non-root user), 0 no, 1 yes: a cgroup the
                               * kernel refuses (EACCES, EPERM, EROFS) is done without, not an error */
  const char *pidfd_socket;   /* --pidfd-socket: where the init's pidfd goes */
  const char *config;         /* --config FILE; NULL: BUNDLE/config.json */
  const char *audit_dir;      /* --audit-dir; NULL = /var/log/moat */
  const char *policy;         /* --policy FILE, or NULL */
  const char *kmsg;           /* --kmsg: the kernel log for fault details */
  const char *fault_detail;   /* --fault-detail: "kmsg", "bpf", or NULL (the policy's, else kmsg) */
  bool audit_kernel;          /* --audit-kernel: record the syscalls the kernel refused (BPF probe) */
  bool learn;                 /* --learn: every call the policy would stop is allowed and recorded */
  const char *audit_max_size, *audit_rate, *audit_burst;   /* the global options; NULL: not given */
  const char *audit_forward;  /* --audit-forward: syslog, kernel (hostaudit.h); NULL: not given */
};

int container_create (const struct create_opts *o, moat_error **err);
int container_start (const char *root, const char *id, moat_error **err);

struct run_opts
{
  struct create_opts create;
  bool detach;
  bool keep;
  const struct audit_retention *retention;   /* for the delete at the end; NULL: the default */
};
/* Foreground: *exit_status is the workload's status (128+signal if killed). */
int container_run (const struct run_opts *o, int *exit_status, moat_error **err);

int container_kill (const char *root, const char *id, int sig, bool all, moat_error **err);
/* pause (freeze) a running container, or resume (thaw) a paused one. */
int container_pause (const char *root, const char *id, bool pause, moat_error **err);
/* Apply new limits to a created, running or paused container. */
struct cg_resources;
int container_update (const char *root, const char *id, const struct cg_resources *r, moat_error **err);
/* The cgroup path of a created, running or paused container (PATH may be
 * NULL: then only whether it is still alive); stopped or gone: an error. */
int container_cgroup (const char *root, const char *id, char **path, moat_error **err);
/* The host pids of the container's processes. */
int container_pids (const char *root, const char *id, pid_t **pids, size_t *n, moat_error **err);
struct audit_retention;
/* RET: what the audit directory keeps of the logs of containers gone (NULL:
 * the default, AUDIT_RETENTION_DEFAULT). */
int container_delete (const char *root, const char *id, bool force, const struct audit_retention *ret,
                      moat_error **err);
/* The OCI state JSON of one container; its annotation org.moat.audit says
 * whether its audit is "active", "lost since TIME" (the supervisor died
 * while the container lived), "ended" or "off". */
int container_state (const char *root, const char *id, char **json, moat_error **err);
/* What container_state does for the audit, for the commands that read a
 * container's log (audit, explain): a supervisor found gone while the
 * container lives is said, once, in the log. */
void container_audit_watch (const char *root, const char *id);
/* The same for a container already open (ROOT/ID as DIRFD, its state and
 * live status). */
void container_audit_note (const char *root, int dirfd, const struct moat_state *st, enum moat_status status);

struct container_info
{
  struct moat_state *st;
  enum moat_status status;
};
int container_list (const char *root, struct container_info **out, size_t *n, moat_error **err);
void container_list_free (struct container_info *v, size_t n);

struct exec_opts
{
  const char *root, *id;
  const char *process_file;   /* --process: an OCI process JSON */
  char **args;                /* NULL-terminated; the command (without --process) */
  char **env;                 /* -e KEY=VALUE, added to (or replacing in) the container's */
  const char *cwd;
  const char *user;           /* uid[:gid] */
  gid_t *additional_gids;
  size_t n_additional_gids;
  char **caps;                /* --cap: added to the bounding, effective and permitted sets */
  bool no_new_privs;
  bool tty;
  const char *console_socket;
  const char *apparmor, *process_label;
  bool detach;
  const char *pid_file;
  int preserve_fds;
  bool ignore_paused;
  const char *pidfd_socket;   /* --pidfd-socket: where the process's pidfd goes */
  char **cgroups;             /* --cgroup [CONTROLLER[,CONTROLLER]:]SUB..., NULL-terminated; NULL: none */
};
/* Run a process in a running container. Without detach, waits for it and
 * sets its exit status (128+N for a signal). */
int container_exec (const struct exec_opts *o, int *exit_status, moat_error **err);

/* Shared with exec.c. */
struct moat_state;
int open_container (const char *root, const char *id, bool lock, int *rootfd, int *dirfd,
                    struct moat_state **st, moat_error **err);
enum moat_status live_status (int dirfd, const struct moat_state *st);
struct moat_config;
int load_saved_config (int dirfd, const char *id, struct moat_config **cfg, moat_error **err);
int forward_and_wait (pid_t pid, int *exit_status, moat_error **err);
/* The rootfs of CFG (root.path, relative to BUNDLE), absolute and real. */
int resolve_rootfs (const struct moat_config *cfg, const char *bundle, char **out, moat_error **err);
/* A listening unix socket NAME in the state directory DIRFD. */
int bind_state_sock (int dirfd, const char *name, int backlog, int *out, moat_error **err);
int write_pid_file (const char *path, pid_t pid, moat_error **err);
#endif
