/* moat — the supervisor's insides, shared by its three files and by no one
 * else (internal: nothing outside supervisor*.c includes it):
 *   supervisor.c         the process: spawn, the main loop (listeners
 *                        arriving, sup.sock, the cgroup and fault walls),
 *                        the messages to it;
 *   supervisor-listen.c  the listener threads: take a call down, answer it;
 *   supervisor-record.c  what becomes a record: the syscall names, the
 *                        formats, the spool's formatter and the recovery of
 *                        a dead supervisor's spool.
 * The listener and the record files call only down (into the record file,
 * the walls and the ground), never into supervisor.c. */
#ifndef MOAT_SUPERVISOR_INT_H
#define MOAT_SUPERVISOR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "decode.h"
#include "jbuf.h"
#include "supcpu.h"
#include "supervisor.h"

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
  int native[NAME_SLOTS];         /* the rules' number for the name (sup_syscall_name's KEY) */
  uint8_t paths[NAME_SLOTS];      /* which arguments are strings to read */
  bool known[NAME_SLOTS];
};

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
  /* The caches and buffers last: the fields above share the mapping's
   * first page, so a thread that has answered nothing (an idle container's,
   * a standby never woken) keeps that one page resident, not also the last
   * one (8 kB less per idle supervisor, two threads per listener). */
  struct task_info tasks[TASK_SLOTS];   /* tid -> tgid, nspid, comm */
  struct name_cache names[3];
  struct jbuf rec;
  char cap[CALL_MAX] __attribute__ ((aligned (8)));   /* the record being taken down (a call_rec) */
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

/* supervisor-record.c */
const char *sup_syscall_name (struct name_cache *names, uint32_t arch, int nr, int *key, const char **spec,
                              uint8_t *paths);
void sup_names_free (struct name_cache *names);
int sup_log (struct sup *s, const struct jbuf *j);
void sup_notice (struct sup *s, const char *what);
void sup_notice_lost (struct sup *s, const char *what, long long lost);
void sup_format_call (struct jbuf *j, const struct call_rec *r, const char *strs, size_t slen, const char *id,
                      const char *policy, struct name_cache *names);
void sup_format_rec (struct jbuf *out, uint32_t type, const void *p, size_t n, const char *id, const char *policy,
                     void *ctx);
void sup_flush_aggregates (struct sup *s);

/* supervisor-listen.c */
int sup_listener_start (struct sup *s, int fd);
void sup_listener_stop (struct sup *s, int fd);
void sup_on_wake (int sig);

#endif
