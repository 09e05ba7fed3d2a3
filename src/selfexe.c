#include "config-host.h"
#include "selfexe.h"
#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
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
  /* Only what the kernel loads: the copy lives as long as the container's
   * supervisor (which runs from it), and the debug information and symbol
   * tables at the end of the file are a third of a static moat (3.0 MB
   * file, 2.0 MB loaded). The copy's header then names no section table. */
  Elf64_Ehdr eh;
  off_t end = st.st_size;
  bool trimmed = false;
  if (pread (self, &eh, sizeof eh, 0) == (ssize_t) sizeof eh && memcmp (eh.e_ident, ELFMAG, SELFMAG) == 0
      && eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof (Elf64_Phdr) && eh.e_phnum > 0
      && eh.e_phnum < 64)
    {
      Elf64_Phdr ph[64];
      size_t len = eh.e_phnum * sizeof (Elf64_Phdr);
      if (pread (self, ph, len, (off_t) eh.e_phoff) == (ssize_t) len)
        {
          off_t last = (off_t) (eh.e_phoff + len);
          for (int i = 0; i < eh.e_phnum; i++)
            if (ph[i].p_type != PT_GNU_STACK && (off_t) (ph[i].p_offset + ph[i].p_filesz) > last)
              last = (off_t) (ph[i].p_offset + ph[i].p_filesz);
          if (last < end)
            {
              end = last;
              trimmed = true;
            }
        }
    }
  off_t off = 0;
  while (off < end)
    {
      ssize_t n = sendfile (mfd, self, &off, (size_t) (end - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return moat_error_set (err, n < 0 ? errno : EIO, "copy moat binary to memfd");
    }
  if (trimmed)
    {
      eh.e_shoff = 0;
      eh.e_shnum = 0;
      eh.e_shstrndx = 0;   /* SHN_UNDEF */
      if (pwrite (mfd, &eh, sizeof eh, 0) != (ssize_t) sizeof eh)
        return moat_error_set (err, errno, "copy moat binary to memfd");
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
