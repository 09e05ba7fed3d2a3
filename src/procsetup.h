/* moat — the last steps of a process before its execve, in the init and in
 * a process `moat exec` starts alike: what runc and crun users count on
 * finding there (HOME, stdio they may reopen, default signal dispositions). */
#ifndef MOAT_PROCSETUP_H
#define MOAT_PROCSETUP_H

#include <stdbool.h>
#include <sys/types.h>

/* ENV with HOME added from the container's /etc/passwd for UID ("/" when
 * UID has no entry), when ENV has no HOME or an empty one; NULL when ENV
 * has one already. Call after pivot_root/chroot. Malloc'd. */
char **proc_env_with_home (char *const *env, uid_t uid);

/* Give stdio (fds 0-2) to UID, keeping its group, so that a process that is
 * not root can reopen /proc/self/fd/0..2: the caller's pipes and sockets,
 * and, with OWN_PTY, the pty moat made. Failures are ignored (runc's rule). */
void proc_fix_stdio_owner (uid_t uid, bool own_pty);

/* Every signal to its default disposition and none blocked: what the
 * caller ignored (conmon leaves SIGPIPE ignored) or blocked is not
 * inherited by the workload. */
void proc_reset_signals (void);

/* --preserve-fds N: fds 3 .. 3+N-1 of the caller pass to the process, and
 * one the caller left closed is skipped, as runc does. Each closed slot (and
 * OWN_FD, moat's own --log, which took a slot the caller left free) is
 * marked in the returned array (N entries, from fd 3) and held by a
 * close-on-exec placeholder, so that no fd moat opens later lands there and
 * passes. NULL when N is 0. Malloc'd. */
bool *proc_preserve_reserve (int n, int own_fd);

#endif
