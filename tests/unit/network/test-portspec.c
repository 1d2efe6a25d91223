/* `-p` specs, as docker's nat.ParsePortSpec reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "network/network-internal.h"

static void
test_good_specs (void **state)
{
  static const struct
  {
    const char *spec;
    size_t n;
    int proto;
    const char *host_ip;
    uint16_t cport, hlo, hhi; /* of the first binding */
    uint16_t last_cport, last_hlo;
  } cases[] = {
    { "80", 1, IPPROTO_TCP, "", 80, 0, 0, 80, 0 },                    /* -p 80: ephemeral host port */
    { "8080:80", 1, IPPROTO_TCP, "", 80, 8080, 8080, 80, 8080 },
    { "8080:80/udp", 1, IPPROTO_UDP, "", 80, 8080, 8080, 80, 8080 },
    { "8080:80/tcp", 1, IPPROTO_TCP, "", 80, 8080, 8080, 80, 8080 },
    { "127.0.0.1:8080:80", 1, IPPROTO_TCP, "127.0.0.1", 80, 8080, 8080, 80, 8080 },
    { "127.0.0.1::80", 1, IPPROTO_TCP, "127.0.0.1", 80, 0, 0, 80, 0 },
    { "0.0.0.0:8080:80", 1, IPPROTO_TCP, "", 80, 8080, 8080, 80, 8080 },
    { "8000-8002:80-82", 3, IPPROTO_TCP, "", 80, 8000, 8000, 82, 8002 },
    { "8000-8010:80", 1, IPPROTO_TCP, "", 80, 8000, 8010, 80, 8000 }, /* any free of the range */
    { "7000-7001/udp", 2, IPPROTO_UDP, "", 7000, 0, 0, 7001, 0 },
    { ":80", 1, IPPROTO_TCP, "", 80, 0, 0, 80, 0 },
    { "65535:65535", 1, IPPROTO_TCP, "", 65535, 65535, 65535, 65535, 65535 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct network_port_binding *b = NULL;
      size_t n = 0;
      struct berth_error *err = NULL;
      if (network_port_spec_parse (cases[i].spec, &b, &n, &err) < 0)
        fail_msg ("%s: %s", cases[i].spec, err->msg);
      assert_int_equal (n, cases[i].n);
      assert_int_equal (b[0].proto, cases[i].proto);
      assert_string_equal (b[0].host_ip, cases[i].host_ip);
      assert_int_equal (b[0].container_port, cases[i].cport);
      assert_int_equal (b[0].host_port_lo, cases[i].hlo);
      assert_int_equal (b[0].host_port_hi, cases[i].hhi);
      assert_int_equal (b[n - 1].container_port, cases[i].last_cport);
      assert_int_equal (b[n - 1].host_port_lo, cases[i].last_hlo);
      free (b);
    }
}

static void
test_bad_specs (void **state)
{
  static const struct
  {
    const char *spec;
    const char *msg;
  } cases[] = {
    { "", "empty" },
    { "abc", "invalid container port `abc`" },
    { "8080:", "no container port" },
    { "8080:80/sctp", "sctp is not supported" },
    { "8080:80/icmp", "invalid proto `icmp`" },
    { "8080:80/", "invalid proto" },
    { "x:80", "invalid host port `x`" },
    { "70000:80", "at most 65535" },
    { "80:99999", "at most 65535" },
    { "8080:0", "container port 0" },
    { "1.2.3:8080:80", "invalid IP address `1.2.3`" },
    { "[::1]:8080:80", "IPv6" },
    { "8000-8001:80-82", "invalid ranges" },
    { "8010-8000:80", "ends before it starts" },
    { "80-", "invalid container port" },
    { "80--90", "invalid container port" },
    { "1-2-3", "invalid container port" },
    { "-80", "invalid container port" },
    { "8080: 80", "invalid container port" },
    { "0-5:80", "cannot start at 0" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct network_port_binding *b = NULL;
      size_t n = 0;
      struct berth_error *err = NULL;
      if (network_port_spec_parse (cases[i].spec, &b, &n, &err) == 0)
        fail_msg ("`%s` was accepted", cases[i].spec);
      assert_null (b);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      if (strstr (err->msg, cases[i].msg) == NULL)
        fail_msg ("`%s`: message `%s` lacks `%s`", cases[i].spec, err->msg, cases[i].msg);
      berth_error_free (err);
    }
  struct network_port_binding *b = NULL;
  size_t n = 0;
  struct berth_error *err = NULL;
  assert_int_equal (network_port_spec_parse (NULL, &b, &n, &err), -1);
  berth_error_free (err);
}

static void
test_from_api (void **state)
{
  json_error_t je;
  _cleanup_json_ json_t *pb = json_loads (
      "{\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8080\"},"
      "              {\"HostIp\": \"127.0.0.1\", \"HostPort\": \"\"}],"
      " \"53/udp\": [{\"HostPort\": \"5300-5310\"}],"
      " \"9000\": null}", 0, &je);
  _cleanup_json_ json_t *exposed = json_loads ("{\"80/tcp\": {}, \"443/tcp\": {}, \"9000/tcp\": {}}", 0, &je);
  struct network_port_binding *b = NULL;
  size_t n = 0;
  assert_int_equal (network_port_bindings_from_api (pb, exposed, true, &b, &n, NULL), 0);
  /* 80 twice, 53/udp, then -P adds 443 and 9000 (its binding was null). */
  assert_int_equal (n, 5);
  assert_int_equal (b[0].host_port_lo, 8080);
  assert_string_equal (b[0].host_ip, "");
  assert_string_equal (b[1].host_ip, "127.0.0.1");
  assert_int_equal (b[1].host_port_lo, 0);
  assert_int_equal (b[2].proto, IPPROTO_UDP);
  assert_int_equal (b[2].host_port_lo, 5300);
  assert_int_equal (b[2].host_port_hi, 5310);
  free (b);
  /* Without -P only the bindings count. */
  assert_int_equal (network_port_bindings_from_api (pb, exposed, false, &b, &n, NULL), 0);
  assert_int_equal (n, 3);
  free (b);
  assert_int_equal (network_port_bindings_from_api (NULL, NULL, true, &b, &n, NULL), 0);
  assert_int_equal (n, 0);
  free (b);

  static const struct
  {
    const char *json, *msg;
  } bad[] = {
    { "[]", "expected an object" },
    { "{\"80/sctp\": []}", "tcp or udp" },
    { "{\"x/tcp\": []}", "container port" },
    { "{\"80-81/tcp\": []}", "one container port" },
    { "{\"80/tcp\": {}}", "expected an array" },
    { "{\"80/tcp\": [1]}", "[0]: expected an object" },
    { "{\"80/tcp\": [{\"HostPort\": 8080}]}", "must be strings" },
    { "{\"80/tcp\": [{\"HostPort\": \"80000\"}]}", "at most 65535" },
    { "{\"80/tcp\": [{\"HostIp\": \"::\", \"HostPort\": \"80\"}]}", "IPv6" },
    { "{\"80/tcp\": [{\"HostIp\": \"1.2.3\"}]}", "HostIp `1.2.3`" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      _cleanup_json_ json_t *j = json_loads (bad[i].json, 0, &je);
      assert_non_null (j);
      struct berth_error *err = NULL;
      assert_int_equal (network_port_bindings_from_api (j, NULL, false, &b, &n, &err), -1);
      assert_null (b);
      if (strstr (err->msg, bad[i].msg) == NULL || strstr (err->msg, "PortBindings") == NULL)
        fail_msg ("%s: `%s` lacks `%s`", bad[i].json, err->msg, bad[i].msg);
      berth_error_free (err);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_good_specs),
    cmocka_unit_test (test_bad_specs),
    cmocka_unit_test (test_from_api),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
