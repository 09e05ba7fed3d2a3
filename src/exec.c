/* moat — `moat exec`: a new process in a running container.
 *
 * The process joins every namespace of the container's init (one setns on
 * its pidfd), its root, its cgroup, and gets the container's capabilities,
 * rlimits, no_new_privs and seccomp filter. A filter does not pass from one
 * process to another unless it is inherited, so the process loads the same
 * compiled filter itself; when the filter reports to the supervisor, its
 * new listener goes to the container's supervisor over sup.sock, and its
 * denials land in the same audit log as the init's.
 *
 * Three processes take part: `moat exec` (stays on the host side, waits),
 * a helper child that joins the namespaces and root (setns needs a single-
 * threaded process of its own, and a pid namespace is only entered by a
 * child), and the process itself, cloned by the helper with CLONE_PARENT so
 * that it is `moat exec`'s child: moat waits for it and forwards signals as
 * runc does, or with --detach leaves it to the caller's subreaper (conmon,
 * the shim). */
#include "config-host.h"
#include "container.h"
#include "caps.h"
#include "cgroup.h"
#include "lsm.h"
#include "procattr.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "pidfdsock.h"
#include "process.h"
#include "procsetup.h"
#include "seccomp-wall.h"
#include "state.h"
#include "supervisor.h"
#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Swap one field between two configs: each keeps what it must free. */
#define SWAP_FIELD(a, b, f)                                                                        \
  do                                                                                               \
    {                                                                                              \
      __typeof__ ((a)->f) tmp_ = (a)->f;                                                           \
      (a)->f = (b)->f;                                                                             \
      (b)->f = tmp_;                                                                               \
    }                                                                                              \
  while (0)

/* --process FILE: an OCI process object replaces the container's process.
 * It is parsed by the config parser inside a minimal document, so it gets
 * the same checks and the same messages ("FILE: process.args: ..."). */
static int
load_process_file (const char *path, struct moat_config *cfg, moat_error **err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (read_file_at (AT_FDCWD, path, &text, &len, 0, err) < 0)
    return moat_error_wrap (err, "--process");
  /* Parsed alone first: a syntax error's line and column are the file's
   * own, and the file must be one object (not an object and more members
   * for the document it is wrapped in below). */
  yajl_val alone = NULL;
  if (json_parse (text, len, path, &alone, err) < 0)
    return -1;
  bool object = YAJL_IS_OBJECT (alone);
  yajl_tree_free (alone);
  if (!object)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, 0, "%s: not an OCI process object", shown);
    }
  cleanup_free char *doc = xasprintf ("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},\"process\":%s\n}", text);
  cleanup_config struct moat_config *p = NULL;
  if (config_parse (doc, path, &p, err) < 0)
    return -1;
  if (!p->has_process)
    return moat_error_set (err, 0, "%s: not an OCI process object", path);
  SWAP_FIELD (cfg, p, terminal);
  SWAP_FIELD (cfg, p, console_height);
  SWAP_FIELD (cfg, p, console_width);
  SWAP_FIELD (cfg, p, args);
  SWAP_FIELD (cfg, p, env);
  SWAP_FIELD (cfg, p, cwd);
  SWAP_FIELD (cfg, p, uid);
  SWAP_FIELD (cfg, p, gid);
  SWAP_FIELD (cfg, p, additional_gids);
  SWAP_FIELD (cfg, p, n_additional_gids);
  SWAP_FIELD (cfg, p, has_umask);
  SWAP_FIELD (cfg, p, umask);
  SWAP_FIELD (cfg, p, no_new_privileges);
  SWAP_FIELD (cfg, p, has_caps);
  SWAP_FIELD (cfg, p, caps);
  SWAP_FIELD (cfg, p, rlimits);
  SWAP_FIELD (cfg, p, n_rlimits);
  SWAP_FIELD (cfg, p, exec_cpu_initial);
  SWAP_FIELD (cfg, p, exec_cpu_final);
  SWAP_FIELD (cfg, p, apparmor_profile);
  SWAP_FIELD (cfg, p, selinux_label);
  return 0;
}

/* Append S to the NULL-terminated *V unless it is there already. */
static void
strv_add_unique (char ***v, const char *s)
{
  size_t n = 0;
  for (; *v && (*v)[n]; n++)
    if (strcmp ((*v)[n], s) == 0)
      return;
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

/* KEY=VALUE replaces KEY in *ENV, or is added. */
static void
env_set (char ***env, const char *kv)
{
  size_t klen = strcspn (kv, "=");
  size_t n = 0;
  for (; *env && (*env)[n]; n++)
    if (strncmp ((*env)[n], kv, klen) == 0 && (*env)[n][klen] == '=')
      {
        free ((*env)[n]);
        (*env)[n] = xstrdup (kv);
        return;
      }
  *env = xrealloc (*env, (n + 2) * sizeof **env);
  (*env)[n] = xstrdup (kv);
  (*env)[n + 1] = NULL;
}

static int
parse_id (const char *s, const char *what, uint32_t *out, moat_error **err)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul (s, &end, 10);
  if (*s == '\0' || *s == '-' || *end != '\0' || errno || v > 0xfffffffeUL)
    return moat_error_set (err, 0, "%s: `%s` is not a numeric id", what, s);
  *out = (uint32_t) v;
  return 0;
}

/* The command line on top of the container's (or --process's) process. */
static int
apply_overrides (const struct exec_opts *o, struct moat_config *cfg, moat_error **err)
{
  if (o->args && o->args[0])
    {
      strv_free (cfg->args);
      cfg->args = strv_dup (o->args);
    }
  if (cfg->args == NULL || cfg->args[0] == NULL)
    return moat_error_set (err, 0, "exec: no command given");
  for (size_t i = 0; o->env && o->env[i]; i++)
    {
      if (strchr (o->env[i], '=') == NULL || o->env[i][0] == '=')
        return moat_error_set (err, 0, "--env `%s`: expected KEY=VALUE", o->env[i]);
      env_set (&cfg->env, o->env[i]);
    }
  if (o->cwd)
    {
      if (o->cwd[0] != '/')
        return moat_error_set (err, 0, "--cwd `%s`: must be an absolute path", o->cwd);
      free (cfg->cwd);
      cfg->cwd = xstrdup (o->cwd);
    }
  if (o->user)
    {
      cleanup_free char *u = xstrdup (o->user);
      char *colon = strchr (u, ':');
      if (colon)
        *colon++ = '\0';
      uint32_t uid, gid = 0;
      if (parse_id (u, "--user", &uid, err) < 0 || (colon && parse_id (colon, "--user", &gid, err) < 0))
        return -1;
      cfg->uid = uid;
      cfg->gid = colon ? gid : 0;   /* as runc: uid alone means gid 0 */
    }
  if (o->n_additional_gids)
    {
      free (cfg->additional_gids);
      cfg->additional_gids = xmalloc0 (o->n_additional_gids * sizeof (gid_t));
      memcpy (cfg->additional_gids, o->additional_gids, o->n_additional_gids * sizeof (gid_t));
      cfg->n_additional_gids = o->n_additional_gids;
    }
  if (o->caps && o->caps[0])
    {
      /* Never inheritable (nor so ambient): the CVE-2022-29162 class. */
      for (size_t i = 0; o->caps[i]; i++)
        {
          cleanup_free char *name = strncasecmp (o->caps[i], "CAP_", 4) == 0 ? xstrdup (o->caps[i])
                                                                             : xasprintf ("CAP_%s", o->caps[i]);
          for (char *p = name; *p; p++)
            *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
          char *one[] = { name, NULL };
          struct moat_caps probe = { .bounding = one };
          if (caps_validate (&probe, err) < 0)
            {
              moat_error_free (err);
              return moat_error_set (err, 0, "--cap `%s`: unknown capability", o->caps[i]);
            }
          strv_add_unique (&cfg->caps.bounding, name);
          strv_add_unique (&cfg->caps.effective, name);
          strv_add_unique (&cfg->caps.permitted, name);
        }
      cfg->has_caps = true;
    }
  if (o->no_new_privs)
    cfg->no_new_privileges = true;
  /* runc's flags win over the process's fields (the container's, or
   * --process's); the host must be able to apply them. */
  if (o->apparmor)
    {
      free (cfg->apparmor_profile);
      cfg->apparmor_profile = xstrdup (o->apparmor);
    }
  if (o->process_label)
    {
      free (cfg->selinux_label);
      cfg->selinux_label = xstrdup (o->process_label);
    }
  /* The container's mount label was applied at create; an exec makes no mount. */
  free (cfg->mount_label);
  cfg->mount_label = NULL;
  if (lsm_check (cfg, o->apparmor ? "--apparmor" : "process.apparmorProfile",
                 o->process_label ? "--process-label" : "process.selinuxLabel", err) < 0)
    return -1;
  if (o->tty)
    cfg->terminal = true;
  if (o->console_socket && !cfg->terminal)
    return moat_error_set (err, 0, "--console-socket: needs --tty (or process.terminal)");
  if (cfg->terminal && !o->console_socket && o->detach)
    return moat_error_set (err, 0, "--tty with --detach: needs --console-socket");
  if (cfg->has_caps && caps_validate (&cfg->caps, err) < 0)
    return -1;
  if (cfg->has_caps)
    caps_warn_ambient (&cfg->caps);
  return 0;
}

/* A connection to the container's supervisor (sup.sock), or -1 with the
 * reason in *err. */
static int
connect_supervisor (int dirfd, const char *id, moat_error **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" SUP_SOCK_NAME, dirfd);
  int s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return moat_error_set (err, errno, "socket");
  if (connect (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      int e = errno;
      close (s);
      return moat_error_set (err, e, "container `%s`: its supervisor is not running", id);
    }
  return s;
}

static int
ns_join_flags (const struct moat_config *cfg)
{
  int flags = 0;
  for (int t = 0; t < MOAT_NS_COUNT; t++)
    if (cfg->ns[t].present)
      flags |= ns_clone_flag (t);
  return flags;
}

/* The helper, a fork of `moat exec` born in the container's v2 cgroup:
 * into the v1 ones, the namespaces and the root, then clone the process as
 * `moat exec`'s child and tell its pid. Runs in a fork; never returns.
 *
 * The helper is outside the container's pid namespace (setns only moves
 * its children), so nothing in the container can look at it or its fds.
 * The process it clones can be seen from its first instant, by
 * /proc/PID/fd/N or pidfd_getfd with CAP_SYS_PTRACE: so every host fd (the
 * state root and dir, the cgroup's directories and files, the way into the
 * root) is closed here, before the clone, and the process is born holding
 * its sync socket and the fds to preserve, nothing else. */
static void __attribute__ ((noreturn))
helper_main (struct init_args *a, int pidfd, int nsflags, int rootfd, struct cgroup_entry *cge, bool in_v2)
{
  moat_error *err = NULL;
  int fd = a->sync_fd;
  /* Without clone3, the v2 cgroup the old way ("0": this process). */
  if (cge && cge->v2_fd >= 0 && !in_v2 && cgroup_entry_move_v2 (cge, 0, &err) < 0)
    moat_error_wrap (&err, "join the container's cgroup (v2)");
  else if (cge && cgroup_entry_join_self (cge, &err) < 0)
    ;
  /* In the container's cgroup now (whose cpuset set this process's CPUs):
   * process.execCPUAffinity.final, for it and the process it clones. */
  else if (a->cfg->exec_cpu_final
           && procattr_set_affinity (a->cfg->exec_cpu_final, "process.execCPUAffinity.final", &err) < 0)
    ;
  /* initial alone: back to the default, every CPU the cpuset allows (a
   * cgroup without cpuset reset nothing) */
  else if (!a->cfg->exec_cpu_final && a->cfg->exec_cpu_initial
           && procattr_set_affinity ("0-1023", "process.execCPUAffinity (back from initial)", &err) < 0)
    ;
  else if (nsflags && setns (pidfd, nsflags) < 0)
    moat_error_set (&err, errno, "join the container's namespaces (setns 0x%x)", (unsigned) nsflags);
  else if (fchdir (rootfd) < 0 || chroot (".") < 0)
    moat_error_set (&err, errno, "enter the container's root");
  else
    {
      int keep[] = { fd };
      close_fds_except (3 + a->preserve_fds, keep, ARRAY_SIZE (keep));
      pid_t child;
      if (process_spawn_joined (a, &child) < 0)
        moat_error_set (&err, errno, "clone the process");
      else
        {
          char msg[32];
          snprintf (msg, sizeof msg, "%d", (int) child);
          _exit (sync_send (fd, SYNC_READY, 0, msg, NULL) < 0 ? 1 : 0);
        }
    }
  sync_send (fd, SYNC_ERROR, err->errnum, err->msg, NULL);
  _exit (1);
}

int
container_exec (const struct exec_opts *o, int *exit_status, moat_error **err)
{
  /* Before moat opens anything that could take a slot the caller left
   * closed (skipped, as runc does). */
  cleanup_free bool *preserve_closed = proc_preserve_reserve (o->preserve_fds, log_file_fd ());
  /* Connected before anything is made: a bad --pidfd-socket leaves nothing. */
  cleanup_close int pidfd_sock = -1;
  if (o->pidfd_socket && pidfdsock_connect (o->pidfd_socket, &pidfd_sock, err) < 0)
    return -1;
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (o->root, o->id, false, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status status = live_status (dirfd, st);
  /* A supervisor gone while the container lives is said in its log. */
  container_audit_note (o->root, dirfd, st, status);
  if (status == STATUS_STOPPED || status == STATUS_CREATING)
    return moat_error_set (err, 0, "container `%s` is %s: cannot exec in it", o->id, status_name (status));
  if (status == STATUS_PAUSED && !o->ignore_paused)
    return moat_error_set (err, 0, "container `%s` is paused: cannot exec in it (use --ignore-paused to override)",
                           o->id);
  if (o->preserve_fds < 0)
    return moat_error_set (err, 0, "--preserve-fds: must not be negative");

  /* The container's process as created: its config with its policy on top. */
  cleanup_config struct moat_config *cfg = NULL;
  if (load_saved_config (dirfd, o->id, &cfg, err) < 0)
    return -1;
  cleanup_policy struct moat_policy *pol = NULL;
  bool audit_syscalls = true;
  struct stat sb;
  if (fstatat (dirfd, "policy.json", &sb, 0) == 0)
    {
      cleanup_free char *ppath = xasprintf ("%s/%s/policy.json", o->root, o->id);
      if (policy_load (ppath, &pol, err) < 0 || policy_apply (pol, cfg, err) < 0)
        return -1;
      audit_syscalls = pol->audit_syscalls;
    }
  /* The filter is the container's: compiled from its seccomp section and
   * its own capability sets (the includes of a Docker profile), before the
   * command line adds to the process. */
  cleanup_seccomp struct moat_seccomp *sc = NULL;
  struct sock_fprog prog = { 0 };
  if (cfg->seccomp)
    {
      bool from_policy = pol && pol->seccomp == cfg->seccomp;
      cleanup_free char *doc = from_policy ? xstrdup (pol->path) : xasprintf ("%s/config.json", st->bundle);
      const char *path = from_policy ? (pol->seccomp == pol->tree ? "" : "seccomp") : "linux.seccomp";
      if (seccomp_parse (cfg->seccomp, doc, path, cfg->has_caps ? &cfg->caps : NULL, from_policy && pol->strict,
                         &sc, err) < 0)
        return -1;
      if (seccomp_uses_agent (sc))
        audit_syscalls = false;
      cleanup_free char *cache = xasprintf ("%s/.seccomp-cache", o->root);
      bool hit;
      if (seccomp_compile_cached (sc, audit_syscalls, cache, &prog, &hit, err) < 0)
        return moat_error_wrap (err, "%s: linux.seccomp", doc);
    }
  cleanup_free struct sock_filter *prog_mem = prog.filter;
  if (o->process_file && load_process_file (o->process_file, cfg, err) < 0)
    return -1;
  if (apply_overrides (o, cfg, err) < 0)
    return -1;

  bool listener = sc && seccomp_needs_listener (sc, audit_syscalls);
  bool to_agent = listener && seccomp_uses_agent (sc);
  if (to_agent)
    return moat_error_set (err, 0, "exec: a container whose filter reports to listenerPath is not supported yet");
  /* The supervisor learns of the process (the fault wall follows it and its
   * children) and takes its listener. Without one, a filter that needs a
   * listener fails closed rather than run unrecorded. */
  cleanup_close int sup = -1;
  if (st->supervisor_pid > 0)
    {
      moat_error *e = NULL;
      sup = connect_supervisor (dirfd, o->id, &e);
      if (sup < 0 && listener)
        {
          *err = e;
          return -1;
        }
      moat_error_free (&e);
    }
  else if (listener)
    return moat_error_set (err, 0, "container `%s` has no supervisor to record its filter's denials", o->id);

  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, st->pid, 0);
  if (pidfd < 0 || !pid_alive (st->pid, st->start_time))
    return moat_error_set (err, 0, "container `%s` is stopped: cannot exec in it", o->id);
  cleanup_free char *rootpath = xasprintf ("/proc/%d/root", (int) st->pid);
  cleanup_close int croot = open (rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (croot < 0)
    return moat_error_set (err, errno, "container `%s`: open its root", o->id);

  /* The way into its cgroup, opened here (as root, outside the container):
   * the helper is born in the v2 part and moves itself into the v1 ones,
   * without the host-wide wait of a cgroup.procs write (cgroup.h); the
   * process inherits them. */
  struct cgroup_entry cge __attribute__ ((cleanup (cgroup_entry_close))) = CGROUP_ENTRY_INIT;
  if (o->cgroups && st->cgroup_path == NULL)
    return moat_error_set (err, 0, "--cgroup: container `%s` has no cgroup", o->id);
  if (st->cgroup_path
      && (o->cgroups ? cgroup_entry_open_sub (st->cgroup_path, o->cgroups, &cge, err)
                     : cgroup_entry_open (st->cgroup_path, &cge, err)) < 0)
    return -1;

  int sp[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return moat_error_set (err, errno, "socketpair");
  cleanup_close int sync_fd = sp[0], child_end = sp[1];

  struct init_args a = {
    .cfg = cfg, .id = o->id, .rootfs = st->rootfs, .bundle = st->bundle, .cgroup_path = st->cgroup_path,
    .sync_fd = child_end, .listen_fd = -1, .preserve_fds = o->preserve_fds, .preserve_closed = preserve_closed,
    .sc_prog = sc ? &prog : NULL, .sc_flags = sc ? sc->flags : 0, .sc_listener = listener,
    .sup_fd = -1, .joining = true, .console_slave = -1,
  };
  /* Not dumpable until the workload's execve (which resets it): a process
   * of the container may not open /proc/PID/exe, fd/, mem... of the moat
   * code that runs in there, even once its capabilities are down to the
   * container's. The helper and the process inherit this. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return moat_error_set (err, errno, "prctl PR_SET_DUMPABLE");
  /* process.execCPUAffinity.initial: where `moat exec` and its helper run
   * until the helper is in the container's cgroup (joining its cpuset
   * resets a process's CPUs to the cpuset's, final's or the default). */
  if (cfg->exec_cpu_initial
      && procattr_set_affinity (cfg->exec_cpu_initial, "process.execCPUAffinity.initial", err) < 0)
    return -1;
  bool in_v2;
  pid_t helper = process_fork_into_cgroup (st->cgroup_path ? &cge : NULL, &in_v2);
  if (helper < 0)
    return moat_error_set (err, errno, "clone the exec helper%s", st->cgroup_path ? " into the container's cgroup" : "");
  if (helper == 0)
    {
      close (sync_fd);
      helper_main (&a, pidfd, ns_join_flags (cfg), croot, st->cgroup_path ? &cge : NULL, in_v2);
    }
  close (steal_fd (&child_end));
  cleanup_free char *pidtext = NULL;
  int r = sync_expect (sync_fd, SYNC_READY, &pidtext, err);
  int hst;
  while (waitpid (helper, &hst, 0) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -1;
  pid_t pid = (pid_t) strtol (pidtext, NULL, 10);
  log_debug ("exec `%s`: process %d%s", o->id, (int) pid, in_v2 ? " (helper born in its cgroup)" : "");

  /* From here a failure must not leave the process behind. */
  cleanup_close int master = -1;
  if ((sup >= 0 && supervisor_join (sup, pid, -1, err) < 0)
      /* runc sends it from the process before its execve: "setns" */
      || (pidfd_sock >= 0 && pidfdsock_send (pidfd_sock, o->pidfd_socket, pid, "setns", err) < 0)
      || sync_send (sync_fd, SYNC_GO, 0, NULL, err) < 0
      || (cfg->terminal && sync_expect_fd (sync_fd, SYNC_CONSOLE, &master, err) < 0)
      || (o->console_socket && term_send_console (o->console_socket, master, err) < 0)
      || process_wait_exec (sync_fd, sup, err) < 0)
    {
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      return -1;
    }
  if (write_pid_file (o->pid_file, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      return -1;
    }
  if (o->detach)
    return 0;
  int rc = master >= 0 && !o->console_socket ? term_relay_and_wait (master, pid, exit_status, err)
                                             : forward_and_wait (pid, exit_status, err);
  /* The supervisor writes its log in batches: what the process did is in
   * it when exec returns, as when the container ends. */
  if (rc == 0 && sup >= 0)
    supervisor_flush (sup);
  return rc;
}
