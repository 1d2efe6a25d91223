/* exec: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked, tty or
 * not, or detached), GET /exec/{id}/json, POST /exec/{id}/resize. berthd
 * starts the process through the runtime library (it joins the container's
 * namespaces and cgroup), holds its pipes or pty and reaps it via a pidfd. */
#include "daemon/containers-internal.h"
#include "daemon/logs.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

struct exec_instance
{
  char id[SHA256_HEX_LEN + 1];
  char container_id[SHA256_HEX_LEN + 1];
  json_t *config;
  bool running, started, exited;
  int exit_code;
  pid_t pid;
  int pidfd;
  struct loop_fd *w;
  int pty_master;
  struct relay *relay;
  struct containers *cs;
};

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

static struct exec_instance *
exec_find (struct containers *cs, const char *id)
{
  for (size_t i = 0; i < cs->n_execs; i++)
    if (strcmp (cs->execs[i]->id, id) == 0)
      return cs->execs[i];
  return NULL;
}

json_t *
exec_ids_of (struct containers *cs, const struct container *c)
{
  json_t *out = json_array ();
  for (size_t i = 0; i < cs->n_execs; i++)
    if (strcmp (cs->execs[i]->container_id, c->id) == 0)
      json_array_append_new (out, json_string (cs->execs[i]->id));
  return out;
}

static char *
exec_command (const struct exec_instance *e)
{
  _cleanup_strv_ char **v = NULL;
  size_t i;
  json_t *a;
  json_array_foreach (json_object_get (e->config, "Cmd"), i, a)
      strv_append (&v, json_string_value (a));
  return v ? strv_join (v, " ") : xstrdup ("");
}

static void
exec_event (struct exec_instance *e, const char *action, json_t *extra)
{
  struct container *c = containers_lookup (e->cs, e->container_id, NULL);
  if (c == NULL)
    {
      json_decref (extra);
      return;
    }
  _cleanup_free_ char *cmd = exec_command (e);
  _cleanup_free_ char *a = xasprintf ("%s: %s", action, cmd);
  json_t *attrs = extra ? extra : json_object ();
  json_object_set_new (attrs, "execID", json_string (e->id));
  container_event (c, a, attrs);
}

static void
exec_free (struct exec_instance *e)
{
  if (e->w)
    loop_fd_remove (e->w);
  if (e->pidfd >= 0)
    {
      /* still running (container removed with it): reap what is left */
      siginfo_t si;
      waitid (P_PIDFD, (id_t) e->pidfd, &si, WEXITED | WNOHANG);
      close (e->pidfd);
    }
  if (e->relay)
    relay_abort (e->relay);
  json_decref (e->config);
  free (e);
}

void
exec_forget_container (struct containers *cs, const char *container_id)
{
  for (size_t i = cs->n_execs; i-- > 0;)
    if (strcmp (cs->execs[i]->container_id, container_id) == 0)
      {
        struct exec_instance *e = cs->execs[i];
        cs->execs[i] = cs->execs[--cs->n_execs];
        exec_free (e);
      }
}

void
exec_free_all (struct containers *cs)
{
  while (cs->n_execs > 0)
    exec_free (cs->execs[--cs->n_execs]);
  free (cs->execs);
  cs->execs = NULL;
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
  if (container_can_exec (c, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  struct exec_instance *e = calloc (1, sizeof *e);
  random_id_hex (e->id);
  memcpy (e->container_id, c->id, sizeof e->container_id);
  e->config = json_deep_copy (body);
  e->pidfd = e->pty_master = -1;
  e->cs = cs;
  cs->execs = realloc (cs->execs, (cs->n_execs + 1) * sizeof *cs->execs);
  cs->execs[cs->n_execs++] = e;
  exec_event (e, "exec_create", NULL);
  api_respond_json (req, 201, json_pack ("{s:s}", "Id", e->id));
}

/* -------------------------------------------------------------- start -- */

static void
exec_exited (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct exec_instance *e = data;
  siginfo_t si = { 0 };
  /* readable means exited; the runtime made it our child, so we reap it */
  if (waitid (P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
    e->exit_code = 255;
  else
    e->exit_code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
  e->running = false;
  e->exited = true;
  loop_fd_remove (e->w);
  e->w = NULL;
  close (e->pidfd);
  e->pidfd = -1;
  _cleanup_free_ char *code = xasprintf ("%d", e->exit_code);
  exec_event (e, "exec_die", json_pack ("{s:s}", "exitCode", code));
  if (e->relay)
    relay_release (e->relay);
}

static void
exec_relay_done (void *data)
{
  struct exec_instance *e = data;
  e->relay = NULL;
  if (e->pty_master >= 0 && !e->running)
    {
      e->pty_master = -1; /* closed by the relay */
    }
}

static int
recv_fd (int sock)
{
  char dummy[64];
  struct iovec iov = { .iov_base = dummy, .iov_len = sizeof dummy };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) < 0)
    return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR (&msg);
  if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (cm), sizeof fd);
  return fd;
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

struct exec_start_ctx
{
  struct exec_instance *e;
  int ours[3];   /* our ends: stdin (write), stdout (read), stderr (read) */
  int theirs[3]; /* the process's ends (-1: /dev/null) */
  int console_ours, console_theirs; /* tty: the runtime sends the pty master */
  bool tty;
  json_t *body;
};

static void
exec_start_ctx_free (struct exec_start_ctx *x)
{
  for (int i = 0; i < 3; i++)
    {
      if (x->ours[i] >= 0)
        close (x->ours[i]);
      if (x->theirs[i] >= 0)
        close (x->theirs[i]);
    }
  if (x->console_ours >= 0)
    close (x->console_ours);
  if (x->console_theirs >= 0)
    close (x->console_theirs);
  json_decref (x->body);
  free (x);
}

static void
exec_start_abort (void *data)
{
  exec_start_ctx_free (data);
}

/* Run the exec'd process (the stdio pipes or the console socket are in
 * x). Our ends stay in x->ours for the caller. */
static int
exec_spawn (struct containers *cs, struct exec_start_ctx *x, struct berth_error **err)
{
  struct exec_instance *e = x->e;
  struct container *c = containers_lookup (cs, e->container_id, err);
  if (c == NULL || container_can_exec (c, err) < 0)
    return -1;
  _cleanup_json_ json_t *process = exec_process (e, c, x->tty, err);
  if (process == NULL)
    return -1;
  _cleanup_close_ int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  struct runtime_exec_options opts = { .id = c->id,
                                       .process = process,
                                       .console_socket_fd = x->console_theirs,
                                       .stdio_fds = { -1, -1, -1 } };
  if (x->console_theirs < 0)
    for (int i = 0; i < 3; i++)
      opts.stdio_fds[i] = x->theirs[i] >= 0 ? x->theirs[i] : null_fd;
  e->started = true;
  int rc = runtime_container_exec (&cs->rt, &opts, &e->pid, err);
  for (int i = 0; i < 3; i++)
    if (x->theirs[i] >= 0)
      close (x->theirs[i]);
  x->theirs[0] = x->theirs[1] = x->theirs[2] = -1;
  if (x->console_theirs >= 0)
    close (x->console_theirs);
  x->console_theirs = -1;
  if (rc < 0)
    {
      e->exited = true;
      e->exit_code
          = strstr ((*err)->msg, "No such file") || strstr ((*err)->msg, "not found") ? 127 : 126;
      return berth_error_prefix (err, "OCI runtime exec failed");
    }
  if (x->console_ours >= 0)
    {
      int master = recv_fd (x->console_ours);
      x->ours[1] = master;
      e->pty_master = master;
      json_t *size = json_object_get (x->body, "ConsoleSize");
      if (master >= 0 && json_array_size (size) == 2
          && json_integer_value (json_array_get (size, 0)) > 0)
        {
          struct winsize ws
              = { .ws_row = (unsigned short)json_integer_value (json_array_get (size, 0)),
                  .ws_col = (unsigned short)json_integer_value (json_array_get (size, 1)) };
          ioctl (master, TIOCSWINSZ, &ws);
        }
    }
  e->running = true;
  e->pidfd = (int)syscall (SYS_pidfd_open, e->pid, 0);
  e->w = e->pidfd >= 0 ? loop_fd_add (cs->d->loop, e->pidfd, EPOLLIN, exec_exited, e, NULL) : NULL;
  exec_event (e, "exec_start", NULL);
  return 0;
}

/* The client holds the hijacked connection (its 101 is on the wire): only
 * now the process runs, as dockerd does, so its first output never rides
 * in the same segment as the response head (a client that reads the head
 * through a buffered reader, docker-py, would swallow it). A failure to
 * start is written into the stream, as dockerd does. */
static void
exec_start_ready (struct api_hijack *h, void *data)
{
  struct exec_start_ctx *x = data;
  struct exec_instance *e = x->e;
  struct containers *cs = e->cs;
  _cleanup_error_ struct berth_error *err = NULL;
  int rc = exec_spawn (cs, x, &err);
  bool attach_stdin = json_is_true (json_object_get (e->config, "AttachStdin"));
  struct relay_options o = { .tty = x->tty,
                             .frame_sources = !x->tty,
                             .want_stdin = attach_stdin && rc == 0,
                             .detach_keys = str_of (e->config, "DetachKeys"),
                             .hold = e->running,
                             .on_done = exec_relay_done,
                             .done_data = e };
  struct relay *r = relay_new (cs, h, &o);
  if (rc < 0)
    {
      _cleanup_free_ char *msg = xasprintf ("%s\r\n", err->msg);
      if (!x->tty)
        {
          uint8_t hdr[8];
          logs_frame_header (hdr, LOG_STREAM_STDOUT, (uint32_t)strlen (msg));
          relay_queue (r, hdr, 8);
        }
      relay_queue (r, msg, strlen (msg));
      exec_start_ctx_free (x);
      relay_start (r);
      return;
    }
  e->relay = r;
  if (x->tty)
    {
      relay_set_sink (r, dup (x->ours[1]), false);
      relay_add_source (r, x->ours[1], 1);
    }
  else
    {
      if (x->ours[0] >= 0)
        relay_set_sink (r, x->ours[0], false);
      if (x->ours[1] >= 0)
        relay_add_source (r, x->ours[1], 1);
      if (x->ours[2] >= 0)
        relay_add_source (r, x->ours[2], 2);
    }
  x->ours[0] = x->ours[1] = x->ours[2] = -1; /* the relay's now */
  exec_start_ctx_free (x);
  relay_start (r);
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
  if (e->started)
    {
      api_respond_errorf (req, 409, "Error: Exec command %s has already run", e->id);
      return;
    }
  struct container *c = containers_lookup (cs, e->container_id, &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  if (container_can_exec (c, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  bool detach = json_is_true (json_object_get (body, "Detach"));
  bool tty = json_is_true (json_object_get (e->config, "Tty"))
             || json_is_true (json_object_get (body, "Tty"));
  bool in = json_is_true (json_object_get (e->config, "AttachStdin")) && !detach;
  bool out = json_is_true (json_object_get (e->config, "AttachStdout")) && !detach;
  bool errs = json_is_true (json_object_get (e->config, "AttachStderr")) && !detach;

  struct exec_start_ctx *x = calloc (1, sizeof *x);
  if (x == NULL)
    abort ();
  x->e = e;
  x->tty = tty;
  x->body = json_is_object (body) ? json_incref (body) : json_object ();
  x->console_ours = x->console_theirs = -1;
  for (int i = 0; i < 3; i++)
    x->ours[i] = x->theirs[i] = -1;
  if (tty && !detach)
    {
      int sp[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0)
        x->console_ours = sp[0], x->console_theirs = sp[1];
    }
  else
    {
      int p[2];
      if (in && pipe2 (p, O_CLOEXEC) == 0)
        x->theirs[0] = p[0], x->ours[0] = p[1];
      if (out && pipe2 (p, O_CLOEXEC) == 0)
        x->ours[1] = p[0], x->theirs[1] = p[1];
      if (errs && pipe2 (p, O_CLOEXEC) == 0)
        x->ours[2] = p[0], x->theirs[2] = p[1];
    }
  if (detach)
    {
      int rc = exec_spawn (cs, x, &err);
      exec_start_ctx_free (x);
      if (rc < 0)
        return api_respond_error (req, err);
      api_respond_empty (req, 200);
      return;
    }
  e->started = true; /* a second start is a 409 even before the process runs */
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
      "{s:b,s:s,s:o,s:b,s:s}", "tty", json_is_true (json_object_get (e->config, "Tty")),
      "entrypoint", json_string_value (json_array_get (cmd, 0)), "arguments", args, "privileged",
      json_is_true (json_object_get (e->config, "Privileged")), "user", str_of (e->config, "User"));
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
  if (e->pty_master < 0 || !e->running)
    {
      api_respond_errorf (req, 409, "exec %s has no terminal or is not running", e->id);
      return;
    }
  struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };
  ioctl (e->pty_master, TIOCSWINSZ, &ws);
  api_respond_empty (req, 200);
}
