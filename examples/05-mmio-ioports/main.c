/* 05-mmio-ioports: the walls around device memory and I/O ports.
 *
 * A program reaches hardware registers in two ways: memory-mapped I/O (map
 * the physical address range through /dev/mem) and x86 I/O ports (`in`/`out`
 * instructions, which the CPU lets ring 3 run only for ports enabled in the
 * TSS I/O bitmap by ioperm(), or all of them after iopl(3)).  A container
 * meets several walls on that road, in this order:
 *
 *   1. the rootfs: moat's /dev is a fresh tmpfs with only null, zero, full,
 *      random, urandom, tty, ptmx... so there is no /dev/mem node (ENOENT);
 *   2. mknod: making the node needs CAP_MKNOD (default.json keeps it, as
 *      Docker does), then opening it needs a driver and CAP_SYS_RAWIO, which
 *      the driver checks (and the devices cgroup, see 06-device-control);
 *   3. ioperm()/iopl(): seccomp (default.json allows them only when the
 *      policy keeps CAP_SYS_RAWIO, so here they fail EPERM and are audited),
 *      and behind it the kernel's own capable(CAP_SYS_RAWIO) check (a kernel
 *      built without CONFIG_X86_IOPL_IOPERM has no such calls: ENOSYS).
 *
 * Both 3's say EPERM, so the program tells them apart with a probe: the
 * same call with an out-of-range argument.  The kernel checks the range
 * before the capability and would answer EINVAL; if the probe gets EPERM
 * too, the filter answered before the kernel looked.  The audit log says the
 * same thing from the outside: a seccomp record with action "errno" (the
 * filter stopped it) or "log" (the filter let it pass; the capability did).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *
en (int e)
{
  return e ? strerrorname_np (e) : "ok";
}

/* Is capability CAP in this process's effective set? */
static int
have_cap (int cap)
{
  char line[256];
  unsigned long long eff = 0;
  FILE *f = fopen ("/proc/self/status", "r");
  while (f && fgets (line, sizeof line, f))
    sscanf (line, "CapEff: %llx", &eff);
  if (f)
    fclose (f);
  return (eff >> cap) & 1;
}

static void
try_mem (const char *path)
{
  int fd = open (path, O_RDWR | O_SYNC | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      printf ("open(%s): %s%s\n", path, en (e),
              e == ENOENT ? ": no device node (the rootfs wall)"
              : e == EPERM ? ": CAP_SYS_RAWIO (the driver's check) or the devices cgroup"
              : e == ENXIO || e == ENODEV ? ": the node exists but this kernel has no driver for it"
              : "");
      return;
    }
  /* Reached only with the node, the driver and CAP_SYS_RAWIO: map the first
     page of physical memory, the real-mode interrupt vector table.  */
  void *p = mmap (NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  printf ("open(%s): OPENED; mmap of physical page 0: %s\n", path,
          p == MAP_FAILED ? strerrorname_np (errno) : "MAPPED (no wall!)");
  close (fd);
}

/* CALL failed with EPERM: who answered?  PROBE is the same call with an
   out-of-range argument, which the kernel itself would refuse with EINVAL. */
static void
which_wall (const char *call, int rc, int e, int probe_rc, int probe_e)
{
  if (rc == 0)
    {
      printf ("%s: ok: I/O ports are open to this process (no wall!)\n", call);
      return;
    }
  printf ("%s: %s", call, en (e));
  if (e == EPERM && probe_rc < 0 && probe_e == EPERM)
    printf (": the seccomp filter (the probe got EPERM too, not the kernel's EINVAL)\n");
  else if (e == EPERM && probe_e == EINVAL)
    printf (": the capability wall (the probe reached the kernel: EINVAL; CAP_SYS_RAWIO %s)\n",
            have_cap (17) ? "kept" : "not kept");
  else if (e == ENOSYS)
    printf (": the call got past the filter, but this kernel has no ioperm/iopl at all"
            " (built without CONFIG_X86_IOPL_IOPERM)\n");
  else
    printf (" (probe: %s)\n", probe_rc < 0 ? en (probe_e) : "ok");
}

int
main (void)
{
  int rc, e, prc, pe;

  /* MMIO: physical memory through /dev/mem */
  try_mem ("/dev/mem");
  if (mknod ("/dev/mem", S_IFCHR | 0600, makedev (1, 1)) == 0)
    {
      printf ("mknod(/dev/mem, c 1 1): ok (CAP_MKNOD is kept; the node is only a name)\n");
      try_mem ("/dev/mem");
      unlink ("/dev/mem");
    }
  else
    printf ("mknod(/dev/mem, c 1 1): %s%s\n", en (errno),
            errno == EPERM ? ": no CAP_MKNOD, or the seccomp filter" : "");

  /* port I/O: ioperm for port 0x80, iopl for all ports */
  rc = ioperm (0x80, 1, 1);
  e = errno;
  prc = ioperm (0x10000, 1, 1);   /* past the 65536 ports: the kernel says EINVAL */
  pe = errno;
  which_wall ("ioperm(0x80, 1, 1)", rc, e, prc, pe);

  rc = iopl (3);
  e = errno;
  prc = iopl (4);                 /* levels are 0..3: the kernel says EINVAL */
  pe = errno;
  which_wall ("iopl(3)", rc, e, prc, pe);
  return 0;
}
