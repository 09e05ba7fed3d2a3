/* moat — counters from the audit logs, in the Prometheus text exposition
 * format (`moat metrics`).
 *
 * The logs are the source of truth: a counter is the sum of the records
 * it counts (an aggregate record counts its "count" of calls), so the
 * metrics never disagree with `moat audit`. Nothing is counted on the
 * supervisor's per-denial path; the logs are read after the fact, each
 * from where the last read of it stopped (its offset is kept per log), so
 * a scrape reads only what was appended since the one before. */
#ifndef MOAT_METRICS_H
#define MOAT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

struct metrics;

/* What is kept between scrapes, for the logs in DIR of containers whose
 * state is under ROOT (ROOT gives the pod/namespace/container labels of
 * containers still there). */
struct metrics *metrics_new (const char *dir, const char *root);
void metrics_free (struct metrics *m);
/* Called on each log before it is read, to bring it up to date (what a
 * supervisor still holds in its spool): supervisor_log_sync, set by the
 * command, so that metrics.c does not call up into the supervisor. NULL
 * (the default): the logs as they are. */
void metrics_set_sync (struct metrics *m, void (*fn) (const char *root, const char *dir, const char *id));

/* Read what each log gained since the last call (a log replaced by a new
 * container's, or cut short, is read anew: a counter reset, which
 * Prometheus expects of counters). */
int metrics_collect (struct metrics *m, moat_error **err);

/* The exposition text (HELP, TYPE, one sample per line); the caller frees.
 * OPENMETRICS: the OpenMetrics 1.0 text (a family named without _total,
 * its samples with it, "# EOF" last), else the Prometheus text 0.0.4. */
char *metrics_render (const struct metrics *m, bool openmetrics, size_t *len);

/* Collect and write the text to PATH atomically (a temporary file in the
 * same directory, renamed over PATH): node_exporter's textfile collector
 * never sees half a file. */
int metrics_write_textfile (struct metrics *m, const char *path, moat_error **err);

/* Serve GET /metrics over HTTP on ADDR:PORT ("127.0.0.1:9500",
 * "[::1]:0", ":9500") until SIGTERM or SIGINT. One connection at a time,
 * with a bounded request and a deadline for each. ANNOUNCE (may be NULL)
 * is called once listening, with the address bound (port 0 resolved). */
int metrics_serve (struct metrics *m, const char *addr, void (*announce) (const char *bound),
                   moat_error **err);

#endif
