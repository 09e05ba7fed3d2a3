/* moat — the fault tracker's records: deaths by a fault signal and the
 * faults a process lived through, in words, to the audit log (or counted
 * past its budget); and the deaths waiting a moment for their detail,
 * which a source hands in here (fault_attach_detail). Apart from the sources so
 * that each of them writes through the same few functions. */
#include "config-host.h"
#include "faults-int.h"
#include "budget.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- records ------------------------------------------------------------- */

void
fault_describe (unsigned long code, char *out, size_t n)
{
  const char *mode = (code & 4) ? "user-mode" : "kernel-mode";
  const char *access = (code & 16) ? "instruction fetch from" : (code & 2) ? "write to" : "read of";
  const char *page;
  if (!(code & 1))
    page = "a not-present page";
  else if (code & 16)
    page = "a present, non-executable page";
  else if (code & 2)
    page = "a present, read-only page";
  else
    page = "a present page it may not read (a kernel page)";
  snprintf (out, n, "%s %s %s%s%s", mode, access, page, (code & 8) ? ", reserved bit set" : "",
            (code & 32) ? ", protection-key violation" : "");
}

/* Raised by the page-fault handler: the error code is a page-fault one. */
static bool
page_fault (const struct detail *d)
{
  return strcmp (d->kind, "segfault") == 0 || strcmp (d->kind, "bus error") == 0;
}

/* si_code in the kernel's words (the probe gives the number). */
static const char *
si_code_name (int sig, int code)
{
  static const char *const segv[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR" };
  static const char *const bus[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
  static const char *const ill[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
                                     "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK" };
  static const char *const fpe[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
                                     "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB" };
  static const char *const trap[] = { NULL, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT" };
  if (code == 0x80)
    return "SI_KERNEL";
#define PICK(t) (code > 0 && (size_t) code < ARRAY_SIZE (t) ? t[code] : NULL)
  switch (sig)
    {
    case SIGSEGV: return PICK (segv);
    case SIGBUS: return PICK (bus);
    case SIGILL: return PICK (ill);
    case SIGFPE: return PICK (fpe);
    case SIGTRAP: return PICK (trap);
    default: return NULL;
    }
#undef PICK
}

static const char *
wall_for (const struct pending *p)
{
  if (p->d.have)
    return page_fault (&p->d) ? "mmu" : "cpu";
  switch (p->sig)
    {
    case SIGSEGV: case SIGBUS: return "mmu";
    case SIGILL: case SIGFPE: return "cpu";
    case SIGSYS: return "seccomp";
    default: return "process";
    }
}

/* Every record of this file starts here: at TIME (NULL: now), the
 * container, the wall and the kind. */
struct jbuf *
fault_rec_begin (struct faults *f, const char *time, const char *wall, const char *kind)
{
  struct jbuf *j = &f->rec;
  char tb[48];
  if (time == NULL)
    audit_time (tb, sizeof tb);
  jb_open (j);
  jb_str (j, "time", time ? time : tb);
  jb_str (j, "container", f->id);
  jb_str (j, "wall", wall);
  jb_str (j, "kind", kind);
  return j;
}

/* ... and ends here: written, or counted as refused by the log. */
void
fault_rec_end (struct faults *f, struct jbuf *j)
{
  jb_close (j);
  if (f->out && f->out (f->out_ctx, j) < 0)
    f->unwritten++;
}

void
fault_put_nspid (struct jbuf *j, pid_t nspid)
{
  if (nspid > 0)
    jb_int (j, "nspid", nspid);
  else
    jb_raw (j, "nspid", "null");   /* gone before it could be read */
}

void
fault_emit (struct faults *f, struct pending *p)
{
  if (f->out == NULL)
    return;
  if (p->death)
    {
      struct task *t = fault_task_find (f, p->t.tgid);
      if (t)
        t->written = true;
    }
  /* Past the log's budget: counted with the others of its signal and
   * comm, as the calls are (a crash loop must not fill the disk). */
  if (f->budget && !budget_take (f->budget, f->log_size (f->size_ctx)))
    {
      struct agg_key k = { .kind = p->death ? AGG_DEATH : AGG_FAULT, .nr = p->death ? p->sig : p->d.sig };
      const char *comm = p->d.have && p->d.comm[0] ? p->d.comm : p->t.comm[0] ? p->t.comm : "?";
      memcpy (k.comm, comm, strnlen (comm, sizeof k.comm - 1));
      struct timespec at;
      clock_gettime (CLOCK_REALTIME, &at);
      budget_count (f->budget, &k, &at);
      return;
    }
  char hex[32], words[160];
  struct jbuf *j = fault_rec_begin (f, p->time, wall_for (p), p->death ? "signal" : "fault");
  jb_int (j, "pid", p->t.tgid);
  fault_put_nspid (j, p->t.nspid);
  /* The kernel's report names the task as it was at the fault: better than
   * a comm read before a last exec the connector had not told us yet. */
  if (p->d.have && p->d.comm[0])
    jb_str (j, "comm", p->d.comm);
  else if (p->t.comm[0])
    jb_str (j, "comm", p->t.comm);
  else
    jb_raw (j, "comm", "null");   /* exec'd and gone before it could be read */
  if (p->t.exe[0])
    jb_str (j, "exe", p->t.exe);
  else
    jb_raw (j, "exe", "null");   /* exec'd and gone before it could be read */
  if (p->death)
    {
      char sig[16];
      snprintf (sig, sizeof sig, "SIG%s", sigabbrev_np (p->sig) ? sigabbrev_np (p->sig) : "?");
      jb_str (j, "signal", sig);
      jb_raw (j, "core", p->core ? "true" : "false");
    }
  else if (f->dropped_at && now_ms () - f->dropped_at < DEAD_KEEP_MS + KMSG_WAIT_MS)
    /* Its exit may have been among the events the connector dropped: do
     * not claim it lived on. */
    jb_raw (j, "survived", "null");
  else
    jb_raw (j, "survived", "true");
  if (p->d.have)
    {
      if (p->d.has_addr)
        {
          snprintf (hex, sizeof hex, "0x%llx", p->d.addr);
          jb_str (j, "addr", hex);
        }
      snprintf (hex, sizeof hex, "0x%llx", p->d.ip);
      jb_str (j, "ip", hex);
      if (p->d.has_error)
        jb_int (j, "error", (long long) p->d.error);
      if (page_fault (&p->d))
        fault_describe ((unsigned long) p->d.error, words, sizeof words);
      else
        snprintf (words, sizeof words, "%s", p->d.kind);
      jb_str (j, "fault", words);
      const char *code = p->d.bpf ? si_code_name (p->d.sig, p->d.code) : NULL;
      if (code)
        jb_str (j, "code", code);
      jb_str (j, "detail", p->d.bpf ? "bpf" : "kmsg");
    }
  else
    {
      const char *why = p->storm ? "not waited for (a storm: " STRINGIFY (PEND_MAX) " deaths were already waiting "
                                   "for the kernel's report)"
        : (p->sig == SIGSEGV || p->sig == SIGILL || p->sig == SIGFPE)
        ? "not available (the kernel log printed nothing for it: rate limit, or no access)"
        : "not available (the kernel reports no details for this signal)";
      jb_str (j, "detail", why);
    }
  fault_rec_end (f, j);
}

void
fault_pend_add (struct faults *f, const struct pending *p)
{
  if (f->npend == f->cappend)
    f->pend = xrealloc (f->pend, (f->cappend = f->cappend ? f->cappend * 2 : 16) * sizeof *f->pend);
  f->pend[f->npend++] = *p;
}

void
fault_pend_remove (struct faults *f, size_t i)
{
  memmove (&f->pend[i], &f->pend[i + 1], (f->npend - i - 1) * sizeof *f->pend);
  f->npend--;
}

/* Something was dropped: say so in the log rather than pretend, with how
 * many (COUNT >= 0) and what they are. */
void
fault_lost_record (struct faults *f, const char *what, long long count)
{
  struct jbuf *j = fault_rec_begin (f, NULL, "moat", "lost");
  jb_str (j, "what", what);
  if (count >= 0)
    jb_int (j, "lost", count);
  fault_rec_end (f, j);
}

/* A kernel report of a fault in thread TID: joins the death it explains,
 * or waits for it. */
void
fault_attach_detail (struct faults *f, pid_t tid, const struct detail *d)
{
  struct task *t = fault_task_find (f, tid);
  if (t == NULL)
    return;   /* not the container's */
  pid_t tgid = t->tgid;
  struct task *lt = fault_task_find (f, tgid);
  bool written = lt && lt->written;
  for (size_t i = 0; i < f->npend; i++)
    if (f->pend[i].death && f->pend[i].t.tgid == tgid && !f->pend[i].d.have)
      {
        f->pend[i].d = *d;
        fault_emit (f, &f->pend[i]);
        fault_pend_remove (f, i);
        return;
      }
  /* A thread that faults again lived through its last fault: that one is
   * written now (a handler that recovers in a loop keeps the queue short). */
  for (size_t i = 0; i < f->npend;)
    if (!f->pend[i].death && f->pend[i].fault_tid == tid)
      {
        fault_emit (f, &f->pend[i]);
        fault_pend_remove (f, i);
      }
    else
      i++;
  /* A report that comes after its process's death was written (a storm
   * wrote it without waiting): it is not a fault the process lived
   * through, and its death is in the log already. */
  if (written)
    return;
  /* Printed before the death (the usual order), or for a process that
   * survives it: wait to see which. */
  struct task *leader = fault_task_find (f, tgid);
  struct pending p = { .t = leader ? *leader : *t, .fault_tid = tid, .death = false, .d = *d,
                       .deadline = now_ms () + KMSG_WAIT_MS };
  audit_time (p.time, sizeof p.time);
  if (f->npend >= PEND_MAX)
    return;   /* a storm: the report goes; the death it explains is written all the same */
  fault_pend_add (f, &p);
}
