#include "config-host.h"
#include "cmd.h"
#include "container.h"

#include <getopt.h>
#include <stddef.h>
#include <string.h>

/* pause and resume: one file, they are each other's inverse. */
static int
pause_resume (struct global_opts *g, int argc, char **argv, bool pause)
{
  const char *name = pause ? "pause" : "resume";
  static const struct option opts[] = { { NULL, 0, NULL, 0 } };
  if (getopt_long (argc, argv, "+", opts, NULL) != -1 || optind + 1 != argc)
    return cmd_usage (name, "ID", optind >= argc ? "missing container id" : NULL);
  moat_error *err = NULL;
  if (container_pause (g->root, argv[optind], pause, &err) < 0)
    return cmd_fail (&err);
  return 0;
}

int
cmd_pause (struct global_opts *g, int argc, char **argv)
{
  return pause_resume (g, argc, argv, true);
}

int
cmd_resume (struct global_opts *g, int argc, char **argv)
{
  return pause_resume (g, argc, argv, false);
}
