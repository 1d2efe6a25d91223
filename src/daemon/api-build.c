/* POST /build (traces 07, 08): the classic builder endpoint the stock docker
 * CLI falls back to, docker-py and docker-compose use. The tar body is read
 * by the build on a thread of its own as it streams in (a build lasts as
 * long as its RUN steps: it must not hold one of the few pool workers that
 * pulls, commits and removals need); progress goes out as
 * docker's chunked JSON lines; a client that goes away cancels the build
 * (its container is killed, its snapshot removed). At start, leftovers of a
 * berthd that died mid-build are swept. */
#include "build/build.h"
#include "daemon/api-build-internal.h"
#include "daemon/api.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "registry/registry.h"
#include "runtime/runtime.h"

#include <ctype.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* RUN output, copies and tar walks use 64-128 KiB buffers on the stack */
#define BUILD_STACK_BYTES (2 << 20)


static struct build_job *running_builds;

static void
job_free (struct build_job *j)
{
  strv_freep (&j->tags);
  strv_freep (&j->cache_from);
  strv_freep (&j->insecure);
  json_decref (j->build_args);
  json_decref (j->labels);
  json_decref (j->registry_config);
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
  size_t bytes;
};

/* A RUN that floods its output must not grow berthd's memory without
 * bound when the client reads slowly: the worker waits above this. */
#define BUILD_OUTPUT_HIGH_WATER (4 << 20)

static void
stream_drained (void *userdata)
{
  struct build_job *j = userdata;
  __atomic_store_n (&j->queued_bytes, (int64_t) api_stream_pending (j->stream), __ATOMIC_RELAXED);
}

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
      api_stream_on_drain (j->stream, stream_drained, j);
    }
  if (api_request_client_gone (j->req))
    __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
  api_stream_write_json (j->stream, m->line);
  __atomic_sub_fetch (&j->posted_bytes, (int64_t) m->bytes, __ATOMIC_RELAXED);
  __atomic_store_n (&j->queued_bytes, (int64_t) api_stream_pending (j->stream), __ATOMIC_RELAXED);
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
  const char *text = json_string_value (json_object_get (msg, "stream"));
  m->bytes = (text ? strlen (text) : 0) + 64;
  __atomic_add_fetch (&j->posted_bytes, (int64_t) m->bytes, __ATOMIC_RELAXED);
  loop_post (j->d->loop, msg_on_loop, m);
  while (__atomic_load_n (&j->posted_bytes, __ATOMIC_RELAXED) + __atomic_load_n (&j->queued_bytes, __ATOMIC_RELAXED)
             > BUILD_OUTPUT_HIGH_WATER
         && !__atomic_load_n (&j->cancelled, __ATOMIC_RELAXED))
    usleep (5000);
  return __atomic_load_n (&j->cancelled, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ pull -- */

/* X-Registry-Config: base64url (or standard) JSON, a map from registry
 * (as the client's config.json names it) to an AuthConfig. */
static json_t *
registry_config_decode (const char *value)
{
  if (value == NULL || value[0] == '\0')
    return NULL;
  size_t n = strlen (value);
  _cleanup_free_ char *b64 = malloc (n + 4);
  if (b64 == NULL)
    abort ();
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!isspace ((unsigned char) value[i]))
      b64[k++] = value[i] == '-' ? '+' : value[i] == '_' ? '/' : value[i];
  while (k % 4)
    b64[k++] = '=';
  b64[k] = '\0';
  _cleanup_free_ unsigned char *raw = malloc (k + 1);
  if (raw == NULL)
    abort ();
  int len = EVP_DecodeBlock (raw, (unsigned char *) b64, (int) k);
  if (len < 0)
    return NULL;
  while (len > 0 && raw[len - 1] == '\0')
    len--; /* EVP_DecodeBlock counts the padding */
  json_t *j = json_loadb ((const char *) raw, (size_t) len, 0, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      return NULL;
    }
  return j;
}

/* "https://index.docker.io/v1/" -> "docker.io", "127.0.0.1:5000" as is. */
static char *
registry_host_of (const char *key)
{
  const char *p = strstr (key, "://");
  p = p ? p + 3 : key;
  char *h = strndup (p, strcspn (p, "/"));
  if (strcmp (h, "index.docker.io") == 0 || strcmp (h, "registry-1.docker.io") == 0)
    {
      free (h);
      h = xstrdup ("docker.io");
    }
  return h;
}

static const char *
jstr (json_t *o, const char *k)
{
  const char *v = json_string_value (json_object_get (o, k));
  return v && v[0] ? v : NULL;
}

static void
auth_for (struct build_job *j, const char *ref, struct registry_auth *out)
{
  memset (out, 0, sizeof *out);
  struct image_ref *r = NULL;
  struct berth_error *e = NULL;
  if (j->registry_config == NULL || image_ref_parse (ref, IMAGE_REF_DEFAULT_TAG, &r, &e) < 0)
    {
      berth_error_free (e);
      return;
    }
  const char *key;
  json_t *ac;
  json_object_foreach (j->registry_config, key, ac)
    {
      _cleanup_free_ char *host = registry_host_of (key);
      if (strcmp (host, r->domain) != 0)
        continue;
      const char *user = jstr (ac, "username"), *pass = jstr (ac, "password");
      _cleanup_free_ char *decoded = NULL;
      if (user == NULL && jstr (ac, "auth"))
        {
          /* "auth": base64(user:password) */
          const char *a = jstr (ac, "auth");
          size_t al = strlen (a);
          decoded = calloc (1, al + 4);
          int dl = EVP_DecodeBlock ((unsigned char *) decoded, (const unsigned char *) a, (int) al);
          char *colon = dl > 0 ? strchr (decoded, ':') : NULL;
          if (colon)
            {
              *colon = '\0';
              user = decoded;
              pass = colon + 1;
            }
        }
      out->username = user ? xstrdup (user) : NULL;
      out->password = pass ? xstrdup (pass) : NULL;
      out->server_address = xstrdup (key);
      out->identity_token = jstr (ac, "identitytoken") ? xstrdup (jstr (ac, "identitytoken")) : NULL;
      out->registry_token = jstr (ac, "registrytoken") ? xstrdup (jstr (ac, "registrytoken")) : NULL;
      break;
    }
  image_ref_free (r);
}

static int progress_cb (json_t *msg, void *data);

/* docker's classic builder streams a FROM pull's progress into the build
 * output as the pull's own JSON lines ("Pulling from …", per layer
 * "Downloading" with progressDetail, "Digest: …", "Status: Downloaded
 * newer image for …"); the CLI renders them like docker pull's. */
static int
pull_progress_cb (const struct registry_progress *ev, void *opaque)
{
  struct build_job *j = opaque;
  if (j->quiet)
    return __atomic_load_n (&j->cancelled, __ATOMIC_RELAXED);
  json_t *line = registry_progress_json (ev);
  json_object_del (line, "aux");
  return progress_cb (line, j);
}

static int
pull_cb (const char *ref, void *data, struct berth_error **err)
{
  struct build_job *j = data;
  struct registry_options o = { 0 };
  o.config_dir = j->no_credentials_dir;
  o.insecure_registries = j->insecure;
  o.platform = j->platform;
  o.progress = pull_progress_cb;
  o.progress_opaque = j;
  struct registry_auth auth;
  auth_for (j, ref, &auth);
  if (auth.username || auth.identity_token || auth.registry_token)
    o.auth = &auth;
  struct registry_pull_result res = { 0 };
  int r = registry_pull (j->d->images, ref, &o, &res, err);
  registry_pull_result_clear (&res);
  registry_auth_clear (&auth);
  return r;
}

/* ---------------------------------------------------------------- work -- */

static void build_done (void *arg);

static void *
build_thread (void *arg)
{
  struct build_job *j = arg;
  build_run (j->d->images, j->in_fd, &j->o, &j->image_id, &j->err);
  loop_post (j->d->loop, build_done, j);
  return NULL;
}

static void
build_done (void *arg)
{
  struct build_job *j = arg;
  struct api_request *req = j->req;
  if (!j->joined)
    pthread_join (j->thread, NULL); /* it posted this as its last act */
  if (j->prev)
    j->prev->next = j->next;
  else
    running_builds = j->next;
  if (j->next)
    j->next->prev = j->prev;
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
      /* the stream outlives the job while its queue drains */
      api_stream_on_drain (j->stream, NULL, NULL);
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
  char *next_to_berthd = berthd_helper_path ("berth-runtime");
  if (next_to_berthd)
    return next_to_berthd;
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
  j->cache_from = calloc (1, sizeof (char *));
  {
    /* cachefrom: a JSON array of image names */
    const char *cf = api_request_query (req, "cachefrom");
    json_t *arr = cf && cf[0] ? json_loads (cf, 0, NULL) : NULL;
    size_t ci;
    json_t *cv;
    json_array_foreach (arr, ci, cv)
      if (json_is_string (cv))
        strv_append (&j->cache_from, json_string_value (cv));
    json_decref (arr);
  }
  j->registry_config = registry_config_decode (api_request_header (req, "X-Registry-Config"));
  j->o = (struct build_options){
    .dockerfile = j->dockerfile,
    .tags = j->tags,
    .build_args = j->build_args,
    .labels = j->labels,
    .target = j->target,
    .no_cache = api_request_query_bool (req, "nocache", false),
    .cache_from = j->cache_from,
    .pull = api_request_query_bool (req, "pull", false),
    .quiet = j->quiet,
    .force_rm = api_request_query_bool (req, "forcerm", false),
    .keep_intermediate = !api_request_query_bool (req, "rm", true),
    .keep_container = build_hook_keep_container,
    .keep_data = j,
    .network_mode = j->network,
    .platform = j->platform,
    .runtime_path = j->runtime_path,
    .run_root = j->run_root,
    .pull_fn = pull_cb,
    .pull_data = j,
    .progress = progress_cb,
    .progress_data = j,
    .client_gone = build_hook_client_gone,
    .net_attach = build_hook_net_attach,
    .net_detach = build_hook_net_detach,
    .net_data = j,
    .cancelled = &j->cancelled,
    .run_exit_code = &j->run_exit_code,
  };
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, BUILD_STACK_BYTES);
  int r = pthread_create (&j->thread, &attr, build_thread, j);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      berth_error_set (&err, r, "start the build thread");
      api_request_body_close (req);
      api_respond_error (req, err);
      job_free (j);
      return;
    }
  j->next = running_builds;
  if (running_builds)
    running_builds->prev = j;
  running_builds = j;
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
  build_sweep (d->images, run_root);
  return 0;
}

/* After the server ended its requests (which cancelled their builds):
 * wait for the build threads before the image store goes away. Their
 * answers are never delivered (the loop has stopped); the jobs stay
 * allocated until the process exits. */
static void
build_shutdown (struct berthd *d)
{
  (void) d;
  for (struct build_job *j = running_builds; j; j = j->next)
    {
      __atomic_store_n (&j->cancelled, 1, __ATOMIC_RELAXED);
      pthread_join (j->thread, NULL);
      j->joined = true;
    }
}

BERTHD_MODULE (build_module) = {
  .name = "build",
  .order = 65,
  .init = build_init,
  .register_routes = build_register,
  .shutdown = build_shutdown,
};
