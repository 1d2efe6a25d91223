/* berth-monitor: one per running container (see monitor.h for the
 * protocol). Small by design: a poll loop over the container's stdio, the
 * attach socket and a signalfd; no threads, fixed buffers. */
#include "daemon/monitor.h"

#include <fcntl.h>
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

#define MAX_CLIENTS 32
#define LINE_MAX_BYTES 16384 /* docker's json-file splits longer lines */

struct client
{
  int fd;
  uint8_t want;
};

struct stream_buf
{
  char data[LINE_MAX_BYTES];
  size_t len;
};

struct monitor
{
  char id[80];
  char state_root[4096];
  bool tty, open_stdin, stdin_once;
  int container_dirfd;
  /* logging */
  enum
  {
    LOG_JSON_FILE,
    LOG_SYSLOG,
    LOG_NONE
  } log_driver;
  struct logs_jsonfile_writer jf;
  struct logs_syslog sl;
  struct stream_buf line[3];
  /* stdio */
  int stdin_fd;  /* write end of the container's stdin (or pty master dup) */
  int out_fd[3]; /* [1] stdout / pty master, [2] stderr; -1 when closed */
  int listen_fd;
  int sig_fd;
  int sync_fd;
  struct client clients[MAX_CLIENTS];
  pid_t init_pid;
  bool init_exited;
  int exit_code;
  struct runtime_context rt;
};

static void
sync_send (int fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
sync_send (int fd, const char *fmt, ...)
{
  if (fd < 0)
    return;
  char buf[4096];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (n > (int) sizeof buf - 1)
    n = sizeof buf - 1;
  send (fd, buf, (size_t) n, MSG_NOSIGNAL);
}

/* --------------------------------------------------------------- logs -- */

static void
log_entry (struct monitor *m, enum log_stream s, const char *data, size_t len)
{
  if (m->log_driver == LOG_JSON_FILE)
    logs_jsonfile_write (&m->jf, s, data, len, time_now_ns ());
  else if (m->log_driver == LOG_SYSLOG)
    logs_syslog_write (&m->sl, s, data, len);
}

/* Split output into lines as docker does: an entry per '\n'-terminated
 * line, partial lines wait for more (up to 16 KiB, then flushed as is). */
static void
log_output (struct monitor *m, enum log_stream s, const char *data, size_t len)
{
  if (m->log_driver == LOG_NONE)
    return;
  struct stream_buf *b = &m->line[s];
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t chunk = nl ? (size_t) (nl - data) + 1 : len;
      if (b->len + chunk > sizeof b->data)
        chunk = sizeof b->data - b->len;
      memcpy (b->data + b->len, data, chunk);
      b->len += chunk;
      data += chunk;
      len -= chunk;
      if (b->data[b->len - 1] == '\n' || b->len == sizeof b->data)
        {
          log_entry (m, s, b->data, b->len);
          b->len = 0;
        }
    }
}

static void
log_flush (struct monitor *m)
{
  for (int s = 1; s <= 2; s++)
    if (m->line[s].len > 0)
      {
        log_entry (m, (enum log_stream) s, m->line[s].data, m->line[s].len);
        m->line[s].len = 0;
      }
}

/* ------------------------------------------------------------- clients -- */

static void
client_drop (struct client *c)
{
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  c->want = 0;
}

static void
clients_send (struct monitor *m, enum log_stream s, const char *data, size_t len)
{
  uint8_t want = s == LOG_STREAM_STDERR ? MONITOR_ATTACH_STDERR : MONITOR_ATTACH_STDOUT;
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      struct client *c = &m->clients[i];
      if (c->fd < 0 || !(c->want & want))
        continue;
      int rc = 0;
      if (!m->tty)
        {
          uint8_t hdr[8];
          logs_frame_header (hdr, s, (uint32_t) len);
          rc = fs_write_all (c->fd, hdr, sizeof hdr);
        }
      if (rc == 0)
        rc = fs_write_all (c->fd, data, len);
      if (rc < 0)
        client_drop (c);
    }
}

static void
stdin_close (struct monitor *m)
{
  if (m->stdin_fd < 0)
    return;
  if (m->tty)
    {
      /* closing the master would hang up the terminal: send EOF instead */
      char eot = 4;
      (void) !write (m->stdin_fd, &eot, 1);
      return;
    }
  close (m->stdin_fd);
  m->stdin_fd = -1;
}

static void
resize (struct monitor *m, unsigned rows, unsigned cols)
{
  if (!m->tty || m->out_fd[1] < 0)
    return;
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
  ioctl (m->out_fd[1], TIOCSWINSZ, &ws);
}

/* Accept one connection and read its request byte (the client writes it
 * right after connect, so this does not wait in practice). */
static void
client_accept (struct monitor *m)
{
  int fd = accept4 (m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  struct timeval tv = { .tv_sec = 5 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint8_t want = 0;
  if (read (fd, &want, 1) != 1)
    {
      close (fd);
      return;
    }
  if (want & MONITOR_ATTACH_RESIZE)
    {
      uint8_t sz[4];
      if (fs_read_all (fd, sz, 4) == 4)
        resize (m, (unsigned) (sz[0] << 8 | sz[1]), (unsigned) (sz[2] << 8 | sz[3]));
      close (fd);
      return;
    }
  /* a slow reader must not stall the container for ever */
  struct timeval snd = { .tv_sec = 30 };
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
  tv.tv_sec = 0;
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd < 0)
      {
        m->clients[i].fd = fd;
        m->clients[i].want = want;
        return;
      }
  close (fd);
}

static void
client_input (struct monitor *m, struct client *c)
{
  char buf[8192];
  ssize_t n = read (c->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      /* stdin EOF from this client */
      if ((c->want & MONITOR_ATTACH_STDIN) && m->stdin_once)
        stdin_close (m);
      c->want &= (uint8_t) ~MONITOR_ATTACH_STDIN;
      if (n < 0 || !(c->want & (MONITOR_ATTACH_STDOUT | MONITOR_ATTACH_STDERR)))
        client_drop (c);
      else
        shutdown (c->fd, SHUT_RD);
      return;
    }
  if ((c->want & MONITOR_ATTACH_STDIN) && m->stdin_fd >= 0)
    if (fs_write_all (m->stdin_fd, buf, (size_t) n) < 0)
      stdin_close (m);
}

/* ------------------------------------------------------------- output -- */

static void
output_read (struct monitor *m, int s)
{
  char buf[32768];
  ssize_t n = read (m->out_fd[s], buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      /* EOF, or EIO on a pty master once the last slave closed */
      if (m->tty && m->stdin_fd == m->out_fd[s])
        m->stdin_fd = -1;
      close (m->out_fd[s]);
      m->out_fd[s] = -1;
      return;
    }
  enum log_stream ls = s == 2 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT;
  log_output (m, ls, buf, (size_t) n);
  clients_send (m, ls, buf, (size_t) n);
}

static void
reap (struct monitor *m)
{
  struct signalfd_siginfo si;
  while (read (m->sig_fd, &si, sizeof si) == sizeof si)
    ;
  for (;;)
    {
      int status;
      pid_t p = waitpid (-1, &status, WNOHANG);
      if (p <= 0)
        break;
      if (p == m->init_pid)
        {
          m->init_exited = true;
          m->exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        }
    }
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
      return berth_error_set (err, 0, "monitor config: id, state_root and container_dir are required");
    }
  snprintf (m->id, sizeof m->id, "%s", id);
  snprintf (m->state_root, sizeof m->state_root, "%s", state_root);
  m->rt.state_root = m->state_root;
  m->tty = json_is_true (json_object_get (cfg, "tty"));
  m->open_stdin = json_is_true (json_object_get (cfg, "open_stdin"));
  m->stdin_once = json_is_true (json_object_get (cfg, "stdin_once"));
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
      return logs_jsonfile_writer_open (&m->jf, m->container_dirfd, name ? name : "container-json.log",
                                        json_integer_value (json_object_get (cfg, "max_size")),
                                        (int) json_integer_value (json_object_get (cfg, "max_file")), err);
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
  unlink (MONITOR_ATTACH_SOCKET);
  m->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (m->listen_fd < 0)
    return berth_error_set (err, errno, "attach socket");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, MONITOR_ATTACH_SOCKET); /* relative to the exec dir (cwd) */
  if (bind (m->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (m->listen_fd, 16) < 0)
    return berth_error_set (err, errno, "bind attach socket");
  chmod (MONITOR_ATTACH_SOCKET, 0600);
  return 0;
}

/* Receive the pty master the runtime sends over the console socket. */
static int
recv_fd (int sock)
{
  char dummy[64];
  struct iovec iov = { .iov_base = dummy, .iov_len = sizeof dummy };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) < 0)
    return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS)
    {
      errno = EPROTO;
      return -1;
    }
  int fd;
  memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
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
      int master = recv_fd (console_ours);
      if (master < 0)
        return berth_error_set (err, errno, "receive the pty master");
      m->out_fd[1] = master;
      m->stdin_fd = master;
      json_int_t rows = json_integer_value (json_object_get (cfg, "console_rows"));
      json_int_t cols = json_integer_value (json_object_get (cfg, "console_cols"));
      if (rows > 0 && cols > 0)
        resize (m, (unsigned) rows, (unsigned) cols);
    }
  return 0;
}

static void
write_exit_file (struct monitor *m, bool oom_killed)
{
  char buf[256];
  int n = snprintf (buf, sizeof buf, "{\"ExitCode\":%d,\"FinishedAt\":%llu,\"OOMKilled\":%s,\"Pid\":%d}\n",
                    m->exit_code, (unsigned long long) time_now_ns (), oom_killed ? "true" : "false",
                    (int) m->init_pid);
  _cleanup_error_ struct berth_error *err = NULL;
  fs_write_file_atomic (m->container_dirfd, MONITOR_EXIT_FILE, buf, (size_t) n, 0600, &err);
}

/* The kernel counts OOM kills in the cgroup; the runtime's stats carry it. */
static bool
was_oom_killed (struct monitor *m)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *st = runtime_container_stats (&m->rt, m->id, &err);
  json_t *mem = json_object_get (st, "memory_stats");
  json_t *stats = json_object_get (mem, "stats");
  json_int_t oom = json_integer_value (json_object_get (stats, "oom_kill"));
  if (oom == 0)
    oom = json_integer_value (json_object_get (mem, "oom_kill"));
  return oom > 0;
}

/* ---------------------------------------------------------------- loop -- */

static void
serve (struct monitor *m)
{
  for (;;)
    {
      bool outputs_open = m->out_fd[1] >= 0 || m->out_fd[2] >= 0;
      if (m->init_exited && !outputs_open)
        break;
      struct pollfd p[4 + MAX_CLIENTS];
      int map[4 + MAX_CLIENTS];
      nfds_t n = 0;
      p[n] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
      map[n++] = -1;
      p[n] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
      map[n++] = -2;
      for (int s = 1; s <= 2; s++)
        if (m->out_fd[s] >= 0)
          {
            p[n] = (struct pollfd){ .fd = m->out_fd[s], .events = POLLIN };
            map[n++] = -10 - s;
          }
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && (m->clients[i].want & MONITOR_ATTACH_STDIN))
          {
            p[n] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLIN };
            map[n++] = i;
          }
      /* once the init is gone, the rest of its output is read until EOF;
       * a process that inherited the pipes and escaped cannot hold us:
       * give up after 2 s without output */
      int timeout = m->init_exited ? 2000 : -1;
      int r = poll (p, n, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0 && m->init_exited)
        break;
      for (nfds_t i = 0; i < n; i++)
        {
          if (!p[i].revents)
            continue;
          if (map[i] == -1)
            reap (m);
          else if (map[i] == -2)
            client_accept (m);
          else if (map[i] <= -11)
            {
              int s = -10 - map[i];
              if (m->out_fd[s] >= 0)
                output_read (m, s);
            }
          else if (m->clients[map[i]].fd >= 0)
            client_input (m, &m->clients[map[i]]);
        }
    }
}

static void
finish (struct monitor *m)
{
  log_flush (m);
  for (int i = 0; i < MAX_CLIENTS; i++)
    client_drop (&m->clients[i]);
  bool oom = was_oom_killed (m);
  write_exit_file (m, oom);
  _cleanup_error_ struct berth_error *err = NULL;
  if (runtime_container_delete (&m->rt, m->id, true, &err) < 0)
    berth_log (BERTH_LOG_WARNING, "monitor %s: delete: %s", m->id, err->msg);
  unlink (MONITOR_ATTACH_SOCKET);
  if (m->log_driver == LOG_JSON_FILE)
    logs_jsonfile_writer_close (&m->jf);
  else if (m->log_driver == LOG_SYSLOG)
    logs_syslog_close (&m->sl);
}

static int
wait_for_start (struct monitor *m)
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
      if (strcmp (buf, "start") == 0)
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
  struct monitor m = { .stdin_fd = -1, .out_fd = { -1, -1, -1 }, .listen_fd = -1, .sig_fd = -1,
                       .sync_fd = MONITOR_SYNC_FD, .container_dirfd = -1 };
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
  sync_send (m.sync_fd, "created %d", (int) m.init_pid);

  if (wait_for_start (&m) < 0)
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
      client_accept (&m);
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

  serve (&m);
  finish (&m);
  return 0;
}
