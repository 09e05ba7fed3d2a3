/* moat — the JSON writer: a small builder for one-line JSON records (the
 * audit log, events, metrics, fault records). It stands apart from audit.c
 * so that the walls that write records (cgroup, faults, lsmaudit, the
 * spool) need nothing of the audit log itself; it sits beside json.h (the
 * reader) at the ground layer, but without yajl: a writer needs no parser. */
#ifndef MOAT_JBUF_H
#define MOAT_JBUF_H

#include <stdbool.h>
#include <stddef.h>

/* A small JSON object builder for records: no allocation per field beyond
 * the growing buffer, strings escaped. */
struct jbuf
{
  char *buf;
  size_t len, cap;
  bool first;
  bool not_utf8;      /* jb_quote met a byte that starts no UTF-8 character */
};
void jb_open (struct jbuf *j);
void jb_open_more (struct jbuf *j);       /* an object after what J holds (J keeps several lines) */
void jb_close (struct jbuf *j);           /* closes the object and adds '\n' */
void jb_put_close (struct jbuf *j);       /* closes the object, no newline */
void jb_append (struct jbuf *j, const char *raw);   /* raw text, as is */
void jb_append_n (struct jbuf *j, const char *raw, size_t n);
void jb_key (struct jbuf *j, const char *k);
/* A string value. The log is UTF-8 JSON whatever the bytes: one that is
 * not UTF-8 is written with U+FFFD for each byte that starts no character,
 * followed by the member K_bytes, the original bytes in hex. */
void jb_str (struct jbuf *j, const char *k, const char *v);
void jb_strn (struct jbuf *j, const char *k, const char *v, size_t n);
void jb_int (struct jbuf *j, const char *k, long long v);
void jb_hex (struct jbuf *j, const char *k, unsigned long long v);   /* "0x..." string */
void jb_raw (struct jbuf *j, const char *k, const char *raw);   /* raw JSON value */
void jb_obj_open (struct jbuf *j, const char *k);
void jb_obj_close (struct jbuf *j);
void jb_free (struct jbuf *j);
/* Escape S as a JSON string (with quotes) onto J. */
void jb_quote (struct jbuf *j, const char *s, size_t n);

#endif
