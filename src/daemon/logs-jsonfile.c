/* docker's json-file log driver: the writer the monitor uses (no JSON
 * library: a Go-compatible string escaper), rotation by max-size/max-file,
 * and the frame header of multiplexed streams. */
#include "daemon/logs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void
logs_frame_header (uint8_t hdr[8], enum log_stream stream, uint32_t len)
{
  hdr[0] = (uint8_t)stream;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (uint8_t)(len >> 24);
  hdr[5] = (uint8_t)(len >> 16);
  hdr[6] = (uint8_t)(len >> 8);
  hdr[7] = (uint8_t)len;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
utf8_seq_len (const unsigned char *p, size_t avail)
{
  unsigned char c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xe0) == 0xc0)
    n = 2, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0)
    n = 3, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (n > avail)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
  /* overlong forms, surrogates and out-of-range code points are invalid */
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

size_t
logs_json_escape (const char *data, size_t len, char *out)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)data;
  char *o = out;
  size_t i = 0;
  while (i < len)
    {
      unsigned char c = p[i];
      if (c >= 0x80)
        {
          size_t n = utf8_seq_len (p + i, len - i);
          if (n == 0)
            {
              memcpy (o, "\\ufffd", 6);
              o += 6;
              i++;
              continue;
            }
          /* U+2028/2029 are escaped by Go's encoder too */
          if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
            {
              memcpy (o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
              o += 6;
            }
          else
            {
              memcpy (o, p + i, n);
              o += n;
            }
          i += n;
          continue;
        }
      switch (c)
        {
        case '"':
          *o++ = '\\', *o++ = '"';
          break;
        case '\\':
          *o++ = '\\', *o++ = '\\';
          break;
        case '\n':
          *o++ = '\\', *o++ = 'n';
          break;
        case '\r':
          *o++ = '\\', *o++ = 'r';
          break;
        case '\t':
          *o++ = '\\', *o++ = 't';
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
            {
              if (c == 0x7f)
                {
                  *o++ = (char)c;
                  break;
                }
              memcpy (o, "\\u00", 4);
              o[4] = hex[c >> 4];
              o[5] = hex[c & 0xf];
              o += 6;
            }
          else
            *o++ = (char)c;
        }
      i++;
    }
  *o = '\0';
  return (size_t)(o - out);
}

/* RFC 3339 with nanoseconds, by hand: strftime would pull locale code
 * into the monitor's static serving half. */
static void
put_digits (char *p, unsigned long v, int n)
{
  for (int i = n - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
}

/* Howard Hinnant's days-to-civil: proleptic Gregorian, exact for all
 * 64-bit day counts we meet. */
void
logs_civil_from_unix (int64_t secs, struct logs_civil *out)
{
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0)
    {
      rem += 86400;
      days--;
    }
  out->hour = (int)(rem / 3600);
  out->min = (int)(rem % 3600 / 60);
  out->sec = (int)(rem % 60);
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
  out->month = (int)(mp < 10 ? mp + 3 : mp - 9);
  out->year = (int)(y + (out->month <= 2));
}

static size_t
format_time (uint64_t time_ns, char *buf, size_t size)
{
  if (size < 31)
    return 0;
  struct logs_civil c;
  logs_civil_from_unix ((int64_t)(time_ns / 1000000000ull), &c);
  struct
  {
    int tm_year, tm_mon, tm_mday, tm_hour, tm_min, tm_sec;
  } tm = { c.year - 1900, c.month - 1, c.day, c.hour, c.min, c.sec };
  /* 2026-11-22T15:50:01.085097237Z */
  put_digits (buf, (unsigned long)tm.tm_year + 1900, 4);
  buf[4] = '-';
  put_digits (buf + 5, (unsigned long)tm.tm_mon + 1, 2);
  buf[7] = '-';
  put_digits (buf + 8, (unsigned long)tm.tm_mday, 2);
  buf[10] = 'T';
  put_digits (buf + 11, (unsigned long)tm.tm_hour, 2);
  buf[13] = ':';
  put_digits (buf + 14, (unsigned long)tm.tm_min, 2);
  buf[16] = ':';
  put_digits (buf + 17, (unsigned long)tm.tm_sec, 2);
  buf[19] = '.';
  put_digits (buf + 20, (unsigned long)(time_ns % 1000000000ull), 9);
  buf[29] = 'Z';
  buf[30] = '\0';
  return 30;
}

/* Room one entry of len bytes needs: each byte escapes to at most 6. */
#define JSONFILE_LINE_CAP(len) (6 * (len) + 128)

/* One entry, formatted into buf (JSONFILE_LINE_CAP (len) bytes) with
 * memcpy only: this runs once per line of output in the monitor. */
static size_t
jsonfile_line_format (char *buf, enum log_stream stream, const char *data, size_t len,
                      uint64_t time_ns)
{
  static const char head[] = "{\"log\":\"";
  static const char mid_out[] = "\",\"stream\":\"stdout\",\"time\":\"";
  static const char mid_err[] = "\",\"stream\":\"stderr\",\"time\":\"";
  char *o = buf;
  memcpy (o, head, sizeof head - 1);
  o += sizeof head - 1;
  o += logs_json_escape (data, len, o);
  memcpy (o, stream == LOG_STREAM_STDERR ? mid_err : mid_out, sizeof mid_out - 1);
  o += sizeof mid_out - 1;
  o += format_time (time_ns, o, 31);
  memcpy (o, "\"}\n", 4);
  return (size_t)(o - buf) + 3;
}

char *
logs_jsonfile_line (enum log_stream stream, const char *data, size_t len, uint64_t time_ns,
                    size_t *out_len)
{
  char *buf = malloc (JSONFILE_LINE_CAP (len));
  if (buf == NULL)
    abort ();
  *out_len = jsonfile_line_format (buf, stream, data, len, time_ns);
  return buf;
}

/* name.(n-1) → name.n … name → name.1, dropping what exceeds max_files. */
static int
rotate (struct logs_jsonfile_writer *w)
{
  char from[200], to[200];
  if (w->max_files > 1)
    {
      for (int i = w->max_files - 1; i >= 1; i--)
        {
          if (i == 1)
            snprintf (from, sizeof from, "%s", w->name);
          else
            snprintf (from, sizeof from, "%s.%d", w->name, i - 1);
          snprintf (to, sizeof to, "%s.%d", w->name, i);
          if (renameat (w->dirfd, from, w->dirfd, to) < 0 && errno != ENOENT)
            return -1;
        }
    }
  int fd = openat (w->dirfd, w->name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    return -1;
  close (w->fd);
  w->fd = fd;
  w->size_bytes = 0;
  return 0;
}

int
logs_jsonfile_write (struct logs_jsonfile_writer *w, enum log_stream stream, const char *data,
                     size_t len, uint64_t time_ns)
{
  if (w->fd < 0)
    return -1;
  if (w->line_cap < JSONFILE_LINE_CAP (len))
    {
      char *p = realloc (w->line, JSONFILE_LINE_CAP (len));
      if (p == NULL)
        return -1;
      w->line = p;
      w->line_cap = JSONFILE_LINE_CAP (len);
    }
  char *line = w->line;
  size_t n = jsonfile_line_format (line, stream, data, len, time_ns);
  if (w->max_size_bytes > 0 && w->size_bytes > 0 && w->size_bytes + (int64_t)n > w->max_size_bytes)
    rotate (w);
  if (fs_write_all (w->fd, line, n) < 0)
    return -1;
  w->size_bytes += (int64_t)n;
  return 0;
}

void
logs_jsonfile_writer_close (struct logs_jsonfile_writer *w)
{
  if (w->fd >= 0)
    close (w->fd);
  w->fd = -1;
  free (w->line);
  w->line = NULL;
  w->line_cap = 0;
}
