/* The build context: the tar stream the client sends (plain or compressed)
 * received as a tree of directories, links and empty files of the right
 * sizes under a private directory (every entry resolved inside it, openat2
 * RESOLVE_IN_ROOT), while each file's bytes go to a spool (memory, then a
 * temp file) and its sha256 is taken: a cached step never needs the data,
 * a step that reads a file fills it from the spool. Then what
 * .dockerignore excludes is removed. ADD's local tars extract here too. */
#include "build/build-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

static void
EVP_MD_CTX_freep (EVP_MD_CTX **md)
{
  EVP_MD_CTX_free (*md);
}

static void
archive_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
  *a = NULL;
}

/* "./a/b/" -> "a/b"; NULL for the root itself. */
static char *
entry_path_clean (const char *p)
{
  while (p[0] == '.' && p[1] == '/')
    p += 2;
  while (*p == '/')
    p++;
  size_t n = strlen (p);
  while (n > 0 && p[n - 1] == '/')
    n--;
  if (n == 0 || (n == 1 && p[0] == '.'))
    return NULL;
  return strndup (p, n);
}

static int
split_parent (int dirfd, const char *path, int *parentfd, const char **base,
              struct berth_error **err)
{
  const char *slash = strrchr (path, '/');
  *base = slash ? slash + 1 : path;
  if (strcmp (*base, "..") == 0 || strcmp (*base, ".") == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context entry %s: invalid name", path);
  if (slash == NULL)
    {
      *parentfd = fcntl (dirfd, F_DUPFD_CLOEXEC, 3);
      return *parentfd < 0 ? berth_error_set (err, errno, "dup") : 0;
    }
  _cleanup_free_ char *dir = strndup (path, (size_t) (slash - path));
  *parentfd = fs_mkdir_p_in_root (dirfd, dir, 0755, err);
  return *parentfd < 0 ? -1 : 0;
}

/* The stock docker CLI, with a Dockerfile outside the context, rewrites
 * the tar and ends it without the last entry's padding and without the
 * end-of-archive blocks (Go's tar writer is never closed); dockerd accepts
 * that. For a plain tar stream, EOF is completed with the zero padding and
 * the two end blocks; compressed streams are passed as they are. */
struct padded_input
{
  int fd;
  struct context_index *ix; /* receiving: the stream lands in the raw spool */
  uint64_t total;
  bool plain_tar; /* decided from the first block */
  bool decided;
  size_t pad_left;
  bool at_eof;
  /* where the plain tar stream is: completing it is safe only when it
   * ended inside an entry's padding or on a header boundary, never in the
   * middle of a header or of data (a client that went away mid-upload) */
  enum { TAR_HEADER, TAR_DATA, TAR_PAD } state;
  size_t hdr_have;
  uint64_t data_left, pad_after;
  unsigned char hdr[512];
  char buf[65536];
};

static uint64_t
tar_size_field (const unsigned char *f)
{
  if (f[0] & 0x80)
    {
      /* base-256 (GNU/star) for sizes over 8 GiB */
      uint64_t v = f[0] & 0x7f;
      for (int i = 1; i < 12; i++)
        v = (v << 8) | f[i];
      return v;
    }
  uint64_t v = 0;
  for (int i = 0; i < 12 && f[i]; i++)
    if (f[i] >= '0' && f[i] <= '7')
      v = v * 8 + (uint64_t) (f[i] - '0');
  return v;
}

static void
tar_track (struct padded_input *in, const unsigned char *p, size_t n)
{
  while (n > 0)
    {
      if (in->state == TAR_HEADER)
        {
          size_t k = 512 - in->hdr_have < n ? 512 - in->hdr_have : n;
          memcpy (in->hdr + in->hdr_have, p, k);
          in->hdr_have += k;
          p += k;
          n -= k;
          if (in->hdr_have < 512)
            return;
          in->hdr_have = 0;
          uint64_t size = tar_size_field (in->hdr + 124);
          char type = (char) in->hdr[156];
          /* links, directories and devices carry no data whatever the size says */
          if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6')
            size = 0;
          in->data_left = size;
          in->pad_after = (512 - size % 512) % 512;
          in->state = size ? TAR_DATA : TAR_HEADER;
          continue;
        }
      uint64_t *left = in->state == TAR_DATA ? &in->data_left : &in->pad_after;
      size_t k = *left < n ? (size_t) *left : n;
      *left -= k;
      p += k;
      n -= k;
      if (*left == 0)
        in->state = in->state == TAR_DATA && in->pad_after ? TAR_PAD : TAR_HEADER;
    }
}

static bool
tar_can_complete (const struct padded_input *in)
{
  return (in->state == TAR_HEADER && in->hdr_have == 0) || in->state == TAR_PAD;
}

static la_ssize_t
padded_read (struct archive *a, void *data, const void **out)
{
  (void) a;
  struct padded_input *in = data;
  if (in->at_eof)
    {
      if (in->pad_left == 0)
        return 0;
      size_t n = in->pad_left < sizeof in->buf ? in->pad_left : sizeof in->buf;
      memset (in->buf, 0, n);
      in->pad_left -= n;
      *out = in->buf;
      return (la_ssize_t) n;
    }
  ssize_t n = -1;
  const char *p = in->buf;
  if (in->ix)
    n = context_spool_read (in->ix, in->fd, in->buf, sizeof in->buf, &p);
  if (n == -1)
    {
      p = in->buf;
      do
        n = read (in->fd, in->buf, sizeof in->buf);
      while (n < 0 && errno == EINTR);
    }
  if (n < 0)
    {
      archive_set_error (a, errno, "read the context");
      return -1;
    }
  if (!in->decided && n > 0)
    {
      in->decided = true;
      in->plain_tar = n >= 263 && memcmp (p + 257, "ustar", 5) == 0;
    }
  if (n == 0)
    {
      in->at_eof = true;
      if (in->plain_tar && tar_can_complete (in))
        in->pad_left = (size_t) ((512 - in->total % 512) % 512) + 1024;
      return padded_read (a, data, out);
    }
  in->total += (uint64_t) n;
  if (in->plain_tar)
    tar_track (in, (const unsigned char *) p, (size_t) n);
  *out = p;
  return n;
}

/* ------------------------------------------------------------ entries -- */

static void
sum_hex (EVP_MD_CTX *md, char hex[SHA256_HEX_LEN + 1])
{
  unsigned char d[32];
  unsigned int dl = 0;
  EVP_DigestFinal_ex (md, d, &dl);
  static const char digits[] = "0123456789abcdef";
  for (unsigned k = 0; k < 32; k++)
    {
      hex[2 * k] = digits[d[k] >> 4];
      hex[2 * k + 1] = digits[d[k] & 15];
    }
  hex[64] = '\0';
}

/* Where one file's data is kept while it streams in: in place in the raw
 * spool while its pieces follow each other there, else in the copy spool
 * (what came in place so far copied over first). */
struct file_data
{
  int which; /* -1: nothing yet */
  uint64_t start, have;
  bool copying;
};

static int
file_data_to_copy (struct context_index *ix, struct file_data *fd, uint64_t size,
                   struct berth_error **err)
{
  int raw = fd->which;
  if (context_spool_copy_open (ix, size, &fd->which, err) < 0)
    return -1;
  uint64_t start = ix->spool_len[fd->which];
  if (raw >= 0 && fd->have > 0
      && context_spool_write (ix, fd->which, (const char *) ix->raw_map[raw] + fd->start, (size_t) fd->have, err) < 0)
    return -1;
  fd->start = start;
  fd->copying = true;
  return 0;
}

static int
file_data_add (struct context_index *ix, struct file_data *fd, const void *buf, size_t n,
               uint64_t size, struct berth_error **err)
{
  if (!fd->copying)
    {
      int w;
      uint64_t off;
      if (context_spool_locate (ix, buf, n, &w, &off) && (fd->which < 0 || (w == fd->which && off == fd->start + fd->have)))
        {
          if (fd->which < 0)
            {
              fd->which = w;
              fd->start = off;
            }
          fd->have += n;
          return 0;
        }
      if (file_data_to_copy (ix, fd, size, err) < 0)
        return -1;
    }
  if (context_spool_write (ix, fd->which, buf, n, err) < 0)
    return -1;
  fd->have += n;
  return 0;
}

static int
file_data_zeros (struct context_index *ix, struct file_data *fd, EVP_MD_CTX *md, uint64_t n,
                 uint64_t size, struct berth_error **err)
{
  static const char zeros[65536];
  while (n > 0)
    {
      size_t k = n < sizeof zeros ? (size_t) n : sizeof zeros;
      EVP_DigestUpdate (md, zeros, k);
      if (file_data_add (ix, fd, zeros, k, size, err) < 0)
        return -1;
      n -= k;
    }
  return 0;
}

/* A regular file of the context: its bytes stay in the spool (holes of a
 * sparse entry as zeros) and its sha256 is taken on the way; the file in
 * the context dir is created at its size without data. */
static int
receive_data (struct archive *a, struct context_index *ix, int fd, const char *path,
              uint64_t size, struct berth_error **err)
{
  _cleanup_ (EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new ();
  if (md == NULL)
    abort ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  struct file_data data = { .which = -1 };
  uint64_t expect = 0;
  /* the Dockerfile, taken as it goes by (small: else read at the end) */
  bool capture = ix->capture_fn && ix->capture_seen == 1 && strcmp (path, ix->capture_path) == 0
                 && size <= (1u << 20);
  _cleanup_free_ char *copy = capture ? calloc (1, (size_t) size + 1) : NULL;
  for (;;)
    {
      const void *buf;
      size_t n;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &n, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: %s", path, archive_error_string (a));
      if (off < 0 || (uint64_t) off < expect)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: data out of order", path);
      if ((uint64_t) off > expect && file_data_zeros (ix, &data, md, (uint64_t) off - expect, size, err) < 0)
        return -1;
      EVP_DigestUpdate (md, buf, n);
      if (file_data_add (ix, &data, buf, n, size, err) < 0)
        return -1;
      if (copy && (uint64_t) off + n <= size)
        memcpy (copy + off, buf, n);
      else if (copy)
        {
          free (copy);
          copy = NULL;
        }
      expect = (uint64_t) off + n;
    }
  /* a trailing hole */
  if (expect < size && file_data_zeros (ix, &data, md, size - expect, size, err) < 0)
    return -1;
  if (ftruncate (fd, (off_t) data.have) < 0)
    return berth_error_set (err, errno, "context %s: size", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return berth_error_set (err, errno, "context %s: stat", path);
  char hex[SHA256_HEX_LEN + 1];
  sum_hex (md, hex);
  context_index_add (ix, &st, data.which, data.start, data.have, hex);
  if (copy && expect == size)
    {
      copy[size] = '\0';
      ix->capture_fn (ix->capture_data, steal_pointer (&copy), (size_t) size);
    }
  return 0;
}

/* A regular file extracted for real (ADD of a local tar). */
static int
extract_data (struct archive *a, int fd, const char *path, struct berth_error **err)
{
  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: %s", path, archive_error_string (a));
      if (pwrite (fd, buf, size, off) != (ssize_t) size)
        return berth_error_set (err, errno, "context %s: write", path);
    }
}

static void
entry_times (int fd, struct archive_entry *e)
{
  struct timespec ts[2] = { { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
                            { archive_entry_mtime (e), archive_entry_mtime_nsec (e) } };
  futimens (fd, ts);
}

/* Walk the tar on in_fd into dirfd: with ix, regular files are spooled
 * and indexed (the build context); without, extracted (ADD). */
static int
tar_unpack (int in_fd, int dirfd, bool keep_owner, struct context_index *ix,
            struct berth_error **err)
{
  _cleanup_ (archive_freep) struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  archive_read_support_format_empty (a);
  _cleanup_free_ struct padded_input *in = calloc (1, sizeof *in);
  if (in == NULL)
    abort ();
  in->fd = in_fd;
  in->ix = ix;
  if (archive_read_open (a, in, NULL, padded_read, NULL) != ARCHIVE_OK)
    {
      /* an empty body is an empty context */
      if (archive_errno (a) == 0)
        return 0;
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context: %s", archive_error_string (a));
    }
  struct archive_entry *e;
  for (;;)
    {
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context: not a tar archive: %s", archive_error_string (a));
      const char *raw_path = archive_entry_pathname (e);
      if (raw_path == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context: an entry has no usable name");
      _cleanup_free_ char *path = entry_path_clean (raw_path);
      if (path == NULL)
        continue;
      mode_t type = archive_entry_filetype (e);
      mode_t perm = archive_entry_perm (e) & 07777;
      if (ix && ix->capture_path && strcmp (path, ix->capture_path) == 0)
        ix->capture_seen++;
      if (type == AE_IFDIR)
        {
          _cleanup_close_ int d = fs_mkdir_p_in_root (dirfd, path, 0755, err);
          if (d < 0)
            return berth_error_prefix (err, "context %s", path);
          _cleanup_close_ int rd = openat (d, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (rd >= 0)
            {
              if (keep_owner)
                fchown (rd, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e));
              fchmod (rd, perm);
              entry_times (rd, e);
            }
          continue;
        }
      _cleanup_close_ int pfd = -1;
      const char *base;
      if (split_parent (dirfd, path, &pfd, &base, err) < 0)
        return berth_error_prefix (err, "context %s", path);
      /* a later entry of the same name replaces the earlier one */
      if (unlinkat (pfd, base, 0) < 0 && errno == EISDIR)
        {
          if (fs_rm_rf_at (pfd, base, err) < 0)
            return -1;
        }
      const char *hl = archive_entry_hardlink (e);
      if (type == AE_IFLNK)
        {
          const char *target = archive_entry_symlink (e);
          if (target == NULL)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: symlink without a target", path);
          if (symlinkat (target, pfd, base) < 0)
            return berth_error_set (err, errno, "context %s: symlink", path);
          if (keep_owner)
            fchownat (pfd, base, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e), AT_SYMLINK_NOFOLLOW);
          continue;
        }
      if (hl)
        {
          /* the same inode: its index entry (sum, data) serves both names */
          _cleanup_free_ char *target = entry_path_clean (hl);
          if (target == NULL)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: bad hard link", path);
          _cleanup_close_ int src = fs_open_in_root (dirfd, target, O_PATH | O_NOFOLLOW, 0, err);
          if (src < 0)
            return berth_error_prefix (err, "context %s: hard link", path);
          if (linkat (src, "", pfd, base, AT_EMPTY_PATH) < 0)
            return berth_error_set (err, errno, "context %s: link", path);
          continue;
        }
      if (type != AE_IFREG)
        continue; /* devices and fifos have no place in a context */
      _cleanup_close_ int fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return berth_error_set (err, errno, "context %s: create", path);
      la_int64_t size = archive_entry_size (e);
      if (ix ? receive_data (a, ix, fd, path, size > 0 ? (uint64_t) size : 0, err) < 0
             : extract_data (a, fd, path, err) < 0)
        return -1;
      if (keep_owner)
        fchown (fd, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e));
      fchmod (fd, perm);
      entry_times (fd, e);
    }
  if (ix)
    context_index_seal (ix);
  return 0;
}

int
context_extract (int in_fd, int dirfd, bool keep_owner, struct berth_error **err)
{
  return tar_unpack (in_fd, dirfd, keep_owner, NULL, err);
}

int
context_receive (int in_fd, int dirfd, struct context_index *ix, struct berth_error **err)
{
  return tar_unpack (in_fd, dirfd, false, ix, err);
}

static int
ignore_walk (int dirfd, const char *prefix, const struct build_ignore *ig, struct berth_error **err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "context %s", prefix[0] ? prefix : ".");
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return berth_error_set (err, errno, "context");
    }
  _cleanup_strv_ char **names = calloc (1, sizeof (char *));
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      strv_append (&names, de->d_name);
  for (char **n = names; *n; n++)
    {
      _cleanup_free_ char *rel = prefix[0] ? xasprintf ("%s/%s", prefix, *n) : xstrdup (*n);
      struct stat st;
      if (fstatat (dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      bool ignored = build_ignore_match (ig, rel);
      if (S_ISDIR (st.st_mode) && (!ignored || build_ignore_has_exceptions (ig)))
        {
          _cleanup_close_ int sub = openat (dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return berth_error_set (err, errno, "context %s", rel);
          if (ignore_walk (sub, rel, ig, err) < 0)
            return -1;
          /* an excluded directory stays only when an exception kept
           * something inside it */
          if (ignored && unlinkat (dirfd, *n, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY && errno != EEXIST)
            return berth_error_set (err, errno, "context %s", rel);
          continue;
        }
      if (ignored && fs_rm_rf_at (dirfd, *n, err) < 0)
        return -1;
    }
  return 0;
}

int
context_apply_ignore (int dirfd, const struct build_ignore *ig, struct berth_error **err)
{
  if (ig == NULL)
    return 0;
  return ignore_walk (dirfd, "", ig, err);
}
