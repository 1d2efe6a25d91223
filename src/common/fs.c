/* File descriptors, not path strings. Paths inside a container root or a
 * layer are resolved by the kernel with openat2(RESOLVE_IN_ROOT), so "..",
 * absolute symlinks and magic links can never lead outside (the class of
 * runc's CVE-2021-30465). Metadata is written with temp + fsync + rename. */
#include "common/common.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static long
sys_openat2 (int dirfd, const char *path, struct open_how *how)
{
  return syscall (SYS_openat2, dirfd, path, how, sizeof *how);
}

int
fs_open_in_root (int rootfd, const char *path, int flags, mode_t mode, struct berth_error **err)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;
  do
    fd = sys_openat2 (rootfd, path, &how);
  while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0)
    return berth_error_set (err, errno, "openat2 `%s`", path);
  return (int) fd;
}

int
fs_mkdir_p_in_root (int rootfd, const char *path, mode_t mode, struct berth_error **err)
{
  _cleanup_free_ char *copy = xstrdup (path);
  _cleanup_close_ int cur = fs_open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0, err);
  if (cur < 0)
    return -1;

  char *save = NULL;
  for (char *part = strtok_r (copy, "/", &save); part; part = strtok_r (NULL, "/", &save))
    {
      if (strcmp (part, ".") == 0)
        continue;
      if (strcmp (part, "..") != 0 && mkdirat (cur, part, mode) < 0 && errno != EEXIST)
        return berth_error_set (err, errno, "mkdir `%s` in `%s`", part, path);
      /* Resolve the whole prefix walked so far from the root, so a symlink
       * planted in the image leads where it would inside the container, and
       * never outside the root. */
      size_t walked = (size_t) (part - copy) + strlen (part);
      _cleanup_free_ char *prefix = strndup (path, walked);
      if (prefix == NULL)
        abort ();
      int next = fs_open_in_root (rootfd, prefix, O_PATH | O_DIRECTORY, 0, err);
      if (next < 0)
        return berth_error_prefix (err, "mkdir -p `%s`", path);
      closep (&cur);
      cur = next;
    }
  return steal_fd (&cur);
}

int
fs_mkdir_p (const char *path, mode_t mode, struct berth_error **err)
{
  _cleanup_free_ char *copy = xstrdup (path);
  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return berth_error_set (err, errno, "mkdir `%s`", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return berth_error_set (err, errno, "mkdir `%s`", copy);
  return 0;
}

int
fs_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

ssize_t
fs_read_all (int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      got += (size_t) n;
    }
  return (ssize_t) got;
}

int
fs_write_file_atomic (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                      struct berth_error **err)
{
  return fs_write_file_atomic_flags (dirfd, name, data, len, mode, 0, err);
}

int
fs_write_file_atomic_flags (int dirfd, const char *name, const void *data, size_t len,
                            mode_t mode, unsigned flags, struct berth_error **err)
{
  char tmp[64];
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  snprintf (tmp, sizeof tmp, ".tmp-%.16s", rnd);

  _cleanup_close_ int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return berth_error_set (err, errno, "create `%s`", tmp);
  if (fs_write_all (fd, data, len) < 0 || (!(flags & FS_ATOMIC_NO_SYNC) && fsync (fd) < 0))
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return berth_error_set (err, saved, "write `%s`", name);
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return berth_error_set (err, saved, "rename to `%s`", name);
    }
  if (flags & (FS_ATOMIC_NO_DIR_SYNC | FS_ATOMIC_NO_SYNC))
    return 0;
  /* The rename is durable only once the directory itself is synced. An
   * O_PATH directory fd cannot be fsynced (EBADF): reopen it for that. */
  if (fsync (dirfd) < 0)
    {
      if (errno != EBADF)
        return errno == EINVAL ? 0 : berth_error_set (err, errno, "fsync directory of `%s`", name);
      _cleanup_close_ int dfd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0 || fsync (dfd) < 0)
        return berth_error_set (err, errno, "fsync directory of `%s`", name);
    }
  return 0;
}

int
fs_read_file (int dirfd, const char *path, char **out, size_t *len, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL,
                                 errno, "open `%s`", path);
  size_t cap = 4096, used = 0;
  _cleanup_free_ char *buf = malloc (cap);
  if (buf == NULL)
    abort ();
  for (;;)
    {
      if (used + 1 >= cap)
        {
          cap *= 2;
          char *nb = realloc (buf, cap);
          if (nb == NULL)
            abort ();
          buf = nb;
        }
      ssize_t n = read (fd, buf + used, cap - used - 1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return berth_error_set (err, errno, "read `%s`", path);
        }
      if (n == 0)
        break;
      used += (size_t) n;
    }
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = steal_pointer (&buf);
  return 0;
}

static int
rm_rf_children (int dfd, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return berth_error_set (err, errno, "fdopendir");
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fs_rm_rf_at (dirfd (d), de->d_name, err) < 0)
        return -1;
    }
  return 0;
}

int
fs_rm_rf_at (int dirfd, const char *name, struct berth_error **err)
{
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return berth_error_set (err, errno, "unlink `%s`", name);
  int dfd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return errno == ENOENT ? 0 : berth_error_set (err, errno, "open directory `%s`", name);
  if (rm_rf_children (dfd, err) < 0)
    return berth_error_prefix (err, "remove `%s`", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return berth_error_set (err, errno, "rmdir `%s`", name);
  return 0;
}

char *
fs_fd_path (int fd)
{
  char link[64], target[4096];
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink (link, target, sizeof target - 1);
  if (n < 0)
    return xasprintf ("fd %d", fd);
  target[n] = '\0';
  return xstrdup (target);
}
