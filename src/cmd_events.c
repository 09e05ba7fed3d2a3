/* `moat events [--stats] [--interval N] ID`: runc's events, as JSON lines:
 * {"type":"stats","id":ID,"data":{cpu, memory, pids}} every interval (or
 * once with --stats) and {"type":"oom","id":ID} when the memory limit kills;
 * the stream ends when the container does. */
#include "config-host.h"
#include "jbuf.h"
#include "cgroup.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
print_ooms (struct cg_watch *w, const char *id)
{
  unsigned long ooms = 0, refused = 0;
  char ml[96], pl[96];
  cgroup_watch_read (w, &ooms, &refused, ml, sizeof ml, pl, sizeof pl);
  for (unsigned long i = 0; i < ooms; i++)
    printf ("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
  fflush (stdout);
}

static void
print_stats (const char *id, const char *path)
{
  struct jbuf j = { 0 };
  jb_open (&j);
  jb_str (&j, "type", "stats");
  jb_str (&j, "id", id);
  cgroup_stats (path, &j);
  jb_close (&j);
  fputs (j.buf, stdout);
  fflush (stdout);
  jb_free (&j);
}

int
cmd_events (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] = "[--stats] [--interval SECONDS] ID";
  enum { O_STATS = 256, O_INTERVAL };
  static const struct option opts[] = {
    { "stats", no_argument, NULL, O_STATS },
    { "interval", required_argument, NULL, O_INTERVAL },
    { NULL, 0, NULL, 0 },
  };
  bool once = false;
  double interval = 5;
  int c;
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    switch (c)
      {
      case O_STATS: once = true; break;
      case O_INTERVAL:
        {
          char *end;
          interval = strtod (optarg, &end);
          /* runc takes Go durations ("5s"); plain seconds are accepted too. */
          if (*end == 's' && end[1] == '\0')
            end++;
          if (*end || interval <= 0)
            {
              cleanup_free char *shown = str_printable (optarg);
              return cmd_usage ("events", usage_text, "--interval: `%s` is not a duration", shown);
            }
          break;
        }
      default: return cmd_usage ("events", usage_text, NULL);
      }
  if (optind + 1 != argc)
    return cmd_usage ("events", usage_text, optind >= argc ? "missing container id" : "too many arguments");
  const char *id = argv[optind];
  moat_error *err = NULL;
  cleanup_free char *path = NULL;
  if (container_cgroup (g->root, id, &path, &err) < 0)
    return cmd_fail (&err);
  if (once)
    {
      print_stats (id, path);
      return 0;
    }
  struct cg_watch *w = NULL;
  if (cgroup_watch_open (path, &w, &err) < 0)
    return cmd_fail (&err);
  int fds[4];
  cgroup_watch_fds (w, fds);
  /* v1's OOM eventfd; pids.events; v2's memory.events, whose POLLPRI comes
   * as the kernel kills (under systemd the scope's cgroup, and with it the
   * count, may be gone by the time the container is seen to end). */
  struct pollfd p[3] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN },
                         { .fd = fds[2], .events = POLLPRI } };
  unsigned long long next = now_usec ();
  for (;;)
    {
      if (container_cgroup (g->root, id, NULL, &err) < 0)
        {
          /* The container is gone (or stopped): what killed it last, then
           * the stream ends. */
          moat_error_free (&err);
          print_ooms (w, id);
          break;
        }
      unsigned long long now = now_usec ();
      if (now >= next)
        {
          print_stats (id, path);
          next = now + (unsigned long long) (interval * 1e6);
        }
      int wait_ms = (int) ((next - now_usec ()) / 1000);
      if (wait_ms > 500)
        wait_ms = 500;   /* notice a stopped container promptly */
      if (poll (p, 3, wait_ms < 0 ? 0 : wait_ms) > 0)
        print_ooms (w, id);
    }
  cgroup_watch_close (w);
  return 0;
}
