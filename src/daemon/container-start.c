/* A container's life as berthd drives it: start (mount the root, write the
 * OCI config, spawn berth-monitor, the start handshake), the monitor's exit
 * (state, events, restart policy with backoff, auto-remove), stop and kill,
 * removal, and live restore when berthd starts again. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "daemon/monitor.h"
#include "daemon/restart.h"
#include "daemon/volumes.h"
#include "image/image.h"

extern char **environ;

int container_write_etc_files (struct containers *cs, struct container *c,
                               struct berth_error **err);

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

static void start_failed (struct containers *cs, struct container *c, const char *msg);

/* ----------------------------------------------------- prepare start -- */

/* Docker's default profile for these capabilities (a new reference):
 * made once per capability set, it is shared by the OCI configs. */
static json_t *
default_seccomp (struct containers *cs, char *const *caps)
{
  _cleanup_free_ char *key = strv_join (caps, " ");
  if (cs->seccomp_caps == NULL || strcmp (cs->seccomp_caps, key) != 0)
    {
      free (cs->seccomp_caps);
      json_decref (cs->seccomp_profile);
      free (cs->seccomp_text);
      cs->seccomp_caps = steal_pointer (&key);
      cs->seccomp_profile = runtime_default_seccomp_profile (caps);
      cs->seccomp_text = json_dumps (cs->seccomp_profile, JSON_SORT_KEYS | JSON_COMPACT);
      if (cs->seccomp_text == NULL)
        abort ();
    }
  return json_incref (cs->seccomp_profile);
}

/* linux.seccomp moves to <exec dir>/seccomp.json, which the annotation
 * RUNTIME_SECCOMP_PROFILE_ANNOTATION names: written canonical, its text is
 * the key of the runtime's seccomp cache as it is, so the monitor neither
 * parses nor reserializes the profile (60% of config.json). An annotation
 * of that name from the container's labels never reaches the runtime. */
static int
seccomp_to_file (struct containers *cs, json_t *oci, const char *exec_dir, int exec_dirfd,
                 struct berth_error **err)
{
  json_t *ann = json_object_get (oci, "annotations");
  json_object_del (ann, RUNTIME_SECCOMP_PROFILE_ANNOTATION);
  json_t *linux_ = json_object_get (oci, "linux");
  json_t *sc = json_object_get (linux_, "seccomp");
  if (!json_is_object (sc))
    return 0;
  _cleanup_free_ char *own = NULL;
  const char *text = sc == cs->seccomp_profile ? cs->seccomp_text : NULL;
  if (text == NULL)
    {
      own = json_dumps (sc, JSON_SORT_KEYS | JSON_COMPACT);
      if (own == NULL)
        return berth_error_set (err, ENOMEM, "serialize linux.seccomp");
      text = own;
    }
  if (container_write_file_volatile (exec_dirfd, "seccomp.json", text, strlen (text), err) < 0)
    return -1;
  if (ann == NULL)
    {
      ann = json_object ();
      json_object_set_new (oci, "annotations", ann);
    }
  _cleanup_free_ char *path = xasprintf ("%s/seccomp.json", exec_dir);
  json_object_set_new (ann, RUNTIME_SECCOMP_PROFILE_ANNOTATION, json_string (path));
  json_object_del (linux_, "seccomp");
  return 0;
}

static int
write_oci_config (struct containers *cs, struct container *c, int exec_dirfd,
                  struct berth_error **err)
{
  _cleanup_close_ int rootfd = open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_error_set (err, errno, "open root %s", c->rootfs);
  _cleanup_strv_ char **group_add = NULL;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (c->host_config, "GroupAdd"), i, e)
      strv_append (&group_add, json_string_value (e));
  uid_t uid;
  gid_t gid;
  _cleanup_free_ gid_t *gids = NULL;
  size_t n_gids = 0;
  if (container_user_resolve (rootfd, str_of (c->config, "User"), group_add, &uid, &gid, &gids,
                              &n_gids, err)
      < 0)
    return -1;
  bool init = json_is_true (json_object_get (c->host_config, "Init"));
  if (init && cs->init_path == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "HostConfig.Init: no init binary on this host (install "
                                 "tini-static, catatonit or dumb-init)");
  _cleanup_strv_ char **caps = container_caps_compute (c->host_config, err);
  if (caps == NULL)
    return -1;
  _cleanup_json_ json_t *seccomp = default_seccomp (cs, caps);
  _cleanup_free_ char *dir = container_exec_dir (cs, c); /* container_write_etc_files */
  _cleanup_free_ char *hostname = xasprintf ("%s/hostname", dir);
  _cleanup_free_ char *hosts = xasprintf ("%s/hosts", dir);
  _cleanup_free_ char *resolv = xasprintf ("%s/resolv.conf", dir);

  /* network/ipc/pid of another container: join its namespaces */
  _cleanup_free_ char *netns = NULL, *ipcns = NULL, *pidns = NULL;
  static const struct
  {
    const char *field, *ns;
  } joins[] = { { "NetworkMode", "net" }, { "IpcMode", "ipc" }, { "PidMode", "pid" } };
  for (size_t k = 0; k < 3; k++)
    {
      const char *mode = str_of (c->host_config, joins[k].field);
      if (!str_has_prefix (mode, "container:"))
        continue;
      if (k == 1)
        {
          if (container_ipc_donor_check (cs, mode + 10, &ipcns, err) < 0)
            return -1;
          continue;
        }
      struct container *other = containers_lookup (cs, mode + 10, err);
      if (other == NULL)
        return berth_error_prefix (err, "HostConfig.%s", joins[k].field);
      if (other->state.status != CONTAINER_RUNNING || other->state.pid <= 0)
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "cannot join network of a non running container: %s",
                                     other->id);
      char *p = xasprintf ("/proc/%d/ns/%s", (int)other->state.pid, joins[k].ns);
      if (k == 0)
        netns = p;
      else
        pidns = p;
    }
  struct container_oci_input in = {
    .id = c->id,
    .config = c->config,
    .host_config = c->host_config,
    .path = c->path,
    .args = c->args,
    .rootfs = c->rootfs,
    .hostname_path = hostname,
    .hosts_path = hosts,
    .resolv_conf_path = resolv,
    .init_path = init ? cs->init_path : NULL,
    .extra_mounts = c->mounts,
    .netns_path = netns,
    .ipcns_path = ipcns,
    .pidns_path = pidns,
    .default_seccomp = seccomp,
    .ncpus = sysconf (_SC_NPROCESSORS_ONLN),
    .uid = uid,
    .gid = gid,
    .additional_gids = gids,
    .n_additional_gids = n_gids,
  };
  _cleanup_json_ json_t *oci = container_oci_config (&in, err);
  if (oci == NULL)
    return -1;
  /* default ulimits of the daemon apply unless the container sets its own */
  json_t *rl = json_object_get (json_object_get (oci, "process"), "rlimits");
  const char *name;
  json_object_foreach (cs->d->config.default_ulimits, name, e)
  {
    _cleanup_free_ char *type = xasprintf ("RLIMIT_%s", name);
    for (char *p = type; *p; p++)
      *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    bool set = false;
    size_t j;
    json_t *r;
    json_array_foreach (rl, j, r) set |= strcmp (str_of (r, "type"), type) == 0;
    if (!set)
      json_array_append_new (rl, json_pack ("{s:s,s:O,s:O}", "type", type, "hard",
                                            json_object_get (e, "Hard"), "soft",
                                            json_object_get (e, "Soft")));
  }
  if (seccomp_to_file (cs, oci, dir, exec_dirfd, err) < 0)
    return -1;
  _cleanup_free_ char *text = json_dumps (oci, JSON_COMPACT);
  return container_write_file_volatile (exec_dirfd, "config.json", text, strlen (text), err);
}

static int
write_monitor_config (struct containers *cs, struct container *c, int exec_dirfd,
                      struct berth_error **err)
{
  json_t *lc = json_object_get (c->host_config, "LogConfig");
  json_t *opts = json_object_get (lc, "Config");
  int64_t max_size = 0;
  const char *ms = str_of (opts, "max-size");
  if (*ms && strcmp (ms, "-1") != 0)
    size_parse_bytes (ms, &max_size);
  int max_file = *str_of (opts, "max-file") ? atoi (str_of (opts, "max-file")) : 1;
  _cleanup_free_ char *dir = container_data_dir (cs, c);
  _cleanup_free_ char *log_name = xasprintf ("%s-json.log", c->id);
  char tag[16];
  snprintf (tag, sizeof tag, "%.12s", c->id);
  json_t *console = json_object_get (c->host_config, "ConsoleSize");
  _cleanup_json_ json_t *m = json_pack (
      "{s:s,s:s,s:s,s:b,s:b,s:b,s:s,s:s,s:I,s:i,s:s,s:s,s:s,s:I,s:I}", "id", c->id, "state_root",
      cs->state_root, "container_dir", dir, "tty",
      json_is_true (json_object_get (c->config, "Tty")), "open_stdin",
      json_is_true (json_object_get (c->config, "OpenStdin")), "stdin_once",
      json_is_true (json_object_get (c->config, "StdinOnce")), "log_driver", str_of (lc, "Type"),
      "log_name", log_name, "max_size", (json_int_t)max_size, "max_file", max_file,
      "syslog_address", str_of (opts, "syslog-address"), "syslog_facility",
      str_of (opts, "syslog-facility"), "tag", *str_of (opts, "tag") ? str_of (opts, "tag") : tag,
      "console_rows", json_integer_value (json_array_get (console, 0)), "console_cols",
      json_integer_value (json_array_get (console, 1)));
  /* the small static program the monitor becomes once the container runs */
  _cleanup_free_ char *hold = xasprintf ("%s-hold", cs->monitor_path);
  json_object_set_new (m, "monitor_path", json_string (cs->monitor_path));
  json_object_set_new (m, "hold_path", json_string (hold));
  _cleanup_free_ char *text = json_dumps (m, JSON_COMPACT);
  return container_write_file_volatile (exec_dirfd, MONITOR_CONFIG_FILE, text, strlen (text), err);
}

/* Volumes populated from the image on first use (docker's copy-up). */
static void
populate_volumes (struct containers *cs, struct container *c)
{
  _cleanup_close_ int rootfd = open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m)
  {
    if (strcmp (str_of (m, "Type"), "volume") != 0 || strstr (str_of (m, "Mode"), "nocopy"))
      continue;
    _cleanup_error_ struct berth_error *err = NULL;
    _cleanup_close_ int src
        = fs_open_in_root (rootfd, str_of (m, "Destination"), O_PATH | O_DIRECTORY, 0, &err);
    if (src < 0)
      continue; /* nothing in the image there */
    if (volume_populate (cs->d, str_of (m, "Name"), src, &err) < 0)
      berth_log (BERTH_LOG_WARNING, "container %.12s: populate volume %s: %s", c->id,
                 str_of (m, "Name"), err->msg);
  }
}

static int
spawn_monitor (struct containers *cs, struct container *c, const char *exec_dir, int child_sync,
               pid_t *pid_out, struct berth_error **err)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init (&fa);
  posix_spawnattr_init (&attr);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, child_sync, MONITOR_SYNC_FD);
  if (cs->exec_helper_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, cs->exec_helper_fd, MONITOR_EXEC_HELPER_FD);
  sigset_t none, all;
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = { (char *)"berth-monitor", (char *)exec_dir, NULL };
  char view[32];
  if (cs->monitor_exe_fd >= 0)
    snprintf (view, sizeof view, "/proc/self/fd/%d", cs->monitor_exe_fd);
  int rc = posix_spawn (pid_out, cs->monitor_exe_fd >= 0 ? view : cs->monitor_path, &fa, &attr,
                        argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (rc != 0)
    return berth_error_set (err, rc, "spawn %s", cs->monitor_path);
  return 0;
}

static void sync_ready (struct loop_fd *w, int fd, uint32_t events, void *data);

int
container_start (struct containers *cs, struct container *c, struct berth_error **err)
{
  struct container_rt *rt = container_rt (c);
  if (rt->starting)
    return 0; /* a start is on its way: the caller's waiter learns its outcome */
  if (container_can_start (c, err) < 0)
    return -1;
  if (cs->monitor_path == NULL)
    return berth_error_set (err, 0, "berth-monitor is not installed next to berthd");
  if (cs->d->images == NULL)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "the image store is not open");
  _cleanup_free_ char *exec_dir = container_exec_dir (cs, c);
  if (fs_mkdir_p (exec_dir, 0700, err) < 0)
    return berth_error_prefix (err, "start container %.12s", c->id);
  /* The monitor starts first (exec, dynamic loader, its process setup)
   * and waits for "go" while the root is mounted and its configs are
   * written here: the two overlap on the host's cores. */
  int sp[2] = { -1, -1 };
  pid_t pid = 0;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return berth_error_set (err, errno, "start container %.12s: socketpair", c->id);
  if (spawn_monitor (cs, c, exec_dir, sp[1], &pid, err) < 0)
    {
      close (sp[0]);
      close (sp[1]);
      return berth_error_prefix (err, "start container %.12s", c->id);
    }
  close (sp[1]);
  sp[1] = -1;

  _cleanup_free_ char *mountpoint = NULL;
  _cleanup_close_ int exec_dirfd = -1;
  /* an earlier crash may have left the snapshot mounted */
  _cleanup_error_ struct berth_error *ignored = NULL;
  image_snapshot_unmount (cs->d->images, c->id, &ignored);
  if (image_snapshot_mount (cs->d->images, c->id, NULL, &mountpoint, err) < 0)
    {
      berth_error_prefix (err, "mount the container's root");
      goto fail_mounted; /* (not mounted: its unmount below is a no-op) */
    }
  free (c->rootfs);
  c->rootfs = xstrdup (mountpoint);
  if ((exec_dirfd = open (exec_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0
      || container_write_etc_files (cs, c, err) < 0 || write_oci_config (cs, c, exec_dirfd, err) < 0
      || write_monitor_config (cs, c, exec_dirfd, err) < 0)
    {
      if (exec_dirfd < 0 && *err == NULL)
        berth_error_set (err, errno, "open %s", exec_dir);
      goto fail_mounted;
    }
  populate_volumes (cs, c);
  unlinkat (exec_dirfd, MONITOR_EXIT_FILE, 0);
  unlinkat (c->dirfd, MONITOR_EXIT_FILE, 0); /* an older berth's monitor wrote it there */
  if (send (sp[0], MONITOR_GO, strlen (MONITOR_GO), MSG_NOSIGNAL) < 0)
    {
      berth_error_set (err, errno, "the container monitor exited during the start");
      goto fail_mounted;
    }
  rt->pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  rt->sync_fd = sp[0];
  rt->sync_watch = loop_fd_add (cs->d->loop, rt->sync_fd, EPOLLIN, sync_ready, c, err);
  if (rt->sync_watch == NULL)
    {
      rt->sync_fd = -1;
      goto fail_mounted;
    }
  c->state.monitor_pid = pid;
  rt->starting = true;
  rt->net_attached = false;
  rt->running_saved = false;
  return 0;

fail_mounted:
  /* the monitor waits for "go": the end of the socket ends it */
  close (sp[0]);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  if (rt->pidfd >= 0)
    close (rt->pidfd);
  rt->pidfd = -1;
  image_snapshot_unmount (cs->d->images, c->id, &ignored);
  return berth_error_prefix (err, "start container %.12s", c->id);
}

/* Connect the attach clients that waited for the start, then let the
 * monitor start the container so they see its first byte. */
static void attach_pending_clients (struct containers *cs, struct container *c);

static void
sync_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct container *c = data;
  struct container_rt *rt = container_rt (c);
  struct containers *cs = rt->cs;
  char buf[4096];
  ssize_t n = recv (fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    buf[n] = '\0';
  bool cloned = n > 0 && str_has_prefix (buf, "cloned ");
  if (n > 0 && (cloned || str_has_prefix (buf, "created ")))
    {
      c->state.pid = (pid_t)atoi (buf + (cloned ? 7 : 8));
      if (container_network_hooks.attach && !rt->net_attached)
        {
          _cleanup_error_ struct berth_error *nerr = NULL;
          if (container_network_hooks.attach (cs->d, c, c->state.pid, &nerr) < 0)
            {
              /* no "start": the monitor sees the handshake end, deletes
               * the created container and exits */
              loop_fd_remove (rt->sync_watch);
              rt->sync_watch = NULL;
              close (rt->sync_fd);
              rt->sync_fd = -1;
              rt->starting = false;
              start_failed (cs, c, nerr->msg);
              return;
            }
          rt->net_attached = true;
        }
      /* The record says running before the container does: saving it
       * (an fsync) here overlaps the runtime's root setup instead of
       * delaying the answer to the start. A start that fails after this
       * saves the failure over it; a berthd killed before "started" finds
       * the record running and its monitor gone or going (the monitor
       * deletes a created container whose berthd went away): exited. */
      if (!rt->running_saved)
        {
          _cleanup_error_ struct berth_error *serr = NULL;
          uint64_t now = time_now_ns ();
          if (container_save_as_running (c, c->state.pid, c->state.monitor_pid,
                                         rt->stop_on_start, now, &serr)
              == 0)
            {
              rt->running_saved = true;
              rt->running_saved_stop = rt->stop_on_start;
              rt->running_saved_at = c->saves;
              rt->running_saved_ns = now;
            }
          else
            berth_log (BERTH_LOG_WARNING, "%s", serr->msg);
        }
      if (cloned)
        return;
      attach_pending_clients (cs, c);
      send (fd, "start", 5, MSG_NOSIGNAL);
      return;
    }
  loop_fd_remove (rt->sync_watch);
  rt->sync_watch = NULL;
  close (rt->sync_fd);
  rt->sync_fd = -1;
  rt->starting = false;
  if (n > 0 && strcmp (buf, "started") == 0)
    {
      pid_t init = c->state.pid;
      /* saved already unless something was saved since, or a stop came */
      bool saved = rt->running_saved && rt->running_saved_at == c->saves
                   && rt->running_saved_stop == rt->stop_on_start;
      container_set_running (c, init, c->state.monitor_pid,
                             rt->running_saved ? rt->running_saved_ns : time_now_ns ());
      c->state.has_been_manually_stopped = rt->stop_on_start;
      rt->running_saved = false;
      _cleanup_error_ struct berth_error *err = NULL;
      if (!saved && container_save (c, &err) < 0)
        berth_log (BERTH_LOG_ERROR, "%s", err->msg);
      container_volume_events (c, true);
      container_event (c, "start", NULL);
      container_watch_monitor (cs, c, c->state.monitor_pid);
      health_start (cs, c);
      container_hold (c);
      waiters_notify (c, WAIT_STARTED, NULL);
      if (!container_release (c))
        return; /* a waiter removed it */
      if (rt->remove_on_exit)
        {
          berth_error_freep (&err);
          container_kill (cs, c, SIGKILL, &err);
          return;
        }
      if (rt->stop_on_start)
        {
          rt->stop_on_start = false;
          berth_error_freep (&err);
          if (container_stop (cs, c, rt->stop_on_start_timeout_s, NULL, &err) < 0)
            berth_log (BERTH_LOG_WARNING, "stop %.12s: %s", c->id, err->msg);
        }
      return;
    }
  start_failed (cs, c,
                n > 6 && str_has_prefix (buf, "error ")
                    ? buf + 6
                    : "the container monitor exited during the start");
}

/* docker maps the runtime's failure to the CLI's exit code: 127 for a
 * missing command, 126 for one that cannot be run */
static int
start_failure_code (const char *msg)
{
  if (strstr (msg, "No such file or directory") || strstr (msg, "not found"))
    return 127;
  if (strstr (msg, "Permission denied") || strstr (msg, "permission denied"))
    return 126;
  return 128;
}

static void
start_failed (struct containers *cs, struct container *c, const char *msg)
{
  struct container_rt *rt = container_rt (c);
  rt->running_saved = false; /* the save below records the failure */
  if (rt->pidfd >= 0)
    {
      siginfo_t si;
      waitid (P_PIDFD, (id_t)rt->pidfd, &si, WEXITED);
      close (rt->pidfd);
      rt->pidfd = -1;
    }
  _cleanup_error_ struct berth_error *ignored = NULL;
  runtime_container_delete (&cs->rt, c->id, true, &ignored);
  berth_error_freep (&ignored);
  /* connected before the start failed (exec of a missing binary): release
   * the veth, address, ports and names */
  if (container_network_hooks.detach)
    container_network_hooks.detach (cs->d, c);
  image_snapshot_unmount (cs->d->images, c->id, &ignored);
  for (size_t i = 0; i < rt->n_pending_attach; i++)
    relay_abort (rt->pending_attach[i]);
  rt->n_pending_attach = 0;
  c->state.pid = 0;
  c->state.monitor_pid = 0;
  rt->stop_on_start = false;
  free (c->state.error);
  c->state.error = xstrdup (msg);
  c->state.exit_code = start_failure_code (msg);
  if (c->state.has_been_started)
    c->state.status = CONTAINER_EXITED;
  _cleanup_error_ struct berth_error *err = NULL;
  container_save (c, &err);
  berth_error_freep (&err);
  /* Go spells errno strings in lower case, and the docker CLI matches
   * "no such file or directory" / "permission denied" to exit 127/126 */
  _cleanup_free_ char *lower = xstrdup (msg);
  static const char *const errnos[] = { "No such file or directory", "Permission denied", NULL };
  for (const char *const *e = errnos; *e; e++)
    for (char *p = strstr (lower, *e); p; p = strstr (p + 1, *e))
      *p = (char)(*p - 'A' + 'a');
  berth_error_set (&err, 0, "failed to create task for container: %s", lower);
  /* the CLI reads these words to pick 127/126 */
  container_hold (c);
  waiters_notify (c, WAIT_STARTED, err);
  waiters_notify (c, WAIT_EXIT, err);
  if (!container_release (c))
    return;
  if (json_is_true (json_object_get (c->host_config, "AutoRemove")) || rt->remove_on_exit)
    {
      _cleanup_error_ struct berth_error *rerr = NULL;
      container_remove (cs, c, json_is_true (json_object_get (c->host_config, "AutoRemove")),
                        &rerr);
    }
}

void
container_start_failed_early (struct containers *cs, struct container *c,
                              const struct berth_error *err)
{
  free (c->state.error);
  c->state.error = xstrdup (err->msg);
  c->state.exit_code = start_failure_code (err->msg);
  _cleanup_error_ struct berth_error *serr = NULL;
  container_save (c, &serr);
  container_hold (c);
  waiters_notify (c, WAIT_EXIT, err);
  if (!container_release (c))
    return;
  if (json_is_true (json_object_get (c->host_config, "AutoRemove")))
    {
      berth_error_freep (&serr);
      container_remove (cs, c, true, &serr);
    }
}

/* ------------------------------------------------------------ monitor -- */

static void
monitor_ready (struct loop_fd *w, int fd, uint32_t events, void *data)
{
  struct container *c = data;
  container_monitor_exited (container_rt (c)->cs, c);
}

void
container_watch_monitor (struct containers *cs, struct container *c, pid_t monitor_pid)
{
  struct container_rt *rt = container_rt (c);
  if (rt->pidfd < 0)
    rt->pidfd = (int)syscall (SYS_pidfd_open, monitor_pid, 0);
  _cleanup_error_ struct berth_error *err = NULL;
  if (rt->pidfd >= 0)
    rt->pid_watch = loop_fd_add (cs->d->loop, rt->pidfd, EPOLLIN, monitor_ready, c, &err);
  if (rt->pid_watch == NULL)
    container_monitor_exited (cs, c);
}

static void
restart_fire (void *data)
{
  struct container *c = data;
  struct container_rt *rt = container_rt (c);
  rt->restart_timer = NULL;
  if (c->state.status != CONTAINER_RESTARTING)
    return;
  c->restart_count++;
  c->state.status = CONTAINER_EXITED;
  _cleanup_error_ struct berth_error *err = NULL;
  if (container_start (rt->cs, c, &err) < 0)
    {
      berth_log (BERTH_LOG_WARNING, "restart %.12s: %s", c->id, err->msg);
      container_save (c, NULL);
    }
}

/* Read what the monitor recorded; a monitor that died without a record
 * (killed) leaves the container's fate unknown: 255, as docker reports
 * for a lost task. */
static void
read_exit_record (struct containers *cs, struct container *c, int *code, bool *oom,
                  uint64_t *finished)
{
  /* in the exec dir (a tmpfs); a monitor of an older berth wrote it into
   * the container's dir */
  _cleanup_free_ char *exec_dir = container_exec_dir (cs, c);
  _cleanup_close_ int exec_dirfd = open (exec_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int dirfd = exec_dirfd;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *j
      = exec_dirfd >= 0 ? json_load_path (exec_dirfd, MONITOR_EXIT_FILE, &err) : NULL;
  if (j == NULL)
    {
      berth_error_freep (&err);
      dirfd = c->dirfd;
      j = json_load_path (c->dirfd, MONITOR_EXIT_FILE, &err);
    }
  *code = 255;
  *oom = false;
  *finished = time_now_ns ();
  if (j == NULL)
    return;
  *code = (int)json_integer_value (json_object_get (j, "ExitCode"));
  *oom = json_is_true (json_object_get (j, "OOMKilled"));
  json_int_t f = json_integer_value (json_object_get (j, "FinishedAt"));
  if (f > 0)
    *finished = (uint64_t)f;
  unlinkat (dirfd, MONITOR_EXIT_FILE, 0);
}

/* What a stopped container that stays holds: the runtime state (the
 * monitor leaves it to us when the container exits at once, and when it
 * was killed), the network endpoints and the mounted snapshot. */
static void
release_stopped (struct containers *cs, struct container *c)
{
  _cleanup_error_ struct berth_error *ignored = NULL;
  runtime_container_delete (&cs->rt, c->id, true, &ignored);
  berth_error_freep (&ignored);
  if (container_network_hooks.detach)
    container_network_hooks.detach (cs->d, c);
  container_volume_events (c, false);
  if (cs->d->images)
    image_snapshot_unmount (cs->d->images, c->id, &ignored);
}

void
container_monitor_exited (struct containers *cs, struct container *c)
{
  struct container_rt *rt = container_rt (c);
  if (rt->pid_watch)
    loop_fd_remove (rt->pid_watch);
  rt->pid_watch = NULL;
  if (rt->pidfd >= 0)
    {
      siginfo_t si;
      waitid (P_PIDFD, (id_t)rt->pidfd, &si, WEXITED | WNOHANG);
      close (rt->pidfd);
      rt->pidfd = -1;
    }
  if (rt->stop_timer)
    loop_timer_cancel (rt->stop_timer);
  rt->stop_timer = NULL;
  health_stop (c);

  int code;
  bool oom;
  uint64_t finished;
  read_exit_record (cs, c, &code, &oom, &finished);
  uint64_t ran_ns = finished > c->state.started_ns ? finished - c->state.started_ns : 0;
  json_t *rp = json_object_get (c->host_config, "RestartPolicy");
  struct restart_decision_input in = {
    .policy = str_of (rp, "Name"),
    .max_retries = (int)json_integer_value (json_object_get (rp, "MaximumRetryCount")),
    .restart_count = c->restart_count,
    .exit_code = code,
    .manually_stopped = c->state.has_been_manually_stopped || rt->stopping || rt->remove_requested,
  };
  bool again = !rt->restart_requested && restart_should_restart (&in);
  bool auto_remove = !again && !rt->restart_requested && !rt->remove_requested
                     && json_is_true (json_object_get (c->host_config, "AutoRemove"));
  /* removed right away (--rm, rm -f): the removal releases the runtime
   * state, network and snapshot after it answered, and the record it
   * deletes needs no save */
  bool removing = rt->remove_on_exit || rt->remove_requested || auto_remove;
  container_set_exited (c, code, oom, finished);
  exec_forget_container (cs, c->id, true);
  if (oom)
    container_event (c, "oom", NULL);
  _cleanup_free_ char *code_s = xasprintf ("%d", code);
  /* die first, then what the release emits (network disconnect), as
   * dockerd's handleContainerExit orders them: tools tailing /events act
   * on die */
  container_event (c, "die", json_pack ("{s:s}", "exitCode", code_s));
  if (!removing)
    release_stopped (cs, c);

  if (again)
    {
      rt->backoff_ms = restart_next_backoff_ms (rt->backoff_ms, ran_ns);
      c->state.status = CONTAINER_RESTARTING;
      rt->restart_timer = loop_timer_add (cs->d->loop, rt->backoff_ms, restart_fire, c);
    }
  rt->stopping = false;
  _cleanup_error_ struct berth_error *err = NULL;
  if (!removing && container_save (c, &err) < 0)
    berth_log (BERTH_LOG_ERROR, "%s", err->msg);
  container_hold (c);
  waiters_notify (c, WAIT_EXIT, NULL);
  if (!container_release (c))
    return; /* docker rm -f: the waiter removed it */
  if (rt->restart_requested)
    {
      rt->restart_requested = false;
      return; /* the restart handler's waiter starts it again */
    }
  if (rt->remove_on_exit || auto_remove)
    {
      berth_error_freep (&err);
      if (container_remove (cs, c, auto_remove && !rt->remove_on_exit, &err) == 0)
        return;
      berth_log (BERTH_LOG_WARNING, "remove %.12s: %s", c->id, err->msg);
    }
  if (removing)
    {
      /* the removal that was to follow this exit failed (or the rm -f
       * that waited for it did): release what it would have */
      release_stopped (cs, c);
      container_save (c, NULL);
    }
}

/* ------------------------------------------------------- stop, kill -- */

static void
stop_timeout (void *data)
{
  struct container *c = data;
  struct container_rt *rt = container_rt (c);
  rt->stop_timer = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (container_is_running (c))
    {
      container_event (c, "kill", json_pack ("{s:s}", "signal", "9"));
      runtime_container_kill (&rt->cs->rt, c->id, SIGKILL, true, &err);
    }
}

int
container_kill (struct containers *cs, struct container *c, int signo, struct berth_error **err)
{
  if (!container_is_running (c) || c->state.status == CONTAINER_RESTARTING)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "Cannot kill container: %s: Container %s is not running",
                                 c->name + 1, c->id);
  /* docker's killWithSignal: an API kill counts as a manual stop */
  c->state.has_been_manually_stopped = true;
  container_save (c, NULL);
  _cleanup_free_ char *sig = xasprintf ("%d", signo);
  container_event (c, "kill", json_pack ("{s:s}", "signal", sig));
  if (runtime_container_kill (&cs->rt, c->id, signo, false, err) < 0)
    return berth_error_prefix (err, "Cannot kill container: %s", c->name + 1);
  /* a frozen process only takes its signal once thawed */
  if (c->state.status == CONTAINER_PAUSED && (signo == SIGKILL || signo == SIGTERM))
    {
      _cleanup_error_ struct berth_error *ignored = NULL;
      runtime_container_resume (&cs->rt, c->id, &ignored);
    }
  return 0;
}

int
container_stop (struct containers *cs, struct container *c, int timeout_s, const char *signal,
                struct berth_error **err)
{
  struct container_rt *rt = container_rt (c);
  if (rt->starting)
    {
      /* the start is in flight (a policy restart, a concurrent start): the
       * stop applies as soon as the monitor reports in */
      c->state.has_been_manually_stopped = true;
      rt->stop_on_start = true;
      rt->stop_on_start_timeout_s = timeout_s;
      return 0;
    }
  if (c->state.status == CONTAINER_RESTARTING)
    {
      /* waiting for a policy restart: cancelling it is the stop */
      if (rt->restart_timer)
        loop_timer_cancel (rt->restart_timer);
      rt->restart_timer = NULL;
      c->state.status = CONTAINER_EXITED;
      c->state.has_been_manually_stopped = true;
      container_save (c, NULL);
      container_hold (c);
      waiters_notify (c, WAIT_EXIT, NULL);
      return container_release (c) ? 1 : 2;
    }
  if (!container_is_running (c))
    return berth_error_set_kind (err, BERTH_E_NOT_MODIFIED, 0, "Container %s is already stopped",
                                 c->id);
  int signo = SIGTERM;
  const char *sig = signal && *signal ? signal : str_of (c->config, "StopSignal");
  if (*sig && signal_parse (sig, &signo) < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "Invalid signal: %s", sig);
  if (timeout_s < 0)
    {
      json_t *t = json_object_get (c->config, "StopTimeout");
      timeout_s = json_is_integer (t) ? (int)json_integer_value (t) : 10;
    }
  rt->stopping = true;
  if (container_kill (cs, c, signo, err) < 0)
    {
      rt->stopping = false;
      return -1;
    }
  if (rt->stop_timer)
    loop_timer_cancel (rt->stop_timer);
  rt->stop_timer = loop_timer_add (cs->d->loop, (uint64_t)(timeout_s < 0 ? 0 : timeout_s) * 1000,
                                   stop_timeout, c);
  return 0;
}

/* ------------------------------------------------------------ attach -- */

void relay_connect_monitor (struct relay *r, int fd);
uint8_t relay_monitor_want (struct relay *r);

static void
attach_pending_clients (struct containers *cs, struct container *c)
{
  struct container_rt *rt = container_rt (c);
  for (size_t i = 0; i < rt->n_pending_attach; i++)
    {
      struct relay *r = rt->pending_attach[i];
      _cleanup_error_ struct berth_error *err = NULL;
      int fd = monitor_attach_connect (cs, c, relay_monitor_want (r), &err);
      if (fd < 0)
        {
          berth_log (BERTH_LOG_WARNING, "attach %.12s: %s", c->id, err->msg);
          relay_abort (r);
          continue;
        }
      relay_connect_monitor (r, fd);
    }
  free (rt->pending_attach);
  rt->pending_attach = NULL;
  rt->n_pending_attach = 0;
}
