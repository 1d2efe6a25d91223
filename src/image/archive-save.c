/* docker save: one tar holding a docker-archive (manifest.json,
 * repositories, <config hex>.json, <v1 id>/{VERSION,json,layer.tar} as the
 * docker 20.10 engine lays them out) and an OCI image layout (oci-layout,
 * index.json, blobs/sha256/) as docker 25+ adds, sharing the layer bytes:
 * each layer's uncompressed tar (its bytes hash to the diff_id, recreated
 * by inflating the kept blob) is stored once under blobs/sha256/ and
 * <v1 id>/layer.tar is a symlink to it, exactly as docker 25 does. */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <string.h>
#include <zstd.h>

#define CHUNK (256 * 1024)

static int
ar_fail (struct archive *a, const char *what, struct berth_error **err)
{
  return berth_error_set (err, archive_errno (a), "save: %s: %s", what,
                          archive_error_string (a) ? archive_error_string (a) : "error");
}

static int
add_bytes (struct archive *a, const char *name, const void *data, size_t len,
           struct berth_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t)len);
  archive_entry_set_mtime (e, 0, 0);
  int r = archive_write_header (a, e);
  archive_entry_free (e);
  if (r != ARCHIVE_OK || (len && archive_write_data (a, data, len) != (la_ssize_t)len))
    return ar_fail (a, name, err);
  return 0;
}

static int
add_dir (struct archive *a, const char *name, struct berth_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_set_mtime (e, 0, 0);
  int r = archive_write_header (a, e);
  archive_entry_free (e);
  return r == ARCHIVE_OK ? 0 : ar_fail (a, name, err);
}

static int
add_symlink (struct archive *a, const char *name, const char *target, struct berth_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFLNK);
  archive_entry_set_perm (e, 0777);
  archive_entry_set_symlink (e, target);
  archive_entry_set_mtime (e, 0, 0);
  int r = archive_write_header (a, e);
  archive_entry_free (e);
  return r == ARCHIVE_OK ? 0 : ar_fail (a, name, err);
}

static int
add_json (struct archive *a, const char *name, json_t *j, struct berth_error **err)
{
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  return add_bytes (a, name, text, strlen (text), err);
}

/* Inflate a layer blob into the archive entry, checking it against the
 * diff_id as it goes. */
static int
add_layer_tar (struct image_store *s, struct archive *a, const char *diff_id,
               struct berth_error **err)
{
  _cleanup_json_ json_t *meta = layer_meta_load (s, diff_id, err);
  if (meta == NULL)
    return -1;
  int64_t tar_size = json_integer_value (json_object_get (meta, "tar_size"));
  const char *bd = json_string_value (json_object_get (json_object_get (meta, "blob"), "digest"));
  _cleanup_close_ int fd = image_blob_open (s, bd, err);
  if (fd < 0)
    return berth_error_prefix (err, "layer %s", diff_id);
  _cleanup_free_ char *name = xasprintf ("blobs/sha256/%s", diff_id + 7);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, tar_size);
  archive_entry_set_mtime (e, 0, 0);
  int hr = archive_write_header (a, e);
  archive_entry_free (e);
  if (hr != ARCHIVE_OK)
    return ar_fail (a, name, err);

  _cleanup_free_ unsigned char *in = malloc (CHUNK);
  _cleanup_free_ unsigned char *out = malloc (CHUNK);
  _cleanup_free_ struct inflate_state *gz = NULL;
  ZSTD_DStream *zs = NULL;
  _cleanup_sha256_ struct sha256_ctx *sha = sha256_ctx_new ();
  int64_t written = 0;
  int mode = -1; /* 0 plain, 1 gzip, 2 zstd */
  int r = 0;
  bool gz_done = false;
  for (;;)
    {
      ssize_t n = read (fd, in, CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          r = berth_error_set (err, errno, "read blob %s", bd);
          break;
        }
      if (n == 0)
        break;
      if (mode < 0)
        {
          mode = n >= 2 && in[0] == 0x1f && in[1] == 0x8b                    ? 1
                 : n >= 4 && in[0] == 0x28 && in[1] == 0xb5 && in[2] == 0x2f ? 2
                                                                             : 0;
          if (mode == 1)
            {
              gz = malloc (sizeof *gz);
              isal_inflate_init (gz);
              gz->crc_flag = ISAL_GZIP;
            }
          else if (mode == 2)
            zs = ZSTD_createDStream ();
        }
      /* Produce output chunks and write them. */
      if (mode == 0)
        {
          sha256_ctx_update (sha, in, (size_t)n);
          if (archive_write_data (a, in, (size_t)n) != n)
            {
              r = ar_fail (a, name, err);
              break;
            }
          written += n;
          continue;
        }
      if (mode == 1)
        {
          gz->next_in = in;
          gz->avail_in = (uint32_t)n;
          while (r == 0)
            {
              if (gz_done && gz->avail_in)
                {
                  uint8_t *rest = gz->next_in;
                  uint32_t rl = gz->avail_in;
                  isal_inflate_init (gz);
                  gz->crc_flag = ISAL_GZIP;
                  gz->next_in = rest;
                  gz->avail_in = rl;
                  gz_done = false;
                }
              gz->next_out = out;
              gz->avail_out = CHUNK;
              if (isal_inflate (gz) < 0)
                r = berth_error_set (err, EIO, "inflate blob %s", bd);
              size_t got = CHUNK - gz->avail_out;
              if (got)
                {
                  sha256_ctx_update (sha, out, got);
                  if (archive_write_data (a, out, got) != (la_ssize_t)got)
                    r = ar_fail (a, name, err);
                  written += (int64_t)got;
                }
              if (gz->block_state == ISAL_BLOCK_FINISH)
                gz_done = true;
              if (gz->avail_in == 0 && gz->avail_out > 0)
                break;
            }
        }
      else
        {
          ZSTD_inBuffer ib = { in, (size_t)n, 0 };
          while (r == 0)
            {
              ZSTD_outBuffer ob = { out, CHUNK, 0 };
              size_t z = ZSTD_decompressStream (zs, &ob, &ib);
              if (ZSTD_isError (z))
                r = berth_error_set (err, EIO, "zstd blob %s", bd);
              if (ob.pos)
                {
                  sha256_ctx_update (sha, out, ob.pos);
                  if (archive_write_data (a, out, ob.pos) != (la_ssize_t)ob.pos)
                    r = ar_fail (a, name, err);
                  written += (int64_t)ob.pos;
                }
              if (ib.pos == ib.size && ob.pos < ob.size)
                break;
            }
        }
      if (r < 0)
        break;
    }
  if (zs)
    ZSTD_freeDStream (zs);
  if (r < 0)
    return -1;
  _cleanup_free_ char *got = sha256_ctx_digest (sha);
  if (written != tar_size || strcmp (got, diff_id) != 0)
    return berth_error_set (err, 0, "layer %s: its blob %s inflates to %s (%lld bytes): run check",
                            diff_id, bd, got, (long long)written);
  return 0;
}

/* A v1 id per layer, chained like docker's v1.CreateID (the contents of
 * these ids are never checked by docker load; they only have to be stable
 * and distinct per chain). */
static char *
v1_id (const char *parent, const char *chain_id, const char *config_id, bool top)
{
  _cleanup_free_ char *in
      = xasprintf ("{\"layer_id\":\"%s\",\"parent\":\"%s\"%s%s%s}", chain_id, parent ? parent : "",
                   top ? ",\"config\":\"" : "", top ? config_id : "", top ? "\"" : "");
  char hex[SHA256_HEX_LEN + 1];
  sha256_hex (in, strlen (in), hex);
  return xstrdup (hex);
}

struct save_item
{
  char *id;
  json_t *tags; /* normalized names with tag */
};

int
image_save (struct image_store *s, char *const *names, int out_fd, struct berth_error **err)
{
  /* Resolve every name first: a typo fails before any byte is written. */
  _cleanup_json_ json_t *items = json_object (); /* id -> [tags] */
  _cleanup_json_ json_t *order = json_array ();
  for (char *const *n = names; n && *n; n++)
    {
      _cleanup_free_ char *id = NULL;
      if (image_resolve (s, *n, &id, err) < 0)
        return berth_error_prefix (err, "save");
      json_t *tags = json_object_get (items, id);
      if (tags == NULL)
        {
          tags = json_array ();
          json_object_set_new (items, id, tags);
          json_array_append_new (order, json_string (id));
        }
      _cleanup_image_ref_ struct image_ref *ref = NULL;
      _cleanup_error_ struct berth_error *perr = NULL;
      bool is_id = strncmp (id + 7, str_has_prefix (*n, "sha256:") ? *n + 7 : *n,
                            strlen (str_has_prefix (*n, "sha256:") ? *n + 7 : *n))
                   == 0;
      if (!is_id && image_ref_parse (*n, IMAGE_REF_DEFAULT_TAG, &ref, &perr) == 0 && ref->tag)
        {
          _cleanup_free_ char *name = image_ref_name (ref);
          _cleanup_free_ char *full = xasprintf ("%s:%s", name, ref->tag);
          json_array_append_new (tags, json_string (full));
        }
    }
  if (json_array_size (order) == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "save: no image given");

  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  /* names as bytes, whatever the locale (see image/pack.c) */
  archive_write_set_format_option (a, "pax", "hdrcharset", "BINARY");
  archive_write_set_bytes_in_last_block (a, 1);
  if (archive_write_open_fd (a, out_fd) != ARCHIVE_OK)
    {
      int r = ar_fail (a, "open output", err);
      archive_write_free (a);
      return r;
    }
  _cleanup_json_ json_t *manifest = json_array ();
  _cleanup_json_ json_t *repositories = json_object ();
  _cleanup_json_ json_t *index = json_pack ("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType",
                                            IMAGE_MT_OCI_INDEX, "manifests");
  _cleanup_json_ json_t *written = json_object ();
  int r = add_bytes (a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
  r = r ?: add_dir (a, "blobs", err);
  r = r ?: add_dir (a, "blobs/sha256", err);
  size_t k;
  json_t *idj;
  json_array_foreach (order, k, idj)
  {
    if (r < 0)
      break;
    const char *id = json_string_value (idj);
    json_t *tags = json_object_get (items, id);
    struct image_info *info = NULL;
    if (image_get (s, id, &info, err) < 0)
      {
        r = -1;
        break;
      }
    _cleanup_free_ char *cfg_text = NULL;
    size_t cfg_len = 0;
    if (image_blob_read (s, id, &cfg_text, &cfg_len, err) < 0)
      {
        image_info_free (info);
        r = -1;
        break;
      }
    _cleanup_json_ json_t *layer_paths = json_array ();
    _cleanup_json_ json_t *oci_layers = json_array ();
    _cleanup_free_ char *parent_v1 = NULL;
    for (size_t i = 0; i < info->n_layers && r == 0; i++)
      {
        const char *d = info->diff_ids[i];
        _cleanup_free_ char *chain = image_chain_id (info->diff_ids, i + 1);
        char *v1 = v1_id (parent_v1, chain, id, i + 1 == info->n_layers);
        _cleanup_free_ char *blobname = xasprintf ("blobs/sha256/%s", d + 7);
        if (!json_object_get (written, d))
          {
            r = add_layer_tar (s, a, d, err);
            json_object_set_new (written, d, json_true ());
          }
        _cleanup_free_ char *v1dir = xasprintf ("%s", v1);
        _cleanup_free_ char *vfile = xasprintf ("%s/VERSION", v1);
        _cleanup_free_ char *jfile = xasprintf ("%s/json", v1);
        _cleanup_free_ char *lfile = xasprintf ("%s/layer.tar", v1);
        _cleanup_free_ char *ltarget = xasprintf ("../blobs/sha256/%s", d + 7);
        _cleanup_json_ json_t *v1json
            = json_pack ("{s:s,s:s}", "id", v1, "created", "1970-01-01T00:00:00Z");
        if (parent_v1)
          json_object_set_new (v1json, "parent", json_string (parent_v1));
        if (!json_object_get (written, v1))
          {
            r = r ?: add_dir (a, v1dir, err);
            r = r ?: add_bytes (a, vfile, "1.0", 3, err);
            r = r ?: add_json (a, jfile, v1json, err);
            r = r ?: add_symlink (a, lfile, ltarget, err);
            json_object_set_new (written, v1, json_true ());
          }
        json_array_append_new (layer_paths, json_string (blobname));
        _cleanup_json_ json_t *lm = layer_meta_load (s, d, err);
        if (lm == NULL)
          r = -1;
        else
          json_array_append_new (oci_layers,
                                 json_pack ("{s:s,s:s,s:I}", "mediaType", IMAGE_MT_OCI_LAYER,
                                            "digest", d, "size",
                                            json_integer_value (json_object_get (lm, "tar_size"))));
        free (parent_v1);
        parent_v1 = v1;
      }
    /* config: <hex>.json (20.10) and blobs/sha256/<hex> (OCI) */
    _cleanup_free_ char *cfg_name = xasprintf ("%s.json", id + 7);
    _cleanup_free_ char *cfg_blob = xasprintf ("blobs/sha256/%s", id + 7);
    if (r == 0 && !json_object_get (written, id))
      {
        r = add_bytes (a, cfg_name, cfg_text, cfg_len, err);
        r = r ?: add_bytes (a, cfg_blob, cfg_text, cfg_len, err);
        json_object_set_new (written, id, json_true ());
      }
    /* an OCI manifest for the layout, naming the uncompressed layers */
    _cleanup_json_ json_t *om
        = json_pack ("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
                     IMAGE_MT_OCI_MANIFEST, "config", "mediaType", IMAGE_MT_OCI_CONFIG, "digest",
                     id, "size", (json_int_t)cfg_len, "layers", oci_layers);
    _cleanup_free_ char *om_text = json_dumps (om, JSON_COMPACT | JSON_PRESERVE_ORDER);
    _cleanup_free_ char *om_digest = sha256_digest (om_text, strlen (om_text));
    _cleanup_free_ char *om_blob = xasprintf ("blobs/sha256/%s", om_digest + 7);
    if (r == 0 && !json_object_get (written, om_digest))
      {
        r = add_bytes (a, om_blob, om_text, strlen (om_text), err);
        json_object_set_new (written, om_digest, json_true ());
      }
    json_t *fam_tags = json_array ();
    size_t t;
    json_t *tag;
    json_array_foreach (tags, t, tag)
    {
      const char *full = json_string_value (tag);
      _cleanup_free_ char *fam = image_ref_familiarize (full);
      json_array_append_new (fam_tags, json_string (fam));
      /* repositories: {"busybox": {"latest": "<top v1 id>"}} */
      char *colon = strrchr (fam, ':');
      if (colon && parent_v1)
        {
          *colon = '\0';
          json_t *repo = json_object_get (repositories, fam);
          if (repo == NULL)
            json_object_set_new (repositories, fam, repo = json_object ());
          json_object_set_new (repo, colon + 1, json_string (parent_v1));
          *colon = ':';
        }
      const char *tagpart = strrchr (full, ':') + 1;
      json_array_append_new (json_object_get (index, "manifests"),
                             json_pack ("{s:s,s:s,s:I,s:{s:s,s:s}}", "mediaType",
                                        IMAGE_MT_OCI_MANIFEST, "digest", om_digest, "size",
                                        (json_int_t)strlen (om_text), "annotations",
                                        "io.containerd.image.name", full,
                                        "org.opencontainers.image.ref.name", tagpart));
    }
    if (json_array_size (tags) == 0)
      json_array_append_new (json_object_get (index, "manifests"),
                             json_pack ("{s:s,s:s,s:I}", "mediaType", IMAGE_MT_OCI_MANIFEST,
                                        "digest", om_digest, "size", (json_int_t)strlen (om_text)));
    json_array_append_new (
        manifest,
        json_pack ("{s:s,s:o,s:O}", "Config", cfg_name, "RepoTags",
                   json_array_size (fam_tags) ? fam_tags : (json_decref (fam_tags), json_null ()),
                   "Layers", layer_paths));
    image_info_free (info);
  }
  r = r ?: add_json (a, "index.json", index, err);
  r = r ?: add_json (a, "manifest.json", manifest, err);
  if (r == 0 && json_object_size (repositories))
    r = add_json (a, "repositories", repositories, err);
  if (r == 0 && archive_write_close (a) != ARCHIVE_OK)
    r = ar_fail (a, "close", err);
  archive_write_free (a);
  return r;
}
