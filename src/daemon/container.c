/* Container records: docker's state machine and its 409 messages, and
 * crash-safe persistence under <data-root>/containers/<id>/ (config.v2.json
 * + hostconfig.json, each written temp + fsync + rename). */
#include "daemon/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
  [CONTAINER_CREATED] = "created",   [CONTAINER_RUNNING] = "running",
  [CONTAINER_PAUSED] = "paused",     [CONTAINER_RESTARTING] = "restarting",
  [CONTAINER_REMOVING] = "removing", [CONTAINER_EXITED] = "exited",
  [CONTAINER_DEAD] = "dead",
};

const char *
container_status_name (enum container_status s)
{
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

int
container_status_parse (const char *name, enum container_status *s)
{
  for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
    if (strcmp (status_names[i], name) == 0)
      {
        *s = (enum container_status)i;
        return 0;
      }
  return -1;
}

static int conflict (struct berth_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
conflict (struct berth_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "%s", msg ? msg : "conflict");
}

bool
container_is_running (const struct container *c)
{
  return c->state.status == CONTAINER_RUNNING || c->state.status == CONTAINER_PAUSED
         || c->state.status == CONTAINER_RESTARTING;
}

int
container_can_start (const struct container *c, struct berth_error **err)
{
  switch (c->state.status)
    {
    case CONTAINER_PAUSED:
      return conflict (err, "cannot start a paused container, try unpause instead");
    case CONTAINER_RUNNING:
    case CONTAINER_RESTARTING:
      return berth_error_set_kind (err, BERTH_E_NOT_MODIFIED, 0, "container already started");
    case CONTAINER_REMOVING:
    case CONTAINER_DEAD:
      return conflict (err, "container is marked for removal and cannot be started");
    default:
      return 0;
    }
}

int
container_can_pause (const struct container *c, struct berth_error **err)
{
  switch (c->state.status)
    {
    case CONTAINER_RUNNING:
      return 0;
    case CONTAINER_PAUSED:
      return conflict (err, "Container %s is already paused", c->id);
    case CONTAINER_RESTARTING:
      return conflict (err, "Container %s is restarting, wait until the container is running",
                       c->id);
    default:
      return conflict (err, "Container %s is not running", c->id);
    }
}

int
container_can_unpause (const struct container *c, struct berth_error **err)
{
  if (c->state.status != CONTAINER_PAUSED)
    return conflict (err, "Container %s is not paused", c->id);
  return 0;
}

int
container_can_exec (const struct container *c, struct berth_error **err)
{
  switch (c->state.status)
    {
    case CONTAINER_RUNNING:
      return 0;
    case CONTAINER_PAUSED:
      return conflict (err, "Container %s is paused, unpause the container before exec", c->id);
    case CONTAINER_RESTARTING:
      return conflict (err, "Container %s is restarting, wait until the container is running",
                       c->id);
    default:
      return conflict (err, "Container %s is not running", c->id);
    }
}

int
container_can_remove (const struct container *c, bool force, struct berth_error **err)
{
  if (c->state.status == CONTAINER_REMOVING)
    return conflict (err, "removal of container %s is already in progress", c->id);
  if (force)
    return 0;
  switch (c->state.status)
    {
    case CONTAINER_RUNNING:
      return conflict (err,
                       "You cannot remove a running container %s. Stop the container before "
                       "attempting removal or force remove",
                       c->id);
    case CONTAINER_PAUSED:
      return conflict (err,
                       "You cannot remove a paused container %s. Unpause and then stop the "
                       "container before attempting removal or force remove",
                       c->id);
    case CONTAINER_RESTARTING:
      return conflict (err,
                       "You cannot remove a restarting container %s. Stop the container before "
                       "attempting removal or force remove",
                       c->id);
    default:
      return 0;
    }
}

void
container_set_running (struct container *c, pid_t pid, pid_t monitor_pid, uint64_t now_ns)
{
  c->state.status = CONTAINER_RUNNING;
  c->state.pid = pid;
  c->state.monitor_pid = monitor_pid;
  c->state.exit_code = 0;
  free (c->state.error);
  c->state.error = NULL;
  c->state.oom_killed = false;
  c->state.has_been_started = true;
  c->state.started_ns = now_ns;
  if (c->state.health.status)
    {
      free (c->state.health.status);
      c->state.health.status = xstrdup ("starting");
      c->state.health.failing_streak = 0;
    }
}

void
container_set_exited (struct container *c, int exit_code, bool oom_killed, uint64_t now_ns)
{
  c->state.status = CONTAINER_EXITED;
  c->state.pid = 0;
  c->state.monitor_pid = 0;
  c->state.exit_code = exit_code;
  c->state.oom_killed = oom_killed;
  c->state.finished_ns = now_ns;
  if (c->state.health.status)
    {
      free (c->state.health.status);
      c->state.health.status = xstrdup ("unhealthy");
    }
}

void
container_set_paused (struct container *c, bool paused)
{
  c->state.status = paused ? CONTAINER_PAUSED : CONTAINER_RUNNING;
}

/* --------------------------------------------------------- lifecycle -- */

struct container *
container_new (void)
{
  struct container *c = calloc (1, sizeof *c);
  if (c == NULL)
    abort ();
  c->dirfd = -1;
  return c;
}

void
container_free (struct container *c)
{
  if (c == NULL)
    return;
  free (c->name);
  json_decref (c->config);
  json_decref (c->host_config);
  json_decref (c->networking);
  json_decref (c->mounts);
  free (c->image_ref);
  free (c->image_id);
  free (c->path);
  strv_freep (&c->args);
  free (c->rootfs);
  free (c->log_path);
  free (c->state.error);
  free (c->state.health.status);
  json_decref (c->state.health.log);
  if (c->dirfd >= 0)
    close (c->dirfd);
  free (c);
}

/* ------------------------------------------------------------ times -- */

json_t *
container_time_json (uint64_t ns)
{
  if (ns == 0)
    return json_string ("0001-01-01T00:00:00Z");
  struct timespec ts
      = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
  _cleanup_free_ char *s = time_format_rfc3339nano (&ts);
  return json_string (s);
}

static uint64_t
time_from_json (const json_t *j)
{
  struct timespec ts;
  if (!json_is_string (j) || str_has_prefix (json_string_value (j), "0001-")
      || time_parse_rfc3339 (json_string_value (j), &ts) < 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static json_t *
health_json (const struct container_health *h)
{
  return json_pack ("{s:s,s:i,s:O}", "Status", h->status, "FailingStreak", h->failing_streak, "Log",
                    h->log ? h->log : json_array ());
}

json_t *
container_state_json (const struct container_state *s)
{
  json_t *j = json_pack (
      "{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:o,s:o}", "Status", container_status_name (s->status),
      "Running", s->status == CONTAINER_RUNNING || s->status == CONTAINER_PAUSED, "Paused",
      s->status == CONTAINER_PAUSED, "Restarting", s->status == CONTAINER_RESTARTING, "OOMKilled",
      s->oom_killed, "Dead", s->status == CONTAINER_DEAD, "Pid", (int)s->pid, "ExitCode",
      s->exit_code, "Error", s->error ? s->error : "", "StartedAt",
      container_time_json (s->started_ns), "FinishedAt", container_time_json (s->finished_ns));
  if (s->health.status)
    {
      json_t *h = health_json (&s->health);
      json_object_set_new (j, "Health", h);
    }
  return j;
}

json_t *
container_to_json (const struct container *c)
{
  json_t *args = json_array ();
  for (char **a = c->args; a && *a; a++)
    json_array_append_new (args, json_string (*a));
  json_t *st = container_state_json (&c->state);
  json_object_set_new (st, "MonitorPid", json_integer (c->state.monitor_pid));
  json_object_set_new (st, "HasBeenStarted", json_boolean (c->state.has_been_started));
  json_object_set_new (st, "HasBeenManuallyStopped",
                       json_boolean (c->state.has_been_manually_stopped));
  return json_pack ("{s:s,s:s,s:o,s:s,s:o,s:O,s:s,s:s,s:o,s:i,s:s?,s:s?,s:O,s:O}", "ID", c->id,
                    "Name", c->name, "Created", container_time_json (c->created_ns), "Path",
                    c->path, "Args", args, "Config", c->config, "Image", c->image_id, "ImageRef",
                    c->image_ref, "State", st, "RestartCount", c->restart_count, "Rootfs",
                    c->rootfs, "LogPath", c->log_path, "NetworkingConfig",
                    c->networking ? c->networking : json_null (), "MountPoints",
                    c->mounts ? c->mounts : json_null ());
}

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

struct container *
container_from_json (const json_t *j, struct berth_error **err)
{
  _cleanup_container_ struct container *c = container_new ();
  const char *id = str_of (j, "ID");
  const char *name = str_of (j, "Name");
  const char *path = str_of (j, "Path");
  json_t *state = json_object_get (j, "State");
  if (id == NULL || strlen (id) != SHA256_HEX_LEN || name == NULL || path == NULL
      || !json_is_object (state) || !json_is_object (json_object_get (j, "Config")))
    {
      berth_error_set (err, 0, "container record: missing ID, Name, Path, Config or State");
      return NULL;
    }
  memcpy (c->id, id, SHA256_HEX_LEN + 1);
  c->name = xstrdup (name);
  c->path = xstrdup (path);
  c->config = json_incref (json_object_get (j, "Config"));
  json_t *nc = json_object_get (j, "NetworkingConfig");
  c->networking = json_is_object (nc) ? json_incref (nc) : json_object ();
  json_t *mp = json_object_get (j, "MountPoints");
  c->mounts = json_is_array (mp) ? json_incref (mp) : json_array ();
  c->image_id = xstrdup (str_of (j, "Image") ? str_of (j, "Image") : "");
  c->image_ref = xstrdup (str_of (j, "ImageRef") ? str_of (j, "ImageRef") : c->image_id);
  if (str_of (j, "Rootfs"))
    c->rootfs = xstrdup (str_of (j, "Rootfs"));
  if (str_of (j, "LogPath"))
    c->log_path = xstrdup (str_of (j, "LogPath"));
  c->created_ns = time_from_json (json_object_get (j, "Created"));
  c->restart_count = (int)json_integer_value (json_object_get (j, "RestartCount"));
  size_t i;
  json_t *a;
  c->args = calloc (1, sizeof (char *));
  json_array_foreach (json_object_get (j, "Args"), i, a)
      strv_append (&c->args, json_string_value (a));

  struct container_state *s = &c->state;
  if (container_status_parse (str_of (state, "Status") ? str_of (state, "Status") : "", &s->status)
      < 0)
    s->status = CONTAINER_EXITED;
  s->pid = (pid_t)json_integer_value (json_object_get (state, "Pid"));
  s->monitor_pid = (pid_t)json_integer_value (json_object_get (state, "MonitorPid"));
  s->exit_code = (int)json_integer_value (json_object_get (state, "ExitCode"));
  const char *e = str_of (state, "Error");
  s->error = e && *e ? xstrdup (e) : NULL;
  s->oom_killed = json_is_true (json_object_get (state, "OOMKilled"));
  s->has_been_started = json_is_true (json_object_get (state, "HasBeenStarted"));
  s->has_been_manually_stopped = json_is_true (json_object_get (state, "HasBeenManuallyStopped"));
  s->started_ns = time_from_json (json_object_get (state, "StartedAt"));
  s->finished_ns = time_from_json (json_object_get (state, "FinishedAt"));
  json_t *h = json_object_get (state, "Health");
  if (json_is_object (h))
    {
      s->health.status = xstrdup (str_of (h, "Status") ? str_of (h, "Status") : "starting");
      s->health.failing_streak = (int)json_integer_value (json_object_get (h, "FailingStreak"));
      json_t *log = json_object_get (h, "Log");
      s->health.log = json_is_array (log) ? json_incref (log) : json_array ();
    }
  return steal_pointer (&c);
}

int
container_save (struct container *c, struct berth_error **err)
{
  _cleanup_json_ json_t *j = container_to_json (c);
  /* hostconfig first: a crash between the two writes leaves a record
   * whose config.v2.json is the older one, never a missing hostconfig.
   * It only changes on create and update: state saves skip it. */
  /* The content is synced before each rename, the directory is not (as
   * docker's atomic writer): a power loss that undoes a rename brings back
   * the record before it, and what changes between saves is the state,
   * which the next start reconciles with what runs (nothing, then). */
  if (!c->host_config_saved
      && json_save_atomic_flags (c->dirfd, "hostconfig.json", c->host_config,
                                 FS_ATOMIC_NO_DIR_SYNC, err)
             < 0)
    return berth_error_prefix (err, "save container %.12s", c->id);
  c->host_config_saved = true;
  /* A container removed at its exit (--rm) never outlives a power loss:
   * nothing runs after one, and its synced hostconfig.json tells the next
   * start to finish the removal when this file came back unreadable
   * (container_remove_lost). Its state saves skip the fsync. */
  unsigned flags = FS_ATOMIC_NO_DIR_SYNC;
  if (json_is_true (json_object_get (c->host_config, "AutoRemove")))
    flags |= FS_ATOMIC_NO_SYNC;
  if (json_save_atomic_flags (c->dirfd, "config.v2.json", j, flags, err) < 0)
    return berth_error_prefix (err, "save container %.12s", c->id);
  c->saves++;
  return 0;
}

int
container_save_as_running (struct container *c, pid_t pid, pid_t monitor_pid,
                           bool manually_stopped, uint64_t now_ns, struct berth_error **err)
{
  /* the state set_running makes, on a copy that owns its strings */
  struct container_state keep = c->state;
  c->state.error = NULL;
  c->state.health.status = keep.health.status ? xstrdup (keep.health.status) : NULL;
  container_set_running (c, pid, monitor_pid, now_ns);
  c->state.has_been_manually_stopped = manually_stopped;
  int r = container_save (c, err);
  free (c->state.health.status);
  c->state = keep;
  return r;
}

int
container_write_file_volatile (int dirfd, const char *name, const void *data, size_t len,
                               struct berth_error **err)
{
  char tmp[256];
  snprintf (tmp, sizeof tmp, ".%s.tmp", name);
  _cleanup_close_ int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_set (err, errno, "create %s", tmp);
  if (fs_write_all (fd, data, len) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return berth_error_set (err, saved, "write %s", name);
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return berth_error_set (err, saved, "rename %s", name);
    }
  return 0;
}

struct container *
container_load (int containers_dirfd, const char *id, struct berth_error **err)
{
  _cleanup_close_ int dfd = openat (containers_dirfd, id, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      berth_error_set (err, errno, "open container dir %s", id);
      return NULL;
    }
  _cleanup_json_ json_t *j = json_load_path (dfd, "config.v2.json", err);
  if (j == NULL)
    return NULL;
  _cleanup_json_ json_t *hc = json_load_path (dfd, "hostconfig.json", err);
  if (hc == NULL)
    return NULL;
  struct container *c = container_from_json (j, err);
  if (c == NULL)
    return NULL;
  if (strcmp (c->id, id) != 0)
    {
      container_free (c);
      berth_error_set (err, 0, "container record %s names another id", id);
      return NULL;
    }
  c->host_config = json_incref (hc);
  c->host_config_saved = true;
  c->dirfd = steal_fd (&dfd);
  return c;
}

/* ---------------------------------------------------------- shapes -- */

char *
duration_human (uint64_t ns)
{
  /* docker's go-units HumanDuration */
  uint64_t s = ns / 1000000000ull;
  if (s < 1)
    return xstrdup ("Less than a second");
  if (s == 1)
    return xstrdup ("1 second");
  if (s < 60)
    return xasprintf ("%llu seconds", (unsigned long long)s);
  uint64_t m = s / 60;
  if (m == 1)
    return xstrdup ("About a minute");
  if (m < 60)
    return xasprintf ("%llu minutes", (unsigned long long)m);
  uint64_t h = (uint64_t)((double)s / 3600 + 0.5);
  if (h == 1)
    return xstrdup ("About an hour");
  if (h < 48)
    return xasprintf ("%llu hours", (unsigned long long)h);
  if (h < 24 * 7 * 2)
    return xasprintf ("%llu days", (unsigned long long)(h / 24));
  if (h < 24 * 30 * 2)
    return xasprintf ("%llu weeks", (unsigned long long)(h / 24 / 7));
  if (h < 24 * 365 * 2)
    return xasprintf ("%llu months", (unsigned long long)(h / 24 / 30));
  return xasprintf ("%llu years", (unsigned long long)(h / 24 / 365));
}

char *
container_status_text (const struct container *c, uint64_t now_ns)
{
  const struct container_state *s = &c->state;
  _cleanup_free_ char *d = NULL;
  switch (s->status)
    {
    case CONTAINER_RUNNING:
    case CONTAINER_PAUSED:
      d = duration_human (now_ns > s->started_ns ? now_ns - s->started_ns : 0);
      if (s->status == CONTAINER_PAUSED)
        return xasprintf ("Up %s (Paused)", d);
      if (s->health.status)
        return xasprintf ("Up %s (%s)", d,
                          strcmp (s->health.status, "starting") == 0 ? "health: starting"
                                                                     : s->health.status);
      return xasprintf ("Up %s", d);
    case CONTAINER_RESTARTING:
      d = duration_human (now_ns > s->finished_ns ? now_ns - s->finished_ns : 0);
      return xasprintf ("Restarting (%d) %s ago", s->exit_code, d);
    case CONTAINER_REMOVING:
      return xstrdup ("Removal In Progress");
    case CONTAINER_DEAD:
      return xstrdup ("Dead");
    case CONTAINER_CREATED:
      return xstrdup ("Created");
    case CONTAINER_EXITED:
      if (s->finished_ns == 0)
        return xstrdup ("Created");
      d = duration_human (now_ns > s->finished_ns ? now_ns - s->finished_ns : 0);
      return xasprintf ("Exited (%d) %s ago", s->exit_code, d);
    }
  return xstrdup ("");
}
