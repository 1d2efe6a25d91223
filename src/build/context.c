/* The build context: the tar stream the client sends (plain or compressed)
 * extracted under a private directory, every entry resolved inside it
 * (openat2 RESOLVE_IN_ROOT), then what .dockerignore excludes removed. */
#include "build/build-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

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

void
context_sums_free (struct context_sums *s)
{
  for (size_t i = 0; i < s->n; i++)
    {
      free (s->paths[i]);
      free (s->sums[i]);
    }
  free (s->paths);
  free (s->sums);
  memset (s, 0, sizeof *s);
}

static void
sums_put (struct context_sums *s, const char *path, const char *hex)
{
  /* a later entry of the same name replaces the earlier one */
  for (size_t i = s->n; i-- > 0;)
    if (strcmp (s->paths[i], path) == 0)
      {
        free (s->sums[i]);
        s->sums[i] = xstrdup (hex);
        return;
      }
  if (s->n == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 64;
      s->paths = realloc (s->paths, s->cap * sizeof (char *));
      s->sums = realloc (s->sums, s->cap * sizeof (char *));
      if (s->paths == NULL || s->sums == NULL)
        abort ();
    }
  s->paths[s->n] = xstrdup (path);
  s->sums[s->n] = xstrdup (hex);
  s->n++;
}

static void
sums_drop (struct context_sums *s, const char *path)
{
  for (size_t i = s->n; i-- > 0;)
    if (strcmp (s->paths[i], path) == 0)
      {
        free (s->sums[i]);
        s->sums[i] = NULL;
      }
}

const char *
context_sums_get (const struct context_sums *s, const char *path)
{
  if (s == NULL)
    return NULL;
  for (size_t i = s->n; i-- > 0;)
    if (strcmp (s->paths[i], path) == 0)
      return s->sums[i];
  return NULL;
}

static int
write_data (struct archive *a, int fd, const char *path, EVP_MD_CTX *md, bool *hash_ok,
            struct berth_error **err)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  la_int64_t expect = 0;
  for (;;)
    {
      int r = archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (off != expect)
        *hash_ok = false; /* a sparse hole: the streamed hash is not the content's */
      expect = off + (la_int64_t) size;
      if (md && *hash_ok)
        EVP_DigestUpdate (md, buf, size);
      if (r < ARCHIVE_WARN)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: %s", path, archive_error_string (a));
      if (pwrite (fd, buf, size, off) != (ssize_t) size)
        return berth_error_set (err, errno, "context %s: write", path);
    }
}

/* The stock docker CLI, with a Dockerfile outside the context, rewrites
 * the tar and ends it without the last entry's padding and without the
 * end-of-archive blocks (Go's tar writer is never closed); dockerd accepts
 * that. For a plain tar stream, EOF is completed with the zero padding and
 * the two end blocks; compressed streams are passed as they are. */
struct padded_input
{
  int fd;
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
  ssize_t n;
  do
    n = read (in->fd, in->buf, sizeof in->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      archive_set_error (a, errno, "read the context");
      return -1;
    }
  if (!in->decided && n > 0)
    {
      in->decided = true;
      in->plain_tar = n >= 263 && memcmp (in->buf + 257, "ustar", 5) == 0;
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
    tar_track (in, (const unsigned char *) in->buf, (size_t) n);
  *out = in->buf;
  return n;
}

int
context_extract (int in_fd, int dirfd, bool keep_owner, struct context_sums *sums,
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
              struct timespec ts[2] = { { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
                                        { archive_entry_mtime (e), archive_entry_mtime_nsec (e) } };
              futimens (rd, ts);
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
      if (sums)
        sums_drop (sums, path);
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
      EVP_MD_CTX *md = NULL;
      if (sums)
        {
          md = EVP_MD_CTX_new ();
          if (md == NULL)
            abort ();
          EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
        }
      bool hash_ok = true;
      int wr = write_data (a, fd, path, md, &hash_ok, err);
      if (wr < 0 || (md && !hash_ok))
        {
          if (md)
            EVP_MD_CTX_free (md);
          md = NULL;
          if (wr < 0)
            return -1;
        }
      if (md)
        {
          unsigned char d[32];
          unsigned int dl = 0;
          char hex[65];
          EVP_DigestFinal_ex (md, d, &dl);
          EVP_MD_CTX_free (md);
          for (unsigned k = 0; k < 32; k++)
            sprintf (hex + 2 * k, "%02x", d[k]);
          sums_put (sums, path, hex);
        }
      else if (sums)
        sums_drop (sums, path);
      if (keep_owner)
        fchown (fd, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e));
      fchmod (fd, perm);
      struct timespec ts[2] = { { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
                                { archive_entry_mtime (e), archive_entry_mtime_nsec (e) } };
      futimens (fd, ts);
    }
  return 0;
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
