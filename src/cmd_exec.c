#include "config-host.h"
#include "cmd.h"
#include "caps.h"
#include "container.h"
#include "util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
  "[--process FILE] [--env|-e KEY=VALUE]... [--cwd DIR] [--user|-u UID[:GID]] [--additional-gids GID]... "
  "[--cap CAP]... [--no-new-privs] [--apparmor PROFILE] [--process-label LABEL] [--detach|-d] [--pid-file FILE] "
  "[--pidfd-socket SOCK] [--cgroup [CONTROLLER[,CONTROLLER]:]SUB]... [--preserve-fds N] [--ignore-paused] "
  "ID [COMMAND [ARG...]]";

/* Grow a NULL-terminated list of borrowed strings (argv's). */
static void
push (char ***v, size_t *n, char *s)
{
  *v = xrealloc (*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

int
cmd_exec (struct global_opts *g, int argc, char **argv)
{
  enum { O_PROCESS = 256, O_CWD, O_GIDS, O_CAP, O_NNP, O_PIDFILE, O_PRESERVE, O_IGNORE_PAUSED,
         O_CONSOLE, O_APPARMOR, O_LABEL, O_PIDFD_SOCKET, O_CGROUP };
  static const struct option opts[] = {
    { "process", required_argument, NULL, O_PROCESS }, { "env", required_argument, NULL, 'e' },
    { "cwd", required_argument, NULL, O_CWD }, { "user", required_argument, NULL, 'u' },
    { "additional-gids", required_argument, NULL, O_GIDS }, { "cap", required_argument, NULL, O_CAP },
    { "no-new-privs", no_argument, NULL, O_NNP }, { "tty", no_argument, NULL, 't' },
    { "detach", no_argument, NULL, 'd' }, { "pid-file", required_argument, NULL, O_PIDFILE },
    { "preserve-fds", required_argument, NULL, O_PRESERVE },
    { "ignore-paused", no_argument, NULL, O_IGNORE_PAUSED },
    { "console-socket", required_argument, NULL, O_CONSOLE },
    { "apparmor", required_argument, NULL, O_APPARMOR },
    { "process-label", required_argument, NULL, O_LABEL },
    { "pidfd-socket", required_argument, NULL, O_PIDFD_SOCKET },
    { "cgroup", required_argument, NULL, O_CGROUP },
    { NULL, 0, NULL, 0 },
  };
  struct exec_opts o = { .root = g->root };
  cleanup_free char **env = NULL, **caps = NULL, **cgroups = NULL;
  cleanup_free gid_t *gids = NULL;
  size_t nenv = 0, ncaps = 0, ncgroups = 0;
  int c;
  char *end;
  while ((c = getopt_long (argc, argv, "+e:u:td", opts, NULL)) != -1)
    switch (c)
      {
      case O_PROCESS: o.process_file = optarg; break;
      case 'e': push (&env, &nenv, optarg); break;
      case O_CWD: o.cwd = optarg; break;
      case 'u': o.user = optarg; break;
      case O_GIDS:
        {
          /* Repeated, or comma-separated as runc's --additional-gids takes them. */
          cleanup_free char *list = xstrdup (optarg);
          char *save = NULL;
          for (char *t = strtok_r (list, ",", &save); t; t = strtok_r (NULL, ",", &save))
            {
              unsigned long v = strtoul (t, &end, 10);
              if (*t == '\0' || *t == '-' || *end != '\0' || v > 0xfffffffeUL)
                {
                  cleanup_free char *shown = str_printable (t);
                  return cmd_usage ("exec", usage_text, "--additional-gids: `%s` is not a numeric gid", shown);
                }
              gids = xrealloc (gids, (o.n_additional_gids + 1) * sizeof *gids);
              gids[o.n_additional_gids++] = (gid_t) v;
            }
          break;
        }
      case O_CAP: push (&caps, &ncaps, optarg); break;
      case O_NNP: o.no_new_privs = true; break;
      case 't': o.tty = true; break;
      case 'd': o.detach = true; break;
      case O_PIDFILE: o.pid_file = optarg; break;
      case O_PRESERVE:
        {
          long v = strtol (optarg, &end, 10);
          if (*optarg == '\0' || *end != '\0' || v < 0 || v > 1000000)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("exec", usage_text, "--preserve-fds: `%s` is not a count", shown);
            }
          o.preserve_fds = (int) v;
          break;
        }
      case O_IGNORE_PAUSED: o.ignore_paused = true; break;
      case O_CONSOLE: o.console_socket = optarg; break;
      case O_APPARMOR: o.apparmor = optarg; break;
      case O_LABEL: o.process_label = optarg; break;
      case O_PIDFD_SOCKET: o.pidfd_socket = optarg; break;
      case O_CGROUP: push (&cgroups, &ncgroups, optarg); break;
      default: return cmd_usage ("exec", usage_text, NULL);
      }
  if (optind >= argc)
    return cmd_usage ("exec", usage_text, "missing container id");
  o.id = argv[optind++];
  if (o.process_file && optind < argc)
    return cmd_usage ("exec", usage_text, "give the command in --process or on the command line, not both");
  if (!o.process_file && optind >= argc)
    return cmd_usage ("exec", usage_text, "missing command");
  o.args = optind < argc ? argv + optind : NULL;
  o.env = env;
  o.caps = caps;
  o.additional_gids = gids;
  o.cgroups = cgroups;
  moat_error *err = NULL;
  /* Refused here, with the name escaped, before anything is looked up: a
   * --cap is an argument like any other, and a bad one is a usage error
   * whatever the container (exec.c checks the names again). */
  for (size_t i = 0; i < ncaps; i++)
    if (!caps_name_known (caps[i]))
      {
        cleanup_free char *shown = str_printable (caps[i]);
        moat_error_set (&err, 0, "--cap `%s`: unknown capability", shown);
        return cmd_fail (&err);
      }
  int status = 0;
  /* runc's status and prefix for an exec that never ran (255: a command
   * exits with 0-255, so no status of the process is taken for moat's). */
  if (container_exec (&o, &status, &err) < 0)
    {
      moat_error_wrap (&err, "exec failed");
      cmd_fail (&err);
      return 255;
    }
  return status;
}
