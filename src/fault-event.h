/* One fault, as the BPF program (src/fault.bpf.c) hands it to the
 * supervisor (src/faults-bpf.c) through a ring buffer. Shared by both
 * sides: fixed-size fields only. */
#ifndef MOAT_FAULT_EVENT_H
#define MOAT_FAULT_EVENT_H

/* 256 KiB: 2,700 records of 96 bytes between two reads by the supervisor. */
#define MOAT_FAULT_RING_BYTES (256 * 1024)

struct moat_fault_event
{
  __u32 tid, tgid;
  __s32 sig, code, result;
  __u32 pad;
  __u64 addr;         /* si_addr: the faulting address (SEGV, BUS) or instruction (ILL, FPE) */
  __u64 cr2;          /* what the page-fault handler saw in CR2 */
  __u64 trap_nr;      /* the x86 exception vector: 14 page fault, 13 #GP, 6 #UD, 0 #DE */
  __u64 error_code;   /* the hardware error code pushed with it */
  __u64 ip, sp;       /* user-mode registers at the fault */
  __u64 ktime;
  char comm[16];
};

#endif
