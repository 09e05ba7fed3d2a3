/* Unit tests for src/supcpu.c: on pure v2 the supervisor keeps within the
 * container's cpu.max, whatever the storm; debts are paid, idle time is no
 * credit. Time and CPU are simulated: one thread answering as fast as it
 * can, checking every 16 answers, as the listener does. */
#include "config-host.h"
#include "tap.h"

#include <stdint.h>

#include "supcpu.h"

#define MS 1000000LL

/* Run a storm for DURATION ns answering at COST ns each, checking every
 * 16th answer; CPU spent in total. */
static int64_t
storm (struct sup_cpu *c, int64_t start, int64_t duration, int64_t cost, int64_t *cpu)
{
  int64_t now = start, spent = 0;
  unsigned n = 0;
  while (now < start + duration)
    {
      now += cost;
      *cpu += cost;
      spent += cost;
      if ((++n & 15) == 0)
        {
          int64_t until = sup_cpu_step (c, now, *cpu);
          if (until)
            {
              CHECK (until > now);
              now = until;
            }
        }
    }
  return spent;
}

TEST (a_storm_stays_within_the_quota)
{
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, NULL);
  c.quota = 10 * MS, c.period = 100 * MS;
  int64_t cpu = 0;
  int64_t spent = storm (&c, 1000 * MS, 10000 * MS, 5000, &cpu);
  /* 10 s at 10%: 1 s, and at most one check's worth past the last period */
  fprintf (stderr, "# spent %lld ms of CPU in 10 s under 10 ms/100 ms\n", (long long) (spent / MS));
  CHECK (spent <= 1000 * MS + 16 * 5000 + 10 * MS);
  CHECK (spent >= 900 * MS);
}

/* THREADS answering threads taking turns on one CPU, each answer COST ns,
 * each checking at its 16th answer or at its next while sup_cpu_held (as
 * the listener does), for DURATION ns; CPU spent in total. A thread told to
 * wait sleeps until then; when all sleep, time jumps to the first waking. */
static int64_t
threads_storm (struct sup_cpu *c, int threads, int64_t duration, int64_t cost, int held_too)
{
  int64_t now = 1000 * MS, end = now + duration, cpu = 0, asleep[16] = { 0 };
  unsigned n[16] = { 0 };
  while (now < end)
    {
      int ran = 0;
      for (int t = 0; t < threads && now < end; t++)
        {
          if (asleep[t] > now)
            continue;
          ran = 1;
          now += cost;
          cpu += cost;
          if ((++n[t] & 15) == 0 || (held_too && sup_cpu_held (c)))
            asleep[t] = sup_cpu_step (c, now, cpu);
        }
      if (!ran)
        {
          int64_t first = end;
          for (int t = 0; t < threads; t++)
            if (asleep[t] > now && asleep[t] < first)
              first = asleep[t];
          now = first;
        }
    }
  return cpu;
}

TEST (eight_slow_threads_stay_within_the_quota)
{
  /* 8 threads, 100 us an answer (an emulated guest), 10 s at 10%: each
   * thread counting to 16 alone went past the cap every period; with the
   * hold every thread stops at its next answer. */
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, NULL);
  c.quota = 10 * MS, c.period = 100 * MS;
  int64_t before = threads_storm (&c, 8, 10000 * MS, 100000, 0);
  sup_cpu_init (&c, NULL, NULL);
  c.quota = 10 * MS, c.period = 100 * MS;
  int64_t spent = threads_storm (&c, 8, 10000 * MS, 100000, 1);
  fprintf (stderr, "# 8 threads at 100 us an answer, 10 s at 10%%: %lld ms counting alone, %lld ms with the hold\n",
           (long long) (before / MS), (long long) (spent / MS));
  CHECK (before > 1150 * MS);   /* the floor the hold removes (the simulation is right) */
  CHECK (spent <= 1000 * MS + 3 * 10 * MS);   /* what is owed at the end, at most */
  CHECK (spent >= 900 * MS);
}

TEST (no_quota_no_wait)
{
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, NULL);
  int64_t cpu = 0;
  int64_t spent = storm (&c, 1000 * MS, 1000 * MS, 5000, &cpu);
  CHECK (spent >= 1000 * MS);
}

TEST (a_debt_is_paid_in_later_periods)
{
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, NULL);
  c.quota = 10 * MS, c.period = 100 * MS;
  int64_t cpu = 0, now = 1000 * MS;
  CHECK (sup_cpu_step (&c, now, cpu) == 0);
  /* 30 ms spent at once (one long answer): over by 20 */
  cpu += 30 * MS;
  now += 30 * MS;
  int64_t until = sup_cpu_step (&c, now, cpu);
  CHECK (until == 1100 * MS);
  /* the next period starts owing 20 ms: still over, wait it out too */
  until = sup_cpu_step (&c, until, cpu);
  CHECK (until == 1200 * MS);
  /* the third owes 10, its whole quota: one more ns is over */
  CHECK (sup_cpu_step (&c, until, cpu) == 0);
  cpu += 1;
  until = sup_cpu_step (&c, until, cpu);
  CHECK (until == 1300 * MS);
  /* paid: the fourth period starts owing that ns only */
  CHECK (sup_cpu_step (&c, until, cpu) == 0);
  /* a huge debt is capped at four periods' quota */
  cpu += 10000 * MS;
  now = until + 10 * MS;
  int64_t waits = 0;
  for (until = sup_cpu_step (&c, now, cpu); until; until = sup_cpu_step (&c, until, cpu))
    waits++;
  CHECK (waits <= 6);
}

TEST (idle_time_is_no_credit)
{
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, NULL);
  c.quota = 10 * MS, c.period = 100 * MS;
  int64_t cpu = 0;
  CHECK (sup_cpu_step (&c, 1000 * MS, cpu) == 0);
  /* ten idle seconds, then a burst: only one quota before waiting */
  int64_t spent = storm (&c, 11000 * MS, 100 * MS, 5000, &cpu);
  /* (a check comes every 16 answers: up to two checks late, one each end) */
  CHECK (spent <= 10 * MS + 2 * 16 * 5000);
}

TEST (cpu_max_is_read)
{
  char path[] = "/tmp/moat-supcpu-XXXXXX";
  int fd = mkstemp (path);
  CHECK (fd >= 0);
  CHECK (write (fd, "20000 50000\n", 12) == 12);
  struct sup_cpu c;
  sup_cpu_init (&c, NULL, path);
  unlink (path);
  sup_cpu_charge (&c);
  CHECK (c.quota == 20 * MS && c.period == 50 * MS);
  /* `moat update` to no quota: followed at the next period */
  CHECK (ftruncate (fd, 0) == 0 && pwrite (fd, "max 100000\n", 11, 0) == 11);
  c.period_end = 1;
  sup_cpu_charge (&c);
  CHECK (c.quota == 0 && c.period == 100 * MS);
  close (fd);
}

TAP_MAIN (CASE (a_storm_stays_within_the_quota), CASE (eight_slow_threads_stay_within_the_quota), CASE (no_quota_no_wait),
          CASE (a_debt_is_paid_in_later_periods),
          CASE (idle_time_is_no_credit), CASE (cpu_max_is_read))
