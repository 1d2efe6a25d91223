/* sched.c and idmap.c as a specification: process.scheduler and
 * process.execCPUAffinity are parsed into sched_setattr/sched_setaffinity
 * values, mounts[].uidMappings/gidMappings and idmap/ridmap into an idmapped
 * bind, and every bad input is refused with an error naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <string.h>

#include "runtime/runtime-internal.h"

static int
parse_process (const char *text, struct spec_process *p, struct berth_error **err)
{
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  assert_non_null (j);
  int r = spec_process_parse (j, "process", p, NULL, err);
  json_decref (j);
  return r;
}

#define PROC(extra) "{\"args\":[\"sh\"],\"cwd\":\"/\"," extra "}"

static const struct
{
  const char *process, *error_contains;
} bad_cases[] = {
  { PROC ("\"scheduler\":5"), "process.scheduler: must be an object" },
  { PROC ("\"scheduler\":{}"), "process.scheduler.policy: required" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_FAST\"}"), "unknown policy `SCHED_FAST`" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_ISO\"}"), "unknown policy `SCHED_ISO`" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":20}"), "process.scheduler.nice" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":\"1\"}"), "process.scheduler.nice" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_FIFO\"}"),
    "process.scheduler.priority: SCHED_FIFO needs a priority between 1 and 99" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_RR\",\"priority\":100}"),
    "process.scheduler.priority" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_BATCH\",\"priority\":3}"),
    "process.scheduler.priority: must be 0 for SCHED_BATCH" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"priority\":-1}"),
    "process.scheduler.priority: must be a non-negative integer" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":[\"SCHED_FLAG_NOPE\"]}"),
    "process.scheduler.flags[0]: unknown flag `SCHED_FLAG_NOPE`" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":\"x\"}"),
    "process.scheduler.flags: must be an array" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":10}"),
    "SCHED_DEADLINE needs runtime and deadline" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":10,\"deadline\":5}"),
    "runtime <= deadline <= period" },
  { PROC ("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"period\":5}"), "for SCHED_DEADLINE only" },
  { PROC ("\"execCPUAffinity\":[]"), "process.execCPUAffinity: must be an object" },
  { PROC ("\"execCPUAffinity\":{\"initial\":\"\"}"), "process.execCPUAffinity.initial" },
  { PROC ("\"execCPUAffinity\":{\"final\":\"3-1\"}"), "process.execCPUAffinity.final: `3-1`" },
  { PROC ("\"execCPUAffinity\":{\"final\":\"0,,1\"}"), "process.execCPUAffinity.final" },
  { PROC ("\"execCPUAffinity\":{\"final\":\"a\"}"), "process.execCPUAffinity.final" },
  { PROC ("\"execCPUAffinity\":{\"final\":\"-1\"}"), "process.execCPUAffinity.final" },
  { PROC ("\"execCPUAffinity\":{\"final\":\"99999\"}"), "process.execCPUAffinity.final" },
  { PROC ("\"execCPUAffinity\":{\"initial\":7}"), "process.execCPUAffinity.initial" },
};

static void
test_bad_scheduler_and_affinity_name_the_field (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    {
      struct berth_error *err = NULL;
      struct spec_process p;
      int r = parse_process (bad_cases[i].process, &p, &err);
      if (r == 0 || err == NULL || strstr (err->msg, bad_cases[i].error_contains) == NULL)
        fail_msg ("case %zu: wanted an error containing `%s`, got `%s`", i,
                  bad_cases[i].error_contains, err ? err->msg : "(accepted)");
      assert_int_equal (err->kind, BERTH_E_INVALID);
      spec_process_clear (&p);
      berth_error_free (err);
    }
}

static void
test_scheduler_and_affinity_parse (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  struct spec_process p;
  assert_int_equal (parse_process (PROC ("\"scheduler\":{\"policy\":\"SCHED_RR\",\"priority\":7,"
                                         "\"nice\":-3,\"flags\":[\"SCHED_FLAG_RESET_ON_FORK\"]},"
                                         "\"execCPUAffinity\":{\"initial\":\"1\",\"final\":\"0-2,5\"}"),
                                   &p, &err),
                    0);
  assert_true (p.has_sched);
  assert_int_equal (p.sched.policy, SCHED_RR);
  assert_int_equal (p.sched.priority, 7);
  assert_int_equal (p.sched.nice, -3);
  assert_int_equal (p.sched.flags, 1);
  assert_true (p.has_cpu_initial && p.has_cpu_final);
  assert_int_equal (CPU_COUNT (&p.cpu_initial), 1);
  assert_true (CPU_ISSET (1, &p.cpu_initial));
  assert_int_equal (CPU_COUNT (&p.cpu_final), 4);
  assert_true (CPU_ISSET (5, &p.cpu_final) && !CPU_ISSET (3, &p.cpu_final));
  spec_process_clear (&p);

  assert_int_equal (parse_process (PROC ("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\","
                                         "\"runtime\":100,\"deadline\":200,\"period\":300}"),
                                   &p, &err),
                    0);
  assert_int_equal (p.sched.policy, 6);
  assert_int_equal (p.sched.period, 300);
  assert_false (p.has_cpu_initial || p.has_cpu_final);
  spec_process_clear (&p);
}

#define MOUNT_CONFIG(mount)                                                                       \
  "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"sh\"],"     \
  "\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]},\"mounts\":[" mount "]}"
#define MAPS(key, c, h, n) "\"" key "\":[{\"containerID\":" c ",\"hostID\":" h ",\"size\":" n "}]"

static struct spec *
parse_config (const char *text, struct berth_error **err)
{
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  assert_non_null (j);
  struct spec *s = spec_parse (j, err);
  json_decref (j);
  return s;
}

static const struct
{
  const char *config, *error_contains;
} bad_idmaps[] = {
  { MOUNT_CONFIG ("{\"destination\":\"/x\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":[\"idmap\"]}"),
    "mounts[0].options: idmapped mounts need a bind mount" },
  { MOUNT_CONFIG ("{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\"," MAPS ("uidMappings", "0", "1", "1") "}"),
    "mounts[0]: uidMappings and gidMappings go together" },
  { MOUNT_CONFIG ("{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\"," MAPS ("uidMappings", "0", "1", "0") "," MAPS ("gidMappings", "0", "1", "1") "}"),
    "mounts[0].uidMappings[0].size" },
  { MOUNT_CONFIG ("{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\"," MAPS ("uidMappings", "0", "1", "1") "," MAPS ("gidMappings", "-1", "1", "1") "}"),
    "mounts[0].gidMappings[0].containerID" },
  { MOUNT_CONFIG ("{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\",\"uidMappings\":[],\"gidMappings\":[]}"),
    "mounts[0].uidMappings: must be a non-empty array" },
};

static void
test_bad_idmapped_mounts_name_the_field (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_idmaps / sizeof bad_idmaps[0]; i++)
    {
      struct berth_error *err = NULL;
      struct spec *s = parse_config (bad_idmaps[i].config, &err);
      if (s != NULL || err == NULL || strstr (err->msg, bad_idmaps[i].error_contains) == NULL)
        fail_msg ("case %zu: wanted an error containing `%s`, got `%s`", i,
                  bad_idmaps[i].error_contains, err ? err->msg : "(accepted)");
      assert_int_equal (err->kind, BERTH_E_INVALID);
      spec_free (s);
      berth_error_free (err);
    }
}

static void
test_idmapped_mounts_parse (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  struct spec *s = parse_config (
      MOUNT_CONFIG ("{\"destination\":\"/a\",\"type\":\"bind\",\"source\":\"/s\","
                    "\"options\":[\"rbind\",\"ridmap\"]},"
                    "{\"destination\":\"/b\",\"source\":\"/s\",\"options\":[\"bind\"],"
                    MAPS ("uidMappings", "1000", "0", "1") "," MAPS ("gidMappings", "7", "8", "9") "},"
                    "{\"destination\":\"/c\",\"type\":\"bind\",\"source\":\"/s\"}"),
      &err);
  assert_non_null (s);
  assert_true (s->mounts[0].idmap && s->mounts[0].idmap_recursive);
  assert_int_equal (s->mounts[0].n_idmap_uids, 0);
  assert_true (s->mounts[1].idmap && !s->mounts[1].idmap_recursive);
  assert_int_equal (s->mounts[1].idmap_uids[0].container_id, 1000);
  assert_int_equal (s->mounts[1].idmap_uids[0].host_id, 0);
  assert_int_equal (s->mounts[1].idmap_gids[0].size, 9);
  assert_false (s->mounts[2].idmap);
  assert_false (s->mounts[0].idmap_prepared);
  spec_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bad_scheduler_and_affinity_name_the_field),
    cmocka_unit_test (test_scheduler_and_affinity_parse),
    cmocka_unit_test (test_bad_idmapped_mounts_name_the_field),
    cmocka_unit_test (test_idmapped_mounts_parse),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
