#include "config-host.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void
cleanup_close_fn (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static int
cmp_fd (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

int
thread_start_small (pthread_t *t, void *(*fn) (void *), void *arg)
{
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setstacksize (&at, 256 * 1024);
  int r = pthread_create (t, &at, fn, arg);
  pthread_attr_destroy (&at);
  return r;
}

void
close_fds_except (int first, const int *keep, size_t n)
{
  int sorted[16];
  if (n > 16)
    n = 16;
  memcpy (sorted, keep, n * sizeof (int));
  qsort (sorted, n, sizeof (int), cmp_fd);
  int from = first;
  for (size_t i = 0; i < n; i++)
    {
      if (sorted[i] < from)
        continue;
      if (sorted[i] > from)
        syscall (SYS_close_range, from, sorted[i] - 1, 0);
      from = sorted[i] + 1;
    }
  syscall (SYS_close_range, from, ~0U, 0);
}

void
strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

void
cleanup_strv_fn (char ***v)
{
  strv_free (*v);
}

size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **
strv_dup (char *const *v)
{
  size_t n = strv_len (v);
  char **r = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

char *
path_clean (const char *path)
{
  /* Each component onto OUT: "" and "." dropped, ".." takes one back
   * (never above the root), as Go's filepath.Clean reads a path. */
  size_t len = strlen (path);
  char *out = xmalloc0 (len + 2);
  size_t o = 0;
  bool abs = path[0] == '/';
  const char *p = path;
  while (*p)
    {
      while (*p == '/')
        p++;
      const char *e = p;
      while (*e && *e != '/')
        e++;
      size_t l = (size_t) (e - p);
      if (l == 0 || (l == 1 && p[0] == '.'))
        ;
      else if (l == 2 && p[0] == '.' && p[1] == '.' && (o > 0 || abs))
        {
          while (o > 0 && out[o - 1] != '/')
            o--;
          if (o > 0)
            o--;
        }
      else
        {
          if (o > 0 || abs)
            out[o++] = '/';
          memcpy (out + o, p, l);
          o += l;
        }
      p = e;
    }
  if (o == 0)
    out[o++] = abs ? '/' : '.';
  out[o] = '\0';
  return out;
}

const char *
user_name (uid_t uid, char *buf, size_t n)
{
  cleanup_free char *text = NULL;
  size_t len;
  if (read_file_at (-100, "/etc/passwd", &text, &len, 16 << 20, NULL) < 0)
    return NULL;
  /* name:password:uid:... per line */
  for (char *line = text, *next; line && *line; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL || c1 == line)
        continue;
      char *end;
      errno = 0;
      unsigned long u = strtoul (c2 + 1, &end, 10);
      if (errno || end == c2 + 1 || *end != ':' || u != (unsigned long) uid)
        continue;
      size_t l = (size_t) (c1 - line);
      if (l >= n)
        return NULL;
      memcpy (buf, line, l);
      buf[l] = '\0';
      return buf;
    }
  return NULL;
}

void *
xmalloc0 (size_t n)
{
  void *p = calloc (1, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xmap0 (size_t n)
{
  void *p = mmap (NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    abort ();
  return p;
}

void
xunmap0 (void *p, size_t n)
{
  if (p)
    munmap (p, n ? n : 1);
}

/* The main thread's stack's lowest address (its [stack] mapping), 0 if
 * not found. A function of its own: its 8 KiB buffer is gone (below the
 * caller's frame) by the time the caller discards what is below it. */
static unsigned long __attribute__ ((noinline))
main_stack_low (void)
{
  char buf[8192];
  int fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  char *line = strstr (buf, "[stack]");
  if (line == NULL)
    return 0;
  while (line > buf && line[-1] != '\n')
    line--;
  return strtoul (line, NULL, 16);
}

/* A supervisor lives as long as its container and sleeps shallow in its
 * loop, but its stack keeps every page its deepest call ever touched (its
 * first moments read the connector through an 8 KiB buffer, and so on):
 * resident for good, counted in what a container costs. Those below the
 * caller's frame, less two pages (this frame, the red zone, the madvise
 * call's return address), go back; a later deeper call gets zeroed pages
 * again. The main thread only. */
void
stack_trim_below_caller (void)
{
  unsigned long lo = main_stack_low ();
  long pg = sysconf (_SC_PAGESIZE);
  unsigned long here = (unsigned long) __builtin_frame_address (0);
  unsigned long top = (here & ~((unsigned long) pg - 1)) - 2 * (unsigned long) pg;
  if (lo == 0 || top <= lo || top > here)
    return;
  (void) madvise ((void *) lo, top - lo, MADV_DONTNEED);
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *r = strdup (s ? s : "");
  if (r == NULL)
    abort ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  char *s;
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return s;
}

size_t
utf8_seq_len (const unsigned char *s, size_t avail, unsigned int *cpo)
{
  unsigned char c = s[0];
  size_t n;
  unsigned int cp;
  if (c < 0x80)
    {
      *cpo = c;
      return 1;
    }
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (n > avail)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
  /* Overlong forms, surrogates, beyond U+10FFFF. */
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *cpo = cp;
  return n;
}

/* Length of the valid UTF-8 sequence at S (at most AVAIL bytes) that is
 * safe to show as it is, 0 when S starts with a byte to escape. */
static size_t
utf8_shown_len (const unsigned char *s, size_t avail)
{
  unsigned int cp;
  size_t n = utf8_seq_len (s, avail, &cp);
  if (n == 0 || cp < 0x20 || cp == 0x7f)
    return 0;
  /* The C1 controls (U+009B is a CSI to terminals that decode it) and the
   * bidirectional overrides and isolates, which reorder what a terminal
   * shows (a path could show as another). */
  if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
    return 0;
  return n;
}

/* The escaping itself, of the first N bytes of S into O (room for 4 * N
 * bytes and a NUL).  No allocation: log_write uses it from any thread and
 * from a forked child. */
static char *
escape_into_bs (char *o, const unsigned char *p, size_t n, bool backslash)
{
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n;)
    {
      size_t k = utf8_shown_len (p + i, n - i);
      if (backslash && p[i] == '\\')
        {
          *o++ = '\\';
          *o++ = '\\';
          i++;
          continue;
        }
      if (k == 0)
        {
          *o++ = '\\';
          *o++ = 'x';
          *o++ = hex[p[i] >> 4];
          *o++ = hex[p[i] & 15];
          i++;
          continue;
        }
      memcpy (o, p + i, k);
      o += k;
      i += k;
    }
  *o = '\0';
  return o;
}

static char *
escape_into (char *o, const unsigned char *p, size_t n)
{
  return escape_into_bs (o, p, n, false);
}

char *
str_visible_n (const char *s, size_t n)
{
  char *r = xmalloc0 (n * 4 + 1);
  escape_into_bs (r, (const unsigned char *) s, n, true);
  return r;
}

char *
str_printable_n (const char *s, size_t max)
{
  /* errno kept: callers escape a name right before quoting errno with it. */
  int saved = errno;
  if (s == NULL)
    s = "(null)";
  size_t n = strlen (s);
  bool cut = max && n > max;
  if (cut)
    n = max;
  char *r = xmalloc0 (n * 4 + 4);
  char *o = escape_into (r, (const unsigned char *) s, n);
  if (cut)
    memcpy (o, "...", 4);
  errno = saved;
  return r;
}

size_t
str_printable_buf (char *out, size_t outsz, const char *s)
{
  size_t n = strlen (s);
  if (outsz == 0)
    return 0;
  if (n > (outsz - 1) / 4)
    n = (outsz - 1) / 4;
  return (size_t) (escape_into (out, (const unsigned char *) s, n) - out);
}

int
write_all (int fd, const void *buf, size_t n)
{
  const char *p = buf;
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

ssize_t
read_all (int fd, void *buf, size_t n)
{
  char *p = buf;
  size_t got = 0;
  while (got < n)
    {
      ssize_t r = read (fd, p + got, n - got);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (r == 0)
        break;
      got += (size_t) r;
    }
  return (ssize_t) got;
}

const char *
file_type_name (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: return "of an unknown type";
    }
}

int
open_regular_at (int dirfd, const char *path, int *out, moat_error **err)
{
  /* A FIFO blocks open(2) and read(2) until a writer comes, for ever (a
   * bundle's config.json -> a FIFO hung create and ignored SIGTERM); a
   * device may never end, or do something on open.  Symlinks are followed
   * (runc reads a symlinked config.json): what they point at is what is
   * checked.  The stat before the open keeps moat from opening a device at
   * all; O_NONBLOCK makes the open of a FIFO swapped in after it return at
   * once, and the fstat of what was opened is the check that counts.
   * (O_NONBLOCK means nothing to a regular file's reads.) */
  struct stat st;
  if (fstatat (dirfd, path, &st, 0) == 0 && !S_ISREG (st.st_mode))
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, 0, "`%s`: not a regular file but %s", shown, file_type_name (st.st_mode));
    }
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "open `%s`", shown);
    }
  if (fstat (fd, &st) < 0)
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, errno, "stat `%s`", shown);
    }
  if (!S_ISREG (st.st_mode))
    {
      cleanup_free char *shown = str_printable (path);
      return moat_error_set (err, 0, "`%s`: not a regular file but %s", shown, file_type_name (st.st_mode));
    }
  *out = steal_fd (&fd);
  return 0;
}

int
read_file_at (int dirfd, const char *path, char **out, size_t *len, size_t max, moat_error **err)
{
  cleanup_close int fd = -1;
  if (open_regular_at (dirfd, path, &fd, err) < 0)
    return -1;
  size_t cap = 4096, n = 0;
  cleanup_free char *buf = xmalloc0 (cap + 1);
  for (;;)
    {
      if (n == cap)
        {
          cap *= 2;
          buf = xrealloc (buf, cap + 1);
        }
      ssize_t r = read (fd, buf + n, cap - n);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          cleanup_free char *shown = str_printable (path);
          return moat_error_set (err, errno, "read `%s`", shown);
        }
      if (r == 0)
        break;
      n += (size_t) r;
      if (max && n > max)
        {
          cleanup_free char *shown = str_printable (path);
          return moat_error_set (err, EFBIG, "read `%s`: larger than %zu bytes", shown, max);
        }
    }
  buf[n] = '\0';
  if (len)
    *len = n;
  *out = steal_pointer (&buf);
  return 0;
}

int
write_file_atomic_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode, moat_error **err)
{
  cleanup_free char *tmp = xasprintf (".%s.tmp.%d", name, (int) getpid ());
  cleanup_close int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return moat_error_set (err, errno, "create `%s`", tmp);
  if (write_all (fd, data, len) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return moat_error_set (err, e, "write `%s`", tmp);
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return moat_error_set (err, e, "rename `%s` to `%s`", tmp, name);
    }
  return 0;
}

int
write_file_at (int dirfd, const char *path, const char *data, size_t len, moat_error **err)
{
  cleanup_close int fd = openat (dirfd, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error_set (err, errno, "open `%s`", path);
  /* Kernel knobs take the value in one write(); a short write is an error. */
  ssize_t w = write (fd, data, len);
  if (w < 0)
    return moat_error_set (err, errno, "write `%s` to `%s`", data, path);
  if ((size_t) w != len)
    return moat_error_set (err, EIO, "short write to `%s`", path);
  return 0;
}

int
mkdir_p (const char *path, mode_t mode, moat_error **err)
{
  cleanup_free char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return moat_error_set (err, errno, "mkdir `%s`", p);
      *s = '/';
    }
  if (mkdir (p, mode) < 0 && errno != EEXIST)
    return moat_error_set (err, errno, "mkdir `%s`", p);
  return 0;
}

unsigned long long
now_usec (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000;
}

int
send_with_fd (int sock, const void *buf, size_t len, int passed)
{
  char cbuf[CMSG_SPACE (sizeof (int))];
  memset (cbuf, 0, sizeof cbuf);
  struct iovec iov = { (void *) buf, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &passed, sizeof (int));
  ssize_t n;
  do
    n = sendmsg (sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

bool
pid_running (pid_t pid)
{
  char path[64], buf[512];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* "PID (comm) S ...": the comm may hold ")" and spaces, the state follows the last. */
  const char *p = strrchr (buf, ')');
  return p && p[1] == ' ' && p[2] != '\0' && p[2] != 'Z' && p[2] != 'X';
}

ssize_t
recv_with_fd (int sock, void *buf, size_t len, int *passed)
{
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { buf, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  ssize_t n;
  do
    n = recvmsg (sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *passed = -1;
  struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR (&m) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN (sizeof (int)))
    memcpy (passed, CMSG_DATA (c), sizeof (int));
  return n;
}
