/* berth cli: reading one HTTP/1.1 response from the daemon with http-parser
 * (status line, headers, Content-Length, chunked, bodies to the end of the
 * stream, 101 upgrades): the status, the two headers the CLI uses, and the
 * body into a buffer or a streaming sink. Pure: bytes in, no I/O. */
#include "cli/http-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A header value longer than this is cut (the daemon's are short; the
 * parser itself refuses a head over 80 KiB). */
#define VALUE_MAX 65536

static struct cli_http_reader *
reader_of (http_parser *p)
{
  return p->data;
}

static void
body_append (struct cli_http_reader *r, const char *at, size_t n)
{
  if (r->len + n + 1 > r->cap)
    {
      size_t cap = r->cap ? r->cap : 4096;
      while (cap < r->len + n + 1)
        cap *= 2;
      char *b = realloc (r->body, cap);
      if (b == NULL)
        abort ();
      r->body = b;
      r->cap = cap;
    }
  memcpy (r->body + r->len, at, n);
  r->len += n;
  r->body[r->len] = '\0';
}

/* The header just read in full: keep the ones the CLI looks at. */
static void
header_done (struct cli_http_reader *r)
{
  if (!r->in_value)
    return;
  r->in_value = false;
  char **slot = NULL;
  if (!r->field_long && r->field_len == strlen ("content-type")
      && strncasecmp (r->field, "content-type", r->field_len) == 0)
    slot = &r->content_type;
  else if (!r->field_long && r->field_len == strlen ("x-docker-container-path-stat")
           && strncasecmp (r->field, "x-docker-container-path-stat", r->field_len) == 0)
    slot = &r->header_stat;
  if (slot)
    {
      /* http-parser drops the blanks in front of a value, not behind it */
      while (r->value_len && (r->value[r->value_len - 1] == ' ' || r->value[r->value_len - 1] == '\t'))
        r->value[--r->value_len] = '\0';
      free (*slot);
      *slot = r->value ? r->value : xstrdup ("");
      r->value = NULL;
    }
  free (r->value);
  r->value = NULL;
  r->value_len = 0;
  r->field_len = 0;
  r->field_long = false;
}

static int
on_message_begin (http_parser *p)
{
  struct cli_http_reader *r = reader_of (p);
  free (r->content_type);
  free (r->header_stat);
  r->content_type = r->header_stat = NULL;
  r->len = 0;
  if (r->body)
    r->body[0] = '\0';
  return 0;
}

static int
on_header_field (http_parser *p, const char *at, size_t n)
{
  struct cli_http_reader *r = reader_of (p);
  header_done (r);
  if (r->field_len + n > sizeof r->field)
    r->field_long = true; /* no header of interest is that long */
  else
    {
      memcpy (r->field + r->field_len, at, n);
      r->field_len += n;
    }
  return 0;
}

static int
on_header_value (http_parser *p, const char *at, size_t n)
{
  struct cli_http_reader *r = reader_of (p);
  r->in_value = true;
  if (r->value_len + n > VALUE_MAX)
    n = VALUE_MAX - r->value_len;
  char *v = realloc (r->value, r->value_len + n + 1);
  if (v == NULL)
    abort ();
  memcpy (v + r->value_len, at, n);
  r->value_len += n;
  v[r->value_len] = '\0';
  r->value = v;
  return 0;
}

static int
on_headers_complete (http_parser *p)
{
  struct cli_http_reader *r = reader_of (p);
  header_done (r);
  r->status = p->status_code;
  if (p->status_code < 100)
    return -1; /* "HTTP/1.1 000": no status the CLI could act on */
  if (p->status_code / 100 == 1 && p->status_code != 101)
    return 1; /* an interim answer (100 Continue): no body, the real one follows */
  r->head_done = true;
  if (r->stop_at_head && (p->status_code == 101 || p->status_code == 200))
    {
      /* the raw stream starts right after the head (docker answers 101,
       * older daemons 200 with application/vnd.docker.raw-stream) */
      r->upgraded = true;
      return 2;
    }
  return r->is_head ? 1 : 0;
}

static int
on_body (http_parser *p, const char *at, size_t n)
{
  struct cli_http_reader *r = reader_of (p);
  if (!r->head_done)
    return 0; /* an interim answer has no body to keep */
  if (r->sink && r->status < 300)
    {
      int rc = r->sink (r->sink_data, at, n);
      if (rc != 0)
        {
          /* the sink failed, or has all it wanted: read no further */
          r->sink_rc = rc < 0 ? -1 : 1;
          r->done = true;
          http_parser_pause (p, 1);
        }
      return 0;
    }
  body_append (r, at, n);
  return 0;
}

static int
on_message_complete (http_parser *p)
{
  struct cli_http_reader *r = reader_of (p);
  if (!r->head_done)
    return 0; /* the end of an interim answer */
  r->done = true;
  r->keep_alive = !r->upgraded && http_should_keep_alive (p);
  /* one response per request: bytes after it are not read as another */
  http_parser_pause (p, 1);
  return 0;
}

static const http_parser_settings settings = {
  .on_message_begin = on_message_begin,
  .on_header_field = on_header_field,
  .on_header_value = on_header_value,
  .on_headers_complete = on_headers_complete,
  .on_body = on_body,
  .on_message_complete = on_message_complete,
};

void
cli_http_reader_init (struct cli_http_reader *r, bool is_head, bool stop_at_head)
{
  memset (r, 0, sizeof *r);
  http_parser_init (&r->parser, HTTP_RESPONSE);
  r->parser.data = r;
  r->is_head = is_head;
  r->stop_at_head = stop_at_head;
}

void
cli_http_reader_clear (struct cli_http_reader *r)
{
  free (r->content_type);
  free (r->header_stat);
  free (r->body);
  free (r->value);
  memset (r, 0, sizeof *r);
}

ssize_t
cli_http_reader_feed (struct cli_http_reader *r, const char *data, size_t len,
                      struct berth_error **err)
{
  if (r->done || len == 0)
    return 0;
  size_t used = http_parser_execute (&r->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO (&r->parser);
  if (e == HPE_PAUSED)
    return (ssize_t) used;
  if (e != HPE_OK)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                 "error during connect: bad response from the daemon: %s",
                                 http_errno_description (e));
  return (ssize_t) used;
}

int
cli_http_reader_eof (struct cli_http_reader *r, struct berth_error **err)
{
  if (r->done)
    return 0;
  if (HTTP_PARSER_ERRNO (&r->parser) == HPE_OK)
    http_parser_execute (&r->parser, &settings, NULL, 0);
  if (r->done)
    return 0;
  if (!r->head_done)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                 "error during connect: the daemon closed the connection "
                                 "without an answer");
  r->done = true;
  r->keep_alive = false;
  return 0;
}

void
cli_http_reader_take (struct cli_http_reader *r, struct cli_response *resp)
{
  resp->status = r->status;
  resp->body = r->body ? r->body : xstrdup ("");
  resp->len = r->len;
  resp->content_type = r->content_type;
  resp->header_stat = r->header_stat;
  r->body = r->content_type = r->header_stat = NULL;
  r->len = r->cap = 0;
}
