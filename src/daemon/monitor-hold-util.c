/* The few common helpers berth-monitor-hold needs (time_now_ns,
 * fs_write_all, fs_read_all), for that static program only: linking
 * common's util.c and fs.c would also bring strptime, sscanf, strftime and
 * strerror's gettext machinery — the bulk of a static libc — for functions
 * it never calls. Same contracts as in common.h. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

uint64_t
time_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
fs_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

ssize_t
fs_read_all (int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, (char *)buf + got, len - got);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      got += (size_t)n;
    }
  return (ssize_t)got;
}
