#include "config-host.h"
#include "mountopts.h"
#include "json.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MS_NOSYMFOLLOW
# define MS_NOSYMFOLLOW 256
#endif

/* ---- the options ---------------------------------------------------------- */

/* What each recursive option does to mount_setattr's attr_set/attr_clr.
 * The atime modes are one field (MOUNT_ATTR__ATIME) the kernel takes whole:
 * the last of them wins, and "ratime" (like "atime" to mount(8): no
 * noatime) is the kernel's default, relatime; "rnorelatime" is strictatime. */
static const struct
{
  const char *name;
  bool clear;
  uint64_t attr;
} rec_table[] = {
  { "rro", false, MOUNT_ATTR_RDONLY },        { "rrw", true, MOUNT_ATTR_RDONLY },
  { "rnosuid", false, MOUNT_ATTR_NOSUID },    { "rsuid", true, MOUNT_ATTR_NOSUID },
  { "rnodev", false, MOUNT_ATTR_NODEV },      { "rdev", true, MOUNT_ATTR_NODEV },
  { "rnoexec", false, MOUNT_ATTR_NOEXEC },    { "rexec", true, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", false, MOUNT_ATTR_NODIRATIME }, { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
  { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

static const struct
{
  const char *name;
  uint64_t mode;
} rec_atime[] = {
  { "rnoatime", MOUNT_ATTR_NOATIME },       { "ratime", MOUNT_ATTR_RELATIME },
  { "rrelatime", MOUNT_ATTR_RELATIME },     { "rnorelatime", MOUNT_ATTR_STRICTATIME },
  { "rstrictatime", MOUNT_ATTR_STRICTATIME }, { "rnostrictatime", MOUNT_ATTR_RELATIME },
};

const char *const mountopts_names[] = {
  "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
  "rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow",
  "rnoatime", "ratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
  "idmap", "ridmap", "tmpcopyup", NULL,
};

bool
mountopts_option (const char *opt, struct moat_mount *m)
{
  for (size_t k = 0; k < ARRAY_SIZE (rec_table); k++)
    if (strcmp (opt, rec_table[k].name) == 0)
      {
        uint64_t a = rec_table[k].attr;
        if (rec_table[k].clear)
          {
            m->rec_set &= ~a;
            m->rec_clr |= a;
          }
        else
          {
            m->rec_set |= a;
            m->rec_clr &= ~a;
          }
        return true;
      }
  for (size_t k = 0; k < ARRAY_SIZE (rec_atime); k++)
    if (strcmp (opt, rec_atime[k].name) == 0)
      {
        m->rec_set = (m->rec_set & ~(uint64_t) MOUNT_ATTR__ATIME) | rec_atime[k].mode;
        m->rec_clr |= MOUNT_ATTR__ATIME;
        return true;
      }
  if (strcmp (opt, "idmap") == 0 || strcmp (opt, "ridmap") == 0)
    {
      m->idmap = true;
      m->idmap_recursive |= opt[0] == 'r';
      return true;
    }
  if (strcmp (opt, "tmpcopyup") == 0)
    {
      m->tmpcopyup = true;
      return true;
    }
  return false;
}

int
mountopts_check (const struct moat_config *cfg, const char *doc, moat_error **err)
{
  bool userns = cfg->ns[MOAT_NS_USER].present;
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      const struct moat_mount *m = &cfg->mounts[i];
      cleanup_free char *p = json_path_index ("mounts", i);
      bool maps = m->n_uid_mappings || m->n_gid_mappings;
      if (maps && (m->n_uid_mappings == 0 || m->n_gid_mappings == 0))
        return json_error (err, doc, p, "uidMappings and gidMappings go together (runtime-spec)");
      if ((m->idmap || maps) && !m->bind)
        return json_error (err, doc, p, "idmapped mounts: moat maps bind mounts only (this one is type `%s`)",
                           m->type ? m->type : "none");
      if (m->idmap && !maps && !userns)
        return json_error (err, doc, p, "idmap without uidMappings/gidMappings needs a user namespace to take "
                           "the mapping from (runtime-spec)");
      if (m->idmap && !maps && (cfg->n_uid_mappings == 0 || cfg->n_gid_mappings == 0))
        return json_error (err, doc, p, "idmap without uidMappings/gidMappings: the user namespace "
                           "has no linux.uidMappings/gidMappings to take");
      if (m->tmpcopyup && (m->type == NULL || strcmp (m->type, "tmpfs") != 0 || m->bind))
        return json_error (err, doc, p, "tmpcopyup: only for a tmpfs mount");
    }
  return 0;
}

/* ---- idmapped trees (in the parent, with the host's privileges) ------------ */

static int
write_map (pid_t pid, const char *file, const struct moat_idmap *m, size_t n, moat_error **err)
{
  char buf[4096];
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof buf; i++)
    len += (size_t) snprintf (buf + len, sizeof buf - len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
  if (len >= sizeof buf)
    return moat_error_set (err, E2BIG, "idmapped mount: mapping too long");
  cleanup_free char *path = xasprintf ("/proc/%d/%s", (int) pid, file);
  return write_file_at (AT_FDCWD, path, buf, len, err);
}

/* A user namespace with these mappings, as an fd: a child made for it
 * (unshare), mapped from here, its ns file opened, then let go. */
static int
userns_with (const struct moat_idmap *u, size_t nu, const struct moat_idmap *g, size_t ng, int *out,
             moat_error **err)
{
  int ready[2], go[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return moat_error_set (err, errno, "pipe");
  if (pipe2 (go, O_CLOEXEC) < 0)
    {
      close (ready[0]);
      close (ready[1]);
      return moat_error_set (err, errno, "pipe");
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (ready[0]); close (ready[1]); close (go[0]); close (go[1]);
      return moat_error_set (err, errno, "fork");
    }
  if (pid == 0)
    {
      close (ready[0]);
      close (go[1]);
      char c = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
      (void) !write (ready[1], &c, 1);
      (void) !read (go[0], &c, 1);   /* EOF: the parent has what it needs */
      _exit (0);
    }
  close (ready[1]);
  close (go[0]);
  char c = 'n';
  int r = 0;
  if (read (ready[0], &c, 1) != 1 || c != 'y')
    r = moat_error_set (err, EPERM, "idmapped mount: create a user namespace for the mapping");
  if (r == 0 && (write_map (pid, "uid_map", u, nu, err) < 0 || write_map (pid, "gid_map", g, ng, err) < 0))
    r = moat_error_wrap (err, "idmapped mount: map the ids");
  if (r == 0)
    {
      cleanup_free char *ns = xasprintf ("/proc/%d/ns/user", (int) pid);
      *out = open (ns, O_RDONLY | O_CLOEXEC);
      if (*out < 0)
        r = moat_error_set (err, errno, "open %s", ns);
    }
  close (ready[0]);
  close (go[1]);   /* the child's read ends: it exits */
  kill (pid, SIGKILL);   /* and surely: it inherited moat run's blocked signals */
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return r;
}

int
mountopts_idmap_prepare (const struct moat_config *cfg, int **fds, moat_error **err)
{
  *fds = NULL;
  bool any = false;
  for (size_t i = 0; i < cfg->n_mounts; i++)
    any |= cfg->mounts[i].idmap || cfg->mounts[i].n_uid_mappings;
  if (!any)
    return 0;
  int *v = xmalloc0 (cfg->n_mounts * sizeof (int));
  for (size_t i = 0; i < cfg->n_mounts; i++)
    v[i] = -1;
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      const struct moat_mount *m = &cfg->mounts[i];
      if (!m->idmap && !m->n_uid_mappings)
        continue;
      bool own = m->n_uid_mappings > 0;
      cleanup_close int userns = -1;
      if (userns_with (own ? m->uid_mappings : cfg->uid_mappings, own ? m->n_uid_mappings : cfg->n_uid_mappings,
                       own ? m->gid_mappings : cfg->gid_mappings, own ? m->n_gid_mappings : cfg->n_gid_mappings,
                       &userns, err) < 0)
        goto fail;
      /* A detached copy: the kernel idmaps only a mount no one sees yet. */
      bool rec = (m->flags & MS_REC) != 0;
      int fd = (int) syscall (SYS_open_tree, AT_FDCWD, m->source,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
      if (fd < 0)
        {
          cleanup_free char *shown = str_printable (m->source);
          moat_error_set (err, errno, "mounts[%zu]: open_tree `%s`", i, shown);
          goto fail;
        }
      v[i] = fd;
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns };
      if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0),
                   &attr, sizeof attr) < 0)
        {
          cleanup_free char *shown = str_printable (m->source);
          moat_error_set (err, errno, "mounts[%zu]: idmap `%s` (mount_setattr MOUNT_ATTR_IDMAP; the file system "
                          "must support idmapped mounts, Linux 5.12 or later)", i, shown);
          goto fail;
        }
    }
  *fds = v;
  return 0;
fail:
  mountopts_fds_close (v, cfg->n_mounts);
  return -1;
}

void
mountopts_fds_close (int *fds, size_t n)
{
  for (size_t i = 0; fds && i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  free (fds);
}

/* ---- in the container's mount namespace ---------------------------------- */

int
mountopts_attach (int fd, int target, const char *dest, moat_error **err)
{
  if (syscall (SYS_move_mount, fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    {
      cleanup_free char *shown = str_printable (dest);
      return moat_error_set (err, errno, "attach the idmapped mount on `%s`", shown);
    }
  return 0;
}

static int
setattr (int fd, uint64_t set, uint64_t clr, bool recursive, const char *what, const char *dest, moat_error **err)
{
  if (set == 0 && clr == 0)
    return 0;
  struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) == 0)
    return 0;
  cleanup_free char *shown = str_printable (dest);
  return moat_error_set (err, errno, "%s of `%s` (mount_setattr%s)", what, shown, recursive ? ", recursive" : "");
}

int
mountopts_set_flags (int fd, const struct moat_mount *m, const char *dest, moat_error **err)
{
  static const struct { unsigned long ms; uint64_t attr; } t[] = {
    { MS_RDONLY, MOUNT_ATTR_RDONLY }, { MS_NOSUID, MOUNT_ATTR_NOSUID }, { MS_NODEV, MOUNT_ATTR_NODEV },
    { MS_NOEXEC, MOUNT_ATTR_NOEXEC }, { MS_NODIRATIME, MOUNT_ATTR_NODIRATIME },
    { MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW },
  };
  uint64_t set = 0, clr = 0;
  for (size_t k = 0; k < ARRAY_SIZE (t); k++)
    {
      if (m->flags & t[k].ms)
        set |= t[k].attr;
      if (m->clear_flags & t[k].ms)
        clr |= t[k].attr;
    }
  if (m->flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
    {
      set |= (m->flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME
             : (m->flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
      clr |= MOUNT_ATTR__ATIME;
    }
  return setattr (fd, set, clr, false, "options", dest, err);
}

int
mountopts_set_recursive (int fd, const struct moat_mount *m, const char *dest, moat_error **err)
{
  return setattr (fd, m->rec_set, m->rec_clr, true, "recursive options", dest, err);
}

/* ---- tmpcopyup ------------------------------------------------------------- */

static int copy_entry (int from, int to, const char *name, const char *dest, int depth, moat_error **err);

static int
copy_dir (int from, int to, const char *dest, int depth, moat_error **err)
{
  if (depth > 64)
    return moat_error_set (err, ELOOP, "tmpcopyup `%s`: too deep", dest);
  int dfd = dup (from);
  if (dfd < 0)
    return moat_error_set (err, errno, "tmpcopyup `%s`", dest);
  cleanup_dir DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return moat_error_set (err, errno, "tmpcopyup `%s`: read the directory", dest);
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (copy_entry (from, to, de->d_name, dest, depth, err) < 0)
        return -1;
    }
  return 0;
}

static int
copy_entry (int from, int to, const char *name, const char *dest, int depth, moat_error **err)
{
  struct stat st;
  if (fstatat (from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return moat_error_set (err, errno, "tmpcopyup `%s/%s`", dest, name);
  mode_t mode = st.st_mode & 07777;
  int r = 0;
  if (S_ISDIR (st.st_mode))
    {
      if (mkdirat (to, name, 0700) < 0 && errno != EEXIST)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: mkdir", dest, name);
      cleanup_close int sub_from = openat (from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int sub_to = openat (to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub_from < 0 || sub_to < 0)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: open", dest, name);
      cleanup_free char *sub = xasprintf ("%s/%s", dest, name);
      if (copy_dir (sub_from, sub_to, sub, depth + 1, err) < 0)
        return -1;
    }
  else if (S_ISREG (st.st_mode))
    {
      cleanup_close int in = openat (from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int outfd = openat (to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (in < 0 || outfd < 0)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: open", dest, name);
      char buf[65536];
      ssize_t n;
      while ((n = read (in, buf, sizeof buf)) > 0)
        if (write_all (outfd, buf, (size_t) n) < 0)
          return moat_error_set (err, errno, "tmpcopyup `%s/%s`: write", dest, name);
      if (n < 0)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: read", dest, name);
    }
  else if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (from, name, target, sizeof target - 1);
      if (n < 0)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: readlink", dest, name);
      target[n] = '\0';
      if (symlinkat (target, to, name) < 0)
        return moat_error_set (err, errno, "tmpcopyup `%s/%s`: symlink", dest, name);
    }
  else if (mknodat (to, name, st.st_mode, st.st_rdev) < 0)
    return moat_error_set (err, errno, "tmpcopyup `%s/%s`: mknod", dest, name);
  /* Owner first: a chown clears the setuid and setgid bits. */
  if (fchownat (to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM && errno != EINVAL)
    r = moat_error_set (err, errno, "tmpcopyup `%s/%s`: chown", dest, name);
  if (r == 0 && !S_ISLNK (st.st_mode) && fchmodat (to, name, mode, 0) < 0)
    r = moat_error_set (err, errno, "tmpcopyup `%s/%s`: chmod", dest, name);
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  if (r == 0)
    (void) utimensat (to, name, ts, AT_SYMLINK_NOFOLLOW);
  return r;
}

int
mountopts_copy_up (int from, int to, const char *dest, bool root_mode, moat_error **err)
{
  /* The new tmpfs's root takes the owner of what it covers, and its mode
   * unless the options gave one. */
  struct stat st;
  if (fstat (from, &st) == 0)
    {
      (void) !fchown (to, st.st_uid, st.st_gid);
      if (root_mode)
        (void) !fchmod (to, st.st_mode & 07777);
    }
  return copy_dir (from, to, dest, 0, err);
}
