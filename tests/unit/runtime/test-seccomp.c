/* Compiling OCI linux.seccomp: errors name the field, unknown syscalls are
 * skipped (runc/crun), the notify action asks for a listener; and the
 * shape of berth's default profile. Installing is proven on the real
 * kernel by tests/integration/runtime/test_seccomp_*.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/seccomp.h"

struct bad_case
{
  const char *json;
  const char *error;
};

static const struct bad_case bad_cases[] = {
  { "[]", "linux.seccomp: must be an object" },
  { "{}", "linux.seccomp.defaultAction: is required" },
  { "{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
    "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"" },
  { "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
    "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}",
    "linux.seccomp.defaultAction: errnoRet is only valid" },
  { "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
    "linux.seccomp.defaultErrnoRet: must be an integer" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
    "linux.seccomp.architectures[0]: unknown architecture SCMP_ARCH_VAX" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"x86\"}",
    "linux.seccomp.architectures: must be an array" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_BOGUS\"]}",
    "linux.seccomp.flags[0]: unknown flag SECCOMP_FILTER_FLAG_BOGUS" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
    "linux.seccomp.syscalls: must be an array" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
    "ACT_ERRNO\"},{\"names\":[\"write\"],\"action\":\"KILL\"}]}",
    "linux.seccomp.syscalls[1].action: unknown action \"KILL\"" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_"
    "ERRNO\"}]}",
    "linux.seccomp.syscalls[0].names: must be a non-empty array" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
    "ACT_KILL\",\"errnoRet\":5}]}",
    "linux.seccomp.syscalls[0].action: errnoRet is only valid" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
    "ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
    "linux.seccomp.syscalls[0].args[0].index: must be 0 to 5" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
    "ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":1,\"value\":"
    "1,\"op\":\"EQ\"}]}]}",
    "linux.seccomp.syscalls[0].args[1].op: unknown operator EQ" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
    "ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":\"1\",\"op\":\"SCMP_CMP_EQ\"}]}]}",
    "linux.seccomp.syscalls[0].args[0].value: must be an integer" },
  { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[7],\"action\":\"SCMP_ACT_"
    "ERRNO\"}]}",
    "linux.seccomp.syscalls[0].names[0]: must be a string" },
};

static void
test_compile_errors (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    {
      json_t *j = json_loads (bad_cases[i].json, 0, NULL);
      assert_non_null (j);
      struct berth_error *err = NULL;
      struct seccomp_filter *f = seccomp_filter_compile (j, &err);
      if (f != NULL || err == NULL || !str_has_prefix (err->msg, bad_cases[i].error))
        fail_msg ("case %zu: %s: got %s", i, bad_cases[i].json, err ? err->msg : "success");
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
      json_decref (j);
    }
}

static void
test_compile_good (void **state)
{
  (void)state;
  static const struct
  {
    const char *json;
    bool listener;
  } rows[] = {
    /* Unknown syscall names are skipped, as runc and crun do. */
    { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"no_such_syscall\","
      "\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18}]}",
      false },
    { "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"architectures\":[\"SCMP_ARCH_"
      "X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\",\"SCMP_ARCH_AARCH64\"],\"flags\":[\"SECCOMP_"
      "FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],\"syscalls\":[{\"names\":[\"read\","
      "\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
      false },
    { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],\"action\":"
      "\"SCMP_ACT_NOTIFY\"}]}",
      true },
    /* Two conditions on one argument become two rules (runc). */
    { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"personality\"],\"action\":"
      "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,"
      "\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}",
      false },
    { "{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"syscalls\":[{\"names\":[\"chmod\"],"
      "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":2048,\"valueTwo\":2048,"
      "\"op\":\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\"},{"
      "\"names\":[\"write\"],\"action\":\"SCMP_ACT_TRAP\"},{\"names\":[\"ptrace\"],\"action\":"
      "\"SCMP_ACT_TRACE\",\"errnoRet\":3},{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_KILL_"
      "THREAD\"},{\"names\":[\"tkill\"],\"action\":\"SCMP_ACT_KILL\"}]}",
      false },
    /* A rule equal to the default changes nothing and is skipped. */
    { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_"
      "ACT_ALLOW\"}]}",
      false },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    {
      json_t *j = json_loads (rows[i].json, 0, NULL);
      assert_non_null (j);
      struct berth_error *err = NULL;
      struct seccomp_filter *f = seccomp_filter_compile (j, &err);
      if (f == NULL)
        fail_msg ("row %zu: %s", i, err->msg);
      assert_int_equal (seccomp_filter_wants_listener (f), rows[i].listener);
      seccomp_filter_free (f);
      json_decref (j);
    }
}

static bool
rule_allows (json_t *profile, const char *name, bool *has_args)
{
  size_t i;
  json_t *rule;
  json_array_foreach (json_object_get (profile, "syscalls"), i, rule)
  {
    size_t k;
    json_t *n;
    json_array_foreach (
        json_object_get (rule, "names"), k,
        n) if (strcmp (json_string_value (n), name) == 0
               && strcmp (json_string_value (json_object_get (rule, "action")), "SCMP_ACT_ALLOW")
                      == 0)
    {
      *has_args = json_array_size (json_object_get (rule, "args")) > 0;
      return true;
    }
  }
  return false;
}

static void
test_default_profile_shape (void **state)
{
  (void)state;
  char *none[] = { NULL };
  char *admin[] = { "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", NULL };
  json_t *p = seccomp_default_profile (none);
  assert_string_equal (json_string_value (json_object_get (p, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_int_equal (json_integer_value (json_object_get (p, "defaultErrnoRet")), 1);
  bool args = false;
  assert_true (rule_allows (p, "read", &args));
  assert_false (args);
  assert_true (rule_allows (p, "clone", &args)); /* only without namespace flags */
  assert_true (args);
  assert_true (rule_allows (p, "personality", &args));
  assert_true (args);
  static const char *const blocked[] = { "mount",       "unshare",    "setns",
                                         "chroot",      "reboot",     "bpf",
                                         "init_module", "kexec_load", "open_by_handle_at",
                                         "keyctl",      "add_key",    "io_uring_setup",
                                         "clone3",      "swapon",     "ptrace_nonexistent" };
  for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
    if (rule_allows (p, blocked[i], &args))
      fail_msg ("%s is allowed without capabilities", blocked[i]);
  /* It compiles. */
  struct berth_error *err = NULL;
  struct seccomp_filter *f = seccomp_filter_compile (p, &err);
  if (f == NULL)
    fail_msg ("%s", err->msg);
  seccomp_filter_free (f);
  json_decref (p);

  p = seccomp_default_profile (admin);
  assert_true (rule_allows (p, "mount", &args));
  assert_true (rule_allows (p, "unshare", &args));
  assert_true (rule_allows (p, "chroot", &args));
  assert_true (rule_allows (p, "clone", &args));
  assert_false (rule_allows (p, "reboot", &args));
  f = seccomp_filter_compile (p, &err);
  assert_non_null (f);
  seccomp_filter_free (f);
  json_decref (p);
  /* NULL caps is "none". */
  p = seccomp_default_profile (NULL);
  assert_false (rule_allows (p, "mount", &args));
  json_decref (p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_compile_errors),
    cmocka_unit_test (test_compile_good),
    cmocka_unit_test (test_default_profile_shape),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
