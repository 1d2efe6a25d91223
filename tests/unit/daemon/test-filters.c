/* docker's `filters` query argument: both JSON forms, allowed keys,
 * label and boolean semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/api-internal.h"

static const char *const allowed[] = { "label", "dangling", "name", "label!", NULL };

static void
test_forms (void **state)
{
  /* the CLI's map form and the old list form mean the same */
  static const char *const texts[] = {
    "{\"label\":{\"a=b\":true,\"c\":true}}",
    "{\"label\":[\"a=b\",\"c\"]}",
  };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_filters_ struct api_filters *f = NULL;
      assert_int_equal (api_filters_parse (texts[i], allowed, &f, &err), 0);
      assert_true (api_filters_has (f, "label"));
      assert_false (api_filters_has (f, "name"));
      assert_int_equal (strv_len (api_filters_values (f, "label")), 2);
      assert_true (api_filters_match (f, "label", "c"));
      assert_false (api_filters_match (f, "label", "d"));
      /* absent key matches everything */
      assert_true (api_filters_match (f, "name", "anything"));
    }
}

static void
test_empty_and_bad (void **state)
{
  _cleanup_filters_ struct api_filters *f = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (api_filters_parse (NULL, allowed, &f, &err), 0);
  assert_false (api_filters_has (f, "label"));
  api_filters_freep (&f);
  assert_int_equal (api_filters_parse ("", allowed, &f, &err), 0);
  api_filters_freep (&f);

  static const struct
  {
    const char *text;
    const char *msg_part;
  } bad[] = {
    { "{\"bogus\":{\"x\":true}}", "Invalid filter 'bogus'" },
    { "{\"label\":", "invalid filters" },
    { "[1,2]", "expected a JSON object" },
    { "{\"label\":\"a\"}", "expected an object or an array" },
    { "{\"label\":[1]}", "label[0]: expected a string" },
    { "{\"label\":{\"a\":1}}", "expected true" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      _cleanup_error_ struct berth_error *e = NULL;
      _cleanup_filters_ struct api_filters *g = NULL;
      assert_int_equal (api_filters_parse (bad[i].text, allowed, &g, &e), -1);
      assert_null (g);
      assert_int_equal (berth_error_http_status (e), 400);
      assert_non_null (strstr (e->msg, bad[i].msg_part));
    }
}

static void
test_labels (void **state)
{
  _cleanup_json_ json_t *labels = json_pack ("{s:s,s:s}", "a", "b", "com.docker.compose.project", "p1");
  static const struct
  {
    const char *filters;
    const char *key;
    bool want;
  } cases[] = {
    { "{\"label\":[\"a\"]}", "label", true },
    { "{\"label\":[\"a=b\"]}", "label", true },
    { "{\"label\":[\"a=c\"]}", "label", false },
    { "{\"label\":[\"zz\"]}", "label", false },
    /* every condition must hold (compose filters on project and service) */
    { "{\"label\":[\"a=b\",\"com.docker.compose.project=p1\"]}", "label", true },
    { "{\"label\":[\"a=b\",\"com.docker.compose.project=p2\"]}", "label", false },
    /* label! excludes */
    { "{\"label!\":[\"a=b\"]}", "label!", false },
    { "{\"label!\":[\"a=x\"]}", "label!", true },
    { "{}", "label", true },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_filters_ struct api_filters *f = NULL;
      assert_int_equal (api_filters_parse (cases[i].filters, allowed, &f, &err), 0);
      assert_int_equal (api_filters_match_labels (f, cases[i].key, labels), cases[i].want);
    }
  /* no labels at all */
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  assert_int_equal (api_filters_parse ("{\"label\":[\"a\"]}", allowed, &f, &err), 0);
  assert_false (api_filters_match_labels (f, "label", NULL));
}

static void
test_bool (void **state)
{
  static const struct
  {
    const char *text;
    int want;
  } cases[] = {
    { "{}", -1 },
    { "{\"dangling\":{\"true\":true}}", 1 },
    { "{\"dangling\":[\"1\"]}", 1 },
    { "{\"dangling\":[\"false\"]}", 0 },
    { "{\"dangling\":[\"0\"]}", 0 },
    { "{\"dangling\":[\"maybe\"]}", -2 },
    { "{\"dangling\":[\"true\",\"false\"]}", -2 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_filters_ struct api_filters *f = NULL;
      assert_int_equal (api_filters_parse (cases[i].text, allowed, &f, &err), 0);
      assert_int_equal (api_filters_bool (f, "dangling", &err), cases[i].want);
      if (cases[i].want == -2)
        assert_int_equal (berth_error_http_status (err), 400);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_forms),
    cmocka_unit_test (test_empty_and_bad),
    cmocka_unit_test (test_labels),
    cmocka_unit_test (test_bool),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
