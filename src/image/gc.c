/* Garbage collection: what images and snapshots reference (configs,
 * manifests, layer blobs, index blobs, layers) and removal of everything
 * else. */
#include "image/image-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static void
ref_blob (json_t *blobs, const char *d)
{
  if (d && digest_is_valid (d))
    json_object_set_new (blobs, d, json_true ());
}

static void
ref_layer (struct image_store *s, json_t *blobs, json_t *layers, const char *diff_id)
{
  if (diff_id == NULL)
    return;
  json_object_set_new (layers, diff_id, json_true ());
  _cleanup_free_ char *bd = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (image_layer_blob (s, diff_id, &bd, NULL, NULL, &err) == 0)
    ref_blob (blobs, bd);
}

int
store_collect_refs (struct image_store *s, json_t **blobs_out, json_t **layers_out,
                    struct berth_error **err)
{
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  _cleanup_json_ json_t *blobs = json_object ();
  _cleanup_json_ json_t *layers = json_object ();
  const char *id;
  json_t *rec;
  json_object_foreach (json_object_get (db, "images"), id, rec)
  {
    ref_blob (blobs, id);
    const char *m = json_string_value (json_object_get (rec, "manifest"));
    ref_blob (blobs, m);
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get (rec, "layers"), i, v)
        ref_layer (s, blobs, layers, json_string_value (v));
    /* the index a multi-platform image was pulled through */
    json_array_foreach (json_object_get (rec, "repo_digests"), i, v)
    {
      const char *at = strchr (json_string_value (v), '@');
      if (at && image_blob_exists (s, at + 1))
        ref_blob (blobs, at + 1);
    }
    /* blobs a stored manifest names (pulled manifests may list layers by
     * other digests than the ones we kept: both are kept) */
    _cleanup_free_ char *text = NULL;
    size_t len;
    _cleanup_error_ struct berth_error *e = NULL;
    if (m && image_blob_read (s, m, &text, &len, &e) == 0)
      {
        _cleanup_json_ json_t *mj = json_loadb (text, len, 0, NULL);
        json_array_foreach (json_object_get (mj, "layers"), i, v)
            ref_blob (blobs, json_string_value (json_object_get (v, "digest")));
      }
  }
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->snapshotsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *path = xasprintf ("%s/meta.json", de->d_name);
      _cleanup_error_ struct berth_error *e = NULL;
      _cleanup_json_ json_t *meta = json_load_path (s->snapshotsfd, path, &e);
      size_t i;
      json_t *v;
      json_array_foreach (json_object_get (meta, "layers"), i, v)
          ref_layer (s, blobs, layers, json_string_value (v));
    }
  *blobs_out = steal_pointer (&blobs);
  *layers_out = steal_pointer (&layers);
  return 0;
}

static int64_t
dir_entry_size (int dirfd, const char *name)
{
  struct stat st;
  return fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
}

int
store_gc_locked (struct image_store *s, int64_t *freed, json_t *removed_layers,
                 struct berth_error **err)
{
  _cleanup_json_ json_t *blobs = NULL;
  _cleanup_json_ json_t *layers = NULL;
  if (store_collect_refs (s, &blobs, &layers, err) < 0)
    return -1;
  int64_t total = 0;
  {
    _cleanup_closedir_ DIR *d
        = fdopendir (openat (s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct dirent *de;
    while (d && (de = readdir (d)) != NULL)
      {
        if (de->d_name[0] == '.')
          continue;
        _cleanup_free_ char *diff_id = xasprintf ("sha256:%s", de->d_name);
        if (json_object_get (layers, diff_id))
          continue;
        _cleanup_error_ struct berth_error *e = NULL;
        int64_t sz = image_layer_size (s, diff_id, &e);
        bool removed = false;
        if (layer_remove (s, diff_id, 0, &removed, err) < 0)
          return -1;
        if (!removed)
          continue; /* pinned: a pull in flight uses it */
        if (removed_layers)
          json_array_append_new (removed_layers, json_string (diff_id));
        total += sz > 0 ? sz : 0;
      }
  }
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->blobsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *digest = xasprintf ("sha256:%s", de->d_name);
      if (json_object_get (blobs, digest))
        continue;
      int64_t sz = dir_entry_size (s->blobsfd, de->d_name);
      bool removed = false;
      if (digest_is_valid (digest) && blob_remove (s, digest, 0, &removed, err) < 0)
        return -1;
      total += removed ? sz : 0;
    }
  /* downloads a killed or failed pull left and nobody resumed */
  store_sweep_partials (s, PIN_TTL_NS);
  if (freed)
    *freed = total;
  return 0;
}

int
image_store_gc (struct image_store *s, int64_t *freed, struct berth_error **err)
{
  STORE_LOCKED (s);
  if (store_gc_locked (s, freed, NULL, err) < 0)
    return berth_error_prefix (err, "gc");
  return 0;
}
