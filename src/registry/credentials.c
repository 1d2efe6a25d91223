/* Credentials: the Engine API's X-Registry-Auth header and docker's
 * ~/.docker/config.json ("auths": {"host": {"auth": base64(user:pass)}}), so
 * that `docker login` works for berth and `berth login` works for docker. */
#include "registry/registry-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

void
registry_auth_clear (struct registry_auth *a)
{
  if (a == NULL)
    return;
  if (a->password)
    explicit_bzero (a->password, strlen (a->password));
  free (a->username);
  free (a->password);
  free (a->server_address);
  free (a->identity_token);
  free (a->registry_token);
  memset (a, 0, sizeof *a);
}

static bool
is_set (const char *s)
{
  return s != NULL && *s != '\0';
}

bool
registry_auth_is_empty (const struct registry_auth *a)
{
  return a == NULL
         || (!is_set (a->username) && !is_set (a->password) && !is_set (a->identity_token)
             && !is_set (a->registry_token));
}

void
registry_auth_copy (struct registry_auth *dst, const struct registry_auth *src)
{
  memset (dst, 0, sizeof *dst);
  if (src == NULL)
    return;
  dst->username = src->username ? xstrdup (src->username) : NULL;
  dst->password = src->password ? xstrdup (src->password) : NULL;
  dst->server_address = src->server_address ? xstrdup (src->server_address) : NULL;
  dst->identity_token = src->identity_token ? xstrdup (src->identity_token) : NULL;
  dst->registry_token = src->registry_token ? xstrdup (src->registry_token) : NULL;
}

/* ----------------------------------------------------------------- base64 -- */

char *
registry_base64_encode (const void *data, size_t len, bool url)
{
  char *out = malloc (4 * ((len + 2) / 3) + 1);
  if (out == NULL)
    abort ();
  EVP_EncodeBlock ((unsigned char *)out, data, (int)len);
  if (url)
    for (char *p = out; *p; p++)
      *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return out;
}

/* Standard or URL alphabet, padded or not. NULL on invalid input. */
char *
registry_base64_decode (const char *in, size_t *out_len)
{
  size_t len = strlen (in);
  while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r' || in[len - 1] == ' '))
    len--;
  while (len > 0 && in[len - 1] == '=')
    len--;
  if (len % 4 == 1)
    return NULL;
  size_t padded = (len + 3) / 4 * 4;
  _cleanup_free_ char *norm = malloc (padded + 1);
  if (norm == NULL)
    abort ();
  for (size_t i = 0; i < len; i++)
    {
      char c = in[i];
      norm[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
  for (size_t i = len; i < padded; i++)
    norm[i] = '=';
  norm[padded] = '\0';
  char *out = malloc (padded / 4 * 3 + 1);
  if (out == NULL)
    abort ();
  int n = padded ? EVP_DecodeBlock ((unsigned char *)out, (unsigned char *)norm, (int)padded) : 0;
  if (n < 0)
    {
      free (out);
      return NULL;
    }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  n -= (int)(padded - len);
  out[n] = '\0';
  if (out_len)
    *out_len = (size_t)n;
  return out;
}

/* --------------------------------------------------------- X-Registry-Auth -- */

static char *
json_str_dup (json_t *obj, const char *key)
{
  const char *s = json_string_value (json_object_get (obj, key));
  return is_set (s) ? xstrdup (s) : NULL;
}

int
registry_auth_decode_header (const char *value, struct registry_auth *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  if (value == NULL || *value == '\0')
    return 0;
  size_t len = 0;
  _cleanup_free_ char *text = registry_base64_decode (value, &len);
  if (text == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "X-Registry-Auth: not base64");
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (text, len, 0, &jerr);
  explicit_bzero (text, len);
  if (j == NULL || !json_is_object (j))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "X-Registry-Auth: not a JSON object%s%s",
                                 j ? "" : ": ", j ? "" : jerr.text);
  /* docker's AuthConfig; keys are matched case-insensitively by Go. */
  const char *key;
  json_t *v;
  json_object_foreach (j, key, v)
  {
    if (!json_is_string (v) || json_string_length (v) == 0)
      continue;
    char **slot = !strcasecmp (key, "username")        ? &out->username
                  : !strcasecmp (key, "password")      ? &out->password
                  : !strcasecmp (key, "serveraddress") ? &out->server_address
                  : !strcasecmp (key, "identitytoken") ? &out->identity_token
                  : !strcasecmp (key, "registrytoken") ? &out->registry_token
                                                       : NULL;
    if (slot && *slot == NULL)
      *slot = xstrdup (json_string_value (v));
  }
  /* "auth": base64(user:pass), as config.json entries carry it. */
  const char *auth = json_string_value (json_object_get (j, "auth"));
  if (is_set (auth) && out->username == NULL)
    {
      size_t n = 0;
      _cleanup_free_ char *up = registry_base64_decode (auth, &n);
      char *colon = up ? strchr (up, ':') : NULL;
      if (colon == NULL)
        {
          registry_auth_clear (out);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "X-Registry-Auth: bad `auth` field");
        }
      *colon = '\0';
      out->username = xstrdup (up);
      out->password = xstrdup (colon + 1);
      explicit_bzero (up, n);
    }
  return 0;
}

char *
registry_auth_encode_header (const struct registry_auth *a)
{
  _cleanup_json_ json_t *j = json_object ();
  if (a)
    {
      if (a->username)
        json_object_set_new (j, "username", json_string (a->username));
      if (a->password)
        json_object_set_new (j, "password", json_string (a->password));
      if (a->server_address)
        json_object_set_new (j, "serveraddress", json_string (a->server_address));
      if (a->identity_token)
        json_object_set_new (j, "identitytoken", json_string (a->identity_token));
      if (a->registry_token)
        json_object_set_new (j, "registrytoken", json_string (a->registry_token));
    }
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT);
  return registry_base64_encode (text, strlen (text), true);
}

/* ------------------------------------------------------------ config.json -- */

char *
registry_config_dir (const char *config_dir)
{
  if (is_set (config_dir))
    return xstrdup (config_dir);
  const char *env = getenv ("DOCKER_CONFIG");
  if (is_set (env))
    return xstrdup (env);
  const char *home = getenv ("HOME");
  return xasprintf ("%s/.docker", is_set (home) ? home : "/root");
}

char *
registry_credentials_key (const char *registry_host)
{
  if (registry_host == NULL || !strcmp (registry_host, "docker.io")
      || !strcmp (registry_host, "index.docker.io")
      || !strcmp (registry_host, "registry-1.docker.io"))
    return xstrdup (DOCKER_HUB_KEY);
  return xstrdup (registry_host);
}

/* docker's ConvertToHostname: drop the scheme and any path. */
char *
registry_credentials_key_host (const char *key)
{
  const char *s = key;
  if (str_has_prefix (s, "http://"))
    s += 7;
  else if (str_has_prefix (s, "https://"))
    s += 8;
  const char *slash = strchr (s, '/');
  char *host = slash ? strndup (s, (size_t)(slash - s)) : xstrdup (s);
  if (!strcmp (host, "index.docker.io") || !strcmp (host, "registry-1.docker.io"))
    {
      free (host);
      host = xstrdup ("docker.io");
    }
  return host;
}

static json_t *
config_load (const char *dir, bool *existed, struct berth_error **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/config.json", dir);
  *existed = false;
  if (access (path, F_OK) < 0)
    return json_object ();
  *existed = true;
  _cleanup_error_ struct berth_error *lerr = NULL;
  json_t *j = json_load_path (AT_FDCWD, path, &lerr);
  if (j == NULL)
    {
      /* An empty file is what some tools leave behind: treat it as {}. */
      struct stat st;
      if (stat (path, &st) == 0 && st.st_size == 0)
        return json_object ();
      registry_error_move (err, &lerr);
      berth_error_prefix (err, "docker config");
      return NULL;
    }
  if (!json_is_object (j))
    {
      json_decref (j);
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "docker config `%s`: not a JSON object", path);
      return NULL;
    }
  return j;
}

int
registry_credentials_get (const char *config_dir, const char *registry_host,
                          struct registry_auth *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  _cleanup_free_ char *dir = registry_config_dir (config_dir);
  bool existed;
  _cleanup_json_ json_t *cfg = config_load (dir, &existed, err);
  if (cfg == NULL)
    return -1;
  _cleanup_free_ char *want
      = registry_credentials_key_host (registry_host ? registry_host : "docker.io");
  const char *helper = registry_credhelper_for (cfg, want);
  if (helper)
    {
      _cleanup_free_ char *server_url = registry_credentials_key (want);
      int r = registry_credhelper_get (helper, server_url, out, err);
      if (r != 0)
        return r;
      /* not in the helper: docker's native store falls back to the file */
    }
  json_t *auths = json_object_get (cfg, "auths");
  if (!json_is_object (auths))
    return 0;
  const char *key;
  json_t *entry;
  json_object_foreach (auths, key, entry)
  {
    _cleanup_free_ char *host = registry_credentials_key_host (key);
    if (strcmp (host, want) != 0 || !json_is_object (entry))
      continue;
    const char *auth = json_string_value (json_object_get (entry, "auth"));
    if (is_set (auth))
      {
        size_t n = 0;
        _cleanup_free_ char *up = registry_base64_decode (auth, &n);
        char *colon = up ? strchr (up, ':') : NULL;
        if (colon == NULL)
          return berth_error_set_kind (
              err, BERTH_E_INVALID, 0,
              "docker config `%s/config.json`: auths[\"%s\"].auth: not base64(user:password)", dir,
              key);
        *colon = '\0';
        out->username = is_set (up) ? xstrdup (up) : NULL;
        out->password = is_set (colon + 1) ? xstrdup (colon + 1) : NULL;
        explicit_bzero (up, n);
      }
    else
      {
        out->username = json_str_dup (entry, "username");
        out->password = json_str_dup (entry, "password");
      }
    out->identity_token = json_str_dup (entry, "identitytoken");
    out->registry_token = json_str_dup (entry, "registrytoken");
    out->server_address = xstrdup (key);
    if (registry_auth_is_empty (out))
      {
        registry_auth_clear (out);
        continue;
      }
    return 1;
  }
  return 0;
}

static int
config_save (const char *dir, json_t *cfg, struct berth_error **err)
{
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return berth_error_prefix (err, "docker config directory `%s`", dir);
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open `%s`", dir);
  /* docker writes the file indented with tabs; any indentation reads the same. */
  _cleanup_free_ char *text = json_dumps (cfg, JSON_INDENT (1) | JSON_PRESERVE_ORDER);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize docker config");
  size_t len = strlen (text);
  text[len] = '\0';
  _cleanup_free_ char *withnl = xasprintf ("%s\n", text);
  if (fs_write_file_atomic (dfd, "config.json", withnl, len + 1, 0600, err) < 0)
    return berth_error_prefix (err, "docker config `%s/config.json`", dir);
  return 0;
}

/* Drop every entry naming host, whatever its spelling ("http://h", "h/v1/"). */
static int
auths_remove_host (json_t *auths, const char *host)
{
  int removed = 0;
  const char *key;
  json_t *entry;
  void *tmp;
  json_object_foreach_safe (auths, tmp, key, entry)
  {
    _cleanup_free_ char *h = registry_credentials_key_host (key);
    if (!strcmp (h, host))
      {
        json_object_del (auths, key);
        removed++;
      }
  }
  return removed;
}

int
registry_credentials_store (const char *config_dir, const char *registry_host,
                            const struct registry_auth *auth, struct berth_error **err)
{
  _cleanup_free_ char *dir = registry_config_dir (config_dir);
  bool existed;
  _cleanup_json_ json_t *cfg = config_load (dir, &existed, err);
  if (cfg == NULL)
    return -1;
  json_t *auths = json_object_get (cfg, "auths");
  if (!json_is_object (auths))
    {
      auths = json_object ();
      json_object_set_new (cfg, "auths", auths);
    }
  _cleanup_free_ char *host
      = registry_credentials_key_host (registry_host ? registry_host : "docker.io");
  _cleanup_free_ char *key = registry_credentials_key (host);
  auths_remove_host (auths, host);
  const char *helper = registry_credhelper_for (cfg, host);
  if (helper)
    {
      /* The secret goes to the helper; docker keeps an empty entry. */
      if (registry_credhelper_store (helper, key, auth, err) < 0)
        return -1;
      json_object_set_new (auths, key, json_object ());
      return config_save (dir, cfg, err);
    }
  json_t *entry = json_object ();
  _cleanup_free_ char *up = xasprintf ("%s:%s", auth->username ? auth->username : "",
                                       auth->identity_token ? ""
                                       : auth->password     ? auth->password
                                                            : "");
  _cleanup_free_ char *b64 = registry_base64_encode (up, strlen (up), false);
  explicit_bzero (up, strlen (up));
  json_object_set_new (entry, "auth", json_string (b64));
  if (auth->identity_token)
    json_object_set_new (entry, "identitytoken", json_string (auth->identity_token));
  json_object_set_new (auths, key, entry);
  return config_save (dir, cfg, err);
}

int
registry_credentials_erase (const char *config_dir, const char *registry_host,
                            struct berth_error **err)
{
  _cleanup_free_ char *dir = registry_config_dir (config_dir);
  bool existed;
  _cleanup_json_ json_t *cfg = config_load (dir, &existed, err);
  if (cfg == NULL)
    return -1;
  if (!existed)
    return 0;
  _cleanup_free_ char *host
      = registry_credentials_key_host (registry_host ? registry_host : "docker.io");
  const char *helper = registry_credhelper_for (cfg, host);
  if (helper)
    {
      _cleanup_free_ char *key = registry_credentials_key (host);
      if (registry_credhelper_erase (helper, key, err) < 0)
        return -1;
    }
  json_t *auths = json_object_get (cfg, "auths");
  int removed = json_is_object (auths) ? auths_remove_host (auths, host) : 0;
  if (removed > 0 && config_save (dir, cfg, err) < 0)
    return -1;
  return removed > 0 || helper ? 1 : 0;
}
