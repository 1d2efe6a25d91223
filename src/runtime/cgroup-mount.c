/* The container's view of its cgroups (an OCI "cgroup" mount), made from
 * inside its mount namespace before pivot_root: cgroup2 on v2; on v1 and
 * hybrid a tmpfs with a bind of the container's own directory of every
 * hierarchy at <target>/<controller> (plus "unified" on hybrid), as runc
 * and crun lay it out. Everything goes through fds and the new mount API,
 * so no path inside the container is resolved twice. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

static int
sys_fsopen (const char *fs, unsigned flags)
{
  return (int)syscall (SYS_fsopen, fs, flags);
}
static int
sys_fsconfig (int fd, unsigned cmd, const char *key, const void *value, int aux)
{
  return (int)syscall (SYS_fsconfig, fd, cmd, key, value, aux);
}
static int
sys_fsmount (int fd, unsigned flags, unsigned attr)
{
  return (int)syscall (SYS_fsmount, fd, flags, attr);
}
static int
sys_move_mount (int from_fd, const char *from, int to_fd, const char *to, unsigned flags)
{
  return (int)syscall (SYS_move_mount, from_fd, from, to_fd, to, flags);
}
static int
sys_open_tree (int dfd, const char *path, unsigned flags)
{
  return (int)syscall (SYS_open_tree, dfd, path, flags);
}
static int
sys_mount_setattr (int dfd, const char *path, unsigned flags, struct mount_attr *attr)
{
  return (int)syscall (SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}

#define SAFE_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* A detached mount of a new file system (cgroup2 or tmpfs). */
static int
new_fs_mount (const char *fstype, const char *opt_key, const char *opt_val, unsigned attrs,
              struct berth_error **err)
{
  _cleanup_close_ int fs = sys_fsopen (fstype, FSOPEN_CLOEXEC);
  if (fs < 0)
    return berth_error_set (err, errno, "fsopen %s", fstype);
  if (opt_key && sys_fsconfig (fs, FSCONFIG_SET_STRING, opt_key, opt_val, 0) < 0)
    return berth_error_set (err, errno, "fsconfig %s %s=%s", fstype, opt_key, opt_val);
  if (sys_fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return berth_error_set (err, errno, "create %s mount", fstype);
  int m = sys_fsmount (fs, FSMOUNT_CLOEXEC, attrs);
  if (m < 0)
    return berth_error_set (err, errno, "fsmount %s", fstype);
  return m;
}

/* A detached copy of the host path, with attributes set before it is
 * attached anywhere. */
static int
clone_tree (const char *src, bool readonly, struct berth_error **err)
{
  _cleanup_close_ int t = sys_open_tree (AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (t < 0)
    return berth_error_set (err, errno, "open_tree %s", src);
  struct mount_attr attr = { .attr_set = SAFE_ATTRS | (readonly ? MOUNT_ATTR_RDONLY : 0) };
  if (sys_mount_setattr (t, "", AT_EMPTY_PATH, &attr) < 0)
    return berth_error_set (err, errno, "mount_setattr %s", src);
  return steal_fd (&t);
}

static int
attach (int mnt, int target_fd, const char *what, struct berth_error **err)
{
  if (sys_move_mount (mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    {
      _cleanup_free_ char *to = fs_fd_path (target_fd);
      return berth_error_set (err, errno, "mount %s on %s", what, to);
    }
  return 0;
}

/* Are we in a cgroup namespace rooted at the container's own cgroup? Then
 * /proc/self/cgroup reads "0::/" while we are a member of the container's
 * directory (a process in the host's root cgroup also reads "0::/"). */
static bool
in_own_cgroupns (const struct cgroup_dir *d)
{
  _cleanup_free_ char *self = NULL;
  if (fs_read_file (AT_FDCWD, "/proc/self/cgroup", &self, NULL, NULL) < 0)
    return false;
  if (strstr (self, "0::/\n") == NULL || strcmp (d->path, "/") == 0)
    return false;
  _cleanup_close_ int dfd = cgroup_dir_open (d, NULL);
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (dfd < 0 || cgroup_dir_pids (dfd, &pids, &n, NULL) < 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (pids[i] == getpid ())
      return true;
  return false;
}

static int
mount_v2 (const struct cgroup_dir *d, int target_fd, bool readonly, struct berth_error **err)
{
  _cleanup_close_ int m = -1;
  if (in_own_cgroupns (d))
    m = new_fs_mount ("cgroup2", NULL, NULL, SAFE_ATTRS | (readonly ? MOUNT_ATTR_RDONLY : 0), err);
  else
    {
      /* Without a cgroup namespace a fresh cgroup2 mount would show the
       * host's whole tree: bind the container's own directory instead. */
      _cleanup_free_ char *src = xasprintf ("%s%s", d->mountpoint, d->path);
      m = clone_tree (src, readonly, err);
    }
  if (m < 0)
    return -1;
  return attach (m, target_fd, "cgroup2", err);
}

/* "name=systemd" → "systemd", "cpu,cpuacct" stays. */
static const char *
v1_dir_name (const struct cgroup_dir *d)
{
  return str_has_prefix (d->hier_name, "name=") ? d->hier_name + 5 : d->hier_name;
}

static int
mount_v1 (const struct cgroup *cg, int target_fd, bool readonly, struct berth_error **err)
{
  _cleanup_close_ int tmp = new_fs_mount ("tmpfs", "mode", "755", SAFE_ATTRS, err);
  if (tmp < 0)
    return -1;
  if (attach (tmp, target_fd, "tmpfs", err) < 0)
    return -1;
  /* tmp now is the attached tmpfs' root: build inside it by fd. */
  for (size_t i = 0; i < cg->n_dirs; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      const char *name = d->is_v2 ? "unified" : v1_dir_name (d);
      if (mkdirat (tmp, name, 0755) < 0 && errno != EEXIST)
        return berth_error_set (err, errno, "mkdir %s in the cgroup tmpfs", name);
      _cleanup_close_ int sub = openat (tmp, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return berth_error_set (err, errno, "open %s in the cgroup tmpfs", name);
      _cleanup_free_ char *src = xasprintf ("%s%s", d->mountpoint, d->path);
      _cleanup_close_ int m = clone_tree (src, readonly, err);
      if (m < 0 || attach (m, sub, src, err) < 0)
        return -1;
      /* Co-mounted controllers get a link per name, as on the host. */
      if (strchr (name, ','))
        {
          _cleanup_strv_ char **parts = strv_split (name, ',');
          for (char **p = parts; *p; p++)
            if (symlinkat (name, tmp, *p) < 0 && errno != EEXIST)
              return berth_error_set (err, errno, "symlink %s in the cgroup tmpfs", *p);
        }
    }
  if (readonly)
    {
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
      if (sys_mount_setattr (tmp, "", AT_EMPTY_PATH, &attr) < 0)
        return berth_error_set (err, errno, "make the cgroup tmpfs read-only");
    }
  return 0;
}

int
cgroup_mount_into (struct cgroup *cg, int target_fd, bool readonly, struct berth_error **err)
{
  int rc;
  if (cg->layout == CGROUP_LAYOUT_V2 && cg->n_dirs == 1)
    rc = mount_v2 (&cg->dirs[0], target_fd, readonly, err);
  else
    rc = mount_v1 (cg, target_fd, readonly, err);
  return rc < 0 ? berth_error_prefix (err, "mount cgroups") : 0;
}
