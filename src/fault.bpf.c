/* The lossless fault source: a BPF program on the signal_generate
 * tracepoint. The kernel's own fault report in /dev/kmsg is rate-limited
 * host-wide (about 10 lines per 5 s) and printed only for unhandled
 * signals; this sees every fault signal the kernel raises, at the moment it
 * raises it, in the context of the faulting thread, so it can read what the
 * trap handler left in the thread: the fault address (cr2), the trap number
 * and the hardware error code, and the user-mode registers.
 *
 * Compiled with clang -target bpf; loaded by src/faults-bpf.c. The kernel
 * structures are declared here with only the fields read, and
 * preserve_access_index: libbpf finds their real offsets in the running
 * kernel's BTF (CO-RE), so one object serves every kernel with BTF. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fault-event.h"

#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGSEGV 11

struct thread_struct
{
  unsigned long cr2;
  unsigned long trap_nr;
  unsigned long error_code;
} __attribute__ ((preserve_access_index));

struct task_struct
{
  const struct cred *cred;
  int pid;
  int tgid;
  char comm[16];
  struct thread_struct thread;
} __attribute__ ((preserve_access_index));

/* Read as 8 raw bytes: kernel_cap_t is a u64 since 6.3 and two u32
 * (low word first) before, the same bytes on x86. */
struct moat_kcap
{
  __u64 bits;
};

struct user_namespace
{
  int level;
} __attribute__ ((preserve_access_index));

struct cred
{
  struct moat_kcap cap_effective;
  struct user_namespace *user_ns;
} __attribute__ ((preserve_access_index));

struct pt_regs
{
  unsigned long ip;
  unsigned long sp;
  unsigned long di, si, dx, r10, r8, r9, orig_ax;
} __attribute__ ((preserve_access_index));

struct kernel_siginfo;

char LICENSE[] SEC ("license") = "GPL";

/* Set by the supervisor before attach: the container's cgroup (v2 id) and
 * its depth, so faults of other processes are dropped here, not copied. A
 * level of 0 means no filter (the supervisor filters by pid). */
struct moat_fault_filter
{
  __u64 cgroup_id;
  __u32 level;
  __u32 pad;
};

struct
{
  __uint (type, BPF_MAP_TYPE_ARRAY);
  __uint (max_entries, 1);
  __type (key, __u32);
  __type (value, struct moat_fault_filter);
} filter SEC (".maps");

/* Records that found the ring full: never silently lost, counted. */
struct
{
  __uint (type, BPF_MAP_TYPE_ARRAY);
  __uint (max_entries, 1);
  __type (key, __u32);
  __type (value, __u64);
} dropped SEC (".maps");

struct
{
  __uint (type, BPF_MAP_TYPE_RINGBUF);
  __uint (max_entries, MOAT_FAULT_RING_BYTES);
} events SEC (".maps");

SEC ("tp_btf/signal_generate")
int BPF_PROG (moat_fault, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
  if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGTRAP)
    return 0;
  /* A fault is raised by the faulting thread on itself: a kill(2) of one
   * of these signals by another process is not a fault. */
  struct task_struct *cur = bpf_get_current_task_btf ();
  if (task != cur)
    return 0;
  /* info may be one of the kernel's tokens (SEND_SIG_NOINFO = 0,
   * SEND_SIG_PRIV = 1) rather than a pointer. si_code > 0: the kernel's
   * own (a raise(SIGSEGV) has SI_TKILL, a negative code). */
  int code = 0;
  __u64 addr = 0;
  if ((unsigned long) info > 4096)
    {
      bpf_probe_read_kernel (&code, sizeof code, (char *) info + 8);
      bpf_probe_read_kernel (&addr, sizeof addr, (char *) info + 16);
    }
  if (code <= 0)
    return 0;
  __u32 zero = 0;
  struct moat_fault_filter *f = bpf_map_lookup_elem (&filter, &zero);
  if (f && f->level > 0 && bpf_get_current_ancestor_cgroup_id ((int) f->level) != f->cgroup_id)
    return 0;

  /* a fault's record stops before the strings (it has none) */
  struct moat_fault_event *e = bpf_ringbuf_reserve (&events, __builtin_offsetof (struct moat_fault_event, str), 0);
  if (e == NULL)
    {
      __u64 *d = bpf_map_lookup_elem (&dropped, &zero);
      if (d)
        __sync_fetch_and_add (d, 1);
      return 0;
    }
  e->kind = MOAT_EV_FAULT;
  e->tid = (__u32) BPF_CORE_READ (cur, pid);
  e->tgid = (__u32) BPF_CORE_READ (cur, tgid);
  e->sig = sig;
  e->code = code;
  e->result = result;
  e->addr = addr;
  e->cr2 = BPF_CORE_READ (cur, thread.cr2);
  e->trap_nr = BPF_CORE_READ (cur, thread.trap_nr);
  e->error_code = BPF_CORE_READ (cur, thread.error_code);
  struct pt_regs *regs = (struct pt_regs *) bpf_task_pt_regs (cur);
  e->ip = regs ? BPF_CORE_READ (regs, ip) : 0;
  e->sp = regs ? BPF_CORE_READ (regs, sp) : 0;
  e->ktime = bpf_ktime_get_ns ();
  e->cap_eff = 0;
  e->userns_level = e->pad = 0;
  bpf_get_current_comm (e->comm, sizeof e->comm);
  bpf_ringbuf_submit (e, 0);
  return 0;
}

/* A syscall the kernel itself refused in the container: EPERM (a missing
 * capability, most often), EACCES (permissions, Landlock), EROFS (a
 * read-only mount). Attached only on request (--audit-kernel): it runs at
 * every syscall exit on the host, so the test that lets almost all of
 * them go comes first. A call stopped by the seccomp filter never reached
 * the kernel's own checks; the supervisor drops its exit here, having
 * recorded it already. */
SEC ("tp_btf/sys_exit")
int BPF_PROG (moat_refused, struct pt_regs *regs, long ret)
{
  if (ret != -1 && ret != -13 && ret != -30)
    return 0;
  __u32 zero = 0;
  struct moat_fault_filter *f = bpf_map_lookup_elem (&filter, &zero);
  if (f && f->level > 0 && bpf_get_current_ancestor_cgroup_id ((int) f->level) != f->cgroup_id)
    return 0;
  struct moat_fault_event *e = bpf_ringbuf_reserve (&events, sizeof *e, 0);
  if (e == NULL)
    {
      __u64 *d = bpf_map_lookup_elem (&dropped, &zero);
      if (d)
        __sync_fetch_and_add (d, 1);
      return 0;
    }
  __u64 pt = bpf_get_current_pid_tgid ();
  e->kind = MOAT_EV_REFUSED;
  e->tid = (__u32) pt;
  e->tgid = (__u32) (pt >> 32);
  e->sig = 0;
  e->code = (int) -ret;
  e->result = 0;
  e->nr = (long) BPF_CORE_READ (regs, orig_ax);
  e->args[0] = BPF_CORE_READ (regs, di);
  e->args[1] = BPF_CORE_READ (regs, si);
  e->args[2] = BPF_CORE_READ (regs, dx);
  e->args[3] = BPF_CORE_READ (regs, r10);
  e->args[4] = BPF_CORE_READ (regs, r8);
  e->args[5] = BPF_CORE_READ (regs, r9);
  e->addr = e->cr2 = e->trap_nr = e->error_code = e->ip = e->sp = 0;
  e->ktime = bpf_ktime_get_ns ();
  /* What the caller held when refused, and in which user namespace: the
   * capability it lacked, or held where it does not reach the host's. */
  struct task_struct *cur = bpf_get_current_task_btf ();
  const struct cred *cred = BPF_CORE_READ (cur, cred);
  struct moat_kcap caps = { 0 };
  bpf_core_read (&caps, sizeof caps, &cred->cap_effective);
  e->cap_eff = caps.bits;
  e->userns_level = (__u32) BPF_CORE_READ (cred, user_ns, level);
  e->pad = 0;
  bpf_get_current_comm (e->comm, sizeof e->comm);
  /* A path in the first two arguments is read now: the caller may be gone
   * before the supervisor could read it. A number that is no address just
   * fails to read. */
  e->str[0][0] = e->str[1][0] = 0;
  if (e->args[0] >= 4096)
    bpf_probe_read_user_str (e->str[0], sizeof e->str[0], (void *) e->args[0]);
  if (e->args[1] >= 4096)
    bpf_probe_read_user_str (e->str[1], sizeof e->str[1], (void *) e->args[1]);
  bpf_ringbuf_submit (e, 0);
  return 0;
}
