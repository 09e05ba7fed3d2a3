/* The LSM wall's pure parts: the kernel's AppArmor audit line into a
 * record (lsmaudit.c), and linux.mountLabel's mount data (lsm.c). The
 * wall itself is tested by driving moat: tests/t-lsm.sh. */
#include "config-host.h"
#include "tap.h"

#include "audit.h"
#include "lsm.h"
#include "lsmaudit.h"
#include "util.h"

static char last[4096];
static int outs;

static bool
owns_pid_42 (void *ctx, pid_t pid, pid_t *nspid)
{
  (void) ctx;
  *nspid = pid == 42 ? 3 : 0;
  return pid == 42;
}

static int
capture (void *ctx, const struct jbuf *j)
{
  (void) ctx;
  snprintf (last, sizeof last, "%.*s", (int) j->len, j->buf);
  outs++;
  return 0;
}

static const struct lsm_sink sink = { "web", owns_pid_42, capture, NULL, NULL };

#define LINE(pid, name) \
  "audit: type=1400 audit(1796572350.040:13): apparmor=\"DENIED\" operation=\"open\" profile=\"p1\" " \
  "name=" name " pid=" pid " comm=\"cat\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0"

TEST (a_denial_of_the_container_is_a_record)
{
  CHECK (lsm_audit_kmsg (LINE ("42", "\"/data/secret\""), &sink) == 1);
  CHECK (outs == 1);
  CHECK_CONTAINS (last, "\"wall\":\"apparmor\",\"kind\":\"refused\",\"pid\":42,\"nspid\":3,\"comm\":\"cat\"");
  CHECK_CONTAINS (last, "\"errno\":\"EACCES\",\"operation\":\"open\",\"profile\":\"p1\",\"name\":\"/data/secret\"");
  CHECK_CONTAINS (last, "\"requested\":\"r\",\"denied\":\"r\",\"source\":\"kmsg\"");
}

TEST (another_pid_is_not_the_container)
{
  CHECK (lsm_audit_kmsg (LINE ("43", "\"/data/secret\""), &sink) == 1);
  CHECK (outs == 0);
}

TEST (other_lines_are_not_ours)
{
  CHECK (lsm_audit_kmsg ("cat[42]: segfault at 0 ip 0000000000401136 sp 00007ffd error 4", &sink) == 0);
  /* complain mode refuses nothing */
  CHECK (lsm_audit_kmsg ("audit: type=1400 audit(1.2:3): apparmor=\"ALLOWED\" operation=\"open\" pid=42", &sink) == 0);
  CHECK (outs == 0);
}

TEST (hex_names_are_decoded)
{
  /* "/data/a b": a space makes the kernel write the name in hex */
  CHECK (lsm_audit_kmsg (LINE ("42", "2F646174612F612062"), &sink) == 1);
  CHECK_CONTAINS (last, "\"name\":\"/data/a b\"");
  char buf[16];
  CHECK (lsm_audit_field ("a=1 fsuid=0 b=\"x y\"", "fsuid", buf, sizeof buf));
  CHECK_STR (buf, "0");
  CHECK (!lsm_audit_field ("a=1 xfsuid=0", "fsuid", buf, sizeof buf));
  CHECK (lsm_audit_field ("name=\"/a/very/long/path\"", "name", buf, 8));
  CHECK_STR (buf, "/a/very");
}

TEST (mount_label_as_context)
{
  cleanup_free char *a = lsm_mount_data ("tmpfs", "mode=755,size=65536k", "system_u:object_r:c_t:s0:c1,c2");
  CHECK_STR (a, "mode=755,size=65536k,context=\"system_u:object_r:c_t:s0:c1,c2\"");
  cleanup_free char *b = lsm_mount_data ("devpts", NULL, "x_t");
  CHECK_STR (b, "context=\"x_t\"");
  CHECK (lsm_mount_data ("proc", NULL, "x_t") == NULL);
  CHECK (lsm_mount_data ("bind", "ro", "x_t") == NULL);
  CHECK (lsm_mount_data ("tmpfs", "ro", NULL) == NULL);
  CHECK (lsm_mount_data ("tmpfs", "ro", "") == NULL);
}

TAP_MAIN (CASE (a_denial_of_the_container_is_a_record), CASE (another_pid_is_not_the_container),
          CASE (other_lines_are_not_ours), CASE (hex_names_are_decoded), CASE (mount_label_as_context))
