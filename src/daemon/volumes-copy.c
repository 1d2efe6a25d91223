/* docker's volume copy-up ("a new, empty named volume gets the image's
 * content at its mount point") and the disk usage of volumes for
 * /system/df. The source is inside a container root, i.e. hostile: every
 * step opens one name relative to a directory fd with O_NOFOLLOW, symlinks
 * are copied as symlinks and never followed. */
#include "daemon/volumes-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define COPY_MAX_DEPTH 256

struct hardlink
{
  dev_t dev;
  ino_t ino;
  char *rel; /* path below the destination root */
};

struct copy_ctx
{
  int dst_root;
  struct hardlink *links;
  size_t n_links;
};

static void
copy_xattrs (int src, int dst)
{
  char names[4096];
  ssize_t n = flistxattr (src, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t) strlen (names + off) + 1)
    {
      char value[4096];
      ssize_t vn = fgetxattr (src, names + off, value, sizeof value);
      if (vn >= 0)
        fsetxattr (dst, names + off, value, (size_t) vn, 0); /* best effort, as docker */
    }
}

static int
copy_owner_mode_times (int dst, const struct stat *st, struct berth_error **err, const char *rel)
{
  if (fchown (dst, st->st_uid, st->st_gid) < 0)
    return berth_error_set (err, errno, "chown %s", rel);
  /* after chown: chown clears setuid/setgid bits */
  if (fchmod (dst, st->st_mode & 07777) < 0)
    return berth_error_set (err, errno, "chmod %s", rel);
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  futimens (dst, times);
  return 0;
}

static int
copy_file_data (int src, int dst, const char *rel, struct berth_error **err)
{
  for (;;)
    {
      ssize_t n = copy_file_range (src, NULL, dst, NULL, 1 << 30, 0);
      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return berth_error_set (err, errno, "copy %s", rel);
      break;
    }
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (src, buf, sizeof buf);
      if (n == 0)
        return 0;
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return berth_error_set (err, errno, "read %s", rel);
        }
      if (fs_write_all (dst, buf, (size_t) n) < 0)
        return berth_error_set (err, errno, "write %s", rel);
    }
}

static int copy_dir (struct copy_ctx *c, int src, int dst, const char *rel, int depth,
                     struct berth_error **err);

static int
copy_entry (struct copy_ctx *c, int src, int dst, const char *name, const char *rel, int depth,
            struct berth_error **err)
{
  struct stat st;
  if (fstatat (src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set (err, errno, "stat %s", rel);

  if (!S_ISDIR (st.st_mode) && st.st_nlink > 1)
    {
      for (size_t i = 0; i < c->n_links; i++)
        if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino)
          {
            if (linkat (c->dst_root, c->links[i].rel, dst, name, 0) < 0)
              return berth_error_set (err, errno, "link %s", rel);
            return 0;
          }
      struct hardlink *l = realloc (c->links, (c->n_links + 1) * sizeof *l);
      if (l == NULL)
        abort ();
      c->links = l;
      c->links[c->n_links++] = (struct hardlink){ st.st_dev, st.st_ino, xstrdup (rel) };
    }

  if (S_ISDIR (st.st_mode))
    {
      if (depth >= COPY_MAX_DEPTH)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: directories nest too deep",
                                     rel);
      if (mkdirat (dst, name, 0700) < 0)
        return berth_error_set (err, errno, "mkdir %s", rel);
      _cleanup_close_ int s = openat (src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int d = openat (dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || d < 0)
        return berth_error_set (err, errno, "open %s", rel);
      if (copy_dir (c, s, d, rel, depth + 1, err) < 0)
        return -1;
      copy_xattrs (s, d);
      return copy_owner_mode_times (d, &st, err, rel);
    }
  if (S_ISREG (st.st_mode))
    {
      _cleanup_close_ int s = openat (src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0)
        return berth_error_set (err, errno, "open %s", rel);
      _cleanup_close_ int d
          = openat (dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (d < 0)
        return berth_error_set (err, errno, "create %s", rel);
      if (copy_file_data (s, d, rel, err) < 0)
        return -1;
      copy_xattrs (s, d);
      return copy_owner_mode_times (d, &st, err, rel);
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (src, name, target, sizeof target - 1);
      if (n < 0)
        return berth_error_set (err, errno, "readlink %s", rel);
      target[n] = '\0';
      if (symlinkat (target, dst, name) < 0)
        return berth_error_set (err, errno, "symlink %s", rel);
      fchownat (dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      struct timespec times[2] = { st.st_atim, st.st_mtim };
      utimensat (dst, name, times, AT_SYMLINK_NOFOLLOW);
      return 0;
    }
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISFIFO (st.st_mode))
    {
      if (mknodat (dst, name, st.st_mode, st.st_rdev) < 0)
        return berth_error_set (err, errno, "mknod %s", rel);
      fchownat (dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      struct timespec times[2] = { st.st_atim, st.st_mtim };
      utimensat (dst, name, times, AT_SYMLINK_NOFOLLOW);
      return 0;
    }
  return 0; /* sockets are not copied (docker neither) */
}

static int
copy_dir (struct copy_ctx *c, int src, int dst, const char *rel, int depth,
          struct berth_error **err)
{
  int fd = dup (src);
  _cleanup_closedir_ DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return berth_error_set (err, errno, "read directory %s", *rel ? rel : "/");
    }
  rewinddir (dir);
  for (struct dirent *e; (errno = 0, e = readdir (dir));)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *child = *rel ? xasprintf ("%s/%s", rel, e->d_name) : xstrdup (e->d_name);
      if (copy_entry (c, src, dst, e->d_name, child, depth, err) < 0)
        return -1;
    }
  return 0;
}

static bool
dir_is_empty (int dirfd)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    return false;
  for (struct dirent *e; (e = readdir (dir));)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      return false;
  return true;
}

int
volume_populate (struct berthd *d, const char *name, int src_dirfd, struct berth_error **err)
{
  struct volume *v = volume_find (d->volumes, name);
  if (v == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "get %s: no such volume", name);
  _cleanup_free_ char *data = volume_path (d, name, "_data");
  _cleanup_close_ int dst = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return berth_error_set (err, errno, "volume %s: open %s", name, data);
  _cleanup_close_ int src = openat (src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    return berth_error_set (err, errno, "volume %s: open the source directory", name);
  /* docker copies only into an empty volume */
  if (!dir_is_empty (dst))
    return 0;
  struct copy_ctx c = { .dst_root = dst };
  int r = copy_dir (&c, src, dst, "", 0, err);
  for (size_t i = 0; i < c.n_links; i++)
    free (c.links[i].rel);
  free (c.links);
  if (r < 0)
    return berth_error_prefix (err, "populate volume %s", name);
  /* the mount point's owner and mode become the volume's (docker's
   * copyOwnership) */
  struct stat st;
  if (fstat (src, &st) == 0)
    copy_owner_mode_times (dst, &st, err, "/");
  return 0;
}

/* --------------------------------------------------------------- usage -- */

static int64_t
usage_dir (int dirfd, int depth)
{
  if (depth > COPY_MAX_DEPTH)
    return 0;
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    return 0;
  int64_t total = 0;
  for (struct dirent *e; (e = readdir (dir));)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          _cleanup_close_ int sub
              = openat (dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += usage_dir (sub, depth + 1);
        }
      else
        total += st.st_size;
    }
  return total;
}

int64_t
volume_disk_usage (int dirfd)
{
  return usage_dir (dirfd, 0);
}
