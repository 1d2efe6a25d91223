/* Subnets, overlap checks, address pools, MAC addresses, IPAM and the
 * persistence of allocations (network JSON round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "network/network-internal.h"

static uint32_t
ip (const char *s)
{
  uint32_t a = 0;
  assert_int_equal (ipv4_parse (s, &a), 0);
  return a;
}

static void
test_cidr_parse (void **state)
{
  static const struct
  {
    const char *in;
    int ok;
    const char *net;
    int prefix;
    const char *msg; /* part of the error */
  } cases[] = {
    { "10.7.0.0/24", 1, "10.7.0.0", 24, NULL },
    { "0.0.0.0/0", 1, "0.0.0.0", 0, NULL },
    { "192.168.1.0/32", 1, "192.168.1.0", 32, NULL },
    { "10.7.0.1/24", 0, NULL, 0, "host bits are set (did you mean 10.7.0.0/24?)" },
    { "10.7.0.0", 0, NULL, 0, "not in CIDR notation" },
    { "10.7.0.0/33", 0, NULL, 0, "prefix length" },
    { "10.7.0.0/", 0, NULL, 0, "invalid prefix length" },
    { "10.7.0.0/2x", 0, NULL, 0, "prefix length" },
    { "10.7.0.0/08", 0, NULL, 0, "prefix length" },
    { "10.7.0/24", 0, NULL, 0, "invalid IPv4 address" },
    { "010.7.0.0/24", 0, NULL, 0, "invalid IPv4 address" },
    { "256.0.0.0/8", 0, NULL, 0, "invalid IPv4 address" },
    { "fd00::/64", 0, NULL, 0, "IPv6 is not supported" },
    { "", 0, NULL, 0, "empty" },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8", 0, NULL, 0, "invalid IPv4 address" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct ipv4_net n;
      struct berth_error *err = NULL;
      int r = ipv4_cidr_parse (cases[i].in, "subnet", false, &n, NULL, &err);
      if (cases[i].ok)
        {
          assert_int_equal (r, 0);
          assert_int_equal (n.addr, ip (cases[i].net));
          assert_int_equal (n.prefix, cases[i].prefix);
        }
      else
        {
          assert_int_equal (r, -1);
          assert_non_null (err);
          assert_int_equal (err->kind, BERTH_E_INVALID);
          if (strstr (err->msg, cases[i].msg) == NULL)
            fail_msg ("case %s: message `%s` lacks `%s`", cases[i].in, err->msg, cases[i].msg);
          berth_error_free (err);
        }
    }
  /* --bip keeps the host part. */
  struct ipv4_net n;
  uint32_t host;
  assert_int_equal (ipv4_cidr_parse ("10.9.0.1/24", "--bip", true, &n, &host, NULL), 0);
  assert_int_equal (n.addr, ip ("10.9.0.0"));
  assert_int_equal (host, ip ("10.9.0.1"));
}

static void
test_overlap (void **state)
{
  static const struct
  {
    const char *a, *b;
    bool overlaps;
  } cases[] = {
    { "10.0.0.0/8", "10.1.0.0/16", true },   { "10.1.0.0/16", "10.0.0.0/8", true },
    { "10.1.0.0/16", "10.2.0.0/16", false }, { "172.17.0.0/16", "172.17.255.0/24", true },
    { "192.168.0.0/20", "192.168.16.0/20", false }, { "0.0.0.0/0", "1.2.3.0/24", true },
    { "10.0.0.0/31", "10.0.0.2/31", false },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct ipv4_net a, b;
      assert_int_equal (ipv4_cidr_parse (cases[i].a, "a", false, &a, NULL, NULL), 0);
      assert_int_equal (ipv4_cidr_parse (cases[i].b, "b", false, &b, NULL, NULL), 0);
      assert_int_equal (ipv4_net_overlaps (&a, &b), cases[i].overlaps);
    }
}

static void
test_pools_pick (void **state)
{
  struct ipv4_pool pools[2];
  assert_int_equal (ipv4_pool_parse ("base=172.17.0.0/16,size=16", &pools[0], NULL), 0);
  assert_int_equal (ipv4_pool_parse ("base=192.168.0.0/16,size=20", &pools[1], NULL), 0);
  struct ipv4_net taken[3], out;
  /* docker0 on 172.17, a host route on 192.168.0.0/24. */
  ipv4_cidr_parse ("172.17.0.0/16", "t", false, &taken[0], NULL, NULL);
  ipv4_cidr_parse ("192.168.0.0/24", "t", false, &taken[1], NULL, NULL);
  assert_int_equal (ipv4_pools_pick (pools, 2, taken, 2, &out, NULL), 0);
  assert_int_equal (out.addr, ip ("192.168.16.0"));
  assert_int_equal (out.prefix, 20);
  /* A default route (0/0) is never in `taken`; a /8 covering everything
   * of the pools is, and then nothing is left. */
  ipv4_cidr_parse ("192.168.0.0/16", "t", false, &taken[2], NULL, NULL);
  struct berth_error *err = NULL;
  assert_int_equal (ipv4_pools_pick (pools, 2, taken, 3, &out, &err), -1);
  assert_int_equal (err->kind, BERTH_E_CONFLICT);
  assert_non_null (strstr (err->msg, "fully subnetted"));
  berth_error_free (err);

  static const char *const bad[] = { "base=10.0.0.0/8", "size=24", "base=10.0.0.0/16,size=8",
                                     "base=10.0.0.0/8,size=31", "base=x/8,size=24",
                                     "base=10.0.0.0/8,size=24,zz=1" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct ipv4_pool p;
      err = NULL;
      assert_int_equal (ipv4_pool_parse (bad[i], &p, &err), -1);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
    }
}

static void
test_mac (void **state)
{
  uint8_t mac[6];
  char s[18];
  mac_from_ipv4 (ip ("172.17.0.2"), mac);
  mac_format (mac, s);
  assert_string_equal (s, "02:42:ac:11:00:02"); /* docker's scheme */
  assert_int_equal (mac_parse ("02:42:AC:11:00:09", mac, NULL), 0);
  assert_int_equal (mac[5], 9);
  static const char *const bad[] = { "", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "0g:42:ac:11:00:02",
                                     "01:00:5e:00:00:01" /* multicast */, "00:00:00:00:00:00",
                                     "02-42-ac-11-00-02", "02:42:ac:11:00: 2" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct berth_error *err = NULL;
      assert_int_equal (mac_parse (bad[i], mac, &err), -1);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
    }
}

static void
test_ipam_allocate_release (void **state)
{
  struct ipam ipam;
  struct ipv4_net sub;
  ipv4_cidr_parse ("10.5.0.0/29", "s", false, &sub, NULL, NULL);
  assert_int_equal (ipam_init (&ipam, &sub, ip ("10.5.0.1"), NULL, NULL), 0);
  /* .0 network, .1 gateway, .7 broadcast: .2 to .6 are for containers. */
  uint32_t got[5];
  for (int i = 0; i < 5; i++)
    {
      assert_int_equal (ipam_allocate (&ipam, &got[i], NULL), 0);
      assert_int_equal (got[i], ip ("10.5.0.2") + (uint32_t) i);
    }
  struct berth_error *err = NULL;
  uint32_t x;
  assert_int_equal (ipam_allocate (&ipam, &x, &err), -1);
  assert_int_equal (err->kind, BERTH_E_CONFLICT);
  assert_non_null (strstr (err->msg, "no available IPv4 address"));
  berth_error_free (err);
  /* Released addresses come back, but round-robin: .3 is next after .6. */
  ipam_release (&ipam, got[1]);
  ipam_release (&ipam, got[3]);
  assert_int_equal (ipam_allocate (&ipam, &x, NULL), 0);
  assert_int_equal (x, got[1]);
  assert_int_equal (ipam_allocate (&ipam, &x, NULL), 0);
  assert_int_equal (x, got[3]);
  ipam_release (&ipam, ip ("10.9.9.9")); /* unknown: ignored */
  ipam_fini (&ipam);
}

static void
test_ipam_static_and_range (void **state)
{
  struct ipam ipam;
  struct ipv4_net sub, range;
  ipv4_cidr_parse ("10.6.0.0/24", "s", false, &sub, NULL, NULL);
  ipv4_cidr_parse ("10.6.0.128/30", "r", false, &range, NULL, NULL);
  assert_int_equal (ipam_init (&ipam, &sub, ip ("10.6.0.1"), &range, NULL), 0);
  uint32_t x;
  assert_int_equal (ipam_allocate (&ipam, &x, NULL), 0);
  assert_int_equal (x, ip ("10.6.0.128"));
  /* A static address outside the range but inside the subnet is fine
   * (docker: --ip may be anywhere in the subnet). */
  assert_int_equal (ipam_reserve (&ipam, ip ("10.6.0.50"), NULL), 0);
  struct berth_error *err = NULL;
  assert_int_equal (ipam_reserve (&ipam, ip ("10.6.0.50"), &err), -1);
  assert_int_equal (err->kind, BERTH_E_CONFLICT);
  assert_non_null (strstr (err->msg, "already in use"));
  berth_error_freep (&err);
  static const char *const bad[] = { "10.7.0.5", "10.6.0.0", "10.6.0.255", "10.6.0.1" };
  static const enum berth_error_kind kinds[] = { BERTH_E_INVALID, BERTH_E_INVALID, BERTH_E_INVALID,
                                                 BERTH_E_CONFLICT };
  for (size_t i = 0; i < 4; i++)
    {
      assert_int_equal (ipam_reserve (&ipam, ip (bad[i]), &err), -1);
      assert_int_equal (err->kind, kinds[i]);
      berth_error_freep (&err);
    }
  for (int i = 0; i < 3; i++)
    assert_int_equal (ipam_allocate (&ipam, &x, NULL), 0);
  assert_int_equal (x, ip ("10.6.0.131"));
  assert_int_equal (ipam_allocate (&ipam, &x, &err), -1); /* the /30 range is exhausted */
  berth_error_freep (&err);
  ipam_fini (&ipam);

  /* A range outside the subnet, and a subnet with no room. */
  ipv4_cidr_parse ("10.7.0.0/30", "r", false, &range, NULL, NULL);
  assert_int_equal (ipam_init (&ipam, &sub, ip ("10.6.0.1"), &range, &err), -1);
  assert_non_null (strstr (err->msg, "not inside subnet"));
  berth_error_freep (&err);
  ipv4_cidr_parse ("10.6.0.0/31", "s", false, &sub, NULL, NULL);
  assert_int_equal (ipam_init (&ipam, &sub, ip ("10.6.0.0"), NULL, &err), -1);
  berth_error_freep (&err);
}

static void
test_persistence_roundtrip (void **state)
{
  struct ipv4_net sub;
  ipv4_cidr_parse ("10.8.0.0/24", "s", false, &sub, NULL, NULL);
  struct network *n = calloc (1, sizeof *n);
  strcpy (n->id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  n->name = xstrdup ("persist");
  n->created = xstrdup ("2026-11-26T01:00:00Z");
  n->kind = NETWORK_KIND_BRIDGE;
  strcpy (n->bridge, "br-0123456789ab");
  n->subnet = sub;
  n->gateway = ip ("10.8.0.1");
  n->icc = true;
  n->masquerade = false;
  n->internal = true;
  n->mtu = 1400;
  n->labels = json_pack ("{s:s}", "a", "b");
  n->options = json_object ();
  n->dns_udp_fd = -1;
  assert_int_equal (ipam_init (&n->ipam, &sub, n->gateway, NULL, NULL), 0);
  n->endpoints = calloc (2, sizeof *n->endpoints);
  for (int i = 0; i < 2; i++)
    {
      struct endpoint *e = calloc (1, sizeof *e);
      snprintf (e->id, sizeof e->id, "%064d", i);
      snprintf (e->container_id, sizeof e->container_id, "%064d", i + 10);
      e->container_name = xasprintf ("c%d", i);
      strcpy (e->ifname, "eth0");
      snprintf (e->host_ifname, sizeof e->host_ifname, "veth%07d", i);
      assert_int_equal (ipam_allocate (&n->ipam, &e->ip, NULL), 0);
      mac_from_ipv4 (e->ip, e->mac);
      e->aliases = calloc (1, sizeof (char *));
      strv_append (&e->aliases, "db");
      e->dns_servers = calloc (1, sizeof (char *));
      e->ports = calloc (1, sizeof *e->ports);
      e->ports[0] = (struct port_mapping){ .proto = IPPROTO_UDP, .container_port = 53,
                                           .host_port = (uint16_t) (5300 + i), .reserve_fd = -1 };
      e->n_ports = 1;
      n->endpoints[n->n_endpoints++] = e;
    }
  _cleanup_json_ json_t *j = store_network_to_json (n);
  struct network *back = store_network_from_json (j, "test.json", NULL);
  assert_non_null (back);
  assert_string_equal (back->name, "persist");
  assert_int_equal (back->n_endpoints, 2);
  assert_true (back->internal);
  assert_false (back->masquerade);
  assert_int_equal (back->mtu, 1400);
  /* The allocations come back from the endpoints: both addresses are
   * taken, and the next one continues after them. */
  assert_true (ipam_is_used (&back->ipam, ip ("10.8.0.2")));
  assert_true (ipam_is_used (&back->ipam, ip ("10.8.0.3")));
  uint32_t x;
  assert_int_equal (ipam_allocate (&back->ipam, &x, NULL), 0);
  assert_int_equal (x, ip ("10.8.0.4"));
  assert_int_equal (back->endpoints[1]->ports[0].host_port, 5301);
  assert_int_equal (back->endpoints[1]->ports[0].proto, IPPROTO_UDP);
  assert_string_equal (back->endpoints[0]->aliases[0], "db");
  network_free (back);

  /* Damaged state: errors name the file and the field, never a crash. */
  static const char *const damage[][2] = {
    { "subnet", "10.8.0.1/24" },
    { "gateway", "nope" },
    { "bridge", "a-bridge-name-far-too-long" },
    { "id", NULL },
  };
  for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++)
    {
      _cleanup_json_ json_t *bad = json_deep_copy (j);
      if (damage[i][1])
        json_object_set_new (bad, damage[i][0], json_string (damage[i][1]));
      else
        json_object_del (bad, damage[i][0]);
      struct berth_error *err = NULL;
      assert_null (store_network_from_json (bad, "bad.json", &err));
      assert_non_null (err);
      assert_non_null (strstr (err->msg, "bad.json") ? err->msg : strstr (err->msg, "subnet"));
      berth_error_free (err);
    }
  /* Two endpoints claiming the same address. */
  _cleanup_json_ json_t *dup = json_deep_copy (j);
  json_t *eps = json_object_get (dup, "endpoints");
  json_object_set (json_array_get (eps, 1), "ip", json_object_get (json_array_get (eps, 0), "ip"));
  struct berth_error *err = NULL;
  assert_null (store_network_from_json (dup, "dup.json", &err));
  assert_non_null (strstr (err->msg, "already in use"));
  berth_error_free (err);
  network_free (n);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cidr_parse),          cmocka_unit_test (test_overlap),
    cmocka_unit_test (test_pools_pick),          cmocka_unit_test (test_mac),
    cmocka_unit_test (test_ipam_allocate_release), cmocka_unit_test (test_ipam_static_and_range),
    cmocka_unit_test (test_persistence_roundtrip),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
