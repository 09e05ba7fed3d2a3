/* moat-sd: the systemd cgroup driver's talk with systemd, over D-Bus
 * through libsystemd's sd-bus.
 *
 * Why a separate program: moat is linked statically (configure.ac says
 * why), Debian ships no static libsystemd, and a static glibc program
 * cannot safely dlopen a library built against the shared libc. So this
 * small program is linked dynamically with libsystemd, and moat runs it
 * (fork + exec) for the few calls the driver needs. It holds no state:
 * one request in argv, the answer in its exit status, one line on stderr
 * when it fails (moat puts that line into its own error).
 *
 *   moat-sd ping
 *       print systemd's version; fails when systemd cannot be reached
 *   moat-sd start UNIT TIMEOUT_MS PROP...
 *       StartTransientUnit(UNIT, "replace", PROPS) and wait for its job
 *   moat-sd set UNIT PROP...
 *       SetUnitProperties(UNIT, runtime, PROPS) (moat update)
 *   moat-sd stop UNIT TIMEOUT_MS
 *       StopUnit(UNIT, "replace"), wait for its job, then ResetFailedUnit;
 *       a unit systemd does not know is already stopped
 *
 * A PROP is NAME=TYPE:VALUE with TYPE one of s b t x u i (D-Bus basic
 * types; b takes 0 or 1), ay (VALUE in hex, a CPU or node bitmask) or au
 * (VALUE a comma-separated list, the PIDs).
 *
 * The bus: the system bus (dbus-daemon), as runc uses; where it is not
 * there but systemd is, root may talk to systemd directly on its private
 * socket, /run/systemd/private (systemctl does the same). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define DEST "org.freedesktop.systemd1"
#define PATH "/org/freedesktop/systemd1"
#define MGR "org.freedesktop.systemd1.Manager"

static const char *unit_name = "";

static int
fail (const char *what, int r, const sd_bus_error *e)
{
  if (e && sd_bus_error_is_set (e))
    fprintf (stderr, "%s %s: %s\n", what, unit_name, e->message ? e->message : e->name);
  else
    fprintf (stderr, "%s %s: %s\n", what, unit_name, strerror (r < 0 ? -r : r));
  return 1;
}

static int
connect_bus (sd_bus **out)
{
  int r = sd_bus_open_system (out);
  if (r >= 0)
    return 0;
  /* Not root, or no systemd listening: only the bus's error is worth saying. */
  int rp = -ENOENT;
  if (geteuid () == 0 && access ("/run/systemd/private", F_OK) == 0)
    {
      sd_bus *b = NULL;
      rp = sd_bus_new (&b);
      if (rp >= 0)
        rp = sd_bus_set_address (b, "unix:path=/run/systemd/private");
      if (rp >= 0)
        rp = sd_bus_start (b);
      if (rp >= 0)
        {
          *out = b;
          return 0;
        }
      sd_bus_unref (b);
    }
  fprintf (stderr, "cannot reach systemd over D-Bus (system bus: %s; /run/systemd/private: %s)\n", strerror (-r),
           strerror (-rp));
  return -1;
}

/* ---- jobs -------------------------------------------------------------- */

/* JobRemoved signals seen so far: a job can end before its StartUnit
 * call's reply is read, so every one is kept and looked up afterwards. */
struct seen
{
  char path[128];
  char result[32];
};
static struct seen seen[64];
static size_t n_seen;

static int
on_job_removed (sd_bus_message *m, void *data, sd_bus_error *e)
{
  (void) data;
  (void) e;
  uint32_t id;
  const char *path, *unit, *result;
  if (sd_bus_message_read (m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  struct seen *s = &seen[n_seen % (sizeof seen / sizeof seen[0])];
  n_seen++;
  snprintf (s->path, sizeof s->path, "%s", path);
  snprintf (s->result, sizeof s->result, "%s", result);
  return 0;
}

static const char *
job_result (const char *job)
{
  size_t n = n_seen < 64 ? n_seen : 64;
  for (size_t i = 0; i < n; i++)
    if (strcmp (seen[i].path, job) == 0)
      return seen[i].result;
  return NULL;
}

static uint64_t
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Wait (at most TIMEOUT_MS) for JOB's JobRemoved; "done" is success. */
static int
wait_job (sd_bus *bus, const char *what, const char *job, long timeout_ms)
{
  uint64_t end = now_us () + (uint64_t) timeout_ms * 1000;
  for (;;)
    {
      const char *res = job_result (job);
      if (res)
        {
          if (strcmp (res, "done") == 0)
            return 0;
          fprintf (stderr, "%s %s: the job ended with result `%s`, not `done`\n", what, unit_name, res);
          return 1;
        }
      int r = sd_bus_process (bus, NULL);
      if (r < 0)
        return fail (what, r, NULL);
      if (r > 0)
        continue;
      uint64_t t = now_us ();
      if (t >= end)
        {
          fprintf (stderr, "%s %s: no answer from systemd within %ld ms\n", what, unit_name, timeout_ms);
          return 1;
        }
      r = sd_bus_wait (bus, end - t);
      if (r < 0)
        return fail (what, r, NULL);
    }
}

static int
subscribe (sd_bus *bus)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_match_signal (bus, NULL, DEST, PATH, MGR, "JobRemoved", on_job_removed, NULL);
  if (r < 0)
    return fail ("watch JobRemoved for", r, NULL);
  /* systemd sends job signals only once someone has subscribed. */
  r = sd_bus_call_method (bus, DEST, PATH, MGR, "Subscribe", &e, NULL, NULL);
  if (r < 0)
    {
      int x = fail ("Subscribe for", r, &e);
      sd_bus_error_free (&e);
      return x;
    }
  return 0;
}

/* ---- properties -------------------------------------------------------- */

static int
hexval (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A malformed PROP: said here, and told apart from sd-bus's own errors. */
#define BAD_PROP (-100000)
static int
bad_prop (const char *p)
{
  fprintf (stderr, "moat-sd: property `%s` is not NAME=TYPE:VALUE with a known TYPE\n", p);
  return BAD_PROP;
}

/* One NAME=TYPE:VALUE into M, an open a(sv). */
static int
append_prop (sd_bus_message *m, const char *p)
{
  const char *eq = strchr (p, '='), *colon = eq ? strchr (eq, ':') : NULL;
  if (eq == NULL || colon == NULL || eq == p)
    return bad_prop (p);
  char name[256], type[4];
  size_t nl = (size_t) (eq - p), tl = (size_t) (colon - eq - 1);
  if (nl >= sizeof name || tl == 0 || tl >= sizeof type)
    return bad_prop (p);
  memcpy (name, p, nl);
  name[nl] = '\0';
  memcpy (type, eq + 1, tl);
  type[tl] = '\0';
  const char *v = colon + 1;
  char *end = NULL;
  int r;
  if ((r = sd_bus_message_open_container (m, 'r', "sv")) < 0 || (r = sd_bus_message_append (m, "s", name)) < 0
      || (r = sd_bus_message_open_container (m, 'v', type)) < 0)
    return r;
  errno = 0;
  if (strcmp (type, "s") == 0)
    r = sd_bus_message_append (m, "s", v);
  else if (strcmp (type, "b") == 0)
    r = sd_bus_message_append (m, "b", strcmp (v, "1") == 0);
  else if (strcmp (type, "t") == 0)
    {
      uint64_t x = strtoull (v, &end, 10);
      r = sd_bus_message_append (m, "t", x);
    }
  else if (strcmp (type, "x") == 0)
    {
      int64_t x = strtoll (v, &end, 10);
      r = sd_bus_message_append (m, "x", x);
    }
  else if (strcmp (type, "u") == 0)
    {
      unsigned long x = strtoul (v, &end, 10);
      if (x > UINT32_MAX)
        errno = ERANGE;
      r = sd_bus_message_append (m, "u", (uint32_t) x);
    }
  else if (strcmp (type, "i") == 0)
    {
      long x = strtol (v, &end, 10);
      if (x < INT32_MIN || x > INT32_MAX)
        errno = ERANGE;
      r = sd_bus_message_append (m, "i", (int32_t) x);
    }
  else if (strcmp (type, "ay") == 0)
    {
      size_t n = strlen (v);
      if (n % 2)
        return bad_prop (p);
      unsigned char buf[1024];
      if (n / 2 > sizeof buf)
        return bad_prop (p);
      for (size_t i = 0; i < n / 2; i++)
        {
          int hi = hexval (v[2 * i]), lo = hexval (v[2 * i + 1]);
          if (hi < 0 || lo < 0)
            return bad_prop (p);
          buf[i] = (unsigned char) (hi << 4 | lo);
        }
      r = sd_bus_message_append_array (m, 'y', buf, n / 2);
    }
  else if (strcmp (type, "au") == 0)
    {
      if ((r = sd_bus_message_open_container (m, 'a', "u")) < 0)
        return r;
      for (const char *s = v; *s;)
        {
          unsigned long x = strtoul (s, &end, 10);
          if (end == s || x > UINT32_MAX)
            return bad_prop (p);
          if ((r = sd_bus_message_append (m, "u", (uint32_t) x)) < 0)
            return r;
          s = *end == ',' ? end + 1 : end;
          if (*end != ',' && *end != '\0')
            return bad_prop (p);
        }
      end = NULL;
      r = sd_bus_message_close_container (m);
    }
  else
    return bad_prop (p);
  if (end && (*end != '\0' || end == v || errno))
    return bad_prop (p);
  if (r < 0 || (r = sd_bus_message_close_container (m)) < 0 || (r = sd_bus_message_close_container (m)) < 0)
    return r;
  return 0;
}

static int
append_props (sd_bus_message *m, char **props, int n)
{
  int r = sd_bus_message_open_container (m, 'a', "(sv)");
  for (int i = 0; r >= 0 && i < n; i++)
    r = append_prop (m, props[i]);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  return r;
}

/* ---- the commands ------------------------------------------------------ */

static int
cmd_start (sd_bus *bus, long timeout_ms, char **props, int n)
{
  if (subscribe (bus) != 0)
    return 1;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_message_new_method_call (bus, &m, DEST, PATH, MGR, "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", unit_name, "replace");
  if (r >= 0)
    r = append_props (m, props, n);
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);   /* no auxiliary units */
  if (r == BAD_PROP)
    return 1;   /* bad_prop said which */
  if (r < 0)
    return fail ("build StartTransientUnit for", r, NULL);
  r = sd_bus_call (bus, m, (uint64_t) timeout_ms * 1000, &e, &reply);
  sd_bus_message_unref (m);
  if (r < 0)
    {
      int x = fail ("StartTransientUnit", r, &e);
      sd_bus_error_free (&e);
      return x;
    }
  const char *job;
  r = sd_bus_message_read (reply, "o", &job);
  if (r < 0)
    return fail ("read StartTransientUnit's reply for", r, NULL);
  char jobc[128];
  snprintf (jobc, sizeof jobc, "%s", job);
  sd_bus_message_unref (reply);
  return wait_job (bus, "start", jobc, timeout_ms);
}

static int
cmd_set (sd_bus *bus, char **props, int n)
{
  sd_bus_message *m = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_message_new_method_call (bus, &m, DEST, PATH, MGR, "SetUnitProperties");
  if (r >= 0)
    r = sd_bus_message_append (m, "sb", unit_name, 1);
  if (r >= 0)
    r = append_props (m, props, n);
  if (r == BAD_PROP)
    return 1;
  if (r < 0)
    return fail ("build SetUnitProperties for", r, NULL);
  r = sd_bus_call (bus, m, 0, &e, NULL);
  sd_bus_message_unref (m);
  if (r < 0)
    {
      int x = fail ("SetUnitProperties", r, &e);
      sd_bus_error_free (&e);
      return x;
    }
  return 0;
}

static int
cmd_stop (sd_bus *bus, long timeout_ms)
{
  if (subscribe (bus) != 0)
    return 1;
  sd_bus_message *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method (bus, DEST, PATH, MGR, "StopUnit", &e, &reply, "ss", unit_name, "replace");
  int status = 0;
  if (r < 0)
    {
      /* Gone already: the last process left and systemd collected it. */
      if (!sd_bus_error_has_name (&e, "org.freedesktop.systemd1.NoSuchUnit"))
        status = fail ("StopUnit", r, &e);
      sd_bus_error_free (&e);
    }
  else
    {
      const char *job;
      char jobc[128] = "";
      if (sd_bus_message_read (reply, "o", &job) >= 0)
        snprintf (jobc, sizeof jobc, "%s", job);
      sd_bus_message_unref (reply);
      if (*jobc)
        status = wait_job (bus, "stop", jobc, timeout_ms);
    }
  /* A scope whose processes were killed (an OOM kill, SIGKILL) ends
   * "failed" and stays loaded under its name: a later container of the
   * same name could not start. Forget it. */
  r = sd_bus_call_method (bus, DEST, PATH, MGR, "ResetFailedUnit", &e, NULL, "s", unit_name);
  sd_bus_error_free (&e);
  return status;
}

static int
cmd_ping (sd_bus *bus)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  char *version = NULL;
  int r = sd_bus_get_property_string (bus, DEST, PATH, MGR, "Version", &e, &version);
  if (r < 0)
    {
      int x = fail ("read the Version of", r, &e);
      sd_bus_error_free (&e);
      return x;
    }
  printf ("%s\n", version);
  free (version);
  return 0;
}

static int
usage (void)
{
  fprintf (stderr, "usage: moat-sd ping | start UNIT TIMEOUT_MS PROP... | set UNIT PROP... | stop UNIT TIMEOUT_MS\n");
  return 2;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return usage ();
  const char *cmd = argv[1];
  long timeout_ms = 0;
  if (strcmp (cmd, "ping") == 0)
    unit_name = "systemd";
  else if ((strcmp (cmd, "start") == 0 && argc >= 4) || (strcmp (cmd, "stop") == 0 && argc == 4))
    {
      unit_name = argv[2];
      char *end;
      timeout_ms = strtol (argv[3], &end, 10);
      if (*end || timeout_ms <= 0)
        return usage ();
    }
  else if (strcmp (cmd, "set") == 0 && argc >= 3)
    unit_name = argv[2];
  else
    return usage ();
  sd_bus *bus = NULL;
  /* 3: systemd was never reached, so nothing was asked of it (moat need
   * not stop a unit that cannot have been started). */
  if (connect_bus (&bus) < 0)
    return 3;
  int r;
  if (strcmp (cmd, "ping") == 0)
    r = cmd_ping (bus);
  else if (strcmp (cmd, "start") == 0)
    r = cmd_start (bus, timeout_ms, argv + 4, argc - 4);
  else if (strcmp (cmd, "set") == 0)
    r = cmd_set (bus, argv + 3, argc - 3);
  else
    r = cmd_stop (bus, timeout_ms);
  sd_bus_flush_close_unref (bus);
  return r;
}
