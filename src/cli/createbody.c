/* berth cli: the flags of `run`/`create` and the container create body they
 * become, field for field and in the order the docker CLI 28 sends them
 * (captured from the reference: traces/02 and a full-flag capture). */
#include "cli/cli-internal.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

#define CONTAINER_CREATE_OPTS                                                                     \
  { "add-host", 0, CLI_OPT_LIST, "Add a custom host-to-IP mapping (host:ip)", NULL },             \
  { "attach", 'a', CLI_OPT_LIST, "Attach to STDIN, STDOUT or STDERR", NULL },                     \
  { "cap-add", 0, CLI_OPT_LIST, "Add Linux capabilities", NULL },                                 \
  { "cap-drop", 0, CLI_OPT_LIST, "Drop Linux capabilities", NULL },                               \
  { "cgroup-parent", 0, CLI_OPT_STRING, "Optional parent cgroup for the container", NULL },       \
  { "cgroupns", 0, CLI_OPT_STRING, "Cgroup namespace to use (host|private)", NULL },              \
  { "cidfile", 0, CLI_OPT_STRING, "Write the container ID to the file", NULL },                   \
  { "cpu-period", 0, CLI_OPT_STRING, "Limit CPU CFS (Completely Fair Scheduler) period", NULL },  \
  { "cpu-quota", 0, CLI_OPT_STRING, "Limit CPU CFS (Completely Fair Scheduler) quota", NULL },    \
  { "cpu-shares", 'c', CLI_OPT_STRING, "CPU shares (relative weight)", NULL },                    \
  { "cpus", 0, CLI_OPT_STRING, "Number of CPUs", NULL },                                          \
  { "cpuset-cpus", 0, CLI_OPT_STRING, "CPUs in which to allow execution (0-3, 0,1)", NULL },      \
  { "cpuset-mems", 0, CLI_OPT_STRING, "MEMs in which to allow execution (0-3, 0,1)", NULL },      \
  { "device", 0, CLI_OPT_LIST, "Add a host device to the container", NULL },                      \
  { "dns", 0, CLI_OPT_LIST, "Set custom DNS servers", NULL },                                     \
  { "dns-option", 0, CLI_OPT_LIST, "Set DNS options", NULL },                                     \
  { "dns-search", 0, CLI_OPT_LIST, "Set custom DNS search domains", NULL },                       \
  { "domainname", 0, CLI_OPT_STRING, "Container NIS domain name", NULL },                         \
  { "entrypoint", 0, CLI_OPT_STRING, "Overwrite the default ENTRYPOINT of the image", NULL },     \
  { "env", 'e', CLI_OPT_LIST, "Set environment variables", NULL },                                \
  { "env-file", 0, CLI_OPT_LIST, "Read in a file of environment variables", NULL },               \
  { "expose", 0, CLI_OPT_LIST, "Expose a port or a range of ports", NULL },                       \
  { "group-add", 0, CLI_OPT_LIST, "Add additional groups to join", NULL },                        \
  { "health-cmd", 0, CLI_OPT_STRING, "Command to run to check health", NULL },                    \
  { "health-interval", 0, CLI_OPT_STRING, "Time between running the check (ms|s|m|h)", NULL },    \
  { "health-retries", 0, CLI_OPT_STRING, "Consecutive failures needed to report unhealthy", NULL },\
  { "health-start-period", 0, CLI_OPT_STRING, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)", NULL }, \
  { "health-timeout", 0, CLI_OPT_STRING, "Maximum time to allow one check to run (ms|s|m|h)", NULL }, \
  { "hostname", 'h', CLI_OPT_STRING, "Container host name", NULL },                               \
  { "init", 0, CLI_OPT_BOOL, "Run an init inside the container that forwards signals and reaps processes", NULL }, \
  { "interactive", 'i', CLI_OPT_BOOL, "Keep STDIN open even if not attached", NULL },             \
  { "ip", 0, CLI_OPT_STRING, "IPv4 address (e.g., 172.30.100.104)", NULL },                       \
  { "ipc", 0, CLI_OPT_STRING, "IPC mode to use", NULL },                                          \
  { "label", 'l', CLI_OPT_LIST, "Set meta data on a container", NULL },                           \
  { "label-file", 0, CLI_OPT_LIST, "Read in a line delimited file of labels", NULL },             \
  { "log-driver", 0, CLI_OPT_STRING, "Logging driver for the container", NULL },                  \
  { "log-opt", 0, CLI_OPT_LIST, "Log driver options", NULL },                                     \
  { "memory", 'm', CLI_OPT_STRING, "Memory limit", NULL },                                        \
  { "memory-reservation", 0, CLI_OPT_STRING, "Memory soft limit", NULL },                         \
  { "memory-swap", 0, CLI_OPT_STRING, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", NULL }, \
  { "memory-swappiness", 0, CLI_OPT_STRING, "Tune container memory swappiness (0 to 100)", "-1" },\
  { "mount", 0, CLI_OPT_LIST, "Attach a filesystem mount to the container", NULL },               \
  { "name", 0, CLI_OPT_STRING, "Assign a name to the container", NULL },                          \
  { "network", 0, CLI_OPT_STRING, "Connect a container to a network", NULL },                     \
  { "net", 0, CLI_OPT_STRING, "Connect a container to a network (alias of --network)", NULL },    \
  { "network-alias", 0, CLI_OPT_LIST, "Add network-scoped alias for the container", NULL },       \
  { "no-healthcheck", 0, CLI_OPT_BOOL, "Disable any container-specified HEALTHCHECK", NULL },     \
  { "oom-kill-disable", 0, CLI_OPT_BOOL, "Disable OOM Killer", NULL },                            \
  { "oom-score-adj", 0, CLI_OPT_STRING, "Tune host's OOM preferences (-1000 to 1000)", NULL },    \
  { "pid", 0, CLI_OPT_STRING, "PID namespace to use", NULL },                                     \
  { "pids-limit", 0, CLI_OPT_STRING, "Tune container pids limit (set -1 for unlimited)", NULL },  \
  { "platform", 0, CLI_OPT_STRING, "Set platform if server is multi-platform capable", NULL },    \
  { "privileged", 0, CLI_OPT_BOOL, "Give extended privileges to this container", NULL },         \
  { "publish", 'p', CLI_OPT_LIST, "Publish a container's port(s) to the host", NULL },            \
  { "publish-all", 'P', CLI_OPT_BOOL, "Publish all exposed ports to random ports", NULL },        \
  { "pull", 0, CLI_OPT_STRING, "Pull image before creating (\"always\", \"missing\", \"never\")", "missing" }, \
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress the pull output", NULL },                               \
  { "read-only", 0, CLI_OPT_BOOL, "Mount the container's root filesystem as read only", NULL },   \
  { "restart", 0, CLI_OPT_STRING, "Restart policy to apply when a container exits", "no" },       \
  { "rm", 0, CLI_OPT_BOOL, "Automatically remove the container and its associated anonymous volumes when it exits", NULL }, \
  { "runtime", 0, CLI_OPT_STRING, "Runtime to use for this container", NULL },                    \
  { "security-opt", 0, CLI_OPT_LIST, "Security Options", NULL },                                  \
  { "shm-size", 0, CLI_OPT_STRING, "Size of /dev/shm", NULL },                                    \
  { "stop-signal", 0, CLI_OPT_STRING, "Signal to stop the container", NULL },                     \
  { "stop-timeout", 0, CLI_OPT_STRING, "Timeout (in seconds) to stop a container", NULL },        \
  { "storage-opt", 0, CLI_OPT_LIST, "Storage driver options for the container", NULL },           \
  { "sysctl", 0, CLI_OPT_LIST, "Sysctl options", NULL },                                          \
  { "tmpfs", 0, CLI_OPT_LIST, "Mount a tmpfs directory", NULL },                                  \
  { "tty", 't', CLI_OPT_BOOL, "Allocate a pseudo-TTY", NULL },                                    \
  { "ulimit", 0, CLI_OPT_LIST, "Ulimit options", NULL },                                          \
  { "user", 'u', CLI_OPT_STRING, "Username or UID (format: <name|uid>[:<group|gid>])", NULL },    \
  { "userns", 0, CLI_OPT_STRING, "User namespace to use", NULL },                                 \
  { "uts", 0, CLI_OPT_STRING, "UTS namespace to use", NULL },                                     \
  { "volume", 'v', CLI_OPT_LIST, "Bind mount a volume", NULL },                                   \
  { "volume-driver", 0, CLI_OPT_STRING, "Optional volume driver for the container", NULL },       \
  { "volumes-from", 0, CLI_OPT_LIST, "Mount volumes from the specified container(s)", NULL },     \
  { "workdir", 'w', CLI_OPT_STRING, "Working directory inside the container", NULL }

const struct cli_opt cli_create_opts[] = {
  CONTAINER_CREATE_OPTS,
  { NULL, 0, 0, NULL, NULL },
};

const struct cli_opt cli_run_opts[] = {
  CONTAINER_CREATE_OPTS,
  { "detach", 'd', CLI_OPT_BOOL, "Run container in background and print container ID", NULL },
  { "detach-keys", 0, CLI_OPT_STRING, "Override the key sequence for detaching a container", NULL },
  { "sig-proxy", 0, CLI_OPT_BOOL, "Proxy received signals to the process", "true" },
  { NULL, 0, 0, NULL, NULL },
};

static json_t *
strv_to_json_or_null (char *const *v)
{
  if (v == NULL || v[0] == NULL)
    return json_null ();
  json_t *a = json_array ();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static int
set_mem (json_t *obj, const char *key, const struct cli_args *a, const char *flag,
         bool allow_minus_one, struct berth_error **err)
{
  const char *s = cli_args_str (a, flag);
  int64_t v = 0;
  if (s && *s)
    {
      if (allow_minus_one && strcmp (s, "-1") == 0)
        v = -1;
      else if (parse_ram_bytes (s, &v, err) < 0)
        return berth_error_prefix (err, "invalid argument \"%s\" for \"--%s\" flag", s, flag);
    }
  json_object_set_new (obj, key, json_integer (v));
  return 0;
}

static int
set_int (json_t *obj, const char *key, const struct cli_args *a, const char *flag,
         struct berth_error **err)
{
  long long v = 0;
  if (cli_args_int (a, flag, &v, err) < 0)
    return -1;
  json_object_set_new (obj, key, json_integer (v));
  return 0;
}

static int
duration_field (json_t *hc, const char *key, const struct cli_args *a, const char *flag,
                struct berth_error **err)
{
  const char *s = cli_args_str (a, flag);
  if (s == NULL)
    return 0;
  int64_t ns;
  if (parse_go_duration (s, &ns, err) < 0)
    return berth_error_prefix (err, "invalid argument \"%s\" for \"--%s\" flag", s, flag);
  if (ns < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "--%s cannot be negative", flag);
  json_object_set_new (hc, key, json_integer (ns));
  return 0;
}

static json_t *
build_healthcheck (const struct cli_args *a, struct berth_error **err)
{
  bool any = cli_args_is_set (a, "health-cmd") || cli_args_is_set (a, "health-interval")
             || cli_args_is_set (a, "health-timeout") || cli_args_is_set (a, "health-retries")
             || cli_args_is_set (a, "health-start-period");
  if (cli_args_bool (a, "no-healthcheck"))
    {
      if (any)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "--no-healthcheck conflicts with --health-* options");
          return NULL;
        }
      return json_pack ("{s:[s]}", "Test", "NONE");
    }
  if (!any)
    return json_null ();
  _cleanup_json_ json_t *hc = json_object ();
  const char *cmd = cli_args_str (a, "health-cmd");
  if (cmd)
    json_object_set_new (hc, "Test", json_pack ("[s, s]", "CMD-SHELL", cmd));
  if (duration_field (hc, "Interval", a, "health-interval", err) < 0
      || duration_field (hc, "Timeout", a, "health-timeout", err) < 0
      || duration_field (hc, "StartPeriod", a, "health-start-period", err) < 0)
    return NULL;
  if (cli_args_is_set (a, "health-retries"))
    {
      long long r;
      if (cli_args_int (a, "health-retries", &r, err) < 0)
        return NULL;
      json_object_set_new (hc, "Retries", json_integer (r));
    }
  return steal_pointer (&hc);
}

/* docker normalizes capability names to CAP_X (except ALL). */
static json_t *
caps_json (char *const *caps)
{
  if (caps == NULL || caps[0] == NULL)
    return json_null ();
  json_t *arr = json_array ();
  for (size_t i = 0; caps[i]; i++)
    {
      _cleanup_free_ char *up = xstrdup (caps[i]);
      for (char *c = up; *c; c++)
        *c = (char) toupper ((unsigned char) *c);
      if (strcmp (up, "ALL") == 0 || str_has_prefix (up, "CAP_"))
        json_array_append_new (arr, json_string (up));
      else
        {
          _cleanup_free_ char *n = xasprintf ("CAP_%s", up);
          json_array_append_new (arr, json_string (n));
        }
    }
  return arr;
}

json_t *
cli_build_create_body (const struct cli_args *a, const char *cwd, struct berth_error **err)
{
  if (a->n_pos < 1)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "requires at least 1 argument");
      return NULL;
    }
  const char *image = a->pos[0];
  bool tty = cli_args_bool (a, "tty");
  bool interactive = cli_args_bool (a, "interactive");
  bool detach = false;
  for (size_t i = 0; i < a->n_opts; i++)
    if (strcmp (a->opts[i].name, "detach") == 0)
      detach = cli_args_bool (a, "detach");
  bool is_run = false;
  for (size_t i = 0; i < a->n_opts; i++)
    if (strcmp (a->opts[i].name, "sig-proxy") == 0)
      is_run = true;

  /* Attach flags: docker attaches stdout+stderr for a foreground run, stdin
   * too with -i; -a picks explicitly; create attaches nothing unless -a. */
  bool att_in = false, att_out = false, att_err = false;
  char **attach = cli_args_list (a, "attach");
  if (attach[0])
    {
      if (detach)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "Conflicting options: -a and -d");
          return NULL;
        }
      for (size_t i = 0; attach[i]; i++)
        {
          if (strcasecmp (attach[i], "stdin") == 0)
            att_in = true;
          else if (strcasecmp (attach[i], "stdout") == 0)
            att_out = true;
          else if (strcasecmp (attach[i], "stderr") == 0)
            att_err = true;
          else
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                    "invalid argument \"%s\" for \"-a, --attach\" flag: valid "
                                    "streams are STDIN, STDOUT and STDERR",
                                    attach[i]);
              return NULL;
            }
        }
    }
  else if (is_run && !detach)
    {
      att_out = att_err = true;
      att_in = interactive;
    }
  else if (!is_run)
    {
      att_in = interactive;
      att_out = att_err = !detach;
      /* docker create: attaches stdout/stderr in the config as run would */
    }

  _cleanup_json_ json_t *body = json_object ();
  json_t *hc = json_object ();
  _cleanup_json_ json_t *exposed = json_object ();
  _cleanup_json_ json_t *bindings = json_object ();
  _cleanup_json_ json_t *binds = json_array ();
  _cleanup_json_ json_t *volumes = json_object ();

  char **ports = cli_args_list (a, "publish");
  for (size_t i = 0; ports[i]; i++)
    if (parse_port_spec (ports[i], exposed, bindings, err) < 0)
      return berth_error_prefix (err, "invalid argument \"%s\" for \"-p, --publish\" flag",
                                 ports[i]),
             json_decref (hc), NULL;
  char **expose = cli_args_list (a, "expose");
  for (size_t i = 0; expose[i]; i++)
    if (parse_expose (expose[i], exposed, err) < 0)
      return json_decref (hc), NULL;
  char **vols = cli_args_list (a, "volume");
  for (size_t i = 0; vols[i]; i++)
    if (parse_volume_spec (vols[i], cwd, binds, volumes, err) < 0)
      return berth_error_prefix (err, "invalid argument \"%s\" for \"-v, --volume\" flag", vols[i]),
             json_decref (hc), NULL;

  /* env: --env-file first, then -e, as docker merges them */
  _cleanup_strv_ char **env = NULL;
  char **env_files = cli_args_list (a, "env-file");
  for (size_t i = 0; env_files[i]; i++)
    {
      _cleanup_strv_ char **lines = NULL;
      if (parse_env_file (env_files[i], true, &lines, err) < 0)
        return json_decref (hc), NULL;
      for (size_t j = 0; lines[j]; j++)
        strv_append (&env, lines[j]);
    }
  char **envs = cli_args_list (a, "env");
  for (size_t i = 0; envs[i]; i++)
    {
      if (envs[i][0] == '=' || envs[i][0] == '\0')
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "invalid argument \"%s\" for \"-e, --env\" flag: invalid "
                                "environment variable: %s",
                                envs[i], envs[i]);
          return json_decref (hc), NULL;
        }
      _cleanup_free_ char *e = parse_env_opt (envs[i]);
      strv_append (&env, e);
    }

  _cleanup_json_ json_t *labels = json_object ();
  char **label_files = cli_args_list (a, "label-file");
  for (size_t i = 0; label_files[i]; i++)
    {
      _cleanup_strv_ char **lines = NULL;
      if (parse_env_file (label_files[i], false, &lines, err) < 0
          || parse_kv_into (lines, labels, true, "label", err) < 0)
        return json_decref (hc), NULL;
    }
  if (parse_kv_into (cli_args_list (a, "label"), labels, true, "label", err) < 0)
    return json_decref (hc), NULL;

  _cleanup_json_ json_t *health = build_healthcheck (a, err);
  if (health == NULL)
    return json_decref (hc), NULL;

  const char *restart = cli_args_str (a, "restart");
  _cleanup_json_ json_t *restart_policy = parse_restart_policy (restart ? restart : "no", err);
  if (restart_policy == NULL)
    return json_decref (hc), NULL;
  bool auto_remove = cli_args_bool (a, "rm");
  if (auto_remove && strcmp (json_string_value (json_object_get (restart_policy, "Name")), "no") != 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "Conflicting options: --restart and --rm");
      return json_decref (hc), NULL;
    }

  /* ---- Config ---- */
  const char *hostname = cli_args_str (a, "hostname");
  json_object_set_new (body, "Hostname", json_string (hostname ? hostname : ""));
  const char *dom = cli_args_str (a, "domainname");
  json_object_set_new (body, "Domainname", json_string (dom ? dom : ""));
  const char *user = cli_args_str (a, "user");
  json_object_set_new (body, "User", json_string (user ? user : ""));
  json_object_set_new (body, "AttachStdin", json_boolean (att_in));
  json_object_set_new (body, "AttachStdout", json_boolean (att_out));
  json_object_set_new (body, "AttachStderr", json_boolean (att_err));
  if (json_object_size (exposed))
    json_object_set (body, "ExposedPorts", exposed);
  json_object_set_new (body, "Tty", json_boolean (tty));
  json_object_set_new (body, "OpenStdin", json_boolean (interactive));
  json_object_set_new (body, "StdinOnce", json_boolean (interactive && att_in));
  json_object_set_new (body, "Env", strv_to_json_or_null (env));
  json_object_set_new (body, "Cmd", strv_to_json_or_null (a->pos + 1));
  if (!json_is_null (health))
    json_object_set (body, "Healthcheck", health);
  json_object_set_new (body, "Image", json_string (image));
  json_object_set (body, "Volumes", volumes);
  const char *wd = cli_args_str (a, "workdir");
  json_object_set_new (body, "WorkingDir", json_string (wd ? wd : ""));
  const char *ep = cli_args_str (a, "entrypoint");
  if (ep == NULL)
    json_object_set_new (body, "Entrypoint", json_null ());
  else if (*ep == '\0')
    json_object_set_new (body, "Entrypoint", json_pack ("[s]", ""));
  else
    json_object_set_new (body, "Entrypoint", json_pack ("[s]", ep));
  json_object_set_new (body, "OnBuild", json_null ());
  json_object_set (body, "Labels", labels);
  const char *stop_signal = cli_args_str (a, "stop-signal");
  if (stop_signal)
    json_object_set_new (body, "StopSignal", json_string (stop_signal));
  if (cli_args_is_set (a, "stop-timeout"))
    {
      long long t;
      if (cli_args_int (a, "stop-timeout", &t, err) < 0)
        return json_decref (hc), NULL;
      json_object_set_new (body, "StopTimeout", json_integer (t));
    }
  json_object_set_new (body, "HostConfig", hc);

  /* ---- HostConfig ---- */
  json_object_set_new (hc, "Binds", json_array_size (binds) ? json_incref (binds) : json_null ());
  const char *cidfile = cli_args_str (a, "cidfile");
  json_object_set_new (hc, "ContainerIDFile", json_string (cidfile ? cidfile : ""));
  json_t *log_cfg = json_object ();
  if (parse_kv_into (cli_args_list (a, "log-opt"), log_cfg, false, "log-opt", err) < 0)
    return json_decref (log_cfg), NULL;
  const char *log_driver = cli_args_str (a, "log-driver");
  json_object_set_new (hc, "LogConfig",
                       json_pack ("{s:s, s:o}", "Type", log_driver ? log_driver : "", "Config", log_cfg));
  const char *net = cli_args_str (a, "network");
  if (net == NULL)
    net = cli_args_str (a, "net");
  json_object_set_new (hc, "NetworkMode", json_string (net ? net : "default"));
  json_object_set (hc, "PortBindings", bindings);
  json_object_set (hc, "RestartPolicy", restart_policy);
  json_object_set_new (hc, "AutoRemove", json_boolean (auto_remove));
  const char *vd = cli_args_str (a, "volume-driver");
  json_object_set_new (hc, "VolumeDriver", json_string (vd ? vd : ""));
  json_object_set_new (hc, "VolumesFrom", strv_to_json_or_null (cli_args_list (a, "volumes-from")));
  int rows = 0, cols = 0;
  if (tty && isatty (STDOUT_FILENO))
    cli_tty_size (STDOUT_FILENO, &rows, &cols);
  json_object_set_new (hc, "ConsoleSize", json_pack ("[i, i]", rows, cols));
  json_object_set_new (hc, "CapAdd", caps_json (cli_args_list (a, "cap-add")));
  json_object_set_new (hc, "CapDrop", caps_json (cli_args_list (a, "cap-drop")));
  const char *cgns = cli_args_str (a, "cgroupns");
  json_object_set_new (hc, "CgroupnsMode", json_string (cgns ? cgns : ""));
  json_object_set_new (hc, "Dns", strv_to_json (cli_args_list (a, "dns")));
  json_object_set_new (hc, "DnsOptions", strv_to_json (cli_args_list (a, "dns-option")));
  json_object_set_new (hc, "DnsSearch", strv_to_json (cli_args_list (a, "dns-search")));
  char **hosts = cli_args_list (a, "add-host");
  for (size_t i = 0; hosts[i]; i++)
    {
      /* docker accepts host:ip and host=ip and sends host:ip */
      char *sep = strchr (hosts[i], '=');
      if (sep)
        *sep = ':';
      if (strchr (hosts[i], ':') == NULL)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "invalid argument \"%s\" for \"--add-host\" flag: bad format for "
                                "add-host: \"%s\"",
                                hosts[i], hosts[i]);
          return NULL;
        }
    }
  json_object_set_new (hc, "ExtraHosts", strv_to_json_or_null (hosts));
  json_object_set_new (hc, "GroupAdd", strv_to_json_or_null (cli_args_list (a, "group-add")));
  const char *ipc = cli_args_str (a, "ipc");
  json_object_set_new (hc, "IpcMode", json_string (ipc ? ipc : ""));
  json_object_set_new (hc, "Cgroup", json_string (""));
  json_object_set_new (hc, "Links", json_null ());
  if (set_int (hc, "OomScoreAdj", a, "oom-score-adj", err) < 0)
    return NULL;
  const char *pid = cli_args_str (a, "pid");
  json_object_set_new (hc, "PidMode", json_string (pid ? pid : ""));
  json_object_set_new (hc, "Privileged", json_boolean (cli_args_bool (a, "privileged")));
  json_object_set_new (hc, "PublishAllPorts", json_boolean (cli_args_bool (a, "publish-all")));
  json_object_set_new (hc, "ReadonlyRootfs", json_boolean (cli_args_bool (a, "read-only")));
  json_object_set_new (hc, "SecurityOpt", strv_to_json_or_null (cli_args_list (a, "security-opt")));
  char **storage = cli_args_list (a, "storage-opt");
  if (storage[0])
    {
      json_t *so = json_object ();
      json_object_set_new (hc, "StorageOpt", so);
      if (parse_kv_into (storage, so, false, "storage-opt", err) < 0)
        return NULL;
    }
  char **tmpfs = cli_args_list (a, "tmpfs");
  if (tmpfs[0])
    {
      json_t *t = json_object ();
      json_object_set_new (hc, "Tmpfs", t);
      for (size_t i = 0; tmpfs[i]; i++)
        if (parse_tmpfs (tmpfs[i], t, err) < 0)
          return NULL;
    }
  const char *uts = cli_args_str (a, "uts");
  json_object_set_new (hc, "UTSMode", json_string (uts ? uts : ""));
  const char *userns = cli_args_str (a, "userns");
  json_object_set_new (hc, "UsernsMode", json_string (userns ? userns : ""));
  if (set_mem (hc, "ShmSize", a, "shm-size", false, err) < 0)
    return NULL;
  char **sysctls = cli_args_list (a, "sysctl");
  if (sysctls[0])
    {
      json_t *s = json_object ();
      json_object_set_new (hc, "Sysctls", s);
      if (parse_kv_into (sysctls, s, false, "sysctl", err) < 0)
        return NULL;
    }
  const char *runtime = cli_args_str (a, "runtime");
  if (runtime)
    json_object_set_new (hc, "Runtime", json_string (runtime));
  json_object_set_new (hc, "Isolation", json_string (""));
  if (set_int (hc, "CpuShares", a, "cpu-shares", err) < 0
      || set_mem (hc, "Memory", a, "memory", false, err) < 0)
    return NULL;
  int64_t nano = 0;
  const char *cpus = cli_args_str (a, "cpus");
  if (cpus && parse_nano_cpus (cpus, &nano, err) < 0)
    return berth_error_prefix (err, "invalid argument \"%s\" for \"--cpus\" flag", cpus), NULL;
  json_object_set_new (hc, "NanoCpus", json_integer (nano));
  const char *cgp = cli_args_str (a, "cgroup-parent");
  json_object_set_new (hc, "CgroupParent", json_string (cgp ? cgp : ""));
  json_object_set_new (hc, "BlkioWeight", json_integer (0));
  json_object_set_new (hc, "BlkioWeightDevice", json_array ());
  json_object_set_new (hc, "BlkioDeviceReadBps", json_array ());
  json_object_set_new (hc, "BlkioDeviceWriteBps", json_array ());
  json_object_set_new (hc, "BlkioDeviceReadIOps", json_array ());
  json_object_set_new (hc, "BlkioDeviceWriteIOps", json_array ());
  if (set_int (hc, "CpuPeriod", a, "cpu-period", err) < 0
      || set_int (hc, "CpuQuota", a, "cpu-quota", err) < 0)
    return NULL;
  if (cpus && (cli_args_is_set (a, "cpu-period") || cli_args_is_set (a, "cpu-quota")))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set");
      return NULL;
    }
  json_object_set_new (hc, "CpuRealtimePeriod", json_integer (0));
  json_object_set_new (hc, "CpuRealtimeRuntime", json_integer (0));
  const char *cpuset = cli_args_str (a, "cpuset-cpus");
  json_object_set_new (hc, "CpusetCpus", json_string (cpuset ? cpuset : ""));
  const char *mems = cli_args_str (a, "cpuset-mems");
  json_object_set_new (hc, "CpusetMems", json_string (mems ? mems : ""));
  json_t *devices = json_array ();
  json_object_set_new (hc, "Devices", devices);
  char **devs = cli_args_list (a, "device");
  for (size_t i = 0; devs[i]; i++)
    {
      json_t *d = parse_device (devs[i], err);
      if (d == NULL)
        return berth_error_prefix (err, "invalid argument \"%s\" for \"--device\" flag", devs[i]), NULL;
      json_array_append_new (devices, d);
    }
  json_object_set_new (hc, "DeviceCgroupRules", json_null ());
  json_object_set_new (hc, "DeviceRequests", json_null ());
  if (set_mem (hc, "MemoryReservation", a, "memory-reservation", false, err) < 0
      || set_mem (hc, "MemorySwap", a, "memory-swap", true, err) < 0
      || set_int (hc, "MemorySwappiness", a, "memory-swappiness", err) < 0)
    return NULL;
  json_object_set_new (hc, "OomKillDisable", json_boolean (cli_args_bool (a, "oom-kill-disable")));
  if (set_int (hc, "PidsLimit", a, "pids-limit", err) < 0)
    return NULL;
  json_t *ulimits = json_array ();
  json_object_set_new (hc, "Ulimits", ulimits);
  char **uls = cli_args_list (a, "ulimit");
  for (size_t i = 0; uls[i]; i++)
    {
      json_t *u = parse_ulimit (uls[i], err);
      if (u == NULL)
        return berth_error_prefix (err, "invalid argument \"%s\" for \"--ulimit\" flag", uls[i]), NULL;
      json_array_append_new (ulimits, u);
    }
  json_object_set_new (hc, "CpuCount", json_integer (0));
  json_object_set_new (hc, "CpuPercent", json_integer (0));
  json_object_set_new (hc, "IOMaximumIOps", json_integer (0));
  json_object_set_new (hc, "IOMaximumBandwidth", json_integer (0));
  char **mounts = cli_args_list (a, "mount");
  if (mounts[0])
    {
      json_t *ms = json_array ();
      json_object_set_new (hc, "Mounts", ms);
      for (size_t i = 0; mounts[i]; i++)
        {
          json_t *m = parse_mount_spec (mounts[i], cwd, err);
          if (m == NULL)
            return berth_error_prefix (err, "invalid argument \"%s\" for \"--mount\" flag", mounts[i]),
                   NULL;
          json_array_append_new (ms, m);
        }
    }
  json_object_set_new (hc, "MaskedPaths", json_null ());
  json_object_set_new (hc, "ReadonlyPaths", json_null ());
  if (cli_args_bool (a, "init"))
    json_object_set_new (hc, "Init", json_true ());

  /* ---- NetworkingConfig ---- */
  char **aliases = cli_args_list (a, "network-alias");
  const char *netname = net ? net : "default";
  if (aliases[0] && (strcmp (netname, "default") == 0 || strcmp (netname, "bridge") == 0
                     || strcmp (netname, "host") == 0 || strcmp (netname, "none") == 0))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "network-scoped aliases are only supported for user-defined networks");
      return NULL;
    }
  const char *ip = cli_args_str (a, "ip");
  json_t *epc = json_pack ("{s:o, s:n, s:o, s:s, s:n, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:n}",
                           "IPAMConfig", ip ? json_pack ("{s:s}", "IPv4Address", ip) : json_null (),
                           "Links", "Aliases", strv_to_json_or_null (aliases), "MacAddress", "",
                           "DriverOpts", "GwPriority", 0, "NetworkID", "", "EndpointID", "",
                           "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
                           "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
  json_object_set_new (body, "NetworkingConfig",
                       json_pack ("{s:{s:o}}", "EndpointsConfig", netname, epc));
  return steal_pointer (&body);
}
