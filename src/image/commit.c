/* docker commit: a snapshot's upper dir becomes a layer (packed with
 * whiteouts, kept as a compressed blob, unpacked through the same verified
 * path as a pulled layer) on top of its image, with a new config. */
#include "image/image-internal.h"
#include "image/tar-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/utsname.h>

/* A config for a new image: the parent's (or a fresh one), with the new
 * layer appended to rootfs and history. */
json_t *
config_derive (json_t *parent_cfg, const char *diff_id, const json_t *config, const char *comment,
               const char *author, const char *container_id, const char *created_by)
{
  json_t *cfg = parent_cfg ? json_deep_copy (parent_cfg) : json_object ();
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *created = time_format_rfc3339nano (&now);
  if (!json_is_string (json_object_get (cfg, "architecture")))
    {
      struct image_platform p;
      image_platform_host (&p);
      json_object_set_new (cfg, "architecture", json_string (p.architecture));
      if (p.variant)
        json_object_set_new (cfg, "variant", json_string (p.variant));
      image_platform_clear (&p);
    }
  json_object_set_new (cfg, "os", json_string ("linux"));
  json_object_set_new (cfg, "created", json_string (created));
  if (config)
    json_object_set_new (cfg, "config", json_deep_copy (config));
  else if (!json_is_object (json_object_get (cfg, "config")))
    json_object_set_new (cfg, "config", json_object ());
  if (comment)
    json_object_set_new (cfg, "comment", json_string (comment));
  else
    json_object_del (cfg, "comment");
  if (author)
    json_object_set_new (cfg, "author", json_string (author));
  if (container_id)
    json_object_set_new (cfg, "container", json_string (container_id));
  json_t *rootfs = json_object_get (cfg, "rootfs");
  if (!json_is_object (rootfs))
    {
      rootfs = json_pack ("{s:s,s:[]}", "type", "layers", "diff_ids");
      json_object_set_new (cfg, "rootfs", rootfs);
    }
  json_array_append_new (json_object_get (rootfs, "diff_ids"), json_string (diff_id));
  json_t *hist = json_object_get (cfg, "history");
  if (!json_is_array (hist))
    {
      hist = json_array ();
      json_object_set_new (cfg, "history", hist);
    }
  json_t *h
      = json_pack ("{s:s,s:s}", "created", created, "created_by", created_by ? created_by : "");
  if (comment)
    json_object_set_new (h, "comment", json_string (comment));
  if (author)
    json_object_set_new (h, "author", json_string (author));
  json_array_append_new (hist, h);
  return cfg;
}

/* Pack dirfd's tree into a temp file and unpack it as a layer; the blob is
 * the compressed tar. */
int
layer_from_tree (struct image_store *s, int dirfd, bool overlay_whiteouts,
                 enum image_compression compression, char **diff_id, struct berth_error **err)
{
  _cleanup_close_ int fd = openat (s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
    {
      char rnd[SHA256_HEX_LEN + 1];
      random_id_hex (rnd);
      char name[48];
      snprintf (name, sizeof name, "layer-%.24s", rnd);
      fd = openat (s->tmpfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0)
        unlinkat (s->tmpfd, name, 0); /* anonymous from here on */
    }
  if (fd < 0)
    return berth_error_set (err, errno, "create temp layer");
  if (compression == IMAGE_COMPRESSION_AUTO)
    compression = IMAGE_COMPRESSION_GZIP;
  struct tar_write_result res = { 0 };
  if (tar_write_tree (dirfd, fd, compression, overlay_whiteouts, &res, err) < 0)
    return -1;
  if (lseek (fd, 0, SEEK_SET) < 0)
    {
      tar_write_result_clear (&res);
      return berth_error_set (err, errno, "rewind temp layer");
    }
  const char *mt = compression == IMAGE_COMPRESSION_GZIP   ? IMAGE_MT_DOCKER_LAYER_GZIP
                   : compression == IMAGE_COMPRESSION_ZSTD ? IMAGE_MT_OCI_LAYER_ZSTD
                                                           : NULL;
  int r = image_layer_unpack_fd (s, fd, res.digest, mt, diff_id, err);
  if (r == 0 && strcmp (*diff_id, res.diff_id) != 0)
    r = berth_error_set (err, 0, "layer changed while it was packed");
  tar_write_result_clear (&res);
  return r;
}

int
image_commit (struct image_store *s, const char *snapshot_id,
              const struct image_commit_options *opts, char **id_out, struct berth_error **err)
{
  _cleanup_free_ char *parent = NULL;
  if (image_snapshot_image (s, snapshot_id, &parent, err) < 0)
    return berth_error_prefix (err, "commit");
  _cleanup_free_ char *upper = xasprintf ("%s/upper", snapshot_id);
  _cleanup_close_ int ufd = openat (s->snapshotsfd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return berth_error_set (err, errno, "commit: snapshot %s", snapshot_id);
  _cleanup_free_ char *diff_id = NULL;
  if (layer_from_tree (s, ufd, true, opts->compression, &diff_id, err) < 0)
    return berth_error_prefix (err, "commit %s", snapshot_id);
  _cleanup_json_ json_t *pcfg = NULL;
  if (parent && image_config (s, parent, &pcfg, err) < 0)
    return berth_error_prefix (err, "commit: parent image");
  _cleanup_json_ json_t *cfg = config_derive (pcfg, diff_id, opts->config, opts->comment,
                                              opts->author, opts->container_id, NULL);
  if (opts->container_config)
    json_object_set_new (cfg, "container_config", json_deep_copy (opts->container_config));
  _cleanup_free_ char *text = json_dumps (cfg, JSON_COMPACT);
  _cleanup_free_ char *cfg_digest = NULL;
  if (image_blob_put (s, text, strlen (text), NULL, &cfg_digest, err) < 0)
    return -1;
  struct image_add_options add = {
    .config_digest = cfg_digest,
    .ref = opts->ref,
    .parent = parent,
  };
  return image_store_add (s, &add, id_out, err);
}
