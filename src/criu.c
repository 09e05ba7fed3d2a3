/* moat — checkpoint and restore with CRIU.
 *
 * CRIU is driven through its own binary, run as a child with the same
 * command line a person would type. libcriu (Debian 12 ships no
 * libcriu-dev) is itself only an RPC client that forks `criu swrk`; moat
 * links statically, so it would be loaded with dlopen next to its
 * protobuf-c, for no gain: the CLI exposes each runc flag one to one, gives
 * an exit status and a log file whose last error is what we report, and
 * needs nothing but the criu package that any checkpoint needs anyway.
 *
 * What a moat container needs CRIU to be told (runc tells it the same):
 *   - its root is the bundle's rootfs (--root);
 *   - the mounts whose source lies outside the container's mount namespace
 *     are "external": bind mounts, masked files (/dev/null over them) and
 *     the cgroup filesystem. At dump each is named by its mount point; at
 *     restore each name is mapped to the source the restoring host has
 *     (the bundle's bind source, /dev/null, the new container's cgroup);
 *   - the restored tree goes into the new container's cgroup (--cgroup-root),
 *     which moat makes, walls and limits first, as create does;
 *   - stdio pipes the engine holds are handed to the restored tasks
 *     (--inherit-fd), from the descriptors saved at dump. */
#include "config-host.h"
#include "criu.h"
#include "audit.h"
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "log.h"
#include "policy.h"
#include "seccomp-wall.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Kept in the image directory next to CRIU's own files. */
#define EXTERNALS_FILE "moat-externals"
#define DESCRIPTORS_FILE "descriptors.json"   /* runc's name for the same thing */
#define POLICY_FILE "moat-policy.json"

static const char *const cgroup_modes[] = { "soft", "full", "strict", "ignore", NULL };

int
criu_parse_cgroups_mode (const char *mode, moat_error **err)
{
  for (size_t i = 0; cgroup_modes[i]; i++)
    if (strcmp (mode, cgroup_modes[i]) == 0)
      return 0;
  cleanup_free char *shown = str_printable (mode);
  return moat_error_set (err, 0, "--manage-cgroups-mode: `%s` is not one of soft, full, strict, ignore", shown);
}

int
criu_parse_empty_ns (const char *ns, bool *net, moat_error **err)
{
  /* runc takes only the network namespace here (the others are restored
   * or joined whole). */
  if (strcmp (ns, "network") == 0 || strcmp (ns, "net") == 0)
    {
      *net = true;
      return 0;
    }
  cleanup_free char *shown = str_printable (ns);
  return moat_error_set (err, 0, "--empty-ns: `%s` is not supported (only network)", shown);
}

/* ---- the criu child ------------------------------------------------------ */

struct argv_buf
{
  char **v;
  size_t n, cap;
};

static void
arg (struct argv_buf *a, const char *s)
{
  if (a->n + 2 > a->cap)
    {
      a->cap = a->cap ? a->cap * 2 : 32;
      a->v = xrealloc (a->v, a->cap * sizeof *a->v);
    }
  a->v[a->n++] = xstrdup (s);
  a->v[a->n] = NULL;
}


static void
argv_free (struct argv_buf *a)
{
  for (size_t i = 0; i < a->n; i++)
    free (a->v[i]);
  free (a->v);
}

/* The last "Error" line of CRIU's log, for the message. */
static char *
last_error (const char *log)
{
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  if (read_file (log, &text, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return NULL;
    }
  char *found = NULL;
  for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
    if (strstr (line, "Error") != NULL)
      {
        free (found);
        found = str_printable (line);
      }
  return found;
}

/* Run criu with A's arguments; its log is LOG. */
static int
run_criu (struct argv_buf *a, const char *log, moat_error **err)
{
  const char *criu = "criu";   /* found in PATH, as runc finds it */
  log_debug ("criu: %s %s, log %s", criu, a->v[1], log);
  pid_t pid = fork ();
  if (pid < 0)
    return moat_error_set (err, errno, "fork criu");
  if (pid == 0)
    {
      /* Its own chatter goes to its log (-o); stdio stays ours, for
       * --inherit-fd and --shell-job. */
      execvp (criu, a->v);
      fprintf (stderr, "moat: cannot run %s: %s%s\n", criu, strerror (errno),
               errno == ENOENT ? " (checkpoint and restore need CRIU: apt-get install criu)" : "");
      _exit (127);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error_set (err, errno, "waitpid criu");
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return moat_error_set (err, 0, "criu %s: could not run criu", a->v[1]);
  cleanup_free char *why = last_error (log);
  cleanup_free char *shown = str_printable (log);
  if (WIFSIGNALED (status))
    return moat_error_set (err, 0, "criu %s: killed by signal %d (log: %s)", a->v[1], WTERMSIG (status), shown);
  return moat_error_set (err, 0, "criu %s failed (status %d): %s (log: %s)", a->v[1], WEXITSTATUS (status),
                         why ? why : "no error line in its log", shown);
}

static void
common_args (struct argv_buf *a, const struct criu_common *c, const char *image, const char *work,
             const char *log_name)
{
  arg (a, "-D"), arg (a, image);
  arg (a, "-W"), arg (a, work);
  arg (a, "-o"), arg (a, log_name);
  arg (a, "-v4");
  if (c->tcp_established)
    arg (a, "--tcp-established");
  if (c->ext_unix_sk)
    arg (a, "--ext-unix-sk");
  if (c->shell_job)
    arg (a, "--shell-job");
  if (c->file_locks)
    arg (a, "--file-locks");
  if (c->auto_dedup)
    arg (a, "--auto-dedup");
  if (c->empty_net)
    arg (a, "--empty-ns"), arg (a, "net");
  cleanup_free char *mode = xasprintf ("--manage-cgroups=%s", c->manage_cgroups ? c->manage_cgroups : "soft");
  arg (a, mode);
}

/* DIR made when asked (and missing), as an absolute real path: criu runs
 * with its own idea of the cwd. FLAG names it in an error. */
static int
abs_dir (const char *dir, bool create, const char *flag, char **out, moat_error **err)
{
  if ((create && mkdir (dir, 0700) < 0 && errno != EEXIST) || (*out = realpath (dir, NULL)) == NULL)
    {
      cleanup_free char *shown = str_printable (dir);
      return moat_error_set (err, errno, "%s `%s`", flag, shown);
    }
  return 0;
}

/* The image directory (default "checkpoint", made when missing, as runc
 * does) and the work one (default: the image directory). */
static int
image_dirs (const struct criu_common *c, bool create, char **image, char **work, moat_error **err)
{
  if (abs_dir (c->image_path ? c->image_path : "checkpoint", create, "--image-path", image, err) < 0)
    return -1;
  return abs_dir (c->work_path ? c->work_path : *image, create, "--work-path", work, err);
}

/* ---- checkpoint ---------------------------------------------------------- */

/* Does the container's filter hand calls to a listener? The same reading of
 * its saved config and policy that `moat exec` makes. */
static int
needs_listener (const char *root, int dirfd, const struct moat_state *st, bool *listener, bool *agent,
                moat_error **err)
{
  *listener = *agent = false;
  cleanup_config struct moat_config *cfg = NULL;
  if (load_saved_config (dirfd, st->id, &cfg, err) < 0)
    return -1;
  cleanup_policy struct moat_policy *pol = NULL;
  bool audit = true;
  struct stat sb;
  if (fstatat (dirfd, "policy.json", &sb, 0) == 0)
    {
      cleanup_free char *ppath = xasprintf ("%s/%s/policy.json", root, st->id);
      if (policy_load (ppath, &pol, err) < 0 || policy_apply (pol, cfg, err) < 0)
        return -1;
      audit = pol->audit_syscalls;
    }
  if (cfg->seccomp == NULL)
    return 0;
  cleanup_seccomp struct moat_seccomp *sc = NULL;
  if (seccomp_parse (cfg->seccomp, "config.json", "linux.seccomp", cfg->has_caps ? &cfg->caps : NULL, false, &sc,
                     err) < 0)
    return -1;
  *agent = seccomp_uses_agent (sc);
  *listener = seccomp_needs_listener (sc, audit && !*agent);
  return 0;
}

/* Is P (a mount point, as mountinfo escapes it) one of LIST's entries? */
static bool
in_list (char **list, const char *p)
{
  for (size_t i = 0; list && list[i]; i++)
    if (strcmp (list[i], p) == 0)
      return true;
  return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
      {
        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
        r += 3;
      }
    else
      *w++ = *r;
  *w = '\0';
}

/* The container's external mounts, from its init's mountinfo: one line
 * "KIND MOUNTPOINT" each (bind, masked, cgroup, cgroup2) into OUT, and an
 * --external for each into A. */
static int
collect_externals (pid_t pid, const struct moat_config *cfg, struct argv_buf *a, char **out, moat_error **err)
{
  cleanup_free char *path = xasprintf ("/proc/%d/mountinfo", (int) pid);
  cleanup_file FILE *f = fopen (path, "re");
  if (f == NULL)
    return moat_error_set (err, errno, "%s", path);
  cleanup_free char *line = NULL;
  size_t cap = 0;
  char *list = xstrdup ("");
  while (getline (&line, &cap, f) > 0)
    {
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
      char *save = NULL, *fields[5];
      char *p = line;
      size_t i;
      for (i = 0; i < 5 && (fields[i] = strtok_r (p, " ", &save)); i++)
        p = NULL;
      if (i < 5)
        continue;
      char *dash = strstr (save ? save : "", " - ");
      char *fstype = dash ? strtok_r (dash + 3, " ", &save) : NULL;
      char *mp = fields[4];
      unescape (mp);
      const char *kind = NULL;
      if (fstype && (strcmp (fstype, "cgroup") == 0 || strcmp (fstype, "cgroup2") == 0))
        kind = fstype;
      else if (in_list (cfg->masked_paths, mp))
        kind = "masked";
      else
        for (size_t m = 0; m < cfg->n_mounts && kind == NULL; m++)
          if (cfg->mounts[m].bind && strcmp (cfg->mounts[m].destination, mp) == 0)
            kind = "bind";
      if (kind == NULL)
        continue;
      if (strchr (mp, '\n') || strchr (mp, ' '))
        {
          free (list);
          cleanup_free char *shown = str_printable (mp);
          return moat_error_set (err, 0, "checkpoint: mount point `%s` has a space or newline", shown);
        }
      /* A masked directory is a tmpfs of the container's own: not external. */
      if (strcmp (kind, "masked") == 0 && strcmp (fstype ? fstype : "", "tmpfs") == 0)
        continue;
      cleanup_free char *ext = xasprintf ("mnt[%s]:%s", mp, mp);
      arg (a, "--external"), arg (a, ext);
      char *grown = xasprintf ("%s%s %s\n", list, kind, mp);
      free (list);
      list = grown;
    }
  *out = list;
  return 0;
}

/* fds 0-2 of the init as /proc shows them ("pipe:[123]", "/dev/null"). */
static char *
descriptors_json (pid_t pid)
{
  struct jbuf j = { 0 };
  jb_append (&j, "[");
  for (int fd = 0; fd < 3; fd++)
    {
      char link[64], target[4096];
      snprintf (link, sizeof link, "/proc/%d/fd/%d", (int) pid, fd);
      ssize_t n = readlink (link, target, sizeof target - 1);
      if (n < 0)
        n = 0;
      target[n] = '\0';
      if (fd)
        jb_append (&j, ",");
      jb_quote (&j, target, (size_t) n);
    }
  jb_append (&j, "]\n");
  char *s = xstrdup (j.buf ? j.buf : "[]\n");
  jb_free (&j);
  return s;
}

int
container_checkpoint (const struct checkpoint_opts *o, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (o->root, o->id, true, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status status = live_status (dirfd, st);
  if (status != STATUS_RUNNING && status != STATUS_PAUSED)
    return moat_error_set (err, 0, "container `%s` cannot be checkpointed in %s state", o->id, status_name (status));
  bool listener, agent;
  if (needs_listener (o->root, dirfd, st, &listener, &agent, err) < 0)
    return -1;
  /* The audit's promise: never a restored container whose denials go
   * unrecorded. CRIU restores the filter but not its listener. */
  if (agent)
    return moat_error_set (err, 0,
                           "container `%s`: cannot checkpoint: its seccomp filter sends calls to the agent at "
                           "linux.seccomp.listenerPath, and CRIU cannot restore a seccomp listener (the restored "
                           "filter would answer those calls ENOSYS, unseen)", o->id);
  if (listener)
    return moat_error_set (err, 0,
                           "container `%s`: cannot checkpoint: moat's audit of its syscalls needs the seccomp "
                           "listener its supervisor holds, and CRIU cannot restore a listener (the restored "
                           "container's denials would fail ENOSYS and go unrecorded); checkpoint a container "
                           "whose policy has \"audit\": {\"syscalls\": false} (the kernel alone enforces the filter) "
                           "or no seccomp filter", o->id);
  if (st->systemd_unit)
    return moat_error_set (err, 0, "container `%s`: checkpoint of a container in a systemd scope is not supported",
                           o->id);
  cleanup_config struct moat_config *cfg = NULL;
  if (load_saved_config (dirfd, o->id, &cfg, err) < 0)
    return -1;
  if (o->pre_dump && o->leave_running)
    log_debug ("checkpoint `%s`: --pre-dump always leaves the container running", o->id);
  cleanup_free char *image = NULL, *work = NULL;
  if (image_dirs (&o->c, true, &image, &work, err) < 0)
    return -1;

  __attribute__ ((cleanup (argv_free))) struct argv_buf a = { 0 };
  arg (&a, "criu");
  arg (&a, o->pre_dump ? "pre-dump" : "dump");
  cleanup_free char *pid = xasprintf ("%d", (int) st->pid);
  arg (&a, "-t"), arg (&a, pid);
  common_args (&a, &o->c, image, work, o->pre_dump ? "pre-dump.log" : "dump.log");
  arg (&a, "--root"), arg (&a, st->rootfs);
  if (o->parent_path)
    arg (&a, "--prev-images-dir"), arg (&a, o->parent_path);
  if (o->pre_dump || o->parent_path)
    arg (&a, "--track-mem");
  if (o->leave_running && !o->pre_dump)
    arg (&a, "--leave-running");
  cleanup_free char *externals = NULL;
  if (collect_externals (st->pid, cfg, &a, &externals, err) < 0)
    return -1;
  cleanup_free char *fds = descriptors_json (st->pid);
  int imgfd = open (image, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (imgfd < 0)
    return moat_error_set (err, errno, "%s", image);
  cleanup_close int imgfd_c = imgfd;
  if (write_file_atomic_at (imgfd, EXTERNALS_FILE, externals, strlen (externals), 0600, err) < 0
      || write_file_atomic_at (imgfd, DESCRIPTORS_FILE, fds, strlen (fds), 0600, err) < 0)
    return -1;
  cleanup_free char *ptext = NULL;
  size_t plen = 0;
  moat_error *pe = NULL;
  if (read_file_at (dirfd, "policy.json", &ptext, &plen, 0, &pe) == 0)
    {
      if (write_file_atomic_at (imgfd, POLICY_FILE, ptext, plen, 0600, err) < 0)
        return -1;
    }
  moat_error_free (&pe);
  /* A paused container is dumped as it is (CRIU finds it frozen). */
  cleanup_free char *log = xasprintf ("%s/%s", work, o->pre_dump ? "pre-dump.log" : "dump.log");
  if (run_criu (&a, log, err) < 0)
    return moat_error_wrap (err, "checkpoint `%s`", o->id);
  if (o->pre_dump || o->leave_running)
    return 0;
  /* CRIU has ended the container's processes: it is gone, as runc has it
   * (the state lock is ours; delete takes it again). */
  close (steal_fd (&dirfd));
  return container_delete (o->root, o->id, true, o->retention, err);
}

/* ---- restore ------------------------------------------------------------- */

/* Map each external mount of the image to what this host has for it. */
static int
restore_externals (const char *image, const struct moat_config *cfg, const char *bundle, const char *cgpath,
                   struct argv_buf *a, moat_error **err)
{
  cleanup_free char *path = xasprintf ("%s/%s", image, EXTERNALS_FILE);
  cleanup_free char *text = NULL;
  if (read_file (path, &text, NULL, err) < 0)
    return moat_error_wrap (err, "restore: not an image moat checkpointed");
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *sp = strchr (line, ' ');
      if (sp == NULL)
        continue;
      *sp = '\0';
      const char *kind = line, *mp = sp + 1;
      cleanup_free char *val = NULL;
      if (strcmp (kind, "masked") == 0)
        val = xstrdup ("/dev/null");
      else if (strcmp (kind, "cgroup2") == 0)
        val = xasprintf ("%s%s", cgroup_v2_root (), cgpath);
      else if (strcmp (kind, "cgroup") == 0)
        val = xasprintf ("%s%s", mp, cgpath);   /* v1: /sys/fs/cgroup/CONTROLLER, as on the host */
      else
        for (size_t m = 0; m < cfg->n_mounts && val == NULL; m++)
          if (cfg->mounts[m].bind && cfg->mounts[m].source && strcmp (cfg->mounts[m].destination, mp) == 0)
            val = cfg->mounts[m].source[0] == '/' ? xstrdup (cfg->mounts[m].source)
                                                  : xasprintf ("%s/%s", bundle, cfg->mounts[m].source);
      if (val == NULL)
        {
          cleanup_free char *shown = str_printable (mp);
          return moat_error_set (err, 0, "restore: the checkpoint has a bind mount at `%s` that config.json's "
                                 "mounts do not have", shown);
        }
      cleanup_free char *map = xasprintf ("%s:%s", mp, val);
      arg (a, "--ext-mount-map"), arg (a, map);
    }
  return 0;
}

/* The engine's stdio pipes, handed to the tasks that had the old ones. */
static void
inherit_stdio (const char *image, struct argv_buf *a)
{
  cleanup_free char *path = xasprintf ("%s/%s", image, DESCRIPTORS_FILE);
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  if (read_file (path, &text, NULL, &e) < 0)
    {
      moat_error_free (&e);
      return;
    }
  int fd = 0;
  for (char *p = strchr (text, '"'); p && fd < 3; fd++)
    {
      char *end = strchr (p + 1, '"');
      if (end == NULL)
        break;
      *end = '\0';
      if (strncmp (p + 1, "pipe:[", 6) == 0)
        {
          char buf[96];
          snprintf (buf, sizeof buf, "fd[%d]:%s", fd, p + 1);
          arg (a, "--inherit-fd"), arg (a, buf);
        }
      p = strchr (end + 1, '"');
    }
}

struct restoring
{
  int rootfd, dirfd;
  char *cgpath;
  bool cgroup_made, dir_made;
  pid_t pid;
};

static void
restoring_abort (const char *id, struct restoring *r)
{
  moat_error *e = NULL;
  if (r->pid > 0)
    kill (r->pid, SIGKILL);
  if (r->cgroup_made)
    {
      if (r->pid > 0)
        (void) cgroup_kill_all (r->cgpath, SIGKILL, &e);
      moat_error_free (&e);
      for (int i = 0; i < 100 && cgroup_destroy (r->cgpath, &e) < 0; i++)
        {
          moat_error_free (&e);
          usleep (10000);   /* the killed tasks leave the cgroup */
        }
      moat_error_free (&e);
    }
  if (r->dir_made)
    (void) state_dir_remove (r->rootfd, id, &e);
  moat_error_free (&e);
}

/* A supervisor for the restored container: its fault signals, OOM kills
 * and refused forks go on into the same log. It has no listener to serve:
 * only containers without one are checkpointed. */
static int
restore_supervisor (const struct restore_opts *o, struct moat_state *st, const char *image, int dirfd,
                    moat_error **err)
{
  const char *adir = o->audit_dir ? o->audit_dir : MOAT_DEFAULT_AUDIT_DIR;
  cleanup_close int log_fd = -1, accept_fd = -1;
  if (audit_log_create (adir, o->id, &log_fd, err) < 0)
    return -1;
  if (bind_state_sock (dirfd, SUP_SOCK_NAME, 16, &accept_fd, err) < 0)
    return -1;
  cleanup_free char *image_shown = str_printable (image);
  cleanup_free char *notice = xasprintf ("restored from the checkpoint at %s: a new supervisor records its "
                                         "faults and cgroup events in this log; its seccomp filter has no "
                                         "listener (the kernel alone enforces it)", image_shown);
  struct supervisor_args sa = { .id = o->id, .policy = "restored", .budget = AUDIT_BUDGET_DEFAULT,
                                .log_fd = log_fd, .spool_fd = -1, .ctl_fd = -1, .init_pid = st->pid,
                                .signals = true, .kmsg = o->kmsg ? o->kmsg : "/dev/kmsg",
                                .notice = notice, .cgroup_path = st->cgroup_path, .accept_fd = accept_fd };
  if (supervisor_spawn (&sa, &st->supervisor_pid, err) < 0)
    return -1;
  st->audit_dir = xstrdup (adir);
  return 0;
}

static int
restore_in (const struct restore_opts *o, struct restoring *r, struct moat_state *st, moat_error **err)
{
  const char *bundle_arg = o->bundle && *o->bundle ? o->bundle : ".";
  cleanup_free char *bundle = realpath (bundle_arg, NULL);
  if (bundle == NULL)
    {
      cleanup_free char *shown = str_printable (bundle_arg);
      return moat_error_set (err, errno, "bundle `%s`", shown);
    }
  cleanup_free char *cfgpath = xasprintf ("%s/config.json", bundle);
  cleanup_config struct moat_config *cfg = NULL;
  if (config_load_file (cfgpath, &cfg, err) < 0)
    return -1;
  cleanup_free char *rootfs = NULL;
  if (resolve_rootfs (cfg, bundle, &rootfs, err) < 0)
    return -1;
  cleanup_free char *image = NULL, *work = NULL;
  if (image_dirs (&o->c, false, &image, &work, err) < 0)
    return -1;
  if (state_root_open (o->root, true, &r->rootfd, err) < 0 || state_dir_create (r->rootfd, o->id, &r->dirfd, err) < 0)
    return -1;
  r->dir_made = true;
  if (cgroup_path_for (cfg, o->id, &r->cgpath, err) < 0)
    return -1;
  st->id = xstrdup (o->id);
  st->bundle = xstrdup (bundle);
  st->rootfs = xstrdup (rootfs);
  st->created = rfc3339_now ();
  st->owner = geteuid ();
  st->cgroup_path = xstrdup (r->cgpath);
  st->detached_init = true;
  st->saved_status = STATUS_CREATING;
  if (state_write (r->dirfd, st, err) < 0)
    return -1;
  cleanup_free char *cfgtext = NULL;
  size_t cfglen = 0;
  if (read_file_at (AT_FDCWD, cfgpath, &cfgtext, &cfglen, 0, err) < 0
      || write_file_atomic_at (r->dirfd, "config.json", cfgtext, cfglen, 0600, err) < 0)
    return -1;
  cleanup_free char *ppath = xasprintf ("%s/%s", image, POLICY_FILE);
  cleanup_free char *ptext = NULL;
  size_t plen = 0;
  moat_error *pe = NULL;
  if (read_file_at (AT_FDCWD, ppath, &ptext, &plen, 0, &pe) == 0
      && write_file_atomic_at (r->dirfd, "policy.json", ptext, plen, 0600, err) < 0)
    return -1;
  moat_error_free (&pe);

  /* The cgroup, made and limited as create makes it, before a task is in. */
  struct cg_dev_rule *rules = NULL;
  size_t n_rules = 0;
  struct cg_resources res = { 0 };
  bool dev_applied;
  struct cgroup_entry cge __attribute__ ((cleanup (cgroup_entry_close))) = CGROUP_ENTRY_INIT;
  int cr = cgroup_parse_devices (cfg->resources, cfgpath, &rules, &n_rules, err);
  if (cr == 0)
    cr = cgroup_parse_resources (cfg->resources, cfgpath, &res, err);
  if (cr == 0)
    {
      cr = cgroup_entry_open (r->cgpath, &cge, err);
      r->cgroup_made = cr == 0;
    }
  if (cr == 0)
    cr = cgroup_apply_devices (r->cgpath, rules, n_rules, cfg, &dev_applied, err);
  if (cr == 0)
    cr = cgroup_apply_resources (r->cgpath, &res, err);
  free (rules);
  cgroup_resources_free (&res);
  if (cr < 0)
    return -1;

  __attribute__ ((cleanup (argv_free))) struct argv_buf a = { 0 };
  arg (&a, "criu");
  arg (&a, "restore");
  common_args (&a, &o->c, image, work, "restore.log");
  arg (&a, "--root"), arg (&a, rootfs);
  /* Detached, and a sibling of criu: the restored init is our child, as
   * the init of `moat run` is, or an engine's when we exit (--detach). */
  arg (&a, "--restore-detached");
  arg (&a, "--restore-sibling");
  cleanup_free char *pidfile = xasprintf ("%s/criu-restore.pid", work);
  unlink (pidfile);
  arg (&a, "--pidfile"), arg (&a, pidfile);
  arg (&a, "--cgroup-root"), arg (&a, r->cgpath);
  if (restore_externals (image, cfg, bundle, r->cgpath, &a, err) < 0)
    return -1;
  inherit_stdio (image, &a);
  cleanup_free char *log = xasprintf ("%s/restore.log", work);
  if (run_criu (&a, log, err) < 0)
    return moat_error_wrap (err, "restore `%s`", o->id);
  cleanup_free char *pidtext = NULL;
  if (read_file (pidfile, &pidtext, NULL, err) < 0)
    return moat_error_wrap (err, "restore `%s`: criu's pid file", o->id);
  unlink (pidfile);
  r->pid = (pid_t) atoi (pidtext);
  if (r->pid <= 0)
    return moat_error_set (err, 0, "restore `%s`: criu's pid file has no pid", o->id);
  st->pid = r->pid;
  st->start_time = pid_start_time (r->pid);
  if (restore_supervisor (o, st, image, r->dirfd, err) < 0)
    return -1;
  st->saved_status = STATUS_RUNNING;
  if (state_write (r->dirfd, st, err) < 0)
    return -1;
  return write_pid_file (o->pid_file, r->pid, err);
}

int
container_restore (const struct restore_opts *o, int *exit_status, moat_error **err)
{
  if (state_validate_id (o->id, err) < 0)
    return -1;
  struct restoring r = { .rootfd = -1, .dirfd = -1 };
  struct moat_state st = { 0 };
  int ret = restore_in (o, &r, &st, err);
  if (ret < 0)
    restoring_abort (o->id, &r);
  pid_t pid = r.pid;
  if (r.dirfd >= 0)
    close (r.dirfd);
  if (r.rootfd >= 0)
    close (r.rootfd);
  free (r.cgpath);
  free (st.id), free (st.bundle), free (st.rootfs), free (st.created), free (st.cgroup_path), free (st.audit_dir);
  if (ret < 0 || o->detach)
    return ret;
  /* Attached, as `moat run`: the restored init's status is ours, and the
   * container goes with it. */
  if (forward_and_wait (pid, exit_status, err) < 0)
    return -1;
  return container_delete (o->root, o->id, true, o->retention, err);
}
