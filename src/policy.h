/* moat — policy files: one JSON document setting every wall at once,
 * overlaid on a bundle's config.json (`--policy FILE` on create and run).
 *
 *   { "name", "description",
 *     "seccomp": { an OCI/Docker seccomp profile },
 *     "capabilities": [...],          the kept set (all five sets); all else dropped
 *     "noNewPrivileges": bool,
 *     "namespaces": ["pid", ...],     made sure to exist (created when absent)
 *     "maskedPaths": [...], "readonlyPaths": [...],   added to config.json's
 *     "resources": {...},             (applied by the cgroup wall, later)
 *     "strict": bool,                 syscall names unknown here are errors, not skipped
 *     "audit": {"syscalls": bool,     false: the kernel enforces, nothing recorded
 *               "signals": bool,      false: no records of fault-signal deaths
 *               "faultDetail": "kmsg"|"bpf",   where fault addresses come from
 *               "kernel": bool,       the syscalls the kernel itself refused
 *               "maxSize": "64M", "rate": 1000, "burst": 20000} }   the log's budget
 *
 * A bare Docker/Podman seccomp profile (top-level "defaultAction") is a
 * policy with only "seccomp". */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "config.h"
#include "landlock.h"
#include "error.h"

struct moat_policy
{
  char *path;                 /* as given */
  char *name;                 /* "name", else the file's base name */
  char *description;
  yajl_val seccomp;           /* points into tree; NULL if none */
  bool has_caps;
  char **caps;
  bool has_nnp, nnp;
  char **namespaces;
  char **masked_paths, **readonly_paths;
  yajl_val resources;
  bool audit_syscalls;        /* default true */
  bool audit_signals;         /* fault-signal deaths; default true */
  bool audit_cgroup;          /* OOM kills, refused forks; default true */
  char *fault_detail;         /* "kmsg" or "bpf"; NULL: the default (kmsg) */
  bool audit_kernel;          /* "kernel": syscalls the kernel refused; default false */
  /* "maxSize", "rate", "burst": the log's budget (budget.h), each if given */
  bool has_max_size, has_rate, has_burst;
  uint64_t max_size;
  uint32_t rate, burst;
  bool strict;                /* "strict": syscall names unknown here are errors */
  struct moat_fs_rule *fs_rules;   /* "filesystem": Landlock rules; NULL = no such wall */
  size_t n_fs_rules;
  char *text;                 /* the file as read, saved with the state */
  yajl_val tree;
};

int policy_load (const char *path, struct moat_policy **out, moat_error **err);
/* The same from TEXT (LEN bytes; NUL bytes are refused by the JSON parser),
 * PATH naming it in messages. */
int policy_parse (const char *text, size_t len, const char *path, struct moat_policy **out, moat_error **err);
void policy_free (struct moat_policy *p);
static inline void cleanup_policy_fn (struct moat_policy **p) { if (*p) policy_free (*p); }
#define cleanup_policy __attribute__ ((cleanup (cleanup_policy_fn)))

/* Overlay P onto CFG (which keeps pointers into P: free P after CFG). */
int policy_apply (const struct moat_policy *p, struct moat_config *cfg, moat_error **err);

#endif
