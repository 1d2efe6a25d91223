/* JSON files on disk: loading with errors that name the file and position,
 * and crash-safe saving (every metadata write is temp + fsync + rename). */
#include "common/common.h"

#include <fcntl.h>
#include <string.h>

json_t *
json_load_path (int dirfd, const char *path, struct berth_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (fs_read_file (dirfd, path, &text, &len, err) < 0)
    return NULL;
  json_error_t jerr;
  json_t *j = json_loadb (text, len, 0, &jerr);
  if (j == NULL)
    berth_error_set_kind (err, BERTH_E_INVALID, 0, "parse `%s`: line %d column %d: %s", path,
                          jerr.line, jerr.column, jerr.text);
  return j;
}

int
json_save_atomic (int dirfd, const char *name, const json_t *j, struct berth_error **err)
{
  return json_save_atomic_flags (dirfd, name, j, 0, err);
}

int
json_save_atomic_flags (int dirfd, const char *name, const json_t *j, unsigned flags,
                        struct berth_error **err)
{
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT);
  if (text == NULL)
    return berth_error_set (err, ENOMEM, "serialize `%s`", name);
  return fs_write_file_atomic_flags (dirfd, name, text, strlen (text), 0600, flags, err);
}
