/* berth cli: docker's human units (github.com/docker/go-units): durations
 * ("About an hour"), sizes ("4.26MB", "1.5MiB"), memory flags ("512m"), Go
 * durations ("1m30s") and the --since/--until timestamp forms. */
#include "cli/cli-internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <time.h>

char *
human_duration (double seconds_f)
{
  long long seconds = (long long) seconds_f;
  if (seconds < 1)
    return xstrdup ("Less than a second");
  if (seconds == 1)
    return xstrdup ("1 second");
  if (seconds < 60)
    return xasprintf ("%lld seconds", seconds);
  long long minutes = (long long) (seconds_f / 60);
  if (minutes == 1)
    return xstrdup ("About a minute");
  if (minutes < 60)
    return xasprintf ("%lld minutes", minutes);
  long long hours = (long long) (seconds_f / 3600 + 0.5);
  if (hours == 1)
    return xstrdup ("About an hour");
  if (hours < 48)
    return xasprintf ("%lld hours", hours);
  if (hours < 24 * 7 * 2)
    return xasprintf ("%lld days", hours / 24);
  if (hours < 24 * 30 * 2)
    return xasprintf ("%lld weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2)
    return xasprintf ("%lld months", hours / 24 / 30);
  return xasprintf ("%lld years", (long long) (seconds_f / 3600) / 24 / 365);
}

/* Go's %.*g prints like C's except that it never pads; C's %g matches for
 * the magnitudes we print (< 1000 after scaling). */
static char *
size_with_units (double size, double base, const char *const *units, int precision)
{
  size_t i = 0;
  while (size >= base && units[i + 1])
    {
      size /= base;
      i++;
    }
  return xasprintf ("%.*g%s", precision, size, units[i]);
}

char *
human_size (double bytes, int precision)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", NULL };
  return size_with_units (bytes, 1000.0, units, precision);
}

char *
human_bytes (double bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB", NULL };
  return size_with_units (bytes, 1024.0, units, 4);
}

/* go-units parseSize: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ */
static int
parse_size (const char *s, double base, int64_t *out, struct berth_error **err)
{
  const char *p = s;
  if (!isdigit ((unsigned char) *p))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid size: '%s'", s);
  char *end = NULL;
  double v = strtod (p, &end);
  p = end;
  if (*p == ' ')
    p++;
  double mul = 1;
  if (*p && strchr ("kKmMgGtTpP", *p))
    {
      int exp = 1 + (int) (strchr ("kmgtp", tolower ((unsigned char) *p)) - "kmgtp");
      /* base^exp by hand: exact for 1000^n and 1024^n, and no libm to
       * load at every start for this one call */
      for (int i = 0; i < exp; i++)
        mul *= base;
      p++;
    }
  if (*p == 'i' || *p == 'I')
    p++;
  if (*p == 'b' || *p == 'B')
    p++;
  if (*p != '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid size: '%s'", s);
  /* Beyond int64 the conversion is undefined behaviour in C (Go wraps
   * silently); no real size is that large. */
  if (!(v * mul < 9223372036854775807.0))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid size: '%s'", s);
  *out = (int64_t) (v * mul);
  return 0;
}

int
parse_ram_bytes (const char *s, int64_t *out, struct berth_error **err)
{
  return parse_size (s, 1024.0, out, err);
}

int
parse_human_size (const char *s, int64_t *out, struct berth_error **err)
{
  return parse_size (s, 1000.0, out, err);
}

int
parse_go_duration (const char *s, int64_t *out_ns, struct berth_error **err)
{
  const char *p = s;
  bool neg = false;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (strcmp (p, "0") == 0)
    return *out_ns = 0, 0;
  if (*p == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "time: invalid duration \"%s\"", s);
  double total = 0;
  while (*p)
    {
      if (!isdigit ((unsigned char) *p) && *p != '.')
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "time: invalid duration \"%s\"", s);
      char *end = NULL;
      double v = strtod (p, &end);
      p = end;
      static const struct
      {
        const char *unit;
        double ns;
      } units[] = {
        { "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 },
        { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
      };
      size_t best = SIZE_MAX, best_len = 0;
      for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        {
          size_t l = strlen (units[i].unit);
          if (strncmp (p, units[i].unit, l) == 0 && l > best_len)
            best = i, best_len = l;
        }
      if (best == SIZE_MAX)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "time: missing unit in duration \"%s\"", s);
      total += v * units[best].ns;
      p += best_len;
    }
  /* Go's ParseDuration refuses what overflows int64 nanoseconds (~292
   * years); converting such a double to int64 is undefined behaviour. */
  if (!(total < 9223372036854775807.0))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "time: invalid duration \"%s\"", s);
  *out_ns = (int64_t) (neg ? -total : total);
  return 0;
}

char *
parse_timestamp_arg (const char *s, time_t now, struct berth_error **err)
{
  /* docker's timetypes.GetTimestamp: a duration is "that long ago". */
  int64_t ns;
  _cleanup_error_ struct berth_error *ignored = NULL;
  if (*s && parse_go_duration (s, &ns, &ignored) == 0)
    {
      long long t = (long long) now - ns / 1000000000LL;
      return xasprintf ("%lld", t);
    }
  /* unix seconds with optional fraction */
  const char *p = s;
  while (isdigit ((unsigned char) *p))
    p++;
  if (p != s && (*p == '\0' || (*p == '.' && strspn (p + 1, "0123456789") == strlen (p + 1))))
    return xstrdup (s);
  struct timespec ts;
  if (time_parse_rfc3339 (s, &ts) == 0)
    return ts.tv_nsec ? xasprintf ("%lld.%09ld", (long long) ts.tv_sec, ts.tv_nsec)
                      : xasprintf ("%lld", (long long) ts.tv_sec);
  /* date-only and date-time-without-zone forms, in UTC */
  static const char *const layouts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", NULL };
  for (size_t i = 0; layouts[i]; i++)
    {
      struct tm tm = { 0 };
      const char *end = strptime (s, layouts[i], &tm);
      if (end && *end == '\0')
        return xasprintf ("%lld", (long long) timegm (&tm));
    }
  berth_error_set_kind (err, BERTH_E_INVALID, 0,
                        "failed to parse value as time or duration: \"%s\"", s);
  return NULL;
}
