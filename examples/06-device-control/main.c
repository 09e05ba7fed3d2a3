/* 06-device-control: the walls in front of device control.
 *
 * A device that does DMA can read and write any physical memory, so whoever
 * controls it controls the machine.  From user space the levers are a PCI
 * device's configuration space (/sys/bus/pci/devices/X/config: writing it
 * can remap the device's BARs or turn on bus mastering, i.e. DMA) and device
 * nodes (/dev/sda, /dev/nvme0...: the raw disk under every file system;
 * /dev/loop0 here, a harmless stand-in).  A container is kept off those
 * levers by:
 *
 *   - the seccomp filter, first: under strict.json opening anything for
 *     writing and mknod are denied, and audited;
 *   - a read-only /sys: the config file opens for reading (the first 64
 *     bytes are world-readable) but not for writing: EROFS;
 *   - capabilities: mknod of a device node needs CAP_MKNOD (default.json
 *     keeps it, as Docker does; strict.json does not);
 *   - the devices cgroup: even with a node and CAP_MKNOD, opening a device
 *     the container's allowlist does not name fails EPERM (config.json's
 *     linux.resources.devices, "deny all" plus the default /dev nodes).
 *
 * The program tries each lever and says which wall answered.  Where two
 * walls both say EPERM it repeats the call with an invalid argument that
 * the kernel itself would refuse with EINVAL: EPERM again means the seccomp
 * filter answered before the kernel looked at the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *
en (int e)
{
  return strerrorname_np (e) ? strerrorname_np (e) : "E?";
}

static void
pci_config (void)
{
  glob_t g;
  if (glob ("/sys/bus/pci/devices/*/config", 0, NULL, &g) != 0)
    {
      printf ("pci: no PCI devices visible in /sys\n");
      return;
    }
  const char *cfg = g.gl_pathv[0];
  unsigned char id[4] = { 0 };
  int fd = open (cfg, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && pread (fd, id, 4, 0) == 4)
    printf ("pci: %s: read vendor 0x%02x%02x device 0x%02x%02x (reading is allowed)\n", cfg, id[1], id[0],
            id[3], id[2]);
  if (fd >= 0)
    close (fd);

  fd = open (cfg, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      printf ("pci: %s: OPENED FOR WRITING (no wall!); nothing written\n", cfg);
      close (fd);
    }
  else if (errno == EROFS)
    printf ("pci: %s: open for writing: EROFS: /sys is mounted read-only\n", cfg);
  else if (errno == EPERM)
    printf ("pci: %s: open for writing: EPERM: the seccomp filter (no write opens)\n", cfg);
  else
    printf ("pci: %s: open for writing: %s\n", cfg, en (errno));
  globfree (&g);
}

static void
device_node (void)
{
  /* The host's first loop device, block 7:0.  The prize would be the disk
     under the host's file systems; loop0 makes the same point harmlessly:
     a host block device that the container's allowlist does not name.
     (An unbound loop device opens, and reads 0 bytes.)  The node goes in
     /dev, the container's own tmpfs, which is not mounted nodev. */
  const char *node = "/dev/loop0";
  if (mknod (node, S_IFBLK | 0600, makedev (7, 0)) != 0)
    {
      int e = errno;
      /* mode 0170000 is no file type: the kernel itself says EINVAL */
      int probe = mknod ("/dev/probe", 0170000 | 0600, 0) < 0 ? errno : 0;
      printf ("dev: mknod(%s, b 7:0): %s%s\n", node, en (e),
              e != EPERM ? ""
              : probe == EPERM ? ": the seccomp filter (the probe got EPERM too, not the kernel's EINVAL)"
              : ": no CAP_MKNOD (the capability wall)");
      return;
    }
  printf ("dev: mknod(%s, b 7:0): ok (CAP_MKNOD is kept)\n", node);
  int fd = open (node, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    printf ("dev: open(%s, O_RDONLY): %s%s\n", node, en (errno),
            errno == EPERM ? ": the devices cgroup (7:0 is not in the allowlist)" : "");
  else
    {
      char sector[512];
      ssize_t n = read (fd, sector, sizeof sector);
      printf ("dev: open(%s, O_RDONLY): OPENED, read returned %zd: "
              "NO WALL (the devices cgroup did not stop it)\n", node, n);
      close (fd);
    }
  unlink (node);
}

int
main (void)
{
  pci_config ();
  device_node ();
  return 0;
}
