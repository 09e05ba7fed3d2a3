/* moat — terminals: process.terminal, --console-socket, run/exec -t.
 *
 * The pty is made inside the container, from the container's own devpts
 * instance, so the process sees /dev/pts/N of its namespace; the master
 * goes out to the caller (over --console-socket, as SCM_RIGHTS, as runc
 * sends it) or, for a foreground `run`/`exec` without a console socket, to
 * moat itself, which copies between it and its own stdio in raw mode. */
#ifndef MOAT_TERMINAL_H
#define MOAT_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Open a new pty through DEV_PTMX (a path under ROOTFD, resolved inside it
 * with openat2; ROOTFD may be AT_FDCWD once in the container's root), and
 * its peer. Refuses anything that is not a pty pair. ROWS/COLS (0: leave)
 * set the window size. */
int term_open_pty (int rootfd, const char *dev_ptmx, uint32_t rows, uint32_t cols, int *master, int *slave,
                   moat_error **err);
/* Bind the pty SLAVE onto ROOTFD/dev/console (created if missing), never
 * following a symlink out of the root (the CVE-2025-52565 class). */
int term_bind_console (int rootfd, int slave, moat_error **err);
/* In the process, just before exec: the pty becomes its controlling
 * terminal and its fds 0, 1 and 2 (the caller must lead its session). */
int term_make_controlling (int slave, moat_error **err);
/* Connect to the unix socket PATH and send MASTER (SCM_RIGHTS). */
int term_send_console (const char *path, int master, moat_error **err);
/* Foreground: copy stdin -> MASTER and MASTER -> stdout, stdin in raw mode
 * when it is a terminal (window size followed on SIGWINCH), forward the
 * usual signals to PID, and wait for it: *EXIT_STATUS as `run` gives it. */
int term_relay_and_wait (int master, pid_t pid, int *exit_status, moat_error **err);

#endif
