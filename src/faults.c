/* moat — the fault tracker's face (faults.h): open and close, the
 * descriptors and the timeouts the supervisor polls, the tick that writes
 * what waited long enough. What feeds it and what it writes live in the
 * fault-*.c files (faults-int.h says which is where). */
#include "config-host.h"
#include "faults-int.h"
#include "faults-bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* When the node's socket may be joined (0: not to be): once quiet for
 * NODE_AFTER_MS since the start and the last process event. (Not without
 * the supervisor's own cgroup filter: the node's needs the same helper in
 * a socket filter, Linux 6.4+.) */
static unsigned long long
node_join_at (const struct faults *f)
{
  if (f->node_tried || f->cn < 0 || !f->filtered || f->alive == 0)
    return 0;
  return (f->last_event_ms > f->opened_ms ? f->last_event_ms : f->opened_ms) + NODE_AFTER_MS;
}

/* When the tick is due for the node: at the join, then every few ms until
 * the registration's thread is done. */
static unsigned long long
node_due (const struct faults *f)
{
  if (f->reg && f->node == NULL)
    return now_ms () + 5;
  return node_join_at (f);
}

int
faults_next_timeout (const struct faults *f)
{
  bool resync = f->filtered && f->alive > 0;
  unsigned long long node = node_due (f);
  if (f->npend == 0 && !resync && node == 0)
    return -1;
  unsigned long long now = now_ms (), first = resync ? f->next_resync : node ? node : f->pend[0].deadline;
  if (node && node < first)
    first = node;
  for (size_t i = 0; i < f->npend; i++)
    if (f->pend[i].deadline < first)
      first = f->pend[i].deadline;
  return first <= now ? 0 : (int) (first - now);
}

void
faults_tick (struct faults *f, bool flush)
{
  if (f->bpf)
    fault_bpf_consume (f->bpf);   /* details first, then what is left waits no more */
  unsigned long long now = now_ms ();
  /* never matched by a fork: another container's process sharing the
   * cgroup filter's level, or a thread that came and went unseen */
  for (size_t i = 0; i < f->n_early;)
    if (flush || now - f->early[i].at > DEAD_KEEP_MS)
      fault_early_remove (f, i);
    else
      i++;
  unsigned long long join = node_join_at (f);
  if (join && now >= join)
    {
      f->node_tried = true;
      (void) fault_node_begin (f);   /* else its own socket for good */
    }
  fault_cn_hand_over_if_ready (f);   /* once the registration is in */
  fault_node_reap (f);
  if (f->filtered && now >= f->next_resync)
    {
      fault_resync_hidden (f);
      f->next_resync = now + (f->n_suspects ? RESYNC_SOON_MS : RESYNC_MS);
    }
  /* One pass, the queue kept in order: a storm's thousands of deaths
   * whose wait is over go at once, not one memmove each. */
  size_t keep = 0;
  for (size_t i = 0; i < f->npend; i++)
    if (flush || f->pend[i].deadline <= now)
      fault_emit (f, &f->pend[i]);
    else
      f->pend[keep++] = f->pend[i];
  f->npend = keep;
}

bool
faults_last_kill (const struct faults *f, unsigned ms, pid_t *pid, pid_t *nspid, char *comm, size_t n)
{
  if (f->last_kill_at == 0 || now_ms () - f->last_kill_at > ms)
    return false;
  *pid = f->last_kill.tgid;
  *nspid = f->last_kill.nspid;
  snprintf (comm, n, "%s", f->last_kill.comm);
  return true;
}

unsigned long long
faults_generation (const struct faults *f)
{
  return __atomic_load_n (&f->gen, __ATOMIC_ACQUIRE);
}

unsigned long long
faults_take_unwritten (struct faults *f)
{
  unsigned long long n = f->unwritten;
  f->unwritten = 0;
  return n;
}

bool
faults_emptied (const struct faults *f)
{
  return f->alive == 0;
}

bool
faults_alive (const struct faults *f)
{
  return f->alive > 0 || f->npend > 0;
}

int
faults_connector_fd (const struct faults *f)
{
  return f->node ? fault_node_fd (f) : f->cn;
}

int
faults_kmsg_fd (const struct faults *f)
{
  return f->kmsg;
}

int
faults_bpf_fd (const struct faults *f)
{
  return f->bpf ? fault_bpf_fd (f->bpf) : -1;
}

void
faults_set_walls (struct faults *f, const struct fault_walls *w)
{
  f->walls.set = true;
  f->walls.w = *w;
}

void
faults_set_budget (struct faults *f, struct budget *b, uint64_t (*log_size) (void *ctx), void *ctx)
{
  f->budget = b;
  f->log_size = log_size;
  f->size_ctx = ctx;
}

void
faults_set_output (struct faults *f, const char *id, faults_output_fn out, void *ctx)
{
  f->id = id;
  f->out = out;
  f->out_ctx = ctx;
}

/* The proc connector reports pids as the initial pid namespace sees them.
 * Run from inside another one (moat in a container), they name other
 * processes or none: the tracker would wait for exits it can never match.
 * kthreadd is pid 2 of the initial namespace, the only one where a pid
 * other than 1 has no parent. */
static bool
in_initial_pid_ns (void)
{
  char buf[512];
  fault_read_small ("/proc/2/stat", buf, sizeof buf);
  const char *p = strrchr (buf, ')');
  int ppid = -1;
  return p && sscanf (p + 1, " %*c %d", &ppid) == 1 && ppid == 0;
}

int
faults_open (pid_t init_pid, const char *kmsg, struct faults **out, moat_error **err)
{
  if (!in_initial_pid_ns ())
    return moat_error_set (err, 0, "moat runs inside a pid namespace, where the proc connector's pids "
                                   "(the host's) name no process: deaths by fault signals are not recorded");
  struct faults *f = xmalloc0 (sizeof *f);
  f->cap = 1024;
  f->tasks = xmap0 (f->cap * sizeof *f->tasks);
  f->kmsg = -1;
  f->cn_map = -1;
  /* The connector's filter and the probe's filter both keep to it. */
  (void) fault_bpf_cgroup_of (init_pid, &f->cg_id, &f->cg_level);   /* 0, 0 when it has none */
  pthread_mutex_init (&f->denied_lock, NULL);
  /* A socket of its own first; the node's one later (fault-node.c). */
  f->cn = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (f->cn < 0)
    {
      faults_close (f);
      return moat_error_set (err, errno, "proc connector socket");
    }
  /* A burst of exits must not overflow the queue (ENOBUFS loses events). */
  int size = 16 << 20;
  if (setsockopt (f->cn, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    (void) setsockopt (f->cn, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
  if (bind (f->cn, (struct sockaddr *) &sa, sizeof sa) < 0
      || ((f->filtered = fault_cn_filter_to_cgroup (f, f->cn)), fault_cn_subscribe (f->cn) < 0))
    {
      int e = errno;
      faults_close (f);
      return moat_error_set (err, e, "subscribe to the proc connector");
    }
  struct task init = { .tid = init_pid, .tgid = init_pid, .nspid = init_pid };
  fault_task_refresh (&init);
  fault_task_insert (f, &init);
  f->alive = 1;
  f->next_resync = now_ms () + RESYNC_MS;
  f->opened_ms = now_ms ();
  if (kmsg && *kmsg && strcmp (kmsg, "none") != 0)
    {
      f->kmsg = open (kmsg, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (f->kmsg >= 0)
        lseek (f->kmsg, 0, SEEK_END);   /* only what happens from now on */
    }
  *out = f;
  return 0;
}

int
faults_use_bpf (struct faults *f, bool refused, moat_error **err)
{
  /* Filtered in the kernel to the init's cgroup when it has one of its
   * own; the task table filters the rest. */
  if (fault_bpf_open (f->cg_id, f->cg_level, refused, fault_on_bpf_event, f, &f->bpf, err) < 0)
    {
      f->bpf = NULL;
      return -1;
    }
  __atomic_store_n (&f->refused, refused, __ATOMIC_RELEASE);
  /* Every report the kernel log could give, the probe gives first. */
  if (f->kmsg >= 0)
    close (f->kmsg);
  f->kmsg = -1;
  return 0;
}

void
faults_track (struct faults *f, pid_t pid)
{
  struct task *old = fault_task_find (f, pid);
  if (old && !old->dead)
    return;
  struct task t = { .tid = pid, .tgid = pid, .nspid = -1 };
  fault_task_refresh (&t);
  fault_task_insert (f, &t);
  f->alive++;
  __atomic_add_fetch (&f->gen, 1, __ATOMIC_RELEASE);
}

void
faults_close (struct faults *f)
{
  if (f == NULL)
    return;
  fault_node_leave (f);
  fault_node_seen_done (f);
  if (f->cn >= 0)
    close (f->cn);
  if (f->cn_passed)
    munmap ((void *) f->cn_passed, 4096);
  if (f->cn_map >= 0)
    close (f->cn_map);
  if (f->kmsg >= 0)
    close (f->kmsg);
  fault_bpf_close (f->bpf);
  xunmap0 (f->tasks, f->cap * sizeof *f->tasks);
  free (f->pend);
  free (f->early);
  jb_free (&f->rec);
  free (f);
}
