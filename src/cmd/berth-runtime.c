/* berth-runtime: the runc/crun command line over the runtime library, so
 * containerd, CRI-O and podman can drive berth unchanged. Parses flags,
 * calls runtime.h, prints, and turns errors into a message on stderr, a
 * JSON (or text) line in --log, and a non-zero exit. */
#include "runtime/runtime.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

struct globals
{
  struct runtime_context ctx;
  const char *log_path;
  bool log_json;
  bool debug;
};

static int
fail (struct berth_error *err, const char *cmd)
{
  const char *msg = err && err->msg ? err->msg : "unknown error";
  berth_log (BERTH_LOG_ERROR, "%s: %s", cmd, msg);
  fprintf (stderr, "berth-runtime %s: %s\n", cmd, msg);
  berth_error_free (err);
  return 1;
}

static int usage_error (const char *cmd, const char *fmt, const char *arg)
    __attribute__ ((format (printf, 2, 0)));

static int
usage_error (const char *cmd, const char *fmt, const char *arg)
{
  struct berth_error *err = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  berth_error_set_kind (&err, BERTH_E_INVALID, 0, fmt, arg);
#pragma GCC diagnostic pop
  return fail (err, cmd);
}

static void
reset_getopt (void)
{
  optind = 0;
}

static int
print_json (json_t *j)
{
  char *s = json_dumps (j, JSON_INDENT (2));
  if (s == NULL)
    return 1;
  puts (s);
  free (s);
  return 0;
}

/* --------------------------------------------------- signals and waiting -- */

static volatile pid_t forward_to = -1;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    kill (forward_to, sig);
}

static void
install_forwarding (pid_t pid)
{
  forward_to = pid;
  static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  struct sigaction sa = { .sa_handler = forward_signal };
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction (sigs[i], &sa, NULL);
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
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                        .msg_controllen = sizeof control };
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
  int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
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
            fs_write_all (STDOUT_FILENO, buf, (size_t) n);
          else
            p[0].revents |= POLLHUP;
        }
      if (p[1].revents & (POLLIN | POLLHUP))
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n > 0)
            fs_write_all (master, buf, (size_t) n);
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
            fs_write_all (STDOUT_FILENO, buf, (size_t) n);
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

enum
{
  OPT_BUNDLE = 1000,
  OPT_CONSOLE_SOCKET,
  OPT_PID_FILE,
  OPT_PRESERVE_FDS,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_DETACH,
  OPT_KEEP,
  OPT_NO_SUBREAPER,
  OPT_PROCESS,
  OPT_TTY,
  OPT_CWD,
  OPT_ENV,
  OPT_USER,
  OPT_CAP,
  OPT_ADDITIONAL_GIDS,
  OPT_NO_NEW_PRIVS,
  OPT_FORMAT,
  OPT_RESOURCES,
  OPT_ALL,
  OPT_FORCE,
  OPT_QUIET,
  OPT_IGNORED,
  OPT_IGNORED_ARG,
  OPT_UPDATE_BASE,
};

static int
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
      case 'b': o.bundle = optarg; break;
      case 'f': config = optarg; break;
      case OPT_CONSOLE_SOCKET: o.console_socket_path = optarg; break;
      case OPT_PID_FILE: o.pid_file = optarg; break;
      case OPT_PRESERVE_FDS: o.preserve_fds = (unsigned) strtoul (optarg, NULL, 10); break;
      case OPT_NO_PIVOT: o.no_pivot = true; break;
      case OPT_NO_NEW_KEYRING: o.no_new_keyring = true; break;
      case 'd': detach = true; break;
      case OPT_KEEP: keep = true; break;
      case OPT_IGNORED: break;
      default: return usage_error (cmd, "unknown flag (see `berth-runtime %s --help`)", cmd);
      }
  if (optind >= argc)
    return usage_error (cmd, "%s: missing container id", cmd);
  o.id = argv[optind];
  o.bundle = o.bundle ? o.bundle : ".";
  o.config_path = config;
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
  install_forwarding (pid);
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
      json_t *u = json_pack ("{s:I,s:I}", "uid", (json_int_t) uid, "gid", (json_int_t) gid);
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
  _cleanup_free_ char *path = xasprintf ("%s/%s/state.json",
                                         g->ctx.state_root ? g->ctx.state_root : RUNTIME_DEFAULT_STATE_ROOT, id);
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

static int
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
      case 'p': process_file = optarg; break;
      case 't': tty = true; break;
      case OPT_CWD: cwd = optarg; break;
      case 'e': strv_append (&env, optarg); break;
      case 'u': user = optarg; break;
      case 'c': strv_append (&caps, optarg); break;
      case 'g': strv_append (&gids, optarg); break;
      case OPT_NO_NEW_PRIVS: nnp = true; break;
      case 'd': detach = true; break;
      case OPT_PID_FILE: o.pid_file = optarg; break;
      case OPT_CONSOLE_SOCKET: o.console_socket_path = optarg; break;
      case OPT_PRESERVE_FDS: o.preserve_fds = (unsigned) strtoul (optarg, NULL, 10); break;
      case OPT_IGNORED:
      case OPT_IGNORED_ARG: break;
      default: return usage_error ("exec", "%s", "unknown flag");
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
  int r = runtime_container_exec (&g->ctx, &o, &pid, &err);
  if (proxy[1] >= 0)
    close (proxy[1]);
  if (r < 0)
    return fail (err, "exec");
  if (detach)
    return 0;
  install_forwarding (pid);
  if (proxy[0] >= 0)
    {
      int master = recv_fd (proxy[0]);
      close (proxy[0]);
      if (master >= 0)
        return proxy_and_wait (pid, master);
    }
  return wait_child (pid);
}

/* ----------------------------------------------------- simple commands -- */

static const char *
one_id (int argc, char **argv, const char *cmd, const struct option *longopts, const char *shortopts,
        int (*on_opt) (int, void *), void *data)
{
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, shortopts, longopts, NULL)) != -1)
    if (on_opt == NULL || on_opt (c, data) < 0)
      {
        usage_error (cmd, "%s", "unknown flag");
        return NULL;
      }
  if (optind >= argc)
    {
      usage_error (cmd, "%s: missing container id", cmd);
      return NULL;
    }
  return argv[optind];
}

static int
opt_flag (int c, void *data)
{
  if (c == '?')
    return -1;
  *(int *) data = c;
  return 0;
}

static int
cmd_simple (struct globals *g, int argc, char **argv, const char *cmd)
{
  struct berth_error *err = NULL;
  static const struct option none[] = { { NULL, 0, NULL, 0 } };
  const char *id = one_id (argc, argv, cmd, none, "+", NULL, NULL);
  if (id == NULL)
    return 1;
  int r;
  if (strcmp (cmd, "start") == 0)
    r = runtime_container_start (&g->ctx, id, &err);
  else if (strcmp (cmd, "pause") == 0)
    r = runtime_container_pause (&g->ctx, id, &err);
  else if (strcmp (cmd, "resume") == 0)
    r = runtime_container_resume (&g->ctx, id, &err);
  else
    {
      json_t *st = runtime_container_state (&g->ctx, id, &err);
      if (st == NULL)
        return fail (err, cmd);
      print_json (st);
      json_decref (st);
      return 0;
    }
  return r < 0 ? fail (err, cmd) : 0;
}

static int
cmd_kill (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  int flag = 0;
  const char *id = one_id (argc, argv, "kill", longopts, "+a", opt_flag, &flag);
  if (id == NULL)
    return 1;
  int signo = SIGTERM;
  if (optind + 1 < argc && runtime_signal_parse (argv[optind + 1], &signo) < 0)
    return usage_error ("kill", "unknown signal `%s`", argv[optind + 1]);
  struct berth_error *err = NULL;
  if (runtime_container_kill (&g->ctx, id, signo, flag == 'a', &err) < 0)
    return fail (err, "kill");
  return 0;
}

static int
cmd_delete (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  int flag = 0;
  const char *id = one_id (argc, argv, "delete", longopts, "+f", opt_flag, &flag);
  if (id == NULL)
    return 1;
  struct berth_error *err = NULL;
  if (runtime_container_delete (&g->ctx, id, flag == 'f', &err) < 0)
    {
      /* runc: deleting what does not exist with --force is not an error. */
      if (flag == 'f' && err && err->kind == BERTH_E_NOT_FOUND)
        {
          berth_error_free (err);
          return 0;
        }
      return fail (err, "delete");
    }
  return 0;
}

static int
cmd_ps (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
                                            { NULL, 0, NULL, 0 } };
  const char *format = "table";
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+f:", longopts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else
      return usage_error ("ps", "%s", "unknown flag");
  if (optind >= argc)
    return usage_error ("ps", "%s", "missing container id");
  struct berth_error *err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;
  if (runtime_container_ps (&g->ctx, argv[optind], &pids, &n, &err) < 0)
    return fail (err, "ps");
  if (strcmp (format, "json") == 0)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, json_integer (pids[i]));
      char *s = json_dumps (a, JSON_COMPACT);
      puts (s);
      free (s);
      json_decref (a);
    }
  else
    {
      printf ("PID\tCMD\n");
      for (size_t i = 0; i < n; i++)
        {
          char path[64], cmd[256] = "";
          snprintf (path, sizeof path, "/proc/%d/cmdline", pids[i]);
          int fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd >= 0)
            {
              ssize_t r = read (fd, cmd, sizeof cmd - 1);
              close (fd);
              for (ssize_t k = 0; k < r - 1; k++)
                if (cmd[k] == '\0')
                  cmd[k] = ' ';
              cmd[r > 0 ? r : 0] = '\0';
            }
          printf ("%d\t%s\n", pids[i], cmd);
        }
    }
  free (pids);
  return 0;
}

static int
cmd_list (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
                                            { "quiet", no_argument, NULL, 'q' },
                                            { NULL, 0, NULL, 0 } };
  const char *format = "table";
  bool quiet = false;
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+f:q", longopts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else if (c == 'q')
      quiet = true;
    else
      return usage_error ("list", "%s", "unknown flag");
  struct berth_error *err = NULL;
  json_t *list = runtime_container_list (&g->ctx, &err);
  if (list == NULL)
    return fail (err, "list");
  if (strcmp (format, "json") == 0)
    {
      char *s = json_dumps (list, JSON_COMPACT);
      puts (s);
      free (s);
    }
  else
    {
      if (!quiet)
        printf ("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        const char *id = json_string_value (json_object_get (e, "id"));
        if (quiet)
          printf ("%s\n", id);
        else
          printf ("%s\t%lld\t%s\t%s\t%s\t%s\n", id,
                  (long long) json_integer_value (json_object_get (e, "pid")),
                  json_string_value (json_object_get (e, "status")),
                  json_string_value (json_object_get (e, "bundle")),
                  json_string_value (json_object_get (e, "created")), "root");
      }
    }
  json_decref (list);
  return 0;
}

/* update: --resources FILE (or - for stdin) and runc's single-value flags,
 * merged into one linux.resources object. */
static int
cmd_update (struct globals *g, int argc, char **argv)
{
  enum
  {
    U_MEMORY = OPT_UPDATE_BASE,
    U_MEMORY_SWAP,
    U_MEMORY_RESERVATION,
    U_KERNEL_MEMORY,
    U_CPU_SHARES,
    U_CPU_QUOTA,
    U_CPU_PERIOD,
    U_CPU_RT_RUNTIME,
    U_CPU_RT_PERIOD,
    U_CPUSET_CPUS,
    U_CPUSET_MEMS,
    U_PIDS_LIMIT,
    U_BLKIO_WEIGHT,
  };
  static const struct option longopts[] = {
    { "resources", required_argument, NULL, 'r' },
    { "memory", required_argument, NULL, U_MEMORY },
    { "memory-swap", required_argument, NULL, U_MEMORY_SWAP },
    { "memory-reservation", required_argument, NULL, U_MEMORY_RESERVATION },
    { "kernel-memory", required_argument, NULL, U_KERNEL_MEMORY },
    { "kernel-memory-tcp", required_argument, NULL, OPT_IGNORED_ARG },
    { "cpu-shares", required_argument, NULL, U_CPU_SHARES },
    { "cpu-quota", required_argument, NULL, U_CPU_QUOTA },
    { "cpu-period", required_argument, NULL, U_CPU_PERIOD },
    { "cpu-rt-runtime", required_argument, NULL, U_CPU_RT_RUNTIME },
    { "cpu-rt-period", required_argument, NULL, U_CPU_RT_PERIOD },
    { "cpuset-cpus", required_argument, NULL, U_CPUSET_CPUS },
    { "cpuset-mems", required_argument, NULL, U_CPUSET_MEMS },
    { "pids-limit", required_argument, NULL, U_PIDS_LIMIT },
    { "blkio-weight", required_argument, NULL, U_BLKIO_WEIGHT },
    { NULL, 0, NULL, 0 },
  };
  struct berth_error *err = NULL;
  _cleanup_json_ json_t *res = NULL;
  _cleanup_json_ json_t *flags = json_object ();
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+r:", longopts, NULL)) != -1)
    {
      if (c == 'r')
        {
          res = strcmp (optarg, "-") == 0 ? json_loadf (stdin, 0, NULL)
                                          : json_load_path (AT_FDCWD, optarg, &err);
          if (res == NULL)
            return err ? fail (err, "update") : usage_error ("update", "--resources %s: bad JSON", optarg);
          continue;
        }
      if (c == OPT_IGNORED_ARG)
        continue;
      if (c < U_MEMORY || c > U_BLKIO_WEIGHT)
        return usage_error ("update", "%s", "unknown flag");
      static const char *const paths[][2] = {
        { "memory", "limit" },       { "memory", "swap" },      { "memory", "reservation" },
        { "memory", "kernel" },      { "cpu", "shares" },       { "cpu", "quota" },
        { "cpu", "period" },         { "cpu", "realtimeRuntime" }, { "cpu", "realtimePeriod" },
        { "cpu", "cpus" },           { "cpu", "mems" },         { "pids", "limit" },
        { "blockIO", "weight" },
      };
      const char *group = paths[c - U_MEMORY][0], *key = paths[c - U_MEMORY][1];
      json_t *obj = json_object_get (flags, group);
      if (obj == NULL)
        json_object_set_new (flags, group, obj = json_object ());
      if (c == U_CPUSET_CPUS || c == U_CPUSET_MEMS)
        json_object_set_new (obj, key, json_string (optarg));
      else
        {
          char *end;
          long long v = strtoll (optarg, &end, 10);
          if (*end)
            return usage_error ("update", "--%s: not a number", longopts[c - U_MEMORY + 1].name);
          json_object_set_new (obj, key, json_integer (v));
        }
    }
  if (optind >= argc)
    return usage_error ("update", "%s", "missing container id");
  if (res == NULL)
    res = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (flags, k, v)
  {
    json_t *dst = json_object_get (res, k);
    if (dst == NULL)
      json_object_set (res, k, v);
    else
      json_object_update (dst, v);
  }
  if (runtime_container_update (&g->ctx, argv[optind], res, &err) < 0)
    return fail (err, "update");
  return 0;
}

static int
cmd_spec (int argc, char **argv)
{
  static const struct option longopts[] = { { "bundle", required_argument, NULL, 'b' },
                                            { "rootless", no_argument, NULL, OPT_IGNORED },
                                            { NULL, 0, NULL, 0 } };
  const char *bundle = ".";
  int c;
  reset_getopt ();
  while ((c = getopt_long_only (argc, argv, "+b:", longopts, NULL)) != -1)
    if (c == 'b')
      bundle = optarg;
    else if (c != OPT_IGNORED)
      return usage_error ("spec", "%s", "unknown flag");
  _cleanup_free_ char *path = xasprintf ("%s/config.json", bundle);
  if (access (path, F_OK) == 0)
    return usage_error ("spec", "`%s` already exists", path);
  _cleanup_json_ json_t *j = runtime_spec_default ();
  if (json_dump_file (j, path, JSON_INDENT (2)) < 0)
    return usage_error ("spec", "write `%s` failed", path);
  return 0;
}

static void
help (void)
{
  puts ("usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]\n"
        "                     [--debug] COMMAND [OPTIONS] ID\n"
        "commands: create, start, state, kill, delete, run, exec, ps, pause, resume, update,\n"
        "          features, spec, list");
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "root", required_argument, NULL, 'r' },
    { "log", required_argument, NULL, 'l' },
    { "log-format", required_argument, NULL, 'F' },
    { "systemd-cgroup", no_argument, NULL, 's' },
    { "debug", no_argument, NULL, 'D' },
    { "criu", required_argument, NULL, OPT_IGNORED_ARG },
    { "rootless", required_argument, NULL, OPT_IGNORED_ARG },
    { "version", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct globals g = { 0 };
  int c;
  while ((c = getopt_long_only (argc, argv, "+vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'r': g.ctx.state_root = optarg; break;
      case 'l': g.log_path = optarg; break;
      case 'F':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "text") != 0)
          return usage_error ("", "--log-format `%s`: use text or json", optarg);
        g.log_json = strcmp (optarg, "json") == 0;
        break;
      case 's': g.ctx.systemd_cgroup = true; break;
      case 'D': g.debug = true; break;
      case 'v': printf ("berth-runtime version %s\nspec: 1.2.0\n", BERTH_VERSION); return 0;
      case 'h': help (); return 0;
      case OPT_IGNORED_ARG: break;
      default: help (); return 1;
      }
  struct berth_error *err = NULL;
  if (runtime_log_open (g.log_path, g.log_json, g.debug, &err) < 0)
    return fail (err, "log");
  if (optind >= argc)
    {
      help ();
      return 1;
    }
  const char *cmd = argv[optind];
  int cargc = argc - optind;
  char **cargv = argv + optind;
  /* CVE-2019-5736: commands that turn into container processes run from a
   * read-only view of this binary. */
  if (strcmp (cmd, "create") == 0 || strcmp (cmd, "run") == 0 || strcmp (cmd, "exec") == 0)
    if (runtime_exe_protect (argv, &err) < 0)
      return fail (err, cmd);

  if (strcmp (cmd, "create") == 0)
    return cmd_create_or_run (&g, cargc, cargv, false);
  if (strcmp (cmd, "run") == 0)
    return cmd_create_or_run (&g, cargc, cargv, true);
  if (strcmp (cmd, "exec") == 0)
    return cmd_exec (&g, cargc, cargv);
  if (strcmp (cmd, "start") == 0 || strcmp (cmd, "state") == 0 || strcmp (cmd, "pause") == 0
      || strcmp (cmd, "resume") == 0)
    return cmd_simple (&g, cargc, cargv, cmd);
  if (strcmp (cmd, "kill") == 0)
    return cmd_kill (&g, cargc, cargv);
  if (strcmp (cmd, "delete") == 0)
    return cmd_delete (&g, cargc, cargv);
  if (strcmp (cmd, "ps") == 0)
    return cmd_ps (&g, cargc, cargv);
  if (strcmp (cmd, "list") == 0)
    return cmd_list (&g, cargc, cargv);
  if (strcmp (cmd, "update") == 0)
    return cmd_update (&g, cargc, cargv);
  if (strcmp (cmd, "spec") == 0)
    return cmd_spec (cargc, cargv);
  if (strcmp (cmd, "features") == 0)
    {
      _cleanup_json_ json_t *f = runtime_features ();
      return print_json (f);
    }
  return usage_error (cmd, "unknown command `%s`", cmd);
}
