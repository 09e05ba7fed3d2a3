/* moat — --pidfd-socket: see pidfdsock.h. */
#include "config-host.h"
#include "pidfdsock.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int
pidfdsock_connect (const char *path, int *fd, moat_error **err)
{
  cleanup_free char *shown = str_printable (path);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (*path == '\0' || strlen (path) >= sizeof sa.sun_path)
    return moat_error_set (err, 0, "--pidfd-socket `%s`: %s", shown, *path ? "path too long" : "empty path");
  /* Said plainly: connect(2) on a file that is not a socket says
   * "Connection refused", as for a socket nobody listens on. */
  struct stat st;
  if (stat (path, &st) < 0)
    return moat_error_set (err, errno, "--pidfd-socket `%s`", shown);
  if (!S_ISSOCK (st.st_mode))
    return moat_error_set (err, 0, "--pidfd-socket `%s`: not a socket", shown);
  strcpy (sa.sun_path, path);
  cleanup_close int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return moat_error_set (err, errno, "socket");
  if (connect (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    return moat_error_set (err, errno, "--pidfd-socket `%s`: connect", shown);
  *fd = steal_fd (&s);
  return 0;
}

int
pidfdsock_send (int sock, const char *path, pid_t pid, const char *kind, moat_error **err)
{
  cleanup_free char *shown = str_printable (path);
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return moat_error_set (err, errno, "--pidfd-socket `%s`: pidfd_open %d", shown, (int) pid);
  if (send_with_fd (sock, kind, strlen (kind), pidfd) < 0)
    return moat_error_set (err, errno, "--pidfd-socket `%s`: send the pidfd", shown);
  return 0;
}
