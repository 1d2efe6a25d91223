/* Login (verify credentials against /v2/, through the token flow when the
 * registry asks for it, as `docker login` does before storing anything),
 * server name normalization, search (/v1/search), and the catalog and tag
 * listings. */
#include "registry/registry-internal.h"
#include "image/image.h"

#include <string.h>

char *
registry_server_normalize (const char *server, struct berth_error **err)
{
  const char *s = server ? server : "";
  if (str_has_prefix (s, "https://"))
    s += 8;
  else if (str_has_prefix (s, "http://"))
    s += 7;
  _cleanup_free_ char *host = xstrdup (s);
  char *slash = strchr (host, '/');
  if (slash)
    *slash = '\0';
  if (*host == '\0' || !strcmp (host, "docker.io") || !strcmp (host, "index.docker.io")
      || !strcmp (host, "registry-1.docker.io"))
    return xstrdup ("docker.io");
  /* Validate as a reference domain. */
  _cleanup_free_ char *probe = xasprintf ("%s/x", host);
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  if (image_ref_parse (probe, 0, &ref, NULL) < 0 || strcmp (ref->domain, host) != 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid registry server `%s`", server);
      return NULL;
    }
  return steal_pointer (&host);
}

int
registry_login (const char *server, const struct registry_auth *auth,
                const struct registry_options *opts, char **identity_token,
                struct berth_error **err)
{
  if (identity_token)
    *identity_token = NULL;
  _cleanup_free_ char *domain = registry_server_normalize (server, err);
  if (domain == NULL)
    return -1;
  struct registry_options o = opts ? *opts : (struct registry_options){ 0 };
  o.auth = auth;
  /* Login checks exactly the credentials given, never the stored ones. */
  struct registry_auth none = { .username = (char *)"", .password = (char *)"" };
  if (registry_auth_is_empty (auth))
    o.auth = &none;
  _cleanup_registry_client_ struct registry_client *c = registry_client_new (domain, &o, err);
  if (c == NULL)
    return berth_error_prefix (err, "login %s", domain);
  if (registry_auth_is_empty (auth))
    registry_auth_clear (&c->creds);
  c->want_refresh_token = true;
  if (registry_client_ping (c, err) < 0)
    return berth_error_prefix (err, "login %s", domain);
  if (!c->has_challenge)
    return 0; /* the registry wants no auth: docker says "Login Succeeded" */
  struct registry_request req = { .method = "GET", .url = "/v2/" };
  struct registry_response resp;
  if (registry_client_do (c, &req, &resp, err) < 0)
    return berth_error_prefix (err, "login %s", domain);
  long status = resp.status;
  registry_response_clear (&resp);
  if (status == 401 || status == 403)
    return berth_error_set_kind (err, BERTH_E_UNAUTHORIZED, 0,
                                 "login %s: unauthorized: incorrect username or password", domain);
  if (status != 200)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "login %s: GET /v2/: HTTP %ld", domain,
                                 status);
  if (identity_token && c->refresh_token)
    *identity_token = xstrdup (c->refresh_token);
  return 0;
}

/* ---------------------------------------------------------------- listing -- */

static char **
json_strings (json_t *arr, char **acc)
{
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
  {
    if (json_is_string (v))
      strv_append (&acc, json_string_value (v));
  }
  return acc;
}

static char **
list_paged (struct registry_client *c, const char *first_url, const char *scope, const char *key,
            struct berth_error **err)
{
  char **acc = calloc (1, sizeof *acc);
  if (acc == NULL)
    abort ();
  _cleanup_free_ char *url = xstrdup (first_url);
  for (int page = 0; url && page < 1000; page++)
    {
      struct registry_request req = { .method = "GET", .url = url, .scope = scope };
      struct registry_response resp;
      if (registry_client_do (c, &req, &resp, err) < 0)
        {
          strv_freep (&acc);
          return NULL;
        }
      if (resp.status != 200)
        {
          registry_error_from_response (&resp, err, url);
          registry_response_clear (&resp);
          strv_freep (&acc);
          return NULL;
        }
      json_error_t jerr;
      _cleanup_json_ json_t *j = json_loadb (resp.body ? resp.body : "", resp.body_len, 0, &jerr);
      acc = json_strings (json_object_get (j, key), acc);
      free (url);
      url = NULL;
      /* Link: </v2/_catalog?last=x&n=100>; rel="next" */
      if (resp.link && strstr (resp.link, "rel=\"next\""))
        {
          const char *lt = strchr (resp.link, '<'), *gt = lt ? strchr (lt, '>') : NULL;
          if (lt && gt)
            url = strndup (lt + 1, (size_t)(gt - lt - 1));
        }
      registry_response_clear (&resp);
    }
  return acc;
}

char **
registry_catalog (const char *server, const struct registry_options *opts, struct berth_error **err)
{
  _cleanup_free_ char *domain = registry_server_normalize (server, err);
  if (domain == NULL)
    return NULL;
  _cleanup_registry_client_ struct registry_client *c = registry_client_new (domain, opts, err);
  if (c == NULL)
    return NULL;
  char **r = list_paged (c, "/v2/_catalog?n=1000", "registry:catalog:*", "repositories", err);
  if (r == NULL)
    berth_error_prefix (err, "catalog %s", domain);
  return r;
}

char **
registry_tags_list (const char *repository_ref, const struct registry_options *opts,
                    struct berth_error **err)
{
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  if (image_ref_parse (repository_ref, 0, &ref, err) < 0)
    return NULL;
  _cleanup_registry_client_ struct registry_client *c
      = registry_client_new (ref->domain, opts, err);
  if (c == NULL)
    return NULL;
  _cleanup_free_ char *scope = registry_scope (ref->path, "pull");
  _cleanup_free_ char *url = xasprintf ("/v2/%s/tags/list", ref->path);
  char **r = list_paged (c, url, scope, "tags", err);
  if (r == NULL)
    berth_error_prefix (err, "tags of %s/%s", ref->domain, ref->path);
  return r;
}

/* ----------------------------------------------------------------- search -- */

json_t *
registry_search (const char *term, int limit, const struct registry_options *opts,
                 struct berth_error **err)
{
  if (term == NULL || *term == '\0')
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "search: empty term");
      return NULL;
    }
  /* docker's ParseSearchIndexInfo: a first component that looks like a
   * host names the index. */
  _cleanup_free_ char *index = NULL;
  const char *q = term;
  const char *slash = strchr (term, '/');
  if (slash)
    {
      _cleanup_free_ char *first = strndup (term, (size_t)(slash - term));
      if (strchr (first, '.') || strchr (first, ':') || !strcmp (first, "localhost"))
        {
          index = registry_server_normalize (first, err);
          if (index == NULL)
            return NULL;
          q = slash + 1;
        }
    }
  if (index == NULL)
    index = xstrdup ("docker.io");
  if (limit <= 0 || limit > 100)
    limit = 25;
  _cleanup_registry_client_ struct registry_client *c = registry_client_new (index, opts, err);
  if (c == NULL)
    return NULL;
  if (!strcmp (index, "docker.io"))
    {
      free (c->host);
      c->host = xstrdup ("index.docker.io");
    }
  char *e = curl_easy_escape (c->easy, q, 0);
  _cleanup_free_ char *path = xasprintf ("/v1/search?q=%s&n=%d", e, limit);
  curl_free (e);
  /* No /v2/ ping here: v1 search has no token flow; HTTPS first, HTTP for
   * insecure registries, as the ping would decide. */
  struct registry_response resp = { 0 };
  int r = -1;
  const char *schemes[] = { "https", c->is_insecure ? "http" : NULL };
  for (size_t i = 0; i < 2 && schemes[i]; i++)
    {
      free (c->scheme);
      c->scheme = xstrdup (schemes[i]);
      _cleanup_free_ char *url = registry_client_url (c, "%s", path);
      _cleanup_error_ struct berth_error *e1 = NULL;
      struct registry_request req
          = { .method = "GET", .url = url, .no_auth = true, .no_retry = true };
      registry_response_clear (&resp);
      r = registry_client_do (c, &req, &resp, &e1);
      if (r == 0)
        break;
      if (i == 1 || !c->is_insecure)
        {
          registry_error_move (err, &e1);
          return NULL;
        }
    }
  if (resp.status != 200)
    {
      _cleanup_free_ char *what = xasprintf ("search %s on %s", q, index);
      registry_error_from_response (&resp, err, what);
      registry_response_clear (&resp);
      return NULL;
    }
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (resp.body ? resp.body : "", resp.body_len, 0, &jerr);
  registry_response_clear (&resp);
  json_t *results = json_object_get (j, "results");
  if (!json_is_array (results))
    {
      berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "search %s on %s: no results array", q,
                            index);
      return NULL;
    }
  json_t *out = json_array ();
  size_t i;
  json_t *it;
  json_array_foreach (results, i, it)
  {
    if (!json_is_object (it) || !json_is_string (json_object_get (it, "name")))
      continue;
    json_array_append_new (
        out, json_pack ("{s:s,s:s,s:I,s:b,s:b}", "name",
                        json_string_value (json_object_get (it, "name")), "description",
                        json_is_string (json_object_get (it, "description"))
                            ? json_string_value (json_object_get (it, "description"))
                            : "",
                        "star_count", json_integer_value (json_object_get (it, "star_count")),
                        "is_official", json_is_true (json_object_get (it, "is_official")),
                        "is_automated", json_is_true (json_object_get (it, "is_automated"))));
  }
  return out;
}
