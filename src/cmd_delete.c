#include "config-host.h"
#include "cmd.h"
#include "container.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

int
cmd_delete (struct global_opts *g, int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  int c;
  while ((c = getopt_long (argc, argv, "+f", opts, NULL)) != -1)
    {
      if (c != 'f')
        return cmd_usage ("delete", "[--force] ID", NULL);
      force = true;
    }
  if (optind + 1 != argc)
    return cmd_usage ("delete", "[--force] ID", optind >= argc ? "missing container id" : "too many arguments");
  moat_error *err = NULL;
  if (container_delete (g->root, argv[optind], force, &g->retention, &err) < 0)
    return cmd_fail (&err);
  return 0;
}
