/* Reading json-file logs back for GET /containers/{id}/logs and attach's
 * logs=1: rotated files oldest first, since/until/tail, timestamps, frames
 * without a tty, and follow (tail the file while the monitor lives). */
#include "daemon/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
logs_jsonfile_parse_line (const char *line, size_t len, struct log_entry *e)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (line, len, JSON_ALLOW_NUL, &jerr);
  if (!json_is_object (j))
    return -1;
  json_t *log = json_object_get (j, "log");
  json_t *stream = json_object_get (j, "stream");
  json_t *time = json_object_get (j, "time");
  if (!json_is_string (log) || !json_is_string (stream) || !json_is_string (time))
    return -1;
  struct timespec ts;
  if (time_parse_rfc3339 (json_string_value (time), &ts) < 0)
    return -1;
  e->stream
      = strcmp (json_string_value (stream), "stderr") == 0 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT;
  e->len = json_string_length (log);
  e->data = malloc (e->len + 1);
  if (e->data == NULL)
    abort ();
  memcpy (e->data, json_string_value (log), e->len + 1);
  e->time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  return 0;
}

int
logs_entry_encode (const struct log_entry *e, const struct logs_read_options *o, char **out,
                   size_t *out_len)
{
  _cleanup_free_ char *prefix = NULL;
  size_t plen = 0;
  if (o->timestamps)
    {
      struct timespec ts = { .tv_sec = (time_t)(e->time_ns / 1000000000ull),
                             .tv_nsec = (long)(e->time_ns % 1000000000ull) };
      _cleanup_free_ char *t = time_format_rfc3339nano_fixed (&ts);
      prefix = xasprintf ("%s ", t);
      plen = strlen (prefix);
    }
  size_t hdr = o->tty ? 0 : 8;
  size_t total = hdr + plen + e->len;
  char *buf = malloc (total + 1);
  if (buf == NULL)
    abort ();
  if (!o->tty)
    logs_frame_header ((uint8_t *)buf, e->stream, (uint32_t)(plen + e->len));
  if (plen)
    memcpy (buf + hdr, prefix, plen);
  memcpy (buf + hdr + plen, e->data, e->len);
  *out = buf;
  *out_len = total;
  return 0;
}

static bool
entry_wanted (const struct log_entry *e, const struct logs_read_options *o)
{
  if (e->stream == LOG_STREAM_STDOUT && !o->want_stdout)
    return false;
  if (e->stream == LOG_STREAM_STDERR && !o->want_stderr)
    return false;
  if (o->since_ns && e->time_ns < o->since_ns)
    return false;
  if (o->until_ns && e->time_ns > o->until_ns)
    return false;
  return true;
}

struct tail_ring
{
  char **items;
  size_t *lens;
  long cap, count, head;
};

static int
emit (int out_fd, struct tail_ring *ring, char *buf, size_t len)
{
  if (ring == NULL)
    {
      int r = fs_write_all (out_fd, buf, len);
      free (buf);
      return r;
    }
  if (ring->cap == 0)
    {
      free (buf);
      return 0;
    }
  long slot = (ring->head + ring->count) % ring->cap;
  if (ring->count == ring->cap)
    {
      free (ring->items[ring->head]);
      slot = ring->head;
      ring->head = (ring->head + 1) % ring->cap;
    }
  else
    ring->count++;
  ring->items[slot] = buf;
  ring->lens[slot] = len;
  return 0;
}

/* Parse lines from fd starting at its current offset; returns bytes of
 * complete lines consumed, or -1 on a write error. */
static int64_t
read_lines (int fd, const struct logs_read_options *o, int out_fd, struct tail_ring *ring)
{
  char buf[65536];
  _cleanup_free_ char *pending = NULL;
  size_t plen = 0;
  int64_t consumed = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      char *p = buf;
      size_t left = (size_t)n;
      while (left > 0)
        {
          char *nl = memchr (p, '\n', left);
          size_t chunk = nl ? (size_t)(nl - p) + 1 : left;
          pending = realloc (pending, plen + chunk + 1);
          if (pending == NULL)
            abort ();
          memcpy (pending + plen, p, chunk);
          plen += chunk;
          p += chunk;
          left -= chunk;
          if (!nl)
            break;
          consumed += (int64_t)plen;
          struct log_entry e = { 0 };
          if (logs_jsonfile_parse_line (pending, plen, &e) == 0)
            {
              if (entry_wanted (&e, o))
                {
                  char *enc;
                  size_t elen;
                  logs_entry_encode (&e, o, &enc, &elen);
                  if (emit (out_fd, ring, enc, elen) < 0)
                    {
                      free (e.data);
                      return -1;
                    }
                }
              free (e.data);
            }
          plen = 0;
        }
    }
  return consumed;
}

int
logs_jsonfile_read (int dirfd, const char *name, int max_files, const struct logs_read_options *o,
                    int out_fd, int64_t *offset_out)
{
  struct tail_ring ring = { 0 };
  struct tail_ring *rp = NULL;
  if (o->tail >= 0)
    {
      ring.cap = o->tail;
      ring.items = calloc ((size_t)o->tail + 1, sizeof (char *));
      ring.lens = calloc ((size_t)o->tail + 1, sizeof (size_t));
      rp = &ring;
    }
  int rc = 0;
  *offset_out = 0;
  for (int i = max_files - 1; i >= 0 && rc == 0; i--)
    {
      char fname[256];
      if (i == 0)
        snprintf (fname, sizeof fname, "%s", name);
      else
        snprintf (fname, sizeof fname, "%s.%d", name, i);
      _cleanup_close_ int fd = openat (dirfd, fname, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      int64_t consumed = read_lines (fd, o, out_fd, rp);
      if (consumed < 0)
        rc = -1;
      else if (i == 0)
        *offset_out = consumed;
    }
  if (rp)
    {
      for (long k = 0; k < ring.count; k++)
        {
          long slot = (ring.head + k) % (ring.cap ? ring.cap : 1);
          if (rc == 0 && fs_write_all (out_fd, ring.items[slot], ring.lens[slot]) < 0)
            rc = -1;
          free (ring.items[slot]);
        }
      free (ring.items);
      free (ring.lens);
    }
  return rc;
}

int
logs_jsonfile_follow (int dirfd, const char *name, const struct logs_read_options *o, int out_fd,
                      int64_t offset, bool (*alive) (void *data), void *data)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct stat st0;
  fstat (fd, &st0);
  if (lseek (fd, offset, SEEK_SET) < 0)
    return -1;
  for (;;)
    {
      bool was_alive = alive (data);
      if (read_lines (fd, o, out_fd, NULL) < 0)
        return -1;
      if (!was_alive)
        return 0; /* the producer is gone and everything it wrote is out */
      /* rotated: the name now points at a new file; finish the old one
       * (done above) and continue on the new one from its start */
      struct stat st;
      if (fstatat (dirfd, name, &st, 0) == 0 && st.st_ino != st0.st_ino)
        {
          int nfd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);
          if (nfd >= 0)
            {
              close (fd);
              fd = nfd;
              st0 = st;
            }
        }
      /* the reader going away shows as POLLERR on the pipe */
      struct pollfd p = { .fd = out_fd, .events = 0 };
      if (poll (&p, 1, 50) > 0 && (p.revents & (POLLERR | POLLHUP)))
        return -1;
    }
}
