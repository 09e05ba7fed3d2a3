/* moat — waiting for the workload of a foreground `run`/`exec`: reap our
 * children (letting a tracee's stops go), the signals we forward to it, and
 * its exit status as a shell reports it. It stands apart because both the
 * lifecycle (container.c) and the terminal copy loop (terminal.c) wait for
 * the workload: here, neither calls into the other. */
#ifndef MOAT_REAP_H
#define MOAT_REAP_H

#include <signal.h>
#include <sys/types.h>

/* Reap what has ended among our children without blocking: 1 with *status
 * once PID has, 0 if not yet, -1 (errno) on error. A workload may make its
 * parent, moat run or moat exec, its tracer (PTRACE_TRACEME): its threads
 * then stay zombies until the tracer reaps them and each of its signals
 * stops it until the tracer lets it go, so waiting for PID alone would
 * hang both. moat traces nothing: a tracee's stop is let go with its
 * signal (PTRACE_DETACH) and every other child is reaped. */
int reap_workload (pid_t pid, int *status);
/* 128+N for a signal, as a shell reports it. */
int wait_exit_status (int status);
/* The signals run and exec forward to their process (and SIGCHLD). */
void forwarded_signals (sigset_t *set);

#endif
