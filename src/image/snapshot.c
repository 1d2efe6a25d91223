/* Container root filesystems: overlayfs snapshots with the image's layer
 * dirs as lowerdirs and a per-container upper/work dir, mount/unmount,
 * removal, docker diff (changes) and the diff as a layer tar. A snapshot
 * directory appears by one rename from tmp/, so it is whole or absent.
 *
 * Durability (this is on the path of every `docker run`): a snapshot is
 * disposable until the container record that names it is saved, and that
 * save (the daemon's fsync) commits, on a journaling filesystem, the
 * earlier mkdirs and renames with it. create syncs nothing, as docker's
 * layer store writes a container's mount-id and overlay2's lower without
 * fsync: meta.json only repeats what the record names (the image, whose
 * layers stay while a container uses it), so a power loss that leaves it
 * empty or missing is repaired from the record at the daemon's next start
 * (image_snapshot_repair). (The first fsync in a new tree on ext4 without
 * a journal writes every new parent directory too: milliseconds.) The
 * "mountpoint" field (only for a mount elsewhere than
 * merged/) is state of this boot (mounts
 * do not survive a reboot) and is written atomically without any fsync;
 * and remove needs no fsync: a removal undone by a power loss leaves a
 * snapshot nothing names, never a name without a snapshot. A kill -9 at
 * any instant leaves either the whole snapshot or litter in tmp/ (swept at
 * open), as before. */
#include "image/image-internal.h"
#include "image/tar-internal.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* Replace <dirfd>/meta.json by rename (readers see old or new, whole);
 * fsync the content first only when durable. */
static int
meta_write (int dirfd, const json_t *meta, bool durable, struct berth_error **err)
{
  _cleanup_free_ char *text = json_dumps (meta, JSON_COMPACT);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize meta.json");
  _cleanup_close_ int fd = openat (dirfd, ".meta.json.tmp",
                                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_set (err, errno, "create meta.json");
  if (fs_write_all (fd, text, strlen (text)) < 0 || (durable && fsync (fd) < 0)
      || renameat (dirfd, ".meta.json.tmp", dirfd, "meta.json") < 0)
    {
      int saved = errno;
      unlinkat (dirfd, ".meta.json.tmp", 0);
      return berth_error_set (err, saved, "write meta.json");
    }
  return 0;
}

static int
snapshot_id_check (const char *id, struct berth_error **err)
{
  size_t n = id ? strlen (id) : 0;
  bool ok = n > 0 && n <= 128 && id[0] != '.';
  for (size_t i = 0; ok && i < n; i++)
    ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')
         || (id[i] >= '0' && id[i] <= '9') || strchr ("_.-", id[i]);
  if (!ok)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid snapshot id `%s`", id ? id : "");
  return 0;
}

static json_t *
snapshot_meta (struct image_store *s, const char *id, struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0)
    return NULL;
  _cleanup_free_ char *path = xasprintf ("%s/meta.json", id);
  _cleanup_error_ struct berth_error *local = NULL;
  json_t *m = json_load_path (s->snapshotsfd, path, &local);
  if (m == NULL)
    berth_error_set_kind (err, local->kind == BERTH_E_NOT_FOUND ? BERTH_E_NOT_FOUND : local->kind,
                          local->errnum, "snapshot %s: %s", id, local->msg);
  return m;
}

bool
image_snapshot_exists (struct image_store *s, const char *id)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *m = snapshot_meta (s, id, &err);
  return m != NULL;
}

int
image_snapshot_image (struct image_store *s, const char *id, char **image_id,
                      struct berth_error **err)
{
  _cleanup_json_ json_t *m = snapshot_meta (s, id, err);
  if (m == NULL)
    return -1;
  const char *img = json_string_value (json_object_get (m, "image"));
  *image_id = img ? xstrdup (img) : NULL;
  return 0;
}

/* {"image": image_id, "layers": [diff ids, bottom first]} */
static json_t *
meta_of_image (struct image_store *s, const char *image_id, struct berth_error **err)
{
  _cleanup_json_ json_t *layers = json_array ();
  if (image_id)
    {
      struct image_info *info = NULL;
      if (image_get (s, image_id, &info, err) < 0)
        return NULL;
      for (size_t i = 0; i < info->n_layers; i++)
        json_array_append_new (layers, json_string (info->diff_ids[i]));
      image_info_free (info);
    }
  return json_pack ("{s:s?,s:O}", "image", image_id, "layers", layers);
}

int
image_snapshot_repair (struct image_store *s, const char *id, const char *image_id,
                       struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0)
    return -1;
  _cleanup_close_ int sfd = openat (s->snapshotsfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0)
    return 0; /* absent: nothing to repair */
  _cleanup_error_ struct berth_error *merr = NULL;
  _cleanup_json_ json_t *cur = snapshot_meta (s, id, &merr);
  if (cur != NULL)
    return 0;
  _cleanup_json_ json_t *meta = meta_of_image (s, image_id, err);
  if (meta == NULL || meta_write (sfd, meta, true, err) < 0)
    return berth_error_prefix (err, "repair snapshot %s (%s)", id, merr->msg);
  berth_log (BERTH_LOG_WARNING, "snapshot %s: %s; rewritten from image %s", id, merr->msg,
             image_id ? image_id : "(none)");
  return 1;
}

int
image_snapshot_create (struct image_store *s, const char *id, const char *image_id,
                       struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0)
    return -1;
  _cleanup_json_ json_t *meta = meta_of_image (s, image_id, err);
  if (meta == NULL)
    return berth_error_prefix (err, "create snapshot %s", id);
  STORE_LOCKED (s);
  struct stat st;
  if (fstatat (s->snapshotsfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "snapshot %s already exists", id);
  _cleanup_free_ char *tmpname = NULL;
  _cleanup_close_ int tfd = store_tmpdir_create (s, "snap", &tmpname, err);
  if (tfd < 0)
    return -1;
  /* "empty" (the lowerdir of a root without layers) is made by mount */
  static const char *const dirs[] = { "upper", "work", "merged" };
  for (size_t i = 0; i < 3; i++)
    if (mkdirat (tfd, dirs[i], 0755) < 0)
      {
        berth_error_set (err, errno, "mkdir %s", dirs[i]);
        fs_rm_rf_at (s->tmpfd, tmpname, NULL);
        return -1;
      }
  if (meta_write (tfd, meta, false, err) < 0)
    {
      fs_rm_rf_at (s->tmpfd, tmpname, NULL);
      return berth_error_prefix (err, "create snapshot %s", id);
    }
  if (renameat (s->tmpfd, tmpname, s->snapshotsfd, id) < 0)
    {
      berth_error_set (err, errno, "commit snapshot %s", id);
      fs_rm_rf_at (s->tmpfd, tmpname, NULL);
      return -1;
    }
  return 0;
}

static bool
is_mountpoint (const char *path)
{
  struct stat a, b;
  _cleanup_free_ char *parent = xasprintf ("%s/..", path);
  return stat (path, &a) == 0 && stat (parent, &b) == 0
         && (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

/* The new mount API takes one lowerdir per call ("lowerdir+", Linux 6.8),
 * so any number of layers fits; older kernels get one joined string. */
static int
overlay_mount (char **lowers, size_t n, const char *upper, const char *work, const char *target,
               struct berth_error **err)
{
  int fsfd = (int)syscall (SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd >= 0)
    {
      _cleanup_close_ int fs = fsfd;
      bool ok = true;
      for (size_t i = 0; i < n && ok; i++)
        ok = syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) == 0;
      if (ok)
        {
          if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
              || syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0
              || syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            return berth_error_set (err, errno, "overlay on `%s`", target);
          _cleanup_close_ int mfd = (int)syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
          if (mfd < 0)
            return berth_error_set (err, errno, "fsmount overlay");
          if (syscall (SYS_move_mount, mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return berth_error_set (err, errno, "mount overlay on `%s`", target);
          return 0;
        }
      if (errno != EINVAL)
        return berth_error_set (err, errno, "overlay lowerdir");
    }
  _cleanup_free_ char *lower = strv_join (lowers, ":");
  _cleanup_free_ char *opts = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (mount ("overlay", target, "overlay", 0, opts) < 0)
    return berth_error_set (err, errno, "mount overlay on `%s`", target);
  return 0;
}

/* The overlay lowerdirs of a snapshot, top layer first (overlay's order). */
static char **
snapshot_lowers (struct image_store *s, const char *id, json_t *meta, const char *dir,
                 struct berth_error **err)
{
  _cleanup_strv_ char **lowers = calloc (1, sizeof (char *));
  json_t *layers = json_object_get (meta, "layers");
  for (size_t i = json_array_size (layers); i-- > 0;)
    {
      const char *d = json_string_value (json_array_get (layers, i));
      if (!layer_present (s, d))
        {
          berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "snapshot %s: layer %s is missing", id,
                                d);
          return NULL;
        }
      _cleanup_free_ char *p = xasprintf ("%s/layers/%s/diff", s->root, d + 7);
      strv_append (&lowers, p);
    }
  if (strv_len (lowers) == 0)
    {
      _cleanup_free_ char *p = xasprintf ("%s/empty", dir);
      strv_append (&lowers, p);
    }
  return steal_pointer (&lowers);
}

json_t *
image_snapshot_graph_data (struct image_store *s, const char *id, struct berth_error **err)
{
  _cleanup_json_ json_t *meta = snapshot_meta (s, id, err);
  if (meta == NULL)
    return NULL;
  _cleanup_free_ char *dir = xasprintf ("%s/snapshots/%s", s->root, id);
  _cleanup_strv_ char **lowers = snapshot_lowers (s, id, meta, dir, err);
  if (lowers == NULL)
    return NULL;
  _cleanup_free_ char *lower = strv_join (lowers, ":");
  const char *mp = json_string_value (json_object_get (meta, "mountpoint"));
  _cleanup_free_ char *merged = mp ? xstrdup (mp) : xasprintf ("%s/merged", dir);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  _cleanup_free_ char *work = xasprintf ("%s/work", dir);
  return json_pack ("{s:s,s:s,s:s,s:s}", "LowerDir", lower, "MergedDir", merged, "UpperDir",
                    upper, "WorkDir", work);
}

int
image_snapshot_mount (struct image_store *s, const char *id, const char *target,
                      char **mountpoint_out, struct berth_error **err)
{
  _cleanup_json_ json_t *meta = snapshot_meta (s, id, err);
  if (meta == NULL)
    return -1;
  _cleanup_free_ char *dir = xasprintf ("%s/snapshots/%s", s->root, id);
  _cleanup_free_ char *mp = target ? xstrdup (target) : xasprintf ("%s/merged", dir);
  if (is_mountpoint (mp))
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "snapshot %s: `%s` is already mounted",
                                 id, mp);
  _cleanup_strv_ char **lowers = snapshot_lowers (s, id, meta, dir, err);
  if (lowers == NULL)
    return -1;
  _cleanup_close_ int sfd = openat (s->snapshotsfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0)
    return berth_error_set (err, errno, "snapshot %s", id);
  /* create did not sync these empty dirs: a power loss may have lost
   * them; "empty" only a root without layers needs */
  static const char *const dirs[] = { "upper", "work", "merged", "empty" };
  size_t n_dirs = json_array_size (json_object_get (meta, "layers")) > 0 ? 3 : 4;
  for (size_t i = 0; i < n_dirs; i++)
    if (mkdirat (sfd, dirs[i], 0755) < 0 && errno != EEXIST)
      return berth_error_set (err, errno, "snapshot %s: mkdir %s", id, dirs[i]);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  _cleanup_free_ char *work = xasprintf ("%s/work", dir);
  if (overlay_mount (lowers, strv_len (lowers), upper, work, mp, err) < 0)
    return berth_error_prefix (err, "mount snapshot %s", id);
  /* Only a mount elsewhere than merged/ is recorded (unmount finds merged/
   * without it): a container's start and stop write no meta.json. */
  if (target)
    {
      json_object_set_new (meta, "mountpoint", json_string (mp));
      if (meta_write (sfd, meta, false, err) < 0)
        {
          umount2 (mp, MNT_DETACH);
          return berth_error_prefix (err, "snapshot %s", id);
        }
    }
  if (mountpoint_out)
    *mountpoint_out = steal_pointer (&mp);
  return 0;
}

int
image_snapshot_unmount (struct image_store *s, const char *id, struct berth_error **err)
{
  _cleanup_json_ json_t *meta = snapshot_meta (s, id, err);
  if (meta == NULL)
    return -1;
  const char *recorded = json_string_value (json_object_get (meta, "mountpoint"));
  _cleanup_free_ char *mp
      = recorded ? xstrdup (recorded) : xasprintf ("%s/snapshots/%s/merged", s->root, id);
  if (!is_mountpoint (mp))
    return 0;
  if (umount2 (mp, UMOUNT_NOFOLLOW) < 0)
    {
      if (errno != EBUSY || umount2 (mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
        return berth_error_set (err, errno, "unmount snapshot %s at `%s`", id, mp);
    }
  if (recorded == NULL)
    return 0;
  json_object_del (meta, "mountpoint");
  _cleanup_close_ int sfd = openat (s->snapshotsfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd >= 0)
    meta_write (sfd, meta, false, NULL);
  return 0;
}

int
image_snapshot_remove (struct image_store *s, const char *id, struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0)
    return -1;
  struct stat st;
  if (fstatat (s->snapshotsfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (image_snapshot_exists (s, id))
    {
      if (image_snapshot_unmount (s, id, err) < 0)
        return -1;
    }
  else
    {
      /* meta.json lost (a power loss soon after create): only merged/
       * can be its mountpoint */
      _cleanup_free_ char *mp = xasprintf ("%s/snapshots/%s/merged", s->root, id);
      if (is_mountpoint (mp) && umount2 (mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
        return berth_error_set (err, errno, "unmount snapshot %s at `%s`", id, mp);
    }
  STORE_LOCKED (s);
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  _cleanup_free_ char *name = xasprintf ("rm-%.24s", rnd);
  if (renameat (s->snapshotsfd, id, s->tmpfd, name) < 0)
    return errno == ENOENT ? 0 : berth_error_set (err, errno, "remove snapshot %s", id);
  if (fs_rm_rf_at (s->tmpfd, name, err) < 0)
    return -1;
  return 0;
}

int
image_snapshot_rename (struct image_store *s, const char *id, const char *new_id,
                       struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0 || snapshot_id_check (new_id, err) < 0)
    return -1;
  /* an overlay mount and meta.json's mountpoint name the old directory */
  if (image_snapshot_unmount (s, id, err) < 0)
    return -1;
  STORE_LOCKED (s);
  struct stat st;
  if (fstatat (s->snapshotsfd, new_id, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "snapshot %s already exists", new_id);
  if (renameat (s->snapshotsfd, id, s->snapshotsfd, new_id) < 0)
    return berth_error_set (err, errno, "rename snapshot %s to %s", id, new_id);
  return 0;
}

/* ----------------------------------------------------------- changes -- */

struct changes
{
  struct image_change *v;
  size_t n, cap;
  int *layerfds; /* top first */
  size_t n_layers;
};

static void
change_add (struct changes *c, const char *path, enum image_change_kind kind)
{
  if (c->n == c->cap)
    {
      c->cap = c->cap ? c->cap * 2 : 64;
      c->v = realloc (c->v, c->cap * sizeof *c->v);
      if (c->v == NULL)
        abort ();
    }
  c->v[c->n++] = (struct image_change){ .path = xstrdup (path), .kind = kind };
}

/* The entry path has in the image (the first layer, top down, that has it
 * decides; an overlay whiteout there means deleted), into *st. */
static bool
in_lower (struct changes *c, const char *path, struct stat *st)
{
  for (size_t i = 0; i < c->n_layers; i++)
    if (fstatat (c->layerfds[i], path + 1, st, AT_SYMLINK_NOFOLLOW) == 0)
      return !(S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0));
  return false;
}

static bool
change_recorded (struct changes *c, const char *path)
{
  for (size_t i = c->n; i-- > 0;)
    if (strcmp (c->v[i].path, path) == 0)
      return true;
  return false;
}

/* docker's archive.changes for overlay: a whiteout is a deletion; an opaque
 * directory that hid one of the image's is a deletion too (its entries then
 * count as added); a directory whose mode and mtime equal the image's is
 * not a change in itself, but the parent of an addition or deletion is
 * always reported as changed. */
static int
changes_walk (struct changes *c, int dirfd, const char *prefix, bool hidden_below,
              struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read `%s`", *prefix ? prefix : "/");
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *path = xasprintf ("%s/%s", prefix, de->d_name);
      struct stat st, lst;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error_set (err, errno, "stat `%s`", path);
      bool lower = !hidden_below && in_lower (c, path, &lst);
      bool whiteout = S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0);
      _cleanup_close_ int sub = -1;
      bool opaque = false;
      if (S_ISDIR (st.st_mode))
        {
          sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return berth_error_set (err, errno, "open `%s`", path);
          char v[4];
          opaque = fgetxattr (sub, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
        }
      enum image_change_kind kind;
      bool record = true;
      if (whiteout || (opaque && lower))
        {
          kind = IMAGE_CHANGE_DELETED;
          record = lower;
        }
      else if (!lower)
        kind = IMAGE_CHANGE_ADDED;
      else
        {
          kind = IMAGE_CHANGE_MODIFIED;
          if (S_ISDIR (st.st_mode) && S_ISDIR (lst.st_mode) && st.st_mode == lst.st_mode
              && st.st_mtim.tv_sec == lst.st_mtim.tv_sec
              && st.st_mtim.tv_nsec == lst.st_mtim.tv_nsec)
            record = false;
        }
      if (record && !change_recorded (c, path))
        change_add (c, path, kind);
      if (record && kind != IMAGE_CHANGE_MODIFIED && *prefix && !change_recorded (c, prefix))
        change_add (c, prefix, IMAGE_CHANGE_MODIFIED);
      if (sub >= 0 && changes_walk (c, sub, path, hidden_below || opaque, err) < 0)
        return -1;
    }
  return 0;
}

static int
change_cmp (const void *a, const void *b)
{
  return strcmp (((const struct image_change *)a)->path, ((const struct image_change *)b)->path);
}

void
image_changes_free (struct image_change *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i].path);
  free (v);
}

int
image_snapshot_changes (struct image_store *s, const char *id, struct image_change **out, size_t *n,
                        struct berth_error **err)
{
  _cleanup_json_ json_t *meta = snapshot_meta (s, id, err);
  if (meta == NULL)
    return -1;
  json_t *layers = json_object_get (meta, "layers");
  struct changes c = { 0 };
  c.layerfds = calloc (json_array_size (layers) + 1, sizeof (int));
  int r = 0;
  for (size_t i = json_array_size (layers); i-- > 0 && r == 0;)
    {
      int fd = layer_diff_open (s, json_string_value (json_array_get (layers, i)), err);
      if (fd < 0)
        r = -1;
      else
        c.layerfds[c.n_layers++] = fd;
    }
  _cleanup_free_ char *upper = xasprintf ("%s/upper", id);
  _cleanup_close_ int ufd
      = r == 0 ? openat (s->snapshotsfd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (r == 0 && ufd < 0)
    r = berth_error_set (err, errno, "snapshot %s", id);
  if (r == 0)
    r = changes_walk (&c, ufd, "", false, err);
  for (size_t i = 0; i < c.n_layers; i++)
    close (c.layerfds[i]);
  free (c.layerfds);
  if (r < 0)
    {
      image_changes_free (c.v, c.n);
      return -1;
    }
  if (c.n)
    qsort (c.v, c.n, sizeof *c.v, change_cmp);
  *out = c.v;
  *n = c.n;
  return 0;
}

int
image_snapshot_diff_tar (struct image_store *s, const char *id, int out_fd,
                         enum image_compression compression, struct berth_error **err)
{
  if (snapshot_id_check (id, err) < 0)
    return -1;
  _cleanup_free_ char *upper = xasprintf ("%s/upper", id);
  _cleanup_close_ int ufd = openat (s->snapshotsfd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "snapshot %s", id);
  return tar_write_tree (ufd, out_fd, compression, true, NULL, err);
}

static int
str_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
image_snapshot_list (struct image_store *s, char ***ids_out, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->snapshotsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read snapshots/");
  _cleanup_strv_ char **ids = calloc (1, sizeof (char *));
  if (ids == NULL)
    abort ();
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && image_snapshot_exists (s, de->d_name))
      strv_append (&ids, de->d_name);
  qsort (ids, strv_len (ids), sizeof (char *), str_cmp);
  *ids_out = steal_pointer (&ids);
  return 0;
}

static int
tree_size (int dirfd, int64_t *total, struct berth_error **err)
{
  _cleanup_closedir_ DIR *d = fdopendir (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d == NULL)
    return berth_error_set (err, errno, "read directory");
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue; /* changed under us (a running container): not an error */
      /* docker's directory.Size: every non-directory (symlinks count their
       * target's length) */
      if (!S_ISDIR (st.st_mode))
        *total += st.st_size;
      else
        {
          _cleanup_close_ int sub
              = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0 && tree_size (sub, total, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
image_snapshot_size (struct image_store *s, const char *id, int64_t *size_rw, int64_t *size_rootfs,
                     struct berth_error **err)
{
  _cleanup_json_ json_t *meta = snapshot_meta (s, id, err);
  if (meta == NULL)
    return -1;
  _cleanup_free_ char *upper = xasprintf ("%s/upper", id);
  _cleanup_close_ int ufd = openat (s->snapshotsfd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return berth_error_set (err, errno, "snapshot %s", id);
  int64_t rw = 0;
  if (tree_size (ufd, &rw, err) < 0)
    return berth_error_prefix (err, "snapshot %s", id);
  int64_t all = rw;
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (meta, "layers"), i, v)
  {
    _cleanup_error_ struct berth_error *e = NULL;
    int64_t sz = image_layer_size (s, json_string_value (v), &e);
    all += sz > 0 ? sz : 0;
  }
  if (size_rw)
    *size_rw = rw;
  if (size_rootfs)
    *size_rootfs = all;
  return 0;
}
