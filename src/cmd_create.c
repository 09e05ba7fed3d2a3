#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
  "[--bundle DIR] [--config FILE] [--policy FILE] [--pid-file FILE] [--console-socket SOCK] [--pidfd-socket SOCK] [--no-pivot] "
  "[--no-new-keyring] [--preserve-fds N] ID";

int
parse_create_opts (const char *cmd, const char *usage, struct global_opts *g, int argc, char **argv,
                   struct create_opts *o, bool *detach, bool *keep)
{
  enum { OPT_PID_FILE = 256, OPT_CONSOLE, OPT_NO_PIVOT, OPT_NO_KEYRING, OPT_PRESERVE, OPT_KEEP, OPT_POLICY, OPT_LEARN, OPT_CONFIG,
         OPT_NO_SUBREAPER, OPT_PIDFD_SOCKET };
  static const struct option opts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "console-socket", required_argument, NULL, OPT_CONSOLE },
    { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
    { "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
    { "preserve-fds", required_argument, NULL, OPT_PRESERVE },
    { "detach", no_argument, NULL, 'd' },
    { "keep", no_argument, NULL, OPT_KEEP },
    { "policy", required_argument, NULL, OPT_POLICY },
    { "learn", no_argument, NULL, OPT_LEARN },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
    { "pidfd-socket", required_argument, NULL, OPT_PIDFD_SOCKET },
    { NULL, 0, NULL, 0 },
  };
  memset (o, 0, sizeof *o);
  o->root = g->root;
  o->bundle = ".";
  o->systemd_cgroup = g->systemd_cgroup;
  o->cgroup_disabled = g->cgroup_disabled;
  o->rootless = g->rootless;
  o->audit_dir = g->audit_dir;
  o->kmsg = g->kmsg;
  o->fault_detail = g->fault_detail;
  o->audit_max_size = g->audit_max_size;
  o->audit_rate = g->audit_rate;
  o->audit_burst = g->audit_burst;
  o->audit_kernel = g->audit_kernel;
  o->audit_forward = g->audit_forward;
  int c;
  while ((c = getopt_long (argc, argv, detach ? "+b:d" : "+b:", opts, NULL)) != -1)
    switch (c)
      {
      case 'b': o->bundle = optarg; break;
      case OPT_PID_FILE: o->pid_file = optarg; break;
      case OPT_CONSOLE: o->console_socket = optarg; break;
      case OPT_NO_PIVOT: o->no_pivot = true; break;
      case OPT_POLICY: o->policy = optarg; break;
      case OPT_LEARN: o->learn = true; break;
      case OPT_CONFIG: o->config = optarg; break;
      case OPT_NO_KEYRING: o->no_new_keyring = true; break;
      case OPT_PRESERVE:
        {
          char *end;
          long n = strtol (optarg, &end, 10);
          if (*end || n < 0 || n > 65536)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage (cmd, usage, "--preserve-fds: `%s` is not a count of fds", shown), -1;
            }
          o->preserve_fds = (int) n;
          break;
        }
      case 'd':
        if (!detach)
          return cmd_usage (cmd, usage, "unknown option -d"), -1;
        *detach = true;
        break;
      case OPT_PIDFD_SOCKET: o->pidfd_socket = optarg; break;
      case OPT_NO_SUBREAPER:
        /* runc has it on run alone (its create refuses it). moat run is
         * never a subreaper (see moat(8)): what the flag asks is what it does. */
        if (!detach)
          return cmd_usage (cmd, usage, "unknown option --no-subreaper"), -1;
        break;
      case OPT_KEEP:
        if (!keep)
          return cmd_usage (cmd, usage, "unknown option --keep"), -1;
        *keep = true;
        break;
      default:
        return cmd_usage (cmd, usage, NULL), -1;
      }
  if (optind + 1 != argc)
    return cmd_usage (cmd, usage, optind >= argc ? "missing container id" : "too many arguments"), -1;
  o->id = argv[optind];
  return optind;
}

int
cmd_create (struct global_opts *g, int argc, char **argv)
{
  struct create_opts o;
  if (parse_create_opts ("create", usage_text, g, argc, argv, &o, NULL, NULL) < 0)
    return 1;
  moat_error *err = NULL;
  if (container_create (&o, &err) < 0)
    return cmd_fail (&err);
  return 0;
}
