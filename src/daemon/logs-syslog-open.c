/* Connecting the syslog log driver (see logs-syslog.c): the host's
 * /dev/log or a remote address. Apart from the writer so the monitor's
 * static serving half does not carry the resolver. */
#include "daemon/logs.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static const struct
{
  const char *name;
  int code;
} facilities[] = {
  { "kern", 0 },      { "user", 1 },    { "mail", 2 },    { "daemon", 3 },  { "auth", 4 },
  { "syslog", 5 },    { "lpr", 6 },     { "news", 7 },    { "uucp", 8 },    { "cron", 9 },
  { "authpriv", 10 }, { "ftp", 11 },    { "local0", 16 }, { "local1", 17 }, { "local2", 18 },
  { "local3", 19 },   { "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

static int
connect_unix (const char *path, int type)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (sa.sun_path, path);
  int fd = socket (AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

static int
connect_inet (const char *hostport, int type)
{
  _cleanup_free_ char *copy = xstrdup (hostport);
  char *colon = strrchr (copy, ':');
  const char *port = "514";
  if (colon)
    {
      *colon = '\0';
      port = colon + 1;
    }
  char *host = copy;
  if (host[0] == '[')
    {
      host++;
      char *rb = strchr (host, ']');
      if (rb)
        *rb = '\0';
    }
  struct addrinfo hints = { .ai_socktype = type }, *res = NULL;
  if (getaddrinfo (host, port, &hints, &res) != 0)
    {
      errno = EHOSTUNREACH;
      return -1;
    }
  int fd = -1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0)
        continue;
      if (connect (fd, ai->ai_addr, ai->ai_addrlen) == 0)
        break;
      close (fd);
      fd = -1;
    }
  freeaddrinfo (res);
  return fd;
}

int
logs_syslog_open (struct logs_syslog *s, const char *address, const char *facility, const char *tag,
                  struct berth_error **err)
{
  memset (s, 0, sizeof *s);
  s->facility = 3; /* docker's default: daemon */
  if (facility && *facility)
    {
      bool found = false;
      for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
        if (strcmp (facilities[i].name, facility) == 0)
          s->facility = facilities[i].code, found = true;
      if (!found)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "syslog: invalid syslog facility: %s",
                                     facility);
    }
  snprintf (s->tag, sizeof s->tag, "%s", tag ? tag : "berth");
  time_t now = time (NULL);
  struct tm lt;
  localtime_r (&now, &lt);
  s->utc_offset_s = lt.tm_gmtoff;
  if (address == NULL || *address == '\0')
    {
      s->fd = connect_unix ("/dev/log", SOCK_DGRAM);
      if (s->fd < 0)
        s->fd = connect_unix ("/dev/log", SOCK_STREAM), s->stream_socket = true;
    }
  else if (str_has_prefix (address, "udp://"))
    s->fd = connect_inet (address + 6, SOCK_DGRAM);
  else if (str_has_prefix (address, "tcp://"))
    s->fd = connect_inet (address + 6, SOCK_STREAM), s->stream_socket = true;
  else if (str_has_prefix (address, "unixgram://"))
    s->fd = connect_unix (address + 11, SOCK_DGRAM);
  else if (str_has_prefix (address, "unix://"))
    s->fd = connect_unix (address + 7, SOCK_STREAM), s->stream_socket = true;
  else
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "syslog: unsupported address %s",
                                 address);
  if (s->fd < 0)
    return berth_error_set (err, errno, "syslog: connect %s",
                            address && *address ? address : "/dev/log");
  return 0;
}
