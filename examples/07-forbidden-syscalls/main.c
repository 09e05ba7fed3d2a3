/* 07-forbidden-syscalls: the syscall wall (seccomp).
 *
 * A syscall is the one door from user mode into the kernel: the `syscall`
 * instruction switches to ring 0 at the kernel's entry point, which runs the
 * seccomp filter (a BPF program moat compiled from the policy) before it
 * looks up the handler.  The filter sees the syscall number and the six
 * raw argument registers, and decides.  Under policies/strict.json every
 * call below is outside the allowlist, so each returns EPERM without running
 * and the program carries on; moat's supervisor, notified by the kernel
 * before the answer is given, writes one record per call with its decoded
 * arguments.  (Under default.json ptrace is allowed: since Linux 4.8 it can
 * no longer be used to escape the tracee's filter.)
 *
 * Every call is made with arguments that would be harmless even if it ran:
 * a tmpfs on /mnt, PTRACE_ATTACH to ourselves, reboot's "Ctrl-Alt-Del off",
 * a kexec segment list that is a NULL pointer, and a module image that is
 * not an ELF file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
show (const char *call, long rc)
{
  if (rc < 0)
    printf ("%-50s = -1 %s\n", call, strerrorname_np (errno));
  else
    printf ("%-50s = %ld\n", call, rc);
}

int
main (void)
{
  static const char image[] = "not a module";

  show ("mount(\"none\", \"/mnt\", \"tmpfs\", 0, NULL)",
        syscall (SYS_mount, "none", "/mnt", "tmpfs", 0L, NULL));
  show ("ptrace(PTRACE_ATTACH, 1, 0, 0)",
        syscall (SYS_ptrace, (long) PTRACE_ATTACH, 1L, 0L, 0L));
  show ("reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL)",
        syscall (SYS_reboot, (long) LINUX_REBOOT_MAGIC1, (long) LINUX_REBOOT_MAGIC2,
                 (long) LINUX_REBOOT_CMD_CAD_OFF, NULL));
  show ("kexec_load(0x100000, 1, NULL, 0)",
        syscall (SYS_kexec_load, 0x100000L, 1L, NULL, 0L));
  show ("init_module(image, 12, \"\")",
        syscall (SYS_init_module, image, sizeof image - 1, ""));
  printf ("still running: each call came back with an error\n");
  return 0;
}
