#include "config-host.h"
#include "audit.h"
#include "cmd.h"
#include "container.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

#include <getopt.h>
#include <stdlib.h>

int
cmd_audit (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] =
    "[--json] [--follow] [--summary] [--wall W] [--kind K] [--syscall NAME] [--pid PID] [--since TIME] "
    "[--pod NAME] [--namespace NS] [--image IMG] (ID | --all)";
  enum { OPT_WALL = 256, OPT_KIND, OPT_SYSCALL, OPT_PID, OPT_SINCE, OPT_SUMMARY, OPT_ALL, OPT_POD, OPT_NS, OPT_IMAGE };
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "follow", no_argument, NULL, 'f' },
    { "summary", no_argument, NULL, OPT_SUMMARY },
    { "wall", required_argument, NULL, OPT_WALL },
    { "kind", required_argument, NULL, OPT_KIND },
    { "syscall", required_argument, NULL, OPT_SYSCALL },
    { "pid", required_argument, NULL, OPT_PID },
    { "since", required_argument, NULL, OPT_SINCE },
    { "all", no_argument, NULL, OPT_ALL },
    { "pod", required_argument, NULL, OPT_POD },
    { "namespace", required_argument, NULL, OPT_NS },
    { "image", required_argument, NULL, OPT_IMAGE },
    { NULL, 0, NULL, 0 },
  };
  struct audit_query q = { .dir = g->audit_dir, .root = g->root, .pid = -1, .sync = supervisor_log_sync };
  int c;
  while ((c = getopt_long (argc, argv, "+jf", opts, NULL)) != -1)
    switch (c)
      {
      case 'j': q.json = true; break;
      case 'f': q.follow = true; break;
      case OPT_SUMMARY: q.summary = true; break;
      case OPT_WALL: q.wall = optarg; break;
      case OPT_KIND: q.kind = optarg; break;
      case OPT_SYSCALL: q.syscall = optarg; break;
      case OPT_PID:
        {
          char *end;
          q.pid = strtol (optarg, &end, 10);
          if (*end || q.pid < 0)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("audit", usage_text, "--pid: `%s` is not a pid", shown);
            }
          break;
        }
      case OPT_SINCE: q.since = optarg; break;
      case OPT_ALL: q.all = true; break;
      case OPT_POD: q.pod = optarg; break;
      case OPT_NS: q.namespace = optarg; break;
      case OPT_IMAGE: q.image = optarg; break;
      default: return cmd_usage ("audit", usage_text, NULL);
      }
  moat_error *err = NULL;
  if (q.all)
    {
      if (optind != argc)
        return cmd_usage ("audit", usage_text, "--all takes no container id");
    }
  else
    {
      if (optind + 1 != argc)
        return cmd_usage ("audit", usage_text, optind >= argc ? "missing container id (or --all)" : "too many arguments");
      q.id = argv[optind];
      if (state_validate_id (q.id, &err) < 0)
        return cmd_fail (&err);
      /* A supervisor gone while its container lives is said in the log first. */
      container_audit_watch (g->root, q.id);
    }
  if (audit_show (&q, &err) < 0)
    return cmd_fail (&err);
  return 0;
}
