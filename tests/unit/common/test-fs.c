/* fd-relative file system helpers: nothing resolved in a root can leave it,
 * and atomic writes replace content whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"

struct fixture
{
  char dir[64];
  int rootfd; /* dir/root: the hostile "container root" */
  int outfd;  /* dir: what must never be touched */
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/berth-test-fs-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  f->outfd = open (f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  mkdirat (f->outfd, "root", 0755);
  f->rootfd = openat (f->outfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* Escapes planted inside the root. */
  symlinkat ("/", f->rootfd, "abs");
  symlinkat ("../../../..", f->rootfd, "rel");
  symlinkat ("/etc", f->rootfd, "etc-link");
  int fd = openat (f->outfd, "secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  write (fd, "host", 4);
  close (fd);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  int parent = open ("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
  fs_rm_rf_at (parent, f->dir + strlen ("/tmp/"), &err);
  close (parent);
  close (f->rootfd);
  close (f->outfd);
  struct stat st;
  assert_int_equal (stat (f->dir, &st), -1); /* removal must be complete */
  free (f);
  return 0;
}

static void
test_escapes_stay_inside (void **state)
{
  struct fixture *f = *state;
  static const char *const hostile[] = {
    "../secret", "/../secret", "abs/secret", "rel/secret", "rel/../secret", "/secret",
  };
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      int fd = fs_open_in_root (f->rootfd, hostile[i], O_RDONLY, 0, &err);
      /* Either not found inside the root, or found inside it: never the host
       * file (it would read "host"). */
      assert_int_equal (fd, -1);
      assert_non_null (err);
      assert_non_null (strstr (err->msg, hostile[i]));
    }
}

static void
test_mkdir_p_follows_links_inside_root (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  /* "etc-link" points to /etc: inside the root that is root/etc. */
  mkdirat (f->rootfd, "etc", 0755);
  int fd = fs_mkdir_p_in_root (f->rootfd, "etc-link/sub/dir", 0755, &err);
  assert_true (fd >= 0);
  close (fd);
  struct stat st;
  assert_int_equal (fstatat (f->rootfd, "etc/sub/dir", &st, 0), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (stat ("/etc/sub", &st), -1);
}

static void
test_mkdir_p_dangling_link_is_an_error (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  symlinkat ("/nonexistent-berth-dir", f->rootfd, "dangling");
  assert_int_equal (fs_mkdir_p_in_root (f->rootfd, "dangling/x", 0755, &err), -1);
  assert_non_null (strstr (err->msg, "dangling"));
  struct stat st;
  assert_int_equal (stat ("/nonexistent-berth-dir", &st), -1);
}

static void
test_atomic_write_and_read (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (fs_write_file_atomic (f->outfd, "state.json", "{\"a\":1}", 7, 0600, &err), 0);
  assert_int_equal (fs_write_file_atomic (f->outfd, "state.json", "{\"a\":2}", 7, 0600, &err), 0);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  assert_int_equal (fs_read_file (f->outfd, "state.json", &text, &len, &err), 0);
  assert_string_equal (text, "{\"a\":2}");
  _cleanup_json_ json_t *j = json_load_path (f->outfd, "state.json", &err);
  assert_non_null (j);
  assert_int_equal (json_integer_value (json_object_get (j, "a")), 2);
}

static void
test_missing_file_is_not_found (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *text = NULL;
  assert_int_equal (fs_read_file (f->outfd, "nope", &text, NULL, &err), -1);
  assert_int_equal (berth_error_http_status (err), 404);
}

static void
test_bad_json_names_position (void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ struct berth_error *err = NULL;
  fs_write_file_atomic (f->outfd, "bad.json", "{\n  \"a\": }", 10, 0600, &err);
  assert_null (json_load_path (f->outfd, "bad.json", &err));
  assert_non_null (strstr (err->msg, "bad.json"));
  assert_non_null (strstr (err->msg, "line 2"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_escapes_stay_inside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mkdir_p_follows_links_inside_root, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mkdir_p_dangling_link_is_an_error, setup, teardown),
    cmocka_unit_test_setup_teardown (test_atomic_write_and_read, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_file_is_not_found, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_json_names_position, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
