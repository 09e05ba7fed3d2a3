#include "config-host.h"
#include "seccomp-wall.h"
#include "json.h"
#include "log.h"
#include "sha256.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static const struct { const char *oci, *name; enum sc_action a; } actions[] = {
  { "SCMP_ACT_ALLOW", "allow", SC_ALLOW },
  { "SCMP_ACT_LOG", "log", SC_LOG },
  { "SCMP_ACT_TRACE", "trace", SC_TRACE },
  { "SCMP_ACT_NOTIFY", "notify", SC_NOTIFY },
  { "SCMP_ACT_ERRNO", "errno", SC_ERRNO },
  { "SCMP_ACT_TRAP", "trap", SC_TRAP },
  { "SCMP_ACT_KILL_THREAD", "kill_thread", SC_KILL_THREAD },
  { "SCMP_ACT_KILL", "kill_thread", SC_KILL_THREAD },
  { "SCMP_ACT_KILL_PROCESS", "kill_process", SC_KILL_PROCESS },
};

const char *
sc_action_name (enum sc_action a)
{
  for (size_t i = 0; i < ARRAY_SIZE (actions); i++)
    if (actions[i].a == a)
      return actions[i].name;
  return "unknown";
}

const char *
sc_action_oci (enum sc_action a)
{
  for (size_t i = 0; i < ARRAY_SIZE (actions); i++)
    if (actions[i].a == a)
      return actions[i].oci;
  return "unknown";
}

static const struct { const char *name; int op; } ops[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct { const char *name; unsigned flag; } filter_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", 0 },   /* moat filters the init's own thread: nothing to sync */
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64". Docker profiles
 * name arches the Go way in includes/excludes ("amd64", "arm64"): those too. */
static uint32_t
arch_token (const char *oci)
{
  static const struct { const char *go, *scmp; } go_names[] = {
    { "amd64", "x86_64" }, { "386", "x86" }, { "x32", "x32" }, { "arm64", "aarch64" },
    { "arm", "arm" }, { "ppc64le", "ppc64le" }, { "ppc64", "ppc64" }, { "s390x", "s390x" },
    { "s390", "s390" }, { "mips", "mips" }, { "mipsle", "mipsel" }, { "mips64", "mips64" },
    { "mips64le", "mipsel64" }, { "riscv64", "riscv64" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (go_names); i++)
    if (strcmp (oci, go_names[i].go) == 0)
      return seccomp_arch_resolve_name (go_names[i].scmp);
  if (strncmp (oci, "SCMP_ARCH_", 10) != 0)
    return 0;
  char low[32];
  size_t i;
  for (i = 0; oci[10 + i] && i < sizeof low - 1; i++)
    low[i] = (char) tolower ((unsigned char) oci[10 + i]);
  low[i] = '\0';
  return seccomp_arch_resolve_name (low);
}

static int
parse_action (yajl_val v, const char *docname, const char *path, enum sc_action *out, moat_error **err)
{
  cleanup_free char *s = NULL;
  if (json_as_string (v, docname, path, &s, err) < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE (actions); i++)
    if (strcmp (s, actions[i].oci) == 0)
      {
        *out = actions[i].a;
        return 0;
      }
  cleanup_free char *p = json_printable (s);
  return json_error (err, docname, path, "unknown action `%s`", p);
}

static size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  cleanup_free size_t *row = xmalloc0 ((lb + 1) * sizeof (size_t));
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t prev = row[0];
      row[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t cur = row[j];
          size_t sub = prev + (a[i - 1] != b[j - 1]);
          size_t del = row[j] + 1, ins = row[j - 1] + 1;
          row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
          prev = cur;
        }
    }
  return row[lb];
}

/* The known syscall name nearest to NAME, for "did you mean". */
static char *
closest_syscall (const char *name)
{
  char *best = NULL;
  size_t bestd = (size_t) -1;
  uint32_t native = seccomp_arch_native ();
  for (int nr = 0; nr < 1024; nr++)
    {
      char *n = seccomp_syscall_resolve_num_arch (native, nr);
      if (n == NULL)
        continue;
      size_t d = edit_distance (name, n);
      if (d < bestd)
        {
          free (best);
          best = n;
          bestd = d;
        }
      else
        free (n);
    }
  return best;
}

static bool
caps_hold (const struct moat_caps *caps, const char *cap)
{
  char **set = caps ? (caps->bounding ? caps->bounding : caps->effective) : NULL;
  for (size_t i = 0; set && set[i]; i++)
    if (strcasecmp (set[i], cap) == 0)
      return true;
  return false;
}

static int
kernel_at_least (const char *want)
{
  struct utsname u;
  unsigned a = 0, b = 0, x = 0, y = 0;
  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &a, &b) < 1 || sscanf (want, "%u.%u", &x, &y) < 1)
    return 1;
  return a > x || (a == x && b >= y);
}

/* Docker's includes/excludes: caps, arches, minKernel. Returns 1 if the
 * condition object holds (all of includes / any of excludes). */
static int
condition (yajl_val cond, bool include, const struct moat_caps *caps, const char *docname,
           const char *path, moat_error **err)
{
  if (cond == NULL || YAJL_IS_NULL (cond))
    return include ? 1 : 0;
  if (json_as_object (cond, docname, path, err) < 0)
    return -1;
  cleanup_strv char **capv = NULL, **archv = NULL;
  cleanup_free char *minkernel = NULL;
  if (json_get_strv (cond, "caps", docname, path, &capv, false, err) < 0
      || json_get_strv (cond, "arches", docname, path, &archv, false, err) < 0
      || json_get_string (cond, "minKernel", docname, path, &minkernel, false, err) < 0)
    return -1;
  uint32_t native = seccomp_arch_native ();
  if (include)
    {
      for (size_t i = 0; capv && capv[i]; i++)
        if (!caps_hold (caps, capv[i]))
          return 0;
      if (archv && archv[0])
        {
          bool found = false;
          for (size_t i = 0; archv[i]; i++)
            found |= arch_token (archv[i]) == native;
          if (!found)
            return 0;
        }
      if (minkernel && !kernel_at_least (minkernel))
        return 0;
      return 1;
    }
  for (size_t i = 0; capv && capv[i]; i++)
    if (caps_hold (caps, capv[i]))
      return 1;
  for (size_t i = 0; archv && archv[i]; i++)
    if (arch_token (archv[i]) == native)
      return 1;
  if (minkernel && kernel_at_least (minkernel))
    return 1;
  return 0;
}

static int
parse_args (yajl_val arr, const char *docname, const char *path, struct sc_arg **out, size_t *n,
            moat_error **err)
{
  *out = NULL;
  *n = 0;
  if (arr == NULL || YAJL_IS_NULL (arr))   /* Go's encoder writes a rule without args as null (podman's profile) */
    return 0;
  if (json_as_array (arr, docname, path, err) < 0)
    return -1;
  size_t len = YAJL_GET_ARRAY (arr)->len;
  struct sc_arg *v = xmalloc0 ((len + 1) * sizeof *v);
  for (size_t i = 0; i < len; i++)
    {
      yajl_val a = YAJL_GET_ARRAY (arr)->values[i];
      cleanup_free char *ap = json_path_index (path, i);
      cleanup_free char *op = NULL;
      uint32_t index = 0;
      if (json_as_object (a, docname, ap, err) < 0
          || json_get_uint32 (a, "index", docname, ap, &index, true, err) < 0
          || json_get_uint64 (a, "value", docname, ap, &v[i].value, true, err) < 0
          || json_get_uint64 (a, "valueTwo", docname, ap, &v[i].value_two, false, err) < 0
          || json_get_string (a, "op", docname, ap, &op, true, err) < 0)
        goto fail;
      if (index > 5)
        {
          cleanup_free char *ip = json_path_key (ap, "index");
          json_error (err, docname, ip, "must be 0 to 5 (a syscall has six arguments)");
          goto fail;
        }
      v[i].index = index;
      v[i].op = -1;
      for (size_t k = 0; k < ARRAY_SIZE (ops); k++)
        if (strcmp (op, ops[k].name) == 0)
          v[i].op = ops[k].op;
      if (v[i].op < 0)
        {
          cleanup_free char *opp = json_path_key (ap, "op");
          cleanup_free char *pr = json_printable (op);
          json_error (err, docname, opp, "unknown operator `%s` (SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ)", pr);
          goto fail;
        }
    }
  *out = v;
  *n = len;
  return 0;
fail:
  free (v);
  return -1;
}

static void add_rule (struct moat_seccomp *sc, size_t *cap, const char *name, int nr, enum sc_action a,
                      uint32_t errno_ret, const struct sc_arg *args, size_t n_args, size_t source);

/* See seccomp_parse: ENOSYS for what the policy cannot have known about. */
static void
add_newer_enosys (struct moat_seccomp *sc, size_t *cap)
{
  enum sc_action d = sc->default_action;
  if (d != SC_ERRNO && d != SC_KILL_THREAD && d != SC_KILL_PROCESS && d != SC_TRAP)
    return;
  int newest = -1;
  for (size_t i = 0; i < sc->n_rules; i++)
    if (sc->rules[i].nr > newest)
      newest = sc->rules[i].nr;
  if (newest < 0)
    return;
  for (int nr = newest + 1; nr < 1024; nr++)
    {
      char *name = seccomp_syscall_resolve_num_arch (SCMP_ARCH_NATIVE, nr);
      if (name == NULL)
        continue;
      add_rule (sc, cap, name, nr, SC_ERRNO, ENOSYS, NULL, 0, SC_SOURCE_NEWER);
      free (name);
    }
}

const char *
sc_rule_label (const struct sc_rule *r, char *buf, size_t n)
{
  return sc_source_label (r->source, buf, n);
}

const char *
sc_source_label (size_t source, char *buf, size_t n)
{
  if (source == SC_SOURCE_NEWER)
    snprintf (buf, n, "newer-than-policy");
  else
    snprintf (buf, n, "syscalls[%zu]", source);
  return buf;
}

static void
add_rule (struct moat_seccomp *sc, size_t *cap, const char *name, int nr, enum sc_action a,
          uint32_t errno_ret, const struct sc_arg *args, size_t n_args, size_t source)
{
  if (sc->n_rules == *cap)
    sc->rules = xrealloc (sc->rules, (*cap = *cap ? *cap * 2 : 64) * sizeof *sc->rules);
  struct sc_rule *r = &sc->rules[sc->n_rules++];
  memset (r, 0, sizeof *r);
  r->name = xstrdup (name);
  r->nr = nr;
  r->action = a;
  r->errno_ret = errno_ret;
  r->source = source;
  if (n_args)
    {
      r->args = xmalloc0 (n_args * sizeof *args);
      memcpy (r->args, args, n_args * sizeof *args);
      r->n_args = n_args;
    }
}

static int
parse_rule (struct moat_seccomp *sc, size_t *cap, yajl_val r, size_t idx, const char *docname,
            const char *path, const struct moat_caps *caps, bool strict, moat_error **err)
{
  cleanup_free char *rp = json_path_index (path, idx);
  if (json_as_object (r, docname, rp, err) < 0)
    return -1;
  cleanup_free char *ip = json_path_key (rp, "includes"), *ep = json_path_key (rp, "excludes");
  int inc = condition (json_lookup (r, "includes"), true, caps, docname, ip, err);
  if (inc < 0)
    return -1;
  int exc = condition (json_lookup (r, "excludes"), false, caps, docname, ep, err);
  if (exc < 0)
    return -1;
  cleanup_strv char **names = NULL;
  cleanup_free char *single = NULL;
  if (json_get_strv (r, "names", docname, rp, &names, false, err) < 0
      || json_get_string (r, "name", docname, rp, &single, false, err) < 0)
    return -1;
  if (names == NULL && single == NULL)
    {
      cleanup_free char *np = json_path_key (rp, "names");
      return json_error (err, docname, np, "required field missing");
    }
  yajl_val av = json_lookup (r, "action");
  cleanup_free char *actp = json_path_key (rp, "action");
  if (av == NULL)
    return json_error (err, docname, actp, "required field missing");
  enum sc_action a;
  if (parse_action (av, docname, actp, &a, err) < 0)
    return -1;
  /* runtime-spec: a rule's errnoRet defaults to EPERM (not defaultErrnoRet). */
  uint32_t errno_ret = (a == SC_ERRNO) ? EPERM : 0;
  if (json_get_uint32 (r, "errnoRet", docname, rp, &errno_ret, false, err) < 0)
    return -1;
  cleanup_free struct sc_arg *args = NULL;
  size_t n_args = 0;
  cleanup_free char *argp = json_path_key (rp, "args");
  if (parse_args (json_lookup (r, "args"), docname, argp, &args, &n_args, err) < 0)
    return -1;
  if (!inc || exc)
    return 0;

  /* Several conditions on one argument index cannot be ANDed by libseccomp:
   * as runc does, each becomes a rule of its own (they are ORed). */
  bool dup_index = false;
  for (size_t i = 0; i < n_args; i++)
    for (size_t j = i + 1; j < n_args; j++)
      dup_index |= args[i].index == args[j].index;

  size_t nnames = names ? strv_len (names) : 1;
  for (size_t k = 0; k < nnames; k++)
    {
      const char *name = names ? names[k] : single;
      int nr = seccomp_syscall_resolve_name (name);
      if (nr == __NR_SCMP_ERROR)
        {
          if (strict)
            {
              cleanup_free char *base = json_path_key (rp, names ? "names" : "name");
              cleanup_free char *np = names ? json_path_index (base, k) : xstrdup (base);
              cleanup_free char *near = closest_syscall (name);
              cleanup_free char *pr = json_printable (name);
              return json_error (err, docname, np, "unknown syscall `%s` (closest known: `%s`)", pr,
                                 near ? near : "?");
            }
          log_debug ("%s: syscall `%s` is unknown to this kernel/libseccomp: skipped", docname, name);
          sc->n_unknown++;
          continue;
        }
      if (dup_index)
        for (size_t i = 0; i < n_args; i++)
          add_rule (sc, cap, name, nr, a, errno_ret, &args[i], 1, idx);
      else
        add_rule (sc, cap, name, nr, a, errno_ret, args, n_args, idx);
    }
  return 0;
}

static int
cmp_rule (const struct sc_rule *a, const struct sc_rule *b)
{
  if (a->nr != b->nr)
    return a->nr < b->nr ? -1 : 1;
  if (a->action != b->action)
    return a->action < b->action ? -1 : 1;
  if (a->errno_ret != b->errno_ret)
    return a->errno_ret < b->errno_ret ? -1 : 1;
  if (a->n_args != b->n_args)
    return a->n_args < b->n_args ? -1 : 1;
  for (size_t k = 0; k < a->n_args; k++)
    {
      const struct sc_arg *x = &a->args[k], *y = &b->args[k];
      if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
      if (x->op != y->op)
        return x->op < y->op ? -1 : 1;
      if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
      if (x->value_two != y->value_two)
        return x->value_two < y->value_two ? -1 : 1;
    }
  return strcmp (a->name, b->name);
}

static int
cmp_rule_index (const void *a, const void *b, void *rules)
{
  size_t i = *(const size_t *) a, j = *(const size_t *) b;
  int c = cmp_rule (&((struct sc_rule *) rules)[i], &((struct sc_rule *) rules)[j]);
  return c ? c : (i > j) - (i < j);
}

/* Drop each rule that repeats an earlier one exactly (same call, action,
 * errno and arguments): a name listed 10,000 times in one rule's names, or
 * one rule written 10,000 times.  They used to reach libseccomp, whose rule
 * add costs more with each rule already there (3 s for `moat policy check`
 * of 10,000 `getpid`), and every other pass over the rules.  Nothing
 * decided changes: seccomp_decide_abi keeps the first of equal actions, and
 * libseccomp merges identical rules.  Sorting keeps this n log n; the
 * rules kept stay in their order. */
static void
drop_repeated_rules (struct moat_seccomp *sc)
{
  size_t n = sc->n_rules;
  if (n < 2)
    return;
  cleanup_free size_t *order = xmalloc0 (n * sizeof *order);
  cleanup_free bool *repeat = xmalloc0 (n);
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  qsort_r (order, n, sizeof *order, cmp_rule_index, sc->rules);
  /* Equal rules sort by index: the first of a run is the one kept. */
  for (size_t i = 1; i < n; i++)
    if (cmp_rule (&sc->rules[order[i]], &sc->rules[order[i - 1]]) == 0)
      repeat[order[i]] = true;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (repeat[i])
        {
          free (sc->rules[i].name);
          free (sc->rules[i].args);
          continue;
        }
      sc->rules[kept++] = sc->rules[i];
    }
  sc->n_rules = kept;
}

int
seccomp_parse (yajl_val v, const char *docname, const char *path, const struct moat_caps *caps,
               bool strict, struct moat_seccomp **out, moat_error **err)
{
  if (json_as_object (v, docname, path, err) < 0)
    return -1;
  struct moat_seccomp *sc = xmalloc0 (sizeof *sc);
  cleanup_seccomp struct moat_seccomp *guard = sc;
  cleanup_free char *dp = json_path_key (path, "defaultAction");
  yajl_val dv = json_lookup (v, "defaultAction");
  if (dv == NULL)
    return json_error (err, docname, dp, "required field missing");
  if (parse_action (dv, docname, dp, &sc->default_action, err) < 0)
    return -1;
  sc->default_errno = EPERM;
  if (json_get_uint32 (v, "defaultErrnoRet", docname, path, &sc->default_errno, false, err) < 0)
    return -1;

  cleanup_strv char **arches = NULL;
  if (json_get_strv (v, "architectures", docname, path, &arches, false, err) < 0)
    return -1;
  yajl_val archmap = json_lookup (v, "archMap");
  if (arches == NULL && archmap && YAJL_IS_ARRAY (archmap))
    {
      /* Docker's archMap: the native architecture and its sub-architectures. */
      for (size_t i = 0; i < YAJL_GET_ARRAY (archmap)->len; i++)
        {
          yajl_val e = YAJL_GET_ARRAY (archmap)->values[i];
          cleanup_free char *mp = json_path_key (path, "archMap");
          cleanup_free char *ep = json_path_index (mp, i);
          cleanup_free char *main_arch = NULL;
          cleanup_strv char **subs = NULL;
          if (json_as_object (e, docname, ep, err) < 0
              || json_get_string (e, "architecture", docname, ep, &main_arch, true, err) < 0
              || json_get_strv (e, "subArchitectures", docname, ep, &subs, false, err) < 0)
            return -1;
          if (arch_token (main_arch) != seccomp_arch_native ())
            continue;
          size_t ns = subs ? strv_len (subs) : 0;
          arches = xmalloc0 ((ns + 2) * sizeof (char *));
          arches[0] = steal_pointer (&main_arch);
          for (size_t k = 0; k < ns; k++)
            arches[k + 1] = xstrdup (subs[k]);
        }
    }
  size_t na = arches ? strv_len (arches) : 0;
  sc->arches = xmalloc0 ((na + 1) * sizeof (uint32_t));
  for (size_t i = 0; i < na; i++)
    {
      uint32_t t = arch_token (arches[i]);
      if (t == 0)
        {
          cleanup_free char *base = json_path_key (path, "architectures");
          cleanup_free char *ap = json_path_index (base, i);
          cleanup_free char *pr = json_printable (arches[i]);
          return json_error (err, docname, ap, "unknown architecture `%s`", pr);
        }
      sc->arches[sc->n_arches++] = t;
    }

  cleanup_strv char **flags = NULL;
  if (json_get_strv (v, "flags", docname, path, &flags, false, err) < 0)
    return -1;
  for (size_t i = 0; flags && flags[i]; i++)
    {
      bool known = false;
      for (size_t k = 0; k < ARRAY_SIZE (filter_flags); k++)
        if (strcmp (flags[i], filter_flags[k].name) == 0)
          {
            sc->flags |= filter_flags[k].flag;
            known = true;
          }
      if (!known)
        {
          cleanup_free char *base = json_path_key (path, "flags");
          cleanup_free char *fp = json_path_index (base, i);
          cleanup_free char *pr = json_printable (flags[i]);
          return json_error (err, docname, fp, "unknown seccomp flag `%s`", pr);
        }
    }
  if (json_get_string (v, "listenerPath", docname, path, &sc->listener_path, false, err) < 0
      || json_get_string (v, "listenerMetadata", docname, path, &sc->listener_metadata, false, err) < 0)
    return -1;

  yajl_val calls = NULL;
  if (json_get_array (v, "syscalls", docname, path, &calls, false, err) < 0)
    return -1;
  cleanup_free char *cp = json_path_key (path, "syscalls");
  size_t cap = 0;
  for (size_t i = 0; calls && i < YAJL_GET_ARRAY (calls)->len; i++)
    if (parse_rule (sc, &cap, YAJL_GET_ARRAY (calls)->values[i], i, docname, cp, caps, strict, err) < 0)
      return -1;
  drop_repeated_rules (sc);
  add_newer_enosys (sc, &cap);
  bool any_notify = sc->default_action == SC_NOTIFY;
  for (size_t i = 0; i < sc->n_rules; i++)
    any_notify |= sc->rules[i].action == SC_NOTIFY;
  if (any_notify && sc->listener_path == NULL)
    return json_error (err, docname, path, "SCMP_ACT_NOTIFY needs a listenerPath");
  *out = steal_pointer (&guard);
  return 0;
}

void
seccomp_free (struct moat_seccomp *sc)
{
  if (sc == NULL)
    return;
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      free (sc->rules[i].name);
      free (sc->rules[i].args);
    }
  free (sc->rules);
  free (sc->arches);
  free (sc->listener_path);
  free (sc->listener_metadata);
  free (sc);
}

static uint32_t
scmp_action (enum sc_action a, uint32_t errno_ret, bool audit)
{
  if (audit && a != SC_ALLOW)
    return SCMP_ACT_NOTIFY;
  switch (a)
    {
    case SC_ALLOW: return SCMP_ACT_ALLOW;
    case SC_LOG: return SCMP_ACT_LOG;
    case SC_TRACE: return SCMP_ACT_TRACE (errno_ret);
    case SC_NOTIFY: return SCMP_ACT_NOTIFY;
    case SC_ERRNO: return SCMP_ACT_ERRNO (errno_ret);
    case SC_TRAP: return SCMP_ACT_TRAP;
    case SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
    case SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
    }
  return SCMP_ACT_KILL_PROCESS;
}

bool
seccomp_uses_agent (const struct moat_seccomp *sc)
{
  if (sc->listener_path == NULL)
    return false;
  if (sc->default_action == SC_NOTIFY)
    return true;
  for (size_t i = 0; i < sc->n_rules; i++)
    if (sc->rules[i].action == SC_NOTIFY)
      return true;
  return false;
}

bool
seccomp_needs_listener (const struct moat_seccomp *sc, bool audit)
{
  if (audit && sc->default_action != SC_ALLOW)
    return true;
  for (size_t i = 0; i < sc->n_rules; i++)
    if (sc->rules[i].action == SC_NOTIFY || (audit && sc->rules[i].action != SC_ALLOW))
      return true;
  return sc->default_action == SC_NOTIFY;
}

static void
release_ctx (scmp_filter_ctx *c)
{
  if (*c)
    seccomp_release (*c);
}

static int
build (const struct moat_seccomp *sc, bool audit, scmp_filter_ctx *out, moat_error **err)
{
  uint32_t def = scmp_action (sc->default_action, sc->default_errno, audit);
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = seccomp_init (def);
  if (ctx == NULL)
    return moat_error_set (err, EINVAL, "seccomp: cannot initialise a filter");
  /* moat sets no_new_privs itself, as process.noNewPrivileges asks; the
   * filter is loaded by hand, so libseccomp must not set it. */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* A binary tree of syscall numbers: fewer BPF steps for calls the kernel
   * cannot cache (those with argument checks). */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (size_t i = 0; i < sc->n_arches; i++)
    {
      int r = seccomp_arch_add (ctx, sc->arches[i]);
      if (r < 0 && r != -EEXIST)
        return moat_error_set (err, -r, "seccomp: add architecture %u", sc->arches[i]);
    }
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      const struct sc_rule *rule = &sc->rules[i];
      uint32_t act = scmp_action (rule->action, rule->errno_ret, audit);
      if (act == def)
        continue;   /* libseccomp refuses rules that repeat the default */
      struct scmp_arg_cmp cmp[6];
      for (size_t k = 0; k < rule->n_args && k < 6; k++)
        {
          cmp[k].arg = rule->args[k].index;
          cmp[k].op = (enum scmp_compare) rule->args[k].op;
          cmp[k].datum_a = rule->args[k].value;
          cmp[k].datum_b = rule->args[k].value_two;
        }
      int r = seccomp_rule_add_array (ctx, act, rule->nr, (unsigned) rule->n_args, cmp);
      if (r < 0)
        {
          char lb[48];
          return moat_error_set (err, -r, "seccomp: %s: rule for `%s` (%s)", sc_rule_label (rule, lb, sizeof lb),
                                 rule->name, sc_action_oci (rule->action));
        }
    }
  *out = steal_pointer (&ctx);
  return 0;
}

static int
export_to_memfd (scmp_filter_ctx ctx, bool pfc, char **buf, size_t *len, moat_error **err)
{
  cleanup_close int fd = memfd_create ("moat-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "memfd_create");
  int r = pfc ? seccomp_export_pfc (ctx, fd) : seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return moat_error_set (err, -r, "seccomp: export the filter");
  off_t size = lseek (fd, 0, SEEK_END);
  if (size < 0)
    return moat_error_set (err, errno, "lseek");
  cleanup_free char *text = xmalloc0 ((size_t) size + 1);
  if (pread (fd, text, (size_t) size, 0) != size)
    return moat_error_set (err, errno, "read the exported filter");
  *len = (size_t) size;
  *buf = steal_pointer (&text);
  return 0;
}

int
seccomp_compile (const struct moat_seccomp *sc, bool audit, struct sock_fprog *prog, moat_error **err)
{
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = NULL;
  if (build (sc, audit, &ctx, err) < 0)
    return -1;
  char *bpf = NULL;
  size_t len = 0;
  if (export_to_memfd (ctx, false, &bpf, &len, err) < 0)
    return -1;
  prog->len = (unsigned short) (len / sizeof (struct sock_filter));
  prog->filter = (struct sock_filter *) bpf;
  return 0;
}

static void
cache_key (const struct moat_seccomp *sc, bool audit, char hex[65])
{
  struct sha256 h;
  sha256_init (&h);
  const struct scmp_version *v = seccomp_version ();
  char head[128];
  int n = snprintf (head, sizeof head, "moat-bpf-1 %s libseccomp %u.%u.%u audit=%d default=%d/%u arches=%zu",
                    MOAT_VERSION_STRING, v->major, v->minor, v->micro, audit, sc->default_action,
                    sc->default_errno, sc->n_arches);
  sha256_update (&h, head, (size_t) n);
  sha256_update (&h, sc->arches, sc->n_arches * sizeof (uint32_t));
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      const struct sc_rule *r = &sc->rules[i];
      int32_t fixed[4] = { r->nr, (int32_t) r->action, (int32_t) r->errno_ret, (int32_t) r->n_args };
      sha256_update (&h, fixed, sizeof fixed);
      for (size_t k = 0; k < r->n_args; k++)
        {
          uint64_t a[4] = { r->args[k].index, (uint64_t) r->args[k].op, r->args[k].value, r->args[k].value_two };
          sha256_update (&h, a, sizeof a);
        }
    }
  uint8_t d[32];
  sha256_final (&h, d);
  sha256_hex (d, hex);
}

/* A compiled filter from the cache, if there is a good one. */
static bool
cache_read (int dfd, const char *key, struct sock_fprog *prog)
{
  if (dfd < 0)
    return false;
  cleanup_free char *name = xasprintf ("%s.bpf", key);
  cleanup_free char *bpf = NULL;
  size_t len = 0;
  moat_error *e = NULL;
  if (read_file_at (dfd, name, &bpf, &len, BPF_MAXINSNS * sizeof (struct sock_filter), &e) == 0
      && len > 0 && len % sizeof (struct sock_filter) == 0)
    {
      prog->len = (unsigned short) (len / sizeof (struct sock_filter));
      prog->filter = (struct sock_filter *) steal_pointer (&bpf);
      return true;
    }
  moat_error_free (&e);
  return false;
}

/* Into the cache; one that cannot be written is only a slower next start. */
static void
cache_write (int *dfd, const char *cache_dir, const char *key, const struct sock_fprog *prog)
{
  cleanup_free char *name = xasprintf ("%s.bpf", key);
  moat_error *e = NULL;
  if (*dfd < 0 && mkdir_p (cache_dir, 0700, &e) == 0)
    *dfd = open (cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*dfd < 0
      || write_file_atomic_at (*dfd, name, prog->filter, prog->len * sizeof (struct sock_filter), 0600, &e) < 0)
    {
      cleanup_free char *str = e ? moat_error_string (e) : NULL;
      log_debug ("seccomp cache not written: %s", str ? str : cache_dir);
    }
  moat_error_free (&e);
}

int
seccomp_compile_cached (const struct moat_seccomp *sc, bool audit, const char *cache_dir,
                        struct sock_fprog *prog, bool *hit, moat_error **err)
{
  char key[65];
  cache_key (sc, audit, key);
  cleanup_close int dfd = open (cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *hit = cache_read (dfd, key, prog);
  if (*hit)
    return 0;
  if (seccomp_compile (sc, audit, prog, err) < 0)
    return -1;
  cache_write (&dfd, cache_dir, key, prog);
  return 0;
}

/* The bad-arch returns of the one compile below are marked with an action
 * no rule can have (checked), so they can be told from the rules' own. */
#define BADARCH_MARK SCMP_ACT_TRACE (0x0bad)

static bool
policy_uses_action (const struct moat_seccomp *sc, uint32_t act)
{
  if (scmp_action (sc->default_action, sc->default_errno, false) == act)
    return true;
  for (size_t i = 0; i < sc->n_rules; i++)
    if (scmp_action (sc->rules[i].action, sc->rules[i].errno_ret, false) == act)
      return true;
  return false;
}

static int
compile_both (const struct moat_seccomp *sc, struct sock_fprog *audit, struct sock_fprog *enforce, moat_error **err)
{
  if (seccomp_compile (sc, true, audit, err) < 0)
    return -1;
  if (seccomp_compile (sc, false, enforce, err) < 0)
    {
      free (audit->filter);
      audit->filter = NULL;
      return -1;
    }
  return 0;
}

int
seccomp_compile_pair (const struct moat_seccomp *sc, struct sock_fprog *audit, struct sock_fprog *enforce,
                      moat_error **err)
{
  /* libseccomp's compile is most of a cold start (~9 ms for the default
   * profile here), and the audit filter is the enforcing one with every
   * outcome but "allow" turned into a notification: compiled once, each
   * return rewritten. The audit filter then notifies exactly the calls the
   * enforcing one does not allow, by construction (the differential test,
   * tests/unit/test-verdict.c, checks it against a compile of its own). */
  if (policy_uses_action (sc, BADARCH_MARK))
    return compile_both (sc, audit, enforce, err);
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = NULL;
  if (build (sc, false, &ctx, err) < 0)
    return -1;
  uint32_t badarch = 0;
  if (seccomp_attr_get (ctx, SCMP_FLTATR_ACT_BADARCH, &badarch) < 0
      || seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, BADARCH_MARK) < 0)
    return compile_both (sc, audit, enforce, err);
  char *bpf = NULL;
  size_t len = 0;
  if (export_to_memfd (ctx, false, &bpf, &len, err) < 0)
    return -1;
  size_t n = len / sizeof (struct sock_filter);
  struct sock_filter *e = (struct sock_filter *) bpf, *a = xmalloc0 (len ? len : 1);
  memcpy (a, e, len);
  for (size_t i = 0; i < n; i++)
    {
      if (BPF_CLASS (e[i].code) != BPF_RET)
        continue;
      if (BPF_RVAL (e[i].code) != BPF_K)
        {
          /* a return of A: not what libseccomp writes; the safe way */
          free (a);
          free (bpf);
          return compile_both (sc, audit, enforce, err);
        }
      if (e[i].k == BADARCH_MARK)
        a[i].k = e[i].k = badarch;
      else if ((e[i].k & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
        a[i].k = SECCOMP_RET_USER_NOTIF;
    }
  enforce->len = audit->len = (unsigned short) n;
  enforce->filter = e;
  audit->filter = a;
  return 0;
}

int
seccomp_compile_pair_cached (const struct moat_seccomp *sc, const char *cache_dir, struct sock_fprog *audit,
                             struct sock_fprog *enforce, bool *hit, moat_error **err)
{
  char ka[65], ke[65];
  cache_key (sc, true, ka);
  cache_key (sc, false, ke);
  cleanup_close int dfd = open (cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *hit = false;
  if (cache_read (dfd, ka, audit))
    {
      if (cache_read (dfd, ke, enforce))
        {
          *hit = true;
          return 0;
        }
      free (audit->filter);
      audit->filter = NULL;
    }
  if (seccomp_compile_pair (sc, audit, enforce, err) < 0)
    return -1;
  cache_write (&dfd, cache_dir, ka, audit);
  cache_write (&dfd, cache_dir, ke, enforce);
  return 0;
}

int
seccomp_pfc (const struct moat_seccomp *sc, bool audit, char **text, moat_error **err)
{
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = NULL;
  size_t len;
  if (build (sc, audit, &ctx, err) < 0)
    return -1;
  return export_to_memfd (ctx, true, text, &len, err);
}

int
seccomp_load_prog (const struct sock_fprog *prog, unsigned flags, bool want_listener, int *listener,
                   moat_error **err)
{
  unsigned f = flags;
  if (want_listener)
    f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  else
    f &= ~(unsigned) SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  long r = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, prog);
  if (r < 0)
    return moat_error_set (err, errno, "load the seccomp filter");
  if (listener)
    *listener = want_listener ? (int) r : -1;
  return 0;
}

/* Does argument A hold for ARGS? MASK: the width the ABI compares in
 * (libseccomp compiles a 32-bit ABI's tests on the low words only, values
 * cut to 32 bits too). */
static bool
arg_matches (const struct sc_arg *a, const uint64_t args[6], uint64_t mask)
{
  uint64_t x = args[a->index] & mask, v = a->value & mask, v2 = a->value_two & mask;
  switch (a->op)
    {
    case SCMP_CMP_NE: return x != v;
    case SCMP_CMP_LT: return x < v;
    case SCMP_CMP_LE: return x <= v;
    case SCMP_CMP_EQ: return x == v;
    case SCMP_CMP_GE: return x >= v;
    case SCMP_CMP_GT: return x > v;
    case SCMP_CMP_MASKED_EQ: return (x & v) == v2;
    default: return false;
    }
}

/* The strongest of the rules numbered NR that match (ARGS NULL: every one
 * does), over BEST. */
static int
decide_among (const struct moat_seccomp *sc, int nr, const uint64_t args[6], uint64_t mask, int best)
{
  /* The index holds the native numbers; libseccomp's pseudo numbers (< 0)
   * are found by a scan: only an i386 or x32 call of a name x86_64 lacks
   * comes here. */
  bool indexed = sc->first_rule && nr >= 0;
  if (indexed && nr >= sc->n_first)
    return best;
  for (size_t i = indexed ? (size_t) sc->first_rule[nr] : 0; i < sc->n_rules;
       i = indexed ? (size_t) sc->next_rule[i] : i + 1)
    {
      const struct sc_rule *r = &sc->rules[i];
      if (r->nr != nr)
        continue;
      bool all = true;
      for (size_t k = 0; args && k < r->n_args && all; k++)
        all = arg_matches (&r->args[k], args, mask);
      if (all && (best < 0 || r->action > sc->rules[best].action))
        best = (int) i;
    }
  return best;
}

int
seccomp_index_len (const struct moat_seccomp *sc)
{
  int max = -1;
  for (size_t i = 0; i < sc->n_rules; i++)
    if (sc->rules[i].nr > max)
      max = sc->rules[i].nr;
  return max >= 0 && max < 65536 ? max + 1 : 0;
}

void
seccomp_index (struct moat_seccomp *sc, int32_t *first, int32_t *next, int n_first)
{
  for (int n = 0; n < n_first; n++)
    first[n] = -1;
  for (size_t i = sc->n_rules; i-- > 0;)   /* pushed in reverse: each chain in policy order */
    if (sc->rules[i].nr >= 0 && sc->rules[i].nr < n_first)
      {
        next[i] = first[sc->rules[i].nr];
        first[sc->rules[i].nr] = (int32_t) i;
      }
  sc->first_rule = first;
  sc->next_rule = next;
  sc->n_first = n_first;
}

uint32_t
seccomp_call_abi (uint32_t arch, int nr)
{
  if (arch == SCMP_ARCH_X86_64 && ((uint32_t) nr & 0x40000000u))
    return SCMP_ARCH_X32;
  return arch;   /* libseccomp's tokens are the kernel's AUDIT_ARCH_* values */
}

/* i386's multiplexers: the call their first argument names (net/socket.c,
 * ipc/syscall.c numbering), as libseccomp demultiplexes rules onto them. */
static const char *const socketcall_calls[] = {
  [1] = "socket", [2] = "bind", [3] = "connect", [4] = "listen", [5] = "accept", [6] = "getsockname",
  [7] = "getpeername", [8] = "socketpair", [9] = "send", [10] = "recv", [11] = "sendto", [12] = "recvfrom",
  [13] = "shutdown", [14] = "setsockopt", [15] = "getsockopt", [16] = "sendmsg", [17] = "recvmsg",
  [18] = "accept4", [19] = "recvmmsg", [20] = "sendmmsg",
};
static const char *const ipc_calls[] = {
  [1] = "semop", [2] = "semget", [3] = "semctl", [4] = "semtimedop", [11] = "msgsnd", [12] = "msgrcv",
  [13] = "msgget", [14] = "msgctl", [21] = "shmat", [22] = "shmdt", [23] = "shmget", [24] = "shmctl",
};

/* The rules' number for a name, cached: libseccomp's lookup is a scan.
 * 0 (read, never one of these names) means not looked up yet; the
 * supervisor's answering threads may race here, each storing the same. */
static int
key_of (const char *name, int *cache)
{
  int k = __atomic_load_n (cache, __ATOMIC_RELAXED);
  if (k == 0)
    {
      k = seccomp_syscall_resolve_name (name);
      __atomic_store_n (cache, k, __ATOMIC_RELAXED);
    }
  return k;
}

int
seccomp_decide_abi (const struct moat_seccomp *sc, uint32_t abi, int key, const uint64_t args[6])
{
  bool narrow = abi == SCMP_ARCH_X86 || abi == SCMP_ARCH_X32;
  uint64_t mask = narrow ? 0xffffffffULL : ~0ULL;
  int best = decide_among (sc, key, args, mask, -1);
  if (abi != SCMP_ARCH_X86)
    return best;
  static int socketcall_key, ipc_key, sub_keys[2][25];
  const char *const *calls = NULL;
  size_t ncalls = 0;
  int *keys = NULL;
  if (key == key_of ("socketcall", &socketcall_key))
    calls = socketcall_calls, ncalls = ARRAY_SIZE (socketcall_calls), keys = sub_keys[0];
  else if (key == key_of ("ipc", &ipc_key))
    calls = ipc_calls, ncalls = ARRAY_SIZE (ipc_calls), keys = sub_keys[1];
  uint32_t call = (uint32_t) args[0];
  if (calls == NULL || call >= ncalls || calls[call] == NULL)
    return best;
  return decide_among (sc, key_of (calls[call], &keys[call]), NULL, mask, best);
}

const char *
seccomp_rule_loses_args_on_x86 (const struct moat_seccomp *sc, const struct sc_rule *r)
{
  bool x86 = false;
  for (size_t i = 0; i < sc->n_arches; i++)
    x86 |= sc->arches[i] == SCMP_ARCH_X86;
  if (!x86 || r->n_args == 0)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE (socketcall_calls); i++)
    if (socketcall_calls[i] && strcmp (socketcall_calls[i], r->name) == 0)
      return "socketcall";
  for (size_t i = 0; i < ARRAY_SIZE (ipc_calls); i++)
    if (ipc_calls[i] && strcmp (ipc_calls[i], r->name) == 0)
      return "ipc";
  return NULL;
}

int
seccomp_verdict (const struct sock_fprog *prog, const struct seccomp_data *d, enum sc_action *act, uint32_t *eno)
{
  uint32_t ret;
  if (seccomp_simulate (prog, d, &ret) < 0)
    return -1;
  *eno = 0;
  switch (ret & SECCOMP_RET_ACTION_FULL)
    {
    case SECCOMP_RET_ALLOW: *act = SC_ALLOW; break;
    case SECCOMP_RET_LOG: *act = SC_LOG; break;
    case SECCOMP_RET_TRACE: *act = SC_TRACE; *eno = ret & SECCOMP_RET_DATA; break;
    case SECCOMP_RET_USER_NOTIF: *act = SC_NOTIFY; break;
    case SECCOMP_RET_ERRNO: *act = SC_ERRNO; *eno = ret & SECCOMP_RET_DATA; break;
    case SECCOMP_RET_TRAP: *act = SC_TRAP; break;
    case SECCOMP_RET_KILL_THREAD: *act = SC_KILL_THREAD; break;
    default: *act = SC_KILL_PROCESS; break;   /* KILL_PROCESS, or what the kernel takes as it */
    }
  return 0;
}

/* A classic-BPF interpreter for the instructions a seccomp filter may use
 * (the kernel's seccomp_check_filter allows exactly these), so `moat policy
 * test` answers with what the kernel would return, not with a second
 * reading of the rules. */
int
seccomp_simulate (const struct sock_fprog *prog, const struct seccomp_data *d, uint32_t *ret)
{
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
  const unsigned char *data = (const unsigned char *) d;
  for (unsigned pc = 0; pc < prog->len; pc++)
    {
      const struct sock_filter *f = &prog->filter[pc];
      uint32_t k = f->k;
      switch (f->code)
        {
        case BPF_LD | BPF_W | BPF_ABS:
          if (k > sizeof *d - 4 || (k & 3))
            return -1;
          memcpy (&A, data + k, 4);
          break;
        case BPF_LD | BPF_W | BPF_LEN: A = sizeof *d; break;
        case BPF_LDX | BPF_W | BPF_LEN: X = sizeof *d; break;
        case BPF_LD | BPF_IMM: A = k; break;
        case BPF_LDX | BPF_IMM: X = k; break;
        case BPF_LD | BPF_MEM: if (k >= BPF_MEMWORDS) return -1; A = M[k]; break;
        case BPF_LDX | BPF_MEM: if (k >= BPF_MEMWORDS) return -1; X = M[k]; break;
        case BPF_ST: if (k >= BPF_MEMWORDS) return -1; M[k] = A; break;
        case BPF_STX: if (k >= BPF_MEMWORDS) return -1; M[k] = X; break;
        case BPF_MISC | BPF_TAX: X = A; break;
        case BPF_MISC | BPF_TXA: A = X; break;
        case BPF_ALU | BPF_ADD | BPF_K: A += k; break;
        case BPF_ALU | BPF_ADD | BPF_X: A += X; break;
        case BPF_ALU | BPF_SUB | BPF_K: A -= k; break;
        case BPF_ALU | BPF_SUB | BPF_X: A -= X; break;
        case BPF_ALU | BPF_MUL | BPF_K: A *= k; break;
        case BPF_ALU | BPF_MUL | BPF_X: A *= X; break;
        case BPF_ALU | BPF_DIV | BPF_K: if (!k) return -1; A /= k; break;
        case BPF_ALU | BPF_DIV | BPF_X: if (!X) return -1; A /= X; break;
        case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
        case BPF_ALU | BPF_AND | BPF_X: A &= X; break;
        case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
        case BPF_ALU | BPF_OR | BPF_X: A |= X; break;
        case BPF_ALU | BPF_XOR | BPF_K: A ^= k; break;
        case BPF_ALU | BPF_XOR | BPF_X: A ^= X; break;
        case BPF_ALU | BPF_LSH | BPF_K: A = k < 32 ? A << k : 0; break;
        case BPF_ALU | BPF_LSH | BPF_X: A = X < 32 ? A << X : 0; break;
        case BPF_ALU | BPF_RSH | BPF_K: A = k < 32 ? A >> k : 0; break;
        case BPF_ALU | BPF_RSH | BPF_X: A = X < 32 ? A >> X : 0; break;
        case BPF_ALU | BPF_NEG: A = 0U - A; break;
        case BPF_JMP | BPF_JA: pc += k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += A == k ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JEQ | BPF_X: pc += A == X ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JGT | BPF_K: pc += A > k ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JGT | BPF_X: pc += A > X ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JGE | BPF_K: pc += A >= k ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JGE | BPF_X: pc += A >= X ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JSET | BPF_K: pc += (A & k) ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JSET | BPF_X: pc += (A & X) ? f->jt : f->jf; break;
        case BPF_RET | BPF_K: *ret = k; return 0;
        case BPF_RET | BPF_A: *ret = A; return 0;
        default: return -1;
        }
    }
  return -1;   /* fell off the end: the kernel refuses such a program */
}
