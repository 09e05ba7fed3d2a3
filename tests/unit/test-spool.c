/* The audit spool (src/spool.c): records reach the log whole, in order,
 * once; what a dead writer left is recovered exactly once, even after a
 * write cut in the middle; a log that refuses writes loses records counted,
 * never silently. Real files in a temporary directory, real threads. */
#include "config-host.h"
#include "tap.h"
#include "../../src/audit.h"
#include "../../src/spool.h"
#include "../../src/util.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* The test's record format: TEXT as is, LOST as "lost N". */
static void
fmt (struct jbuf *out, uint32_t type, const void *p, size_t n, const char *id, const char *policy, void *ctx)
{
  (void) id, (void) policy, (void) ctx;
  if (type == SPOOL_TEXT)
    jb_append (out, p);
  else if (type == SPOOL_LOST && n == sizeof (struct spool_lost))
    {
      const struct spool_lost *l = p;
      char b[64];
      snprintf (b, sizeof b, "lost %llu\n", (unsigned long long) l->count);
      jb_append (out, b);
    }
  (void) n;
}

/* The case's temp dir, and a small file system mounted in it (if any):
 * gone when the case's child exits, passed or failed. */
static char made_dir[64], made_mnt[96];

static int
rm_one (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void) sb, (void) flag, (void) ftw;
  return remove (path) < 0 ? 0 : 0;
}

static void
remove_made (void)
{
  if (made_mnt[0])
    umount2 (made_mnt, MNT_DETACH);
  if (made_dir[0])
    nftw (made_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
tmpdir (void)
{
  char t[] = "/tmp/moat-spool-XXXXXX";
  CHECK (mkdtemp (t) != NULL);
  snprintf (made_dir, sizeof made_dir, "%s", t);
  atexit (remove_made);
  tap_case_end = remove_made;
  return xstrdup (t);
}

static void
put_line (struct spool *sp, int i, size_t pad)
{
  char b[4200];
  int n = snprintf (b, sizeof b, "{\"n\":%d,\"pad\":\"%*s\"}\n", i, (int) pad, "");
  CHECK (spool_put (sp, SPOOL_TEXT, b, (size_t) n) == 0);
}

/* The log holds "{"n":FROM..TO-1 ...}" lines, each once, in order. */
static void
check_lines (const char *log, int to)
{
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  CHECK (read_file (log, &text, NULL, &e) == 0);
  int want = 0;
  for (char *p = text; *p; want++)
    {
      int n = -1;
      CHECK (sscanf (p, "{\"n\":%d,", &n) == 1);
      if (n != want)
        fprintf (stderr, "#   line %d is record %d\n", want, n);
      CHECK (n == want);
      char *nl = strchr (p, '\n');
      CHECK (nl != NULL);
      p = nl + 1;
    }
  if (want != to)
    fprintf (stderr, "#   %d lines, want %d\n", want, to);
  CHECK (want == to);
}

static int
open_log (const char *dir, const char *id)
{
  cleanup_free char *log = audit_path (dir, id);
  int fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  return fd;
}

/* ID's spool made and started, writing to LFD (its log unless given). */
static struct spool *
start_spool (const char *dir, const char *id, int lfd)
{
  moat_error *e = NULL;
  int sfd = -1;
  CHECK (spool_create (dir, id, "pol", &sfd, &e) == 0);
  if (lfd < 0)
    lfd = open_log (dir, id);
  cleanup_free char *path = spool_path (dir, id);
  struct spool *sp = NULL;
  CHECK (spool_start (sfd, lfd, path, fmt, NULL, &sp, &e) == 0);
  return sp;
}

/* Many more records than the ring holds, of odd sizes: the writers wait
 * for room, the ring wraps mid-record, and the log gets all, in order. */
TEST (records_in_order_through_a_wrapping_ring)
{
  cleanup_free char *dir = tmpdir ();
  struct spool *sp = start_spool (dir, "c1", -1);
  cleanup_free char *path = spool_path (dir, "c1");
  for (int i = 0; i < 5000; i++)
    put_line (sp, i, (size_t) (i * 37) % 700);
  spool_flush (sp);
  cleanup_free char *log = audit_path (dir, "c1");
  check_lines (log, 5000);
  CHECK (spool_finish (sp) == 0);
  struct stat st;
  CHECK (stat (path, &st) < 0);   /* the spool is gone */
}

/* Several threads put at once (a listener's threads, the main thread),
 * faster than the log takes them: each thread's records all arrive, once,
 * in its order. */
struct putter { struct spool *sp; int t; };

static void *
put_many (void *arg)
{
  struct putter *p = arg;
  char b[2100];
  for (int i = 0; i < 3000; i++)
    {
      int n = snprintf (b, sizeof b, "{\"t\":%d,\"n\":%d,\"pad\":\"%*s\"}\n", p->t, i, (i * 131) % 2000, "");
      if (spool_put (p->sp, SPOOL_TEXT, b, (size_t) n) < 0)
        return (void *) 1;
    }
  return NULL;
}

TEST (threads_putting_at_once_lose_nothing)
{
  cleanup_free char *dir = tmpdir ();
  moat_error *e = NULL;
  struct spool *sp = start_spool (dir, "c5", -1);
  pthread_t th[4];
  struct putter p[4];
  for (int t = 0; t < 4; t++)
    {
      p[t] = (struct putter){ sp, t };
      CHECK (pthread_create (&th[t], NULL, put_many, &p[t]) == 0);
    }
  for (int t = 0; t < 4; t++)
    {
      void *r = NULL;
      CHECK (pthread_join (th[t], &r) == 0 && r == NULL);
    }
  CHECK (spool_finish (sp) == 0);
  cleanup_free char *log = audit_path (dir, "c5");
  cleanup_free char *text = NULL;
  CHECK (read_file (log, &text, NULL, &e) == 0);
  int next[4] = { 0 }, lines = 0;
  for (char *q = text; *q; lines++)
    {
      int t = -1, n = -1;
      CHECK (sscanf (q, "{\"t\":%d,\"n\":%d,", &t, &n) == 2 && t >= 0 && t < 4);
      if (n != next[t])
        fprintf (stderr, "#   line %d: thread %d's record %d, want %d\n", lines, t, n, next[t]);
      CHECK (n == next[t]);
      next[t]++;
      char *nl = strchr (q, '\n');
      CHECK (nl != NULL);
      q = nl + 1;
    }
  CHECK (lines == 4 * 3000);
}

/* A supervisor dies with records in its spool, and its last write was cut:
 * recovery appends the rest, each record once. */
TEST (recovery_after_a_death_is_exactly_once)
{
  cleanup_free char *dir = tmpdir ();
  cleanup_free char *log = audit_path (dir, "c2");
  cleanup_free char *path = spool_path (dir, "c2");
  moat_error *e = NULL;
  int sfd = -1;
  CHECK (spool_create (dir, "c2", "pol", &sfd, &e) == 0);
  int lfd = open_log (dir, "c2");
  pid_t pid = fork ();
  if (pid == 0)
    {
      struct spool *sp = NULL;
      if (spool_start (sfd, lfd, path, fmt, NULL, &sp, &e) < 0)
        _exit (2);
      for (int i = 0; i < 100; i++)
        put_line (sp, i, 10);
      spool_flush (sp);
      /* The thread sleeps a millisecond before it writes these: gone first. */
      for (int i = 100; i < 150; i++)
        put_line (sp, i, 10);
      _exit (0);
    }
  close (sfd);   /* the lock is the child's alone now, and goes with it */
  int st = 0;
  CHECK (waitpid (pid, &st, 0) == pid && WIFEXITED (st) && WEXITSTATUS (st) == 0);
  struct stat sb;
  CHECK (stat (path, &sb) == 0);   /* left behind */
  CHECK (stat (log, &sb) == 0);
  /* Records not written yet: cut a write into the log as a death in
   * mid-write would, with the first bytes of the next record's line. */
  int before = 0;
  {
    cleanup_free char *text = NULL;
    CHECK (read_file (log, &text, NULL, &e) == 0);
    for (char *p = text; (p = strchr (p, '\n')); p++)
      before++;
  }
  CHECK (before >= 100);
  if (before < 150)
    CHECK (write_all (lfd, "{\"n\":", 5) == 0);
  printf ("# %d records written before the death%s\n", before, before < 150 ? ", then a cut write" : "");
  unsigned long long n = 0;
  CHECK (spool_recover (dir, "c2", fmt, NULL, &n, &e) == 0);
  CHECK (n == (unsigned long long) (150 - before));
  check_lines (log, 150);
  CHECK (stat (path, &sb) < 0);
  /* Again: nothing left to do. */
  CHECK (spool_recover (dir, "c2", fmt, NULL, &n, &e) == 0 && n == 0);
  check_lines (log, 150);
}

/* A spool its supervisor holds is not touched. */
TEST (a_live_spool_is_left_to_its_writer)
{
  cleanup_free char *dir = tmpdir ();
  moat_error *e = NULL;
  int sfd = -1;
  CHECK (spool_create (dir, "c3", "pol", &sfd, &e) == 0);
  unsigned long long n = 0;
  CHECK (spool_recover (dir, "c3", fmt, NULL, &n, &e) == 1);
  /* And a second create of the same id is refused while it exists. */
  int sfd2 = -1;
  CHECK (spool_create (dir, "c3", "pol", &sfd2, &e) < 0);
  moat_error_free (&e);
}

/* A log that refuses every write: the records are counted, and the count
 * is what spool_finish hands back to be said. */
TEST (a_full_disk_loses_records_counted)
{
  cleanup_free char *dir = tmpdir ();
  int full = open ("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0)
    SKIP_TEST ("no /dev/full");
  struct spool *sp = start_spool (dir, "c4", full);
  for (int i = 0; i < 40; i++)
    put_line (sp, i, 5);
  /* The log refused the notice too: the spool stays, holding the count. */
  CHECK (spool_finish (sp) == 0);
  cleanup_free char *spath = spool_path (dir, "c4");
  CHECK (access (spath, F_OK) == 0);
  /* Space came back: the next command's recovery says it, on a line of
   * its own, once. */
  unsigned long long n = 99;
  moat_error *e = NULL;
  CHECK (spool_recover (dir, "c4", fmt, NULL, &n, &e) == 0);
  CHECK (n == 0);
  cleanup_free char *log = audit_path (dir, "c4"), *text = NULL;
  CHECK (read_file (log, &text, NULL, &e) == 0);
  CHECK_STR (text, "lost 40\n");
  CHECK (access (spath, F_OK) < 0);
  close (full);
}

/* A log on a file system that fills up in the middle of a batch: what
 * went in of the batch is taken back, no line is ever cut, and the loss
 * is said on a line of its own once there is room again. */
TEST (a_disk_full_in_mid_write_tears_no_line)
{
  cleanup_free char *dir = tmpdir ();
  cleanup_free char *mnt = xasprintf ("%s/small", dir);
  CHECK (mkdir (mnt, 0700) == 0);
  if (mount ("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
    SKIP_TEST ("cannot mount a tmpfs (not root?)");
  snprintf (made_mnt, sizeof made_mnt, "%s", mnt);
  /* The spool lives beside, in DIR; only the log is on the small one. */
  cleanup_free char *log = audit_path (mnt, "c5");
  int lfd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  CHECK (lfd >= 0);
  struct spool *sp = start_spool (dir, "c5", lfd);
  /* A batch that fits, then batches of 4 KB lines past the 64 KB: the
   * file system fills in the middle of one. */
  for (int i = 0; i < 60; i++)
    {
      put_line (sp, i, 4000);
      if (i % 5 == 4)
        spool_flush (sp);
    }
  CHECK (spool_finish (sp) == 0);
  cleanup_free char *text = NULL;
  moat_error *e = NULL;
  size_t len = 0;
  CHECK (read_file (log, &text, &len, &e) == 0);
  CHECK (len > 0 && text[len - 1] == '\n');   /* whole lines only */
  /* Each line a record or the notice of what was refused: every record
   * counted, none twice. */
  unsigned long long records = 0, lost = 0;
  for (char *p = text; *p;)
    {
      unsigned long long k;
      if (strncmp (p, "{\"n\":", 5) == 0)
        records++;
      else
        {
          CHECK (sscanf (p, "lost %llu", &k) == 1);
          lost += k;
        }
      p = strchr (p, '\n') + 1;
    }
  cleanup_free char *spath = spool_path (dir, "c5");
  if (access (spath, F_OK) == 0)
    {
      /* Not even the notice fitted: room again, and the recovery says it. */
      CHECK (ftruncate (lfd, 0) == 0);
      unsigned long long n = 0;
      cleanup_free char *text2 = NULL;
      CHECK (umount2 (mnt, MNT_DETACH) == 0);
      CHECK (spool_recover (dir, "c5", fmt, NULL, &n, &e) == 0);
      cleanup_free char *log2 = audit_path (dir, "c5");
      CHECK (read_file (log2, &text2, NULL, &e) == 0);
      unsigned long long k = 0;
      CHECK (sscanf (text2, "lost %llu", &k) == 1);
      lost += k;
    }
  else
    umount2 (mnt, MNT_DETACH);
  close (lfd);
  if (records + lost != 60)
    fprintf (stderr, "#   %llu records and %llu said lost, of 60\n", records, lost);
  CHECK (records > 0 && lost > 0 && records + lost == 60);
}

TAP_MAIN (CASE (records_in_order_through_a_wrapping_ring),
          CASE (recovery_after_a_death_is_exactly_once),
          CASE (threads_putting_at_once_lose_nothing),
          CASE (a_live_spool_is_left_to_its_writer),
          CASE (a_full_disk_loses_records_counted), CASE (a_disk_full_in_mid_write_tears_no_line))
