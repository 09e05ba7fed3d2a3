/* 03-nx-jump: the MMU wall between data and code (NX).
 *
 * Every page-table entry has an NX ("no execute", XD on Intel) bit.  Linux
 * sets it on everything that is not code: the stack, the heap (brk and
 * anonymous mmap) and data.  Bytes written there are data, even when they
 * happen to be valid machine code, so a program (or an exploit) that jumps
 * into them makes the CPU refuse to fetch the instruction: a page fault with
 * error code 21 = 0x15 = user mode | instruction fetch | page present.  The
 * kernel sends SIGSEGV with the fault address equal to the instruction
 * pointer: the jump target itself.
 *
 * The program writes one `ret` instruction (0xc3) into a heap buffer (in a
 * child) and into a stack buffer (in the parent), and calls each.  Without
 * NX the call would simply return; with NX each process dies, and moat
 * records two deaths: wall "mmu", SIGSEGV, "user-mode instruction fetch from
 * a present, non-executable page".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void
jump (unsigned char *code, const char *where)
{
  code[0] = 0xc3;                 /* x86 `ret`: harmless, if it ever ran */
  void (*volatile fn) (void) = (void (*) (void)) (void *) code;
  printf ("%s: calling the `ret` written at %p ...\n", where, (void *) code);
  fflush (stdout);
  fn ();                          /* #PF, error 21: user instruction fetch, NX */
  printf ("%s: the call returned: this page is executable!\n", where);
}

int
main (void)
{
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });

  pid_t pid = fork ();
  if (pid == 0)
    {
      jump (malloc (64), "heap");
      _exit (1);
    }
  int st;
  waitpid (pid, &st, 0);
  if (WIFSIGNALED (st))
    printf ("child %d (heap): killed by SIG%s\n", (int) pid, sigabbrev_np (WTERMSIG (st)));
  else
    printf ("child %d (heap): exited %d\n", (int) pid, WEXITSTATUS (st));

  sleep (1);                      /* give the kernel log's rate limit a breath */
  unsigned char stack[64];
  jump (stack, "stack");
  return 1;
}
