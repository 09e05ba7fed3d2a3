/* moat — the supervisor's records (supervisor-int.h): syscall names by
 * ABI, the formats of call, notice and aggregate records, the spool's
 * formatter and the recovery of what a dead supervisor left in its spool.
 * Apart from the listeners because a moat command that is no supervisor
 * (audit, metrics, delete) formats a spool's records too. */
#include "config-host.h"
#include "supervisor-int.h"
#include "audit.h"
#include "budget.h"
#include "log.h"
#include "spool.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The arguments SPEC says are strings in the caller's memory, a bit each. */
static uint8_t
spec_path_mask (const char *spec)
{
  uint8_t m = 0;
  for (int i = 0; spec && *spec && i < 6; i++)
    {
      const char *end = strchr (spec, ',');
      size_t len = end ? (size_t) (end - spec) : strlen (spec);
      if (len >= 5 && memcmp (spec + len - 5, ":path", 5) == 0)
        m |= (uint8_t) (1u << i);
      spec = end ? end + 1 : NULL;
    }
  return m;
}

/* NAMES: the thread's cache, one per ABI (x86_64, x86, x32: each its own
 * table, an x32 number never lands in the x86_64 slot of the same low
 * bits). ARCH and NR as the kernel reports them. *KEY: the rules' number
 * for the name (seccomp_decide_abi); INT_MIN, which no rule has, for a
 * number libseccomp does not know. *PATHS: spec_path_mask. */
const char *
sup_syscall_name (struct name_cache *names, uint32_t arch, int nr, int *key, const char **spec, uint8_t *paths)
{
  uint32_t abi = seccomp_call_abi (arch, nr);
  int slot = abi == SCMP_ARCH_X86_64 ? 0 : abi == SCMP_ARCH_X86 ? 1 : abi == SCMP_ARCH_X32 ? 2 : -1;
  struct name_cache *c = slot >= 0 ? &names[slot] : NULL;
  int idx = abi == SCMP_ARCH_X32 ? (int) ((unsigned) nr & ~0x40000000u) : nr;
  if (c && idx >= 0 && idx < NAME_SLOTS && c->known[idx])
    {
      *key = c->native[idx];
      *spec = c->spec[idx];
      *paths = c->paths[idx];
      return c->name[idx];
    }
  char *name = seccomp_syscall_resolve_num_arch (abi, nr);
  *key = name ? seccomp_syscall_resolve_name (name) : INT_MIN;
  if (*key == __NR_SCMP_ERROR)
    *key = INT_MIN;
  *spec = arg_spec_lookup (name);
  *paths = spec_path_mask (*spec);
  if (c && idx >= 0 && idx < NAME_SLOTS)
    {
      c->known[idx] = true;
      c->name[idx] = name;
      c->spec[idx] = *spec;
      c->native[idx] = *key;
      c->paths[idx] = *paths;
      return name;
    }
  /* Uncached (another arch, or a number past the table): kept for the
   * life of the supervisor, rare. */
  return name;
}

void
sup_names_free (struct name_cache *names)
{
  for (int a = 0; a < 3; a++)
    for (int i = 0; i < NAME_SLOTS; i++)
      free (names[a].name[i]);
}

static const char *
arch_name (uint32_t arch)
{
  switch (arch)
    {
    case SCMP_ARCH_X86_64: return "x86_64";
    case SCMP_ARCH_X86: return "x86";
    case SCMP_ARCH_X32: return "x32";
    case SCMP_ARCH_AARCH64: return "aarch64";
    default: return "other";
    }
}

/* A record for the log: through the spool, or (no spool: it could not be
 * mapped) written here. < 0: the log refused it. */
int
sup_log (struct sup *s, const struct jbuf *j)
{
  if (s->spool && spool_put (s->spool, SPOOL_TEXT, j->buf, j->len) == 0)
    return 0;
  return audit_write (s->a->log_fd, j);
}

void
sup_notice (struct sup *s, const char *what)
{
  sup_notice_lost (s, what, -1);
}

void
sup_notice_lost (struct sup *s, const char *what, long long lost)
{
  struct jbuf j = { 0 };
  audit_notice (&j, NULL, s->a->id, what, lost);
  if (sup_log (s, &j) < 0)
    s->unwritten++;
  jb_free (&j);
}

/* A syscall record, formatted from what the listener took down. */
void
sup_format_call (struct jbuf *j, const struct call_rec *r, const char *strs, size_t slen, const char *id,
                 const char *policy, struct name_cache *names)
{
  /* The strings read at the call stand in for the caller's memory. */
  struct decode_preread pre[6];
  size_t npre = 0;
  for (unsigned i = 0; i < r->nstr && npre < 6; i++)
    {
      uint64_t addr;
      uint32_t len;
      if (slen < 12)
        break;
      memcpy (&addr, strs, 8);
      memcpy (&len, strs + 8, 4);
      if (slen - 12 < (size_t) len + 1)
        break;
      pre[npre++] = (struct decode_preread){ addr, strs + 12 };
      strs += 12 + len + 1;
      slen -= 12 + len + 1;
    }
  int key;
  const char *spec;
  uint8_t paths;
  const char *name = sup_syscall_name (names, r->arch, r->nr, &key, &spec, &paths);
  char tbuf[48];
  struct timespec ts = { (time_t) r->sec, (long) r->nsec };
  audit_time_at (&ts, tbuf, sizeof tbuf);
  jb_open_more (j);
  jb_str (j, "time", tbuf);
  jb_str (j, "container", id);
  jb_str (j, "wall", "seccomp");
  jb_str (j, "kind", "syscall");
  jb_int (j, "pid", r->tgid);
  jb_int (j, "tid", r->tid);
  if (r->nspid > 0)
    jb_int (j, "nspid", r->nspid);
  else
    jb_raw (j, "nspid", "null");
  jb_str (j, "comm", r->comm);
  jb_str (j, "syscall", name ? name : "?");
  jb_int (j, "nr", r->nr);
  jb_str (j, "arch", arch_name (seccomp_call_abi (r->arch, r->nr)));
  decode_set_preread (pre, npre);
  (void) decode_args_spec (j, spec, r->args, 0);
  decode_set_preread (NULL, 0);
  enum sc_action act = (enum sc_action) r->action;
  /* A call that went on to run: the strings above were read from the
   * caller's memory when the kernel handed the call over; another thread
   * could change that memory before the kernel read it. (A refused call's
   * memory is never read by the kernel: its record is exact.) */
  if ((act == SC_LOG || act == SC_ALLOW) && r->nstr > 0)
    jb_str (j, "argsReadAt", "notification");
  jb_str (j, "action", sc_action_name (act));
  if (act == SC_ERRNO)
    {
      const char *en = strerrorname_np ((int) r->eno);
      if (en)
        jb_str (j, "errno", en);
      else
        jb_int (j, "errno", r->eno);
    }
  if (r->sig)
    jb_str (j, "signal", r->sig == SIGSYS ? "SIGSYS" : "SIGKILL");
  if (r->flags & CALL_UNATTRIBUTED)
    jb_str (j, "rule", "unknown");
  else if (r->has_rule)
    {
      char rb[48];
      jb_str (j, "rule", sc_source_label ((size_t) r->source, rb, sizeof rb));
    }
  else
    jb_str (j, "rule", "default");
  jb_str (j, "policy", policy);
  jb_close (j);
}

/* The spool's formatter (spool_format_fn): CTX is the thread's name cache. */
void
sup_format_rec (struct jbuf *out, uint32_t type, const void *p, size_t n, const char *id, const char *policy,
                void *ctx)
{
  if (type == SPOOL_TEXT)
    jb_append (out, p);
  else if (type == SPOOL_LOST && n == sizeof (struct spool_lost))
    {
      struct spool_lost lost;
      memcpy (&lost, p, sizeof lost);
      char what[128];
      snprintf (what, sizeof what, "%llu records could not be written to the audit log (it refused them: a full "
                "disk?); the time is that of the last", (unsigned long long) lost.count);
      struct timespec at = { (time_t) lost.sec, (long) lost.nsec };
      audit_notice (out, &at, id, what, (long long) lost.count);
    }
  else if (type == SPOOL_CALL && n >= sizeof (struct call_rec))
    {
      struct call_rec r;
      memcpy (&r, p, sizeof r);
      r.comm[sizeof r.comm - 1] = '\0';
      sup_format_call (out, &r, (const char *) p + sizeof r, n - sizeof r, id, policy, ctx);
    }
}

int
supervisor_recover (const char *dir, const char *id, unsigned long long *n, moat_error **err)
{
  /* Every create and delete asks, and almost never is there a spool: no
   * name caches (67 KiB) for nothing. */
  cleanup_free char *path = spool_path (dir, id);
  *n = 0;
  if (access (path, F_OK) != 0 && errno == ENOENT)
    return 0;
  struct name_cache *names = xmalloc0 (3 * sizeof *names);
  int r = spool_recover (dir, id, sup_format_rec, names, n, err);
  sup_names_free (names);
  free (names);
  return r;
}

static int
recover_quietly (const char *dir, const char *id)
{
  unsigned long long n = 0;
  moat_error *e = NULL;
  int r = supervisor_recover (dir, id, &n, &e);
  if (r < 0)
    {
      cleanup_free char *m = moat_error_string (e);
      log_warning ("%s", m);
      moat_error_free (&e);
    }
  return r;
}

void
supervisor_flush (int sock)
{
  struct pollfd p = { .fd = sock, .events = POLLIN };
  char c;
  if (send (sock, "F", 1, MSG_NOSIGNAL) == 1 && poll (&p, 1, 5000) > 0)
    (void) recv (sock, &c, 1, 0);
}

void
supervisor_log_sync (const char *root, const char *dir, const char *id)
{
  moat_error *e = NULL;
  if (state_validate_id (id, &e) < 0)
    {
      moat_error_free (&e);
      return;   /* no such log either: the reader says so */
    }
  if (recover_quietly (dir, id) != 1)
    return;
  /* Alive: it empties the spool when asked ("F"), and says so. One that
   * is ending no longer answers, but lets go of the spool once it is
   * empty: wait for whichever comes first (5 s at most). */
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int sk = -1;
  if ((size_t) snprintf (sa.sun_path, sizeof sa.sun_path, "%s/%s/" SUP_SOCK_NAME, root, id) < sizeof sa.sun_path)
    {
      sk = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      if (sk >= 0 && (connect (sk, (struct sockaddr *) &sa, sizeof sa) < 0 || send (sk, "F", 1, MSG_NOSIGNAL) != 1))
        {
          close (sk);
          sk = -1;
        }
    }
  for (int i = 0; i < 1000; i++)
    {
      struct pollfd p = { .fd = sk, .events = POLLIN };
      char c = 0;
      if (sk >= 0 && poll (&p, 1, 5) > 0)
        {
          if (recv (sk, &c, 1, 0) == 1 && c == 'F')
            return;
          close (sk);   /* gone without answering: its spool is free now */
          sk = -1;
        }
      if (sk < 0)
        {
          struct timespec ts = { 0, 5 * 1000 * 1000 };
          nanosleep (&ts, NULL);
        }
      if (recover_quietly (dir, id) != 1)
        return;
    }
}

struct name_cache *
supervisor_names_new (void)
{
  return xmalloc0 (3 * sizeof (struct name_cache));
}

void
supervisor_names_free (struct name_cache *names)
{
  if (names)
    sup_names_free (names);
  free (names);
}

/* One kind of call the budget counted, as a record. */
static void
format_aggregate (struct jbuf *j, const struct agg_entry *e, const char *id, const char *policy,
                  struct name_cache *names, const char *why)
{
  char t1[48], t2[48];
  audit_time_at (&e->first, t1, sizeof t1);
  audit_time_at (&e->last, t2, sizeof t2);
  jb_open_more (j);
  jb_str (j, "time", t2);
  jb_str (j, "container", id);
  int key;
  const char *spec;
  uint8_t paths;
  if (e->key.kind == AGG_REFUSED)
    {
      /* Calls the kernel itself refused (--audit-kernel), past the budget:
       * counted without the wall each was laid at. */
      const char *name = sup_syscall_name (names, e->key.arch, e->key.nr, &key, &spec, &paths);
      const char *en = strerrorname_np ((int) e->key.eno);
      jb_str (j, "wall", "kernel");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "what", "refused");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "syscall", name ? name : "?");
      jb_int (j, "nr", e->key.nr);
      jb_str (j, "errno", en ? en : "?");
    }
  else if (e->key.kind != AGG_CALL)
    {
      /* Deaths by a fault signal (or faults lived through) past the budget. */
      int sig = e->key.nr;
      char sb[16];
      snprintf (sb, sizeof sb, "SIG%s", sig > 0 && sigabbrev_np (sig) ? sigabbrev_np (sig) : "?");
      jb_str (j, "wall", sig == SIGSEGV || sig == SIGBUS ? "mmu" : sig == SIGILL || sig == SIGFPE ? "cpu"
                         : sig == SIGSYS ? "seccomp" : "process");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "what", e->key.kind == AGG_DEATH ? "signal" : "fault");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "signal", sb);
    }
  else if (e->key.nr == -1 && strcmp (e->key.comm, "*") == 0)
    {
      /* The kinds the table had no room for, all together. */
      jb_str (j, "wall", "seccomp");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "comm", "*");
      jb_str (j, "syscall", "*");
      jb_str (j, "action", "*");
    }
  else
    {
      const char *name = sup_syscall_name (names, e->key.arch, e->key.nr, &key, &spec, &paths);
      jb_str (j, "wall", "seccomp");
      jb_str (j, "kind", "aggregate");
      jb_str (j, "comm", e->key.comm);
      jb_str (j, "syscall", name ? name : "?");
      jb_int (j, "nr", e->key.nr);
      jb_str (j, "arch", arch_name (seccomp_call_abi (e->key.arch, e->key.nr)));
      enum sc_action act = (enum sc_action) e->key.action;
      jb_str (j, "action", sc_action_name (act));
      if (act == SC_ERRNO)
        {
          const char *en = strerrorname_np ((int) e->key.eno);
          if (en)
            jb_str (j, "errno", en);
          else
            jb_int (j, "errno", e->key.eno);
        }
      char rb[48];
      jb_str (j, "rule", e->key.has_rule == 2 ? "unknown"
                         : e->key.has_rule ? sc_source_label ((size_t) e->key.source, rb, sizeof rb) : "default");
    }
  jb_int (j, "count", (long long) e->count);
  jb_str (j, "first", t1);
  jb_str (j, "last", t2);
  jb_str (j, "why", why);
  if (e->key.kind == AGG_CALL)
    jb_str (j, "policy", policy);
  jb_close (j);
}

/* Write what the budget counted since the last time, a record per kind;
 * an aggregate the log refuses is counted as the calls it stood for. */
void
sup_flush_aggregates (struct sup *s)
{
  if (s->budget == NULL)
    return;
  struct agg_entry *v;
  size_t n;
  budget_drain (s->budget, &v, &n);
  if (n && s->agg_names == NULL)
    s->agg_names = supervisor_names_new ();
  struct jbuf j = { 0 };
  for (size_t i = 0; i < n; i++)
    {
      j.len = 0;
      format_aggregate (&j, &v[i], s->a->id, s->a->policy, s->agg_names, budget_why (s->budget));
      if (sup_log (s, &j) < 0)
        __atomic_add_fetch (&s->unwritten, v[i].count, __ATOMIC_RELAXED);
    }
  jb_free (&j);
  free (v);
}
