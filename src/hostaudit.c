/* moat — the audit records, copied to syslog and the kernel's audit (see
 * hostaudit.h). */
#include "config-host.h"
#include "hostaudit.h"
#include "audit.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBAUDIT
#include <libaudit.h>
#endif

#define SYSLOG_PATH "/dev/log"
/* LOG_AUTHPRIV | LOG_WARNING: a wall refused something; auth.log is where
 * rsyslog puts what a security officer reads. */
#define SYSLOG_PRI (10 * 8 + 4)

static int
parse_list (const char *v, unsigned *mask, const char *what, moat_error **err)
{
  *mask = 0;
  cleanup_free char *copy = xstrdup (v);
  char *save = NULL;
  for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
    {
      if (strcmp (w, "syslog") == 0)
        *mask |= HOSTAUDIT_SYSLOG;
      else if (strcmp (w, "kernel") == 0)
        *mask |= HOSTAUDIT_KERNEL;
      else if (strcmp (w, "none") != 0)
        {
          cleanup_free char *shown = str_printable (v);
          return moat_error_set (err, 0, "%s: `%s` is not syslog, kernel, syslog,kernel or none", what, shown);
        }
    }
#ifndef HAVE_LIBAUDIT
  if (*mask & HOSTAUDIT_KERNEL)
    return moat_error_set (err, 0, "%s: kernel: this moat was built without libaudit (apt-get install libaudit-dev, "
                           "then configure again)", what);
#endif
  return 0;
}

const char *
hostaudit_sinks (void)
{
#ifdef HAVE_LIBAUDIT
  return "syslog,kernel";
#else
  return "syslog";
#endif
}

int
hostaudit_for (const char *flag, char *const *keys, char *const *values, size_t n, unsigned *mask, moat_error **err)
{
  *mask = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp (keys[i], "org.moat.audit.forward") == 0)
      return parse_list (values[i], mask, "config.json: annotations.org.moat.audit.forward", err);
  return flag ? parse_list (flag, mask, "--audit-forward", err) : 0;
}

/* ---- one line per record ------------------------------------------------ */

/* A value as a key=value reader takes it: as it is when it is made of
 * plain characters; else in hex (what auditd does with a value the
 * watched process chose, and what `ausearch -i` turns back). QUOTE: a
 * string the process named (comm), in double quotes when plain, as
 * auditd writes comm. */
static size_t
put_value (char *out, size_t n, size_t o, const char *v, bool quote)
{
  bool plain = *v != '\0';
  for (const char *p = v; *p && plain; p++)
    plain = *p > ' ' && *p < 0x7f && *p != '"' && *p != '\\' && *p != '=' && *p != '\'';
  if (plain)
    return o + (size_t) snprintf (out + o, o < n ? n - o : 0, quote ? "\"%s\"" : "%s", v);
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *) v; *p && o + 2 < n; p++)
    {
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  if (*v == '\0' && o + 2 < n)
    out[o++] = '?', out[o] = '\0';
  if (o < n)
    out[o] = '\0';
  return o;
}

bool
hostaudit_line (const char *json, size_t len, char *out, size_t n, bool *denial)
{
  yajl_val r = NULL;
  moat_error *e = NULL;
  if (json_parse (json, len, "audit record", &r, &e) < 0 || !YAJL_IS_OBJECT (r))
    {
      moat_error_free (&e);
      json_free (r);
      return false;
    }
  const char *kind = audit_rec_str (r, "kind"), *what = audit_rec_str (r, "what");
  bool agg = kind && strcmp (kind, "aggregate") == 0;
  *denial = kind && (strcmp (kind, "syscall") == 0 || strcmp (kind, "refused") == 0
                     || (agg && audit_rec_str (r, "signal") == NULL) || (agg && what && strcmp (what, "refused") == 0));
  /* A fixed order of keys: a line reads the same from one version to the
   * next, and a key missing from a record is missing from its line. */
  static const struct
  {
    const char *key;
    bool quote;
  } strs[] = {
    { "container", false }, { "wall", false }, { "kind", false }, { "what", false }, { "syscall", false },
    { "action", false }, { "errno", false }, { "rule", false }, { "signal", false }, { "limit", false },
    { "comm", true },
  };
  static const char *const nums[] = { "count", "refused", "lost", "pid", "nspid" };
  size_t o = (size_t) snprintf (out, n, "moat:");
  for (size_t i = 0; i < ARRAY_SIZE (strs) && o < n; i++)
    {
      const char *v = audit_rec_str (r, strs[i].key);
      if (v == NULL)
        continue;
      /* "what" of a notice is a sentence: said in the log, not here. */
      if (strcmp (strs[i].key, "what") == 0 && !agg && !(kind && strcmp (kind, "lost") == 0))
        continue;
      o += (size_t) snprintf (out + o, n - o, " %s=", strs[i].key);
      if (o < n)
        o = put_value (out, n, o, v, strs[i].quote);
    }
  for (size_t i = 0; i < ARRAY_SIZE (nums) && o < n; i++)
    {
      long long v = audit_rec_int (r, nums[i], -1);
      if (v >= 0)
        o += (size_t) snprintf (out + o, n - o, " %s=%lld", nums[i], v);
    }
  json_free (r);
  return true;
}

/* ---- the sinks ---------------------------------------------------------- */

static unsigned forward_mask;
static int syslog_fd = -1;
#ifdef HAVE_LIBAUDIT
static int kaudit_fd = -1;
#endif
static double tokens = HOSTAUDIT_BURST;
static struct timespec last_refill;
/* Per sink (0: syslog, 1: kernel): the records it did not get a line for,
 * held back by the rate or refused by the sink itself. Each sink's lines
 * and its folded counts add up to every record, whatever the other did. */
static unsigned long long folded[2];
static char folded_id[256];

static bool
send_syslog (const char *line)
{
  if (syslog_fd < 0)
    {
      syslog_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSLOG_PATH };
      if (syslog_fd >= 0 && connect (syslog_fd, (struct sockaddr *) &sa, sizeof sa) < 0)
        {
          close (syslog_fd);
          syslog_fd = -1;
        }
      if (syslog_fd < 0)
        return false;   /* no syslog (yet): tried again at the next line */
    }
  /* RFC 3164, as syslog(3) writes it to /dev/log. */
  char msg[4096], ts[32];
  time_t now = time (NULL);
  struct tm tm;
  strftime (ts, sizeof ts, "%b %e %H:%M:%S", localtime_r (&now, &tm));
  int len = snprintf (msg, sizeof msg, "<%d>%s moat[%d]: %s", SYSLOG_PRI, ts, (int) getpid (), line + 6);
  if (len < 0)
    return false;
  if ((size_t) len >= sizeof msg)
    len = sizeof msg - 1;
  /* Never waits: a syslog daemon that does not read costs a folded line,
   * not a stalled log. */
  if (send (syslog_fd, msg, (size_t) len, MSG_DONTWAIT | MSG_NOSIGNAL) == len)
    return true;
  if (errno != EAGAIN)
    {
      close (syslog_fd);   /* the daemon restarted: connect again next time */
      syslog_fd = -1;
    }
  return false;
}

static bool
send_kernel (const char *line, bool denial)
{
#ifdef HAVE_LIBAUDIT
  if (kaudit_fd < 0 && (kaudit_fd = audit_open ()) < 0)
    return false;
  /* res=failed: something was refused (or a process died of it). */
  if (audit_log_user_message (kaudit_fd, denial ? AUDIT_USER_AVC : AUDIT_USER, line + 6, NULL, NULL, NULL, 0) > 0)
    return true;
  audit_close (kaudit_fd);
  kaudit_fd = -1;
#else
  (void) line;
  (void) denial;
#endif
  return false;
}

static bool
send_to (int sink, const char *line, bool denial)
{
  return sink == 0 ? send_syslog (line) : send_kernel (line, denial);
}

/* What SINK held back: one line that says how many. */
static void
send_folded (int sink)
{
  char line[512];
  snprintf (line, sizeof line, "moat: container=%s wall=moat kind=folded count=%llu rate=%d", folded_id, folded[sink],
            HOSTAUDIT_RATE);
  if (send_to (sink, line, true))
    folded[sink] = 0;
}

static bool
take_token (void)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  if (last_refill.tv_sec)
    {
      double dt = (double) (now.tv_sec - last_refill.tv_sec) + (double) (now.tv_nsec - last_refill.tv_nsec) / 1e9;
      tokens += dt * HOSTAUDIT_RATE;
      if (tokens > HOSTAUDIT_BURST)
        tokens = HOSTAUDIT_BURST;
    }
  last_refill = now;
  if (tokens < 1)
    return false;
  tokens -= 1;
  return true;
}

/* audit_tap_lines: BUF holds whole JSON lines, just appended to a log
 * (under the log's lock: one call at a time). */
static void
tap_lines (const char *buf, size_t len)
{
  const char *p = buf, *end = buf + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      size_t l = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
      char line[2048];
      bool denial = false;
      if (hostaudit_line (p, l, line, sizeof line, &denial))
        {
          const char *c = strstr (line, " container=");
          if (c && !folded_id[0])
            snprintf (folded_id, sizeof folded_id, "%.*s", (int) strcspn (c + 11, " "), c + 11);
          /* The count of what was held back goes first, when a token
           * allows; the record itself needs one more. */
          if ((folded[0] || folded[1]) && take_token ())
            for (int k = 0; k < 2; k++)
              if (folded[k])
                send_folded (k);
          bool token = take_token ();
          for (int k = 0; k < 2; k++)
            if ((forward_mask & (1u << k)) && (folded[k] || !token || !send_to (k, line, denial)))
              folded[k]++;
        }
      p += l;
    }
}

/* audit_tap_finish: the log's last batch is written; what is still held
 * back is said now, whatever the rate. */
static void
tap_finish (void)
{
  for (int k = 0; k < 2; k++)
    if (folded[k])
      send_folded (k);
}

void
hostaudit_enable (unsigned mask)
{
  forward_mask = mask;
  audit_tap_lines = mask ? tap_lines : NULL;
  audit_tap_finish = mask ? tap_finish : NULL;
}
