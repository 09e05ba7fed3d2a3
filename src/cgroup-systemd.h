/* moat — the systemd cgroup driver (--systemd-cgroup, --cgroup-manager
 * systemd): each container is a transient scope unit, PREFIX-NAME.scope in
 * a slice, made by systemd with the init's pid in it and delegated to moat
 * (Delegate=yes), as runc does. The limits systemd has properties for go
 * to the unit (so systemd keeps them), and all of them are written to the
 * scope's cgroup too by moat's own v2 writers (what has no property).
 *
 * systemd is reached through moat-sd, a small program linked dynamically
 * with libsystemd (sd-bus): moat is static and cannot load libsystemd
 * (src/moat-sd.c says more). Only the unified hierarchy (pure cgroup v2)
 * is supported. */
#ifndef MOAT_CGROUP_SYSTEMD_H
#define MOAT_CGROUP_SYSTEMD_H

#include <stdbool.h>
#include <sys/types.h>
#include "cgroup.h"
#include "error.h"

/* Where moat-sd is ($MOAT_SD, else next to the moat binary that was
 * started, else $(libexecdir)/moat/moat-sd), or NULL when it is not there. */
char *sdcg_helper (void);
/* Called by main before moat re-executes itself from a sealed copy (after
 * which its own path is no longer known): notes a moat-sd beside it in
 * $MOAT_SD, so a build tree finds its own helper. */
void sdcg_note_self (void);
/* Whether systemd runs as the init here (sd_booted(): /run/systemd/system). */
bool sdcg_systemd_running (void);

/* The unit of a container. */
struct sdcg_unit
{
  char *slice;        /* "system.slice" */
  char *unit;         /* "moat-ID.scope" */
  char *cgroup_path;  /* "/system.slice/moat-ID.scope", as cgroup_path_for's */
};
void sdcg_unit_free (struct sdcg_unit *u);

/* Whether the driver can work here: root, moat-sd, a running systemd, the
 * unified hierarchy. One line saying what is missing. */
int sdcg_check (moat_error **err);
/* linux.cgroupsPath in slice syntax ("slice:prefix:name"; none:
 * system.slice:moat:ID), checked as runc does, into U. */
int sdcg_prepare (const char *cgroups_path, const char *id, struct sdcg_unit *u, moat_error **err);

/* The unit's properties (NAME=TYPE:VALUE, moat-sd's form) for R and the
 * org.systemd.property.* annotations; with START also those a scope is
 * made with (Delegate, the accounting). A value not supported is an error
 * naming it. NULL-terminated. */
int sdcg_properties (const struct cg_resources *r, bool start, char *const *ann_keys, char *const *ann_values,
                     size_t n_ann, char ***out, moat_error **err);

/* StartTransientUnit with PID in it (PROPS from sdcg_properties), wait for
 * the job, then check that PID is in the scope's cgroup. -2 when systemd
 * could not be reached at all: nothing was asked, there is no unit to stop. */
int sdcg_start (const struct sdcg_unit *u, const char *id, pid_t pid, char *const *props, moat_error **err);
/* SetUnitProperties (runtime) of UNIT: moat update. */
int sdcg_set (const char *unit, char *const *props, moat_error **err);
/* StopUnit, wait, ResetFailedUnit; a unit systemd does not know is fine,
 * and one it has unloaded already (its transient file and CGROUP_PATH,
 * the scope's cgroup, both gone) is not asked about. */
int sdcg_stop (const char *unit, const char *cgroup_path, moat_error **err);

#endif
