#include "config-host.h"
#include "audit.h"
#include "log.h"
#include "state.h"
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
audit_log_create (const char *dir, const char *id, int *fd, moat_error **err)
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

bool
audit_log_name_id (const char *name, char *id, size_t n)
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
  /* The sweep reads every log of the directory (three lookups each): 2.7
   * ms at delete with 1,200 logs here, and a node keeps 30 days of them.
   * It runs at most once a minute per directory (AUDIT_RETIRE_STAMP's
   * mtime says when it last did; a clock that went back sweeps), which
   * only keeps a log a minute past its retention. */
  struct timespec stamp_now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
  time_t started = time (NULL);
  if (fstatat (dfd, AUDIT_RETIRE_STAMP, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
      && st.st_mtime <= started && started - st.st_mtime < 60)
    return gone;
  if (utimensat (dfd, AUDIT_RETIRE_STAMP, stamp_now, AT_SYMLINK_NOFOLLOW) < 0)
    {
      int sfd = openat (dfd, AUDIT_RETIRE_STAMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (sfd >= 0)
        close (sfd);
    }
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
      if (!audit_log_name_id (e->d_name, cid, sizeof cid))
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
void (*audit_tap_lines) (const char *buf, size_t len);
void (*audit_tap_finish) (void);

/* The header armed by audit_header_arm, and which file it is for. */
static char *header_text;
static dev_t header_dev;
static ino_t header_ino;

void
audit_header_arm (int fd, char *line)
{
  struct stat st;
  pthread_mutex_lock (&append_lock);
  free (header_text);
  header_text = NULL;
  if (line && fstat (fd, &st) == 0)
    {
      header_text = line;
      header_dev = st.st_dev;
      header_ino = st.st_ino;
    }
  else
    free (line);
  pthread_mutex_unlock (&append_lock);
}

/* BUF with the header before it, when BUF is to be the log's first line. */
static char *
with_header (int fd, off_t before, const void *buf, size_t *len)
{
  struct stat st;
  if (before != 0 || header_text == NULL || fstat (fd, &st) < 0 || st.st_dev != header_dev
      || st.st_ino != header_ino)
    return NULL;
  size_t h = strlen (header_text);
  char *both = xmalloc0 (h + *len);
  memcpy (both, header_text, h);
  memcpy (both + h, buf, *len);
  *len += h;
  return both;
}

int
audit_append (int fd, const void *buf, size_t len)
{
  return audit_append_sized (fd, buf, len, NULL);
}

int
audit_append_sized (int fd, const void *buf, size_t len, size_t *written)
{
  pthread_mutex_lock (&append_lock);
  off_t before = lseek (fd, 0, SEEK_END);
  /* The header goes with the first record, in the same write: a log is
   * empty (and goes at delete) until something is recorded, and never
   * holds a header alone. (The tap gets the records only.) */
  size_t records_len = len;
  cleanup_free char *both = with_header (fd, before, buf, &len);
  int r = write_all (fd, both ? both : buf, len);
  if (written)
    *written = r == 0 ? len : 0;
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
  else if (r == 0 && audit_tap_lines)
    audit_tap_lines (buf, records_len);   /* under the lock: one batch at a time */
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
long long
audit_num (yajl_val v, long long dflt)
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
  return v && YAJL_IS_NUMBER (v) ? audit_num (v, dflt) : dflt;
}
