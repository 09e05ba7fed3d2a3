/* Unit tests for src/metrics.c (counters read on from where the last
 * collect stopped) and src/hostaudit.c (one key=value line per record). */
#include "config-host.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "hostaudit.h"
#include "metrics.h"
#include "util.h"

static char dir[64];

static void
rm_dir (void)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    fprintf (stderr, "# could not remove %s\n", dir);
}

static void
mk_dir (void)
{
  snprintf (dir, sizeof dir, "/tmp/moat-test-metrics.XXXXXX");
  CHECK (mkdtemp (dir) != NULL);
  tap_case_end = rm_dir;
}

static void
append (const char *name, const char *text)
{
  char path[128];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  CHECK (fd >= 0);
  CHECK (write_all (fd, text, strlen (text)) == 0);
  close (fd);
}

/* The value of the sample whose line starts with PREFIX, or -1. */
static long long
sample (const char *text, const char *prefix)
{
  for (const char *p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, prefix, strlen (prefix)) == 0)
      {
        char line[512];
        snprintf (line, sizeof line, "%.*s", (int) strcspn (p, "\n"), p);
        return atoll (strrchr (line, ' ') + 1);
      }
  return -1;
}

static char *
scrape (struct metrics *m)
{
  moat_error *e = NULL;
  CHECK (metrics_collect (m, &e) == 0);
  size_t len;
  return metrics_render (m, false, &len);
}

#define DENY "{\"wall\":\"seccomp\",\"kind\":\"syscall\",\"syscall\":\"mkdir\",\"action\":\"errno\",\"errno\":\"EPERM\",\"rule\":\"default\"}\n"
#define MKDIR "moat_denials_total{id=\"c1\",syscall=\"mkdir\",wall=\"seccomp\",rule=\"default\",outcome=\"EPERM\"}"

TEST (counts_read_on_from_the_offset)
{
  mk_dir ();
  struct metrics *m = metrics_new (dir, "/nonexistent");
  append ("c1.jsonl", DENY DENY);
  append ("c1.jsonl.1", DENY);   /* an earlier container's: not counted */
  char *t = scrape (m);
  CHECK (sample (t, MKDIR) == 2);
  free (t);
  /* An aggregate counts its calls; half a line waits for its end. */
  append ("c1.jsonl", "{\"wall\":\"seccomp\",\"kind\":\"aggregate\",\"syscall\":\"mkdir\",\"action\":\"errno\","
                      "\"errno\":\"EPERM\",\"rule\":\"default\",\"count\":40}\n{\"wall\":\"seccomp\",");
  t = scrape (m);
  CHECK (sample (t, MKDIR) == 42);
  CHECK (sample (t, "moat_records_aggregated_total{id=\"c1\",wall=\"seccomp\"}") == 40);
  CHECK (sample (t, "moat_audit_unreadable_lines_total{id=\"c1\"}") == -1);
  free (t);
  append ("c1.jsonl", "\"kind\":\"syscall\",\"syscall\":\"mkdir\",\"action\":\"errno\",\"errno\":\"EPERM\",\"rule\":\"default\"}\n"
                      "not json\n");
  t = scrape (m);
  CHECK (sample (t, MKDIR) == 43);
  CHECK (sample (t, "moat_audit_unreadable_lines_total{id=\"c1\"}") == 1);
  free (t);
  /* A new container of the id (the log rotated): counted from its start. */
  char a[128], b[128];
  snprintf (a, sizeof a, "%s/c1.jsonl", dir);
  snprintf (b, sizeof b, "%s/c1.jsonl.2", dir);
  CHECK (rename (a, b) == 0);
  append ("c1.jsonl", DENY);
  t = scrape (m);
  CHECK (sample (t, MKDIR) == 1);
  free (t);
  /* A log removed takes its series with it. */
  CHECK (unlink (a) == 0);
  t = scrape (m);
  CHECK (strstr (t, "id=\"c1\"") == NULL);
  CHECK_CONTAINS (t, "# TYPE moat_denials_total counter\n");
  free (t);
  metrics_free (m);
}

TEST (other_walls_counted)
{
  mk_dir ();
  struct metrics *m = metrics_new (dir, "/nonexistent");
  append ("c2.jsonl", "{\"wall\":\"mmu\",\"kind\":\"signal\",\"signal\":\"SIGSEGV\"}\n"
                      "{\"wall\":\"mmu\",\"kind\":\"aggregate\",\"what\":\"signal\",\"signal\":\"SIGSEGV\",\"count\":9}\n"
                      "{\"wall\":\"cgroup\",\"kind\":\"oom\"}\n"
                      "{\"wall\":\"cgroup\",\"kind\":\"pids\",\"refused\":7}\n"
                      "{\"wall\":\"kernel\",\"kind\":\"aggregate\",\"what\":\"refused\",\"syscall\":\"mount\",\"errno\":\"EPERM\",\"count\":3}\n"
                      "{\"wall\":\"moat\",\"kind\":\"notice\",\"what\":\"x\",\"lost\":5}\n");
  char *t = scrape (m);
  CHECK (sample (t, "moat_fault_deaths_total{id=\"c2\",signal=\"SIGSEGV\",wall=\"mmu\"}") == 10);
  CHECK (sample (t, "moat_cgroup_events_total{id=\"c2\",kind=\"oom\"}") == 1);
  CHECK (sample (t, "moat_cgroup_events_total{id=\"c2\",kind=\"pids\"}") == 7);
  CHECK (sample (t, "moat_denials_total{id=\"c2\",syscall=\"mount\",wall=\"kernel\",rule=\"kernel\",outcome=\"EPERM\"}") == 3);
  CHECK (sample (t, "moat_records_lost_total{id=\"c2\",kind=\"notice\"}") == 5);
  free (t);
  size_t len;
  t = metrics_render (m, true, &len);
  CHECK_CONTAINS (t, "# TYPE moat_cgroup_events counter\n");
  CHECK (len > 6 && strcmp (t + len - 6, "# EOF\n") == 0);
  free (t);
  metrics_free (m);
}

TEST (forwarded_line)
{
  char out[1024];
  bool denial = false;
  const char *r = "{\"time\":\"t\",\"container\":\"web\",\"wall\":\"seccomp\",\"kind\":\"syscall\",\"pid\":42,\"nspid\":7,"
                  "\"comm\":\"a b\",\"syscall\":\"mkdir\",\"args\":{\"pathname\":\"/x\"},\"action\":\"errno\","
                  "\"errno\":\"EPERM\",\"rule\":\"default\",\"policy\":\"p\"}\n";
  CHECK (hostaudit_line (r, strlen (r), out, sizeof out, &denial));
  CHECK (denial);
  /* a fixed order; a comm with a space in hex, as auditd writes it */
  CHECK_STR (out, "moat: container=web wall=seccomp kind=syscall syscall=mkdir action=errno errno=EPERM rule=default "
                  "comm=612062 pid=42 nspid=7");
  r = "{\"container\":\"web\",\"wall\":\"cgroup\",\"kind\":\"oom\",\"limit\":\"memory.max=64M\",\"comm\":\"hog\"}";
  CHECK (hostaudit_line (r, strlen (r), out, sizeof out, &denial));
  CHECK (!denial);
  CHECK_STR (out, "moat: container=web wall=cgroup kind=oom limit=6D656D6F72792E6D61783D36344D comm=\"hog\"");
  r = "{\"container\":\"web\",\"wall\":\"mmu\",\"kind\":\"aggregate\",\"what\":\"signal\",\"signal\":\"SIGSEGV\",\"count\":3}";
  CHECK (hostaudit_line (r, strlen (r), out, sizeof out, &denial));
  CHECK (!denial);
  CHECK_STR (out, "moat: container=web wall=mmu kind=aggregate what=signal signal=SIGSEGV count=3");
  CHECK (!hostaudit_line ("nope", 4, out, sizeof out, &denial));
  /* a line cut at the buffer's end stays a C string */
  char small[24];
  r = "{\"container\":\"a-rather-long-container-id\",\"wall\":\"seccomp\",\"kind\":\"syscall\"}";
  CHECK (hostaudit_line (r, strlen (r), small, sizeof small, &denial));
  CHECK (strlen (small) < sizeof small);
}

TEST (forward_values)
{
  unsigned mask = 9;
  moat_error *e = NULL;
  char *keys[] = { "org.moat.audit.forward" }, *vals[] = { "syslog" };
  CHECK (hostaudit_for ("kernel", keys, vals, 1, &mask, &e) == 0 && mask == HOSTAUDIT_SYSLOG);
  CHECK (hostaudit_for (NULL, NULL, NULL, 0, &mask, &e) == 0 && mask == 0);
  CHECK (hostaudit_for ("none", NULL, NULL, 0, &mask, &e) == 0 && mask == 0);
  CHECK (hostaudit_for ("syslog,bogus", NULL, NULL, 0, &mask, &e) < 0);
  CHECK_CONTAINS (e->msg, "--audit-forward: `syslog,bogus` is not");
  moat_error_free (&e);
}

TAP_MAIN (CASE (counts_read_on_from_the_offset), CASE (other_walls_counted), CASE (forwarded_line),
          CASE (forward_values))
