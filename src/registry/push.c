/* registry_push: upload an image from the store as `docker push` does:
 * every layer blob is checked with HEAD first, mounted from another
 * repository of the same registry when the store knows one that has it,
 * else uploaded (one PUT, or PATCH chunks with Content-Range for big blobs);
 * then the config, and the manifest last. */
#include "registry/registry-internal.h"
#include "image/image.h"

#include <string.h>
#include <unistd.h>

#define DEFAULT_CHUNK_BYTES (64ll << 20)
#define MAX_MOUNT_CANDIDATES 3

void
registry_push_result_clear (struct registry_push_result *r)
{
  free (r->reference);
  free (r->manifest_digest);
  memset (r, 0, sizeof *r);
}

struct push
{
  struct image_store *store;
  const struct registry_options *opts;
  struct image_ref *ref;
  struct registry_client *c;
  char *id;
  struct image_info *info;
  char *manifest;
  size_t manifest_len;
  char *manifest_type;
  struct image_manifest *m;
  char *scope;
  int *layer_fds;           /* recompressed blobs (-1: the store's blob) */
  char **layer_compression; /* what each pushed layer is */
};

static void
push_clear (struct push *p)
{
  image_ref_free (p->ref);
  registry_client_free (p->c);
  free (p->id);
  if (p->info)
    image_info_free (p->info);
  free (p->manifest);
  free (p->manifest_type);
  free (p->scope);
  for (size_t i = 0; p->layer_fds && p->m && i < p->m->n_layers; i++)
    if (p->layer_fds[i] >= 0)
      close (p->layer_fds[i]);
  free (p->layer_fds);
  strv_freep (&p->layer_compression);
  if (p->m)
    image_manifest_free (p->m);
}

/* -------------------------------------------------------------- uploading -- */

/* Streams [offset, offset+len) of a blob fd as a request body, reporting
 * "Pushing" progress. */
struct body_reader
{
  int fd;
  int64_t pos, end;
  int64_t total;  /* of the whole blob, for progress */
  const char *id; /* short id for progress */
  const struct registry_options *opts;
  uint64_t last_progress_ns;
  bool is_canceled;
};

static size_t
body_read (char *buf, size_t size, size_t n, void *opaque)
{
  struct body_reader *r = opaque;
  size_t want = size * n;
  if ((int64_t)want > r->end - r->pos)
    want = (size_t)(r->end - r->pos);
  if (want == 0)
    return 0;
  ssize_t got = pread (r->fd, buf, want, r->pos);
  if (got <= 0)
    return CURL_READFUNC_ABORT;
  r->pos += got;
  uint64_t now = time_now_ns ();
  if (r->id && (now - r->last_progress_ns > 100000000ull || r->pos == r->total))
    {
      r->last_progress_ns = now;
      if (registry_progress_emit (r->opts, "Pushing", r->id, true, r->pos, r->total) != 0)
        {
          r->is_canceled = true;
          return CURL_READFUNC_ABORT;
        }
    }
  return (size_t)got;
}

static char *
url_with_digest (struct registry_client *c, const char *location, const char *digest)
{
  char *e = curl_easy_escape (c->easy, digest, 0);
  char *u = xasprintf ("%s%cdigest=%s", location, strchr (location, '?') ? '&' : '?', e);
  curl_free (e);
  return u;
}

/* HEAD /v2/<path>/blobs/<digest>: 1 present, 0 absent, -1 error. */
static int
blob_exists (struct push *p, const char *digest, struct berth_error **err)
{
  _cleanup_free_ char *url = xasprintf ("/v2/%s/blobs/%s", p->ref->path, digest);
  struct registry_request req = { .method = "HEAD", .url = url, .scope = p->scope };
  struct registry_response resp;
  if (registry_client_do (p->c, &req, &resp, err) < 0)
    return -1;
  long status = resp.status;
  registry_response_clear (&resp);
  if (status == 200)
    return 1;
  if (status == 404)
    return 0;
  struct registry_response r = { .status = status };
  _cleanup_free_ char *what = xasprintf ("HEAD blob %s", digest);
  return registry_error_from_response (&r, err, what);
}

/* Start an upload session, optionally as a mount from `from`. Returns 1
 * when the mount happened (nothing to upload), 0 with *location set. */
static int
upload_start (struct push *p, const char *digest, const char *from, char **location,
              struct berth_error **err)
{
  *location = NULL;
  _cleanup_free_ char *url = NULL;
  _cleanup_free_ char *scope = NULL;
  if (from)
    {
      char *e = curl_easy_escape (p->c->easy, digest, 0);
      url = xasprintf ("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->ref->path, e, from);
      curl_free (e);
      _cleanup_free_ char *from_scope = registry_scope (from, "pull");
      scope = xasprintf ("%s %s", p->scope, from_scope);
    }
  else
    {
      url = xasprintf ("/v2/%s/blobs/uploads/", p->ref->path);
      scope = xstrdup (p->scope);
    }
  struct registry_request req = { .method = "POST", .url = url, .scope = scope, .has_body = true };
  struct registry_response resp;
  if (registry_client_do (p->c, &req, &resp, err) < 0)
    return -1;
  int r;
  if (from && resp.status == 201)
    r = 1;
  else if (resp.status == 202 && resp.location)
    {
      *location = steal_pointer (&resp.location);
      r = 0;
    }
  else
    {
      _cleanup_free_ char *what = xasprintf ("start upload of %s", digest);
      r = registry_error_from_response (&resp, err, what);
    }
  registry_response_clear (&resp);
  return r;
}

static int
expect_status (struct registry_response *resp, long want, const char *what,
               struct berth_error **err)
{
  if (resp->status == want)
    return 0;
  int r = registry_error_from_response (resp, err, what);
  registry_response_clear (resp);
  return r;
}

/* Upload the blob behind fd into the session at location. */
static int
upload_body (struct push *p, char *location, int fd, const char *digest, int64_t size,
             const char *id, struct berth_error **err)
{
  int64_t chunk = p->opts && p->opts->upload_chunk_bytes > 0 ? p->opts->upload_chunk_bytes
                                                             : DEFAULT_CHUNK_BYTES;
  struct body_reader rd = { .fd = fd, .total = size, .id = id, .opts = p->opts };
  char *const octet[] = { "Content-Type: application/octet-stream", NULL };
  _cleanup_free_ char *loc = location;
  if (size > chunk)
    {
      /* Chunked: PATCH with Content-Range, each answer says what the
       * registry holds (Range: 0-<end>) and where to go on. */
      for (int64_t off = 0; off < size; off += chunk)
        {
          int64_t len = size - off < chunk ? size - off : chunk;
          _cleanup_free_ char *cr = registry_content_range (off, len);
          _cleanup_free_ char *crh = xasprintf ("Content-Range: %s", cr);
          char *const hdrs[] = { "Content-Type: application/octet-stream", crh, NULL };
          rd.pos = off;
          rd.end = off + len;
          struct registry_request req = { .method = "PATCH",
                                          .url = loc,
                                          .scope = p->scope,
                                          .headers = hdrs,
                                          .read_fn = body_read,
                                          .read_opaque = &rd,
                                          .read_len = len };
          struct registry_response resp;
          if (registry_client_do (p->c, &req, &resp, err) < 0)
            return -1;
          _cleanup_free_ char *what = xasprintf ("upload %s: PATCH %s", digest, cr);
          if (expect_status (&resp, 202, what, err) < 0)
            return -1;
          int64_t s = 0, e = 0;
          if (resp.range
              && (registry_range_parse (resp.range, &s, &e) < 0 || s != 0 || e != off + len - 1))
            {
              berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                    "upload %s: the registry holds range %s after sending %s",
                                    digest, resp.range, cr);
              registry_response_clear (&resp);
              return -1;
            }
          if (resp.location)
            {
              free (loc);
              loc = steal_pointer (&resp.location);
            }
          registry_response_clear (&resp);
        }
      _cleanup_free_ char *put = url_with_digest (p->c, loc, digest);
      struct registry_request req = { .method = "PUT",
                                      .url = put,
                                      .scope = p->scope,
                                      .has_body = true,
                                      .headers = octet,
                                      .no_retry = true };
      struct registry_response resp;
      if (registry_client_do (p->c, &req, &resp, err) < 0)
        return -1;
      _cleanup_free_ char *what = xasprintf ("upload %s: PUT", digest);
      if (expect_status (&resp, 201, what, err) < 0)
        return -1;
      registry_response_clear (&resp);
      return 0;
    }
  /* Monolithic: one PUT with the whole blob. */
  rd.pos = 0;
  rd.end = size;
  _cleanup_free_ char *put = url_with_digest (p->c, loc, digest);
  struct registry_request req = { .method = "PUT",
                                  .url = put,
                                  .scope = p->scope,
                                  .headers = octet,
                                  .read_fn = body_read,
                                  .read_opaque = &rd,
                                  .read_len = size };
  struct registry_response resp;
  if (registry_client_do (p->c, &req, &resp, err) < 0)
    return -1;
  _cleanup_free_ char *what = xasprintf ("upload %s", digest);
  if (expect_status (&resp, 201, what, err) < 0)
    return -1;
  registry_response_clear (&resp);
  return 0;
}

/* Repositories of the same registry that the store knows to hold diff_id
 * (or the image's config when diff_id is NULL), for cross-repository mounts. */
static char **
mount_candidates (struct push *p, const char *diff_id)
{
  char **out = calloc (1, sizeof *out);
  struct image_info **list = NULL;
  size_t n = 0;
  if (out == NULL)
    abort ();
  if (image_list (p->store, &list, &n, NULL) < 0)
    return out;
  for (size_t i = 0; i < n && strv_len (out) < MAX_MOUNT_CANDIDATES; i++)
    {
      struct image_info *info = list[i];
      /* diff_id NULL: the config blob, which only this image's repositories hold. */
      bool has = diff_id == NULL && !strcmp (info->id, p->id);
      for (size_t k = 0; diff_id && k < info->n_layers && !has; k++)
        has = !strcmp (info->diff_ids[k], diff_id);
      if (!has)
        continue;
      char **sets[] = { info->repo_digests, info->repo_tags };
      for (size_t s = 0; s < 2; s++)
        for (char **r = sets[s]; r && *r; r++)
          {
            _cleanup_image_ref_ struct image_ref *ref = NULL;
            if (image_ref_parse (*r, 0, &ref, NULL) < 0)
              continue;
            if (strcmp (ref->domain, p->ref->domain) != 0 || !strcmp (ref->path, p->ref->path)
                || strv_contains (out, ref->path) || strv_len (out) >= MAX_MOUNT_CANDIDATES)
              continue;
            strv_append (&out, ref->path);
          }
    }
  image_info_list_free (list, n);
  return out;
}

/* One blob: exists? mount? upload (retrying the whole session on
 * transient failures). *how: "exists", "mounted:<repo>", "pushed". */
static int
push_blob (struct push *p, const char *digest, int64_t size, const char *diff_id, const char *id,
           int blob_fd, char **how, struct berth_error **err)
{
  int r = blob_exists (p, digest, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      *how = xstrdup ("exists");
      return 0;
    }
  _cleanup_free_ char *location = NULL;
  {
    _cleanup_strv_ char **cands = mount_candidates (p, diff_id);
    for (char **from = cands; *from; from++)
      {
        free (location);
        location = NULL;
        r = upload_start (p, digest, *from, &location, err);
        if (r < 0)
          return -1;
        if (r == 1)
          {
            *how = xasprintf ("mounted:%s", *from);
            return 0;
          }
        /* 202: the mount did not happen; the session it opened is used. */
        break;
      }
  }
  _cleanup_close_ int own_fd = blob_fd < 0 ? image_blob_open (p->store, digest, err) : -1;
  int fd = blob_fd < 0 ? own_fd : blob_fd;
  if (fd < 0)
    return -1;
  unsigned max_retries = registry_max_retries (p->opts);
  for (unsigned attempt = 0;; attempt++)
    {
      if (location == NULL && upload_start (p, digest, NULL, &location, err) < 0)
        return -1;
      _cleanup_error_ struct berth_error *e = NULL;
      if (upload_body (p, steal_pointer (&location), fd, digest, size, id, &e) == 0)
        break;
      if (attempt >= max_retries || e->kind != BERTH_E_UNAVAILABLE)
        {
          registry_error_move (err, &e);
          return -1;
        }
      berth_log (BERTH_LOG_INFO, "%s; restarting the upload", e->msg);
      usleep ((useconds_t)registry_backoff_ms (attempt) * 1000);
    }
  *how = xstrdup ("pushed");
  return 0;
}

/* One layer (k counts from the top, as docker lists them): on a worker
 * thread with the thread's own client; events go through job_opts. */
static int
push_layer_job (size_t i, void **thread_state, const struct registry_options *job_opts, void *ctx,
                struct berth_error **err)
{
  struct push *p = ctx;
  size_t k = p->m->n_layers - 1 - i;
  if (*thread_state == NULL)
    {
      *thread_state = registry_client_clone (p->c, err);
      if (*thread_state == NULL)
        return -1;
    }
  struct push tp = *p; /* a view with this thread's client and callback */
  tp.c = *thread_state;
  tp.opts = job_opts;
  const struct image_descriptor *d = &p->m->layers[k];
  char id[13];
  registry_short_id (p->info->diff_ids[k], id);
  if (p->layer_fds[k] < 0 && !image_blob_exists (p->store, d->digest))
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "layer %s: blob %s is not in the store",
                                 id, d->digest);
  _cleanup_free_ char *how = NULL;
  if (push_blob (&tp, d->digest, d->size, p->info->diff_ids[k], id, p->layer_fds[k], &how, err) < 0)
    return berth_error_prefix (err, "layer %s", id);
  _cleanup_free_ char *status = NULL;
  if (!strcmp (how, "exists"))
    status = xstrdup ("Layer already exists");
  else if (str_has_prefix (how, "mounted:"))
    status = xasprintf ("Mounted from %s", how + 8);
  else
    status = xstrdup ("Pushed");
  if (registry_progress_emit (job_opts, status, id, true, -1, -1) != 0)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "push canceled");
  return 0;
}

static void
push_thread_done (void *thread_state)
{
  registry_client_free (thread_state);
}

static int
push_layers (struct push *p, struct berth_error **err)
{
  size_t n = p->m->n_layers;
  unsigned max = p->opts && p->opts->max_concurrent_uploads ? p->opts->max_concurrent_uploads : 5;
  /* docker lists the top layer first; those beyond the upload slots wait. */
  for (size_t k = n; k-- > 0;)
    {
      char id[13];
      registry_short_id (p->info->diff_ids[k], id);
      if (registry_progress_emit (p->opts, "Preparing", id, true, -1, -1) != 0)
        return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "push canceled");
    }
  for (size_t i = max; i < n; i++)
    {
      char id[13];
      registry_short_id (p->info->diff_ids[n - 1 - i], id);
      if (registry_progress_emit (p->opts, "Waiting", id, true, -1, -1) != 0)
        return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "push canceled");
    }
  /* Learn the scheme and challenge once, before the threads clone them. */
  if (p->c->scheme == NULL && registry_client_ping (p->c, err) < 0)
    return -1;
  return registry_run_parallel (n, max, p->opts, push_layer_job, push_thread_done, p, err);
}

/* The layer media type for a compression in a manifest family. */
static const char *
layer_media_type (bool is_oci, const char *compression)
{
  if (!strcmp (compression, "gzip"))
    return is_oci ? IMAGE_MT_OCI_LAYER_GZIP : IMAGE_MT_DOCKER_LAYER_GZIP;
  if (!strcmp (compression, "zstd"))
    return is_oci ? IMAGE_MT_OCI_LAYER_ZSTD : NULL; /* schema 2 has no zstd */
  return is_oci ? IMAGE_MT_OCI_LAYER : "application/vnd.docker.image.rootfs.diff.tar";
}

/* Make every layer of the manifest one the registry will get from us:
 * - a layer the store already had when the image was pulled ("Already
 *   exists") is kept as the blob it first came in, and the pulled manifest
 *   may name another compression of the same diff_id: use the kept blob;
 * - compression: a plain tar goes up gzip-compressed (docker's default),
 *   and opts->compression ("gzip", "zstd") recompresses what differs;
 * zstd layers need an OCI manifest, so a Docker one is converted. When
 * anything changed the manifest is rewritten (and its digest changes, as
 * docker's does when it pushes a layer it holds under another digest). */
static int
push_prepare_layers (struct push *p, struct berth_error **err)
{
  const char *want
      = p->opts && p->opts->compression && *p->opts->compression ? p->opts->compression : NULL;
  if (want && strcmp (want, "gzip") != 0 && strcmp (want, "zstd") != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "compression `%s`: use gzip or zstd",
                                 want);
  size_t n = p->m->n_layers;
  p->layer_fds = calloc (n ? n : 1, sizeof *p->layer_fds);
  p->layer_compression = calloc (n + 1, sizeof *p->layer_compression);
  if (p->layer_fds == NULL || p->layer_compression == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    p->layer_fds[i] = -1;
  bool is_changed = false, to_oci = false;
  for (size_t i = 0; i < n; i++)
    {
      struct image_descriptor *d = &p->m->layers[i];
      _cleanup_free_ char *media_type = xstrdup (d->media_type);
      if (!image_blob_exists (p->store, d->digest))
        {
          _cleanup_free_ char *digest = NULL;
          free (media_type);
          media_type = NULL;
          if (image_layer_blob (p->store, p->info->diff_ids[i], &digest, &media_type, &d->size, err)
              < 0)
            return berth_error_prefix (err, "layer %s", p->info->diff_ids[i]);
          free (d->digest);
          d->digest = steal_pointer (&digest);
          is_changed = true;
        }
      const char *have = image_layer_media_compression (media_type);
      if (have == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "layer %s: media type %s cannot be pushed", d->digest,
                                     media_type);
      const char *target = want ? want : *have ? have : "gzip";
      if (strcmp (have, target) != 0)
        {
          _cleanup_close_ int in = image_blob_open (p->store, d->digest, err);
          if (in < 0)
            return -1;
          char *digest = NULL;
          int fd = registry_layer_recompress (p->store, in, have, target, &digest, &d->size, err);
          if (fd < 0)
            return berth_error_prefix (err, "layer %s", d->digest);
          berth_log (BERTH_LOG_DEBUG, "push: layer %s recompressed %s -> %s as %s", d->digest,
                     *have ? have : "tar", target, digest);
          free (d->digest);
          d->digest = digest;
          p->layer_fds[i] = fd;
          is_changed = true;
        }
      p->layer_compression[i] = xstrdup (target);
      if (!strcmp (target, "zstd") && p->m->kind == IMAGE_KIND_DOCKER_MANIFEST)
        to_oci = true;
    }
  if (!is_changed && !to_oci)
    return 0;
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (p->manifest, p->manifest_len, 0, &jerr);
  json_t *layers = json_object_get (j, "layers");
  if (!json_is_array (layers) || json_array_size (layers) != n)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "stored manifest of %s: bad layers",
                                 p->id);
  bool is_oci = to_oci || p->m->kind == IMAGE_KIND_OCI_MANIFEST;
  if (to_oci)
    {
      json_object_set_new (j, "mediaType", json_string (IMAGE_MT_OCI_MANIFEST));
      json_object_set_new (json_object_get (j, "config"), "mediaType",
                           json_string (IMAGE_MT_OCI_CONFIG));
      free (p->manifest_type);
      p->manifest_type = xstrdup (IMAGE_MT_OCI_MANIFEST);
    }
  for (size_t i = 0; i < n; i++)
    {
      json_t *d = json_array_get (layers, i);
      json_object_set_new (d, "digest", json_string (p->m->layers[i].digest));
      json_object_set_new (d, "size", json_integer (p->m->layers[i].size));
      json_object_set_new (d, "mediaType",
                           json_string (layer_media_type (is_oci, p->layer_compression[i])));
    }
  char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize manifest");
  free (p->manifest);
  p->manifest = text;
  p->manifest_len = strlen (text);
  return 0;
}

static int
push_manifest (struct push *p, struct registry_push_result *out, struct berth_error **err)
{
  _cleanup_free_ char *how = NULL;
  if (push_blob (p, p->m->config.digest, p->m->config.size, NULL, NULL, -1, &how, err) < 0)
    return berth_error_prefix (err, "config %s", p->m->config.digest);
  _cleanup_free_ char *url = xasprintf ("/v2/%s/manifests/%s", p->ref->path, p->ref->tag);
  _cleanup_free_ char *ct = xasprintf ("Content-Type: %s", p->manifest_type);
  char *const headers[] = { ct, NULL };
  struct registry_request req = { .method = "PUT",
                                  .url = url,
                                  .scope = p->scope,
                                  .headers = headers,
                                  .body = p->manifest,
                                  .body_len = p->manifest_len,
                                  .has_body = true };
  struct registry_response resp;
  if (registry_client_do (p->c, &req, &resp, err) < 0)
    return -1;
  if (expect_status (&resp, 201, "put manifest", err) < 0)
    return -1;
  _cleanup_free_ char *digest = sha256_digest (p->manifest, p->manifest_len);
  if (resp.content_digest && strcmp (resp.content_digest, digest) != 0)
    berth_log (BERTH_LOG_WARNING, "push: registry says manifest digest %s, content is %s",
               resp.content_digest, digest);
  registry_response_clear (&resp);
  out->manifest_digest = xstrdup (digest);
  out->manifest_size = (int64_t)p->manifest_len;
  return 0;
}

static int
push_run (struct push *p, struct registry_push_result *out, struct berth_error **err)
{
  _cleanup_free_ char *full = image_ref_string (p->ref);
  if (image_resolve (p->store, full, &p->id, NULL) < 0)
    {
      _cleanup_free_ char *name = image_ref_familiar_name (p->ref);
      return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                   "An image does not exist locally with the tag: %s", name);
    }
  if (image_get (p->store, p->id, &p->info, err) < 0
      || image_manifest_get (p->store, p->id, &p->manifest, &p->manifest_len, &p->manifest_type,
                             err)
             < 0)
    return -1;
  if (image_manifest_parse (p->manifest, p->manifest_len, p->manifest_type, &p->m, err) < 0)
    return berth_error_prefix (err, "stored manifest of %s", p->id);
  if (p->m->n_layers != p->info->n_layers)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                 "image %s: manifest has %zu layers, config %zu", p->id,
                                 p->m->n_layers, p->info->n_layers);
  if (push_prepare_layers (p, err) < 0)
    return -1;
  p->scope = registry_scope (p->ref->path, "pull,push");
  p->c = registry_client_new (p->ref->domain, p->opts, err);
  if (p->c == NULL)
    return -1;
  _cleanup_free_ char *name = image_ref_name (p->ref);
  _cleanup_free_ char *intro = xasprintf ("The push refers to repository [%s]", name);
  if (registry_progress_emit (p->opts, intro, NULL, false, -1, -1) != 0)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "push canceled");
  if (push_layers (p, err) < 0 || push_manifest (p, out, err) < 0)
    return -1;
  /* Remember name@digest (docker shows it in RepoDigests after a push). */
  _cleanup_error_ struct berth_error *e = NULL;
  if (image_add_repo_digest (p->store, p->id, p->ref, out->manifest_digest, &e) < 0)
    berth_log (BERTH_LOG_WARNING, "push: record repo digest: %s", e->msg);
  _cleanup_json_ json_t *aux
      = json_pack ("{s:s,s:s,s:I}", "Tag", p->ref->tag, "Digest", out->manifest_digest, "Size",
                   (json_int_t)out->manifest_size);
  _cleanup_free_ char *line = xasprintf ("%s: digest: %s size: %lld", p->ref->tag,
                                         out->manifest_digest, (long long)out->manifest_size);
  if (p->opts && p->opts->progress)
    {
      struct registry_progress ev
          = { .status = line, .has_detail = true, .current = -1, .total = -1, .aux = aux };
      p->opts->progress (&ev, p->opts->progress_opaque);
    }
  out->reference = xstrdup (full);
  return 0;
}

int
registry_push (struct image_store *store, const char *ref, const struct registry_options *opts,
               struct registry_push_result *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  struct push p = { .store = store, .opts = opts };
  if (image_ref_parse (ref, IMAGE_REF_DEFAULT_TAG, &p.ref, err) < 0)
    return -1;
  if (p.ref->digest && p.ref->tag == NULL)
    {
      image_ref_free (p.ref);
      return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                   "push %s: cannot push a digest reference", ref);
    }
  int r = push_run (&p, out, err);
  if (r < 0)
    {
      _cleanup_free_ char *familiar = image_ref_familiar (p.ref);
      berth_error_prefix (err, "push %s", familiar);
      registry_push_result_clear (out);
    }
  push_clear (&p);
  return r;
}
