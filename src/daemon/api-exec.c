/* exec: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked, tty or
 * not, or detached), GET /exec/{id}/json, POST /exec/{id}/resize. The
 * process belongs to the container's monitor (monitor.h), so that it
 * outlives berthd as the container does: the start writes the record, asks
 * the monitor and relays its stream; exec-record.c learns the end. */
#include "daemon/exec-internal.h"
#include "daemon/logs.h"
#include "daemon/monitor.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

/* ------------------------------------------------------------- create -- */

void api_exec_create (struct api_request *req);

void
api_exec_create (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  json_t *body = api_request_json (req, &err);
  if (body == NULL || !json_is_object (body))
    {
      if (err)
        api_respond_error (req, err);
      else
        api_respond_errorf (req, 400, "exec: the request body must be a JSON object");
      return;
    }
  json_t *cmd = json_object_get (body, "Cmd");
  if (!json_is_array (cmd) || json_array_size (cmd) == 0)
    {
      api_respond_errorf (req, 400, "No exec command specified");
      return;
    }
  size_t i;
  json_t *a;
  json_array_foreach (cmd, i, a) if (!json_is_string (a))
  {
    api_respond_errorf (req, 400, "Cmd[%zu]: must be a string", i);
    return;
  }
  static const char *const bools[]
      = { "Tty", "AttachStdin", "AttachStdout", "AttachStderr", "Privileged", "Detach", NULL };
  for (const char *const *b = bools; *b; b++)
    {
      json_t *v = json_object_get (body, *b);
      if (v && !json_is_null (v) && !json_is_boolean (v))
        {
          api_respond_errorf (req, 400, "%s: must be a boolean", *b);
          return;
        }
    }
  json_t *env = json_object_get (body, "Env");
  if (env && !json_is_null (env) && !json_is_array (env))
    {
      api_respond_errorf (req, 400, "Env: must be an array of strings");
      return;
    }
  const char *wd = str_of (body, "WorkingDir");
  if (*wd && wd[0] != '/')
    {
      api_respond_errorf (req, 400, "WorkingDir: must be an absolute path");
      return;
    }
  if (c->state.status == CONTAINER_PAUSED)
    {
      /* dockerd names the container as the client did here */
      api_respond_errorf (req, 409, "Container %s is paused, unpause the container before exec",
                          api_request_param (req, "id"));
      return;
    }
  if (container_can_exec (c, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  struct exec_instance *e = calloc (1, sizeof *e);
  random_id_hex (e->id);
  memcpy (e->container_id, c->id, sizeof e->container_id);
  e->config = json_deep_copy (body);
  e->watch_fd = -1;
  e->cs = cs;
  cs->execs = realloc (cs->execs, (cs->n_execs + 1) * sizeof *cs->execs);
  cs->execs[cs->n_execs++] = e;
  exec_event (e, "exec_create", NULL);
  api_respond_json (req, 201, json_pack ("{s:s}", "Id", e->id));
}

static json_t *
exec_process (struct exec_instance *e, struct container *c, bool tty, struct berth_error **err)
{
  json_t *env = json_array ();
  bool has_path = false;
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (c->config, "Env"), i, v)
  {
    has_path |= str_has_prefix (json_string_value (v), "PATH=");
    json_array_append (env, v);
  }
  json_array_foreach (json_object_get (e->config, "Env"), i, v) if (json_is_string (v))
  {
    has_path |= str_has_prefix (json_string_value (v), "PATH=");
    json_array_append (env, v);
  }
  if (!has_path)
    json_array_insert_new (
        env, 0, json_string ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  if (tty)
    json_array_append_new (env, json_string ("TERM=xterm"));
  const char *wd = *str_of (e->config, "WorkingDir") ? str_of (e->config, "WorkingDir")
                                                     : str_of (c->config, "WorkingDir");
  json_t *p = json_pack ("{s:b,s:O,s:o,s:s}", "terminal", tty, "args",
                         json_object_get (e->config, "Cmd"), "env", env, "cwd", *wd ? wd : "/");
  const char *user
      = *str_of (e->config, "User") ? str_of (e->config, "User") : str_of (c->config, "User");
  _cleanup_close_ int rootfd = c->rootfs ? open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (rootfd >= 0)
    {
      uid_t uid;
      gid_t gid;
      _cleanup_free_ gid_t *gids = NULL;
      size_t n = 0;
      if (container_user_resolve (rootfd, user, NULL, &uid, &gid, &gids, &n, err) < 0)
        {
          json_decref (p);
          return NULL;
        }
      json_t *u = json_pack ("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
      if (n)
        {
          json_t *g = json_array ();
          for (size_t k = 0; k < n; k++)
            json_array_append_new (g, json_integer (gids[k]));
          json_object_set_new (u, "additionalGids", g);
        }
      json_object_set_new (p, "user", u);
    }
  if (json_is_true (json_object_get (e->config, "Privileged")))
    {
      _cleanup_json_ json_t *hc = json_pack ("{s:b}", "Privileged", 1);
      _cleanup_strv_ char **caps = container_caps_compute (hc, NULL);
      json_t *cv = json_array ();
      for (char **cp = caps; cp && *cp; cp++)
        json_array_append_new (cv, json_string (*cp));
      json_object_set_new (
          p, "capabilities",
          json_pack ("{s:O,s:O,s:O}", "bounding", cv, "effective", cv, "permitted", cv));
      json_decref (cv);
    }
  return p;
}


/* -------------------------------------------------------------- start -- */

/* A start on its way: the monitor answers "pid <n>" once its helper made
 * the process (milliseconds, but the loop does not wait for them). */
struct exec_start_ctx
{
  struct exec_instance *e;
  bool tty;
  uint8_t flags; /* MONITOR_EXEC_* */
  json_t *body;
  json_t *rec; /* execs/<exec-id>.json as written */
  int fd; /* the monitor connection */
  struct loop_fd *w;
  struct loop_timer *timeout; /* a monitor that never answers */
  char answer[512];
  size_t n_answer;
  struct api_hijack *h;     /* attached: the client's connection */
  struct api_request *req;  /* detached: answered when the process runs */
};

static void
exec_start_ctx_free (struct exec_start_ctx *x)
{
  if (x->w)
    loop_fd_remove (x->w);
  if (x->timeout)
    loop_timer_cancel (x->timeout);
  if (x->fd >= 0)
    close (x->fd);
  if (x->e && x->e->pending == x)
    x->e->pending = NULL;
  json_decref (x->body);
  json_decref (x->rec);
  free (x);
}

static void
exec_start_abort (void *data)
{
  exec_start_ctx_free (data);
}

/* Record the exec (the monitor's helper reads the process from it, a
 * restarted berthd the rest) and ask the monitor to run it. */
static int
exec_start_send (struct containers *cs, struct exec_start_ctx *x, struct berth_error **err)
{
  struct exec_instance *e = x->e;
  struct container *c = containers_lookup (cs, e->container_id, err);
  if (c == NULL || container_can_exec (c, err) < 0)
    return -1;
  e->started = true;
  e->tty = x->tty;
  _cleanup_json_ json_t *process = exec_process (e, c, x->tty, err);
  if (process == NULL)
    return -1;
  _cleanup_close_ int dfd = execs_dir_open (cs, c, err);
  if (dfd < 0)
    {
      /* a monitor of a berth before exec moved into monitors makes none */
      berth_error_freep (err);
      return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                   "container %.12s was started by an older berth-monitor that "
                                   "cannot run exec processes: restart the container",
                                   c->id);
    }
  _cleanup_free_ char *name = xasprintf ("%s.json", e->id);
  _cleanup_json_ json_t *rec
      = json_pack ("{s:s,s:O,s:O,s:I}", "ID", e->id, "Config", e->config, "Process", process,
                   "ContainerStartedNs", (json_int_t)c->state.started_ns);
  if (exec_record_save (dfd, e->id, rec, err) < 0)
    return -1;
  x->rec = json_incref (rec);
  unsigned rows = e->resize_rows, cols = e->resize_cols;
  json_t *size = json_object_get (x->body, "ConsoleSize");
  if (json_array_size (size) == 2 && json_integer_value (json_array_get (size, 0)) > 0)
    {
      rows = (unsigned)json_integer_value (json_array_get (size, 0));
      cols = (unsigned)json_integer_value (json_array_get (size, 1));
    }
  x->fd = monitor_exec_call (e, c, 'S', x->flags, rows, cols, NULL, 0, err);
  if (x->fd < 0)
    {
      unlinkat (dfd, name, 0);
      return -1;
    }
  fcntl (x->fd, F_SETFL, fcntl (x->fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

/* The monitor's answer: the process runs (record its pid) or could not
 * be made (docker's exit codes 126/127 and "OCI runtime exec failed"). */
static int
exec_start_result (struct exec_start_ctx *x, struct berth_error **err)
{
  struct exec_instance *e = x->e;
  struct container *c = containers_lookup (e->cs, e->container_id, NULL);
  _cleanup_close_ int dfd = c ? execs_dir_open (e->cs, c, NULL) : -1;
  _cleanup_free_ char *name = xasprintf ("%s.json", e->id);
  if (!str_has_prefix (x->answer, "pid ") || atoi (x->answer + 4) <= 0)
    {
      if (*err == NULL)
        berth_error_set (err, 0, "%s",
                         str_has_prefix (x->answer, "error ") ? x->answer + 6
                         : x->n_answer ? x->answer
                                       : "the container's monitor did not answer");
      if (dfd >= 0)
        unlinkat (dfd, name, 0);
      e->exited = true;
      /* docker: 127 for a command not found, 126 when it cannot be run;
       * either is the request's fault (400), as dockerd answers */
      bool not_found = strstr ((*err)->msg, "No such file") || strstr ((*err)->msg, "not found");
      e->exit_code = not_found ? 127 : 126;
      if (not_found || strstr ((*err)->msg, "Permission denied"))
        (*err)->kind = BERTH_E_INVALID;
      return berth_error_prefix (err, "OCI runtime exec failed");
    }
  e->pid = (pid_t)atoi (x->answer + 4);
  e->running = true;
  if (e->tty && e->resize_rows > 0 && c)
    {
      _cleanup_error_ struct berth_error *ignored = NULL;
      monitor_exec_call (e, c, 'R', 0, e->resize_rows, e->resize_cols, NULL, 0, &ignored);
    }
  if (dfd >= 0 && x->rec)
    {
      /* the pid of an exec that ends while berthd is away */
      json_object_set_new (x->rec, "Pid", json_integer (e->pid));
      _cleanup_error_ struct berth_error *ignored = NULL;
      exec_record_save (dfd, e->id, x->rec, &ignored);
    }
  exec_event (e, "exec_start", NULL);
  return 0;
}

static void
exec_relay_done (void *data)
{
  struct exec_instance *e = data;
  e->relay = NULL;
  if (!e->running)
    return;
  /* the stream ended: at the exit (recorded before the monitor closed it)
   * or because the client left (the process runs on: watch it) */
  struct container *c = containers_lookup (e->cs, e->container_id, NULL);
  if (c && exec_read_exit (e, c) >= 0)
    exec_ended (e);
  else
    exec_watch (e, c);
}

/* dockerd writes a failed attached start into the stream (after its
 * 101): the message and "\r\n", as stdout. */
static void
exec_stream_error (struct relay *r, bool tty, const char *text)
{
  _cleanup_free_ char *msg = xasprintf ("%s\r\n", text);
  if (!tty)
    {
      uint8_t hdr[8];
      logs_frame_header (hdr, LOG_STREAM_STDOUT, (uint32_t)strlen (msg));
      relay_queue (r, hdr, 8);
    }
  relay_queue (r, msg, strlen (msg));
  relay_start (r); /* no source: the relay flushes and closes */
}

/* Attached: relay the client and the monitor's stream; a failure to start
 * is written into the stream. */
static void
exec_start_attached (struct exec_start_ctx *x, int rc, struct berth_error *err)
{
  struct exec_instance *e = x->e;
  if (rc < 0)
    {
      struct relay_options eo = { .tty = x->tty };
      struct relay *r = relay_new (e->cs, x->h, &eo);
      exec_start_ctx_free (x);
      exec_stream_error (r, eo.tty, err->msg);
      return;
    }
  bool attach_stdin = json_is_true (json_object_get (e->config, "AttachStdin"));
  /* the monitor frames the output as on attach */
  struct relay_options o = { .tty = x->tty,
                             .want_stdin = attach_stdin,
                             .end_on_stdin_eof = attach_stdin && x->tty,
                             .detach_keys = str_of (e->config, "DetachKeys"),
                             .on_done = exec_relay_done,
                             .done_data = e };
  struct relay *r = relay_new (e->cs, x->h, &o);
  e->relay = r;
  if (attach_stdin)
    relay_set_sink (r, dup (x->fd), true);
  relay_add_source (r, x->fd, 1); /* the relay's now */
  x->fd = -1;
  exec_start_ctx_free (x);
  relay_start (r);
}

static void
exec_start_detached (struct exec_start_ctx *x, int rc, struct berth_error *err)
{
  struct exec_instance *e = x->e;
  struct api_request *req = x->req;
  if (rc == 0)
    {
      e->watch_fd = x->fd;
      x->fd = -1;
      e->w = loop_fd_add (e->cs->d->loop, e->watch_fd, EPOLLIN, exec_watch_ready, e, NULL);
      if (e->w == NULL)
        exec_unwatch (e);
    }
  exec_start_ctx_free (x);
  if (rc < 0)
    api_respond_error (req, err);
  else
    api_respond_empty (req, 200);
}

static void
exec_start_finish (struct exec_start_ctx *x, int rc, struct berth_error *err)
{
  if (x->w)
    loop_fd_remove (x->w);
  x->w = NULL;
  if (x->timeout)
    loop_timer_cancel (x->timeout);
  x->timeout = NULL;
  if (x->h)
    exec_start_attached (x, rc, err);
  else
    exec_start_detached (x, rc, err);
}

static void
exec_start_answer (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct exec_start_ctx *x = data;
  _cleanup_error_ struct berth_error *err = NULL;
  for (;;)
    {
      char ch;
      ssize_t n = read (fd, &ch, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0 || ch == '\n' || x->n_answer + 1 >= sizeof x->answer)
        break;
      x->answer[x->n_answer++] = ch;
    }
  x->answer[x->n_answer] = '\0';
  int rc = exec_start_result (x, &err);
  exec_start_finish (x, rc, err);
}

#define EXEC_START_TIMEOUT_MS 30000

static void
exec_start_timed_out (void *data)
{
  struct exec_start_ctx *x = data;
  x->timeout = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  berth_error_set (&err, ETIMEDOUT, "the container's monitor did not start the process within %d s",
                   EXEC_START_TIMEOUT_MS / 1000);
  x->e->pending = NULL;
  int rc = exec_start_result (x, &err);
  exec_start_finish (x, rc, err);
}

/* Ask the monitor; the rest happens when it answers. */
static void
exec_start_begin (struct exec_start_ctx *x)
{
  struct exec_instance *e = x->e;
  _cleanup_error_ struct berth_error *err = NULL;
  if (exec_start_send (e->cs, x, &err) == 0)
    {
      x->w = loop_fd_add (e->cs->d->loop, x->fd, EPOLLIN, exec_start_answer, x, &err);
      if (x->w)
        {
          e->pending = x;
          x->timeout = loop_timer_add (e->cs->d->loop, EXEC_START_TIMEOUT_MS, exec_start_timed_out, x);
          return;
        }
    }
  e->exited = true;
  e->exit_code = 126;
  berth_error_prefix (&err, "OCI runtime exec failed");
  exec_start_finish (x, -1, err);
}

/* The client holds the hijacked connection (its 101 is on the wire): only
 * now the process runs, as dockerd does, so its first output never rides
 * in the same segment as the response head (a client that reads the head
 * through a buffered reader, docker-py, would swallow it). */
static void
exec_start_ready (struct api_hijack *h, void *data)
{
  struct exec_start_ctx *x = data;
  x->h = h;
  exec_start_begin (x);
}

/* The exec goes away (its container was removed) while its start waits. */
void
exec_start_cancel (struct exec_start_ctx *x)
{
  _cleanup_error_ struct berth_error *err = NULL;
  berth_error_set_kind (&err, BERTH_E_NOT_FOUND, 0, "No such exec instance: %s", x->e->id);
  x->e->pending = NULL;
  x->e = NULL;
  if (x->w)
    loop_fd_remove (x->w);
  x->w = NULL;
  if (x->h)
    api_hijack_close (x->h);
  else
    api_respond_error (x->req, err);
  exec_start_ctx_free (x);
}

/* A start refused once the exec was found (already run, container not
 * running): dockerd hijacks an attached start first, then writes the
 * error into the stream; a detached one gets the error's status. */
struct exec_refusal
{
  struct containers *cs;
  bool tty;
  char *msg;
};

static void
exec_refusal_free (void *data)
{
  struct exec_refusal *f = data;
  free (f->msg);
  free (f);
}

static void
exec_refusal_ready (struct api_hijack *h, void *data)
{
  struct exec_refusal *f = data;
  struct relay_options o = { .tty = f->tty };
  exec_stream_error (relay_new (f->cs, h, &o), f->tty, f->msg);
  exec_refusal_free (f);
}

static void
exec_start_refuse (struct api_request *req, struct containers *cs, bool detach, bool tty,
                   struct berth_error *err)
{
  if (detach)
    {
      api_respond_error (req, err);
      return;
    }
  struct exec_refusal *f = calloc (1, sizeof *f);
  if (f == NULL)
    abort ();
  *f = (struct exec_refusal){ .cs = cs, .tty = tty, .msg = xstrdup (err->msg) };
  api_respond_hijack (req, !tty, exec_refusal_ready, exec_refusal_free, f);
}

void api_exec_start (struct api_request *req);

void
api_exec_start (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct exec_instance *e = exec_find (cs, api_request_param (req, "id"));
  if (e == NULL)
    {
      api_respond_errorf (req, 404, "No such exec instance: %s", api_request_param (req, "id"));
      return;
    }
  json_t *body = api_request_json (req, &err);
  if (err)
    {
      api_respond_error (req, err);
      return;
    }
  bool detach = json_is_true (json_object_get (body, "Detach"));
  bool tty = json_is_true (json_object_get (e->config, "Tty"))
             || json_is_true (json_object_get (body, "Tty"));
  if (e->started)
    {
      berth_error_set_kind (&err, BERTH_E_CONFLICT, 0, "Error: Exec command %s has already run",
                            e->id);
      exec_start_refuse (req, cs, detach, tty, err);
      return;
    }
  struct container *c = containers_lookup (cs, e->container_id, &err);
  if (c == NULL || container_can_exec (c, &err) < 0)
    {
      exec_start_refuse (req, cs, detach, tty, err);
      return;
    }
  struct exec_start_ctx *x = calloc (1, sizeof *x);
  if (x == NULL)
    abort ();
  x->e = e;
  x->tty = tty;
  x->fd = -1;
  x->body = json_is_object (body) ? json_incref (body) : json_object ();
  e->started = true; /* a second start is a 409 even before the process runs */
  if (detach)
    {
      /* no stdio, or a terminal nobody reads; the connection tells us
       * the end. The answer waits for the process. */
      x->flags = tty ? MONITOR_EXEC_TTY : 0;
      x->req = req;
      exec_start_begin (x);
      return;
    }
  x->flags = (uint8_t)((tty ? MONITOR_EXEC_TTY : 0)
                       | (json_is_true (json_object_get (e->config, "AttachStdin"))
                              ? MONITOR_EXEC_STDIN
                              : 0)
                       | (json_is_true (json_object_get (e->config, "AttachStdout"))
                              ? MONITOR_EXEC_STDOUT
                              : 0)
                       | (json_is_true (json_object_get (e->config, "AttachStderr"))
                              ? MONITOR_EXEC_STDERR
                              : 0));
  api_respond_hijack (req, !tty, exec_start_ready, exec_start_abort, x);
}

/* ------------------------------------------------------ inspect/resize -- */

void api_exec_inspect (struct api_request *req);

void
api_exec_inspect (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  struct exec_instance *e = exec_find (cs, api_request_param (req, "id"));
  if (e == NULL)
    {
      api_respond_errorf (req, 404, "No such exec instance: %s", api_request_param (req, "id"));
      return;
    }
  json_t *cmd = json_object_get (e->config, "Cmd");
  json_t *args = json_array ();
  for (size_t i = 1; i < json_array_size (cmd); i++)
    json_array_append (args, json_array_get (cmd, i));
  json_t *pc = json_pack (
      "{s:b,s:s,s:o,s:b}", "tty", json_is_true (json_object_get (e->config, "Tty")), "entrypoint",
      json_string_value (json_array_get (cmd, 0)), "arguments", args, "privileged",
      json_is_true (json_object_get (e->config, "Privileged")));
  /* docker's omitempty */
  if (*str_of (e->config, "User"))
    json_object_set_new (pc, "user", json_string (str_of (e->config, "User")));
  json_t *j = json_pack (
      "{s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID", e->id, "Running", e->running,
      "ExitCode", e->exited ? json_integer (e->exit_code) : json_null (), "ProcessConfig", pc,
      "OpenStdin", json_is_true (json_object_get (e->config, "AttachStdin")), "OpenStderr",
      json_is_true (json_object_get (e->config, "AttachStderr")), "OpenStdout",
      json_is_true (json_object_get (e->config, "AttachStdout")), "CanRemove", false, "ContainerID",
      e->container_id, "DetachKeys", str_of (e->config, "DetachKeys"), "Pid", (int)e->pid);
  api_respond_json (req, 200, j);
}

void api_exec_resize (struct api_request *req);

void
api_exec_resize (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct exec_instance *e = exec_find (cs, api_request_param (req, "id"));
  if (e == NULL)
    {
      api_respond_errorf (req, 404, "No such exec instance: %s", api_request_param (req, "id"));
      return;
    }
  long long h = 0, w = 0;
  if (api_request_query_int (req, "h", 0, &h, &err) < 0
      || api_request_query_int (req, "w", 0, &w, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  if (e->started && !e->running && !e->exited && h > 0 && w > 0)
    {
      /* still starting (the CLI resizes right after the hijack) */
      e->resize_rows = (unsigned)h;
      e->resize_cols = (unsigned)w;
      api_respond_empty (req, 200);
      return;
    }
  if (!e->tty || !e->running)
    {
      api_respond_errorf (req, 409, "exec %s has no terminal or is not running", e->id);
      return;
    }
  struct container *c = containers_lookup (cs, e->container_id, &err);
  if (c == NULL
      || monitor_exec_call (e, c, 'R', 0, (unsigned)h, (unsigned)w, NULL, 0, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  api_respond_empty (req, 200);
}
