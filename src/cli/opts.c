/* berth cli: the value parsers behind run/create flags, with the docker
 * CLI's rules and error messages: env and env files, -p port specs, -v and
 * --mount, --ulimit, --device, --restart, --tmpfs, --filter, --detach-keys,
 * key=value lists, signals, --cpus, image references. */
#include "cli/cli-internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#define inval(err, fmt, a) berth_error_set_kind (err, BERTH_E_INVALID, 0, fmt, a)

/* ---------------------------------------------------------------- env -- */

char *
parse_env_opt (const char *s)
{
  if (strchr (s, '=') != NULL)
    return xstrdup (s);
  const char *v = getenv (s);
  if (v)
    return xasprintf ("%s=%s", s, v);
  return xstrdup (s);
}

int
parse_env_file (const char *path, bool from_env, char ***out, struct berth_error **err)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INVALID, errno,
                                 "open %s", path);
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0;
  while ((n = getline (&line, &cap, f)) >= 0)
    {
      lineno++;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      char *p = line;
      if (lineno == 1 && strncmp (p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* UTF-8 BOM */
      while (isspace ((unsigned char) *p))
        p++;
      if (*p == '\0' || *p == '#')
        continue;
      char *eq = strchr (p, '=');
      _cleanup_free_ char *name = eq ? strndup (p, (size_t) (eq - p)) : xstrdup (p);
      if (*name == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "poorly formatted environment: no variable name on line '%s'", p);
      for (char *c = name; *c; c++)
        if (isspace ((unsigned char) *c))
          {
            if (!eq)
              {
                /* "KEY   " alone: trailing blanks are trimmed */
                size_t l = strlen (name);
                while (l && isspace ((unsigned char) name[l - 1]))
                  name[--l] = '\0';
                if (strpbrk (name, " \t") == NULL)
                  break;
              }
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "poorly formatted environment: variable '%s' contains "
                                         "whitespaces",
                                         name);
          }
      if (eq)
        {
          _cleanup_free_ char *kv = xasprintf ("%s=%s", name, eq + 1);
          strv_append (out, kv);
        }
      else if (from_env)
        {
          const char *v = getenv (name);
          if (v)
            {
              _cleanup_free_ char *kv = xasprintf ("%s=%s", name, v);
              strv_append (out, kv);
            }
        }
      else
        strv_append (out, name);
    }
  if (*out == NULL)
    *out = calloc (1, sizeof (char *));
  return 0;
}

/* -------------------------------------------------------------- ports -- */

static int
parse_port_range (const char *s, unsigned *start, unsigned *end)
{
  if (*s == '\0')
    return -1;
  char *e = NULL;
  errno = 0;
  unsigned long a = strtoul (s, &e, 10);
  if (errno || e == s || a > 65535 || !isdigit ((unsigned char) *s))
    return -1;
  unsigned long b = a;
  if (*e == '-')
    {
      const char *s2 = e + 1;
      if (!isdigit ((unsigned char) *s2))
        return -1;
      b = strtoul (s2, &e, 10);
      if (b > 65535 || b < a)
        return -1;
    }
  if (*e != '\0')
    return -1;
  *start = (unsigned) a;
  *end = (unsigned) b;
  return 0;
}

static bool
valid_ip (const char *ip)
{
  unsigned char buf[16];
  return inet_pton (AF_INET, ip, buf) == 1 || inet_pton (AF_INET6, ip, buf) == 1;
}

static int
split_proto (const char *s, char **port, char **proto, struct berth_error **err)
{
  const char *slash = strchr (s, '/');
  *port = slash ? strndup (s, (size_t) (slash - s)) : xstrdup (s);
  *proto = xstrdup (slash ? slash + 1 : "tcp");
  for (char *c = *proto; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  if (**proto == '\0')
    **proto = 0, free (*proto), *proto = xstrdup ("tcp");
  if (strcmp (*proto, "tcp") != 0 && strcmp (*proto, "udp") != 0 && strcmp (*proto, "sctp") != 0)
    return inval (err, "invalid proto: %s", *proto);
  return 0;
}

int
parse_port_spec (const char *spec, json_t *exposed, json_t *bindings, struct berth_error **err)
{
  _cleanup_strv_ char **parts = strv_split (spec, ':');
  size_t n = strv_len (parts);
  _cleanup_free_ char *ip = NULL, *host = NULL, *cport_proto = NULL;
  cport_proto = xstrdup (parts[n - 1]);
  if (n == 1)
    ip = xstrdup (""), host = xstrdup ("");
  else if (n == 2)
    ip = xstrdup (""), host = xstrdup (parts[0]);
  else
    {
      /* [v6]:host:container, or a bare v6 address with its colons */
      char *saved = parts[n - 2];
      parts[n - 2] = NULL;
      ip = strv_join (parts, ":");
      parts[n - 2] = saved;
      host = xstrdup (parts[n - 2]);
    }
  size_t iplen = strlen (ip);
  if (iplen >= 2 && ip[0] == '[' && ip[iplen - 1] == ']')
    {
      memmove (ip, ip + 1, iplen - 2);
      ip[iplen - 2] = '\0';
    }
  if (*ip && !valid_ip (ip))
    return inval (err, "invalid IP address: %s", ip);
  _cleanup_free_ char *cport = NULL, *proto = NULL;
  if (split_proto (cport_proto, &cport, &proto, err) < 0)
    return -1;
  if (*cport == '\0')
    return inval (err, "no port specified: %s<empty>", spec);
  unsigned cs, ce, hs = 0, he = 0;
  if (parse_port_range (cport, &cs, &ce) < 0)
    return inval (err, "invalid containerPort: %s", cport);
  if (*host && parse_port_range (host, &hs, &he) < 0)
    return inval (err, "invalid hostPort: %s", host);
  if (*host && (he - hs) != (ce - cs) && ce != cs)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "invalid ranges specified for container and host Ports: %s and %s",
                                 cport, host);
  for (unsigned i = 0; i <= ce - cs; i++)
    {
      _cleanup_free_ char *key = xasprintf ("%u/%s", cs + i, proto);
      _cleanup_free_ char *hp = NULL;
      if (*host == '\0')
        hp = xstrdup ("");
      else if (cs == ce && hs != he)
        hp = xasprintf ("%u-%u", hs, he);
      else
        hp = xasprintf ("%u", hs + i);
      json_object_set_new (exposed, key, json_object ());
      json_t *list = json_object_get (bindings, key);
      if (list == NULL)
        {
          list = json_array ();
          json_object_set_new (bindings, key, list);
        }
      json_array_append_new (list, json_pack ("{s:s, s:s}", "HostIp", ip, "HostPort", hp));
    }
  return 0;
}

int
parse_expose (const char *spec, json_t *exposed, struct berth_error **err)
{
  _cleanup_free_ char *port = NULL, *proto = NULL;
  if (split_proto (spec, &port, &proto, err) < 0)
    return -1;
  unsigned s, e;
  if (parse_port_range (port, &s, &e) < 0)
    return inval (err, "invalid range format for --expose: %s", spec);
  for (unsigned p = s; p <= e; p++)
    {
      _cleanup_free_ char *key = xasprintf ("%u/%s", p, proto);
      json_object_set_new (exposed, key, json_object ());
    }
  return 0;
}

/* ------------------------------------------------------------ volumes -- */

static char *
absolutize (const char *src, const char *cwd)
{
  if (src[0] != '.')
    return xstrdup (src);
  if (strcmp (src, ".") == 0)
    return xstrdup (cwd);
  if (strncmp (src, "./", 2) == 0)
    return xasprintf ("%s/%s", cwd, src + 2);
  return xasprintf ("%s/%s", cwd, src);
}

int
parse_volume_spec (const char *spec, const char *cwd, json_t *binds, json_t *volumes,
                   struct berth_error **err)
{
  _cleanup_strv_ char **parts = strv_split (spec, ':');
  size_t n = strv_len (parts);
  for (size_t i = 0; i < n; i++)
    if (parts[i][0] == '\0')
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "invalid spec: %s: empty section between colons", spec);
  if (n > 3)
    return inval (err, "invalid spec: %s: too many colons", spec);
  if (n == 1)
    {
      json_object_set_new (volumes, spec, json_object ());
      return 0;
    }
  _cleanup_free_ char *src = absolutize (parts[0], cwd);
  char *saved = parts[0];
  parts[0] = src;
  _cleanup_free_ char *joined = strv_join (parts, ":");
  parts[0] = saved;
  json_array_append_new (binds, json_string (joined));
  return 0;
}

json_t *
parse_mount_spec (const char *spec, const char *cwd, struct berth_error **err)
{
  _cleanup_json_ json_t *m = json_object ();
  _cleanup_strv_ char **fields = strv_split (spec, ',');
  const char *type = "volume";
  _cleanup_free_ char *source = NULL, *target = NULL, *propagation = NULL;
  bool readonly = false, nocopy = false;
  _cleanup_json_ json_t *tmpfs_opts = json_object ();
  _cleanup_json_ json_t *vol_labels = json_object ();
  _cleanup_json_ json_t *vol_opts = json_object ();
  const char *vol_driver = NULL;
  for (size_t i = 0; fields[i]; i++)
    {
      char *f = fields[i];
      char *eq = strchr (f, '=');
      _cleanup_free_ char *key = eq ? strndup (f, (size_t) (eq - f)) : xstrdup (f);
      const char *val = eq ? eq + 1 : NULL;
      for (char *c = key; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
      bool is_bool_key = strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0
                         || strcmp (key, "volume-nocopy") == 0;
      if (!val && !is_bool_key)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "invalid field '%s' must be a key=value pair", f);
          return NULL;
        }
      bool bval = true;
      if (is_bool_key && val)
        {
          if (strcmp (val, "true") == 0 || strcmp (val, "1") == 0)
            bval = true;
          else if (strcmp (val, "false") == 0 || strcmp (val, "0") == 0)
            bval = false;
          else
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                    "invalid value for %s: %s", key, val);
              return NULL;
            }
        }
      if (strcmp (key, "type") == 0)
        {
          if (strcmp (val, "bind") && strcmp (val, "volume") && strcmp (val, "tmpfs")
              && strcmp (val, "npipe") && strcmp (val, "cluster"))
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid mount type: %s", val);
              return NULL;
            }
          type = val;
          json_object_set_new (m, "Type", json_string (val));
        }
      else if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
        free (source), source = xstrdup (val);
      else if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0
               || strcmp (key, "destination") == 0)
        free (target), target = xstrdup (val);
      else if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0)
        readonly = bval;
      else if (strcmp (key, "volume-nocopy") == 0)
        nocopy = bval;
      else if (strcmp (key, "bind-propagation") == 0)
        free (propagation), propagation = xstrdup (val);
      else if (strcmp (key, "consistency") == 0)
        json_object_set_new (m, "Consistency", json_string (val));
      else if (strcmp (key, "volume-driver") == 0)
        vol_driver = val;
      else if (strcmp (key, "volume-label") == 0 || strcmp (key, "volume-opt") == 0)
        {
          const char *e2 = strchr (val, '=');
          _cleanup_free_ char *k2 = e2 ? strndup (val, (size_t) (e2 - val)) : xstrdup (val);
          json_object_set_new (key[7] == 'l' ? vol_labels : vol_opts, k2,
                               json_string (e2 ? e2 + 1 : ""));
        }
      else if (strcmp (key, "tmpfs-size") == 0)
        {
          int64_t sz;
          if (parse_ram_bytes (val, &sz, err) < 0)
            return NULL;
          json_object_set_new (tmpfs_opts, "SizeBytes", json_integer (sz));
        }
      else if (strcmp (key, "tmpfs-mode") == 0)
        {
          char *e = NULL;
          long mode = strtol (val, &e, 8);
          if (*e)
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid value for %s: %s", key, val);
              return NULL;
            }
          json_object_set_new (tmpfs_opts, "Mode", json_integer (mode));
        }
      else
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "unexpected key '%s' in '%s'", key, f);
          return NULL;
        }
    }
  if (json_object_get (m, "Type") == NULL)
    json_object_set_new (m, "Type", json_string (type));
  type = json_string_value (json_object_get (m, "Type"));
  if (target == NULL || *target == '\0')
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "target is required");
      return NULL;
    }
  if (strcmp (type, "bind") == 0 && (source == NULL || *source == '\0'))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "source is required when specifying bind mount");
      return NULL;
    }
  if (source)
    {
      _cleanup_free_ char *abs = strcmp (type, "bind") == 0 ? absolutize (source, cwd) : xstrdup (source);
      json_object_set_new (m, "Source", json_string (abs));
    }
  json_object_set_new (m, "Target", json_string (target));
  if (readonly)
    json_object_set_new (m, "ReadOnly", json_true ());
  if (propagation)
    json_object_set_new (m, "BindOptions", json_pack ("{s:s}", "Propagation", propagation));
  if (nocopy || json_object_size (vol_labels) || json_object_size (vol_opts) || vol_driver)
    {
      json_t *vo = json_object ();
      if (nocopy)
        json_object_set_new (vo, "NoCopy", json_true ());
      if (json_object_size (vol_labels))
        json_object_set (vo, "Labels", vol_labels);
      if (vol_driver || json_object_size (vol_opts))
        json_object_set_new (vo, "DriverConfig",
                             json_pack ("{s:s, s:O}", "Name", vol_driver ? vol_driver : "",
                                        "Options", vol_opts));
      json_object_set_new (m, "VolumeOptions", vo);
    }
  if (json_object_size (tmpfs_opts))
    json_object_set (m, "TmpfsOptions", tmpfs_opts);
  return steal_pointer (&m);
}

/* ------------------------------------------------- ulimit, device, etc -- */

json_t *
parse_ulimit (const char *spec, struct berth_error **err)
{
  static const char *const names[] = { "core", "cpu", "data", "fsize", "locks", "memlock",
                                       "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
                                       "rttime", "sigpending", "stack", NULL };
  const char *eq = strchr (spec, '=');
  if (eq == NULL)
    {
      inval (err, "invalid ulimit argument: %s", spec);
      return NULL;
    }
  _cleanup_free_ char *name = strndup (spec, (size_t) (eq - spec));
  bool known = false;
  for (size_t i = 0; names[i]; i++)
    known = known || strcmp (names[i], name) == 0;
  if (!known)
    {
      inval (err, "invalid ulimit type: %s", name);
      return NULL;
    }
  const char *v = eq + 1;
  char *end = NULL;
  errno = 0;
  long long soft = strtoll (v, &end, 10);
  if (errno || end == v || (*end && *end != ':'))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid ulimit soft value %s: must be an integer", v);
      return NULL;
    }
  long long hard = soft;
  if (*end == ':')
    {
      const char *h = end + 1;
      hard = strtoll (h, &end, 10);
      if (end == h || *end)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "invalid ulimit hard value %s: must be an integer", h);
          return NULL;
        }
    }
  if (soft > hard)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                            soft, hard);
      return NULL;
    }
  return json_pack ("{s:s, s:I, s:I}", "Name", name, "Hard", (json_int_t) hard, "Soft",
                    (json_int_t) soft);
}

static bool
valid_device_mode (const char *m)
{
  if (*m == '\0' || strlen (m) > 3)
    return false;
  bool seen[3] = { false, false, false };
  for (const char *c = m; *c; c++)
    {
      const char *p = strchr ("rwm", *c);
      if (!p || !*c || seen[p - "rwm"])
        return false;
      seen[p - "rwm"] = true;
    }
  return true;
}

json_t *
parse_device (const char *spec, struct berth_error **err)
{
  _cleanup_strv_ char **parts = strv_split (spec, ':');
  size_t n = strv_len (parts);
  const char *src = NULL, *dst = NULL, *perm = "rwm";
  switch (n)
    {
    case 3:
      perm = parts[2];
      /* fallthrough */
    case 2:
      if (valid_device_mode (parts[1]))
        perm = parts[1];
      else
        dst = parts[1];
      /* fallthrough */
    case 1:
      src = parts[0];
      break;
    default:
      inval (err, "invalid device specification: %s", spec);
      return NULL;
    }
  if (!valid_device_mode (perm))
    {
      inval (err, "invalid device mode: %s", perm);
      return NULL;
    }
  if (dst == NULL)
    dst = src;
  if (src[0] != '/' || dst[0] != '/')
    {
      inval (err, "bad format for path: %s", src[0] != '/' ? src : dst);
      return NULL;
    }
  json_t *j = json_pack ("{s:s, s:s, s:s}", "PathOnHost", src, "PathInContainer", dst,
                         "CgroupPermissions", perm);
  /* json_pack refuses strings that are not UTF-8 (JSON cannot carry them). */
  if (j == NULL)
    inval (err, "invalid device specification: %s: not valid UTF-8", spec);
  return j;
}

json_t *
parse_restart_policy (const char *spec, struct berth_error **err)
{
  const char *colon = strchr (spec, ':');
  _cleanup_free_ char *name = colon ? strndup (spec, (size_t) (colon - spec)) : xstrdup (spec);
  long long count = 0;
  if (colon && *name == '\0')
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid restart policy format: no policy provided before colon");
      return NULL;
    }
  if (colon && colon[1])
    {
      char *end = NULL;
      count = strtoll (colon + 1, &end, 10);
      if (*end)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "invalid restart policy format: maximum retry count must be an "
                                "integer");
          return NULL;
        }
    }
  if (*name == '\0')
    name = (free (name), xstrdup ("no"));
  if (strcmp (name, "no") && strcmp (name, "always") && strcmp (name, "unless-stopped")
      && strcmp (name, "on-failure"))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid restart policy: unknown policy '%s'; use one of 'no', "
                            "'always', 'on-failure', or 'unless-stopped'",
                            name);
      return NULL;
    }
  if (count != 0 && strcmp (name, "on-failure") != 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid restart policy: maximum retry count can only be used with "
                            "'on-failure'");
      return NULL;
    }
  if (count < 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "invalid restart policy: maximum retry count cannot be negative");
      return NULL;
    }
  return json_pack ("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t) count);
}

int
parse_tmpfs (const char *spec, json_t *tmpfs, struct berth_error **err)
{
  const char *colon = strchr (spec, ':');
  _cleanup_free_ char *path = colon ? strndup (spec, (size_t) (colon - spec)) : xstrdup (spec);
  if (path[0] != '/')
    return inval (err, "invalid mount path for --tmpfs: %s (must be absolute)", path);
  json_object_set_new (tmpfs, path, json_string (colon ? colon + 1 : ""));
  return 0;
}

json_t *
parse_filters (char *const *specs, struct berth_error **err)
{
  _cleanup_json_ json_t *f = json_object ();
  for (size_t i = 0; specs && specs[i]; i++)
    {
      const char *eq = strchr (specs[i], '=');
      if (eq == NULL)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "bad format of filter (expected name=value)");
          return NULL;
        }
      _cleanup_free_ char *key = strndup (specs[i], (size_t) (eq - specs[i]));
      /* docker lower-cases and trims the key, keeps the value */
      for (char *c = key; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
      json_t *vals = json_object_get (f, key);
      if (vals == NULL)
        {
          vals = json_object ();
          json_object_set_new (f, key, vals);
        }
      json_object_set_new (vals, eq + 1, json_true ());
    }
  return steal_pointer (&f);
}

int
parse_detach_keys (const char *spec, unsigned char *out, size_t max, struct berth_error **err)
{
  _cleanup_strv_ char **keys = strv_split (spec, ',');
  size_t n = 0;
  for (size_t i = 0; keys[i]; i++)
    {
      const char *k = keys[i];
      int code = -1;
      if (strlen (k) == 1)
        code = (unsigned char) k[0];
      else if (strncasecmp (k, "ctrl-", 5) == 0 && strlen (k) == 6)
        {
          char c = (char) tolower ((unsigned char) k[5]);
          if (c >= 'a' && c <= 'z')
            code = c - 'a' + 1;
          else if (c == '@')
            code = 0;
          else if (c == '[')
            code = 27;
          else if (c == '\\')
            code = 28;
          else if (c == ']')
            code = 29;
          else if (c == '^')
            code = 30;
          else if (c == '_')
            code = 31;
        }
      if (code < 0)
        return inval (err, "Unknown character: '%s'", k);
      if (n >= max)
        return inval (err, "too many detach keys: %s", spec);
      out[n++] = (unsigned char) code;
    }
  return (int) n;
}

int
parse_kv_into (char *const *list, json_t *obj, bool allow_no_value, const char *what,
               struct berth_error **err)
{
  for (size_t i = 0; list && list[i]; i++)
    {
      const char *eq = strchr (list[i], '=');
      if (eq == NULL && !allow_no_value)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid %s format: %s", what,
                                     list[i]);
      _cleanup_free_ char *k = eq ? strndup (list[i], (size_t) (eq - list[i])) : xstrdup (list[i]);
      if (*k == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid %s format: %s", what,
                                     list[i]);
      json_object_set_new (obj, k, json_string (eq ? eq + 1 : ""));
    }
  return 0;
}

static const struct
{
  const char *name;
  int sig;
} signals[] = {
  { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS },     { "CHLD", SIGCHLD },
  { "CLD", SIGCHLD },  { "CONT", SIGCONT }, { "FPE", SIGFPE },     { "HUP", SIGHUP },
  { "ILL", SIGILL },   { "INT", SIGINT },   { "IO", SIGIO },       { "IOT", SIGIOT },
  { "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "POLL", SIGPOLL },   { "PROF", SIGPROF },
  { "PWR", SIGPWR },   { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV },   { "STKFLT", SIGSTKFLT },
  { "STOP", SIGSTOP }, { "SYS", SIGSYS },   { "TERM", SIGTERM },   { "TRAP", SIGTRAP },
  { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },   { "URG", SIGURG },
  { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
  { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int
parse_signal (const char *s)
{
  if (s == NULL || *s == '\0')
    return 0;
  if (isdigit ((unsigned char) *s))
    {
      char *e = NULL;
      long v = strtol (s, &e, 10);
      return (*e || v <= 0 || v > 64) ? 0 : (int) v;
    }
  const char *n = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp (signals[i].name, n) == 0)
      return signals[i].sig;
  if (strncasecmp (n, "RTMIN+", 6) == 0 || strncasecmp (n, "RTMAX-", 6) == 0)
    {
      /* atoi's overflow and SIGRTMIN + a huge offset were undefined
       * behaviour; an offset outside the real-time range names no signal. */
      char *e = NULL;
      errno = 0;
      long off = strtol (n + 6, &e, 10);
      if (e == n + 6 || *e || errno || off < 0 || off > SIGRTMAX - SIGRTMIN)
        return 0;
      return n[5] == '+' ? SIGRTMIN + (int) off : SIGRTMAX - (int) off;
    }
  return 0;
}

const char *
signal_name (int sig)
{
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].sig == sig)
      return signals[i].name;
  return NULL;
}

int
parse_nano_cpus (const char *s, int64_t *out, struct berth_error **err)
{
  char *end = NULL;
  double v = strtod (s, &end);
  if (end == s || *end || v < 0)
    return inval (err, "failed to parse %s as a rational number", s);
  /* NaN, infinities and values past int64 nanocpus: converting them is
   * undefined behaviour. */
  if (!(v * 1e9 + 0.5 < 9223372036854775807.0))
    return inval (err, "failed to parse %s as a rational number: out of range", s);
  *out = (int64_t) (v * 1e9 + 0.5);
  return 0;
}

int
cli_run_error_exit_code (const char *msg)
{
  if (msg == NULL)
    return 125;
  if (strstr (msg, "executable file not found") || strstr (msg, "no such file or directory")
      || strstr (msg, "system cannot find the file specified"))
    return 127;
  if (strstr (msg, "permission denied") || strstr (msg, "is a directory"))
    return 126;
  return 125;
}

/* ---------------------------------------------------------- references -- */

static bool
ref_char_ok (char c)
{
  return islower ((unsigned char) c) || isdigit ((unsigned char) c) || c == '.' || c == '_'
         || c == '-' || c == '/';
}

int
cli_parse_reference (const char *ref, char **repo, char **tag, char **digest,
                     struct berth_error **err)
{
  *repo = *tag = *digest = NULL;
  if (*ref == '\0')
    return inval (err, "invalid reference format%s", "");
  _cleanup_free_ char *s = xstrdup (ref);
  char *at = strchr (s, '@');
  if (at)
    {
      *at = '\0';
      if (!str_has_prefix (at + 1, "sha256:") || strlen (at + 1) != 71)
        return inval (err, "invalid reference format%s", "");
      *digest = xstrdup (at + 1);
    }
  /* a tag is after the last ':' that follows the last '/' */
  char *slash = strrchr (s, '/');
  char *colon = strrchr (slash ? slash : s, ':');
  if (colon)
    {
      *colon = '\0';
      const char *t = colon + 1;
      if (*t == '\0' || strlen (t) > 128)
        return inval (err, "invalid reference format%s", "");
      for (const char *c = t; *c; c++)
        if (!isalnum ((unsigned char) *c) && *c != '_' && *c != '.' && *c != '-')
          return inval (err, "invalid reference format%s", "");
      *tag = xstrdup (t);
    }
  /* domain: the first component when it has '.', ':' or is localhost */
  char *first_slash = strchr (s, '/');
  const char *path = s;
  _cleanup_free_ char *domain = NULL;
  if (first_slash)
    {
      _cleanup_free_ char *first = strndup (s, (size_t) (first_slash - s));
      if (strchr (first, '.') || strchr (first, ':') || strcmp (first, "localhost") == 0
          || strchr (first, ':'))
        {
          domain = steal_pointer (&first);
          path = first_slash + 1;
        }
    }
  if (*path == '\0')
    return inval (err, "invalid reference format%s", "");
  for (const char *c = path; *c; c++)
    if (!ref_char_ok (*c))
      {
        if (isupper ((unsigned char) *c))
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "invalid reference format: repository name (%s) must be "
                                       "lowercase",
                                       path);
        return inval (err, "invalid reference format%s", "");
      }
  if (domain == NULL || strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0)
    *repo = strchr (path, '/') ? xasprintf ("docker.io/%s", path)
                               : xasprintf ("docker.io/library/%s", path);
  else
    *repo = xasprintf ("%s/%s", domain, path);
  if (*tag == NULL && *digest == NULL)
    *tag = xstrdup ("latest");
  return 0;
}

char *
url_escape (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc (strlen (s) * 3 + 1);
  char *o = out;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (isalnum (*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
        *o++ = (char) *p;
      else
        {
          *o++ = '%';
          *o++ = hex[*p >> 4];
          *o++ = hex[*p & 15];
        }
    }
  *o = '\0';
  return out;
}
