/* moat — reaping the workload and the signals forwarded to it: see reap.h. */
#include "config-host.h"
#include "reap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int
wait_exit_status (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return 255;
}

/* Forward the signals a person or an engine sends to `moat run` to the
 * workload, and wait for it. */
void
forwarded_signals (sigset_t *set)
{
  static const int fwd[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
  sigemptyset (set);
  sigaddset (set, SIGCHLD);
  for (size_t i = 0; i < ARRAY_SIZE (fwd); i++)
    sigaddset (set, fwd[i]);
}

int
reap_workload (pid_t pid, int *status)
{
  for (;;)
    {
      int st;
      pid_t r = waitpid (-1, &st, WNOHANG | __WALL);
      if (r == 0)
        return 0;
      if (r < 0)
        return errno == EINTR ? 0 : -1;
      if (WIFSTOPPED (st))
        {
          /* A ptrace stop (we never ask for group stops). SIGTRAP is the
           * tracer's own notice (the exec after PTRACE_TRACEME), not a
           * signal sent to the process. */
          int sig = WSTOPSIG (st);
          (void) ptrace (PTRACE_DETACH, r, NULL, (void *) (long) (sig == SIGTRAP ? 0 : sig));
          continue;
        }
      if (r == pid)
        {
          *status = st;
          return 1;
        }
    }
}
