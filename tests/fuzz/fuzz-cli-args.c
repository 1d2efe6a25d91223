/* `berth run`'s command line: pflag-style flag parsing (cli_args_parse
 * over the real run flag table) and the create body built from it
 * (cli_build_create_body: -p, -v, --mount, -e, --ulimit, --device, …).
 * Input: one argument per line. Inputs naming --env-file/--label-file are
 * skipped: those read files (fuzz-cli-envfile covers their format). */
#include "cli/cli-internal.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t n = 0;
  char **argv = fuzz_split_lines (data, size, &n);
  for (size_t i = 0; i < n; i++)
    if (strstr (argv[i], "-file") || strstr (argv[i], "file="))
      {
        fuzz_strv_free (argv);
        return 0;
      }
  for (int interspersed = 0; interspersed < 2; interspersed++)
    {
      struct cli_args a;
      _cleanup_error_ struct berth_error *err = NULL;
      if (cli_args_parse (cli_run_opts, (int) n, argv, interspersed, &a, &err) < 0)
        {
          FUZZ_ASSERT (err && err->msg);
          continue;
        }
      for (size_t i = 0; i < a.n_pos; i++)
        FUZZ_ASSERT (a.pos[i] != NULL);
      FUZZ_ASSERT (a.pos == NULL || a.pos[a.n_pos] == NULL);
      _cleanup_error_ struct berth_error *err2 = NULL;
      _cleanup_json_ json_t *body = cli_build_create_body (&a, "/work", &err2);
      FUZZ_ASSERT (body != NULL || (err2 && err2->msg));
      cli_args_free (&a);
    }
  fuzz_strv_free (argv);
  return 0;
}
