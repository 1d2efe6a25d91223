/* Image records in images.json: add (after a pull, load, import or commit),
 * list, resolve what a user typed, get, tag and repo digests. Every change
 * is one atomic rewrite of images.json, so tags move and images appear or
 * vanish whole. Inspect/history/remove live in image-inspect.c and
 * image-remove.c. */
#include "image/image-internal.h"

#include <string.h>
#include <sys/stat.h>

void
image_info_free (struct image_info *info)
{
  if (info == NULL)
    return;
  free (info->id);
  free (info->manifest_digest);
  free (info->parent);
  strv_freep (&info->repo_tags);
  strv_freep (&info->repo_digests);
  free (info->created);
  strv_freep (&info->diff_ids);
  free (info->os);
  free (info->architecture);
  free (info->variant);
  free (info->last_tag_time);
  free (info);
}

void
image_info_list_free (struct image_info **list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    image_info_free (list[i]);
  free (list);
}

static int
config_load (struct image_store *s, const char *config_digest, json_t **out,
             struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (image_blob_read (s, config_digest, &text, &len, err) < 0)
    return -1;
  json_error_t jerr;
  json_t *cfg = json_loadb (text, len, 0, &jerr);
  if (!json_is_object (cfg))
    {
      json_decref (cfg);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "image config %s: %s", config_digest,
                                   jerr.text);
    }
  *out = cfg;
  return 0;
}

int
image_config (struct image_store *s, const char *id, json_t **out, struct berth_error **err)
{
  return config_load (s, id, out, err);
}

/* The config's rootfs.diff_ids, validated. */
static int
config_diff_ids (json_t *cfg, char ***out, struct berth_error **err)
{
  json_t *rootfs = json_object_get (cfg, "rootfs");
  json_t *ids = json_object_get (rootfs, "diff_ids");
  const char *type = json_string_value (json_object_get (rootfs, "type"));
  if (!json_is_array (ids) || type == NULL || strcmp (type, "layers") != 0)
    return berth_error_set_kind (
        err, BERTH_E_INVALID, 0,
        "image config: rootfs must be {\"type\":\"layers\",\"diff_ids\":[…]}");
  _cleanup_strv_ char **v = calloc (1, sizeof (char *));
  if (v == NULL)
    abort ();
  size_t i;
  json_t *d;
  json_array_foreach (ids, i, d)
  {
    if (!digest_is_valid (json_string_value (d)))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "image config: rootfs.diff_ids[%zu]: not a sha256 digest", i);
    strv_append (&v, json_string_value (d));
  }
  *out = steal_pointer (&v);
  return 0;
}

int
manifest_generate (struct image_store *s, const char *config_digest, char **digest_out,
                   struct berth_error **err)
{
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  if (config_load (s, config_digest, &cfg, err) < 0 || config_diff_ids (cfg, &diff_ids, err) < 0)
    return -1;
  int64_t cfg_size = image_blob_size (s, config_digest, err);
  if (cfg_size < 0)
    return -1;
  bool oci = false;
  _cleanup_json_ json_t *layers = json_array ();
  for (char **d = diff_ids; *d; d++)
    {
      _cleanup_free_ char *bd = NULL;
      _cleanup_free_ char *mt = NULL;
      int64_t size = 0;
      if (image_layer_blob (s, *d, &bd, &mt, &size, err) < 0)
        return -1;
      oci |= strcmp (mt, IMAGE_MT_OCI_LAYER_ZSTD) == 0;
      json_array_append_new (layers, json_pack ("{s:s,s:I,s:s}", "mediaType", mt, "size",
                                                (json_int_t)size, "digest", bd));
    }
  if (oci)
    {
      /* zstd layers only exist in OCI manifests: translate every type. */
      size_t i;
      json_t *l;
      json_array_foreach (layers, i, l)
      {
        const char *c
            = image_layer_media_compression (json_string_value (json_object_get (l, "mediaType")));
        json_object_set_new (l, "mediaType",
                             json_string (strcmp (c, "gzip") == 0   ? IMAGE_MT_OCI_LAYER_GZIP
                                          : strcmp (c, "zstd") == 0 ? IMAGE_MT_OCI_LAYER_ZSTD
                                                                    : IMAGE_MT_OCI_LAYER));
      }
    }
  _cleanup_json_ json_t *m
      = json_pack ("{s:i,s:s,s:{s:s,s:I,s:s},s:O}", "schemaVersion", 2, "mediaType",
                   oci ? IMAGE_MT_OCI_MANIFEST : IMAGE_MT_DOCKER_MANIFEST, "config", "mediaType",
                   oci ? IMAGE_MT_OCI_CONFIG : IMAGE_MT_DOCKER_CONFIG, "size", (json_int_t)cfg_size,
                   "digest", config_digest, "layers", layers);
  _cleanup_free_ char *text = json_dumps (m, JSON_INDENT (3) | JSON_PRESERVE_ORDER);
  return image_blob_put (s, text, strlen (text), NULL, digest_out, err);
}

static void
strv_add_unique (char ***v, const char *s)
{
  if (!strv_contains (*v, s))
    strv_append (v, s);
}

static json_t *
json_strv (char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

int
image_store_add (struct image_store *s, const struct image_add_options *opts, char **id_out,
                 struct berth_error **err)
{
  const char *id = opts->config_digest;
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  if (config_load (s, id, &cfg, err) < 0 || config_diff_ids (cfg, &diff_ids, err) < 0)
    return berth_error_prefix (err, "add image %s", id);
  for (char **d = diff_ids; *d; d++)
    if (!layer_present (s, *d))
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "add image %s: layer %s is missing",
                                   id, *d);
  _cleanup_free_ char *manifest = NULL;
  if (opts->manifest_digest)
    {
      if (!image_blob_exists (s, opts->manifest_digest))
        return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                     "add image %s: manifest %s is missing", id,
                                     opts->manifest_digest);
      manifest = xstrdup (opts->manifest_digest);
    }
  else if (manifest_generate (s, id, &manifest, err) < 0)
    return berth_error_prefix (err, "add image %s", id);
  _cleanup_free_ char *tag_key = NULL;
  _cleanup_free_ char *digest_ref = NULL;
  if (opts->ref && opts->ref->tag)
    {
      _cleanup_free_ char *name = image_ref_name (opts->ref);
      tag_key = xasprintf ("%s:%s", name, opts->ref->tag);
    }
  if (opts->ref && (opts->repo_digest || opts->ref->digest))
    {
      _cleanup_free_ char *name = image_ref_name (opts->ref);
      digest_ref
          = xasprintf ("%s@%s", name, opts->repo_digest ? opts->repo_digest : opts->ref->digest);
    }

  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  json_t *images = json_object_get (db, "images");
  json_t *rec = json_object_get (images, id);
  if (rec == NULL)
    {
      struct timespec now;
      clock_gettime (CLOCK_REALTIME, &now);
      _cleanup_free_ char *added = time_format_rfc3339nano (&now);
      rec = json_pack ("{s:s,s:o,s:[],s:s}", "manifest", manifest, "layers", json_strv (diff_ids),
                       "repo_digests", "added", added);
      if (opts->parent)
        json_object_set_new (rec, "parent", json_string (opts->parent));
      json_object_set_new (images, id, rec);
    }
  else if (opts->manifest_digest)
    json_object_set_new (rec, "manifest", json_string (manifest));
  if (digest_ref)
    {
      json_t *rd = json_object_get (rec, "repo_digests");
      bool have = false;
      size_t i;
      json_t *v;
      json_array_foreach (rd, i, v) have |= strcmp (json_string_value (v), digest_ref) == 0;
      if (!have)
        json_array_append_new (rd, json_string (digest_ref));
    }
  if (tag_key)
    {
      struct timespec now;
      clock_gettime (CLOCK_REALTIME, &now);
      _cleanup_free_ char *when = time_format_rfc3339nano (&now);
      json_object_set_new (json_object_get (db, "tags"), tag_key, json_string (id));
      json_object_set_new (rec, "last_tag_time", json_string (when));
    }
  if (images_db_save (s, db, err) < 0)
    return berth_error_prefix (err, "add image %s", id);
  /* recorded: its parts are now protected by references, not pins (so an
   * rmi right after a pull frees them) */
  store_unpin (s, id);
  store_unpin (s, manifest);
  if (opts->repo_digest)
    store_unpin (s, opts->repo_digest);
  for (char **d = diff_ids; *d; d++)
    {
      _cleanup_free_ char *bd = NULL;
      _cleanup_error_ struct berth_error *e = NULL;
      store_unpin (s, *d);
      if (image_layer_blob (s, *d, &bd, NULL, NULL, &e) == 0)
        store_unpin (s, bd);
    }
  if (id_out)
    *id_out = xstrdup (id);
  return 0;
}

/* Build an image_info from a record (db held by the caller). */
static struct image_info *
info_from_record (struct image_store *s, json_t *db, const char *id, json_t *rec)
{
  struct image_info *info = calloc (1, sizeof *info);
  if (info == NULL)
    abort ();
  info->id = xstrdup (id);
  info->manifest_digest = xstrdup (json_string_value (json_object_get (rec, "manifest")));
  const char *parent = json_string_value (json_object_get (rec, "parent"));
  info->parent = parent ? xstrdup (parent) : NULL;
  info->repo_tags = calloc (1, sizeof (char *));
  info->repo_digests = calloc (1, sizeof (char *));
  info->diff_ids = calloc (1, sizeof (char *));
  if (!info->repo_tags || !info->repo_digests || !info->diff_ids)
    abort ();
  const char *key;
  json_t *v;
  json_object_foreach (json_object_get (db, "tags"), key,
                       v) if (strcmp (json_string_value (v), id) == 0)
      strv_add_unique (&info->repo_tags, key);
  size_t i;
  json_array_foreach (json_object_get (rec, "repo_digests"), i, v)
      strv_add_unique (&info->repo_digests, json_string_value (v));
  json_array_foreach (json_object_get (rec, "layers"), i, v)
  {
    strv_append (&info->diff_ids, json_string_value (v));
    _cleanup_error_ struct berth_error *err = NULL;
    int64_t sz = image_layer_size (s, json_string_value (v), &err);
    if (sz > 0)
      info->size += sz;
  }
  info->n_layers = strv_len (info->diff_ids);
  const char *ltt = json_string_value (json_object_get (rec, "last_tag_time"));
  info->last_tag_time = ltt ? xstrdup (ltt) : NULL;
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (config_load (s, id, &cfg, &err) == 0)
    {
      const char *c = json_string_value (json_object_get (cfg, "created"));
      info->created = xstrdup (c ? c : "0001-01-01T00:00:00Z");
      const char *os = json_string_value (json_object_get (cfg, "os"));
      const char *arch = json_string_value (json_object_get (cfg, "architecture"));
      const char *var = json_string_value (json_object_get (cfg, "variant"));
      info->os = xstrdup (os ? os : "linux");
      info->architecture = xstrdup (arch ? arch : "");
      info->variant = var ? xstrdup (var) : NULL;
    }
  else
    info->created = xstrdup ("0001-01-01T00:00:00Z");
  return info;
}

static int
info_cmp_newest_first (const void *a, const void *b)
{
  const struct image_info *x = *(struct image_info *const *)a;
  const struct image_info *y = *(struct image_info *const *)b;
  struct timespec tx = { 0 }, ty = { 0 };
  time_parse_rfc3339 (x->created, &tx);
  time_parse_rfc3339 (y->created, &ty);
  if (tx.tv_sec != ty.tv_sec)
    return tx.tv_sec < ty.tv_sec ? 1 : -1;
  if (tx.tv_nsec != ty.tv_nsec)
    return tx.tv_nsec < ty.tv_nsec ? 1 : -1;
  return strcmp (x->id, y->id);
}

int
image_list (struct image_store *s, struct image_info ***out, size_t *n, struct berth_error **err)
{
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  json_t *images = json_object_get (db, "images");
  size_t count = json_object_size (images), i = 0;
  struct image_info **list = calloc (count + 1, sizeof *list);
  if (list == NULL)
    abort ();
  const char *id;
  json_t *rec;
  json_object_foreach (images, id, rec) list[i++] = info_from_record (s, db, id, rec);
  qsort (list, count, sizeof *list, info_cmp_newest_first);
  *out = list;
  *n = count;
  return 0;
}

int
image_get (struct image_store *s, const char *id, struct image_info **out, struct berth_error **err)
{
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  json_t *rec = json_object_get (json_object_get (db, "images"), id);
  if (rec == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such image: %s", id);
  *out = info_from_record (s, db, id, rec);
  return 0;
}

static bool
is_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

/* Resolve with the db in hand (docker's GetImage order: a digest-only
 * reference is an id; a name is looked up in the tags/digests; failing
 * that, a hex string is an id prefix). */
static int
resolve_in_db (json_t *db, const char *s, char **id_out, struct berth_error **err)
{
  json_t *images = json_object_get (db, "images");
  const char *hexpart = str_has_prefix (s, "sha256:") ? s + 7 : s;
  if (strlen (hexpart) == SHA256_HEX_LEN && is_hex (hexpart))
    {
      _cleanup_free_ char *id = xasprintf ("sha256:%s", hexpart);
      if (json_object_get (images, id))
        {
          *id_out = steal_pointer (&id);
          return 0;
        }
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such image: %s", s);
    }
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  _cleanup_error_ struct berth_error *perr = NULL;
  if (!str_has_prefix (s, "sha256:")
      && image_ref_parse (s, IMAGE_REF_DEFAULT_TAG, &ref, &perr) == 0)
    {
      _cleanup_free_ char *name = image_ref_name (ref);
      if (ref->digest)
        {
          _cleanup_free_ char *want = xasprintf ("%s@%s", name, ref->digest);
          const char *id;
          json_t *rec;
          json_object_foreach (images, id, rec)
          {
            size_t i;
            json_t *v;
            json_array_foreach (json_object_get (rec, "repo_digests"), i,
                                v) if (strcmp (json_string_value (v), want) == 0)
            {
              *id_out = xstrdup (id);
              return 0;
            }
            /* docker also resolves name@<config digest> */
            if (strcmp (id, ref->digest) == 0)
              {
                *id_out = xstrdup (id);
                return 0;
              }
          }
        }
      else
        {
          _cleanup_free_ char *key = xasprintf ("%s:%s", name, ref->tag);
          const char *id = json_string_value (json_object_get (json_object_get (db, "tags"), key));
          if (id && json_object_get (images, id))
            {
              *id_out = xstrdup (id);
              return 0;
            }
        }
    }
  if (is_hex (hexpart))
    {
      const char *found = NULL, *id;
      json_t *rec;
      size_t n = strlen (hexpart);
      json_object_foreach (images, id, rec) if (strncmp (id + 7, hexpart, n) == 0)
      {
        if (found)
          return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                       "multiple IDs found with provided prefix: %s", s);
        found = id;
      }
      if (found)
        {
          *id_out = xstrdup (found);
          return 0;
        }
    }
  if (perr && !is_hex (hexpart))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s", perr->msg);
  /* docker names the reference as it looked it up: "nosuch:latest" */
  _cleanup_free_ char *familiar = ref ? image_ref_familiar (ref) : NULL;
  return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such image: %s",
                               familiar ? familiar : s);
}

int
image_resolve (struct image_store *s, const char *str, char **id_out, struct berth_error **err)
{
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  return resolve_in_db (db, str, id_out, err);
}

int
image_tag (struct image_store *s, const char *src, const char *target, struct berth_error **err)
{
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  if (image_ref_parse (target, IMAGE_REF_DEFAULT_TAG, &ref, err) < 0)
    return -1;
  if (ref->digest)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "refusing to create a tag with a digest reference");
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  _cleanup_free_ char *id = NULL;
  if (resolve_in_db (db, src, &id, err) < 0)
    return -1;
  _cleanup_free_ char *name = image_ref_name (ref);
  _cleanup_free_ char *key = xasprintf ("%s:%s", name, ref->tag);
  json_object_set_new (json_object_get (db, "tags"), key, json_string (id));
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *when = time_format_rfc3339nano (&now);
  json_object_set_new (json_object_get (json_object_get (db, "images"), id), "last_tag_time",
                       json_string (when));
  return images_db_save (s, db, err);
}

int
image_add_repo_digest (struct image_store *s, const char *id, const struct image_ref *ref,
                       const char *digest, struct berth_error **err)
{
  if (!digest_is_valid (digest))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid digest `%s`", digest);
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  json_t *rec = json_object_get (json_object_get (db, "images"), id);
  if (rec == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such image: %s", id);
  _cleanup_free_ char *name = image_ref_name (ref);
  _cleanup_free_ char *v = xasprintf ("%s@%s", name, digest);
  json_t *rd = json_object_get (rec, "repo_digests");
  size_t i;
  json_t *e;
  json_array_foreach (rd, i, e) if (strcmp (json_string_value (e), v) == 0) return 0;
  json_array_append_new (rd, json_string (v));
  return images_db_save (s, db, err);
}

int
image_manifest_get (struct image_store *s, const char *id, char **manifest, size_t *len,
                    char **media_type, struct berth_error **err)
{
  _cleanup_free_ char *digest = NULL;
  {
    STORE_LOCKED (s);
    _cleanup_json_ json_t *db = images_db_load (s, err);
    if (db == NULL)
      return -1;
    json_t *rec = json_object_get (json_object_get (db, "images"), id);
    if (rec == NULL)
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "No such image: %s", id);
    digest = xstrdup (json_string_value (json_object_get (rec, "manifest")));
  }
  _cleanup_free_ char *text = NULL;
  size_t n = 0;
  if (image_blob_read (s, digest, &text, &n, err) < 0)
    return -1;
  if (media_type)
    {
      _cleanup_json_ json_t *m = json_loadb (text, n, 0, NULL);
      const char *mt = json_string_value (json_object_get (m, "mediaType"));
      *media_type = xstrdup (mt ? mt : IMAGE_MT_OCI_MANIFEST);
    }
  if (len)
    *len = n;
  *manifest = steal_pointer (&text);
  return 0;
}
