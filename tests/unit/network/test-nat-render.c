/* The nftables script rendered from networks: masquerade only for
 * non-internal networks, isolation between bridges, --internal drops,
 * icc, published ports, and nothing but a delete with no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "network/network-internal.h"

static struct network *
net (const char *bridge, const char *subnet, bool internal)
{
  struct network *n = calloc (1, sizeof *n);
  n->kind = NETWORK_KIND_BRIDGE;
  strcpy (n->bridge, bridge);
  ipv4_cidr_parse (subnet, "s", false, &n->subnet, NULL, NULL);
  n->gateway = n->subnet.addr + 1;
  n->internal = internal;
  n->icc = true;
  n->masquerade = true;
  return n;
}

static void
add_port (struct network *n, uint32_t ip, int proto, uint16_t hp, uint16_t cp, uint32_t host_ip)
{
  struct endpoint *e = calloc (1, sizeof *e);
  strcpy (e->container_id, "0123456789abcdef");
  e->ip = ip;
  e->ports = calloc (1, sizeof *e->ports);
  e->ports[0] = (struct port_mapping){ .proto = proto, .container_port = cp, .host_port = hp,
                                       .host_ip = host_ip, .reserve_fd = -1 };
  e->n_ports = 1;
  n->endpoints = realloc (n->endpoints, (n->n_endpoints + 1) * sizeof *n->endpoints);
  n->endpoints[n->n_endpoints++] = e;
}

static void
assert_has (const char *text, const char *line)
{
  if (strstr (text, line) == NULL)
    fail_msg ("rule `%s` missing from:\n%s", line, text);
}

static void
test_render (void **state)
{
  struct network *nets[3] = { net ("br-a", "10.1.0.0/24", false), net ("br-b", "10.2.0.0/24", true),
                              net ("br-c", "10.3.0.0/24", false) };
  nets[2]->icc = false;
  nets[2]->masquerade = false;
  nets[0]->dns_port = 40053; /* port 53 was taken: redirected */
  nets[2]->dns_port = 53;
  add_port (nets[0], 0x0a010002, IPPROTO_TCP, 8080, 80, 0);
  add_port (nets[0], 0x0a010003, IPPROTO_UDP, 5353, 53, 0x7f000001);
  _cleanup_free_ char *s = nat_ruleset_render ("berth_t", "0123abcd", nets, 3);
  /* Replaced as a whole, in one transaction. */
  assert_true (str_has_prefix (s, "add table ip berth_t\ndelete table ip berth_t\ntable ip berth_t {"));
  assert_has (s, "comment \"berth-owner:0123abcd\"");
  assert_has (s, "ip saddr 10.1.0.0/24 oifname != \"br-a\" masquerade");
  assert_null (strstr (s, "ip saddr 10.2.0.0/24 oifname")); /* internal: no way out */
  assert_null (strstr (s, "ip saddr 10.3.0.0/24 oifname")); /* masquerade off */
  assert_has (s, "iifname \"br-b\" oifname != \"br-b\" drop");
  assert_has (s, "oifname \"br-b\" iifname != \"br-b\" drop");
  assert_has (s, "iifname \"br-c\" oifname \"br-c\" drop"); /* icc=false */
  assert_has (s, "iifname \"br-a\" oifname { \"br-b\", \"br-c\" } drop");
  assert_has (s, "iifname \"br-c\" oifname { \"br-a\", \"br-b\" } drop");
  assert_has (s, "tcp dport 8080 dnat to 10.1.0.2:80");
  assert_has (s, "ip daddr 127.0.0.1 udp dport 5353 dnat to 10.1.0.3:53");
  assert_has (s, "ip saddr 10.1.0.2 ip daddr 10.1.0.2 tcp dport 80 masquerade");
  assert_has (s, "oifname \"br-a\" ip saddr 127.0.0.0/8 masquerade");
  assert_has (s, "fib daddr type local jump ports");
  assert_has (s, "type filter hook forward priority filter; policy accept;");
  assert_has (s, "iifname \"br-a\" ip daddr 10.1.0.1 udp dport 53 dnat to 10.1.0.1:40053");
  assert_null (strstr (s, "10.3.0.1 udp dport 53"));
  /* Published ports cross isolation, but never out of --internal. */
  const char *internal = strstr (s, "iifname \"br-b\" oifname != \"br-b\" drop");
  const char *dnat = strstr (s, "ct status dnat accept");
  const char *iso = strstr (s, "iifname \"br-a\" oifname {");
  assert_true (internal && dnat && iso && internal < dnat && dnat < iso);
  for (int i = 0; i < 3; i++)
    network_free (nets[i]);

  /* No bridge network left: the script only removes the table. */
  _cleanup_free_ char *empty = nat_ruleset_render ("berth_t", "0123abcd", NULL, 0);
  assert_string_equal (empty, "add table ip berth_t\ndelete table ip berth_t\n");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_render),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
