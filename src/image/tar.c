/* A push-driven tar reader: ustar, GNU (long names/links) and PAX (path,
 * linkpath, size, uid, gid, mtime, SCHILY.xattr.*) headers, fed with bytes as
 * they arrive so a layer is parsed in the same pass that inflates and hashes
 * it. Hostile input is refused with a reason: bad checksums, bad numbers,
 * oversized meta headers, truncation, unsupported (sparse) entries. */
#include "image/tar-internal.h"

#include <string.h>

#define BLOCK 512
#define META_MAX (1 << 20) /* PAX / GNU long name payloads: 1 MiB is plenty */

enum state
{
  ST_HEADER,
  ST_DATA,    /* entry payload, handed to the callbacks */
  ST_META,    /* PAX 'x'/'g' or GNU 'L'/'K' payload, collected */
  ST_PADDING, /* up to the next 512 boundary */
  ST_END,     /* after the end-of-archive blocks: everything is ignored */
};

struct tar_parser
{
  const struct tar_callbacks *cb;
  void *data;
  enum state state;
  unsigned char hdr[BLOCK];
  size_t hdr_fill;
  int64_t remaining; /* of data/meta */
  size_t padding;
  char meta_type;
  char *meta;
  size_t meta_fill;
  int zero_blocks;
  /* overrides from PAX / GNU headers for the next entry */
  char *next_path, *next_link;
  int64_t next_size, next_uid, next_gid;
  bool has_size, has_uid, has_gid, has_mtime;
  struct timespec next_mtime;
  struct tar_xattr *xattrs;
  size_t n_xattrs;
  bool in_entry;
};

struct tar_parser *
tar_parser_new (const struct tar_callbacks *cb, void *data)
{
  struct tar_parser *p = calloc (1, sizeof *p);
  if (p == NULL)
    abort ();
  p->cb = cb;
  p->data = data;
  return p;
}

static void
overrides_clear (struct tar_parser *p)
{
  free (p->next_path);
  free (p->next_link);
  p->next_path = p->next_link = NULL;
  p->has_size = p->has_uid = p->has_gid = p->has_mtime = false;
  for (size_t i = 0; i < p->n_xattrs; i++)
    {
      free (p->xattrs[i].name);
      free (p->xattrs[i].value);
    }
  free (p->xattrs);
  p->xattrs = NULL;
  p->n_xattrs = 0;
}

void
tar_parser_free (struct tar_parser *p)
{
  if (p == NULL)
    return;
  overrides_clear (p);
  free (p->meta);
  free (p);
}

int
tar_parse_number (const unsigned char *f, size_t len, int64_t *out)
{
  if (len > 0 && (f[0] & 0x80))
    {
      /* base-256 (GNU/star): big-endian, first byte's high bit set; a
       * negative number (0xff) is refused */
      if (f[0] == 0xff)
        return -1;
      uint64_t v = f[0] & 0x7f;
      for (size_t i = 1; i < len; i++)
        {
          if (v >> 55)
            return -1;
          v = (v << 8) | f[i];
        }
      if (v > INT64_MAX)
        return -1;
      *out = (int64_t)v;
      return 0;
    }
  size_t i = 0;
  while (i < len && (f[i] == ' ' || f[i] == '\0'))
    i++;
  uint64_t v = 0;
  bool any = false;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++)
    {
      if (v >> 60)
        return -1;
      v = v * 8 + (uint64_t)(f[i] - '0');
      any = true;
    }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != '\0')
      return -1;
  *out = any ? (int64_t)v : 0;
  return 0;
}

bool
tar_header_checksum_ok (const unsigned char *h)
{
  int64_t want;
  if (tar_parse_number (h + 148, 8, &want) < 0)
    return false;
  uint64_t u = 0;
  int64_t s = 0;
  for (int i = 0; i < BLOCK; i++)
    {
      unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
      u += c;
      s += (signed char)c;
    }
  return (int64_t)u == want || s == want;
}

static char *
field_string (const unsigned char *f, size_t len)
{
  size_t n = strnlen ((const char *)f, len);
  char *s = strndup ((const char *)f, n);
  if (s == NULL)
    abort ();
  return s;
}

static int
tar_error (struct berth_error **err, const char *what)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "tar: %s", what);
}

static void
xattr_add (struct tar_parser *p, const char *name, const char *value, size_t len)
{
  struct tar_xattr *nx = realloc (p->xattrs, (p->n_xattrs + 1) * sizeof *nx);
  if (nx == NULL)
    abort ();
  p->xattrs = nx;
  nx[p->n_xattrs].name = xstrdup (name);
  nx[p->n_xattrs].value = malloc (len + 1);
  if (nx[p->n_xattrs].value == NULL)
    abort ();
  memcpy (nx[p->n_xattrs].value, value, len);
  nx[p->n_xattrs].value[len] = '\0';
  nx[p->n_xattrs].len = len;
  p->n_xattrs++;
}

static int
pax_number (const char *v, size_t len, int64_t *out)
{
  if (len == 0 || len > 20)
    return -1;
  int64_t n = 0;
  for (size_t i = 0; i < len; i++)
    {
      if (v[i] < '0' || v[i] > '9')
        return -1;
      n = n * 10 + (v[i] - '0');
    }
  *out = n;
  return 0;
}

static int
pax_time (const char *v, size_t len, struct timespec *ts)
{
  char buf[64];
  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy (buf, v, len);
  buf[len] = '\0';
  char *dot = strchr (buf, '.');
  if (dot)
    *dot = '\0';
  int64_t sec;
  bool neg = buf[0] == '-';
  if (pax_number (buf + neg, strlen (buf + neg), &sec) < 0)
    return -1;
  long nsec = 0;
  if (dot)
    {
      long scale = 100000000;
      for (char *c = dot + 1; *c && scale; c++, scale /= 10)
        {
          if (*c < '0' || *c > '9')
            return -1;
          nsec += (*c - '0') * scale;
        }
    }
  ts->tv_sec = neg ? -sec : sec;
  ts->tv_nsec = nsec;
  return 0;
}

/* PAX records: "<len> <key>=<value>\n", len counting the whole record. */
static int
pax_apply (struct tar_parser *p, bool global, struct berth_error **err)
{
  const char *s = p->meta, *end = p->meta + p->meta_fill;
  while (s < end)
    {
      const char *sp = memchr (s, ' ', (size_t)(end - s));
      int64_t reclen;
      if (sp == NULL || pax_number (s, (size_t)(sp - s), &reclen) < 0 || reclen <= sp - s
          || reclen > end - s || s[reclen - 1] != '\n')
        return tar_error (err, "malformed PAX record");
      const char *key = sp + 1, *recend = s + reclen - 1;
      const char *eq = memchr (key, '=', (size_t)(recend - key));
      if (eq == NULL)
        return tar_error (err, "malformed PAX record (no '=')");
      size_t klen = (size_t)(eq - key), vlen = (size_t)(recend - eq - 1);
      const char *val = eq + 1;
      s += reclen;
      if (global)
        continue; /* Go's tar and docker ignore global headers for extraction */
#define KEY_IS(k) (klen == strlen (k) && memcmp (key, k, klen) == 0)
      if (KEY_IS ("path"))
        {
          free (p->next_path);
          p->next_path = strndup (val, vlen);
        }
      else if (KEY_IS ("linkpath"))
        {
          free (p->next_link);
          p->next_link = strndup (val, vlen);
        }
      else if (KEY_IS ("size"))
        {
          if (pax_number (val, vlen, &p->next_size) < 0)
            return tar_error (err, "bad PAX size");
          p->has_size = true;
        }
      else if (KEY_IS ("uid") || KEY_IS ("gid"))
        {
          int64_t v;
          if (pax_number (val, vlen, &v) < 0 || v > UINT32_MAX)
            return tar_error (err, "bad PAX uid/gid");
          if (key[0] == 'u')
            p->next_uid = v, p->has_uid = true;
          else
            p->next_gid = v, p->has_gid = true;
        }
      else if (KEY_IS ("mtime"))
        {
          if (pax_time (val, vlen, &p->next_mtime) < 0)
            return tar_error (err, "bad PAX mtime");
          p->has_mtime = true;
        }
      else if (klen > 13 && memcmp (key, "SCHILY.xattr.", 13) == 0)
        {
          _cleanup_free_ char *name = strndup (key + 13, klen - 13);
          xattr_add (p, name, val, vlen);
        }
      else if (klen > 11 && memcmp (key, "GNU.sparse.", 11) == 0)
        return tar_error (err, "sparse files are not supported");
#undef KEY_IS
    }
  return 0;
}

static int
header_process (struct tar_parser *p, struct berth_error **err)
{
  const unsigned char *h = p->hdr;
  bool zero = true;
  for (int i = 0; i < BLOCK && zero; i++)
    zero = h[i] == 0;
  if (zero)
    {
      if (++p->zero_blocks == 2)
        p->state = ST_END;
      return 0;
    }
  if (p->zero_blocks)
    return tar_error (err, "data after an end-of-archive block");
  if (!tar_header_checksum_ok (h))
    return tar_error (err, "header checksum mismatch (not a tar stream, or corrupt)");

  int64_t size, mode, uid, gid, mtime, dmaj, dmin;
  if (tar_parse_number (h + 124, 12, &size) < 0 || tar_parse_number (h + 100, 8, &mode) < 0
      || tar_parse_number (h + 108, 8, &uid) < 0 || tar_parse_number (h + 116, 8, &gid) < 0
      || tar_parse_number (h + 136, 12, &mtime) < 0 || tar_parse_number (h + 329, 8, &dmaj) < 0
      || tar_parse_number (h + 337, 8, &dmin) < 0)
    return tar_error (err, "malformed numeric field in header");
  char type = (char)h[156];
  if (type == 'x' || type == 'g' || type == 'L' || type == 'K')
    {
      if (size > META_MAX)
        return tar_error (err, "extended header larger than 1 MiB");
      p->meta_type = type;
      free (p->meta);
      p->meta = malloc ((size_t)size + 1);
      if (p->meta == NULL)
        abort ();
      p->meta_fill = 0;
      p->remaining = size;
      p->padding = (size_t)((BLOCK - size % BLOCK) % BLOCK);
      p->state = ST_META;
      return 0;
    }

  struct tar_entry e = { 0 };
  _cleanup_free_ char *path = NULL;
  _cleanup_free_ char *link = NULL;
  if (p->next_path)
    path = steal_pointer (&p->next_path);
  else
    {
      _cleanup_free_ char *name = field_string (h, 100);
      bool posix = memcmp (h + 257, "ustar\0", 6) == 0;
      _cleanup_free_ char *prefix = posix ? field_string (h + 345, 155) : NULL;
      path = prefix && *prefix ? xasprintf ("%s/%s", prefix, name) : steal_pointer (&name);
    }
  link = p->next_link ? steal_pointer (&p->next_link) : field_string (h + 157, 100);
  if (type == '\0' || type == '7')
    type = TAR_REG;
  if (type == TAR_REG && str_has_suffix (path, "/"))
    type = TAR_DIR; /* pre-POSIX tar marks directories by the trailing slash */
  if (!strchr ("0123456", type))
    {
      _cleanup_free_ char *msg = xasprintf ("entry `%s`: unsupported type '%c'", path,
                                            type >= 32 && type < 127 ? type : '?');
      return tar_error (err, msg);
    }
  if (p->has_size)
    size = p->next_size;
  if (type != TAR_REG)
    size = 0; /* header-only types carry no data (Go's isHeaderOnlyType) */
  if (size < 0)
    return tar_error (err, "negative entry size");
  e.path = path;
  e.linkname = link;
  e.type = type;
  e.mode = (mode_t)(mode & 07777);
  e.uid = (uid_t)(p->has_uid ? p->next_uid : uid);
  e.gid = (gid_t)(p->has_gid ? p->next_gid : gid);
  e.size = size;
  e.mtime = p->has_mtime ? p->next_mtime : (struct timespec){ .tv_sec = mtime };
  e.devmajor = (unsigned)dmaj;
  e.devminor = (unsigned)dmin;
  e.xattrs = p->xattrs;
  e.n_xattrs = p->n_xattrs;
  int r = p->cb->entry_begin (p->data, &e, err);
  overrides_clear (p);
  if (r < 0)
    return -1;
  p->in_entry = true;
  p->remaining = size;
  p->padding = (size_t)((BLOCK - size % BLOCK) % BLOCK);
  p->state = ST_DATA;
  if (size == 0)
    {
      p->in_entry = false;
      p->state = ST_HEADER;
      return p->cb->entry_end (p->data, err);
    }
  return 0;
}

static int
meta_done (struct tar_parser *p, struct berth_error **err)
{
  p->meta[p->meta_fill] = '\0';
  switch (p->meta_type)
    {
    case 'x':
      return pax_apply (p, false, err);
    case 'g':
      return pax_apply (p, true, err);
    case 'L':
      free (p->next_path);
      p->next_path = xstrdup (p->meta);
      return 0;
    case 'K':
      free (p->next_link);
      p->next_link = xstrdup (p->meta);
      return 0;
    }
  return 0;
}

int
tar_parser_feed (struct tar_parser *p, const void *buf, size_t len, struct berth_error **err)
{
  const unsigned char *in = buf;
  while (len > 0)
    {
      switch (p->state)
        {
        case ST_END:
          return 0; /* record padding after the end blocks: hashed, ignored */
        case ST_HEADER:
          {
            size_t n = BLOCK - p->hdr_fill < len ? BLOCK - p->hdr_fill : len;
            memcpy (p->hdr + p->hdr_fill, in, n);
            p->hdr_fill += n, in += n, len -= n;
            if (p->hdr_fill == BLOCK)
              {
                p->hdr_fill = 0;
                if (header_process (p, err) < 0)
                  return -1;
              }
            break;
          }
        case ST_DATA:
        case ST_META:
          {
            size_t n = (uint64_t)p->remaining < len ? (size_t)p->remaining : len;
            if (p->state == ST_DATA)
              {
                if (p->cb->entry_data (p->data, in, n, err) < 0)
                  return -1;
              }
            else
              {
                memcpy (p->meta + p->meta_fill, in, n);
                p->meta_fill += n;
              }
            p->remaining -= (int64_t)n, in += n, len -= n;
            if (p->remaining == 0)
              {
                if (p->state == ST_DATA)
                  {
                    p->in_entry = false;
                    if (p->cb->entry_end (p->data, err) < 0)
                      return -1;
                  }
                else if (meta_done (p, err) < 0)
                  return -1;
                p->state = p->padding ? ST_PADDING : ST_HEADER;
              }
            break;
          }
        case ST_PADDING:
          {
            size_t n = p->padding < len ? p->padding : len;
            p->padding -= n, in += n, len -= n;
            if (p->padding == 0)
              p->state = ST_HEADER;
            break;
          }
        }
    }
  return 0;
}

int
tar_parser_finish (struct tar_parser *p, struct berth_error **err)
{
  if (p->state == ST_END || (p->state == ST_HEADER && p->hdr_fill == 0))
    return 0;
  if (p->state == ST_PADDING && !p->in_entry)
    return 0; /* truncated padding of the last entry: Go's reader is lenient too */
  return tar_error (err, "unexpected end of stream inside an entry (truncated layer)");
}

char *
tar_path_clean (const char *path, struct berth_error **err)
{
  if (path == NULL)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "tar entry without a name");
      return NULL;
    }
  _cleanup_strv_ char **parts = strv_split (path, '/');
  _cleanup_strv_ char **out = calloc (1, sizeof (char *));
  if (out == NULL)
    abort ();
  size_t n = 0;
  for (char **c = parts; *c; c++)
    {
      if (**c == '\0' || strcmp (*c, ".") == 0)
        continue;
      if (strcmp (*c, "..") == 0)
        {
          if (n == 0)
            {
              berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                    "tar entry `%s`: path escapes the layer root", path);
              return NULL;
            }
          free (out[--n]);
          out[n] = NULL;
          continue;
        }
      strv_append (&out, *c);
      n++;
    }
  return strv_join (out, "/");
}

int
whiteout_classify (const char *base, enum whiteout_kind *kind, const char **target,
                   struct berth_error **err)
{
  *target = NULL;
  if (!str_has_prefix (base, WHITEOUT_PREFIX))
    {
      *kind = WHITEOUT_NONE;
      return 0;
    }
  if (strcmp (base, WHITEOUT_OPAQUE) == 0)
    {
      *kind = WHITEOUT_OPAQUE_DIR;
      return 0;
    }
  if (str_has_prefix (base, WHITEOUT_META_PREFIX))
    {
      *kind = WHITEOUT_META;
      return 0;
    }
  const char *t = base + strlen (WHITEOUT_PREFIX);
  if (*t == '\0' || strcmp (t, ".") == 0 || strcmp (t, "..") == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "whiteout `%s` names a parent directory",
                                 base);
  *kind = WHITEOUT_FILE;
  *target = t;
  return 0;
}
