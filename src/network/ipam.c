/* IPAM of one network: which addresses of its subnet (or --ip-range) are
 * taken. The set is rebuilt from the persisted endpoints at load, so the
 * endpoint records are the only truth on disk. */
#include "network/network-internal.h"

#include <string.h>

int
ipam_init (struct ipam *ipam, const struct ipv4_net *subnet, uint32_t gateway,
           const struct ipv4_net *range, struct berth_error **err)
{
  memset (ipam, 0, sizeof *ipam);
  ipam->subnet = *subnet;
  ipam->gateway = gateway;
  if (subnet->prefix > 30)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "subnet /%d is too small: it leaves no address for a container",
                                 subnet->prefix);
  /* Network and broadcast addresses are never handed out. */
  uint32_t lo = subnet->addr + 1, hi = ipv4_net_broadcast (subnet) - 1;
  if (range)
    {
      if (!ipv4_net_contains (subnet, range->addr) || range->prefix < subnet->prefix)
        {
          _cleanup_free_ char *r = ipv4_cidr_format (range);
          _cleanup_free_ char *s = ipv4_cidr_format (subnet);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ip-range %s is not inside subnet %s",
                                       r, s);
        }
      uint32_t rlo = range->addr, rhi = ipv4_net_broadcast (range);
      if (rlo > lo)
        lo = rlo;
      if (rhi < hi)
        hi = rhi;
      if (lo > hi)
        {
          _cleanup_free_ char *r = ipv4_cidr_format (range);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ip-range %s holds no usable address",
                                       r);
        }
    }
  ipam->lo = lo;
  ipam->hi = hi;
  ipam->last = lo - 1;
  return 0;
}

void
ipam_fini (struct ipam *ipam)
{
  free (ipam->used);
  ipam->used = NULL;
  ipam->n_used = 0;
}

/* Index of the first element >= addr. */
static size_t
ipam_lower_bound (const struct ipam *ipam, uint32_t addr)
{
  size_t lo = 0, hi = ipam->n_used;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (ipam->used[mid] < addr)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

bool
ipam_is_used (const struct ipam *ipam, uint32_t addr)
{
  size_t i = ipam_lower_bound (ipam, addr);
  return i < ipam->n_used && ipam->used[i] == addr;
}

static void
ipam_insert (struct ipam *ipam, uint32_t addr)
{
  size_t i = ipam_lower_bound (ipam, addr);
  uint32_t *v = realloc (ipam->used, (ipam->n_used + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  ipam->used = v;
  memmove (&v[i + 1], &v[i], (ipam->n_used - i) * sizeof *v);
  v[i] = addr;
  ipam->n_used++;
}

int
ipam_reserve (struct ipam *ipam, uint32_t addr, struct berth_error **err)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (addr, ip);
  if (!ipv4_net_contains (&ipam->subnet, addr))
    {
      _cleanup_free_ char *s = ipv4_cidr_format (&ipam->subnet);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "address %s is not in subnet %s", ip, s);
    }
  if (addr == ipam->subnet.addr || addr == ipv4_net_broadcast (&ipam->subnet))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "address %s is the network or broadcast address", ip);
  if (addr == ipam->gateway)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "address %s is the network's gateway", ip);
  if (ipam_is_used (ipam, addr))
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "Address already in use: %s", ip);
  ipam_insert (ipam, addr);
  return 0;
}

int
ipam_allocate (struct ipam *ipam, uint32_t *out, struct berth_error **err)
{
  uint64_t size = (uint64_t) ipam->hi - ipam->lo + 1;
  uint32_t cand = ipam->last;
  for (uint64_t i = 0; i < size; i++)
    {
      cand = (cand >= ipam->hi || cand < ipam->lo) ? ipam->lo : cand + 1;
      if (cand == ipam->gateway || ipam_is_used (ipam, cand))
        continue;
      ipam_insert (ipam, cand);
      ipam->last = cand;
      *out = cand;
      return 0;
    }
  _cleanup_free_ char *s = ipv4_cidr_format (&ipam->subnet);
  return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                               "no available IPv4 address on network subnet %s: all %llu in use", s,
                               (unsigned long long) size);
}

void
ipam_release (struct ipam *ipam, uint32_t addr)
{
  size_t i = ipam_lower_bound (ipam, addr);
  if (i < ipam->n_used && ipam->used[i] == addr)
    {
      memmove (&ipam->used[i], &ipam->used[i + 1], (ipam->n_used - i - 1) * sizeof *ipam->used);
      ipam->n_used--;
    }
}
