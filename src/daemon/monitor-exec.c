/* The monitor's exec processes (protocol in monitor.h): made by a
 * berth-monitor-exec child (monitor-exec-helper.c: the runtime library
 * lives there, not here; `berth-monitor --exec` without it),
 * inherited by the monitor as their subreaper, their stdio held here and
 * their exit recorded in execs/<id>.exit, so that they outlive berthd like
 * the container does. No runtime and no JSON: berth-monitor-hold links this
 * statically and stays small (fixed slots, no buffers of its own). */
#include "daemon/monitor-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define TAG_BASE (-100)

int
monitor_recv_fd (int sock)
{
  char dummy[64];
  struct iovec iov = { .iov_base = dummy, .iov_len = sizeof dummy };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
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

static void
reply (int fd, const char *a, const char *b)
{
  char line[600];
  int n = snprintf (line, sizeof line, "%s%s\n", a, b);
  if (n > (int)sizeof line - 1)
    n = (int)sizeof line - 1;
  fs_write_all (fd, line, (size_t)n);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static struct monitor_exec *
exec_find (struct monitor *m, const char *id)
{
  for (int i = 0; i < MAX_EXECS && m->n_execs > 0; i++)
    if (m->execs[i].pid > 0 && strcmp (m->execs[i].id, id) == 0)
      return &m->execs[i];
  return NULL;
}

/* The client (berthd's stream) is gone: like dockerd, the exec's stdin
 * closes with it; its output is read and dropped from now on. */
static void
client_gone (struct monitor_exec *e)
{
  close_fd (&e->client_fd);
  if (!e->tty)
    close_fd (&e->in_fd);
}

static void
output_read (struct monitor_exec *e, int s)
{
  char buf[16384];
  ssize_t n = read (e->out_fd[s], buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      /* EOF, or EIO on a pty master once the last slave closed */
      if (e->tty)
        e->in_fd = -1;
      close_fd (&e->out_fd[s]);
      return;
    }
  if (e->client_fd < 0)
    return;
  int rc = 0;
  if (!e->tty)
    {
      uint8_t hdr[8];
      logs_frame_header (hdr, s == 2 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT, (uint32_t)n);
      rc = fs_write_all (e->client_fd, hdr, sizeof hdr);
    }
  if (rc == 0)
    rc = fs_write_all (e->client_fd, buf, (size_t)n);
  if (rc < 0)
    client_gone (e);
}

/* Exited: take the output still buffered, record the code, and only then
 * close the connections (their EOF tells berthd the record is there). */
static void
exec_finish (struct monitor *m, struct monitor_exec *e)
{
  for (int s = 1; s <= 2; s++)
    while (e->out_fd[s] >= 0)
      {
        /* what is buffered now; a writer that escaped (a background
         * child holding the pipe) cannot keep us here */
        struct pollfd p = { .fd = e->out_fd[s], .events = POLLIN };
        if (poll (&p, 1, 0) <= 0)
          {
            close_fd (&e->out_fd[s]);
            break;
          }
        output_read (e, s);
      }
  if (e->tty)
    e->in_fd = -1; /* the pty master, closed above */
  char name[MONITOR_EXEC_ID_LEN + 32], tmp[MONITOR_EXEC_ID_LEN + 32], rec[16];
  snprintf (name, sizeof name, MONITOR_EXEC_DIR "/%s.exit", e->id);
  snprintf (tmp, sizeof tmp, MONITOR_EXEC_DIR "/.%s.exit.tmp", e->id);
  int n = snprintf (rec, sizeof rec, "%d\n", e->exit_code);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    {
      bool ok = fs_write_all (fd, rec, (size_t)n) == 0;
      close (fd);
      if (!ok || rename (tmp, name) < 0)
        unlink (tmp);
    }
  close_fd (&e->in_fd);
  close_fd (&e->out_fd[1]);
  close_fd (&e->out_fd[2]);
  close_fd (&e->client_fd);
  close_fd (&e->watch_fd);
  e->pid = 0;
  m->n_execs--;
}

/* The process's stdio: pipes (or /dev/null) for what berthd attaches, or
 * the console socket the runtime sends the pty master over. */
static int
exec_spawn (struct monitor *m, struct monitor_exec *e, uint8_t flags, int *console_ours,
            char *errbuf, size_t errlen)
{
  int child[5] = { -1, -1, -1, -1, -1 };
  int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int p[2], st[2] = { -1, -1 };
  int rc = -1;
  if (e->tty)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        goto out;
      *console_ours = p[0];
      child[3] = p[1];
    }
  else
    {
      if ((flags & MONITOR_EXEC_STDIN) && pipe2 (p, O_CLOEXEC) == 0)
        child[0] = p[0], e->in_fd = p[1];
      if ((flags & MONITOR_EXEC_STDOUT) && pipe2 (p, O_CLOEXEC) == 0)
        e->out_fd[1] = p[0], child[1] = p[1];
      if ((flags & MONITOR_EXEC_STDERR) && pipe2 (p, O_CLOEXEC) == 0)
        e->out_fd[2] = p[0], child[2] = p[1];
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) < 0)
    goto out;
  child[4] = st[1];
  pid_t helper = fork ();
  if (helper == 0)
    {
      /* move everything above the targets first, then into place */
      int hi[5];
      for (int i = 0; i < 5; i++)
        hi[i] = fcntl (child[i] >= 0 ? child[i] : null_fd, F_DUPFD, 10);
      /* the static helper when berthd gave us one, else ourselves */
      bool own = m->exec_helper_fd < 0;
      int from = own ? m->exe_fd : m->exec_helper_fd;
      int exe = from >= 0 ? fcntl (from, F_DUPFD, 10) : -1;
      for (int i = 0; i < 5; i++)
        if (i < 3 || child[i] >= 0)
          dup2 (hi[i], i);
      if (exe >= 0)
        exe = dup3 (exe, 5, O_CLOEXEC);
      /* the raw call: musl (the hold's libc) has no close_range wrapper */
      syscall (SYS_close_range, 6, ~0u, 0);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGPIPE, SIG_DFL);
      char *argv[] = { (char *)"berth-monitor", (char *)"--exec", (char *)".", e->id, NULL };
      char *helper_argv[] = { (char *)"berth-monitor-exec", (char *)".", e->id, NULL };
      if (exe >= 0)
        syscall (SYS_execveat, exe, "", own ? argv : helper_argv, environ, AT_EMPTY_PATH);
      execv (m->monitor_path, argv);
      static const char msg[] = "error cannot run berth-monitor --exec";
      send (4, msg, sizeof msg - 1, MSG_NOSIGNAL);
      _exit (127);
    }
  close_fd (&st[1]);
  child[4] = -1;
  if (helper < 0)
    goto out;
  /* one message: "pid <n>" or "error <text>" (the helper is quick: it
   * only joins the container and clones) */
  struct timeval tv = { .tv_sec = 30 };
  setsockopt (st[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char msg[512];
  ssize_t n = recv (st[0], msg, sizeof msg - 1, 0);
  msg[n > 0 ? n : 0] = '\0';
  if (strncmp (msg, "pid ", 4) == 0 && atoi (msg + 4) > 0)
    {
      e->pid = (pid_t)atoi (msg + 4);
      rc = 0;
    }
  else
    snprintf (errbuf, errlen, "%s",
              strncmp (msg, "error ", 6) == 0 ? msg + 6 : "berth-monitor --exec failed");
out:
  if (rc < 0 && errbuf[0] == '\0')
    snprintf (errbuf, errlen, "exec setup: %s", strerror (errno));
  for (int i = 0; i < 5; i++)
    close_fd (&child[i]);
  close_fd (&st[0]);
  close_fd (&null_fd);
  return rc;
}

static void
exec_start (struct monitor *m, int fd, const struct monitor_exec_request *rq, const char *id)
{
  struct monitor_exec *e = NULL;
  for (int i = 0; i < MAX_EXECS && e == NULL; i++)
    if (m->execs[i].pid == 0)
      e = &m->execs[i];
  if (exec_find (m, id))
    {
      reply (fd, "error exec instance exists: ", id);
      close (fd);
      return;
    }
  if (e == NULL)
    {
      reply (fd, "error too many running exec processes in this container", "");
      close (fd);
      return;
    }
  *e = (struct monitor_exec){ .tty = rq->flags & MONITOR_EXEC_TTY,
                              .in_fd = -1,
                              .out_fd = { -1, -1, -1 },
                              .client_fd = -1,
                              .watch_fd = -1 };
  memcpy (e->id, id, sizeof e->id);
  int console = -1;
  char errbuf[512] = "";
  if (exec_spawn (m, e, rq->flags, &console, errbuf, sizeof errbuf) < 0)
    {
      reply (fd, "error ", errbuf);
      close (fd);
      close_fd (&console);
      close_fd (&e->in_fd);
      close_fd (&e->out_fd[1]);
      close_fd (&e->out_fd[2]);
      e->pid = 0;
      return;
    }
  for (int s = 1; s <= 2; s++)
    if (e->out_fd[s] >= 0)
      fcntl (e->out_fd[s], F_SETFL, fcntl (e->out_fd[s], F_GETFL) | O_NONBLOCK);
  if (e->tty)
    {
      int master = monitor_recv_fd (console);
      if (master >= 0)
        fcntl (master, F_SETFL, fcntl (master, F_GETFL) | O_NONBLOCK);
      close_fd (&console);
      e->in_fd = e->out_fd[1] = master;
      unsigned rows = (unsigned)(rq->rows[0] << 8 | rq->rows[1]);
      unsigned cols = (unsigned)(rq->cols[0] << 8 | rq->cols[1]);
      if (master >= 0 && rows > 0 && cols > 0)
        {
          struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
          ioctl (master, TIOCSWINSZ, &ws);
        }
    }
  m->n_execs++;
  char pid[24];
  snprintf (pid, sizeof pid, "%d", (int)e->pid);
  reply (fd, "pid ", pid);
  bool attached = e->tty || (rq->flags & (MONITOR_EXEC_STDIN | MONITOR_EXEC_STDOUT
                                          | MONITOR_EXEC_STDERR));
  if (attached)
    e->client_fd = fd;
  else
    e->watch_fd = fd;
}

void
monitor_exec_request (struct monitor *m, int fd)
{
  struct monitor_exec_request rq;
  if (fs_read_all (fd, &rq, sizeof rq) != (ssize_t)sizeof rq)
    {
      close (fd);
      return;
    }
  /* the id names files: hex only */
  char id[MONITOR_EXEC_ID_LEN + 1];
  memcpy (id, rq.id, MONITOR_EXEC_ID_LEN);
  id[MONITOR_EXEC_ID_LEN] = '\0';
  for (int i = 0; i < MONITOR_EXEC_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      {
        reply (fd, "error bad exec id", "");
        close (fd);
        return;
      }
  /* a slow reader must not stall the container for ever */
  struct timeval snd = { .tv_sec = 30 }, rcv = { 0 };
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
  struct monitor_exec *e = exec_find (m, id);
  switch (rq.op)
    {
    case 'S':
      exec_start (m, fd, &rq, id);
      return;
    case 'W':
      if (e == NULL)
        {
          reply (fd, "error not running: ", id);
          close (fd);
          return;
        }
      close_fd (&e->watch_fd);
      char pid[24];
      snprintf (pid, sizeof pid, "%d", (int)e->pid);
      reply (fd, "pid ", pid);
      e->watch_fd = fd;
      return;
    case 'R':
      if (e && e->tty && e->out_fd[1] >= 0)
        {
          struct winsize ws = { .ws_row = (unsigned short)(rq.rows[0] << 8 | rq.rows[1]),
                                .ws_col = (unsigned short)(rq.cols[0] << 8 | rq.cols[1]) };
          ioctl (e->out_fd[1], TIOCSWINSZ, &ws);
        }
      close (fd);
      return;
    default:
      close (fd);
    }
}

nfds_t
monitor_exec_pollfds (struct monitor *m, struct pollfd *p, int *map, nfds_t n)
{
  for (int i = 0; i < MAX_EXECS && m->n_execs > 0; i++)
    {
      struct monitor_exec *e = &m->execs[i];
      if (e->pid <= 0)
        continue;
      int fds[4] = { e->watch_fd, e->out_fd[1], e->out_fd[2], e->client_eof ? -1 : e->client_fd };
      for (int k = 0; k < 4; k++)
        if (fds[k] >= 0)
          {
            p[n] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
            map[n++] = TAG_BASE - (i * 4 + k);
          }
    }
  return n;
}

void
monitor_exec_event (struct monitor *m, int tag, short revents)
{
  (void)revents;
  int i = (TAG_BASE - tag) / 4, k = (TAG_BASE - tag) % 4;
  struct monitor_exec *e = &m->execs[i];
  if (e->pid <= 0)
    return;
  if (k == 1 || k == 2)
    {
      if (e->out_fd[k] >= 0)
        output_read (e, k);
      return;
    }
  int *fd = k == 0 ? &e->watch_fd : &e->client_fd;
  if (*fd < 0)
    return;
  char buf[8192];
  ssize_t n = read (*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (k == 0)
    {
      /* a watcher sends nothing: this is its hang-up */
      if (n <= 0)
        close_fd (fd);
      return;
    }
  if (n < 0)
    client_gone (e);
  else if (n == 0)
    {
      /* stdin EOF; the client still reads the output (a write error
       * tells us when it is gone) */
      if (!e->tty)
        close_fd (&e->in_fd);
      e->client_eof = true;
    }
  else if (e->in_fd >= 0 && fs_write_all (e->in_fd, buf, (size_t)n) < 0 && !e->tty)
    close_fd (&e->in_fd);
}

bool
monitor_exec_reaped (struct monitor *m, pid_t pid, int status)
{
  for (int i = 0; i < MAX_EXECS && m->n_execs > 0; i++)
    {
      struct monitor_exec *e = &m->execs[i];
      if (e->pid != pid || pid <= 0)
        continue;
      e->exited = true;
      e->exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
      exec_finish (m, e);
      return true;
    }
  return false;
}

void
monitor_exec_finish_all (struct monitor *m)
{
  for (int i = 0; i < MAX_EXECS && m->n_execs > 0; i++)
    {
      struct monitor_exec *e = &m->execs[i];
      if (e->pid <= 0)
        continue;
      /* the init is gone; what is left of the exec goes with it (a
       * process outside the container's pid namespace would not) */
      kill (e->pid, SIGKILL);
      int status = 0;
      pid_t pid = e->pid;
      if (waitpid (pid, &status, 0) != pid)
        status = 128 + SIGKILL;
      monitor_exec_reaped (m, pid, status);
    }
}
