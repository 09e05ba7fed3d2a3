#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#define G_STR(g, s) yajl_gen_string (g, (const unsigned char *) (s), strlen (s))

static void
print_json (struct container_info *v, size_t n)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      const struct moat_state *st = v[i].st;
      char ob[64];
      yajl_gen_map_open (g);
      G_STR (g, "ociVersion"); G_STR (g, MOAT_OCI_VERSION);
      G_STR (g, "id"); G_STR (g, st->id);
      G_STR (g, "pid"); yajl_gen_integer (g, v[i].status == STATUS_STOPPED ? 0 : st->pid);
      G_STR (g, "status"); G_STR (g, status_name (v[i].status));
      G_STR (g, "bundle"); G_STR (g, st->bundle ? st->bundle : "");
      G_STR (g, "rootfs"); G_STR (g, st->rootfs ? st->rootfs : "");
      G_STR (g, "created"); G_STR (g, st->created ? st->created : "");
      G_STR (g, "owner"); G_STR (g, state_owner_name (st->owner, ob, sizeof ob));
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (g, &buf, &len);
  printf ("%.*s\n", (int) len, buf);
  yajl_gen_free (g);
}

int
cmd_list (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] = "[--format table|json] [--quiet]";
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "quiet", no_argument, NULL, 'q' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, quiet = false;
  int c;
  while ((c = getopt_long (argc, argv, "+f:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") == 0)
          json = true;
        else if (strcmp (optarg, "table") != 0)
          {
            cleanup_free char *shown = str_printable (optarg);
            return cmd_usage ("list", usage_text, "unknown format `%s`", shown);
          }
        break;
      case 'q': quiet = true; break;
      default: return cmd_usage ("list", usage_text, NULL);
      }
  if (optind != argc)
    return cmd_usage ("list", usage_text, "too many arguments");
  moat_error *err = NULL;
  struct container_info *v = NULL;
  size_t n = 0;
  if (container_list (g->root, &v, &n, &err) < 0)
    return cmd_fail (&err);
  if (quiet)
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", v[i].st->id);
  else if (json)
    print_json (v, n);
  else
    {
      /* Columns sized to their widest cell, as runc's tabwriter does. */
      int wid = 2, wpid = 3, wstat = 6, wbundle = 6, wcreated = 7;
      for (size_t i = 0; i < n; i++)
        {
          char pb[16];
          int l = snprintf (pb, sizeof pb, "%d", v[i].status == STATUS_STOPPED ? 0 : v[i].st->pid);
          wid = MAX_INT (wid, (int) strlen (v[i].st->id));
          wpid = MAX_INT (wpid, l);
          wstat = MAX_INT (wstat, (int) strlen (status_name (v[i].status)));
          wbundle = MAX_INT (wbundle, (int) strlen (v[i].st->bundle ? v[i].st->bundle : ""));
          wcreated = MAX_INT (wcreated, (int) strlen (v[i].st->created ? v[i].st->created : ""));
        }
      printf ("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n", wid, "ID", wpid, "PID", wstat, "STATUS",
              wbundle, "BUNDLE", wcreated, "CREATED", "OWNER");
      for (size_t i = 0; i < n; i++)
        {
          char ob[64];
          printf ("%-*s   %-*d   %-*s   %-*s   %-*s   %s\n", wid, v[i].st->id, wpid,
                  v[i].status == STATUS_STOPPED ? 0 : v[i].st->pid, wstat, status_name (v[i].status),
                  wbundle, v[i].st->bundle ? v[i].st->bundle : "", wcreated,
                  v[i].st->created ? v[i].st->created : "", state_owner_name (v[i].st->owner, ob, sizeof ob));
        }
    }
  container_list_free (v, n);
  return 0;
}
