/* Volume endpoints (trace 10 and 14): create, list with filters, inspect,
 * remove (409 while a container uses the volume), prune. */
#include "daemon/api-internal.h"
#include "daemon/volumes-internal.h"

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
check_string_field (json_t *body, const char *key, const char **out, struct berth_error **err)
{
  json_t *v = json_object_get (body, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: expected a string", key);
  *out = json_string_value (v);
  return 0;
}

static void
handle_create (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *body = api_request_json (req, &err);
  if (err)
    return api_respond_error (req, err);
  if (body && !json_is_object (body))
    {
      berth_error_set_kind (&err, BERTH_E_INVALID, 0, "request body: expected a JSON object");
      return api_respond_error (req, err);
    }
  const char *name = NULL, *driver = NULL;
  if (check_string_field (body, "Name", &name, &err) < 0
      || check_string_field (body, "Driver", &driver, &err) < 0)
    return api_respond_error (req, err);
  char rnd[SHA256_HEX_LEN + 1];
  bool anonymous = name == NULL || *name == '\0';
  if (driver && *driver && strcmp (driver, "local") != 0)
    {
      berth_error_set_kind (&err, BERTH_E_NOT_FOUND, 0,
                            "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                            anonymous ? "" : name, driver, driver);
      return api_respond_error (req, err);
    }
  if (anonymous)
    {
      random_id_hex (rnd);
      name = rnd;
    }
  struct volume *v = NULL;
  if (volume_create (d, name, json_object_get (body, "Labels"),
                     json_object_get (body, "DriverOpts"), anonymous, &v, &err)
      < 0)
    return api_respond_error (req, err);
  api_respond_json (req, 201, volume_to_json (d, v));
}

static int
cmp_volumes (const void *a, const void *b)
{
  const struct volume *const *x = a, *const *y = b;
  return strcmp ((*x)->name, (*y)->name);
}

/* docker's filters.Match: the value is a regular expression (a plain name
 * matches as a substring). */
static bool
name_matches (const struct api_filters *f, const char *name)
{
  if (!api_filters_has (f, "name"))
    return true;
  for (char *const *p = api_filters_values (f, "name"); *p; p++)
    {
      regex_t re;
      if (regcomp (&re, *p, REG_EXTENDED | REG_NOSUB) == 0)
        {
          bool hit = regexec (&re, name, 0, NULL, 0) == 0;
          regfree (&re);
          if (hit)
            return true;
        }
      else if (strstr (name, *p))
        return true;
    }
  return false;
}

static const char *const list_filters[] = { "dangling", "driver", "label", "name", NULL };

static void
handle_list (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, list_filters, &f, &err) < 0)
    return api_respond_error (req, err);
  int dangling = api_filters_bool (f, "dangling", &err);
  if (dangling == -2)
    return api_respond_error (req, err);
  struct volume_store *vs = d->volumes;
  struct volume **sorted = calloc (vs->n + 1, sizeof *sorted);
  if (sorted == NULL)
    abort ();
  memcpy (sorted, vs->list, vs->n * sizeof *sorted);
  qsort (sorted, vs->n, sizeof *sorted, cmp_volumes);
  json_t *list = json_array ();
  for (size_t i = 0; i < vs->n; i++)
    {
      struct volume *v = sorted[i];
      bool in_use = v->refs && v->refs[0];
      if (dangling == 1 && in_use)
        continue;
      if (dangling == 0 && !in_use)
        continue;
      if (!api_filters_match (f, "driver", "local") || !name_matches (f, v->name)
          || !api_filters_match_labels (f, "label", v->labels))
        continue;
      json_array_append_new (list, volume_to_json (d, v));
    }
  free (sorted);
  api_respond_json (req, 200, json_pack ("{s:o,s:n}", "Volumes", list, "Warnings"));
}

static void
handle_inspect (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  const char *name = api_request_param (req, "name");
  struct volume *v = volume_find (d->volumes, name);
  if (v == NULL)
    return api_respond_errorf (req, 404, "get %s: no such volume", name);
  api_respond_json (req, 200, volume_to_json (d, v));
}

static void
handle_remove (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  bool force = api_request_query_bool (req, "force", false);
  if (volume_remove (d, api_request_param (req, "name"), force, &err) < 0)
    return api_respond_error (req, err);
  api_respond_empty (req, 204);
}

static const char *const prune_filters[] = { "label", "label!", "all", NULL };

static void
handle_prune (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_request_filters (req, prune_filters, &f, &err) < 0)
    return api_respond_error (req, err);
  int all = api_filters_bool (f, "all", &err);
  if (all == -2)
    return api_respond_error (req, err);
  /* API 1.42 (docker 23) changed prune to anonymous volumes only unless
   * all=true; older clients get the old behaviour (every unused volume). */
  bool only_anonymous = api_request_version (req) >= 142 && all != 1;
  json_t *deleted = json_array ();
  int64_t reclaimed = 0;
  struct volume_store *vs = d->volumes;
  _cleanup_strv_ char **victims = calloc (1, sizeof (char *));
  for (size_t i = 0; i < vs->n; i++)
    {
      struct volume *v = vs->list[i];
      if ((v->refs && v->refs[0]) || (only_anonymous && !v->anonymous))
        continue;
      if (!api_filters_match_labels (f, "label", v->labels)
          || !api_filters_match_labels (f, "label!", v->labels))
        continue;
      strv_append (&victims, v->name);
    }
  for (char **n = victims; *n; n++)
    {
      _cleanup_error_ struct berth_error *rm_err = NULL;
      _cleanup_free_ char *data = volume_path (d, *n, "_data");
      _cleanup_close_ int dfd = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int64_t size = dfd >= 0 ? volume_disk_usage (dfd) : 0;
      if (volume_remove (d, *n, false, &rm_err) < 0)
        {
          berth_log (BERTH_LOG_WARNING, "prune: %s", rm_err->msg);
          continue;
        }
      json_array_append_new (deleted, json_string (*n));
      reclaimed += size;
    }
  char reclaimed_text[32];
  snprintf (reclaimed_text, sizeof reclaimed_text, "%lld", (long long) reclaimed);
  daemon_event_emit ("volume", "prune", "", json_pack ("{s:s}", "reclaimed", reclaimed_text));
  api_respond_json (req, 200,
                    json_pack ("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
                               (json_int_t) reclaimed));
}

/* /system/df's "Volumes" (with UsageData). */
json_t *api_volumes_df (struct berthd *d, int64_t *total);

json_t *
api_volumes_df (struct berthd *d, int64_t *total)
{
  json_t *list = json_array ();
  *total = 0;
  struct volume_store *vs = d->volumes;
  for (size_t i = 0; vs && i < vs->n; i++)
    {
      struct volume *v = vs->list[i];
      _cleanup_free_ char *data = volume_path (d, v->name, "_data");
      _cleanup_close_ int dfd = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int64_t size = dfd >= 0 ? volume_disk_usage (dfd) : -1;
      if (size > 0)
        *total += size;
      json_t *j = volume_to_json (d, v);
      json_object_set_new (j, "UsageData",
                           json_pack ("{s:I,s:I}", "Size", (json_int_t) size, "RefCount",
                                      (json_int_t) strv_len (v->refs)));
      json_array_append_new (list, j);
    }
  return list;
}

static int
volumes_init (struct berthd *d, struct berth_error **err)
{
  return volumes_open (d, err);
}

static void
volumes_register (struct berthd *d, struct api_router *r)
{
  (void) d;
  api_route_add (r, "POST", "/volumes/create", handle_create, 0);
  api_route_add (r, "GET", "/volumes", handle_list, 0);
  api_route_add (r, "GET", "/volumes/{name}", handle_inspect, 0);
  api_route_add (r, "DELETE", "/volumes/{name}", handle_remove, 0);
  api_route_add (r, "POST", "/volumes/prune", handle_prune, 0);
}

BERTHD_MODULE (volumes_module) = {
  .name = "volumes",
  .order = 20,
  .init = volumes_init,
  .register_routes = volumes_register,
  .shutdown = volumes_close,
};
