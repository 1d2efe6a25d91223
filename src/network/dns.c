/* The embedded DNS server: one UDP socket per user-defined network on its
 * gateway address, answering A/PTR for the containers of the networks the
 * asking container is on, and forwarding other names to upstream resolvers
 * through one non-blocking socket. Driven entirely by the caller's loop:
 * no thread, no blocking call. Records are the endpoints themselves, so a
 * container resolves the instant it is connected and stops when it leaves. */
#include "network/dns-msg.h"
#include "network/manager.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#define DNS_TTL 600            /* docker's TTL for container records */
#define DNS_MAX_PENDING 1024
#define DNS_MAX_ANSWERS 256

void
dns_fd_notify (struct network_manager *m, int fd, bool added)
{
  if (m->on_dns_fd && fd >= 0)
    m->on_dns_fd (fd, added, m->userdata);
}

static int
upstream_parse (const char *s, struct sockaddr_in *out)
{
  char ip[INET_ADDRSTRLEN + 8];
  unsigned port = 53;
  const char *colon = strchr (s, ':');
  size_t len = colon ? (size_t) (colon - s) : strlen (s);
  if (len >= INET_ADDRSTRLEN)
    return -1;
  memcpy (ip, s, len);
  ip[len] = '\0';
  if (colon)
    {
      char *end = NULL;
      unsigned long p = strtoul (colon + 1, &end, 10);
      if (end == colon + 1 || *end || p == 0 || p > 65535)
        return -1;
      port = (unsigned) p;
    }
  memset (out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons ((uint16_t) port);
  return inet_pton (AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static void
upstreams_append (struct sockaddr_in **v, size_t *n, const struct sockaddr_in *sa)
{
  struct sockaddr_in *nv = realloc (*v, (*n + 1) * sizeof *nv);
  if (nv == NULL)
    abort ();
  *v = nv;
  nv[(*n)++] = *sa;
}

/* The host's nameservers, minus 127.0.0.0/8: a stub resolver on the host's
 * loopback (systemd-resolved, dnsmasq) cannot be what berth forwards to on
 * behalf of a container in the general case, docker skips them too. */
static void
upstreams_from_resolv_conf (struct network_manager *m, const char *path)
{
  _cleanup_free_ char *text = NULL;
  if (fs_read_file (AT_FDCWD, path, &text, NULL, NULL) < 0)
    return;
  _cleanup_strv_ char **lines = strv_split (text, '\n');
  for (char **l = lines; *l; l++)
    {
      char ns[64];
      struct sockaddr_in sa;
      if (sscanf (*l, " nameserver %63s", ns) != 1 || strchr (ns, ':'))
        continue;
      if (upstream_parse (ns, &sa) < 0 || (ntohl (sa.sin_addr.s_addr) >> 24) == 127)
        continue;
      upstreams_append (&m->dns.upstreams, &m->dns.n_upstreams, &sa);
    }
}

int
dns_init (struct network_manager *m, const struct network_manager_config *cfg,
          struct berth_error **err)
{
  m->dns.timeout_ms = cfg->dns_timeout_ms > 0 ? cfg->dns_timeout_ms : 2000;
  if (cfg->dns_upstreams)
    {
      for (const char *const *u = cfg->dns_upstreams; *u; u++)
        {
          struct sockaddr_in sa;
          if (upstream_parse (*u, &sa) < 0)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "dns upstream `%s`: want IPv4 or IPv4:port", *u);
          upstreams_append (&m->dns.upstreams, &m->dns.n_upstreams, &sa);
        }
    }
  else
    upstreams_from_resolv_conf (m, cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
  m->dns.upstream_fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (m->dns.upstream_fd < 0)
    return berth_error_set (err, errno, "dns: upstream socket");
  dns_fd_notify (m, m->dns.upstream_fd, true);
  if (dns_tcp_upstream_init (m, err) < 0)
    return -1;
  return 0;
}

static void
dns_pending_drop (struct network_manager *m, size_t i)
{
  free (m->dns.pending[i].query);
  free (m->dns.pending[i].upstreams);
  m->dns.pending[i] = m->dns.pending[--m->dns.n_pending];
}

void
dns_fini (struct network_manager *m)
{
  dns_tcp_fini (m);
  while (m->dns.n_pending > 0)
    dns_pending_drop (m, 0);
  free (m->dns.pending);
  m->dns.pending = NULL;
  free (m->dns.upstreams);
  m->dns.upstreams = NULL;
  m->dns.n_upstreams = 0;
  if (m->dns.upstream_fd >= 0)
    {
      dns_fd_notify (m, m->dns.upstream_fd, false);
      close (m->dns.upstream_fd);
    }
  m->dns.upstream_fd = -1;
}

int
dns_network_listen (struct network_manager *m, struct network *n, struct berth_error **err)
{
  if (n->dns_udp_fd >= 0)
    return 0;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_set (err, errno, "dns: socket");
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (53),
                            .sin_addr.s_addr = htonl (n->gateway) };
  int r = bind (fd, (struct sockaddr *) &sa, sizeof sa);
  if (r < 0 && errno == EADDRINUSE)
    {
      /* A DNS server of the host holds port 53 on every address: listen on
       * a free port and let nftables redirect the network's queries to it
       * (nat.c), so containers still ask <gateway>:53. */
      sa.sin_port = 0;
      r = bind (fd, (struct sockaddr *) &sa, sizeof sa);
    }
  socklen_t sl = sizeof sa;
  if (r < 0 || getsockname (fd, (struct sockaddr *) &sa, &sl) < 0)
    {
      int saved = errno;
      close (fd);
      char ip[INET_ADDRSTRLEN];
      ipv4_format (n->gateway, ip);
      return berth_error_set (err, saved, "dns: listen on %s/udp", ip);
    }
  n->dns_port = ntohs (sa.sin_port);
  if (n->dns_port != 53)
    berth_log (BERTH_LOG_INFO, "network %s: port 53 of %s is taken, DNS redirected to port %u",
               n->name, inet_ntoa (sa.sin_addr), n->dns_port);
  n->dns_udp_fd = fd;
  dns_fd_notify (m, fd, true);
  if (dns_tcp_listen (m, n, err) < 0)
    {
      dns_network_close (m, n);
      return -1;
    }
  return 0;
}

void
dns_network_close (struct network_manager *m, struct network *n)
{
  if (n->dns_udp_fd < 0)
    return;
  dns_tcp_close_network (m, n);
  for (size_t i = m->dns.n_pending; i-- > 0;)
    if (m->dns.pending[i].sink.udp_fd == n->dns_udp_fd)
      dns_pending_drop (m, i);
  dns_fd_notify (m, n->dns_udp_fd, false);
  close (n->dns_udp_fd);
  n->dns_udp_fd = -1;
  n->dns_port = 0;
}

size_t
network_manager_dns_fds (struct network_manager *m, int *fds, size_t max)
{
  size_t k = 0;
  if (m->dns.upstream_fd >= 0 && k < max)
    fds[k++] = m->dns.upstream_fd;
  if (m->dns.job_fds[0] >= 0 && k < max)
    fds[k++] = m->dns.job_fds[0];
  for (size_t i = 0; i < m->n_networks && k < max; i++)
    if (m->networks[i]->dns_udp_fd >= 0)
      fds[k++] = m->networks[i]->dns_udp_fd;
  return k + dns_tcp_fds (m, fds + k, max - k);
}

/* ------------------------------------------------------------- lookup -- */

static bool
endpoint_has_name (const struct endpoint *e, const char *name)
{
  if (e->container_name && *e->container_name && strcasecmp (e->container_name, name) == 0)
    return true;
  if (strlen (name) == 12 && strncasecmp (e->container_id, name, 12) == 0)
    return true;
  for (char **a = e->aliases; a && *a; a++)
    if (strcasecmp (*a, name) == 0)
      return true;
  return false;
}

static size_t
network_lookup_a (const struct network *n, const char *name, uint32_t *out, size_t max)
{
  size_t k = 0;
  for (size_t i = 0; i < n->n_endpoints && k < max; i++)
    if (endpoint_has_name (n->endpoints[i], name))
      out[k++] = n->endpoints[i]->ip;
  return k;
}

static struct endpoint *
network_endpoint_by_ip (const struct network *n, uint32_t ip)
{
  for (size_t i = 0; i < n->n_endpoints; i++)
    if (n->endpoints[i]->ip == ip)
      return n->endpoints[i];
  return NULL;
}

static bool
container_on_network (const struct network *n, const char *container_id)
{
  for (size_t i = 0; i < n->n_endpoints; i++)
    if (strcmp (n->endpoints[i]->container_id, container_id) == 0)
      return true;
  return false;
}

/* Names are scoped: the network the query came in on first, then the other
 * user-defined networks the asking container is on (docker answers across
 * all of a container's networks). The default bridge has no DNS. */
static size_t
dns_lookup (struct network_manager *m, struct network *rx, const struct endpoint *asker,
            const char *name, uint32_t *out, size_t max, bool *known)
{
  size_t k = network_lookup_a (rx, name, out, max);
  for (size_t i = 0; k == 0 && asker && i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      if (n == rx || n->is_default || n->kind != NETWORK_KIND_BRIDGE
          || !container_on_network (n, asker->container_id))
        continue;
      k = network_lookup_a (n, name, out, max);
    }
  *known = k > 0;
  return k;
}

static const struct endpoint *
dns_lookup_ptr (struct network_manager *m, struct network *rx, const struct endpoint *asker,
                uint32_t ip, const struct network **where)
{
  for (size_t i = 0; i < m->n_networks; i++)
    {
      struct network *n = m->networks[i];
      if (n->is_default || n->kind != NETWORK_KIND_BRIDGE)
        continue;
      if (n != rx && !(asker && container_on_network (n, asker->container_id)))
        continue;
      const struct endpoint *e = network_endpoint_by_ip (n, ip);
      if (e)
        {
          *where = n;
          return e;
        }
    }
  return NULL;
}

/* ------------------------------------------------------------ forward -- */

void
dns_sink_send (struct network_manager *m, const struct dns_sink *sink, const uint8_t *msg,
               size_t len)
{
  if (len == 0)
    return;
  if (sink->conn_id)
    dns_tcp_send (m, sink->conn_id, msg, len);
  else
    sendto (sink->udp_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
            (const struct sockaddr *) &sink->to, sizeof sink->to);
}

static void
dns_reply_error (struct network_manager *m, const struct dns_sink *sink, const uint8_t *query,
                 size_t len, int rcode)
{
  uint8_t out[DNS_HEADER_LEN];
  dns_sink_send (m, sink, out, dns_error_build (query, len, rcode, out, sizeof out));
}

static int
dns_pending_send (struct network_manager *m, struct dns_pending *p)
{
  while (p->next_upstream < p->n_upstreams)
    {
      const struct sockaddr_in *up = &p->upstreams[p->next_upstream++];
      if (sendto (m->dns.upstream_fd, p->query, p->query_len, MSG_DONTWAIT | MSG_NOSIGNAL,
                  (const struct sockaddr *) up, sizeof *up)
          == (ssize_t) p->query_len)
        {
          p->deadline_ns = time_now_ns () + (uint64_t) m->dns.timeout_ms * 1000000ull;
          return 0;
        }
    }
  return -1;
}

static void
dns_forward (struct network_manager *m, const struct dns_sink *sink, const struct endpoint *asker,
             const uint8_t *msg, size_t len, size_t question_end)
{
  if (m->dns.n_pending >= DNS_MAX_PENDING)
    {
      dns_reply_error (m, sink, msg, len, DNS_RCODE_SERVFAIL);
      return;
    }
  struct dns_pending p = { .client_id = (uint16_t) (msg[0] << 8 | msg[1]), .sink = *sink };
  /* The container's own --dns servers win over the daemon's upstreams. */
  for (char **d = asker ? asker->dns_servers : NULL; d && *d; d++)
    {
      struct sockaddr_in sa;
      if (upstream_parse (*d, &sa) == 0)
        upstreams_append (&p.upstreams, &p.n_upstreams, &sa);
    }
  if (p.n_upstreams == 0)
    for (size_t i = 0; i < m->dns.n_upstreams; i++)
      upstreams_append (&p.upstreams, &p.n_upstreams, &m->dns.upstreams[i]);
  if (p.n_upstreams == 0)
    {
      dns_reply_error (m, sink, msg, len, DNS_RCODE_SERVFAIL);
      return;
    }
  /* A random id per forwarded query: an off-path attacker must guess it
   * (and the answer must come from the server asked, with our question). */
  do
    {
      if (getrandom (&p.upstream_id, sizeof p.upstream_id, 0) != sizeof p.upstream_id)
        p.upstream_id = (uint16_t) time_now_ns ();
      bool clash = false;
      for (size_t i = 0; i < m->dns.n_pending && !clash; i++)
        clash = m->dns.pending[i].upstream_id == p.upstream_id;
      if (!clash)
        break;
    }
  while (true);
  p.query = malloc (len);
  if (p.query == NULL)
    abort ();
  memcpy (p.query, msg, len);
  p.query_len = len;
  p.query[0] = (uint8_t) (p.upstream_id >> 8);
  p.query[1] = (uint8_t) p.upstream_id;
  /* Only the question: what follows it (an EDNS record) is not echoed. */
  size_t qlen = question_end - DNS_HEADER_LEN;
  p.qname_len = qlen < sizeof p.qname ? qlen : sizeof p.qname;
  memcpy (p.qname, msg + DNS_HEADER_LEN, p.qname_len);
  if (dns_pending_send (m, &p) < 0)
    {
      free (p.query);
      free (p.upstreams);
      dns_reply_error (m, sink, msg, len, DNS_RCODE_SERVFAIL);
      return;
    }
  struct dns_pending *v = realloc (m->dns.pending, (m->dns.n_pending + 1) * sizeof *v);
  if (v == NULL)
    abort ();
  m->dns.pending = v;
  v[m->dns.n_pending++] = p;
}

static void
dns_handle_upstream (struct network_manager *m)
{
  uint8_t buf[65536];
  for (;;)
    {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (m->dns.upstream_fd, buf, sizeof buf, MSG_DONTWAIT,
                            (struct sockaddr *) &from, &fl);
      if (n < 0)
        return;
      if ((size_t) n < DNS_HEADER_LEN || !(buf[2] & 0x80))
        continue;
      uint16_t id = (uint16_t) (buf[0] << 8 | buf[1]);
      for (size_t i = 0; i < m->dns.n_pending; i++)
        {
          struct dns_pending *p = &m->dns.pending[i];
          const struct sockaddr_in *asked = &p->upstreams[p->next_upstream - 1];
          if (p->upstream_id != id || from.sin_addr.s_addr != asked->sin_addr.s_addr
              || from.sin_port != asked->sin_port)
            continue;
          /* The answer must echo our question (header + first bytes). */
          if ((size_t) n < DNS_HEADER_LEN + p->qname_len
              || memcmp (buf + 4, p->query + 4, 2) != 0
              || memcmp (buf + DNS_HEADER_LEN, p->qname, p->qname_len) != 0)
            break;
          /* Truncated, for a client that came over TCP: ask the same
           * server over TCP (on a thread, the loop never blocks). */
          if ((buf[2] & 0x02) && p->sink.conn_id
              && dns_tcp_upstream_start (m, p, asked, buf, (size_t) n) == 0)
            {
              dns_pending_drop (m, i);
              break;
            }
          buf[0] = (uint8_t) (p->client_id >> 8);
          buf[1] = (uint8_t) p->client_id;
          dns_sink_send (m, &p->sink, buf, (size_t) n);
          dns_pending_drop (m, i);
          break;
        }
    }
}

/* ------------------------------------------------------------- server -- */

void
dns_query_handle (struct network_manager *m, struct network *rx, const struct dns_sink *sink,
                  const uint8_t *msg, size_t len)
{
  uint32_t src = ntohl (sink->to.sin_addr.s_addr);
  /* Only the network's own subnet may ask: this is not an open resolver for
   * whoever can route to the gateway address. */
  if (!ipv4_net_contains (&rx->subnet, src))
    {
      dns_reply_error (m, sink, msg, len, DNS_RCODE_REFUSED);
      return;
    }
  struct dns_query q;
  switch (dns_query_parse (msg, len, &q))
    {
    case DNS_PARSE_DROP:
      return;
    case DNS_PARSE_FORMERR:
      dns_reply_error (m, sink, msg, len, DNS_RCODE_FORMERR);
      return;
    case DNS_PARSE_NOTIMP:
      dns_reply_error (m, sink, msg, len, DNS_RCODE_NOTIMP);
      return;
    case DNS_PARSE_OK:
      break;
    }
  if (sink->conn_id)
    q.udp_size = 65535; /* TCP: no 512-byte limit */
  const struct endpoint *asker = network_endpoint_by_ip (rx, src);
  uint8_t out[DNS_HEADER_LEN + DNS_NAME_WIRE_MAX + 4 + DNS_MAX_ANSWERS * 16 + 300];
  size_t cap = sizeof out;
  if (q.qclass == DNS_CLASS_IN
      && (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA || q.qtype == DNS_TYPE_PTR))
    {
      uint32_t addrs[DNS_MAX_ANSWERS];
      bool known = false;
      size_t k = dns_lookup (m, rx, asker, q.name, addrs, DNS_MAX_ANSWERS, &known);
      if (known)
        {
          /* A known name has no IPv6 address: NOERROR with no answer (not
           * NXDOMAIN, which would make resolvers drop the A answer too). */
          size_t na = q.qtype == DNS_TYPE_A ? k : 0;
          dns_sink_send (m, sink, out,
                         dns_response_build (msg, &q, DNS_RCODE_NOERROR, addrs, na, NULL, DNS_TTL,
                                             out, cap));
          return;
        }
      uint32_t ip;
      const struct network *where = NULL;
      const struct endpoint *e;
      if (q.qtype == DNS_TYPE_PTR && dns_ptr_name_to_ipv4 (q.name, &ip)
          && (e = dns_lookup_ptr (m, rx, asker, ip, &where)) != NULL)
        {
          /* docker answers <container>.<network>. */
          _cleanup_free_ char *target = xasprintf (
              "%s.%s", e->container_name && *e->container_name ? e->container_name : e->id,
              where->name);
          dns_sink_send (m, sink, out,
                         dns_response_build (msg, &q, DNS_RCODE_NOERROR, NULL, 0, target, DNS_TTL,
                                             out, cap));
          return;
        }
    }
  if (rx->internal)
    {
      /* An --internal network has no way out: names we do not own fail
       * here rather than leak to the host's resolvers. */
      dns_sink_send (m, sink, out,
                     dns_response_build (msg, &q, DNS_RCODE_SERVFAIL, NULL, 0, NULL, 0, out, cap));
      return;
    }
  /* Forwarded over UDP even when asked over TCP: an upstream answer that
   * is itself truncated reaches the client truncated (TCP to the
   * upstreams is not done yet). */
  dns_forward (m, sink, asker, msg, len, q.question_end);
}

void
network_manager_dns_handle_readable (struct network_manager *m, int fd)
{
  if (fd == m->dns.upstream_fd)
    {
      dns_handle_upstream (m);
      return;
    }
  if (dns_tcp_handle_readable (m, fd))
    return;
  struct network *rx = NULL;
  for (size_t i = 0; i < m->n_networks && rx == NULL; i++)
    if (m->networks[i]->dns_udp_fd == fd)
      rx = m->networks[i];
  if (rx == NULL)
    return;
  uint8_t buf[4096];
  /* A bounded batch per wakeup, so one busy network cannot starve the loop. */
  for (int i = 0; i < 64; i++)
    {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
      if (n < 0)
        return;
      if (fl != sizeof from || from.sin_family != AF_INET)
        continue;
      struct dns_sink sink = { .udp_fd = fd, .to = from };
      dns_query_handle (m, rx, &sink, buf, (size_t) n);
    }
}

int
network_manager_dns_timeout_ms (struct network_manager *m)
{
  uint64_t now = time_now_ns (), first = dns_tcp_next_deadline (m);
  if (m->dns.n_pending == 0 && first == UINT64_MAX)
    return -1;
  for (size_t i = 0; i < m->dns.n_pending; i++)
    if (m->dns.pending[i].deadline_ns < first)
      first = m->dns.pending[i].deadline_ns;
  return first <= now ? 0 : (int) ((first - now + 999999) / 1000000);
}

void
network_manager_dns_handle_timeouts (struct network_manager *m)
{
  uint64_t now = time_now_ns ();
  dns_tcp_expire (m, now);
  for (size_t i = m->dns.n_pending; i-- > 0;)
    {
      struct dns_pending *p = &m->dns.pending[i];
      if (p->deadline_ns > now)
        continue;
      if (dns_pending_send (m, p) == 0)
        continue; /* the next upstream gets its turn */
      uint8_t q[DNS_HEADER_LEN];
      memcpy (q, p->query, sizeof q);
      q[0] = (uint8_t) (p->client_id >> 8);
      q[1] = (uint8_t) p->client_id;
      dns_reply_error (m, &p->sink, q, sizeof q, DNS_RCODE_SERVFAIL);
      dns_pending_drop (m, i);
    }
}
