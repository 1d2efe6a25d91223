/* Ids and time in docker's forms: 64-hex ids from getrandom(2), RFC 3339
 * timestamps with nanoseconds in UTC. */
#include "common/common.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void
random_id_hex (char out[SHA256_HEX_LEN + 1])
{
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof raw)
    {
      ssize_t n = getrandom (raw + got, sizeof raw - got, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          abort ();
        }
      got += (size_t) n;
    }
  static const char hexdigits[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++)
    {
      out[2 * i] = hexdigits[raw[i] >> 4];
      out[2 * i + 1] = hexdigits[raw[i] & 0xf];
    }
  out[SHA256_HEX_LEN] = '\0';
}

static char *
time_format (const struct timespec *ts, bool trim_zeros)
{
  struct tm tm;
  gmtime_r (&ts->tv_sec, &tm);
  char date[32];
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  snprintf (frac, sizeof frac, ".%09ld", ts->tv_nsec);
  if (trim_zeros)
    {
      size_t n = strlen (frac);
      while (n > 1 && frac[n - 1] == '0')
        frac[--n] = '\0';
      if (n == 1)
        frac[0] = '\0'; /* Go drops the dot with the last digit */
    }
  return xasprintf ("%s%sZ", date, frac);
}

char *
time_format_rfc3339nano (const struct timespec *ts)
{
  return time_format (ts, true);
}

char *
time_format_rfc3339nano_fixed (const struct timespec *ts)
{
  return time_format (ts, false);
}

int
time_parse_rfc3339 (const char *s, struct timespec *ts)
{
  struct tm tm = { 0 };
  const char *p = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL)
    return -1;
  long nsec = 0;
  if (*p == '.')
    {
      p++;
      long scale = 100000000;
      while (*p >= '0' && *p <= '9')
        {
          nsec += (*p - '0') * scale;
          scale /= 10;
          p++;
        }
    }
  long offset = 0;
  if (*p == 'Z')
    p++;
  else if (*p == '+' || *p == '-')
    {
      /* Exactly ±hh:mm. sscanf ("%2d:%2d") also took "-4:-0", and the
       * p += 6 below then ran past the string's end. */
      static const char shape[] = "00:00";
      for (size_t i = 0; i < 5; i++)
        if (shape[i] == ':' ? p[1 + i] != ':' : (p[1 + i] < '0' || p[1 + i] > '9'))
          return -1;
      int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
      offset = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
      p += 6;
    }
  if (*p != '\0')
    return -1;
  ts->tv_sec = timegm (&tm) - offset;
  ts->tv_nsec = nsec;
  return 0;
}

uint64_t
time_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}
