/* /etc/hosts, /etc/resolv.conf and /etc/hostname of a container, as
 * docker writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "network/network-internal.h"

static const char *const docker_hosts_header = "127.0.0.1\tlocalhost\n"
                                               "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "fe00::0\tip6-localnet\n"
                                               "ff00::0\tip6-mcastprefix\n"
                                               "ff02::1\tip6-allnodes\n"
                                               "ff02::2\tip6-allrouters\n";

static void
test_hosts (void **state)
{
  struct network_endpoint_info ep[2];
  memset (ep, 0, sizeof ep);
  strcpy (ep[0].ip, "172.18.0.2");
  strcpy (ep[1].ip, "10.7.0.5");
  const char *extra[] = { "db:10.0.0.9", "gw:host-gateway", "v6:[fd00::1]", "eq=1.2.3.4", NULL };
  _cleanup_free_ char *h = network_hosts_file ("c1", NULL, ep, 2, extra, "172.17.0.1", NULL);
  assert_non_null (h);
  _cleanup_free_ char *want = xasprintf ("%s10.0.0.9\tdb\n172.17.0.1\tgw\nfd00::1\tv6\n1.2.3.4\teq\n"
                                         "172.18.0.2\tc1\n10.7.0.5\tc1\n",
                                         docker_hosts_header);
  assert_string_equal (h, want);

  _cleanup_free_ char *d = network_hosts_file ("c1", "example.org", ep, 1, NULL, NULL, NULL);
  assert_non_null (strstr (d, "172.18.0.2\tc1.example.org c1\n"));
  /* --network host/none: only the header and extra hosts. */
  _cleanup_free_ char *none = network_hosts_file ("c1", NULL, NULL, 0, NULL, NULL, NULL);
  assert_string_equal (none, docker_hosts_header);

  static const struct
  {
    const char *extra, *msg;
  } bad[] = {
    { "nocolon", "want name:ip" },    { ":1.2.3.4", "want name:ip" },
    { "db:", "want name:ip" },        { "db:1.2.3", "invalid IP address" },
    { "d b:1.2.3.4", "invalid host name" }, { "gw:host-gateway", "no host-gateway" },
    { "x:1.2.3.4\n9.9.9.9 evil", "invalid IP address" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      const char *e[] = { bad[i].extra, NULL };
      struct berth_error *err = NULL;
      assert_null (network_hosts_file ("c1", NULL, NULL, 0, e, NULL, &err));
      assert_int_equal (err->kind, BERTH_E_INVALID);
      if (strstr (err->msg, bad[i].msg) == NULL)
        fail_msg ("%s: `%s` lacks `%s`", bad[i].extra, err->msg, bad[i].msg);
      berth_error_free (err);
    }
}

static const char *const host_conf = "# generated\n"
                                     "nameserver 127.0.0.53\n"
                                     "nameserver 10.255.255.53\n"
                                     "nameserver 192.0.2.53 # comment\n"
                                     "domain old.example\n"
                                     "search corp.example lab.example\n"
                                     "options edns0 trust-ad\n";

static void
test_resolv_conf (void **state)
{
  /* Default bridge: host servers minus loopback, search and options kept. */
  _cleanup_free_ char *a = network_resolv_conf (host_conf, NULL, NULL, NULL, NULL, NULL);
  assert_string_equal (a, "nameserver 10.255.255.53\nnameserver 192.0.2.53\n"
                          "search corp.example lab.example\noptions edns0 trust-ad\n");
  /* A user network: only the embedded server; --dns goes to it instead. */
  const char *dns[] = { "1.1.1.1", NULL };
  _cleanup_free_ char *b = network_resolv_conf (host_conf, "10.9.0.1", dns, NULL, NULL, NULL);
  assert_string_equal (b, "nameserver 10.9.0.1\nsearch corp.example lab.example\n"
                          "options edns0 trust-ad\n");
  /* --dns, --dns-search, --dns-option replace the host's lines. */
  const char *search[] = { "a.example", NULL }, *opts[] = { "ndots:2", "timeout:1", NULL };
  _cleanup_free_ char *c = network_resolv_conf (host_conf, NULL, dns, search, opts, NULL);
  assert_string_equal (c, "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2 timeout:1\n");
  /* --dns-search . drops the search list. */
  const char *dot[] = { ".", NULL };
  _cleanup_free_ char *d = network_resolv_conf (host_conf, NULL, dns, dot, NULL, NULL);
  assert_null (strstr (d, "search"));
  /* Only a loopback stub on the host: docker's public fallback. */
  _cleanup_free_ char *e = network_resolv_conf ("nameserver 127.0.0.53\n", NULL, NULL, NULL, NULL, NULL);
  assert_string_equal (e, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  _cleanup_free_ char *f = network_resolv_conf (NULL, NULL, NULL, NULL, NULL, NULL);
  assert_non_null (strstr (f, "nameserver 8.8.8.8"));

  const char *bad_dns[] = { "1.1.1", NULL }, *bad_search[] = { "a b", NULL },
             *bad_opt[] = { "", NULL };
  struct berth_error *err = NULL;
  assert_null (network_resolv_conf (host_conf, NULL, bad_dns, NULL, NULL, &err));
  assert_non_null (strstr (err->msg, "--dns `1.1.1`"));
  berth_error_freep (&err);
  assert_null (network_resolv_conf (host_conf, NULL, NULL, bad_search, NULL, &err));
  assert_non_null (strstr (err->msg, "--dns-search"));
  berth_error_freep (&err);
  assert_null (network_resolv_conf (host_conf, NULL, NULL, NULL, bad_opt, &err));
  assert_non_null (strstr (err->msg, "--dns-option"));
  berth_error_freep (&err);
}

static void
test_hostname (void **state)
{
  _cleanup_free_ char *h = network_hostname_file ("web-1.example", NULL);
  assert_string_equal (h, "web-1.example\n");
  static const char *const bad[] = { "", "-web", "web-", "a..b", "with space", "new\nline",
                                     "a/b" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct berth_error *err = NULL;
      assert_null (network_hostname_file (bad[i], &err));
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
    }
  char longname[300];
  memset (longname, 'a', 299);
  longname[299] = 0;
  struct berth_error *err = NULL;
  assert_null (network_hostname_file (longname, &err));
  berth_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hosts),
    cmocka_unit_test (test_resolv_conf),
    cmocka_unit_test (test_hostname),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
