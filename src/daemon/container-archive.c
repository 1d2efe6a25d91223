/* docker cp inside a container's root, never outside it: stat (the
 * X-Docker-Container-Path-Stat header), tar out of a path and tar into a
 * directory. Every path is resolved from the container's root fd with
 * openat2(RESOLVE_IN_ROOT) and every entry is created relative to its
 * parent's fd, so symlinks planted in the container lead where they would
 * inside it and never to the host. */
#include "daemon/container-archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* Go's os.FileMode bits, which the stat header carries. */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE (1u << 26)
#define GO_MODE_PIPE (1u << 25)
#define GO_MODE_SOCKET (1u << 24)
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_SETGID (1u << 22)
#define GO_MODE_CHARDEV (1u << 21)
#define GO_MODE_STICKY (1u << 20)

static uint32_t
go_mode (mode_t m)
{
  uint32_t g = m & 0777;
  if (S_ISDIR (m))
    g |= GO_MODE_DIR;
  else if (S_ISLNK (m))
    g |= GO_MODE_SYMLINK;
  else if (S_ISBLK (m))
    g |= GO_MODE_DEVICE;
  else if (S_ISCHR (m))
    g |= GO_MODE_DEVICE | GO_MODE_CHARDEV;
  else if (S_ISFIFO (m))
    g |= GO_MODE_PIPE;
  else if (S_ISSOCK (m))
    g |= GO_MODE_SOCKET;
  if (m & S_ISUID)
    g |= GO_MODE_SETUID;
  if (m & S_ISGID)
    g |= GO_MODE_SETGID;
  if (m & S_ISVTX)
    g |= GO_MODE_STICKY;
  return g;
}

static const char *
base_name (const char *path)
{
  size_t len = strlen (path);
  while (len > 1 && path[len - 1] == '/')
    len--;
  const char *end = path + len;
  const char *p = end;
  while (p > path && p[-1] != '/')
    p--;
  static __thread char buf[256];
  size_t n = (size_t)(end - p);
  if (n == 0)
    return "/";
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  memcpy (buf, p, n);
  buf[n] = '\0';
  return buf;
}

json_t *
archive_path_stat (int rootfd, const char *path, struct berth_error **err)
{
  _cleanup_close_ int fd = fs_open_in_root (rootfd, path, O_PATH | O_NOFOLLOW, 0, err);
  if (fd < 0)
    {
      if ((*err)->errnum == ENOENT || (*err)->errnum == ENOTDIR)
        (*err)->kind = BERTH_E_NOT_FOUND;
      return NULL;
    }
  struct stat st;
  if (fstatat (fd, "", &st, AT_EMPTY_PATH) < 0)
    {
      berth_error_set (err, errno, "stat %s", path);
      return NULL;
    }
  char target[4096] = "";
  if (S_ISLNK (st.st_mode))
    {
      ssize_t n = readlinkat (fd, "", target, sizeof target - 1);
      target[n > 0 ? n : 0] = '\0';
    }
  struct timespec mt = st.st_mtim;
  _cleanup_free_ char *mtime = time_format_rfc3339nano (&mt);
  return json_pack ("{s:s,s:I,s:I,s:s,s:s}", "name", base_name (path), "size",
                    (json_int_t)st.st_size, "mode", (json_int_t)go_mode (st.st_mode), "mtime",
                    mtime, "linkTarget", target);
}

/* ------------------------------------------------------------ tar out -- */

static int write_entry (struct archive *a, int parentfd, const char *name, const char *arcname,
                        struct berth_error **err);

static int
write_dir_children (struct archive *a, int dirfd, const char *arcname, struct berth_error **err)
{
  int dup_fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0)
    return berth_error_set (err, errno, "open %s", arcname);
  DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return berth_error_set (err, errno, "read %s", arcname);
    }
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *child = xasprintf ("%s/%s", arcname, de->d_name);
      rc = write_entry (a, dirfd, de->d_name, child, err);
    }
  closedir (d);
  return rc;
}

/* One entry named `name` in parentfd (never following a symlink: children
 * are opened with O_NOFOLLOW relative to their parent). */
static int
write_entry (struct archive *a, int parentfd, const char *name, const char *arcname,
             struct berth_error **err)
{
  struct stat st;
  if (fstatat (parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set (err, errno, "stat %s", arcname);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_copy_stat (e, &st);
  _cleanup_free_ char *pathname
      = S_ISDIR (st.st_mode) ? xasprintf ("%s/", arcname) : xstrdup (arcname);
  archive_entry_set_pathname (e, pathname);
  char target[4096];
  if (S_ISLNK (st.st_mode))
    {
      ssize_t n = readlinkat (parentfd, name, target, sizeof target - 1);
      target[n > 0 ? n : 0] = '\0';
      archive_entry_set_symlink (e, target);
    }
  if (archive_write_header (a, e) != ARCHIVE_OK)
    {
      berth_error_set (err, 0, "tar %s: %s", arcname, archive_error_string (a));
      archive_entry_free (e);
      return -1;
    }
  archive_entry_free (e);
  if (S_ISREG (st.st_mode))
    {
      _cleanup_close_ int fd = openat (parentfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return berth_error_set (err, errno, "open %s", arcname);
      char buf[65536];
      ssize_t n;
      while ((n = read (fd, buf, sizeof buf)) > 0)
        if (archive_write_data (a, buf, (size_t)n) < 0)
          return berth_error_set (err, EPIPE, "tar %s", arcname);
    }
  else if (S_ISDIR (st.st_mode))
    {
      _cleanup_close_ int fd
          = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return berth_error_set (err, errno, "open %s", arcname);
      return write_dir_children (a, fd, arcname, err);
    }
  return 0;
}

static ssize_t
fd_writer (struct archive *a, void *data, const void *buf, size_t len)
{
  int fd = *(int *)data;
  if (fs_write_all (fd, buf, len) < 0)
    {
      archive_set_error (a, errno, "write");
      return -1;
    }
  return (ssize_t)len;
}

int
archive_tar_path (int rootfd, const char *path, int out_fd, struct berth_error **err)
{
  /* resolve the path itself in the root (its last component may be a
   * symlink: docker archives the link, not its target) */
  _cleanup_free_ char *copy = xstrdup (path);
  size_t len = strlen (copy);
  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  char *slash = strrchr (copy, '/');
  const char *name = slash ? slash + 1 : copy;
  _cleanup_free_ char *parent
      = slash && slash != copy ? strndup (copy, (size_t)(slash - copy)) : xstrdup ("/");
  _cleanup_close_ int pfd = fs_open_in_root (rootfd, parent, O_PATH | O_DIRECTORY, 0, err);
  if (pfd < 0)
    return -1;
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  /* names as bytes, whatever the locale (see image/pack.c) */
  archive_write_set_format_option (a, "pax", "hdrcharset", "BINARY");
  archive_write_set_bytes_in_last_block (a, 1);
  int fd = out_fd;
  archive_write_open (a, &fd, NULL, fd_writer, NULL);
  int rc;
  if (*name == '\0' || strcmp (copy, "/") == 0)
    {
      _cleanup_close_ int dfd = fs_open_in_root (rootfd, "/", O_RDONLY | O_DIRECTORY, 0, err);
      rc = dfd < 0 ? -1 : write_dir_children (a, dfd, ".", err);
    }
  else
    rc = write_entry (a, pfd, name, name, err);
  archive_write_close (a);
  archive_write_free (a);
  return rc;
}

/* ------------------------------------------------------------- tar in -- */

/* Normalize an entry path below the target: "a/./b" → "a/b"; NULL when
 * ".." would leave the target (docker's breakout check). */
static char *
entry_clean (const char *p)
{
  _cleanup_strv_ char **parts = strv_split (p, '/');
  char **out = NULL;
  for (char **x = parts; *x; x++)
    {
      if (**x == '\0' || strcmp (*x, ".") == 0)
        continue;
      if (strcmp (*x, "..") == 0)
        {
          size_t n = strv_len (out);
          if (n == 0)
            {
              strv_freep (&out);
              return NULL;
            }
          free (out[n - 1]);
          out[n - 1] = NULL;
          continue;
        }
      strv_append (&out, *x);
    }
  if (out == NULL)
    return xstrdup ("");
  char *r = strv_join (out, "/");
  strv_freep (&out);
  return r;
}

static int
extract_one (struct archive *a, struct archive_entry *e, int rootfd, const char *dest,
             bool no_overwrite_dir, struct berth_error **err)
{
  const char *raw = archive_entry_pathname (e);
  _cleanup_free_ char *rel = entry_clean (raw ? raw : "");
  if (rel == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "archive entry %s: outside of the target directory", raw);
  if (*rel == '\0')
    return 0; /* the target itself */
  _cleanup_free_ char *full = xasprintf ("%s/%s", dest, rel);
  char *slash = strrchr (full, '/');
  _cleanup_free_ char *parent = strndup (full, (size_t)(slash - full));
  const char *name = slash + 1;
  _cleanup_close_ int pfd = fs_mkdir_p_in_root (rootfd, *parent ? parent : "/", 0755, err);
  if (pfd < 0)
    return -1;
  /* an O_PATH fd cannot create: reopen it as a directory */
  _cleanup_close_ int dfd = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berth_error_set (err, errno, "open %s", parent);
  mode_t type = archive_entry_filetype (e);
  mode_t perm = archive_entry_perm (e);
  struct stat existing;
  bool exists = fstatat (dfd, name, &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && no_overwrite_dir)
    {
      if (S_ISDIR (existing.st_mode) && type != AE_IFDIR)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "cannot overwrite directory \"%s\" with non-directory \"%s\"",
                                     full, rel);
      if (!S_ISDIR (existing.st_mode) && type == AE_IFDIR)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "cannot overwrite non-directory \"%s\" with directory \"%s\"",
                                     full, rel);
    }
  if (exists && !(S_ISDIR (existing.st_mode) && type == AE_IFDIR))
    {
      _cleanup_error_ struct berth_error *e2 = NULL;
      if (fs_rm_rf_at (dfd, name, &e2) < 0)
        return berth_error_set (err, e2->errnum, "replace %s", rel);
    }
  int rc = 0;
  const char *hardlink = archive_entry_hardlink (e);
  if (hardlink)
    {
      _cleanup_free_ char *hl = entry_clean (hardlink);
      if (hl == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "archive entry %s: link outside of the target directory", raw);
      _cleanup_free_ char *hfull = xasprintf ("%s/%s", dest, hl);
      _cleanup_close_ int src = fs_open_in_root (rootfd, hfull, O_PATH | O_NOFOLLOW, 0, err);
      if (src < 0)
        return -1;
      if (linkat (src, "", dfd, name, AT_EMPTY_PATH) < 0)
        return berth_error_set (err, errno, "link %s", rel);
      return 0;
    }
  switch (type)
    {
    case AE_IFDIR:
      if (!exists && mkdirat (dfd, name, perm) < 0)
        return berth_error_set (err, errno, "mkdir %s", rel);
      break;
    case AE_IFLNK:
      if (symlinkat (archive_entry_symlink (e), dfd, name) < 0)
        return berth_error_set (err, errno, "symlink %s", rel);
      break;
    case AE_IFREG:
      {
        _cleanup_close_ int fd
            = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
        if (fd < 0)
          return berth_error_set (err, errno, "create %s", rel);
        const void *buf;
        size_t size;
        la_int64_t off;
        while ((rc = archive_read_data_block (a, &buf, &size, &off)) == ARCHIVE_OK)
          if (pwrite (fd, buf, size, off) != (ssize_t)size)
            return berth_error_set (err, errno, "write %s", rel);
        if (rc != ARCHIVE_EOF)
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "read archive entry %s: %s", rel,
                                       archive_error_string (a));
        ftruncate (fd, archive_entry_size (e));
        rc = 0;
        break;
      }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (mknodat (dfd, name, type | perm, archive_entry_rdev (e)) < 0)
        return berth_error_set (err, errno, "mknod %s", rel);
      break;
    default:
      return 0;
    }
  fchownat (dfd, name, (uid_t)archive_entry_uid (e), (gid_t)archive_entry_gid (e),
            AT_SYMLINK_NOFOLLOW);
  if (type != AE_IFLNK)
    fchmodat (dfd, name, perm, 0);
  struct timespec ts[2]
      = { { .tv_sec = archive_entry_atime (e), .tv_nsec = archive_entry_atime_nsec (e) },
          { .tv_sec = archive_entry_mtime (e), .tv_nsec = archive_entry_mtime_nsec (e) } };
  if (!archive_entry_atime_is_set (e))
    ts[0] = ts[1];
  utimensat (dfd, name, ts, AT_SYMLINK_NOFOLLOW);
  return rc;
}

int
archive_extract (int rootfd, const char *dest, int in_fd, bool no_overwrite_dir_non_dir,
                 struct berth_error **err)
{
  _cleanup_close_ int dfd = fs_open_in_root (rootfd, dest, O_PATH, 0, err);
  if (dfd < 0)
    {
      if ((*err)->errnum == ENOENT)
        (*err)->kind = BERTH_E_NOT_FOUND;
      return -1;
    }
  struct stat st;
  if (fstatat (dfd, "", &st, AT_EMPTY_PATH) < 0 || !S_ISDIR (st.st_mode))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "extraction point is not a directory");
  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  archive_read_support_filter_all (a);
  if (archive_read_open_fd (a, in_fd, 65536) != ARCHIVE_OK)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "read archive: %s", archive_error_string (a));
      archive_read_free (a);
      return -1;
    }
  int rc = 0;
  struct archive_entry *e;
  int r;
  while (rc == 0 && (r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    rc = extract_one (a, e, rootfd, dest, no_overwrite_dir_non_dir, err);
  if (rc == 0 && r != ARCHIVE_EOF)
    rc = berth_error_set_kind (err, BERTH_E_INVALID, 0, "read archive: %s",
                               archive_error_string (a));
  archive_read_free (a);
  return rc;
}
