/* Layers: the streaming unpack pipeline and the layer directory
 * (layers/<diffid hex>/{diff/, meta.json, tree}). One pass in two stages:
 * the caller's thread keeps and hashes the compressed blob and inflates
 * (ISA-L igzip / zstd / plain) straight into a ring of chunks; a stage
 * thread hashes the tar stream (diff_id), parses it and extracts it
 * fd-relative. A layer appears by one rename of a finished tmp/ directory,
 * so it is complete or absent. */
#include "image/image-internal.h"
#include "image/tar-internal.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#define OUT_BUF_SIZE (256 * 1024)
/* The ring between the stages: inflate writes into a chunk, the tar stage
 * consumes whole chunks (no copy in between). 2 MB keeps both stages busy
 * through the jitter of a loaded machine. */
#define CHUNK_SIZE (256 * 1024)
#define CHUNK_COUNT 8

/* The tar stage: sha256 of the tar stream + parse + extract, on its own
 * thread. Slots [tail, head) are the stage's; slot head % CHUNK_COUNT is the
 * producer's while it fills it (fill bytes so far). */
struct tar_stage
{
  pthread_mutex_t mu;
  pthread_cond_t filled; /* producer -> stage */
  pthread_cond_t freed;  /* stage -> producer */
  unsigned char *buf;    /* CHUNK_COUNT * CHUNK_SIZE */
  size_t len[CHUNK_COUNT];
  uint64_t head, tail;
  size_t fill;
  bool is_eof, is_stopped, is_failed;
  struct berth_error *err; /* the stage's failure, handed to the producer */
  pthread_t thread;
  bool has_thread;
};

struct image_layer_unpack
{
  struct image_store *store;
  struct image_blob_writer *blob;
  enum image_compression compression; /* AUTO until sniffed */
  char *media_type;                   /* as given, or from the sniffed compression */
  unsigned char sniff[8];
  size_t sniff_len;
  struct inflate_state *gz;
  bool gz_done; /* the last gzip member ended */
  ZSTD_DStream *zs;
  size_t zs_last; /* last ZSTD_decompressStream return: 0 = frame complete */
  unsigned char *out; /* deflate output (recompress mode) */
  struct tar_stage stage;
  struct sha256_ctx *diff_sha;
  int64_t tar_size;
  struct tar_parser *tar;
  struct extractor *x; /* NULL: verify only (layer already present) */
  char *tmpname;       /* tmp/<tmpname>/diff */
  int tmpfd;
  char *expected_diff_id;
  int64_t kept; /* compressed bytes kept from an earlier, interrupted pull */
  bool failed;
  /* Nobody named the blob (load, import): a plain tar is kept as a gzip
   * blob (ISA-L deflate, same pass), not as a second uncompressed copy, and
   * is ready to push. */
  bool recompress;
  struct isal_zstream *def;
  unsigned char *def_level_buf;
};

/* ------------------------------------------------------ the tar stage -- */

static void *
stage_main (void *opaque)
{
  struct image_layer_unpack *u = opaque;
  struct tar_stage *st = &u->stage;
  struct berth_error *e = NULL;
  for (;;)
    {
      pthread_mutex_lock (&st->mu);
      while (st->head == st->tail && !st->is_eof && !st->is_stopped)
        pthread_cond_wait (&st->filled, &st->mu);
      if (st->is_stopped || st->head == st->tail)
        {
          pthread_mutex_unlock (&st->mu);
          break;
        }
      size_t slot = st->tail % CHUNK_COUNT;
      size_t len = st->len[slot];
      pthread_mutex_unlock (&st->mu);

      /* The chunk is ours until tail moves. */
      const unsigned char *p = st->buf + slot * CHUNK_SIZE;
      sha256_ctx_update (u->diff_sha, p, len);
      u->tar_size += (int64_t)len;
      int rc = u->tar ? tar_parser_feed (u->tar, p, len, &e) : 0;

      pthread_mutex_lock (&st->mu);
      st->tail++;
      if (rc < 0)
        {
          st->is_failed = true;
          st->err = steal_pointer (&e);
        }
      pthread_cond_signal (&st->freed);
      pthread_mutex_unlock (&st->mu);
      if (rc < 0)
        break;
    }
  return NULL;
}

static int
stage_start (struct image_layer_unpack *u, struct berth_error **err)
{
  struct tar_stage *st = &u->stage;
  pthread_mutex_init (&st->mu, NULL);
  pthread_cond_init (&st->filled, NULL);
  pthread_cond_init (&st->freed, NULL);
  st->buf = malloc ((size_t)CHUNK_COUNT * CHUNK_SIZE);
  if (st->buf == NULL)
    abort ();
  int r = pthread_create (&st->thread, NULL, stage_main, u);
  if (r != 0)
    return berth_error_set (err, r, "start the layer's tar thread");
  st->has_thread = true;
  return 0;
}

/* Moves the stage's error into *err (the first error wins). */
static int
stage_error_take (struct tar_stage *st, struct berth_error **err)
{
  if (err && *err == NULL)
    *err = steal_pointer (&st->err);
  return -1;
}

/* Joins the stage thread however it stands (abort, failure, or done). */
static void
stage_stop (struct image_layer_unpack *u)
{
  struct tar_stage *st = &u->stage;
  if (st->has_thread)
    {
      pthread_mutex_lock (&st->mu);
      st->is_stopped = true;
      pthread_cond_signal (&st->filled);
      pthread_mutex_unlock (&st->mu);
      pthread_join (st->thread, NULL);
      st->has_thread = false;
    }
  if (st->buf)
    {
      free (st->buf);
      st->buf = NULL;
      if (st->err)
        berth_error_free (steal_pointer (&st->err));
      pthread_mutex_destroy (&st->mu);
      pthread_cond_destroy (&st->filled);
      pthread_cond_destroy (&st->freed);
    }
}

/* Room in the producer's chunk: waits for a free one when needed. */
static unsigned char *
stage_room (struct tar_stage *st, size_t *room, struct berth_error **err)
{
  if (st->fill == 0)
    {
      pthread_mutex_lock (&st->mu);
      while (st->head - st->tail == CHUNK_COUNT && !st->is_failed)
        pthread_cond_wait (&st->freed, &st->mu);
      bool failed = st->is_failed;
      pthread_mutex_unlock (&st->mu);
      if (failed)
        {
          stage_error_take (st, err);
          return NULL;
        }
    }
  *room = CHUNK_SIZE - st->fill;
  return st->buf + (st->head % CHUNK_COUNT) * CHUNK_SIZE + st->fill;
}

static void
stage_publish (struct tar_stage *st)
{
  if (st->fill == 0)
    return;
  pthread_mutex_lock (&st->mu);
  st->len[st->head % CHUNK_COUNT] = st->fill;
  st->head++;
  st->fill = 0;
  pthread_cond_signal (&st->filled);
  pthread_mutex_unlock (&st->mu);
}

/* n bytes were written at stage_room(): a full chunk goes to the stage. */
static void
stage_commit (struct tar_stage *st, size_t n)
{
  st->fill += n;
  if (st->fill == CHUNK_SIZE)
    stage_publish (st);
}

/* End of the tar stream: waits for the stage to consume it all. */
static int
stage_finish (struct image_layer_unpack *u, struct berth_error **err)
{
  struct tar_stage *st = &u->stage;
  stage_publish (st);
  pthread_mutex_lock (&st->mu);
  st->is_eof = true;
  pthread_cond_signal (&st->filled);
  pthread_mutex_unlock (&st->mu);
  pthread_join (st->thread, NULL);
  st->has_thread = false;
  if (st->is_failed)
    return stage_error_take (st, err);
  return 0;
}

static void
unpack_free (struct image_layer_unpack *u)
{
  if (u == NULL)
    return;
  stage_stop (u);
  if (u->blob)
    image_blob_writer_abort (u->blob);
  free (u->def);
  free (u->def_level_buf);
  free (u->media_type);
  free (u->gz);
  if (u->zs)
    ZSTD_freeDStream (u->zs);
  free (u->out);
  if (u->diff_sha)
    sha256_ctx_free (u->diff_sha);
  tar_parser_free (u->tar);
  extractor_free (u->x);
  closep (&u->tmpfd);
  if (u->tmpname)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      if (fs_rm_rf_at (u->store->tmpfd, u->tmpname, &err) < 0)
        berth_log (BERTH_LOG_WARNING, "remove tmp/%s: %s (swept on next open)", u->tmpname,
                   err->msg);
      free (u->tmpname);
    }
  free (u->expected_diff_id);
  free (u);
}

void
image_layer_unpack_abort (struct image_layer_unpack *u)
{
  unpack_free (u);
}

bool
image_layer_unpack_blob_hashed_by_caller (struct image_layer_unpack *u)
{
  return !u->recompress && u->compression == IMAGE_COMPRESSION_AUTO && u->blob
         && blob_writer_hashed_by_caller (u->blob);
}

static enum image_compression
compression_of_media_type (const char *mt)
{
  const char *c = image_layer_media_compression (mt);
  if (c == NULL)
    return IMAGE_COMPRESSION_AUTO;
  return strcmp (c, "gzip") == 0   ? IMAGE_COMPRESSION_GZIP
         : strcmp (c, "zstd") == 0 ? IMAGE_COMPRESSION_ZSTD
                                   : IMAGE_COMPRESSION_NONE;
}

static struct image_layer_unpack *
unpack_begin (struct image_store *s, const char *expected_digest, int64_t expected_size,
              const char *media_type, const char *expected_diff_id, bool is_resumable,
              struct berth_error **err)
{
  if (expected_diff_id && !digest_is_valid (expected_diff_id))
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid diff id `%s`", expected_diff_id);
      return NULL;
    }
  if (media_type && image_layer_media_compression (media_type) == NULL)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "unsupported layer media type `%s`",
                            media_type);
      return NULL;
    }
  struct image_layer_unpack *u = calloc (1, sizeof *u);
  if (u == NULL)
    abort ();
  u->store = s;
  u->tmpfd = -1;
  u->media_type = media_type ? xstrdup (media_type) : NULL;
  u->expected_diff_id = expected_diff_id ? xstrdup (expected_diff_id) : NULL;
  u->recompress = expected_digest == NULL && expected_size < 0;
  u->blob = is_resumable
                ? blob_writer_new_partial (s, expected_digest, expected_size, &u->kept, err)
                : blob_writer_new (s, expected_digest, expected_size, err);
  if (u->blob == NULL)
    {
      unpack_free (u);
      return NULL;
    }
  u->diff_sha = sha256_ctx_new ();
  if (!(expected_diff_id && image_layer_exists (s, expected_diff_id))) /* pins it if there */
    {
      u->tmpfd = store_tmpdir_create (s, "unpack", &u->tmpname, err);
      if (u->tmpfd < 0 || mkdirat (u->tmpfd, "diff", 0755) < 0)
        {
          if (u->tmpfd >= 0)
            berth_error_set (err, errno, "mkdir tmp/%s/diff", u->tmpname);
          image_layer_unpack_abort_keep (u); /* kept bytes are not at fault */
          return NULL;
        }
      _cleanup_close_ int diff = openat (u->tmpfd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (diff < 0 || (u->x = extractor_new (diff, err)) == NULL)
        {
          if (diff < 0)
            berth_error_set (err, errno, "open tmp/%s/diff", u->tmpname);
          image_layer_unpack_abort_keep (u); /* kept bytes are not at fault */
          return NULL;
        }
      u->tar = tar_parser_new (&extractor_callbacks, u->x);
    }
  if (stage_start (u, err) < 0)
    {
      image_layer_unpack_abort_keep (u); /* kept bytes are not at fault */
      return NULL;
    }
  return u;
}

struct image_layer_unpack *
image_layer_unpack_begin_verified (struct image_store *s, const char *expected_digest,
                                   int64_t expected_size, const char *media_type,
                                   const char *expected_diff_id, struct berth_error **err)
{
  return unpack_begin (s, expected_digest, expected_size, media_type, expected_diff_id, false,
                       err);
}

struct image_layer_unpack *
image_layer_unpack_begin_resumable (struct image_store *s, const char *expected_digest,
                                    int64_t expected_size, const char *media_type,
                                    const char *expected_diff_id, struct berth_error **err)
{
  if (expected_digest == NULL || expected_size < 0)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0,
                            "a resumable unpack needs the blob's digest and size");
      return NULL;
    }
  return unpack_begin (s, expected_digest, expected_size, media_type, expected_diff_id, true, err);
}

int64_t
image_layer_unpack_kept_bytes (const struct image_layer_unpack *u)
{
  return u->kept;
}

void
image_layer_unpack_abort_keep (struct image_layer_unpack *u)
{
  if (u && u->blob && !u->failed)
    blob_writer_keep_partial (u->blob);
  unpack_free (u);
}

struct image_layer_unpack *
image_layer_unpack_begin (struct image_store *s, const char *expected_digest, int64_t expected_size,
                          const char *media_type, struct berth_error **err)
{
  return image_layer_unpack_begin_verified (s, expected_digest, expected_size, media_type, NULL,
                                            err);
}

/* An uncompressed layer's bytes: copied into the ring (the caller's buffer
 * is not ours after write returns). */
static int
tar_push (struct image_layer_unpack *u, const unsigned char *buf, size_t len,
          struct berth_error **err)
{
  while (len > 0)
    {
      size_t room;
      unsigned char *dst = stage_room (&u->stage, &room, err);
      if (dst == NULL)
        return -1;
      size_t n = len < room ? len : room;
      memcpy (dst, buf, n);
      stage_commit (&u->stage, n);
      buf += n;
      len -= n;
    }
  return 0;
}

static int
gzip_push (struct image_layer_unpack *u, const unsigned char *in, size_t len,
           struct berth_error **err)
{
  struct inflate_state *st = u->gz;
  st->next_in = (uint8_t *)in;
  st->avail_in = (uint32_t)len;
  for (;;)
    {
      if (u->gz_done)
        {
          if (st->avail_in == 0)
            return 0;
          /* concatenated gzip members are one stream (gzip(1), Go) */
          const uint8_t *rest = st->next_in;
          uint32_t rest_len = st->avail_in;
          isal_inflate_init (st);
          st->crc_flag = ISAL_GZIP;
          st->next_in = (uint8_t *)rest;
          st->avail_in = rest_len;
          u->gz_done = false;
        }
      size_t room;
      unsigned char *dst = stage_room (&u->stage, &room, err);
      if (dst == NULL)
        return -1;
      st->next_out = dst;
      st->avail_out = (uint32_t)room;
      int r = isal_inflate (st);
      if (r < 0)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "gzip: %s (code %d)",
                                     r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
                                     : r == ISAL_INVALID_WRAPPER  ? "invalid gzip header"
                                                                  : "corrupt deflate data",
                                     r);
      stage_commit (&u->stage, room - st->avail_out);
      if (st->block_state == ISAL_BLOCK_FINISH)
        {
          u->gz_done = true;
          continue;
        }
      if (st->avail_in == 0 && st->avail_out > 0)
        return 0;
    }
}

static int
zstd_push (struct image_layer_unpack *u, const unsigned char *in, size_t len,
           struct berth_error **err)
{
  ZSTD_inBuffer ib = { in, len, 0 };
  for (;;)
    {
      size_t room;
      unsigned char *dst = stage_room (&u->stage, &room, err);
      if (dst == NULL)
        return -1;
      ZSTD_outBuffer ob = { dst, room, 0 };
      size_t r = ZSTD_decompressStream (u->zs, &ob, &ib);
      if (ZSTD_isError (r))
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "zstd: %s", ZSTD_getErrorName (r));
      u->zs_last = r;
      stage_commit (&u->stage, ob.pos);
      if (ib.pos == ib.size && ob.pos < ob.size)
        return 0;
    }
}

static int
decompress_push (struct image_layer_unpack *u, const unsigned char *in, size_t len,
                 struct berth_error **err)
{
  switch (u->compression)
    {
    case IMAGE_COMPRESSION_GZIP:
      return gzip_push (u, in, len, err);
    case IMAGE_COMPRESSION_ZSTD:
      return zstd_push (u, in, len, err);
    default:
      return tar_push (u, in, len, err);
    }
}

/* docker's DecompressStream sniffs the magic bytes rather than trusting the
 * media type; so do we (a registry's media type is a claim, too). */
static void
compression_pick (struct image_layer_unpack *u)
{
  const unsigned char *m = u->sniff;
  if (u->sniff_len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
    u->compression = IMAGE_COMPRESSION_GZIP;
  else if (u->sniff_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    u->compression = IMAGE_COMPRESSION_ZSTD;
  else
    u->compression = IMAGE_COMPRESSION_NONE;
  if (u->compression == IMAGE_COMPRESSION_GZIP)
    {
      u->gz = malloc (sizeof *u->gz);
      if (u->gz == NULL)
        abort ();
      isal_inflate_init (u->gz);
      u->gz->crc_flag = ISAL_GZIP;
    }
  else if (u->compression == IMAGE_COMPRESSION_ZSTD)
    {
      u->zs = ZSTD_createDStream ();
      if (u->zs == NULL)
        abort ();
      ZSTD_initDStream (u->zs);
    }
  if (u->media_type == NULL)
    u->media_type = xstrdup (u->compression == IMAGE_COMPRESSION_GZIP ? IMAGE_MT_DOCKER_LAYER_GZIP
                             : u->compression == IMAGE_COMPRESSION_ZSTD
                                 ? IMAGE_MT_OCI_LAYER_ZSTD
                                 : "application/vnd.docker.image.rootfs.diff.tar");
  else if (compression_of_media_type (u->media_type) != u->compression)
    berth_log (BERTH_LOG_DEBUG, "layer media type %s does not match its content; using content",
               u->media_type);
}

/* Bytes for the kept blob in recompress mode: as they are, or deflated. */
static int
blob_feed (struct image_layer_unpack *u, const unsigned char *buf, size_t len, bool end,
           struct berth_error **err)
{
  if (u->def == NULL)
    return len ? image_blob_writer_write (u->blob, buf, len, err) : 0;
  struct isal_zstream *z = u->def;
  z->next_in = (uint8_t *)buf;
  z->avail_in = (uint32_t)len;
  z->end_of_stream = end;
  do
    {
      z->next_out = u->out;
      z->avail_out = OUT_BUF_SIZE;
      if (isal_deflate (z) != COMP_OK)
        return berth_error_set (err, EIO, "deflate layer blob");
      size_t n = OUT_BUF_SIZE - z->avail_out;
      if (n && image_blob_writer_write (u->blob, u->out, n, err) < 0)
        return -1;
    }
  while (z->avail_in > 0 || (end && z->internal_state.state != ZSTATE_END));
  return 0;
}

static int
sniff_done (struct image_layer_unpack *u, struct berth_error **err)
{
  compression_pick (u);
  if (u->recompress && u->compression == IMAGE_COMPRESSION_NONE)
    {
      u->def = calloc (1, sizeof *u->def);
      u->def_level_buf = malloc (ISAL_DEF_LVL1_DEFAULT);
      u->out = malloc (OUT_BUF_SIZE);
      if (u->def == NULL || u->def_level_buf == NULL || u->out == NULL)
        abort ();
      isal_deflate_init (u->def);
      u->def->level = 1;
      u->def->level_buf = u->def_level_buf;
      u->def->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
      u->def->gzip_flag = IGZIP_GZIP;
      free (u->media_type);
      u->media_type = xstrdup (IMAGE_MT_DOCKER_LAYER_GZIP);
    }
  if (u->recompress && blob_feed (u, u->sniff, u->sniff_len, false, err) < 0)
    return -1;
  return decompress_push (u, u->sniff, u->sniff_len, err);
}

static int
unpack_write (struct image_layer_unpack *u, const unsigned char *buf, size_t len,
              struct berth_error **err)
{
  if (u->compression == IMAGE_COMPRESSION_AUTO)
    {
      size_t n = sizeof u->sniff - u->sniff_len < len ? sizeof u->sniff - u->sniff_len : len;
      memcpy (u->sniff + u->sniff_len, buf, n);
      u->sniff_len += n;
      buf += n;
      len -= n;
      if (u->sniff_len < sizeof u->sniff)
        return 0;
      if (sniff_done (u, err) < 0)
        return -1;
    }
  if (len == 0)
    return 0;
  /* the blob gets the bytes first: the output buffer is shared */
  if (u->recompress && blob_feed (u, buf, len, false, err) < 0)
    return -1;
  return decompress_push (u, buf, len, err);
}

int
image_layer_unpack_write (struct image_layer_unpack *u, const void *buf, size_t len,
                          struct berth_error **err)
{
  if (u->failed)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "layer unpack already failed");
  if ((!u->recompress && image_blob_writer_write (u->blob, buf, len, err) < 0)
      || unpack_write (u, buf, len, err) < 0)
    {
      u->failed = true;
      return -1;
    }
  return 0;
}

int
image_layer_unpack_replay (struct image_layer_unpack *u,
                           int (*fn) (void *data, const void *buf, size_t len), void *data,
                           struct berth_error **err)
{
  if (u->failed)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "layer unpack already failed");
  int fd = blob_writer_fd (u->blob);
  _cleanup_free_ unsigned char *buf = malloc (OUT_BUF_SIZE);
  if (buf == NULL)
    abort ();
  for (int64_t off = 0; off < u->kept;)
    {
      size_t want = u->kept - off < OUT_BUF_SIZE ? (size_t)(u->kept - off) : OUT_BUF_SIZE;
      ssize_t n = pread (fd, buf, want, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          u->failed = true;
          return berth_error_set (err, n < 0 ? errno : EIO, "read the kept part of the layer");
        }
      if (fn && fn (data, buf, (size_t)n) != 0)
        return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "replay canceled");
      /* through inflate and extraction again; the blob file has them */
      if (unpack_write (u, buf, (size_t)n, err) < 0)
        {
          u->failed = true;
          return -1;
        }
      off += n;
    }
  return 0;
}

static int
layer_meta_write (struct image_layer_unpack *u, const char *diff_id, const char *blob_digest,
                  int64_t blob_size, struct berth_error **err)
{
  _cleanup_close_ int diff = openat (u->tmpfd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (diff < 0)
    return berth_error_set (err, errno, "open tmp/%s/diff", u->tmpname);
  _cleanup_free_ char *tree = NULL;
  size_t tree_len = 0;
  /* the walk also gives each directory its recorded time, last */
  struct tree_hooks hooks
      = { .crc_lookup = extractor_crc_lookup, .dir_done = extractor_dir_done, .data = u->x };
  if (tree_listing (diff, &hooks, &tree, &tree_len, err) < 0)
    return berth_error_prefix (err, "list layer");
  _cleanup_free_ char *tree_digest = sha256_digest (tree, tree_len);
  if (fs_write_file_atomic (u->tmpfd, "tree", tree, tree_len, 0600, err) < 0)
    return -1;
  _cleanup_json_ json_t *meta
      = json_pack ("{s:s,s:I,s:I,s:s,s:{s:s,s:I,s:s}}", "diff_id", diff_id, "size",
                   (json_int_t)extractor_bytes (u->x), "tar_size", (json_int_t)u->tar_size,
                   "tree_digest", tree_digest, "blob", "digest", blob_digest, "size",
                   (json_int_t)blob_size, "media_type", u->media_type);
  return json_save_atomic (u->tmpfd, "meta.json", meta, err);
}

static int
unpack_finish (struct image_layer_unpack *u, char **diff_id_out, struct image_layer_claim *claim,
               struct berth_error **err)
{
  struct image_store *s = u->store;
  if (u->failed)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "layer unpack already failed");
  if (u->compression == IMAGE_COMPRESSION_AUTO && sniff_done (u, err) < 0)
    return -1;
  if (u->def && blob_feed (u, NULL, 0, true, err) < 0)
    return -1;
  if (u->compression == IMAGE_COMPRESSION_GZIP && !u->gz_done)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "gzip: unexpected end of stream");
  if (u->compression == IMAGE_COMPRESSION_ZSTD && u->zs_last != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "zstd: unexpected end of stream");
  if (stage_finish (u, err) < 0)
    return -1;
  if (u->tar && tar_parser_finish (u->tar, err) < 0)
    return -1;
  _cleanup_free_ char *diff_id = sha256_ctx_digest (u->diff_sha);
  if (u->expected_diff_id && strcmp (diff_id, u->expected_diff_id) != 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "diff id mismatch: the config says %s, the layer is %s",
                                 u->expected_diff_id, diff_id);
  if (u->x && extractor_finish (u->x, err) < 0)
    return -1;
  /* The blob's commit verifies the compressed digest and size: nothing of
   * the layer is committed before that passes. */
  int64_t blob_size = blob_writer_bytes (u->blob);
  _cleanup_free_ char *blob_digest = NULL;
  uint64_t blob_pin = 0;
  if (blob_writer_commit_stamped (steal_pointer (&u->blob), &blob_digest, &blob_pin, err) < 0)
    return -1;
  if (u->x == NULL)
    {
      store_pin (s, diff_id);
      goto done;
    }
  if (layer_meta_write (u, diff_id, blob_digest, blob_size, err) < 0)
    return -1;
  closep (&u->tmpfd);
  for (;;)
    {
      /* Renamed and pinned in one step against a discard or gc. */
      store_pins_lock (s);
      int r = renameat (s->tmpfd, u->tmpname, s->layersfd, digest_hex (diff_id));
      int e = errno;
      if (r == 0 || layer_present (s, diff_id))
        {
          uint64_t pin = store_pin_locked (s, diff_id);
          if (r == 0 && claim)
            {
              /* The claim covers the blob only if nobody else pinned it
               * since this unpack linked it in. */
              claim->layer_pin = pin;
              claim->blob_pin = blob_pin && store_pin_stamp_locked (s, blob_digest) == blob_pin
                                    ? store_pin_locked (s, blob_digest)
                                    : 0;
            }
        }
      store_pins_unlock (s);
      if (r == 0)
        {
          free (u->tmpname);
          u->tmpname = NULL;
          if (fsync (s->layersfd) < 0)
            return berth_error_set (err, errno, "fsync layers/");
          break;
        }
      if (e != EEXIST && e != ENOTEMPTY)
        return berth_error_set (err, e, "commit layer %s", diff_id);
      /* Another unpack of the same layer won: keep that one (unless it
       * was discarded meanwhile: then try again). */
      if (layer_present (s, diff_id))
        break;
    }
done:
  if (diff_id_out)
    *diff_id_out = steal_pointer (&diff_id);
  return 0;
}

int
image_layer_unpack_finish (struct image_layer_unpack *u, char **diff_id_out,
                           struct berth_error **err)
{
  return image_layer_unpack_finish_claim (u, diff_id_out, NULL, err);
}

int
image_layer_unpack_finish_claim (struct image_layer_unpack *u, char **diff_id_out,
                                 struct image_layer_claim *claim, struct berth_error **err)
{
  if (claim)
    *claim = (struct image_layer_claim){ 0 };
  int r = unpack_finish (u, diff_id_out, claim, err);
  if (r < 0)
    berth_error_prefix (err, "unpack layer");
  unpack_free (u);
  return r;
}

int
image_layer_unpack_fd (struct image_store *s, int fd, const char *expected_digest,
                       const char *media_type, char **diff_id_out, struct berth_error **err)
{
  return layer_unpack_fd_verified (s, fd, expected_digest, media_type, NULL, diff_id_out, err);
}

int
layer_unpack_fd_verified (struct image_store *s, int fd, const char *expected_digest,
                          const char *media_type, const char *expected_diff_id, char **diff_id_out,
                          struct berth_error **err)
{
  struct image_layer_unpack *u = image_layer_unpack_begin_verified (
      s, expected_digest, -1, media_type, expected_diff_id, err);
  if (u == NULL)
    return -1;
  /* heap, not TLS: a __thread buffer costs every thread its size */
  const size_t buf_size = 1 << 17;
  _cleanup_free_ unsigned char *buf = malloc (buf_size);
  if (buf == NULL)
    {
      image_layer_unpack_abort (u);
      return berth_error_set (err, ENOMEM, "read buffer");
    }
  for (;;)
    {
      ssize_t n = read (fd, buf, buf_size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          image_layer_unpack_abort (u);
          return berth_error_set (err, errno, "read layer");
        }
      if (n == 0)
        break;
      if (image_layer_unpack_write (u, buf, (size_t)n, err) < 0)
        {
          image_layer_unpack_abort (u);
          return berth_error_prefix (err, "unpack layer");
        }
    }
  return image_layer_unpack_finish (u, diff_id_out, err);
}

/* ------------------------------------------------------ layer records -- */

bool
layer_present (struct image_store *s, const char *diff_id)
{
  const char *hex = digest_hex (diff_id);
  struct stat st;
  return hex && fstatat (s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

bool
image_layer_exists (struct image_store *s, const char *diff_id)
{
  /* A pull that skips a present layer records its image later: until then
   * a concurrent rmi's gc (or a failed pull's discard) must not take the
   * layer away; found and pinned in one step against their removal. */
  store_pins_lock (s);
  bool exists = layer_present (s, diff_id);
  if (exists)
    store_pin_locked (s, diff_id);
  store_pins_unlock (s);
  return exists;
}

json_t *
layer_meta_load (struct image_store *s, const char *diff_id, struct berth_error **err)
{
  const char *hex = digest_hex (diff_id);
  if (hex == NULL)
    {
      berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid diff id `%s`", diff_id);
      return NULL;
    }
  _cleanup_free_ char *path = xasprintf ("%s/meta.json", hex);
  json_t *j = json_load_path (s->layersfd, path, err);
  if (j == NULL)
    berth_error_prefix (err, "layer %s", diff_id);
  return j;
}

int
layer_diff_open (struct image_store *s, const char *diff_id, struct berth_error **err)
{
  const char *hex = digest_hex (diff_id);
  if (hex == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid diff id `%s`", diff_id);
  _cleanup_free_ char *path = xasprintf ("%s/diff", hex);
  int fd = openat (s->layersfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berth_error_set_kind (err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
                                 "layer %s", diff_id);
  return fd;
}

int
layer_remove (struct image_store *s, const char *diff_id, uint64_t unless_stamp, bool *removed,
              struct berth_error **err)
{
  const char *hex = digest_hex (diff_id);
  if (removed)
    *removed = false;
  if (hex == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid diff id `%s`", diff_id);
  /* Renamed away first: a kill -9 halfway leaves a layer that is either
   * whole or only in tmp/ (swept on open), never half of one. The rename
   * and the pin check are one step against a pull finding the layer. */
  char rnd[SHA256_HEX_LEN + 1];
  random_id_hex (rnd);
  _cleanup_free_ char *name = xasprintf ("rm-%.24s", rnd);
  store_pins_lock (s);
  bool keep = unless_stamp ? store_pin_stamp_locked (s, diff_id) != unless_stamp
                           : store_is_pinned_locked (s, diff_id);
  int r = keep ? 0 : renameat (s->layersfd, hex, s->tmpfd, name);
  int e = errno;
  if (!keep && r == 0)
    json_object_del (s->pins, diff_id);
  store_pins_unlock (s);
  if (keep || (r < 0 && e == ENOENT))
    return 0;
  if (r < 0)
    return berth_error_set (err, e, "remove layer %s", diff_id);
  if (removed)
    *removed = true;
  fsync (s->layersfd);
  return fs_rm_rf_at (s->tmpfd, name, err);
}

int
image_layer_discard (struct image_store *s, const char *diff_id,
                     const struct image_layer_claim *claim, struct berth_error **err)
{
  if (claim == NULL || claim->layer_pin == 0)
    return 0;
  /* References are judged under the store's lock (an image recorded with
   * this layer saves images.json under it before it unpins). */
  STORE_LOCKED (s);
  _cleanup_json_ json_t *blobs = NULL;
  _cleanup_json_ json_t *layers = NULL;
  if (store_collect_refs (s, &blobs, &layers, err) < 0)
    return berth_error_prefix (err, "discard layer %s", diff_id);
  if (json_object_get (layers, diff_id))
    return 0;
  _cleanup_free_ char *blob = NULL;
  _cleanup_error_ struct berth_error *e = NULL;
  image_layer_blob (s, diff_id, &blob, NULL, NULL, &e);
  bool removed = false;
  if (layer_remove (s, diff_id, claim->layer_pin, &removed, err) < 0)
    return berth_error_prefix (err, "discard");
  if (removed && blob && claim->blob_pin && !json_object_get (blobs, blob)
      && blob_remove (s, blob, claim->blob_pin, NULL, err) < 0)
    return berth_error_prefix (err, "discard layer %s", diff_id);
  return 0;
}

int
image_layer_blob (struct image_store *s, const char *diff_id, char **digest, char **media_type,
                  int64_t *size, struct berth_error **err)
{
  _cleanup_json_ json_t *meta = layer_meta_load (s, diff_id, err);
  if (meta == NULL)
    return -1;
  json_t *b = json_object_get (meta, "blob");
  const char *d = json_string_value (json_object_get (b, "digest"));
  const char *mt = json_string_value (json_object_get (b, "media_type"));
  if (d == NULL || mt == NULL)
    return berth_error_set (err, 0, "layer %s: meta.json has no blob", diff_id);
  if (digest)
    *digest = xstrdup (d);
  if (media_type)
    *media_type = xstrdup (mt);
  if (size)
    *size = json_integer_value (json_object_get (b, "size"));
  return 0;
}

int64_t
image_layer_size (struct image_store *s, const char *diff_id, struct berth_error **err)
{
  _cleanup_json_ json_t *meta = layer_meta_load (s, diff_id, err);
  if (meta == NULL)
    return -1;
  return json_integer_value (json_object_get (meta, "size"));
}

char *
image_chain_id (char *const *diff_ids, size_t n)
{
  if (n == 0)
    return NULL;
  char *chain = xstrdup (diff_ids[0]);
  for (size_t i = 1; i < n; i++)
    {
      _cleanup_free_ char *in = xasprintf ("%s %s", chain, diff_ids[i]);
      free (chain);
      chain = sha256_digest (in, strlen (in));
    }
  return chain;
}
