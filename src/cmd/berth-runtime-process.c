/* berth-runtime's commands that turn into container processes: create,
 * run and exec, with what the foreground needs around them (signal
 * forwarding, waiting, and the terminal proxy when no console socket is
 * given). */
#include "cmd/berth-runtime.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

/* --------------------------------------------------- signals and waiting -- */

static volatile pid_t forward_to = -1;
static volatile sig_atomic_t pending_signal;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    kill (forward_to, sig);
  else
    pending_signal = sig; /* the process does not exist yet */
}

/* Installed before the container is created, so a signal that arrives
 * while it starts is not lost (nor kills us): it is forwarded once the
 * process exists. */
static void
install_forwarding (void)
{
  static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  struct sigaction sa = { .sa_handler = forward_signal };
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction (sigs[i], &sa, NULL);
}

static void
forward_to_pid (pid_t pid)
{
  forward_to = pid;
  if (pending_signal)
    kill (pid, pending_signal);
}

static int
exit_code_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 1;
}

static int
recv_fd (int sock)
{
  char data[256];
  char control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control
  };
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) < 0)
    return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

/* Foreground with a terminal and no console socket: we hold the pty master
 * and copy between it and our own stdio until the process exits. */
static int
proxy_and_wait (pid_t pid, int master)
{
  struct termios saved;
  bool raw = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  if (raw)
    {
      struct termios t = saved;
      cfmakeraw (&t);
      tcsetattr (STDIN_FILENO, TCSANOW, &t);
      struct winsize ws;
      if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl (master, TIOCSWINSZ, &ws);
    }
  int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  bool in_open = true;
  char buf[8192];
  for (;;)
    {
      struct pollfd p[3] = { { .fd = master, .events = POLLIN },
                             { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                             { .fd = pidfd, .events = POLLIN } };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents & POLLIN)
        {
          ssize_t n = read (master, buf, sizeof buf);
          if (n > 0)
            fs_write_all (STDOUT_FILENO, buf, (size_t)n);
          else
            p[0].revents |= POLLHUP;
        }
      if (p[1].revents & (POLLIN | POLLHUP))
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n > 0)
            fs_write_all (master, buf, (size_t)n);
          else
            in_open = false;
        }
      if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN))
        break;
      if (p[2].revents & POLLIN)
        {
          /* Drain what the process wrote before it exited. */
          int fl = fcntl (master, F_GETFL);
          fcntl (master, F_SETFL, fl | O_NONBLOCK);
          ssize_t n;
          while ((n = read (master, buf, sizeof buf)) > 0)
            fs_write_all (STDOUT_FILENO, buf, (size_t)n);
          break;
        }
    }
  if (raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pidfd >= 0)
    close (pidfd);
  return exit_code_of (status);
}

static int
wait_child (pid_t pid)
{
  int status = 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return 1;
  return exit_code_of (status);
}

/* -------------------------------------------------------- create / run -- */

/* CVE-2019-5736 needs a process of the container to open /proc/<pid>/exe
 * of a runtime-image process that sits in the container's pid namespace.
 * The container's init is non-dumpable until execve, and if its process is
 * our binary again ("#!/proc/self/exe"), main() makes itself non-dumpable
 * before anything else runs in that namespace: in a NEW pid namespace the
 * init is the first and only process, so no one can race it. A pid
 * namespace that is joined (or the host's) has other processes, and hooks
 * put other processes next to a runtime-image process: then we run from a
 * read-only view of the binary (runtime_exe_protect), as exec always does.
 * Unreadable configs take the safe path. */
static bool
needs_exe_protection (const char *bundle, const char *config)
{
  _cleanup_free_ char *path = config ? xstrdup (config) : xasprintf ("%s/config.json", bundle);
  _cleanup_json_ json_t *j = json_load_file (path, 0, NULL);
  json_t *hooks = json_object_get (j, "hooks");
  if (j == NULL || (json_is_object (hooks) && json_object_size (hooks) > 0))
    return true;
  json_t *ns = json_object_get (json_object_get (j, "linux"), "namespaces");
  size_t i;
  json_t *e;
  json_array_foreach (ns, i, e)
  {
    const char *type = json_string_value (json_object_get (e, "type"));
    const char *nspath = json_string_value (json_object_get (e, "path"));
    if (type && strcmp (type, "pid") == 0)
      return nspath != NULL && nspath[0] != '\0';
  }
  return true;
}

int
cmd_create_or_run (struct globals *g, int argc, char **argv, bool run)
{
  const char *cmd = run ? "run" : "create";
  static const struct option longopts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
    { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
    { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
    { "detach", no_argument, NULL, 'd' },
    { "keep", no_argument, NULL, OPT_KEEP },
    { "no-subreaper", no_argument, NULL, OPT_IGNORED },
    { "config", required_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 },
  };
  struct runtime_create_options o = { .console_socket_fd = -1, .stdio_fds = { -1, -1, -1 } };
  bool detach = !run, keep = false;
  const char *config = NULL;
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+b:df:", longopts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        o.bundle = optarg;
        break;
      case 'f':
        config = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        o.console_socket_path = optarg;
        break;
      case OPT_PID_FILE:
        o.pid_file = optarg;
        break;
      case OPT_PRESERVE_FDS:
        o.preserve_fds = (unsigned)strtoul (optarg, NULL, 10);
        break;
      case OPT_NO_PIVOT:
        o.no_pivot = true;
        break;
      case OPT_NO_NEW_KEYRING:
        o.no_new_keyring = true;
        break;
      case 'd':
        detach = true;
        break;
      case OPT_KEEP:
        keep = true;
        break;
      case OPT_IGNORED:
        break;
      default:
        return usage_error (cmd, "unknown flag (see `berth-runtime %s --help`)", cmd);
      }
  if (optind >= argc)
    return usage_error (cmd, "%s: missing container id", cmd);
  o.id = argv[optind];
  o.bundle = o.bundle ? o.bundle : ".";
  o.config_path = config;
  struct berth_error *perr = NULL;
  if (needs_exe_protection (o.bundle, config) && runtime_exe_protect (g->argv, &perr) < 0)
    return fail (perr, cmd);
  _cleanup_free_ char *abs_pid = NULL;
  if (o.pid_file && o.pid_file[0] != '/')
    {
      char cwd[4096];
      if (getcwd (cwd, sizeof cwd))
        o.pid_file = abs_pid = xasprintf ("%s/%s", cwd, o.pid_file);
    }

  struct berth_error *err = NULL;
  int proxy[2] = { -1, -1 };
  if (run && !detach && o.console_socket_path == NULL)
    {
      /* A terminal in the foreground: receive the master ourselves. */
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, proxy) < 0)
        return usage_error (cmd, "%s", strerror (errno));
      o.console_socket_fd = proxy[1];
    }
  pid_t pid = -1;
  /* The init is our child, except when it is forked by an intermediate
   * (a user namespace joined by path): be its subreaper so we can wait. */
  if (run && !detach)
    {
      prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
      install_forwarding ();
    }
  int r = run ? runtime_container_run (&g->ctx, &o, &pid, &err)
              : runtime_container_create (&g->ctx, &o, &pid, &err);
  if (proxy[1] >= 0)
    close (proxy[1]);
  if (r < 0)
    {
      if (proxy[0] >= 0)
        close (proxy[0]);
      return fail (err, cmd);
    }
  if (!run || detach)
    {
      if (proxy[0] >= 0)
        close (proxy[0]);
      return 0;
    }
  forward_to_pid (pid);
  int code;
  int master = -1;
  if (proxy[0] >= 0)
    {
      /* Nothing arrives when the process has no terminal: don't block. */
      struct pollfd p = { .fd = proxy[0], .events = POLLIN };
      if (poll (&p, 1, 0) == 1)
        master = recv_fd (proxy[0]);
      close (proxy[0]);
    }
  code = master >= 0 ? proxy_and_wait (pid, master) : wait_child (pid);
  if (master >= 0)
    close (master);
  if (!keep && runtime_container_delete (&g->ctx, o.id, true, &err) < 0)
    fail (err, "run (delete)");
  return code;
}

/* ---------------------------------------------------------------- exec -- */

static json_t *
exec_process_from_flags (const char *process_file, char **args, bool tty, const char *cwd,
                         char **env, const char *user, char **caps, char **gids, bool nnp,
                         struct berth_error **err)
{
  json_t *p;
  if (process_file)
    return json_load_path (AT_FDCWD, process_file, err);
  p = json_object ();
  json_t *a = json_array ();
  for (char **s = args; s && *s; s++)
    json_array_append_new (a, json_string (*s));
  json_object_set_new (p, "args", a);
  json_object_set_new (p, "terminal", json_boolean (tty));
  if (cwd)
    json_object_set_new (p, "cwd", json_string (cwd));
  if (env)
    {
      /* --env adds to the container's environment, as runc exec does. */
      json_t *e = json_array ();
      for (char **s = env; *s; s++)
        json_array_append_new (e, json_string (*s));
      json_object_set_new (p, "x-berth-env-add", e);
    }
  if (user || gids)
    {
      unsigned long uid = 0, gid = 0;
      if (user)
        {
          char *end;
          uid = strtoul (user, &end, 10);
          if (*end == ':')
            gid = strtoul (end + 1, &end, 10);
          if (*end)
            {
              json_decref (p);
              berth_error_set_kind (err, BERTH_E_INVALID, 0, "--user `%s`: need uid[:gid]", user);
              return NULL;
            }
        }
      json_t *u = json_pack ("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
      if (gids)
        {
          json_t *ga = json_array ();
          for (char **s = gids; *s; s++)
            json_array_append_new (ga, json_integer (strtol (*s, NULL, 10)));
          json_object_set_new (u, "additionalGids", ga);
        }
      json_object_set_new (p, "user", u);
    }
  if (caps)
    {
      json_t *ca = json_array ();
      for (char **s = caps; *s; s++)
        json_array_append_new (ca, json_string (*s));
      json_object_set_new (p, "x-berth-caps-add", ca);
    }
  if (nnp)
    json_object_set_new (p, "noNewPrivileges", json_true ());
  return p;
}

/* --env and --cap add to what the container's process has: resolve them
 * against the saved config here, the library takes a plain process. */
static int
exec_merge_additions (struct globals *g, const char *id, json_t *p, struct berth_error **err)
{
  json_t *env_add = json_object_get (p, "x-berth-env-add");
  json_t *caps_add = json_object_get (p, "x-berth-caps-add");
  if (env_add == NULL && caps_add == NULL)
    return 0;
  _cleanup_free_ char *path = xasprintf (
      "%s/%s/state.json", g->ctx.state_root ? g->ctx.state_root : RUNTIME_DEFAULT_STATE_ROOT, id);
  _cleanup_json_ json_t *st = json_load_path (AT_FDCWD, path, err);
  if (st == NULL)
    return -1;
  json_t *cproc = json_object_get (json_object_get (st, "config"), "process");
  if (env_add)
    {
      json_t *env = json_deep_copy (json_object_get (cproc, "env"));
      if (env == NULL)
        env = json_array ();
      json_array_extend (env, env_add);
      json_object_set_new (p, "env", env);
      json_object_del (p, "x-berth-env-add");
    }
  if (caps_add)
    {
      json_t *caps = json_deep_copy (json_object_get (cproc, "capabilities"));
      if (caps == NULL)
        caps = json_object ();
      const char *sets[] = { "bounding", "effective", "permitted", "ambient", "inheritable" };
      for (size_t i = 0; i < 5; i++)
        {
          if (strcmp (sets[i], "ambient") == 0 || strcmp (sets[i], "inheritable") == 0)
            if (json_object_get (caps, sets[i]) == NULL)
              continue;
          json_t *set = json_object_get (caps, sets[i]);
          if (set == NULL)
            json_object_set_new (caps, sets[i], set = json_array ());
          json_array_extend (set, caps_add);
        }
      json_object_set_new (p, "capabilities", caps);
      json_object_del (p, "x-berth-caps-add");
    }
  return 0;
}

int
cmd_exec (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "process", required_argument, NULL, 'p' },
    { "tty", no_argument, NULL, 't' },
    { "cwd", required_argument, NULL, OPT_CWD },
    { "env", required_argument, NULL, 'e' },
    { "user", required_argument, NULL, 'u' },
    { "cap", required_argument, NULL, 'c' },
    { "additional-gids", required_argument, NULL, 'g' },
    { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
    { "detach", no_argument, NULL, 'd' },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
    { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
    { "process-label", required_argument, NULL, OPT_IGNORED_ARG },
    { "apparmor", required_argument, NULL, OPT_IGNORED_ARG },
    { "ignore-paused", no_argument, NULL, OPT_IGNORED },
    { "cgroup", required_argument, NULL, OPT_IGNORED_ARG },
    { NULL, 0, NULL, 0 },
  };
  const char *process_file = NULL, *cwd = NULL, *user = NULL;
  _cleanup_strv_ char **env = NULL, **caps = NULL, **gids = NULL;
  bool tty = false, detach = false, nnp = false;
  struct runtime_exec_options o = { .console_socket_fd = -1, .stdio_fds = { -1, -1, -1 } };
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+p:te:u:c:g:d", longopts, NULL)) != -1)
    switch (c)
      {
      case 'p':
        process_file = optarg;
        break;
      case 't':
        tty = true;
        break;
      case OPT_CWD:
        cwd = optarg;
        break;
      case 'e':
        strv_append (&env, optarg);
        break;
      case 'u':
        user = optarg;
        break;
      case 'c':
        strv_append (&caps, optarg);
        break;
      case 'g':
        strv_append (&gids, optarg);
        break;
      case OPT_NO_NEW_PRIVS:
        nnp = true;
        break;
      case 'd':
        detach = true;
        break;
      case OPT_PID_FILE:
        o.pid_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        o.console_socket_path = optarg;
        break;
      case OPT_PRESERVE_FDS:
        o.preserve_fds = (unsigned)strtoul (optarg, NULL, 10);
        break;
      case OPT_IGNORED:
      case OPT_IGNORED_ARG:
        break;
      default:
        return usage_error ("exec", "%s", "unknown flag");
      }
  if (optind >= argc)
    return usage_error ("exec", "%s", "missing container id");
  o.id = argv[optind++];
  if (process_file == NULL && optind >= argc)
    return usage_error ("exec", "%s", "missing the command to run (or --process)");
  struct berth_error *err = NULL;
  _cleanup_json_ json_t *proc = exec_process_from_flags (process_file, argv + optind, tty, cwd, env,
                                                         user, caps, gids, nnp, &err);
  if (proc == NULL || exec_merge_additions (g, o.id, proc, &err) < 0)
    return fail (err, "exec");
  o.process = proc;
  bool has_tty = json_is_true (json_object_get (proc, "terminal"));
  int proxy[2] = { -1, -1 };
  if (has_tty && o.console_socket_path == NULL && !detach)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, proxy) < 0)
        return usage_error ("exec", "%s", strerror (errno));
      o.console_socket_fd = proxy[1];
    }
  pid_t pid;
  if (!detach)
    install_forwarding ();
  int r = runtime_container_exec (&g->ctx, &o, &pid, &err);
  if (proxy[1] >= 0)
    close (proxy[1]);
  if (r < 0)
    return fail (err, "exec");
  if (detach)
    return 0;
  forward_to_pid (pid);
  if (proxy[0] >= 0)
    {
      int master = recv_fd (proxy[0]);
      close (proxy[0]);
      if (master >= 0)
        return proxy_and_wait (pid, master);
    }
  return wait_child (pid);
}
