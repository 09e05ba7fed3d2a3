/* moat — small helpers shared by every wall: cleanup attributes, file I/O. */
#ifndef MOAT_UTIL_H
#define MOAT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <dirent.h>

#include "error.h"

#define UNUSED __attribute__ ((unused))
#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))
#define MAX_INT(a, b) ((a) > (b) ? (a) : (b))

static inline void cleanup_free_fn (void *p) { free (*(void **) p); }
void cleanup_close_fn (int *fd);
static inline void cleanup_file_fn (FILE **f) { if (*f) fclose (*f); }
static inline void cleanup_dir_fn (DIR **d) { if (*d) closedir (*d); }
void cleanup_strv_fn (char ***v);

#define cleanup_free __attribute__ ((cleanup (cleanup_free_fn)))
#define cleanup_close __attribute__ ((cleanup (cleanup_close_fn)))
#define cleanup_file __attribute__ ((cleanup (cleanup_file_fn)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dir_fn)))
#define cleanup_strv __attribute__ ((cleanup (cleanup_strv_fn)))

/* Hand ownership out of a cleanup variable. */
#define steal_pointer(pp) ({ __typeof__ (*(pp)) _p = *(pp); *(pp) = NULL; _p; })
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

/* Allocation failure is not a condition moat can report usefully; these
 * abort instead of threading ENOMEM through every caller. */
void *xmalloc0 (size_t n);
void *xrealloc (void *p, size_t n);
/* Zeroed memory in a mapping of its own, for a big table a long-lived
 * process (the supervisor) touches sparsely: its pages stay the kernel's
 * zero page until written. calloc would take it from a heap whose memory
 * glibc reuses, clearing it (so making it resident) by hand. Freed with
 * xunmap0 and the same size; NULL is accepted. */
void *xmap0 (size_t n);
void xunmap0 (void *p, size_t n);
/* The main thread's stack pages below the caller's frame back to the
 * kernel (a long-lived process whose deepest moment is behind it). */
void stack_trim_below_caller (void);
char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* A copy of S fit to be quoted in a message, which ends up on a terminal
 * and as one line of a log: C0 controls, DEL, C1 controls (U+0080..U+009F)
 * and bytes that are not valid UTF-8 are written \xNN, so a container id,
 * capability name or path from user input can neither move the cursor,
 * retitle the terminal nor start a line of its own.  With MAX non-zero,
 * cut after MAX bytes of S with "..." appended.  NULL gives "(null)".
 * Malloc'd; errno is left as it was. */
char *str_printable_n (const char *s, size_t max);
static inline char *str_printable (const char *s) { return str_printable_n (s, 0); }
/* The same for what a table shows of a hostile string (moat audit): N
 * bytes, a backslash as \\ too, so that every byte can be told from what
 * shows, and nothing is cut. */
char *str_visible_n (const char *s, size_t n);
static inline char *str_visible (const char *s) { return str_visible_n (s, strlen (s)); }
/* The valid UTF-8 sequence at S (at most AVAIL bytes): its length and code
 * point, or 0 (a byte that starts none: stray, overlong, surrogate). */
size_t utf8_seq_len (const unsigned char *s, size_t avail, unsigned int *cp);
/* The same into OUT (OUTSZ bytes, NUL-terminated; S is cut to fit), without
 * allocating.  Returns the length written. */
size_t str_printable_buf (char *out, size_t outsz, const char *s);

/* Read a whole file (at most max bytes; 0 = no limit) into a NUL-terminated
 * buffer. dirfd may be AT_FDCWD.  Anything but a regular file (after
 * symlinks) is refused without blocking: "`PATH`: not a regular file but
 * a FIFO", errnum 0. */
/* Open PATH (relative to DIRFD, symlinks followed) for reading, if it is
 * a regular file: never blocks on a FIFO, never opens a device.  *OUT is
 * a close-on-exec fd. */
int open_regular_at (int dirfd, const char *path, int *out, moat_error **err);
int read_file_at (int dirfd, const char *path, char **out, size_t *len, size_t max, moat_error **err);
static inline int
read_file (const char *path, char **out, size_t *len, moat_error **err)
{
  return read_file_at (-100 /* AT_FDCWD */, path, out, len, 0, err);
}
/* Write data to dir/name atomically: a temporary file in the same directory,
 * fsync-free (state is runtime state in /run), then rename(2). */
int write_file_atomic_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode, moat_error **err);
/* Write a small string to an existing file (cgroup and /proc knobs). */
int write_file_at (int dirfd, const char *path, const char *data, size_t len, moat_error **err);

/* "a FIFO", "a directory", ... for a message. */
const char *file_type_name (mode_t mode);

int mkdir_p (const char *path, mode_t mode, moat_error **err);

/* Write/read exactly n bytes, retrying on EINTR and short counts. */
int write_all (int fd, const void *buf, size_t n);
/* Is PID a live process: there, and not a zombie? */
bool pid_running (pid_t pid);
ssize_t read_all (int fd, void *buf, size_t n);
/* One message BUF of LEN bytes with the fd PASSED attached (SCM_RIGHTS),
 * on a connected unix socket; retried on EINTR, no SIGPIPE. 0, or -1 with
 * errno. */
int send_with_fd (int sock, const void *buf, size_t len, int passed);
/* Its receiving end: up to LEN bytes into BUF and the one descriptor sent
 * with them (close-on-exec) into *PASSED, -1 if none came. Returns
 * recvmsg's count (0 at the end, -1 with errno). */
ssize_t recv_with_fd (int sock, void *buf, size_t len, int *passed);

/* Start a thread with a 256 KiB stack (the supervisor's threads keep their
 * buffers elsewhere; the default 8 MiB is address space they never use).
 * 0, or the pthread_create error. */
#include <pthread.h>
int thread_start_small (pthread_t *t, void *(*fn) (void *), void *arg);

/* Close every fd from FIRST up, except the N in KEEP (-1 entries ignored). */
void close_fds_except (int first, const int *keep, size_t n);

/* PATH without "//", "/./", a trailing "/", and with ".." taken back
 * lexically (never above "/"): "/dev//null" and "/mnt/x/" are "/dev/null"
 * and "/mnt/x". Malloc'd. */
char *path_clean (const char *path);

size_t strv_len (char *const *v);
/* A deep copy of the NULL-terminated V (NULL gives an empty list). */
char **strv_dup (char *const *v);

/* The host account name of UID from /etc/passwd, into BUF; NULL if none.
 * Not getpwuid: moat is linked statically (configure.ac), and glibc's NSS
 * modules cannot be loaded into a static program (libnss_systemd crashes
 * in it); the accounts moat needs names for (a rootless caller's
 * /etc/subuid entry, `moat list`'s owner) are local ones. */
const char *user_name (uid_t uid, char *buf, size_t n);
void strv_free (char **v);

/* Microseconds on CLOCK_MONOTONIC. */
unsigned long long now_usec (void);

#endif
