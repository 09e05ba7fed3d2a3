#include "config-host.h"
#include "supervisor.h"
#include "supervisor-int.h"
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
          else if (sup_listener_start (s, fds[i]) < 0)
            {
              /* Fail closed: without an answerer the filtered calls get ENOSYS. */
              epoll_ctl (s->epfd, EPOLL_CTL_DEL, fds[i], NULL);
              close (fds[i]);
              sup_notice (s, "seccomp: no thread to answer a listener; its filtered calls fail with ENOSYS and are not "
                          "recorded");
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

/* A record of the cgroup wall, opened in the main thread's buffer. */
static void
cgroup_record_open (struct sup *s, const char *kind, const char *limit)
{
  char tb[48];
  audit_time (tb, sizeof tb);
  jb_open (&s->rec);
  jb_str (&s->rec, "time", tb);
  jb_str (&s->rec, "container", s->a->id);
  jb_str (&s->rec, "wall", "cgroup");
  jb_str (&s->rec, "kind", kind);
  jb_str (&s->rec, "limit", limit);
}

/* One OOM kill: the victim, when the connector has told of its SIGKILL
 * (or the kernel log named it: PID > 0). SOURCE: where the count came from
 * when not the cgroup's memory.events. */
static void
record_oom (struct sup *s, const char *ml, pid_t pid, pid_t nspid, const char *victim_comm, const char *source)
{
  struct jbuf *j = &s->rec;
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
  cgroup_record_open (s, "oom", ml);
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
      sup_notice (s, w);
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
      cgroup_record_open (s, "pids", pl);
      jb_int (j, "refused", (long long) refused);
      jb_str (j, "action", "fork/clone failed with EAGAIN");
      jb_close (j);
      if (sup_log (s, j) < 0)
        s->unwritten++;
    }
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
          || spool_start (a->spool_fd, a->log_fd, a->spool_path, sup_format_rec, s->spool_names, &s->spool, &e) < 0)
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
          sup_notice (s, w);
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
              sup_notice (s, w);
              moat_error_free (&e);
            }
        }
    }
  s->faults = f;
  if (a->notice)
    sup_notice (s, a->notice);
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
      sup_notice (s, w);
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
  struct sigaction sa = { .sa_handler = sup_on_wake };
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
              sup_flush_aggregates (s);
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
      /* Handed over from its own socket to the node's ring (by the tick
       * above): the ring is what wakes it now. */
      if (f && faults_connector_fd (f) != cn)
        {
          cn = faults_connector_fd (f);
          struct epoll_event nev = { .events = EPOLLIN, .data.fd = cn };
          if (cn >= 0)
            epoll_ctl (s->epfd, EPOLL_CTL_ADD, cn, &nev);
          /* Its start-up is over (the socket's 8 KiB reads among it): the
           * stack pages its deepest moments took go back. */
          stack_trim_below_caller ();
        }
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
      /* A removed cgroup's files tell nothing more (a read answers
       * ENODEV): out of the epoll set. */
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
              sup_listener_stop (s, fd);
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
  sup_flush_aggregates (s);
  if (s->spool)
    {
      s->unwritten += spool_finish (s->spool);
      s->spool = NULL;
    }
  /* Lost records are never silent: say so once more before leaving. */
  if (s->unwritten)
    {
      cleanup_free char *w = xasprintf ("%llu records could not be written to the audit log", s->unwritten);
      sup_notice_lost (s, w, (long long) s->unwritten);
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

/* N bytes aligned to ALIGN (a power of two). */
static void *
ar_alloc_aligned (struct arena *ar, size_t n, size_t align)
{
  ar->used = (ar->used + align - 1) & ~(align - 1);
  if (ar->p == NULL || ar->cap < ar->used || ar->cap - ar->used < n)
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
ar_alloc (struct arena *ar, size_t n)
{
  return ar_alloc_aligned (ar, n, 16);
}

static void *
ar_dup (struct arena *ar, const void *src, size_t n)
{
  return src && n ? memcpy (ar_alloc (ar, n), src, n) : NULL;
}

/* Strings unaligned: the default policy's 300 rule names are 3 kB, 5 kB
 * when each took 16 bytes or more (the copy is written whole: every page
 * of it is resident for the supervisor's life). */
static char *
ar_str (struct arena *ar, const char *s)
{
  if (s == NULL)
    return NULL;
  size_t n = strlen (s) + 1;
  return memcpy (ar_alloc_aligned (ar, n, 1), s, n);
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
