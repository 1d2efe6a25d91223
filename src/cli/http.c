/* berth cli: the HTTP/1.1 transport to the daemon over libcurl: one kept-
 * alive connection per client (unix socket, TCP, TCP+TLS, or an ssh pipe to
 * `berth system dial-stdio`), buffered and streamed responses, chunked
 * uploads from a file descriptor, and asynchronous requests (wait). */
#include "cli/cli-internal.h"
#include "cli/http-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* ------------------------------------------------------------- ssh pipe -- */

/* ssh:// endpoints: every connection is a fresh `ssh host berth system
 * dial-stdio` (as the docker CLI does with its own). curl connects to a
 * private abstract unix socket of ours; a thread accepts each connection
 * (only from this very process: SO_PEERCRED, since abstract sockets have
 * no file permissions) and starts ssh with the accepted socket as its
 * stdin and stdout. */
static void
ssh_spawn (struct cli_client *c, int fd)
{
  pid_t pid = fork ();
  if (pid == 0)
    {
      /* the accept thread runs with every signal blocked: not ssh */
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      dup2 (fd, STDIN_FILENO);
      dup2 (fd, STDOUT_FILENO);
      char port[16];
      snprintf (port, sizeof port, "%d", c->ep.ssh_port ? c->ep.ssh_port : 22);
      const char *remote = getenv ("BERTH_SSH_REMOTE_COMMAND");
      if (remote == NULL)
        remote = "berth system dial-stdio";
      execlp ("ssh", "ssh", "-o", "ConnectTimeout=30", "-T", "-p", port, "--", c->ep.ssh_target,
              remote, (char *) NULL);
      _exit (127);
    }
  if (pid > 0)
    {
      pthread_mutex_lock (&c->ssh_lock);
      if (c->n_ssh_pids < sizeof c->ssh_pids / sizeof c->ssh_pids[0])
        c->ssh_pids[c->n_ssh_pids++] = pid;
      pthread_mutex_unlock (&c->ssh_lock);
    }
}

static void *
ssh_accept_loop (void *arg)
{
  struct cli_client *c = arg;
  for (;;)
    {
      int fd = accept4 (c->ssh_listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          return NULL;
        }
      struct ucred cred;
      socklen_t len = sizeof cred;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == getpid ())
        ssh_spawn (c, fd);
      close (fd);
    }
}

static int
ssh_listener_start (struct cli_client *c, struct berth_error **err)
{
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  c->ssh_abstract = xasprintf ("berth-ssh-%d-%.16s", (int) getpid (), rnd);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t n = strlen (c->ssh_abstract);
  memcpy (sa.sun_path + 1, c->ssh_abstract, n);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + n)) < 0
      || listen (fd, 16) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return berth_error_set (err, e, "ssh endpoint: listen");
    }
  c->ssh_listen_fd = fd;
  pthread_mutex_init (&c->ssh_lock, NULL);
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  int rc = pthread_create (&c->ssh_thread, NULL, ssh_accept_loop, c);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (rc != 0)
    return berth_error_set (err, rc, "ssh endpoint: thread");
  pthread_detach (c->ssh_thread);
  return 0;
}

/* -------------------------------------------------------------- client -- */

struct cli_client *
cli_client_new (const struct cli_endpoint *ep, struct berth_error **err)
{
  static bool inited;
  if (!inited)
    {
      /* OpenSSL initialization costs milliseconds: only for TLS. */
      curl_global_init (ep->tls ? CURL_GLOBAL_DEFAULT : CURL_GLOBAL_NOTHING);
      inited = true;
    }
  struct cli_client *c = calloc (1, sizeof *c);
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
    c->base = xasprintf ("%s://%s:%d", ep->tls ? "https" : "http", ep->tcp_host, ep->tcp_port);
  else
    c->base = xstrdup ("http://localhost");
  c->ssh_listen_fd = -1;
  if (ep->kind == CLI_EP_SSH && ssh_listener_start (c, err) < 0)
    {
      cli_client_free (c);
      return NULL;
    }
  c->h = curl_easy_init ();
  if (c->h == NULL)
    {
      cli_client_free (c);
      berth_error_set (err, 0, "curl_easy_init failed");
      return NULL;
    }
  return c;
}

void
cli_client_free (struct cli_client *c)
{
  if (c->h)
    curl_easy_cleanup (c->h);
  if (c->ssh_listen_fd >= 0)
    shutdown (c->ssh_listen_fd, SHUT_RDWR); /* ends the accept thread */
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
  free (c->base);
  free (c->api_version);
  free (c->ssh_abstract);
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
cli_client_url (struct cli_client *c, const char *path, const char *query)
{
  if (query && *query)
    return xasprintf ("%s/v%s%s?%s", c->base, c->api_version, path, query);
  return xasprintf ("%s/v%s%s", c->base, c->api_version, path);
}

/* Set the connection options (endpoint, TLS) on a handle. */
void
cli_client_setup_handle (struct cli_client *c, CURL *h)
{
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
  if (c->ep.kind == CLI_EP_UNIX)
    curl_easy_setopt (h, CURLOPT_UNIX_SOCKET_PATH, c->ep.unix_path);
  else if (c->ep.kind == CLI_EP_SSH)
    curl_easy_setopt (h, CURLOPT_ABSTRACT_UNIX_SOCKET, c->ssh_abstract);
  if (c->ep.tls)
    {
      if (c->ep.ca_path)
        curl_easy_setopt (h, CURLOPT_CAINFO, c->ep.ca_path);
      if (c->ep.cert_path)
        curl_easy_setopt (h, CURLOPT_SSLCERT, c->ep.cert_path);
      if (c->ep.key_path)
        curl_easy_setopt (h, CURLOPT_SSLKEY, c->ep.key_path);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, c->ep.tls_verify ? 1L : 0L);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, c->ep.tls_verify ? 2L : 0L);
    }
}

int
cli_connect_error (struct cli_client *c, CURLcode code, const char *errbuf, struct berth_error **err)
{
  if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST
      || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING)
    {
      const char *where = c->ep.host ? c->ep.host : "";
      if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
        return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                                     "Cannot connect to the berth daemon at %s. Is the berth daemon "
                                     "running?",
                                     where);
    }
  return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "error during connect: %s",
                               errbuf && *errbuf ? errbuf : curl_easy_strerror (code));
}

/* ------------------------------------------------------------ requests -- */

struct req_state
{
  struct cli_client *c;
  const struct cli_request *req;
  struct cli_response *resp;
  FILE *buf;
  char *bufdata;
  size_t buflen;
  int sink_rc;
  int body_fd;
  bool complete; /* the sink saw the end of the body */
};

static size_t
on_write (char *data, size_t size, size_t nmemb, void *ud)
{
  struct req_state *st = ud;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo (st->c->h, CURLINFO_RESPONSE_CODE, &status);
  if (st->req->on_chunk && status < 300)
    {
      int r = st->req->on_chunk (st->req->userdata, data, n);
      if (r < 0)
        {
          st->sink_rc = -1;
          return 0; /* aborts the transfer */
        }
      if (r == 1)
        {
          st->complete = true;
          return 0; /* done: stop reading */
        }
      return n;
    }
  fwrite (data, 1, n, st->buf);
  return n;
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *ud)
{
  struct req_state *st = ud;
  size_t n = size * nmemb;
  static const char stat_hdr[] = "x-docker-container-path-stat:";
  if (n > sizeof stat_hdr && strncasecmp (data, stat_hdr, sizeof stat_hdr - 1) == 0)
    {
      const char *v = data + sizeof stat_hdr - 1;
      while (*v == ' ')
        v++;
      size_t l = n - (size_t) (v - data);
      while (l && (v[l - 1] == '\r' || v[l - 1] == '\n'))
        l--;
      free (st->resp->header_stat);
      st->resp->header_stat = strndup (v, l);
    }
  return n;
}

static size_t
on_read (char *buf, size_t size, size_t nmemb, void *ud)
{
  struct req_state *st = ud;
  for (;;)
    {
      ssize_t n = read (st->body_fd, buf, size * nmemb);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return CURL_READFUNC_ABORT;
      if (st->req->body_sent)
        {
          *st->req->body_sent += (uint64_t) n;
          if (st->req->on_body_progress)
            st->req->on_body_progress (st->req->userdata, *st->req->body_sent);
        }
      return (size_t) n;
    }
}

int
cli_http (struct cli_client *c, const struct cli_request *req, struct cli_response *resp,
          struct berth_error **err)
{
  memset (resp, 0, sizeof *resp);
  CURL *h = c->h;
  curl_easy_reset (h);
  cli_client_setup_handle (c, h);
  _cleanup_free_ char *url = cli_client_url (c, req->path, req->query);
  curl_easy_setopt (h, CURLOPT_URL, url);
  struct req_state st = { .c = c, .req = req, .resp = resp, .body_fd = req->body_fd };
  st.buf = open_memstream (&st.bufdata, &st.buflen);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, &st);
  struct curl_slist *hdrs = NULL;
  hdrs = curl_slist_append (hdrs, "Expect:");
  _cleanup_free_ char *auth_hdr = NULL;
  if (req->registry_auth)
    {
      auth_hdr = xasprintf ("X-Registry-Auth: %s", req->registry_auth);
      hdrs = curl_slist_append (hdrs, auth_hdr);
    }
  _cleanup_free_ char *config_hdr = NULL;
  if (req->registry_config)
    {
      config_hdr = xasprintf ("X-Registry-Config: %s", req->registry_config);
      hdrs = curl_slist_append (hdrs, config_hdr);
    }
  const char *method = req->method ? req->method : "GET";
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (req->json_body)
    {
      hdrs = curl_slist_append (hdrs, "Content-Type: application/json");
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, req->json_body);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, (long) strlen (req->json_body));
    }
  else if (req->stream_body)
    {
      _cleanup_free_ char *ct = xasprintf ("Content-Type: %s",
                                           req->body_content_type ? req->body_content_type
                                                                  : "application/x-tar");
      hdrs = curl_slist_append (hdrs, ct);
      hdrs = curl_slist_append (hdrs, "Transfer-Encoding: chunked");
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt (h, CURLOPT_READDATA, &st);
    }
  else if (strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0)
    {
      hdrs = curl_slist_append (hdrs, "Content-Type:");
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
    }
  if (strcmp (method, "GET") != 0 && strcmp (method, "POST") != 0 && strcmp (method, "HEAD") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
  /* A unix connection costs microseconds; a kept-alive one met daemons that
   * leave the next request unanswered after a delayed response (berthd's
   * DELETE ?force=1), so locally each request gets its own, as the docker
   * CLI mostly does. TCP/TLS and ssh keep theirs (handshakes, ssh spawns). */
  if (c->ep.kind == CLI_EP_UNIX)
    curl_easy_setopt (h, CURLOPT_FORBID_REUSE, 1L);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode code = curl_easy_perform (h);
  curl_slist_free_all (hdrs);
  fclose (st.buf);
  resp->body = st.bufdata;
  resp->len = st.buflen;
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &resp->status);
  char *ct = NULL;
  curl_easy_getinfo (h, CURLINFO_CONTENT_TYPE, &ct);
  if (ct)
    resp->content_type = xstrdup (ct);
  if (st.sink_rc < 0)
    return berth_error_set (err, 0, "output closed");
  if (st.complete)
    return 0; /* curl drops a connection whose body was not read to its end */
  if (code != CURLE_OK)
    {
      /* A streamed body that the daemon ends by closing is complete. */
      if (code == CURLE_PARTIAL_FILE && resp->status > 0)
        return 0;
      return cli_connect_error (c, code, errbuf, err);
    }
  return 0;
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
  struct cli_client *c;
  CURL *h;
  CURLM *m;
  bool head_done;
  bool done;
  CURLcode result;
  FILE *buf;
  char *data;
  size_t len;
  char errbuf[CURL_ERROR_SIZE];
};

static size_t
async_header (char *data, size_t size, size_t nmemb, void *ud)
{
  struct cli_async *a = ud;
  size_t n = size * nmemb;
  if (n <= 2 && (data[0] == '\r' || data[0] == '\n'))
    {
      long status = 0;
      curl_easy_getinfo (a->h, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200)
        a->head_done = true;
    }
  return n;
}

static size_t
async_write (char *data, size_t size, size_t nmemb, void *ud)
{
  struct cli_async *a = ud;
  fwrite (data, 1, size * nmemb, a->buf);
  return size * nmemb;
}

static void
async_step (struct cli_async *a, int timeout_ms)
{
  int running = 0;
  fflush (a->buf);
  size_t before = a->len;
  bool head_before = a->head_done;
  curl_multi_perform (a->m, &running);
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read (a->m, &left)))
    if (msg->msg == CURLMSG_DONE)
      {
        a->done = true;
        a->result = msg->data.result;
      }
  fflush (a->buf);
  /* progress made: let the caller look at it before waiting again */
  if (a->done || a->len != before || a->head_done != head_before)
    return;
  curl_multi_poll (a->m, NULL, 0, timeout_ms, NULL);
}

struct cli_async *
cli_async_begin (struct cli_client *c, const char *method, const char *path, const char *query,
                 struct berth_error **err)
{
  struct cli_async *a = calloc (1, sizeof *a);
  a->c = c;
  a->h = curl_easy_init ();
  a->m = curl_multi_init ();
  a->buf = open_memstream (&a->data, &a->len);
  cli_client_setup_handle (c, a->h);
  _cleanup_free_ char *url = cli_client_url (c, path, query);
  curl_easy_setopt (a->h, CURLOPT_URL, url);
  if (strcmp (method, "POST") == 0)
    {
      curl_easy_setopt (a->h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt (a->h, CURLOPT_POSTFIELDSIZE, 0L);
    }
  curl_easy_setopt (a->h, CURLOPT_HEADERFUNCTION, async_header);
  curl_easy_setopt (a->h, CURLOPT_HEADERDATA, a);
  curl_easy_setopt (a->h, CURLOPT_WRITEFUNCTION, async_write);
  curl_easy_setopt (a->h, CURLOPT_WRITEDATA, a);
  curl_easy_setopt (a->h, CURLOPT_ERRORBUFFER, a->errbuf);
  curl_multi_add_handle (a->m, a->h);
  while (!a->head_done && !a->done)
    async_step (a, 1000);
  if (a->done && a->result != CURLE_OK)
    {
      cli_connect_error (c, a->result, a->errbuf, err);
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
  fflush (a->buf);
  if (a->len == 0)
    return false;
  json_error_t jerr;
  json_t *j = json_loadb (a->data, a->len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
  json_decref (j);
  return j != NULL;
}

int
cli_async_finish (struct cli_async *a, struct cli_response *resp, struct berth_error **err)
{
  memset (resp, 0, sizeof *resp);
  while (!a->done && !async_has_value (a))
    async_step (a, 1000);
  fflush (a->buf);
  curl_easy_getinfo (a->h, CURLINFO_RESPONSE_CODE, &resp->status);
  resp->body = strndup (a->data ? a->data : "", a->len);
  resp->len = a->len;
  if (a->result != CURLE_OK && a->result != CURLE_PARTIAL_FILE)
    return cli_connect_error (a->c, a->result, a->errbuf, err);
  return 0;
}

void
cli_async_free (struct cli_async *a)
{
  if (a == NULL)
    return;
  curl_multi_remove_handle (a->m, a->h);
  curl_easy_cleanup (a->h);
  curl_multi_cleanup (a->m);
  fclose (a->buf);
  free (a->data);
  free (a);
}
