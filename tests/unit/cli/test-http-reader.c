/* The CLI's HTTP response reader (src/cli/http-reader.c): one row per
 * response shape the daemon (or a docker daemon) sends, each fed whole and
 * in every split, plus sinks, upgrades and malformed answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/http-internal.h"

struct row
{
  const char *name;
  const char *wire;
  bool is_head, stop_at_head;
  bool eof;          /* the connection ends after the bytes */
  int rc;            /* 0, or -1: a malformed answer */
  long status;
  const char *body;  /* buffered body */
  const char *ctype; /* Content-Type, or NULL */
  const char *stat;  /* X-Docker-Container-Path-Stat, or NULL */
  bool keep_alive;
  bool upgraded;
  const char *rest; /* bytes left after the message (upgrades) */
};

static const struct row rows[] = {
  { "content-length",
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
    .status = 200, .body = "{\"a\":1}", .ctype = "application/json", .keep_alive = true },
  /* libmicrohttpd streams answers chunked; extensions and trailers are legal */
  { "chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n",
    .status = 200, .body = "abc0123456789abcdef", .keep_alive = true },
  /* an HTTP/1.0-style body that runs to the end of the stream */
  { "until-eof", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", .eof = true,
    .status = 200, .body = "all of it" },
  { "http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", .status = 200, .body = "ok" },
  /* HEAD: the length announces a body that never comes (docker cp's stat) */
  { "head", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nX-Docker-Container-Path-Stat: eyJuYW1lIjoiYSJ9\r\n\r\n",
    .is_head = true, .status = 200, .body = "", .stat = "eyJuYW1lIjoiYSJ9", .keep_alive = true },
  { "no-content", "HTTP/1.1 204 No Content\r\n\r\n", .status = 204, .body = "", .keep_alive = true },
  { "not-modified", "HTTP/1.1 304 Not Modified\r\n\r\n", .status = 304, .body = "",
    .keep_alive = true },
  /* header names are case-insensitive; values lose their blanks */
  { "header-case",
    "HTTP/1.1 404 Not Found\r\ncontent-TYPE:   text/plain  \r\nx-docker-container-path-stat:e30=\r\nContent-Length: 4\r\n\r\nnope",
    .status = 404, .body = "nope", .ctype = "text/plain", .stat = "e30=", .keep_alive = true },
  { "interim-100",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
    .status = 201, .body = "{}", .keep_alive = true },
  /* an interim answer has no body, whatever its headers say (fuzz) */
  { "interim-chunked",
    "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    .status = 200, .body = "x", .keep_alive = true },
  /* attach: the raw stream follows the 101 head in the same read */
  { "upgrade-101",
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\0\0\0\0\0\0\x02hi",
    .stop_at_head = true, .status = 101, .body = "", .ctype = "application/vnd.docker.raw-stream",
    .upgraded = true, .rest = "\x01\0\0\0\0\0\0\x02hi" },
  /* older daemons answer 200 and go raw */
  { "upgrade-200", "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw bytes",
    .stop_at_head = true, .status = 200, .body = "", .ctype = "application/vnd.docker.raw-stream",
    .upgraded = true, .rest = "raw bytes" },
  /* an error answer to an upgrade request is an ordinary response */
  { "upgrade-refused",
    "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n{\"message\":\"is not running\"}",
    .stop_at_head = true, .status = 409, .body = "{\"message\":\"is not running\"}",
    .ctype = "application/json", .keep_alive = true },
  /* a streamed answer the daemon ends by closing is complete (libcurl's
   * CURLE_PARTIAL_FILE was too) */
  { "cut-after-head", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", .eof = true,
    .status = 200, .body = "hel" },
  /* nothing usable */
  { "empty", "", .eof = true, .rc = -1 },
  { "cut-in-head", "HTTP/1.1 200 OK\r\nContent-Le", .eof = true, .rc = -1 },
  { "not-http", "SSH-2.0-OpenSSH_9.2\r\n", .rc = -1 },
  { "bad-status", "HTTP/1.1 2x0 OK\r\n\r\n", .rc = -1 },
  { "bad-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .rc = -1 },
  { "two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", .rc = -1 },
};

static size_t
wire_len (const struct row *r)
{
  /* the raw-stream rows carry NULs: their length is the head's plus the rest's */
  if (r->rest)
    {
      const char *end = strstr (r->wire, "\r\n\r\n");
      size_t rest_len = r->rest[0] == '\x01' ? 10 : strlen (r->rest);
      return (size_t) (end + 4 - r->wire) + rest_len;
    }
  return strlen (r->wire);
}

/* Feed the row in pieces of `step` bytes; returns the reader's verdict. */
static int
feed_row (const struct row *row, size_t step, struct cli_http_reader *r, size_t *rest_off)
{
  size_t len = wire_len (row);
  cli_http_reader_init (r, row->is_head, row->stop_at_head);
  _cleanup_error_ struct berth_error *err = NULL;
  size_t off = 0;
  while (off < len && !r->done)
    {
      size_t n = len - off < step ? len - off : step;
      ssize_t used = cli_http_reader_feed (r, row->wire + off, n, &err);
      if (used < 0)
        {
          assert_non_null (err);
          assert_non_null (strstr (err->msg, "bad response from the daemon"));
          return -1;
        }
      off += (size_t) used;
      if ((size_t) used < n)
        break;
    }
  *rest_off = off;
  if (row->eof && cli_http_reader_eof (r, &err) < 0)
    {
      assert_non_null (err);
      return -1;
    }
  return 0;
}

static void
test_rows (void **state)
{
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    {
      const struct row *row = &rows[i];
      size_t len = wire_len (row);
      for (size_t step = 1; step <= len + 1; step++)
        {
          struct cli_http_reader r;
          size_t rest_off = 0;
          int rc = feed_row (row, step, &r, &rest_off);
          if (rc != row->rc)
            fail_msg ("%s (step %zu): rc %d", row->name, step, rc);
          if (rc < 0)
            {
              cli_http_reader_clear (&r);
              continue;
            }
          if (!r.done)
            fail_msg ("%s (step %zu): not done", row->name, step);
          assert_int_equal (r.status, row->status);
          assert_int_equal (r.keep_alive, row->keep_alive);
          assert_int_equal (r.upgraded, row->upgraded);
          if (row->upgraded)
            {
              size_t rest_len = len - rest_off;
              size_t want = row->rest[0] == '\x01' ? 10 : strlen (row->rest);
              assert_int_equal (rest_len, want);
              assert_memory_equal (row->wire + rest_off, row->rest, want);
            }
          struct cli_response resp = { 0 };
          cli_http_reader_take (&r, &resp);
          assert_int_equal (resp.len, strlen (row->body));
          assert_string_equal (resp.body, row->body);
          if (row->ctype)
            assert_string_equal (resp.content_type, row->ctype);
          else
            assert_null (resp.content_type);
          if (row->stat)
            assert_string_equal (resp.header_stat, row->stat);
          else
            assert_null (resp.header_stat);
          cli_response_clear (&resp);
          cli_http_reader_clear (&r);
        }
    }
}

struct sink_state
{
  char got[64];
  size_t len;
  int answer; /* what the sink returns */
  int calls;
};

static int
sink (void *ud, const char *data, size_t len)
{
  struct sink_state *s = ud;
  s->calls++;
  if (s->len + len < sizeof s->got)
    {
      memcpy (s->got + s->len, data, len);
      s->len += len;
    }
  return s->answer;
}

static void
test_sink (void **state)
{
  static const char ok[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\n{\"a\":1\r\n2\r\n}\n\r\n0\r\n\r\n";
  struct cli_http_reader r;
  _cleanup_error_ struct berth_error *err = NULL;

  /* a 2xx body streams to the sink, chunk by chunk; nothing is buffered */
  struct sink_state s = { .answer = 0 };
  cli_http_reader_init (&r, false, false);
  r.sink = sink;
  r.sink_data = &s;
  assert_int_equal (cli_http_reader_feed (&r, ok, strlen (ok), &err), (ssize_t) strlen (ok));
  assert_true (r.done);
  assert_int_equal (s.calls, 2);
  assert_memory_equal (s.got, "{\"a\":1}\n", 8);
  assert_int_equal (r.len, 0);
  assert_int_equal (r.sink_rc, 0);
  cli_http_reader_clear (&r);

  /* the sink has all it wants after the first chunk: reading stops there */
  s = (struct sink_state){ .answer = 1 };
  cli_http_reader_init (&r, false, false);
  r.sink = sink;
  r.sink_data = &s;
  assert_true (cli_http_reader_feed (&r, ok, strlen (ok), &err) < (ssize_t) strlen (ok));
  assert_true (r.done);
  assert_false (r.keep_alive);
  assert_int_equal (r.sink_rc, 1);
  assert_int_equal (s.calls, 1);
  cli_http_reader_clear (&r);

  /* the sink fails (stdout closed) */
  s = (struct sink_state){ .answer = -1 };
  cli_http_reader_init (&r, false, false);
  r.sink = sink;
  r.sink_data = &s;
  cli_http_reader_feed (&r, ok, strlen (ok), &err);
  assert_int_equal (r.sink_rc, -1);
  assert_null (err);
  cli_http_reader_clear (&r);

  /* an error answer is buffered for its message, never streamed */
  static const char bad[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 15\r\n\r\n{\"message\":\"x\"}";
  s = (struct sink_state){ .answer = 0 };
  cli_http_reader_init (&r, false, false);
  r.sink = sink;
  r.sink_data = &s;
  assert_int_equal (cli_http_reader_feed (&r, bad, strlen (bad), &err), (ssize_t) strlen (bad));
  assert_int_equal (s.calls, 0);
  assert_string_equal (r.body, "{\"message\":\"x\"}");
  cli_http_reader_clear (&r);
}

static void
test_one_answer_only (void **state)
{
  /* bytes after the answer are not read as a second one */
  static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB";
  struct cli_http_reader r;
  _cleanup_error_ struct berth_error *err = NULL;
  cli_http_reader_init (&r, false, false);
  ssize_t used = cli_http_reader_feed (&r, two, strlen (two), &err);
  assert_int_equal (used, (ssize_t) strlen (two) / 2);
  assert_string_equal (r.body, "A");
  assert_int_equal (cli_http_reader_feed (&r, two + used, strlen (two) - (size_t) used, &err), 0);
  assert_string_equal (r.body, "A");
  cli_http_reader_clear (&r);
}

static void
test_huge_head (void **state)
{
  /* a head past http-parser's 80 KiB limit is refused, not buffered */
  size_t n = 100 * 1024;
  char *wire = malloc (n + 64);
  strcpy (wire, "HTTP/1.1 200 OK\r\nX-Big: ");
  size_t off = strlen (wire);
  memset (wire + off, 'a', n);
  strcpy (wire + off + n, "\r\n\r\n");
  struct cli_http_reader r;
  _cleanup_error_ struct berth_error *err = NULL;
  cli_http_reader_init (&r, false, false);
  assert_int_equal (cli_http_reader_feed (&r, wire, strlen (wire), &err), -1);
  assert_non_null (err);
  cli_http_reader_clear (&r);
  free (wire);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rows),
    cmocka_unit_test (test_sink),
    cmocka_unit_test (test_one_answer_only),
    cmocka_unit_test (test_huge_head),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
