/* berth cli: docker's derived row fields shared by ps, images and the
 * other list commands (private to src/cli). */
#pragma once

#include "cli/cli-internal.h"

/* Shorten to max runes with "…" like docker's Ellipsis. */
char *ellipsis (const char *s, size_t max_runes);
/* 12-hex id without "sha256:" when trunc, else unchanged. */
char *short_id (const char *id, bool trunc);
/* Go's time.Time.String() of a unix time: "2026-11-26 01:19:37 +0000 UTC". */
char *created_at_string (long long unix_secs);
/* "3 hours ago". */
char *since_string (long long unix_secs);
/* One `docker ps` row from a /containers/json entry. */
json_t *ps_row (json_t *container, bool trunc);
json_t *ps_headers (void);
const char *normalize_format (const char *f);
/* GET path into -o output (atomically) or stdout (never a terminal). */
int cli_download (struct cli_client *c, const char *path, const char *query, const char *output,
                  struct berth_error **err);
/* The prune commands: confirm unless -f, POST, print what was deleted. */
int cli_prune (struct cli_ctx *ctx, struct cli_args *a, const char *path, const char *warning,
               const char *deleted_key, const char *extra_filter);
/* docker's DisplayablePorts for a /containers/json "Ports" array. */
char *displayable_ports (json_t *ports);
