/* WWW-Authenticate challenges (RFC 7235 as registries send them), the
 * Engine API's X-Registry-Auth header, and docker's config.json auths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/registry-internal.h"

struct challenge_case
{
  const char *header;
  const char *scheme, *realm, *service, *scope, *error;
};

static void
test_challenge_parse (void **state)
{
  static const struct challenge_case cases[] = {
    /* distribution's token auth (docs/spec/auth/token.md) */
    { "Bearer "
      "realm=\"https://auth.docker.io/"
      "token\",service=\"registry.docker.io\",scope=\"repository:samalba/my-app:pull,push\"",
      "bearer", "https://auth.docker.io/token", "registry.docker.io",
      "repository:samalba/my-app:pull,push", NULL },
    /* htpasswd auth */
    { "Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL, NULL },
    /* case-insensitive scheme, spaces around separators, token values */
    { "BEARER  realm = \"http://127.0.0.1:1/t\" , service=reg", "bearer", "http://127.0.0.1:1/t",
      "reg", NULL, NULL },
    /* an expired token: error param */
    { "Bearer realm=\"r\",error=\"invalid_token\"", "bearer", "r", NULL, NULL, "invalid_token" },
    /* escaped quote inside a quoted string */
    { "Bearer realm=\"a\\\"b\"", "bearer", "a\"b", NULL, NULL, NULL },
    /* several challenges: Bearer wins over Basic whatever the order */
    { "Basic realm=\"x\", Bearer realm=\"y\",service=\"s\"", "bearer", "y", "s", NULL, NULL },
    /* unknown params are ignored */
    { "Bearer foo=\"bar\",realm=\"r\"", "bearer", "r", NULL, NULL, NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      const struct challenge_case *c = &cases[i];
      struct registry_challenge ch;
      struct berth_error *err = NULL;
      assert_int_equal (registry_challenge_parse (c->header, &ch, &err), 0);
      assert_null (err);
      assert_string_equal (ch.scheme, c->scheme);
#define CHECK(field)                                                                               \
  if (c->field)                                                                                    \
    assert_string_equal (ch.field, c->field);                                                      \
  else                                                                                             \
    assert_null (ch.field);
      CHECK (realm);
      CHECK (service);
      CHECK (scope);
      CHECK (error);
      registry_challenge_clear (&ch);
    }
}

static void
test_challenge_parse_rejects_garbage (void **state)
{
  static const char *const bad[]
      = { "", "   ", "Bearer realm=\"unterminated", "=x", "Bearer realm=\"a\" junk" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct registry_challenge ch;
      _cleanup_error_ struct berth_error *err = NULL;
      assert_int_equal (registry_challenge_parse (bad[i], &ch, &err), -1);
      assert_non_null (err);
      assert_non_null (strstr (err->msg, "WWW-Authenticate"));
    }
}

static void
test_base64_round_trip (void **state)
{
  static const char *const samples[] = { "", "a", "ab", "abc", "user:pass", "\xff\xfe\xfd?>" };
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
    for (int url = 0; url < 2; url++)
      {
        _cleanup_free_ char *e = registry_base64_encode (samples[i], strlen (samples[i]), url);
        size_t n = 0;
        _cleanup_free_ char *d = registry_base64_decode (e, &n);
        assert_non_null (d);
        assert_int_equal (n, strlen (samples[i]));
        assert_memory_equal (d, samples[i], n);
      }
  /* unpadded input (Go's RawURLEncoding) decodes too */
  size_t n = 0;
  _cleanup_free_ char *d = registry_base64_decode ("dXNlcjpwYXNz", &n);
  assert_string_equal (d, "user:pass");
  _cleanup_free_ char *d2 = registry_base64_decode ("YQ", &n);
  assert_string_equal (d2, "a");
  assert_null (registry_base64_decode ("a", &n));
  assert_null (registry_base64_decode ("!!!!", &n));
}

static void
test_x_registry_auth (void **state)
{
  /* What docker CLI 28 sends: base64url of the AuthConfig JSON. */
  const char *json
      = "{\"username\":\"alice\",\"password\":\"s3cr3t?>\",\"serveraddress\":\"127.0.0.1:5000\"}";
  _cleanup_free_ char *hdr = registry_base64_encode (json, strlen (json), true);
  _cleanup_registry_auth_ struct registry_auth a = { 0 };
  struct berth_error *err = NULL;
  assert_int_equal (registry_auth_decode_header (hdr, &a, &err), 0);
  assert_string_equal (a.username, "alice");
  assert_string_equal (a.password, "s3cr3t?>");
  assert_string_equal (a.server_address, "127.0.0.1:5000");
  assert_null (a.identity_token);

  /* encode → decode keeps every field */
  struct registry_auth b = { .username = "u",
                             .password = "p",
                             .server_address = "h",
                             .identity_token = "it",
                             .registry_token = "rt" };
  _cleanup_free_ char *enc = registry_auth_encode_header (&b);
  _cleanup_registry_auth_ struct registry_auth c = { 0 };
  assert_int_equal (registry_auth_decode_header (enc, &c, &err), 0);
  assert_string_equal (c.username, "u");
  assert_string_equal (c.password, "p");
  assert_string_equal (c.server_address, "h");
  assert_string_equal (c.identity_token, "it");
  assert_string_equal (c.registry_token, "rt");

  /* empty and "{}" are anonymous; garbage is a clear 400 */
  _cleanup_registry_auth_ struct registry_auth e = { 0 };
  assert_int_equal (registry_auth_decode_header ("", &e, &err), 0);
  assert_true (registry_auth_is_empty (&e));
  assert_int_equal (registry_auth_decode_header ("e30=", &e, &err), 0);
  assert_true (registry_auth_is_empty (&e));
  _cleanup_error_ struct berth_error *bad = NULL;
  assert_int_equal (registry_auth_decode_header ("bm90IGpzb24=", &e, &bad), -1);
  assert_int_equal (bad->kind, BERTH_E_INVALID);
  assert_non_null (strstr (bad->msg, "X-Registry-Auth"));
}

static char *
make_tmpdir (void)
{
  char tmpl[] = "/tmp/berth-unit-registry-XXXXXX";
  return xstrdup (mkdtemp (tmpl));
}

static void
test_config_store_get_erase (void **state)
{
  _cleanup_free_ char *dir = make_tmpdir ();
  _cleanup_free_ char *path = xasprintf ("%s/config.json", dir);
  /* A file docker wrote, with other keys that must survive. */
  const char *docker = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
                       "\"http://10.0.0.1:5000\":{\"auth\":\"b2xkOm9sZA==\"}},"
                       "\"psFormat\":\"table {{.ID}}\"}";
  struct berth_error *err = NULL;
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY);
  assert_int_equal (fs_write_file_atomic (dfd, "config.json", docker, strlen (docker), 0600, &err),
                    0);

  _cleanup_registry_auth_ struct registry_auth hub = { 0 };
  assert_int_equal (registry_credentials_get (dir, "docker.io", &hub, &err), 1);
  assert_string_equal (hub.username, "hub");
  assert_string_equal (hub.password, "hubpw");
  /* "http://host:port" keys match host:port as docker's ConvertToHostname does */
  _cleanup_registry_auth_ struct registry_auth old = { 0 };
  assert_int_equal (registry_credentials_get (dir, "10.0.0.1:5000", &old, &err), 1);
  assert_string_equal (old.username, "old");

  struct registry_auth neu = { .username = "bob", .password = "pw:with:colons" };
  assert_int_equal (registry_credentials_store (dir, "10.0.0.1:5000", &neu, &err), 0);
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  _cleanup_json_ json_t *j = json_load_path (AT_FDCWD, path, &err);
  assert_non_null (j);
  assert_string_equal (json_string_value (json_object_get (j, "psFormat")), "table {{.ID}}");
  json_t *auths = json_object_get (j, "auths");
  assert_null (json_object_get (auths, "http://10.0.0.1:5000"));
  /* docker's format: base64(user:password) under the bare host */
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (auths, "10.0.0.1:5000"), "auth")),
      "Ym9iOnB3OndpdGg6Y29sb25z");
  _cleanup_registry_auth_ struct registry_auth back = { 0 };
  assert_int_equal (registry_credentials_get (dir, "10.0.0.1:5000", &back, &err), 1);
  assert_string_equal (back.password, "pw:with:colons");

  assert_int_equal (registry_credentials_erase (dir, "10.0.0.1:5000", &err), 1);
  assert_int_equal (registry_credentials_erase (dir, "10.0.0.1:5000", &err), 0);
  _cleanup_registry_auth_ struct registry_auth gone = { 0 };
  assert_int_equal (registry_credentials_get (dir, "10.0.0.1:5000", &gone, &err), 0);
  _cleanup_registry_auth_ struct registry_auth hub2 = { 0 };
  assert_int_equal (registry_credentials_get (dir, "docker.io", &hub2, &err), 1);
  assert_null (err);
  unlink (path);
  rmdir (dir);
}

static void
test_config_missing_and_malformed (void **state)
{
  _cleanup_free_ char *dir = make_tmpdir ();
  struct berth_error *err = NULL;
  _cleanup_registry_auth_ struct registry_auth a = { 0 };
  /* no file: no credentials, no error */
  assert_int_equal (registry_credentials_get (dir, "h:1", &a, &err), 0);
  assert_null (err);
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY);
  const char *bad = "{\"auths\": {\"h:1\": {\"auth\": \"bm9jb2xvbg==\"}}}"; /* "nocolon" */
  assert_int_equal (fs_write_file_atomic (dfd, "config.json", bad, strlen (bad), 0600, &err), 0);
  _cleanup_error_ struct berth_error *e1 = NULL;
  assert_int_equal (registry_credentials_get (dir, "h:1", &a, &e1), -1);
  assert_non_null (strstr (e1->msg, "auths[\"h:1\"].auth"));
  const char *garbage = "{not json";
  assert_int_equal (
      fs_write_file_atomic (dfd, "config.json", garbage, strlen (garbage), 0600, &err), 0);
  _cleanup_error_ struct berth_error *e2 = NULL;
  assert_int_equal (registry_credentials_get (dir, "h:1", &a, &e2), -1);
  assert_non_null (strstr (e2->msg, "config.json"));
  /* a store over a malformed file refuses rather than losing what is there */
  _cleanup_error_ struct berth_error *e3 = NULL;
  struct registry_auth neu = { .username = "u", .password = "p" };
  assert_int_equal (registry_credentials_store (dir, "h:1", &neu, &e3), -1);
  _cleanup_free_ char *text = NULL;
  assert_int_equal (fs_read_file (dfd, "config.json", &text, NULL, &err), 0);
  assert_string_equal (text, garbage);
  unlinkat (dfd, "config.json", 0);
  rmdir (dir);
}

static void
test_config_dir_env (void **state)
{
  setenv ("DOCKER_CONFIG", "/x/y", 1);
  _cleanup_free_ char *a = registry_config_dir (NULL);
  assert_string_equal (a, "/x/y");
  _cleanup_free_ char *b = registry_config_dir ("/explicit");
  assert_string_equal (b, "/explicit");
  unsetenv ("DOCKER_CONFIG");
  setenv ("HOME", "/home/z", 1);
  _cleanup_free_ char *c = registry_config_dir (NULL);
  assert_string_equal (c, "/home/z/.docker");
  _cleanup_free_ char *k = registry_credentials_key ("docker.io");
  assert_string_equal (k, "https://index.docker.io/v1/");
  _cleanup_free_ char *k2 = registry_credentials_key ("127.0.0.1:5000");
  assert_string_equal (k2, "127.0.0.1:5000");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_challenge_parse),
    cmocka_unit_test (test_challenge_parse_rejects_garbage),
    cmocka_unit_test (test_base64_round_trip),
    cmocka_unit_test (test_x_registry_auth),
    cmocka_unit_test (test_config_store_get_erase),
    cmocka_unit_test (test_config_missing_and_malformed),
    cmocka_unit_test (test_config_dir_env),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
