/* Named volumes (the "local" driver), for the container side of berthd:
 * lookup and create-on-use, the mountpoint, reference counting (a volume in
 * use cannot be removed), and docker's "copy the image's content into a new
 * empty volume on first use". Data lives in <data-root>/volumes/<name>/_data,
 * metadata in <data-root>/volumes/<name>/volume.json (written crash-safely).
 * Loop thread only. */
#pragma once

#include <stdbool.h>

#include "daemon/api.h"

/* docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 chars). */
bool volume_name_is_valid (const char *name);

/* Find a volume by name; with create_if_missing a missing one is created
 * with the local driver and no options ("docker run -v name:/path").
 * name NULL creates an anonymous volume (64 hex characters), as for an
 * image's VOLUME or "-v /path". *created tells whether it is new (NULL ok).
 * Returns the volume's name (newly allocated) or NULL with *err (404 when
 * missing and not created, 400 for an invalid name). Emits "create". */
char *volume_get_or_create (struct berthd *d, const char *name, bool create_if_missing,
                            bool *created, struct berth_error **err);

/* Host path of the volume's data (the bind source for the container),
 * newly allocated. For a volume with driver options (type/device/o) the
 * path is only valid between volume_ref and the last volume_unref. */
char *volume_mountpoint (struct berthd *d, const char *name, struct berth_error **err);

/* A container starts or stops using a volume. The first reference of a
 * volume with options mounts it (mount -t type -o o device _data), the
 * last one unmounts it. A container's references are remembered in memory
 * only: the container side re-declares them when it loads its containers
 * at start (live restore). Idempotent per (name, container_id). */
int volume_ref (struct berthd *d, const char *name, const char *container_id,
                struct berth_error **err);
void volume_unref (struct berthd *d, const char *name, const char *container_id);
/* Number of containers referencing name (0 when unknown). */
unsigned volume_ref_count (struct berthd *d, const char *name);

/* Docker's copy-up: when the volume has never been populated and its data
 * directory is empty, copy the tree below src_dirfd (the image's content at
 * the mount destination, a directory fd inside the container's rootfs) into
 * it, preserving modes, owners, times, symlinks and xattrs, and remember
 * that it was populated. Every path is resolved below the two fds and
 * never follows a symlink out of them. */
int volume_populate (struct berthd *d, const char *name, int src_dirfd, struct berth_error **err);

/* Remove a volume (the "volumes" flag of DELETE /containers: anonymous
 * volumes of a removed container). 409 when still referenced. */
int volume_remove (struct berthd *d, const char *name, bool force, struct berth_error **err);

/* Whether the volume was created anonymously (docker removes those with
 * "docker rm -v" and "run --rm"). */
bool volume_is_anonymous (struct berthd *d, const char *name);
