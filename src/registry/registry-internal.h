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
