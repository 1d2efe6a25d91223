/* The bridge device behind a network (berth0, br-<12 hex> or the name given
 * by option): created over netlink with its gateway address, MTU and the
 * sysctls published ports need; and the host's subnets in use, so a new
 * network never lands on top of a route or address already there. */
#include "network/manager.h"
#include "network/netlink.h"

#include <stdio.h>
#include <string.h>

static int
bridge_sysctls (struct network_manager *m, const struct network *n, struct berth_error **err)
{
  char path[128];
  /* Lets DNAT'ed connections to 127.0.0.1:<published port> leave through
   * the bridge (the kernel drops loopback sources on other devices). */
  snprintf (path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
  if (sysctl_write (path, "1", err) < 0)
    return -1;
  /* Containers reach the outside (and published ports reach containers
   * from other hosts) only with forwarding on; docker turns it on too. */
  if (!n->internal && !m->no_ip_forward
      && sysctl_write ("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
    return -1;
  return 0;
}

int
bridge_ensure (struct network_manager *m, struct network *n, struct berth_error **err)
{
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  int r = -1, index = 0;
  _cleanup_error_ struct berth_error *lookup_err = NULL;
  if (nl_link_index (&nl, n->bridge, &index, &lookup_err) < 0)
    {
      if (lookup_err->kind != BERTH_E_NOT_FOUND)
        {
          berth_error_set (err, lookup_err->errnum, "%s", lookup_err->msg);
          goto out;
        }
      if (nl_bridge_add (&nl, n->bridge, n->mtu, err) < 0
          || nl_link_index (&nl, n->bridge, &index, err) < 0)
        goto out;
    }
  if (nl_addr_add (&nl, index, n->gateway, n->subnet.prefix, err) < 0
      || nl_link_set_up (&nl, index, err) < 0 || bridge_sysctls (m, n, err) < 0)
    goto out;
  r = 0;
out:
  nl_close (&nl);
  if (r < 0)
    berth_error_prefix (err, "bridge %s", n->bridge);
  return r;
}

int
bridge_delete (struct network *n, struct berth_error **err)
{
  return network_link_delete (n->bridge, err);
}

int
host_subnets_in_use (struct network_manager *m, struct ipv4_net **out, size_t *n_out,
                     struct berth_error **err)
{
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  int r = nl_ipv4_in_use (&nl, out, n_out, err);
  nl_close (&nl);
  if (r < 0)
    return -1;
  for (size_t i = 0; i < m->n_networks; i++)
    {
      if (m->networks[i]->kind != NETWORK_KIND_BRIDGE)
        continue;
      struct ipv4_net *v = realloc (*out, (*n_out + 1) * sizeof *v);
      if (v == NULL)
        abort ();
      *out = v;
      v[(*n_out)++] = m->networks[i]->subnet;
    }
  return 0;
}
