/* Removing a container (snapshot, volumes, runtime state, directories,
 * `destroy`) and live restore when berthd starts: reattach to the monitors
 * that still run, or record the exits that happened while it was away. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "daemon/volumes.h"
#include "image/image.h"

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

/* ------------------------------------------------------------ remove -- */

int
container_remove (struct containers *cs, struct container *c, bool remove_volumes,
                  struct berth_error **err)
{
  struct container_rt *rt = container_rt (c);
  c->state.status = CONTAINER_REMOVING;
  rt->remove_requested = true;
  if (rt->restart_timer)
    loop_timer_cancel (rt->restart_timer);
  rt->restart_timer = NULL;
  health_stop (c);
  if (cs->d->images && image_snapshot_remove (cs->d->images, c->id, err) < 0)
    {
      c->state.status = CONTAINER_DEAD;
      free (c->state.error);
      c->state.error = xstrdup ((*err)->msg);
      container_save (c, NULL);
      return berth_error_prefix (err, "unable to remove filesystem for %s", c->id);
    }
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m)
  {
    if (strcmp (str_of (m, "Type"), "volume") != 0)
      continue;
    const char *name = str_of (m, "Name");
    volume_unref (cs->d, name, c->id);
    if (remove_volumes && json_is_true (json_object_get (m, "Anonymous")))
      {
        _cleanup_error_ struct berth_error *verr = NULL;
        if (volume_remove (cs->d, name, false, &verr) < 0)
          berth_log (BERTH_LOG_WARNING, "remove volume %s: %s", name, verr->msg);
      }
  }
  _cleanup_error_ struct berth_error *ignored = NULL;
  runtime_container_delete (&cs->rt, c->id, true, &ignored);
  _cleanup_close_ int exec_root = open (cs->exec_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  berth_error_freep (&ignored);
  if (exec_root >= 0)
    fs_rm_rf_at (exec_root, c->id, &ignored);
  berth_error_freep (&ignored);
  if (fs_rm_rf_at (cs->dirfd, c->id, err) < 0)
    return berth_error_prefix (err, "remove container %.12s", c->id);
  container_event (c, "destroy", NULL);
  exec_forget_container (cs, c->id);
  waiters_notify (c, WAIT_REMOVED, NULL);
  containers_forget (cs, c);
  return 0;
}

/* ----------------------------------------------------------- restore -- */

/* Is pid the monitor of this container (and not a recycled pid)? */
static bool
is_our_monitor (struct containers *cs, const struct container *c, pid_t pid)
{
  if (pid <= 0)
    return false;
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
  _cleanup_free_ char *cmd = NULL;
  size_t len = 0;
  if (fs_read_file (AT_FDCWD, path, &cmd, &len, NULL) < 0)
    return false;
  /* argv[1] is the exec dir, which ends in the container id */
  size_t first = strlen (cmd);
  if (first + 1 >= len)
    return false;
  return str_has_suffix (cmd + first + 1, c->id);
}

void
container_restore (struct containers *cs, struct container *c)
{
  /* the volume store keeps references in memory only: declare ours */
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m) if (strcmp (str_of (m, "Type"), "volume") == 0)
  {
    _cleanup_error_ struct berth_error *err = NULL;
    volume_ref (cs->d, str_of (m, "Name"), c->id, &err);
  }
  enum container_status s = c->state.status;
  if (s != CONTAINER_RUNNING && s != CONTAINER_PAUSED && s != CONTAINER_RESTARTING)
    return;
  if (s != CONTAINER_RESTARTING && is_our_monitor (cs, c, c->state.monitor_pid))
    {
      berth_log (BERTH_LOG_INFO, "live restore: container %.12s (monitor %d)", c->id,
                 (int)c->state.monitor_pid);
      container_watch_monitor (cs, c, c->state.monitor_pid);
      exec_restore (cs, c);
      if (!cs->d->config.live_restore)
        {
          /* dockerd without live restore stops what a crash left running */
          _cleanup_error_ struct berth_error *err = NULL;
          if (container_stop (cs, c, -1, NULL, &err) < 0)
            berth_log (BERTH_LOG_WARNING, "restore %.12s: %s", c->id, err->msg);
          return;
        }
      if (c->state.status == CONTAINER_RUNNING)
        health_start (cs, c);
      return;
    }
  if (s == CONTAINER_RESTARTING)
    {
      c->state.status = CONTAINER_EXITED;
      _cleanup_error_ struct berth_error *err = NULL;
      if (container_start (cs, c, &err) < 0)
        berth_log (BERTH_LOG_WARNING, "restore %.12s: %s", c->id, err->msg);
      return;
    }
  /* the monitor finished (or was killed) while berthd was away */
  container_monitor_exited (cs, c);
}
