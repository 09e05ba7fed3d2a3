#include "config-host.h"
#include "decode.h"
#include "jbuf.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

struct flagname { unsigned long long v; const char *n; };

static const struct flagname open_flags[] = {
  { 01, "O_WRONLY" }, { 02, "O_RDWR" }, { 0100, "O_CREAT" }, { 0200, "O_EXCL" },
  { 0400, "O_NOCTTY" }, { 01000, "O_TRUNC" }, { 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" },
  { 010000, "O_DSYNC" }, { 020000, "O_ASYNC" }, { 040000, "O_DIRECT" }, { 0200000, "O_DIRECTORY" },
  { 0400000, "O_NOFOLLOW" }, { 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },
  { 04010000, "O_SYNC" }, { 010000000, "O_PATH" }, { 020200000, "O_TMPFILE" }, { 0100000, "O_LARGEFILE" },
};
static const struct flagname clone_flags[] = {
  { 0x100, "CLONE_VM" }, { 0x200, "CLONE_FS" }, { 0x400, "CLONE_FILES" }, { 0x800, "CLONE_SIGHAND" },
  { 0x1000, "CLONE_PIDFD" }, { 0x2000, "CLONE_PTRACE" }, { 0x4000, "CLONE_VFORK" }, { 0x8000, "CLONE_PARENT" },
  { 0x10000, "CLONE_THREAD" }, { 0x20000, "CLONE_NEWNS" }, { 0x40000, "CLONE_SYSVSEM" },
  { 0x80000, "CLONE_SETTLS" }, { 0x100000, "CLONE_PARENT_SETTID" }, { 0x200000, "CLONE_CHILD_CLEARTID" },
  { 0x800000, "CLONE_UNTRACED" }, { 0x1000000, "CLONE_CHILD_SETTID" }, { 0x2000000, "CLONE_NEWCGROUP" },
  { 0x4000000, "CLONE_NEWUTS" }, { 0x8000000, "CLONE_NEWIPC" }, { 0x10000000, "CLONE_NEWUSER" },
  { 0x20000000, "CLONE_NEWPID" }, { 0x40000000, "CLONE_NEWNET" }, { 0x80000000ULL, "CLONE_IO" },
  { 0x80, "CLONE_NEWTIME" },
};
static const struct flagname mount_flags[] = {
  { 1, "MS_RDONLY" }, { 2, "MS_NOSUID" }, { 4, "MS_NODEV" }, { 8, "MS_NOEXEC" }, { 16, "MS_SYNCHRONOUS" },
  { 32, "MS_REMOUNT" }, { 64, "MS_MANDLOCK" }, { 128, "MS_DIRSYNC" }, { 1024, "MS_NOATIME" },
  { 2048, "MS_NODIRATIME" }, { 4096, "MS_BIND" }, { 8192, "MS_MOVE" }, { 16384, "MS_REC" },
  { 32768, "MS_SILENT" }, { 1 << 16, "MS_POSIXACL" }, { 1 << 17, "MS_UNBINDABLE" }, { 1 << 18, "MS_PRIVATE" },
  { 1 << 19, "MS_SLAVE" }, { 1 << 20, "MS_SHARED" }, { 1 << 21, "MS_RELATIME" }, { 1 << 24, "MS_STRICTATIME" },
  { 1 << 25, "MS_LAZYTIME" },
};
static const struct flagname at_flags[] = {
  { 0x100, "AT_SYMLINK_NOFOLLOW" }, { 0x200, "AT_REMOVEDIR" }, { 0x400, "AT_SYMLINK_FOLLOW" },
  { 0x800, "AT_NO_AUTOMOUNT" }, { 0x1000, "AT_EMPTY_PATH" },
};

static const char *const af_names[] = {
  [0] = "AF_UNSPEC", [1] = "AF_UNIX", [2] = "AF_INET", [4] = "AF_IPX", [5] = "AF_APPLETALK",
  [9] = "AF_X25", [10] = "AF_INET6", [15] = "AF_KEY", [16] = "AF_NETLINK", [17] = "AF_PACKET",
  [29] = "AF_CAN", [31] = "AF_BLUETOOTH", [38] = "AF_ALG", [40] = "AF_VSOCK", [44] = "AF_XDP",
};
static const char *const sock_types[] = {
  [1] = "SOCK_STREAM", [2] = "SOCK_DGRAM", [3] = "SOCK_RAW", [4] = "SOCK_RDM", [5] = "SOCK_SEQPACKET",
  [6] = "SOCK_DCCP", [10] = "SOCK_PACKET",
};
static const char *const ptrace_reqs[] = {
  [0] = "PTRACE_TRACEME", [1] = "PTRACE_PEEKTEXT", [2] = "PTRACE_PEEKDATA", [3] = "PTRACE_PEEKUSER",
  [4] = "PTRACE_POKETEXT", [5] = "PTRACE_POKEDATA", [6] = "PTRACE_POKEUSER", [7] = "PTRACE_CONT",
  [8] = "PTRACE_KILL", [9] = "PTRACE_SINGLESTEP", [12] = "PTRACE_GETREGS", [13] = "PTRACE_SETREGS",
  [16] = "PTRACE_ATTACH", [17] = "PTRACE_DETACH", [24] = "PTRACE_SYSCALL",
};
static const char *const prctl_opts[] = {
  [1] = "PR_SET_PDEATHSIG", [3] = "PR_GET_DUMPABLE", [4] = "PR_SET_DUMPABLE", [8] = "PR_SET_KEEPCAPS",
  [15] = "PR_SET_NAME", [16] = "PR_GET_NAME", [22] = "PR_SET_SECCOMP", [23] = "PR_CAPBSET_READ",
  [24] = "PR_CAPBSET_DROP", [36] = "PR_SET_CHILD_SUBREAPER", [38] = "PR_SET_NO_NEW_PRIVS",
  [39] = "PR_GET_NO_NEW_PRIVS", [47] = "PR_CAP_AMBIENT",
};

static void
put_flags (struct jbuf *j, const char *key, unsigned long long v, const struct flagname *t, size_t n,
           const char *zero)
{
  char buf[512] = "";
  unsigned long long rest = v;
  /* Multi-bit names first (O_SYNC, O_TMPFILE contain other bits). */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++)
      {
        bool multi = __builtin_popcountll (t[i].v) > 1;
        if ((pass == 0) != multi || (rest & t[i].v) != t[i].v || t[i].v == 0)
          continue;
        if (*buf)
          strncat (buf, "|", sizeof buf - strlen (buf) - 1);
        strncat (buf, t[i].n, sizeof buf - strlen (buf) - 1);
        rest &= ~t[i].v;
      }
  if (rest || !*buf)
    {
      char num[32];
      if (!rest && zero)
        snprintf (num, sizeof num, "%s", zero);
      else
        snprintf (num, sizeof num, "0x%llx", rest);
      if (*buf)
        strncat (buf, "|", sizeof buf - strlen (buf) - 1);
      strncat (buf, num, sizeof buf - strlen (buf) - 1);
    }
  jb_str (j, key, buf);
}

static void
put_enum (struct jbuf *j, const char *key, unsigned long long v, const char *const *t, size_t n)
{
  if (v < n && t[v])
    jb_str (j, key, t[v]);
  else
    jb_int (j, key, (long long) v);
}

/* Strings read already (by the BPF probe, at the call), for a caller
 * that may be gone by the time its record is written. */
static __thread const struct decode_preread *preread;
static __thread size_t n_preread;

void
decode_set_preread (const struct decode_preread *p, size_t n)
{
  preread = p;
  n_preread = n;
}

/* Read a NUL-terminated string (at most CAP - 1 bytes) from another
 * process into BUF, page by page (a string may end just before an
 * unmapped page). Its length, or -1: unreadable, or no NUL within CAP. */
ssize_t
read_string (pid_t pid, uint64_t addr, char *buf, size_t cap)
{
  size_t got = 0;
  while (pid > 0 && got < cap - 1)
    {
      size_t page_left = 4096 - ((addr + got) & 4095);
      size_t want = page_left < cap - 1 - got ? page_left : cap - 1 - got;
      struct iovec local = { buf + got, want };
      struct iovec remote = { (void *) (uintptr_t) (addr + got), want };
      ssize_t r = process_vm_readv (pid, &local, 1, &remote, 1, 0);
      if (r <= 0)
        break;
      void *nul = memchr (buf + got, '\0', (size_t) r);
      got += (size_t) r;
      if (nul)
        return (char *) nul - buf;
    }
  return -1;
}

static void
put_path (struct jbuf *j, const char *key, uint64_t addr, pid_t pid)
{
  if (addr == 0)
    {
      jb_raw (j, key, "null");
      return;
    }
  for (size_t i = 0; i < n_preread; i++)
    if (preread[i].addr == addr && preread[i].s)
      {
        jb_str (j, key, preread[i].s);
        return;
      }
  char buf[STRING_MAX];
  ssize_t got = read_string (pid, addr, buf, sizeof buf);
  if (got >= 0)
    {
      jb_strn (j, key, buf, (size_t) got);
      return;
    }
  char hex[32];
  snprintf (hex, sizeof hex, "0x%llx", (unsigned long long) addr);
  jb_str (j, key, hex);   /* unreadable (or no NUL in 4 KiB): the address */
}

static void
put_hex (struct jbuf *j, const char *key, uint64_t v)
{
  jb_hex (j, key, v);
}

static void
put_fd (struct jbuf *j, const char *key, uint64_t v)
{
  if ((int) v == -100)
    jb_str (j, key, "AT_FDCWD");
  else
    jb_int (j, key, (int) v);
}

static void
put_mode (struct jbuf *j, const char *key, uint64_t v)
{
  char b[16];
  snprintf (b, sizeof b, "0%o", (unsigned) (v & 07777));
  jb_str (j, key, b);
}

/* The index of NAME in a table put_enum writes from, -1 if absent. */
static int
enum_value (const char *const *t, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (t[i] && strcmp (t[i], name) == 0)
      return (int) i;
  return -1;
}

int
supervisor_af_value (const char *name)
{
  return enum_value (af_names, ARRAY_SIZE (af_names), name);
}

int
supervisor_prctl_value (const char *name)
{
  return enum_value (prctl_opts, ARRAY_SIZE (prctl_opts), name);
}

int
supervisor_clone_flags_value (const char *text, unsigned long long *out)
{
  unsigned long long v = 0;
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;
  for (char *f = strtok_r (copy, "|", &save); f; f = strtok_r (NULL, "|", &save))
    {
      bool found = false;
      for (size_t i = 0; i < ARRAY_SIZE (clone_flags) && !found; i++)
        if (strcmp (clone_flags[i].n, f) == 0)
          {
            v |= clone_flags[i].v;
            found = true;
          }
      if (found)
        continue;
      char *end = NULL;
      errno = 0;
      unsigned long long n = strtoull (f, &end, 0);
      if (errno || end == f || *end)
        return -1;   /* not a record moat wrote */
      v |= n;
    }
  *out = v;
  return 0;
}

/* name: "arg:type,..." with types path fd int mode oflags at clone ms af st
 * ptrace prctl sig hex. */
static const struct { const char *name, *spec; } arg_specs[] = {
  { "open", "pathname:path,flags:oflags,mode:mode" },
  { "openat", "dirfd:fd,pathname:path,flags:oflags,mode:mode" },
  { "openat2", "dirfd:fd,pathname:path,how:hex" },
  { "creat", "pathname:path,mode:mode" },
  { "mkdir", "pathname:path,mode:mode" },
  { "mkdirat", "dirfd:fd,pathname:path,mode:mode" },
  { "rmdir", "pathname:path" },
  { "unlink", "pathname:path" },
  { "unlinkat", "dirfd:fd,pathname:path,flags:at" },
  { "rename", "oldpath:path,newpath:path" },
  { "renameat", "olddirfd:fd,oldpath:path,newdirfd:fd,newpath:path" },
  { "renameat2", "olddirfd:fd,oldpath:path,newdirfd:fd,newpath:path,flags:hex" },
  { "link", "oldpath:path,newpath:path" },
  { "linkat", "olddirfd:fd,oldpath:path,newdirfd:fd,newpath:path,flags:at" },
  { "symlink", "target:path,linkpath:path" },
  { "symlinkat", "target:path,newdirfd:fd,linkpath:path" },
  { "chdir", "path:path" }, { "chroot", "path:path" },
  { "chmod", "pathname:path,mode:mode" },
  { "fchmodat", "dirfd:fd,pathname:path,mode:mode" },
  { "chown", "pathname:path,owner:int,group:int" }, { "lchown", "pathname:path,owner:int,group:int" },
  { "fchownat", "dirfd:fd,pathname:path,owner:int,group:int,flags:at" },
  { "mknod", "pathname:path,mode:mode,dev:hex" },
  { "mknodat", "dirfd:fd,pathname:path,mode:mode,dev:hex" },
  { "access", "pathname:path,mode:int" }, { "faccessat", "dirfd:fd,pathname:path,mode:int" },
  { "faccessat2", "dirfd:fd,pathname:path,mode:int,flags:at" },
  { "stat", "pathname:path" }, { "lstat", "pathname:path" },
  { "newfstatat", "dirfd:fd,pathname:path,statbuf:hex,flags:at" },
  { "statx", "dirfd:fd,pathname:path,flags:at,mask:hex" },
  { "readlink", "pathname:path" }, { "readlinkat", "dirfd:fd,pathname:path" },
  { "truncate", "path:path,length:int" },
  { "execve", "pathname:path" }, { "execveat", "dirfd:fd,pathname:path,argv:hex,envp:hex,flags:at" },
  { "mount", "source:path,target:path,filesystemtype:path,mountflags:ms,data:hex" },
  { "umount2", "target:path,flags:hex" },
  { "pivot_root", "new_root:path,put_old:path" },
  { "swapon", "path:path,swapflags:hex" }, { "swapoff", "path:path" },
  { "acct", "filename:path" },
  { "sethostname", "name:path,len:int" }, { "setdomainname", "name:path,len:int" },
  { "socket", "domain:af,type:st,protocol:int" },
  { "socketpair", "domain:af,type:st,protocol:int" },
  { "clone", "flags:clone" },
  { "unshare", "flags:clone" },
  { "setns", "fd:fd,nstype:clone" },
  { "ptrace", "request:ptrace,pid:int,addr:hex,data:hex" },
  { "prctl", "option:prctl,arg2:hex,arg3:hex,arg4:hex,arg5:hex" },
  { "kill", "pid:int,sig:sig" }, { "tkill", "tid:int,sig:sig" }, { "tgkill", "tgid:int,tid:int,sig:sig" },
  { "personality", "persona:hex" },
  { "reboot", "magic:hex,magic2:hex,cmd:hex,arg:hex" },
  { "setuid", "uid:int" }, { "setgid", "gid:int" }, { "setresuid", "ruid:int,euid:int,suid:int" },
  { "setresgid", "rgid:int,egid:int,sgid:int" },
  { "init_module", "module_image:hex,len:int,param_values:path" },
  { "finit_module", "fd:fd,param_values:path,flags:hex" },
  { "delete_module", "name:path,flags:hex" },
  { "kexec_load", "entry:hex,nr_segments:int,segments:hex,flags:hex" },
  { "iopl", "level:int" }, { "ioperm", "from:hex,num:int,turn_on:int" },
  { "bpf", "cmd:int,attr:hex,size:int" },
  { "perf_event_open", "attr:hex,pid:int,cpu:int,group_fd:fd,flags:hex" },
  { "keyctl", "operation:int,arg2:hex,arg3:hex,arg4:hex,arg5:hex" },
  { "add_key", "type:path,description:path,payload:hex,plen:int,keyring:int" },
  { "request_key", "type:path,description:path,callout_info:hex,dest_keyring:int" },
  { "ioctl", "fd:fd,request:hex,arg:hex" },
  { "settimeofday", "tv:hex,tz:hex" }, { "clock_settime", "clockid:int,tp:hex" },
  { "write", "fd:fd,buf:hex,count:int" }, { "read", "fd:fd,buf:hex,count:int" },
  { "close", "fd:fd" },
  { "process_vm_readv", "pid:int,local_iov:hex,liovcnt:int,remote_iov:hex,riovcnt:int,flags:hex" },
  { "userfaultfd", "flags:oflags" },
  { "quotactl", "cmd:hex,special:path,id:int,addr:hex" },
  { "name_to_handle_at", "dirfd:fd,pathname:path,handle:hex,mount_id:hex,flags:at" },
  { "open_by_handle_at", "mount_fd:fd,handle:hex,flags:oflags" },
};

/* The argument spec of a syscall, NULL for one of unknown shape. A table
 * scan: the supervisor looks it up once per syscall number (name_cache). */
const char *
arg_spec_lookup (const char *name)
{
  for (size_t i = 0; name && i < ARRAY_SIZE (arg_specs); i++)
    if (strcmp (arg_specs[i].name, name) == 0)
      return arg_specs[i].spec;
  return NULL;
}

bool
decode_syscall_args (struct jbuf *j, const char *name, const uint64_t args[6], pid_t mem_pid)
{
  return decode_args_spec (j, arg_spec_lookup (name), args, mem_pid);
}

bool
decode_args_spec (struct jbuf *j, const char *spec, const uint64_t args[6], pid_t mem_pid)
{
  bool read_memory = false;
  jb_obj_open (j, "args");
  if (spec == NULL)
    {
      /* Unknown shape: the six raw registers. */
      static const char *const raw[] = { "arg0", "arg1", "arg2", "arg3", "arg4", "arg5" };
      for (int i = 0; i < 6; i++)
        put_hex (j, raw[i], args[i]);
      jb_obj_close (j);
      return false;
    }
  char copy[256];
  snprintf (copy, sizeof copy, "%s", spec);
  char *save = NULL;
  int i = 0;
  for (char *f = strtok_r (copy, ",", &save); f && i < 6; f = strtok_r (NULL, ",", &save), i++)
    {
      char *type = strchr (f, ':');
      *type++ = '\0';
      uint64_t v = args[i];
      if (strcmp (type, "path") == 0)
        {
          put_path (j, f, v, mem_pid);
          read_memory = true;
        }
      else if (strcmp (type, "fd") == 0)
        put_fd (j, f, v);
      else if (strcmp (type, "int") == 0)
        jb_int (j, f, (long long) (int64_t) v);
      else if (strcmp (type, "mode") == 0)
        put_mode (j, f, v);
      else if (strcmp (type, "oflags") == 0)
        put_flags (j, f, v, open_flags, ARRAY_SIZE (open_flags), "O_RDONLY");
      else if (strcmp (type, "at") == 0)
        put_flags (j, f, v, at_flags, ARRAY_SIZE (at_flags), "0");
      else if (strcmp (type, "clone") == 0)
        put_flags (j, f, v, clone_flags, ARRAY_SIZE (clone_flags), "0");
      else if (strcmp (type, "ms") == 0)
        put_flags (j, f, v, mount_flags, ARRAY_SIZE (mount_flags), "0");
      else if (strcmp (type, "af") == 0)
        put_enum (j, f, v, af_names, ARRAY_SIZE (af_names));
      else if (strcmp (type, "st") == 0)
        {
          char b[96];
          unsigned t = (unsigned) v & 0xf;
          snprintf (b, sizeof b, "%s%s%s", t < ARRAY_SIZE (sock_types) && sock_types[t] ? sock_types[t] : "?",
                    (v & 04000) ? "|SOCK_NONBLOCK" : "", (v & 02000000) ? "|SOCK_CLOEXEC" : "");
          jb_str (j, f, b);
        }
      else if (strcmp (type, "ptrace") == 0)
        put_enum (j, f, v, ptrace_reqs, ARRAY_SIZE (ptrace_reqs));
      else if (strcmp (type, "prctl") == 0)
        put_enum (j, f, v, prctl_opts, ARRAY_SIZE (prctl_opts));
      else if (strcmp (type, "sig") == 0)
        {
          const char *s = (v > 0 && v < 32) ? sigabbrev_np ((int) v) : NULL;
          char b[16];
          if (s)
            snprintf (b, sizeof b, "SIG%s", s);
          else
            snprintf (b, sizeof b, "%d", (int) v);
          jb_str (j, f, b);
        }
      else
        put_hex (j, f, v);
    }
  jb_obj_close (j);
  return read_memory;
}
