/* The container's root: propagation, the rootfs bind mount, the configured
 * mounts in order, devices, sysctls, readonlyPaths and maskedPaths (all
 * resolved through the root fd, before the host disappears), then
 * pivot_root (or MS_MOVE + chroot for --no-pivot) and a read-only root. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int
rootfs_prepare (const struct rootfs_context *rc, struct berth_error **err)
{
  const struct spec *s = rc->spec;
  unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : (MS_SLAVE | MS_REC);
  /* Unbindable would refuse every bind from the host (volumes, the cgroup
   * mount): it is applied to the container's "/" after pivot_root only. */
  if (prop & MS_UNBINDABLE)
    prop = MS_SLAVE | MS_REC;
  /* Nothing mounted from here on may propagate back to the host unless the
   * config asks for shared propagation. */
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return berth_error_set (err, errno, "set propagation of `/`");
  /* pivot_root refuses a new root whose parent mount is shared, and an
   * unbindable parent refuses the bind: make the mount holding the rootfs
   * private (runc's rootfsParentMountPrivate). EINVAL: not a mount point,
   * go up. */
  _cleanup_free_ char *up = xstrdup (rc->rootfs_path);
  for (;;)
    {
      if (mount (NULL, up, NULL, MS_PRIVATE, NULL) == 0)
        break;
      if (errno != EINVAL || strcmp (up, "/") == 0)
        return berth_error_set (err, errno, "make the mount holding `%s` private", rc->rootfs_path);
      char *slash = strrchr (up, '/');
      if (slash == up)
        up[1] = '\0';
      else
        *slash = '\0';
    }
  if (mount (rc->rootfs_path, rc->rootfs_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berth_error_set (err, errno, "bind mount the rootfs `%s`", rc->rootfs_path);
  _cleanup_close_ int rootfd = open (rc->rootfs_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berth_error_set (err, errno, "open rootfs `%s`", rc->rootfs_path);

  for (size_t i = 0; i < s->n_mounts; i++)
    if (mount_into_root (rootfd, rc->bundle, &s->mounts[i], rc->cg, rc->in_userns, err) < 0)
      return berth_error_prefix (err, "mounts[%zu]", i);
  if (devices_create (rootfd, s, rc->in_userns, err) < 0)
    return -1;
  /* runc creates a missing cwd so the process can start in it. */
  if (strcmp (s->process.cwd, "/") != 0)
    {
      int fd = fs_mkdir_p_in_root (rootfd, s->process.cwd, 0755, err);
      if (fd < 0)
        return berth_error_prefix (err, "process.cwd");
      close (fd);
    }
  return steal_fd (&rootfd);
}

static int
sysctls_write (int rootfd, const struct spec *s, struct berth_error **err)
{
  for (size_t i = 0; i < s->n_sysctls; i++)
    {
      _cleanup_free_ char *path = xasprintf ("/proc/sys/%s", s->sysctls[i].key);
      for (char *p = path + strlen ("/proc/sys/"); *p; p++)
        if (*p == '.')
          *p = '/';
      _cleanup_close_ int fd = fs_open_in_root (rootfd, path, O_WRONLY | O_TRUNC, 0, err);
      if (fd < 0)
        return berth_error_prefix (err, "sysctl %s", s->sysctls[i].key);
      const char *v = s->sysctls[i].value;
      if (fs_write_all (fd, v, strlen (v)) < 0)
        return berth_error_set (err, errno, "sysctl %s = %s", s->sysctls[i].key, v);
    }
  return 0;
}

static int
readonly_path (int rootfd, const char *path, struct berth_error **err)
{
  struct berth_error *missing = NULL;
  _cleanup_close_ int target = fs_open_in_root (rootfd, path, O_PATH, 0, &missing);
  if (target < 0)
    {
      int e = missing->errnum;
      if (e == ENOENT)
        {
          berth_error_free (missing);
          return 0;
        }
      *err = missing;
      return berth_error_prefix (err, "readonlyPaths `%s`", path);
    }
  _cleanup_close_ int tree
      = open_tree (target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0)
    return berth_error_set (err, errno, "readonlyPaths `%s`: bind", path);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
                                         | MOUNT_ATTR_NOEXEC };
  if (mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return berth_error_set (err, errno, "readonlyPaths `%s`: make read-only", path);
  if (move_mount (tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return berth_error_set (err, errno, "readonlyPaths `%s`: attach", path);
  return 0;
}

static int
masked_path (int rootfd, const char *path, struct berth_error **err)
{
  struct berth_error *missing = NULL;
  _cleanup_close_ int target = fs_open_in_root (rootfd, path, O_PATH, 0, &missing);
  if (target < 0)
    {
      if (missing->errnum == ENOENT)
        {
          berth_error_free (missing);
          return 0;
        }
      *err = missing;
      return berth_error_prefix (err, "maskedPaths `%s`", path);
    }
  struct stat st;
  if (fstat (target, &st) < 0)
    return berth_error_set (err, errno, "maskedPaths `%s`: stat", path);
  _cleanup_close_ int mnt = -1;
  if (S_ISDIR (st.st_mode))
    {
      /* An empty read-only tmpfs hides a directory. */
      _cleanup_close_ int fsfd = fsopen ("tmpfs", FSOPEN_CLOEXEC);
      if (fsfd < 0 || fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return berth_error_set (err, errno, "maskedPaths `%s`: tmpfs", path);
      mnt = fsmount (fsfd, FSMOUNT_CLOEXEC,
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    }
  else
    mnt = open_tree (AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (mnt < 0)
    return berth_error_set (err, errno, "maskedPaths `%s`: mask", path);
  if (move_mount (mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return berth_error_set (err, errno, "maskedPaths `%s`: attach", path);
  return 0;
}

static int
do_pivot_root (int rootfd, bool no_pivot, struct berth_error **err)
{
  if (fchdir (rootfd) < 0)
    return berth_error_set (err, errno, "chdir to the rootfs");
  if (no_pivot)
    {
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return berth_error_set (err, errno, "move the rootfs to `/` (--no-pivot)");
      if (chroot (".") < 0)
        return berth_error_set (err, errno, "chroot (--no-pivot)");
    }
  else
    {
      /* pivot_root(".", "."): the old root ends up stacked on the new one
       * and is detached at once; no directory for it is needed. */
      _cleanup_close_ int oldroot = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (oldroot < 0)
        return berth_error_set (err, errno, "open the old root");
      if (syscall (SYS_pivot_root, ".", ".") < 0)
        return berth_error_set (err, errno, "pivot_root");
      /* "." must name the OLD root for the two calls below: a lookup of "."
       * does not cross mounts, so from the new root it would make every
       * container mount a slave (losing "shared" mount options). */
      if (fchdir (oldroot) < 0)
        return berth_error_set (err, errno, "chdir to the old root");
      /* Unmounting the old root must not propagate to the host. */
      if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return berth_error_set (err, errno, "make the old root a slave");
      if (umount2 (".", MNT_DETACH) < 0)
        return berth_error_set (err, errno, "detach the old root");
    }
  if (chdir ("/") < 0)
    return berth_error_set (err, errno, "chdir /");
  return 0;
}

int
rootfs_finish (const struct rootfs_context *rc, int rootfd, struct berth_error **err)
{
  const struct spec *s = rc->spec;
  if (sysctls_write (rootfd, s, err) < 0)
    return -1;
  for (char **p = s->readonly_paths; p && *p; p++)
    if (readonly_path (rootfd, *p, err) < 0)
      return -1;
  for (char **p = s->masked_paths; p && *p; p++)
    if (masked_path (rootfd, *p, err) < 0)
      return -1;
  if (do_pivot_root (rootfd, rc->no_pivot, err) < 0)
    return -1;
  /* linux.rootfsPropagation is for the container's "/": applied after
   * pivot_root, where it cannot reach the host's mounts. */
  if (s->rootfs_propagation && mount (NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
    return berth_error_set (err, errno, "linux.rootfsPropagation on `/`");
  if (s->root_readonly)
    {
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
      if (mount_setattr (AT_FDCWD, "/", 0, &attr, sizeof attr) < 0)
        return berth_error_set (err, errno, "make the root read-only");
    }
  return 0;
}
