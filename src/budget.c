#include "config-host.h"
#include "budget.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct kinds of call counted in one interval before the rest share
 * one entry: a storm is a few kinds; a table this size is 40 KiB. */
#define AGG_SLOTS 512

struct budget
{
  struct audit_budget cfg;
  /* The token bucket, lock-free (every call of a storm takes from it, from
   * the answering thread of each CPU): millitokens, and the millisecond
   * it was last refilled. */
  uint64_t tokens;
  uint64_t refilled_ms;
  int past;                    /* what held last: PAST_RATE or PAST_SIZE */
  char why[80];
  pthread_mutex_t lock;        /* the table */
  struct agg_entry *slots;     /* AGG_SLOTS, count 0 = free */
  size_t used;
  uint64_t overflow_count;     /* calls of kinds the table had no room for */
  struct timespec overflow_first, overflow_last;
  struct agg_key overflow_key;
  struct timespec last_drain;
};

enum { PAST_NONE, PAST_RATE, PAST_SIZE };

static uint64_t
mono_ms (const struct timespec *t)
{
  return (uint64_t) t->tv_sec * 1000 + (uint64_t) t->tv_nsec / 1000000;
}

int
budget_parse_size (const char *s, uint64_t *out, const char *what, moat_error **err)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10, end++;
  else if (*end == 'M' || *end == 'm')
    shift = 20, end++;
  else if (*end == 'G' || *end == 'g')
    shift = 30, end++;
  if (*end == 'B' || *end == 'b')
    end++;
  if (*s == '\0' || *s == '-' || *end != '\0' || errno || (shift && v > (~0ULL >> shift)))
    {
      cleanup_free char *shown = str_printable (s);
      return moat_error_set (err, 0, "%s: `%s` is not a size (bytes, or with K, M or G; 0 for no cap)", what, shown);
    }
  *out = (uint64_t) v << shift;
  return 0;
}

int
budget_parse_count (const char *s, uint32_t *out, const char *what, moat_error **err)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul (s, &end, 10);
  if (*s == '\0' || *s == '-' || *end != '\0' || errno || v > UINT32_MAX)
    {
      cleanup_free char *shown = str_printable (s);
      return moat_error_set (err, 0, "%s: `%s` is not a count (0 for no limit)", what, shown);
    }
  *out = (uint32_t) v;
  return 0;
}

struct budget *
budget_new (const struct audit_budget *cfg)
{
  struct budget *b = xmalloc0 (sizeof *b);
  b->cfg = *cfg;
  if (b->cfg.rate && b->cfg.burst == 0)
    b->cfg.burst = b->cfg.rate;
  pthread_mutex_init (&b->lock, NULL);
  b->tokens = (uint64_t) b->cfg.burst * 1000;
  clock_gettime (CLOCK_MONOTONIC, &b->last_drain);
  b->refilled_ms = mono_ms (&b->last_drain);
  b->slots = xmap0 (AGG_SLOTS * sizeof *b->slots);
  snprintf (b->overflow_key.comm, sizeof b->overflow_key.comm, "*");
  b->overflow_key.nr = -1;
  return b;
}

void
budget_free (struct budget *b)
{
  if (b == NULL)
    return;
  pthread_mutex_destroy (&b->lock);
  xunmap0 (b->slots, AGG_SLOTS * sizeof *b->slots);
  free (b);
}

static uint64_t
ms_between (const struct timespec *a, const struct timespec *b)
{
  int64_t ms = (int64_t) (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
  return ms > 0 ? (uint64_t) ms : 0;
}

bool
budget_take (struct budget *b, uint64_t log_size)
{
  if (b->cfg.max_size && log_size >= b->cfg.max_size)
    {
      __atomic_store_n (&b->past, PAST_SIZE, __ATOMIC_RELAXED);
      return false;
    }
  if (b->cfg.rate == 0)
    return true;
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  uint64_t ms = mono_ms (&now), last = __atomic_load_n (&b->refilled_ms, __ATOMIC_RELAXED);
  /* One thread wins each millisecond's refill: a millisecond of rate, in
   * millitokens, up to the burst. */
  if (ms > last && __atomic_compare_exchange_n (&b->refilled_ms, &last, ms, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    {
      uint64_t cap = (uint64_t) b->cfg.burst * 1000, add = (ms - last) * b->cfg.rate;
      uint64_t t = __atomic_load_n (&b->tokens, __ATOMIC_RELAXED);
      while (!__atomic_compare_exchange_n (&b->tokens, &t, t + add > cap ? cap : t + add, true, __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED))
        ;
    }
  uint64_t t = __atomic_load_n (&b->tokens, __ATOMIC_RELAXED);
  while (t >= 1000)
    if (__atomic_compare_exchange_n (&b->tokens, &t, t - 1000, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return true;
  __atomic_store_n (&b->past, PAST_RATE, __ATOMIC_RELAXED);
  return false;
}

static bool
same_key (const struct agg_key *a, const struct agg_key *b)
{
  return a->kind == b->kind && a->nr == b->nr && a->arch == b->arch && a->eno == b->eno && a->action == b->action
         && a->has_rule == b->has_rule && a->source == b->source && strncmp (a->comm, b->comm, sizeof a->comm) == 0;
}

static uint64_t
hash_key (const struct agg_key *k)
{
  /* FNV-1a over the fields (not the struct: its padding is not ours). */
  uint64_t h = 1469598103934665603ULL;
#define MIX(x) do { uint64_t v_ = (uint64_t) (x); for (int i_ = 0; i_ < 8; i_++) { h ^= v_ & 0xff; h *= 1099511628211ULL; v_ >>= 8; } } while (0)
  MIX (k->kind);
  MIX (k->nr);
  MIX (k->arch);
  MIX (k->eno);
  MIX (k->action);
  MIX (k->has_rule);
  MIX (k->source);
  for (size_t i = 0; i < sizeof k->comm && k->comm[i]; i++)
    MIX ((unsigned char) k->comm[i]);
#undef MIX
  return h;
}

void
budget_count (struct budget *b, const struct agg_key *k, const struct timespec *at)
{
  pthread_mutex_lock (&b->lock);
  size_t i = (size_t) (hash_key (k) % AGG_SLOTS);
  /* Open addressing; a table three quarters full takes no new kind. */
  for (size_t probes = 0; probes < AGG_SLOTS; probes++, i = (i + 1) % AGG_SLOTS)
    {
      struct agg_entry *e = &b->slots[i];
      if (e->count && same_key (&e->key, k))
        {
          e->count++;
          e->last = *at;
          goto out;
        }
      if (e->count == 0)
        {
          if (b->used >= AGG_SLOTS * 3 / 4)
            break;
          e->key = *k;
          e->key.comm[sizeof e->key.comm - 1] = '\0';
          e->count = 1;
          e->first = e->last = *at;
          b->used++;
          goto out;
        }
    }
  if (b->overflow_count++ == 0)
    b->overflow_first = *at;
  b->overflow_last = *at;
out:
  pthread_mutex_unlock (&b->lock);
}

static int
interval_ms (const struct budget *b, uint64_t log_size)
{
  return b->cfg.max_size && log_size >= b->cfg.max_size ? 60000 : 1000;
}

int
budget_timeout (struct budget *b, uint64_t log_size)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  pthread_mutex_lock (&b->lock);
  int r = -1;
  if (b->used || b->overflow_count)
    {
      uint64_t since = ms_between (&b->last_drain, &now);
      int iv = interval_ms (b, log_size);
      r = since >= (uint64_t) iv ? 0 : iv - (int) since;
    }
  pthread_mutex_unlock (&b->lock);
  return r;
}

void
budget_drain (struct budget *b, struct agg_entry **out, size_t *n)
{
  pthread_mutex_lock (&b->lock);
  size_t k = 0;
  struct agg_entry *v = xmalloc0 ((b->used + 1) * sizeof *v);
  for (size_t i = 0; i < AGG_SLOTS; i++)
    if (b->slots[i].count)
      {
        v[k++] = b->slots[i];
        memset (&b->slots[i], 0, sizeof b->slots[i]);
      }
  if (b->overflow_count)
    v[k++] = (struct agg_entry) { .key = b->overflow_key, .count = b->overflow_count, .first = b->overflow_first,
                                  .last = b->overflow_last };
  b->used = 0;
  b->overflow_count = 0;
  clock_gettime (CLOCK_MONOTONIC, &b->last_drain);
  pthread_mutex_unlock (&b->lock);
  *out = v;
  *n = k;
}

const char *
budget_why (struct budget *b)
{
  switch (__atomic_load_n (&b->past, __ATOMIC_RELAXED))
    {
    case PAST_SIZE:
      snprintf (b->why, sizeof b->why, "the log reached its size, %llu bytes", (unsigned long long) b->cfg.max_size);
      return b->why;
    case PAST_RATE:
      snprintf (b->why, sizeof b->why, "over %u records a second", b->cfg.rate);
      return b->why;
    default:
      return "over the audit budget";
    }
}
