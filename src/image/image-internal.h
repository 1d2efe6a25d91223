/* Private to src/image: the store handle and the helpers its files share.
 * Nothing outside src/image includes this. */
#pragma once

#include <pthread.h>

#include "image/image.h"

struct image_store
{
  char *root;
  int rootfd;      /* <root> */
  int blobsfd;     /* <root>/blobs/sha256 */
  int layersfd;    /* <root>/layers */
  int snapshotsfd; /* <root>/snapshots */
  int tmpfd;       /* <root>/tmp */
  int partialfd;   /* <root>/partial: layer blobs being downloaded, kept
                      across a crash so a later pull resumes them */
  int lockfd;      /* <root>/lock, flock'ed for the store's lifetime */
  /* Serializes read-modify-write of images.json and removals. Recursive so
   * a public entry point can call another while holding it. */
  pthread_mutex_t mutex;
  image_in_use_fn in_use;
  void *in_use_data;
  /* Blobs and layers this process committed recently and that no image
   * references yet (a pull between its layers and its image record): gc
   * leaves them alone for PIN_TTL_NS. Guarded by pins_mutex. */
  json_t *pins;
  uint64_t last_pin; /* the newest pin's stamp (stamps never repeat) */
  /* Guards pins, and makes "is it there? pin it" (a pull that finds a
   * layer or blob) atomic against "is it pinned? remove it" (gc, discard). */
  pthread_mutex_t pins_mutex;
};

#define PIN_TTL_NS (3600ULL * 1000000000ULL)
/* A partial download nobody resumed for this long is swept when the store
 * opens; gc takes those idle for PIN_TTL_NS. */
#define PARTIAL_TTL_NS (24ULL * 3600ULL * 1000000000ULL)
/* Remove partial downloads not in use, older than max_age_ns, or whose
 * blob is already complete. */
void store_sweep_partials (struct image_store *s, uint64_t max_age_ns);
/* Pin (or re-pin) a digest; returns the pin's stamp, unique in the store. */
uint64_t store_pin (struct image_store *s, const char *digest);
/* An image now references it: gc may judge it by references again. */
void store_unpin (struct image_store *s, const char *digest);
/* Is the layer unpacked (no pin, unlike image_layer_exists). */
bool layer_present (struct image_store *s, const char *diff_id);
bool store_is_pinned (struct image_store *s, const char *digest);
/* The same with pins_mutex held by the caller. */
static inline void
store_pins_lock (struct image_store *s)
{
  pthread_mutex_lock (&s->pins_mutex);
}
static inline void
store_pins_unlock (struct image_store *s)
{
  pthread_mutex_unlock (&s->pins_mutex);
}
uint64_t store_pin_locked (struct image_store *s, const char *digest);
bool store_is_pinned_locked (struct image_store *s, const char *digest);
/* The stamp of a digest's pin (0: none). */
uint64_t store_pin_stamp_locked (struct image_store *s, const char *digest);

#define IMAGES_FILE "images.json"

static inline void
store_lock (struct image_store *s)
{
  pthread_mutex_lock (&s->mutex);
}
static inline void
store_unlock (struct image_store *s)
{
  pthread_mutex_unlock (&s->mutex);
}
static inline void
store_unlockp (struct image_store **s)
{
  if (*s)
    store_unlock (*s);
}
/* Hold the store's mutex until the end of the scope. */
#define STORE_LOCKED(s)                                                                            \
  __attribute__ ((cleanup (store_unlockp))) struct image_store *_store_locked_ = (s);              \
  store_lock (_store_locked_)

/* "sha256:<hex>" -> "<hex>" (NULL when not a valid digest). */
const char *digest_hex (const char *digest);

/* A new unique directory under tmp/ ("<prefix>-<random>"); returns its fd
 * (O_DIRECTORY) and name. */
int store_tmpdir_create (struct image_store *s, const char *prefix, char **name,
                         struct berth_error **err);

/* Incremental sha256 (OpenSSL EVP). */
struct sha256_ctx;
struct sha256_ctx *sha256_ctx_new (void);
void sha256_ctx_update (struct sha256_ctx *c, const void *buf, size_t len);
/* "sha256:<hex>"; the context can be freed afterwards. */
char *sha256_ctx_digest (struct sha256_ctx *c);
void sha256_ctx_free (struct sha256_ctx *c);
static inline void
sha256_ctx_freep (struct sha256_ctx **c)
{
  if (*c)
    sha256_ctx_free (*c);
  *c = NULL;
}
#define _cleanup_sha256_ _cleanup_ (sha256_ctx_freep)

/* Streaming blob writer internals shared with layer unpack. */
struct image_blob_writer *blob_writer_new (struct image_store *s, const char *expected_digest,
                                           int64_t expected_size, struct berth_error **err);
/* image_blob_writer_commit, also telling the stamp of the pin it set when
 * this writer put the blob in place (0 when the blob was there already). */
int blob_writer_commit_stamped (struct image_blob_writer *w, char **digest_out, uint64_t *stamp,
                                struct berth_error **err);
int64_t blob_writer_bytes (const struct image_blob_writer *w);
/* The caller hashes every byte it writes and compares with the expected
 * digest itself before commit: the writer skips its own sha256 and commits
 * under the expected digest (size is still checked). Only before the first
 * write and only with an expected digest; false otherwise. */
bool blob_writer_hashed_by_caller (struct image_blob_writer *w);
/* A writer into partial/<hex> (expected digest and size required): what an
 * earlier writer of the same blob left there is kept (*kept bytes, to be
 * replayed by the caller) and appended to. Falls back to an unnamed file
 * (*kept = 0) when another writer of this process holds the partial. */
struct image_blob_writer *blob_writer_new_partial (struct image_store *s,
                                                   const char *expected_digest,
                                                   int64_t expected_size, int64_t *kept,
                                                   struct berth_error **err);
/* The writer's file (for reading back kept bytes). */
int blob_writer_fd (const struct image_blob_writer *w);
/* On abort, leave a partial file for a later resume (default: removed). */
void blob_writer_keep_partial (struct image_blob_writer *w);

/* images.json: {"images": {id: record}, "tags": {"name:tag": id}}. */
json_t *images_db_load (struct image_store *s, struct berth_error **err);
int images_db_save (struct image_store *s, json_t *db, struct berth_error **err);

/* Layer metadata (layers/<hex>/meta.json). */
json_t *layer_meta_load (struct image_store *s, const char *diff_id, struct berth_error **err);
/* Open layers/<hex>/diff as an O_PATH directory fd. */
int layer_diff_open (struct image_store *s, const char *diff_id, struct berth_error **err);
/* Remove a layer directory (atomically renamed away first) unless it is
 * pinned: with unless_stamp 0, by any pin younger than PIN_TTL_NS; else by
 * any pin but the one with that stamp (a claim's own). *removed (optional)
 * tells whether it went. */
int layer_remove (struct image_store *s, const char *diff_id, uint64_t unless_stamp, bool *removed,
                  struct berth_error **err);
/* The same for a blob. */
int blob_remove (struct image_store *s, const char *digest, uint64_t unless_stamp, bool *removed,
                 struct berth_error **err);

/* Write a tar of the tree under dirfd to out (optionally compressed).
 * whiteouts_from_overlay: overlay whiteouts (0/0 char devices) and opaque
 * xattrs become .wh. entries (diffs of snapshots). Computes the sha256 of
 * the uncompressed stream (*diff_id) and of the output (*digest), sizes. */
struct tar_write_result
{
  char *diff_id;
  char *digest;
  int64_t size;     /* output bytes */
  int64_t tar_size; /* uncompressed bytes */
};
int tar_write_tree (int dirfd, int out_fd, enum image_compression compression,
                    bool whiteouts_from_overlay, struct tar_write_result *res,
                    struct berth_error **err);
void tar_write_result_clear (struct tar_write_result *r);

/* Generate and store a Docker v2 schema 2 manifest for a config + its layers. */
int manifest_generate (struct image_store *s, const char *config_digest, char **digest_out,
                       struct berth_error **err);

/* Is a blob/layer referenced by any image or snapshot (for gc). */
int store_collect_refs (struct image_store *s, json_t **blobs, json_t **layers,
                        struct berth_error **err);
/* Remove unreferenced layers/blobs (caller holds the mutex). */
/* removed_layers (optional): diff ids of the layers removed are appended. */
int store_gc_locked (struct image_store *s, int64_t *freed, json_t *removed_layers,
                     struct berth_error **err);

/* image_layer_unpack_fd, skipping extraction when expected_diff_id is
 * already unpacked (the stream is still verified and its blob kept). */
int layer_unpack_fd_verified (struct image_store *s, int fd, const char *expected_digest,
                              const char *media_type, const char *expected_diff_id,
                              char **diff_id_out, struct berth_error **err);

/* commit.c: a new config on top of a parent's (NULL for a fresh image). */
json_t *config_derive (json_t *parent_cfg, const char *diff_id, const json_t *config,
                       const char *comment, const char *author, const char *container_id,
                       const char *created_by);
/* Pack a tree and unpack it as a layer (blob kept compressed). */
int layer_from_tree (struct image_store *s, int dirfd, bool overlay_whiteouts,
                     enum image_compression compression, char **diff_id, struct berth_error **err);
