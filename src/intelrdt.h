/* moat — linux.intelRdt. runtime-spec: with intelRdt set and no resctrl
 * file system mounted, the runtime must fail. moat does not drive resctrl
 * yet, so it refuses intelRdt either way, saying which case it is. */
#ifndef MOAT_INTELRDT_H
#define MOAT_INTELRDT_H

#include <yajl/yajl_tree.h>

#include "error.h"

/* Where resctrl is mounted (from /proc/self/mountinfo), or NULL. */
char *intelrdt_resctrl_mount (void);
/* LX: the linux object (may be NULL). An error naming linux.intelRdt when
 * it is set; its members are type-checked first. */
int intelrdt_check (yajl_val lx, const char *doc, moat_error **err);

#endif
