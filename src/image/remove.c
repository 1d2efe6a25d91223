/* docker rmi and image prune: untag versus delete, docker's conflict rules
 * and messages (daemon/images/image_delete.go), and the release of layers
 * and blobs no image needs any more. */
#include "image/image-internal.h"

#include <fcntl.h>
#include <string.h>

static char *
short_id (const char *id)
{
  const char *h = str_has_prefix (id, "sha256:") ? id + 7 : id;
  return strndup (h, 12);
}

/* Every reference (tag keys and repo digests) of an image. */
static char **
image_refs (json_t *db, const char *id)
{
  char **v = calloc (1, sizeof (char *));
  if (v == NULL)
    abort ();
  const char *key;
  json_t *val;
  json_object_foreach (json_object_get (db, "tags"), key,
                       val) if (strcmp (json_string_value (val), id) == 0) strv_append (&v, key);
  size_t i;
  json_array_foreach (
      json_object_get (json_object_get (json_object_get (db, "images"), id), "repo_digests"), i,
      val) strv_append (&v, json_string_value (val));
  return v;
}

static char *
ref_repo (const char *r)
{
  size_t n = strcspn (r, "@");
  if (r[n] == '\0')
    {
      const char *colon = strrchr (r, ':');
      const char *slash = strrchr (r, '/');
      if (colon && (!slash || colon > slash))
        n = (size_t)(colon - r);
    }
  char *s = strndup (r, n);
  if (s == NULL)
    abort ();
  return s;
}

static bool
ref_is_digest (const char *r)
{
  return strchr (r, '@') != NULL;
}

/* docker's isSingleReference: at most one tag, and every reference in the
 * same repository. */
static bool
is_single_reference (char **refs)
{
  size_t n = strv_len (refs);
  if (n <= 1)
    return n == 1;
  const char *single = NULL;
  _cleanup_strv_ char **canon = calloc (1, sizeof (char *));
  for (char **r = refs; *r; r++)
    {
      if (ref_is_digest (*r))
        {
          _cleanup_free_ char *repo = ref_repo (*r);
          if (!strv_contains (canon, repo))
            strv_append (&canon, repo);
        }
      else if (single == NULL)
        single = *r;
      else
        return false;
    }
  if (single == NULL)
    single = refs[0];
  _cleanup_free_ char *repo = ref_repo (single);
  return strv_len (canon) == 1 && strv_contains (canon, repo);
}

static void
ref_remove (json_t *db, const char *id, const char *r)
{
  if (!ref_is_digest (r))
    {
      json_object_del (json_object_get (db, "tags"), r);
      return;
    }
  json_t *rd
      = json_object_get (json_object_get (json_object_get (db, "images"), id), "repo_digests");
  for (size_t i = json_array_size (rd); i-- > 0;)
    if (strcmp (json_string_value (json_array_get (rd, i)), r) == 0)
      json_array_remove (rd, i);
}

static void
report_add (json_t *report, const char *key, const char *value)
{
  if (report)
    {
      _cleanup_free_ char *f
          = strcmp (key, "Untagged") == 0 ? image_ref_familiarize (value) : xstrdup (value);
      json_array_append_new (report, json_pack ("{s:s}", key, f));
    }
}

/* Which container uses the image: the daemon's hook, else a snapshot made
 * from it (a container that exists, running or not). */
static bool
image_used_by (struct image_store *s, const char *id, char **container, bool *running)
{
  *running = false;
  if (s->in_use)
    return s->in_use (id, container, running, s->in_use_data);
  _cleanup_closedir_ DIR *d
      = fdopendir (openat (s->snapshotsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *img = NULL;
      _cleanup_error_ struct berth_error *err = NULL;
      if (image_snapshot_image (s, de->d_name, &img, &err) == 0 && img && strcmp (img, id) == 0)
        {
          *container = xstrdup (de->d_name);
          return true;
        }
    }
  return false;
}

static bool
has_children (json_t *db, const char *id)
{
  const char *k;
  json_t *rec;
  json_object_foreach (json_object_get (db, "images"), k, rec)
  {
    const char *p = json_string_value (json_object_get (rec, "parent"));
    if (p && strcmp (p, id) == 0)
      return true;
  }
  return false;
}

enum
{
  CONFLICT_HARD = 1,
  CONFLICT_SOFT = 2,
  CONFLICT_ACTIVE_REFERENCE = 4,
};

static int
check_conflict (struct image_store *s, json_t *db, const char *id, int mask, bool *used,
                struct berth_error **err)
{
  _cleanup_free_ char *sid = short_id (id);
  *used = false;
  if ((mask & CONFLICT_HARD) && has_children (db, id))
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "conflict: unable to delete %s (cannot be forced) - image has "
                                 "dependent child images",
                                 sid);
  _cleanup_free_ char *container = NULL;
  bool running = false;
  if (image_used_by (s, id, &container, &running))
    {
      *used = true;
      _cleanup_free_ char *cid = short_id (container);
      if (running && (mask & CONFLICT_HARD))
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "conflict: unable to delete %s (cannot be forced) - image "
                                     "is being used by running container %s",
                                     sid, cid);
      if (!running && (mask & CONFLICT_SOFT))
        return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                     "conflict: unable to delete %s (must be forced) - image is "
                                     "being used by stopped container %s",
                                     sid, cid);
    }
  _cleanup_strv_ char **refs = image_refs (db, id);
  if ((mask & CONFLICT_ACTIVE_REFERENCE) && strv_len (refs) > 1 && !is_single_reference (refs))
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "conflict: unable to delete %s (must be forced) - image is "
                                 "referenced in multiple repositories",
                                 sid);
  return 0;
}

/* docker lists the layers an rmi released as "Deleted: <chain id>", top
 * layer first. deleted_layers holds each deleted image's diff ids. */
static void
report_layers (json_t *report, json_t *deleted_layers, json_t *removed)
{
  size_t i;
  json_t *layers;
  json_t *seen = json_object ();
  json_array_foreach (deleted_layers, i, layers)
  {
    size_t n = json_array_size (layers);
    char **ids = calloc (n + 1, sizeof (char *));
    if (ids == NULL)
      abort ();
    for (size_t k = 0; k < n; k++)
      ids[k] = (char *)json_string_value (json_array_get (layers, k));
    for (size_t k = n; k-- > 0;)
      {
        bool gone = false;
        size_t r;
        json_t *v;
        json_array_foreach (removed, r, v) gone |= strcmp (json_string_value (v), ids[k]) == 0;
        _cleanup_free_ char *chain = image_chain_id (ids, k + 1);
        if (gone && !json_object_get (seen, chain))
          {
            json_object_set_new (seen, chain, json_true ());
            report_add (report, "Deleted", chain);
          }
      }
    free (ids);
  }
  json_decref (seen);
}

/* Delete the record (all its references first) and release its data. */
static int
delete_image (struct image_store *s, json_t *db, const char *id, bool force, bool quiet,
              json_t *report, json_t *deleted_layers, struct berth_error **err)
{
  int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
  bool used = false;
  _cleanup_error_ struct berth_error *conflict = NULL;
  if (check_conflict (s, db, id, mask, &used, &conflict) < 0)
    {
      /* docker's imageIsDangling: no references and no children */
      _cleanup_strv_ char **refs = image_refs (db, id);
      bool dangling = strv_len (refs) == 0 && !has_children (db, id);
      if (quiet && (!dangling || used))
        return 0;
      return berth_error_set_kind (err, conflict->kind, 0, "%s", conflict->msg);
    }
  _cleanup_strv_ char **refs = image_refs (db, id);
  for (char **r = refs; *r; r++)
    {
      ref_remove (db, id, *r);
      report_add (report, "Untagged", *r);
    }
  json_t *rec = json_object_get (json_object_get (db, "images"), id);
  json_array_append (deleted_layers, json_object_get (rec, "layers"));
  json_object_del (json_object_get (db, "images"), id);
  report_add (report, "Deleted", id);
  return 0;
}

static bool
is_id_prefix (const char *id, const char *s)
{
  const char *h = str_has_prefix (s, "sha256:") ? s + 7 : s;
  return *h && strncmp (id + 7, h, strlen (h)) == 0;
}

int
image_remove (struct image_store *s, const char *str, bool force, json_t **report_out,
              struct berth_error **err)
{
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  _cleanup_free_ char *id = NULL;
  if (image_resolve (s, str, &id, err) < 0)
    return -1;
  _cleanup_json_ json_t *report = json_array ();
  _cleanup_json_ json_t *deleted_layers = json_array ();
  _cleanup_strv_ char **refs = image_refs (db, id);
  _cleanup_free_ char *sid = short_id (id);
  bool removed_ref = false;

  if (!is_id_prefix (id, str))
    {
      /* A name: untag it (docker refuses, unless forced, when that would
       * leave a container's image dangling). */
      _cleanup_image_ref_ struct image_ref *ref = NULL;
      if (image_ref_parse (str, IMAGE_REF_DEFAULT_TAG, &ref, err) < 0)
        return -1;
      if (!force && is_single_reference (refs))
        {
          _cleanup_free_ char *container = NULL;
          bool running;
          if (image_used_by (s, id, &container, &running))
            {
              _cleanup_free_ char *cid = short_id (container);
              return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                           "conflict: unable to remove repository reference "
                                           "\"%s\" (must force) - container %s is using its "
                                           "referenced image %s",
                                           str, cid, sid);
            }
        }
      _cleanup_free_ char *name = image_ref_name (ref);
      _cleanup_free_ char *key = ref->digest ? xasprintf ("%s@%s", name, ref->digest)
                                             : xasprintf ("%s:%s", name, ref->tag);
      ref_remove (db, id, key);
      report_add (report, "Untagged", key);
      if (!ref->digest)
        {
          /* The last tag of a repository takes its digest references along. */
          strv_freep (&refs);
          refs = image_refs (db, id);
          bool tag_left = false;
          for (char **r = refs; *r; r++)
            {
              _cleanup_free_ char *repo = ref_repo (*r);
              tag_left |= !ref_is_digest (*r) && strcmp (repo, name) == 0;
            }
          if (!tag_left)
            for (char **r = refs; *r; r++)
              {
                _cleanup_free_ char *repo = ref_repo (*r);
                if (ref_is_digest (*r) && strcmp (repo, name) == 0)
                  {
                    ref_remove (db, id, *r);
                    report_add (report, "Untagged", *r);
                  }
              }
        }
      strv_freep (&refs);
      refs = image_refs (db, id);
      if (strv_len (refs) > 0)
        goto save;
      removed_ref = true;
    }
  else if (is_single_reference (refs))
    {
      int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
      bool used;
      if (check_conflict (s, db, id, mask, &used, err) < 0)
        return -1;
      for (char **r = refs; *r; r++)
        {
          ref_remove (db, id, *r);
          report_add (report, "Untagged", *r);
        }
    }
  else if (!force && strv_len (refs) > 1)
    return berth_error_set_kind (err, BERTH_E_CONFLICT, 0,
                                 "conflict: unable to delete %s (must be forced) - image is "
                                 "referenced in multiple repositories",
                                 sid);
  {
    json_t *rec = json_object_get (json_object_get (db, "images"), id);
    const char *p = json_string_value (json_object_get (rec, "parent"));
    _cleanup_free_ char *parent = p ? xstrdup (p) : NULL;
    if (delete_image (s, db, id, force, removed_ref, report, deleted_layers, err) < 0)
      return -1;
    /* docker rmi prunes parents left dangling (unless --no-prune) */
    while (parent && json_object_get (json_object_get (db, "images"), id) == NULL)
      {
        json_t *prec = json_object_get (json_object_get (db, "images"), parent);
        _cleanup_strv_ char **prefs = prec ? image_refs (db, parent) : NULL;
        if (prec == NULL || strv_len (prefs) > 0 || has_children (db, parent))
          break;
        const char *pp = json_string_value (json_object_get (prec, "parent"));
        _cleanup_free_ char *next = pp ? xstrdup (pp) : NULL;
        _cleanup_error_ struct berth_error *perr = NULL;
        if (delete_image (s, db, parent, false, true, report, deleted_layers, &perr) < 0
            || json_object_get (json_object_get (db, "images"), parent))
          break;
        free (parent);
        parent = steal_pointer (&next);
      }
  }
save:
  if (images_db_save (s, db, err) < 0)
    return -1;
  _cleanup_error_ struct berth_error *gcerr = NULL;
  _cleanup_json_ json_t *removed = json_array ();
  if (store_gc_locked (s, NULL, removed, &gcerr) < 0)
    berth_log (BERTH_LOG_WARNING, "release unreferenced data: %s", gcerr->msg);
  report_layers (report, deleted_layers, removed);
  if (report_out)
    *report_out = steal_pointer (&report);
  return 0;
}

int
image_prune (struct image_store *s, bool all, json_t **report_out, struct berth_error **err)
{
  STORE_LOCKED (s);
  _cleanup_json_ json_t *db = images_db_load (s, err);
  if (db == NULL)
    return -1;
  _cleanup_json_ json_t *deleted = json_array ();
  /* Repeat: deleting a child can make its parent prunable. */
  for (bool again = true; again;)
    {
      again = false;
      _cleanup_strv_ char **ids = calloc (1, sizeof (char *));
      const char *id;
      json_t *rec;
      json_object_foreach (json_object_get (db, "images"), id, rec) strv_append (&ids, id);
      for (char **i = ids; *i; i++)
        {
          _cleanup_strv_ char **refs = image_refs (db, *i);
          bool tagged = false;
          for (char **r = refs; *r; r++)
            tagged |= !ref_is_digest (*r);
          if (tagged && !all)
            continue;
          _cleanup_free_ char *c = NULL;
          bool running;
          if (image_used_by (s, *i, &c, &running) || has_children (db, *i))
            continue;
          for (char **r = refs; *r; r++)
            {
              ref_remove (db, *i, *r);
              report_add (deleted, "Untagged", *r);
            }
          json_object_del (json_object_get (db, "images"), *i);
          report_add (deleted, "Deleted", *i);
          again = true;
        }
    }
  if (images_db_save (s, db, err) < 0)
    return -1;
  int64_t freed = 0;
  if (store_gc_locked (s, &freed, NULL, err) < 0)
    return -1;
  if (report_out)
    *report_out = json_pack ("{s:O,s:I}", "ImagesDeleted",
                             json_array_size (deleted) ? deleted : json_null (), "SpaceReclaimed",
                             (json_int_t)freed);
  return 0;
}
