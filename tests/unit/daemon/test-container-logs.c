/* docker's log formats: the 8-byte frame header, json-file lines (Go's
 * string escaping), rotation by max-size/max-file, and reading back with
 * tail, since/until, timestamps and stream selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/logs.h"

static void
test_frame_header (void **state)
{
  uint8_t h[8];
  logs_frame_header (h, LOG_STREAM_STDERR, 0x01020304);
  static const uint8_t want[8] = { 2, 0, 0, 0, 1, 2, 3, 4 };
  assert_memory_equal (h, want, 8);
  logs_frame_header (h, LOG_STREAM_STDOUT, 3);
  static const uint8_t want2[8] = { 1, 0, 0, 0, 0, 0, 0, 3 };
  assert_memory_equal (h, want2, 8);
}

static void
test_json_escape_like_go (void **state)
{
  static const struct
  {
    const char *in;
    size_t len;
    const char *out;
  } cases[] = {
    { "hi\n", 3, "hi\\n" },
    { "a\"b\\c", 5, "a\\\"b\\\\c" },
    { "<x>&", 4, "\\u003cx\\u003e\\u0026" }, /* Go's HTML-safe escaping */
    { "\t\r\x01", 3, "\\t\\r\\u0001" },
    { "caf\xc3\xa9", 5, "caf\xc3\xa9" }, /* valid UTF-8 passes through */
    { "bad\xff", 4, "bad\\ufffd" },      /* invalid bytes become U+FFFD */
    { "\xe2\x80\xa8", 3, "\\u2028" },
    { "nul\0x", 5, "nul\\u0000x" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char out[256];
      logs_json_escape (cases[i].in, cases[i].len, out);
      assert_string_equal (out, cases[i].out);
    }
}

static void
test_jsonfile_line_roundtrip (void **state)
{
  /* 2026-11-22T15:50:01.085097237Z */
  uint64_t t = 1795362601085097237ull;
  size_t n;
  _cleanup_free_ char *line = logs_jsonfile_line (LOG_STREAM_STDERR, "oops <1>\n", 9, t, &n);
  assert_string_equal (
      line,
      "{\"log\":\"oops "
      "\\u003c1\\u003e\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-22T15:50:01.085097237Z\"}\n");
  assert_int_equal (n, strlen (line));
  struct log_entry e = { 0 };
  assert_int_equal (logs_jsonfile_parse_line (line, n, &e), 0);
  assert_int_equal (e.stream, LOG_STREAM_STDERR);
  assert_int_equal (e.len, 9);
  assert_memory_equal (e.data, "oops <1>\n", 9);
  assert_true (e.time_ns == t);
  free (e.data);
  assert_int_equal (logs_jsonfile_parse_line ("{\"log\":", 7, &e), -1);
}

static char *
make_tmpdir (void)
{
  char tmpl[] = "/tmp/berth-unit-logs-XXXXXX";
  char *d = mkdtemp (tmpl);
  assert_non_null (d);
  return xstrdup (d);
}

static char *
read_all_fd (int fd, size_t *len)
{
  lseek (fd, 0, SEEK_SET);
  char *buf = calloc (1, 1 << 20);
  ssize_t n = fs_read_all (fd, buf, (1 << 20) - 1);
  *len = n > 0 ? (size_t)n : 0;
  return buf;
}

static void
test_rotation_and_reading (void **state)
{
  _cleanup_free_ char *dir = make_tmpdir ();
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct logs_jsonfile_writer w;
  _cleanup_error_ struct berth_error *err = NULL;
  /* each line is ~80 bytes: 200 bytes per file keeps 2 lines per file */
  assert_int_equal (logs_jsonfile_writer_open (&w, dfd, "c-json.log", 200, 3, &err), 0);
  uint64_t t0 = 1795362601000000000ull;
  for (int i = 0; i < 10; i++)
    {
      char msg[32];
      int len = snprintf (msg, sizeof msg, "line %d\n", i);
      assert_int_equal (logs_jsonfile_write (&w, i % 2 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT, msg,
                                             (size_t)len, t0 + (uint64_t)i * 1000000000ull),
                        0);
    }
  logs_jsonfile_writer_close (&w);
  struct stat st;
  assert_int_equal (fstatat (dfd, "c-json.log", &st, 0), 0);
  assert_true (st.st_size <= 200);
  assert_int_equal (fstatat (dfd, "c-json.log.1", &st, 0), 0);
  assert_int_equal (fstatat (dfd, "c-json.log.2", &st, 0), 0);
  assert_int_equal (fstatat (dfd, "c-json.log.3", &st, 0), -1); /* max-file=3 in total */

  /* everything kept, oldest first, tty (no frames) */
  struct logs_read_options o
      = { .want_stdout = true, .want_stderr = true, .tty = true, .tail = -1 };
  FILE *f = tmpfile ();
  int64_t off;
  assert_int_equal (logs_jsonfile_read (dfd, "c-json.log", 3, &o, fileno (f), &off), 0);
  size_t len;
  _cleanup_free_ char *all = read_all_fd (fileno (f), &len);
  assert_string_equal (all, "line 4\nline 5\nline 6\nline 7\nline 8\nline 9\n");
  fclose (f);

  /* tail 2, stdout only, with frames */
  struct logs_read_options o2 = { .want_stdout = true, .tail = 2 };
  f = tmpfile ();
  assert_int_equal (logs_jsonfile_read (dfd, "c-json.log", 3, &o2, fileno (f), &off), 0);
  _cleanup_free_ char *framed = read_all_fd (fileno (f), &len);
  assert_int_equal (len, 2 * (8 + 7));
  assert_int_equal (framed[0], 1);
  assert_memory_equal (framed + 8, "line 6\n", 7);
  assert_memory_equal (framed + 15 + 8, "line 8\n", 7);
  fclose (f);

  /* since/until (inclusive) and timestamps */
  struct logs_read_options o3 = { .want_stdout = true,
                                  .want_stderr = true,
                                  .tty = true,
                                  .timestamps = true,
                                  .since_ns = t0 + 5000000000ull,
                                  .until_ns = t0 + 6000000000ull,
                                  .tail = -1 };
  f = tmpfile ();
  assert_int_equal (logs_jsonfile_read (dfd, "c-json.log", 3, &o3, fileno (f), &off), 0);
  _cleanup_free_ char *ts = read_all_fd (fileno (f), &len);
  assert_string_equal (
      ts, "2026-11-22T15:50:06.000000000Z line 5\n2026-11-22T15:50:07.000000000Z line 6\n");
  fclose (f);
  fs_rm_rf_at (AT_FDCWD, dir, &err);
}

static void
test_long_lines_are_split (void **state)
{
  /* the monitor splits at 16 KiB; the writer itself writes what it gets */
  _cleanup_free_ char *dir = make_tmpdir ();
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct logs_jsonfile_writer w;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (logs_jsonfile_writer_open (&w, dfd, "l.log", 0, 1, &err), 0);
  char big[20000];
  memset (big, 'x', sizeof big);
  assert_int_equal (logs_jsonfile_write (&w, LOG_STREAM_STDOUT, big, sizeof big, 1), 0);
  logs_jsonfile_writer_close (&w);
  struct logs_read_options o = { .want_stdout = true, .tty = true, .tail = -1 };
  FILE *f = tmpfile ();
  int64_t off;
  assert_int_equal (logs_jsonfile_read (dfd, "l.log", 1, &o, fileno (f), &off), 0);
  size_t len;
  _cleanup_free_ char *out = read_all_fd (fileno (f), &len);
  assert_int_equal (len, sizeof big);
  fclose (f);
  fs_rm_rf_at (AT_FDCWD, dir, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_frame_header),
    cmocka_unit_test (test_json_escape_like_go),
    cmocka_unit_test (test_jsonfile_line_roundtrip),
    cmocka_unit_test (test_rotation_and_reading),
    cmocka_unit_test (test_long_lines_are_split),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
