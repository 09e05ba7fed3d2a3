/* moat — the fault tracker's kernel-log source: /dev/kmsg's fault reports
 * (the detail of a death), the OOM killer's lines naming the container's
 * processes, and AppArmor's denials (handed to lsmaudit.c). */
#include "config-host.h"
#include "faults-int.h"
#include "lsmaudit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- /dev/kmsg ------------------------------------------------------------ */

/* For lsmaudit.c: is host pid PID one of the container's tasks? */
static bool
owns_task (void *ctx, pid_t pid, pid_t *nspid)
{
  struct task *t = fault_task_find (ctx, pid);
  *nspid = t ? t->nspid : 0;
  return t != NULL;
}

/* "Memory cgroup out of memory: Killed process PID (COMM) total-vm:..."
 * (or "Out of memory: ...": a host-wide OOM kill, which the victim's
 * memory.events counts too). The kernel prints it, unrate-limited, as it
 * sends the SIGKILL: before the victim's exit, so before its cgroup can
 * empty. The victim is looked up among the container's tasks, the dead
 * ones included (their exit may have been read first). */
static bool
oom_victim (struct faults *f, const char *msg)
{
  const char *k = strstr (msg, ": Killed process ");
  if (k == NULL || (strncmp (msg, "Memory cgroup out of memory", 27) != 0 && strncmp (msg, "Out of memory", 13) != 0))
    return false;
  char *end;
  long pid = strtol (k + 17, &end, 10);
  if (end == k + 17 || pid <= 0)
    return false;
  struct task *t = fault_task_find (f, (pid_t) pid);
  if (t == NULL)
    return true;   /* not the container's */
  if (f->kmsg_ooms < sizeof f->oom_victims / sizeof f->oom_victims[0])
    f->oom_victims[f->kmsg_ooms] = *t;
  f->kmsg_ooms++;
  return true;
}

/* "NAME[TID]: segfault at 0 ip 0000000000401136 sp 00007ffd... error 4 in ..."
 * "traps: NAME[TID] general protection fault ip:401136 sp:7ffd... error:0 in ..."
 * "traps: NAME[TID] trap invalid opcode ip:... sp:... error:0 in ..." */
static bool
parse_report (const char *msg, pid_t *tid, struct detail *d)
{
  memset (d, 0, sizeof *d);
  const char *kinds[][2] = {
    { "]: segfault at ", "segfault" },
    { "] general protection fault ", "general protection fault" },
    { "] general protection ", "general protection fault" },
    { "] trap invalid opcode ", "invalid opcode" },
    { "] trap divide error ", "divide error" },
  };
  const char *hit = NULL;
  size_t k;
  for (k = 0; k < ARRAY_SIZE (kinds) && !hit; k++)
    hit = strstr (msg, kinds[k][0]);
  if (!hit)
    return false;
  k--;
  /* The tid sits between the '[' and the ']' just before the match (the
   * command name itself may hold brackets). */
  const char *open = hit;
  while (open > msg && *open != '[')
    open--;
  if (*open != '[')
    return false;
  *tid = (pid_t) strtol (open + 1, NULL, 10);
  /* NAME is what precedes the '[' ("traps: NAME[TID]" or "NAME[TID]:"). */
  const char *name = msg;
  if (strncmp (name, "traps: ", 7) == 0)
    name += 7;
  size_t nl = (size_t) (open - name);
  if (open > name && nl < sizeof d->comm)
    {
      memcpy (d->comm, name, nl);
      d->comm[nl] = '\0';
    }
  snprintf (d->kind, sizeof d->kind, "%s", kinds[k][1]);
  const char *p = hit + strlen (kinds[k][0]);
  if (k == 0)
    {
      d->addr = strtoull (p, NULL, 16);
      d->has_addr = true;
      const char *ip = strstr (p, " ip ");
      const char *sp = strstr (p, " sp ");
      const char *er = strstr (p, " error ");
      if (ip)
        d->ip = strtoull (ip + 4, NULL, 16);
      if (sp)
        d->sp = strtoull (sp + 4, NULL, 16);
      if (er)
        {
          d->error = strtoull (er + 7, NULL, 16);
          d->has_error = true;
        }
    }
  else
    {
      const char *ip = strstr (p, "ip:");
      const char *sp = strstr (p, "sp:");
      const char *er = strstr (p, "error:");
      if (ip)
        d->ip = strtoull (ip + 3, NULL, 16);
      if (sp)
        d->sp = strtoull (sp + 3, NULL, 16);
      if (er)
        {
          d->error = strtoull (er + 6, NULL, 16);
          d->has_error = true;
        }
    }
  d->have = true;
  return true;
}

void
faults_on_kmsg (struct faults *f)
{
  char buf[8192];
  for (;;)
    {
      ssize_t n = read (f->kmsg, buf, sizeof buf - 1);
      if (n < 0)
        {
          if (errno == EPIPE)
            continue;   /* older records were overwritten: read on */
          return;
        }
      if (n == 0)
        return;
      buf[n] = '\0';
      char *msg = strchr (buf, ';');
      if (msg == NULL)
        continue;
      msg++;
      /* "PRIO,SEQ,TS,FLAGS;": only the kernel's own lines (facility 0,
       * PRIO < 8). Anyone who can open /dev/kmsg for writing (a container
       * given the device) can add lines, but never as facility 0: a forged
       * "segfault at" or "Killed process" line must not become a record's
       * detail or an OOM count. */
      char *end;
      unsigned long prio = strtoul (buf, &end, 10);
      if (end == buf || *end != ',' || (prio >> 3) != 0)
        continue;
      char *nl = strchr (msg, '\n');
      if (nl)
        *nl = '\0';
      if (oom_victim (f, msg))
        continue;
      /* An AppArmor denial: the LSM wall's record (lsmaudit.c). */
      struct lsm_sink ls = { f->id, owns_task, f->out, f, f->out_ctx };
      int l = lsm_audit_kmsg (msg, &ls);
      f->unwritten += l < 0;
      if (l != 0)
        continue;
      pid_t tid;
      struct detail d;
      if (parse_report (msg, &tid, &d))
        fault_attach_detail (f, tid, &d);
    }
}

unsigned long
faults_kmsg_ooms (struct faults *f, unsigned long i, pid_t *pid, pid_t *nspid, char *comm, size_t n)
{
  /* what the log holds now: the lines are there by the victims' exits */
  if (f->kmsg >= 0)
    faults_on_kmsg (f);
  *pid = 0;
  *nspid = -1;
  *comm = '\0';
  if (i < f->kmsg_ooms && i < sizeof f->oom_victims / sizeof f->oom_victims[0])
    {
      *pid = f->oom_victims[i].tgid;
      *nspid = f->oom_victims[i].nspid;
      snprintf (comm, n, "%s", f->oom_victims[i].comm);
    }
  return f->kmsg < 0 ? (unsigned long) -1 : f->kmsg_ooms;
}
