/* The CLI's HTTP transport (src/cli/http.c, http-upload.c, hijack.c,
 * conn.c) against a scripted daemon on a real socket: what goes on the
 * wire (the request head, chunked bodies, files sent whole), answers cut
 * anywhere, early error answers during an upload, keep-alive on TCP and
 * not on unix sockets, the async wait, the hijacked stream, and dial
 * errors. The daemon side parses requests with http-parser too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli-internal.h"

/* ----------------------------------------------------- scripted daemon -- */

struct request
{
  char method[16];
  char url[512];
  char headers[2048]; /* "name: value\n" lines, names lower-cased */
  char *body;
  size_t body_len;
  bool complete;
  bool in_value;
};

struct daemon
{
  int listen_fd;
  pthread_t th;
  char path[108];
  int port;
  /* one call per accepted connection; returns false to stop accepting */
  bool (*serve) (struct daemon *d, int fd, int n_conn);
  int n_conn;
  struct request last;
  size_t answer_after; /* serve_upload_early: answer after this many bytes */
};

static int
rq_url (http_parser *p, const char *at, size_t n)
{
  struct request *r = p->data;
  strncat (r->url, at, n < sizeof r->url - strlen (r->url) - 1 ? n : 0);
  return 0;
}

static int
rq_field (http_parser *p, const char *at, size_t n)
{
  struct request *r = p->data;
  size_t l = strlen (r->headers);
  if (r->in_value || l == 0)
    {
      if (l)
        strcat (r->headers, "\n");
      r->in_value = false;
    }
  l = strlen (r->headers);
  for (size_t i = 0; i < n && l + 2 < sizeof r->headers; i++)
    r->headers[l++] = (char) (at[i] >= 'A' && at[i] <= 'Z' ? at[i] + 32 : at[i]);
  r->headers[l] = '\0';
  return 0;
}

static int
rq_value (http_parser *p, const char *at, size_t n)
{
  struct request *r = p->data;
  if (!r->in_value)
    strcat (r->headers, ": ");
  r->in_value = true;
  strncat (r->headers, at, n < sizeof r->headers - strlen (r->headers) - 2 ? n : 0);
  return 0;
}

static int
rq_body (http_parser *p, const char *at, size_t n)
{
  struct request *r = p->data;
  r->body = realloc (r->body, r->body_len + n + 1);
  memcpy (r->body + r->body_len, at, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return 0;
}

static int
rq_done (http_parser *p)
{
  struct request *r = p->data;
  r->complete = true;
  strcpy (r->method, http_method_str (p->method));
  http_parser_pause (p, 1);
  return 0;
}

static const http_parser_settings rq_settings = {
  .on_url = rq_url, .on_header_field = rq_field, .on_header_value = rq_value,
  .on_body = rq_body, .on_message_complete = rq_done,
};

/* Read one request; with stop_after, return once that many body bytes
 * arrived (the head complete). False when the client closed first. */
static bool
read_request (int fd, struct request *r, size_t stop_after)
{
  free (r->body);
  memset (r, 0, sizeof *r);
  http_parser p;
  http_parser_init (&p, HTTP_REQUEST);
  p.data = r;
  char buf[65536];
  while (!r->complete && !(stop_after && r->body_len >= stop_after))
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n <= 0)
        return false;
      http_parser_execute (&p, &rq_settings, buf, (size_t) n);
      if (HTTP_PARSER_ERRNO (&p) != HPE_OK && HTTP_PARSER_ERRNO (&p) != HPE_PAUSED)
        return false;
    }
  return true;
}

static void
send_str (int fd, const char *s, size_t len)
{
  while (len)
    {
      ssize_t n = write (fd, s, len);
      if (n <= 0)
        return;
      s += n;
      len -= (size_t) n;
    }
}

static void *
daemon_loop (void *ud)
{
  struct daemon *d = ud;
  for (;;)
    {
      int fd = accept4 (d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        return NULL;
      bool go_on = d->serve (d, fd, ++d->n_conn);
      close (fd);
      if (!go_on)
        return NULL;
    }
}

static void
daemon_start (struct daemon *d, bool tcp)
{
  if (tcp)
    {
      d->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
      assert_int_equal (bind (d->listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
      socklen_t len = sizeof sa;
      getsockname (d->listen_fd, (struct sockaddr *) &sa, &len);
      d->port = ntohs (sa.sin_port);
    }
  else
    {
      snprintf (d->path, sizeof d->path, "/tmp/berth-test-http-%d.sock", (int) getpid ());
      unlink (d->path);
      d->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      strcpy (sa.sun_path, d->path);
      assert_int_equal (bind (d->listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
    }
  assert_int_equal (listen (d->listen_fd, 8), 0);
  assert_int_equal (pthread_create (&d->th, NULL, daemon_loop, d), 0);
}

static struct cli_client *
client_for (struct daemon *d)
{
  _cleanup_free_ char *host = d->port ? xasprintf ("tcp://127.0.0.1:%d", d->port)
                                      : xasprintf ("unix://%s", d->path);
  struct cli_endpoint ep;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (cli_endpoint_parse (host, &ep, &err), 0);
  struct cli_client *c = cli_client_new (&ep, &err);
  cli_endpoint_clear (&ep);
  assert_non_null (c);
  return c;
}

static void
daemon_stop (struct daemon *d)
{
  pthread_join (d->th, NULL);
  close (d->listen_fd);
  if (d->path[0])
    unlink (d->path);
  free (d->last.body);
}

/* ---------------------------------------------------------------- tests -- */

/* An answer written in 3-byte pieces: the reader must not care. */
static bool
serve_trickle (struct daemon *d, int fd, int n)
{
  if (!read_request (fd, &d->last, 0))
    return false;
  static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n4\r\n[{\"a\r\n5\r\n\":1}]\r\n0\r\n\r\n";
  for (size_t i = 0; i < sizeof answer - 1; i += 3)
    {
      send_str (fd, answer + i, sizeof answer - 1 - i < 3 ? sizeof answer - 1 - i : 3);
      usleep (200); /* not to wait for anything: to make the client's reads short */
    }
  return n < 2;
}

static void
test_request_and_answer (void **state)
{
  struct daemon d = { .serve = serve_trickle };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *body = json_pack ("{s:s}", "Image", "busybox");
  _cleanup_json_ json_t *j = cli_call_json (c, "POST", "/containers/create", "name=x", body, &err);
  assert_non_null (j);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (j, 0), "a")), 1);
  assert_string_equal (d.last.method, "POST");
  assert_string_equal (d.last.url, "/v1.41/containers/create?name=x");
  assert_non_null (strstr (d.last.headers, "content-type: application/json"));
  assert_non_null (strstr (d.last.headers, "content-length: 19"));
  assert_string_equal (d.last.body, "{\"Image\":\"busybox\"}");
  /* unix sockets: a new connection for the next request */
  json_decref (cli_call_json (c, "GET", "/version", NULL, NULL, &err));
  assert_null (err);
  assert_int_equal (d.n_conn, 2);
  assert_string_equal (d.last.method, "GET");
  assert_null (strstr (d.last.headers, "content-length"));
  cli_client_free (c);
  daemon_stop (&d);
}

/* TCP: both requests on one kept-alive connection. */
static bool
serve_keepalive (struct daemon *d, int fd, int n)
{
  for (int i = 0; i < 2; i++)
    {
      if (!read_request (fd, &d->last, 0))
        return false;
      static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      send_str (fd, answer, sizeof answer - 1);
    }
  return false;
}

static void
test_keepalive_tcp (void **state)
{
  struct daemon d = { .serve = serve_keepalive };
  daemon_start (&d, true);
  struct cli_client *c = client_for (&d);
  for (int i = 0; i < 2; i++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      struct cli_request req = { .method = "DELETE", .path = "/containers/x" };
      struct cli_response resp;
      assert_int_equal (cli_call (c, &req, &resp, &err), 0);
      assert_string_equal (resp.body, "ok");
      cli_response_clear (&resp);
    }
  assert_int_equal (d.n_conn, 1);
  assert_non_null (strstr (d.last.headers, "host: 127.0.0.1:"));
  cli_client_free (c);
  daemon_stop (&d);
}

/* A chunked upload: bytes gathered, a big file by sendfile, in order. */
static bool
serve_echo_size (struct daemon *d, int fd, int n)
{
  if (!read_request (fd, &d->last, 0))
    return false;
  _cleanup_free_ char *answer = xasprintf ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  send_str (fd, answer, strlen (answer));
  return false;
}

struct producer
{
  int file_fd;
  size_t file_len;
};

static int
produce (void *ud, const struct cli_body_out *out, struct berth_error **err)
{
  struct producer *p = ud;
  int rc = out->write (out->ud, "head:", 5, err);
  if (rc == 0)
    rc = out->send_file (out->ud, p->file_fd, p->file_len, err);
  if (rc == 0)
    rc = out->write (out->ud, ":tail", 5, err);
  return rc;
}

static void
test_upload_from_producer (void **state)
{
  struct daemon d = { .serve = serve_echo_size };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  /* 1 MiB + 7: sent with sendfile, in a chunk of its own */
  size_t flen = (1 << 20) + 7;
  char *content = malloc (flen);
  for (size_t i = 0; i < flen; i++)
    content[i] = (char) ('a' + i % 26);
  char tmpl[] = "/tmp/berth-test-http-file-XXXXXX";
  int fd = mkstemp (tmpl);
  unlink (tmpl);
  assert_int_equal (write (fd, content, flen), (ssize_t) flen);
  lseek (fd, 0, SEEK_SET);
  struct producer p = { .file_fd = fd, .file_len = flen };
  uint64_t sent = 0;
  struct cli_request req = { .method = "POST", .path = "/build", .body_fn = produce,
                             .body_data = &p, .body_sent = &sent };
  struct cli_response resp;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (cli_call (c, &req, &resp, &err), 0);
  cli_response_clear (&resp);
  assert_non_null (strstr (d.last.headers, "transfer-encoding: chunked"));
  assert_int_equal (d.last.body_len, flen + 10);
  assert_memory_equal (d.last.body, "head:", 5);
  assert_memory_equal (d.last.body + 5, content, flen);
  assert_memory_equal (d.last.body + 5 + flen, ":tail", 5);
  assert_int_equal (sent, flen + 10);
  close (fd);
  free (content);
  cli_client_free (c);
  daemon_stop (&d);
}

/* The daemon answers an error after a part of the body and closes: the
 * answer is what the CLI reports, not a broken pipe. */
static bool
serve_upload_early (struct daemon *d, int fd, int n)
{
  read_request (fd, &d->last, d->answer_after);
  static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                               "Content-Length: 27\r\nConnection: close\r\n\r\n{\"message\":\"bad context!\"}\n";
  send_str (fd, answer, sizeof answer - 1);
  shutdown (fd, SHUT_WR);
  /* drain a little, then go: the client must not hang on its upload */
  char buf[65536];
  for (int i = 0; i < 4 && read (fd, buf, sizeof buf) > 0; i++)
    ;
  return false;
}

static void
test_early_answer_during_upload (void **state)
{
  struct daemon d = { .serve = serve_upload_early, .answer_after = 100000 };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  /* 64 MiB of zeros from /dev/zero: far more than any socket buffer */
  int zero = open ("/dev/zero", O_RDONLY | O_CLOEXEC);
  struct producer p = { .file_fd = zero, .file_len = 64 << 20 };
  struct cli_request req = { .method = "POST", .path = "/build", .body_fn = produce,
                             .body_data = &p };
  struct cli_response resp;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (cli_call (c, &req, &resp, &err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg, "Error response from daemon: bad context!");
  assert_int_equal (resp.status, 400);
  cli_response_clear (&resp);
  close (zero);
  cli_client_free (c);
  daemon_stop (&d);
}

/* attach: the raw stream starts in the same segment as the 101 head. */
static bool
serve_hijack (struct daemon *d, int fd, int n)
{
  if (!read_request (fd, &d->last, 0))
    return false;
  static const char answer[] = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                               "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst bytes";
  send_str (fd, answer, sizeof answer - 1);
  /* echo until the client half-closes */
  char buf[256];
  ssize_t r;
  while ((r = read (fd, buf, sizeof buf)) > 0)
    send_str (fd, buf, (size_t) r);
  send_str (fd, "|eof", 4);
  return false;
}

static void
test_hijack (void **state)
{
  struct daemon d = { .serve = serve_hijack };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  _cleanup_error_ struct berth_error *err = NULL;
  struct cli_hijack *h = cli_hijack_open (c, "/containers/x/attach", "stream=1", NULL, &err);
  assert_non_null (h);
  assert_true (cli_hijack_has_pending (h));
  assert_non_null (strstr (d.last.headers, "upgrade: tcp"));
  assert_int_equal (cli_hijack_write_all (h, " echo", 5), 0);
  cli_hijack_close_write (h);
  char got[64] = "";
  size_t len = 0;
  for (;;)
    {
      ssize_t n = cli_hijack_read (h, got + len, sizeof got - 1 - len);
      if (n == -2)
        {
          struct pollfd pf = { .fd = cli_hijack_fd (h), .events = POLLIN };
          poll (&pf, 1, 5000);
          continue;
        }
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  got[len] = '\0';
  assert_string_equal (got, "first bytes echo|eof");
  cli_hijack_free (h);
  cli_client_free (c);
  daemon_stop (&d);
}

/* The wait: the head at once, the body when the container exits (here:
 * once the client started another request), then the chunked stream left
 * open, as a daemon may. */
static bool
serve_wait (struct daemon *d, int fd, int n)
{
  if (n == 1)
    {
      if (!read_request (fd, &d->last, 0))
        return false;
      static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n";
      send_str (fd, head, sizeof head - 1);
      int wait_fd = dup (fd);
      /* the next connection (the start) answers, then the wait ends */
      int fd2 = accept4 (d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      d->n_conn++;
      read_request (fd2, &d->last, 0);
      static const char started[] = "HTTP/1.1 204 No Content\r\n\r\n";
      send_str (fd2, started, sizeof started - 1);
      close (fd2);
      static const char body[] = "1d\r\n{\"StatusCode\":3,\"Error\":null}\r\n";
      send_str (wait_fd, body, sizeof body - 1);
      char buf[16];
      read (wait_fd, buf, sizeof buf); /* until the client is gone */
      close (wait_fd);
    }
  return false;
}

static void
test_async_wait (void **state)
{
  struct daemon d = { .serve = serve_wait };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  _cleanup_error_ struct berth_error *err = NULL;
  struct cli_async *w = cli_async_begin (c, "POST", "/containers/x/wait", "condition=removed", &err);
  assert_non_null (w);
  struct cli_request req = { .method = "POST", .path = "/containers/x/start" };
  struct cli_response resp;
  assert_int_equal (cli_call (c, &req, &resp, &err), 0);
  assert_int_equal (resp.status, 204);
  cli_response_clear (&resp);
  assert_int_equal (cli_async_finish (w, &resp, &err), 0);
  assert_int_equal (resp.status, 200);
  assert_string_equal (resp.body, "{\"StatusCode\":3,\"Error\":null}");
  cli_response_clear (&resp);
  cli_async_free (w);
  cli_client_free (c);
  daemon_stop (&d);
}

/* Answers that end too early, and nobody listening. */
static bool
serve_close_at_once (struct daemon *d, int fd, int n)
{
  read_request (fd, &d->last, 0);
  return false;
}

static void
test_dial_and_cut_errors (void **state)
{
  struct daemon d = { .serve = serve_close_at_once };
  daemon_start (&d, false);
  struct cli_client *c = client_for (&d);
  _cleanup_error_ struct berth_error *err = NULL;
  assert_null (cli_call_json (c, "GET", "/info", NULL, NULL, &err));
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "error during connect"));
  assert_int_equal (err->kind, BERTH_E_UNAVAILABLE);
  cli_client_free (c);
  daemon_stop (&d);

  struct cli_endpoint ep;
  berth_error_free (steal_pointer (&err));
  assert_int_equal (cli_endpoint_parse ("unix:///tmp/berth-test-http-nobody.sock", &ep, &err), 0);
  c = cli_client_new (&ep, &err);
  cli_endpoint_clear (&ep);
  assert_null (cli_call_json (c, "GET", "/info", NULL, NULL, &err));
  assert_string_equal (err->msg, "Cannot connect to the berth daemon at "
                                 "unix:///tmp/berth-test-http-nobody.sock. Is the berth daemon running?");
  cli_client_free (c);
}

int
main (void)
{
  signal (SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_request_and_answer),
    cmocka_unit_test (test_keepalive_tcp),
    cmocka_unit_test (test_upload_from_producer),
    cmocka_unit_test (test_early_answer_during_upload),
    cmocka_unit_test (test_hijack),
    cmocka_unit_test (test_async_wait),
    cmocka_unit_test (test_dial_and_cut_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
