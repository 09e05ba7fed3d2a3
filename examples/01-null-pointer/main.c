/* 01-null-pointer: the MMU wall at address 0.
 *
 * Nothing is mapped at virtual address 0: the kernel refuses to map the
 * lowest pages (vm.mmap_min_addr, 64 KiB here), so that a kernel bug that
 * follows a NULL pointer cannot land in memory a user program controls.  A
 * load from address 0 therefore finds no page-table entry at all.  The CPU
 * raises a page fault (#PF) with error code 4 = user mode | read | page not
 * present; the kernel finds no mapping (VMA) that covers the address and
 * sends SIGSEGV with si_addr = 0.  The program cannot catch it here (no
 * handler), so it dies, and moat records the death: wall "mmu", SIGSEGV,
 * addr 0x0, and the kernel's own report of the fault when /dev/kmsg has it.
 */
#include <stdio.h>
#include <sys/resource.h>

int
main (void)
{
  /* No core file: the point is the record, not a dump. */
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });

  /* volatile: without it the compiler may treat the load as undefined
     behaviour and emit a trap (ud2, SIGILL) instead of the real access. */
  int *volatile p = NULL;
  printf ("reading an int at address %p ...\n", (void *) p);
  fflush (stdout);
  int v = *p;                     /* #PF, error 4: user read, not present */
  printf ("survived: read %d (this must not happen)\n", v);
  return 1;
}
