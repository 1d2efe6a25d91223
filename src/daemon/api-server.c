/* The Engine API server: libmicrohttpd driven from berthd's event loop
 * (external epoll, no threads of its own), listeners for unix sockets and
 * TCP with mutual TLS, and each request's life: route, policy, body
 * (buffered JSON or a pipe for tar uploads), the handler's answer (now or
 * later: the connection sleeps meanwhile), audit, cleanup. */
#include "daemon/api-internal.h"
#include "daemon/daemon-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define CONNECTION_MEMORY_LIMIT (64u * 1024)
/* Idle or stalled connections are closed after this; streams and waits
 * sleep suspended and never time out, hijacked ones are not HTTP anymore. */
#define CONNECTION_TIMEOUT_S 300u

struct api_listener
{
  struct api_server *server;
  char *address; /* as given with -H */
  struct MHD_Daemon *mhd;
  struct loop_fd *watch;
  bool is_unix;
  char *unix_path;
  bool tls_verify;
  unsigned n_closing; /* hijacked TLS connections on their way out */
  struct api_listener *next;
};

/* A connection of a TLS listener (its libmicrohttpd socket context). */
struct api_conn
{
  struct api_listener *listener;
  bool closing;
};

struct api_server
{
  struct berthd *d;
  struct api_router *router;
  struct api_listener *listeners;
  bool need_run;
  struct api_request *active; /* every live request (to resume at shutdown) */
  char *tls_cert, *tls_key, *tls_ca; /* PEM contents */
};

static void
mhd_logger (void *cls, const char *fmt, va_list ap)
{
  (void) cls;
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    return;
  size_t n = strlen (msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  berth_log (BERTH_LOG_DEBUG, "http: %s", msg);
}

/* ------------------------------------------------------------ requests -- */

static char *
request_query_string (struct api_request *req);

static enum MHD_Result
collect_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  (void) kind;
  char ***v = cls;
  _cleanup_free_ char *kv = value ? xasprintf ("%s=%s", key, value) : xstrdup (key);
  strv_append (v, kv);
  return MHD_YES;
}

static char *
request_query_string (struct api_request *req)
{
  _cleanup_strv_ char **args = calloc (1, sizeof (char *));
  MHD_get_connection_values (req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
  if (args[0] == NULL)
    return NULL;
  return strv_join (args, "&");
}

static void
request_audit (struct api_request *req)
{
  if (req->audited || req->d->audit == NULL)
    return;
  req->audited = true;
  /* X-Registry-Auth and bodies are never logged: they carry secrets. */
  _cleanup_free_ char *query = req->conn ? request_query_string (req) : NULL;
  struct audit_entry e = {
    .time_ns = time_now_ns (),
    .uid = req->peer_uid,
    .pid = req->peer_pid,
    .method = req->method,
    .path = req->url,
    .query = query,
    /* 499 (nginx's "client closed request") when nothing was answered */
    .status = req->status ? req->status : 499,
    .duration_us = (time_now_ns () - req->start_ns) / 1000,
    .denied = req->policy_denied,
  };
  audit_log_write (req->d->audit, &e);
}

static void
request_free (struct api_request *req)
{
  struct api_server *s = req->d->server;
  if (req->prev_active)
    req->prev_active->next_active = req->next_active;
  else if (s && s->active == req)
    s->active = req->next_active;
  if (req->next_active)
    req->next_active->prev_active = req->prev_active;
  api_request_unwatch_gone (req);
  if (req->body_pipe_watch)
    loop_fd_remove (req->body_pipe_watch);
  if (req->body_pipe_r >= 0)
    close (req->body_pipe_r);
  if (req->body_pipe_w >= 0)
    close (req->body_pipe_w);
  request_audit (req);
  /* Our reference; for a stream its reader's closure goes with it. */
  if (req->response)
    MHD_destroy_response (req->response);
  api_stream_free (req->stream);
  api_request_free_headers (req);
  json_decref (req->json);
  strv_freep (&req->params);
  free (req->body);
  free (req->method);
  free (req->url);
  free (req->path);
  free (req->policy_denied);
  free (req);
}

/* refs: one for libmicrohttpd (until the request completed), one for the
 * handler (until its answer was handed over, a stream ended or a hijacked
 * connection closed), plus short holds inside callbacks. */
void
api_request_release (struct api_request *req)
{
  if (--req->refs > 0)
    return;
  request_free (req);
}

void
api_request_suspend (struct api_request *req)
{
  if (req->suspended)
    return;
  MHD_suspend_connection (req->conn);
  req->suspended = true;
}

void
api_request_resume (struct api_request *req)
{
  if (!req->suspended)
    return;
  req->suspended = false;
  MHD_resume_connection (req->conn);
  api_server_kick (req->d->server);
}

static void
gone_cb (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct api_request *req = userdata;
  (void) w;
  (void) fd;
  (void) events;
  req->refs++;
  api_request_unwatch_gone (req);
  req->client_gone = true;
  if (req->stream)
    api_stream_client_gone (req->stream);
  /* Let libmicrohttpd see the closed socket and finish the request. */
  api_request_resume (req);
  api_request_release (req);
}

void
api_request_watch_gone (struct api_request *req)
{
  if (req->gone_watch || req->mhd_done)
    return;
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return;
  req->gone_watch = loop_fd_add (req->d->loop, ci->connect_fd, EPOLLRDHUP, gone_cb, req, NULL);
}

void
api_request_unwatch_gone (struct api_request *req)
{
  if (req->gone_watch)
    loop_fd_remove (req->gone_watch);
  req->gone_watch = NULL;
}

void
api_request_answer_ready (struct api_request *req)
{
  /* The handler's part is done for plain answers: the response is ours. */
  if (req->answer == API_ANSWER_RESPONSE && req->stream == NULL)
    {
      req->refs++; /* hold while we look at it */
      api_request_release (req); /* the handler's reference */
      if (req->mhd_done)
        {
          api_request_release (req);
          return;
        }
      req->refs--;
    }
  if (req->mhd_done)
    return;
  if (req->in_handler)
    return; /* the access handler queues it on its way out */
  if (req->suspended)
    {
      api_request_unwatch_gone (req);
      api_request_resume (req);
    }
}

bool
api_request_is_tls (struct api_request *req)
{
  return req->listener->tls_verify;
}

static void
peer_credentials (struct api_request *req)
{
  req->peer_uid = (uid_t) -1;
  req->peer_pid = -1;
  if (!req->listener->is_unix)
    return;
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt (ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    {
      req->peer_uid = cred.uid;
      req->peer_pid = cred.pid;
    }
}

/* --tlsverify: the client must have presented a certificate our CA signed.
 * libmicrohttpd only requests it; enforcing is ours. */
static char *
tls_client_check (struct api_request *req)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (ci == NULL || ci->tls_session == NULL)
    return xstrdup ("TLS session missing");
  gnutls_session_t session = (gnutls_session_t) ci->tls_session;
  unsigned n_certs = 0;
  if (gnutls_certificate_get_peers (session, &n_certs) == NULL || n_certs == 0)
    return xstrdup ("a TLS client certificate is required (--tlsverify)");
  unsigned status = 0;
  if (gnutls_certificate_verify_peers2 (session, &status) != GNUTLS_E_SUCCESS || status != 0)
    return xstrdup ("the TLS client certificate is not signed by the daemon's CA");
  return NULL;
}

static void
request_fail (struct api_request *req, unsigned status, const char *msg)
{
  api_respond_json (req, status, json_pack ("{s:s}", "message", msg));
}

static int
body_pipe_open (struct api_request *req)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  req->body_pipe_r = p[0];
  req->body_pipe_w = p[1];
  fcntl (p[1], F_SETFL, O_NONBLOCK);
  /* Larger pipe: fewer wake-ups for multi-MB tar uploads. */
  fcntl (p[1], F_SETPIPE_SZ, 1 << 20);
  return 0;
}

/* Route, check the peer and the policy, set up the body. The answer may
 * already be given when this returns (errors). */
static void
request_begin (struct api_request *req)
{
  struct api_server *s = req->listener->server;
  peer_credentials (req);

  _cleanup_error_ struct berth_error *err = NULL;
  const char *rest = NULL;
  if (api_path_split_version (req->url, &req->version, &rest, &err) < 0)
    {
      req->path = xstrdup (req->url);
      api_respond_error (req, err);
      return;
    }
  req->path = xstrdup (rest);

  if (req->listener->tls_verify)
    {
      _cleanup_free_ char *why = tls_client_check (req);
      if (why)
        {
          req->policy_denied = xstrdup (why);
          request_fail (req, MHD_HTTP_FORBIDDEN, why);
          return;
        }
    }

  bool other_method = false;
  req->route = api_router_match (s->router, req->method, req->path, &req->params, &other_method);
  if (req->route == NULL)
    {
      if (other_method)
        request_fail (req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
      else
        request_fail (req, MHD_HTTP_NOT_FOUND, "page not found");
      return;
    }

  if (req->d->policy)
    {
      char *why = policy_check (req->d->policy, req->peer_uid, req->method, req->path);
      if (why)
        {
          req->policy_denied = why;
          _cleanup_free_ char *msg
              = xasprintf ("authorization denied by policy: %s %s: %s", req->method, req->path, why);
          request_fail (req, MHD_HTTP_FORBIDDEN, msg);
          return;
        }
    }

  if (req->route->flags & API_ROUTE_RAW_BODY)
    {
      if (body_pipe_open (req) < 0)
        {
          request_fail (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot create a pipe for the body");
          return;
        }
      req->handler_called = true;
      req->in_handler = true;
      req->route->fn (req);
      req->in_handler = false;
    }
}

static void
body_pipe_writable (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct api_request *req = userdata;
  (void) fd;
  (void) events;
  loop_fd_remove (w);
  req->body_pipe_watch = NULL;
  api_request_resume (req);
}

/* Push upload bytes into the body pipe; returns how many were taken. When
 * the pipe is full the connection sleeps until the reader made room. */
static size_t
body_pipe_push (struct api_request *req, const char *data, size_t len)
{
  if (req->body_pipe_w < 0)
    return len; /* the reader is gone: drop the rest */
  ssize_t n = write (req->body_pipe_w, data, len);
  if (n >= 0)
    {
      if ((size_t) n < len)
        goto wait;
      return (size_t) n;
    }
  if (errno == EAGAIN)
    {
      n = 0;
      goto wait;
    }
  /* EPIPE: the reader stopped early (an error it answers itself). */
  close (req->body_pipe_w);
  req->body_pipe_w = -1;
  return len;

wait:
  api_request_suspend (req);
  req->body_pipe_watch
      = loop_fd_add (req->d->loop, req->body_pipe_w, EPOLLOUT, body_pipe_writable, req, NULL);
  if (req->body_pipe_watch == NULL)
    api_request_resume (req);
  return (size_t) n;
}

static void
body_append (struct api_request *req, const char *data, size_t len)
{
  if (req->body_too_large)
    return;
  if (req->body_len + len > API_JSON_BODY_MAX)
    {
      req->body_too_large = true;
      free (req->body);
      req->body = NULL;
      req->body_len = 0;
      return;
    }
  char *b = realloc (req->body, req->body_len + len + 1);
  if (b == NULL)
    abort ();
  memcpy (b + req->body_len, data, len);
  req->body = b;
  req->body_len += len;
  req->body[req->body_len] = '\0';
}

static enum MHD_Result
request_queue (struct api_request *req)
{
  if (req->queued)
    return MHD_YES;
  if (req->answer == API_ANSWER_HIJACK)
    return api_hijack_queue (req);
  enum MHD_Result r = MHD_queue_response (req->conn, req->status, req->response);
  req->queued = r == MHD_YES;
  return r;
}

static enum MHD_Result
access_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                const char *version, const char *upload_data, size_t *upload_data_size,
                void **con_cls)
{
  struct api_listener *l = cls;
  struct api_request *req = *con_cls;
  (void) version;

  if (req == NULL)
    {
      req = calloc (1, sizeof *req);
      if (req == NULL)
        return MHD_NO;
      req->d = l->server->d;
      req->listener = l;
      req->conn = conn;
      req->method = xstrdup (method);
      req->url = xstrdup (url);
      req->start_ns = time_now_ns ();
      req->body_pipe_r = req->body_pipe_w = -1;
      req->refs = 2;
      req->next_active = l->server->active;
      if (req->next_active)
        req->next_active->prev_active = req;
      l->server->active = req;
      *con_cls = req;
      request_begin (req);
      /* An early answer (an error before the body) is queued now: the
       * server then drops the body and closes the connection. A raw-body
       * handler's answer waits for the end of the body. */
      if (req->answer != API_ANSWER_NONE && !req->handler_called)
        return request_queue (req);
      return MHD_YES;
    }

  if (*upload_data_size > 0)
    {
      size_t len = *upload_data_size;
      if (req->answer != API_ANSWER_NONE && !req->handler_called)
        *upload_data_size = 0;
      else if (req->body_pipe_r >= 0 || req->body_pipe_w >= 0 || (req->route && (req->route->flags & API_ROUTE_RAW_BODY)))
        *upload_data_size = len - body_pipe_push (req, upload_data, len);
      else
        {
          body_append (req, upload_data, len);
          *upload_data_size = 0;
        }
      return MHD_YES;
    }

  if (!req->body_ended)
    {
      req->body_ended = true;
      if (req->body_pipe_w >= 0)
        {
          close (req->body_pipe_w);
          req->body_pipe_w = -1;
        }
      if (!req->handler_called && req->answer == API_ANSWER_NONE)
        {
          req->handler_called = true;
          if (req->body_too_large)
            {
              _cleanup_free_ char *msg = xasprintf (
                  "request body too large: the limit is %u bytes", API_JSON_BODY_MAX);
              request_fail (req, MHD_HTTP_CONTENT_TOO_LARGE, msg);
            }
          else
            {
              req->in_handler = true;
              req->route->fn (req);
              req->in_handler = false;
            }
        }
    }

  if (req->client_gone)
    return MHD_NO;
  if (req->answer != API_ANSWER_NONE)
    return request_queue (req);
  /* The answer comes later (a worker, a container event): sleep. */
  api_request_suspend (req);
  api_request_watch_gone (req);
  return MHD_YES;
}

static void
request_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
  struct api_request *req = *con_cls;
  (void) cls;
  (void) conn;
  if (req == NULL)
    return;
  *con_cls = NULL;
  req->refs++;
  req->mhd_done = true;
  req->suspended = false;
  api_request_unwatch_gone (req);
  /* A worker reading the body must see its end now, or it would wait
   * forever for a client that left (and hold up shutdown). */
  if (req->body_pipe_watch)
    loop_fd_remove (req->body_pipe_watch);
  req->body_pipe_watch = NULL;
  if (req->body_pipe_w >= 0)
    close (req->body_pipe_w);
  req->body_pipe_w = -1;
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
    req->client_gone = true;
  if (req->answer == API_ANSWER_HIJACK && !req->hijack_started)
    {
      /* Gone before the upgrade: the handler's part ends here. */
      req->hijack_started = true;
      if (req->hijack_abort)
        req->hijack_abort (req->hijack_data);
      api_request_release (req);
    }
  else if (req->stream && !api_stream_is_ended (req->stream))
    api_stream_client_gone (req->stream);
  request_audit (req);
  req->conn = NULL;
  api_request_release (req); /* libmicrohttpd's reference */
  api_request_release (req); /* our hold */
}

/* ----------------------------------------------------------- listeners -- */

/* Over TLS libmicrohttpd relays a hijacked connection itself; when that
 * relay ends (the handler closed it and its last bytes went out) it
 * resumes the connection from inside MHD_run, and only a later run closes
 * it — but with the epoll driven from outside nothing wakes us for that
 * run: the client would wait for the end of its stream for ever. A second
 * run on TLS listeners does it at once (one cheap epoll_wait when idle);
 * a closing hijack also keeps its listener running every few
 * milliseconds until libmicrohttpd reports the connection closed
 * (api_conn_closing). */
#define TLS_CLOSING_POLL_MS 5

static void
listener_run (struct api_listener *l)
{
  MHD_run (l->mhd);
  if (l->tls_verify)
    MHD_run (l->mhd);
}

static void
connection_notify (void *cls, struct MHD_Connection *conn, void **socket_context,
                   enum MHD_ConnectionNotificationCode code)
{
  struct api_listener *l = cls;
  (void) conn;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    {
      struct api_conn *c = calloc (1, sizeof *c);
      if (c == NULL)
        abort ();
      c->listener = l;
      *socket_context = c;
      return;
    }
  struct api_conn *c = *socket_context;
  if (c && c->closing)
    l->n_closing--;
  free (c);
  *socket_context = NULL;
}

struct api_conn *
api_conn_of (struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

void
api_conn_closing (struct api_conn *c)
{
  if (c == NULL || c->closing)
    return;
  c->closing = true;
  c->listener->n_closing++;
  api_server_kick (c->listener->server);
}

static void
listener_ready (struct loop_fd *w, int fd, uint32_t events, void *userdata)
{
  struct api_listener *l = userdata;
  (void) w;
  (void) fd;
  (void) events;
  listener_run (l);
}

void
api_server_kick (struct api_server *s)
{
  if (s)
    s->need_run = true;
}

/* Before the loop sleeps: run libmicrohttpd for resumed connections and
 * data it already has buffered, and wake up for its timeouts. */
static int
server_prepare (void *userdata)
{
  struct api_server *s = userdata;
  int timeout = -1;
  for (int round = 0; round < 8; round++)
    {
      bool ran = false;
      bool all = s->need_run;
      s->need_run = false;
      timeout = -1;
      for (struct api_listener *l = s->listeners; l; l = l->next)
        {
          MHD_UNSIGNED_LONG_LONG t;
          bool has_timeout = MHD_get_timeout (l->mhd, &t) == MHD_YES;
          /* A zero timeout means libmicrohttpd has buffered work (its
           * epoll is edge-triggered): run it now, the fd will not wake us. */
          if (all || (has_timeout && t == 0) || l->n_closing > 0)
            {
              listener_run (l);
              ran = true;
              has_timeout = MHD_get_timeout (l->mhd, &t) == MHD_YES;
            }
          if (l->n_closing > 0 && (!has_timeout || t > TLS_CLOSING_POLL_MS))
            {
              has_timeout = true;
              t = TLS_CLOSING_POLL_MS;
            }
          if (has_timeout)
            {
              int ms = t > 60000 ? 60000 : (int) t;
              if (timeout < 0 || ms < timeout)
                timeout = ms;
            }
        }
      if (!ran && !s->need_run)
        break;
      if (timeout != 0 && !s->need_run)
        break;
    }
  if (s->need_run)
    return 0;
  return timeout;
}

struct group_lookup
{
  bool found;
  gid_t gid;
};

static int
group_lookup_child (void *arg, void *out, struct berth_error **err)
{
  struct group_lookup *r = out;
  struct group *g = getgrnam (arg);
  r->found = g != NULL;
  r->gid = g ? g->gr_gid : 0;
  return 0;
}

static gid_t
socket_group (const char *name, bool *found)
{
  *found = false;
  if (name == NULL || *name == '\0')
    return 0;
  /* getgrnam in a short-lived child: NSS modules, once loaded, stay for
   * the life of the process (libnss_systemd brings libcap and libm, ~0.7
   * MiB of berthd's idle RSS), and the name is needed only once. */
  struct group_lookup g = { 0 };
  _cleanup_error_ struct berth_error *gerr = NULL;
  if (run_in_child (group_lookup_child, (void *) name, &g, sizeof g, &gerr) < 0)
    berth_log (BERTH_LOG_WARNING, "look up group %s: %s", name, gerr->msg);
  else if (g.found)
    {
      *found = true;
      return g.gid;
    }
  char *end;
  long n = strtol (name, &end, 10);
  if (*end == '\0' && n >= 0)
    {
      *found = true;
      return (gid_t) n;
    }
  return 0;
}

/* A unix socket at path: mode 0660, group `group` when it exists (root
 * otherwise). A stale socket file is replaced; a live one is an error. */
static int
unix_listen (const char *path, const char *group, bool group_required, struct berth_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "unix socket path `%s` is too long",
                                 path);
  strcpy (addr.sun_path, path);

  _cleanup_free_ char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (fs_mkdir_p (dir, 0711, err) < 0)
        return berth_error_prefix (err, "socket directory");
    }

  struct stat st;
  if (lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "%s exists and is not a socket", path);
      _cleanup_close_ int probe = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (probe >= 0 && connect (probe, (struct sockaddr *) &addr, sizeof addr) == 0)
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "%s: another daemon is already listening there", path);
      unlink (path);
    }

  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "socket");
  /* Bind with a closed umask so the socket is never world-accessible,
   * not even between bind and chmod. */
  mode_t old = umask (0177);
  int r = bind (fd, (struct sockaddr *) &addr, sizeof addr);
  umask (old);
  if (r < 0)
    return berth_error_set (err, errno, "bind %s", path);
  bool found;
  gid_t gid = socket_group (group, &found);
  if (!found && group_required)
    {
      unlink (path);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "group `%s` does not exist", group);
    }
  if (chown (path, 0, gid) < 0 && found)
    berth_log (BERTH_LOG_WARNING, "chown %s to group %s: %s", path, group, strerror (errno));
  if (chmod (path, 0660) < 0)
    {
      unlink (path);
      return berth_error_set (err, errno, "chmod %s", path);
    }
  if (listen (fd, 128) < 0)
    {
      unlink (path);
      return berth_error_set (err, errno, "listen %s", path);
    }
  return steal_fd (&fd);
}

static int
tcp_listen (const char *hostport, struct berth_error **err)
{
  _cleanup_free_ char *host = xstrdup (hostport);
  char *colon = strrchr (host, ':');
  if (colon == NULL || colon[1] == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "tcp://%s: expected host:port", hostport);
  *colon = '\0';
  const char *port = colon + 1;
  char *h = host;
  if (*h == '[')
    {
      h++;
      size_t n = strlen (h);
      if (n > 0 && h[n - 1] == ']')
        h[n - 1] = '\0';
    }
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                            .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
  struct addrinfo *res = NULL;
  int r = getaddrinfo (*h ? h : NULL, port, &hints, &res);
  if (r != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "tcp://%s: %s", hostport,
                                 gai_strerror (r));
  int fd = -1;
  int e = 0;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0)
        {
          e = errno;
          continue;
        }
      int one = 1;
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen (fd, 128) < 0)
        {
          e = errno;
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (res);
  if (fd < 0)
    return berth_error_set (err, e, "listen on tcp://%s", hostport);
  return fd;
}

static int
listener_start (struct api_server *s, const char *address, struct berth_error **err)
{
  struct berthd_config *c = &s->d->config;
  struct api_listener *l = calloc (1, sizeof *l);
  if (l == NULL)
    abort ();
  l->server = s;
  l->address = xstrdup (address);
  bool tls = false;
  int fd = -1;

  if (str_has_prefix (address, "unix://") || address[0] == '/')
    {
      const char *path = address[0] == '/' ? address : address + strlen ("unix://");
      l->is_unix = true;
      l->unix_path = *path ? xstrdup (path) : xasprintf ("%s/berth.sock", c->exec_root);
      bool group_required = c->group != NULL && strcmp (c->group, "berth") != 0;
      fd = unix_listen (l->unix_path, c->group ? c->group : "berth", group_required, err);
    }
  else if (str_has_prefix (address, "tcp://"))
    {
      if (!c->tls_verify)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "%s: refusing to serve the API on TCP without mutual TLS: add "
                                "--tlsverify --tlscacert --tlscert --tlskey",
                                address);
          goto fail;
        }
      tls = true;
      l->tls_verify = true;
      fd = tcp_listen (address + strlen ("tcp://"), err);
    }
  else
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "-H %s: unsupported address (use unix:///path or tcp://host:port)",
                            address);
      goto fail;
    }
  if (fd < 0)
    goto fail;

  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
  if (tls)
    {
      if (!MHD_is_feature_supported (MHD_FEATURE_TLS))
        {
          close (fd);
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "%s: this libmicrohttpd was built without TLS", address);
          goto fail;
        }
      flags |= MHD_USE_TLS;
      l->mhd = MHD_start_daemon (
          flags, 0, NULL, NULL, access_handler, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
          MHD_OPTION_LISTEN_SOCKET, fd,
          MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
          CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
          MHD_OPTION_NOTIFY_CONNECTION, connection_notify, l,
          MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
          MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert, MHD_OPTION_HTTPS_MEM_TRUST, s->tls_ca,
          MHD_OPTION_END);
    }
  else
    l->mhd = MHD_start_daemon (
        flags, 0, NULL, NULL, access_handler, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_END);
  if (l->mhd == NULL)
    {
      close (fd);
      berth_error_set (err, 0, "%s: cannot start the HTTP server", address);
      goto fail;
    }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info (l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  if (di == NULL)
    {
      berth_error_set (err, 0, "%s: the HTTP server has no epoll fd", address);
      goto fail;
    }
  l->watch = loop_fd_add (s->d->loop, di->epoll_fd, EPOLLIN, listener_ready, l, err);
  if (l->watch == NULL)
    goto fail;
  l->next = s->listeners;
  s->listeners = l;
  berth_log (BERTH_LOG_INFO, "API listening on %s", l->unix_path ? l->unix_path : address);
  return 0;

fail:
  if (l->mhd)
    MHD_stop_daemon (l->mhd);
  if (l->unix_path && fd >= 0)
    unlink (l->unix_path);
  free (l->unix_path);
  free (l->address);
  free (l);
  return berth_error_prefix (err, "-H %s", address);
}

int
api_server_new (struct berthd *d, struct api_router *router, struct api_server **out,
                struct berth_error **err)
{
  struct api_server *s = calloc (1, sizeof *s);
  if (s == NULL)
    return berth_error_set (err, ENOMEM, "allocate API server");
  s->d = d;
  s->router = router;
  *out = s;
  return 0;
}

static int
tls_files_load (struct api_server *s, struct berth_error **err)
{
  struct berthd_config *c = &s->d->config;
  if (!c->tls_cacert || !c->tls_cert || !c->tls_key)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "--tlsverify needs --tlscacert, --tlscert and --tlskey");
  if (fs_read_file (AT_FDCWD, c->tls_cacert, &s->tls_ca, NULL, err) < 0
      || fs_read_file (AT_FDCWD, c->tls_cert, &s->tls_cert, NULL, err) < 0
      || fs_read_file (AT_FDCWD, c->tls_key, &s->tls_key, NULL, err) < 0)
    return berth_error_prefix (err, "TLS files");
  return 0;
}

int
api_server_listen (struct api_server *s, struct berth_error **err)
{
  struct berthd_config *c = &s->d->config;
  bool any_tcp = false;
  for (char **h = c->hosts; h && *h; h++)
    if (str_has_prefix (*h, "tcp://"))
      any_tcp = true;
  if (any_tcp && c->tls_verify && tls_files_load (s, err) < 0)
    return -1;
  for (char **h = c->hosts; h && *h; h++)
    if (listener_start (s, *h, err) < 0)
      return -1;
  /* A client that disconnects mid-write must not kill the daemon. */
  signal (SIGPIPE, SIG_IGN);
  loop_set_prepare (s->d->loop, server_prepare, s);
  return 0;
}

/* End every live request as if its client had gone: streams tell their
 * producers (on_close), sleeping connections are resumed so that
 * libmicrohttpd closes them. Requests are held while we walk the list:
 * callbacks may finish and free them. */
static void
server_end_requests (struct api_server *s)
{
  size_t n = 0;
  for (struct api_request *r = s->active; r; r = r->next_active)
    n++;
  struct api_request **all = calloc (n + 1, sizeof *all);
  if (all == NULL)
    abort ();
  n = 0;
  for (struct api_request *r = s->active; r; r = r->next_active)
    {
      r->refs++;
      all[n++] = r;
    }
  for (size_t i = 0; i < n; i++)
    {
      struct api_request *r = all[i];
      r->client_gone = true;
      api_request_unwatch_gone (r);
      if (r->stream && !r->mhd_done)
        api_stream_client_gone (r->stream);
      if (r->suspended && !r->mhd_done)
        {
          r->suspended = false;
          MHD_resume_connection (r->conn);
        }
    }
  for (size_t i = 0; i < n; i++)
    api_request_release (all[i]);
  free (all);
  for (int round = 0; round < 4; round++)
    for (struct api_listener *l = s->listeners; l; l = l->next)
      MHD_run (l->mhd);
}

void
api_server_quiesce (struct api_server *s)
{
  if (s == NULL)
    return;
  /* No new connections: stop accepting and remove the unix sockets now. */
  for (struct api_listener *l = s->listeners; l; l = l->next)
    {
      MHD_socket fd = MHD_quiesce_daemon (l->mhd);
      if (fd != MHD_INVALID_SOCKET)
        close (fd);
      if (l->unix_path)
        unlink (l->unix_path);
    }
  server_end_requests (s);
}

void
api_server_free (struct api_server *s)
{
  if (s == NULL)
    return;
  loop_set_prepare (s->d->loop, NULL, NULL);
  /* The modules are gone: what they left open is ours to close. */
  api_hijack_close_all ();
  /* libmicrohttpd must not stop with suspended connections (it aborts):
   * whatever a module's shutdown left asleep ends now. */
  server_end_requests (s);
  for (struct api_request *r = s->active; r; r = r->next_active)
    if (r->suspended)
      berth_log (BERTH_LOG_WARNING, "%s %s still suspended at shutdown", r->method, r->url);
  while (s->listeners)
    {
      struct api_listener *l = s->listeners;
      s->listeners = l->next;
      loop_fd_remove (l->watch);
      MHD_stop_daemon (l->mhd);
      if (l->unix_path)
        unlink (l->unix_path);
      free (l->unix_path);
      free (l->address);
      free (l);
    }
  free (s->tls_ca);
  free (s->tls_cert);
  free (s->tls_key);
  free (s);
}
