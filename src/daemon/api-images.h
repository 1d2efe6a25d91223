/* Private to the image endpoint files (api-images.c,
 * api-images-transfer.c, image-changes.c). */
#pragma once

#include "daemon/api-internal.h"
#include "image/image.h"

/* RFC 3339 → seconds since the epoch (0 when it does not parse). */
int64_t images_time_unix (const char *rfc3339);
/* docker's ImageSummary for /images/json and /system/df. */
json_t *images_summary (struct berthd *d, const struct image_info *info, int containers);
void images_respond_store_missing (struct api_request *req);
/* Routes of api-images-transfer.c. */
void images_transfer_register (struct api_router *r);

/* docker import/commit --change: Dockerfile instructions (CMD, ENTRYPOINT,
 * ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD) applied to
 * an image config object ("Cmd", "Env", …). Errors name the instruction. */
int image_changes_apply (json_t *config, char *const *changes, struct berth_error **err);
