/* The differential test of the syscall wall: the kernel's filter and the
 * supervisor must never disagree.
 *
 * For every syscall number of each ABI the filter covers (x86_64, x86 and
 * x32) and a sample of argument values drawn from the policy's own argument
 * tests (each value, one either side, with and without high bits), the
 * filter the kernel runs in audit mode (allow, or notify the supervisor)
 * and the filter with the policy's own actions (what runc or crun would
 * load) are run as the kernel runs them (seccomp_simulate, the same
 * interpreter `moat policy test` uses); every call the kernel would hand
 * over is decided by supervisor_decide, the listener's own code, with one
 * name cache for all ABIs in the order an attacker would choose (x32 and
 * i386 calls first). The supervisor's verdict, and the rule it names, must
 * be the compiled filter's; the audit filter must notify exactly the calls
 * the policy does not allow; every call must carry its own ABI's name.
 *
 * Policies: the shipped ones, a deny-list profile, and the Docker-format
 * profile podman ships (/usr/share/containers/seccomp.json), loaded as is. */
#include "config-host.h"
#include "tap.h"

#include <errno.h>
#include <stdarg.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>

#include "policy.h"
#include "seccomp-wall.h"
#include "supervisor.h"
#include "util.h"

#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif

static const char *
policy_dir (void)
{
  static char buf[4096];
  const char *t = getenv ("TESTDIR");
  snprintf (buf, sizeof buf, "%s/../policies", t ? t : "tests");
  return buf;
}

struct loaded
{
  struct moat_policy *p;
  struct moat_seccomp *sc;
  struct sock_fprog audit, enforce;        /* from one compile, as create makes them */
  struct sock_fprog audit_own, enforce_own; /* each compiled on its own by libseccomp */
};

/* As `moat policy` and create load a policy file; the supervisor's index
 * built as it builds it. */
static void
load (const char *file, struct loaded *l)
{
  moat_error *err = NULL;
  memset (l, 0, sizeof *l);
  if (policy_load (file, &l->p, &err) < 0)
    {
      fprintf (stderr, "#   %s: %s\n", file, err->msg);
      exit (1);
    }
  CHECK (l->p->seccomp != NULL);
  struct moat_caps caps = { .bounding = l->p->caps };
  const char *path = l->p->seccomp == l->p->tree ? "" : "seccomp";
  CHECK (seccomp_parse (l->p->seccomp, file, path, l->p->has_caps ? &caps : NULL, l->p->strict, &l->sc, &err) == 0);
  CHECK (seccomp_compile_pair (l->sc, &l->audit, &l->enforce, &err) == 0);
  CHECK (seccomp_compile (l->sc, true, &l->audit_own, &err) == 0);
  CHECK (seccomp_compile (l->sc, false, &l->enforce_own, &err) == 0);
  int n = seccomp_index_len (l->sc);
  if (n > 0)
    seccomp_index (l->sc, xmalloc0 ((size_t) n * sizeof (int32_t)),
                   xmalloc0 ((l->sc->n_rules ? l->sc->n_rules : 1) * sizeof (int32_t)), n);
}

/* Argument values worth trying: every value a rule tests, one either
 * side, with the high word set (a 32-bit ABI compares the low word only,
 * and int $0x80 from a 64-bit process can leave the high word set). */
struct values
{
  uint64_t *v;
  size_t n, cap;
};

static void
add_value (struct values *vs, uint64_t v)
{
  for (size_t i = 0; i < vs->n; i++)
    if (vs->v[i] == v)
      return;
  if (vs->n == vs->cap)
    vs->v = xrealloc (vs->v, (vs->cap = vs->cap ? vs->cap * 2 : 64) * sizeof *vs->v);
  vs->v[vs->n++] = v;
}

static void
add_around (struct values *vs, uint64_t v)
{
  const uint64_t around[] = { v, v - 1, v + 1, v | 0x100000000ULL, v | 0xffffffff00000000ULL, ~v,
                              v & 0xffffffffULL, (v & 0xffffffffULL) | 0x8000000000000000ULL };
  for (size_t i = 0; i < ARRAY_SIZE (around); i++)
    add_value (vs, around[i]);
}

struct tally
{
  unsigned long calls, notified, attributed_checks, failures;
};

static void
fail_once (struct tally *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
fail_once (struct tally *t, const char *fmt, ...)
{
  if (t->failures++ < 12)
    {
      va_list ap;
      va_start (ap, fmt);
      fputs ("#   ", stderr);
      vfprintf (stderr, fmt, ap);
      fputc ('\n', stderr);
      va_end (ap);
    }
}

static const char *
abi_label (uint32_t abi)
{
  return abi == SCMP_ARCH_X86_64 ? "x86_64" : abi == SCMP_ARCH_X86 ? "x86" : abi == SCMP_ARCH_X32 ? "x32" : "?";
}

/* One call, as the kernel would see it. */
static void
check_call (const struct loaded *l, struct name_cache *names, uint32_t abi, int nr, const uint64_t args[6],
            struct tally *t)
{
  struct seccomp_data d = { .nr = nr, .arch = abi == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : abi };
  for (int i = 0; i < 6; i++)
    d.args[i] = args[i];
  uint32_t audit, real;
  CHECK (seccomp_simulate (&l->audit, &d, &audit) == 0);
  CHECK (seccomp_simulate (&l->enforce, &d, &real) == 0);
  t->calls++;
  /* The pair from one compile answers as libseccomp's own compile of each. */
  uint32_t audit_own, real_own;
  CHECK (seccomp_simulate (&l->audit_own, &d, &audit_own) == 0);
  CHECK (seccomp_simulate (&l->enforce_own, &d, &real_own) == 0);
  if (audit != audit_own || real != real_own)
    fail_once (t, "%s nr %#x args %#llx,%#llx: one compile answers %#x/%#x, libseccomp's own compiles %#x/%#x",
               abi_label (abi), (unsigned) nr, (unsigned long long) args[0], (unsigned long long) args[1], audit,
               real, audit_own, real_own);
  uint32_t aa = audit & SECCOMP_RET_ACTION_FULL, ra = real & SECCOMP_RET_ACTION_FULL;
  bool policy_allows = ra == SECCOMP_RET_ALLOW;
  if (aa == SECCOMP_RET_ALLOW && !policy_allows)
    fail_once (t, "%s nr %#x args %#llx,%#llx: the audit filter allows what the policy answers %#x", abi_label (abi),
               (unsigned) nr, (unsigned long long) args[0], (unsigned long long) args[1], real);
  if (aa != SECCOMP_RET_ALLOW && aa != SECCOMP_RET_USER_NOTIF && audit != real)
    fail_once (t, "%s nr %#x: the audit filter answers %#x, the policy %#x", abi_label (abi), (unsigned) nr, audit,
               real);
  if (aa == SECCOMP_RET_USER_NOTIF && policy_allows)
    fail_once (t, "%s nr %#x: the audit filter asks about a call the policy allows", abi_label (abi), (unsigned) nr);
  if (aa != SECCOMP_RET_USER_NOTIF)
    return;
  t->notified++;
  /* What the listener does with it. */
  struct sup_decision dec;
  supervisor_decide (l->sc, &l->enforce, names, &d, &dec);
  enum sc_action want;
  uint32_t want_eno;
  CHECK (seccomp_verdict (&l->enforce, &d, &want, &want_eno) == 0);
  if (dec.act != want || ((want == SC_ERRNO || want == SC_TRACE) && dec.eno != want_eno))
    fail_once (t, "%s nr %#x (%s) args %#llx,%#llx: the supervisor answers %s/%u, the filter %s/%u", abi_label (abi),
               (unsigned) nr, dec.name ? dec.name : "?", (unsigned long long) args[0], (unsigned long long) args[1],
               sc_action_name (dec.act), dec.eno, sc_action_name (want), want_eno);
  /* ... and names the rule that gives it: moat's reading of the rules is
   * the compiled filter's. */
  t->attributed_checks++;
  if (dec.unattributed)
    fail_once (t, "%s nr %#x (%s) args %#llx,%#llx: the filter answers %s/%u, which moat's reading (%s) does not give",
               abi_label (abi), (unsigned) nr, dec.name ? dec.name : "?", (unsigned long long) args[0],
               (unsigned long long) args[1], sc_action_name (want), want_eno,
               dec.rule >= 0 ? l->sc->rules[dec.rule].name : "defaultAction");
  /* Its own ABI's table names it (the kernel reports an x32 call with
   * x86_64's arch and the 0x40000000 bit in the number, whichever sweep
   * made it). */
  uint32_t call_abi = d.arch == SCMP_ARCH_X86_64 && ((uint32_t) nr & 0x40000000u) ? SCMP_ARCH_X32 : d.arch;
  if (dec.abi != call_abi)
    fail_once (t, "nr %#x: ABI %s, taken for %s", (unsigned) nr, abi_label (call_abi), abi_label (dec.abi));
  char *want_name = seccomp_syscall_resolve_num_arch (call_abi, nr);
  if ((want_name == NULL) != (dec.name == NULL) || (want_name && strcmp (want_name, dec.name) != 0))
    fail_once (t, "%s nr %#x: named `%s`, its ABI calls it `%s`", abi_label (abi), (unsigned) nr,
               dec.name ? dec.name : "(none)", want_name ? want_name : "(none)");
  free (want_name);
}

/* Every number of ABI, zero arguments and the samples. */
static void
sweep (const struct loaded *l, struct name_cache *names, uint32_t abi, const struct values *vs, struct tally *t)
{
  static const int odd[] = { -1, 0x3fffffff, 0x7fffffff, 0x40000000 + 4096, 0xbfffffff };
  for (int k = 0; k < 1024 + (int) ARRAY_SIZE (odd); k++)
    {
      int nr = k < 1024 ? (abi == SCMP_ARCH_X32 ? k | 0x40000000 : k) : odd[k - 1024];
      uint64_t args[6] = { 0 };
      check_call (l, names, abi, nr, args, t);
      /* The samples, in each argument a rule of this name tests (i386's
       * multiplexers: the first, the call's number). */
      char *name = seccomp_syscall_resolve_num_arch (abi, nr);
      int key = name ? seccomp_syscall_resolve_name (name) : __NR_SCMP_ERROR;
      bool mux = name && (strcmp (name, "socketcall") == 0 || strcmp (name, "ipc") == 0);
      free (name);
      unsigned tested = mux ? 1u : 0u;
      for (size_t i = 0; i < l->sc->n_rules; i++)
        if (l->sc->rules[i].nr == key)
          for (size_t a = 0; a < l->sc->rules[i].n_args; a++)
            tested |= 1u << l->sc->rules[i].args[a].index;
      for (unsigned idx = 0; idx < 6; idx++)
        {
          if (!(tested & (1u << idx)))
            continue;
          for (size_t v = 0; v < vs->n; v++)
            {
              memset (args, 0, sizeof args);
              args[idx] = vs->v[v];
              check_call (l, names, abi, nr, args, t);
            }
          for (uint64_t v = 0; mux && idx == 0 && v < 32; v++)
            {
              memset (args, 0, sizeof args);
              args[0] = v;
              check_call (l, names, abi, nr, args, t);
              args[0] = v | 0x100000000ULL;
              check_call (l, names, abi, nr, args, t);
            }
        }
    }
}

static void
differential (const char *file)
{
  struct loaded l;
  load (file, &l);
  struct values vs = { 0 };
  add_around (&vs, 0);
  for (size_t i = 0; i < l.sc->n_rules; i++)
    for (size_t a = 0; a < l.sc->rules[i].n_args; a++)
      {
        add_around (&vs, l.sc->rules[i].args[a].value);
        add_around (&vs, l.sc->rules[i].args[a].value_two);
        add_around (&vs, l.sc->rules[i].args[a].value | l.sc->rules[i].args[a].value_two);
      }
  struct tally t = { 0 };
  /* One cache for every ABI, the attacker's order first: 32-bit calls
   * before the native ones they could shadow. */
  struct name_cache *names = supervisor_names_new ();
  sweep (&l, names, SCMP_ARCH_X32, &vs, &t);
  sweep (&l, names, SCMP_ARCH_X86, &vs, &t);
  sweep (&l, names, SCMP_ARCH_X86_64, &vs, &t);
  sweep (&l, names, SCMP_ARCH_X32, &vs, &t);
  /* A foreign ABI: the filters' bad-arch answer (a kill, never a
   * notification), the same from one compile as from two. */
  unsigned long before = t.notified;
  for (int nr = 0; nr < 512; nr++)
    {
      const uint64_t zero[6] = { 0 };
      check_call (&l, names, SCMP_ARCH_AARCH64, nr, zero, &t);
    }
  CHECK (t.notified == before);
  supervisor_names_free (names);
  printf ("# %s: %lu calls, %lu handed to the supervisor, %lu failures\n", file, t.calls, t.notified, t.failures);
  CHECK (t.notified > 0);
  CHECK (t.failures == 0);
}

static void
policy_file (const char *name)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/%s", policy_dir (), name);
  differential (path);
}

TEST (default_policy) { policy_file ("default.json"); }
TEST (strict_policy) { policy_file ("strict.json"); }
TEST (audit_all_policy) { policy_file ("audit-all.json"); }

/* A deny-list (everything allowed but a few calls, some by argument), as
 * linux.seccomp or a policy can have it: the shape the x32 cache bug let
 * through. */
TEST (deny_list_profile)
{
  char path[] = "/tmp/moat-verdict-XXXXXX";
  int fd = mkstemp (path);
  CHECK (fd >= 0);
  static const char text[] =
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
    "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
    "\"syscalls\":["
    "{\"names\":[\"mkdir\",\"mkdirat\",\"unshare\"],\"action\":\"SCMP_ACT_ERRNO\"},"
    "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":97,"
    "\"args\":[{\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_EQ\"}]},"
    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_KILL_PROCESS\","
    "\"args\":[{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"}]},"
    "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\","
    "\"args\":[{\"index\":0,\"value\":268435456,\"valueTwo\":268435456,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
    "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_TRAP\"},"
    "{\"names\":[\"acct\"],\"action\":\"SCMP_ACT_LOG\"},"
    "{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":25,"
    "\"args\":[{\"index\":1,\"value\":21522,\"op\":\"SCMP_CMP_EQ\"}]},"
    "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\","
    "\"args\":[{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_GE\"},{\"index\":1,\"value\":15,\"op\":\"SCMP_CMP_LT\"}]}"
    "]}";
  CHECK (write (fd, text, sizeof text - 1) == (ssize_t) (sizeof text - 1));
  close (fd);
  differential (path);
  unlink (path);
}

TEST (docker_profile_as_is)
{
  const char *f = "/usr/share/containers/seccomp.json";
  if (access (f, R_OK) != 0)
    SKIP_TEST ("no Docker-format profile at /usr/share/containers/seccomp.json (golang-github-containers-common)");
  differential (f);
}

TAP_MAIN (CASE (default_policy), CASE (strict_policy), CASE (audit_all_policy), CASE (deny_list_profile),
          CASE (docker_profile_as_is))
