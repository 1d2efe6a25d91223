/* Containers on networks: the glue between the containers module and
 * src/network. The hooks of container_network_hooks (connect at start,
 * disconnect at exit, NetworkSettings for inspect/list), the container's
 * /etc/hosts and /etc/resolv.conf from the library's generators, and
 * POST /networks/{id}/connect|disconnect. Loop thread only. */
#include "daemon/container-network.h"
#include "daemon/containers-internal.h"
#include "network/network.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *
jstr (const json_t *j, const char *k)
{
  const char *s = json_string_value (json_object_get (j, k));
  return s ? s : "";
}

static char **
empty_strv (void)
{
  char **v = calloc (1, sizeof *v);
  if (v == NULL)
    abort ();
  return v;
}

static bool
mode_has_endpoints (const char *mode)
{
  return strcmp (mode, "host") != 0 && strcmp (mode, "none") != 0
         && !str_has_prefix (mode, "container:");
}

/* The network NetworkMode names ("default" is docker's alias of bridge). */
static const char *
primary_network (const struct container *c)
{
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (*mode == '\0' || strcmp (mode, "default") == 0)
    return NETWORK_DEFAULT_NAME;
  return mode;
}

static json_t *
endpoints_config (struct container *c)
{
  if (!json_is_object (c->networking))
    {
      json_decref (c->networking);
      c->networking = json_object ();
    }
  json_t *eps = json_object_get (c->networking, "EndpointsConfig");
  if (!json_is_object (eps))
    {
      eps = json_object ();
      json_object_set_new (c->networking, "EndpointsConfig", eps);
    }
  return eps;
}

/* The EndpointsConfig entry of network (by the name or id it was given
 * with), NULL when none. */
static json_t *
endpoint_config_find (struct network_manager *m, struct container *c, const char *net_id,
                      const char **key_out)
{
  json_t *eps = endpoints_config (c);
  const char *k;
  json_t *v;
  json_object_foreach (eps, k, v)
  {
    _cleanup_free_ char *id = NULL, *name = NULL;
    _cleanup_error_ struct berth_error *ignored = NULL;
    if (network_manager_resolve (m, k, &id, &name, &ignored) == 0 && strcmp (id, net_id) == 0)
      {
        if (key_out)
          *key_out = k;
        return v;
      }
  }
  return NULL;
}

/* `docker network disconnect` of the NetworkMode network: the mode stays
 * (docker keeps it too), a berth-private key of the record says the
 * container is off it until connected again. */
#define PRIMARY_OFF_KEY "BerthPrimaryDisconnected"

static bool
primary_disconnected (const struct container *c)
{
  return json_is_true (json_object_get (c->networking, PRIMARY_OFF_KEY));
}

/* The networks of c, primary first, as the names/ids they were given with:
 * NetworkMode, then the other EndpointsConfig keys (several networks per
 * container, connect of a stopped one). */
static char **
container_network_refs (struct network_manager *m, struct container *c)
{
  char **out = empty_strv ();
  if (!mode_has_endpoints (jstr (c->host_config, "NetworkMode")))
    return out;
  const char *primary = primary_network (c);
  if (!primary_disconnected (c))
    strv_append (&out, primary);
  _cleanup_free_ char *primary_id = NULL;
  _cleanup_error_ struct berth_error *ignored = NULL;
  network_manager_resolve (m, primary, &primary_id, NULL, &ignored);
  const char *k;
  json_t *v;
  json_object_foreach (endpoints_config (c), k, v)
  {
    if (strcmp (k, primary) == 0 || (strcmp (k, "default") == 0 && strcmp (primary, "bridge") == 0))
      continue;
    _cleanup_free_ char *id = NULL;
    berth_error_freep (&ignored);
    if (primary_id && network_manager_resolve (m, k, &id, NULL, &ignored) == 0
        && strcmp (id, primary_id) == 0)
      continue;
    strv_append (&out, k);
  }
  return out;
}

/* ------------------------------------------------------------ connect -- */

static int
strv_from_json_strings (const json_t *arr, char ***out, const char *what,
                        struct berth_error **err)
{
  size_t i;
  json_t *v;
  if (arr == NULL || json_is_null (arr))
    return 0;
  if (!json_is_array (arr))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected an array of strings", what);
  json_array_foreach (arr, i, v)
  {
    if (!json_is_string (v))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s[%zu]: expected a string", what, i);
    strv_append (out, json_string_value (v));
  }
  return 0;
}

/* ----------------------------------------------------- endpoint names -- */

static void
names_add (json_t *names, const char *s)
{
  size_t i;
  json_t *v;
  if (s == NULL || *s == '\0')
    return;
  json_array_foreach (names, i, v) if (strcmp (json_string_value (v), s) == 0) return;
  json_array_append_new (names, json_string (s));
}

/* The names the embedded DNS answers for c on a user-defined network (the
 * DNSNames of API 1.44), in moby's order (buildEndpointDNSNames): the
 * container name, the user's aliases, the short id, the hostname; each
 * once. */
static json_t *
endpoint_dns_names (const struct container *c, const json_t *epc)
{
  json_t *names = json_array ();
  names_add (names, c->name[0] == '/' ? c->name + 1 : c->name);
  size_t i;
  json_t *a;
  json_array_foreach (json_object_get (epc, "Aliases"), i, a)
      names_add (names, json_string_value (a));
  char short_id[13];
  snprintf (short_id, sizeof short_id, "%.12s", c->id);
  names_add (names, short_id);
  names_add (names, jstr (c->config, "Hostname"));
  return names;
}

/* Connect the running container c (netns of pid) to one network with the
 * EndpointSettings epc (Aliases, IPAMConfig.IPv4Address, MacAddress). The
 * embedded DNS answers its name and short id, the aliases and, as with
 * docker 25+, a hostname given with --hostname. */
static int
connect_one (struct network_manager *m, struct container *c, pid_t pid, const char *net,
             const json_t *epc, bool first, const struct network_port_binding *ports,
             size_t n_ports,
             struct network_endpoint_info *info, struct berth_error **err)
{
  _cleanup_strv_ char **aliases = NULL, **dns = NULL;
  if (strv_from_json_strings (json_object_get (epc, "Aliases"), &aliases,
                              "EndpointSettings.Aliases", err) < 0
      || strv_from_json_strings (json_object_get (c->host_config, "Dns"), &dns, "HostConfig.Dns",
                                 err) < 0)
    return -1;
  const char *hostname = jstr (c->config, "Hostname");
  if (*hostname && !strv_contains (aliases, hostname))
    strv_append (&aliases, hostname);
  const char *ip = jstr (json_object_get (epc, "IPAMConfig"), "IPv4Address");
  const char *mac = jstr (epc, "MacAddress");
  if (*mac == '\0' && first)
    mac = jstr (c->config, "MacAddress"); /* API < 1.44: Config.MacAddress, first network */
  struct network_endpoint_opts o = {
    .container_id = c->id,
    .container_name = c->name[0] == '/' ? c->name + 1 : c->name,
    .pid = pid,
    .ipv4_address = *ip ? ip : NULL,
    .mac_address = *mac ? mac : NULL,
    .aliases = (const char *const *)aliases,
    .dns_servers = (const char *const *)dns,
    .ports = ports,
    .n_ports = n_ports,
  };
  if (network_manager_connect (m, net, &o, info, err) < 0)
    return -1;
  return 0;
}

/* A rewrite that keeps the inode: the files are bind-mounted into the
 * container already (the runtime created it), so a rename would not show. */
static int
rewrite_in_place (struct container *c, const char *name, const char *text,
                  struct berth_error **err)
{
  _cleanup_free_ char *dir = container_etc_dir (container_rt (c)->cs, c);
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, name);
  _cleanup_close_ int fd = open (path, O_WRONLY | O_TRUNC | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_set (err, errno, "open %s", path);
  if (fs_write_all (fd, text, strlen (text)) < 0)
    return berth_error_set (err, errno, "write %s", name);
  return 0;
}

/* /etc/hosts and /etc/resolv.conf of a container on networks: its
 * addresses under its hostname, the embedded DNS as the only nameserver on
 * user networks, the host's resolvers (minus localhost) on the default
 * bridge. */
static int
write_etc_files (struct container *c, const struct network_endpoint_info *eps, size_t n,
                 bool hosts_only, struct berth_error **err)
{
  _cleanup_strv_ char **extra = NULL, **dns = NULL, **search = NULL, **opts = NULL;
  if (strv_from_json_strings (json_object_get (c->host_config, "ExtraHosts"), &extra,
                              "HostConfig.ExtraHosts", err) < 0
      || strv_from_json_strings (json_object_get (c->host_config, "Dns"), &dns, "HostConfig.Dns",
                                 err) < 0
      || strv_from_json_strings (json_object_get (c->host_config, "DnsSearch"), &search,
                                 "HostConfig.DnsSearch", err) < 0
      || strv_from_json_strings (json_object_get (c->host_config, "DnsOptions"), &opts,
                                 "HostConfig.DnsOptions", err) < 0)
    return -1;
  char hostname[64];
  if (*jstr (c->config, "Hostname"))
    snprintf (hostname, sizeof hostname, "%s", jstr (c->config, "Hostname"));
  else
    snprintf (hostname, sizeof hostname, "%.12s", c->id);
  const char *gw = n > 0 ? eps[0].gateway : NULL;
  _cleanup_free_ char *hosts
      = network_hosts_file (hostname, jstr (c->config, "Domainname"), eps, n,
                            (const char *const *)extra, gw, err);
  if (hosts == NULL || rewrite_in_place (c, "hosts", hosts, err) < 0)
    return -1;
  if (hosts_only)
    return 0;
  const char *embedded = NULL;
  for (size_t i = 0; i < n && embedded == NULL; i++)
    if (eps[i].dns_server[0])
      embedded = eps[i].dns_server;
  _cleanup_free_ char *host_resolv = NULL;
  if (fs_read_file (AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL) < 0)
    host_resolv = xstrdup ("");
  _cleanup_free_ char *resolv = network_resolv_conf (
      host_resolv, embedded, embedded ? NULL : (const char *const *)dns,
      (const char *const *)search, (const char *const *)opts, err);
  if (resolv == NULL || rewrite_in_place (c, "resolv.conf", resolv, err) < 0)
    return -1;
  return 0;
}

/* --network container:<id>: the same network namespace, so the same
 * /etc/hosts and /etc/resolv.conf (docker shares them). */
static int
copy_etc_files_of (struct berthd *d, struct container *c, const char *ref,
                   struct berth_error **err)
{
  struct container *other = containers_lookup (containers_get (d), ref, err);
  if (other == NULL)
    return berth_error_prefix (err, "HostConfig.NetworkMode");
  static const char *const files[] = { "hosts", "resolv.conf" };
  _cleanup_free_ char *other_dir = container_etc_dir (container_rt (other)->cs, other);
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *text = NULL;
      _cleanup_free_ char *path = xasprintf ("%s/%s", other_dir, files[i]);
      if (fs_read_file (AT_FDCWD, path, &text, NULL, err) < 0
          || rewrite_in_place (c, files[i], text, err) < 0)
        return berth_error_prefix (err, "the %s of container %.12s", files[i], other->id);
    }
  return 0;
}

/* dockerd's "network connect" / "network disconnect" event: the network as
 * the actor (also at every start and stop, once per network). */
static void
endpoint_event (const char *action, const char *net_id, const char *net_name,
                const struct container *c)
{
  /* the driver's name: bridge for every network berth makes */
  const char *type = strcmp (net_name, "none") == 0   ? "null"
                     : strcmp (net_name, "host") == 0 ? "host"
                                                      : "bridge";
  daemon_event_emit (
      "network", action, net_id,
      json_pack ("{s:s,s:s,s:s}", "container", c->id, "name", net_name, "type", type));
}

/* dockerd joins a container of NetworkMode none or host to the predefined
 * network of that name (an endpoint without an interface): its connect at
 * the start, its disconnect once at the exit or the removal. */
static void
predefined_network_event (struct berthd *d, struct container *c, bool connect)
{
  const char *mode = jstr (c->host_config, "NetworkMode");
  struct container_rt *rt = container_rt (c);
  if ((strcmp (mode, "none") != 0 && strcmp (mode, "host") != 0)
      || rt->predefined_net_joined == connect)
    return;
  rt->predefined_net_joined = connect;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *id = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m != NULL && network_manager_resolve (m, mode, &id, NULL, &err) == 0)
    endpoint_event (connect ? "connect" : "disconnect", id, mode, c);
}

/* The networks c has an endpoint on now: id, name, id, name, … */
static char **
connected_networks (struct network_manager *m, struct container *c)
{
  char **out = empty_strv ();
  _cleanup_strv_ char **nets = container_network_refs (m, c);
  for (char **n = nets; *n; n++)
    {
      _cleanup_free_ char *id = NULL, *name = NULL;
      _cleanup_error_ struct berth_error *ignored = NULL;
      struct network_endpoint_info info;
      if (network_manager_resolve (m, *n, &id, &name, &ignored) == 0
          && network_manager_endpoint_get (m, id, c->id, &info, &ignored) == 0)
        {
          strv_append (&out, id);
          strv_append (&out, name);
        }
    }
  return out;
}

static void
endpoint_events (const char *action, char **id_name_pairs, const struct container *c)
{
  for (char **p = id_name_pairs; p && p[0] && p[1]; p += 2)
    endpoint_event (action, p[0], p[1], c);
}

static int
network_attach (struct berthd *d, struct container *c, pid_t pid, struct berth_error **err)
{
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (str_has_prefix (mode, "container:"))
    return copy_etc_files_of (d, c, mode + 10, err);
  _cleanup_free_ char *netns = xasprintf ("/proc/%d/ns/net", (int)pid);
  if (strcmp (mode, "none") == 0 && network_netns_loopback_up (netns, pid, err) < 0)
    return -1;
  if (strcmp (mode, "none") == 0 || strcmp (mode, "host") == 0)
    {
      predefined_network_event (d, c, true);
      return 0;
    }
  struct network_manager *m = daemon_network_manager (d, err);
  if (m == NULL)
    return -1;
  _cleanup_strv_ char **nets = container_network_refs (m, c);
  size_t n = 0;
  while (nets[n])
    n++;
  _cleanup_free_ struct network_endpoint_info *infos = calloc (n ? n : 1, sizeof *infos);
  _cleanup_free_ struct network_port_binding *ports = NULL;
  size_t n_ports = 0;
  if (infos == NULL)
    abort ();
  if (network_port_bindings_from_api (json_object_get (c->host_config, "PortBindings"),
                                      json_object_get (c->config, "ExposedPorts"),
                                      json_is_true (json_object_get (c->host_config,
                                                                     "PublishAllPorts")),
                                      &ports, &n_ports, err)
      < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *id = NULL;
      if (network_manager_resolve (m, nets[i], &id, NULL, err) < 0)
        {
          const char *why = daemon_network_default_error (d);
          if (why && strcmp (nets[i], NETWORK_DEFAULT_NAME) == 0)
            berth_error_prefix (err, "%s", why);
          goto fail;
        }
      json_t *epc = endpoint_config_find (m, c, id, NULL);
      if (connect_one (m, c, pid, id, epc, i == 0, i == 0 ? ports : NULL, i == 0 ? n_ports : 0,
                       &infos[i], err)
          < 0)
        {
          berth_error_prefix (err, "network %s", nets[i]);
          goto fail;
        }
    }
  if (write_etc_files (c, infos, n, false, err) < 0)
    goto fail;
  {
    _cleanup_strv_ char **connected = connected_networks (m, c);
    endpoint_events ("connect", connected, c);
  }
  return 0;
fail:;
  _cleanup_error_ struct berth_error *ignored = NULL;
  network_manager_disconnect_all (m, c->id, &ignored);
  return -1;
}

static void
network_detach (struct berthd *d, struct container *c)
{
  const char *mode = jstr (c->host_config, "NetworkMode");
  predefined_network_event (d, c, false);
  if (!mode_has_endpoints (mode))
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m == NULL)
    return;
  _cleanup_strv_ char **connected = connected_networks (m, c);
  if (network_manager_disconnect_all (m, c->id, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "disconnect %.12s: %s", c->id, err->msg);
  else
    endpoint_events ("disconnect", connected, c);
}

static char **
network_release (struct berthd *d, struct container *c)
{
  predefined_network_event (d, c, false);
  if (!mode_has_endpoints (jstr (c->host_config, "NetworkMode")))
    return NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m == NULL)
    return NULL;
  char **links = NULL;
  _cleanup_strv_ char **connected = connected_networks (m, c);
  if (network_manager_release_all (m, c->id, &links, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "disconnect %.12s: %s", c->id, err->msg);
  else
    endpoint_events ("disconnect", connected, c);
  return links;
}

/* After a connect/disconnect of a running container: /etc/hosts lists
 * its addresses on the networks it is on now (docker does the same;
 * resolv.conf stays as the start made it). */
static void
rewrite_hosts_of_running (struct network_manager *m, struct container *c)
{
  _cleanup_strv_ char **nets = container_network_refs (m, c);
  size_t n = 0;
  while (nets[n])
    n++;
  _cleanup_free_ struct network_endpoint_info *infos = calloc (n ? n : 1, sizeof *infos);
  if (infos == NULL)
    abort ();
  size_t got = 0;
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_error_ struct berth_error *ignored = NULL;
      _cleanup_free_ char *id = NULL;
      if (network_manager_resolve (m, nets[i], &id, NULL, &ignored) == 0
          && network_manager_endpoint_get (m, id, c->id, &infos[got], &ignored) == 0)
        got++;
    }
  _cleanup_error_ struct berth_error *err = NULL;
  if (write_etc_files (c, infos, got, true, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "update /etc/hosts of %.12s: %s", c->id, err->msg);
}

/* ----------------------------------------------------- NetworkSettings -- */

static json_t *
endpoint_blank (const char *net_id, const json_t *epc)
{
  json_t *ipam = json_object_get (epc, "IPAMConfig");
  return json_pack ("{s:O,s:n,s:n,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:n}", "IPAMConfig",
                    json_is_object (ipam) ? ipam : json_null (), "Links", "Aliases", "NetworkID",
                    net_id, "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
                    "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                    "MacAddress", "", "DriverOpts");
}

static json_t *
network_settings (struct berthd *d, const struct container *cc)
{
  struct container *c = (struct container *)cc;
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (!mode_has_endpoints (mode))
    return NULL; /* host, none, container:<id>: the default shape */
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m == NULL)
    return NULL;
  bool running = container_is_running (c);
  _cleanup_strv_ char **nets = container_network_refs (m, c);
  json_t *networks = json_object ();
  json_t *primary = NULL;
  for (char **n = nets; *n; n++)
    {
      _cleanup_free_ char *id = NULL, *name = NULL;
      berth_error_freep (&err);
      if (network_manager_resolve (m, *n, &id, &name, &err) < 0)
        continue; /* removed since: docker drops it too */
      json_t *epc = endpoint_config_find (m, c, id, NULL);
      json_t *ep = running ? network_manager_endpoint_settings (m, id, c->id, &err) : NULL;
      if (ep == NULL)
        ep = endpoint_blank (id, epc);
      /* Aliases: exactly what the client gave (API 1.45; the version
       * shaping adds the short id for older clients). DNSNames: set when
       * the container is connected (start) and kept after it stops, on
       * user-defined networks only, as dockerd does. */
      json_t *aliases = json_object_get (epc, "Aliases");
      json_object_set_new (ep, "Aliases",
                           json_is_array (aliases) ? json_deep_copy (aliases) : json_null ());
      bool has_names
          = strcmp (name, NETWORK_DEFAULT_NAME) != 0 && (running || c->state.has_been_started);
      json_object_set_new (ep, "DNSNames", has_names ? endpoint_dns_names (c, epc) : json_null ());
      json_t *ipam = json_object_get (epc, "IPAMConfig");
      if (json_object_size (ipam) > 0)
        json_object_set (ep, "IPAMConfig", ipam); /* as the client asked (--ip) */
      json_object_set_new (networks, name, ep);
      if (primary == NULL)
        primary = ep;
    }
  json_t *ports = json_object ();
  if (running)
    {
      const char *k;
      json_t *v;
      json_object_foreach (json_object_get (c->config, "ExposedPorts"), k, v)
          json_object_set_new (ports, k, json_null ());
      json_t *bound = network_manager_container_ports (m, c->id);
      json_object_update (ports, bound);
      json_decref (bound);
    }
  json_t *ns = json_pack ("{s:s,s:s,s:b,s:s,s:i,s:o,s:s,s:n,s:n}", "Bridge", "", "SandboxID",
                          "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                          "LinkLocalIPv6PrefixLen", 0, "Ports", ports, "SandboxKey",
                          running ? "" : "", "SecondaryIPAddresses", "SecondaryIPv6Addresses");
  static const char *const copied[] = { "EndpointID", "Gateway", "GlobalIPv6Address",
                                        "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen",
                                        "IPv6Gateway", "MacAddress" };
  for (size_t i = 0; i < sizeof copied / sizeof *copied; i++)
    {
      json_t *v = primary ? json_object_get (primary, copied[i]) : NULL;
      bool is_num = strstr (copied[i], "PrefixLen") != NULL;
      json_object_set_new (ns, copied[i],
                           v ? json_incref (v) : (is_num ? json_integer (0) : json_string ("")));
    }
  if (running && c->state.pid > 0)
    json_object_set_new (ns, "SandboxKey", json_sprintf ("/proc/%d/ns/net", (int)c->state.pid));
  json_object_set_new (ns, "Networks", networks);
  return ns;
}

/* moby's NetworkMode.IsUserDefined, on a key of NetworkSettings.Networks. */
static bool
network_is_user_defined (const char *name)
{
  return strcmp (name, NETWORK_DEFAULT_NAME) != 0 && strcmp (name, "default") != 0
         && mode_has_endpoints (name);
}

void
container_networks_for_version (const struct container *c, json_t *networks, unsigned version,
                                bool is_inspect)
{
  char short_id[13];
  snprintf (short_id, sizeof short_id, "%.12s", c->id);
  const char *hostname = *jstr (c->config, "Hostname") ? jstr (c->config, "Hostname") : short_id;
  const char *name;
  json_t *ep;
  json_object_foreach (networks, name, ep)
  {
    if (!is_inspect)
      {
        /* a list entry copies only the endpoint's addresses and ids
         * (moby's container view snapshot) */
        static const char *const unset[] = { "Links", "Aliases", "DriverOpts", "DNSNames" };
        for (size_t k = 0; k < sizeof unset / sizeof *unset; k++)
          json_object_set_new (ep, unset[k], json_null ());
      }
    if (version < 144)
      json_object_del (ep, "DNSNames");
    /* moby's inspect route below 1.45: the short id and the hostname join
     * the aliases of user-defined networks (docker-compose 1.x looks for
     * the short id there before it reconnects a container) */
    if (!is_inspect || version >= 145 || !network_is_user_defined (name))
      continue;
    json_t *aliases = json_array ();
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get (ep, "Aliases"), i, a)
        names_add (aliases, json_string_value (a));
    names_add (aliases, short_id);
    names_add (aliases, hostname);
    json_object_set_new (ep, "Aliases", aliases);
  }
}

static int
network_validate (struct berthd *d, const struct container *cc, struct berth_error **err)
{
  struct container *c = (struct container *)cc;
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (!mode_has_endpoints (mode))
    return 0;
  (void)d;
  const char *k;
  json_t *v;
  json_object_foreach (endpoints_config (c), k, v)
  {
    if (!json_is_object (v) && !json_is_null (v))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "NetworkingConfig.EndpointsConfig[\"%s\"]: expected an object",
                                   k);
    json_t *aliases = json_object_get (v, "Aliases");
    if (aliases && !json_is_null (aliases) && !json_is_array (aliases))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "NetworkingConfig.EndpointsConfig[\"%s\"].Aliases: expected an "
                                   "array of strings",
                                   k);
  }
  /* an unknown network fails the start, not the create (docker leaves the
   * created container; a 404 here would make the CLI try to pull) */
  return 0;
}

/* ---------------------------------------- /networks/{id}/(dis)connect -- */

static struct container *
request_container (struct api_request *req, json_t *body, struct berth_error **err)
{
  if (!json_is_object (body))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "request body: expected a JSON object");
      return NULL;
    }
  const char *ref = json_string_value (json_object_get (body, "Container"));
  if (ref == NULL || *ref == '\0')
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "Container: a container name or id is required");
      return NULL;
    }
  return containers_lookup (containers_get (api_request_daemon (req)), ref, err);
}

static void
handle_connect (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m == NULL)
    return api_respond_error (req, err);
  json_t *body = api_request_json (req, &err);
  if (err)
    return api_respond_error (req, err);
  _cleanup_free_ char *id = NULL, *name = NULL;
  if (network_manager_resolve (m, api_request_param (req, "id"), &id, &name, &err) < 0)
    return api_respond_error (req, err);
  struct container *c = request_container (req, body, &err);
  if (c == NULL)
    return api_respond_error (req, err);
  json_t *epc = json_object_get (body, "EndpointConfig");
  if (epc && !json_is_null (epc) && !json_is_object (epc))
    return api_respond_errorf (req, 400, "EndpointConfig: expected an object");
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (!mode_has_endpoints (mode))
    return api_respond_errorf (req, 400,
                               "container cannot be disconnected from host network or connected "
                               "to host network");
  const char *key = NULL;
  bool configured = endpoint_config_find (m, c, id, &key) != NULL;
  bool running = container_is_running (c) && c->state.pid > 0;
  struct network_endpoint_info info;
  if (running)
    {
      if (network_manager_endpoint_get (m, id, c->id, &info, &err) == 0)
        return api_respond_errorf (req, 403, "endpoint with name %s already exists in network %s",
                                   c->name + 1, name);
      berth_error_freep (&err);
      if (connect_one (m, c, c->state.pid, id, epc, false, NULL, 0, &info, &err) < 0)
        return api_respond_error (req, err);
    }
  /* the endpoint config is the container's from now on (start connects it) */
  json_t *eps = endpoints_config (c);
  _cleanup_free_ char *primary_id = NULL;
  berth_error_freep (&err);
  if (network_manager_resolve (m, primary_network (c), &primary_id, NULL, &err) == 0
      && strcmp (primary_id, id) == 0)
    json_object_del (c->networking, PRIMARY_OFF_KEY);
  if (configured && key && strcmp (key, name) != 0)
    json_object_del (eps, key);
  json_object_set_new (eps, name, json_is_object (epc) ? json_deep_copy (epc) : json_object ());
  if (container_save (c, &err) < 0)
    berth_log (BERTH_LOG_ERROR, "%s", err->msg);
  if (running)
    rewrite_hosts_of_running (m, c);
  endpoint_event ("connect", id, name, c);
  api_respond_empty (req, 200);
}

static void
handle_disconnect (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (d, &err);
  if (m == NULL)
    return api_respond_error (req, err);
  json_t *body = api_request_json (req, &err);
  if (err)
    return api_respond_error (req, err);
  _cleanup_free_ char *id = NULL, *name = NULL;
  if (network_manager_resolve (m, api_request_param (req, "id"), &id, &name, &err) < 0)
    return api_respond_error (req, err);
  struct container *c = request_container (req, body, &err);
  if (c == NULL)
    return api_respond_error (req, err);
  const char *mode = jstr (c->host_config, "NetworkMode");
  if (!mode_has_endpoints (mode))
    return api_respond_errorf (req, 400,
                               "container cannot be disconnected from host network or connected "
                               "to host network");
  const char *key = NULL;
  json_t *epc = endpoint_config_find (m, c, id, &key);
  _cleanup_free_ char *primary_id = NULL;
  berth_error_freep (&err);
  network_manager_resolve (m, primary_network (c), &primary_id, NULL, &err);
  bool is_primary = primary_id && strcmp (primary_id, id) == 0;
  bool running = container_is_running (c);
  bool connected = false;
  if (running)
    {
      berth_error_freep (&err);
      connected = network_manager_disconnect (m, id, c->id, &err) == 0;
    }
  if (!connected && epc == NULL && !is_primary)
    return api_respond_errorf (req, 404, "container %s is not connected to network %s", c->id,
                               name);
  if (epc)
    json_object_del (endpoints_config (c), key);
  if (is_primary && primary_disconnected (c) && !connected)
    return api_respond_errorf (req, 404, "container %s is not connected to network %s", c->id,
                               name);
  if (is_primary)
    json_object_set_new (c->networking, PRIMARY_OFF_KEY, json_true ());
  berth_error_freep (&err);
  if (container_save (c, &err) < 0)
    berth_log (BERTH_LOG_ERROR, "%s", err->msg);
  if (connected)
    rewrite_hosts_of_running (m, c);
  endpoint_event ("disconnect", id, name, c);
  api_respond_empty (req, 200);
}

void
container_network_register_routes (struct api_router *r)
{
  api_route_add (r, "POST", "/networks/{id}/connect", handle_connect, API_ROUTE_NONE);
  api_route_add (r, "POST", "/networks/{id}/disconnect", handle_disconnect, API_ROUTE_NONE);
}

/* ------------------------------------------------------------- init -- */

void
container_network_init (struct berthd *d, struct network_manager *m)
{
  container_network_hooks = (struct container_network_hooks){
    .attach = network_attach,
    .detach = network_detach,
    .release = network_release,
    .settings = network_settings,
    .validate = network_validate,
  };
  /* berthd was killed: the endpoints of containers that died meanwhile
   * (and their veths, ports, addresses, DNS names) go now */
  struct containers *cs = containers_get (d);
  if (cs == NULL || m == NULL)
    return;
  _cleanup_strv_ char **live = NULL;
  for (size_t i = 0; i < cs->n_all; i++)
    if (container_is_running (cs->all[i]))
      strv_append (&live, cs->all[i]->id);
  if (live == NULL)
    live = empty_strv ();
  _cleanup_error_ struct berth_error *err = NULL;
  int n = network_manager_cleanup_orphans (m, (const char *const *)live, &err);
  if (n < 0)
    berth_log (BERTH_LOG_WARNING, "network cleanup at start: %s", err->msg);
  else if (n > 0)
    berth_log (BERTH_LOG_INFO, "network: removed %d endpoint(s) of containers gone", n);
}
