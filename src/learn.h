/* moat — learn and explain (see learn.c). */
#ifndef MOAT_LEARN_H
#define MOAT_LEARN_H

#include "error.h"

/* Write BASE plus an allow rule for every call the log of ID shows stopped
 * (or logged, after `run --learn`), each with a comment naming the process
 * that needed it, to OUT ("-" or NULL: stdout). */
int learn_generate (const char *audit_dir, const char *id, const char *base, const char *out, moat_error **err);
/* For each distinct stopped thing in the log of ID: the wall, the rule,
 * and the smallest change that would let it through. */
int learn_explain (const char *audit_dir, const char *id, moat_error **err);

#endif
