/* Unit tests for src/util.c and src/error.c. */
#include "config-host.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "error.h"
#include "sha256.h"
#include "util.h"

#ifdef __SANITIZE_ADDRESS__
# include <sanitizer/lsan_interface.h>
# define LEAK_CHECK() CHECK (__lsan_do_recoverable_leak_check () == 0)
#else
# define LEAK_CHECK() do { } while (0)
#endif

static int
rm_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st; (void) flag; (void) ftw;
  return remove (path);
}

static char *
make_tmpdir (void)
{
  char *dir = xstrdup ("/tmp/moat-test-util.XXXXXX");
  CHECK (mkdtemp (dir) != NULL);
  return dir;
}

static void
remove_tree (const char *dir)
{
  CHECK (nftw (dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

TEST (read_file_at_reads_and_limits)
{
  cleanup_free char *dir = make_tmpdir ();
  cleanup_close int dfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  CHECK (dfd >= 0);
  cleanup_error moat_error *err = NULL;

  /* larger than the initial 4 KiB buffer, with a NUL inside */
  size_t n = 10000;
  cleanup_free char *data = xmalloc0 (n);
  for (size_t i = 0; i < n; i++)
    data[i] = (char) ('a' + i % 26);
  data[5] = '\0';
  CHECK (write_file_atomic_at (dfd, "f", data, n, 0600, &err) == 0);

  cleanup_free char *got = NULL;
  size_t len = 0;
  CHECK (read_file_at (dfd, "f", &got, &len, 0, &err) == 0);
  CHECK (len == n);
  CHECK (memcmp (got, data, n) == 0);
  CHECK (got[n] == '\0');

  /* exactly the limit is fine, one byte less is not */
  cleanup_free char *again = NULL;
  CHECK (read_file_at (dfd, "f", &again, NULL, n, &err) == 0);
  cleanup_free char *none = NULL;
  CHECK (read_file_at (dfd, "f", &none, &len, n - 1, &err) < 0);
  CHECK (none == NULL);
  CHECK (err->errnum == EFBIG);
  CHECK_CONTAINS (err->msg, "`f`");
  moat_error_free (&err);

  /* missing file: errno and the path */
  CHECK (read_file_at (dfd, "missing", &none, &len, 0, &err) < 0);
  CHECK (err->errnum == ENOENT);
  CHECK_CONTAINS (err->msg, "missing");
  moat_error_free (&err);

  /* read_file with an absolute path, empty file */
  cleanup_free char *empty_path = xasprintf ("%s/empty", dir);
  CHECK (write_file_atomic_at (dfd, "empty", "", 0, 0600, &err) == 0);
  cleanup_free char *empty = NULL;
  CHECK (read_file (empty_path, &empty, &len, &err) == 0);
  CHECK (len == 0 && empty[0] == '\0');

  remove_tree (dir);
  LEAK_CHECK ();
}

TEST (write_file_atomic_leaves_no_temp)
{
  cleanup_free char *dir = make_tmpdir ();
  cleanup_close int dfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  CHECK (dfd >= 0);
  cleanup_error moat_error *err = NULL;

  CHECK (write_file_atomic_at (dfd, "state.json", "{\"a\":1}", 7, 0640, &err) == 0);
  CHECK (write_file_atomic_at (dfd, "state.json", "{}", 2, 0640, &err) == 0);

  cleanup_free char *got = NULL;
  size_t len = 0;
  CHECK (read_file_at (dfd, "state.json", &got, &len, 0, &err) == 0);
  CHECK_STR (got, "{}");
  CHECK (len == 2);

  struct stat st;
  CHECK (fstatat (dfd, "state.json", &st, 0) == 0);
  mode_t um = umask (0);
  umask (um);
  CHECK ((st.st_mode & 0777) == (0640 & ~um));

  /* the directory holds exactly one entry: no temporary file left */
  cleanup_dir DIR *d = opendir (dir);
  CHECK (d != NULL);
  int count = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      CHECK_STR (de->d_name, "state.json");
      count++;
    }
  CHECK (count == 1);

  /* a failing write (target is a directory) also leaves nothing behind */
  CHECK (mkdirat (dfd, "sub", 0700) == 0);
  CHECK (write_file_atomic_at (dfd, "sub", "x", 1, 0600, &err) < 0);
  CHECK (err != NULL && err->errnum != 0);
  moat_error_free (&err);
  rewinddir (d);
  count = 0;
  while ((de = readdir (d)) != NULL)
    if (strstr (de->d_name, ".tmp.") != NULL)
      count++;
  CHECK (count == 0);

  remove_tree (dir);
  LEAK_CHECK ();
}

TEST (mkdir_p_creates_parents)
{
  cleanup_free char *dir = make_tmpdir ();
  cleanup_error moat_error *err = NULL;

  cleanup_free char *deep = xasprintf ("%s/a/b/c", dir);
  CHECK (mkdir_p (deep, 0755, &err) == 0);
  struct stat st;
  CHECK (stat (deep, &st) == 0 && S_ISDIR (st.st_mode));
  /* already there: fine */
  CHECK (mkdir_p (deep, 0755, &err) == 0);
  /* trailing slash */
  cleanup_free char *slash = xasprintf ("%s/x/y/", dir);
  CHECK (mkdir_p (slash, 0755, &err) == 0);
  cleanup_free char *xy = xasprintf ("%s/x/y", dir);
  CHECK (stat (xy, &st) == 0 && S_ISDIR (st.st_mode));

  /* a file in the way */
  cleanup_free char *file = xasprintf ("%s/file", dir);
  cleanup_close int fd = open (file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  cleanup_free char *under = xasprintf ("%s/file/sub", dir);
  CHECK (mkdir_p (under, 0755, &err) < 0);
  CHECK (err->errnum == ENOTDIR);
  CHECK_CONTAINS (err->msg, "file/sub");
  moat_error_free (&err);

  remove_tree (dir);
  LEAK_CHECK ();
}

TEST (error_set_keeps_first)
{
  cleanup_error moat_error *err = NULL;
  CHECK (moat_error_set (&err, ENOENT, "open `%s`", "a") == -1);
  CHECK (moat_error_set (&err, EPERM, "second %d", 2) == -1);
  CHECK_STR (err->msg, "open `a`");
  CHECK (err->errnum == ENOENT);
  cleanup_free char *s = moat_error_string (err);
  CHECK_STR (s, "open `a`: No such file or directory");
  moat_error_free (&err);
  CHECK (err == NULL);
  moat_error_free (&err);   /* twice is harmless */

  /* a NULL err is allowed */
  CHECK (moat_error_set (NULL, 0, "ignored") == -1);

  /* errnum 0: no strerror suffix */
  CHECK (moat_error_set (&err, 0, "plain") == -1);
  cleanup_free char *p = moat_error_string (err);
  CHECK_STR (p, "plain");
  LEAK_CHECK ();
}

TEST (error_wrap_prefixes)
{
  cleanup_error moat_error *err = NULL;
  /* nothing to wrap */
  CHECK (moat_error_wrap (&err, "ctx") == -1);
  CHECK (err == NULL);

  moat_error_set (&err, EACCES, "open `config.json`");
  CHECK (moat_error_wrap (&err, "container `%s`", "c1") == -1);
  CHECK_STR (err->msg, "container `c1`: open `config.json`");
  CHECK (moat_error_wrap (&err, "create") == -1);
  CHECK_STR (err->msg, "create: container `c1`: open `config.json`");
  CHECK (err->errnum == EACCES);
  cleanup_free char *s = moat_error_string (err);
  CHECK_STR (s, "create: container `c1`: open `config.json`: Permission denied");
  LEAK_CHECK ();
}

TEST (strv_helpers)
{
  CHECK (strv_len (NULL) == 0);
  char **v = xmalloc0 (3 * sizeof (char *));
  v[0] = xstrdup ("a");
  v[1] = xstrdup ("b");
  CHECK (strv_len (v) == 2);
  strv_free (v);
  strv_free (NULL);
  cleanup_free char *s = xasprintf ("%s-%d", "x", 7);
  CHECK_STR (s, "x-7");
  cleanup_free char *e = xstrdup (NULL);
  CHECK_STR (e, "");
  CHECK (now_usec () > 0);
  LEAK_CHECK ();
}

/* FIPS 180-4 test vectors, and a split update equal to a whole one. */
TEST (sha256_known_answers)
{
  struct { const char *in; const char *hex; } v[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    {
      struct sha256 s;
      uint8_t d[32];
      char hex[65];
      sha256_init (&s);
      sha256_update (&s, v[i].in, strlen (v[i].in));
      sha256_final (&s, d);
      sha256_hex (d, hex);
      CHECK_STR (hex, v[i].hex);
    }
  struct sha256 s;
  uint8_t d[32];
  char hex[65];
  sha256_init (&s);
  char a[1001];
  memset (a, 'a', sizeof a);
  for (int i = 0; i < 1000; i++)
    sha256_update (&s, a, (i % 2) ? 999 : 1001);   /* odd chunk sizes cross block edges */
  sha256_final (&s, d);
  sha256_hex (d, hex);
  CHECK_STR (hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* user_name reads the host's /etc/passwd (root is uid 0 on any Debian). */
TEST (user_name_from_passwd)
{
  char b[64];
  CHECK_STR (user_name (0, b, sizeof b), "root");
  /* a uid no account has, and a buffer too small for the name */
  CHECK (user_name (4000000000u, b, sizeof b) == NULL);
  CHECK (user_name (0, b, 4) == NULL);
}

/* path_clean reads a path as Go's filepath.Clean does (runc cleans mount
 * destinations and device paths that way). */
TEST (path_clean_as_runc)
{
  static const char *const cases[][2] = {
    { "/dev//null", "/dev/null" }, { "/mnt/x/", "/mnt/x" }, { "/a/./b", "/a/b" },
    { "/a/b/../c", "/a/c" }, { "/..", "/" }, { "/../../x", "/x" }, { "//", "/" },
    { "/", "/" }, { "a//b/", "a/b" }, { "", "." }, { "/dev/", "/dev" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *c = path_clean (cases[i][0]);
      CHECK_STR (c, cases[i][1]);
      free (c);
    }
}

TAP_MAIN (CASE (read_file_at_reads_and_limits),
          CASE (write_file_atomic_leaves_no_temp),
          CASE (mkdir_p_creates_parents),
          CASE (error_set_keeps_first),
          CASE (error_wrap_prefixes),
          CASE (strv_helpers),
          CASE (sha256_known_answers),
          CASE (user_name_from_passwd),
          CASE (path_clean_as_runc))
