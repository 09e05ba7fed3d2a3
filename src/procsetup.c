#include "config-host.h"
#include "procsetup.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The home directory of UID in the container's /etc/passwd (we are in its
 * root already), into BUF; false if there is none. The file belongs to the
 * image: opened without blocking (a FIFO planted there must not hang the
 * init), read only if it is a regular file, and only so much of it. */
static bool
passwd_home (uid_t uid, char *buf, size_t n)
{
  int fd = open ("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return false;
    }
  cleanup_file FILE *f = fdopen (fd, "re");
  if (f == NULL)
    {
      close (fd);
      return false;
    }
  char line[4096];
  for (int lines = 0; lines < 100000 && fgets (line, sizeof line, f); lines++)
    {
      /* name:password:uid:gid:gecos:home:shell */
      line[strcspn (line, "\n")] = '\0';
      char *field[7] = { 0 };
      char *p = line;
      size_t k = 0;
      for (; k < 7 && p; k++)
        {
          field[k] = p;
          p = strchr (p, ':');
          if (p)
            *p++ = '\0';
        }
      if (k < 6 || *field[2] == '\0')
        continue;
      char *end;
      errno = 0;
      unsigned long v = strtoul (field[2], &end, 10);
      if (errno || *end || field[2][0] == '-' || v != (unsigned long) uid)
        continue;
      snprintf (buf, n, "%s", field[5]);
      return true;
    }
  return false;
}

char **
proc_env_with_home (char *const *env, uid_t uid)
{
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], "HOME=", 5) == 0 && env[i][5] != '\0')
      return NULL;
  char home[4096];
  if (!passwd_home (uid, home, sizeof home) || home[0] == '\0')
    strcpy (home, "/");
  /* An empty HOME= is replaced, as runc does (it tests for ""). */
  size_t n = strv_len (env);
  char **out = xmalloc0 ((n + 2) * sizeof *out);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp (env[i], "HOME=") != 0)
      out[k++] = xstrdup (env[i]);
  out[k++] = xasprintf ("HOME=%s", home);
  out[k] = NULL;
  return out;
}

void
proc_fix_stdio_owner (uid_t uid, bool own_pty)
{
  for (int fd = 0; fd < 3; fd++)
    {
      struct stat st;
      if (fstat (fd, &st) < 0 || st.st_uid == uid)
        continue;
      /* The caller's pipes and sockets (conmon's, a shim's), and our own
       * pty. Never another character device: the caller's terminal (a
       * `moat run` from a shell) must not be handed to a container's uid,
       * which may be someone else's on the host; /dev/null neither. */
      bool fifo_or_sock = S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode);
      if (!fifo_or_sock && !(own_pty && S_ISCHR (st.st_mode) && major (st.st_rdev) != 1))
        continue;
      /* The group stays (a devpts mount may want its own, tty). A failure
       * (EINVAL: the owner is not mapped in our user namespace; EPERM;
       * EROFS) leaves the stdio as it is rather than failing the start,
       * as runc does. */
      (void) fchown (fd, uid, (gid_t) -1);
    }
}

void
proc_reset_signals (void)
{
  /* The kernel's sigaction, so that glibc's reserved signals (32, 33) are
   * reset too; SIG_DFL needs no restorer. */
  struct
  {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
  } dfl = { SIG_DFL, 0, NULL, 0 };
  for (int sig = 1; sig < _NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      (void) syscall (SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

bool *
proc_preserve_reserve (int n, int own_fd)
{
  if (n <= 0)
    return NULL;
  bool *closed = xmalloc0 ((size_t) n * sizeof *closed);
  for (int fd = 3; fd < 3 + n; fd++)
    {
      if (fd != own_fd && fcntl (fd, F_GETFD) >= 0)
        continue;
      closed[fd - 3] = true;
      if (fd == own_fd)
        continue;   /* moat's own (its --log), close-on-exec already */
      /* The slot must not be taken by an fd moat opens later (the state
       * directory, a socket), which would then be handed to the container:
       * /dev/null holds it, close-on-exec, until the execve. */
      int nul = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (nul >= 0 && nul != fd)
        {
          (void) dup3 (nul, fd, O_CLOEXEC);
          close (nul);
        }
    }
  return closed;
}
