/* The JSON shapes clients read: GET /containers/{id}/json (inspect) and the
 * entries of GET /containers/json, field for field as dockerd 20.10 sends
 * them (the CLI and docker-py index into these). */
#include "daemon/container.h"
#include "daemon/containers-internal.h"
#include "image/image.h"

#include <stdio.h>
#include <string.h>

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

static const char *
network_name (const struct container *c)
{
  const char *mode = str_of (c->host_config, "NetworkMode");
  if (*mode == '\0' || strcmp (mode, "default") == 0)
    return "bridge";
  return mode;
}

static json_t *
endpoint_json (const struct container *c, const char *net)
{
  json_t *eps = json_object_get (c->networking, "EndpointsConfig");
  json_t *given = json_object_get (eps, net);
  if (given == NULL && strcmp (net, "bridge") == 0)
    given = json_object_get (eps, "default");
  json_t *aliases = json_object_get (given, "Aliases");
  return json_pack ("{s:O,s:n,s:O,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:n,s:n}", "IPAMConfig",
                    json_object_get (given, "IPAMConfig") ? json_object_get (given, "IPAMConfig")
                                                          : json_null (),
                    "Links", "Aliases", json_is_array (aliases) ? aliases : json_null (),
                    "NetworkID", "", "EndpointID", "", "Gateway", "", "IPAddress", "",
                    "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "",
                    "GlobalIPv6PrefixLen", 0, "MacAddress", "", "DriverOpts", "DNSNames");
}

/* Ports of NetworkSettings: {"80/tcp":[{"HostIp":…,"HostPort":…}]} for
 * published ports and null for exposed ones, only while running. */
static json_t *
ports_json (const struct container *c)
{
  json_t *out = json_object ();
  if (!container_is_running (c))
    return out;
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (c->config, "ExposedPorts"), k, v)
      json_object_set_new (out, k, json_null ());
  json_object_foreach (json_object_get (c->host_config, "PortBindings"), k, v)
  {
    json_t *list = json_array ();
    size_t i;
    json_t *b;
    json_array_foreach (v, i, b)
    {
      const char *ip = str_of (b, "HostIp");
      json_array_append_new (list, json_pack ("{s:s,s:s}", "HostIp", *ip ? ip : "0.0.0.0",
                                              "HostPort", str_of (b, "HostPort")));
    }
    json_object_set_new (out, k, list);
  }
  return out;
}

static json_t *
network_settings_json (const struct container *c)
{
  const char *net = network_name (c);
  json_t *networks = json_object ();
  if (strcmp (net, "none") != 0 && strcmp (net, "host") != 0 && !str_has_prefix (net, "container:"))
    json_object_set_new (networks, net, endpoint_json (c, net));
  else if (strcmp (net, "host") == 0 || strcmp (net, "none") == 0)
    json_object_set_new (networks, net, endpoint_json (c, net));
  return json_pack ("{s:s,s:s,s:b,s:s,s:i,s:o,s:s,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:o}",
                    "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                    "LinkLocalIPv6PrefixLen", 0, "Ports", ports_json (c), "SandboxKey", "",
                    "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "", "Gateway",
                    "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "",
                    "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "", "Networks", networks);
}

/* The user-visible mount points (docker omits --tmpfs ones). */
static json_t *
mounts_json (const struct container *c)
{
  json_t *out = json_array ();
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m)
  {
    if (json_is_true (json_object_get (m, "Hidden")))
      continue;
    json_t *o = json_deep_copy (m);
    json_object_del (o, "TmpfsOptions");
    json_object_del (o, "Hidden");
    json_object_del (o, "Anonymous");
    json_array_append_new (out, o);
  }
  return out;
}

json_t *
container_inspect_json (const struct container *c, const char *etc_dir)
{
  json_t *args = json_array ();
  for (char **a = c->args; a && *a; a++)
    json_array_append_new (args, json_string (*a));
  const char *dir = etc_dir;
  _cleanup_free_ char *resolv = xasprintf ("%s/resolv.conf", dir);
  _cleanup_free_ char *hostname = xasprintf ("%s/hostname", dir);
  _cleanup_free_ char *hosts = xasprintf ("%s/hosts", dir);
  json_t *gd_data = c->rootfs ? json_pack ("{s:s}", "MergedDir", c->rootfs) : json_null ();
  json_t *j = json_pack (
      "{s:s,s:o,s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:n}", "Id", c->id,
      "Created", container_time_json (c->created_ns), "Path", c->path, "Args", args, "State",
      container_state_json (&c->state), "Image", c->image_id, "ResolvConfPath", resolv,
      "HostnamePath", hostname, "HostsPath", hosts, "LogPath", c->log_path ? c->log_path : "",
      "Name", c->name, "RestartCount", c->restart_count, "Driver", "overlay2", "Platform", "linux",
      "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs");
  json_t *hc = json_deep_copy (c->host_config);
  container_host_config_fill_zero (hc);
  /* dockerd stores "unlimited" as no value: swappiness -1 and a pids limit
   * <= 0 read back as null */
  json_t *sw = json_object_get (hc, "MemorySwappiness");
  if (json_is_integer (sw) && json_integer_value (sw) == -1)
    json_object_set_new (hc, "MemorySwappiness", json_null ());
  json_t *pl = json_object_get (hc, "PidsLimit");
  if (json_is_integer (pl) && json_integer_value (pl) <= 0)
    json_object_set_new (hc, "PidsLimit", json_null ());
  /* records made before create stored the runtime's name ran with it too */
  if (*str_of (hc, "Runtime") == '\0')
    json_object_set_new (hc, "Runtime", json_string (CONTAINER_RUNTIME_NAME));
  json_object_set_new (j, "HostConfig", hc);
  json_object_set_new (j, "GraphDriver",
                       json_pack ("{s:o,s:s}", "Data", gd_data, "Name", "overlay2"));
  json_object_set_new (j, "Mounts", mounts_json (c));
  json_t *cfg = json_deep_copy (c->config);
  container_config_fill_zero (cfg);
  if (*str_of (cfg, "Hostname") == '\0')
    {
      char h[13];
      snprintf (h, sizeof h, "%.12s", c->id);
      json_object_set_new (cfg, "Hostname", json_string (h));
    }
  /* dockerd: an empty Env or Volumes is replaced by the image's, which
   * is none */
  json_t *env = json_object_get (cfg, "Env");
  if (json_is_array (env) && json_array_size (env) == 0)
    json_object_set_new (cfg, "Env", json_null ());
  json_t *vols = json_object_get (cfg, "Volumes");
  if (json_is_object (vols) && json_object_size (vols) == 0)
    json_object_set_new (cfg, "Volumes", json_null ());
  json_object_set_new (j, "Config", cfg);
  json_object_set_new (j, "NetworkSettings", network_settings_json (c));
  return j;
}

static json_t *
summary_ports (const struct container *c)
{
  json_t *out = json_array ();
  const char *k;
  json_t *v;
  json_t *bindings = json_object_get (c->host_config, "PortBindings");
  json_object_foreach (json_object_get (c->config, "ExposedPorts"), k, v)
  {
    if (container_is_running (c) && json_array_size (json_object_get (bindings, k)) > 0)
      continue;
    int port = atoi (k);
    const char *slash = strchr (k, '/');
    json_array_append_new (
        out, json_pack ("{s:i,s:s}", "PrivatePort", port, "Type", slash ? slash + 1 : "tcp"));
  }
  if (!container_is_running (c))
    return out;
  json_object_foreach (bindings, k, v)
  {
    int port = atoi (k);
    const char *slash = strchr (k, '/');
    size_t i;
    json_t *b;
    json_array_foreach (v, i, b)
    {
      const char *ip = str_of (b, "HostIp");
      json_array_append_new (out, json_pack ("{s:s,s:i,s:i,s:s}", "IP", *ip ? ip : "0.0.0.0",
                                             "PrivatePort", port, "PublicPort",
                                             atoi (str_of (b, "HostPort")), "Type",
                                             slash ? slash + 1 : "tcp"));
    }
  }
  return out;
}

json_t *
container_summary_json (const struct container *c, uint64_t now_ns)
{
  _cleanup_strv_ char **argv = NULL;
  strv_append (&argv, c->path);
  /* docker's list.go: an argument with a space is shown in single quotes */
  for (char **a = c->args; a && *a; a++)
    {
      _cleanup_free_ char *q = strchr (*a, ' ') ? xasprintf ("'%s'", *a) : xstrdup (*a);
      strv_append (&argv, q);
    }
  _cleanup_free_ char *command = strv_join (argv, " ");
  _cleanup_free_ char *status = container_status_text (c, now_ns);
  json_t *names = json_pack ("[s]", c->name);
  json_t *labels = json_object_get (c->config, "Labels");
  const char *net = network_name (c);
  json_t *networks = json_object ();
  json_object_set_new (networks, net, endpoint_json (c, net));
  json_t *mounts = mounts_json (c);
  return json_pack ("{s:s,s:o,s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s,s:{s:s},s:{s:o},s:o}", "Id", c->id,
                    "Names", names, "Image", c->image_ref, "ImageID", c->image_id, "Command",
                    command, "Created", (json_int_t)(c->created_ns / 1000000000ull), "Ports",
                    summary_ports (c), "Labels",
                    json_is_object (labels) ? json_incref (labels) : json_object (), "State",
                    container_status_name (c->state.status), "Status", status, "HostConfig",
                    "NetworkMode", str_of (c->host_config, "NetworkMode"), "NetworkSettings",
                    "Networks", networks, "Mounts", mounts);
}

void
container_sizes_apply (struct containers *cs, const struct container *c, json_t *j, bool omit_zero)
{
  int64_t rw = 0, rootfs = 0;
  _cleanup_error_ struct berth_error *err = NULL;
  if (cs->d->images == NULL || image_snapshot_size (cs->d->images, c->id, &rw, &rootfs, &err) < 0)
    {
      /* dockerd logs it and reports what it has (nothing) */
      if (err)
        berth_log (BERTH_LOG_DEBUG, "size of %.12s: %s", c->id, err->msg);
      rw = rootfs = 0;
    }
  /* inspect's are pointers (always there with size=1), the list's int64
   * with omitempty */
  if (!omit_zero || rw != 0)
    json_object_set_new (j, "SizeRw", json_integer (rw));
  if (!omit_zero || rootfs != 0)
    json_object_set_new (j, "SizeRootFs", json_integer (rootfs));
}

void
container_graph_data_apply (struct containers *cs, const struct container *c, json_t *j)
{
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *data = cs->d->images ? image_snapshot_graph_data (cs->d->images, c->id, &err) : NULL;
  if (data)
    json_object_set_new (json_object_get (j, "GraphDriver"), "Data", data);
}
