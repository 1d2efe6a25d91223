/* exec: a new process in a running container. The caller clones it after
 * entering the container's pid namespace (for the clone only), the child
 * joins every other namespace of the init with one setns(pidfd, flags), the
 * parent moves it into the cgroup and sets its rlimits, and the child takes
 * the process's identity, capabilities and seccomp filter before execve. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct exec_ctx
{
  const struct runtime_exec_options *opts;
  struct spec *spec; /* the container's config */
  struct spec_process proc;
  struct seccomp_filter *seccomp;
  int pidfd;
  int join_flags;
  struct cgroup *cg;
  int cg_v2_fd;
  bool enter_v2_in_child;
  int console_sock;
  int sync_child, sync_parent;
};

/* Namespaces of the init that differ from ours: those are joined (joining
 * our own user namespace again would fail). */
static int
exec_join_flags (pid_t pid)
{
  static const int types[] = { CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWUTS,    CLONE_NEWIPC,
                               CLONE_NEWNET,  CLONE_NEWPID, CLONE_NEWCGROUP, CLONE_NEWTIME };
  int flags = 0;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      char theirs[64], ours[64];
      const char *name = spec_namespace_proc_name (types[i]);
      snprintf (theirs, sizeof theirs, "/proc/%d/ns/%s", pid, name);
      snprintf (ours, sizeof ours, "/proc/self/ns/%s", name);
      struct stat a, b;
      if (stat (theirs, &a) == 0 && stat (ours, &b) == 0
          && (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
        flags |= types[i];
    }
  return flags;
}

__attribute__ ((noreturn)) static void
exec_child_main (struct exec_ctx *x)
{
  struct berth_error *err = NULL;
  int fd = x->sync_child;
  close (x->sync_parent);
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (process_apply_cpu_affinity (&x->proc, false, &err) < 0)
    sync_child_fail (fd, err);
  if (x->cg && cgroup_enter_self (x->cg, x->enter_v2_in_child, &err) < 0)
    sync_child_fail (fd, err);
  if (sync_expect (fd, SYNC_GO, NULL, "wait for the runtime", &err) < 0)
    _exit (1);
  int flags = x->join_flags & ~CLONE_NEWPID;
  if (flags && setns (x->pidfd, flags) < 0)
    {
      berth_error_set (&err, errno, "join the container's namespaces (%#x)", flags);
      sync_child_fail (fd, err);
    }
  for (int i = 0; i < 3; i++)
    if (x->opts->stdio_fds[i] >= 0 && x->opts->stdio_fds[i] != i)
      dup2 (x->opts->stdio_fds[i], i);
  setsid ();
  if (x->proc.terminal)
    {
      if (terminal_setup (x->console_sock, x->proc.console_rows, x->proc.console_cols, &err) < 0)
        sync_child_fail (fd, err);
      close (x->console_sock);
    }
  int listener = -1;
  if (x->seccomp && !x->proc.no_new_privileges
      && seccomp_filter_install (x->seccomp, &listener, &err) < 0)
    sync_child_fail (fd, err);
  if (process_apply_identity (&x->proc, &err) < 0 || process_chdir (&x->proc, &err) < 0)
    sync_child_fail (fd, err);
  _cleanup_free_ char *exe = process_find_executable (&x->proc, &err);
  if (exe == NULL)
    sync_child_fail (fd, err);
  if (x->proc.no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      berth_error_set (&err, errno, "prctl PR_SET_NO_NEW_PRIVS");
      sync_child_fail (fd, err);
    }
  sync_send (fd, SYNC_EXEC, 0, NULL);
  if (x->seccomp && x->proc.no_new_privileges
      && seccomp_filter_install (x->seccomp, &listener, &err) < 0)
    sync_child_fail (fd, err);
  if (listener >= 0)
    close (listener);
  char **env = process_env_with_home (&x->proc);
  if (process_close_fds (x->opts->preserve_fds, &err) < 0
      || process_apply_cpu_affinity (&x->proc, true, &err) < 0)
    sync_child_fail (fd, err);
  /* A detached exec outlives the runtime. */
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  execve (exe, x->proc.args, env);
  berth_error_set (&err, errno, "exec `%s`", exe);
  sync_child_fail (fd, err);
}

/* Fields the process object lacks come from the container's process. */
static void
exec_fill_defaults (struct spec_process *p, unsigned present, const struct spec_process *def)
{
  if (!(present & SPEC_PROCESS_HAS_ENV) && def->env)
    p->env = strv_dup (def->env);
  if (!(present & SPEC_PROCESS_HAS_CWD))
    {
      free (p->cwd);
      p->cwd = xstrdup (def->cwd);
    }
  if (!(present & SPEC_PROCESS_HAS_USER))
    {
      p->uid = def->uid;
      p->gid = def->gid;
      p->has_umask = def->has_umask;
      p->umask = def->umask;
      if (def->n_additional_gids)
        {
          p->additional_gids = calloc (def->n_additional_gids, sizeof (gid_t));
          if (p->additional_gids == NULL)
            abort ();
          memcpy (p->additional_gids, def->additional_gids,
                  def->n_additional_gids * sizeof (gid_t));
          p->n_additional_gids = def->n_additional_gids;
        }
    }
  if (!(present & SPEC_PROCESS_HAS_CAPS))
    p->caps = def->caps;
  if (!(present & SPEC_PROCESS_HAS_RLIMITS) && def->n_rlimits)
    {
      p->rlimits = calloc (def->n_rlimits, sizeof *p->rlimits);
      if (p->rlimits == NULL)
        abort ();
      memcpy (p->rlimits, def->rlimits, def->n_rlimits * sizeof *p->rlimits);
      p->n_rlimits = def->n_rlimits;
    }
  if (!(present & SPEC_PROCESS_HAS_NNP))
    p->no_new_privileges = def->no_new_privileges;
}

static void
exec_ctx_clear (struct exec_ctx *x)
{
  spec_free (x->spec);
  spec_process_clear (&x->proc);
  if (x->seccomp)
    seccomp_filter_free (x->seccomp);
  closep (&x->pidfd);
  closep (&x->cg_v2_fd);
  closep (&x->console_sock);
  closep (&x->sync_child);
  closep (&x->sync_parent);
}

static pid_t
exec_spawn (struct exec_ctx *x, struct berth_error **err)
{
  _cleanup_close_ int own_pidns = -1;
  if (x->join_flags & CLONE_NEWPID)
    {
      own_pidns = open ("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
      if (own_pidns < 0)
        return berth_error_set (err, errno, "open /proc/self/ns/pid_for_children");
      if (setns (x->pidfd, CLONE_NEWPID) < 0)
        return berth_error_set (err, errno, "enter the container's pid namespace");
    }
  /* Born non-dumpable: the container cannot open /proc/<pid>/exe of the
   * child between clone and its own prctl. */
  int dumpable = prctl (PR_GET_DUMPABLE, 0, 0, 0, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* A multi-threaded caller (berthd itself) gets glibc's fork(): its atfork
   * handlers leave malloc and stdio usable in the child, which a raw clone3
   * would not. The child then enters cgroup2 itself (a little slower). */
  if (process_is_multithreaded ())
    {
      x->enter_v2_in_child = true;
      pid_t fpid = fork ();
      int fsaved = errno;
      if (fpid == 0)
        exec_child_main (x);
      prctl (PR_SET_DUMPABLE, dumpable, 0, 0, 0);
      if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0)
        abort ();
      if (fpid < 0)
        return berth_error_set (err, fsaved, "fork the exec process");
      return fpid;
    }
  struct clone_args args = { .exit_signal = SIGCHLD };
  /* execCPUAffinity.initial holds until the cgroup join: the child joins. */
  if (x->cg_v2_fd >= 0 && x->proc.has_cpu_initial)
    x->enter_v2_in_child = true;
  else if (x->cg_v2_fd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t)x->cg_v2_fd;
    }
  pid_t pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && x->cg_v2_fd >= 0 && errno != ENOMEM && errno != EAGAIN)
    {
      x->enter_v2_in_child = true;
      args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
      args.cgroup = 0;
      pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
    }
  int saved = errno;
  if (pid == 0)
    exec_child_main (x);
  prctl (PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0)
    abort ();
  if (pid < 0)
    return berth_error_set (err, saved, "clone the exec process");
  return pid;
}

static int
exec_parent (struct exec_ctx *x, pid_t pid, struct berth_error **err)
{
  if (rlimits_apply (pid, x->proc.rlimits, x->proc.n_rlimits, err) < 0)
    return berth_error_prefix (err, "process.rlimits");
  if (sync_send (x->sync_parent, SYNC_GO, pid, NULL) < 0)
    return berth_error_set (err, errno, "signal the exec process");
  /* SYNC_EXEC, then EOF: its end of the socket closed at execve. */
  return sync_wait_exec (x->sync_parent, err);
}

int
runtime_container_exec (const struct runtime_context *ctx, const struct runtime_exec_options *opts,
                        pid_t *pid_out, struct berth_error **err)
{
  struct exec_ctx x = { .opts = opts,
                        .pidfd = -1,
                        .console_sock = -1,
                        .sync_child = -1,
                        .sync_parent = -1,
                        .cg_v2_fd = -1 };
  struct container_state st;
  _cleanup_close_ int dirfd = -1;
  struct cgroup *cg = NULL;
  pid_t pid = -1;
  int r = -1;
  memset (&st, 0, sizeof st);

  if (state_load (ctx, opts->id, &st, &dirfd, err) < 0)
    goto out;
  if (st.cgroup && (cg = cgroup_from_json (st.cgroup, err)) == NULL)
    goto out;
  const char *status = state_status (&st, dirfd, cg);
  if (strcmp (status, "running") != 0 && strcmp (status, "created") != 0)
    {
      berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "the container is %s", status);
      goto out;
    }
  x.spec = spec_parse (st.config, err);
  if (x.spec == NULL)
    goto out;
  unsigned present = 0;
  if (opts->process == NULL)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "process: missing");
      goto out;
    }
  if (spec_process_parse (opts->process, "process", &x.proc, &present, err) < 0)
    goto out;
  exec_fill_defaults (&x.proc, present, &x.spec->process);
  if (rlimits_check (x.proc.rlimits, x.proc.n_rlimits, err) < 0)
    goto out;
  if (x.proc.terminal)
    {
      if (opts->console_socket_fd < 0 && opts->console_socket_path == NULL)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "process.terminal is true but no console socket was given");
          goto out;
        }
      x.console_sock = opts->console_socket_fd >= 0
                           ? fcntl (opts->console_socket_fd, F_DUPFD_CLOEXEC, 3)
                           : terminal_connect_socket (opts->console_socket_path, err);
      if (x.console_sock < 0)
        goto out;
    }
  if (x.spec->seccomp)
    {
      _cleanup_free_ char *cache = state_seccomp_cache_dir (ctx);
      if ((x.seccomp = seccomp_filter_compile_cached (x.spec->seccomp, cache, NULL, err)) == NULL)
        goto out;
    }
  else if (x.spec->seccomp_profile_path)
    {
      _cleanup_free_ char *cache = state_seccomp_cache_dir (ctx);
      _cleanup_json_ json_t *profile = NULL;
      x.seccomp
          = seccomp_filter_compile_cached_file (x.spec->seccomp_profile_path, cache, &profile, err);
      if (x.seccomp == NULL)
        {
          berth_error_prefix (err, "annotations." RUNTIME_SECCOMP_PROFILE_ANNOTATION);
          goto out;
        }
    }
  x.pidfd = (int)syscall (SYS_pidfd_open, st.pid, 0);
  if (x.pidfd < 0 || !state_pid_alive (&st))
    {
      berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "the container's init is gone");
      goto out;
    }
  x.join_flags = exec_join_flags (st.pid);
  x.cg = cg;
  if (cg && (x.cg_v2_fd = cgroup_v2_dir_fd (cg, err)) < 0 && err && *err)
    goto out;
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      berth_error_set (err, errno, "socketpair");
      goto out;
    }
  x.sync_parent = sv[0];
  x.sync_child = sv[1];
  pid = exec_spawn (&x, err);
  if (pid < 0)
    goto out;
  closep (&x.sync_child);
  if (exec_parent (&x, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      goto out;
    }
  if (opts->pid_file)
    {
      _cleanup_free_ char *tmp = xasprintf ("%s.tmp.%d", opts->pid_file, getpid ());
      char buf[16];
      int n = snprintf (buf, sizeof buf, "%d", pid);
      _cleanup_close_ int pf = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (pf < 0 || write (pf, buf, (size_t)n) != n || rename (tmp, opts->pid_file) < 0)
        {
          berth_error_set (err, errno, "write pid file `%s`", opts->pid_file);
          goto out;
        }
    }
  *pid_out = pid;
  r = 0;
out:
  if (r < 0)
    berth_error_prefix (err, "exec in container `%s`", opts->id ? opts->id : "");
  if (cg)
    cgroup_free (cg);
  state_clear (&st);
  exec_ctx_clear (&x);
  return r;
}
