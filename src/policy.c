#include "config-host.h"
#include "policy.h"
#include "budget.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const char *const known_keys[] = {
  "name", "description", "seccomp", "capabilities", "noNewPrivileges", "namespaces",
  "maskedPaths", "readonlyPaths", "resources", "audit", "comment", "strict", "filesystem",
};

int
policy_load (const char *path, struct moat_policy **out, moat_error **err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (read_file_at (-100, path, &text, &len, 4 << 20, err) < 0)
    return moat_error_wrap (err, "policy");
  return policy_parse (text, len, path, out, err);
}

/* audit.maxSize (bytes, or a string with K, M or G), audit.rate and
 * audit.burst (counts): the log's budget (budget.h). */
static int
policy_budget (struct moat_policy *p, yajl_val audit, const char *path, moat_error **err)
{
  yajl_val v = json_lookup (audit, "maxSize");
  if (v && YAJL_IS_STRING (v))
    {
      if (budget_parse_size (YAJL_GET_STRING (v), &p->max_size, "audit.maxSize", err) < 0)
        return moat_error_wrap (err, "%s", path);
      p->has_max_size = true;
    }
  else if (v && !YAJL_IS_NULL (v))
    {
      if (json_get_uint64 (audit, "maxSize", path, "audit", &p->max_size, false, err) < 0)
        return -1;
      p->has_max_size = true;
    }
  p->has_rate = json_lookup (audit, "rate") != NULL;
  p->has_burst = json_lookup (audit, "burst") != NULL;
  return json_get_uint32 (audit, "rate", path, "audit", &p->rate, false, err) < 0
             || json_get_uint32 (audit, "burst", path, "audit", &p->burst, false, err) < 0
           ? -1 : 0;
}

int
policy_parse (const char *text, size_t len, const char *path, struct moat_policy **out, moat_error **err)
{
  struct moat_policy *p = xmalloc0 (sizeof *p);
  cleanup_policy struct moat_policy *guard = p;
  p->path = xstrdup (path);
  p->audit_syscalls = p->audit_signals = p->audit_cgroup = true;
  p->text = xmalloc0 (len + 1);
  memcpy (p->text, text, len);
  if (json_parse (p->text, len, path, &p->tree, err) < 0)
    return -1;
  if (json_as_object (p->tree, path, "", err) < 0)
    return -1;
  const char *base = strrchr (path, '/') ? strrchr (path, '/') + 1 : path;

  if (json_lookup (p->tree, "defaultAction"))
    {
      /* A bare Docker/Podman seccomp profile. */
      p->seccomp = p->tree;
      p->name = xstrdup (base);
      *out = steal_pointer (&guard);
      return 0;
    }
  /* A policy is a security document: a misspelt key is an error, not a
   * silently ignored wall. */
  for (size_t i = 0; i < YAJL_GET_OBJECT (p->tree)->len; i++)
    {
      const char *k = YAJL_GET_OBJECT (p->tree)->keys[i];
      bool known = false;
      for (size_t j = 0; j < ARRAY_SIZE (known_keys); j++)
        known |= strcmp (k, known_keys[j]) == 0;
      if (!known)
        {
          cleanup_free char *pr = json_printable (k);
          return json_error (err, path, pr, "unknown policy field");
        }
    }
  if (json_get_string (p->tree, "name", path, "", &p->name, false, err) < 0
      || json_get_string (p->tree, "description", path, "", &p->description, false, err) < 0
      || json_get_object (p->tree, "seccomp", path, "", &p->seccomp, false, err) < 0
      || json_get_strv (p->tree, "capabilities", path, "", &p->caps, false, err) < 0
      || json_get_bool (p->tree, "noNewPrivileges", path, "", &p->nnp, false, err) < 0
      || json_get_strv (p->tree, "namespaces", path, "", &p->namespaces, false, err) < 0
      || json_get_strv (p->tree, "maskedPaths", path, "", &p->masked_paths, false, err) < 0
      || json_get_strv (p->tree, "readonlyPaths", path, "", &p->readonly_paths, false, err) < 0
      || json_get_object (p->tree, "resources", path, "", &p->resources, false, err) < 0
      || json_get_bool (p->tree, "strict", path, "", &p->strict, false, err) < 0)
    return -1;
  p->has_caps = p->caps != NULL;
  p->has_nnp = json_lookup (p->tree, "noNewPrivileges") != NULL;
  yajl_val audit = NULL;
  if (json_get_object (p->tree, "audit", path, "", &audit, false, err) < 0)
    return -1;
  if (audit && (json_get_bool (audit, "syscalls", path, "audit", &p->audit_syscalls, false, err) < 0
                || json_get_bool (audit, "signals", path, "audit", &p->audit_signals, false, err) < 0
                || json_get_bool (audit, "cgroup", path, "audit", &p->audit_cgroup, false, err) < 0
                || json_get_string (audit, "faultDetail", path, "audit", &p->fault_detail, false, err) < 0
                || json_get_bool (audit, "kernel", path, "audit", &p->audit_kernel, false, err) < 0))
    return -1;
  if (audit && policy_budget (p, audit, path, err) < 0)
    return -1;
  if (p->fault_detail && strcmp (p->fault_detail, "kmsg") != 0 && strcmp (p->fault_detail, "bpf") != 0)
    {
      cleanup_free char *pr = json_printable (p->fault_detail);
      return json_error (err, path, "audit.faultDetail", "must be \"kmsg\" or \"bpf\", not `%s`", pr);
    }
  for (size_t i = 0; p->namespaces && p->namespaces[i]; i++)
    if (ns_type_from_name (p->namespaces[i]) < 0)
      {
        cleanup_free char *np = json_path_index ("namespaces", i);
        cleanup_free char *pr = json_printable (p->namespaces[i]);
        return json_error (err, path, np, "unknown namespace type `%s`", pr);
      }
  for (size_t i = 0; p->masked_paths && p->masked_paths[i]; i++)
    if (p->masked_paths[i][0] != '/')
      {
        cleanup_free char *mp = json_path_index ("maskedPaths", i);
        return json_error (err, path, mp, "must be an absolute path");
      }
  for (size_t i = 0; p->readonly_paths && p->readonly_paths[i]; i++)
    if (p->readonly_paths[i][0] != '/')
      {
        cleanup_free char *rp = json_path_index ("readonlyPaths", i);
        return json_error (err, path, rp, "must be an absolute path");
      }
  yajl_val fs = NULL;
  if (json_get_array (p->tree, "filesystem", path, "", &fs, false, err) < 0)
    return -1;
  if (fs)
    {
      /* [{"path": "/tmp", "access": ["read", "write"]}, ...] */
      size_t n = YAJL_GET_ARRAY (fs)->len;
      p->fs_rules = xmalloc0 ((n ? n : 1) * sizeof *p->fs_rules);
      for (size_t i = 0; i < n; i++)
        {
          yajl_val r = YAJL_GET_ARRAY (fs)->values[i];
          cleanup_free char *rp = json_path_index ("filesystem", i);
          cleanup_strv char **access = NULL;
          if (json_as_object (r, path, rp, err) < 0
              || json_get_string (r, "path", path, rp, &p->fs_rules[i].path, true, err) < 0)
            return -1;
          p->n_fs_rules = i + 1;
          if (json_get_strv (r, "access", path, rp, &access, true, err) < 0)
            return -1;
          if (p->fs_rules[i].path[0] != '/')
            {
              cleanup_free char *pp = json_path_key (rp, "path");
              return json_error (err, path, pp, "must be an absolute path");
            }
          for (size_t k = 0; access[k]; k++)
            {
              unsigned bit = strcmp (access[k], "read") == 0 ? MOAT_FS_READ
                             : strcmp (access[k], "write") == 0 ? MOAT_FS_WRITE
                             : strcmp (access[k], "execute") == 0 ? MOAT_FS_EXECUTE : 0;
              if (bit == 0)
                {
                  cleanup_free char *ap = json_path_key (rp, "access");
                  cleanup_free char *ai = json_path_index (ap, k);
                  cleanup_free char *pr = json_printable (access[k]);
                  return json_error (err, path, ai, "unknown access `%s` (read, write or execute)", pr);
                }
              p->fs_rules[i].access |= bit;
            }
        }
    }
  if (p->name == NULL)
    p->name = xstrdup (base);
  *out = steal_pointer (&guard);
  return 0;
}

void
policy_free (struct moat_policy *p)
{
  if (p == NULL)
    return;
  free (p->path);
  free (p->name);
  free (p->description);
  free (p->fault_detail);
  strv_free (p->caps);
  strv_free (p->namespaces);
  strv_free (p->masked_paths);
  strv_free (p->readonly_paths);
  for (size_t i = 0; i < p->n_fs_rules; i++)
    free (p->fs_rules[i].path);
  free (p->fs_rules);
  json_free (p->tree);
  free (p->text);
  free (p);
}

static char **
strv_concat (char **a, char **b)
{
  size_t na = strv_len (a), nb = strv_len (b);
  char **r = xmalloc0 ((na + nb + 1) * sizeof (char *));
  for (size_t i = 0; i < na; i++)
    r[i] = xstrdup (a[i]);
  for (size_t i = 0; i < nb; i++)
    r[na + i] = xstrdup (b[i]);
  return r;
}

int
policy_apply (const struct moat_policy *p, struct moat_config *cfg, moat_error **err UNUSED)
{
  if (p->seccomp)
    cfg->seccomp = p->seccomp;
  if (p->has_caps)
    {
      /* The kept set, in every set but inheritable and ambient: those are
       * never granted implicitly (CVE-2022-29162 class). */
      struct moat_caps *c = &cfg->caps;
      strv_free (c->bounding);
      strv_free (c->effective);
      strv_free (c->permitted);
      strv_free (c->inheritable);
      strv_free (c->ambient);
      c->bounding = strv_dup (p->caps);
      c->effective = strv_dup (p->caps);
      c->permitted = strv_dup (p->caps);
      c->inheritable = xmalloc0 (sizeof (char *));
      c->ambient = xmalloc0 (sizeof (char *));
      cfg->has_caps = true;
    }
  if (p->has_nnp)
    cfg->no_new_privileges = p->nnp;
  for (size_t i = 0; p->namespaces && p->namespaces[i]; i++)
    cfg->ns[ns_type_from_name (p->namespaces[i])].present = true;
  if (p->masked_paths)
    {
      char **m = strv_concat (cfg->masked_paths, p->masked_paths);
      strv_free (cfg->masked_paths);
      cfg->masked_paths = m;
    }
  if (p->readonly_paths)
    {
      char **r = strv_concat (cfg->readonly_paths, p->readonly_paths);
      strv_free (cfg->readonly_paths);
      cfg->readonly_paths = r;
    }
  if (p->resources)
    cfg->resources = p->resources;
  if (p->fs_rules)
    {
      cfg->fs_rules = p->fs_rules;
      cfg->n_fs_rules = p->n_fs_rules;
    }
  return 0;
}
