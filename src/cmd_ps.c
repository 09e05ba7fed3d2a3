/* `moat ps ID [PS-ARGS]`: the container's processes. As runc: --format json
 * prints the host pids; the table runs ps(1) (default `ps -ef`) and keeps
 * the lines whose PID is the container's. */
#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
listed (const pid_t *v, size_t n, long p)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == p)
      return true;
  return false;
}

int
cmd_ps (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] = "[--format table|json] ID [PS-ARGS...]";
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool json = false;
  int c;
  while ((c = getopt_long (argc, argv, "+f:", opts, NULL)) != -1)
    {
      if (c != 'f')
        return cmd_usage ("ps", usage_text, NULL);
      if (strcmp (optarg, "json") == 0)
        json = true;
      else if (strcmp (optarg, "table") != 0)
        {
          cleanup_free char *shown = str_printable (optarg);
          return cmd_usage ("ps", usage_text, "unknown format `%s`", shown);
        }
    }
  if (optind >= argc)
    return cmd_usage ("ps", usage_text, "missing container id");
  const char *id = argv[optind];
  moat_error *err = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;
  if (container_pids (g->root, id, &pids, &n, &err) < 0)
    return cmd_fail (&err);
  if (json)
    {
      printf ("[");
      for (size_t i = 0; i < n; i++)
        printf ("%s%d", i ? "," : "", (int) pids[i]);
      printf ("]\n");
      return 0;
    }
  /* ps(1) with the caller's arguments (default -ef); its PID column tells
   * which lines are the container's. */
  int p[2];
  if (pipe (p) < 0)
    {
      moat_error_set (&err, errno, "pipe");
      return cmd_fail (&err);
    }
  pid_t child = fork ();
  if (child == 0)
    {
      dup2 (p[1], 1);
      close (p[0]);
      close (p[1]);
      int extra = argc - optind - 1;
      char **av = xmalloc0 ((size_t) (extra + 3) * sizeof (char *));
      av[0] = (char *) "ps";
      if (extra == 0)
        av[1] = (char *) "-ef";
      else
        for (int i = 0; i < extra; i++)
          av[1 + i] = argv[optind + 1 + i];
      execvp ("ps", av);
      _exit (127);
    }
  close (p[1]);
  cleanup_file FILE *f = fdopen (p[0], "r");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  int col = -1;
  while (f && getline (&line, &cap, f) > 0)
    {
      if (col < 0)
        {
          /* The header: find the PID column. */
          int i = 0;
          cleanup_free char *hdr = xstrdup (line);
          char *save = NULL;
          for (char *t = strtok_r (hdr, " \t\n", &save); t; t = strtok_r (NULL, " \t\n", &save), i++)
            if (strcmp (t, "PID") == 0)
              col = i;
          if (col < 0)
            {
              moat_error_set (&err, 0, "ps: its output has no PID column");
              return cmd_fail (&err);
            }
          fputs (line, stdout);
          continue;
        }
      cleanup_free char *copy = xstrdup (line);
      char *save = NULL, *t = strtok_r (copy, " \t\n", &save);
      for (int i = 0; t && i < col; i++)
        t = strtok_r (NULL, " \t\n", &save);
      if (t && listed (pids, n, strtol (t, NULL, 10)))
        fputs (line, stdout);
    }
  int st = 0;
  waitpid (child, &st, 0);
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    {
      moat_error_set (&err, 0, "ps exited with status %d", WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
      return cmd_fail (&err);
    }
  return 0;
}
