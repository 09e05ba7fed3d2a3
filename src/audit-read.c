#include "config-host.h"
#include "audit-read.h"
#include "audit.h"
#include "json.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct audit_log
{
  char *path;
  char id[256];
  int fd;
  dev_t dev;
  ino_t ino;
  char *buf;                    /* bytes read, not yet taken: buf[off..len) */
  size_t len, cap, off;
  char *line;                   /* the current record's line, '\n'-ended */
  size_t line_cap;
  yajl_val cur;                 /* its tree */
  yajl_val header, identity;
  unsigned long long lineno;
  bool peeked;                  /* audit_set: PEEK is this log's next record */
  struct audit_rec peek;
};

int
audit_log_open (const char *path, struct audit_log **out, moat_error **err)
{
  int fd = -1;
  if (open_regular_at (AT_FDCWD, path, &fd, err) < 0)
    return -1;
  struct stat st;
  if (fstat (fd, &st) < 0)
    {
      int e = errno;
      close (fd);
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, e, "audit log `%s`", shown);
    }
  struct audit_log *l = xmalloc0 (sizeof *l);
  l->path = xstrdup (path);
  l->fd = fd;
  l->dev = st.st_dev;
  l->ino = st.st_ino;
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  if (!audit_log_name_id (base, l->id, sizeof l->id))
    snprintf (l->id, sizeof l->id, "?");
  *out = l;
  return 0;
}

void
audit_log_free (struct audit_log *l)
{
  if (l == NULL)
    return;
  if (l->fd >= 0)
    close (l->fd);
  if (l->cur)
    json_free (l->cur);
  if (l->header)
    json_free (l->header);
  free (l->buf);
  free (l->line);
  free (l->path);
  free (l);
}

const char *audit_log_path (const struct audit_log *l) { return l->path; }
const char *audit_log_id (const struct audit_log *l) { return l->id; }
yajl_val audit_log_identity (const struct audit_log *l) { return l->identity; }

int
audit_log_schema (const struct audit_log *l)
{
  return l->header ? (int) audit_rec_int (l->header, "schema", 0) : 0;
}

const char *
audit_log_ident (const struct audit_log *l, const char *field)
{
  return l->identity ? audit_rec_str (l->identity, field) : NULL;
}

/* Line N bytes of L's buffer into l->line, '\n'-ended. */
static void
set_line (struct audit_log *l, size_t n)
{
  if (n + 2 > l->line_cap)
    l->line = xrealloc (l->line, l->line_cap = n + 2);
  memcpy (l->line, l->buf + l->off, n);
  l->off += n;
  if (l->line[n - 1] != '\n')
    l->line[n++] = '\n';
  l->line[n] = '\0';
  l->lineno++;
}

/* The next whole line of L into l->line; false when there is none yet (a
 * last line without its newline counts only when FINAL). */
static bool
take_line (struct audit_log *l, bool final)
{
  for (;;)
    {
      char *nl = l->off < l->len ? memchr (l->buf + l->off, '\n', l->len - l->off) : NULL;
      if (nl)
        {
          set_line (l, (size_t) (nl - (l->buf + l->off)) + 1);
          return true;
        }
      /* Room for more: what is taken goes, a long line grows the buffer. */
      if (l->off)
        {
          memmove (l->buf, l->buf + l->off, l->len - l->off);
          l->len -= l->off;
          l->off = 0;
        }
      if (l->cap - l->len < 4096)
        l->buf = xrealloc (l->buf, l->cap = l->cap ? l->cap * 2 : 65536);
      ssize_t got = read (l->fd, l->buf + l->len, l->cap - l->len);
      if (got > 0 || (got < 0 && errno == EINTR))
        {
          l->len += got > 0 ? (size_t) got : 0;
          continue;
        }
      if (final && l->len > l->off)
        {
          set_line (l, l->len - l->off);
          return true;
        }
      return false;
    }
}

int
audit_log_next (struct audit_log *l, bool final, struct audit_rec *rec)
{
  for (;;)
    {
      if (l->cur)
        {
          json_free (l->cur);
          l->cur = NULL;
        }
      if (!take_line (l, final))
        return AUDIT_READ_END;
      size_t n = strlen (l->line);
      *rec = (struct audit_rec) { .line = l->line, .len = n, .time = "", .log = l, .lineno = l->lineno };
      yajl_val v = NULL;
      moat_error *e = NULL;
      if (json_parse (l->line, n, "audit log", &v, &e) < 0 || !YAJL_IS_OBJECT (v))
        {
          moat_error_free (&e);
          if (v)
            json_free (v);
          return AUDIT_READ_BAD;
        }
      const char *kind = audit_rec_str (v, "kind");
      if (l->lineno == 1 && kind && strcmp (kind, "header") == 0)
        {
          l->header = v;
          yajl_val id = json_lookup (v, "identity");
          l->identity = id && YAJL_IS_OBJECT (id) ? id : NULL;
          continue;
        }
      l->cur = v;
      rec->v = v;
      const char *t = audit_rec_str (v, "time");
      rec->time = t ? t : "";
      return AUDIT_READ_REC;
    }
}

static bool
same (const char *want, const char *got)
{
  return want == NULL || (got && strcmp (want, got) == 0);
}

bool
audit_filter_match (const struct audit_filter *f, const struct audit_rec *r)
{
  yajl_val v = r->v;
  if (!same (f->wall, audit_rec_str (v, "wall")) || !same (f->kind, audit_rec_str (v, "kind"))
      || !same (f->syscall, audit_rec_str (v, "syscall")))
    return false;
  if (f->pid >= 0 && audit_rec_int (v, "pid", -1) != f->pid && audit_rec_int (v, "nspid", -1) != f->pid)
    return false;
  if (f->since && strcmp (r->time, f->since) < 0)
    return false;
  return same (f->pod, audit_log_ident (r->log, "pod")) && same (f->namespace, audit_log_ident (r->log, "namespace"))
         && same (f->image, audit_log_ident (r->log, "image"));
}

/* V as JSON text onto J (the identity: strings, objects, true). */
static void
emit (struct jbuf *j, yajl_val v)
{
  if (YAJL_IS_STRING (v))
    {
      const char *str = YAJL_GET_STRING (v);
      jb_quote (j, str ? str : "", str ? strlen (str) : 0);
    }
  else if (YAJL_IS_NUMBER (v))
    jb_append (j, YAJL_GET_NUMBER (v) ? YAJL_GET_NUMBER (v) : "0");
  else if (YAJL_IS_OBJECT (v))
    {
      jb_append (j, "{");
      for (size_t i = 0; i < YAJL_GET_OBJECT (v)->len; i++)
        {
          if (i)
            jb_append (j, ",");
          jb_quote (j, YAJL_GET_OBJECT (v)->keys[i], strlen (YAJL_GET_OBJECT (v)->keys[i]));
          jb_append (j, ":");
          emit (j, YAJL_GET_OBJECT (v)->values[i]);
        }
      jb_append (j, "}");
    }
  else if (YAJL_IS_ARRAY (v))
    {
      jb_append (j, "[");
      for (size_t i = 0; i < YAJL_GET_ARRAY (v)->len; i++)
        {
          if (i)
            jb_append (j, ",");
          emit (j, YAJL_GET_ARRAY (v)->values[i]);
        }
      jb_append (j, "]");
    }
  else
    jb_append (j, YAJL_IS_TRUE (v) ? "true" : YAJL_IS_FALSE (v) ? "false" : "null");
}

void
audit_rec_line (const struct audit_rec *r, char **out, size_t *cap, size_t *len)
{
  struct jbuf j = { .buf = *out, .cap = *cap };
  j.len = 0;
  yajl_val id = audit_log_identity (r->log);
  /* The line as written, less its closing brace (and newline). */
  size_t n = r->len;
  while (n && (r->line[n - 1] == '\n' || r->line[n - 1] == ' ' || r->line[n - 1] == '\r'))
    n--;
  /* (An empty identity, a container no engine named, adds nothing.) */
  if (id == NULL || YAJL_GET_OBJECT (id)->len == 0 || json_lookup (r->v, "identity") || n < 2
      || r->line[n - 1] != '}')
    {
      jb_append_n (&j, r->line, r->len);
      *out = j.buf, *cap = j.cap, *len = j.len;
      return;
    }
  jb_append_n (&j, r->line, n - 1);
  jb_append (&j, YAJL_GET_OBJECT (r->v)->len ? ",\"identity\":" : "\"identity\":");
  emit (&j, id);
  jb_append (&j, "}\n");
  *out = j.buf, *cap = j.cap, *len = j.len;
}

/* ---- every log of a node ------------------------------------------------ */

struct audit_set
{
  void (*on_container) (const char *root, const char *dir, const char *id);
  char *dir, *root;
  struct audit_log **logs;
  size_t n;
};

struct audit_set *
audit_set_new (const char *dir, const char *root)
{
  struct audit_set *s = xmalloc0 (sizeof *s);
  s->dir = xstrdup (dir);
  s->root = xstrdup (root);
  /* A log is an open file while it is followed: a node keeps hundreds. */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void) setrlimit (RLIMIT_NOFILE, &rl);
    }
  return s;
}

void
audit_set_free (struct audit_set *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    audit_log_free (s->logs[i]);
  free (s->logs);
  free (s->dir);
  free (s->root);
  free (s);
}

size_t audit_set_count (const struct audit_set *s) { return s->n; }

void
audit_set_on_container (struct audit_set *s, void (*fn) (const char *root, const char *dir, const char *id))
{
  s->on_container = fn;
}

/* PATH into the set, unless it is not there (gone: a log removed by the
 * retention) or already in it under some name. */
static int
set_add (struct audit_set *s, const char *path, moat_error **err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->logs[i]->dev == st.st_dev && s->logs[i]->ino == st.st_ino)
      return 0;
  struct audit_log *l;
  moat_error *e = NULL;
  if (audit_log_open (path, &l, &e) < 0)
    {
      if (e->errnum == ENOENT)
        {
          moat_error_free (&e);
          return 0;
        }
      *err = e;
      return -1;
    }
  s->logs = xrealloc (s->logs, (s->n + 1) * sizeof *s->logs);
  s->logs[s->n++] = l;
  return 0;
}

int
audit_set_scan (struct audit_set *s, moat_error **err)
{
  cleanup_dir DIR *d = opendir (s->dir);
  struct dirent *e;
  char id[256];
  if (d == NULL && errno != ENOENT)
    {
      cleanup_free char *shown = str_printable (s->dir);
      return moat_error_set (err, errno, "audit directory `%s`", shown);
    }
  while (d && (e = readdir (d)) != NULL)
    if (audit_log_name_id (e->d_name, id, sizeof id))
      {
        cleanup_free char *path = xasprintf ("%s/%s", s->dir, e->d_name);
        if (set_add (s, path, err) < 0)
          return -1;
      }
  /* The containers of the root: their logs may be elsewhere. */
  cleanup_dir DIR *r = opendir (s->root);
  while (r && (e = readdir (r)) != NULL)
    {
      if (e->d_name[0] == '.' || state_validate_id (e->d_name, NULL) < 0)
        continue;
      cleanup_free char *cdir = xasprintf ("%s/%s", s->root, e->d_name);
      cleanup_close int dfd = open (cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      cleanup_state struct moat_state *st = NULL;
      moat_error *se = NULL;
      if (dfd < 0 || state_read (dfd, e->d_name, &st, &se) < 0 || st->audit_dir == NULL)
        {
          moat_error_free (&se);
          continue;
        }
      if (s->on_container)
        s->on_container (s->root, st->audit_dir, e->d_name);
      cleanup_free char *path = audit_path (st->audit_dir, e->d_name);
      if (set_add (s, path, err) < 0)
        return -1;
    }
  return 0;
}

int
audit_set_next (struct audit_set *s, bool final, struct audit_rec *rec)
{
  struct audit_log *best = NULL;
  for (size_t i = 0; i < s->n; i++)
    {
      struct audit_log *l = s->logs[i];
      if (!l->peeked)
        {
          int r = audit_log_next (l, final, &l->peek);
          if (r == AUDIT_READ_BAD)
            {
              *rec = l->peek;
              return r;
            }
          l->peeked = r == AUDIT_READ_REC;
        }
      if (l->peeked && (best == NULL || strcmp (l->peek.time, best->peek.time) < 0))
        best = l;
    }
  if (best == NULL)
    return AUDIT_READ_END;
  best->peeked = false;
  *rec = best->peek;
  return AUDIT_READ_REC;
}
