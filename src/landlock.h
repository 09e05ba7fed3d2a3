/* moat — the filesystem-access wall: Landlock, from the `filesystem`
 * section of a moat policy. Once applied, the process (and everything it
 * starts) may touch only the listed paths, with the listed rights; the rest
 * of the container's filesystem answers EACCES. None of runc, crun or youki
 * has this wall. */
#ifndef MOAT_LANDLOCK_H
#define MOAT_LANDLOCK_H

#include <stddef.h>
#include "error.h"

enum { MOAT_FS_READ = 1, MOAT_FS_WRITE = 2, MOAT_FS_EXECUTE = 4 };

struct moat_fs_rule
{
  char *path;          /* absolute, inside the container */
  unsigned access;     /* MOAT_FS_* */
};

/* The Landlock ABI version of the running kernel, or -1 (errno says why:
 * ENOSYS not built in, EOPNOTSUPP disabled at boot). */
int landlock_abi (void);
/* In the container's root, just before exec: build the ruleset from RULES
 * (paths resolved from /, which is the container's root by now) and
 * restrict the calling thread and its future children. Needs no_new_privs
 * or CAP_SYS_ADMIN. Fails closed: a kernel without Landlock is an error. */
int landlock_apply (const struct moat_fs_rule *rules, size_t n, moat_error **err);

#endif
