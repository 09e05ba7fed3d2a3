/* libFuzzer target: the moat policy parser (and a bare Docker/Podman
 * profile), with its seccomp section parsed as create would. */
#include "config-host.h"
#include "policy.h"
#include "seccomp-wall.h"
#include "util.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct moat_policy *p = NULL;
  moat_error *err = NULL;
  if (policy_parse ((const char *) data, size, "fuzz.json", &p, &err) == 0)
    {
      struct moat_seccomp *sc = NULL;
      struct moat_caps caps = { .bounding = p->caps };
      if (p->seccomp
          && seccomp_parse (p->seccomp, "fuzz.json", "seccomp", p->has_caps ? &caps : NULL, p->strict, &sc, &err) == 0)
        seccomp_free (sc);
      policy_free (p);
    }
  moat_error_free (&err);
  return 0;
}
