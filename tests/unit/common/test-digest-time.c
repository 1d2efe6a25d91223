/* sha256 digests, ids and docker's time format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

static void
test_sha256_known_vectors (void **state)
{
  _cleanup_free_ char *empty = sha256_digest ("", 0);
  assert_string_equal (empty,
                       "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  _cleanup_free_ char *abc = sha256_digest ("abc", 3);
  assert_string_equal (abc,
                       "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_true (digest_is_valid (abc));
}

static void
test_digest_validation (void **state)
{
  static const struct
  {
    const char *digest;
    bool valid;
  } cases[] = {
    { "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true },
    { "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false },
    { "sha256:e3b0", false },
    { "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
    { "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
    { "sha256:../../../../etc/passwd00000000000000000000000000000000000000000", false },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal (digest_is_valid (cases[i].digest), cases[i].valid);
}

static void
test_random_ids_differ (void **state)
{
  char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
  random_id_hex (a);
  random_id_hex (b);
  assert_int_equal (strlen (a), 64);
  assert_string_not_equal (a, b);
}

static void
test_time_roundtrip (void **state)
{
  struct timespec ts = { .tv_sec = 1795362600, .tv_nsec = 436000123 };
  _cleanup_free_ char *s = time_format_rfc3339nano (&ts);
  assert_string_equal (s, "2026-11-22T15:50:00.436000123Z");
  struct timespec back;
  assert_int_equal (time_parse_rfc3339 (s, &back), 0);
  assert_int_equal (back.tv_sec, ts.tv_sec);
  assert_int_equal (back.tv_nsec, ts.tv_nsec);
  assert_int_equal (time_parse_rfc3339 ("2026-11-22T17:50:00+02:00", &back), 0);
  assert_int_equal (back.tv_sec, 1795362600);
  assert_int_equal (time_parse_rfc3339 ("yesterday", &back), -1);

  /* Go's RFC3339Nano trims trailing zeros (docker's JSON times); the fixed
   * form keeps nine digits (docker's `logs --timestamps`). */
  static const struct
  {
    long nsec;
    const char *trimmed, *fixed;
  } cases[] = {
    { 409252120, "2026-11-22T15:50:00.40925212Z", "2026-11-22T15:50:00.409252120Z" },
    { 500000000, "2026-11-22T15:50:00.5Z", "2026-11-22T15:50:00.500000000Z" },
    { 0, "2026-11-22T15:50:00Z", "2026-11-22T15:50:00.000000000Z" },
    { 1, "2026-11-22T15:50:00.000000001Z", "2026-11-22T15:50:00.000000001Z" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct timespec t = { .tv_sec = 1795362600, .tv_nsec = cases[i].nsec };
      _cleanup_free_ char *a = time_format_rfc3339nano (&t);
      _cleanup_free_ char *b = time_format_rfc3339nano_fixed (&t);
      assert_string_equal (a, cases[i].trimmed);
      assert_string_equal (b, cases[i].fixed);
      struct timespec r;
      assert_int_equal (time_parse_rfc3339 (a, &r), 0);
      assert_int_equal (r.tv_nsec, cases[i].nsec);
    }
  /* the offset is exactly ±hh:mm; short ones once read past the end (fuzzing) */
  assert_int_equal (time_parse_rfc3339 ("2023-01-02T15:04:05.124-4:-0", &back), -1);
  assert_int_equal (time_parse_rfc3339 ("2026-11-22T17:50:00+2:00", &back), -1);
  assert_int_equal (time_parse_rfc3339 ("2026-11-22T17:50:00+02:0", &back), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_sha256_known_vectors),
    cmocka_unit_test (test_digest_validation),
    cmocka_unit_test (test_random_ids_differ),
    cmocka_unit_test (test_time_roundtrip),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
