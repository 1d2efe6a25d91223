/* Image endpoints over the image store (src/image/image.h): list with
 * filters, inspect, history, tag, remove, prune, /system/df and the image
 * count of /info. Transfers (pull, push, load, save, import, search, auth)
 * are in api-images-transfer.c. Slow store work (remove, prune) runs on the
 * worker pool; the store is thread-safe. */
#include "daemon/api-images.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers -- */

int64_t
images_time_unix (const char *rfc3339)
{
  struct timespec ts;
  if (rfc3339 && time_parse_rfc3339 (rfc3339, &ts) == 0)
    return (int64_t) ts.tv_sec;
  return 0;
}

/* An image's config "Labels" (new reference or NULL). */
static json_t *
image_labels (struct image_store *store, const char *id)
{
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (image_config (store, id, &cfg, &err) < 0)
    return NULL;
  json_t *labels = json_object_get (json_object_get (cfg, "config"), "Labels");
  return json_is_object (labels) && json_object_size (labels) > 0 ? json_incref (labels) : NULL;
}

static json_t *
familiar_list (char *const *refs)
{
  json_t *a = json_array ();
  for (char *const *r = refs; r && *r; r++)
    {
      _cleanup_free_ char *f = image_ref_familiarize (*r);
      json_array_append_new (a, json_string (f));
    }
  return a;
}

json_t *
images_summary (struct berthd *d, const struct image_info *info, int containers)
{
  json_t *j = json_object ();
  json_object_set_new (j, "Containers", json_integer (containers));
  json_object_set_new (j, "Created", json_integer (images_time_unix (info->created)));
  json_object_set_new (j, "Id", json_string (info->id));
  json_t *labels = image_labels (d->images, info->id);
  json_object_set_new (j, "Labels", labels ? labels : json_null ());
  json_object_set_new (j, "ParentId", json_string (info->parent ? info->parent : ""));
  bool tagged = info->repo_tags && info->repo_tags[0];
  bool digested = info->repo_digests && info->repo_digests[0];
  /* docker 20.10 shows untagged images as <none>:<none> (and <none>@<none>) */
  json_object_set_new (j, "RepoDigests",
                       digested ? familiar_list (info->repo_digests)
                       : tagged ? json_null ()
                                : json_pack ("[s]", "<none>@<none>"));
  json_object_set_new (j, "RepoTags", tagged ? familiar_list (info->repo_tags)
                                             : json_pack ("[s]", "<none>:<none>"));
  json_object_set_new (j, "SharedSize", json_integer (-1));
  json_object_set_new (j, "Size", json_integer (info->size));
  json_object_set_new (j, "VirtualSize", json_integer (info->size));
  return j;
}

void
images_respond_store_missing (struct api_request *req)
{
  api_respond_errorf (req, 500, "the image store is not open");
}

unsigned api_system_image_count (struct berthd *d);

unsigned
api_system_image_count (struct berthd *d)
{
  if (d->images == NULL)
    return 0;
  struct image_info **list = NULL;
  size_t n = 0;
  _cleanup_error_ struct berth_error *err = NULL;
  if (image_list (d->images, &list, &n, &err) < 0)
    return 0;
  image_info_list_free (list, n);
  return (unsigned) n;
}

/* ---------------------------------------------------------------- list -- */

/* docker's "reference" filter: a glob against the familiar name and the
 * familiar name:tag of each tag; the answer lists only matching tags. */
static bool
reference_tag_matches (const struct api_filters *f, const char *tag)
{
  for (char *const *t = (char *const[]){ (char *) tag, NULL }; *t; t++)
    {
      _cleanup_free_ char *fam = image_ref_familiarize (*t);
      _cleanup_free_ char *name = xstrdup (fam);
      char *colon = strrchr (name, ':');
      if (colon && !strchr (colon, '/'))
        *colon = '\0';
      for (char *const *p = api_filters_values (f, "reference"); *p; p++)
        if (fnmatch (*p, fam, FNM_PATHNAME) == 0 || fnmatch (*p, name, FNM_PATHNAME) == 0)
          return true;
    }
  return false;
}

/* Keep only the matching tags in info (false when none is left). */
static bool
reference_filter (const struct api_filters *f, struct image_info *info)
{
  if (!api_filters_has (f, "reference"))
    return true;
  char **kept = calloc (1, sizeof *kept);
  for (char **t = info->repo_tags; t && *t; t++)
    if (reference_tag_matches (f, *t))
      strv_append (&kept, *t);
  strv_freep (&info->repo_tags);
  info->repo_tags = kept;
  return kept[0] != NULL;
}

/* before/since name an image; compare creation times as docker does. */
static int
time_bound (struct berthd *d, const struct api_filters *f, const char *key, int64_t *out,
            struct berth_error **err)
{
  *out = -1;
  char *const *v = api_filters_values (f, key);
  if (v[0] == NULL)
    return 0;
  _cleanup_free_ char *id = NULL;
  if (image_resolve (d->images, v[0], &id, err) < 0)
    return -1;
  struct image_info *info = NULL;
  if (image_get (d->images, id, &info, err) < 0)
    return -1;
  *out = images_time_unix (info->created);
  image_info_free (info);
  return 0;
}

static const char *const list_filter_keys[]
    = { "before", "dangling", "label", "reference", "since", NULL };

static void
handle_list (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, list_filter_keys, &f, &err) < 0)
    return api_respond_error (req, err);
  int dangling = api_filters_bool (f, "dangling", &err);
  int64_t before, since;
  if (dangling == -2 || time_bound (d, f, "before", &before, &err) < 0
      || time_bound (d, f, "since", &since, &err) < 0)
    return api_respond_error (req, err);
  bool all = api_request_query_bool (req, "all", false);

  struct image_info **list = NULL;
  size_t n = 0;
  if (image_list (d->images, &list, &n, &err) < 0)
    return api_respond_error (req, err);
  json_t *out = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      struct image_info *info = list[i];
      bool tagged = info->repo_tags && info->repo_tags[0];
      if (!all && !tagged)
        {
          /* without all, untagged parents of other images are hidden */
          bool is_parent = false;
          for (size_t k = 0; k < n && !is_parent; k++)
            is_parent = list[k]->parent && strcmp (list[k]->parent, info->id) == 0;
          if (is_parent)
            continue;
        }
      if ((dangling == 1 && tagged) || (dangling == 0 && !tagged))
        continue;
      int64_t created = images_time_unix (info->created);
      if ((before >= 0 && created >= before) || (since >= 0 && created <= since))
        continue;
      if (!reference_filter (f, info))
        continue;
      if (api_filters_has (f, "label"))
        {
          _cleanup_json_ json_t *labels = image_labels (d->images, info->id);
          if (!api_filters_match_labels (f, "label", labels))
            continue;
        }
      json_array_append_new (out, images_summary (d, info, -1));
    }
  image_info_list_free (list, n);
  api_respond_json (req, 200, out);
}

/* ------------------------------------------------- inspect and history -- */

/* GET /images/{name}/json and /history: resolve the name, describe it. */
static void
respond_image_view (struct api_request *req,
                    int (*view) (struct image_store *, const char *, json_t **,
                                 struct berth_error **))
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *id = NULL;
  json_t *out = NULL;
  const char *name = api_request_param (req, "name");
  if (image_resolve (d->images, name, &id, &err) < 0)
    {
      /* dockerd's inspect says it twice: "no such image: x: No such
       * image: x:latest" */
      if (view == image_inspect && err->kind == BERTH_E_NOT_FOUND)
        berth_error_prefix (&err, "no such image: %s", name);
      return api_respond_error (req, err);
    }
  if (view (d->images, id, &out, &err) < 0)
    return api_respond_error (req, err);
  api_respond_json (req, 200, out);
}

static void
handle_inspect (struct api_request *req)
{
  respond_image_view (req, image_inspect);
}

static void
handle_history (struct api_request *req)
{
  respond_image_view (req, image_history);
}

/* ----------------------------------------------------------------- tag -- */

static void
handle_tag (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  _cleanup_error_ struct berth_error *err = NULL;
  const char *name = api_request_param (req, "name");
  const char *repo = api_request_query (req, "repo");
  const char *tag = api_request_query (req, "tag");
  if (repo == NULL || *repo == '\0')
    {
      berth_error_set_kind (&err, BERTH_E_INVALID, 0, "repository name must have at least one component");
      return api_respond_error (req, err);
    }
  /* docker: the repository must not carry a tag or digest of its own */
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  if (image_ref_parse (repo, IMAGE_REF_NAME_ONLY, &ref, &err) < 0)
    return api_respond_error (req, err);
  _cleanup_free_ char *target = xasprintf ("%s:%s", repo, tag && *tag ? tag : "latest");
  /* the tag alone, in docker's words (reference.WithTag) */
  _cleanup_image_ref_ struct image_ref *full = NULL;
  if (tag && *tag && image_ref_parse (target, 0, &full, &err) < 0)
    {
      berth_error_freep (&err);
      berth_error_set_kind (&err, BERTH_E_INVALID, 0, "invalid tag format");
      return api_respond_error (req, err);
    }
  _cleanup_free_ char *id = NULL;
  if (image_resolve (d->images, name, &id, &err) < 0
      || image_tag (d->images, id, target, &err) < 0)
    return api_respond_error (req, err);
  _cleanup_free_ char *fam = image_ref_familiarize (target);
  daemon_event_emit ("image", "tag", id, json_pack ("{s:s}", "name", fam));
  api_respond_empty (req, 201);
}

/* -------------------------------------------------------------- remove -- */

struct remove_job
{
  struct api_request *req;
  struct image_store *store;
  char *name;
  bool force, prune_all, is_prune;
  json_t *report;
  char *id; /* the image a name resolved to, for the untag events */
  struct berth_error *err;
};

static void
remove_work (void *arg)
{
  struct remove_job *j = arg;
  if (j->is_prune)
    image_prune (j->store, j->prune_all, &j->report, &j->err);
  else
    {
      _cleanup_error_ struct berth_error *ignored = NULL;
      image_resolve (j->store, j->name, &j->id, &ignored);
      image_remove (j->store, j->name, j->force, &j->report, &j->err);
    }
}

static void
remove_done (void *arg)
{
  struct remove_job *j = arg;
  if (j->err)
    api_respond_error (j->req, j->err);
  else
    {
      /* docker's events: untag and delete, one per item */
      json_t *items = j->is_prune ? json_object_get (j->report, "ImagesDeleted") : j->report;
      size_t i;
      json_t *item;
      json_array_foreach (items, i, item)
        {
          const char *untagged = json_string_value (json_object_get (item, "Untagged"));
          const char *deleted = json_string_value (json_object_get (item, "Deleted"));
          /* docker: untag's actor is the image, the name an attribute */
          if (untagged)
            daemon_event_emit ("image", "untag", j->id ? j->id : untagged,
                               json_pack ("{s:s}", "name", untagged));
          if (deleted)
            daemon_event_emit ("image", "delete", deleted, json_pack ("{s:s}", "name", deleted));
        }
      if (j->is_prune)
        daemon_event_emit ("image", "prune", "", NULL);
      api_respond_json (j->req, 200, json_incref (j->report ? j->report : json_array ()));
    }
  json_decref (j->report);
  berth_error_free (j->err);
  free (j->name);
  free (j->id);
  free (j);
}

static void
start_remove_job (struct api_request *req, struct remove_job *j)
{
  _cleanup_error_ struct berth_error *err = NULL;
  if (loop_worker_submit (api_request_daemon (req)->loop, remove_work, remove_done, j, &err) < 0)
    {
      api_respond_error (req, err);
      free (j->name);
      free (j);
    }
}

static void
handle_remove (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  struct remove_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->req = req;
  j->store = d->images;
  j->name = xstrdup (api_request_param (req, "name"));
  j->force = api_request_query_bool (req, "force", false);
  start_remove_job (req, j);
}

static const char *const prune_filter_keys[] = { "dangling", "until", "label", "label!", NULL };

static void
handle_prune (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  if (d->images == NULL)
    return images_respond_store_missing (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, prune_filter_keys, &f, &err) < 0)
    return api_respond_error (req, err);
  static const char *const unsupported[] = { "until", "label", "label!", NULL };
  for (const char *const *k = unsupported; *k; k++)
    if (api_filters_has (f, *k))
      return api_respond_errorf (req, 400, "image prune: the '%s' filter is not supported by berth", *k);
  int dangling = api_filters_bool (f, "dangling", &err);
  if (dangling == -2)
    return api_respond_error (req, err);
  struct remove_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->req = req;
  j->store = d->images;
  j->is_prune = true;
  /* docker: dangling=false prunes every image no container uses */
  j->prune_all = dangling == 0;
  start_remove_job (req, j);
}

/* ------------------------------------------------------------ system df -- */

json_t *api_volumes_df (struct berthd *d, int64_t *total);

static void
handle_df (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *images = json_array ();
  int64_t layers_size = 0;
  if (d->images)
    {
      struct image_info **list = NULL;
      size_t n = 0;
      if (image_list (d->images, &list, &n, &err) < 0)
        {
          json_decref (images);
          return api_respond_error (req, err);
        }
      _cleanup_strv_ char **seen = calloc (1, sizeof (char *));
      for (size_t i = 0; i < n; i++)
        {
          int containers = d->containers.image_use_count
                               ? (int) d->containers.image_use_count (d, list[i]->id)
                               : 0;
          json_t *s = images_summary (d, list[i], containers);
          /* SharedSize: bytes of layers other images use too */
          int64_t shared = 0;
          for (size_t l = 0; l < list[i]->n_layers; l++)
            {
              const char *diff = list[i]->diff_ids[l];
              _cleanup_error_ struct berth_error *e2 = NULL;
              int64_t size = image_layer_size (d->images, diff, &e2);
              if (size < 0)
                size = 0;
              bool other = false;
              for (size_t k = 0; k < n && !other; k++)
                if (k != i && list[k]->diff_ids && strv_contains (list[k]->diff_ids, diff))
                  other = true;
              if (other)
                shared += size;
              if (!strv_contains (seen, diff))
                {
                  strv_append (&seen, diff);
                  layers_size += size;
                }
            }
          json_object_set_new (s, "SharedSize", json_integer (shared));
          json_array_append_new (images, s);
        }
      image_info_list_free (list, n);
    }
  int64_t volumes_total = 0;
  json_t *volumes = api_volumes_df (d, &volumes_total);
  json_t *containers = d->containers.df_containers
                           ? d->containers.df_containers (d, api_request_version (req))
                           : json_array ();
  api_respond_json (req, 200,
                    json_pack ("{s:I,s:o,s:o,s:o,s:n,s:i}", "LayersSize",
                               (json_int_t) layers_size, "Images", images, "Containers",
                               containers, "Volumes", volumes, "BuildCache", "BuilderSize", 0));
}

/* -------------------------------------------------------------- module -- */

static int
images_init (struct berthd *d, struct berth_error **err)
{
  struct image_store_options opts = { .root = d->config.data_root };
  d->images = image_store_open (&opts, err);
  if (d->images == NULL)
    return berth_error_prefix (err, "image store %s", d->config.data_root);
  return 0;
}

static void
images_shutdown (struct berthd *d)
{
  image_store_close (d->images);
  d->images = NULL;
}

static void
images_register (struct berthd *d, struct api_router *r)
{
  (void) d;
  api_route_add (r, "GET", "/images/json", handle_list, 0);
  api_route_add (r, "GET", "/images/{name*}/json", handle_inspect, 0);
  api_route_add (r, "GET", "/images/{name*}/history", handle_history, 0);
  api_route_add (r, "POST", "/images/{name*}/tag", handle_tag, 0);
  api_route_add (r, "DELETE", "/images/{name*}", handle_remove, 0);
  api_route_add (r, "POST", "/images/prune", handle_prune, 0);
  api_route_add (r, "GET", "/system/df", handle_df, 0);
  images_transfer_register (r);
}

BERTHD_MODULE (images_module) = {
  .name = "images",
  .order = 10,
  .init = images_init,
  .register_routes = images_register,
  .shutdown = images_shutdown,
};
