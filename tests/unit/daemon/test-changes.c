/* `--change` instructions of docker import/commit applied to an image
 * config, and docker's volume name rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/api-images.h"
#include "daemon/volumes.h"

static json_t *
apply (const char *const *changes, struct berth_error **err)
{
  json_t *cfg = json_pack ("{s:[s]}", "Env", "PATH=/bin");
  if (image_changes_apply (cfg, (char *const *) changes, err) < 0)
    {
      json_decref (cfg);
      return NULL;
    }
  return cfg;
}

static void
expect (const char *change, const char *key, const char *json)
{
  const char *changes[] = { change, NULL };
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *cfg = apply (changes, &err);
  assert_non_null (cfg);
  _cleanup_json_ json_t *want = json_loads (json, JSON_DECODE_ANY, NULL);
  assert_non_null (want);
  json_t *got = json_object_get (cfg, key);
  _cleanup_free_ char *got_text = json_dumps (got, JSON_COMPACT | JSON_ENCODE_ANY);
  _cleanup_free_ char *want_text = json_dumps (want, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_string_equal (got_text, want_text);
}

static void
test_instructions (void **state)
{
  expect ("CMD [\"sh\",\"-c\",\"ls\"]", "Cmd", "[\"sh\",\"-c\",\"ls\"]");
  /* shell form, as the builder does */
  expect ("CMD echo hi there", "Cmd", "[\"/bin/sh\",\"-c\",\"echo hi there\"]");
  expect ("entrypoint [\"/init\"]", "Entrypoint", "[\"/init\"]");
  /* ENV replaces an existing key and keeps the others */
  expect ("ENV PATH=/usr/bin Z=1", "Env", "[\"PATH=/usr/bin\",\"Z=1\"]");
  expect ("ENV GREETING hello world", "Env", "[\"PATH=/bin\",\"GREETING=hello world\"]");
  expect ("ENV A=\"two words\"", "Env", "[\"PATH=/bin\",\"A=two words\"]");
  expect ("LABEL a=b \"c d\"=e", "Labels", "{\"a\":\"b\",\"c d\":\"e\"}");
  expect ("EXPOSE 80 53/udp", "ExposedPorts", "{\"80/tcp\":{},\"53/udp\":{}}");
  expect ("VOLUME /data /cache", "Volumes", "{\"/data\":{},\"/cache\":{}}");
  expect ("VOLUME [\"/data\"]", "Volumes", "{\"/data\":{}}");
  expect ("USER nobody", "User", "\"nobody\"");
  expect ("WORKDIR /srv", "WorkingDir", "\"/srv\"");
  expect ("STOPSIGNAL SIGINT", "StopSignal", "\"SIGINT\"");
  expect ("ONBUILD RUN true", "OnBuild", "[\"RUN true\"]");
  /* several instructions in one value, one per line */
  expect ("USER a\nWORKDIR /w", "WorkingDir", "\"/w\"");
}

static void
test_errors (void **state)
{
  static const struct
  {
    const char *change, *msg_part;
  } bad[] = {
    { "FROBNICATE x", "FROBNICATE is not a valid change command" },
    { "RUN echo", "RUN is not a valid change command" },
    { "EXPOSE http", "EXPOSE: invalid port `http`" },
    { "EXPOSE 70000", "invalid port" },
    { "ENV", "ENV requires at least one argument" },
    { "ENV KEY", "ENV KEY: missing a value" },
    { "LABEL =x", "is not key=value" },
    { "USER", "USER requires an argument" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      const char *changes[] = { bad[i].change, NULL };
      _cleanup_error_ struct berth_error *err = NULL;
      assert_null (apply (changes, &err));
      assert_int_equal (berth_error_http_status (err), 400);
      assert_non_null (strstr (err->msg, bad[i].msg_part));
      assert_non_null (strstr (err->msg, "invalid change"));
    }
}

static void
test_volume_names (void **state)
{
  /* docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
  static const char *const good[] = { "tr-vol", "a1", "My_Vol.2", "0abc", "x-", NULL };
  static const char *const bad[] = { "", "a", "-abc", ".hidden", "_x", "a/b", "a b", "../x", "é1", NULL };
  for (const char *const *g = good; *g; g++)
    assert_true (volume_name_is_valid (*g));
  for (const char *const *b = bad; *b; b++)
    assert_false (volume_name_is_valid (*b));
  char long_name[300];
  memset (long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  assert_false (volume_name_is_valid (long_name));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_instructions),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_volume_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
