/* moat — the MMU and CPU walls: every process of the container that dies by
 * a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT) becomes a
 * record, with the fault address, instruction pointer and x86 page-fault
 * error code in words when the kernel reported them.
 *
 * Two sources, each for what it does well:
 * - the proc connector (netlink): fork, exec and exit of every task, host
 *   wide and lossless with a large buffer. Fork events from the container
 *   init on tell which pids are the container's; exit events carry the wait
 *   status, so every death is known, whatever the kernel log says.
 * - /dev/kmsg: the kernel's own report ("segfault at ADDR ip IP ... error
 *   N", "general protection fault", "trap invalid opcode"). It is rate
 *   limited host-wide (about 10 lines per 5 s), so a death waits a short
 *   while for its line and is written with "detail": "not available" when
 *   none came. A fault the process survived (it handled SIGSEGV) is recorded
 *   from its kmsg line alone.
 * - or, on request (--fault-detail bpf), the BPF probe of faults-bpf.c in
 *   place of the kernel log: every fault signal the kernel raises, with its
 *   address, trap, error code and registers, none lost to a rate limit,
 *   handled or not, SIGBUS included. */
#ifndef MOAT_FAULTS_H
#define MOAT_FAULTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "audit.h"
#include "error.h"

struct faults;

/* KMSG: path of the kernel log ("/dev/kmsg"), or NULL/"none" to go without
 * (records then always say "detail not available"). */
int faults_open (pid_t init_pid, const char *kmsg, struct faults **out, moat_error **err);
void faults_close (struct faults *f);
/* Take fault details from the BPF probe instead of the kernel log (which
 * is closed). Fails, leaving the kernel log in place, when the probe cannot
 * be loaded; ERR says why. */
int faults_use_bpf (struct faults *f, bool refused, moat_error **err);
/* With REFUSED, the probe also reports the container's syscalls the
 * kernel itself refused (EPERM, EACCES, EROFS): records with kind
 * "refused" at the wall that most likely stopped them. A call the seccomp
 * filter denied is noted here first (from a listener thread), so its exit
 * is not taken for the kernel's refusal. */
void faults_note_denied (struct faults *f, pid_t tid, long nr);
int faults_bpf_fd (const struct faults *f);      /* -1 without the probe */
void faults_on_bpf (struct faults *f);
/* A process that joined the container from outside (`moat exec`): its
 * death, and its children's, are the container's from now on. */
void faults_track (struct faults *f, pid_t pid);

int faults_connector_fd (const struct faults *f);
/* May events be waiting on the connector (or half-way there)? Without a
 * syscall where the cgroup filter counts what it passes; else always true.
 * False means every event of the container's so far has taken effect. */
bool faults_events_waiting (const struct faults *f);
int faults_kmsg_fd (const struct faults *f);     /* -1 without kmsg */

/* The container's own settings a refusal can be laid at: a read-only or
 * masked path, a read-only mount, the root, Landlock rules (a user
 * namespace is read by the probe at the call). Pointers into the config,
 * which outlives the tracker. */
struct moat_mount;
struct moat_fs_rule;
struct fault_walls
{
  bool root_readonly;
  char *const *masked, *const *readonly;   /* NULL-terminated, or NULL */
  const struct moat_mount *mounts;
  size_t n_mounts;
  const struct moat_fs_rule *fs_rules;  /* Landlock; NULL: no such wall */
  size_t n_fs_rules;
};
void faults_set_walls (struct faults *f, const struct fault_walls *w);

/* Records go to OUT (the supervisor's audit spool), tagged with the
 * container id; OUT returns < 0 when the log refused the record. */
struct jbuf;
typedef int (*faults_output_fn) (void *ctx, const struct jbuf *j);
void faults_set_output (struct faults *f, const char *id, faults_output_fn out, void *ctx);
/* The log's budget (budget.h): past it, deaths and faults are counted in
 * its aggregates instead of written one by one. LOG_SIZE(CTX): the log's
 * size now. */
struct budget;
void faults_set_budget (struct faults *f, struct budget *b, uint64_t (*log_size) (void *ctx), void *ctx);

void faults_on_connector (struct faults *f);
void faults_on_kmsg (struct faults *f);
/* Milliseconds until a waiting death must be written (-1: none waiting). */
int faults_next_timeout (const struct faults *f);
/* Write the deaths whose wait for a kmsg line is over (all with FLUSH). */
void faults_tick (struct faults *f, bool flush);
/* Any of the container's processes left? */
/* OOM kills of the container's processes the kernel log named (read up
 * to now), and the I-th victim (pid 0 when not kept); -1: no kernel log. */
unsigned long faults_kmsg_ooms (struct faults *f, unsigned long i, pid_t *pid, pid_t *nspid, char *comm, size_t n);
/* The container's last process has exited (details may still be pending). */
bool faults_emptied (const struct faults *f);
bool faults_alive (const struct faults *f);
/* How many records the log refused (disk full...), and reset. */
unsigned long long faults_take_unwritten (struct faults *f);
/* The container's last process killed by SIGKILL (the OOM killer's victim
 * when a memory limit was hit), if within MS milliseconds: its host pid,
 * nspid (-1 unknown) and comm. */
bool faults_last_kill (const struct faults *f, unsigned ms, pid_t *pid, pid_t *nspid, char *comm, size_t n);

/* Bumped by every exec and exit in the container: cached facts about a
 * task are good while it stays the same. */
unsigned long long faults_generation (const struct faults *f);

/* The last number on the KEY line of a /proc/PID/status text ("\nNStgid:"),
 * -1 if absent. */
long status_last_field (const char *status, const char *key);

/* "user-mode write to a present, read-only page" for an x86 error code. */
void fault_describe (unsigned long code, char *out, size_t n);

#endif
