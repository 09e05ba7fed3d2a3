#include "config-host.h"
#include "intelrdt.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

char *
intelrdt_resctrl_mount (void)
{
  cleanup_file FILE *mi = fopen ("/proc/self/mountinfo", "re");
  if (mi == NULL)
    return NULL;
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, mi) > 0)
    {
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
      char *sep = strstr (line, " - ");
      char mnt[4096], fstype[64];
      if (sep && sscanf (sep + 3, "%63s", fstype) == 1 && strcmp (fstype, "resctrl") == 0
          && sscanf (line, "%*s %*s %*s %*s %4095s", mnt) == 1)
        return xstrdup (mnt);
    }
  return NULL;
}

int
intelrdt_check (yajl_val lx, const char *doc, moat_error **err)
{
  yajl_val rdt = NULL;
  if (lx == NULL || json_get_object (lx, "intelRdt", doc, "linux", &rdt, false, err) < 0)
    return lx == NULL ? 0 : -1;
  if (rdt == NULL)
    return 0;
  const char *P = "linux.intelRdt";
  cleanup_free char *clos = NULL, *l3 = NULL, *mb = NULL, *schemata = NULL;
  bool b = false;
  if (json_get_string (rdt, "closID", doc, P, &clos, false, err) < 0
      || json_get_string (rdt, "l3CacheSchema", doc, P, &l3, false, err) < 0
      || json_get_string (rdt, "memBwSchema", doc, P, &mb, false, err) < 0
      || json_get_string (rdt, "schemata", doc, P, &schemata, false, err) < 0
      || json_get_bool (rdt, "enableCMT", doc, P, &b, false, err) < 0
      || json_get_bool (rdt, "enableMBM", doc, P, &b, false, err) < 0
      || json_get_bool (rdt, "enableMonitoring", doc, P, &b, false, err) < 0)
    return -1;
  cleanup_free char *where = intelrdt_resctrl_mount ();
  if (where == NULL)
    return json_error (err, doc, P, "no resctrl file system is mounted on this host (Intel RDT needs one, "
                       "e.g. `mount -t resctrl resctrl /sys/fs/resctrl`; the runtime-spec has a runtime refuse "
                       "intelRdt without it)");
  cleanup_free char *shown = str_printable (where);
  return json_error (err, doc, P, "moat does not apply Intel RDT (resctrl is mounted at %s, but moat writes no "
                     "schemata and assigns no CLOS): refused rather than ignored", shown);
}
