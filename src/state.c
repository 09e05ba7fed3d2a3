#include "config-host.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

const char *
status_name (enum moat_status s)
{
  switch (s)
    {
    case STATUS_CREATING: return "creating";
    case STATUS_CREATED: return "created";
    case STATUS_RUNNING: return "running";
    case STATUS_PAUSED: return "paused";
    case STATUS_STOPPED: return "stopped";
    }
  return "unknown";
}

int
state_validate_id (const char *id, moat_error **err)
{
  if (id == NULL || *id == '\0')
    return moat_error_set (err, 0, "container id must not be empty");
  if (strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    {
      cleanup_free char *shown = str_printable (id);
      return moat_error_set (err, 0, "invalid container id `%s`", shown);
    }
  if (strlen (id) > 1024)
    return moat_error_set (err, 0, "invalid container id: longer than 1024 bytes");
  for (const char *p = id; *p; p++)
    {
      char c = *p;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '_' || c == '+' || c == '-' || c == '.'))
        {
          cleanup_free char *shown = str_printable (id);
          return moat_error_set (err, 0, "invalid container id `%s`: only letters, digits and _+-. are allowed", shown);
        }
    }
  return 0;
}

int
state_root_open (const char *root, bool create, int *dirfd, moat_error **err)
{
  if (create && mkdir_p (root, 0700, err) < 0)
    return -1;
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "open state root `%s`", root);
  *dirfd = fd;
  return 0;
}

int
state_lock (int dirfd, bool exclusive, moat_error **err)
{
  while (flock (dirfd, exclusive ? LOCK_EX : LOCK_SH) < 0)
    if (errno != EINTR)
      return moat_error_set (err, errno, "lock state directory");
  return 0;
}

int
state_dir_create (int rootfd, const char *id, int *dirfd, moat_error **err)
{
  /* mkdir is the atomic arbiter between two creates of the same id. */
  if (mkdirat (rootfd, id, 0711) < 0)
    {
      if (errno == EEXIST)
        return moat_error_set (err, 0, "container `%s` already exists", id);
      return moat_error_set (err, errno, "create state directory for `%s`", id);
    }
  int fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return moat_error_set (err, errno, "open state directory for `%s`", id);
  if (state_lock (fd, true, err) < 0)
    {
      close (fd);
      return -1;
    }
  *dirfd = fd;
  return 0;
}

int
state_dir_open (int rootfd, const char *id, int *dirfd, moat_error **err)
{
  if (state_validate_id (id, err) < 0)
    return -1;
  int fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return moat_error_set (err, 0, "container `%s` does not exist", id);
      return moat_error_set (err, errno, "open state directory for `%s`", id);
    }
  *dirfd = fd;
  return 0;
}

static int
remove_tree_at (int dirfd, const char *name)
{
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0)
    {
      DIR *d = fdopendir (fd);
      if (d == NULL)
        {
          close (fd);
          return -1;
        }
      struct dirent *de;
      while ((de = readdir (d)) != NULL)
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (unlinkat (fd, de->d_name, 0) < 0 && (errno == EISDIR || errno == EPERM))
            remove_tree_at (fd, de->d_name);
        }
      closedir (d);
    }
  return unlinkat (dirfd, name, AT_REMOVEDIR);
}

int
state_dir_remove (int rootfd, const char *id, moat_error **err)
{
  if (remove_tree_at (rootfd, id) < 0 && errno != ENOENT)
    return moat_error_set (err, errno, "remove state directory of `%s`", id);
  return 0;
}

#define G_STR(g, s) yajl_gen_string (g, (const unsigned char *) (s), strlen (s))

static void
gen_kv_str (yajl_gen g, const char *k, const char *v)
{
  G_STR (g, k);
  if (v)
    G_STR (g, v);
  else
    yajl_gen_null (g);
}

char *
state_oci_json (const struct moat_state *st, enum moat_status status, bool pretty)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (pretty)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, "  ");
    }
  yajl_gen_map_open (g);
  gen_kv_str (g, "ociVersion", MOAT_OCI_VERSION);
  gen_kv_str (g, "id", st->id);
  gen_kv_str (g, "status", status_name (status));
  G_STR (g, "pid");
  /* The spec: pid is REQUIRED when status is created or running. runc shows
   * 0 once stopped. */
  yajl_gen_integer (g, (status == STATUS_STOPPED) ? 0 : st->pid);
  gen_kv_str (g, "bundle", st->bundle);
  gen_kv_str (g, "rootfs", st->rootfs);
  gen_kv_str (g, "created", st->created);
  char ob[64];
  G_STR (g, "owner");
  G_STR (g, state_owner_name (st->owner, ob, sizeof ob));
  G_STR (g, "annotations");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < st->n_annotations; i++)
    gen_kv_str (g, st->annotation_keys[i], st->annotation_values[i]);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (g, &buf, &len);
  char *out = xmalloc0 (len + 2);
  memcpy (out, buf, len);
  yajl_gen_free (g);
  return out;
}

void
state_annotate (struct moat_state *st, const char *key, const char *value)
{
  for (size_t i = 0; i < st->n_annotations; i++)
    if (strcmp (st->annotation_keys[i], key) == 0)
      {
        free (st->annotation_values[i]);
        st->annotation_values[i] = xstrdup (value);
        return;
      }
  /* NULL-terminated (state_free frees them as string vectors). */
  size_t n = st->n_annotations;
  st->annotation_keys = xrealloc (st->annotation_keys, (n + 2) * sizeof *st->annotation_keys);
  st->annotation_values = xrealloc (st->annotation_values, (n + 2) * sizeof *st->annotation_values);
  st->annotation_keys[n] = xstrdup (key);
  st->annotation_values[n] = xstrdup (value);
  st->annotation_keys[n + 1] = st->annotation_values[n + 1] = NULL;
  st->n_annotations = n + 1;
}

int
state_write (int dirfd, const struct moat_state *st, moat_error **err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  yajl_gen_map_open (g);
  gen_kv_str (g, "id", st->id);
  gen_kv_str (g, "bundle", st->bundle);
  gen_kv_str (g, "rootfs", st->rootfs);
  G_STR (g, "pid");
  yajl_gen_integer (g, st->pid);
  G_STR (g, "startTime");
  yajl_gen_integer (g, (long long) st->start_time);
  gen_kv_str (g, "created", st->created);
  G_STR (g, "owner");
  yajl_gen_integer (g, st->owner);
  gen_kv_str (g, "cgroupPath", st->cgroup_path);
  if (st->systemd_unit)
    gen_kv_str (g, "systemdUnit", st->systemd_unit);
  G_STR (g, "supervisorPid");
  yajl_gen_integer (g, st->supervisor_pid);
  gen_kv_str (g, "auditDir", st->audit_dir);
  G_STR (g, "detachedInit");
  yajl_gen_bool (g, st->detached_init);
  gen_kv_str (g, "status", status_name (st->saved_status));
  G_STR (g, "annotations");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < st->n_annotations; i++)
    gen_kv_str (g, st->annotation_keys[i], st->annotation_values[i]);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (g, &buf, &len);
  int r = write_file_atomic_at (dirfd, "state.json", buf, len, 0600, err);
  yajl_gen_free (g);
  return r;
}

static char *
dup_str (yajl_val v, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val s = yajl_tree_get (v, path, yajl_t_string);
  return s ? xstrdup (YAJL_GET_STRING (s)) : NULL;
}

static long long
get_int (yajl_val v, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val n = yajl_tree_get (v, path, yajl_t_number);
  return (n && YAJL_IS_INTEGER (n)) ? YAJL_GET_INTEGER (n) : 0;
}

int
state_read (int dirfd, const char *id, struct moat_state **out, moat_error **err)
{
  cleanup_free char *text = NULL;
  if (read_file_at (dirfd, "state.json", &text, NULL, 1 << 20, err) < 0)
    {
      /* A state dir without state.json is a create in progress (or one that
       * died before writing it): report it as creating. */
      if (*err && (*err)->errnum == ENOENT)
        {
          moat_error_free (err);
          struct moat_state *st = xmalloc0 (sizeof *st);
          st->id = xstrdup (id);
          st->saved_status = STATUS_CREATING;
          *out = st;
          return 0;
        }
      return moat_error_wrap (err, "container `%s`", id);
    }
  char ebuf[256];
  yajl_val v = yajl_tree_parse (text, ebuf, sizeof ebuf);
  if (v == NULL || !YAJL_IS_OBJECT (v))
    {
      yajl_tree_free (v);
      return moat_error_set (err, 0, "container `%s`: corrupt state.json", id);
    }
  struct moat_state *st = xmalloc0 (sizeof *st);
  st->id = xstrdup (id);
  st->bundle = dup_str (v, "bundle");
  st->rootfs = dup_str (v, "rootfs");
  st->created = dup_str (v, "created");
  st->cgroup_path = dup_str (v, "cgroupPath");
  st->systemd_unit = dup_str (v, "systemdUnit");
  st->audit_dir = dup_str (v, "auditDir");
  st->pid = (pid_t) get_int (v, "pid");
  st->start_time = (unsigned long long) get_int (v, "startTime");
  st->owner = (uid_t) get_int (v, "owner");
  st->supervisor_pid = (pid_t) get_int (v, "supervisorPid");
  {
    const char *path[] = { "detachedInit", NULL };
    st->detached_init = YAJL_IS_TRUE (yajl_tree_get (v, path, yajl_t_true));
  }
  cleanup_free char *saved = dup_str (v, "status");
  st->saved_status = (saved && strcmp (saved, "creating") == 0) ? STATUS_CREATING : STATUS_CREATED;
  const char *apath[] = { "annotations", NULL };
  yajl_val ann = yajl_tree_get (v, apath, yajl_t_object);
  if (ann)
    {
      size_t n = YAJL_GET_OBJECT (ann)->len;
      st->annotation_keys = xmalloc0 ((n + 1) * sizeof (char *));
      st->annotation_values = xmalloc0 ((n + 1) * sizeof (char *));
      for (size_t i = 0; i < n; i++)
        {
          yajl_val val = YAJL_GET_OBJECT (ann)->values[i];
          st->annotation_keys[st->n_annotations] = xstrdup (YAJL_GET_OBJECT (ann)->keys[i]);
          st->annotation_values[st->n_annotations] = xstrdup (YAJL_IS_STRING (val) ? YAJL_GET_STRING (val) : "");
          st->n_annotations++;
        }
    }
  yajl_tree_free (v);
  *out = st;
  return 0;
}

void
state_free (struct moat_state *st)
{
  if (st == NULL)
    return;
  free (st->id);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  free (st->cgroup_path);
  free (st->systemd_unit);
  free (st->audit_dir);
  strv_free (st->annotation_keys);
  strv_free (st->annotation_values);
  free (st);
}

unsigned long long
pid_start_time (pid_t pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  if (read_file_at (AT_FDCWD, path, &text, NULL, 0, &e) < 0)
    {
      moat_error_free (&e);
      return 0;
    }
  /* comm may hold spaces and parentheses: fields start after the last ')'. */
  char *p = strrchr (text, ')');
  if (p == NULL)
    return 0;
  p += 2;  /* ") " -> field 3, the state */
  char state = *p;
  if (state == 'Z' || state == 'X')
    return 0;
  for (int field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  return p ? strtoull (p, NULL, 10) : 0;
}

bool
pid_alive (pid_t pid, unsigned long long start_time)
{
  if (pid <= 0)
    return false;
  unsigned long long t = pid_start_time (pid);
  return t != 0 && (start_time == 0 || t == start_time);
}

enum moat_status
state_status (int dirfd, const struct moat_state *st)
{
  if (st->saved_status == STATUS_CREATING && st->pid <= 0)
    return STATUS_CREATING;
  if (!pid_alive (st->pid, st->start_time))
    return STATUS_STOPPED;
  if (st->saved_status == STATUS_CREATING)
    return STATUS_CREATING;
  struct stat sb;
  if (fstatat (dirfd, EXEC_SOCK_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return STATUS_CREATED;
  return STATUS_RUNNING;
}

const char *
state_owner_name (uid_t uid, char *buf, size_t n)
{
  if (user_name (uid, buf, n))
    return buf;
  snprintf (buf, n, "#%u", (unsigned) uid);
  return buf;
}

char *
rfc3339_now (void)
{
  struct timespec ts;
  struct tm tm;
  char buf[64];
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf ("%s.%09ldZ", buf, ts.tv_nsec);
}
