/* moat — counters from the audit logs (see metrics.h). */
#include "config-host.h"
#include "metrics.h"
#include "audit.h"
#include "json.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The families, in the order they are printed. */
enum family
{
  F_RECORDS,
  F_DENIALS,
  F_DEATHS,
  F_SURVIVED,
  F_CGROUP,
  F_AGGREGATED,
  F_LOST,
  F_UNREADABLE,
  F_COUNT
};

static const struct
{
  const char *name, *help;
} families[F_COUNT] = {
  [F_RECORDS] = { "moat_audit_records_total", "Records (lines) in the container's audit log, by wall and kind." },
  [F_DENIALS] = { "moat_denials_total",
                  "Syscalls a wall stopped or logged, by syscall, wall, rule and outcome (an errno name, or the "
                  "action: kill, kill_process, trap, log); an aggregate record counts its calls." },
  [F_DEATHS] = { "moat_fault_deaths_total", "Processes killed by a fault signal, by signal and wall." },
  [F_SURVIVED] = { "moat_faults_survived_total", "Faults a process lived through (it handled the signal), by signal and wall." },
  [F_CGROUP] = { "moat_cgroup_events_total",
                 "Limits of the cgroup wall hit: oom (a process killed), pids (a fork refused)." },
  [F_AGGREGATED] = { "moat_records_aggregated_total",
                     "Events counted in aggregate records past the log's budget instead of a record each, by wall." },
  [F_LOST] = { "moat_records_lost_total", "Events the audit log says it lost (its own notices), by what." },
  [F_UNREADABLE] = { "moat_audit_unreadable_lines_total", "Lines of the audit log that are not a JSON record." },
};

struct entry
{
  char *key;           /* the family (one byte, '0' + F_*) then the labels' text */
  unsigned long long count;
};

struct log
{
  char *id;
  char *ident;         /* id="..."[,pod="...",namespace="...",container="..."] */
  bool ident_final;    /* the pod labels were found (or the container is gone) */
  dev_t dev;
  ino_t ino;
  off_t off;           /* where the next read starts: after the last whole line */
  struct entry *e;
  size_t n, cap;
  size_t *slot;        /* open addressing over e, 0 = empty, else index + 1 */
  size_t nslot;
  bool seen;           /* found by the current collect */
};

struct metrics
{
  char *dir, *root;
  void (*sync) (const char *root, const char *dir, const char *id);   /* metrics_set_sync */
  struct log *logs;
  size_t nlogs;
};

struct metrics *
metrics_new (const char *dir, const char *root)
{
  struct metrics *m = xmalloc0 (sizeof *m);
  m->dir = xstrdup (dir ? dir : MOAT_DEFAULT_AUDIT_DIR);
  m->root = xstrdup (root ? root : MOAT_DEFAULT_ROOT);
  return m;
}

void
metrics_set_sync (struct metrics *m, void (*fn) (const char *root, const char *dir, const char *id))
{
  m->sync = fn;
}

static void
log_reset (struct log *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->e[i].key);
  free (l->e);
  free (l->slot);
  l->e = NULL;
  l->slot = NULL;
  l->n = l->cap = l->nslot = 0;
  l->off = 0;
}

static void
log_free (struct log *l)
{
  log_reset (l);
  free (l->id);
  free (l->ident);
}

void
metrics_free (struct metrics *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->nlogs; i++)
    log_free (&m->logs[i]);
  free (m->logs);
  free (m->dir);
  free (m->root);
  free (m);
}

static size_t
hash (const char *s)
{
  uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return (size_t) h;
}

static void
rehash (struct log *l, size_t nslot)
{
  free (l->slot);
  l->slot = xmalloc0 (nslot * sizeof *l->slot);
  l->nslot = nslot;
  for (size_t i = 0; i < l->n; i++)
    {
      size_t h = hash (l->e[i].key) & (nslot - 1);
      while (l->slot[h])
        h = (h + 1) & (nslot - 1);
      l->slot[h] = i + 1;
    }
}

static void
count (struct log *l, const char *key, unsigned long long by)
{
  if (l->nslot == 0 || 2 * (l->n + 1) > l->nslot)
    rehash (l, l->nslot ? 2 * l->nslot : 64);
  size_t h = hash (key) & (l->nslot - 1);
  for (; l->slot[h]; h = (h + 1) & (l->nslot - 1))
    if (strcmp (l->e[l->slot[h] - 1].key, key) == 0)
      {
        l->e[l->slot[h] - 1].count += by;
        return;
      }
  if (l->n == l->cap)
    l->e = xrealloc (l->e, (l->cap = l->cap ? 2 * l->cap : 32) * sizeof *l->e);
  l->e[l->n] = (struct entry) { xstrdup (key), by };
  l->slot[h] = ++l->n;
}

/* A label value as the exposition format wants it: backslash, double quote
 * and newline escaped; a byte that starts no UTF-8 character (a value is
 * made of what a config or a log held) becomes U+FFFD. */
static void
put_value (struct jbuf *o, const char *v)
{
  jb_append (o, "\"");
  size_t n = strlen (v);
  for (size_t i = 0; i < n;)
    {
      unsigned char c = (unsigned char) v[i];
      if (c == '\\' || c == '"')
        {
          char e[3] = { '\\', (char) c, 0 };
          jb_append (o, e);
          i++;
        }
      else if (c == '\n')
        {
          jb_append (o, "\\n");
          i++;
        }
      else if (c >= 0x80)
        {
          unsigned int cp;
          size_t k = utf8_seq_len ((const unsigned char *) v + i, n - i, &cp);
          if (k)
            {
              char u[8] = { 0 };
              memcpy (u, v + i, k);
              jb_append (o, u);
            }
          else
            jb_append (o, "\xef\xbf\xbd");
          i += k ? k : 1;
        }
      else
        {
          char s[2] = { (char) c, 0 };
          jb_append (o, s);
          i++;
        }
    }
  jb_append (o, "\"");
}

static void
put_label (struct jbuf *o, const char *name, const char *v)
{
  if (o->len > 1)
    jb_append (o, ",");
  jb_append (o, name);
  jb_append (o, "=");
  put_value (o, v ? v : "");
}

static void put_label (struct jbuf *o, const char *name, const char *v);

/* The log's header record (audit-ident.h): who the container is, as the
 * engine named it. It is not a record to count; its identity becomes L's
 * labels, kept after the container is deleted. */
static void
header_ident (struct log *l, yajl_val r)
{
  static const char *const fields[] = { "pod", "namespace", "container" };
  const char *path[] = { "identity", NULL };
  yajl_val idt = yajl_tree_get (r, path, yajl_t_object);
  struct jbuf o = { 0 };
  jb_append (&o, "{");
  put_label (&o, "id", l->id);
  for (size_t i = 0; i < ARRAY_SIZE (fields); i++)
    {
      const char *v = idt ? audit_rec_str (idt, fields[i]) : NULL;
      if (v)
        put_label (&o, fields[i], v);
    }
  free (l->ident);
  l->ident = xstrdup (o.buf + 1);
  l->ident_final = true;
  jb_free (&o);
}

/* Count one record R of log L. */
static void
count_record (struct log *l, yajl_val r)
{
  const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
  if (kind && strcmp (kind, "header") == 0 && wall && strcmp (wall, "moat") == 0)
    {
      header_ident (l, r);
      return;
    }
  const char *what = audit_rec_str (r, "what"), *sig = audit_rec_str (r, "signal");
  bool agg = kind && strcmp (kind, "aggregate") == 0;
  long long n = agg ? audit_rec_int (r, "count", 1) : 1;
  if (n < 0)
    n = 0;
  struct jbuf k = { 0 };
  char fam[2] = { 0 };

#define BEGIN(F) (k.len = 0, fam[0] = (char) ('0' + (F)), jb_append (&k, fam))
  BEGIN (F_RECORDS);
  put_label (&k, "wall", wall ? wall : "?");
  put_label (&k, "kind", kind ? kind : "?");
  count (l, k.buf, 1);
  if (agg)
    {
      BEGIN (F_AGGREGATED);
      put_label (&k, "wall", wall ? wall : "?");
      count (l, k.buf, (unsigned long long) n);
    }

  bool refused = kind && (strcmp (kind, "refused") == 0 || (agg && what && strcmp (what, "refused") == 0));
  bool call = kind && (strcmp (kind, "syscall") == 0 || (agg && !sig && !refused));
  if (call || refused)
    {
      const char *act = audit_rec_str (r, "action"), *eno = audit_rec_str (r, "errno");
      char enobuf[24];
      if (eno == NULL && audit_rec_int (r, "errno", -1) >= 0)
        {
          snprintf (enobuf, sizeof enobuf, "%lld", audit_rec_int (r, "errno", 0));
          eno = enobuf;
        }
      const char *outcome = (refused || (act && strcmp (act, "errno") == 0)) && eno ? eno : act ? act : "?";
      const char *rule = audit_rec_str (r, "rule");
      BEGIN (F_DENIALS);
      put_label (&k, "syscall", audit_rec_str (r, "syscall") ? audit_rec_str (r, "syscall") : "?");
      put_label (&k, "wall", wall ? wall : "?");
      put_label (&k, "rule", rule ? rule : refused ? "kernel" : "?");
      put_label (&k, "outcome", outcome);
      count (l, k.buf, (unsigned long long) n);
    }
  else if (kind && (strcmp (kind, "signal") == 0 || strcmp (kind, "fault") == 0 || agg))
    {
      bool death = strcmp (kind, "signal") == 0 || (agg && what && strcmp (what, "signal") == 0);
      if (death || strcmp (kind, "fault") == 0 || (agg && what && strcmp (what, "fault") == 0))
        {
          BEGIN (death ? F_DEATHS : F_SURVIVED);
          put_label (&k, "signal", sig ? sig : "?");
          put_label (&k, "wall", wall ? wall : "?");
          count (l, k.buf, (unsigned long long) n);
        }
    }
  else if (wall && strcmp (wall, "cgroup") == 0 && kind)
    {
      /* A pids record stands for the forks it says were refused. */
      long long ev = strcmp (kind, "pids") == 0 ? audit_rec_int (r, "refused", 1) : 1;
      BEGIN (F_CGROUP);
      put_label (&k, "kind", kind);
      count (l, k.buf, ev > 0 ? (unsigned long long) ev : 0);
    }
  if (wall && strcmp (wall, "moat") == 0 && audit_rec_int (r, "lost", -1) > 0)
    {
      BEGIN (F_LOST);
      put_label (&k, "kind", kind ? kind : "?");
      count (l, k.buf, (unsigned long long) audit_rec_int (r, "lost", 0));
    }
#undef BEGIN
  jb_free (&k);
}

/* The labels that say whose log it is: the id, and the pod, its namespace
 * and the container's name from the CRI annotations of its config, while
 * its state is there to read them from, until the log's header (which
 * carries the same identity, and outlives the container) is read. */
static void
log_ident (struct metrics *m, struct log *l)
{
  static const struct
  {
    const char *label, *annotation;
  } ids[] = {
    { "pod", "io.kubernetes.cri.sandbox-name" },
    { "namespace", "io.kubernetes.cri.sandbox-namespace" },
    { "container", "io.kubernetes.cri.container-name" },
  };
  struct jbuf o = { 0 };
  jb_append (&o, "{");
  put_label (&o, "id", l->id);
  cleanup_free char *sdir = xasprintf ("%s/%s", m->root, l->id);
  cleanup_close int dfd = open (sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct moat_state *st = NULL;
  moat_error *e = NULL;
  bool found = false;
  if (dfd >= 0 && state_read (dfd, l->id, &st, &e) == 0)
    for (size_t i = 0; i < ARRAY_SIZE (ids); i++)
      for (size_t a = 0; a < st->n_annotations; a++)
        if (strcmp (st->annotation_keys[a], ids[i].annotation) == 0)
          {
            put_label (&o, ids[i].label, st->annotation_values[a]);
            found = true;
            break;
          }
  moat_error_free (&e);
  state_free (st);
  /* Kept once found; looked for again while the container is there
   * without them (its state may not be written yet). */
  l->ident_final = found || dfd < 0;
  free (l->ident);
  l->ident = xstrdup (o.buf + 1);
  jb_free (&o);
}

/* Read what L's file FD gained since L->off. */
static int
log_read (struct log *l, int fd)
{
  size_t cap = 1 << 16, have = 0;
  cleanup_free char *buf = xmalloc0 (cap + 1);
  for (;;)
    {
      ssize_t got = pread (fd, buf + have, cap - have, l->off + (off_t) have);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return -1;
      if (got == 0)
        return 0;
      have += (size_t) got;
      buf[have] = '\0';
      /* Whole lines only: a line still being appended is read next time. */
      size_t start = 0;
      for (char *nl; (nl = memchr (buf + start, '\n', have - start)) != NULL;)
        {
          size_t len = (size_t) (nl - (buf + start)) + 1;
          yajl_val r = NULL;
          moat_error *e = NULL;
          if (json_parse (buf + start, len, "audit log", &r, &e) == 0 && YAJL_IS_OBJECT (r))
            count_record (l, r);
          else
            {
              char fam[2] = { (char) ('0' + F_UNREADABLE), 0 };
              count (l, fam, 1);
            }
          moat_error_free (&e);
          json_free (r);
          start += len;
        }
      l->off += (off_t) start;
      memmove (buf, buf + start, have - start);
      have -= start;
      if (have == cap)
        {
          /* One line longer than the buffer: room for it. */
          buf = xrealloc (buf, 2 * cap + 1);
          cap *= 2;
        }
    }
}

static struct log *
find_log (struct metrics *m, const char *id)
{
  for (size_t i = 0; i < m->nlogs; i++)
    if (strcmp (m->logs[i].id, id) == 0)
      return &m->logs[i];
  m->logs = xrealloc (m->logs, (m->nlogs + 1) * sizeof *m->logs);
  struct log *l = &m->logs[m->nlogs++];
  *l = (struct log) { .id = xstrdup (id) };
  return l;
}

static int
by_id (const void *a, const void *b)
{
  return strcmp (((const struct log *) a)->id, ((const struct log *) b)->id);
}

int
metrics_collect (struct metrics *m, moat_error **err)
{
  cleanup_dir DIR *d = opendir (m->dir);
  if (d == NULL)
    {
      if (errno == ENOENT)
        goto drop;   /* no container has left a log yet */
      cleanup_free char *shown = str_printable (m->dir);
      return moat_error_set (err, errno, "audit directory `%s`", shown);
    }
  for (size_t i = 0; i < m->nlogs; i++)
    m->logs[i].seen = false;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      /* ID.jsonl only: an ID.jsonl.N is an earlier container's of the
       * same id, whose counts this id's series does not go on from. */
      size_t nl = strlen (de->d_name);
      if (nl <= 6 || strcmp (de->d_name + nl - 6, ".jsonl") != 0)
        continue;
      char id[1100];
      if (nl - 6 >= sizeof id)
        continue;
      memcpy (id, de->d_name, nl - 6);
      id[nl - 6] = '\0';
      if (state_validate_id (id, NULL) < 0)
        continue;
      /* Records still in a live supervisor's spool first (a cheap test
       * when there is no spool). */
      if (m->sync)
        m->sync (m->root, m->dir, id);
      cleanup_close int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      struct stat st;
      if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      struct log *l = find_log (m, id);
      l->seen = true;
      if (l->ino != st.st_ino || l->dev != st.st_dev || st.st_size < l->off)
        {
          /* A new container's log (the old one was rotated) or one cut
           * short: counted from its start, a counter reset. */
          log_reset (l);
          l->ino = st.st_ino;
          l->dev = st.st_dev;
          l->ident_final = false;
        }
      if (!l->ident_final)
        log_ident (m, l);
      if (st.st_size > l->off && log_read (l, fd) < 0)
        {
          cleanup_free char *shown = str_printable (de->d_name);
          return moat_error_set (err, errno, "audit log `%s`", shown);
        }
    }
drop:
  /* Logs gone (retired) take their series with them. */
  {
    size_t keep = 0;
    for (size_t i = 0; i < m->nlogs; i++)
      if (d != NULL && m->logs[i].seen)
        m->logs[keep++] = m->logs[i];
      else
        log_free (&m->logs[i]);
    m->nlogs = keep;
  }
  if (m->nlogs > 1)
    qsort (m->logs, m->nlogs, sizeof *m->logs, by_id);
  return 0;
}

char *
metrics_render (const struct metrics *m, bool openmetrics, size_t *len)
{
  struct jbuf o = { 0 };
  jb_append (&o, "");
  for (int f = 0; f < F_COUNT; f++)
    {
      /* OpenMetrics names the counter family without its _total suffix. */
      const char *name = families[f].name;
      size_t base = strlen (name) - (openmetrics ? strlen ("_total") : 0);
      char fam[64];
      snprintf (fam, sizeof fam, "%.*s", (int) base, name);
      jb_append (&o, "# HELP ");
      jb_append (&o, fam);
      jb_append (&o, " ");
      jb_append (&o, families[f].help);
      jb_append (&o, "\n# TYPE ");
      jb_append (&o, fam);
      jb_append (&o, " counter\n");
      for (size_t i = 0; i < m->nlogs; i++)
        {
          const struct log *l = &m->logs[i];
          for (size_t k = 0; k < l->n; k++)
            {
              if (l->e[k].key[0] != '0' + f)
                continue;
              char num[32];
              snprintf (num, sizeof num, "} %llu\n", l->e[k].count);
              jb_append (&o, name);
              jb_append (&o, "{");
              jb_append (&o, l->ident);
              if (l->e[k].key[1])
                {
                  jb_append (&o, ",");
                  jb_append (&o, l->e[k].key + 1);
                }
              jb_append (&o, num);
            }
        }
    }
  if (openmetrics)
    jb_append (&o, "# EOF\n");
  *len = o.len;
  return o.buf;
}

int
metrics_write_textfile (struct metrics *m, const char *path, moat_error **err)
{
  if (metrics_collect (m, err) < 0)
    return -1;
  size_t len;
  cleanup_free char *text = metrics_render (m, false, &len);
  cleanup_free char *tmp = xasprintf ("%s.tmp.%ld", path, (long) getpid ());
  cleanup_free char *shown = str_printable (path);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return moat_error_set (err, errno, "--textfile `%s`: create its temporary file", shown);
  if (write_all (fd, text, len) < 0 || fsync (fd) < 0)
    {
      int e = errno;
      close (fd);
      unlink (tmp);
      return moat_error_set (err, e, "--textfile `%s`: write", shown);
    }
  close (fd);
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return moat_error_set (err, e, "--textfile `%s`: rename into place", shown);
    }
  return 0;
}
