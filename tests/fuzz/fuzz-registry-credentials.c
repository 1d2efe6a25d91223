/* docker's credentials file (<config dir>/config.json, "auths" with base64
 * user:pass, identity tokens, http:// and /v1/ keys) read by
 * registry_credentials_get, as `berth pull` does with a user's file. The
 * input is written to config.json in this process's temp dir. */
#include "fuzz-common.h"
#include "registry/registry.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *dir;
  static int dirfd = -1;
  if (dirfd < 0)
    {
      FUZZ_ASSERT (asprintf (&dir, "%s/docker", fuzz_tmpdir ()) > 0);
      FUZZ_ASSERT (mkdir (dir, 0700) == 0);
      dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      FUZZ_ASSERT (dirfd >= 0);
    }
  fuzz_write_file (dirfd, "config.json", data, size);

  static const char *const hosts[] = { "docker.io", "registry-1.docker.io", "127.0.0.1:5000",
                                       "localhost", "[::1]:5000" };
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
    {
      struct registry_auth a = { 0 };
      _cleanup_error_ struct berth_error *err = NULL;
      int r = registry_credentials_get (dir, hosts[i], &a, &err);
      FUZZ_ASSERT (r == 0 || r == 1 || (r == -1 && err && err->msg));
      registry_auth_clear (&a);
    }
  return 0;
}
