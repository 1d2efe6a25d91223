/* berth registry: the public header of src/registry, the OCI Distribution
 * API client. Pull (parallel, streaming verify + decompress + unpack into the
 * image store), push, login and the docker credentials file, and docker's
 * progress events. Everything here blocks; call it from a worker thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

struct image_store; /* src/image/image.h */

/* ------------------------------------------------------------- credentials -- */

/* One set of credentials for one registry. Any field may be NULL. The same
 * shape as the Engine API's X-Registry-Auth JSON (AuthConfig) and as an
 * entry of ~/.docker/config.json. */
struct registry_auth
{
  char *username;
  char *password;
  char
      *server_address; /* as the client wrote it: "127.0.0.1:5000", "https://index.docker.io/v1/" */
  char *identity_token; /* OAuth2 refresh token: POST to the token realm */
  char *registry_token; /* a bearer token used as it is */
};

void registry_auth_clear (struct registry_auth *auth);
static inline void
registry_auth_clearp (struct registry_auth *auth)
{
  registry_auth_clear (auth);
}
#define _cleanup_registry_auth_ _cleanup_ (registry_auth_clearp)
bool registry_auth_is_empty (const struct registry_auth *auth);

/* The Engine API's X-Registry-Auth header: base64url (or std base64) of
 * {"username","password","serveraddress","identitytoken","registrytoken"}.
 * An empty value or "{}" gives an empty auth. */
int registry_auth_decode_header (const char *value, struct registry_auth *out,
                                 struct berth_error **err);
/* The reverse (base64url of the JSON), for clients such as the berth CLI. */
char *registry_auth_encode_header (const struct registry_auth *auth);

/* docker's config directory: config_dir if not NULL, else $DOCKER_CONFIG,
 * else $HOME/.docker. Newly allocated. */
char *registry_config_dir (const char *config_dir);
/* The key docker uses in "auths" for a registry host: "https://index.docker.io/v1/"
 * for Docker Hub, else the host[:port] itself. Newly allocated. */
char *registry_credentials_key (const char *registry_host);
/* Look up credentials for registry_host in <config_dir>/config.json
 * ({"auths":{"host":{"auth":"base64(user:pass)","identitytoken":...}}}).
 * Returns 1 and fills *out when found, 0 when there are none, -1 on error
 * (an unreadable or malformed file: the error names it). Entries written as
 * "https://host/v1/" or "http://host" match host as docker's do. */
int registry_credentials_get (const char *config_dir, const char *registry_host,
                              struct registry_auth *out, struct berth_error **err);
/* Store (replace) the entry for registry_host, keeping every other key of
 * the file untouched; the file is written crash-safely with mode 0600. */
int registry_credentials_store (const char *config_dir, const char *registry_host,
                                const struct registry_auth *auth, struct berth_error **err);
/* Remove the entry; returns 1 if one was removed, 0 if there was none. */
int registry_credentials_erase (const char *config_dir, const char *registry_host,
                                struct berth_error **err);

/* ---------------------------------------------------------------- progress -- */

/* One progress event, the shape docker streams from POST /images/create and
 * POST /images/{name}/push. Examples (JSON from registry_progress_json):
 *   {"status":"Pulling from library/busybox","id":"latest"}
 *   {"status":"Pulling fs layer","progressDetail":{},"id":"3f57d9401f8d"}
 *   {"status":"Downloading","progressDetail":{"current":1024,"total":2048},
 *    "progress":"[=========================>                         ]  1.024kB/2.048kB",
 *    "id":"3f57d9401f8d"}
 *   {"status":"Verifying Checksum","progressDetail":{},"id":"3f57d9401f8d"}
 *   {"status":"Download complete","progressDetail":{},"id":"3f57d9401f8d"}
 *   {"status":"Extracting","progressDetail":{"current":..,"total":..},...}
 *   {"status":"Pull complete","progressDetail":{},"id":"3f57d9401f8d"}
 *   {"status":"Already exists","progressDetail":{},"id":"3f57d9401f8d"}
 *   {"status":"Digest: sha256:…"}
 *   {"status":"Status: Downloaded newer image for 127.0.0.1:5000/a/b:1"}
 *   {"status":"Status: Image is up to date for 127.0.0.1:5000/a/b:1"}
 *   push: "The push refers to repository [127.0.0.1:5000/a/b]", "Preparing",
 *   "Waiting", "Pushing" (with progressDetail), "Pushed", "Layer already exists",
 *   "Mounted from a/other", and finally
 *   {"status":"1: digest: sha256:… size: 527","progressDetail":{},
 *    "aux":{"Tag":"1","Digest":"sha256:…","Size":527}}
 */
struct registry_progress
{
  const char *status;
  const char *id;    /* short (12-hex) layer id, a tag, or NULL */
  bool has_detail;   /* emit "progressDetail" (docker sends {} for layer events) */
  int64_t current;   /* progressDetail.current; < 0 when unknown */
  int64_t total;     /* progressDetail.total; <= 0 when unknown */
  const json_t *aux; /* push's final {"Tag","Digest","Size"}; else NULL */
};

/* Called on the thread that called registry_pull/registry_push, never
 * concurrently. Return 0 to go on; anything else cancels the operation
 * (e.g. the API client went away), which then fails with "canceled". */
typedef int (*registry_progress_fn) (const struct registry_progress *ev, void *opaque);

/* The event as docker's JSON object (new reference). */
json_t *registry_progress_json (const struct registry_progress *ev);
/* docker's progress bar: "[====>      ]  1.2MB/3.4MB" (newly allocated). */
char *registry_progress_bar (int64_t current, int64_t total);

/* ----------------------------------------------------------------- options -- */

struct registry_options
{
  /* docker's config directory for credentials (NULL: $DOCKER_CONFIG or ~/.docker). */
  const char *config_dir;
  /* Per-registry TLS material: <certs_dir>/<host:port>/{ca.crt,*.crt,client.cert,client.key}
   * like /etc/docker/certs.d (NULL: /etc/berth/certs.d). */
  const char *certs_dir;
  /* Registries allowed over plain HTTP after HTTPS fails: "host", "host:port"
   * or a CIDR ("10.0.0.0/8"). localhost, 127.0.0.0/8 and ::1 always are. */
  char *const *insecure_registries;
  /* Explicit credentials (X-Registry-Auth); when NULL or empty, config.json is used. */
  const struct registry_auth *auth;
  /* "os/arch[/variant]" for manifest lists and indexes (NULL: the host's). */
  const char *platform;
  unsigned max_concurrent_downloads; /* 0: 3, as dockerd */
  unsigned max_concurrent_uploads;   /* 0: 5, as dockerd */
  unsigned max_retries;              /* transient failures per blob; 0: 5 */
  /* Push: layer compression. NULL keeps gzip and zstd layers as the store
   * has them and gzips plain tars (docker's default); "gzip" or "zstd"
   * recompresses every layer that differs (zstd turns a Docker v2 schema 2
   * manifest into an OCI one). */
  const char *compression;
  /* Push: blobs larger than this go up in PATCH chunks of this size
   * (0: 64 MiB); smaller ones in one PUT. */
  int64_t upload_chunk_bytes;
  registry_progress_fn progress;
  void *progress_opaque;
};

/* -------------------------------------------------------------------- pull -- */

struct registry_pull_result
{
  char *reference;       /* normalized: "127.0.0.1:5000/team/app:1.2" or "…@sha256:…" */
  char *manifest_digest; /* of the manifest (or index) the reference resolved to */
  char *image_id;        /* "sha256:…" of the config */
  bool was_up_to_date;   /* nothing new was stored */
};
void registry_pull_result_clear (struct registry_pull_result *r);

/* Pull ref (a docker reference: "busybox", "127.0.0.1:5000/a/b:1",
 * "host/a/b@sha256:…") into store. Layers are fetched in parallel and each
 * streams once through hash + decompress + unpack; layers already in the
 * store are skipped. Any digest mismatch aborts the image and stores
 * nothing of it. Errors: BERTH_E_NOT_FOUND (no such repository, tag or
 * manifest; no manifest for the platform), BERTH_E_UNAUTHORIZED /
 * BERTH_E_FORBIDDEN, BERTH_E_INVALID (bad reference or platform),
 * BERTH_E_UNAVAILABLE (registry unreachable, transient failures past the
 * retries), else BERTH_E_INTERNAL. The progress callback may cancel. */
int registry_pull (struct image_store *store, const char *ref, const struct registry_options *opts,
                   struct registry_pull_result *out, struct berth_error **err);

/* -------------------------------------------------------------------- push -- */

struct registry_push_result
{
  char *reference;
  char *manifest_digest;
  int64_t manifest_size;
};
void registry_push_result_clear (struct registry_push_result *r);

/* Push the image that ref names in store (a tag or an image id plus ref's
 * repository) to ref's registry: HEAD each blob, mount from another
 * repository of the same registry when the store knows one, upload the rest
 * (monolithic, or chunked PATCHes for large blobs), the config, then the
 * manifest (Docker v2 schema 2, or OCI when the image is OCI). */
int registry_push (struct image_store *store, const char *ref, const struct registry_options *opts,
                   struct registry_push_result *out, struct berth_error **err);

/* ------------------------------------------------------------------- login -- */

/* Check credentials against server's /v2/ (through the token flow when the
 * registry asks for one). server: "host[:port]", "https://host" or empty
 * for Docker Hub. On success *identity_token (if not NULL) receives the
 * refresh token a registry handed out, or NULL. Does not store anything:
 * the CLI stores with registry_credentials_store (docker does it client side). */
int registry_login (const char *server, const struct registry_auth *auth,
                    const struct registry_options *opts, char **identity_token,
                    struct berth_error **err);

/* The registry host for a login server argument as docker normalizes it:
 * "" / "docker.io" / "https://index.docker.io/v1/" → "docker.io";
 * "https://127.0.0.1:5000/" → "127.0.0.1:5000". Newly allocated; NULL with
 * *err set for an invalid one. */
char *registry_server_normalize (const char *server, struct berth_error **err);

/* ------------------------------------------------------------------ search -- */

/* docker search: GET /v1/search?q=<term>&n=<limit> on the index the term
 * names ("127.0.0.1:5000/foo" searches that registry for "foo"; a bare term
 * searches Docker Hub's index.docker.io). Returns the "results" array as the
 * Engine API's /images/search answers it: [{"name","description",
 * "star_count","is_official","is_automated"}] (new reference), or NULL. */
json_t *registry_search (const char *term, int limit, const struct registry_options *opts,
                         struct berth_error **err);

/* ----------------------------------------------------------------- catalog -- */

/* GET /v2/_catalog of a registry: repository names (NULL-terminated strv). */
char **registry_catalog (const char *server, const struct registry_options *opts,
                         struct berth_error **err);
/* GET /v2/<repo>/tags/list. */
char **registry_tags_list (const char *repository_ref, const struct registry_options *opts,
                           struct berth_error **err);
