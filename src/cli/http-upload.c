/* berth cli: request bodies sent chunked (Transfer-Encoding: chunked) while
 * the answer is watched for: a stream read from a file descriptor (load,
 * cp, import), or a body its producer writes (the build context), whose
 * small pieces are gathered into large chunks and whose large files go to
 * the socket with sendfile on a plain connection. */
#include "cli/cli-internal.h"
#include "cli/http-internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Below this a file is read into the chunk being gathered (one read, no
 * chunk of its own); from it on, it is sent with sendfile. */
#define SENDFILE_MIN (64 * 1024)
/* Room in front of a chunk's bytes for "\r\n" (the end of a sent file's
 * chunk) and the chunk's size line. */
#define ROOM 24

int
cli_http_send_duplex (struct cli_http_exchange *x, const char *p, size_t len,
                      struct berth_error **err)
{
  while (len > 0)
    {
      ssize_t n = x->conn->ops->send (x->conn, p, len);
      if (n == -2)
        {
          struct pollfd pf = { .fd = x->conn->fd, .events = POLLIN | POLLOUT };
          if (poll (&pf, 1, -1) < 0 && errno != EINTR)
            return -2;
          if (pf.revents & (POLLIN | POLLHUP))
            {
              int rc = cli_http_pump (x->conn, x->r, x->rbuf, CLI_READ_CHUNK, false, x->got_bytes,
                                      err);
              if (rc < 0)
                return -1;
              if (rc == 1 || x->r->done)
                return 1;
            }
          continue;
        }
      if (n < 0)
        return -2;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

static void
count_sent (const struct cli_request *req, uint64_t n)
{
  if (req->body_sent == NULL)
    return;
  *req->body_sent += n;
  if (req->on_body_progress)
    req->on_body_progress (req->userdata, *req->body_sent);
}

int
cli_http_upload_fd (struct cli_http_exchange *x, const struct cli_request *req,
                    struct berth_error **err)
{
  _cleanup_free_ char *buf = malloc (ROOM + CLI_UPLOAD_CHUNK + 2);
  if (buf == NULL)
    abort ();
  for (;;)
    {
      ssize_t n = read (req->body_fd, buf + ROOM, CLI_UPLOAD_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set (err, errno, "read the request body");
      if (n > 0)
        count_sent (req, (uint64_t) n);
      const char *p = "0\r\n\r\n";
      size_t len = 5;
      if (n > 0)
        {
          char size_line[ROOM];
          int h = snprintf (size_line, sizeof size_line, "%zx\r\n", (size_t) n);
          memcpy (buf + ROOM - h, size_line, (size_t) h);
          memcpy (buf + ROOM + n, "\r\n", 2);
          p = buf + ROOM - h;
          len = (size_t) h + (size_t) n + 2;
        }
      int rc = cli_http_send_duplex (x, p, len, err);
      if (rc != 0 || n == 0)
        return rc;
    }
}

/* ------------------------------------------------- a producer's body -- */

struct body
{
  struct cli_http_exchange *x;
  const struct cli_request *req;
  char *buf; /* ROOM, then the chunk being gathered, then room for "\r\n" */
  size_t len;
  bool crlf_owed; /* the last chunk went out by sendfile: its "\r\n" is due */
  int stop_rc;    /* what ended the request early (cli_http_send_duplex) */
  struct berth_error *stop_err;
};

/* Send the gathered bytes as one chunk (with the terminating zero-size
 * chunk when `last`). 0, or 1 when the request has ended. */
static int
body_flush (struct body *b, bool last)
{
  if (b->stop_rc)
    return 1;
  if (b->len == 0 && !last && !b->crlf_owed)
    return 0;
  char head[ROOM];
  int h = 0;
  if (b->crlf_owed)
    h += snprintf (head + h, sizeof head - (size_t) h, "\r\n");
  if (b->len)
    h += snprintf (head + h, sizeof head - (size_t) h, "%zx\r\n", b->len);
  char *p = b->buf + ROOM - h;
  memcpy (p, head, (size_t) h);
  size_t n = (size_t) h + b->len;
  if (b->len)
    {
      memcpy (p + n, "\r\n", 2);
      n += 2;
    }
  int rc = cli_http_send_duplex (b->x, p, n, &b->stop_err);
  if (rc == 0 && last)
    rc = cli_http_send_duplex (b->x, "0\r\n\r\n", 5, &b->stop_err);
  if (rc != 0)
    {
      b->stop_rc = rc;
      return 1;
    }
  count_sent (b->req, b->len);
  b->len = 0;
  b->crlf_owed = false;
  return 0;
}

static int
body_write (void *ud, const void *data, size_t len, struct berth_error **err)
{
  struct body *b = ud;
  (void) err;
  const char *p = data;
  while (len > 0)
    {
      if (b->stop_rc)
        return 1;
      size_t n = CLI_UPLOAD_CHUNK - b->len;
      if (n > len)
        n = len;
      memcpy (b->buf + ROOM + b->len, p, n);
      b->len += n;
      p += n;
      len -= n;
      if (b->len == CLI_UPLOAD_CHUNK && body_flush (b, false))
        return 1;
    }
  return b->stop_rc ? 1 : 0;
}

/* A small file: read into the chunk being gathered. */
static int
body_read_file (struct body *b, int fd, uint64_t len, struct berth_error **err)
{
  while (len > 0)
    {
      if (b->len == CLI_UPLOAD_CHUNK && body_flush (b, false))
        return 1;
      size_t room = CLI_UPLOAD_CHUNK - b->len;
      ssize_t n = read (fd, b->buf + ROOM + b->len, len < room ? (size_t) len : room);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set (err, errno, "read");
      if (n == 0)
        return berth_error_set (err, 0, "the file shrank while it was sent");
      b->len += (size_t) n;
      len -= (uint64_t) n;
    }
  return 0;
}

static int
body_send_file (void *ud, int fd, uint64_t len, struct berth_error **err)
{
  struct body *b = ud;
  struct cli_conn *conn = b->x->conn;
  if (b->stop_rc)
    return 1;
  if (len < SENDFILE_MIN || conn->ops->send_file == NULL)
    return body_read_file (b, fd, len, err);
  /* a chunk of its own: the size line, then the file's bytes by sendfile */
  if (body_flush (b, false))
    return 1;
  char head[ROOM];
  int h = snprintf (head, sizeof head, "%s%llx\r\n", b->crlf_owed ? "\r\n" : "",
                    (unsigned long long) len);
  int rc = cli_http_send_duplex (b->x, head, (size_t) h, &b->stop_err);
  if (rc != 0)
    {
      b->stop_rc = rc;
      return 1;
    }
  b->crlf_owed = true;
  uint64_t left = len;
  while (left > 0)
    {
      ssize_t n = conn->ops->send_file (conn, fd, left > (1u << 30) ? (1u << 30) : (size_t) left);
      if (n == -2)
        {
          /* the socket is full: wait, and watch for an early answer */
          rc = 0;
          struct pollfd pf = { .fd = conn->fd, .events = POLLIN | POLLOUT };
          if (poll (&pf, 1, -1) < 0 && errno != EINTR)
            rc = -2;
          else if (pf.revents & (POLLIN | POLLHUP))
            {
              int pr = cli_http_pump (conn, b->x->r, b->x->rbuf, CLI_READ_CHUNK, false,
                                      b->x->got_bytes, &b->stop_err);
              rc = pr < 0 ? -1 : (pr == 1 || b->x->r->done) ? 1 : 0;
            }
          if (rc != 0)
            {
              b->stop_rc = rc;
              return 1;
            }
          continue;
        }
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
        {
          b->stop_rc = -2;
          return 1;
        }
      if (n < 0)
        return berth_error_set (err, errno, "sendfile");
      if (n == 0)
        return berth_error_set (err, 0, "the file shrank while it was sent");
      left -= (uint64_t) n;
      count_sent (b->req, (uint64_t) n);
    }
  return 0;
}

int
cli_http_upload_fn (struct cli_http_exchange *x, const struct cli_request *req,
                    struct berth_error **err)
{
  struct body b = { .x = x, .req = req, .buf = malloc (ROOM + CLI_UPLOAD_CHUNK + 2) };
  if (b.buf == NULL)
    abort ();
  const struct cli_body_out out = { .write = body_write, .send_file = body_send_file, .ud = &b };
  int rc = req->body_fn (req->body_data, &out, err);
  if (rc == 0)
    body_flush (&b, true);
  free (b.buf);
  if (rc < 0)
    {
      berth_error_free (b.stop_err);
      return -1;
    }
  if (b.stop_rc == -1 && err && *err == NULL)
    *err = steal_pointer (&b.stop_err);
  berth_error_free (b.stop_err);
  return b.stop_rc;
}
