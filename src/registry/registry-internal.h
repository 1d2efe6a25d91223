/* Private to src/registry: references as the client needs them, the HTTP
 * client with its TLS and auth state, WWW-Authenticate parsing, the parallel
 * blob transfer engine, and small helpers shared by pull.c and push.c. */
#pragma once

#include <curl/curl.h>

#include "registry/registry.h"

/* --------------------------------------------------------------- progress -- */

void registry_human_size (double size, char *out, size_t len);
int registry_progress_emit (const struct registry_options *opts, const char *status, const char *id,
                            bool has_detail, int64_t current, int64_t total);
/* First 12 hex characters of a digest, as docker names layers. */
void registry_short_id (const char *digest, char out[13]);

/* ------------------------------------------------------------ credentials -- */

void registry_auth_copy (struct registry_auth *dst, const struct registry_auth *src);
char *registry_base64_encode (const void *data, size_t len, bool url);
/* Standard or URL alphabet, padding optional; NULL when invalid. */
char *registry_base64_decode (const char *in, size_t *out_len);
/* docker's ConvertToHostname: "https://host:5000/v1/" → "host:5000"
 * (index.docker.io and registry-1.docker.io → docker.io). */
char *registry_credentials_key_host (const char *key);

/* Credential helpers (credhelper.c): which one config.json names for a
 * host, and the helper protocol's get (1 found, 0 not found), store, erase. */
const char *registry_credhelper_for (json_t *cfg, const char *host);
int registry_credhelper_get (const char *helper, const char *server_url, struct registry_auth *out,
                             struct berth_error **err);
int registry_credhelper_store (const char *helper, const char *server_url,
                               const struct registry_auth *auth, struct berth_error **err);
int registry_credhelper_erase (const char *helper, const char *server_url,
                               struct berth_error **err);

/* ------------------------------------------------------------- references -- */

/* The host to dial for a reference domain (docker.io → registry-1.docker.io). */
const char *registry_endpoint_host (const char *domain);
/* docker's rule for plain HTTP: localhost, 127.0.0.0/8, ::1, and whatever
 * insecure (host, host:port, CIDR) lists. */
bool registry_host_is_insecure (const char *host, char *const *insecure);

/* ------------------------------------------------------------------- auth -- */

/* One challenge of a WWW-Authenticate header (RFC 7235). */
struct registry_challenge
{
  char *scheme; /* "bearer" or "basic", lowercased */
  char *realm;
  char *service;
  char *scope;
  char *error; /* "insufficient_scope", "invalid_token" */
};
void registry_challenge_clear (struct registry_challenge *c);
/* Parse a header value; prefers a Bearer challenge over Basic when several
 * are given. Returns 0, or -1 with *err for a malformed header. */
int registry_challenge_parse (const char *header, struct registry_challenge *out,
                              struct berth_error **err);

struct registry_token
{
  char *scope; /* the scope set it was issued for, space separated */
  char *token;
  uint64_t expires_ns;
  struct registry_token *next;
};

/* -------------------------------------------------------------------- HTTP -- */

struct registry_client
{
  char *domain; /* as in references: "127.0.0.1:5000", "docker.io" */
  char *host;   /* what to dial: "registry-1.docker.io" */
  char *scheme; /* "https" or "http", decided by the first ping */
  bool is_insecure;
  const struct registry_options *opts;
  struct registry_auth creds;
  /* TLS: system CAs + <certs_dir>/<host>/ *.crt in one PEM blob (NULL: curl's default). */
  char *ca_pem;
  size_t ca_pem_len;
  char *client_cert, *client_key;
  /* The registry's challenge, learnt from /v2/. */
  struct registry_challenge challenge;
  bool has_challenge;
  struct registry_token *tokens;
  char *refresh_token; /* OAuth2 refresh token handed out at login */
  bool want_refresh_token;
  CURLSH *share;
  CURL *easy; /* reused for sequential requests (keeps the connection) */
};

struct registry_client *registry_client_new (const char *domain,
                                             const struct registry_options *opts,
                                             struct berth_error **err);
void registry_client_free (struct registry_client *c);
static inline void
registry_client_freep (struct registry_client **c)
{
  if (*c)
    registry_client_free (*c);
  *c = NULL;
}
#define _cleanup_registry_client_ _cleanup_ (registry_client_freep)

/* GET /v2/: decides the scheme (HTTPS first; plain HTTP only for insecure
 * hosts) and learns the auth challenge. */
int registry_client_ping (struct registry_client *c, struct berth_error **err);

struct registry_response
{
  long status;
  char *body;
  size_t body_len;
  char *content_type;
  char *content_digest; /* Docker-Content-Digest */
  char *location;       /* resolved against the request URL */
  char *www_authenticate;
  char *range;
  char *link;
  int64_t content_length;
};
void registry_response_clear (struct registry_response *r);

struct registry_request
{
  const char *method;   /* "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" */
  const char *url;      /* absolute, or a path ("/v2/…") on the client's base */
  const char *scope;    /* "repository:a/b:pull" (space separated for several) */
  char *const *headers; /* extra "Name: value" lines */
  const void *body;     /* request body from memory */
  size_t body_len;
  bool has_body;
  /* Streamed request body (push of big blobs); used when read_fn != NULL. */
  size_t (*read_fn) (char *buf, size_t size, size_t n, void *opaque);
  void *read_opaque;
  int64_t read_len; /* Content-Length of the streamed body (-1: chunked) */
  size_t max_body;  /* keep at most this much of the response (0: 4 MiB) */
  bool follow_redirects;
  bool no_auth;  /* token server requests: no registry Authorization, no 401 retry */
  bool no_retry; /* do not retry transient failures */
};

/* One request with auth: adds the Authorization the scope needs, and on a
 * 401 with a challenge fetches a token and retries once. Transport errors
 * set *err; HTTP errors are returned in resp->status for the caller. */
int registry_client_do (struct registry_client *c, const struct registry_request *req,
                        struct registry_response *resp, struct berth_error **err);
/* Base URL "https://host:port". */
char *registry_client_url (struct registry_client *c, const char *path_fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Prepare an easy handle with the client's TLS, share and limits. */
void registry_client_setup_easy (struct registry_client *c, CURL *easy);
/* "Authorization: …" for scope (fetching a token when needed), or NULL
 * when the registry wants none. */
int registry_client_auth_header (struct registry_client *c, const char *scope, char **header,
                                 struct berth_error **err);
/* Forget the cached token for scope (after a 401 on a blob transfer). */
void registry_client_token_drop (struct registry_client *c, const char *scope);
/* The distribution error body ({"errors":[{"code","message"}]}) as text. */
char *registry_error_text (const struct registry_response *resp);
/* Map an HTTP error status to an error with kind. */
int registry_error_from_response (const struct registry_response *resp, struct berth_error **err,
                                  const char *what);
/* Transient: 408, 425, 429, 5xx. */
bool registry_status_is_transient (long status);
bool registry_curl_is_transient (CURLcode code);
/* Parse "bytes=0-1023" / "0-1023" (Range of an upload): *end inclusive. */
int registry_range_parse (const char *s, int64_t *start, int64_t *end);
/* Content-Range value for a chunk: "start-end" (end inclusive). */
char *registry_content_range (int64_t offset, int64_t len);

/* "repository:path:actions" */
char *registry_scope (const char *path, const char *actions);

unsigned registry_max_retries (const struct registry_options *opts);
uint64_t registry_backoff_ms (unsigned attempt);

/* --------------------------------------------------------------- transfer -- */

struct image_layer_unpack;

/* One layer to download and unpack (pull). */
struct registry_layer_job
{
  const char *digest; /* manifest's layer digest */
  int64_t size;       /* manifest's size (-1 unknown) */
  const char *media_type;
  const char *diff_id; /* config's rootfs.diff_ids[i] */
  char short_id[13];
  /* Results. */
  bool is_done;
};

/* Download every job from /v2/<path>/blobs/<digest> in parallel (curl multi,
 * at most opts->max_concurrent_downloads at once), each streaming into
 * image_layer_unpack_* on its own thread. Transient failures are retried
 * with backoff, resuming with a Range request where the registry allows it.
 * On any failure every unpack in flight is aborted. */
int registry_layers_fetch (struct registry_client *c, struct image_store *store, const char *path,
                           struct registry_layer_job *jobs, size_t n_jobs,
                           struct berth_error **err);

/* Fetch a small blob (config) into memory, verifying its digest. */
int registry_blob_fetch_small (struct registry_client *c, const char *path, const char *digest,
                               char **out, size_t *len, struct berth_error **err);

/* ---------------------------------------------------------------- compress -- */

/* Recompress a kept layer blob (from: "gzip", "zstd" or "" for a plain tar)
 * into `to` ("gzip" or "zstd") in an unlinked temp file of the store's tmp/.
 * Returns the fd (positioned anywhere; read it with pread) with *digest_out
 * and *size_out of the new blob, or -1. */
int registry_layer_recompress (struct image_store *store, int in_fd, const char *from,
                               const char *to, char **digest_out, int64_t *size_out,
                               struct berth_error **err);

/* ----------------------------------------------------------------- workers -- */

/* One job; *thread_state is the thread's own (NULL on its first job), e.g.
 * a registry client; job_opts carries the queueing progress callback. */
typedef int (*registry_job_fn) (size_t i, void **thread_state,
                                const struct registry_options *job_opts, void *ctx,
                                struct berth_error **err);
typedef void (*registry_thread_done_fn) (void *thread_state);
/* Run jobs 0..n_jobs-1 on up to max_threads threads; progress events are
 * delivered on the calling thread; a callback asking to stop or the first
 * failure cancels the rest. */
int registry_run_parallel (size_t n_jobs, unsigned max_threads, const struct registry_options *opts,
                           registry_job_fn fn, registry_thread_done_fn done, void *ctx,
                           struct berth_error **err);
/* Hand *src over to *dst (when dst is empty; else drop it). */
void registry_error_move (struct berth_error **dst, struct berth_error **src);
/* A second client for the same registry on another thread: the scheme,
 * challenge and cached tokens of src, no new ping. */
struct registry_client *registry_client_clone (struct registry_client *src,
                                               struct berth_error **err);
