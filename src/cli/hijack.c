/* berth cli: hijacked connections for attach and exec start. curl connects
 * (unix, TCP, TLS or ssh) with CONNECT_ONLY; we write the upgrade request
 * ourselves, read the 101 head, and from then on the socket carries the raw
 * bidirectional stream. */
#include "cli/cli-internal.h"
#include "cli/http-internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

struct cli_hijack
{
  CURL *h;
  curl_socket_t fd;
  bool is_tls;
  char *pending; /* bytes read past the response head */
  size_t pending_len, pending_off;
};

static int
wait_fd (curl_socket_t fd, short events)
{
  struct pollfd p = { .fd = fd, .events = events };
  int r;
  do
    r = poll (&p, 1, -1);
  while (r < 0 && errno == EINTR);
  return r;
}

static int
send_all (struct cli_hijack *hj, const char *buf, size_t len)
{
  while (len > 0)
    {
      size_t sent = 0;
      CURLcode rc = curl_easy_send (hj->h, buf, len, &sent);
      if (rc == CURLE_AGAIN)
        {
          wait_fd (hj->fd, POLLOUT);
          continue;
        }
      if (rc != CURLE_OK)
        return -1;
      buf += sent;
      len -= sent;
    }
  return 0;
}

void
cli_hijack_free (struct cli_hijack *h)
{
  if (h == NULL)
    return;
  curl_easy_cleanup (h->h);
  free (h->pending);
  free (h);
}

struct cli_hijack *
cli_hijack_open (struct cli_client *c, const char *path, const char *query, const char *json_body,
                 struct berth_error **err)
{
  struct cli_hijack *hj = calloc (1, sizeof *hj);
  hj->h = curl_easy_init ();
  hj->is_tls = c->ep.tls;
  cli_client_setup_handle (c, hj->h);
  _cleanup_free_ char *url = cli_client_url (c, path, query);
  curl_easy_setopt (hj->h, CURLOPT_URL, url);
  curl_easy_setopt (hj->h, CURLOPT_CONNECT_ONLY, 1L);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (hj->h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode code = curl_easy_perform (hj->h);
  if (code != CURLE_OK)
    {
      cli_connect_error (c, code, errbuf, err);
      cli_hijack_free (hj);
      return NULL;
    }
  curl_easy_getinfo (hj->h, CURLINFO_ACTIVESOCKET, &hj->fd);
  const char *body = json_body ? json_body : "";
  _cleanup_free_ char *reqline = NULL;
  if (query && *query)
    reqline = xasprintf ("/v%s%s?%s", c->api_version, path, query);
  else
    reqline = xasprintf ("/v%s%s", c->api_version, path);
  _cleanup_free_ char *head = xasprintf ("POST %s HTTP/1.1\r\n"
                                         "Host: docker\r\n"
                                         "User-Agent: berth/" BERTH_VERSION "\r\n"
                                         "Content-Type: %s\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Upgrade: tcp\r\n"
                                         "Content-Length: %zu\r\n\r\n%s",
                                         reqline, json_body ? "application/json" : "text/plain",
                                         strlen (body), body);
  if (send_all (hj, head, strlen (head)) < 0)
    {
      berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "%s: sending the upgrade request failed",
                            path);
      cli_hijack_free (hj);
      return NULL;
    }
  /* Read the response head (and keep what follows it). */
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  char *end = NULL;
  for (;;)
    {
      if (len + 1024 > cap)
        buf = realloc (buf, cap *= 2);
      size_t got = 0;
      CURLcode rc = curl_easy_recv (hj->h, buf + len, cap - len - 1, &got);
      if (rc == CURLE_AGAIN)
        {
          wait_fd (hj->fd, POLLIN);
          continue;
        }
      if (rc != CURLE_OK || got == 0)
        break;
      len += got;
      buf[len] = '\0';
      end = strstr (buf, "\r\n\r\n");
      if (end)
        break;
    }
  if (end == NULL)
    {
      free (buf);
      berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "%s: the daemon closed the connection", path);
      cli_hijack_free (hj);
      return NULL;
    }
  int status = 0;
  sscanf (buf, "HTTP/1.%*d %d", &status);
  size_t head_len = (size_t) (end + 4 - buf);
  if (status != 101 && status != 200)
    {
      /* An error answer: read its body (Content-Length) for the message. */
      long clen = -1;
      for (char *p = buf; p < end; p++)
        if ((p == buf || p[-1] == '\n') && strncasecmp (p, "content-length:", 15) == 0)
          clen = strtol (p + 15, NULL, 10);
      while (clen >= 0 && (long) (len - head_len) < clen)
        {
          if (len + 1024 > cap)
            buf = realloc (buf, cap *= 2);
          size_t got = 0;
          CURLcode rc = curl_easy_recv (hj->h, buf + len, cap - len - 1, &got);
          if (rc == CURLE_AGAIN)
            {
              wait_fd (hj->fd, POLLIN);
              continue;
            }
          if (rc != CURLE_OK || got == 0)
            break;
          len += got;
        }
      struct cli_response r = { .status = status, .body = buf + head_len, .len = len - head_len };
      _cleanup_free_ char *msg = cli_error_message (&r);
      enum berth_error_kind kind = status == 404 ? BERTH_E_NOT_FOUND
                                   : status == 409 ? BERTH_E_CONFLICT
                                   : status == 400 ? BERTH_E_INVALID
                                                   : BERTH_E_INTERNAL;
      berth_error_set_kind (err, kind, 0, "Error response from daemon: %s", msg);
      free (buf);
      cli_hijack_free (hj);
      return NULL;
    }
  hj->pending_len = len - head_len;
  hj->pending = malloc (hj->pending_len + 1);
  memcpy (hj->pending, buf + head_len, hj->pending_len);
  free (buf);
  return hj;
}

int
cli_hijack_fd (struct cli_hijack *h)
{
  return (int) h->fd;
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
  size_t got = 0;
  CURLcode rc = curl_easy_recv (h->h, buf, len, &got);
  if (rc == CURLE_AGAIN)
    return -2;
  if (rc != CURLE_OK)
    return -1;
  return (ssize_t) got;
}

bool
cli_hijack_has_pending (struct cli_hijack *h)
{
  return h->pending_off < h->pending_len;
}

int
cli_hijack_write_all (struct cli_hijack *h, const void *buf, size_t len)
{
  return send_all (h, buf, len);
}

void
cli_hijack_close_write (struct cli_hijack *h)
{
  /* As the docker CLI does (CloseWrite): the container sees EOF on stdin
   * while we keep reading its output. Over TLS the record layer cannot be
   * half-closed by curl, so stdin stays open there until the stream ends. */
  if (!h->is_tls)
    shutdown (h->fd, SHUT_WR);
}
