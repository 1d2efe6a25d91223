/* Chunked streaming answers (events, wait, pull/load progress, logs, save):
 * a byte queue the loop fills and libmicrohttpd drains. When the queue is
 * empty the connection is suspended (no busy polling) and resumed by the
 * next write; a client that hangs up meanwhile is noticed through
 * EPOLLRDHUP on its socket. api_respond_fd pumps a pipe into a stream. */
#include "daemon/api-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STREAM_BLOCK 32768
#define STREAM_DRAIN_MARK (64u * 1024)
/* A pipe-fed stream stops reading its pipe above this (back-pressure). */
#define STREAM_FD_HIGH_MARK (256u * 1024)

struct api_stream
{
  struct api_request *req;
  char *buf;
  size_t head, len, cap;
  bool ended;
  bool failed;
  bool gone;
  int refs; /* the request's and the MHD response's */
  void (*on_close) (void *);
  void *on_close_data;
  void (*on_drain) (void *);
  void *on_drain_data;
  /* api_respond_fd */
  int src_fd;
  struct loop_fd *src_watch;
};

static void stream_fd_update (struct api_stream *s);

static ssize_t
stream_reader (void *cls, uint64_t pos, char *out, size_t max)
{
  struct api_stream *s = cls;
  (void) pos;
  if (s->gone || (s->failed && s->len == 0))
    return MHD_CONTENT_READER_END_WITH_ERROR;
  if (s->len == 0)
    {
      if (s->ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
      /* Nothing to send: sleep until api_stream_write resumes us. */
      api_request_suspend (s->req);
      api_request_watch_gone (s->req);
      return 0;
    }
  size_t n = s->len < max ? s->len : max;
  memcpy (out, s->buf + s->head, n);
  s->head += n;
  s->len -= n;
  if (s->len == 0)
    s->head = 0;
  if (s->len < STREAM_DRAIN_MARK)
    {
      if (s->on_drain)
        s->on_drain (s->on_drain_data);
      stream_fd_update (s);
    }
  return (ssize_t) n;
}

static void
stream_unref (struct api_stream *s)
{
  if (--s->refs > 0)
    return;
  free (s->buf);
  free (s);
}

/* MHD is done with the response; the request may still hold the stream. */
static void
stream_reader_free (void *cls)
{
  stream_unref (cls);
}

struct api_stream *
api_respond_stream (struct api_request *req, unsigned status, const char *content_type)
{
  struct api_stream *s = calloc (1, sizeof *s);
  if (s == NULL)
    abort ();
  s->req = req;
  s->src_fd = -1;
  struct MHD_Response *resp = MHD_create_response_from_callback (
      MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, s, stream_reader_free);
  if (resp == NULL)
    abort ();
  if (content_type)
    MHD_add_response_header (resp, "Content-Type", content_type);
  api_request_apply_headers (req, resp);
  s->refs = 2;
  req->stream = s;
  req->answer = API_ANSWER_RESPONSE;
  req->status = status;
  req->response = resp;
  api_request_answer_ready (req);
  return s;
}

struct MHD_Response *
api_stream_mhd_response (struct api_stream *s)
{
  return s->req->response;
}

static void
stream_wake (struct api_stream *s)
{
  if (s->req->suspended && s->req->queued)
    {
      api_request_unwatch_gone (s->req);
      api_request_resume (s->req);
    }
}

int
api_stream_write (struct api_stream *s, const void *data, size_t len)
{
  if (s->gone || s->ended)
    return -1;
  if (len == 0)
    return 0;
  if (s->head > 0 && s->head + s->len + len > s->cap)
    {
      memmove (s->buf, s->buf + s->head, s->len);
      s->head = 0;
    }
  if (s->head + s->len + len > s->cap)
    {
      size_t cap = s->cap ? s->cap : 4096;
      while (cap < s->len + len)
        cap *= 2;
      char *buf = realloc (s->buf, cap);
      if (buf == NULL)
        abort ();
      s->buf = buf;
      s->cap = cap;
    }
  memcpy (s->buf + s->head + s->len, data, len);
  s->len += len;
  stream_wake (s);
  return 0;
}

int
api_stream_write_json (struct api_stream *s, json_t *j)
{
  char *text = json_dumps (j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref (j);
  if (text == NULL)
    return -1;
  size_t n = strlen (text);
  text[n] = '\0';
  int r = api_stream_write (s, text, n);
  if (r == 0)
    r = api_stream_write (s, "\n", 1);
  free (text);
  return r;
}

size_t
api_stream_pending (const struct api_stream *s)
{
  return s->len;
}

void
api_stream_on_close (struct api_stream *s, void (*fn) (void *), void *userdata)
{
  s->on_close = fn;
  s->on_close_data = userdata;
  if (s->gone && fn)
    {
      s->on_close = NULL;
      fn (userdata);
    }
}

void
api_stream_on_drain (struct api_stream *s, void (*fn) (void *), void *userdata)
{
  s->on_drain = fn;
  s->on_drain_data = userdata;
}

bool
api_stream_is_ended (const struct api_stream *s)
{
  return s->ended;
}

static void
stream_src_close (struct api_stream *s)
{
  if (s->src_watch)
    loop_fd_remove (s->src_watch);
  s->src_watch = NULL;
  if (s->src_fd >= 0)
    close (s->src_fd);
  s->src_fd = -1;
}

void
api_stream_end (struct api_stream *s)
{
  if (s->ended)
    return;
  s->ended = true;
  stream_src_close (s);
  struct api_request *req = s->req;
  req->answered = true;
  stream_wake (s);
  api_request_release (req);
}

void
api_stream_abort (struct api_stream *s)
{
  if (s->ended)
    return;
  s->failed = true;
  api_stream_end (s);
}

/* The client went away: tell the producer, never call back again. */
void
api_stream_client_gone (struct api_stream *s)
{
  if (s->gone)
    return;
  s->gone = true;
  s->len = 0;
  if (s->src_fd >= 0)
    {
      /* The pipe's writer now gets EPIPE and stops. */
      stream_src_close (s);
      api_stream_end (s);
      return;
    }
  void (*fn) (void *) = s->on_close;
  s->on_close = NULL;
  if (fn && !s->ended)
    fn (s->on_close_data);
}

void
api_stream_free (struct api_stream *s)
{
  if (s == NULL)
    return;
  stream_src_close (s);
  s->req = NULL;
  stream_unref (s);
}

/* ------------------------------------------------------- pipe → stream -- */

static void stream_fd_readable (struct loop_fd *w, int fd, uint32_t events, void *userdata);

static void
stream_fd_readable (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct api_stream *s = userdata;
  char buf[STREAM_BLOCK];
  for (int round = 0; round < 8 && s->len < STREAM_FD_HIGH_MARK; round++)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n > 0)
        {
          api_stream_write (s, buf, (size_t) n);
          continue;
        }
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      /* EOF (or a read error: the body is truncated, the client sees the
       * chunked stream end early). */
      api_stream_end (s);
      return;
    }
  (void) w;
  stream_fd_update (s);
}

/* Read the pipe only while the queue is below the high mark. Pausing
 * removes the fd from epoll: a hung-up pipe would otherwise report EPOLLHUP
 * on every iteration while we wait for the client. */
static void
stream_fd_update (struct api_stream *s)
{
  if (s->src_fd < 0 || s->ended)
    return;
  bool want = s->len < STREAM_FD_HIGH_MARK;
  if (want && s->src_watch == NULL)
    s->src_watch
        = loop_fd_add (s->req->d->loop, s->src_fd, EPOLLIN, stream_fd_readable, s, NULL);
  else if (!want && s->src_watch != NULL)
    {
      loop_fd_remove (s->src_watch);
      s->src_watch = NULL;
    }
}

struct api_stream *
api_respond_fd (struct api_request *req, unsigned status, const char *content_type, int fd)
{
  struct api_stream *s = api_respond_stream (req, status, content_type);
  int fl = fcntl (fd, F_GETFL);
  if (fl >= 0)
    fcntl (fd, F_SETFL, fl | O_NONBLOCK);
  s->src_fd = fd;
  _cleanup_error_ struct berth_error *err = NULL;
  s->src_watch = loop_fd_add (req->d->loop, fd, EPOLLIN, stream_fd_readable, s, &err);
  if (s->src_watch == NULL)
    {
      berth_log (BERTH_LOG_ERROR, "%s %s: %s", req->method, req->url, err->msg);
      api_stream_abort (s);
    }
  return s;
}
