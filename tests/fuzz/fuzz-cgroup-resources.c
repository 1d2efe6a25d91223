/* linux.resources (cgroup_resources_parse: memory, cpu, pids, blockIO
 * weights and throttles, hugepages, devices, unified), validated before any
 * cgroup file is written. The input is the resources JSON object. */
#include "fuzz-common.h"
#include "runtime/cgroup-internal.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb ((const char *) data, size, JSON_DECODE_ANY, &jerr);
  if (j == NULL)
    return 0;
  struct cgroup_resources r;
  _cleanup_error_ struct berth_error *err = NULL;
  if (cgroup_resources_parse (j, &r, &err) == 0)
    {
      (void) cgroup_resources_controllers (&r);
      cgroup_resources_clear (&r);
    }
  else
    FUZZ_ASSERT (err && err->msg);
  return 0;
}
