/* The Engine API's views of an image: ImageInspect and image history, built
 * from the image record and its config blob, in docker's field names. */
#include "image/image-internal.h"

#include <string.h>

static json_t *
familiar_array (char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    {
      _cleanup_free_ char *f = image_ref_familiarize (*v);
      json_array_append_new (a, json_string (f));
    }
  return a;
}

static json_t *
get_or (json_t *obj, const char *key, json_t *dflt)
{
  json_t *v = json_object_get (obj, key);
  if (v && !json_is_null (v))
    {
      json_decref (dflt);
      return json_incref (v);
    }
  return dflt;
}

int
image_inspect (struct image_store *s, const char *id, json_t **out, struct berth_error **err)
{
  struct image_info *info = NULL;
  if (image_get (s, id, &info, err) < 0)
    return -1;
  _cleanup_json_ json_t *cfg = NULL;
  if (image_config (s, id, &cfg, err) < 0)
    {
      image_info_free (info);
      return -1;
    }
  /* overlay2's shape: the top layer is UpperDir, the others LowerDir (top
   * first, ':'-separated) */
  json_t *layers = json_array ();
  _cleanup_free_ char *lower = NULL;
  _cleanup_free_ char *upper = NULL;
  for (size_t i = 0; i < info->n_layers; i++)
    {
      json_array_append_new (layers, json_string (info->diff_ids[i]));
      char *dir = xasprintf ("%s/layers/%s/diff", s->root, info->diff_ids[i] + 7);
      if (upper)
        {
          char *nl = lower ? xasprintf ("%s:%s", upper, lower) : xstrdup (upper);
          free (lower);
          lower = nl;
          free (upper);
        }
      upper = dir;
    }
  json_t *graph_data = json_object ();
  if (lower)
    json_object_set_new (graph_data, "LowerDir", json_string (lower));
  if (upper)
    json_object_set_new (graph_data, "UpperDir", json_string (upper));
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (info->id));
  json_object_set_new (o, "RepoTags", familiar_array (info->repo_tags));
  json_object_set_new (o, "RepoDigests", familiar_array (info->repo_digests));
  json_object_set_new (o, "Parent", json_string (info->parent ? info->parent : ""));
  json_object_set_new (o, "Comment", get_or (cfg, "comment", json_string ("")));
  json_object_set_new (o, "Created", json_string (info->created));
  json_object_set_new (o, "Container", get_or (cfg, "container", json_string ("")));
  json_object_set_new (o, "ContainerConfig", get_or (cfg, "container_config", json_object ()));
  json_object_set_new (o, "DockerVersion", get_or (cfg, "docker_version", json_string ("")));
  json_object_set_new (o, "Author", get_or (cfg, "author", json_string ("")));
  json_object_set_new (o, "Config", get_or (cfg, "config", json_null ()));
  json_object_set_new (o, "Architecture", json_string (info->architecture));
  if (info->variant)
    json_object_set_new (o, "Variant", json_string (info->variant));
  json_object_set_new (o, "Os", json_string (info->os));
  json_object_set_new (o, "Size", json_integer (info->size));
  json_object_set_new (o, "VirtualSize", json_integer (info->size));
  json_object_set_new (o, "GraphDriver",
                       json_pack ("{s:o,s:s}", "Data", graph_data, "Name", "overlay2"));
  json_object_set_new (o, "RootFS", json_pack ("{s:s,s:o}", "Type", "layers", "Layers", layers));
  json_object_set_new (
      o, "Metadata",
      json_pack ("{s:s}", "LastTagTime",
                 info->last_tag_time ? info->last_tag_time : "0001-01-01T00:00:00Z"));
  image_info_free (info);
  *out = o;
  return 0;
}

int
image_history (struct image_store *s, const char *id, json_t **out, struct berth_error **err)
{
  struct image_info *info = NULL;
  if (image_get (s, id, &info, err) < 0)
    return -1;
  _cleanup_json_ json_t *cfg = NULL;
  if (image_config (s, id, &cfg, err) < 0)
    {
      image_info_free (info);
      return -1;
    }
  json_t *hist = json_object_get (cfg, "history");
  json_t *rows = json_array ();
  size_t layer = 0, i;
  json_t *h;
  /* docker walks history oldest first, giving each non-empty entry the next
   * layer's size, then prints newest first; only the top row has the id. */
  json_array_foreach (hist, i, h)
  {
    bool empty = json_is_true (json_object_get (h, "empty_layer"));
    int64_t size = 0;
    if (!empty && layer < info->n_layers)
      {
        _cleanup_error_ struct berth_error *e = NULL;
        size = image_layer_size (s, info->diff_ids[layer++], &e);
        if (size < 0)
          size = 0;
      }
    struct timespec ts = { 0 };
    const char *created = json_string_value (json_object_get (h, "created"));
    if (created)
      time_parse_rfc3339 (created, &ts);
    const char *by = json_string_value (json_object_get (h, "created_by"));
    const char *comment = json_string_value (json_object_get (h, "comment"));
    json_array_insert_new (rows, 0,
                           json_pack ("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
                                      (json_int_t)ts.tv_sec, "CreatedBy", by ? by : "", "Tags",
                                      "Size", (json_int_t)size, "Comment", comment ? comment : ""));
  }
  if (json_array_size (rows) == 0)
    {
      struct timespec ts = { 0 };
      time_parse_rfc3339 (info->created, &ts);
      json_array_append_new (rows, json_pack ("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "", "Created",
                                              (json_int_t)ts.tv_sec, "CreatedBy", "", "Tags",
                                              "Size", (json_int_t)info->size, "Comment", ""));
    }
  json_t *top = json_array_get (rows, 0);
  json_object_set_new (top, "Id", json_string (info->id));
  json_object_set_new (top, "Tags", familiar_array (info->repo_tags));
  /* docker names the rows that end each local parent image (commits,
   * builds) with that parent's id and tags; pulled history stays
   * "<missing>" */
  size_t n_rows = json_array_size (rows);
  char *parent = info->parent ? xstrdup (info->parent) : NULL;
  for (int depth = 0; parent && depth < 1000; depth++)
    {
      struct image_info *pi = NULL;
      _cleanup_json_ json_t *pcfg = NULL;
      _cleanup_error_ struct berth_error *e = NULL;
      if (image_get (s, parent, &pi, &e) < 0 || image_config (s, parent, &pcfg, &e) < 0)
        {
          image_info_free (pi);
          break;
        }
      size_t p_rows = json_array_size (json_object_get (pcfg, "history"));
      if (p_rows > 0 && p_rows <= n_rows)
        {
          json_t *row = json_array_get (rows, n_rows - p_rows);
          json_object_set_new (row, "Id", json_string (pi->id));
          json_object_set_new (row, "Tags", familiar_array (pi->repo_tags));
        }
      free (parent);
      parent = pi->parent ? xstrdup (pi->parent) : NULL;
      image_info_free (pi);
    }
  free (parent);
  image_info_free (info);
  *out = rows;
  return 0;
}
