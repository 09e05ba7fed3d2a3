/* moat — reading audit logs: the records of one log, or of every log of a
 * node merged in time order, with the identity of each record's container
 * (its log's header, audit-ident.h) and the filters of `moat audit`. The
 * API `moat audit` is built on; other readers (metrics, forwarders) can use
 * it as is. */
#ifndef MOAT_AUDIT_READ_H
#define MOAT_AUDIT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>
#include "error.h"

struct audit_log;
struct audit_set;

/* A record as read: its parsed tree, its line as written (with the '\n'),
 * the log it came from and its line number there. Valid until the next
 * call on the log or set that gave it. */
struct audit_rec
{
  yajl_val v;
  const char *line;
  size_t len;
  const char *time;             /* "" when the record has none */
  struct audit_log *log;
  unsigned long long lineno;
};

/* What audit_log_next and audit_set_next give. */
enum
{
  AUDIT_READ_BAD = -1,          /* a line that is not a JSON object (rec: its log and line) */
  AUDIT_READ_END = 0,           /* nothing more for now */
  AUDIT_READ_REC = 1,
};

/* Open PATH (a regular file only). */
int audit_log_open (const char *path, struct audit_log **out, moat_error **err);
void audit_log_free (struct audit_log *l);
/* The next record. A last line without its newline is a record being
 * written: left for a later call, unless FINAL (nothing writes the log
 * any more), when it is read as it is. The header is not a record: it
 * becomes the log's identity. */
int audit_log_next (struct audit_log *l, bool final, struct audit_rec *rec);
const char *audit_log_path (const struct audit_log *l);
/* The container's id (the log's name), its header's "identity" object
 * and schema version (NULL and 0 for a log without a header). */
const char *audit_log_id (const struct audit_log *l);
yajl_val audit_log_identity (const struct audit_log *l);
int audit_log_schema (const struct audit_log *l);
/* A string of the identity ("pod", "namespace", "image", ...) or NULL. */
const char *audit_log_ident (const struct audit_log *l, const char *field);

/* The filters of `moat audit`: a record passes when it matches all that
 * are set (NULL, or pid < 0: not set). pod/namespace/image are exact
 * matches on its container's identity. */
struct audit_filter
{
  const char *wall, *kind, *syscall, *since;
  const char *pod, *namespace, *image;
  long pid;
};
bool audit_filter_match (const struct audit_filter *f, const struct audit_rec *r);

/* REC's line with "identity" (its log's) added, when the log has one and
 * the record does not: a line that says on its own whose it is. Into OUT
 * (reused), a complete line. */
void audit_rec_line (const struct audit_rec *r, char **out, size_t *cap, size_t *len);

/* Every log of a node: the logs in DIR (ID.jsonl and the kept ID.jsonl.N)
 * and the current log of every container of ROOT (which may keep its log
 * in another directory). A rescan adds the logs that appeared since; a
 * file is read once whatever its names (a log rotated while read). */
struct audit_set *audit_set_new (const char *dir, const char *root);
void audit_set_free (struct audit_set *s);
int audit_set_scan (struct audit_set *s, moat_error **err);
/* FN (ROOT, the container's audit dir, its id) for each container of the
 * root at the next scans, before its log is opened: `moat audit` has a
 * live supervisor write out what it still holds. */
void audit_set_on_container (struct audit_set *s, void (*fn) (const char *root, const char *dir, const char *id));
size_t audit_set_count (const struct audit_set *s);
/* The record with the earliest time among the next ones of each log (each
 * log is in time order; records written later into a log already read
 * past come when they come). */
int audit_set_next (struct audit_set *s, bool final, struct audit_rec *rec);

#endif
