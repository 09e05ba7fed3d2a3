#include "config-host.h"
#include "cmd.h"
#include "container.h"

#include <stddef.h>

static const char usage_text[] =
  "[--bundle DIR] [--config FILE] [--policy FILE] [--detach] [--keep] [--pid-file FILE] [--console-socket SOCK] [--pidfd-socket SOCK] "
  "[--no-pivot] [--no-new-keyring] [--no-subreaper] [--preserve-fds N] ID";

int
cmd_run (struct global_opts *g, int argc, char **argv)
{
  struct run_opts o = { .retention = &g->retention };
  if (parse_create_opts ("run", usage_text, g, argc, argv, &o.create, &o.detach, &o.keep) < 0)
    return 1;
  if (o.detach && o.keep)
    return cmd_usage ("run", usage_text, "--keep and --detach do not go together");
  moat_error *err = NULL;
  int status = 0;
  if (container_run (&o, &status, &err) < 0)
    return cmd_fail (&err);
  return status;
}
