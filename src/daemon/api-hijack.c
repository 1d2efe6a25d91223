/* Hijacked connections for attach and exec start: docker answers a client
 * that asked for an upgrade "101" with Content-Type
 * application/vnd.docker.raw-stream (multiplexed-stream from API 1.42 when
 * there is no tty) and Upgrade: tcp, then both directions carry raw bytes.
 * libmicrohttpd's upgrade support hands us the socket (for TLS a socketpair
 * it relays), and we hand it to the container side. libmicrohttpd always
 * writes the reason phrase "Switching Protocols"; clients only read the
 * status code. A client that did not ask for an upgrade gets "200 OK" and
 * then the same raw connection both ways, as from dockerd.
 * Over TLS libmicrohttpd's relay has no half-close: the client's
 * close_notify (Go's CloseWrite, docker's stdin EOF) stops its reading
 * but never reaches our socket, so there a client's stdin EOF is not seen
 * (0.9.75's process_urh sets in_buffer_size to 0 and nothing more). */
#include "daemon/api-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct api_hijack
{
  struct api_request *req;
  int fd;
  struct MHD_UpgradeResponseHandle *urh; /* NULL: a 200 (no upgrade) */
  struct api_conn *tls_conn;             /* over TLS: libmicrohttpd relays */
  bool is_held; /* 200 on libmicrohttpd's socket, the connection suspended */
  char *pending;
  size_t n_pending;
  char *unsent; /* the 200 head's bytes the socket did not take yet */
  size_t n_unsent;
  bool closed;
  struct api_hijack *prev, *next; /* the server's open hijacks */
};

/* Open hijacks, so that the server can close what a module left open at
 * shutdown (one daemon per process, loop thread only). */
static struct api_hijack *open_hijacks;

static void
hijack_link (struct api_hijack *h)
{
  h->next = open_hijacks;
  if (open_hijacks)
    open_hijacks->prev = h;
  open_hijacks = h;
}

static void
upgrade_handler (void *cls, struct MHD_Connection *connection, void *con_cls,
                 const char *extra_in, size_t extra_in_size, MHD_socket sock,
                 struct MHD_UpgradeResponseHandle *urh)
{
  struct api_request *req = cls;
  (void) con_cls;
  struct api_hijack *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->req = req;
  h->fd = sock;
  h->urh = urh;
  h->tls_conn = api_conn_of (connection);
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
  hijack_link (h);
  /* The request now lives until api_hijack_close. */
  req->hijack_ready (h, req->hijack_data);
}

/* libmicrohttpd's upgrade: the 101 head, then our upgrade_handler. */
static enum MHD_Result
queue_upgrade (struct api_request *req)
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

struct hijack_start
{
  struct api_hijack *h;
  api_hijack_fn on_ready;
  void *userdata;
};

static void
hijack_start_cb (void *data)
{
  struct hijack_start *p = data;
  p->on_ready (p->h, p->userdata);
  free (p);
}

/* on_ready runs from the loop, after libmicrohttpd's callback returned
 * (as an upgrade's does after the 101 went out). */
static void
hijack_start_later (struct api_request *req, struct api_hijack *h, api_hijack_fn on_ready,
                    void *userdata)
{
  struct hijack_start *p = calloc (1, sizeof *p);
  if (p == NULL)
    abort ();
  *p = (struct hijack_start){ .h = h, .on_ready = on_ready, .userdata = userdata };
  hijack_link (h);
  loop_timer_add (req->d->loop, 0, hijack_start_cb, p);
}

static enum MHD_Result
head_add_header (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  (void) kind;
  char **head = cls;
  char *next = xasprintf ("%s%s: %s\r\n", *head, key, value);
  free (*head);
  *head = next;
  return MHD_YES;
}

/* dockerd's head for a client that did not ask for an upgrade: the status
 * line, the raw-stream type (always: its frames have no type of their own
 * before an upgrade) and its usual headers — no Date, no Connection, no
 * length: the connection is raw after the blank line. The headers come
 * from a response built as for every answer. */
static char *
held_head (struct api_request *req)
{
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
  if (resp == NULL)
    abort ();
  api_request_apply_headers (req, resp);
  char *head = xstrdup ("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n");
  MHD_get_response_headers (resp, head_add_header, &head);
  MHD_destroy_response (resp);
  char *full = xasprintf ("%s\r\n", head);
  free (head);
  return full;
}

/* No upgrade asked for: dockerd writes "200 OK" and its headers, then
 * hijacks the connection as for an upgrade — the client's stdin is read
 * from it until the client shuts down its writing side. libmicrohttpd
 * only hands a socket over through a 101 (MHD_queue_response refuses an
 * upgrade response with any other status), and a response it sends itself
 * always carries Date and Connection: close and reads nothing from the
 * client while the body goes out. So the connection stays with
 * libmicrohttpd, suspended — it neither reads, writes nor times out a
 * suspended connection — and we use its socket
 * (MHD_CONNECTION_INFO_CONNECTION_FD) both ways, after writing the head.
 * At close the connection is resumed and the access handler answers
 * MHD_NO: libmicrohttpd closes it without writing anything. Called from
 * the access handler (the only place a connection may be suspended).
 * Bytes the client sent right behind the request (before it saw the head)
 * stay in libmicrohttpd's buffer: dockerd drops them too (it hijacks
 * without its reader's buffer). */
static enum MHD_Result
queue_held (struct api_request *req)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return MHD_NO;
  struct api_hijack *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->req = req;
  h->fd = ci->connect_fd; /* non-blocking, as every libmicrohttpd socket */
  h->is_held = true;
  _cleanup_free_ char *head = held_head (req);
  size_t len = strlen (head);
  ssize_t n = send (h->fd, head, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0)
    n = 0; /* full, or gone: the relay finds out */
  if ((size_t) n < len)
    {
      h->n_unsent = len - (size_t) n;
      h->unsent = xstrdup (head + n);
    }
  req->queued = true;
  req->hijack_started = true;
  api_request_suspend (req);
  /* The request now lives until api_hijack_close. */
  hijack_start_later (req, h, req->hijack_ready, req->hijack_data);
  return MHD_YES;
}

enum MHD_Result
api_hijack_queue (struct api_request *req)
{
  return req->hijack_held ? queue_held (req) : queue_upgrade (req);
}

/* No upgrade asked for over TLS: the socket carries libmicrohttpd's TLS
 * session, so it cannot be held as above. The container side gets one end
 * of a socketpair whose other end is the body of a close-delimited
 * response ("Connection: close"); the client's input is not read (stdin
 * sees EOF at once). Docker's clients always ask for the upgrade. */
static void
respond_over_tls (struct api_request *req, api_hijack_fn on_ready, void *userdata)
{
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    abort ();
  shutdown (sp[1], SHUT_WR);
  struct api_hijack *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->req = req;
  h->fd = sp[0];
  fcntl (sp[0], F_SETFL, fcntl (sp[0], F_GETFL) | O_NONBLOCK);
  req->refs++; /* the query and headers stay readable until close */
  struct api_stream *s = api_respond_fd (req, 200, "application/vnd.docker.raw-stream", sp[1]);
  MHD_set_response_options (api_stream_mhd_response (s), MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
                            MHD_RO_END);
  /* after the handler returned, as for an upgrade */
  hijack_start_later (req, h, on_ready, userdata);
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
  bool upgrade = api_request_header (req, "Upgrade") != NULL;
  if (!upgrade && api_request_is_tls (req))
    {
      respond_over_tls (req, on_ready, userdata);
      return;
    }
  req->hijack_multiplexed = multiplexed;
  req->hijack_held = !upgrade;
  req->answer = API_ANSWER_HIJACK;
  req->status = upgrade ? MHD_HTTP_SWITCHING_PROTOCOLS : MHD_HTTP_OK;
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

const void *
api_hijack_unsent (struct api_hijack *h, size_t *len)
{
  *len = h->n_unsent;
  return h->unsent;
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
  if (h->is_held)
    {
      /* the socket goes back as it was lent (the relay's last write may
       * have made it blocking); the access handler then answers MHD_NO
       * and libmicrohttpd closes the connection without writing */
      fcntl (h->fd, F_SETFL, fcntl (h->fd, F_GETFL) | O_NONBLOCK);
      free (h->unsent);
      free (h);
      req->answered = true;
      req->client_gone = true;
      api_request_resume (req);
      api_request_release (req);
      return;
    }
  if (h->urh == NULL)
    {
      /* the 200 stream ends at the socketpair's EOF */
      close (h->fd);
      free (h);
      api_request_release (req);
      return;
    }
  MHD_upgrade_action (h->urh, MHD_UPGRADE_ACTION_CLOSE);
  api_conn_closing (h->tls_conn);
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
