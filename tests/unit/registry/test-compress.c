/* Recompression of kept layer blobs for push: plain tar → gzip (docker's
 * default), gzip → zstd and back, concatenated gzip members, and truncated
 * input refused. Every output is decompressed by another library (zlib,
 * libzstd) and compared, and its digest checked against its bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "image/image.h"
#include "registry/registry-internal.h"

struct fixture
{
  char *dir;
  struct image_store *store;
  unsigned char *payload;
  size_t payload_len;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  char tmpl[] = "/tmp/berth-unit-compress-XXXXXX";
  f->dir = xstrdup (mkdtemp (tmpl));
  struct image_store_options so = { .root = f->dir };
  struct berth_error *err = NULL;
  f->store = image_store_open (&so, &err);
  if (f->store == NULL)
    fail_msg ("image_store_open: %s", err->msg);
  /* compressible but not trivial: text with a counter, then noise */
  f->payload_len = 3 << 20;
  f->payload = malloc (f->payload_len);
  for (size_t i = 0; i < f->payload_len; i++)
    f->payload[i] = i < 2 << 20 ? (unsigned char)("berth layer "[i % 12] + (i / 4096) % 3)
                                : (unsigned char)(i * 2654435761u >> 13);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  image_store_close (f->store);
  struct berth_error *err = NULL;
  fs_rm_rf_at (AT_FDCWD, f->dir, &err);
  free (f->dir);
  free (f->payload);
  free (f);
  return 0;
}

static int
file_with (struct fixture *f, const void *data, size_t len)
{
  _cleanup_free_ char *tmp = xasprintf ("%s/tmp", f->dir);
  int fd = open (tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  assert_true (fd >= 0);
  assert_int_equal (fs_write_all (fd, data, len), 0);
  return fd;
}

static unsigned char *
read_fd (int fd, size_t *len)
{
  struct stat st;
  assert_int_equal (fstat (fd, &st), 0);
  unsigned char *buf = malloc ((size_t)st.st_size + 1);
  assert_int_equal (pread (fd, buf, (size_t)st.st_size, 0), st.st_size);
  *len = (size_t)st.st_size;
  return buf;
}

static unsigned char *
zlib_gunzip (const unsigned char *in, size_t len, size_t *out_len)
{
  z_stream z = { 0 };
  assert_int_equal (inflateInit2 (&z, 16 + MAX_WBITS), Z_OK);
  size_t cap = 8 << 20;
  unsigned char *out = malloc (cap);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int r;
  while ((r = inflate (&z, Z_NO_FLUSH)) == Z_STREAM_END && z.avail_in > 0)
    assert_int_equal (inflateReset (&z), Z_OK); /* next member */
  assert_int_equal (r, Z_STREAM_END);
  *out_len = z.total_out;
  inflateEnd (&z);
  return out;
}

static unsigned char *
recompress (struct fixture *f, int in, const char *from, const char *to, size_t *len, char **digest)
{
  struct berth_error *err = NULL;
  int64_t size = 0;
  int fd = registry_layer_recompress (f->store, in, from, to, digest, &size, &err);
  if (fd < 0)
    fail_msg ("recompress: %s", err->msg);
  unsigned char *out = read_fd (fd, len);
  close (fd);
  assert_int_equal ((int64_t)*len, size);
  _cleanup_free_ char *want = sha256_digest (out, *len);
  assert_string_equal (*digest, want);
  return out;
}

static void
test_tar_to_gzip_to_zstd_and_back (void **state)
{
  struct fixture *f = *state;
  _cleanup_close_ int tar = file_with (f, f->payload, f->payload_len);
  size_t gz_len, zs_len, gz2_len, plain_len;
  _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;
  _cleanup_free_ unsigned char *gz = recompress (f, tar, "", "gzip", &gz_len, &d1);
  assert_true (gz[0] == 0x1f && gz[1] == 0x8b);
  assert_true (gz_len < f->payload_len);
  _cleanup_free_ unsigned char *plain = zlib_gunzip (gz, gz_len, &plain_len);
  assert_int_equal (plain_len, f->payload_len);
  assert_memory_equal (plain, f->payload, plain_len);

  _cleanup_close_ int gzfd = file_with (f, gz, gz_len);
  _cleanup_free_ unsigned char *zs = recompress (f, gzfd, "gzip", "zstd", &zs_len, &d2);
  unsigned long long n = ZSTD_getFrameContentSize (zs, zs_len);
  _cleanup_free_ unsigned char *back = malloc (f->payload_len);
  size_t got = ZSTD_decompress (back, f->payload_len, zs, zs_len);
  assert_false (ZSTD_isError (got));
  assert_int_equal (got, f->payload_len);
  assert_memory_equal (back, f->payload, got);
  (void)n;

  _cleanup_close_ int zsfd = file_with (f, zs, zs_len);
  _cleanup_free_ unsigned char *gz2 = recompress (f, zsfd, "zstd", "gzip", &gz2_len, &d3);
  _cleanup_free_ unsigned char *plain2 = zlib_gunzip (gz2, gz2_len, &plain_len);
  assert_memory_equal (plain2, f->payload, plain_len);
  /* same input, same settings: the same digest (pushes are repeatable) */
  assert_string_equal (d1, d3);
}

static void
test_concatenated_gzip_members (void **state)
{
  struct fixture *f = *state;
  _cleanup_close_ int a = file_with (f, f->payload, 1000);
  _cleanup_close_ int b = file_with (f, f->payload + 1000, 5000);
  size_t la, lb, lz;
  _cleanup_free_ char *da = NULL, *db = NULL, *dz = NULL;
  _cleanup_free_ unsigned char *ga = recompress (f, a, "", "gzip", &la, &da);
  _cleanup_free_ unsigned char *gb = recompress (f, b, "", "gzip", &lb, &db);
  _cleanup_free_ unsigned char *cat = malloc (la + lb);
  memcpy (cat, ga, la);
  memcpy (cat + la, gb, lb);
  _cleanup_close_ int c = file_with (f, cat, la + lb);
  _cleanup_free_ unsigned char *zs = recompress (f, c, "gzip", "zstd", &lz, &dz);
  _cleanup_free_ unsigned char *back = malloc (6000);
  assert_int_equal (ZSTD_decompress (back, 6000, zs, lz), 6000);
  assert_memory_equal (back, f->payload, 6000);
}

static void
test_truncated_gzip_is_refused (void **state)
{
  struct fixture *f = *state;
  _cleanup_close_ int tar = file_with (f, f->payload, f->payload_len);
  size_t gz_len;
  _cleanup_free_ char *d = NULL;
  _cleanup_free_ unsigned char *gz = recompress (f, tar, "", "gzip", &gz_len, &d);
  _cleanup_close_ int cut = file_with (f, gz, gz_len / 2);
  _cleanup_error_ struct berth_error *err = NULL;
  char *digest = NULL;
  int64_t size;
  assert_int_equal (registry_layer_recompress (f->store, cut, "gzip", "zstd", &digest, &size, &err),
                    -1);
  assert_non_null (strstr (err->msg, "truncated"));
  assert_null (digest);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_tar_to_gzip_to_zstd_and_back, setup, teardown),
    cmocka_unit_test_setup_teardown (test_concatenated_gzip_members, setup, teardown),
    cmocka_unit_test_setup_teardown (test_truncated_gzip_is_refused, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
