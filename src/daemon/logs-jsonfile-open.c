/* Opening a json-file log (see logs-jsonfile.c), apart from the writer so
 * the monitor's static serving half links no error-reporting code. */
#include "daemon/logs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
logs_jsonfile_writer_open (struct logs_jsonfile_writer *w, int dirfd, const char *name,
                           int64_t max_size_bytes, int max_files, struct berth_error **err)
{
  memset (w, 0, sizeof *w);
  w->dirfd = dirfd;
  snprintf (w->name, sizeof w->name, "%s", name);
  w->max_size_bytes = max_size_bytes;
  w->max_files = max_files < 1 ? 1 : max_files;
  w->fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (w->fd < 0)
    return berth_error_set (err, errno, "open log file `%s`", name);
  struct stat st;
  if (fstat (w->fd, &st) == 0)
    w->size_bytes = st.st_size;
  return 0;
}
