/* Host ports of published mappings: choosing them (fixed, first free of a
 * range, ephemeral) and holding them with a bound socket, so "port already
 * in use" is answered by the kernel itself, as docker does. */
#include "network/network-internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>

int
port_local_range (uint16_t *lo, uint16_t *hi)
{
  *lo = 32768;
  *hi = 60999; /* docker's fallback, the kernel's default */
  _cleanup_free_ char *text = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/sys/net/ipv4/ip_local_port_range", &text, NULL, NULL) == 0)
    {
      unsigned a, b;
      if (sscanf (text, "%u %u", &a, &b) == 2 && a > 0 && a <= b && b <= 65535)
        {
          *lo = (uint16_t) a;
          *hi = (uint16_t) b;
        }
    }
  return 0;
}

/* Bind proto host_ip:port; returns the fd, or -1 with errno. */
static int
port_bind (int proto, uint32_t host_ip, uint16_t port)
{
  int fd = socket (AF_INET, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  /* No IP_FREEBIND: a host ip that is not an address of this host is an
   * error (EADDRNOTAVAIL), as with docker. */
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port),
                            .sin_addr.s_addr = htonl (host_ip) };
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

static int
port_in_use_error (const struct port_mapping *pm, uint16_t port, int errnum,
                   struct berth_error **err)
{
  char ip[INET_ADDRSTRLEN];
  ipv4_format (pm->host_ip, ip);
  if (errnum == EADDRINUSE)
    /* docker's wording, which users grep for. */
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "Bind for %s:%u/%s failed: port is already allocated", ip, port,
                                 pm->proto == IPPROTO_UDP ? "udp" : "tcp");
  if (errnum == EADDRNOTAVAIL)
    return berth_error_set_kind (err, BERTH_E_INVALID, errnum, "bind %s:%u: not a host address", ip,
                                 port);
  return berth_error_set (err, errnum, "bind %s:%u", ip, port);
}

int
port_reserve (struct port_mapping *pm, const struct network_port_binding *b,
              uint32_t default_host_ip, struct berth_error **err)
{
  pm->proto = b->proto;
  pm->container_port = b->container_port;
  pm->reserve_fd = -1;
  pm->host_ip = default_host_ip;
  if (b->host_ip[0] && ipv4_parse (b->host_ip, &pm->host_ip) < 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "host ip `%s`: not an IPv4 address",
                                 b->host_ip);
  if (b->host_port_lo != 0 && b->host_port_lo == b->host_port_hi)
    {
      int fd = port_bind (pm->proto, pm->host_ip, b->host_port_lo);
      if (fd < 0)
        return port_in_use_error (pm, b->host_port_lo, errno, err);
      pm->host_port = b->host_port_lo;
      pm->reserve_fd = fd;
      return 0;
    }
  uint16_t lo = b->host_port_lo, hi = b->host_port_hi, start;
  bool ephemeral = lo == 0;
  if (ephemeral)
    port_local_range (&lo, &hi);
  uint32_t span = (uint32_t) hi - lo + 1, rnd = 0;
  /* Ephemeral ports start at a random place, like the kernel's; a range
   * (-p 8000-8010:80) is tried in order, as docker does. */
  if (ephemeral && getrandom (&rnd, sizeof rnd, 0) != sizeof rnd)
    rnd = 0;
  start = (uint16_t) (lo + rnd % span);
  int last_errno = EADDRINUSE;
  for (uint32_t i = 0; i < span; i++)
    {
      uint16_t port = (uint16_t) (lo + ((uint32_t) (start - lo) + i) % span);
      int fd = port_bind (pm->proto, pm->host_ip, port);
      if (fd >= 0)
        {
          pm->host_port = port;
          pm->reserve_fd = fd;
          return 0;
        }
      last_errno = errno;
      if (errno != EADDRINUSE)
        break;
    }
  if (last_errno == EADDRINUSE)
    {
      char ip[INET_ADDRSTRLEN];
      ipv4_format (pm->host_ip, ip);
      return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                   "no free host port in %u-%u on %s/%s", lo, hi, ip,
                                   pm->proto == IPPROTO_UDP ? "udp" : "tcp");
    }
  return port_in_use_error (pm, lo, last_errno, err);
}

int
port_rebind (struct port_mapping *pm, struct berth_error **err)
{
  if (pm->reserve_fd >= 0)
    return 0;
  int fd = port_bind (pm->proto, pm->host_ip, pm->host_port);
  if (fd < 0)
    return port_in_use_error (pm, pm->host_port, errno, err);
  pm->reserve_fd = fd;
  return 0;
}

void
port_release (struct port_mapping *pm)
{
  if (pm->reserve_fd >= 0)
    close (pm->reserve_fd);
  pm->reserve_fd = -1;
}
