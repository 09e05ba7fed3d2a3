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
   mempolicy       mempolicy MODE flags 0xF nodes LIST (get_mempolicy: MODE is
                   the number, e.g. 2 for MPOL_BIND; LIST as in 0-1,3, or -)
   cat FILE...     the files' contents
   write FILE TEXT no output; FILE created/truncated, TEXT written as is
   ls DIR          NAME (bytewise sorted, without . and ..)
   stat PATH       type T mode 0NNN uid U gid G[ rdev MAJ:MIN] (lstat; T is
                   file dir link chr blk fifo sock; mode may be 01777)
   exists PATH     no output; exit 0 if lstat succeeds, else 1
   fstat FD        the same as stat, for the open file FD (fstat)
   reopen FD       no output but `reopened fd FD` written to
                   /proc/self/fd/FD, opened anew for writing
   wait-file PATH SECONDS
                   found PATH once it exists; missing PATH (exit 1) after
                   SECONDS
   after PATH SECONDS SUBCOMMAND [ARG...]
                   waits for PATH as wait-file does (missing PATH, exit 1,
                   after SECONDS), then runs SUBCOMMAND in the same process
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
   snatch-exe SECONDS STOPFILE  blocked PID: <strerror> or WROTE PID per
                   /proc/PID/exe taken from a new process; held N wrote M
   snatch-fds SECONDS STOPFILE MARKER  LEAK/ESCAPED lines; looked at N fds[,
                   no leak]
   snatch-init SECONDS STOPFILE  ready; TOOK init fd N: TARGET (5 at most); took N
                   of the init's fds in M tries
   syscall NAME [ARG...]    NAME = RET (exit 0) or NAME = -1 ENAME (exit 1;
                   ENAME from strerrorname_np, e.g. EPERM, or E<n>); one
                   raw syscall(2) by name, from the table below
   syscall-nr NR [ARG...]   NR = RET or NR = -1 ENAME, the same by number
                   (NR printed as given: 39, 0x40000027)
   crash-storm N [abort]  crash-storm N signaled=M: N children die of SIGSEGV
                   (with abort, of SIGABRT), 64 at a time at most
   named NAME SUBCOMMAND [ARG...]  sets comm to NAME (s:TEXT or x:HEX),
                   then runs SUBCOMMAND in the same process
   syscall32 NR [ARG...]    NR = RET or NR = -1 ENAME: an i386 call by
                   int $0x80 (registers' high words as given; s:TEXT below
                   4 GiB); at most 5 arguments
   storm THREADS COUNT NAME [ARG...]   storm NAME ok=N[ ENAME=M...];
                   storm total=T.  THREADS pthreads (1..1024) start
                   together and each makes the call COUNT times
                   (THREADS*COUNT <= 2^26), recording every result; ok is
                   always printed, then each errno seen, ascending by
                   number.  T is THREADS*COUNT unless a thread was killed
                   alone.  NAME may be a number; an ARG `seq` is the
                   call's index in its thread (0, 1, ...).  Exit 0.
   getpid-loop N   getpid-loop N ns_per_call X.Y (N raw getpid calls,
                   CLOCK_MONOTONIC)
   segv            read from NULL: dies by SIGSEGV
   segv-write      write to NULL: SIGSEGV
   ud2             __builtin_trap(): SIGILL
   divzero         integer division by zero: SIGFPE
   hlt             hlt in user mode (x86): #GP, SIGSEGV
   wrro            write to a present PROT_READ page: SIGSEGV, error code 7
   exec-nx         call into a PROT_READ|PROT_WRITE page: SIGSEGV
   fork-hold N SECS  N forks (refusals counted, not fatal), then SECS asleep
   segv-handled N  N null-pointer reads, each recovered by a SIGSEGV handler
                   (siglongjmp): segv-handled N caught=N
   sigbus          read past the end of a file mapping: dies by SIGBUS
   fork-crash N [abort]  fork-crash N signaled=K (K of N children, each doing
                   segv, died by SIGSEGV; with abort, by abort(): SIGABRT);
                   exit 1 unless K = N
   The faulting subcommands print nothing and, if they survive, exit 1 with
   `error: NAME: still alive`.  CPU faults are forced signals, so they kill
   even PID 1 of a pid namespace.  They set the soft RLIMIT_CORE to 0 first,
   so no core files are left behind.

   Syscall ARGs (at most 6; missing ones are 0): an integer (decimal, 0x
   hex, 0 octal as in 0755, may be negative, up to 0xffffffffffffffff);
   s:TEXT, a pointer to the string TEXT; x:HEX, a pointer to the bytes HEX
   spells (a path no JSON config can carry); b:SIZE, a pointer to SIZE zeroed
   writable bytes (1..16 MiB, e.g. `syscall uname b:4096`); or constant
   names and integers joined by '|' (O_WRONLY|O_CREAT): see syscall_consts.
   Syscall NAMEs are those in syscalls[] below (the SYS_* numbers of
   <sys/syscall.h>).  An unknown NAME or bad ARG is a usage error (exit 2).

   SIG is a name with or without SIG, any case (TERM, SIGHUP, usr1), or a
   number.  Printed names are SIGxxx, or SIG<number> when unnamed.  */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* All handlers share one signature; many ignore their arguments.  */
#pragma GCC diagnostic ignored "-Wunused-parameter"

extern char **environ;

static int run_command (int argc, char **argv);
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
cmd_mempolicy (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  int mode = 0;
  unsigned long mask[1024 / (8 * sizeof (unsigned long))] = { 0 };
  if (syscall (SYS_get_mempolicy, &mode, mask, 1024UL, NULL, 0UL) < 0)
    die ("get_mempolicy");
  printf ("mempolicy %d flags 0x%x nodes ", mode & 0xff, (unsigned) mode & ~0xffu);
  bool any = false;
  for (unsigned i = 0; i < 1024; i++)
    {
      if (!(mask[i / (8 * sizeof (unsigned long))] & (1UL << (i % (8 * sizeof (unsigned long))))))
        continue;
      unsigned j = i;
      while (j + 1 < 1024 && (mask[(j + 1) / (8 * sizeof (unsigned long))] & (1UL << ((j + 1) % (8 * sizeof (unsigned long))))))
        j++;
      printf (j > i ? "%s%u-%u" : "%s%u", any ? "," : "", i, j);
      any = true;
      i = j;
    }
  printf ("%s\n", any ? "" : "-");
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

static void print_stat (const struct stat *stp);

static int
cmd_stat (int argc, char **argv)
{
  struct stat st;
  if (lstat (argv[1], &st))
    die ("lstat %s", argv[1]);
  print_stat (&st);
  return 0;
}

/* The open file behind FD, in stat's format (for stdio: a pipe, a pty). */
static int
cmd_fstat (int argc, char **argv)
{
  struct stat st;
  int fd = (int) parse_long (argv[1], 0, 1023);
  if (fstat (fd, &st))
    die ("fstat %d", fd);
  print_stat (&st);
  return 0;
}

/* Open FD's file anew through /proc/self/fd/FD for writing, as a program
 * that reopens its stdout does, and write a line to it. */
static int
cmd_reopen (int argc, char **argv)
{
  char p[64];
  int fd = (int) parse_long (argv[1], 0, 1023);
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  int w = open (p, O_WRONLY | O_CLOEXEC);
  if (w < 0)
    die ("reopen %s", p);
  dprintf (w, "reopened fd %d\n", fd);
  close (w);
  return 0;
}

/* Wait until PATH exists (lstat), at most SECONDS. */
/* Until PATH exists (true), or `missing PATH` after LIMIT seconds. */
static bool
wait_path (const char *path, double limit)
{
  double t0 = now_mono ();
  struct stat st;
  while (lstat (path, &st) != 0)
    {
      if (now_mono () - t0 > limit)
        {
          printf ("missing %s\n", path);
          return false;
        }
      sleep_seconds (0.02);
    }
  return true;
}

static int
cmd_wait_file (int argc, char **argv)
{
  if (!wait_path (argv[1], parse_seconds (argv[2])))
    return 1;
  printf ("found %s\n", argv[1]);
  return 0;
}

/* after PATH SECONDS SUBCOMMAND...: wait-file, silently, then the
 * subcommand in the same process (a test holds back what it runs). */
static int
cmd_after (int argc, char **argv)
{
  if (!wait_path (argv[1], parse_seconds (argv[2])))
    return 1;
  g_argc = argc - 2;
  g_argv = argv + 2;
  return run_command (argc - 2, argv + 2);   /* argv[2] stands for the program's name */
}

static void
print_stat (const struct stat *stp)
{
  const struct stat st = *stp;
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

/* Attacks on processes a runtime puts into the container (`moat exec`):
   the newest pids of our pid namespace, watched in a tight loop until
   STOPFILE exists or SECONDS pass.  */

static long
newest_pid (void)
{
  char buf[32];
  int fd = open ("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return strtol (buf, NULL, 10);
}

static bool
snatch_should_stop (const char *stopfile, double end)
{
  return access (stopfile, F_OK) == 0 || now_mono () > end;
}

static int
cmd_snatch_exe (int argc, char **argv)
{
  (void) argc;
  double end = now_mono () + parse_seconds (argv[1]);
  struct stat self;
  if (stat ("/proc/self/exe", &self) < 0)
    die ("stat /proc/self/exe");
  enum { MAXHELD = 512 };
  int held[MAXHELD];
  long held_pid[MAXHELD];
  int n = 0;
  long me = getpid ();
  while (!snatch_should_stop (argv[2], end))
    {
      long last = newest_pid ();
      for (long p = last; p > last - 3 && p > 0; p--)
        {
          bool have = p == me;
          for (int i = 0; i < n && !have; i++)
            have = held_pid[i] == p;
          if (have || n == MAXHELD)
            continue;
          char path[64];
          snprintf (path, sizeof path, "/proc/%ld/exe", p);
          int fd = open (path, O_PATH | O_CLOEXEC);
          struct stat st;
          if (fd < 0)
            continue;
          if (fstat (fd, &st) < 0 || (st.st_dev == self.st_dev && st.st_ino == self.st_ino))
            {
              close (fd);   /* the workload itself: nothing to take */
              continue;
            }
          held[n] = fd;
          held_pid[n++] = p;
        }
    }
  /* The runtime has finished: its binary is no longer busy.  */
  int wrote = 0;
  for (int i = 0; i < n; i++)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/self/fd/%d", held[i]);
      int w = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (w < 0)
        {
          printf ("blocked %ld: %s\n", held_pid[i], strerror (errno));
          continue;
        }
      if (write (w, "moat-snatched\n", 14) == 14)
        {
          printf ("WROTE %ld\n", held_pid[i]);
          wrote++;
        }
      else
        printf ("blocked %ld: write: %s\n", held_pid[i], strerror (errno));
      close (w);
    }
  printf ("held %d wrote %d\n", n, wrote);
  return wrote ? 1 : 0;
}

/* The init's fds, taken with pidfd_getfd while `moat start` turns it into
   the workload (same uid, and once its capabilities are the container's,
   no CAP_SYS_PTRACE needed if it is dumpable).  */
static int
cmd_snatch_init (int argc, char **argv)
{
  (void) argc;
  double end = now_mono () + parse_seconds (argv[1]);
  long got = 0, tries = 0;
  puts ("ready");
  fflush (stdout);
  while (!snatch_should_stop (argv[2], end))
    {
      int pfd = (int) syscall (SYS_pidfd_open, (pid_t) 1, 0);
      if (pfd < 0)
        continue;
      for (int n = 3; n < 16; n++)
        {
          tries++;
          int fd = (int) syscall (SYS_pidfd_getfd, pfd, n, 0);
          if (fd < 0)
            continue;
          char link[64], target[256];
          snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
          ssize_t len = readlink (link, target, sizeof target - 1);
          target[len > 0 ? len : 0] = '\0';
          if (got++ < 5)
            printf ("TOOK init fd %d: %s\n", n, target);
          close (fd);
        }
      close (pfd);
    }
  printf ("took %ld of the init's fds in %ld tries\n", got, tries);
  return got ? 1 : 0;
}

/* A directory of another process, taken through /proc/PID/fd/N or
   pidfd_getfd: how far up can we walk from it?  Prints a LEAK line the
   first time each kind is seen.  */
static int
snatch_judge (int dfd, long pid, int n, const char *how, const char *marker, const struct stat *root,
              unsigned *seen)
{
  struct statfs sf;
  struct stat st;
  if (fstat (dfd, &st) < 0 || !S_ISDIR (st.st_mode))
    return 0;
  int bad = 0;
  if (fstatfs (dfd, &sf) == 0 && (sf.f_type == 0x63677270 /* cgroup2 */ || sf.f_type == 0x27e0eb /* cgroup */))
    {
      if (!(*seen & 1))
        printf ("LEAK %s %ld fd %d: a cgroup directory\n", how, pid, n);
      *seen |= 1;
      bad = 1;
    }
  /* Up to the top of whatever holds it.  */
  int cur = dup (dfd);
  for (int i = 0; i < 64 && cur >= 0; i++)
    {
      int up = openat (cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct stat a, b;
      if (up < 0 || fstat (cur, &a) < 0 || fstat (up, &b) < 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        {
          if (up >= 0)
            close (up);
          break;
        }
      close (cur);
      cur = up;
    }
  struct stat top;
  if (cur >= 0 && fstat (cur, &top) == 0 && !(top.st_dev == root->st_dev && top.st_ino == root->st_ino))
    {
      if (!(*seen & 2))
        printf ("LEAK %s %ld fd %d: a directory outside our root\n", how, pid, n);
      *seen |= 2;
      bad = 1;
      if (faccessat (cur, marker, F_OK, 0) == 0)
        {
          if (!(*seen & 4))
            printf ("ESCAPED %s %ld fd %d: reached the host's %s\n", how, pid, n, marker);
          *seen |= 4;
        }
    }
  if (cur >= 0)
    close (cur);
  return bad;
}

static int
cmd_snatch_fds (int argc, char **argv)
{
  (void) argc;
  double end = now_mono () + parse_seconds (argv[1]);
  const char *marker = argv[3];
  while (*marker == '/')
    marker++;
  struct stat root;
  if (stat ("/", &root) < 0)
    die ("stat /");
  long me = getpid ();
  unsigned seen = 0;
  long looked = 0;
  int bad = 0;
  while (!snatch_should_stop (argv[2], end))
    {
      long last = newest_pid ();
      for (long p = last; p > last - 2 && p > 0; p--)
        {
          if (p == me)
            continue;
          /* The way the attacker went: /proc/PID/fd/N.  */
          for (int n = 3; n < 24; n++)
            {
              char path[64];
              snprintf (path, sizeof path, "/proc/%ld/fd/%d", p, n);
              int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
              if (fd < 0)
                continue;
              looked++;
              bad |= snatch_judge (fd, p, n, "proc-fd", marker, &root, &seen);
              close (fd);
            }
          /* And a copy of the fd itself (needs CAP_SYS_PTRACE too).  */
          int pfd = (int) syscall (SYS_pidfd_open, (pid_t) p, 0);
          if (pfd < 0)
            continue;
          for (int n = 3; n < 24; n++)
            {
              int fd = (int) syscall (SYS_pidfd_getfd, pfd, n, 0);
              if (fd < 0)
                continue;
              looked++;
              bad |= snatch_judge (fd, p, n, "pidfd-getfd", marker, &root, &seen);
              close (fd);
            }
          close (pfd);
        }
    }
  printf ("looked at %ld fds%s\n", looked, bad ? "" : ", no leak");
  return bad;
}

/* Raw syscalls, for seccomp and capability tests.  */

#define SC(n) { #n, SYS_##n }
static const struct
{
  const char *name;
  long nr;
} syscalls[] = {
  /* Identity and processes.  */
  SC (getpid), SC (getppid), SC (gettid), SC (getuid), SC (geteuid), SC (ioprio_get),
  SC (getgid), SC (getegid), SC (setuid), SC (setgid), SC (setresuid),
  SC (setresgid), SC (setgroups), SC (capset), SC (prctl), SC (seccomp),
  SC (personality), SC (clone), SC (clone3), SC (unshare), SC (setns),
  SC (kill), SC (tkill), SC (tgkill), SC (pidfd_open), SC (pidfd_getfd),
  SC (ptrace), SC (process_vm_readv), SC (process_vm_writev), SC (kcmp),
  /* Files.  */
  SC (read), SC (write), SC (close), SC (getcwd), SC (chdir), SC (chroot),
  SC (openat), SC (mkdirat), SC (unlinkat), SC (renameat), SC (renameat2),
  SC (fchownat), SC (fchmodat), SC (mknodat), SC (name_to_handle_at),
  SC (open_by_handle_at), SC (memfd_create), SC (acct), SC (quotactl),
  SC (lookup_dcookie), SC (fanotify_init),
  /* Mounts.  */
  SC (mount), SC (umount2), SC (pivot_root), SC (fsopen), SC (fsconfig),
  SC (fsmount), SC (fspick), SC (move_mount), SC (open_tree),
  SC (mount_setattr),
  /* System-wide state.  */
  SC (uname), SC (sethostname), SC (setdomainname), SC (reboot),
  SC (swapon), SC (swapoff), SC (kexec_load), SC (kexec_file_load),
  SC (init_module), SC (finit_module), SC (delete_module),
  SC (settimeofday), SC (clock_settime), SC (adjtimex), SC (clock_adjtime),
  SC (syslog), SC (vhangup), SC (nfsservctl),
  /* Other kernel interfaces.  */
  SC (socket), SC (ioctl), SC (bpf), SC (perf_event_open), SC (keyctl), SC (add_key),
  SC (request_key), SC (userfaultfd), SC (io_uring_setup),
  SC (io_uring_enter), SC (io_uring_register), SC (mbind),
  SC (set_mempolicy), SC (get_mempolicy), SC (move_pages),
  SC (migrate_pages), SC (landlock_create_ruleset),
#ifdef __x86_64__
  /* Only in the x86_64 table (newer architectures have just the *at
     forms, and no port I/O or long-removed calls).  */
  SC (open), SC (mkdir), SC (rmdir), SC (unlink), SC (rename), SC (chown),
  SC (chmod), SC (mknod), SC (iopl), SC (ioperm), SC (uselib), SC (ustat),
  SC (sysfs), SC (_sysctl), SC (create_module), SC (get_kernel_syms),
  SC (query_module),
#endif
};
#undef SC

#define K(n) { #n, (long) (n) }
static const struct
{
  const char *name;
  long value;
} syscall_consts[] = {
  K (AF_UNIX),       K (AF_INET),        K (AF_INET6),     K (AF_NETLINK),
  K (AF_PACKET),     K (SOCK_STREAM),    K (SOCK_DGRAM),   K (SOCK_RAW),
  K (SOCK_CLOEXEC),  K (O_RDONLY),       K (O_WRONLY),     K (O_RDWR),
  K (O_CREAT),       K (O_EXCL),         K (O_TRUNC),      K (O_DIRECTORY),
  K (O_CLOEXEC),     K (O_PATH),         K (AT_FDCWD),     K (AT_REMOVEDIR),
  K (AT_SYMLINK_NOFOLLOW), K (AT_EMPTY_PATH),
  K (CLONE_NEWUSER), K (CLONE_NEWNS),    K (CLONE_NEWNET), K (CLONE_NEWPID),
  K (CLONE_NEWUTS),  K (CLONE_NEWIPC),   K (CLONE_NEWCGROUP),
  K (CLONE_NEWTIME), K (PTRACE_TRACEME), K (PTRACE_ATTACH),
  K (PTRACE_SEIZE),  K (MS_BIND),        K (MS_RDONLY),    K (MS_REMOUNT),
  K (MS_REC),        K (MS_PRIVATE),     K (MS_NOSUID),    K (MNT_DETACH),
  K (PER_LINUX),     K (S_IFREG),        K (S_IFCHR),      K (S_IFBLK),
  K (S_IFIFO),
};
#undef K

/* The bytes HEX spells (2 digits each), NUL-terminated: strings no JSON
   config can carry (bytes that are not UTF-8).  Never freed.  */
static char *
hex_string (const char *hex)
{
  size_t n = strlen (hex);
  char *out = calloc (1, n / 2 + 1);
  if (out == NULL || n % 2)
    bad_arg ("bad hex string: %s", hex);
  for (size_t i = 0; i < n / 2; i++)
    {
      unsigned int b;
      if (sscanf (hex + 2 * i, "%2x", &b) != 1)
        bad_arg ("bad hex string: %s", hex);
      out[i] = (char) b;
    }
  return out;
}

/* A number: decimal, 0x hex or 0 octal, optionally negative; values up to
   2^64-1 are accepted and wrap into a long.  */
static int
parse_sysarg_number (const char *s, long *out)
{
  char *end;
  errno = 0;
  if (s[0] == '-')
    *out = strtol (s, &end, 0);
  else
    *out = (long) strtoul (s, &end, 0);
  return !(errno || end == s || *end || s[0] == '+' || s[0] == ' ');
}

/* One syscall argument, as documented at the top.  Strings and buffers
   are never freed: they live until exit.  */
static long
parse_sysarg (char *s)
{
  if (strncmp (s, "s:", 2) == 0)
    return (long) (uintptr_t) (s + 2);
  if (strncmp (s, "x:", 2) == 0)
    return (long) (uintptr_t) hex_string (s + 2);
  if (strncmp (s, "b:", 2) == 0)
    {
      long size;
      void *buf;
      if (!parse_sysarg_number (s + 2, &size) || size < 1 || size > 1 << 24)
        bad_arg ("bad buffer size: %s", s);
      if ((buf = calloc (1, (size_t) size)) == NULL)
        die ("calloc");
      return (long) (uintptr_t) buf;
    }
  unsigned long v = 0;
  char *copy = strdup (s);
  if (copy == NULL)
    die ("strdup");
  /* strtok_r would skip empty parts, which must be errors: `O_RDWR|`.  */
  for (char *part = copy, *bar;; part = bar + 1)
    {
      long x;
      size_t i;
      if ((bar = strchr (part, '|')) != NULL)
        *bar = '\0';
      for (i = 0; i < N_ELEMENTS (syscall_consts); i++)
        if (strcmp (part, syscall_consts[i].name) == 0)
          break;
      if (i < N_ELEMENTS (syscall_consts))
        x = syscall_consts[i].value;
      else if (!parse_sysarg_number (part, &x))
        bad_arg ("bad syscall argument: %s", s);
      v |= (unsigned long) x;
      if (bar == NULL)
        break;
    }
  free (copy);
  return (long) v;
}

/* The syscall number for NAME; with NUMERIC, a number is taken too.  */
static long
parse_syscall (const char *name, int numeric)
{
  long nr;
  for (size_t i = 0; i < N_ELEMENTS (syscalls); i++)
    if (strcmp (name, syscalls[i].name) == 0)
      return syscalls[i].nr;
  if (numeric && parse_sysarg_number (name, &nr))
    return nr;
  bad_arg ("unknown syscall: %s", name);
}

#define MAX_SYSARGS 6

/* Parse up to six ARGV[] into ARGS; missing ones are 0.  */
static void
parse_sysargs (int argc, char **argv, long *args)
{
  if (argc > MAX_SYSARGS)
    bad_arg ("too many syscall arguments (at most %d)", MAX_SYSARGS);
  for (int i = 0; i < MAX_SYSARGS; i++)
    args[i] = i < argc ? parse_sysarg (argv[i]) : 0;
}

static long
do_syscall (long nr, const long *a)
{
  return syscall (nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static const char *
errno_name (int err)
{
  static char buf[32];
  const char *name = strerrorname_np (err);
  if (name)
    return name;
  snprintf (buf, sizeof buf, "E%d", err);
  return buf;
}

/* Make the call and print `LABEL = RET` or `LABEL = -1 ENAME`.  */
static int
syscall_report (const char *label, long nr, int argc, char **argv)
{
  long args[MAX_SYSARGS];
  parse_sysargs (argc, argv, args);
  fflush (stdout); /* Nothing is buffered, but clone() must not copy it.  */
  long ret = do_syscall (nr, args);
  if (ret == -1)
    {
      printf ("%s = -1 %s\n", label, errno_name (errno));
      return 1;
    }
  printf ("%s = %ld\n", label, ret);
  return 0;
}

static int
cmd_syscall (int argc, char **argv)
{
  return syscall_report (argv[1], parse_syscall (argv[1], 0), argc - 2,
                         argv + 2);
}

static int
cmd_syscall_nr (int argc, char **argv)
{
  long nr;
  if (!parse_sysarg_number (argv[1], &nr))
    bad_arg ("bad number: %s", argv[1]);
  return syscall_report (argv[1], nr, argc - 2, argv + 2);
}

/* An i386 call through int $0x80 from this 64-bit program, with the
   registers as given (their high words too: the kernel runs the call on
   the low words, a filter may look at all of them).  Strings go to memory
   below 4 GiB, where a 32-bit pointer reaches.  Five arguments at most.  */
static int
cmd_syscall32 (int argc, char **argv)
{
  long nr, a[5] = { 0 };
  if (!parse_sysarg_number (argv[1], &nr))
    bad_arg ("bad number: %s", argv[1]);
  if (argc - 2 > 5)
    bad_arg ("at most 5 arguments through int $0x80");
  for (int i = 0; i < argc - 2; i++)
    {
      char *s = argv[i + 2];
      if (strncmp (s, "s:", 2) == 0)
        {
          size_t len = strlen (s + 2) + 1;
          char *low = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
          if (low == MAP_FAILED)
            die ("mmap MAP_32BIT");
          memcpy (low, s + 2, len);
          a[i] = (long) (uintptr_t) low;
        }
      else if (!parse_sysarg_number (s, &a[i]))
        bad_arg ("bad argument: %s", s);
    }
  fflush (stdout);
  long ret;
  __asm__ volatile ("int $0x80"
                    : "=a"(ret)
                    : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
                    : "memory", "r8", "r9", "r10", "r11");
  int r = (int) ret;
  if (r < 0 && r > -4096)
    {
      printf ("%s = -1 %s\n", argv[1], errno_name (-r));
      return 1;
    }
  printf ("%s = %d\n", argv[1], r);
  return 0;
}

/* Set our comm (PR_SET_NAME; NAME as s:TEXT or x:HEX), then run the rest
   of the command line as a subcommand of this same process.  */
static int
cmd_named (int argc, char **argv)
{
  char *name = strncmp (argv[1], "x:", 2) == 0 ? hex_string (argv[1] + 2)
               : strncmp (argv[1], "s:", 2) == 0 ? argv[1] + 2 : argv[1];
  if (prctl (PR_SET_NAME, name, 0, 0, 0) < 0)
    die ("prctl PR_SET_NAME");
  g_argc = argc - 1;
  g_argv = argv + 1;
  return run_command (argc - 1, argv + 1);
}

/* errno values are below 4096 (the kernel's -MAX_ERRNO), so outcomes fit
   in 16 bits: 0 for success, else the errno.  */
#define MAX_OUTCOME 4096

struct storm_thread
{
  pthread_t thread;
  long nr, count, done;
  const long *args;
  unsigned seq;                 /* arguments that are the call's index */
  uint16_t *results;
  pthread_barrier_t *start;
};

static void *
storm_run (void *p)
{
  struct storm_thread *t = p;
  pthread_barrier_wait (t->start);
  long a[MAX_SYSARGS];
  memcpy (a, t->args, sizeof a);
  for (long i = 0; i < t->count; i++)
    {
      for (int k = 0; k < MAX_SYSARGS; k++)
        if (t->seq & (1u << k))
          a[k] = i;
      long ret = do_syscall (t->nr, a);
      int err = ret == -1 ? errno : 0;
      t->results[i] = (uint16_t) (err > 0 && err < MAX_OUTCOME ? err : 0);
      t->done = i + 1;
    }
  return NULL;
}

static int
cmd_storm (int argc, char **argv)
{
  long nthreads = parse_long (argv[1], 1, 1024);
  long count = parse_long (argv[2], 0, 100000000);
  long nr = parse_syscall (argv[3], 1), args[MAX_SYSARGS];
  if (count > (1L << 26) / nthreads)
    bad_arg ("storm: THREADS*COUNT above %ld", 1L << 26);
  unsigned seq = 0;
  for (int k = 4; k < argc && k - 4 < MAX_SYSARGS; k++)
    if (strcmp (argv[k], "seq") == 0)
      {
        seq |= 1u << (k - 4);
        argv[k] = (char *) "0";
      }
  parse_sysargs (argc - 4, argv + 4, args);

  struct storm_thread *t = calloc ((size_t) nthreads, sizeof *t);
  uint16_t *results = malloc ((size_t) (nthreads * count + 1)
                              * sizeof *results);
  static unsigned long counts[MAX_OUTCOME];
  pthread_barrier_t start;
  pthread_attr_t attr;
  if (t == NULL || results == NULL)
    die ("malloc");
  /* Small stacks: a thousand threads shouldn't need 8 GiB of address
     space.  */
  if ((errno = pthread_attr_init (&attr))
      || (errno = pthread_attr_setstacksize (&attr, 256 * 1024))
      || (errno = pthread_barrier_init (&start, NULL, (unsigned) nthreads)))
    die ("storm: pthread setup");
  fflush (stdout);
  for (long i = 0; i < nthreads; i++)
    {
      t[i] = (struct storm_thread){ .nr = nr, .count = count, .args = args, .seq = seq,
                                    .results = results + i * count,
                                    .start = &start };
      if ((errno = pthread_create (&t[i].thread, &attr, storm_run, &t[i])))
        die ("storm: pthread_create");
    }
  unsigned long total = 0;
  for (long i = 0; i < nthreads; i++)
    {
      if ((errno = pthread_join (t[i].thread, NULL)))
        die ("storm: pthread_join");
      /* DONE < COUNT only if the thread was killed (SECCOMP_RET_KILL_THREAD)
         without taking the process with it.  */
      for (long j = 0; j < t[i].done; j++)
        counts[t[i].results[j]]++;
      total += (unsigned long) t[i].done;
    }
  printf ("storm %s ok=%lu", argv[3], counts[0]);
  for (int e = 1; e < MAX_OUTCOME; e++)
    if (counts[e])
      printf (" %s=%lu", errno_name (e), counts[e]);
  printf ("\nstorm total=%lu\n", total);
  free (results);
  free (t);
  return 0;
}

static int
cmd_getpid_loop (int argc, char **argv)
{
  long n = parse_long (argv[1], 1, LONG_MAX);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    syscall (SYS_getpid);
  clock_gettime (CLOCK_MONOTONIC, &b);
  double ns = ((double) (b.tv_sec - a.tv_sec) * 1e9
               + (double) (b.tv_nsec - a.tv_nsec)) / (double) n;
  printf ("getpid-loop %ld ns_per_call %.1f\n", n, ns);
  return 0;
}

/* Faults.  Each subcommand makes the CPU fault, so the kernel forces the
   signal: it kills even PID 1 of a pid namespace, whatever the inherited
   mask or SIG_IGN.  Core dumps are turned off first (soft RLIMIT_CORE 0)
   so that tests leave no core files behind.  */

static void
no_core (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_CORE, &rl) == 0)
    {
      rl.rlim_cur = 0;
      setrlimit (RLIMIT_CORE, &rl);
    }
  fflush (stdout);
}

static void __attribute__ ((noreturn))
survived (const char *what)
{
  fail (1, 0, "%s: still alive", what);
}

/* Through a volatile pointer, so that GCC can't see the NULL and replace
   the access with a trap instruction (SIGILL).  */
static int *volatile null_pointer;

static void
do_segv (void)
{
  no_core ();
  (void) *(volatile int *) null_pointer;
}

static int
cmd_segv (int argc, char **argv)
{
  do_segv ();
  survived ("segv");
}

static int
cmd_segv_write (int argc, char **argv)
{
  no_core ();
  *(volatile int *) null_pointer = 1;
  survived ("segv-write");
}

static int
cmd_ud2 (int argc, char **argv)
{
  no_core ();
  __builtin_trap ();
}

static int
cmd_divzero (int argc, char **argv)
{
  volatile int a = 1, b = 0;
  no_core ();
  a = a / b;
  survived ("divzero");
}

static int
cmd_hlt (int argc, char **argv)
{
#if defined __x86_64__ || defined __i386__
  no_core ();
  __asm__ volatile ("hlt");
  survived ("hlt");
#else
  fail (1, 0, "hlt: x86 only");
#endif
}

static void *
map_page (int prot)
{
  void *p = mmap (NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die ("mmap");
  return p;
}

static int
cmd_wrro (int argc, char **argv)
{
  volatile char *p = map_page (PROT_READ | PROT_WRITE);
  /* Touch the page first, so the fault is on a present page: error code
     7 (present, write, user) rather than 6.  */
  p[0] = 1;
  if (mprotect ((void *) p, 4096, PROT_READ))
    die ("mprotect");
  no_core ();
  p[0] = 2;
  survived ("wrro");
}

static int
cmd_exec_nx (int argc, char **argv)
{
  unsigned char *p = map_page (PROT_READ | PROT_WRITE);
#if defined __x86_64__ || defined __i386__
  memset (p, 0xc3, 4096); /* ret: without NX, the call just returns.  */
#endif
  void (*volatile fn) (void) = (void (*) (void)) (void *) p;
  no_core ();
  fn ();
  survived ("exec-nx");
}

/* Wait for one child: 1 when one was reaped (counted in *COUNT if SIG
   killed it), 0 when interrupted.  */
static long
reap_one_by (long *count, int sig)
{
  int st;
  if (wait (&st) < 0)
    {
      if (errno == EINTR)
        return 0;
      die ("wait");
    }
  if (WIFSIGNALED (st) && WTERMSIG (st) == sig)
    ++*count;
  return 1;
}

/* A storm's child: a null-pointer read (SIGSEGV), or abort() (SIGABRT,
   which the kernel does not log: a storm of SIGSEGV uses up the kernel
   log's rate limit for whatever comes next).  */
static void __attribute__ ((noreturn))
crash_child (bool by_abort)
{
  if (by_abort)
    {
      struct rlimit rl = { 0, 0 };
      setrlimit (RLIMIT_CORE, &rl);
      abort ();
    }
  do_segv ();
  _exit (0);
}

/* N children crashing with SIGSEGV, at most 64 alive at once (a storm as
   long as one likes, without a pids limit or a fork failure in the way).  */
static int
cmd_crash_storm (int argc, char **argv)
{
  long n = parse_long (argv[1], 0, 100000000), signaled = 0, forked = 0, reaped = 0;
  bool by_abort = argc > 2 && strcmp (argv[2], "abort") == 0;
  if (argc > 2 && !by_abort)
    bad_arg ("crash-storm: the second argument can only be abort: %s", argv[2]);
  fflush (stdout);
  while (reaped < n)
    {
      if (forked < n && forked - reaped < 64)
        {
          pid_t pid = fork ();
          if (pid < 0 && errno != EAGAIN)
            die ("fork");
          if (pid == 0)
            crash_child (by_abort);
          if (pid > 0)
            {
              forked++;
              continue;
            }
        }
      reaped += reap_one_by (&signaled, by_abort ? SIGABRT : SIGSEGV);
    }
  printf ("crash-storm %ld signaled=%ld\n", n, signaled);
  return signaled == n ? 0 : 1;
}

static int
cmd_fork_crash (int argc, char **argv)
{
  long n = parse_long (argv[1], 0, 4096), signaled = 0;
  bool by_abort = argc > 2 && strcmp (argv[2], "abort") == 0;
  if (argc > 2 && !by_abort)
    bad_arg ("fork-crash: the second argument can only be abort: %s", argv[2]);
  fflush (stdout);
  for (long i = 0; i < n; i++)
    {
      pid_t pid = fork ();
      if (pid < 0)
        die ("fork");
      if (pid == 0)
        crash_child (by_abort);
    }
  for (long reaped = 0; reaped < n;)
    reaped += reap_one_by (&signaled, by_abort ? SIGABRT : SIGSEGV);
  printf ("fork-crash %ld signaled=%ld\n", n, signaled);
  return signaled == n ? 0 : 1;
}

/* fork-hold N SECS: try N forks (children sleep SECS), count the refused
 * ones without dying of them, then hold on for SECS: a container that hits
 * pids.max and lives on.  */
static int
cmd_fork_hold (int argc, char **argv)
{
  long n = parse_long (argv[1], 0, 4096), secs = parse_long (argv[2], 0, 3600), ok = 0, refused = 0;
  fflush (stdout);
  for (long i = 0; i < n; i++)
    {
      pid_t pid = fork ();
      if (pid == 0)
        {
          sleep_seconds ((int) secs);
          _exit (0);
        }
      if (pid > 0)
        ok++;
      else
        refused++;
    }
  printf ("fork-hold forked=%ld refused=%ld\n", ok, refused);
  fflush (stdout);
  sleep_seconds ((int) secs);
  while (wait (NULL) > 0 || errno == EINTR)
    ;
  return 0;
}

/* segv-handled N: N faults that a SIGSEGV handler recovers from (as a JVM
 * or a garbage collector does): the process survives every one.  */
static sigjmp_buf segv_jump;

static void
segv_recover (int sig)
{
  (void) sig;
  siglongjmp (segv_jump, 1);
}

static int
cmd_segv_handled (int argc, char **argv)
{
  long n = parse_long (argv[1], 0, 100000), caught = 0;
  struct sigaction sa = { .sa_handler = segv_recover };
  sigemptyset (&sa.sa_mask);
  if (sigaction (SIGSEGV, &sa, NULL))
    die ("sigaction");
  for (long i = 0; i < n; i++)
    if (sigsetjmp (segv_jump, 1) == 0)
      (void) *(volatile int *) null_pointer;
    else
      caught++;
  printf ("segv-handled %ld caught=%ld\n", n, caught);
  return caught == n ? 0 : 1;
}

/* sigbus: read a page of a file mapping past the file's end: the MMU
 * fault is a SIGBUS (BUS_ADRERR), which the kernel log never reports.  */
static int
cmd_sigbus (int argc, char **argv)
{
  /* a memfd: no writable filesystem needed in the rootfs */
  int fd = (int) syscall (SYS_memfd_create, "sigbus", 0);
  if (fd < 0)
    die ("memfd_create");
  if (ftruncate (fd, 1))
    die ("ftruncate");
  volatile char *p = mmap (NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    die ("mmap");
  no_core ();
  (void) p[4096];
  survived ("sigbus");
}

/* NAME is the usage synopsis; its first word is the subcommand.  */

/* Listen on the unix socket PATH, print READY, take one connection and one
 * message from it (into BUF, NUL-terminated) with the fd it carries. */
static int
accept_one_fd (const char *path, const char *ready, char *buf, size_t size)
{
  int ls = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  unlink (path);
  if (ls < 0 || bind (ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (ls, 1) < 0)
    die ("listen %s", path);
  printf ("%s\n", ready);
  fflush (stdout);
  int c = accept4 (ls, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    die ("accept %s", path);
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { buf, size - 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  ssize_t n = recvmsg (c, &m, MSG_CMSG_CLOEXEC);
  if (n <= 0)
    die ("recvmsg %s", path);
  buf[n] = '\0';
  int fd = -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
  if (cm && cm->cmsg_type == SCM_RIGHTS)
    memcpy (&fd, CMSG_DATA (cm), sizeof (int));
  close (c);
  close (ls);
  if (fd < 0)
    die ("no fd received on %s", path);
  return fd;
}

/* serve-copy SOCKET FILE: a lookalike of a supervisor handing out its
 * sealed copy of moat (selfexe.c): FILE with one byte changed in its middle,
 * in a sealed memfd, given to whoever sends "X" on SOCKET (SEQPACKET).
 * Prints `serve-copy: inode N` first, then `serve-copy: served` each time.
 * Runs on the host, not in a container, until killed. */
static int
cmd_serve_copy (int argc, char **argv)
{
  (void) argc;
  int in = open (argv[2], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat (in, &st) < 0 || st.st_size < 2)
    die ("serve-copy: %s: %s", argv[2], strerror (errno));
  char *buf = malloc ((size_t) st.st_size);
  if (buf == NULL || read (in, buf, (size_t) st.st_size) != st.st_size)
    die ("serve-copy: read %s", argv[2]);
  buf[st.st_size / 2] ^= 0x5a;
  int m = (int) syscall (SYS_memfd_create, "moat", 2 /* MFD_ALLOW_SEALING */);
  if (m < 0 || write (m, buf, (size_t) st.st_size) != st.st_size
      || fcntl (m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    die ("serve-copy: memfd: %s", strerror (errno));
  struct stat ms;
  fstat (m, &ms);
  int l = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
  if (l < 0 || bind (l, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (l, 8) < 0)
    die ("serve-copy: %s: %s", argv[1], strerror (errno));
  printf ("serve-copy: inode %lu\n", (unsigned long) ms.st_ino);
  fflush (stdout);
  for (;;)
    {
      int c = accept4 (l, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      char x;
      if (read (c, &x, 1) == 1 && x == 'X')
        {
          char cbuf[CMSG_SPACE (sizeof (int))] = { 0 };
          struct iovec iov = { &x, 1 };
          struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
          struct cmsghdr *cm = CMSG_FIRSTHDR (&msg);
          cm->cmsg_level = SOL_SOCKET;
          cm->cmsg_type = SCM_RIGHTS;
          cm->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (cm), &m, sizeof m);
          if (sendmsg (c, &msg, 0) == 1)
            {
              printf ("serve-copy: served\n");
              fflush (stdout);
            }
        }
      close (c);
    }
}

/* agent SOCKET ERRNO COUNT: a stand-in for an external seccomp agent (the
 * OCI listenerPath). Listens on SOCKET, takes one connection carrying the
 * container process state (JSON) and the listener fd, prints
 * `agent-state JSON`, then answers COUNT notifications with -ERRNO, printing
 * `agent: answered NR` for each. Runs on the host, not in a container. */
static int
cmd_agent (int argc, char **argv)
{
  (void) argc;
  const char *path = argv[1];
  long want_errno = strtol (argv[2], NULL, 0);
  long count = strtol (argv[3], NULL, 0);
  static char buf[65536];
  int lfd = accept_one_fd (path, "agent ready", buf, sizeof buf);
  printf ("agent-state %s\n", buf);
  fflush (stdout);
  struct seccomp_notif_sizes sizes;
  if (syscall (SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
    die ("agent: notif sizes %s", path);
  struct seccomp_notif *req = calloc (1, sizes.seccomp_notif > sizeof *req ? sizes.seccomp_notif : sizeof *req);
  struct seccomp_notif_resp *resp = calloc (1, sizes.seccomp_notif_resp > sizeof *resp ? sizes.seccomp_notif_resp : sizeof *resp);
  for (long i = 0; i < count; i++)
    {
      memset (req, 0, sizes.seccomp_notif);
      if (ioctl (lfd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
        die ("agent: receive %s", path);
      memset (resp, 0, sizes.seccomp_notif_resp);
      resp->id = req->id;
      resp->error = (int32_t) -want_errno;
      if (ioctl (lfd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
        die ("agent: answer %s", path);
      printf ("agent: answered %d\n", req->data.nr);
      fflush (stdout);
    }
  return 0;
}

/* console SOCKET [INPUT]: a --console-socket receiver, as conmon is one.
 * Listens on SOCKET, prints `console ready`, takes one pty master (with
 * runc's name message, printed as `console-name NAME`), writes INPUT and a
 * newline to it when given, then copies what the pty says to stdout until
 * the last process holding its other end is gone. Runs on the host; gives
 * up after 20 s. */
static int
cmd_console (int argc, char **argv)
{
  const char *path = argv[1];
  alarm (20);
  char name[256];
  int fd = accept_one_fd (path, "console ready", name, sizeof name);
  printf ("console-name %s\n", name);
  fflush (stdout);
  if (argc > 2)
    {
      char line[4096];
      int len = snprintf (line, sizeof line, "%s\n", argv[2]);
      if (write (fd, line, (size_t) len) != len)
        die ("console: write");
    }
  char buf[4096];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (write (1, buf, (size_t) n) != n)
      break;
  return 0;
}

/* hog MB: allocate and touch MB mebibytes, one page at a time (so the
 * memory is really charged), then print `hog MB MiB` and exit 0. Under a
 * lower memory limit the OOM killer ends it first (SIGKILL). */
static int
cmd_hog (int argc, char **argv)
{
  (void) argc;
  long mb = strtol (argv[1], NULL, 10);
  for (long i = 0; i < mb; i++)
    {
      char *p = mmap (NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        die ("hog: mmap");
      for (size_t off = 0; off < (1 << 20); off += 4096)
        p[off] = 1;
    }
  printf ("hog %ld MiB\n", mb);
  return 0;
}

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
  { "umask", 0, 0, cmd_umask }, { "mempolicy", 0, 0, cmd_mempolicy }, { "cat FILE...", 1, -1, cmd_cat },
  { "write FILE TEXT", 2, 2, cmd_write }, { "ls DIR", 1, 1, cmd_ls },
  { "stat PATH", 1, 1, cmd_stat }, { "exists PATH", 1, 1, cmd_exists },
  { "fstat FD", 1, 1, cmd_fstat }, { "reopen FD", 1, 1, cmd_reopen },
  { "wait-file PATH SECONDS", 2, 2, cmd_wait_file },
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
  { "snatch-exe SECONDS STOPFILE", 2, 2, cmd_snatch_exe },
  { "snatch-fds SECONDS STOPFILE MARKER", 3, 3, cmd_snatch_fds },
  { "snatch-init SECONDS STOPFILE", 2, 2, cmd_snatch_init },
  { "syscall NAME [ARG...]", 1, -1, cmd_syscall },
  { "syscall-nr NR [ARG...]", 1, -1, cmd_syscall_nr },
  { "syscall32 NR [ARG...]", 1, 6, cmd_syscall32 },
  { "named NAME SUBCOMMAND [ARG...]", 2, -1, cmd_named },
  { "after PATH SECONDS SUBCOMMAND [ARG...]", 3, -1, cmd_after },
  { "storm THREADS COUNT NAME [ARG...]", 3, -1, cmd_storm },
  { "getpid-loop N", 1, 1, cmd_getpid_loop }, { "segv", 0, 0, cmd_segv },
  { "segv-write", 0, 0, cmd_segv_write }, { "ud2", 0, 0, cmd_ud2 },
  { "divzero", 0, 0, cmd_divzero }, { "hlt", 0, 0, cmd_hlt },
  { "wrro", 0, 0, cmd_wrro }, { "exec-nx", 0, 0, cmd_exec_nx },
  { "fork-crash N [abort]", 1, 2, cmd_fork_crash },
  { "crash-storm N [abort]", 1, 2, cmd_crash_storm },
  { "segv-handled N", 1, 1, cmd_segv_handled },
  { "fork-hold N SECS", 2, 2, cmd_fork_hold },
  { "sigbus", 0, 0, cmd_sigbus },
  { "agent SOCKET ERRNO COUNT", 3, 3, cmd_agent },
  { "serve-copy SOCKET FILE", 2, 2, cmd_serve_copy },
  { "hog MB", 1, 1, cmd_hog },
  { "console SOCKET [INPUT]", 1, 2, cmd_console },
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

/* ARGV[1] is a subcommand: run it with the rest.  */
static int
run_command (int argc, char **argv)
{
  for (size_t i = 0; argc >= 2 && i < N_ELEMENTS (commands); i++)
    {
      const struct command *c = &commands[i];
      int nargs = argc - 2;
      size_t len = strcspn (c->name, " ");
      if (strncmp (argv[1], c->name, len) != 0 || argv[1][len] != '\0')
        continue;
      if (nargs < c->min || (c->max >= 0 && nargs > c->max))
        usage ();
      return c->fn (argc - 1, argv + 1);
    }
  usage ();
}


int
main (int argc, char **argv)
{
  g_argc = argc;
  g_argv = argv;
  int rc = run_command (argc, argv);
  /* Lost output (full disk, closed pipe) must not pass as success.  */
  if (fflush (stdout) || ferror (stdout))
    die ("write stdout");
  return rc;
}
