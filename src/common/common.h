/* berth common: the public header of src/common. Errors that travel up with
 * context, logging, fd-relative file system helpers (openat2 RESOLVE_IN_ROOT),
 * crash-safe writes, string vectors, sha256 digests, ids and time. Every
 * other area includes only this header from common. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/cleanup.h"

/* ---------------------------------------------------------------- errors -- */

/* What kind of failure this is, so the edges (API status code, CLI exit
 * code) map it in one place without guessing from errno. */
enum berth_error_kind
{
  BERTH_E_INTERNAL = 0, /* HTTP 500 */
  BERTH_E_INVALID,      /* bad input: HTTP 400 */
  BERTH_E_NOT_FOUND,    /* HTTP 404 */
  BERTH_E_CONFLICT,     /* HTTP 409 */
  BERTH_E_UNAUTHORIZED, /* HTTP 401 */
  BERTH_E_FORBIDDEN,    /* HTTP 403 */
  BERTH_E_NOT_MODIFIED, /* HTTP 304 */
  BERTH_E_UNAVAILABLE,  /* HTTP 503 */
};

struct berth_error
{
  int errnum; /* errno value, 0 when none applies */
  enum berth_error_kind kind;
  char *msg; /* full message, including ": strerror(errnum)" */
};

/* Fill *err (if err is not NULL and *err is still empty) and return -1.
 * With errnum != 0 the message gets ": <strerror(errnum)>" appended. */
int berth_error_set (struct berth_error **err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int berth_error_set_kind (struct berth_error **err, enum berth_error_kind kind, int errnum,
                          const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
/* Add context in front of an existing message: "context: old message".
 * Returns -1 so callers can `return berth_error_prefix (err, "...")`. */
int berth_error_prefix (struct berth_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void berth_error_free (struct berth_error *err);
static inline void
berth_error_freep (struct berth_error **err)
{
  if (*err)
    berth_error_free (*err);
  *err = NULL;
}
#define _cleanup_error_ _cleanup_ (berth_error_freep)
/* HTTP status the Engine API answers for this error. */
int berth_error_http_status (const struct berth_error *err);

/* ------------------------------------------------------------------- log -- */

enum berth_log_level
{
  BERTH_LOG_ERROR = 0,
  BERTH_LOG_WARNING,
  BERTH_LOG_INFO,
  BERTH_LOG_DEBUG,
};

/* Where log lines go: a file descriptor (default stderr) and a format.
 * JSON lines are what containerd reads from a runtime's --log. */
void berth_log_configure (int fd, bool json, enum berth_log_level level);
int berth_log_open_file (const char *path, bool json, enum berth_log_level level,
                         struct berth_error **err);
void berth_log (enum berth_log_level level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
bool berth_log_enabled (enum berth_log_level level);
int berth_log_level_parse (const char *name, enum berth_log_level *level);

/* ------------------------------------------------------------- strings -- */

char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);

size_t strv_len (char *const *v);
/* Append a copy of s; the vector stays NULL-terminated. */
void strv_append (char ***v, const char *s);
/* Split s at every occurrence of sep (empty fields kept). */
char **strv_split (const char *s, char sep);
char *strv_join (char *const *v, const char *sep);
bool strv_contains (char *const *v, const char *s);
char **strv_dup (char *const *v);

/* ------------------------------------------------------------ file system -- */

/* openat2 (rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): the path is
 * resolved as if rootfd were "/", so "..", absolute paths and symlinks can
 * never leave it. O_CLOEXEC is always added. */
int fs_open_in_root (int rootfd, const char *path, int flags, mode_t mode, struct berth_error **err);
/* Create every missing directory of path under rootfd (each step resolved in
 * the root) and return an O_PATH|O_DIRECTORY fd of the last one. */
int fs_mkdir_p_in_root (int rootfd, const char *path, mode_t mode, struct berth_error **err);
/* mkdir -p on the host (trusted paths only: data roots, state dirs). */
int fs_mkdir_p (const char *path, mode_t mode, struct berth_error **err);
/* Crash-safe replace: write a temp file in dirfd, fsync, rename over name,
 * fsync dirfd. A kill -9 at any instant leaves the old or the new content. */
int fs_write_file_atomic (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                          struct berth_error **err);
/* The same without the directory's fsync (docker's atomic writer): the
 * content is durable before the rename, and a power loss may undo the
 * rename itself, bringing back the previous version (or no file). For
 * records whose older version is as consistent as the new one. */
#define FS_ATOMIC_NO_DIR_SYNC 0x1
/* No fsync at all (with FS_ATOMIC_NO_DIR_SYNC): atomic against a crash of
 * the process only, for state on a tmpfs or state a reboot makes moot. */
#define FS_ATOMIC_NO_SYNC 0x2
int fs_write_file_atomic_flags (int dirfd, const char *name, const void *data, size_t len,
                                mode_t mode, unsigned flags, struct berth_error **err);
/* Read a whole file (relative to dirfd, or absolute with AT_FDCWD); *out is
 * NUL-terminated, *len (if not NULL) excludes the NUL. */
int fs_read_file (int dirfd, const char *path, char **out, size_t *len, struct berth_error **err);
int fs_write_all (int fd, const void *buf, size_t len);
ssize_t fs_read_all (int fd, void *buf, size_t len);
/* Remove name (file or tree) under dirfd without following symlinks. A
 * missing name is not an error. */
int fs_rm_rf_at (int dirfd, const char *name, struct berth_error **err);
/* Path of an fd as the kernel sees it (/proc/self/fd/N), for messages only. */
char *fs_fd_path (int fd);

/* ----------------------------------------------------------------- json -- */

/* jansson (>= 2.14) provides json_decrefp (). */
#define _cleanup_json_ _cleanup_ (json_decrefp)

/* Load a JSON file; errors name the file, line and column. */
json_t *json_load_path (int dirfd, const char *path, struct berth_error **err);
/* Serialize compactly and write crash-safely (fs_write_file_atomic). */
int json_save_atomic (int dirfd, const char *name, const json_t *j, struct berth_error **err);
int json_save_atomic_flags (int dirfd, const char *name, const json_t *j, unsigned flags,
                            struct berth_error **err);

/* -------------------------------------------------------------- digests -- */

#define SHA256_HEX_LEN 64
/* "sha256:" + 64 lowercase hex characters. */
bool digest_is_valid (const char *digest);
void sha256_hex (const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
/* "sha256:<hex>" of data, newly allocated. */
char *sha256_digest (const void *data, size_t len);

/* ------------------------------------------------------------ processes -- */

/* Run fn (arg, out, err) in a forked child and wait for it; its return
 * value (>= 0), the out_size bytes it left in out, or its error come back.
 * What fn loads (shared libraries, NSS modules) and allocates stays in the
 * child: berthd does its one-off startup work this way to keep them out of
 * its idle footprint. fn must not rely on other threads (only the calling
 * one exists in the child). */
int run_in_child (int (*fn) (void *arg, void *out, struct berth_error **err), void *arg, void *out,
                  size_t out_size, struct berth_error **err);

/* --------------------------------------------------------- ids and time -- */

/* 64 lowercase hex characters from getrandom(2), like docker's ids. */
void random_id_hex (char out[SHA256_HEX_LEN + 1]);
/* RFC 3339 with nanoseconds in UTC as Go's time.RFC3339Nano writes it (what
 * docker puts in JSON): trailing zeros of the fraction trimmed,
 * 2026-11-26T01:11:55.12345Z, and no fraction at all on a whole second. */
char *time_format_rfc3339nano (const struct timespec *ts);
/* The same with always nine digits (docker's RFC3339NanoFixed, the
 * `logs --timestamps` prefix): 2026-11-26T01:11:55.123450000Z. */
char *time_format_rfc3339nano_fixed (const struct timespec *ts);
int time_parse_rfc3339 (const char *s, struct timespec *ts);
uint64_t time_now_ns (void);
