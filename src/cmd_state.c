#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

int
cmd_state (struct global_opts *g, int argc, char **argv)
{
  static const struct option opts[] = { { NULL, 0, NULL, 0 } };
  if (getopt_long (argc, argv, "+", opts, NULL) != -1 || optind + 1 != argc)
    return cmd_usage ("state", "ID", optind >= argc ? "missing container id" : NULL);
  moat_error *err = NULL;
  cleanup_free char *json = NULL;
  if (container_state (g->root, argv[optind], &json, &err) < 0)
    return cmd_fail (&err);
  printf ("%s\n", json);
  return 0;
}
