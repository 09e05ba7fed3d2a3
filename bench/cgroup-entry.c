/* cgroup-entry: what it costs a new process to get into a cgroup, the
 * three ways a runtime can do it. Prints milliseconds per way, over N
 * rounds spaced apart (a writer that comes within a grace period of the
 * last one does not wait, so back-to-back rounds would hide the cost):
 *   procs   the parent writes the child's pid to cgroup.procs (runc, crun,
 *           moat before session 4): takes cgroup_threadgroup_rwsem for
 *           writing, which waits for an RCU grace period;
 *   clone3  clone3(CLONE_INTO_CGROUP) into a v2 cgroup: born there;
 *   tasks   the child, single-threaded, writes "0" to a v1 "tasks" file
 *           (opened by the parent): the kernel skips the global lock.
 * It makes its own cgroups (V2ROOT/moat-bench-PID, V1ROOT/moat-bench-PID)
 * and removes them. Usage, as root:
 *   cgroup-entry [ROUNDS [V2ROOT [V1ROOT]]]
 *   defaults: 10, the host's cgroup2 mount (/sys/fs/cgroup/unified on a
 *   hybrid host, else /sys/fs/cgroup), /sys/fs/cgroup/pids (v1, if there).
 * Build: cc -O2 -o cgroup-entry cgroup-entry.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone_args_v2
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
report (const char *what, double *v, int n)
{
  qsort (v, n, sizeof *v, cmp);
  printf ("%-8s median %7.3f ms  min %7.3f  max %7.3f  (n=%d)\n", what, v[n / 2], v[0], v[n - 1], n);
}

int
main (int argc, char **argv)
{
  int rounds = argc > 1 ? atoi (argv[1]) : 10;
  struct stat st;
  const char *v2 = argc > 2 ? argv[2]
                   : stat ("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0 ? "/sys/fs/cgroup/unified"
                                                                             : "/sys/fs/cgroup";
  const char *v1 = argc > 3 ? argv[3] : "/sys/fs/cgroup/pids";
  if (rounds < 1 || rounds > 1000)
    rounds = 10;
  char d2[512], d1[512], path[600];
  snprintf (d2, sizeof d2, "%s/moat-bench-%d", v2, (int) getpid ());
  snprintf (d1, sizeof d1, "%s/moat-bench-%d", v1, (int) getpid ());
  if (mkdir (d2, 0755) < 0)
    {
      fprintf (stderr, "cgroup-entry: mkdir %s: %s\n", d2, strerror (errno));
      return 1;
    }
  snprintf (path, sizeof path, "%s/tasks", v1);
  int have_v1 = stat (path, &st) == 0 && mkdir (d1, 0755) == 0;
  double *procs = calloc (rounds, sizeof (double)), *clone3 = calloc (rounds, sizeof (double)),
         *tasks = calloc (rounds, sizeof (double));
  int rc = 0;
  for (int r = 0; r < rounds && rc == 0; r++)
    {
      /* procs: a plain fork, moved by its parent */
      pid_t p = fork ();
      if (p == 0)
        {
          pause ();
          _exit (0);
        }
      snprintf (path, sizeof path, "%s/cgroup.procs", d2);
      int fd = open (path, O_WRONLY | O_CLOEXEC);
      char buf[32];
      int len = snprintf (buf, sizeof buf, "%d", (int) p);
      double t0 = now_ms ();
      if (fd < 0 || write (fd, buf, len) != len)
        rc = 1;
      procs[r] = now_ms () - t0;
      if (fd >= 0)
        close (fd);
      kill (p, SIGKILL);
      waitpid (p, NULL, 0);
      usleep (200 * 1000);

      /* clone3 into the v2 cgroup; the child moves itself into v1 */
      int cg = open (d2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      snprintf (path, sizeof path, "%s/tasks", d1);
      int tf = have_v1 ? open (path, O_WRONLY | O_CLOEXEC) : -1;
      int pipefd[2];
      if (cg < 0 || pipe (pipefd) < 0)
        {
          rc = 1;
          break;
        }
      struct clone_args_v2 ca = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t) cg };
      t0 = now_ms ();
      p = (pid_t) syscall (SYS_clone3, &ca, sizeof ca);
      if (p == 0)
        {
          double c0 = now_ms ();
          int ok = tf < 0 || write (tf, "0", 1) == 1;
          double took = now_ms () - c0;
          if (write (pipefd[1], &took, sizeof took) != sizeof took || !ok)
            _exit (1);
          _exit (0);
        }
      clone3[r] = now_ms () - t0;
      close (pipefd[1]);
      double took = -1;
      if (p < 0 || read (pipefd[0], &took, sizeof took) != sizeof took)
        rc = 1;
      tasks[r] = took;
      int status = 0;
      if (p > 0 && (waitpid (p, &status, 0) < 0 || status != 0))
        rc = 1;
      close (pipefd[0]);
      close (cg);
      if (tf >= 0)
        close (tf);
      usleep (200 * 1000);
    }
  if (rc == 0)
    {
      printf ("cgroup-entry: %d rounds, v2 %s, v1 %s\n", rounds, v2, have_v1 ? v1 : "(none)");
      report ("procs", procs, rounds);
      report ("clone3", clone3, rounds);
      if (have_v1)
        report ("tasks", tasks, rounds);
    }
  else
    fprintf (stderr, "cgroup-entry: a way in failed: %s\n", strerror (errno));
  rmdir (d2);
  if (have_v1)
    rmdir (d1);
  return rc;
}
