/* moat — the syscall argument decoder: turns a call's six registers into
 * the words a record shows (paths read from the caller's memory, flags,
 * modes, address families...), and back for `moat policy learn`. It stands
 * apart from the supervisor because the fault records (faults.c) and the
 * learner decode calls too, and neither should reach up into the
 * supervisor's listener code for it. */
#ifndef MOAT_DECODE_H
#define MOAT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The number of an address family as records name it ("AF_UNIX" -> 1), -1
 * if unknown (used to turn a record back into an argument filter). */
int supervisor_af_value (const char *name);
/* The same for a prctl option ("PR_SET_NAME" -> 15), and a clone flags
 * string as records write it ("CLONE_VM|CLONE_FS|0x11"); -1 if not one. */
int supervisor_prctl_value (const char *name);
int supervisor_clone_flags_value (const char *text, unsigned long long *out);

/* Decode one syscall's arguments into a JSON object for the record (used by
 * the supervisor; exposed for unit tests). MEM_PID may be 0 (no string
 * reads). */
struct jbuf;
/* Returns whether it read the caller's memory. */
bool decode_syscall_args (struct jbuf *j, const char *name, const uint64_t args[6], pid_t mem_pid);
/* Strings already read at these addresses (this thread, until reset with
 * NULL, 0): used before the caller's memory. */
struct decode_preread { uint64_t addr; const char *s; };
void decode_set_preread (const struct decode_preread *p, size_t n);

/* For the supervisor's listeners, which take strings down at the call and
 * decode them later (spool.h). */
#define STRING_MAX 4097   /* a path of up to 4096 bytes, and its NUL */
/* Read a NUL-terminated string (at most CAP - 1 bytes) of process PID at
 * ADDR into BUF; its length, or -1. */
ssize_t read_string (pid_t pid, uint64_t addr, char *buf, size_t cap);
/* The argument shape of syscall NAME ("arg:type,..."), NULL if unknown. */
const char *arg_spec_lookup (const char *name);
/* decode_syscall_args for a shape already looked up. */
bool decode_args_spec (struct jbuf *j, const char *spec, const uint64_t args[6], pid_t mem_pid);

#endif
