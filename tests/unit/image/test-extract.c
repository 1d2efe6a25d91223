/* The extractor driven entry by entry with hostile metadata: nothing is
 * created outside the layer root, links are never followed out of it, and
 * whiteouts become overlay whiteouts (the integration tests repeat these
 * through whole tarballs and a real overlay mount). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/tar-internal.h"

struct fx
{
  char dir[64];
  int dirfd, rootfd;
  struct extractor *x;
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/berth-test-extract-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  f->dirfd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdirat (f->dirfd, "root", 0755);
  mkdirat (f->dirfd, "outside", 0755);
  f->rootfd = openat (f->dirfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct berth_error *err = NULL;
  f->x = extractor_new (f->rootfd, &err);
  *state = f;
  return f->x ? 0 : -1;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  extractor_free (f->x);
  close (f->rootfd);
  close (f->dirfd);
  int tmp = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fs_rm_rf_at (tmp, f->dir + 5, NULL);
  close (tmp);
  free (f);
  return 0;
}

/* Run one entry through the callbacks; data for regular files. */
static int
put (struct fx *f, char type, const char *path, const char *link, const char *data,
     struct berth_error **err)
{
  struct tar_entry e = {
    .path = (char *)path,
    .linkname = (char *)(link ? link : ""),
    .type = type,
    .mode = 0644,
    .size = data ? (int64_t)strlen (data) : 0,
    .devmajor = 1,
    .devminor = 3,
  };
  if (extractor_callbacks.entry_begin (f->x, &e, err) < 0)
    return -1;
  if (data && extractor_callbacks.entry_data (f->x, data, strlen (data), err) < 0)
    return -1;
  return extractor_callbacks.entry_end (f->x, err);
}

static bool
exists_at (int dirfd, const char *path)
{
  struct stat st;
  return fstatat (dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
test_extract_hostile_paths (void **state)
{
  struct fx *f = *state;
  struct berth_error *err = NULL;
  assert_int_equal (put (f, TAR_REG, "../outside/evil", NULL, "x", &err), -1);
  assert_non_null (strstr (err->msg, "escapes the layer root"));
  berth_error_free (err);
  err = NULL;
  assert_false (exists_at (f->dirfd, "outside/evil"));
  /* absolute: made relative, lands inside */
  char abs[128];
  snprintf (abs, sizeof abs, "%s/outside/abs", f->dir);
  assert_int_equal (put (f, TAR_REG, abs, NULL, "in", &err), 0);
  assert_false (exists_at (f->dirfd, "outside/abs"));
  assert_true (exists_at (f->rootfd, abs + 1));
}

static void
test_extract_symlink_escape (void **state)
{
  struct fx *f = *state;
  struct berth_error *err = NULL;
  char outside[128];
  snprintf (outside, sizeof outside, "%s/outside", f->dir);
  assert_int_equal (put (f, TAR_DIR, outside, NULL, NULL, &err), 0); /* same path inside */
  assert_int_equal (put (f, TAR_SYMLINK, "esc", outside, NULL, &err), 0);
  assert_int_equal (put (f, TAR_REG, "esc/pwned", NULL, "p", &err), 0);
  assert_false (exists_at (f->dirfd, "outside/pwned"));
  char inside[160];
  snprintf (inside, sizeof inside, "%s/pwned", outside + 1);
  assert_true (exists_at (f->rootfd, inside));
  /* relative climb: resolved in the root too */
  assert_int_equal (put (f, TAR_SYMLINK, "up", "../../../../../../..", NULL, &err), 0);
  snprintf (inside, sizeof inside, "up%s/pwned2", outside);
  assert_int_equal (put (f, TAR_REG, inside, NULL, "p", &err), 0);
  assert_false (exists_at (f->dirfd, "outside/pwned2"));
}

static void
test_extract_hardlink_outside_refused (void **state)
{
  struct fx *f = *state;
  struct berth_error *err = NULL;
  assert_int_equal (put (f, TAR_LINK, "h", "/etc/passwd", NULL, &err), -1);
  berth_error_free (err);
  err = NULL;
  assert_int_equal (put (f, TAR_LINK, "h", "../../../../etc/passwd", NULL, &err), -1);
  assert_non_null (strstr (err->msg, "escapes the layer root"));
  berth_error_free (err);
  err = NULL;
  assert_false (exists_at (f->rootfd, "h"));
  assert_int_equal (put (f, TAR_REG, "t", NULL, "t", &err), 0);
  assert_int_equal (put (f, TAR_LINK, "h", "./t", NULL, &err), 0);
  struct stat a, b;
  fstatat (f->rootfd, "t", &a, 0);
  fstatat (f->rootfd, "h", &b, 0);
  assert_int_equal (a.st_ino, b.st_ino);
}

static void
test_extract_whiteouts_and_nodes (void **state)
{
  struct fx *f = *state;
  struct berth_error *err = NULL;
  if (geteuid () != 0)
    skip (); /* whiteouts and device nodes need CAP_MKNOD, trusted.* CAP_SYS_ADMIN */
  assert_int_equal (put (f, TAR_DIR, "d", NULL, NULL, &err), 0);
  assert_int_equal (put (f, TAR_REG, "d/gone", NULL, "g", &err), 0);
  assert_int_equal (put (f, TAR_REG, "d/.wh.gone", NULL, NULL, &err), 0);
  struct stat st;
  assert_int_equal (fstatat (f->rootfd, "d/gone", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_true (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  assert_int_equal (put (f, TAR_REG, "d/.wh..wh..opq", NULL, NULL, &err), 0);
  int d = openat (f->rootfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char v[4] = { 0 };
  assert_int_equal (fgetxattr (d, "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal (v[0], 'y');
  close (d);
  assert_int_equal (put (f, TAR_REG, "d/.wh..", NULL, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "names a parent"));
  berth_error_free (err);
  err = NULL;
  /* a device node, then a file of the same name: replaced, never opened */
  assert_int_equal (put (f, TAR_CHR, "null", NULL, NULL, &err), 0);
  assert_int_equal (fstatat (f->rootfd, "null", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_true (S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3));
  assert_int_equal (put (f, TAR_REG, "null", NULL, "data", &err), 0);
  assert_int_equal (fstatat (f->rootfd, "null", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_true (S_ISREG (st.st_mode) && st.st_size == 4);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_extract_hostile_paths, setup, teardown),
    cmocka_unit_test_setup_teardown (test_extract_symlink_escape, setup, teardown),
    cmocka_unit_test_setup_teardown (test_extract_hardlink_outside_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_extract_whiteouts_and_nodes, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
