/* libFuzzer target: the audit-record reader (`moat audit`: the table, the
 * summary and the filters) on an arbitrary log file. */
#include "config-host.h"
#include "audit.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char dir[] = "/tmp/moat-fuzz-audit.XXXXXX";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static bool ready;
  if (!ready)
    {
      if (mkdtemp (dir) == NULL)
        abort ();
      /* The table goes nowhere. */
      int null = open ("/dev/null", O_WRONLY);
      if (null < 0 || dup2 (null, 1) < 0)
        abort ();
      ready = true;
    }
  char path[sizeof dir + 16];
  snprintf (path, sizeof path, "%s/f.jsonl", dir);
  FILE *f = fopen (path, "w");
  if (f == NULL)
    abort ();
  fwrite (data, 1, size, f);
  fclose (f);
  struct audit_query q = { .dir = dir, .id = "f", .root = dir, .pid = -1 };
  moat_error *err = NULL;
  audit_show (&q, &err);
  moat_error_free (&err);
  q.summary = true;
  audit_show (&q, &err);
  moat_error_free (&err);
  q.summary = false;
  q.wall = "seccomp";
  q.pid = 1;
  q.since = "2026";
  audit_show (&q, &err);
  moat_error_free (&err);
  return 0;
}
