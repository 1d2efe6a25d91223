/* The request policy: parsing with errors that name the field, and the
 * first matching rule deciding on method, path pattern and peer uid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/daemon-internal.h"

static struct policy *
parse (const char *text)
{
  _cleanup_json_ json_t *j = json_loads (text, 0, NULL);
  assert_non_null (j);
  struct policy *p = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (policy_parse (j, &p, &err), 0);
  return p;
}

static void
test_rules (void **state)
{
  struct policy *p = parse (
      "{\"rules\":["
      " {\"action\":\"allow\",\"methods\":[\"GET\",\"HEAD\"]},"
      " {\"action\":\"deny\",\"methods\":[\"post\"],\"paths\":[\"/containers/{id}/exec\"],"
      "  \"comment\":\"no exec\"},"
      " {\"action\":\"deny\",\"paths\":[\"/images/**\"],\"uids\":[1000]},"
      " {\"action\":\"deny\",\"paths\":[\"/volumes/*/x/**\"]}"
      "],\"default\":\"allow\"}");
  static const struct
  {
    uid_t uid;
    const char *method, *path;
    const char *denied; /* NULL: allowed; else a part of the reason */
  } cases[] = {
    { 0, "GET", "/containers/json", NULL },
    { 0, "POST", "/containers/abc/exec", "no exec" },
    /* methods are case-insensitive in the file, paths segment by segment */
    { 0, "POST", "/containers/abc/exec/extra", NULL },
    { 0, "POST", "/containers/abc/start", NULL },
    /* GET is allowed by the first rule even for uid 1000 */
    { 1000, "GET", "/images/json", NULL },
    { 1000, "DELETE", "/images/busybox", "denied by rule 2" },
    { 1000, "DELETE", "/images/127.0.0.1:5000/a/b", "denied by rule 2" },
    { 0, "DELETE", "/images/busybox", NULL },
    /* TCP peers have no uid (-1) */
    { (uid_t) -1, "DELETE", "/images/busybox", NULL },
    { 0, "POST", "/volumes/v1/x", "denied by rule 3" },
    { 0, "POST", "/volumes/v1/x/y/z", "denied by rule 3" },
    { 0, "POST", "/volumes/v1/y", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *why = policy_check (p, cases[i].uid, cases[i].method, cases[i].path);
      if (cases[i].denied == NULL)
        assert_null (why);
      else
        {
          assert_non_null (why);
          assert_non_null (strstr (why, cases[i].denied));
        }
    }
  policy_free (p);
}

static void
test_default_deny (void **state)
{
  struct policy *p = parse ("{\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"uids\":[0]}]}");
  _cleanup_free_ char *a = policy_check (p, 0, "POST", "/containers/create");
  _cleanup_free_ char *b = policy_check (p, 1000, "GET", "/_ping");
  assert_null (a);
  assert_non_null (b);
  assert_non_null (strstr (b, "default"));
  policy_free (p);
  /* no policy: everything allowed */
  assert_null (policy_check (NULL, 1000, "DELETE", "/images/x"));
}

static void
test_bad_files (void **state)
{
  static const struct
  {
    const char *text, *msg_part;
  } bad[] = {
    { "[]", "expected a JSON object" },
    { "{\"default\":\"maybe\"}", "policy.default" },
    { "{\"rules\":{}}", "policy.rules: expected an array" },
    { "{\"rules\":[{\"action\":\"drop\"}]}", "policy.rules[0].action" },
    { "{\"rules\":[{\"action\":\"deny\",\"methods\":\"GET\"}]}", "policy.rules[0].methods" },
    { "{\"rules\":[{\"action\":\"deny\",\"paths\":[\"images\"]}]}", "must start with /" },
    { "{\"rules\":[{\"action\":\"deny\",\"uids\":[\"root\"]}]}", "policy.rules[0].uids[0]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      _cleanup_json_ json_t *j = json_loads (bad[i].text, 0, NULL);
      assert_non_null (j);
      struct policy *p = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      assert_int_equal (policy_parse (j, &p, &err), -1);
      assert_null (p);
      assert_non_null (strstr (err->msg, bad[i].msg_part));
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rules),
    cmocka_unit_test (test_default_deny),
    cmocka_unit_test (test_bad_files),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
