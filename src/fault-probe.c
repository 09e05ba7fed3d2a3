/* moat — the fault tracker's lossless source: the events of the BPF probe
 * (loaded by faults-bpf.c), a fault's detail or a syscall the kernel
 * refused, kept back while the connector has not told the thread's fork. */
#include "config-host.h"
#include "faults-int.h"
#include "faults-bpf.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---- the BPF probe ---------------------------------------------------------- */

/* An event of a thread not known yet: it is the container's (the probe
 * filters by cgroup), its fork event just has not been read. */
static bool
keep_early (struct faults *f, const struct moat_fault_event *e)
{
  if (fault_task_find (f, (pid_t) e->tid) != NULL)
    return false;
  if (f->n_early == f->cap_early)
    {
      if (f->cap_early >= 4096)
        return true;   /* a fork storm without exits: the oldest wait, these go */
      f->early = xrealloc (f->early, (f->cap_early = f->cap_early ? f->cap_early * 2 : 16) * sizeof *f->early);
    }
  f->early[f->n_early].e = *e;
  f->early[f->n_early].at = now_ms ();
  f->n_early++;
  return true;
}

void
fault_early_remove (struct faults *f, size_t i)
{
  memmove (&f->early[i], &f->early[i + 1], (f->n_early - i - 1) * sizeof *f->early);
  f->n_early--;
}

void
fault_on_bpf_event (void *ctx, const struct moat_fault_event *e)
{
  struct faults *f = ctx;
  if (keep_early (f, e))
    return;
  if (e->kind == MOAT_EV_REFUSED)
    {
      fault_on_refused (f, e);
      return;
    }
  struct detail d = { .have = true, .bpf = true, .sig = e->sig, .code = e->code,
                      .ip = e->ip, .sp = e->sp, .error = e->error_code, .has_error = true };
  memcpy (d.comm, e->comm, sizeof e->comm);
  d.comm[sizeof e->comm] = '\0';
  const char *kind = NULL;
  /* The x86 exception vector the trap handler recorded in the thread. */
  switch (e->trap_nr)
    {
    case 14: kind = e->sig == SIGBUS ? "bus error" : "segfault"; d.has_addr = true; break;
    case 13: kind = "general protection fault"; break;
    case 6: kind = "invalid opcode"; break;
    case 0: kind = "divide error"; break;
    case 16: kind = "x87 floating-point exception"; break;
    case 19: kind = "SIMD floating-point exception"; break;
    case 17: kind = "alignment check"; d.has_addr = true; break;
    case 3: kind = "breakpoint"; break;
    case 1: kind = "debug trap"; break;
    default: break;
    }
  if (kind)
    snprintf (d.kind, sizeof d.kind, "%s", kind);
  else
    snprintf (d.kind, sizeof d.kind, "trap %llu", (unsigned long long) e->trap_nr);
  d.addr = e->addr;
  fault_attach_detail (f, (pid_t) e->tid, &d);
}

void
fault_replay_early (struct faults *f, pid_t tid)
{
  for (size_t i = 0; i < f->n_early;)
    if ((pid_t) f->early[i].e.tid == tid)
      {
        struct moat_fault_event e = f->early[i].e;
        fault_early_remove (f, i);
        fault_on_bpf_event (f, &e);
      }
    else
      i++;
}

void
faults_on_bpf (struct faults *f)
{
  fault_bpf_consume (f->bpf);
  unsigned long long lost = fault_bpf_take_dropped (f->bpf);
  if (lost)
    fault_lost_record (f, "BPF fault probe: its ring buffer was full; some fault details were dropped (the deaths "
                    "themselves are recorded from the connector)", (long long) lost);
}
