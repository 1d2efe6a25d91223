/* A created container's life after create: start, state, list, kill,
 * pause/resume, update, ps, stats and delete. Each reads the state the
 * create wrote and asks the kernel (pid + start time, cgroup) what is true
 * now. */
#include "runtime/runtime-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

struct loaded
{
  struct container_state st;
  int dirfd;
  struct cgroup *cg;
  struct spec *spec;
};

static void
loaded_clear (struct loaded *l)
{
  state_clear (&l->st);
  closep (&l->dirfd);
  if (l->cg)
    cgroup_free (l->cg);
  spec_free (l->spec);
  memset (l, 0, sizeof *l);
  l->dirfd = -1;
}
#define _cleanup_loaded_ _cleanup_ (loaded_clear)

static int
load (const struct runtime_context *ctx, const char *id, struct loaded *l, bool need_spec,
      struct berth_error **err)
{
  memset (l, 0, sizeof *l);
  l->dirfd = -1;
  if (state_load (ctx, id, &l->st, &l->dirfd, err) < 0)
    return -1;
  if (l->st.cgroup)
    {
      l->cg = cgroup_from_json (l->st.cgroup, err);
      if (l->cg == NULL)
        return berth_error_prefix (err, "container `%s`: cgroup", id);
    }
  /* The saved config is only needed for its hooks: skip the parse without. */
  if (need_spec && l->st.config && json_object_get (l->st.config, "hooks"))
    {
      l->spec = spec_parse (l->st.config, err);
      if (l->spec == NULL)
        return berth_error_prefix (err, "container `%s`: saved config", id);
    }
  return 0;
}

static char *
hook_state (const struct loaded *l, const char *status)
{
  _cleanup_json_ json_t *j = state_to_oci_json (&l->st, status);
  return json_dumps (j, JSON_COMPACT);
}

int
runtime_container_start (const struct runtime_context *ctx, const char *id,
                         struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, true, err) < 0)
    return -1;
  const char *status = state_status (&l.st, l.dirfd, l.cg);
  if (strcmp (status, "created") != 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "start container `%s`: it is %s, not created", id, status);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/start.sock", l.dirfd);
  if (fd < 0 || connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return berth_error_set (err, errno, "start container `%s`: connect to its init", id);
  /* Only one start wins: the socket file goes with the first connection. */
  if (unlinkat (l.dirfd, "start.sock", 0) < 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, errno,
                                 "start container `%s`: already being started", id);
  if (sync_wait_exec (fd, err) < 0)
    return berth_error_prefix (err, "start container `%s`", id);
  l.st.started = true;
  if (state_save (l.dirfd, &l.st, err) < 0)
    return berth_error_prefix (err, "start container `%s`", id);
  if (l.spec && l.spec->n_hooks[HOOK_POSTSTART])
    {
      _cleanup_free_ char *state = hook_state (&l, "running");
      hooks_run_warn (l.spec, HOOK_POSTSTART, state);
    }
  return 0;
}

json_t *
runtime_container_state (const struct runtime_context *ctx, const char *id,
                         struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return NULL;
  return state_to_oci_json (&l.st, state_status (&l.st, l.dirfd, l.cg));
}

json_t *
runtime_container_list (const struct runtime_context *ctx, struct berth_error **err)
{
  json_t *list = json_array ();
  _cleanup_closedir_ DIR *d = opendir (state_root (ctx));
  if (d == NULL)
    {
      if (errno == ENOENT)
        return list;
      json_decref (list);
      return berth_error_set (err, errno, "list `%s`", state_root (ctx)), NULL;
    }
  struct dirent *e;
  while ((e = readdir (d)))
    {
      if (e->d_name[0] == '.')
        continue;
      json_t *st = runtime_container_state (ctx, e->d_name, NULL);
      if (st)
        json_array_append_new (list, st);
    }
  return list;
}

int
runtime_signal_parse (const char *name, int *signo)
{
  static const struct
  {
    const char *name;
    int signo;
  } sigs[] = {
    { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
    { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
    { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
    { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
    { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
    { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
    { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
    { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
    { "SYS", SIGSYS },
  };
  if (name == NULL || name[0] == '\0')
    return -1;
  char *end;
  long n = strtol (name, &end, 10);
  if (*end == '\0')
    {
      if (n <= 0 || n > SIGRTMAX)
        return -1;
      *signo = (int)n;
      return 0;
    }
  const char *s = str_has_prefix (name, "SIG") ? name + 3 : name;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (strcasecmp (sigs[i].name, s) == 0)
      {
        *signo = sigs[i].signo;
        return 0;
      }
  if (str_has_prefix (s, "RTMIN") || str_has_prefix (s, "RTMAX"))
    {
      bool min = str_has_prefix (s, "RTMIN");
      long off = s[5] ? strtol (s + 5, &end, 10) : 0;
      if (s[5] && *end)
        return -1;
      int v = min ? SIGRTMIN + (int)off : SIGRTMAX + (int)off;
      if (v < SIGRTMIN || v > SIGRTMAX)
        return -1;
      *signo = v;
      return 0;
    }
  return -1;
}

/* pidfd of the init, checked against its recorded start time so a recycled
 * pid is never signalled. -1 when it is gone. */
static int
init_pidfd (const struct container_state *st)
{
  if (st->pid <= 0)
    return -1;
  int fd = (int)syscall (SYS_pidfd_open, st->pid, 0);
  if (fd < 0)
    return -1;
  if (!state_pid_alive (st))
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
runtime_container_kill (const struct runtime_context *ctx, const char *id, int signo, bool all,
                        struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return -1;
  _cleanup_close_ int pidfd = init_pidfd (&l.st);
  if (pidfd < 0 && !all)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "kill container `%s`: it is not running",
                                 id);
  if (all && l.cg)
    {
      if (cgroup_kill_all (l.cg, signo, err) < 0)
        return berth_error_prefix (err, "kill --all container `%s`", id);
      return 0;
    }
  if (syscall (SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
    return berth_error_set (err, errno, "kill container `%s` (pid %d) with signal %d", id, l.st.pid,
                            signo);
  return 0;
}

static int
wait_gone (int pidfd, pid_t pid, int timeout_ms)
{
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  int r = poll (&p, 1, timeout_ms);
  /* Reap it when it is our child (run, the monitor); otherwise its parent
   * (a subreaper) does. */
  waitpid (pid, NULL, WNOHANG);
  return r;
}

int
runtime_container_delete (const struct runtime_context *ctx, const char *id, bool force,
                          struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, true, err) < 0)
    return -1;
  const char *status = state_status (&l.st, l.dirfd, l.cg);
  /* runc deletes a created (never started) container without --force:
   * containerd relies on it to clean up after a failed start. */
  if (strcmp (status, "created") == 0)
    force = true;
  if (strcmp (status, "stopped") != 0)
    {
      if (!force)
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "delete container `%s`: it is %s (stop it first, or force)",
                                     id, status);
      _cleanup_close_ int pidfd = init_pidfd (&l.st);
      if (l.cg)
        {
          if (strcmp (status, "paused") == 0)
            cgroup_freeze (l.cg, false, NULL);
          cgroup_kill_all (l.cg, SIGKILL, NULL);
        }
      if (pidfd >= 0)
        {
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          wait_gone (pidfd, l.st.pid, 10000);
        }
    }
  if (l.cg && cgroup_destroy (l.cg, err) < 0)
    return berth_error_prefix (err, "delete container `%s`", id);
  if (l.spec && l.spec->n_hooks[HOOK_POSTSTOP])
    {
      _cleanup_free_ char *state = hook_state (&l, "stopped");
      hooks_run_warn (l.spec, HOOK_POSTSTOP, state);
    }
  _cleanup_close_ int rootfd = open (state_root (ctx), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || fs_rm_rf_at (rootfd, id, err) < 0)
    return berth_error_prefix (err, "delete container `%s`: remove state", id);
  return 0;
}

static int
freeze (const struct runtime_context *ctx, const char *id, bool frozen, struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return -1;
  const char *status = state_status (&l.st, l.dirfd, l.cg);
  const char *want = frozen ? "running" : "paused";
  if (strcmp (status, want) != 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "%s container `%s`: it is %s, not %s",
                                 frozen ? "pause" : "resume", id, status, want);
  if (l.cg == NULL || cgroup_freeze (l.cg, frozen, err) < 0)
    return berth_error_prefix (err, "%s container `%s`", frozen ? "pause" : "resume", id);
  return 0;
}

int
runtime_container_pause (const struct runtime_context *ctx, const char *id,
                         struct berth_error **err)
{
  return freeze (ctx, id, true, err);
}

int
runtime_container_resume (const struct runtime_context *ctx, const char *id,
                          struct berth_error **err)
{
  return freeze (ctx, id, false, err);
}

int
runtime_container_update (const struct runtime_context *ctx, const char *id,
                          const json_t *resources, struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return -1;
  if (strcmp (state_status (&l.st, l.dirfd, l.cg), "stopped") == 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "update container `%s`: it is stopped",
                                 id);
  if (l.cg == NULL || cgroup_update (l.cg, resources, err) < 0)
    return berth_error_prefix (err, "update container `%s`", id);
  return 0;
}

int
runtime_container_ps (const struct runtime_context *ctx, const char *id, pid_t **pids,
                      size_t *n_pids, struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return -1;
  if (l.cg == NULL || cgroup_pids (l.cg, pids, n_pids, err) < 0)
    return berth_error_prefix (err, "ps container `%s`", id);
  return 0;
}

int
runtime_container_oom_kills (const struct runtime_context *ctx, const char *id, uint64_t *count,
                             struct berth_error **err)
{
  *count = 0;
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return -1;
  if (l.cg && cgroup_oom_kills (l.cg, count, err) < 0)
    return berth_error_prefix (err, "oom kills of container `%s`", id);
  return 0;
}

json_t *
runtime_container_stats (const struct runtime_context *ctx, const char *id,
                         struct berth_error **err)
{
  _cleanup_loaded_ struct loaded l;
  if (load (ctx, id, &l, false, err) < 0)
    return NULL;
  json_t *j = l.cg ? cgroup_stats (l.cg, err) : NULL;
  if (j == NULL)
    berth_error_prefix (err, "stats container `%s`", id);
  return j;
}
