/* The HTTP side of the registry client: one client per registry host with
 * its TLS material (system CAs plus certs.d like /etc/docker/certs.d), the
 * HTTPS-first scheme decision (plain HTTP only for insecure registries and
 * loopback), requests with auth and retries of transient failures, and the
 * distribution API's error bodies. */
#include "registry/registry-internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CERTS_DIR "/etc/berth/certs.d"
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define DEFAULT_MAX_BODY (4u << 20) /* docker's limit for manifests */

/* -------------------------------------------------------------- insecure -- */

/* docker.io names Docker Hub; its API lives on registry-1.docker.io. */
const char *
registry_endpoint_host (const char *domain)
{
  if (!strcmp (domain, "docker.io"))
    return "registry-1.docker.io";
  return domain;
}

static char *
host_without_port (const char *host)
{
  if (host[0] == '[')
    {
      const char *close = strchr (host, ']');
      return close ? strndup (host + 1, (size_t)(close - host - 1)) : xstrdup (host);
    }
  const char *colon = strchr (host, ':');
  if (colon && strchr (colon + 1, ':') == NULL)
    return strndup (host, (size_t)(colon - host));
  return xstrdup (host);
}

static bool
ip_in_cidr (const char *ip, const char *cidr)
{
  _cleanup_free_ char *net = xstrdup (cidr);
  char *slash = strchr (net, '/');
  if (slash == NULL)
    return false;
  *slash = '\0';
  int bits = atoi (slash + 1);
  unsigned char a[16], b[16];
  int fam = strchr (net, ':') ? AF_INET6 : AF_INET;
  size_t len = fam == AF_INET6 ? 16 : 4;
  if (inet_pton (fam, ip, a) != 1 || inet_pton (fam, net, b) != 1 || bits < 0
      || bits > (int)len * 8)
    return false;
  for (int i = 0; i < bits; i++)
    {
      int byte = i / 8, bit = 7 - i % 8;
      if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1))
        return false;
    }
  return true;
}

bool
registry_host_is_insecure (const char *host, char *const *insecure)
{
  _cleanup_free_ char *name = host_without_port (host);
  if (!strcmp (name, "localhost") || !strcmp (name, "::1") || ip_in_cidr (name, "127.0.0.0/8"))
    return true;
  for (char *const *p = insecure; p && *p; p++)
    {
      if (!strcmp (*p, host) || !strcmp (*p, name))
        return true;
      if (strchr (*p, '/') && ip_in_cidr (name, *p))
        return true;
    }
  return false;
}

/* ------------------------------------------------------------------- TLS -- */

static int
append_file (char **buf, size_t *len, int dirfd, const char *name, struct berth_error **err)
{
  _cleanup_free_ char *data = NULL;
  size_t n = 0;
  if (fs_read_file (dirfd, name, &data, &n, err) < 0)
    return -1;
  char *nb = realloc (*buf, *len + n + 2);
  if (nb == NULL)
    abort ();
  memcpy (nb + *len, data, n);
  *len += n;
  nb[(*len)++] = '\n';
  nb[*len] = '\0';
  *buf = nb;
  return 0;
}

/* <certs_dir>/<host>/: *.crt are extra CAs (added to the system pool),
 * client.cert + client.key (any *.cert with its *.key) the client pair. */
static int
client_load_tls (struct registry_client *c, struct berth_error **err)
{
  const char *base = c->opts && c->opts->certs_dir ? c->opts->certs_dir : DEFAULT_CERTS_DIR;
  _cleanup_free_ char *dir = xasprintf ("%s/%s", base, c->domain);
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (d == NULL)
    return 0;
  char *pem = NULL;
  size_t pem_len = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      if (str_has_suffix (de->d_name, ".crt"))
        {
          if (pem == NULL && access (SYSTEM_CA_BUNDLE, R_OK) == 0
              && append_file (&pem, &pem_len, AT_FDCWD, SYSTEM_CA_BUNDLE, err) < 0)
            goto fail;
          if (append_file (&pem, &pem_len, dirfd (d), de->d_name, err) < 0)
            goto fail;
        }
      else if (str_has_suffix (de->d_name, ".cert"))
        {
          size_t stem = strlen (de->d_name) - 5;
          _cleanup_free_ char *key = xasprintf ("%s/%.*s.key", dir, (int)stem, de->d_name);
          if (access (key, R_OK) < 0)
            {
              free (pem);
              return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                           "certs.d: missing key %s for certificate %s/%s", key,
                                           dir, de->d_name);
            }
          free (c->client_cert);
          free (c->client_key);
          c->client_cert = xasprintf ("%s/%s", dir, de->d_name);
          c->client_key = steal_pointer (&key);
        }
    }
  c->ca_pem = pem;
  c->ca_pem_len = pem_len;
  return 0;
fail:
  free (pem);
  return berth_error_prefix (err, "certs.d %s", dir);
}

/* ---------------------------------------------------------------- client -- */

static void
curl_init_once (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

struct registry_client *
registry_client_new (const char *domain, const struct registry_options *opts,
                     struct berth_error **err)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, curl_init_once);
  struct registry_client *c = calloc (1, sizeof *c);
  if (c == NULL)
    abort ();
  c->domain = xstrdup (domain);
  c->host = xstrdup (registry_endpoint_host (domain));
  c->opts = opts;
  c->is_insecure = registry_host_is_insecure (c->host, opts ? opts->insecure_registries : NULL);
  if (client_load_tls (c, err) < 0)
    {
      registry_client_free (c);
      return NULL;
    }
  /* Credentials: explicit ones win, else the docker config file. */
  if (opts && !registry_auth_is_empty (opts->auth))
    registry_auth_copy (&c->creds, opts->auth);
  else
    {
      /* A broken config.json must not stop anonymous pulls (docker's CLI
       * warns and goes on too); login/logout report it. */
      _cleanup_error_ struct berth_error *cerr = NULL;
      if (registry_credentials_get (opts ? opts->config_dir : NULL, domain, &c->creds, &cerr) < 0)
        berth_log (BERTH_LOG_WARNING, "registry %s: ignoring credentials: %s", domain, cerr->msg);
    }
  c->share = curl_share_init ();
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  c->easy = curl_easy_init ();
  if (c->easy == NULL || c->share == NULL)
    abort ();
  return c;
}

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

struct registry_client *
registry_client_clone (struct registry_client *src, struct berth_error **err)
{
  struct registry_client *c = registry_client_new (src->domain, src->opts, err);
  if (c == NULL)
    return NULL;
  registry_auth_clear (&c->creds);
  registry_auth_copy (&c->creds, &src->creds);
  c->scheme = dup_or_null (src->scheme);
  c->has_challenge = src->has_challenge;
  c->challenge.scheme = dup_or_null (src->challenge.scheme);
  c->challenge.realm = dup_or_null (src->challenge.realm);
  c->challenge.service = dup_or_null (src->challenge.service);
  c->challenge.scope = dup_or_null (src->challenge.scope);
  c->refresh_token = dup_or_null (src->refresh_token);
  for (struct registry_token *t = src->tokens; t; t = t->next)
    {
      struct registry_token *n = calloc (1, sizeof *n);
      if (n == NULL)
        abort ();
      n->scope = xstrdup (t->scope);
      n->token = xstrdup (t->token);
      n->expires_ns = t->expires_ns;
      n->next = c->tokens;
      c->tokens = n;
    }
  return c;
}

void
registry_client_free (struct registry_client *c)
{
  if (c == NULL)
    return;
  if (c->easy)
    curl_easy_cleanup (c->easy);
  if (c->share)
    curl_share_cleanup (c->share);
  while (c->tokens)
    {
      struct registry_token *t = c->tokens;
      c->tokens = t->next;
      free (t->scope);
      free (t->token);
      free (t);
    }
  registry_challenge_clear (&c->challenge);
  registry_auth_clear (&c->creds);
  free (c->refresh_token);
  free (c->ca_pem);
  free (c->client_cert);
  free (c->client_key);
  free (c->domain);
  free (c->host);
  free (c->scheme);
  free (c);
}

void
registry_client_setup_easy (struct registry_client *c, CURL *easy)
{
  curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (easy, CURLOPT_SHARE, c->share);
  curl_easy_setopt (easy, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
  curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
  /* A stalled transfer (under 1 byte/s for 60 s) is a transient failure. */
  curl_easy_setopt (easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (easy, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt (easy, CURLOPT_MAXREDIRS, 10L);
  if (c->ca_pem)
    {
      struct curl_blob blob
          = { .data = c->ca_pem, .len = c->ca_pem_len, .flags = CURL_BLOB_NOCOPY };
      curl_easy_setopt (easy, CURLOPT_CAINFO_BLOB, &blob);
    }
  if (c->client_cert)
    {
      curl_easy_setopt (easy, CURLOPT_SSLCERT, c->client_cert);
      curl_easy_setopt (easy, CURLOPT_SSLKEY, c->client_key);
    }
  /* docker talks to an insecure registry over HTTPS without verifying it
   * before falling back to HTTP. */
  long verify = c->is_insecure ? 0L : 1L;
  curl_easy_setopt (easy, CURLOPT_SSL_VERIFYPEER, verify);
  curl_easy_setopt (easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
}

char *
registry_client_url (struct registry_client *c, const char *path_fmt, ...)
{
  va_list ap;
  va_start (ap, path_fmt);
  _cleanup_free_ char *path = NULL;
  if (vasprintf (&path, path_fmt, ap) < 0)
    abort ();
  va_end (ap);
  return xasprintf ("%s://%s%s", c->scheme ? c->scheme : "https", c->host, path);
}

void
registry_response_clear (struct registry_response *r)
{
  free (r->body);
  free (r->content_type);
  free (r->content_digest);
  free (r->location);
  free (r->www_authenticate);
  free (r->range);
  free (r->link);
  memset (r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- perform -- */

struct body_sink
{
  char *buf;
  size_t len, cap, max;
  bool is_too_large;
};

static size_t
body_write (char *data, size_t size, size_t n, void *opaque)
{
  struct body_sink *s = opaque;
  size_t len = size * n;
  if (s->len + len > s->max)
    {
      s->is_too_large = true;
      return 0;
    }
  if (s->len + len + 1 > s->cap)
    {
      size_t cap = s->cap ? s->cap : 4096;
      while (cap < s->len + len + 1)
        cap *= 2;
      char *nb = realloc (s->buf, cap);
      if (nb == NULL)
        abort ();
      s->buf = nb;
      s->cap = cap;
    }
  memcpy (s->buf + s->len, data, len);
  s->len += len;
  s->buf[s->len] = '\0';
  return len;
}

static char *
header_value (CURL *easy, const char *name)
{
  struct curl_header *h = NULL;
  if (curl_easy_header (easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL)
    return NULL;
  return xstrdup (h->value);
}

static char *
resolve_location (const char *base, const char *loc)
{
  CURLU *u = curl_url ();
  char *out = NULL;
  if (curl_url_set (u, CURLUPART_URL, base, 0) == CURLUE_OK
      && curl_url_set (u, CURLUPART_URL, loc, 0) == CURLUE_OK)
    {
      char *s = NULL;
      if (curl_url_get (u, CURLUPART_URL, &s, 0) == CURLUE_OK)
        {
          out = xstrdup (s);
          curl_free (s);
        }
    }
  curl_url_cleanup (u);
  return out ? out : xstrdup (loc);
}

/* One HTTP exchange, no auth logic. Returns the curl code; *resp filled. */
static CURLcode
perform_once (struct registry_client *c, const struct registry_request *req, const char *url,
              const char *auth_header, struct registry_response *resp, char *errbuf)
{
  CURL *easy = c->easy;
  curl_easy_reset (easy);
  registry_client_setup_easy (c, easy);
  curl_easy_setopt (easy, CURLOPT_URL, url);
  curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, errbuf);
  errbuf[0] = '\0';
  struct curl_slist *hl = NULL;
  for (char *const *h = req->headers; h && *h; h++)
    hl = curl_slist_append (hl, *h);
  if (auth_header)
    hl = curl_slist_append (hl, auth_header);
  const char *method = req->method ? req->method : "GET";
  if (!strcmp (method, "HEAD"))
    curl_easy_setopt (easy, CURLOPT_NOBODY, 1L);
  else if (req->read_fn)
    {
      curl_easy_setopt (easy, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (easy, CURLOPT_READFUNCTION, req->read_fn);
      curl_easy_setopt (easy, CURLOPT_READDATA, req->read_opaque);
      curl_easy_setopt (easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->read_len);
      hl = curl_slist_append (hl, "Expect:");
      if (strcmp (method, "PUT") != 0)
        curl_easy_setopt (easy, CURLOPT_CUSTOMREQUEST, method);
    }
  else if (req->has_body || !strcmp (method, "POST") || !strcmp (method, "PUT")
           || !strcmp (method, "PATCH"))
    {
      curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
      curl_easy_setopt (easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
      hl = curl_slist_append (hl, "Expect:");
      if (strcmp (method, "POST") != 0)
        curl_easy_setopt (easy, CURLOPT_CUSTOMREQUEST, method);
    }
  else if (strcmp (method, "GET") != 0)
    curl_easy_setopt (easy, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (easy, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt (easy, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
  struct body_sink sink = { .max = req->max_body ? req->max_body : DEFAULT_MAX_BODY };
  curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, body_write);
  curl_easy_setopt (easy, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform (easy);
  curl_slist_free_all (hl);
  memset (resp, 0, sizeof *resp);
  if (sink.is_too_large)
    {
      free (sink.buf);
      snprintf (errbuf, CURL_ERROR_SIZE, "response larger than %zu bytes", sink.max);
      return CURLE_FILESIZE_EXCEEDED;
    }
  if (rc != CURLE_OK)
    {
      free (sink.buf);
      return rc;
    }
  curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &resp->status);
  resp->body = sink.buf;
  resp->body_len = sink.len;
  resp->content_type = header_value (easy, "Content-Type");
  resp->content_digest = header_value (easy, "Docker-Content-Digest");
  resp->www_authenticate = header_value (easy, "WWW-Authenticate");
  resp->range = header_value (easy, "Range");
  resp->link = header_value (easy, "Link");
  _cleanup_free_ char *cl = header_value (easy, "Content-Length");
  resp->content_length = cl ? strtoll (cl, NULL, 10) : -1;
  _cleanup_free_ char *loc = header_value (easy, "Location");
  if (loc)
    {
      char *eff = NULL;
      curl_easy_getinfo (easy, CURLINFO_EFFECTIVE_URL, &eff);
      resp->location = resolve_location (eff ? eff : url, loc);
    }
  return CURLE_OK;
}

bool
registry_status_is_transient (long status)
{
  return status == 408 || status == 425 || status == 429
         || (status >= 500 && status != 501 && status != 505);
}

bool
registry_curl_is_transient (CURLcode code)
{
  switch (code)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

unsigned
registry_max_retries (const struct registry_options *opts)
{
  return opts && opts->max_retries ? opts->max_retries : 5;
}

/* 200 ms, 400 ms, 800 ms, … capped at 5 s. */
uint64_t
registry_backoff_ms (unsigned attempt)
{
  uint64_t ms = 200ull << (attempt < 5 ? attempt : 5);
  return ms > 5000 ? 5000 : ms;
}

static void
sleep_ms (uint64_t ms)
{
  struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
registry_client_do (struct registry_client *c, const struct registry_request *req,
                    struct registry_response *resp, struct berth_error **err)
{
  memset (resp, 0, sizeof *resp);
  _cleanup_free_ char *url = NULL;
  if (req->url[0] == '/')
    {
      if (c->scheme == NULL && !req->no_auth && registry_client_ping (c, err) < 0)
        return -1;
      url = registry_client_url (c, "%s", req->url);
    }
  else
    url = xstrdup (req->url);
  bool may_retry = req->read_fn == NULL && !req->no_retry;
  unsigned max_retries = registry_max_retries (c->opts);
  bool did_reauth = false;
  for (unsigned attempt = 0;; attempt++)
    {
      _cleanup_free_ char *auth = NULL;
      if (!req->no_auth && registry_client_auth_header (c, req->scope, &auth, err) < 0)
        return -1;
      char errbuf[CURL_ERROR_SIZE];
      CURLcode rc = perform_once (c, req, url, auth, resp, errbuf);
      if (rc != CURLE_OK)
        {
          if (may_retry && registry_curl_is_transient (rc) && attempt < max_retries)
            {
              berth_log (BERTH_LOG_DEBUG, "%s %s: %s; retrying", req->method, url,
                         errbuf[0] ? errbuf : curl_easy_strerror (rc));
              sleep_ms (registry_backoff_ms (attempt));
              continue;
            }
          return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "%s %s: %s",
                                       req->method ? req->method : "GET", url,
                                       errbuf[0] ? errbuf : curl_easy_strerror (rc));
        }
      if (resp->status == 401 && !req->no_auth && !did_reauth && resp->www_authenticate)
        {
          /* A new challenge (another realm, a wider scope, an expired
           * token): learn it, drop the cached token, try once more. */
          struct registry_challenge ch;
          if (registry_challenge_parse (resp->www_authenticate, &ch, NULL) == 0)
            {
              bool had_creds_for_it = auth != NULL && !strcmp (ch.scheme, "basic");
              registry_challenge_clear (&c->challenge);
              c->challenge = ch;
              c->has_challenge = true;
              registry_client_token_drop (c, req->scope ? req->scope : "");
              did_reauth = true;
              if (!had_creds_for_it)
                {
                  registry_response_clear (resp);
                  attempt--;
                  continue;
                }
            }
        }
      if (may_retry && registry_status_is_transient (resp->status) && attempt < max_retries)
        {
          berth_log (BERTH_LOG_DEBUG, "%s %s: HTTP %ld; retrying", req->method, url, resp->status);
          registry_response_clear (resp);
          sleep_ms (registry_backoff_ms (attempt));
          continue;
        }
      return 0;
    }
}

/* ------------------------------------------------------------------ ping -- */

static int
ping_with_scheme (struct registry_client *c, const char *scheme, struct berth_error **err)
{
  free (c->scheme);
  c->scheme = xstrdup (scheme);
  struct registry_request req
      = { .method = "GET", .url = "/v2/", .no_auth = true, .no_retry = true };
  struct registry_response resp;
  if (registry_client_do (c, &req, &resp, err) < 0)
    return -1;
  int r = 0;
  if (resp.status == 401 && resp.www_authenticate)
    {
      registry_challenge_clear (&c->challenge);
      if (registry_challenge_parse (resp.www_authenticate, &c->challenge, err) < 0)
        r = berth_error_prefix (err, "registry %s", c->domain);
      else
        c->has_challenge = true;
    }
  else if (resp.status == 401)
    r = berth_error_set_kind (err, BERTH_E_UNAUTHORIZED, 0,
                              "registry %s: 401 without a WWW-Authenticate challenge", c->domain);
  else if (resp.status < 200 || resp.status >= 300)
    r = berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                              "registry %s: GET %s://%s/v2/: HTTP %ld (not a v2 registry?)",
                              c->domain, scheme, c->host, resp.status);
  registry_response_clear (&resp);
  return r;
}

int
registry_client_ping (struct registry_client *c, struct berth_error **err)
{
  _cleanup_error_ struct berth_error *https_err = NULL;
  if (ping_with_scheme (c, "https", &https_err) == 0)
    return 0;
  if (!c->is_insecure || https_err->kind != BERTH_E_UNAVAILABLE)
    {
      free (c->scheme);
      c->scheme = NULL;
      return berth_error_set_kind (err, https_err->kind, https_err->errnum, "%s", https_err->msg);
    }
  /* docker: an insecure registry that does not speak TLS is tried over HTTP. */
  if (ping_with_scheme (c, "http", err) == 0)
    return 0;
  free (c->scheme);
  c->scheme = NULL;
  return berth_error_prefix (err, "registry %s (also tried HTTPS: %s)", c->domain, https_err->msg);
}

/* ---------------------------------------------------------------- errors -- */

void
registry_error_move (struct berth_error **dst, struct berth_error **src)
{
  if (dst && *dst == NULL)
    *dst = steal_pointer (src);
  else
    berth_error_freep (src);
}

char *
registry_error_text (const struct registry_response *resp)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = resp->body ? json_loadb (resp->body, resp->body_len, 0, &jerr) : NULL;
  json_t *errors = json_object_get (j, "errors");
  if (json_is_array (errors) && json_array_size (errors) > 0)
    {
      json_t *e = json_array_get (errors, 0);
      const char *code = json_string_value (json_object_get (e, "code"));
      const char *msg = json_string_value (json_object_get (e, "message"));
      return xasprintf ("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    }
  if (j && json_is_string (json_object_get (j, "details")))
    return xstrdup (json_string_value (json_object_get (j, "details")));
  return xstrdup ("");
}

int
registry_error_from_response (const struct registry_response *resp, struct berth_error **err,
                              const char *what)
{
  _cleanup_free_ char *text = registry_error_text (resp);
  enum berth_error_kind kind = BERTH_E_INTERNAL;
  const char *label = "";
  switch (resp->status)
    {
    case 400:
      kind = BERTH_E_INVALID;
      break;
    case 401:
      kind = BERTH_E_UNAUTHORIZED;
      label = "unauthorized: authentication required";
      break;
    case 403:
      kind = BERTH_E_FORBIDDEN;
      label = "denied: requested access to the resource is denied";
      break;
    case 404:
      kind = BERTH_E_NOT_FOUND;
      label = "not found";
      break;
    default:
      if (registry_status_is_transient (resp->status))
        kind = BERTH_E_UNAVAILABLE;
    }
  if (*label)
    return berth_error_set_kind (err, kind, 0, "%s: %s (HTTP %ld%s%s)", what, label, resp->status,
                                 *text ? ": " : "", text);
  return berth_error_set_kind (err, kind, 0, "%s: HTTP %ld: %s", what, resp->status,
                               *text ? text : "unexpected status");
}

/* ----------------------------------------------------------------- ranges -- */

int
registry_range_parse (const char *s, int64_t *start, int64_t *end)
{
  if (s == NULL)
    return -1;
  if (str_has_prefix (s, "bytes="))
    s += 6;
  char *e1 = NULL, *e2 = NULL;
  errno = 0;
  long long a = strtoll (s, &e1, 10);
  if (e1 == s || *e1 != '-' || errno)
    return -1;
  long long b = strtoll (e1 + 1, &e2, 10);
  if (e2 == e1 + 1 || *e2 != '\0' || errno || a < 0 || b < a)
    return -1;
  *start = a;
  *end = b;
  return 0;
}

char *
registry_content_range (int64_t offset, int64_t len)
{
  return xasprintf ("%lld-%lld", (long long)offset, (long long)(offset + len - 1));
}
