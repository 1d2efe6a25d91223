/* What a registry or a client hands the registry code: a WWW-Authenticate
 * header (registry_challenge_parse), the Engine API's X-Registry-Auth
 * header (registry_auth_decode_header, base64 of JSON), base64 itself, an
 * upload's Range header and insecure-registry matching. The whole input is
 * each of these in turn. */
#include "fuzz-common.h"
#include "registry/registry-internal.h"
#include "registry/registry.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);

  {
    struct registry_challenge c = { 0 };
    _cleanup_error_ struct berth_error *err = NULL;
    if (registry_challenge_parse (s, &c, &err) == 0)
      FUZZ_ASSERT (c.scheme != NULL);
    else
      FUZZ_ASSERT (err && err->msg);
    registry_challenge_clear (&c);
  }
  {
    struct registry_auth a = { 0 };
    _cleanup_error_ struct berth_error *err = NULL;
    if (registry_auth_decode_header (s, &a, &err) == 0)
      {
        /* What decodes must survive the round trip the CLI makes. */
        _cleanup_free_ char *enc = registry_auth_encode_header (&a);
        FUZZ_ASSERT (enc != NULL);
        struct registry_auth b = { 0 };
        _cleanup_error_ struct berth_error *err2 = NULL;
        FUZZ_ASSERT (registry_auth_decode_header (enc, &b, &err2) == 0);
        registry_auth_clear (&b);
      }
    registry_auth_clear (&a);
  }
  {
    size_t len = 0;
    _cleanup_free_ char *raw = registry_base64_decode (s, &len);
    if (raw)
      {
        _cleanup_free_ char *again = registry_base64_encode (raw, len, false);
        FUZZ_ASSERT (again != NULL);
      }
  }
  {
    int64_t start = 0, end = 0;
    if (registry_range_parse (s, &start, &end) == 0)
      FUZZ_ASSERT (start >= 0 && end >= start);
  }
  {
    char *insecure[] = { "10.0.0.0/8", "registry.test:5000", s, NULL };
    (void) registry_host_is_insecure (s, insecure);
    (void) registry_host_is_insecure ("192.168.1.7:5000", insecure);
  }
  return 0;
}
