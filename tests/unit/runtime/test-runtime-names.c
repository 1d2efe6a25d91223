/* The name tables of the runtime: mount options (runc's and crun's list,
 * including the recursive "r" variants of mount_setattr), capabilities,
 * rlimits, signals, container ids, and the state JSON `state` prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "runtime/runtime-internal.h"

struct mount_case
{
  const char *options; /* JSON array */
  uint64_t attr_set, attr_clr, rec_set, rec_clr;
  unsigned long propagation;
  bool recursive_propagation, is_bind, is_rbind;
  const char *data; /* joined with ',' */
};

static const struct mount_case mount_cases[] = {
  { "[]", 0, 0, 0, 0, 0, false, false, false, NULL },
  { "[\"ro\"]", MOUNT_ATTR_RDONLY, 0, 0, 0, 0, false, false, false, NULL },
  { "[\"ro\",\"rw\"]", 0, MOUNT_ATTR_RDONLY, 0, 0, 0, false, false, false, NULL },
  { "[\"nosuid\",\"nodev\",\"noexec\"]", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    0, 0, 0, 0, false, false, false, NULL },
  { "[\"noatime\"]", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, 0, 0, 0, false, false, false, NULL },
  { "[\"noatime\",\"strictatime\"]", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, 0, 0, 0, false,
    false, false, NULL },
  { "[\"rbind\",\"rro\"]", 0, 0, MOUNT_ATTR_RDONLY, 0, 0, false, true, true, NULL },
  { "[\"bind\",\"rnosuid\",\"rsuid\"]", 0, 0, 0, MOUNT_ATTR_NOSUID, 0, false, true, false, NULL },
  { "[\"rshared\"]", 0, 0, 0, 0, MS_SHARED, true, false, false, NULL },
  { "[\"private\"]", 0, 0, 0, 0, MS_PRIVATE, false, false, false, NULL },
  { "[\"rslave\",\"runbindable\"]", 0, 0, 0, 0, MS_UNBINDABLE, true, false, false, NULL },
  { "[\"mode=755\",\"size=65536k\",\"x-systemd.automount\",\"defaults\"]", 0, 0, 0, 0, 0, false,
    false, false, "mode=755,size=65536k" },
  { "[\"newinstance\",\"ptmxmode=0666\",\"sync\"]", 0, 0, 0, 0, 0, false, false, false,
    "newinstance,ptmxmode=0666,sync" },
  { "[\"nosymfollow\",\"rnoexec\"]", MOUNT_ATTR_NOSYMFOLLOW, 0, MOUNT_ATTR_NOEXEC, 0, 0, false,
    false, false, NULL },
};

static void
test_mount_options (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof mount_cases / sizeof mount_cases[0]; i++)
    {
      const struct mount_case *c = &mount_cases[i];
      json_t *opts = json_loads (c->options, 0, NULL);
      struct spec_mount m = { 0 };
      struct berth_error *err = NULL;
      if (mount_options_parse (opts, &m, "mounts[0]", &err) < 0)
        fail_msg ("case %zu: %s", i, err->msg);
      if (m.attr_set != c->attr_set || m.attr_clr != c->attr_clr || m.rec_attr_set != c->rec_set
          || m.rec_attr_clr != c->rec_clr || m.propagation != c->propagation
          || m.propagation_recursive != c->recursive_propagation || m.is_bind != c->is_bind
          || m.is_recursive != c->is_rbind)
        fail_msg ("case %zu (%s): set %#lx clr %#lx rset %#lx rclr %#lx prop %#lx", i, c->options,
                  (unsigned long)m.attr_set, (unsigned long)m.attr_clr,
                  (unsigned long)m.rec_attr_set, (unsigned long)m.rec_attr_clr, m.propagation);
      char *data = m.data ? strv_join (m.data, ",") : NULL;
      if (c->data == NULL)
        assert_null (data);
      else
        assert_string_equal (data, c->data);
      free (data);
      strv_freep (&m.data);
      json_decref (opts);
    }
}

static void
test_mount_options_errors (void **state)
{
  (void)state;
  const char *bad[][2] = { { "\"ro\"", "must be an array" },
                           { "[1]", "options[0]: must be a string" },
                           { "[\"tmpcopyup\"]", "`tmpcopyup` is not supported" } };
  for (size_t i = 0; i < 3; i++)
    {
      json_t *opts = json_loads (bad[i][0], JSON_DECODE_ANY, NULL);
      struct spec_mount m = { 0 };
      struct berth_error *err = NULL;
      assert_int_equal (mount_options_parse (opts, &m, "mounts[3]", &err), -1);
      assert_non_null (strstr (err->msg, "mounts[3]"));
      assert_non_null (strstr (err->msg, bad[i][1]));
      berth_error_free (err);
      strv_freep (&m.data);
      json_decref (opts);
    }
}

static void
test_caps_names (void **state)
{
  (void)state;
  static const struct
  {
    const char *name;
    int value;
  } caps[]
      = { { "CAP_CHOWN", 0 },        { "CAP_KILL", 5 },        { "CAP_NET_BIND_SERVICE", 10 },
          { "CAP_NET_ADMIN", 12 },   { "CAP_SYS_CHROOT", 18 }, { "CAP_SYS_ADMIN", 21 },
          { "CAP_AUDIT_WRITE", 29 }, { "CAP_SETFCAP", 31 },    { "CAP_MAC_ADMIN", 33 },
          { "CAP_BPF", 39 },         { "cap_sys_admin", 21 },  { "CAP_CHECKPOINT_RESTORE", 40 },
          { "CAP_FLY", -1 },         { "SYS_ADMIN", -1 },      { "", -1 } };
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
    if (caps_from_name (caps[i].name) != caps[i].value)
      fail_msg ("%s: %d, wanted %d", caps[i].name, caps_from_name (caps[i].name), caps[i].value);
  assert_string_equal (caps_name (21), "CAP_SYS_ADMIN");
  assert_true (caps_last_cap () >= 37);
}

static void
test_rlimit_names (void **state)
{
  (void)state;
  static const struct
  {
    const char *name;
    int value;
  } r[] = { { "RLIMIT_CPU", RLIMIT_CPU },
            { "RLIMIT_NOFILE", RLIMIT_NOFILE },
            { "RLIMIT_NPROC", RLIMIT_NPROC },
            { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
            { "RLIMIT_RTTIME", RLIMIT_RTTIME },
            { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
            { "rlimit_nofile", -1 },
            { "NOFILE", -1 } };
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    assert_int_equal (rlimit_from_name (r[i].name), r[i].value);
  assert_string_equal (rlimit_name (RLIMIT_CORE), "RLIMIT_CORE");
}

static void
test_rlimit_above_hard_is_named (void **state)
{
  (void)state;
  struct rlimit cur;
  getrlimit (RLIMIT_NOFILE, &cur);
  if (cur.rlim_max == RLIM_INFINITY)
    skip ();
  struct spec_rlimit r = { RLIMIT_NOFILE, 10, cur.rlim_max + 1 };
  struct berth_error *err = NULL;
  assert_int_equal (rlimits_check (&r, 1, &err), -1);
  assert_non_null (strstr (err->msg, "RLIMIT_NOFILE"));
  assert_non_null (strstr (err->msg, "above the caller's hard limit"));
  berth_error_free (err);
  r.hard = cur.rlim_max;
  assert_int_equal (rlimits_check (&r, 1, NULL), 0);
}

static void
test_signal_names (void **state)
{
  (void)state;
  static const struct
  {
    const char *name;
    int signo;
  } s[] = { { "TERM", SIGTERM }, { "SIGKILL", SIGKILL }, { "9", 9 },     { "hup", SIGHUP },
            { "SIGRTMIN", 0 },   { "RTMIN+2", 0 },       { "NOPE", -1 }, { "0", -1 },
            { "", -1 },          { "999", -1 } };
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
    {
      int v = -1;
      int r = runtime_signal_parse (s[i].name, &v);
      if (s[i].signo < 0)
        assert_int_equal (r, -1);
      else
        {
          assert_int_equal (r, 0);
          if (strcmp (s[i].name, "SIGRTMIN") == 0)
            assert_int_equal (v, SIGRTMIN);
          else if (strcmp (s[i].name, "RTMIN+2") == 0)
            assert_int_equal (v, SIGRTMIN + 2);
          else
            assert_int_equal (v, s[i].signo);
        }
    }
}

static void
test_container_ids (void **state)
{
  (void)state;
  const char *good[] = { "a", "abc-DEF_1.2", "0123456789abcdef" };
  const char *bad[] = { "", ".", "..", "a/b", "../x", "a b", "x\n" };
  for (size_t i = 0; i < 3; i++)
    assert_int_equal (state_id_validate (good[i], NULL), 0);
  for (size_t i = 0; i < 7; i++)
    assert_int_equal (state_id_validate (bad[i], NULL), -1);
}

static void
test_state_json (void **state)
{
  (void)state;
  json_t *config = json_pack ("{s:{s:s}}", "annotations", "k", "v");
  struct container_state st = { .id = "c1",
                                .bundle = "/b",
                                .rootfs = "/b/rootfs",
                                .pid = 42,
                                .created = "2026-01-01T00:00:00Z",
                                .config = config };
  json_t *j = state_to_oci_json (&st, "running");
  assert_string_equal (json_string_value (json_object_get (j, "id")), "c1");
  assert_string_equal (json_string_value (json_object_get (j, "status")), "running");
  assert_int_equal (json_integer_value (json_object_get (j, "pid")), 42);
  assert_string_equal (json_string_value (json_object_get (j, "bundle")), "/b");
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (j, "annotations"), "k")), "v");
  assert_true (str_has_prefix (json_string_value (json_object_get (j, "ociVersion")), "1."));
  json_decref (j);
  /* stopped: pid 0, as runc prints it */
  j = state_to_oci_json (&st, "stopped");
  assert_int_equal (json_integer_value (json_object_get (j, "pid")), 0);
  json_decref (j);
  json_decref (config);
}

static void
test_hooks_parse (void **state)
{
  (void)state;
  json_t *h = json_loads ("{\"prestart\":[{\"path\":\"/a\"},{\"path\":\"/b\",\"timeout\":3}],"
                          "\"poststop\":[{\"path\":\"/c\",\"args\":[\"c\",\"1\"]}],\"unknown\":[]}",
                          0, NULL);
  struct spec s = { 0 };
  assert_int_equal (hooks_parse (h, &s, NULL), 0);
  assert_int_equal (s.n_hooks[HOOK_PRESTART], 2);
  assert_int_equal (s.hooks[HOOK_PRESTART][1].timeout_s, 3);
  assert_int_equal (s.n_hooks[HOOK_POSTSTOP], 1);
  assert_string_equal (s.hooks[HOOK_POSTSTOP][0].args[1], "1");
  assert_string_equal (hook_kind_name (HOOK_CREATE_RUNTIME), "createRuntime");
  for (int k = 0; k < HOOK_KIND_COUNT; k++)
    {
      for (size_t i = 0; i < s.n_hooks[k]; i++)
        {
          free (s.hooks[k][i].path);
          strv_freep (&s.hooks[k][i].args);
          strv_freep (&s.hooks[k][i].env);
        }
      free (s.hooks[k]);
    }
  json_decref (h);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mount_options),
    cmocka_unit_test (test_mount_options_errors),
    cmocka_unit_test (test_caps_names),
    cmocka_unit_test (test_rlimit_names),
    cmocka_unit_test (test_rlimit_above_hard_is_named),
    cmocka_unit_test (test_signal_names),
    cmocka_unit_test (test_container_ids),
    cmocka_unit_test (test_state_json),
    cmocka_unit_test (test_hooks_parse),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
