/* The /networks endpoints of the Engine API (list, inspect, create, remove,
 * prune) over src/network, and the embedded DNS driven from berthd's loop.
 * The predefined networks (bridge on berth0, host, none) are made on the
 * first use of networking, so a berthd that never networks never creates a
 * bridge or an nftables table. Connecting containers is the container
 * module's part (network_manager_connect at start). */
#include "daemon/api-internal.h"
#include "daemon/container-network.h"
#include "network/network.h"

#include <stdio.h>
#include <string.h>

struct dns_watch
{
  int fd;
  struct loop_fd *w;
};

struct net_module
{
  struct berthd *d;
  struct network_manager *m;
  struct dns_watch *watches;
  size_t n_watches;
  struct loop_timer *timer;
  char *broken; /* why the manager could not be opened */
  char *default_error; /* why the default bridge could not be made */
};

static struct net_module *
net_of (struct berthd *d)
{
  return d->network_state;
}

/* ------------------------------------------------------ DNS in the loop -- */

static void dns_timer_arm (struct net_module *nm);

static void
dns_timer_fired (void *userdata)
{
  struct net_module *nm = userdata;
  nm->timer = NULL;
  network_manager_dns_handle_timeouts (nm->m);
  dns_timer_arm (nm);
}

static void
dns_timer_arm (struct net_module *nm)
{
  if (nm->timer)
    loop_timer_cancel (nm->timer);
  nm->timer = NULL;
  int ms = nm->m ? network_manager_dns_timeout_ms (nm->m) : -1;
  if (ms >= 0)
    nm->timer = loop_timer_add (nm->d->loop, (uint64_t) ms, dns_timer_fired, nm);
}

static void
dns_ready (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct net_module *nm = userdata;
  network_manager_dns_handle_readable (nm->m, fd);
  dns_timer_arm (nm);
}

static void
dns_fd_changed (int fd, bool added, void *userdata)
{
  struct net_module *nm = userdata;
  if (added)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      struct loop_fd *w = loop_fd_add (nm->d->loop, fd, EPOLLIN, dns_ready, nm, &err);
      if (w == NULL)
        {
          berth_log (BERTH_LOG_ERROR, "embedded DNS: watch fd %d: %s", fd, err->msg);
          return;
        }
      nm->watches = realloc (nm->watches, (nm->n_watches + 1) * sizeof *nm->watches);
      if (nm->watches == NULL)
        abort ();
      nm->watches[nm->n_watches++] = (struct dns_watch){ fd, w };
      return;
    }
  for (size_t i = 0; i < nm->n_watches; i++)
    if (nm->watches[i].fd == fd)
      {
        loop_fd_remove (nm->watches[i].w);
        nm->watches[i] = nm->watches[--nm->n_watches];
        return;
      }
}

/* ------------------------------------------------------------- module -- */

static const char *
config_str (struct berthd *d, const char *key)
{
  return json_string_value (json_object_get (d->config.file, key));
}

static int
networks_init (struct berthd *d, struct berth_error **err)
{
  struct net_module *nm = calloc (1, sizeof *nm);
  if (nm == NULL)
    abort ();
  nm->d = d;
  d->network_state = nm;

  /* daemon.json: dockerd's "bridge", "bip", "fixed-cidr", "mtu",
   * "default-address-pools" ([{"base","size"}]), "dns" (where the embedded
   * DNS forwards), and berth's "nft-table". */
  _cleanup_strv_ char **pools = NULL, **dns = NULL;
  size_t i;
  json_t *p;
  json_array_foreach (json_object_get (d->config.file, "default-address-pools"), i, p)
    {
      const char *base = json_string_value (json_object_get (p, "base"));
      json_int_t size = json_integer_value (json_object_get (p, "size"));
      if (base == NULL || size <= 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "daemon.json default-address-pools[%zu]: want {\"base\": "
                                     "CIDR, \"size\": N}",
                                     i);
      _cleanup_free_ char *s = xasprintf ("base=%s,size=%lld", base, (long long) size);
      strv_append (&pools, s);
    }
  json_array_foreach (json_object_get (d->config.file, "dns"), i, p)
    if (json_is_string (p))
      strv_append (&dns, json_string_value (p));
  _cleanup_free_ char *state = xasprintf ("%s/network", d->config.data_root);
  _cleanup_free_ char *run = xasprintf ("%s/network", d->config.exec_root);
  struct network_manager_config cfg = {
    .state_dir = state,
    .run_dir = run,
    .nft_table = config_str (d, "nft-table"),
    .default_bridge_device = config_str (d, "bridge"),
    .bip = config_str (d, "bip"),
    .fixed_cidr = config_str (d, "fixed-cidr"),
    .default_address_pools = (const char *const *) pools,
    .default_mtu = (int) json_integer_value (json_object_get (d->config.file, "mtu")),
    .dns_upstreams = (const char *const *) dns,
    .no_default_networks = true,
    .on_dns_fd = dns_fd_changed,
    .userdata = nm,
  };
  /* A broken network state must not keep berthd (and every container that
   * does not network) from running: networking is then unavailable, and
   * every /networks request says why. */
  _cleanup_error_ struct berth_error *nerr = NULL;
  if (network_manager_open (&cfg, &nm->m, &nerr) < 0)
    {
      berth_log (BERTH_LOG_ERROR, "networking is unavailable: %s", nerr->msg);
      nm->broken = xstrdup (nerr->msg);
      nm->m = NULL;
      container_network_init (d, NULL); /* starts on networks then say why they fail */
      return 0;
    }
  dns_timer_arm (nm);
  container_network_init (d, nm->m);
  return 0;
}

static void
networks_shutdown (struct berthd *d)
{
  struct net_module *nm = net_of (d);
  if (nm == NULL)
    return;
  if (nm->timer)
    loop_timer_cancel (nm->timer);
  network_manager_close (nm->m); /* bridges, rules, state stay (live restore) */
  free (nm->broken);
  free (nm->default_error);
  while (nm->n_watches > 0)
    loop_fd_remove (nm->watches[--nm->n_watches].w);
  free (nm->watches);
  free (nm);
  d->network_state = NULL;
}

struct network_manager *
daemon_network_manager (struct berthd *d, struct berth_error **err)
{
  struct net_module *nm = net_of (d);
  if (nm == NULL || nm->m == NULL)
    {
      berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "networking is not available: %s",
                            nm && nm->broken ? nm->broken : "not initialised");
      return NULL;
    }
  /* The default bridge failing (its device taken by another daemon) must
   * not take user networks down: say why once, and the containers that
   * ask for `bridge` get that reason (daemon_network_default_error). */
  _cleanup_error_ struct berth_error *derr = NULL;
  if (network_manager_ensure_default_networks (nm->m, &derr) < 0)
    {
      if (nm->default_error == NULL || strcmp (nm->default_error, derr->msg) != 0)
        berth_log (BERTH_LOG_ERROR, "the default bridge network is unavailable: %s", derr->msg);
      free (nm->default_error);
      nm->default_error = xstrdup (derr->msg);
    }
  else
    {
      free (nm->default_error);
      nm->default_error = NULL;
    }
  return nm->m;
}

const char *
daemon_network_default_error (struct berthd *d)
{
  struct net_module *nm = net_of (d);
  return nm ? nm->default_error : NULL;
}

/* The manager of a request, with the predefined networks in place. */
static struct network_manager *
net_manager (struct api_request *req)
{
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_manager *m = daemon_network_manager (api_request_daemon (req), &err);
  if (m == NULL)
    api_respond_error (req, err);
  return m;
}

/* ---------------------------------------------------------- endpoints -- */

static const char *const list_filters[]
    = { "dangling", "driver", "id", "label", "label!", "name", "scope", "type", NULL };

static bool
network_is_builtin (const json_t *n)
{
  const char *name = json_string_value (json_object_get (n, "Name"));
  return strcmp (name, "bridge") == 0 || strcmp (name, "host") == 0 || strcmp (name, "none") == 0;
}

static bool
network_matches (const struct api_filters *f, const json_t *n)
{
  const char *name = json_string_value (json_object_get (n, "Name"));
  const char *id = json_string_value (json_object_get (n, "Id"));
  if (api_filters_has (f, "name"))
    {
      bool any = false;
      for (char *const *v = api_filters_values (f, "name"); *v && !any; v++)
        any = strstr (name, *v) != NULL; /* docker: a substring match */
      if (!any)
        return false;
    }
  if (api_filters_has (f, "id"))
    {
      bool any = false;
      for (char *const *v = api_filters_values (f, "id"); *v && !any; v++)
        any = str_has_prefix (id, *v);
      if (!any)
        return false;
    }
  if (!api_filters_match (f, "driver", json_string_value (json_object_get (n, "Driver")))
      || !api_filters_match (f, "scope", "local"))
    return false;
  if (!api_filters_match (f, "type", network_is_builtin (n) ? "builtin" : "custom"))
    return false;
  const json_t *labels = json_object_get (n, "Labels");
  if ((api_filters_has (f, "label") && !api_filters_match_labels (f, "label", labels))
      || (api_filters_has (f, "label!") && api_filters_match_labels (f, "label!", labels)))
    return false;
  return true;
}

static void
handle_list (struct api_request *req)
{
  struct network_manager *m = net_manager (req);
  if (m == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, list_filters, &f, &err) < 0)
    return api_respond_error (req, err);
  int dangling = api_filters_bool (f, "dangling", &err);
  if (dangling == -2)
    return api_respond_error (req, err);
  json_t *all = network_manager_list (m);
  json_t *out = json_array ();
  size_t i;
  json_t *n;
  json_array_foreach (all, i, n)
    {
      bool unused = !network_is_builtin (n) && json_object_size (json_object_get (n, "Containers")) == 0;
      if (!network_matches (f, n) || (dangling == 1 && !unused) || (dangling == 0 && unused))
        continue;
      json_array_append (out, n);
    }
  json_decref (all);
  api_respond_json (req, 200, out);
}

static void
handle_inspect (struct api_request *req)
{
  struct network_manager *m = net_manager (req);
  if (m == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *j = network_manager_inspect (m, api_request_param (req, "id"), &err);
  if (j == NULL)
    return api_respond_error (req, err);
  api_respond_json (req, 200, j);
}

static int
body_string (json_t *body, const char *key, const char **out, struct berth_error **err)
{
  json_t *v = json_object_get (body, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected a string", key);
  *out = json_string_value (v);
  return 0;
}

static int
body_bool (json_t *body, const char *key, bool *out, struct berth_error **err)
{
  json_t *v = json_object_get (body, key);
  *out = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_boolean (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected a boolean", key);
  *out = json_is_true (v);
  return 0;
}

/* Docker's NetworkCreateRequest into the library's options (validated
 * here for shape; the library checks the values). */
static int
create_opts_parse (json_t *body, struct network_create_opts *o, struct berth_error **err)
{
  if (!json_is_object (body))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "request body: expected a JSON object");
  bool ingress = false, config_only = false;
  if (body_string (body, "Name", &o->name, err) < 0 || body_string (body, "Driver", &o->driver, err) < 0
      || body_bool (body, "Internal", &o->internal, err) < 0
      || body_bool (body, "Attachable", &o->attachable, err) < 0
      || body_bool (body, "EnableIPv6", &o->enable_ipv6, err) < 0
      || body_bool (body, "Ingress", &ingress, err) < 0
      || body_bool (body, "ConfigOnly", &config_only, err) < 0)
    return -1;
  if (o->name == NULL || *o->name == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Name: a network name is required");
  if (ingress || config_only)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "%s networks are not supported (no swarm)",
                                 ingress ? "ingress" : "config-only");
  json_t *labels = json_object_get (body, "Labels"), *options = json_object_get (body, "Options");
  if (labels && !json_is_null (labels) && !json_is_object (labels))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Labels: expected an object");
  if (options && !json_is_null (options) && !json_is_object (options))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Options: expected an object");
  o->labels = json_is_object (labels) ? labels : NULL;
  o->options = json_is_object (options) ? options : NULL;
  json_t *ipam = json_object_get (body, "IPAM");
  if (ipam == NULL || json_is_null (ipam))
    return 0;
  if (!json_is_object (ipam))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "IPAM: expected an object");
  const char *driver = NULL;
  if (body_string (ipam, "Driver", &driver, err) < 0)
    return berth_error_prefix (err, "IPAM");
  if (driver && *driver && strcmp (driver, "default") != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "IPAM.Driver: only the default IPAM driver is supported, not %s",
                                 driver);
  json_t *config = json_object_get (ipam, "Config");
  if (config && !json_is_null (config) && !json_is_array (config))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "IPAM.Config: expected an array");
  if (json_array_size (config) > 1)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "IPAM.Config: one IPv4 pool per network is supported, %zu given",
                                 json_array_size (config));
  json_t *c = json_array_get (config, 0);
  if (c == NULL)
    return 0;
  if (!json_is_object (c))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "IPAM.Config[0]: expected an object");
  if (body_string (c, "Subnet", &o->subnet, err) < 0 || body_string (c, "Gateway", &o->gateway, err) < 0
      || body_string (c, "IPRange", &o->ip_range, err) < 0)
    return berth_error_prefix (err, "IPAM.Config[0]");
  if (o->subnet && *o->subnet == '\0')
    o->subnet = NULL;
  if (o->gateway && *o->gateway == '\0')
    o->gateway = NULL;
  if (o->ip_range && *o->ip_range == '\0')
    o->ip_range = NULL;
  if (json_object_size (json_object_get (c, "AuxiliaryAddresses")) > 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "IPAM.Config[0].AuxiliaryAddresses: not supported yet");
  return 0;
}

static void
handle_create (struct api_request *req)
{
  struct network_manager *m = net_manager (req);
  if (m == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *body = api_request_json (req, &err);
  if (err)
    return api_respond_error (req, err);
  struct network_create_opts o = { 0 };
  if (create_opts_parse (body, &o, &err) < 0)
    return api_respond_error (req, err);
  _cleanup_free_ char *id = NULL;
  if (network_manager_create (m, &o, &id, &err) < 0)
    return api_respond_error (req, err);
  daemon_event_emit ("network", "create", id,
                     json_pack ("{s:s, s:s}", "name", o.name, "type", "bridge"));
  api_respond_json (req, 201, json_pack ("{s:s, s:s}", "Id", id, "Warning", ""));
}

static void
handle_remove (struct api_request *req)
{
  struct network_manager *m = net_manager (req);
  if (m == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *id = NULL, *name = NULL;
  if (network_manager_resolve (m, api_request_param (req, "id"), &id, &name, &err) < 0
      || network_manager_remove (m, id, &err) < 0)
    return api_respond_error (req, err);
  daemon_event_emit ("network", "destroy", id,
                     json_pack ("{s:s, s:s}", "name", name, "type", "bridge"));
  api_respond_empty (req, 204);
}

static bool
prune_keep (const json_t *n, void *userdata)
{
  const struct api_filters *f = userdata;
  const json_t *labels = json_object_get (n, "Labels");
  if (api_filters_has (f, "label") && !api_filters_match_labels (f, "label", labels))
    return true;
  if (api_filters_has (f, "label!") && api_filters_match_labels (f, "label!", labels))
    return true;
  return false;
}

static void
handle_prune (struct api_request *req)
{
  struct network_manager *m = net_manager (req);
  if (m == NULL)
    return;
  static const char *const allowed[] = { "label", "label!", NULL };
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, allowed, &f, &err) < 0)
    return api_respond_error (req, err);
  json_t *removed = network_manager_prune (m, prune_keep, f, &err);
  if (removed == NULL)
    return api_respond_error (req, err);
  size_t i;
  json_t *name;
  json_array_foreach (removed, i, name)
    daemon_event_emit ("network", "destroy", json_string_value (name),
                       json_pack ("{s:s}", "name", json_string_value (name)));
  if (json_array_size (removed) == 0) /* dockerd: none is null (trace 14) */
    {
      json_decref (removed);
      removed = json_null ();
    }
  api_respond_json (req, 200, json_pack ("{s:o}", "NetworksDeleted", removed));
}

static void
networks_register (struct berthd *d, struct api_router *r)
{
  api_route_add (r, "GET", "/networks", handle_list, API_ROUTE_NONE);
  api_route_add (r, "GET", "/networks/{id}", handle_inspect, API_ROUTE_NONE);
  api_route_add (r, "POST", "/networks/create", handle_create, API_ROUTE_NONE);
  api_route_add (r, "DELETE", "/networks/{id}", handle_remove, API_ROUTE_NONE);
  api_route_add (r, "POST", "/networks/prune", handle_prune, API_ROUTE_NONE);
  container_network_register_routes (r);
}

BERTHD_MODULE (networks_module) = {
  .name = "networks",
  .order = 60,
  .init = networks_init,
  .register_routes = networks_register,
  .shutdown = networks_shutdown,
};
