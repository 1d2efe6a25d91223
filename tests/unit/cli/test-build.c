/* `berth build`: flags → the POST /build query (as the docker CLI sends
 * it), the Dockerfile's name for -f, and the context a walk selects with
 * .dockerignore on a real temporary tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli-internal.h"

static char *
query_of (const char *line, const char *dockerfile, struct berth_error **err)
{
  _cleanup_strv_ char **v = strv_split (line, ' ');
  _cleanup_ (cli_args_free) struct cli_args a = { 0 };
  assert_int_equal (cli_args_parse (cli_build_opts, (int) strv_len (v), v, true, &a, err), 0);
  return cli_build_query (&a, dockerfile, err);
}

static void
test_query_defaults (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *q = query_of (".", NULL, &err);
  assert_non_null (q);
  assert_string_equal (q, "rm=1&networkmode=default&buildargs=%7B%7D&labels=%7B%7D");
}

static void
test_query_flags (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  setenv ("BT_FROM_ENV", "v a", 1);
  unsetenv ("BT_UNSET");
  _cleanup_free_ char *q
      = query_of ("-t a:1 --tag reg.local:5000/b -q --no-cache --pull --force-rm --rm=false "
                  "--target t2 --network none --platform linux/amd64 --build-arg X=1=2 "
                  "--build-arg BT_FROM_ENV --build-arg BT_UNSET --label k=v --label e "
                  "--cache-from c:1 .",
                  ".dockerfile.0123", &err);
  assert_non_null (q);
  assert_string_equal (q, "t=a%3A1&t=reg.local%3A5000%2Fb&dockerfile=.dockerfile.0123&q=1&nocache=1"
                          "&rm=0&forcerm=1&pull=1&target=t2&platform=linux%2Famd64"
                          "&networkmode=none&cachefrom=%5B%22c%3A1%22%5D"
                          "&buildargs=%7B%22BT_FROM_ENV%22%3A%22v%20a%22%2C%22BT_UNSET%22%3Anull%2C"
                          "%22X%22%3A%221%3D2%22%7D"
                          "&labels=%7B%22e%22%3A%22%22%2C%22k%22%3A%22v%22%7D");
}

static void
test_query_bad_tag (void **state)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *q = query_of ("-t UPPER:x:y .", NULL, &err);
  assert_null (q);
  assert_non_null (strstr (err->msg, "UPPER:x:y"));
  assert_non_null (strstr (err->msg, "-t, --tag"));
}

static void
test_path_below (void **state)
{
  _cleanup_free_ char *a = cli_build_path_below ("/ctx", "/ctx/sub/Dockerfile");
  assert_string_equal (a, "sub/Dockerfile");
  _cleanup_free_ char *b = cli_build_path_below ("/ctx/", "/ctx/Dockerfile");
  assert_string_equal (b, "Dockerfile");
  assert_null (cli_build_path_below ("/ctx", "/ctx2/Dockerfile"));
  assert_null (cli_build_path_below ("/ctx", "/other/Dockerfile"));
  assert_null (cli_build_path_below ("/ctx", "/ctx"));
  _cleanup_free_ char *c = cli_build_path_below ("/", "/Dockerfile");
  assert_string_equal (c, "Dockerfile");
}

static void
put (int dfd, const char *path, const char *text)
{
  _cleanup_free_ char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  if (slash)
    {
      *slash = '\0';
      struct berth_error *err = NULL;
      int d = fs_mkdir_p_in_root (dfd, dir, 0755, &err);
      assert_true (d >= 0);
      close (d);
    }
  int fd = openat (dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_true (fs_write_all (fd, text, strlen (text)) >= 0);
  close (fd);
}

static char *
selected (int dfd, const char *ignore, const char *dockerfile)
{
  struct cli_build_context ctx;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (cli_build_context_select (dfd, ignore, ignore ? strlen (ignore) : 0,
                                              dockerfile, &ctx, &err), 0);
  char *out = xstrdup ("");
  for (size_t i = 0; i < ctx.n; i++)
    {
      char *n = xasprintf ("%s%s%s%s", out, i ? " " : "", ctx.entries[i].path,
                           ctx.entries[i].link ? "@" : "");
      free (out);
      out = n;
    }
  cli_build_context_clear (&ctx);
  return out;
}

static void
test_context_select (void **state)
{
  char tmpl[] = "/tmp/berth-unit-build-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  int dfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  put (dfd, "Dockerfile", "FROM scratch\n");
  put (dfd, ".dockerignore", "x");
  put (dfd, "b.txt", "b");
  put (dfd, "a.log", "a");
  put (dfd, "docs/keep.md", "k");
  put (dfd, "docs/drop.md", "d");
  put (dfd, "node_modules/m/index.js", "m");
  put (dfd, "sub/dir/Dockerfile.sub", "FROM scratch\n");
  assert_int_equal (symlinkat ("/etc", dfd, "escape"), 0);
  assert_int_equal (symlinkat ("../../etc/passwd", dfd, "sub/up"), 0);

  _cleanup_free_ char *all = selected (dfd, NULL, "Dockerfile");
  assert_string_equal (all, ".dockerignore Dockerfile a.log b.txt docs docs/drop.md docs/keep.md "
                            "escape@ node_modules node_modules/m node_modules/m/index.js sub "
                            "sub/dir sub/dir/Dockerfile.sub sub/up@");

  /* docker's rules: globs, ** , ! exceptions (last match wins), leading
   * "/"; the Dockerfile and .dockerignore are sent even when listed */
  _cleanup_free_ char *ign
      = selected (dfd, "# comment\n*.log\n/node_modules\ndocs/**\n!docs/keep.md\nDockerfile\n"
                       ".dockerignore\nsub\nescape\n",
                  "Dockerfile");
  /* docs/\*\* matches below docs, not docs itself (moby/patternmatcher) */
  assert_string_equal (ign, ".dockerignore Dockerfile b.txt docs docs/keep.md");

  /* a Dockerfile inside an ignored directory is still sent */
  _cleanup_free_ char *sub = selected (dfd, "sub\n", "sub/dir/Dockerfile.sub");
  assert_non_null (strstr (sub, "sub/dir/Dockerfile.sub"));
  assert_null (strstr (sub, "sub/up"));

  /* the symlink to /etc is an entry of its own: nothing below it is walked */
  assert_null (strstr (all, "escape/"));
  close (dfd);
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpl);
  assert_int_equal (system (cmd), 0);
}

static void
test_is_archive (void **state)
{
  unsigned char tar[512] = { 0 };
  memcpy (tar + 257, "ustar", 5);
  assert_true (cli_build_is_archive (tar, sizeof tar));
  assert_false (cli_build_is_archive (tar, 200)); /* too short for a header */
  assert_true (cli_build_is_archive ((const unsigned char *) "\x1f\x8b\x08", 3));
  assert_true (cli_build_is_archive ((const unsigned char *) "BZh9", 4));
  assert_true (cli_build_is_archive ((const unsigned char *) "\xfd" "7zXZ\0", 6));
  assert_true (cli_build_is_archive ((const unsigned char *) "\x28\xb5\x2f\xfd", 4));
  const char *df = "FROM busybox\nRUN true\n";
  assert_false (cli_build_is_archive ((const unsigned char *) df, strlen (df)));
  assert_false (cli_build_is_archive ((const unsigned char *) "", 0));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_query_defaults), cmocka_unit_test (test_query_flags),
    cmocka_unit_test (test_query_bad_tag),  cmocka_unit_test (test_path_below),
    cmocka_unit_test (test_context_select), cmocka_unit_test (test_is_archive),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
