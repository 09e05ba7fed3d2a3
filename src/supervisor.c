#include "config-host.h"
#include "supervisor.h"
#include "audit.h"
#include "budget.h"
#include "cgroup.h"
#include "decode.h"
#include "faults.h"
#include "landlock.h"
#include "log.h"
#include "spool.h"
#include "state.h"
#include "supcpu.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW (4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* ---- the loop ----------------------------------------------------------- */

struct task_info
{
  pid_t tid, tgid, nspid;
  bool used;
  unsigned long long gen;     /* the container's exec/exit generation when read */
  char comm[32];
};

#define TASK_SLOTS 1024
#define NAME_SLOTS 1024

/* Syscall names per (arch, nr): libseccomp's lookup is a table scan and a
 * strdup, too slow for every record of a storm. */
struct name_cache
{
  uint32_t arch;
  char *name[NAME_SLOTS];
  const char *spec[NAME_SLOTS];   /* argument shape, from arg_specs */
  int native[NAME_SLOTS];         /* the rules' number for the name (syscall_name's KEY) */
  uint8_t paths[NAME_SLOTS];      /* which arguments are strings to read */
  bool known[NAME_SLOTS];
};

/* The arguments SPEC says are strings in the caller's memory, a bit each. */
static uint8_t
spec_path_mask (const char *spec)
{
  uint8_t m = 0;
  for (int i = 0; spec && *spec && i < 6; i++)
    {
      const char *end = strchr (spec, ',');
      size_t len = end ? (size_t) (end - spec) : strlen (spec);
      if (len >= 5 && memcmp (spec + len - 5, ":path", 5) == 0)
        m |= (uint8_t) (1u << i);
      spec = end ? end + 1 : NULL;
    }
  return m;
}

/* A denied call as the listener takes it down, before it answers: all a
 * record says, unformatted (the spool's thread formats it, on another
 * CPU). The strings the arguments point to follow, read at the call: NSTR
 * of (u64 address, u32 length, the bytes and a NUL). */
#define SPOOL_CALL 16
struct call_rec
{
  int64_t sec, nsec;
  int32_t tid, tgid, nspid, nr;
  uint32_t arch, eno;
  int32_t sig;
  uint8_t action, has_rule, nstr, flags;   /* CALL_* */
  uint64_t source;                /* the rule's place in the policy */
  uint64_t args[6];
  char comm[32];
};
#define CALL_MAX (sizeof (struct call_rec) + 6 * (12 + STRING_MAX))
/* The compiled filter's answer (the one enforced) matches none of the
 * rules as moat reads them, nor the default: the record names no rule
 * rather than a wrong one. */
#define CALL_UNATTRIBUTED 1

struct sup;

/* One seccomp listener and the thread that answers it. The thread blocks
 * in SECCOMP_IOCTL_NOTIF_RECV itself instead of waiting in epoll: with
 * SYNC_WAKE_UP (6.6+) the kernel then hands the CPU straight from the
 * caller to this thread and back, where an epoll wake-up would land on
 * another CPU (measured: 47k denials/s through epoll, 87k blocking). Each
 * thread owns its caches and buffers; what it shares with the main thread
 * is the log fd (one write per record), the unwritten count (atomic) and
 * the fault tracker (under sup.lock). */
struct listener
{
  struct sup *s;
  int fd;
  pthread_t thread;
  int stop;                             /* atomic: the main thread wants it to end */
  struct task_info tasks[TASK_SLOTS];   /* tid -> tgid, nspid, comm */
  struct name_cache names[3];
  struct jbuf rec;
  char cap[CALL_MAX] __attribute__ ((aligned (8)));   /* the record being taken down (a call_rec) */
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  struct listener *next;
  /* A standby thread waits (futex on go) until its elder sees a backlog,
   * and waits again once no call is waiting: a second thread answering a
   * lone calling thread costs 14% (82k against 93k denials/s), while 8
   * calling threads need it (92k with one, 120k with two). */
  int go;                               /* atomic: answer calls (1), or wait */
  struct listener *standby;             /* the next thread of this listener, or NULL */
  bool first;                           /* never stands down */
  unsigned answered;                    /* while a standby is left to wake */
  unsigned charged;                     /* answers since the last sup_cpu_charge */
  pid_t last_caller;                    /* the thread of the last call answered */
  bool callers_differ;                  /* calls from two threads since the last look */
};

struct sup
{
  const struct supervisor_args *a;
  unsigned long long unwritten;         /* atomic: records the log refused (disk full...) */
  int epfd;
  int nlisteners;
  bool ctl_open;
  struct faults *faults;                /* NULL without fault auditing */
  pthread_mutex_t lock;                 /* the fault tracker's state */
  struct listener *listeners;
  int conns[32];                        /* accepted on sup.sock */
  size_t nconns;
  struct jbuf rec;                      /* the main thread's records */
  size_t req_size, resp_size;
  struct spool *spool;                  /* NULL: records are written as they come */
  struct budget *budget;                /* the log's: past it, calls are counted (budget.h) */
  struct name_cache *agg_names;         /* the main thread's, for the aggregates it writes */
  struct name_cache *spool_names;       /* the spool thread's */
  struct sup_cpu cpu;                   /* its CPU on the container's account (supcpu.h) */
  unsigned long ooms_recorded;          /* the main thread's: OOM records written */
  bool cg_gone_seen;                    /* the watched cgroup was found removed */
  bool cg_final_read;                   /* ... read once after the last process's exit */
};

/* Who made the call. A task's tgid and nspid are fixed for its life, its
 * comm changes at exec, and its tid may be reused after it exits: the
 * cached entry is good while no exec or exit happened in the container
 * (the proc connector's generation). Without the connector, read afresh. */
static void
task_lookup (struct listener *l, pid_t tid, struct task_info *out)
{
  struct sup *s = l->s;
  struct task_info *slot = &l->tasks[(unsigned) tid % TASK_SLOTS];
  unsigned long long gen = 0;
  if (s->faults)
    {
      /* An exec's event is queued on the connector before the new program
       * makes its first call: take what is queued, so a comm cached before
       * the exec is not used for a call after it. The connector's filter
       * counts what it passes, so most calls know there is nothing to take
       * without a syscall or the lock. */
      if (faults_events_waiting (s->faults))
        {
          struct pollfd pf = { .fd = faults_connector_fd (s->faults), .events = POLLIN };
          pthread_mutex_lock (&s->lock);
          if (poll (&pf, 1, 0) > 0)
            faults_on_connector (s->faults);
          pthread_mutex_unlock (&s->lock);
        }
      gen = faults_generation (s->faults);
    }
  if (s->faults && slot->used && slot->tid == tid && slot->gen == gen)
    {
      *out = *slot;
      return;
    }
  /* Unknown until read: nspid -1 (recorded as null), never the host id. */
  struct task_info t = { .tid = tid, .tgid = tid, .nspid = -1, .used = true, .gen = gen };
  char path[64], buf[4096];
  snprintf (path, sizeof path, "/proc/%d/status", (int) tid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n > 0)
        {
          buf[n] = '\0';
          char *p = strstr (buf, "\nTgid:");
          if (p)
            t.tgid = (pid_t) strtol (p + 6, NULL, 10);
          /* The process's id in its namespace: pid 1 decides how a
           * kill can be delivered, whichever thread made the call. */
          long ns = status_last_field (buf, "\nNStgid:");
          if (ns > 0)
            t.nspid = (pid_t) ns;
          if (strncmp (buf, "Name:\t", 6) == 0)
            {
              size_t len = strcspn (buf + 6, "\n");
              if (len >= sizeof t.comm)
                len = sizeof t.comm - 1;
              memcpy (t.comm, buf + 6, len);
              t.comm[len] = '\0';
            }
        }
    }
  *slot = t;
  *out = t;
}

/* NAMES: the thread's cache, one per ABI (x86_64, x86, x32: each its own
 * table, an x32 number never lands in the x86_64 slot of the same low
 * bits). ARCH and NR as the kernel reports them. *KEY: the rules' number
 * for the name (seccomp_decide_abi); INT_MIN, which no rule has, for a
 * number libseccomp does not know. *PATHS: spec_path_mask. */
static const char *
syscall_name (struct name_cache *names, uint32_t arch, int nr, int *key, const char **spec, uint8_t *paths)
{
  uint32_t abi = seccomp_call_abi (arch, nr);
  int slot = abi == SCMP_ARCH_X86_64 ? 0 : abi == SCMP_ARCH_X86 ? 1 : abi == SCMP_ARCH_X32 ? 2 : -1;
  struct name_cache *c = slot >= 0 ? &names[slot] : NULL;
  int idx = abi == SCMP_ARCH_X32 ? (int) ((unsigned) nr & ~0x40000000u) : nr;
  if (c && idx >= 0 && idx < NAME_SLOTS && c->known[idx])
    {
      *key = c->native[idx];
      *spec = c->spec[idx];
      *paths = c->paths[idx];
      return c->name[idx];
    }
  char *name = seccomp_syscall_resolve_num_arch (abi, nr);
  *key = name ? seccomp_syscall_resolve_name (name) : INT_MIN;
  if (*key == __NR_SCMP_ERROR)
    *key = INT_MIN;
  *spec = arg_spec_lookup (name);
  *paths = spec_path_mask (*spec);
  if (c && idx >= 0 && idx < NAME_SLOTS)
    {
      c->known[idx] = true;
      c->name[idx] = name;
      c->spec[idx] = *spec;
      c->native[idx] = *key;
      c->paths[idx] = *paths;
      return name;
    }
  /* Uncached (another arch, or a number past the table): kept for the
   * life of the supervisor, rare. */
  return name;
}

static void
names_free (struct name_cache *names)
{
  for (int a = 0; a < 3; a++)
    for (int i = 0; i < NAME_SLOTS; i++)
      free (names[a].name[i]);
}

/* How SIGSYS would land on this thread: caught by a handler, or (blocked,
 * ignored or default) fatal only if the kernel forced it. */
struct sigsys_disp { bool caught, blocked_or_ignored; };

static struct sigsys_disp
sigsys_disposition (pid_t tid)
{
  struct sigsys_disp d = { false, false };
  char path[64], buf[4096];
  snprintf (path, sizeof path, "/proc/%d/status", (int) tid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (n <= 0)
    return d;
  buf[n] = '\0';
  unsigned long long bit = 1ULL << (SIGSYS - 1);
  char *p;
  if ((p = strstr (buf, "\nSigCgt:")) && (strtoull (p + 8, NULL, 16) & bit))
    d.caught = true;
  if (((p = strstr (buf, "\nSigBlk:")) && (strtoull (p + 8, NULL, 16) & bit))
      || ((p = strstr (buf, "\nSigIgn:")) && (strtoull (p + 8, NULL, 16) & bit)))
    d.blocked_or_ignored = true;
  return d;
}

/* The kernel kills with a SIGSYS nothing can stop. From outside, SIGSYS
 * dies only at its default action, and never reaches pid 1 of a pid
 * namespace that has no handler for it: then SIGKILL does the killing.
 * So does a caller whose /proc entry could not be read (nspid unknown): it
 * is already dying, e.g. killed by another thread's denied call answered
 * at the same time. */
static int
fatal_signal_for (const struct task_info *t, struct sigsys_disp d)
{
  if (!d.caught && !d.blocked_or_ignored && t->nspid > 1)
    return SIGSYS;
  return SIGKILL;
}

static const char *
arch_name (uint32_t arch)
{
  switch (arch)
    {
    case SCMP_ARCH_X86_64: return "x86_64";
    case SCMP_ARCH_X86: return "x86";
    case SCMP_ARCH_X32: return "x32";
    case SCMP_ARCH_AARCH64: return "aarch64";
    default: return "other";
    }
}

/* A record for the log: through the spool, or (no spool: it could not be
 * mapped) written here. < 0: the log refused it. */
static int
sup_log (struct sup *s, const struct jbuf *j)
{
  if (s->spool && spool_put (s->spool, SPOOL_TEXT, j->buf, j->len) == 0)
    return 0;
  return audit_write (s->a->log_fd, j);
}

static int
faults_out (void *ctx, const struct jbuf *j)
{
  return sup_log (ctx, j);
}

static uint64_t
sup_log_size (void *ctx)
{
  return spool_log_size (((struct sup *) ctx)->spool);
}

static void notice_lost (struct sup *s, const char *what, long long lost);

static void
notice (struct sup *s, const char *what)
{
  notice_lost (s, what, -1);
}

static void
notice_lost (struct sup *s, const char *what, long long lost)
{
  struct jbuf j = { 0 };
  audit_notice (&j, NULL, s->a->id, what, lost);
  if (sup_log (s, &j) < 0)
    s->unwritten++;
  jb_free (&j);
}

/* A syscall record, formatted from what the listener took down. */
static void
format_call (struct jbuf *j, const struct call_rec *r, const char *strs, size_t slen, const char *id,
             const char *policy, struct name_cache *names)
{
  /* The strings read at the call stand in for the caller's memory. */
  struct decode_preread pre[6];
  size_t npre = 0;
  for (unsigned i = 0; i < r->nstr && npre < 6; i++)
    {
      uint64_t addr;
      uint32_t len;
      if (slen < 12)
        break;
      memcpy (&addr, strs, 8);
      memcpy (&len, strs + 8, 4);
      if (slen - 12 < (size_t) len + 1)
        break;
      pre[npre++] = (struct decode_preread){ addr, strs + 12 };
      strs += 12 + len + 1;
      slen -= 12 + len + 1;
    }
  int key;
  const char *spec;
  uint8_t paths;
  const char *name = syscall_name (names, r->arch, r->nr, &key, &spec, &paths);
  char tbuf[48];
  struct timespec ts = { (time_t) r->sec, (long) r->nsec };
  audit_time_at (&ts, tbuf, sizeof tbuf);
  jb_open_more (j);
  jb_str (j, "time", tbuf);
  jb_str (j, "container", id);
  jb_str (j, "wall", "seccomp");
  jb_str (j, "kind", "syscall");
  jb_int (j, "pid", r->tgid);
  jb_int (j, "tid", r->tid);
  if (r->nspid > 0)
    jb_int (j, "nspid", r->nspid);
  else
    jb_raw (j, "nspid", "null");
  jb_str (j, "comm", r->comm);
  jb_str (j, "syscall", name ? name : "?");
  jb_int (j, "nr", r->nr);
  jb_str (j, "arch", arch_name (seccomp_call_abi (r->arch, r->nr)));
  decode_set_preread (pre, npre);
  (void) decode_args_spec (j, spec, r->args, 0);
  decode_set_preread (NULL, 0);
  enum sc_action act = (enum sc_action) r->action;
  /* A call that went on to run: the strings above were read from the
   * caller's memory when the kernel handed the call over; another thread
   * could change that memory before the kernel read it. (A refused call's
   * memory is never read by the kernel: its record is exact.) */
  if ((act == SC_LOG || act == SC_ALLOW) && r->nstr > 0)
    jb_str (j, "argsReadAt", "notification");
  jb_str (j, "action", sc_action_name (act));
  if (act == SC_ERRNO)
    {
      const char *en = strerrorname_np ((int) r->eno);
      if (en)
        jb_str (j, "errno", en);
      else
        jb_int (j, "errno", r->eno);
    }
  if (r->sig)
    jb_str (j, "signal", r->sig == SIGSYS ? "SIGSYS" : "SIGKILL");
  if (r->flags & CALL_UNATTRIBUTED)
    jb_str (j, "rule", "unknown");
  else if (r->has_rule)
    {
      char rb[48];
      jb_str (j, "rule", sc_source_label ((size_t) r->source, rb, sizeof rb));
    }
  else
    jb_str (j, "rule", "default");
  jb_str (j, "policy", policy);
  jb_close (j);
}

/* The spool's formatter (spool_format_fn): CTX is the thread's name cache. */
static void
format_rec (struct jbuf *out, uint32_t type, const void *p, size_t n, const char *id, const char *policy, void *ctx)
{
  if (type == SPOOL_TEXT)
    jb_append (out, p);
  else if (type == SPOOL_LOST && n == sizeof (struct spool_lost))
    {
      struct spool_lost lost;
      memcpy (&lost, p, sizeof lost);
      char what[128];
      snprintf (what, sizeof what, "%llu records could not be written to the audit log (it refused them: a full "
                "disk?); the time is that of the last", (unsigned long long) lost.count);
      struct timespec at = { (time_t) lost.sec, (long) lost.nsec };
      audit_notice (out, &at, id, what, (long long) lost.count);
    }
  else if (type == SPOOL_CALL && n >= sizeof (struct call_rec))
    {
      struct call_rec r;
      memcpy (&r, p, sizeof r);
      r.comm[sizeof r.comm - 1] = '\0';
      format_call (out, &r, (const char *) p + sizeof r, n - sizeof r, id, policy, ctx);
    }
}

int
supervisor_recover (const char *dir, const char *id, unsigned long long *n, moat_error **err)
{
  /* Every create and delete asks, and almost never is there a spool: no
   * name caches (67 KiB) for nothing. */
  cleanup_free char *path = spool_path (dir, id);
  *n = 0;
  if (access (path, F_OK) != 0 && errno == ENOENT)
    return 0;
  struct name_cache *names = xmalloc0 (3 * sizeof *names);
  int r = spool_recover (dir, id, format_rec, names, n, err);
  names_free (names);
  free (names);
  return r;
}

static int
recover_quietly (const char *dir, const char *id)
{
  unsigned long long n = 0;
  moat_error *e = NULL;
  int r = supervisor_recover (dir, id, &n, &e);
  if (r < 0)
    {
      cleanup_free char *m = moat_error_string (e);
      log_warning ("%s", m);
      moat_error_free (&e);
    }
  return r;
}

void
supervisor_flush (int sock)
{
  struct pollfd p = { .fd = sock, .events = POLLIN };
  char c;
  if (send (sock, "F", 1, MSG_NOSIGNAL) == 1 && poll (&p, 1, 5000) > 0)
    (void) recv (sock, &c, 1, 0);
}

void
supervisor_log_sync (const char *root, const char *dir, const char *id)
{
  moat_error *e = NULL;
  if (state_validate_id (id, &e) < 0)
    {
      moat_error_free (&e);
      return;   /* no such log either: the reader says so */
    }
  if (recover_quietly (dir, id) != 1)
    return;
  /* Alive: it empties the spool when asked ("F"), and says so. One that
   * is ending no longer answers, but lets go of the spool once it is
   * empty: wait for whichever comes first (5 s at most). */
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int sk = -1;
  if ((size_t) snprintf (sa.sun_path, sizeof sa.sun_path, "%s/%s/" SUP_SOCK_NAME, root, id) < sizeof sa.sun_path)
    {
      sk = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      if (sk >= 0 && (connect (sk, (struct sockaddr *) &sa, sizeof sa) < 0 || send (sk, "F", 1, MSG_NOSIGNAL) != 1))
        {
          close (sk);
          sk = -1;
        }
    }
  for (int i = 0; i < 1000; i++)
    {
      struct pollfd p = { .fd = sk, .events = POLLIN };
      char c = 0;
      if (sk >= 0 && poll (&p, 1, 5) > 0)
        {
          if (recv (sk, &c, 1, 0) == 1 && c == 'F')
            return;
          close (sk);   /* gone without answering: its spool is free now */
          sk = -1;
        }
      if (sk < 0)
        {
          struct timespec ts = { 0, 5 * 1000 * 1000 };
          nanosleep (&ts, NULL);
        }
      if (recover_quietly (dir, id) != 1)
        return;
    }
}

/* Take down the strings of the arguments in PATHS from the caller's
 * memory, after the record at L->cap. Returns the bytes added. */
static size_t
capture_strings (struct listener *l, struct call_rec *r, uint8_t paths, pid_t pid)
{
  size_t at = sizeof *r;
  for (int i = 0; i < 6; i++)
    {
      if (!(paths & (1u << i)) || r->args[i] == 0)
        continue;
      char *dst = l->cap + at;
      ssize_t len = read_string (pid, r->args[i], dst + 12, STRING_MAX);
      if (len < 0)
        continue;   /* unreadable: the record shows the address */
      uint32_t len32 = (uint32_t) len;
      memcpy (dst, &r->args[i], 8);
      memcpy (dst + 8, &len32, 4);
      at += 12 + (size_t) len + 1;
      r->nstr++;
    }
  return at - sizeof *r;
}

struct name_cache *
supervisor_names_new (void)
{
  return xmalloc0 (3 * sizeof (struct name_cache));
}

void
supervisor_names_free (struct name_cache *names)
{
  if (names)
    names_free (names);
  free (names);
}

void
supervisor_decide (const struct moat_seccomp *sc, const struct sock_fprog *enforce, struct name_cache *names,
                   const struct seccomp_data *d, struct sup_decision *out)
{
  /* The name in the caller's ABI's own table. */
  out->abi = seccomp_call_abi (d->arch, d->nr);
  out->name = syscall_name (names, d->arch, d->nr, &out->key, &out->spec, &out->paths);
  uint64_t raw[6];
  for (int i = 0; i < 6; i++)
    raw[i] = d->args[i];
  /* The verdict is the compiled filter's, run on the very data the kernel
   * ran the audit filter on: the two cannot disagree whatever the ABI, the
   * registers' high bits or libseccomp's way with a rule. The rule is
   * named only when moat's own reading of the rules gives that verdict. */
  out->rule = seccomp_decide_abi (sc, out->abi, out->key, raw);
  out->act = out->rule >= 0 ? sc->rules[out->rule].action : sc->default_action;
  out->eno = out->rule >= 0 ? sc->rules[out->rule].errno_ret : sc->default_errno;
  out->unattributed = false;
  if (enforce == NULL)
    return;
  enum sc_action v;
  uint32_t ve;
  if (seccomp_verdict (enforce, d, &v, &ve) < 0)
    v = SC_ERRNO, ve = EPERM;   /* never for a program libseccomp made: refuse */
  if (v != out->act || ((v == SC_ERRNO || v == SC_TRACE) && ve != out->eno))
    {
      out->unattributed = true;
      out->act = v;
      out->eno = ve;
    }
}

/* Answer one notification. Returns -1 when RECV failed (errno says why). */
static int
handle_one (struct listener *l)
{
  struct sup *s = l->s;
  int lfd = l->fd;
  memset (l->req, 0, s->req_size);   /* the kernel rejects a dirty buffer */
  if (ioctl (lfd, SECCOMP_IOCTL_NOTIF_RECV, l->req) < 0)
    return -1;
  const struct seccomp_data *d = &l->req->data;
  const struct moat_seccomp *sc = s->a->sc;

  struct sup_decision dec;
  supervisor_decide (sc, s->a->enforce, l->names, d, &dec);
  uint8_t paths = dec.paths;
  enum sc_action act = dec.act;
  uint32_t eno = dec.eno;
  int rule = dec.rule;
  struct call_rec *r = (struct call_rec *) (void *) l->cap;
  memset (r, 0, sizeof *r);
  /* An i386 call (int $0x80, even from a 64-bit process) runs on the low
   * 32 bits of each register: the record shows, and the strings are read
   * at, what the kernel will use. */
  for (int i = 0; i < 6; i++)
    r->args[i] = dec.abi == SCMP_ARCH_X86 ? (uint32_t) d->args[i] : d->args[i];
  if (dec.unattributed)
    r->flags |= CALL_UNATTRIBUTED;

  struct task_info t;
  task_lookup (l, (pid_t) l->req->pid, &t);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  r->sec = now.tv_sec;
  r->nsec = now.tv_nsec;
  r->tid = t.tid;
  r->tgid = t.tgid;
  r->nspid = t.nspid;
  r->nr = d->nr;
  r->arch = d->arch;
  r->eno = eno;
  r->action = (uint8_t) act;
  r->has_rule = rule >= 0;
  r->source = rule >= 0 ? (uint64_t) sc->rules[rule].source : 0;
  _Static_assert (sizeof r->comm == sizeof t.comm, "comm copied whole");
  memcpy (r->comm, t.comm, sizeof r->comm);
  /* Past the log's budget the call is counted, not taken down: no string
   * is read from the caller, no record made; the aggregate says how many. */
  bool counted = s->budget && !budget_take (s->budget, spool_log_size (s->spool));
  if (counted)
    {
      struct agg_key k = { .nr = r->nr, .arch = r->arch, .eno = r->eno, .action = r->action,
                           .has_rule = (uint8_t) ((r->flags & CALL_UNATTRIBUTED) ? 2 : r->has_rule), .source = r->source };
      _Static_assert (sizeof k.comm <= sizeof r->comm, "comm fits");
      memcpy (k.comm, r->comm, sizeof k.comm - 1);
      budget_count (s->budget, &k, &now);
      paths = 0;
    }
  size_t extra = paths ? capture_strings (l, r, paths, t.tid) : 0;
  /* The signal that enforces a trap or a kill, decided before the record
   * is made so the record says what the caller got. */
  int sig = 0;
  if (act == SC_TRAP || act == SC_KILL_THREAD || act == SC_KILL_PROCESS)
    {
      struct sigsys_disp disp = sigsys_disposition (t.tid);
      /* A handler gets its SIGSYS from a trap; otherwise the kernel's trap
       * and kill are fatal. */
      sig = (act == SC_TRAP && disp.caught && !disp.blocked_or_ignored) ? SIGSYS : fatal_signal_for (&t, disp);
      r->sig = sig;
    }

  /* Strings were read from the caller's memory: only trust the record if
   * the notification (so the caller) is still the same. */
  if (paths && ioctl (lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &l->req->id) < 0)
    return 0;
  /* Safe in the spool before the answer. Without one (it could not be
   * mapped) the record is formatted and written here; if the log cannot
   * take it, the call is still answered (a full disk must not hang the
   * container), but the loss is counted and written down as soon as the
   * log takes writes again: never silently. */
  if (counted)
    ;
  else if (s->spool == NULL || spool_put (s->spool, SPOOL_CALL, r, sizeof *r + extra) < 0)
    {
      struct jbuf *j = &l->rec;
      j->len = 0;
      format_call (j, r, l->cap + sizeof *r, extra, s->a->id, s->a->policy, l->names);
      if (audit_write (s->a->log_fd, j) < 0)
        __atomic_add_fetch (&s->unwritten, 1, __ATOMIC_RELAXED);
      else if (__atomic_load_n (&s->unwritten, __ATOMIC_RELAXED))
        {
          unsigned long long lost = __atomic_exchange_n (&s->unwritten, 0, __ATOMIC_RELAXED);
          if (lost)
            {
              cleanup_free char *w = xasprintf ("%llu records could not be written to the audit log before this one",
                                                lost);
              notice_lost (s, w, (long long) lost);
            }
        }
    }

  /* Its exit (an error the filter chose) is not the kernel's refusal. */
  if (s->faults && act != SC_ALLOW && act != SC_LOG)
    faults_note_denied (s->faults, t.tid, (long) d->nr);
  memset (l->resp, 0, s->resp_size);
  l->resp->id = l->req->id;
  switch (act)
    {
    case SC_ALLOW:
    case SC_LOG:
      l->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      break;
    case SC_ERRNO:
      l->resp->error = -(int32_t) eno;
      break;
    case SC_TRAP:
    case SC_KILL_THREAD:
    case SC_KILL_PROCESS:
      /* The caller still waits in the call (so its tid is not free to be
       * reused by a process of the host) or the signal goes nowhere. */
      if (ioctl (lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &l->req->id) == 0)
        syscall (SYS_tgkill, t.tgid, t.tid, sig);
      l->resp->error = -ENOSYS;
      break;
    case SC_TRACE:
    case SC_NOTIFY:
      l->resp->error = -ENOSYS;   /* as the kernel answers with no tracer */
      break;
    }
  (void) ioctl (lfd, SECCOMP_IOCTL_NOTIF_SEND, l->resp);
  return 0;
}

static void
on_wake (int sig)
{
  (void) sig;   /* only to interrupt a blocked RECV (no SA_RESTART) */
}

/* The listener's thread: answer until the last filtered task is gone.
 * Kernel 6.6+ ends a blocked RECV with ENOENT when the filter loses its
 * last user (then poll says POLLHUP); older kernels leave it blocked, and
 * the main thread, which sees the hang-up in epoll, interrupts it with
 * SIGUSR1 (listener_stop). */
static void listener_stop_threads (struct sup *s, int fd);

/* A standby starts answering too. */
static void
standby_wake (struct listener *l)
{
  __atomic_store_n (&l->go, 1, __ATOMIC_RELEASE);
  syscall (SYS_futex, &l->go, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *
listener_main (void *arg)
{
  struct listener *l = arg;
  sigset_t m;
  sigemptyset (&m);
  sigaddset (&m, SIGUSR1);
  pthread_sigmask (SIG_UNBLOCK, &m, NULL);
  /* Into the container's cpu cgroup, for good: what this thread does, it
   * does for the container, whose cpu limits must count it (a container
   * capped at 10% of a CPU made the supervisor spend 19% for its storm of
   * denials when several of its threads called and this one answered from
   * outside). Calls wake it from inside its group, too, the faster way:
   * CFS takes the caller's group off the run queue when it blocks in the
   * call and puts it back for the answer, each time, unless the thread
   * answering is in the same group (same-run bare round trips were 210k/s
   * in one group, 170k with the caller in a cgroup of its own). On pure
   * v2 it cannot join; the supervisor keeps within the container's
   * cpu.max instead (sup_cpu_charge). (Here, not as the supervisor starts:
   * create waits for that.) */
  sup_cpu_join (&l->s->cpu);
  while (!__atomic_load_n (&l->stop, __ATOMIC_ACQUIRE))
    {
      /* A standby: until woken, or interrupted by listener_stop (EINTR). */
      if (!__atomic_load_n (&l->go, __ATOMIC_ACQUIRE))
        {
          syscall (SYS_futex, &l->go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
          continue;
        }
      if (handle_one (l) == 0)
        {
          if ((++l->charged & 15) == 0 || sup_cpu_held (&l->s->cpu))
            sup_cpu_charge (&l->s->cpu);
          /* Several threads calling (a standby answers too): let the
           * caller just answered run before taking the next call. The
           * kernel woke it on this CPU; left waiting while this thread
           * answered on, 8 calling threads made 129k denials/s with the
           * other CPU idle a fifth of the time, and 161k yielding here.
           * (A lone caller runs anyway once this thread waits in RECV:
           * yielding there cost 6%.) */
          if (!l->first || (l->standby && __atomic_load_n (&l->standby->go, __ATOMIC_ACQUIRE)))
            sched_yield ();
          struct pollfd pf = { .fd = l->fd, .events = POLLIN };
          /* A woken standby answers while calls are waiting, then waits
           * again. Left in RECV, it took every other call from a lone
           * calling thread, and each such call cost a third context switch
           * (the thread that had just answered, woken for nothing, or the
           * one that would answer, run first): the scheduler trace showed
           * answer -> other thread -> caller -> ... for every call. */
          if (!l->first && !(poll (&pf, 1, 0) > 0 && (pf.revents & POLLIN)))
            {
              __atomic_store_n (&l->go, 0, __ATOMIC_RELEASE);
              continue;
            }
          /* Another call already waiting when this one is answered, from
           * more than one calling thread: more callers than threads
           * answering. A lone caller's calls come one at a time, but its
           * next one is often waiting by the time of the poll (it runs on
           * the other CPU): a standby woken for it only takes turns with
           * this thread (139k denials/s answering at once with one
           * thread, 120k with a standby woken that way). Looked at every
           * 16th answer, and only while a standby is left to wake. */
          pid_t caller = (pid_t) l->req->pid;
          if (caller != l->last_caller)
            {
              l->callers_differ = l->last_caller != 0;
              l->last_caller = caller;
            }
          if (l->standby && !__atomic_load_n (&l->standby->go, __ATOMIC_ACQUIRE) && (++l->answered & 15) == 0)
            {
              pf.revents = 0;
              if (l->callers_differ && poll (&pf, 1, 0) > 0 && (pf.revents & POLLIN))
                standby_wake (l->standby);
              l->callers_differ = false;
            }
          continue;
        }
      /* ENOENT: the caller died while waiting, or nobody is left; EINTR. */
      struct pollfd pf = { .fd = l->fd, .events = POLLIN };
      if (poll (&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)))
        break;
      if (errno != ENOENT && errno != EINTR)
        break;
    }
  return NULL;
}

/* How many threads may answer one listener: one per CPU lets one write a
 * record while another takes the next call (8 calling threads: 92k
 * denials/s with one answering thread, 120k with two, on 2 vCPUs); more
 * than CPUs only add wake-ups. All but the first wait as standbys. */
static int
answer_threads (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 4 ? 4 : (int) n;
}

static struct listener *
listener_new (struct sup *s, int fd)
{
  /* Its own zero pages, not the heap: the task and name caches are 120 KiB
   * of which a container touches a few entries, and a calloc'd chunk is
   * written whole (every page counted in the supervisor's RSS, for each of
   * the listener's threads); an anonymous mapping faults in only the pages
   * used. */
  struct listener *l = mmap (NULL, sizeof *l, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (l == MAP_FAILED)
    abort ();   /* as xmalloc0 does */
  l->s = s;
  l->fd = fd;
  l->req = xmalloc0 (s->req_size);
  l->resp = xmalloc0 (s->resp_size);
  return l;
}

static void
listener_free (struct listener *l)
{
  names_free (l->names);
  jb_free (&l->rec);
  free (l->req);
  free (l->resp);
  munmap (l, sizeof *l);
}

static int
listener_run (struct sup *s, struct listener *l)
{
  /* A small stack: the thread's buffers are in struct listener. */
  if (thread_start_small (&l->thread, listener_main, l) != 0)
    return -1;
  l->next = s->listeners;
  s->listeners = l;
  return 0;
}

/* At least one thread must answer, or the listener is refused. The
 * standbys start first, the last first, so each thread's standby is
 * running before the thread that may wake it. */
static int
listener_start (struct sup *s, int fd)
{
  struct listener *standby = NULL;
  for (int i = answer_threads () - 1; i >= 1; i--)
    {
      struct listener *l = listener_new (s, fd);
      l->standby = standby;
      if (listener_run (s, l) < 0)
        {
          listener_free (l);
          break;
        }
      standby = l;
    }
  struct listener *first = listener_new (s, fd);
  first->go = 1;
  first->first = true;
  first->standby = standby;
  if (listener_run (s, first) < 0)
    {
      listener_free (first);
      if (standby)
        listener_stop_threads (s, fd);
      return -1;
    }
  return 0;
}

/* End every thread of listener FD (interrupting a RECV that an older
 * kernel leaves blocked, or a standby's wait). */
static void
listener_stop_threads (struct sup *s, int fd)
{
  for (struct listener *l = s->listeners; l; l = l->next)
    if (l->fd == fd)
      __atomic_store_n (&l->stop, 1, __ATOMIC_RELEASE);   /* ask every loop to stop */
  struct listener **pp = &s->listeners;
  while (*pp)
    {
      struct listener *l = *pp;
      if (l->fd != fd)
        {
          pp = &l->next;
          continue;
        }
      /* Interrupt its RECV until it has returned: a signal may land just
       * before the RECV, so send it again each round. */
      for (;;)
        {
          struct timespec until;
          clock_gettime (CLOCK_REALTIME, &until);
          until.tv_nsec += 10 * 1000 * 1000;
          if (until.tv_nsec >= 1000000000L)
            {
              until.tv_sec++;
              until.tv_nsec -= 1000000000L;
            }
          pthread_kill (l->thread, SIGUSR1);
          if (pthread_timedjoin_np (l->thread, NULL, &until) == 0)
            break;
        }
      *pp = l->next;
      listener_free (l);
    }
}

/* The listener hung up: end its threads, then close it. */
static void
listener_stop (struct sup *s, int fd)
{
  listener_stop_threads (s, fd);
  close (fd);
}


/* Deliver an agent's listener to listenerPath: one connection, one message
 * (the container process state, the fd), then close. */
static int
forward_to_agent (const char *path, int fd, const char *payload, size_t len, char *why, size_t whyn)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    {
      snprintf (why, whyn, "listenerPath `%s`: too long for a unix socket", path);
      return -1;
    }
  strcpy (sa.sun_path, path);
  int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      snprintf (why, whyn, "listenerPath `%s`: connect: %s", path, strerror (errno));
      if (s >= 0)
        close (s);
      return -1;
    }
  char cbuf[CMSG_SPACE (sizeof (int))];
  memset (cbuf, 0, sizeof cbuf);
  struct iovec iov = { (void *) payload, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof (int));
  ssize_t n = sendmsg (s, &m, MSG_NOSIGNAL);
  int e = errno;
  close (s);
  if (n != (ssize_t) len)
    {
      snprintf (why, whyn, "listenerPath `%s`: send: %s", path, n < 0 ? strerror (e) : "short write");
      return -1;
    }
  return 0;
}

static void conn_drop (struct sup *s, int fd);

static void
receive_listeners (struct sup *s, int from)
{
  static char data[65536];
  char cbuf[CMSG_SPACE (sizeof (int) * 4)];
  struct iovec iov = { data, sizeof data - 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  ssize_t n = recvmsg (from, &m, MSG_CMSG_CLOEXEC);
  bool joined = from != s->a->ctl_fd;   /* a `moat exec` on sup.sock */
  if (n <= 0)
    {
      if (n == 0 || (errno != EINTR && errno != EAGAIN))
        {
          epoll_ctl (s->epfd, EPOLL_CTL_DEL, from, NULL);
          if (joined)
            conn_drop (s, from);
          else
            s->ctl_open = false;
        }
      return;
    }
  data[n] = '\0';
  /* "X": a moat about to enter a container asks for the sealed copy of
   * moat this supervisor runs from, so that one copy serves every
   * container (selfexe.c checks who answers and what it got). */
  if (joined && data[0] == 'X' && n == 1)
    {
      int self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
      if (self < 0 || send_with_fd (from, "X", 1, self) < 0)
        (void) send (from, "E", 1, MSG_NOSIGNAL);
      if (self >= 0)
        close (self);
      return;
    }
  /* "F": `moat audit` wants every record made so far in the log. */
  if (joined && data[0] == 'F' && n == 1)
    {
      if (s->spool)
        spool_flush (s->spool);
      (void) send (from, "F", 1, MSG_NOSIGNAL);
      return;
    }
  /* "P<pid>" or "L<pid>": a process that joined from outside; it is the
   * container's for the fault wall from now on. The sender waits for the
   * answer, so the process cannot fork before it is tracked. */
  if (joined && (data[0] == 'P' || data[0] == 'L') && n > 1)
    {
      long pid = strtol (data + 1, NULL, 10);
      if (pid > 0 && s->faults)
        {
          pthread_mutex_lock (&s->lock);
          faults_track (s->faults, (pid_t) pid);
          pthread_mutex_unlock (&s->lock);
        }
    }
  bool got_fd = false;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&m); c; c = CMSG_NXTHDR (&m, c))
    {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      size_t nfd = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      int *fds = (int *) CMSG_DATA (c);
      if (data[0] == 'A')
        {
          /* An agent's listener: not ours to serve, only to deliver. */
          char why[512] = "";
          int r = s->a->agent_path && nfd == 1
            ? forward_to_agent (s->a->agent_path, fds[0], data + 1, (size_t) n - 1, why, sizeof why)
            : (snprintf (why, sizeof why, "no listenerPath to deliver the agent's listener to"), -1);
          for (size_t i = 0; i < nfd; i++)
            close (fds[i]);
          char reply[600];
          int rl = snprintf (reply, sizeof reply, "%c%s", r == 0 ? 'K' : 'E', why);
          (void) send (from, reply, (size_t) rl, MSG_NOSIGNAL);
          continue;
        }
      for (size_t i = 0; i < nfd; i++)
        {
          /* Kernel 6.6+: wake the caller on the same CPU we answer from. */
          (void) ioctl (fds[i], SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
          /* The thread answers; epoll here only watches for the hang-up
           * (no EPOLLIN: a notification must not wake this thread). */
          struct epoll_event ev = { .events = 0, .data.fd = fds[i] };
          if (epoll_ctl (s->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            close (fds[i]);
          else if (listener_start (s, fds[i]) < 0)
            {
              /* Fail closed: without an answerer the filtered calls get ENOSYS. */
              epoll_ctl (s->epfd, EPOLL_CTL_DEL, fds[i], NULL);
              close (fds[i]);
              notice (s, "seccomp: no thread to answer a listener; its filtered calls fail with ENOSYS and are not recorded");
            }
          else
            {
              s->nlisteners++;
              got_fd = true;
            }
        }
    }
  if (joined && data[0] != 'A')   /* an agent's delivery has answered already */
    {
      char reply = (data[0] == 'L' && !got_fd) ? 'E' : 'K';
      (void) send (from, &reply, 1, MSG_NOSIGNAL);
    }
}

/* sup.sock: each `moat exec` connects, sends its process (and listener),
 * and waits for the answer. */
static void
conn_accept (struct sup *s)
{
  int c = accept4 (s->a->accept_fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    return;
  if (s->nconns == ARRAY_SIZE (s->conns))
    {
      close (c);   /* too many at once: that exec fails and says so */
      return;
    }
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
  if (epoll_ctl (s->epfd, EPOLL_CTL_ADD, c, &ev) < 0)
    {
      close (c);
      return;
    }
  s->conns[s->nconns++] = c;
}

static bool
is_conn (const struct sup *s, int fd)
{
  for (size_t i = 0; i < s->nconns; i++)
    if (s->conns[i] == fd)
      return true;
  return false;
}

static void
conn_drop (struct sup *s, int fd)
{
  for (size_t i = 0; i < s->nconns; i++)
    if (s->conns[i] == fd)
      {
        s->conns[i] = s->conns[--s->nconns];
        close (fd);
        return;
      }
}

/* One OOM kill: the victim, when the connector has told of its SIGKILL
 * (or the kernel log named it: PID > 0). SOURCE: where the count came from
 * when not the cgroup's memory.events. */
static void
record_oom (struct sup *s, const char *ml, pid_t pid, pid_t nspid, const char *victim_comm, const char *source)
{
  struct jbuf *j = &s->rec;
  char tb[48];
  char comm[32];
  snprintf (comm, sizeof comm, "%s", victim_comm ? victim_comm : "");
  /* The victim's SIGKILL exit may still be on its way from the connector. */
  for (int tries = 0; pid <= 0 && s->faults && tries < 50; tries++)
    {
      faults_on_connector (s->faults);
      if (faults_last_kill (s->faults, 1000, &pid, &nspid, comm, sizeof comm))
        break;
      struct timespec ts = { 0, 2 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  audit_time (tb, sizeof tb);
  jb_open (j);
  jb_str (j, "time", tb);
  jb_str (j, "container", s->a->id);
  jb_str (j, "wall", "cgroup");
  jb_str (j, "kind", "oom");
  jb_str (j, "limit", ml);
  if (pid > 0)
    {
      jb_int (j, "pid", pid);
      if (nspid > 0)
        jb_int (j, "nspid", nspid);
      if (*comm)
        jb_str (j, "comm", comm);
      else
        jb_raw (j, "comm", "null");   /* exec'd and gone before it could be read */
    }
  jb_str (j, "signal", "SIGKILL");
  jb_str (j, "action", "killed by the OOM killer");
  if (source)
    jb_str (j, "source", source);
  jb_close (j);
  s->ooms_recorded++;
  if (sup_log (s, j) < 0)
    s->unwritten++;
}

/* systemd removes a scope's cgroup the moment its last process is gone,
 * which can be before this supervisor reads memory.events: the OOM kill's
 * notification is held back up to 10 ms by the kernel's rate limit when
 * the memory.max events came just before, and the victim's exit is quick.
 * A cgroup found gone before a read after its last exit: the kernel log's
 * own OOM lines for the container's processes count what memory.events
 * could not tell any more. */
static void
ooms_after_gone (struct sup *s, const char *ml)
{
  pid_t pid, nspid;
  char comm[32];
  unsigned long k = s->faults ? faults_kmsg_ooms (s->faults, 0, &pid, &nspid, comm, sizeof comm) : (unsigned long) -1;
  if (k == (unsigned long) -1)
    {
      cleanup_free char *w = xasprintf ("cgroup: %s was removed (by systemd, as its scope emptied) before its "
                                        "last OOM count was read, and there is no kernel log to count from: "
                                        "an OOM kill of the last moments may be missing", s->a->cgroup_path);
      notice (s, w);
      return;
    }
  for (unsigned long i = s->ooms_recorded; i < k; i++)
    {
      faults_kmsg_ooms (s->faults, i, &pid, &nspid, comm, sizeof comm);
      record_oom (s, ml, pid > 0 ? pid : -1, nspid, comm,
                  "kmsg: the cgroup was removed before its memory.events was read");
    }
}

/* A limit of the cgroup wall was hit: records with wall "cgroup". */
static void
on_cgroup (struct sup *s, struct cg_watch *w)
{
  unsigned long ooms = 0, refused = 0;
  char ml[96], pl[96];
  cgroup_watch_read (w, &ooms, &refused, ml, sizeof ml, pl, sizeof pl);
  struct jbuf *j = &s->rec;
  char tb[48];
  for (unsigned long i = 0; i < ooms; i++)
    record_oom (s, ml, 0, -1, NULL, NULL);
  if (cgroup_watch_gone (w))
    {
      if (!s->cg_gone_seen && !s->cg_final_read)
        ooms_after_gone (s, ml);
      s->cg_gone_seen = true;
    }
  else if (s->faults && faults_emptied (s->faults))
    s->cg_final_read = true;   /* read after the last exit: the counts are final */
  if (refused)
    {
      audit_time (tb, sizeof tb);
      jb_open (j);
      jb_str (j, "time", tb);
      jb_str (j, "container", s->a->id);
      jb_str (j, "wall", "cgroup");
      jb_str (j, "kind", "pids");
      jb_str (j, "limit", pl);
      jb_int (j, "refused", (long long) refused);
      jb_str (j, "action", "fork/clone failed with EAGAIN");
      jb_close (j);
      if (sup_log (s, j) < 0)
        s->unwritten++;
    }
}

/* One kind of call the budget counted, as a record. */
static void
format_aggregate (struct jbuf *j, const struct agg_entry *e, const char *id, const char *policy,
                  struct name_cache *names, const char *why)
{
  char t1[48], t2[48];
  audit_time_at (&e->first, t1, sizeof t1);
  audit_time_at (&e->last, t2, sizeof t2);
  jb_open_more (j);
  jb_str (j, "time", t2);
  jb_str (j, "container", id);
  int key;
  const char *spec;
  uint8_t paths;
  if (e->key.kind == AGG_REFUSED)
    {
      /* Calls the kernel itself refused (--audit-kernel), past the budget:
       * counted without the wall each was laid at. */
      const char *name = syscall_name (names, e->key.arch, e->key.nr, &key, &spec, &paths);
      const char *en = strerrorname_np ((int) e->key.eno);
      jb_str (j, "wall", "kernel");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "what", "refused");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "syscall", name ? name : "?");
      jb_int (j, "nr", e->key.nr);
      jb_str (j, "errno", en ? en : "?");
    }
  else if (e->key.kind != AGG_CALL)
    {
      /* Deaths by a fault signal (or faults lived through) past the budget. */
      int sig = e->key.nr;
      char sb[16];
      snprintf (sb, sizeof sb, "SIG%s", sig > 0 && sigabbrev_np (sig) ? sigabbrev_np (sig) : "?");
      jb_str (j, "wall", sig == SIGSEGV || sig == SIGBUS ? "mmu" : sig == SIGILL || sig == SIGFPE ? "cpu"
                         : sig == SIGSYS ? "seccomp" : "process");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "what", e->key.kind == AGG_DEATH ? "signal" : "fault");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "signal", sb);
    }
  else if (e->key.nr == -1 && strcmp (e->key.comm, "*") == 0)
    {
      /* The kinds the table had no room for, all together. */
      jb_str (j, "wall", "seccomp");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "comm", "*");
      jb_str (j, "syscall", "*");
      jb_str (j, "action", "*");
    }
  else
    {
      const char *name = syscall_name (names, e->key.arch, e->key.nr, &key, &spec, &paths);
      jb_str (j, "wall", "seccomp");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "syscall", name ? name : "?");
      jb_int (j, "nr", e->key.nr);
      jb_str (j, "arch", arch_name (seccomp_call_abi (e->key.arch, e->key.nr)));
      enum sc_action act = (enum sc_action) e->key.action;
      jb_str (j, "action", sc_action_name (act));
      if (act == SC_ERRNO)
        {
          const char *en = strerrorname_np ((int) e->key.eno);
          if (en)
            jb_str (j, "errno", en);
          else
            jb_int (j, "errno", e->key.eno);
        }
      char rb[48];
      jb_str (j, "rule", e->key.has_rule == 2 ? "unknown"
                         : e->key.has_rule ? sc_source_label ((size_t) e->key.source, rb, sizeof rb) : "default");
    }
  jb_int (j, "count", (long long) e->count);
  jb_str (j, "first", t1);
  jb_str (j, "last", t2);
  jb_str (j, "why", why);
  if (e->key.kind == AGG_CALL)
    jb_str (j, "policy", policy);
  jb_close (j);
}

/* Write what the budget counted since the last time, a record per kind;
 * an aggregate the log refuses is counted as the calls it stood for. */
static void
flush_aggregates (struct sup *s)
{
  if (s->budget == NULL)
    return;
  struct agg_entry *v;
  size_t n;
  budget_drain (s->budget, &v, &n);
  if (n && s->agg_names == NULL)
    s->agg_names = supervisor_names_new ();
  struct jbuf j = { 0 };
  for (size_t i = 0; i < n; i++)
    {
      j.len = 0;
      format_aggregate (&j, &v[i], s->a->id, s->a->policy, s->agg_names, budget_why (s->budget));
      if (sup_log (s, &j) < 0)
        __atomic_add_fetch (&s->unwritten, v[i].count, __ATOMIC_RELAXED);
    }
  jb_free (&j);
  free (v);
}

static int
supervisor_main (const struct supervisor_args *a, int ready_fd)
{
  struct sup *s = xmalloc0 (sizeof *s);
  s->a = a;
  if (a->budget.max_size || a->budget.rate)
    s->budget = budget_new (&a->budget);
  if (a->spool_fd >= 0)
    {
      /* Its thread's name cache: mapped, as the listeners' are (pages
       * touched only for the calls seen). */
      moat_error *e = NULL;
      s->spool_names = mmap (NULL, 3 * sizeof *s->spool_names, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                             -1, 0);
      if (s->spool_names == MAP_FAILED
          || spool_start (a->spool_fd, a->log_fd, a->spool_path, format_rec, s->spool_names, &s->spool, &e) < 0)
        {
          /* Records are then written as they come: slower, as safe. */
          if (s->spool_names == MAP_FAILED)
            s->spool_names = NULL;
          moat_error_free (&e);
        }
    }
  struct faults *f = NULL;
  if (a->signals)
    {
      moat_error *e = NULL;
      if (faults_open (a->init_pid, a->kmsg, &f, &e) < 0)
        {
          cleanup_free char *m = moat_error_string (e);
          cleanup_free char *w = xasprintf ("fault-signal auditing is off: %s", m);
          notice (s, w);
          moat_error_free (&e);
        }
      else
        {
          faults_set_output (f, a->id, faults_out, s);
          if (s->budget)
            faults_set_budget (f, s->budget, sup_log_size, s);
          if (a->walls)
            faults_set_walls (f, a->walls);
          /* Loaded before create returns: no fault can come before it. */
          if ((a->fault_bpf || a->audit_kernel) && faults_use_bpf (f, a->audit_kernel, &e) < 0)
            {
              cleanup_free char *m = moat_error_string (e);
              cleanup_free char *w = xasprintf ("%s; fault details come from the kernel log", m);
              notice (s, w);
              moat_error_free (&e);
            }
        }
    }
  s->faults = f;
  if (a->notice)
    notice (s, a->notice);
  struct cg_watch *cw = NULL;
  if (a->cgroup_path)
    {
      moat_error *e = NULL;
      if (cgroup_watch_open (a->cgroup_path, &cw, &e) < 0)
        moat_error_free (&e);
    }
  if (a->agent_path)
    {
      cleanup_free char *w = xasprintf ("seccomp: the notification listener belongs to the external agent at %s; "
                                        "the other seccomp rules are enforced by the kernel alone and not recorded",
                                        a->agent_path);
      notice (s, w);
    }
  /* Now every fork of the container will be seen: let create return. */
  pid_t me = getpid ();
  (void) write_all (ready_fd, &me, sizeof me);
  close (ready_fd);
  struct seccomp_notif_sizes sizes = { 0 };
  if (syscall (SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
    return 1;
  s->req_size = sizes.seccomp_notif > sizeof (struct seccomp_notif) ? sizes.seccomp_notif
                                                                     : sizeof (struct seccomp_notif);
  s->resp_size = sizes.seccomp_notif_resp > sizeof (struct seccomp_notif_resp) ? sizes.seccomp_notif_resp
                                                                               : sizeof (struct seccomp_notif_resp);
  pthread_mutex_init (&s->lock, NULL);
  sup_cpu_init (&s->cpu, a->cpu_tasks, a->cpu_max);
  /* SIGUSR1 interrupts a listener thread's RECV (no SA_RESTART). */
  struct sigaction sa = { .sa_handler = on_wake };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGUSR1, &sa, NULL);
  s->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (s->epfd < 0)
    return 1;
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = a->ctl_fd };
  if (a->ctl_fd >= 0)
    {
      if (epoll_ctl (s->epfd, EPOLL_CTL_ADD, a->ctl_fd, &ev) < 0)
        return 1;
      s->ctl_open = true;
    }
  int cn = f ? faults_connector_fd (f) : -1, km = f ? faults_kmsg_fd (f) : -1, bp = f ? faults_bpf_fd (f) : -1;
  ev.data.fd = bp;
  if (bp >= 0)
    epoll_ctl (s->epfd, EPOLL_CTL_ADD, bp, &ev);
  ev.data.fd = cn;
  if (cn >= 0)
    epoll_ctl (s->epfd, EPOLL_CTL_ADD, cn, &ev);
  ev.data.fd = km;
  if (km >= 0)
    epoll_ctl (s->epfd, EPOLL_CTL_ADD, km, &ev);
  int cwfd[4] = { -1, -1, -1, -1 };
  if (cw)
    cgroup_watch_fds (cw, cwfd);
  for (int i = 0; i < 4; i++)
    if (cwfd[i] >= 0)
      {
        /* the events files: POLLPRI when changed (they are always readable) */
        struct epoll_event cev = { .events = i == 0 ? EPOLLIN : EPOLLPRI, .data.fd = cwfd[i] };
        epoll_ctl (s->epfd, EPOLL_CTL_ADD, cwfd[i], &cev);
      }
  if (a->accept_fd >= 0)
    {
      ev.data.fd = a->accept_fd;
      epoll_ctl (s->epfd, EPOLL_CTL_ADD, a->accept_fd, &ev);
    }
  /* Without the proc connector, the init's pidfd tells when it is over. */
  int pidfd = -1;
  bool init_alive = false, cg_final = false, cg_unwatched = false;
  if (f == NULL)
    {
      pidfd = (int) syscall (SYS_pidfd_open, a->init_pid, 0);
      ev.data.fd = pidfd;
      init_alive = pidfd >= 0 && epoll_ctl (s->epfd, EPOLL_CTL_ADD, pidfd, &ev) == 0;
    }

  /* Runs until every listener has hung up (the last filtered task is gone),
   * no more can come (the control socket is closed), and the container has
   * no process left. */
  for (;;)
    {
      pthread_mutex_lock (&s->lock);
      bool more = s->ctl_open || s->nlisteners > 0 || (f && faults_alive (f)) || init_alive;
      int timeout = f ? faults_next_timeout (f) : -1;
      pthread_mutex_unlock (&s->lock);
      /* What the budget counted is written once a second (a minute past
       * the log's size); the answering threads count without waking this
       * one, which looks at least once a second. */
      if (s->budget)
        {
          int bt = budget_timeout (s->budget, spool_log_size (s->spool));
          if (bt == 0)
            {
              flush_aggregates (s);
              bt = 1000;
            }
          if (bt < 0 || bt > 1000)
            bt = 1000;
          if (timeout < 0 || bt < timeout)
            timeout = bt;
        }
      if (!more)
        break;
      struct epoll_event evs[16];
      int n = epoll_wait (s->epfd, evs, 16, timeout);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return 1;
        }
      /* The fault tracker is shared with the listener threads. */
      pthread_mutex_lock (&s->lock);
      if (f)
        faults_tick (f, false);
      /* Process events first: an exec queued there happened before any
       * notification of this batch from the new program, so its comm is
       * fresh when that notification is recorded. */
      for (int i = 0; i < n; i++)
        if (evs[i].data.fd == cn)
          faults_on_connector (f);
      /* The last process is gone: its cgroup's counts are final now, and
       * under systemd the cgroup itself is about to go. Read them first. */
      if (cw && f && !cg_final && faults_emptied (f))
        {
          cg_final = true;
          on_cgroup (s, cw);
        }
      for (int i = 0; i < n; i++)
        {
          int fd = evs[i].data.fd;
          if (fd == km)
            faults_on_kmsg (f);
          else if (fd == bp)
            faults_on_bpf (f);
          else if (cw && (fd == cwfd[0] || fd == cwfd[1] || fd == cwfd[2]))
            on_cgroup (s, cw);
        }
      /* A removed cgroup's files poll as always ready (EPOLLERR): stop
       * looking at them, or this loop would spin until the end. */
      if (cw && cgroup_watch_gone (cw) && !cg_unwatched)
        {
          cg_unwatched = true;
          for (int i = 0; i < 3; i++)
            if (cwfd[i] >= 0)
              epoll_ctl (s->epfd, EPOLL_CTL_DEL, cwfd[i], NULL);
        }
      pthread_mutex_unlock (&s->lock);
      for (int i = 0; i < n; i++)
        {
          int fd = evs[i].data.fd;
          if (fd == cn || fd == km || fd == bp || (cw && (fd == cwfd[0] || fd == cwfd[1] || fd == cwfd[2])))
            continue;
          else if (fd == pidfd)
            {
              epoll_ctl (s->epfd, EPOLL_CTL_DEL, pidfd, NULL);
              init_alive = false;
            }
          else if (fd == a->ctl_fd || is_conn (s, fd))
            receive_listeners (s, fd);
          else if (fd == a->accept_fd)
            conn_accept (s);
          else if (evs[i].events & (EPOLLHUP | EPOLLERR))
            {
              /* Joins the thread: never while holding the lock it may wait on. */
              epoll_ctl (s->epfd, EPOLL_CTL_DEL, fd, NULL);
              listener_stop (s, fd);
              s->nlisteners--;
            }
        }
    }
  if (cw)
    {
      on_cgroup (s, cw);   /* what the last moments hit */
      cgroup_watch_close (cw);
    }
  if (f)
    {
      faults_tick (f, true);
      s->unwritten += faults_take_unwritten (f);
      faults_close (f);
    }
  /* What the budget counted, then every record is in: the spool goes (its
   * thread writes what it holds). */
  flush_aggregates (s);
  if (s->spool)
    {
      s->unwritten += spool_finish (s->spool);
      s->spool = NULL;
    }
  /* Lost records are never silent: say so once more before leaving. */
  if (s->unwritten)
    {
      cleanup_free char *w = xasprintf ("%llu records could not be written to the audit log", s->unwritten);
      notice_lost (s, w, (long long) s->unwritten);
    }
  return 0;
}

/* The supervisor's own copy of its arguments, in mappings of its own: the
 * caller's heap is freed once they are taken (supervisor_args.drop), and
 * a copy made with malloc would land in that heap's holes and pin its
 * pages. Never freed: it lives as long as the supervisor. */
struct arena
{
  char *p;
  size_t used, cap;
};

static void *
ar_alloc (struct arena *ar, size_t n)
{
  n = (n + 15) & ~(size_t) 15;
  if (ar->p == NULL || ar->cap - ar->used < n)
    {
      size_t cap = n > 65536 ? n : 65536;
      void *m = mmap (NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED)
        abort ();   /* as xmalloc0 does */
      ar->p = m;
      ar->used = 0;
      ar->cap = cap;
    }
  void *r = ar->p + ar->used;
  ar->used += n;
  return r;
}

static void *
ar_dup (struct arena *ar, const void *src, size_t n)
{
  return src && n ? memcpy (ar_alloc (ar, n), src, n) : NULL;
}

static char *
ar_str (struct arena *ar, const char *s)
{
  return s ? ar_dup (ar, s, strlen (s) + 1) : NULL;
}

static char **
ar_strv (struct arena *ar, char *const *v)
{
  if (v == NULL)
    return NULL;
  size_t n = 0;
  while (v[n])
    n++;
  char **r = ar_alloc (ar, (n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = ar_str (ar, v[i]);
  r[n] = NULL;
  return r;
}

static struct supervisor_args *
args_own (const struct supervisor_args *a)
{
  struct arena ar = { 0 };
  struct supervisor_args *o = ar_dup (&ar, a, sizeof *a);
  o->id = ar_str (&ar, a->id);
  o->policy = ar_str (&ar, a->policy);
  o->kmsg = ar_str (&ar, a->kmsg);
  o->notice = ar_str (&ar, a->notice);
  o->agent_path = ar_str (&ar, a->agent_path);
  o->cgroup_path = ar_str (&ar, a->cgroup_path);
  o->cpu_tasks = ar_str (&ar, a->cpu_tasks);
  o->cpu_max = ar_str (&ar, a->cpu_max);
  o->spool_path = ar_str (&ar, a->spool_path);
  o->drop = NULL;
  o->drop_arg = NULL;
  if (a->sc)
    {
      const struct moat_seccomp *sc = a->sc;
      struct moat_seccomp *c = ar_dup (&ar, sc, sizeof *sc);
      c->arches = ar_dup (&ar, sc->arches, sc->n_arches * sizeof *sc->arches);
      c->listener_path = ar_str (&ar, sc->listener_path);
      c->listener_metadata = ar_str (&ar, sc->listener_metadata);
      c->rules = ar_dup (&ar, sc->rules, sc->n_rules * sizeof *sc->rules);
      for (size_t i = 0; i < sc->n_rules; i++)
        {
          c->rules[i].name = ar_str (&ar, sc->rules[i].name);
          c->rules[i].args = ar_dup (&ar, sc->rules[i].args, sc->rules[i].n_args * sizeof *sc->rules[i].args);
        }
      /* The rules by syscall number, for seccomp_decide_abi on every call:
       * scanning all of them (350 for the default policy, 20 KB) cost more
       * than the rest of taking a call down. */
      int n_first = seccomp_index_len (c);
      if (n_first > 0)
        seccomp_index (c, ar_alloc (&ar, (size_t) n_first * sizeof *c->first_rule),
                       ar_alloc (&ar, (c->n_rules ? c->n_rules : 1) * sizeof *c->next_rule), n_first);
      o->sc = c;
      if (a->enforce && a->enforce->len)
        {
          struct sock_fprog *e = ar_dup (&ar, a->enforce, sizeof *a->enforce);
          e->filter = ar_dup (&ar, a->enforce->filter, a->enforce->len * sizeof *a->enforce->filter);
          o->enforce = e;
        }
      else
        o->enforce = NULL;
      if (a->agent_path == sc->listener_path)
        o->agent_path = c->listener_path;
    }
  if (a->walls)
    {
      const struct fault_walls *w = a->walls;
      struct fault_walls *c = ar_dup (&ar, w, sizeof *w);
      c->masked = ar_strv (&ar, w->masked);
      c->readonly = ar_strv (&ar, w->readonly);
      /* what an explanation reads of a mount: its destination and flags */
      struct moat_mount *m = ar_alloc (&ar, (w->n_mounts ? w->n_mounts : 1) * sizeof *m);
      for (size_t i = 0; i < w->n_mounts; i++)
        m[i] = (struct moat_mount) { .destination = ar_str (&ar, w->mounts[i].destination),
                                     .flags = w->mounts[i].flags };
      c->mounts = w->n_mounts ? m : NULL;
      /* NULL means no Landlock wall; a wall of no rules stays one */
      struct moat_fs_rule *r = NULL;
      if (w->fs_rules)
        {
          r = ar_alloc (&ar, (w->n_fs_rules ? w->n_fs_rules : 1) * sizeof *r);
          for (size_t i = 0; i < w->n_fs_rules; i++)
            r[i] = (struct moat_fs_rule) { .path = ar_str (&ar, w->fs_rules[i].path),
                                           .access = w->fs_rules[i].access };
        }
      c->fs_rules = r;
      o->walls = c;
    }
  return o;
}

int
supervisor_spawn (const struct supervisor_args *a, pid_t *pid, moat_error **err)
{
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return moat_error_set (err, errno, "supervisor: pipe");
  pid_t mid = fork ();
  if (mid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return moat_error_set (err, errno, "supervisor: fork");
    }
  if (mid == 0)
    {
      /* Double fork: the supervisor is re-parented away from us and from
       * whoever reaps the container init. */
      setsid ();
      pid_t sup = fork ();
      if (sup != 0)
        _exit (sup < 0 ? 1 : 0);
      close (pfd[0]);
      prctl (PR_SET_NAME, "moat-supervise", 0, 0, 0);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      /* Hold none of the caller's pipes open: an engine waits for them. */
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
          dup2 (null, 2);
        }
      /* Keep the log, the control socket and the ready pipe; nothing else. */
      int keep[] = { a->log_fd, a->spool_fd, a->ctl_fd, a->accept_fd, pfd[1] };
      close_fds_except (3, keep, ARRAY_SIZE (keep));
      signal (SIGPIPE, SIG_IGN);
      /* The supervisor lives as long as the container: give back the heap
       * pages of its caller's work (a forked heap is all private pages,
       * counted in its RSS; malloc_trim returns free ones in the middle of
       * the heap too, not only at its top). */
      const struct supervisor_args *own = args_own (a);
      if (a->drop)
        a->drop (a->drop_arg);
      malloc_trim (0);
      _exit (supervisor_main (own, pfd[1]));
    }
  close (pfd[1]);
  pid_t sup = -1;
  ssize_t r = read_all (pfd[0], &sup, sizeof sup);
  close (pfd[0]);
  while (waitpid (mid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (r != sizeof sup || sup <= 0)
    return moat_error_set (err, 0, "supervisor: could not start");
  *pid = sup;
  return 0;
}

static int
send_fd (int ctl_fd, int listener, const char *data, size_t len, moat_error **err)
{
  if (send_with_fd (ctl_fd, data, len, listener) < 0)
    return moat_error_set (err, errno, "send the seccomp listener to the supervisor");
  return 0;
}

int
supervisor_send_listener (int ctl_fd, int listener, moat_error **err)
{
  return send_fd (ctl_fd, listener, "L", 1, err);
}

int
supervisor_join (int sock, pid_t pid, int listener, moat_error **err)
{
  char msg[32];
  int len = snprintf (msg, sizeof msg, "%c%d", listener >= 0 ? 'L' : 'P', (int) pid);
  if (listener >= 0)
    {
      if (send_fd (sock, listener, msg, (size_t) len, err) < 0)
        return -1;
    }
  else if (send (sock, msg, (size_t) len, MSG_NOSIGNAL) != len)
    return moat_error_set (err, errno, "tell the supervisor about the new process");
  char reply = 0;
  ssize_t n;
  do
    n = recv (sock, &reply, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n != 1 || reply != 'K')
    return moat_error_set (err, n < 0 ? errno : 0, "the supervisor did not take the new process");
  return 0;
}

int
supervisor_send_agent (int ctl_fd, int listener, const char *state_json, const char *metadata,
                       moat_error **err)
{
  /* The container process state of the runtime-spec: the fds by name, the
   * init's pid (as the host sees it), the metadata, the state. */
  long long pid = 0;
  const char *p = state_json ? strstr (state_json, "\"pid\":") : NULL;
  if (p)
    pid = strtoll (p + 6, NULL, 10);
  struct jbuf j = { 0 };
  jb_open (&j);
  jb_str (&j, "ociVersion", "1.2.0");
  jb_raw (&j, "fds", "[\"seccompFd\"]");
  jb_int (&j, "pid", pid);
  jb_str (&j, "metadata", metadata ? metadata : "");
  jb_raw (&j, "state", state_json ? state_json : "{}");
  jb_put_close (&j);
  cleanup_free char *msg = xasprintf ("A%s", j.buf);
  jb_free (&j);
  if (send_fd (ctl_fd, listener, msg, strlen (msg), err) < 0)
    return -1;
  char reply[600];
  ssize_t n;
  do
    n = recv (ctl_fd, reply, sizeof reply - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return moat_error_set (err, n < 0 ? errno : 0, "seccomp agent: no answer from the supervisor");
  reply[n] = '\0';
  if (reply[0] != 'K')
    return moat_error_set (err, 0, "seccomp agent: %s", reply + 1);
  return 0;
}
