/* The OCI bundle's config.json as berth-runtime create reads it
 * (spec_parse: process, root, mounts with options, namespaces, hooks,
 * rlimits, capabilities, sysctls, personality …), plus the pieces the
 * runtime compiles from it: linux.resources (cgroup_resources_parse) and
 * linux.seccomp (seccomp_filter_compile). The input is the JSON text. */
#include "fuzz-common.h"
#include "runtime/cgroup-internal.h"
#include "runtime/runtime-internal.h"
#include "runtime/seccomp.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb ((const char *) data, size, 0, &jerr);
  if (j == NULL)
    return 0;
  {
    _cleanup_error_ struct berth_error *err = NULL;
    struct spec *s = spec_parse (j, &err);
    FUZZ_ASSERT (s != NULL || (err && err->msg));
    spec_free (s);
  }
  json_t *linux_ = json_object_get (j, "linux");
  {
    struct cgroup_resources r;
    _cleanup_error_ struct berth_error *err = NULL;
    if (cgroup_resources_parse (json_object_get (linux_, "resources"), &r, &err) == 0)
      {
        (void) cgroup_resources_controllers (&r);
        cgroup_resources_clear (&r);
      }
    else
      FUZZ_ASSERT (err && err->msg);
  }
  json_t *seccomp = json_object_get (linux_, "seccomp");
  if (seccomp)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      struct seccomp_filter *f = seccomp_filter_compile (seccomp, &err);
      FUZZ_ASSERT (f != NULL || (err && err->msg));
      if (f)
        (void) seccomp_filter_wants_listener (f);
      seccomp_filter_free (f);
    }
  return 0;
}
