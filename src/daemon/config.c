/* berthd's configuration: dockerd's flags where they apply and the same
 * keys in daemon.json (default /etc/berth/daemon.json). Defaults, then the
 * file, then the flags: a flag wins over the file. */
#include "daemon/daemon-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DATA_ROOT "/var/lib/berth"
#define DEFAULT_EXEC_ROOT "/run/berth"
#define DEFAULT_CONFIG_FILE "/etc/berth/daemon.json"

static const char *const ulimit_names[]
    = { "core",   "cpu",    "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice",
        "nofile", "nproc",  "rss",    "rtprio", "rttime",     "sigpending", "stack", NULL };

static void
usage (FILE *out)
{
  fputs ("Usage: berthd [OPTIONS]\n"
         "\n"
         "berth's container engine: serves the Docker Engine API.\n"
         "\n"
         "Options:\n"
         "  -H, --host list            Daemon socket(s) to listen on (unix:///path, tcp://host:port)\n"
         "      --data-root string     Root of persistent state (default " DEFAULT_DATA_ROOT ")\n"
         "      --exec-root string     Root of runtime state (default " DEFAULT_EXEC_ROOT ")\n"
         "  -p, --pidfile string       PID file (default <exec-root>/berthd.pid)\n"
         "      --config-file string   daemon.json (default " DEFAULT_CONFIG_FILE ")\n"
         "  -l, --log-level string     debug, info, warn, error (default info)\n"
         "  -D, --debug                Debug output\n"
         "  -G, --group string         Group of the unix socket (default berth, when it exists)\n"
         "      --default-ulimit list  Default ulimits for containers (name=soft[:hard])\n"
         "      --live-restore[=bool]  Keep containers running while berthd is down (default true)\n"
         "      --log-driver string    Default container log driver (default json-file)\n"
         "      --log-opt list         Default log driver options (key=value)\n"
         "      --tls                  Use TLS (implied by --tlsverify)\n"
         "      --tlsverify            Use TLS and verify the client (required for tcp://)\n"
         "      --tlscacert string     CA the clients' certificates are signed by\n"
         "      --tlscert string       Server certificate\n"
         "      --tlskey string        Server key\n"
         "      --audit-log string     Audit log (default <data-root>/audit.log)\n"
         "      --policy string        Request policy (JSON rules; default: allow all)\n"
         "  -v, --version              Print version and exit\n"
         "  -h, --help                 Print this help and exit\n",
         out);
}

json_t *
config_ulimit_parse (const char *spec, struct berth_error **err)
{
  const char *eq = strchr (spec, '=');
  if (eq == NULL || eq == spec)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid ulimit `%s`: expected name=soft[:hard]", spec);
      return NULL;
    }
  _cleanup_free_ char *name = strndup (spec, (size_t) (eq - spec));
  if (!strv_contains ((char *const *) ulimit_names, name))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid ulimit `%s`: unknown name `%s`",
                            spec, name);
      return NULL;
    }
  char *end;
  errno = 0;
  long long soft = strtoll (eq + 1, &end, 10);
  long long hard = soft;
  if (end == eq + 1 || errno != 0)
    goto bad;
  if (*end == ':')
    {
      const char *h = end + 1;
      hard = strtoll (h, &end, 10);
      if (end == h || errno != 0)
        goto bad;
    }
  if (*end != '\0')
    goto bad;
  if (soft > hard && hard != -1)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid ulimit `%s`: soft limit %lld is above the hard limit %lld",
                            spec, soft, hard);
      return NULL;
    }
  return json_pack ("{s:s,s:I,s:I}", "Name", name, "Hard", (json_int_t) hard, "Soft",
                    (json_int_t) soft);
bad:
  berth_error_set_kind (err, BERTH_E_INVALID, 0,
                        "invalid ulimit `%s`: limits must be integers (name=soft[:hard])", spec);
  return NULL;
}

static bool
parse_bool (const char *s, bool *out)
{
  if (s == NULL || strcmp (s, "true") == 0 || strcmp (s, "1") == 0)
    *out = true;
  else if (strcmp (s, "false") == 0 || strcmp (s, "0") == 0)
    *out = false;
  else
    return false;
  return true;
}

static void
set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = v ? xstrdup (v) : NULL;
}

/* Flags as given on the command line, applied after the file. */
struct flags
{
  char **hosts;
  char *data_root, *exec_root, *pidfile, *config_file, *group, *log_level;
  char *tls_cacert, *tls_cert, *tls_key, *audit_log, *policy, *log_driver;
  char **ulimits, **log_opts;
  int debug, live_restore, tls, tls_verify; /* -1: not given */
};

static void
flags_free (struct flags *f)
{
  strv_freep (&f->hosts);
  strv_freep (&f->ulimits);
  strv_freep (&f->log_opts);
  free (f->data_root);
  free (f->exec_root);
  free (f->pidfile);
  free (f->config_file);
  free (f->group);
  free (f->log_level);
  free (f->tls_cacert);
  free (f->tls_cert);
  free (f->tls_key);
  free (f->audit_log);
  free (f->policy);
  free (f->log_driver);
}

enum
{
  OPT_DATA_ROOT = 1000,
  OPT_EXEC_ROOT,
  OPT_CONFIG_FILE,
  OPT_DEFAULT_ULIMIT,
  OPT_LIVE_RESTORE,
  OPT_TLS,
  OPT_TLSVERIFY,
  OPT_TLSCACERT,
  OPT_TLSCERT,
  OPT_TLSKEY,
  OPT_AUDIT_LOG,
  OPT_POLICY,
  OPT_LOG_DRIVER,
  OPT_LOG_OPT,
};

static const struct option long_options[] = {
  { "host", required_argument, NULL, 'H' },
  { "data-root", required_argument, NULL, OPT_DATA_ROOT },
  { "exec-root", required_argument, NULL, OPT_EXEC_ROOT },
  { "pidfile", required_argument, NULL, 'p' },
  { "config-file", required_argument, NULL, OPT_CONFIG_FILE },
  { "log-level", required_argument, NULL, 'l' },
  { "debug", no_argument, NULL, 'D' },
  { "group", required_argument, NULL, 'G' },
  { "default-ulimit", required_argument, NULL, OPT_DEFAULT_ULIMIT },
  { "live-restore", optional_argument, NULL, OPT_LIVE_RESTORE },
  { "tls", optional_argument, NULL, OPT_TLS },
  { "tlsverify", optional_argument, NULL, OPT_TLSVERIFY },
  { "tlscacert", required_argument, NULL, OPT_TLSCACERT },
  { "tlscert", required_argument, NULL, OPT_TLSCERT },
  { "tlskey", required_argument, NULL, OPT_TLSKEY },
  { "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
  { "policy", required_argument, NULL, OPT_POLICY },
  { "log-driver", required_argument, NULL, OPT_LOG_DRIVER },
  { "log-opt", required_argument, NULL, OPT_LOG_OPT },
  { "version", no_argument, NULL, 'v' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int
flags_parse (struct flags *f, int argc, char **argv, struct berth_error **err)
{
  f->debug = f->live_restore = f->tls = f->tls_verify = -1;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, ":H:p:l:DG:vh", long_options, NULL)) != -1)
    {
      bool b;
      switch (c)
        {
        case 'H':
          strv_append (&f->hosts, optarg);
          break;
        case OPT_DATA_ROOT:
          set_str (&f->data_root, optarg);
          break;
        case OPT_EXEC_ROOT:
          set_str (&f->exec_root, optarg);
          break;
        case 'p':
          set_str (&f->pidfile, optarg);
          break;
        case OPT_CONFIG_FILE:
          set_str (&f->config_file, optarg);
          break;
        case 'l':
          set_str (&f->log_level, optarg);
          break;
        case 'D':
          f->debug = 1;
          break;
        case 'G':
          set_str (&f->group, optarg);
          break;
        case OPT_DEFAULT_ULIMIT:
          strv_append (&f->ulimits, optarg);
          break;
        case OPT_LOG_OPT:
          strv_append (&f->log_opts, optarg);
          break;
        case OPT_LIVE_RESTORE:
        case OPT_TLS:
        case OPT_TLSVERIFY:
          if (!parse_bool (optarg, &b))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "invalid boolean `%s` for --%s", optarg,
                                         argv[optind - 1] + 2);
          if (c == OPT_LIVE_RESTORE)
            f->live_restore = b;
          else if (c == OPT_TLS)
            f->tls = b;
          else
            f->tls_verify = b;
          break;
        case OPT_TLSCACERT:
          set_str (&f->tls_cacert, optarg);
          break;
        case OPT_TLSCERT:
          set_str (&f->tls_cert, optarg);
          break;
        case OPT_TLSKEY:
          set_str (&f->tls_key, optarg);
          break;
        case OPT_AUDIT_LOG:
          set_str (&f->audit_log, optarg);
          break;
        case OPT_POLICY:
          set_str (&f->policy, optarg);
          break;
        case OPT_LOG_DRIVER:
          set_str (&f->log_driver, optarg);
          break;
        case 'v':
          printf ("berthd version %s (Engine API %s)\n", BERTH_VERSION, API_VERSION_MAX);
          return 1;
        case 'h':
          usage (stdout);
          return 1;
        case ':':
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "flag %s needs an argument",
                                       argv[optind - 1]);
        default:
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "unknown flag %s (see berthd --help)", argv[optind - 1]);
        }
    }
  if (optind < argc)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "unexpected argument `%s` (see berthd --help)", argv[optind]);
  return 0;
}

static int
file_str (json_t *file, const char *key, char **dst, struct berth_error **err)
{
  json_t *v = json_object_get (file, key);
  if (v == NULL)
    return 0;
  if (!json_is_string (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected a string", key);
  set_str (dst, json_string_value (v));
  return 0;
}

static int
file_bool (json_t *file, const char *key, bool *dst, struct berth_error **err)
{
  json_t *v = json_object_get (file, key);
  if (v == NULL)
    return 0;
  if (!json_is_boolean (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected true or false", key);
  *dst = json_is_true (v);
  return 0;
}

static int
config_apply_file (struct berthd_config *c, json_t *file, struct berth_error **err)
{
  json_t *hosts = json_object_get (file, "hosts");
  if (hosts)
    {
      if (!json_is_array (hosts))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hosts: expected an array");
      strv_freep (&c->hosts);
      size_t i;
      json_t *h;
      json_array_foreach (hosts, i, h)
        {
          if (!json_is_string (h))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "hosts[%zu]: expected a string",
                                         i);
          strv_append (&c->hosts, json_string_value (h));
        }
    }
  _cleanup_free_ char *level = NULL;
  if (file_str (file, "data-root", &c->data_root, err) < 0
      || file_str (file, "exec-root", &c->exec_root, err) < 0
      || file_str (file, "pidfile", &c->pidfile, err) < 0
      || file_str (file, "group", &c->group, err) < 0
      || file_str (file, "tlscacert", &c->tls_cacert, err) < 0
      || file_str (file, "tlscert", &c->tls_cert, err) < 0
      || file_str (file, "tlskey", &c->tls_key, err) < 0
      || file_str (file, "audit-log", &c->audit_log, err) < 0
      || file_str (file, "policy", &c->policy_path, err) < 0
      || file_str (file, "log-driver", &c->log_driver, err) < 0
      || file_str (file, "log-level", &level, err) < 0
      || file_bool (file, "debug", &c->debug, err) < 0
      || file_bool (file, "live-restore", &c->live_restore, err) < 0
      || file_bool (file, "tls", &c->tls, err) < 0
      || file_bool (file, "tlsverify", &c->tls_verify, err) < 0)
    return -1;
  if (level && berth_log_level_parse (level, &c->log_level) < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "log-level: unknown level `%s`", level);
  json_t *ul = json_object_get (file, "default-ulimits");
  if (ul)
    {
      if (!json_is_object (ul))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "default-ulimits: expected an object");
      const char *name;
      json_t *v;
      json_object_foreach (ul, name, v)
        {
          if (!strv_contains ((char *const *) ulimit_names, name) || !json_is_object (v)
              || !json_is_integer (json_object_get (v, "Soft"))
              || !json_is_integer (json_object_get (v, "Hard")))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "default-ulimits.%s: expected "
                                         "{\"Name\":…,\"Soft\":n,\"Hard\":n} of a known ulimit",
                                         name);
          json_object_set_new (c->default_ulimits, name,
                               json_pack ("{s:s,s:O,s:O}", "Name", name, "Hard",
                                          json_object_get (v, "Hard"), "Soft",
                                          json_object_get (v, "Soft")));
        }
    }
  json_t *lo = json_object_get (file, "log-opts");
  if (lo)
    {
      if (!json_is_object (lo))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "log-opts: expected an object");
      json_object_update (c->log_opts, lo);
    }
  return 0;
}

static int
config_apply_flags (struct berthd_config *c, struct flags *f, struct berth_error **err)
{
  if (f->hosts)
    {
      strv_freep (&c->hosts);
      c->hosts = strv_dup (f->hosts);
    }
  if (f->data_root)
    set_str (&c->data_root, f->data_root);
  if (f->exec_root)
    set_str (&c->exec_root, f->exec_root);
  if (f->pidfile)
    set_str (&c->pidfile, f->pidfile);
  if (f->group)
    set_str (&c->group, f->group);
  if (f->tls_cacert)
    set_str (&c->tls_cacert, f->tls_cacert);
  if (f->tls_cert)
    set_str (&c->tls_cert, f->tls_cert);
  if (f->tls_key)
    set_str (&c->tls_key, f->tls_key);
  if (f->audit_log)
    set_str (&c->audit_log, f->audit_log);
  if (f->policy)
    set_str (&c->policy_path, f->policy);
  if (f->log_driver)
    set_str (&c->log_driver, f->log_driver);
  if (f->log_level && berth_log_level_parse (f->log_level, &c->log_level) < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--log-level: unknown level `%s`",
                                 f->log_level);
  if (f->debug >= 0)
    c->debug = f->debug;
  if (f->live_restore >= 0)
    c->live_restore = f->live_restore;
  if (f->tls >= 0)
    c->tls = f->tls;
  if (f->tls_verify >= 0)
    c->tls_verify = f->tls_verify;
  for (char **u = f->ulimits; u && *u; u++)
    {
      json_t *j = config_ulimit_parse (*u, err);
      if (j == NULL)
        return berth_error_prefix (err, "--default-ulimit");
      json_object_set (c->default_ulimits, json_string_value (json_object_get (j, "Name")), j);
      json_decref (j);
    }
  for (char **o = f->log_opts; o && *o; o++)
    {
      const char *eq = strchr (*o, '=');
      if (eq == NULL || eq == *o)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "--log-opt `%s`: expected key=value", *o);
      _cleanup_free_ char *k = strndup (*o, (size_t) (eq - *o));
      json_object_set_new (c->log_opts, k, json_string (eq + 1));
    }
  return 0;
}

/* dockerd refuses a daemon.json key it does not know, and a setting given
 * both as a flag and in the file. berthd knows docker's keys (those it
 * does not implement are named in a warning, not an error: a docker
 * daemon.json must still start it) and its own. */
static const char *const file_keys_berth[] = {
  "hosts", "data-root", "exec-root", "pidfile", "group", "tls", "tlsverify", "tlscacert",
  "tlscert", "tlskey", "audit-log", "policy", "log-driver", "log-opts", "log-level", "debug",
  "live-restore", "default-ulimits", "insecure-registries",
  "bridge", "bip", "fixed-cidr", "default-address-pools", "dns", "mtu", "nft-table", NULL
};
static const char *const file_keys_docker_only[] = {
  "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins", "builder",
  "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd",
  "containerd-namespace", "containerd-plugins-namespace", "cpu-rt-period", "cpu-rt-runtime",
  "cri-containerd", "default-cgroupns-mode", "default-gateway", "default-gateway-v6",
  "default-ipc-mode", "default-runtime", "default-shm-size", "dns-opts", "dns-search", "exec-opts",
  "experimental", "features", "fixed-cidr-v6", "icc", "init", "init-path", "ip", "ip-forward",
  "ip-masq", "ip6tables", "iptables", "ipv6", "labels", "log-format", "max-concurrent-downloads",
  "max-concurrent-uploads", "max-download-attempts", "metrics-addr", "network-control-plane-mtu",
  "no-new-privileges", "node-generic-resources", "oom-score-adjust", "raw-logs", "registry-mirrors",
  "rootless", "runtimes", "seccomp-profile", "selinux-enabled", "shutdown-timeout",
  "storage-driver", "storage-opts", "swarm-default-advertise-addr", "userland-proxy",
  "userland-proxy-path", "userns-remap", NULL
};

static int
file_keys_check (json_t *file, struct berth_error **err)
{
  _cleanup_strv_ char **unknown = NULL;
  const char *k;
  json_t *v;
  json_object_foreach (file, k, v)
  {
    if (strv_contains ((char *const *) file_keys_berth, k))
      continue;
    if (strv_contains ((char *const *) file_keys_docker_only, k))
      berth_log (BERTH_LOG_WARNING, "daemon.json: %s is not supported by berthd; ignored", k);
    else
      strv_append (&unknown, k);
  }
  if (unknown == NULL)
    return 0;
  _cleanup_free_ char *list = strv_join (unknown, ", ");
  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                               "the following directives don't match any configuration option: %s",
                               list);
}

static void
conflict_add (char ***list, const char *key, const char *from_flag, const char *from_file)
{
  _cleanup_free_ char *m = xasprintf ("%s: (from flag: %s, from file: %s)", key, from_flag,
                                      from_file);
  strv_append (list, m);
}

static int
str_ptr_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
json_as_text (json_t *v)
{
  if (json_is_string (v))
    return xstrdup (json_string_value (v));
  if (json_is_array (v))
    {
      _cleanup_strv_ char **items = NULL;
      size_t i;
      json_t *x;
      json_array_foreach (v, i, x) strv_append (&items, json_is_string (x) ? json_string_value (x) : "?");
      _cleanup_free_ char *joined = items ? strv_join (items, " ") : xstrdup ("");
      return xasprintf ("[%s]", joined);
    }
  return json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* dockerd: "the following directives are specified both as a flag and in
 * the configuration file: log-level: (from flag: debug, from file: warn)" */
static int
flags_conflicts (const struct flags *f, json_t *file, struct berth_error **err)
{
  const struct
  {
    const char *key;
    const char *flag_value;
  } strs[] = { { "data-root", f->data_root },   { "exec-root", f->exec_root },
               { "pidfile", f->pidfile },       { "group", f->group },
               { "log-level", f->log_level },   { "tlscacert", f->tls_cacert },
               { "tlscert", f->tls_cert },      { "tlskey", f->tls_key },
               { "audit-log", f->audit_log },   { "policy", f->policy },
               { "log-driver", f->log_driver } };
  const struct
  {
    const char *key;
    int flag_value;
  } bools[] = { { "debug", f->debug },
                { "live-restore", f->live_restore },
                { "tls", f->tls },
                { "tlsverify", f->tls_verify } };
  _cleanup_strv_ char **msg = NULL;
  if (f->hosts && json_object_get (file, "hosts"))
    {
      _cleanup_free_ char *joined = strv_join (f->hosts, " ");
      _cleanup_free_ char *ff = xasprintf ("[%s]", joined);
      _cleanup_free_ char *fv = json_as_text (json_object_get (file, "hosts"));
      conflict_add (&msg, "hosts", ff, fv);
    }
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    if (strs[i].flag_value && json_object_get (file, strs[i].key))
      {
        _cleanup_free_ char *fv = json_as_text (json_object_get (file, strs[i].key));
        conflict_add (&msg, strs[i].key, strs[i].flag_value, fv);
      }
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
    if (bools[i].flag_value >= 0 && json_object_get (file, bools[i].key))
      {
        _cleanup_free_ char *fv = json_as_text (json_object_get (file, bools[i].key));
        conflict_add (&msg, bools[i].key, bools[i].flag_value ? "true" : "false", fv);
      }
  if (msg == NULL)
    return 0;
  /* in the order of the keys, as dockerd lists them */
  qsort (msg, strv_len (msg), sizeof *msg, str_ptr_cmp);
  _cleanup_free_ char *text = strv_join (msg, ", ");
  return berth_error_set_kind (
      err, BERTH_E_INVALID, 0,
      "the following directives are specified both as a flag and in the configuration file: %s",
      text);
}

int
config_parse (struct berthd_config *c, int argc, char **argv, struct berth_error **err)
{
  memset (c, 0, sizeof *c);
  c->log_level = BERTH_LOG_INFO;
  c->live_restore = true;
  c->default_ulimits = json_object ();
  c->log_opts = json_object ();
  c->file = json_object ();
  c->log_driver = xstrdup ("json-file");
  c->data_root = xstrdup (DEFAULT_DATA_ROOT);
  c->exec_root = xstrdup (DEFAULT_EXEC_ROOT);

  struct flags f = { 0 };
  int r = flags_parse (&f, argc, argv, err);
  if (r != 0)
    {
      flags_free (&f);
      return r;
    }

  c->config_file = xstrdup (f.config_file ? f.config_file : DEFAULT_CONFIG_FILE);
  if (access (c->config_file, F_OK) == 0 || f.config_file)
    {
      json_t *file = json_load_path (AT_FDCWD, c->config_file, err);
      if (file == NULL)
        {
          flags_free (&f);
          return berth_error_prefix (err, "config file");
        }
      json_decref (c->file);
      c->file = file;
      if (!json_is_object (file) || file_keys_check (file, err) < 0
          || flags_conflicts (&f, file, err) < 0 || config_apply_file (c, file, err) < 0)
        {
          flags_free (&f);
          if (!json_is_object (file))
            berth_error_set_kind (err, BERTH_E_INVALID, 0, "expected a JSON object");
          return berth_error_prefix (err, "%s", c->config_file);
        }
    }
  r = config_apply_flags (c, &f, err);
  flags_free (&f);
  if (r < 0)
    return -1;

  if (c->debug)
    c->log_level = BERTH_LOG_DEBUG;
  if (c->tls_verify)
    c->tls = true;
  if (c->hosts == NULL)
    {
      _cleanup_free_ char *h = xasprintf ("unix://%s/berth.sock", c->exec_root);
      strv_append (&c->hosts, h);
    }
  if (c->pidfile == NULL)
    c->pidfile = xasprintf ("%s/berthd.pid", c->exec_root);
  if (c->audit_log == NULL)
    c->audit_log = xasprintf ("%s/audit.log", c->data_root);
  if (c->data_root[0] != '/' || c->exec_root[0] != '/')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "--data-root and --exec-root must be absolute paths");
  return 0;
}

void
config_free (struct berthd_config *c)
{
  strv_freep (&c->hosts);
  free (c->data_root);
  free (c->exec_root);
  free (c->pidfile);
  free (c->config_file);
  free (c->group);
  free (c->tls_cacert);
  free (c->tls_cert);
  free (c->tls_key);
  free (c->audit_log);
  free (c->policy_path);
  free (c->log_driver);
  json_decref (c->default_ulimits);
  json_decref (c->log_opts);
  json_decref (c->file);
  memset (c, 0, sizeof *c);
}
