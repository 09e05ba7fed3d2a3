/* moat — errors as values.
 *
 * A function that can fail returns an int (negative on failure) and fills
 * *err with a message naming the object (file, JSON path, syscall, id) and
 * the errno that caused it.  On success *err is left untouched.  Only main()
 * prints an error.  No exit() below main(). */
#ifndef MOAT_ERROR_H
#define MOAT_ERROR_H

#include <stdarg.h>

typedef struct moat_error
{
  int errnum;   /* errno of the cause, 0 when there is none */
  char *msg;    /* complete message, without the strerror() suffix */
} moat_error;

/* Fill *err (if err != NULL and *err == NULL) and return -1.  When errnum is
 * non-zero, ": strerror(errnum)" is appended when the error is printed. */
int moat_error_set (moat_error **err, int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
int moat_error_setv (moat_error **err, int errnum, const char *fmt, va_list ap);

/* Prefix an existing error: "PREFIX: old message". Returns -1. */
int moat_error_wrap (moat_error **err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* "msg: strerror" in a freshly allocated string. */
char *moat_error_string (const moat_error *err);

void moat_error_free (moat_error **err);

static inline void
cleanup_error_fn (moat_error **e)
{
  moat_error_free (e);
}
#define cleanup_error __attribute__ ((cleanup (cleanup_error_fn)))

#endif
