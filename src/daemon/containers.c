/* The containers module of berthd: its state, loading every record at
 * start and reattaching to the monitors of running containers (live
 * restore), name/id/prefix resolution, waiters, events and the counts the
 * core asks for (/info, /system/df, image removal). */
#include "daemon/containers-internal.h"
#include "daemon/daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

struct container_network_hooks container_network_hooks;

struct containers *
containers_get (struct berthd *d)
{
  return d ? d->containers_state : NULL;
}

struct container_rt *
container_rt (struct container *c)
{
  return c->daemon_data;
}

/* ------------------------------------------------------------- lookup -- */

struct container *
containers_find_by_name (struct containers *cs, const char *name)
{
  const char *bare = name[0] == '/' ? name + 1 : name;
  for (size_t i = 0; i < cs->n_all; i++)
    if (strcmp (cs->all[i]->name + 1, bare) == 0)
      return cs->all[i];
  return NULL;
}

struct container *
containers_lookup (struct containers *cs, const char *ref, struct berth_error **err)
{
  if (ref == NULL || *ref == '\0')
    {
      berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such container: %s", ref ? ref : "");
      return NULL;
    }
  /* docker's order: full id, then name, then a unique id prefix */
  for (size_t i = 0; i < cs->n_all; i++)
    if (strcmp (cs->all[i]->id, ref) == 0)
      return cs->all[i];
  struct container *c = containers_find_by_name (cs, ref);
  if (c)
    return c;
  struct container *found = NULL;
  size_t len = strlen (ref);
  for (size_t i = 0; i < cs->n_all; i++)
    if (strncmp (cs->all[i]->id, ref, len) == 0)
      {
        if (found)
          {
            berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                  "Multiple IDs found with provided prefix: %s", ref);
            return NULL;
          }
        found = cs->all[i];
      }
  if (found == NULL)
    berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such container: %s", ref);
  return found;
}

void
containers_add (struct containers *cs, struct container *c)
{
  cs->all = realloc (cs->all, (cs->n_all + 1) * sizeof *cs->all);
  if (cs->all == NULL)
    abort ();
  cs->all[cs->n_all++] = c;
  struct container_rt *rt = calloc (1, sizeof *rt);
  if (rt == NULL)
    abort ();
  rt->cs = cs;
  rt->c = c;
  rt->pidfd = rt->sync_fd = rt->health_pidfd = rt->health_out_fd = -1;
  c->daemon_data = rt;
}

/* Free what the daemon holds for c, and c itself. */
static void
container_destroy_now (struct container *c)
{
  struct container_rt *rt = c->daemon_data;
  if (rt)
    {
      if (rt->pid_watch)
        loop_fd_remove (rt->pid_watch);
      if (rt->pidfd >= 0)
        close (rt->pidfd);
      if (rt->sync_watch)
        loop_fd_remove (rt->sync_watch);
      if (rt->sync_fd >= 0)
        close (rt->sync_fd);
      if (rt->restart_timer)
        loop_timer_cancel (rt->restart_timer);
      if (rt->stop_timer)
        loop_timer_cancel (rt->stop_timer);
      health_stop (c);
      for (size_t i = 0; i < rt->n_pending_attach; i++)
        relay_abort (rt->pending_attach[i]);
      free (rt->pending_attach);
      free (rt);
    }
  c->daemon_data = NULL;
  container_free (c);
}

void
containers_forget (struct containers *cs, struct container *c)
{
  for (size_t i = 0; i < cs->n_all; i++)
    if (cs->all[i] == c)
      {
        memmove (cs->all + i, cs->all + i + 1, (cs->n_all - i - 1) * sizeof *cs->all);
        cs->n_all--;
        break;
      }
  struct container_rt *rt = c->daemon_data;
  if (rt && rt->forgotten)
    return;
  if (rt)
    rt->forgotten = true;
  if (rt && rt->waiters)
    {
      /* answer whoever still waits: the container is gone */
      _cleanup_error_ struct berth_error *err = NULL;
      berth_error_set_kind (&err, BERTH_E_NOT_FOUND, 0, "No such container: %s", c->id);
      container_hold (c);
      waiters_notify (c, WAIT_STARTED, err);
      waiters_notify (c, WAIT_EXIT, err);
      waiters_notify (c, WAIT_REMOVED, NULL);
      container_release (c);
      return; /* the release freed it */
    }
  /* a caller up the stack still works on c (a waiter removed it): it is
   * freed when that caller lets go */
  if (rt && rt->holds > 0)
    return;
  container_destroy_now (c);
}

void
container_hold (struct container *c)
{
  struct container_rt *rt = c->daemon_data;
  if (rt)
    rt->holds++;
}

bool
container_release (struct container *c)
{
  struct container_rt *rt = c->daemon_data;
  if (rt == NULL)
    return true;
  rt->holds--;
  if (rt->holds == 0 && rt->forgotten)
    {
      container_destroy_now (c);
      return false;
    }
  return !rt->forgotten;
}

/* NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}] or null}) as the
 * Ports array of /containers/json: the ports actually bound (-P, ranges). */
static json_t *
summary_ports_from_settings (json_t *ports)
{
  json_t *out = json_array ();
  const char *k;
  json_t *v;
  json_object_foreach (ports, k, v)
  {
    const char *slash = strchr (k, '/');
    const char *type = slash ? slash + 1 : "tcp";
    if (!json_is_array (v) || json_array_size (v) == 0)
      {
        json_array_append_new (out, json_pack ("{s:i,s:s}", "PrivatePort", atoi (k), "Type", type));
        continue;
      }
    size_t i;
    json_t *b;
    json_array_foreach (v, i, b)
    {
      const char *ip = json_string_value (json_object_get (b, "HostIp"));
      const char *hp = json_string_value (json_object_get (b, "HostPort"));
      json_array_append_new (out, json_pack ("{s:s,s:i,s:i,s:s}", "IP", ip && *ip ? ip : "0.0.0.0",
                                             "PrivatePort", atoi (k), "PublicPort",
                                             hp ? atoi (hp) : 0, "Type", type));
    }
  }
  return out;
}

void
containers_apply_network_settings (struct containers *cs, const struct container *c, json_t *j,
                                   bool summary)
{
  if (container_network_hooks.settings == NULL)
    return;
  json_t *ns = container_network_hooks.settings (cs->d, c);
  if (ns == NULL)
    return;
  if (summary)
    {
      json_t *bound = json_object_get (ns, "Ports");
      if (json_object_size (bound) > 0)
        json_object_set_new (j, "Ports", summary_ports_from_settings (bound));
      json_t *networks = json_object_get (ns, "Networks");
      json_object_set_new (j, "NetworkSettings",
                           json_pack ("{s:O}", "Networks", networks ? networks : json_object ()));
      json_decref (ns);
    }
  else
    json_object_set_new (j, "NetworkSettings", ns);
}

/* ------------------------------------------------------------ waiters -- */

void
waiter_add (struct container *c, enum waiter_kind kind,
            void (*fn) (struct waiter *w, struct container *c, const struct berth_error *err),
            void *data)
{
  struct container_rt *rt = container_rt (c);
  struct waiter *w = calloc (1, sizeof *w);
  if (w == NULL)
    abort ();
  w->kind = kind;
  w->fn = fn;
  w->data = data;
  /* append: waiters run in the order they came */
  struct waiter **p = &rt->waiters;
  while (*p)
    p = &(*p)->next;
  *p = w;
}

void
waiters_notify (struct container *c, enum waiter_kind kind, const struct berth_error *err)
{
  struct container_rt *rt = container_rt (c);
  /* detach the matching ones first: a callback may add new waiters */
  struct waiter *ready = NULL, **tail = &ready;
  for (struct waiter **p = &rt->waiters; *p;)
    {
      if ((*p)->kind == kind)
        {
          struct waiter *w = *p;
          *p = w->next;
          w->next = NULL;
          *tail = w;
          tail = &w->next;
        }
      else
        p = &(*p)->next;
    }
  container_hold (c);
  while (ready)
    {
      struct waiter *w = ready;
      ready = w->next;
      w->fn (w, c, err);
      free (w);
    }
  container_release (c);
}

/* ------------------------------------------------------------- events -- */

json_t *
container_event_attrs (const struct container *c)
{
  json_t *a = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (c->config, "Labels"), k, v) json_object_set (a, k, v);
  json_object_set_new (a, "image", json_string (c->image_ref));
  json_object_set_new (a, "name", json_string (c->name + 1));
  return a;
}

void
container_event (const struct container *c, const char *action, json_t *extra)
{
  json_t *a = container_event_attrs (c);
  if (extra)
    {
      json_object_update (a, extra);
      json_decref (extra);
    }
  daemon_event_emit ("container", action, c->id, a);
}

static const char *
mount_field (const json_t *m, const char *key)
{
  const char *v = json_string_value (json_object_get (m, key));
  return v ? v : "";
}

void
container_volume_events (struct container *c, bool mount)
{
  struct container_rt *rt = container_rt (c);
  if (rt->volumes_mounted == mount)
    return;
  rt->volumes_mounted = mount;
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m)
  {
    if (strcmp (mount_field (m, "Type"), "volume") != 0)
      continue;
    json_t *a = json_pack ("{s:s,s:s}", "container", c->id, "driver", mount_field (m, "Driver"));
    if (mount)
      {
        bool rw = !json_is_false (json_object_get (m, "RW"));
        json_object_set_new (a, "destination", json_string (mount_field (m, "Destination")));
        json_object_set_new (a, "propagation", json_string (mount_field (m, "Propagation")));
        json_object_set_new (a, "read/write", json_string (rw ? "true" : "false"));
      }
    daemon_event_emit ("volume", mount ? "mount" : "unmount", mount_field (m, "Name"), a);
  }
}

/* ---------------------------------------------------- paths and init -- */

char *
container_exec_dir (struct containers *cs, const struct container *c)
{
  return xasprintf ("%s/%s", cs->exec_dir, c->id);
}

char *
container_data_dir (struct containers *cs, const struct container *c)
{
  return xasprintf ("%s/%s", cs->data_dir, c->id);
}

char *
container_etc_dir (struct containers *cs, const struct container *c)
{
  char *exec_dir = container_exec_dir (cs, c);
  if (faccessat (c->dirfd, "hosts", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return exec_dir;
  _cleanup_free_ char *mine = xasprintf ("%s/hosts", exec_dir);
  if (access (mine, F_OK) == 0)
    return exec_dir;
  free (exec_dir);
  return container_data_dir (cs, c);
}

static bool
is_executable (const char *path)
{
  return access (path, X_OK) == 0;
}

/* berth-monitor lives next to berthd (build tree and installs alike). */
static char *
find_monitor (void)
{
  const char *env = getenv ("BERTH_MONITOR_PATH");
  if (env && is_executable (env))
    return xstrdup (env);
  char *next_to_berthd = berthd_helper_path ("berth-monitor");
  if (next_to_berthd)
    return next_to_berthd;
  /* a berthd main() that did not record its directory: try argv[0] */
  _cleanup_free_ char *cmdline = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/self/cmdline", &cmdline, NULL, NULL) == 0
      && strchr (cmdline, '/'))
    {
      _cleanup_free_ char *copy = xstrdup (cmdline);
      _cleanup_free_ char *path = xasprintf ("%s/berth-monitor", dirname (copy));
      if (is_executable (path))
        return steal_pointer (&path);
    }
  static const char *const places[]
      = { "/usr/libexec/berth/berth-monitor", "/usr/local/bin/berth-monitor",
          "/usr/bin/berth-monitor", NULL };
  for (const char *const *p = places; *p; p++)
    if (is_executable (*p))
      return xstrdup (*p);
  return NULL;
}

/* docker's --init: a tiny static init bound into the container. */
static char *
find_init (void)
{
  static const char *const places[]
      = { "/usr/bin/tini-static", "/usr/bin/catatonit", "/usr/libexec/podman/catatonit", NULL };
  for (const char *const *p = places; *p; p++)
    if (is_executable (*p))
      return xstrdup (*p);
  return NULL;
}

/* ---------------------------------------------------------- core ops -- */

static void
ops_counts (struct berthd *d, struct berthd_container_counts *out)
{
  struct containers *cs = containers_get (d);
  memset (out, 0, sizeof *out);
  for (size_t i = 0; cs && i < cs->n_all; i++)
    {
      out->total++;
      enum container_status s = cs->all[i]->state.status;
      if (s == CONTAINER_RUNNING || s == CONTAINER_RESTARTING)
        out->running++;
      else if (s == CONTAINER_PAUSED)
        out->paused++;
      else
        out->stopped++;
    }
}

static char *
ops_image_user (struct berthd *d, const char *image_id)
{
  struct containers *cs = containers_get (d);
  for (size_t i = 0; cs && i < cs->n_all; i++)
    if (strcmp (cs->all[i]->image_id, image_id) == 0)
      return xstrdup (cs->all[i]->id);
  return NULL;
}

static unsigned
ops_image_use_count (struct berthd *d, const char *image_id)
{
  struct containers *cs = containers_get (d);
  unsigned n = 0;
  for (size_t i = 0; cs && i < cs->n_all; i++)
    n += strcmp (cs->all[i]->image_id, image_id) == 0;
  return n;
}

int
containers_compare_created_desc (const void *a, const void *b)
{
  const struct container *ca = *(struct container *const *)a, *cb = *(struct container *const *)b;
  return ca->created_ns < cb->created_ns ? 1 : ca->created_ns > cb->created_ns ? -1 : 0;
}

/* The containers of GET /system/df: the entries of GET /containers/json,
 * newest first, with their sizes (dockerd lists them through its list). */
static json_t *
ops_df_containers (struct berthd *d, unsigned version)
{
  struct containers *cs = containers_get (d);
  json_t *out = json_array ();
  if (cs == NULL || cs->n_all == 0)
    return out;
  _cleanup_free_ struct container **sorted = calloc (cs->n_all, sizeof *sorted);
  if (sorted == NULL)
    abort ();
  memcpy (sorted, cs->all, cs->n_all * sizeof *sorted);
  qsort (sorted, cs->n_all, sizeof *sorted, containers_compare_created_desc);
  uint64_t now = time_now_ns ();
  for (size_t i = 0; i < cs->n_all; i++)
    {
      json_t *j = container_summary_json (sorted[i], now);
      containers_apply_network_settings (cs, sorted[i], j, true);
      container_networks_for_version (
          sorted[i], json_object_get (json_object_get (j, "NetworkSettings"), "Networks"), version,
          false);
      container_sizes_apply (cs, sorted[i], j, true);
      json_array_append_new (out, j);
    }
  return out;
}

static bool
image_in_use (const char *image_id, char **container_id, bool *is_running, void *data)
{
  struct containers *cs = data;
  for (size_t i = 0; i < cs->n_all; i++)
    if (strcmp (cs->all[i]->image_id, image_id) == 0)
      {
        *container_id = xstrdup (cs->all[i]->id);
        *is_running = container_is_running (cs->all[i]);
        return true;
      }
  return false;
}

#include "image/image.h"

static void
load_all (struct containers *cs)
{
  _cleanup_close_ int dfd = openat (cs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fdopendir (steal_fd (&dfd));
  if (dir == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (dir)))
    {
      if (strlen (de->d_name) != SHA256_HEX_LEN)
        continue;
      _cleanup_error_ struct berth_error *err = NULL;
      struct container *c = container_load (cs->dirfd, de->d_name, &err);
      if (c == NULL)
        {
          if (container_remove_lost (cs, de->d_name))
            continue;
          /* keep the directory: a record we cannot read is never deleted
           * behind the user's back */
          berth_log (BERTH_LOG_WARNING, "containers: skip %s: %s", de->d_name, err->msg);
          continue;
        }
      containers_add (cs, c);
    }
  closedir (dir);
  /* restore after loading everything: container:<id> modes and names. A
   * restore may remove its container (auto-remove of one that exited
   * meanwhile), which shifts cs->all: walk a held copy. */
  size_t n = cs->n_all;
  struct container **copy = calloc (n ? n : 1, sizeof *copy);
  if (copy == NULL)
    abort ();
  memcpy (copy, cs->all, n * sizeof *copy);
  for (size_t i = 0; i < n; i++)
    container_hold (copy[i]);
  for (size_t i = 0; i < n; i++)
    {
      if (!container_rt (copy[i])->forgotten)
        container_restore (cs, copy[i]);
      container_release (copy[i]);
    }
  free (copy);
}

static int
module_init (struct berthd *d, struct berth_error **err)
{
  struct containers *cs = calloc (1, sizeof *cs);
  if (cs == NULL)
    abort ();
  cs->d = d;
  pthread_mutex_init (&cs->removals_mu, NULL);
  pthread_cond_init (&cs->removals_cond, NULL);
  cs->data_dir = xasprintf ("%s/containers", d->config.data_root);
  cs->exec_dir = xasprintf ("%s/containers", d->config.exec_root);
  cs->state_root = xasprintf ("%s/runtime", d->config.exec_root);
  if (fs_mkdir_p (cs->data_dir, 0710, err) < 0 || fs_mkdir_p (cs->exec_dir, 0700, err) < 0
      || fs_mkdir_p (cs->state_root, 0700, err) < 0)
    return berth_error_prefix (err, "containers");
  cs->dirfd = open (cs->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cs->dirfd < 0)
    return berth_error_set (err, errno, "containers: open %s", cs->data_dir);
  cs->rt.state_root = cs->state_root;
  cs->monitor_path = find_monitor ();
  cs->monitor_exe_fd = -1;
  cs->exec_helper_fd = -1;
  if (cs->monitor_path)
    {
      /* CVE-2019-5736 once for all monitors: started from a read-only view
       * of their binary, they skip their protective re-exec (≈1.5 ms of
       * every start) */
      _cleanup_error_ struct berth_error *perr = NULL;
      cs->monitor_exe_fd = runtime_exe_open_protected (cs->monitor_path, &perr);
      if (cs->monitor_exe_fd < 0)
        berth_log (BERTH_LOG_INFO, "containers: %s (monitors protect themselves)", perr->msg);
      /* the same for the exec helper; without one the monitors fall back
       * to berth-monitor --exec */
      _cleanup_free_ char *helper = xasprintf ("%s-exec", cs->monitor_path);
      berth_error_freep (&perr);
      if (access (helper, X_OK) == 0)
        {
          /* above the fds spawn_monitor dup2s onto, so no dup2 clobbers it */
          _cleanup_close_ int view = runtime_exe_open_protected (helper, &perr);
          if (view >= 0)
            cs->exec_helper_fd = fcntl (view, F_DUPFD_CLOEXEC, 10);
        }
      if (perr)
        berth_log (BERTH_LOG_INFO, "containers: %s (exec processes start through berth-monitor)",
                   perr->msg);
    }
  if (cs->monitor_path == NULL)
    berth_log (BERTH_LOG_WARNING,
               "containers: berth-monitor not found next to berthd: containers cannot start");
  cs->init_path = find_init ();
  d->containers_state = cs;
  d->containers.counts = ops_counts;
  d->containers.image_user = ops_image_user;
  d->containers.image_use_count = ops_image_use_count;
  d->containers.df_containers = ops_df_containers;
  if (d->images == NULL)
    {
      /* the core opens the store when it serves the image endpoints; until
       * then the containers need it for their roots */
      struct image_store_options io = { .root = d->config.data_root };
      d->images = image_store_open (&io, err);
      if (d->images == NULL)
        return berth_error_prefix (err, "containers: open the image store");
      cs->opened_images = true;
    }
  image_store_set_in_use_hook (d->images, image_in_use, cs);
  containers_sweep_removed (cs);
  load_all (cs);
  return 0;
}

/* --live-restore=false: as dockerd, berthd's shutdown stops every running
 * container (its stop signal, SIGKILL after its stop timeout) and records
 * the exits; the loop no longer runs, so this waits here. */
static void
stop_all_at_shutdown (struct containers *cs)
{
  size_t n = 0;
  _cleanup_free_ struct pollfd *p = calloc (cs->n_all + 1, sizeof *p);
  _cleanup_free_ struct container **which = calloc (cs->n_all + 1, sizeof *which);
  int timeout_s = 0;
  for (size_t i = 0; i < cs->n_all; i++)
    {
      struct container *c = cs->all[i];
      struct container_rt *rt = container_rt (c);
      if (!container_is_running (c) || rt->pidfd < 0)
        continue;
      int signo = SIGTERM;
      const char *sig = json_string_value (json_object_get (c->config, "StopSignal"));
      if (sig && *sig)
        signal_parse (sig, &signo);
      json_t *t = json_object_get (c->config, "StopTimeout");
      int ts = json_is_integer (t) ? (int)json_integer_value (t) : 10;
      timeout_s = ts > timeout_s ? ts : timeout_s;
      _cleanup_error_ struct berth_error *err = NULL;
      runtime_container_kill (&cs->rt, c->id, signo, false, &err);
      if (c->state.status == CONTAINER_PAUSED)
        runtime_container_resume (&cs->rt, c->id, &err);
      berth_log (BERTH_LOG_INFO, "stopping %.12s (live restore is off)", c->id);
      p[n] = (struct pollfd){ .fd = rt->pidfd, .events = POLLIN };
      which[n++] = c;
    }
  for (int round = 0; round < 2 && n > 0; round++)
    {
      uint64_t deadline = time_now_ns () + (uint64_t)(round == 0 ? timeout_s : 10) * 1000000000ull;
      for (;;)
        {
          size_t left = 0;
          for (size_t i = 0; i < n; i++)
            left += p[i].fd >= 0;
          uint64_t now = time_now_ns ();
          if (left == 0 || now >= deadline)
            break;
          if (poll (p, n, (int)((deadline - now) / 1000000) + 1) <= 0)
            continue;
          for (size_t i = 0; i < n; i++)
            if (p[i].revents)
              p[i].fd = -1; /* exited */
        }
      for (size_t i = 0; round == 0 && i < n; i++)
        if (p[i].fd >= 0)
          {
            _cleanup_error_ struct berth_error *err = NULL;
            runtime_container_kill (&cs->rt, which[i]->id, SIGKILL, true, &err);
          }
    }
  for (size_t i = 0; i < n; i++)
    if (p[i].fd < 0)
      container_monitor_exited (cs, which[i]);
}

static void
module_shutdown (struct berthd *d)
{
  struct containers *cs = containers_get (d);
  if (cs == NULL)
    return;
  if (!d->config.live_restore)
    stop_all_at_shutdown (cs);
  stats_streams_end_all (cs);
  free (cs->stats);
  containers_removals_finish (cs);
  exec_free_all (cs);
  /* live restore: the monitors keep the containers running; we only let
   * go of our side */
  while (cs->n_all > 0)
    containers_forget (cs, cs->all[cs->n_all - 1]);
  free (cs->all);
  if (cs->dirfd >= 0)
    close (cs->dirfd);
  free (cs->data_dir);
  free (cs->exec_dir);
  free (cs->state_root);
  free (cs->monitor_path);
  if (cs->monitor_exe_fd >= 0)
    close (cs->monitor_exe_fd);
  if (cs->exec_helper_fd >= 0)
    close (cs->exec_helper_fd);
  free (cs->init_path);
  free (cs->seccomp_caps);
  json_decref (cs->seccomp_profile);
  free (cs->seccomp_text);
  pthread_mutex_destroy (&cs->removals_mu);
  pthread_cond_destroy (&cs->removals_cond);
  if (cs->opened_images && d->images)
    {
      image_store_close (d->images);
      d->images = NULL;
    }
  free (cs);
  d->containers_state = NULL;
}

void containers_register_routes (struct berthd *d, struct api_router *r);

BERTHD_MODULE (containers_module) = {
  .name = "containers",
  .order = 50,
  .init = module_init,
  .register_routes = containers_register_routes,
  .shutdown = module_shutdown,
};
