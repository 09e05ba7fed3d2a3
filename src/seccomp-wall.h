/* moat — the syscall wall (named seccomp-wall.h so that <seccomp.h> stays
 * libseccomp's): an OCI (or Docker/Podman) seccomp profile parsed
 * into rules, compiled with libseccomp to the BPF program the kernel runs,
 * and loaded as the init's last act before execve.
 *
 * In audit mode every rule whose action is not ALLOW, and a default action
 * that is not ALLOW, compiles to SCMP_ACT_NOTIFY: the kernel then stops the
 * caller and asks moat's supervisor, which records the call and enforces the
 * rule's real action (seccomp_verdict; seccomp_decide_abi names the rule). */
#ifndef MOAT_SECCOMP_H
#define MOAT_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "config.h"
#include "error.h"

enum sc_action
{
  SC_ALLOW,
  SC_LOG,
  SC_TRACE,
  SC_NOTIFY,
  SC_ERRNO,
  SC_TRAP,
  SC_KILL_THREAD,
  SC_KILL_PROCESS,
};

struct sc_arg
{
  unsigned index;
  uint64_t value, value_two;
  int op;                     /* enum scmp_compare */
};

struct sc_rule
{
  char *name;                 /* syscall name as written */
  int nr;                     /* native number; < 0 if unknown here */
  enum sc_action action;
  uint32_t errno_ret;         /* ERRNO's errno, TRACE's message */
  struct sc_arg *args;
  size_t n_args;
  size_t source;              /* index in syscalls[] */
};

/* The source of the rules moat adds for calls newer than the policy. */
#define SC_SOURCE_NEWER ((size_t) -1)

struct moat_seccomp
{
  enum sc_action default_action;
  uint32_t default_errno;
  uint32_t *arches;           /* SCMP_ARCH_* */
  size_t n_arches;
  unsigned flags;             /* SECCOMP_FILTER_FLAG_* */
  char *listener_path, *listener_metadata;
  struct sc_rule *rules;
  size_t n_rules;
  size_t n_unknown;           /* names unknown to this libseccomp/kernel, skipped */
  /* Optional (the supervisor builds it): the rules of number N are
   * FIRST_RULE[N], then NEXT_RULE[...] until -1, in policy order. */
  int32_t *first_rule, *next_rule;
  int n_first;
};

/* Parse a seccomp object (OCI linux.seccomp, or a Docker/Podman profile with
 * names/includes/excludes/archMap). CAPS (may be NULL) decides includes/
 * excludes by capability. STRICT makes unknown syscall names an error that
 * names the closest known one; otherwise they are skipped (debug message).
 * When the default action denies, every syscall newer than the newest one
 * the policy names (and known to libseccomp) gets ENOSYS instead, as runc
 * does: glibc then falls back (clone3 -> clone, faccessat2 -> faccessat)
 * where EPERM would have been taken as a refusal. */
int seccomp_parse (yajl_val v, const char *docname, const char *path, const struct moat_caps *caps,
                   bool strict, struct moat_seccomp **out, moat_error **err);
void seccomp_free (struct moat_seccomp *sc);
static inline void cleanup_seccomp_fn (struct moat_seccomp **s) { if (*s) seccomp_free (*s); }
#define cleanup_seccomp __attribute__ ((cleanup (cleanup_seccomp_fn)))

/* Compile to BPF. AUDIT: every non-allow outcome becomes a notification. */
int seccomp_compile (const struct moat_seccomp *sc, bool audit, struct sock_fprog *prog, moat_error **err);
/* The same, through a cache of compiled filters in CACHE_DIR keyed by the
 * SHA-256 of everything that shapes the program (rules, arches, default,
 * audit mode, moat and libseccomp versions): a warm start skips libseccomp's
 * compile. *HIT says which it was. A cache that cannot be written is only a
 * slower start. */
int seccomp_compile_cached (const struct moat_seccomp *sc, bool audit, const char *cache_dir,
                            struct sock_fprog *prog, bool *hit, moat_error **err);

/* Both filters of an audited container from one libseccomp compile: the
 * AUDIT one (what the kernel runs: allow, or notify the supervisor) and the
 * ENFORCE one (the policy's own actions: the supervisor's verdicts). The
 * audit filter is the enforcing one with each non-allow return turned into
 * a notification. The _cached form keeps both in CACHE_DIR. */
int seccomp_compile_pair (const struct moat_seccomp *sc, struct sock_fprog *audit, struct sock_fprog *enforce,
                          moat_error **err);
int seccomp_compile_pair_cached (const struct moat_seccomp *sc, const char *cache_dir, struct sock_fprog *audit,
                                 struct sock_fprog *enforce, bool *hit, moat_error **err);

/* libseccomp's PFC text of the same filter (for `moat policy bpf`). */
int seccomp_pfc (const struct moat_seccomp *sc, bool audit, char **text, moat_error **err);

/* Does the profile send anything to an external agent (SCMP_ACT_NOTIFY
 * with a listenerPath)? Without NOTIFY, listenerPath is ignored (spec). */
bool seccomp_uses_agent (const struct moat_seccomp *sc);

/* Does the filter need a user-notification listener? */
bool seccomp_needs_listener (const struct moat_seccomp *sc, bool audit);

/* Load PROG on the calling thread only (no TSYNC). With WANT_LISTENER the
 * new listener fd is returned in *listener. */
int seccomp_load_prog (const struct sock_fprog *prog, unsigned flags, bool want_listener,
                       int *listener, moat_error **err);

/* The index seccomp_decide_abi uses (first_rule, next_rule): the length of
 * FIRST it needs (0: none, the rules are scanned), and its making in the
 * caller's arrays (NEXT of n_rules entries). */
int seccomp_index_len (const struct moat_seccomp *sc);
void seccomp_index (struct moat_seccomp *sc, int32_t *first, int32_t *next, int n_first);

/* The ABI of a call as the kernel reports it, as libseccomp's token:
 * SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 (the kernel reports x32
 * calls with AUDIT_ARCH_X86_64 and the 0x40000000 bit in the number), or
 * ARCH itself for any other. */
uint32_t seccomp_call_abi (uint32_t arch, int nr);

/* Which rule decides a call of ABI, as libseccomp compiles the rules for
 * it: the matching rule with the strongest action (the kernel's
 * precedence), or -1 for the default action. KEY is the rules' number for
 * the call's name (seccomp_syscall_resolve_name: native, or libseccomp's
 * negative pseudo number for a name the native ABI lacks); on a 32-bit
 * ABI (x86, x32) arguments and values compare in their low 32 bits; on
 * x86, socketcall(2) and ipc(2) are decided by the rules of the call their
 * first argument names (socketcall(SYS_SOCKET, ...) by socket's), whose
 * argument tests do not apply: the real arguments are in memory, which no
 * filter reads. */
int seccomp_decide_abi (const struct moat_seccomp *sc, uint32_t abi, int key, const uint64_t args[6]);

/* Does rule R, on a profile that covers x86, test arguments of a call
 * i386 also makes through socketcall(2) or ipc(2)? There those tests do
 * not apply (seccomp_decide_abi): `moat policy check` says so. Returns the
 * multiplexer's name, "socketcall" or "ipc", or NULL. */
const char *seccomp_rule_loses_args_on_x86 (const struct moat_seccomp *sc, const struct sc_rule *r);

struct seccomp_data;

/* What PROG, the filter compiled with the policy's own actions (audit
 * off), answers D: the action and its errno. This is the verdict the
 * supervisor enforces, so the kernel's filter and the supervisor cannot
 * disagree. -1 for a program that cannot be run (never one libseccomp
 * made). */
int seccomp_verdict (const struct sock_fprog *prog, const struct seccomp_data *d, enum sc_action *act,
                     uint32_t *eno);

/* Run PROG on D as the kernel would: *RET is the SECCOMP_RET_* value.
 * -1 for a program the kernel would not accept. */
int seccomp_simulate (const struct sock_fprog *prog, const struct seccomp_data *d, uint32_t *ret);

/* "syscalls[3]", or "newer-than-policy" for the ENOSYS rules moat adds. */
const char *sc_rule_label (const struct sc_rule *r, char *buf, size_t n);
/* The same from the rule's source alone (a record keeps only that). */
const char *sc_source_label (size_t source, char *buf, size_t n);

const char *sc_action_name (enum sc_action a);    /* "errno", "kill_process", ... */
const char *sc_action_oci (enum sc_action a);     /* "SCMP_ACT_ERRNO", ... */

#endif
