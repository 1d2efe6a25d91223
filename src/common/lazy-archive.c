/* berth common: libarchive bound on first use (lazylib.h). Layers, image
 * save/load, build contexts and docker cp use it; it brings libxml2, ICU
 * (with libstdc++), lzma, bzip2, lz4, acl and nettle along. */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/lazylib.h"

static struct lazylib archive_lib = { (const char *const[]){ "libarchive.so.13", NULL }, NULL };

#define ARCHIVE_FN(ret, name, params, args) LAZYLIB_FN (archive_lib, ret, name, params, args)
#define ARCHIVE_VOID(name, params, args) LAZYLIB_VOID (archive_lib, name, params, args)

ARCHIVE_FN (time_t, archive_entry_atime, (struct archive_entry * a0), (a0))
ARCHIVE_FN (int, archive_entry_atime_is_set, (struct archive_entry * a0), (a0))
ARCHIVE_FN (long, archive_entry_atime_nsec, (struct archive_entry * a0), (a0))
ARCHIVE_VOID (archive_entry_copy_stat, (struct archive_entry * a0, const struct stat *a1), (a0, a1))
ARCHIVE_FN (mode_t, archive_entry_filetype, (struct archive_entry * a0), (a0))
ARCHIVE_VOID (archive_entry_free, (struct archive_entry * a0), (a0))
ARCHIVE_FN (la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))
ARCHIVE_FN (const char *, archive_entry_hardlink, (struct archive_entry * a0), (a0))
ARCHIVE_FN (time_t, archive_entry_mtime, (struct archive_entry * a0), (a0))
ARCHIVE_FN (long, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0))
ARCHIVE_FN (struct archive_entry *, archive_entry_new, (void), ())
ARCHIVE_FN (const char *, archive_entry_pathname, (struct archive_entry * a0), (a0))
ARCHIVE_FN (mode_t, archive_entry_perm, (struct archive_entry * a0), (a0))
ARCHIVE_FN (dev_t, archive_entry_rdev, (struct archive_entry * a0), (a0))
ARCHIVE_VOID (archive_entry_set_filetype, (struct archive_entry * a0, unsigned int a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_gid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_gname, (struct archive_entry * a0, const char *a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_hardlink, (struct archive_entry * a0, const char *a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_mtime, (struct archive_entry * a0, time_t a1, long a2),
              (a0, a1, a2))
ARCHIVE_VOID (archive_entry_set_pathname, (struct archive_entry * a0, const char *a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_perm, (struct archive_entry * a0, mode_t a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_symlink, (struct archive_entry * a0, const char *a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_uid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
ARCHIVE_VOID (archive_entry_set_uname, (struct archive_entry * a0, const char *a1), (a0, a1))
ARCHIVE_FN (la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))
ARCHIVE_FN (const char *, archive_entry_sourcepath, (struct archive_entry * a0), (a0))
ARCHIVE_FN (const char *, archive_entry_symlink, (struct archive_entry * a0), (a0))
ARCHIVE_FN (la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))
ARCHIVE_VOID (archive_entry_xattr_add_entry,
              (struct archive_entry * a0, const char *a1, const void *a2, size_t a3),
              (a0, a1, a2, a3))
ARCHIVE_FN (int, archive_errno, (struct archive * a0), (a0))
ARCHIVE_FN (const char *, archive_error_string, (struct archive * a0), (a0))
ARCHIVE_FN (la_ssize_t, archive_read_data, (struct archive * a0, void *a1, size_t a2), (a0, a1, a2))
ARCHIVE_FN (int, archive_read_data_block,
            (struct archive * a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
ARCHIVE_FN (int, archive_read_disk_descend, (struct archive * a0), (a0))
ARCHIVE_FN (struct archive *, archive_read_disk_new, (void), ())
ARCHIVE_FN (int, archive_read_disk_open, (struct archive * a0, const char *a1), (a0, a1))
ARCHIVE_FN (int, archive_read_disk_set_standard_lookup, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_disk_set_symlink_hybrid, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_disk_set_symlink_physical, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_free, (struct archive * a0), (a0))
ARCHIVE_FN (struct archive *, archive_read_new, (void), ())
ARCHIVE_FN (int, archive_read_next_header, (struct archive * a0, struct archive_entry **a1),
            (a0, a1))
ARCHIVE_FN (int, archive_read_next_header2, (struct archive * a0, struct archive_entry *a1),
            (a0, a1))
ARCHIVE_FN (int, archive_read_open,
            (struct archive * a0, void *a1, archive_open_callback *a2, archive_read_callback *a3,
             archive_close_callback *a4),
            (a0, a1, a2, a3, a4))
ARCHIVE_FN (int, archive_read_open_fd, (struct archive * a0, int a1, size_t a2), (a0, a1, a2))
ARCHIVE_FN (int, archive_read_support_filter_all, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_filter_bzip2, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_filter_gzip, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_filter_none, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_filter_xz, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_format_empty, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_format_gnutar, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_read_support_format_tar, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_write_add_filter_gzip, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_write_close, (struct archive * a0), (a0))
ARCHIVE_FN (la_ssize_t, archive_write_data, (struct archive * a0, const void *a1, size_t a2),
            (a0, a1, a2))
ARCHIVE_FN (la_ssize_t, archive_write_data_block,
            (struct archive * a0, const void *a1, size_t a2, la_int64_t a3), (a0, a1, a2, a3))
ARCHIVE_FN (struct archive *, archive_write_disk_new, (void), ())
ARCHIVE_FN (int, archive_write_disk_set_options, (struct archive * a0, int a1), (a0, a1))
ARCHIVE_FN (int, archive_write_finish_entry, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_write_free, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_write_header, (struct archive * a0, struct archive_entry *a1), (a0, a1))
ARCHIVE_FN (struct archive *, archive_write_new, (void), ())
ARCHIVE_FN (int, archive_write_open,
            (struct archive * a0, void *a1, archive_open_callback *a2, archive_write_callback *a3,
             archive_close_callback *a4),
            (a0, a1, a2, a3, a4))
ARCHIVE_FN (int, archive_write_open2,
            (struct archive * a0, void *a1, archive_open_callback *a2, archive_write_callback *a3,
             archive_close_callback *a4, archive_free_callback *a5),
            (a0, a1, a2, a3, a4, a5))
ARCHIVE_FN (int, archive_write_open_fd, (struct archive * a0, int a1), (a0, a1))
ARCHIVE_FN (int, archive_write_open_memory, (struct archive * a0, void *a1, size_t a2, size_t *a3),
            (a0, a1, a2, a3))
ARCHIVE_FN (int, archive_write_set_bytes_in_last_block, (struct archive * a0, int a1), (a0, a1))
ARCHIVE_FN (int, archive_write_set_bytes_per_block, (struct archive * a0, int a1), (a0, a1))
ARCHIVE_FN (int, archive_write_set_format, (struct archive * a0, int a1), (a0, a1))
ARCHIVE_FN (int, archive_write_set_format_pax_restricted, (struct archive * a0), (a0))
ARCHIVE_FN (int, archive_write_set_format_option,
            (struct archive * a0, const char *a1, const char *a2, const char *a3),
            (a0, a1, a2, a3))

/* printf-like: formatted here, handed over as "%s". */
void
archive_set_error (struct archive *a, int errnum, const char *fmt, ...)
{
  void (*fn) (struct archive *, int, const char *, ...) = LAZYLIB_RESOLVE (
      archive_lib, void (*) (struct archive *, int, const char *, ...), archive_set_error);
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  fn (a, errnum, "%s", msg);
}
