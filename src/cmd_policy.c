#include "config-host.h"
#include "cmd.h"
#include "policy.h"
#include "seccomp-wall.h"
#include "util.h"

#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] = "check [--strict] FILE | show FILE | bpf [--raw] FILE";

static const char *const op_names[] = {
  [SCMP_CMP_NE] = "!=", [SCMP_CMP_LT] = "<", [SCMP_CMP_LE] = "<=", [SCMP_CMP_EQ] = "==",
  [SCMP_CMP_GE] = ">=", [SCMP_CMP_GT] = ">", [SCMP_CMP_MASKED_EQ] = "&",
};

static int
load (const char *file, bool strict, struct moat_policy **p, struct moat_seccomp **sc, moat_error **err)
{
  if (policy_load (file, p, err) < 0)
    return -1;
  if ((*p)->seccomp == NULL)
    return 0;
  struct moat_caps caps = { .bounding = (*p)->caps };
  const char *path = (*p)->seccomp == (*p)->tree ? "" : "seccomp";
  return seccomp_parse ((*p)->seccomp, file, path, (*p)->has_caps ? &caps : NULL, strict || (*p)->strict, sc, err);
}

static void
print_outcome (enum sc_action a, uint32_t e)
{
  if (a == SC_ERRNO)
    {
      const char *n = strerrorname_np ((int) e);
      printf ("%s(%s)", sc_action_oci (a), n ? n : "?");
    }
  else
    printf ("%s", sc_action_oci (a));
}

static void
show (const struct moat_policy *p, const struct moat_seccomp *sc)
{
  printf ("policy:       %s\n", p->name);
  if (p->description)
    printf ("description:  %s\n", p->description);
  printf ("file:         %s\n", p->path);
  if (p->has_caps)
    {
      printf ("capabilities:");
      for (size_t i = 0; p->caps[i]; i++)
        printf (" %s", p->caps[i]);
      printf ("%s\n", p->caps[0] ? "" : " (none)");
    }
  if (p->has_nnp)
    printf ("no_new_privs: %s\n", p->nnp ? "yes" : "no");
  if (sc && seccomp_uses_agent (sc))
    printf ("audit:        off for syscalls: SCMP_ACT_NOTIFY goes to the agent at %s\n", sc->listener_path);
  else
    printf ("audit:        %s\n", p->audit_syscalls ? "every call not allowed is recorded" : "off (the kernel enforces alone)");
  if (sc == NULL)
    {
      printf ("seccomp:      none\n");
      return;
    }
  printf ("seccomp:      default ");
  print_outcome (sc->default_action, sc->default_errno);
  printf (", %zu rules", sc->n_rules);
  if (sc->n_unknown)
    printf (" (%zu names unknown here, skipped)", sc->n_unknown);
  printf ("\n\n%-24s %-28s %-14s %s\n", "SYSCALL", "OUTCOME", "RULE", "WHEN");
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      const struct sc_rule *r = &sc->rules[i];
      printf ("%-24s ", r->name);
      char buf[64];
      if (r->action == SC_ERRNO)
        {
          const char *n = strerrorname_np ((int) r->errno_ret);
          snprintf (buf, sizeof buf, "%s(%s)", sc_action_oci (r->action), n ? n : "?");
        }
      else
        snprintf (buf, sizeof buf, "%s", sc_action_oci (r->action));
      char rb[32];
      snprintf (rb, sizeof rb, "syscalls[%zu]", r->source);
      printf ("%-28s %-14s ", buf, rb);
      if (r->n_args == 0)
        printf ("always");
      for (size_t k = 0; k < r->n_args; k++)
        {
          const struct sc_arg *a = &r->args[k];
          if (a->op == SCMP_CMP_MASKED_EQ)
            printf ("%s(arg%u & 0x%llx) == 0x%llx", k ? " && " : "", a->index, (unsigned long long) a->value,
                    (unsigned long long) a->value_two);
          else
            printf ("%sarg%u %s 0x%llx", k ? " && " : "", a->index, op_names[a->op], (unsigned long long) a->value);
        }
      printf ("\n");
    }
}

int
cmd_policy (struct global_opts *g UNUSED, int argc, char **argv)
{
  if (argc < 2)
    return cmd_usage ("policy", usage_text, "missing subcommand");
  const char *sub = argv[1];
  enum { OPT_STRICT = 256, OPT_RAW };
  static const struct option opts[] = {
    { "strict", no_argument, NULL, OPT_STRICT },
    { "raw", no_argument, NULL, OPT_RAW },
    { NULL, 0, NULL, 0 },
  };
  bool strict = false, raw = false;
  int c;
  optind = 2;
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_STRICT: strict = true; break;
      case OPT_RAW: raw = true; break;
      default: return cmd_usage ("policy", usage_text, NULL);
      }
  if (optind + 1 != argc)
    return cmd_usage ("policy", usage_text, optind >= argc ? "missing policy file" : "too many arguments");
  const char *file = argv[optind];
  moat_error *err = NULL;
  cleanup_policy struct moat_policy *p = NULL;
  cleanup_seccomp struct moat_seccomp *sc = NULL;
  if (strcmp (sub, "check") == 0)
    {
      struct sock_fprog prog = { 0 };
      if (load (file, strict, &p, &sc, &err) < 0
          || (sc && seccomp_compile (sc, p->audit_syscalls && !seccomp_uses_agent (sc), &prog, &err) < 0))
        return cmd_fail (&err);
      printf ("%s: ok: policy `%s`", file, p->name);
      if (sc)
        printf (", %zu seccomp rules, %u BPF instructions", sc->n_rules, prog.len);
      if (sc && sc->n_unknown)
        printf (", %zu syscall names unknown here (skipped; --strict refuses them)", sc->n_unknown);
      printf ("\n");
      free (prog.filter);
      return 0;
    }
  if (strcmp (sub, "show") == 0)
    {
      if (load (file, false, &p, &sc, &err) < 0)
        return cmd_fail (&err);
      show (p, sc);
      return 0;
    }
  if (strcmp (sub, "bpf") == 0)
    {
      if (load (file, false, &p, &sc, &err) < 0)
        return cmd_fail (&err);
      if (sc == NULL)
        {
          moat_error_set (&err, 0, "%s: no seccomp section", file);
          return cmd_fail (&err);
        }
      if (raw)
        {
          struct sock_fprog prog = { 0 };
          if (seccomp_compile (sc, p->audit_syscalls && !seccomp_uses_agent (sc), &prog, &err) < 0)
            return cmd_fail (&err);
          for (unsigned i = 0; i < prog.len; i++)
            printf ("%04u: code=0x%04x jt=%3u jf=%3u k=0x%08x\n", i, prog.filter[i].code, prog.filter[i].jt,
                    prog.filter[i].jf, prog.filter[i].k);
          free (prog.filter);
          return 0;
        }
      cleanup_free char *text = NULL;
      if (seccomp_pfc (sc, p->audit_syscalls && !seccomp_uses_agent (sc), &text, &err) < 0)
        return cmd_fail (&err);
      fputs (text, stdout);
      return 0;
    }
  return cmd_usage ("policy", usage_text, "unknown subcommand `%s`", sub);
}
