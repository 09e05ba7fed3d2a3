/* `moat features`: what this moat supports, in the OCI runtime-spec
 * "features" format (engines read it), plus moat's own annotations: the
 * host CPU's user/kernel protections and the cgroup layout. */
#include "faults-bpf.h"
#include "config-host.h"
#include "cgroup.h"
#include "cgroup-systemd.h"
#include "cmd.h"
#include "hostaudit.h"
#include "config.h"
#include "lsm.h"
#include "procattr.h"
#include "state.h"
#include "util.h"

#include <seccomp.h>
#include <sys/capability.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#define G_STR(g, s) yajl_gen_string (g, (const unsigned char *) (s), strlen (s))

static void
str_array (yajl_gen g, const char *key, const char *const *v)
{
  G_STR (g, key);
  yajl_gen_array_open (g);
  for (size_t i = 0; v[i]; i++)
    G_STR (g, v[i]);
  yajl_gen_array_close (g);
}

/* Does /proc/cpuinfo list FLAG for the first CPU? */
static bool
cpu_flag (const char *cpuinfo, const char *flag)
{
  const char *line = strstr (cpuinfo, "\nflags");
  if (line == NULL)
    return false;
  const char *end = strchr (line + 1, '\n');
  size_t fl = strlen (flag);
  for (const char *p = strchr (line, ':'); p && (!end || p < end); p = strchr (p + 1, ' '))
    if (strncmp (p + 1, flag, fl) == 0 && (p[1 + fl] == ' ' || p[1 + fl] == '\n'))
      return true;
  return false;
}

int
cmd_features (struct global_opts *g UNUSED, int argc UNUSED, char **argv UNUSED)
{
  static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
                                       "poststart", "poststop", NULL };
  /* From the tables config.c parses with: the list cannot drift from them. */
  cleanup_strv char **mount_opts = config_mount_option_names ();
  static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL };
  static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                         "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                                         "SCMP_ACT_TRAP", NULL };
  static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                           "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };
  static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                                       "SCMP_ARCH_ARM", NULL };
  static const char *const flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                       "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
  cleanup_free char *cpuinfo = NULL;
  moat_error *e = NULL;
  if (read_file ("/proc/cpuinfo", &cpuinfo, NULL, &e) < 0)
    {
      moat_error_free (&e);
      cpuinfo = xstrdup ("");
    }
  enum cgroup_layout layout = cgroup_detect_layout ();
  /* The systemd driver works where its helper is, systemd runs as the
   * init and the hierarchy is the unified one (cgroup-systemd.h). */
  cleanup_free char *sd_helper = sdcg_helper ();
  bool sd_running = sdcg_systemd_running ();
  bool sd_ok = sd_helper && sd_running && layout == CGROUP_V2;

  yajl_gen y = yajl_gen_alloc (NULL);
  yajl_gen_config (y, yajl_gen_beautify, 1);
  yajl_gen_config (y, yajl_gen_indent_string, "  ");
  yajl_gen_map_open (y);
  G_STR (y, "ociVersionMin"); G_STR (y, "1.0.0");
  G_STR (y, "ociVersionMax"); G_STR (y, MOAT_OCI_VERSION);
  str_array (y, "hooks", hooks);
  str_array (y, "mountOptions", (const char *const *) mount_opts);
  /* Annotations that change what moat does in a way a caller may not want
   * from an untrusted config (features.md: a key, or a prefix ending in
   * "."): the audit budget's, which can make the log drop records. */
  static const char *const unsafe[] = { "org.moat.audit.", NULL };
  str_array (y, "potentiallyUnsafeConfigAnnotations", unsafe);
  G_STR (y, "linux");
  yajl_gen_map_open (y);
  str_array (y, "namespaces", namespaces);
  G_STR (y, "capabilities");
  yajl_gen_array_open (y);
  /* Every capability libcap can name (those are the names moat accepts). */
  for (cap_value_t v = 0; v < (cap_value_t) cap_max_bits (); v++)
    {
      char *n = cap_to_name (v);
      bool named = n && strncmp (n, "cap_", 4) == 0;
      if (named)
        {
          char up[64];
          size_t i;
          for (i = 0; n[i] && i < sizeof up - 1; i++)
            up[i] = (char) (n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
          up[i] = '\0';
          G_STR (y, up);
        }
      cap_free (n);
    }
  yajl_gen_array_close (y);
  G_STR (y, "cgroup");
  yajl_gen_map_open (y);
  G_STR (y, "v1"); yajl_gen_bool (y, layout != CGROUP_V2);
  G_STR (y, "v2"); yajl_gen_bool (y, layout != CGROUP_V1);
  G_STR (y, "systemd"); yajl_gen_bool (y, sd_ok);
  G_STR (y, "systemdUser"); yajl_gen_bool (y, 0);
  G_STR (y, "rdma"); yajl_gen_bool (y, 1);
  yajl_gen_map_close (y);
  G_STR (y, "seccomp");
  yajl_gen_map_open (y);
  G_STR (y, "enabled"); yajl_gen_bool (y, 1);
  str_array (y, "actions", actions);
  str_array (y, "operators", operators);
  str_array (y, "archs", archs);
  str_array (y, "knownFlags", flags);
  str_array (y, "supportedFlags", flags);
  yajl_gen_map_close (y);
  /* features.md: "whether AppArmor (SELinux) support is compiled in.
   * Unrelated to whether the host supports" it: moat's always is (lsm.c);
   * the host's modules are in the annotations. */
  G_STR (y, "apparmor"); yajl_gen_map_open (y); G_STR (y, "enabled"); yajl_gen_bool (y, 1); yajl_gen_map_close (y);
  G_STR (y, "selinux"); yajl_gen_map_open (y); G_STR (y, "enabled"); yajl_gen_bool (y, 1); yajl_gen_map_close (y);
  /* Refused with its reason (intelrdt.c), not applied. */
  G_STR (y, "intelRdt"); yajl_gen_map_open (y); G_STR (y, "enabled"); yajl_gen_bool (y, 0);
  G_STR (y, "schemata"); yajl_gen_bool (y, 0); G_STR (y, "monitoring"); yajl_gen_bool (y, 0); yajl_gen_map_close (y);
  G_STR (y, "memoryPolicy");
  yajl_gen_map_open (y);
  str_array (y, "modes", procattr_mpol_modes);
  str_array (y, "flags", procattr_mpol_flags);
  yajl_gen_map_close (y);
  G_STR (y, "mountExtensions");
  yajl_gen_map_open (y);
  G_STR (y, "idmap"); yajl_gen_map_open (y); G_STR (y, "enabled"); yajl_gen_bool (y, 1); yajl_gen_map_close (y);
  yajl_gen_map_close (y);
  G_STR (y, "netDevices"); yajl_gen_map_open (y); G_STR (y, "enabled"); yajl_gen_bool (y, 1); yajl_gen_map_close (y);
  yajl_gen_map_close (y);
  G_STR (y, "annotations");
  yajl_gen_map_open (y);
  G_STR (y, "org.moat.version"); G_STR (y, MOAT_VERSION_STRING);
  const struct scmp_version *v = seccomp_version ();
  char lv[32];
  snprintf (lv, sizeof lv, "%u.%u.%u", v->major, v->minor, v->micro);
  G_STR (y, "org.moat.libseccomp.version"); G_STR (y, lv);
  G_STR (y, "org.moat.cgroup.layout"); G_STR (y, cgroup_layout_name (layout));
  G_STR (y, "org.moat.audit"); G_STR (y, "seccomp,signals");
  /* checkpoint/restore through the criu binary; refused while the filter
   * needs a seccomp listener (CRIU cannot restore one: criu.h) */
  G_STR (y, "org.moat.checkpoint"); G_STR (y, "criu; refused when the seccomp filter needs a listener");
  /* --systemd-cgroup: its helper's path ("none": not built or not found)
   * and whether systemd runs here. */
  G_STR (y, "org.moat.systemd.helper"); G_STR (y, sd_helper ? sd_helper : "none");
  G_STR (y, "org.moat.systemd.running"); G_STR (y, sd_running ? "true" : "false");
  /* The LSMs the running kernel has enabled: where a profile or label
   * can be applied (elsewhere moat refuses one, as runc does). */
  G_STR (y, "org.moat.apparmor.enabled"); G_STR (y, lsm_apparmor_enabled () ? "true" : "false");
  G_STR (y, "org.moat.selinux.enabled"); G_STR (y, lsm_selinux_enabled () ? "true" : "false");
  /* where fault details can come from (--fault-detail) */
  G_STR (y, "org.moat.fault-detail"); G_STR (y, fault_bpf_built () ? "kmsg,bpf" : "kmsg");
  /* where records can be copied to (--audit-forward) */
  G_STR (y, "org.moat.audit.forward"); G_STR (y, hostaudit_sinks ());
  /* The CPU's own walls between user and kernel mode. */
  static const char *const cpu[][2] = { { "smap", "org.moat.cpu.smap" }, { "smep", "org.moat.cpu.smep" },
                                        { "umip", "org.moat.cpu.umip" }, { "pku", "org.moat.cpu.pku" },
                                        { "nx", "org.moat.cpu.nx" } };
  for (size_t i = 0; i < sizeof cpu / sizeof cpu[0]; i++)
    {
      G_STR (y, cpu[i][1]);
      G_STR (y, cpu_flag (cpuinfo, cpu[i][0]) ? "true" : "false");
    }
  yajl_gen_map_close (y);
  yajl_gen_map_close (y);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (y, &buf, &len);
  printf ("%.*s\n", (int) len, buf);
  yajl_gen_free (y);
  return 0;
}
