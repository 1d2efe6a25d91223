/* Restart policy decisions and backoff (moby's restartmanager), container
 * names (validation, generated names), the state machine's 409s, records
 * that survive a save/load, and the status texts of `docker ps`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/container.h"
#include "daemon/restart.h"

static void
test_restart_decisions (void **state)
{
  static const struct
  {
    struct restart_decision_input in;
    bool want;
  } cases[] = {
    { { "no", 0, 0, 1, false }, false },
    { { "always", 0, 5, 0, false }, true },
    { { "always", 0, 0, 1, true }, false }, /* docker stop wins */
    { { "unless-stopped", 0, 0, 0, false }, true },
    { { "unless-stopped", 0, 0, 0, true }, false },
    { { "on-failure", 0, 100, 1, false }, true }, /* no maximum */
    { { "on-failure", 0, 0, 0, false }, false },  /* success: no restart */
    { { "on-failure", 2, 1, 1, false }, true },
    { { "on-failure", 2, 2, 1, false }, false }, /* on-failure:2 used up */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (restart_should_restart (&cases[i].in) != cases[i].want)
      fail_msg ("case %zu", i);
}

static void
test_restart_backoff (void **state)
{
  /* 100 ms, doubling while the container dies quickly, capped at 1 min */
  uint64_t d = restart_next_backoff_ms (0, 0);
  assert_int_equal (d, 100);
  d = restart_next_backoff_ms (d, 1000000000ull);
  assert_int_equal (d, 200);
  d = restart_next_backoff_ms (d, 0);
  assert_int_equal (d, 400);
  for (int i = 0; i < 20; i++)
    d = restart_next_backoff_ms (d, 0);
  assert_int_equal (d, 60000);
  /* reset after 10 s of running */
  assert_int_equal (restart_next_backoff_ms (60000, 10ull * 1000000000ull), 100);
}

static void
test_names (void **state)
{
  static const struct
  {
    const char *name;
    bool ok;
  } cases[] = {
    { "web", true },           { "/web", true },     { "a1", true },
    { "my_app.v2-x", true },   { "x", false },       { "", false },
    { "-lead", false },        { "_lead", false },   { "has space", false },
    { "slash/inside", false }, { "ünicode", false },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (container_name_is_valid (cases[i].name) != cases[i].ok)
      fail_msg ("%s", cases[i].name);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *n = container_name_normalize ("web", &err);
  assert_string_equal (n, "/web");
  assert_null (container_name_normalize ("bad name", &err));
  assert_string_equal (
      err->msg, "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  assert_int_equal (berth_error_http_status (err), 400);
  for (int i = 0; i < 200; i++)
    {
      _cleanup_free_ char *g = container_name_generate (i % 3);
      assert_true (g[0] == '/');
      assert_true (container_name_is_valid (g));
      assert_non_null (strchr (g, '_'));
      assert_null (strstr (g, "boring_wozniak"));
    }
}

static struct container *
sample (void)
{
  struct container *c = container_new ();
  memset (c->id, 'a', SHA256_HEX_LEN);
  c->name = xstrdup ("/s");
  c->path = xstrdup ("sleep");
  strv_append (&c->args, "1");
  c->config = json_pack ("{s:s,s:{}}", "Image", "busybox:local", "Labels");
  c->host_config = json_pack ("{s:s}", "NetworkMode", "default");
  c->networking = json_object ();
  c->mounts = json_array ();
  c->image_id = xstrdup ("sha256:1234");
  c->image_ref = xstrdup ("busybox:local");
  c->created_ns = 1795362601085097237ull;
  return c;
}

static void
test_state_machine_conflicts (void **state)
{
  _cleanup_container_ struct container *c = sample ();
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (container_can_start (c, &err), 0);
  assert_int_equal (container_can_exec (c, &err), -1);
  assert_int_equal (berth_error_http_status (err), 409);
  berth_error_freep (&err);
  container_set_running (c, 42, 41, 1795362602000000000ull);
  assert_true (container_is_running (c));
  assert_int_equal (container_can_start (c, &err), -1);
  assert_int_equal (berth_error_http_status (err), 304);
  berth_error_freep (&err);
  assert_int_equal (container_can_remove (c, false, &err), -1);
  assert_int_equal (berth_error_http_status (err), 409);
  assert_non_null (strstr (err->msg, "You cannot remove a running container aaaa"));
  berth_error_freep (&err);
  assert_int_equal (container_can_remove (c, true, &err), 0);
  container_set_paused (c, true);
  assert_int_equal (container_can_pause (c, &err), -1);
  assert_non_null (strstr (err->msg, "is already paused"));
  berth_error_freep (&err);
  assert_int_equal (container_can_start (c, &err), -1);
  assert_string_equal (err->msg, "cannot start a paused container, try unpause instead");
  berth_error_freep (&err);
  container_set_paused (c, false);
  container_set_exited (c, 3, false, 1795362603000000000ull);
  assert_false (container_is_running (c));
  assert_int_equal (container_can_unpause (c, &err), -1);
  _cleanup_free_ char *txt = container_status_text (c, 1795362603000000000ull + 2000000000ull);
  assert_string_equal (txt, "Exited (3) 2 seconds ago");
}

static void
test_record_survives_save_and_load (void **state)
{
  char tmpl[] = "/tmp/berth-unit-rec-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  _cleanup_close_ int root = open (tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_container_ struct container *c = sample ();
  container_set_running (c, 42, 41, 1795362602000000000ull);
  c->restart_count = 2;
  assert_int_equal (mkdirat (root, c->id, 0700), 0);
  c->dirfd = openat (root, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (container_save (c, &err), 0);
  _cleanup_container_ struct container *d = container_load (root, c->id, &err);
  assert_non_null (d);
  assert_string_equal (d->name, "/s");
  assert_int_equal (d->state.status, CONTAINER_RUNNING);
  assert_int_equal (d->state.pid, 42);
  assert_int_equal (d->state.monitor_pid, 41);
  assert_int_equal (d->restart_count, 2);
  assert_true (d->created_ns == c->created_ns);
  assert_true (d->state.started_ns == c->state.started_ns);
  assert_string_equal (d->args[0], "1");
  _cleanup_json_ json_t *insp = container_inspect_json (d, "/run/berth/containers/x");
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (insp, "State"), "Status")), "running");
  assert_string_equal (json_string_value (json_object_get (insp, "HostsPath")),
                       "/run/berth/containers/x/hosts");
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (insp, "State"), "StartedAt")),
      "2026-11-22T15:50:02Z");
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (insp, "Config"), "Hostname")),
      "aaaaaaaaaaaa");
  /* a torn record is an error, never a crash */
  fs_write_file_atomic (d->dirfd, "config.v2.json", "{\"ID\":", 6, 0600, &err);
  _cleanup_error_ struct berth_error *err2 = NULL;
  assert_null (container_load (root, c->id, &err2));
  fs_rm_rf_at (AT_FDCWD, tmpl, &err2);
}

static void
test_durations (void **state)
{
  static const struct
  {
    uint64_t s;
    const char *txt;
  } cases[] = {
    { 0, "Less than a second" }, { 1, "1 second" },       { 59, "59 seconds" },
    { 60, "About a minute" },    { 180, "3 minutes" },    { 3600, "About an hour" },
    { 7200, "2 hours" },         { 86400 * 3, "3 days" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *d = duration_human (cases[i].s * 1000000000ull);
      assert_string_equal (d, cases[i].txt);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_restart_decisions),
    cmocka_unit_test (test_restart_backoff),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_state_machine_conflicts),
    cmocka_unit_test (test_record_survives_save_and_load),
    cmocka_unit_test (test_durations),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
