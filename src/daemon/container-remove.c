/* Removing a container (answered once its record is renamed away; the
 * veths, snapshot, runtime state and directories are released after) and
 * live restore when berthd starts: finish the removals and creates a kill
 * left, reattach to the monitors that still run, or record the exits that
 * happened while it was away. */
#include "daemon/containers-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daemon/volumes.h"
#include "network/network.h"
#include "image/image.h"

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

/* ------------------------------------------------------------ remove -- */

/* A removal answers as soon as the container is gone from the API (docker
 * run --rm waits for exactly that); what takes time — the snapshot's
 * unmount (overlayfs syncs the upper filesystem there), the cgroups, the
 * directories — runs afterwards on a worker. The commit point is the
 * rename of the record's directory to .rm-<id>: a berthd killed after it
 * finishes the job at its next start (containers_sweep_removed), and
 * before it the container simply still exists. */
struct remove_job
{
  struct containers *cs;
  char id[SHA256_HEX_LEN + 1];
  char **links; /* host ends of its veths, released already */
};

static void
remove_files (struct containers *cs, const char *id)
{
  _cleanup_error_ struct berth_error *err = NULL;
  if (cs->d->images && image_snapshot_remove (cs->d->images, id, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "remove container %.12s: snapshot: %s", id, err->msg);
  berth_error_freep (&err);
  if (runtime_container_delete (&cs->rt, id, true, &err) < 0)
    {
      if (err->kind != BERTH_E_NOT_FOUND)
        berth_log (BERTH_LOG_WARNING, "remove container %.12s: %s", id, err->msg);
      else
        {
          /* a delete cut short by a kill -9 after its state.json went (its
           * cgroups went before): the directory is what is left */
          _cleanup_close_ int state_root = open (cs->state_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
          berth_error_freep (&err);
          if (state_root >= 0)
            fs_rm_rf_at (state_root, id, &err);
        }
    }
  berth_error_freep (&err);
  _cleanup_close_ int exec_root = open (cs->exec_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (exec_root >= 0)
    fs_rm_rf_at (exec_root, id, &err);
  berth_error_freep (&err);
  char trash[SHA256_HEX_LEN + 8];
  snprintf (trash, sizeof trash, ".rm-%s", id);
  if (fs_rm_rf_at (cs->dirfd, trash, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "remove container %.12s: %s", id, err->msg);
}

/* On a worker: the veths (deleting one waits for the kernel's RCU grace
 * periods, tens of milliseconds under load), then the files. */
static void
remove_job_work (void *arg)
{
  struct remove_job *j = arg;
  for (char **l = j->links; l && *l; l++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      if (network_link_delete (*l, &err) < 0)
        berth_log (BERTH_LOG_WARNING, "remove container %.12s: %s", j->id, err->msg);
    }
  remove_files (j->cs, j->id);
  pthread_mutex_lock (&j->cs->removals_mu);
  j->cs->n_removals--;
  pthread_cond_broadcast (&j->cs->removals_cond);
  pthread_mutex_unlock (&j->cs->removals_mu);
}

static void
remove_job_free (void *arg)
{
  struct remove_job *j = arg;
  strv_freep (&j->links);
  free (j);
}

/* The loop's part, after the answers went out. */
static void
remove_job_run (void *arg)
{
  struct remove_job *j = arg;
  struct containers *cs = j->cs;
  for (size_t i = 0; i < cs->n_pending_removals; i++)
    if (cs->pending_removals[i] == j)
      {
        cs->pending_removals[i] = cs->pending_removals[--cs->n_pending_removals];
        break;
      }
  pthread_mutex_lock (&cs->removals_mu);
  cs->n_removals++;
  pthread_mutex_unlock (&cs->removals_mu);
  _cleanup_error_ struct berth_error *err = NULL;
  if (loop_worker_submit (cs->d->loop, remove_job_work, remove_job_free, j, &err) < 0)
    {
      remove_job_work (j); /* no worker: do it here */
      remove_job_free (j);
    }
}

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
  char trash[SHA256_HEX_LEN + 8];
  snprintf (trash, sizeof trash, ".rm-%s", c->id);
  if (renameat (cs->dirfd, c->id, cs->dirfd, trash) < 0)
    {
      berth_error_set (err, errno, "rename %s/%s", cs->data_dir, c->id);
      c->state.status = CONTAINER_DEAD;
      free (c->state.error);
      c->state.error = xstrdup ((*err)->msg);
      container_save (c, NULL);
      return berth_error_prefix (err, "unable to remove filesystem for %s", c->id);
    }
  struct remove_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->cs = cs;
  snprintf (j->id, sizeof j->id, "%s", c->id);
  /* Its addresses, published ports and names go before the answer, as
   * docker's do: `rm -f x && run -p <same port>` and `network rm` right
   * after must work. Only deleting the veths waits for the worker. */
  if (container_network_hooks.release)
    j->links = container_network_hooks.release (cs->d, c);
  /* dockerd's order: network disconnect, volume unmount, volume destroy */
  container_volume_events (c, false);
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
  struct remove_job **v
      = realloc (cs->pending_removals, (cs->n_pending_removals + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  cs->pending_removals = v;
  v[cs->n_pending_removals++] = j;
  loop_post (cs->d->loop, remove_job_run, j);
  container_event (c, "destroy", NULL);
  exec_forget_container (cs, c->id, false);
  waiters_notify (c, WAIT_REMOVED, NULL);
  containers_forget (cs, c);
  return 0;
}

void
containers_removals_finish (struct containers *cs)
{
  /* posted but not run (the loop stopped): run them here; their network
   * records are released at the next start (cleanup_orphans) */
  while (cs->n_pending_removals > 0)
    {
      struct remove_job *j = cs->pending_removals[--cs->n_pending_removals];
      pthread_mutex_lock (&cs->removals_mu);
      cs->n_removals++;
      pthread_mutex_unlock (&cs->removals_mu);
      remove_job_work (j);
      remove_job_free (j);
    }
  free (cs->pending_removals);
  cs->pending_removals = NULL;
  pthread_mutex_lock (&cs->removals_mu);
  while (cs->n_removals > 0)
    pthread_cond_wait (&cs->removals_cond, &cs->removals_mu);
  pthread_mutex_unlock (&cs->removals_mu);
}

void
containers_sweep_removed (struct containers *cs)
{
  _cleanup_close_ int dfd = openat (cs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fdopendir (steal_fd (&dfd));
  if (dir == NULL)
    return;
  _cleanup_strv_ char **ids = NULL, **unfinished = NULL;
  struct dirent *de;
  while ((de = readdir (dir)))
    if (str_has_prefix (de->d_name, ".rm-") && strlen (de->d_name) == 4 + SHA256_HEX_LEN)
      strv_append (&ids, de->d_name + 4);
    else if (str_has_prefix (de->d_name, ".new-") && strlen (de->d_name) == 5 + SHA256_HEX_LEN)
      strv_append (&unfinished, de->d_name + 5);
  closedir (dir);
  /* a create that never finished: its record never appeared */
  for (char **id = unfinished; id && *id; id++)
    {
      char from[SHA256_HEX_LEN + 8], to[SHA256_HEX_LEN + 8];
      snprintf (from, sizeof from, ".new-%s", *id);
      snprintf (to, sizeof to, ".rm-%s", *id);
      if (renameat (cs->dirfd, from, cs->dirfd, to) == 0)
        strv_append (&ids, *id);
    }
  for (char **id = ids; id && *id; id++)
    {
      berth_log (BERTH_LOG_INFO, "containers: finishing the removal of %.12s", *id);
      remove_files (cs, *id);
    }
}

/* A record that cannot be read whose synced hostconfig.json says
 * AutoRemove: its config.v2.json is saved without fsync (container_save),
 * so a power loss may leave it empty or torn; a container removed at its
 * exit did not survive the power loss, so its removal finishes here. Any
 * other unreadable record is kept (returns false). */
bool
container_remove_lost (struct containers *cs, const char *id)
{
  _cleanup_close_ int dfd = openat (cs->dirfd, id, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return false;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *hc = json_load_path (dfd, "hostconfig.json", &err);
  if (hc == NULL || !json_is_true (json_object_get (hc, "AutoRemove")))
    return false;
  _cleanup_json_ json_t *j = json_load_path (dfd, "config.v2.json", &err);
  /* unreadable means lost content (no file, not JSON, not a record), not
   * an error reading it */
  if (j == NULL && err->errnum != ENOENT && err->kind != BERTH_E_INVALID)
    return false;
  if (j != NULL)
    {
      _cleanup_container_ struct container *c = container_from_json (j, &err);
      if (c != NULL)
        return false;
    }
  char trash[SHA256_HEX_LEN + 8];
  snprintf (trash, sizeof trash, ".rm-%s", id);
  if (renameat (cs->dirfd, id, cs->dirfd, trash) < 0)
    return false;
  berth_log (BERTH_LOG_WARNING,
             "containers: %.12s was removed at its exit (--rm) and its record was lost "
             "(%s): finishing its removal",
             id, err ? err->msg : "unreadable");
  remove_files (cs, id);
  return true;
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
  /* a power loss soon after the create may have lost the snapshot's
   * meta.json (written without fsync): the record names its image */
  if (cs->d->images)
    {
      _cleanup_error_ struct berth_error *serr = NULL;
      if (image_snapshot_repair (cs->d->images, c->id, *c->image_id ? c->image_id : NULL, &serr)
          < 0)
        berth_log (BERTH_LOG_WARNING, "restore %.12s: %s", c->id, serr->msg);
    }
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
  /* its start sent "volume mount": its exit sends the unmount */
  container_rt (c)->volumes_mounted = s != CONTAINER_RESTARTING;
  container_rt (c)->predefined_net_joined = s != CONTAINER_RESTARTING;
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
  berth_log (BERTH_LOG_DEBUG, "restore: container %.12s: monitor %d is gone", c->id,
             (int)c->state.monitor_pid);
  container_monitor_exited (cs, c);
}
