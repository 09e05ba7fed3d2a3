/* workload - the only binary inside moat's test container rootfses.

   Built with gcc -static (glibc) so a rootfs needs nothing else.  Run as
   `workload SUBCOMMAND [ARGS...]`, it prints what the container sees, one
   fact per line, for shell tests to grep.  Tests depend on these formats:
   keep them stable and in sync with tests/workload/README.md.  Exit status
   is 0 on success; 1 when the thing tested fails, with `error: <what>:
   <strerror>` on stderr; 2 on usage errors (unknown subcommand, wrong
   argument count, bad number or signal).  Below, `;` separates output
   lines.

   ids             uid=R euid=E suid=S gid=R egid=E sgid=S; groups=G1,G2,..
   caps            CapInh/CapPrm/CapEff/CapBnd/CapAmb lines of
                   /proc/self/status, verbatim
   status          NoNewPrivs/Seccomp/Seccomp_filters lines of the same,
                   verbatim, each only if the kernel has it
   hostname        hostname NAME; domainname NAME
   pid             pid N; ppid N
   mounts          /proc/self/mountinfo verbatim
   fds             fd N -> TARGET (ascending, without the listing fd)
   cwd             cwd PATH
   env             NAME=VALUE
   rlimits         RLIMIT_NAME SOFT HARD ("unlimited" for RLIM_INFINITY),
                   all 16 RLIMIT_* from CPU to RTTIME
   ns              NAME INODE (stat of /proc/self/ns/NAME, for cgroup ipc
                   mnt net pid pid_for_children time time_for_children user
                   uts; ones the kernel lacks are skipped)
   umask           umask 0022
   cat FILE...     the files' contents
   write FILE TEXT no output; FILE created/truncated, TEXT written as is
   ls DIR          NAME (bytewise sorted, without . and ..)
   stat PATH       type T mode 0NNN uid U gid G[ rdev MAJ:MIN] (lstat; T is
                   file dir link chr blk fifo sock; mode may be 01777)
   exists PATH     no output; exit 0 if lstat succeeds, else 1
   echo ARGS...    ARGS joined by single spaces
   args            argv[I]=VALUE (argv[0] included)
   exit N          exit status N
   sleep SECONDS   sleeps (0.2 allowed)
   kill-self SIG   raises SIG with default disposition; exit 1 if alive
   trap SIG...     ready; got SIGNAME (exit 0), or exit 3 after 60 s
   spin SECONDS    busy loop for SECONDS of wall time
   sysctl KEY      KEY VALUE (of /proc/sys/KEY, dots as slashes, trimmed)
   children N      child PID (N lines); reaped N (once all have died)
   stdin           stdin copied to stdout
   mkdir PATH      mkdir, mode 0755
   mount-proc DIR  ok (procfs mounted on DIR)
   writable PATH   writable (exit 0) or readonly: <strerror> (exit 1)
   whoami-ns       output of pid, ids, hostname, cwd
   openat-escape   cwd PATH or cwd-unreachable <strerror>; then leaked fd N ->
                   TARGET per open fd in 3..1023, or no leaked fds; exit 1 if
                   anything leaked
   overwrite-exe PID  blocked: <strerror> or OVERWRITABLE, for each of two
                   ways to open /proc/PID/exe for writing; exit 1 if any
                   worked (nothing is ever written)

   SIG is a name with or without SIG, any case (TERM, SIGHUP, usr1), or a
   number.  Printed names are SIGxxx, or SIG<number> when unnamed.  */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* All handlers share one signature; many ignore their arguments.  */
#pragma GCC diagnostic ignored "-Wunused-parameter"

extern char **environ;

static int g_argc;
static char **g_argv;

/* Print `error: <message>[: <strerror(err)>]` to stderr and exit.  */
static void __attribute__ ((noreturn, format (printf, 3, 4)))
fail (int status, int err, const char *fmt, ...)
{
  va_list ap;
  fflush (stdout); /* Keep the order sane when a test merges 2>&1.  */
  fputs ("error: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  if (err)
    fprintf (stderr, ": %s", strerror (err));
  fputc ('\n', stderr);
  exit (status);
}

#define die(...) fail (1, errno, __VA_ARGS__)
#define bad_arg(...) fail (2, 0, __VA_ARGS__)

static long
parse_long (const char *s, long min, long max)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    bad_arg ("bad number: %s", s);
  return v;
}

static double
parse_seconds (const char *s)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  /* Written so that NaN fails too.  */
  if (errno || end == s || *end || !(v >= 0 && v < 1e9))
    bad_arg ("bad number of seconds: %s", s);
  return v;
}

static double
now_mono (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
sleep_seconds (double s)
{
  time_t whole = (time_t) s;
  struct timespec ts = { whole, (long) ((s - (double) whole) * 1e9) };
  while (nanosleep (&ts, &ts) != 0)
    if (errno != EINTR)
      die ("nanosleep");
}

/* Copy FD to stdout, flushing per chunk so `stdin` streams interactively.  */
static int
copy_fd (int fd)
{
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return (int) n;
      if (fwrite (buf, 1, (size_t) n, stdout) != (size_t) n || fflush (stdout))
        return -1;
    }
}

static void
cat_path (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die ("open %s", path);
  if (copy_fd (fd) < 0)
    die ("cat %s", path);
  close (fd);
}

/* Where FD points, via /proc/self/fd; "?" if that can't be read.  */
static const char *
fd_target (int fd, char *buf, size_t len)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink (path, buf, len - 1);
  if (n < 0)
    return "?";
  buf[n] = '\0';
  return buf;
}

#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

/* Indexed by signal number; numbers without a name stay NULL.  */
static const char *const signal_names[] = {
  [SIGHUP] = "HUP",   [SIGINT] = "INT",     [SIGQUIT] = "QUIT",
  [SIGILL] = "ILL",   [SIGTRAP] = "TRAP",   [SIGABRT] = "ABRT",
  [SIGBUS] = "BUS",   [SIGFPE] = "FPE",     [SIGKILL] = "KILL",
  [SIGUSR1] = "USR1", [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
  [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",   [SIGTERM] = "TERM",
  [SIGSTKFLT] = "STKFLT", [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",
  [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",   [SIGTTIN] = "TTIN",
  [SIGTTOU] = "TTOU", [SIGURG] = "URG",     [SIGXCPU] = "XCPU",
  [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",
  [SIGWINCH] = "WINCH", [SIGIO] = "IO",     [SIGPWR] = "PWR",
  [SIGSYS] = "SYS",
};

static int
parse_signal (const char *s)
{
  if (s[0] >= '0' && s[0] <= '9')
    return (int) parse_long (s, 1, SIGRTMAX);
  const char *name = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < N_ELEMENTS (signal_names); i++)
    if (signal_names[i] && strcasecmp (name, signal_names[i]) == 0)
      return (int) i;
  bad_arg ("unknown signal: %s", s);
}

static const char *
signal_name (int sig)
{
  static char buf[32];
  if ((size_t) sig < N_ELEMENTS (signal_names) && signal_names[sig])
    snprintf (buf, sizeof buf, "SIG%s", signal_names[sig]);
  else
    snprintf (buf, sizeof buf, "SIG%d", sig);
  return buf;
}

static void
noop_handler (int sig)
{
}

/* Subcommands.  ARGV[0] is the subcommand name; main() checked ARGC.  */

static int
cmd_ids (int argc, char **argv)
{
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid (&ru, &eu, &su) || getresgid (&rg, &eg, &sg))
    die ("getresuid");
  printf ("uid=%u euid=%u suid=%u gid=%u egid=%u sgid=%u\n", ru, eu, su, rg,
          eg, sg);
  int n = getgroups (0, NULL);
  gid_t *groups = n < 0 ? NULL : calloc ((size_t) n + 1, sizeof *groups);
  if (groups == NULL || (n = getgroups (n, groups)) < 0)
    die ("getgroups");
  fputs ("groups=", stdout);
  for (int i = 0; i < n; i++)
    printf ("%s%u", i ? "," : "", groups[i]);
  putchar ('\n');
  free (groups);
  return 0;
}

/* Print the /proc/self/status lines that start with one of KEYS.  */
static int
print_status_lines (const char *const *keys)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char *line = NULL;
  size_t cap = 0;
  if (f == NULL)
    die ("open /proc/self/status");
  while (getline (&line, &cap, f) > 0)
    for (size_t i = 0; keys[i]; i++)
      if (strncmp (line, keys[i], strlen (keys[i])) == 0)
        fputs (line, stdout);
  free (line);
  fclose (f);
  return 0;
}

static int
cmd_caps (int argc, char **argv)
{
  return print_status_lines ((const char *const[]){
      "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", NULL });
}

static int
cmd_status (int argc, char **argv)
{
  /* The colons keep "Seccomp:" from matching "Seccomp_filters:".  */
  return print_status_lines ((const char *const[]){
      "NoNewPrivs:", "Seccomp:", "Seccomp_filters:", NULL });
}

static int
cmd_hostname (int argc, char **argv)
{
  struct utsname u;
  if (uname (&u))
    die ("uname");
  printf ("hostname %s\ndomainname %s\n", u.nodename, u.domainname);
  return 0;
}

static int
cmd_pid (int argc, char **argv)
{
  printf ("pid %d\nppid %d\n", (int) getpid (), (int) getppid ());
  return 0;
}

static int
cmd_mounts (int argc, char **argv)
{
  cat_path ("/proc/self/mountinfo");
  return 0;
}

static int
cmd_fds (int argc, char **argv)
{
  char target[PATH_MAX];
  struct dirent *de;
  DIR *d = opendir ("/proc/self/fd");
  if (d == NULL)
    die ("opendir /proc/self/fd");
  /* procfs lists fds in ascending order, so no sorting is needed.  */
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      int fd = atoi (de->d_name);
      if (de->d_name[0] != '.' && fd != dirfd (d))
        printf ("fd %d -> %s\n", fd, fd_target (fd, target, sizeof target));
    }
  if (errno)
    die ("readdir /proc/self/fd");
  closedir (d);
  return 0;
}

static int
cmd_cwd (int argc, char **argv)
{
  char buf[PATH_MAX];
  if (getcwd (buf, sizeof buf) == NULL)
    die ("getcwd");
  printf ("cwd %s\n", buf);
  return 0;
}

static int
cmd_env (int argc, char **argv)
{
  for (char **e = environ; e && *e; e++)
    puts (*e);
  return 0;
}

static int
cmd_rlimits (int argc, char **argv)
{
#define RL(x) { "RLIMIT_" #x, RLIMIT_##x }
  static const struct
  {
    const char *name;
    int res;
  } limits[] = {
    RL (CPU),   RL (FSIZE),      RL (DATA),     RL (STACK), RL (CORE),
    RL (RSS),   RL (NPROC),      RL (NOFILE),   RL (MEMLOCK), RL (AS),
    RL (LOCKS), RL (SIGPENDING), RL (MSGQUEUE), RL (NICE),  RL (RTPRIO),
    RL (RTTIME),
  };
#undef RL
  for (size_t i = 0; i < N_ELEMENTS (limits); i++)
    {
      struct rlimit rl;
      if (getrlimit (limits[i].res, &rl))
        die ("getrlimit %s", limits[i].name);
      fputs (limits[i].name, stdout);
      for (int j = 0; j < 2; j++)
        {
          rlim_t v = j ? rl.rlim_max : rl.rlim_cur;
          if (v == RLIM_INFINITY)
            fputs (" unlimited", stdout);
          else
            printf (" %llu", (unsigned long long) v);
        }
      putchar ('\n');
    }
  return 0;
}

static int
cmd_ns (int argc, char **argv)
{
  static const char *const names[]
      = { "cgroup", "ipc",  "mnt",  "net",  "pid", "pid_for_children",
          "time",   "time_for_children", "user", "uts" };
  if (access ("/proc/self/ns", F_OK))
    die ("access /proc/self/ns");
  for (size_t i = 0; i < N_ELEMENTS (names); i++)
    {
      char path[64];
      struct stat st;
      snprintf (path, sizeof path, "/proc/self/ns/%s", names[i]);
      if (stat (path, &st) == 0)
        printf ("%s %llu\n", names[i], (unsigned long long) st.st_ino);
      else if (errno != ENOENT) /* ENOENT: kernel lacks that namespace.  */
        die ("stat %s", path);
    }
  return 0;
}

static int
cmd_umask (int argc, char **argv)
{
  mode_t m = umask (0); /* Reading the umask means setting it.  */
  umask (m);
  printf ("umask %04o\n", (unsigned) m);
  return 0;
}

static int
cmd_cat (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    cat_path (argv[i]);
  return 0;
}

static int
cmd_write (int argc, char **argv)
{
  FILE *f = fopen (argv[1], "we");
  if (f == NULL)
    die ("open %s", argv[1]);
  if (fputs (argv[2], f) == EOF || fclose (f) == EOF)
    die ("write %s", argv[1]);
  return 0;
}

static int
not_dots (const struct dirent *de)
{
  return strcmp (de->d_name, ".") && strcmp (de->d_name, "..");
}

/* Bytewise rather than alphasort's strcoll: stable whatever the locale.  */
static int
cmp_names (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static int
cmd_ls (int argc, char **argv)
{
  struct dirent **list;
  int n = scandir (argv[1], &list, not_dots, cmp_names);
  if (n < 0)
    die ("scandir %s", argv[1]);
  for (int i = 0; i < n; i++)
    {
      puts (list[i]->d_name);
      free (list[i]);
    }
  free (list);
  return 0;
}

static int
cmd_stat (int argc, char **argv)
{
  struct stat st;
  if (lstat (argv[1], &st))
    die ("lstat %s", argv[1]);
  mode_t m = st.st_mode;
  const char *t = S_ISREG (m) ? "file" : S_ISDIR (m) ? "dir"
                  : S_ISLNK (m) ? "link" : S_ISCHR (m) ? "chr"
                  : S_ISBLK (m) ? "blk" : S_ISFIFO (m) ? "fifo"
                  : S_ISSOCK (m) ? "sock" : "unknown";
  printf ("type %s mode 0%03o uid %u gid %u", t, st.st_mode & 07777,
          st.st_uid, st.st_gid);
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    printf (" rdev %u:%u", major (st.st_rdev), minor (st.st_rdev));
  putchar ('\n');
  return 0;
}

static int
cmd_exists (int argc, char **argv)
{
  struct stat st;
  return lstat (argv[1], &st) == 0 ? 0 : 1;
}

static int
cmd_echo (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    printf ("%s%s", i > 1 ? " " : "", argv[i]);
  putchar ('\n');
  return 0;
}

static int
cmd_args (int argc, char **argv)
{
  for (int i = 0; i < g_argc; i++)
    printf ("argv[%d]=%s\n", i, g_argv[i]);
  return 0;
}

static int
cmd_exit (int argc, char **argv)
{
  return (int) parse_long (argv[1], 0, 255);
}

static int
cmd_sleep (int argc, char **argv)
{
  sleep_seconds (parse_seconds (argv[1]));
  return 0;
}

static int
cmd_kill_self (int argc, char **argv)
{
  int sig = parse_signal (argv[1]);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, sig);
  signal (sig, SIG_DFL);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  fflush (stdout);
  raise (sig);
  /* Still alive: the default action is to ignore or stop, or we are PID 1
     of a pid namespace, where the kernel drops default-action signals sent
     from inside the namespace.  */
  fail (1, 0, "kill-self: still alive after %s", signal_name (sig));
}

static int
cmd_trap (int argc, char **argv)
{
  struct sigaction sa = { .sa_handler = noop_handler };
  sigset_t set;
  sigemptyset (&set);
  sigemptyset (&sa.sa_mask);
  /* Block, install a handler, then sigtimedwait(): a signal sent right
     after "ready" stays pending rather than racing a handler before we
     wait.  The no-op handler is still needed: the kernel drops SIG_DFL
     signals to the PID 1 of a pid namespace, and an inherited SIG_IGN
     would discard them too.  */
  for (int i = 1; i < argc; i++)
    {
      int sig = parse_signal (argv[i]);
      if (sig == SIGKILL || sig == SIGSTOP)
        bad_arg ("cannot trap %s", signal_name (sig));
      sigaddset (&set, sig);
      if (sigprocmask (SIG_BLOCK, &set, NULL) || sigaction (sig, &sa, NULL))
        die ("trap %s", signal_name (sig));
    }
  puts ("ready");
  fflush (stdout);
  struct timespec ts = { .tv_sec = 60 };
  int sig;
  while ((sig = sigtimedwait (&set, NULL, &ts)) < 0 && errno == EINTR)
    ;
  if (sig > 0)
    {
      printf ("got %s\n", signal_name (sig));
      return 0;
    }
  if (errno != EAGAIN)
    die ("sigtimedwait");
  fprintf (stderr, "error: trap: no signal within 60 s\n");
  return 3;
}

static int
cmd_spin (int argc, char **argv)
{
  double end = now_mono () + parse_seconds (argv[1]);
  volatile unsigned long n = 0;
  while (now_mono () < end)
    for (int i = 0; i < 100000; i++)
      n++;
  return 0;
}

static int
cmd_sysctl (int argc, char **argv)
{
  char path[PATH_MAX], buf[65536], *p, *v;
  snprintf (path, sizeof path, "/proc/sys/%s", argv[1]);
  for (p = path + strlen ("/proc/sys/"); *p; p++)
    if (*p == '.')
      *p = '/';
  FILE *f = fopen (path, "re");
  if (f == NULL)
    die ("open %s", path);
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  if (ferror (f))
    die ("read %s", path);
  fclose (f);
  buf[n] = '\0';
  v = buf + strspn (buf, " \t\n");
  for (p = v + strlen (v); p > v && strchr (" \t\n", p[-1]); p--)
    ;
  *p = '\0';
  printf ("%s %s\n", argv[1], v);
  return 0;
}

static int
cmd_children (int argc, char **argv)
{
  long n = parse_long (argv[1], 0, 4096), reaped = 0;
  fflush (stdout); /* Don't duplicate buffered output into the children.  */
  for (long i = 0; i < n; i++)
    {
      pid_t pid = fork ();
      if (pid < 0)
        die ("fork");
      if (pid == 0)
        {
          /* Drop inherited blocks and ignores, so "kill --all" tests see
             the default action: termination.  */
          sigset_t none;
          sigemptyset (&none);
          sigprocmask (SIG_SETMASK, &none, NULL);
          for (int sig = 1; sig < 32; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
              signal (sig, SIG_DFL);
          sleep_seconds (60);
          _exit (0);
        }
      printf ("child %d\n", (int) pid);
    }
  fflush (stdout);
  while (reaped < n)
    if (wait (NULL) >= 0)
      reaped++;
    else if (errno != EINTR)
      die ("wait");
  printf ("reaped %ld\n", reaped);
  return 0;
}

static int
cmd_stdin (int argc, char **argv)
{
  if (copy_fd (0) < 0)
    die ("copy stdin");
  return 0;
}

static int
cmd_mkdir (int argc, char **argv)
{
  if (mkdir (argv[1], 0755))
    die ("mkdir %s", argv[1]);
  return 0;
}

static int
cmd_mount_proc (int argc, char **argv)
{
  if (mount ("proc", argv[1], "proc", 0, NULL))
    die ("mount");
  puts ("ok");
  return 0;
}

static int
cmd_writable (int argc, char **argv)
{
  /* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging.  */
  int fd = open (argv[1], O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  /* Directories can't be opened for writing, so ask faccessat(W_OK):
     it checks the effective ids and fails with EROFS on read-only
     mounts.  */
  if (fd >= 0 || (errno == EISDIR
                  && faccessat (AT_FDCWD, argv[1], W_OK, AT_EACCESS) == 0))
    {
      if (fd >= 0)
        close (fd);
      puts ("writable");
      return 0;
    }
  printf ("readonly: %s\n", strerror (errno));
  return 1;
}

static int
cmd_whoami_ns (int argc, char **argv)
{
  cmd_pid (argc, argv);
  cmd_ids (argc, argv);
  cmd_hostname (argc, argv);
  return cmd_cwd (argc, argv);
}

static int
cmd_openat_escape (int argc, char **argv)
{
  char buf[PATH_MAX];
  int bad = 0;
  /* CVE-2024-21626: a leaked host directory fd used as cwd leaves us
     outside the container root; the kernel then reports the cwd as
     "(unreachable)/..." and glibc's getcwd() fails with ENOENT.  */
  if (getcwd (buf, sizeof buf))
    printf ("cwd %s\n", buf);
  else
    {
      printf ("cwd-unreachable %s\n", strerror (errno));
      bad = 1;
    }
  /* Nothing in this program has opened an fd by now.  */
  for (int fd = 3; fd < 1024; fd++)
    if (fcntl (fd, F_GETFD) != -1)
      {
        printf ("leaked fd %d -> %s\n", fd, fd_target (fd, buf, sizeof buf));
        bad = 1;
      }
  if (!bad)
    puts ("no leaked fds");
  return bad;
}

/* Report one attempt to get a writable fd; never writes through it.  */
static int
report_open (int fd)
{
  if (fd < 0)
    {
      printf ("blocked: %s\n", strerror (errno));
      return 0;
    }
  close (fd);
  puts ("OVERWRITABLE");
  return 1;
}

static int
cmd_overwrite_exe (int argc, char **argv)
{
  char exe[64], reopen[64];
  snprintf (exe, sizeof exe, "/proc/%ld/exe",
            parse_long (argv[1], 1, INT_MAX));
  /* Attempt 1: open the (runtime's) binary for writing directly.  */
  int bad = report_open (open (exe, O_WRONLY | O_CLOEXEC));
  /* Attempt 2, the CVE-2019-5736 route: take a read-only handle, then
     reopen it for writing through /proc/self/fd.  O_PATH is the fallback
     as it needs no read permission, which the exploit relied on.  */
  int rfd = open (exe, O_RDONLY | O_CLOEXEC);
  if (rfd < 0)
    rfd = open (exe, O_PATH | O_CLOEXEC);
  if (rfd < 0)
    return bad | report_open (rfd);
  snprintf (reopen, sizeof reopen, "/proc/self/fd/%d", rfd);
  bad |= report_open (open (reopen, O_WRONLY | O_CLOEXEC));
  close (rfd);
  return bad;
}

/* NAME is the usage synopsis; its first word is the subcommand.  */
static const struct command
{
  const char *name;
  int min, max; /* Number of arguments after the name; -1: unlimited.  */
  int (*fn) (int argc, char **argv);
} commands[] = {
  { "ids", 0, 0, cmd_ids }, { "caps", 0, 0, cmd_caps },
  { "status", 0, 0, cmd_status }, { "hostname", 0, 0, cmd_hostname },
  { "pid", 0, 0, cmd_pid }, { "mounts", 0, 0, cmd_mounts },
  { "fds", 0, 0, cmd_fds }, { "cwd", 0, 0, cmd_cwd }, { "env", 0, 0, cmd_env },
  { "rlimits", 0, 0, cmd_rlimits }, { "ns", 0, 0, cmd_ns },
  { "umask", 0, 0, cmd_umask }, { "cat FILE...", 1, -1, cmd_cat },
  { "write FILE TEXT", 2, 2, cmd_write }, { "ls DIR", 1, 1, cmd_ls },
  { "stat PATH", 1, 1, cmd_stat }, { "exists PATH", 1, 1, cmd_exists },
  { "echo [ARGS...]", 0, -1, cmd_echo }, { "args [ARGS...]", 0, -1, cmd_args },
  { "exit N", 1, 1, cmd_exit }, { "sleep SECONDS", 1, 1, cmd_sleep },
  { "kill-self SIGNAL", 1, 1, cmd_kill_self },
  { "trap SIGNAL...", 1, -1, cmd_trap }, { "spin SECONDS", 1, 1, cmd_spin },
  { "sysctl KEY", 1, 1, cmd_sysctl }, { "children N", 1, 1, cmd_children },
  { "stdin", 0, 0, cmd_stdin }, { "mkdir PATH", 1, 1, cmd_mkdir },
  { "mount-proc DIR", 1, 1, cmd_mount_proc },
  { "writable PATH", 1, 1, cmd_writable },
  { "whoami-ns", 0, 0, cmd_whoami_ns },
  { "openat-escape", 0, 0, cmd_openat_escape },
  { "overwrite-exe PID", 1, 1, cmd_overwrite_exe },
};

static void __attribute__ ((noreturn))
usage (void)
{
  fflush (stdout);
  fputs ("usage: workload SUBCOMMAND [ARGS...]\nsubcommands:\n", stderr);
  for (size_t i = 0; i < N_ELEMENTS (commands); i++)
    fprintf (stderr, "  %s\n", commands[i].name);
  exit (2);
}

int
main (int argc, char **argv)
{
  g_argc = argc;
  g_argv = argv;
  for (size_t i = 0; argc >= 2 && i < N_ELEMENTS (commands); i++)
    {
      const struct command *c = &commands[i];
      int nargs = argc - 2;
      size_t len = strcspn (c->name, " ");
      if (strncmp (argv[1], c->name, len) != 0 || argv[1][len] != '\0')
        continue;
      if (nargs < c->min || (c->max >= 0 && nargs > c->max))
        usage ();
      int rc = c->fn (argc - 1, argv + 1);
      /* Lost output (full disk, closed pipe) must not pass as success.  */
      if (fflush (stdout) || ferror (stdout))
        die ("write stdout");
      return rc;
    }
  usage ();
}
