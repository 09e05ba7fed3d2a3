/* moat — the audit log's budget: how much of a container's log may be
 * records in full, and the counting of what comes past it.
 *
 * A container is the adversary its log records: a storm of denied calls
 * with 4,000-byte paths wrote 87 MB/s. Within the budget every call is a
 * record in full; past it (a rate, records a second with a burst, or a
 * size the log has reached), calls are aggregated: one record per (wall,
 * syscall, ABI, rule, outcome, comm) per interval, with the count. The
 * sum of full records and counts is every event, always. Aggregating is
 * also cheaper than a record in full (no string is read from the caller):
 * a storm past the budget costs the host less.
 *
 * Thread-safe: the supervisor's answering threads take from it at once. */
#ifndef MOAT_BUDGET_H
#define MOAT_BUDGET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

struct audit_budget
{
  uint64_t max_size;   /* bytes of log past which only aggregates are written; 0: no cap */
  uint32_t rate;       /* full records a second, sustained; 0: no limit */
  uint32_t burst;      /* ... and at once (the bucket's depth) */
};

/* The built-in default: 64 MiB, 1,000 records a second, bursts of 20,000. */
#define AUDIT_BUDGET_DEFAULT { .max_size = 64ULL << 20, .rate = 1000, .burst = 20000 }

/* "64M", "0" (no cap)...: bytes with an optional K, M or G. */
int budget_parse_size (const char *s, uint64_t *out, const char *what, moat_error **err);
/* A count: "1000", "0" (no limit). */
int budget_parse_count (const char *s, uint32_t *out, const char *what, moat_error **err);

/* What a call past the budget is counted under. */
enum { AGG_CALL, AGG_DEATH, AGG_FAULT, AGG_REFUSED };   /* what an entry counts */

struct agg_key
{
  uint8_t kind;        /* AGG_*: a call (nr, arch, action...), a death or a fault survived (nr: the signal),
                          a call the kernel refused (nr, eno) */
  int32_t nr;
  uint32_t arch;
  uint32_t eno;
  uint8_t action, has_rule;
  uint64_t source;
  char comm[16];
};

struct agg_entry
{
  struct agg_key key;
  uint64_t count;
  struct timespec first, last;
};

struct budget;
struct budget *budget_new (const struct audit_budget *cfg);
void budget_free (struct budget *b);

/* May this call be a record in full? LOG_SIZE: the log's size now (as the
 * spool last wrote it). Takes a token when it may. */
bool budget_take (struct budget *b, uint64_t log_size);

/* Count a call past the budget, at AT. Never fails: a full table counts
 * into one entry whose comm is "*". */
void budget_count (struct budget *b, const struct agg_key *k, const struct timespec *at);

/* Milliseconds until what was counted is due to be written: 0 now, -1
 * nothing counted. It is due every second, every minute once the log is
 * past max_size (so that it grows a line a minute per kind of call). */
int budget_timeout (struct budget *b, uint64_t log_size);

/* Take what was counted (the table is emptied): *OUT, *N entries, for the
 * caller to write and free. */
void budget_drain (struct budget *b, struct agg_entry **out, size_t *n);

/* Why the entries are aggregates, for the records: "rate 1000/s" or
 * "size 64 MiB" (whichever held last). */
const char *budget_why (struct budget *b);

#endif
