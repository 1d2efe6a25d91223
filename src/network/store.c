/* On-disk form of a network: <state>/networks/<id>.json holds the network's
 * configuration and its endpoints (which are the IPAM allocations and the
 * published ports). Loading validates every field: a damaged file is an
 * error naming the file and field, never a crash. */
#include "network/network-internal.h"

#include <string.h>

void
endpoint_free (struct endpoint *e)
{
  if (e == NULL)
    return;
  for (size_t i = 0; i < e->n_ports; i++)
    port_release (&e->ports[i]);
  free (e->ports);
  free (e->container_name);
  strv_freep (&e->aliases);
  strv_freep (&e->dns_servers);
  free (e);
}

void
network_free (struct network *n)
{
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->n_endpoints; i++)
    endpoint_free (n->endpoints[i]);
  free (n->endpoints);
  free (n->name);
  free (n->created);
  json_decref (n->labels);
  json_decref (n->options);
  ipam_fini (&n->ipam);
  free (n);
}

static const char *
kind_name (enum network_kind k)
{
  return k == NETWORK_KIND_HOST ? "host" : k == NETWORK_KIND_NULL ? "null" : "bridge";
}

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  for (char *const *p = v; p && *p; p++)
    json_array_append_new (a, json_string (*p));
  return a;
}

static json_t *
ip_json (uint32_t a)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (a, ip);
  return json_string (ip);
}

json_t *
store_network_to_json (const struct network *n)
{
  json_t *j = json_object ();
  json_object_set_new (j, "id", json_string (n->id));
  json_object_set_new (j, "name", json_string (n->name));
  json_object_set_new (j, "driver", json_string (kind_name (n->kind)));
  json_object_set_new (j, "default", json_boolean (n->is_default));
  json_object_set_new (j, "created", json_string (n->created));
  json_object_set_new (j, "labels", json_incref (n->labels));
  json_object_set_new (j, "options", json_incref (n->options));
  json_object_set_new (j, "attachable", json_boolean (n->attachable));
  if (n->kind != NETWORK_KIND_BRIDGE)
    return j;
  json_object_set_new (j, "bridge", json_string (n->bridge));
  _cleanup_free_ char *subnet = ipv4_cidr_format (&n->subnet);
  json_object_set_new (j, "subnet", json_string (subnet));
  json_object_set_new (j, "gateway", ip_json (n->gateway));
  if (n->has_range)
    {
      _cleanup_free_ char *r = ipv4_cidr_format (&n->range);
      json_object_set_new (j, "ip_range", json_string (r));
    }
  json_object_set_new (j, "internal", json_boolean (n->internal));
  json_object_set_new (j, "icc", json_boolean (n->icc));
  json_object_set_new (j, "masquerade", json_boolean (n->masquerade));
  json_object_set_new (j, "host_binding_ip", ip_json (n->host_binding_ip));
  json_object_set_new (j, "mtu", json_integer (n->mtu));
  json_object_set_new (j, "ipam_last", ip_json (n->ipam.last));
  json_t *eps = json_array ();
  for (size_t i = 0; i < n->n_endpoints; i++)
    {
      const struct endpoint *e = n->endpoints[i];
      char mac[18];
      mac_format (e->mac, mac);
      json_t *je = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", e->id,
                              "container_id", e->container_id, "container_name",
                              e->container_name ? e->container_name : "", "ifname", e->ifname,
                              "host_ifname", e->host_ifname, "ip", ip_json (e->ip), "mac", mac,
                              "aliases", strv_to_json (e->aliases), "dns_servers",
                              strv_to_json (e->dns_servers));
      json_t *ports = json_array ();
      for (size_t p = 0; p < e->n_ports; p++)
        json_array_append_new (ports,
                               json_pack ("{s:s, s:i, s:o, s:i}", "proto",
                                          e->ports[p].proto == IPPROTO_UDP ? "udp" : "tcp",
                                          "container_port", e->ports[p].container_port, "host_ip",
                                          ip_json (e->ports[p].host_ip), "host_port",
                                          e->ports[p].host_port));
      json_object_set_new (je, "ports", ports);
      json_array_append_new (eps, je);
    }
  json_object_set_new (j, "endpoints", eps);
  return j;
}

/* ---------------------------------------------------------------- load -- */

struct loader
{
  const char *file;
  struct berth_error **err;
  bool failed;
};

static const char *
get_str (struct loader *l, const json_t *o, const char *key, const char *where)
{
  const json_t *v = json_object_get (o, key);
  if (!json_is_string (v))
    {
      if (!l->failed)
        berth_error_set_kind (l->err, BERTH_E_INTERNAL, 0, "%s: %s%s: missing or not a string",
                              l->file, where, key);
      l->failed = true;
      return "";
    }
  return json_string_value (v);
}

static uint32_t
get_ip (struct loader *l, const json_t *o, const char *key, const char *where)
{
  uint32_t a = 0;
  const char *s = get_str (l, o, key, where);
  if (!l->failed && ipv4_parse (s, &a) < 0)
    {
      berth_error_set_kind (l->err, BERTH_E_INTERNAL, 0, "%s: %s%s: `%s` is not an IPv4 address",
                            l->file, where, key, s);
      l->failed = true;
    }
  return a;
}

static bool
copy_name (struct loader *l, char *dst, size_t cap, const char *src, const char *what)
{
  if (strlen (src) >= cap)
    {
      if (!l->failed)
        berth_error_set_kind (l->err, BERTH_E_INTERNAL, 0, "%s: %s `%s` is too long", l->file, what,
                              src);
      l->failed = true;
      return false;
    }
  strcpy (dst, src);
  return true;
}

static char **
get_strv (const json_t *o, const char *key)
{
  char **v = calloc (1, sizeof (char *));
  const json_t *a = json_object_get (o, key);
  size_t i;
  const json_t *s;
  json_array_foreach (a, i, s)
    if (json_is_string (s))
      strv_append (&v, json_string_value (s));
  return v;
}

static struct endpoint *
load_endpoint (struct loader *l, const json_t *je, size_t index)
{
  char where[48];
  snprintf (where, sizeof where, "endpoints[%zu].", index);
  struct endpoint *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  copy_name (l, e->id, sizeof e->id, get_str (l, je, "id", where), "endpoint id");
  copy_name (l, e->container_id, sizeof e->container_id, get_str (l, je, "container_id", where),
             "container id");
  e->container_name = xstrdup (get_str (l, je, "container_name", where));
  copy_name (l, e->ifname, sizeof e->ifname, get_str (l, je, "ifname", where), "ifname");
  copy_name (l, e->host_ifname, sizeof e->host_ifname, get_str (l, je, "host_ifname", where),
             "host ifname");
  e->ip = get_ip (l, je, "ip", where);
  const char *mac = get_str (l, je, "mac", where);
  if (!l->failed && mac_parse (mac, e->mac, l->err) < 0)
    l->failed = true;
  e->aliases = get_strv (je, "aliases");
  e->dns_servers = get_strv (je, "dns_servers");
  const json_t *ports = json_object_get (je, "ports");
  size_t n = json_array_size (ports);
  e->ports = calloc (n ? n : 1, sizeof *e->ports);
  for (size_t p = 0; p < n && !l->failed; p++)
    {
      const json_t *jp = json_array_get (ports, p);
      struct port_mapping *pm = &e->ports[e->n_ports++];
      pm->reserve_fd = -1;
      pm->proto = strcmp (get_str (l, jp, "proto", where), "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
      json_int_t cp = json_integer_value (json_object_get (jp, "container_port"));
      json_int_t hp = json_integer_value (json_object_get (jp, "host_port"));
      if (cp < 1 || cp > 65535 || hp < 1 || hp > 65535)
        {
          berth_error_set_kind (l->err, BERTH_E_INTERNAL, 0, "%s: %sports[%zu]: bad port number",
                                l->file, where, p);
          l->failed = true;
        }
      pm->container_port = (uint16_t) cp;
      pm->host_port = (uint16_t) hp;
      pm->host_ip = get_ip (l, jp, "host_ip", where);
    }
  return e;
}

struct network *
store_network_from_json (const json_t *j, const char *file, struct berth_error **err)
{
  struct loader l = { .file = file, .err = err };
  struct network *n = calloc (1, sizeof *n);
  if (n == NULL)
    abort ();
  n->dns_udp_fd = -1;
  n->dns_tcp_fd = -1;
  copy_name (&l, n->id, sizeof n->id, get_str (&l, j, "id", ""), "id");
  n->name = xstrdup (get_str (&l, j, "name", ""));
  n->created = xstrdup (get_str (&l, j, "created", ""));
  const char *driver = get_str (&l, j, "driver", "");
  n->kind = strcmp (driver, "host") == 0   ? NETWORK_KIND_HOST
            : strcmp (driver, "null") == 0 ? NETWORK_KIND_NULL
                                           : NETWORK_KIND_BRIDGE;
  n->is_default = json_is_true (json_object_get (j, "default"));
  n->attachable = json_is_true (json_object_get (j, "attachable"));
  n->labels = json_incref (json_object_get (j, "labels"));
  n->options = json_incref (json_object_get (j, "options"));
  if (!json_is_object (n->labels))
    {
      json_decref (n->labels);
      n->labels = json_object ();
    }
  if (!json_is_object (n->options))
    {
      json_decref (n->options);
      n->options = json_object ();
    }
  if (n->kind == NETWORK_KIND_BRIDGE && !l.failed)
    {
      copy_name (&l, n->bridge, sizeof n->bridge, get_str (&l, j, "bridge", ""), "bridge");
      const char *sub = get_str (&l, j, "subnet", "");
      if (!l.failed && ipv4_cidr_parse (sub, "subnet", false, &n->subnet, NULL, err) < 0)
        l.failed = true;
      n->gateway = get_ip (&l, j, "gateway", "");
      const json_t *range = json_object_get (j, "ip_range");
      if (json_is_string (range) && !l.failed)
        {
          n->has_range = true;
          if (ipv4_cidr_parse (json_string_value (range), "ip_range", false, &n->range, NULL, err) < 0)
            l.failed = true;
        }
      n->internal = json_is_true (json_object_get (j, "internal"));
      n->icc = !json_is_false (json_object_get (j, "icc"));
      n->masquerade = !json_is_false (json_object_get (j, "masquerade"));
      n->host_binding_ip = get_ip (&l, j, "host_binding_ip", "");
      n->mtu = (int) json_integer_value (json_object_get (j, "mtu"));
      if (!l.failed
          && ipam_init (&n->ipam, &n->subnet, n->gateway, n->has_range ? &n->range : NULL, err) < 0)
        l.failed = true;
      /* kept in the run dir with the endpoints: absent after a reboot,
       * when allocation starts over from ipam_init's cursor */
      if (!l.failed && json_object_get (j, "ipam_last"))
        n->ipam.last = get_ip (&l, j, "ipam_last", "");
      const json_t *eps = json_object_get (j, "endpoints");
      size_t count = json_array_size (eps);
      n->endpoints = calloc (count ? count : 1, sizeof *n->endpoints);
      for (size_t i = 0; i < count && !l.failed; i++)
        {
          struct endpoint *e = load_endpoint (&l, json_array_get (eps, i), i);
          n->endpoints[n->n_endpoints++] = e;
          if (!l.failed && ipam_reserve (&n->ipam, e->ip, err) < 0)
            {
              berth_error_prefix (err, "%s: endpoints[%zu]", file, i);
              l.failed = true;
            }
        }
    }
  if (l.failed)
    {
      network_free (n);
      return NULL;
    }
  return n;
}
