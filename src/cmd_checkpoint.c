/* `moat checkpoint` and `moat restore`: runc's flags, over criu.c. */
#include "config-host.h"
#include "cmd.h"
#include "criu.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum
{
  O_IMAGE = 256, O_WORK, O_PARENT, O_LEAVE, O_TCP, O_UNIX, O_SHELL, O_LOCKS, O_PRE, O_CGMODE, O_EMPTY, O_DEDUP,
  O_LAZY, O_STATUS_FD, O_PAGE_SERVER, O_CONSOLE, O_PID_FILE, O_NO_SUBREAPER, O_NO_PIVOT, O_LSM, O_LSM_MOUNT,
};

/* An option both commands take into C; 1 if OPT was one, -1 on a bad value. */
static int
common_opt (int opt, struct criu_common *c, moat_error **err)
{
  switch (opt)
    {
    case O_IMAGE: c->image_path = optarg; return 1;
    case O_WORK: c->work_path = optarg; return 1;
    case O_TCP: c->tcp_established = true; return 1;
    case O_UNIX: c->ext_unix_sk = true; return 1;
    case O_SHELL: c->shell_job = true; return 1;
    case O_LOCKS: c->file_locks = true; return 1;
    case O_DEDUP: c->auto_dedup = true; return 1;
    case O_CGMODE: c->manage_cgroups = optarg; return criu_parse_cgroups_mode (optarg, err) < 0 ? -1 : 1;
    case O_EMPTY: return criu_parse_empty_ns (optarg, &c->empty_net, err) < 0 ? -1 : 1;
    default: return 0;
    }
}

#define COMMON_OPTS                                                                                            \
  { "image-path", required_argument, NULL, O_IMAGE }, { "work-path", required_argument, NULL, O_WORK },        \
  { "tcp-established", no_argument, NULL, O_TCP }, { "ext-unix-sk", no_argument, NULL, O_UNIX },               \
  { "shell-job", no_argument, NULL, O_SHELL }, { "file-locks", no_argument, NULL, O_LOCKS },                   \
  { "manage-cgroups-mode", required_argument, NULL, O_CGMODE }, { "empty-ns", required_argument, NULL, O_EMPTY }, \
  { "auto-dedup", no_argument, NULL, O_DEDUP }, { "lazy-pages", no_argument, NULL, O_LAZY },              \
  { "help", no_argument, NULL, 'h' }

/* `checkpoint --help` exits 0: podman asks it to learn whether a runtime
 * can checkpoint at all (its crutils: runc's interface is the definition). */
static int
help (const char *cmd, const char *usage)
{
  printf ("Usage: moat %s %s\n", cmd, usage);
  return 0;
}

static const char checkpoint_usage[] =
  "[--image-path DIR] [--work-path DIR] [--parent-path DIR] [--leave-running] [--pre-dump] [--tcp-established] "
  "[--ext-unix-sk] [--shell-job] [--file-locks] [--manage-cgroups-mode soft|full|strict|ignore] "
  "[--empty-ns network] [--auto-dedup] ID";

int
cmd_checkpoint (struct global_opts *g, int argc, char **argv)
{
  static const struct option opts[] = {
    COMMON_OPTS,
    { "parent-path", required_argument, NULL, O_PARENT }, { "leave-running", no_argument, NULL, O_LEAVE },
    { "pre-dump", no_argument, NULL, O_PRE }, { "status-fd", required_argument, NULL, O_STATUS_FD },
    { "page-server", required_argument, NULL, O_PAGE_SERVER }, { NULL, 0, NULL, 0 },
  };
  struct checkpoint_opts o = { .root = g->root, .retention = &g->retention };
  moat_error *err = NULL;
  int opt;
  while ((opt = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    {
      int r = common_opt (opt, &o.c, &err);
      if (r < 0)
        return cmd_fail (&err);
      if (r)
        continue;
      switch (opt)
        {
        case 'h': return help ("checkpoint", checkpoint_usage);
        case O_PARENT: o.parent_path = optarg; break;
        case O_LEAVE: o.leave_running = true; break;
        case O_PRE: o.pre_dump = true; break;
        case O_LAZY: case O_STATUS_FD: case O_PAGE_SERVER:
          return cmd_usage ("checkpoint", checkpoint_usage, "--%s is not supported (no lazy migration in moat)",
                            opt == O_LAZY ? "lazy-pages" : opt == O_STATUS_FD ? "status-fd" : "page-server");
        default: return cmd_usage ("checkpoint", checkpoint_usage, NULL);
        }
    }
  if (optind + 1 != argc)
    return cmd_usage ("checkpoint", checkpoint_usage, optind >= argc ? "missing container id" : NULL);
  o.id = argv[optind];
  if (container_checkpoint (&o, &err) < 0)
    return cmd_fail (&err);
  return 0;
}

static const char restore_usage[] =
  "[--bundle DIR] [--image-path DIR] [--work-path DIR] [--detach] [--pid-file FILE] [--tcp-established] "
  "[--ext-unix-sk] [--shell-job] [--file-locks] [--manage-cgroups-mode soft|full|strict|ignore] "
  "[--empty-ns network] [--auto-dedup] [--no-subreaper] ID";

int
cmd_restore (struct global_opts *g, int argc, char **argv)
{
  static const struct option opts[] = {
    COMMON_OPTS,
    { "bundle", required_argument, NULL, 'b' }, { "detach", no_argument, NULL, 'd' },
    { "pid-file", required_argument, NULL, O_PID_FILE }, { "console-socket", required_argument, NULL, O_CONSOLE },
    { "no-subreaper", no_argument, NULL, O_NO_SUBREAPER }, { "no-pivot", no_argument, NULL, O_NO_PIVOT },
    { "lsm-profile", required_argument, NULL, O_LSM }, { "lsm-mount-context", required_argument, NULL, O_LSM_MOUNT },
    { NULL, 0, NULL, 0 },
  };
  struct restore_opts o = { .root = g->root, .audit_dir = g->audit_dir, .kmsg = g->kmsg,
                            .retention = &g->retention };
  moat_error *err = NULL;
  int opt;
  while ((opt = getopt_long (argc, argv, "+b:dh", opts, NULL)) != -1)
    {
      int r = common_opt (opt, &o.c, &err);
      if (r < 0)
        return cmd_fail (&err);
      if (r)
        continue;
      switch (opt)
        {
        case 'h': return help ("restore", restore_usage);
        case 'b': o.bundle = optarg; break;
        case 'd': o.detach = true; break;
        case O_PID_FILE: o.pid_file = optarg; break;
        /* moat never makes itself a subreaper: the restored init is its
         * child (criu's sibling) either way. */
        case O_NO_SUBREAPER: break;
        case O_CONSOLE:
          return cmd_usage ("restore", restore_usage, "--console-socket: restoring a container with a terminal "
                            "is not supported yet");
        case O_LAZY: case O_NO_PIVOT: case O_LSM: case O_LSM_MOUNT:
          return cmd_usage ("restore", restore_usage, "--%s is not supported",
                            opt == O_LAZY ? "lazy-pages" : opt == O_NO_PIVOT ? "no-pivot"
                            : opt == O_LSM ? "lsm-profile" : "lsm-mount-context");
        default: return cmd_usage ("restore", restore_usage, NULL);
        }
    }
  if (optind + 1 != argc)
    return cmd_usage ("restore", restore_usage, optind >= argc ? "missing container id" : NULL);
  o.id = argv[optind];
  int status = 0;
  if (container_restore (&o, &status, &err) < 0)
    return cmd_fail (&err);
  return status;
}
