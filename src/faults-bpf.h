/* moat — the lossless fault source: the BPF probe of src/fault.bpf.c,
 * loaded for one container by its supervisor. Every fault signal the
 * kernel raises in the container (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP)
 * arrives as one event with the fault address, the x86 trap number and
 * error code and the user-mode ip/sp, whether or not the kernel's
 * rate-limited log printed it and whether or not the process survived.
 * Needs root (CAP_BPF, CAP_PERFMON), a kernel with BTF (5.11+) and moat
 * built with libbpf; without them fault_bpf_open fails and says why. */
#ifndef MOAT_FAULTS_BPF_H
#define MOAT_FAULTS_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <sys/types.h>
#include "error.h"
#include "fault-event.h"

struct fault_bpf;
typedef void (*fault_bpf_cb) (void *ctx, const struct moat_fault_event *e);

/* Was moat built with the probe? */
bool fault_bpf_built (void);
/* Load and attach the probe for the processes of the cgroup v2 CGROUP_ID at
 * depth LEVEL (LEVEL 0: no filter in the kernel). Events go to CB. With
 * REFUSED, also the syscalls the kernel refuses (MOAT_EV_REFUSED). */
int fault_bpf_open (unsigned long long cgroup_id, unsigned level, bool refused, fault_bpf_cb cb, void *ctx,
                    struct fault_bpf **out, moat_error **err);
/* A descriptor that polls readable when events wait. */
int fault_bpf_fd (const struct fault_bpf *b);
/* Hand every waiting event to the callback. */
void fault_bpf_consume (struct fault_bpf *b);
/* Events the probe could not queue since the last call (ring full). */
unsigned long long fault_bpf_take_dropped (struct fault_bpf *b);
void fault_bpf_close (struct fault_bpf *b);

/* The cgroup v2 id and depth of PID's cgroup (as bpf_get_current_ancestor_
 * cgroup_id counts them); 0 when it cannot be told. */
int fault_bpf_cgroup_of (pid_t pid, unsigned long long *id, unsigned *level);

#endif
