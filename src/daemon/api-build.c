/* POST /build (traces 07, 08): the classic builder endpoint the stock docker
 * CLI falls back to, docker-py and docker-compose use. The tar body is read
 * by the build on a worker thread as it streams in; progress goes out as
 * docker's chunked JSON lines; a client that goes away cancels the build
 * (its container is killed, its snapshot removed). At start, leftovers of a
 * berthd that died mid-build are swept. */
#include "build/build.h"
#include "daemon/api.h"
#include "image/image.h"
#include "registry/registry.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct build_job
{
  struct api_request *req;
  struct berthd *d;
  struct api_stream *stream;
  int cancelled; /* __atomic: set on the loop, read by the worker */
  int in_fd;
  struct build_options o;
  char **tags;
  json_t *build_args, *labels;
  char *dockerfile, *target, *network, *platform, *runtime_path, *run_root;
  char **insecure;
  char *no_credentials_dir;
  bool quiet;
  int run_exit_code;
  char *image_id;
  struct berth_error *err;
};

static void
job_free (struct build_job *j)
{
  strv_freep (&j->tags);
  strv_freep (&j->insecure);
  json_decref (j->build_args);
  json_decref (j->labels);
  free (j->dockerfile);
  free (j->target);
  free (j->network);
  free (j->platform);
  free (j->runtime_path);
  free (j->run_root);
  free (j->no_credentials_dir);
  free (j->image_id);
  berth_error_free (j->err);
  free (j);
}

/* --------------------------------------------------------------- output -- */

struct build_msg
{
  struct build_job *job;
  json_t *line;
};

static void
stream_closed (void *userdata)
{
  struct build_job *j = userdata;
  __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
}

static void
msg_on_loop (void *arg)
{
  struct build_msg *m = arg;
  struct build_job *j = m->job;
  if (j->stream == NULL)
    {
      /* the head goes out with the first line, so errors before it (a bad
       * Dockerfile) get a status code the CLI prints as "Error response" */
      j->stream = api_respond_stream (j->req, 200, "application/json");
      api_stream_on_close (j->stream, stream_closed, j);
    }
  if (api_request_client_gone (j->req))
    __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
  api_stream_write_json (j->stream, m->line);
  free (m);
}

static int
progress_cb (json_t *msg, void *data)
{
  struct build_job *j = data;
  struct build_msg *m = calloc (1, sizeof *m);
  if (m == NULL)
    abort ();
  m->job = j;
  m->line = msg;
  loop_post (j->d->loop, msg_on_loop, m);
  return __atomic_load_n (&j->cancelled, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ pull -- */

static int
pull_cb (const char *ref, void *data, struct berth_error **err)
{
  struct build_job *j = data;
  struct registry_options o = { 0 };
  o.config_dir = j->no_credentials_dir;
  o.insecure_registries = j->insecure;
  o.platform = j->platform;
  struct registry_pull_result res = { 0 };
  int r = registry_pull (j->d->images, ref, &o, &res, err);
  registry_pull_result_clear (&res);
  return r;
}

/* ---------------------------------------------------------------- work -- */

static void
build_work (void *arg)
{
  struct build_job *j = arg;
  build_run (j->d->images, j->in_fd, &j->o, &j->image_id, &j->err);
}

static void
build_done (void *arg)
{
  struct build_job *j = arg;
  struct api_request *req = j->req;
  api_request_body_close (req);
  if (j->err && j->stream == NULL)
    api_respond_error (req, j->err);
  else
    {
      if (j->stream == NULL)
        j->stream = api_respond_stream (req, 200, "application/json");
      if (j->err)
        {
          json_t *detail = json_pack ("{s:s}", "message", j->err->msg);
          if (j->run_exit_code)
            json_object_set_new (detail, "code", json_integer (j->run_exit_code));
          api_stream_write_json (j->stream, json_pack ("{s:o,s:s}", "errorDetail", detail, "error", j->err->msg));
        }
      else
        for (char **t = j->tags; t && *t; t++)
          {
            _cleanup_free_ char *fam = image_ref_familiarize (*t);
            daemon_event_emit ("image", "tag", j->image_id, json_pack ("{s:s}", "name", fam));
          }
      api_stream_end (j->stream);
    }
  job_free (j);
}

/* ------------------------------------------------------------- request -- */

static json_t *
query_json_object (struct api_request *req, const char *key, struct berth_error **err)
{
  const char *s = api_request_query (req, key);
  if (s == NULL || s[0] == '\0')
    return json_object ();
  json_error_t je;
  json_t *j = json_loads (s, 0, &je);
  if (!json_is_object (j))
    {
      json_decref (j);
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s: not a JSON object of strings: %s", key, je.text);
      return NULL;
    }
  return j;
}

static char *
find_runtime (void)
{
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      _cleanup_free_ char *path = xasprintf ("%s/berth-runtime", dirname (exe));
      if (access (path, X_OK) == 0)
        return steal_pointer (&path);
    }
  static const char *const places[] = { "/usr/libexec/berth/berth-runtime", "/usr/local/bin/berth-runtime",
                                        "/usr/bin/berth-runtime", NULL };
  for (size_t i = 0; places[i]; i++)
    if (access (places[i], X_OK) == 0)
      return xstrdup (places[i]);
  return NULL;
}

static void
handle_build (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_error_ struct berth_error *err = NULL;
  if (d->images == NULL)
    {
      api_request_body_close (req);
      api_respond_errorf (req, 500, "the image store is not available");
      return;
    }
  struct build_job *j = calloc (1, sizeof *j);
  if (j == NULL)
    abort ();
  j->req = req;
  j->d = d;
  j->in_fd = api_request_body_fd (req);
  j->tags = api_request_query_values (req, "t");
  j->build_args = query_json_object (req, "buildargs", &err);
  j->labels = j->build_args ? query_json_object (req, "labels", &err) : NULL;
  j->runtime_path = find_runtime ();
  if (err == NULL && j->runtime_path == NULL)
    berth_error_set (&err, 0, "berth-runtime is not installed next to berthd: RUN steps cannot run");
  const char *remote = api_request_query (req, "remote");
  if (err == NULL && remote && remote[0])
    berth_error_set_kind (&err, BERTH_E_INVALID, 0, "remote build contexts (%s) are not supported; send the context as the body", remote);
  if (err)
    {
      api_request_body_close (req);
      api_respond_error (req, err);
      job_free (j);
      return;
    }
  const char *df = api_request_query (req, "dockerfile");
  j->dockerfile = xstrdup (df && df[0] ? df : "Dockerfile");
  const char *t = api_request_query (req, "target");
  j->target = t ? xstrdup (t) : NULL;
  const char *nm = api_request_query (req, "networkmode");
  j->network = xstrdup (nm && nm[0] ? nm : "default");
  const char *pf = api_request_query (req, "platform");
  j->platform = pf && pf[0] ? xstrdup (pf) : NULL;
  j->run_root = xasprintf ("%s/build", d->config.exec_root);
  j->no_credentials_dir = xasprintf ("%s/no-client-credentials", d->config.exec_root);
  j->insecure = calloc (1, sizeof (char *));
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (d->config.file, "insecure-registries"), i, v)
    if (json_is_string (v))
      strv_append (&j->insecure, json_string_value (v));
  j->quiet = api_request_query_bool (req, "q", false);
  j->o = (struct build_options){
    .dockerfile = j->dockerfile,
    .tags = j->tags,
    .build_args = j->build_args,
    .labels = j->labels,
    .target = j->target,
    .no_cache = api_request_query_bool (req, "nocache", false),
    .pull = api_request_query_bool (req, "pull", false),
    .quiet = j->quiet,
    .force_rm = api_request_query_bool (req, "forcerm", false),
    .network_mode = j->network,
    .platform = j->platform,
    .runtime_path = j->runtime_path,
    .run_root = j->run_root,
    .pull_fn = pull_cb,
    .pull_data = j,
    .progress = progress_cb,
    .progress_data = j,
    .cancelled = &j->cancelled,
    .run_exit_code = &j->run_exit_code,
  };
  if (loop_worker_submit (d->loop, build_work, build_done, j, &err) < 0)
    {
      api_request_body_close (req);
      api_respond_error (req, err);
      job_free (j);
    }
}

/* POST /build/prune: the build cache (the index only; images stay). */
static void
handle_build_prune (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  _cleanup_free_ char *dir = xasprintf ("%s/build/cache", d->config.data_root);
  _cleanup_error_ struct berth_error *err = NULL;
  if (fs_rm_rf_at (AT_FDCWD, dir, &err) < 0)
    {
      api_respond_error (req, err);
      return;
    }
  api_respond_json (req, 200, json_pack ("{s:[],s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

static void
build_register (struct berthd *d, struct api_router *r)
{
  (void) d;
  api_route_add (r, "POST", "/build", handle_build, API_ROUTE_RAW_BODY);
  api_route_add (r, "POST", "/build/prune", handle_build_prune, API_ROUTE_NONE);
}

/* A berthd killed mid-build leaves its build containers, snapshots and
 * context dirs: remove them before serving. */
static int
build_init (struct berthd *d, struct berth_error **err)
{
  (void) err;
  if (d->images == NULL)
    return 0;
  _cleanup_free_ char *run_root = xasprintf ("%s/build", d->config.exec_root);
  _cleanup_free_ char *state = xasprintf ("%s/state", run_root);
  build_sweep (d->images, state);
  return 0;
}

BERTHD_MODULE (build_module) = {
  .name = "build",
  .order = 65,
  .init = build_init,
  .register_routes = build_register,
};
