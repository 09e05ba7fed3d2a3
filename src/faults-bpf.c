#include "config-host.h"
#include "faults-bpf.h"
#include "cgroup.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fault_bpf_cgroup_of (pid_t pid, unsigned long long *id, unsigned *level)
{
  *id = 0;
  *level = 0;
  char path[64], buf[4096];
  const char *mnt = cgroup_v2_root ();
  snprintf (path, sizeof path, "/proc/%d/cgroup", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (r <= 0 || mnt == NULL)
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
#include <dlfcn.h>
#include <stdarg.h>

extern const unsigned char moat_fault_bpf_obj[];
extern const size_t moat_fault_bpf_obj_len;

/* A shared-library moat opens libbpf when a probe is asked for, rather
 * than linking it: it runs on a host without libbpf1, and the common start
 * pays nothing for it (the loader maps libbpf, libelf and libz in about
 * 0.15 ms per exec). A static moat links it in (LINK_LIBBPF). */
static struct
{
  libbpf_print_fn_t (*set_print) (libbpf_print_fn_t);
  struct bpf_object *(*open_mem) (const void *, size_t, const struct bpf_object_open_opts *);
  int (*load) (struct bpf_object *);
  int (*map_fd) (const struct bpf_object *, const char *);
  int (*update) (int, const void *, const void *, __u64);
  int (*lookup) (int, const void *, void *);
  struct ring_buffer *(*rb_new) (int, ring_buffer_sample_fn, void *, const struct ring_buffer_opts *);
  int (*rb_epoll_fd) (const struct ring_buffer *);
  int (*rb_consume) (struct ring_buffer *);
  void (*rb_free) (struct ring_buffer *);
  struct bpf_program *(*find_prog) (const struct bpf_object *, const char *);
  struct bpf_link *(*attach) (const struct bpf_program *);
  int (*set_autoload) (struct bpf_program *, bool);
  int (*link_destroy) (struct bpf_link *);
  void (*close) (struct bpf_object *);
} lb;

#ifdef LINK_LIBBPF
/* A static moat carries libbpf inside it (configure.ac): a static program
 * cannot safely dlopen a library built against the shared libc. */
static int
libbpf_open (moat_error **err)
{
  (void) err;
  lb.set_print = libbpf_set_print;
  lb.open_mem = bpf_object__open_mem;
  lb.load = bpf_object__load;
  lb.map_fd = bpf_object__find_map_fd_by_name;
  lb.update = bpf_map_update_elem;
  lb.lookup = bpf_map_lookup_elem;
  lb.rb_new = ring_buffer__new;
  lb.rb_epoll_fd = ring_buffer__epoll_fd;
  lb.rb_consume = ring_buffer__consume;
  lb.rb_free = ring_buffer__free;
  lb.find_prog = bpf_object__find_program_by_name;
  lb.attach = bpf_program__attach;
  lb.set_autoload = bpf_program__set_autoload;
  lb.link_destroy = bpf_link__destroy;
  lb.close = bpf_object__close;
  return 0;
}
#else
static int
libbpf_open (moat_error **err)
{
  if (lb.close)
    return 0;
  void *h = dlopen ("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return moat_error_set (err, ENOENT, "BPF fault probe: cannot load libbpf.so.1 (apt-get install libbpf1): %s", dlerror ());
  struct { void **slot; const char *name; } syms[] = {
    { (void **) &lb.set_print, "libbpf_set_print" },
    { (void **) &lb.open_mem, "bpf_object__open_mem" },
    { (void **) &lb.load, "bpf_object__load" },
    { (void **) &lb.map_fd, "bpf_object__find_map_fd_by_name" },
    { (void **) &lb.update, "bpf_map_update_elem" },
    { (void **) &lb.lookup, "bpf_map_lookup_elem" },
    { (void **) &lb.rb_new, "ring_buffer__new" },
    { (void **) &lb.rb_epoll_fd, "ring_buffer__epoll_fd" },
    { (void **) &lb.rb_consume, "ring_buffer__consume" },
    { (void **) &lb.rb_free, "ring_buffer__free" },
    { (void **) &lb.find_prog, "bpf_object__find_program_by_name" },
    { (void **) &lb.attach, "bpf_program__attach" },
    { (void **) &lb.set_autoload, "bpf_program__set_autoload" },
    { (void **) &lb.link_destroy, "bpf_link__destroy" },
    { (void **) &lb.close, "bpf_object__close" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (syms); i++)
    if ((*syms[i].slot = dlsym (h, syms[i].name)) == NULL)
      {
        memset (&lb, 0, sizeof lb);
        return moat_error_set (err, ENOSYS, "BPF fault probe: libbpf.so.1 lacks %s", syms[i].name);
      }
  return 0;
}
#endif

struct fault_bpf
{
  struct bpf_object *obj;
  struct bpf_link *link, *link_refused;
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
  /* a fault's record is shorter (no strings): copy into a whole one */
  struct moat_fault_event e;
  memset (&e, 0, sizeof e);
  if (size < offsetof (struct moat_fault_event, str))
    return 0;
  memcpy (&e, data, size < sizeof e ? size : sizeof e);
  b->cb (b->ctx, &e);
  return 0;
}

int
fault_bpf_open (unsigned long long cgroup_id, unsigned level, bool refused, fault_bpf_cb cb, void *ctx,
                struct fault_bpf **out, moat_error **err)
{
  if (libbpf_open (err) < 0)
    return -1;
  lb.set_print (keep_last);
  last_msg[0] = '\0';
  if (access ("/sys/kernel/btf/vmlinux", R_OK) < 0)
    return moat_error_set (err, errno, "BPF fault probe: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
  struct fault_bpf *b = xmalloc0 (sizeof *b);
  b->cb = cb;
  b->ctx = ctx;
  b->dropped_fd = -1;
  const char *what = "open";
  LIBBPF_OPTS (bpf_object_open_opts, opts, .object_name = "moat_fault");
  b->obj = lb.open_mem (moat_fault_bpf_obj, moat_fault_bpf_obj_len, &opts);
  if (b->obj == NULL)
    goto fail;
  /* the syscall-exit program only when asked for: it runs at every
   * syscall exit of the host */
  struct bpf_program *rp = lb.find_prog (b->obj, "moat_refused");
  if (rp && !refused)
    lb.set_autoload (rp, false);
  what = "load (verify)";
  if (lb.load (b->obj) < 0)
    goto fail;
  what = "set its filter";
  int filter_fd = lb.map_fd (b->obj, "filter");
  struct { unsigned long long id; unsigned level, pad; } flt = { cgroup_id, level, 0 };
  unsigned key = 0;
  if (filter_fd < 0 || lb.update (filter_fd, &key, &flt, BPF_ANY) < 0)
    goto fail;
  b->dropped_fd = lb.map_fd (b->obj, "dropped");
  what = "open its ring buffer";
  int ring_fd = lb.map_fd (b->obj, "events");
  b->rb = ring_fd >= 0 ? lb.rb_new (ring_fd, on_event, b, NULL) : NULL;
  if (b->rb == NULL)
    goto fail;
  what = "attach to signal_generate";
  struct bpf_program *prog = lb.find_prog (b->obj, "moat_fault");
  b->link = prog ? lb.attach (prog) : NULL;
  if (b->link == NULL)
    goto fail;
  if (refused)
    {
      what = "attach to sys_exit";
      b->link_refused = rp ? lb.attach (rp) : NULL;
      if (b->link_refused == NULL)
        goto fail;
    }
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
  return lb.rb_epoll_fd (b->rb);
}

void
fault_bpf_consume (struct fault_bpf *b)
{
  (void) lb.rb_consume (b->rb);
}

unsigned long long
fault_bpf_take_dropped (struct fault_bpf *b)
{
  unsigned key = 0;
  unsigned long long n = 0;
  if (b->dropped_fd < 0 || lb.lookup (b->dropped_fd, &key, &n) < 0 || n <= b->dropped_seen)
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
  if (b->link_refused)
    lb.link_destroy (b->link_refused);
  if (b->link)
    lb.link_destroy (b->link);
  if (b->rb)
    lb.rb_free (b->rb);
  if (b->obj)
    lb.close (b->obj);
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
fault_bpf_open (unsigned long long cgroup_id, unsigned level, bool refused, fault_bpf_cb cb, void *ctx,
                struct fault_bpf **out, moat_error **err)
{
  (void) cgroup_id; (void) level; (void) refused; (void) cb; (void) ctx; (void) out;
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
