/* moat — the state store: one directory per container under --root
 * (default /run/moat), written atomically, guarded by flock(2).
 *
 *   ROOT/ID/state.json   what `moat state` shows, plus what moat needs later
 *   ROOT/ID/config.json  the config the container was created from (hooks
 *                        for poststop, masked paths, ...), a private copy
 *   ROOT/ID/exec.sock    present while the init waits for `moat start`
 *
 * Status is derived, never trusted from disk alone: a live init whose start
 * time matches and whose exec.sock exists is "created"; live without it is
 * "running"; a dead or reused pid is "stopped". No daemon is needed. */
#ifndef MOAT_STATE_H
#define MOAT_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

#define MOAT_DEFAULT_ROOT "/run/moat"
#define MOAT_OCI_VERSION "1.3.0"
#define EXEC_SOCK_NAME "exec.sock"
/* The supervisor listens here for `moat exec`: a joining process and its
 * seccomp listener. */
#define SUP_SOCK_NAME "sup.sock"

enum moat_status
{
  STATUS_CREATING,
  STATUS_CREATED,
  STATUS_RUNNING,
  STATUS_PAUSED,
  STATUS_STOPPED,
};

struct moat_state
{
  char *id;
  char *bundle;               /* absolute */
  char *rootfs;               /* absolute */
  pid_t pid;                  /* host pid of the init; 0 while creating */
  unsigned long long start_time;  /* /proc/PID/stat field 22, guards against pid reuse */
  char *created;              /* RFC 3339, UTC */
  uid_t owner;
  char *cgroup_path;          /* the container's cgroup, relative to each hierarchy root */
  char *systemd_unit;         /* --systemd-cgroup: its scope unit ("moat-ID.scope"), else NULL */
  bool detached_init;         /* the init is not moat's child (create), vs run */
  pid_t supervisor_pid;       /* 0 when the container has no supervisor */
  char *audit_dir;            /* where its log and spool are; NULL without a supervisor */
  char **annotation_keys, **annotation_values;
  size_t n_annotations;
  enum moat_status saved_status;  /* as last written: only "creating" is trusted */
};

const char *status_name (enum moat_status s);

/* Container ids: [A-Za-z0-9_+.-]+, not "." or "..", at most 1024 bytes. */
int state_validate_id (const char *id, moat_error **err);

/* Open (creating when asked) the root directory. */
int state_root_open (const char *root, bool create, int *dirfd, moat_error **err);
/* mkdir ROOT/ID exclusively: exactly one of two racing creates wins, the
 * other gets "container `ID` already exists". Returns an fd on the new dir,
 * locked exclusively. */
int state_dir_create (int rootfd, const char *id, int *dirfd, moat_error **err);
/* Open ROOT/ID; "container `ID` does not exist" when missing. */
int state_dir_open (int rootfd, const char *id, int *dirfd, moat_error **err);
int state_lock (int dirfd, bool exclusive, moat_error **err);
/* Remove ROOT/ID and everything in it. */
int state_dir_remove (int rootfd, const char *id, moat_error **err);

int state_write (int dirfd, const struct moat_state *st, moat_error **err);
/* Set annotation KEY of ST (in memory: what `moat state` shows). */
void state_annotate (struct moat_state *st, const char *key, const char *value);
int state_read (int dirfd, const char *id, struct moat_state **out, moat_error **err);
void state_free (struct moat_state *st);
static inline void cleanup_state_fn (struct moat_state **s) { if (*s) state_free (*s); }
#define cleanup_state __attribute__ ((cleanup (cleanup_state_fn)))

/* The live status (see above). */
enum moat_status state_status (int dirfd, const struct moat_state *st);
/* Is this pid alive and the same process (start time)? Zombies count as dead. */
bool pid_alive (pid_t pid, unsigned long long start_time);
/* Field 22 of /proc/PID/stat; 0 on failure. */
unsigned long long pid_start_time (pid_t pid);

/* The OCI state JSON (`moat state`), with runc's extra fields. */
char *state_oci_json (const struct moat_state *st, enum moat_status status, bool pretty);

/* The owner's user name ("root"), or "#UID" when it has none. */
const char *state_owner_name (uid_t uid, char *buf, size_t n);

/* Current time in RFC 3339 with nanoseconds. */
char *rfc3339_now (void);

#endif
