/* Creating a container, the parent's side: load and validate the config,
 * make the state directory and the cgroup, clone the init into its new
 * namespaces (one clone3, no helper exec), map its ids, move it into the
 * cgroup, set its rlimits, run the hooks it asks for, and record its state.
 * Any failure undoes all of it: no process, cgroup or state is left. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

char *
container_hook_state (const struct create_ctx *c, const char *status, pid_t pid)
{
  _cleanup_json_ json_t *j
      = json_pack ("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", "1.2.0", "id", c->opts->id, "status",
                   status, "pid", (int)pid, "bundle", c->bundle);
  if (c->spec->annotations && json_is_object (c->spec->annotations))
    json_object_set (j, "annotations", (json_t *)c->spec->annotations);
  return json_dumps (j, JSON_COMPACT);
}

static void
create_ctx_clear (struct create_ctx *c)
{
  spec_free (c->spec);
  free (c->bundle);
  free (c->rootfs);
  free (c->created);
  if (c->seccomp)
    seccomp_filter_free (c->seccomp);
  if (c->cg)
    cgroup_free (c->cg);
  int *fds[] = { &c->statedirfd, &c->console_sock, &c->listener_sock, &c->start_sock,
                 &c->sync_child, &c->sync_parent,  &c->cg_v2_fd };
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    closep (fds[i]);
  for (size_t i = 0; i < 8; i++)
    closep (&c->ns_fds[i]);
}

static int
write_id_map (pid_t pid, const char *file, const struct spec_id_map *m, size_t n,
              struct berth_error **err)
{
  char buf[4096];
  size_t used = 0;
  for (size_t i = 0; i < n && used < sizeof buf - 40; i++)
    used += (size_t)snprintf (buf + used, sizeof buf - used, "%u %u %u\n", m[i].container_id,
                              m[i].host_id, m[i].size);
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", pid, file);
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, buf, used) != (ssize_t)used)
    return berth_error_set (err, errno, "write %s (linux.%s)", path,
                            strcmp (file, "uid_map") == 0 ? "uidMappings" : "gidMappings");
  return 0;
}

static int
write_oom_score_adj (pid_t pid, int value, struct berth_error **err)
{
  char path[64], buf[16];
  snprintf (path, sizeof path, "/proc/%d/oom_score_adj", pid);
  int n = snprintf (buf, sizeof buf, "%d", value);
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, buf, (size_t)n) != n)
    return berth_error_set (err, errno, "write %s (process.oomScoreAdj %d)", path, value);
  return 0;
}

static int
pid_file_write (const char *path, pid_t pid, struct berth_error **err)
{
  _cleanup_free_ char *tmp = xasprintf ("%s.tmp.%d", path, getpid ());
  char buf[16];
  int n = snprintf (buf, sizeof buf, "%d", pid);
  _cleanup_close_ int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, buf, (size_t)n) != n)
    return berth_error_set (err, errno, "write pid file `%s`", tmp);
  if (rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return berth_error_set (err, saved, "write pid file `%s`", path);
    }
  return 0;
}

/* Listening socket the created init waits on; `start` connects to it.
 * Long state roots are reached through the directory fd. */
static int
start_socket_listen (int dirfd, struct berth_error **err)
{
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "start socket");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/start.sock", dirfd);
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen (fd, 1) < 0)
    return berth_error_set (err, errno, "bind the start socket");
  return steal_fd (&fd);
}

/* Decide how the init's namespaces come to be: most are created by the
 * clone3 itself; the cgroup namespace is unshared by the child once it is
 * in its cgroup; joining a user namespace (or setting time offsets) needs
 * an intermediate process. */
static int
plan_namespaces (struct create_ctx *c, struct berth_error **err)
{
  const struct spec *s = c->spec;
  for (size_t i = 0; i < 8; i++)
    c->ns_fds[i] = -1;
  if (s->n_namespaces > 8)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "linux.namespaces: too many entries");
  const struct spec_namespace *user = spec_find_namespace (s, CLONE_NEWUSER);
  c->use_intermediate = (user && user->path) || s->has_time_offsets;
  c->new_userns = user && user->path == NULL;
  c->in_userns = user != NULL;
  for (size_t i = 0; i < s->n_namespaces; i++)
    {
      const struct spec_namespace *ns = &s->namespaces[i];
      if (ns->path)
        {
          c->ns_fds[i] = open (ns->path, O_RDONLY | O_CLOEXEC);
          if (c->ns_fds[i] < 0)
            return berth_error_set (err, errno, "linux.namespaces[%zu]: open %s namespace `%s`", i,
                                    spec_namespace_name (ns->type), ns->path);
          continue;
        }
      if (ns->type == CLONE_NEWCGROUP)
        continue;
      if (c->use_intermediate && ns->type != CLONE_NEWUSER)
        c->unshare_flags |= ns->type;
      else
        c->clone_flags |= ns->type;
    }
  return 0;
}

/* clone3 straight into the container's cgroup2 directory when there is
 * one: no cgroup.procs write, no global lock (see cgroup_enter_self). */
static pid_t
clone3_child (struct create_ctx *c, int *pidfd)
{
  struct clone_args args = { .flags = (uint64_t)c->clone_flags | CLONE_PIDFD,
                             .pidfd = (uint64_t)(uintptr_t)pidfd,
                             .exit_signal = SIGCHLD };
  if (c->cg_v2_fd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t)c->cg_v2_fd;
    }
  pid_t pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && c->cg_v2_fd >= 0 && errno != ENOMEM && errno != EAGAIN)
    {
      c->enter_v2_in_child = true;
      args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
      args.cgroup = 0;
      pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
    }
  return pid;
}

/* clone the init. A pid namespace joined by path is entered by the parent
 * for the clone only (setns CLONE_NEWPID affects children, not the caller),
 * so the init is born in it without an extra fork. */
static pid_t
spawn_init (struct create_ctx *c, int *pidfd, struct berth_error **err)
{
  const struct spec_namespace *pidns = spec_find_namespace (c->spec, CLONE_NEWPID);
  _cleanup_close_ int own_pidns = -1;
  if (pidns && pidns->path && !c->use_intermediate)
    {
      own_pidns = open ("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
      if (own_pidns < 0)
        return berth_error_set (err, errno, "open /proc/self/ns/pid_for_children");
      for (size_t i = 0; i < c->spec->n_namespaces; i++)
        if (&c->spec->namespaces[i] == pidns && setns (c->ns_fds[i], CLONE_NEWPID) < 0)
          return berth_error_set (err, errno, "join pid namespace `%s`", pidns->path);
    }
  pid_t pid = clone3_child (c, pidfd);
  int saved = errno;
  if (pid == 0)
    container_init_main (c);
  if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0)
    abort (); /* cannot happen: we are going back to our own namespace */
  if (pid < 0)
    return berth_error_set (err, saved, "clone the container init (namespaces %#x)",
                            c->clone_flags);
  return pid;
}

static int
run_parent_hooks (struct create_ctx *c, pid_t pid, struct berth_error **err)
{
  _cleanup_free_ char *state = container_hook_state (c, "creating", pid);
  if (hooks_run (c->spec, HOOK_PRESTART, state, err) < 0
      || hooks_run (c->spec, HOOK_CREATE_RUNTIME, state, err) < 0)
    return -1;
  return 0;
}

/* Drive the init from clone to "created". Only the id maps must exist
 * before the child goes on; the rest of the parent's work (rlimits, state,
 * pid file) runs while the child sets up its root, on the other core. */
static int
parent_setup_init (struct create_ctx *c, pid_t pid, bool run_mode, struct berth_error **err)
{
  const struct spec *s = c->spec;
  if (c->new_userns)
    {
      if (write_id_map (pid, "uid_map", s->uid_maps, s->n_uid_maps, err) < 0
          || write_id_map (pid, "gid_map", s->gid_maps, s->n_gid_maps, err) < 0)
        return -1;
    }
  if (sync_send (c->sync_parent, SYNC_GO, pid, NULL) < 0)
    return berth_error_set (err, errno, "signal the container init");
  if (c->opts->on_init_cloned)
    c->opts->on_init_cloned (pid, c->opts->on_init_cloned_data);
  if (rlimits_apply (pid, s->process.rlimits, s->process.n_rlimits, err) < 0)
    return berth_error_prefix (err, "process.rlimits");
  if (s->process.has_oom_score_adj && write_oom_score_adj (pid, s->process.oom_score_adj, err) < 0)
    return -1;
  struct container_state st = { .id = (char *)c->opts->id,
                                .bundle = c->bundle,
                                .rootfs = c->rootfs,
                                .pid = pid,
                                .pid_start_time = proc_start_time (pid),
                                .created = c->created,
                                .config = c->spec->json,
                                .cgroup = cgroup_to_json (c->cg),
                                .started = run_mode };
  int saved = state_save (c->statedirfd, &st, err);
  json_decref (st.cgroup);
  if (saved < 0)
    return -1;
  if (c->opts->pid_file && pid_file_write (c->opts->pid_file, pid, err) < 0)
    return -1;
  for (;;)
    {
      enum sync_type t;
      if (sync_recv (c->sync_parent, &t, NULL, err) < 0)
        return -1;
      if (t == 0)
        return berth_error_set (err, EPIPE, "the container init exited during setup");
      if (t == SYNC_READY)
        return 0;
      if (t == SYNC_HOOKS)
        {
          if (run_parent_hooks (c, pid, err) < 0)
            return -1;
          sync_send (c->sync_parent, SYNC_HOOKS_DONE, 0, NULL);
          continue;
        }
      return berth_error_set (err, EPROTO, "unexpected message %d from the init", (int)t);
    }
}

static void
kill_and_reap (pid_t pid, int pidfd)
{
  if (pidfd >= 0)
    syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  else if (pid > 0)
    kill (pid, SIGKILL);
  if (pid > 0)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
}

static int
create_prepare (const struct runtime_context *ctx, const struct runtime_create_options *opts,
                bool run_mode, struct create_ctx *c, struct berth_error **err)
{
  c->rt = ctx;
  c->opts = opts;
  if (state_id_validate (opts->id, err) < 0)
    return -1;
  if (opts->bundle == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "bundle: missing");
  c->bundle = realpath (opts->bundle, NULL);
  if (c->bundle == NULL)
    return berth_error_set (err, errno, "bundle `%s`", opts->bundle);
  _cleanup_free_ char *config
      = opts->config_path ? xstrdup (opts->config_path) : xasprintf ("%s/config.json", c->bundle);
  c->spec = spec_load (config, err);
  if (c->spec == NULL)
    return -1;
  const struct spec *s = c->spec;
  c->rootfs = s->root_path[0] == '/' ? xstrdup (s->root_path)
                                     : xasprintf ("%s/%s", c->bundle, s->root_path);
  struct stat st;
  if (stat (c->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
    return berth_error_set (err, errno ? errno : ENOTDIR, "root.path `%s`", c->rootfs);
  if (rlimits_check (s->process.rlimits, s->process.n_rlimits, err) < 0)
    return -1;
  if (s->process.terminal && opts->console_socket_fd < 0 && opts->console_socket_path == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "process.terminal is true but no console socket was given "
                                 "(--console-socket)");
  if (plan_namespaces (c, err) < 0)
    return -1;
  if (s->seccomp_profile_path)
    {
      _cleanup_free_ char *cache = state_seccomp_cache_dir (ctx);
      _cleanup_json_ json_t *profile = NULL;
      c->seccomp = seccomp_filter_compile_cached_file (s->seccomp_profile_path, cache, &profile, err);
      if (c->seccomp == NULL)
        return berth_error_prefix (err, "annotations." RUNTIME_SECCOMP_PROFILE_ANNOTATION);
      /* parsed when the program wants a listener: its path is in there */
      const char *lp = json_string_value (json_object_get (profile, "listenerPath"));
      const char *lm = json_string_value (json_object_get (profile, "listenerMetadata"));
      if (lp && *lp)
        c->spec->seccomp_listener_path = xstrdup (lp);
      if (lm && *lm)
        c->spec->seccomp_listener_metadata = xstrdup (lm);
    }
  if (s->seccomp)
    {
      _cleanup_free_ char *cache = state_seccomp_cache_dir (ctx);
      c->seccomp = seccomp_filter_compile_cached (s->seccomp, cache, NULL, err);
      if (c->seccomp == NULL)
        return berth_error_prefix (err, "linux.seccomp");
    }
  if (c->seccomp)
    {
      if (seccomp_filter_wants_listener (c->seccomp) && s->seccomp_listener_path == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
    }
  if (s->process.terminal)
    {
      c->console_sock = opts->console_socket_fd >= 0
                            ? fcntl (opts->console_socket_fd, F_DUPFD_CLOEXEC, 3)
                            : terminal_connect_socket (opts->console_socket_path, err);
      if (c->console_sock < 0)
        return berth_error_set (err, errno, "console socket");
    }
  if (s->seccomp_listener_path)
    {
      c->listener_sock = terminal_connect_socket (s->seccomp_listener_path, err);
      if (c->listener_sock < 0)
        return berth_error_prefix (err, "linux.seccomp.listenerPath");
    }
  (void)run_mode;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  c->created = time_format_rfc3339nano (&now);
  return 0;
}

static int
create_state_dir (struct create_ctx *c, struct berth_error **err)
{
  const char *root = state_root (c->rt);
  if (fs_mkdir_p (root, 0700, err) < 0)
    return berth_error_prefix (err, "state root");
  _cleanup_close_ int rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_error_set (err, errno, "open state root `%s`", root);
  if (mkdirat (rootfd, c->opts->id, 0700) < 0)
    {
      if (errno == EEXIST)
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "container `%s` already exists",
                                     c->opts->id);
      return berth_error_set (err, errno, "create state directory `%s/%s`", root, c->opts->id);
    }
  c->statedirfd = openat (rootfd, c->opts->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->statedirfd < 0)
    return berth_error_set (err, errno, "open state directory `%s/%s`", root, c->opts->id);
  return 0;
}

static void
remove_state_dir (const struct runtime_context *ctx, const char *id)
{
  _cleanup_close_ int rootfd = open (state_root (ctx), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd >= 0)
    fs_rm_rf_at (rootfd, id, NULL);
}

static int
container_create_internal (const struct runtime_context *ctx,
                           const struct runtime_create_options *opts, bool run_mode,
                           pid_t *init_pid, struct berth_error **err)
{
  struct create_ctx c = { .statedirfd = -1,
                          .console_sock = -1,
                          .listener_sock = -1,
                          .start_sock = -1,
                          .sync_child = -1,
                          .sync_parent = -1,
                          .cg_v2_fd = -1 };
  for (size_t i = 0; i < 8; i++)
    c.ns_fds[i] = -1;
  bool made_state = false;
  pid_t pid = -1;
  int pidfd = -1;
  int r = -1;

  if (create_prepare (ctx, opts, run_mode, &c, err) < 0)
    goto fail;
  if (create_state_dir (&c, err) < 0)
    goto fail;
  made_state = true;
  {
    _cleanup_json_ json_t *res = devices_resources_with_defaults (c.spec);
    c.cg = cgroup_create (opts->id, c.spec->cgroups_path, ctx->systemd_cgroup, res, err);
    if (c.cg == NULL)
      {
        berth_error_prefix (err, "cgroup");
        goto fail;
      }
    c.cg_v2_fd = cgroup_v2_dir_fd (c.cg, err);
    if (c.cg_v2_fd < 0 && err && *err)
      goto fail;
  }
  if (!run_mode && (c.start_sock = start_socket_listen (c.statedirfd, err)) < 0)
    goto fail;
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      berth_error_set (err, errno, "socketpair");
      goto fail;
    }
  c.sync_parent = sv[0];
  c.sync_child = sv[1];

  /* Idmapped mounts need the host's privilege: made here, attached by the init. */
  if (mounts_idmap_prepare (c.spec, c.bundle, err) < 0)
    goto fail;
  pid = spawn_init (&c, &pidfd, err);
  if (pid < 0)
    goto fail;
  closep (&c.sync_child);
  if (c.use_intermediate)
    {
      pid_t intermediate = pid;
      int child = 0;
      int iret = sync_expect (c.sync_parent, SYNC_PID, &child, "fork the init", err);
      while (waitpid (intermediate, NULL, 0) < 0 && errno == EINTR)
        ;
      closep (&pidfd);
      pid = -1;
      if (iret < 0)
        goto fail;
      pid = child;
      pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
    }
  if (parent_setup_init (&c, pid, run_mode, err) < 0)
    goto fail;

  if (run_mode)
    {
      sync_send (c.sync_parent, SYNC_START, 0, NULL);
      /* SYNC_EXEC then EOF: the init's end closed at execve. */
      if (sync_wait_exec (c.sync_parent, err) < 0)
        goto fail;
      _cleanup_free_ char *state = container_hook_state (&c, "running", pid);
      hooks_run_warn (c.spec, HOOK_POSTSTART, state);
    }
  if (init_pid)
    *init_pid = pid;
  r = 0;
  closep (&pidfd);
  create_ctx_clear (&c);
  return r;

fail:
  berth_error_prefix (err, "%s container `%s`", run_mode ? "run" : "create",
                      opts->id ? opts->id : "");
  if (pid > 0)
    kill_and_reap (pid, pidfd);
  closep (&pidfd);
  if (c.cg)
    {
      struct berth_error *cerr = NULL;
      /* Never silent: a cgroup that survives a failed create is a leak. */
      if (cgroup_destroy (c.cg, &cerr) < 0)
        berth_log (BERTH_LOG_ERROR, "create container `%s`: cleanup: %s", opts->id,
                   cerr ? cerr->msg : "cgroup_destroy failed");
      berth_error_free (cerr);
    }
  if (made_state)
    remove_state_dir (ctx, opts->id);
  create_ctx_clear (&c);
  return -1;
}

int
runtime_container_create (const struct runtime_context *ctx,
                          const struct runtime_create_options *opts, pid_t *init_pid,
                          struct berth_error **err)
{
  return container_create_internal (ctx, opts, false, init_pid, err);
}

int
runtime_container_run (const struct runtime_context *ctx, const struct runtime_create_options *opts,
                       pid_t *init_pid, struct berth_error **err)
{
  return container_create_internal (ctx, opts, true, init_pid, err);
}
