/* moat — the fault tracker's table of the container's tasks (thread and
 * process ids, comm, exe, nspid), read from /proc while they live and kept
 * a while after they die: every source looks a pid up here to know whether
 * it is the container's, so it stands below them all. */
#include "config-host.h"
#include "faults-int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the task table: open addressing on tid ----------------------------- */

struct task *
fault_task_find (struct faults *f, pid_t tid)
{
  size_t mask = f->cap - 1;
  for (size_t i = (size_t) tid & mask;; i = (i + 1) & mask)
    {
      if (!f->tasks[i].used)
        return NULL;
      if (f->tasks[i].tid == tid)
        return &f->tasks[i];
    }
}

static void task_insert_raw (struct faults *f, const struct task *t);

/* Grow (or just sweep out tasks dead for a while) and re-place everything. */
static void
task_rehash (struct faults *f, size_t newcap)
{
  struct task *old = f->tasks;
  size_t oldcap = f->cap, dead = 0;
  for (size_t i = 0; i < oldcap; i++)
    dead += old[i].used && old[i].dead;
  /* Past DEAD_MAX (a storm of forks and deaths), the dead go now: their
   * late kernel reports would only have added detail. */
  bool sweep_all = dead > DEAD_MAX;
  unsigned long long now = now_ms ();
  f->tasks = xmap0 (newcap * sizeof *f->tasks);
  f->cap = newcap;
  f->used = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].used && !(old[i].dead && (sweep_all || now - old[i].dead_at > DEAD_KEEP_MS)))
      task_insert_raw (f, &old[i]);
  xunmap0 (old, oldcap * sizeof *old);
}

static void
task_insert_raw (struct faults *f, const struct task *t)
{
  size_t mask = f->cap - 1;
  for (size_t i = (size_t) t->tid & mask;; i = (i + 1) & mask)
    if (!f->tasks[i].used || f->tasks[i].tid == t->tid)
      {
        f->used += !f->tasks[i].used;
        f->tasks[i] = *t;
        f->tasks[i].used = true;
        return;
      }
}

struct task *
fault_task_insert (struct faults *f, const struct task *t)
{
  if ((f->used + 1) * 2 > f->cap)
    {
      task_rehash (f, f->cap);          /* drop the long dead first */
      /* Then a quarter full: larger for a growing container, smaller after
       * a storm (its memory goes back). */
      size_t want = 1024;
      while (want < (f->used + 1) * 4)
        want *= 2;
      if (want != f->cap)
        task_rehash (f, want);
    }
  task_insert_raw (f, t);
  return fault_task_find (f, t->tid);
}

void
fault_read_small (const char *path, char *buf, size_t n)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, n - 1) : -1;
  if (fd >= 0)
    close (fd);
  buf[r > 0 ? r : 0] = '\0';
  char *nl = strchr (buf, '\n');
  if (nl)
    *nl = '\0';
}

/* The last number of a "Key:\tN\tN..." line of /proc/PID/status: the id
 * in the innermost pid namespace. -1 if absent. */
long
status_last_field (const char *status, const char *key)
{
  const char *p = strstr (status, key);
  if (p == NULL)
    return -1;
  const char *last = p + strlen (key);
  const char *end = strchr (last, '\n');
  for (const char *q = last; q && (!end || q < end); q = strchr (q + 1, '\t'))
    last = q;
  return strtol (last, NULL, 10);
}

/* Read what a record needs while the task still exists. A task already
 * gone keeps what it had: for a fresh fork the parent's comm and exe (right
 * for a fork without exec) and nspid -1 (set by the caller); after an exec
 * its nspid, which an exec does not change. */
void
fault_task_refresh (struct task *t)
{
  char path[64], buf[4096], comm[sizeof t->comm];
  snprintf (path, sizeof path, "/proc/%d/status", (int) t->tgid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (r <= 0)
    return;
  buf[r] = '\0';
  /* NStgid: the process's id in its namespace (NSpid would be a thread's). */
  t->nspid = (pid_t) status_last_field (buf, "\nNStgid:");
  snprintf (path, sizeof path, "/proc/%d/comm", (int) t->tgid);
  fault_read_small (path, comm, sizeof comm);
  if (*comm)
    memcpy (t->comm, comm, sizeof comm);
  char exe[sizeof t->exe];
  snprintf (path, sizeof path, "/proc/%d/exe", (int) t->tgid);
  ssize_t n = readlink (path, exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      memcpy (t->exe, exe, sizeof exe);
    }
}
