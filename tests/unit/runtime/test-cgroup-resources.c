/* Validation of OCI linux.resources (every bad value names its field) and
 * runc's v1 → v2 conversions. Table-driven: one row per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/cgroup-internal.h"

struct bad_case
{
  const char *json;
  const char *error; /* expected prefix of the message */
};

static const struct bad_case bad_cases[] = {
  { "[]", "linux.resources: must be an object" },
  { "{\"memory\":5}", "linux.resources.memory: must be an object" },
  { "{\"memory\":{\"limit\":\"1g\"}}", "linux.resources.memory.limit: must be an integer" },
  { "{\"memory\":{\"limit\":-5}}", "linux.resources.memory.limit: must be -1" },
  { "{\"memory\":{\"reservation\":-2}}", "linux.resources.memory.reservation: must be -1" },
  { "{\"memory\":{\"limit\":1000000,\"swap\":1000}}",
    "linux.resources.memory.swap: must be at least memory.limit" },
  { "{\"memory\":{\"swappiness\":101}}",
    "linux.resources.memory.swappiness: must be between 0 and 100" },
  { "{\"memory\":{\"disableOOMKiller\":1}}",
    "linux.resources.memory.disableOOMKiller: must be a boolean" },
  { "{\"cpu\":{\"shares\":1}}", "linux.resources.cpu.shares: must be between 2 and 262144" },
  { "{\"cpu\":{\"shares\":-3}}", "linux.resources.cpu.shares: must not be negative" },
  { "{\"cpu\":{\"quota\":10}}",
    "linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000" },
  { "{\"cpu\":{\"period\":999}}", "linux.resources.cpu.period: must be between 1000 and 1000000" },
  { "{\"cpu\":{\"cpus\":\"0-\"}}", "linux.resources.cpu.cpus: must be a list" },
  { "{\"cpu\":{\"mems\":\"a\"}}", "linux.resources.cpu.mems: must be a list" },
  { "{\"cpu\":{\"idle\":2}}", "linux.resources.cpu.idle: must be 0 or 1" },
  { "{\"pids\":{\"limit\":\"x\"}}", "linux.resources.pids.limit: must be an integer" },
  { "{\"blockIO\":{\"weight\":5}}", "linux.resources.blockIO.weight: must be between 10 and 1000" },
  { "{\"blockIO\":{\"weightDevice\":[{\"major\":8}]}}",
    "linux.resources.blockIO.weightDevice[0].minor: must be a device minor number" },
  { "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}",
    "linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required" },
  { "{\"blockIO\":{\"throttleWriteIOPSDevice\":{}}}",
    "linux.resources.blockIO.throttleWriteIOPSDevice: must be an array" },
  { "{\"hugepageLimits\":[{\"pageSize\":\"2M\",\"limit\":1}]}",
    "linux.resources.hugepageLimits[0].pageSize: must be a page size" },
  { "{\"hugepageLimits\":[{\"pageSize\":\"2MB\"}]}",
    "linux.resources.hugepageLimits[0].limit: is required" },
  { "{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", "linux.resources.devices[0].type: must be" },
  { "{\"devices\":[{\"type\":\"c\"}]}", "linux.resources.devices[0].allow: is required" },
  { "{\"devices\":[{\"allow\":false},{\"allow\":true,\"access\":\"rwx\"}]}",
    "linux.resources.devices[1].access: must be a combination" },
  { "{\"devices\":[{\"allow\":true,\"access\":\"rr\"}]}",
    "linux.resources.devices[0].access: must be a combination" },
  { "{\"devices\":[{\"allow\":true,\"major\":-7}]}",
    "linux.resources.devices[0].major: must be -1 (any)" },
  { "{\"network\":{\"classID\":-1}}", "linux.resources.network.classID: must not be negative" },
  { "{\"network\":{\"priorities\":[{\"name\":\"eth0/x\",\"priority\":1}]}}",
    "linux.resources.network.priorities[0].name: must be a network interface name" },
  { "{\"rdma\":{\"mlx5 1\":{}}}", "linux.resources.rdma[\"mlx5 1\"]: must be an RDMA device name" },
  { "{\"rdma\":{\"mlx5_1\":{\"hcaObjects\":-1}}}",
    "linux.resources.rdma[\"mlx5_1\"].hcaObjects: must not be negative" },
  { "{\"unified\":{\"memory.high\":5}}",
    "linux.resources.unified[\"memory.high\"]: must be a string" },
  { "{\"unified\":{\"../memory.max\":\"1\"}}",
    "linux.resources.unified[\"../memory.max\"]: must be a cgroup v2 file name" },
  { "{\"unified\":{\"cgroup.procs\":\"1\"}}",
    "linux.resources.unified[\"cgroup.procs\"]: cgroup.* core files" },
};

static void
test_bad_resources (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    {
      json_error_t jerr;
      json_t *j = json_loads (bad_cases[i].json, 0, &jerr);
      assert_non_null (j);
      struct cgroup_resources r;
      struct berth_error *err = NULL;
      int rc = cgroup_resources_parse (j, &r, &err);
      if (rc == 0 || err == NULL || !str_has_prefix (err->msg, bad_cases[i].error))
        fail_msg ("case %zu %s: got %s", i, bad_cases[i].json, err ? err->msg : "success");
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
      json_decref (j);
    }
}

static void
test_good_resources (void **state)
{
  (void)state;
  json_error_t jerr;
  json_t *j = json_loads (
      "{\"memory\":{\"limit\":104857600,\"swap\":209715200,\"reservation\":0,\"kernel\":5},"
      "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\",\"mems\":\"0\"},"
      "\"pids\":{\"limit\":0},"
      "\"blockIO\":{\"weight\":500,\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":"
      "1048576}]},"
      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
      "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":"
      "1,\"minor\":3,\"access\":\"rw\"}],"
      "\"unified\":{\"memory.high\":\"50000000\"}}",
      0, &jerr);
  assert_non_null (j);
  struct cgroup_resources r;
  struct berth_error *err = NULL;
  assert_int_equal (cgroup_resources_parse (j, &r, &err), 0);
  assert_true (r.has_memory_limit);
  assert_int_equal (r.memory_limit, 104857600);
  assert_true (r.has_memory_swap);
  assert_false (r.has_memory_reservation); /* 0 means unset (runc) */
  assert_false (r.has_pids_limit);         /* 0 means unset (runc) */
  assert_int_equal (r.cpu_shares, 1024);
  assert_string_equal (r.cpus, "0-1");
  assert_int_equal (r.n_throttle[CG_THROTTLE_READ_BPS], 1);
  assert_int_equal (r.throttle[CG_THROTTLE_READ_BPS][0].rate, 1048576);
  assert_int_equal (r.n_hugepages, 1);
  assert_int_equal (r.n_devices, 2);
  assert_int_equal (r.devices[0].type, 'a');
  assert_int_equal (r.devices[0].major, -1);
  assert_int_equal (r.devices[1].minor, 3);
  assert_string_equal (r.devices[1].access, "rw");
  assert_non_null (r.unified);
  unsigned need = cgroup_resources_controllers (&r);
  assert_true (need & CG_BIT (CG_MEMORY));
  assert_true (need & CG_BIT (CG_CPU));
  assert_true (need & CG_BIT (CG_CPUSET));
  assert_false (need & CG_BIT (CG_PIDS));
  assert_true (need & CG_BIT (CG_BLKIO));
  assert_true (need & CG_BIT (CG_HUGETLB));
  assert_true (need & CG_BIT (CG_DEVICES));
  cgroup_resources_clear (&r);
  json_decref (j);
  /* null and absent resources are "nothing to do". */
  assert_int_equal (cgroup_resources_parse (NULL, &r, &err), 0);
  assert_int_equal (cgroup_resources_controllers (&r), 0);
  cgroup_resources_clear (&r);
}

static void
test_swappiness_minus_one_is_unset (void **state)
{
  (void)state;
  json_t *j = json_pack ("{s:{s:i,s:b}}", "memory", "swappiness", -1, "checkBeforeUpdate", 1);
  struct cgroup_resources r;
  assert_int_equal (cgroup_resources_parse (j, &r, NULL), 0);
  assert_false (r.has_swappiness); /* Docker's "unset" */
  assert_true (r.check_before_update);
  cgroup_resources_clear (&r);
  json_decref (j);
}

static void
test_pids_negative_is_max (void **state)
{
  (void)state;
  json_t *j = json_pack ("{s:{s:i}}", "pids", "limit", -5);
  struct cgroup_resources r;
  assert_int_equal (cgroup_resources_parse (j, &r, NULL), 0);
  assert_true (r.has_pids_limit);
  assert_int_equal (r.pids_limit, -1);
  cgroup_resources_clear (&r);
  json_decref (j);
}

/* runc's ConvertCPUSharesToCgroupV2Value. */
static void
test_convert_shares (void **state)
{
  (void)state;
  static const struct
  {
    uint64_t shares, weight;
  } rows[] = { { 0, 0 }, { 2, 1 }, { 1024, 39 }, { 512, 20 }, { 262144, 10000 }, { 1, 1 } };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    assert_int_equal (cgroup_convert_shares_to_weight (rows[i].shares), rows[i].weight);
}

/* runc's ConvertBlkIOToIOWeightValue. */
static void
test_convert_blkio_weight (void **state)
{
  (void)state;
  static const struct
  {
    uint64_t in, out;
  } rows[] = { { 0, 0 }, { 10, 1 }, { 500, 4950 }, { 1000, 10000 } };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    assert_int_equal (cgroup_convert_blkio_weight_to_io_weight (rows[i].in), rows[i].out);
}

/* runc's ConvertMemorySwapToCgroupV2Value. */
static void
test_convert_swap (void **state)
{
  (void)state;
  static const struct
  {
    int64_t swap, limit, out;
    bool is_set, fails;
  } rows[] = {
    { 0, -1, -1, true, false },     /* memory unlimited, swap unset: both unlimited */
    { -1, 100, -1, true, false },   /* swap unlimited */
    { 0, 100, 0, false, false },    /* swap unset: leave it */
    { 300, 100, 200, true, false }, /* memory+swap 300, memory 100: swap 200 */
    { 100, 100, 0, true, false },   /* no swap at all */
    { 50, 100, 0, false, true },    /* swap below the memory limit */
    { 300, 0, 0, false, true },     /* swap without a memory limit */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    {
      int64_t out = 12345;
      bool is_set = false;
      struct berth_error *err = NULL;
      int rc = cgroup_convert_swap_to_v2 (rows[i].swap, rows[i].limit, &out, &is_set, &err);
      if (rows[i].fails)
        {
          assert_int_equal (rc, -1);
          assert_true (str_has_prefix (err->msg, "linux.resources.memory.swap: "));
          berth_error_free (err);
          continue;
        }
      assert_int_equal (rc, 0);
      assert_int_equal (is_set, rows[i].is_set);
      if (is_set)
        assert_int_equal (out, rows[i].out);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bad_resources),
    cmocka_unit_test (test_good_resources),
    cmocka_unit_test (test_pids_negative_is_max),
    cmocka_unit_test (test_swappiness_minus_one_is_unset),
    cmocka_unit_test (test_convert_shares),
    cmocka_unit_test (test_convert_blkio_weight),
    cmocka_unit_test (test_convert_swap),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
