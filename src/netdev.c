#include "config-host.h"
#include "netdev.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the kernel takes as an interface name (dev_valid_name): 1 to 15
 * bytes, not "." or "..", no '/', ':' or blank. */
static bool
valid_ifname (const char *s)
{
  size_t l = strlen (s);
  if (l == 0 || l >= IFNAMSIZ || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (const char *p = s; *p; p++)
    if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
      return false;
  return true;
}

void
netdev_free (struct moat_netdev *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    {
      free (v[i].host_name);
      free (v[i].name);
    }
  free (v);
}

int
netdev_parse (yajl_val lx, const struct moat_config *cfg, const char *doc, struct moat_netdev **out, size_t *n,
              moat_error **err)
{
  *out = NULL;
  *n = 0;
  yajl_val obj = NULL;
  if (lx == NULL || json_get_object (lx, "netDevices", doc, "linux", &obj, false, err) < 0)
    return lx == NULL ? 0 : -1;
  if (obj == NULL || YAJL_GET_OBJECT (obj)->len == 0)
    return 0;
  if (!cfg->ns[MOAT_NS_NET].present)
    return json_error (err, doc, "linux.netDevices", "needs a network namespace of the container's own "
                       "(linux.namespaces has no \"network\"): moving a device into the host's is no move");
  size_t len = YAJL_GET_OBJECT (obj)->len;
  struct moat_netdev *v = xmalloc0 (len * sizeof *v);
  for (size_t i = 0; i < len; i++)
    {
      const char *key = YAJL_GET_OBJECT (obj)->keys[i];
      yajl_val e = YAJL_GET_OBJECT (obj)->values[i];
      cleanup_free char *p = json_path_key ("linux.netDevices", key);
      v[i].host_name = xstrdup (key);
      *n = i + 1;
      if (!valid_ifname (key))
        {
          cleanup_free char *shown = json_printable (key);
          json_error (err, doc, p, "`%s` is not an interface name", shown);
          goto fail;
        }
      if (json_as_object (e, doc, p, err) < 0 || json_get_string (e, "name", doc, p, &v[i].name, false, err) < 0)
        goto fail;
      if (v[i].name && *v[i].name == '\0')
        {
          free (v[i].name);
          v[i].name = NULL;
        }
      if (v[i].name && !valid_ifname (v[i].name))
        {
          cleanup_free char *np = json_path_key (p, "name");
          cleanup_free char *shown = json_printable (v[i].name);
          json_error (err, doc, np, "`%s` is not an interface name (1 to 15 bytes, no '/', ':' or blank)", shown);
          goto fail;
        }
      const char *mine = v[i].name ? v[i].name : v[i].host_name;
      for (size_t k = 0; k < i; k++)
        if (strcmp (mine, v[k].name ? v[k].name : v[k].host_name) == 0)
          {
            json_error (err, doc, p, "two devices would be `%s` in the container", mine);
            goto fail;
          }
    }
  *out = v;
  return 0;
fail:
  netdev_free (v, *n);
  *n = 0;
  return -1;
}

struct nlreq
{
  struct nlmsghdr h;
  struct ifinfomsg i;
  char attrs[64];
};

static void
add_attr (struct nlreq *r, unsigned short type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *) ((char *) r + NLMSG_ALIGN (r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short) RTA_LENGTH (len);
  memcpy (RTA_DATA (a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN (r->h.nlmsg_len) + RTA_ALIGN (a->rta_len);
}

/* One RTM_NEWLINK: into NSFD, named NAME there; the kernel's answer. */
static int
move_one (int sock, const struct moat_netdev *d, int nsfd, unsigned seq, moat_error **err)
{
  unsigned idx = if_nametoindex (d->host_name);
  if (idx == 0)
    return moat_error_set (err, errno, "linux.netDevices.%s: no such network interface on the host", d->host_name);
  struct nlreq r;
  memset (&r, 0, sizeof r);
  r.h.nlmsg_len = NLMSG_LENGTH (sizeof (struct ifinfomsg));
  r.h.nlmsg_type = RTM_NEWLINK;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  r.h.nlmsg_seq = seq;
  r.i.ifi_family = AF_UNSPEC;
  r.i.ifi_index = (int) idx;
  uint32_t fd = (uint32_t) nsfd;
  add_attr (&r, IFLA_NET_NS_FD, &fd, sizeof fd);
  /* The new name goes with the move, in one step: a rename after it could
   * meet a device of that name already there. */
  if (d->name)
    add_attr (&r, IFLA_IFNAME, d->name, strlen (d->name) + 1);
  if (send (sock, &r, r.h.nlmsg_len, 0) < 0)
    return moat_error_set (err, errno, "linux.netDevices.%s: netlink send", d->host_name);
  char buf[4096];
  for (;;)
    {
      ssize_t got = recv (sock, buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return moat_error_set (err, errno, "linux.netDevices.%s: netlink receive", d->host_name);
      for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK (h, (unsigned) got); h = NLMSG_NEXT (h, got))
        {
          if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
            continue;
          int e = -((struct nlmsgerr *) NLMSG_DATA (h))->error;
          if (e == 0)
            return 0;
          return moat_error_set (err, e, "linux.netDevices.%s: move into the container's network namespace%s%s",
                                 d->host_name, d->name ? " as " : "", d->name ? d->name : "");
        }
    }
}

int
netdev_move (const struct moat_config *cfg, const struct moat_netdev *v, size_t n, pid_t pid, moat_error **err)
{
  if (n == 0)
    return 0;
  const char *path = cfg->ns[MOAT_NS_NET].path;
  cleanup_free char *own = path ? NULL : xasprintf ("/proc/%d/ns/net", (int) pid);
  cleanup_close int nsfd = open (path ? path : own, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return moat_error_set (err, errno, "linux.netDevices: open the container's network namespace `%s`", path ? path : own);
  cleanup_close int sock = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0)
    return moat_error_set (err, errno, "linux.netDevices: netlink socket");
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind (sock, (struct sockaddr *) &sa, sizeof sa) < 0)
    return moat_error_set (err, errno, "linux.netDevices: bind netlink socket");
  for (size_t i = 0; i < n; i++)
    if (move_one (sock, &v[i], nsfd, (unsigned) i + 1, err) < 0)
      return -1;
  return 0;
}
