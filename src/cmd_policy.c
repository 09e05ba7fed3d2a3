#include "config-host.h"
#include "cmd.h"
#include "policy.h"
#include "supervisor.h"
#include "log.h"
#include "audit.h"
#include "learn.h"
#include "seccomp-wall.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
  "check [--strict] FILE | show FILE | bpf [--raw] FILE | test FILE --syscall NAME [--arg N=VALUE]... [--arch ARCH] "
  "| diff FILE-A FILE-B | generate --from-audit ID [--base FILE] [-o FILE]";

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
  if (p->fs_rules)
    {
      printf ("filesystem:   Landlock, everything else EACCES%s\n", p->n_fs_rules ? ":" : " (no path granted)");
      for (size_t i = 0; i < p->n_fs_rules; i++)
        printf ("  %-24s %s%s%s\n", p->fs_rules[i].path, p->fs_rules[i].access & MOAT_FS_READ ? "read " : "",
                p->fs_rules[i].access & MOAT_FS_WRITE ? "write " : "",
                p->fs_rules[i].access & MOAT_FS_EXECUTE ? "execute" : "");
    }
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
  size_t newer = 0;
  const char *first_newer = NULL;
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      const struct sc_rule *r = &sc->rules[i];
      if (r->source == SC_SOURCE_NEWER)
        {
          if (newer++ == 0)
            first_newer = r->name;
          continue;
        }
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
  if (newer)
    printf ("\n%zu syscalls newer than the policy (from %s on, as libseccomp knows them): SCMP_ACT_ERRNO(ENOSYS)\n",
            newer, first_newer);
}

static const char *
outcome_text (uint32_t ret, char *buf, size_t n)
{
  uint32_t data = ret & SECCOMP_RET_DATA;
  switch (ret & SECCOMP_RET_ACTION_FULL)
    {
    case SECCOMP_RET_ALLOW: return "allow";
    case SECCOMP_RET_LOG: return "log (allowed, logged)";
    case SECCOMP_RET_KILL_PROCESS: return "kill_process (SIGSYS)";
    case SECCOMP_RET_KILL_THREAD: return "kill_thread (SIGSYS)";
    case SECCOMP_RET_TRAP: return "trap (SIGSYS)";
    case SECCOMP_RET_USER_NOTIF: return "notify";
    case SECCOMP_RET_TRACE: snprintf (buf, n, "trace (%u)", data); return buf;
    case SECCOMP_RET_ERRNO:
      {
        const char *e = strerrorname_np ((int) data);
        snprintf (buf, n, "errno %s", e ? e : "?");
        return buf;
      }
    default: return "?";
    }
}

static uint32_t
arch_token (const char *name)
{
  if (name == NULL || strcmp (name, "x86_64") == 0 || strcmp (name, "amd64") == 0)
    return SCMP_ARCH_X86_64;
  if (strcmp (name, "x86") == 0 || strcmp (name, "i386") == 0)
    return SCMP_ARCH_X86;
  if (strcmp (name, "x32") == 0)
    return SCMP_ARCH_X32;
  return 0;
}

/* What the kernel returns for one call: the policy compiled as the kernel
 * gets it without auditing (every action real), run on a seccomp_data. */
static int
kernel_answer (const struct moat_seccomp *sc, const struct sock_fprog *prog, uint32_t arch, int nr,
               const uint64_t args[6], uint32_t *ret)
{
  (void) sc;
  struct seccomp_data d = { .nr = nr, .arch = arch };
  for (int i = 0; i < 6; i++)
    d.args[i] = args[i];
  return seccomp_simulate (prog, &d, ret);
}

static int
policy_test (const char *file, const char *sysname, char **argv_args, size_t nargs, const char *archname,
             moat_error **err)
{
  cleanup_policy struct moat_policy *p = NULL;
  cleanup_seccomp struct moat_seccomp *sc = NULL;
  if (load (file, false, &p, &sc, err) < 0)
    return -1;
  if (sc == NULL)
    {
      cleanup_free char *shown = str_printable (file);
      return moat_error_set (err, 0, "%s: no seccomp section: every call is allowed", shown);
    }
  uint32_t arch = arch_token (archname);
  if (arch == 0)
    {
      cleanup_free char *shown = str_printable (archname);
      return moat_error_set (err, 0, "--arch `%s`: x86_64, x86 or x32", shown);
    }
  int nr = seccomp_syscall_resolve_name_arch (arch, sysname);
  if (nr < 0 && nr != __NR_SCMP_ERROR)
    {
      /* A name libseccomp multiplexes on this ABI (i386's socket calls and
       * SysV IPC): their direct syscall, which it compiles the rules on
       * too (socketcall(2) itself is `--syscall socketcall --arg 0=N`). */
      nr = __NR_SCMP_ERROR;
      for (int k = 0; k < 1024 && nr == __NR_SCMP_ERROR; k++)
        {
          int n = arch == SCMP_ARCH_X32 ? k | 0x40000000 : k;
          cleanup_free char *name = seccomp_syscall_resolve_num_arch (arch, n);
          if (name && strcmp (name, sysname) == 0)
            nr = n;
        }
    }
  if (nr == __NR_SCMP_ERROR)
    {
      cleanup_free char *shown = str_printable (sysname);
      return moat_error_set (err, 0, "--syscall `%s`: unknown to libseccomp on %s", shown, archname ? archname : "x86_64");
    }
  uint64_t args[6] = { 0 };
  for (size_t i = 0; i < nargs; i++)
    {
      char *end;
      unsigned long idx = strtoul (argv_args[i], &end, 10);
      if (end == argv_args[i] || *end != '=' || idx > 5)
        {
          cleanup_free char *shown = str_printable (argv_args[i]);
          return moat_error_set (err, 0, "--arg `%s`: expected N=VALUE with N from 0 to 5", shown);
        }
      const char *v = end + 1;
      errno = 0;
      args[idx] = strtoull (v, &end, 0);
      if (*v == '\0' || *end != '\0' || errno)
        {
          cleanup_free char *shown = str_printable (argv_args[i]);
          return moat_error_set (err, 0, "--arg `%s`: VALUE must be a number (0x... or decimal)", shown);
        }
    }
  struct sock_fprog prog = { 0 };
  if (seccomp_compile (sc, false, &prog, err) < 0)
    return -1;
  cleanup_free struct sock_filter *mem = prog.filter;
  /* The kernel reports an x32 call with x86_64's arch and the x32 bit in
   * the number (which resolve_name_arch gave). */
  uint32_t kernel_arch = arch == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : arch;
  uint32_t ret;
  if (kernel_answer (sc, &prog, kernel_arch, nr, args, &ret) < 0)
    {
      cleanup_free char *shown = str_printable (file);
      return moat_error_set (err, 0, "%s: the compiled filter could not be evaluated", shown);
    }
  /* The rule that decides it, by moat's own reading: the supervisor's,
   * which must name a rule whose own action is what the filter said. */
  struct seccomp_data d = { .nr = nr, .arch = kernel_arch };
  for (int i = 0; i < 6; i++)
    d.args[i] = args[i];
  struct name_cache *names = supervisor_names_new ();
  struct sup_decision dec;
  supervisor_decide (sc, NULL, names, &d, &dec);
  supervisor_names_free (names);
  int rule = dec.rule;
  enum sc_action act = dec.act;
  uint32_t eno = dec.eno;
  static const uint32_t ret_of[] = {
    [SC_ALLOW] = SECCOMP_RET_ALLOW, [SC_LOG] = SECCOMP_RET_LOG, [SC_TRACE] = SECCOMP_RET_TRACE,
    [SC_NOTIFY] = SECCOMP_RET_USER_NOTIF, [SC_ERRNO] = SECCOMP_RET_ERRNO, [SC_TRAP] = SECCOMP_RET_TRAP,
    [SC_KILL_THREAD] = SECCOMP_RET_KILL_THREAD, [SC_KILL_PROCESS] = SECCOMP_RET_KILL_PROCESS,
  };
  bool agree = (ret & SECCOMP_RET_ACTION_FULL) == ret_of[act]
               && (act != SC_ERRNO || (ret & SECCOMP_RET_DATA) == eno);
  char ob[64], rb[48];
  if (rule >= 0)
    sc_rule_label (&sc->rules[rule], rb, sizeof rb);
  else
    snprintf (rb, sizeof rb, "defaultAction");
  printf ("%s(0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx) on %s: %s, by %s of policy `%s`\n", sysname,
          (unsigned long long) args[0], (unsigned long long) args[1], (unsigned long long) args[2],
          (unsigned long long) args[3], (unsigned long long) args[4], (unsigned long long) args[5],
          archname ? archname : "x86_64", outcome_text (ret, ob, sizeof ob), rb, p->name);
  if (!agree)
    {
      cleanup_free char *shown = str_printable (file);
      return moat_error_set (err, 0, "%s: moat's reading of the rules (%s) differs from the compiled filter", shown,
                             sc_action_name (act));
    }
  return 0;
}

/* Do A and B have the same rules (actions, errnos, argument tests) for NR? */
static bool
same_rules (const struct moat_seccomp *a, const struct moat_seccomp *b, int nr)
{
  size_t i = 0, j = 0;
  for (;;)
    {
      while (a && i < a->n_rules && a->rules[i].nr != nr)
        i++;
      while (b && j < b->n_rules && b->rules[j].nr != nr)
        j++;
      bool ea = !a || i >= a->n_rules, eb = !b || j >= b->n_rules;
      if (ea || eb)
        return ea && eb;
      const struct sc_rule *x = &a->rules[i++], *y = &b->rules[j++];
      if (x->action != y->action || x->errno_ret != y->errno_ret || x->n_args != y->n_args)
        return false;
      for (size_t k = 0; k < x->n_args; k++)
        if (x->args[k].index != y->args[k].index || x->args[k].op != y->args[k].op
            || x->args[k].value != y->args[k].value || x->args[k].value_two != y->args[k].value_two)
          return false;
    }
}

/* Syscall by syscall (x86_64, all arguments 0), what A and B answer. */
static int
policy_diff (const char *fa, const char *fb, moat_error **err)
{
  cleanup_policy struct moat_policy *pa = NULL, *pb = NULL;
  cleanup_seccomp struct moat_seccomp *sa = NULL, *sb = NULL;
  if (load (fa, false, &pa, &sa, err) < 0 || load (fb, false, &pb, &sb, err) < 0)
    return -1;
  struct sock_fprog ga = { 0 }, gb = { 0 };
  if ((sa && seccomp_compile (sa, false, &ga, err) < 0) || (sb && seccomp_compile (sb, false, &gb, err) < 0))
    {
      free (ga.filter);
      return -1;
    }
  cleanup_free struct sock_filter *ma = ga.filter, *mb = gb.filter;
  printf ("%-24s %-28s %s\n", "SYSCALL", pa->name, pb->name);
  int differ = 0;
  const uint64_t zero[6] = { 0 };
  for (int nr = 0; nr < 1024; nr++)
    {
      cleanup_free char *name = seccomp_syscall_resolve_num_arch (SCMP_ARCH_X86_64, nr);
      if (name == NULL)
        continue;
      uint32_t ra = SECCOMP_RET_ALLOW, rb = SECCOMP_RET_ALLOW;
      if ((sa && kernel_answer (sa, &ga, SCMP_ARCH_X86_64, nr, zero, &ra) < 0)
          || (sb && kernel_answer (sb, &gb, SCMP_ARCH_X86_64, nr, zero, &rb) < 0))
        return moat_error_set (err, 0, "a compiled filter could not be evaluated");
      /* Where a rule looks at arguments, the answer for zeros is one of several. */
      bool args_a = false, args_b = false;
      for (size_t i = 0; sa && i < sa->n_rules; i++)
        args_a |= sa->rules[i].nr == nr && sa->rules[i].n_args > 0;
      for (size_t i = 0; sb && i < sb->n_rules; i++)
        args_b |= sb->rules[i].nr == nr && sb->rules[i].n_args > 0;
      if (ra == rb && ((!args_a && !args_b) || same_rules (sa, sb, nr)))
        continue;
      if (ra == rb && (args_a || args_b))
        {
          printf ("%-24s %-28s %s\n", name, args_a ? "depends on arguments" : "same", args_b ? "depends on arguments" : "same");
          differ++;
          continue;
        }
      char oa[64], ob[64];
      printf ("%-24s %-28s %s\n", name, outcome_text (ra, oa, sizeof oa), outcome_text (rb, ob, sizeof ob));
      differ++;
    }
  if (differ == 0)
    printf ("(no difference for any syscall with all arguments 0)\n");
  return 0;
}

int
cmd_policy (struct global_opts *g, int argc, char **argv)
{
  if (argc < 2)
    return cmd_usage ("policy", usage_text, "missing subcommand");
  const char *sub = argv[1];
  enum { OPT_STRICT = 256, OPT_RAW, OPT_SYSCALL, OPT_ARG, OPT_ARCH, OPT_FROM, OPT_BASE };
  static const struct option opts[] = {
    { "strict", no_argument, NULL, OPT_STRICT },
    { "raw", no_argument, NULL, OPT_RAW },
    { "syscall", required_argument, NULL, OPT_SYSCALL },
    { "arg", required_argument, NULL, OPT_ARG },
    { "arch", required_argument, NULL, OPT_ARCH },
    { "from-audit", required_argument, NULL, OPT_FROM },
    { "base", required_argument, NULL, OPT_BASE },
    { "output", required_argument, NULL, 'o' },
    { NULL, 0, NULL, 0 },
  };
  bool strict = false, raw = false;
  const char *sysname = NULL, *arch = NULL, *from = NULL, *base = NULL, *output = NULL;
  char *targs[6];
  size_t ntargs = 0;
  int c;
  /* Options may follow the file (`policy test FILE --syscall NAME`): a
   * fresh, permuting scan (optind 0 resets glibc's getopt, whose mode the
   * global options' "+" scan left in order) of what follows SUB. */
  argc--;
  argv++;
  optind = 0;
  while ((c = getopt_long (argc, argv, "o:", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_STRICT: strict = true; break;
      case OPT_RAW: raw = true; break;
      case OPT_SYSCALL: sysname = optarg; break;
      case OPT_ARG:
        if (ntargs == 6)
          return cmd_usage ("policy", usage_text, "at most 6 --arg");
        targs[ntargs++] = optarg;
        break;
      case OPT_ARCH: arch = optarg; break;
      case OPT_FROM: from = optarg; break;
      case OPT_BASE: base = optarg; break;
      case 'o': output = optarg; break;
      default: return cmd_usage ("policy", usage_text, NULL);
      }
  moat_error *err = NULL;
  if (strcmp (sub, "generate") == 0)
    {
      if (from == NULL || optind != argc)
        return cmd_usage ("policy", usage_text, from ? "too many arguments" : "generate needs --from-audit ID");
      /* The id names a state directory and an audit log: checked before
       * either path is built (`../x` would read outside both). */
      if (state_validate_id (from, &err) < 0)
        return cmd_fail (&err);
      /* Without --base: the policy the container ran under, as its state kept it. */
      cleanup_free char *saved = base ? NULL : xasprintf ("%s/%s/policy.json", g->root, from);
      if (saved && access (saved, R_OK) != 0)
        return cmd_usage ("policy", usage_text, "generate: no policy of `%s` in %s: give --base FILE", from, g->root);
      /* Every record so far, those still in the supervisor's spool too. */
      supervisor_log_sync (g->root, g->audit_dir ? g->audit_dir : MOAT_DEFAULT_AUDIT_DIR, from);
      return learn_generate (g->audit_dir ? g->audit_dir : MOAT_DEFAULT_AUDIT_DIR, from, base ? base : saved, output,
                             &err) < 0 ? cmd_fail (&err) : 0;
    }
  if (strcmp (sub, "diff") == 0)
    {
      if (optind + 2 != argc)
        return cmd_usage ("policy", usage_text, "diff takes two policy files");
      return policy_diff (argv[optind], argv[optind + 1], &err) < 0 ? cmd_fail (&err) : 0;
    }
  if (optind + 1 != argc)
    return cmd_usage ("policy", usage_text, optind >= argc ? "missing policy file" : "too many arguments");
  const char *file = argv[optind];
  if (strcmp (sub, "test") == 0)
    {
      if (sysname == NULL)
        return cmd_usage ("policy", usage_text, "test needs --syscall NAME");
      return policy_test (file, sysname, targs, ntargs, arch, &err) < 0 ? cmd_fail (&err) : 0;
    }
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
      /* Never silent: what a rule cannot do on an ABI it covers. */
      size_t last = (size_t) -1;
      for (size_t i = 0; sc && i < sc->n_rules; i++)
        {
          const char *mux = sc->rules[i].source != last ? seccomp_rule_loses_args_on_x86 (sc, &sc->rules[i]) : NULL;
          if (mux == NULL)
            continue;
          char lb[48];
          last = sc->rules[i].source;
          log_warning ("%s: %s (%s): on x86, i386's %s(2) carries this call's arguments in memory, where no filter "
                       "looks: the rule's argument tests do not apply there (see moat-policy(5), x86)",
                       file, sc_rule_label (&sc->rules[i], lb, sizeof lb), sc->rules[i].name, mux);
        }
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
          cleanup_free char *shown = str_printable (file);
          moat_error_set (&err, 0, "%s: no seccomp section", shown);
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
  cleanup_free char *shown = str_printable (sub);
  return cmd_usage ("policy", usage_text, "unknown subcommand `%s`", shown);
}
