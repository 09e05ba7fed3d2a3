/* moat — protection of the host's moat binary (the runc CVE-2019-5736 class).
 *
 * A process that enters a container runs moat's code inside it until it
 * execs the workload. If the container can make it exec /proc/self/exe (a
 * "#!/proc/self/exe" workload), or open /proc/PID/exe of it, it reaches the
 * host's moat binary and can overwrite it. So before entering a container,
 * moat re-executes itself from a sealed memfd copy: /proc/self/exe is then
 * a sealed, read-only in-memory file, not the host binary. */
#ifndef MOAT_SELFEXE_H
#define MOAT_SELFEXE_H

#include "error.h"

/* Returns 0 when already running from a sealed copy; otherwise fexecve()s
 * the copy (and does not return) or fails with an error. The copy is the
 * one a running container's supervisor under ROOT (the state directory)
 * runs from, when there is one and it is this very program; else a new one. */
int selfexe_ensure_sealed (char **argv, const char *root, moat_error **err);

#endif
