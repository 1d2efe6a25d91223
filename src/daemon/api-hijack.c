/* Hijacked connections for attach and exec start: docker answers a client
 * that asked for an upgrade "101" with Content-Type
 * application/vnd.docker.raw-stream (multiplexed-stream from API 1.42 when
 * there is no tty) and Upgrade: tcp, then both directions carry raw bytes.
 * libmicrohttpd's upgrade support hands us the socket (for TLS a socketpair
 * it relays), and we hand it to the container side. libmicrohttpd always
 * writes the reason phrase "Switching Protocols"; clients only read the
 * status code. A client that did not ask for an upgrade gets "200 OK" and
 * the raw stream until the connection closes, as from dockerd. */
#include "daemon/api-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct api_hijack
{
  struct api_request *req;
  int fd;
  struct MHD_UpgradeResponseHandle *urh; /* NULL: a 200 stream (no upgrade) */
  char *pending;
  size_t n_pending;
  bool closed;
  struct api_hijack *prev, *next; /* the server's open hijacks */
};

/* Open hijacks, so that the server can close what a module left open at
 * shutdown (one daemon per process, loop thread only). */
static struct api_hijack *open_hijacks;

static void
upgrade_handler (void *cls, struct MHD_Connection *connection, void *con_cls,
                 const char *extra_in, size_t extra_in_size, MHD_socket sock,
                 struct MHD_UpgradeResponseHandle *urh)
{
  struct api_request *req = cls;
  (void) connection;
  (void) con_cls;
  struct api_hijack *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->req = req;
  h->fd = sock;
  h->urh = urh;
  if (extra_in_size > 0)
    {
      h->pending = malloc (extra_in_size);
      if (h->pending == NULL)
        abort ();
      memcpy (h->pending, extra_in, extra_in_size);
      h->n_pending = extra_in_size;
    }
  int fl = fcntl (sock, F_GETFL);
  if (fl >= 0)
    fcntl (sock, F_SETFL, fl | O_NONBLOCK);
  req->hijack_started = true;
  h->next = open_hijacks;
  if (open_hijacks)
    open_hijacks->prev = h;
  open_hijacks = h;
  /* The request now lives until api_hijack_close. */
  req->hijack_ready (h, req->hijack_data);
}

enum MHD_Result
api_hijack_queue (struct api_request *req)
{
  struct MHD_Response *resp = MHD_create_response_for_upgrade (upgrade_handler, req);
  if (resp == NULL)
    return MHD_NO;
  /* dockerd 23+ (API 1.42): a stream with docker's frames says so */
  MHD_add_response_header (resp, "Content-Type",
                           req->hijack_multiplexed && req->version >= 142
                               ? "application/vnd.docker.multiplexed-stream"
                               : "application/vnd.docker.raw-stream");
  /* libmicrohttpd adds "Connection: Upgrade" itself */
  MHD_add_response_header (resp, "Upgrade", "tcp");
  api_request_apply_headers (req, resp);
  enum MHD_Result r = MHD_queue_response (req->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
  MHD_destroy_response (resp);
  req->queued = r == MHD_YES;
  return r;
}

struct plain_start
{
  struct api_hijack *h;
  api_hijack_fn on_ready;
  void *userdata;
};

static void
plain_start_cb (void *data)
{
  struct plain_start *p = data;
  p->on_ready (p->h, p->userdata);
  free (p);
}

/* No upgrade asked for: dockerd writes "200 OK" with the raw-stream
 * content type and then the bytes until it closes the connection.
 * libmicrohttpd only hands a socket over through an upgrade (101), so the
 * container side gets one end of a socketpair and the other end is the
 * body of a close-delimited response (no chunking, "Connection: close").
 * The server reads nothing after the request from such a client: the
 * container side sees its stdin at EOF at once. */
static void
respond_plain (struct api_request *req, api_hijack_fn on_ready, void *userdata)
{
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    abort ();
  shutdown (sp[1], SHUT_WR);
  struct api_hijack *h = calloc (1, sizeof *h);
  struct plain_start *p = calloc (1, sizeof *p);
  if (h == NULL || p == NULL)
    abort ();
  h->req = req;
  h->fd = sp[0];
  fcntl (sp[0], F_SETFL, fcntl (sp[0], F_GETFL) | O_NONBLOCK);
  req->refs++; /* the query and headers stay readable until close */
  struct api_stream *s = api_respond_fd (req, 200, "application/vnd.docker.raw-stream", sp[1]);
  MHD_set_response_options (api_stream_mhd_response (s), MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
                            MHD_RO_END);
  h->next = open_hijacks;
  if (open_hijacks)
    open_hijacks->prev = h;
  open_hijacks = h;
  /* after the handler returned, as for an upgrade */
  *p = (struct plain_start){ .h = h, .on_ready = on_ready, .userdata = userdata };
  loop_timer_add (req->d->loop, 0, plain_start_cb, p);
}

void
api_respond_hijack (struct api_request *req, bool multiplexed, api_hijack_fn on_ready,
                    void (*on_abort) (void *), void *userdata)
{
  if (req->answer != API_ANSWER_NONE)
    {
      berth_log (BERTH_LOG_ERROR, "%s %s: answered twice (hijack)", req->method, req->url);
      if (on_abort)
        on_abort (userdata);
      return;
    }
  /* dockerd looks for the Upgrade header only */
  if (api_request_header (req, "Upgrade") == NULL)
    {
      respond_plain (req, on_ready, userdata);
      return;
    }
  req->hijack_multiplexed = multiplexed;
  req->answer = API_ANSWER_HIJACK;
  req->status = MHD_HTTP_SWITCHING_PROTOCOLS;
  req->hijack_ready = on_ready;
  req->hijack_abort = on_abort;
  req->hijack_data = userdata;
  api_request_answer_ready (req);
}

int
api_hijack_fd (struct api_hijack *h)
{
  return h->fd;
}

const void *
api_hijack_pending (struct api_hijack *h, size_t *len)
{
  *len = h->n_pending;
  return h->pending;
}

struct api_request *
api_hijack_request (struct api_hijack *h)
{
  return h->req;
}

void
api_hijack_shutdown_write (struct api_hijack *h)
{
  shutdown (h->fd, SHUT_WR);
}

void
api_hijack_close (struct api_hijack *h)
{
  if (h == NULL || h->closed)
    return;
  h->closed = true;
  if (h->prev)
    h->prev->next = h->next;
  else if (open_hijacks == h)
    open_hijacks = h->next;
  if (h->next)
    h->next->prev = h->prev;
  struct api_request *req = h->req;
  if (h->urh == NULL)
    {
      /* the 200 stream ends at the socketpair's EOF */
      close (h->fd);
      free (h);
      api_request_release (req);
      return;
    }
  MHD_upgrade_action (h->urh, MHD_UPGRADE_ACTION_CLOSE);
  free (h->pending);
  free (h);
  req->answered = true;
  api_server_kick (req->d->server);
  api_request_release (req);
}

void
api_hijack_close_all (void)
{
  while (open_hijacks)
    {
      berth_log (BERTH_LOG_DEBUG, "closing a hijacked connection left open at shutdown");
      api_hijack_close (open_hijacks);
    }
}
