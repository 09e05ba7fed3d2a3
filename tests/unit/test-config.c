/* Unit tests for src/json.c and src/config.c (and the spec's id ranges from src/namespaces.c). */
#include "config-host.h"
#include "tap.h"

#include <linux/mount.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "json.h"
#include "namespaces.h"
#include "util.h"

#ifdef __SANITIZE_ADDRESS__
# include <sanitizer/lsan_interface.h>
/* Each case runs in a child that leaves with _exit(), which skips LSan's
 * exit-time check: ask for it explicitly. */
# define LEAK_CHECK() CHECK (__lsan_do_recoverable_leak_check () == 0)
#else
# define LEAK_CHECK() do { } while (0)
#endif

/* The JSON in this file is written with ' for " to stay readable. */
static char *
J (const char *s)
{
  char *r = xstrdup (s);
  for (char *p = r; *p; p++)
    if (*p == '\'')
      *p = '"';
  return r;
}

/* Parse a document that must fail; return the message. */
static char *
parse_fail (const char *sq_json)
{
  cleanup_free char *text = J (sq_json);
  struct moat_config *cfg = NULL;
  cleanup_error moat_error *err = NULL;
  int r = config_parse (text, "config.json", &cfg, &err);
  if (r == 0)
    {
      config_free (cfg);
      fprintf (stderr, "#   parsed but should not have: %s\n", text);
      exit (1);
    }
  CHECK (r < 0);
  CHECK (cfg == NULL);
  CHECK (err != NULL && err->msg != NULL);
  return xstrdup (err->msg);
}

static struct moat_config *
parse_ok (const char *sq_json)
{
  cleanup_free char *text = J (sq_json);
  struct moat_config *cfg = NULL;
  cleanup_error moat_error *err = NULL;
  if (config_parse (text, "config.json", &cfg, &err) < 0)
    {
      fprintf (stderr, "#   unexpected error: %s\n", err && err->msg ? err->msg : "?");
      exit (1);
    }
  CHECK (cfg != NULL);
  CHECK (err == NULL);
  return cfg;
}

#define EXPECT_ERROR(json, msg) do {                  \
    cleanup_free char *_m = parse_fail (json);        \
    CHECK_STR (_m, msg);                              \
  } while (0)

#define HEAD "{'ociVersion':'1.2.0','root':{'path':'rootfs'},"
#define PROC "'process':{'args':['sh'],'cwd':'/'}"

static const char full_config[] =
  "{"
  " 'ociVersion': '1.2.0',"
  " 'root': {'path': 'rootfs', 'readonly': true},"
  " 'process': {"
  "   'terminal': true,"
  "   'consoleSize': {'height': 25, 'width': 80},"
  "   'user': {'uid': 1000, 'gid': 100, 'umask': 18, 'additionalGids': [5, 6]},"
  "   'args': ['sh', '-c', 'echo hi'],"
  "   'env': ['PATH=/bin', 'TERM=xterm'],"
  "   'cwd': '/work',"
  "   'capabilities': {'bounding': ['CAP_KILL', 'CAP_CHOWN'], 'effective': ['CAP_KILL'],"
  "                    'inheritable': [], 'permitted': ['CAP_KILL'], 'ambient': ['CAP_KILL']},"
  "   'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1024, 'hard': 4096},"
  "               {'type': 'RLIMIT_RTTIME', 'soft': 18446744073709551615, 'hard': 18446744073709551615}],"
  "   'noNewPrivileges': true,"
  "   'oomScoreAdj': -500,"
  "   'apparmorProfile': 'moat-default',"
  "   'selinuxLabel': 'system_u:system_r:container_t:s0'"
  " },"
  " 'hostname': 'box',"
  " 'domainname': 'example.org',"
  " 'mounts': ["
  "   {'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
  "   {'destination': '/data', 'type': 'bind', 'source': '/srv/data', 'options': ['rbind', 'ro']},"
  "   {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', 'mode=1777', 'size=1m']}"
  " ],"
  " 'hooks': {"
  "   'prestart': [{'path': '/bin/true'}],"
  "   'createRuntime': [{'path': '/usr/bin/hook', 'args': ['hook', 'create'], 'env': ['A=1'], 'timeout': 5}],"
  "   'createContainer': [],"
  "   'startContainer': [{'path': '/bin/s'}],"
  "   'poststart': [{'path': '/bin/p1'}, {'path': '/bin/p2'}],"
  "   'poststop': [{'path': '/bin/stop'}]"
  " },"
  " 'annotations': {'org.example.key': 'value', 'b': ''},"
  " 'linux': {"
  "   'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/var/run/netns/x'}, {'type': 'mount'},"
  "                  {'type': 'ipc'}, {'type': 'uts'}, {'type': 'user'}, {'type': 'cgroup'}, {'type': 'time'}],"
  "   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
  "   'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1000},"
  "                   {'containerID': 1000, 'hostID': 1000, 'size': 1}],"
  "   'timeOffsets': {'monotonic': {'secs': -10, 'nanosecs': 5}, 'boottime': {'secs': 3600}},"
  "   'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 438, 'uid': 0, 'gid': 5},"
  "               {'path': '/dev/fifo', 'type': 'p'}],"
  "   'cgroupsPath': '/moat/test',"
  "   'resources': {'memory': {'limit': 1048576}},"
  "   'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW'},"
  "   'sysctl': {'net.ipv4.ip_forward': '1', 'kernel.msgmax': '8192'},"
  "   'maskedPaths': ['/proc/kcore'],"
  "   'readonlyPaths': ['/proc/sys', '/proc/bus'],"
  "   'rootfsPropagation': 'rslave',"
  "   'mountLabel': 'system_u:object_r:container_file_t:s0'"
  " }"
  "}";

TEST (full_config_parses)
{
  cleanup_config struct moat_config *c = parse_ok (full_config);
  CHECK_STR (c->oci_version, "1.2.0");
  CHECK_STR (c->root_path, "rootfs");
  CHECK (c->root_readonly);

  CHECK (c->has_process);
  CHECK (c->terminal);
  CHECK (c->console_height == 25 && c->console_width == 80);
  CHECK (c->uid == 1000 && c->gid == 100);
  CHECK (c->has_umask && c->umask == 022);
  CHECK (c->n_additional_gids == 2 && c->additional_gids[0] == 5 && c->additional_gids[1] == 6);
  CHECK (strv_len (c->args) == 3);
  CHECK_STR (c->args[0], "sh");
  CHECK_STR (c->args[2], "echo hi");
  CHECK (strv_len (c->env) == 2);
  CHECK_STR (c->env[1], "TERM=xterm");
  CHECK_STR (c->cwd, "/work");
  CHECK (c->has_caps);
  CHECK (strv_len (c->caps.bounding) == 2);
  CHECK_STR (c->caps.bounding[1], "CAP_CHOWN");
  CHECK_STR (c->caps.effective[0], "CAP_KILL");
  CHECK (c->caps.inheritable != NULL && c->caps.inheritable[0] == NULL);
  CHECK_STR (c->caps.permitted[0], "CAP_KILL");
  CHECK_STR (c->caps.ambient[0], "CAP_KILL");
  CHECK (c->n_rlimits == 2);
  CHECK (c->rlimits[0].resource == RLIMIT_NOFILE);
  CHECK_STR (c->rlimits[0].name, "RLIMIT_NOFILE");
  CHECK (c->rlimits[0].soft == 1024 && c->rlimits[0].hard == 4096);
  CHECK (c->rlimits[1].resource == RLIMIT_RTTIME);
  CHECK (c->rlimits[1].soft == UINT64_MAX && c->rlimits[1].hard == UINT64_MAX);
  CHECK (c->no_new_privileges);
  CHECK (c->has_oom_score_adj && c->oom_score_adj == -500);
  CHECK_STR (c->apparmor_profile, "moat-default");
  CHECK_STR (c->selinux_label, "system_u:system_r:container_t:s0");

  CHECK_STR (c->hostname, "box");
  CHECK_STR (c->domainname, "example.org");

  CHECK (c->n_mounts == 3);
  CHECK_STR (c->mounts[0].destination, "/proc");
  CHECK_STR (c->mounts[0].type, "proc");
  CHECK_STR (c->mounts[0].source, "proc");
  CHECK (c->mounts[0].options == NULL);
  CHECK (c->mounts[0].flags == 0 && c->mounts[0].data == NULL && !c->mounts[0].bind);
  CHECK_STR (c->mounts[1].source, "/srv/data");
  CHECK (c->mounts[1].bind);
  CHECK (c->mounts[1].flags == (MS_BIND | MS_REC | MS_RDONLY));
  CHECK (strv_len (c->mounts[1].options) == 2);
  CHECK_STR (c->mounts[2].data, "mode=1777,size=1m");
  CHECK (c->mounts[2].flags == MS_NOSUID);

  CHECK (c->n_hooks[MOAT_HOOK_PRESTART] == 1);
  CHECK_STR (c->hooks[MOAT_HOOK_PRESTART][0].path, "/bin/true");
  CHECK (c->hooks[MOAT_HOOK_PRESTART][0].args == NULL);
  CHECK (c->hooks[MOAT_HOOK_PRESTART][0].timeout == 0);
  CHECK (c->n_hooks[MOAT_HOOK_CREATE_RUNTIME] == 1);
  struct moat_hook *h = &c->hooks[MOAT_HOOK_CREATE_RUNTIME][0];
  CHECK_STR (h->path, "/usr/bin/hook");
  CHECK_STR (h->args[1], "create");
  CHECK_STR (h->env[0], "A=1");
  CHECK (h->timeout == 5);
  CHECK (c->n_hooks[MOAT_HOOK_CREATE_CONTAINER] == 0);
  CHECK (c->n_hooks[MOAT_HOOK_START_CONTAINER] == 1);
  CHECK (c->n_hooks[MOAT_HOOK_POSTSTART] == 2);
  CHECK_STR (c->hooks[MOAT_HOOK_POSTSTART][1].path, "/bin/p2");
  CHECK (c->n_hooks[MOAT_HOOK_POSTSTOP] == 1);

  CHECK (c->n_annotations == 2);
  CHECK_STR (c->annotation_keys[0], "org.example.key");
  CHECK_STR (c->annotation_values[0], "value");
  CHECK_STR (c->annotation_keys[1], "b");
  CHECK_STR (c->annotation_values[1], "");
  CHECK (c->annotation_keys[2] == NULL);

  for (int i = 0; i < MOAT_NS_COUNT; i++)
    CHECK (c->ns[i].present);
  CHECK_STR (c->ns[MOAT_NS_NET].path, "/var/run/netns/x");
  CHECK (c->ns[MOAT_NS_PID].path == NULL);
  CHECK (c->n_uid_mappings == 1);
  CHECK (c->uid_mappings[0].container_id == 0 && c->uid_mappings[0].host_id == 100000
         && c->uid_mappings[0].size == 65536);
  CHECK (c->n_gid_mappings == 2);
  CHECK (c->gid_mappings[1].container_id == 1000 && c->gid_mappings[1].host_id == 1000
         && c->gid_mappings[1].size == 1);
  CHECK (c->n_time_offsets == 2);
  CHECK (c->time_offsets[0].clock == CLOCK_MONOTONIC);
  CHECK (c->time_offsets[0].secs == -10 && c->time_offsets[0].nanosecs == 5);
  CHECK (c->time_offsets[1].clock == CLOCK_BOOTTIME);
  CHECK (c->time_offsets[1].secs == 3600 && c->time_offsets[1].nanosecs == 0);
  CHECK (c->n_devices == 2);
  CHECK_STR (c->devices[0].path, "/dev/fuse");
  CHECK (c->devices[0].type == 'c' && c->devices[0].major == 10 && c->devices[0].minor == 229);
  CHECK (c->devices[0].has_file_mode && c->devices[0].file_mode == 0666);
  CHECK (c->devices[0].has_uid && c->devices[0].uid == 0);
  CHECK (c->devices[0].has_gid && c->devices[0].gid == 5);
  CHECK (c->devices[1].type == 'p' && !c->devices[1].has_file_mode && !c->devices[1].has_uid);
  CHECK_STR (c->cgroups_path, "/moat/test");
  CHECK (YAJL_IS_OBJECT (c->resources));
  CHECK (YAJL_IS_OBJECT (json_lookup (c->resources, "memory")));
  CHECK (YAJL_IS_OBJECT (c->seccomp));
  CHECK_STR (YAJL_GET_STRING (json_lookup (c->seccomp, "defaultAction")), "SCMP_ACT_ALLOW");
  CHECK (c->n_sysctl == 2);
  CHECK_STR (c->sysctl[0].key, "net.ipv4.ip_forward");
  CHECK_STR (c->sysctl[0].value, "1");
  CHECK_STR (c->sysctl[1].key, "kernel.msgmax");
  CHECK_STR (c->masked_paths[0], "/proc/kcore");
  CHECK (strv_len (c->readonly_paths) == 2);
  CHECK_STR (c->rootfs_propagation, "rslave");
  CHECK_STR (c->mount_label, "system_u:object_r:container_file_t:s0");
  CHECK (YAJL_IS_OBJECT (c->tree));
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (minimal_config_defaults)
{
  cleanup_config struct moat_config *c = parse_ok (HEAD PROC "}");
  CHECK (c->has_process);
  CHECK (!c->terminal);
  CHECK (c->uid == 0 && c->gid == 0 && !c->has_umask);
  CHECK (c->env == NULL && !c->has_caps && c->n_rlimits == 0);
  CHECK (!c->no_new_privileges && !c->has_oom_score_adj);
  CHECK (c->hostname == NULL && c->n_mounts == 0 && c->n_annotations == 0);
  CHECK (!c->root_readonly);
  for (int i = 0; i < MOAT_NS_COUNT; i++)
    CHECK (!c->ns[i].present);
  CHECK (c->seccomp == NULL && c->resources == NULL);
  config_free (steal_pointer (&c));

  /* process is optional at parse time */
  c = parse_ok (HEAD "'hostname':'h'}");
  CHECK (!c->has_process);
  CHECK (c->args == NULL);
  config_free (steal_pointer (&c));

  /* JSON null is "absent" */
  c = parse_ok (HEAD "'process':{'args':['sh'],'cwd':'/','env':null,'terminal':null},'linux':null}");
  CHECK (c->env == NULL && !c->terminal);
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (unknown_fields_ignored)
{
  cleanup_config struct moat_config *c =
    parse_ok ("{'ociVersion':'1.0.2-dev','futureField':{'x':[1,2,{'y':null}]},"
              "'root':{'path':'/abs/rootfs','extra':1},"
              "'process':{'args':['a'],'cwd':'/','commandLine':'a b','ioPriority':{'class':'IOPRIO_CLASS_RT'},"
              "  'user':{'username':'root'}},"
              "'linux':{'intelRdt':{'closID':'x'},'personality':{'domain':'LINUX'},"
              "  'namespaces':[{'type':'pid','extra':true}]},"
              "'solaris':{},'windows':{},'vm':{}}");
  CHECK_STR (c->oci_version, "1.0.2-dev");
  CHECK_STR (c->root_path, "/abs/rootfs");
  CHECK (c->ns[MOAT_NS_PID].present);
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (malformed_json)
{
  cleanup_free char *m1 = parse_fail ("{'ociVersion': '1.2.0', 'root': }");
  CHECK_CONTAINS (m1, "config.json: malformed JSON: ");
  CHECK_CONTAINS (m1, "line 1, column ");
  CHECK (strchr (m1, '\n') == NULL);

  cleanup_free char *m2 = parse_fail ("{\n'ociVersion': '1.2.0',\n'root': {'path': 'r'}\n");
  CHECK_CONTAINS (m2, "config.json: malformed JSON: parse error: premature EOF");
  CHECK (strchr (m2, '\n') == NULL);

  cleanup_free char *m3 = parse_fail ("{} {}");
  CHECK_CONTAINS (m3, "config.json: malformed JSON: parse error: trailing garbage at line 1, column 4");

  cleanup_free char *m4 = parse_fail ("");
  CHECK_CONTAINS (m4, "config.json: malformed JSON: ");

  cleanup_free char *m5 = parse_fail ("{'a':1,\n  b}");
  CHECK_CONTAINS (m5, "invalid char in json text at line 2, column 3");

  /* comments are not JSON */
  cleanup_free char *m6 = parse_fail ("/* hi */ {}");
  CHECK_CONTAINS (m6, "config.json: malformed JSON: ");

  /* invalid UTF-8 */
  cleanup_free char *m7 = parse_fail (HEAD "'hostname':'\xff'}");
  CHECK_CONTAINS (m7, "config.json: malformed JSON: lexical error: invalid bytes in UTF8 string");
  LEAK_CHECK ();
}

TEST (top_level_must_be_object)
{
  EXPECT_ERROR ("[1, 2]", "config.json: expected object");
  EXPECT_ERROR ("'config'", "config.json: expected object");
  EXPECT_ERROR ("null", "config.json: expected object");
  LEAK_CHECK ();
}

TEST (wrong_types)
{
  EXPECT_ERROR ("{'ociVersion':1}", "config.json: ociVersion: expected string");
  EXPECT_ERROR ("{'ociVersion':'1','root':[]}", "config.json: root: expected object");
  EXPECT_ERROR ("{'ociVersion':'1','root':{'path':'r','readonly':'yes'}}",
                "config.json: root.readonly: expected boolean");
  EXPECT_ERROR (HEAD "'process':[]}", "config.json: process: expected object");
  EXPECT_ERROR (HEAD "'process':{'args':'sh','cwd':'/'}}", "config.json: process.args: expected array of strings");
  EXPECT_ERROR (HEAD "'process':{'args':['sh',1],'cwd':'/'}}", "config.json: process.args[1]: expected string");
  EXPECT_ERROR (HEAD "'process':{'args':['sh',null],'cwd':'/'}}", "config.json: process.args[1]: expected string");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','terminal':1}}",
                "config.json: process.terminal: expected boolean");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'uid':-1}}}",
                "config.json: process.user.uid: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'uid':1.5}}}",
                "config.json: process.user.uid: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'gid':4294967296}}}",
                "config.json: process.user.gid: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'additionalGids':[1,'2']}}}",
                "config.json: process.user.additionalGids[1]: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','consoleSize':{'height':1e2,'width':80}}}",
                "config.json: process.consoleSize.height: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','capabilities':{'bounding':['CAP_KILL',{}]}}}",
                "config.json: process.capabilities.bounding[1]: expected string");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':-1,'hard':1}]}}",
                "config.json: process.rlimits[0].soft: expected unsigned 64-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':1,"
                "'hard':18446744073709551616}]}}",
                "config.json: process.rlimits[0].hard: expected unsigned 64-bit integer");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','oomScoreAdj':'5'}}",
                "config.json: process.oomScoreAdj: expected 32-bit integer");
  EXPECT_ERROR (HEAD "'mounts':{}}", "config.json: mounts: expected array");
  EXPECT_ERROR (HEAD "'mounts':['/proc']}", "config.json: mounts[0]: expected object");
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','options':['ro',7]}]}",
                "config.json: mounts[0].options[1]: expected string");
  EXPECT_ERROR (HEAD "'hooks':{'prestart':[{'path':'/h','timeout':'5'}]}}",
                "config.json: hooks.prestart[0].timeout: expected 32-bit integer");
  EXPECT_ERROR (HEAD "'annotations':{'a':'b','c':1}}", "config.json: annotations.c: expected string");
  EXPECT_ERROR (HEAD "'annotations':{'io.k8s.x':true}}", "config.json: annotations[\"io.k8s.x\"]: expected string");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':{}}}", "config.json: linux.namespaces: expected array");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':0,'size':-1}]}}",
                "config.json: linux.uidMappings[0].size: expected unsigned 32-bit integer");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'c','major':1.0,'minor':1}]}}",
                "config.json: linux.devices[0].major: expected 64-bit integer");
  EXPECT_ERROR (HEAD "'linux':{'timeOffsets':{'monotonic':{'secs':'1'}}}}",
                "config.json: linux.timeOffsets.monotonic.secs: expected 64-bit integer");
  EXPECT_ERROR (HEAD "'linux':{'sysctl':{'net.ipv4.ip_forward':1}}}",
                "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected string");
  EXPECT_ERROR (HEAD "'linux':{'seccomp':[]}}", "config.json: linux.seccomp: expected object");
  EXPECT_ERROR (HEAD "'linux':{'resources':'x'}}", "config.json: linux.resources: expected object");
  EXPECT_ERROR (HEAD "'linux':{'maskedPaths':'/proc'}}", "config.json: linux.maskedPaths: expected array of strings");
  EXPECT_ERROR (HEAD "'linux':7}", "config.json: linux: expected object");
  LEAK_CHECK ();
}

TEST (required_fields)
{
  EXPECT_ERROR ("{}", "config.json: ociVersion: required field missing");
  EXPECT_ERROR ("{'ociVersion':null}", "config.json: ociVersion: required field missing");
  EXPECT_ERROR ("{'ociVersion':'1.2.0'}", "config.json: root: required field missing");
  EXPECT_ERROR ("{'ociVersion':'1.2.0','root':{'readonly':true}}", "config.json: root.path: required field missing");
  EXPECT_ERROR ("{'ociVersion':'1.2.0','root':{'path':''}}", "config.json: root.path: must not be empty");
  EXPECT_ERROR (HEAD "'process':{'cwd':'/'}}", "config.json: process.args: required field missing");
  EXPECT_ERROR (HEAD "'process':{'args':['sh']}}", "config.json: process.cwd: required field missing");
  EXPECT_ERROR (HEAD "'mounts':[{'type':'proc'}]}", "config.json: mounts[0].destination: required field missing");
  EXPECT_ERROR (HEAD "'hooks':{'poststop':[{'args':['x']}]}}", "config.json: hooks.poststop[0].path: required field missing");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'path':'/x'}]}}", "config.json: linux.namespaces[0].type: required field missing");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'user'}],'gidMappings':[{'containerID':0,'size':1}]}}",
                "config.json: linux.gidMappings[0].hostID: required field missing");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'soft':1,'hard':1}]}}",
                "config.json: process.rlimits[0].type: required field missing");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','consoleSize':{'height':1}}}",
                "config.json: process.consoleSize.width: required field missing");
  LEAK_CHECK ();
}

TEST (process_checks)
{
  EXPECT_ERROR (HEAD "'process':{'args':[],'cwd':'/'}}", "config.json: process.args: must not be empty");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'work'}}", "config.json: process.cwd: must be an absolute path");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':''}}", "config.json: process.cwd: must be an absolute path");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
                "config.json: process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':1,'hard':1},"
                "{'type':'RLIMIT_CORE','soft':2,'hard':2}]}}",
                "config.json: process.rlimits[1].type: duplicate rlimit `RLIMIT_CORE`");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':2,'hard':1}]}}",
                "config.json: process.rlimits[0]: soft limit 2 exceeds hard limit 1");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1001}}",
                "config.json: process.oomScoreAdj: must be between -1000 and 1000");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'uid':4294967295}}}",
                "config.json: process.user.uid: 4294967295 is not a valid id");
  EXPECT_ERROR (HEAD "'process':{'args':['sh'],'cwd':'/','user':{'umask':512}}}",
                "config.json: process.user.umask: must be at most 0777 (511)");

  /* every RLIMIT_* name */
  static const char *const names[] = {
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
    "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
  };
  static const int values[] = {
    RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_LOCKS,
    RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC,
    RLIMIT_RSS, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK,
  };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    {
      cleanup_free char *doc = xasprintf (HEAD "'process':{'args':['sh'],'cwd':'/',"
                                          "'rlimits':[{'type':'%s','soft':1,'hard':2}]}}", names[i]);
      cleanup_config struct moat_config *c = parse_ok (doc);
      CHECK (c->n_rlimits == 1 && c->rlimits[0].resource == values[i]);
      CHECK_STR (c->rlimits[0].name, names[i]);
    }
  LEAK_CHECK ();
}

TEST (mount_checks)
{
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/proc'},{'destination':'/dev'},{'destination':'tmp'}]}",
                "config.json: mounts[2].destination: must be an absolute path");
  EXPECT_ERROR (HEAD "'hooks':{'createRuntime':[{'path':'hook'}]}}",
                "config.json: hooks.createRuntime[0].path: must be an absolute path");
  EXPECT_ERROR (HEAD "'hooks':{'poststart':[{'path':'/h','timeout':0}]}}",
                "config.json: hooks.poststart[0].timeout: must be greater than zero");
  EXPECT_ERROR (HEAD "'hooks':{'poststart':[{'path':'/h','timeout':-3}]}}",
                "config.json: hooks.poststart[0].timeout: must be greater than zero");
  EXPECT_ERROR (HEAD "'hooks':{'prestart':{}}}", "config.json: hooks.prestart: expected array");
  LEAK_CHECK ();
}

TEST (mount_extensions)
{
  cleanup_config struct moat_config *c =
    parse_ok (HEAD "'mounts':["
              "{'destination':'/a','type':'bind','source':'/s','options':['rbind','ridmap'],"
              "'uidMappings':[{'containerID':0,'hostID':1000,'size':10}],"
              "'gidMappings':[{'containerID':0,'hostID':2000,'size':10}]},"
              "{'destination':'/b','type':'tmpfs','source':'tmpfs','options':['tmpcopyup']},"
              "{'destination':'/c','type':'bind','source':'/s','uidMappings':[{'containerID':0,'hostID':1,'size':1}],"
              "'gidMappings':[{'containerID':0,'hostID':1,'size':1}]}]}");
  CHECK (c->mounts[0].idmap && c->mounts[0].idmap_recursive && c->mounts[0].data == NULL);
  CHECK (c->mounts[0].n_uid_mappings == 1 && c->mounts[0].uid_mappings[0].host_id == 1000);
  CHECK (c->mounts[0].n_gid_mappings == 1 && c->mounts[0].gid_mappings[0].host_id == 2000);
  CHECK (c->mounts[1].tmpcopyup && c->mounts[1].data == NULL);
  CHECK (!c->mounts[2].idmap && c->mounts[2].n_uid_mappings == 1);   /* mappings alone: idmapped too */
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','type':'bind','source':'/s','options':['bind','idmap']}]}",
                "config.json: mounts[0]: idmap without uidMappings/gidMappings needs a user namespace to take "
                "the mapping from (runtime-spec)");
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','type':'tmpfs','source':'tmpfs','options':['idmap'],"
                "'uidMappings':[{'containerID':0,'hostID':1,'size':1}],'gidMappings':[{'containerID':0,'hostID':1,'size':1}]}]}",
                "config.json: mounts[0]: idmapped mounts: moat maps bind mounts only (this one is type `tmpfs`)");
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','type':'bind','source':'/s','options':['bind'],"
                "'gidMappings':[{'containerID':0,'hostID':1,'size':1}]}]}",
                "config.json: mounts[0]: uidMappings and gidMappings go together (runtime-spec)");
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','type':'bind','source':'/s','options':['bind'],"
                "'uidMappings':[{'containerID':0,'hostID':1,'size':0}]}]}",
                "config.json: mounts[0].uidMappings[0].size: invalid uid mapping: size must not be 0");
  EXPECT_ERROR (HEAD "'mounts':[{'destination':'/a','type':'proc','source':'proc','options':['tmpcopyup']}]}",
                "config.json: mounts[0]: tmpcopyup: only for a tmpfs mount");
}

TEST (mount_options)
{
  cleanup_config struct moat_config *c =
    parse_ok (HEAD "'mounts':["
              "{'destination':'/a','source':'/src','options':['nosuid','noexec','nodev','ro','rbind','rprivate','mode=755','size=1k']},"
              "{'destination':'/b','type':'tmpfs','options':['rw','suid','dev','exec','relatime','private','newinstance']},"
              "{'destination':'/c','type':'bind','source':'/x'},"
              "{'destination':'/d','type':'none','options':['bind','slave','rro','rnosuid','rsuid','ratime']},"
              "{'destination':'/e','type':'devpts','options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620','gid=5']},"
              "{'destination':'/f','options':['ro','rw','noatime','atime','strictatime','sync','dirsync','remount','mand','nodiratime','lazytime']},"
              "{'destination':'/g','options':['rshared']},"
              "{'destination':'/h','options':['rslave','unbindable']},"
              "{'destination':'/i','options':['runbindable','defaults','async','nomand','norelatime','nostrictatime','diratime']}"
              "]}");
  CHECK (c->n_mounts == 9);
  struct moat_mount *m = c->mounts;
  CHECK (m[0].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY | MS_BIND | MS_REC));
  CHECK (m[0].clear_flags == 0);
  CHECK (m[0].propagation == (MS_PRIVATE | MS_REC));
  CHECK_STR (m[0].data, "mode=755,size=1k");
  CHECK (m[0].bind);
  CHECK (strv_len (m[0].options) == 8);

  CHECK (m[1].flags == MS_RELATIME);
  CHECK (m[1].clear_flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  CHECK (m[1].propagation == MS_PRIVATE);
  CHECK_STR (m[1].data, "newinstance");
  CHECK (!m[1].bind);

  CHECK (m[2].bind);
  CHECK (m[2].flags == MS_BIND);
  CHECK (m[2].data == NULL && m[2].propagation == 0);

  CHECK (m[3].bind && m[3].flags == MS_BIND);
  CHECK (m[3].propagation == MS_SLAVE);
  CHECK (m[3].data == NULL);   /* the recursive options are not file system data */
  CHECK (strv_len (m[3].options) == 6);
  /* rro sets read-only; rsuid, later, undoes rnosuid; ratime is the
   * kernel's default atime mode (relatime), set whole */
  CHECK (m[3].rec_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_RELATIME));
  CHECK (m[3].rec_clr == (MOUNT_ATTR_NOSUID | MOUNT_ATTR__ATIME));

  CHECK (m[4].flags == (MS_NOSUID | MS_NOEXEC));
  CHECK_STR (m[4].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");

  /* "ro" then "rw": the later one wins, as in runc */
  CHECK (m[5].flags == (MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK
                        | MS_NODIRATIME | MS_LAZYTIME));
  CHECK (m[5].clear_flags == (MS_RDONLY | MS_NOATIME));
  CHECK (m[5].data == NULL);

  CHECK (m[6].propagation == (MS_SHARED | MS_REC));
  CHECK (m[7].propagation == MS_UNBINDABLE);
  CHECK (m[8].propagation == (MS_UNBINDABLE | MS_REC));
  CHECK (m[8].flags == 0);
  CHECK (m[8].clear_flags == (MS_SYNCHRONOUS | MS_MANDLOCK | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME));
  CHECK (m[8].data == NULL);
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (namespace_checks)
{
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'foo'}]}}",
                "config.json: linux.namespaces[0].type: unknown namespace type `foo`");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'pid'},{'type':'net'}]}}",
                "config.json: linux.namespaces[1].type: unknown namespace type `net`");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'pid'},{'type':'uts'},{'type':'pid'}]}}",
                "config.json: linux.namespaces[2].type: duplicate namespace type `pid`");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'network','path':'netns/x'}]}}",
                "config.json: linux.namespaces[0].path: must be an absolute path");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]}}",
                "config.json: linux.uidMappings[0].size: invalid uid mapping: size must not be 0");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'user'}],'gidMappings':[{'containerID':0,'hostID':1,'size':1},"
                "{'containerID':1,'hostID':2,'size':0}]}}",
                "config.json: linux.gidMappings[1].size: invalid gid mapping: size must not be 0");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':1,'hostID':0,'size':4294967295}]}}",
                "config.json: linux.uidMappings[0]: invalid uid mapping: range exceeds 32 bits");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'pid'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
                "config.json: linux.uidMappings: uid mappings given but linux.namespaces has no user namespace");
  EXPECT_ERROR (HEAD "'linux':{'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
                "config.json: linux.gidMappings: gid mappings given but linux.namespaces has no user namespace");
  EXPECT_ERROR (HEAD "'linux':{'timeOffsets':{'monotonic':{'secs':1}}}}",
                "config.json: linux.timeOffsets: time offsets given but linux.namespaces has no time namespace");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}}}",
                "config.json: linux.timeOffsets.realtime: unknown clock (expected monotonic or boottime)");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'boottime':{'nanosecs':1000000000}}}}",
                "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
  EXPECT_ERROR (HEAD "'linux':{'rootfsPropagation':'recursive'}}",
                "config.json: linux.rootfsPropagation: unknown propagation `recursive`");

  /* an empty mapping list needs no user namespace */
  cleanup_config struct moat_config *c = parse_ok (HEAD "'linux':{'uidMappings':[],'gidMappings':[]}}");
  CHECK (c->n_uid_mappings == 0 && c->n_gid_mappings == 0);
  config_free (steal_pointer (&c));

  /* helpers */
  static const char *const oci[] = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" };
  static const char *const proc[] = { "pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time" };
  static const int flags[] = { CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS,
                               CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80 };
  for (int i = 0; i < MOAT_NS_COUNT; i++)
    {
      CHECK (ns_type_from_name (oci[i]) == i);
      CHECK_STR (ns_type_name (i), oci[i]);
      CHECK_STR (ns_proc_name (i), proc[i]);
      CHECK (ns_clone_flag (i) == flags[i]);
    }
  CHECK (ns_type_from_name ("net") == -1);
  CHECK (ns_type_from_name ("") == -1);
  CHECK (ns_type_from_name (NULL) == -1);
  CHECK (ns_type_name (MOAT_NS_COUNT) == NULL);
  CHECK (ns_type_name (-1) == NULL);
  CHECK (ns_clone_flag (MOAT_NS_COUNT) == 0);
  LEAK_CHECK ();
}

TEST (device_checks)
{
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]}}",
                "config.json: linux.devices[0].type: unknown device type `x` (expected c, b, u or p)");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'cb','major':1,'minor':1}]}}",
                "config.json: linux.devices[0].type: unknown device type `cb` (expected c, b, u or p)");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'b','minor':1}]}}",
                "config.json: linux.devices[0].major: required field missing");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'u','major':1}]}}",
                "config.json: linux.devices[0].minor: required field missing");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]}}",
                "config.json: linux.devices[0].path: must be an absolute path");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'type':'c','major':1,'minor':1}]}}",
                "config.json: linux.devices[0].path: required field missing");
  EXPECT_ERROR (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':131072}]}}",
                "config.json: linux.devices[0].fileMode: not a permission mode (at most 07777)");

  /* st_mode with the type bits is accepted (S_IFCHR|0620) */
  cleanup_config struct moat_config *c =
    parse_ok (HEAD "'linux':{'devices':[{'path':'/dev/x','type':'u','major':-1,'minor':0,'fileMode':8592}]}}");
  CHECK (c->devices[0].type == 'u' && c->devices[0].major == -1);
  CHECK (c->devices[0].file_mode == 0620);
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (nul_bytes_rejected)
{
  EXPECT_ERROR (HEAD "'process':{'args':['sh','a\\u0000b'],'cwd':'/'}}",
                "config.json: process.args[1]: contains a NUL byte");
  EXPECT_ERROR (HEAD "'hostname':'\\u0000'}", "config.json: hostname: contains a NUL byte");
  EXPECT_ERROR (HEAD "'annotations':{'k\\u0000':'v'}}", "config.json: annotations: object key contains a NUL byte");
  EXPECT_ERROR ("{'x\\u0000':1}", "config.json: object key contains a NUL byte");
  /* an escaped backslash followed by u0000 is not a NUL */
  cleanup_config struct moat_config *c = parse_ok (HEAD "'hostname':'a\\\\u0000'}");
  CHECK_STR (c->hostname, "a\\u0000");
  config_free (steal_pointer (&c));

  /* a raw NUL inside the text (config_load passes the length) */
  static const char raw[] = "{\"ociVersion\":\"1\0\"}";
  yajl_val tree = NULL;
  cleanup_error moat_error *err = NULL;
  CHECK (json_parse (raw, sizeof raw - 1, "x.json", &tree, &err) < 0);
  CHECK (tree == NULL);
  CHECK_CONTAINS (err->msg, "x.json: malformed JSON: ");
  LEAK_CHECK ();
}

TEST (duplicate_keys)
{
  EXPECT_ERROR ("{'ociVersion':'1','ociVersion':'2'}", "config.json: ociVersion: duplicate key");
  EXPECT_ERROR (HEAD "'process':{'args':['a'],'cwd':'/','args':['b']}}", "config.json: process.args: duplicate key");
  EXPECT_ERROR (HEAD "'annotations':{'a':'1','b':'2','a':'3'}}", "config.json: annotations.a: duplicate key");
  EXPECT_ERROR (HEAD "'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'boottime':{},'boottime':{}}}}",
                "config.json: linux.timeOffsets.boottime: duplicate key");
  /* unknown duplicate keys are not looked at */
  cleanup_config struct moat_config *c = parse_ok (HEAD "'x':1,'x':2}");
  config_free (steal_pointer (&c));
  LEAK_CHECK ();
}

TEST (json_helpers)
{
  cleanup_free char *p1 = json_path_key ("", "root");
  CHECK_STR (p1, "root");
  cleanup_free char *p2 = json_path_key ("linux", "namespaces");
  CHECK_STR (p2, "linux.namespaces");
  cleanup_free char *p3 = json_path_index (p2, 3);
  CHECK_STR (p3, "linux.namespaces[3]");
  cleanup_free char *p4 = json_path_key ("annotations", "a.b\n\"");
  CHECK_STR (p4, "annotations[\"a.b\\x0a\\\"\"]");
  cleanup_free char *p5 = json_path_key (NULL, "x");
  CHECK_STR (p5, "x");
  cleanup_free char *s1 = json_printable ("a\tb\x7f");
  CHECK_STR (s1, "a\\x09b\\x7f");

  static const char doc[] =
    "{\"s\":\"str\",\"b\":false,\"i\":-9223372036854775808,\"big\":9223372036854775808,"
    "\"u\":18446744073709551615,\"u32\":4294967295,\"f\":1.5,\"e\":1e3,\"n\":null,\"neg0\":-0,"
    "\"v\":[\"a\",\"b\"],\"o\":{\"k\":\"v\"},\"a\":[]}";
  cleanup_json yajl_val t = NULL;
  cleanup_error moat_error *err = NULL;
  CHECK (json_parse (doc, strlen (doc), "t.json", &t, &err) == 0);

  char *s = NULL;
  CHECK (json_get_string (t, "s", "t.json", "", &s, true, &err) == 1);
  CHECK_STR (s, "str");
  free (s);
  CHECK (json_get_string (t, "missing", "t.json", "", &s, false, &err) == 0);
  CHECK (s == NULL);
  CHECK (json_get_string (t, "n", "t.json", "", &s, false, &err) == 0);
  CHECK (s == NULL && err == NULL);

  bool b = true;
  CHECK (json_get_bool (t, "b", "t.json", "", &b, true, &err) == 1 && b == false);
  b = true;
  CHECK (json_get_bool (t, "missing", "t.json", "", &b, false, &err) == 0 && b == true);

  int64_t i = 0;
  CHECK (json_get_int64 (t, "i", "t.json", "", &i, true, &err) == 1 && i == INT64_MIN);
  CHECK (json_get_int64 (t, "neg0", "t.json", "", &i, true, &err) == 1 && i == 0);
  uint64_t u = 0;
  CHECK (json_get_uint64 (t, "u", "t.json", "", &u, true, &err) == 1 && u == UINT64_MAX);
  CHECK (json_get_uint64 (t, "big", "t.json", "", &u, true, &err) == 1 && u == 9223372036854775808ULL);
  uint32_t u32 = 0;
  CHECK (json_get_uint32 (t, "u32", "t.json", "", &u32, true, &err) == 1 && u32 == UINT32_MAX);
  int32_t i32 = 0;
  CHECK (err == NULL);

  CHECK (json_get_int64 (t, "big", "t.json", "", &i, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: big: expected 64-bit integer");
  moat_error_free (&err);
  CHECK (json_get_int64 (t, "f", "t.json", "", &i, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: f: expected 64-bit integer");
  moat_error_free (&err);
  CHECK (json_get_int64 (t, "e", "t.json", "", &i, true, &err) < 0);
  moat_error_free (&err);
  CHECK (json_get_int32 (t, "u32", "t.json", "", &i32, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: u32: expected 32-bit integer");
  moat_error_free (&err);
  CHECK (json_get_uint64 (t, "neg0", "t.json", "", &u, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: neg0: expected unsigned 64-bit integer");
  moat_error_free (&err);
  CHECK (json_get_uint32 (t, "u", "t.json", "", &u32, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: u: expected unsigned 32-bit integer");
  moat_error_free (&err);

  cleanup_strv char **v = NULL;
  CHECK (json_get_strv (t, "v", "t.json", "", &v, true, &err) == 1);
  CHECK (strv_len (v) == 2);
  CHECK_STR (v[1], "b");
  cleanup_strv char **empty = NULL;
  CHECK (json_get_strv (t, "a", "t.json", "", &empty, true, &err) == 1);
  CHECK (empty != NULL && empty[0] == NULL);

  yajl_val o = NULL;
  CHECK (json_get_object (t, "o", "t.json", "", &o, true, &err) == 1 && YAJL_IS_OBJECT (o));
  CHECK (json_get_array (t, "o", "t.json", "", &o, true, &err) < 0 && o == NULL);
  CHECK_STR (err->msg, "t.json: o: expected array");
  moat_error_free (&err);
  /* a non-object parent */
  yajl_val arr = json_lookup (t, "v");
  CHECK (json_get_string (arr, "x", "t.json", "v", &s, false, &err) < 0);
  CHECK_STR (err->msg, "t.json: v: expected object");
  moat_error_free (&err);
  /* an absent parent: every key absent */
  CHECK (json_get_string (NULL, "x", "t.json", "p", &s, false, &err) == 0);
  CHECK (json_get_string (NULL, "x", "t.json", "p", &s, true, &err) < 0);
  CHECK_STR (err->msg, "t.json: p.x: required field missing");
  moat_error_free (&err);

  cleanup_strv char **keys = NULL;
  cleanup_strv char **vals = NULL;
  size_t n = 0;
  CHECK (json_get_string_map (t, "o", "t.json", "", &keys, &vals, &n, true, &err) == 1);
  CHECK (n == 1);
  CHECK_STR (keys[0], "k");
  CHECK_STR (vals[0], "v");

  CHECK_STR (json_type_name (json_lookup (t, "o")), "object");
  CHECK_STR (json_type_name (json_lookup (t, "n")), "null");

  /* json_error without path or document name */
  CHECK (json_error (&err, "d", NULL, "m %d", 1) < 0);
  CHECK_STR (err->msg, "d: m 1");
  moat_error_free (&err);
  CHECK (json_error (&err, NULL, "p", "m") < 0);
  CHECK_STR (err->msg, "p: m");
  moat_error_free (&err);

  json_free (steal_pointer (&t));
  LEAK_CHECK ();
}

TEST (deep_nesting_rejected)
{
  size_t depth = 100000;
  cleanup_free char *text = xmalloc0 (depth * 2 + 1);
  memset (text, '[', depth);
  memset (text + depth, ']', depth);
  yajl_val t = NULL;
  cleanup_error moat_error *err = NULL;
  CHECK (json_parse (text, depth * 2, "deep.json", &t, &err) < 0);
  CHECK_CONTAINS (err->msg, "deep.json: [0][0][0]");
  CHECK_CONTAINS (err->msg, "nested more than 64 levels deep");
  moat_error_free (&err);

  /* exactly the limit is fine */
  memset (text, 0, depth * 2 + 1);
  memset (text, '[', JSON_MAX_DEPTH);
  memset (text + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
  CHECK (json_parse (text, strlen (text), "ok.json", &t, &err) == 0);
  json_free (t);
  LEAK_CHECK ();
}

static void
check_default_spec (bool rootless)
{
  const struct moat_idmap um[] = { { 0, 1234, 1 } }, gm[] = { { 0, 5678, 1 } };
  cleanup_free char *spec = config_default_spec (rootless, um, 1, gm, 1);
  CHECK (spec != NULL);
  CHECK_CONTAINS (spec, "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\n    \"terminal\": false,");
  cleanup_config struct moat_config *c = NULL;
  cleanup_error moat_error *err = NULL;
  if (config_parse (spec, "spec", &c, &err) < 0)
    {
      fprintf (stderr, "#   %s\n", err->msg);
      exit (1);
    }
  CHECK_STR (c->oci_version, "1.3.0");
  CHECK (c->has_process && !c->terminal);
  CHECK (c->uid == 0 && c->gid == 0);
  CHECK (strv_len (c->args) == 1);
  CHECK_STR (c->args[0], "sh");
  CHECK_STR (c->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  CHECK_STR (c->env[1], "TERM=xterm");
  CHECK_STR (c->cwd, "/");
  CHECK (c->has_caps);
  char **sets[] = { c->caps.bounding, c->caps.effective, c->caps.permitted };
  for (size_t i = 0; i < ARRAY_SIZE (sets); i++)
    {
      CHECK (strv_len (sets[i]) == 3);
      CHECK_STR (sets[i][0], "CAP_AUDIT_WRITE");
      CHECK_STR (sets[i][1], "CAP_KILL");
      CHECK_STR (sets[i][2], "CAP_NET_BIND_SERVICE");
    }
  CHECK (c->caps.inheritable == NULL && c->caps.ambient == NULL);
  CHECK (c->no_new_privileges);
  CHECK_STR (c->root_path, "rootfs");
  CHECK (c->root_readonly);
  CHECK_STR (c->hostname, "moat");
  CHECK_STR (c->mounts[0].destination, "/proc");
  CHECK_STR (c->mounts[1].destination, "/dev");
  CHECK_STR (c->mounts[1].data, "mode=755,size=65536k");
  CHECK (c->mounts[1].flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK_STR (c->mounts[2].destination, "/dev/pts");
  CHECK_STR (c->mounts[3].destination, "/dev/shm");
  CHECK_STR (c->mounts[4].destination, "/dev/mqueue");
  CHECK_STR (c->mounts[5].destination, "/sys");
  CHECK (strv_len (c->masked_paths) >= 10);
  CHECK_STR (c->masked_paths[0], "/proc/acpi");
  CHECK (strv_len (c->readonly_paths) == 5);
  CHECK_STR (c->readonly_paths[4], "/proc/sysrq-trigger");
  CHECK (c->ns[MOAT_NS_PID].present && c->ns[MOAT_NS_IPC].present && c->ns[MOAT_NS_UTS].present
         && c->ns[MOAT_NS_MNT].present);
  CHECK (!c->ns[MOAT_NS_TIME].present);
  if (rootless)
    {
      CHECK (c->n_mounts == 6);
      CHECK_STR (c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
      CHECK_STR (c->mounts[5].source, "/sys");
      CHECK (c->mounts[5].bind);
      CHECK (c->mounts[5].flags == (MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
      CHECK (c->ns[MOAT_NS_USER].present);
      CHECK (!c->ns[MOAT_NS_NET].present && !c->ns[MOAT_NS_CGROUP].present);
      CHECK (c->n_uid_mappings == 1 && c->uid_mappings[0].container_id == 0
             && c->uid_mappings[0].host_id == 1234 && c->uid_mappings[0].size == 1);
      CHECK (c->n_gid_mappings == 1 && c->gid_mappings[0].container_id == 0
             && c->gid_mappings[0].host_id == 5678 && c->gid_mappings[0].size == 1);
      CHECK (c->n_rlimits == 0);
      CHECK (c->resources == NULL);
    }
  else
    {
      CHECK (c->n_mounts == 7);
      CHECK_STR (c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
      CHECK_STR (c->mounts[5].type, "sysfs");
      CHECK (c->mounts[5].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
      CHECK_STR (c->mounts[6].destination, "/sys/fs/cgroup");
      CHECK_STR (c->mounts[6].type, "cgroup");
      CHECK (!c->ns[MOAT_NS_USER].present);
      CHECK (c->ns[MOAT_NS_NET].present && c->ns[MOAT_NS_CGROUP].present);
      CHECK (c->n_uid_mappings == 0 && c->n_gid_mappings == 0);
      CHECK (c->n_rlimits == 1 && c->rlimits[0].resource == RLIMIT_NOFILE);
      CHECK (c->rlimits[0].soft == 1024 && c->rlimits[0].hard == 1024);
    }
}

TEST (default_spec_root)
{
  check_default_spec (false);
  LEAK_CHECK ();
}

TEST (default_spec_rootless)
{
  check_default_spec (true);
  LEAK_CHECK ();
}

TEST (default_spec_rootless_ranges)
{
  /* podman's layout: the user as root, then the subordinate range from 1;
   * devpts keeps gid=5 once the range maps it. */
  const struct moat_idmap um[] = { { 0, 1234, 1 }, { 1, 100000, 65536 } };
  const struct moat_idmap gm[] = { { 0, 5678, 1 }, { 1, 200000, 65536 } };
  cleanup_free char *spec = config_default_spec (true, um, 2, gm, 2);
  cleanup_config struct moat_config *c = NULL;
  cleanup_error moat_error *err = NULL;
  CHECK (config_parse (spec, "spec", &c, &err) == 0);
  CHECK (c->n_uid_mappings == 2 && c->uid_mappings[1].container_id == 1
         && c->uid_mappings[1].host_id == 100000 && c->uid_mappings[1].size == 65536);
  CHECK (c->n_gid_mappings == 2 && c->gid_mappings[0].host_id == 5678
         && c->gid_mappings[1].host_id == 200000 && c->gid_mappings[1].size == 65536);
  CHECK_STR (c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  LEAK_CHECK ();
}

TEST (subid_range_lookup)
{
  char path[] = "/tmp/moat-test-subid.XXXXXX";
  int fd = mkstemp (path);
  CHECK (fd >= 0);
  static const char text[] =
    "alice:100000:65536\n"
    "garbage\n"
    "bob:x:10\n"                 /* not a number: skipped */
    "bob:-5:10\n"                /* no sign */
    "bob:4294967290:100\n"       /* past 2^32: skipped */
    "bob:300000:0\n"             /* empty: skipped */
    "4243:500000:1000\n"
    "bob:165536:65536\n"
    "bob:231072:10";              /* no newline at the end, second range */
  CHECK (write_all (fd, text, sizeof text - 1) == 0);
  close (fd);
  uint32_t start = 0, count = 0;
  CHECK (ns_subid_range (path, "alice", 1000, &start, &count));
  CHECK (start == 100000 && count == 65536);
  CHECK (ns_subid_range (path, "bob", 1001, &start, &count));   /* the first good range */
  CHECK (start == 165536 && count == 65536);
  CHECK (ns_subid_range (path, NULL, 4243, &start, &count));    /* by number, no account */
  CHECK (start == 500000 && count == 1000);
  CHECK (ns_subid_range (path, "carol", 4243, &start, &count)); /* by number, other name */
  CHECK (!ns_subid_range (path, "carol", 1002, &start, &count));
  CHECK (!ns_subid_range (path, "alic", 1002, &start, &count));
  CHECK (!ns_subid_range ("/nonexistent/subuid", "alice", 1000, &start, &count));
  unlink (path);
  LEAK_CHECK ();
}

static int
rm_rf_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st; (void) flag; (void) ftw;
  return remove (path);
}

TEST (config_load_from_bundle)
{
  char dir[] = "/tmp/moat-test-config.XXXXXX";
  CHECK (mkdtemp (dir) != NULL);
  cleanup_free char *path = xasprintf ("%s/config.json", dir);
  cleanup_close int dfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  CHECK (dfd >= 0);

  /* missing file: the message names the full path and keeps errno */
  cleanup_config struct moat_config *c = NULL;
  cleanup_error moat_error *err = NULL;
  CHECK (config_load (dir, &c, &err) < 0);
  CHECK_STR (err->msg, path);
  CHECK (err->errnum == ENOENT);
  cleanup_free char *printed = moat_error_string (err);
  CHECK_CONTAINS (printed, "/config.json: No such file or directory");
  moat_error_free (&err);

  cleanup_free char *spec = config_default_spec (false, NULL, 0, NULL, 0);
  CHECK (write_file_atomic_at (dfd, "config.json", spec, strlen (spec), 0644, &err) == 0);
  CHECK (config_load (dir, &c, &err) == 0);
  CHECK_STR (c->hostname, "moat");
  config_free (steal_pointer (&c));

  /* trailing slash on the bundle */
  cleanup_free char *slash = xasprintf ("%s/", dir);
  CHECK (config_load (slash, &c, &err) == 0);
  config_free (steal_pointer (&c));

  /* errors carry the full path as the document name */
  static const char bad[] = "{\"ociVersion\":\"1\",\"root\":{}}";
  CHECK (write_file_atomic_at (dfd, "config.json", bad, strlen (bad), 0644, &err) == 0);
  CHECK (config_load (dir, &c, &err) < 0);
  cleanup_free char *want = xasprintf ("%s: root.path: required field missing", path);
  CHECK_STR (err->msg, want);
  moat_error_free (&err);

  /* a raw NUL byte in the file */
  static const char nul[] = "{\"ociVersion\":\"1\0\",\"root\":{\"path\":\"r\"}}";
  CHECK (write_file_atomic_at (dfd, "config.json", nul, sizeof nul - 1, 0644, &err) == 0);
  CHECK (config_load (dir, &c, &err) < 0);
  CHECK_CONTAINS (err->msg, "malformed JSON");
  moat_error_free (&err);

  /* more than 16 MiB */
  size_t big = 16u * 1024 * 1024 + 2;
  cleanup_free char *huge = xmalloc0 (big);
  memset (huge, ' ', big);
  huge[0] = '{';
  huge[big - 1] = '}';
  CHECK (write_file_atomic_at (dfd, "config.json", huge, big, 0644, &err) == 0);
  CHECK (config_load (dir, &c, &err) < 0);
  CHECK_CONTAINS (err->msg, "/config.json: larger than 16777216 bytes");
  moat_error_free (&err);

  CHECK (nftw (dir, rm_rf_cb, 8, FTW_DEPTH | FTW_PHYS) == 0);
  LEAK_CHECK ();
}

TAP_MAIN (CASE (full_config_parses),
          CASE (minimal_config_defaults),
          CASE (unknown_fields_ignored),
          CASE (malformed_json),
          CASE (top_level_must_be_object),
          CASE (wrong_types),
          CASE (required_fields),
          CASE (process_checks),
          CASE (mount_checks),
          CASE (mount_options),
          CASE (mount_extensions),
          CASE (namespace_checks),
          CASE (device_checks),
          CASE (nul_bytes_rejected),
          CASE (duplicate_keys),
          CASE (json_helpers),
          CASE (deep_nesting_rejected),
          CASE (default_spec_root),
          CASE (default_spec_rootless),
          CASE (default_spec_rootless_ranges),
          CASE (subid_range_lookup),
          CASE (config_load_from_bundle))
