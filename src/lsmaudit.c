#include "config-host.h"
#include "lsmaudit.h"
#include "audit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hexval (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool
lsm_audit_field (const char *msg, const char *key, char *buf, size_t n)
{
  size_t kl = strlen (key);
  /* The line is space-separated key=value tokens: a value with a space,
   * a quote or a control character in it is written in hex, unquoted
   * (audit_log_untrustedstring), so no quoted value holds a space. */
  for (const char *p = msg; p && *p; p = strchr (p, ' '), p = p ? p + 1 : NULL)
    {
      if (strncmp (p, key, kl) != 0 || p[kl] != '=')
        continue;
      const char *v = p + kl + 1;
      size_t len;
      bool quoted = *v == '"';
      if (quoted)
        {
          v++;
          const char *e = strchr (v, '"');
          len = e ? (size_t) (e - v) : strlen (v);
        }
      else
        len = strcspn (v, " ");
      bool hex = !quoted && len > 0 && len % 2 == 0 && strcmp (key, "pid") != 0;
      for (size_t i = 0; hex && i < len; i++)
        hex = hexval (v[i]) >= 0 && !(v[i] >= 'a' && v[i] <= 'f');
      size_t k = 0;
      if (hex)
        for (size_t i = 0; i + 1 < len && k + 1 < n; i += 2)
          buf[k++] = (char) (hexval (v[i]) << 4 | hexval (v[i + 1]));
      else
        for (size_t i = 0; i < len && k + 1 < n; i++)
          buf[k++] = v[i];
      buf[k] = '\0';
      return true;
    }
  return false;
}

int
lsm_audit_kmsg (const char *msg, const struct lsm_sink *s)
{
  /* "audit: type=1400 audit(1733500000.123:45): apparmor="DENIED"
   * operation="open" profile="P" name="/x" pid=1234 comm="cat"
   * requested_mask="r" denied_mask="r" fsuid=0 ouid=0". Complain mode
   * ("ALLOWED") refuses nothing and is not the container's wall. */
  if (strncmp (msg, "audit: type=1400 ", 17) != 0 || strstr (msg, " apparmor=\"DENIED\" ") == NULL)
    return 0;
  char pidbuf[24];
  if (!lsm_audit_field (msg, "pid", pidbuf, sizeof pidbuf))
    return 1;
  /* The task's pid as the initial pid namespace sees it (its thread
   * group's): the container's if it is in its set of tasks. */
  pid_t pid = (pid_t) strtol (pidbuf, NULL, 10), nspid = 0;
  if (pid <= 0 || s->owns == NULL || !s->owns (s->owns_ctx, pid, &nspid))
    return 1;
  char op[64] = "", profile[256] = "", name[4096] = "", req[64] = "", den[64] = "", comm[64] = "";
  lsm_audit_field (msg, "operation", op, sizeof op);
  lsm_audit_field (msg, "profile", profile, sizeof profile);
  if (!lsm_audit_field (msg, "name", name, sizeof name))
    lsm_audit_field (msg, "target", name, sizeof name);
  lsm_audit_field (msg, "requested_mask", req, sizeof req);
  lsm_audit_field (msg, "denied_mask", den, sizeof den);
  lsm_audit_field (msg, "comm", comm, sizeof comm);

  char tb[48];
  audit_time (tb, sizeof tb);
  struct jbuf j = { 0 };
  jb_open (&j);
  jb_str (&j, "time", tb);
  jb_str (&j, "container", s->id);
  jb_str (&j, "wall", "apparmor");
  jb_str (&j, "kind", "refused");
  jb_int (&j, "pid", pid);
  if (nspid > 0)
    jb_int (&j, "nspid", nspid);
  else
    jb_raw (&j, "nspid", "null");
  jb_str (&j, "comm", comm);
  /* The kernel's line does not carry the errno; a denied file access
   * answers EACCES (AppArmor's own -EACCES), as do the other operations
   * except capabilities (EPERM). */
  jb_str (&j, "errno", strcmp (op, "capable") == 0 ? "EPERM" : "EACCES");
  jb_str (&j, "operation", op);
  jb_str (&j, "profile", profile);
  if (*name)
    jb_str (&j, "name", name);
  if (*req)
    jb_str (&j, "requested", req);
  if (*den)
    jb_str (&j, "denied", den);
  jb_str (&j, "source", "kmsg");
  cleanup_free char *why = xasprintf ("AppArmor profile `%s` denies %s%s%s", profile, *den ? den : op,
                                      *name ? " on " : "", name);
  jb_str (&j, "why", why);
  jb_close (&j);
  int r = s->out ? s->out (s->out_ctx, &j) : 0;
  jb_free (&j);
  return r < 0 ? -1 : 1;
}
