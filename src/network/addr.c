/* IPv4 addresses, subnets and address pools (parsing, overlap, picking a
 * free subnet), and MAC addresses. Pure functions: no syscalls. */
#include "network/network-internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

uint32_t
ipv4_mask (int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* Strict dotted quad: inet_pton already refuses octal, short forms and
 * trailing junk, unlike inet_aton. */
int
ipv4_parse (const char *s, uint32_t *out)
{
  struct in_addr a;
  if (s == NULL || inet_pton (AF_INET, s, &a) != 1)
    return -1;
  *out = ntohl (a.s_addr);
  return 0;
}

void
ipv4_format (uint32_t addr, char out[INET_ADDRSTRLEN])
{
  struct in_addr a = { .s_addr = htonl (addr) };
  inet_ntop (AF_INET, &a, out, INET_ADDRSTRLEN);
}

int
ipv4_cidr_parse (const char *s, const char *what, bool allow_host_bits, struct ipv4_net *out,
                 uint32_t *host, struct berth_error **err)
{
  if (s == NULL || *s == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: empty", what);
  const char *slash = strchr (s, '/');
  if (slash == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s `%s`: not in CIDR notation (a.b.c.d/n)",
                                 what, s);
  char ip[INET_ADDRSTRLEN];
  size_t iplen = (size_t) (slash - s);
  if (iplen >= sizeof ip)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s `%s`: invalid IPv4 address", what, s);
  memcpy (ip, s, iplen);
  ip[iplen] = '\0';
  uint32_t addr;
  if (ipv4_parse (ip, &addr) < 0)
    {
      if (strchr (ip, ':'))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s `%s`: IPv6 is not supported", what,
                                     s);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s `%s`: invalid IPv4 address `%s`",
                                   what, s, ip);
    }
  const char *p = slash + 1;
  int prefix = 0;
  if (!isdigit ((unsigned char) *p))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s `%s`: invalid prefix length", what, s);
  for (; isdigit ((unsigned char) *p) && prefix <= 32; p++)
    prefix = prefix * 10 + (*p - '0');
  if (*p != '\0' || prefix > 32 || (slash[1] == '0' && slash[2] != '\0'))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "%s `%s`: prefix length must be a number from 0 to 32", what, s);
  uint32_t net = addr & ipv4_mask (prefix);
  if (net != addr && !allow_host_bits)
    {
      char want[INET_ADDRSTRLEN];
      ipv4_format (net, want);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "%s `%s`: host bits are set (did you mean %s/%d?)", what, s, want,
                                   prefix);
    }
  out->addr = net;
  out->prefix = prefix;
  if (host)
    *host = addr;
  return 0;
}

char *
ipv4_cidr_format (const struct ipv4_net *n)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (n->addr, ip);
  return xasprintf ("%s/%d", ip, n->prefix);
}

bool
ipv4_net_contains (const struct ipv4_net *n, uint32_t addr)
{
  return (addr & ipv4_mask (n->prefix)) == n->addr;
}

/* Two CIDRs overlap exactly when the shorter prefix contains the other's
 * network address. */
bool
ipv4_net_overlaps (const struct ipv4_net *a, const struct ipv4_net *b)
{
  int p = a->prefix < b->prefix ? a->prefix : b->prefix;
  return (a->addr & ipv4_mask (p)) == (b->addr & ipv4_mask (p));
}

uint32_t
ipv4_net_broadcast (const struct ipv4_net *n)
{
  return n->addr | ~ipv4_mask (n->prefix);
}

/* dockerd's --default-address-pool syntax: "base=172.80.0.0/16,size=24". */
int
ipv4_pool_parse (const char *s, struct ipv4_pool *out, struct berth_error **err)
{
  _cleanup_strv_ char **fields = strv_split (s, ',');
  bool has_base = false, has_size = false;
  for (char **f = fields; *f; f++)
    {
      if (str_has_prefix (*f, "base="))
        {
          if (ipv4_cidr_parse (*f + 5, "default-address-pool base", false, &out->base, NULL, err) < 0)
            return -1;
          has_base = true;
        }
      else if (str_has_prefix (*f, "size="))
        {
          char *end = NULL;
          long v = strtol (*f + 5, &end, 10);
          if (end == *f + 5 || *end != '\0' || v < 1 || v > 30)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "default-address-pool `%s`: size must be 1..30", s);
          out->size = (int) v;
          has_size = true;
        }
      else
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "default-address-pool `%s`: unknown field `%s` (want base=,size=)",
                                     s, *f);
    }
  if (!has_base || !has_size)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "default-address-pool `%s`: needs both base= and size=", s);
  if (out->size < out->base.prefix)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "default-address-pool `%s`: size /%d is larger than the base /%d", s,
                                 out->size, out->base.prefix);
  return 0;
}

int
ipv4_pools_pick (const struct ipv4_pool *pools, size_t n_pools, const struct ipv4_net *taken,
                 size_t n_taken, struct ipv4_net *out, struct berth_error **err)
{
  for (size_t p = 0; p < n_pools; p++)
    {
      uint64_t step = 1ull << (32 - pools[p].size);
      uint64_t count = 1ull << (pools[p].size - pools[p].base.prefix);
      for (uint64_t i = 0; i < count; i++)
        {
          struct ipv4_net cand = { .addr = (uint32_t) (pools[p].base.addr + i * step),
                                   .prefix = pools[p].size };
          bool clash = false;
          for (size_t t = 0; t < n_taken && !clash; t++)
            clash = ipv4_net_overlaps (&cand, &taken[t]);
          if (!clash)
            {
              *out = cand;
              return 0;
            }
        }
    }
  /* docker's message for the same situation. */
  return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                               "all predefined address pools have been fully subnetted");
}

void
mac_from_ipv4 (uint32_t ip, uint8_t mac[6])
{
  /* docker's scheme: locally administered 02:42 followed by the IPv4 bytes,
   * so a MAC is unique wherever the IP is. */
  mac[0] = 0x02;
  mac[1] = 0x42;
  mac[2] = (uint8_t) (ip >> 24);
  mac[3] = (uint8_t) (ip >> 16);
  mac[4] = (uint8_t) (ip >> 8);
  mac[5] = (uint8_t) ip;
}

int
mac_parse (const char *s, uint8_t mac[6], struct berth_error **err)
{
  unsigned v[6];
  int n = 0;
  if (s == NULL || strlen (s) != 17
      || sscanf (s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) != 6
      || n != 17)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "mac address `%s`: want six hex bytes like 02:42:ac:11:00:02",
                                 s ? s : "");
  for (int i = 0; i < 17; i++)
    if ((i % 3 == 2) != (s[i] == ':') || (i % 3 != 2 && !isxdigit ((unsigned char) s[i])))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "mac address `%s`: want six hex bytes like 02:42:ac:11:00:02", s);
  if (v[0] & 1)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "mac address `%s`: a multicast address cannot be an interface's", s);
  if ((v[0] | v[1] | v[2] | v[3] | v[4] | v[5]) == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "mac address `%s`: all zero", s);
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t) v[i];
  return 0;
}

void
mac_format (const uint8_t mac[6], char out[18])
{
  snprintf (out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
            mac[5]);
}
