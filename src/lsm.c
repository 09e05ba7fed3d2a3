#include "config-host.h"
#include "lsm.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define SELINUX_MAGIC 0xf97cff8c

bool
lsm_apparmor_enabled (void)
{
  /* The module's own switch: "Y" once it initialised as an active LSM
   * (built in but not chosen at boot reads "N"). runc also looks for
   * /sys/kernel/security/apparmor, but securityfs need not be mounted for
   * a profile to be set on exec (only for loading one). */
  cleanup_free char *buf = NULL;
  size_t len = 0;
  moat_error *e = NULL;
  if (read_file_at (AT_FDCWD, "/sys/module/apparmor/parameters/enabled", &buf, &len, 16, &e) < 0)
    {
      moat_error_free (&e);   /* no such module: not enabled */
      return false;
    }
  return len > 0 && buf[0] == 'Y';
}

bool
lsm_selinux_enabled (void)
{
  /* selinuxfs mounted where userspace looks for it, as libselinux decides. */
  struct statfs sf;
  return statfs ("/sys/fs/selinux", &sf) == 0 && (unsigned long) sf.f_type == SELINUX_MAGIC;
}

static bool
set (const char *s)
{
  return s && *s;
}

int
lsm_check (const struct moat_config *cfg, const char *what_aa, const char *what_se, moat_error **err)
{
  if (set (cfg->apparmor_profile) && !lsm_apparmor_enabled ())
    {
      cleanup_free char *shown = str_printable (cfg->apparmor_profile);
      return moat_error_set (err, 0,
                             "%s `%s`: AppArmor is not enabled on this host "
                             "(/sys/module/apparmor/parameters/enabled is not Y); the profile cannot be applied",
                             what_aa, shown);
    }
  if (set (cfg->selinux_label) && !lsm_selinux_enabled ())
    return moat_error_set (err, 0, "%s: selinux label is specified in config, but selinux is disabled or not supported",
                           what_se);
  if (set (cfg->mount_label) && !lsm_selinux_enabled ())
    return moat_error_set (err, 0, "linux.mountLabel: SELinux is disabled or not supported on this host; "
                                        "the mount label cannot be applied");
  return 0;
}

/* Write VALUE to /proc/thread-self/attr/NAME (the calling thread's own:
 * the attribute is per task, and a thread cloned after this inherits it).
 * 0; -1 when the module refused the write, -2 when the file could not be
 * opened (errno says why). */
static int
write_attr (const char *name, const char *value)
{
  char path[96];
  snprintf (path, sizeof path, "/proc/thread-self/attr/%s", name);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -2;   /* no such attribute (or no /proc): not the write's answer */
  size_t len = strlen (value);
  ssize_t n = write (fd, value, len);
  int e = errno;
  close (fd);
  if (n == (ssize_t) len)
    return 0;
  errno = n < 0 ? e : EIO;
  return -1;
}

static int
apply_apparmor (const char *profile, moat_error **err)
{
  cleanup_free char *cmd = xasprintf ("exec %s", profile);
  /* The module's own directory first (stacking-aware kernels), then the
   * shared attribute older kernels have. */
  int r = write_attr ("apparmor/exec", cmd);
  if (r == -2 && errno == ENOENT)
    r = write_attr ("exec", cmd);
  if (r == 0)
    return 0;
  int e = errno;
  cleanup_free char *shown = str_printable (profile);
  if (r == -2)
    return moat_error_set (err, e, "process.apparmorProfile `%s`: open /proc/thread-self/attr/exec "
                                   "(the container needs /proc mounted to take a profile)", shown);
  return moat_error_set (err, e, "process.apparmorProfile `%s`: set the profile on exec%s", shown,
                         e == ENOENT ? ": no profile of that name is loaded (load it with apparmor_parser -r)"
                         : e == EACCES || e == EPERM ? ": the current confinement does not allow the change"
                         : e == EINVAL ? ": AppArmor is not the module in charge of this task" : "");
}

int
lsm_apply_exec (const struct moat_config *cfg, moat_error **err)
{
  if (set (cfg->apparmor_profile) && apply_apparmor (cfg->apparmor_profile, err) < 0)
    return -1;
  if (set (cfg->selinux_label) && write_attr ("exec", cfg->selinux_label) < 0)
    {
      int e = errno;
      cleanup_free char *shown = str_printable (cfg->selinux_label);
      return moat_error_set (err, e, "process.selinuxLabel `%s`: set the exec label%s", shown,
                             e == EINVAL ? ": not a valid context for this policy" : "");
    }
  return 0;
}

int
lsm_apply_keycreate (const struct moat_config *cfg, moat_error **err)
{
  if (!set (cfg->selinux_label) || write_attr ("keycreate", cfg->selinux_label) == 0)
    return 0;
  int e = errno;
  cleanup_free char *shown = str_printable (cfg->selinux_label);
  return moat_error_set (err, e, "process.selinuxLabel `%s`: set the keycreate label", shown);
}

char *
lsm_mount_data (const char *type, const char *data, const char *label)
{
  static const char *const unlabelled[] = { "", "bind", "proc", "sysfs", "cgroup", "cgroup2", "mqueue", NULL };
  if (!set (label) || type == NULL)
    return NULL;
  for (size_t i = 0; unlabelled[i]; i++)
    if (strcmp (type, unlabelled[i]) == 0)
      return NULL;
  /* Quoted: a context holds commas (an MCS range "s0:c1,c2"). */
  return set (data) ? xasprintf ("%s,context=\"%s\"", data, label) : xasprintf ("context=\"%s\"", label);
}
