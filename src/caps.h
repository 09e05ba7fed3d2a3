/* moat — the capability wall (core part): the five capability sets of
 * process.capabilities, applied with libcap. */
#ifndef MOAT_CAPS_H
#define MOAT_CAPS_H

#include "config.h"
#include "error.h"

/* Every name in every set is known to libcap; else an error naming it. */
int caps_validate (const struct moat_caps *c, moat_error **err);
/* NAME is a capability as `exec --cap` takes one: CAP_CHOWN, cap_chown or
 * CHOWN. */
bool caps_name_known (const char *name);
/* Drop from the bounding set what is not listed (needs CAP_SETPCAP: call
 * before changing uid). A NULL bounding list is empty: everything goes. */
int caps_drop_bounding (const struct moat_caps *c, moat_error **err);
/* After setresuid (with PR_SET_KEEPCAPS): set effective, permitted,
 * inheritable exactly as listed, then the ambient set: each listed one the
 * kernel lets raise (runc's rule: the others are left out, not an error). */
int caps_apply (const struct moat_caps *c, moat_error **err);
/* A warning for each ambient capability caps_apply will leave out (not in
 * both the permitted and the inheritable set). */
void caps_warn_ambient (const struct moat_caps *c);

#endif
