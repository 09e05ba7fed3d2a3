#include "config-host.h"
#include "audit.h"
#include "audit-read.h"
#include "json.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* `moat audit`: the records of one log or of all, for people (a table,
 * counts) or as JSON lines carrying their container's identity. */

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
          off += (size_t) snprintf (out + off, n - off, "%s%lld", sep, audit_num (v, 0));
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

/* Who a record of --all is: NAMESPACE/POD/CONTAINER when the engine
 * said, else the container's id. */
static void
who_of (const struct audit_log *l, char *out, size_t n)
{
  const char *pod = audit_log_ident (l, "pod"), *ns = audit_log_ident (l, "namespace");
  const char *name = audit_log_ident (l, "container");
  if (pod)
    snprintf (out, n, "%s%s%s%s%s", ns ? ns : "", ns ? "/" : "", pod, name ? "/" : "", name ? name : "");
  else
    snprintf (out, n, "%s", audit_log_id (l));
}

static void
print_row (yajl_val r, const char *who)
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
  int off = who ? snprintf (row, sizeof row, "%-24s ", who) : 0;
  snprintf (row + off, sizeof row - (size_t) off, "%-12.12s %6lld  %-15.15s %-12s %-40s %s", hms,
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


struct summary
{
  struct summary_row *rows;
  size_t n, cap;
};

/* Count R (an aggregate stands for its count of calls) under its key: the
 * call and outcome, or the wall and signal; prefixed by WHO for --all. */
static void
summary_add (struct summary *sm, yajl_val r, const char *who)
{
  char key[512];
  int off = who ? snprintf (key, sizeof key, "%-32s ", who) : 0;
  size_t room = sizeof key - (size_t) off;
  const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
  const char *sc = audit_rec_str (r, "syscall"), *eno = audit_rec_str (r, "errno");
  const char *act = audit_rec_str (r, "action"), *rule = audit_rec_str (r, "rule");
  const char *sig = audit_rec_str (r, "signal");
  if (kind && (strcmp (kind, "syscall") == 0 || (strcmp (kind, "aggregate") == 0 && sig == NULL)))
    snprintf (key + off, room, "seccomp  %-20s %-14s %s", sc ? sc : "?", eno ? eno : (act ? act : "?"),
              rule ? rule : "?");
  else
    snprintf (key + off, room, "%-8s %-20s %s", wall ? wall : "?", sig ? sig : (kind ? kind : "?"), "");
  size_t i;
  for (i = 0; i < sm->n && strcmp (sm->rows[i].key, key) != 0; i++)
    ;
  if (i == sm->n)
    {
      if (sm->n == sm->cap)
        sm->rows = xrealloc (sm->rows, (sm->cap = sm->cap ? sm->cap * 2 : 16) * sizeof *sm->rows);
      sm->rows[sm->n].key = xstrdup (key);
      sm->rows[sm->n++].count = 0;
    }
  sm->rows[i].count += kind && strcmp (kind, "aggregate") == 0 ? audit_rec_int (r, "count", 1) : 1;
}

static int
by_count (const void *a, const void *b)
{
  const struct summary_row *x = a, *y = b;
  return x->count > y->count ? -1 : x->count < y->count;
}

static void
summary_print (struct summary *sm, bool all)
{
  /* Across containers: the most first (which pods hit which walls most);
   * one container's rows stay in the order they first came. */
  if (all && sm->n)
    qsort (sm->rows, sm->n, sizeof *sm->rows, by_count);
  if (all)
    printf ("%8s  %-32s %-8s %-20s %-14s %s\n", "COUNT", "CONTAINER", "WALL", "WHAT", "OUTCOME", "RULE");
  else
    printf ("%8s  %-8s %-20s %-14s %s\n", "COUNT", "WALL", "WHAT", "OUTCOME", "RULE");
  for (size_t i = 0; i < sm->n; i++)
    {
      cleanup_free char *shown = str_visible (sm->rows[i].key);
      printf ("%8ld  %s\n", sm->rows[i].count, shown);
      free (sm->rows[i].key);
    }
  free (sm->rows);
}

/* What the reader does with each record that passes the filters. */
struct out
{
  const struct audit_query *q;
  struct summary sm;
  char *line;
  size_t cap;
  unsigned long long unreadable, first_unreadable;
  char first_path[4096];
};

static void
out_rec (struct out *o, const struct audit_rec *r)
{
  char who[512];
  if (o->q->all)
    who_of (r->log, who, sizeof who);
  if (o->q->summary)
    summary_add (&o->sm, r->v, o->q->all ? who : NULL);
  else if (o->q->json)
    {
      size_t len;
      audit_rec_line (r, &o->line, &o->cap, &len);
      fwrite (o->line, 1, len, stdout);
    }
  else
    print_row (r->v, o->q->all ? who : NULL);
}

static void
out_bad (struct out *o, const struct audit_rec *r)
{
  /* Never silently: counted, and said once all else is shown. */
  if (o->unreadable++ == 0)
    {
      o->first_unreadable = r->lineno;
      snprintf (o->first_path, sizeof o->first_path, "%s", audit_log_path (r->log));
    }
}

static void
out_head (const struct audit_query *q)
{
  if (q->json || q->summary)
    return;
  if (q->all)
    printf ("%-24s ", "CONTAINER");
  printf ("%-12s %6s  %-15s %-12s %-40s %s\n", "TIME", "PID", "COMM", "WALL", "WHAT", "OUTCOME");
}

static int
out_end (struct out *o, moat_error **err)
{
  if (o->q->summary)
    summary_print (&o->sm, o->q->all);
  free (o->line);
  fflush (stdout);
  if (o->unreadable)
    {
      cleanup_free char *shown = str_printable (o->first_path);
      return moat_error_set (err, 0, "%s: %llu line%s could not be read (the first: line %llu%s); every other "
                             "record was shown", shown, o->unreadable, o->unreadable == 1 ? "" : "s",
                             o->first_unreadable, o->q->all ? " of that log" : "");
    }
  return 0;
}

static void
filter_of (const struct audit_query *q, struct audit_filter *f)
{
  *f = (struct audit_filter) { .wall = q->wall, .kind = q->kind, .syscall = q->syscall, .since = q->since,
                               .pod = q->pod, .namespace = q->namespace, .image = q->image, .pid = q->pid };
}

static void
pause_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };
  nanosleep (&ts, NULL);   /* a signal ends it early: the loop looks at the flag */
}

static int
show_one (const struct audit_query *q, moat_error **err)
{
  const char *dir = q->dir ? q->dir : MOAT_DEFAULT_AUDIT_DIR, *root = q->root ? q->root : MOAT_DEFAULT_ROOT;
  /* The id becomes file names under both: never `../x` (cmd_audit checks
   * too; this is the reader's own guard). */
  if (state_validate_id (q->id, err) < 0)
    return -1;
  /* Every record made so far, including those still in the spool. */
  if (q->sync)
    q->sync (root, dir, q->id);
  cleanup_free char *path = audit_path (dir, q->id);
  struct audit_log *l = NULL;
  moat_error *oe = NULL;
  if (audit_log_open (path, &l, &oe) < 0)
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
  struct audit_filter f;
  filter_of (q, &f);
  struct out o = { .q = q };
  out_head (q);
  bool draining = false;
  for (;;)
    {
      struct audit_rec r;
      /* While the container writes, a last line without its newline is one
       * being written: not yet a record. */
      int got = audit_log_next (l, !q->follow || draining, &r);
      if (got == AUDIT_READ_REC && audit_filter_match (&f, &r))
        out_rec (&o, &r);
      else if (got == AUDIT_READ_BAD)
        out_bad (&o, &r);
      else if (got == AUDIT_READ_END)
        {
          if (!q->follow || draining)
            break;
          /* Follow: wait for more; once the container is gone, read what
           * is left and stop. */
          fflush (stdout);
          draining = container_gone (q);
          if (draining && q->sync)
            q->sync (root, dir, q->id);
          else
            pause_ms (100);
        }
    }
  audit_log_free (l);
  return out_end (&o, err);
}

static volatile sig_atomic_t stop_following;

static void
on_stop (int sig)
{
  (void) sig;
  stop_following = 1;
}

/* --all: every log of the node, merged by time. */
static int
show_all (const struct audit_query *q, moat_error **err)
{
  const char *dir = q->dir ? q->dir : MOAT_DEFAULT_AUDIT_DIR, *root = q->root ? q->root : MOAT_DEFAULT_ROOT;
  struct audit_set *s = audit_set_new (dir, root);
  /* Every record made so far, including those still in a spool (later
   * ones come as the supervisors write them). */
  audit_set_on_container (s, q->sync);
  int scanned = audit_set_scan (s, err);
  audit_set_on_container (s, NULL);
  if (scanned < 0)
    {
      audit_set_free (s);
      return -1;
    }
  if (q->follow)
    {
      /* Ended by a signal: what was read is shown, the counts too. No
       * SA_RESTART: the pause between looks ends at once. */
      struct sigaction sa = { .sa_handler = on_stop };
      sigemptyset (&sa.sa_mask);
      sigaction (SIGINT, &sa, NULL);
      sigaction (SIGTERM, &sa, NULL);
    }
  struct audit_filter f;
  filter_of (q, &f);
  struct out o = { .q = q };
  out_head (q);
  int ret = 0;
  /* Without --follow, the logs as they are now (a live one's last line
   * without its newline is still being written: left out). With it, a
   * look every 200 ms at the logs and at the directories for new ones:
   * bounded work, no busy loop. */
  while (!stop_following)
    {
      struct audit_rec r;
      int got = audit_set_next (s, false, &r);
      if (got == AUDIT_READ_REC && audit_filter_match (&f, &r))
        out_rec (&o, &r);
      else if (got == AUDIT_READ_BAD)
        out_bad (&o, &r);
      else if (got == AUDIT_READ_END)
        {
          if (!q->follow)
            break;
          fflush (stdout);
          pause_ms (200);
          if (!stop_following && (ret = audit_set_scan (s, err)) < 0)
            break;
        }
    }
  audit_set_free (s);
  if (ret < 0)
    {
      free (o.line);
      return ret;
    }
  return out_end (&o, err);
}

int
audit_show (const struct audit_query *q, moat_error **err)
{
  return q->all ? show_all (q, err) : show_one (q, err);
}
