/* libFuzzer target: the config.json parser (and the seccomp and resources
 * sections create parses from it). Any input must give a config or a clean
 * error, never a crash, a leak or undefined behaviour. */
#include "config-host.h"
#include "cgroup.h"
#include "config.h"
#include "seccomp-wall.h"
#include "util.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = xmalloc0 (size + 1);
  memcpy (text, data, size);
  struct moat_config *cfg = NULL;
  moat_error *err = NULL;
  if (config_parse (text, "fuzz.json", &cfg, &err) == 0)
    {
      struct moat_seccomp *sc = NULL;
      if (cfg->seccomp && seccomp_parse (cfg->seccomp, "fuzz.json", "linux.seccomp", NULL, false, &sc, &err) == 0)
        seccomp_free (sc);
      moat_error_free (&err);
      struct cg_resources res;
      memset (&res, 0, sizeof res);
      /* Like create, which frees what a failed parse left. */
      (void) cgroup_parse_resources (cfg->resources, "fuzz.json", &res, &err);
      cgroup_resources_free (&res);
      config_free (cfg);
    }
  moat_error_free (&err);
  free (text);
  return 0;
}
