/* The run/create value parsers, with the docker CLI's results and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli-internal.h"

static char *
dump (json_t *j)
{
  return json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void
test_ports (void **state)
{
  static const struct
  {
    const char *spec, *exposed, *bindings, *err;
  } cases[] = {
    { "80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}", NULL },
    /* trace 03: -p 127.0.0.1:18080:80 */
    { "127.0.0.1:18080:80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18080\"}]}", NULL },
    { "8080:80/udp", "{\"80/udp\":{}}", "{\"80/udp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}", NULL },
    { "127.0.0.1::80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}", NULL },
    { "[::1]:8080:80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"8080\"}]}", NULL },
    { "8000-8001:80-81", "{\"80/tcp\":{},\"81/tcp\":{}}",
      "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000\"}],\"81/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8001\"}]}", NULL },
    /* a host range for one container port is a dynamic range */
    { "8000-8010:80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000-8010\"}]}", NULL },
    { "80x", NULL, NULL, "invalid containerPort: 80x" },
    { "1.2.3:80:80", NULL, NULL, "invalid IP address: 1.2.3" },
    { "80/bogus", NULL, NULL, "invalid proto: bogus" },
    { "8000-8002:80-81", NULL, NULL, "invalid ranges specified" },
    { "70000", NULL, NULL, "invalid containerPort" },
    { "", NULL, NULL, "no port specified" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_json_ json_t *e = json_object (), *b = json_object ();
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = parse_port_spec (cases[k].spec, e, b, &err);
      if (cases[k].err)
        {
          assert_int_equal (rc, -1);
          if (strstr (err->msg, cases[k].err) == NULL)
            fail_msg ("%s: error '%s'", cases[k].spec, err->msg);
          continue;
        }
      assert_int_equal (rc, 0);
      _cleanup_free_ char *es = dump (e), *bs = dump (b);
      if (strcmp (es, cases[k].exposed) || strcmp (bs, cases[k].bindings))
        fail_msg ("%s: got %s %s", cases[k].spec, es, bs);
    }
}

static void
test_volumes (void **state)
{
  static const struct
  {
    const char *spec, *binds, *volumes, *err;
  } cases[] = {
    { "/tmp/trace-vol:/data", "[\"/tmp/trace-vol:/data\"]", "{}", NULL },
    { "tr-vol:/d", "[\"tr-vol:/d\"]", "{}", NULL },
    { "/anon", "[]", "{\"/anon\":{}}", NULL },
    { "/src:/dst:ro", "[\"/src:/dst:ro\"]", "{}", NULL },
    /* relative host paths become absolute (docker CLI >= 23) */
    { "./src:/app", "[\"/work/proj/src:/app\"]", "{}", NULL },
    { ".:/app", "[\"/work/proj:/app\"]", "{}", NULL },
    { "/a::/b", NULL, NULL, "empty section between colons" },
    { "/a:/b:ro:x", NULL, NULL, "too many colons" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_json_ json_t *b = json_array (), *v = json_object ();
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = parse_volume_spec (cases[k].spec, "/work/proj", b, v, &err);
      if (cases[k].err)
        {
          assert_int_equal (rc, -1);
          assert_non_null (strstr (err->msg, cases[k].err));
          continue;
        }
      assert_int_equal (rc, 0);
      _cleanup_free_ char *bs = dump (b), *vs = dump (v);
      if (strcmp (bs, cases[k].binds) || strcmp (vs, cases[k].volumes))
        fail_msg ("%s: got %s %s", cases[k].spec, bs, vs);
    }
}

static void
test_mounts (void **state)
{
  static const struct
  {
    const char *spec, *out, *err;
  } cases[] = {
    /* the full-flag capture: --mount type=bind,src=/tmp,dst=/m,readonly */
    { "type=bind,src=/tmp,dst=/m,readonly", "{\"ReadOnly\":true,\"Source\":\"/tmp\",\"Target\":\"/m\",\"Type\":\"bind\"}", NULL },
    { "type=volume,source=v1,target=/data,volume-nocopy",
      "{\"Source\":\"v1\",\"Target\":\"/data\",\"Type\":\"volume\",\"VolumeOptions\":{\"NoCopy\":true}}", NULL },
    { "target=/data", "{\"Target\":\"/data\",\"Type\":\"volume\"}", NULL },
    { "type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770",
      "{\"Target\":\"/run\",\"TmpfsOptions\":{\"Mode\":1016,\"SizeBytes\":67108864},\"Type\":\"tmpfs\"}", NULL },
    { "type=bind,src=/a,dst=/b,bind-propagation=rshared",
      "{\"BindOptions\":{\"Propagation\":\"rshared\"},\"Source\":\"/a\",\"Target\":\"/b\",\"Type\":\"bind\"}", NULL },
    { "type=bind,src=./x,dst=/b", "{\"Source\":\"/w/x\",\"Target\":\"/b\",\"Type\":\"bind\"}", NULL },
    { "type=bind,dst=/b", NULL, "source is required" },
    { "type=bind,src=/a", NULL, "target is required" },
    { "type=weird,dst=/a", NULL, "invalid mount type: weird" },
    { "type=bind,src=/a,dst=/b,bogus=1", NULL, "unexpected key 'bogus'" },
    { "type=bind,src", NULL, "must be a key=value pair" },
    { "type=bind,src=/a,dst=/b,readonly=maybe", NULL, "invalid value for readonly" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_json_ json_t *m = parse_mount_spec (cases[k].spec, "/w", &err);
      if (cases[k].err)
        {
          assert_null (m);
          if (strstr (err->msg, cases[k].err) == NULL)
            fail_msg ("%s: error '%s'", cases[k].spec, err->msg);
          continue;
        }
      assert_non_null (m);
      _cleanup_free_ char *s = dump (m);
      if (strcmp (s, cases[k].out))
        fail_msg ("%s: got %s", cases[k].spec, s);
    }
}

static void
test_ulimit_device_restart_tmpfs (void **state)
{
  static const struct
  {
    int kind; /* 0 ulimit, 1 device, 2 restart */
    const char *spec, *out, *err;
  } cases[] = {
    { 0, "nofile=100:200", "{\"Hard\":200,\"Name\":\"nofile\",\"Soft\":100}", NULL },
    { 0, "nproc=50", "{\"Hard\":50,\"Name\":\"nproc\",\"Soft\":50}", NULL },
    { 0, "nofile=300:200", NULL, "soft limit must be less than or equal to hard limit: 300 > 200" },
    { 0, "bogus=1", NULL, "invalid ulimit type: bogus" },
    { 0, "nofile", NULL, "invalid ulimit argument: nofile" },
    { 0, "nofile=x", NULL, "must be an integer" },
    { 1, "/dev/null:/dev/xnull", "{\"CgroupPermissions\":\"rwm\",\"PathInContainer\":\"/dev/xnull\",\"PathOnHost\":\"/dev/null\"}", NULL },
    { 1, "/dev/fuse", "{\"CgroupPermissions\":\"rwm\",\"PathInContainer\":\"/dev/fuse\",\"PathOnHost\":\"/dev/fuse\"}", NULL },
    { 1, "/dev/sda:r", "{\"CgroupPermissions\":\"r\",\"PathInContainer\":\"/dev/sda\",\"PathOnHost\":\"/dev/sda\"}", NULL },
    { 1, "/dev/sda:/dev/xvda:rw", "{\"CgroupPermissions\":\"rw\",\"PathInContainer\":\"/dev/xvda\",\"PathOnHost\":\"/dev/sda\"}", NULL },
    { 1, "/dev/sda:/dev/xvda:rwx", NULL, "invalid device mode: rwx" },
    { 1, "sda", NULL, "bad format for path: sda" },
    { 1, "/a:/b:r:x", NULL, "invalid device specification" },
    /* bytes that are not UTF-8 cannot go into the JSON body (fuzzing) */
    { 1, "/dev/null\xff:/d", NULL, "not valid UTF-8" },
    { 2, "on-failure:3", "{\"MaximumRetryCount\":3,\"Name\":\"on-failure\"}", NULL },
    { 2, "always", "{\"MaximumRetryCount\":0,\"Name\":\"always\"}", NULL },
    { 2, "no", "{\"MaximumRetryCount\":0,\"Name\":\"no\"}", NULL },
    { 2, "unless-stopped", "{\"MaximumRetryCount\":0,\"Name\":\"unless-stopped\"}", NULL },
    { 2, "sometimes", NULL, "unknown policy 'sometimes'" },
    { 2, "always:3", NULL, "can only be used with 'on-failure'" },
    { 2, "on-failure:x", NULL, "maximum retry count must be an integer" },
    { 2, ":3", NULL, "no policy provided before colon" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_json_ json_t *j = cases[k].kind == 0   ? parse_ulimit (cases[k].spec, &err)
                                 : cases[k].kind == 1 ? parse_device (cases[k].spec, &err)
                                                      : parse_restart_policy (cases[k].spec, &err);
      if (cases[k].err)
        {
          if (j != NULL || strstr (err->msg, cases[k].err) == NULL)
            fail_msg ("%s: expected '%s', got %s", cases[k].spec, cases[k].err, err ? err->msg : "success");
          continue;
        }
      assert_non_null (j);
      _cleanup_free_ char *s = dump (j);
      if (strcmp (s, cases[k].out))
        fail_msg ("%s: got %s", cases[k].spec, s);
    }
  _cleanup_json_ json_t *t = json_object ();
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (parse_tmpfs ("/run:size=1m", t, &err), 0);
  assert_int_equal (parse_tmpfs ("/tmp", t, &err), 0);
  _cleanup_free_ char *ts = dump (t);
  assert_string_equal (ts, "{\"/run\":\"size=1m\",\"/tmp\":\"\"}");
  assert_int_equal (parse_tmpfs ("run", t, &err), -1);
}

static void
test_filters (void **state)
{
  char *ok[] = { "label=a=b", "status=running", "label=c", "NAME=web", NULL };
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *f = parse_filters (ok, &err);
  assert_non_null (f);
  _cleanup_free_ char *s = dump (f);
  assert_string_equal (s, "{\"label\":{\"a=b\":true,\"c\":true},\"name\":{\"web\":true},\"status\":{\"running\":true}}");
  char *bad[] = { "status", NULL };
  assert_null (parse_filters (bad, &err));
  assert_string_equal (err->msg, "bad format of filter (expected name=value)");
}

static void
test_detach_keys (void **state)
{
  static const struct
  {
    const char *spec;
    int n;
    unsigned char keys[4];
  } cases[] = {
    { "ctrl-p,ctrl-q", 2, { 16, 17 } }, { "ctrl-a", 1, { 1 } },    { "a,b", 2, { 'a', 'b' } },
    { "ctrl-@", 1, { 0 } },             { "ctrl-[", 1, { 27 } },   { "ctrl-_,x", 2, { 31, 'x' } },
    { "CTRL-X", 1, { 24 } },            { "ctrl-1", -1, { 0 } },   { "abc", -1, { 0 } },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      unsigned char out[16];
      _cleanup_error_ struct berth_error *err = NULL;
      int n = parse_detach_keys (cases[k].spec, out, sizeof out, &err);
      assert_int_equal (n, cases[k].n);
      if (n < 0)
        assert_non_null (strstr (err->msg, "Unknown character"));
      else
        assert_memory_equal (out, cases[k].keys, (size_t) n);
    }
}

static void
test_env_file (void **state)
{
  char path[] = "/tmp/berth-envfile-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  const char *content = "\xEF\xBB\xBF# comment\n\nA=1\n  B = spaced value \nC=\nFROM_ENV\nNOT_SET_ANYWHERE_X\nD=x=y\r\n";
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
  setenv ("FROM_ENV", "env-value", 1);
  unsetenv ("NOT_SET_ANYWHERE_X");
  _cleanup_strv_ char **lines = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  /* "B " has whitespace in the name: docker rejects it */
  assert_int_equal (parse_env_file (path, true, &lines, &err), -1);
  assert_non_null (strstr (err->msg, "variable 'B ' contains whitespaces"));
  berth_error_freep (&err);
  strv_freep (&lines);
  content = "# comment\n\nA=1\nB= spaced value \nC=\nFROM_ENV\nNOT_SET_ANYWHERE_X\nD=x=y\r\n";
  fd = open (path, O_WRONLY | O_TRUNC);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
  assert_int_equal (parse_env_file (path, true, &lines, &err), 0);
  _cleanup_free_ char *j = strv_join (lines, "|");
  assert_string_equal (j, "A=1|B= spaced value |C=|FROM_ENV=env-value|D=x=y");
  unlink (path);
  strv_freep (&lines);
  assert_int_equal (parse_env_file ("/nonexistent/env", true, &lines, &err), -1);
  assert_non_null (strstr (err->msg, "/nonexistent/env"));
  /* -e KEY takes the value from the environment, or stays as is */
  _cleanup_free_ char *e1 = parse_env_opt ("FROM_ENV");
  _cleanup_free_ char *e2 = parse_env_opt ("NOT_SET_ANYWHERE_X");
  _cleanup_free_ char *e3 = parse_env_opt ("K=v=w");
  assert_string_equal (e1, "FROM_ENV=env-value");
  assert_string_equal (e2, "NOT_SET_ANYWHERE_X");
  assert_string_equal (e3, "K=v=w");
}

static void
test_signals_and_exit_codes (void **state)
{
  assert_int_equal (parse_signal ("KILL"), SIGKILL);
  assert_int_equal (parse_signal ("SIGTERM"), SIGTERM);
  assert_int_equal (parse_signal ("sigusr1"), SIGUSR1);
  assert_int_equal (parse_signal ("RTMIN+2"), SIGRTMIN + 2);
  assert_int_equal (parse_signal ("SIGRTMAX-1"), SIGRTMAX - 1);
  /* out of the real-time range: no signal (fuzzing: atoi overflow, UB add) */
  assert_int_equal (parse_signal ("RTMIN+2147483647"), 0);
  assert_int_equal (parse_signal ("RTMAX-99"), 0);
  assert_int_equal (parse_signal ("9"), 9);
  assert_int_equal (parse_signal ("FOO"), 0);
  assert_string_equal (signal_name (SIGINT), "INT");
  /* docker run's exit codes for a failed start (runStartContainerErr) */
  assert_int_equal (cli_run_error_exit_code ("exec: \"x\": executable file not found in $PATH"), 127);
  assert_int_equal (cli_run_error_exit_code ("open /x: no such file or directory"), 127);
  assert_int_equal (cli_run_error_exit_code ("exec: \"/etc\": permission denied"), 126);
  assert_int_equal (cli_run_error_exit_code ("read /x: is a directory"), 126);
  assert_int_equal (cli_run_error_exit_code ("No such image: x"), 125);
  int64_t nano;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (parse_nano_cpus ("1.5", &nano, &err), 0);
  assert_int_equal (nano, 1500000000);
  assert_int_equal (parse_nano_cpus ("x", &nano, &err), -1);
  /* out of int64 range or not a number: refused (fuzzing found the UB cast) */
  _cleanup_error_ struct berth_error *err2 = NULL, *err3 = NULL;
  assert_int_equal (parse_nano_cpus ("444444444444444", &nano, &err2), -1);
  assert_int_equal (parse_nano_cpus ("nan", &nano, &err3), -1);
}

static void
test_references (void **state)
{
  static const struct
  {
    const char *in, *repo, *tag, *digest, *err;
  } cases[] = {
    { "busybox", "docker.io/library/busybox", "latest", NULL, NULL },
    { "tr-img:2", "docker.io/library/tr-img", "2", NULL, NULL },
    { "user/app:1.0", "docker.io/user/app", "1.0", NULL, NULL },
    { "127.0.0.1:5055/team/app:1", "127.0.0.1:5055/team/app", "1", NULL, NULL },
    { "localhost/x", "localhost/x", "latest", NULL, NULL },
    { "busybox@sha256:0123456789012345678901234567890123456789012345678901234567890123",
      "docker.io/library/busybox", NULL, "sha256:0123456789012345678901234567890123456789012345678901234567890123", NULL },
    { "Busybox", NULL, NULL, NULL, "must be lowercase" },
    { "bad:tag:x", NULL, NULL, NULL, "invalid reference format" },
    { "", NULL, NULL, NULL, "invalid reference format" },
    { "x@sha256:12", NULL, NULL, NULL, "invalid reference format" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = cli_parse_reference (cases[k].in, &repo, &tag, &digest, &err);
      if (cases[k].err)
        {
          if (rc != -1 || strstr (err->msg, cases[k].err) == NULL)
            fail_msg ("%s: expected error %s", cases[k].in, cases[k].err);
          continue;
        }
      assert_int_equal (rc, 0);
      assert_string_equal (repo, cases[k].repo);
      if (cases[k].tag)
        assert_string_equal (tag, cases[k].tag);
      else
        assert_null (tag);
      if (cases[k].digest)
        assert_string_equal (digest, cases[k].digest);
    }
  _cleanup_free_ char *e = url_escape ("{\"a\":\"b c\"}/x");
  assert_string_equal (e, "%7B%22a%22%3A%22b%20c%22%7D%2Fx");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ports),
    cmocka_unit_test (test_volumes),
    cmocka_unit_test (test_mounts),
    cmocka_unit_test (test_ulimit_device_restart_tmpfs),
    cmocka_unit_test (test_filters),
    cmocka_unit_test (test_detach_keys),
    cmocka_unit_test (test_env_file),
    cmocka_unit_test (test_signals_and_exit_codes),
    cmocka_unit_test (test_references),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
