/* 09-cpu-protections: SMEP, SMAP, UMIP (and NX), seen from user space.
 *
 * The CPU enforces part of the user/kernel divide by itself, with bits in
 * CR4 that the kernel turns on at boot when the CPU has them:
 *
 *   SMEP  Supervisor Mode Execution Prevention: in ring 0 the CPU will not
 *         fetch instructions from user pages, so a kernel bug cannot be made
 *         to jump into code an attacker placed in user memory;
 *   SMAP  Supervisor Mode Access Prevention: in ring 0 the CPU will not read
 *         or write user pages except inside copy_from_user and friends
 *         (which set EFLAGS.AC with stac/clac), see 08-kernel-pointer;
 *   UMIP  User-Mode Instruction Prevention: sgdt, sidt, sldt, smsw and str
 *         fault in ring 3 instead of telling user code where the kernel's
 *         descriptor tables are (kernel addresses that defeat KASLR);
 *   NX    no-execute pages, see 03-nx-jump.
 *
 * SMEP and SMAP act only in kernel mode, so a program can just read the
 * flags; UMIP it can watch at work.  Each instruction runs in a forked child.
 * With UMIP the CPU raises #GP, and Linux (5.10 and later) emulates the
 * instruction with dummy values, so old programs (Wine's, mostly) keep
 * working without learning anything: the GDT "is" at 0xfffffffffffe0000 and
 * the IDT at 0xffffffffffff0000, both with limit 0, and the kernel logs
 * "umip: ... SGDT instruction cannot be used by applications".  Older
 * kernels kill a 64-bit caller with SIGSEGV instead, and moat records that
 * death.  Without UMIP the instructions run natively and show the real
 * tables (the GDT's limit is 0x7f on Linux x86-64).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct __attribute__ ((packed)) dtr
{
  uint16_t limit;
  uint64_t base;
};

static void
flags (void)
{
  static const char *const want[] = { "smep", "smap", "umip", "nx", "pku" };
  static char line[8192];
  FILE *f = fopen ("/proc/cpuinfo", "r");
  int found[5] = { 0 };
  while (f && fgets (line, sizeof line, f))
    {
      if (strncmp (line, "flags", 5) != 0)
        continue;
      for (char *t = strtok (strchr (line, ':') + 1, " \n"); t; t = strtok (NULL, " \n"))
        for (int i = 0; i < 5; i++)
          found[i] |= strcmp (t, want[i]) == 0;
      break;                      /* the first CPU's flags */
    }
  if (f)
    fclose (f);
  printf ("cpu flags:");
  for (int i = 0; i < 5; i++)
    printf (" %s=%s", want[i], found[i] ? "yes" : "no");
  printf ("\n");
}

static void
run (const char *name)
{
  struct dtr d = { 0, 0 };
  uint64_t v = 0;
  if (strcmp (name, "sgdt") == 0)
    __asm__ volatile ("sgdt %0" : "=m" (d));
  else if (strcmp (name, "sidt") == 0)
    __asm__ volatile ("sidt %0" : "=m" (d));
  else if (strcmp (name, "smsw") == 0)
    __asm__ volatile ("smsw %0" : "=r" (v));
  else if (strcmp (name, "sldt") == 0)
    __asm__ volatile ("sldt %0" : "=r" (v));
  else
    __asm__ volatile ("str %0" : "=r" (v));
  if (name[1] == 'g' || name[1] == 'i')
    printf ("%-5s ran: base 0x%016llx limit 0x%04x: %s\n", name, (unsigned long long) d.base, d.limit,
            d.limit == 0 && (d.base == 0xfffffffffffe0000ULL || d.base == 0xffffffffffff0000ULL)
            ? "the kernel's dummy value (UMIP: trapped and emulated)"
            : "the real table (no UMIP: a kernel address leaked)");
  else
    printf ("%-5s ran: 0x%llx (the same value emulated or real)\n", name, (unsigned long long) v);
}

int
main (void)
{
  static const char *const insn[] = { "sgdt", "sidt", "smsw", "sldt", "str" };
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });
  flags ();
  for (size_t i = 0; i < sizeof insn / sizeof insn[0]; i++)
    {
      fflush (stdout);
      pid_t pid = fork ();
      if (pid == 0)
        {
          run (insn[i]);
          fflush (stdout);
          _exit (0);
        }
      int st;
      waitpid (pid, &st, 0);
      if (WIFSIGNALED (st))
        {
          printf ("%-5s child %d: killed by SIG%s (UMIP: #GP, and this kernel does not emulate it)\n", insn[i], (int) pid,
                  sigabbrev_np (WTERMSIG (st)));
          usleep (600 * 1000);    /* space the faults: the kernel log is rate-limited */
        }
    }
  return 0;
}
