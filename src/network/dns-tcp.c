/* DNS over TCP for the embedded server (RFC 7766): a listener next to each
 * network's UDP socket, non-blocking connections with 2-byte length framing,
 * bounded in number and idle time, answered by the same code as UDP. */
#include "network/dns-msg.h"
#include "network/manager.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define DNS_TCP_MAX_CONNS 64
#define DNS_TCP_IDLE_MS 5000
#define DNS_TCP_BUF (2 + 65535)
#define DNS_TCP_MAX_JOBS 16

int
dns_tcp_listen (struct network_manager *m, struct network *n, struct berth_error **err)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "dns: tcp socket");
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (53),
                            .sin_addr.s_addr = htonl (n->gateway) };
  int r = bind (fd, (struct sockaddr *) &sa, sizeof sa);
  if (r < 0 && errno == EADDRINUSE)
    {
      sa.sin_port = 0; /* redirected by nftables, as for UDP */
      r = bind (fd, (struct sockaddr *) &sa, sizeof sa);
    }
  socklen_t sl = sizeof sa;
  if (r < 0 || listen (fd, 64) < 0 || getsockname (fd, (struct sockaddr *) &sa, &sl) < 0)
    {
      int saved = errno;
      close (fd);
      return berth_error_set (err, saved, "dns: listen on tcp");
    }
  n->dns_tcp_fd = fd;
  n->dns_tcp_port = ntohs (sa.sin_port);
  dns_fd_notify (m, fd, true);
  return 0;
}

/* ------------------------------------------------ TCP to the upstreams -- */

struct dns_tcp_job
{
  int report_fd; /* owned: a dup of job_fds[1] */
  uint64_t conn_id;
  uint16_t client_id;
  struct sockaddr_in upstream;
  int timeout_ms;
  uint8_t *query;
  size_t query_len;
  uint8_t *answer; /* the truncated UDP answer, replaced by the full one */
  size_t answer_len;
};

static void
dns_tcp_job_free (struct dns_tcp_job *j)
{
  if (j->report_fd >= 0)
    close (j->report_fd);
  free (j->query);
  free (j->answer);
  free (j);
}

static bool
read_full (int fd, uint8_t *buf, size_t len)
{
  size_t got = 0;
  while (got < len)
    {
      ssize_t r = recv (fd, buf + got, len - got, 0);
      if (r <= 0)
        return false;
      got += (size_t) r;
    }
  return true;
}

/* Blocking, with socket timeouts, on its own thread: one exchange. */
static void *
dns_tcp_job_main (void *arg)
{
  struct dns_tcp_job *j = arg;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0)
    {
      struct timeval tv = { .tv_sec = j->timeout_ms / 1000, .tv_usec = (j->timeout_ms % 1000) * 1000 };
      setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* also bounds connect */
      setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      uint8_t hdr[2] = { (uint8_t) (j->query_len >> 8), (uint8_t) j->query_len };
      uint8_t lenbuf[2];
      if (connect (fd, (struct sockaddr *) &j->upstream, sizeof j->upstream) == 0
          && send (fd, hdr, 2, MSG_NOSIGNAL | MSG_MORE) == 2
          && send (fd, j->query, j->query_len, MSG_NOSIGNAL) == (ssize_t) j->query_len
          && read_full (fd, lenbuf, 2))
        {
          size_t n = (size_t) (lenbuf[0] << 8 | lenbuf[1]);
          uint8_t *full = malloc (n ? n : 1);
          /* The same id and question as asked, or it is not our answer. */
          if (full && n >= DNS_HEADER_LEN && read_full (fd, full, n) && memcmp (full, j->query, 2) == 0
              && (full[2] & 0x80))
            {
              free (j->answer);
              j->answer = full;
              j->answer_len = n;
              full = NULL;
            }
          free (full);
        }
      close (fd);
    }
  if (send (j->report_fd, &j, sizeof j, MSG_NOSIGNAL) != sizeof j)
    dns_tcp_job_free (j); /* the manager is gone */
  return NULL;
}

int
dns_tcp_upstream_init (struct network_manager *m, struct berth_error **err)
{
  if (socketpair (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, m->dns.job_fds) < 0)
    return berth_error_set (err, errno, "dns: socketpair");
  fcntl (m->dns.job_fds[0], F_SETFL, O_NONBLOCK);
  dns_fd_notify (m, m->dns.job_fds[0], true);
  return 0;
}

int
dns_tcp_upstream_start (struct network_manager *m, const struct dns_pending *p,
                        const struct sockaddr_in *asked, const uint8_t *truncated, size_t len)
{
  if (m->dns.n_jobs >= DNS_TCP_MAX_JOBS || m->dns.job_fds[1] < 0)
    return -1;
  struct dns_tcp_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    return -1;
  j->report_fd = fcntl (m->dns.job_fds[1], F_DUPFD_CLOEXEC, 0);
  j->conn_id = p->sink.conn_id;
  j->client_id = p->client_id;
  j->upstream = *asked;
  j->timeout_ms = m->dns.timeout_ms;
  j->query = malloc (p->query_len);
  j->answer = malloc (len);
  if (j->report_fd < 0 || j->query == NULL || j->answer == NULL)
    {
      dns_tcp_job_free (j);
      return -1;
    }
  memcpy (j->query, p->query, p->query_len);
  j->query_len = p->query_len;
  memcpy (j->answer, truncated, len);
  j->answer_len = len;
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&attr, 64 * 1024);
  int r = pthread_create (&t, &attr, dns_tcp_job_main, j);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      dns_tcp_job_free (j);
      return -1;
    }
  m->dns.n_jobs++;
  return 0;
}

static void
dns_tcp_jobs_collect (struct network_manager *m)
{
  struct dns_tcp_job *j;
  while (recv (m->dns.job_fds[0], &j, sizeof j, MSG_DONTWAIT) == sizeof j)
    {
      m->dns.n_jobs--;
      j->answer[0] = (uint8_t) (j->client_id >> 8);
      j->answer[1] = (uint8_t) j->client_id;
      dns_tcp_send (m, j->conn_id, j->answer, j->answer_len);
      dns_tcp_job_free (j);
    }
}

/* ---------------------------------------------------- client connections -- */

static void
dns_conn_drop (struct network_manager *m, size_t i)
{
  struct dns_conn *c = &m->dns.conns[i];
  dns_fd_notify (m, c->fd, false);
  close (c->fd);
  free (c->buf);
  m->dns.conns[i] = m->dns.conns[--m->dns.n_conns];
}

void
dns_tcp_close_network (struct network_manager *m, struct network *n)
{
  for (size_t i = m->dns.n_conns; i-- > 0;)
    if (m->dns.conns[i].n == n)
      dns_conn_drop (m, i);
  if (n->dns_tcp_fd >= 0)
    {
      dns_fd_notify (m, n->dns_tcp_fd, false);
      close (n->dns_tcp_fd);
    }
  n->dns_tcp_fd = -1;
  n->dns_tcp_port = 0;
}

void
dns_tcp_fini (struct network_manager *m)
{
  while (m->dns.n_conns > 0)
    dns_conn_drop (m, 0);
  free (m->dns.conns);
  m->dns.conns = NULL;
  if (m->dns.job_fds[0] >= 0)
    dns_fd_notify (m, m->dns.job_fds[0], false);
  /* Jobs still running own a dup of the write end: their report fails
   * (nobody reads) and they free themselves. */
  closep (&m->dns.job_fds[0]);
  closep (&m->dns.job_fds[1]);
}

size_t
dns_tcp_fds (struct network_manager *m, int *fds, size_t max)
{
  size_t k = 0;
  for (size_t i = 0; i < m->n_networks && k < max; i++)
    if (m->networks[i]->dns_tcp_fd >= 0)
      fds[k++] = m->networks[i]->dns_tcp_fd;
  for (size_t i = 0; i < m->dns.n_conns && k < max; i++)
    fds[k++] = m->dns.conns[i].fd;
  return k;
}

static void
dns_tcp_accept (struct network_manager *m, struct network *n)
{
  for (;;)
    {
      struct sockaddr_in peer;
      socklen_t pl = sizeof peer;
      int fd = accept4 (n->dns_tcp_fd, (struct sockaddr *) &peer, &pl,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      /* Strangers and floods are closed at once, before any state. */
      if (pl != sizeof peer || !ipv4_net_contains (&n->subnet, ntohl (peer.sin_addr.s_addr))
          || m->dns.n_conns >= DNS_TCP_MAX_CONNS)
        {
          close (fd);
          continue;
        }
      struct dns_conn *v = realloc (m->dns.conns, (m->dns.n_conns + 1) * sizeof *v);
      if (v == NULL)
        abort ();
      m->dns.conns = v;
      struct dns_conn *c = &v[m->dns.n_conns++];
      *c = (struct dns_conn){ .fd = fd, .id = ++m->dns.next_conn_id, .n = n, .peer = peer,
                              .buf = malloc (DNS_TCP_BUF),
                              .deadline_ns = time_now_ns () + DNS_TCP_IDLE_MS * 1000000ull };
      if (c->buf == NULL)
        abort ();
      dns_fd_notify (m, fd, true);
    }
}

/* Read what is there; answer every complete message. Returns false when the
 * connection is to be dropped. */
static bool
dns_conn_read (struct network_manager *m, struct dns_conn *c)
{
  for (;;)
    {
      ssize_t r = recv (c->fd, c->buf + c->have, DNS_TCP_BUF - c->have, MSG_DONTWAIT);
      if (r == 0)
        return false;
      if (r < 0)
        return errno == EAGAIN || errno == EINTR;
      c->have += (size_t) r;
      c->deadline_ns = time_now_ns () + DNS_TCP_IDLE_MS * 1000000ull;
      while (c->have >= 2)
        {
          size_t len = (size_t) (c->buf[0] << 8 | c->buf[1]);
          if (len < DNS_HEADER_LEN)
            return false;
          if (c->have < 2 + len)
            break;
          struct dns_sink sink = { .udp_fd = -1, .to = c->peer, .conn_id = c->id };
          uint64_t id = c->id;
          dns_query_handle (m, c->n, &sink, c->buf + 2, len);
          /* Answering may have dropped this connection (write failure). */
          bool alive = false;
          for (size_t i = 0; i < m->dns.n_conns && !alive; i++)
            alive = m->dns.conns[i].id == id;
          if (!alive)
            return true;
          memmove (c->buf, c->buf + 2 + len, c->have - 2 - len);
          c->have -= 2 + len;
        }
    }
}

bool
dns_tcp_handle_readable (struct network_manager *m, int fd)
{
  if (fd == m->dns.job_fds[0])
    {
      dns_tcp_jobs_collect (m);
      return true;
    }
  for (size_t i = 0; i < m->n_networks; i++)
    if (m->networks[i]->dns_tcp_fd == fd)
      {
        dns_tcp_accept (m, m->networks[i]);
        return true;
      }
  for (size_t i = 0; i < m->dns.n_conns; i++)
    if (m->dns.conns[i].fd == fd)
      {
        uint64_t id = m->dns.conns[i].id;
        if (!dns_conn_read (m, &m->dns.conns[i]))
          for (size_t j = 0; j < m->dns.n_conns; j++)
            if (m->dns.conns[j].id == id)
              {
                dns_conn_drop (m, j);
                break;
              }
        return true;
      }
  return false;
}

void
dns_tcp_send (struct network_manager *m, uint64_t conn_id, const uint8_t *msg, size_t len)
{
  for (size_t i = 0; i < m->dns.n_conns; i++)
    {
      struct dns_conn *c = &m->dns.conns[i];
      if (c->id != conn_id)
        continue;
      uint8_t hdr[2] = { (uint8_t) (len >> 8), (uint8_t) len };
      struct iovec iov[2] = { { hdr, 2 }, { (void *) msg, len } };
      struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
      /* Answers are small next to a socket buffer; one that does not go out
       * whole means a client that does not read: drop it, never block. */
      if (sendmsg (c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) (len + 2))
        dns_conn_drop (m, i);
      return;
    }
}

uint64_t
dns_tcp_next_deadline (struct network_manager *m)
{
  uint64_t first = UINT64_MAX;
  for (size_t i = 0; i < m->dns.n_conns; i++)
    if (m->dns.conns[i].deadline_ns < first)
      first = m->dns.conns[i].deadline_ns;
  return first;
}

void
dns_tcp_expire (struct network_manager *m, uint64_t now)
{
  for (size_t i = m->dns.n_conns; i-- > 0;)
    if (m->dns.conns[i].deadline_ns <= now)
      dns_conn_drop (m, i);
}
