/* moat — forwarding the audit records to the host's own audit trails: the
 * system log (/dev/log, which journald and rsyslog read) and the kernel's
 * audit subsystem (a user message through libaudit, as auditd's users
 * expect: AUDIT_USER_AVC for a denial, AUDIT_USER for other records).
 *
 * Off by default. Chosen per container by the annotation
 * org.moat.audit.forward or for every container by --audit-forward (the
 * annotation first): "syslog", "kernel", "syslog,kernel" or "none".
 *
 * The copy is taken where a batch of records reaches the log (the
 * supervisor's spool thread), never on the path of a denied call: a call
 * waits for nothing more than it did. One line per record, in a stable
 * key=value form (hostaudit_line); at most HOSTAUDIT_RATE lines a second
 * (HOSTAUDIT_BURST at once): past that records are folded, and a line
 * "kind=folded count=N" says how many, before the next line and at the
 * end, so the counts are never lost. */
#ifndef MOAT_HOSTAUDIT_H
#define MOAT_HOSTAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

enum
{
  HOSTAUDIT_SYSLOG = 1,
  HOSTAUDIT_KERNEL = 2,
};
#define HOSTAUDIT_RATE 100
#define HOSTAUDIT_BURST 200

/* The sinks of a container: its annotation org.moat.audit.forward (KEYS,
 * VALUES, N) over FLAG (--audit-forward, or NULL). A bad value is an
 * error naming where it came from; so is "kernel" in a moat built without
 * libaudit. */
int hostaudit_for (const char *flag, char *const *keys, char *const *values, size_t n, unsigned *mask,
                   moat_error **err);

/* The sinks this moat was built with: "syslog,kernel" or "syslog". */
const char *hostaudit_sinks (void);

/* From now on, copy the records this process appends to a log to the
 * sinks in MASK (0: none). The sockets are opened at the first record:
 * the supervisor, a fork of this process, closes the fds it inherits. */
void hostaudit_enable (unsigned mask);

/* Record R (a JSON line) as one key=value line into OUT (size N); false if
 * it is not a record. *DENIAL says whether it is a denied call. */
bool hostaudit_line (const char *json, size_t len, char *out, size_t n, bool *denial);

#endif
