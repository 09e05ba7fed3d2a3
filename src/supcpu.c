/* moat — the supervisor's CPU on the container's account (supcpu.h). */
#include "config-host.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supcpu.h"
#include "util.h"

#define NS_PER_S 1000000000LL
#define DEBT_PERIODS 4

void
sup_cpu_init (struct sup_cpu *c, const char *tasks, const char *max)
{
  memset (c, 0, sizeof *c);
  c->tasks = tasks;
  c->max_fd = max ? open (max, O_RDONLY | O_CLOEXEC) : -1;
  c->period = NS_PER_S / 10;
  pthread_mutex_init (&c->lock, NULL);
}

void
sup_cpu_join (struct sup_cpu *c)
{
  if (c->tasks == NULL)
    return;
  cleanup_close int fd = open (c->tasks, O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && write (fd, "0", 1) != 1)
    log_debug ("supervisor: an answering thread stays out of the container's cpu cgroup: %s", strerror (errno));
}

/* cpu.max: "QUOTA PERIOD" in us, or "max PERIOD". Read afresh each period,
 * so `moat update` is followed within one. Unreadable: the last one read. */
static void
read_max (struct sup_cpu *c)
{
  char buf[64];
  ssize_t n = pread (c->max_fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return;
  buf[n] = '\0';
  unsigned long long q = 0, p = 0;
  if (strncmp (buf, "max", 3) == 0)
    {
      if (sscanf (buf + 3, "%llu", &p) == 1 && p > 0)
        c->period = (int64_t) p * 1000;
      c->quota = 0;
    }
  else if (sscanf (buf, "%llu %llu", &q, &p) == 2 && p > 0)
    {
      c->quota = (int64_t) q * 1000;
      c->period = (int64_t) p * 1000;
    }
}

static int64_t
step (struct sup_cpu *c, int64_t now, int64_t cpu)
{
  if (c->period_end == 0 || c->quota == 0)
    {
      c->period_end = now + c->period;
      c->cpu_start = cpu;
      return 0;
    }
  if (now >= c->period_end)
    {
      /* Each period that went by allowed a quota; what was spent past them
       * all is owed to the next. */
      int64_t periods = 1 + (now - c->period_end) / c->period;
      int64_t over = cpu - c->cpu_start - c->quota * periods;
      if (over < 0)
        over = 0;
      if (over > DEBT_PERIODS * c->quota)
        over = DEBT_PERIODS * c->quota;
      c->cpu_start = cpu - over;
      c->period_end = now + c->period;
    }
  return cpu - c->cpu_start > c->quota ? c->period_end : 0;
}

int64_t
sup_cpu_step (struct sup_cpu *c, int64_t now, int64_t cpu)
{
  int64_t until = step (c, now, cpu);
  __atomic_store_n (&c->hold, until, __ATOMIC_RELAXED);
  return until;
}

static int64_t
clock_ns (clockid_t id)
{
  struct timespec ts;
  clock_gettime (id, &ts);
  return (int64_t) ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void
sup_cpu_charge (struct sup_cpu *c)
{
  if (c->max_fd < 0)
    return;
  int64_t now = clock_ns (CLOCK_MONOTONIC);
  /* The whole supervisor: its answering threads, the thread writing the
   * spool's records, the main thread's records of faults; all of it is
   * for this one container. */
  int64_t cpu = clock_ns (CLOCK_PROCESS_CPUTIME_ID);
  pthread_mutex_lock (&c->lock);
  if (now >= c->period_end)
    read_max (c);
  int64_t until = sup_cpu_step (c, now, cpu);
  pthread_mutex_unlock (&c->lock);
  if (until)
    {
      struct timespec ts = { .tv_sec = until / NS_PER_S, .tv_nsec = until % NS_PER_S };
      while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    }
}
