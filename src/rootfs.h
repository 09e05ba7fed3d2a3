/* moat — the filesystem wall: the container's mounts, devices, pivot_root,
 * masked and read-only paths. Runs in the container init, inside its new
 * mount namespace, so every mount it makes dies with the container.
 *
 * Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) and mounted through its /proc/self/fd/N handle: a
 * symlink planted in the rootfs (rootfs/etc -> /etc) resolves inside the
 * rootfs and can never redirect a mount onto the host (runc CVE-2021-30465
 * class). */
#ifndef MOAT_ROOTFS_H
#define MOAT_ROOTFS_H

#include <stdbool.h>
#include "config.h"
#include "error.h"

struct rootfs_ctx
{
  const struct moat_config *cfg;
  const char *rootfs;        /* absolute host path */
  bool userns;               /* in a new user namespace: mknod is denied, bind instead */
  bool no_pivot;
  const char *cgroup_path;   /* container cgroup (for a cgroup mount without cgroupns) */
  /* mounts[i]'s bind source, opened by `moat create` (-1: use the path),
   * or NULL (see rootfs_open_bind_sources). */
  const int *src_fds;
  const int *mount_fds;      /* per mount: its idmapped tree made by the parent, or -1; NULL: none */
};

/* Before pivot_root: propagation, the rootfs bind, config mounts, devices. */
int rootfs_prepare (const struct rootfs_ctx *ctx, moat_error **err);
/* pivot_root (or MS_MOVE + chroot with --no-pivot); cwd becomes "/". */
int rootfs_pivot (const struct rootfs_ctx *ctx, moat_error **err);
/* Last step before pivot_root (the host's /proc still serves the
 * /proc/self/fd handles): masked paths, read-only paths, root.readonly. */
int rootfs_finish (const struct rootfs_ctx *ctx, moat_error **err);
/* Hostname, domainname and sysctls (after pivot: /proc is the container's). */
int rootfs_set_uts_sysctl (const struct moat_config *cfg, moat_error **err);

/* Parent half, with a new user namespace: open every bind source (O_PATH)
 * for the init PID, as the caller, through the init's own root, into FDS
 * (cfg->n_mounts entries, -1 where there is none or it failed). The init,
 * root of its user namespace but nobody on the host, could not reach a
 * source under a directory only the host's root may enter. */
void rootfs_open_bind_sources (const struct moat_config *cfg, pid_t pid, int *fds);

/* Resolve PATH inside the directory fd ROOTFD, never leaving it. Returns an
 * O_PATH fd (flags may add O_DIRECTORY). */
int resolve_in_root (int rootfd, const char *path, int flags, int *out, moat_error **err);
/* Like mkdir -p inside ROOTFD; if !dir the last component is created as an
 * empty file (a bind-mount target for a file). Returns an O_PATH fd. */
int mkdir_in_root (int rootfd, const char *path, bool dir, mode_t mode, int *out, moat_error **err);

#endif
