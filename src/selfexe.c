#include "config-host.h"
#include "selfexe.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* The sealed copy runs with glibc's per-thread malloc cache (tcache) off.
 * The supervisor is a fork of create and keeps the heap pages it inherits
 * for the container's life; the cache holds the last 7 freed chunks of each
 * size class as still in use, so create's last frees, scattered over its
 * heap, pin their pages and malloc_trim cannot return them (measured: 17 of
 * a supervisor's 29 heap pages held only such chunks, 80 of its 400 kB
 * PSS). Without the cache malloc uses its fastbins, which malloc_trim
 * empties; a `moat run`'s time did not change (13.55 / 13.60 ms median). Set
 * for the re-execution only when the caller has no GLIBC_TUNABLES of its
 * own (theirs is left as it is), and taken out of the environment again by
 * the sealed process (glibc reads it at start), so hooks and helpers run
 * as before. */
#define SEALED_TUNABLES "GLIBC_TUNABLES=glibc.malloc.tcache_count=0"

/* The re-execution's environment: environ, plus SEALED_TUNABLES where the
 * caller has no GLIBC_TUNABLES. Not freed: an exec follows. */
static char **
sealed_env (void)
{
  size_t n = 0;
  for (; environ && environ[n]; n++)
    if (strncmp (environ[n], "GLIBC_TUNABLES=", 15) == 0)
      return environ;
  char **env = xmalloc0 ((n + 2) * sizeof *env);
  if (n)
    memcpy (env, environ, n * sizeof *env);
  env[n] = (char *) SEALED_TUNABLES;
  return env;
}

/* The ELF header and program headers of FD (a 64-bit ELF with fewer than
 * 64 of them, as moat is); false if it is not such a file. */
static bool
read_headers (int fd, Elf64_Ehdr *eh, Elf64_Phdr ph[64])
{
  if (pread (fd, eh, sizeof *eh, 0) != (ssize_t) sizeof *eh || memcmp (eh->e_ident, ELFMAG, SELFMAG) != 0
      || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof (Elf64_Phdr) || eh->e_phnum == 0
      || eh->e_phnum >= 64)
    return false;
  size_t len = eh->e_phnum * sizeof (Elf64_Phdr);
  return pread (fd, ph, len, (off_t) eh->e_phoff) == (ssize_t) len;
}

/* The GNU build id of the ELF file FD (the linker's hash of the program),
 * into ID; its length, 0 if none. */
static size_t
build_id (int fd, unsigned char id[64])
{
  Elf64_Ehdr eh;
  Elf64_Phdr ph[64];
  if (!read_headers (fd, &eh, ph))
    return 0;
  for (int i = 0; i < eh.e_phnum; i++)
    {
      if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > 4096)
        continue;
      unsigned char buf[4096];
      if (pread (fd, buf, ph[i].p_filesz, (off_t) ph[i].p_offset) != (ssize_t) ph[i].p_filesz)
        continue;
      for (size_t o = 0; o + sizeof (Elf64_Nhdr) <= ph[i].p_filesz;)
        {
          Elf64_Nhdr nh;
          memcpy (&nh, buf + o, sizeof nh);
          size_t name = o + sizeof nh, desc = name + ((nh.n_namesz + 3) & ~3u);
          size_t next = desc + ((nh.n_descsz + 3) & ~3u);
          if (next > ph[i].p_filesz || next <= o)
            break;
          if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp (buf + name, "GNU", 4) == 0
              && nh.n_descsz > 0 && nh.n_descsz <= 64)
            {
              memcpy (id, buf + desc, nh.n_descsz);
              return nh.n_descsz;
            }
          o = next;
        }
    }
  return 0;
}

/* What selfexe_ensure_sealed copies of FD: up to the end of the last
 * loaded segment; its ELF header, patched to name no section table, into
 * *EH. Returns the length, or the file's size if it is not such an ELF. */
static off_t
loaded_extent (int fd, off_t size, Elf64_Ehdr *eh, bool *patched)
{
  *patched = false;
  Elf64_Phdr ph[64];
  if (!read_headers (fd, eh, ph))
    return size;
  off_t last = (off_t) (eh->e_phoff + eh->e_phnum * sizeof (Elf64_Phdr));
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type != PT_GNU_STACK && (off_t) (ph[i].p_offset + ph[i].p_filesz) > last)
      last = (off_t) (ph[i].p_offset + ph[i].p_filesz);
  if (last >= size)
    return size;
  eh->e_shoff = 0;
  eh->e_shnum = 0;
  eh->e_shstrndx = 0;   /* SHN_UNDEF */
  *patched = true;
  return last;
}

/* Whether the sealed file FD (SIZE bytes) holds exactly what a copy of
 * SELF (the running program's file) would: byte for byte, so who handed it
 * over does not matter, and its seals keep it so after this look. */
static bool
same_program (int fd, off_t size, int self)
{
  struct stat st;
  Elf64_Ehdr eh;
  bool patched;
  if (fstat (self, &st) < 0 || loaded_extent (self, st.st_size, &eh, &patched) != size || size < (off_t) sizeof eh)
    return false;
  void *a = mmap (NULL, (size_t) size, PROT_READ, MAP_SHARED, fd, 0);
  if (a == MAP_FAILED)
    return false;
  void *b = mmap (NULL, (size_t) size, PROT_READ, MAP_PRIVATE, self, 0);
  bool same = b != MAP_FAILED
              && memcmp (a, patched ? (const void *) &eh : b, sizeof eh) == 0
              && memcmp ((const char *) a + sizeof eh, (const char *) b + sizeof eh, (size_t) size - sizeof eh) == 0;
  munmap (a, (size_t) size);
  if (b != MAP_FAILED)
    munmap (b, (size_t) size);
  return same;
}

/* One sealed copy for every container: a running container's supervisor
 * runs from the copy its create made, and hands out a descriptor of it
 * over its sup.sock ("X"). Without this each container kept a copy of its
 * own alive (2 MB of memory per container for a static moat). Taken only
 * if it carries every seal (nobody can change it any more) and holds, byte
 * for byte, what our own copy would (same_program): then who handed it
 * over does not matter. The build id is a cheap first look (another
 * version of moat). Any doubt: make a copy. */
static int
borrow_sealed_copy (const char *root, int self)
{
  unsigned char want[64], got[64];
  size_t wlen = build_id (self, want);
  if (wlen == 0 || root == NULL)
    return -1;
  DIR *d = opendir (root);
  if (d == NULL)
    return -1;
  /* A stopped container's socket refuses at once; a few live ones that
   * will not hand a copy over are all we wait for. */
  int found = -1, tries = 0, looked = 0;
  struct dirent *e;
  while (found < 0 && tries < 4 && looked < 64 && (e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      if ((size_t) snprintf (sa.sun_path, sizeof sa.sun_path, "%s/%s/sup.sock", root, e->d_name)
          >= sizeof sa.sun_path)
        continue;
      struct stat st;
      if (stat (sa.sun_path, &st) < 0 || !S_ISSOCK (st.st_mode))
        continue;
      looked++;
      cleanup_close int sk = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      struct timeval tv = { 0, 200 * 1000 };   /* a busy supervisor must not stall a create */
      if (sk < 0 || setsockopt (sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
          || connect (sk, (struct sockaddr *) &sa, sizeof sa) < 0)
        continue;
      tries++;
      struct ucred cr;
      socklen_t cl = sizeof cr;
      if (getsockopt (sk, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != geteuid ())
        continue;
      if (send (sk, "X", 1, MSG_NOSIGNAL) != 1)
        continue;
      char c;
      int fd;
      ssize_t n = recv_with_fd (sk, &c, 1, &fd);
      if (fd >= 0 && (n != 1 || c != 'X'))
        close (fd);
      if (n != 1 || c != 'X' || fd < 0)
        continue;
      int seals = fcntl (fd, F_GET_SEALS);
      if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS && fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
          && build_id (fd, got) == wlen && memcmp (got, want, wlen) == 0 && same_program (fd, st.st_size, self))
        found = fd;
      else
        close (fd);
    }
  closedir (d);
  return found;
}

int
selfexe_ensure_sealed (char **argv, const char *root, moat_error **err)
{
  cleanup_close int self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return moat_error_set (err, errno, "open /proc/self/exe");
  int seals = fcntl (self, F_GET_SEALS);
  if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
    {
      const char *t = getenv ("GLIBC_TUNABLES");
      if (t && strcmp (t, SEALED_TUNABLES + 15) == 0)
        unsetenv ("GLIBC_TUNABLES");   /* ours, read already (above) */
      return 0;
    }
  char **env = sealed_env ();
  {
    cleanup_close int shared = borrow_sealed_copy (root, self);
    if (shared >= 0)
      {
        log_debug ("re-executing from the sealed copy a running container's supervisor runs from");
        fexecve (shared, argv, env);
        /* not run where fexecve cannot be (valgrind): make one below */
      }
  }

  struct stat st;
  if (fstat (self, &st) < 0)
    return moat_error_set (err, errno, "stat /proc/self/exe");
  cleanup_close int mfd = memfd_create ("moat", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return moat_error_set (err, errno, "memfd_create");
  /* Only what the kernel loads: the copy lives as long as a supervisor runs
   * from it, and the debug information and symbol tables at the end of the
   * file are a third of a static moat (3.0 MB file, 2.0 MB loaded). The
   * copy's header then names no section table. */
  Elf64_Ehdr eh;
  bool trimmed;
  off_t end = loaded_extent (self, st.st_size, &eh, &trimmed);
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
  fexecve (mfd, argv, env);
  /* fexecve is execveat(AT_EMPTY_PATH); where that is missing (valgrind
   * does not emulate it) the same file by its /proc path, which valgrind
   * opens only after close-on-exec took effect: kept open for it. */
  (void) fcntl (mfd, F_SETFD, 0);
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", mfd);
  execve (path, argv, env);
  return moat_error_set (err, errno, "re-execute moat from a sealed copy");
}
