/* moat — checkpoint and restore with CRIU (the criu binary, run as a
 * child: see criu.c for why not libcriu).
 *
 * The audit across a checkpoint: a seccomp user-notification listener
 * cannot be checkpointed. CRIU saves the filter's BPF and loads it again at
 * restore, but without SECCOMP_FILTER_FLAG_NEW_LISTENER: every call the
 * filter hands to a listener would then fail with ENOSYS and never be
 * recorded. So a container whose filter needs a listener (moat's audit of
 * syscalls, or an agent's listenerPath) is refused at checkpoint, saying
 * why; the rest are checkpointed, and a restored container gets a new
 * supervisor that goes on writing the same id's audit log (append-only). */
#ifndef MOAT_CRIU_H
#define MOAT_CRIU_H

#include <stdbool.h>
#include "error.h"

struct audit_retention;

/* runc's checkpoint/restore flags that both commands share. */
struct criu_common
{
  const char *image_path;     /* --image-path; default "checkpoint" in the cwd, as runc */
  const char *work_path;      /* --work-path; default: the image path */
  bool tcp_established, ext_unix_sk, shell_job, file_locks, auto_dedup;
  const char *manage_cgroups; /* --manage-cgroups-mode soft|full|strict|ignore, or NULL */
  bool empty_net;             /* --empty-ns network */
};

struct checkpoint_opts
{
  const char *root, *id;
  struct criu_common c;
  const char *parent_path;    /* --parent-path (relative to the image path, as CRIU wants) */
  bool leave_running, pre_dump;
  const struct audit_retention *retention;
};

struct restore_opts
{
  const char *root, *id;
  struct criu_common c;
  const char *bundle;         /* --bundle, default "." */
  const char *pid_file;
  bool detach;
  const char *audit_dir;      /* the global --audit-dir */
  const char *kmsg;
  const struct audit_retention *retention;
};

/* Is criu there, and the manage-cgroups mode one it knows? */
int criu_parse_cgroups_mode (const char *mode, moat_error **err);
/* The empty-ns value runc takes ("network"). */
int criu_parse_empty_ns (const char *ns, bool *net, moat_error **err);

int container_checkpoint (const struct checkpoint_opts *o, moat_error **err);
/* *EXIT_STATUS: the restored container's status without --detach. */
int container_restore (const struct restore_opts *o, int *exit_status, moat_error **err);

#endif
