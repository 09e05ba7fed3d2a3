#include "config-host.h"
#include "audit.h"
#include "log.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *
audit_path (const char *dir, const char *id)
{
  return xasprintf ("%s/%s.jsonl", dir, id);
}

int
audit_open (const char *dir, const char *id, int *fd, moat_error **err)
{
  if (mkdir_p (dir, 0700, err) < 0)
    return moat_error_wrap (err, "audit directory");
  cleanup_free char *path = audit_path (dir, id);
  struct stat st;
  if (lstat (path, &st) == 0)
    {
      /* An earlier container of this id: keep its log as ID.jsonl.N. */
      for (int n = 1; n < 100000; n++)
        {
          cleanup_free char *old = xasprintf ("%s.%d", path, n);
          if (lstat (old, &st) == 0)
            continue;
          if (rename (path, old) < 0)
            return moat_error_set (err, errno, "rotate audit log `%s`", path);
          break;
        }
    }
  int f = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (f < 0)
    return moat_error_set (err, errno, "open audit log `%s`", path);
  *fd = f;
  return 0;
}

int
audit_parse_age (const char *s, uint64_t *out, const char *what, moat_error **err)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  unsigned long long mult = 1;
  if (*end == 'd')
    mult = 86400, end++;
  else if (*end == 'h')
    mult = 3600, end++;
  else if (*end == 'm')
    mult = 60, end++;
  else if (*end == 's')
    end++;
  if (*s == '\0' || *s == '-' || *end != '\0' || errno || v > ~0ULL / mult)
    {
      cleanup_free char *shown = str_printable (s);
      return moat_error_set (err, 0, "%s: `%s` is not an age (seconds, or with d, h, m; 0 for no limit)", what,
                             shown);
    }
  *out = v * mult;
  return 0;
}

/* A log file name: ID.jsonl or ID.jsonl.N; its ID into ID (a valid id). */
static bool
log_name_id (const char *name, char *id, size_t n)
{
  const char *dot = strstr (name, ".jsonl");
  if (dot == NULL || dot == name || (size_t) (dot - name) >= n)
    return false;
  const char *rest = dot + 6;
  if (*rest == '.')
    {
      if (!rest[1])
        return false;
      for (const char *p = rest + 1; *p; p++)
        if (*p < '0' || *p > '9')
          return false;
    }
  else if (*rest)
    return false;
  memcpy (id, name, (size_t) (dot - name));
  id[dot - name] = '\0';
  return state_validate_id (id, NULL) == 0;
}

struct old_log
{
  char *name;
  time_t mtime;
  off_t size;
};

static int
by_age (const void *a, const void *b)
{
  const struct old_log *x = a, *y = b;
  return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

unsigned
audit_retire (const char *dir, const char *root, const char *id, bool keep_empty, const struct audit_retention *r)
{
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return 0;
  unsigned gone = 0;
  cleanup_free char *mine = xasprintf ("%s.jsonl", id);
  struct stat st;
  if (!keep_empty && fstatat (dfd, mine, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode) && st.st_size == 0
      && unlinkat (dfd, mine, 0) == 0)
    gone++;
  if (r->max_age == 0 && r->max_total == 0)
    return gone;
  /* The logs of containers that are gone: no state dir in this root, no
   * spool (a live supervisor has one; a dead one's is still to be written
   * into its log), not written for a minute (a container of another root
   * sharing this directory may be running without a spool). */
  cleanup_close int rfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int scan = dup (dfd);
  DIR *d = scan >= 0 ? fdopendir (scan) : NULL;
  if (d == NULL)
    {
      if (scan >= 0)
        close (scan);
      return gone;
    }
  struct old_log *v = NULL;
  size_t nv = 0;
  time_t now = time (NULL);
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      char cid[1100];
      if (!log_name_id (e->d_name, cid, sizeof cid))
        continue;
      cleanup_free char *spool = xasprintf ("%s.spool", cid);
      if ((rfd >= 0 && fstatat (rfd, cid, &st, AT_SYMLINK_NOFOLLOW) == 0)
          || fstatat (dfd, spool, &st, AT_SYMLINK_NOFOLLOW) == 0
          || fstatat (dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode)
          || now - st.st_mtime < 60)
        continue;
      v = xrealloc (v, (nv + 1) * sizeof *v);
      v[nv++] = (struct old_log) { xstrdup (e->d_name), st.st_mtime, st.st_size };
    }
  closedir (d);
  if (nv)   /* (qsort of a NULL array is undefined, even of none) */
    qsort (v, nv, sizeof *v, by_age);
  /* Oldest first: past the age, then until what is left fits the total. */
  uint64_t total = 0;
  for (size_t i = 0; i < nv; i++)
    total += (uint64_t) v[i].size;
  for (size_t i = 0; i < nv; i++)
    {
      bool old = r->max_age && (uint64_t) (now - v[i].mtime) > r->max_age;
      bool over = r->max_total && total > r->max_total;
      if ((old || over) && unlinkat (dfd, v[i].name, 0) == 0)
        {
          total -= (uint64_t) v[i].size;
          gone++;
        }
      free (v[i].name);
    }
  free (v);
  return gone;
}

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

void
audit_time (char *buf, size_t n)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  audit_time_at (&ts, buf, n);
}

void
audit_time_at (const struct timespec *at, char *buf, size_t n)
{
  /* Records come in bursts: format the seconds once per second (per
   * thread: the supervisor answers each listener from its own thread). */
  static __thread time_t last_sec = -1;
  static __thread char last[32];
  static __thread size_t last_len;
  struct timespec ts = *at;
  if (ts.tv_sec != last_sec)
    {
      struct tm tm;
      gmtime_r (&ts.tv_sec, &tm);
      last_len = strftime (last, sizeof last, "%Y-%m-%dT%H:%M:%S", &tm);
      last_sec = ts.tv_sec;
    }
  if (n < last_len + 12)
    {
      snprintf (buf, n, "%s.%09ldZ", last, ts.tv_nsec);
      return;
    }
  memcpy (buf, last, last_len);
  char *p = buf + last_len;
  *p++ = '.';
  long ns = ts.tv_nsec;
  for (int i = 8; i >= 0; i--, ns /= 10)
    p[i] = (char) ('0' + ns % 10);
  p[9] = 'Z';
  p[10] = '\0';
}

void
audit_notice (struct jbuf *j, const struct timespec *at, const char *id, const char *what, long long lost)
{
  char tb[48];
  if (at)
    audit_time_at (at, tb, sizeof tb);
  else
    audit_time (tb, sizeof tb);
  jb_open_more (j);
  jb_str (j, "time", tb);
  jb_str (j, "container", id);
  jb_str (j, "wall", "moat");
  jb_str (j, "kind", "notice");
  jb_str (j, "what", what);
  if (lost >= 0)
    jb_int (j, "lost", lost);
  jb_close (j);
}

/* The appends of one process to a log are serialised: taking back a
 * write needs the log's length before it. (A log has one writer process
 * at a time: its supervisor, or, once that is dead, the moat command that
 * empties its spool under the spool's lock.) */
static pthread_mutex_t append_lock = PTHREAD_MUTEX_INITIALIZER;

int
audit_append (int fd, const void *buf, size_t len)
{
  pthread_mutex_lock (&append_lock);
  off_t before = lseek (fd, 0, SEEK_END);
  int r = write_all (fd, buf, len);
  if (r < 0 && before >= 0)
    {
      /* A full disk took a part of it: cut it off again, so that no line
       * is ever torn; the loss is counted by the caller and said in a
       * line of its own once the log takes writes again. */
      int e = errno;
      if (ftruncate (fd, before) < 0)
        log_debug ("audit log: a partial write could not be taken back: %s", strerror (errno));
      errno = e;
    }
  pthread_mutex_unlock (&append_lock);
  return r;
}

int
audit_write (int fd, const struct jbuf *j)
{
  return audit_append (fd, j->buf, j->len);
}

/* ---- reading: `moat audit` ---------------------------------------------- */

#include "json.h"
#include "state.h"

const char *
audit_rec_str (yajl_val r, const char *k)
{
  yajl_val v = json_lookup (r, k);
  return v && YAJL_IS_STRING (v) ? YAJL_GET_STRING (v) : NULL;
}

/* A JSON number as a long long: an integer as it is, a double clamped (a
 * log is input: 1e300 or NaN must not be undefined behaviour). */
static long long
num_ll (yajl_val v, long long dflt)
{
  if (YAJL_IS_INTEGER (v))
    return YAJL_GET_INTEGER (v);
  double d = YAJL_GET_DOUBLE (v);
  if (d != d)
    return dflt;
  if (d >= 9.2e18)
    return LLONG_MAX;
  if (d <= -9.2e18)
    return LLONG_MIN;
  return (long long) d;
}

long long
audit_rec_int (yajl_val r, const char *k, long long dflt)
{
  yajl_val v = json_lookup (r, k);
  return v && YAJL_IS_NUMBER (v) ? num_ll (v, dflt) : dflt;
}

/* String K of OBJ as the writer got it: the bytes of K_bytes when it had
 * to write U+FFFD for some (jb_strn), into BUF; else the string itself. */
static const char *
rec_bytes (yajl_val obj, const char *k, char *buf, size_t n)
{
  const char *v = audit_rec_str (obj, k);
  char key[64];
  if (v == NULL || (size_t) snprintf (key, sizeof key, "%s_bytes", k) >= sizeof key)
    return v;
  const char *hex = audit_rec_str (obj, key);
  if (hex == NULL)
    return v;
  size_t o = 0;
  for (size_t i = 0; hex[i] && hex[i + 1] && o + 1 < n; i += 2)
    {
      unsigned int b;
      if (sscanf (hex + i, "%2x", &b) != 1)
        break;
      buf[o++] = b ? (char) b : '?';   /* a C string from here on */
    }
  buf[o] = '\0';
  return buf;
}

static bool
is_bytes_key (const char *k)
{
  size_t n = strlen (k);
  return n > 6 && strcmp (k + n - 6, "_bytes") == 0;
}

static void
format_call (yajl_val r, char *out, size_t n)
{
  const char *sc = audit_rec_str (r, "syscall");
  yajl_val args = json_lookup (r, "args");
  size_t off = (size_t) snprintf (out, n, "%s(", sc ? sc : "?");
  bool any = false;
  if (args && YAJL_IS_OBJECT (args))
    for (size_t i = 0; i < YAJL_GET_OBJECT (args)->len && off < n; i++)
      {
        yajl_val v = YAJL_GET_OBJECT (args)->values[i];
        const char *key = YAJL_GET_OBJECT (args)->keys[i];
        if (is_bytes_key (key))
          continue;   /* shown as its string's own bytes */
        const char *sep = any ? ", " : "";
        any = true;
        if (YAJL_IS_STRING (v))
          {
            char raw[4096];
            const char *s = rec_bytes (args, key, raw, sizeof raw);
            bool quote = !(s[0] == '0' || strchr (s, '_') || (s[0] >= 'A' && s[0] <= 'Z'));
            off += (size_t) snprintf (out + off, n - off, quote ? "%s\"%s\"" : "%s%s", sep, s);
          }
        else if (YAJL_IS_NUMBER (v))
          off += (size_t) snprintf (out + off, n - off, "%s%lld", sep, num_ll (v, 0));
        else
          off += (size_t) snprintf (out + off, n - off, "%sNULL", sep);
      }
  if (off < n)
    snprintf (out + off, n - off, ")");
}

static void
format_outcome (yajl_val r, char *out, size_t n)
{
  const char *act = audit_rec_str (r, "action"), *rule = audit_rec_str (r, "rule"), *eno = audit_rec_str (r, "errno");
  const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
  const char *rwhat = audit_rec_str (r, "what");
  if (kind && (strcmp (kind, "refused") == 0 || (strcmp (kind, "aggregate") == 0 && rwhat && strcmp (rwhat, "refused") == 0)))
    {
      /* refused by the kernel itself: the errno and the likely wall */
      const char *why = audit_rec_str (r, "why");
      snprintf (out, n, "%s%s%s", eno ? eno : "?", why ? ": " : "", why ? why : "");
      return;
    }
  bool call = kind && (strcmp (kind, "syscall") == 0
                      || (strcmp (kind, "aggregate") == 0 && audit_rec_str (r, "signal") == NULL));
  if ((wall && strcmp (wall, "seccomp") != 0) || (kind && !call))
    {
      const char *fault = audit_rec_str (r, "fault"), *code = audit_rec_str (r, "code");
      bool survived = kind && strcmp (kind, "fault") == 0;   /* the process lived on */
      snprintf (out, n, "%s%s%s%s%s", fault ? fault : (act ? act : ""), code ? " (" : "", code ? code : "",
                code ? ")" : "", survived ? ", survived" : "");
      return;
    }
  char what[64];
  if (act && strcmp (act, "errno") == 0)
    snprintf (what, sizeof what, "%s", eno ? eno : "errno");
  else if (act && strncmp (act, "kill", 4) == 0)
    snprintf (what, sizeof what, "killed (%s)", act);
  else if (act && strcmp (act, "trap") == 0)
    snprintf (what, sizeof what, "SIGSYS (trap)");
  else if (act && strcmp (act, "log") == 0)
    snprintf (what, sizeof what, "allowed, logged");
  else
    snprintf (what, sizeof what, "%s", act ? act : "?");
  snprintf (out, n, "%-8s (%s)", what, rule ? rule : "?");
}

struct summary_row
{
  char *key;
  long count;
};

static bool
matches (const struct audit_query *q, yajl_val r)
{
  const char *s;
  if (q->wall && (!(s = audit_rec_str (r, "wall")) || strcmp (s, q->wall) != 0))
    return false;
  if (q->kind && (!(s = audit_rec_str (r, "kind")) || strcmp (s, q->kind) != 0))
    return false;
  if (q->syscall && (!(s = audit_rec_str (r, "syscall")) || strcmp (s, q->syscall) != 0))
    return false;
  if (q->pid >= 0 && audit_rec_int (r, "pid", -1) != q->pid && audit_rec_int (r, "nspid", -1) != q->pid)
    return false;
  if (q->since && (!(s = audit_rec_str (r, "time")) || strcmp (s, q->since) < 0))
    return false;
  return true;
}

static void
print_row (yajl_val r)
{
  char call[256], outcome[128];
  const char *t = audit_rec_str (r, "time");
  const char *hms = t && strlen (t) >= 23 ? t + 11 : (t ? t : "");
  format_call (r, call, sizeof call);
  const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
  if (wall && strcmp (wall, "cgroup") == 0 && kind && strcmp (kind, "oom") == 0)
    snprintf (call, sizeof call, "OOM at %s", audit_rec_str (r, "limit") ? audit_rec_str (r, "limit") : "?");
  else if (wall && strcmp (wall, "cgroup") == 0 && kind && strcmp (kind, "pids") == 0)
    snprintf (call, sizeof call, "%s: %lld fork(s) refused", audit_rec_str (r, "limit") ? audit_rec_str (r, "limit") : "?",
              audit_rec_int (r, "refused", 0));
  else if (wall && (strcmp (wall, "moat") == 0))
    snprintf (call, sizeof call, "%s: %s", kind ? kind : "?", audit_rec_str (r, "what") ? audit_rec_str (r, "what") : "");
  else if (wall && strcmp (wall, "apparmor") == 0)
    /* An LSM's refusal (lsmaudit.c): the operation and its object, no call. */
    snprintf (call, sizeof call, "%s %s%s%s%s", audit_rec_str (r, "operation") ?: "?", audit_rec_str (r, "name") ?: "",
              audit_rec_str (r, "denied") ? " (" : "", audit_rec_str (r, "denied") ?: "", audit_rec_str (r, "denied") ? ")" : "");
  else if (kind && strcmp (kind, "refused") == 0)
    format_call (r, call, sizeof call);
  else if (kind && strcmp (kind, "aggregate") == 0 && audit_rec_str (r, "signal"))
    /* Deaths (or faults lived through) counted past the log's budget. */
    snprintf (call, sizeof call, "%s x %lld, counted%s", audit_rec_str (r, "signal"), audit_rec_int (r, "count", 0),
              audit_rec_str (r, "what") && strcmp (audit_rec_str (r, "what"), "fault") == 0 ? " (survived)" : "");
  else if (kind && strcmp (kind, "aggregate") == 0)
    /* Calls counted past the log's budget: how many, no arguments. */
    snprintf (call, sizeof call, "%s(...) x %lld, counted", audit_rec_str (r, "syscall") ? audit_rec_str (r, "syscall") : "?",
              audit_rec_int (r, "count", 0));
  else if (!(kind && strcmp (kind, "syscall") == 0))
    {
      /* A death or a fault, whatever the wall (a SIGSYS death is at the
       * seccomp wall but has no call to show). */
      const char *sig = audit_rec_str (r, "signal"), *addr = audit_rec_str (r, "addr"), *ip = audit_rec_str (r, "ip");
      if (addr && ip)
        snprintf (call, sizeof call, "%s at %s, ip %s", sig ? sig : "fault", addr, ip);
      else if (ip)
        snprintf (call, sizeof call, "%s, ip %s", sig ? sig : "fault", ip);
      else
        snprintf (call, sizeof call, "%s", sig ? sig : (kind ? kind : "?"));
    }
  format_outcome (r, outcome, sizeof outcome);
  char cbuf[64];
  const char *comm = rec_bytes (r, "comm", cbuf, sizeof cbuf);
  /* The row is made of what the container chose (its comm, its paths):
   * shown, never sent to the terminal. Every control character, escape
   * sequence, byte that is not UTF-8 and backslash is written visibly
   * (\x1b, \\), so one record is always one row. */
  char row[1024];
  snprintf (row, sizeof row, "%-12.12s %6lld  %-15.15s %-12s %-40s %s", hms,
            audit_rec_int (r, "nspid", audit_rec_int (r, "pid", 0)), comm ? comm : "?",
            audit_rec_str (r, "wall") ? audit_rec_str (r, "wall") : "?", call, outcome);
  cleanup_free char *shown = str_visible (row);
  puts (shown);
}

static bool
container_gone (const struct audit_query *q)
{
  cleanup_free char *dir = xasprintf ("%s/%s", q->root ? q->root : MOAT_DEFAULT_ROOT, q->id);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return true;
  struct moat_state *st = NULL;
  moat_error *e = NULL;
  bool gone = true;
  if (state_read (dfd, q->id, &st, &e) == 0)
    gone = state_status (dfd, st) == STATUS_STOPPED;
  moat_error_free (&e);
  state_free (st);
  close (dfd);
  return gone;
}

int
audit_show (const struct audit_query *q, moat_error **err)
{
  const char *dir = q->dir ? q->dir : MOAT_DEFAULT_AUDIT_DIR, *root = q->root ? q->root : MOAT_DEFAULT_ROOT;
  /* The id becomes file names under both: never `../x` (cmd_audit checks
   * too; this is the reader's own guard). */
  if (state_validate_id (q->id, err) < 0)
    return -1;
  /* Every record made so far, including those still in the spool. */
  supervisor_log_sync (root, dir, q->id);
  cleanup_free char *path = audit_path (dir, q->id);
  /* A regular file only: a FIFO in its place would block the reader. */
  cleanup_close int fd = -1;
  moat_error *oe = NULL;
  if (open_regular_at (AT_FDCWD, path, &fd, &oe) < 0)
    {
      int e = oe->errnum;
      cleanup_free char *why = moat_error_string (oe);
      moat_error_free (&oe);
      cleanup_free char *shown = str_printable (path);
      if (e == ENOENT)
        return moat_error_set (err, e, "no audit log for container `%s` (%s): none is kept for a container with "
                               "no record", q->id, shown);
      if (e != 0)
        return moat_error_set (err, e, "no audit log for container `%s` (%s)", q->id, shown);
      return moat_error_set (err, 0, "no audit log for container `%s`: %s", q->id, why);
    }
  cleanup_file FILE *f = fdopen (fd, "re");
  if (f == NULL)
    return moat_error_set (err, errno, "audit log of `%s`", q->id);
  fd = -1;   /* the FILE has it now */
  size_t nrows = 0, caprows = 0;
  struct summary_row *rows = NULL;
  if (!q->json && !q->summary)
    printf ("%-12s %6s  %-15s %-12s %-40s %s\n", "TIME", "PID", "COMM", "WALL", "WHAT", "OUTCOME");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  bool draining = false;
  unsigned long long lineno = 0, unreadable = 0, first_unreadable = 0;
  for (;;)
    {
      ssize_t n = getline (&line, &cap, f);
      if (n <= 0)
        {
          if (!q->follow || draining)
            break;
          /* Follow: wait for more; once the container is gone, read what
           * is left and stop. */
          clearerr (f);
          fflush (stdout);
          draining = container_gone (q);
          if (draining)
            supervisor_log_sync (root, dir, q->id);
          struct timespec ts = { 0, 100 * 1000 * 1000 };
          if (!draining)
            nanosleep (&ts, NULL);
          continue;
        }
      lineno++;
      yajl_val r = NULL;
      moat_error *e = NULL;
      if (json_parse (line, (size_t) n, "audit log", &r, &e) < 0)
        {
          /* Never silently: counted, and said once all else is shown. */
          moat_error_free (&e);
          if (unreadable++ == 0)
            first_unreadable = lineno;
          continue;
        }
      if (matches (q, r))
        {
          if (q->summary)
            {
              char key[256];
              const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
              if (kind && (strcmp (kind, "syscall") == 0
                           || (strcmp (kind, "aggregate") == 0 && audit_rec_str (r, "signal") == NULL)))
                snprintf (key, sizeof key, "seccomp  %-20s %-14s %s", audit_rec_str (r, "syscall") ? audit_rec_str (r, "syscall") : "?",
                          audit_rec_str (r, "errno") ? audit_rec_str (r, "errno") : (audit_rec_str (r, "action") ? audit_rec_str (r, "action") : "?"),
                          audit_rec_str (r, "rule") ? audit_rec_str (r, "rule") : "?");
              else
                snprintf (key, sizeof key, "%-8s %-20s %s", wall ? wall : "?",
                          audit_rec_str (r, "signal") ? audit_rec_str (r, "signal") : (audit_rec_str (r, "kind") ? audit_rec_str (r, "kind") : "?"), "");
              size_t i;
              for (i = 0; i < nrows && strcmp (rows[i].key, key) != 0; i++)
                ;
              if (i == nrows)
                {
                  if (nrows == caprows)
                    rows = xrealloc (rows, (caprows = caprows ? caprows * 2 : 16) * sizeof *rows);
                  rows[nrows].key = xstrdup (key);
                  rows[nrows++].count = 0;
                }
              /* An aggregate stands for its count of calls. */
              rows[i].count += kind && strcmp (kind, "aggregate") == 0 ? audit_rec_int (r, "count", 1) : 1;
            }
          else if (q->json)
            fputs (line, stdout);
          else
            print_row (r);
        }
      json_free (r);
    }
  if (q->summary)
    {
      printf ("%8s  %-8s %-20s %-14s %s\n", "COUNT", "WALL", "WHAT", "OUTCOME", "RULE");
      for (size_t i = 0; i < nrows; i++)
        {
          cleanup_free char *shown = str_visible (rows[i].key);
          printf ("%8ld  %s\n", rows[i].count, shown);
          free (rows[i].key);
        }
      free (rows);
    }
  fflush (stdout);
  if (unreadable)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, 0, "%s: %llu line%s could not be read (the first: line %llu); every other record "
                             "was shown", shown, unreadable, unreadable == 1 ? "" : "s", first_unreadable);
    }
  return 0;
}
