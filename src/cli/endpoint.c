/* berth cli: finding the daemon, in docker's order: -H, BERTH_HOST,
 * DOCKER_HOST, --context / BERTH_CONTEXT / the current context in
 * ~/.berth/config.json, then the default socket. Endpoints are unix://,
 * tcp:// (TLS from the flags or DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) and
 * ssh://. */
#include "cli/cli-internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/berth/berth.sock"

void
cli_endpoint_clear (struct cli_endpoint *ep)
{
  free (ep->host);
  free (ep->unix_path);
  free (ep->tcp_host);
  free (ep->ssh_target);
  free (ep->ca_path);
  free (ep->cert_path);
  free (ep->key_path);
  memset (ep, 0, sizeof *ep);
}

int
cli_endpoint_parse (const char *host, struct cli_endpoint *ep, struct berth_error **err)
{
  memset (ep, 0, sizeof *ep);
  ep->host = xstrdup (host);
  if (str_has_prefix (host, "unix://"))
    {
      ep->kind = CLI_EP_UNIX;
      ep->unix_path = xstrdup (host + 7);
      if (*ep->unix_path == '\0')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid bind address (%s): empty path", host);
      return 0;
    }
  if (host[0] == '/')
    {
      ep->kind = CLI_EP_UNIX;
      ep->unix_path = xstrdup (host);
      free (ep->host);
      ep->host = xasprintf ("unix://%s", host);
      return 0;
    }
  if (str_has_prefix (host, "tcp://") || str_has_prefix (host, "http://")
      || str_has_prefix (host, "https://"))
    {
      ep->kind = CLI_EP_TCP;
      const char *p = strstr (host, "://") + 3;
      if (str_has_prefix (host, "https://"))
        ep->tls = true;
      const char *end = p + strcspn (p, "/");
      _cleanup_free_ char *hostport = strndup (p, (size_t) (end - p));
      char *colon = NULL;
      if (hostport[0] == '[')
        {
          char *rb = strchr (hostport, ']');
          if (rb == NULL)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid bind address (%s)", host);
          colon = rb[1] == ':' ? rb + 1 : NULL;
          *rb = '\0';
          ep->tcp_host = xasprintf ("[%s]", hostport + 1);
        }
      else
        {
          colon = strrchr (hostport, ':');
          ep->tcp_host = colon ? strndup (hostport, (size_t) (colon - hostport)) : xstrdup (hostport);
        }
      if (*ep->tcp_host == '\0')
        {
          free (ep->tcp_host);
          ep->tcp_host = xstrdup ("127.0.0.1");
        }
      ep->tcp_port = ep->tls ? 2376 : 2375;
      if (colon && colon[1])
        {
          char *e = NULL;
          long port = strtol (colon + 1, &e, 10);
          if (*e || port <= 0 || port > 65535)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid bind address (%s): bad port", host);
          ep->tcp_port = (int) port;
        }
      return 0;
    }
  if (str_has_prefix (host, "ssh://"))
    {
      ep->kind = CLI_EP_SSH;
      const char *p = host + 6;
      const char *end = p + strcspn (p, "/");
      _cleanup_free_ char *target = strndup (p, (size_t) (end - p));
      char *at = strrchr (target, '@');
      char *colon = strrchr (at ? at : target, ':');
      if (colon)
        {
          ep->ssh_port = atoi (colon + 1);
          *colon = '\0';
        }
      if (*target == '\0' || (at && at[1] == '\0'))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid ssh host: %s", host);
      ep->ssh_target = xstrdup (target);
      return 0;
    }
  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                               "unable to parse docker host `%s`: unsupported protocol", host);
}

static void
apply_tls (const struct cli_globals *g, struct cli_endpoint *ep)
{
  const char *env_verify = getenv ("DOCKER_TLS_VERIFY");
  const char *cert_dir = getenv ("DOCKER_CERT_PATH");
  bool verify = g->tls_verify || (env_verify && *env_verify);
  if (ep->kind != CLI_EP_TCP)
    return;
  if (!(g->tls || verify || ep->tls))
    return;
  ep->tls = true;
  ep->tls_verify = ep->tls_verify || verify;
  _cleanup_free_ char *home_certs = NULL;
  if (cert_dir == NULL || *cert_dir == '\0')
    {
      const char *home = getenv ("HOME");
      home_certs = xasprintf ("%s/.docker", home ? home : "/root");
      cert_dir = home_certs;
    }
  if (ep->ca_path == NULL)
    ep->ca_path = g->tls_ca ? xstrdup (g->tls_ca) : xasprintf ("%s/ca.pem", cert_dir);
  if (ep->cert_path == NULL)
    ep->cert_path = g->tls_cert ? xstrdup (g->tls_cert) : xasprintf ("%s/cert.pem", cert_dir);
  if (ep->key_path == NULL)
    ep->key_path = g->tls_key ? xstrdup (g->tls_key) : xasprintf ("%s/key.pem", cert_dir);
  if (access (ep->cert_path, R_OK) != 0 || access (ep->key_path, R_OK) != 0)
    {
      /* only a CA: server verification without a client certificate */
      free (ep->cert_path);
      free (ep->key_path);
      ep->cert_path = ep->key_path = NULL;
    }
  if (!ep->tls_verify && access (ep->ca_path, R_OK) != 0)
    {
      free (ep->ca_path);
      ep->ca_path = NULL;
    }
}

/* The context's endpoint from ~/.berth/contexts/<name>.json. */
static int
context_endpoint (const struct cli_globals *g, const char *name, struct cli_endpoint *ep,
                  struct berth_error **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/contexts/%s.json", g->config_dir, name);
  _cleanup_json_ json_t *ctx = json_load_path (AT_FDCWD, path, err);
  if (ctx == NULL)
    {
      berth_error_free (*err);
      *err = NULL;
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "context \"%s\" does not exist", name);
    }
  const char *host = json_string_value (json_object_get (ctx, "Host"));
  if (host == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context \"%s\": no Host", name);
  if (cli_endpoint_parse (host, ep, err) < 0)
    return berth_error_prefix (err, "context \"%s\"", name);
  json_t *tls = json_object_get (ctx, "TLS");
  if (json_is_object (tls))
    {
      ep->tls = true;
      ep->tls_verify = !json_is_true (json_object_get (tls, "SkipVerify"));
      const char *ca = json_string_value (json_object_get (tls, "CA"));
      const char *cert = json_string_value (json_object_get (tls, "Cert"));
      const char *key = json_string_value (json_object_get (tls, "Key"));
      ep->ca_path = ca ? xstrdup (ca) : NULL;
      ep->cert_path = cert ? xstrdup (cert) : NULL;
      ep->key_path = key ? xstrdup (key) : NULL;
    }
  return 0;
}

char *
cli_current_context (const struct cli_globals *g)
{
  const char *env = getenv ("BERTH_CONTEXT");
  if (g->context)
    return xstrdup (g->context);
  if (env && *env)
    return xstrdup (env);
  _cleanup_free_ char *path = xasprintf ("%s/config.json", g->config_dir);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *cfg = json_load_path (AT_FDCWD, path, &err);
  const char *cur = cfg ? json_string_value (json_object_get (cfg, "currentContext")) : NULL;
  return xstrdup (cur && *cur ? cur : "default");
}

int
cli_endpoint_discover (const struct cli_globals *g, struct cli_endpoint *ep,
                       struct berth_error **err)
{
  memset (ep, 0, sizeof *ep);
  const char *host = g->host;
  if (host == NULL && g->context == NULL)
    {
      host = getenv ("BERTH_HOST");
      if (host == NULL || *host == '\0')
        host = getenv ("DOCKER_HOST");
      if (host && *host == '\0')
        host = NULL;
    }
  if (host == NULL)
    {
      _cleanup_free_ char *ctx = cli_current_context (g);
      if (strcmp (ctx, "default") != 0)
        {
          if (context_endpoint (g, ctx, ep, err) < 0)
            return -1;
          apply_tls (g, ep);
          return 0;
        }
      host = "unix://" DEFAULT_SOCKET;
    }
  if (cli_endpoint_parse (host, ep, err) < 0)
    return -1;
  apply_tls (g, ep);
  return 0;
}
