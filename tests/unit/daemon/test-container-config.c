/* The create body's validation (docker's messages, the offending field
 * named) and normalization, and the merge with the image's config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>

#include "daemon/container.h"

static json_t *
load (const char *s)
{
  json_error_t e;
  json_t *j = json_loads (s, 0, &e);
  if (j == NULL)
    fail_msg ("bad test JSON: %s: %s", s, e.text);
  return j;
}

static void
test_bad_bodies_name_the_field (void **state)
{
  static const struct
  {
    const char *body;
    const char *msg; /* substring of the 400 message */
  } cases[] = {
    { "{\"Image\":\"x\",\"Env\":\"A=1\"}", "Config.Env: must be an array of strings" },
    { "{\"Image\":\"x\",\"Cmd\":[1]}", "Config.Cmd: must be a string or an array of strings" },
    { "{\"Image\":\"x\",\"Tty\":\"yes\"}", "Config.Tty: must be a boolean" },
    { "{\"Cmd\":[\"true\"]}", "Config.Image: No image specified" },
    { "{\"Image\":\"x\",\"WorkingDir\":\"rel\"}", "it needs to be an absolute path" },
    { "{\"Image\":\"x\",\"StopSignal\":\"SIGNOPE\"}",
      "Config.StopSignal: Invalid signal: SIGNOPE" },
    { "{\"Image\":\"x\",\"Env\":[\"=x\"]}", "Config.Env[0]: invalid environment variable" },
    { "{\"Image\":\"x\",\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":10}}",
      "cannot be less than 1ms" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":\"64m\"}}",
      "HostConfig.Memory: must be an integer" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":1000}}", "Minimum memory limit allowed is 6MB" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":67108864,\"MemorySwap\":1000}}",
      "Minimum memoryswap limit should be larger than memory limit" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"MemorySwap\":67108864}}",
      "You should always set the Memory limit when using Memoryswap limit" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"http\"}]}}}",
      "HostConfig.PortBindings[\"80/tcp\"][0].HostPort: not a number" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/xyz\":[]}}}",
      "HostConfig.PortBindings[\"80/xyz\"]: invalid port specification" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":8080}]}}}",
      "HostPort: must be a string" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a\"]}}",
      "HostConfig.Binds[0]: invalid volume specification: '/a'" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:/b:rx\"]}}",
      "HostConfig.Binds[0]: invalid mode: rx" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"nfs\",\"Target\":\"/m\"}]}}",
      "mount type unknown" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Target\":\"/m\"}]}}",
      "field Source must not be empty" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"rel\"}]}}",
      "mount path must be absolute" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Tmpfs\":{\"/t\":\"size=huge\"}}}",
      "HostConfig.Tmpfs[\"/t\"]: invalid size: huge" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"sometimes\"}}}",
      "invalid restart policy 'sometimes'" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\","
      "\"MaximumRetryCount\":3}}}",
      "can only be used with 'on-failure'" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}"
      "}}",
      "cannot specify both --restart and --rm" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"CapAdd\":[\"FLY\"]}}",
      "HostConfig.CapAdd[0]: unknown capability: \"FLY\"" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"seccomp={oops\"]}}",
      "seccomp profile is not valid JSON" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"magic\"]}}", "invalid --security-opt" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofiles\",\"Soft\":1,\"Hard\":2}]}"
      "}",
      "invalid ulimit type: nofiles" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":3,\"Hard\":2}]}"
      "}",
      "soft limit must be less than or equal to hard limit" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuQuota\":50000}}",
      "Nano CPUs and CPU Period cannot both be set" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000000}}",
      "Range of CPUs is from 0.01" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"CpusetCpus\":\"0-x\"}}",
      "Invalid value 0-x for cpuset cpus" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"OomScoreAdj\":1001}}",
      "range for oom score adj is [-1000, 1000]" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"ShmSize\":-1}}", "SHM size can not be less than 0" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"fluentd\"}}}",
      "logger: no log driver named 'fluentd' is registered" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-"
      "size\":\"big\"}}}}",
      "invalid size: 'big'" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{"
      "\"color\":\"1\"}}}}",
      "unknown log opt 'color' for json-file log driver" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Sysctls\":{\"kernel.panic\":\"1\"}}}",
      "sysctl 'kernel.panic' is not allowed" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"host\",\"Sysctls\":{\"net.ipv4.ip_"
      "forward\":\"1\"}}}",
      "in host network mode" },
    { "{\"Image\":\"x\",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"dev/null\"}]}}",
      "PathOnHost: must be an absolute path" },
    { "{\"Image\":\"x\",\"HostConfig\":\"yes\"}", "HostConfig: must be an object" },
    { "[1]", "the request body must be a JSON object" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_json_ json_t *body = load (cases[i].body);
      json_t *cfg = NULL, *hc = NULL, *net = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = container_create_body_parse (body, &cfg, &hc, &net, &err);
      if (rc == 0)
        fail_msg ("accepted: %s", cases[i].body);
      assert_int_equal (berth_error_http_status (err), 400);
      if (strstr (err->msg, cases[i].msg) == NULL)
        fail_msg ("%s\n  got:  %s\n  want: %s", cases[i].body, err->msg, cases[i].msg);
    }
}

static void
test_trace02_body_is_accepted_and_normalized (void **state)
{
  /* the body the CLI sends for `docker run --rm busybox:local echo hi` */
  _cleanup_json_ json_t *body = load (
      "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":"
      "true,"
      "\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,"
      "\"Cmd\":[\"echo\",\"hi\"],\"Image\":\"busybox:local\",\"Volumes\":{},\"WorkingDir\":\"\","
      "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":null,"
      "\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":"
      "\"default\","
      "\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
      "\"AutoRemove\":true,"
      "\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":null,"
      "\"CapDrop\":null,"
      "\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,"
      "\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,"
      "\"PidMode\":\"\","
      "\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":"
      "null,"
      "\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,"
      "\"Memory\":0,"
      "\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],"
      "\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],"
      "\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,"
      "\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],"
      "\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":0,"
      "\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[],"
      "\"CpuCount\":0,"
      "\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":null,"
      "\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{}}}}");
  _cleanup_json_ json_t *cfg = NULL, *hc = NULL, *net = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (container_create_body_parse (body, &cfg, &hc, &net, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_null (json_object_get (cfg, "HostConfig"));
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (hc, "LogConfig"), "Type")), "json-file");
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (hc, "RestartPolicy"), "Name")), "no");
  assert_non_null (json_object_get (json_object_get (net, "EndpointsConfig"), "default"));
  /* docker-py's minimal body (trace 16), Cmd as a string */
  _cleanup_json_ json_t *py = load ("{\"Image\":\"busybox:local\",\"Cmd\":\"echo "
                                    "hi\",\"HostConfig\":{\"NetworkMode\":\"default\"}}");
  _cleanup_json_ json_t *cfg2 = NULL, *hc2 = NULL, *net2 = NULL;
  assert_int_equal (container_create_body_parse (py, &cfg2, &hc2, &net2, &err), 0);
  assert_true (json_is_array (json_object_get (cfg2, "Cmd")));
  assert_string_equal (json_string_value (json_array_get (json_object_get (cfg2, "Cmd"), 0)),
                       "echo hi");
}

struct merge_case
{
  const char *user, *image;
  const char *path;
  const char *args; /* joined by spaces */
  const char *env;  /* joined by spaces */
};

static void
test_merge_with_image_like_docker (void **state)
{
  static const struct merge_case cases[] = {
    /* the image's Cmd when the user gives none */
    { "{}", "{\"Cmd\":[\"sh\"]}", "sh", "", "" },
    /* the user's Cmd replaces the image's, the Entrypoint stays */
    { "{\"Cmd\":[\"-c\",\"x\"]}", "{\"Entrypoint\":[\"sh\"],\"Cmd\":[\"-l\"]}", "sh", "-c x", "" },
    /* a user Entrypoint drops the image's Cmd */
    { "{\"Entrypoint\":[\"echo\"]}", "{\"Entrypoint\":[\"sh\"],\"Cmd\":[\"-l\"]}", "echo", "", "" },
    /* [""] resets the image's Entrypoint */
    { "{\"Entrypoint\":[\"\"],\"Cmd\":[\"ls\"]}", "{\"Entrypoint\":[\"sh\"]}", "ls", "", "" },
    /* Env: the image's first, a user key replaces it in place */
    { "{\"Cmd\":[\"env\"],\"Env\":[\"B=2\",\"A=9\"]}", "{\"Env\":[\"A=1\",\"PATH=/bin\"]}", "env",
      "", "A=9 PATH=/bin B=2" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_json_ json_t *u = load (cases[i].user);
      _cleanup_json_ json_t *img = load (cases[i].image);
      _cleanup_free_ char *path = NULL;
      _cleanup_strv_ char **args = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      if (container_config_merge_image (u, img, &path, &args, &err) < 0)
        fail_msg ("case %zu: %s", i, err->msg);
      assert_string_equal (path, cases[i].path);
      _cleanup_free_ char *joined = strv_join (args, " ");
      assert_string_equal (joined, cases[i].args);
      if (*cases[i].env)
        {
          _cleanup_strv_ char **env = NULL;
          size_t k;
          json_t *e;
          json_array_foreach (json_object_get (u, "Env"), k, e)
              strv_append (&env, json_string_value (e));
          _cleanup_free_ char *ej = strv_join (env, " ");
          assert_string_equal (ej, cases[i].env);
        }
    }
  _cleanup_json_ json_t *u = load ("{}");
  _cleanup_json_ json_t *img = load ("{}");
  _cleanup_free_ char *path = NULL;
  _cleanup_strv_ char **args = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (container_config_merge_image (u, img, &path, &args, &err), -1);
  assert_string_equal (err->msg, "No command specified");
  assert_int_equal (berth_error_http_status (err), 400);
}

static void
test_signals_and_sizes (void **state)
{
  int s;
  assert_int_equal (signal_parse ("SIGTERM", &s), 0);
  assert_int_equal (s, 15);
  assert_int_equal (signal_parse ("kill", &s), 0);
  assert_int_equal (s, 9);
  assert_int_equal (signal_parse ("10", &s), 0);
  assert_int_equal (s, 10);
  assert_int_equal (signal_parse ("SIGRTMIN+3", &s), 0);
  assert_int_equal (s, SIGRTMIN + 3);
  assert_int_equal (signal_parse ("NOPE", &s), -1);
  /* offsets outside the real-time range (fuzzing: SIGRTMIN + huge overflowed) */
  assert_int_equal (signal_parse ("RTMIN+9223372036854775807", &s), -1);
  assert_int_equal (signal_parse ("RTMAX--9223372036854775807", &s), -1);
  assert_int_equal (signal_parse ("RTMIN+-5", &s), -1);
  assert_int_equal (signal_parse ("SIGRTMAX-2", &s), 0);
  assert_int_equal (s, SIGRTMAX - 2);
  assert_int_equal (signal_parse ("0", &s), -1);
  int64_t b;
  assert_int_equal (size_parse_bytes ("10m", &b), 0);
  assert_int_equal (b, 10 * 1024 * 1024);
  assert_int_equal (size_parse_bytes ("1g", &b), 0);
  assert_int_equal (b, 1024 * 1024 * 1024);
  assert_int_equal (size_parse_bytes ("512KiB", &b), 0);
  assert_int_equal (b, 512 * 1024);
  assert_int_equal (size_parse_bytes ("100", &b), 0);
  assert_int_equal (b, 100);
  assert_int_equal (size_parse_bytes ("lots", &b), -1);
  assert_int_equal (size_parse_bytes ("-1m", &b), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bad_bodies_name_the_field),
    cmocka_unit_test (test_trace02_body_is_accepted_and_normalized),
    cmocka_unit_test (test_merge_with_image_like_docker),
    cmocka_unit_test (test_signals_and_sizes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
