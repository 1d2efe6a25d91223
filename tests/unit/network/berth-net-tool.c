/* berth-net-tool: an internal test driver of the network library (not
 * installed, not user-facing). One command per invocation, or `serve`:
 * commands read line by line from stdin, answered with one JSON line each,
 * while the embedded DNS runs in the same poll loop — the way berthd drives
 * the library. */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "network/network.h"

struct tool
{
  struct network_manager *m;
};

static void
print_json (json_t *j)
{
  char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  printf ("%s\n", s);
  fflush (stdout);
  free (s);
}

static int
reply (json_t *result, struct berth_error *err)
{
  _cleanup_json_ json_t *j = NULL;
  if (err)
    j = json_pack ("{s:b, s:s, s:i}", "ok", false, "error", err->msg, "status",
                   berth_error_http_status (err));
  else
    j = json_pack ("{s:b, s:o}", "ok", true, "result", result ? result : json_null ());
  print_json (j);
  return err ? 1 : 0;
}

static int
split_kv (const char *s, json_t *obj)
{
  const char *eq = strchr (s, '=');
  if (eq == NULL)
    return -1;
  _cleanup_free_ char *k = strndup (s, (size_t) (eq - s));
  json_object_set_new (obj, k, json_string (eq + 1));
  return 0;
}

static int
cmd_create (struct tool *t, int argc, char **argv)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *labels = json_object (), *opts = json_object ();
  struct network_create_opts o = { .labels = labels, .options = opts };
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--internal") == 0)
        o.internal = true;
      else if (strcmp (a, "--ipv6") == 0)
        o.enable_ipv6 = true;
      else if (v && strcmp (a, "--subnet") == 0)
        o.subnet = argv[++i];
      else if (v && strcmp (a, "--gateway") == 0)
        o.gateway = argv[++i];
      else if (v && strcmp (a, "--ip-range") == 0)
        o.ip_range = argv[++i];
      else if (v && strcmp (a, "--driver") == 0)
        o.driver = argv[++i];
      else if (v && strcmp (a, "--opt") == 0 && split_kv (argv[++i], opts) == 0)
        ;
      else if (v && strcmp (a, "--label") == 0 && split_kv (argv[++i], labels) == 0)
        ;
      else if (o.name == NULL && a[0] != '-')
        o.name = a;
      else
        {
          berth_error_set_kind (&err, BERTH_E_INVALID, 0, "create: bad argument `%s`", a);
          return reply (NULL, err);
        }
    }
  _cleanup_free_ char *id = NULL;
  if (network_manager_create (t->m, &o, &id, &err) < 0)
    return reply (NULL, err);
  json_t *j = network_manager_inspect (t->m, id, &err);
  return reply (j, err);
}

static int
cmd_connect (struct tool *t, int argc, char **argv)
{
  _cleanup_error_ struct berth_error *err = NULL;
  struct network_endpoint_opts o = { 0 };
  _cleanup_strv_ char **aliases = calloc (1, sizeof (char *)), **dns = calloc (1, sizeof (char *));
  _cleanup_free_ struct network_port_binding *ports = NULL;
  size_t n_ports = 0;
  const char *net = NULL;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (v && strcmp (a, "--netns") == 0)
        o.netns_path = argv[++i];
      else if (v && strcmp (a, "--pid") == 0)
        o.pid = atoi (argv[++i]);
      else if (v && strcmp (a, "--name") == 0)
        o.container_name = argv[++i];
      else if (v && strcmp (a, "--ip") == 0)
        o.ipv4_address = argv[++i];
      else if (v && strcmp (a, "--mac") == 0)
        o.mac_address = argv[++i];
      else if (v && strcmp (a, "--ifname") == 0)
        o.ifname = argv[++i];
      else if (v && strcmp (a, "--alias") == 0)
        strv_append (&aliases, argv[++i]);
      else if (v && strcmp (a, "--dns") == 0)
        strv_append (&dns, argv[++i]);
      else if (v && strcmp (a, "-p") == 0)
        {
          struct network_port_binding *b = NULL;
          size_t nb = 0;
          if (network_port_spec_parse (argv[++i], &b, &nb, &err) < 0)
            return reply (NULL, err);
          ports = realloc (ports, (n_ports + nb) * sizeof *ports);
          memcpy (ports + n_ports, b, nb * sizeof *b);
          n_ports += nb;
          free (b);
        }
      else if (net == NULL && a[0] != '-')
        net = a;
      else if (o.container_id == NULL && a[0] != '-')
        o.container_id = a;
      else
        {
          berth_error_set_kind (&err, BERTH_E_INVALID, 0, "connect: bad argument `%s`", a);
          return reply (NULL, err);
        }
    }
  o.aliases = (const char *const *) aliases;
  o.dns_servers = (const char *const *) dns;
  o.ports = ports;
  o.n_ports = n_ports;
  struct network_endpoint_info info;
  if (network_manager_connect (t->m, net, &o, &info, &err) < 0)
    return reply (NULL, err);
  json_t *r = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "network_id",
                         info.network_id, "endpoint_id", info.endpoint_id, "ifname", info.ifname,
                         "host_ifname", info.host_ifname, "ip", info.ip, "gateway", info.gateway,
                         "mac", info.mac, "prefix_len", info.prefix_len, "mtu", info.mtu,
                         "dns_server", info.dns_server);
  json_object_set_new (r, "settings",
                       network_manager_endpoint_settings (t->m, net, o.container_id, NULL));
  json_object_set_new (r, "ports", network_manager_container_ports (t->m, o.container_id));
  return reply (r, NULL);
}

static int
run_command (struct tool *t, int argc, char **argv)
{
  _cleanup_error_ struct berth_error *err = NULL;
  const char *c = argv[0];
  if (strcmp (c, "create") == 0)
    return cmd_create (t, argc, argv);
  if (strcmp (c, "connect") == 0)
    return cmd_connect (t, argc, argv);
  if (strcmp (c, "rm") == 0 && argc == 2)
    {
      network_manager_remove (t->m, argv[1], &err);
      return reply (NULL, err);
    }
  if (strcmp (c, "inspect") == 0 && argc == 2)
    {
      json_t *j = network_manager_inspect (t->m, argv[1], &err);
      return reply (j, err);
    }
  if (strcmp (c, "ls") == 0)
    return reply (network_manager_list (t->m), NULL);
  if (strcmp (c, "prune") == 0)
    {
      json_t *j = network_manager_prune (t->m, NULL, NULL, &err);
      return reply (j, err);
    }
  if (strcmp (c, "disconnect") == 0 && argc == 3)
    {
      network_manager_disconnect (t->m, argv[1], argv[2], &err);
      return reply (NULL, err);
    }
  if (strcmp (c, "disconnect-all") == 0 && argc == 2)
    {
      network_manager_disconnect_all (t->m, argv[1], &err);
      return reply (NULL, err);
    }
  if (strcmp (c, "ports") == 0 && argc == 2)
    return reply (network_manager_container_ports (t->m, argv[1]), NULL);
  if (strcmp (c, "endpoint") == 0 && argc == 3)
    {
      json_t *j = network_manager_endpoint_settings (t->m, argv[1], argv[2], &err);
      return reply (j, err);
    }
  if (strcmp (c, "cleanup") == 0)
    {
      int n = network_manager_cleanup_orphans (t->m, (const char *const *) argv + 1, &err);
      return reply (n < 0 ? NULL : json_integer (n), err);
    }
  if (strcmp (c, "destroy") == 0)
    {
      network_manager_destroy_all (t->m, &err);
      return reply (NULL, err);
    }
  if (strcmp (c, "loopback") == 0 && argc == 2)
    {
      network_netns_loopback_up (argv[1], 0, &err);
      return reply (NULL, err);
    }
  berth_error_set_kind (&err, BERTH_E_INVALID, 0, "unknown command or wrong arguments: %s", c);
  return reply (NULL, err);
}

/* serve: the DNS fds and stdin in one poll loop, like berthd's. */
static int
serve (struct tool *t)
{
  char *line = NULL;
  size_t cap = 0;
  for (;;)
    {
      struct pollfd pfd[64];
      int fds[63];
      size_t n = network_manager_dns_fds (t->m, fds, 63);
      pfd[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
      for (size_t i = 0; i < n; i++)
        pfd[i + 1] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
      int r = poll (pfd, n + 1, network_manager_dns_timeout_ms (t->m));
      if (r < 0 && errno != EINTR)
        return 1;
      network_manager_dns_handle_timeouts (t->m);
      for (size_t i = 0; i < n; i++)
        if (pfd[i + 1].revents & POLLIN)
          network_manager_dns_handle_readable (t->m, fds[i]);
      if (!(pfd[0].revents & (POLLIN | POLLHUP)))
        continue;
      if (getline (&line, &cap, stdin) < 0)
        break;
      line[strcspn (line, "\n")] = '\0';
      _cleanup_strv_ char **argv = NULL;
      char *save = NULL;
      for (char *w = strtok_r (line, " \t", &save); w; w = strtok_r (NULL, " \t", &save))
        strv_append (&argv, w);
      if (argv == NULL)
        continue;
      if (strcmp (argv[0], "quit") == 0)
        break;
      run_command (t, (int) strv_len (argv), argv);
    }
  free (line);
  return 0;
}

int
main (int argc, char **argv)
{
  struct network_manager_config cfg = { .state_dir = NULL, .no_default_networks = true };
  _cleanup_strv_ char **pools = NULL, **upstreams = NULL;
  static const struct option longopts[] = {
    { "state", required_argument, NULL, 's' },  { "table", required_argument, NULL, 't' },
    { "run", required_argument, NULL, 'r' },
    { "device", required_argument, NULL, 'd' }, { "bip", required_argument, NULL, 'b' },
    { "fixed-cidr", required_argument, NULL, 'f' }, { "pool", required_argument, NULL, 'P' },
    { "upstream", required_argument, NULL, 'u' }, { "defaults", no_argument, NULL, 'D' },
    { "mtu", required_argument, NULL, 'm' },    { "dns-timeout-ms", required_argument, NULL, 'T' },
    { NULL, 0, NULL, 0 },
  };
  int c;
  while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    switch (c)
      {
      case 's': cfg.state_dir = optarg; break;
      case 'r': cfg.run_dir = optarg; break;
      case 't': cfg.nft_table = optarg; break;
      case 'd': cfg.default_bridge_device = optarg; break;
      case 'b': cfg.bip = optarg; break;
      case 'f': cfg.fixed_cidr = optarg; break;
      case 'P': strv_append (&pools, optarg); break;
      case 'u': strv_append (&upstreams, optarg); break;
      case 'D': cfg.no_default_networks = false; break;
      case 'm': cfg.default_mtu = atoi (optarg); break;
      case 'T': cfg.dns_timeout_ms = atoi (optarg); break;
      default:
        fprintf (stderr, "usage: berth-net-tool --state DIR [--run DIR] [--table T] [options] COMMAND ...\n");
        return 2;
      }
  if (optind >= argc)
    {
      fprintf (stderr, "berth-net-tool: no command\n");
      return 2;
    }
  if (strcmp (argv[optind], "portspec") == 0 && optind + 1 < argc)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ struct network_port_binding *b = NULL;
      size_t n = 0;
      if (network_port_spec_parse (argv[optind + 1], &b, &n, &err) < 0)
        return reply (NULL, err);
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, json_pack ("{s:i, s:i, s:s, s:i, s:i}", "proto", b[i].proto,
                                             "container_port", b[i].container_port, "host_ip",
                                             b[i].host_ip, "host_port_lo", b[i].host_port_lo,
                                             "host_port_hi", b[i].host_port_hi));
      return reply (a, NULL);
    }
  cfg.default_address_pools = (const char *const *) pools;
  /* Tests never let a query reach the machine's real resolvers. */
  cfg.dns_upstreams = upstreams ? (const char *const *) upstreams : (const char *const[]){ NULL };
  berth_log_configure (STDERR_FILENO, false, BERTH_LOG_INFO);
  struct tool t = { 0 };
  _cleanup_error_ struct berth_error *err = NULL;
  if (network_manager_open (&cfg, &t.m, &err) < 0)
    return reply (NULL, err);
  int r = strcmp (argv[optind], "serve") == 0 ? serve (&t)
                                              : run_command (&t, argc - optind, argv + optind);
  network_manager_close (t.m);
  return r;
}
