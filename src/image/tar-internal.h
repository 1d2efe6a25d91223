/* Private to src/image: a push-driven tar reader (bytes go in as they come
 * off the network or out of the decompressor; entries come out through
 * callbacks) and the path rules every extraction obeys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/common.h"

enum tar_type
{
  TAR_REG = '0',
  TAR_LINK = '1',
  TAR_SYMLINK = '2',
  TAR_CHR = '3',
  TAR_BLK = '4',
  TAR_DIR = '5',
  TAR_FIFO = '6',
};

struct tar_xattr
{
  char *name;
  char *value;
  size_t len;
};

struct tar_entry
{
  char *path;     /* as recorded (PAX path, GNU long name or prefix/name) */
  char *linkname; /* hard/symlink target */
  char type;      /* one of enum tar_type (contiguous files become TAR_REG) */
  mode_t mode;    /* permission bits incl. setuid/setgid/sticky (07777) */
  uid_t uid;
  gid_t gid;
  int64_t size;
  struct timespec mtime;
  unsigned devmajor, devminor;
  struct tar_xattr *xattrs;
  size_t n_xattrs;
};

struct tar_callbacks
{
  int (*entry_begin) (void *data, const struct tar_entry *e, struct berth_error **err);
  int (*entry_data) (void *data, const void *buf, size_t len, struct berth_error **err);
  int (*entry_end) (void *data, struct berth_error **err);
};

struct tar_parser;
struct tar_parser *tar_parser_new (const struct tar_callbacks *cb, void *data);
void tar_parser_free (struct tar_parser *p);
/* Feed the next bytes of the uncompressed stream. */
int tar_parser_feed (struct tar_parser *p, const void *buf, size_t len, struct berth_error **err);
/* The stream ended: fine at an entry boundary (with or without the two zero
 * blocks, as Go's archive/tar accepts), an error inside an entry. */
int tar_parser_finish (struct tar_parser *p, struct berth_error **err);

/* Parse one 512-byte header's numeric field (octal or base-256). */
int tar_parse_number (const unsigned char *field, size_t len, int64_t *out);
/* Check a 512-byte header's checksum. */
bool tar_header_checksum_ok (const unsigned char *hdr);

/* Clean a path from a tar entry lexically, as filepath.Clean would after
 * joining it under the layer root: strip leading "/" and "./", collapse "//"
 * and "."; ".." that would climb above the root is an error (docker's
 * "breakout" check). "" means the root itself. Returns a new string or NULL
 * with *err. */
char *tar_path_clean (const char *path, struct berth_error **err);

/* Whiteouts (OCI image spec, "Representing Changes"). */
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define WHITEOUT_META_PREFIX ".wh..wh."
enum whiteout_kind
{
  WHITEOUT_NONE = 0,
  WHITEOUT_FILE,       /* .wh.<name>: <name> is deleted */
  WHITEOUT_OPAQUE_DIR, /* .wh..wh..opq: the directory hides lower content */
  WHITEOUT_META,       /* other .wh..wh.* names (aufs hardlink dirs): ignored */
};
/* Classify a base name; for WHITEOUT_FILE *target points into base. A
 * whiteout naming "", "." or ".." is an error (it would delete a parent). */
int whiteout_classify (const char *base, enum whiteout_kind *kind, const char **target,
                       struct berth_error **err);

/* Extraction of tar entries into a layer directory (extract.c): every path
 * resolved under rootfd with openat2(RESOLVE_IN_ROOT), final components
 * never followed, whiteouts turned into overlay whiteouts. */
struct extractor;
extern const struct tar_callbacks extractor_callbacks;
/* rootfd is duplicated; the extractor never leaves it. */
struct extractor *extractor_new (int rootfd, struct berth_error **err);
/* End of the stream: the directory times (deferred, as children change
 * them) are made ready for extractor_dir_done, which the tree listing's
 * walk calls on every directory once its children are done, deepest
 * first (the walk opens each directory anyway: no second resolution). */
int extractor_finish (struct extractor *x, struct berth_error **err);
int extractor_dir_done (void *x, int fd, const char *path, struct berth_error **err);
void extractor_free (struct extractor *x);
int64_t extractor_bytes (const struct extractor *x);
/* crc64 of a regular file written by this extractor, by inode. */
bool extractor_crc_lookup (void *x, ino_t ino, uint64_t *crc);

/* The manifest of a tree (tree.c): one line per entry, sorted by path:
 * "<path>\t<type><mode>\t<uid>:<gid>\t<size>\t<crc64|target|rdev>\t<opaque>".
 * hooks (optional): crc_lookup supplies checksums known from extraction
 * (files not found there are read); dir_done runs on each directory after
 * its entries were listed (path "" is the root, "usr/bin" others). */
struct tree_hooks
{
  bool (*crc_lookup) (void *data, ino_t ino, uint64_t *crc);
  int (*dir_done) (void *data, int fd, const char *path, struct berth_error **err);
  void *data;
};
int tree_listing (int dirfd, const struct tree_hooks *hooks, char **out, size_t *len,
                  struct berth_error **err);
