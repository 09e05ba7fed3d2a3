/* moat — the Linux security module wall: AppArmor and SELinux labels.
 *
 * process.apparmorProfile (exec --apparmor) is set "on exec" for the next
 * execve of the workload (and of a process `moat exec` starts);
 * process.selinuxLabel (exec --process-label) becomes the exec and the
 * keycreate label; linux.mountLabel the context= option of the container's
 * own filesystems (tmpfs, devpts, ...). Where the module is not enabled
 * the container is refused, as runc 1.1.5 refuses it (its init's write to
 * /proc/self/attr/exec fails with EINVAL for AppArmor; its validator says
 * "selinux label is specified in config, but selinux is disabled or not
 * supported"; its mount with context= fails): confinement that was asked
 * for is never dropped. Denials the kernel logs are read by lsmaudit.c. */
#ifndef MOAT_LSM_H
#define MOAT_LSM_H

#include <stdbool.h>
#include "config.h"
#include "error.h"

/* Is the module enabled in the running kernel (not only built in)? */
bool lsm_apparmor_enabled (void);
bool lsm_selinux_enabled (void);

/* Before anything is created: refuse labels the host cannot apply. WHAT_AA
 * and WHAT_SE name where the profile and the label came from (a config
 * field, or exec's flags), for the error. */
int lsm_check (const struct moat_config *cfg, const char *what_aa, const char *what_se, moat_error **err);

/* In the container, just before execve (both the init and an exec'd
 * process): the profile and labels of CFG for the next execve. */
int lsm_apply_exec (const struct moat_config *cfg, moat_error **err);

/* The keycreate label, before the init makes its session keyring. */
int lsm_apply_keycreate (const struct moat_config *cfg, moat_error **err);

/* The mount data of a TYPE filesystem with linux.mountLabel LABEL added as
 * context= (malloc'd), or NULL when it takes none: no label, or a type that
 * is not labelled at mount (bind mounts, proc, sysfs, cgroup, mqueue). */
char *lsm_mount_data (const char *type, const char *data, const char *label);

#endif
