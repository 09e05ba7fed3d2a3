#include "config-host.h"
#include "landlock.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older uapi headers lack the later rights; the kernel knows them by ABI. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

int
landlock_abi (void)
{
  long v = syscall (SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? -1 : (int) v;
}

/* Every filesystem right this ABI can handle: all of them are denied unless
 * a rule grants them. */
static uint64_t
handled (int abi)
{
  uint64_t h = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
               | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE
               | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG
               | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK
               | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2)
    h |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    h |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return h;
}

/* read, write, execute in Landlock's rights; a file (not a directory) can
 * only carry the rights that act on files. */
static uint64_t
rights_for (unsigned access, bool dir, uint64_t h)
{
  uint64_t r = 0;
  if (access & MOAT_FS_READ)
    r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  if (access & MOAT_FS_WRITE)
    r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE
         | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG
         | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK
         | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE
         | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  if (access & MOAT_FS_EXECUTE)
    r |= LANDLOCK_ACCESS_FS_EXECUTE;
  if (!dir)
    r &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
         | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return r & h;
}

int
landlock_apply (const struct moat_fs_rule *rules, size_t n, moat_error **err)
{
  int abi = landlock_abi ();
  if (abi < 0)
    return moat_error_set (err, errno, "policy filesystem: Landlock is not available on this kernel; "
                                       "refusing to run without the wall the policy asks for");
  uint64_t h = handled (abi);
  struct landlock_ruleset_attr attr = { .handled_access_fs = h };
  cleanup_close int rs = (int) syscall (SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs < 0)
    return moat_error_set (err, errno, "policy filesystem: create the Landlock ruleset");
  for (size_t i = 0; i < n; i++)
    {
      /* Resolved from the container's root; a symlink is followed inside it. */
      cleanup_close int fd = open (rules[i].path, O_PATH | O_CLOEXEC);
      if (fd < 0)
        {
          cleanup_free char *shown = str_printable (rules[i].path);
          return moat_error_set (err, errno, "policy filesystem[%zu]: `%s` in the container", i, shown);
        }
      struct stat st;
      if (fstat (fd, &st) < 0)
        {
          cleanup_free char *shown = str_printable (rules[i].path);
          return moat_error_set (err, errno, "policy filesystem[%zu]: stat `%s`", i, shown);
        }
      struct landlock_path_beneath_attr pb = { .allowed_access = rights_for (rules[i].access, S_ISDIR (st.st_mode), h),
                                               .parent_fd = fd };
      if (pb.allowed_access == 0)
        continue;
      if (syscall (SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
        {
          cleanup_free char *shown = str_printable (rules[i].path);
          return moat_error_set (err, errno, "policy filesystem[%zu]: add the rule for `%s`", i, shown);
        }
    }
  if (syscall (SYS_landlock_restrict_self, rs, 0) < 0)
    return moat_error_set (err, errno, "policy filesystem: enforce the Landlock ruleset");
  return 0;
}
