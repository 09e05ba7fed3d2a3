#include "config-host.h"
#include "audit-ident.h"
#include "audit.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

/* Each field, from the first of its annotations that is set: containerd's
 * CRI plugin, then CRI-O's (also what podman's kube play sets). */
static const struct
{
  const char *field;
  const char *keys[3];
} ident_fields[] = {
  { "pod", { "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name", NULL } },
  { "namespace", { "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace", NULL } },
  { "container", { "io.kubernetes.cri.container-name", "io.kubernetes.container.name",
                   "io.kubernetes.cri-o.ContainerName" } },
  { "image", { "io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName", NULL } },
  { "sandboxId", { "io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID", NULL } },
  { "containerType", { "io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType", NULL } },
  { "manager", { "io.container.manager", NULL, NULL } },   /* podman: "libpod" */
};

/* Kept whole under "annotations": the user's and podman's own. */
static bool
extra_key (const char *k)
{
  return strncmp (k, "org.moat.", 9) == 0 || strncmp (k, "io.podman.annotations.", 22) == 0;
}

/* At most MAX bytes of S, cut where a UTF-8 character starts (a cut
 * character would become U+FFFD and a _bytes member). */
static size_t
bounded (const char *s, size_t max, bool *cut)
{
  size_t n = strlen (s);
  if (n <= max)
    return n;
  *cut = true;
  n = max;
  for (int back = 0; back < 3 && n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80; back++)
    n--;
  return n;
}

static bool
utf8_valid (const char *s)
{
  size_t n = strlen (s);
  for (size_t i = 0; i < n;)
    {
      unsigned int cp;
      size_t k = (unsigned char) s[i] < 0x80 ? 1 : utf8_seq_len ((const unsigned char *) s + i, n - i, &cp);
      if (k == 0)
        return false;
      i += k;
    }
  return true;
}

char *
audit_header_line (const char *id, char *const *keys, char *const *values, size_t n)
{
  struct jbuf j = { 0 };
  char tb[48];
  audit_time (tb, sizeof tb);
  bool cut = false;
  jb_open (&j);
  jb_str (&j, "time", tb);
  jb_str (&j, "container", id);
  jb_str (&j, "wall", "moat");
  jb_str (&j, "kind", "header");
  jb_int (&j, "schema", AUDIT_SCHEMA_VERSION);
  jb_obj_open (&j, "identity");
  for (size_t f = 0; f < sizeof ident_fields / sizeof ident_fields[0]; f++)
    {
      const char *v = NULL;
      for (size_t k = 0; v == NULL && k < 3 && ident_fields[f].keys[k]; k++)
        for (size_t i = 0; i < n; i++)
          if (strcmp (keys[i], ident_fields[f].keys[k]) == 0)
            {
              v = values[i];
              break;
            }
      if (v)
        jb_strn (&j, ident_fields[f].field, v, bounded (v, AUDIT_IDENT_VALUE_MAX, &cut));
    }
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (!extra_key (keys[i]))
        continue;
      /* A key is escaped as every string is, but has no _bytes twin: one
       * that is not UTF-8 (or too long, or past the count) is left out,
       * and the header says something was. */
      if (kept == AUDIT_IDENT_EXTRA_MAX || strlen (keys[i]) > AUDIT_IDENT_KEY_MAX || !utf8_valid (keys[i]))
        {
          cut = true;
          continue;
        }
      if (kept++ == 0)
        jb_obj_open (&j, "annotations");
      jb_strn (&j, keys[i], values[i], bounded (values[i], AUDIT_IDENT_VALUE_MAX, &cut));
    }
  if (kept)
    jb_obj_close (&j);
  if (cut)
    jb_raw (&j, "truncated", "true");
  jb_obj_close (&j);
  jb_close (&j);
  return j.buf;
}
