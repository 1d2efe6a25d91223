/* berth cli: plain connections to the daemon, the CLI's own socket I/O: a
 * unix socket, TCP without TLS, or an ssh:// pipe (`ssh host berth system
 * dial-stdio` on one end of a socketpair). No library is loaded for these;
 * TLS goes through conn-tls.c. */
#include "cli/http-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---------------------------------------------------------- socket ops -- */

/* A non-blocking call's result as cli_conn_ops return it (EINTR retried). */
#define CONN_IO(call)                                                                              \
  ({                                                                                               \
    ssize_t n_;                                                                                    \
    do                                                                                             \
      n_ = (call);                                                                                 \
    while (n_ < 0 && errno == EINTR);                                                              \
    n_ >= 0 ? n_ : (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : -1;                            \
  })

static ssize_t
sock_recv (struct cli_conn *c, void *buf, size_t len)
{
  return CONN_IO (recv (c->fd, buf, len, MSG_DONTWAIT));
}

static ssize_t
sock_send (struct cli_conn *c, const void *buf, size_t len)
{
  return CONN_IO (send (c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL));
}

static ssize_t
sock_send_file (struct cli_conn *c, int fd, size_t len)
{
  /* sendfile has no MSG_DONTWAIT: the socket is O_NONBLOCK (sock_conn) */
  return CONN_IO (sendfile (c->fd, fd, NULL, len));
}

static void
sock_close_write (struct cli_conn *c)
{
  shutdown (c->fd, SHUT_WR);
}

static void
sock_free (struct cli_conn *c)
{
  close (c->fd);
  free (c);
}

static const struct cli_conn_ops sock_ops = {
  .recv = sock_recv,
  .send = sock_send,
  .send_file = sock_send_file,
  .close_write = sock_close_write,
  .free = sock_free,
};

static struct cli_conn *
sock_conn (int fd)
{
  struct cli_conn *c = calloc (1, sizeof *c);
  if (c == NULL)
    abort ();
  c->ops = &sock_ops;
  c->fd = fd;
  /* sendfile has no MSG_DONTWAIT: the socket itself never blocks */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  return c;
}

/* ------------------------------------------------------------- dialing -- */

int
cli_connect_refused (struct cli_client *c, struct berth_error **err)
{
  return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0,
                               "Cannot connect to the berth daemon at %s. Is the berth daemon "
                               "running?",
                               c->ep.host ? c->ep.host : "");
}

static int
dial_unix (struct cli_client *c, struct berth_error **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t n = strlen (c->ep.unix_path);
  if (n >= sizeof sa.sun_path)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: socket path too long", c->ep.host);
  memcpy (sa.sun_path, c->ep.unix_path, n);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "socket");
  int r;
  do
    r = connect (fd, (struct sockaddr *) &sa, (socklen_t) (offsetof (struct sockaddr_un, sun_path) + n + 1));
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      close (fd);
      return cli_connect_refused (c, err);
    }
  return fd;
}

static int
dial_tcp (struct cli_client *c, struct berth_error **err)
{
  /* "[::1]" is how the endpoint keeps a v6 address */
  const char *h = c->ep.tcp_host;
  size_t hl = strlen (h);
  _cleanup_free_ char *host = (hl > 2 && h[0] == '[' && h[hl - 1] == ']') ? strndup (h + 1, hl - 2)
                                                                         : xstrdup (h);
  char port[16];
  snprintf (port, sizeof port, "%d", c->ep.tcp_port);
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                            .ai_flags = AI_NUMERICSERV };
  struct addrinfo *res = NULL;
  if (getaddrinfo (host, port, &hints, &res) != 0)
    return cli_connect_refused (c, err);
  int fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0)
        continue;
      int r;
      do
        r = connect (fd, ai->ai_addr, ai->ai_addrlen);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        {
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (res);
  if (fd < 0)
    return cli_connect_refused (c, err);
  /* requests are written whole: no Nagle delay on the last segment */
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* ssh:// endpoints: every connection is a fresh `ssh host berth system
 * dial-stdio` (as the docker CLI does with its own), its stdin and stdout
 * one end of a socketpair. */
static int
dial_ssh (struct cli_client *c, struct berth_error **err)
{
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return berth_error_set (err, errno, "ssh endpoint: socketpair");
  char port[16];
  snprintf (port, sizeof port, "%d", c->ep.ssh_port ? c->ep.ssh_port : 22);
  const char *remote = getenv ("BERTH_SSH_REMOTE_COMMAND");
  if (remote == NULL)
    remote = "berth system dial-stdio";
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (sv[0]);
      close (sv[1]);
      return berth_error_set (err, e, "ssh endpoint: fork");
    }
  if (pid == 0)
    {
      /* not ssh's business: our ignored SIGPIPE, our blocked signals */
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGPIPE, SIG_DFL);
      dup2 (sv[1], STDIN_FILENO);
      dup2 (sv[1], STDOUT_FILENO);
      execlp ("ssh", "ssh", "-o", "ConnectTimeout=30", "-T", "-p", port, "--", c->ep.ssh_target,
              remote, (char *) NULL);
      _exit (127);
    }
  close (sv[1]);
  if (c->n_ssh_pids < sizeof c->ssh_pids / sizeof c->ssh_pids[0])
    c->ssh_pids[c->n_ssh_pids++] = pid;
  return sv[0];
}

struct cli_conn *
cli_conn_open (struct cli_client *c, struct berth_error **err)
{
  if (c->ep.tls)
    return cli_conn_open_tls (c, err);
  int fd = c->ep.kind == CLI_EP_UNIX  ? dial_unix (c, err)
           : c->ep.kind == CLI_EP_TCP ? dial_tcp (c, err)
                                      : dial_ssh (c, err);
  return fd < 0 ? NULL : sock_conn (fd);
}

/* ------------------------------------------------------------- helpers -- */

void
cli_conn_free (struct cli_conn *conn)
{
  if (conn)
    conn->ops->free (conn);
}

int
cli_conn_wait (struct cli_conn *conn, short events)
{
  struct pollfd p = { .fd = conn->fd, .events = events };
  int r;
  do
    r = poll (&p, 1, -1);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

int
cli_conn_send_all (struct cli_conn *conn, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = conn->ops->send (conn, p, len);
      if (n == -2)
        {
          if (cli_conn_wait (conn, POLLOUT) < 0)
            return -1;
          continue;
        }
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
cli_conn_error (struct cli_conn *conn, const char *what, struct berth_error **err)
{
  if (conn && conn->errmsg[0])
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "error during connect: %s: %s", what,
                                 conn->errmsg);
  return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, errno, "error during connect: %s", what);
}
