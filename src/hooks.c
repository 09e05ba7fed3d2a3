#include "config-host.h"
#include "hooks.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

const char *
hook_stage_name (enum moat_hook_stage s)
{
  static const char *const names[] = { "prestart", "createRuntime", "createContainer",
                                       "startContainer", "poststart", "poststop" };
  return (unsigned) s < ARRAY_SIZE (names) ? names[s] : "unknown";
}

static int
run_one (const struct moat_hook *h, const char *stage, size_t idx, const char *state_json,
         const char *cwd, moat_error **err)
{
  int pipefd[2];
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return moat_error_set (err, errno, "%s hook: pipe", stage);
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      return moat_error_set (err, errno, "%s hook: fork", stage);
    }
  if (pid == 0)
    {
      /* The hook: state on stdin, everything else inherited (CLOEXEC keeps
       * moat's own fds out), the environment too when the hook has no env
       * of its own (as runc and crun run them: hooks such as
       * nvidia-container-runtime-hook find their tools through PATH). */
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);   /* `moat run` blocks signals it forwards */
      signal (SIGPIPE, SIG_DFL);
      if (dup2 (pipefd[0], 0) < 0)
        _exit (127);
      if (cwd && chdir (cwd) < 0)
        _exit (127);
      char *fallback[] = { h->path, NULL };
      execve (h->path, h->args ? h->args : fallback, h->env ? h->env : environ);
      dprintf (2, "moat: %s hook `%s`: %s\n", stage, h->path, strerror (errno));
      _exit (127);
    }
  close (pipefd[0]);
  /* A hook that does not read its stdin must not make us fail: ignore EPIPE. */
  void (*old) (int) = signal (SIGPIPE, SIG_IGN);
  (void) write_all (pipefd[1], state_json, strlen (state_json));
  close (pipefd[1]);
  signal (SIGPIPE, old);

  int status = 0;
  if (h->timeout > 0)
    {
      int pfd = (int) syscall (SYS_pidfd_open, pid, 0);
      struct pollfd p = { .fd = pfd, .events = POLLIN };
      int r;
      do
        r = poll (&p, 1, h->timeout * 1000);
      while (r < 0 && errno == EINTR);
      if (pfd >= 0)
        close (pfd);
      if (r == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          cleanup_free char *shown = str_printable (h->path);
          return moat_error_set (err, 0, "%s hook [%zu] `%s`: timed out after %d s", stage, idx,
                                 shown, h->timeout);
        }
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error_set (err, errno, "%s hook: waitpid", stage);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFSIGNALED (status))
    {
      cleanup_free char *shown = str_printable (h->path);
      return moat_error_set (err, 0, "%s hook [%zu] `%s`: killed by signal %d", stage, idx, shown,
                             WTERMSIG (status));
    }
  cleanup_free char *shown = str_printable (h->path);
  return moat_error_set (err, 0, "%s hook [%zu] `%s`: exit status %d", stage, idx, shown,
                         WEXITSTATUS (status));
}

int
hooks_run (const struct moat_config *cfg, enum moat_hook_stage stage, const char *state_json,
           const char *cwd, moat_error **err)
{
  for (size_t i = 0; i < cfg->n_hooks[stage]; i++)
    if (run_one (&cfg->hooks[stage][i], hook_stage_name (stage), i, state_json, cwd, err) < 0)
      return -1;
  return 0;
}

void
hooks_run_all (const struct moat_config *cfg, enum moat_hook_stage stage, const char *state_json,
               const char *cwd)
{
  for (size_t i = 0; i < cfg->n_hooks[stage]; i++)
    {
      moat_error *e = NULL;
      if (run_one (&cfg->hooks[stage][i], hook_stage_name (stage), i, state_json, cwd, &e) < 0)
        {
          cleanup_free char *s = moat_error_string (e);
          log_warning ("%s", s);
          moat_error_free (&e);
        }
    }
}
