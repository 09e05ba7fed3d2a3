/* moat — the audit spool: a ring of records in a file beside the audit log
 * (AUDIT_DIR/ID.spool), mapped shared by the supervisor.
 *
 * Why: a denied call waits in the kernel until the supervisor answers, and
 * the record must be safe before the answer. write(2) to the log cost about
 * 2.4 µs of the ~10 µs a denial took here; a copy into a shared file mapping
 * is as safe against the supervisor's death (the page cache holds it, as it
 * holds a write) and costs a memcpy. A thread of the supervisor formats
 * what the ring holds and appends it to the log in batches, on the other
 * CPU. If the supervisor dies with records in the ring, whoever comes next
 * (`moat delete`, `moat audit`, a create reusing the id) appends them:
 * exactly once, because the header says how long the log was when the ring
 * was last emptied into it, and formatting is a pure function of the
 * record. A flock on the spool tells a live supervisor from a dead one. */
#ifndef MOAT_SPOOL_H
#define MOAT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct jbuf;
struct spool;

/* Record types: a finished JSON line; how many records the log refused
 * (a struct spool_lost, formatted as a notice); 16 and up are the
 * formatter's. */
#define SPOOL_TEXT 1
#define SPOOL_LOST 2

struct spool_lost
{
  uint64_t count;
  int64_t sec, nsec;                    /* when the last was refused */
};

/* Formats record TYPE (payload P of N bytes) as one JSON line onto OUT.
 * ID and POLICY come from the spool's header. Must give the same bytes for
 * the same record whichever process runs it (recovery depends on it). */
typedef void (*spool_format_fn) (struct jbuf *out, uint32_t type, const void *p, size_t n, const char *id,
                                 const char *policy, void *ctx);

char *spool_path (const char *dir, const char *id);

/* Create ID's spool (replacing none: an older one must be recovered first)
 * and lock it; the lock is the supervisor's once it inherits FD. */
int spool_create (const char *dir, const char *id, const char *policy, int *fd, moat_error **err);
/* Undo spool_create (create failed before a supervisor took it). */
void spool_discard (const char *dir, const char *id, int fd);

/* In the supervisor: map FD and start the thread that empties the ring
 * into LOG_FD. PATH is unlinked by spool_finish. FMT runs on that thread,
 * with CTX. */
int spool_start (int fd, int log_fd, const char *path, spool_format_fn fmt, void *ctx, struct spool **out,
                 moat_error **err);
/* Append one record; waits for room if the ring is full (the thread
 * always makes room: a log that refuses writes loses the records, counted
 * and written down as a notice once it takes writes again). -1 if it can
 * never fit. Any thread. */
int spool_put (struct spool *sp, uint32_t type, const void *p, size_t n);
/* Returns once everything put before the call is in the log (or counted
 * as refused). */
void spool_flush (struct spool *sp);
/* The log's size as the thread last wrote it (0 without a spool): what
 * the budget's size cap is held against (a batch behind, at most). */
uint64_t spool_log_size (struct spool *sp);
/* Empty the ring, end the thread, say what the log refused (a notice of
 * its own), remove the file; if the log refuses that notice too, the file
 * stays with the count in it for spool_recover. Returns 0 (what the log
 * refused is always said, now or by the recovery). */
unsigned long long spool_finish (struct spool *sp);

/* What a supervisor that died left in ID's spool: appended to the log,
 * then the spool is removed. *N: records appended. Returns 0 (also when
 * there is no spool), 1 when a live supervisor holds it, -1 on error. */
int spool_recover (const char *dir, const char *id, spool_format_fn fmt, void *ctx, unsigned long long *n,
                   moat_error **err);

#endif
