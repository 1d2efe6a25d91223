/* The cgroup writers against a temporary directory standing in for
 * cgroupfs (v1 and v2 files, written exactly as the kernel expects), the
 * layout parser on v1, v2 and hybrid mountinfo, cgroupsPath resolution
 * (systemd too), state JSON, and create/destroy on a fake hierarchy:
 * parents berth made go away, parents it found stay. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cmocka.h>

#include "runtime/cgroup-internal.h"

static char tmpl[] = "/tmp/berth-unit-cgroup-XXXXXX";

static int
setup (void **state)
{
  cgroup_any_fs_for_tests = true;
  strcpy (tmpl, "/tmp/berth-unit-cgroup-XXXXXX");
  assert_non_null (mkdtemp (tmpl));
  int fd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *state = (void *)(intptr_t)fd;
  return 0;
}

static int
teardown (void **state)
{
  close ((int)(intptr_t)*state);
  fs_rm_rf_at (AT_FDCWD, tmpl, NULL);
  return 0;
}

static void
touch (int dfd, const char *name, const char *content)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  if (content)
    assert_int_equal (write (fd, content, strlen (content)), (ssize_t)strlen (content));
  close (fd);
}

static char *
slurp (int dfd, const char *name)
{
  char *s = NULL;
  assert_int_equal (fs_read_file (dfd, name, &s, NULL, NULL), 0);
  return s;
}

static void
expect_file (int dfd, const char *name, const char *want)
{
  _cleanup_free_ char *got = slurp (dfd, name);
  if (strcmp (got, want) != 0)
    fail_msg ("%s: got \"%s\", want \"%s\"", name, got, want);
}

static void
parse (const char *json, struct cgroup_resources *r)
{
  json_error_t jerr;
  json_t *j = json_loads (json, 0, &jerr);
  assert_non_null (j);
  struct berth_error *err = NULL;
  if (cgroup_resources_parse (j, r, &err) < 0)
    fail_msg ("%s", err->msg);
  json_decref (j);
}

/* ------------------------------------------------------------------ v1 -- */

static void
test_v1_writers (void **state)
{
  int dfd = (int)(intptr_t)*state;
  static const char *const files[] = { "memory.limit_in_bytes",
                                       "memory.memsw.limit_in_bytes",
                                       "memory.soft_limit_in_bytes",
                                       "memory.swappiness",
                                       "memory.oom_control",
                                       "memory.kmem.tcp.limit_in_bytes",
                                       "cpu.shares",
                                       "cpu.cfs_quota_us",
                                       "cpu.cfs_period_us",
                                       "cpuset.cpus",
                                       "cpuset.mems",
                                       "pids.max",
                                       "blkio.weight",
                                       "blkio.throttle.read_bps_device",
                                       "blkio.throttle.write_iops_device",
                                       "hugetlb.2MB.limit_in_bytes",
                                       "devices.allow",
                                       "devices.deny",
                                       "net_cls.classid",
                                       "net_prio.ifpriomap" };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    touch (dfd, files[i], NULL);
  struct cgroup_resources r;
  parse ("{\"memory\":{\"limit\":104857600,\"swap\":209715200,\"reservation\":52428800,"
         "\"swappiness\":10,\"disableOOMKiller\":true,\"kernelTCP\":8388608,\"kernel\":1},"
         "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0\",\"mems\":\"0\"},"
         "\"pids\":{\"limit\":-1},"
         "\"blockIO\":{\"weight\":300,\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":"
         "1024}],"
         "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":10}]},"
         "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":2097152}],"
         "\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":-1,\"access\":\"rw\"}],"
         "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]}}",
         &r);
  struct berth_error *err = NULL;
  for (int c = 0; c < CG_N_CONTROLLERS; c++)
    if (cgroup_v1_apply (dfd, c, &r, &err) < 0)
      fail_msg ("%s", err->msg);
  expect_file (dfd, "memory.limit_in_bytes", "104857600");
  expect_file (dfd, "memory.memsw.limit_in_bytes", "209715200");
  expect_file (dfd, "memory.soft_limit_in_bytes", "52428800");
  expect_file (dfd, "memory.swappiness", "10");
  expect_file (dfd, "memory.oom_control", "1");
  expect_file (dfd, "memory.kmem.tcp.limit_in_bytes", "8388608");
  expect_file (dfd, "cpu.shares", "512");
  expect_file (dfd, "cpu.cfs_quota_us", "50000");
  expect_file (dfd, "cpu.cfs_period_us", "100000");
  expect_file (dfd, "cpuset.cpus", "0");
  expect_file (dfd, "pids.max", "max");
  expect_file (dfd, "blkio.weight", "300");
  expect_file (dfd, "blkio.throttle.read_bps_device", "8:0 1024");
  expect_file (dfd, "blkio.throttle.write_iops_device", "8:16 10");
  expect_file (dfd, "hugetlb.2MB.limit_in_bytes", "2097152");
  expect_file (dfd, "devices.allow", "c 1:* rw");
  expect_file (dfd, "net_cls.classid", "1048577");
  expect_file (dfd, "net_prio.ifpriomap", "eth0 5");
  cgroup_resources_clear (&r);
}

static void
test_v1_errors_name_field (void **state)
{
  int dfd = (int)(intptr_t)*state;
  struct cgroup_resources r;
  /* No memory.limit_in_bytes in the dir: the controller is missing. */
  parse ("{\"memory\":{\"limit\":1048576}}", &r);
  struct berth_error *err = NULL;
  assert_int_equal (cgroup_v1_apply (dfd, CG_MEMORY, &r, &err), -1);
  assert_true (str_has_prefix (err->msg, "linux.resources.memory.limit: write \"1048576\" to "));
  assert_non_null (strstr (err->msg, "memory.limit_in_bytes: the file does not exist"));
  berth_error_freep (&err);
  cgroup_resources_clear (&r);
  parse ("{\"hugepageLimits\":[{\"pageSize\":\"64KB\",\"limit\":1}]}", &r);
  assert_int_equal (cgroup_v1_apply (dfd, CG_HUGETLB, &r, &err), -1);
  assert_string_equal (err->msg, "linux.resources.hugepageLimits[0].pageSize: 64KB is not a huge "
                                 "page size of this host");
  berth_error_freep (&err);
  cgroup_resources_clear (&r);
}

static void
test_v1_devices_order (void **state)
{
  int dfd = (int)(intptr_t)*state;
  /* The kernel takes each write(2) as one rule; the file stays open across
   * the list, so a plain file shows the rules in the order written. */
  touch (dfd, "devices.allow", NULL);
  touch (dfd, "devices.deny", NULL);
  struct cgroup_resources r;
  parse ("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
         "{\"allow\":false,\"type\":\"b\",\"major\":8,\"minor\":0,\"access\":\"m\"}]}",
         &r);
  assert_int_equal (cgroup_v1_apply (dfd, CG_DEVICES, &r, NULL), 0);
  expect_file (dfd, "devices.deny", "ab 8:0 m");
  cgroup_resources_clear (&r);
  /* "a" with less than everything must not become the kernel's "a" (which
   * means all devices, all access): it is written per type. */
  parse ("{\"devices\":[{\"allow\":false,\"type\":\"a\",\"access\":\"m\"}]}", &r);
  assert_int_equal (cgroup_v1_apply (dfd, CG_DEVICES, &r, NULL), 0);
  expect_file (dfd, "devices.deny", "c *:* mb *:* m");
  cgroup_resources_clear (&r);
  parse ("{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}", &r);
  assert_int_equal (cgroup_v1_apply (dfd, CG_DEVICES, &r, NULL), 0);
  expect_file (dfd, "devices.allow", "a");
  cgroup_resources_clear (&r);
}

/* ------------------------------------------------------------------ v2 -- */

static void
test_v2_writers (void **state)
{
  int dfd = (int)(intptr_t)*state;
  static const char *const files[]
      = { "memory.max",      "memory.swap.max",      "memory.low",  "cpu.weight", "cpu.max",
          "cpuset.cpus",     "cpuset.mems",          "pids.max",    "io.weight",  "io.max",
          "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "memory.high", "rdma.max" };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    touch (dfd, files[i], NULL);
  touch (dfd, "cpu.max", "max 100000\n");
  struct cgroup_resources r;
  parse ("{\"memory\":{\"limit\":104857600,\"swap\":209715200,\"reservation\":1048576},"
         "\"cpu\":{\"shares\":1024,\"quota\":50000,\"cpus\":\"0-1\"},"
         "\"pids\":{\"limit\":64},"
         "\"blockIO\":{\"weight\":500,\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,"
         "\"rate\":0}]},"
         "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
         "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}},"
         "\"unified\":{\"memory.high\":\"90000000\"}}",
         &r);
  struct berth_error *err = NULL;
  if (cgroup_v2_apply (dfd, ~0u, true, &r, &err) < 0)
    fail_msg ("%s", err->msg);
  expect_file (dfd, "memory.max", "104857600");
  expect_file (dfd, "memory.swap.max", "104857600"); /* 200 MiB memory+swap - 100 MiB */
  expect_file (dfd, "memory.low", "1048576");
  expect_file (dfd, "cpu.weight", "39");
  expect_file (dfd, "cpu.max", "50000 100000"); /* period kept from the file */
  expect_file (dfd, "cpuset.cpus", "0-1");
  expect_file (dfd, "pids.max", "64");
  expect_file (dfd, "io.weight", "default 4950");
  expect_file (dfd, "io.max", "8:0 wbps=max");
  expect_file (dfd, "hugetlb.2MB.max", "4194304");
  expect_file (dfd, "hugetlb.2MB.rsvd.max", "4194304");
  expect_file (dfd, "memory.high", "90000000");
  expect_file (dfd, "rdma.max", "mlx5_1 hca_handle=3 hca_object=max");
  cgroup_resources_clear (&r);

  /* An update with only the period keeps the quota in force. */
  touch (dfd, "cpu.max", "50000 100000\n");
  parse ("{\"cpu\":{\"period\":200000},\"memory\":{\"limit\":-1}}", &r);
  assert_int_equal (cgroup_v2_apply (dfd, ~0u, true, &r, NULL), 0);
  expect_file (dfd, "cpu.max", "50000 200000");
  expect_file (dfd, "memory.max", "max");
  expect_file (dfd, "memory.swap.max", "max");
  cgroup_resources_clear (&r);

  /* Only the controllers this hierarchy drives are written (hybrid). */
  touch (dfd, "pids.max", "7");
  parse ("{\"pids\":{\"limit\":99}}", &r);
  assert_int_equal (cgroup_v2_apply (dfd, CG_BIT (CG_HUGETLB), true, &r, NULL), 0);
  expect_file (dfd, "pids.max", "7");
  cgroup_resources_clear (&r);
}

static void
test_v2_errors (void **state)
{
  int dfd = (int)(intptr_t)*state;
  struct cgroup_resources r;
  struct berth_error *err = NULL;
  parse ("{\"cpu\":{\"realtimeRuntime\":1000}}", &r);
  assert_int_equal (cgroup_v2_apply (dfd, ~0u, true, &r, &err), -1);
  assert_true (str_has_prefix (err->msg, "linux.resources.cpu.realtimeRuntime: "));
  berth_error_freep (&err);
  cgroup_resources_clear (&r);
  parse ("{\"unified\":{\"memory.nosuch\":\"1\"}}", &r);
  assert_int_equal (cgroup_v2_apply (dfd, ~0u, true, &r, &err), -1);
  assert_true (str_has_prefix (err->msg, "linux.resources.unified[\"memory.nosuch\"]: write "));
  berth_error_freep (&err);
  cgroup_resources_clear (&r);
  /* v2 swap needs a memory limit (runc). */
  touch (dfd, "memory.swap.max", NULL);
  parse ("{\"memory\":{\"swap\":1000000}}", &r);
  assert_int_equal (cgroup_v2_apply (dfd, ~0u, true, &r, &err), -1);
  assert_true (str_has_prefix (err->msg, "linux.resources.memory.swap: "));
  berth_error_freep (&err);
  cgroup_resources_clear (&r);
}

static void
test_v2_freeze_events (void **state)
{
  int dfd = (int)(intptr_t)*state;
  /* A fake cgroup.events that already says frozen: freeze returns at once,
   * and the state reads back. */
  touch (dfd, "cgroup.freeze", NULL);
  touch (dfd, "cgroup.events", "populated 1\nfrozen 1\n");
  assert_int_equal (cgroup_v2_freeze (dfd, true, NULL), 0);
  expect_file (dfd, "cgroup.freeze", "1");
  bool frozen = false;
  assert_int_equal (cgroup_v2_is_frozen (dfd, &frozen, NULL), 0);
  assert_true (frozen);
  touch (dfd, "freezer.state", "THAWED\n");
  assert_int_equal (cgroup_v1_is_frozen (dfd, &frozen, NULL), 0);
  assert_false (frozen);
}

static void
test_v2_stats (void **state)
{
  int dfd = (int)(intptr_t)*state;
  touch (dfd, "memory.current", "4096\n");
  touch (dfd, "memory.max", "max\n");
  touch (dfd, "memory.stat", "anon 100\nfile 200\n");
  touch (dfd, "cpu.stat",
         "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\n"
         "nr_throttled 1\nthrottled_usec 7\n");
  touch (dfd, "pids.current", "2\n");
  touch (dfd, "pids.max", "max\n");
  touch (dfd, "io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n");
  json_t *s = json_object ();
  cgroup_v2_stats (dfd, ~0u, s);
  json_t *want = json_loads (
      "{\"memory_stats\":{\"usage\":4096,\"limit\":9223372036854775807,\"stats\":{\"anon\":100,"
      "\"file\":200}},\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":10000,\"usage_in_usermode\":"
      "6000,\"usage_in_kernelmode\":4000},\"throttling_data\":{\"periods\":3,"
      "\"throttled_periods\":1,\"throttled_time\":7000}},\"pids_stats\":{\"current\":2,"
      "\"limit\":0},\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"major\":8,\"minor\":0,"
      "\"op\":\"read\",\"value\":512},{\"major\":8,\"minor\":0,\"op\":\"write\",\"value\":1024}],"
      "\"io_serviced_recursive\":[{\"major\":8,\"minor\":0,\"op\":\"read\",\"value\":1},"
      "{\"major\":8,\"minor\":0,\"op\":\"write\",\"value\":2}]}}",
      0, NULL);
  assert_non_null (want);
  if (!json_equal (s, want))
    {
      char *got = json_dumps (s, JSON_COMPACT | JSON_SORT_KEYS);
      fail_msg ("stats: %s", got);
    }
  json_decref (s);
  json_decref (want);
}

static void
test_v1_stats (void **state)
{
  int dfd = (int)(intptr_t)*state;
  touch (dfd, "cpuacct.usage", "5000\n");
  touch (dfd, "cpuacct.usage_percpu", "3000 2000 \n");
  touch (dfd, "pids.current", "3\n");
  touch (dfd, "pids.max", "40\n");
  touch (dfd, "blkio.throttle.io_service_bytes_recursive",
         "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  json_t *s = json_object ();
  cgroup_v1_stats (dfd, CG_CPUACCT, s);
  cgroup_v1_stats (dfd, CG_PIDS, s);
  cgroup_v1_stats (dfd, CG_BLKIO, s);
  json_t *u = json_object_get (json_object_get (s, "cpu_stats"), "cpu_usage");
  assert_int_equal (json_integer_value (json_object_get (u, "total_usage")), 5000);
  assert_int_equal (json_array_size (json_object_get (u, "percpu_usage")), 2);
  assert_int_equal (
      json_integer_value (json_object_get (json_object_get (s, "pids_stats"), "limit")), 40);
  json_t *io = json_object_get (json_object_get (s, "blkio_stats"), "io_service_bytes_recursive");
  assert_int_equal (json_array_size (io), 2);
  assert_string_equal (json_string_value (json_object_get (json_array_get (io, 0), "op")), "Read");
  json_decref (s);
}

/* -------------------------------------------------------------- layout -- */

static const char hybrid_mountinfo[]
    = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_self[] = "9:name=systemd:/\n4:memory:/a/b\n3:freezer:/\n5:devices:/\n"
                                  "2:cpuacct:/\n1:cpu:/\n0::/\n";

static void
test_layout_hybrid (void **state)
{
  (void)state;
  struct cgroup_hosts h;
  assert_int_equal (cgroup_hosts_parse (hybrid_mountinfo, hybrid_self, "hugetlb\n", &h, NULL), 0);
  assert_int_equal (h.layout, CGROUP_LAYOUT_HYBRID);
  assert_int_equal (h.n_hiers, 7);
  assert_string_equal (h.hiers[0].name, "cpu");
  assert_int_equal (h.hiers[0].controllers, CG_BIT (CG_CPU));
  assert_string_equal (h.hiers[2].mountpoint, "/sys/fs/cgroup/memory");
  assert_string_equal (h.hiers[2].self_path, "/a/b");
  assert_string_equal (h.hiers[5].name, "name=systemd");
  assert_int_equal (h.hiers[5].controllers, 0);
  assert_true (h.hiers[6].is_v2);
  /* hugetlb on v2; devices and freezer stay with v1; cpu usage from cpuacct. */
  assert_int_equal (h.hiers[6].controllers, CG_BIT (CG_HUGETLB));
  cgroup_hosts_clear (&h);
}

static void
test_layout_v2_and_v1 (void **state)
{
  (void)state;
  struct cgroup_hosts h;
  assert_int_equal (
      cgroup_hosts_parse ("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
                          "0::/user.slice\n", "cpuset cpu io memory hugetlb pids rdma misc\n", &h,
                          NULL),
      0);
  assert_int_equal (h.layout, CGROUP_LAYOUT_V2);
  assert_int_equal (h.n_hiers, 1);
  unsigned want = CG_BIT (CG_CPUSET) | CG_BIT (CG_CPU) | CG_BIT (CG_BLKIO) | CG_BIT (CG_MEMORY)
                  | CG_BIT (CG_HUGETLB) | CG_BIT (CG_PIDS) | CG_BIT (CG_DEVICES)
                  | CG_BIT (CG_FREEZER) | CG_BIT (CG_CPUACCT) | CG_BIT (CG_RDMA);
  assert_int_equal (h.hiers[0].controllers, want);
  assert_string_equal (h.hiers[0].self_path, "/user.slice");
  cgroup_hosts_clear (&h);

  /* Pure v1 with co-mounted cpu,cpuacct and an escaped mount point. */
  assert_int_equal (
      cgroup_hosts_parse (
          "32 31 0:29 / /sys/fs/cgroup/cpu\\054cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
          "33 31 0:30 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n"
          "34 31 0:30 / /mnt/pids-again rw - cgroup cgroup rw,pids\n",
          "3:pids:/x\n2:cpu,cpuacct:/\n", NULL, &h, NULL),
      0);
  assert_int_equal (h.layout, CGROUP_LAYOUT_V1);
  assert_int_equal (h.n_hiers, 2); /* the second pids mount is the same hierarchy */
  assert_string_equal (h.hiers[0].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  assert_string_equal (h.hiers[0].name, "cpu,cpuacct");
  assert_int_equal (h.hiers[0].controllers, CG_BIT (CG_CPU) | CG_BIT (CG_CPUACCT));
  assert_string_equal (h.hiers[1].mountpoint, "/sys/fs/cgroup/my pids");
  cgroup_hosts_clear (&h);

  struct berth_error *err = NULL;
  assert_int_equal (cgroup_hosts_parse ("1 2 0:1 / / rw - ext4 /dev/sda rw\n", "", NULL, &h, &err),
                    -1);
  assert_non_null (strstr (err->msg, "no cgroup or cgroup2 file system is mounted"));
  berth_error_free (err);
}

/* --------------------------------------------------------------- paths -- */

static void
test_paths (void **state)
{
  (void)state;
  struct cgroup_hier h = {
    .mountpoint = "/sys/fs/cgroup/memory", .mount_root = "/", .name = "memory", .self_path = "/a/b"
  };
  static const struct
  {
    const char *path;
    bool systemd;
    const char *want; /* NULL: error */
  } rows[] = {
    { NULL, false, "/berth/c1" },
    { "", false, "/berth/c1" },
    { "/x/y/", false, "/x/y" },
    { "//x//y", false, "/x/y" },
    { "rel/c", false, "/a/b/rel/c" },
    { "/x/../etc", false, NULL },
    { "/", false, NULL },
    { "machine.slice:berth:c1", true, "/machine.slice/berth-c1.scope" },
    { "a-b-c.slice:pre:n", true, "/a.slice/a-b.slice/a-b-c.slice/pre-n.scope" },
    { ":berth:c1", true, "/system.slice/berth-c1.scope" },
    { "-.slice::n", true, "/n.scope" },
    { "user.slice:p:inner.slice", true, "/user.slice/inner.slice" },
    { NULL, true, "/system.slice/berth-c1.scope" },
    { "a--b.slice:p:n", true, NULL },
    { "nota:slice", true, NULL },
    { "x.slice:p:", true, NULL },
    { "x:p:n", true, NULL },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    {
      struct berth_error *err = NULL;
      _cleanup_free_ char *got
          = cgroup_resolve_path (&h, "c1", rows[i].path, rows[i].systemd, &err);
      if (rows[i].want == NULL)
        {
          if (got != NULL)
            fail_msg ("row %zu: %s should fail, got %s", i, rows[i].path, got);
          assert_true (str_has_prefix (err->msg, "linux.cgroupsPath: "));
          berth_error_free (err);
        }
      else if (got == NULL || strcmp (got, rows[i].want) != 0)
        fail_msg ("row %zu: %s: got %s want %s", i, rows[i].path ? rows[i].path : "(null)",
                  got ? got : err->msg, rows[i].want);
    }
}

/* ------------------------------------------------ create on a fake host -- */

static struct cgroup_hosts
fake_hosts (const char *root)
{
  struct cgroup_hosts h = { .layout = CGROUP_LAYOUT_V1 };
  h.hiers = calloc (1, sizeof *h.hiers);
  h.hiers[0] = (struct cgroup_hier){ .mountpoint = xasprintf ("%s/pids", root),
                                     .mount_root = xstrdup ("/"),
                                     .name = xstrdup ("name=fake"),
                                     .self_path = xstrdup ("/") };
  h.n_hiers = 1;
  return h;
}

static bool
exists (const char *root, const char *rel)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", root, rel);
  struct stat st;
  return stat (p, &st) == 0;
}

static void
test_create_destroy_fake (void **state)
{
  int dfd = (int)(intptr_t)*state;
  assert_int_equal (mkdirat (dfd, "pids", 0755), 0);
  struct cgroup_hosts h = fake_hosts (tmpl);
  struct berth_error *err = NULL;
  /* Two containers share the /berth parent berth creates. */
  struct cgroup *a = cgroup_create_on (&h, "ca", NULL, false, NULL, &err);
  if (a == NULL)
    fail_msg ("%s", err->msg);
  struct cgroup *b = cgroup_create_on (&h, "cb", NULL, false, NULL, &err);
  assert_non_null (b);
  assert_true (exists (tmpl, "pids/berth/ca"));
  char v[4];
  _cleanup_free_ char *parent = xasprintf ("%s/pids/berth", tmpl);
  assert_int_equal (getxattr (parent, "trusted.berth.created", v, sizeof v), 1);

  /* State JSON round trip reopens the same dirs. */
  json_t *j = cgroup_to_json (a);
  struct cgroup *a2 = cgroup_from_json (j, &err);
  assert_non_null (a2);
  json_t *j2 = cgroup_to_json (a2);
  assert_true (json_equal (j, j2));
  json_decref (j);
  json_decref (j2);
  cgroup_free (a);

  assert_int_equal (cgroup_destroy (a2, &err), 0);
  assert_false (exists (tmpl, "pids/berth/ca"));
  assert_true (exists (tmpl, "pids/berth")); /* cb still uses it */
  assert_int_equal (cgroup_destroy (b, &err), 0);
  assert_false (exists (tmpl, "pids/berth")); /* the last one removes it */
  cgroup_free (a2);
  cgroup_free (b);

  /* A parent berth did not create is never removed. */
  assert_int_equal (mkdirat (dfd, "pids/theirs", 0755), 0);
  struct cgroup *c = cgroup_create_on (&h, "cc", "/theirs/mine/cc", false, NULL, &err);
  assert_non_null (c);
  assert_int_equal (cgroup_destroy (c, &err), 0);
  assert_false (exists (tmpl, "pids/theirs/mine"));
  assert_true (exists (tmpl, "pids/theirs"));
  cgroup_free (c);

  /* Bad input leaves nothing behind: validation happens before mkdir. */
  json_t *bad = json_pack ("{s:{s:i}}", "memory", "limit", -9);
  assert_null (cgroup_create_on (&h, "cd", NULL, false, bad, &err));
  assert_true (str_has_prefix (err->msg, "linux.resources.memory.limit: "));
  berth_error_freep (&err);
  json_decref (bad);
  /* A controller no hierarchy has is an error naming the field. */
  json_t *mem = json_pack ("{s:{s:i}}", "memory", "limit", 1 << 20);
  assert_null (cgroup_create_on (&h, "cd", NULL, false, mem, &err));
  assert_string_equal (err->msg, "linux.resources.memory: the memory controller is not available "
                                 "on this host");
  berth_error_freep (&err);
  json_decref (mem);
  assert_false (exists (tmpl, "pids/berth"));
  cgroup_hosts_clear (&h);
}

/* Pure v2 on a fake root: controllers are delegated from the root down
 * (cgroup.subtree_control), the pid goes to cgroup.procs, state says v2. */
static void
test_create_v2_fake (void **state)
{
  int dfd = (int)(intptr_t)*state;
  assert_int_equal (mkdirat (dfd, "v2", 0755), 0);
  touch (dfd, "v2/cgroup.controllers", "cpuset cpu io memory pids\n");
  touch (dfd, "v2/cgroup.subtree_control", "cpu\n");
  struct cgroup_hosts h = { .layout = CGROUP_LAYOUT_V2 };
  h.hiers = calloc (1, sizeof *h.hiers);
  h.hiers[0] = (struct cgroup_hier){ .mountpoint = xasprintf ("%s/v2", tmpl),
                                     .mount_root = xstrdup ("/"),
                                     .name = xstrdup ("unified"),
                                     .is_v2 = true,
                                     .controllers = CG_BIT (CG_MEMORY) | CG_BIT (CG_PIDS)
                                                    | CG_BIT (CG_CPU) | CG_BIT (CG_FREEZER),
                                     .self_path = xstrdup ("/") };
  h.n_hiers = 1;
  struct berth_error *err = NULL;
  struct cgroup *cg = cgroup_create_on (&h, "v", NULL, false, NULL, &err);
  if (cg == NULL)
    fail_msg ("%s", err->msg);
  /* cpu was on already; memory then pids were enabled (one write each, so
   * the plain file keeps the last); io and cpuset are not berth's here. */
  expect_file (dfd, "v2/cgroup.subtree_control", "+pids");
  touch (dfd, "v2/berth/v/cgroup.procs", NULL);
  assert_int_equal (cgroup_enter (cg, 4242, &err), 0);
  expect_file (dfd, "v2/berth/v/cgroup.procs", "4242");
  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal (cgroup_pids (cg, &pids, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (pids[0], 4242);
  free (pids);
  json_t *j = cgroup_to_json (cg);
  assert_string_equal (json_string_value (json_object_get (j, "layout")), "v2");
  json_decref (j);
  /* No process left (never signal a made-up pid), then destroy. */
  assert_int_equal (unlinkat (dfd, "v2/berth/v/cgroup.procs", 0), 0);
  assert_int_equal (cgroup_destroy (cg, &err), 0);
  struct stat st;
  assert_int_equal (fstatat (dfd, "v2/berth", &st, 0), -1);
  cgroup_free (cg);
  cgroup_hosts_clear (&h);
}

static void
test_from_json_rejects (void **state)
{
  (void)state;
  static const char *const bad[] = {
    "{}",
    "{\"layout\":\"v3\",\"dirs\":[]}",
    "{\"layout\":\"v2\",\"dirs\":[{\"mountpoint\":\"/sys/fs/cgroup\",\"hierarchy\":\"unified\","
    "\"controllers\":[],\"path\":\"/../../etc\"}]}",
    "{\"layout\":\"v2\",\"dirs\":[{\"mountpoint\":\"rel\",\"hierarchy\":\"unified\","
    "\"controllers\":[],\"path\":\"/x\"}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      json_t *j = json_loads (bad[i], 0, NULL);
      struct berth_error *err = NULL;
      assert_null (cgroup_from_json (j, &err));
      assert_true (str_has_prefix (err->msg, "cgroup state: "));
      berth_error_free (err);
      json_decref (j);
    }
}

/* -------------------------------------------------------- devices (bpf) -- */

static void
test_devices_bpf_shape (void **state)
{
  (void)state;
  struct cgroup_device_rule rules[] = {
    { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
    { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rw" },
  };
  void *insns = NULL;
  size_t n = cgroup_devices_bpf_build (rules, 2, &insns);
  /* 6 loads, rule 2 (type, access x3, major, minor, ret x2 = 8), rule 1
   * (deny-all: access x3, ret x2 = 5), default (2). */
  assert_int_equal (n, 6 + 8 + 5 + 2);
  const unsigned char *b = insns;
  /* The last instruction is "exit" (BPF_JMP | BPF_EXIT = 0x95). */
  assert_int_equal (b[(n - 1) * 8], 0x95);
  free (insns);

  /* A rule that matches everything ends the program: code after it would
   * be unreachable and the verifier refuses that. */
  struct cgroup_device_rule all[] = {
    { .allow = false, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
    { .allow = true, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
  };
  n = cgroup_devices_bpf_build (all, 2, &insns);
  assert_int_equal (n, 6 + 2);
  free (insns);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_v1_writers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_errors_name_field, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_devices_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_writers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_freeze_events, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_stats, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_stats, setup, teardown),
    cmocka_unit_test (test_layout_hybrid),
    cmocka_unit_test (test_layout_v2_and_v1),
    cmocka_unit_test (test_paths),
    cmocka_unit_test_setup_teardown (test_create_destroy_fake, setup, teardown),
    cmocka_unit_test_setup_teardown (test_create_v2_fake, setup, teardown),
    cmocka_unit_test (test_from_json_rejects),
    cmocka_unit_test (test_devices_bpf_shape),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
