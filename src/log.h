/* moat — the runtime's own log (global --log FILE, --log-format text|json,
 * --debug). Engines read this file on failure: podman parses the JSON lines
 * {"level":"error","msg":"...","time":"..."}. Messages also go to stderr. */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdbool.h>
#include "error.h"

enum log_format { LOG_TEXT, LOG_JSON };

/* path may be NULL (stderr only). */
int log_init (const char *path, enum log_format fmt, bool debug, moat_error **err);
void log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
bool log_debug_enabled (void);
/* The --log file's fd, or -1: it must never be handed to a container. */
int log_file_fd (void);
/* Print a moat_error as an error line; frees nothing. */
void log_moat_error (const moat_error *e);

#endif
