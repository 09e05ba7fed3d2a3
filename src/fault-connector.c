/* moat — the fault tracker's first source: the proc connector (netlink),
 * with the cgroup filter that keeps it to the container's events. Its fork
 * events say which tasks are the container's, its exit events how each
 * ended; resync finds the exits it dropped or hid. */
#include "config-host.h"
#include "faults-int.h"
#include "faults-bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The connector multicasts every process event of the host to every
 * listener: without a filter each supervisor wakes for every fork, exec
 * and exit anywhere, and a host running many containers pays that once per
 * container (start latency grew with the number running). The kernel sends
 * each event from the task it is about (the parent for a fork), so a
 * socket filter that asks for the sending task's cgroup keeps exactly the
 * container's events: is the cgroup at the container's depth the
 * container's own? (bpf_get_current_ancestor_cgroup_id, loaded as a plain
 * socket filter: no libbpf, no BTF.) Without privilege for BPF or on an
 * old kernel the socket stays unfiltered, as before. */
bool
fault_cn_filter_to_cgroup (struct faults *f, int s)
{
  unsigned long long id = f->cg_id;
  unsigned level = f->cg_level;
  if (level == 0)
    return false;
  /* The count of what passed: one u64 in an array map the supervisor maps. */
  union bpf_attr attr;
  memset (&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  attr.map_flags = BPF_F_MMAPABLE;
  int map = (int) syscall (SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  void *counter = MAP_FAILED;
  if (map >= 0)
    counter = mmap (NULL, 4096, PROT_READ, MAP_SHARED, map, 0);
  if (counter == MAP_FAILED && map >= 0)
    {
      close (map);
      map = -1;
    }
  struct bpf_insn count[] = {
    { .code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0 },   /* key 0 */
    { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10 },
    { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4 },
    { .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map },
    { .imm = 0 },
    { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem },
    { .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .imm = 0, .off = 2 },
    { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
    { .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1, .imm = BPF_ADD },
  };
  struct bpf_insn prog[32];
  size_t n = 0;
  const struct bpf_insn head[] = {
    { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = (int32_t) level },
    { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_ancestor_cgroup_id },
    { .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2, .imm = (int32_t) (uint32_t) id },
    { .imm = (int32_t) (uint32_t) (id >> 32) },
  };
  memcpy (prog, head, sizeof head);
  n = ARRAY_SIZE (head);
  size_t ncount = map >= 0 ? ARRAY_SIZE (count) : 0;
  /* not the container's: to the drop at the end */
  prog[n++] = (struct bpf_insn) { .code = BPF_JMP | BPF_JNE | BPF_X, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_2,
                                  .off = (int16_t) (ncount + 2) };
  if (ncount)
    memcpy (prog + n, count, sizeof count);
  n += ncount;
  prog[n++] = (struct bpf_insn) { .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 };   /* keep it whole */
  prog[n++] = (struct bpf_insn) { .code = BPF_JMP | BPF_EXIT };
  prog[n++] = (struct bpf_insn) { .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 };    /* drop */
  prog[n++] = (struct bpf_insn) { .code = BPF_JMP | BPF_EXIT };
  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t) (uintptr_t) prog;
  attr.insn_cnt = (uint32_t) n;
  attr.license = (uint64_t) (uintptr_t) "GPL";
  int pfd = (int) syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  bool ok = pfd >= 0 && setsockopt (s, SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof pfd) == 0;
  if (pfd >= 0)
    close (pfd);
  if (ok && map >= 0)
    {
      f->cn_map = map;
      f->cn_passed = counter;
    }
  else if (map >= 0)
    {
      munmap (counter, 4096);
      close (map);
    }
  return ok;
}

static bool
fatal_signal (int sig)
{
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGSYS || sig == SIGABRT;
}

static void
on_event (struct faults *f, const struct proc_event *ev)
{
  switch (ev->what)
    {
    case PROC_EVENT_FORK:
      {
        const struct task *parent = fault_task_find (f, ev->event_data.fork.parent_tgid);
        if (parent == NULL || parent->dead)
          return;
        struct task t = *parent;
        t.tid = ev->event_data.fork.child_pid;
        t.tgid = ev->event_data.fork.child_tgid;
        t.dead = false;
        if (t.tid == t.tgid)
          {
            t.nspid = -1;   /* not the parent's: unknown until read */
            fault_task_refresh (&t);
            f->alive++;
          }
        fault_task_insert (f, &t);
        fault_replay_early (f, t.tid);
        break;
      }
    case PROC_EVENT_EXEC:
      {
        struct task *t = fault_task_find (f, ev->event_data.exec.process_pid);
        if (t == NULL)
          return;
        __atomic_add_fetch (&f->gen, 1, __ATOMIC_RELEASE);
        /* What ran before the exec is not what runs now: if the process
         * is gone (reaped) before its new exe and comm can be read, say
         * nothing rather than name the old one (the shell that forked it,
         * or "memfd:moat" for the init). The connector's exec event carries
         * no name, and no comm event comes for an exec. */
        t->exe[0] = '\0';
        t->comm[0] = '\0';
        if (t->dead && t->tid == t->tgid)
          {
            /* A thread that execs takes over the leader's pid, and the old
             * leader's exit was reported first: the process lives on. */
            t->dead = false;
            f->alive++;
          }
        fault_task_refresh (t);
        break;
      }
    case PROC_EVENT_EXIT:
      {
        struct task *t = fault_task_find (f, ev->event_data.exit.process_pid);
        int code = (int) ev->event_data.exit.exit_code;
        /* On the node's ring every event is the container's (its filter
         * chose by cgroup, and no two containers share one there): a
         * death by a fault signal whose fork was never told (dropped with
         * a full ring) is still the container's, and is recorded with
         * what is left to know (pid, signal). */
        if (t == NULL && f->node && ev->event_data.exit.process_pid == ev->event_data.exit.process_tgid
            && WIFSIGNALED (code) && fatal_signal (WTERMSIG (code)))
          {
            struct task u = { .tid = ev->event_data.exit.process_pid, .tgid = ev->event_data.exit.process_pid, .nspid = -1 };
            t = fault_task_insert (f, &u);
            if (t)
              f->alive++;
          }
        if (t == NULL || t->dead)
          return;
        __atomic_add_fetch (&f->gen, 1, __ATOMIC_RELEASE);
        int st = (int) ev->event_data.exit.exit_code;
        /* When a non-leader thread execs, the kernel ends the leader and
         * gives its pid to the exec'ing thread: the "leader exit" is not the
         * process's end if the process is still there. */
        if (t->tid == t->tgid && !(WIFSIGNALED (st) && fatal_signal (WTERMSIG (st))) && pid_running (t->tgid))
          return;
        t->dead = true;
        t->dead_at = now_ms ();
        if (t->tid != t->tgid)
          return;
        f->alive--;
        if (WIFSIGNALED (st) && WTERMSIG (st) == SIGKILL)
          {
            f->last_kill = *t;
            f->last_kill_at = now_ms ();
          }
        if (!WIFSIGNALED (st) || !fatal_signal (WTERMSIG (st)))
          return;
        struct pending p = { .t = *t, .sig = WTERMSIG (st), .core = WCOREDUMP (st) != 0, .death = true };
        audit_time (p.time, sizeof p.time);
        /* The probe reported the fault before the process could die of it:
         * its event is in the ring now, whatever order epoll gave the two. */
        if (f->bpf)
          fault_bpf_consume (f->bpf);
        /* A report printed before the death already waits as a fault. */
        for (size_t i = 0; i < f->npend; i++)
          if (!f->pend[i].death && f->pend[i].t.tgid == t->tgid)
            {
              p.d = f->pend[i].d;
              fault_pend_remove (f, i);
              break;
            }
        /* The probe reports SIGBUS too; the kernel log does not. */
        bool may_have_report = p.sig == SIGSEGV || p.sig == SIGILL || p.sig == SIGFPE || (f->bpf && p.sig == SIGBUS);
        p.deadline = (p.d.have || !may_have_report || (f->kmsg < 0 && !f->bpf)) ? 0 : now_ms () + KMSG_WAIT_MS;
        if (p.deadline && f->npend >= PEND_MAX)
          {
            p.deadline = 0;
            p.storm = true;   /* no wait: too many already wait for theirs */
          }
        if (p.deadline == 0)
          fault_emit (f, &p);
        else
          fault_pend_add (f, &p);
        break;
      }
    default:
      break;
    }
}

/* A tracked process (its leader) that /proc no longer shows running. */
static bool
leader_gone (const struct task *t)
{
  return t->used && !t->dead && t->tid == t->tgid && !pid_running (t->tgid);
}

/* Gone without an exit event to say how. */
static void
mark_gone (struct faults *f, struct task *t)
{
  t->dead = true;
  t->dead_at = now_ms ();
  f->alive--;
  __atomic_add_fetch (&f->gen, 1, __ATOMIC_RELEASE);
}

/* After the connector dropped events: an exit may be among them, and the
 * count of live processes would never reach 0 (the supervisor would wait
 * forever). Every tracked process that is no longer there is marked gone;
 * its death, if it was a fault, is among what the "lost" record owns up to. */
static unsigned long long
resync (struct faults *f)
{
  unsigned long long n = 0;
  for (size_t i = 0; i < f->cap; i++)
    if (leader_gone (&f->tasks[i]))
      {
        mark_gone (f, &f->tasks[i]);
        n++;
      }
  return n;
}

/* With the cgroup filter, a process moved out of the container's cgroup
 * (only the host can do that) exits unseen, and the supervisor would wait
 * for it forever. So now and then, a tracked process that is gone is
 * marked so: but only when it was already gone at the look before. The
 * kernel marks a dying task a zombie a moment before it sends its exit
 * event, and a death by a fault must come through that event: two looks
 * RESYNC_MS apart leave it all the time it needs. */
void
fault_resync_hidden (struct faults *f)
{
  pid_t gone[ARRAY_SIZE (f->suspects)];
  size_t n = 0;
  for (size_t i = 0; i < f->cap && n < ARRAY_SIZE (gone); i++)
    if (leader_gone (&f->tasks[i]))
      gone[n++] = f->tasks[i].tgid;
  if (n > 0)
    faults_on_connector (f);
  size_t still = 0;
  for (size_t i = 0; i < n; i++)
    {
      struct task *t = fault_task_find (f, gone[i]);
      if (t == NULL || t->dead)
        continue;   /* its exit event came */
      bool seen_before = false;
      for (size_t k = 0; k < f->n_suspects && !seen_before; k++)
        seen_before = f->suspects[k] == gone[i];
      if (!seen_before)
        {
          gone[still++] = gone[i];   /* a suspect until the next look */
          continue;
        }
      mark_gone (f, t);
    }
  memcpy (f->suspects, gone, still * sizeof *gone);
  f->n_suspects = still;
}

/* Events were dropped (the socket's queue or the node ring was full).
 * Which of the container's processes ended unseen is known (gone from
 * /proc); how is not: each counts as a death whose signal is unknown.
 * Processes forked and gone within the dropped events are not known at
 * all. (An exit whose fork was not seen is not taken for the container's
 * even with the cgroup filter: a process the host put into the
 * container's cgroup, or another container sharing it, would be recorded
 * as the container's.) */
static void
events_dropped (struct faults *f, const char *where, uint64_t events, long long deaths)
{
  f->dropped_at = now_ms ();
  /* With the node's count of the deaths dropped, a process found gone is
   * not counted here, so it must not be marked gone while its exit may
   * still be on its way (the parent can reap it before the kernel sends
   * the event): the two looks of fault_resync_hidden do it, soon. */
  char what[320];
  if (deaths >= 0)
    {
      /* The node's filter counted the deaths it could not hand over: they
       * are the loss, exactly. */
      f->next_resync = now_ms () + RESYNC_SOON_MS;
      snprintf (what, sizeof what, "%s: some process events were dropped; lost counts the container's processes "
                                   "whose death by a fault signal was among them (counted by the kernel filter)", where);
    }
  else
    {
      deaths = (long long) resync (f);
      snprintf (what, sizeof what, "%s: some process events were dropped; lost counts the "
                                   "container's processes that ended unseen (how, unknown)", where);
    }
  struct jbuf *j = fault_rec_begin (f, NULL, "moat", "lost");
  jb_str (j, "what", what);
  jb_int (j, "lost", deaths);
  if (events > 0)
    jb_int (j, "events", (long long) events);   /* the node ring counts what it could not take */
  fault_rec_end (f, j);
}

/* Everything queued on the tracker's own socket. */
static void
drain_socket (struct faults *f)
{
  char buf[8192] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  for (;;)
    {
      ssize_t n = recv (f->cn, buf, sizeof buf, 0);
      if (n < 0)
        {
          if (errno == ENOBUFS)
            {
              events_dropped (f, "proc connector overflow", 0, -1);
              /* What passed the filter no longer all arrives: the count
               * cannot say "nothing waiting" any more. */
              f->cn_passed = NULL;
              continue;
            }
          return;   /* EAGAIN */
        }
      for (struct nlmsghdr *nl = (struct nlmsghdr *) buf; NLMSG_OK (nl, (size_t) n); nl = NLMSG_NEXT (nl, n))
        {
          if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP)
            continue;
          struct cn_msg *cn = NLMSG_DATA (nl);
          if (cn->id.idx != CN_IDX_PROC || cn->len < sizeof (struct proc_event) - sizeof (((struct proc_event *) 0)->event_data))
            continue;
          /* The event sits 4 bytes off an 8-byte boundary in the datagram:
           * copy it out rather than read it in place. */
          struct proc_event ev;
          memset (&ev, 0, sizeof ev);
          memcpy (&ev, cn->data, cn->len < sizeof ev ? cn->len : sizeof ev);
          if (!f->node_tried)
            f->last_event_ms = now_ms ();   /* not quiet yet: no move to the node */
          /* While registering, an event may come both ways: taken once. */
          if (f->recording && fault_node_was_seen (f, &ev))
            continue;
          on_event (f, &ev);
          if (f->recording)
            fault_node_seen (f, &ev);
        }
      /* After its events took effect (faults_events_waiting reads the
       * generation only once this says so). */
      __atomic_store_n (&f->cn_applied, f->cn_applied + 1, __ATOMIC_RELEASE);
    }
}

/* The registration is in: from now on every event of the container comes
 * both ways, and each is taken once (fault_node_was_seen). What the ring
 * could not take while the socket was read is no loss (the socket had
 * it), so the ring's count of drops starts at the hand-over; and the
 * hand-over waits for a moment when the ring dropped nothing while both
 * were read to their end, so that every event the socket may still hold
 * unread when it is closed is in the ring. */
static void
hand_over (struct faults *f)
{
  if (f->seen_full)
    {
      /* More events came while registering than can be matched: the
       * socket stays, the registration goes (a tombstone, as at exit). */
      fault_node_take (f);
      fault_node_leave (f);
      fault_node_seen_done (f);
      return;
    }
  uint64_t before = fault_node_pending_drops (f);
  fault_node_drain_pending (f, on_event);
  drain_socket (f);
  if (fault_node_pending_drops (f) != before)
    return;   /* the ring is full now and then: at a later tick */
  fault_node_take (f);
  fault_node_reap (f);   /* its thread is done: joined, its stack unmapped */
  close (f->cn);
  f->cn = -1;
  if (f->cn_passed)
    munmap ((void *) f->cn_passed, 4096);
  f->cn_passed = NULL;
  if (f->cn_map >= 0)
    close (f->cn_map);
  f->cn_map = -1;
  f->filtered = true;
  faults_on_connector (f);   /* the ring, what the socket had skipped */
  fault_node_seen_done (f);
}

void
faults_on_connector (struct faults *f)
{
  if (f->node)
    {
      uint64_t deaths = 0, dropped = fault_node_drain (f, on_event, &deaths);
      if (dropped > 0)
        events_dropped (f, "proc connector overflow (the node's ring)", dropped, (long long) deaths);
      return;
    }
  drain_socket (f);
  fault_node_drain_pending (f, on_event);
}

/* From the supervisor's main loop only (the tick), which then watches the
 * ring instead of the socket. */
void
fault_cn_hand_over_if_ready (struct faults *f)
{
  if (fault_node_ready (f) == 1)
    hand_over (f);
}

bool
faults_events_waiting (const struct faults *f)
{
  if (f->node)
    return fault_node_waiting (f);
  volatile uint64_t *passed = __atomic_load_n (&f->cn_passed, __ATOMIC_ACQUIRE);
  if (passed == NULL)
    return true;   /* unknown: look */
  return __atomic_load_n (passed, __ATOMIC_ACQUIRE) != __atomic_load_n (&f->cn_applied, __ATOMIC_ACQUIRE);
}
