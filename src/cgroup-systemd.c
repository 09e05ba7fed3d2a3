#include "config-host.h"
#include "cgroup-systemd.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOAT_PKGLIBEXECDIR
#define MOAT_PKGLIBEXECDIR "/usr/local/libexec/moat"
#endif

/* How long systemd may take to start or stop a scope (its job). runc
 * waits 30 s too; a scope's job is quick unless systemd is stuck. */
#define SD_JOB_TIMEOUT_MS 30000

#define NEEDS "--systemd-cgroup: needs moat-sd (built with libsystemd-dev) and a running systemd"

static bool
executable (const char *p)
{
  struct stat st;
  return stat (p, &st) == 0 && S_ISREG (st.st_mode) && access (p, X_OK) == 0;
}

/* moat-sd beside the running moat binary, or NULL (not there, or moat
 * runs from its sealed memfd copy, whose name says nothing). */
static char *
beside_self (void)
{
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 16);
  if (n <= 0 || self[0] != '/')
    return NULL;
  self[n] = '\0';
  strcpy (strrchr (self, '/') + 1, "moat-sd");
  return executable (self) ? xstrdup (self) : NULL;
}

void
sdcg_note_self (void)
{
  cleanup_free char *p = getenv ("MOAT_SD") ? NULL : beside_self ();
  if (p)
    setenv ("MOAT_SD", p, 0);
}

char *
sdcg_helper (void)
{
  const char *env = getenv ("MOAT_SD");
  if (env && *env)
    return executable (env) ? xstrdup (env) : NULL;
  char *p = beside_self ();
  if (p)
    return p;
  const char *installed = MOAT_PKGLIBEXECDIR "/moat-sd";
  return executable (installed) ? xstrdup (installed) : NULL;
}

bool
sdcg_systemd_running (void)
{
  /* sd_booted()'s test: systemd makes this directory early at boot. */
  struct stat st;
  return lstat ("/run/systemd/system", &st) == 0 && S_ISDIR (st.st_mode);
}

void
sdcg_unit_free (struct sdcg_unit *u)
{
  free (u->slice);
  free (u->unit);
  free (u->cgroup_path);
  memset (u, 0, sizeof *u);
}

/* A slice's cgroup path, runc's ExpandSlice: "a-b.slice" is
 * /a.slice/a-b.slice, "-.slice" the root. NULL when malformed. */
static char *
slice_path (const char *slice)
{
  size_t n = strlen (slice);
  if (n <= 6 || strcmp (slice + n - 6, ".slice") != 0 || strchr (slice, '/'))
    return NULL;
  if (strcmp (slice, "-.slice") == 0)
    return xstrdup ("");
  cleanup_free char *base = strndup (slice, n - 6);
  size_t cap = 2 * n * n + 16;
  char *out = xmalloc0 (cap);
  size_t len = 0;
  for (const char *c = base; ; )
    {
      const char *dash = strchr (c, '-');
      size_t cl = dash ? (size_t) (dash - c) : strlen (c);
      if (cl == 0)
        {
          free (out);
          return NULL;   /* "a--b", "-a", "a-" */
        }
      size_t pl = (size_t) (c - base) + cl;   /* the prefix up to this component */
      len += (size_t) snprintf (out + len, cap - len, "/%.*s.slice", (int) pl, base);
      if (!dash)
        break;
      c = dash + 1;
    }
  return out;
}

/* What systemd takes in a unit name (unit_name_is_valid's characters). */
static bool
unit_chars_ok (const char *s)
{
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || strchr (":-_.\\", *s)))
      return false;
  return true;
}

int
sdcg_check (moat_error **err)
{
  if (geteuid () != 0)
    return moat_error_set (err, 0, "--systemd-cgroup: rootless containers would need the user's systemd "
                           "(not supported; use cgroupfs)");
  cleanup_free char *helper = sdcg_helper ();
  if (helper == NULL || !sdcg_systemd_running ())
    return moat_error_set (err, 0, NEEDS " (%s)",
                           helper == NULL ? "moat-sd not found: $MOAT_SD, beside moat, or " MOAT_PKGLIBEXECDIR
                                          : "systemd is not running on this host");
  if (cgroup_detect_layout () != CGROUP_V2)
    return moat_error_set (err, 0, "--systemd-cgroup: needs the unified cgroup hierarchy (cgroup v2); this host "
                           "is %s", cgroup_layout_name (cgroup_detect_layout ()));
  return 0;
}

int
sdcg_prepare (const char *cgroups_path, const char *id, struct sdcg_unit *u, moat_error **err)
{
  memset (u, 0, sizeof *u);
  cleanup_free char *slice = NULL, *prefix = NULL, *name = NULL;
  if (cgroups_path == NULL || *cgroups_path == '\0')
    {
      slice = xstrdup ("system.slice");
      prefix = xstrdup ("moat");
      name = xstrdup (id);
    }
  else
    {
      const char *a = strchr (cgroups_path, ':'), *b = a ? strchr (a + 1, ':') : NULL;
      if (a == NULL || b == NULL || strchr (b + 1, ':'))
        {
          cleanup_free char *shown = str_printable (cgroups_path);
          return moat_error_set (err, 0, "linux.cgroupsPath: `%s` is not slice:prefix:name (as --systemd-cgroup "
                                 "needs)", shown);
        }
      slice = strndup (cgroups_path, (size_t) (a - cgroups_path));
      prefix = strndup (a + 1, (size_t) (b - a - 1));
      name = xstrdup (b + 1);
      if (*slice == '\0')
        {
          free (slice);
          slice = xstrdup ("system.slice");   /* runc's default for root */
        }
    }
  cleanup_free char *shown = str_printable (cgroups_path ? cgroups_path : "");
  cleanup_free char *spath = slice_path (slice);
  if (spath == NULL || !unit_chars_ok (slice))
    return moat_error_set (err, 0, "linux.cgroupsPath: `%s`: `%s` is not a slice name (NAME.slice, dashes "
                           "between non-empty parts)", shown, slice);
  if (*name == '\0')
    return moat_error_set (err, 0, "linux.cgroupsPath: `%s`: the name is empty", shown);
  size_t nl = strlen (name);
  if (nl > 6 && strcmp (name + nl - 6, ".slice") == 0)
    return moat_error_set (err, 0, "linux.cgroupsPath: `%s`: a name ending in .slice (a slice unit of the "
                           "container's own) is not supported; moat makes scopes", shown);
  char *unit = *prefix ? xasprintf ("%s-%s.scope", prefix, name) : xasprintf ("%s.scope", name);
  if (!unit_chars_ok (unit) || strlen (unit) > 255)
    {
      cleanup_free char *su = str_printable (unit);
      free (unit);
      return moat_error_set (err, 0, "linux.cgroupsPath: `%s`: `%s` is not a valid systemd unit name (letters, "
                             "digits, `:-_.\\`, at most 255 bytes)", shown, su);
    }
  u->unit = unit;
  u->slice = steal_pointer (&slice);
  u->cgroup_path = xasprintf ("%s/%s", spath, unit);
  return 0;
}

/* ---- properties -------------------------------------------------------- */

static void
push (char ***v, size_t *n, char *s)
{
  *v = xrealloc (*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* "0-3,5" as a little-endian bitmask in hex (systemd's AllowedCPUs "ay":
 * bit J of byte I is CPU 8I+J), or NULL when malformed. */
static char *
list_to_mask (const char *list)
{
  unsigned char bits[512] = { 0 };
  size_t top = 0;
  for (const char *s = list; *s;)
    {
      while (*s == ' ' || *s == '\n')
        s++;
      if (*s == '\0')
        break;
      char *end;
      unsigned long a = strtoul (s, &end, 10), b = a;
      if (end == s)
        return NULL;
      if (*end == '-')
        {
          const char *t = end + 1;
          b = strtoul (t, &end, 10);
          if (end == t || b < a)
            return NULL;
        }
      if (b >= sizeof bits * 8)
        return NULL;
      for (unsigned long i = a; i <= b; i++)
        bits[i / 8] |= (unsigned char) (1u << (i % 8));
      if (b / 8 + 1 > top)
        top = b / 8 + 1;
      s = end;
      while (*s == ' ' || *s == '\n')
        s++;
      if (*s == ',')
        s++;
      else if (*s)
        return NULL;
    }
  if (top == 0)
    return NULL;
  char *hex = xmalloc0 (top * 2 + 1);
  for (size_t i = 0; i < top; i++)
    sprintf (hex + 2 * i, "%02x", bits[i]);
  return hex;
}

/* A number of a unified (raw v2) value: "max" is infinity. */
static bool
unified_num (const char *v, uint64_t *out)
{
  if (strcmp (v, "max") == 0 || strcmp (v, "max\n") == 0)
    {
      *out = UINT64_MAX;
      return true;
    }
  char *end;
  errno = 0;
  unsigned long long x = strtoull (v, &end, 10);
  if (end == v || (*end && *end != '\n') || errno || v[0] == '-')
    return false;
  *out = x;
  return true;
}

/* An org.systemd.property.* annotation's value, runc's GVariant text, as
 * a moat-sd property. Supported: 'string' or "string", true/false, and
 * integers ("uint64 5", "@t 5", int64/@x, uint32/@u, int32/@i; a bare
 * integer is taken as uint64, the type of nearly every systemd number).
 * A NAME ending in "Sec" (not "USec") with a number is seconds, sent as
 * NAMEUSec in microseconds (runc does the same). Arrays, dictionaries,
 * tuples, doubles and byte strings are not supported. */
static int
annotation_prop (const char *key, const char *name, const char *v, char **out, moat_error **err)
{
  cleanup_free char *shown = str_printable (v);
  if (*name == '\0' || !unit_chars_ok (name) || strchr (name, '.') || strchr (name, ':'))
    return moat_error_set (err, 0, "annotations.%s: `%s` is not a systemd property name", key, name);
  if (strcmp (name, "PIDs") == 0 || strcmp (name, "Slice") == 0)
    return moat_error_set (err, 0, "annotations.%s: %s is moat's to set", key, name);
  while (*v == ' ')
    v++;
  size_t n = strlen (v);
  while (n && v[n - 1] == ' ')
    n--;
  if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0])
    {
      /* A string: GVariant's escapes \\ \' \" \n \t. */
      cleanup_free char *s = xmalloc0 (n);
      size_t k = 0;
      for (size_t i = 1; i + 1 < n; i++)
        {
          char c = v[i];
          if (c == '\\' && i + 2 < n)
            {
              c = v[++i];
              c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            }
          else if (c == v[0])
            return moat_error_set (err, 0, "annotations.%s: `%s`: a quote inside the string is not escaped", key,
                                   shown);
          s[k++] = c;
        }
      *out = xasprintf ("%s=s:%s", name, s);
      return 0;
    }
  cleanup_free char *t = strndup (v, n);
  if (strcmp (t, "true") == 0 || strcmp (t, "false") == 0)
    {
      *out = xasprintf ("%s=b:%d", name, t[0] == 't');
      return 0;
    }
  static const struct { const char *word, *type; } kinds[] = {
    { "uint64 ", "t" }, { "@t ", "t" }, { "int64 ", "x" }, { "@x ", "x" },
    { "uint32 ", "u" }, { "@u ", "u" }, { "int32 ", "i" }, { "@i ", "i" },
  };
  const char *type = "t", *num = t;
  for (size_t i = 0; i < ARRAY_SIZE (kinds); i++)
    if (strncmp (t, kinds[i].word, strlen (kinds[i].word)) == 0)
      {
        type = kinds[i].type;
        num = t + strlen (kinds[i].word);
        while (*num == ' ')
          num++;
      }
  char *end;
  errno = 0;
  bool neg = num[0] == '-';
  long long sx = neg ? strtoll (num, &end, 10) : 0;
  unsigned long long ux = neg ? 0 : strtoull (num, &end, 10);
  bool is_num = (num[0] == '-' || (num[0] >= '0' && num[0] <= '9')) && end != num && *end == '\0' && !errno;
  if (!is_num || (neg && (type[0] == 't' || type[0] == 'u')))
    return moat_error_set (err, 0, "annotations.%s: `%s` is not supported (moat takes strings 'text', booleans "
                           "true/false and integers: 5, uint64 5, @t 5, int64/uint32/int32; not arrays, "
                           "dictionaries, tuples, doubles or byte strings)", key, shown);
  size_t nl = strlen (name);
  if (nl > 3 && strcmp (name + nl - 3, "Sec") == 0 && (nl < 4 || strcmp (name + nl - 4, "USec") != 0))
    {
      if (neg)
        return moat_error_set (err, 0, "annotations.%s: `%s`: seconds must not be negative", key, shown);
      if (ux > UINT64_MAX / 1000000)
        return moat_error_set (err, 0, "annotations.%s: `%s`: too many seconds", key, shown);
      *out = xasprintf ("%.*sUSec=t:%llu", (int) (nl - 3), name, ux * 1000000ULL);
      return 0;
    }
  *out = neg ? xasprintf ("%s=%s:%lld", name, type, sx) : xasprintf ("%s=%s:%llu", name, type, ux);
  return 0;
}

int
sdcg_properties (const struct cg_resources *r, bool start, char *const *ann_keys, char *const *ann_values,
                 size_t n_ann, char ***out, moat_error **err)
{
  char **v = xmalloc0 (sizeof *v);
  size_t n = 0;
  if (start)
    {
      push (&v, &n, xstrdup ("Delegate=b:1"));
      push (&v, &n, xstrdup ("DefaultDependencies=b:0"));
      /* As runc: accounting on, so systemd enables the controllers above the
       * scope (Delegate=yes also does) and reports the use. */
      push (&v, &n, xstrdup ("MemoryAccounting=b:1"));
      push (&v, &n, xstrdup ("CPUAccounting=b:1"));
      push (&v, &n, xstrdup ("IOAccounting=b:1"));
      push (&v, &n, xstrdup ("TasksAccounting=b:1"));
    }
  if (r)
    {
      if (r->has_mem_limit && r->mem_limit != 0)
        push (&v, &n, xasprintf ("MemoryMax=t:%" PRIu64, r->mem_limit < 0 ? UINT64_MAX : (uint64_t) r->mem_limit));
      if (r->has_mem_reservation && r->mem_reservation != 0)
        push (&v, &n, xasprintf ("MemoryLow=t:%" PRIu64,
                                 r->mem_reservation < 0 ? UINT64_MAX : (uint64_t) r->mem_reservation));
      if (r->has_mem_swap)
        {
          /* v1's swap is memory+swap, systemd's MemorySwapMax swap alone
           * (the v2 writer converts the same way and refuses what is odd). */
          long long sw = r->mem_swap < 0 ? -1
                         : (r->has_mem_limit && r->mem_limit >= 0 ? r->mem_swap - r->mem_limit : r->mem_swap);
          if (sw < 0 && r->mem_swap < 0)
            push (&v, &n, xasprintf ("MemorySwapMax=t:%" PRIu64, UINT64_MAX));
          else if (sw >= 0)
            push (&v, &n, xasprintf ("MemorySwapMax=t:%lld", sw));
        }
      if (r->has_shares && r->shares)
        push (&v, &n, xasprintf ("CPUWeight=t:%" PRIu64, cgroup_shares_to_weight (r->shares)));
      uint64_t period = r->has_period ? r->period : 0;
      int64_t quota = r->has_quota ? r->quota : 0;
      if (period)
        push (&v, &n, xasprintf ("CPUQuotaPeriodUSec=t:%" PRIu64, period));
      if (quota != 0 || period != 0)
        {
          /* runc's: systemd keeps CPUQuota in whole percents, so round up
           * to 10 ms a second; the exact quota is written to cpu.max. */
          uint64_t per_sec = UINT64_MAX;
          if (quota > 0)
            {
              uint64_t p = period ? period : 100000;
              per_sec = (uint64_t) quota * 1000000 / p;
              if (per_sec % 10000)
                per_sec = (per_sec / 10000 + 1) * 10000;
            }
          push (&v, &n, xasprintf ("CPUQuotaPerSecUSec=t:%" PRIu64, per_sec));
        }
      /* 0 is a limit (spec 1.3), put on once the init is in (container.c). */
      if (r->has_pids && r->pids_limit != 0)
        push (&v, &n, xasprintf ("TasksMax=t:%" PRIu64, r->pids_limit < 0 ? UINT64_MAX : (uint64_t) r->pids_limit));
      if (r->cpus && *r->cpus)
        {
          cleanup_free char *m = list_to_mask (r->cpus);
          if (m == NULL)
            {
              strv_free (v);
              cleanup_free char *shown = str_printable (r->cpus);
              return moat_error_set (err, 0, "linux.resources.cpu.cpus: `%s` is not a CPU list", shown);
            }
          push (&v, &n, xasprintf ("AllowedCPUs=ay:%s", m));
        }
      if (r->mems && *r->mems)
        {
          cleanup_free char *m = list_to_mask (r->mems);
          if (m == NULL)
            {
              strv_free (v);
              cleanup_free char *shown = str_printable (r->mems);
              return moat_error_set (err, 0, "linux.resources.cpu.mems: `%s` is not a node list", shown);
            }
          push (&v, &n, xasprintf ("AllowedMemoryNodes=ay:%s", m));
        }
      if (r->has_blkio_weight && r->blkio_weight)
        {
          /* The v2 writer's (runc's) conversion of [10, 1000] to [1, 10000]. */
          uint64_t w = r->blkio_weight < 10 ? 10 : r->blkio_weight > 1000 ? 1000 : r->blkio_weight;
          push (&v, &n, xasprintf ("IOWeight=t:%" PRIu64, 1 + (w - 10) * 9999 / 990));
        }
      /* The unified keys systemd has properties for (runc's list). */
      static const struct { const char *file, *prop; } uni[] = {
        { "memory.max", "MemoryMax" }, { "memory.high", "MemoryHigh" }, { "memory.low", "MemoryLow" },
        { "memory.min", "MemoryMin" }, { "memory.swap.max", "MemorySwapMax" }, { "pids.max", "TasksMax" },
        { "cpu.weight", "CPUWeight" },
      };
      for (size_t i = 0; i < r->n_unified; i++)
        for (size_t j = 0; j < ARRAY_SIZE (uni); j++)
          {
            uint64_t x;
            if (strcmp (r->unified_keys[i], uni[j].file) == 0 && unified_num (r->unified_values[i], &x))
              push (&v, &n, xasprintf ("%s=t:%" PRIu64, uni[j].prop, x));
          }
    }
  static const char pfx[] = "org.systemd.property.";
  for (size_t i = 0; i < n_ann; i++)
    {
      if (strncmp (ann_keys[i], pfx, sizeof pfx - 1) != 0)
        continue;
      char *p = NULL;
      if (annotation_prop (ann_keys[i], ann_keys[i] + sizeof pfx - 1, ann_values[i], &p, err) < 0)
        {
          strv_free (v);
          return -1;
        }
      push (&v, &n, p);
    }
  *out = v;
  return 0;
}

/* ---- running moat-sd --------------------------------------------------- */

/* Run moat-sd with ARGV (after its name); its stdout (the first line)
 * into *OUT when asked. A failure is an error with moat-sd's own line;
 * -2 when it could not reach systemd (it sent nothing). */
static int
run_helper (const char *what, char *const *args, char **out, moat_error **err)
{
  cleanup_free char *helper = sdcg_helper ();
  if (helper == NULL)
    return moat_error_set (err, 0, NEEDS " (moat-sd not found)");
  size_t na = strv_len (args);
  cleanup_free char **argv = xmalloc0 ((na + 2) * sizeof *argv);
  argv[0] = helper;
  for (size_t i = 0; i < na; i++)
    argv[i + 1] = args[i];
  int po[2], pe[2];
  if (pipe2 (po, O_CLOEXEC) < 0)
    return moat_error_set (err, errno, "pipe");
  if (pipe2 (pe, O_CLOEXEC) < 0)
    {
      close (po[0]);
      close (po[1]);
      return moat_error_set (err, errno, "pipe");
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (po[1], 1) < 0 || dup2 (pe[1], 2) < 0)
        _exit (126);
      /* Nothing of moat's (the state lock, the sync socket) in the helper. */
      syscall (SYS_close_range, 3U, ~0U, 0U);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (argv[0], argv);
      _exit (127);
    }
  int e = errno;
  close (po[1]);
  close (pe[1]);
  cleanup_close int ofd = po[0], efd = pe[0];
  if (pid < 0)
    return moat_error_set (err, e, "fork moat-sd");
  /* Both pipes read together: neither may fill while the other is read. */
  char obuf[1024] = "", ebuf[1024] = "";
  size_t on = 0, en = 0;
  struct pollfd pf[2] = { { .fd = ofd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
  int open_fds = 2;
  while (open_fds > 0)
    {
      if (poll (pf, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (int i = 0; i < 2; i++)
        {
          if (pf[i].fd < 0 || !pf[i].revents)
            continue;
          char *buf = i == 0 ? obuf : ebuf;
          size_t *len = i == 0 ? &on : &en;
          char tmp[512];
          ssize_t r = read (pf[i].fd, tmp, sizeof tmp);
          if (r <= 0)
            {
              pf[i].fd = -1;
              open_fds--;
              continue;
            }
          size_t take = (size_t) r < sizeof obuf - 1 - *len ? (size_t) r : sizeof obuf - 1 - *len;
          memcpy (buf + *len, tmp, take);
          *len += take;
          buf[*len] = '\0';
        }
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error_set (err, errno, "wait for moat-sd");
  obuf[strcspn (obuf, "\n")] = '\0';
  ebuf[strcspn (ebuf, "\n")] = '\0';
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    {
      if (out)
        *out = xstrdup (obuf);
      return 0;
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return moat_error_set (err, 0, NEEDS " (%s could not be run: missing libsystemd?)", helper);
  cleanup_free char *shown = str_printable (ebuf);
  moat_error_set (err, 0, "--systemd-cgroup: %s: %s", what, *shown ? shown : "moat-sd failed");
  return WIFEXITED (status) && WEXITSTATUS (status) == 3 ? -2 : -1;
}

/* Is PID in CGPATH (its /proc/PID/cgroup "0::" line)? */
static int
check_placed (pid_t pid, const char *cgpath, moat_error **err)
{
  char f[64];
  snprintf (f, sizeof f, "/proc/%d/cgroup", (int) pid);
  cleanup_free char *text = NULL;
  if (read_file (f, &text, NULL, err) < 0)
    return -1;
  for (char *line = text; line && *line;)
    {
      char *nl = strchr (line, '\n');
      if (nl)
        *nl = '\0';
      if (strncmp (line, "0::", 3) == 0)
        {
          if (strcmp (line + 3, cgpath) == 0)
            return 0;
          cleanup_free char *shown = str_printable (line + 3);
          return moat_error_set (err, 0, "--systemd-cgroup: the init %d is in `%s`, not in its scope's `%s`",
                                 (int) pid, shown, cgpath);
        }
      line = nl ? nl + 1 : NULL;
    }
  return moat_error_set (err, 0, "--systemd-cgroup: %s names no cgroup v2 of the init", f);
}

int
sdcg_start (const struct sdcg_unit *u, const char *id, pid_t pid, char *const *props, moat_error **err)
{
  char **args = NULL;
  size_t n = 0;
  push (&args, &n, xstrdup ("start"));
  push (&args, &n, xstrdup (u->unit));
  push (&args, &n, xasprintf ("%d", SD_JOB_TIMEOUT_MS));
  push (&args, &n, xasprintf ("Description=s:moat container %s", id));
  push (&args, &n, xasprintf ("Slice=s:%s", u->slice));
  push (&args, &n, xasprintf ("PIDs=au:%d", (int) pid));
  for (size_t i = 0; props && props[i]; i++)
    push (&args, &n, xstrdup (props[i]));
  cleanup_free char *what = xasprintf ("start %s in %s", u->unit, u->slice);
  int r = run_helper (what, args, NULL, err);
  strv_free (args);
  if (r < 0)
    return r;
  return check_placed (pid, u->cgroup_path, err);
}

int
sdcg_set (const char *unit, char *const *props, moat_error **err)
{
  char **args = NULL;
  size_t n = 0;
  push (&args, &n, xstrdup ("set"));
  push (&args, &n, xstrdup (unit));
  for (size_t i = 0; props && props[i]; i++)
    push (&args, &n, xstrdup (props[i]));
  cleanup_free char *what = xasprintf ("set the properties of %s", unit);
  int r = run_helper (what, args, NULL, err);
  strv_free (args);
  return r;
}

/* Whether systemd has let go of UNIT already: a transient unit's file in
 * /run/systemd/transient lives as long as the unit is loaded (a failed one
 * too, until it is reset), and its cgroup as long as anything of it runs.
 * Both gone: there is nothing to stop or forget. A container that ended by
 * itself is deleted without starting moat-sd and connecting to the bus. */
static bool
unit_let_go (const char *unit, const char *cgroup_path)
{
  if (strchr (unit, '/') || unit[0] == '.')
    return false;
  cleanup_free char *f = xasprintf ("/run/systemd/transient/%s", unit);
  if (access (f, F_OK) == 0 || errno != ENOENT)
    return false;
  if (cgroup_path == NULL)
    return false;
  cleanup_free char *d = xasprintf ("/sys/fs/cgroup%s", cgroup_path);
  return access (d, F_OK) < 0 && errno == ENOENT;
}

int
sdcg_stop (const char *unit, const char *cgroup_path, moat_error **err)
{
  if (unit_let_go (unit, cgroup_path))
    return 0;
  char ms[16];
  snprintf (ms, sizeof ms, "%d", SD_JOB_TIMEOUT_MS);
  char *args[] = { (char *) "stop", (char *) unit, ms, NULL };
  cleanup_free char *what = xasprintf ("stop %s", unit);
  return run_helper (what, args, NULL, err);
}
