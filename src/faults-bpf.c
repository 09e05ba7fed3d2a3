#include "config-host.h"
#include "faults-bpf.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cgroup v2 mount: /sys/fs/cgroup on a pure v2 host, a "cgroup2" mount
 * elsewhere (/sys/fs/cgroup/unified on a hybrid one). */
static int
cgroup2_mount (char *out, size_t n)
{
  FILE *m = fopen ("/proc/self/mounts", "re");
  if (m == NULL)
    return -1;
  char line[1024];
  int rc = -1;
  while (fgets (line, sizeof line, m))
    {
      char dev[256], dir[512], type[64];
      if (sscanf (line, "%255s %511s %63s", dev, dir, type) == 3 && strcmp (type, "cgroup2") == 0)
        {
          snprintf (out, n, "%s", dir);
          rc = 0;
          break;
        }
    }
  fclose (m);
  return rc;
}

int
fault_bpf_cgroup_of (pid_t pid, unsigned long long *id, unsigned *level)
{
  *id = 0;
  *level = 0;
  char path[64], buf[4096], mnt[512];
  snprintf (path, sizeof path, "/proc/%d/cgroup", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (r <= 0 || cgroup2_mount (mnt, sizeof mnt) < 0)
    return -1;
  buf[r] = '\0';
  /* the v2 line is "0::/path" (read from our cgroup namespace: the host's) */
  char *v2 = strncmp (buf, "0::", 3) == 0 ? buf : strstr (buf, "\n0::");
  if (v2 == NULL)
    return -1;
  v2 += v2 == buf ? 3 : 4;
  char *nl = strchr (v2, '\n');
  if (nl)
    *nl = '\0';
  unsigned depth = 0;
  for (const char *p = v2; *p; p++)
    if (*p == '/' && p[1] != '\0' && p[1] != '/')
      depth++;
  if (depth == 0)
    return -1;   /* the root cgroup: a filter there would match everything anyway */
  char dir[1024];
  snprintf (dir, sizeof dir, "%s%s", mnt, v2);
  struct stat st;
  if (stat (dir, &st) < 0)
    return -1;
  /* On cgroup2 (kernfs) a directory's inode number is the cgroup's id. */
  *id = (unsigned long long) st.st_ino;
  *level = depth;
  return 0;
}

#ifdef HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>

extern const unsigned char moat_fault_bpf_obj[];
extern const size_t moat_fault_bpf_obj_len;

struct fault_bpf
{
  struct bpf_object *obj;
  struct bpf_link *link;
  struct ring_buffer *rb;
  int dropped_fd;
  unsigned long long dropped_seen;
  fault_bpf_cb cb;
  void *ctx;
};

bool
fault_bpf_built (void)
{
  return true;
}

/* libbpf's own messages: the last warning is kept for the error a user
 * sees (the verifier's or the kernel's reason), nothing is printed. */
static __thread char last_msg[256];

static int
keep_last (enum libbpf_print_level level, const char *fmt, va_list ap)
{
  if (level == LIBBPF_WARN)
    {
      char m[sizeof last_msg];
      vsnprintf (m, sizeof m, fmt, ap);
      size_t n = strlen (m);
      while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
      if (n)
        memcpy (last_msg, m, sizeof m);
    }
  return 0;
}

static int
on_event (void *ctx, void *data, size_t size)
{
  struct fault_bpf *b = ctx;
  if (size >= sizeof (struct moat_fault_event))
    b->cb (b->ctx, data);
  return 0;
}

int
fault_bpf_open (unsigned long long cgroup_id, unsigned level, fault_bpf_cb cb, void *ctx,
                struct fault_bpf **out, moat_error **err)
{
  libbpf_set_print (keep_last);
  last_msg[0] = '\0';
  if (access ("/sys/kernel/btf/vmlinux", R_OK) < 0)
    return moat_error_set (err, errno, "BPF fault probe: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
  struct fault_bpf *b = xmalloc0 (sizeof *b);
  b->cb = cb;
  b->ctx = ctx;
  b->dropped_fd = -1;
  const char *what = "open";
  LIBBPF_OPTS (bpf_object_open_opts, opts, .object_name = "moat_fault");
  b->obj = bpf_object__open_mem (moat_fault_bpf_obj, moat_fault_bpf_obj_len, &opts);
  if (b->obj == NULL)
    goto fail;
  what = "load (verify)";
  if (bpf_object__load (b->obj) < 0)
    goto fail;
  what = "set its filter";
  int filter_fd = bpf_object__find_map_fd_by_name (b->obj, "filter");
  struct { unsigned long long id; unsigned level, pad; } flt = { cgroup_id, level, 0 };
  unsigned key = 0;
  if (filter_fd < 0 || bpf_map_update_elem (filter_fd, &key, &flt, BPF_ANY) < 0)
    goto fail;
  b->dropped_fd = bpf_object__find_map_fd_by_name (b->obj, "dropped");
  what = "open its ring buffer";
  int ring_fd = bpf_object__find_map_fd_by_name (b->obj, "events");
  b->rb = ring_fd >= 0 ? ring_buffer__new (ring_fd, on_event, b, NULL) : NULL;
  if (b->rb == NULL)
    goto fail;
  what = "attach to signal_generate";
  struct bpf_program *prog = bpf_object__find_program_by_name (b->obj, "moat_fault");
  b->link = prog ? bpf_program__attach (prog) : NULL;
  if (b->link == NULL)
    goto fail;
  *out = b;
  return 0;

fail:;
  int e = errno ? errno : EINVAL;
  char why[sizeof last_msg + 8];
  snprintf (why, sizeof why, "%s%s", last_msg[0] ? ": " : "", last_msg);
  fault_bpf_close (b);
  return moat_error_set (err, e, "BPF fault probe: %s failed%s", what, why);
}

int
fault_bpf_fd (const struct fault_bpf *b)
{
  return ring_buffer__epoll_fd (b->rb);
}

void
fault_bpf_consume (struct fault_bpf *b)
{
  (void) ring_buffer__consume (b->rb);
}

unsigned long long
fault_bpf_take_dropped (struct fault_bpf *b)
{
  unsigned key = 0;
  unsigned long long n = 0;
  if (b->dropped_fd < 0 || bpf_map_lookup_elem (b->dropped_fd, &key, &n) < 0 || n <= b->dropped_seen)
    return 0;
  unsigned long long d = n - b->dropped_seen;
  b->dropped_seen = n;
  return d;
}

void
fault_bpf_close (struct fault_bpf *b)
{
  if (b == NULL)
    return;
  if (b->link)
    bpf_link__destroy (b->link);
  if (b->rb)
    ring_buffer__free (b->rb);
  if (b->obj)
    bpf_object__close (b->obj);
  free (b);
}

#else /* !HAVE_BPF */

struct fault_bpf
{
  int unused;
};

bool
fault_bpf_built (void)
{
  return false;
}

int
fault_bpf_open (unsigned long long cgroup_id, unsigned level, fault_bpf_cb cb, void *ctx,
                struct fault_bpf **out, moat_error **err)
{
  (void) cgroup_id; (void) level; (void) cb; (void) ctx; (void) out;
  return moat_error_set (err, ENOTSUP, "BPF fault probe: moat was built without it (configure found no libbpf-dev or clang)");
}

int
fault_bpf_fd (const struct fault_bpf *b)
{
  (void) b;
  return -1;
}

void
fault_bpf_consume (struct fault_bpf *b)
{
  (void) b;
}

unsigned long long
fault_bpf_take_dropped (struct fault_bpf *b)
{
  (void) b;
  return 0;
}

void
fault_bpf_close (struct fault_bpf *b)
{
  (void) b;
}

#endif
