/* Image transfers, all on the worker pool so the loop never blocks: pull and
 * push through the registry client with docker's progress lines streamed as
 * they come (traces 17), load and import from a streamed tar body, save as
 * a streamed tar (trace 12), plus registry search and POST /auth. */
#include "daemon/api-images.h"
#include "registry/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum xfer_kind
{
  XFER_LOAD,
  XFER_IMPORT,
  XFER_SAVE,
  XFER_PULL,
  XFER_PUSH,
  XFER_SEARCH,
  XFER_AUTH,
};

struct xfer_job
{
  enum xfer_kind kind;
  struct api_request *req;
  struct berthd *d;
  struct image_store *store;
  int in_fd;  /* load/import: the body pipe (owned by the request) */
  int out_fd; /* save: the write end of the answer's pipe (ours) */
  char **names;
  char *ref, *message, *server, *term;
  struct image_ref *import_ref;
  json_t *changes;
  struct registry_auth auth;
  char *platform;
  char **insecure;
  char *no_credentials_dir;
  /* results */
  char **loaded;
  char *id;
  json_t *result;
  struct berth_error *err;
  /* pull/push progress */
  struct api_stream *stream;
  json_t *held; /* pull: "Pulling from" lines not sent yet */
  int cancelled; /* set on the loop, read by the worker (__atomic) */
};

static void
xfer_free (struct xfer_job *j)
{
  strv_freep (&j->names);
  strv_freep (&j->loaded);
  strv_freep (&j->insecure);
  free (j->ref);
  free (j->message);
  free (j->server);
  free (j->term);
  free (j->platform);
  free (j->no_credentials_dir);
  free (j->id);
  image_ref_free (j->import_ref);
  json_decref (j->changes);
  json_decref (j->result);
  json_decref (j->held);
  registry_auth_clear (&j->auth);
  berth_error_free (j->err);
  free (j);
}

static struct xfer_job *
xfer_new (struct api_request *req, enum xfer_kind kind)
{
  struct xfer_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->kind = kind;
  j->req = req;
  j->d = api_request_daemon (req);
  j->store = j->d->images;
  j->in_fd = j->out_fd = -1;
  return j;
}

/* Registry options from daemon.json: insecure registries; the daemon never
 * reads a user's ~/.docker/config.json (clients send X-Registry-Auth). */
static void
xfer_registry_options (struct xfer_job *j, struct registry_options *o)
{
  memset (o, 0, sizeof *o);
  json_t *insecure = json_object_get (j->d->config.file, "insecure-registries");
  j->insecure = calloc (1, sizeof (char *));
  size_t i;
  json_t *v;
  json_array_foreach (insecure, i, v)
    if (json_is_string (v))
      strv_append (&j->insecure, json_string_value (v));
  j->no_credentials_dir = xasprintf ("%s/no-client-credentials", j->d->config.exec_root);
  o->config_dir = j->no_credentials_dir;
  o->insecure_registries = j->insecure;
  o->auth = &j->auth;
  o->platform = j->platform;
}

static void xfer_work (void *arg);
static void xfer_done (void *arg);

static void
xfer_start (struct xfer_job *j)
{
  _cleanup_error_ struct berth_error *err = NULL;
  if (loop_worker_submit (j->d->loop, xfer_work, xfer_done, j, &err) < 0)
    {
      if (j->kind == XFER_LOAD || j->kind == XFER_IMPORT)
        api_request_body_close (j->req);
      api_respond_error (j->req, err);
      xfer_free (j);
    }
}

/* ------------------------------------------------------------ progress -- */

struct progress_msg
{
  struct xfer_job *job;
  json_t *line;
};

static void
progress_stream_closed (void *userdata)
{
  struct xfer_job *j = userdata;
  __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
}

static void
progress_on_loop (void *arg)
{
  struct progress_msg *m = arg;
  struct xfer_job *j = m->job;
  const char *status = json_string_value (json_object_get (m->line, "status"));
  if (j->stream == NULL && j->kind == XFER_PULL && status
      && str_has_prefix (status, "Pulling from "))
    {
      /* docker says "Pulling from" once the manifest resolved; hold it so
       * that an unknown tag still gets a 404 answer, not a 200 stream */
      if (j->held == NULL)
        j->held = json_array ();
      json_array_append_new (j->held, m->line);
      free (m);
      return;
    }
  if (j->stream == NULL)
    {
      /* the head goes out with the first line: errors before it still get
       * a proper status code (404 for an unknown repository) */
      j->stream = api_respond_stream (j->req, 200, "application/json");
      api_stream_on_close (j->stream, progress_stream_closed, j);
      size_t i;
      json_t *held;
      json_array_foreach (j->held, i, held)
        api_stream_write_json (j->stream, json_incref (held));
    }
  api_stream_write_json (j->stream, m->line);
  free (m);
}

static void
progress_post (struct xfer_job *j, json_t *line)
{
  struct progress_msg *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  m->job = j;
  m->line = line;
  loop_post (j->d->loop, progress_on_loop, m);
}

static int
progress_cb (const struct registry_progress *ev, void *opaque)
{
  struct xfer_job *j = opaque;
  if (__atomic_load_n (&j->cancelled, __ATOMIC_RELAXED))
    return 1;
  json_t *line = registry_progress_json (ev);
  json_t *aux = json_object_get (line, "aux");
  if (aux && ev->status)
    {
      /* docker sends the digest as its own status line, then the aux
       * message; the CLI prints statuses but hands aux messages to a
       * callback without printing them */
      json_t *aux_line = json_pack ("{s:{},s:O}", "progressDetail", "aux", aux);
      json_object_del (line, "aux");
      json_object_del (line, "progressDetail");
      progress_post (j, line);
      progress_post (j, aux_line);
      return 0;
    }
  progress_post (j, line);
  return 0;
}

/* ---------------------------------------------------------------- work -- */

static void
xfer_work (void *arg)
{
  struct xfer_job *j = arg;
  struct registry_options o;
  switch (j->kind)
    {
    case XFER_LOAD:
      image_load (j->store, j->in_fd, &j->loaded, &j->err);
      break;
    case XFER_IMPORT:
      image_import (j->store, j->in_fd, j->import_ref, j->changes, j->message, &j->id, &j->err);
      break;
    case XFER_SAVE:
      image_save (j->store, j->names, j->out_fd, &j->err);
      break;
    case XFER_PULL:
      {
        xfer_registry_options (j, &o);
        o.progress = progress_cb;
        o.progress_opaque = j;
        struct registry_pull_result res = { 0 };
        if (registry_pull (j->store, j->ref, &o, &res, &j->err) == 0)
          j->id = steal_pointer (&res.image_id);
        registry_pull_result_clear (&res);
        break;
      }
    case XFER_PUSH:
      {
        xfer_registry_options (j, &o);
        o.progress = progress_cb;
        o.progress_opaque = j;
        struct registry_push_result res = { 0 };
        registry_push (j->store, j->ref, &o, &res, &j->err);
        registry_push_result_clear (&res);
        break;
      }
    case XFER_SEARCH:
      {
        xfer_registry_options (j, &o);
        _cleanup_strv_ char **repos = registry_catalog (j->server, &o, &j->err);
        if (repos == NULL)
          break;
        j->result = json_array ();
        for (char **r = repos; *r; r++)
          {
            if (j->term && *j->term && strstr (*r, j->term) == NULL)
              continue;
            _cleanup_free_ char *name = xasprintf ("%s/%s", j->server, *r);
            json_array_append_new (j->result,
                                   json_pack ("{s:s,s:s,s:i,s:b,s:b}", "name", name,
                                              "description", "", "star_count", 0, "is_official",
                                              0, "is_automated", 0));
          }
        break;
      }
    case XFER_AUTH:
      {
        xfer_registry_options (j, &o);
        o.auth = NULL;
        _cleanup_free_ char *token = NULL;
        if (registry_login (j->server, &j->auth, &o, &token, &j->err) == 0)
          j->result = json_pack ("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken",
                                 token ? token : "");
        break;
      }
    }
}

static void
emit_image_event (const char *action, const char *id, const char *name)
{
  _cleanup_free_ char *fam = name ? image_ref_familiarize (name) : NULL;
  daemon_event_emit ("image", action, id ? id : (fam ? fam : ""),
                     fam ? json_pack ("{s:s}", "name", fam) : NULL);
}

/* Loop thread: answer. */
static void
xfer_done (void *arg)
{
  struct xfer_job *j = arg;
  struct api_request *req = j->req;
  switch (j->kind)
    {
    case XFER_LOAD:
    case XFER_IMPORT:
      api_request_body_close (req);
      if (j->err)
        {
          api_respond_error (req, j->err);
          break;
        }
      if (j->kind == XFER_IMPORT)
        {
          emit_image_event ("import", j->id, NULL);
          _cleanup_free_ char *line = xasprintf ("{\"status\":\"%s\"}\r\n", j->id);
          api_respond_data (req, 200, "application/json", line, strlen (line));
          break;
        }
      {
        _cleanup_free_ char *text = xstrdup ("");
        for (char **l = j->loaded; l && *l; l++)
          {
            emit_image_event ("load", NULL, strchr (*l, ':') ? strchr (*l, ':') + 2 : *l);
            _cleanup_json_ json_t *m = json_pack ("{s:s+}", "stream", *l, "\n");
            _cleanup_free_ char *one = json_dumps (m, JSON_COMPACT);
            char *joined = xasprintf ("%s%s\r\n", text, one);
            free (text);
            text = joined;
          }
        api_respond_data (req, 200, "application/json", text, strlen (text));
      }
      break;
    case XFER_SAVE:
      if (j->err)
        {
          berth_log (BERTH_LOG_WARNING, "save: %s", j->err->msg);
          if (!api_stream_is_ended (j->stream))
            api_stream_abort (j->stream);
        }
      else
        for (char **n = j->names; n && *n; n++)
          emit_image_event ("save", NULL, *n);
      close (j->out_fd);
      api_request_unhold (req);
      break;
    case XFER_PULL:
    case XFER_PUSH:
      if (j->err && j->stream == NULL)
        api_respond_error (req, j->err);
      else
        {
          if (j->stream == NULL)
            {
              j->stream = api_respond_stream (req, 200, "application/json");
              size_t i;
              json_t *held;
              json_array_foreach (j->held, i, held)
                api_stream_write_json (j->stream, json_incref (held));
            }
          if (j->err)
            api_stream_write_json (j->stream,
                                   json_pack ("{s:{s:s},s:s}", "errorDetail", "message",
                                              j->err->msg, "error", j->err->msg));
          else
            emit_image_event (j->kind == XFER_PULL ? "pull" : "push", NULL, j->ref);
          api_stream_end (j->stream);
        }
      break;
    case XFER_SEARCH:
    case XFER_AUTH:
      if (j->err)
        api_respond_error (req, j->err);
      else
        api_respond_json (req, 200, json_incref (j->result));
      break;
    }
  xfer_free (j);
}

/* ------------------------------------------------------------ handlers -- */

static bool
store_ready (struct api_request *req)
{
  if (api_request_daemon (req)->images)
    return true;
  if (api_request_body_fd (req) >= 0)
    api_request_body_close (req);
  images_respond_store_missing (req);
  return false;
}

static void
handle_load (struct api_request *req)
{
  if (!store_ready (req))
    return;
  struct xfer_job *j = xfer_new (req, XFER_LOAD);
  j->in_fd = api_request_body_fd (req);
  xfer_start (j);
}

static int
auth_from_header (struct api_request *req, struct registry_auth *auth, struct berth_error **err)
{
  const char *h = api_request_header (req, "X-Registry-Auth");
  if (h == NULL || *h == '\0')
    return 0;
  if (registry_auth_decode_header (h, auth, err) < 0)
    return berth_error_prefix (err, "X-Registry-Auth");
  return 0;
}

static void
handle_create (struct api_request *req)
{
  if (!store_ready (req))
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  const char *from_src = api_request_query (req, "fromSrc");
  const char *from_image = api_request_query (req, "fromImage");
  const char *tag = api_request_query (req, "tag");
  if (from_src && *from_src)
    {
      if (strcmp (from_src, "-") != 0)
        {
          api_request_body_close (req);
          return api_respond_errorf (req, 400,
                                     "importing from a URL (%s) is not supported; pipe the tar "
                                     "into the request body (fromSrc=-)",
                                     from_src);
        }
      struct xfer_job *j = xfer_new (req, XFER_IMPORT);
      const char *repo = api_request_query (req, "repo");
      if (repo && *repo)
        {
          _cleanup_free_ char *full
              = tag && *tag ? xasprintf ("%s:%s", repo, tag) : xstrdup (repo);
          if (image_ref_parse (full, IMAGE_REF_DEFAULT_TAG, &j->import_ref, &err) < 0)
            {
              xfer_free (j);
              api_request_body_close (req);
              return api_respond_error (req, err);
            }
        }
      j->changes = json_object ();
      _cleanup_strv_ char **changes = api_request_query_values (req, "changes");
      if (image_changes_apply (j->changes, changes, &err) < 0)
        {
          xfer_free (j);
          api_request_body_close (req);
          return api_respond_error (req, err);
        }
      const char *message = api_request_query (req, "message");
      j->message = message ? xstrdup (message) : NULL;
      j->in_fd = api_request_body_fd (req);
      return xfer_start (j);
    }
  /* a pull has no body: drop it */
  api_request_body_close (req);
  if (from_image == NULL || *from_image == '\0')
    return api_respond_errorf (req, 400, "fromImage or fromSrc is required");
  struct xfer_job *j = xfer_new (req, XFER_PULL);
  if (tag && *tag)
    j->ref = xasprintf ("%s%s%s", from_image, str_has_prefix (tag, "sha256:") ? "@" : ":", tag);
  else
    j->ref = xstrdup (from_image);
  _cleanup_image_ref_ struct image_ref *check = NULL;
  const char *platform = api_request_query (req, "platform");
  j->platform = platform && *platform ? xstrdup (platform) : NULL;
  if (image_ref_parse (j->ref, IMAGE_REF_DEFAULT_TAG, &check, &err) < 0
      || auth_from_header (req, &j->auth, &err) < 0)
    {
      xfer_free (j);
      return api_respond_error (req, err);
    }
  xfer_start (j);
}

static void
handle_push (struct api_request *req)
{
  if (!store_ready (req))
    return;
  _cleanup_error_ struct berth_error *err = NULL;
  struct berthd *d = api_request_daemon (req);
  const char *name = api_request_param (req, "name");
  const char *tag = api_request_query (req, "tag");
  struct xfer_job *j = xfer_new (req, XFER_PUSH);
  j->ref = tag && *tag ? xasprintf ("%s:%s", name, tag) : xstrdup (name);
  _cleanup_free_ char *id = NULL;
  if (image_resolve (d->images, j->ref, &id, &err) < 0)
    {
      _cleanup_free_ char *fam = image_ref_familiarize (j->ref);
      xfer_free (j);
      return api_respond_errorf (req, 404, "An image does not exist locally with the tag: %s",
                                 fam);
    }
  if (auth_from_header (req, &j->auth, &err) < 0)
    {
      xfer_free (j);
      return api_respond_error (req, err);
    }
  xfer_start (j);
}

static void
save_start (struct api_request *req, char **names)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  if (names == NULL || names[0] == NULL)
    {
      strv_freep (&names);
      return api_respond_errorf (req, 400, "no image names given");
    }
  for (char **n = names; *n; n++)
    {
      _cleanup_free_ char *id = NULL;
      if (image_resolve (d->images, *n, &id, &err) < 0)
        {
          strv_freep (&names);
          return api_respond_error (req, err);
        }
    }
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      strv_freep (&names);
      return api_respond_errorf (req, 500, "pipe: %s", strerror (errno));
    }
  struct xfer_job *j = xfer_new (req, XFER_SAVE);
  j->names = names;
  j->out_fd = p[1];
  fcntl (p[1], F_SETPIPE_SZ, 1 << 20);
  j->stream = api_respond_fd (req, 200, "application/x-tar", p[0]);
  api_request_hold (req);
  if (loop_worker_submit (d->loop, xfer_work, xfer_done, j, &err) < 0)
    {
      api_stream_abort (j->stream);
      close (j->out_fd);
      api_request_unhold (req);
      xfer_free (j);
    }
}

static void
handle_save_many (struct api_request *req)
{
  if (!store_ready (req))
    return;
  save_start (req, api_request_query_values (req, "names"));
}

static void
handle_save_one (struct api_request *req)
{
  if (!store_ready (req))
    return;
  char **names = calloc (1, sizeof *names);
  strv_append (&names, api_request_param (req, "name"));
  save_start (req, names);
}

static void
handle_search (struct api_request *req)
{
  const char *term = api_request_query (req, "term");
  if (term == NULL || *term == '\0')
    return api_respond_errorf (req, 400, "search: the term is required");
  struct xfer_job *j = xfer_new (req, XFER_SEARCH);
  /* "host[:port]/words": search that registry's catalog; a bare word would
   * go to Docker Hub */
  const char *slash = strchr (term, '/');
  _cleanup_free_ char *first = slash ? strndup (term, (size_t) (slash - term)) : NULL;
  if (first && (strchr (first, '.') || strchr (first, ':') || strcmp (first, "localhost") == 0))
    {
      j->server = xstrdup (first);
      j->term = xstrdup (slash + 1);
    }
  else
    {
      j->server = xstrdup ("docker.io");
      j->term = xstrdup (term);
    }
  _cleanup_error_ struct berth_error *err = NULL;
  if (auth_from_header (req, &j->auth, &err) < 0)
    {
      xfer_free (j);
      return api_respond_error (req, err);
    }
  xfer_start (j);
}

static void
handle_auth (struct api_request *req)
{
  _cleanup_error_ struct berth_error *err = NULL;
  json_t *body = api_request_json (req, &err);
  if (err)
    return api_respond_error (req, err);
  if (!json_is_object (body))
    return api_respond_errorf (req, 400, "request body: expected a JSON object");
  struct xfer_job *j = xfer_new (req, XFER_AUTH);
  static const struct
  {
    const char *key;
    size_t off;
  } fields[] = {
    { "username", offsetof (struct registry_auth, username) },
    { "password", offsetof (struct registry_auth, password) },
    { "serveraddress", offsetof (struct registry_auth, server_address) },
    { "identitytoken", offsetof (struct registry_auth, identity_token) },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    {
      json_t *v = json_object_get (body, fields[i].key);
      if (v && !json_is_string (v) && !json_is_null (v))
        {
          xfer_free (j);
          return api_respond_errorf (req, 400, "%s: expected a string", fields[i].key);
        }
      if (json_is_string (v))
        *(char **) ((char *) &j->auth + fields[i].off) = xstrdup (json_string_value (v));
    }
  j->server = xstrdup (j->auth.server_address ? j->auth.server_address : "");
  xfer_start (j);
}

void
images_transfer_register (struct api_router *r)
{
  api_route_add (r, "POST", "/images/load", handle_load, API_ROUTE_RAW_BODY);
  api_route_add (r, "POST", "/images/create", handle_create, API_ROUTE_RAW_BODY);
  api_route_add (r, "POST", "/images/{name*}/push", handle_push, 0);
  api_route_add (r, "GET", "/images/get", handle_save_many, 0);
  api_route_add (r, "GET", "/images/{name*}/get", handle_save_one, 0);
  api_route_add (r, "GET", "/images/search", handle_search, 0);
  api_route_add (r, "POST", "/auth", handle_auth, 0);
}
