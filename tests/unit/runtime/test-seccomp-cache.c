/* The compiled-program cache (seccomp_filter_compile_cached): a hit gives
 * exactly the program a fresh compile gives, a different profile is a
 * different entry, and a corrupted, truncated, foreign-mode, symlinked or
 * other profile's entry is rejected, recompiled and rewritten. That the cached program
 * behaves the same on the kernel is tests/integration/runtime/
 * test_seccomp_cache.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/seccomp-filter-internal.h"
#include "runtime/seccomp.h"

static char dir[] = "/tmp/berth-test-seccomp-cache-XXXXXX";

static json_t *
profile_default (void)
{
  char *caps[] = { (char *)"CAP_CHOWN", NULL };
  return seccomp_default_profile (caps);
}

static void
same_program (const struct seccomp_filter *a, const struct seccomp_filter *b)
{
  assert_int_equal (a->n_insns, b->n_insns);
  assert_int_equal (a->flags, b->flags);
  assert_int_equal (a->wants_listener, b->wants_listener);
  assert_memory_equal (a->insns, b->insns, a->n_insns * sizeof (struct sock_filter));
}

/* The one entry in the cache directory (tests start from an empty one). */
static char *
only_entry (void)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  char *name = NULL;
  struct dirent *e;
  int n = 0;
  while ((e = readdir (d)))
    if (e->d_name[0] != '.')
      {
        n++;
        free (name);
        name = xasprintf ("%s/%s", dir, e->d_name);
      }
  closedir (d);
  assert_int_equal (n, 1);
  return name;
}

static struct seccomp_filter *
compile (json_t *p, bool expect_hit)
{
  struct berth_error *err = NULL;
  bool hit = !expect_hit;
  struct seccomp_filter *f = seccomp_filter_compile_cached (p, dir, &hit, &err);
  assert_null (err);
  assert_non_null (f);
  assert_int_equal (hit, expect_hit);
  return f;
}

static int
setup (void **state)
{
  (void)state;
  strcpy (dir, "/tmp/berth-test-seccomp-cache-XXXXXX");
  return mkdtemp (dir) ? 0 : -1;
}

static int
teardown (void **state)
{
  (void)state;
  char *cmd = xasprintf ("rm -rf '%s'", dir);
  int rc = system (cmd);
  free (cmd);
  return rc;
}

static void
test_hit_equals_fresh (void **state)
{
  (void)state;
  json_t *p = profile_default ();
  struct berth_error *err = NULL;
  struct seccomp_filter *fresh = seccomp_filter_compile (p, &err);
  assert_non_null (fresh);
  struct seccomp_filter *miss = compile (p, false);
  struct seccomp_filter *hit = compile (p, true);
  same_program (fresh, miss);
  same_program (fresh, hit);
  /* Key order does not matter: the key is the canonical JSON. */
  char *text = json_dumps (p, JSON_COMPACT | JSON_SORT_KEYS);
  json_t *copy = json_loads (text, 0, NULL);
  free (text);
  struct seccomp_filter *again = compile (copy, true);
  same_program (fresh, again);
  json_decref (copy);
  seccomp_filter_free (again);
  seccomp_filter_free (fresh);
  seccomp_filter_free (miss);
  seccomp_filter_free (hit);
  json_decref (p);
}

static void
test_other_profile_is_other_entry (void **state)
{
  (void)state;
  json_t *a = json_loads ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                          "[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18}]}",
                          0, NULL);
  json_t *b = json_loads ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                          "[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}",
                          0, NULL);
  struct seccomp_filter *fa = compile (a, false), *fb = compile (b, false);
  assert_true (fa->n_insns != fb->n_insns
               || memcmp (fa->insns, fb->insns, fa->n_insns * sizeof (struct sock_filter)) != 0);
  seccomp_filter_free (fa);
  seccomp_filter_free (fb);
  json_decref (a);
  json_decref (b);
}

/* Damage the entry with `damage`, then the next compile must be a miss
 * that gives the right program and repairs the entry. */
static void
check_rejected (void (*damage) (const char *path))
{
  json_t *p = profile_default ();
  struct berth_error *err = NULL;
  struct seccomp_filter *fresh = seccomp_filter_compile (p, &err);
  seccomp_filter_free (compile (p, false));
  char *path = only_entry ();
  damage (path);
  struct seccomp_filter *f = compile (p, false);
  same_program (fresh, f);
  seccomp_filter_free (f);
  f = compile (p, true);
  same_program (fresh, f);
  seccomp_filter_free (f);
  seccomp_filter_free (fresh);
  free (path);
  json_decref (p);
}

static void
flip_program_byte (const char *path)
{
  int fd = open (path, O_RDWR);
  struct stat st;
  fstat (fd, &st);
  unsigned char c;
  pread (fd, &c, 1, st.st_size - 3);
  c ^= 0x40;
  assert_int_equal (pwrite (fd, &c, 1, st.st_size - 3), 1);
  close (fd);
}

static void
truncate_odd (const char *path)
{
  struct stat st;
  stat (path, &st);
  assert_int_equal (truncate (path, st.st_size - 5), 0);
}

static void
truncate_whole_insn (const char *path)
{
  struct stat st;
  stat (path, &st);
  assert_int_equal (truncate (path, st.st_size - 8), 0);
}

static void
make_group_writable (const char *path)
{
  assert_int_equal (chmod (path, 0620), 0);
}

static void
replace_with_symlink (const char *path)
{
  char *moved = xasprintf ("%s/.elsewhere", dir);
  assert_int_equal (rename (path, moved), 0);
  assert_int_equal (symlink (moved, path), 0);
  free (moved);
}

static void
empty_file (const char *path)
{
  assert_int_equal (truncate (path, 0), 0);
}

static void
test_corrupted_program_rejected (void **state)
{
  (void)state;
  check_rejected (flip_program_byte);
}

static void
test_truncated_rejected (void **state)
{
  (void)state;
  check_rejected (truncate_odd);
  teardown (NULL);
  setup (NULL);
  check_rejected (truncate_whole_insn);
  teardown (NULL);
  setup (NULL);
  check_rejected (empty_file);
}

static void
test_unsafe_entry_rejected (void **state)
{
  (void)state;
  check_rejected (make_group_writable);
  teardown (NULL);
  setup (NULL);
  check_rejected (replace_with_symlink);
}

/* An entry under another profile's name (what a name collision looks
 * like) is never taken: the key is compared in full. */
static void
test_entry_of_other_profile_rejected (void **state)
{
  (void)state;
  json_t *a = json_loads ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                          "[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18}]}",
                          0, NULL);
  json_t *b = profile_default ();
  seccomp_filter_free (compile (a, false));
  char *path_a = only_entry ();
  char *moved = xasprintf ("%s/.a", dir);
  assert_int_equal (rename (path_a, moved), 0);
  seccomp_filter_free (compile (b, false));
  char *path_b = only_entry ();
  assert_int_equal (rename (moved, path_b), 0);
  struct berth_error *err = NULL;
  struct seccomp_filter *fresh = seccomp_filter_compile (b, &err);
  struct seccomp_filter *f = compile (b, false);
  same_program (fresh, f);
  seccomp_filter_free (f);
  seccomp_filter_free (fresh);
  free (path_a);
  free (path_b);
  free (moved);
  json_decref (a);
  json_decref (b);
}

static void
test_unsafe_directory_unused (void **state)
{
  (void)state;
  assert_int_equal (chmod (dir, 0777), 0);
  json_t *p = profile_default ();
  seccomp_filter_free (compile (p, false));
  seccomp_filter_free (compile (p, false));
  json_decref (p);
}

static void
test_invalid_profile_still_an_error (void **state)
{
  (void)state;
  json_t *p = json_loads ("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", 0, NULL);
  struct berth_error *err = NULL;
  assert_null (seccomp_filter_compile_cached (p, dir, NULL, &err));
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "unknown action"));
  berth_error_free (err);
  json_decref (p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_hit_equals_fresh, setup, teardown),
    cmocka_unit_test_setup_teardown (test_other_profile_is_other_entry, setup, teardown),
    cmocka_unit_test_setup_teardown (test_corrupted_program_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown (test_truncated_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unsafe_entry_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unsafe_directory_unused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_entry_of_other_profile_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown (test_invalid_profile_still_an_error, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
