/* berth cli: hijacked connections for attach and exec start: the upgrade
 * request on a connection of its own (conn.c or conn-tls.c), the 101 head
 * read by http-reader.c, and from then on the raw bidirectional stream,
 * starting with the bytes that came in behind the head. */
#include "cli/cli-internal.h"
#include "cli/http-internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

struct cli_hijack
{
  struct cli_conn *conn;
  char *pending; /* bytes read past the response head */
  size_t pending_len, pending_off;
};

void
cli_hijack_free (struct cli_hijack *h)
{
  if (h == NULL)
    return;
  cli_conn_free (h->conn);
  free (h->pending);
  free (h);
}

static enum berth_error_kind
kind_of_status (long status)
{
  switch (status)
    {
    case 400: return BERTH_E_INVALID;
    case 404: return BERTH_E_NOT_FOUND;
    case 409: return BERTH_E_CONFLICT;
    default: return BERTH_E_INTERNAL;
    }
}

/* Read the answer's head (and, for an error, its body). On an upgrade,
 * the bytes behind the head are kept in hj->pending. */
static int
read_head (struct cli_hijack *hj, struct cli_http_reader *r, const char *path,
           struct berth_error **err)
{
  char buf[16384];
  while (!r->done)
    {
      ssize_t n = hj->conn->ops->recv (hj->conn, buf, sizeof buf);
      if (n == -2)
        {
          if (cli_conn_wait (hj->conn, POLLIN) < 0)
            return cli_conn_error (hj->conn, "poll", err);
          continue;
        }
      if (n < 0 && !r->head_done)
        return cli_conn_error (hj->conn, "read", err);
      if (n <= 0)
        {
          if (!r->head_done)
            return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                         "%s: the daemon closed the connection", path);
          return cli_http_reader_eof (r, err);
        }
      ssize_t used = cli_http_reader_feed (r, buf, (size_t) n, err);
      if (used < 0)
        return -1;
      if (r->upgraded)
        {
          hj->pending_len = (size_t) (n - used);
          hj->pending = malloc (hj->pending_len + 1);
          if (hj->pending == NULL)
            abort ();
          memcpy (hj->pending, buf + used, hj->pending_len);
          return 0;
        }
    }
  return 0;
}

struct cli_hijack *
cli_hijack_open (struct cli_client *c, const char *path, const char *query, const char *json_body,
                 struct berth_error **err)
{
  struct cli_conn *conn = cli_conn_open (c, err);
  if (conn == NULL)
    return NULL;
  struct cli_hijack *hj = calloc (1, sizeof *hj);
  if (hj == NULL)
    abort ();
  hj->conn = conn;
  const char *body = json_body ? json_body : "";
  _cleanup_free_ char *target = cli_client_target (c, path, query);
  _cleanup_free_ char *head = xasprintf ("POST %s HTTP/1.1\r\n"
                                         "Host: docker\r\n"
                                         "User-Agent: berth/" BERTH_VERSION "\r\n"
                                         "Content-Type: %s\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Upgrade: tcp\r\n"
                                         "Content-Length: %zu\r\n\r\n%s",
                                         target, json_body ? "application/json" : "text/plain",
                                         strlen (body), body);
  if (cli_conn_send_all (conn, head, strlen (head)) < 0)
    {
      berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "%s: sending the upgrade request failed",
                            path);
      cli_hijack_free (hj);
      return NULL;
    }
  struct cli_http_reader r;
  cli_http_reader_init (&r, false, true);
  if (read_head (hj, &r, path, err) < 0)
    {
      cli_http_reader_clear (&r);
      cli_hijack_free (hj);
      return NULL;
    }
  if (!r.upgraded)
    {
      /* an error answer: its body carries the message */
      struct cli_response resp = { 0 };
      cli_http_reader_take (&r, &resp);
      _cleanup_free_ char *msg = cli_error_message (&resp);
      berth_error_set_kind (err, kind_of_status (resp.status), 0, "Error response from daemon: %s",
                            msg);
      cli_response_clear (&resp);
      cli_http_reader_clear (&r);
      cli_hijack_free (hj);
      return NULL;
    }
  cli_http_reader_clear (&r);
  return hj;
}

int
cli_hijack_fd (struct cli_hijack *h)
{
  return h->conn->fd;
}

/* Returns bytes read, 0 at EOF, -1 on error, -2 when nothing is ready. */
ssize_t
cli_hijack_read (struct cli_hijack *h, void *buf, size_t len)
{
  if (h->pending_off < h->pending_len)
    {
      size_t n = h->pending_len - h->pending_off;
      if (n > len)
        n = len;
      memcpy (buf, h->pending + h->pending_off, n);
      h->pending_off += n;
      return (ssize_t) n;
    }
  return h->conn->ops->recv (h->conn, buf, len);
}

bool
cli_hijack_has_pending (struct cli_hijack *h)
{
  return h->pending_off < h->pending_len;
}

int
cli_hijack_write_all (struct cli_hijack *h, const void *buf, size_t len)
{
  return cli_conn_send_all (h->conn, buf, len);
}

void
cli_hijack_close_write (struct cli_hijack *h)
{
  /* As the docker CLI does (CloseWrite): the container sees EOF on stdin
   * while we keep reading its output (not over TLS: conn-tls.c). */
  h->conn->ops->close_write (h->conn);
}
