/* Per-container state under the state root: <root>/<id>/state.json (the
 * config it was created from, the init's pid and start time, its cgroup)
 * and the start socket whose presence means "created". The status is read
 * from the kernel every time, never trusted from the file. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

const char *
state_root (const struct runtime_context *ctx)
{
  return ctx && ctx->state_root ? ctx->state_root : RUNTIME_DEFAULT_STATE_ROOT;
}

char *
state_seccomp_cache_dir (const struct runtime_context *ctx)
{
  if (ctx && ctx->seccomp_cache_dir)
    return xstrdup (ctx->seccomp_cache_dir);
  return xasprintf ("%s.seccomp-cache", state_root (ctx));
}

char *
state_dir_path (const struct runtime_context *ctx, const char *id)
{
  return xasprintf ("%s/%s", state_root (ctx), id);
}

int
state_id_validate (const char *id, struct berth_error **err)
{
  if (id == NULL || id[0] == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "container id: missing");
  if (strlen (id) > 1024 || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "container id `%s`: invalid", id);
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '-' || *p == '.' || *p == '+'))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "container id `%s`: only [A-Za-z0-9_.+-] are allowed", id);
  return 0;
}

/* /proc/<pid>/stat: the state letter and the start time (field 22), which
 * tells a recycled pid from the container's init. */
static int
proc_stat (pid_t pid, char *state, unsigned long long *start)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return -1;
  char st;
  unsigned long long t = 0;
  /* After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
   * majflt cmajflt utime stime cutime cstime priority nice threads
   * itrealvalue starttime(22). */
  if (sscanf (p + 2,
              "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
              &st, &t)
      != 2)
    return -1;
  if (state)
    *state = st;
  if (start)
    *start = t;
  return 0;
}

unsigned long long
proc_start_time (pid_t pid)
{
  unsigned long long t = 0;
  proc_stat (pid, NULL, &t);
  return t;
}

bool
state_pid_alive (const struct container_state *st)
{
  char s;
  unsigned long long t;
  if (st->pid <= 0 || proc_stat (st->pid, &s, &t) < 0)
    return false;
  return s != 'Z' && s != 'X' && t == st->pid_start_time;
}

int
state_save (int dirfd, const struct container_state *st, struct berth_error **err)
{
  _cleanup_json_ json_t *j = json_pack (
      "{s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:b,s:O,s:O}", "ociVersion", "1.2.0", "id", st->id, "pid",
      (int)st->pid, "bundle", st->bundle, "rootfs", st->rootfs, "created", st->created,
      "pid_start_time", (json_int_t)st->pid_start_time, "started", st->started, "config",
      st->config ? st->config : json_null (), "cgroup", st->cgroup ? st->cgroup : json_null ());
  if (j == NULL)
    return berth_error_set (err, ENOMEM, "state.json");
  /* temp + rename, without fsync: the state lives in /run (tmpfs) and
   * means nothing after a reboot, so a sync would only add latency (under
   * I/O load, hundreds of ms) to every container start. Readers see the
   * old file or the new one, never half of one. */
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT);
  _cleanup_close_ int fd
      = openat (dirfd, "state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (text == NULL || fd < 0 || fs_write_all (fd, text, strlen (text)) < 0)
    return berth_error_set (err, errno, "write state.json");
  if (renameat (dirfd, "state.json.tmp", dirfd, "state.json") < 0)
    return berth_error_set (err, errno, "rename state.json");
  return 0;
}

void
state_clear (struct container_state *st)
{
  free (st->id);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  json_decref (st->config);
  json_decref (st->cgroup);
  memset (st, 0, sizeof *st);
}

int
state_load (const struct runtime_context *ctx, const char *id, struct container_state *st,
            int *dirfd_out, struct berth_error **err)
{
  memset (st, 0, sizeof *st);
  if (state_id_validate (id, err) < 0)
    return -1;
  _cleanup_free_ char *dir = state_dir_path (ctx, id);
  _cleanup_close_ int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0 && errno == ENOENT)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "container `%s` does not exist", id);
  if (dirfd < 0)
    return berth_error_set (err, errno, "open state directory `%s`", dir);
  struct berth_error *lerr = NULL;
  _cleanup_json_ json_t *j = json_load_path (dirfd, "state.json", &lerr);
  if (j == NULL)
    {
      if (lerr->errnum == ENOENT)
        {
          berth_error_free (lerr);
          /* create is still running, or died before writing its state. */
          return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                       "container `%s` does not exist (it is still being created)",
                                       id);
        }
      *err = lerr;
      return berth_error_prefix (err, "container `%s`", id);
    }
  st->id = xstrdup (id);
  st->bundle = xstrdup (json_string_value (json_object_get (j, "bundle")) ?: "");
  st->rootfs = xstrdup (json_string_value (json_object_get (j, "rootfs")) ?: "");
  st->created = xstrdup (json_string_value (json_object_get (j, "created")) ?: "");
  st->pid = (pid_t)json_integer_value (json_object_get (j, "pid"));
  st->pid_start_time
      = (unsigned long long)json_integer_value (json_object_get (j, "pid_start_time"));
  st->started = json_is_true (json_object_get (j, "started"));
  st->config = json_incref (json_object_get (j, "config"));
  st->cgroup = json_incref (json_object_get (j, "cgroup"));
  if (json_is_null (st->cgroup))
    {
      json_decref (st->cgroup);
      st->cgroup = NULL;
    }
  if (dirfd_out)
    *dirfd_out = steal_fd (&dirfd);
  return 0;
}

const char *
state_status (const struct container_state *st, int dirfd, struct cgroup *cg)
{
  if (!state_pid_alive (st))
    return "stopped";
  if (faccessat (dirfd, "start.sock", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return "created";
  bool frozen = false;
  if (cg && cgroup_is_frozen (cg, &frozen, NULL) == 0 && frozen)
    return "paused";
  return "running";
}

json_t *
state_to_oci_json (const struct container_state *st, const char *status)
{
  json_t *annotations = NULL;
  if (st->config)
    annotations = json_object_get (st->config, "annotations");
  json_t *j
      = json_pack ("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "ociVersion", "1.2.0", "id", st->id,
                   "status", status, "pid", strcmp (status, "stopped") == 0 ? 0 : (int)st->pid,
                   "bundle", st->bundle, "rootfs", st->rootfs, "created", st->created, "owner", "");
  if (annotations && json_is_object (annotations))
    json_object_set (j, "annotations", annotations);
  return j;
}
