/* moat — the mount options runtime-spec adds to mount(2)'s: the recursive
 * ones (rro, rnosuid, ... applied with mount_setattr(AT_RECURSIVE)),
 * idmapped mounts (idmap, ridmap, mounts[].uidMappings/gidMappings) and
 * crun's tmpcopyup. config.c reads them through mountopts_option and checks
 * them with mountopts_check; rootfs.c applies them; the parent (container.c)
 * makes the idmapped trees, which need the host's CAP_SYS_ADMIN, before the
 * init is cloned into its user namespace. */
#ifndef MOAT_MOUNTOPTS_H
#define MOAT_MOUNTOPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

/* If OPT is one of the options this file handles, note it in M and return
 * true. */
bool mountopts_option (const char *opt, struct moat_mount *m);

/* The checks that need the whole config (the user namespace is parsed after
 * mounts): an error naming mounts[I] for what cannot be applied. */
int mountopts_check (const struct moat_config *cfg, const char *doc, moat_error **err);

/* Every recognised option, NULL-terminated: for `moat features`. */
extern const char *const mountopts_names[];

/* For each idmapped mount of CFG, a detached copy of its source with the
 * mapping on it (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)); *FDS gets
 * one entry per mount, -1 for the others, NULL when there is none. The
 * fds are close-on-exec. */
int mountopts_idmap_prepare (const struct moat_config *cfg, int **fds, moat_error **err);
void mountopts_fds_close (int *fds, size_t n);

/* Put the detached tree FD on TARGET (an O_PATH fd of the mount point). */
int mountopts_attach (int fd, int target, const char *dest, moat_error **err);
/* The mount at FD takes M's plain flags (ro, nosuid, ...: the top mount
 * only, as a bind remount does). */
int mountopts_set_flags (int fd, const struct moat_mount *m, const char *dest, moat_error **err);
/* The recursive options of M on the mount at FD and every mount below. */
int mountopts_set_recursive (int fd, const struct moat_mount *m, const char *dest, moat_error **err);
/* Copy the tree at FROM (a directory fd) into TO: files, directories,
 * links, nodes, with their modes, owners and times; ROOT_MODE: TO takes
 * FROM's mode too. */
int mountopts_copy_up (int from, int to, const char *dest, bool root_mode, moat_error **err);

#endif
