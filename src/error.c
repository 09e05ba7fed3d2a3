#include "config-host.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
moat_error_setv (moat_error **err, int errnum, const char *fmt, va_list ap)
{
  /* Keep the first (innermost) error: it names the real cause. */
  if (err == NULL || *err != NULL)
    return -1;
  moat_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    return -1;
  e->errnum = errnum;
  if (vasprintf (&e->msg, fmt, ap) < 0)
    e->msg = NULL;
  *err = e;
  return -1;
}

int
moat_error_set (moat_error **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  moat_error_setv (err, errnum, fmt, ap);
  va_end (ap);
  return -1;
}

int
moat_error_wrap (moat_error **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  char *prefix = NULL, *joined = NULL;
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (&prefix, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -1;
  if (asprintf (&joined, "%s: %s", prefix, (*err)->msg ? (*err)->msg : "") >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = joined;
    }
  free (prefix);
  return -1;
}

char *
moat_error_string (const moat_error *e)
{
  char *s = NULL;
  if (e == NULL)
    return strdup ("unknown error");
  const char *m = e->msg ? e->msg : "out of memory";
  if (e->errnum)
    {
      if (asprintf (&s, "%s: %s", m, strerror (e->errnum)) < 0)
        s = NULL;
    }
  else
    s = strdup (m);
  return s;
}

void
moat_error_free (moat_error **err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}
