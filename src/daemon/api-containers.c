/* Container endpoints that read or reshape records: create, list (with
 * docker's filters), inspect, rename, update, prune; and the route table of
 * the containers module. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/volumes.h"
#include "image/image.h"

int container_mounts_plan (struct containers *cs, struct container *c, struct berth_error **err);

static const char *
str_of (const json_t *j, const char *k)
{
  json_t *v = json_object_get (j, k);
  return json_is_string (v) ? json_string_value (v) : "";
}

static struct container *
lookup_or_respond (struct api_request *req, struct containers **cs_out)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  *cs_out = cs;
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_param (req, "id"), &err);
  if (c == NULL)
    api_respond_error (req, err);
  return c;
}

static int
name_conflict (struct containers *cs, const char *name, struct berth_error **err)
{
  struct container *other = containers_find_by_name (cs, name);
  if (other == NULL)
    return 0;
  return berth_error_set_kind (
      err, BERTH_E_CONFLICT, 0,
      "Conflict. The container name \"%s\" is already in use by container \"%s\". You have to "
      "remove (or rename) that container to be able to reuse that name.",
      name, other->id);
}

/* ------------------------------------------------------------- create -- */

static void
create_cleanup (struct containers *cs, struct container *c, bool dir_made)
{
  _cleanup_error_ struct berth_error *ignored = NULL;
  if (cs->d->images)
    image_snapshot_remove (cs->d->images, c->id, &ignored);
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m) if (strcmp (str_of (m, "Type"), "volume") == 0)
  {
    volume_unref (cs->d, str_of (m, "Name"), c->id);
    if (json_is_true (json_object_get (m, "Anonymous")))
      {
        berth_error_freep (&ignored);
        volume_remove (cs->d, str_of (m, "Name"), false, &ignored);
      }
  }
  berth_error_freep (&ignored);
  if (dir_made)
    {
      char tmp[SHA256_HEX_LEN + 8];
      snprintf (tmp, sizeof tmp, ".new-%s", c->id);
      fs_rm_rf_at (cs->dirfd, tmp, &ignored);
    }
}

static struct container *
container_create (struct containers *cs, const json_t *body, const char *name,
                  struct berth_error **err)
{
  return containers_create_with (cs, body, name, NULL, err);
}

struct container *
containers_create_with (struct containers *cs, const json_t *body, const char *name,
                        const char *adopt_id, struct berth_error **err)
{
  _cleanup_container_ struct container *c = container_new ();
  _cleanup_json_ json_t *image_cfg = NULL;
  if (container_create_body_parse (body, &c->config, &c->host_config, &c->networking, err) < 0)
    return NULL;
  if (container_network_hooks.validate && container_network_hooks.validate (cs->d, c, err) < 0)
    return NULL;
  if (container_ipc_donor_resolve (cs, c->host_config, err) < 0)
    return NULL;
  if (name && *name)
    {
      c->name = container_name_normalize (name, err);
      if (c->name == NULL || name_conflict (cs, c->name, err) < 0)
        return NULL;
    }
  else
    for (unsigned retry = 0; c->name == NULL || containers_find_by_name (cs, c->name); retry++)
      {
        free (c->name);
        c->name = container_name_generate (retry);
      }
  if (cs->d->images == NULL)
    {
      berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "the image store is not open");
      return NULL;
    }
  const char *image = str_of (c->config, "Image");
  if (image_resolve (cs->d->images, image, &c->image_id, err) < 0)
    return NULL;
  if (image_config (cs->d->images, c->image_id, &image_cfg, err) < 0)
    return NULL;
  if (container_config_merge_image (c->config, json_object_get (image_cfg, "config"), &c->path,
                                    &c->args, err)
      < 0)
    return NULL;
  c->image_ref = xstrdup (image);
  char id[SHA256_HEX_LEN + 1];
  if (adopt_id)
    {
      if (strlen (adopt_id) != SHA256_HEX_LEN || containers_lookup (cs, adopt_id, NULL) != NULL
          || !image_snapshot_exists (cs->d->images, adopt_id))
        {
          berth_error_set_kind (err, BERTH_E_CONFLICT, 0, "cannot adopt snapshot %s as a container", adopt_id);
          return NULL;
        }
      memcpy (id, adopt_id, sizeof id);
    }
  else
    do
      random_id_hex (id);
    while (containers_lookup (cs, id, NULL) != NULL);
  memcpy (c->id, id, sizeof id);
  c->created_ns = time_now_ns ();
  c->state.status = CONTAINER_CREATED;
  if (json_object_get (c->config, "Healthcheck"))
    {
      json_t *test = json_object_get (json_object_get (c->config, "Healthcheck"), "Test");
      if (json_array_size (test) > 0
          && strcmp (json_string_value (json_array_get (test, 0)), "NONE") != 0)
        {
          c->state.health.status = xstrdup ("starting");
          c->state.health.log = json_array ();
        }
    }
  /* The record is made under .new-<id> and appears by one rename once
   * whole: a berthd killed before that leaves a .new- dir (and maybe the
   * snapshot) that the next start removes, never a record it cannot read. */
  char tmp[SHA256_HEX_LEN + 8];
  snprintf (tmp, sizeof tmp, ".new-%s", c->id);
  if (mkdirat (cs->dirfd, tmp, 0710) < 0)
    {
      berth_error_set (err, errno, "create the container's directory");
      return NULL;
    }
  c->dirfd = openat (cs->dirfd, tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *dir = container_data_dir (cs, c);
  if (strcmp (str_of (json_object_get (c->host_config, "LogConfig"), "Type"), "json-file") == 0)
    c->log_path = xasprintf ("%s/%s-json.log", dir, c->id);
  if (c->dirfd < 0 || (!adopt_id && image_snapshot_create (cs->d->images, c->id, c->image_id, err) < 0)
      || container_mounts_plan (cs, c, err) < 0 || container_save (c, err) < 0
      || renameat (cs->dirfd, tmp, cs->dirfd, c->id) < 0)
    {
      if (c->dirfd < 0 || (err && *err == NULL))
        berth_error_set (err, errno, "create the container's directory");
      create_cleanup (cs, c, true);
      return NULL;
    }
  struct container *out = steal_pointer (&c);
  containers_add (cs, out);
  return out;
}

static void
api_container_create (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *body = api_request_json (req, &err);
  if (body == NULL)
    {
      if (err)
        api_respond_error (req, err);
      else
        api_respond_errorf (req, 400, "config cannot be empty in order to create a container");
      return;
    }
  struct container *c = container_create (cs, body, api_request_query (req, "name"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  container_event (c, "create", NULL);
  api_respond_json (req, 201, json_pack ("{s:s,s:[]}", "Id", c->id, "Warnings"));
}

/* --------------------------------------------------------------- list -- */

static const char *const list_filters[]
    = { "label",   "name",   "id",      "status", "ancestor", "exited",
        "before",  "since",  "network", "volume", "health",   "isolation",
        "publish", "expose", "is-task", "label!", NULL };

static bool
match_any_regex (char *const *patterns, const char *s)
{
  for (char *const *p = patterns; *p; p++)
    {
      regex_t re;
      if (regcomp (&re, *p, REG_EXTENDED | REG_NOSUB) != 0)
        {
          if (strstr (s, *p))
            return true;
          continue;
        }
      bool ok = regexec (&re, s, 0, NULL, 0) == 0;
      regfree (&re);
      if (ok)
        return true;
    }
  return false;
}

static bool
match_filters (struct containers *cs, const struct container *c, const struct api_filters *f,
               uint64_t since_ns, uint64_t before_ns)
{
  if (api_filters_has (f, "id"))
    {
      bool ok = false;
      for (char *const *v = api_filters_values (f, "id"); *v; v++)
        ok |= str_has_prefix (c->id, *v);
      if (!ok)
        return false;
    }
  if (api_filters_has (f, "name") && !match_any_regex (api_filters_values (f, "name"), c->name))
    return false;
  if (!api_filters_match (f, "status", container_status_name (c->state.status)))
    return false;
  if (!api_filters_match_labels (f, "label", json_object_get (c->config, "Labels")))
    return false;
  if (api_filters_has (f, "label!")
      && api_filters_match_labels (f, "label!", json_object_get (c->config, "Labels")))
    return false;
  if (api_filters_has (f, "exited"))
    {
      if (c->state.status != CONTAINER_EXITED)
        return false;
      char code[16];
      snprintf (code, sizeof code, "%d", c->state.exit_code);
      if (!api_filters_match (f, "exited", code))
        return false;
    }
  if (api_filters_has (f, "ancestor"))
    {
      bool ok = false;
      for (char *const *v = api_filters_values (f, "ancestor"); *v && !ok; v++)
        {
          _cleanup_free_ char *id = NULL;
          if (strcmp (c->image_ref, *v) == 0)
            ok = true;
          else if (cs->d->images && image_resolve (cs->d->images, *v, &id, NULL) == 0)
            ok = strcmp (id, c->image_id) == 0;
        }
      if (!ok)
        return false;
    }
  if (api_filters_has (f, "network"))
    {
      const char *mode = str_of (c->host_config, "NetworkMode");
      const char *net = strcmp (mode, "default") == 0 ? "bridge" : mode;
      if (!api_filters_match (f, "network", net))
        return false;
    }
  if (api_filters_has (f, "volume"))
    {
      bool ok = false;
      size_t i;
      json_t *m;
      json_array_foreach (c->mounts, i, m) ok
          |= api_filters_match (f, "volume", str_of (m, "Name"))
             || api_filters_match (f, "volume", str_of (m, "Destination"));
      if (!ok)
        return false;
    }
  if (api_filters_has (f, "health"))
    {
      const char *h = c->state.health.status ? c->state.health.status : "none";
      if (!api_filters_match (f, "health", h))
        return false;
    }
  if (api_filters_has (f, "publish") || api_filters_has (f, "expose"))
    {
      const char *key = api_filters_has (f, "publish") ? "publish" : "expose";
      json_t *ports = strcmp (key, "publish") == 0
                          ? json_object_get (c->host_config, "PortBindings")
                          : json_object_get (c->config, "ExposedPorts");
      bool ok = false;
      for (char *const *v = api_filters_values (f, key); *v && !ok; v++)
        {
          _cleanup_free_ char *k = strchr (*v, '/') ? xstrdup (*v) : xasprintf ("%s/tcp", *v);
          ok = json_object_get (ports, k) != NULL;
        }
      if (!ok)
        return false;
    }
  if (since_ns && c->created_ns <= since_ns)
    return false;
  if (before_ns && c->created_ns >= before_ns)
    return false;
  return true;
}

static void
api_container_list (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  long long limit = -1;
  if (api_request_filters (req, list_filters, &f, &err) < 0
      || api_request_query_int (req, "limit", -1, &limit, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  bool all = api_request_query_bool (req, "all", false);
  bool size = api_request_query_bool (req, "size", false);
  for (char *const *v = api_filters_values (f, "status"); *v; v++)
    {
      enum container_status s;
      if (container_status_parse (*v, &s) < 0)
        {
          api_respond_errorf (req, 400, "Invalid filter 'status=%s'", *v);
          return;
        }
      all = true; /* docker: a status filter implies all */
    }
  if (api_filters_has (f, "exited"))
    all = true;
  uint64_t since_ns = 0, before_ns = 0;
  static const char *const rel[] = { "since", "before" };
  for (int k = 0; k < 2; k++)
    for (char *const *v = api_filters_values (f, rel[k]); *v; v++)
      {
        struct container *ref = containers_lookup (cs, *v, &err);
        if (ref == NULL)
          {
            api_respond_error (req, err);
            return;
          }
        if (k == 0)
          since_ns = ref->created_ns;
        else
          before_ns = ref->created_ns;
      }
  _cleanup_free_ struct container **sorted = calloc (cs->n_all + 1, sizeof *sorted);
  if (cs->n_all > 0)
    {
      memcpy (sorted, cs->all, cs->n_all * sizeof *sorted);
      qsort (sorted, cs->n_all, sizeof *sorted, containers_compare_created_desc);
    }
  json_t *out = json_array ();
  uint64_t now = time_now_ns ();
  for (size_t i = 0; i < cs->n_all; i++)
    {
      struct container *c = sorted[i];
      if (!all && limit <= 0 && since_ns == 0 && before_ns == 0 && !container_is_running (c))
        continue;
      if (!match_filters (cs, c, f, since_ns, before_ns))
        continue;
      if (limit > 0 && (long long)json_array_size (out) >= limit)
        break;
      json_t *entry = container_summary_json (c, now);
      containers_apply_network_settings (cs, c, entry, true);
      container_networks_for_version (
          c, json_object_get (json_object_get (entry, "NetworkSettings"), "Networks"),
          api_request_version (req), false);
      if (size)
        container_sizes_apply (cs, c, entry, true);
      json_array_append_new (out, entry);
    }
  api_respond_json (req, 200, out);
}

/* ------------------------------------------------------------ inspect -- */

static void
api_container_inspect (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_free_ char *etc_dir = container_etc_dir (cs, c);
  json_t *j = container_inspect_json (c, etc_dir);
  containers_apply_network_settings (cs, c, j, false);
  container_networks_for_version (
      c, json_object_get (json_object_get (j, "NetworkSettings"), "Networks"),
      api_request_version (req), true);
  /* the exec instances of this container */
  json_t *ids = exec_ids_of (cs, c);
  if (json_array_size (ids) == 0)
    {
      json_decref (ids);
      ids = json_null ();
    }
  json_object_set_new (j, "ExecIDs", ids);
  if (api_request_query_bool (req, "size", false))
    container_sizes_apply (cs, c, j, false);
  container_graph_data_apply (cs, c, j);
  api_respond_json (req, 200, j);
}

/* ------------------------------------------------------------- rename -- */

static void
api_container_rename (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  const char *name = api_request_query (req, "name");
  if (name == NULL || *name == '\0')
    {
      api_respond_errorf (req, 400, "Neither old nor new names may be empty");
      return;
    }
  _cleanup_free_ char *norm = container_name_normalize (name ? name : "", &err);
  if (norm == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  if (strcmp (norm, c->name) == 0)
    {
      api_respond_errorf (req, 400, "Renaming a container with the same name as its current name");
      return;
    }
  if (name_conflict (cs, norm, &err) < 0)
    {
      berth_error_prefix (&err, "Error when allocating new name"); /* dockerd's words */
      api_respond_error (req, err);
      return;
    }
  _cleanup_free_ char *old = steal_pointer (&c->name);
  c->name = steal_pointer (&norm);
  if (container_save (c, &err) < 0)
    {
      free (c->name);
      c->name = steal_pointer (&old);
      api_respond_error (req, err);
      return;
    }
  container_event (c, "rename", json_pack ("{s:s}", "oldName", old));
  api_respond_empty (req, 204);
}

/* ------------------------------------------------------------- update -- */

static void
api_container_update (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *body = api_request_json (req, &err);
  if (body == NULL || !json_is_object (body))
    {
      if (err)
        api_respond_error (req, err);
      else
        api_respond_errorf (req, 400, "update: the request body must be a JSON object");
      return;
    }
  static const char *const allowed[] = { "CpuShares",
                                         "Memory",
                                         "NanoCpus",
                                         "CpuPeriod",
                                         "CpuQuota",
                                         "CpusetCpus",
                                         "CpusetMems",
                                         "MemoryReservation",
                                         "MemorySwap",
                                         "PidsLimit",
                                         "BlkioWeight",
                                         "RestartPolicy",
                                         "KernelMemory",
                                         "CpuRealtimePeriod",
                                         "CpuRealtimeRuntime",
                                         "MemorySwappiness",
                                         "OomKillDisable",
                                         "Ulimits",
                                         "Devices",
                                         "DeviceCgroupRules",
                                         NULL };
  _cleanup_json_ json_t *hc = json_deep_copy (c->host_config);
  const char *k;
  json_t *v;
  json_object_foreach (body, k, v)
  {
    if (!strv_contains ((char *const *)allowed, k))
      continue;
    /* zero values mean "unchanged", as docker's update does */
    if ((json_is_integer (v) && json_integer_value (v) == 0)
        || (json_is_string (v) && !*json_string_value (v)) || json_is_null (v))
      continue;
    if (strcmp (k, "RestartPolicy") == 0 && !*str_of (v, "Name"))
      continue;
    json_object_set (hc, k, v);
  }
  if (json_object_get (body, "RestartPolicy") && json_is_true (json_object_get (hc, "AutoRemove"))
      && *str_of (json_object_get (body, "RestartPolicy"), "Name")
      && strcmp (str_of (json_object_get (body, "RestartPolicy"), "Name"), "no") != 0)
    {
      api_respond_errorf (
          req, 400,
          "Restart policy cannot be updated because AutoRemove is enabled for the container");
      return;
    }
  if (container_host_config_validate (hc, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  if (container_is_running (c))
    {
      _cleanup_json_ json_t *res = container_oci_resources (hc);
      json_object_del (res, "devices");
      if (runtime_container_update (&cs->rt, c->id, res, &err) < 0)
        {
          berth_error_prefix (&err, "Cannot update container %s", c->id);
          api_respond_error (req, err);
          return;
        }
    }
  json_decref (c->host_config);
  c->host_config = json_incref (hc);
  c->host_config_saved = false;
  if (container_save (c, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  container_event (c, "update", NULL);
  api_respond_json (req, 200, json_pack ("{s:n}", "Warnings")); /* dockerd: none is null */
}

/* -------------------------------------------------------------- prune -- */

static void
api_container_prune (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  static const char *const allowed[] = { "until", "label", "label!", NULL };
  if (api_request_filters (req, allowed, &f, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  uint64_t until_ns = 0;
  for (char *const *v = api_filters_values (f, "until"); *v; v++)
    {
      struct timespec ts;
      char *end;
      double secs = strtod (*v, &end);
      if (*end == '\0')
        until_ns = (uint64_t)(secs * 1e9);
      else if (time_parse_rfc3339 (*v, &ts) == 0)
        until_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
      else
        {
          api_respond_errorf (req, 400, "invalid filter 'until=%s'", *v);
          return;
        }
    }
  json_t *deleted = json_array ();
  for (size_t i = cs->n_all; i-- > 0;)
    {
      if (i >= cs->n_all)
        continue;
      struct container *c = cs->all[i];
      if (container_is_running (c) || c->state.status == CONTAINER_REMOVING
          || container_rt (c)->starting)
        continue;
      if (until_ns && c->created_ns >= until_ns)
        continue;
      if (!api_filters_match_labels (f, "label", json_object_get (c->config, "Labels")))
        continue;
      if (api_filters_has (f, "label!")
          && api_filters_match_labels (f, "label!", json_object_get (c->config, "Labels")))
        continue;
      char id[SHA256_HEX_LEN + 1];
      memcpy (id, c->id, sizeof id);
      berth_error_freep (&err);
      if (container_remove (cs, c, false, &err) == 0)
        json_array_append_new (deleted, json_string (id));
    }
  daemon_event_emit ("container", "prune", "", json_pack ("{s:s}", "reclaimed", "0"));
  if (json_array_size (deleted) == 0) /* dockerd: none is null */
    {
      json_decref (deleted);
      deleted = json_null ();
    }
  api_respond_json (req, 200,
                    json_pack ("{s:o,s:i}", "ContainersDeleted", deleted, "SpaceReclaimed", 0));
}

/* ------------------------------------------------------------- routes -- */

void api_container_attach (struct api_request *req);
void api_container_resize (struct api_request *req);
void api_container_start (struct api_request *req);
void api_container_stop (struct api_request *req);
void api_container_restart (struct api_request *req);
void api_container_kill (struct api_request *req);
void api_container_wait (struct api_request *req);
void api_container_delete (struct api_request *req);
void api_container_pause (struct api_request *req);
void api_container_unpause (struct api_request *req);
void api_container_top (struct api_request *req);
void api_container_stats (struct api_request *req);
void api_container_logs (struct api_request *req);
void api_container_changes (struct api_request *req);
void api_container_export (struct api_request *req);
void api_container_archive_get (struct api_request *req);
void api_container_archive_put (struct api_request *req);
void api_commit (struct api_request *req);
void api_exec_create (struct api_request *req);
void api_exec_start (struct api_request *req);
void api_exec_inspect (struct api_request *req);
void api_exec_resize (struct api_request *req);
void containers_register_routes (struct berthd *d, struct api_router *r);

void
containers_register_routes (struct berthd *d, struct api_router *r)
{
  api_route_add (r, "POST", "/containers/create", api_container_create, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/json", api_container_list, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/prune", api_container_prune, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/json", api_container_inspect, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/rename", api_container_rename, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/update", api_container_update, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/attach", api_container_attach, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/resize", api_container_resize, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/start", api_container_start, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/stop", api_container_stop, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/restart", api_container_restart, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/kill", api_container_kill, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/wait", api_container_wait, API_ROUTE_NONE);
  api_route_add (r, "DELETE", "/containers/{id}", api_container_delete, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/pause", api_container_pause, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/unpause", api_container_unpause, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/top", api_container_top, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/stats", api_container_stats, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/logs", api_container_logs, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/changes", api_container_changes, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/export", api_container_export, API_ROUTE_NONE);
  api_route_add (r, "GET", "/containers/{id}/archive", api_container_archive_get, API_ROUTE_NONE);
  api_route_add (r, "HEAD", "/containers/{id}/archive", api_container_archive_get, API_ROUTE_NONE);
  api_route_add (r, "PUT", "/containers/{id}/archive", api_container_archive_put,
                 API_ROUTE_RAW_BODY);
  api_route_add (r, "POST", "/commit", api_commit, API_ROUTE_NONE);
  api_route_add (r, "POST", "/containers/{id}/exec", api_exec_create, API_ROUTE_NONE);
  api_route_add (r, "POST", "/exec/{id}/start", api_exec_start, API_ROUTE_NONE);
  api_route_add (r, "GET", "/exec/{id}/json", api_exec_inspect, API_ROUTE_NONE);
  api_route_add (r, "POST", "/exec/{id}/resize", api_exec_resize, API_ROUTE_NONE);
}
