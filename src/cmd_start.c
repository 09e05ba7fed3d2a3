#include "config-host.h"
#include "cmd.h"
#include "container.h"

#include <getopt.h>
#include <stddef.h>

int
cmd_start (struct global_opts *g, int argc, char **argv)
{
  static const struct option opts[] = { { NULL, 0, NULL, 0 } };
  if (getopt_long (argc, argv, "+", opts, NULL) != -1 || optind + 1 != argc)
    return cmd_usage ("start", "ID", optind >= argc ? "missing container id" : NULL);
  moat_error *err = NULL;
  if (container_start (g->root, argv[optind], &err) < 0)
    return cmd_fail (&err);
  return 0;
}
