/* Hijacked streams: the relay between a client's raw connection and a
 * container's stdio (the monitor's attach socket, or an exec's pipes) with
 * backpressure both ways, docker's detach keys, stdin EOF; and the attach
 * and resize endpoints. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon/logs.h"
#include "daemon/monitor.h"

#define OUT_HIGH_WATER (1u << 20) /* stop reading the container above this */
#define IN_HIGH_WATER (64u << 10)
/* how long the first output waits for the client to read the head */
#define HEAD_READ_WAIT_MS 200

struct relay_source
{
  int fd;
  int stream;
  struct loop_fd *w;
};

struct relay
{
  struct containers *cs;
  struct api_hijack *h;
  int cfd;
  struct loop_fd *cw;
  char *out;
  size_t out_len, out_cap;
  struct relay_source src[2];
  int n_src;
  int sink_fd;
  bool sink_is_socket;
  struct loop_fd *sink_w;
  char *in;
  size_t in_len, in_cap;
  bool client_eof;
  bool started;
  bool done;
  /* the response head is still unread by the client (see head_unread) */
  bool head_unread;
  struct loop_timer *head_timer;
  unsigned head_waited_ms;
  struct relay_options o;
  uint8_t keys[16];
  size_t n_keys, matched;
  uint8_t monitor_want;
  struct container *pending_for; /* in that container's pending_attach */
};

static void relay_update (struct relay *r);
static void relay_finish (struct relay *r, bool client_gone);

/* "ctrl-p,ctrl-q" → 0x10 0x11; docker's term.ToBytes. */
static int
detach_keys_parse (const char *s, uint8_t *out, size_t *n)
{
  *n = 0;
  _cleanup_strv_ char **parts = strv_split (s, ',');
  for (char **p = parts; *p; p++)
    {
      if (*n >= 16)
        return -1;
      if (strncasecmp (*p, "ctrl-", 5) == 0 && strlen (*p) == 6)
        {
          char k = (*p)[5];
          if (k >= 'a' && k <= 'z')
            out[(*n)++] = (uint8_t)(k - 'a' + 1);
          else if (k >= 'A' && k <= 'Z')
            out[(*n)++] = (uint8_t)(k - 'A' + 1);
          else if (k == '@')
            out[(*n)++] = 0;
          else if (k == '[' || k == '\\' || k == ']' || k == '^' || k == '_')
            out[(*n)++] = (uint8_t)(k - '@');
          else
            return -1;
        }
      else if (strlen (*p) == 1)
        out[(*n)++] = (uint8_t)(*p)[0];
      else
        return -1;
    }
  return 0;
}

static void
buf_append (char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
  if (n == 0)
    return;
  if (*len + n > *cap)
    {
      size_t nc = *cap ? *cap : 16384;
      while (nc < *len + n)
        nc *= 2;
      *buf = realloc (*buf, nc);
      if (*buf == NULL)
        abort ();
      *cap = nc;
    }
  memcpy (*buf + *len, data, n);
  *len += n;
}

static void
buf_consume (char *buf, size_t *len, size_t n)
{
  memmove (buf, buf + n, *len - n);
  *len -= n;
}

/* ------------------------------------------------------------ client -- */

static void flush_to_client (struct relay *r);

static void
head_check (void *data)
{
  struct relay *r = data;
  r->head_timer = NULL;
  r->head_waited_ms++;
  flush_to_client (r);
  relay_update (r);
}

/* docker-py reads the response head through a buffered reader, then reads
 * the stream from the socket beneath it: bytes that arrived with the head
 * are lost. dockerd gets away with it by being slow; we hold the first
 * output until the client has read the head — on a unix socket SIOCOUTQ
 * counts what the peer has not read yet — or HEAD_READ_WAIT_MS passed
 * (a client that reads nothing yet). Polled each millisecond: the peer's
 * read raises no event here. */
static bool
head_unread (struct relay *r)
{
  if (!r->head_unread)
    return false;
  int queued = 0;
  if (r->head_waited_ms < HEAD_READ_WAIT_MS && ioctl (r->cfd, SIOCOUTQ, &queued) == 0
      && queued > 0)
    {
      if (r->head_timer == NULL)
        r->head_timer = loop_timer_add (r->cs->d->loop, 1, head_check, r);
      return true;
    }
  r->head_unread = false;
  return false;
}

static void
flush_to_client (struct relay *r)
{
  if (r->done || head_unread (r))
    return;
  while (!r->done && r->out_len > 0)
    {
      ssize_t n = send (r->cfd, r->out, r->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n <= 0)
        {
          relay_finish (r, true);
          return;
        }
      buf_consume (r->out, &r->out_len, (size_t)n);
    }
}

static void
flush_to_sink (struct relay *r)
{
  while (!r->done && r->in_len > 0 && r->sink_fd >= 0)
    {
      ssize_t n = write (r->sink_fd, r->in, r->in_len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          /* the container's stdin is gone: drop what the client sends */
          r->in_len = 0;
          return;
        }
      buf_consume (r->in, &r->in_len, (size_t)n);
    }
  if (!r->done && r->in_len == 0 && r->client_eof && r->sink_fd >= 0)
    {
      if (r->o.end_on_stdin_eof)
        {
          relay_finish (r, false);
          return;
        }
      /* stdin EOF reaches the container only after every byte did */
      if (r->sink_is_socket)
        shutdown (r->sink_fd, SHUT_WR);
      else
        {
          if (r->sink_w)
            loop_fd_remove (r->sink_w);
          r->sink_w = NULL;
          close (r->sink_fd);
          r->sink_fd = -1;
        }
    }
}

/* Client bytes → stdin, watching for the detach sequence. */
static void
client_bytes (struct relay *r, const uint8_t *data, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (r->n_keys > 0 && data[i] == r->keys[r->matched])
        {
          r->matched++;
          if (r->matched == r->n_keys)
            {
              relay_finish (r, true);
              return;
            }
          continue;
        }
      if (r->matched > 0)
        {
          buf_append (&r->in, &r->in_len, &r->in_cap, r->keys, r->matched);
          r->matched = 0;
          if (r->n_keys > 0 && data[i] == r->keys[0])
            {
              r->matched = 1;
              continue;
            }
        }
      buf_append (&r->in, &r->in_len, &r->in_cap, &data[i], 1);
    }
  flush_to_sink (r);
}

static void
client_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct relay *r = data;
  if (events & EPOLLOUT)
    {
      flush_to_client (r);
      if (r->done)
        return;
    }
  if (events & EPOLLIN)
    {
      uint8_t buf[16384];
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0)
        {
          /* before the start there is no sink yet: keep the bytes */
          if (r->o.want_stdin)
            client_bytes (r, buf, (size_t)n);
          if (r->done)
            return;
        }
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        {
          r->client_eof = true;
          if (n < 0)
            {
              relay_finish (r, true);
              return;
            }
          flush_to_sink (r);
        }
    }
  else if (events & (EPOLLHUP | EPOLLERR))
    {
      relay_finish (r, true);
      return;
    }
  relay_update (r);
}

/* ----------------------------------------------------------- sources -- */

static void
source_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct relay *r = data;
  int idx = r->src[0].w == w ? 0 : 1;
  char buf[32768];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      loop_fd_remove (r->src[idx].w);
      if (r->src[idx].fd != r->sink_fd)
        close (r->src[idx].fd);
      r->src[idx] = r->src[r->n_src - 1];
      r->n_src--;
      relay_update (r);
      return;
    }
  if (r->o.frame_sources && !r->o.tty)
    {
      uint8_t hdr[8];
      logs_frame_header (hdr, (enum log_stream)r->src[idx].stream, (uint32_t)n);
      buf_append (&r->out, &r->out_len, &r->out_cap, hdr, 8);
    }
  buf_append (&r->out, &r->out_len, &r->out_cap, buf, (size_t)n);
  flush_to_client (r);
  if (!r->done)
    relay_update (r);
}

static void
sink_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct relay *r = data;
  flush_to_sink (r);
  relay_update (r);
}

/* Re-arm every watch for the current buffers; finish when done. */
static void
relay_update (struct relay *r)
{
  if (r->done || !r->started)
    return;
  if (r->n_src == 0 && r->out_len == 0 && !r->pending_for && !r->o.hold)
    {
      relay_finish (r, false);
      return;
    }
  /* level-triggered: once the client half-closed, EPOLLRDHUP would fire
   * for ever; a full close still shows as EPOLLHUP */
  uint32_t cev = 0;
  if (!r->client_eof && r->in_len < IN_HIGH_WATER)
    cev |= EPOLLIN | EPOLLRDHUP;
  if (r->out_len > 0 && !r->head_unread) /* else head_check polls */
    cev |= EPOLLOUT;
  loop_fd_modify (r->cw, cev, NULL);
  for (int i = 0; i < r->n_src; i++)
    loop_fd_modify (r->src[i].w, r->out_len < OUT_HIGH_WATER ? EPOLLIN : 0, NULL);
  if (r->sink_fd >= 0)
    {
      if (r->in_len > 0 && r->sink_w == NULL)
        r->sink_w = loop_fd_add (r->cs->d->loop, r->sink_fd, EPOLLOUT, sink_ready, r, NULL);
      else if (r->in_len == 0 && r->sink_w)
        {
          loop_fd_remove (r->sink_w);
          r->sink_w = NULL;
        }
    }
}

static void
pending_remove (struct relay *r)
{
  struct container *c = r->pending_for;
  if (c == NULL)
    return;
  struct container_rt *rt = container_rt (c);
  for (size_t i = 0; rt && i < rt->n_pending_attach; i++)
    if (rt->pending_attach[i] == r)
      {
        rt->pending_attach[i] = rt->pending_attach[--rt->n_pending_attach];
        break;
      }
  r->pending_for = NULL;
}

/* Close everything; the memory stays until relay_finish's timer or
 * relay_abort frees it. */
static void
relay_close (struct relay *r, bool client_gone)
{
  r->done = true;
  if (r->head_timer)
    loop_timer_cancel (r->head_timer);
  r->head_timer = NULL;
  pending_remove (r);
  for (int i = 0; i < r->n_src; i++)
    {
      loop_fd_remove (r->src[i].w);
      if (r->src[i].fd != r->sink_fd)
        close (r->src[i].fd);
    }
  r->n_src = 0;
  if (r->sink_w)
    loop_fd_remove (r->sink_w);
  if (r->sink_fd >= 0)
    close (r->sink_fd);
  r->sink_fd = -1;
  if (r->cw)
    loop_fd_remove (r->cw);
  r->cw = NULL;
  if (!client_gone && r->out_len > 0)
    {
      /* best effort for the last bytes: the socket is non-blocking */
      fcntl (r->cfd, F_SETFL, fcntl (r->cfd, F_GETFL) & ~O_NONBLOCK);
      struct timeval tv = { .tv_sec = 5 };
      setsockopt (r->cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      fs_write_all (r->cfd, r->out, r->out_len);
    }
  api_hijack_close (r->h);
  if (r->o.on_done)
    r->o.on_done (r->o.done_data);
  free (r->out);
  r->out = NULL;
  r->out_len = 0;
  free (r->in);
  r->in = NULL;
  r->in_len = 0;
}

static void
relay_finish (struct relay *r, bool client_gone)
{
  if (r->done)
    return;
  relay_close (r, client_gone);
  /* freed from the loop: the callbacks up the stack still look at done */
  loop_timer_add (r->cs->d->loop, 0, free, r);
}

/* ---------------------------------------------------------------- API -- */

struct relay *
relay_new (struct containers *cs, struct api_hijack *h, const struct relay_options *o)
{
  struct relay *r = calloc (1, sizeof *r);
  if (r == NULL)
    abort ();
  r->cs = cs;
  r->h = h;
  r->cfd = api_hijack_fd (h);
  r->head_unread = true;
  size_t n_unsent = 0;
  const void *unsent = api_hijack_unsent (h, &n_unsent);
  relay_queue (r, unsent, n_unsent);
  r->sink_fd = -1;
  r->o = *o;
  const char *keys = o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q";
  if (detach_keys_parse (keys, r->keys, &r->n_keys) < 0)
    r->n_keys = 0;
  /* docker only watches for detach keys on a terminal */
  if (!o->tty && !(o->detach_keys && *o->detach_keys))
    r->n_keys = 0;
  return r;
}

void
relay_set_sink (struct relay *r, int fd, bool is_socket)
{
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  r->sink_fd = fd;
  r->sink_is_socket = is_socket;
}

void
relay_add_source (struct relay *r, int fd, int stream)
{
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  r->src[r->n_src].fd = fd;
  r->src[r->n_src].stream = stream;
  r->src[r->n_src].w = loop_fd_add (r->cs->d->loop, fd, EPOLLIN, source_ready, r, NULL);
  r->n_src++;
}

void
relay_queue (struct relay *r, const void *data, size_t len)
{
  buf_append (&r->out, &r->out_len, &r->out_cap, data, len);
}

void
relay_start (struct relay *r)
{
  if (r->cw == NULL)
    {
      r->cw = loop_fd_add (r->cs->d->loop, r->cfd, EPOLLIN | EPOLLRDHUP, client_ready, r, NULL);
      size_t plen = 0;
      const void *pending = api_hijack_pending (r->h, &plen);
      if (plen > 0)
        berth_log (BERTH_LOG_DEBUG, "hijack: %zu pending bytes, first 0x%02x", plen,
                   *(const unsigned char *)pending);
      if (plen > 0 && r->o.want_stdin)
        buf_append (&r->in, &r->in_len, &r->in_cap, pending, plen);
    }
  r->started = true;
  flush_to_sink (r);
  flush_to_client (r);
  relay_update (r);
}

void
relay_release (struct relay *r)
{
  r->o.hold = false;
  relay_update (r);
}

void
relay_abort (struct relay *r)
{
  if (r->done)
    return; /* its timer frees it */
  relay_close (r, true);
  free (r);
}

uint8_t relay_monitor_want (struct relay *r);
void relay_connect_monitor (struct relay *r, int fd);

uint8_t
relay_monitor_want (struct relay *r)
{
  return r->monitor_want;
}

void
relay_connect_monitor (struct relay *r, int fd)
{
  pending_remove (r);
  if (r->monitor_want & MONITOR_ATTACH_STDIN)
    relay_set_sink (r, dup (fd), true);
  relay_add_source (r, fd, 1);
  relay_start (r);
}

int
monitor_attach_connect (struct containers *cs, struct container *c, uint8_t want,
                        struct berth_error **err)
{
  _cleanup_free_ char *dir = container_exec_dir (cs, c);
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open %s", dir);
  /* through the directory fd: exec roots can be longer than sun_path */
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, MONITOR_ATTACH_SOCKET);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return berth_error_set (err, errno, "connect to the monitor of %.12s", c->id);
  if (fs_write_all (fd, &want, 1) < 0)
    return berth_error_set (err, errno, "attach request to the monitor of %.12s", c->id);
  return steal_fd (&fd);
}

/* ------------------------------------------------------- attach route -- */

struct attach_req
{
  struct containers *cs;
  char id[SHA256_HEX_LEN + 1];
  bool want_stdin, want_stdout, want_stderr, logs, stream;
  char *detach_keys;
};

static void
attach_abort (void *data)
{
  struct attach_req *a = data;
  free (a->detach_keys);
  free (a);
}

/* attach logs=1: the json-file history first (through a memfd: any
 * size, then queued for the client with the relay's backpressure) */
static void
attach_replay_logs (struct relay *r, struct container *c, struct attach_req *a, bool tty)
{
  if (c->log_path == NULL)
    return;
  _cleanup_close_ int fd = memfd_create ("berth-attach-logs", MFD_CLOEXEC);
  if (fd < 0)
    return;
  _cleanup_free_ char *name = xasprintf ("%s-json.log", c->id);
  struct logs_read_options o
      = { .want_stdout = a->want_stdout, .want_stderr = a->want_stderr, .tty = tty, .tail = -1 };
  const char *mf = json_string_value (json_object_get (
      json_object_get (json_object_get (c->host_config, "LogConfig"), "Config"), "max-file"));
  int64_t off;
  logs_jsonfile_read (c->dirfd, name, mf ? atoi (mf) : 1, &o, fd, &off);
  lseek (fd, 0, SEEK_SET);
  char buf[65536];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    relay_queue (r, buf, (size_t)n);
}

static void
attach_ready (struct api_hijack *h, void *data)
{
  struct attach_req *a = data;
  struct containers *cs = a->cs;
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, a->id, &err);
  if (c == NULL)
    {
      api_hijack_close (h);
      attach_abort (a);
      return;
    }
  bool tty = json_is_true (json_object_get (c->config, "Tty"));
  bool stdin_ok = a->want_stdin && json_is_true (json_object_get (c->config, "OpenStdin"));
  struct relay_options o = { .tty = tty,
                             .want_stdin = stdin_ok,
                             .end_on_stdin_eof
                             = stdin_ok
                               && (tty || !json_is_true (json_object_get (c->config, "StdinOnce"))),
                             .detach_keys = a->detach_keys };
  struct relay *r = relay_new (cs, h, &o);
  r->monitor_want = (uint8_t)((stdin_ok ? MONITOR_ATTACH_STDIN : 0)
                              | (a->want_stdout ? MONITOR_ATTACH_STDOUT : 0)
                              | (a->want_stderr ? MONITOR_ATTACH_STDERR : 0));
  if (a->logs)
    attach_replay_logs (r, c, a, tty);
  container_event (c, "attach", NULL);
  struct container_rt *rt = container_rt (c);
  if (a->stream && (c->state.status == CONTAINER_RUNNING || c->state.status == CONTAINER_PAUSED)
      && !rt->starting)
    {
      int fd = monitor_attach_connect (cs, c, r->monitor_want, &err);
      if (fd >= 0)
        relay_connect_monitor (r, fd);
      else
        relay_start (r);
    }
  else if (a->stream && c->state.status != CONTAINER_REMOVING && c->state.status != CONTAINER_DEAD)
    {
      /* attach before start (docker run, start -a): wait for the monitor */
      rt->pending_attach
          = realloc (rt->pending_attach, (rt->n_pending_attach + 1) * sizeof *rt->pending_attach);
      rt->pending_attach[rt->n_pending_attach++] = r;
      r->pending_for = c;
      relay_start (r);
    }
  else
    relay_start (r);
  free (a->detach_keys);
  free (a);
}

void api_container_attach (struct api_request *req);

void
api_container_attach (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  const char *keys = api_request_query (req, "detachKeys");
  uint8_t tmp[16];
  size_t n;
  if (keys && *keys && detach_keys_parse (keys, tmp, &n) < 0)
    {
      api_respond_errorf (req, 400, "Invalid detach keys (%s) provided", keys);
      return;
    }
  struct attach_req *a = calloc (1, sizeof *a);
  a->cs = cs;
  memcpy (a->id, c->id, sizeof a->id);
  a->want_stdin = api_request_query_bool (req, "stdin", false);
  a->want_stdout = api_request_query_bool (req, "stdout", false);
  a->want_stderr = api_request_query_bool (req, "stderr", false);
  a->logs = api_request_query_bool (req, "logs", false);
  a->stream = api_request_query_bool (req, "stream", false);
  a->detach_keys = keys ? xstrdup (keys) : NULL;
  api_respond_hijack (req, !json_is_true (json_object_get (c->config, "Tty")), attach_ready,
                      attach_abort, a);
}

void api_container_resize (struct api_request *req);

void
api_container_resize (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  long long h = 0, w = 0;
  if (api_request_query_int (req, "h", 0, &h, &err) < 0
      || api_request_query_int (req, "w", 0, &w, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  if (h < 0 || w < 0 || h > 65535 || w > 65535)
    {
      api_respond_errorf (req, 400, "invalid terminal size %lldx%lld", h, w);
      return;
    }
  if (!container_is_running (c))
    {
      api_respond_errorf (req, 409, "Container %s is not running", c->id);
      return;
    }
  int fd = monitor_attach_connect (cs, c, MONITOR_ATTACH_RESIZE, &err);
  if (fd < 0)
    {
      api_respond_error (req, err);
      return;
    }
  uint8_t sz[4] = { (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8), (uint8_t)w };
  fs_write_all (fd, sz, 4);
  close (fd);
  api_respond_empty (req, 200);
}
