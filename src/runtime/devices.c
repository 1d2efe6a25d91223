/* Devices: the default nodes every container gets (/dev/null, zero, full,
 * random, urandom, tty) and linux.devices, created inside the root (mknod,
 * or a bind of the host node in a user namespace where mknod is refused),
 * the /dev symlinks, and the device cgroup allow-list they need. */
#include "runtime/runtime-internal.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const struct spec_device default_devices[] = {
  { "/dev/null", 'c', 1, 3, true, false, false, 0666, 0, 0 },
  { "/dev/zero", 'c', 1, 5, true, false, false, 0666, 0, 0 },
  { "/dev/full", 'c', 1, 7, true, false, false, 0666, 0, 0 },
  { "/dev/random", 'c', 1, 8, true, false, false, 0666, 0, 0 },
  { "/dev/urandom", 'c', 1, 9, true, false, false, 0666, 0, 0 },
  { "/dev/tty", 'c', 5, 0, true, false, false, 0666, 0, 0 },
};
#define N_DEFAULT_DEVICES (sizeof default_devices / sizeof default_devices[0])

bool
devices_has_dev_mount (const struct spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, "/dev") == 0 && !s->mounts[i].is_bind)
      return true;
  return false;
}

static bool
spec_has_device (const struct spec *s, const char *path)
{
  for (size_t i = 0; i < s->n_devices; i++)
    if (strcmp (s->devices[i].path, path) == 0)
      return true;
  return false;
}

static int
device_create (int rootfd, const struct spec_device *d, bool in_userns, struct berth_error **err)
{
  _cleanup_free_ char *copy = xstrdup (d->path), *copy2 = xstrdup (d->path);
  const char *base = basename (copy2);
  _cleanup_close_ int pfd = fs_mkdir_p_in_root (rootfd, dirname (copy), 0755, err);
  if (pfd < 0)
    return berth_error_prefix (err, "device `%s`", d->path);

  if (in_userns)
    {
      /* mknod is refused in a user namespace: bind the host's node. */
      if (mknodat (pfd, base, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
        return berth_error_set (err, errno, "device `%s`: create mount point", d->path);
      _cleanup_close_ int target = fs_open_in_root (rootfd, d->path, O_PATH, 0, err);
      if (target < 0)
        return berth_error_prefix (err, "device `%s`", d->path);
      _cleanup_close_ int tree = open_tree (AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (tree < 0)
        return berth_error_set (err, errno, "device `%s`: bind the host node", d->path);
      if (move_mount (tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return berth_error_set (err, errno, "device `%s`: attach", d->path);
      return 0;
    }

  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t perm = d->has_mode ? (d->mode & 07777) : 0666;
  if (unlinkat (pfd, base, 0) < 0 && errno != ENOENT)
    return berth_error_set (err, errno, "device `%s`: remove what is there", d->path);
  if (mknodat (pfd, base, type | perm, makedev ((unsigned)d->major, (unsigned)d->minor)) < 0)
    return berth_error_set (err, errno, "device `%s`: mknod", d->path);
  if (fchmodat (pfd, base, perm, 0) < 0)
    return berth_error_set (err, errno, "device `%s`: chmod", d->path);
  if ((d->has_uid || d->has_gid)
      && fchownat (pfd, base, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
                   AT_SYMLINK_NOFOLLOW)
             < 0)
    return berth_error_set (err, errno, "device `%s`: chown", d->path);
  return 0;
}

int
devices_create (int rootfd, const struct spec *s, bool in_userns, struct berth_error **err)
{
  if (devices_has_dev_mount (s))
    {
      for (size_t i = 0; i < N_DEFAULT_DEVICES; i++)
        if (!spec_has_device (s, default_devices[i].path)
            && device_create (rootfd, &default_devices[i], in_userns, err) < 0)
          return -1;
      static const char *const links[][2] = {
        { "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" },
        { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
        { "pts/ptmx", "ptmx" },
      };
      _cleanup_close_ int devfd = fs_open_in_root (rootfd, "/dev", O_PATH | O_DIRECTORY, 0, err);
      if (devfd < 0)
        return berth_error_prefix (err, "devices");
      for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        {
          if (strcmp (links[i][1], "ptmx") == 0)
            unlinkat (devfd, "ptmx", 0);
          if (symlinkat (links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
            return berth_error_set (err, errno, "symlink /dev/%s", links[i][1]);
        }
    }
  for (size_t i = 0; i < s->n_devices; i++)
    if (device_create (rootfd, &s->devices[i], in_userns, err) < 0)
      return -1;
  return 0;
}

static json_t *
device_rule (const char *type, int64_t major, int64_t minor, const char *access)
{
  json_t *r = json_pack ("{s:b,s:s,s:s}", "allow", 1, "type", type, "access", access);
  if (major >= 0)
    json_object_set_new (r, "major", json_integer (major));
  if (minor >= 0)
    json_object_set_new (r, "minor", json_integer (minor));
  return r;
}

json_t *
devices_resources_with_defaults (const struct spec *s)
{
  if (s->resources == NULL || !json_is_object (s->resources))
    return NULL;
  json_t *res = json_deep_copy (s->resources);
  json_t *rules = json_object_get (res, "devices");
  if (rules == NULL || !json_is_array (rules))
    return res; /* no device policy asked for: leave the cgroup's default */
  for (size_t i = 0; i < N_DEFAULT_DEVICES; i++)
    json_array_append_new (
        rules, device_rule ("c", default_devices[i].major, default_devices[i].minor, "rwm"));
  /* mknod of any node is allowed (using it is not), as runc and Docker do. */
  json_array_append_new (rules, device_rule ("c", -1, -1, "m"));
  json_array_append_new (rules, device_rule ("b", -1, -1, "m"));
  /* /dev/ptmx and the pty slaves, as runc allows them. */
  json_array_append_new (rules, device_rule ("c", 5, 2, "rwm"));
  json_array_append_new (rules, device_rule ("c", 136, -1, "rwm"));
  for (size_t i = 0; i < s->n_devices; i++)
    {
      const struct spec_device *d = &s->devices[i];
      if (d->type == 'p')
        continue;
      char t[2] = { d->type == 'u' ? 'c' : d->type, 0 };
      json_array_append_new (rules, device_rule (t, d->major, d->minor, "rwm"));
    }
  return res;
}
