#include "config-host.h"
#include "container.h"
#include "hostaudit.h"
#include "caps.h"
#include "cgroup.h"
#include "cgroup-systemd.h"
#include "config.h"
#include "json.h"
#include "hooks.h"
#include "log.h"
#include "namespaces.h"
#include "process.h"
#include "procsetup.h"
#include "rootfs.h"
#include "mountopts.h"
#include "netdev.h"
#include "pidfdsock.h"
#include "intelrdt.h"
#include "policy.h"
#include "audit.h"
#include "audit-ident.h"
#include "budget.h"
#include "seccomp-wall.h"
#include "spool.h"
#include "supervisor.h"
#include "terminal.h"
#include "reap.h"
#include "lsm.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a create has made so far, so a failure can undo exactly that. */
struct creation
{
  const char *id;
  int rootfd, dirfd;
  bool dir_made;
  char *config_path;           /* --config, or BUNDLE/config.json */
  char *cgroup_path;
  char *no_cgroup_why;         /* without a cgroup (rootless, --cgroup-manager disabled): why (a notice in the log) */
  bool cgroup_ours;            /* only a cgroup this create entered is undone */
  struct sdcg_unit sd;         /* --systemd-cgroup: the scope (sd.unit NULL otherwise) */
  char **sd_props;             /* ... its properties */
  bool sd_asked;               /* systemd was asked to start it: a failure stops it */
  pid_t pid;
  int sync_fd;                 /* parent's end */
  struct moat_config *cfg;
  struct moat_policy *policy;  /* --policy, overlaid on cfg (which points into it) */
  bool audit_syscalls, audit_signals, audit_cgroup;
  struct cg_dev_rule *dev_rules;   /* linux.resources.devices, parsed */
  struct cg_resources res;         /* the rest of linux.resources */
  struct moat_netdev *netdevs;     /* linux.netDevices */
  size_t n_netdevs;
  size_t n_dev_rules;
  struct moat_seccomp *sc;     /* linux.seccomp, parsed */
  struct sock_fprog prog;      /* ... and compiled (audit mode) */
  struct sock_fprog enforce;   /* ... and with its own actions: the supervisor's verdicts */
  struct audit_budget budget;  /* the log's (budget.h) */
  unsigned forward;            /* HOSTAUDIT_*: where the records are copied to */
  struct moat_state st;
  char *bundle, *rootfs;
  int console_master;          /* foreground run with process.terminal: the pty */
  bool *preserve_closed;       /* --preserve-fds slots the caller left closed */
};

/* The heap a creation holds. Also called in the supervisor, a fork of
 * create, once it has its own copy of what it reads (supervisor.c,
 * args_own): the parsed documents and the rules are most of create's heap
 * (~190 KiB with policies/default.json), every page of which would stay in
 * the supervisor's RSS for the container's life. */
static void
creation_free_memory (void *arg)
{
  struct creation *c = arg;
  free (c->cgroup_path);
  sdcg_unit_free (&c->sd);
  strv_free (c->sd_props);
  c->sd_props = NULL;
  free (c->no_cgroup_why);
  free (c->config_path);
  free (c->bundle);
  free (c->rootfs);
  free (c->st.created);
  free (c->st.audit_dir);
  free (c->prog.filter);
  free (c->enforce.filter);
  free (c->preserve_closed);
  free (c->dev_rules);
  cgroup_resources_free (&c->res);
  netdev_free (c->netdevs, c->n_netdevs);
  c->netdevs = NULL;
  c->n_netdevs = 0;
  seccomp_free (c->sc);
  if (c->cfg)
    config_free (c->cfg);
  policy_free (c->policy);
}

static void
creation_release (struct creation *c)
{
  if (c->sync_fd >= 0)
    close (c->sync_fd);
  if (c->dirfd >= 0)
    close (c->dirfd);
  if (c->rootfd >= 0)
    close (c->rootfd);
  if (c->console_master >= 0)
    close (c->console_master);
  creation_free_memory (c);
  memset (c, 0, sizeof *c);
  c->sync_fd = c->dirfd = c->rootfd = c->console_master = -1;
}

/* Undo a failed create: the init (and anything it started), the cgroup, the
 * state directory. Mounts live in the init's mount namespace and vanish
 * with it. */
static void
creation_abort (struct creation *c)
{
  moat_error *e = NULL;
  if (c->pid > 0)
    {
      kill (c->pid, SIGKILL);
      while (waitpid (c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (c->cgroup_path && c->cgroup_ours)
    {
      (void) cgroup_kill_all (c->cgroup_path, SIGKILL, &e);
      moat_error_free (&e);
      if (c->sd_asked && sdcg_stop (c->sd.unit, c->sd.cgroup_path, &e) < 0)
        {
          log_moat_error (e);
          moat_error_free (&e);
        }
      if (cgroup_destroy (c->cgroup_path, &e) < 0)
        {
          log_moat_error (e);
          moat_error_free (&e);
        }
    }
  if (c->dir_made && state_dir_remove (c->rootfd, c->id, &e) < 0)
    {
      log_moat_error (e);
      moat_error_free (&e);
    }
}

int
resolve_rootfs (const struct moat_config *cfg, const char *bundle, char **out, moat_error **err)
{
  cleanup_free char *joined = cfg->root_path[0] == '/' ? xstrdup (cfg->root_path)
                                                       : xasprintf ("%s/%s", bundle, cfg->root_path);
  char *real = realpath (joined, NULL);
  if (real == NULL)
    {
      cleanup_free char *shown = str_printable (joined);
      return moat_error_set (err, errno, "root.path: rootfs `%s`", shown);
    }
  struct stat st;
  if (stat (real, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      free (real);
      cleanup_free char *shown = str_printable (joined);
      return moat_error_set (err, ENOTDIR, "root.path: rootfs `%s`", shown);
    }
  *out = real;
  return 0;
}

/* The status, with "paused" from the freezer. */
enum moat_status
live_status (int dirfd, const struct moat_state *st)
{
  enum moat_status s = state_status (dirfd, st);
  if ((s == STATUS_RUNNING || s == STATUS_CREATED) && st->cgroup_path && cgroup_is_frozen (st->cgroup_path))
    return STATUS_PAUSED;
  return s;
}

/* The log's budget: the container's annotations (org.moat.audit.max-size,
 * .rate, .burst) over its policy's audit section over the global options
 * over the default, the most particular first, as a bad value names where
 * it came from. */
static int
audit_budget_for (const struct create_opts *o, const struct creation *c, struct audit_budget *b, moat_error **err)
{
  *b = (struct audit_budget) AUDIT_BUDGET_DEFAULT;
  /* Learning wants every call in full (generate makes rules of them). */
  if (o->learn)
    b->rate = 0;
  if ((o->audit_max_size && budget_parse_size (o->audit_max_size, &b->max_size, "--audit-max-size", err) < 0)
      || (o->audit_rate && budget_parse_count (o->audit_rate, &b->rate, "--audit-rate", err) < 0)
      || (o->audit_burst && budget_parse_count (o->audit_burst, &b->burst, "--audit-burst", err) < 0))
    return -1;
  const struct moat_policy *p = c->policy;
  if (p && p->has_max_size)
    b->max_size = p->max_size;
  if (p && p->has_rate)
    b->rate = p->rate;
  if (p && p->has_burst)
    b->burst = p->burst;
  const struct moat_config *cfg = c->cfg;
  for (size_t i = 0; i < cfg->n_annotations; i++)
    {
      const char *k = cfg->annotation_keys[i], *v = cfg->annotation_values[i];
      int r = 0;
      if (strcmp (k, "org.moat.audit.max-size") == 0)
        r = budget_parse_size (v, &b->max_size, "config.json: annotations.org.moat.audit.max-size", err);
      else if (strcmp (k, "org.moat.audit.rate") == 0)
        r = budget_parse_count (v, &b->rate, "config.json: annotations.org.moat.audit.rate", err);
      else if (strcmp (k, "org.moat.audit.burst") == 0)
        r = budget_parse_count (v, &b->burst, "config.json: annotations.org.moat.audit.burst", err);
      if (r < 0)
        return -1;
    }
  if (b->rate && b->burst == 0)
    b->burst = b->rate;
  return 0;
}

/* Everything that can be checked before anything is created. */
static int
validate (const struct create_opts *o, struct creation *c, moat_error **err)
{
  if (state_validate_id (o->id, err) < 0)
    return -1;
  /* First of all, before moat opens anything that could take a slot. */
  c->preserve_closed = proc_preserve_reserve (o->preserve_fds, log_file_fd ());
  if (o->systemd_cgroup && !o->cgroup_disabled && sdcg_check (err) < 0)
    return -1;
  const char *bundle = o->bundle && *o->bundle ? o->bundle : ".";
  c->bundle = realpath (bundle, NULL);
  if (c->bundle == NULL)
    {
      cleanup_free char *shown = str_printable (bundle);
      return moat_error_set (err, errno, "bundle `%s`", shown);
    }
  c->config_path = o->config ? xstrdup (o->config) : xasprintf ("%s/config.json", c->bundle);
  if (config_load_file (c->config_path, &c->cfg, err) < 0)
    return -1;
  c->audit_syscalls = c->audit_signals = c->audit_cgroup = true;
  if (o->policy)
    {
      if (policy_load (o->policy, &c->policy, err) < 0 || policy_apply (c->policy, c->cfg, err) < 0)
        return -1;
      c->audit_syscalls = c->policy->audit_syscalls;
      c->audit_signals = c->policy->audit_signals;
      c->audit_cgroup = c->policy->audit_cgroup;
    }
  const struct moat_config *cfg = c->cfg;
  if (!cfg->has_process)
    {
      cleanup_free char *shown = str_printable (c->config_path);
      return moat_error_set (err, 0, "%s: process: required to create a container", shown);
    }
  if (o->console_socket && !cfg->terminal)
    return moat_error_set (err, 0, "--console-socket: process.terminal is false, there is no pty to send");
  if (o->preserve_fds < 0)
    return moat_error_set (err, 0, "--preserve-fds: must not be negative");
  if (resolve_rootfs (cfg, c->bundle, &c->rootfs, err) < 0)
    return -1;
  if (cfg->has_caps && caps_validate (&cfg->caps, err) < 0)
    return -1;
  if (cfg->has_caps)
    caps_warn_ambient (&cfg->caps);
  if (ns_validate (cfg, err) < 0)
    return -1;
  /* An AppArmor profile or SELinux label the host cannot apply is an
   * error, as in runc: asked-for confinement is never dropped. */
  if (lsm_check (cfg, "process.apparmorProfile", "process.selinuxLabel", err) < 0)
    return -1;
  const char *cdoc = c->config_path;
  if (cgroup_parse_devices (cfg->resources, cdoc, &c->dev_rules, &c->n_dev_rules, err) < 0
      || cgroup_parse_resources (cfg->resources, cdoc, &c->res, err) < 0)
    return -1;
  yajl_val lx = json_lookup (cfg->tree, "linux");
  if (netdev_parse (lx, cfg, cdoc, &c->netdevs, &c->n_netdevs, err) < 0 || intelrdt_check (lx, cdoc, err) < 0)
    return -1;
  if (cfg->seccomp)
    {
      bool from_policy = c->policy && c->policy->seccomp == cfg->seccomp;
      cleanup_free char *doc = from_policy ? xstrdup (c->policy->path) : xstrdup (c->config_path);
      const char *path = from_policy ? (c->policy->seccomp == c->policy->tree ? "" : "seccomp") : "linux.seccomp";
      bool strict = from_policy && c->policy->strict;
      if (seccomp_parse (cfg->seccomp, doc, path, cfg->has_caps ? &cfg->caps : NULL, strict, &c->sc, err) < 0)
        return -1;
      if (o->learn)
        {
          /* Learn: what the policy would stop is let through, and recorded
           * (action "log"), so one run shows everything it needs. */
          for (size_t i = 0; i < c->sc->n_rules; i++)
            if (c->sc->rules[i].action != SC_ALLOW)
              c->sc->rules[i].action = SC_LOG;
          if (c->sc->default_action != SC_ALLOW)
            c->sc->default_action = SC_LOG;
          c->audit_syscalls = true;
        }
      /* Compiled here, before anything exists, so a bad filter fails clean. */
      cleanup_free char *cache = xasprintf ("%s/.seccomp-cache", o->root);
      bool hit;
      if (seccomp_uses_agent (c->sc))
        {
          /* A task can have one seccomp listener, and an external agent
           * (listenerPath) takes it: the kernel then enforces the other
           * rules alone, unrecorded, and the audit log says so. */
          if (c->sc->listener_path[0] != '/')
            {
              cleanup_free char *shown = str_printable (doc);
              return moat_error_set (err, 0, "%s: %s.listenerPath: must be an absolute path", shown, path);
            }
          c->audit_syscalls = false;
        }
      /* Audited, the supervisor answers what the policy's own filter (the
       * same rules, each with its own action) answers: both filters come
       * from one compile (seccomp_compile_pair), through the cache. */
      int r = c->audit_syscalls && seccomp_needs_listener (c->sc, true)
                ? seccomp_compile_pair_cached (c->sc, cache, &c->prog, &c->enforce, &hit, err)
                : seccomp_compile_cached (c->sc, c->audit_syscalls, cache, &c->prog, &hit, err);
      if (r < 0)
        {
          cleanup_free char *shown = str_printable (doc);
          return moat_error_wrap (err, "%s: linux.seccomp", shown);
        }
      log_debug ("seccomp: %u BPF instructions (%s)", c->prog.len, hit ? "cached" : "compiled");
    }
  if (audit_budget_for (o, c, &c->budget, err) < 0
      || hostaudit_for (o->audit_forward, c->cfg->annotation_keys, c->cfg->annotation_values, c->cfg->n_annotations,
                        &c->forward, err) < 0)
    return -1;
  if (o->cgroup_disabled)
    {
      /* crun's --cgroup-manager disabled: the container stays in the
       * caller's cgroup. A limit asked for could not be applied: refused,
       * never dropped. The device rules are the usual list every bundle
       * carries: said, on stderr and in the log. */
      const char *limit = cgroup_resources_named (&c->res);
      if (limit)
        {
          cleanup_free char *shown = str_printable (cdoc);
          return moat_error_set (err, 0, "%s: linux.resources.%s: --cgroup-manager disabled makes no cgroup to "
                                 "apply it in", shown, limit);
        }
      c->no_cgroup_why = xstrdup ("--cgroup-manager disabled: no cgroup: the device rules, pause, ps, kill --all "
                                  "and the cgroup wall's records are not available");
      log_warning ("%s", c->no_cgroup_why);
      return 0;
    }
  if (o->systemd_cgroup)
    {
      /* The scope's name, slice and properties: a bad one fails here,
       * before anything is made. */
      if (sdcg_prepare (cfg->cgroups_path, o->id, &c->sd, err) < 0
          || sdcg_properties (&c->res, true, cfg->annotation_keys, cfg->annotation_values, cfg->n_annotations,
                              &c->sd_props, err) < 0)
        return -1;
      c->cgroup_path = xstrdup (c->sd.cgroup_path);
      return 0;
    }
  return cgroup_path_for (cfg, o->id, &c->cgroup_path, err);
}

/* --fault-detail wins over the policy's audit.faultDetail; kmsg is the
 * default: loading the probe costs about 15 ms of create (the kernel's BTF
 * is read and the program verified), the kernel log costs nothing. */
static bool
fault_detail_bpf (const struct create_opts *o, const struct creation *c)
{
  const char *d = o->fault_detail ? o->fault_detail : c->policy ? c->policy->fault_detail : NULL;
  return d && strcmp (d, "bpf") == 0;
}

int
bind_state_sock (int dirfd, const char *name, int backlog, int *out, moat_error **err)
{
  /* Bound through /proc/self/fd so a long --root cannot overflow sun_path. */
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  cleanup_close int s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return moat_error_set (err, errno, "socket");
  if (bind (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    return moat_error_set (err, errno, "bind %s", name);
  if (fchmodat (dirfd, name, 0600, 0) < 0)
    return moat_error_set (err, errno, "chmod %s", name);
  if (listen (s, backlog) < 0)
    return moat_error_set (err, errno, "listen %s", name);
  *out = steal_fd (&s);
  return 0;
}

int
write_pid_file (const char *path, pid_t pid, moat_error **err)
{
  if (path == NULL)
    return 0;
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  const char *name = path;
  cleanup_close int dfd = AT_FDCWD;
  if (slash)
    {
      name = path + (slash - dir) + 1;
      *slash = '\0';
      dfd = open (*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        {
          cleanup_free char *shown = str_printable (path);
          return moat_error_set (err, errno, "--pid-file `%s`", shown);
        }
    }
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);
  if (write_file_atomic_at (dfd, name, buf, (size_t) n, 0644, err) < 0)
    return moat_error_wrap (err, "--pid-file");
  return 0;
}

static char *
hook_state (struct creation *c, enum moat_status s)
{
  return state_oci_json (&c->st, s, false);
}

/* A new user namespace: the bind sources are opened here, with the caller's
 * rights, and handed to the init, whose root is nobody on the host. */
static int
send_bind_sources (struct creation *c, moat_error **err)
{
  const struct moat_config *cfg = c->cfg;
  cleanup_free int *fds = xmalloc0 (cfg->n_mounts * sizeof *fds);
  rootfs_open_bind_sources (cfg, c->pid, fds);
  int r = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (fds[i] >= 0)
      {
        if (r == 0)
          r = sync_send_mount_src (c->sync_fd, i, fds[i], err);
        close (fds[i]);
      }
  return r;
}

/* create, up to an init waiting to be started. With run_mode the init waits
 * on the sync socket (kept in c->sync_fd) instead of exec.sock. */
static int
create_common (const struct create_opts *o, bool run_mode, struct creation *c, moat_error **err)
{
  c->id = o->id;
  if (validate (o, c, err) < 0)
    return -1;
  const struct moat_config *cfg = c->cfg;
  /* Someone must hold the pty's master: the --console-socket's owner, or
   * a `moat run` in the foreground. */
  if (cfg->terminal && !o->console_socket && !run_mode)
    return moat_error_set (err, 0, "process.terminal: needs --console-socket (or `moat run` in the foreground)");
  /* Connected before anything exists: a bad --pidfd-socket leaves nothing. */
  cleanup_close int pidfd_sock = -1;
  if (o->pidfd_socket && pidfdsock_connect (o->pidfd_socket, &pidfd_sock, err) < 0)
    return -1;
  if (state_root_open (o->root, true, &c->rootfd, err) < 0)
    return -1;
  if (state_dir_create (c->rootfd, o->id, &c->dirfd, err) < 0)
    return -1;
  c->dir_made = true;

  /* Written before anything else exists, so that a create killed midway
   * still tells `delete` which cgroup to remove. */
  c->st.id = (char *) o->id;
  c->st.bundle = c->bundle;
  c->st.rootfs = c->rootfs;
  c->st.created = rfc3339_now ();
  c->st.owner = geteuid ();
  c->st.cgroup_path = c->cgroup_path;
  c->st.systemd_unit = c->sd.unit;
  c->st.detached_init = !run_mode;
  c->st.annotation_keys = cfg->annotation_keys;
  c->st.annotation_values = cfg->annotation_values;
  c->st.n_annotations = cfg->n_annotations;
  c->st.saved_status = STATUS_CREATING;
  if (state_write (c->dirfd, &c->st, err) < 0)
    return -1;

  cleanup_free char *cfgtext = NULL;
  size_t cfglen = 0;
  if (read_file_at (AT_FDCWD, c->config_path, &cfgtext, &cfglen, 0, err) < 0
      || write_file_atomic_at (c->dirfd, "config.json", cfgtext, cfglen, 0600, err) < 0)
    return -1;
  /* The policy in force is kept with the state, so the records it caused
   * can always be traced back to it. */
  if (c->policy && write_file_atomic_at (c->dirfd, "policy.json", c->policy->text,
                                         strlen (c->policy->text), 0600, err) < 0)
    return -1;

  cleanup_close int listen_fd = -1;
  if (!run_mode && bind_state_sock (c->dirfd, EXEC_SOCK_NAME, 1, &listen_fd, err) < 0)
    return -1;
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return moat_error_set (err, errno, "socketpair");
  c->sync_fd = sp[0];
  cleanup_close int child_end = sp[1];

  /* The supervisor, when the filter has anything to audit: the init hands
   * it the listener over this pair when it loads the filter. */
  bool listener = c->sc && seccomp_needs_listener (c->sc, c->audit_syscalls);
  bool to_agent = listener && seccomp_uses_agent (c->sc);
  bool supervise = listener || c->audit_signals || c->audit_cgroup;
  if (!supervise && c->forward)
    log_warning ("create `%s`: --audit-forward/org.moat.audit.forward: the policy audits nothing, so nothing is "
                 "forwarded", o->id);
  int sv[2] = { -1, -1 };
  if (listener && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return moat_error_set (err, errno, "socketpair");
  cleanup_close int sup_parent = sv[0], sup_child = sv[1];

  struct init_args a = {
    .sc_prog = c->sc ? &c->prog : NULL, .sc_flags = c->sc ? c->sc->flags : 0,
    .sc_listener = listener, .sup_fd = sup_child,
    .sc_to_agent = to_agent,
    .sc_agent_metadata = c->sc ? c->sc->listener_metadata : NULL,
    .cfg = cfg, .id = o->id, .rootfs = c->rootfs, .bundle = c->bundle,
    .cgroup_path = c->cgroup_path, .sync_fd = child_end,
    .listen_fd = listen_fd, .preserve_fds = o->preserve_fds, .preserve_closed = c->preserve_closed,
    .no_pivot = o->no_pivot,
    .no_new_keyring = o->no_new_keyring, .console_slave = -1,
  };
  log_debug ("create `%s`: rootfs %s, cgroup %s (%s host), clone flags 0x%x", o->id, c->rootfs,
             c->cgroup_path ? c->cgroup_path : "none", cgroup_layout_name (cgroup_detect_layout ()),
             ns_clone_flags (cfg));
  /* From here the cgroup is this container's to undo: the state directory,
   * created exclusively above, says no other create owns this id. It is
   * made, walled and limited before the init exists, which is born in it
   * (see cgroup_entry in cgroup.h: no host-wide wait to get in). */
  c->cgroup_ours = c->cgroup_path != NULL;
  /* Under systemd the cgroup is the scope's, which systemd makes once the
   * init exists (a scope is made with its first process): the init is
   * cloned outside, waits on the sync socket, and is walled and limited
   * below, before SYNC_GO lets it run a line of set-up. */
  bool sd = c->sd.unit != NULL;
  struct cgroup_entry cge __attribute__ ((cleanup (cgroup_entry_close))) = CGROUP_ENTRY_INIT;
  if (c->cgroup_path && !sd && cgroup_entry_open (c->cgroup_path, &cge, err) < 0)
    {
      /* Rootless without a delegated cgroup (runc and crun do the same):
       * the container runs without one, and says so, on stderr and in its
       * audit log, never silently. Rootless is runc's --rootless: auto (a
       * non-root user), or as the caller says, root included. */
      int e = *err ? (*err)->errnum : 0;
      bool rootless = o->rootless < 0 ? geteuid () != 0 : o->rootless > 0;   /* --rootless */
      if (!rootless || (e != EACCES && e != EPERM && e != EROFS))
        return -1;
      cleanup_free char *why = moat_error_string (*err);
      moat_error_free (err);
      cgroup_entry_close (&cge);
      moat_error *ignored = NULL;
      (void) cgroup_destroy (c->cgroup_path, &ignored);   /* whatever part was made */
      moat_error_free (&ignored);
      c->no_cgroup_why = xasprintf ("rootless: no cgroup (%s): resource limits, pause, ps and the cgroup "
                                    "wall's records are not available", why);
      log_warning ("%s", c->no_cgroup_why);
      free (c->cgroup_path);
      c->cgroup_path = NULL;
      c->st.cgroup_path = NULL;
      c->cgroup_ours = false;
    }
  /* Before the init runs a line of set-up: the device wall is up first.
   * A pids.limit of 0 would refuse the init its own birth in the cgroup
   * (clone3 into a cgroup counts against pids.max, a move does not): that
   * one limit goes on once the init is in. */
  bool late_pids = c->res.has_pids && c->res.pids_limit == 0;
  c->res.has_pids = c->res.has_pids && !late_pids;
  bool dev_applied;
  if (c->cgroup_path == NULL || sd)
    dev_applied = false;
  else if (cgroup_apply_devices (c->cgroup_path, c->dev_rules, c->n_dev_rules, cfg, &dev_applied, err) < 0
           || cgroup_apply_resources (c->cgroup_path, &c->res, err) < 0)
    return -1;
  a.cg_entry = c->cgroup_path && !sd ? &cge : NULL;

  /* The init is not dumpable until the workload's execve (which resets
   * it), as runc's is: a process of the container (one `moat exec` put in
   * a created container, or a sibling in a shared pid namespace) could
   * otherwise take its fds with pidfd_getfd (its seccomp listener, its
   * sockets to the supervisor and to `moat start`) in the moment between
   * its capabilities going down to theirs and its execve. The supervisor,
   * forked later, inherits this too. Rootless stays dumpable: the init's
   * /proc/PID/uid_map would then be root's, not the user's, to write. */
  if (geteuid () == 0 && prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return moat_error_set (err, errno, "prctl PR_SET_DUMPABLE");
  /* Idmapped mounts need the host's CAP_SYS_ADMIN: made here, inherited
   * by the init (a fork-like clone), put in place by it. */
  int *mount_fds = NULL;
  if (mountopts_idmap_prepare (cfg, &mount_fds, err) < 0)
    return -1;
  a.mount_fds = mount_fds;
  a.n_mount_fds = mount_fds ? cfg->n_mounts : 0;
  struct ns_saved saved;
  bool in_v2 = false;
  int r = ns_parent_prepare (cfg, &saved, err);
  if (r == 0)
    r = process_spawn_init (&a, ns_clone_flags (cfg), &c->pid, &in_v2, err);
  mountopts_fds_close (mount_fds, a.n_mount_fds);
  if (ns_parent_restore (&saved, err) < 0 || r < 0)
    return -1;
  close (steal_fd (&child_end));
  close (steal_fd (&listen_fd));
  if (sup_child >= 0)
    close (steal_fd (&sup_child));
  /* A kernel without clone3 (before 5.7): moved the usual way. */
  if (c->cgroup_path && cge.v2_fd >= 0 && !in_v2 && cgroup_entry_move_v2 (&cge, c->pid, err) < 0)
    return -1;
  cgroup_entry_close (&cge);
  log_debug ("create `%s`: init %d cloned%s", o->id, (int) c->pid, in_v2 ? " into its cgroup" : "");
  if (sd)
    {
      /* systemd moves the init into the new scope (PIDs), the job is
       * waited for and the init's /proc/PID/cgroup checked; then moat's
       * own writers put every limit on the delegated cgroup, as runc's
       * systemd driver does (what has a unit property as well). */
      c->sd_asked = true;
      int sr = sdcg_start (&c->sd, o->id, c->pid, c->sd_props, err);
      if (sr == -2)
        c->sd_asked = false;
      if (sr < 0 || cgroup_apply_devices (c->cgroup_path, c->dev_rules, c->n_dev_rules, cfg, &dev_applied, err) < 0
          || cgroup_apply_resources (c->cgroup_path, &c->res, err) < 0)
        return -1;
      log_debug ("create `%s`: init %d placed in %s by systemd", o->id, (int) c->pid, c->sd.unit);
    }
  if (late_pids && c->cgroup_path)
    {
      struct cg_resources pids0 = { .has_pids = true, .pids_limit = 0 };
      if (cgroup_apply_resources (c->cgroup_path, &pids0, err) < 0)
        return -1;
    }
  if (ns_write_id_maps (cfg, c->pid, err) < 0)
    return -1;
  /* Before the init goes on: its network namespace gets its devices. */
  if (netdev_move (cfg, c->netdevs, c->n_netdevs, c->pid, err) < 0)
    return -1;
  log_debug ("create `%s`: device cgroup %s", o->id, dev_applied ? "applied" : "not available on this host");
  c->st.pid = c->pid;
  c->st.start_time = pid_start_time (c->pid);

  if (state_write (c->dirfd, &c->st, err) < 0)
    return -1;

  if (cfg->ns[MOAT_NS_USER].present && cfg->ns[MOAT_NS_USER].path == NULL && cfg->n_mounts
      && send_bind_sources (c, err) < 0)
    return -1;
  cleanup_free char *creating = hook_state (c, STATUS_CREATING);
  if (sync_send (c->sync_fd, SYNC_GO, 0, creating, err) < 0)
    return -1;
  if (cfg->terminal)
    {
      if (sync_expect_fd (c->sync_fd, SYNC_CONSOLE, &c->console_master, err) < 0)
        return -1;
      if (o->console_socket)
        {
          if (term_send_console (o->console_socket, c->console_master, err) < 0)
            return -1;
          close (steal_fd (&c->console_master));
        }
    }
  if (cfg->n_hooks[MOAT_HOOK_PRESTART] || cfg->n_hooks[MOAT_HOOK_CREATE_RUNTIME])
    {
      if (sync_expect (c->sync_fd, SYNC_HOOKS, NULL, err) < 0)
        return -1;
      /* In the runtime's namespaces, while the init waits before pivot_root.
       * The runtime environment exists (step 2 of the lifecycle is done),
       * so their state says "created", as crun's does (runc says
       * "creating"); createContainer, run by the init, sees "creating". */
      cleanup_free char *created = hook_state (c, STATUS_CREATED);
      if (hooks_run (cfg, MOAT_HOOK_PRESTART, created, c->bundle, err) < 0
          || hooks_run (cfg, MOAT_HOOK_CREATE_RUNTIME, created, c->bundle, err) < 0
          || sync_send (c->sync_fd, SYNC_HOOKS_DONE, 0, NULL, err) < 0)
        return -1;
    }
  if (sync_expect (c->sync_fd, SYNC_READY, NULL, err) < 0)
    return -1;
  log_debug ("create `%s`: the init is ready (root, mounts, credentials)", o->id);
  if (supervise)
    {
      cleanup_close int log_fd = -1, accept_fd = -1, spool_fd = -1;
      const char *adir = o->audit_dir ? o->audit_dir : MOAT_DEFAULT_AUDIT_DIR;
      /* An earlier container of this id whose supervisor died (a reboot
       * took its state): its last records go to its log before that log is
       * rotated. */
      unsigned long long recovered = 0;
      int rr = supervisor_recover (adir, o->id, &recovered, err);
      if (rr < 0)
        return -1;
      if (rr == 1)
        return moat_error_set (err, 0, "the supervisor of an earlier container `%s` is still writing its audit log",
                               o->id);
      if (recovered)
        log_debug ("create `%s`: %llu records an earlier supervisor left in its spool, now in its log", o->id,
                   recovered);
      if (audit_log_create (adir, o->id, &log_fd, err) < 0)
        return -1;
      /* Who the container is, said by the log's first record. */
      audit_header_arm (log_fd, audit_header_line (o->id, cfg->annotation_keys, cfg->annotation_values,
                                                   cfg->n_annotations));
      /* `moat exec` hands its process (and its listener) to the supervisor here. */
      if (bind_state_sock (c->dirfd, SUP_SOCK_NAME, 16, &accept_fd, err) < 0)
        return -1;
      cleanup_free char *pname = xasprintf ("%s%s", c->policy ? c->policy->name : "config.json", o->learn ? " (learn)" : "");
      /* Without a spool (no room for it: a full disk) the supervisor
       * writes each record as it comes, and counts what the log refuses. */
      moat_error *se = NULL;
      if (spool_create (adir, o->id, pname, &spool_fd, &se) < 0)
        {
          cleanup_free char *m = moat_error_string (se);
          log_debug ("create `%s`: %s; records are written one by one", o->id, m);
          moat_error_free (&se);
        }
      cleanup_free char *spath = spool_path (adir, o->id);
      cleanup_free char *cpu_tasks = cgroup_cpu_tasks (c->cgroup_path);
      cleanup_free char *cpu_max = cpu_tasks ? NULL : cgroup_cpu_max (c->cgroup_path);
      struct fault_walls walls = { .root_readonly = cfg->root_readonly,
                                   .masked = cfg->masked_paths, .readonly = cfg->readonly_paths,
                                   .mounts = cfg->mounts, .n_mounts = cfg->n_mounts,
                                   .fs_rules = c->policy ? c->policy->fs_rules : NULL,
                                   .n_fs_rules = c->policy ? c->policy->n_fs_rules : 0 };
      struct supervisor_args sa = { .id = o->id, .policy = pname, .sc = c->sc,
                                    .enforce = c->enforce.filter ? &c->enforce : NULL,
                                    .budget = c->budget,
                                    .log_fd = log_fd, .spool_fd = spool_fd, .spool_path = spath,
                                    .ctl_fd = sup_parent, .init_pid = c->pid,
                                    .signals = c->audit_signals, .kmsg = o->kmsg ? o->kmsg : "/dev/kmsg",
                                    .fault_bpf = fault_detail_bpf (o, c),
                                    /* --learn also wants the capabilities the kernel refused */
                                    .audit_kernel = o->audit_kernel || o->learn || (c->policy && c->policy->audit_kernel),
                                    .notice = c->no_cgroup_why,
                                    .agent_path = to_agent ? c->sc->listener_path : NULL,
                                    .cgroup_path = c->audit_cgroup ? c->cgroup_path : NULL,
                                    .cpu_tasks = cpu_tasks, .cpu_max = cpu_max,
                                    .accept_fd = accept_fd, .walls = &walls,
                                    .drop = creation_free_memory, .drop_arg = c };
      /* The supervisor, a fork of this process, copies its records. */
      hostaudit_enable (c->forward);
      if (supervisor_spawn (&sa, &c->st.supervisor_pid, err) < 0)
        {
          spool_discard (adir, o->id, spool_fd);
          return -1;
        }
      c->st.audit_dir = xstrdup (adir);
      log_debug ("create `%s`: supervisor %d", o->id, (int) c->st.supervisor_pid);
    }
  /* runc sends it from its init before it waits for start: "standard" */
  if (pidfd_sock >= 0 && pidfdsock_send (pidfd_sock, o->pidfd_socket, c->pid, "standard", err) < 0)
    return -1;
  c->st.saved_status = STATUS_CREATED;
  if (state_write (c->dirfd, &c->st, err) < 0)
    return -1;
  return write_pid_file (o->pid_file, c->pid, err);
}

int
container_create (const struct create_opts *o, moat_error **err)
{
  struct creation c = { .sync_fd = -1, .rootfd = -1, .dirfd = -1, .console_master = -1 };
  int r = create_common (o, false, &c, err);
  if (r < 0)
    creation_abort (&c);
  creation_release (&c);
  return r;
}

int
load_saved_config (int dirfd, const char *id, struct moat_config **cfg, moat_error **err)
{
  cleanup_free char *text = NULL;
  if (read_file_at (dirfd, "config.json", &text, NULL, 0, err) < 0)
    return moat_error_wrap (err, "container `%s`", id);
  return config_parse (text, "config.json", cfg, err);
}

/* Open a container's state: ROOT/ID, locked exclusively when asked (waits
 * for a create in progress), and its state.json. */
int
open_container (const char *root, const char *id, bool lock, int *rootfd, int *dirfd,
                struct moat_state **st, moat_error **err)
{
  /* Before anything else, with or without a state root: an id that could
   * not name a container is refused as such, quoted escaped. */
  if (state_validate_id (id, err) < 0)
    return -1;
  if (state_root_open (root, false, rootfd, err) < 0)
    {
      if ((*err)->errnum != ENOENT)
        return -1;
      moat_error_free (err);
      return moat_error_set (err, 0, "container `%s` does not exist", id);
    }
  if (state_dir_open (*rootfd, id, dirfd, err) < 0 || (lock && state_lock (*dirfd, true, err) < 0))
    return -1;
  return state_read (*dirfd, id, st, err);
}

/* A valid ID with no state directory (nor a state root). */
static bool
container_absent (const char *root, const char *id)
{
  moat_error *e = NULL;
  if (state_validate_id (id, &e) < 0)
    {
      moat_error_free (&e);
      return false;
    }
  cleanup_free char *dir = xasprintf ("%s/%s", root, id);
  return access (dir, F_OK) < 0 && errno == ENOENT;
}

/* ---- the audit's own state: org.moat.audit --------------------------- */

/* Made, exclusively, by the first command to find a live container's
 * supervisor gone; holds when that was. */
#define AUDIT_LOST_NAME "audit-lost"

static bool
supervisor_listening (int dirfd)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" SUP_SOCK_NAME, dirfd);
  cleanup_close int s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0)
    return true;   /* cannot tell: never cry wolf */
  /* A full backlog (EAGAIN) is a supervisor too busy to accept at once. */
  return connect (s, (struct sockaddr *) &sa, sizeof sa) == 0 || errno == EAGAIN || errno == EINPROGRESS;
}

/* The audit's state, as org.moat.audit shows it, into BUF: "active", "lost
 * since TIME", "ended" or "off". A supervisor that dies while its
 * container lives (killed, say) leaves the filter failing closed (ENOSYS)
 * and nothing recorded from then on: the first moat command to see it
 * writes a notice in the log, exactly once (the marker is made
 * exclusively), after what the supervisor left in its spool. */
static const char *
audit_watch (const char *root, int dirfd, const struct moat_state *st, enum moat_status status, char *buf, size_t n)
{
  if (st->supervisor_pid <= 0 || st->audit_dir == NULL)
    return "off";
  cleanup_free char *since = NULL;
  if (read_file_at (dirfd, AUDIT_LOST_NAME, &since, NULL, 64, NULL) == 0)
    {
      snprintf (buf, n, "lost since %s", since);
      return buf;
    }
  /* (A zombie init is a container that has ended, its supervisor with it.) */
  if (status == STATUS_STOPPED || status == STATUS_CREATING || !pid_running (st->pid))
    return "ended";
  if (supervisor_listening (dirfd))
    return "active";
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  char tb[48];
  audit_time_at (&now, tb, sizeof tb);
  cleanup_close int fd = openat (dirfd, AUDIT_LOST_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      /* Another command got there first: its time is the one. */
      if (read_file_at (dirfd, AUDIT_LOST_NAME, &since, NULL, 64, NULL) == 0)
        snprintf (buf, n, "lost since %s", since);
      else
        snprintf (buf, n, "lost since %s", tb);
      return buf;
    }
  (void) write_all (fd, tb, strlen (tb));
  supervisor_log_sync (root, st->audit_dir, st->id);
  struct jbuf j = { 0 };
  audit_notice (&j, &now, st->id,
                "the audit ended: the container's supervisor is gone (killed?) while the container runs; every call "
                "its filter would have sent it now fails with ENOSYS, unrecorded, and no death or cgroup event is "
                "recorded any more", -1);
  cleanup_free char *log = audit_path (st->audit_dir, st->id);
  cleanup_close int lfd = open (log, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (lfd >= 0)
    audit_header_arm (lfd, audit_header_line (st->id, st->annotation_keys, st->annotation_values, st->n_annotations));
  if (lfd < 0 || audit_write (lfd, &j) < 0)
    log_warning ("container `%s`: its supervisor is gone and the audit log could not say so", st->id);
  jb_free (&j);
  log_warning ("container `%s`: the audit ended: its supervisor is gone while the container runs", st->id);
  snprintf (buf, n, "lost since %s", tb);
  return buf;
}

void
container_audit_note (const char *root, int dirfd, const struct moat_state *st, enum moat_status status)
{
  char buf[96];
  (void) audit_watch (root, dirfd, st, status, buf, sizeof buf);
}

void
container_audit_watch (const char *root, const char *id)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  moat_error *e = NULL;
  if (open_container (root, id, false, &rootfd, &dirfd, &st, &e) == 0)
    container_audit_note (root, dirfd, st, live_status (dirfd, st));
  moat_error_free (&e);
}

/* poststart and poststop hooks only warn when they fail, and the others of
 * the stage still run (runtime-spec). */
static void
run_hooks_warn (const struct moat_config *cfg, enum moat_hook_stage stage, const char *json,
                const char *bundle)
{
  hooks_run_all (cfg, stage, json, bundle);
}

/* Release an init waiting on FD and learn whether its execve worked: the
 * socket closes on exec (CLOEXEC), or an error message arrives. */
static int
release_init (int fd, const char *state_json, moat_error **err)
{
  if (sync_send (fd, SYNC_START, 0, state_json, err) < 0)
    return -1;
  moat_error *e = NULL;
  if (sync_expect (fd, SYNC_START, NULL, &e) < 0)
    {
      if (e->msg && strcmp (e->msg, "container init exited during set-up") == 0)
        {
          moat_error_free (&e);   /* EOF: execve succeeded */
          return 0;
        }
      *err = e;
      return -1;
    }
  return moat_error_set (err, 0, "unexpected reply from container init");
}

static int signal_init (const struct moat_state *st, int sig, moat_error **err);
static void wait_gone (pid_t pid, unsigned long long start_time, int ms);

int
container_start (const char *root, const char *id, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (root, id, true, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status s = live_status (dirfd, st);
  if (s != STATUS_CREATED)
    return moat_error_set (err, 0, "container `%s` cannot be started: it is %s, not created", id,
                           status_name (s));
  cleanup_close int sock = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" EXEC_SOCK_NAME, dirfd);
  if (sock < 0 || connect (sock, (struct sockaddr *) &sa, sizeof sa) < 0)
    return moat_error_set (err, errno, "container `%s`: connect to its init", id);
  /* From here the container is running, whatever the exec's fate. */
  unlinkat (dirfd, EXEC_SOCK_NAME, 0);
  cleanup_free char *json = state_oci_json (st, STATUS_RUNNING, false);
  if (release_init (sock, json, err) < 0)
    return moat_error_wrap (err, "container `%s`", id);
  cleanup_config struct moat_config *cfg = NULL;
  if (load_saved_config (dirfd, id, &cfg, err) < 0)
    return -1;
  /* runtime-spec 1.3 (lifecycle step 9): a failing poststart hook is an
   * error, the container is stopped, and the lifecycle goes on at its
   * destruction (the caller's delete). The hooks after it do not run. */
  if (hooks_run (cfg, MOAT_HOOK_POSTSTART, json, st->bundle, err) < 0)
    {
      moat_error *e = NULL;
      if (signal_init (st, SIGKILL, &e) == 0)
        wait_gone (st->pid, st->start_time, 5000);
      moat_error_free (&e);
      return moat_error_wrap (err, "container `%s` stopped", id);
    }
  return 0;
}

/* Send SIG to the init through a pidfd whose start time we checked: a
 * recycled pid never receives a container's signal. */
static int
signal_init (const struct moat_state *st, int sig, moat_error **err)
{
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, st->pid, 0);
  if (pidfd < 0 || !pid_alive (st->pid, st->start_time))
    return moat_error_set (err, 0, "container not running: the init of `%s` has exited", st->id);
  if (syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    return moat_error_set (err, errno, "container `%s`: send signal %d", st->id, sig);
  return 0;
}

int
container_kill (const char *root, const char *id, int sig, bool all, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (root, id, false, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status s = live_status (dirfd, st);
  /* --all signals whatever is left in the cgroup, also once the init is
   * gone (none left is no error), as runc does: containerd's shim sends
   * `kill --all ID 9` after every exit and retries the exit until it
   * succeeds. Without --all, runc's wording: the shims take "container
   * not running" for a process already finished (NotFound). */
  if (all && st->cgroup_path && s != STATUS_CREATING)
    {
      if (cgroup_kill_all (st->cgroup_path, sig, err) == 0)
        return 0;
      if (s != STATUS_STOPPED || (*err)->errnum != ENOENT)
        return -1;
      moat_error_free (err);   /* its cgroup went with it */
      return 0;
    }
  if (s == STATUS_STOPPED || s == STATUS_CREATING)
    return moat_error_set (err, 0, "container not running: `%s` is %s", id, status_name (s));
  return signal_init (st, sig, err);
}

static void
wait_gone (pid_t pid, unsigned long long start_time, int ms)
{
  for (int waited = 0; waited < ms && pid_alive (pid, start_time); waited += 2)
    {
      struct timespec ts = { 0, 2 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}

int
container_delete (const char *root, const char *id, bool force, const struct audit_retention *ret, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  /* (The exclusive lock waits for a create in progress to finish.) */
  if (open_container (root, id, true, &rootfd, &dirfd, &st, err) < 0)
    {
      /* --force of an id that is not there is done, as with runc and crun:
       * engines delete --force after every exit, and may race a delete of
       * their own (containerd's shim, conmon's cleanup). */
      if (force && container_absent (root, id))
        {
          moat_error_free (err);
          return 0;
        }
      return -1;
    }
  enum moat_status s = live_status (dirfd, st);
  container_audit_note (root, dirfd, st, s);
  if ((s == STATUS_RUNNING || s == STATUS_PAUSED) && !force)
    return moat_error_set (err, 0, "container `%s` is %s: stop it first, or use --force", id, status_name (s));
  if (s != STATUS_STOPPED)
    {
      moat_error *e = NULL;
      if (st->pid > 0 && pid_alive (st->pid, st->start_time))
        {
          (void) signal_init (st, SIGKILL, &e);
          moat_error_free (&e);
          /* A frozen task cannot die: thaw it (the SIGKILL is pending). */
          if (s == STATUS_PAUSED && cgroup_freeze (st->cgroup_path, false, &e) < 0)
            moat_error_free (&e);
          wait_gone (st->pid, st->start_time, 5000);
        }
    }
  if (st->cgroup_path)
    {
      /* Without a pid namespace the init's death does not end its children. */
      moat_error *e = NULL;
      if (cgroup_kill_all (st->cgroup_path, SIGKILL, &e) < 0)
        moat_error_free (&e);
    }
  /* The supervisor writes the last records once the last process is gone
   * (a death may wait a moment for its kernel report; the cgroup's counters
   * are read one last time): when delete returns, the audit log is complete,
   * and only then does the cgroup go. */
  char comm[32] = "";
  if (st->supervisor_pid > 0)
    {
      cleanup_free char *cpath = xasprintf ("/proc/%d/comm", (int) st->supervisor_pid);
      cleanup_free char *text = NULL;
      moat_error *ce = NULL;
      if (read_file_at (AT_FDCWD, cpath, &text, NULL, 64, &ce) == 0)
        snprintf (comm, sizeof comm, "%s", text);
      moat_error_free (&ce);
    }
  /* (Only our supervisor: a recycled pid is not waited for.) */
  if (st->supervisor_pid > 0 && strncmp (comm, "moat-supervise", 14) == 0)
    {
      cleanup_close int pfd = (int) syscall (SYS_pidfd_open, st->supervisor_pid, 0);
      struct pollfd p = { .fd = pfd, .events = POLLIN };
      if (pfd >= 0)
        while (poll (&p, 1, 3000) < 0 && errno == EINTR)
          ;
    }
  /* A supervisor that died (killed) left its last records in the spool:
   * they go to the log now, so that it is complete when delete returns. */
  if (st->audit_dir)
    {
      unsigned long long n = 0;
      moat_error *e = NULL;
      if (supervisor_recover (st->audit_dir, id, &n, &e) < 0)
        {
          cleanup_free char *m = moat_error_string (e);
          log_warning ("delete `%s`: %s", id, m);
          moat_error_free (&e);
        }
      else if (n)
        log_debug ("delete `%s`: %llu records its supervisor left in the spool, now in the log", id, n);
      /* The log is complete: an empty one goes (unless the container asked
       * to keep it, org.moat.audit.keep-empty), and the directory keeps
       * what the retention allows of the logs of containers gone. */
      bool keep_empty = false;
      for (size_t i = 0; i < st->n_annotations; i++)
        keep_empty |= strcmp (st->annotation_keys[i], "org.moat.audit.keep-empty") == 0
                      && strcmp (st->annotation_values[i], "true") == 0;
      struct audit_retention def = AUDIT_RETENTION_DEFAULT;
      unsigned went = audit_retire (st->audit_dir, root, id, keep_empty, ret ? ret : &def);
      if (went)
        log_debug ("delete `%s`: %u audit log(s) past the retention removed", id, went);
    }
  /* Its scope: stopped (whatever is left in it ends), and forgotten if
   * it failed (an OOM kill), so the name can be used again. */
  if (st->systemd_unit && sdcg_stop (st->systemd_unit, st->cgroup_path, err) < 0)
    return moat_error_wrap (err, "delete `%s`", id);
  if (st->cgroup_path && cgroup_destroy (st->cgroup_path, err) < 0)
    return -1;
  cleanup_config struct moat_config *cfg = NULL;
  moat_error *cerr = NULL;
  if (load_saved_config (dirfd, id, &cfg, &cerr) == 0)
    {
      cleanup_free char *json = state_oci_json (st, STATUS_STOPPED, false);
      run_hooks_warn (cfg, MOAT_HOOK_POSTSTOP, json, st->bundle);
    }
  moat_error_free (&cerr);
  return state_dir_remove (rootfd, id, err);
}

int
container_state (const char *root, const char *id, char **json, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (root, id, false, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status status = live_status (dirfd, st);
  char buf[96];
  state_annotate (st, "org.moat.audit", audit_watch (root, dirfd, st, status, buf, sizeof buf));
  *json = state_oci_json (st, status, true);
  return 0;
}

static int
cmp_info (const void *a, const void *b)
{
  return strcmp (((const struct container_info *) a)->st->id, ((const struct container_info *) b)->st->id);
}

int
container_list (const char *root, struct container_info **out, size_t *n, moat_error **err)
{
  *out = NULL;
  *n = 0;
  cleanup_dir DIR *d = opendir (root);
  if (d == NULL)
    return errno == ENOENT ? 0 : moat_error_set (err, errno, "open state root `%s`", root);
  size_t cap = 8, k = 0;
  struct container_info *v = xmalloc0 (cap * sizeof *v);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.' || de->d_type != DT_DIR)
        continue;
      cleanup_close int cdir = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct moat_state *st = NULL;
      moat_error *e = NULL;
      if (cdir < 0 || state_read (cdir, de->d_name, &st, &e) < 0)
        {
          moat_error_free (&e);
          continue;
        }
      if (k == cap)
        v = xrealloc (v, (cap *= 2) * sizeof *v);
      v[k].st = st;
      v[k].status = live_status (cdir, st);
      k++;
    }
  qsort (v, k, sizeof *v, cmp_info);
  *out = v;
  *n = k;
  return 0;
}

void
container_list_free (struct container_info *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    state_free (v[i].st);
  free (v);
}

/* ---- run ---------------------------------------------------------------- */

int
forward_and_wait (pid_t pid, int *exit_status, moat_error **err)
{
  sigset_t set;
  forwarded_signals (&set);
  sigprocmask (SIG_BLOCK, &set, NULL);
  cleanup_close int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    return moat_error_set (err, errno, "signalfd");
  for (;;)
    {
      int st;
      int r = reap_workload (pid, &st);
      if (r > 0)
        {
          *exit_status = wait_exit_status (st);
          return 0;
        }
      if (r < 0)
        return moat_error_set (err, errno, "waitpid");
      struct signalfd_siginfo si;
      ssize_t n = read (sfd, &si, sizeof si);
      if (n != sizeof si)
        continue;
      if (si.ssi_signo != SIGCHLD)
        kill (pid, (int) si.ssi_signo);
    }
}

int
container_run (const struct run_opts *o, int *exit_status, moat_error **err)
{
  if (o->detach)
    {
      if (container_create (&o->create, err) < 0)
        return -1;
      if (container_start (o->create.root, o->create.id, err) < 0)
        {
          moat_error *e = NULL;
          if (container_delete (o->create.root, o->create.id, true, o->retention, &e) < 0)
            moat_error_free (&e);
          return -1;
        }
      *exit_status = 0;
      return 0;
    }
  /* A signal meant for the workload that arrives while the container is
   * still being made must not kill moat halfway (leaving a state behind):
   * it waits, blocked, and is forwarded once the workload runs. The init,
   * the supervisor and hooks unblock everything for themselves. */
  sigset_t fwd;
  forwarded_signals (&fwd);
  sigprocmask (SIG_BLOCK, &fwd, NULL);
  struct creation c = { .sync_fd = -1, .rootfd = -1, .dirfd = -1, .console_master = -1 };
  if (create_common (&o->create, true, &c, err) < 0)
    {
      creation_abort (&c);
      creation_release (&c);
      return -1;
    }
  cleanup_free char *json = hook_state (&c, STATUS_RUNNING);
  /* Let `moat delete` and `moat start` of this id proceed while we wait. */
  flock (c.dirfd, LOCK_UN);
  int r = release_init (c.sync_fd, json, err);
  log_debug ("run `%s`: started", c.id);
  if (r == 0 && hooks_run (c.cfg, MOAT_HOOK_POSTSTART, json, c.bundle, err) < 0)
    {
      /* runtime-spec 1.3: stopped, then destroyed (below), and an error */
      r = -1;
      moat_error_wrap (err, "container `%s` stopped", c.id);
    }
  if (r == 0)
    {
      r = c.console_master >= 0 ? term_relay_and_wait (c.console_master, c.pid, exit_status, err)
                                : forward_and_wait (c.pid, exit_status, err);
    }
  log_debug ("run `%s`: the init exited", c.id);
  if (r < 0)
    {
      kill (c.pid, SIGKILL);
      waitpid (c.pid, NULL, 0);
    }
  c.pid = 0;  /* reaped */
  cleanup_free char *id = xstrdup (c.id);
  const char *root = o->create.root;
  creation_release (&c);
  if (!o->keep)
    {
      moat_error *e = NULL;
      if (container_delete (root, id, true, o->retention, r < 0 ? &e : err) < 0 && r == 0)
        return -1;
      moat_error_free (&e);
      log_debug ("run `%s`: deleted", id);
    }
  return r;
}

int
container_pause (const char *root, const char *id, bool pause, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  /* (The exclusive lock waits for a create in progress to finish.) */
  if (open_container (root, id, true, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status s = live_status (dirfd, st);
  if (pause && s != STATUS_RUNNING)
    return moat_error_set (err, 0, "container `%s` cannot be paused: it is %s, not running", id, status_name (s));
  if (!pause && s != STATUS_PAUSED)
    return moat_error_set (err, 0, "container `%s` cannot be resumed: it is %s, not paused", id, status_name (s));
  if (st->cgroup_path == NULL)
    return moat_error_set (err, 0, "container `%s` has no cgroup to freeze", id);
  return cgroup_freeze (st->cgroup_path, pause, err);
}

int
container_pids (const char *root, const char *id, pid_t **pids, size_t *n, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (root, id, false, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  if (st->cgroup_path == NULL)
    return moat_error_set (err, 0, "container `%s` has no cgroup", id);
  *pids = NULL;
  *n = 0;
  if (live_status (dirfd, st) == STATUS_STOPPED)
    return 0;
  return cgroup_pids (st->cgroup_path, pids, n, err);
}

int
container_update (const char *root, const char *id, const struct cg_resources *r, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  /* (The exclusive lock waits for a create in progress to finish.) */
  if (open_container (root, id, true, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status s = live_status (dirfd, st);
  if (s == STATUS_STOPPED || s == STATUS_CREATING)
    return moat_error_set (err, 0, "container `%s` cannot be updated: it is %s", id, status_name (s));
  if (st->cgroup_path == NULL)
    return moat_error_set (err, 0, "container `%s` has no cgroup", id);
  if (cgroup_apply_resources (st->cgroup_path, r, err) < 0)
    return moat_error_wrap (err, "update `%s`", id);
  /* systemd keeps what its properties say: they change too, else a
   * daemon-reload would put the old limits back. */
  cleanup_strv char **props = NULL;
  if (st->systemd_unit
      && (sdcg_properties (r, false, NULL, NULL, 0, &props, err) < 0
          || (props[0] && sdcg_set (st->systemd_unit, props, err) < 0)))
    return moat_error_wrap (err, "update `%s`", id);
  return 0;
}

int
container_cgroup (const char *root, const char *id, char **path, moat_error **err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_state struct moat_state *st = NULL;
  if (open_container (root, id, false, &rootfd, &dirfd, &st, err) < 0)
    return -1;
  enum moat_status s = live_status (dirfd, st);
  if (s == STATUS_STOPPED)
    return moat_error_set (err, 0, "container `%s` is stopped", id);
  if (st->cgroup_path == NULL)
    return moat_error_set (err, 0, "container `%s` has no cgroup", id);
  if (path)
    *path = xstrdup (st->cgroup_path);
  return 0;
}
