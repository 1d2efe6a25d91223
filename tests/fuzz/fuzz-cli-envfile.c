/* --env-file / --label-file (parse_env_file: comments, blank lines, a BOM,
 * whitespace in names refused, KEY alone taken from the environment). The
 * input is written to a file in this process's temp dir and parsed both
 * ways. */
#include "cli/cli-internal.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *path;
  static int dirfd = -1;
  if (dirfd < 0)
    {
      dirfd = open (fuzz_tmpdir (), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      FUZZ_ASSERT (dirfd >= 0);
      FUZZ_ASSERT (asprintf (&path, "%s/env", fuzz_tmpdir ()) > 0);
      setenv ("BERTH_FUZZ_FROM_ENV", "from the environment", 1);
    }
  fuzz_write_file (dirfd, "env", data, size);
  for (int from_env = 0; from_env < 2; from_env++)
    {
      char **lines = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      if (parse_env_file (path, from_env, &lines, &err) == 0)
        for (char **l = lines; l && *l; l++)
          FUZZ_ASSERT (*l != NULL);
      else
        FUZZ_ASSERT (err && err->msg);
      fuzz_strv_free (lines);
    }
  return 0;
}
