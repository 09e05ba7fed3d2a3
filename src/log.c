#include "config-host.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The log is process-wide by nature: main() configures it once, before any
 * other work; a forked container init inherits it (its fd is CLOEXEC). */
static int log_fd = -1;
static enum log_format log_fmt = LOG_TEXT;
static bool log_dbg = false;

int
log_init (const char *path, enum log_format fmt, bool debug, moat_error **err)
{
  log_fmt = fmt;
  log_dbg = debug;
  if (path && *path)
    {
      log_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (log_fd < 0)
        return moat_error_set (err, errno, "open log file `%s`", path);
    }
  return 0;
}

int
log_file_fd (void)
{
  return log_fd;
}

bool
log_debug_enabled (void)
{
  return log_dbg;
}

static void
json_escape (FILE *f, const char *s)
{
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        fprintf (f, "\\%c", c);
      else if (c == '\n')
        fputs ("\\n", f);
      else if (c == '\t')
        fputs ("\\t", f);
      else if (c < 0x20)
        fprintf (f, "\\u%04x", c);
      else
        fputc (c, f);
    }
}

static void
log_write (const char *level, const char *fmt, va_list ap)
{
  int saved = errno;
  char raw[4096];
  vsnprintf (raw, sizeof raw, fmt, ap);
  /* The last line of defence against terminal escapes and forged lines:
   * every message quotes what it names through str_printable already, but
   * a control byte that slipped through (a strerror, a path a helper
   * built) must not reach the terminal or split a log line either. */
  char msg[sizeof raw * 4];
  str_printable_buf (msg, sizeof msg, raw);

  /* stderr is for people: "moat: msg" (debug lines marked). */
  if (strcmp (level, "debug") == 0)
    {
      /* The monotonic clock, shared by moat's processes (create, the init,
       * the supervisor): the gap between two lines is where time went. */
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      fprintf (stderr, "moat: debug: [%lld.%06ld] %s\n", (long long) ts.tv_sec, ts.tv_nsec / 1000, msg);
    }
  else if (strcmp (level, "warning") == 0)
    fprintf (stderr, "moat: warning: %s\n", msg);
  else
    fprintf (stderr, "moat: %s\n", msg);

  if (log_fd >= 0)
    {
      char *line = NULL;
      size_t len = 0;
      FILE *f = open_memstream (&line, &len);
      if (f)
        {
          struct timespec ts;
          struct tm tm;
          char tbuf[64];
          clock_gettime (CLOCK_REALTIME, &ts);
          gmtime_r (&ts.tv_sec, &tm);
          strftime (tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
          if (log_fmt == LOG_JSON)
            {
              fprintf (f, "{\"level\":\"%s\",\"msg\":\"", level);
              json_escape (f, msg);
              fprintf (f, "\",\"time\":\"%s.%09ldZ\"}\n", tbuf, ts.tv_nsec);
            }
          else
            fprintf (f, "%s.%09ldZ %s: %s\n", tbuf, ts.tv_nsec, level, msg);
          fclose (f);
          /* One write per line: several moat processes may share the file. */
          if (line)
            (void) write_all (log_fd, line, len);
          free (line);
        }
    }
  errno = saved;
}

void
log_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  log_write ("error", fmt, ap);
  va_end (ap);
}

void
log_warning (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  log_write ("warning", fmt, ap);
  va_end (ap);
}

void
log_debug (const char *fmt, ...)
{
  if (!log_dbg)
    return;
  va_list ap;
  va_start (ap, fmt);
  log_write ("debug", fmt, ap);
  va_end (ap);
}

void
log_moat_error (const moat_error *e)
{
  cleanup_free char *s = moat_error_string (e);
  log_error ("%s", s);
}
