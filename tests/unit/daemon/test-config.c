/* berthd's flags and daemon.json: defaults, flags winning over the file,
 * --default-ulimit parsing, and clear errors for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/daemon-internal.h"

static void
test_ulimit (void **state)
{
  static const struct
  {
    const char *spec;
    long long soft, hard;
    const char *msg_part; /* error expected */
  } cases[] = {
    { "nofile=1024:4096", 1024, 4096, NULL },
    { "nproc=512", 512, 512, NULL },
    { "core=-1", -1, -1, NULL },
    { "nofile=4096:1024", 0, 0, "above the hard limit" },
    { "bogus=1", 0, 0, "unknown name `bogus`" },
    { "nofile", 0, 0, "expected name=soft[:hard]" },
    { "nofile=abc", 0, 0, "must be integers" },
    { "nofile=1:2:3", 0, 0, "must be integers" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_json_ json_t *j = config_ulimit_parse (cases[i].spec, &err);
      if (cases[i].msg_part)
        {
          assert_null (j);
          assert_non_null (strstr (err->msg, cases[i].msg_part));
        }
      else
        {
          assert_non_null (j);
          assert_int_equal (json_integer_value (json_object_get (j, "Soft")), cases[i].soft);
          assert_int_equal (json_integer_value (json_object_get (j, "Hard")), cases[i].hard);
        }
    }
}

static int
parse_args (struct berthd_config *c, struct berth_error **err, ...)
{
  char *argv[32] = { "berthd" };
  int argc = 1;
  va_list ap;
  va_start (ap, err);
  for (const char *a; (a = va_arg (ap, const char *));)
    argv[argc++] = (char *) a;
  va_end (ap);
  return config_parse (c, argc, argv, err);
}

static void
test_defaults_and_flags (void **state)
{
  struct berthd_config c;
  _cleanup_error_ struct berth_error *err = NULL;
  char path[] = "/tmp/berth-unit-cfg-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  const char *file = "{\"data-root\":\"/srv/berth\",\"live-restore\":false,"
                     "\"default-ulimits\":{\"nofile\":{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":20}},"
                     "\"log-opts\":{\"max-size\":\"10m\"},\"default-runtime\":\"crun\"}";
  assert_int_equal (write (fd, file, strlen (file)), (ssize_t) strlen (file));
  close (fd);

  assert_int_equal (parse_args (&c, &err, "--config-file", path, "--exec-root", "/run/x",
                                "-H", "unix:///tmp/a.sock", "-H", "unix:///tmp/b.sock",
                                "--default-ulimit", "nproc=5:6", "-D", NULL),
                    0);
  assert_string_equal (c.data_root, "/srv/berth"); /* from the file */
  assert_string_equal (c.exec_root, "/run/x");     /* from a flag */
  assert_false (c.live_restore);
  assert_int_equal (strv_len (c.hosts), 2);
  assert_string_equal (c.pidfile, "/run/x/berthd.pid");
  assert_string_equal (c.audit_log, "/srv/berth/audit.log");
  assert_int_equal (c.log_level, BERTH_LOG_DEBUG);
  assert_non_null (json_object_get (c.default_ulimits, "nofile"));
  assert_non_null (json_object_get (c.default_ulimits, "nproc"));
  assert_string_equal (json_string_value (json_object_get (c.log_opts, "max-size")), "10m");
  assert_string_equal (json_string_value (json_object_get (c.file, "default-runtime")), "crun");
  config_free (&c);

  /* dockerd: a setting given both ways is refused, naming both values
   * in the keys' order */
  assert_int_equal (parse_args (&c, &err, "--config-file", path, "--live-restore",
                                "--data-root", "/d", NULL),
                    -1);
  assert_non_null (strstr (err->msg, "the following directives are specified both as a flag "
                                     "and in the configuration file: data-root: (from flag: /d, "
                                     "from file: /srv/berth), live-restore: (from flag: true, "
                                     "from file: false)"));
  berth_error_freep (&err);
  config_free (&c);
  unlink (path);

  /* a key neither dockerd nor berthd knows is refused too */
  char bad[] = "/tmp/berth-unit-cfg-XXXXXX";
  fd = mkstemp (bad);
  assert_true (fd >= 0);
  const char *unknown = "{\"iptables\":false,\"colour\":1}";
  assert_int_equal (write (fd, unknown, strlen (unknown)), (ssize_t) strlen (unknown));
  close (fd);
  assert_int_equal (parse_args (&c, &err, "--config-file", bad, NULL), -1);
  assert_non_null (
      strstr (err->msg, "the following directives don't match any configuration option: colour"));
  berth_error_freep (&err);
  config_free (&c);
  unlink (bad);
}

static void
test_bad (void **state)
{
  char empty[] = "/tmp/berth-unit-cfg-XXXXXX";
  int fd = mkstemp (empty);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "{}", 2), 2);
  close (fd);
  static const char *const bad[][3] = {
    { "--bogus", NULL },
    { "--live-restore=maybe", NULL },
    { "--log-level", "loud", NULL },
    { "--default-ulimit", "x=1", NULL },
    { "--data-root", "relative", NULL },
    { "extra-arg", NULL },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct berthd_config c;
      _cleanup_error_ struct berth_error *err = NULL;
      char *argv[8] = { "berthd", "--config-file", empty };
      int argc = 3;
      for (int k = 0; k < 3 && bad[i][k]; k++)
        argv[argc++] = (char *) bad[i][k];
      assert_int_equal (config_parse (&c, argc, argv, &err), -1);
      assert_non_null (err);
      config_free (&c);
    }
  /* an explicit config file must exist and be a JSON object */
  struct berthd_config c;
  _cleanup_error_ struct berth_error *err = NULL;
  char *argv[] = { "berthd", "--config-file", "/nonexistent/daemon.json" };
  assert_int_equal (config_parse (&c, 3, argv, &err), -1);
  assert_non_null (strstr (err->msg, "/nonexistent/daemon.json"));
  config_free (&c);
  fd = open (empty, O_WRONLY | O_TRUNC);
  assert_int_equal (write (fd, "[1]", 3), 3);
  close (fd);
  _cleanup_error_ struct berth_error *err2 = NULL;
  char *argv2[] = { "berthd", "--config-file", empty };
  assert_int_equal (config_parse (&c, 3, argv2, &err2), -1);
  assert_non_null (strstr (err2->msg, "expected a JSON object"));
  config_free (&c);
  unlink (empty);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ulimit),
    cmocka_unit_test (test_defaults_and_flags),
    cmocka_unit_test (test_bad),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
