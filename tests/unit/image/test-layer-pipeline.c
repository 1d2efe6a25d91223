/* The two-stage layer unpack (inflate on the caller's thread, tar hash +
 * parse + extract on a stage thread): every way a stream can go wrong in
 * the middle leaves nothing committed, no thread and no fd behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

#include "image/image.h"

static char root[64];

static size_t
count_dir (const char *path)
{
  DIR *d = opendir (path);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    n += de->d_name[0] != '.';
  if (d)
    closedir (d);
  return n;
}

static size_t
count_store (const char *sub)
{
  char path[128];
  snprintf (path, sizeof path, "%s/%s", root, sub);
  return count_dir (path);
}

#define count_threads() count_dir ("/proc/self/task")
#define count_fds() count_dir ("/proc/self/fd")

/* A tar of `files` files of 64 KiB each (well past the 2 MB ring between
 * the stages), an optional hostile entry after half of them, gzip'd or
 * plain. */
static unsigned char *
make_layer (size_t files, const char *hostile, bool gzip, size_t *len)
{
  size_t cap = files * 70000 + (1 << 20);
  unsigned char *buf = malloc (cap);
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (gzip)
    archive_write_add_filter_gzip (a);
  archive_write_set_bytes_in_last_block (a, 1);
  assert_int_equal (archive_write_open_memory (a, buf, cap, len), ARCHIVE_OK);
  static char data[65536];
  for (size_t i = 0; i < files; i++)
    {
      for (size_t j = 0; j < sizeof data; j++)
        data[j] = (char)((i * 7919 + j * 31 + (j >> 9)) & 0xff); /* not too compressible */
      char name[64];
      if (hostile && i == files / 2)
        snprintf (name, sizeof name, "%s", hostile);
      else
        snprintf (name, sizeof name, "d%zu/f%zu", i / 16, i);
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, name);
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      archive_entry_set_size (e, sizeof data);
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      assert_int_equal (archive_write_data (a, data, sizeof data), (la_ssize_t)sizeof data);
      archive_entry_free (e);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
  return buf;
}

struct baseline
{
  size_t threads, fds;
};

static struct image_store *
store_open (struct baseline *b)
{
  struct berth_error *err = NULL;
  struct image_store_options opts = { .root = root };
  struct image_store *s = image_store_open (&opts, &err);
  assert_non_null (s);
  b->threads = count_threads ();
  b->fds = count_fds ();
  return s;
}

/* Nothing of a failed unpack stays: no layer, no blob, no tmp/ entry, no
 * stage thread, no fd. */
static void
assert_nothing_left (struct image_store *s, const struct baseline *b)
{
  assert_int_equal (count_store ("layers"), 0);
  assert_int_equal (count_store ("blobs/sha256"), 0);
  assert_int_equal (count_store ("tmp"), 0);
  assert_int_equal (count_threads (), b->threads);
  assert_int_equal (count_fds (), b->fds);
  image_store_close (s);
}

/* Feeds [0, len) in 64 KiB writes; returns the first failing write's rc. */
static int
feed (struct image_layer_unpack *u, const unsigned char *buf, size_t len, struct berth_error **err)
{
  for (size_t off = 0; off < len; off += 65536)
    if (image_layer_unpack_write (u, buf + off, len - off < 65536 ? len - off : 65536, err) < 0)
      return -1;
  return 0;
}

static void
test_pipeline_whole_layer (void **state)
{
  (void)state;
  for (int gz = 0; gz < 2; gz++)
    {
      struct baseline b;
      struct image_store *s = store_open (&b);
      size_t raw_len = 0, len = 0;
      unsigned char *raw = make_layer (96, NULL, false, &raw_len);
      unsigned char *layer = gz ? make_layer (96, NULL, true, &len) : raw;
      if (!gz)
        len = raw_len;
      struct berth_error *err = NULL;
      char *want = sha256_digest (raw, raw_len);
      struct image_layer_unpack *u
          = image_layer_unpack_begin_verified (s, NULL, -1, NULL, want, &err);
      assert_non_null (u);
      assert_int_equal (count_threads (), b.threads + 1); /* the tar stage */
      assert_int_equal (feed (u, layer, len, &err), 0);
      char *diff_id = NULL;
      assert_int_equal (image_layer_unpack_finish (u, &diff_id, &err), 0);
      assert_string_equal (diff_id, want);
      assert_int_equal (count_store ("layers"), 1);
      assert_int_equal (count_threads (), b.threads);
      assert_int_equal (count_fds (), b.fds);
      char path[160];
      struct stat st;
      snprintf (path, sizeof path, "%s/layers/%s/diff/d5/f95", root, strchr (diff_id, ':') + 1);
      assert_int_equal (stat (path, &st), 0);
      assert_int_equal (st.st_size, 65536);
      free (diff_id);
      free (want);
      if (gz)
        free (layer);
      free (raw);
      image_store_close (s);
      char cmd[128];
      snprintf (cmd, sizeof cmd, "rm -rf %s", root);
      assert_int_equal (system (cmd), 0);
    }
}

static void
test_pipeline_corrupt_in_the_middle (void **state)
{
  (void)state;
  struct baseline b;
  struct image_store *s = store_open (&b);
  size_t len = 0;
  unsigned char *layer = make_layer (96, NULL, true, &len);
  for (size_t i = len / 2; i < len / 2 + 4096; i++)
    layer[i] ^= 0x5a;
  struct berth_error *err = NULL;
  struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
  assert_non_null (u);
  int rc = feed (u, layer, len, &err);
  if (rc == 0)
    rc = image_layer_unpack_finish (u, NULL, &err);
  else
    image_layer_unpack_abort (u);
  assert_int_equal (rc, -1);
  assert_non_null (err);
  /* Corrupt deflate data may decode into garbage that the tar stage rejects
   * before inflate sees the bad CRC: either stage may be the one to report
   * it, depending on thread timing. What matters is that nothing is kept. */
  assert_true (strstr (err->msg, "gzip") != NULL || strstr (err->msg, "tar") != NULL);
  berth_error_free (err);
  free (layer);
  assert_nothing_left (s, &b);
}

static void
test_pipeline_truncated (void **state)
{
  (void)state;
  for (int gz = 0; gz < 2; gz++)
    {
      struct baseline b;
      struct image_store *s = store_open (&b);
      size_t len = 0;
      unsigned char *layer = make_layer (96, NULL, gz, &len);
      struct berth_error *err = NULL;
      struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
      assert_non_null (u);
      assert_int_equal (feed (u, layer, len / 2 + 1000, &err), 0);
      assert_int_equal (image_layer_unpack_finish (u, NULL, &err), -1);
      assert_non_null (err);
      assert_non_null (strstr (err->msg, gz ? "gzip: unexpected end" : "tar"));
      berth_error_free (err);
      free (layer);
      assert_nothing_left (s, &b);
    }
}

static void
test_pipeline_abort_mid_stream (void **state)
{
  (void)state;
  struct baseline b;
  struct image_store *s = store_open (&b);
  size_t len = 0;
  unsigned char *layer = make_layer (96, NULL, true, &len);
  struct berth_error *err = NULL;
  struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
  assert_non_null (u);
  assert_int_equal (feed (u, layer, len / 2, &err), 0);
  image_layer_unpack_abort (u);
  free (layer);
  assert_nothing_left (s, &b);
}

/* The stage thread fails (a hostile entry): the error reaches the caller
 * with its reason, whether at a write or at finish. */
static void
test_pipeline_stage_failure (void **state)
{
  (void)state;
  struct baseline b;
  struct image_store *s = store_open (&b);
  size_t len = 0;
  unsigned char *layer = make_layer (96, "../../escape", true, &len);
  struct berth_error *err = NULL;
  struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
  assert_non_null (u);
  int rc = feed (u, layer, len, &err);
  if (rc == 0)
    rc = image_layer_unpack_finish (u, NULL, &err);
  else
    {
      /* once failed, it stays failed */
      struct berth_error *again = NULL;
      assert_int_equal (image_layer_unpack_write (u, layer, 10, &again), -1);
      berth_error_free (again);
      image_layer_unpack_abort (u);
    }
  assert_int_equal (rc, -1);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "escapes the layer root"));
  berth_error_free (err);
  free (layer);
  char path[128];
  snprintf (path, sizeof path, "%s/../escape", root);
  assert_int_not_equal (access (path, F_OK), 0);
  assert_nothing_left (s, &b);
}

/* Both digests are checked at the end: a mismatch commits nothing. */
static void
test_pipeline_digest_mismatch (void **state)
{
  (void)state;
  size_t len = 0;
  unsigned char *layer = make_layer (48, NULL, true, &len);
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  for (int which = 0; which < 2; which++)
    {
      struct baseline b;
      struct image_store *s = store_open (&b);
      struct berth_error *err = NULL;
      struct image_layer_unpack *u = image_layer_unpack_begin_verified (
          s, which == 0 ? wrong : NULL, which == 0 ? (int64_t)len : -1, NULL,
          which == 1 ? wrong : NULL, &err);
      assert_non_null (u);
      assert_int_equal (feed (u, layer, len, &err), 0);
      assert_int_equal (image_layer_unpack_finish (u, NULL, &err), -1);
      assert_non_null (err);
      assert_non_null (strstr (err->msg, which == 0 ? "sha256:0000" : "diff id mismatch"));
      berth_error_free (err);
      assert_nothing_left (s, &b);
    }
  free (layer);
}

/* A caller that hashes the compressed bytes itself (the registry client):
 * the store commits under the expected digest without hashing again, but
 * still checks size and diff_id; without an expected digest it refuses. */
static void
test_pipeline_blob_hashed_by_caller (void **state)
{
  (void)state;
  size_t len = 0, raw_len = 0;
  unsigned char *layer = make_layer (24, NULL, true, &len);
  unsigned char *raw = make_layer (24, NULL, false, &raw_len);
  char *digest = sha256_digest (layer, len);
  char *diff_id = sha256_digest (raw, raw_len);
  struct berth_error *err = NULL;
  struct baseline b;
  struct image_store *s = store_open (&b);

  struct image_layer_unpack *u = image_layer_unpack_begin (s, NULL, -1, NULL, &err);
  assert_false (image_layer_unpack_blob_hashed_by_caller (u)); /* nothing to trust */
  image_layer_unpack_abort (u);

  /* size still checked */
  u = image_layer_unpack_begin_verified (s, digest, (int64_t)len + 1, NULL, diff_id, &err);
  assert_true (image_layer_unpack_blob_hashed_by_caller (u));
  assert_int_equal (feed (u, layer, len, &err), 0);
  assert_int_equal (image_layer_unpack_finish (u, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "size mismatch"));
  berth_error_free (err);
  err = NULL;
  assert_int_equal (count_store ("blobs/sha256"), 0);

  /* diff_id still checked */
  u = image_layer_unpack_begin_verified (
      s, digest, (int64_t)len, NULL,
      "sha256:1111111111111111111111111111111111111111111111111111111111111111", &err);
  assert_true (image_layer_unpack_blob_hashed_by_caller (u));
  assert_int_equal (feed (u, layer, len, &err), 0);
  assert_int_equal (image_layer_unpack_finish (u, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "diff id mismatch"));
  berth_error_free (err);
  err = NULL;

  /* too late once bytes went in */
  u = image_layer_unpack_begin_verified (s, digest, (int64_t)len, NULL, diff_id, &err);
  assert_int_equal (image_layer_unpack_write (u, layer, 100, &err), 0);
  assert_false (image_layer_unpack_blob_hashed_by_caller (u));
  image_layer_unpack_abort (u);
  assert_int_equal (count_store ("layers"), 0);

  u = image_layer_unpack_begin_verified (s, digest, (int64_t)len, NULL, diff_id, &err);
  assert_true (image_layer_unpack_blob_hashed_by_caller (u));
  assert_int_equal (feed (u, layer, len, &err), 0);
  char *got = NULL;
  assert_int_equal (image_layer_unpack_finish (u, &got, &err), 0);
  assert_string_equal (got, diff_id);
  assert_true (image_blob_exists (s, digest));
  assert_int_equal (count_store ("layers"), 1);
  assert_int_equal (count_threads (), b.threads);
  assert_int_equal (count_fds (), b.fds);
  free (got);
  free (digest);
  free (diff_id);
  free (layer);
  free (raw);
  image_store_close (s);
}

static void *
nothing (void *arg)
{
  return arg;
}

static int
setup (void **state)
{
  (void)state;
  /* A sanitizer runtime (TSan) starts its helper thread with the first
   * pthread_create: have it running before any baseline is counted. */
  pthread_t t;
  if (pthread_create (&t, NULL, nothing, NULL) != 0 || pthread_join (t, NULL) != 0)
    return -1;
  snprintf (root, sizeof root, "/tmp/berth-test-pipeline-%d", getpid ());
  return 0;
}

static int
teardown_each (void **state)
{
  (void)state;
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf %s", root);
  return system (cmd) == 0 ? 0 : -1;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_pipeline_whole_layer, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_corrupt_in_the_middle, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_truncated, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_abort_mid_stream, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_stage_failure, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_digest_mismatch, teardown_each),
    cmocka_unit_test_teardown (test_pipeline_blob_hashed_by_caller, teardown_each),
  };
  return cmocka_run_group_tests (tests, setup, NULL);
}
