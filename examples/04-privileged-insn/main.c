/* 04-privileged-insn: the CPU wall between ring 3 and ring 0.
 *
 * User code runs at current privilege level 3.  Some instructions are for
 * the kernel alone: `cli` (turn off interrupts) and port I/O such as `in`
 * need CPL <= IOPL (which Linux keeps at 0) or, for ports, a permission bit
 * in the TSS I/O bitmap (which ioperm() would set, see 05-mmio-ioports), and
 * `hlt` (stop the CPU) needs CPL 0 outright.  The CPU does not run them: it
 * raises a general-protection exception (#GP), and the kernel turns that
 * into SIGSEGV for the process (with si_addr 0, since no memory access was
 * involved; the kernel logs "general protection fault ip:...").
 *
 * Each instruction runs in its own forked child, so one program shows all
 * three deaths; the parent prints their wait statuses.  moat records three
 * deaths: SIGSEGV at wall "cpu" ("general protection fault") when the
 * kernel's report reached /dev/kmsg, else at wall "mmu" (all moat can tell
 * from a bare SIGSEGV) with detail "not available ...".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void do_cli (void) { __asm__ volatile ("cli"); }  /* clear IF: ring 0 (or IOPL 3) */
static void do_hlt (void) { __asm__ volatile ("hlt"); }  /* halt the CPU: ring 0 only */
static void do_inb (void)                                /* read I/O port 0x80 (POST code) */
{
  unsigned char v;
  __asm__ volatile ("inb $0x80, %0" : "=a" (v));
  printf ("inb: read 0x%02x\n", v);
}

int
main (void)
{
  static const struct { const char *name; void (*fn) (void); } insn[] = {
    { "cli", do_cli }, { "hlt", do_hlt }, { "inb $0x80", do_inb },
  };
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });
  for (size_t i = 0; i < sizeof insn / sizeof insn[0]; i++)
    {
      fflush (stdout);
      pid_t pid = fork ();
      if (pid == 0)
        {
          insn[i].fn ();          /* #GP: the child dies here */
          printf ("%s: executed in user mode (this must not happen)\n", insn[i].name);
          _exit (0);
        }
      int st;
      waitpid (pid, &st, 0);
      if (WIFSIGNALED (st))
        printf ("%-10s child %d: wait status 0x%04x, killed by SIG%s\n", insn[i].name, (int) pid, st,
                sigabbrev_np (WTERMSIG (st)));
      else
        printf ("%-10s child %d: wait status 0x%04x, exited %d\n", insn[i].name, (int) pid, st,
                WEXITSTATUS (st));
      usleep (600 * 1000);        /* space the faults: the kernel log is rate-limited */
    }
  return 0;
}
