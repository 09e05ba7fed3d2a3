/* One fault, as the BPF program (src/fault.bpf.c) hands it to the
 * supervisor (src/faults-bpf.c) through a ring buffer. Shared by both
 * sides: fixed-size fields only. */
#ifndef MOAT_FAULT_EVENT_H
#define MOAT_FAULT_EVENT_H

/* 512 KiB: 2,970 fault records (168 bytes) or 1,210 refused calls (424)
 * between two reads by the supervisor. */
#define MOAT_FAULT_RING_BYTES (512 * 1024)

#define MOAT_EV_FAULT 0     /* a fault signal the kernel raised */
#define MOAT_EV_REFUSED 1   /* a syscall the kernel itself refused (EPERM, EACCES, EROFS) */

struct moat_fault_event
{
  __u32 tid, tgid;
  __s32 sig, code, result;
  __u32 kind;         /* MOAT_EV_* */
  __s64 nr;           /* REFUSED: the syscall; code is the errno */
  __u64 args[6];      /* REFUSED: its arguments */
  __u64 addr;         /* si_addr: the faulting address (SEGV, BUS) or instruction (ILL, FPE) */
  __u64 cr2;          /* what the page-fault handler saw in CR2 */
  __u64 trap_nr;      /* the x86 exception vector: 14 page fault, 13 #GP, 6 #UD, 0 #DE */
  __u64 error_code;   /* the hardware error code pushed with it */
  __u64 ip, sp;       /* user-mode registers at the fault */
  __u64 ktime;
  __u64 cap_eff;      /* REFUSED: the caller's effective capabilities at the call */
  __u32 userns_level; /* REFUSED: the depth of its user namespace (0: the host's) */
  __u32 pad;
  char comm[16];
  char str[2][128];   /* REFUSED: args 0 and 1 read as strings, when they are */
};

#endif
