/* moat — the audit log: one JSON object per line in AUDIT_DIR/ID.jsonl, each
 * appended with a single write(2) so concurrent writers never interleave.
 * The log outlives `moat delete`; a new container with the same id rotates
 * the old file to ID.jsonl.N instead of overwriting it. */
#ifndef MOAT_AUDIT_H
#define MOAT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "jbuf.h"   /* the record writer: audit_notice and audit_write take a struct jbuf */

#define MOAT_DEFAULT_AUDIT_DIR "/var/log/moat"

/* Open (creating the directory, rotating an old log) for appending. */
int audit_log_create (const char *dir, const char *id, int *fd, moat_error **err);
char *audit_path (const char *dir, const char *id);
/* A log file name: ID.jsonl or ID.jsonl.N; its ID into ID (a valid id). */
bool audit_log_name_id (const char *name, char *id, size_t n);

/* "2026-11-24T06:30:00.123456789Z" into buf (>= 40 bytes). */
void audit_time (char *buf, size_t n);
/* The same for a time taken earlier. */
struct timespec;
void audit_time_at (const struct timespec *at, char *buf, size_t n);

/* What the audit directory keeps of the logs of containers that are gone
 * (deleted): those younger than MAX_AGE seconds, newest first, up to
 * MAX_TOTAL bytes in all (0: no limit on either). */
struct audit_retention
{
  uint64_t max_age;     /* seconds; default 30 days */
  uint64_t max_total;   /* bytes; default 1 GiB */
};
#define AUDIT_RETENTION_DEFAULT { .max_age = 30 * 24 * 3600, .max_total = 1ULL << 30 }

/* At delete, once ID's log is complete: an empty log goes (a container
 * that was never stopped by a wall leaves nothing behind) unless
 * KEEP_EMPTY; then the logs of containers gone (no ROOT/ID, no spool,
 * untouched for a minute) are held to R, by a sweep that runs at most once
 * a minute per directory (AUDIT_RETIRE_STAMP in it says when it last did).
 * Returns how many files went. */
#define AUDIT_RETIRE_STAMP ".retire-sweep"
unsigned audit_retire (const char *dir, const char *root, const char *id, bool keep_empty,
                       const struct audit_retention *r);
/* "30d", "12h", "3600" (seconds): an age. */
int audit_parse_age (const char *s, uint64_t *out, const char *what, moat_error **err);

/* moat's own record of something about the audit itself (wall "moat",
 * kind "notice"), after what J holds, at AT (NULL: now); LOST >= 0 adds
 * "lost": the records it stands for, so that a reader's sum of records and
 * losses is every event. */
void audit_notice (struct jbuf *j, const struct timespec *at, const char *id, const char *what, long long lost);

/* Append LEN bytes of whole lines to the log FD, all or nothing: what a
 * full disk took in part is cut off again (no torn line). */
int audit_append (int fd, const void *buf, size_t len);
/* A copy of every batch of whole lines a log took, and the call that ends
 * the copying, once the log's last batch is written (spool_finish): set by
 * a process that forwards its records (hostaudit.c), else NULL. */
extern void (*audit_tap_lines) (const char *buf, size_t len);
extern void (*audit_tap_finish) (void);
/* LINE (a complete header record, audit-ident.h; taken) goes before the
 * first line this process appends to the log open as FD: the log's first
 * record, however the first one comes (the spool, a fault, a notice). */
void audit_header_arm (int fd, char *line);
/* The same, saying how many bytes went into the log (with the header). */
int audit_append_sized (int fd, const void *buf, size_t len, size_t *written);
/* Append one record (a complete line). */
int audit_write (int fd, const struct jbuf *j);

/* Fields of a parsed record: a string (NULL if absent or not a string), a
 * number (DFLT if absent; a double is clamped, never undefined). */
#include <yajl/yajl_tree.h>
const char *audit_rec_str (yajl_val r, const char *k);
long long audit_rec_int (yajl_val r, const char *k, long long dflt);

/* A JSON number as a long long: an integer as it is, a double clamped (a
 * log is input: 1e300 or NaN must not be undefined behaviour). */
long long audit_num (yajl_val v, long long dflt);

/* `moat audit`: print the log of ID, or (ALL) every log of the node:
 * those in DIR, and those of the containers of ROOT. */
struct audit_query
{
  const char *dir, *id, *root;
  bool json, follow, summary, all;
  const char *wall, *kind, *syscall, *since;
  const char *pod, *namespace, *image;   /* exact, from the log's header */
  long pid;
  /* Brings ID's log up to date before it is read (what a supervisor still
   * holds in its spool): supervisor_log_sync, set by the command, so that
   * the reader does not call up into the supervisor. NULL: the log as it is. */
  void (*sync) (const char *root, const char *dir, const char *id);
};
int audit_show (const struct audit_query *q, moat_error **err);

#endif
