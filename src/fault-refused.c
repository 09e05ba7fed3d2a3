/* moat — the records of the syscalls the kernel itself refused (EPERM,
 * EACCES, EROFS), as the BPF probe reports them: which wall most likely
 * stopped each (a capability, a namespace, a read-only mount, Landlock or
 * file permissions), laid at the container's own setting when one can be
 * named. A call the seccomp filter denied is told apart here. */
#include "config-host.h"
#include "faults-int.h"
#include "budget.h"
#include "config.h"
#include "landlock.h"
#include "decode.h"

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <time.h>

/* ---- syscalls the kernel refused -------------------------------------------- */

void
faults_note_denied (struct faults *f, pid_t tid, long nr)
{
  if (!__atomic_load_n (&f->refused, __ATOMIC_ACQUIRE))
    return;   /* nothing to tell apart: no lock on the denial path */
  pthread_mutex_lock (&f->denied_lock);
  f->denied[f->denied_next % ARRAY_SIZE (f->denied)].tid = tid;
  f->denied[f->denied_next % ARRAY_SIZE (f->denied)].nr = nr;
  f->denied_next++;
  pthread_mutex_unlock (&f->denied_lock);
}

static bool
take_denied (struct faults *f, pid_t tid, long nr)
{
  bool hit = false;
  pthread_mutex_lock (&f->denied_lock);
  for (size_t i = 0; i < ARRAY_SIZE (f->denied) && !hit; i++)
    if (f->denied[i].tid == tid && f->denied[i].nr == nr)
      {
        f->denied[i].tid = 0;
        hit = true;
      }
  pthread_mutex_unlock (&f->denied_lock);
  return hit;
}

/* The capability a call needs where EPERM most likely means its absence
 * (the kernel does not say which check failed). */
static const char *
capability_for (const char *call)
{
  static const char *const table[][2] = {
    { "mount", "CAP_SYS_ADMIN" }, { "umount2", "CAP_SYS_ADMIN" }, { "pivot_root", "CAP_SYS_ADMIN" },
    { "sethostname", "CAP_SYS_ADMIN" }, { "setdomainname", "CAP_SYS_ADMIN" }, { "swapon", "CAP_SYS_ADMIN" },
    { "swapoff", "CAP_SYS_ADMIN" }, { "quotactl", "CAP_SYS_ADMIN" }, { "setns", "CAP_SYS_ADMIN" },
    { "unshare", "CAP_SYS_ADMIN" }, { "fsopen", "CAP_SYS_ADMIN" }, { "fsmount", "CAP_SYS_ADMIN" },
    { "move_mount", "CAP_SYS_ADMIN" }, { "open_tree", "CAP_SYS_ADMIN" }, { "name_to_handle_at", "CAP_DAC_READ_SEARCH" },
    { "open_by_handle_at", "CAP_DAC_READ_SEARCH" }, { "chown", "CAP_CHOWN" }, { "fchown", "CAP_CHOWN" },
    { "lchown", "CAP_CHOWN" }, { "fchownat", "CAP_CHOWN" }, { "setuid", "CAP_SETUID" }, { "setreuid", "CAP_SETUID" },
    { "setresuid", "CAP_SETUID" }, { "setfsuid", "CAP_SETUID" }, { "setgid", "CAP_SETGID" },
    { "setregid", "CAP_SETGID" }, { "setresgid", "CAP_SETGID" }, { "setfsgid", "CAP_SETGID" },
    { "setgroups", "CAP_SETGID" }, { "kill", "CAP_KILL" }, { "tkill", "CAP_KILL" }, { "tgkill", "CAP_KILL" },
    { "reboot", "CAP_SYS_BOOT" }, { "kexec_load", "CAP_SYS_BOOT" }, { "kexec_file_load", "CAP_SYS_BOOT" },
    { "ptrace", "CAP_SYS_PTRACE" }, { "process_vm_readv", "CAP_SYS_PTRACE" }, { "process_vm_writev", "CAP_SYS_PTRACE" },
    { "init_module", "CAP_SYS_MODULE" }, { "finit_module", "CAP_SYS_MODULE" }, { "delete_module", "CAP_SYS_MODULE" },
    { "iopl", "CAP_SYS_RAWIO" }, { "ioperm", "CAP_SYS_RAWIO" }, { "settimeofday", "CAP_SYS_TIME" },
    { "clock_settime", "CAP_SYS_TIME" }, { "adjtimex", "CAP_SYS_TIME" }, { "clock_adjtime", "CAP_SYS_TIME" },
    { "mknod", "CAP_MKNOD" }, { "mknodat", "CAP_MKNOD" }, { "chroot", "CAP_SYS_CHROOT" },
    { "setpriority", "CAP_SYS_NICE" }, { "sched_setscheduler", "CAP_SYS_NICE" }, { "sched_setattr", "CAP_SYS_NICE" },
    { "sched_setaffinity", "CAP_SYS_NICE" }, { "ioprio_set", "CAP_SYS_NICE" }, { "acct", "CAP_SYS_PACCT" },
    { "setrlimit", "CAP_SYS_RESOURCE" }, { "prlimit64", "CAP_SYS_RESOURCE" }, { "capset", "CAP_SETPCAP" },
    { "bpf", "CAP_BPF" }, { "perf_event_open", "CAP_PERFMON" }, { "syslog", "CAP_SYSLOG" },
    { "vhangup", "CAP_SYS_TTY_CONFIG" }, { "mlock", "CAP_IPC_LOCK" }, { "mlockall", "CAP_IPC_LOCK" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (table); i++)
    if (strcmp (table[i][0], call) == 0)
      return table[i][1];
  return NULL;
}

/* Does ENTRY (a path in the container) cover PATH: the same, or a parent? */
static bool
path_covers (const char *entry, const char *path)
{
  size_t n = strlen (entry);
  while (n > 1 && entry[n - 1] == '/')
    n--;
  if (n == 1 && entry[0] == '/')
    return true;
  return strncmp (entry, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* What a refusal is laid at: its wall, why in words, and the container's
 * own setting that did it when one can be named. */
struct refusal
{
  const char *wall, *cap;
  char why[256];
  char setting[160];
  int held;               /* the capability: 1 held, 0 not, -1 unknown */
};

/* The deepest of the container's mounts, masked and read-only paths that
 * covers PATH: the one whose read-only-ness answered EROFS, if it is one. */
static void
attribute_erofs (const struct fault_walls *w, const char *path, struct refusal *r)
{
  const char *best = "/", *what = "root.readonly";
  bool ro = w->root_readonly;
  for (size_t i = 0; i < w->n_mounts; i++)
    if (path_covers (w->mounts[i].destination, path) && strlen (w->mounts[i].destination) >= strlen (best))
      {
        best = w->mounts[i].destination;
        what = "mounts";
        ro = (w->mounts[i].flags & MS_RDONLY) != 0;
      }
  for (char *const *m = w->masked; m && *m; m++)
    if (path_covers (*m, path) && strlen (*m) >= strlen (best))
      best = *m, what = "linux.maskedPaths", ro = true;
  for (char *const *m = w->readonly; m && *m; m++)
    if (path_covers (*m, path) && strlen (*m) >= strlen (best))
      best = *m, what = "linux.readonlyPaths", ro = true;
  if (!ro)
    return;
  if (strcmp (what, "root.readonly") == 0)
    {
      snprintf (r->setting, sizeof r->setting, "root.readonly");
      snprintf (r->why, sizeof r->why, "%s is on the container's root filesystem, which is read-only (root.readonly)", path);
    }
  else if (strcmp (what, "linux.maskedPaths") == 0)
    {
      snprintf (r->setting, sizeof r->setting, "%s: %s", what, best);
      snprintf (r->why, sizeof r->why, "%s is masked (linux.maskedPaths %s: an empty read-only tmpfs)", path, best);
    }
  else
    {
      snprintf (r->setting, sizeof r->setting, "%s: %s", what, best);
      snprintf (r->why, sizeof r->why, "%s is under %s, mounted read-only (%s)", path, best, what);
    }
}

static void
attribute_eacces (const struct fault_walls *w, const char *path, struct refusal *r)
{
  if (w->fs_rules == NULL)
    {
      snprintf (r->why, sizeof r->why, "file permissions (owner, group, mode) refused %s; the policy has no Landlock rules",
                path ? path : "the path");
      return;
    }
  if (path == NULL)
    return;
  const struct moat_fs_rule *best = NULL;
  for (size_t i = 0; i < w->n_fs_rules; i++)
    if (path_covers (w->fs_rules[i].path, path) && (best == NULL || strlen (w->fs_rules[i].path) >= strlen (best->path)))
      best = &w->fs_rules[i];
  if (best == NULL)
    {
      snprintf (r->setting, sizeof r->setting, "filesystem");
      snprintf (r->why, sizeof r->why, "Landlock: no rule of the policy's \"filesystem\" covers %s", path);
      return;
    }
  snprintf (r->setting, sizeof r->setting, "filesystem: %s (%s%s%s)", best->path,
            best->access & MOAT_FS_READ ? "r" : "-", best->access & MOAT_FS_WRITE ? "w" : "-",
            best->access & MOAT_FS_EXECUTE ? "x" : "-");
  snprintf (r->why, sizeof r->why, "Landlock: the policy's rule for %s, or file permissions", best->path);
}

/* Was capability CAP in the caller's effective set at the call (as the
 * probe read it)? -1 if the name is unknown here. */
static int
cap_held (const struct moat_fault_event *e, const char *cap)
{
  cap_value_t v;
  if (cap_from_name (cap, &v) < 0 || v < 0 || v > 63)
    return -1;
  return (e->cap_eff >> v) & 1 ? 1 : 0;
}

static void
attribute_refusal (const struct faults *f, const struct moat_fault_event *e, const char *call, const char *path,
                   struct refusal *r)
{
  const struct fault_walls *w = f->walls.set ? &f->walls.w : NULL;
  r->cap = NULL;
  r->held = -1;
  r->setting[0] = '\0';
  switch (e->code)
    {
    case EROFS:
      r->wall = "mount";
      snprintf (r->why, sizeof r->why, "the path is on a read-only mount (root.readonly, readonlyPaths, a read-only bind)");
      if (w && path)
        attribute_erofs (w, path, r);
      break;
    case EACCES:
      r->wall = "permissions";
      snprintf (r->why, sizeof r->why, "file permissions, or the policy's Landlock filesystem rules");
      if (w)
        attribute_eacces (w, path, r);
      break;
    default:
      r->wall = "capabilities";
      r->cap = capability_for (call);
      if (r->cap == NULL)
        {
          snprintf (r->why, sizeof r->why, "a capability or another of the kernel's own checks");
          break;
        }
      r->held = cap_held (e, r->cap);
      if (r->held == 1 && e->userns_level > 0)
        {
          /* Held, and still refused: in a user namespace a capability
           * covers only what that namespace owns. */
          r->wall = "namespace";
          snprintf (r->why, sizeof r->why, "the process holds %s, but only in the container's user namespace; "
                    "%s acts on what the host's namespaces own", r->cap, call);
        }
      else if (r->held == 1)
        snprintf (r->why, sizeof r->why, "the process holds %s: another of the kernel's checks refused it", r->cap);
      else
        snprintf (r->why, sizeof r->why, "the process lacks %s", r->cap);
      break;
    }
}

void
fault_on_refused (struct faults *f, const struct moat_fault_event *e)
{
  struct task *t = fault_task_find (f, (pid_t) e->tid);
  if (t == NULL || take_denied (f, (pid_t) e->tid, (long) e->nr))
    return;   /* not the container's, or the seccomp filter's (recorded) */
  struct task *leader = fault_task_find (f, t->tgid);
  const struct task *who = leader ? leader : t;
  /* Past the log's budget: counted per call, errno and comm. */
  if (f->budget && !budget_take (f->budget, f->log_size (f->size_ctx)))
    {
      struct agg_key k = { .kind = AGG_REFUSED, .nr = (int32_t) e->nr, .arch = SCMP_ARCH_NATIVE,
                           .eno = (uint32_t) e->code };
      memcpy (k.comm, e->comm, sizeof k.comm - 1 < sizeof e->comm ? sizeof k.comm - 1 : sizeof e->comm);
      struct timespec at;
      clock_gettime (CLOCK_REALTIME, &at);
      budget_count (f->budget, &k, &at);
      return;
    }
  cleanup_free char *name = seccomp_syscall_resolve_num_arch (SCMP_ARCH_NATIVE, (int) e->nr);
  const char *call = name ? name : "?";
  char s0[sizeof e->str[0] + 1], s1[sizeof e->str[1] + 1];
  memcpy (s0, e->str[0], sizeof e->str[0]);
  memcpy (s1, e->str[1], sizeof e->str[1]);
  s0[sizeof e->str[0]] = s1[sizeof e->str[1]] = '\0';
  /* The path the call was about: the first absolute string it passed
   * (a relative one depends on a cwd we do not know). */
  const char *path = s0[0] == '/' ? s0 : s1[0] == '/' ? s1 : NULL;
  struct refusal r;
  attribute_refusal (f, e, call, path, &r);
  struct jbuf *j = fault_rec_begin (f, NULL, r.wall, "refused");
  jb_int (j, "pid", who->tgid);
  jb_int (j, "tid", (long long) e->tid);
  fault_put_nspid (j, who->nspid);
  char comm[sizeof e->comm + 1];
  memcpy (comm, e->comm, sizeof e->comm);
  comm[sizeof e->comm] = '\0';
  jb_str (j, "comm", comm);
  jb_str (j, "syscall", call);
  jb_int (j, "nr", (long long) e->nr);
  uint64_t args[6];
  for (int i = 0; i < 6; i++)
    args[i] = e->args[i];
  struct decode_preread pre[2] = { { e->args[0], s0[0] ? s0 : NULL }, { e->args[1], s1[0] ? s1 : NULL } };
  decode_set_preread (pre, 2);
  (void) decode_syscall_args (j, call, args, (pid_t) e->tid);
  decode_set_preread (NULL, 0);
  const char *en = strerrorname_np (e->code);
  jb_str (j, "errno", en ? en : "?");
  if (r.cap)
    jb_str (j, "capability", r.cap);
  if (r.held >= 0)
    jb_raw (j, "held", r.held ? "true" : "false");
  if (r.setting[0])
    jb_str (j, "setting", r.setting);
  jb_str (j, "why", r.why);
  jb_str (j, "detail", "bpf");
  fault_rec_end (f, j);
}
