/* Addresses as users write them: subnets and gateways (`network create
 * --subnet`, IPAM.Config), --bip, default address pools (base=…,size=…),
 * single IPv4 addresses and MAC addresses. Whatever parses must format back
 * to something that parses to the same value. */
#include <arpa/inet.h>

#include "fuzz-common.h"
#include "network/network-internal.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);
  {
    uint32_t a = 0;
    if (ipv4_parse (s, &a) == 0)
      {
        char buf[INET_ADDRSTRLEN];
        ipv4_format (a, buf);
        uint32_t b = 0;
        FUZZ_ASSERT (ipv4_parse (buf, &b) == 0 && a == b);
      }
  }
  for (int allow_host_bits = 0; allow_host_bits < 2; allow_host_bits++)
    {
      struct ipv4_net n = { 0 };
      uint32_t host = 0;
      _cleanup_error_ struct berth_error *err = NULL;
      if (ipv4_cidr_parse (s, "subnet", allow_host_bits, &n, &host, &err) == 0)
        {
          FUZZ_ASSERT (n.prefix >= 0 && n.prefix <= 32);
          FUZZ_ASSERT ((n.addr & ~ipv4_mask (n.prefix)) == 0);
          FUZZ_ASSERT (ipv4_net_contains (&n, n.addr));
          (void) ipv4_net_broadcast (&n);
          _cleanup_free_ char *text = ipv4_cidr_format (&n);
          struct ipv4_net again = { 0 };
          _cleanup_error_ struct berth_error *err2 = NULL;
          FUZZ_ASSERT (ipv4_cidr_parse (text, "subnet", false, &again, NULL, &err2) == 0);
          FUZZ_ASSERT (again.addr == n.addr && again.prefix == n.prefix);
          FUZZ_ASSERT (ipv4_net_overlaps (&n, &again));
        }
      else
        FUZZ_ASSERT (err && err->msg);
    }
  {
    struct ipv4_pool pool = { 0 };
    _cleanup_error_ struct berth_error *err = NULL;
    if (ipv4_pool_parse (s, &pool, &err) == 0)
      {
        struct ipv4_net taken[] = { { .addr = 0xac110000, .prefix = 16 } };
        struct ipv4_net out;
        _cleanup_error_ struct berth_error *err2 = NULL;
        if (ipv4_pools_pick (&pool, 1, taken, 1, &out, &err2) == 0)
          FUZZ_ASSERT (!ipv4_net_overlaps (&out, &taken[0]));
      }
  }
  {
    uint8_t mac[6];
    _cleanup_error_ struct berth_error *err = NULL;
    if (mac_parse (s, mac, &err) == 0)
      {
        char text[18];
        mac_format (mac, text);
        uint8_t again[6];
        _cleanup_error_ struct berth_error *err2 = NULL;
        FUZZ_ASSERT (mac_parse (text, again, &err2) == 0 && memcmp (mac, again, 6) == 0);
      }
  }
  return 0;
}
