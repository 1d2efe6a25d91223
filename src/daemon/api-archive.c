/* docker cp (HEAD/GET/PUT /containers/{id}/archive), diff (changes),
 * export and commit. Long work runs on the worker pool; a stopped
 * container's root is mounted for the time of the request. */
#include "daemon/containers-internal.h"

#include <fcntl.h>
#include <string.h>

#include "daemon/container-archive.h"
#include "image/image.h"

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

/* A root fd for the request: the running container's, or its snapshot
 * mounted now (*temp set: unmount when done). */
struct root_hold
{
  struct containers *cs;
  char id[SHA256_HEX_LEN + 1];
  int rootfd;
  bool temp;
};

static int
root_acquire (struct containers *cs, struct container *c, struct root_hold *h,
              struct berth_error **err)
{
  memset (h, 0, sizeof *h);
  h->cs = cs;
  h->rootfd = -1;
  memcpy (h->id, c->id, sizeof h->id);
  if (cs->d->images == NULL)
    return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "the image store is not open");
  if (container_is_running (c) && c->rootfs)
    h->rootfd = open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  else
    {
      _cleanup_free_ char *mp = NULL;
      _cleanup_error_ struct berth_error *ignored = NULL;
      image_snapshot_unmount (cs->d->images, c->id, &ignored);
      if (image_snapshot_mount (cs->d->images, c->id, NULL, &mp, err) < 0)
        return -1;
      h->temp = true;
      h->rootfd = open (mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  if (h->rootfd < 0)
    return berth_error_set (err, errno, "open the container's root");
  return 0;
}

static void
root_release (struct root_hold *h)
{
  if (h->rootfd >= 0)
    close (h->rootfd);
  h->rootfd = -1;
  if (h->temp)
    {
      struct container *c = containers_lookup (h->cs, h->id, NULL);
      /* the container may have started meanwhile: its mount is its own */
      if (c == NULL || !container_is_running (c))
        {
          _cleanup_error_ struct berth_error *ignored = NULL;
          image_snapshot_unmount (h->cs->d->images, h->id, &ignored);
        }
    }
  h->temp = false;
}

/* ------------------------------------------------------------ archive -- */

struct archive_job
{
  struct root_hold root;
  struct api_request *req;
  char *path;
  int fd; /* out (GET) or in (PUT) */
  bool no_overwrite;
  struct berth_error *err;
};

static void
archive_get_work (void *arg)
{
  struct archive_job *j = arg;
  archive_tar_path (j->root.rootfd, j->path, j->fd, &j->err);
  close (j->fd);
  j->fd = -1;
}

static void
archive_job_done (void *arg)
{
  struct archive_job *j = arg;
  root_release (&j->root);
  if (j->req)
    {
      /* dockerd's words for a path that is not in the container */
      if (j->err && j->err->kind == BERTH_E_NOT_FOUND && j->path)
        api_respond_errorf (j->req, 404, "Could not find the file %s in container %s", j->path,
                            api_request_param (j->req, "id"));
      else if (j->err)
        api_respond_error (j->req, j->err);
      else
        api_respond_empty (j->req, 200);
    }
  berth_error_free (j->err);
  free (j->path);
  free (j);
}

static int
archive_path_arg (struct api_request *req, const char **path)
{
  *path = api_request_query (req, "path");
  if (*path == NULL || **path == '\0')
    {
      api_respond_errorf (req, 400, "Bad parameter: path cannot be empty");
      return -1;
    }
  return 0;
}

void api_container_archive_get (struct api_request *req);

void
api_container_archive_get (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  const char *path;
  if (archive_path_arg (req, &path) < 0)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  struct archive_job *j = calloc (1, sizeof *j);
  if (root_acquire (cs, c, &j->root, &err) < 0)
    {
      free (j);
      api_respond_error (req, err);
      return;
    }
  _cleanup_json_ json_t *st = archive_path_stat (j->root.rootfd, path, &err);
  if (st == NULL)
    {
      root_release (&j->root);
      free (j);
      if (err->kind == BERTH_E_NOT_FOUND)
        api_respond_errorf (req, 404, "Could not find the file %s in container %s", path,
                            api_request_param (req, "id"));
      else
        api_respond_error (req, err);
      return;
    }
  _cleanup_free_ char *js = json_dumps (st, JSON_COMPACT);
  /* base64 of the stat JSON */
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen (js);
  _cleanup_free_ char *enc = malloc (4 * ((n + 2) / 3) + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3)
    {
      uint32_t v = (uint32_t)(unsigned char)js[i] << 16;
      if (i + 1 < n)
        v |= (uint32_t)(unsigned char)js[i + 1] << 8;
      if (i + 2 < n)
        v |= (unsigned char)js[i + 2];
      enc[o++] = b64[(v >> 18) & 63];
      enc[o++] = b64[(v >> 12) & 63];
      enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
      enc[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
  enc[o] = '\0';
  api_response_header (req, "X-Docker-Container-Path-Stat", enc);
  if (strcmp (api_request_method (req), "HEAD") == 0)
    {
      root_release (&j->root);
      free (j);
      api_respond_empty (req, 200);
      return;
    }
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      root_release (&j->root);
      free (j);
      api_respond_errorf (req, 500, "pipe: %s", strerror (errno));
      return;
    }
  j->path = xstrdup (path);
  j->fd = p[1];
  api_respond_fd (req, 200, "application/x-tar", p[0]);
  if (loop_worker_submit (cs->d->loop, archive_get_work, archive_job_done, j, &err) < 0)
    {
      close (p[1]);
      archive_job_done (j);
    }
}

static void
archive_put_work (void *arg)
{
  struct archive_job *j = arg;
  archive_extract (j->root.rootfd, j->path, j->fd, j->no_overwrite, &j->err);
}

void api_container_archive_put (struct api_request *req);

void
api_container_archive_put (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  const char *path;
  if (archive_path_arg (req, &path) < 0)
    return;
  if (json_is_true (json_object_get (c->host_config, "ReadonlyRootfs")))
    {
      api_respond_errorf (req, 403, "container rootfs is marked read-only");
      return;
    }
  _cleanup_error_ struct berth_error *err = NULL;
  struct archive_job *j = calloc (1, sizeof *j);
  if (root_acquire (cs, c, &j->root, &err) < 0)
    {
      free (j);
      api_respond_error (req, err);
      return;
    }
  j->req = req;
  j->path = xstrdup (path);
  j->fd = api_request_body_fd (req);
  j->no_overwrite = api_request_query_bool (req, "noOverwriteDirNonDir", false);
  if (loop_worker_submit (cs->d->loop, archive_put_work, archive_job_done, j, &err) < 0)
    {
      j->err = steal_pointer (&err);
      archive_job_done (j);
    }
  container_event (c, "extract-to-dir", NULL);
}

/* ------------------------------------------------------ changes/export -- */

void api_container_changes (struct api_request *req);

void
api_container_changes (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  struct image_change *changes = NULL;
  size_t n = 0;
  if (image_snapshot_changes (cs->d->images, c->id, &changes, &n, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  json_t *out = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (
        out, json_pack ("{s:s,s:i}", "Path", changes[i].path, "Kind", (int)changes[i].kind));
  image_changes_free (changes, n);
  if (n == 0) /* dockerd: no change is null */
    {
      json_decref (out);
      out = json_null ();
    }
  api_respond_json (req, 200, out);
}

static void
export_work (void *arg)
{
  struct archive_job *j = arg;
  image_export_rootfs (j->root.rootfd, j->fd, &j->err);
  close (j->fd);
  j->fd = -1;
}

void api_container_export (struct api_request *req);

void
api_container_export (struct api_request *req)
{
  struct containers *cs;
  struct container *c = lookup_or_respond (req, &cs);
  if (c == NULL)
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  struct archive_job *j = calloc (1, sizeof *j);
  if (root_acquire (cs, c, &j->root, &err) < 0)
    {
      free (j);
      api_respond_error (req, err);
      return;
    }
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      root_release (&j->root);
      free (j);
      api_respond_errorf (req, 500, "pipe: %s", strerror (errno));
      return;
    }
  j->fd = p[1];
  container_event (c, "export", NULL);
  api_respond_fd (req, 200, "application/octet-stream", p[0]);
  if (loop_worker_submit (cs->d->loop, export_work, archive_job_done, j, &err) < 0)
    {
      close (p[1]);
      archive_job_done (j);
    }
}

/* ------------------------------------------------------------- commit -- */

/* The Dockerfile instructions `commit --change` accepts, applied to a
 * config object. */
static int
apply_change (json_t *cfg, const char *line, struct berth_error **err)
{
  while (*line == ' ')
    line++;
  const char *sp = strchr (line, ' ');
  if (sp == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "dockerfile parse error: %s requires at least one argument", line);
  _cleanup_free_ char *ins = strndup (line, (size_t)(sp - line));
  for (char *p = ins; *p; p++)
    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  const char *arg = sp + 1;
  while (*arg == ' ')
    arg++;
  json_error_t jerr;
  json_t *jarg = json_loads (arg, JSON_DECODE_ANY, &jerr);
  if (jarg && !json_is_array (jarg))
    {
      json_decref (jarg);
      jarg = NULL;
    }
  _cleanup_json_ json_t *array = jarg;
  if (strcmp (ins, "CMD") == 0 || strcmp (ins, "ENTRYPOINT") == 0)
    {
      json_t *v = array ? json_incref (array) : json_pack ("[s,s,s]", "/bin/sh", "-c", arg);
      json_object_set_new (cfg, strcmp (ins, "CMD") == 0 ? "Cmd" : "Entrypoint", v);
    }
  else if (strcmp (ins, "ENV") == 0)
    {
      json_t *env = json_object_get (cfg, "Env");
      if (!json_is_array (env))
        json_object_set_new (cfg, "Env", env = json_array ());
      _cleanup_free_ char *kv = strchr (arg, '=') ? xstrdup (arg) : NULL;
      if (kv == NULL)
        {
          const char *s2 = strchr (arg, ' ');
          if (s2 == NULL)
            return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                         "dockerfile parse error: ENV names can not be blank");
          kv = xasprintf ("%.*s=%s", (int)(s2 - arg), arg, s2 + 1);
        }
      size_t klen = strcspn (kv, "=");
      size_t i;
      json_t *e;
      json_array_foreach (env, i, e) if (strncmp (json_string_value (e), kv, klen + 1) == 0)
      {
        json_array_remove (env, i);
        break;
      }
      json_array_append_new (env, json_string (kv));
    }
  else if (strcmp (ins, "LABEL") == 0)
    {
      json_t *labels = json_object_get (cfg, "Labels");
      if (!json_is_object (labels))
        json_object_set_new (cfg, "Labels", labels = json_object ());
      const char *eq = strchr (arg, '=');
      if (eq == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                     "dockerfile parse error: LABEL requires key=value");
      _cleanup_free_ char *k = strndup (arg, (size_t)(eq - arg));
      json_object_set_new (labels, k, json_string (eq + 1));
    }
  else if (strcmp (ins, "EXPOSE") == 0 || strcmp (ins, "VOLUME") == 0)
    {
      const char *field = strcmp (ins, "EXPOSE") == 0 ? "ExposedPorts" : "Volumes";
      json_t *obj = json_object_get (cfg, field);
      if (!json_is_object (obj))
        json_object_set_new (cfg, field, obj = json_object ());
      _cleanup_strv_ char **parts = strv_split (arg, ' ');
      for (char **p = parts; *p; p++)
        if (**p)
          {
            _cleanup_free_ char *k = strcmp (field, "ExposedPorts") == 0 && !strchr (*p, '/')
                                         ? xasprintf ("%s/tcp", *p)
                                         : xstrdup (*p);
            json_object_set_new (obj, k, json_object ());
          }
    }
  else if (strcmp (ins, "WORKDIR") == 0)
    json_object_set_new (cfg, "WorkingDir", json_string (arg));
  else if (strcmp (ins, "USER") == 0)
    json_object_set_new (cfg, "User", json_string (arg));
  else if (strcmp (ins, "STOPSIGNAL") == 0)
    json_object_set_new (cfg, "StopSignal", json_string (arg));
  else
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s is not a valid change command", ins);
  return 0;
}

struct commit_job
{
  struct containers *cs;
  struct api_request *req;
  char id[SHA256_HEX_LEN + 1];
  json_t *config, *container_config;
  char *comment, *author;
  struct image_ref *ref;
  char *image_id;
  struct berth_error *err;
  bool paused; /* paused here for the commit (docker's ?pause=1 default) */
};

static void
commit_work (void *arg)
{
  struct commit_job *j = arg;
  struct image_commit_options o = { .config = j->config,
                                    .container_config = j->container_config,
                                    .comment = j->comment,
                                    .author = j->author,
                                    .container_id = j->id,
                                    .ref = j->ref };
  image_commit (j->cs->d->images, j->id, &o, &j->image_id, &j->err);
}

static void
commit_done (void *arg)
{
  struct commit_job *j = arg;
  if (j->paused)
    {
      struct container *pc = containers_lookup (j->cs, j->id, NULL);
      _cleanup_error_ struct berth_error *rerr = NULL;
      if (pc && pc->state.status == CONTAINER_RUNNING)
        runtime_container_resume (&j->cs->rt, j->id, &rerr);
    }
  if (j->err)
    api_respond_error (j->req, j->err);
  else
    {
      struct container *c = containers_lookup (j->cs, j->id, NULL);
      if (c)
        container_event (c, "commit", NULL);
      api_respond_json (j->req, 201, json_pack ("{s:s}", "Id", j->image_id));
    }
  berth_error_free (j->err);
  json_decref (j->config);
  json_decref (j->container_config);
  free (j->comment);
  free (j->author);
  free (j->image_id);
  if (j->ref)
    image_ref_free (j->ref);
  free (j);
}

void api_commit (struct api_request *req);

void
api_commit (struct api_request *req)
{
  struct containers *cs = containers_get (api_request_daemon (req));
  _cleanup_error_ struct berth_error *err = NULL;
  struct container *c = containers_lookup (cs, api_request_query (req, "container"), &err);
  if (c == NULL)
    {
      api_respond_error (req, err);
      return;
    }
  json_t *body = api_request_json (req, &err);
  if (err)
    {
      api_respond_error (req, err);
      return;
    }
  struct commit_job *j = calloc (1, sizeof *j);
  j->cs = cs;
  j->req = req;
  memcpy (j->id, c->id, sizeof j->id);
  j->config = json_deep_copy (c->config);
  json_object_del (j->config, "Hostname");
  /* docker records the container's own config beside the image's */
  j->container_config = json_deep_copy (j->config);
  if (json_array_size (json_object_get (j->container_config, "Env")) == 0)
    json_object_del (j->container_config, "Env");
  container_config_fill_zero (j->container_config);
  if (json_is_object (body))
    json_object_update (j->config, body);
  /* the image's config is Go's whole container.Config, as docker writes it */
  container_config_fill_zero (j->config);
  const char *changes = api_request_query (req, "changes");
  if (changes && *changes)
    {
      _cleanup_strv_ char **lines = strv_split (changes, '\n');
      for (char **l = lines; *l; l++)
        if (**l && apply_change (j->config, *l, &err) < 0)
          {
            j->err = steal_pointer (&err);
            commit_done (j);
            return;
          }
    }
  const char *repo = api_request_query (req, "repo");
  const char *tag = api_request_query (req, "tag");
  if (repo && *repo)
    {
      _cleanup_free_ char *s = tag && *tag ? xasprintf ("%s:%s", repo, tag) : xstrdup (repo);
      if (image_ref_parse (s, IMAGE_REF_DEFAULT_TAG, &j->ref, &err) < 0)
        {
          j->err = steal_pointer (&err);
          commit_done (j);
          return;
        }
    }
  const char *comment = api_request_query (req, "comment");
  const char *author = api_request_query (req, "author");
  j->comment = comment && *comment ? xstrdup (comment) : NULL;
  j->author = author && *author ? xstrdup (author) : NULL;
  /* a consistent snapshot: freeze the container while its changes are
   * read (docker commits with pause=true unless told otherwise) */
  if (api_request_query_bool (req, "pause", true) && c->state.status == CONTAINER_RUNNING)
    {
      _cleanup_error_ struct berth_error *perr = NULL;
      if (runtime_container_pause (&cs->rt, c->id, &perr) == 0)
        j->paused = true;
    }
  if (loop_worker_submit (cs->d->loop, commit_work, commit_done, j, &err) < 0)
    {
      j->err = steal_pointer (&err);
      commit_done (j);
    }
}
