/* The container's init, from clone to execve: namespaces joined or entered,
 * root filesystem, hooks that run inside, terminal, identity, then it waits
 * for start (a message on the sync socket for `run`, a connection on the
 * start socket for `create`) and execs the process. Every failure goes back
 * to the parent over the sync socket with its full context. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

static int
join_path_namespaces (struct create_ctx *c, bool user_only, bool skip_user,
                      struct berth_error **err)
{
  const struct spec *s = c->spec;
  for (size_t i = 0; i < s->n_namespaces; i++)
    {
      const struct spec_namespace *ns = &s->namespaces[i];
      if (ns->path == NULL || c->ns_fds[i] < 0)
        continue;
      bool is_user = ns->type == CLONE_NEWUSER;
      if ((user_only && !is_user) || (skip_user && is_user))
        continue;
      /* The parent joined the pid namespace for its clone already. */
      if (ns->type == CLONE_NEWPID && !c->use_intermediate)
        continue;
      if (setns (c->ns_fds[i], ns->type) < 0)
        return berth_error_set (err, errno, "join %s namespace `%s`",
                                spec_namespace_name (ns->type), ns->path);
    }
  return 0;
}

static int
write_time_offsets (const struct spec *s, struct berth_error **err)
{
  int fd = open ("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "open /proc/self/timens_offsets");
  char buf[128];
  int n = snprintf (buf, sizeof buf, "monotonic %lld %u\nboottime %lld %u\n",
                    (long long)s->time_offset_monotonic.secs, s->time_offset_monotonic.nanosecs,
                    (long long)s->time_offset_boottime.secs, s->time_offset_boottime.nanosecs);
  int r = fs_write_all (fd, buf, (size_t)n);
  int saved = errno;
  close (fd);
  if (r < 0)
    return berth_error_set (err, saved, "write linux.timeOffsets");
  return 0;
}

/* Join a user namespace by path (or set time offsets): namespaces that
 * must be owned by it are unshared here and the init is forked from this
 * process; the intermediate reports its pid and exits. */
static void
intermediate_fork (struct create_ctx *c)
{
  struct berth_error *err = NULL;
  int fd = c->sync_child;
  if (join_path_namespaces (c, true, false, &err) < 0)
    sync_child_fail (fd, err);
  if (join_path_namespaces (c, false, true, &err) < 0)
    sync_child_fail (fd, err);
  if (c->unshare_flags && unshare (c->unshare_flags) < 0)
    {
      berth_error_set (&err, errno, "unshare namespaces");
      sync_child_fail (fd, err);
    }
  if (c->spec->has_time_offsets && write_time_offsets (c->spec, &err) < 0)
    sync_child_fail (fd, err);
  pid_t pid = fork ();
  if (pid < 0)
    {
      berth_error_set (&err, errno, "fork the init");
      sync_child_fail (fd, err);
    }
  if (pid > 0)
    {
      sync_send (fd, SYNC_PID, pid, NULL);
      _exit (0);
    }
  /* No parent-death signal here: our parent (the intermediate) exits right
   * away. If the runtime dies, the sync socket reads EOF and we exit. */
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

static void
stdio_setup (struct create_ctx *c)
{
  for (int i = 0; i < 3; i++)
    if (c->opts->stdio_fds[i] >= 0 && c->opts->stdio_fds[i] != i)
      dup2 (c->opts->stdio_fds[i], i);
}

static int
wait_for_start (struct create_ctx *c, int *report_fd, struct berth_error **err)
{
  if (c->start_sock < 0)
    {
      *report_fd = c->sync_child;
      enum sync_type t;
      if (sync_recv (c->sync_child, &t, NULL, err) < 0)
        return -1;
      if (t != SYNC_START)
        _exit (1); /* the runtime went away before start */
      return 0;
    }
  int conn;
  do
    conn = accept4 (c->start_sock, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0)
    return berth_error_set (err, errno, "wait for start");
  close (c->start_sock);
  c->start_sock = -1;
  *report_fd = conn;
  return 0;
}

void
container_init_main (struct create_ctx *c)
{
  struct berth_error *err = NULL;
  const struct spec *s = c->spec;
  int fd = c->sync_child;
  close (c->sync_parent);
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Non-dumpable until execve: nothing in the container may open
   * /proc/<pid>/exe (the runtime's binary) or our memory. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Into the cgroup first, by ourselves: cheap (no global lock), and before
   * any namespace hides the host's cgroup mounts. */
  if (cgroup_enter_self (c->cg, c->enter_v2_in_child, &err) < 0)
    sync_child_fail (fd, err);
  if (c->use_intermediate)
    intermediate_fork (c);

  int host_pid = 0;
  if (sync_expect (fd, SYNC_GO, &host_pid, "wait for the runtime", &err) < 0)
    _exit (1);
  if (c->in_userns && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    {
      berth_error_set (&err, errno, "become root in the user namespace (is uid/gid 0 mapped?)");
      sync_child_fail (fd, err);
    }
  if (!c->use_intermediate && join_path_namespaces (c, false, true, &err) < 0)
    sync_child_fail (fd, err);
  const struct spec_namespace *cgns = spec_find_namespace (s, CLONE_NEWCGROUP);
  /* After the parent moved us into the container's cgroup, so that cgroup
   * is the namespace's root. */
  if (cgns && cgns->path == NULL && unshare (CLONE_NEWCGROUP) < 0)
    {
      berth_error_set (&err, errno, "unshare the cgroup namespace");
      sync_child_fail (fd, err);
    }
  if (!c->opts->no_new_keyring && syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0
      && errno != ENOSYS && errno != EACCES && errno != EDQUOT && errno != EPERM)
    {
      berth_error_set (&err, errno, "join a new session keyring");
      sync_child_fail (fd, err);
    }
  stdio_setup (c);
  setsid ();
  umask (0);

  struct rootfs_context rc = { .spec = s,
                               .bundle = c->bundle,
                               .rootfs_path = c->rootfs,
                               .cg = c->cg,
                               .in_userns = c->in_userns,
                               .no_pivot = c->opts->no_pivot };
  int rootfd = rootfs_prepare (&rc, &err);
  if (rootfd < 0)
    sync_child_fail (fd, err);
  if (s->n_hooks[HOOK_PRESTART] || s->n_hooks[HOOK_CREATE_RUNTIME])
    {
      /* The runtime runs these in its own namespaces, now that the mounts
       * exist and before pivot_root hides the host. */
      sync_send (fd, SYNC_HOOKS, 0, NULL);
      if (sync_expect (fd, SYNC_HOOKS_DONE, NULL, "prestart hooks", &err) < 0)
        _exit (1);
    }
  if (s->n_hooks[HOOK_CREATE_CONTAINER])
    {
      _cleanup_free_ char *state = container_hook_state (c, "created", host_pid);
      if (hooks_run (s, HOOK_CREATE_CONTAINER, state, &err) < 0)
        sync_child_fail (fd, err);
    }
  if (rootfs_finish (&rc, rootfd, &err) < 0)
    sync_child_fail (fd, err);
  close (rootfd);

  if (s->hostname && sethostname (s->hostname, strlen (s->hostname)) < 0)
    {
      berth_error_set (&err, errno, "sethostname `%s`", s->hostname);
      sync_child_fail (fd, err);
    }
  if (s->domainname && setdomainname (s->domainname, strlen (s->domainname)) < 0)
    {
      berth_error_set (&err, errno, "setdomainname `%s`", s->domainname);
      sync_child_fail (fd, err);
    }
  if (s->process.terminal)
    {
      if (terminal_setup (c->console_sock, s->process.console_rows, s->process.console_cols, &err)
          < 0)
        sync_child_fail (fd, err);
      close (c->console_sock);
    }

  /* Without noNewPrivileges, installing a filter needs CAP_SYS_ADMIN: do it
   * before the capabilities go (runc does the same). */
  int listener = -1;
  if (c->seccomp && !s->process.no_new_privileges
      && seccomp_filter_install (c->seccomp, &listener, &err) < 0)
    sync_child_fail (fd, err);
  if (process_apply_identity (&s->process, &err) < 0 || process_chdir (&s->process, &err) < 0)
    sync_child_fail (fd, err);
  _cleanup_free_ char *exe = process_find_executable (&s->process, &err);
  if (exe == NULL)
    sync_child_fail (fd, err);
  if (s->process.no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      berth_error_set (&err, errno, "prctl PR_SET_NO_NEW_PRIVS");
      sync_child_fail (fd, err);
    }
  /* From here the container outlives a `create` that exits: clear the
   * parent-death signal BEFORE saying so, or the parent may exit first. */
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  sync_send (fd, SYNC_READY, 0, NULL);

  int report = -1;
  if (wait_for_start (c, &report, &err) < 0)
    sync_child_fail (fd, err);
  if (s->n_hooks[HOOK_START_CONTAINER])
    {
      _cleanup_free_ char *state = container_hook_state (c, "running", host_pid);
      if (hooks_run (s, HOOK_START_CONTAINER, state, &err) < 0)
        sync_child_fail (report, err);
    }
  /* Said before the filter goes in (a profile may refuse sendto): errors
   * after this still travel, and EOF then means execve happened. */
  sync_send (report, SYNC_EXEC, 0, NULL);
  if (c->seccomp && s->process.no_new_privileges
      && seccomp_filter_install (c->seccomp, &listener, &err) < 0)
    sync_child_fail (report, err);
  if (listener >= 0 && c->listener_sock >= 0)
    {
      _cleanup_free_ char *state = container_hook_state (c, "creating", host_pid);
      if (process_send_seccomp_listener (s, c->listener_sock, listener, state, &err) < 0)
        sync_child_fail (report, err);
      close (listener);
    }
  char **env = process_env_with_home (&s->process);
  if (s->has_personality && personality (s->personality) < 0)
    {
      berth_error_set (&err, errno, "linux.personality");
      sync_child_fail (report, err);
    }
  if (process_close_fds (c->opts->preserve_fds, &err) < 0)
    sync_child_fail (report, err);
  execve (exe, s->process.args, env);
  berth_error_set (&err, errno, "exec `%s`", exe);
  sync_child_fail (report, err);
}
