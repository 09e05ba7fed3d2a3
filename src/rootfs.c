#include "config-host.h"
#include "rootfs.h"
#include "mountopts.h"
#include "lsm.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROCFD(buf, fd) (snprintf ((buf), sizeof (buf), "/proc/self/fd/%d", (fd)), (buf))

static int
sys_openat2 (int dirfd, const char *path, int flags, unsigned long long resolve)
{
  struct open_how how = { .flags = (unsigned long long) flags | O_CLOEXEC, .resolve = resolve };
  return (int) syscall (SYS_openat2, dirfd, path, &how, sizeof how);
}

int
resolve_in_root (int rootfd, const char *path, int flags, int *out, moat_error **err)
{
  int fd;
  do
    fd = sys_openat2 (rootfd, path, O_PATH | flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  while (fd < 0 && errno == EAGAIN);   /* a concurrent rename: openat2 asks to retry */
  if (fd < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "resolve `%s` in the rootfs", shown);
    }
  *out = fd;
  return 0;
}

/* Split a path into clean components: "", "." dropped; ".." pops lexically
 * (it cannot climb above the root anyway under RESOLVE_IN_ROOT). */
static char **
path_components (const char *path, size_t *n)
{
  cleanup_free char *copy = xstrdup (path);
  char **v = xmalloc0 ((strlen (path) / 2 + 2) * sizeof (char *));
  size_t k = 0;
  char *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          if (k > 0)
            free (v[--k]);
          v[k] = NULL;
          continue;
        }
      v[k++] = xstrdup (c);
    }
  v[k] = NULL;
  *n = k;
  return v;
}

/* The path of the directory DIRFD inside the rootfs ROOTFD ("" for the
 * root itself), from the kernel's own record of both (/proc/self/fd), so a
 * symlink met on the way is what it resolved to, not what its name says. */
static int
path_in_root (int rootfd, int dirfd, char **out, moat_error **err)
{
  char p[64], root[4096], dir[4096];
  ssize_t rl = readlink (PROCFD (p, rootfd), root, sizeof root - 1);
  ssize_t dl = rl < 0 ? -1 : readlink (PROCFD (p, dirfd), dir, sizeof dir - 1);
  if (rl < 0 || dl < 0)
    return moat_error_set (err, errno, "read the path of a directory in the rootfs");
  root[rl] = dir[dl] = '\0';
  size_t n = strcmp (root, "/") == 0 ? 0 : (size_t) rl;
  if (strncmp (dir, root, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
    return moat_error_set (err, EXDEV, "a directory met in the rootfs is outside it");
  *out = xstrdup (dir + n);
  return 0;
}

int
mkdir_in_root (int rootfd, const char *path, bool dir, mode_t mode, int *out, moat_error **err)
{
  size_t n;
  cleanup_strv char **comp = path_components (path, &n);
  cleanup_close int parent = sys_openat2 (rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
  if (parent < 0)
    return moat_error_set (err, errno, "open rootfs");
  cleanup_free char *prefix = xstrdup ("");
  int links = 0;
  for (size_t i = 0; i < n; i++)
    {
      bool last = (i + 1 == n);
      char *p = xasprintf ("%s/%s", prefix, comp[i]);
      free (prefix);
      prefix = p;
      /* Each prefix is resolved from the rootfs itself, so a symlink met on
       * the way (absolute or relative) is followed inside the rootfs. */
      int fd = sys_openat2 (rootfd, prefix, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      if (fd < 0 && errno == ENOENT)
        {
          /* A dangling symlink: its target is made, inside the rootfs, as
           * runc's securejoin resolves it (an image's /var/run -> /run with
           * no /run yet). The walk starts again from the root with the
           * target in place of the link; a relative target counts from the
           * directory the link is in, as the kernel reads it. */
          char target[4096];
          ssize_t tl = readlinkat (parent, comp[i], target, sizeof target - 1);
          if (tl >= 0)
            {
              if (++links > 40)
                {
                  cleanup_free char *shown = str_printable (path);
                  return moat_error_set (err, ELOOP, "resolve `%s` in the rootfs", shown);
                }
              target[tl] = '\0';
              cleanup_free char *base = NULL;
              if (target[0] != '/' && path_in_root (rootfd, parent, &base, err) < 0)
                return -1;
              char *rest = xasprintf ("%s/%s", base ? base : "", target);
              for (size_t j = i + 1; j < n; j++)
                {
                  char *r = xasprintf ("%s/%s", rest, comp[j]);
                  free (rest);
                  rest = r;
                }
              strv_free (comp);
              comp = path_components (rest, &n);
              free (rest);
              close (parent);
              parent = sys_openat2 (rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
              if (parent < 0)
                return moat_error_set (err, errno, "open rootfs");
              free (prefix);
              prefix = xstrdup ("");
              i = (size_t) -1;   /* the loop's i++ makes it 0 */
              if (n == 0)
                break;
              continue;
            }
          /* Create the missing component by name in its resolved parent:
           * mkdirat/openat(O_EXCL|O_NOFOLLOW) never follow the last link. */
          int r;
          if (last && !dir)
            {
              r = openat (parent, comp[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
              if (r >= 0)
                close (r);
            }
          else
            r = mkdirat (parent, comp[i], mode);
          if (r < 0 && errno != EEXIST)
            {
              cleanup_free char *shown = str_printable (prefix);
              return moat_error_set (err, errno, "create `%s` in the rootfs", shown);
            }
          fd = sys_openat2 (rootfd, prefix, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        }
      if (fd < 0)
        {
          cleanup_free char *shown = str_printable (prefix);
          return moat_error_set (err, errno, "resolve `%s` in the rootfs", shown);
        }
      if (!last)
        {
          struct stat st;
          if (fstat (fd, &st) < 0 || !S_ISDIR (st.st_mode))
            {
              close (fd);
              cleanup_free char *shown = str_printable (prefix);
              return moat_error_set (err, ENOTDIR, "resolve `%s` in the rootfs", shown);
            }
        }
      close (parent);
      parent = fd;
    }
  *out = steal_fd (&parent);
  return 0;
}

/* Flags a bind remount must keep: in a user namespace the kernel locks
 * nosuid/nodev/noexec/ro inherited from the host, and a remount that drops
 * them fails with EPERM. */
static unsigned long
locked_flags (int fd)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs (fd, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

#define BIND_REMOUNT_MASK (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME \
                           | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS \
                           | MS_DIRSYNC | MS_MANDLOCK)

/* Make the mount at DEST (inside rootfd) read-only, recursively. */
static int
make_readonly (int rootfd, const char *dest, bool userns, moat_error **err)
{
  cleanup_close int fd = -1;
  if (resolve_in_root (rootfd, dest, 0, &fd, err) < 0)
    return -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
    return 0;
  if (errno != ENOSYS)
    {
      cleanup_free char *shown = str_printable (dest);
      return moat_error_set (err, errno, "make `%s` read-only", shown);
    }
  char p[64];
  unsigned long extra = userns ? locked_flags (fd) : 0;
  if (mount (NULL, PROCFD (p, fd), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (dest);
      return moat_error_set (err, errno, "make `%s` read-only", shown);
    }
  return 0;
}

static int
bind_mount (int rootfd, const char *src, const char *dest, unsigned long flags,
            unsigned long clear, bool userns, bool src_is_dir, moat_error **err)
{
  cleanup_close int target = -1;
  if (mkdir_in_root (rootfd, dest, src_is_dir, 0755, &target, err) < 0)
    return -1;
  char p[64];
  if (mount (src, PROCFD (p, target), NULL, MS_BIND | (flags & MS_REC), NULL) < 0)
    {
      cleanup_free char *shown = str_printable (src);
      cleanup_free char *shown2 = str_printable (dest);
      return moat_error_set (err, errno, "bind mount `%s` on `%s`", shown, shown2);
    }
  unsigned long want = flags & BIND_REMOUNT_MASK;
  if (want == 0)
    return 0;
  /* The remount must address the new mount, so look the path up again: the
   * old fd still points at the mount point underneath. */
  cleanup_close int fresh = -1;
  if (resolve_in_root (rootfd, dest, 0, &fresh, err) < 0)
    return -1;
  if (userns)
    want |= locked_flags (fresh) & ~clear;
  if (mount (NULL, PROCFD (p, fresh), NULL, MS_REMOUNT | MS_BIND | want, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (dest);
      return moat_error_set (err, errno, "remount `%s` with its options", shown);
    }
  return 0;
}

static int
set_propagation (int rootfd, const char *dest, unsigned long prop, moat_error **err)
{
  if (prop == 0)
    return 0;
  cleanup_close int fd = -1;
  if (resolve_in_root (rootfd, dest, 0, &fd, err) < 0)
    return -1;
  char p[64];
  if (mount (NULL, PROCFD (p, fd), NULL, prop, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (dest);
      return moat_error_set (err, errno, "set propagation of `%s`", shown);
    }
  return 0;
}

/* A "cgroup" mount. On a pure v2 host it is cgroup2. On v1 or hybrid hosts it
 * is a tmpfs holding one mount per hierarchy, as runc lays it out: with a
 * cgroup namespace each hierarchy is mounted afresh (showing only the
 * container's subtree); without one, the container's own cgroup directory is
 * bind-mounted from the host. */
static int
mount_cgroup (const struct rootfs_ctx *ctx, int rootfd, const struct moat_mount *m, moat_error **err)
{
  struct statfs sfs;
  bool cgns = ctx->cfg->ns[MOAT_NS_CGROUP].present;
  unsigned long flags = (m->flags & ~(MS_REC | MS_BIND | MS_RDONLY)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  cleanup_close int target = -1;
  char p[64];
  if (mkdir_in_root (rootfd, m->destination, true, 0755, &target, err) < 0)
    return -1;
  if (statfs ("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
    {
      if (cgns)
        {
          if (mount ("cgroup2", PROCFD (p, target), "cgroup2", flags | (m->flags & MS_RDONLY), NULL) < 0)
            {
              cleanup_free char *shown = str_printable (m->destination);
              return moat_error_set (err, errno, "mount cgroup2 on `%s`", shown);
            }
          return 0;
        }
      cleanup_free char *src = xasprintf ("/sys/fs/cgroup%s", ctx->cgroup_path ? ctx->cgroup_path : "");
      return bind_mount (rootfd, src, m->destination, MS_BIND | MS_REC | flags | (m->flags & MS_RDONLY),
                         0, ctx->userns, true, err);
    }

  if (mount ("tmpfs", PROCFD (p, target), "tmpfs", flags, "mode=755") < 0)
    {
      cleanup_free char *shown = str_printable (m->destination);
      return moat_error_set (err, errno, "mount tmpfs on `%s`", shown);
    }

  cleanup_file FILE *mi = fopen ("/proc/self/mountinfo", "re");
  if (mi == NULL)
    return moat_error_set (err, errno, "open /proc/self/mountinfo");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, mi) > 0)
    {
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
      char *sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      char mnt[4096], fstype[64], source[256], super[1024];
      if (sscanf (line, "%*s %*s %*s %*s %4095s", mnt) != 1
          || sscanf (sep + 3, "%63s %255s %1023s", fstype, source, super) != 3)
        continue;
      if (strncmp (mnt, "/sys/fs/cgroup/", 15) != 0)
        continue;
      const char *name = mnt + 15;
      if (strchr (name, '/'))
        continue;
      bool v2 = strcmp (fstype, "cgroup2") == 0;
      if (!v2 && strcmp (fstype, "cgroup") != 0)
        continue;
      cleanup_free char *dest = xasprintf ("%s/%s", m->destination, name);
      cleanup_close int sub = -1;
      if (mkdir_in_root (rootfd, dest, true, 0755, &sub, err) < 0)
        return -1;
      if (cgns)
        {
          /* The hierarchy's controllers are its super options minus rw/ro. */
          char opts[1024] = "";
          char *save = NULL;
          for (char *o = strtok_r (super, ",", &save); o; o = strtok_r (NULL, ",", &save))
            {
              if (strcmp (o, "rw") == 0 || strcmp (o, "ro") == 0)
                continue;
              if (*opts)
                strncat (opts, ",", sizeof opts - strlen (opts) - 1);
              strncat (opts, o, sizeof opts - strlen (opts) - 1);
            }
          if (mount ("cgroup", PROCFD (p, sub), v2 ? "cgroup2" : "cgroup", flags,
                     v2 ? NULL : opts) < 0)
            {
              cleanup_free char *shown = str_printable (name);
              cleanup_free char *shown2 = str_printable (dest);
              return moat_error_set (err, errno, "mount cgroup `%s` on `%s`", shown, shown2);
            }
        }
      else
        {
          cleanup_free char *src = xasprintf ("%s%s", mnt, ctx->cgroup_path ? ctx->cgroup_path : "");
          if (bind_mount (rootfd, src, dest, MS_BIND | MS_REC | flags, 0, ctx->userns, true, err) < 0)
            return -1;
        }
      /* Hosts link "cpu" -> "cpu,cpuacct": give the container the same names. */
      if (!v2 && strchr (name, ','))
        {
          cleanup_free char *names = xstrdup (name);
          char *save2 = NULL;
          for (char *c = strtok_r (names, ",", &save2); c; c = strtok_r (NULL, ",", &save2))
            {
              cleanup_close int dfd = -1;
              if (resolve_in_root (rootfd, m->destination, O_DIRECTORY, &dfd, err) < 0)
                return -1;
              (void) symlinkat (name, dfd, c);
            }
        }
    }
  if (m->flags & MS_RDONLY)
    {
      cleanup_close int fresh = -1;
      if (resolve_in_root (rootfd, m->destination, 0, &fresh, err) < 0)
        return -1;
      if (mount (NULL, PROCFD (p, fresh), NULL, MS_REMOUNT | flags | MS_RDONLY, "mode=755") < 0)
        {
          cleanup_free char *shown = str_printable (m->destination);
          return moat_error_set (err, errno, "make `%s` read-only", shown);
        }
    }
  return 0;
}

/* Does the comma-separated option list DATA hold NAME=...? */
static bool
has_option (const char *data, const char *name)
{
  size_t l = strlen (name);
  for (const char *o = data; o && *o; o = strchr (o, ','), o = o ? o + 1 : NULL)
    if (strncmp (o, name, l) == 0 && o[l] == '=')
      return true;
  return false;
}

static int
do_mount_plain (const struct rootfs_ctx *ctx, int rootfd, size_t idx, moat_error **err)
{
  const struct moat_mount *m = &ctx->cfg->mounts[idx];
  const char *type = m->type ? m->type : "";
  unsigned long prop = m->propagation;

  if (m->bind)
    {
      if (m->source == NULL)
        {
          cleanup_free char *shown = str_printable (m->destination);
          return moat_error_set (err, 0, "mounts[%zu]: bind mount of `%s` has no source", idx, shown);
        }
      /* In a user namespace the source may sit where the container's root
       * cannot look (a 0700 directory of the host's root): `moat create`
       * opened it for us, as itself (rootfs_open_bind_sources). */
      int sfd = ctx->src_fds ? ctx->src_fds[idx] : -1;
      char sp[64];
      const char *src = sfd >= 0 ? PROCFD (sp, sfd) : m->source;
      struct stat st;
      if (stat (src, &st) < 0)
        {
          cleanup_free char *shown = str_printable (m->source);
          return moat_error_set (err, errno, "mounts[%zu]: bind source `%s`", idx, shown);
        }
      int r = bind_mount (rootfd, src, m->destination, m->flags, m->clear_flags, ctx->userns, S_ISDIR (st.st_mode),
                          err);
      if (r < 0 && sfd >= 0 && (*err)->errnum == EINVAL)
        {
          /* The source went through a magic link of create's (/proc/self/...):
           * its mount is not in our namespace. The path, then. */
          moat_error_free (err);
          r = bind_mount (rootfd, m->source, m->destination, m->flags, m->clear_flags, ctx->userns,
                          S_ISDIR (st.st_mode), err);
        }
      if (r < 0)
        return -1;
      return set_propagation (rootfd, m->destination, prop, err);
    }
  if (strcmp (type, "cgroup") == 0)
    return mount_cgroup (ctx, rootfd, m, err);

  /* A tmpfs without mode= takes the mode of the directory it covers, as
   * runc's does (an image's 1777 /tmp, or a 0700 one, stays so); a new
   * mount point keeps tmpfs' own default. */
  cleanup_free char *data = NULL;
  cleanup_close int existing = -1;
  moat_error *ignored = NULL;
  struct stat dst;
  if (strcmp (type, "tmpfs") == 0 && !has_option (m->data, "mode")
      && resolve_in_root (rootfd, m->destination, 0, &existing, &ignored) == 0
      && fstat (existing, &dst) == 0 && S_ISDIR (dst.st_mode))
    data = m->data ? xasprintf ("%s,mode=%04o", m->data, (unsigned) (dst.st_mode & 07777))
                   : xasprintf ("mode=%04o", (unsigned) (dst.st_mode & 07777));
  moat_error_free (&ignored);
  /* linux.mountLabel (checked at create: SELinux is enabled). */
  char *labelled = lsm_mount_data (type, data ? data : m->data, ctx->cfg->mount_label);
  if (labelled)
    {
      free (data);
      data = labelled;
    }
  cleanup_close int target = -1;
  if (mkdir_in_root (rootfd, m->destination, true, 0755, &target, err) < 0)
    return -1;
  char p[64];
  unsigned long flags = m->flags & ~(MS_BIND | MS_REC);
  if (mount (m->source ? m->source : type, PROCFD (p, target), type, flags, data ? data : m->data) < 0)
    {
      int e = errno;
      /* sysfs needs a network namespace owned by our user namespace, and
       * mqueue an ipc one; without them (rootless), runc binds the host's. */
      if (e == EPERM && ctx->userns && (strcmp (type, "sysfs") == 0 || strcmp (type, "mqueue") == 0))
        {
          const char *src = strcmp (type, "sysfs") == 0 ? "/sys" : "/dev/mqueue";
          close (steal_fd (&target));
          return bind_mount (rootfd, src, m->destination,
                             MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC | (m->flags & MS_RDONLY),
                             0, true, true, err);
        }
      cleanup_free char *shown = str_printable (m->source ? m->source : type);
      cleanup_free char *shown2 = str_printable (m->destination);
      return moat_error_set (err, e, "mounts[%zu]: mount `%s` (type %s) on `%s`", idx,
                             shown, *type ? type : "none", shown2);
    }
  return set_propagation (rootfd, m->destination, prop, err);
}

/* An idmapped tree the parent made (mountopts_idmap_prepare): put in
 * place, then given the mount's own options. */
static int
mount_prepared (const struct rootfs_ctx *ctx, int rootfd, size_t idx, moat_error **err)
{
  const struct moat_mount *m = &ctx->cfg->mounts[idx];
  struct stat st;
  if (stat (m->source, &st) < 0)
    {
      cleanup_free char *shown = str_printable (m->source);
      return moat_error_set (err, errno, "mounts[%zu]: bind source `%s`", idx, shown);
    }
  cleanup_close int target = -1, fresh = -1;
  if (mkdir_in_root (rootfd, m->destination, S_ISDIR (st.st_mode), 0755, &target, err) < 0
      || mountopts_attach (ctx->mount_fds[idx], target, m->destination, err) < 0
      || resolve_in_root (rootfd, m->destination, 0, &fresh, err) < 0
      || mountopts_set_flags (fresh, m, m->destination, err) < 0)
    return moat_error_wrap (err, "mounts[%zu]", idx);
  return set_propagation (rootfd, m->destination, m->propagation, err);
}

/* tmpcopyup (crun's): the tmpfs starts with what its mount point held. */
static int
mount_copyup (const struct rootfs_ctx *ctx, int rootfd, size_t idx, moat_error **err)
{
  const struct moat_mount *m = &ctx->cfg->mounts[idx];
  cleanup_close int target = -1, below = -1, fresh = -1, top = -1;
  if (mkdir_in_root (rootfd, m->destination, true, 0755, &target, err) < 0)
    return -1;
  /* Opened before the mount: the directory it is about to cover. */
  below = openat (target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (below < 0)
    {
      cleanup_free char *shown = str_printable (m->destination);
      return moat_error_set (err, errno, "mounts[%zu]: tmpcopyup: open `%s`", idx, shown);
    }
  if (do_mount_plain (ctx, rootfd, idx, err) < 0
      || resolve_in_root (rootfd, m->destination, O_DIRECTORY, &fresh, err) < 0)
    return -1;
  top = openat (fresh, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0)
    {
      cleanup_free char *shown = str_printable (m->destination);
      return moat_error_set (err, errno, "mounts[%zu]: tmpcopyup: open the new `%s`", idx, shown);
    }
  bool mode_given = m->data && (strncmp (m->data, "mode=", 5) == 0 || strstr (m->data, ",mode="));
  if (mountopts_copy_up (below, top, m->destination, !mode_given, err) < 0)
    return moat_error_wrap (err, "mounts[%zu]", idx);
  return 0;
}

static int
do_mount (const struct rootfs_ctx *ctx, int rootfd, size_t idx, moat_error **err)
{
  const struct moat_mount *m = &ctx->cfg->mounts[idx];
  int r;
  if (ctx->mount_fds && ctx->mount_fds[idx] >= 0)
    r = mount_prepared (ctx, rootfd, idx, err);
  else if (m->tmpcopyup)
    r = mount_copyup (ctx, rootfd, idx, err);
  else
    r = do_mount_plain (ctx, rootfd, idx, err);
  if (r < 0 || (m->rec_set == 0 && m->rec_clr == 0))
    return r;
  /* rro, rnosuid, ...: on the new mount and every mount below it. */
  cleanup_close int fresh = -1;
  if (resolve_in_root (rootfd, m->destination, 0, &fresh, err) < 0
      || mountopts_set_recursive (fresh, m, m->destination, err) < 0)
    return moat_error_wrap (err, "mounts[%zu]", idx);
  return 0;
}

struct default_dev { const char *path; unsigned major, minor; };
static const struct default_dev default_devs[] = {
  { "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
  { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

/* A node of type FMT and device RDEV under DIR (the host's /dev, a few
 * levels deep, symlinks not followed), its path into OUT. */
static bool
find_host_node (const char *dir, mode_t fmt, dev_t rdev, int depth, char *out, size_t n)
{
  if (depth > 3)
    return false;
  cleanup_dir DIR *d = opendir (dir);
  if (d == NULL)
    return false;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if ((st.st_mode & S_IFMT) == fmt && st.st_rdev == rdev)
        {
          snprintf (out, n, "%s/%s", dir, de->d_name);
          return true;
        }
      if (S_ISDIR (st.st_mode))
        {
          cleanup_free char *sub = xasprintf ("%s/%s", dir, de->d_name);
          if (find_host_node (sub, fmt, rdev, depth + 1, out, n))
            return true;
        }
    }
  return false;
}

static int
make_device (int rootfd, const char *path, char type, unsigned major, unsigned minor,
             mode_t mode, uid_t uid, gid_t gid, bool userns, moat_error **err)
{
  /* The parent directory, then the node by name in it: mknodat never
   * follows a symlink at its last component. */
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  const char *base = slash ? slash + 1 : dir;
  cleanup_free char *base_copy = xstrdup (base);
  if (slash)
    *slash = '\0';
  cleanup_close int dfd = -1;
  if (mkdir_in_root (rootfd, *dir ? dir : "/", true, 0755, &dfd, err) < 0)
    return -1;
  if (userns)
    {
      /* mknod is denied in a user namespace: bind the host's node instead. */
      if (type == 'p')
        {
          if (mkfifoat (dfd, base_copy, mode) < 0 && errno != EEXIST)
            {
              cleanup_free char *shown = str_printable (path);
              return moat_error_set (err, errno, "mkfifo `%s`", shown);
            }
          return 0;
        }
      /* The host's node at the same path (runc's way), if it is that
       * device; else udev's /dev/char/M:N link, where udev runs; else any
       * node of the host's /dev that is that device (crun's way: the
       * container's name for it need not be the host's). */
      char hostpath[4096];
      struct stat st;
      mode_t want = type == 'b' ? S_IFBLK : S_IFCHR;
      dev_t rdev = makedev (major, minor);
      if (stat (path, &st) == 0 && (st.st_mode & S_IFMT) == want && st.st_rdev == rdev)
        snprintf (hostpath, sizeof hostpath, "%s", path);
      else
        snprintf (hostpath, sizeof hostpath, "/dev/%s/%u:%u", type == 'b' ? "block" : "char", major, minor);
      if ((stat (hostpath, &st) < 0 || (st.st_mode & S_IFMT) != want || st.st_rdev != rdev)
          && !find_host_node ("/dev", want, rdev, 0, hostpath, sizeof hostpath))
        {
          cleanup_free char *shown = str_printable (path);
          return moat_error_set (err, ENOENT, "device `%s` (%c %u:%u): no such device on the host to bind "
                                 "(mknod is not allowed in a user namespace)", shown, type, major, minor);
        }
      /* A device node needs neither setuid nor exec: the bind gets
       * nosuid,noexec (the tmpfs /dev around it has them too). */
      return bind_mount (rootfd, hostpath, path, MS_BIND | MS_NOSUID | MS_NOEXEC, 0, true, false, err);
    }
  (void) unlinkat (dfd, base_copy, 0);
  mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  /* An O_PATH directory fd is fine for mknodat/fchownat. */
  if (mknodat (dfd, base_copy, fmt | (mode & 07777), makedev (major, minor)) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "mknod `%s`", shown);
    }
  if (fchownat (dfd, base_copy, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "chown `%s`", shown);
    }
  return 0;
}

static bool
dev_is_host_bind (const struct moat_config *cfg)
{
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (cfg->mounts[i].bind && strcmp (cfg->mounts[i].destination, "/dev") == 0)
      return true;
  return false;
}

static int
create_devices (const struct rootfs_ctx *ctx, int rootfd, moat_error **err)
{
  const struct moat_config *cfg = ctx->cfg;
  if (dev_is_host_bind (cfg))
    return 0;
  for (size_t i = 0; i < ARRAY_SIZE (default_devs); i++)
    {
      bool overridden = false;
      for (size_t j = 0; j < cfg->n_devices; j++)
        if (strcmp (cfg->devices[j].path, default_devs[i].path) == 0)
          overridden = true;
      if (!overridden
          && make_device (rootfd, default_devs[i].path, 'c', default_devs[i].major,
                          default_devs[i].minor, 0666, 0, 0, ctx->userns, err) < 0)
        return -1;
    }
  for (size_t j = 0; j < cfg->n_devices; j++)
    {
      const struct moat_device *d = &cfg->devices[j];
      if (make_device (rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned) d->major,
                       (unsigned) d->minor, d->has_file_mode ? d->file_mode : 0666,
                       d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, ctx->userns, err) < 0)
        return moat_error_wrap (err, "linux.devices[%zu]", j);
    }
  static const struct { const char *target, *name; } links[] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" }, { "/proc/kcore", "core" },
  };
  cleanup_close int devfd = -1;
  if (mkdir_in_root (rootfd, "/dev", true, 0755, &devfd, err) < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE (links); i++)
    {
      if (strcmp (links[i].name, "ptmx") == 0)
        (void) unlinkat (devfd, "ptmx", 0);   /* a ptmx node from the image loses to pts/ptmx */
      if (symlinkat (links[i].target, devfd, links[i].name) < 0 && errno != EEXIST)
        return moat_error_set (err, errno, "symlink /dev/%s", links[i].name);
    }
  return 0;
}

static unsigned long
propagation_flag (const char *name)
{
  static const struct { const char *n; unsigned long f; } t[] = {
    { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
    { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
    { "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  for (size_t i = 0; name && i < ARRAY_SIZE (t); i++)
    if (strcmp (name, t[i].n) == 0)
      return t[i].f;
  return 0;
}

/* The mount PATH lies on (PATH itself when it is a mount's root) made
 * private, alone: what is bound on the rootfs then propagates nowhere, and
 * pivot_root accepts it (it refuses a new root whose parent mount is
 * shared). */
static int
private_parent_mount (const char *path, moat_error **err)
{
  cleanup_free char *p = realpath (path, NULL);
  if (p == NULL)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "rootfs `%s`", shown);
    }
  for (;;)
    {
      struct statx stx;
      if (statx (AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
        return moat_error_set (err, errno, "statx `%s`", p);
      if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) == 0)
        return moat_error_set (err, 0, "rootfs: this kernel does not say where mounts start (statx)");
      if ((stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) || strcmp (p, "/") == 0)
        break;
      char *slash = strrchr (p, '/');
      slash[slash == p] = '\0';
    }
  if (mount (NULL, p, NULL, MS_PRIVATE, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (p);
      return moat_error_set (err, errno, "make `%s` private in the container's mount namespace", shown);
    }
  return 0;
}

int
rootfs_prepare (const struct rootfs_ctx *ctx, moat_error **err)
{
  const struct moat_config *cfg = ctx->cfg;
  if (!cfg->ns[MOAT_NS_MNT].present)
    {
      /* The caller's mount namespace: no mount at all (ns_validate refused
       * what would need one), and no node written into the image; only
       * the working directory, as runc makes it. */
      cleanup_close int rootfd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      cleanup_close int cwdfd = -1;
      if (rootfd < 0)
        {
          cleanup_free char *shown = str_printable (ctx->rootfs);
          return moat_error_set (err, errno, "open rootfs `%s`", shown);
        }
      if (cfg->cwd && mkdir_in_root (rootfd, cfg->cwd, true, 0755, &cwdfd, err) < 0)
        return moat_error_wrap (err, "process.cwd");
      return 0;
    }
  /* What moat mounts from here on must not propagate back to the host:
   * by default the copy of the host's tree is made private (slave when the
   * user asked for slave propagation, so the container still receives host
   * mounts). With shared propagation (Kubernetes' Bidirectional, CSI node
   * plugins) the copy stays in its peer groups, as runc leaves it, so a
   * mount made inside an rshared bind reaches the host; only the mount the
   * rootfs lies on is made private, so the rootfs and what is mounted on
   * it stay in this namespace. */
  unsigned long rprop = propagation_flag (cfg->rootfs_propagation);
  unsigned long first = (rprop & MS_SHARED) ? rprop : (rprop & MS_SLAVE) ? MS_SLAVE | MS_REC : MS_PRIVATE | MS_REC;
  if (mount (NULL, "/", NULL, first, NULL) < 0)
    return moat_error_set (err, errno, "set the propagation of / in the container's mount namespace");
  if ((rprop & MS_SHARED) && private_parent_mount (ctx->rootfs, err) < 0)
    return -1;
  /* pivot_root needs the new root to be a mount point. */
  if (mount (ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (ctx->rootfs);
      return moat_error_set (err, errno, "bind mount rootfs `%s`", shown);
    }
  cleanup_close int rootfd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    {
      cleanup_free char *shown = str_printable (ctx->rootfs);
      return moat_error_set (err, errno, "open rootfs `%s`", shown);
    }
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (do_mount (ctx, rootfd, i, err) < 0)
      return -1;
  if (create_devices (ctx, rootfd, err) < 0)
    return -1;
  /* The working directory exists before the rootfs may become read-only. */
  if (cfg->cwd)
    {
      cleanup_close int cwdfd = -1;
      if (mkdir_in_root (rootfd, cfg->cwd, true, 0755, &cwdfd, err) < 0)
        return moat_error_wrap (err, "process.cwd");
    }
  return 0;
}

/* The null device to mask files with: the host's, checked to really be 1:3,
 * never the rootfs' /dev/null, which the image controls (CVE-2025-31133). */
static int
open_host_null (int *out, moat_error **err)
{
  int fd = open ("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "open host /dev/null");
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISCHR (st.st_mode) || st.st_rdev != makedev (1, 3))
    {
      close (fd);
      return moat_error_set (err, 0, "host /dev/null is not the null device");
    }
  *out = fd;
  return 0;
}

static int
mask_paths (const struct rootfs_ctx *ctx, int rootfd, moat_error **err)
{
  char **paths = ctx->cfg->masked_paths;
  if (paths == NULL || *paths == NULL)
    return 0;
  cleanup_close int nullfd = -1;
  if (open_host_null (&nullfd, err) < 0)
    return -1;
  char np[64], tp[64];
  PROCFD (np, nullfd);
  for (size_t i = 0; paths[i]; i++)
    {
      cleanup_close int fd = -1;
      if (resolve_in_root (rootfd, paths[i], 0, &fd, err) < 0)
        {
          if ((*err)->errnum == ENOENT)
            {
              moat_error_free (err);
              continue;
            }
          return moat_error_wrap (err, "linux.maskedPaths[%zu]", i);
        }
      struct stat st;
      if (fstat (fd, &st) < 0)
        {
          cleanup_free char *shown = str_printable (paths[i]);
          return moat_error_set (err, errno, "stat masked path `%s`", shown);
        }
      int r;
      if (S_ISDIR (st.st_mode))
        r = mount ("tmpfs", PROCFD (tp, fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "size=0,nr_inodes=1,mode=555");
      else
        r = mount (np, PROCFD (tp, fd), NULL, MS_BIND, NULL);
      if (r < 0)
        {
          cleanup_free char *shown = str_printable (paths[i]);
          return moat_error_set (err, errno, "mask `%s`", shown);
        }
    }
  return 0;
}

static int
readonly_paths (const struct rootfs_ctx *ctx, int rootfd, moat_error **err)
{
  char **paths = ctx->cfg->readonly_paths;
  for (size_t i = 0; paths && paths[i]; i++)
    {
      cleanup_close int fd = -1;
      if (resolve_in_root (rootfd, paths[i], 0, &fd, err) < 0)
        {
          if ((*err)->errnum == ENOENT)
            {
              moat_error_free (err);
              continue;
            }
          return moat_error_wrap (err, "linux.readonlyPaths[%zu]", i);
        }
      char p[64];
      PROCFD (p, fd);
      if (mount (p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
        {
          cleanup_free char *shown = str_printable (paths[i]);
          return moat_error_set (err, errno, "bind `%s` read-only", shown);
        }
      if (make_readonly (rootfd, paths[i], ctx->userns, err) < 0)
        return -1;
    }
  return 0;
}

int
rootfs_finish (const struct rootfs_ctx *ctx, moat_error **err)
{
  if (!ctx->cfg->ns[MOAT_NS_MNT].present)
    return 0;
  cleanup_close int rootfd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    {
      cleanup_free char *shown = str_printable (ctx->rootfs);
      return moat_error_set (err, errno, "open rootfs `%s`", shown);
    }
  if (mask_paths (ctx, rootfd, err) < 0 || readonly_paths (ctx, rootfd, err) < 0)
    return -1;
  if (ctx->cfg->root_readonly)
    {
      /* Only the root mount itself: mounts below it keep their own options
       * (a writable tmpfs on /tmp stays writable), as in runc. */
      char p[64];
      cleanup_close int fresh = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      unsigned long extra = ctx->userns ? locked_flags (fresh) : 0;
      if (fresh < 0 || mount (NULL, PROCFD (p, fresh), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL) < 0)
        return moat_error_set (err, errno, "make the rootfs read-only");
    }
  return 0;
}

int
rootfs_pivot (const struct rootfs_ctx *ctx, moat_error **err)
{
  unsigned long rprop = propagation_flag (ctx->cfg->rootfs_propagation);
  if (!ctx->cfg->ns[MOAT_NS_MNT].present)
    {
      /* No mount namespace of its own: the root can only be a chroot (as
       * runc's and crun's is then); MS_MOVE would move the caller's. */
      if (chdir (ctx->rootfs) < 0 || chroot (".") < 0 || chdir ("/") < 0)
        {
          cleanup_free char *shown = str_printable (ctx->rootfs);
          return moat_error_set (err, errno, "chroot to `%s` (no mount namespace)", shown);
        }
      return 0;
    }
  if (ctx->no_pivot)
    {
      if (chdir (ctx->rootfs) < 0)
        {
          cleanup_free char *shown = str_printable (ctx->rootfs);
          return moat_error_set (err, errno, "chdir `%s`", shown);
        }
      if (mount (ctx->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
        return moat_error_set (err, errno, "move rootfs to /");
      if (chroot (".") < 0)
        return moat_error_set (err, errno, "chroot");
    }
  else
    {
      cleanup_close int oldroot = open ("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      cleanup_close int newroot = open (ctx->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (oldroot < 0 || newroot < 0)
        return moat_error_set (err, errno, "open roots for pivot_root");
      if (fchdir (newroot) < 0)
        return moat_error_set (err, errno, "chdir to rootfs");
      /* pivot_root(".", ".") stacks the old root on top of the new one; it is
       * then detached from where it sits, with no put_old directory needed. */
      if (syscall (SYS_pivot_root, ".", ".") < 0)
        return moat_error_set (err, errno, "pivot_root");
      if (fchdir (oldroot) < 0)
        return moat_error_set (err, errno, "chdir to old root");
      if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return moat_error_set (err, errno, "make old root a slave");
      if (umount2 (".", MNT_DETACH) < 0)
        return moat_error_set (err, errno, "detach old root");
    }
  if (chdir ("/") < 0)
    return moat_error_set (err, errno, "chdir /");
  if (rprop && mount (NULL, "/", NULL, rprop, NULL) < 0)
    {
      cleanup_free char *shown = str_printable (ctx->cfg->rootfs_propagation);
      return moat_error_set (err, errno, "linux.rootfsPropagation: set `%s`", shown);
    }
  return 0;
}

int
rootfs_set_uts_sysctl (const struct moat_config *cfg, moat_error **err)
{
  bool uts = cfg->ns[MOAT_NS_UTS].present;
  if (cfg->hostname && *cfg->hostname)
    {
      if (!uts)
        return moat_error_set (err, 0, "hostname: needs a uts namespace");
      if (sethostname (cfg->hostname, strlen (cfg->hostname)) < 0)
        {
          cleanup_free char *shown = str_printable (cfg->hostname);
          return moat_error_set (err, errno, "sethostname `%s`", shown);
        }
    }
  if (cfg->domainname && *cfg->domainname)
    {
      if (!uts)
        return moat_error_set (err, 0, "domainname: needs a uts namespace");
      if (setdomainname (cfg->domainname, strlen (cfg->domainname)) < 0)
        {
          cleanup_free char *shown = str_printable (cfg->domainname);
          return moat_error_set (err, errno, "setdomainname `%s`", shown);
        }
    }
  /* The init already lives in its namespaces, and /proc/sys shows the
   * reader's namespaces, so the host's /proc serves before pivot_root. */
  for (size_t i = 0; i < cfg->n_sysctl; i++)
    {
      const char *key = cfg->sysctl[i].key;
      if (strstr (key, "..") || strchr (key, '/'))
        {
          cleanup_free char *shown = str_printable (key);
          return moat_error_set (err, 0, "linux.sysctl: invalid key `%s`", shown);
        }
      cleanup_free char *path = xasprintf ("/proc/sys/%s", key);
      for (char *c = path + 10; *c; c++)
        if (*c == '.')
          *c = '/';
      const char *v = cfg->sysctl[i].value;
      if (write_file_at (AT_FDCWD, path, v, strlen (v), err) < 0)
        {
          cleanup_free char *shown = str_printable (key);
          return moat_error_wrap (err, "linux.sysctl: `%s`", shown);
        }
    }
  return 0;
}

void
rootfs_open_bind_sources (const struct moat_config *cfg, pid_t pid, int *fds)
{
  for (size_t i = 0; i < cfg->n_mounts; i++)
    fds[i] = -1;
  /* Through the init's root, so the fd is of a mount in its namespace (a
   * bind from another namespace's mount is refused, EINVAL); resolved in
   * that root, where absolute symlinks of the source land too. */
  char p[64];
  snprintf (p, sizeof p, "/proc/%d/root", (int) pid);
  cleanup_close int root = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return;
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      const struct moat_mount *m = &cfg->mounts[i];
      if (!m->bind || m->source == NULL || m->source[0] != '/')
        continue;
      int fd;
      do
        fd = sys_openat2 (root, m->source, O_PATH, RESOLVE_IN_ROOT);
      while (fd < 0 && errno == EAGAIN);
      fds[i] = fd;   /* -1: the init tries the path itself, and says why */
    }
}
