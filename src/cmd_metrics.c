#include "config-host.h"
#include "cmd.h"
#include "metrics.h"
#include "supervisor.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

static const char usage_text[] = "[--textfile PATH | --listen ADDR:PORT]";

static void
announce (const char *bound)
{
  /* Port 0 asks for any free port: this line says which it is. */
  fprintf (stderr, "moat metrics: serving http://%s/metrics\n", bound);
  fflush (stderr);
}

int
cmd_metrics (struct global_opts *g, int argc, char **argv)
{
  enum { OPT_TEXTFILE = 256, OPT_LISTEN };
  static const struct option opts[] = {
    { "textfile", required_argument, NULL, OPT_TEXTFILE },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { NULL, 0, NULL, 0 },
  };
  const char *textfile = NULL, *listen_addr = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_TEXTFILE: textfile = optarg; break;
      case OPT_LISTEN: listen_addr = optarg; break;
      default: return cmd_usage ("metrics", usage_text, NULL);
      }
  if (optind != argc)
    return cmd_usage ("metrics", usage_text, "no arguments (every container's log is counted)");
  if (textfile && listen_addr)
    return cmd_usage ("metrics", usage_text, "--textfile and --listen: one or the other");
  moat_error *err = NULL;
  struct metrics *m = metrics_new (g->audit_dir, g->root);
  metrics_set_sync (m, supervisor_log_sync);
  int r;
  if (listen_addr)
    r = metrics_serve (m, listen_addr, announce, &err);
  else if (textfile)
    r = metrics_write_textfile (m, textfile, &err);
  else if ((r = metrics_collect (m, &err)) == 0)
    {
      size_t len;
      cleanup_free char *text = metrics_render (m, false, &len);
      if (fwrite (text, 1, len, stdout) != len || fflush (stdout) != 0)
        r = moat_error_set (&err, errno, "metrics: write to stdout");
    }
  metrics_free (m);
  if (r < 0)
    return cmd_fail (&err);
  return 0;
}
