#include "config-host.h"
#include "cmd.h"
#include "container.h"
#include "util.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* "TERM", "SIGTERM", "term", "15", "RTMIN+2" -> number; -1 if unknown. */
static int
parse_signal (const char *s)
{
  char *end;
  long n = strtol (s, &end, 10);
  if (*s && *end == '\0')
    return (n > 0 && n < NSIG) ? (int) n : -1;
  char up[32];
  size_t i;
  for (i = 0; s[i] && i < sizeof up - 1; i++)
    up[i] = (char) toupper ((unsigned char) s[i]);
  up[i] = '\0';
  const char *name = strncmp (up, "SIG", 3) == 0 ? up + 3 : up;
  if (strncmp (name, "RTMIN", 5) == 0 || strncmp (name, "RTMAX", 5) == 0)
    {
      bool min = name[3] == 'I';
      long off = 0;
      if (name[5] == '+' || name[5] == '-')
        {
          off = strtol (name + 5, &end, 10);
          if (end == name + 6 - 1 || *end != '\0')
            return -1;
        }
      else if (name[5] != '\0')
        return -1;
      int sig = (int) ((min ? SIGRTMIN : SIGRTMAX) + off);
      return (sig >= SIGRTMIN && sig <= SIGRTMAX) ? sig : -1;
    }
  for (int sig = 1; sig < SIGRTMIN; sig++)
    {
      const char *abbrev = sigabbrev_np (sig);
      if (abbrev && strcmp (abbrev, name) == 0)
        return sig;
    }
  return -1;
}

int
cmd_kill (struct global_opts *g, int argc, char **argv)
{
  static const char usage_text[] = "[--all] ID [SIGNAL]";
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  bool all = false;
  int c;
  while ((c = getopt_long (argc, argv, "+a", opts, NULL)) != -1)
    {
      if (c != 'a')
        return cmd_usage ("kill", usage_text, NULL);
      all = true;
    }
  if (optind >= argc || argc - optind > 2)
    return cmd_usage ("kill", usage_text, optind >= argc ? "missing container id" : "too many arguments");
  const char *id = argv[optind];
  const char *signame = optind + 1 < argc ? argv[optind + 1] : "TERM";
  int sig = parse_signal (signame);
  if (sig < 0)
    {
      cleanup_free char *shown = str_printable (signame);
      log_error ("kill: unknown signal `%s`", shown);
      return 1;
    }
  moat_error *err = NULL;
  if (container_kill (g->root, id, sig, all, &err) < 0)
    return cmd_fail (&err);
  return 0;
}
