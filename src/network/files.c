/* The text of a container's /etc/hosts, /etc/resolv.conf and /etc/hostname,
 * as docker writes them. Pure functions: the daemon writes the files. */
#include "network/network-internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* RFC 1123 host name (what docker's --hostname validation amounts to). */
static bool
hostname_is_valid (const char *h)
{
  size_t n = strlen (h);
  if (n == 0 || n > 253)
    return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++)
    {
      char c = h[i];
      if (c == '.')
        {
          if (label == 0 || h[i - 1] == '-')
            return false;
          label = 0;
          continue;
        }
      if (!(isalnum ((unsigned char) c) || c == '-' || c == '_') || (label == 0 && c == '-'))
        return false;
      if (++label > 63)
        return false;
    }
  return h[n - 1] != '-';
}

char *
network_hostname_file (const char *hostname, struct berth_error **err)
{
  if (hostname == NULL || !hostname_is_valid (hostname))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "hostname `%s`: not a valid host name",
                            hostname ? hostname : "");
      return NULL;
    }
  return xasprintf ("%s\n", hostname);
}

static bool
extra_host_name_is_valid (const char *h)
{
  for (const char *p = h; *p; p++)
    if (isspace ((unsigned char) *p) || *p == '#')
      return false;
  return *h != '\0';
}

char *
network_hosts_file (const char *hostname, const char *domainname,
                    const struct network_endpoint_info *endpoints, size_t n_endpoints,
                    const char *const *extra_hosts, const char *host_gateway_ip,
                    struct berth_error **err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  _cleanup_fclose_ FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    abort ();
  /* docker's fixed header (libnetwork/etchosts). */
  fputs ("127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "ff00::0\tip6-mcastprefix\n"
         "ff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n",
         f);
  for (const char *const *h = extra_hosts; h && *h; h++)
    {
      /* --add-host name:ip; docker also accepts name=ip. The ip may be
       * IPv6 (with colons), so split at the first separator. */
      const char *sep = strpbrk (*h, ":=");
      if (sep == NULL || sep == *h || sep[1] == '\0')
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "--add-host `%s`: want name:ip (or name:host-gateway)", *h);
          return NULL;
        }
      _cleanup_free_ char *name = strndup (*h, (size_t) (sep - *h));
      const char *ip = sep + 1;
      if (!extra_host_name_is_valid (name))
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "--add-host `%s`: invalid host name", *h);
          return NULL;
        }
      if (strcmp (ip, "host-gateway") == 0)
        {
          if (host_gateway_ip == NULL || *host_gateway_ip == '\0')
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                    "--add-host `%s`: no host-gateway address is known", *h);
              return NULL;
            }
          ip = host_gateway_ip;
        }
      struct in6_addr a6;
      uint32_t a4;
      const char *ip6 = ip;
      _cleanup_free_ char *unbracketed = NULL;
      if (ip[0] == '[' && ip[strlen (ip) - 1] == ']')
        ip6 = unbracketed = strndup (ip + 1, strlen (ip) - 2);
      if (ipv4_parse (ip, &a4) < 0 && inet_pton (AF_INET6, ip6, &a6) != 1)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "--add-host `%s`: invalid IP address `%s`",
                                *h, ip);
          return NULL;
        }
      fprintf (f, "%s\t%s\n", ip6, name);
    }
  if (hostname && *hostname)
    for (size_t i = 0; i < n_endpoints; i++)
      {
        if (endpoints[i].ip[0] == '\0')
          continue;
        if (domainname && *domainname)
          fprintf (f, "%s\t%s.%s %s\n", endpoints[i].ip, hostname, domainname, hostname);
        else
          fprintf (f, "%s\t%s\n", endpoints[i].ip, hostname);
      }
  if (fclose (steal_pointer (&f)) != 0)
    abort ();
  return steal_pointer (&buf);
}

static bool
nameserver_is_loopback (const char *ns)
{
  uint32_t a;
  if (ipv4_parse (ns, &a) == 0)
    return (a >> 24) == 127;
  return strcmp (ns, "::1") == 0;
}

static bool
line_starts_with (const char *line, const char *key)
{
  size_t n = strlen (key);
  return strncmp (line, key, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

char *
network_resolv_conf (const char *host_resolv_conf, const char *embedded_dns,
                     const char *const *dns, const char *const *dns_search,
                     const char *const *dns_options, struct berth_error **err)
{
  for (const char *const *d = dns; d && *d; d++)
    {
      uint32_t a4;
      struct in6_addr a6;
      if (ipv4_parse (*d, &a4) < 0 && inet_pton (AF_INET6, *d, &a6) != 1)
        {
          berth_error_set_kind (err, BERTH_E_INVALID, 0, "--dns `%s`: not an IP address", *d);
          return NULL;
        }
    }
  for (const char *const *s = dns_search; s && *s; s++)
    if (**s == '\0' || strpbrk (*s, " \t\n"))
      {
        berth_error_set_kind (err, BERTH_E_INVALID, 0, "--dns-search `%s`: not a domain", *s);
        return NULL;
      }
  for (const char *const *o = dns_options; o && *o; o++)
    if (**o == '\0' || strpbrk (*o, " \t\n"))
      {
        berth_error_set_kind (err, BERTH_E_INVALID, 0, "--dns-option `%s`: invalid option", *o);
        return NULL;
      }

  _cleanup_strv_ char **host_ns = NULL, **host_search = NULL, **host_opts = NULL;
  _cleanup_strv_ char **lines = strv_split (host_resolv_conf ? host_resolv_conf : "", '\n');
  for (char **l = lines; *l; l++)
    {
      char *line = *l;
      while (*line == ' ' || *line == '\t')
        line++;
      const char *key = NULL;
      if (line_starts_with (line, "nameserver"))
        key = "nameserver";
      else if (line_starts_with (line, "search") || line_starts_with (line, "domain"))
        {
          key = "search";
          strv_freep (&host_search); /* resolv.conf(5): the last one wins */
        }
      else if (line_starts_with (line, "options"))
        key = "options";
      else
        continue;
      char *save = NULL;
      for (char *w = strtok_r (line + strcspn (line, " \t"), " \t\r", &save); w;
           w = strtok_r (NULL, " \t\r", &save))
        {
          if (*w == '#' || *w == ';')
            break;
          if (strcmp (key, "nameserver") == 0)
            {
              if (!nameserver_is_loopback (w))
                strv_append (&host_ns, w);
              break;
            }
          strv_append (strcmp (key, "search") == 0 ? &host_search : &host_opts, w);
        }
    }

  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  _cleanup_fclose_ FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    abort ();
  char *const *search = dns_search && *dns_search ? (char *const *) dns_search : host_search;
  char *const *opts = dns_options && *dns_options ? (char *const *) dns_options : host_opts;
  if (embedded_dns && *embedded_dns)
    fprintf (f, "nameserver %s\n", embedded_dns);
  else if (dns && *dns)
    for (const char *const *d = dns; *d; d++)
      fprintf (f, "nameserver %s\n", *d);
  else if (host_ns && *host_ns)
    for (char **d = host_ns; *d; d++)
      fprintf (f, "nameserver %s\n", *d);
  else
    /* docker's fallback when the host only has a local stub resolver. */
    fputs ("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", f);
  if (search && *search && !(search[0][0] == '.' && search[0][1] == '\0'))
    {
      _cleanup_free_ char *s = strv_join (search, " ");
      fprintf (f, "search %s\n", s);
    }
  if (opts && *opts)
    {
      _cleanup_free_ char *o = strv_join (opts, " ");
      fprintf (f, "options %s\n", o);
    }
  if (fclose (steal_pointer (&f)) != 0)
    abort ();
  return steal_pointer (&buf);
}
