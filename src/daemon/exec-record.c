/* Exec instances as berthd keeps them (see exec-internal.h): lookup,
 * events, free; the execs/<id> record the monitor shares; the monitor
 * calls; the watch of a running exec (its connection's EOF is the exit)
 * and live restore of the execs of a container's current run. */
#include "daemon/exec-internal.h"
#include "daemon/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

struct exec_instance *
exec_find (struct containers *cs, const char *id)
{
  for (size_t i = 0; i < cs->n_execs; i++)
    if (strcmp (cs->execs[i]->id, id) == 0)
      return cs->execs[i];
  return NULL;
}

/* dockerd's container keeps the execs that did not end: one that exited
 * stays inspectable (GET /exec/<id>/json) but leaves ExecIDs, and a
 * stopped container has none */
json_t *
exec_ids_of (struct containers *cs, const struct container *c)
{
  json_t *out = json_array ();
  if (c->state.status != CONTAINER_RUNNING && c->state.status != CONTAINER_PAUSED)
    return out;
  for (size_t i = 0; i < cs->n_execs; i++)
    if (strcmp (cs->execs[i]->container_id, c->id) == 0 && !cs->execs[i]->exited)
      json_array_append_new (out, json_string (cs->execs[i]->id));
  return out;
}

/* docker's "<entrypoint> <args joined>": the space stays when there are
 * no arguments ("exec_create: true "). */
static char *
exec_command (const struct exec_instance *e)
{
  json_t *cmd = json_object_get (e->config, "Cmd");
  _cleanup_strv_ char **args = NULL;
  for (size_t i = 1; i < json_array_size (cmd); i++)
    strv_append (&args, json_string_value (json_array_get (cmd, i)));
  _cleanup_free_ char *joined = strv_join (args, " ");
  const char *entry = json_string_value (json_array_get (cmd, 0));
  return xasprintf ("%s %s", entry ? entry : "", joined);
}

void
exec_event (struct exec_instance *e, const char *action, json_t *extra)
{
  struct container *c = containers_lookup (e->cs, e->container_id, NULL);
  if (c == NULL)
    {
      json_decref (extra);
      return;
    }
  /* exec_die names no command */
  _cleanup_free_ char *cmd = strcmp (action, "exec_die") != 0 ? exec_command (e) : NULL;
  _cleanup_free_ char *a = cmd ? xasprintf ("%s: %s", action, cmd) : xstrdup (action);
  json_t *attrs = extra ? extra : json_object ();
  json_object_set_new (attrs, "execID", json_string (e->id));
  container_event (c, a, attrs);
}

void
exec_unwatch (struct exec_instance *e)
{
  if (e->w)
    loop_fd_remove (e->w);
  e->w = NULL;
  if (e->watch_fd >= 0)
    close (e->watch_fd);
  e->watch_fd = -1;
}

static void
exec_free (struct exec_instance *e)
{
  if (e->pending)
    exec_start_cancel (e->pending);
  exec_unwatch (e);
  if (e->relay)
    {
      struct relay *r = e->relay;
      e->relay = NULL;
      e->running = false; /* nothing to learn any more (exec_relay_done) */
      relay_abort (r);
    }
  json_decref (e->config);
  free (e);
}

void
exec_forget_container (struct containers *cs, const char *container_id, bool only_unstarted)
{
  for (size_t i = cs->n_execs; i-- > 0;)
    if (strcmp (cs->execs[i]->container_id, container_id) == 0
        && (!only_unstarted || !cs->execs[i]->started))
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


/* ------------------------------------------------------ the monitor -- */

int
execs_dir_open (struct containers *cs, const struct container *c, struct berth_error **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/%s/" MONITOR_EXEC_DIR, cs->exec_dir, c->id);
  int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open %s", dir);
  return fd;
}

/* The code the monitor recorded, -1 when there is none (yet). */
int
exec_read_exit (struct exec_instance *e, struct container *c)
{
  _cleanup_close_ int dfd = execs_dir_open (e->cs, c, NULL);
  _cleanup_free_ char *name = xasprintf ("%s.exit", e->id);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (dfd < 0 || fs_read_file (dfd, name, &data, &len, NULL) < 0 || len == 0)
    return -1;
  return atoi (data);
}

void
exec_ended (struct exec_instance *e)
{
  exec_unwatch (e);
  if (!e->running)
    return;
  struct container *c = containers_lookup (e->cs, e->container_id, NULL);
  int code = c ? exec_read_exit (e, c) : -1;
  e->running = false;
  e->exited = true;
  /* no record: the monitor died with it */
  e->exit_code = code >= 0 ? code : 255;
  _cleanup_free_ char *s = xasprintf ("%d", e->exit_code);
  exec_event (e, "exec_die", json_pack ("{s:s}", "exitCode", s));
}

void
exec_watch_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct exec_instance *e = data;
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    exec_ended (e); /* the monitor closes once the exit is recorded */
}

/* One request on a new connection to the monitor, and its answer line. */
int
monitor_exec_call (struct exec_instance *e, struct container *c, uint8_t op, uint8_t flags,
                   unsigned rows, unsigned cols, char *answer, size_t answer_len,
                   struct berth_error **err)
{
  _cleanup_close_ int fd = monitor_attach_connect (e->cs, c, MONITOR_EXEC, err);
  if (fd < 0)
    return -1;
  struct monitor_exec_request rq = { .op = op,
                                     .flags = flags,
                                     .rows = { (uint8_t)(rows >> 8), (uint8_t)rows },
                                     .cols = { (uint8_t)(cols >> 8), (uint8_t)cols } };
  memcpy (rq.id, e->id, sizeof rq.id);
  if (fs_write_all (fd, &rq, sizeof rq) < 0)
    return berth_error_set (err, errno, "exec request to the monitor of %.12s", c->id);
  if (op == 'R')
    return 0;
  if (op == 'S')
    return steal_fd (&fd); /* the answer comes once the process runs: read
                              it in the loop (exec_start_answer) */
  /* byte by byte: a stream may follow the line */
  struct timeval tv = { .tv_sec = 30 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t n = 0;
  while (n + 1 < answer_len)
    {
      ssize_t r = read (fd, answer + n, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return berth_error_set (err, r < 0 ? errno : EPIPE, "the monitor of %.12s did not answer",
                                c->id);
      if (answer[n] == '\n')
        break;
      n++;
    }
  answer[n] = '\0';
  tv.tv_sec = 0;
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return steal_fd (&fd);
}

/* Wait for the end of a running exec through a watch connection. */
void
exec_watch (struct exec_instance *e, struct container *c)
{
  char answer[512];
  _cleanup_error_ struct berth_error *err = NULL;
  int fd = c ? monitor_exec_call (e, c, 'W', 0, 0, 0, answer, sizeof answer, &err) : -1;
  if (fd >= 0 && str_has_prefix (answer, "pid "))
    {
      e->pid = (pid_t)atoi (answer + 4);
      e->watch_fd = fd;
      e->w = loop_fd_add (e->cs->d->loop, fd, EPOLLIN, exec_watch_ready, e, NULL);
      if (e->w)
        return;
    }
  if (fd >= 0 && e->watch_fd != fd)
    close (fd);
  exec_ended (e); /* gone already: its record says how */
}

int
exec_record_save (int dfd, const char *exec_id, const json_t *rec, struct berth_error **err)
{
  _cleanup_free_ char *name = xasprintf ("%s.json", exec_id);
  _cleanup_free_ char *text = json_dumps (rec, JSON_COMPACT);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize %s", name);
  return container_write_file_volatile (dfd, name, text, strlen (text), err);
}

/* ---------------------------------------------------------- restore -- */

/* berthd (re)started with c running: learn the execs its monitor has run
 * since the container started (those of earlier runs are history). */
void
exec_restore (struct containers *cs, struct container *c)
{
  _cleanup_close_ int dfd = execs_dir_open (cs, c, NULL);
  if (dfd < 0)
    return;
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  struct dirent *de;
  while ((de = readdir (dir)) != NULL)
    {
      size_t len = strlen (de->d_name);
      if (len != SHA256_HEX_LEN + 5 || !str_has_suffix (de->d_name, ".json"))
        continue;
      _cleanup_json_ json_t *rec = json_load_path (dfd, de->d_name, NULL);
      const char *id = json_string_value (json_object_get (rec, "ID"));
      json_int_t started = json_integer_value (json_object_get (rec, "ContainerStartedNs"));
      if (id == NULL || strlen (id) != SHA256_HEX_LEN || exec_find (cs, id)
          || (uint64_t)started != c->state.started_ns)
        continue;
      struct exec_instance *e = calloc (1, sizeof *e);
      if (e == NULL)
        abort ();
      memcpy (e->id, id, sizeof e->id);
      memcpy (e->container_id, c->id, sizeof e->container_id);
      e->config = json_incref (json_object_get (rec, "Config"));
      e->tty = json_is_true (json_object_get (json_object_get (rec, "Process"), "terminal"));
      e->pid = (pid_t)json_integer_value (json_object_get (rec, "Pid"));
      e->watch_fd = -1;
      e->cs = cs;
      e->started = e->running = true;
      cs->execs = realloc (cs->execs, (cs->n_execs + 1) * sizeof *cs->execs);
      cs->execs[cs->n_execs++] = e;
      int code = exec_read_exit (e, c);
      if (code >= 0)
        {
          /* ended while berthd was away */
          e->running = false;
          e->exited = true;
          e->exit_code = code;
        }
      else
        exec_watch (e, c);
    }
  closedir (dir);
}
