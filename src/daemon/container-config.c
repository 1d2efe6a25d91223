/* POST /containers/create: the body's Config, HostConfig and
 * NetworkingConfig validated once at the edge (types, then values) and
 * normalized, so everything after trusts it. Errors name the field the way
 * a user reads it: HostConfig.PortBindings["80/tcp"][0].HostPort. */
#include "daemon/container-config-internal.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>

static const struct field config_fields[] = {
  { "Hostname", F_STR },         { "Domainname", F_STR },    { "User", F_STR },
  { "AttachStdin", F_BOOL },     { "AttachStdout", F_BOOL }, { "AttachStderr", F_BOOL },
  { "ExposedPorts", F_OBJ },     { "Tty", F_BOOL },          { "OpenStdin", F_BOOL },
  { "StdinOnce", F_BOOL },       { "Env", F_STRV },          { "Cmd", F_STRSLICE },
  { "Healthcheck", F_OBJ },      { "ArgsEscaped", F_BOOL },  { "Image", F_STR },
  { "Volumes", F_OBJ },          { "WorkingDir", F_STR },    { "Entrypoint", F_STRSLICE },
  { "NetworkDisabled", F_BOOL }, { "MacAddress", F_STR },    { "OnBuild", F_STRV },
  { "Labels", F_STRMAP },        { "StopSignal", F_STR },    { "StopTimeout", F_INT },
  { "Shell", F_STRV },
};

/* ------------------------------------------------------------- Config -- */

void
container_config_fill_zero (json_t *cfg)
{
  /* omitempty in dockerd's container.Config */
  static const char *const omitempty[] = { "ExposedPorts",    "Healthcheck", "ArgsEscaped",
                                           "NetworkDisabled", "MacAddress",  "StopSignal",
                                           "StopTimeout",     "Shell",       NULL };
  fill_zero_values (cfg, config_fields, sizeof config_fields / sizeof config_fields[0], omitempty);
}

static int
validate_healthcheck (json_t *cfg, struct berth_error **err)
{
  json_t *hc = json_object_get (cfg, "Healthcheck");
  if (hc == NULL || json_is_null (hc))
    return 0;
  json_t *test = json_object_get (hc, "Test");
  if (test && !json_is_null (test) && !is_strv (test))
    return config_invalid (err, "Config.Healthcheck.Test: must be an array of strings");
  if (is_strv (test) && json_array_size (test) > 0)
    {
      const char *kind = json_string_value (json_array_get (test, 0));
      if (strcmp (kind, "NONE") != 0 && strcmp (kind, "CMD") != 0
          && strcmp (kind, "CMD-SHELL") != 0)
        return config_invalid (
            err, "Config.Healthcheck.Test[0]: unknown test type \"%s\" (NONE, CMD or CMD-SHELL)",
            kind);
      if (strcmp (kind, "NONE") != 0 && json_array_size (test) < 2)
        return config_invalid (err, "Config.Healthcheck.Test: %s needs a command", kind);
    }
  static const char *const durations[]
      = { "Interval", "Timeout", "StartPeriod", "StartInterval", NULL };
  for (const char *const *d = durations; *d; d++)
    {
      json_t *v = json_object_get (hc, *d);
      if (v == NULL || json_is_null (v))
        continue;
      if (!is_integral (v))
        return config_invalid (err, "Config.Healthcheck.%s: must be an integer (nanoseconds)", *d);
      double ns = json_number_value (v);
      if (ns != 0 && ns < 1000000)
        return config_invalid (
            err, "Config.Healthcheck.%s: %s in Healthcheck cannot be less than 1ms", *d, *d);
    }
  json_t *retries = json_object_get (hc, "Retries");
  if (retries && !json_is_null (retries)
      && (!is_integral (retries) || json_number_value (retries) < 0))
    return config_invalid (err,
                           "Config.Healthcheck.Retries: Retries in Healthcheck cannot be negative");
  return 0;
}

static int
validate_config (json_t *cfg, struct berth_error **err)
{
  if (check_types (cfg, "Config", config_fields, sizeof config_fields / sizeof config_fields[0],
                   err)
      < 0)
    return -1;
  normalize_strslice (cfg, "Cmd");
  normalize_strslice (cfg, "Entrypoint");
  const char *image = str_field (cfg, "Image");
  if (*image == '\0')
    return config_invalid (err, "Config.Image: No image specified");
  json_t *env = json_object_get (cfg, "Env");
  size_t i;
  json_t *e;
  json_array_foreach (env, i, e)
  {
    const char *s = json_string_value (e);
    if (*s == '\0' || *s == '=')
      return config_invalid (err, "Config.Env[%zu]: invalid environment variable: \"%s\"", i, s);
  }
  const char *sig = str_field (cfg, "StopSignal");
  int signo;
  if (*sig != '\0' && signal_parse (sig, &signo) < 0)
    return config_invalid (err, "Config.StopSignal: Invalid signal: %s", sig);
  const char *wd = str_field (cfg, "WorkingDir");
  if (*wd != '\0' && wd[0] != '/')
    return config_invalid (
        err,
        "Config.WorkingDir: the working directory '%s' is invalid, it needs to be an absolute path",
        wd);
  json_t *ports = json_object_get (cfg, "ExposedPorts");
  const char *k;
  json_t *v;
  json_object_foreach (ports, k, v) if (!port_key_is_valid (k)) return config_invalid (
      err, "Config.ExposedPorts[\"%s\"]: invalid port specification", k);
  const char *hostname = str_field (cfg, "Hostname");
  if (strlen (hostname) > 63)
    return config_invalid (err, "Config.Hostname: hostname is longer than 63 characters");
  return validate_healthcheck (cfg, err);
}

int
container_create_body_parse (const json_t *body, json_t **config, json_t **host_config,
                             json_t **networking, struct berth_error **err)
{
  if (!json_is_object (body))
    return config_invalid (err, "config: the request body must be a JSON object");
  _cleanup_json_ json_t *cfg = json_deep_copy (body);
  json_t *hc_in = json_object_get (cfg, "HostConfig");
  json_t *net_in = json_object_get (cfg, "NetworkingConfig");
  if (hc_in && !json_is_null (hc_in) && !json_is_object (hc_in))
    return config_invalid (err, "HostConfig: must be an object");
  if (net_in && !json_is_null (net_in) && !json_is_object (net_in))
    return config_invalid (err, "NetworkingConfig: must be an object");
  _cleanup_json_ json_t *hc = json_is_object (hc_in) ? json_incref (hc_in) : json_object ();
  _cleanup_json_ json_t *net = json_is_object (net_in) ? json_incref (net_in) : json_object ();
  json_object_del (cfg, "HostConfig");
  json_object_del (cfg, "NetworkingConfig");

  if (validate_config (cfg, err) < 0 || container_host_config_validate (hc, err) < 0)
    return -1;
  container_host_config_defaults (hc);
  json_t *eps = json_object_get (net, "EndpointsConfig");
  if (eps && !json_is_null (eps) && !json_is_object (eps))
    return config_invalid (err, "NetworkingConfig.EndpointsConfig: must be an object");

  *config = steal_pointer (&cfg);
  *host_config = steal_pointer (&hc);
  *networking = steal_pointer (&net);
  return 0;
}

/* ------------------------------------------------------ image merge -- */

static json_t *
strv_or_null (const json_t *v)
{
  return json_is_array (v) ? json_deep_copy (v) : NULL;
}

static void
merge_env (json_t *cfg, const json_t *image_env)
{
  json_t *user = json_object_get (cfg, "Env");
  json_t *out = json_array ();
  size_t i;
  json_t *e;
  /* image first, then the user's: a user key replaces the image's in place */
  json_array_foreach (image_env, i, e) json_array_append (out, e);
  json_array_foreach (user, i, e)
  {
    const char *s = json_string_value (e);
    size_t klen = strcspn (s, "=");
    bool replaced = false;
    size_t j;
    json_t *o;
    json_array_foreach (out, j, o)
    {
      const char *os = json_string_value (o);
      if (strncmp (os, s, klen) == 0 && (os[klen] == '=' || os[klen] == '\0'))
        {
          json_array_set (out, j, e);
          replaced = true;
          break;
        }
    }
    if (!replaced)
      json_array_append (out, e);
  }
  json_object_set_new (cfg, "Env", out);
}

static void
merge_object (json_t *cfg, const json_t *image_cfg, const char *name)
{
  json_t *img = json_object_get (image_cfg, name);
  json_t *user = json_object_get (cfg, name);
  if (!json_is_object (img))
    return;
  json_t *out = json_deep_copy (img);
  if (json_is_object (user))
    json_object_update (out, user);
  json_object_set_new (cfg, name, out);
}

int
container_config_merge_image (json_t *cfg, const json_t *image_cfg, char **path, char ***args,
                              struct berth_error **err)
{
  if (!json_is_object (image_cfg))
    image_cfg = json_object ();
  else
    json_incref ((json_t *)image_cfg);
  _cleanup_json_ json_t *img_ref = (json_t *)image_cfg;

  merge_env (cfg, json_object_get (image_cfg, "Env"));

  /* Entrypoint/Cmd: a user Entrypoint replaces the image's and drops the
   * image's Cmd; a user Cmd replaces the image's Cmd. [""] resets. */
  json_t *u_ep = json_object_get (cfg, "Entrypoint");
  json_t *u_cmd = json_object_get (cfg, "Cmd");
  _cleanup_json_ json_t *ep = NULL;
  _cleanup_json_ json_t *cmd = NULL;
  if (json_is_array (u_ep))
    {
      ep = json_deep_copy (u_ep);
      cmd = strv_or_null (u_cmd);
      if (json_array_size (ep) == 1 && *json_string_value (json_array_get (ep, 0)) == '\0')
        json_array_clear (ep);
    }
  else
    {
      ep = strv_or_null (json_object_get (image_cfg, "Entrypoint"));
      cmd = json_is_array (u_cmd) ? json_deep_copy (u_cmd)
                                  : strv_or_null (json_object_get (image_cfg, "Cmd"));
    }
  json_object_set (cfg, "Entrypoint", ep ? ep : json_null ());
  json_object_set (cfg, "Cmd", cmd ? cmd : json_null ());

  _cleanup_strv_ char **argv = NULL;
  size_t i;
  json_t *e;
  json_array_foreach (ep, i, e) strv_append (&argv, json_string_value (e));
  json_array_foreach (cmd, i, e) strv_append (&argv, json_string_value (e));
  if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
    return config_invalid (err, "No command specified");

  static const char *const scalars[] = { "WorkingDir", "User", "StopSignal", NULL };
  for (const char *const *s = scalars; *s; s++)
    if (*str_field (cfg, *s) == '\0' && json_is_string (json_object_get (image_cfg, *s)))
      json_object_set (cfg, *s, json_object_get (image_cfg, *s));
  if (json_object_get (cfg, "Healthcheck") == NULL
      || json_is_null (json_object_get (cfg, "Healthcheck")))
    {
      json_t *h = json_object_get (image_cfg, "Healthcheck");
      if (json_is_object (h))
        json_object_set_new (cfg, "Healthcheck", json_deep_copy (h));
    }
  else if (json_is_object (json_object_get (image_cfg, "Healthcheck")))
    {
      /* a user healthcheck without Test (e.g. only --health-interval)
       * keeps the image's test */
      json_t *uh = json_object_get (cfg, "Healthcheck");
      json_t *ih = json_object_get (image_cfg, "Healthcheck");
      if (json_array_size (json_object_get (uh, "Test")) == 0)
        json_object_set (uh, "Test", json_object_get (ih, "Test"));
      static const char *const d[] = { "Interval", "Timeout", "StartPeriod", "Retries", NULL };
      for (const char *const *f = d; *f; f++)
        if (int_field (uh, *f) == 0 && json_object_get (ih, *f))
          json_object_set (uh, *f, json_object_get (ih, *f));
    }
  merge_object (cfg, image_cfg, "Labels");
  merge_object (cfg, image_cfg, "ExposedPorts");
  merge_object (cfg, image_cfg, "Volumes");
  if (!json_is_object (json_object_get (cfg, "Labels")))
    json_object_set_new (cfg, "Labels", json_object ());
  if (!json_is_array (json_object_get (cfg, "Env")))
    json_object_set_new (cfg, "Env", json_array ());

  *path = xstrdup (argv[0]);
  *args = strv_dup (argv + 1);
  return 0;
}
