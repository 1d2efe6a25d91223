/* The OCI config berthd writes: Docker's defaults, --privileged, caps,
 * mounts, ulimits, resources. container_oci_config is pure, so each field
 * is checked against what dockerd writes for the same request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "daemon/container.h"

static json_t *
load (const char *s)
{
  json_error_t e;
  json_t *j = json_loads (s, 0, &e);
  if (j == NULL)
    fail_msg ("bad test JSON: %s", e.text);
  return j;
}

/* Build from a create body the way berthd does (parse, merge, generate). */
static json_t *
oci_for (const char *body_text, const json_t *mounts, struct berth_error **err)
{
  _cleanup_json_ json_t *body = load (body_text);
  _cleanup_json_ json_t *cfg = NULL, *hc = NULL, *net = NULL;
  if (container_create_body_parse (body, &cfg, &hc, &net, err) < 0)
    return NULL;
  _cleanup_json_ json_t *img = load ("{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/usr/bin:/bin\"]}");
  _cleanup_free_ char *path = NULL;
  _cleanup_strv_ char **args = NULL;
  if (container_config_merge_image (cfg, img, &path, &args, err) < 0)
    return NULL;
  _cleanup_json_ json_t *seccomp = load ("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}");
  struct container_oci_input in = {
    .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    .config = cfg,
    .host_config = hc,
    .path = path,
    .args = args,
    .rootfs = "/var/lib/berth/snapshots/x/merged",
    .hostname_path = "/c/hostname",
    .hosts_path = "/c/hosts",
    .resolv_conf_path = "/c/resolv.conf",
    .extra_mounts = mounts,
    .default_seccomp = seccomp,
    .ncpus = 2,
    .uid = 0,
    .gid = 0,
  };
  return container_oci_config (&in, err);
}

static json_t *
get (json_t *j, const char *path)
{
  _cleanup_strv_ char **parts = strv_split (path, '.');
  for (char **p = parts; *p && j; p++)
    j = json_object_get (j, *p);
  return j;
}

static bool
array_has_string (json_t *a, const char *s)
{
  size_t i;
  json_t *e;
  json_array_foreach (a, i, e) if (json_is_string (e)
                                   && strcmp (json_string_value (e), s) == 0) return true;
  return false;
}

static json_t *
mount_at (json_t *oci, const char *dest)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (oci, "mounts"), i,
                      m) if (strcmp (json_string_value (json_object_get (m, "destination")), dest)
                             == 0) return m;
  return NULL;
}

static void
test_docker_defaults (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *oci = oci_for ("{\"Image\":\"x\",\"Cmd\":[\"echo\",\"hi\"]}", NULL, &err);
  assert_non_null (oci);
  json_t *caps = get (oci, "process.capabilities.bounding");
  assert_int_equal (json_array_size (caps), 14);
  for (const char *const *c = container_default_caps; *c; c++)
    assert_true (array_has_string (caps, *c));
  assert_false (array_has_string (caps, "CAP_SYS_ADMIN"));
  assert_false (array_has_string (caps, "CAP_NET_ADMIN"));
  assert_true (array_has_string (get (oci, "linux.maskedPaths"), "/proc/kcore"));
  assert_true (array_has_string (get (oci, "linux.readonlyPaths"), "/proc/sys"));
  assert_string_equal (json_string_value (get (oci, "linux.seccomp.defaultAction")),
                       "SCMP_ACT_ERRNO");
  assert_string_equal (json_string_value (get (oci, "hostname")), "0123456789ab");
  assert_string_equal (json_string_value (get (oci, "linux.cgroupsPath")),
                       "/berth/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  /* /dev/shm is 64 MiB by default; /sys read-only */
  assert_true (
      array_has_string (json_object_get (mount_at (oci, "/dev/shm"), "options"), "size=67108864"));
  assert_true (array_has_string (json_object_get (mount_at (oci, "/sys"), "options"), "ro"));
  assert_string_equal (
      json_string_value (json_object_get (mount_at (oci, "/etc/resolv.conf"), "source")),
      "/c/resolv.conf");
  /* args, env (HOSTNAME, the image's PATH), cwd */
  assert_string_equal (json_string_value (json_array_get (get (oci, "process.args"), 0)), "echo");
  assert_true (array_has_string (get (oci, "process.env"), "HOSTNAME=0123456789ab"));
  assert_true (array_has_string (get (oci, "process.env"), "PATH=/usr/bin:/bin"));
  assert_string_equal (json_string_value (get (oci, "process.cwd")), "/");
  assert_false (json_is_true (get (oci, "process.noNewPrivileges")));
  assert_false (json_is_true (get (oci, "root.readonly")));
  /* new namespaces for everything docker isolates */
  static const char *const want[] = { "mount", "network", "uts", "ipc", "pid", "cgroup" };
  for (size_t i = 0; i < 6; i++)
    {
      bool found = false;
      size_t k;
      json_t *ns;
      json_array_foreach (get (oci, "linux.namespaces"), k, ns) found
          |= strcmp (json_string_value (json_object_get (ns, "type")), want[i]) == 0;
      assert_true (found);
    }
  /* devices: deny all, then docker's allow list */
  json_t *rules = get (oci, "linux.resources.devices");
  assert_false (json_is_true (json_object_get (json_array_get (rules, 0), "allow")));
  assert_true (json_array_size (rules) > 5);
}

static void
test_privileged_lifts_the_defaults (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *oci
      = oci_for ("{\"Image\":\"x\",\"HostConfig\":{\"Privileged\":true}}", NULL, &err);
  assert_non_null (oci);
  assert_null (get (oci, "linux.seccomp"));
  assert_null (get (oci, "linux.maskedPaths"));
  assert_null (get (oci, "linux.readonlyPaths"));
  assert_true (array_has_string (json_object_get (mount_at (oci, "/sys"), "options"), "rw"));
  /* as many capabilities as the bounding set allows: more than the defaults */
  assert_true (json_array_size (get (oci, "process.capabilities.bounding")) >= 14);
  json_t *rules = get (oci, "linux.resources.devices");
  assert_true (json_is_true (json_object_get (json_array_get (rules, 0), "allow")));
}

static void
test_caps_add_drop_and_security_opts (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *oci = oci_for (
      "{\"Image\":\"x\",\"HostConfig\":{\"CapAdd\":[\"net_admin\"],\"CapDrop\":[\"CAP_CHOWN\","
      "\"kill\"],"
      "\"SecurityOpt\":[\"no-new-privileges\",\"seccomp=unconfined\"],\"ReadonlyRootfs\":true}}",
      NULL, &err);
  assert_non_null (oci);
  json_t *caps = get (oci, "process.capabilities.effective");
  assert_true (array_has_string (caps, "CAP_NET_ADMIN"));
  assert_false (array_has_string (caps, "CAP_CHOWN"));
  assert_false (array_has_string (caps, "CAP_KILL"));
  assert_int_equal (json_array_size (caps), 13);
  assert_true (json_is_true (get (oci, "process.noNewPrivileges")));
  assert_null (get (oci, "linux.seccomp"));
  assert_true (json_is_true (get (oci, "root.readonly")));
  assert_true (array_has_string (json_object_get (mount_at (oci, "/etc/hosts"), "options"), "ro"));
  _cleanup_json_ json_t *none
      = oci_for ("{\"Image\":\"x\",\"HostConfig\":{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"SETUID\"]}}",
                 NULL, &err);
  assert_int_equal (json_array_size (get (none, "process.capabilities.bounding")), 1);
  _cleanup_json_ json_t *custom
      = oci_for ("{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"seccomp={"
                 "\\\"defaultAction\\\":\\\"SCMP_ACT_LOG\\\"}\"]}}",
                 NULL, &err);
  assert_string_equal (json_string_value (get (custom, "linux.seccomp.defaultAction")),
                       "SCMP_ACT_LOG");
}

static void
test_mounts_ulimits_resources (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *mounts = load (
      "[{\"Type\":\"bind\",\"Source\":\"/srv/data/sub\",\"Destination\":\"/data/"
      "sub\",\"RW\":false},"
      "{\"Type\":\"volume\",\"Name\":\"v\",\"Source\":\"/var/lib/berth/volumes/v/"
      "_data\",\"Destination\":\"/data\",\"RW\":true},"
      "{\"Type\":\"tmpfs\",\"Destination\":\"/run\",\"RW\":true,\"TmpfsOptions\":\"size=1m\"},"
      "{\"Type\":\"tmpfs\",\"Destination\":\"/dev/shm\",\"RW\":true,\"TmpfsOptions\":\"\"}]");
  _cleanup_json_ json_t *oci = oci_for (
      "{\"Image\":\"x\",\"Tty\":true,\"HostConfig\":{\"Memory\":67108864,\"NanoCpus\":500000000,"
      "\"PidsLimit\":50,"
      "\"CpuShares\":512,\"CpusetCpus\":\"0\",\"ShmSize\":1048576,"
      "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048}],\"OomScoreAdj\":100,"
      "\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}}",
      mounts, &err);
  assert_non_null (oci);
  assert_int_equal (json_integer_value (get (oci, "linux.resources.memory.limit")), 67108864);
  /* docker: no --memory-swap means swap = 2 x memory */
  assert_int_equal (json_integer_value (get (oci, "linux.resources.memory.swap")), 2 * 67108864);
  assert_int_equal (json_integer_value (get (oci, "linux.resources.cpu.period")), 100000);
  assert_int_equal (json_integer_value (get (oci, "linux.resources.cpu.quota")), 50000);
  assert_int_equal (json_integer_value (get (oci, "linux.resources.cpu.shares")), 512);
  assert_string_equal (json_string_value (get (oci, "linux.resources.cpu.cpus")), "0");
  assert_int_equal (json_integer_value (get (oci, "linux.resources.pids.limit")), 50);
  json_t *rl = json_array_get (get (oci, "process.rlimits"), 0);
  assert_string_equal (json_string_value (json_object_get (rl, "type")), "RLIMIT_NOFILE");
  assert_int_equal (json_integer_value (json_object_get (rl, "soft")), 1024);
  assert_int_equal (json_integer_value (json_object_get (rl, "hard")), 2048);
  assert_int_equal (json_integer_value (get (oci, "process.oomScoreAdj")), 100);
  assert_true (json_is_true (get (oci, "process.terminal")));
  assert_true (array_has_string (get (oci, "process.env"), "TERM=xterm"));
  assert_string_equal (
      json_string_value (json_object_get (get (oci, "linux.sysctl"), "net.ipv4.ip_forward")), "1");
  /* the parent (/data) is mounted before the child (/data/sub) */
  size_t i, at_data = 0, at_sub = 0;
  json_t *m;
  json_array_foreach (json_object_get (oci, "mounts"), i, m)
  {
    const char *d = json_string_value (json_object_get (m, "destination"));
    if (strcmp (d, "/data") == 0)
      at_data = i;
    if (strcmp (d, "/data/sub") == 0)
      at_sub = i;
  }
  assert_true (at_data > 0 && at_sub > at_data);
  json_t *sub = mount_at (oci, "/data/sub");
  assert_string_equal (json_string_value (json_object_get (sub, "type")), "bind");
  assert_true (array_has_string (json_object_get (sub, "options"), "ro"));
  assert_true (array_has_string (json_object_get (sub, "options"), "rbind"));
  json_t *run = mount_at (oci, "/run");
  assert_string_equal (json_string_value (json_object_get (run, "type")), "tmpfs");
  assert_true (array_has_string (json_object_get (run, "options"), "size=1m"));
  assert_true (array_has_string (json_object_get (run, "options"), "noexec"));
  /* a user mount at /dev/shm replaces the default one (only one left) */
  size_t n_shm = 0;
  json_array_foreach (json_object_get (oci, "mounts"), i, m) n_shm
      += strcmp (json_string_value (json_object_get (m, "destination")), "/dev/shm") == 0;
  assert_int_equal (n_shm, 1);
}

static void
test_missing_device_is_an_error (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *oci = oci_for (
      "{\"Image\":\"x\",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/berth-nope\"}]}}", NULL,
      &err);
  assert_null (oci);
  assert_non_null (
      strstr (err->msg,
              "error gathering device information while adding custom device \"/dev/berth-nope\""));
  _cleanup_error_ struct berth_error *err2 = NULL;
  _cleanup_json_ json_t *ok
      = oci_for ("{\"Image\":\"x\",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/"
                 "null\",\"PathInContainer\":\"/dev/xnull\",\"CgroupPermissions\":\"rw\"}]}}",
                 NULL, &err2);
  assert_non_null (ok);
  json_t *dev = json_array_get (get (ok, "linux.devices"), 0);
  assert_string_equal (json_string_value (json_object_get (dev, "path")), "/dev/xnull");
  assert_int_equal (json_integer_value (json_object_get (dev, "major")), 1);
  assert_int_equal (json_integer_value (json_object_get (dev, "minor")), 3);
}

static void
test_host_namespaces (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *uts = oci_for (
      "{\"Image\":\"x\",\"HostConfig\":{\"UTSMode\":\"host\",\"PidMode\":\"host\"}}", NULL, &err);
  assert_non_null (uts);
  /* no UTS namespace of its own: no hostname to set */
  assert_null (get (uts, "hostname"));
  size_t i;
  json_t *ns;
  json_array_foreach (get (uts, "linux.namespaces"), i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    assert_true (strcmp (t, "uts") != 0 && strcmp (t, "pid") != 0);
  }
  /* host network: the host's network namespace, a private UTS one with
   * the host's name */
  _cleanup_json_ json_t *net
      = oci_for ("{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"host\"}}", NULL, &err);
  char h[256] = "";
  gethostname (h, sizeof h - 1);
  assert_string_equal (json_string_value (get (net, "hostname")), h);
  bool has_net = false, has_uts = false;
  json_array_foreach (get (net, "linux.namespaces"), i, ns)
  {
    const char *t = json_string_value (json_object_get (ns, "type"));
    has_net |= strcmp (t, "network") == 0;
    has_uts |= strcmp (t, "uts") == 0;
  }
  assert_false (has_net);
  assert_true (has_uts);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_docker_defaults),
    cmocka_unit_test (test_privileged_lifts_the_defaults),
    cmocka_unit_test (test_caps_add_drop_and_security_opts),
    cmocka_unit_test (test_mounts_ulimits_resources),
    cmocka_unit_test (test_missing_device_is_an_error),
    cmocka_unit_test (test_host_namespaces),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
