/* Event messages in docker's shape, the /events filters as docker applies
 * them, since/until timestamps, and the audit line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/api-internal.h"
#include "daemon/daemon-internal.h"

static void
test_message_shape (void **state)
{
  _cleanup_json_ json_t *m = events_message_new (
      "container", "start", "abc123", json_pack ("{s:s,s:s}", "image", "busybox", "name", "web"),
      1795362615123456789ull);
  _cleanup_free_ char *text = json_dumps (m, JSON_COMPACT);
  /* field order as docker's encoder writes it (trace 13) */
  assert_string_equal (text, "{\"status\":\"start\",\"id\":\"abc123\",\"from\":\"busybox\","
                             "\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":"
                             "\"abc123\",\"Attributes\":{\"image\":\"busybox\",\"name\":\"web\"}},"
                             "\"scope\":\"local\",\"time\":1795362615,\"timeNano\":"
                             "1795362615123456789}");
  /* volumes have no status/id/from and an empty Attributes object */
  _cleanup_json_ json_t *v = events_message_new ("volume", "create", "v1", NULL, 5);
  assert_null (json_object_get (v, "status"));
  assert_null (json_object_get (v, "from"));
  assert_true (json_is_object (json_object_get (json_object_get (v, "Actor"), "Attributes")));
  /* image events have status and id but no from */
  _cleanup_json_ json_t *i = events_message_new ("image", "tag", "sha256:1", json_pack ("{s:s}", "name", "x:1"), 5);
  assert_string_equal (json_string_value (json_object_get (i, "status")), "tag");
  assert_null (json_object_get (i, "from"));
}

static bool
matches (const char *filters, json_t *msg)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  assert_int_equal (api_filters_parse (filters, NULL, &f, &err), 0);
  return events_message_matches (msg, f);
}

static void
test_filters (void **state)
{
  _cleanup_json_ json_t *c = events_message_new (
      "container", "exec_start: sh -c ls", "0a1ab102d054",
      json_pack ("{s:s,s:s,s:s}", "image", "busybox:local", "name", "tr-x", "com.docker.compose.project", "p"), 1);
  _cleanup_json_ json_t *img = events_message_new ("image", "tag", "sha256:9d88",
                                                   json_pack ("{s:s}", "name", "busybox:local"), 1);
  _cleanup_json_ json_t *vol = events_message_new ("volume", "create", "v1", json_pack ("{s:s}", "driver", "local"), 1);
  static const struct
  {
    const char *filters;
    int want_c, want_img, want_vol;
  } cases[] = {
    { "{}", 1, 1, 1 },
    { "{\"type\":[\"container\"]}", 1, 0, 0 },
    { "{\"type\":[\"image\",\"volume\"]}", 0, 1, 1 },
    /* container by name, by id prefix; it excludes other types (docker) */
    { "{\"container\":[\"tr-x\"]}", 1, 0, 0 },
    { "{\"container\":[\"0a1a\"]}", 1, 0, 0 },
    { "{\"container\":[\"other\"]}", 0, 0, 0 },
    /* exec_start matches by prefix (docker #25798) */
    { "{\"event\":[\"exec_start\"]}", 1, 0, 0 },
    { "{\"event\":[\"create\"]}", 0, 0, 1 },
    { "{\"event\":[\"tag\",\"create\"]}", 0, 1, 1 },
    /* image: the container's image attribute, with or without tag */
    { "{\"image\":[\"busybox:local\"]}", 1, 1, 0 },
    { "{\"image\":[\"busybox\"]}", 1, 1, 0 },
    { "{\"volume\":[\"v1\"]}", 0, 0, 1 },
    { "{\"label\":[\"com.docker.compose.project=p\"]}", 1, 0, 0 },
    { "{\"scope\":[\"local\"]}", 1, 1, 1 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      assert_int_equal (matches (cases[i].filters, c), cases[i].want_c);
      assert_int_equal (matches (cases[i].filters, img), cases[i].want_img);
      assert_int_equal (matches (cases[i].filters, vol), cases[i].want_vol);
    }
}

static void
test_time (void **state)
{
  static const struct
  {
    const char *text;
    int ok;
    uint64_t ns;
  } cases[] = {
    { "1795362614", 1, 1795362614000000000ull },
    { "1795362614.5", 1, 1795362614500000000ull },
    { "1795362614.000000001", 1, 1795362614000000001ull },
    { "2026-11-22T15:50:12Z", 1, 1795362612000000000ull },
    { "", 1, 0 },
    { "yesterday", 0, 0 },
    { "12abc", 0, 0 },
    { "-5", 0, 0 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      uint64_t ns = 42;
      int r = events_parse_time (cases[i].text, 0, &ns, &err);
      if (cases[i].ok)
        {
          assert_int_equal (r, 0);
          assert_true (ns == cases[i].ns);
        }
      else
        {
          assert_int_equal (r, -1);
          assert_int_equal (berth_error_http_status (err), 400);
        }
    }
}

static void
test_audit_line (void **state)
{
  struct audit_entry e = { .time_ns = 1795362614000000000ull, .uid = 1000, .pid = 42,
                           .method = "DELETE", .path = "/v1.41/images/x", .query = "force=1",
                           .status = 403, .duration_us = 120, .denied = "no rmi" };
  _cleanup_json_ json_t *j = audit_entry_json (&e);
  assert_string_equal (json_string_value (json_object_get (j, "time")), "2026-11-22T15:50:14Z");
  assert_int_equal (json_integer_value (json_object_get (j, "uid")), 1000);
  assert_int_equal (json_integer_value (json_object_get (j, "pid")), 42);
  assert_string_equal (json_string_value (json_object_get (j, "decision")), "deny");
  assert_string_equal (json_string_value (json_object_get (j, "reason")), "no rmi");
  assert_int_equal (json_integer_value (json_object_get (j, "status")), 403);
  /* TCP peers: no uid/pid */
  struct audit_entry t = { .uid = (uid_t) -1, .pid = -1, .method = "GET", .path = "/_ping", .status = 200 };
  _cleanup_json_ json_t *k = audit_entry_json (&t);
  assert_true (json_is_null (json_object_get (k, "uid")));
  assert_string_equal (json_string_value (json_object_get (k, "decision")), "allow");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_message_shape),
    cmocka_unit_test (test_filters),
    cmocka_unit_test (test_time),
    cmocka_unit_test (test_audit_line),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
