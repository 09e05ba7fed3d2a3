#include "config-host.h"
#include "terminal.h"
#include "reap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

static int
open_beneath (int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = (unsigned long long) flags | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd;
  do
    fd = (int) syscall (SYS_openat2, rootfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

int
term_open_pty (int rootfd, const char *dev_ptmx, uint32_t rows, uint32_t cols, int *master, int *slave,
               moat_error **err)
{
  cleanup_close int m = open_beneath (rootfd, dev_ptmx, O_RDWR | O_NOCTTY);
  if (m < 0)
    return moat_error_set (err, errno, "terminal: open `%s` in the container", dev_ptmx);
  /* /dev/ptmx is character device 5:2, in devtmpfs or in a devpts instance:
   * anything else planted at that path is refused. */
  struct stat st;
  if (fstat (m, &st) < 0 || !S_ISCHR (st.st_mode) || major (st.st_rdev) != 5 || minor (st.st_rdev) != 2)
    return moat_error_set (err, 0, "terminal: `%s` in the container is not the pty multiplexer", dev_ptmx);
  int unlock = 0;
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    return moat_error_set (err, errno, "terminal: unlock the pty");
  /* The peer through the master itself: no path to look up, so nothing in
   * the container can stand in for it. */
  int s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return moat_error_set (err, errno, "terminal: open the pty's peer");
  if (rows || cols)
    {
      struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
      if (ioctl (m, TIOCSWINSZ, &ws) < 0)
        {
          int e = errno;
          close (s);
          return moat_error_set (err, e, "terminal: process.consoleSize");
        }
    }
  *master = steal_fd (&m);
  *slave = s;
  return 0;
}

int
term_bind_console (int rootfd, int slave, moat_error **err)
{
  cleanup_close int dev = open_beneath (rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    return moat_error_set (err, errno, "terminal: /dev in the container");
  /* An existing /dev/console may be a file or a device node, never a
   * symlink: O_NOFOLLOW refuses one. A missing one becomes an empty file. */
  int t = openat (dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0 && errno == ENOENT)
    {
      int c = openat (dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (c >= 0)
        close (c);
      t = openat (dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
  if (t < 0)
    return moat_error_set (err, errno, "terminal: /dev/console in the container");
  cleanup_close int target = t;
  struct stat st;
  if (fstat (target, &st) < 0 || S_ISLNK (st.st_mode) || S_ISDIR (st.st_mode))
    return moat_error_set (err, 0, "terminal: /dev/console in the container is not a file");
  char src[64], dst[64];
  snprintf (src, sizeof src, "/proc/self/fd/%d", slave);
  snprintf (dst, sizeof dst, "/proc/self/fd/%d", target);
  if (mount (src, dst, NULL, MS_BIND, NULL) < 0)
    return moat_error_set (err, errno, "terminal: bind the pty on /dev/console");
  return 0;
}

int
term_make_controlling (int slave, moat_error **err)
{
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return moat_error_set (err, errno, "terminal: make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return moat_error_set (err, errno, "terminal: dup2");
  if (slave > 2)
    close (slave);
  return 0;
}

int
term_send_console (const char *path, int master, moat_error **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, 0, "--console-socket `%s`: path too long", shown);
    }
  strcpy (sa.sun_path, path);
  cleanup_close int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return moat_error_set (err, errno, "socket");
  if (connect (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "--console-socket `%s`", shown);
    }
  /* runc names the fd with the pty's path; conmon and containerd read the
   * fd and ignore the name. */
  static const char name[] = "/dev/ptmx";
  if (send_with_fd (s, name, sizeof name - 1, master) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "--console-socket `%s`: send the pty", shown);
    }
  return 0;
}

/* ---- foreground relay --------------------------------------------------- */

static struct termios saved_tio;
static bool raw_set;

static void
restore_tty (void)
{
  if (raw_set)
    tcsetattr (0, TCSANOW, &saved_tio);
  raw_set = false;
}

static void
copy_winsize (int master)
{
  /* A terminal that does not know its size (0x0) does not override
   * process.consoleSize. */
  struct winsize ws;
  if (ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    (void) ioctl (master, TIOCSWINSZ, &ws);
}

/* Copy what is there from IN to OUT. Returns bytes read, 0 at EOF/EIO. */
static ssize_t
pump (int in, int out)
{
  char buf[8192];
  ssize_t n;
  do
    n = read (in, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n < 0 && errno == EAGAIN ? -1 : 0;   /* EIO: the last slave closed */
  (void) write_all (out, buf, (size_t) n);
  return n;
}

int
term_relay_and_wait (int master, pid_t pid, int *exit_status, moat_error **err)
{
  if (isatty (0) && tcgetattr (0, &saved_tio) == 0)
    {
      struct termios raw = saved_tio;
      cfmakeraw (&raw);
      if (tcsetattr (0, TCSANOW, &raw) == 0)
        {
          raw_set = true;
          atexit (restore_tty);
        }
      copy_winsize (master);
    }
  sigset_t set;
  forwarded_signals (&set);
  sigprocmask (SIG_BLOCK, &set, NULL);
  cleanup_close int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    {
      restore_tty ();
      return moat_error_set (err, errno, "signalfd");
    }
  bool in_open = true, out_open = true, exited = false;
  int status = 0;
  while (!exited || out_open)
    {
      struct pollfd p[3] = { { sfd, POLLIN, 0 }, { master, out_open ? POLLIN : 0, 0 },
                             { 0, in_open ? POLLIN : 0, 0 } };
      /* After the exit, only drain what the pty still holds. */
      int r = poll (p, in_open && !exited ? 3 : 2, exited ? 100 : -1);
      if (r < 0 && errno != EINTR)
        break;
      if (r == 0 && exited)
        break;
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        if (pump (master, 1) == 0)
          out_open = false;
      if (in_open && !exited && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
        if (pump (0, master) == 0)
          in_open = false;   /* EOF on stdin: the process keeps its terminal */
      if (p[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == sizeof si)
            {
              if (si.ssi_signo == SIGWINCH)
                copy_winsize (master);
              else if (si.ssi_signo != SIGCHLD)
                kill (pid, (int) si.ssi_signo);
            }
        }
      if (!exited)
        {
          int st;
          int w = reap_workload (pid, &st);
          if (w > 0)
            {
              exited = true;
              status = wait_exit_status (st);
            }
          else if (w < 0)
            {
              restore_tty ();
              return moat_error_set (err, errno, "waitpid");
            }
        }
    }
  restore_tty ();
  *exit_status = status;
  return 0;
}
