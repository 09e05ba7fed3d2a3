/* moat — the fault tracker's insides, shared by its files and by no one
 * else (the supervisor uses faults.h). The tracker is split by what feeds
 * it and what it writes, each file using only those below it:
 *   faults.c          the tracker's face: open, close, timeouts, the tick
 *   fault-connector.c the proc connector: forks, execs, exits
 *   fault-node.c      the node's one connector socket, shared by every supervisor
 *   fault-kmsg.c      the kernel log: fault reports, OOM kills, LSM lines
 *   fault-probe.c     the BPF probe's events (faults-bpf.c loads it)
 *   fault-refused.c   syscalls the kernel refused: which wall, and the record
 *   fault-records.c   the records, the deaths waiting for their detail
 *   fault-tasks.c     the table of the container's tasks
 * The structs are here because every one of them reads the tracker's
 * state; the functions below are each file's part the others call. */
#ifndef MOAT_FAULTS_INT_H
#define MOAT_FAULTS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "audit.h"
#include "faults.h"
#include "fault-event.h"
#include "util.h"

#define KMSG_WAIT_MS 250    /* how long a death waits for its kernel report */
#define DEAD_KEEP_MS 2000   /* how long an exited task is remembered (late kmsg lines) */
#define RESYNC_MS 2000      /* with the cgroup filter: how often to look for exits it hid */
#define RESYNC_SOON_MS 50   /* the same while processes found gone wait for a second look */
/* A container keeps its own connector socket (and its 16 MB of buffer)
 * until it has been quiet this long, from its start and from its last
 * process event: a storm does not move to the node's small ring. */
#define NODE_AFTER_MS 100
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
  int cn, kmsg;                   /* cn: a connector socket of its own (-1 on the node's) */
  struct node *node;              /* the node's shared connector (fault-node.c), or NULL */
  struct node_reg *reg;           /* its registration, while a thread makes it */
  bool node_tried;
  unsigned long long opened_ms, last_event_ms;   /* (last_event_ms: its own socket's) */
  bool recording;                 /* from registering to the hand-over: */
  struct seen *seen;              /* events the own socket gave meanwhile */
  size_t nseen;
  bool seen_full;
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

static inline unsigned long long
now_ms (void)
{
  return now_usec () / 1000;
}

/* fault-tasks.c */
struct task *fault_task_find (struct faults *f, pid_t tid);
struct task *fault_task_insert (struct faults *f, const struct task *t);
void fault_read_small (const char *path, char *buf, size_t n);
void fault_task_refresh (struct task *t);

/* fault-records.c */
struct jbuf *fault_rec_begin (struct faults *f, const char *time, const char *wall, const char *kind);
void fault_rec_end (struct faults *f, struct jbuf *j);
void fault_put_nspid (struct jbuf *j, pid_t nspid);
void fault_emit (struct faults *f, struct pending *p);
void fault_pend_add (struct faults *f, const struct pending *p);
void fault_pend_remove (struct faults *f, size_t i);
void fault_lost_record (struct faults *f, const char *what, long long count);
void fault_attach_detail (struct faults *f, pid_t tid, const struct detail *d);

/* fault-refused.c */
void fault_on_refused (struct faults *f, const struct moat_fault_event *e);

/* fault-probe.c */
void fault_early_remove (struct faults *f, size_t i);
void fault_on_bpf_event (void *ctx, const struct moat_fault_event *e);
void fault_replay_early (struct faults *f, pid_t tid);

/* fault-node.c (also the subscription both kinds of socket send) */
struct proc_event;
int fault_cn_subscribe (int s);
int fault_node_begin (struct faults *f);
void fault_node_reap (struct faults *f);
int fault_node_ready (struct faults *f);
void fault_node_take (struct faults *f);
void fault_node_leave (struct faults *f);
void fault_node_seen (struct faults *f, const struct proc_event *ev);
void fault_node_seen_done (struct faults *f);
bool fault_node_was_seen (const struct faults *f, const struct proc_event *ev);
void fault_node_drain_pending (struct faults *f, void (*fn) (struct faults *, const struct proc_event *));
uint64_t fault_node_pending_drops (struct faults *f);
int fault_node_fd (const struct faults *f);
bool fault_node_waiting (const struct faults *f);
uint64_t fault_node_drain (struct faults *f, void (*fn) (struct faults *, const struct proc_event *),
                          uint64_t *deaths);

/* fault-connector.c */
void fault_cn_hand_over_if_ready (struct faults *f);
bool fault_cn_filter_to_cgroup (struct faults *f, int s);
void fault_resync_hidden (struct faults *f);

#endif
