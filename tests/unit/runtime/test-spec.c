/* spec.c as a specification: which config.json berth-runtime accepts, and
 * for what it refuses, the error names the field (runc/crun reject the same
 * inputs; the wording is ours). Table-driven: one row per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

#include "runtime/runtime-internal.h"

#define BASE_PROCESS "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"
#define BASE_NS "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"}]}"
#define CONFIG(extra) "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}," extra "}"

static struct spec *
parse (const char *text, struct berth_error **err)
{
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  assert_non_null (j);
  struct spec *s = spec_parse (j, err);
  json_decref (j);
  return s;
}

struct bad_case
{
  const char *config;
  const char *error_contains;
};

static const struct bad_case bad_cases[] = {
  { "{\"root\":{\"path\":\"r\"}}", "ociVersion: missing" },
  { "{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "unsupported version" },
  { CONFIG (BASE_NS), "process: missing" },
  { "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS "," BASE_NS "}", "root: missing" },
  { CONFIG ("\"process\":{\"args\":[]}," BASE_NS), "process.args" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"cwd\":\"relative\"}," BASE_NS), "process.cwd" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"env\":[\"NOEQUALS\"]}," BASE_NS), "process.env[0]" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_NOPE\",\"soft\":1,"
            "\"hard\":1}]}," BASE_NS),
    "process.rlimits[0].type: unknown rlimit `RLIMIT_NOPE`" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,"
            "\"hard\":5}]}," BASE_NS),
    "soft limit 10 is above the hard limit 5" },
  { CONFIG (
        "\"process\":{\"args\":[\"sh\"],\"capabilities\":{\"bounding\":[\"CAP_FLY\"]}}," BASE_NS),
    "process.capabilities.bounding[0]: unknown capability `CAP_FLY`" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"oomScoreAdj\":5000}," BASE_NS),
    "process.oomScoreAdj" },
  { CONFIG ("\"process\":{\"args\":[\"sh\"],\"user\":{\"uid\":-1}}," BASE_NS), "process.user.uid" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}"),
    "needs a mount namespace" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"bogus\"}]}"),
    "linux.namespaces[1].type: unknown namespace `bogus`" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"mount\"}]}"),
    "given twice" },
  { CONFIG (BASE_PROCESS
            ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"net\",\"path\":\"x\"}]}"),
    "unknown namespace `net`" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\","
                         "\"path\":\"rel\"}]}"),
    "linux.namespaces[1].path: must be absolute" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}]}"),
    "a new user namespace needs uid and gid mappings" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"uidMappings\":[{"
                         "\"containerID\":0,\"hostID\":1,\"size\":1}]}"),
    "mappings need a new user namespace" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}],"
                         "\"uidMappings\":[{\"containerID\":0,\"hostID\":1}],\"gidMappings\":[]}"),
    "linux.uidMappings[0]" },
  { CONFIG (BASE_PROCESS ",\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}"),
    "needs a uts namespace" },
  { CONFIG (BASE_PROCESS "," BASE_NS ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]"),
    "mounts[0].destination" },
  { CONFIG (BASE_PROCESS "," BASE_NS ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]"),
    "mounts[0].source" },
  { CONFIG (BASE_PROCESS "," BASE_NS ",\"mounts\":[{\"destination\":\"/x\"}]"), "mounts[0].type" },
  { CONFIG (BASE_PROCESS
            "," BASE_NS
            ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"idmap\"]}]"),
    "mounts[0].options: idmapped mounts need a bind mount" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"sysctl\":{\"net.ipv4."
                         "ip_forward\":\"1\"}}"),
    "linux.sysctl.net.ipv4.ip_forward: not allowed" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"ipc\"}],"
                         "\"sysctl\":{\"kernel.shmmax\":1}}"),
    "linux.sysctl.kernel.shmmax: must be a string" },
  { CONFIG (
        BASE_PROCESS
        ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"rootfsPropagation\":\"sideways\"}"),
    "linux.rootfsPropagation" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"devices\":[{\"path\":"
                         "\"/dev/x\",\"type\":\"q\"}]}"),
    "linux.devices[0].type" },
  { CONFIG (BASE_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"devices\":[{\"path\":"
                         "\"/dev/x\",\"type\":\"c\"}]}"),
    "linux.devices[0].major" },
  { CONFIG (BASE_PROCESS
            ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"maskedPaths\":[\"proc/kcore\"]}"),
    "linux.maskedPaths" },
  { CONFIG (BASE_PROCESS "," BASE_NS ",\"hooks\":{\"prestart\":[{\"path\":\"relative\"}]}"),
    "hooks.prestart[0].path" },
  { CONFIG (BASE_PROCESS "," BASE_NS
                         ",\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\",\"timeout\":0}]}"),
    "hooks.poststop[0].timeout" },
  { CONFIG (BASE_PROCESS "," BASE_NS
                         ",\"hooks\":{\"poststart\":[{\"path\":\"/bin/true\",\"args\":[1]}]}"),
    "hooks.poststart[0].args[0]" },
};

static void
test_bad_configs_name_the_field (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    {
      struct berth_error *err = NULL;
      struct spec *s = parse (bad_cases[i].config, &err);
      if (s != NULL || err == NULL || strstr (err->msg, bad_cases[i].error_contains) == NULL)
        fail_msg ("case %zu: wanted an error containing `%s`, got `%s`", i,
                  bad_cases[i].error_contains, err ? err->msg : "(accepted)");
      assert_int_equal (err->kind, BERTH_E_INVALID);
      spec_free (s);
      berth_error_free (err);
    }
}

static void
test_full_config_parses (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  struct spec *s = parse (
      "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
      "\"hostname\":\"h\",\"domainname\":\"d\","
      "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
      " \"user\":{\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[5,6]},"
      " \"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=b\"],\"cwd\":\"/w\",\"noNewPrivileges\":true,"
      " \"oomScoreAdj\":-500,"
      " \"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"ambient\":[\"CAP_KILL\"]},"
      " \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200}]},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      " {\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/"
      "srv\",\"options\":[\"rbind\",\"rro\",\"nosuid\",\"rshared\"]}],"
      "\"hooks\":{\"prestart\":[{\"path\":\"/bin/"
      "true\",\"args\":[\"true\"],\"env\":[\"X=1\"],\"timeout\":5}]},"
      "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"},{\"type\":\"user\"},"
      "  {\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"ipc\"}],"
      " \"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
      " \"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
      " \"sysctl\":{\"kernel.shmmni\":\"100\",\"net.core.somaxconn\":\"10\"},"
      " \"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
      " \"rootfsPropagation\":\"rslave\",\"cgroupsPath\":\"/x/y\","
      " \"devices\":[{\"path\":\"/dev/"
      "fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,\"fileMode\":438}],"
      " \"resources\":{\"pids\":{\"limit\":5}}},"
      "\"annotations\":{\"a\":\"b\"}}",
      &err);
  if (s == NULL)
    fail_msg ("%s", err->msg);
  assert_true (s->root_readonly);
  assert_string_equal (s->hostname, "h");
  assert_true (s->process.terminal);
  assert_int_equal (s->process.console_rows, 24);
  assert_int_equal (s->process.uid, 1);
  assert_int_equal (s->process.gid, 2);
  assert_int_equal (s->process.umask, 18);
  assert_int_equal (s->process.n_additional_gids, 2);
  assert_int_equal (s->process.oom_score_adj, -500);
  assert_true (s->process.no_new_privileges);
  assert_true (s->process.caps.present);
  assert_int_equal (s->process.caps.sets[CAP_SET_BOUNDING], (1 << 5) | (1 << 0));
  assert_int_equal (s->process.caps.sets[CAP_SET_EFFECTIVE], 0);
  assert_int_equal (s->process.n_rlimits, 1);
  assert_int_equal (s->process.rlimits[0].hard, 200);
  assert_int_equal (s->n_mounts, 2);
  assert_true (s->mounts[1].is_bind && s->mounts[1].is_recursive);
  assert_int_equal (s->mounts[1].rec_attr_set, MOUNT_ATTR_RDONLY);
  assert_int_equal (s->mounts[1].attr_set, MOUNT_ATTR_NOSUID);
  assert_int_equal (s->mounts[1].propagation, MS_SHARED);
  assert_true (s->mounts[1].propagation_recursive);
  assert_int_equal (s->n_namespaces, 5);
  assert_string_equal (spec_find_namespace (s, CLONE_NEWNET)->path, "/proc/1/ns/net");
  assert_null (spec_find_namespace (s, CLONE_NEWPID));
  assert_int_equal (s->uid_maps[0].host_id, 1000);
  assert_int_equal (s->n_sysctls, 2);
  assert_int_equal (s->rootfs_propagation, MS_SLAVE | MS_REC);
  assert_string_equal (s->cgroups_path, "/x/y");
  assert_int_equal (s->devices[0].major, 10);
  assert_int_equal (s->devices[0].mode, 438);
  assert_int_equal (s->n_hooks[HOOK_PRESTART], 1);
  assert_int_equal (s->hooks[HOOK_PRESTART][0].timeout_s, 5);
  assert_string_equal (s->hooks[HOOK_PRESTART][0].env[0], "X=1");
  assert_non_null (s->resources);
  spec_free (s);
}

static void
test_default_spec_is_valid (void **state)
{
  (void)state;
  json_t *j = runtime_spec_default ();
  struct berth_error *err = NULL;
  struct spec *s = spec_parse (j, &err);
  json_decref (j);
  if (s == NULL)
    fail_msg ("%s", err->msg);
  assert_true (s->process.terminal);
  assert_true (devices_has_dev_mount (s));
  assert_non_null (spec_find_namespace (s, CLONE_NEWPID));
  spec_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bad_configs_name_the_field),
    cmocka_unit_test (test_full_config_parses),
    cmocka_unit_test (test_default_spec_is_valid),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
