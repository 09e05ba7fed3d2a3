/* moat — OCI hooks: each run as its own process with the container's state
 * JSON on stdin, its env (or moat's when it has none), and a timeout; a
 * failing hook fails the step, except after start (hooks_run_all). */
#ifndef MOAT_HOOKS_H
#define MOAT_HOOKS_H

#include "config.h"
#include "error.h"

const char *hook_stage_name (enum moat_hook_stage s);
/* Run every hook of STAGE in order; stop at the first failure. CWD is the
 * directory hooks run in (the bundle), or NULL to stay where we are. */
int hooks_run (const struct moat_config *cfg, enum moat_hook_stage stage, const char *state_json,
               const char *cwd, moat_error **err);
/* poststart and poststop: a failing hook is a warning, and the remaining
 * hooks of the stage still run (runtime-spec, runtime.md: "the remaining
 * hooks and lifecycle continue as if the hook had succeeded"). */
void hooks_run_all (const struct moat_config *cfg, enum moat_hook_stage stage, const char *state_json,
                    const char *cwd);

#endif
