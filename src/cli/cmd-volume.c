/* berth cli: `volume` and `network` commands (create, ls, inspect, rm,
 * prune, connect, disconnect) with docker's request bodies (traces 09, 10)
 * and table output. */
#include "cli/cli-internal.h"
#include "cli/rows.h"

#include <string.h>

const struct cli_opt cli_volume_create_opts[] = {
  { "driver", 'd', CLI_OPT_STRING, "Specify volume driver name", "local" },
  { "label", 0, CLI_OPT_LIST, "Set metadata for a volume", NULL },
  { "name", 0, CLI_OPT_STRING, "Specify volume name", NULL },
  { "opt", 'o', CLI_OPT_LIST, "Set driver specific options", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_volume_ls_opts[] = {
  { "filter", 'f', CLI_OPT_LIST, "Provide filter values (e.g. \"dangling=true\")", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only display volume names", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_volume_rm_opts[] = {
  { "force", 'f', CLI_OPT_BOOL, "Force the removal of one or more volumes", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_network_create_opts[] = {
  { "attachable", 0, CLI_OPT_BOOL, "Enable manual container attachment", NULL },
  { "driver", 'd', CLI_OPT_STRING, "Driver to manage the Network", "bridge" },
  { "gateway", 0, CLI_OPT_LIST, "IPv4 or IPv6 Gateway for the master subnet", NULL },
  { "internal", 0, CLI_OPT_BOOL, "Restrict external access to the network", NULL },
  { "ip-range", 0, CLI_OPT_LIST, "Allocate container ip from a sub-range", NULL },
  { "ipam-driver", 0, CLI_OPT_STRING, "IP Address Management Driver", "default" },
  { "ipv6", 0, CLI_OPT_BOOL, "Enable or disable IPv6 networking", NULL },
  { "label", 0, CLI_OPT_LIST, "Set metadata on a network", NULL },
  { "opt", 'o', CLI_OPT_LIST, "Set driver specific options", NULL },
  { "subnet", 0, CLI_OPT_LIST, "Subnet in CIDR format that represents a network segment", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_network_ls_opts[] = {
  { "filter", 'f', CLI_OPT_LIST, "Provide filter values (e.g. \"driver=bridge\")", NULL },
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "no-trunc", 0, CLI_OPT_BOOL, "Do not truncate the output", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only display network IDs", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_network_connect_opts[] = {
  { "alias", 0, CLI_OPT_LIST, "Add network-scoped alias for the container", NULL },
  { "ip", 0, CLI_OPT_STRING, "IPv4 address (e.g., \"172.30.100.104\")", NULL },
  { "ip6", 0, CLI_OPT_STRING, "IPv6 address (e.g., \"2001:db8::33\")", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_network_rm_opts[] = {
  { "force", 'f', CLI_OPT_BOOL, "Force the container to disconnect / do not error on missing networks", NULL },
  { NULL, 0, 0, NULL, NULL },
};

static char *
filters_q (char *const *specs, struct berth_error **err, int *rc)
{
  *rc = 0;
  if (specs == NULL || specs[0] == NULL)
    return NULL;
  _cleanup_json_ json_t *f = parse_filters (specs, err);
  if (f == NULL)
    {
      *rc = -1;
      return NULL;
    }
  _cleanup_free_ char *s = json_dumps (f, JSON_COMPACT);
  _cleanup_free_ char *e = url_escape (s);
  return xasprintf ("filters=%s", e);
}

/* Inspect each name at prefix/<name> and print like docker inspect. */
static int
inspect_each (struct cli_ctx *ctx, struct cli_args *a, const char *prefix, const char *what)
{
  _cleanup_error_ struct berth_error *err = NULL;
  CLI_CLIENT ();
  _cleanup_json_ json_t *items = json_array ();
  int rc = 0;
  for (size_t i = 0; i < a->n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a->pos[i]);
      _cleanup_free_ char *path = xasprintf ("%s/%s", prefix, e);
      _cleanup_error_ struct berth_error *e2 = NULL;
      json_t *r = cli_call_json (c, "GET", path, NULL, NULL, &e2);
      if (r == NULL)
        {
          if (e2->kind == BERTH_E_NOT_FOUND)
            fprintf (stderr, "Error: No such %s: %s\n", what, a->pos[i]);
          else
            fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      json_array_append_new (items, r);
    }
  if (cli_print_inspect (items, cli_args_str (a, "format"), &err) < 0)
    return cli_fail (err, 1);
  return rc;
}

/* DELETE prefix/<name> for each, printing the name. */
static int
remove_each (struct cli_ctx *ctx, struct cli_args *a, const char *prefix, const char *query)
{
  _cleanup_error_ struct berth_error *err = NULL;
  CLI_CLIENT ();
  int rc = 0;
  for (size_t i = 0; i < a->n_pos; i++)
    {
      _cleanup_free_ char *e = url_escape (a->pos[i]);
      _cleanup_free_ char *path = xasprintf ("%s/%s", prefix, e);
      _cleanup_error_ struct berth_error *e2 = NULL;
      _cleanup_json_ json_t *r = cli_call_json (c, "DELETE", path, query, NULL, &e2);
      if (r == NULL)
        {
          fprintf (stderr, "%s\n", e2->msg);
          rc = 1;
          continue;
        }
      printf ("%s\n", a->pos[i]);
    }
  return rc;
}

/* ------------------------------------------------------------- volumes -- */

int
cmd_volume_create (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("volume create");
  const char *name = a.n_pos ? a.pos[0] : cli_args_str (&a, "name");
  if (a.n_pos && cli_args_str (&a, "name") && strcmp (a.pos[0], cli_args_str (&a, "name")) != 0)
    return fprintf (stderr, "conflicting options: either specify --name or provide positional arg, not both\n"), 1;
  _cleanup_json_ json_t *body = json_pack ("{s:s}", "Driver", cli_args_str (&a, "driver"));
  char **opts = cli_args_list (&a, "opt");
  if (opts[0])
    {
      json_t *o = json_object ();
      json_object_set_new (body, "DriverOpts", o);
      if (parse_kv_into (opts, o, false, "option", &err) < 0)
        return cli_fail (err, 1);
    }
  char **labels = cli_args_list (&a, "label");
  if (labels[0])
    {
      json_t *l = json_object ();
      json_object_set_new (body, "Labels", l);
      if (parse_kv_into (labels, l, true, "label", &err) < 0)
        return cli_fail (err, 1);
    }
  json_object_set_new (body, "Name", json_string (name ? name : ""));
  CLI_CLIENT ();
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", "/volumes/create", NULL, body, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  printf ("%s\n", json_string_value (json_object_get (r, "Name")));
  return 0;
}

int
cmd_volume_ls (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("volume ls");
  int frc;
  _cleanup_free_ char *q = filters_q (cli_args_list (&a, "filter"), &err, &frc);
  if (frc < 0)
    return cli_fail (err, 1);
  CLI_CLIENT ();
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", "/volumes", q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (r, "Volumes"), i, v)
    {
      const char *name = json_string_value (json_object_get (v, "Name"));
      const char *driver = json_string_value (json_object_get (v, "Driver"));
      const char *mp = json_string_value (json_object_get (v, "Mountpoint"));
      const char *scope = json_string_value (json_object_get (v, "Scope"));
      _cleanup_strv_ char **labels = calloc (1, sizeof (char *));
      const char *k;
      json_t *lv;
      json_object_foreach (json_object_get (v, "Labels"), k, lv)
        {
          _cleanup_free_ char *kv = xasprintf ("%s=%s", k, json_string_value (lv));
          strv_append (&labels, kv);
        }
      _cleanup_free_ char *lj = strv_join (labels, ",");
      json_t *u = json_object_get (v, "UsageData");
      _cleanup_free_ char *size = u ? human_size ((double) json_integer_value (json_object_get (u, "Size")), 3)
                                    : xstrdup ("N/A");
      _cleanup_free_ char *links = u ? xasprintf ("%lld", (long long) json_integer_value (json_object_get (u, "RefCount")))
                                     : xstrdup ("N/A");
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Driver",
                                              driver ? driver : "", "Name", name ? name : "",
                                              "Mountpoint", mp ? mp : "", "Scope", scope ? scope : "",
                                              "Labels", lj, "Size", size, "Links", links));
    }
  json_array_foreach (json_object_get (r, "Warnings"), i, v)
    fprintf (stderr, "%s\n", json_string_value (v));
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format == NULL)
    format = cli_args_bool (&a, "quiet") ? "{{.Name}}" : "table {{.Driver}}\t{{.Name}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Driver", "DRIVER",
                                              "Name", "VOLUME NAME", "Mountpoint", "MOUNTPOINT", "Scope",
                                              "SCOPE", "Labels", "LABELS", "Size", "SIZE", "Links", "LINKS");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_volume_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("volume inspect");
  return inspect_each (ctx, &a, "/volumes", "volume");
}

int
cmd_volume_rm (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("volume rm");
  return remove_each (ctx, &a, "/volumes", cli_args_bool (&a, "force") ? "force=1" : NULL);
}

int
cmd_volume_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("volume prune");
  bool all = cli_args_bool (&a, "all");
  return cli_prune (ctx, &a, "/volumes/prune",
                    all ? "WARNING! This will remove all local volumes not used by at least one container."
                        : "WARNING! This will remove anonymous local volumes not used by at least one container.",
                    "VolumesDeleted", all ? "all=true" : NULL);
}

/* ------------------------------------------------------------ networks -- */

int
cmd_network_create (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network create");
  char **subnets = cli_args_list (&a, "subnet");
  char **gateways = cli_args_list (&a, "gateway");
  char **ranges = cli_args_list (&a, "ip-range");
  if (strv_len (gateways) > strv_len (subnets) || strv_len (ranges) > strv_len (subnets))
    return fprintf (stderr, "Error response from daemon: no matching subnet for gateway or range\n"), 1;
  json_t *cfg = json_array ();
  for (size_t i = 0; subnets[i]; i++)
    {
      json_t *e = json_pack ("{s:s}", "Subnet", subnets[i]);
      if (i < strv_len (ranges))
        json_object_set_new (e, "IPRange", json_string (ranges[i]));
      if (i < strv_len (gateways))
        json_object_set_new (e, "Gateway", json_string (gateways[i]));
      json_array_append_new (cfg, e);
    }
  json_t *opts = json_object (), *labels = json_object ();
  _cleanup_json_ json_t *body = json_pack (
      "{s:s, s:s, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:b, s:n, s:o, s:o, s:s, s:b}", "Driver",
      cli_args_str (&a, "driver"), "Scope", "", "IPAM", "Driver", cli_args_str (&a, "ipam-driver"),
      "Options", "Config", cfg, "Internal", cli_args_bool (&a, "internal"), "Attachable",
      cli_args_bool (&a, "attachable"), "Ingress", false, "ConfigOnly", false, "ConfigFrom", "Options",
      opts, "Labels", labels, "Name", a.pos[0], "CheckDuplicate", true);
  if (cli_args_bool (&a, "ipv6"))
    json_object_set_new (body, "EnableIPv6", json_true ());
  if (parse_kv_into (cli_args_list (&a, "opt"), opts, false, "option", &err) < 0
      || parse_kv_into (cli_args_list (&a, "label"), labels, true, "label", &err) < 0)
    return cli_fail (err, 1);
  CLI_CLIENT ();
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", "/networks/create", NULL, body, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  printf ("%s\n", json_string_value (json_object_get (r, "Id")));
  return 0;
}

int
cmd_network_ls (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network ls");
  int frc;
  _cleanup_free_ char *q = filters_q (cli_args_list (&a, "filter"), &err, &frc);
  if (frc < 0)
    return cli_fail (err, 1);
  CLI_CLIENT ();
  _cleanup_json_ json_t *r = cli_call_json (c, "GET", "/networks", q, NULL, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  bool trunc = !cli_args_bool (&a, "no-trunc");
  _cleanup_json_ json_t *rows = json_array ();
  size_t i;
  json_t *n;
  json_array_foreach (r, i, n)
    {
      _cleanup_free_ char *id = short_id (json_string_value (json_object_get (n, "Id")), trunc);
      const char *name = json_string_value (json_object_get (n, "Name"));
      const char *driver = json_string_value (json_object_get (n, "Driver"));
      const char *scope = json_string_value (json_object_get (n, "Scope"));
      const char *created = json_string_value (json_object_get (n, "Created"));
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Name",
                                              name ? name : "", "Driver", driver ? driver : "", "Scope",
                                              scope ? scope : "", "CreatedAt", created ? created : "",
                                              "IPv6", json_is_true (json_object_get (n, "EnableIPv6")) ? "true" : "false",
                                              "Internal", json_is_true (json_object_get (n, "Internal")) ? "true" : "false"));
    }
  const char *format = normalize_format (cli_args_str (&a, "format"));
  if (format == NULL)
    format = cli_args_bool (&a, "quiet") ? "{{.ID}}" : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "NETWORK ID",
                                              "Name", "NAME", "Driver", "DRIVER", "Scope", "SCOPE",
                                              "CreatedAt", "CREATED", "IPv6", "IPV6", "Internal", "INTERNAL");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_network_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network inspect");
  return inspect_each (ctx, &a, "/networks", "network");
}

int
cmd_network_rm (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network rm");
  return remove_each (ctx, &a, "/networks", NULL);
}

int
cmd_network_connect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network connect");
  CLI_CLIENT ();
  json_t *aliases = json_array ();
  char **al = cli_args_list (&a, "alias");
  for (size_t i = 0; al[i]; i++)
    json_array_append_new (aliases, json_string (al[i]));
  json_t *ipam = json_object ();
  if (cli_args_str (&a, "ip"))
    json_object_set_new (ipam, "IPv4Address", json_string (cli_args_str (&a, "ip")));
  if (cli_args_str (&a, "ip6"))
    json_object_set_new (ipam, "IPv6Address", json_string (cli_args_str (&a, "ip6")));
  _cleanup_json_ json_t *body = json_pack ("{s:s, s:{s:o, s:o}}", "Container", a.pos[1],
                                           "EndpointConfig", "IPAMConfig",
                                           json_object_size (ipam) ? ipam : (json_decref (ipam), json_null ()),
                                           "Aliases", json_array_size (aliases) ? aliases : (json_decref (aliases), json_null ()));
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/networks/%s/connect", e);
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, NULL, body, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_network_disconnect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network disconnect");
  CLI_CLIENT ();
  _cleanup_json_ json_t *body = json_pack ("{s:s, s:b}", "Container", a.pos[1], "Force",
                                           cli_args_bool (&a, "force"));
  _cleanup_free_ char *e = url_escape (a.pos[0]);
  _cleanup_free_ char *path = xasprintf ("/networks/%s/disconnect", e);
  _cleanup_json_ json_t *r = cli_call_json (c, "POST", path, NULL, body, &err);
  if (r == NULL)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_network_prune (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("network prune");
  return cli_prune (ctx, &a, "/networks/prune",
                    "WARNING! This will remove all custom networks not used by at least one container.",
                    "NetworksDeleted", NULL);
}
