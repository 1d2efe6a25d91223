/* Reading json-file logs back for GET /containers/{id}/logs and attach's
 * logs=1: rotated files oldest first, since/until/tail, timestamps, frames
 * without a tty, and follow (tail the file while the monitor lives). */
#include "daemon/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* One line's fields, borrowed from j (valid while j lives). The time is
 * parsed only when asked for (since/until/timestamps): strptime is the
 * dearest part of a line that needs none of them. */
static int
parse_fields (const char *line, size_t len, bool want_time, json_t **j, struct log_entry *e)
{
  json_error_t jerr;
  *j = json_loadb (line, len, JSON_ALLOW_NUL, &jerr);
  if (!json_is_object (*j))
    return -1;
  json_t *log = json_object_get (*j, "log");
  json_t *stream = json_object_get (*j, "stream");
  json_t *time = json_object_get (*j, "time");
  if (!json_is_string (log) || !json_is_string (stream) || !json_is_string (time))
    return -1;
  e->time_ns = 0;
  if (want_time)
    {
      struct timespec ts;
      if (time_parse_rfc3339 (json_string_value (time), &ts) < 0)
        return -1;
      e->time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
  e->stream
      = strcmp (json_string_value (stream), "stderr") == 0 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT;
  e->len = json_string_length (log);
  e->data = (char *)json_string_value (log);
  return 0;
}

int
logs_jsonfile_parse_line (const char *line, size_t len, struct log_entry *e)
{
  _cleanup_json_ json_t *j = NULL;
  struct log_entry b;
  if (parse_fields (line, len, true, &j, &b) < 0)
    return -1;
  *e = b;
  e->data = malloc (b.len + 1);
  if (e->data == NULL)
    abort ();
  memcpy (e->data, b.data, b.len + 1);
  return 0;
}

struct outbuf
{
  char *data;
  size_t len, cap;
};

static char *
outbuf_reserve (struct outbuf *b, size_t n)
{
  if (b->len + n > b->cap)
    {
      size_t cap = b->cap ? b->cap : 65536;
      while (cap < b->len + n)
        cap *= 2;
      b->data = realloc (b->data, cap);
      if (b->data == NULL)
        abort ();
      b->cap = cap;
    }
  return b->data + b->len;
}

/* Append e as the client gets it: docker's frame header without a tty,
 * the timestamp prefix with timestamps=1, the bytes. */
static void
entry_append (const struct log_entry *e, const struct logs_read_options *o, struct outbuf *b)
{
  char prefix[64];
  size_t plen = 0;
  if (o->timestamps)
    {
      struct timespec ts = { .tv_sec = (time_t)(e->time_ns / 1000000000ull),
                             .tv_nsec = (long)(e->time_ns % 1000000000ull) };
      _cleanup_free_ char *t = time_format_rfc3339nano_fixed (&ts);
      plen = (size_t)snprintf (prefix, sizeof prefix, "%s ", t);
      if (plen >= sizeof prefix)
        plen = sizeof prefix - 1;
    }
  size_t hdr = o->tty ? 0 : 8;
  char *p = outbuf_reserve (b, hdr + plen + e->len);
  if (!o->tty)
    logs_frame_header ((uint8_t *)p, e->stream, (uint32_t)(plen + e->len));
  memcpy (p + hdr, prefix, plen);
  memcpy (p + hdr + plen, e->data, e->len);
  b->len += hdr + plen + e->len;
}

int
logs_entry_encode (const struct log_entry *e, const struct logs_read_options *o, char **out,
                   size_t *out_len)
{
  struct outbuf b = { 0 };
  entry_append (e, o, &b);
  *out = b.data ? b.data : calloc (1, 1);
  *out_len = b.len;
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

static void
ring_push (struct tail_ring *ring, char *buf, size_t len)
{
  if (ring->cap == 0)
    {
      free (buf);
      return;
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
}

/* Written to the reader in large blocks: a write per line was half of the
 * cost of reading 100 MB back. */
#define OUT_FLUSH_BYTES (256u * 1024)

static int
outbuf_flush (struct outbuf *b, int out_fd)
{
  int rc = b->len ? fs_write_all (out_fd, b->data, b->len) : 0;
  b->len = 0;
  return rc;
}

static int
line_take (const char *line, size_t len, const struct logs_read_options *o, struct outbuf *out,
           struct tail_ring *ring)
{
  _cleanup_json_ json_t *j = NULL;
  struct log_entry e;
  bool want_time = o->timestamps || o->since_ns || o->until_ns;
  if (parse_fields (line, len, want_time, &j, &e) < 0 || !entry_wanted (&e, o))
    return 0;
  if (ring == NULL)
    {
      entry_append (&e, o, out);
      return 0;
    }
  char *enc;
  size_t elen;
  logs_entry_encode (&e, o, &enc, &elen);
  ring_push (ring, enc, elen);
  return 0;
}

/* Parse lines from fd starting at its current offset; returns bytes of
 * complete lines consumed, or -1 on a write error. Complete lines are
 * parsed where they lie in the read buffer; only a line cut by the end of
 * a read is copied. */
static int64_t
read_lines (int fd, const struct logs_read_options *o, int out_fd, struct tail_ring *ring)
{
  char buf[65536];
  _cleanup_free_ char *pending = NULL;
  size_t plen = 0, pcap = 0;
  int64_t consumed = 0;
  struct outbuf out = { 0 };
  int rc = 0;
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
          if (nl && plen == 0)
            {
              line_take (p, chunk, o, &out, ring);
              consumed += (int64_t)chunk;
            }
          else
            {
              if (plen + chunk + 1 > pcap)
                {
                  pcap = (plen + chunk + 1) * 2;
                  pending = realloc (pending, pcap);
                  if (pending == NULL)
                    abort ();
                }
              memcpy (pending + plen, p, chunk);
              plen += chunk;
              if (nl)
                {
                  line_take (pending, plen, o, &out, ring);
                  consumed += (int64_t)plen;
                  plen = 0;
                }
            }
          p += chunk;
          left -= chunk;
        }
      if (out.len >= OUT_FLUSH_BYTES && outbuf_flush (&out, out_fd) < 0)
        {
          rc = -1;
          break;
        }
    }
  if (rc == 0 && outbuf_flush (&out, out_fd) < 0)
    rc = -1;
  free (out.data);
  return rc < 0 ? -1 : consumed;
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
