#include "config-host.h"
#include "spool.h"
#include "audit.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_MAGIC "MOATSPL1"
#define HEADER_SIZE 4096
/* 128 KiB: about 700 syscall records, 4 ms of a storm at full speed; the
 * thread empties it every millisecond. Only pages written are resident. */
#define RING_SIZE (128 * 1024)

/* How far the log has taken the ring: records up to TAIL are in it, and it
 * was LOG_SIZE bytes long just after them. LOST records were refused since
 * (a full disk), the last at LOST_AT: the next write starts with a notice
 * saying so, which a recovery must write the same way. */
struct spool_slot
{
  uint64_t tail, log_size;
  struct spool_lost lost;
};

/* The file's first page. HEAD is bytes ever put (the ring offset is HEAD
 * modulo RING); what the log has taken is SLOT[CUR]: the tail up to which
 * records are in the log, and the log's size just after them. The thread
 * writes the other slot and then flips CUR, so a reader never sees a tail
 * from one batch with a size from another. */
struct spool_header
{
  char magic[8];
  uint32_t ring;
  uint32_t cur;
  uint64_t head;
  struct spool_slot slot[2];
  char id[1040];
  char policy[1024];
};

_Static_assert (sizeof (struct spool_header) <= HEADER_SIZE, "spool header fits its page");

/* In the ring: this, the payload, padding to 8 bytes. */
struct rec_head
{
  uint32_t len;
  uint32_t type;
};

struct spool
{
  struct spool_header *h;
  char *ring;
  size_t map_len;
  int fd, log_fd;
  char *path;
  spool_format_fn fmt;
  void *ctx;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t work, space, drained;
  uint64_t tail;                        /* under lock: what the thread has taken */
  uint64_t log_size;                    /* the thread's */
  bool idle;                            /* under lock: the thread waits for work */
  bool stop;
  unsigned flushers;
};

char *
spool_path (const char *dir, const char *id)
{
  return xasprintf ("%s/%s.spool", dir, id);
}

static size_t
rec_size (size_t n)
{
  return sizeof (struct rec_head) + ((n + 7) & ~(size_t) 7);
}

/* Copies in and out of the ring, wrapping at its end. */
static void
ring_in (char *ring, uint64_t off, const void *src, size_t n)
{
  size_t at = (size_t) (off % RING_SIZE), first = n < RING_SIZE - at ? n : RING_SIZE - at;
  memcpy (ring + at, src, first);
  memcpy (ring, (const char *) src + first, n - first);
}

static void
ring_out (const char *ring, uint64_t off, void *dst, size_t n)
{
  size_t at = (size_t) (off % RING_SIZE), first = n < RING_SIZE - at ? n : RING_SIZE - at;
  memcpy (dst, ring + at, first);
  memcpy ((char *) dst + first, ring, n - first);
}

int
spool_create (const char *dir, const char *id, const char *policy, int *fd, moat_error **err)
{
  /* Set up under another name and renamed into place: a recovery (which
   * takes any spool it can lock) never sees one half made. Two creates of
   * one id never get here at once (the state directory is taken first). */
  cleanup_free char *path = spool_path (dir, id);
  cleanup_free char *tmp = xasprintf ("%s/.%s.spool.new", dir, id);
  cleanup_close int f = open (tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (f < 0)
    return moat_error_set (err, errno, "create audit spool `%s`", tmp);
  struct spool_header h = { .ring = RING_SIZE };
  memcpy (h.magic, SPOOL_MAGIC, 8);
  snprintf (h.id, sizeof h.id, "%s", id);
  snprintf (h.policy, sizeof h.policy, "%s", policy ? policy : "");
  struct stat st;
  cleanup_free char *log = audit_path (dir, id);
  /* The log may already hold records (none today: the supervisor is its
   * only writer, and it opens the spool first), so start from its size. */
  h.slot[0].log_size = stat (log, &st) == 0 ? (uint64_t) st.st_size : 0;
  /* Blocks allocated now, not at the first store to a page: a mapped page
   * the file system cannot back (a full disk) is a SIGBUS, where a write
   * would have been an error to count. */
  int fe = 0;
  if (flock (f, LOCK_EX | LOCK_NB) < 0 || (fe = posix_fallocate (f, 0, HEADER_SIZE + RING_SIZE)) != 0
      || pwrite (f, &h, sizeof h, 0) != (ssize_t) sizeof h
      || renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
    {
      int e = fe ? fe : errno;
      unlink (tmp);
      return moat_error_set (err, e, "set up audit spool `%s`", path);
    }
  *fd = steal_fd (&f);
  return 0;
}

void
spool_discard (const char *dir, const char *id, int fd)
{
  cleanup_free char *path = spool_path (dir, id);
  struct stat a, b;
  /* Only the file FD is: never a spool that another create made since. */
  if (fd >= 0 && fstat (fd, &a) == 0 && stat (path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    unlink (path);
}

/* The log took [tail, head) and is now LOG_SIZE long: the other slot, then
 * the flip. */
static void
publish (struct spool *sp, uint64_t tail, const struct spool_lost *lost)
{
  uint32_t other = sp->h->cur ^ 1;
  sp->h->slot[other].tail = tail;
  sp->h->slot[other].log_size = sp->log_size;
  sp->h->slot[other].lost = *lost;
  __atomic_store_n (&sp->h->cur, other, __ATOMIC_RELEASE);
}

/* Format records [from, to) of RING onto OUT (a scratch buffer for each
 * payload in *SCRATCH). Returns how many; stops at a record that makes no
 * sense (a corrupt file), setting *BAD. */
static unsigned long long
format_range (const char *ring, uint64_t from, uint64_t to, spool_format_fn fmt, void *ctx, const char *id,
              const char *policy, struct jbuf *out, char **scratch, size_t *cap, bool *bad)
{
  unsigned long long n = 0;
  while (from < to)
    {
      struct rec_head rh;
      if (to - from < sizeof rh)
        {
          *bad = true;
          break;
        }
      ring_out (ring, from, &rh, sizeof rh);
      size_t sz = rec_size (rh.len);
      if (rh.len > RING_SIZE || sz > to - from)
        {
          *bad = true;
          break;
        }
      if (rh.len + 1 > *cap)
        {
          *cap = rh.len + 1;
          *scratch = xrealloc (*scratch, *cap);
        }
      ring_out (ring, from + sizeof rh, *scratch, rh.len);
      (*scratch)[rh.len] = '\0';
      fmt (out, rh.type, *scratch, rh.len, id, policy, ctx);
      from += sz;
      n++;
    }
  return n;
}

static void *
drain_main (void *arg)
{
  struct spool *sp = arg;
  sigset_t all;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, NULL);
  struct jbuf out = { 0 };
  cleanup_free char *scratch = NULL;
  size_t cap = 0;
  struct spool_lost lost = sp->h->slot[sp->h->cur].lost;
  pthread_mutex_lock (&sp->lock);
  for (;;)
    {
      uint64_t head = __atomic_load_n (&sp->h->head, __ATOMIC_ACQUIRE);
      if (head == sp->tail)
        {
          if (sp->stop)
            break;
          sp->idle = true;
          pthread_cond_wait (&sp->work, &sp->lock);
          continue;
        }
      /* Woken by the first record after a quiet spell: let a batch gather
       * (a millisecond, or half the ring) rather than write each record as
       * it comes, which is what the ring is here to avoid. */
      if (!sp->stop && !sp->flushers && head - sp->tail < RING_SIZE / 2)
        {
          pthread_mutex_unlock (&sp->lock);
          struct timespec ms = { 0, 1000 * 1000 };
          nanosleep (&ms, NULL);
          pthread_mutex_lock (&sp->lock);
          head = __atomic_load_n (&sp->h->head, __ATOMIC_ACQUIRE);
        }
      uint64_t tail = sp->tail;
      pthread_mutex_unlock (&sp->lock);

      /* One write for the batch, led by the notice of what the log refused
       * before (if anything): a recovery re-formats the same bytes from
       * the published slot, and skips what the log already has. */
      out.len = 0;
      if (lost.count)
        sp->fmt (&out, SPOOL_LOST, &lost, sizeof lost, sp->h->id, sp->h->policy, sp->ctx);
      bool bad = false;
      unsigned long long n
          = format_range (sp->ring, tail, head, sp->fmt, sp->ctx, sp->h->id, sp->h->policy, &out, &scratch, &cap, &bad);
      /* (The log's first batch also takes its header: a recovery's count
       * of what the log already has is in the log's bytes.) */
      size_t wrote = 0;
      if (audit_append_sized (sp->log_fd, out.buf, out.len, &wrote) == 0)
        {
          __atomic_store_n (&sp->log_size, sp->log_size + wrote, __ATOMIC_RELAXED);
          lost.count = 0;
        }
      else
        {
          /* A full disk must not stop the container: the batch is counted
           * and dropped (audit_append took back what part of it went in),
           * and the log's size read again. */
          struct stat st;
          struct timespec now;
          clock_gettime (CLOCK_REALTIME, &now);
          lost.count += n;
          lost.sec = now.tv_sec;
          lost.nsec = now.tv_nsec;
          if (fstat (sp->log_fd, &st) == 0)
            __atomic_store_n (&sp->log_size, (uint64_t) st.st_size, __ATOMIC_RELAXED);
        }

      pthread_mutex_lock (&sp->lock);
      sp->tail = head;
      publish (sp, head, &lost);
      pthread_cond_broadcast (&sp->space);
      pthread_cond_broadcast (&sp->drained);
    }
  sp->idle = false;
  pthread_mutex_unlock (&sp->lock);
  jb_free (&out);
  /* What is still unsaid goes to spool_finish's caller. */
  return (void *) (uintptr_t) lost.count;
}

int
spool_start (int fd, int log_fd, const char *path, spool_format_fn fmt, void *ctx, struct spool **out,
             moat_error **err)
{
  size_t len = HEADER_SIZE + RING_SIZE;
  void *m = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return moat_error_set (err, errno, "map audit spool");
  struct spool *sp = xmalloc0 (sizeof *sp);
  sp->h = m;
  sp->ring = (char *) m + HEADER_SIZE;
  sp->map_len = len;
  sp->fd = fd;
  sp->log_fd = log_fd;
  sp->path = xstrdup (path);
  sp->fmt = fmt;
  sp->ctx = ctx;
  sp->tail = sp->h->slot[sp->h->cur].tail;
  sp->log_size = sp->h->slot[sp->h->cur].log_size;
  pthread_mutex_init (&sp->lock, NULL);
  pthread_cond_init (&sp->work, NULL);
  pthread_cond_init (&sp->space, NULL);
  pthread_cond_init (&sp->drained, NULL);
  int r = thread_start_small (&sp->thread, drain_main, sp);
  if (r != 0)
    {
      munmap (m, len);
      free (sp->path);
      free (sp);
      return moat_error_set (err, r, "audit spool thread");
    }
  *out = sp;
  return 0;
}

/* Under sp->lock: the thread, if it waits for work, has some. */
static void
wake_thread (struct spool *sp)
{
  if (sp->idle)
    {
      sp->idle = false;
      pthread_cond_signal (&sp->work);
    }
}

int
spool_put (struct spool *sp, uint32_t type, const void *p, size_t n)
{
  size_t need = rec_size (n);
  if (need > RING_SIZE)
    return -1;
  struct rec_head rh = { .len = (uint32_t) n, .type = type };
  pthread_mutex_lock (&sp->lock);
  /* (The head is read again after each wait: another thread may have put
   * records meanwhile.) */
  uint64_t head;
  while ((head = sp->h->head) + need - sp->tail > RING_SIZE)
    {
      wake_thread (sp);
      pthread_cond_wait (&sp->space, &sp->lock);
    }
  ring_in (sp->ring, head, &rh, sizeof rh);
  ring_in (sp->ring, head + sizeof rh, p, n);
  /* The record's bytes before the head that covers them: a recovery
   * trusts everything below the head. */
  __atomic_store_n (&sp->h->head, head + need, __ATOMIC_RELEASE);
  wake_thread (sp);
  pthread_mutex_unlock (&sp->lock);
  return 0;
}

void
spool_flush (struct spool *sp)
{
  pthread_mutex_lock (&sp->lock);
  uint64_t target = sp->h->head;
  sp->flushers++;
  wake_thread (sp);
  while (sp->tail < target)
    pthread_cond_wait (&sp->drained, &sp->lock);
  sp->flushers--;
  pthread_mutex_unlock (&sp->lock);
}

uint64_t
spool_log_size (struct spool *sp)
{
  return sp ? __atomic_load_n (&sp->log_size, __ATOMIC_RELAXED) : 0;
}

unsigned long long
spool_finish (struct spool *sp)
{
  pthread_mutex_lock (&sp->lock);
  sp->stop = true;
  pthread_cond_signal (&sp->work);
  pthread_mutex_unlock (&sp->lock);
  void *ret = NULL;
  pthread_join (sp->thread, &ret);
  if (audit_tap_finish)
    audit_tap_finish ();
  unsigned long long lost = (unsigned long long) (uintptr_t) ret;
  /* Records the log refused are said now, in a line of their own; if it
   * still refuses (the disk is still full), the spool stays, its header
   * holding the count, and the next moat command that touches the id
   * writes the notice (spool_recover): the loss is never left unsaid. */
  bool keep = false;
  if (lost)
    {
      struct jbuf out = { 0 };
      struct spool_lost l = sp->h->slot[sp->h->cur].lost;
      sp->fmt (&out, SPOOL_LOST, &l, sizeof l, sp->h->id, sp->h->policy, sp->ctx);
      keep = audit_append (sp->log_fd, out.buf, out.len) < 0;
      jb_free (&out);
      lost = 0;
    }
  /* Everything is in the log (or counted): the file has done its work. */
  struct stat a, b;
  if (!keep && fstat (sp->fd, &a) == 0 && stat (sp->path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    unlink (sp->path);
  /* Its lock goes with it: a spool kept is for the next command's taking. */
  close (sp->fd);
  munmap (sp->h, sp->map_len);
  free (sp->path);
  free (sp);
  return lost;
}

int
spool_recover (const char *dir, const char *id, spool_format_fn fmt, void *ctx, unsigned long long *n,
               moat_error **err)
{
  *n = 0;
  cleanup_free char *path = spool_path (dir, id);
  cleanup_close int fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : moat_error_set (err, errno, "open audit spool `%s`", path);
  /* Held: its supervisor is alive and will write the records itself. */
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    return errno == EWOULDBLOCK ? 1 : moat_error_set (err, errno, "lock audit spool `%s`", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return moat_error_set (err, errno, "audit spool `%s`", path);
  if (st.st_size != HEADER_SIZE + RING_SIZE)
    return moat_error_set (err, 0, "audit spool `%s`: not a moat spool (size %lld)", path, (long long) st.st_size);
  void *m = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return moat_error_set (err, errno, "map audit spool `%s`", path);
  const struct spool_header *h = m;
  int rc = 0;
  if (memcmp (h->magic, SPOOL_MAGIC, 8) != 0 || h->ring != RING_SIZE || h->cur > 1)
    {
      rc = moat_error_set (err, 0, "audit spool `%s`: not a moat spool", path);
      goto out;
    }
  uint64_t head = h->head, tail = h->slot[h->cur].tail, log_size = h->slot[h->cur].log_size;
  struct spool_lost lost = h->slot[h->cur].lost;
  if (head < tail || head - tail > RING_SIZE)
    {
      rc = moat_error_set (err, 0, "audit spool `%s`: corrupt header", path);
      goto out;
    }
  char hid[sizeof h->id], hpol[sizeof h->policy];
  snprintf (hid, sizeof hid, "%.*s", (int) sizeof h->id - 1, h->id);
  snprintf (hpol, sizeof hpol, "%.*s", (int) sizeof h->policy - 1, h->policy);
  {
    cleanup_free char *log = audit_path (dir, id);
    cleanup_close int lf = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat ls;
    if (lf < 0 || fstat (lf, &ls) < 0)
      {
        rc = moat_error_set (err, errno, "open audit log `%s`", log);
        goto out;
      }
    /* What the thread's next write would have been: the notice, if any,
     * then the records. It may have died in the middle of that write: the
     * log already has its first SKIP bytes. */
    struct jbuf out = { 0 };
    cleanup_free char *scratch = NULL;
    size_t cap = 0;
    bool bad = false;
    if (lost.count)
      fmt (&out, SPOOL_LOST, &lost, sizeof lost, hid, hpol, ctx);
    *n = format_range ((const char *) m + HEADER_SIZE, tail, head, fmt, ctx, hid, hpol, &out, &scratch, &cap,
                       &bad);
    uint64_t skip = (uint64_t) ls.st_size > log_size ? (uint64_t) ls.st_size - log_size : 0;
    if (skip < out.len && audit_append (lf, out.buf + skip, out.len - skip) < 0)
      rc = moat_error_set (err, errno, "append to audit log `%s`", log);
    jb_free (&out);
    if (rc == 0 && bad)
      rc = moat_error_set (err, 0, "audit spool `%s`: a corrupt record after %llu good ones", path, *n);
  }
  if (rc == 0)
    unlink (path);
out:
  munmap (m, (size_t) st.st_size);
  return rc;
}
