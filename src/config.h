/* moat — the OCI runtime-spec config.json, parsed strictly with yajl.
 *
 * Unknown fields are ignored (the spec asks for that); a field of the wrong
 * type, or a missing required one, is an error naming its JSON path, e.g.
 * "config.json: process.args: expected array of strings".
 *
 * The yajl tree is kept (cfg->tree) so walls added later (seccomp, resources)
 * can read their own sections with the typed helpers in json.h. */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

#include "error.h"

enum moat_ns_type
{
  MOAT_NS_PID,
  MOAT_NS_NET,
  MOAT_NS_MNT,
  MOAT_NS_IPC,
  MOAT_NS_UTS,
  MOAT_NS_USER,
  MOAT_NS_CGROUP,
  MOAT_NS_TIME,
  MOAT_NS_COUNT
};

struct moat_namespace
{
  bool present;  /* listed in linux.namespaces */
  char *path;    /* join this one with setns(2) instead of creating; NULL = new */
};

struct moat_idmap
{
  uint32_t container_id, host_id, size;
};

struct moat_mount
{
  char *destination;     /* absolute, inside the container */
  char *type;            /* may be NULL (bind mounts) */
  char *source;          /* may be NULL */
  char **options;        /* NULL-terminated, as written in config.json */
  /* Derived from options by config.c: */
  unsigned long flags;        /* MS_* for mount(2) (MS_BIND|MS_REC, MS_RDONLY, ...) */
  unsigned long clear_flags;  /* MS_* explicitly cleared ("rw", "suid", "dev", ...) */
  unsigned long propagation;  /* MS_PRIVATE|MS_SLAVE|MS_SHARED|MS_UNBINDABLE (|MS_REC), 0 = none */
  char *data;                 /* the options that are not flags, comma-joined ("mode=755,size=65536k") or NULL */
  bool bind;                  /* "bind" or "rbind" in options, or type "bind" */
  /* runtime-spec's extensions (mountopts.c): the recursive options as
   * mount_setattr(2) attributes, for the mount and every mount below it */
  uint64_t rec_set, rec_clr;
  bool idmap, idmap_recursive;  /* "idmap", "ridmap", or mappings given */
  bool tmpcopyup;               /* copy what the mount point held into the new tmpfs */
  struct moat_idmap *uid_mappings, *gid_mappings;   /* mounts[].uidMappings/gidMappings */
  size_t n_uid_mappings, n_gid_mappings;
};

struct moat_device
{
  char *path;    /* absolute, inside the container */
  char type;     /* 'c', 'b', 'u' (=c) or 'p' */
  int64_t major, minor;
  mode_t file_mode; bool has_file_mode;
  uid_t uid; bool has_uid;
  gid_t gid; bool has_gid;
};

struct moat_rlimit
{
  int resource;          /* RLIMIT_* */
  char *name;            /* "RLIMIT_NOFILE" */
  uint64_t soft, hard;
};

struct moat_hook
{
  char *path;      /* absolute */
  char **args;     /* NULL-terminated; may be NULL (then argv = {path}) */
  char **env;      /* NULL-terminated; may be NULL */
  int timeout;     /* seconds; 0 = none */
};

enum moat_hook_stage
{
  MOAT_HOOK_PRESTART,
  MOAT_HOOK_CREATE_RUNTIME,
  MOAT_HOOK_CREATE_CONTAINER,
  MOAT_HOOK_START_CONTAINER,
  MOAT_HOOK_POSTSTART,
  MOAT_HOOK_POSTSTOP,
  MOAT_HOOK_STAGES
};

struct moat_sysctl
{
  char *key, *value;
};

/* The five capability sets, as lists of names ("CAP_CHOWN"). NULL = absent. */
struct moat_caps
{
  char **bounding, **effective, **inheritable, **permitted, **ambient;
};

struct moat_fs_rule;

struct moat_time_offset
{
  int clock;     /* CLOCK_MONOTONIC or CLOCK_BOOTTIME */
  int64_t secs;
  uint32_t nanosecs;
};

struct moat_config
{
  char *oci_version;           /* required */

  /* root */
  char *root_path;             /* as written (relative to the bundle or absolute); required */
  bool root_readonly;

  /* process (required for create/run) */
  bool has_process;
  bool terminal;
  uint32_t console_height, console_width;
  char **args;                 /* required, non-empty */
  char **env;                  /* may be NULL */
  char *cwd;                   /* required, absolute */
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  bool has_umask;
  mode_t umask;
  bool no_new_privileges;
  bool has_caps;
  struct moat_caps caps;
  struct moat_rlimit *rlimits;
  size_t n_rlimits;
  bool has_oom_score_adj;
  int oom_score_adj;
  char *apparmor_profile, *selinux_label;
  /* process.ioPriority: class IOPRIO_CLASS_* (1 RT, 2 BE, 3 IDLE), level 0-7 */
  bool has_ioprio;
  int ioprio_class, ioprio_level;
  /* process.scheduler, for sched_setattr(2) */
  bool has_sched;
  uint32_t sched_policy;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_flags, sched_runtime, sched_deadline, sched_period;
  /* process.execCPUAffinity: CPU lists for a process `moat exec` adds
   * (runtime-spec: not the init); NULL = not set */
  char *exec_cpu_initial, *exec_cpu_final;
  /* linux.memoryPolicy, for set_mempolicy(2): mode | flags, nodes (NULL: none) */
  bool has_mempolicy;
  int mempolicy_mode;
  char *mempolicy_nodes;
  /* linux.personality.domain: PER_LINUX or PER_LINUX32 */
  bool has_personality;
  unsigned long personality;

  char *hostname;              /* NULL = not set */
  char *domainname;

  struct moat_mount *mounts;
  size_t n_mounts;

  struct moat_hook *hooks[MOAT_HOOK_STAGES];
  size_t n_hooks[MOAT_HOOK_STAGES];

  /* annotations, as key/value pairs; keys[i] -> values[i] */
  char **annotation_keys, **annotation_values;
  size_t n_annotations;

  /* linux */
  struct moat_namespace ns[MOAT_NS_COUNT];
  struct moat_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct moat_time_offset *time_offsets;
  size_t n_time_offsets;
  struct moat_device *devices;
  size_t n_devices;
  char *cgroups_path;          /* NULL = default */
  char **masked_paths, **readonly_paths;   /* NULL-terminated or NULL */
  struct moat_sysctl *sysctl;
  size_t n_sysctl;
  char *rootfs_propagation;    /* "private", "rprivate", "slave", ... NULL = default (rprivate... see rootfs.c) */
  char *mount_label;

  /* A policy's "filesystem" section (Landlock), pointing into the policy;
   * NULL: no filesystem wall. */
  const struct moat_fs_rule *fs_rules;
  size_t n_fs_rules;

  /* Raw sections for walls that parse their own (may be NULL). */
  yajl_val seccomp;            /* linux.seccomp */
  yajl_val resources;          /* linux.resources */
  yajl_val tree;               /* the whole document; owned */
};

/* Parse config.json text. `name` is used in messages ("config.json" or a
 * full path). On error *err says "NAME: PATH: problem". */
int config_parse (const char *text, const char *name, struct moat_config **out, moat_error **err);
/* Read and parse BUNDLE/config.json. */
int config_load (const char *bundle, struct moat_config **out, moat_error **err);
/* The same from PATH (create/run --config, crun's spelling). */
int config_load_file (const char *path, struct moat_config **out, moat_error **err);
void config_free (struct moat_config *cfg);

static inline void cleanup_config_fn (struct moat_config **c) { if (*c) config_free (*c); }
#define cleanup_config __attribute__ ((cleanup (cleanup_config_fn)))

/* Every mount option moat recognises (flags, propagation, the extensions
 * of mountopts.h), sorted, NULL-terminated, malloc'd: for `moat features`. */
char **config_mount_option_names (void);

/* "pid" -> MOAT_NS_PID ... ; -1 if unknown. */
int ns_type_from_name (const char *name);
const char *ns_type_name (int type);    /* the OCI name: "pid", "network", "mount", ... */
int ns_clone_flag (int type);           /* CLONE_NEWPID, ... */
const char *ns_proc_name (int type);    /* the /proc/PID/ns/ entry: "pid", "net", "mnt", ... */

/* The config.json `runc spec` would write (rootless variant with user ns and
 * the given uid/gid mappings, see ns_rootless_idmaps). Returns a malloc'd
 * JSON string. */
char *config_default_spec (bool rootless, const struct moat_idmap *uidmap, size_t n_uidmap,
                           const struct moat_idmap *gidmap, size_t n_gidmap);

#endif
