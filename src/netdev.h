/* moat — linux.netDevices (runtime-spec 1.3): host network interfaces moved
 * into the container's network namespace, renamed on the way if asked, by
 * the parent (RTM_NEWLINK with IFLA_NET_NS_FD) before the init is let go.
 * Nothing moves them back: when the namespace ends the kernel returns a
 * physical device to the host's and destroys a virtual one. */
#ifndef MOAT_NETDEV_H
#define MOAT_NETDEV_H

#include <sys/types.h>

#include "config.h"
#include "error.h"

struct moat_netdev
{
  char *host_name;    /* the key: its name in the runtime's namespace */
  char *name;         /* its name in the container's (NULL: the same) */
};

/* Parse linux.netDevices (LX: the linux object) into *OUT; errors name
 * the field. A container without a network namespace of its own is refused. */
int netdev_parse (yajl_val lx, const struct moat_config *cfg, const char *doc, struct moat_netdev **out, size_t *n,
                  moat_error **err);
void netdev_free (struct moat_netdev *v, size_t n);

/* Move each device into the network namespace of PID (or the one at
 * linux.namespaces' path). */
int netdev_move (const struct moat_config *cfg, const struct moat_netdev *v, size_t n, pid_t pid, moat_error **err);

#endif
