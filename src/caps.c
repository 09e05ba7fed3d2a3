#include "config-host.h"
#include "caps.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static const char *const set_names[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };

static char **const *
set_list (const struct moat_caps *c, size_t i)
{
  char **const *sets[] = { &c->bounding, &c->effective, &c->inheritable, &c->permitted, &c->ambient };
  return sets[i];
}

static int
cap_value (const char *name, cap_value_t *v)
{
  /* libcap knows "cap_chown"; OCI writes "CAP_CHOWN". Both are accepted. */
  return cap_from_name (name, v);
}

int
caps_validate (const struct moat_caps *c, moat_error **err)
{
  for (size_t s = 0; s < ARRAY_SIZE (set_names); s++)
    {
      char **list = *set_list (c, s);
      for (size_t i = 0; list && list[i]; i++)
        {
          cap_value_t v;
          if (strncasecmp (list[i], "CAP_", 4) != 0 || cap_value (list[i], &v) < 0)
            {
              cleanup_free char *shown = str_printable (list[i]);
              return moat_error_set (err, 0, "process.capabilities.%s[%zu]: unknown capability `%s`",
                                     set_names[s], i, shown);
            }
        }
    }
  return 0;
}

bool
caps_name_known (const char *name)
{
  /* The same reading as exec's: CAP_ added when missing, upper case. */
  cap_value_t v;
  cleanup_free char *full = strncasecmp (name, "CAP_", 4) == 0 ? xstrdup (name) : xasprintf ("CAP_%s", name);
  for (char *p = full; *p; p++)
    *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  return cap_value (full, &v) == 0;
}

static bool
listed (char **list, cap_value_t v)
{
  for (size_t i = 0; list && list[i]; i++)
    {
      cap_value_t x;
      if (cap_value (list[i], &x) == 0 && x == v)
        return true;
    }
  return false;
}

int
caps_drop_bounding (const struct moat_caps *c, moat_error **err)
{
  /* An absent set in a present capabilities object is an empty set (as
   * runc reads it; podman --cap-drop ALL sends "capabilities": {}). Leaving
   * the bounding set alone would hand root every capability back at
   * execve. */
  /* Walk what the running kernel knows, which may be more than libcap. */
  for (cap_value_t v = 0; v < 64; v++)
    {
      if (prctl (PR_CAPBSET_READ, v, 0, 0, 0) < 0)
        break;
      if (!listed (c->bounding, v) && prctl (PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
        return moat_error_set (err, errno, "drop %s from the bounding set", cap_to_name (v));
    }
  return 0;
}

int
caps_apply (const struct moat_caps *c, moat_error **err)
{
  cap_t caps = cap_init ();
  if (caps == NULL)
    return moat_error_set (err, errno, "cap_init");
  static const cap_flag_t flags[] = { CAP_EFFECTIVE, CAP_INHERITABLE, CAP_PERMITTED };
  char **lists[] = { c->effective, c->inheritable, c->permitted };
  for (size_t f = 0; f < 3; f++)
    for (size_t i = 0; lists[f] && lists[f][i]; i++)
      {
        cap_value_t v;
        if (cap_value (lists[f][i], &v) == 0)
          cap_set_flag (caps, flags[f], 1, &v, CAP_SET);
      }
  int r = cap_set_proc (caps);
  int e = errno;
  cap_free (caps);
  if (r < 0)
    return moat_error_set (err, e, "set process capabilities");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return moat_error_set (err, errno, "clear ambient capabilities");
  /* One by one, and one that cannot be raised (the kernel wants it in both
   * the permitted and the inheritable set) is left out, not fatal: runc's
   * rule (libcontainer/capabilities: "set ambient caps one by one and don't
   * return any errors, only warn"). buildah's RUN asks for ambient
   * capabilities it does not make inheritable. The warning is
   * caps_warn_ambient's, in the runtime, where it can be read. */
  for (size_t i = 0; c->ambient && c->ambient[i]; i++)
    {
      cap_value_t v;
      if (cap_value (c->ambient[i], &v) == 0)
        (void) prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0);
    }
  return 0;
}

void
caps_warn_ambient (const struct moat_caps *c)
{
  for (size_t i = 0; c->ambient && c->ambient[i]; i++)
    {
      cap_value_t v;
      if (cap_value (c->ambient[i], &v) == 0 && listed (c->permitted, v) && listed (c->inheritable, v))
        continue;
      cleanup_free char *shown = str_printable (c->ambient[i]);
      log_warning ("process.capabilities.ambient[%zu]: `%s` is not both permitted and inheritable: "
                   "it cannot be raised; left out", i, shown);
    }
}
