#include "config-host.h"
#include "selfexe.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int
selfexe_ensure_sealed (char **argv, moat_error **err)
{
  cleanup_close int self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return moat_error_set (err, errno, "open /proc/self/exe");
  int seals = fcntl (self, F_GET_SEALS);
  if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
    return 0;

  struct stat st;
  if (fstat (self, &st) < 0)
    return moat_error_set (err, errno, "stat /proc/self/exe");
  cleanup_close int mfd = memfd_create ("moat", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return moat_error_set (err, errno, "memfd_create");
  off_t off = 0;
  while (off < st.st_size)
    {
      ssize_t n = sendfile (mfd, self, &off, (size_t) (st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return moat_error_set (err, n < 0 ? errno : EIO, "copy moat binary to memfd");
    }
  /* F_SEAL_WRITE fails with EBUSY when a page of the memfd still holds an
   * extra reference (the kernel waits a little for such pins, then gives
   * up); no mapping of ours exists, so it is transient: seen once in 3,500
   * runs, under the sanitizer lane's load. Try again a moment later. */
  int tries = 0;
  while (fcntl (mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    {
      if (errno != EBUSY || ++tries > 200)
        return moat_error_set (err, errno, "seal memfd");
      usleep (1000);
    }
  /* MFD_CLOEXEC is fine for an ELF binary: the kernel maps it before the
   * close-on-exec takes effect. */
  fexecve (mfd, argv, environ);
  /* fexecve is execveat(AT_EMPTY_PATH); where that is missing (valgrind
   * does not emulate it) the same file by its /proc path, which valgrind
   * opens only after close-on-exec took effect: kept open for it. */
  (void) fcntl (mfd, F_SETFD, 0);
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", mfd);
  execve (path, argv, environ);
  return moat_error_set (err, errno, "re-execute moat from a sealed copy");
}
