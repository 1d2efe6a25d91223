/* Networks: create (validation, subnet choice, bridge, DNS listener, rules),
 * remove, prune, the predefined bridge/host/none networks, and docker's
 * inspect shape. Every create undoes what it did when a later step fails. */
#include "network/manager.h"

#include <ctype.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool
network_name_is_valid (const char *s)
{
  /* docker: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ */
  if (s == NULL || !isalnum ((unsigned char) *s))
    return false;
  for (; *s; s++)
    if (!(isalnum ((unsigned char) *s) || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

static bool
ifname_is_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n >= NETWORK_IFNAME_MAX || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (; *s; s++)
    if (!(isalnum ((unsigned char) *s) || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

static int
option_bool (const char *key, const char *v, bool *out, struct berth_error **err)
{
  if (strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "option %s=`%s`: want true or false", key,
                                 v);
  return 0;
}

/* Docker's bridge options into the network (unknown options are kept and
 * shown, as docker does with driver options it does not use). */
static int
network_apply_options (struct network *n, struct berth_error **err)
{
  const char *key;
  json_t *v;
  json_object_foreach (n->options, key, v)
    {
      if (!json_is_string (v))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "option %s: value is not a string", key);
      const char *s = json_string_value (v);
      if (strcmp (key, NETWORK_OPT_BRIDGE_NAME) == 0)
        {
          if (!ifname_is_valid (s))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "option %s=`%s`: not a valid interface name (1-15 of "
                                         "letters, digits, _ . -)",
                                         key, s);
          strcpy (n->bridge, s);
        }
      else if (strcmp (key, NETWORK_OPT_MTU) == 0)
        {
          char *end = NULL;
          long mtu = strtol (s, &end, 10);
          if (end == s || *end || mtu < 68 || mtu > 65535)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "option %s=`%s`: MTU must be a number from 68 to 65535", key,
                                         s);
          n->mtu = (int) mtu;
        }
      else if (strcmp (key, NETWORK_OPT_ICC) == 0)
        {
          if (option_bool (key, s, &n->icc, err) < 0)
            return -1;
          /* The drop between containers of one bridge is seen by nftables
           * only through br_netfilter; without it the option would be a lie. */
          _cleanup_free_ char *brnf = NULL;
          if (!n->icc
              && (fs_read_file (AT_FDCWD, "/proc/sys/net/bridge/bridge-nf-call-iptables", &brnf,
                                NULL, NULL)
                      < 0
                  || brnf[0] != '1'))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "option %s=false needs br_netfilter with "
                                         "net.bridge.bridge-nf-call-iptables=1 (modprobe "
                                         "br_netfilter)",
                                         key);
        }
      else if (strcmp (key, NETWORK_OPT_MASQUERADE) == 0)
        {
          if (option_bool (key, s, &n->masquerade, err) < 0)
            return -1;
        }
      else if (strcmp (key, NETWORK_OPT_HOST_BINDING) == 0)
        {
          if (ipv4_parse (s, &n->host_binding_ip) < 0)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "option %s=`%s`: not an IPv4 address", key, s);
        }
    }
  return 0;
}

/* Subnet, gateway and range: given and checked, or picked from the pools
 * where nothing on the host (addresses, routes) nor another network is. */
static int
network_choose_addresses (struct network_manager *m, struct network *n,
                          const struct network_create_opts *opts, struct berth_error **err)
{
  _cleanup_free_ struct ipv4_net *taken = NULL;
  size_t n_taken = 0;
  if (host_subnets_in_use (m, &taken, &n_taken, err) < 0)
    return -1;
  if (opts->subnet)
    {
      if (ipv4_cidr_parse (opts->subnet, "subnet", false, &n->subnet, NULL, err) < 0)
        return -1;
      for (size_t i = 0; i < m->n_networks; i++)
        if (m->networks[i]->kind == NETWORK_KIND_BRIDGE
            && ipv4_net_overlaps (&n->subnet, &m->networks[i]->subnet))
          {
            _cleanup_free_ char *other = ipv4_cidr_format (&m->networks[i]->subnet);
            return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                         "subnet %s overlaps subnet %s of network %s", opts->subnet,
                                         other, m->networks[i]->name);
          }
      for (size_t i = 0; i < n_taken; i++)
        if (ipv4_net_overlaps (&n->subnet, &taken[i]))
          {
            _cleanup_free_ char *other = ipv4_cidr_format (&taken[i]);
            return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                         "subnet %s overlaps %s, already used on this host (an "
                                         "address or route)",
                                         opts->subnet, other);
          }
    }
  else
    {
      if (opts->gateway || opts->ip_range)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "a gateway or ip-range needs a subnet too");
      if (ipv4_pools_pick (m->pools, m->n_pools, taken, n_taken, &n->subnet, err) < 0)
        return -1;
      _cleanup_free_ char *s = ipv4_cidr_format (&n->subnet);
      berth_log (BERTH_LOG_INFO,
                 "network %s: picked subnet %s (free of every host address, route and network)",
                 n->name, s);
    }
  if (opts->gateway)
    {
      if (ipv4_parse (opts->gateway, &n->gateway) < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "gateway `%s`: not an IPv4 address",
                                     opts->gateway);
      if (!ipv4_net_contains (&n->subnet, n->gateway) || n->gateway == n->subnet.addr
          || n->gateway == ipv4_net_broadcast (&n->subnet))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "gateway %s is not a host address of subnet %s", opts->gateway,
                                     opts->subnet);
    }
  else
    n->gateway = n->subnet.addr + 1;
  if (opts->ip_range)
    {
      if (ipv4_cidr_parse (opts->ip_range, "ip-range", false, &n->range, NULL, err) < 0)
        return -1;
      n->has_range = true;
    }
  return ipam_init (&n->ipam, &n->subnet, n->gateway, n->has_range ? &n->range : NULL, err);
}

static struct network *
network_new (const char *name)
{
  struct network *n = calloc (1, sizeof *n);
  if (n == NULL)
    abort ();
  char id[SHA256_HEX_LEN + 1];
  random_id_hex (id);
  memcpy (n->id, id, sizeof n->id);
  n->name = xstrdup (name);
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  n->created = time_format_rfc3339nano (&ts);
  n->dns_udp_fd = -1;
  n->dns_tcp_fd = -1;
  n->icc = true;
  n->masquerade = true;
  n->labels = json_object ();
  n->options = json_object ();
  return n;
}

static void
manager_append (struct network_manager *m, struct network *n)
{
  struct network **v = realloc (m->networks, (m->n_networks + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  m->networks = v;
  v[m->n_networks++] = n;
}

static void
manager_drop (struct network_manager *m, struct network *n)
{
  for (size_t i = 0; i < m->n_networks; i++)
    if (m->networks[i] == n)
      {
        memmove (&m->networks[i], &m->networks[i + 1],
                 (m->n_networks - i - 1) * sizeof *m->networks);
        m->n_networks--;
        return;
      }
}


/* Persist, then make the devices: a crash in between leaves a network in
 * state whose bridge the next open creates, never a bridge nobody knows. */
static int
network_commit (struct network_manager *m, struct network *n, bool one_off,
                struct berth_error **err)
{
  manager_append (m, n);
  if (manager_save (m, n, err) < 0)
    goto undo;
  if (n->kind == NETWORK_KIND_BRIDGE)
    {
      if (bridge_ensure (m, n, err) < 0)
        goto undo;
      if (!n->is_default && dns_network_listen (m, n, err) < 0)
        goto undo;
      if ((one_off ? manager_sync_rules_one_off : manager_sync_rules) (m, err) < 0)
        goto undo;
    }
  return 0;
undo:
  dns_network_close (m, n);
  if (n->kind == NETWORK_KIND_BRIDGE)
    bridge_delete (n, NULL);
  manager_unlink_state (m, n);
  manager_drop (m, n);
  if (n->kind == NETWORK_KIND_BRIDGE)
    manager_sync_rules (m, NULL);
  return -1;
}

int
network_manager_create (struct network_manager *m, const struct network_create_opts *opts,
                        char **id_out, struct berth_error **err)
{
  if (!network_name_is_valid (opts->name))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "invalid network name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                 "allowed",
                                 opts->name ? opts->name : "");
  static const char *const docker_drivers[]
      = { "bridge", "host", "null", "none", "overlay", "macvlan", "ipvlan", NULL };
  if (opts->driver && *opts->driver
      && !strv_contains ((char *const *)docker_drivers, opts->driver))
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "plugin \"%s\" not found",
                                 opts->driver); /* dockerd's answer: a driver plugin */
  if (opts->driver && *opts->driver && strcmp (opts->driver, "bridge") != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "network %s: driver `%s` is not supported (only bridge)", opts->name,
                                 opts->driver);
  if (opts->enable_ipv6)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "network %s: IPv6 is not supported yet",
                                 opts->name);
  for (size_t i = 0; i < m->n_networks; i++)
    if (strcmp (m->networks[i]->name, opts->name) == 0)
      return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "network with name %s already exists",
                                   opts->name);
  if ((opts->labels && !json_is_object (opts->labels))
      || (opts->options && !json_is_object (opts->options)))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "network %s: labels and options must be objects", opts->name);

  struct network *n = network_new (opts->name);
  n->kind = NETWORK_KIND_BRIDGE;
  n->internal = opts->internal;
  n->attachable = opts->attachable;
  n->mtu = m->default_mtu;
  snprintf (n->bridge, sizeof n->bridge, "br-%.12s", n->id);
  if (opts->labels)
    json_object_update (n->labels, opts->labels);
  if (opts->options)
    json_object_update (n->options, opts->options);
  const char *key;
  json_t *v;
  json_object_foreach (n->labels, key, v)
    if (!json_is_string (v))
      {
        berth_error_set_kind (err, BERTH_E_INVALID, 0, "label %s: value is not a string", key);
        goto fail;
      }
  if (network_apply_options (n, err) < 0)
    goto fail;
  for (size_t i = 0; i < m->n_networks; i++)
    if (strcmp (m->networks[i]->bridge, n->bridge) == 0)
      {
        berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "bridge %s is used by network %s",
                              n->bridge, m->networks[i]->name);
        goto fail;
      }
  if (if_nametoindex (n->bridge) != 0)
    {
      berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                            "bridge name %s: a network interface of that name already exists",
                            n->bridge);
      goto fail;
    }
  if (network_choose_addresses (m, n, opts, err) < 0 || network_commit (m, n, false, err) < 0)
    goto fail;
  if (id_out)
    *id_out = xstrdup (n->id);
  return 0;
fail:
  network_free (n);
  return berth_error_prefix (err, "create network %s", opts->name);
}

int
network_manager_remove (struct network_manager *m, const char *id_or_name,
                        struct berth_error **err)
{
  struct network *n = manager_find (m, id_or_name, err);
  if (n == NULL)
    return -1;
  if (n->is_default || n->kind != NETWORK_KIND_BRIDGE)
    return berth_error_set_kind (err, BERTH_E_FORBIDDEN, 0,
                                 "%s is a pre-defined network and cannot be removed", n->name);
  /* dockerd's ActiveEndpointsError: 403, in these words */
  if (n->n_endpoints > 0)
    return berth_error_set_kind (err, BERTH_E_FORBIDDEN, 0,
                                 "error while removing network: network %s id %s has active "
                                 "endpoints",
                                 n->name, n->id);
  /* Devices and rules first, the state file last: a crash in between leaves
   * a network the next open re-creates, never a leftover nobody tracks. */
  dns_network_close (m, n);
  manager_drop (m, n);
  if (manager_sync_rules (m, err) < 0 || bridge_delete (n, err) < 0)
    {
      manager_append (m, n);
      dns_network_listen (m, n, NULL);
      return berth_error_prefix (err, "remove network %s", n->name);
    }
  manager_unlink_state (m, n);
  network_free (n);
  return 0;
}

/* ---------------------------------------------------- predefined networks */

static int
default_bridge_create (struct network_manager *m, struct berth_error **err)
{
  struct network *n = network_new (NETWORK_DEFAULT_NAME);
  n->kind = NETWORK_KIND_BRIDGE;
  n->is_default = true;
  n->mtu = m->default_mtu;
  if (!ifname_is_valid (m->default_device))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "bridge device name `%s` is not valid",
                            m->default_device);
      goto fail;
    }
  strcpy (n->bridge, m->default_device);
  /* Not in our state but present: another berthd's (or docker's, or a
   * leftover of a removed data root). Taking it over would mix two
   * daemons' addresses on one bridge. */
  if (if_nametoindex (n->bridge) != 0)
    {
      berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                            "bridge device %s exists but this data root did not make it (another "
                            "berthd? choose another device with \"bridge\" in daemon.json)",
                            n->bridge);
      goto fail;
    }
  struct network_create_opts opts = { .name = NETWORK_DEFAULT_NAME };
  if (m->bip)
    {
      /* --bip is the bridge's own address with the prefix: 10.9.0.1/24. */
      uint32_t host;
      if (ipv4_cidr_parse (m->bip, "--bip", true, &n->subnet, &host, err) < 0)
        goto fail;
      char ip[INET_ADDRSTRLEN];
      ipv4_format (host, ip);
      _cleanup_free_ char *sub = ipv4_cidr_format (&n->subnet);
      opts.subnet = sub;
      opts.gateway = ip;
      opts.ip_range = m->fixed_cidr;
      if (network_choose_addresses (m, n, &opts, err) < 0)
        goto fail;
    }
  else
    {
      if (m->fixed_cidr)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "--fixed-cidr needs --bip");
          goto fail;
        }
      if (network_choose_addresses (m, n, &opts, err) < 0)
        goto fail;
    }
  char mtu[16];
  snprintf (mtu, sizeof mtu, "%d", n->mtu);
  json_object_set_new (n->options, "com.docker.network.bridge.default_bridge", json_string ("true"));
  json_object_set_new (n->options, NETWORK_OPT_ICC, json_string ("true"));
  json_object_set_new (n->options, NETWORK_OPT_MASQUERADE, json_string ("true"));
  json_object_set_new (n->options, NETWORK_OPT_HOST_BINDING, json_string ("0.0.0.0"));
  json_object_set_new (n->options, NETWORK_OPT_BRIDGE_NAME, json_string (n->bridge));
  json_object_set_new (n->options, NETWORK_OPT_MTU, json_string (mtu));
  if (network_commit (m, n, true, err) < 0)
    goto fail;
  return 0;
fail:
  network_free (n);
  return berth_error_prefix (err, "default network bridge");
}

int
network_manager_ensure_default_networks (struct network_manager *m, struct berth_error **err)
{
  static const struct
  {
    const char *name;
    enum network_kind kind;
  } predefined[] = { { "host", NETWORK_KIND_HOST }, { "none", NETWORK_KIND_NULL } };
  bool has_bridge = false;
  for (size_t i = 0; i < m->n_networks; i++)
    has_bridge |= m->networks[i]->is_default;
  if (!has_bridge && default_bridge_create (m, err) < 0)
    return -1;
  for (size_t p = 0; p < sizeof predefined / sizeof predefined[0]; p++)
    {
      bool found = false;
      for (size_t i = 0; i < m->n_networks; i++)
        found |= m->networks[i]->kind == predefined[p].kind;
      if (found)
        continue;
      struct network *n = network_new (predefined[p].name);
      n->kind = predefined[p].kind;
      if (network_commit (m, n, true, err) < 0)
        {
          network_free (n);
          return -1;
        }
    }
  return 0;
}

/* ------------------------------------------------------------- inspect -- */

static json_t *
network_to_docker_json (const struct network *n)
{
  static const char *const driver[] = { "bridge", "host", "null" };
  json_t *config = json_array ();
  if (n->kind == NETWORK_KIND_BRIDGE)
    {
      _cleanup_free_ char *sub = ipv4_cidr_format (&n->subnet);
      char gw[INET_ADDRSTRLEN];
      ipv4_format (n->gateway, gw);
      json_t *c = json_pack ("{s:s, s:s}", "Subnet", sub, "Gateway", gw);
      if (n->has_range)
        {
          _cleanup_free_ char *r = ipv4_cidr_format (&n->range);
          json_object_set_new (c, "IPRange", json_string (r));
        }
      json_array_append_new (config, c);
    }
  json_t *containers = json_object ();
  for (size_t i = 0; i < n->n_endpoints; i++)
    {
      const struct endpoint *e = n->endpoints[i];
      char ip[INET_ADDRSTRLEN], mac[18];
      ipv4_format (e->ip, ip);
      mac_format (e->mac, mac);
      _cleanup_free_ char *cidr = xasprintf ("%s/%d", ip, n->subnet.prefix);
      json_object_set_new (containers, e->container_id,
                           json_pack ("{s:s, s:s, s:s, s:s, s:s}", "Name",
                                      e->container_name ? e->container_name : "", "EndpointID",
                                      e->id, "MacAddress", mac, "IPv4Address", cidr, "IPv6Address",
                                      ""));
    }
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, "
                    "s:b, s:o, s:O, s:O}",
                    "Name", n->name, "Id", n->id, "Created", n->created, "Scope", "local",
                    "Driver", driver[n->kind], "EnableIPv6", false, "IPAM", "Driver", "default",
                    "Options", "Config", config, "Internal", n->internal, "Attachable",
                    n->attachable, "Ingress", false, "ConfigFrom", "Network", "", "ConfigOnly",
                    false, "Containers", containers, "Options", n->options, "Labels", n->labels);
}

json_t *
network_manager_inspect (struct network_manager *m, const char *id_or_name,
                         struct berth_error **err)
{
  struct network *n = manager_find (m, id_or_name, err);
  return n ? network_to_docker_json (n) : NULL;
}

static int
by_name (const void *a, const void *b)
{
  const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
  return strcmp (json_string_value (json_object_get (x, "Name")),
                 json_string_value (json_object_get (y, "Name")));
}

json_t *
network_manager_list (struct network_manager *m)
{
  json_t **v = calloc (m->n_networks + 1, sizeof *v);
  if (v == NULL)
    abort ();
  for (size_t i = 0; i < m->n_networks; i++)
    v[i] = network_to_docker_json (m->networks[i]);
  qsort (v, m->n_networks, sizeof *v, by_name);
  json_t *a = json_array ();
  for (size_t i = 0; i < m->n_networks; i++)
    json_array_append_new (a, v[i]);
  free (v);
  return a;
}

json_t *
network_manager_prune (struct network_manager *m,
                       bool (*keep) (const json_t *inspect, void *userdata), void *userdata,
                       struct berth_error **err)
{
  json_t *removed = json_array ();
  for (size_t i = m->n_networks; i-- > 0;)
    {
      struct network *n = m->networks[i];
      if (n->is_default || n->kind != NETWORK_KIND_BRIDGE || n->n_endpoints > 0)
        continue;
      if (keep)
        {
          _cleanup_json_ json_t *j = network_to_docker_json (n);
          if (keep (j, userdata))
            continue;
        }
      _cleanup_free_ char *name = xstrdup (n->name);
      if (network_manager_remove (m, n->id, err) < 0)
        {
          json_decref (removed);
          return NULL;
        }
      json_array_append_new (removed, json_string (name));
    }
  return removed;
}
