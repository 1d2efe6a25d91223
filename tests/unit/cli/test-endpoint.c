/* Finding the daemon: endpoint syntax and docker's discovery order (-H,
 * BERTH_HOST, DOCKER_HOST, context, default socket), TLS from the env. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli-internal.h"

static void
test_parse (void **state)
{
  static const struct
  {
    const char *host;
    enum cli_endpoint_kind kind;
    const char *path_or_host;
    int port;
    bool tls;
    const char *err;
  } cases[] = {
    { "unix:///run/berth/berth.sock", CLI_EP_UNIX, "/run/berth/berth.sock", 0, false, NULL },
    { "/tmp/x.sock", CLI_EP_UNIX, "/tmp/x.sock", 0, false, NULL },
    { "tcp://127.0.0.1:2376", CLI_EP_TCP, "127.0.0.1", 2376, false, NULL },
    { "tcp://example.org", CLI_EP_TCP, "example.org", 2375, false, NULL },
    { "https://h:1234", CLI_EP_TCP, "h", 1234, true, NULL },
    { "tcp://[::1]:99", CLI_EP_TCP, "[::1]", 99, false, NULL },
    { "ssh://me@box:2222", CLI_EP_SSH, "me@box", 2222, false, NULL },
    { "ssh://box", CLI_EP_SSH, "box", 0, false, NULL },
    { "ftp://x", 0, NULL, 0, false, "unsupported protocol" },
    { "tcp://h:99999", 0, NULL, 0, false, "bad port" },
    { "unix://", 0, NULL, 0, false, "empty path" },
    { "ssh://", 0, NULL, 0, false, "invalid ssh host" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      struct cli_endpoint ep;
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = cli_endpoint_parse (cases[k].host, &ep, &err);
      if (cases[k].err)
        {
          assert_int_equal (rc, -1);
          if (strstr (err->msg, cases[k].err) == NULL)
            fail_msg ("%s: %s", cases[k].host, err->msg);
          cli_endpoint_clear (&ep);
          continue;
        }
      assert_int_equal (rc, 0);
      assert_int_equal (ep.kind, cases[k].kind);
      const char *got = ep.kind == CLI_EP_UNIX ? ep.unix_path : ep.kind == CLI_EP_TCP ? ep.tcp_host : ep.ssh_target;
      assert_string_equal (got, cases[k].path_or_host);
      if (ep.kind == CLI_EP_TCP)
        assert_int_equal (ep.tcp_port, cases[k].port);
      if (ep.kind == CLI_EP_SSH)
        assert_int_equal (ep.ssh_port, cases[k].port);
      assert_int_equal (ep.tls, cases[k].tls);
      cli_endpoint_clear (&ep);
    }
}

static void
write_file (const char *path, const char *s)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (s, f);
  fclose (f);
}

static void
test_discovery_order (void **state)
{
  char dir[] = "/tmp/berth-ctx-XXXXXX";
  assert_non_null (mkdtemp (dir));
  _cleanup_free_ char *cdir = xasprintf ("%s/contexts", dir);
  assert_int_equal (mkdir (cdir, 0700), 0);
  _cleanup_free_ char *cfile = xasprintf ("%s/contexts/remote.json", dir);
  write_file (cfile, "{\"Name\":\"remote\",\"Host\":\"tcp://10.0.0.1:2376\",\"TLS\":{\"CA\":\"/c/ca.pem\",\"SkipVerify\":false}}");
  _cleanup_free_ char *config = xasprintf ("%s/config.json", dir);
  struct cli_globals g = { .config_dir = dir };
  unsetenv ("BERTH_HOST");
  unsetenv ("DOCKER_HOST");
  unsetenv ("BERTH_CONTEXT");
  unsetenv ("DOCKER_TLS_VERIFY");
  struct cli_endpoint ep;
  _cleanup_error_ struct berth_error *err = NULL;
  /* nothing set: the default socket */
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_string_equal (ep.unix_path, "/run/berth/berth.sock");
  cli_endpoint_clear (&ep);
  /* the current context from config.json */
  write_file (config, "{\"currentContext\":\"remote\"}");
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_int_equal (ep.kind, CLI_EP_TCP);
  assert_string_equal (ep.tcp_host, "10.0.0.1");
  assert_true (ep.tls && ep.tls_verify);
  assert_string_equal (ep.ca_path, "/c/ca.pem");
  cli_endpoint_clear (&ep);
  /* DOCKER_HOST beats the context, BERTH_HOST beats DOCKER_HOST */
  setenv ("DOCKER_HOST", "unix:///d.sock", 1);
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_string_equal (ep.unix_path, "/d.sock");
  cli_endpoint_clear (&ep);
  setenv ("BERTH_HOST", "unix:///b.sock", 1);
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_string_equal (ep.unix_path, "/b.sock");
  cli_endpoint_clear (&ep);
  /* -H beats everything */
  g.host = "unix:///h.sock";
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_string_equal (ep.unix_path, "/h.sock");
  cli_endpoint_clear (&ep);
  /* --context beats the environment */
  g.host = NULL;
  g.context = "remote";
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_string_equal (ep.tcp_host, "10.0.0.1");
  cli_endpoint_clear (&ep);
  g.context = "missing";
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), -1);
  assert_string_equal (err->msg, "context \"missing\" does not exist");
  cli_endpoint_clear (&ep);
  berth_error_freep (&err);
  /* DOCKER_TLS_VERIFY + DOCKER_CERT_PATH for a tcp host */
  g.context = NULL;
  unsetenv ("BERTH_HOST");
  setenv ("DOCKER_HOST", "tcp://h:2376", 1);
  setenv ("DOCKER_TLS_VERIFY", "1", 1);
  setenv ("DOCKER_CERT_PATH", "/certs", 1);
  assert_int_equal (cli_endpoint_discover (&g, &ep, &err), 0);
  assert_true (ep.tls && ep.tls_verify);
  assert_string_equal (ep.ca_path, "/certs/ca.pem");
  cli_endpoint_clear (&ep);
  unsetenv ("DOCKER_HOST");
  unsetenv ("DOCKER_TLS_VERIFY");
  unsetenv ("DOCKER_CERT_PATH");
  unlink (cfile);
  unlink (config);
  rmdir (cdir);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse),
    cmocka_unit_test (test_discovery_order),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
