/* moat — the namespace wall: which namespaces to create or join, uid/gid
 * maps and time offsets. The parent half runs in `moat create` before and
 * after clone(2); the child half runs in the container init. */
#ifndef MOAT_NAMESPACES_H
#define MOAT_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "error.h"

/* Namespaces the config asks to create, as clone(2) flags. CLONE_NEWCGROUP is
 * left out: the init unshares it itself once it sits in its cgroup, so the
 * namespace's root is the container's cgroup. CLONE_NEWTIME cannot be passed
 * to clone(2) (it collides with CSIGNAL): see ns_parent_prepare. */
int ns_clone_flags (const struct moat_config *cfg);

/* Validate namespace paths and mappings before anything is created. */
int ns_validate (const struct moat_config *cfg, moat_error **err);

/* Parent, before clone: pid and time namespaces only affect children, so the
 * parent enters them "for its children" (setns to a path, or unshare and write
 * the time offsets). ns_parent_restore puts the parent's own back after clone
 * so hooks it runs later stay in the runtime's namespaces. */
struct ns_saved { int pid_fd, time_fd; };
int ns_parent_prepare (const struct moat_config *cfg, struct ns_saved *saved, moat_error **err);
int ns_parent_restore (struct ns_saved *saved, moat_error **err);

/* Parent, after clone: map the ids of the child's new user ns. Root, or a
 * user mapping only their own id (one line, size 1), writes uid_map and
 * gid_map itself; any other mapping by a user goes through the setuid
 * helpers newuidmap / newgidmap, which check it against /etc/subuid and
 * /etc/subgid. */
int ns_write_id_maps (const struct moat_config *cfg, pid_t pid, moat_error **err);

/* newuidmap or newgidmap, looked up in PATH and then /usr/bin; NULL when
 * absent. Free the result. */
char *ns_find_idmap_helper (const char *name);

/* The first range of FILE (/etc/subuid or /etc/subgid syntax,
 * OWNER:START:COUNT) whose owner is USER (may be NULL) or the number UID. */
bool ns_subid_range (const char *file, const char *user, uid_t uid, uint32_t *start, uint32_t *count);

/* The mappings `moat spec --rootless` writes: container 0 is UID/GID (size
 * 1) and, when /etc/subuid and /etc/subgid both give the user a range and
 * both helpers are installed, container 1.. is the first range (as podman
 * maps). Returns whether the ranges are there. */
bool ns_rootless_idmaps (uid_t uid, gid_t gid, struct moat_idmap uidmap[2], size_t *n_uid,
                         struct moat_idmap gidmap[2], size_t *n_gid);

/* Child: join every namespace that has a path (user first, so the others are
 * joined with its privileges), except pid and time (done by the parent). */
int ns_child_join (const struct moat_config *cfg, moat_error **err);
/* Child, in a new network namespace: bring lo up (a joined one is left as
 * it is). */
int ns_child_loopback_up (const struct moat_config *cfg, moat_error **err);
/* Child: create the cgroup namespace (after the parent placed us in the cgroup). */
int ns_child_unshare_late (const struct moat_config *cfg, moat_error **err);

#endif
