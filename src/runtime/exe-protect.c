/* CVE-2019-5736: a container process that execs /proc/self/exe of a runtime
 * process (e.g. through "#!/proc/self/exe") gets a handle on the runtime's
 * binary and could rewrite it on the host. We run from a read-only view of
 * our own executable: a private clone of its mount made read-only
 * (open_tree + mount_setattr, no copy), or a sealed memfd copy where new
 * mounts are not allowed. Reopening /proc/<pid>/exe for writing then fails
 * with EROFS (or EPERM on the sealed memfd). */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

extern char **environ;

static bool
exe_is_protected (int fd)
{
  struct statvfs sv;
  if (fstatvfs (fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
    return true;
  int seals = fcntl (fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

static int
exe_sealed_copy (int src, struct berth_error **err)
{
  struct stat st;
  if (fstat (src, &st) < 0)
    return berth_error_set (err, errno, "stat /proc/self/exe");
  _cleanup_close_ int mfd = memfd_create ("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return berth_error_set (err, errno, "memfd_create");
  off_t off = 0;
  while (off < st.st_size)
    {
      ssize_t n = sendfile (mfd, src, &off, (size_t)(st.st_size - off));
      if (n <= 0)
        return berth_error_set (err, n < 0 ? errno : EIO, "copy /proc/self/exe");
    }
  if (fcntl (mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return berth_error_set (err, errno, "seal the executable copy");
  return steal_fd (&mfd);
}

/* A read-only view of path: a private clone of its mount made read-only
 * (no copy), or a sealed memfd copy where new mounts are not allowed. */
static int
exe_open_view (const char *path, int src, struct berth_error **err)
{
  _cleanup_close_ int exe = open_tree (AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (exe >= 0)
    {
      struct mount_attr attr
          = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
      if (mount_setattr (exe, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
        closep (&exe);
    }
  if (exe >= 0)
    return steal_fd (&exe);
  return exe_sealed_copy (src, err);
}

int
runtime_exe_open_protected (const char *path, struct berth_error **err)
{
  _cleanup_close_ int src = open (path, O_RDONLY | O_CLOEXEC);
  if (src < 0)
    return berth_error_set (err, errno, "open `%s`", path);
  int fd = exe_open_view (path, src, err);
  if (fd < 0)
    return berth_error_prefix (err, "read-only view of `%s`", path);
  return fd;
}

int
runtime_exe_protect (char **argv, struct berth_error **err)
{
  _cleanup_close_ int self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return berth_error_set (err, errno, "open /proc/self/exe");
  if (exe_is_protected (self))
    return 0;
  _cleanup_close_ int exe = exe_open_view ("/proc/self/exe", self, err);
  if (exe < 0)
    return -1;
  syscall (SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
  return berth_error_set (err, errno, "re-exec from a read-only copy of the runtime");
}
