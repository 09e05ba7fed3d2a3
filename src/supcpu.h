/* moat — the supervisor's CPU on the container's account.
 *
 * What the supervisor does for a container's calls (answer, decide, record)
 * is the container's work: a container capped at 10% of a CPU storming
 * denials from 8 threads made the supervisor spend four times what the
 * container itself got. Two ways to make the container pay, by layout:
 *   v1, hybrid: a thread alone can join a cpu cgroup, so each thread that
 *     answers calls joins the container's, for good; its cpu limits count
 *     the answers (sup_cpu_join).
 *   pure v2: a process's threads share one cgroup (outside a threaded
 *     subtree), and the supervisor in the container's would count in its
 *     pids.max and be frozen, listed and killed with it. There the
 *     supervisor keeps itself within the container's own cpu.max: the CPU
 *     it spends in one of the container's periods is at most the quota,
 *     and what it spends past it is paid back by waiting in the next ones
 *     (sup_cpu_charge). The host pays at most the container's quota twice;
 *     a container without a quota is bounded by nothing but the host's CPUs,
 *     as the container itself is.
 * Thread-safe. */
#ifndef MOAT_SUPCPU_H
#define MOAT_SUPCPU_H

#include <stdint.h>
#include <pthread.h>

struct sup_cpu
{
  const char *tasks;        /* v1: the container's cpu cgroup "tasks"; NULL: none */
  int max_fd;               /* v2: its cpu.max, read each period; -1: none */
  pthread_mutex_t lock;
  int64_t quota, period;    /* ns; quota 0: no cap */
  int64_t period_end;       /* CLOCK_MONOTONIC ns; 0: no period started */
  int64_t cpu_start;        /* the supervisor's CPU (ns) that counts from this period's start */
  int64_t hold;             /* CLOCK_MONOTONIC ns the last check said to wait until; 0: none
                             * (atomic: every answering thread reads it, see sup_cpu_held) */
};

/* TASKS (v1) or MAX (v2's cpu.max path) or neither; both are only read. */
void sup_cpu_init (struct sup_cpu *c, const char *tasks, const char *max);

/* An answering thread, once, first: into the container's cpu cgroup (v1). */
void sup_cpu_join (struct sup_cpu *c);

/* After some answers (every 16th), and after every answer while
 * sup_cpu_held: within the container's quota, or wait (v2). Costs a clock
 * read and, once a period, a read of cpu.max. */
void sup_cpu_charge (struct sup_cpu *c);

/* Whether a check found the supervisor past the quota: then every thread
 * checks at its next answer, not at its 16th. (Each thread counting to 16
 * on its own let 8 threads answer 128 calls past the cap each period: a
 * floor above the quota where an answer costs 100 us, as under emulation.) */
static inline int
sup_cpu_held (struct sup_cpu *c)
{
  return __atomic_load_n (&c->hold, __ATOMIC_RELAXED) != 0;
}

/* The accounting itself, for the unit test: at NOW with the supervisor's CPU
 * at CPU, the time to wait until (0: none; also what sup_cpu_held says). Starts a period when the last
 * one ended; what was spent past a period's quota counts in the next one
 * (up to four periods' worth: a debt past that is forgiven, not carried). */
int64_t sup_cpu_step (struct sup_cpu *c, int64_t now, int64_t cpu);

#endif
