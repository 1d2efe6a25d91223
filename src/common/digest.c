/* sha256 digests in the OCI form "sha256:<64 lowercase hex>". */
#include "common/common.h"

#include <openssl/evp.h>
#include <string.h>

bool
digest_is_valid (const char *digest)
{
  if (digest == NULL || !str_has_prefix (digest, "sha256:"))
    return false;
  const char *hex = digest + strlen ("sha256:");
  if (strlen (hex) != SHA256_HEX_LEN)
    return false;
  for (const char *p = hex; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

void
sha256_hex (const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  if (EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL) != 1 || mdlen != 32)
    abort ();
  static const char hexdigits[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++)
    {
      out[2 * i] = hexdigits[md[i] >> 4];
      out[2 * i + 1] = hexdigits[md[i] & 0xf];
    }
  out[SHA256_HEX_LEN] = '\0';
}

char *
sha256_digest (const void *data, size_t len)
{
  char hex[SHA256_HEX_LEN + 1];
  sha256_hex (data, len, hex);
  return xasprintf ("sha256:%s", hex);
}
