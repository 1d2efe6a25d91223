/* Writing layers and root filesystems as tar: a deterministic walk of a
 * directory fd (sorted names, hardlinks kept, xattrs kept), overlay
 * whiteouts turned back into .wh. entries for diffs, and an output stream
 * that hashes the tar (diff_id) and the compressed bytes (blob digest) while
 * compressing with ISA-L igzip deflate or zstd. libarchive formats the
 * headers (PAX where needed); the walk is ours, fd-relative. */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zstd.h>

#define ZBUF (256 * 1024)

struct out_stream
{
  int fd;
  enum image_compression compression;
  struct sha256_ctx *tar_sha, *out_sha;
  int64_t tar_size, out_size;
  struct isal_zstream *gz;
  unsigned char *gz_level_buf;
  ZSTD_CCtx *zs;
  unsigned char *buf;
  int error;
};

static int
out_emit (struct out_stream *o, const void *buf, size_t len)
{
  sha256_ctx_update (o->out_sha, buf, len);
  o->out_size += (int64_t)len;
  if (fs_write_all (o->fd, buf, len) < 0)
    {
      o->error = errno;
      return -1;
    }
  return 0;
}

static int
out_compress (struct out_stream *o, const void *buf, size_t len, bool end)
{
  if (o->compression == IMAGE_COMPRESSION_GZIP)
    {
      struct isal_zstream *z = o->gz;
      z->next_in = (uint8_t *)buf;
      z->avail_in = (uint32_t)len;
      z->end_of_stream = end;
      do
        {
          z->next_out = o->buf;
          z->avail_out = ZBUF;
          if (isal_deflate (z) != COMP_OK)
            {
              o->error = EIO;
              return -1;
            }
          if (ZBUF - z->avail_out && out_emit (o, o->buf, ZBUF - z->avail_out) < 0)
            return -1;
        }
      while (z->avail_in > 0 || (end && z->internal_state.state != ZSTATE_END));
      return 0;
    }
  if (o->compression == IMAGE_COMPRESSION_ZSTD)
    {
      ZSTD_inBuffer in = { buf, len, 0 };
      for (;;)
        {
          ZSTD_outBuffer out = { o->buf, ZBUF, 0 };
          size_t r = ZSTD_compressStream2 (o->zs, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
          if (ZSTD_isError (r))
            {
              o->error = EIO;
              return -1;
            }
          if (out.pos && out_emit (o, o->buf, out.pos) < 0)
            return -1;
          if (end ? r == 0 : in.pos == in.size)
            return 0;
        }
    }
  return len ? out_emit (o, buf, len) : 0;
}

static la_ssize_t
archive_write_cb (struct archive *a, void *data, const void *buf, size_t len)
{
  struct out_stream *o = data;
  sha256_ctx_update (o->tar_sha, buf, len);
  o->tar_size += (int64_t)len;
  if (out_compress (o, buf, len, false) < 0)
    {
      archive_set_error (a, o->error, "write output");
      return -1;
    }
  return (la_ssize_t)len;
}

static void
out_init (struct out_stream *o, int fd, enum image_compression c)
{
  memset (o, 0, sizeof *o);
  o->fd = fd;
  o->compression = c == IMAGE_COMPRESSION_AUTO ? IMAGE_COMPRESSION_NONE : c;
  o->tar_sha = sha256_ctx_new ();
  o->out_sha = sha256_ctx_new ();
  o->buf = malloc (ZBUF);
  if (o->buf == NULL)
    abort ();
  if (o->compression == IMAGE_COMPRESSION_GZIP)
    {
      o->gz = calloc (1, sizeof *o->gz);
      o->gz_level_buf = malloc (ISAL_DEF_LVL1_DEFAULT);
      if (o->gz == NULL || o->gz_level_buf == NULL)
        abort ();
      isal_deflate_init (o->gz);
      o->gz->level = 1;
      o->gz->level_buf = o->gz_level_buf;
      o->gz->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
      o->gz->gzip_flag = IGZIP_GZIP;
    }
  else if (o->compression == IMAGE_COMPRESSION_ZSTD)
    {
      o->zs = ZSTD_createCCtx ();
      if (o->zs == NULL)
        abort ();
      ZSTD_CCtx_setParameter (o->zs, ZSTD_c_compressionLevel, 3);
    }
}

static void
out_free (struct out_stream *o)
{
  sha256_ctx_free (o->tar_sha);
  sha256_ctx_free (o->out_sha);
  free (o->gz);
  free (o->gz_level_buf);
  if (o->zs)
    ZSTD_freeCCtx (o->zs);
  free (o->buf);
}

/* ------------------------------------------------------------- walk -- */

struct link_seen
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct walker
{
  struct archive *a;
  bool whiteouts;
  struct link_seen *links;
  size_t n_links, cap_links;
  unsigned char *buf;
};

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static int
ar_error (struct walker *w, const char *path, struct berth_error **err)
{
  return berth_error_set (err, archive_errno (w->a), "tar `%s`: %s", path,
                          archive_error_string (w->a) ? archive_error_string (w->a) : "error");
}

static int
emit_empty (struct walker *w, const char *path, const struct stat *st, struct berth_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0);
  archive_entry_set_size (e, 0);
  archive_entry_set_uid (e, st->st_uid);
  archive_entry_set_gid (e, st->st_gid);
  archive_entry_set_mtime (e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  int r = archive_write_header (w->a, e);
  archive_entry_free (e);
  return r == ARCHIVE_OK ? 0 : ar_error (w, path, err);
}

static void
xattrs_add (struct archive_entry *e, int fd)
{
  char names[4096];
  ssize_t n = flistxattr (fd, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen (names + off) + 1)
    {
      const char *name = names + off;
      if (str_has_prefix (name, "trusted.overlay."))
        continue;
      char val[4096];
      ssize_t vl = fgetxattr (fd, name, val, sizeof val);
      if (vl >= 0)
        archive_entry_xattr_add_entry (e, name, val, (size_t)vl);
    }
}

static int walk_dir (struct walker *w, int dirfd, const char *prefix, struct berth_error **err);

static int
walk_entry (struct walker *w, int dirfd, const char *name, const char *prefix,
            struct berth_error **err)
{
  _cleanup_free_ char *path = *prefix ? xasprintf ("%s/%s", prefix, name) : xstrdup (name);
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set (err, errno, "stat `%s`", path);
  if (w->whiteouts && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
    {
      _cleanup_free_ char *wh
          = *prefix ? xasprintf ("%s/.wh.%s", prefix, name) : xasprintf (".wh.%s", name);
      return emit_empty (w, wh, &st, err);
    }
  struct archive_entry *e = archive_entry_new ();
  archive_entry_copy_stat (e, &st);
  archive_entry_set_pathname (e, path);
  archive_entry_set_uname (e, "");
  archive_entry_set_gname (e, "");
  int fd = -1;
  bool opaque = false;
  int r = 0;
  if (S_ISREG (st.st_mode) && st.st_nlink > 1)
    {
      for (size_t i = 0; i < w->n_links; i++)
        if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino)
          {
            archive_entry_set_hardlink (e, w->links[i].path);
            archive_entry_set_size (e, 0);
            r = archive_write_header (w->a, e);
            archive_entry_free (e);
            return r == ARCHIVE_OK ? 0 : ar_error (w, path, err);
          }
      if (w->n_links == w->cap_links)
        {
          w->cap_links = w->cap_links ? w->cap_links * 2 : 64;
          w->links = realloc (w->links, w->cap_links * sizeof *w->links);
          if (w->links == NULL)
            abort ();
        }
      w->links[w->n_links++] = (struct link_seen){ st.st_dev, st.st_ino, xstrdup (path) };
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);
      if (n < 0)
        {
          archive_entry_free (e);
          return berth_error_set (err, errno, "readlink `%s`", path);
        }
      target[n] = '\0';
      archive_entry_set_symlink (e, target);
    }
  else if (S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
    {
      fd = openat (dirfd, name,
                   (S_ISDIR (st.st_mode) ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          archive_entry_free (e);
          return berth_error_set (err, errno, "open `%s`", path);
        }
      xattrs_add (e, fd);
      char v[4];
      opaque = S_ISDIR (st.st_mode) && w->whiteouts
               && fgetxattr (fd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
    }
  if (!S_ISREG (st.st_mode))
    archive_entry_set_size (e, 0);
  r = archive_write_header (w->a, e);
  archive_entry_free (e);
  _cleanup_close_ int fdg = fd;
  if (r != ARCHIVE_OK)
    return ar_error (w, path, err);
  if (S_ISREG (st.st_mode))
    {
      int64_t left = st.st_size;
      while (left > 0)
        {
          ssize_t n = read (fd, w->buf, left < ZBUF ? (size_t)left : ZBUF);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            return berth_error_set (err, n < 0 ? errno : EIO, "read `%s` (file shrank?)", path);
          if (archive_write_data (w->a, w->buf, (size_t)n) != n)
            return ar_error (w, path, err);
          left -= n;
        }
    }
  else if (S_ISDIR (st.st_mode))
    {
      if (opaque)
        {
          _cleanup_free_ char *wh = xasprintf ("%s/"
                                               ".wh..wh..opq",
                                               path);
          if (emit_empty (w, wh, &st, err) < 0)
            return -1;
        }
      return walk_dir (w, fd, path, err);
    }
  return 0;
}

static int
walk_dir (struct walker *w, int dirfd, const char *prefix, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read `%s`", *prefix ? prefix : "/");
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      strv_append (&names, de->d_name);
  qsort (names, strv_len (names), sizeof (char *), name_cmp);
  for (char **n = names; *n; n++)
    if (walk_entry (w, dirfd, *n, prefix, err) < 0)
      return -1;
  return 0;
}

void
tar_write_result_clear (struct tar_write_result *r)
{
  free (r->diff_id);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

int
tar_write_tree (int dirfd, int out_fd, enum image_compression compression,
                bool whiteouts_from_overlay, struct tar_write_result *res, struct berth_error **err)
{
  struct out_stream o;
  out_init (&o, out_fd, compression);
  struct walker w = { .whiteouts = whiteouts_from_overlay, .buf = malloc (ZBUF) };
  if (w.buf == NULL)
    abort ();
  w.a = archive_write_new ();
  int r = -1;
  /* hdrcharset=BINARY: names are bytes, written as they are. Otherwise
   * libarchive converts them from the locale (berthd's is "C") to UTF-8
   * and refuses any non-ASCII name ("Can't translate pathname"); docker's
   * Go tar writes any name. */
  if (archive_write_set_format_pax_restricted (w.a) != ARCHIVE_OK
      || archive_write_set_format_option (w.a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK
      || archive_write_set_bytes_per_block (w.a, 10240) != ARCHIVE_OK
      || archive_write_open2 (w.a, &o, NULL, archive_write_cb, NULL, NULL) != ARCHIVE_OK)
    ar_error (&w, "(open)", err);
  else if (walk_dir (&w, dirfd, "", err) == 0)
    {
      if (archive_write_close (w.a) != ARCHIVE_OK)
        ar_error (&w, "(close)", err);
      else if (out_compress (&o, NULL, 0, true) < 0)
        berth_error_set (err, o.error, "write output");
      else
        r = 0;
    }
  archive_write_free (w.a);
  for (size_t i = 0; i < w.n_links; i++)
    free (w.links[i].path);
  free (w.links);
  free (w.buf);
  if (r == 0 && res)
    {
      res->diff_id = sha256_ctx_digest (o.tar_sha);
      res->digest = sha256_ctx_digest (o.out_sha);
      res->size = o.out_size;
      res->tar_size = o.tar_size;
    }
  out_free (&o);
  return r;
}

int
image_export_rootfs (int rootfd, int out_fd, struct berth_error **err)
{
  if (tar_write_tree (rootfd, out_fd, IMAGE_COMPRESSION_NONE, false, NULL, err) < 0)
    return berth_error_prefix (err, "export");
  return 0;
}
