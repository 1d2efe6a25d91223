/* The container create body berth sends for run/create flags, compared
 * byte for byte (field order included) with what the docker CLI 28 sent for
 * the same command lines to the reference engine (captured with strace;
 * traces 02 and 03 show the same bodies truncated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli-internal.h"

static char *
body_for (const struct cli_opt *opts, const char *const *argv, int argc, struct berth_error **err)
{
  struct cli_args a;
  if (cli_args_parse (opts, argc, (char **) argv, false, &a, err) < 0)
    return NULL;
  json_t *body = cli_build_create_body (&a, "/work", err);
  cli_args_free (&a);
  if (body == NULL)
    return NULL;
  char *s = json_dumps (body, JSON_COMPACT);
  json_decref (body);
  return s;
}

/* docker run --rm busybox:local echo hi (trace 02) */
static const char *const run_rm_argv[] = { "--rm", "busybox:local", "echo", "hi" };
static const char run_rm_body[] =
      "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\""
      ":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":"
      "null,\"Cmd\":[\"echo\",\"hi\"],\"Image\":\"busybox:local\",\"Volumes\":{},\"WorkingDir\":\""
      "\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":null,\"Con"
      "tainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"default\""
      ",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRem"
      "ove\":true,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":nul"
      "l,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"E"
      "xtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomSc"
      "oreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootf"
      "s\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolat"
      "ion\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight"
      "\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"Blkio"
      "DeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealti"
      "mePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":"
      "[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap"
      "\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[],\"Cpu"
      "Count\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":nu"
      "ll,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMC"
      "onfig\":null,\"Links\":null,\"Aliases\":null,\"MacAddress\":\"\",\"DriverOpts\":null,\"GwP"
      "riority\":0,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"I"
      "PPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\""
      "DNSNames\":null}}}}";

/* docker create --name tr-x -p 127.0.0.1:18080:80 -e A=1 -v /tmp/trace-vol:/data
 * --memory 64m busybox:local sleep 300 (trace 03's flags) */
static const char *const detached_argv[] = { "--name", "tr-x", "-p", "127.0.0.1:18080:80", "-e", "A=1",
                                             "-v", "/tmp/trace-vol:/data", "--memory", "64m",
                                             "busybox:local", "sleep", "300" };
static const char detached_body[] =
      "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\""
      ":true,\"AttachStderr\":true,\"ExposedPorts\":{\"80/tcp\":{}},\"Tty\":false,\"OpenStdin\":f"
      "alse,\"StdinOnce\":false,\"Env\":[\"A=1\"],\"Cmd\":[\"sleep\",\"300\"],\"Image\":\"busybox"
      ":local\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\""
      ":{},\"HostConfig\":{\"Binds\":[\"/tmp/trace-vol:/data\"],\"ContainerIDFile\":\"\",\"LogCon"
      "fig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"default\",\"PortBindings\":{\"80/tcp"
      "\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18080\"}]},\"RestartPolicy\":{\"Name\":\"no\""
      ",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,"
      "\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],\""
      "DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\""
      "Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"Pub"
      "lishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"User"
      "nsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":67108864,\"NanoC"
      "pus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceRead"
      "Bps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[]"
      ",\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetC"
      "pus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\""
      ":null,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":"
      "false,\"PidsLimit\":0,\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\""
      "IOMaximumBandwidth\":0,\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{"
      "\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"Ma"
      "cAddress\":\"\",\"DriverOpts\":null,\"GwPriority\":0,\"NetworkID\":\"\",\"EndpointID\":\"\""
      ",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Ad"
      "dress\":\"\",\"GlobalIPv6PrefixLen\":0,\"DNSNames\":null}}}}";

/* every flag that changes the body, in one create */
static const char *const full_argv[] = {
  "--name", "cap1", "-it", "-e", "A=1", "-p", "8080:80", "-v", "/tmp:/data", "-v", "/anon",
  "--restart", "on-failure:3", "--memory", "512m", "--cpus", "1.5", "--ulimit", "nofile=100:200",
  "--device", "/dev/null:/dev/xnull", "--label", "a=b", "--add-host", "h:1.2.3.4", "--dns",
  "8.8.8.8", "--cap-add", "NET_ADMIN", "--health-cmd", "true", "--health-interval", "5s", "--init",
  "--stop-signal", "SIGUSR1", "--stop-timeout", "5", "--tmpfs", "/run:size=1m", "--shm-size", "64m",
  "--sysctl", "net.ipv4.ip_forward=1", "--log-driver", "json-file", "--log-opt", "max-size=1m",
  "--pids-limit", "10", "--group-add", "10", "--entrypoint", "/bin/sh", "--mount",
  "type=bind,src=/tmp,dst=/m,readonly", "-w", "/w", "-u", "1000", "--hostname", "hh", "--read-only",
  "--privileged", "--security-opt", "no-new-privileges", "--cpu-shares", "512", "--cpuset-cpus", "0",
  "--memory-swap", "1g", "busybox:local", "-c", "echo hi",
};
static const char full_body[] =
      "{\"Hostname\":\"hh\",\"Domainname\":\"\",\"User\":\"1000\",\"AttachStdin\":true,\"AttachSt"
      "dout\":true,\"AttachStderr\":true,\"ExposedPorts\":{\"80/tcp\":{}},\"Tty\":true,\"OpenStdi"
      "n\":true,\"StdinOnce\":true,\"Env\":[\"A=1\"],\"Cmd\":[\"-c\",\"echo hi\"],\"Healthcheck\""
      ":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000},\"Image\":\"busybox:local\",\""
      "Volumes\":{\"/anon\":{}},\"WorkingDir\":\"/w\",\"Entrypoint\":[\"/bin/sh\"],\"OnBuild\":nu"
      "ll,\"Labels\":{\"a\":\"b\"},\"StopSignal\":\"SIGUSR1\",\"StopTimeout\":5,\"HostConfig\":{\""
      "Binds\":[\"/tmp:/data\"],\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\""
      "Config\":{\"max-size\":\"1m\"}},\"NetworkMode\":\"default\",\"PortBindings\":{\"80/tcp\":["
      "{\"HostIp\":\"\",\"HostPort\":\"8080\"}]},\"RestartPolicy\":{\"Name\":\"on-failure\",\"Max"
      "imumRetryCount\":3},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"Cons"
      "oleSize\":[0,0],\"CapAdd\":[\"CAP_NET_ADMIN\"],\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dn"
      "s\":[\"8.8.8.8\"],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":[\"h:1.2.3.4\"],\"Grou"
      "pAdd\":[\"10\"],\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMod"
      "e\":\"\",\"Privileged\":true,\"PublishAllPorts\":false,\"ReadonlyRootfs\":true,\"SecurityO"
      "pt\":[\"no-new-privileges\"],\"Tmpfs\":{\"/run\":\"size=1m\"},\"UTSMode\":\"\",\"UsernsMod"
      "e\":\"\",\"ShmSize\":67108864,\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"Isolation\":\""
      "\",\"CpuShares\":512,\"Memory\":536870912,\"NanoCpus\":1500000000,\"CgroupParent\":\"\",\""
      "BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\""
      ":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,"
      "\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"0\",\"CpusetMems\":\"\","
      "\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/xnull\",\"CgroupPerm"
      "issions\":\"rwm\"}],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation"
      "\":0,\"MemorySwap\":1073741824,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimi"
      "t\":10,\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":200,\"Soft\":100}],\"CpuCount\":0,\"CpuP"
      "ercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"Mounts\":[{\"Type\":\"bind\",\"S"
      "ource\":\"/tmp\",\"Target\":\"/m\",\"ReadOnly\":true}],\"MaskedPaths\":null,\"ReadonlyPath"
      "s\":null,\"Init\":true},\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMConf"
      "ig\":null,\"Links\":null,\"Aliases\":null,\"MacAddress\":\"\",\"DriverOpts\":null,\"GwPrio"
      "rity\":0,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPr"
      "efixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"DN"
      "SNames\":null}}}}";

static void
test_bodies_match_docker (void **state)
{
  static const struct
  {
    const struct cli_opt *opts;
    const char *const *argv;
    int argc;
    const char *want;
  } cases[] = {
    { cli_run_opts, run_rm_argv, sizeof run_rm_argv / sizeof run_rm_argv[0], run_rm_body },
    { cli_create_opts, detached_argv, sizeof detached_argv / sizeof detached_argv[0], detached_body },
    { cli_create_opts, full_argv, sizeof full_argv / sizeof full_argv[0], full_body },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *got = body_for (cases[k].opts, cases[k].argv, cases[k].argc, &err);
      if (got == NULL)
        fail_msg ("case %zu: %s", k, err->msg);
      if (strcmp (got, cases[k].want) != 0)
        {
          size_t i = 0;
          while (got[i] && got[i] == cases[k].want[i])
            i++;
          fail_msg ("case %zu differs at %zu:\n got: %.120s\nwant: %.120s", k, i, got + i, cases[k].want + i);
        }
    }
}

static void
test_run_detached_attaches_nothing (void **state)
{
  /* trace 03: run -d sends AttachStdout/AttachStderr false */
  const char *argv[] = { "-d", "busybox:local", "true" };
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *got = body_for (cli_run_opts, argv, 3, &err);
  assert_non_null (strstr (got, "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false"));
  /* trace 04/06: -i attaches stdin, StdinOnce */
  const char *argv2[] = { "--rm", "-i", "busybox:local", "cat" };
  _cleanup_free_ char *got2 = body_for (cli_run_opts, argv2, 4, &err);
  assert_non_null (strstr (got2, "\"AttachStdin\":true,\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":true,\"StdinOnce\":true"));
  /* --network with aliases (trace 09) */
  const char *argv3[] = { "-d", "--network", "tr-net", "--network-alias", "web", "busybox:local" };
  _cleanup_free_ char *got3 = body_for (cli_run_opts, argv3, 6, &err);
  assert_non_null (strstr (got3, "\"NetworkMode\":\"tr-net\""));
  assert_non_null (strstr (got3, "\"EndpointsConfig\":{\"tr-net\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":[\"web\"]"));
}

static void
test_bad_flag_values (void **state)
{
  static const struct
  {
    const char *argv[6];
    int argc;
    const char *err;
  } cases[] = {
    { { "--rm", "--restart", "always", "img" }, 4, "Conflicting options: --restart and --rm" },
    { { "--memory", "lots", "img" }, 3, "invalid argument \"lots\" for \"--memory\" flag" },
    { { "-p", "99999", "img" }, 3, "invalid containerPort" },
    { { "--network-alias", "x", "img" }, 3, "network-scoped aliases are only supported for user-defined networks" },
    { { "--cpus", "1", "--cpu-quota", "1000", "img" }, 5, "Conflicting options: Nano CPUs and CPU Period/Quota" },
    { { "-a", "stdfoo", "img" }, 3, "valid streams are STDIN, STDOUT and STDERR" },
    { { "--health-interval", "5", "img" }, 3, "missing unit in duration" },
    { { "--env-file", "/nonexistent/x.env", "img" }, 3, "/nonexistent/x.env" },
    { { "--add-host", "nocolon", "img" }, 3, "bad format for add-host" },
    { { "--stop-timeout", "soon", "img" }, 3, "invalid argument \"soon\"" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *got = body_for (cli_run_opts, cases[k].argv, cases[k].argc, &err);
      if (got != NULL || err == NULL || strstr (err->msg, cases[k].err) == NULL)
        fail_msg ("case %zu: want error '%s', got %s", k, cases[k].err, err ? err->msg : got);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bodies_match_docker),
    cmocka_unit_test (test_run_detached_attaches_nothing),
    cmocka_unit_test (test_bad_flag_values),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
