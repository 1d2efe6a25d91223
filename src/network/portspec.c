/* `-p` port specs, parsed as docker's nat.ParsePortSpec does:
 * [ip:][host_port[-end]:]container_port[-end][/proto], and the Engine API's
 * PortBindings/ExposedPorts objects. Pure. */
#include "network/network-internal.h"

#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

/* "80" or "8000-8010"; an empty string is "no port" (lo = hi = 0). */
static int
port_range_parse (const char *s, const char *spec, const char *what, uint16_t *lo, uint16_t *hi,
                  struct berth_error **err)
{
  *lo = *hi = 0;
  if (*s == '\0')
    return 0;
  unsigned long v[2] = { 0, 0 };
  int n = 0;
  const char *p = s;
  for (;;)
    {
      if (!isdigit ((unsigned char) *p))
        goto bad;
      unsigned long x = 0;
      for (; isdigit ((unsigned char) *p); p++)
        {
          x = x * 10 + (unsigned long) (*p - '0');
          if (x > 65535)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "port spec `%s`: %s `%s`: a port is at most 65535", spec,
                                         what, s);
        }
      v[n++] = x;
      if (*p == '\0')
        break;
      if (*p != '-' || n == 2)
        goto bad;
      p++;
    }
  if (n == 1)
    v[1] = v[0];
  if (v[1] < v[0])
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "port spec `%s`: %s `%s`: the range ends before it starts", spec,
                                 what, s);
  *lo = (uint16_t) v[0];
  *hi = (uint16_t) v[1];
  return 0;
bad:
  return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                               "port spec `%s`: invalid %s `%s` (want a number or a range like 8000-8010)",
                               spec, what, s);
}

int
network_port_spec_parse (const char *spec, struct network_port_binding **out, size_t *n_out,
                         struct berth_error **err)
{
  *out = NULL;
  *n_out = 0;
  if (spec == NULL || *spec == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "port spec is empty");

  _cleanup_free_ char *copy = xstrdup (spec);
  int proto = IPPROTO_TCP;
  char *slash = strchr (copy, '/');
  if (slash)
    {
      *slash = '\0';
      const char *p = slash + 1;
      if (strcmp (p, "tcp") == 0)
        proto = IPPROTO_TCP;
      else if (strcmp (p, "udp") == 0)
        proto = IPPROTO_UDP;
      else if (strcmp (p, "sctp") == 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "port spec `%s`: sctp is not supported (tcp or udp)", spec);
      else
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "port spec `%s`: invalid proto `%s` (tcp or udp)", spec, p);
    }

  /* docker splits at the last two colons; an IPv6 host ip is bracketed. */
  char *host_ip = NULL, *host_port = NULL, *container_port = copy;
  char *last = strrchr (copy, ':');
  if (last)
    {
      *last = '\0';
      container_port = last + 1;
      char *prev = strrchr (copy, ':');
      if (prev && copy[0] != '[')
        {
          *prev = '\0';
          host_ip = copy;
          host_port = prev + 1;
        }
      else if (copy[0] == '[')
        {
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "port spec `%s`: IPv6 host addresses are not supported", spec);
        }
      else
        host_port = copy;
    }

  struct network_port_binding proto_b = { .proto = proto };
  if (host_ip && *host_ip)
    {
      uint32_t a;
      if (strchr (host_ip, ':') || host_ip[0] == '[')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "port spec `%s`: IPv6 host addresses are not supported", spec);
      if (ipv4_parse (host_ip, &a) < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "port spec `%s`: invalid IP address `%s`", spec, host_ip);
      if (a != 0)
        ipv4_format (a, proto_b.host_ip);
    }

  uint16_t clo, chi, hlo = 0, hhi = 0;
  if (*container_port == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "port spec `%s`: no container port", spec);
  if (port_range_parse (container_port, spec, "container port", &clo, &chi, err) < 0)
    return -1;
  if (clo == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "port spec `%s`: container port 0 is not a port", spec);
  if (host_port && port_range_parse (host_port, spec, "host port", &hlo, &hhi, err) < 0)
    return -1;
  if (hlo == 0 && hhi != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "port spec `%s`: host port range cannot start at 0", spec);

  size_t n = (size_t) (chi - clo) + 1;
  bool host_is_range = hhi != hlo;
  /* docker: a container range needs a host range of the same length (or
   * none); one container port may take any free port of a host range. */
  if (n > 1 && hlo != 0 && (size_t) (hhi - hlo) + 1 != n)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "port spec `%s`: invalid ranges specified for container and host ports "
                                 "(%zu container ports, %u host ports)",
                                 spec, n, (unsigned) (hhi - hlo) + 1);

  struct network_port_binding *v = calloc (n, sizeof *v);
  if (v == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      v[i] = proto_b;
      v[i].container_port = (uint16_t) (clo + i);
      if (hlo == 0)
        continue;
      if (n == 1 && host_is_range)
        {
          v[i].host_port_lo = hlo;
          v[i].host_port_hi = hhi;
        }
      else
        v[i].host_port_lo = v[i].host_port_hi = (uint16_t) (hlo + i);
    }
  *out = v;
  *n_out = n;
  return 0;
}

/* "80/tcp", "53/udp", "80" (tcp). */
static int
port_key_parse (const char *key, const char *where, int *proto, uint16_t *port,
                struct berth_error **err)
{
  _cleanup_free_ char *copy = xstrdup (key);
  char *slash = strchr (copy, '/');
  *proto = IPPROTO_TCP;
  if (slash)
    {
      *slash = '\0';
      if (strcmp (slash + 1, "udp") == 0)
        *proto = IPPROTO_UDP;
      else if (strcmp (slash + 1, "tcp") != 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "%s[\"%s\"]: protocol must be tcp or udp", where, key);
    }
  uint16_t lo, hi;
  if (port_range_parse (copy, key, "container port", &lo, &hi, err) < 0)
    return berth_error_prefix (err, "%s", where);
  if (lo == 0 || lo != hi)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "%s[\"%s\"]: want one container port like 80/tcp", where, key);
  *port = lo;
  return 0;
}

static void
bindings_append (struct network_port_binding **v, size_t *n, const struct network_port_binding *b)
{
  struct network_port_binding *nv = realloc (*v, (*n + 1) * sizeof *nv);
  if (nv == NULL)
    abort ();
  *v = nv;
  nv[(*n)++] = *b;
}

int
network_port_bindings_from_api (const json_t *port_bindings, const json_t *exposed_ports,
                                bool publish_all, struct network_port_binding **out,
                                size_t *n_out, struct berth_error **err)
{
  static const char *const where = "HostConfig.PortBindings";
  _cleanup_free_ struct network_port_binding *v = NULL;
  size_t n = 0;
  *out = NULL;
  *n_out = 0;
  if (port_bindings && !json_is_null (port_bindings) && !json_is_object (port_bindings))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected an object", where);
  const char *key;
  json_t *list;
  json_object_foreach ((json_t *) port_bindings, key, list)
    {
      struct network_port_binding b = { 0 };
      if (port_key_parse (key, where, &b.proto, &b.container_port, err) < 0)
        return -1;
      if (json_is_null (list))
        continue;
      if (!json_is_array (list))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s[\"%s\"]: expected an array",
                                     where, key);
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
        {
          struct network_port_binding one = b;
          if (!json_is_object (e))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "%s[\"%s\"][%zu]: expected an object", where, key, i);
          json_t *hip = json_object_get (e, "HostIp"), *hport = json_object_get (e, "HostPort");
          if ((hip && !json_is_null (hip) && !json_is_string (hip))
              || (hport && !json_is_null (hport) && !json_is_string (hport)))
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "%s[\"%s\"][%zu]: HostIp and HostPort must be strings",
                                         where, key, i);
          const char *ip = json_string_value (hip), *port = json_string_value (hport);
          if (ip && *ip)
            {
              uint32_t a;
              if (strchr (ip, ':'))
                return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                             "%s[\"%s\"][%zu].HostIp `%s`: IPv6 is not supported",
                                             where, key, i, ip);
              if (ipv4_parse (ip, &a) < 0)
                return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                             "%s[\"%s\"][%zu].HostIp `%s`: not an IPv4 address",
                                             where, key, i, ip);
              if (a != 0)
                ipv4_format (a, one.host_ip);
            }
          if (port && *port
              && port_range_parse (port, key, "HostPort", &one.host_port_lo, &one.host_port_hi,
                                   err)
                     < 0)
            return berth_error_prefix (err, "%s[\"%s\"][%zu]", where, key, i);
          bindings_append (&v, &n, &one);
        }
    }
  if (publish_all && exposed_ports && json_is_object (exposed_ports))
    {
      json_t *ignored;
      json_object_foreach ((json_t *) exposed_ports, key, ignored)
        {
          struct network_port_binding b = { 0 };
          if (port_key_parse (key, "Config.ExposedPorts", &b.proto, &b.container_port, err) < 0)
            return -1;
          bool bound = false;
          for (size_t i = 0; i < n && !bound; i++)
            bound = v[i].proto == b.proto && v[i].container_port == b.container_port;
          if (!bound)
            bindings_append (&v, &n, &b);
        }
    }
  *out = steal_pointer (&v);
  *n_out = n;
  return 0;
}
