/* 08-kernel-pointer: copy_from_user at work.
 *
 * A syscall that takes a buffer gets a raw address from user space.  The
 * kernel must never trust it: the address could point into the kernel's own
 * memory (the upper half of the address space on x86-64) or at nothing.  So
 * every copy between user and kernel memory (copy_from_user, copy_to_user)
 * first checks the range is below the user/kernel boundary (access_ok), and
 * then copies with instructions that have entries in the kernel's exception
 * table: if the page is missing, the fault handler does not oops or send a
 * signal, it jumps to a fixup that makes the syscall return EFAULT.  (SMAP
 * adds a hardware wall: outside those marked copies the kernel cannot even
 * touch user memory; see 09-cpu-protections.)
 *
 * So this program does not die and leaves no audit record: write() from a
 * kernel address, read() into a kernel address, and write() from an
 * unmapped user address each return -1 EFAULT, and it prints that.  Compare
 * 01-null-pointer, where the program itself touched a bad address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The start of the kernel's text mapping on x86-64 (before KASLR slides it):
   any address at or above 0xffff800000000000 is kernel space. */
#define KERNEL_ADDR ((void *) 0xffffffff81000000UL)

static void
show (const char *call, ssize_t rc)
{
  if (rc < 0)
    printf ("%-48s = -1 %s (%s)\n", call, strerrorname_np (errno), strerror (errno));
  else
    printf ("%-48s = %zd\n", call, rc);
}

int
main (void)
{
  int p[2];
  if (pipe (p) < 0)
    return 1;

  /* copy_from_user(kernel address): access_ok refuses, nothing is read */
  show ("write(pipe, 0xffffffff81000000, 16)", write (p[1], KERNEL_ADDR, 16));

  /* copy_to_user(kernel address): the kernel will not write its own memory for us */
  if (write (p[1], "hello", 5) != 5)
    return 1;
  show ("read(pipe, 0xffffffff81000000, 5)", read (p[0], KERNEL_ADDR, 5));

  /* a user address with no page behind it: the copy faults, the exception
     table turns the fault into EFAULT */
  void *hole = mmap (NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap (hole, 4096);
  char call[64];
  snprintf (call, sizeof call, "write(pipe, %p (unmapped), 16)", hole);
  show (call, write (p[1], hole, 16));

  /* and the data is still there: the failed read consumed nothing */
  char buf[8] = { 0 };
  show ("read(pipe, buf, 5)", read (p[0], buf, 5));
  printf ("buf = \"%s\": still running, no signal, no record\n", buf);
  return 0;
}
