/* Endpoints: a container's attachment to a network — IP and MAC, the veth
 * pair (host end on the bridge, the other end born inside the container's
 * netns), address/route/MTU there, published ports — and their removal.
 * The state is saved before the devices exist, so a crash in between
 * leaves a record that cleanup_orphans can act on. */
#include "network/manager.h"
#include "network/netlink.h"

#include <ctype.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

static bool
container_id_is_valid (const char *s)
{
  size_t n = s ? strlen (s) : 0;
  if (n < 12 || n > NETWORK_ID_LEN)
    return false;
  for (; *s; s++)
    if (!isxdigit ((unsigned char) *s) || isupper ((unsigned char) *s))
      return false;
  return true;
}

bool
endpoint_link_exists (const struct endpoint *e)
{
  return if_nametoindex (e->host_ifname) != 0;
}

static struct endpoint *
endpoint_find (struct network *n, const char *container_id, size_t *index)
{
  for (size_t i = 0; i < n->n_endpoints; i++)
    if (strcmp (n->endpoints[i]->container_id, container_id) == 0)
      {
        if (index)
          *index = i;
        return n->endpoints[i];
      }
  return NULL;
}

/* The endpoint's records only: its address, port reservations and names
 * go; its devices are left to the caller. */
static void
endpoint_forget (struct network *n, size_t index)
{
  struct endpoint *e = n->endpoints[index];
  ipam_release (&n->ipam, e->ip);
  memmove (&n->endpoints[index], &n->endpoints[index + 1],
           (n->n_endpoints - index - 1) * sizeof *n->endpoints);
  n->n_endpoints--;
  endpoint_free (e); /* closes the port reservations */
}

int
endpoint_remove (struct network_manager *m, struct network *n, size_t index,
                 struct berth_error **err)
{
  struct endpoint *e = n->endpoints[index];
  /* Deleting the host end deletes its peer in the container too; when the
   * netns is already gone so is the pair, and that is not an error. */
  if (network_link_delete (e->host_ifname, err) < 0)
    return berth_error_prefix (err, "disconnect container %.12s", e->container_id);
  endpoint_forget (n, index);
  (void) m;
  return 0;
}

/* First ethN not present in the netns. */
static int
endpoint_pick_ifname (struct nl *nl, char out[NETWORK_IFNAME_MAX], struct berth_error **err)
{
  _cleanup_strv_ char **names = NULL;
  if (nl_link_names (nl, &names, err) < 0)
    return -1;
  for (int i = 0; i < 1000; i++)
    {
      snprintf (out, NETWORK_IFNAME_MAX, "eth%d", i);
      if (!strv_contains (names, out))
        return 0;
    }
  return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "no free ethN name in the netns");
}

/* Inside the container's netns (the MTU was set at the link's creation):
 * up, the address, loopback up, and the default route if the netns has none
 * yet (the first network a container joins is its gateway, as in docker),
 * in one netlink send. */
static int
endpoint_configure_inside (struct nl *nl, const struct network *n, const struct endpoint *e,
                           struct berth_error **err)
{
  int index = 0;
  if (nl_link_index (nl, e->ifname, &index, err) < 0)
    return -1;
  return nl_inside_setup (nl, index, e->ip, n->subnet.prefix, !n->internal, n->gateway, err);
}

/* A container reaching its own published port through a host address is
 * DNAT'ed back to itself; br_netfilter then bridges the packet out of the
 * port it came in on, which a bridge only does in hairpin mode (docker sets
 * it too when it publishes ports in the kernel). */
static int
endpoint_hairpin_on (const struct endpoint *e, struct berth_error **err)
{
  char path[96];
  snprintf (path, sizeof path, "/sys/class/net/%s/brport/hairpin_mode", e->host_ifname);
  return sysctl_write (path, "1", err);
}

static void
endpoint_info_fill (const struct network *n, const struct endpoint *e,
                    struct network_endpoint_info *info)
{
  memset (info, 0, sizeof *info);
  memcpy (info->network_id, n->id, sizeof info->network_id);
  memcpy (info->endpoint_id, e->id, sizeof info->endpoint_id);
  memcpy (info->ifname, e->ifname, sizeof info->ifname);
  memcpy (info->host_ifname, e->host_ifname, sizeof info->host_ifname);
  ipv4_format (e->ip, info->ip);
  ipv4_format (n->gateway, info->gateway);
  mac_format (e->mac, info->mac);
  info->prefix_len = n->subnet.prefix;
  info->mtu = n->mtu;
  if (!n->is_default)
    ipv4_format (n->gateway, info->dns_server);
}

static int
endpoint_build (struct network *n, const struct network_endpoint_opts *opts, struct endpoint *e,
                struct berth_error **err)
{
  char id[SHA256_HEX_LEN + 1];
  random_id_hex (id);
  memcpy (e->id, id, sizeof e->id);
  strcpy (e->container_id, opts->container_id);
  e->container_name = xstrdup (opts->container_name ? opts->container_name : "");
  e->aliases = strv_dup ((char *const *) opts->aliases);
  if (e->aliases == NULL)
    e->aliases = calloc (1, sizeof (char *));
  e->dns_servers = calloc (1, sizeof (char *));
  for (const char *const *d = opts->dns_servers; d && *d; d++)
    {
      uint32_t a;
      char *colon = strchr (*d, ':');
      _cleanup_free_ char *ip = colon ? strndup (*d, (size_t) (colon - *d)) : xstrdup (*d);
      if (ipv4_parse (ip, &a) < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "dns server `%s`: not an IPv4 address",
                                     *d);
      strv_append (&e->dns_servers, *d);
    }
  snprintf (e->host_ifname, sizeof e->host_ifname, "veth%.7s", id + 12);
  /* Everything that can be refused is checked before an address is taken. */
  if (opts->mac_address && mac_parse (opts->mac_address, e->mac, err) < 0)
    return -1;
  if (opts->ipv4_address)
    {
      if (ipv4_parse (opts->ipv4_address, &e->ip) < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ip `%s`: not an IPv4 address",
                                     opts->ipv4_address);
      if (ipam_reserve (&n->ipam, e->ip, err) < 0)
        return -1;
    }
  else if (ipam_allocate (&n->ipam, &e->ip, err) < 0)
    return -1;
  if (!opts->mac_address)
    mac_from_ipv4 (e->ip, e->mac);
  return 0;
}

static int
endpoint_ports_reserve (struct network *n, struct endpoint *e,
                        const struct network_endpoint_opts *opts, struct berth_error **err)
{
  e->ports = calloc (opts->n_ports ? opts->n_ports : 1, sizeof *e->ports);
  if (e->ports == NULL)
    abort ();
  for (size_t i = 0; i < opts->n_ports; i++)
    {
      const struct network_port_binding *b = &opts->ports[i];
      if (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "port %u: protocol must be tcp or udp",
                                     b->container_port);
      if (b->container_port == 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "container port 0 is not a port");
      if (port_reserve (&e->ports[e->n_ports], b, n->host_binding_ip, err) < 0)
        return -1;
      e->n_ports++;
    }
  return 0;
}

static void
network_append_endpoint (struct network *n, struct endpoint *e)
{
  struct endpoint **v = realloc (n->endpoints, (n->n_endpoints + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  n->endpoints = v;
  v[n->n_endpoints++] = e;
}

int
network_manager_connect (struct network_manager *m, const char *network,
                         const struct network_endpoint_opts *opts,
                         struct network_endpoint_info *info, struct berth_error **err)
{
  struct network *n = manager_find (m, network, err);
  if (n == NULL)
    return -1;
  if (n->kind != NETWORK_KIND_BRIDGE)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "container cannot be disconnected from or connected to the %s "
                                 "network (it is a network mode, not a network)",
                                 n->name);
  if (!container_id_is_valid (opts->container_id))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "connect to %s: container id `%s` is not 12-64 lowercase hex",
                                 n->name, opts->container_id ? opts->container_id : "");
  if (endpoint_find (n, opts->container_id, NULL))
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "endpoint with name %s already exists in network %s",
                                 opts->container_name ? opts->container_name : opts->container_id,
                                 n->name);
  if (opts->n_ports > 0 && n->internal)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "network %s is internal: it cannot publish ports", n->name);
  if (opts->ifname && (strlen (opts->ifname) >= NETWORK_IFNAME_MAX || !*opts->ifname
                       || strpbrk (opts->ifname, "/ :")))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "interface name `%s` is not valid",
                                 opts->ifname);

  _cleanup_close_ int nsfd = netns_open (opts->netns_path, opts->pid, err);
  if (nsfd < 0)
    return berth_error_prefix (err, "connect %.12s to %s", opts->container_id, n->name);

  struct endpoint *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  struct nl host = { 0 }, inside = { 0 };
  bool ip_taken = false, in_state = false, veth_made = false;
  int r = -1, bridge_index = 0;
  uint32_t ipam_last = n->ipam.last; /* a failed connect does not move the cursor */
  if (endpoint_build (n, opts, e, err) < 0)
    goto fail;
  ip_taken = true;
  if (endpoint_ports_reserve (n, e, opts, err) < 0)
    goto fail;
  if (nl_open (&host, err) < 0 || nl_open_in_netns (&inside, nsfd, err) < 0)
    goto fail;
  if (opts->ifname)
    strcpy (e->ifname, opts->ifname);
  else if (endpoint_pick_ifname (&inside, e->ifname, err) < 0)
    goto fail;
  network_append_endpoint (n, e);
  in_state = true;
  if (manager_save_endpoints (m, n, err) < 0)
    goto fail;
  if (nl_link_index (&host, n->bridge, &bridge_index, err) < 0
      || nl_veth_add (&host, e->host_ifname, bridge_index, n->mtu, e->ifname, nsfd, e->mac, err) < 0)
    goto fail;
  veth_made = true;
  /* only a container that publishes can be DNAT'ed back to itself */
  if ((e->n_ports > 0 && endpoint_hairpin_on (e, err) < 0)
      || endpoint_configure_inside (&inside, n, e, err) < 0
      || manager_sync_rules (m, err) < 0)
    goto fail;
  if (info)
    endpoint_info_fill (n, e, info);
  r = 0;
fail:
  if (r < 0)
    {
      if (veth_made)
        nl_link_del (&host, e->host_ifname, NULL);
      if (in_state)
        {
          size_t idx;
          if (endpoint_find (n, e->container_id, &idx))
            memmove (&n->endpoints[idx], &n->endpoints[idx + 1],
                     (n->n_endpoints - idx - 1) * sizeof *n->endpoints);
          n->n_endpoints--;
          manager_save_endpoints (m, n, NULL);
          if (veth_made)
            manager_sync_rules (m, NULL);
        }
      if (ip_taken)
        ipam_release (&n->ipam, e->ip);
      n->ipam.last = ipam_last;
      endpoint_free (e);
      berth_error_prefix (err, "connect %.12s to %s", opts->container_id, n->name);
    }
  nl_close (&host);
  nl_close (&inside);
  return r;
}

int
network_manager_disconnect (struct network_manager *m, const char *network,
                            const char *container_id, struct berth_error **err)
{
  struct network *n = manager_find (m, network, err);
  if (n == NULL)
    return -1;
  size_t idx;
  if (container_id == NULL || endpoint_find (n, container_id, &idx) == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                 "container %s is not connected to network %s",
                                 container_id ? container_id : "", n->name);
  if (endpoint_remove (m, n, idx, err) < 0 || manager_save_endpoints (m, n, err) < 0
      || manager_sync_rules (m, err) < 0)
    return -1;
  return 0;
}

int
network_manager_disconnect_all (struct network_manager *m, const char *container_id,
                                struct berth_error **err)
{
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      size_t idx;
      if (endpoint_find (n, container_id, &idx) == NULL)
        continue;
      if (endpoint_remove (m, n, idx, err) < 0 || manager_save_endpoints (m, n, err) < 0)
        return -1;
    }
  return manager_sync_rules (m, err);
}

int
network_manager_release_all (struct network_manager *m, const char *container_id,
                             char ***links_out, struct berth_error **err)
{
  char **links = calloc (1, sizeof (char *));
  if (links == NULL)
    abort ();
  *links_out = links;
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      size_t idx;
      struct endpoint *e = endpoint_find (n, container_id, &idx);
      if (e == NULL)
        continue;
      strv_append (links_out, e->host_ifname);
      endpoint_forget (n, idx);
      if (manager_save_endpoints (m, n, err) < 0)
        return -1;
    }
  return manager_sync_rules (m, err);
}

int
network_link_delete (const char *ifname, struct berth_error **err)
{
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  int r = nl_link_del (&nl, ifname, err);
  nl_close (&nl);
  return r < 0 ? -1 : 0;
}

static struct endpoint *
endpoint_lookup (struct network_manager *m, const char *network, const char *container_id,
                 struct network **n_out, struct berth_error **err)
{
  struct network *n = manager_find (m, network, err);
  if (n == NULL)
    return NULL;
  struct endpoint *e = container_id ? endpoint_find (n, container_id, NULL) : NULL;
  if (e == NULL)
    berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "container %s is not connected to network %s",
                          container_id ? container_id : "", n->name);
  *n_out = n;
  return e;
}

int
network_manager_endpoint_get (struct network_manager *m, const char *network,
                              const char *container_id, struct network_endpoint_info *info,
                              struct berth_error **err)
{
  struct network *n;
  struct endpoint *e = endpoint_lookup (m, network, container_id, &n, err);
  if (e == NULL)
    return -1;
  endpoint_info_fill (n, e, info);
  return 0;
}

json_t *
network_manager_endpoint_settings (struct network_manager *m, const char *network,
                                   const char *container_id, struct berth_error **err)
{
  struct network *n;
  struct endpoint *e = endpoint_lookup (m, network, container_id, &n, err);
  if (e == NULL)
    return NULL;
  struct network_endpoint_info info;
  endpoint_info_fill (n, e, &info);
  json_t *aliases = json_array ();
  for (char **a = e->aliases; a && *a; a++)
    json_array_append_new (aliases, json_string (*a));
  json_t *dns_names = json_null ();
  if (!n->is_default)
    {
      /* What the embedded DNS answers for this container (docker 25+). */
      dns_names = json_array ();
      if (e->container_name && *e->container_name)
        json_array_append_new (dns_names, json_string (e->container_name));
      json_array_append_new (dns_names, json_stringn (e->container_id, 12));
      for (char **a = e->aliases; a && *a; a++)
        json_array_append_new (dns_names, json_string (*a));
    }
  return json_pack ("{s:n, s:n, s:o, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:o}",
                    "IPAMConfig", "Links", "Aliases", aliases, "MacAddress", info.mac, "DriverOpts",
                    "NetworkID", n->id, "EndpointID", e->id, "Gateway", info.gateway, "IPAddress",
                    info.ip, "IPPrefixLen", info.prefix_len, "IPv6Gateway", "",
                    "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames", dns_names);
}

json_t *
network_manager_container_ports (struct network_manager *m, const char *container_id)
{
  json_t *ports = json_object ();
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct endpoint *e = container_id ? endpoint_find (m->networks[i], container_id, NULL) : NULL;
      for (size_t p = 0; e && p < e->n_ports; p++)
        {
          const struct port_mapping *pm = &e->ports[p];
          char key[32], hip[INET_ADDRSTRLEN], hport[8];
          snprintf (key, sizeof key, "%u/%s", pm->container_port,
                    pm->proto == IPPROTO_UDP ? "udp" : "tcp");
          ipv4_format (pm->host_ip, hip);
          snprintf (hport, sizeof hport, "%u", pm->host_port);
          json_t *list = json_object_get (ports, key);
          if (list == NULL)
            {
              list = json_array ();
              json_object_set_new (ports, key, list);
            }
          json_array_append_new (list, json_pack ("{s:s, s:s}", "HostIp", hip, "HostPort", hport));
        }
    }
  return ports;
}

int
network_netns_loopback_up (const char *netns_path, pid_t pid, struct berth_error **err)
{
  _cleanup_close_ int nsfd = netns_open (netns_path, pid, err);
  if (nsfd < 0)
    return -1;
  struct nl nl = { 0 };
  if (nl_open_in_netns (&nl, nsfd, err) < 0)
    return -1;
  int r = nl_link_set_up (&nl, NL_LOOPBACK_INDEX, err);
  nl_close (&nl);
  return r;
}
