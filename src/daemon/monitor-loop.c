/* The monitor's serving loop (see monitor-internal.h): output split into
 * log lines and sent to attach clients, attach and resize requests, stdin,
 * reaping. No runtime and no JSON library here: berth-monitor-hold links
 * this statically and stays small. */
#include "daemon/monitor-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

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
      size_t chunk = nl ? (size_t)(nl - data) + 1 : len;
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

void
monitor_log_flush (struct monitor *m)
{
  for (int s = 1; s <= 2; s++)
    if (m->line[s].len > 0)
      {
        log_entry (m, (enum log_stream)s, m->line[s].data, m->line[s].len);
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
          logs_frame_header (hdr, s, (uint32_t)len);
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
  /* docker closes a container's stdin when its (StdinOnce) client leaves,
   * but never a terminal's: the shell behind a pty stays usable for the
   * next `docker attach` */
  if (m->stdin_fd < 0 || m->tty)
    return;
  close (m->stdin_fd);
  m->stdin_fd = -1;
}

void
monitor_resize (struct monitor *m, unsigned rows, unsigned cols)
{
  if (!m->tty || m->out_fd[1] < 0)
    return;
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  ioctl (m->out_fd[1], TIOCSWINSZ, &ws);
}

/* Accept one connection and read its request byte (the client writes it
 * right after connect, so this does not wait in practice). */
void
monitor_client_accept (struct monitor *m)
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
  if (want == MONITOR_EXEC)
    {
      monitor_exec_request (m, fd);
      return;
    }
  if (want & MONITOR_ATTACH_RESIZE)
    {
      uint8_t sz[4];
      if (fs_read_all (fd, sz, 4) == 4)
        monitor_resize (m, (unsigned)(sz[0] << 8 | sz[1]), (unsigned)(sz[2] << 8 | sz[3]));
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
      c->want &= (uint8_t)~MONITOR_ATTACH_STDIN;
      if (n < 0 || !(c->want & (MONITOR_ATTACH_STDOUT | MONITOR_ATTACH_STDERR)))
        client_drop (c);
      else
        shutdown (c->fd, SHUT_RD);
      return;
    }
  if ((c->want & MONITOR_ATTACH_STDIN) && m->stdin_fd >= 0)
    if (fs_write_all (m->stdin_fd, buf, (size_t)n) < 0)
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
  log_output (m, ls, buf, (size_t)n);
  clients_send (m, ls, buf, (size_t)n);
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
      else
        monitor_exec_reaped (m, p, status);
    }
}

/* ---------------------------------------------------------------- loop -- */

void
monitor_serve (struct monitor *m)
{
  for (;;)
    {
      bool outputs_open = m->out_fd[1] >= 0 || m->out_fd[2] >= 0;
      if (m->init_exited && !outputs_open)
        break;
      /* sized for what runs: an idle container's stack stays as small */
      size_t cap = 4 + MAX_CLIENTS + 4 * (size_t)m->n_execs;
      struct pollfd p[cap];
      int map[cap];
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
      n = monitor_exec_pollfds (m, p, map, n);
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
            monitor_client_accept (m);
          else if (map[i] <= -100)
            monitor_exec_event (m, map[i], p[i].revents);
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
  monitor_exec_finish_all (m);
}

/* The kernel counts OOM kills in the cgroup; the runtime's stats carry it. */

void
monitor_clients_close (struct monitor *m)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    client_drop (&m->clients[i]);
}
