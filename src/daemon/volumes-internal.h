/* Private to the volume files (volumes.c, volumes-copy.c, api-volumes.c):
 * the in-memory records and the store. */
#pragma once

#include <dirent.h>

#include "daemon/volumes.h"

struct volume
{
  char *name;
  char *created_at; /* RFC 3339, seconds (docker's CreatedAt) */
  json_t *labels;   /* object or NULL */
  json_t *options;  /* DriverOpts object or NULL */
  bool anonymous;
  char **refs;      /* ids of the containers using it (memory only) */
};

struct volume_store
{
  int dirfd; /* <data-root>/volumes */
  struct volume **list;
  size_t n;
};

int volumes_open (struct berthd *d, struct berth_error **err);
void volumes_close (struct berthd *d);
struct volume *volume_find (struct volume_store *vs, const char *name);
/* Create (or return the existing volume of that name). */
int volume_create (struct berthd *d, const char *name, const json_t *labels,
                   const json_t *options, bool anonymous, struct volume **out,
                   struct berth_error **err);
int volume_options_check (const json_t *opts, struct berth_error **err);
/* <data-root>/volumes/<name>[/<sub>], newly allocated. */
char *volume_path (struct berthd *d, const char *name, const char *sub);
/* The Engine API's Volume object. */
json_t *volume_to_json (struct berthd *d, const struct volume *v);
/* Bytes used below dirfd (docker's UsageData.Size), -1 on error. */
int64_t volume_disk_usage (int dirfd);
