/* The CLI's reader of daemon responses (src/cli/http-reader.c over
 * http-parser): status line, headers, Content-Length, chunked, bodies to
 * the end of the stream, 101 upgrades. The first byte picks the mode (HEAD,
 * hijack, a sink that stops or fails) and the size of the pieces the rest
 * is fed in, as reads from a socket would cut it. */
#include "cli/http-internal.h"
#include "fuzz-common.h"

struct sink_state
{
  size_t seen;
  int answer_after; /* return 1 or -1 once this many bytes were seen, 0 = never */
  int answer;
};

static int
sink (void *ud, const char *data, size_t len)
{
  struct sink_state *s = ud;
  FUZZ_ASSERT (len > 0 && data != NULL);
  s->seen += len;
  if (s->answer_after && s->seen >= (size_t) s->answer_after)
    return s->answer;
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t mode = data[0];
  const char *wire = (const char *) data + 1;
  size_t len = size - 1;
  size_t step = (size_t) (mode >> 4) * 7 + 1; /* 1 .. 106 bytes per read */

  struct cli_http_reader r;
  cli_http_reader_init (&r, mode & 1, mode & 2);
  struct sink_state s = { .answer_after = (mode & 4) ? 16 : 0, .answer = (mode & 8) ? -1 : 1 };
  if (mode & 12)
    {
      r.sink = sink;
      r.sink_data = &s;
    }
  _cleanup_error_ struct berth_error *err = NULL;
  size_t off = 0;
  bool failed = false;
  while (off < len && !r.done)
    {
      size_t n = len - off < step ? len - off : step;
      ssize_t used = cli_http_reader_feed (&r, wire + off, n, &err);
      if (used < 0)
        {
          FUZZ_ASSERT (err && err->msg);
          failed = true;
          break;
        }
      FUZZ_ASSERT ((size_t) used <= n);
      off += (size_t) used;
      if ((size_t) used < n)
        {
          /* only a finished message (or a stopped sink) leaves bytes */
          FUZZ_ASSERT (r.done || r.upgraded);
          break;
        }
    }
  if (!failed && cli_http_reader_eof (&r, &err) < 0)
    {
      FUZZ_ASSERT (err && err->msg);
      FUZZ_ASSERT (!r.head_done);
      failed = true;
    }
  if (!failed)
    {
      FUZZ_ASSERT (r.done && r.head_done);
      FUZZ_ASSERT (r.status >= 100 && r.status <= 999);
      FUZZ_ASSERT (!r.upgraded || (mode & 2));
      if (r.body)
        FUZZ_ASSERT (r.body[r.len] == '\0');
      struct cli_response resp = { 0 };
      cli_http_reader_take (&r, &resp);
      FUZZ_ASSERT (resp.body && resp.body[resp.len] == '\0');
      if (resp.content_type)
        FUZZ_ASSERT (strlen (resp.content_type) <= 65536);
      cli_response_clear (&resp);
    }
  cli_http_reader_clear (&r);
  return 0;
}
