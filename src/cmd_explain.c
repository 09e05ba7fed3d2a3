#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "audit.h"
#include "learn.h"
#include "state.h"
#include "supervisor.h"

static const char usage_text[] = "ID";

int
cmd_explain (struct global_opts *g, int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return cmd_usage ("explain", usage_text, argc < 2 ? "missing container id" : "one container id");
  moat_error *err = NULL;
  /* Before any path is built from it (learn_explain checks it again). */
  if (state_validate_id (argv[1], &err) < 0)
    return cmd_fail (&err);
  container_audit_watch (g->root, argv[1]);
  supervisor_log_sync (g->root, g->audit_dir ? g->audit_dir : MOAT_DEFAULT_AUDIT_DIR, argv[1]);
  if (learn_explain (g->audit_dir ? g->audit_dir : MOAT_DEFAULT_AUDIT_DIR, argv[1], &err) < 0)
    return cmd_fail (&err);
  return 0;
}
