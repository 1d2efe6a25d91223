/* HostConfig of POST /containers/create and /update: every field the
 * clients send, validated with docker's messages and the field's path. */
#include "daemon/container-config-internal.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

static const struct field host_config_fields[] = {
  { "Binds", F_STRV },
  { "ContainerIDFile", F_STR },
  { "LogConfig", F_OBJ },
  { "NetworkMode", F_STR },
  { "PortBindings", F_OBJ },
  { "RestartPolicy", F_OBJ },
  { "AutoRemove", F_BOOL },
  { "VolumeDriver", F_STR },
  { "VolumesFrom", F_STRV },
  { "ConsoleSize", F_ARR },
  { "CapAdd", F_STRV },
  { "CapDrop", F_STRV },
  { "CgroupnsMode", F_STR },
  { "Dns", F_STRV },
  { "DnsOptions", F_STRV },
  { "DnsSearch", F_STRV },
  { "ExtraHosts", F_STRV },
  { "GroupAdd", F_STRV },
  { "IpcMode", F_STR },
  { "Cgroup", F_STR },
  { "Links", F_STRV },
  { "OomScoreAdj", F_INT },
  { "PidMode", F_STR },
  { "Privileged", F_BOOL },
  { "PublishAllPorts", F_BOOL },
  { "ReadonlyRootfs", F_BOOL },
  { "SecurityOpt", F_STRV },
  { "StorageOpt", F_STRMAP },
  { "Tmpfs", F_STRMAP },
  { "UTSMode", F_STR },
  { "UsernsMode", F_STR },
  { "ShmSize", F_INT },
  { "Sysctls", F_STRMAP },
  { "Runtime", F_STR },
  { "Isolation", F_STR },
  { "CpuShares", F_INT },
  { "Memory", F_INT },
  { "NanoCpus", F_INT },
  { "CgroupParent", F_STR },
  { "BlkioWeight", F_INT },
  { "BlkioWeightDevice", F_ARR },
  { "BlkioDeviceReadBps", F_ARR },
  { "BlkioDeviceWriteBps", F_ARR },
  { "BlkioDeviceReadIOps", F_ARR },
  { "BlkioDeviceWriteIOps", F_ARR },
  { "CpuPeriod", F_INT },
  { "CpuQuota", F_INT },
  { "CpuRealtimePeriod", F_INT },
  { "CpuRealtimeRuntime", F_INT },
  { "CpusetCpus", F_STR },
  { "CpusetMems", F_STR },
  { "Devices", F_ARR },
  { "DeviceCgroupRules", F_STRV },
  { "DeviceRequests", F_ARR },
  { "KernelMemory", F_INT },
  { "KernelMemoryTCP", F_INT },
  { "MemoryReservation", F_INT },
  { "MemorySwap", F_INT },
  { "MemorySwappiness", F_INT },
  { "OomKillDisable", F_BOOL },
  { "PidsLimit", F_INT },
  { "Ulimits", F_ARR },
  { "CpuCount", F_INT },
  { "CpuPercent", F_INT },
  { "IOMaximumIOps", F_INT },
  { "IOMaximumBandwidth", F_INT },
  { "Mounts", F_ARR },
  { "MaskedPaths", F_STRV },
  { "ReadonlyPaths", F_STRV },
  { "Init", F_BOOL },
};

/* --------------------------------------------------------- HostConfig -- */

void
container_host_config_fill_zero (json_t *hc)
{
  /* omitempty in dockerd's container.HostConfig (Runtime: inspect fills it) */
  static const char *const omitempty[]
      = { "Mounts", "Init", "StorageOpt", "Tmpfs", "Sysctls", "Runtime", NULL };
  if (json_object_get (hc, "ConsoleSize") == NULL)
    json_object_set_new (hc, "ConsoleSize", json_pack ("[i,i]", 0, 0));
  /* pointers in dockerd's struct: unset is null, not 0 */
  static const char *const pointers[] = { "MemorySwappiness", "PidsLimit" };
  for (size_t i = 0; i < sizeof pointers / sizeof pointers[0]; i++)
    if (json_object_get (hc, pointers[i]) == NULL)
      json_object_set_new (hc, pointers[i], json_null ());
  fill_zero_values (hc, host_config_fields,
                    sizeof host_config_fields / sizeof host_config_fields[0], omitempty);
}

static int
validate_port_bindings (json_t *hc, struct berth_error **err)
{
  json_t *pb = json_object_get (hc, "PortBindings");
  if (pb == NULL || json_is_null (pb))
    return 0;
  const char *key;
  json_t *list;
  json_object_foreach (pb, key, list)
  {
    if (!port_key_is_valid (key))
      return config_invalid (err, "HostConfig.PortBindings[\"%s\"]: invalid port specification",
                             key);
    if (json_is_null (list))
      continue;
    if (!json_is_array (list))
      return config_invalid (err, "HostConfig.PortBindings[\"%s\"]: must be an array", key);
    size_t i;
    json_t *b;
    json_array_foreach (list, i, b)
    {
      if (!json_is_object (b))
        return config_invalid (err, "HostConfig.PortBindings[\"%s\"][%zu]: must be an object", key,
                               i);
      json_t *ip = json_object_get (b, "HostIp");
      json_t *port = json_object_get (b, "HostPort");
      if (ip && !json_is_null (ip) && !json_is_string (ip))
        return config_invalid (err, "HostConfig.PortBindings[\"%s\"][%zu].HostIp: must be a string",
                               key, i);
      if (port && !json_is_null (port) && !json_is_string (port))
        return config_invalid (
            err, "HostConfig.PortBindings[\"%s\"][%zu].HostPort: must be a string", key, i);
      const char *p = json_is_string (port) ? json_string_value (port) : "";
      if (*p != '\0' && !port_range_is_valid (p, true))
        return config_invalid (
            err, "HostConfig.PortBindings[\"%s\"][%zu].HostPort: not a number: \"%s\"", key, i, p);
    }
  }
  return 0;
}

static int
validate_binds (json_t *hc, struct berth_error **err)
{
  json_t *binds = json_object_get (hc, "Binds");
  size_t i;
  json_t *b;
  json_array_foreach (binds, i, b)
  {
    const char *spec = json_string_value (b);
    _cleanup_strv_ char **parts = strv_split (spec, ':');
    size_t n = strv_len (parts);
    if (n < 2 || n > 3 || parts[0][0] == '\0' || parts[1][0] != '/')
      return config_invalid (err, "HostConfig.Binds[%zu]: invalid volume specification: '%s'", i,
                             spec);
    if (strcmp (parts[1], "/") == 0)
      return config_invalid (err,
                             "HostConfig.Binds[%zu]: invalid volume specification: '%s': invalid "
                             "mount config: destination can't be '/'",
                             i, spec);
    /* a source that is not an absolute path is a named volume */
    if (parts[0][0] != '/' && !container_name_is_valid (parts[0]) && strlen (parts[0]) > 1)
      return config_invalid (err, "HostConfig.Binds[%zu]: invalid volume specification: '%s'", i,
                             spec);
    if (n == 3)
      {
        _cleanup_strv_ char **opts = strv_split (parts[2], ',');
        for (char **o = opts; *o; o++)
          {
            static const char *const ok[]
                = { "ro",       "rw",         "z",       "Z",         "private",
                    "rprivate", "shared",     "rshared", "slave",     "rslave",
                    "nocopy",   "consistent", "cached",  "delegated", NULL };
            if (!strv_contains ((char *const *)ok, *o))
              return config_invalid (err, "HostConfig.Binds[%zu]: invalid mode: %s", i, *o);
          }
      }
  }
  return 0;
}

static int
validate_mounts (json_t *hc, struct berth_error **err)
{
  json_t *mounts = json_object_get (hc, "Mounts");
  size_t i;
  json_t *m;
  json_array_foreach (mounts, i, m)
  {
    if (!json_is_object (m))
      return config_invalid (err, "HostConfig.Mounts[%zu]: must be an object", i);
    const char *type = str_field (m, "Type");
    const char *target = str_field (m, "Target");
    const char *source = str_field (m, "Source");
    if (*target == '\0')
      return config_invalid (
          err, "HostConfig.Mounts[%zu].Target: invalid mount config: Target must not be empty", i);
    if (target[0] != '/')
      return config_invalid (
          err,
          "HostConfig.Mounts[%zu].Target: invalid mount config: mount path must be absolute: %s", i,
          target);
    if (strcmp (type, "bind") == 0)
      {
        if (*source == '\0')
          return config_invalid (err,
                                 "HostConfig.Mounts[%zu].Source: invalid mount config for type "
                                 "\"bind\": field Source must not be empty",
                                 i);
        if (source[0] != '/')
          return config_invalid (err,
                                 "HostConfig.Mounts[%zu].Source: invalid mount config for type "
                                 "\"bind\": invalid mount path: '%s' mount path must be absolute",
                                 i, source);
      }
    else if (strcmp (type, "volume") == 0)
      {
        if (*source != '\0' && !container_name_is_valid (source))
          return config_invalid (err, "HostConfig.Mounts[%zu].Source: invalid volume name \"%s\"",
                                 i, source);
      }
    else if (strcmp (type, "tmpfs") == 0)
      {
        if (*source != '\0')
          return config_invalid (err,
                                 "HostConfig.Mounts[%zu].Source: invalid mount config for type "
                                 "\"tmpfs\": field Source must not be specified",
                                 i);
        json_t *to = json_object_get (m, "TmpfsOptions");
        if (to && !json_is_null (to))
          {
            if (!json_is_object (to))
              return config_invalid (err, "HostConfig.Mounts[%zu].TmpfsOptions: must be an object",
                                     i);
            json_t *sz = json_object_get (to, "SizeBytes");
            json_t *mode = json_object_get (to, "Mode");
            if (sz && !json_is_null (sz) && (!is_integral (sz) || json_number_value (sz) < 0))
              return config_invalid (
                  err,
                  "HostConfig.Mounts[%zu].TmpfsOptions.SizeBytes: must be a non-negative integer",
                  i);
            if (mode && !json_is_null (mode) && !is_integral (mode))
              return config_invalid (
                  err, "HostConfig.Mounts[%zu].TmpfsOptions.Mode: must be an integer", i);
          }
      }
    else
      return config_invalid (err, "HostConfig.Mounts[%zu].Type: mount type unknown: \"%s\"", i,
                             type);
    json_t *ro = json_object_get (m, "ReadOnly");
    if (ro && !json_is_null (ro) && !json_is_boolean (ro))
      return config_invalid (err, "HostConfig.Mounts[%zu].ReadOnly: must be a boolean", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp (str_field (json_array_get (mounts, j), "Target"), target) == 0)
        return config_invalid (err, "HostConfig.Mounts[%zu]: Duplicate mount point: %s", i, target);
  }
  return 0;
}

static int
validate_tmpfs (json_t *hc, struct berth_error **err)
{
  json_t *tmpfs = json_object_get (hc, "Tmpfs");
  const char *path;
  json_t *opts;
  json_object_foreach (tmpfs, path, opts)
  {
    if (path[0] != '/')
      return config_invalid (
          err, "HostConfig.Tmpfs[\"%s\"]: invalid mount path: mount path must be absolute", path);
    _cleanup_strv_ char **o = strv_split (json_string_value (opts), ',');
    for (char **p = o; *p; p++)
      {
        if (**p == '\0')
          continue;
        if (str_has_prefix (*p, "size="))
          {
            int64_t b;
            if (size_parse_bytes (*p + 5, &b) < 0)
              return config_invalid (err, "HostConfig.Tmpfs[\"%s\"]: invalid size: %s", path,
                                     *p + 5);
          }
        else if (str_has_prefix (*p, "mode="))
          {
            char *end;
            strtol (*p + 5, &end, 8);
            if (*end != '\0' || end == *p + 5)
              return config_invalid (err, "HostConfig.Tmpfs[\"%s\"]: invalid mode: %s", path,
                                     *p + 5);
          }
        else
          {
            static const char *const ok[]
                = { "ro",       "rw",         "exec",      "noexec",     "suid",        "nosuid",
                    "dev",      "nodev",      "sync",      "async",      "atime",       "noatime",
                    "diratime", "nodiratime", "relatime",  "norelatime", "strictatime", "nr_inodes",
                    "uid",      "gid",        "tmpcopyup", NULL };
            _cleanup_free_ char *k = xstrdup (*p);
            char *eq = strchr (k, '=');
            if (eq)
              *eq = '\0';
            if (!strv_contains ((char *const *)ok, k))
              return config_invalid (err, "HostConfig.Tmpfs[\"%s\"]: unknown tmpfs option: %s",
                                     path, *p);
          }
      }
  }
  return 0;
}

static int
validate_restart_policy (json_t *hc, struct berth_error **err)
{
  json_t *rp = json_object_get (hc, "RestartPolicy");
  if (rp == NULL || json_is_null (rp))
    {
      json_object_set_new (hc, "RestartPolicy",
                           json_pack ("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
      return 0;
    }
  json_t *name = json_object_get (rp, "Name");
  json_t *max = json_object_get (rp, "MaximumRetryCount");
  if (name && !json_is_null (name) && !json_is_string (name))
    return config_invalid (err, "HostConfig.RestartPolicy.Name: must be a string");
  if (max && !json_is_null (max) && !is_integral (max))
    return config_invalid (err, "HostConfig.RestartPolicy.MaximumRetryCount: must be an integer");
  const char *n = json_is_string (name) ? json_string_value (name) : "";
  json_int_t m = max && !json_is_null (max) ? (json_int_t)json_number_value (max) : 0;
  if (*n == '\0')
    n = "no";
  if (strcmp (n, "no") != 0 && strcmp (n, "always") != 0 && strcmp (n, "on-failure") != 0
      && strcmp (n, "unless-stopped") != 0)
    return config_invalid (err, "HostConfig.RestartPolicy.Name: invalid restart policy '%s'", n);
  if (m < 0)
    return config_invalid (err, "HostConfig.RestartPolicy.MaximumRetryCount: invalid restart "
                                "policy: maximum retry count cannot be negative");
  if (m > 0 && strcmp (n, "on-failure") != 0)
    return config_invalid (err, "HostConfig.RestartPolicy.MaximumRetryCount: invalid restart "
                                "policy: maximum retry count can only be used with 'on-failure'");
  bool is_no = strcmp (n, "no") == 0;
  /* n points into the old object: done with it before replacing it */
  json_object_set_new (hc, "RestartPolicy",
                       json_pack ("{s:s,s:I}", "Name", n, "MaximumRetryCount", m));
  if (json_is_true (json_object_get (hc, "AutoRemove")) && !is_no)
    return config_invalid (
        err, "HostConfig.AutoRemove: conflicting options: cannot specify both --restart and --rm");
  return 0;
}

static const char *const known_caps[] = {
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
  NULL,
};

/* "net_admin", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "ALL" stays "ALL". */
static char *
cap_normalize (const char *name)
{
  _cleanup_free_ char *up = xstrdup (name);
  for (char *p = up; *p; p++)
    *p = (char)toupper ((unsigned char)*p);
  if (strcmp (up, "ALL") == 0)
    return steal_pointer (&up);
  const char *bare = str_has_prefix (up, "CAP_") ? up + 4 : up;
  if (!strv_contains ((char *const *)known_caps, bare))
    return NULL;
  return xasprintf ("CAP_%s", bare);
}

static int
validate_caps (json_t *hc, const char *field, struct berth_error **err)
{
  json_t *caps = json_object_get (hc, field);
  size_t i;
  json_t *c;
  json_array_foreach (caps, i, c)
  {
    _cleanup_free_ char *n = cap_normalize (json_string_value (c));
    if (n == NULL)
      return config_invalid (err, "HostConfig.%s[%zu]: unknown capability: \"%s\"", field, i,
                             json_string_value (c));
  }
  return 0;
}

static int
validate_security_opt (json_t *hc, struct berth_error **err)
{
  json_t *opts = json_object_get (hc, "SecurityOpt");
  size_t i;
  json_t *o;
  json_array_foreach (opts, i, o)
  {
    const char *s = json_string_value (o);
    if (strcmp (s, "no-new-privileges") == 0 || strcmp (s, "no-new-privileges:true") == 0
        || strcmp (s, "no-new-privileges=true") == 0 || strcmp (s, "no-new-privileges:false") == 0
        || strcmp (s, "no-new-privileges=false") == 0)
      continue;
    if (str_has_prefix (s, "seccomp=") || str_has_prefix (s, "seccomp:"))
      {
        const char *v = s + 8;
        if (strcmp (v, "unconfined") == 0)
          continue;
        /* the CLI sends the profile file's content */
        json_error_t jerr;
        _cleanup_json_ json_t *p = json_loads (v, 0, &jerr);
        if (p == NULL || !json_is_object (p))
          return config_invalid (
              err, "HostConfig.SecurityOpt[%zu]: seccomp profile is not valid JSON: %s", i,
              p ? "not an object" : jerr.text);
        continue;
      }
    /* AppArmor and SELinux labels: not supported on this host, accepted
     * and ignored as dockerd does when the LSM is disabled */
    if (str_has_prefix (s, "apparmor=") || str_has_prefix (s, "apparmor:")
        || str_has_prefix (s, "label=") || str_has_prefix (s, "label:"))
      continue;
    return config_invalid (err, "HostConfig.SecurityOpt[%zu]: invalid --security-opt: \"%s\"", i,
                           s);
  }
  return 0;
}

static const char *const ulimit_names[] = {
  "core",  "cpu", "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice", "nofile",
  "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",   "as",       NULL,
};

static int
validate_ulimits (json_t *hc, struct berth_error **err)
{
  json_t *ul = json_object_get (hc, "Ulimits");
  size_t i;
  json_t *u;
  json_array_foreach (ul, i, u)
  {
    if (!json_is_object (u))
      return config_invalid (err, "HostConfig.Ulimits[%zu]: must be an object", i);
    json_t *name = json_object_get (u, "Name");
    json_t *soft = json_object_get (u, "Soft");
    json_t *hard = json_object_get (u, "Hard");
    if (!json_is_string (name))
      return config_invalid (err, "HostConfig.Ulimits[%zu].Name: must be a string", i);
    if (!strv_contains ((char *const *)ulimit_names, json_string_value (name)))
      return config_invalid (err, "HostConfig.Ulimits[%zu].Name: invalid ulimit type: %s", i,
                             json_string_value (name));
    if (!is_integral (soft) || !is_integral (hard))
      return config_invalid (err, "HostConfig.Ulimits[%zu]: Soft and Hard must be integers", i);
    if ((json_int_t)json_number_value (soft) > (json_int_t)json_number_value (hard)
        && (json_int_t)json_number_value (hard) >= 0)
      return config_invalid (err,
                             "HostConfig.Ulimits[%zu]: ulimit soft limit must be less than or "
                             "equal to hard limit: %lld > %lld",
                             i, (long long)json_number_value (soft),
                             (long long)json_number_value (hard));
  }
  return 0;
}

static int
validate_devices (json_t *hc, struct berth_error **err)
{
  json_t *devs = json_object_get (hc, "Devices");
  size_t i;
  json_t *d;
  json_array_foreach (devs, i, d)
  {
    if (!json_is_object (d))
      return config_invalid (err, "HostConfig.Devices[%zu]: must be an object", i);
    const char *host = str_field (d, "PathOnHost");
    const char *cont = str_field (d, "PathInContainer");
    const char *perm = str_field (d, "CgroupPermissions");
    if (host[0] != '/')
      return config_invalid (err, "HostConfig.Devices[%zu].PathOnHost: must be an absolute path",
                             i);
    if (*cont != '\0' && cont[0] != '/')
      return config_invalid (
          err, "HostConfig.Devices[%zu].PathInContainer: must be an absolute path", i);
    for (const char *p = perm; *p; p++)
      if (*p != 'r' && *p != 'w' && *p != 'm')
        return config_invalid (
            err, "HostConfig.Devices[%zu].CgroupPermissions: invalid permissions \"%s\"", i, perm);
  }
  return 0;
}

static bool
cpuset_is_valid (const char *s)
{
  if (*s == '\0')
    return true;
  _cleanup_strv_ char **parts = strv_split (s, ',');
  for (char **p = parts; *p; p++)
    if (!port_range_is_valid (*p, true) && !is_decimal (*p))
      return false;
  return true;
}

static bool
sysctl_is_namespaced (const char *key, const char *network_mode)
{
  static const char *const exact[]
      = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem", "kernel.shmall",
          "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", NULL };
  if (strv_contains ((char *const *)exact, key) || str_has_prefix (key, "fs.mqueue."))
    return true;
  /* net.* lives in the network namespace, which host mode shares */
  return str_has_prefix (key, "net.") && strcmp (network_mode, "host") != 0;
}

static int
validate_log_config (json_t *hc, struct berth_error **err)
{
  json_t *lc = json_object_get (hc, "LogConfig");
  if (lc == NULL || json_is_null (lc))
    {
      lc = json_pack ("{s:s,s:{}}", "Type", "json-file", "Config");
      json_object_set_new (hc, "LogConfig", lc);
    }
  json_t *type = json_object_get (lc, "Type");
  json_t *cfg = json_object_get (lc, "Config");
  if (type && !json_is_null (type) && !json_is_string (type))
    return config_invalid (err, "HostConfig.LogConfig.Type: must be a string");
  if (cfg && !json_is_null (cfg) && !is_strmap (cfg))
    return config_invalid (err, "HostConfig.LogConfig.Config: must be an object of strings");
  _cleanup_free_ char *t = xstrdup (json_is_string (type) ? json_string_value (type) : "");
  if (*t == '\0')
    {
      free (t);
      t = xstrdup ("json-file");
    }
  /* t is a copy: the old Type string goes away here */
  json_object_set_new (lc, "Type", json_string (t));
  if (cfg == NULL || json_is_null (cfg))
    json_object_set_new (lc, "Config", cfg = json_object ());

  static const char *const json_file_opts[]
      = { "max-size", "max-file", "labels", "labels-regex", "env", "env-regex",
          "compress", "tag",      NULL };
  static const char *const syslog_opts[] = { "syslog-address",
                                             "syslog-facility",
                                             "syslog-tls-ca-cert",
                                             "syslog-tls-cert",
                                             "syslog-tls-key",
                                             "syslog-tls-skip-verify",
                                             "tag",
                                             "syslog-format",
                                             "env",
                                             "env-regex",
                                             "labels",
                                             "labels-regex",
                                             NULL };
  const char *const *allowed;
  if (strcmp (t, "json-file") == 0)
    allowed = json_file_opts;
  else if (strcmp (t, "syslog") == 0)
    allowed = syslog_opts;
  else if (strcmp (t, "none") == 0)
    allowed = (const char *const[]){ NULL };
  else
    return config_invalid (
        err, "HostConfig.LogConfig.Type: logger: no log driver named '%s' is registered", t);

  const char *k;
  json_t *v;
  json_object_foreach (cfg, k, v)
  {
    if (!strv_contains ((char *const *)allowed, k))
      return config_invalid (
          err, "HostConfig.LogConfig.Config: unknown log opt '%s' for %s log driver", k, t);
    const char *s = json_string_value (v);
    if (strcmp (k, "max-size") == 0)
      {
        int64_t b;
        if (size_parse_bytes (s, &b) < 0 && strcmp (s, "-1") != 0)
          return config_invalid (
              err, "HostConfig.LogConfig.Config[\"max-size\"]: invalid size: '%s'", s);
      }
    if (strcmp (k, "max-file") == 0)
      {
        if (!is_decimal (s) || strtol (s, NULL, 10) < 1)
          return config_invalid (
              err, "HostConfig.LogConfig.Config[\"max-file\"]: max-file cannot be less than 1");
        if (json_object_get (cfg, "max-size") == NULL && strtol (s, NULL, 10) > 1)
          return config_invalid (
              err,
              "HostConfig.LogConfig.Config[\"max-file\"]: max-file can only be used with max-size");
      }
    if (strcmp (k, "syslog-address") == 0 && !str_has_prefix (s, "udp://")
        && !str_has_prefix (s, "tcp://") && !str_has_prefix (s, "unix://")
        && !str_has_prefix (s, "unixgram://"))
      return config_invalid (
          err, "HostConfig.LogConfig.Config[\"syslog-address\"]: unsupported scheme: '%s'", s);
  }
  return 0;
}

static int
validate_resources (json_t *hc, struct berth_error **err)
{
  json_int_t memory = int_field (hc, "Memory");
  json_int_t swap = int_field (hc, "MemorySwap");
  if (memory < 0)
    return config_invalid (err, "HostConfig.Memory: must not be negative");
  if (memory > 0 && memory < 6 * 1024 * 1024)
    return config_invalid (err, "HostConfig.Memory: Minimum memory limit allowed is 6MB");
  if (swap > 0 && memory == 0)
    return config_invalid (err, "HostConfig.MemorySwap: You should always set the Memory limit "
                                "when using Memoryswap limit, see usage");
  if (swap > 0 && swap < memory)
    return config_invalid (err, "HostConfig.MemorySwap: Minimum memoryswap limit should be larger "
                                "than memory limit, see usage");
  if (swap < -1)
    return config_invalid (err, "HostConfig.MemorySwap: must be -1 (unlimited) or a size in bytes");
  json_int_t res = int_field (hc, "MemoryReservation");
  if (res < 0 || (memory > 0 && res > memory))
    return config_invalid (err, "HostConfig.MemoryReservation: Minimum memory limit can not be "
                                "less than memory reservation limit, see usage");
  json_t *swappiness = json_object_get (hc, "MemorySwappiness");
  if (json_is_integer (swappiness) && json_integer_value (swappiness) != -1
      && (json_integer_value (swappiness) < 0 || json_integer_value (swappiness) > 100))
    return config_invalid (
        err,
        "HostConfig.MemorySwappiness: Invalid value: %lld, valid memory swappiness range is 0-100",
        (long long)json_integer_value (swappiness));

  json_int_t nano = int_field (hc, "NanoCpus");
  json_int_t period = int_field (hc, "CpuPeriod");
  json_int_t quota = int_field (hc, "CpuQuota");
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  if (nano < 0)
    return config_invalid (err, "HostConfig.NanoCpus: must not be negative");
  if (nano > 0 && (period > 0 || quota > 0))
    return config_invalid (
        err,
        "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano > 0 && (nano < 10000000 || nano > (json_int_t)ncpu * 1000000000LL))
    return config_invalid (err,
                           "HostConfig.NanoCpus: Range of CPUs is from 0.01 to %ld.00, as there "
                           "are only %ld CPUs available",
                           ncpu, ncpu);
  if (period != 0 && (period < 1000 || period > 1000000))
    return config_invalid (err, "HostConfig.CpuPeriod: CPU cfs period can not be less than 1ms "
                                "(i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (quota > 0 && quota < 1000)
    return config_invalid (
        err, "HostConfig.CpuQuota: CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (int_field (hc, "CpuShares") < 0)
    return config_invalid (err, "HostConfig.CpuShares: must not be negative");
  if (!cpuset_is_valid (str_field (hc, "CpusetCpus")))
    return config_invalid (err, "HostConfig.CpusetCpus: Invalid value %s for cpuset cpus",
                           str_field (hc, "CpusetCpus"));
  if (!cpuset_is_valid (str_field (hc, "CpusetMems")))
    return config_invalid (err, "HostConfig.CpusetMems: Invalid value %s for cpuset mems",
                           str_field (hc, "CpusetMems"));
  json_int_t oom = int_field (hc, "OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return config_invalid (
        err, "HostConfig.OomScoreAdj: Invalid value %lld, range for oom score adj is [-1000, 1000]",
        (long long)oom);
  if (int_field (hc, "ShmSize") < 0)
    return config_invalid (err, "HostConfig.ShmSize: SHM size can not be less than 0");
  json_int_t weight = int_field (hc, "BlkioWeight");
  if (weight != 0 && (weight < 10 || weight > 1000))
    return config_invalid (err, "HostConfig.BlkioWeight: Range of blkio weight is from 10 to 1000");
  return 0;
}

/* berthd runs every container with its own runtime: the default name is
 * stored when none is given (dockerd stores its default too), any other
 * name is refused with dockerd's message. */
static int
validate_runtime (json_t *hc, struct berth_error **err)
{
  const char *name = str_field (hc, "Runtime");
  if (*name == '\0')
    json_object_set_new (hc, "Runtime", json_string (CONTAINER_RUNTIME_NAME));
  else if (strcmp (name, CONTAINER_RUNTIME_NAME) != 0)
    return config_invalid (err, "unknown or invalid runtime name: %s", name);
  return 0;
}

static int
validate_network_mode (json_t *hc, struct berth_error **err)
{
  const char *mode = str_field (hc, "NetworkMode");
  if (*mode == '\0')
    json_object_set_new (hc, "NetworkMode", json_string ("default"));
  else if (str_has_prefix (mode, "container:") && mode[10] == '\0')
    return config_invalid (err,
                           "HostConfig.NetworkMode: invalid container format container:<name|id>");
  const char *nm = str_field (hc, "NetworkMode");
  json_t *sysctls = json_object_get (hc, "Sysctls");
  const char *k;
  json_t *v;
  json_object_foreach (sysctls, k, v) if (!sysctl_is_namespaced (k, nm)) return config_invalid (
      err, "HostConfig.Sysctls[\"%s\"]: sysctl '%s' is not allowed%s", k, k,
      strcmp (nm, "host") == 0 && str_has_prefix (k, "net.") ? " in host network mode" : "");
  for (const char *const *f
       = (const char *const[]){ "IpcMode", "PidMode", "UTSMode", "CgroupnsMode", NULL };
       *f; f++)
    {
      const char *m = str_field (hc, *f);
      bool ok = *m == '\0' || strcmp (m, "host") == 0 || strcmp (m, "private") == 0
                || strcmp (m, "shareable") == 0
                || (str_has_prefix (m, "container:") && m[10] != '\0');
      if (strcmp (*f, "IpcMode") == 0)
        {
          if (!ok && strcmp (m, "none") != 0)
            return config_invalid (err, "Invalid IPC mode: %s", m); /* dockerd's words */
          continue;
        }
      if (strcmp (*f, "CgroupnsMode") == 0)
        ok = *m == '\0' || strcmp (m, "host") == 0 || strcmp (m, "private") == 0;
      if (strcmp (*f, "UTSMode") == 0)
        ok = *m == '\0' || strcmp (m, "host") == 0;
      if (!ok)
        return config_invalid (err, "HostConfig.%s: invalid %s: %s", *f, *f, m);
    }
  return 0;
}

void
container_host_config_defaults (json_t *hc)
{
  container_system_paths_default (hc);
  /* the sizes and modes the OCI config applies for "unset" (dockerd's
   * adaptContainerSettings stores its defaults the same way) */
  if (int_field (hc, "ShmSize") <= 0)
    json_object_set_new (hc, "ShmSize", json_integer (64 * 1024 * 1024));
  json_int_t memory = int_field (hc, "Memory");
  if (memory > 0 && int_field (hc, "MemorySwap") == 0)
    json_object_set_new (hc, "MemorySwap", json_integer (2 * memory));
  if (*str_field (hc, "CgroupnsMode") == '\0')
    json_object_set_new (hc, "CgroupnsMode", json_string ("private"));
  /* dockerd's default-ipc-mode */
  if (*str_field (hc, "IpcMode") == '\0')
    json_object_set_new (hc, "IpcMode", json_string ("private"));
}

int
container_host_config_validate (json_t *hc, struct berth_error **err)
{
  if (check_types (hc, "HostConfig", host_config_fields,
                   sizeof host_config_fields / sizeof host_config_fields[0], err)
      < 0)
    return -1;
  if (validate_port_bindings (hc, err) < 0 || validate_binds (hc, err) < 0
      || validate_mounts (hc, err) < 0 || validate_tmpfs (hc, err) < 0
      || validate_restart_policy (hc, err) < 0 || validate_caps (hc, "CapAdd", err) < 0
      || validate_caps (hc, "CapDrop", err) < 0 || validate_security_opt (hc, err) < 0
      || validate_ulimits (hc, err) < 0 || validate_devices (hc, err) < 0
      || validate_log_config (hc, err) < 0 || validate_resources (hc, err) < 0
      || validate_network_mode (hc, err) < 0 || validate_runtime (hc, err) < 0)
    return -1;
  return 0;
}
