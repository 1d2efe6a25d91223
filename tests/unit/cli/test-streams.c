/* Stream framing: docker's stdcopy multiplexing fed in arbitrary pieces,
 * the detach-key matcher, JSON-lines progress display without a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli-internal.h"

static char *
slurp (int fd)
{
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = '\0';
  return xstrdup (buf);
}

static void
test_stdcopy_any_split (void **state)
{
  /* "out\n" on stdout, "err\n" on stderr, "x" on stdout */
  static const unsigned char frames[] = { 1, 0, 0, 0, 0, 0, 0, 4, 'o', 'u', 't', '\n',
                                          2, 0, 0, 0, 0, 0, 0, 4, 'e', 'r', 'r', '\n',
                                          1, 0, 0, 0, 0, 0, 0, 1, 'x' };
  for (size_t step = 1; step <= sizeof frames; step++)
    {
      int out[2], errp[2];
      assert_int_equal (pipe (out), 0);
      assert_int_equal (pipe (errp), 0);
      struct stdcopy sc = { .out_fd = out[1], .err_fd = errp[1] };
      for (size_t i = 0; i < sizeof frames; i += step)
        {
          size_t n = sizeof frames - i < step ? sizeof frames - i : step;
          assert_int_equal (stdcopy_feed (&sc, (const char *) frames + i, n), 0);
        }
      close (out[1]);
      close (errp[1]);
      _cleanup_free_ char *o = slurp (out[0]), *e = slurp (errp[0]);
      assert_string_equal (o, "out\nx");
      assert_string_equal (e, "err\n");
      close (out[0]);
      close (errp[0]);
    }
  /* a corrupt header (stream 9) is an error, not garbage output */
  struct stdcopy sc = { .out_fd = -1, .err_fd = -1 };
  static const char bad[] = { 9, 0, 0, 0, 0, 0, 0, 1, 'z' };
  assert_int_equal (stdcopy_feed (&sc, bad, sizeof bad), -1);
}

static void
test_detach_matcher (void **state)
{
  static const struct
  {
    const char *in;
    const char *forwarded;
    bool detached;
  } cases[] = {
    { "ls\r", "ls\r", false },
    { "ab\x10\x11zz", "ab", true },      /* ctrl-p ctrl-q */
    { "\x10x", "\x10x", false },          /* a lone ctrl-p is ordinary input */
    { "a\x10\x10\x11", "a\x10", true },   /* the second ctrl-p restarts the match */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      struct detach_matcher m = { .keys = { 16, 17 }, .n_keys = 2 };
      unsigned char out[64];
      bool det = false;
      size_t n = detach_matcher_feed (&m, (const unsigned char *) cases[k].in, strlen (cases[k].in), out, &det);
      assert_int_equal (det, cases[k].detached);
      assert_int_equal (n, strlen (cases[k].forwarded));
      assert_memory_equal (out, cases[k].forwarded, n);
    }
  /* a partial match held across reads, then broken */
  struct detach_matcher m = { .keys = { 16, 17 }, .n_keys = 2 };
  unsigned char out[8];
  bool det;
  assert_int_equal (detach_matcher_feed (&m, (const unsigned char *) "\x10", 1, out, &det), 0);
  assert_false (det);
  assert_int_equal (detach_matcher_feed (&m, (const unsigned char *) "q", 1, out, &det), 2);
  assert_memory_equal (out, "\x10q", 2);
  /* held across reads, then completed */
  assert_int_equal (detach_matcher_feed (&m, (const unsigned char *) "\x10", 1, out, &det), 0);
  assert_int_equal (detach_matcher_feed (&m, (const unsigned char *) "\x11", 1, out, &det), 0);
  assert_true (det);
}

static void
test_jsonmsg_plain (void **state)
{
  /* trace 17's pull stream, as docker prints it without a terminal:
   * progress bars are dropped, status lines kept. */
  const char *stream = "{\"status\":\"Pulling from team/app\",\"id\":\"1\"}\n"
                       "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"3f57\"}\n"
                       "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10,\"total\":20},"
                       "\"progress\":\"[=====>    ]  10B/20B\",\"id\":\"3f57\"}\n"
                       "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"3f57\"}\n"
                       "{\"status\":\"Digest: sha256:abc\"}\n"
                       "{\"status\":\"Status: Downloaded newer image for 127.0.0.1:5055/team/app:1\"}\n"
                       "{\"stream\":\"Loaded image: x:1\\n\"}\n";
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  struct jsonmsg_display *d = jsonmsg_display_new (f, false, false);
  /* fed in odd pieces */
  for (size_t i = 0; i < strlen (stream); i += 7)
    jsonmsg_display_feed (d, stream + i, strlen (stream) - i < 7 ? strlen (stream) - i : 7);
  assert_null (jsonmsg_display_error (d));
  jsonmsg_display_free (d);
  fclose (f);
  assert_string_equal (buf, "1: Pulling from team/app\n"
                            "3f57: Pulling fs layer\n"
                            "3f57: Pull complete\n"
                            "Digest: sha256:abc\n"
                            "Status: Downloaded newer image for 127.0.0.1:5055/team/app:1\n"
                            "Loaded image: x:1\n");
  free (buf);
  /* an error in the stream is reported, not printed */
  f = open_memstream (&buf, &len);
  d = jsonmsg_display_new (f, false, false);
  const char *e = "{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}";
  jsonmsg_display_feed (d, e, strlen (e));
  assert_string_equal (jsonmsg_display_error (d), "manifest unknown");
  jsonmsg_display_free (d);
  fclose (f);
  free (buf);
}

static void
test_jsonmsg_tty (void **state)
{
  /* on a terminal, a progress line is redrawn in place with cursor moves */
  const char *stream = "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},\"progress\":\"[==>  ]\",\"id\":\"a\"}\n";
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  struct jsonmsg_display *d = jsonmsg_display_new (f, true, false);
  jsonmsg_display_feed (d, stream, strlen (stream));
  jsonmsg_display_free (d);
  fclose (f);
  assert_string_equal (buf, "\n\x1b[1A\x1b[2K\ra: Downloading [==>  ]\r\x1b[1B");
  free (buf);
}

static void
tar_header (unsigned char *b, const char *name, char type, unsigned long long size)
{
  memset (b, 0, 512);
  strcpy ((char *) b, name);
  snprintf ((char *) b + 124, 12, "%011llo", size);
  b[156] = (unsigned char) type;
}

static void
test_tar_end (void **state)
{
  /* file "f" of 600 bytes (2 data blocks), a dir, a hard link whose size
   * field lies, then the two zero blocks, then junk that must not count */
  unsigned char tar[512 * 8 + 100];
  memset (tar, 0, sizeof tar);
  tar_header (tar, "f", '0', 600);
  memset (tar + 512, 'x', 600);
  tar_header (tar + 512 * 3, "d/", '5', 0);
  tar_header (tar + 512 * 4, "l", '1', 999);
  /* blocks 5 and 6 are zero: the end */
  memset (tar + 512 * 7, 'J', 612);
  for (size_t step = 1; step <= 1100; step += 137)
    {
      struct tar_end t = { 0 };
      size_t total = 0;
      for (size_t i = 0; i < sizeof tar && !t.done; i += step)
        {
          size_t n = sizeof tar - i < step ? sizeof tar - i : step;
          total += tar_end_feed (&t, (const char *) tar + i, n);
        }
      assert_true (t.done);
      assert_int_equal (total, 512 * 7);
    }
  /* a truncated archive never reports done */
  struct tar_end t = { 0 };
  tar_end_feed (&t, (const char *) tar, 512 * 5);
  assert_false (t.done);
}

static int
count_line (void *ud, const char *line, size_t len)
{
  (*(int *) ud)++;
  return 0;
}

static void
test_line_splitter (void **state)
{
  int n = 0;
  struct line_splitter ls = { .fn = count_line, .ud = &n };
  line_splitter_feed (&ls, "a\nbb", 4);
  assert_int_equal (n, 1);
  line_splitter_feed (&ls, "b\n\nc\n", 5);
  assert_int_equal (n, 3); /* empty lines are skipped */
  line_splitter_free (&ls);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stdcopy_any_split), cmocka_unit_test (test_detach_matcher),
    cmocka_unit_test (test_jsonmsg_plain),     cmocka_unit_test (test_jsonmsg_tty),
    cmocka_unit_test (test_line_splitter),     cmocka_unit_test (test_tar_end),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
