/* 02-readonly-write: the MMU wall between read and write.
 *
 * String literals live in .rodata and machine code in .text; the loader maps
 * both without PROT_WRITE, so their page-table entries are present but have
 * the R/W bit clear.  A store to such a page raises a page fault with error
 * code 7 = user mode | write | page present: a protection violation, not a
 * missing page.  The kernel sees the VMA has no VM_WRITE and sends SIGSEGV.
 *
 * One program shows both: a child writes over the first byte of main()'s
 * code (the text segment), then the parent writes into a string literal.
 * Each first reads the byte, so the page is present and the fault is the
 * protection kind (error 7) rather than "not present" (error 6).  moat
 * records two deaths: wall "mmu", SIGSEGV, "user-mode write to a present,
 * read-only page".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void
poke (volatile char *p, const char *what)
{
  char c = *p;                    /* read first: the page becomes present */
  printf ("%s: writing to %p (holds 0x%02x) ...\n", what, (void *) p, (unsigned char) c);
  fflush (stdout);
  *p = c;                         /* #PF, error 7: user write, present page */
  printf ("%s: survived (this must not happen)\n", what);
}

int
main (void)
{
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });

  pid_t pid = fork ();
  if (pid == 0)
    {
      poke ((volatile char *) (void *) main, "text segment (main)");
      _exit (1);
    }
  int st;
  waitpid (pid, &st, 0);
  if (WIFSIGNALED (st))
    printf ("child %d: killed by signal %d (SIG%s)\n", (int) pid, WTERMSIG (st), sigabbrev_np (WTERMSIG (st)));
  else
    printf ("child %d: exited %d\n", (int) pid, WEXITSTATUS (st));

  sleep (1);                      /* give the kernel log's rate limit a breath */
  static const char *const literal = "a string literal";
  poke ((volatile char *) literal, "string literal");
  return 1;
}
