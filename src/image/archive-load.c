/* docker load and docker import. load reads a docker-archive (manifest.json,
 * as docker 20.10 and 25+ write it) or an OCI image layout (index.json) from
 * a tar stream (optionally compressed): every regular file is spooled into
 * tmp/ by entry number, names are checked (no "..", no absolute paths) and
 * symlinks are resolved inside the archive only; then layers go through the
 * same verified unpack as pulled ones, configs and manifests are checked
 * against their digests, and each image is recorded last (a kill -9 leaves
 * no half image). */
#include "image/image-internal.h"
#include "image/tar-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>

struct spool
{
  int dirfd;
  char *tmpname;
  json_t *files; /* cleaned name -> {"n": index, "size": n} | {"link": target} */
};

static void
spool_clear (struct image_store *s, struct spool *sp)
{
  closep (&sp->dirfd);
  if (sp->tmpname)
    fs_rm_rf_at (s->tmpfd, sp->tmpname, NULL);
  free (sp->tmpname);
  json_decref (sp->files);
}

static int
spool_read_archive (struct image_store *s, int in_fd, struct spool *sp, struct berth_error **err)
{
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  int r = 0;
  if (archive_read_open_fd (a, in_fd, 1 << 17) != ARCHIVE_OK)
    {
      r = berth_error_set_kind (err, BERTH_E_INVALID, 0, "read archive: %s",
                                archive_error_string (a));
      archive_read_free (a);
      return r;
    }
  struct archive_entry *e;
  size_t n = 0;
  /* heap, not TLS: a __thread buffer costs every thread its size */
  const size_t buf_size = 1 << 17;
  _cleanup_free_ char *buf = malloc (buf_size);
  if (buf == NULL)
    {
      archive_read_free (a);
      return berth_error_set (err, ENOMEM, "read buffer");
    }
  while (r == 0)
    {
      int h = archive_read_next_header (a, &e);
      if (h == ARCHIVE_EOF)
        break;
      if (h < ARCHIVE_WARN)
        {
          r = berth_error_set_kind (err, BERTH_E_INVALID, 0, "read archive: %s",
                                    archive_error_string (a));
          break;
        }
      /* libarchive has no name for an entry whose name it cannot convert */
      const char *raw = archive_entry_pathname (e);
      if (raw == NULL)
        {
          r = berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                    "read archive: entry %zu has no usable name", n);
          break;
        }
      _cleanup_free_ char *name = tar_path_clean (raw, err);
      if (name == NULL)
        {
          r = berth_error_prefix (err, "archive");
          break;
        }
      mode_t type = archive_entry_filetype (e);
      if (archive_entry_symlink (e) || archive_entry_hardlink (e))
        {
          const char *t
              = archive_entry_symlink (e) ? archive_entry_symlink (e) : archive_entry_hardlink (e);
          /* a symlink is relative to its directory; a hardlink to the root */
          _cleanup_free_ char *dir = strdup (name);
          char *slash = strrchr (dir, '/');
          if (slash)
            *slash = '\0';
          else
            dir[0] = '\0';
          _cleanup_free_ char *joined = archive_entry_hardlink (e) || t[0] == '/' || !*dir
                                            ? xstrdup (t)
                                            : xasprintf ("%s/%s", dir, t);
          _cleanup_free_ char *target = tar_path_clean (joined, err);
          if (target == NULL)
            {
              r = berth_error_prefix (err, "archive entry `%s`", name);
              break;
            }
          json_object_set_new (sp->files, name, json_pack ("{s:s}", "link", target));
          continue;
        }
      if (type != AE_IFREG)
        continue;
      char fname[32];
      snprintf (fname, sizeof fname, "%zu", n);
      _cleanup_close_ int fd
          = openat (sp->dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          r = berth_error_set (err, errno, "spool `%s`", name);
          break;
        }
      int64_t size = 0;
      for (;;)
        {
          la_ssize_t got = archive_read_data (a, buf, buf_size);
          if (got < 0)
            {
              r = berth_error_set_kind (err, BERTH_E_INVALID, 0, "read `%s`: %s", name,
                                        archive_error_string (a));
              break;
            }
          if (got == 0)
            break;
          if (fs_write_all (fd, buf, (size_t)got) < 0)
            {
              r = berth_error_set (err, errno, "spool `%s`", name);
              break;
            }
          size += got;
        }
      json_object_set_new (sp->files, name,
                           json_pack ("{s:I,s:I}", "n", (json_int_t)n, "size", (json_int_t)size));
      n++;
    }
  archive_read_free (a);
  return r;
}

/* The spooled file a name leads to, following links inside the archive. */
static int
spool_open (struct spool *sp, const char *name, struct berth_error **err)
{
  _cleanup_free_ char *cur = tar_path_clean (name, err);
  if (cur == NULL)
    return -1;
  for (int hops = 0; hops < 16; hops++)
    {
      json_t *f = json_object_get (sp->files, cur);
      if (f == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "archive has no `%s`", name);
      const char *link = json_string_value (json_object_get (f, "link"));
      if (link == NULL)
        {
          char fname[32];
          snprintf (fname, sizeof fname, "%lld",
                    (long long)json_integer_value (json_object_get (f, "n")));
          int fd = openat (sp->dirfd, fname, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            return berth_error_set (err, errno, "open spooled `%s`", name);
          return fd;
        }
      free (cur);
      cur = xstrdup (link);
    }
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "archive entry `%s`: too many links", name);
}

static int
spool_read (struct spool *sp, const char *name, char **out, size_t *len, struct berth_error **err)
{
  _cleanup_close_ int fd = spool_open (sp, name, err);
  if (fd < 0)
    return -1;
  _cleanup_free_ char *self = xasprintf ("/proc/self/fd/%d", fd);
  return fs_read_file (AT_FDCWD, self, out, len, err);
}

static void
loaded_add (char ***loaded, const char *what, const char *v)
{
  if (loaded)
    {
      _cleanup_free_ char *line = xasprintf ("%s: %s", what, v);
      strv_append (loaded, line);
    }
}

static int
load_layer (struct image_store *s, struct spool *sp, const char *path, const char *expected_digest,
            const char *media_type, const char *expected_diff_id, char **diff_id,
            struct berth_error **err)
{
  _cleanup_close_ int fd = spool_open (sp, path, err);
  if (fd < 0)
    return -1;
  if (expected_diff_id && image_layer_exists (s, expected_diff_id) && expected_digest == NULL)
    {
      *diff_id = xstrdup (expected_diff_id);
      return 0;
    }
  if (layer_unpack_fd_verified (s, fd, expected_digest, media_type, expected_diff_id, diff_id, err)
      < 0)
    return berth_error_prefix (err, "layer `%s`", path);
  if (expected_diff_id && strcmp (*diff_id, expected_diff_id) != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "layer `%s`: is %s but the config says %s", path, *diff_id,
                                 expected_diff_id);
  return 0;
}

static int
tag_all (struct image_store *s, const char *id, json_t *tags, char ***loaded,
         struct berth_error **err)
{
  size_t i;
  json_t *t;
  json_array_foreach (tags, i, t)
  {
    if (!json_is_string (t))
      continue;
    _cleanup_free_ char *f = image_ref_familiarize (json_string_value (t));
    /* docker load says so when a tag moves away from another image */
    _cleanup_free_ char *old = NULL;
    _cleanup_error_ struct berth_error *e = NULL;
    if (image_resolve (s, json_string_value (t), &old, &e) == 0 && strcmp (old, id) != 0 && loaded)
      {
        _cleanup_free_ char *line
            = xasprintf ("The image %s already exists, renaming the old one with ID %s to empty "
                         "string",
                         f, old);
        strv_append (loaded, line);
      }
    if (image_tag (s, id, json_string_value (t), err) < 0)
      return -1;
    loaded_add (loaded, "Loaded image", f);
  }
  if (json_array_size (tags) == 0)
    loaded_add (loaded, "Loaded image ID", id);
  return 0;
}

static int
load_docker_archive (struct image_store *s, struct spool *sp, char ***loaded,
                     struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (spool_read (sp, "manifest.json", &text, &len, err) < 0)
    return -1;
  json_error_t jerr;
  _cleanup_json_ json_t *manifest = json_loadb (text, len, 0, &jerr);
  if (!json_is_array (manifest))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "manifest.json: %s",
                                 manifest ? "not an array" : jerr.text);
  size_t i;
  json_t *m;
  json_array_foreach (manifest, i, m)
  {
    const char *config = json_string_value (json_object_get (m, "Config"));
    json_t *layers = json_object_get (m, "Layers");
    if (config == NULL || !json_is_array (layers))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "manifest.json[%zu]: needs Config and Layers", i);
    _cleanup_free_ char *cfg_text = NULL;
    size_t cfg_len = 0;
    if (spool_read (sp, config, &cfg_text, &cfg_len, err) < 0)
      return berth_error_prefix (err, "manifest.json[%zu].Config", i);
    _cleanup_json_ json_t *cfg = json_loadb (cfg_text, cfg_len, 0, &jerr);
    json_t *ids = json_object_get (json_object_get (cfg, "rootfs"), "diff_ids");
    if (!json_is_array (ids) || json_array_size (ids) != json_array_size (layers))
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "manifest.json[%zu]: %zu layers but the config lists %zu "
                                   "diff_ids",
                                   i, json_array_size (layers), json_array_size (ids));
    size_t j;
    json_t *l;
    json_array_foreach (layers, j, l)
    {
      _cleanup_free_ char *diff_id = NULL;
      if (!json_is_string (l)
          || load_layer (s, sp, json_string_value (l), NULL, NULL,
                         json_string_value (json_array_get (ids, j)), &diff_id, err)
                 < 0)
        return berth_error_prefix (err, "manifest.json[%zu].Layers[%zu]", i, j);
    }
    _cleanup_free_ char *cfg_digest = NULL;
    if (image_blob_put (s, cfg_text, cfg_len, NULL, &cfg_digest, err) < 0)
      return -1;
    struct image_add_options add = { .config_digest = cfg_digest };
    _cleanup_free_ char *id = NULL;
    if (image_store_add (s, &add, &id, err) < 0
        || tag_all (s, id, json_object_get (m, "RepoTags"), loaded, err) < 0)
      return -1;
  }
  return 0;
}

static int
oci_blob (struct spool *sp, const char *digest, char **out, size_t *len, struct berth_error **err)
{
  if (!digest_is_valid (digest))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid digest `%s`",
                                 digest ? digest : "");
  _cleanup_free_ char *path = xasprintf ("blobs/sha256/%s", digest + 7);
  if (spool_read (sp, path, out, len, err) < 0)
    return -1;
  _cleanup_free_ char *got = sha256_digest (*out, *len);
  if (strcmp (got, digest) != 0)
    {
      free (*out);
      *out = NULL;
      return berth_error_set_kind (err, BERTH_E_INVALID, 0, "blob %s: content is %s", digest, got);
    }
  return 0;
}

static int
load_oci_manifest (struct image_store *s, struct spool *sp, const char *digest, const char *name,
                   char ***loaded, struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (oci_blob (sp, digest, &text, &len, err) < 0)
    return -1;
  _cleanup_image_manifest_ struct image_manifest *m = NULL;
  if (image_manifest_parse (text, len, NULL, &m, err) < 0)
    return -1;
  if (image_manifest_kind_is_index (m->kind))
    {
      ssize_t k = image_manifest_select (m, NULL, err);
      if (k < 0)
        return -1;
      return load_oci_manifest (s, sp, m->manifests[k].digest, name, loaded, err);
    }
  _cleanup_free_ char *cfg_text = NULL;
  size_t cfg_len = 0;
  if (oci_blob (sp, m->config.digest, &cfg_text, &cfg_len, err) < 0
      || image_blob_put (s, cfg_text, cfg_len, m->config.digest, NULL, err) < 0)
    return berth_error_prefix (err, "config");
  _cleanup_json_ json_t *cfg = json_loadb (cfg_text, cfg_len, 0, NULL);
  json_t *ids = json_object_get (json_object_get (cfg, "rootfs"), "diff_ids");
  for (size_t i = 0; i < m->n_layers; i++)
    {
      _cleanup_free_ char *path = xasprintf ("blobs/sha256/%s", m->layers[i].digest + 7);
      _cleanup_free_ char *diff_id = NULL;
      if (load_layer (s, sp, path, m->layers[i].digest, m->layers[i].media_type,
                      json_string_value (json_array_get (ids, i)), &diff_id, err)
          < 0)
        return berth_error_prefix (err, "layers[%zu]", i);
    }
  if (image_blob_put (s, text, len, digest, NULL, err) < 0)
    return -1;
  struct image_add_options add = { .config_digest = m->config.digest, .manifest_digest = digest };
  _cleanup_free_ char *id = NULL;
  if (image_store_add (s, &add, &id, err) < 0)
    return -1;
  _cleanup_json_ json_t *tags = json_array ();
  if (name)
    json_array_append_new (tags, json_string (name));
  return tag_all (s, id, tags, loaded, err);
}

static int
load_oci_layout (struct image_store *s, struct spool *sp, char ***loaded, struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (spool_read (sp, "index.json", &text, &len, err) < 0)
    return -1;
  _cleanup_image_manifest_ struct image_manifest *idx = NULL;
  if (image_manifest_parse (text, len, IMAGE_MT_OCI_INDEX, &idx, err) < 0)
    return berth_error_prefix (err, "index.json");
  _cleanup_json_ json_t *raw = json_loadb (text, len, 0, NULL);
  for (size_t i = 0; i < idx->n_manifests; i++)
    {
      json_t *ann
          = json_object_get (json_array_get (json_object_get (raw, "manifests"), i), "annotations");
      const char *name = json_string_value (json_object_get (ann, "io.containerd.image.name"));
      const char *refname
          = json_string_value (json_object_get (ann, "org.opencontainers.image.ref.name"));
      _cleanup_free_ char *owned = NULL;
      /* ref.name alone is a tag (skopeo) or a full reference (buildkit) */
      if (name == NULL && refname)
        {
          _cleanup_image_ref_ struct image_ref *r = NULL;
          _cleanup_error_ struct berth_error *e = NULL;
          if (strchr (refname, '/') || strchr (refname, ':'))
            {
              if (image_ref_parse (refname, 0, &r, &e) == 0)
                name = refname;
            }
        }
      if (load_oci_manifest (s, sp, idx->manifests[i].digest, name, loaded, err) < 0)
        return berth_error_prefix (err, "index.json manifests[%zu]", i);
      (void)owned;
    }
  return 0;
}

int
image_load (struct image_store *s, int in_fd, char ***loaded, struct berth_error **err)
{
  struct spool sp = { .dirfd = -1, .files = json_object () };
  sp.dirfd = store_tmpdir_create (s, "load", &sp.tmpname, err);
  int r = sp.dirfd < 0 ? -1 : spool_read_archive (s, in_fd, &sp, err);
  if (r == 0)
    {
      if (json_object_get (sp.files, "manifest.json"))
        r = load_docker_archive (s, &sp, loaded, err);
      else if (json_object_get (sp.files, "index.json"))
        r = load_oci_layout (s, &sp, loaded, err);
      else
        r = berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                  "neither manifest.json (docker-archive) nor index.json (OCI "
                                  "layout) found in the archive");
    }
  spool_clear (s, &sp);
  if (r < 0)
    return berth_error_prefix (err, "load");
  return 0;
}

/* docker import serializes Go's whole container.Config: every key is
 * present, zero-valued when unset (clients such as docker-py index
 * Config["Entrypoint"]); ContainerConfig is the empty struct. */
static void
config_fill_docker_zero_values (json_t *config)
{
  static const char *const strings[] = { "Hostname", "Domainname", "User", "Image", "WorkingDir" };
  static const char *const bools[]
      = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce" };
  static const char *const nulls[] = { "Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels" };
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (json_object_get (config, strings[i]) == NULL)
      json_object_set_new (config, strings[i], json_string (""));
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
    if (json_object_get (config, bools[i]) == NULL)
      json_object_set_new (config, bools[i], json_false ());
  for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
    if (json_object_get (config, nulls[i]) == NULL)
      json_object_set_new (config, nulls[i], json_null ());
}

int
image_import (struct image_store *s, int in_fd, const struct image_ref *ref, const json_t *changes,
              const char *message, char **id_out, struct berth_error **err)
{
  _cleanup_free_ char *diff_id = NULL;
  if (image_layer_unpack_fd (s, in_fd, NULL, NULL, &diff_id, err) < 0)
    return berth_error_prefix (err, "import");
  _cleanup_json_ json_t *cfg = config_derive (NULL, diff_id, changes, NULL, NULL, NULL, "");
  /* docker import records where the tarball came from as the comment */
  json_t *hist = json_array_get (json_object_get (cfg, "history"), 0);
  json_object_set_new (hist, "comment", json_string (message ? message : "Imported from -"));
  json_t *config = json_object_get (cfg, "config");
  if (config == NULL)
    json_object_set_new (cfg, "config", config = json_object ());
  config_fill_docker_zero_values (config);
  json_t *container_config = json_object ();
  config_fill_docker_zero_values (container_config);
  json_object_set_new (cfg, "container_config", container_config);
  if (message)
    json_object_set_new (cfg, "comment", json_string (message));
  _cleanup_free_ char *text = json_dumps (cfg, JSON_COMPACT);
  _cleanup_free_ char *cfg_digest = NULL;
  if (image_blob_put (s, text, strlen (text), NULL, &cfg_digest, err) < 0)
    return berth_error_prefix (err, "import");
  struct image_add_options add = { .config_digest = cfg_digest, .ref = ref };
  return image_store_add (s, &add, id_out, err);
}
