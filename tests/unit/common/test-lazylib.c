/* Libraries bound on first use (lazylib.h): nothing is mapped until a
 * wrapped function is called, the call then reaches the real library; and
 * run_in_child brings back the child's result and error while what the
 * child loaded stays out of this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <string.h>

#include <archive.h>
#include <openssl/evp.h>

#include "common/common.h"

static bool
is_mapped (const char *soname)
{
  void *h = dlopen (soname, RTLD_LAZY | RTLD_NOLOAD);
  if (h)
    dlclose (h);
  return h != NULL;
}

static void
test_library_loads_on_first_call (void **state)
{
  assert_false (is_mapped ("libarchive.so.13"));
  struct archive *a = archive_read_new ();
  assert_non_null (a);
  assert_true (is_mapped ("libarchive.so.13"));
  /* the variadic wrapper hands the formatted message over */
  archive_set_error (a, 5, "entry %d of %s", 3, "layer.tar");
  assert_string_equal (archive_error_string (a), "entry 3 of layer.tar");
  assert_int_equal (archive_errno (a), 5);
  assert_int_equal (archive_read_free (a), ARCHIVE_OK);
}

static int
digest_in_child (void *arg, void *out, struct berth_error **err)
{
  sha256_hex (arg, strlen (arg), out);
  return 7;
}

static int
fail_in_child (void *arg, void *out, struct berth_error **err)
{
  return berth_error_set_kind (err, BERTH_E_CONFLICT, EEXIST, "table %s", (const char *) arg);
}

static void
test_run_in_child_keeps_loads_in_the_child (void **state)
{
  assert_false (is_mapped ("libcrypto.so.3"));
  char hex[SHA256_HEX_LEN + 1] = "";
  assert_int_equal (run_in_child (digest_in_child, "abc", hex, sizeof hex, NULL), 7);
  assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_false (is_mapped ("libcrypto.so.3"));

  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (run_in_child (fail_in_child, "ip berth", NULL, 0, &err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg, "table ip berth: File exists");
  assert_int_equal (err->kind, BERTH_E_CONFLICT);
  assert_int_equal (err->errnum, EEXIST);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_library_loads_on_first_call),
    cmocka_unit_test (test_run_in_child_keeps_loads_in_the_child),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
