/* daemon-private: POST /build's job (api-build.c) and the services its
 * build asks the loop for (api-build-hooks.c). */
#pragma once

#include "build/build.h"
#include "daemon/api.h"
#include "daemon/daemon.h"

#include <pthread.h>

struct build_job
{
  struct api_request *req;
  struct berthd *d;
  struct api_stream *stream;
  int cancelled; /* __atomic: set on the loop, read by the worker */
  /* back-pressure: bytes posted to the loop and not yet queued on the
   * stream, and the stream's queue as the loop last saw it (__atomic) */
  int64_t posted_bytes, queued_bytes;
  int in_fd;
  struct build_options o;
  char **tags;
  char **cache_from;
  json_t *build_args, *labels;
  char *dockerfile, *target, *network, *platform, *runtime_path, *run_root;
  char **insecure;
  char *no_credentials_dir;
  bool quiet;
  json_t *registry_config; /* X-Registry-Config: {"host": AuthConfig} */
  int run_exit_code;
  char *image_id;
  struct berth_error *err;
  pthread_t thread;
  bool joined;
  struct build_job *next, *prev; /* running builds (loop thread) */
};

/* build_options hooks (data: the job), called on the build's thread. */
bool build_hook_client_gone (void *data);
int build_hook_net_attach (void *data, const char *network, const char *id, const char *netns_path,
                           char **resolv_conf, char **hosts, struct berth_error **err);
void build_hook_net_detach (void *data, const char *network, const char *id);
int build_hook_keep_container (void *data, const char *snapshot_id, const char *id, json_t *body,
                               int exit_code, struct berth_error **err);
