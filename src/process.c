#include "config-host.h"
#include "process.h"
#include "caps.h"
#include "hooks.h"
#include "landlock.h"
#include "lsm.h"
#include "namespaces.h"
#include "procsetup.h"
#include "procattr.h"
#include "rootfs.h"
#include "seccomp-wall.h"
#include "supervisor.h"
#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYNC_MAX (1 << 20)

struct sync_hdr
{
  uint32_t type;
  int32_t errnum;
};

int
sync_send (int fd, enum sync_type type, int errnum, const char *data, moat_error **err)
{
  size_t dlen = data ? strlen (data) : 0;
  if (dlen > SYNC_MAX - sizeof (struct sync_hdr))
    dlen = SYNC_MAX - sizeof (struct sync_hdr);
  cleanup_free char *buf = xmalloc0 (sizeof (struct sync_hdr) + dlen);
  struct sync_hdr h = { .type = type, .errnum = errnum };
  memcpy (buf, &h, sizeof h);
  if (dlen)
    memcpy (buf + sizeof h, data, dlen);
  ssize_t n;
  do
    n = send (fd, buf, sizeof h + dlen, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return moat_error_set (err, errno, "send to container init");
  return 0;
}

int
sync_expect (int fd, enum sync_type want, char **data, moat_error **err)
{
  cleanup_free char *buf = xmalloc0 (SYNC_MAX + 1);
  ssize_t n;
  do
    n = recv (fd, buf, SYNC_MAX, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return moat_error_set (err, errno, "receive from container init");
  if (n == 0)
    return moat_error_set (err, 0, "container init exited during set-up");
  if ((size_t) n < sizeof (struct sync_hdr))
    return moat_error_set (err, 0, "short message from container init");
  struct sync_hdr h;
  memcpy (&h, buf, sizeof h);
  buf[n] = '\0';
  if (h.type == SYNC_ERROR)
    return moat_error_set (err, h.errnum, "%s", buf + sizeof h);
  if (h.type != (uint32_t) want)
    return moat_error_set (err, 0, "unexpected message %u from container init (wanted %u)", h.type, want);
  if (data)
    *data = xstrdup (buf + sizeof h);
  return 0;
}

int
sync_send_fd (int fd, enum sync_type type, int passed, moat_error **err)
{
  struct sync_hdr h = { .type = type };
  if (send_with_fd (fd, &h, sizeof h, passed) < 0)
    return moat_error_set (err, errno, "send to the parent");
  return 0;
}

int
sync_send_mount_src (int fd, size_t idx, int passed, moat_error **err)
{
  struct sync_hdr h = { .type = SYNC_MOUNT_SRC, .errnum = (int32_t) idx };
  if (send_with_fd (fd, &h, sizeof h, passed) < 0)
    return moat_error_set (err, errno, "send a bind source to container init");
  return 0;
}

/* The init's first wait: SYNC_GO (its data into *STATE_JSON), after the
 * bind sources the parent opened for it, if any (SYNC_MOUNT_SRC). */
static int
expect_go (struct init_args *a, char **state_json, moat_error **err)
{
  for (;;)
    {
      cleanup_free char *buf = xmalloc0 (SYNC_MAX + 1);
      int got;
      ssize_t n = recv_with_fd (a->sync_fd, buf, SYNC_MAX, &got);
      if (n < 0)
        return moat_error_set (err, errno, "receive from the parent");
      if (n == 0)
        return moat_error_set (err, 0, "the parent exited during set-up");
      struct sync_hdr h = { 0 };
      if ((size_t) n >= sizeof h)
        memcpy (&h, buf, sizeof h);
      buf[n] = '\0';
      if (h.type == SYNC_MOUNT_SRC && got >= 0 && h.errnum >= 0 && (size_t) h.errnum < a->cfg->n_mounts)
        {
          if (a->src_fds == NULL)
            {
              a->src_fds = xmalloc0 (a->cfg->n_mounts * sizeof *a->src_fds);
              for (size_t i = 0; i < a->cfg->n_mounts; i++)
                a->src_fds[i] = -1;
            }
          if (a->src_fds[h.errnum] >= 0)
            close (a->src_fds[h.errnum]);
          a->src_fds[h.errnum] = got;
          continue;
        }
      if (got >= 0)
        close (got);
      if ((size_t) n < sizeof h || h.type != SYNC_GO)
        return moat_error_set (err, 0, "unexpected message %u from the parent (wanted %u)", h.type, SYNC_GO);
      *state_json = xstrdup (buf + sizeof h);
      return 0;
    }
}

int
sync_expect_fd (int fd, enum sync_type want, int *passed, moat_error **err)
{
  cleanup_free char *buf = xmalloc0 (SYNC_MAX + 1);
  int got;
  ssize_t n = recv_with_fd (fd, buf, SYNC_MAX, &got);
  if (n < 0)
    return moat_error_set (err, errno, "receive from container init");
  if (n == 0)
    {
      if (got >= 0)
        close (got);
      return moat_error_set (err, 0, "container init exited during set-up");
    }
  struct sync_hdr h = { 0 };
  if ((size_t) n >= sizeof h)
    memcpy (&h, buf, sizeof h);
  buf[n] = '\0';
  if ((size_t) n >= sizeof h && h.type == SYNC_ERROR)
    {
      if (got >= 0)
        close (got);
      return moat_error_set (err, h.errnum, "%s", buf + sizeof h);
    }
  if ((size_t) n < sizeof h || h.type != (uint32_t) want || got < 0)
    {
      if (got >= 0)
        close (got);
      return moat_error_set (err, 0, "unexpected message %u from container init (wanted %u with an fd)", h.type, want);
    }
  *passed = got;
  return 0;
}

/* ---- the init (child side) ---------------------------------------------- */

static const char *
env_get (char **env, const char *name)
{
  size_t l = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, l) == 0 && env[i][l] == '=')
      return env[i] + l + 1;
  return NULL;
}

static bool
is_executable_file (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0111);
}

/* Find args[0] inside the container (after pivot_root) with the container's
 * PATH, so a missing binary fails `create`, not a later `start`. */
static int
find_executable (const struct moat_config *cfg, char **out, moat_error **err)
{
  const char *arg0 = cfg->args[0];
  if (strchr (arg0, '/'))
    {
      struct stat st;
      if (stat (arg0, &st) < 0)
        return moat_error_set (err, errno, "executable `%s` in the rootfs", arg0);
      if (!S_ISREG (st.st_mode) || !(st.st_mode & 0111))
        return moat_error_set (err, EACCES, "executable `%s` in the rootfs", arg0);
      *out = xstrdup (arg0);
      return 0;
    }
  const char *path = env_get (cfg->env, "PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  cleanup_free char *copy = xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *cand = xasprintf ("%s/%s", *dir ? dir : ".", arg0);
      if (is_executable_file (cand))
        {
          *out = steal_pointer (&cand);
          return 0;
        }
    }
  return moat_error_set (err, 0, "executable `%s` not found in the rootfs (PATH=%s)", arg0, path);
}

static int
set_rlimits (const struct moat_config *cfg, moat_error **err)
{
  for (size_t i = 0; i < cfg->n_rlimits; i++)
    {
      const struct moat_rlimit *r = &cfg->rlimits[i];
      struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
      if (setrlimit (r->resource, &rl) < 0)
        return moat_error_set (err, errno, "process.rlimits: set %s to %llu/%llu", r->name,
                               (unsigned long long) r->soft, (unsigned long long) r->hard);
    }
  return 0;
}

static int
set_oom_score_adj (const struct moat_config *cfg, moat_error **err)
{
  if (!cfg->has_oom_score_adj)
    return 0;
  char buf[16];
  int n = snprintf (buf, sizeof buf, "%d", cfg->oom_score_adj);
  if (write_file_at (AT_FDCWD, "/proc/self/oom_score_adj", buf, (size_t) n, err) < 0)
    return moat_error_wrap (err, "process.oomScoreAdj");
  return 0;
}

/* process.ioPriority and process.scheduler: while still root of the
 * container (a real-time policy needs CAP_SYS_NICE), so the workload starts
 * with them and its children inherit them. */
static int
set_sched_ioprio (const struct moat_config *cfg, moat_error **err)
{
  if (cfg->has_ioprio
      && syscall (SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (cfg->ioprio_class << 13) | cfg->ioprio_level) < 0)
    return moat_error_set (err, errno, "process.ioPriority: ioprio_set");
  if (cfg->has_sched)
    {
      struct
      {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
      } attr = { .size = 48, .policy = cfg->sched_policy, .flags = cfg->sched_flags, .nice = cfg->sched_nice,
                 .priority = cfg->sched_priority, .runtime = cfg->sched_runtime, .deadline = cfg->sched_deadline,
                 .period = cfg->sched_period };
      if (syscall (SYS_sched_setattr, 0, &attr, 0) < 0)
        return moat_error_set (err, errno, "process.scheduler: sched_setattr");
    }
  return 0;
}

/* Become process.user: groups, then gid, then uid, keeping capabilities
 * across the uid change so the configured sets can be applied after it. */
static int
change_user (const struct moat_config *cfg, bool setgroups_allowed, moat_error **err)
{
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return moat_error_set (err, errno, "prctl PR_SET_KEEPCAPS");
  if (setgroups_allowed && setgroups (cfg->n_additional_gids, cfg->additional_gids) < 0)
    return moat_error_set (err, errno, "process.user.additionalGids: setgroups");
  if (setresgid (cfg->gid, cfg->gid, cfg->gid) < 0)
    return moat_error_set (err, errno, "process.user.gid: setresgid %u", (unsigned) cfg->gid);
  if (setresuid (cfg->uid, cfg->uid, cfg->uid) < 0)
    return moat_error_set (err, errno, "process.user.uid: setresuid %u", (unsigned) cfg->uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return moat_error_set (err, errno, "prctl PR_SET_KEEPCAPS");
  return 0;
}

/* "deny" when an unprivileged user wrote their own gid map (the kernel
 * demands it, CVE-2014-8989): additionalGids are then left out, as crun
 * does. newgidmap with a /etc/subgid range, and root, leave it allowed. */
static bool
setgroups_allowed_here (void)
{
  char buf[16] = "";
  int fd = open ("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return true;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  return !(n > 0 && strncmp (buf, "deny", 4) == 0);
}

/* Everything up to "ready": namespaces, rootfs, hostname; then wait. */
static int
init_setup (struct init_args *a, char **state_json, char **exe, bool *can_setgroups, moat_error **err)
{
  const struct moat_config *cfg = a->cfg;
  bool userns = cfg->ns[MOAT_NS_USER].present;

  /* Until the parent has mapped our ids and placed us in the cgroup, we
   * must not touch anything. */
  if (expect_go (a, state_json, err) < 0)
    return -1;
  if (ns_child_join (cfg, err) < 0 || ns_child_unshare_late (cfg, err) < 0)
    return -1;
  if (userns)
    {
      /* Become root of the new user namespace (ids 0 if mapped). */
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        return moat_error_set (err, errno, "become root in the user namespace (is uid/gid 0 mapped?)");
    }
  /* The keys the container makes carry its SELinux label (runc's order:
   * before the keyring). */
  if (lsm_apply_keycreate (cfg, err) < 0)
    return -1;
  if (!a->no_new_keyring)
    {
      /* A session keyring of its own, so the container cannot read the
       * host session's keys. Kernels without keyrings just lack the wall. */
      if (syscall (SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, a->id) < 0
          && errno != ENOSYS && errno != EDQUOT)
        return moat_error_set (err, errno, "join a new session keyring");
    }
  *can_setgroups = setgroups_allowed_here ();
  umask (0);   /* modes of device nodes and mount points are exact */
  if (ns_child_loopback_up (cfg, err) < 0)
    return -1;

  struct rootfs_ctx ctx = { .cfg = cfg, .rootfs = a->rootfs, .userns = userns,
                            .no_pivot = a->no_pivot, .cgroup_path = a->cgroup_path, .src_fds = a->src_fds,
                            .mount_fds = a->mount_fds };
  int r = rootfs_prepare (&ctx, err);
  /* The sources are mounted: their fds go (none may reach the workload). */
  for (size_t i = 0; a->src_fds && i < cfg->n_mounts; i++)
    if (a->src_fds[i] >= 0)
      close (a->src_fds[i]);
  free (a->src_fds);
  a->src_fds = NULL;
  if (r < 0)
    return -1;
  if (cfg->terminal)
    {
      /* The pty comes from the container's devpts, before the root turns
       * read-only; its master goes to `moat create`, its peer is the
       * process's stdio and /dev/console. */
      cleanup_close int rootfd = open (a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      cleanup_close int master = -1;
      if (rootfd < 0)
        return moat_error_set (err, errno, "open rootfs `%s`", a->rootfs);
      if (term_open_pty (rootfd, "/dev/ptmx", cfg->console_height, cfg->console_width, &master, &a->console_slave,
                         err) < 0
          || term_bind_console (rootfd, a->console_slave, err) < 0
          || sync_send_fd (a->sync_fd, SYNC_CONSOLE, master, err) < 0)
        return -1;
      /* The pty is our stdio from now on: the caller's pipes are let go at
       * once, as a shim reading `create`'s output waits for their EOF. */
      if (term_make_controlling (a->console_slave, err) < 0)
        return -1;
      a->console_slave = -1;
    }
  if (rootfs_set_uts_sysctl (cfg, err) < 0)
    return -1;
  if (cfg->n_hooks[MOAT_HOOK_PRESTART] || cfg->n_hooks[MOAT_HOOK_CREATE_RUNTIME])
    {
      if (sync_send (a->sync_fd, SYNC_HOOKS, 0, NULL, err) < 0
          || sync_expect (a->sync_fd, SYNC_HOOKS_DONE, NULL, err) < 0)
        return -1;
    }
  /* createContainer: in the container's namespaces, before pivot_root. */
  if (hooks_run (cfg, MOAT_HOOK_CREATE_CONTAINER, *state_json, a->bundle, err) < 0)
    return -1;
  if (rootfs_finish (&ctx, err) < 0 || rootfs_pivot (&ctx, err) < 0)
    return -1;
  if (chdir (cfg->cwd) < 0)
    return moat_error_set (err, errno, "process.cwd: chdir `%s`", cfg->cwd);
  if (find_executable (cfg, exe, err) < 0)
    return -1;
  a->exec_env = proc_env_with_home (cfg->env, cfg->uid);
  if (set_rlimits (cfg, err) < 0 || set_oom_score_adj (cfg, err) < 0 || set_sched_ioprio (cfg, err) < 0)
    return -1;
  if (cfg->has_personality && personality (cfg->personality) < 0)
    return moat_error_set (err, errno, "linux.personality");
  /* The workload's memory policy: kept across execve, inherited by forks. */
  return procattr_apply_mempolicy (cfg, err);
}


struct exec_plan
{
  struct init_args *a;
  const char *exe;
  const char *start_state;   /* the state JSON `start` sent (for an agent) */
  bool can_setgroups;
};

/* Bounding set, user, then the capability sets. */
static int
drop_privileges (const struct exec_plan *p, moat_error **err)
{
  const struct moat_config *cfg = p->a->cfg;
  if (cfg->has_caps && caps_drop_bounding (&cfg->caps, err) < 0)
    return -1;
  if (change_user (cfg, p->can_setgroups, err) < 0)
    return -1;
  if (cfg->has_caps && caps_apply (&cfg->caps, err) < 0)
    return -1;
  return 0;
}

/* The filter's listener must reach the supervisor, but once the filter is
 * loaded every call the policy does not allow waits for that very
 * supervisor: sending the fd from the filtered thread could deadlock (a
 * strict policy denies sendmsg). So a second thread, sharing memory and fds,
 * loads the filter on itself only and execs the workload; this thread stays
 * unfiltered, ships the listener, and is ended by the kernel when the other
 * thread's execve succeeds. The two meet through shared memory only: the
 * filtered thread makes no syscall but seccomp, (the privilege drop,) and
 * execve. */
enum { SHARE_START, SHARE_LOADED, SHARE_GO, SHARE_FAILED };

struct exec_share
{
  const struct exec_plan *p;
  volatile int state;
  volatile int listener;
  int errnum;
  char msg[512];
};

/* Waiting between the two threads. A spin would hold a CPU the other thread
 * needs (2 vCPUs: milliseconds); a futex sleeps. The filtered thread's own
 * futex calls pass its filter like any other call (every shipped policy
 * allows futex); if a policy refuses them they fail at once (EPERM, or
 * ENOSYS) and the wait falls back to spinning, so nothing can hang. */
static void
share_wait (volatile int *addr, int while_value, long timeout_ns)
{
  struct timespec ts = { 0, timeout_ns };
  bool futex_ok = true;   /* refused once, never asked again: no stream of denials */
  while (__atomic_load_n (addr, __ATOMIC_SEQ_CST) == while_value)
    {
      if (futex_ok && syscall (SYS_futex, addr, FUTEX_WAIT, while_value, timeout_ns ? &ts : NULL, NULL, 0) < 0
          && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
        futex_ok = false;
      if (!futex_ok)
        __builtin_ia32_pause ();
    }
}

static void
share_set (volatile int *addr, int value)
{
  __atomic_store_n (addr, value, __ATOMIC_SEQ_CST);
  syscall (SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void
share_fail (struct exec_share *sh, moat_error *e)
{
  snprintf (sh->msg, sizeof sh->msg, "%s", e && e->msg ? e->msg : "container init failed");
  sh->errnum = e ? e->errnum : 0;
  moat_error_free (&e);
  share_set (&sh->state, SHARE_FAILED);
}

static int
filtered_thread (void *arg)
{
  struct exec_share *sh = arg;
  const struct exec_plan *p = sh->p;
  const struct moat_config *cfg = p->a->cfg;
  moat_error *e = NULL;
  int lfd = -1;
  if (seccomp_load_prog (p->a->sc_prog, p->a->sc_flags, true, &lfd, &e) < 0)
    {
      share_fail (sh, e);
      return 0;
    }
  sh->listener = lfd;
  share_set (&sh->state, SHARE_LOADED);
  share_wait (&sh->state, SHARE_LOADED, 0);
  if (__atomic_load_n (&sh->state, __ATOMIC_SEQ_CST) != SHARE_GO)
    return 0;
  /* Without no_new_privs the filter went on first (it needs CAP_SYS_ADMIN);
   * the privileges go now, under it. */
  if (!cfg->no_new_privileges && drop_privileges (p, &e) < 0)
    {
      share_fail (sh, e);
      return 0;
    }
  char *empty[] = { NULL };
  char **env = p->a->exec_env ? p->a->exec_env : cfg->env ? cfg->env : empty;
  execve (p->exe, cfg->args, env);
  moat_error_set (&e, errno, "exec `%s`", p->exe);
  share_fail (sh, e);
  return 0;
}

static int
exec_with_listener (const struct exec_plan *p, moat_error **err)
{
  const struct moat_config *cfg = p->a->cfg;
  if (cfg->no_new_privileges && drop_privileges (p, err) < 0)
    return -1;
  static struct exec_share sh;
  sh.p = p;
  sh.state = SHARE_START;
  sh.listener = -1;
  size_t stack_size = 256 * 1024;
  void *stack = mmap (NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return moat_error_set (err, errno, "mmap a stack");
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  if (clone (filtered_thread, (char *) stack + stack_size, flags, &sh) < 0)
    return moat_error_set (err, errno, "clone the filtered thread");
  /* The other thread's wake-up passes its new filter: if the policy holds
   * it for the supervisor (which has no listener yet), the 1 ms timeout
   * still lets this thread see the state and go on. */
  share_wait (&sh.state, SHARE_START, 1000 * 1000);
  int st = __atomic_load_n (&sh.state, __ATOMIC_SEQ_CST);
  if (st == SHARE_FAILED)
    return moat_error_set (err, sh.errnum, "%s", sh.msg);
  /* An exec'd process holds no connection to the supervisor (a process of
   * the container could take it with pidfd_getfd): `moat exec` hands the
   * listener over and says when the supervisor has it. */
  int r = p->a->sc_to_agent
    ? supervisor_send_agent (p->a->sup_fd, sh.listener, p->start_state, p->a->sc_agent_metadata, err)
    : p->a->joining ? (sync_send_fd (p->a->sync_fd, SYNC_LISTENER, sh.listener, err) < 0
                       || sync_expect (p->a->sync_fd, SYNC_GO, NULL, err) < 0 ? -1 : 0)
    : supervisor_send_listener (p->a->sup_fd, sh.listener, err);
  close (sh.listener);
  if (r < 0)
    {
      share_set (&sh.state, SHARE_FAILED);
      return -1;
    }
  share_set (&sh.state, SHARE_GO);
  /* Wait to be ended by the execve, or to hear why it failed. */
  share_wait (&sh.state, SHARE_GO, 5 * 1000 * 1000);
  return moat_error_set (err, sh.errnum, "%s", sh.msg);
}

/* After start: startContainer hooks, privileges down, exec. */
static int
init_finish (struct init_args *a, const char *exe, const char *start_state, bool can_setgroups,
             moat_error **err)
{
  const struct moat_config *cfg = a->cfg;
  /* startContainer belongs to the container's own process, not an exec's. */
  if (!a->joining && hooks_run (cfg, MOAT_HOOK_START_CONTAINER, start_state, NULL, err) < 0)
    return -1;
  /* No hook runs from here: what the caller ignored or blocked goes back
   * to the defaults for the workload (execve keeps an ignored signal
   * ignored). The filtered thread of exec_with_listener shares the
   * dispositions and inherits this mask. */
  proc_reset_signals ();
  if (cfg->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return moat_error_set (err, errno, "prctl PR_SET_NO_NEW_PRIVS");
  umask (cfg->has_umask ? cfg->umask : 022);
  /* The filesystem wall (Landlock): after no_new_privs (or with the
   * CAP_SYS_ADMIN the init still has), before the last fds and privileges go. */
  if (cfg->fs_rules && landlock_apply (cfg->fs_rules, cfg->n_fs_rules, err) < 0)
    return -1;
  /* The AppArmor profile and SELinux label take effect at the workload's
   * execve (set "on exec": moat's own last steps run unconfined by them).
   * A thread cloned after this (exec_with_listener's) inherits them. */
  if (lsm_apply_exec (cfg, err) < 0)
    return -1;
  if (a->console_slave >= 0 && term_make_controlling (a->console_slave, err) < 0)
    return -1;
  /* Before the uid changes: the stdio becomes the user's own. */
  proc_fix_stdio_owner (cfg->uid, cfg->terminal);
  /* The container sees 0, 1, 2 and the preserved fds only: everything else
   * (the state dir, the sync socket, the log) closes at execve. */
  int first = 3 + a->preserve_fds;
  if (syscall (SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return moat_error_set (err, errno, "close_range");
  for (int fd = 3; fd < first; fd++)
    {
      /* A slot the caller left closed holds a placeholder (see
       * proc_preserve_reserve): it stays close-on-exec. */
      if (a->preserve_closed && a->preserve_closed[fd - 3])
        continue;
      int fl = fcntl (fd, F_GETFD);
      if (fl >= 0)
        fcntl (fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
  struct exec_plan p = { .a = a, .exe = exe, .start_state = start_state, .can_setgroups = can_setgroups };
  if (a->sc_prog && a->sc_listener)
    return exec_with_listener (&p, err);
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
   * before the privileges go (runc's order); otherwise as late as possible,
   * so the fewest calls run under it before execve. */
  bool early = a->sc_prog && !cfg->no_new_privileges;
  if (early && seccomp_load_prog (a->sc_prog, a->sc_flags, false, NULL, err) < 0)
    return -1;
  if (drop_privileges (&p, err) < 0)
    return -1;
  if (a->sc_prog && !early && seccomp_load_prog (a->sc_prog, a->sc_flags, false, NULL, err) < 0)
    return -1;
  char *empty[] = { NULL };
  execve (exe, cfg->args, a->exec_env ? a->exec_env : cfg->env ? cfg->env : empty);
  return moat_error_set (err, errno, "exec `%s`", exe);
}

static void
report (int fd, moat_error *e)
{
  if (fd >= 0)
    sync_send (fd, SYNC_ERROR, e ? e->errnum : 0, e && e->msg ? e->msg : "container init failed", NULL);
}

static int
init_main (struct init_args *a)
{
  moat_error *err = NULL;
  cleanup_free char *state_json = NULL, *exe = NULL, *start_state = NULL;
  bool can_setgroups = true;

  /* Into the container's cgroup before anything else (the v2 part came
   * with the clone). */
  if (a->cg_entry && cgroup_entry_join_self (a->cg_entry, &err) < 0)
    {
      report (a->sync_fd, err);
      return 1;
    }
  /* Keep only what the init needs: its sync socket, exec.sock and the fds
   * to preserve. An inherited fd would also hold the parent's flock on the
   * state directory for as long as the container lives. */
  size_t nk = 0;
  int keep[3 + a->n_mount_fds];
  keep[nk++] = a->sync_fd;
  keep[nk++] = a->listen_fd;
  keep[nk++] = a->sup_fd;
  for (size_t i = 0; a->mount_fds && i < a->n_mount_fds; i++)
    keep[nk++] = a->mount_fds[i];
  close_fds_except (3 + a->preserve_fds, keep, nk);
  /* Nothing blocked is inherited by the workload (`moat run` blocks the
   * signals it forwards while it creates the container). */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* A session of its own: no controlling terminal of the caller's (TIOCSTI
   * could push keystrokes into the host's shell), no shared process group. */
  setsid ();
  /* While we are being set up, the death of `moat create` is ours too. */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (init_setup (a, &state_json, &exe, &can_setgroups, &err) < 0)
    {
      report (a->sync_fd, err);
      return 1;
    }
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (sync_send (a->sync_fd, SYNC_READY, 0, exe, &err) < 0)
    return 1;

  int release_fd = a->sync_fd;
  if (a->listen_fd >= 0)
    {
      /* `moat create` is gone now; `moat start` connects to exec.sock. */
      close (a->sync_fd);
      for (;;)
        {
          int c = accept4 (a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
          if (c >= 0)
            {
              release_fd = c;
              break;
            }
          if (errno != EINTR && errno != ECONNABORTED)
            return 1;
        }
    }
  if (sync_expect (release_fd, SYNC_START, &start_state, &err) < 0)
    return 1;
  init_finish (a, exe, start_state, can_setgroups, &err);
  /* Only reached when something failed: tell whoever started us. */
  report (release_fd, err);
  moat_error_free (&err);
  return 127;
}

/* ---- a process joining a running container (`moat exec`) -------------- */

int
process_wait_exec (int fd, int sup, moat_error **err)
{
  for (;;)
    {
      char buf[4096];
      int got;
      ssize_t n = recv_with_fd (fd, buf, sizeof buf - 1, &got);
      cleanup_close int passed = got;
      if (n == 0)
        return 0;   /* the sync socket closed at execve: it runs */
      if (n < 0)
        return moat_error_set (err, errno, "receive from the new process");
      struct sync_hdr h = { 0 };
      if ((size_t) n >= sizeof h)
        memcpy (&h, buf, sizeof h);
      buf[n] = '\0';
      if ((size_t) n >= sizeof h && h.type == SYNC_LISTENER && passed >= 0 && sup >= 0)
        {
          /* Its filter is on: the supervisor takes the listener before the
           * process may make a call that waits for it. */
          if (supervisor_join (sup, 0, passed, err) < 0 || sync_send (fd, SYNC_GO, 0, NULL, err) < 0)
            return -1;
          continue;
        }
      if ((size_t) n < sizeof h || h.type != SYNC_ERROR)
        return moat_error_set (err, 0, "unexpected message from the new process");
      return moat_error_set (err, h.errnum, "%s", buf + sizeof h);
    }
}

/* In the container's namespaces, root and cgroup already (the caller put
 * itself there), a child of `moat exec`: wait for the go, then become the
 * process. Only returns on failure (reported on sync_fd). */
static int
joined_main (struct init_args *a)
{
  moat_error *err = NULL;
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (sync_expect (a->sync_fd, SYNC_GO, NULL, &err) < 0)
    return 1;
  /* Given the go, the process outlives `moat exec` (exec -d). */
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  cleanup_free char *exe = NULL;
  const struct moat_config *cfg = a->cfg;
  /* A session and process group of its own, as runc's exec'd processes
   * have: a signal to the caller's process group (a shell's ^C to `moat
   * exec -d`'s group) does not reach it, and it may take a pty. */
  if (setsid () < 0)
    {
      moat_error_set (&err, errno, "setsid");
      report (a->sync_fd, err);
      moat_error_free (&err);
      return 127;
    }
  if (cfg->terminal)
    {
      /* The pty's master goes to `moat exec`. */
      int master = -1;
      if (term_open_pty (AT_FDCWD, "/dev/ptmx", cfg->console_height, cfg->console_width, &master,
                              &a->console_slave, &err) == 0)
        {
          sync_send_fd (a->sync_fd, SYNC_CONSOLE, master, &err);
          close (master);
        }
      if (err)
        {
          report (a->sync_fd, err);
          moat_error_free (&err);
          return 127;
        }
    }
  if (chdir (cfg->cwd) < 0)
    moat_error_set (&err, errno, "process.cwd: chdir `%s`", cfg->cwd);
  else if (find_executable (cfg, &exe, &err) == 0 && set_rlimits (cfg, &err) == 0 && set_sched_ioprio (cfg, &err) == 0)
    {
      a->exec_env = proc_env_with_home (cfg->env, cfg->uid);
      init_finish (a, exe, NULL, setgroups_allowed_here (), &err);
    }
  report (a->sync_fd, err);
  moat_error_free (&err);
  return 127;
}

/* clone3's argument, as <linux/sched.h> has it (which does not mix with
 * glibc's <sched.h>): version 2, with the cgroup (Linux 5.7). */
struct moat_clone_args
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* A fork-like clone with FLAGS (CLONE_NEW*), born in CG's v2
 * cgroup when it has one (*IN_V2, see cgroup_entry); a kernel without
 * clone3 (before 5.7, or a seccomp profile that answers ENOSYS) gets a
 * plain clone, to be moved the old way. Returns like fork. */
static pid_t
clone_into_cgroup (unsigned long flags, const struct cgroup_entry *cg, bool *in_v2)
{
  *in_v2 = false;
  if (cg && cg->v2_fd >= 0)
    {
      struct moat_clone_args ca = { .flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
                                    .cgroup = (uint64_t) cg->v2_fd };
      pid_t p = (pid_t) syscall (SYS_clone3, &ca, sizeof ca);
      if (p >= 0 || (errno != ENOSYS && errno != E2BIG))
        {
          *in_v2 = p >= 0;
          return p;
        }
    }
  return (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

pid_t
process_fork_into_cgroup (const struct cgroup_entry *cg, bool *in_v2)
{
  return clone_into_cgroup (0, cg, in_v2);
}

int
process_spawn_joined (struct init_args *a, pid_t *pid)
{
  /* CLONE_PARENT: the process is the child of `moat exec` itself (which
   * waits for it and forwards signals), not of the caller that joined the
   * namespaces, which exits. It is born in the caller's cgroups: the
   * caller joined them so that no cgroup fd is ever open in a process the
   * container can see. */
  pid_t p = (pid_t) syscall (SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
  if (p < 0)
    return -1;
  if (p == 0)
    {
      /* getppid() says 0 here (the parent is outside the pid namespace);
       * if `moat exec` died before this, the sync socket's EOF ends us. */
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      _exit (joined_main (a));
    }
  *pid = p;
  return 0;
}

int
process_spawn_init (struct init_args *a, int flags, pid_t *pid, bool *in_v2, moat_error **err)
{
  /* A fork-like clone: the child gets a copy of our memory (the parsed
   * config included) and runs init_main on it. */
  pid_t p = clone_into_cgroup ((unsigned) flags, a->cg_entry, in_v2);
  if (p < 0)
    return moat_error_set (err, errno, "clone the container init%s", a->cg_entry ? " into its cgroup" : "");
  if (p == 0)
    _exit (init_main (a));
  *pid = p;
  return 0;
}
