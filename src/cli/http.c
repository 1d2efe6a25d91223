/* berth cli: HTTP/1.1 requests to the daemon over a cli_conn (conn.c,
 * conn-tls.c): the request head and JSON bodies (chunked ones are
 * http-upload.c's), answers read by http-reader.c into a buffer or a
 * streaming sink, connection reuse (TCP, TLS, ssh), error statuses, and
 * asynchronous requests (wait) that run alongside attach. */
#include "cli/cli-internal.h"
#include "cli/http-internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_API_VERSION "1.41"

void
cli_response_clear (struct cli_response *r)
{
  free (r->body);
  free (r->content_type);
  free (r->header_stat);
  memset (r, 0, sizeof *r);
}

/* -------------------------------------------------------------- client -- */

struct cli_client *
cli_client_new (const struct cli_endpoint *ep, struct berth_error **err)
{
  (void) err;
  struct cli_client *c = calloc (1, sizeof *c);
  if (c == NULL)
    abort ();
  c->ep = *ep;
  c->ep.host = ep->host ? xstrdup (ep->host) : NULL;
  c->ep.unix_path = ep->unix_path ? xstrdup (ep->unix_path) : NULL;
  c->ep.tcp_host = ep->tcp_host ? xstrdup (ep->tcp_host) : NULL;
  c->ep.ssh_target = ep->ssh_target ? xstrdup (ep->ssh_target) : NULL;
  c->ep.ca_path = ep->ca_path ? xstrdup (ep->ca_path) : NULL;
  c->ep.cert_path = ep->cert_path ? xstrdup (ep->cert_path) : NULL;
  c->ep.key_path = ep->key_path ? xstrdup (ep->key_path) : NULL;
  const char *v = getenv ("BERTH_API_VERSION");
  if (v == NULL)
    v = getenv ("DOCKER_API_VERSION");
  c->api_version = xstrdup (v && *v ? v : DEFAULT_API_VERSION);
  if (ep->kind == CLI_EP_TCP)
    c->host_header = xasprintf ("%s:%d", ep->tcp_host, ep->tcp_port);
  else
    c->host_header = xstrdup ("localhost");
  return c;
}

void
cli_client_free (struct cli_client *c)
{
  cli_conn_free (c->kept);
  /* an ssh pipe ends when its socket closes; one that does not is ended */
  for (size_t i = 0; i < c->n_ssh_pids; i++)
    {
      int st;
      if (waitpid (c->ssh_pids[i], &st, WNOHANG) == 0)
        {
          kill (c->ssh_pids[i], SIGTERM);
          waitpid (c->ssh_pids[i], &st, 0);
        }
    }
  cli_endpoint_clear (&c->ep);
  free (c->api_version);
  free (c->host_header);
  free (c);
}

const struct cli_endpoint *
cli_client_endpoint (struct cli_client *c)
{
  return &c->ep;
}

const char *
cli_client_api_version (struct cli_client *c)
{
  return c->api_version;
}

char *
cli_client_target (struct cli_client *c, const char *path, const char *query)
{
  if (query && *query)
    return xasprintf ("/v%s%s?%s", c->api_version, path, query);
  return xasprintf ("/v%s%s", c->api_version, path);
}

/* ------------------------------------------------------------ requests -- */

static char *
request_head (struct cli_client *c, const struct cli_request *req, const char *method,
              size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream (&buf, len);
  if (f == NULL)
    abort ();
  _cleanup_free_ char *target = cli_client_target (c, req->path, req->query);
  fprintf (f, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth/" BERTH_VERSION "\r\n", method,
           target, c->host_header);
  if (req->registry_auth)
    fprintf (f, "X-Registry-Auth: %s\r\n", req->registry_auth);
  if (req->registry_config)
    fprintf (f, "X-Registry-Config: %s\r\n", req->registry_config);
  if (strcmp (method, "HEAD") == 0)
    ;
  else if (req->json_body)
    fprintf (f, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
             strlen (req->json_body));
  else if (req->stream_body || req->body_fn)
    fprintf (f, "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n",
             req->body_content_type ? req->body_content_type : "application/x-tar");
  else if (strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0)
    fprintf (f, "Content-Length: 0\r\n");
  fputs ("\r\n", f);
  if (req->json_body && strcmp (method, "HEAD") != 0)
    fputs (req->json_body, f);
  fclose (f);
  return buf;
}

int
cli_http_pump (struct cli_conn *conn, struct cli_http_reader *r, char *buf, size_t cap, bool wait,
               bool *got_bytes, struct berth_error **err)
{
  for (;;)
    {
      ssize_t n = conn->ops->recv (conn, buf, cap);
      if (n == -2)
        {
          if (!wait)
            return 0;
          if (cli_conn_wait (conn, POLLIN) < 0)
            return cli_conn_error (conn, "poll", err);
          continue;
        }
      if (n < 0 && errno == ECONNRESET && !conn->is_tls)
        n = 0; /* the daemon closed without reading all we sent */
      if (n < 0)
        return cli_conn_error (conn, "read", err);
      if (n == 0)
        return cli_http_reader_eof (r, err) < 0 ? -1 : 1;
      *got_bytes = true;
      ssize_t used = cli_http_reader_feed (r, buf, (size_t) n, err);
      if (used < 0)
        return -1;
      if (used < n)
        r->keep_alive = false; /* bytes past the answer: not a clean connection */
      return 0;
    }
}

/* One request on conn, its answer in r. -1 with *err on failure; *silent
 * tells that the daemon said nothing at all (a kept-alive connection it
 * had closed: the request may be sent again on a new one). */
static int
exchange (struct cli_conn *conn, const struct cli_request *req, const char *head, size_t head_len,
          struct cli_http_reader *r, bool *silent, struct berth_error **err)
{
  _cleanup_free_ char *rbuf = malloc (CLI_READ_CHUNK);
  if (rbuf == NULL)
    abort ();
  bool got_bytes = false;
  struct cli_http_exchange x = { .conn = conn, .r = r, .rbuf = rbuf, .got_bytes = &got_bytes };
  int rc = cli_http_send_duplex (&x, head, head_len, err);
  if (rc == 0 && req->body_fn)
    rc = cli_http_upload_fn (&x, req, err);
  else if (rc == 0 && req->stream_body)
    rc = cli_http_upload_fd (&x, req, err);
  if (rc == -1)
    return -1;
  if (rc == 1)
    r->keep_alive = false; /* answered before the body's end: the framing is lost */
  int send_errno = rc == -2 ? errno : 0;
  while (!r->done)
    {
      struct berth_error *e = NULL;
      if (cli_http_pump (conn, r, rbuf, CLI_READ_CHUNK, true, &got_bytes, &e) < 0)
        {
          *silent = !got_bytes;
          if (send_errno && !got_bytes)
            {
              berth_error_free (e);
              errno = send_errno;
              return cli_conn_error (conn, "write", err);
            }
          if (err && *err == NULL)
            *err = e;
          else
            berth_error_free (e);
          return -1;
        }
    }
  return 0;
}

/* The kept-alive connection, unless the daemon has closed it meanwhile. */
static struct cli_conn *
take_kept (struct cli_client *c)
{
  struct cli_conn *k = c->kept;
  c->kept = NULL;
  if (k && !k->is_tls)
    {
      /* idle, nothing may be readable: that is an EOF (or junk) */
      struct pollfd p = { .fd = k->fd, .events = POLLIN };
      if (poll (&p, 1, 0) != 0)
        {
          cli_conn_free (k);
          k = NULL;
        }
    }
  return k;
}

int
cli_http (struct cli_client *c, const struct cli_request *req, struct cli_response *resp,
          struct berth_error **err)
{
  memset (resp, 0, sizeof *resp);
  const char *method = req->method ? req->method : "GET";
  size_t head_len = 0;
  _cleanup_free_ char *head = request_head (c, req, method, &head_len);
  for (;;)
    {
      struct cli_conn *conn = take_kept (c);
      bool reused = conn != NULL;
      if (conn == NULL && (conn = cli_conn_open (c, err)) == NULL)
        return -1;
      struct cli_http_reader r;
      cli_http_reader_init (&r, strcmp (method, "HEAD") == 0, false);
      r.sink = req->on_chunk;
      r.sink_data = req->userdata;
      bool silent = false;
      _cleanup_error_ struct berth_error *e = NULL;
      int rc = exchange (conn, req, head, head_len, &r, &silent, &e);
      /* A unix connection costs microseconds; a kept-alive one met daemons
       * that leave the next request unanswered after a delayed response
       * (berthd's DELETE ?force=1), so locally each request gets its own,
       * as the docker CLI mostly does. TCP, TLS and ssh keep theirs. */
      if (rc == 0 && r.keep_alive && c->ep.kind != CLI_EP_UNIX)
        c->kept = conn;
      else
        cli_conn_free (conn);
      if (rc < 0 && silent && reused && !req->stream_body && !req->body_fn)
        {
          cli_http_reader_clear (&r);
          continue;
        }
      cli_http_reader_take (&r, resp);
      int sink_rc = r.sink_rc;
      cli_http_reader_clear (&r);
      if (sink_rc < 0)
        return berth_error_set (err, 0, "output closed");
      if (rc < 0)
        {
          if (err && *err == NULL)
            *err = steal_pointer (&e);
          return -1;
        }
      return 0;
    }
}

char *
cli_error_message (const struct cli_response *r)
{
  if (r->body && r->len)
    {
      json_error_t jerr;
      _cleanup_json_ json_t *j = json_loadb (r->body, r->len, 0, &jerr);
      const char *m = j ? json_string_value (json_object_get (j, "message")) : NULL;
      if (m)
        return xstrdup (m);
      char *s = strndup (r->body, r->len);
      size_t l = strlen (s);
      while (l && (s[l - 1] == '\n' || s[l - 1] == '\r'))
        s[--l] = '\0';
      return s;
    }
  switch (r->status)
    {
    case 404: return xstrdup ("page not found");
    default: return xasprintf ("HTTP status %ld", r->status);
    }
}

static enum berth_error_kind
kind_of_status (long status)
{
  switch (status)
    {
    case 400: return BERTH_E_INVALID;
    case 401: return BERTH_E_UNAUTHORIZED;
    case 403: return BERTH_E_FORBIDDEN;
    case 404: return BERTH_E_NOT_FOUND;
    case 409: return BERTH_E_CONFLICT;
    case 304: return BERTH_E_NOT_MODIFIED;
    case 503: return BERTH_E_UNAVAILABLE;
    default: return BERTH_E_INTERNAL;
    }
}

int
cli_call (struct cli_client *c, const struct cli_request *req, struct cli_response *resp,
          struct berth_error **err)
{
  if (cli_http (c, req, resp, err) < 0)
    return -1;
  if (resp->status >= 400 || resp->status == 304)
    {
      _cleanup_free_ char *msg = cli_error_message (resp);
      return berth_error_set_kind (err, kind_of_status (resp->status), 0,
                                   "Error response from daemon: %s", msg);
    }
  return 0;
}

json_t *
cli_call_json (struct cli_client *c, const char *method, const char *path, const char *query,
               json_t *body, struct berth_error **err)
{
  _cleanup_free_ char *json_body = body ? json_dumps (body, JSON_COMPACT) : NULL;
  struct cli_request req = { .method = method, .path = path, .query = query,
                             .json_body = json_body };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  if (rc < 0)
    {
      cli_response_clear (&resp);
      return NULL;
    }
  json_t *j = NULL;
  if (resp.len == 0)
    j = json_null ();
  else
    {
      json_error_t jerr;
      j = json_loadb (resp.body, resp.len, JSON_DECODE_ANY, &jerr);
      if (j == NULL)
        berth_error_set (err, 0, "%s %s: bad JSON from daemon: %s", method, path, jerr.text);
    }
  cli_response_clear (&resp);
  return j;
}

/* --------------------------------------------------------------- async -- */

struct cli_async
{
  struct cli_conn *conn;
  struct cli_http_reader r;
  char *rbuf;
};

/* Wait for more of the answer; -1 with *err when the connection failed. */
static int
async_step (struct cli_async *a, struct berth_error **err)
{
  bool got = false;
  int rc = cli_http_pump (a->conn, &a->r, a->rbuf, CLI_READ_CHUNK, true, &got, err);
  return rc < 0 ? -1 : 0;
}

struct cli_async *
cli_async_begin (struct cli_client *c, const char *method, const char *path, const char *query,
                 struct berth_error **err)
{
  struct cli_request req = { .method = method, .path = path, .query = query };
  size_t head_len = 0;
  _cleanup_free_ char *head = request_head (c, &req, method, &head_len);
  struct cli_conn *conn = cli_conn_open (c, err);
  if (conn == NULL)
    return NULL;
  struct cli_async *a = calloc (1, sizeof *a);
  if (a == NULL || (a->rbuf = malloc (CLI_READ_CHUNK)) == NULL)
    abort ();
  a->conn = conn;
  cli_http_reader_init (&a->r, false, false);
  if (cli_conn_send_all (conn, head, head_len) < 0)
    {
      cli_conn_error (conn, "write", err);
      cli_async_free (a);
      return NULL;
    }
  /* the daemon answers the head at once: from then on the request runs */
  while (!a->r.head_done && !a->r.done)
    if (async_step (a, err) < 0)
      {
        cli_async_free (a);
        return NULL;
      }
  return a;
}

/* Like the docker CLI's decoder, the answer is complete at its first JSON
 * value: a daemon may keep the chunked response open after it. */
static bool
async_has_value (struct cli_async *a)
{
  if (a->r.len == 0)
    return false;
  json_error_t jerr;
  json_t *j = json_loadb (a->r.body, a->r.len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
  json_decref (j);
  return j != NULL;
}

int
cli_async_finish (struct cli_async *a, struct cli_response *resp, struct berth_error **err)
{
  memset (resp, 0, sizeof *resp);
  while (!a->r.done && !async_has_value (a))
    if (async_step (a, err) < 0)
      return -1;
  cli_http_reader_take (&a->r, resp);
  return 0;
}

void
cli_async_free (struct cli_async *a)
{
  if (a == NULL)
    return;
  cli_conn_free (a->conn);
  cli_http_reader_clear (&a->r);
  free (a->rbuf);
  free (a);
}
