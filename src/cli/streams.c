/* berth cli: reading the daemon's streams: docker's 8-byte framed stdout/
 * stderr multiplexing (stdcopy), JSON-lines progress as docker displays it
 * (jsonmessage: redrawn bars on a terminal, plain lines otherwise), and a
 * line splitter for streamed JSON (events, stats). */
#include "cli/cli-internal.h"

#include <string.h>
#include <unistd.h>

int
stdcopy_feed (struct stdcopy *s, const char *data, size_t len)
{
  while (len > 0)
    {
      if (s->remaining == 0)
        {
          size_t need = 8 - s->hdr_len;
          size_t take = len < need ? len : need;
          memcpy (s->hdr + s->hdr_len, data, take);
          s->hdr_len += take;
          data += take;
          len -= take;
          if (s->hdr_len < 8)
            return 0;
          s->hdr_len = 0;
          if (s->hdr[0] > 3)
            return -1;
          s->stream = s->hdr[0];
          s->remaining = ((size_t) s->hdr[4] << 24) | ((size_t) s->hdr[5] << 16)
                         | ((size_t) s->hdr[6] << 8) | (size_t) s->hdr[7];
          continue;
        }
      size_t take = len < s->remaining ? len : s->remaining;
      int fd = s->stream == 2 ? s->err_fd : s->out_fd;
      if (s->stream == 3)
        fd = s->err_fd; /* systemerr: the daemon's own error */
      if (fd >= 0 && fs_write_all (fd, data, take) < 0)
        return -1;
      data += take;
      len -= take;
      s->remaining -= take;
    }
  return 0;
}

/* ---------------------------------------------------------------- tar -- */

static unsigned long long
tar_entry_size (const unsigned char *h)
{
  const unsigned char *f = h + 124;
  if (f[0] & 0x80)
    {
      /* base-256 (GNU) for sizes over 8 GiB */
      unsigned long long v = f[0] & 0x7f;
      for (int i = 1; i < 12; i++)
        v = (v << 8) | f[i];
      return v;
    }
  unsigned long long v = 0;
  for (int i = 0; i < 12 && f[i]; i++)
    if (f[i] >= '0' && f[i] <= '7')
      v = v * 8 + (unsigned) (f[i] - '0');
  return v;
}

size_t
tar_end_feed (struct tar_end *t, const char *data, size_t len)
{
  size_t used = 0;
  while (used < len && !t->done)
    {
      if (t->skip_bytes > 0)
        {
          size_t n = len - used;
          if (n > t->skip_bytes)
            n = (size_t) t->skip_bytes;
          t->skip_bytes -= n;
          used += n;
          continue;
        }
      size_t n = 512 - t->block_len;
      if (n > len - used)
        n = len - used;
      memcpy (t->block + t->block_len, data + used, n);
      t->block_len += n;
      used += n;
      if (t->block_len < 512)
        break;
      t->block_len = 0;
      bool zero = true;
      for (size_t i = 0; i < 512 && zero; i++)
        zero = t->block[i] == 0;
      if (zero)
        {
          if (++t->zero_blocks == 2)
            t->done = true;
          continue;
        }
      t->zero_blocks = 0;
      unsigned long long size = tar_entry_size (t->block);
      char type = (char) t->block[156];
      /* links, directories and devices carry no data whatever size says */
      if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6')
        size = 0;
      t->skip_bytes = (size + 511) / 512 * 512;
    }
  return used;
}

/* ------------------------------------------------------- line splitter -- */

int
line_splitter_feed (void *ud, const char *data, size_t len)
{
  struct line_splitter *ls = ud;
  for (size_t i = 0; i < len; i++)
    {
      if (ls->len + 1 >= ls->cap)
        {
          ls->cap = ls->cap ? ls->cap * 2 : 4096;
          ls->buf = realloc (ls->buf, ls->cap);
        }
      if (data[i] == '\n')
        {
          ls->buf[ls->len] = '\0';
          int rc = ls->len ? ls->fn (ls->ud, ls->buf, ls->len) : 0;
          ls->len = 0;
          if (rc < 0)
            return -1;
          continue;
        }
      ls->buf[ls->len++] = data[i];
    }
  return 0;
}

void
line_splitter_free (struct line_splitter *ls)
{
  free (ls->buf);
  ls->buf = NULL;
  ls->len = ls->cap = 0;
}

/* ------------------------------------------------------------ progress -- */

struct jsonmsg_display
{
  FILE *out;
  bool is_tty;
  bool quiet;
  struct line_splitter ls;
  char **ids; /* progress lines on screen, in order */
  char *error;
  int error_code;
  char *last_status;
  char *aux_id;
};

static size_t
ids_index (struct jsonmsg_display *d, const char *id, bool *found)
{
  size_t n = strv_len (d->ids);
  for (size_t i = 0; i < n; i++)
    if (strcmp (d->ids[i], id) == 0)
      return *found = true, i;
  *found = false;
  return n;
}

static int
jsonmsg_line (void *ud, const char *line, size_t len)
{
  struct jsonmsg_display *d = ud;
  json_error_t jerr;
  _cleanup_json_ json_t *m = json_loadb (line, len, 0, &jerr);
  if (m == NULL)
    return 0; /* not JSON: ignore like docker's decoder would fail loudly? keep going */
  json_t *edetail = json_object_get (m, "errorDetail");
  const char *emsg = json_string_value (json_object_get (edetail, "message"));
  if (emsg == NULL)
    emsg = json_string_value (json_object_get (m, "error"));
  if (emsg)
    {
      free (d->error);
      d->error = xstrdup (emsg);
      d->error_code = (int) json_integer_value (json_object_get (edetail, "code"));
      return 0;
    }
  const char *status = json_string_value (json_object_get (m, "status"));
  const char *stream = json_string_value (json_object_get (m, "stream"));
  const char *id = json_string_value (json_object_get (m, "id"));
  const char *progress = json_string_value (json_object_get (m, "progress"));
  json_t *detail = json_object_get (m, "progressDetail");
  json_t *aux = json_object_get (m, "aux");
  if (status)
    {
      free (d->last_status);
      d->last_status = xstrdup (status);
    }
  if (aux)
    {
      const char *aid = json_string_value (json_object_get (aux, "ID"));
      if (aid)
        {
          free (d->last_status);
          d->last_status = xstrdup (aid);
          free (d->aux_id);
          d->aux_id = xstrdup (aid);
        }
      return 0;
    }
  if (d->quiet)
    return 0;
  bool has_progress = (progress && *progress) || json_object_size (detail) > 0;
  FILE *out = d->out;
  size_t diff = 0;
  if (id && *id && has_progress)
    {
      bool found;
      size_t line_no = ids_index (d, id, &found);
      if (!found)
        {
          strv_append (&d->ids, id);
          if (d->is_tty)
            fputc ('\n', out);
        }
      diff = strv_len (d->ids) - line_no;
      if (d->is_tty)
        fprintf (out, "\x1b[%zuA", diff);
    }
  else
    strv_freep (&d->ids);
  /* jsonmessage.Display */
  const char *endl = "";
  if (d->is_tty && stream == NULL && has_progress)
    {
      fputs ("\x1b[2K\r", out);
      endl = "\r";
    }
  else if (has_progress && progress && *progress)
    return 0; /* no progress bars when not on a terminal */
  if (id && *id)
    fprintf (out, "%s: ", id);
  const char *from = json_string_value (json_object_get (m, "from"));
  if (from && *from)
    fprintf (out, "(from %s) ", from);
  if (has_progress && d->is_tty)
    fprintf (out, "%s %s%s", status ? status : "", progress ? progress : "", endl);
  else if (stream)
    fprintf (out, "%s%s", stream, endl);
  else
    fprintf (out, "%s%s\n", status ? status : "", endl);
  if (id && *id && d->is_tty && diff)
    fprintf (out, "\x1b[%zuB", diff);
  fflush (out);
  return 0;
}

struct jsonmsg_display *
jsonmsg_display_new (FILE *out, bool is_tty, bool quiet)
{
  struct jsonmsg_display *d = calloc (1, sizeof *d);
  d->out = out;
  d->is_tty = is_tty;
  d->quiet = quiet;
  d->ls.fn = jsonmsg_line;
  d->ls.ud = d;
  return d;
}

int
jsonmsg_display_feed (void *ud, const char *data, size_t len)
{
  struct jsonmsg_display *d = ud;
  return line_splitter_feed (&d->ls, data, len);
}

const char *
jsonmsg_display_error (struct jsonmsg_display *d)
{
  /* a last line without newline */
  if (d->ls.len)
    {
      char *tail = strndup (d->ls.buf, d->ls.len);
      d->ls.len = 0;
      jsonmsg_line (d, tail, strlen (tail));
      free (tail);
    }
  return d->error;
}

const char *
jsonmsg_display_aux_id (struct jsonmsg_display *d)
{
  jsonmsg_display_error (d); /* flush a last line without newline */
  return d->aux_id;
}

int
jsonmsg_display_error_code (struct jsonmsg_display *d)
{
  return d->error_code;
}

const char *
jsonmsg_display_last_status (struct jsonmsg_display *d)
{
  return d->last_status;
}

void
jsonmsg_display_free (struct jsonmsg_display *d)
{
  if (d == NULL)
    return;
  line_splitter_free (&d->ls);
  strv_freep (&d->ids);
  free (d->error);
  free (d->last_status);
  free (d->aux_id);
  free (d);
}
