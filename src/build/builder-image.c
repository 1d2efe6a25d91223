/* How the builder makes images through the image store's public API: a
 * step's commit (config + history entry, with or without a new layer from
 * a snapshot's diff), the step cache (local index, then --cache-from
 * images matched as docker's imageCache does) and the step snapshots. */
#include "build/build-internal.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>

int
builder_commit (struct builder *b, struct build_stage *st, const char *created_by,
                const char *diff_id, json_t *container_cmd, struct berth_error **err)
{
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *created = time_format_rfc3339nano (&now);
  json_t *img = st->img;
  json_t *cfg = stage_config (st);
  json_object_set_new (cfg, "Image", json_string (st->image_id ? st->image_id : ""));
  json_object_set_new (img, "created", json_string (created));
  json_t *cc = json_deep_copy (cfg);
  json_object_set_new (cc, "Cmd", container_cmd ? json_incref (container_cmd) : json_null ());
  json_object_set_new (img, "container_config", cc);
  char cid[SHA256_HEX_LEN + 1];
  random_id_hex (cid);
  json_object_set_new (img, "container", json_string (cid));
  json_t *rootfs = json_object_get (img, "rootfs");
  if (!json_is_object (rootfs))
    {
      rootfs = json_pack ("{s:s,s:[]}", "type", "layers", "diff_ids");
      json_object_set_new (img, "rootfs", rootfs);
    }
  if (diff_id)
    json_array_append_new (json_object_get (rootfs, "diff_ids"), json_string (diff_id));
  json_t *hist = json_object_get (img, "history");
  if (!json_is_array (hist))
    {
      hist = json_array ();
      json_object_set_new (img, "history", hist);
    }
  json_t *h = json_pack ("{s:s,s:s}", "created", created, "created_by", created_by);
  if (diff_id == NULL)
    json_object_set_new (h, "empty_layer", json_true ());
  json_array_append_new (hist, h);
  _cleanup_free_ char *text = json_dumps (img, JSON_COMPACT);
  _cleanup_free_ char *digest = NULL;
  if (image_blob_put (b->store, text, strlen (text), NULL, &digest, err) < 0)
    return berth_error_prefix (err, "commit");
  struct image_add_options add = { .config_digest = digest, .parent = st->image_id };
  _cleanup_free_ char *id = NULL;
  if (image_store_add (b->store, &add, &id, err) < 0)
    return berth_error_prefix (err, "commit");
  free (st->image_id);
  st->image_id = steal_pointer (&id);
  return 0;
}

/* -------------------------------------------------------------- cache -- */

int
builder_stage_load (struct builder *b, struct build_stage *st, const char *id,
                  struct berth_error **err)
{
  json_t *img = NULL;
  if (image_config (b->store, id, &img, err) < 0)
    return -1;
  json_decref (st->img);
  st->img = json_deep_copy (img);
  json_decref (img);
  free (st->image_id);
  st->image_id = xstrdup (id);
  return 0;
}

static bool
history_entry_same (json_t *a, json_t *b)
{
  const char *ca = json_string_value (json_object_get (a, "created_by"));
  const char *cb = json_string_value (json_object_get (b, "created_by"));
  return strcmp (ca ? ca : "", cb ? cb : "") == 0
         && json_is_true (json_object_get (a, "empty_layer")) == json_is_true (json_object_get (b, "empty_layer"));
}

/* docker's imageCache for --cache-from (daemon/images/cache.go): a source
 * image whose history and layers start with the stage's and whose next
 * history entry is this step; the cached image is restored from its
 * history and layers up to that entry, with the step's config. */
static char *
cache_from_find (struct builder *b, struct build_stage *st, const char *created_by,
                 struct berth_error **err)
{
  json_t *h = json_object_get (st->img, "history");
  json_t *l = json_object_get (json_object_get (st->img, "rootfs"), "diff_ids");
  size_t nh = json_array_size (h), nl = json_array_size (l);
  size_t i;
  json_t *src;
  json_array_foreach (b->cache_from, i, src)
    {
      json_t *th = json_object_get (src, "history");
      json_t *tl = json_object_get (json_object_get (src, "rootfs"), "diff_ids");
      if (json_array_size (th) <= nh || json_array_size (tl) < nl)
        continue;
      bool ok = true;
      for (size_t k = 0; ok && k < nh; k++)
        ok = history_entry_same (json_array_get (h, k), json_array_get (th, k));
      for (size_t k = 0; ok && k < nl; k++)
        ok = json_equal (json_array_get (l, k), json_array_get (tl, k));
      json_t *next = json_array_get (th, nh);
      const char *cb = json_string_value (json_object_get (next, "created_by"));
      if (!ok || cb == NULL || strcmp (cb, created_by) != 0)
        continue;
      size_t layers = 0;
      for (size_t k = 0; k <= nh; k++)
        if (!json_is_true (json_object_get (json_array_get (th, k), "empty_layer")))
          layers++;
      if (layers > json_array_size (tl) || layers < nl)
        continue;
      _cleanup_json_ json_t *img = json_deep_copy (st->img);
      json_t *hist = json_array ();
      for (size_t k = 0; k <= nh; k++)
        json_array_append (hist, json_array_get (th, k));
      json_object_set_new (img, "history", hist);
      json_t *ids = json_array ();
      for (size_t k = 0; k < layers; k++)
        json_array_append (ids, json_array_get (tl, k));
      json_object_set_new (img, "rootfs", json_pack ("{s:s,s:o}", "type", "layers", "diff_ids", ids));
      json_t *created = json_object_get (next, "created");
      if (json_is_string (created))
        json_object_set (img, "created", created);
      json_object_set_new (json_object_get (img, "config"), "Image", json_string (st->image_id ? st->image_id : ""));
      _cleanup_free_ char *text = json_dumps (img, JSON_COMPACT);
      _cleanup_free_ char *digest = NULL;
      if (image_blob_put (b->store, text, strlen (text), NULL, &digest, err) < 0)
        return NULL;
      struct image_add_options add = { .config_digest = digest, .parent = st->image_id };
      char *id = NULL;
      if (image_store_add (b->store, &add, &id, err) < 0)
        return NULL;
      return id;
    }
  return NULL;
}

bool
builder_cache_try (struct builder *b, struct build_stage *st, const char *key, const char *created_by)
{
  if (b->o->no_cache || b->cachefd < 0)
    return false;
  _cleanup_free_ char *id = cache_lookup (b->cachefd, b->store, key);
  if (id == NULL && b->cache_from && created_by)
    {
      struct berth_error *e = NULL;
      id = cache_from_find (b, st, created_by, &e);
      if (e)
        {
          berth_log (BERTH_LOG_WARNING, "build: --cache-from: %s", e->msg);
          berth_error_free (e);
        }
      if (id)
        cache_store (b->cachefd, key, id);
    }
  if (id == NULL)
    return false;
  struct berth_error *err = NULL;
  if (builder_stage_load (b, st, id, &err) < 0)
    {
      berth_error_free (err);
      return false;
    }
  builder_emit (b, " ---> Using cache\n");
  return true;
}

void
builder_cache_put (struct builder *b, const char *key, const char *image_id)
{
  if (b->cachefd >= 0 && image_id)
    cache_store (b->cachefd, key, image_id);
}

/* ---------------------------------------------------------- snapshots -- */

char **
builder_live_snapshot (struct builder *b)
{
  struct build_stage *st = builder_current_stage ();
  return st ? &st->live_snapshot : &b->live_snapshot;
}

int
builder_snapshot_open (struct builder *b, struct build_stage *st, char **id, char **path,
                       int *rootfd, struct berth_error **err)
{
  char hex[SHA256_HEX_LEN + 1];
  random_id_hex (hex);
  _cleanup_free_ char *sid = xasprintf ("build-%.40s", hex);
  if (image_snapshot_create (b->store, sid, st ? st->image_id : NULL, err) < 0)
    return -1;
  char **live = builder_live_snapshot (b);
  free (*live);
  *live = xstrdup (sid);
  _cleanup_free_ char *mp = NULL;
  if (image_snapshot_mount (b->store, sid, NULL, &mp, err) < 0)
    {
      builder_snapshot_drop (b, sid);
      return -1;
    }
  *rootfd = open (mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0)
    {
      berth_error_set (err, errno, "open %s", mp);
      builder_snapshot_drop (b, sid);
      return -1;
    }
  *id = steal_pointer (&sid);
  if (path)
    *path = steal_pointer (&mp);
  return 0;
}

void
builder_snapshot_drop (struct builder *b, const char *id)
{
  struct berth_error *err = NULL;
  if (image_snapshot_remove (b->store, id, &err) < 0)
    {
      berth_log (BERTH_LOG_WARNING, "build: remove snapshot %s: %s", id, err->msg);
      berth_error_free (err);
    }
  char **live = builder_live_snapshot (b);
  if (*live && strcmp (*live, id) == 0)
    {
      free (*live);
      *live = NULL;
    }
}

int
builder_snapshot_commit (struct builder *b, const char *id, char **diff_id,
                         struct berth_error **err)
{
  if (image_snapshot_unmount (b->store, id, err) < 0)
    return -1;
  _cleanup_close_ int fd = openat (b->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_set (err, errno, "temp layer");
  /* a plain tar: the unpack keeps it as a gzip blob in the same pass it
   * hashes and extracts (no deflate here + inflate there) */
  if (image_snapshot_diff_tar (b->store, id, fd, IMAGE_COMPRESSION_NONE, err) < 0)
    return berth_error_prefix (err, "pack layer");
  if (lseek (fd, 0, SEEK_SET) < 0)
    return berth_error_set (err, errno, "rewind layer");
  if (image_layer_unpack_fd (b->store, fd, NULL, NULL, diff_id, err) < 0)
    return berth_error_prefix (err, "store layer");
  return 0;
}

