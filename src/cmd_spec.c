#include "config-host.h"
#include "cmd.h"
#include "config.h"
#include "namespaces.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

int
cmd_spec (struct global_opts *g UNUSED, int argc, char **argv)
{
  static const char usage_text[] = "[--bundle DIR] [--rootless]";
  enum { OPT_ROOTLESS = 256 };
  static const struct option opts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "rootless", no_argument, NULL, OPT_ROOTLESS },
    { NULL, 0, NULL, 0 },
  };
  const char *bundle = ".";
  bool rootless = false;
  int c;
  while ((c = getopt_long (argc, argv, "+b:", opts, NULL)) != -1)
    switch (c)
      {
      case 'b': bundle = optarg; break;
      case OPT_ROOTLESS: rootless = true; break;
      default: return cmd_usage ("spec", usage_text, NULL);
      }
  if (optind != argc)
    return cmd_usage ("spec", usage_text, "too many arguments");
  moat_error *err = NULL;
  /* The bundle as messages quote it (control bytes escaped). */
  cleanup_free char *shown = str_printable (bundle);
  cleanup_close int dfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      moat_error_set (&err, errno, "bundle `%s`", shown);
      return cmd_fail (&err);
    }
  /* The caller's own ids, and their subordinate ranges when the system
   * grants some (/etc/subuid, /etc/subgid and the uidmap helpers). */
  struct moat_idmap uidmap[2], gidmap[2];
  size_t n_uid = 0, n_gid = 0;
  if (rootless)
    ns_rootless_idmaps (getuid (), getgid (), uidmap, &n_uid, gidmap, &n_gid);
  cleanup_free char *json = config_default_spec (rootless, uidmap, n_uid, gidmap, n_gid);
  /* O_EXCL: never replace a config someone wrote, even one written just now. */
  cleanup_close int fd = openat (dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    {
      if (errno == EEXIST)
        moat_error_set (&err, 0, "%s/config.json already exists: remove it first", shown);
      else
        moat_error_set (&err, errno, "create %s/config.json", shown);
      return cmd_fail (&err);
    }
  if (write_all (fd, json, strlen (json)) < 0)
    {
      moat_error_set (&err, errno, "write %s/config.json", shown);
      unlinkat (dfd, "config.json", 0);
      return cmd_fail (&err);
    }
  return 0;
}
