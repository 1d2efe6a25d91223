/* Content-addressed blobs under blobs/sha256/<hex>. Writers hash what they
 * write into an unnamed O_TMPFILE and link it into place only when the
 * digest (and size) match, so a blob either exists complete and verified or
 * not at all, whatever instant the process dies. */
#include "image/image-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

struct image_blob_writer
{
  struct image_store *store;
  int fd;
  struct sha256_ctx *sha;
  char *expected_digest;
  int64_t expected_size;
  int64_t written;
  char *tmpname; /* named temp file in tmp/ when O_TMPFILE is unsupported */
  bool is_hashed_by_caller; /* see blob_writer_hashed_by_caller */
  /* partial/<hex> (flock'ed while we write it), its bytes from an earlier
   * writer, and whether abort leaves it for a resume */
  char *partial_name;
  int64_t kept;
  bool keep_partial;
};

static int
blob_invalid_digest (const char *digest, struct berth_error **err)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid digest `%s`",
                               digest ? digest : "(null)");
}

bool
image_blob_exists (struct image_store *s, const char *digest)
{
  const char *hex = digest_hex (digest);
  struct stat st;
  return hex && fstatat (s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode);
}

int64_t
image_blob_size (struct image_store *s, const char *digest, struct berth_error **err)
{
  const char *hex = digest_hex (digest);
  if (hex == NULL)
    return blob_invalid_digest (digest, err);
  struct stat st;
  if (fstatat (s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "blob %s", digest);
  return st.st_size;
}

int
image_blob_open (struct image_store *s, const char *digest, struct berth_error **err)
{
  const char *hex = digest_hex (digest);
  if (hex == NULL)
    return blob_invalid_digest (digest, err);
  int fd = openat (s->blobsfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "blob %s", digest);
  return fd;
}

int
image_blob_read (struct image_store *s, const char *digest, char **out, size_t *len,
                 struct berth_error **err)
{
  const char *hex = digest_hex (digest);
  if (hex == NULL)
    return blob_invalid_digest (digest, err);
  if (fs_read_file (s->blobsfd, hex, out, len, err) < 0)
    return berth_error_prefix (err, "blob %s", digest);
  return 0;
}

struct image_blob_writer *
blob_writer_new (struct image_store *s, const char *expected_digest, int64_t expected_size,
                 struct berth_error **err)
{
  if (expected_digest && !digest_is_valid (expected_digest))
    {
      blob_invalid_digest (expected_digest, err);
      return NULL;
    }
  _cleanup_free_ char *tmpname = NULL;
  int fd = openat (s->tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
    {
      /* file systems without O_TMPFILE: a named file in tmp/, which a
       * killed process leaves to the sweep on open */
      char rnd[SHA256_HEX_LEN + 1];
      random_id_hex (rnd);
      tmpname = xasprintf ("blob-%.24s", rnd);
      fd = openat (s->tmpfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
  if (fd < 0)
    {
      berth_error_set (err, errno, "create blob in tmp/");
      return NULL;
    }
  struct image_blob_writer *w = calloc (1, sizeof *w);
  if (w == NULL)
    abort ();
  w->store = s;
  w->fd = fd;
  w->sha = sha256_ctx_new ();
  w->expected_digest = expected_digest ? xstrdup (expected_digest) : NULL;
  w->expected_size = expected_size;
  w->tmpname = steal_pointer (&tmpname);
  return w;
}

struct image_blob_writer *
blob_writer_new_partial (struct image_store *s, const char *expected_digest, int64_t expected_size,
                         int64_t *kept, struct berth_error **err)
{
  *kept = 0;
  const char *hex = digest_hex (expected_digest);
  if (hex == NULL || expected_size < 0)
    return blob_writer_new (s, expected_digest, expected_size, err);
  _cleanup_close_ int fd
      = openat (s->partialfd, hex, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    /* in use by another pull of this blob (or unusable): no resume */
    return blob_writer_new (s, expected_digest, expected_size, err);
  int64_t have = st.st_size;
  if (have > expected_size && ftruncate (fd, 0) == 0)
    have = 0; /* not a prefix of this blob: start over */
  if (lseek (fd, have, SEEK_SET) < 0)
    {
      berth_error_set (err, errno, "partial/%s", hex);
      return NULL;
    }
  struct image_blob_writer *w = calloc (1, sizeof *w);
  if (w == NULL)
    abort ();
  w->store = s;
  w->fd = steal_fd (&fd);
  w->sha = sha256_ctx_new ();
  w->expected_digest = xstrdup (expected_digest);
  w->expected_size = expected_size;
  w->partial_name = xstrdup (hex);
  w->kept = w->written = have;
  *kept = have;
  return w;
}

int
blob_writer_fd (const struct image_blob_writer *w)
{
  return w->fd;
}

void
blob_writer_keep_partial (struct image_blob_writer *w)
{
  w->keep_partial = w->partial_name != NULL;
}

void
store_sweep_partials (struct image_store *s, uint64_t max_age_ns)
{
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->partialfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct dirent *de;
  uint64_t now = time_now_ns ();
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_close_ int fd = openat (s->partialfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0 || fstat (fd, &st) < 0)
        continue; /* a pull is writing it */
      _cleanup_free_ char *digest = xasprintf ("sha256:%s", de->d_name);
      uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
      if (!digest_is_valid (digest) || image_blob_exists (s, digest)
          || (now > mtime && now - mtime >= max_age_ns))
        unlinkat (s->partialfd, de->d_name, 0);
    }
}

struct image_blob_writer *
image_blob_writer_begin (struct image_store *s, const char *expected_digest, int64_t expected_size,
                         struct berth_error **err)
{
  return blob_writer_new (s, expected_digest, expected_size, err);
}

bool
blob_writer_hashed_by_caller (struct image_blob_writer *w)
{
  if (w->expected_digest == NULL || w->written > w->kept)
    return false;
  w->is_hashed_by_caller = true;
  return true;
}

int64_t
blob_writer_bytes (const struct image_blob_writer *w)
{
  return w->written;
}

int
image_blob_writer_write (struct image_blob_writer *w, const void *buf, size_t len,
                         struct berth_error **err)
{
  if (w->expected_size >= 0 && w->written + (int64_t)len > w->expected_size)
    return berth_error_set_kind (
        err, BERTH_E_INVALID, 0, "blob %s: more data than the expected %lld bytes",
        w->expected_digest ? w->expected_digest : "", (long long)w->expected_size);
  if (!w->is_hashed_by_caller)
    sha256_ctx_update (w->sha, buf, len);
  if (fs_write_all (w->fd, buf, len) < 0)
    return berth_error_set (err, errno, "write blob");
  w->written += (int64_t)len;
  return 0;
}

void
image_blob_writer_abort (struct image_blob_writer *w)
{
  if (w == NULL)
    return;
  /* unlinked before the fd (and its flock) goes, so the name is never
   * taken from another writer that locked it meanwhile */
  if (w->partial_name && !w->keep_partial)
    unlinkat (w->store->partialfd, w->partial_name, 0);
  free (w->partial_name);
  closep (&w->fd); /* an O_TMPFILE vanishes with its last fd */
  if (w->tmpname)
    unlinkat (w->store->tmpfd, w->tmpname, 0);
  free (w->tmpname);
  sha256_ctx_free (w->sha);
  free (w->expected_digest);
  free (w);
}

int
blob_writer_commit_stamped (struct image_blob_writer *w, char **digest_out, uint64_t *stamp,
                            struct berth_error **err)
{
  struct image_store *s = w->store;
  _cleanup_free_ char *digest
      = w->is_hashed_by_caller ? xstrdup (w->expected_digest) : sha256_ctx_digest (w->sha);
  int ret = 0;
  uint64_t pin = 0;
  bool linked = false;
  if (w->expected_digest && strcmp (digest, w->expected_digest) != 0)
    ret = berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "digest mismatch: expected %s, got %s (%lld bytes)",
                                w->expected_digest, digest, (long long)w->written);
  else if (w->expected_size >= 0 && w->written != w->expected_size)
    ret = berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "size mismatch for %s: expected %lld bytes, got %lld", digest,
                                (long long)w->expected_size, (long long)w->written);
  else if (!image_blob_exists (s, digest) && fsync (w->fd) < 0)
    ret = berth_error_set (err, errno, "fsync blob %s", digest);
  else
    {
      /* Linked (or found) and pinned in one step against gc's "unpinned?
       * unlink", so a blob found here cannot vanish before it is pinned. */
      const char *hex = digest_hex (digest);
      store_pins_lock (s);
      int r = w->partial_name ? linkat (s->partialfd, w->partial_name, s->blobsfd, hex, 0)
              : w->tmpname    ? linkat (s->tmpfd, w->tmpname, s->blobsfd, hex, 0)
                              : linkat (w->fd, "", s->blobsfd, hex, AT_EMPTY_PATH);
      if (r == 0 || errno == EEXIST)
        {
          linked = r == 0;
          pin = store_pin_locked (s, digest);
        }
      else
        ret = berth_error_set (err, errno, "link blob %s", digest);
      store_pins_unlock (s);
      if (ret == 0 && linked && fsync (s->blobsfd) < 0)
        ret = berth_error_set (err, errno, "fsync blobs/");
    }
  w->keep_partial = false; /* committed or refused: nothing to resume */
  image_blob_writer_abort (w);
  if (stamp)
    *stamp = linked ? pin : 0;
  if (ret == 0 && digest_out)
    *digest_out = steal_pointer (&digest);
  return ret;
}

int
image_blob_writer_commit (struct image_blob_writer *w, char **digest_out, struct berth_error **err)
{
  return blob_writer_commit_stamped (w, digest_out, NULL, err);
}

int
image_blob_put (struct image_store *s, const void *data, size_t len, const char *expected_digest,
                char **digest_out, struct berth_error **err)
{
  struct image_blob_writer *w = blob_writer_new (s, expected_digest, (int64_t)len, err);
  if (w == NULL)
    return -1;
  if (image_blob_writer_write (w, data, len, err) < 0)
    {
      image_blob_writer_abort (w);
      return -1;
    }
  return image_blob_writer_commit (w, digest_out, err);
}

int
image_blob_delete (struct image_store *s, const char *digest, struct berth_error **err)
{
  const char *hex = digest_hex (digest);
  if (hex == NULL)
    return blob_invalid_digest (digest, err);
  if (unlinkat (s->blobsfd, hex, 0) < 0 && errno != ENOENT)
    return berth_error_set (err, errno, "delete blob %s", digest);
  return 0;
}

int
blob_remove (struct image_store *s, const char *digest, uint64_t unless_stamp, bool *removed,
             struct berth_error **err)
{
  const char *hex = digest_hex (digest);
  if (hex == NULL)
    return blob_invalid_digest (digest, err);
  int ret = 0;
  store_pins_lock (s);
  bool keep = unless_stamp ? store_pin_stamp_locked (s, digest) != unless_stamp
                           : store_is_pinned_locked (s, digest);
  if (!keep && unlinkat (s->blobsfd, hex, 0) < 0 && errno != ENOENT)
    ret = berth_error_set (err, errno, "remove blob %s", digest);
  if (!keep && ret == 0)
    json_object_del (s->pins, digest);
  store_pins_unlock (s);
  if (removed)
    *removed = !keep && ret == 0;
  return ret;
}
