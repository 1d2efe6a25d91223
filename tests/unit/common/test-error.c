/* Errors keep the first failure, gather context on the way up and map to
 * the Engine API's status codes in one place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "common/common.h"

static int
inner (struct berth_error **err)
{
  return berth_error_set (err, ENOSPC, "unpack `%s`", "usr/bin/env");
}

static int
outer (struct berth_error **err)
{
  if (inner (err) < 0)
    return berth_error_prefix (err, "layer %s", "sha256:3f57");
  return 0;
}

static void
test_context_reads_like_a_path (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (outer (&err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg,
                       "layer sha256:3f57: unpack `usr/bin/env`: No space left on device");
  assert_int_equal (err->errnum, ENOSPC);
}

static void
test_first_error_wins (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  berth_error_set (&err, 0, "first");
  berth_error_set (&err, 0, "second");
  assert_string_equal (err->msg, "first");
}

static void
test_http_status (void **state)
{
  static const struct
  {
    enum berth_error_kind kind;
    int status;
  } cases[] = {
    { BERTH_E_INTERNAL, 500 }, { BERTH_E_INVALID, 400 },  { BERTH_E_NOT_FOUND, 404 },
    { BERTH_E_CONFLICT, 409 }, { BERTH_E_UNAUTHORIZED, 401 }, { BERTH_E_NOT_MODIFIED, 304 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      berth_error_set_kind (&err, cases[i].kind, 0, "x");
      assert_int_equal (berth_error_http_status (err), cases[i].status);
    }
  /* EINVAL without an explicit kind is bad input. */
  _cleanup_error_ struct berth_error *err = NULL;
  berth_error_set (&err, EINVAL, "x");
  assert_int_equal (berth_error_http_status (err), 400);
}

static void
test_null_err_is_allowed (void **state)
{
  assert_int_equal (berth_error_set (NULL, EIO, "ignored"), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_context_reads_like_a_path),
    cmocka_unit_test (test_first_error_wins),
    cmocka_unit_test (test_http_status),
    cmocka_unit_test (test_null_err_is_allowed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
