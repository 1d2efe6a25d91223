/* berth-monitor: one per running container (see monitor.h for the
 * protocol). Small by design: a poll loop over the container's stdio, the
 * attach socket and a signalfd; no threads, fixed buffers. */
#include "daemon/monitor-internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "daemon/logs.h"
#include "runtime/runtime.h"

static void sync_send (int fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
sync_send (int fd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  monitor_vreport (fd, fmt, ap);
  va_end (ap);
}

/* ------------------------------------------------------------- config -- */

static int
config_load (struct monitor *m, const char *exec_dir, json_t **cfg_out, struct berth_error **err)
{
  json_t *cfg = json_load_path (AT_FDCWD, MONITOR_CONFIG_FILE, err);
  if (cfg == NULL)
    return berth_error_prefix (err, "monitor config in %s", exec_dir);
  const char *id = json_string_value (json_object_get (cfg, "id"));
  const char *state_root = json_string_value (json_object_get (cfg, "state_root"));
  const char *cdir = json_string_value (json_object_get (cfg, "container_dir"));
  if (id == NULL || state_root == NULL || cdir == NULL)
    {
      json_decref (cfg);
      return berth_error_set (err, 0,
                              "monitor config: id, state_root and container_dir are required");
    }
  snprintf (m->id, sizeof m->id, "%s", id);
  snprintf (m->state_root, sizeof m->state_root, "%s", state_root);
  m->rt.state_root = m->state_root;
  m->tty = json_is_true (json_object_get (cfg, "tty"));
  m->open_stdin = json_is_true (json_object_get (cfg, "open_stdin"));
  m->stdin_once = json_is_true (json_object_get (cfg, "stdin_once"));
  const char *mp = json_string_value (json_object_get (cfg, "monitor_path"));
  const char *hp = json_string_value (json_object_get (cfg, "hold_path"));
  snprintf (m->monitor_path, sizeof m->monitor_path, "%s", mp ? mp : "");
  snprintf (m->hold_path, sizeof m->hold_path, "%s", hp ? hp : "");
  m->container_dirfd = open (cdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (m->container_dirfd < 0)
    {
      json_decref (cfg);
      return berth_error_set (err, errno, "open %s", cdir);
    }
  *cfg_out = cfg;
  return 0;
}

static int
logging_open (struct monitor *m, json_t *cfg, struct berth_error **err)
{
  const char *driver = json_string_value (json_object_get (cfg, "log_driver"));
  if (driver == NULL || strcmp (driver, "json-file") == 0)
    {
      m->log_driver = LOG_JSON_FILE;
      const char *name = json_string_value (json_object_get (cfg, "log_name"));
      return logs_jsonfile_writer_open (
          &m->jf, m->container_dirfd, name ? name : "container-json.log",
          json_integer_value (json_object_get (cfg, "max_size")),
          (int)json_integer_value (json_object_get (cfg, "max_file")), err);
    }
  if (strcmp (driver, "syslog") == 0)
    {
      m->log_driver = LOG_SYSLOG;
      return logs_syslog_open (&m->sl, json_string_value (json_object_get (cfg, "syslog_address")),
                               json_string_value (json_object_get (cfg, "syslog_facility")),
                               json_string_value (json_object_get (cfg, "tag")), err);
    }
  m->log_driver = LOG_NONE;
  return 0;
}

static int
attach_listen (struct monitor *m, struct berth_error **err)
{
  /* the exec records (monitor.h); its presence also tells berthd that
   * this monitor runs exec processes */
  if (mkdir (MONITOR_EXEC_DIR, 0700) < 0 && errno != EEXIST)
    return berth_error_set (err, errno, "mkdir %s", MONITOR_EXEC_DIR);
  unlink (MONITOR_ATTACH_SOCKET);
  m->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (m->listen_fd < 0)
    return berth_error_set (err, errno, "attach socket");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, MONITOR_ATTACH_SOCKET); /* relative to the exec dir (cwd) */
  if (bind (m->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen (m->listen_fd, 16) < 0)
    return berth_error_set (err, errno, "bind attach socket");
  chmod (MONITOR_ATTACH_SOCKET, 0600);
  return 0;
}

/* berthd connects the network while the runtime sets up the root */
static void
init_cloned (pid_t pid, void *data)
{
  struct monitor *m = data;
  sync_send (m->sync_fd, "cloned %d", (int)pid);
}

static int
container_create (struct monitor *m, json_t *cfg, struct berth_error **err)
{
  char cwd[4096];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return berth_error_set (err, errno, "getcwd");
  struct runtime_create_options opts = {
    .id = m->id,
    .bundle = cwd,
    .console_socket_fd = -1,
    .stdio_fds = { -1, -1, -1 },
    .on_init_cloned = init_cloned,
    .on_init_cloned_data = m,
  };
  _cleanup_close_ int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  _cleanup_close_ int in_r = -1, out_w = -1, err_w = -1, console_ours = -1, console_theirs = -1;
  if (m->tty)
    {
      int sp[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return berth_error_set (err, errno, "console socketpair");
      console_ours = sp[0];
      console_theirs = sp[1];
      opts.console_socket_fd = console_theirs;
      opts.stdio_fds[0] = opts.stdio_fds[1] = opts.stdio_fds[2] = null_fd;
    }
  else
    {
      int p[2];
      if (m->open_stdin)
        {
          if (pipe2 (p, O_CLOEXEC) < 0)
            return berth_error_set (err, errno, "stdin pipe");
          in_r = p[0];
          m->stdin_fd = p[1];
        }
      if (pipe2 (p, O_CLOEXEC) < 0)
        return berth_error_set (err, errno, "stdout pipe");
      m->out_fd[1] = p[0];
      out_w = p[1];
      if (pipe2 (p, O_CLOEXEC) < 0)
        return berth_error_set (err, errno, "stderr pipe");
      m->out_fd[2] = p[0];
      err_w = p[1];
      opts.stdio_fds[0] = in_r >= 0 ? in_r : null_fd;
      opts.stdio_fds[1] = out_w;
      opts.stdio_fds[2] = err_w;
    }
  if (runtime_container_create (&m->rt, &opts, &m->init_pid, err) < 0)
    return -1;
  if (m->tty)
    {
      int master = monitor_recv_fd (console_ours);
      if (master < 0)
        return berth_error_set (err, errno, "receive the pty master");
      m->out_fd[1] = master;
      m->stdin_fd = master;
      json_int_t rows = json_integer_value (json_object_get (cfg, "console_rows"));
      json_int_t cols = json_integer_value (json_object_get (cfg, "console_cols"));
      if (rows > 0 && cols > 0)
        monitor_resize (m, (unsigned)rows, (unsigned)cols);
    }
  return 0;
}

static bool
was_oom_killed (struct monitor *m)
{
  _cleanup_error_ struct berth_error *err = NULL;
  uint64_t kills = 0;
  return runtime_container_oom_kills (&m->rt, m->id, &kills, &err) == 0 && kills > 0;
}

/* delete_runtime false: berthd deletes the runtime state (cgroups, state
 * dir) once it saw us exit — off the path of its answer when the
 * container is removed right away; it does the same for a monitor that
 * was killed, and at its next start if it is away. */
static void
finish (struct monitor *m, bool delete_runtime)
{
  monitor_log_flush (m);
  monitor_clients_close (m);
  bool oom = was_oom_killed (m);
  monitor_write_exit_file (m, oom);
  _cleanup_error_ struct berth_error *err = NULL;
  if (delete_runtime && runtime_container_delete (&m->rt, m->id, true, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "monitor %s: delete: %s", m->id, err->msg);
  unlink (MONITOR_ATTACH_SOCKET);
  if (m->log_driver == LOG_JSON_FILE)
    logs_jsonfile_writer_close (&m->jf);
  else if (m->log_driver == LOG_SYSLOG)
    logs_syslog_close (&m->sl);
}

/* How long the monitor waits for a short-lived container before it moves
 * to the small program: about what two execs cost on an idle machine. */
#define INIT_EXIT_GRACE_MS 5

/* Did the container's init exit within timeout_ms? The SIGCHLD stays
 * pending and the init unreaped (WNOWAIT): monitor_serve reaps it. */
static bool
init_exited_soon (struct monitor *m, int timeout_ms)
{
  struct pollfd p = { .fd = m->sig_fd, .events = POLLIN };
  if (m->sig_fd < 0 || m->init_pid <= 0 || poll (&p, 1, timeout_ms) <= 0)
    return false;
  siginfo_t si = { 0 };
  return waitid (P_PID, (id_t)m->init_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
         && si.si_pid == m->init_pid;
}

/* The next message of berthd that is `what`; -1 when berthd went away. */
static int
wait_for (struct monitor *m, const char *what)
{
  char buf[64];
  for (;;)
    {
      ssize_t n = recv (m->sync_fd, buf, sizeof buf - 1, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      buf[n] = '\0';
      if (strcmp (buf, what) == 0)
        return 0;
    }
}

int
monitor_main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: berth-monitor EXEC_DIR\n");
      return 2;
    }
  /* berthd passes berth-monitor-exec's protected view on this fd when it
   * has one: looked at before we open anything that could land there */
  int exec_helper_fd = -1;
  if (fcntl (MONITOR_EXEC_HELPER_FD, F_SETFD, FD_CLOEXEC) == 0)
    exec_helper_fd = MONITOR_EXEC_HELPER_FD;
  struct monitor m = { .stdin_fd = -1,
                       .out_fd = { -1, -1, -1 },
                       .listen_fd = -1,
                       .sig_fd = -1,
                       .sync_fd = MONITOR_SYNC_FD,
                       .container_dirfd = -1,
                       .exe_fd = open ("/proc/self/exe", O_PATH | O_CLOEXEC),
                       .exec_helper_fd = exec_helper_fd };
  for (int i = 0; i < MAX_CLIENTS; i++)
    m.clients[i].fd = -1;
  fcntl (m.sync_fd, F_SETFD, FD_CLOEXEC);
  _cleanup_error_ struct berth_error *err = NULL;

  /* our own session: a terminal's signals or berthd's process group going
   * away must not reach us; and we reap whatever the container leaves */
  setsid ();
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal (SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  m.sig_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  _cleanup_json_ json_t *cfg = NULL;
  if (chdir (argv[1]) < 0)
    {
      sync_send (m.sync_fd, "error chdir %s: %s", argv[1], strerror (errno));
      return 1;
    }
  /* our own diagnostics go next to the bundle */
  int logfd = open ("monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd >= 0)
    berth_log_configure (logfd, false, BERTH_LOG_WARNING);
  /* berthd writes our configs while we started (monitor.h) */
  if (wait_for (&m, MONITOR_GO) < 0)
    return 1;
  if (config_load (&m, argv[1], &cfg, &err) < 0 || logging_open (&m, cfg, &err) < 0
      || attach_listen (&m, &err) < 0 || container_create (&m, cfg, &err) < 0)
    {
      sync_send (m.sync_fd, "error %s", err->msg);
      if (m.init_pid > 0)
        {
          berth_error_freep (&err);
          runtime_container_delete (&m.rt, m.id, true, &err);
        }
      unlink (MONITOR_ATTACH_SOCKET);
      return 1;
    }
  json_decref (steal_pointer (&cfg));
  sync_send (m.sync_fd, "created %d", (int)m.init_pid);

  if (wait_for (&m, "start") < 0)
    {
      /* berthd went away before start: do not leave a created container */
      runtime_container_delete (&m.rt, m.id, true, &err);
      unlink (MONITOR_ATTACH_SOCKET);
      return 1;
    }
  /* the attach clients connected before "start": take them now so they
   * see the container's first byte */
  for (;;)
    {
      struct pollfd p = { .fd = m.listen_fd, .events = POLLIN };
      if (poll (&p, 1, 0) <= 0)
        break;
      monitor_client_accept (&m);
    }
  if (runtime_container_start (&m.rt, m.id, &err) < 0)
    {
      sync_send (m.sync_fd, "error %s", err->msg);
      berth_error_freep (&err);
      runtime_container_delete (&m.rt, m.id, true, &err);
      unlink (MONITOR_ATTACH_SOCKET);
      return 1;
    }
  sync_send (m.sync_fd, "started");
  close (m.sync_fd);
  m.sync_fd = -1;

  /* from here on only the loop is needed: continue in the small static
   * program (same pid); if that fails, serve from here. A container that
   * is already gone (`run --rm … true`) is finished right here: the exec
   * of the hold and its exec back into this program for --finish would
   * both sit on the path of `docker run`. */
  bool exited_soon = init_exited_soon (&m, INIT_EXIT_GRACE_MS);
  if (!exited_soon)
    monitor_exec_hold (&m, argv[1]);
  monitor_serve (&m);
  finish (&m, !exited_soon);
  return 0;
}

void
monitor_write_exit_file (struct monitor *m, bool oom_killed)
{
  char buf[256];
  int n = snprintf (buf, sizeof buf,
                    "{\"ExitCode\":%d,\"FinishedAt\":%llu,\"OOMKilled\":%s,\"Pid\":%d}\n",
                    m->exit_code, (unsigned long long)time_now_ns (), oom_killed ? "true" : "false",
                    (int)m->init_pid);
  /* Atomic (berthd reads it whole or not at all) but not synced, in the
   * exec dir (our cwd, a tmpfs): it is a hand-off to berthd, which records
   * the exit in the container's config (synced) as soon as it reads it;
   * after a reboot nothing runs and the container is exited whatever this
   * file said. */
  int fd = openat (AT_FDCWD, ".exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                   0600);
  if (fd < 0)
    return;
  bool ok = fs_write_all (fd, buf, (size_t)n) == 0;
  close (fd);
  if (!ok || renameat (AT_FDCWD, ".exit.json.tmp", AT_FDCWD, MONITOR_EXIT_FILE) < 0)
    unlinkat (AT_FDCWD, ".exit.json.tmp", 0);
}

/* ------------------------------------------------------- hold, finish -- */

static void arg_add (char ***argv, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
arg_add (char ***argv, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  strv_append (argv, s);
  free (s);
}

static void
keep_fd (int fd)
{
  if (fd >= 0)
    fcntl (fd, F_SETFD, 0);
}

int
monitor_exec_hold (struct monitor *m, const char *exec_dir)
{
  if (m->hold_path[0] == '\0' || access (m->hold_path, X_OK) < 0)
    return -1;
  _cleanup_strv_ char **argv = NULL;
  strv_append (&argv, "berth-monitor-hold");
  strv_append (&argv, exec_dir);
  arg_add (&argv, "monitor=%s", m->monitor_path);
  arg_add (&argv, "id=%s", m->id);
  arg_add (&argv, "state_root=%s", m->state_root);
  arg_add (&argv, "init=%d", (int)m->init_pid);
  if (m->exe_fd >= 0)
    arg_add (&argv, "exe=%d", m->exe_fd);
  if (m->exec_helper_fd >= 0)
    arg_add (&argv, "exec_helper=%d", m->exec_helper_fd);
  arg_add (&argv, "flags=%d%d%d", m->tty, m->open_stdin, m->stdin_once);
  arg_add (&argv, "fds=%d,%d,%d,%d,%d", m->stdin_fd, m->out_fd[1], m->out_fd[2], m->listen_fd,
           m->container_dirfd);
  if (m->log_driver == LOG_JSON_FILE)
    arg_add (&argv, "jf=%d,%lld,%d,%lld,%s", m->jf.fd, (long long)m->jf.max_size_bytes,
             m->jf.max_files, (long long)m->jf.size_bytes, m->jf.name);
  else if (m->log_driver == LOG_SYSLOG)
    arg_add (&argv, "sl=%d,%d,%d,%ld,%s", m->sl.fd, m->sl.facility, m->sl.stream_socket,
             m->sl.utc_offset_s, m->sl.tag);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0)
      {
        arg_add (&argv, "client=%d,%d", m->clients[i].fd, m->clients[i].want);
        keep_fd (m->clients[i].fd);
      }
  keep_fd (m->stdin_fd);
  keep_fd (m->out_fd[1]);
  keep_fd (m->out_fd[2]);
  keep_fd (m->listen_fd);
  keep_fd (m->container_dirfd);
  keep_fd (m->exe_fd);
  keep_fd (m->exec_helper_fd);
  keep_fd (m->jf.fd);
  keep_fd (m->sl.fd);
  if (m->sig_fd >= 0)
    close (m->sig_fd); /* the hold makes its own; SIGCHLD stays blocked */
  m->sig_fd = -1;
  execv (m->hold_path, argv);
  /* still here: keep serving from this process */
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  m->sig_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  return -1;
}

static const char *
kv (int argc, char **argv, const char *key)
{
  size_t n = strlen (key);
  for (int i = 2; i < argc; i++)
    if (strncmp (argv[i], key, n) == 0 && argv[i][n] == '=')
      return argv[i] + n + 1;
  return NULL;
}

int
monitor_finish_main (int argc, char **argv)
{
  /* berth-monitor --finish EXEC_DIR id=… state_root=… init=… code=… cdir=FD */
  struct monitor m = { .container_dirfd = -1, .exe_fd = -1 };
  const char *id = kv (argc, argv, "id");
  const char *sr = kv (argc, argv, "state_root");
  const char *init = kv (argc, argv, "init");
  const char *code = kv (argc, argv, "code");
  const char *cdir = kv (argc, argv, "cdir");
  if (argc < 3 || !id || !sr || !init || !code || !cdir || chdir (argv[2]) < 0)
    return 2;
  snprintf (m.id, sizeof m.id, "%s", id);
  snprintf (m.state_root, sizeof m.state_root, "%s", sr);
  m.rt.state_root = m.state_root;
  m.init_pid = (pid_t)atoi (init);
  m.exit_code = atoi (code);
  m.container_dirfd = atoi (cdir);
  bool oom = was_oom_killed (&m);
  monitor_write_exit_file (&m, oom);
  _cleanup_error_ struct berth_error *err = NULL;
  if (runtime_container_delete (&m.rt, m.id, true, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "monitor %s: delete: %s", m.id, err->msg);
  unlink (MONITOR_ATTACH_SOCKET);
  return 0;
}
