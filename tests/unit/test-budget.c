/* Unit tests for src/budget.c: the log's budget counts every call, in full
 * or in an aggregate, whatever the threads and the kinds of call. */
#include "config-host.h"
#include "tap.h"

#include <pthread.h>
#include <stdint.h>

#include "budget.h"
#include "util.h"

struct worker
{
  struct budget *b;
  int kinds;
  long calls, full;
};

static void *
work (void *arg)
{
  struct worker *w = arg;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  for (long i = 0; i < w->calls; i++)
    {
      if (budget_take (w->b, 0))
        {
          w->full++;
          continue;
        }
      struct agg_key k = { .nr = (int32_t) (i % w->kinds), .arch = 0xc000003e, .action = 4, .eno = 1 };
      snprintf (k.comm, sizeof k.comm, "t");
      budget_count (w->b, &k, &now);
    }
  return NULL;
}

static uint64_t
drained (struct budget *b, size_t *kinds, bool *overflow)
{
  struct agg_entry *v;
  size_t n;
  budget_drain (b, &v, &n);
  uint64_t sum = 0;
  *overflow = false;
  for (size_t i = 0; i < n; i++)
    {
      sum += v[i].count;
      *overflow |= strcmp (v[i].key.comm, "*") == 0;
    }
  *kinds = n;
  free (v);
  return sum;
}

/* Four threads at once past a tight rate: full records plus counts are
 * every call. */
TEST (every_call_counted_across_threads)
{
  struct audit_budget cfg = { .rate = 100, .burst = 50 };
  struct budget *b = budget_new (&cfg);
  struct worker w[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    {
      w[i] = (struct worker) { .b = b, .kinds = 3, .calls = 20000 };
      CHECK (pthread_create (&t[i], NULL, work, &w[i]) == 0);
    }
  long full = 0;
  for (int i = 0; i < 4; i++)
    {
      pthread_join (t[i], NULL);
      full += w[i].full;
    }
  size_t kinds;
  bool overflow;
  uint64_t counted = drained (b, &kinds, &overflow);
  CHECK (full >= 50 && full < 1000);   /* the burst and the rate's share, not the 80,000 */
  CHECK ((uint64_t) full + counted == 80000);
  CHECK (kinds == 3 && !overflow);
  CHECK_CONTAINS (budget_why (b), "over 100 records a second");
  /* Drained: nothing left to say. */
  CHECK (budget_timeout (b, 0) == -1);
  budget_free (b);
}

/* More kinds than the table tells apart: the rest share one entry, still
 * counted. */
TEST (too_many_kinds_share_one_entry)
{
  struct audit_budget cfg = { .rate = 1, .burst = 1 };
  struct budget *b = budget_new (&cfg);
  struct worker w = { .b = b, .kinds = 2000, .calls = 10000 };
  work (&w);
  size_t kinds;
  bool overflow;
  uint64_t counted = drained (b, &kinds, &overflow);
  CHECK ((uint64_t) w.full + counted == 10000);
  CHECK (overflow && kinds <= 385);
  budget_free (b);
}

/* A log past its size: only aggregates, said every minute. */
TEST (past_the_size_only_aggregates)
{
  struct audit_budget cfg = { .max_size = 1000 };
  struct budget *b = budget_new (&cfg);
  CHECK (budget_take (b, 999));
  CHECK (!budget_take (b, 1000));
  struct agg_key k = { .nr = 83 };
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  budget_count (b, &k, &now);
  int t = budget_timeout (b, 1000);
  CHECK (t > 1000 && t <= 60000);
  CHECK_CONTAINS (budget_why (b), "the log reached its size, 1000 bytes");
  budget_free (b);
}

TEST (sizes_and_counts_parse)
{
  uint64_t v;
  uint32_t c;
  moat_error *e = NULL;
  CHECK (budget_parse_size ("64M", &v, "x", &e) == 0 && v == 64ULL << 20);
  CHECK (budget_parse_size ("0", &v, "x", &e) == 0 && v == 0);
  CHECK (budget_parse_size ("512k", &v, "x", &e) == 0 && v == 512 * 1024);
  CHECK (budget_parse_size ("lots", &v, "--audit-max-size", &e) < 0);
  CHECK_CONTAINS (e->msg, "--audit-max-size: `lots` is not a size");
  moat_error_free (&e);
  CHECK (budget_parse_size ("-1", &v, "x", &e) < 0);
  moat_error_free (&e);
  CHECK (budget_parse_count ("1000", &c, "x", &e) == 0 && c == 1000);
  CHECK (budget_parse_count ("99999999999", &c, "x", &e) < 0);
  moat_error_free (&e);
}

TAP_MAIN (CASE (every_call_counted_across_threads), CASE (too_many_kinds_share_one_entry),
          CASE (past_the_size_only_aggregates), CASE (sizes_and_counts_parse))
