/* Named volumes with docker's "local" driver: the records (one
 * <data-root>/volumes/<name>/volume.json each, created in a temp dir and
 * renamed into place, removed by renaming to a trash name first, so a
 * SIGKILL at any instant leaves either a whole volume or none), the
 * in-memory references of containers, and mounts of volumes created with
 * driver options (type/device/o). Loop thread only. */
#include "daemon/volumes-internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
volume_free (struct volume *v)
{
  if (v == NULL)
    return;
  free (v->name);
  free (v->created_at);
  json_decref (v->labels);
  json_decref (v->options);
  strv_freep (&v->refs);
  free (v);
}

bool
volume_name_is_valid (const char *name)
{
  /* docker: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
  if (name == NULL || !isalnum ((unsigned char) name[0]) || name[1] == '\0')
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return strlen (name) <= 255;
}

struct volume *
volume_find (struct volume_store *vs, const char *name)
{
  for (size_t i = 0; i < vs->n; i++)
    if (strcmp (vs->list[i]->name, name) == 0)
      return vs->list[i];
  return NULL;
}

static void
store_insert (struct volume_store *vs, struct volume *v)
{
  struct volume **l = realloc (vs->list, (vs->n + 1) * sizeof *l);
  if (l == NULL)
    abort ();
  vs->list = l;
  vs->list[vs->n++] = v;
}

static void
store_drop (struct volume_store *vs, struct volume *v)
{
  for (size_t i = 0; i < vs->n; i++)
    if (vs->list[i] == v)
      {
        vs->list[i] = vs->list[--vs->n];
        break;
      }
  volume_free (v);
}

char *
volume_path (struct berthd *d, const char *name, const char *sub)
{
  return sub ? xasprintf ("%s/volumes/%s/%s", d->config.data_root, name, sub)
             : xasprintf ("%s/volumes/%s", d->config.data_root, name);
}

json_t *
volume_to_json (struct berthd *d, const struct volume *v)
{
  _cleanup_free_ char *mp = volume_path (d, v->name, "_data");
  json_t *j = json_object ();
  json_object_set_new (j, "CreatedAt", json_string (v->created_at));
  json_object_set_new (j, "Driver", json_string ("local"));
  json_object_set (j, "Labels", v->labels ? v->labels : json_null ());
  json_object_set_new (j, "Mountpoint", json_string (mp));
  json_object_set_new (j, "Name", json_string (v->name));
  json_object_set (j, "Options", v->options ? v->options : json_null ());
  json_object_set_new (j, "Scope", json_string ("local"));
  return j;
}

static json_t *
volume_record (const struct volume *v)
{
  json_t *j = json_object ();
  json_object_set_new (j, "Name", json_string (v->name));
  json_object_set_new (j, "Driver", json_string ("local"));
  json_object_set_new (j, "CreatedAt", json_string (v->created_at));
  json_object_set (j, "Labels", v->labels ? v->labels : json_null ());
  json_object_set (j, "Options", v->options ? v->options : json_null ());
  json_object_set_new (j, "Anonymous", json_boolean (v->anonymous));
  return j;
}

/* docker's local driver accepts these options and nothing else. */
int
volume_options_check (const json_t *opts, struct berth_error **err)
{
  if (opts == NULL || json_is_null (opts))
    return 0;
  if (!json_is_object (opts))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "DriverOpts: expected an object");
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) opts, k, v)
    {
      if (strcmp (k, "type") != 0 && strcmp (k, "device") != 0 && strcmp (k, "o") != 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid option key: \"%s\"", k);
      if (!json_is_string (v))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "DriverOpts.%s: expected a string", k);
    }
  bool has_type = json_object_get (opts, "type") != NULL;
  bool has_device = json_object_get (opts, "device") != NULL;
  if (json_object_size (opts) > 0 && (!has_type || !has_device))
    {
      /* docker: "missing required option: "type"" / "device" */
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "missing required option: \"%s\"",
                                   has_type ? "device" : "type");
    }
  return 0;
}

static char *
now_rfc3339_seconds (void)
{
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  char buf[32];
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return xstrdup (buf);
}

int
volume_create (struct berthd *d, const char *name, const json_t *labels, const json_t *options,
               bool anonymous, struct volume **out, struct berth_error **err)
{
  struct volume_store *vs = d->volumes;
  if (!volume_name_is_valid (name))
    return berth_error_set_kind (
        err, BERTH_E_INVALID, 0,
        "create %s: \"%s\" includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
        "use absolute path",
        name, name);
  if (volume_options_check (options, err) < 0)
    return berth_error_prefix (err, "create %s", name);
  if (labels && !json_is_null (labels))
    {
      if (!json_is_object (labels))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "create %s: Labels: expected an object of strings", name);
      const char *k;
      json_t *lv;
      json_object_foreach ((json_t *) labels, k, lv)
        if (!json_is_string (lv))
          return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                       "create %s: Labels.%s: expected a string", name, k);
    }
  struct volume *existing = volume_find (vs, name);
  if (existing)
    {
      *out = existing;
      return 0;
    }

  struct volume *v = calloc (1, sizeof *v);
  if (v == NULL)
    abort ();
  v->name = xstrdup (name);
  v->created_at = now_rfc3339_seconds ();
  v->labels = labels && !json_is_null (labels) ? json_deep_copy (labels) : NULL;
  v->options = options && !json_is_null (options) && json_object_size (options) > 0
                   ? json_deep_copy (options)
                   : NULL;
  v->anonymous = anonymous;

  /* Build it under a temp name, then rename: all or nothing on disk. */
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  _cleanup_free_ char *tmp = xasprintf (".tmp-%.16s", rnd);
  if (mkdirat (vs->dirfd, tmp, 0701) < 0)
    {
      volume_free (v);
      return berth_error_set (err, errno, "create %s: mkdir", name);
    }
  _cleanup_close_ int tfd = openat (vs->dirfd, tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_json_ json_t *rec = volume_record (v);
  if (tfd < 0 || mkdirat (tfd, "_data", 0755) < 0
      || json_save_atomic (tfd, "volume.json", rec, err) < 0
      || renameat (vs->dirfd, tmp, vs->dirfd, name) < 0)
    {
      int e = errno;
      _cleanup_error_ struct berth_error *ignored = NULL;
      fs_rm_rf_at (vs->dirfd, tmp, &ignored);
      volume_free (v);
      if (err && *err)
        return berth_error_prefix (err, "create %s", name);
      return berth_error_set (err, e, "create %s", name);
    }
  fsync (vs->dirfd);
  store_insert (vs, v);
  daemon_event_emit ("volume", "create", name, json_pack ("{s:s}", "driver", "local"));
  *out = v;
  return 0;
}

char *
volume_get_or_create (struct berthd *d, const char *name, bool create_if_missing, bool *created,
                      struct berth_error **err)
{
  if (created)
    *created = false;
  char rnd[SHA256_HEX_LEN + 1];
  if (name == NULL)
    {
      random_id_hex (rnd);
      name = rnd;
    }
  else
    {
      struct volume *v = volume_find (d->volumes, name);
      if (v)
        return xstrdup (v->name);
      if (!create_if_missing)
        {
          berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "get %s: no such volume", name);
          return NULL;
        }
    }
  struct volume *v = NULL;
  if (volume_create (d, name, NULL, NULL, name == rnd, &v, err) < 0)
    return NULL;
  if (created)
    *created = true;
  return xstrdup (v->name);
}

char *
volume_mountpoint (struct berthd *d, const char *name, struct berth_error **err)
{
  if (volume_find (d->volumes, name) == NULL)
    {
      berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "get %s: no such volume", name);
      return NULL;
    }
  return volume_path (d, name, "_data");
}

bool
volume_is_anonymous (struct berthd *d, const char *name)
{
  struct volume *v = volume_find (d->volumes, name);
  return v && v->anonymous;
}

unsigned
volume_ref_count (struct berthd *d, const char *name)
{
  struct volume *v = volume_find (d->volumes, name);
  return v ? (unsigned) strv_len (v->refs) : 0;
}

/* --------------------------------------------------------------- mounts -- */

struct mount_flag
{
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct mount_flag mount_flags[] = {
  { "ro", false, MS_RDONLY },        { "rw", true, MS_RDONLY },
  { "nosuid", false, MS_NOSUID },    { "suid", true, MS_NOSUID },
  { "nodev", false, MS_NODEV },      { "dev", true, MS_NODEV },
  { "noexec", false, MS_NOEXEC },    { "exec", true, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
  { "noatime", false, MS_NOATIME },  { "atime", true, MS_NOATIME },
  { "nodiratime", false, MS_NODIRATIME }, { "relatime", false, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME }, { "bind", false, MS_BIND },
  { "rbind", false, MS_BIND | MS_REC }, { "remount", false, MS_REMOUNT },
  { NULL, false, 0 },
};

/* Split "o" as docker's mount.parseOptions: known flags become mount
 * flags, the rest is the data string (addr=…, size=…, uid=…). */
static void
mount_options_parse (const char *o, unsigned long *flags, char **data)
{
  *flags = 0;
  *data = NULL;
  if (o == NULL)
    return;
  _cleanup_strv_ char **parts = strv_split (o, ',');
  _cleanup_strv_ char **rest = calloc (1, sizeof (char *));
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0')
        continue;
      const struct mount_flag *f = mount_flags;
      while (f->name && strcmp (f->name, *p) != 0)
        f++;
      if (f->name == NULL)
        strv_append (&rest, *p);
      else if (f->clear)
        *flags &= ~f->flag;
      else
        *flags |= f->flag;
    }
  if (rest[0])
    *data = strv_join (rest, ",");
}

static bool
is_mountpoint (const char *path)
{
  struct statx a, b;
  _cleanup_free_ char *parent = xasprintf ("%s/..", path);
  if (statx (AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &a) < 0)
    return false;
  if (a.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (a.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  if (statx (AT_FDCWD, parent, 0, STATX_BASIC_STATS, &b) < 0)
    return false;
  return a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor;
}

static int
volume_mount (struct berthd *d, struct volume *v, struct berth_error **err)
{
  if (v->options == NULL)
    return 0;
  _cleanup_free_ char *target = volume_path (d, v->name, "_data");
  if (is_mountpoint (target))
    return 0; /* mounted by a berthd before a restart (live restore) */
  const char *type = json_string_value (json_object_get (v->options, "type"));
  const char *device = json_string_value (json_object_get (v->options, "device"));
  const char *o = json_string_value (json_object_get (v->options, "o"));
  unsigned long flags;
  _cleanup_free_ char *data = NULL;
  mount_options_parse (o, &flags, &data);
  if (mount (device, target, type, flags, data) < 0)
    return berth_error_set (err, errno, "mount volume %s (%s on %s, type %s)", v->name, device,
                            target, type);
  return 0; /* the "volume mount" event is each start's (container_volume_events) */
}

static void
volume_unmount (struct berthd *d, struct volume *v)
{
  if (v->options == NULL)
    return;
  _cleanup_free_ char *target = volume_path (d, v->name, "_data");
  if (!is_mountpoint (target))
    return;
  if (umount2 (target, MNT_DETACH) < 0)
    berth_log (BERTH_LOG_WARNING, "unmount volume %s: %s", v->name, strerror (errno));
}

int
volume_ref (struct berthd *d, const char *name, const char *container_id,
            struct berth_error **err)
{
  struct volume *v = volume_find (d->volumes, name);
  if (v == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "get %s: no such volume", name);
  if (v->refs && strv_contains (v->refs, container_id))
    return 0;
  if (v->refs == NULL || v->refs[0] == NULL)
    if (volume_mount (d, v, err) < 0)
      return -1;
  strv_append (&v->refs, container_id);
  return 0;
}

void
volume_unref (struct berthd *d, const char *name, const char *container_id)
{
  struct volume *v = volume_find (d->volumes, name);
  if (v == NULL || v->refs == NULL)
    return;
  size_t n = strv_len (v->refs), k = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (v->refs[i], container_id) == 0)
        free (v->refs[i]);
      else
        v->refs[k++] = v->refs[i];
    }
  v->refs[k] = NULL;
  if (k == 0 && n > 0)
    volume_unmount (d, v);
}

/* --------------------------------------------------------------- remove -- */

int
volume_remove (struct berthd *d, const char *name, bool force, struct berth_error **err)
{
  struct volume_store *vs = d->volumes;
  struct volume *v = volume_find (vs, name);
  if (v == NULL)
    {
      if (force)
        return 0;
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "get %s: no such volume", name);
    }
  if (v->refs && v->refs[0])
    {
      _cleanup_free_ char *users = strv_join (v->refs, " ");
      return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                   "remove %s: volume is in use - [%s]", name, users);
    }
  volume_unmount (d, v);
  /* Rename to a trash name first: the record disappears atomically, the
   * data is deleted after (and again on the next start if we die now). */
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  _cleanup_free_ char *trash = xasprintf (".trash-%.16s", rnd);
  if (renameat (vs->dirfd, name, vs->dirfd, trash) < 0)
    return berth_error_set (err, errno, "remove %s", name);
  fsync (vs->dirfd);
  _cleanup_error_ struct berth_error *rm_err = NULL;
  if (fs_rm_rf_at (vs->dirfd, trash, &rm_err) < 0)
    berth_log (BERTH_LOG_WARNING, "remove volume %s data: %s", name, rm_err->msg);
  store_drop (vs, v);
  daemon_event_emit ("volume", "destroy", name, json_pack ("{s:s}", "driver", "local"));
  return 0;
}

/* ----------------------------------------------------------------- load -- */

static void
volumes_load (struct berthd *d)
{
  struct volume_store *vs = d->volumes;
  int fd = openat (vs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    return;
  for (struct dirent *e; (e = readdir (dir));)
    {
      if (e->d_name[0] == '.')
        {
          /* interrupted create or remove: finish it */
          if (str_has_prefix (e->d_name, ".tmp-") || str_has_prefix (e->d_name, ".trash-"))
            {
              _cleanup_error_ struct berth_error *ignored = NULL;
              fs_rm_rf_at (vs->dirfd, e->d_name, &ignored);
            }
          continue;
        }
      _cleanup_free_ char *rec_path = xasprintf ("%s/volume.json", e->d_name);
      _cleanup_error_ struct berth_error *lerr = NULL;
      _cleanup_json_ json_t *rec = json_load_path (vs->dirfd, rec_path, &lerr);
      const char *name = json_string_value (json_object_get (rec, "Name"));
      if (rec == NULL || name == NULL || strcmp (name, e->d_name) != 0)
        {
          berth_log (BERTH_LOG_WARNING, "volume %s: unreadable record, skipped: %s", e->d_name,
                     lerr ? lerr->msg : "bad Name");
          continue;
        }
      struct volume *v = calloc (1, sizeof *v);
      if (v == NULL)
        abort ();
      v->name = xstrdup (name);
      const char *created = json_string_value (json_object_get (rec, "CreatedAt"));
      v->created_at = xstrdup (created ? created : "");
      json_t *labels = json_object_get (rec, "Labels");
      json_t *opts = json_object_get (rec, "Options");
      v->labels = json_is_object (labels) ? json_incref (labels) : NULL;
      v->options = json_is_object (opts) ? json_incref (opts) : NULL;
      v->anonymous = json_is_true (json_object_get (rec, "Anonymous"));
      store_insert (vs, v);
    }
}

int
volumes_open (struct berthd *d, struct berth_error **err)
{
  struct volume_store *vs = calloc (1, sizeof *vs);
  if (vs == NULL)
    abort ();
  if (mkdirat (d->data_root_fd, "volumes", 0701) < 0 && errno != EEXIST)
    {
      free (vs);
      return berth_error_set (err, errno, "mkdir %s/volumes", d->config.data_root);
    }
  vs->dirfd = openat (d->data_root_fd, "volumes", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (vs->dirfd < 0)
    {
      free (vs);
      return berth_error_set (err, errno, "open %s/volumes", d->config.data_root);
    }
  d->volumes = vs;
  volumes_load (d);
  return 0;
}

void
volumes_close (struct berthd *d)
{
  struct volume_store *vs = d->volumes;
  if (vs == NULL)
    return;
  for (size_t i = 0; i < vs->n; i++)
    volume_free (vs->list[i]);
  free (vs->list);
  close (vs->dirfd);
  free (vs);
  d->volumes = NULL;
}
