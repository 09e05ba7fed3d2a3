/* moat — the LSM wall's records: a refusal by AppArmor, read from the
 * kernel's own audit line in /dev/kmsg, becomes a record of the container
 * that made the call:
 *   {"wall":"apparmor","kind":"refused","errno":"EACCES","operation":"open",
 *    "profile":"P","name":"/data/secret","requested":"r","denied":"r",
 *    "pid":HOST,"nspid":N,"comm":"cat","source":"kmsg","why":"..."}
 * Without auditd the kernel prints each AVC line ("audit: type=1400 ...
 * apparmor=\"DENIED\" ...") to the kernel log, through printk's rate limit
 * (lines past it are dropped, counted by the kernel as "kauditd_printk_skb: N
 * callbacks suppressed" at the next line it lets through): a storm of
 * denials gives a sample (300 in 1.7 s: 9 lines, Debian's 6.1 kernel under
 * qemu), never a false one. The lossless source would be NETLINK_AUDIT's
 * read-only multicast group (AUDIT_NLGRP_READLOG), not read yet.
 * With auditd running the lines go to auditd instead and none reach
 * /dev/kmsg. */
#ifndef MOAT_LSMAUDIT_H
#define MOAT_LSMAUDIT_H

#include <stdbool.h>
#include <sys/types.h>

struct jbuf;

struct lsm_sink
{
  const char *id;                                   /* the container */
  /* Is host pid PID the container's? Its pid in the container's pid
   * namespace into *NSPID (0: not known). */
  bool (*owns) (void *ctx, pid_t pid, pid_t *nspid);
  int (*out) (void *ctx, const struct jbuf *j);     /* < 0: the log refused it */
  void *owns_ctx, *out_ctx;
};

/* MSG (a /dev/kmsg record's text, after the ';'): 0 when it is no AppArmor
 * denial; else 1 when it was handled (written, or not the container's),
 * -1 when the log refused the record. */
int lsm_audit_kmsg (const char *msg, const struct lsm_sink *s);

/* The field KEY of an audit line (key="quoted" or key=HEX-encoded or
 * key=bare) into BUF; false when absent. For tests. */
bool lsm_audit_field (const char *msg, const char *key, char *buf, size_t n);

#endif
