/* moat — the CLI: global options and one function per command. */
#ifndef MOAT_CMD_H
#define MOAT_CMD_H

#include <stdbool.h>
#include "audit.h"
#include "log.h"

struct global_opts
{
  const char *root;
  const char *log;
  enum log_format log_format;
  bool debug;
  bool systemd_cgroup;        /* --systemd-cgroup, --cgroup-manager systemd */
  bool cgroup_disabled;       /* --cgroup-manager disabled */
  int rootless;               /* --rootless: -1 auto (the default), 0 false, 1 true */
  const char *audit_dir;
  const char *kmsg;
  const char *fault_detail;   /* --fault-detail kmsg|bpf, or NULL */
  bool audit_kernel;          /* --audit-kernel */
  /* --audit-max-size, --audit-rate, --audit-burst: the log's budget (a
   * container's annotations and its policy come first); NULL: not given */
  const char *audit_max_size, *audit_rate, *audit_burst;
  const char *audit_forward;  /* --audit-forward syslog|kernel|syslog,kernel|none, or NULL */
  /* --audit-retain-age, --audit-retain-size, parsed */
  struct audit_retention retention;
};

/* Each returns the process exit status. */
int cmd_spec (struct global_opts *g, int argc, char **argv);
int cmd_create (struct global_opts *g, int argc, char **argv);
int cmd_start (struct global_opts *g, int argc, char **argv);
int cmd_run (struct global_opts *g, int argc, char **argv);
int cmd_state (struct global_opts *g, int argc, char **argv);
int cmd_list (struct global_opts *g, int argc, char **argv);
int cmd_kill (struct global_opts *g, int argc, char **argv);
int cmd_delete (struct global_opts *g, int argc, char **argv);
int cmd_audit (struct global_opts *g, int argc, char **argv);
int cmd_policy (struct global_opts *g, int argc, char **argv);
int cmd_features (struct global_opts *g, int argc, char **argv);
int cmd_pause (struct global_opts *g, int argc, char **argv);
int cmd_resume (struct global_opts *g, int argc, char **argv);
int cmd_ps (struct global_opts *g, int argc, char **argv);
int cmd_update (struct global_opts *g, int argc, char **argv);
int cmd_events (struct global_opts *g, int argc, char **argv);
int cmd_exec (struct global_opts *g, int argc, char **argv);
int cmd_explain (struct global_opts *g, int argc, char **argv);
int cmd_metrics (struct global_opts *g, int argc, char **argv);
int cmd_checkpoint (struct global_opts *g, int argc, char **argv);
int cmd_restore (struct global_opts *g, int argc, char **argv);

/* Print an error (stderr and the --log file) and return 1. */
int cmd_fail (moat_error **err);
/* "moat CMD: usage..." on stderr; returns 1. */
int cmd_usage (const char *cmd, const char *usage, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
/* Parse the options create and run share. Returns the next argv index, or -1. */
struct create_opts;
int parse_create_opts (const char *cmd, const char *usage, struct global_opts *g, int argc,
                       char **argv, struct create_opts *o, bool *detach, bool *keep);

#endif
