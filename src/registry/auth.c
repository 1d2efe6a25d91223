/* Registry authentication: WWW-Authenticate challenges (RFC 7235), HTTP
 * basic auth, and the Docker token flow (GET <realm>?service=&scope= with
 * basic credentials or anonymously, or the OAuth2 POST with a refresh
 * token), with tokens cached per scope until they expire. */
#include "registry/registry-internal.h"

#include <ctype.h>
#include <string.h>

void
registry_challenge_clear (struct registry_challenge *c)
{
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  free (c->error);
  memset (c, 0, sizeof *c);
}

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static bool
is_tchar (char c)
{
  return isalnum ((unsigned char)c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A token at p; returns its end. */
static const char *
scan_token (const char *p)
{
  while (*p && is_tchar (*p))
    p++;
  return p;
}

/* A quoted-string at p (p at the opening quote); *out unescaped. */
static const char *
scan_quoted (const char *p, char **out)
{
  size_t cap = strlen (p) + 1, n = 0;
  char *buf = malloc (cap);
  if (buf == NULL)
    abort ();
  p++;
  while (*p && *p != '"')
    {
      if (*p == '\\' && p[1])
        p++;
      buf[n++] = *p++;
    }
  buf[n] = '\0';
  if (*p != '"')
    {
      free (buf);
      return NULL;
    }
  *out = buf;
  return p + 1;
}

struct challenge_list
{
  struct registry_challenge items[8];
  size_t n;
};

int
registry_challenge_parse (const char *header, struct registry_challenge *out,
                          struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  struct challenge_list list = { 0 };
  const char *p = skip_ws (header ? header : "");
  struct registry_challenge *cur = NULL;
  while (*p)
    {
      p = skip_ws (p);
      if (*p == ',')
        {
          p++;
          continue;
        }
      const char *te = scan_token (p);
      if (te == p)
        goto bad;
      const char *after = skip_ws (te);
      if (*after == '=' && cur != NULL)
        {
          /* auth-param: name = token / quoted-string */
          _cleanup_free_ char *name = strndup (p, (size_t)(te - p));
          const char *v = skip_ws (after + 1);
          char *value = NULL;
          if (*v == '"')
            {
              v = scan_quoted (v, &value);
              if (v == NULL)
                goto bad;
            }
          else
            {
              const char *ve = scan_token (v);
              value = strndup (v, (size_t)(ve - v));
              v = ve;
            }
          char **slot = !strcasecmp (name, "realm")     ? &cur->realm
                        : !strcasecmp (name, "service") ? &cur->service
                        : !strcasecmp (name, "scope")   ? &cur->scope
                        : !strcasecmp (name, "error")   ? &cur->error
                                                        : NULL;
          if (slot && *slot == NULL)
            *slot = value;
          else
            free (value);
          p = skip_ws (v);
          if (*p && *p != ',')
            goto bad;
          continue;
        }
      /* A new challenge: scheme [token68 | params]. */
      if (list.n == sizeof list.items / sizeof list.items[0])
        break;
      cur = &list.items[list.n++];
      cur->scheme = strndup (p, (size_t)(te - p));
      for (char *s = cur->scheme; *s; s++)
        *s = (char)tolower ((unsigned char)*s);
      p = skip_ws (te);
    }
  if (list.n == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "WWW-Authenticate: no challenge in `%s`",
                                 header ? header : "");
  size_t pick = 0;
  for (size_t i = 0; i < list.n; i++)
    if (!strcmp (list.items[i].scheme, "bearer"))
      {
        pick = i;
        break;
      }
  *out = list.items[pick];
  memset (&list.items[pick], 0, sizeof list.items[pick]);
  for (size_t i = 0; i < list.n; i++)
    registry_challenge_clear (&list.items[i]);
  return 0;
bad:
  for (size_t i = 0; i < list.n; i++)
    registry_challenge_clear (&list.items[i]);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "WWW-Authenticate: malformed `%s`", header);
}

char *
registry_scope (const char *path, const char *actions)
{
  return xasprintf ("repository:%s:%s", path, actions);
}

/* ----------------------------------------------------------------- tokens -- */

static struct registry_token *
token_find (struct registry_client *c, const char *scope)
{
  uint64_t now = time_now_ns ();
  for (struct registry_token *t = c->tokens; t; t = t->next)
    if (!strcmp (t->scope, scope) && t->expires_ns > now)
      return t;
  return NULL;
}

void
registry_client_token_drop (struct registry_client *c, const char *scope_in)
{
  /* scope_in may be a cached token's own scope string: compare on a copy. */
  _cleanup_free_ char *scope = xstrdup (scope_in ? scope_in : "");
  for (struct registry_token **pp = &c->tokens; *pp;)
    {
      struct registry_token *t = *pp;
      if (!strcmp (t->scope, scope))
        {
          *pp = t->next;
          free (t->scope);
          free (t->token);
          free (t);
        }
      else
        pp = &t->next;
    }
}

static void
token_store (struct registry_client *c, const char *scope, const char *token, int64_t expires_in)
{
  registry_client_token_drop (c, scope);
  struct registry_token *t = calloc (1, sizeof *t);
  if (t == NULL)
    abort ();
  t->scope = xstrdup (scope);
  t->token = xstrdup (token);
  /* docker's minimum lifetime is 60 s; renew 10 s before the end. */
  if (expires_in < 60)
    expires_in = 60;
  t->expires_ns = time_now_ns () + (uint64_t)(expires_in - 10) * 1000000000ull;
  t->next = c->tokens;
  c->tokens = t;
}

static char *
url_escape (CURL *easy, const char *s)
{
  char *e = curl_easy_escape (easy, s, 0);
  char *r = xstrdup (e ? e : "");
  curl_free (e);
  return r;
}

/* Append "&scope=…" for every space separated scope. */
static char *
scope_params (CURL *easy, const char *scope)
{
  _cleanup_strv_ char **parts = strv_split (scope ? scope : "", ' ');
  char *acc = xstrdup ("");
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0')
        continue;
      _cleanup_free_ char *e = url_escape (easy, *p);
      char *n = xasprintf ("%s&scope=%s", acc, e);
      free (acc);
      acc = n;
    }
  return acc;
}

static int
token_parse_response (struct registry_client *c, const char *scope,
                      const struct registry_response *resp, char **token_out,
                      struct berth_error **err)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (resp->body ? resp->body : "", resp->body_len, 0, &jerr);
  if (!json_is_object (j))
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "token server %s: response is not JSON",
                                 c->challenge.realm);
  const char *token = json_string_value (json_object_get (j, "token"));
  if (token == NULL || *token == '\0')
    token = json_string_value (json_object_get (j, "access_token"));
  if (token == NULL || *token == '\0')
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "token server %s: no token in response",
                                 c->challenge.realm);
  const char *refresh = json_string_value (json_object_get (j, "refresh_token"));
  if (refresh && *refresh)
    {
      free (c->refresh_token);
      c->refresh_token = xstrdup (refresh);
    }
  json_int_t expires_in = json_integer_value (json_object_get (j, "expires_in"));
  token_store (c, scope, token, expires_in);
  *token_out = xstrdup (token);
  return 0;
}

static int
token_fetch (struct registry_client *c, const char *scope, char **token_out,
             struct berth_error **err)
{
  const char *realm = c->challenge.realm;
  if (realm == NULL || !(str_has_prefix (realm, "https://") || str_has_prefix (realm, "http://")))
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "registry %s: bearer challenge without a usable realm", c->domain);
  _cleanup_free_ char *service
      = url_escape (c->easy, c->challenge.service ? c->challenge.service : "");
  _cleanup_free_ char *scopes = scope_params (c->easy, scope);
  struct registry_response resp = { 0 };
  int r;
  /* OAuth2 with a refresh token (identitytoken), as docker does. */
  if (c->creds.identity_token)
    {
      _cleanup_free_ char *rt = url_escape (c->easy, c->creds.identity_token);
      /* In the form, docker sends the scopes as one space separated value. */
      _cleanup_free_ char *scope_value = url_escape (c->easy, scope ? scope : "");
      _cleanup_free_ char *form
          = xasprintf ("grant_type=refresh_token&refresh_token=%s&service=%s&client_id=berth%s%s",
                       rt, service, *scope_value ? "&scope=" : "", scope_value);
      char *const headers[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
      struct registry_request req = { .method = "POST",
                                      .url = realm,
                                      .headers = headers,
                                      .body = form,
                                      .body_len = strlen (form),
                                      .has_body = true,
                                      .no_auth = true };
      r = registry_client_do (c, &req, &resp, err);
      if (r == 0 && resp.status == 200)
        {
          r = token_parse_response (c, scope, &resp, token_out, err);
          registry_response_clear (&resp);
          return r;
        }
      registry_response_clear (&resp);
      if (r < 0)
        return berth_error_prefix (err, "token server %s", realm);
      /* Fall through to the GET flow with basic credentials. */
    }
  _cleanup_free_ char *url
      = xasprintf ("%s%cservice=%s%s%s", realm, strchr (realm, '?') ? '&' : '?', service, scopes,
                   c->want_refresh_token ? "&offline_token=true&client_id=berth" : "");
  _cleanup_free_ char *basic = NULL;
  char *headers[2] = { NULL, NULL };
  if (c->creds.username || c->creds.password)
    {
      _cleanup_free_ char *up = xasprintf ("%s:%s", c->creds.username ? c->creds.username : "",
                                           c->creds.password ? c->creds.password : "");
      _cleanup_free_ char *b64 = registry_base64_encode (up, strlen (up), false);
      basic = xasprintf ("Authorization: Basic %s", b64);
      headers[0] = basic;
    }
  struct registry_request req
      = { .method = "GET", .url = url, .headers = headers, .no_auth = true };
  if (registry_client_do (c, &req, &resp, err) < 0)
    return berth_error_prefix (err, "token server %s", realm);
  if (resp.status == 401 || resp.status == 403)
    {
      registry_response_clear (&resp);
      return berth_error_set_kind (
          err, BERTH_E_UNAUTHORIZED, 0,
          "get token from %s: unauthorized: incorrect username or password", realm);
    }
  if (resp.status != 200)
    {
      _cleanup_free_ char *text = registry_error_text (&resp);
      long status = resp.status;
      registry_response_clear (&resp);
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "get token from %s: HTTP %ld%s%s",
                                   realm, status, *text ? ": " : "", text);
    }
  r = token_parse_response (c, scope, &resp, token_out, err);
  registry_response_clear (&resp);
  return r;
}

int
registry_client_auth_header (struct registry_client *c, const char *scope, char **header,
                             struct berth_error **err)
{
  *header = NULL;
  if (!c->has_challenge)
    return 0;
  if (!strcmp (c->challenge.scheme, "basic"))
    {
      if (c->creds.username == NULL && c->creds.password == NULL)
        return 0;
      _cleanup_free_ char *up = xasprintf ("%s:%s", c->creds.username ? c->creds.username : "",
                                           c->creds.password ? c->creds.password : "");
      _cleanup_free_ char *b64 = registry_base64_encode (up, strlen (up), false);
      *header = xasprintf ("Authorization: Basic %s", b64);
      return 0;
    }
  if (strcmp (c->challenge.scheme, "bearer") != 0)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "registry %s: unsupported auth scheme `%s`", c->domain,
                                 c->challenge.scheme);
  if (c->creds.registry_token)
    {
      *header = xasprintf ("Authorization: Bearer %s", c->creds.registry_token);
      return 0;
    }
  const char *key = scope ? scope : "";
  struct registry_token *t = token_find (c, key);
  if (t)
    {
      *header = xasprintf ("Authorization: Bearer %s", t->token);
      return 0;
    }
  _cleanup_free_ char *token = NULL;
  if (token_fetch (c, key, &token, err) < 0)
    return -1;
  *header = xasprintf ("Authorization: Bearer %s", token);
  return 0;
}
