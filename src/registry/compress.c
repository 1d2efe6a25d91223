/* Recompression of a kept layer blob for push: gzip by default (what docker
 * pushes; ISA-L deflate, level 1), zstd on request (level 3), from whatever
 * the store kept (gzip, zstd or a plain tar). The result goes to an
 * unlinked temp file in the store's tmp/ and is hashed on the way. */
#include "registry/registry-internal.h"
#include "image/image.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define BUF_BYTES (256u << 10)

struct recompress
{
  int out_fd;
  EVP_MD_CTX *sha;
  int64_t out_size;
  /* decoder */
  const char *from;
  struct inflate_state *inflate;
  ZSTD_DStream *zd;
  /* encoder */
  const char *to;
  struct isal_zstream *deflate;
  unsigned char *level_buf;
  ZSTD_CStream *zc;
  unsigned char *out_buf;
};

static int
sink (struct recompress *r, const void *buf, size_t len, struct berth_error **err)
{
  if (len == 0)
    return 0;
  EVP_DigestUpdate (r->sha, buf, len);
  if (fs_write_all (r->out_fd, buf, len) < 0)
    return berth_error_set (err, errno, "write recompressed layer");
  r->out_size += (int64_t)len;
  return 0;
}

/* Feed uncompressed tar bytes to the encoder (end: finish the stream). */
static int
encode (struct recompress *r, const unsigned char *in, size_t len, bool end,
        struct berth_error **err)
{
  if (!strcmp (r->to, "zstd"))
    {
      ZSTD_inBuffer ib = { in, len, 0 };
      for (;;)
        {
          ZSTD_outBuffer ob = { r->out_buf, BUF_BYTES, 0 };
          size_t left = ZSTD_compressStream2 (r->zc, &ob, &ib, end ? ZSTD_e_end : ZSTD_e_continue);
          if (ZSTD_isError (left))
            return berth_error_set (err, 0, "zstd: %s", ZSTD_getErrorName (left));
          if (sink (r, r->out_buf, ob.pos, err) < 0)
            return -1;
          if (end ? left == 0 : ib.pos == ib.size)
            return 0;
        }
    }
  struct isal_zstream *z = r->deflate;
  z->next_in = (uint8_t *)in;
  z->avail_in = (uint32_t)len;
  z->end_of_stream = end;
  z->flush = NO_FLUSH;
  for (;;)
    {
      z->next_out = r->out_buf;
      z->avail_out = BUF_BYTES;
      if (isal_deflate (z) != COMP_OK)
        return berth_error_set (err, 0, "gzip: deflate failed");
      if (sink (r, r->out_buf, BUF_BYTES - z->avail_out, err) < 0)
        return -1;
      if (end ? z->internal_state.state == ZSTATE_END : z->avail_in == 0)
        return 0;
    }
}

/* Feed kept (compressed) bytes to the decoder, its output to the encoder. */
static int
decode (struct recompress *r, const unsigned char *in, size_t len, unsigned char *tmp,
        struct berth_error **err)
{
  if (!strcmp (r->from, "gzip"))
    {
      struct inflate_state *st = r->inflate;
      st->next_in = (uint8_t *)in;
      st->avail_in = (uint32_t)len;
      for (;;)
        {
          if (st->block_state == ISAL_BLOCK_FINISH)
            {
              if (st->avail_in == 0)
                return 0;
              /* concatenated gzip members */
              uint8_t *rest = st->next_in;
              uint32_t rest_len = st->avail_in;
              isal_inflate_init (st);
              st->crc_flag = ISAL_GZIP;
              st->next_in = rest;
              st->avail_in = rest_len;
            }
          st->next_out = tmp;
          st->avail_out = BUF_BYTES;
          if (isal_inflate (st) < 0)
            return berth_error_set (err, 0, "gzip: corrupt kept layer");
          if (encode (r, tmp, BUF_BYTES - st->avail_out, false, err) < 0)
            return -1;
          if (st->avail_in == 0 && st->avail_out > 0)
            return 0;
        }
    }
  if (!strcmp (r->from, "zstd"))
    {
      ZSTD_inBuffer ib = { in, len, 0 };
      for (;;)
        {
          ZSTD_outBuffer ob = { tmp, BUF_BYTES, 0 };
          size_t rc = ZSTD_decompressStream (r->zd, &ob, &ib);
          if (ZSTD_isError (rc))
            return berth_error_set (err, 0, "zstd: %s", ZSTD_getErrorName (rc));
          if (encode (r, tmp, ob.pos, false, err) < 0)
            return -1;
          if (ib.pos == ib.size && ob.pos < ob.size)
            return 0;
        }
    }
  return encode (r, in, len, false, err);
}

static void
recompress_clear (struct recompress *r)
{
  if (r->sha)
    EVP_MD_CTX_free (r->sha);
  free (r->inflate);
  if (r->zd)
    ZSTD_freeDStream (r->zd);
  free (r->deflate);
  free (r->level_buf);
  if (r->zc)
    ZSTD_freeCStream (r->zc);
  free (r->out_buf);
}

int
registry_layer_recompress (struct image_store *store, int in_fd, const char *from, const char *to,
                           char **digest_out, int64_t *size_out, struct berth_error **err)
{
  _cleanup_free_ char *tmpdir = xasprintf ("%s/tmp", image_store_root (store));
  _cleanup_close_ int out_fd = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out_fd < 0)
    return berth_error_set (err, errno, "recompress: temp file in %s", tmpdir);
  struct recompress r = { .out_fd = out_fd, .from = from, .to = to };
  r.sha = EVP_MD_CTX_new ();
  r.out_buf = malloc (BUF_BYTES);
  _cleanup_free_ unsigned char *in = malloc (BUF_BYTES);
  _cleanup_free_ unsigned char *tmp = malloc (BUF_BYTES);
  if (r.sha == NULL || r.out_buf == NULL || in == NULL || tmp == NULL)
    abort ();
  EVP_DigestInit_ex (r.sha, EVP_sha256 (), NULL);
  if (!strcmp (from, "gzip"))
    {
      r.inflate = calloc (1, sizeof *r.inflate);
      isal_inflate_init (r.inflate);
      r.inflate->crc_flag = ISAL_GZIP;
    }
  else if (!strcmp (from, "zstd"))
    r.zd = ZSTD_createDStream ();
  if (!strcmp (to, "zstd"))
    {
      r.zc = ZSTD_createCStream ();
      ZSTD_CCtx_setParameter (r.zc, ZSTD_c_compressionLevel, 3);
    }
  else
    {
      r.deflate = calloc (1, sizeof *r.deflate);
      r.level_buf = malloc (ISAL_DEF_LVL1_DEFAULT);
      isal_deflate_init (r.deflate);
      r.deflate->level = 1;
      r.deflate->level_buf = r.level_buf;
      r.deflate->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
      r.deflate->gzip_flag = IGZIP_GZIP;
    }
  int rc = 0;
  for (off_t off = 0;;)
    {
      ssize_t n = pread (in_fd, in, BUF_BYTES, off);
      if (n < 0)
        {
          rc = berth_error_set (err, errno, "recompress: read kept layer");
          break;
        }
      if (n == 0)
        {
          rc = encode (&r, NULL, 0, true, err);
          break;
        }
      off += n;
      if ((rc = decode (&r, in, (size_t)n, tmp, err)) < 0)
        break;
    }
  if (rc == 0 && r.inflate && r.inflate->block_state != ISAL_BLOCK_FINISH)
    rc = berth_error_set (err, 0, "gzip: kept layer is truncated");
  if (rc == 0)
    {
      unsigned char md[32];
      unsigned int md_len = 0;
      EVP_DigestFinal_ex (r.sha, md, &md_len);
      char hex[SHA256_HEX_LEN + 1];
      for (unsigned i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", md[i]);
      *digest_out = xasprintf ("sha256:%s", hex);
      *size_out = r.out_size;
    }
  recompress_clear (&r);
  if (rc < 0)
    return berth_error_prefix (err, "recompress layer %s → %s", *from ? from : "tar", to);
  return steal_fd (&out_fd);
}
