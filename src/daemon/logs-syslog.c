/* docker's syslog log driver: each line of the container's output as one
 * RFC 3164 message ("<pri>Mmm dd hh:mm:ss tag[pid]: line") to the host's
 * /dev/log or a remote address (udp, tcp with octet counting, unix). */
#include "daemon/logs.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

int
logs_syslog_write (struct logs_syslog *s, enum log_stream stream, const char *data, size_t len)
{
  if (s->fd < 0)
    return -1;
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  /* severity: info for stdout, err for stderr (docker's mapping) */
  int pri = s->facility * 8 + (stream == LOG_STREAM_STDERR ? 3 : 6);
  struct logs_civil tm;
  logs_civil_from_unix ((int64_t)time (NULL) + s->utc_offset_s, &tm);
  /* "Mmm dd hh:mm:ss" by hand (strftime drags locale code along) */
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char stamp[32];
  snprintf (stamp, sizeof stamp, "%.3s %2d %02d:%02d:%02d", months + 3 * ((tm.month - 1) % 12),
            tm.day, tm.hour, tm.min, tm.sec);
  char head[160];
  int hlen = snprintf (head, sizeof head, "<%d>%s %s[%d]: ", pri, stamp, s->tag, (int)getpid ());
  size_t total = (size_t)hlen + len;
  _cleanup_free_ char *msg = malloc (total + 32);
  if (msg == NULL)
    return -1;
  size_t off = 0;
  if (s->stream_socket)
    off = (size_t)sprintf (msg, "%zu ", total);
  memcpy (msg + off, head, (size_t)hlen);
  memcpy (msg + off + (size_t)hlen, data, len);
  if (s->stream_socket)
    return fs_write_all (s->fd, msg, off + total);
  return send (s->fd, msg, total, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

void
logs_syslog_close (struct logs_syslog *s)
{
  if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
}
