/* moat — an OCI container runtime that shows the kernel's walls at work.
 * main(): global options (runc-compatible, before the command), then one
 * cmd_*() per command. Only this layer prints errors. */
#include "config-host.h"
#include "cmd.h"
#include "budget.h"
#include "container.h"
#include "cgroup-systemd.h"
#include "selfexe.h"
#include "state.h"
#include "util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct command
{
  const char *name;
  int (*fn) (struct global_opts *, int, char **);
  bool enters_container;   /* runs moat code inside the container: seal the binary first */
  const char *summary;
};

static const struct command commands[] = {
  { "spec", cmd_spec, false, "write a default config.json" },
  { "create", cmd_create, true, "create a container (its init waits for start)" },
  { "start", cmd_start, false, "start a created container" },
  { "run", cmd_run, true, "create, start and wait for a container" },
  { "state", cmd_state, false, "print a container's state as JSON" },
  { "list", cmd_list, false, "list containers" },
  { "exec", cmd_exec, true, "run a new process in a running container" },
  { "kill", cmd_kill, false, "send a signal to a container's init (or all its processes)" },
  { "delete", cmd_delete, false, "delete a container and its resources" },
  { "pause", cmd_pause, false, "freeze every process of a container" },
  { "resume", cmd_resume, false, "thaw a paused container" },
  { "ps", cmd_ps, false, "list a container's processes" },
  { "checkpoint", cmd_checkpoint, false, "checkpoint a running container with CRIU" },
  { "restore", cmd_restore, false, "restore a container from a CRIU checkpoint" },
  { "update", cmd_update, false, "change a running container's limits" },
  { "events", cmd_events, false, "stream a container's stats and OOM events (JSON)" },
  { "features", cmd_features, false, "print what this runtime supports (OCI features JSON)" },
  { "policy", cmd_policy, false, "check, show or compile a policy file" },
  { "audit", cmd_audit, false, "show a container's audit log (denied syscalls, faults)" },
  { "explain", cmd_explain, false, "say which wall stopped what in a container's audit log, and what would allow it" },
  { "metrics", cmd_metrics, false, "print (or serve over HTTP) counters of every audit log, for Prometheus" },
};

static void
usage (FILE *f)
{
  fprintf (f, "Usage: moat [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
              "Global options:\n"
              "  --root DIR            state directory (default " MOAT_DEFAULT_ROOT ";\n"
              "                        for a non-root user $XDG_RUNTIME_DIR/moat)\n"
              "  --log FILE            also write errors to FILE\n"
              "  --log-format FORMAT   text or json (the --log file's format)\n"
              "  --debug               print debug messages\n"
              "  --systemd-cgroup      use systemd for cgroups (needs systemd)\n"
              "  --cgroup-manager M    cgroupfs (the default), systemd (as --systemd-cgroup) or\n"
              "                        disabled (no cgroup: no limits, pause or ps)\n"
              "  --rootless auto|true|false  whether to run without a cgroup where the kernel\n"
              "                        refuses one (EACCES, EPERM, EROFS) rather than fail;\n"
              "                        auto (the default): only for a non-root user\n"
              "  --audit-dir DIR       where audit logs go (default /var/log/moat;\n"
              "                        for a non-root user $XDG_STATE_HOME/moat/audit)\n"
              "  --kmsg PATH|none      the kernel log read for fault details (default /dev/kmsg)\n"
              "  --fault-detail kmsg|bpf  where fault addresses and error codes come from:\n"
              "                        the kernel log (rate-limited) or moat's BPF probe (lossless)\n"
              "  --audit-kernel        also record the syscalls the kernel itself refused\n"
              "                        (EPERM, EACCES, EROFS: capabilities, mounts, permissions)\n"
              "  --audit-max-size SIZE the log size past which calls are only counted (default 64M;\n"
              "                        0: no cap)\n"
              "  --audit-rate N        full records a second before calls are counted in\n"
              "                        aggregates (default 1000; 0: no limit)\n"
              "  --audit-burst N       ... and at once (default 20000)\n"
              "  --audit-forward syslog|kernel|syslog,kernel|none\n"
              "                        also send each record to syslog (/dev/log) and/or the kernel's\n"
              "                        audit (a user message), one key=value line each, at most\n"
              "                        100 a second (the rest counted in a folded line)\n"
              "  --audit-retain-age AGE, --audit-retain-size SIZE\n"
              "                        what delete keeps of the logs of containers gone:\n"
              "                        younger than AGE (default 30d), SIZE in all (default 1G)\n"
              "  -v, --version         print the version\n"
              "  -h, --help            print this help\n\nCommands:\n");
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    fprintf (f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nSee moat(8).\n");
}

/* --rootless VALUE, as runc reads it: "auto" (any case) or empty is -1,
 * else what Go's strconv.ParseBool takes (1 t T TRUE true True, 0 f F
 * FALSE false False). */
static int
parse_rootless (const char *v, int *out)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
  if (*v == '\0' || strcasecmp (v, "auto") == 0)
    return *out = -1, 0;
  for (size_t i = 0; i < ARRAY_SIZE (yes); i++)
    {
      if (strcmp (v, yes[i]) == 0)
        return *out = 1, 0;
      if (strcmp (v, no[i]) == 0)
        return *out = 0, 0;
    }
  return -1;
}

static void
version (void)
{
  /* runc's shape: podman and containerd parse "runc version X". */
  printf ("moat version " MOAT_VERSION_STRING "\n"
          "spec: " MOAT_OCI_VERSION "\n");
}

int
cmd_fail (moat_error **err)
{
  log_moat_error (*err);
  moat_error_free (err);
  return 1;
}

int
cmd_usage (const char *cmd, const char *usage_text, const char *fmt, ...)
{
  if (fmt)
    {
      char msg[512];
      va_list ap;
      va_start (ap, fmt);
      vsnprintf (msg, sizeof msg, fmt, ap);
      va_end (ap);
      log_error ("%s: %s", cmd, msg);
    }
  fprintf (stderr, "Usage: moat %s %s\n", cmd, usage_text);
  return 1;
}

int
main (int argc, char **argv)
{
  struct global_opts g = { .root = NULL, .log_format = LOG_TEXT, .rootless = -1, .retention = AUDIT_RETENTION_DEFAULT };
  enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_AUDIT_DIR, OPT_KMSG, OPT_FAULT_DETAIL, OPT_AUDIT_KERNEL,
         OPT_AUDIT_MAX_SIZE, OPT_AUDIT_RATE, OPT_AUDIT_BURST, OPT_AUDIT_RETAIN_AGE, OPT_AUDIT_RETAIN_SIZE,
         OPT_CGROUP_MANAGER, OPT_AUDIT_FORWARD, OPT_ROOTLESS };
  static const struct option opts[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { "log", required_argument, NULL, OPT_LOG },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "debug", no_argument, NULL, OPT_DEBUG },
    { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
    { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
    { "rootless", required_argument, NULL, OPT_ROOTLESS },
    { "audit-dir", required_argument, NULL, OPT_AUDIT_DIR },
    { "kmsg", required_argument, NULL, OPT_KMSG },
    { "fault-detail", required_argument, NULL, OPT_FAULT_DETAIL },
    { "audit-kernel", no_argument, NULL, OPT_AUDIT_KERNEL },
    { "audit-max-size", required_argument, NULL, OPT_AUDIT_MAX_SIZE },
    { "audit-rate", required_argument, NULL, OPT_AUDIT_RATE },
    { "audit-burst", required_argument, NULL, OPT_AUDIT_BURST },
    { "audit-forward", required_argument, NULL, OPT_AUDIT_FORWARD },
    { "audit-retain-age", required_argument, NULL, OPT_AUDIT_RETAIN_AGE },
    { "audit-retain-size", required_argument, NULL, OPT_AUDIT_RETAIN_SIZE },
    { "version", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *bad_format = NULL;
  int c;
  opterr = 0;
  /* "+": stop at the command; its own options are parsed by the command. */
  while ((c = getopt_long (argc, argv, "+:vh", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_ROOT: g.root = optarg; break;
      case OPT_LOG: g.log = optarg; break;
      case OPT_LOG_FORMAT:
        if (strcmp (optarg, "json") == 0)
          g.log_format = LOG_JSON;
        else if (strcmp (optarg, "text") == 0)
          g.log_format = LOG_TEXT;
        else
          bad_format = optarg;
        break;
      case OPT_DEBUG: g.debug = true; break;
      case OPT_SYSTEMD: g.systemd_cgroup = true; break;
      case OPT_CGROUP_MANAGER:
        /* crun's spelling, which engines pass to it */
        g.systemd_cgroup = strcmp (optarg, "systemd") == 0;
        g.cgroup_disabled = strcmp (optarg, "disabled") == 0;
        if (!g.systemd_cgroup && !g.cgroup_disabled && strcmp (optarg, "cgroupfs") != 0)
          {
            cleanup_free char *shown = str_printable (optarg);
            fprintf (stderr, "moat: --cgroup-manager must be cgroupfs, systemd or disabled, not `%s`\n", shown);
            return 1;
          }
        break;
      case OPT_ROOTLESS:
        if (parse_rootless (optarg, &g.rootless) < 0)
          {
            /* runc's words (Go's strconv.ParseBool), then the choices */
            cleanup_free char *shown = str_printable (optarg);
            fprintf (stderr, "moat: --rootless: parsing \"%s\": invalid syntax (true, false or auto)\n", shown);
            return 1;
          }
        break;
      case OPT_AUDIT_DIR: g.audit_dir = optarg; break;
      case OPT_KMSG: g.kmsg = optarg; break;
      case OPT_FAULT_DETAIL:
        if (strcmp (optarg, "kmsg") != 0 && strcmp (optarg, "bpf") != 0)
          {
            cleanup_free char *shown = str_printable (optarg);
            fprintf (stderr, "moat: --fault-detail must be kmsg or bpf, not `%s`\n", shown);
            return 1;
          }
        g.fault_detail = optarg;
        break;
      case OPT_AUDIT_KERNEL: g.audit_kernel = true; break;
      case OPT_AUDIT_MAX_SIZE: g.audit_max_size = optarg; break;
      case OPT_AUDIT_RATE: g.audit_rate = optarg; break;
      case OPT_AUDIT_BURST: g.audit_burst = optarg; break;
      case OPT_AUDIT_FORWARD: g.audit_forward = optarg; break;
      case OPT_AUDIT_RETAIN_AGE:
      case OPT_AUDIT_RETAIN_SIZE:
        {
          moat_error *e = NULL;
          if ((c == OPT_AUDIT_RETAIN_AGE && audit_parse_age (optarg, &g.retention.max_age, "--audit-retain-age", &e) < 0)
              || (c == OPT_AUDIT_RETAIN_SIZE
                  && budget_parse_size (optarg, &g.retention.max_total, "--audit-retain-size", &e) < 0))
            {
              fprintf (stderr, "moat: %s\n", e->msg);
              moat_error_free (&e);
              return 1;
            }
          break;
        }
      case 'v': version (); return 0;
      case 'h': usage (stdout); return 0;
      case ':':
        {
          cleanup_free char *shown = str_printable (argv[optind - 1]);
          fprintf (stderr, "moat: global option `%s` needs an argument\n", shown);
          usage (stderr);
          return 1;
        }
      default:
        {
          cleanup_free char *shown = str_printable (argv[optind - 1]);
          fprintf (stderr, "moat: unknown global option `%s`\n", shown);
          usage (stderr);
          return 1;
        }
      }

  /* Rootless (runc's way): state under $XDG_RUNTIME_DIR, audit logs under
   * $XDG_STATE_HOME, where a user may write; root keeps /run and /var/log. */
  static char user_root[512], user_audit[512];
  if (g.root == NULL && geteuid () != 0)
    {
      const char *xdg = getenv ("XDG_RUNTIME_DIR");
      if (xdg && *xdg == '/')
        snprintf (user_root, sizeof user_root, "%s/moat", xdg);
      else
        snprintf (user_root, sizeof user_root, "/run/user/%u/moat", (unsigned) geteuid ());
      g.root = user_root;
    }
  if (g.audit_dir == NULL && geteuid () != 0)
    {
      const char *st = getenv ("XDG_STATE_HOME"), *home = getenv ("HOME");
      if (st && *st == '/')
        snprintf (user_audit, sizeof user_audit, "%s/moat/audit", st);
      else if (home && *home == '/' && strcmp (home, "/") != 0)
        snprintf (user_audit, sizeof user_audit, "%s/.local/state/moat/audit", home);
      else
        snprintf (user_audit, sizeof user_audit, "%s/audit", g.root);
      g.audit_dir = user_audit;
    }
  if (g.root == NULL)
    g.root = MOAT_DEFAULT_ROOT;

  moat_error *err = NULL;
  if (log_init (g.log, g.log_format, g.debug, &err) < 0)
    return cmd_fail (&err);
  if (bad_format)
    {
      cleanup_free char *shown = str_printable (bad_format);
      log_error ("--log-format: unknown format `%s` (text or json)", shown);
      return 1;
    }
  if (optind >= argc)
    {
      usage (stderr);
      return 1;
    }
  const char *name = argv[optind];
  if (strcmp (name, "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    {
      if (strcmp (name, commands[i].name) != 0)
        continue;
      if (commands[i].enters_container)
        {
          log_debug ("%s: started", name);
          sdcg_note_self ();   /* its own path is lost with the re-execution */
          if (selfexe_ensure_sealed (argv, g.root, &err) < 0)
            return cmd_fail (&err);
          log_debug ("%s: running from a sealed copy", name);
        }
      /* Commands see argv from their own name on, getopt state reset. */
      int sub_argc = argc - optind;
      char **sub_argv = argv + optind;
      optind = 0;
      opterr = 1;
      return commands[i].fn (&g, sub_argc, sub_argv);
    }
  cleanup_free char *shown = str_printable (name);
  log_error ("unknown command `%s` (see moat --help)", shown);
  return 1;
}
