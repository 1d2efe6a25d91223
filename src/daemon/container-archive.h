/* daemon-private: docker cp's side in the container's root (container-archive.c). */
#pragma once

#include <stdbool.h>

#include "common/common.h"

/* {"name","size","mode" (Go's os.FileMode bits),"mtime","linkTarget"} of a
 * path in the root, not following its last symlink. 404 when missing. */
json_t *archive_path_stat (int rootfd, const char *path, struct berth_error **err);
/* A tar of path (a directory recursively) to out_fd, named by its base. */
int archive_tar_path (int rootfd, const char *path, int out_fd, struct berth_error **err);
/* Extract the tar read from in_fd into the directory dest of the root;
 * entries that would leave dest are refused (400). */
int archive_extract (int rootfd, const char *dest, int in_fd, bool no_overwrite_dir_non_dir,
                     struct berth_error **err);
