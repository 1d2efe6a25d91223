/* berth cli: TLS connections to the daemon (tcp:// with --tls*, or
 * DOCKER_TLS_VERIFY) through libcurl in CONNECT_ONLY mode: curl dials and
 * does the handshake and the certificates; the HTTP on top is ours, as on
 * every other connection. libcurl (and OpenSSL) is loaded only here. */
#include "cli/http-internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

struct tls_conn
{
  struct cli_conn base; /* first: a struct cli_conn * is a struct tls_conn * */
  CURL *h;
};

/* A curl_easy_recv/send result as cli_conn_ops return it. */
static ssize_t
tls_result (struct cli_conn *c, CURLcode rc, size_t n)
{
  if (rc == CURLE_AGAIN)
    return -2;
  if (rc != CURLE_OK)
    {
      snprintf (c->errmsg, sizeof c->errmsg, "%s", curl_easy_strerror (rc));
      return -1;
    }
  return (ssize_t) n;
}

static ssize_t
tls_recv (struct cli_conn *c, void *buf, size_t len)
{
  size_t got = 0;
  CURLcode rc = curl_easy_recv (((struct tls_conn *) c)->h, buf, len, &got);
  return tls_result (c, rc, got);
}

static ssize_t
tls_send (struct cli_conn *c, const void *buf, size_t len)
{
  size_t sent = 0;
  CURLcode rc = curl_easy_send (((struct tls_conn *) c)->h, buf, len, &sent);
  return tls_result (c, rc, sent);
}

static void
tls_close_write (struct cli_conn *c)
{
  /* As the docker CLI does (CloseWrite), but the record layer cannot be
   * half-closed through curl: stdin stays open until the stream ends. */
  (void) c;
}

static void
tls_free (struct cli_conn *c)
{
  struct tls_conn *t = (struct tls_conn *) c;
  curl_easy_cleanup (t->h);
  free (t);
}

static const struct cli_conn_ops tls_ops = {
  .recv = tls_recv,
  .send = tls_send,
  .send_file = NULL, /* the bytes are encrypted on the way */
  .close_write = tls_close_write,
  .free = tls_free,
};

struct cli_conn *
cli_conn_open_tls (struct cli_client *c, struct berth_error **err)
{
  static bool inited;
  if (!inited)
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      inited = true;
    }
  CURL *h = curl_easy_init ();
  if (h == NULL)
    {
      berth_error_set (err, 0, "curl_easy_init failed");
      return NULL;
    }
  _cleanup_free_ char *url = xasprintf ("https://%s:%d/", c->ep.tcp_host, c->ep.tcp_port);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  if (c->ep.ca_path)
    curl_easy_setopt (h, CURLOPT_CAINFO, c->ep.ca_path);
  if (c->ep.cert_path)
    curl_easy_setopt (h, CURLOPT_SSLCERT, c->ep.cert_path);
  if (c->ep.key_path)
    curl_easy_setopt (h, CURLOPT_SSLKEY, c->ep.key_path);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, c->ep.tls_verify ? 1L : 0L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, c->ep.tls_verify ? 2L : 0L);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode code = curl_easy_perform (h);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, NULL);
  if (code != CURLE_OK)
    {
      curl_easy_cleanup (h);
      if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
        cli_connect_refused (c, err);
      else
        berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "error during connect: %s",
                              *errbuf ? errbuf : curl_easy_strerror (code));
      return NULL;
    }
  struct tls_conn *t = calloc (1, sizeof *t);
  if (t == NULL)
    abort ();
  t->h = h;
  t->base.ops = &tls_ops;
  t->base.is_tls = true;
  curl_socket_t fd = CURL_SOCKET_BAD;
  curl_easy_getinfo (h, CURLINFO_ACTIVESOCKET, &fd);
  t->base.fd = (int) fd;
  return &t->base;
}
