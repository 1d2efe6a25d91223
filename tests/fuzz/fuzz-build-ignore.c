/* .dockerignore (build_ignore_parse: comments, '!' exceptions, "**",
 * filepath.Match classes) and matching paths of a build context against
 * it. Input: the .dockerignore text; its lines are also used as paths. */
#include "build/build.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size ? size : 1);
  memcpy (text, data, size);
  _cleanup_error_ struct berth_error *err = NULL;
  struct build_ignore *ig = NULL;
  int r = build_ignore_parse (text, size, &ig, &err);
  free (text);
  if (r < 0)
    {
      FUZZ_ASSERT (err && err->msg);
      return 0;
    }
  static const char *const paths[] = { "Dockerfile", ".git", ".git/config", "src/main.c",
                                       "a/b/c/d.txt", "node_modules/x/y", "[x]", "" };
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    (void) build_ignore_match (ig, paths[i]);
  size_t n = 0;
  char **lines = fuzz_split_lines (data, size, &n);
  for (size_t i = 0; i < n; i++)
    {
      const char *p = lines[i];
      while (*p == '!' || *p == '/')
        p++;
      (void) build_ignore_match (ig, p);
    }
  (void) build_ignore_has_exceptions (ig);
  fuzz_strv_free (lines);
  build_ignore_free (ig);
  return 0;
}
