/* An OCI linux.seccomp object alone (seccomp_filter_compile: actions,
 * errnoRet, architectures, flags, syscalls[].args with ops), compiled to
 * BPF as berth-runtime does before clone. The input is the JSON object;
 * docker's --security-opt seccomp=<file> hands a user's file here. */
#include "fuzz-common.h"
#include "runtime/seccomp.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb ((const char *) data, size, 0, &jerr);
  if (j == NULL)
    return 0;
  _cleanup_error_ struct berth_error *err = NULL;
  struct seccomp_filter *f = seccomp_filter_compile (j, &err);
  FUZZ_ASSERT (f != NULL || (err && err->msg));
  if (f)
    (void) seccomp_filter_wants_listener (f);
  seccomp_filter_free (f);
  return 0;
}
