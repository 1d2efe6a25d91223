/* registry_pull: resolve a reference to a manifest (through a manifest list
 * or OCI index for the wanted platform), fetch and verify the config, stream
 * the missing layers in parallel into the store, then record the image, as
 * `docker pull` does and with its progress messages. */
#include "registry/registry-internal.h"
#include "image/image.h"

#include <string.h>

#define MANIFEST_ACCEPT                                                                            \
  "Accept: " IMAGE_MT_DOCKER_MANIFEST ", " IMAGE_MT_DOCKER_MANIFEST_LIST                           \
  ", " IMAGE_MT_OCI_MANIFEST ", " IMAGE_MT_OCI_INDEX

void
registry_pull_result_clear (struct registry_pull_result *r)
{
  free (r->reference);
  free (r->manifest_digest);
  free (r->image_id);
  memset (r, 0, sizeof *r);
}

struct fetched_manifest
{
  char *data;
  size_t len;
  char *content_type;
  char *digest;
};

static void
fetched_manifest_clear (struct fetched_manifest *m)
{
  free (m->data);
  free (m->content_type);
  free (m->digest);
  memset (m, 0, sizeof *m);
}

/* GET /v2/<path>/manifests/<tag or digest>. By digest, the bytes must hash
 * to it; by tag, a Docker-Content-Digest that disagrees with the bytes is
 * refused (a registry is never trusted). */
static int
registry_manifest_fetch (struct registry_client *c, const char *path, const char *reference,
                         struct fetched_manifest *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  _cleanup_free_ char *scope = registry_scope (path, "pull");
  _cleanup_free_ char *url = xasprintf ("/v2/%s/manifests/%s", path, reference);
  char *const headers[] = { MANIFEST_ACCEPT, NULL };
  struct registry_request req = { .method = "GET", .url = url, .scope = scope, .headers = headers };
  struct registry_response resp;
  if (registry_client_do (c, &req, &resp, err) < 0)
    return -1;
  if (resp.status != 200)
    {
      int r;
      if (resp.status == 404)
        r = berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                  "manifest for %s/%s:%s not found: manifest unknown", c->domain,
                                  path, reference);
      else if (resp.status == 401 || resp.status == 403)
        r = berth_error_set_kind (err,
                                  resp.status == 401 ? BERTH_E_UNAUTHORIZED : BERTH_E_FORBIDDEN, 0,
                                  "pull access denied for %s/%s, repository does not exist or may "
                                  "require 'docker login'",
                                  c->domain, path);
      else
        {
          _cleanup_free_ char *what = xasprintf ("manifest %s", reference);
          r = registry_error_from_response (&resp, err, what);
        }
      registry_response_clear (&resp);
      return r;
    }
  char *got = sha256_digest (resp.body ? resp.body : "", resp.body_len);
  const char *want = digest_is_valid (reference) ? reference : resp.content_digest;
  if (want && digest_is_valid (want) && strcmp (got, want) != 0)
    {
      berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                            "manifest %s: digest mismatch: the content hashes to %s, expected %s",
                            reference, got, want);
      registry_response_clear (&resp);
      free (got);
      return -1;
    }
  out->data = resp.body ? resp.body : xstrdup ("");
  out->len = resp.body_len;
  out->content_type = resp.content_type;
  out->digest = got;
  resp.body = NULL;
  resp.content_type = NULL;
  registry_response_clear (&resp);
  return 0;
}

/* rootfs.diff_ids of a config, checked against the manifest's layer count. */
static char **
config_diff_ids (const char *config, size_t len, size_t n_layers, struct berth_error **err)
{
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (config, len, 0, &jerr);
  if (!json_is_object (j))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "image config: not a JSON object");
      return NULL;
    }
  json_t *ids = json_object_get (json_object_get (j, "rootfs"), "diff_ids");
  if (!json_is_array (ids))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "image config: rootfs.diff_ids missing");
      return NULL;
    }
  if (json_array_size (ids) != n_layers)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "image config: %zu rootfs.diff_ids for %zu layers in the manifest",
                            json_array_size (ids), n_layers);
      return NULL;
    }
  char **out = calloc (n_layers + 1, sizeof *out);
  if (out == NULL)
    abort ();
  for (size_t i = 0; i < n_layers; i++)
    {
      const char *s = json_string_value (json_array_get (ids, i));
      if (s == NULL || !digest_is_valid (s))
        {
          strv_freep (&out);
          berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                "image config: rootfs.diff_ids[%zu]: not a sha256 digest", i);
          return NULL;
        }
      out[i] = xstrdup (s);
    }
  return out;
}

struct pull
{
  struct image_store *store;
  const struct registry_options *opts;
  struct image_ref *ref;
  struct registry_client *c;
  struct fetched_manifest index;    /* when the reference named a list/index */
  struct fetched_manifest manifest; /* the platform's image manifest */
  struct image_manifest *m;
  char *config;
  size_t config_len;
  char **diff_ids;
};

static void
pull_clear (struct pull *p)
{
  image_ref_free (p->ref);
  registry_client_free (p->c);
  fetched_manifest_clear (&p->index);
  fetched_manifest_clear (&p->manifest);
  if (p->m)
    image_manifest_free (p->m);
  free (p->config);
  strv_freep (&p->diff_ids);
}

static int
emit (struct pull *p, const char *status, const char *id)
{
  if (registry_progress_emit (p->opts, status, id, false, -1, -1) != 0)
    return berth_error_set_kind (NULL, BERTH_E_INTERNAL, ECANCELED, "canceled");
  return 0;
}

/* Manifest (through an index when there is one), then its parsed form. */
static int
pull_resolve_manifest (struct pull *p, struct berth_error **err)
{
  const char *reference = p->ref->digest ? p->ref->digest : p->ref->tag;
  struct fetched_manifest first;
  if (registry_manifest_fetch (p->c, p->ref->path, reference, &first, err) < 0)
    return -1;
  enum image_manifest_kind kind
      = image_manifest_kind_of (first.data, first.len, first.content_type);
  if (!image_manifest_kind_is_index (kind))
    {
      p->manifest = first;
    }
  else
    {
      p->index = first;
      _cleanup_image_manifest_ struct image_manifest *idx = NULL;
      if (image_manifest_parse (p->index.data, p->index.len, p->index.content_type, &idx, err) < 0)
        return berth_error_prefix (err, "manifest list %s", p->index.digest);
      struct image_platform want = { 0 };
      bool has_want = false;
      if (p->opts && p->opts->platform && *p->opts->platform)
        {
          if (image_platform_parse (p->opts->platform, &want, err) < 0)
            return -1;
          has_want = true;
        }
      ssize_t i = image_manifest_select (idx, has_want ? &want : NULL, err);
      image_platform_clear (&want);
      if (i < 0)
        return -1;
      if (registry_manifest_fetch (p->c, p->ref->path, idx->manifests[i].digest, &p->manifest, err)
          < 0)
        return -1;
    }
  if (image_manifest_parse (p->manifest.data, p->manifest.len, p->manifest.content_type, &p->m, err)
      < 0)
    return berth_error_prefix (err, "manifest %s", p->manifest.digest);
  if (image_manifest_kind_is_index (p->m->kind))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "manifest %s: an index inside an index is not supported",
                                 p->manifest.digest);
  return 0;
}

/* A single-platform manifest asked for with --platform must be that
 * platform (docker: "image with reference … was found but does not match
 * the specified platform"). Indexes were already selected by platform. */
static int
pull_check_platform (struct pull *p, struct berth_error **err)
{
  if (p->index.data || p->opts == NULL || p->opts->platform == NULL || !*p->opts->platform)
    return 0;
  struct image_platform want = { 0 };
  if (image_platform_parse (p->opts->platform, &want, err) < 0)
    return -1;
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb (p->config, p->config_len, 0, &jerr);
  const char *os = json_string_value (json_object_get (j, "os"));
  const char *arch = json_string_value (json_object_get (j, "architecture"));
  const char *variant = json_string_value (json_object_get (j, "variant"));
  bool ok = os && arch && !strcmp (os, want.os) && !strcmp (arch, want.architecture)
            && (want.variant == NULL || (variant && !strcmp (variant, want.variant)));
  int r = 0;
  if (!ok)
    {
      _cleanup_free_ char *w = image_platform_string (&want);
      r = berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0,
                                "image with reference %s/%s was found but does not match the "
                                "specified platform: wanted %s, actual: %s/%s%s%s",
                                p->ref->domain, p->ref->path, w, os ? os : "?", arch ? arch : "?",
                                variant ? "/" : "", variant ? variant : "");
    }
  image_platform_clear (&want);
  return r;
}

static int
pull_config (struct pull *p, struct berth_error **err)
{
  const char *digest = p->m->config.digest;
  if (image_blob_exists (p->store, digest))
    {
      if (image_blob_read (p->store, digest, &p->config, &p->config_len, err) < 0)
        return -1;
    }
  else if (registry_blob_fetch_small (p->c, p->ref->path, digest, &p->config, &p->config_len, err)
           < 0)
    return -1;
  p->diff_ids = config_diff_ids (p->config, p->config_len, p->m->n_layers, err);
  if (p->diff_ids == NULL)
    return berth_error_prefix (err, "config %s", digest);
  return pull_check_platform (p, err);
}

static int
pull_layers (struct pull *p, struct berth_error **err)
{
  size_t n = p->m->n_layers;
  _cleanup_free_ struct registry_layer_job *jobs = calloc (n ? n : 1, sizeof *jobs);
  if (jobs == NULL)
    abort ();
  size_t n_jobs = 0;
  for (size_t i = 0; i < n; i++)
    {
      const struct image_descriptor *d = &p->m->layers[i];
      char short_id[13];
      registry_short_id (d->digest, short_id);
      if (d->urls && strstr (d->media_type, "foreign"))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "layer %s: foreign layers (urls) are not supported",
                                     d->digest);
      bool is_dup = false;
      for (size_t k = 0; k < n_jobs; k++)
        if (!strcmp (jobs[k].diff_id, p->diff_ids[i]))
          is_dup = true;
      if (is_dup)
        continue;
      if (image_layer_exists (p->store, p->diff_ids[i]))
        {
          if (registry_progress_emit (p->opts, "Already exists", short_id, true, -1, -1) != 0)
            return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "pull canceled");
          continue;
        }
      struct registry_layer_job *j = &jobs[n_jobs++];
      j->digest = d->digest;
      j->size = d->size;
      j->media_type = d->media_type;
      j->diff_id = p->diff_ids[i];
      memcpy (j->short_id, short_id, sizeof short_id);
      if (registry_progress_emit (p->opts, "Pulling fs layer", short_id, true, -1, -1) != 0)
        return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "pull canceled");
    }
  return registry_layers_fetch (p->c, p->store, p->ref->path, jobs, n_jobs, err);
}

/* Blobs first, the image record last: a crash in between leaves
 * unreferenced blobs for gc, never an image with missing parts. */
static int
pull_commit (struct pull *p, struct registry_pull_result *out, struct berth_error **err)
{
  if (image_blob_put (p->store, p->config, p->config_len, p->m->config.digest, NULL, err) < 0
      || image_blob_put (p->store, p->manifest.data, p->manifest.len, p->manifest.digest, NULL, err)
             < 0)
    return -1;
  if (p->index.data
      && image_blob_put (p->store, p->index.data, p->index.len, p->index.digest, NULL, err) < 0)
    return -1;
  const char *repo_digest = p->index.data ? p->index.digest : p->manifest.digest;
  _cleanup_free_ char *name = image_ref_name (p->ref);
  _cleanup_free_ char *by_tag = p->ref->tag ? xasprintf ("%s:%s", name, p->ref->tag) : NULL;
  _cleanup_free_ char *by_digest = xasprintf ("%s@%s", name, repo_digest);
  _cleanup_free_ char *old_id = NULL;
  image_resolve (p->store, by_tag ? by_tag : by_digest, &old_id, NULL);
  _cleanup_free_ char *old_digest_id = NULL;
  image_resolve (p->store, by_digest, &old_digest_id, NULL);
  struct image_add_options add = { .config_digest = p->m->config.digest,
                                   .manifest_digest = p->manifest.digest,
                                   .repo_digest = repo_digest,
                                   .ref = p->ref };
  _cleanup_free_ char *id = NULL;
  if (image_store_add (p->store, &add, &id, err) < 0)
    return -1;
  out->image_id = xstrdup (id);
  out->manifest_digest = xstrdup (repo_digest);
  out->was_up_to_date
      = old_id && !strcmp (old_id, id) && old_digest_id && !strcmp (old_digest_id, id);
  return 0;
}

static int
pull_run (struct pull *p, struct registry_pull_result *out, struct berth_error **err)
{
  p->c = registry_client_new (p->ref->domain, p->opts, err);
  if (p->c == NULL)
    return -1;
  /* docker: {"status":"Pulling from library/busybox","id":"latest"} */
  _cleanup_free_ char *from = xasprintf ("Pulling from %s", p->ref->path);
  if (emit (p, from, p->ref->digest ? p->ref->digest : p->ref->tag) < 0)
    return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "pull canceled");
  if (pull_resolve_manifest (p, err) < 0 || pull_config (p, err) < 0 || pull_layers (p, err) < 0
      || pull_commit (p, out, err) < 0)
    return -1;
  _cleanup_free_ char *familiar = image_ref_familiar (p->ref);
  _cleanup_free_ char *digest_line = xasprintf ("Digest: %s", out->manifest_digest);
  _cleanup_free_ char *status_line
      = xasprintf (out->was_up_to_date ? "Status: Image is up to date for %s"
                                       : "Status: Downloaded newer image for %s",
                   familiar);
  emit (p, digest_line, NULL);
  emit (p, status_line, NULL);
  out->reference = image_ref_string (p->ref);
  return 0;
}

int
registry_pull (struct image_store *store, const char *ref, const struct registry_options *opts,
               struct registry_pull_result *out, struct berth_error **err)
{
  memset (out, 0, sizeof *out);
  struct pull p = { .store = store, .opts = opts };
  if (image_ref_parse (ref, IMAGE_REF_DEFAULT_TAG, &p.ref, err) < 0)
    return -1;
  int r = pull_run (&p, out, err);
  if (r < 0)
    {
      _cleanup_free_ char *familiar = image_ref_familiar (p.ref);
      berth_error_prefix (err, "pull %s", familiar);
      registry_pull_result_clear (out);
    }
  pull_clear (&p);
  return r;
}
