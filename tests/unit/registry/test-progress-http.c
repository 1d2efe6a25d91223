/* docker's progress JSON shapes, and the pure HTTP helpers: insecure
 * registry rules, Range/Content-Range, scopes, server names, URLs and the
 * distribution API's error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "registry/registry-internal.h"

static char *
event_json (const struct registry_progress *ev)
{
  _cleanup_json_ json_t *j = registry_progress_json (ev);
  return json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
}

static void
test_progress_shapes (void **state)
{
  struct
  {
    struct registry_progress ev;
    const char *json;
  } cases[] = {
    /* dockerd: {"status":"Pulling from library/busybox","id":"latest"} */
    { { .status = "Pulling from library/busybox", .id = "latest", .current = -1, .total = -1 },
      "{\"id\":\"latest\",\"status\":\"Pulling from library/busybox\"}" },
    { { .status = "Pulling fs layer",
        .id = "3f57d9401f8d",
        .has_detail = true,
        .current = -1,
        .total = -1 },
      "{\"id\":\"3f57d9401f8d\",\"progressDetail\":{},\"status\":\"Pulling fs layer\"}" },
    { { .status = "Downloading",
        .id = "3f57d9401f8d",
        .has_detail = true,
        .current = 1024,
        .total = 2048 },
      "{\"id\":\"3f57d9401f8d\",\"progress\":\"[=========================>                         "
      "]  "
      "1.024kB/"
      "2.048kB\",\"progressDetail\":{\"current\":1024,\"total\":2048},\"status\":"
      "\"Downloading\"}" },
    { { .status = "Digest: sha256:abc", .current = -1, .total = -1 },
      "{\"status\":\"Digest: sha256:abc\"}" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *s = event_json (&cases[i].ev);
      assert_string_equal (s, cases[i].json);
    }
  /* push's last line carries aux {Tag, Digest, Size} */
  _cleanup_json_ json_t *aux
      = json_pack ("{s:s,s:s,s:i}", "Tag", "1", "Digest", "sha256:d", "Size", 527);
  struct registry_progress fin = { .status = "1: digest: sha256:d size: 527",
                                   .has_detail = true,
                                   .current = -1,
                                   .total = -1,
                                   .aux = aux };
  _cleanup_free_ char *s = event_json (&fin);
  assert_string_equal (s, "{\"aux\":{\"Digest\":\"sha256:d\",\"Size\":527,\"Tag\":\"1\"},"
                          "\"progressDetail\":{},\"status\":\"1: digest: sha256:d size: 527\"}");
}

static void
test_progress_bar (void **state)
{
  struct
  {
    int64_t cur, total;
    const char *bar;
  } cases[] = {
    { 0, 0, "" },
    { 500, 0, "    500B" },
    { 0, 1000, "[>                                                  ]       0B/1kB" },
    { 1000, 1000, "[==================================================>]      1kB/1kB" },
    { 1234567, 2469134, "[=========================>                         ]  1.235MB/2.469MB" },
    { 2000, 1000, "[==================================================>]      2kB" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *b = registry_progress_bar (cases[i].cur, cases[i].total);
      assert_string_equal (b, cases[i].bar);
    }
  char buf[32];
  registry_human_size (999, buf, sizeof buf);
  assert_string_equal (buf, "999B");
  registry_human_size (93e6, buf, sizeof buf);
  assert_string_equal (buf, "93MB");
  char id[13];
  registry_short_id ("sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741", id);
  assert_string_equal (id, "3f57d9401f8d");
}

static void
test_insecure_rules (void **state)
{
  char *list[] = { "10.1.0.0/16", "reg.example:5000", "plain.example", NULL };
  struct
  {
    const char *host;
    bool insecure;
  } cases[] = {
    /* docker: loopback is always insecure (plain HTTP allowed) */
    { "localhost:5000", true },
    { "localhost", true },
    { "127.0.0.1:5000", true },
    { "127.9.8.7", true },
    { "[::1]:5000", true },
    /* listed: CIDR, host:port, bare host (any port) */
    { "10.1.2.3:5000", true },
    { "10.2.0.1:5000", false },
    { "reg.example:5000", true },
    { "reg.example:5001", false },
    { "plain.example:443", true },
    /* everything else must speak TLS */
    { "registry-1.docker.io", false },
    { "128.0.0.1", false },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      bool got = registry_host_is_insecure (cases[i].host, list);
      if (got != cases[i].insecure)
        fail_msg ("%s: insecure=%d, want %d", cases[i].host, got, cases[i].insecure);
    }
}

static void
test_ranges (void **state)
{
  int64_t s, e;
  assert_int_equal (registry_range_parse ("0-1023", &s, &e), 0);
  assert_int_equal (s, 0);
  assert_int_equal (e, 1023);
  assert_int_equal (registry_range_parse ("bytes=10-20", &s, &e), 0);
  assert_int_equal (s, 10);
  assert_int_equal (e, 20);
  static const char *const bad[] = { "", "-", "5-", "-5", "5-4", "a-b", "1-2x", NULL };
  for (size_t i = 0; bad[i]; i++)
    assert_int_equal (registry_range_parse (bad[i], &s, &e), -1);
  assert_int_equal (registry_range_parse (NULL, &s, &e), -1);
  /* Content-Range of PATCH chunks: inclusive end */
  _cleanup_free_ char *a = registry_content_range (0, 1024);
  assert_string_equal (a, "0-1023");
  _cleanup_free_ char *b = registry_content_range (1024, 1);
  assert_string_equal (b, "1024-1024");
}

static void
test_scope_and_names (void **state)
{
  _cleanup_free_ char *s = registry_scope ("team/app", "pull,push");
  assert_string_equal (s, "repository:team/app:pull,push");
  assert_string_equal (registry_endpoint_host ("docker.io"), "registry-1.docker.io");
  assert_string_equal (registry_endpoint_host ("127.0.0.1:5000"), "127.0.0.1:5000");
  struct
  {
    const char *in, *out;
  } cases[] = {
    { "", "docker.io" },
    { "https://index.docker.io/v1/", "docker.io" },
    { "docker.io", "docker.io" },
    { "127.0.0.1:5000", "127.0.0.1:5000" },
    { "https://127.0.0.1:5000/", "127.0.0.1:5000" },
    { "http://reg.example/v2/", "reg.example" },
    { "localhost:5000", "localhost:5000" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct berth_error *err = NULL;
      _cleanup_free_ char *n = registry_server_normalize (cases[i].in, &err);
      assert_non_null (n);
      assert_string_equal (n, cases[i].out);
    }
  static const char *const bad[] = { "bad host!", "-x-:5000", "host:port" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      assert_null (registry_server_normalize (bad[i], &err));
      assert_int_equal (err->kind, BERTH_E_INVALID);
    }
}

static void
test_urls (void **state)
{
  struct registry_options opts
      = { .config_dir = "/nonexistent-berth-test", .certs_dir = "/nonexistent" };
  struct berth_error *err = NULL;
  _cleanup_registry_client_ struct registry_client *c
      = registry_client_new ("docker.io", &opts, &err);
  assert_non_null (c);
  _cleanup_free_ char *u
      = registry_client_url (c, "/v2/%s/manifests/%s", "library/busybox", "latest");
  assert_string_equal (u, "https://registry-1.docker.io/v2/library/busybox/manifests/latest");
  free (c->scheme);
  c->scheme = xstrdup ("http");
  _cleanup_registry_client_ struct registry_client *l
      = registry_client_new ("127.0.0.1:5000", &opts, &err);
  assert_true (l->is_insecure);
  assert_false (c->is_insecure);
}

static void
test_error_bodies (void **state)
{
  struct registry_response r = { .status = 404 };
  r.body = xstrdup ("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                    "unknown\",\"detail\":{}}]}");
  r.body_len = strlen (r.body);
  _cleanup_free_ char *t = registry_error_text (&r);
  assert_string_equal (t, "MANIFEST_UNKNOWN: manifest unknown");
  _cleanup_error_ struct berth_error *err = NULL;
  registry_error_from_response (&r, &err, "manifest latest");
  assert_int_equal (err->kind, BERTH_E_NOT_FOUND);
  assert_string_equal (err->msg,
                       "manifest latest: not found (HTTP 404: MANIFEST_UNKNOWN: manifest unknown)");
  registry_response_clear (&r);
  struct registry_response d = { .status = 401 };
  _cleanup_error_ struct berth_error *e2 = NULL;
  registry_error_from_response (&d, &e2, "x");
  assert_int_equal (e2->kind, BERTH_E_UNAUTHORIZED);
  assert_true (registry_status_is_transient (503));
  assert_true (registry_status_is_transient (429));
  assert_false (registry_status_is_transient (404));
  assert_false (registry_status_is_transient (501));
  assert_true (registry_curl_is_transient (CURLE_RECV_ERROR));
  assert_false (registry_curl_is_transient (CURLE_SSL_CACERT_BADFILE));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_progress_shapes), cmocka_unit_test (test_progress_bar),
    cmocka_unit_test (test_insecure_rules),  cmocka_unit_test (test_ranges),
    cmocka_unit_test (test_scope_and_names), cmocka_unit_test (test_urls),
    cmocka_unit_test (test_error_bodies),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
