/* moat — the supervisor's listener threads (supervisor-int.h): each
 * takes a call the kernel hands over down in the spool, then answers it;
 * standbys help when calls queue up. The hot path of a denial, apart from
 * the main loop that starts and stops them. */
#include "config-host.h"
#include "supervisor-int.h"
#include "audit.h"
#include "budget.h"
#include "faults.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

void
supervisor_decide (const struct moat_seccomp *sc, const struct sock_fprog *enforce, struct name_cache *names,
                   const struct seccomp_data *d, struct sup_decision *out)
{
  /* The name in the caller's ABI's own table. */
  out->abi = seccomp_call_abi (d->arch, d->nr);
  out->name = sup_syscall_name (names, d->arch, d->nr, &out->key, &out->spec, &out->paths);
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
      sup_format_call (j, r, l->cap + sizeof *r, extra, s->a->id, s->a->policy, l->names);
      if (audit_write (s->a->log_fd, j) < 0)
        __atomic_add_fetch (&s->unwritten, 1, __ATOMIC_RELAXED);
      else if (__atomic_load_n (&s->unwritten, __ATOMIC_RELAXED))
        {
          unsigned long long lost = __atomic_exchange_n (&s->unwritten, 0, __ATOMIC_RELAXED);
          if (lost)
            {
              cleanup_free char *w = xasprintf ("%llu records could not be written to the audit log before this one",
                                                lost);
              sup_notice_lost (s, w, (long long) lost);
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

void
sup_on_wake (int sig)
{
  (void) sig;   /* only to interrupt a blocked RECV (no SA_RESTART) */
}

/* The listener's thread: answer until the last filtered task is gone.
 * Kernel 6.6+ ends a blocked RECV with ENOENT when the filter loses its
 * last user (then poll says POLLHUP); older kernels leave it blocked, and
 * the main thread, which sees the hang-up in epoll, interrupts it with
 * SIGUSR1 (sup_listener_stop). */
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
      /* A standby: until woken, or interrupted by sup_listener_stop (EINTR). */
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
  sup_names_free (l->names);
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
int
sup_listener_start (struct sup *s, int fd)
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
void
sup_listener_stop (struct sup *s, int fd)
{
  listener_stop_threads (s, fd);
  close (fd);
}
