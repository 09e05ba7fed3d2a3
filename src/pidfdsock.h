/* moat — --pidfd-socket (create, run, exec): the caller (a shim, an engine)
 * gets a pidfd of the container's init, or of the exec'd process, over an
 * AF_UNIX socket it listens on, as runc 1.2 sends it: one message whose
 * data is "standard" (init) or "setns" (exec) and whose SCM_RIGHTS carry
 * the pidfd. The caller signals and waits on it without pid reuse races. */
#ifndef MOAT_PIDFDSOCK_H
#define MOAT_PIDFDSOCK_H

#include <sys/types.h>
#include "error.h"

/* Connect to PATH (SOCK_STREAM, as runc dials it) before anything of the
 * container is made: a path that is not a socket, or one nobody listens
 * on, fails here, with nothing to undo. *FD: the connection (CLOEXEC). */
int pidfdsock_connect (const char *path, int *fd, moat_error **err);
/* Send a pidfd of PID (a host pid) over SOCK with KIND as the data. */
int pidfdsock_send (int sock, const char *path, pid_t pid, const char *kind, moat_error **err);

#endif
