/* berth cli: `context create|ls|use|rm|inspect`: named daemon endpoints
 * kept in ~/.berth/contexts/<name>.json (Name, Description, Host, TLS) and
 * the current one in ~/.berth/config.json, like docker's contexts. */
#include "cli/cli-internal.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const struct cli_opt cli_context_create_opts[] = {
  { "description", 0, CLI_OPT_STRING, "Description of the context", NULL },
  { "docker", 0, CLI_OPT_STRING, "set the docker endpoint (host=…,ca=…,cert=…,key=…,skip-tls-verify=…)", NULL },
  { "host", 0, CLI_OPT_STRING, "The daemon endpoint (unix://, tcp://, ssh://)", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_context_ls_opts[] = {
  { "format", 0, CLI_OPT_STRING, "Format output using a custom template", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Only show context names", NULL },
  { NULL, 0, 0, NULL, NULL },
};
const struct cli_opt cli_context_rm_opts[] = {
  { "force", 'f', CLI_OPT_BOOL, "Force the removal of a context in use", NULL },
  { NULL, 0, 0, NULL, NULL },
};

static bool
valid_context_name (const char *n)
{
  /* docker: ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$ */
  if (!isalnum ((unsigned char) n[0]) || n[1] == '\0')
    return false;
  for (const char *p = n + 1; *p; p++)
    if (!isalnum ((unsigned char) *p) && !strchr ("_.+-", *p))
      return false;
  return true;
}

static int
contexts_dir (struct cli_ctx *ctx, struct berth_error **err, int *dfd)
{
  _cleanup_free_ char *dir = xasprintf ("%s/contexts", ctx->g.config_dir);
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  *dfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (*dfd < 0)
    return berth_error_set (err, errno, "open %s", dir);
  return 0;
}

static json_t *
context_load (struct cli_ctx *ctx, const char *name)
{
  if (strcmp (name, "default") == 0)
    {
      const char *host = getenv ("BERTH_HOST");
      if (host == NULL || !*host)
        host = getenv ("DOCKER_HOST");
      return json_pack ("{s:s, s:s, s:s}", "Name", "default", "Description",
                        "Current DOCKER_HOST based configuration", "Host",
                        host && *host ? host : "unix:///run/berth/berth.sock");
    }
  _cleanup_free_ char *path = xasprintf ("%s/contexts/%s.json", ctx->g.config_dir, name);
  _cleanup_error_ struct berth_error *err = NULL;
  return json_load_path (AT_FDCWD, path, &err);
}

int
cmd_context_create (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("context create");
  const char *name = a.pos[0];
  if (!valid_context_name (name) || strcmp (name, "default") == 0)
    return fprintf (stderr, "context name %s is invalid, names are validated against regexp "
                            "\"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"\n", name), 1;
  _cleanup_json_ json_t *existing = context_load (ctx, name);
  if (existing)
    return fprintf (stderr, "context \"%s\" already exists\n", name), 1;
  _cleanup_json_ json_t *cfg = json_pack ("{s:s, s:s}", "Name", name, "Description",
                                          cli_args_str (&a, "description") ? cli_args_str (&a, "description") : "");
  const char *host = cli_args_str (&a, "host");
  json_t *tls = NULL;
  const char *spec = cli_args_str (&a, "docker");
  _cleanup_strv_ char **fields = spec ? strv_split (spec, ',') : NULL;
  for (size_t i = 0; fields && fields[i]; i++)
    {
      char *eq = strchr (fields[i], '=');
      if (eq == NULL)
        return fprintf (stderr, "unable to parse docker endpoint: invalid field \"%s\"\n", fields[i]), 1;
      *eq = '\0';
      const char *k = fields[i], *v = eq + 1;
      if (strcmp (k, "host") == 0)
        host = v;
      else if (strcmp (k, "ca") == 0 || strcmp (k, "cert") == 0 || strcmp (k, "key") == 0
               || strcmp (k, "skip-tls-verify") == 0)
        {
          if (tls == NULL)
            tls = json_object ();
          if (strcmp (k, "skip-tls-verify") == 0)
            json_object_set_new (tls, "SkipVerify", json_boolean (strcmp (v, "true") == 0));
          else
            json_object_set_new (tls, strcmp (k, "ca") == 0 ? "CA" : strcmp (k, "cert") == 0 ? "Cert" : "Key",
                                 json_string (v));
        }
      else
        {
          json_decref (tls);
          return fprintf (stderr, "unable to parse docker endpoint: unrecognized config key: %s\n", k), 1;
        }
    }
  if (host == NULL)
    host = "unix:///run/berth/berth.sock";
  struct cli_endpoint ep;
  if (cli_endpoint_parse (host, &ep, &err) < 0)
    {
      cli_endpoint_clear (&ep);
      json_decref (tls);
      return cli_fail (err, 1);
    }
  cli_endpoint_clear (&ep);
  json_object_set_new (cfg, "Host", json_string (host));
  if (tls)
    json_object_set_new (cfg, "TLS", tls);
  _cleanup_close_ int dfd = -1;
  if (contexts_dir (ctx, &err, &dfd) < 0)
    return cli_fail (err, 1);
  _cleanup_free_ char *file = xasprintf ("%s.json", name);
  if (json_save_atomic (dfd, file, cfg, &err) < 0)
    return cli_fail (err, 1);
  printf ("%s\n", name);
  fprintf (stderr, "Successfully created context \"%s\"\n", name);
  return 0;
}

static char **
context_names (struct cli_ctx *ctx)
{
  char **names = NULL;
  strv_append (&names, "default");
  _cleanup_free_ char *dir = xasprintf ("%s/contexts", ctx->g.config_dir);
  _cleanup_closedir_ DIR *d = opendir (dir);
  struct dirent *de;
  _cleanup_strv_ char **found = calloc (1, sizeof (char *));
  while (d && (de = readdir (d)))
    if (str_has_suffix (de->d_name, ".json"))
      {
        _cleanup_free_ char *n = strndup (de->d_name, strlen (de->d_name) - 5);
        strv_append (&found, n);
      }
  size_t n = strv_len (found);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp (found[i], found[j]) > 0)
        {
          char *t = found[i];
          found[i] = found[j];
          found[j] = t;
        }
  for (size_t i = 0; i < n; i++)
    strv_append (&names, found[i]);
  return names;
}

int
cmd_context_ls (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("context ls");
  _cleanup_free_ char *current = cli_current_context (&ctx->g);
  _cleanup_strv_ char **names = context_names (ctx);
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t i = 0; names[i]; i++)
    {
      _cleanup_json_ json_t *c = context_load (ctx, names[i]);
      if (c == NULL)
        continue;
      bool cur = strcmp (names[i], current) == 0;
      _cleanup_free_ char *shown = cur ? xasprintf ("%s *", names[i]) : xstrdup (names[i]);
      const char *desc = json_string_value (json_object_get (c, "Description"));
      const char *host = json_string_value (json_object_get (c, "Host"));
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:b, s:s, s:s, s:s}", "Name", shown,
                                              "Description", desc ? desc : "", "Current", cur,
                                              "DockerEndpoint", host ? host : "", "Error", "",
                                              "RawName", names[i]));
    }
  const char *format = cli_args_str (&a, "format");
  if (format && strcmp (format, "json") == 0)
    format = "{{json .}}";
  if (format == NULL)
    format = cli_args_bool (&a, "quiet") ? "{{.RawName}}"
                                         : "table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}";
  _cleanup_json_ json_t *headers = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "Name", "NAME", "Description",
                                              "DESCRIPTION", "DockerEndpoint", "DOCKER ENDPOINT", "Error",
                                              "ERROR", "Current", "CURRENT");
  if (cli_format_rows (stdout, format, headers, rows, &err) < 0)
    return cli_fail (err, 1);
  return 0;
}

int
cmd_context_use (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("context use");
  const char *name = a.pos[0];
  _cleanup_json_ json_t *c = context_load (ctx, name);
  if (c == NULL)
    return fprintf (stderr, "context \"%s\" does not exist\n", name), 1;
  if (fs_mkdir_p (ctx->g.config_dir, 0700, &err) < 0)
    return cli_fail (err, 1);
  _cleanup_close_ int dfd = open (ctx->g.config_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  _cleanup_free_ char *path = xasprintf ("%s/config.json", ctx->g.config_dir);
  _cleanup_error_ struct berth_error *ignore = NULL;
  _cleanup_json_ json_t *cfg = json_load_path (AT_FDCWD, path, &ignore);
  if (cfg == NULL)
    cfg = json_object ();
  if (strcmp (name, "default") == 0)
    json_object_del (cfg, "currentContext");
  else
    json_object_set_new (cfg, "currentContext", json_string (name));
  if (json_save_atomic (dfd, "config.json", cfg, &err) < 0)
    return cli_fail (err, 1);
  printf ("%s\n", name);
  fprintf (stderr, "Current context is now \"%s\"\n", name);
  const char *dh = getenv ("DOCKER_HOST");
  if ((dh && *dh) || (getenv ("BERTH_HOST") && *getenv ("BERTH_HOST")))
    fprintf (stderr, "Warning: BERTH_HOST or DOCKER_HOST environment variable overrides the active context.\n");
  return 0;
}

int
cmd_context_rm (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("context rm");
  _cleanup_free_ char *current = cli_current_context (&ctx->g);
  int rc = 0;
  for (size_t i = 0; i < a.n_pos; i++)
    {
      const char *name = a.pos[i];
      if (strcmp (name, "default") == 0)
        {
          fprintf (stderr, "default: context \"default\" cannot be removed\n");
          rc = 1;
          continue;
        }
      _cleanup_free_ char *path = xasprintf ("%s/contexts/%s.json", ctx->g.config_dir, name);
      if (!valid_context_name (name) || access (path, F_OK) != 0)
        {
          fprintf (stderr, "context \"%s\" does not exist\n", name);
          rc = 1;
          continue;
        }
      if (strcmp (name, current) == 0)
        {
          if (!cli_args_bool (&a, "force"))
            {
              fprintf (stderr, "failed to remove context %s: context \"%s\" is in use, set -f flag to force remove\n",
                       name, name);
              rc = 1;
              continue;
            }
          char *args[] = { "default", NULL };
          cmd_context_use (ctx, 1, args);
        }
      if (unlink (path) < 0)
        {
          fprintf (stderr, "failed to remove context %s: %s\n", name, strerror (errno));
          rc = 1;
          continue;
        }
      printf ("%s\n", name);
    }
  return rc;
}

int
cmd_context_inspect (struct cli_ctx *ctx, int argc, char **argv)
{
  CLI_PARSE ("context inspect");
  _cleanup_free_ char *current = cli_current_context (&ctx->g);
  _cleanup_json_ json_t *items = json_array ();
  int rc = 0;
  size_t n = a.n_pos ? a.n_pos : 1;
  for (size_t i = 0; i < n; i++)
    {
      const char *name = a.n_pos ? a.pos[i] : current;
      _cleanup_json_ json_t *c = context_load (ctx, name);
      if (c == NULL)
        {
          fprintf (stderr, "context \"%s\" does not exist\n", name);
          rc = 1;
          continue;
        }
      json_t *tls = json_object_get (c, "TLS");
      json_array_append_new (
          items, json_pack ("{s:s, s:{s:s}, s:{s:{s:s, s:b}}, s:o, s:{s:s}}", "Name", name, "Metadata",
                            "Description", json_string_value (json_object_get (c, "Description")) ?: "",
                            "Endpoints", "docker", "Host", json_string_value (json_object_get (c, "Host")) ?: "",
                            "SkipTLSVerify", json_is_true (json_object_get (tls, "SkipVerify")),
                            "TLSMaterial", tls ? json_incref (tls) : json_object (), "Storage", "MetadataPath",
                            ctx->g.config_dir));
    }
  if (cli_print_inspect (items, cli_args_str (&a, "format"), &err) < 0)
    return cli_fail (err, 1);
  return rc;
}
