/* .dockerignore: rows from moby/patternmatcher's tests and docker's
 * documented examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "build/build.h"

static const struct
{
  const char *patterns;
  const char *path;
  bool ignored;
} cases[] = {
  { "foo", "foo", true },
  { "foo", "foo/bar", true },              /* a directory's contents go with it */
  { "foo", "foobar", false },
  { "/foo", "foo", true },                 /* leading / cleaned */
  { "./foo", "foo/x", true },              /* leading ./ cleaned */
  { "foo/", "foo/x", true },               /* trailing / cleaned */
  { "foo/../bar", "bar", true },           /* filepath.Clean */
  { "*.md", "README.md", true },
  { "*.md", "docs/README.md", false },     /* * stays within a segment */
  { "*/*.md", "docs/README.md", true },
  { "**/*.md", "README.md", true },        /* ** matches zero directories */
  { "**/*.md", "a/b/c.md", true },
  { "a/**/b", "a/b", true },
  { "a/**/b", "a/x/y/b", true },
  { "a/**", "a/x/y", true },
  { "**", "anything/at/all", true },
  { "fo?", "foo", true },
  { "fo?", "fo/", false },
  { "[a-c]x", "bx", true },
  { "[a-c]x", "dx", false },
  { "[^a-c]x", "dx", true },
  { "\\*x", "*x", true },
  { "\\*x", "ax", false },
  { "# comment\nfoo", "# comment", false },
  { "*.log\n!keep.log", "keep.log", false },  /* exception */
  { "*.log\n!keep.log", "other.log", true },
  { "!keep.log\n*.log", "keep.log", true },   /* last match wins */
  { "dir\n!dir/keep", "dir/keep", false },
  { "dir\n!dir/keep", "dir/other", true },
  { "  spaced  ", "spaced", true },           /* trimmed */
  { "\n\n", "x", false },
  { "Dockerfile\n.dockerignore", ".dockerignore", true },
  { "[", "[", false },                        /* bad pattern matches nothing */
};

static void
test_match (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct build_ignore *ig = NULL;
      struct berth_error *err = NULL;
      assert_int_equal (build_ignore_parse (cases[i].patterns, strlen (cases[i].patterns), &ig, &err), 0);
      bool m = build_ignore_match (ig, cases[i].path);
      if (m != cases[i].ignored)
        fail_msg ("case %zu: `%s` vs `%s`: %d", i, cases[i].patterns, cases[i].path, m);
      build_ignore_free (ig);
    }
}

static void
test_exceptions_flag (void **state)
{
  (void) state;
  struct build_ignore *ig = NULL;
  struct berth_error *err = NULL;
  assert_int_equal (build_ignore_parse ("a\n", 2, &ig, &err), 0);
  assert_false (build_ignore_has_exceptions (ig));
  build_ignore_free (ig);
  assert_int_equal (build_ignore_parse ("a\n!a/b\n", 7, &ig, &err), 0);
  assert_true (build_ignore_has_exceptions (ig));
  build_ignore_free (ig);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_match),
    cmocka_unit_test (test_exceptions_flag),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
