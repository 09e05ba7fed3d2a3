#include "config-host.h"
#include "faults.h"
#include "lsmaudit.h"
#include "budget.h"
#include "config.h"
#include "landlock.h"
#include "faults-bpf.h"
#include "decode.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <linux/bpf.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Linux 6.6 lets a listener pick event types; the uapi headers of older
 * distributions lack the struct, the kernel knows it by its size. */
struct moat_proc_input
{
  uint32_t mcast_op;
  uint32_t event_type;
};

#define KMSG_WAIT_MS 250    /* how long a death waits for its kernel report */
#define DEAD_KEEP_MS 2000   /* how long an exited task is remembered (late kmsg lines) */
#define RESYNC_MS 2000      /* with the cgroup filter: how often to look for exits it hid */
/* A storm's bounds: deaths waiting for their kernel report (past it, a
 * death is written at once, saying why it has no detail), and tasks kept
 * dead for late reports (past it, the dead go at the next sweep). The
 * supervisor's memory stays near these, whatever the storm: the task
 * table holds the live and at most DEAD_MAX dead, the queue PEND_MAX. */
#define PEND_MAX 512
#define DEAD_MAX 4096
#define STR_(x) #x
#define STRINGIFY(x) STR_ (x)

struct task
{
  pid_t tid, tgid, nspid;
  bool used, dead;
  bool written;           /* its death is in the log (or counted): a later report is not a survived fault */
  unsigned long long dead_at;
  char comm[32];
  char exe[256];
};

struct detail
{
  bool have;
  char comm[32];          /* the kernel's own name for the task at the fault */
  char kind[40];          /* "segfault", "general protection fault", "invalid opcode", "divide error" */
  unsigned long long addr, ip, sp, error;
  bool has_addr, has_error;
  bool bpf;               /* from the BPF probe (else the kernel log) */
  int sig, code;          /* the probe's: the signal and its si_code */
};

struct pending
{
  struct task t;          /* a copy: the task table forgets */
  pid_t fault_tid;        /* for a fault: the thread that took it */
  int sig;
  bool core, death;       /* death: from an exit event; else a survived fault */
  bool storm;             /* written without waiting for a report: PEND_MAX waited already */
  unsigned long long deadline;
  char time[48];
  struct detail d;
};

struct faults
{
  int cn, kmsg;
  bool filtered;                  /* the connector only passes the container's events */
  /* With the filter: how many datagrams it passed (a counter in a BPF map
   * mapped here, bumped before each is queued) and how many were read and
   * applied. Equal: nothing is waiting, known without a syscall. */
  volatile uint64_t *cn_passed;
  uint64_t cn_applied;            /* atomic: written after the datagram's events took effect */
  int cn_map;
  unsigned long long cg_id;       /* the init's own v2 cgroup and its depth (0, 0: none), read once */
  unsigned cg_level;
  struct { bool set; struct fault_walls w; } walls;   /* what refusals are laid at */
  unsigned long long next_resync;
  pid_t suspects[64];             /* gone from /proc at the last resync, no exit event yet */
  size_t n_suspects;
  struct fault_bpf *bpf;          /* the lossless detail source, when loaded */
  /* Calls the seccomp filter's supervisor just denied: their exits are
   * not the kernel's refusals. Written by the listener threads. */
  pthread_mutex_t denied_lock;
  struct { pid_t tid; long nr; } denied[64];
  unsigned denied_next;
  bool refused;                   /* the probe reports refused syscalls */
  /* Probe events of a thread whose fork the connector has not told yet
   * (the ring and the socket are read in turn): kept until it does. */
  struct early { struct moat_fault_event e; unsigned long long at; } *early;
  size_t n_early, cap_early;
  const char *id;
  faults_output_fn out;           /* NULL: records go nowhere */
  void *out_ctx;
  struct budget *budget;          /* NULL: every record in full */
  uint64_t (*log_size) (void *);
  void *size_ctx;
  struct task *tasks;
  size_t cap, used, alive;
  unsigned long long gen;
  unsigned long long unwritten;   /* records the log refused */
  struct task last_kill;
  unsigned long long last_kill_at;
  /* The OOM killer's own lines in the kernel log naming the container's
   * processes: a count that survives the cgroup (systemd removes a scope's
   * the moment it empties, maybe before its memory.events is read). */
  unsigned long kmsg_ooms;
  struct task oom_victims[16];    /* the first ones, for their records */
  struct pending *pend;
  size_t npend, cappend;
  unsigned long long dropped_at;  /* when the connector last dropped events (0: never) */
  struct jbuf rec;
};

static void replay_early (struct faults *f, pid_t tid);

static unsigned long long
now_ms (void)
{
  return now_usec () / 1000;
}

/* ---- the task table: open addressing on tid ----------------------------- */

static struct task *
task_find (struct faults *f, pid_t tid)
{
  size_t mask = f->cap - 1;
  for (size_t i = (size_t) tid & mask;; i = (i + 1) & mask)
    {
      if (!f->tasks[i].used)
        return NULL;
      if (f->tasks[i].tid == tid)
        return &f->tasks[i];
    }
}

static void task_insert_raw (struct faults *f, const struct task *t);

/* Grow (or just sweep out tasks dead for a while) and re-place everything. */
static void
task_rehash (struct faults *f, size_t newcap)
{
  struct task *old = f->tasks;
  size_t oldcap = f->cap, dead = 0;
  for (size_t i = 0; i < oldcap; i++)
    dead += old[i].used && old[i].dead;
  /* Past DEAD_MAX (a storm of forks and deaths), the dead go now: their
   * late kernel reports would only have added detail. */
  bool sweep_all = dead > DEAD_MAX;
  unsigned long long now = now_ms ();
  f->tasks = xmap0 (newcap * sizeof *f->tasks);
  f->cap = newcap;
  f->used = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].used && !(old[i].dead && (sweep_all || now - old[i].dead_at > DEAD_KEEP_MS)))
      task_insert_raw (f, &old[i]);
  xunmap0 (old, oldcap * sizeof *old);
}

static void
task_insert_raw (struct faults *f, const struct task *t)
{
  size_t mask = f->cap - 1;
  for (size_t i = (size_t) t->tid & mask;; i = (i + 1) & mask)
    if (!f->tasks[i].used || f->tasks[i].tid == t->tid)
      {
        f->used += !f->tasks[i].used;
        f->tasks[i] = *t;
        f->tasks[i].used = true;
        return;
      }
}

static struct task *
task_insert (struct faults *f, const struct task *t)
{
  if ((f->used + 1) * 2 > f->cap)
    {
      task_rehash (f, f->cap);          /* drop the long dead first */
      /* Then a quarter full: larger for a growing container, smaller after
       * a storm (its memory goes back). */
      size_t want = 1024;
      while (want < (f->used + 1) * 4)
        want *= 2;
      if (want != f->cap)
        task_rehash (f, want);
    }
  task_insert_raw (f, t);
  return task_find (f, t->tid);
}

static void
read_small (const char *path, char *buf, size_t n)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, n - 1) : -1;
  if (fd >= 0)
    close (fd);
  buf[r > 0 ? r : 0] = '\0';
  char *nl = strchr (buf, '\n');
  if (nl)
    *nl = '\0';
}

/* The last number of a "Key:\tN\tN..." line of /proc/PID/status: the id
 * in the innermost pid namespace. -1 if absent. */
long
status_last_field (const char *status, const char *key)
{
  const char *p = strstr (status, key);
  if (p == NULL)
    return -1;
  const char *last = p + strlen (key);
  const char *end = strchr (last, '\n');
  for (const char *q = last; q && (!end || q < end); q = strchr (q + 1, '\t'))
    last = q;
  return strtol (last, NULL, 10);
}

/* Read what a record needs while the task still exists. A task already
 * gone keeps what it had: for a fresh fork the parent's comm and exe (right
 * for a fork without exec) and nspid -1 (set by the caller); after an exec
 * its nspid, which an exec does not change. */
static void
task_refresh (struct task *t)
{
  char path[64], buf[4096], comm[sizeof t->comm];
  snprintf (path, sizeof path, "/proc/%d/status", (int) t->tgid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (r <= 0)
    return;
  buf[r] = '\0';
  /* NStgid: the process's id in its namespace (NSpid would be a thread's). */
  t->nspid = (pid_t) status_last_field (buf, "\nNStgid:");
  snprintf (path, sizeof path, "/proc/%d/comm", (int) t->tgid);
  read_small (path, comm, sizeof comm);
  if (*comm)
    memcpy (t->comm, comm, sizeof comm);
  char exe[sizeof t->exe];
  snprintf (path, sizeof path, "/proc/%d/exe", (int) t->tgid);
  ssize_t n = readlink (path, exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      memcpy (t->exe, exe, sizeof exe);
    }
}

/* ---- records ------------------------------------------------------------- */

void
fault_describe (unsigned long code, char *out, size_t n)
{
  const char *mode = (code & 4) ? "user-mode" : "kernel-mode";
  const char *access = (code & 16) ? "instruction fetch from" : (code & 2) ? "write to" : "read of";
  const char *page;
  if (!(code & 1))
    page = "a not-present page";
  else if (code & 16)
    page = "a present, non-executable page";
  else if (code & 2)
    page = "a present, read-only page";
  else
    page = "a present page it may not read (a kernel page)";
  snprintf (out, n, "%s %s %s%s%s", mode, access, page, (code & 8) ? ", reserved bit set" : "",
            (code & 32) ? ", protection-key violation" : "");
}

/* Raised by the page-fault handler: the error code is a page-fault one. */
static bool
page_fault (const struct detail *d)
{
  return strcmp (d->kind, "segfault") == 0 || strcmp (d->kind, "bus error") == 0;
}

/* si_code in the kernel's words (the probe gives the number). */
static const char *
si_code_name (int sig, int code)
{
  static const char *const segv[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR" };
  static const char *const bus[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
  static const char *const ill[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
                                     "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK" };
  static const char *const fpe[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
                                     "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB" };
  static const char *const trap[] = { NULL, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT" };
  if (code == 0x80)
    return "SI_KERNEL";
#define PICK(t) (code > 0 && (size_t) code < ARRAY_SIZE (t) ? t[code] : NULL)
  switch (sig)
    {
    case SIGSEGV: return PICK (segv);
    case SIGBUS: return PICK (bus);
    case SIGILL: return PICK (ill);
    case SIGFPE: return PICK (fpe);
    case SIGTRAP: return PICK (trap);
    default: return NULL;
    }
#undef PICK
}

static const char *
wall_for (const struct pending *p)
{
  if (p->d.have)
    return page_fault (&p->d) ? "mmu" : "cpu";
  switch (p->sig)
    {
    case SIGSEGV: case SIGBUS: return "mmu";
    case SIGILL: case SIGFPE: return "cpu";
    case SIGSYS: return "seccomp";
    default: return "process";
    }
}

/* Every record of this file starts here: at TIME (NULL: now), the
 * container, the wall and the kind. */
static struct jbuf *
rec_begin (struct faults *f, const char *time, const char *wall, const char *kind)
{
  struct jbuf *j = &f->rec;
  char tb[48];
  if (time == NULL)
    audit_time (tb, sizeof tb);
  jb_open (j);
  jb_str (j, "time", time ? time : tb);
  jb_str (j, "container", f->id);
  jb_str (j, "wall", wall);
  jb_str (j, "kind", kind);
  return j;
}

/* ... and ends here: written, or counted as refused by the log. */
static void
rec_end (struct faults *f, struct jbuf *j)
{
  jb_close (j);
  if (f->out && f->out (f->out_ctx, j) < 0)
    f->unwritten++;
}

static void
put_nspid (struct jbuf *j, pid_t nspid)
{
  if (nspid > 0)
    jb_int (j, "nspid", nspid);
  else
    jb_raw (j, "nspid", "null");   /* gone before it could be read */
}

static void
emit (struct faults *f, struct pending *p)
{
  if (f->out == NULL)
    return;
  if (p->death)
    {
      struct task *t = task_find (f, p->t.tgid);
      if (t)
        t->written = true;
    }
  /* Past the log's budget: counted with the others of its signal and
   * comm, as the calls are (a crash loop must not fill the disk). */
  if (f->budget && !budget_take (f->budget, f->log_size (f->size_ctx)))
    {
      struct agg_key k = { .kind = p->death ? AGG_DEATH : AGG_FAULT, .nr = p->death ? p->sig : p->d.sig };
      const char *comm = p->d.have && p->d.comm[0] ? p->d.comm : p->t.comm[0] ? p->t.comm : "?";
      memcpy (k.comm, comm, strnlen (comm, sizeof k.comm - 1));
      struct timespec at;
      clock_gettime (CLOCK_REALTIME, &at);
      budget_count (f->budget, &k, &at);
      return;
    }
  char hex[32], words[160];
  struct jbuf *j = rec_begin (f, p->time, wall_for (p), p->death ? "signal" : "fault");
  jb_int (j, "pid", p->t.tgid);
  put_nspid (j, p->t.nspid);
  /* The kernel's report names the task as it was at the fault: better than
   * a comm read before a last exec the connector had not told us yet. */
  if (p->d.have && p->d.comm[0])
    jb_str (j, "comm", p->d.comm);
  else if (p->t.comm[0])
    jb_str (j, "comm", p->t.comm);
  else
    jb_raw (j, "comm", "null");   /* exec'd and gone before it could be read */
  if (p->t.exe[0])
    jb_str (j, "exe", p->t.exe);
  else
    jb_raw (j, "exe", "null");   /* exec'd and gone before it could be read */
  if (p->death)
    {
      char sig[16];
      snprintf (sig, sizeof sig, "SIG%s", sigabbrev_np (p->sig) ? sigabbrev_np (p->sig) : "?");
      jb_str (j, "signal", sig);
      jb_raw (j, "core", p->core ? "true" : "false");
    }
  else if (f->dropped_at && now_ms () - f->dropped_at < DEAD_KEEP_MS + KMSG_WAIT_MS)
    /* Its exit may have been among the events the connector dropped: do
     * not claim it lived on. */
    jb_raw (j, "survived", "null");
  else
    jb_raw (j, "survived", "true");
  if (p->d.have)
    {
      if (p->d.has_addr)
        {
          snprintf (hex, sizeof hex, "0x%llx", p->d.addr);
          jb_str (j, "addr", hex);
        }
      snprintf (hex, sizeof hex, "0x%llx", p->d.ip);
      jb_str (j, "ip", hex);
      if (p->d.has_error)
        jb_int (j, "error", (long long) p->d.error);
      if (page_fault (&p->d))
        fault_describe ((unsigned long) p->d.error, words, sizeof words);
      else
        snprintf (words, sizeof words, "%s", p->d.kind);
      jb_str (j, "fault", words);
      const char *code = p->d.bpf ? si_code_name (p->d.sig, p->d.code) : NULL;
      if (code)
        jb_str (j, "code", code);
      jb_str (j, "detail", p->d.bpf ? "bpf" : "kmsg");
    }
  else
    {
      const char *why = p->storm ? "not waited for (a storm: " STRINGIFY (PEND_MAX) " deaths were already waiting "
                                   "for the kernel's report)"
        : (p->sig == SIGSEGV || p->sig == SIGILL || p->sig == SIGFPE)
        ? "not available (the kernel log printed nothing for it: rate limit, or no access)"
        : "not available (the kernel reports no details for this signal)";
      jb_str (j, "detail", why);
    }
  rec_end (f, j);
}

static void
pend_add (struct faults *f, const struct pending *p)
{
  if (f->npend == f->cappend)
    f->pend = xrealloc (f->pend, (f->cappend = f->cappend ? f->cappend * 2 : 16) * sizeof *f->pend);
  f->pend[f->npend++] = *p;
}

static void
pend_remove (struct faults *f, size_t i)
{
  memmove (&f->pend[i], &f->pend[i + 1], (f->npend - i - 1) * sizeof *f->pend);
  f->npend--;
}

/* ---- the proc connector --------------------------------------------------- */

/* Linux 6.6 takes an event filter with the subscription; older kernels
 * silently ignore a message of that size, so they get the plain one. */
static bool
kernel_has_event_filter (void)
{
  struct utsname u;
  unsigned a = 0, b = 0;
  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &a, &b) != 2)
    return false;
  return a > 6 || (a == 6 && b >= 6);
}

static int
cn_subscribe (int s)
{
  char buf[NLMSG_SPACE (sizeof (struct cn_msg) + sizeof (struct moat_proc_input))] __attribute__ ((aligned (8)));
  memset (buf, 0, sizeof buf);
  struct nlmsghdr *nl = (struct nlmsghdr *) buf;
  struct cn_msg *cn = NLMSG_DATA (nl);
  struct moat_proc_input in = { .mcast_op = PROC_CN_MCAST_LISTEN,
                                .event_type = PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_EXIT };
  size_t len = kernel_has_event_filter () ? sizeof in : sizeof in.mcast_op;
  nl->nlmsg_len = NLMSG_LENGTH (sizeof *cn + len);
  nl->nlmsg_type = NLMSG_DONE;
  nl->nlmsg_pid = (uint32_t) getpid ();
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = (uint16_t) len;
  memcpy (cn->data, &in, len);
  return send (s, nl, nl->nlmsg_len, 0) < 0 ? -1 : 0;
}

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
static bool
cn_filter_to_cgroup (struct faults *f, int s)
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
        const struct task *parent = task_find (f, ev->event_data.fork.parent_tgid);
        if (parent == NULL || parent->dead)
          return;
        struct task t = *parent;
        t.tid = ev->event_data.fork.child_pid;
        t.tgid = ev->event_data.fork.child_tgid;
        t.dead = false;
        if (t.tid == t.tgid)
          {
            t.nspid = -1;   /* not the parent's: unknown until read */
            task_refresh (&t);
            f->alive++;
          }
        task_insert (f, &t);
        replay_early (f, t.tid);
        break;
      }
    case PROC_EVENT_EXEC:
      {
        struct task *t = task_find (f, ev->event_data.exec.process_pid);
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
        task_refresh (t);
        break;
      }
    case PROC_EVENT_EXIT:
      {
        struct task *t = task_find (f, ev->event_data.exit.process_pid);
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
              pend_remove (f, i);
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
          emit (f, &p);
        else
          pend_add (f, &p);
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
static void
resync_hidden (struct faults *f)
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
      struct task *t = task_find (f, gone[i]);
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

/* Something was dropped: say so in the log rather than pretend, with how
 * many (COUNT >= 0) and what they are. */
static void
lost_record (struct faults *f, const char *what, long long count)
{
  struct jbuf *j = rec_begin (f, NULL, "moat", "lost");
  jb_str (j, "what", what);
  if (count >= 0)
    jb_int (j, "lost", count);
  rec_end (f, j);
}

void
faults_on_connector (struct faults *f)
{
  char buf[8192] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  for (;;)
    {
      ssize_t n = recv (f->cn, buf, sizeof buf, 0);
      if (n < 0)
        {
          if (errno == ENOBUFS)
            {
              /* Which of the container's processes ended unseen is known
               * (gone from /proc); how is not: each counts as a death whose
               * signal is unknown. Processes forked and gone within the
               * dropped events are not known at all. (An exit whose fork
               * was not seen is not taken for the container's even with
               * the cgroup filter: a process the host put into the
               * container's cgroup, or another container sharing it, would
               * be recorded as the container's.) */
              f->dropped_at = now_ms ();
              long long gone = (long long) resync (f);
              lost_record (f, "proc connector overflow: some process events were dropped; lost counts the "
                              "container's processes that ended unseen (how, unknown)", gone);
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
          on_event (f, &ev);
        }
      /* After its events took effect (faults_events_waiting reads the
       * generation only once this says so). */
      __atomic_store_n (&f->cn_applied, f->cn_applied + 1, __ATOMIC_RELEASE);
    }
}

bool
faults_events_waiting (const struct faults *f)
{
  volatile uint64_t *passed = __atomic_load_n (&f->cn_passed, __ATOMIC_ACQUIRE);
  if (passed == NULL)
    return true;   /* unknown: look */
  return __atomic_load_n (passed, __ATOMIC_ACQUIRE) != __atomic_load_n (&f->cn_applied, __ATOMIC_ACQUIRE);
}

/* ---- /dev/kmsg ------------------------------------------------------------ */

/* For lsmaudit.c: is host pid PID one of the container's tasks? */
static bool
owns_task (void *ctx, pid_t pid, pid_t *nspid)
{
  struct task *t = task_find (ctx, pid);
  *nspid = t ? t->nspid : 0;
  return t != NULL;
}

/* "Memory cgroup out of memory: Killed process PID (COMM) total-vm:..."
 * (or "Out of memory: ...": a host-wide OOM kill, which the victim's
 * memory.events counts too). The kernel prints it, unrate-limited, as it
 * sends the SIGKILL: before the victim's exit, so before its cgroup can
 * empty. The victim is looked up among the container's tasks, the dead
 * ones included (their exit may have been read first). */
static bool
oom_victim (struct faults *f, const char *msg)
{
  const char *k = strstr (msg, ": Killed process ");
  if (k == NULL || (strncmp (msg, "Memory cgroup out of memory", 27) != 0 && strncmp (msg, "Out of memory", 13) != 0))
    return false;
  char *end;
  long pid = strtol (k + 17, &end, 10);
  if (end == k + 17 || pid <= 0)
    return false;
  struct task *t = task_find (f, (pid_t) pid);
  if (t == NULL)
    return true;   /* not the container's */
  if (f->kmsg_ooms < sizeof f->oom_victims / sizeof f->oom_victims[0])
    f->oom_victims[f->kmsg_ooms] = *t;
  f->kmsg_ooms++;
  return true;
}

/* "NAME[TID]: segfault at 0 ip 0000000000401136 sp 00007ffd... error 4 in ..."
 * "traps: NAME[TID] general protection fault ip:401136 sp:7ffd... error:0 in ..."
 * "traps: NAME[TID] trap invalid opcode ip:... sp:... error:0 in ..." */
static bool
parse_report (const char *msg, pid_t *tid, struct detail *d)
{
  memset (d, 0, sizeof *d);
  const char *kinds[][2] = {
    { "]: segfault at ", "segfault" },
    { "] general protection fault ", "general protection fault" },
    { "] general protection ", "general protection fault" },
    { "] trap invalid opcode ", "invalid opcode" },
    { "] trap divide error ", "divide error" },
  };
  const char *hit = NULL;
  size_t k;
  for (k = 0; k < ARRAY_SIZE (kinds) && !hit; k++)
    hit = strstr (msg, kinds[k][0]);
  if (!hit)
    return false;
  k--;
  /* The tid sits between the '[' and the ']' just before the match (the
   * command name itself may hold brackets). */
  const char *open = hit;
  while (open > msg && *open != '[')
    open--;
  if (*open != '[')
    return false;
  *tid = (pid_t) strtol (open + 1, NULL, 10);
  /* NAME is what precedes the '[' ("traps: NAME[TID]" or "NAME[TID]:"). */
  const char *name = msg;
  if (strncmp (name, "traps: ", 7) == 0)
    name += 7;
  size_t nl = (size_t) (open - name);
  if (open > name && nl < sizeof d->comm)
    {
      memcpy (d->comm, name, nl);
      d->comm[nl] = '\0';
    }
  snprintf (d->kind, sizeof d->kind, "%s", kinds[k][1]);
  const char *p = hit + strlen (kinds[k][0]);
  if (k == 0)
    {
      d->addr = strtoull (p, NULL, 16);
      d->has_addr = true;
      const char *ip = strstr (p, " ip ");
      const char *sp = strstr (p, " sp ");
      const char *er = strstr (p, " error ");
      if (ip)
        d->ip = strtoull (ip + 4, NULL, 16);
      if (sp)
        d->sp = strtoull (sp + 4, NULL, 16);
      if (er)
        {
          d->error = strtoull (er + 7, NULL, 16);
          d->has_error = true;
        }
    }
  else
    {
      const char *ip = strstr (p, "ip:");
      const char *sp = strstr (p, "sp:");
      const char *er = strstr (p, "error:");
      if (ip)
        d->ip = strtoull (ip + 3, NULL, 16);
      if (sp)
        d->sp = strtoull (sp + 3, NULL, 16);
      if (er)
        {
          d->error = strtoull (er + 6, NULL, 16);
          d->has_error = true;
        }
    }
  d->have = true;
  return true;
}

/* A kernel report of a fault in thread TID: joins the death it explains,
 * or waits for it. */
static void
attach_detail (struct faults *f, pid_t tid, const struct detail *d)
{
  struct task *t = task_find (f, tid);
  if (t == NULL)
    return;   /* not the container's */
  pid_t tgid = t->tgid;
  struct task *lt = task_find (f, tgid);
  bool written = lt && lt->written;
  for (size_t i = 0; i < f->npend; i++)
    if (f->pend[i].death && f->pend[i].t.tgid == tgid && !f->pend[i].d.have)
      {
        f->pend[i].d = *d;
        emit (f, &f->pend[i]);
        pend_remove (f, i);
        return;
      }
  /* A thread that faults again lived through its last fault: that one is
   * written now (a handler that recovers in a loop keeps the queue short). */
  for (size_t i = 0; i < f->npend;)
    if (!f->pend[i].death && f->pend[i].fault_tid == tid)
      {
        emit (f, &f->pend[i]);
        pend_remove (f, i);
      }
    else
      i++;
  /* A report that comes after its process's death was written (a storm
   * wrote it without waiting): it is not a fault the process lived
   * through, and its death is in the log already. */
  if (written)
    return;
  /* Printed before the death (the usual order), or for a process that
   * survives it: wait to see which. */
  struct task *leader = task_find (f, tgid);
  struct pending p = { .t = leader ? *leader : *t, .fault_tid = tid, .death = false, .d = *d,
                       .deadline = now_ms () + KMSG_WAIT_MS };
  audit_time (p.time, sizeof p.time);
  if (f->npend >= PEND_MAX)
    return;   /* a storm: the report goes; the death it explains is written all the same */
  pend_add (f, &p);
}

void
faults_on_kmsg (struct faults *f)
{
  char buf[8192];
  for (;;)
    {
      ssize_t n = read (f->kmsg, buf, sizeof buf - 1);
      if (n < 0)
        {
          if (errno == EPIPE)
            continue;   /* older records were overwritten: read on */
          return;
        }
      if (n == 0)
        return;
      buf[n] = '\0';
      char *msg = strchr (buf, ';');
      if (msg == NULL)
        continue;
      msg++;
      char *nl = strchr (msg, '\n');
      if (nl)
        *nl = '\0';
      if (oom_victim (f, msg))
        continue;
      /* An AppArmor denial: the LSM wall's record (lsmaudit.c). */
      struct lsm_sink ls = { f->id, owns_task, f->out, f, f->out_ctx };
      int l = lsm_audit_kmsg (msg, &ls);
      f->unwritten += l < 0;
      if (l != 0)
        continue;
      pid_t tid;
      struct detail d;
      if (parse_report (msg, &tid, &d))
        attach_detail (f, tid, &d);
    }
}

/* ---- the BPF probe ---------------------------------------------------------- */

static void on_refused (struct faults *f, const struct moat_fault_event *e);

/* An event of a thread not known yet: it is the container's (the probe
 * filters by cgroup), its fork event just has not been read. */
static bool
keep_early (struct faults *f, const struct moat_fault_event *e)
{
  if (task_find (f, (pid_t) e->tid) != NULL)
    return false;
  if (f->n_early == f->cap_early)
    {
      if (f->cap_early >= 4096)
        return true;   /* a fork storm without exits: the oldest wait, these go */
      f->early = xrealloc (f->early, (f->cap_early = f->cap_early ? f->cap_early * 2 : 16) * sizeof *f->early);
    }
  f->early[f->n_early].e = *e;
  f->early[f->n_early].at = now_ms ();
  f->n_early++;
  return true;
}

static void
early_remove (struct faults *f, size_t i)
{
  memmove (&f->early[i], &f->early[i + 1], (f->n_early - i - 1) * sizeof *f->early);
  f->n_early--;
}

static void
on_bpf_event (void *ctx, const struct moat_fault_event *e)
{
  struct faults *f = ctx;
  if (keep_early (f, e))
    return;
  if (e->kind == MOAT_EV_REFUSED)
    {
      on_refused (f, e);
      return;
    }
  struct detail d = { .have = true, .bpf = true, .sig = e->sig, .code = e->code,
                      .ip = e->ip, .sp = e->sp, .error = e->error_code, .has_error = true };
  memcpy (d.comm, e->comm, sizeof e->comm);
  d.comm[sizeof e->comm] = '\0';
  const char *kind = NULL;
  /* The x86 exception vector the trap handler recorded in the thread. */
  switch (e->trap_nr)
    {
    case 14: kind = e->sig == SIGBUS ? "bus error" : "segfault"; d.has_addr = true; break;
    case 13: kind = "general protection fault"; break;
    case 6: kind = "invalid opcode"; break;
    case 0: kind = "divide error"; break;
    case 16: kind = "x87 floating-point exception"; break;
    case 19: kind = "SIMD floating-point exception"; break;
    case 17: kind = "alignment check"; d.has_addr = true; break;
    case 3: kind = "breakpoint"; break;
    case 1: kind = "debug trap"; break;
    default: break;
    }
  if (kind)
    snprintf (d.kind, sizeof d.kind, "%s", kind);
  else
    snprintf (d.kind, sizeof d.kind, "trap %llu", (unsigned long long) e->trap_nr);
  d.addr = e->addr;
  attach_detail (f, (pid_t) e->tid, &d);
}

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

static void
on_refused (struct faults *f, const struct moat_fault_event *e)
{
  struct task *t = task_find (f, (pid_t) e->tid);
  if (t == NULL || take_denied (f, (pid_t) e->tid, (long) e->nr))
    return;   /* not the container's, or the seccomp filter's (recorded) */
  struct task *leader = task_find (f, t->tgid);
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
  struct jbuf *j = rec_begin (f, NULL, r.wall, "refused");
  jb_int (j, "pid", who->tgid);
  jb_int (j, "tid", (long long) e->tid);
  put_nspid (j, who->nspid);
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
  rec_end (f, j);
}

static void
replay_early (struct faults *f, pid_t tid)
{
  for (size_t i = 0; i < f->n_early;)
    if ((pid_t) f->early[i].e.tid == tid)
      {
        struct moat_fault_event e = f->early[i].e;
        early_remove (f, i);
        on_bpf_event (f, &e);
      }
    else
      i++;
}

void
faults_on_bpf (struct faults *f)
{
  fault_bpf_consume (f->bpf);
  unsigned long long lost = fault_bpf_take_dropped (f->bpf);
  if (lost)
    lost_record (f, "BPF fault probe: its ring buffer was full; some fault details were dropped (the deaths "
                    "themselves are recorded from the connector)", (long long) lost);
}

int
faults_next_timeout (const struct faults *f)
{
  bool resync = f->filtered && f->alive > 0;
  if (f->npend == 0 && !resync)
    return -1;
  unsigned long long now = now_ms (), first = resync ? f->next_resync : f->pend[0].deadline;
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
      early_remove (f, i);
    else
      i++;
  if (f->filtered && now >= f->next_resync)
    {
      resync_hidden (f);
      f->next_resync = now + RESYNC_MS;
    }
  /* One pass, the queue kept in order: a storm's thousands of deaths
   * whose wait is over go at once, not one memmove each. */
  size_t keep = 0;
  for (size_t i = 0; i < f->npend; i++)
    if (flush || f->pend[i].deadline <= now)
      emit (f, &f->pend[i]);
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

unsigned long
faults_kmsg_ooms (struct faults *f, unsigned long i, pid_t *pid, pid_t *nspid, char *comm, size_t n)
{
  /* what the log holds now: the lines are there by the victims' exits */
  if (f->kmsg >= 0)
    faults_on_kmsg (f);
  *pid = 0;
  *nspid = -1;
  *comm = '\0';
  if (i < f->kmsg_ooms && i < sizeof f->oom_victims / sizeof f->oom_victims[0])
    {
      *pid = f->oom_victims[i].tgid;
      *nspid = f->oom_victims[i].nspid;
      snprintf (comm, n, "%s", f->oom_victims[i].comm);
    }
  return f->kmsg < 0 ? (unsigned long) -1 : f->kmsg_ooms;
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
  return f->cn;
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
  read_small ("/proc/2/stat", buf, sizeof buf);
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
      || ((f->filtered = cn_filter_to_cgroup (f, f->cn)), cn_subscribe (f->cn) < 0))
    {
      int e = errno;
      faults_close (f);
      return moat_error_set (err, e, "subscribe to the proc connector");
    }
  struct task init = { .tid = init_pid, .tgid = init_pid, .nspid = init_pid };
  task_refresh (&init);
  task_insert (f, &init);
  f->alive = 1;
  f->next_resync = now_ms () + RESYNC_MS;
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
  if (fault_bpf_open (f->cg_id, f->cg_level, refused, on_bpf_event, f, &f->bpf, err) < 0)
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
  struct task *old = task_find (f, pid);
  if (old && !old->dead)
    return;
  struct task t = { .tid = pid, .tgid = pid, .nspid = -1 };
  task_refresh (&t);
  task_insert (f, &t);
  f->alive++;
  __atomic_add_fetch (&f->gen, 1, __ATOMIC_RELEASE);
}

void
faults_close (struct faults *f)
{
  if (f == NULL)
    return;
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
