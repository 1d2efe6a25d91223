/* The build context: the tar stream the client sends (plain or compressed)
 * extracted under a private directory, every entry resolved inside it
 * (openat2 RESOLVE_IN_ROOT), then what .dockerignore excludes removed. */
#include "build/build-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
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

static int
write_data (struct archive *a, int fd, const char *path, struct berth_error **err)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  for (;;)
    {
      int r = archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "context %s: %s", path, archive_error_string (a));
      if (pwrite (fd, buf, size, off) != (ssize_t) size)
        return berth_error_set (err, errno, "context %s: write", path);
    }
}

int
context_extract (int in_fd, int dirfd, bool keep_owner, struct berth_error **err)
{
  _cleanup_ (archive_freep) struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  archive_read_support_format_empty (a);
  if (archive_read_open_fd (a, in_fd, 64 * 1024) != ARCHIVE_OK)
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
      _cleanup_free_ char *path = entry_path_clean (archive_entry_pathname (e));
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
      const char *hl = archive_entry_hardlink (e);
      if (type == AE_IFLNK)
        {
          if (symlinkat (archive_entry_symlink (e), pfd, base) < 0)
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
      if (write_data (a, fd, path, err) < 0)
        return -1;
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
