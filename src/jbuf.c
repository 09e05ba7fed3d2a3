#include "config-host.h"
#include "jbuf.h"
#include "util.h"

#include <string.h>

static void
jb_grow (struct jbuf *j, size_t more)
{
  if (j->len + more + 1 <= j->cap)
    return;
  while (j->len + more + 1 > j->cap)
    j->cap = j->cap ? j->cap * 2 : 512;
  j->buf = xrealloc (j->buf, j->cap);
}

/* The builder sits on the supervisor's per-denial path, between the
 * kernel's notification and the answer the caller waits for: it copies
 * runs of bytes, never one byte at a time, and formats numbers without
 * stdio. The buffer is kept NUL-terminated. */
static inline void
jb_put (struct jbuf *j, const char *s, size_t n)
{
  jb_grow (j, n);
  memcpy (j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static inline void
jb_c (struct jbuf *j, char c)
{
  jb_grow (j, 1);
  j->buf[j->len++] = c;
  j->buf[j->len] = '\0';
}

static inline bool
json_plain (unsigned char c)
{
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void
jb_quote (struct jbuf *j, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  jb_grow (j, n + 2);
  j->buf[j->len++] = '"';
  size_t i = 0;
  while (i < n)
    {
      size_t run = i;
      while (run < n && json_plain ((unsigned char) s[run]))
        run++;
      if (run > i)
        {
          jb_put (j, s + i, run - i);
          i = run;
          continue;
        }
      unsigned char c = (unsigned char) s[i];
      if (c >= 0x80)
        {
          /* UTF-8 as it is; a byte that starts no character (a path is
           * any bytes) becomes U+FFFD, and jb_strn adds the bytes. */
          unsigned int cp;
          size_t k = utf8_seq_len ((const unsigned char *) s + i, n - i, &cp);
          if (k)
            jb_put (j, s + i, k);
          else
            {
              jb_put (j, "\\ufffd", 6);
              j->not_utf8 = true;
            }
          i += k ? k : 1;
          continue;
        }
      i++;
      if (c == '"' || c == '\\')
        {
          char e[2] = { '\\', (char) c };
          jb_put (j, e, 2);
        }
      else
        {
          char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
          jb_put (j, e, 6);
        }
    }
  jb_c (j, '"');
}

/* Digits of V into the end of B (size >= 24); returns where they start. */
static char *
fmt_u64 (char *end, unsigned long long v, unsigned base)
{
  static const char digits[] = "0123456789abcdef";
  char *p = end;
  do
    *--p = digits[v % base];
  while ((v /= base) != 0);
  return p;
}

void
jb_hex (struct jbuf *j, const char *k, unsigned long long v)
{
  char b[24], *e = b + sizeof b;
  char *p = fmt_u64 (e, v, 16);
  *--p = 'x';
  *--p = '0';
  jb_key (j, k);
  jb_c (j, '"');
  jb_put (j, p, (size_t) (e - p));
  jb_c (j, '"');
}

void
jb_open (struct jbuf *j)
{
  j->len = 0;
  jb_open_more (j);
}

void
jb_open_more (struct jbuf *j)
{
  jb_grow (j, 1);
  jb_c (j, '{');
  j->first = true;
}

void
jb_key (struct jbuf *j, const char *k)
{
  if (!j->first)
    jb_c (j, ',');
  j->first = false;
  jb_quote (j, k, strlen (k));
  jb_c (j, ':');
}

void
jb_strn (struct jbuf *j, const char *k, const char *v, size_t n)
{
  jb_key (j, k);
  j->not_utf8 = false;
  jb_quote (j, v, n);
  if (!j->not_utf8)
    return;
  /* What U+FFFD stood for: the value's bytes, so nothing is lost. */
  static const char hex[] = "0123456789abcdef";
  cleanup_free char *key = xasprintf ("%s_bytes", k);
  jb_key (j, key);
  jb_grow (j, 2 * n + 2);
  j->buf[j->len++] = '"';
  for (size_t i = 0; i < n; i++)
    {
      j->buf[j->len++] = hex[(unsigned char) v[i] >> 4];
      j->buf[j->len++] = hex[(unsigned char) v[i] & 15];
    }
  j->buf[j->len++] = '"';
  j->buf[j->len] = '\0';
  j->not_utf8 = false;
}

void
jb_str (struct jbuf *j, const char *k, const char *v)
{
  if (v == NULL)
    {
      jb_raw (j, k, "null");
      return;
    }
  jb_strn (j, k, v, strlen (v));
}

void
jb_int (struct jbuf *j, const char *k, long long v)
{
  char b[24], *e = b + sizeof b;
  /* The magnitude as unsigned: -LLONG_MIN does not fit a long long. */
  unsigned long long m = v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v;
  char *p = fmt_u64 (e, m, 10);
  if (v < 0)
    *--p = '-';
  jb_key (j, k);
  jb_put (j, p, (size_t) (e - p));
}

void
jb_raw (struct jbuf *j, const char *k, const char *raw)
{
  jb_key (j, k);
  jb_put (j, raw, strlen (raw));
}

void
jb_obj_open (struct jbuf *j, const char *k)
{
  jb_key (j, k);
  jb_c (j, '{');
  j->first = true;
}

void
jb_obj_close (struct jbuf *j)
{
  jb_c (j, '}');
  j->first = false;
}

void
jb_append_n (struct jbuf *j, const char *raw, size_t n)
{
  jb_put (j, raw, n);
}

void
jb_append (struct jbuf *j, const char *raw)
{
  jb_put (j, raw, strlen (raw));
}

void
jb_put_close (struct jbuf *j)
{
  jb_c (j, '}');
}

void
jb_close (struct jbuf *j)
{
  jb_put (j, "}\n", 2);
}

void
jb_free (struct jbuf *j)
{
  free (j->buf);
  j->buf = NULL;
  j->len = j->cap = 0;
}
