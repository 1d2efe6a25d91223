/* String vectors and string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "common/common.h"

static void
test_split_join_roundtrip (void **state)
{
  static const struct
  {
    const char *in;
    char sep;
    size_t n;
  } cases[] = {
    { "a,b,c", ',', 3 },
    { "", ',', 1 },     /* one empty field, like Go's strings.Split */
    { "a,,b", ',', 3 }, /* empty fields are kept */
    { "/usr/bin:/bin", ':', 2 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_strv_ char **v = strv_split (cases[i].in, cases[i].sep);
      assert_int_equal (strv_len (v), cases[i].n);
      char sep[2] = { cases[i].sep, 0 };
      _cleanup_free_ char *joined = strv_join (v, sep);
      assert_string_equal (joined, cases[i].in);
    }
}

static void
test_append_contains_dup (void **state)
{
  _cleanup_strv_ char **v = NULL;
  strv_append (&v, "one");
  strv_append (&v, "two");
  assert_true (strv_contains (v, "two"));
  assert_false (strv_contains (v, "three"));
  _cleanup_strv_ char **d = strv_dup (v);
  assert_int_equal (strv_len (d), 2);
  assert_string_equal (d[1], "two");
  assert_null (d[2]);
}

static void
test_prefix_suffix (void **state)
{
  assert_true (str_has_prefix ("sha256:abc", "sha256:"));
  assert_false (str_has_prefix ("sha25", "sha256:"));
  assert_true (str_has_suffix ("layer.tar.gz", ".gz"));
  assert_false (str_has_suffix ("gz", ".gz"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_split_join_roundtrip),
    cmocka_unit_test (test_append_contains_dup),
    cmocka_unit_test (test_prefix_suffix),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
